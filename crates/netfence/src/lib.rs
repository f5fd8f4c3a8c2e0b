//! The agent's network fence: names, not IPs.
//!
//! Inside the fence's network namespace the only peers are ringfence's DNS server and its
//! transparent TCP proxy. nftables there sends every DNS query to the DNS server and every TCP
//! connection to the proxy, and refuses the rest (other UDP, ICMP). The DNS server hands each
//! allowed name its own synthetic address (`fakeip`), so the proxy knows which name a
//! connection is for, checks the TLS SNI or HTTP Host against it, asks the policy, resolves the
//! real address on the host side and splices. Every query and connection is journalled with the
//! pid that made it.
//!
//! Block mode fails closed: if any part cannot be set up, `NetFence::start` returns an error
//! and nothing runs without the fence.

mod addrs;
mod attribution;
mod dns;
pub mod dnswire;
mod error;
mod fakeip;
mod intercept;
mod job;
mod mark;
mod names;
mod netns;
mod nft;
mod nftlib;
mod proxy;
mod route;
pub mod sni;
mod splice;
mod state;
pub mod tls;
pub mod tunnel;
mod upstream;

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use attribution::PidHint;
pub use error::NetError;
pub use fakeip::is_fake;
pub use intercept::InspectConfig;
pub use intercept::gateway::{GATEWAYS, Gateway, wanted as gateways};
pub use job::Placement;
pub use mark::MARK;
pub use upstream::{host_resolvers, job_resolvers};

use state::Shared;

/// Everything the fence needs from the caller.
pub struct NetConfig {
    /// The fence's network namespace (a dup of `Prepared::netns()`).
    pub netns: OwnedFd,
    pub policy: Arc<policy::Policy>,
    pub mode: journal::Mode,
    /// Where allowed names are resolved: `policy.dns.upstream`, or `host_resolvers()`.
    pub upstream_dns: Vec<SocketAddr>,
    /// `<cgroup leaf>/cgroup.procs`: the run's member pids, for attribution.
    pub cgroup_procs: PathBuf,
    /// Asked before sock_diag when attributing a TCP connection (client address, original
    /// destination → pid): a kernel hook's note of the connecting process still names a client
    /// that connected and closed before the proxy looked.
    pub pid_hint: Option<PidHint>,
    /// TLS termination for inspected hosts: the run's CA, upstream trust, the secrets.
    pub inspect: InspectConfig,
}

/// What the fence saw, returned by `NetFence::stop`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetStats {
    pub connections: u64,
    pub queries: u64,
    /// Queries and connections refused (block mode) plus packets dropped by nftables.
    pub blocked: u64,
    /// DNS messages that were not one standard query (answered FORMERR/NOTIMP, or dropped).
    pub malformed_dns: u64,
    /// Every (host, port) the agent tried, for `Policy::suggest`; a host is a name when the
    /// connection had one, else the address.
    pub observed: Vec<(String, u16)>,
}

/// A running fence.
pub struct NetFence {
    runtime: tokio::runtime::Runtime,
    shared: Arc<Shared>,
    netns: OwnedFd,
    shutdown: tokio::sync::watch::Sender<bool>,
    /// A kernel hook records each dropped attempt with its process (`pid_hint` comes from it), so
    /// nftables' anonymous counters are context, not violations of their own.
    attempts_recorded: bool,
    done: tokio::sync::mpsc::Receiver<()>,
    /// The proxy's port inside the namespace (the DNS server is on 127.0.0.1:53).
    pub proxy_port: u16,
    placement: Placement,
    /// The job ruleset as loaded and as nftables listed it then, for the tamper check.
    job_rules: Option<(String, String)>,
}

