//! TLS termination for inspected hosts, and for refused connections whose requests are worth
//! seeing. The proxy hands over a connection it has already decided on; here the client's TLS
//! is terminated with a leaf from the run's CA, each HTTP request is checked (authority, route
//! rules, secret sentinels, model budget), real secret values are put in for their own hosts
//! only, and the request is forwarded over verified TLS to the real server. Every request
//! becomes an `http.request` event with the pid of the connection's process.

mod body;
pub mod gateway;
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
}

impl InspectConfig {
    /// A fresh CA, the system's roots plus `upstream_ca`, and no secrets: inspection only where
    /// the policy asks for it.
    pub fn without_secrets(
        run_id: &str,
        upstream_ca: &[std::path::PathBuf],
    ) -> Result<InspectConfig, String> {
        Ok(InspectConfig {
            ca: Arc::new(RunCa::new(run_id).map_err(|e| format!("making the run's CA: {e}"))?),
            upstream_tls: UpstreamTls::new(upstream_ca).map_err(|e| e.to_string())?,
            vault: Arc::new(inspect::Vault::new(Vec::new()).map_err(|e| e.to_string())?),
            repo: None,
        })
    }
}

/// The run's inspection state, shared by every intercepted connection.
pub(crate) struct Inspector {
    pub server_config: Arc<rustls::ServerConfig>,
    pub upstream_tls: UpstreamTls,
    pub vault: Arc<inspect::Vault>,
    pub ledger: Mutex<inspect::Ledger>,
    pub repo: Option<String>,
    /// `inspect:` entries by host pattern, in the policy's order.
    rules: Vec<(policy::HostPattern, policy::Inspect)>,
}

impl Inspector {
    pub fn new(cfg: InspectConfig, policy: &policy::Policy) -> Inspector {
        Inspector {
            server_config: cfg.ca.server_config(),
            upstream_tls: cfg.upstream_tls,
            vault: cfg.vault,
            ledger: Mutex::new(inspect::Ledger::new(&policy.budget)),
            repo: cfg.repo,
            rules: inspect_rules(policy),
        }
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

/// Serves one client connection to its end.
pub(crate) async fn serve(
    client: TcpStream,
    hello: Vec<u8>,
    conn: Conn,
    shared: Arc<Shared>,
    counters: Counters,
) {
    let stream = stream::Rewind::new(hello, client, counters);
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    if conn.client_tls {
        let acceptor = tokio_rustls::TlsAcceptor::from(shared.inspector.server_config.clone());
        // The ClientHello has arrived; a client that then stalls the handshake is dropped.
        let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await else {
            return;
        };
        let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
        let ctx = request::Ctx::new(conn, shared, h2);
        let service = hyper::service::service_fn(move |req| request::handle(req, ctx.clone()));
        let _ = builder.serve_connection_with_upgrades(TokioIo::new(tls), service).await;
    } else {
        let ctx = request::Ctx::new(conn, shared, false);
        let service = hyper::service::service_fn(move |req| request::handle(req, ctx.clone()));
        let _ = builder.http1_only().serve_connection_with_upgrades(TokioIo::new(stream), service).await;
    }
}
