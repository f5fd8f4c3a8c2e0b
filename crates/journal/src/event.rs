//! The one event type every sensor writes and every report reads.

use serde::{Deserialize, Serialize};

/// One line of the journal: the envelope (`v`, `seq`, `ts`, `prev`) around one [`Event`].
/// The line's own `hash` is not a field here: the writer appends it and the reader checks it,
/// because it covers the exact bytes of the line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub v: u32,
    pub seq: u64,
    /// RFC 3339 UTC with microseconds.
    pub ts: String,
    #[serde(flatten)]
    pub event: Event,
    /// SHA-256 (hex) of the previous line, or [`crate::GENESIS`] for the first.
    pub prev: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Event {
    #[serde(rename = "run.start")]
    RunStart(RunStart),
    #[serde(rename = "process.exec")]
    ProcessExec(ProcessExec),
    #[serde(rename = "process.fork")]
    ProcessFork(ProcessFork),
    #[serde(rename = "process.exit")]
    ProcessExit(ProcessExit),
    #[serde(rename = "dns.query")]
    DnsQuery(DnsQuery),
    #[serde(rename = "net.connect")]
    NetConnect(NetConnect),
    #[serde(rename = "net.attempt")]
    NetAttempt(NetAttempt),
    #[serde(rename = "http.request")]
    HttpRequest(HttpRequest),
    #[serde(rename = "secret.exfil")]
    SecretExfil(SecretExfil),
    #[serde(rename = "secret.returned")]
    SecretReturned(SecretReturned),
    #[serde(rename = "budget")]
    Budget(Budget),
    #[serde(rename = "file.write")]
    FileWrite(FileWrite),
    #[serde(rename = "file.read_sensitive")]
    FileReadSensitive(FileReadSensitive),
    #[serde(rename = "file.denied")]
    FileDenied(FileDenied),
    #[serde(rename = "files.final")]
    FilesFinal(FilesFinal),
    #[serde(rename = "policy.violation")]
    PolicyViolation(PolicyViolation),
    #[serde(rename = "sensor.lost")]
    SensorLost(SensorLost),
    #[serde(rename = "journal.write_error")]
    JournalWriteError(JournalWriteError),
    #[serde(rename = "run.end")]
    RunEnd(RunEnd),
}

impl Event {
    /// The `kind` string as written in the journal.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::RunStart(_) => "run.start",
            Event::ProcessExec(_) => "process.exec",
            Event::ProcessFork(_) => "process.fork",
            Event::ProcessExit(_) => "process.exit",
            Event::DnsQuery(_) => "dns.query",
            Event::NetConnect(_) => "net.connect",
            Event::NetAttempt(_) => "net.attempt",
            Event::HttpRequest(_) => "http.request",
            Event::SecretExfil(_) => "secret.exfil",
            Event::SecretReturned(_) => "secret.returned",
            Event::Budget(_) => "budget",
            Event::FileWrite(_) => "file.write",
            Event::FileReadSensitive(_) => "file.read_sensitive",
            Event::FileDenied(_) => "file.denied",
            Event::FilesFinal(_) => "files.final",
            Event::PolicyViolation(_) => "policy.violation",
            Event::SensorLost(_) => "sensor.lost",
            Event::JournalWriteError(_) => "journal.write_error",
            Event::RunEnd(_) => "run.end",
        }
    }
}

