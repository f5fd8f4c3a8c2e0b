//! The one finding type every rule produces and every renderer reads.

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 4] = [Severity::Low, Severity::Medium, Severity::High, Severity::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// One step less severe; used when a finding holds only under extra conditions.
    pub fn lower(self) -> Self {
        match self {
            Severity::Critical => Severity::High,
            Severity::High => Severity::Medium,
            _ => Severity::Low,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// Untrusted users can start the agent.
    Trigger,
    /// Untrusted text reaches an agent prompt or a shell.
    Injection,
    /// The agent may run arbitrary commands, or permission checks are bypassed.
    Tools,
    /// Secrets reachable beyond the step that needs them, or by the agent.
    Secrets,
    /// No (or audit-only) egress control on an agent job reachable by untrusted triggers.
    Egress,
    /// Token scopes broader than needed.
    Permissions,
    /// Unpinned agent actions, untrusted checkouts, agents that can edit their own controls.
    SupplyChain,
    /// No turn, time or cost limit.
    Budget,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Trigger => "trigger",
            Category::Injection => "injection",
            Category::Tools => "tools",
            Category::Secrets => "secrets",
            Category::Egress => "egress",
            Category::Permissions => "permissions",
            Category::SupplyChain => "supply-chain",
            Category::Budget => "budget",
        }
    }
}

/// One problem at one place. Field names and order are the stable JSON schema.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub category: Category,
    pub severity: Severity,
    pub confidence: Confidence,
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub message: String,
    pub fix: String,
}
