//! What the DNS server and the proxy share for one run: the policy, the synthetic-address map,
//! the upstream resolver, attribution, the journal sink and the counters.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use journal::{Event, Mode, NetConnect, Verdict};
use policy::Policy;

use crate::NetStats;
use crate::attribution::Attributor;
use crate::fakeip::FakeIps;
use crate::intercept::Inspector;
use crate::nft;
use crate::tunnel::Tracker;
use crate::upstream::Upstream;

/// Malformed DNS messages journaled one by one before they are only counted.
const MALFORMED_JOURNALED: u64 = 16;
/// Connections the proxy and the gateways hold open at once: far above what an agent's tools
/// open (a package manager's parallel downloads: tens), far below a descriptor limit (each
/// costs ringfence up to six: the two sockets and a splice pipe each way).
pub(crate) const MAX_OPEN_CONNECTIONS: usize = 1024;
/// Connections refused for the cap journaled one by one before they are only counted.
const OVER_CAP_JOURNALED: u64 = 16;

pub(crate) type Sink = Box<dyn Fn(Event) + Send + Sync>;

pub(crate) struct Shared {
    pub policy: Arc<Policy>,
    pub mode: Mode,
    pub fakeips: FakeIps,
    pub upstream: Upstream,
    pub attributor: Attributor,
    pub tunnel: Tracker,
    pub inspector: Inspector,
    pub proxy_port: u16,
    pub dns_port: u16,
    sink: Sink,
    connections: AtomicU64,
    queries: AtomicU64,
    blocked: AtomicU64,
    malformed: AtomicU64,
    over_cap: AtomicU64,
    observed: Mutex<BTreeSet<(String, u16)>>,
    /// Permits for connections open at once ([`MAX_OPEN_CONNECTIONS`]).
    pub open_connections: Arc<tokio::sync::Semaphore>,
}

impl Shared {
    #[allow(clippy::too_many_arguments)] // one call site, each argument named there
    pub fn new(
        policy: Arc<Policy>,
        mode: Mode,
        upstream: Vec<std::net::SocketAddr>,
        attributor: Attributor,
        sink: Sink,
        inspector: Inspector,
        proxy_port: u16,
        dns_port: u16,
    ) -> Shared {
        Shared {
            policy,
            mode,
            fakeips: FakeIps::default(),
            upstream: Upstream::new(upstream),
            attributor,
            tunnel: Tracker::default(),
            inspector,
            proxy_port,
            dns_port,
            sink,
            connections: AtomicU64::new(0),
            queries: AtomicU64::new(0),
            blocked: AtomicU64::new(0),
            malformed: AtomicU64::new(0),
            over_cap: AtomicU64::new(0),
            open_connections: Arc::new(tokio::sync::Semaphore::new(MAX_OPEN_CONNECTIONS)),
            observed: Mutex::new(BTreeSet::new()),
        }
    }

    pub fn block(&self) -> bool {
        self.mode == Mode::Block
    }

    /// Journals an event that needs no counting here (HTTP requests, secrets, budgets).
    pub fn emit(&self, event: Event) {
        (self.sink)(event);
    }

    pub fn record_query(&self, query: journal::DnsQuery) {
        self.queries.fetch_add(1, Ordering::Relaxed);
        if query.verdict == Verdict::Blocked {
            self.blocked.fetch_add(1, Ordering::Relaxed);
        }
        (self.sink)(Event::DnsQuery(query));
    }

    /// Counts a DNS message that was not one standard query. The first few are journaled (with
    /// the sender), the rest only counted, so garbage cannot flood the journal.
    pub fn record_malformed(&self, pid: Option<u32>, transport: &str, outcome: &str) {
        let n = self.malformed.fetch_add(1, Ordering::Relaxed) + 1;
        if n > MALFORMED_JOURNALED {
            return;
        }
        let last = if n == MALFORMED_JOURNALED { "; later ones are only counted" } else { "" };
        (self.sink)(Event::DnsQuery(journal::DnsQuery {
            pid,
            name: String::new(),
            qtype: "MALFORMED".into(),
            transport: transport.to_string(),
            verdict: Verdict::Blocked,
            rule: "dns-malformed".into(),
            violation: false,
            answer: vec![format!("{outcome}{last}")],
            suspicious: vec!["not a single standard DNS query".into()],
        }));
    }