impl Event {
    /// True when the policy refused this (block mode) or would have (audit mode): what makes a
    /// block-mode run fail and what a report lists first.
    pub fn is_violation(&self) -> bool {
        match self {
            Event::PolicyViolation(_) => true,
            Event::DnsQuery(q) => q.violation,
            Event::NetConnect(c) => c.violation,
            Event::NetAttempt(a) => a.violation,
            Event::HttpRequest(r) => r.violation,
            Event::SecretExfil(_) => true,
            // The fence refused a response it could not scan; a replaced value is the fence working.
            Event::SecretReturned(r) => r.verdict == Verdict::Blocked,
            Event::Budget(b) => b.exceeded,
            Event::FileWrite(w) => w.violation,
            Event::FileReadSensitive(_) => true,
            // A refusal is the fence's when a rule names it; plain permission errors are context.
            Event::FileDenied(d) => d.rule.is_some(),
            _ => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Audit,
    Block,
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::Audit => "audit",
            Mode::Block => "block",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The kernel or the proxy refused it.
    Blocked,
    /// It went through; in audit mode a violation is recorded with this verdict.
    Allowed,
}

/// One layer of the fence and whether it is in force for this run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FenceLayer {
    /// e.g. `cgroup`, `pid-namespace`, `seccomp`.
    pub layer: String,
    pub active: bool,
    /// What exactly was applied, or why not.
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunStart {
    pub run_id: String,
    pub ringfence_version: String,
    pub mode: Mode,
    pub argv: Vec<String>,
    pub cwd: String,
    /// Path of the policy file, when one was given.
    pub policy: Option<String>,
    /// SHA-256 of the policy file's bytes, so a report names exactly which policy decided.
    pub policy_sha256: Option<String>,
    pub uid: u32,
    pub gid: u32,
    /// Names (never values) of environment variables passed into the fence.
    pub env_passed: Vec<String>,
    /// Names (never values) of environment variables dropped at the fence.
    pub env_dropped: Vec<String>,
    pub fence: Vec<FenceLayer>,
    pub limits: Limits,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    pub pids: Option<u64>,
    pub wall_secs: Option<u64>,
    /// The agent's memory limit in bytes (absent in journals from before it was enforced).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<u64>,
    /// Model spending caps (`budget:`), so a report can say "of $10.00" before any cap is near.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub budgets: Vec<BudgetCap>,
}

/// One provider's cap from `budget:`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetCap {
    pub provider: String,
    pub max_tokens: Option<u64>,
    pub max_usd: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessExec {
    /// Host pid (thread-group id); the key that joins every event to its process.
    pub pid: u32,
    /// The pid as the agent sees it inside the fence's PID namespace.
    pub vpid: Option<u32>,
    pub ppid: u32,
    pub uid: u32,
    /// The file that was executed, as passed to execve.
    pub exe: String,
    pub argv: Vec<String>,
    /// True when argv was longer than the sensor copies; the tail is missing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub argv_truncated: bool,
    pub cwd: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessFork {
    pub pid: u32,
    pub ppid: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessExit {
    pub pid: u32,
    /// Exit status when the process exited normally.
    pub code: Option<i32>,
    /// Signal number when the process was killed by one.
    pub signal: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyViolation {
    pub pid: Option<u32>,
    /// The rule that decided, e.g. `seccomp.ptrace` or `limits.wall`.
    pub rule: String,
    /// What was attempted, in words a reviewer understands.
    pub what: String,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensorLost {
    pub sensor: String,
    pub count: u64,
}

/// The journal could not be written (the file system is full, or an I/O error): written by the
/// journal's writer into space it kept in reserve for this, so the journal says why it ends
/// early instead of looking tampered with. Only `run.end` and further records of this kind follow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalWriteError {
    /// The error, as the operating system gave it (e.g. `No space left on device (os error 28)`).
    pub error: String,
    /// Events that were not written since the previous record of this kind.
    pub lost: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// CMD ran and exited (or was killed by a signal) on its own.
    Completed,
    /// The wall-clock limit ended the run.
    WallLimit,
    /// ringfence was told to stop (SIGTERM/SIGINT) and tore the fence down.
    Interrupted,
    /// ringfence itself failed after the run had started.
    Failed,
    /// CMD could not be started (not found, not executable).
    NotStarted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEnd {
    pub status: RunStatus,
    /// CMD's exit status, when it exited.
    pub cmd_code: Option<i32>,
    /// The signal that killed CMD, when one did.
    pub cmd_signal: Option<i32>,
    /// The status `ringfence run` exits with.
    pub exit_code: i32,
    pub duration_ms: u64,
    pub violations: u64,
    /// Events the sensors could not deliver (ring-buffer overflow); zero in a healthy run.
    pub lost_events: u64,
    /// Why, in words, when status is not `completed`.
    pub reason: Option<String>,
}

/// One DNS question the agent asked ringfence's resolver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DnsQuery {
    /// Host pid of the asking process, when attribution found it.
    pub pid: Option<u32>,
    /// The queried name, lower-case, without the trailing dot.
    pub name: String,
    /// Record type: `A`, `AAAA`, `TXT`, …
    pub qtype: String,
    /// `udp` or `tcp`.
    pub transport: String,
    pub verdict: Verdict,
    /// The rule that decided (e.g. `allow api.github.com:443`, `default-deny`).
    pub rule: String,
    /// True when the policy refuses the name (blocked in block mode, flagged in audit mode).
    pub violation: bool,
    /// What the agent was told: synthetic addresses, upstream answers (audit), `NXDOMAIN`, `REFUSED`.
    pub answer: Vec<String>,
    /// Signs of DNS tunnelling in this query (long or high-entropy labels, odd types…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suspicious: Vec<String>,
}

/// One connection the agent opened (or tried to), written when it ends or is refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetConnect {
    pub pid: Option<u32>,
    /// `tcp`, `udp`, …
    pub protocol: String,
    /// The host name the connection was for, known from the synthetic address it resolved to.
    pub host: Option<String>,
    /// TLS SNI or HTTP Host the client sent, when one was seen.
    pub sni: Option<String>,
    /// The address and port the agent connected to.
    pub ip: String,
    pub port: u16,
    /// The real upstream address ringfence connected to, when it did.
    pub upstream: Option<String>,
    pub verdict: Verdict,
    pub rule: String,
    /// True when the policy refuses this connection (blocked in block mode, flagged in audit).
    pub violation: bool,
    /// Why it was refused or flagged, in words.
    pub reason: Option<String>,
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileOp {
    /// Created; the creating process's writes until it first closes the file are part of it.
    Create,
    /// Opened for writing and closed: reported at the close, once per session (not per write),
    /// with the process that closed it.
    Modify,
    Delete,
    Rename,
}

/// A change to a file under the watched tree (the workspace), with the process that made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileWrite {
    pub pid: Option<u32>,
    pub op: FileOp,
    /// Absolute path as seen from the host.
    pub path: String,
    /// The new path, for a rename.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// True when the path is protected by policy (e.g. `.github/workflows/`) and the change was
    /// allowed only because the run is in audit mode.
    pub violation: bool,
    /// The protection that applies, when `violation` is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

/// What the changed files are once the run's processes are gone: written by the supervisor
/// after teardown, before run.end, for the paths a report lists (every protected one and the
/// first few thousand others), so the diff summary can give sizes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilesFinal {
    pub files: Vec<FinalFile>,
}

/// One changed path at the end of the run, looked at without following a final symlink.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinalFile {
    pub path: String,
    /// `file`, `dir`, `symlink`, `other`, or `gone` (deleted or moved away).
    pub kind: String,
    /// Bytes, for a regular file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// An open of a credential path (`files.deny_read`) that went through (audit mode).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileReadSensitive {
    pub pid: Option<u32>,
    pub path: String,
    pub rule: String,
}

/// A file operation the fence refused (block mode), seen as the error the kernel returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileDenied {
    pub pid: Option<u32>,
    /// `open-read`, `open-write`, `unlink`, `rename`, `link`, `mkdir`, …
    pub op: String,
    pub path: String,
    /// `EACCES`, `EPERM`, `EROFS`; `EBUSY` (a pinned or protected mount point moved or removed)
    /// and `EISDIR` (a file written over a protected path's placeholder).
    pub errno: String,
    /// The protection that applies, when ringfence can name it.
    pub rule: Option<String>,
}

/// A connect() or datagram send seen by the kernel hook on the run's cgroup, for traffic that
/// never reaches the proxy (UDP, ICMP, a refused address family) or as the pid-bearing twin of
/// a proxied connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetAttempt {
    pub pid: Option<u32>,
    /// `tcp`, `udp`, `icmp`, `raw`, …
    pub protocol: String,
    /// `connect` or `sendmsg`.
    pub call: String,
    /// Destination address and port as the process gave them; for a Unix socket (`unix-*`
    /// protocols) its path, and port 0.
    pub ip: String,
    pub port: u16,
    pub verdict: Verdict,
    pub rule: String,
    pub violation: bool,
    pub reason: Option<String>,
    /// How many identical attempts (same pid, protocol, destination) this record stands for.
    pub count: u64,
}

/// One HTTP request through an inspected (TLS-terminated) host, or one refused before it left.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpRequest {
    pub pid: Option<u32>,
    pub host: String,
    pub port: u16,
    pub method: String,
    /// Path and query as the agent sent them (sentinels, never real secret values).
    pub path: String,
    /// Upstream's status, or the status ringfence answered with when it refused.
    pub status: Option<u16>,
    pub verdict: Verdict,
    /// The route rule or policy that decided.
    pub rule: String,
    pub violation: bool,
    pub reason: Option<String>,
    /// Names of the secrets whose real values ringfence put into this request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub injected: Vec<String>,
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub duration_ms: u64,
    /// Model usage metered from the response, for model APIs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<ModelUsage>,
}

