//! TLS termination for inspected hosts, and for refused connections whose requests are worth
//! seeing. The proxy hands over a connection it has already decided on; here the client's TLS
//! is terminated with a leaf from the run's CA, each HTTP request is checked (authority, route
//! rules, secret sentinels, model budget), real secret values are put in for their own hosts
//! only, and the request is forwarded over verified TLS to the real server. Every request
//! becomes an `http.request` event with the pid of the connection's process.

mod body;
mod driver;
pub mod gateway;
mod idle;
mod request;
mod stream;
mod upstream;
mod websocket;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

use crate::state::Shared;
use crate::tls::{RunCa, UpstreamTls};
pub(crate) use stream::Counters;

/// How long the rest of a TLS handshake may take once the ClientHello is in.
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub(crate) type Body = BoxBody<Bytes, BoxError>;

/// What the caller gives for inspection: the run's CA, how to trust real servers, the secrets.
pub struct InspectConfig {
    pub ca: Arc<RunCa>,
    pub upstream_tls: UpstreamTls,
    pub vault: Arc<inspect::Vault>,
    /// `owner/name`, for `${repo}` in route rules (GITHUB_REPOSITORY).
    pub repo: Option<String>,
    /// Terminate TLS to every named host but the policy's passthrough ones, so each request's
    /// authority is checked. Only when clients inside the fence trust `ca`.
    pub terminate_tls: bool,
}

impl InspectConfig {
    /// A fresh CA, the system's roots plus `upstream_ca`, and no secrets: inspection only where
    /// the policy asks for it (a caller whose clients trust nothing of this CA's).  TLS to other
    /// hosts is spliced.
    pub fn without_secrets(
        run_id: &str,
        upstream_ca: &[std::path::PathBuf],
    ) -> Result<InspectConfig, String> {
        Ok(InspectConfig {
            ca: Arc::new(RunCa::new(run_id).map_err(|e| format!("making the run's CA: {e}"))?),
            upstream_tls: UpstreamTls::new(upstream_ca).map_err(|e| e.to_string())?,
            vault: Arc::new(inspect::Vault::new(Vec::new()).map_err(|e| e.to_string())?),
            repo: None,
            terminate_tls: false,
        })
    }
}

/// The run's inspection state, shared by every intercepted connection.
pub(crate) struct Inspector {
    pub ca: Arc<RunCa>,
    pub server_config: Arc<rustls::ServerConfig>,
    pub upstream_tls: UpstreamTls,
    pub vault: Arc<inspect::Vault>,
    pub ledger: Mutex<inspect::Ledger>,
    /// Upstream connections kept between one process's client connections.
    pub(crate) idle: Arc<idle::IdlePool>,
    pub repo: Option<String>,
    /// `inspect:` entries by host pattern, in the policy's order.
    rules: Vec<(policy::HostPattern, policy::Inspect)>,
    pub terminate_tls: bool,
    passthrough: Vec<policy::HostPattern>,
    cleartext_secrets: Vec<policy::HostPattern>,
}

impl Inspector {
    pub fn new(cfg: InspectConfig, policy: &policy::Policy) -> Inspector {
        Inspector {
            server_config: cfg.ca.server_config(),
            ca: cfg.ca.clone(),
            upstream_tls: cfg.upstream_tls,
            vault: cfg.vault,
            ledger: Mutex::new(inspect::Ledger::new(&policy.budget)),
            idle: Default::default(),
            repo: cfg.repo,
            rules: inspect_rules(policy),
            terminate_tls: cfg.terminate_tls,
            passthrough: policy.passthrough.clone(),
            cleartext_secrets: policy.cleartext_secrets.clone(),
        }
    }

    /// Whether this host's TLS is terminated: always when something must be read (route rules,
    /// a secret, a budget), else by default unless the policy opts the host out.
    pub fn terminates(&self, policy: &policy::Policy, host: &str) -> bool {
        self.wants(policy, host) || (self.terminate_tls && !self.passthrough.iter().any(|p| p.matches(host)))
    }

    /// Whether the policy lets this host's own secrets go into plain-HTTP requests.
    pub fn cleartext_secrets(&self, host: &str) -> bool {
        self.cleartext_secrets.iter().any(|p| p.matches(host))
    }

