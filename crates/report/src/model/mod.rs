//! The report model: what report.json serialises and every renderer reads.
//!
//! The model has its own types rather than re-exporting the journal's, so that report.json stays
//! stable (see `docs/report-schema.md`) while the journal's event schema evolves. Each section
//! (`files`, `network`, …) is a top-level field in its own module; adding a field is a minor
//! change, never a version bump.

mod api;
mod attempts;
mod files;
mod network;
mod secrets;

use serde::{Deserialize, Serialize};

pub use api::*;
pub use attempts::*;
pub use files::*;
pub use network::*;
pub use secrets::*;

/// Version of the report.json schema. Bumped only when a field is removed, renamed or changes
/// meaning; new fields are added without a bump, so readers must ignore fields they do not know.
/// 2: `events` and `files.changes` are capped (see [`EVENTS_MAX`], [`CHANGES_MAX`]), with what
/// was left out counted in `events_omitted` and `files.changes_omitted`.
pub const REPORT_VERSION: u32 = 2;

/// Rows of `events` kept beyond the ones always kept (violations, lost events, `run.end`): a
/// run with 100,000 file events would otherwise make a report of tens of megabytes that takes
/// longer to write than the run took. The journal keeps every record.
pub const EVENTS_MAX: usize = 10_000;

/// Entries of `files.changes` kept beyond the protected paths, which are always kept.
pub const CHANGES_MAX: usize = 5_000;

/// Everything a report says about one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub report_version: u32,
    pub run: RunFacts,
    pub outcome: Outcome,
    pub journal: JournalFacts,
    pub counts: Counts,
    pub fence: Vec<FenceLayer>,
    pub env: EnvNames,
    pub limits: Limits,
    /// Things that make the report less than the whole truth (lost events, a cut-short journal).
    pub warnings: Vec<Warning>,
    pub violations: Vec<Violation>,
    /// Every process seen, in order of first appearance; `id` is the index into this list.
    pub processes: Vec<Process>,
    /// Ids of processes whose parent is outside the tree (usually just CMD).
    pub roots: Vec<usize>,
    /// Workspace changes, credential reads and refusals; empty when the run has no file events.
    pub files: Files,
    /// Hosts contacted and names resolved; empty when the run has no network events.
    pub network: Network,
    /// Requests through inspected hosts, model usage and budgets; empty when there were none.
    pub api: Api,
    /// Secret exfiltration attempts and where secrets were injected (names only).
    pub secrets: Secrets,
    /// Journal records, one short row each, in journal order: the first [`EVENTS_MAX`], and
    /// every violation, lost-events record and `run.end` after them.
    pub events: Vec<EventRow>,
    /// Records not in `events` (the journal has them).
    pub events_omitted: u64,
}

/// Facts from `run.start`, plus the run's start and end times.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunFacts {
    pub run_id: String,
    pub ringfence_version: String,
    pub mode: Mode,
    pub argv: Vec<String>,
    pub cwd: String,
    pub policy: Option<PolicyRef>,
    pub uid: u32,
    pub gid: u32,
    /// RFC 3339 timestamp of `run.start`.
    pub started_at: Option<String>,
    /// RFC 3339 timestamp of `run.end`; absent for an incomplete journal.
    pub ended_at: Option<String>,
    /// From `run.end`; absent for an incomplete journal.
    pub duration_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Audit,
    #[default]
    Block,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyRef {
    pub path: String,
    pub sha256: Option<String>,
}

/// How the run ended and what the report concludes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub verdict: Verdict,
    /// One line a person reads first, e.g. `BLOCKED: 2 violations`.
    pub headline: String,
    pub status: Status,
    pub cmd_code: Option<i32>,
    pub cmd_signal: Option<i32>,
    /// What `ringfence run` exited with.
    pub exit_code: Option<i32>,
    pub reason: Option<String>,
}

