//! The Secrets section: attempts to send a secret's sentinel where it does not belong, and where
//! real values were put in on the agent's behalf. Names only: a report never holds a value.

use serde::{Deserialize, Serialize};

use super::{Actor, NameCount, ViolationVerdict};

/// Both lists are empty when the run had no secret exfiltration and injected no secret.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Secrets {
    /// Attempts grouped per (secret, destination, location, verdict), in order of first attempt.
    pub exfiltration: Vec<ExfilAttempt>,
    /// One entry per secret injected into at least one request, in order of first injection.
    pub injected: Vec<InjectedSecret>,
}

impl Secrets {
    pub fn is_empty(&self) -> bool {
        self.exfiltration.is_empty() && self.injected.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExfilAttempt {
    /// The secret's environment variable name.
    pub secret: String,
    pub host: String,
    pub port: u16,
    /// Where the sentinel was found: `header <name>`, `url`, `body`.
    pub location: String,
    pub verdict: ViolationVerdict,
    pub count: u64,
    pub first_seq: u64,
    pub first_offset_ms: Option<u64>,
    pub processes: Vec<Actor>,
    pub processes_total: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InjectedSecret {
    pub secret: String,
    /// Requests it was injected into, in all.
    pub requests: u64,
    /// Per host, how many requests.
    pub hosts: Vec<NameCount>,
}
