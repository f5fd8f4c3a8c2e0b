//! The Network section: hosts connected to and names resolved, with the processes behind them.

use serde::{Deserialize, Serialize};

use super::{Actor, ConnectAttempt};

/// Every list is empty when the run recorded no DNS, connection or attempt events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Network {
    /// One entry per host: those with violations first, then those with refused connections,
    /// then by first connection.
    pub hosts: Vec<HostActivity>,
    /// One entry per queried name, ordered like `hosts`.
    pub dns: Vec<DnsName>,
    /// Connect and send attempts seen by the kernel hook: violations first, then by first attempt.
    pub attempts: Vec<ConnectAttempt>,
}

impl Network {
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty() && self.dns.is_empty() && self.attempts.is_empty()
    }
}

/// Every connection to one host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostActivity {
    /// The host name the connection was for; its SNI, or the bare address when neither is known.
    pub host: String,
    /// TLS SNI / HTTP Host values that differ from `host` (a sign of domain fronting).
    pub sni: Vec<String>,
    /// Addresses the agent connected to.
    pub ips: Vec<String>,
    pub ports: Vec<u16>,
    pub protocols: Vec<String>,
    pub connections: u64,
    pub allowed: u64,
    pub blocked: u64,
    /// Connections the policy refuses (blocked in block mode, flagged in audit mode).
    pub violations: u64,
    /// Rules that decided, each once.
    pub rules: Vec<String>,
    /// Why connections were refused or flagged, each once.
    pub reasons: Vec<String>,
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub first_seq: u64,
    pub first_offset_ms: Option<u64>,
    /// The processes that connected, in order of first connection (at most 20).
    pub processes: Vec<Actor>,
    pub processes_total: u64,
}

/// Every query for one name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DnsName {
    pub name: String,
    /// Record types asked for: `A`, `AAAA`, `TXT`, …
    pub qtypes: Vec<String>,
    pub queries: u64,
    pub allowed: u64,
    pub blocked: u64,
    pub violations: u64,
    pub rules: Vec<String>,
    /// Distinct answers given (at most 10).
    pub answers: Vec<String>,
    /// Signs of DNS tunnelling seen in any query for this name.
    pub suspicious: Vec<String>,
    pub first_seq: u64,
    pub first_offset_ms: Option<u64>,
    pub processes: Vec<Actor>,
    pub processes_total: u64,
}