/// The report's conclusion, most serious first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// No `run.end`: the run was cut short and the journal may be missing anything.
    Incomplete,
    /// At least one violation was refused.
    ViolationsBlocked,
    /// Violations happened and were let through (audit mode).
    ViolationsAllowed,
    /// No violations, but CMD or ringfence did not succeed.
    Failed,
    Passed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Completed,
    WallLimit,
    Interrupted,
    Failed,
    NotStarted,
    /// The journal has no `run.end`.
    Incomplete,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalFacts {
    /// SHA-256 of the journal's last line: quote it to pin exactly this journal.
    pub head: String,
    /// Always true: a report is only built from a journal whose hash chain verified.
    pub chain_verified: bool,
    /// True when the journal ends with `run.end`.
    pub complete: bool,
    pub records: u64,
    /// Highest event-schema version among the records.
    pub schema_version: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    pub events: u64,
    pub processes: u64,
    pub execs: u64,
    pub forks: u64,
    pub exits: u64,
    pub violations: u64,
    pub violations_blocked: u64,
    pub violations_allowed: u64,
    pub lost_events: u64,
    /// `file.write`, `file.read_sensitive` and `file.denied` records.
    pub file_events: u64,
    pub dns_queries: u64,
    pub net_connections: u64,
    /// `net.attempt` records (each may stand for several attempts).
    pub net_attempts: u64,
    /// `http.request` records: requests through inspected hosts.
    pub http_requests: u64,
    /// `secret.exfil` records.
    pub secret_exfil: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FenceLayer {
    pub layer: String,
    pub active: bool,
    pub detail: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EnvNames {
    pub passed: Vec<String>,
    pub dropped: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    pub pids: Option<u64>,
    pub wall_secs: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Warning {
    pub kind: WarningKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// No `run.end`.
    Incomplete,
    /// A sensor dropped events.
    LostEvents,
    /// The journal does not start with `run.start`.
    NoRunStart,
    /// `run.end` counted a different number of violations than the journal holds.
    CountMismatch,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    pub seq: u64,
    pub ts: String,
    /// Milliseconds since `run.start`.
    pub offset_ms: Option<u64>,
    /// Which kind of event it was: a syscall or limit, a file, a DNS query or a connection.
    pub kind: ViolationKind,
    pub rule: String,
    pub what: String,
    pub verdict: ViolationVerdict,
    pub pid: Option<u32>,
    /// Id of the process (see `processes`) the pid belonged to at the time.
    pub process: Option<usize>,
    pub exe: Option<String>,
    pub argv: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationKind {
    /// A secret's sentinel sent toward a host it does not belong to.
    Secret,
    /// A model spending cap reached, or a request refused because of it.
    Budget,
    /// A request to an inspected host refused (or flagged) by a route rule.
    Api,
    /// `policy.violation`: seccomp, limits and other fence rules.
    Policy,
    /// A protected-path write, a credential read or a refused file operation.
    File,
    Dns,
    /// A refused connection, or a connect/send attempt the kernel hook saw.
    Network,
}

impl ViolationKind {
    /// Reading order: a leaked secret first, then spending, then refused API routes; every
    /// other kind after them, in journal order.
    pub fn rank(self) -> u8 {
        match self {
            ViolationKind::Secret => 0,
            ViolationKind::Budget => 1,
            ViolationKind::Api => 2,
            ViolationKind::Policy | ViolationKind::File | ViolationKind::Dns | ViolationKind::Network => 3,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationVerdict {
    Blocked,
    Allowed,
}

/// One process: one host pid from its fork (or first exec) to its exit. A pid the kernel
/// reuses later in the run becomes a second process with the same `pid`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Process {
    pub id: usize,
    pub pid: u32,
    pub ppid: u32,
    /// Id of the parent process, when the parent is in the tree.
    pub parent: Option<usize>,
    pub vpid: Option<u32>,
    pub uid: Option<u32>,
    /// The image it runs: its last exec, or its parent's image when it forked without exec.
    pub exe: Option<String>,
    pub argv: Vec<String>,
    pub argv_truncated: bool,
    pub cwd: Option<String>,
    /// True when no exec was seen: `exe`/`argv` are the parent's at fork time.
    pub image_inherited: bool,
    /// Images it executed before its last one (e.g. `env` before the program it ran).
    pub earlier_execs: Vec<ExecImage>,
    pub started_seq: u64,
    pub started_at: String,
    pub offset_ms: Option<u64>,
    pub exit: Option<Exit>,
    /// True when its parent exited first: a process that detached or was left running.
    pub orphaned: bool,
    pub violations: u64,
    pub children: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecImage {
    pub exe: String,
    pub argv: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exit {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub seq: u64,
    pub ts: String,
    pub offset_ms: Option<u64>,
}

/// One journal record in a line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRow {
    pub seq: u64,
    pub ts: String,
    pub offset_ms: Option<u64>,
    /// The journal's `kind`, e.g. `process.exec`.
    pub kind: String,
    pub pid: Option<u32>,
    pub process: Option<usize>,
    /// True when the record counts as a violation (see `violations`).
    pub violation: bool,
    pub summary: String,
}

/// The process behind a file or network event: the pid joined to the exec it was running.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Actor {
    pub pid: Option<u32>,
    /// Id in `processes`, when the pid was seen fork or exec.
    pub process: Option<usize>,
    pub exe: Option<String>,
    pub argv: Vec<String>,
}
