//! Connect and send attempts seen by the kernel hook (`net.attempt`), part of the Network section:
//! traffic that never reached the proxy, such as UDP to an outside resolver or a raw socket.

use serde::{Deserialize, Serialize};

use super::{Actor, ViolationVerdict};

/// Attempts grouped per (process, protocol, destination, verdict).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectAttempt {
    /// `tcp`, `udp`, `icmp`, `raw`, …
    pub protocol: String,
    /// System calls seen: `connect`, `sendmsg`.
    pub calls: Vec<String>,
    pub ip: String,
    pub port: u16,
    pub verdict: ViolationVerdict,
    /// True when the policy refuses it (blocked in block mode, flagged in audit mode).
    pub violation: bool,
    /// Attempts in all (each record stands for `count` identical ones).
    pub count: u64,
    pub rules: Vec<String>,
    pub reasons: Vec<String>,
    pub first_seq: u64,
    pub first_offset_ms: Option<u64>,
    pub process: Actor,
}