/// Tokens and price of one model call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelUsage {
    /// `anthropic`, `openai`, …
    pub provider: String,
    pub model: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    #[serde(default)]
    pub cache_read_tokens: u64,
    #[serde(default)]
    pub cache_write_tokens: u64,
    /// Price in US dollars by the pricing table named in `prices`, when the model is in it.
    pub usd: Option<f64>,
    /// Version of the pricing table used.
    pub prices: String,
}

/// A secret's sentinel seen in a request to a host that secret does not belong to: an attempted
/// exfiltration, whether or not the request went anywhere.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecretExfil {
    pub pid: Option<u32>,
    /// The secret's variable name (never its value or its sentinel).
    pub secret: String,
    pub host: String,
    pub port: u16,
    /// Where it was found: `header <name>`, `url`, `body`.
    pub location: String,
    pub verdict: Verdict,
}

/// A response from an inspected host carried a secret's real value (its own host reflected it: an
/// echo, an error page, a stored field), or could not be scanned for it. The agent got the
/// sentinel in its place (`allowed`: the response went on) or nothing more (`blocked`: the
/// response or connection was cut off).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecretReturned {
    /// The process the response was going to.
    pub pid: Option<u32>,
    /// The secret's variable name; empty when the response was refused unscanned.
    pub secret: String,
    pub host: String,
    pub port: u16,
    /// Where: `response header <name>`, `response body`, `websocket`.
    pub location: String,
    /// How the value was written: `plain`, `percent`, `json`, `base64`, `hex`; `unscanned` for
    /// a refusal.
    pub form: String,
    pub verdict: Verdict,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Model spending against `budget.<provider>`: written when a cap is reached and for each
/// request refused because of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    pub pid: Option<u32>,
    pub provider: String,
    pub tokens: u64,
    pub usd: f64,
    pub max_tokens: Option<u64>,
    pub max_usd: Option<f64>,
    /// True once a cap is reached; the next model request is refused.
    pub exceeded: bool,
    pub verdict: Verdict,
    pub what: String,
}