    /// The first `inspect:` entry whose pattern matches `host`.
    pub fn rules_for(&self, host: &str) -> Option<&policy::Inspect> {
        self.rules.iter().find(|(pattern, _)| pattern.matches(host)).map(|(_, rules)| rules)
    }

    /// Hosts whose traffic is terminated and read: those with route rules or a budget, and
    /// those some secret belongs to.
    pub fn wants(&self, policy: &policy::Policy, host: &str) -> bool {
        self.rules_for(host).is_some()
            || self.vault.wants_inspection(host)
            || inspect::provider_for(host)
                .is_some_and(|p| policy.budget.contains_key(request::provider_name(p)))
    }
}

/// The policy's `inspect:` keys as patterns (they were validated when the policy was loaded).
pub(crate) fn inspect_rules(policy: &policy::Policy) -> Vec<(policy::HostPattern, policy::Inspect)> {
    policy
        .inspect
        .iter()
        .filter_map(|(key, rules)| Some((policy::HostPattern::parse(key).ok()?, rules.clone())))
        .collect()
}

/// The proxy's decision about a connection it hands over.
pub(crate) struct Conn {
    /// The name the connection is for (fake-IP name, or SNI / Host of a refused connection).
    pub host: String,
    pub port: u16,
    pub pid: Option<u32>,
    /// The egress rule that let the connection through, or refused it.
    pub rule: String,
    pub targets: Vec<SocketAddr>,
    /// Set when the connection itself is refused: every request gets 403 with this reason,
    /// after being read and recorded (so a sentinel in it is seen and named).
    pub refused: Option<String>,
    /// The client speaks TLS to the proxy.
    pub client_tls: bool,
    /// The proxy speaks TLS to the server.
    pub upstream_tls: bool,
    /// Requests must name `host` (false for a gateway, which clients address as 127.0.0.1).
    pub check_authority: bool,
}

/// The first real server a request of the connection went to, for its `net.connect` record;
/// set as soon as it is known, so a connection cut at the end of the run still names it.
pub(crate) type Peer = Arc<std::sync::OnceLock<SocketAddr>>;

/// Serves one client connection to its end. Returns why it ended badly, when it did (the client
/// refused the run's certificate, or spoke something other than HTTP), for its `net.connect`.
pub(crate) async fn serve(
    client: TcpStream,
    hello: Vec<u8>,
    conn: Conn,
    shared: Arc<Shared>,
    counters: Counters,
    peer: Peer,
) -> Option<String> {
    let stream = stream::Rewind::new(hello, client, counters);
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    let served = if conn.client_tls {
        let acceptor = tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream);
        // The ClientHello has arrived; a client that then stalls the handshake is dropped.
        let handshake = async {
            let start = acceptor.await?;
            // No SNI: the leaf is for the name the connection's address stands for.
            let config = match start.client_hello().server_name() {
                Some(_) => shared.inspector.server_config.clone(),
                None => shared.inspector.ca.server_config_for(&conn.host),
            };
            start.into_stream(config).await
        };
        let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => {
                return Some(format!(
                    "the client's TLS handshake with ringfence failed ({e}): a client that does not trust \
                     the run's CA or pins certificates; `inspect: {{ {}: {{ passthrough: true }} }}` splices it instead",
                    conn.host
                ));
            }
            Err(_) => return Some("the client's TLS handshake timed out".into()),
        };
        let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
        let ctx = request::Ctx::new(conn, shared, h2, peer);
        let service = hyper::service::service_fn(move |req| request::handle(req, ctx.clone()));
        builder.serve_connection_with_upgrades(TokioIo::new(tls), service).await
    } else {
        let ctx = request::Ctx::new(conn, shared, false, peer);
        let service = hyper::service::service_fn(move |req| request::handle(req, ctx.clone()));
        builder.http1_only().serve_connection_with_upgrades(TokioIo::new(stream), service).await
    };
    let error = served.err()?;
    // A client that hangs up is normal; bytes that are not HTTP are worth saying.
    let parse = error.downcast_ref::<hyper::Error>().is_some_and(|e| e.is_parse() || e.is_parse_too_large());
    parse.then(|| format!("not HTTP, or HTTP ringfence refuses to read: {error}"))
}