/// The DNS server's port inside the namespace. 53, so that a resolver configured as
/// 127.0.0.1 is ringfence even without the redirect.
const DNS_PORT: u16 = 53;
/// How long `stop` waits for open connections to be recorded.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// The sockets made inside the namespace.
struct Sockets {
    proxy4: TcpListener,
    proxy6: TcpListener,
    dns_udp: UdpSocket,
    dns_tcp: TcpListener,
    attributor: attribution::Attributor,
    proxy_port: u16,
    /// Plain-HTTP gateways to model APIs, with the host each stands for.
    gateways: Vec<(TcpListener, &'static str)>,
    dns_port: u16,
}

impl NetFence {
    /// Sets everything up inside the namespace (routes, nftables, DNS and proxy listeners) and
    /// starts serving on a runtime of its own; returns only when ready, or an error saying what
    /// failed. Call it from outside any async runtime.
    pub fn start(
        cfg: NetConfig,
        sink: Box<dyn Fn(journal::Event) + Send + Sync>,
    ) -> Result<NetFence, NetError> {
        NetFence::start_placed(cfg, Placement::OwnNamespace, sink)
    }

    /// As [`NetFence::start`], placed as `placement` says: in a fresh namespace of the fence's
    /// own, or in a job's namespace shared with processes ringfence did not start.
    pub fn start_placed(
        cfg: NetConfig,
        placement: Placement,
        sink: Box<dyn Fn(journal::Event) + Send + Sync>,
    ) -> Result<NetFence, NetError> {
        if cfg.upstream_dns.is_empty() {
            return Err(NetError::NoUpstream);
        }
        let host_services = names::host_service_ports(&cfg.policy);
        let cgroup_procs = cfg.cgroup_procs.clone();
        let pid_hint = cfg.pid_hint.clone();
        let attempts_recorded = cfg.pid_hint.is_some();
        // A job's namespace is the machine's: its loopback ports are not ringfence's to take.
        let gateways = match placement {
            Placement::OwnNamespace => intercept::gateway::wanted(&cfg.policy, &cfg.inspect.vault),
            Placement::Job => Vec::new(),
        };
        let job_block = match placement {
            Placement::Job => Some(cfg.mode == journal::Mode::Block),
            Placement::OwnNamespace => None,
        };
        let (sockets, job_rules) = netns::within(cfg.netns.as_fd(), move || {
            let bind = |what, addr: SocketAddr| {
                TcpListener::bind(addr).map_err(|source| NetError::Bind { what, source })
            };
            let (proxy4, proxy6, dns_udp, dns_tcp, proxy_port, dns_port) = match job_block {
                None => {
                    netns::add_routes()?;
                    let proxy4 = bind("transparent proxy", SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0))?;
                    let proxy_port = proxy4
                        .local_addr()
                        .map_err(|source| NetError::Bind { what: "transparent proxy", source })?
                        .port();
                    let proxy6 = bind(
                        "transparent proxy (IPv6)",
                        SocketAddr::new(Ipv6Addr::LOCALHOST.into(), proxy_port),
                    )?;
                    let dns_addr = SocketAddr::new(Ipv4Addr::LOCALHOST.into(), DNS_PORT);
                    let dns_udp = UdpSocket::bind(dns_addr)
                        .map_err(|source| NetError::Bind { what: "DNS server (UDP)", source })?;
                    let dns_tcp = bind("DNS server (TCP)", dns_addr)?;
                    (proxy4, proxy6, dns_udp, dns_tcp, proxy_port, DNS_PORT)
                }
                Some(_) => {
                    mark::enable();
                    let l = job::listeners()?;
                    (l.proxy4, l.proxy6, l.dns_udp, l.dns_tcp, l.proxy_port, l.dns_port)
                }
            };
            let attributor = attribution::Attributor::open_in_netns(cgroup_procs, pid_hint)
                .map_err(NetError::Attribution)?;
            let ports = nft::Ports { proxy: proxy_port, dns: dns_port, host_services };
            let job_rules = match job_block {
                None => {
                    nft::apply(&ports)?;
                    None
                }
                Some(block) => Some(job::apply(&ports, block)?),
            };
            let gateways = gateways
                .into_iter()
                .map(|g| Ok((bind("model API gateway", g.addr())?, g.host)))
                .collect::<Result<Vec<_>, NetError>>()?;
            Ok((
                Sockets { proxy4, proxy6, dns_udp, dns_tcp, attributor, proxy_port, gateways, dns_port },
                job_rules,
            ))
        })?;

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("ringfence-net")
            .enable_all()
            .build()
            .map_err(NetError::Runtime)?;
        let inspector = intercept::Inspector::new(cfg.inspect, &cfg.policy);
        let shared = Arc::new(Shared::new(
            cfg.policy,
            cfg.mode,
            cfg.upstream_dns,
            sockets.attributor,
            sink,
            inspector,
            sockets.proxy_port,
            sockets.dns_port,
        ));
        let (shutdown, watch) = tokio::sync::watch::channel(false);
        let (alive, done) = tokio::sync::mpsc::channel::<()>(1);
        {
            let _guard = runtime.enter();
            let nonblocking = |r: std::io::Result<()>| r.map_err(NetError::Runtime);
            nonblocking(sockets.proxy4.set_nonblocking(true))?;
            nonblocking(sockets.proxy6.set_nonblocking(true))?;
            nonblocking(sockets.dns_udp.set_nonblocking(true))?;
            nonblocking(sockets.dns_tcp.set_nonblocking(true))?;
            let tcp = |l| tokio::net::TcpListener::from_std(l).map_err(NetError::Runtime);
            let proxy4 = tcp(sockets.proxy4)?;
            let proxy6 = tcp(sockets.proxy6)?;
            let dns_tcp = tcp(sockets.dns_tcp)?;
            let dns_udp = tokio::net::UdpSocket::from_std(sockets.dns_udp).map_err(NetError::Runtime)?;
            runtime.spawn(proxy::serve(proxy4, shared.clone(), watch.clone(), alive.clone()));
            runtime.spawn(proxy::serve(proxy6, shared.clone(), watch.clone(), alive.clone()));
            runtime.spawn(dns::serve_udp(dns_udp, shared.clone(), watch.clone(), alive.clone()));
            for (listener, host) in sockets.gateways {
                nonblocking(listener.set_nonblocking(true))?;
                let listener = tcp(listener)?;
                runtime.spawn(intercept::gateway::serve(
                    listener,
                    host,
                    shared.clone(),
                    watch.clone(),
                    alive.clone(),
                ));
            }
            runtime.spawn(dns::serve_tcp(dns_tcp, shared.clone(), watch, alive));
        }
        Ok(NetFence {
            runtime,
            shared,
            netns: cfg.netns,
            shutdown,
            attempts_recorded,
            done,
            proxy_port: sockets.proxy_port,
            placement,
            job_rules,
        })
    }

