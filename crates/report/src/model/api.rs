//! The API section: requests through inspected (TLS-terminated) hosts, model usage metered from
//! their responses, and the spending caps that usage ran into.

use serde::{Deserialize, Serialize};

use super::{Actor, ViolationVerdict};

/// Every list is empty when the run recorded no `http.request` or `budget` events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Api {
    /// One entry per inspected host and port: those with violations first, then by first request.
    pub hosts: Vec<ApiHost>,
    /// Every request, in journal order.
    pub requests: Vec<ApiRequest>,
    /// Model usage summed per provider and model, in order of first use.
    pub usage: Vec<UsageTotal>,
    /// Spending against each provider's cap, one entry per provider with usage or a budget event.
    pub budgets: Vec<BudgetState>,
}

impl Api {
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty() && self.requests.is_empty() && self.usage.is_empty() && self.budgets.is_empty()
    }
}

/// Every request to one inspected host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiHost {
    pub host: String,
    pub port: u16,
    pub requests: u64,
    pub allowed: u64,
    pub blocked: u64,
    /// Requests a route rule refuses (blocked in block mode, flagged in audit mode).
    pub violations: u64,
    pub status: StatusClasses,
    pub bytes_up: u64,
    pub bytes_down: u64,
    /// Secrets whose real values ringfence put into requests to this host, with how many requests.
    pub injected: Vec<NameCount>,
    /// Rules that decided, each once.
    pub rules: Vec<String>,
    pub first_seq: u64,
    pub first_offset_ms: Option<u64>,
    pub processes: Vec<Actor>,
    pub processes_total: u64,
}

/// Requests counted by the class of their status; `none` when no status was given or received.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusClasses {
    #[serde(rename = "1xx")]
    pub informational: u64,
    #[serde(rename = "2xx")]
    pub success: u64,
    #[serde(rename = "3xx")]
    pub redirect: u64,
    #[serde(rename = "4xx")]
    pub client_error: u64,
    #[serde(rename = "5xx")]
    pub server_error: u64,
    pub none: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameCount {
    pub name: String,
    pub count: u64,
}

/// One request: what was asked, what came back, and who asked. The process is by reference
/// (`pid`, `process`) so a long run does not repeat every argv per request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiRequest {
    pub seq: u64,
    pub offset_ms: Option<u64>,
    pub host: String,
    pub port: u16,
    pub method: String,
    /// Path and query as sent (with sentinels, never real secret values).
    pub path: String,
    pub status: Option<u16>,
    pub verdict: ViolationVerdict,
    pub rule: String,
    pub violation: bool,
    pub reason: Option<String>,
    /// Names of the secrets injected into this request.
    pub injected: Vec<String>,
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub duration_ms: u64,
    /// Model, tokens and price, for a metered model call.
    pub usage: Option<RequestUsage>,
    pub pid: Option<u32>,
    pub process: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestUsage {
    pub provider: String,
    pub model: String,
    pub tokens: Tokens,
    pub usd: Option<f64>,
    pub prices: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write: u64,
}

impl Tokens {
    pub fn total(&self) -> u64 {
        self.input
            .saturating_add(self.output)
            .saturating_add(self.cache_read)
            .saturating_add(self.cache_write)
    }

    pub fn add(&mut self, other: &Tokens) {
        self.input = self.input.saturating_add(other.input);
        self.output = self.output.saturating_add(other.output);
        self.cache_read = self.cache_read.saturating_add(other.cache_read);
        self.cache_write = self.cache_write.saturating_add(other.cache_write);
    }
}

/// Usage summed over every metered call to one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageTotal {
    pub provider: String,
    pub model: String,
    pub requests: u64,
    pub tokens: Tokens,
    /// Dollars summed over the calls the pricing table could price.
    pub usd: f64,
    /// Calls whose model is not in the pricing table: their tokens count, their price does not.
    pub unpriced: u64,
    /// Versions of the pricing table used, each once.
    pub prices: Vec<String>,
}

/// One provider's spending and cap. The caps are known from `budget` events only, so they are
/// `null` for a run that never came near one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetState {
    pub provider: String,
    /// Tokens and dollars metered: the latest budget event's totals, or the usage sum when larger.
    pub tokens: u64,
    pub usd: f64,
    pub max_tokens: Option<u64>,
    pub max_usd: Option<f64>,
    /// True once a cap was reached.
    pub exceeded: bool,
    /// Model requests refused because of the cap.
    pub refused: u64,
    pub events: Vec<BudgetEvent>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetEvent {
    pub seq: u64,
    pub offset_ms: Option<u64>,
    pub tokens: u64,
    pub usd: f64,
    pub exceeded: bool,
    pub verdict: ViolationVerdict,
    pub what: String,
    pub pid: Option<u32>,
    pub process: Option<usize>,
}