    /// A connection closed unread because [`MAX_OPEN_CONNECTIONS`] were open: the first few
    /// journaled with their process, then counted (journaled at the end by `record_over_cap_total`).
    pub fn record_over_cap(&self, peer: std::net::SocketAddr, original: Option<std::net::SocketAddr>) {
        let n = self.over_cap.fetch_add(1, Ordering::Relaxed) + 1;
        self.blocked.fetch_add(1, Ordering::Relaxed);
        if n > OVER_CAP_JOURNALED {
            return;
        }
        let pid = original.and_then(|dst| self.attributor.tcp(peer, dst));
        (self.sink)(over_cap_event(
            pid,
            format!(
                "closed unread: {MAX_OPEN_CONNECTIONS} connections were already open through ringfence (connection {n})"
            ),
        ));
    }

    /// Journals how many connections the cap closed past the ones journaled one by one.
    pub fn record_over_cap_total(&self) {
        let n = self.over_cap.load(Ordering::Relaxed);
        if n > OVER_CAP_JOURNALED {
            (self.sink)(over_cap_event(
                None,
                format!(
                    "{n} connections in all were closed unread because {MAX_OPEN_CONNECTIONS} were already open ({} more than journaled one by one)",
                    n - OVER_CAP_JOURNALED
                ),
            ));
        }
    }

    pub fn record_connect(&self, connect: NetConnect) {
        self.connections.fetch_add(1, Ordering::Relaxed);
        if connect.verdict == Verdict::Blocked {
            self.blocked.fetch_add(1, Ordering::Relaxed);
        }
        let host = connect.host.clone().unwrap_or_else(|| connect.ip.clone());
        self.observed.lock().unwrap_or_else(|p| p.into_inner()).insert((host, connect.port));
        (self.sink)(Event::NetConnect(connect));
    }

    /// Something the fence could not undo at its end, recorded as a violation of its own.
    pub fn record_teardown_error(&self, what: &str) {
        (self.sink)(Event::PolicyViolation(journal::PolicyViolation {
            pid: None,
            rule: "job.teardown".into(),
            what: what.to_string(),
            verdict: Verdict::Blocked,
        }));
    }

    /// Journals what nftables refused (no pid: the kernel dropped it before any socket of ours
    /// saw it). When `attempts_recorded`, each attempt is already a `net.attempt` violation with
    /// its process, and the count is journaled as context only. `passed`: the counters counted
    /// packets a job fence in audit mode let through (the job's namespace is the machine's;
    /// nothing there is dropped in audit mode).
    pub fn record_drops(&self, counters: &[(String, u64)], attempts_recorded: bool, passed: bool) {
        for (name, packets) in counters {
            let Some((_, protocol)) = nft::COUNTERS.iter().find(|(n, _)| n == name) else { continue };
            if *packets == 0 {
                continue;
            }
            let (verdict, violation, reason) = if passed {
                (
                    Verdict::Allowed,
                    true,
                    format!(
                        "{packets} {protocol} packet(s) left the job outside ringfence's resolver and proxy; block mode drops them"
                    ),
                )
            } else {
                self.blocked.fetch_add(*packets, Ordering::Relaxed);
                let recorded = if attempts_recorded {
                    "; the attempts are recorded with their processes as net.attempt"
                } else {
                    ""
                };
                (
                    Verdict::Blocked,
                    !attempts_recorded,
                    format!(
                        "{packets} {protocol} packet(s) dropped by the fence: only DNS and TCP leave the agent's namespace{recorded}"
                    ),
                )
            };
            (self.sink)(Event::NetConnect(NetConnect {
                pid: None,
                protocol: protocol.to_string(),
                host: None,
                sni: None,
                ip: "*".into(),
                port: 0,
                upstream: None,
                verdict,
                rule: "fence-drop".into(),
                violation,
                reason: Some(reason),
                bytes_up: 0,
                bytes_down: 0,
                duration_ms: 0,
            }));
        }
    }

    pub fn stats(&self) -> NetStats {
        NetStats {
            connections: self.connections.load(Ordering::Relaxed),
            queries: self.queries.load(Ordering::Relaxed),
            blocked: self.blocked.load(Ordering::Relaxed),
            malformed_dns: self.malformed.load(Ordering::Relaxed),
            observed: self.observed.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect(),
        }
    }
}

/// The record of connections the cap closed.
fn over_cap_event(pid: Option<u32>, reason: String) -> Event {
    Event::NetConnect(NetConnect {
        pid,
        protocol: "tcp".into(),
        host: None,
        sni: None,
        ip: "*".into(),
        port: 0,
        upstream: None,
        verdict: Verdict::Blocked,
        rule: "limits.connections".into(),
        violation: true,
        reason: Some(reason),
        bytes_up: 0,
        bytes_down: 0,
        duration_ms: 0,
    })
}