    /// A job fence's rules as nftables holds them now, against what was loaded: `None` when they
    /// are intact; else what changed, after loading them again (a job user with root could
    /// otherwise switch the fence off with one `nft flush ruleset`). A run's own namespace is
    /// out of the agent's reach, so there is nothing to check there.
    pub fn check_rules(&self) -> Option<String> {
        let (text, listed) = self.job_rules.as_ref()?;
        netns::within(self.netns.as_fd(), || job::check(text, listed))
            .unwrap_or_else(|e| Some(format!("could not read the rules back: {e}")))
    }

    /// Stops serving, closes open connections (recording each), journals what nftables
    /// dropped, and returns the counts and the observed (host, port) pairs.
    pub fn stop(mut self) -> NetStats {
        let _ = self.shutdown.send(true);
        let done = &mut self.done;
        self.runtime.block_on(async {
            // Every task holds a sender; all dropped means every connection was recorded.
            let _ = tokio::time::timeout(STOP_GRACE, done.recv()).await;
        });
        self.runtime.shutdown_timeout(Duration::from_millis(200));
        if let Ok(counters) = netns::within(self.netns.as_fd(), nft::read_counters) {
            let passed = self.placement == Placement::Job && self.shared.mode == journal::Mode::Audit;
            self.shared.record_drops(&counters, self.attempts_recorded, passed);
        }
        // A job's namespace outlives the fence: its rules must go, or the job is cut off.
        if self.placement == Placement::Job
            && let Err(e) = netns::within(self.netns.as_fd(), nft::remove)
        {
            self.shared.record_teardown_error(&format!("removing the job's nftables rules: {e}"));
        }
        self.shared.record_over_cap_total();
        self.shared.stats()
    }
}
