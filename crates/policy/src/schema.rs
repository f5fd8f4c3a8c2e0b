//! The typed policy: what `ringfence.yml` means once it has been loaded and validated.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

pub use journal::Mode;

use crate::cidr::Cidr;
use crate::hosts::HostPattern;
use crate::presets::Preset;

/// The only schema version this build understands.
pub const SCHEMA_VERSION: u64 = 1;

/// A loaded, valid policy. `Policy::default()` allows no egress and passes only the default
/// environment allowlist, in block mode.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// `audit` records and allows; `block` enforces. Absent means `block`: a policy file that
    /// forgets to say should not silently allow everything.
    pub mode: Mode,
    /// Curated host lists named in `presets:`, in file order.
    pub presets: Vec<&'static Preset>,
    pub egress: Egress,
    pub dns: Dns,
    /// Hosts whose HTTPS traffic is terminated and checked, by host pattern text.
    pub inspect: BTreeMap<String, Inspect>,
    /// Hosts whose TLS is spliced, never terminated (`inspect.<host>: { passthrough: true }`), for
    /// clients that pin certificates: their connections are checked by name (address, SNI) only.
    pub passthrough: Vec<HostPattern>,
    /// Hosts whose own secrets may be put into plain-HTTP requests
    /// (`inspect.<host>: { cleartext_secrets: true }`); elsewhere only encrypted requests get them.
    pub cleartext_secrets: Vec<HostPattern>,
    /// Secrets by environment variable name; the agent only ever sees a sentinel.
    pub secrets: BTreeMap<String, Secret>,
    pub files: Files,
    pub env: Env,
    /// Who the agent runs as; `None` lets the runtime choose an unprivileged user.
    pub user: Option<UserSpec>,
    pub limits: Limits,
    /// Spending caps by model provider (`anthropic`, `openai`, `google-gemini`).
    pub budget: BTreeMap<String, Budget>,
    /// `gate:`, read by `ringfence gate`; `None` when the file has no such section.
    pub gate: Option<Gate>,
    /// Rules for the agent's tool calls, read by `ringfence hook claude`.
    pub tools: crate::tools::Tools,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            mode: Mode::Block,
            presets: Vec::new(),
            egress: Egress::default(),
            dns: Dns::default(),
            inspect: BTreeMap::new(),
            passthrough: Vec::new(),
            cleartext_secrets: Vec::new(),
            secrets: BTreeMap::new(),
            files: Files::default(),
            env: Env::default(),
            user: None,
            limits: Limits::default(),
            budget: BTreeMap::new(),
            gate: None,
            tools: crate::tools::Tools::default(),
        }
    }
}

/// `egress:` — where the agent may connect.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Egress {
    /// `allow:` entries followed by the `allowed-endpoints:` entries, in file order.
    pub allow: Vec<Rule>,
    /// `deny:` entries; a deny match beats every allow.
    pub deny: Vec<Rule>,
    /// `unix_sockets:` host Unix socket paths (absolute, no `..`) the run may connect and send
    /// to; every other host socket is out of reach in block mode and a violation in audit mode.
    pub unix_sockets: Vec<std::path::PathBuf>,
}

/// The longest socket path `egress.unix_sockets` takes: block mode shows allowed sockets under a
/// 13-byte prefix, and a socket address holds 108 bytes.
pub const UNIX_SOCKET_PATH_MAX: usize = 95;

/// One allow or deny entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub target: Target,
    /// `None` means every port (the default for `deny`); allow entries default to `[443]`.
    pub ports: Option<Vec<u16>>,
    /// How the rule is named in decisions and reports, e.g. `allow *.example.com:443`.
    pub text: String,
}

impl Rule {
    pub fn allows_port(&self, port: u16) -> bool {
        self.ports.as_ref().is_none_or(|ports| ports.contains(&port))
    }
}

/// What a rule is about: a host pattern, or a CIDR for direct-IP destinations.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Host(HostPattern),
    Cidr(Cidr),
}

/// Ports a bare host in `allow:` gets: HTTPS only.
pub const DEFAULT_ALLOW_PORTS: &[u16] = &[443];

/// `dns:` — where ringfence resolves allowed names on the host side, and which record types
/// other than addresses the agent may ask about.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dns {
    /// Empty means the host's own resolver configuration.
    pub upstream: Vec<SocketAddr>,
    /// `types:` entries in file order. Without one, only address questions (A, AAAA, CNAME,
    /// HTTPS) are answered for an allowed name; every other type is refused.
    pub types: Vec<DnsTypes>,
}

/// `dns.types.<host>: [TXT, …]` — record types asked upstream for names matching `host`
/// (which egress must also allow).
#[derive(Debug, Clone, PartialEq)]
pub struct DnsTypes {
    pub host: HostPattern,
    /// Upper-case type names, each one of [`DNS_LISTABLE_TYPES`].
    pub types: Vec<String>,
}

/// Record types `dns.types` may list. Address types are always answered (with a synthetic
/// address), and NULL, ANY and zone transfers carry arbitrary data or whole zones, so none of
/// those can be listed.
pub const DNS_LISTABLE_TYPES: &[&str] =
    &["TXT", "MX", "SRV", "CAA", "NS", "SOA", "PTR", "NAPTR", "SSHFP", "TLSA", "DS", "DNSKEY", "SVCB"];

impl Dns {
    /// The `types` entry that lets `name` (lower case) be asked about with `qtype` (upper case).
    pub fn listed_type(&self, name: &str, qtype: &str) -> Option<&DnsTypes> {
        self.types.iter().find(|t| t.types.iter().any(|x| x == qtype) && t.host.matches(name))
    }
}

/// `inspect.<host>:` — route rules for a TLS-terminated host.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Inspect {
    /// `METHOD /path` rules; empty (and no preset) means inspect and record without restricting
    /// routes.
    pub routes: Vec<Route>,
    /// A named set of routes added to `routes` (see [`INSPECT_PRESETS`]).
    pub preset: Option<String>,
}

/// Route presets an `inspect` entry can start from; their routes live with the route matcher.
pub const INSPECT_PRESETS: &[&str] = &["github-repo"];

/// `GET /repos/${repo}/**`: `*` is one path segment, `**` any number, `${repo}` the run's repository.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// Upper-case method, or `*` for any.
    pub method: String,
    pub path: String,
}

/// `secrets.<NAME>:` — which hosts the real value may be sent to, and where in a request it
/// may be put besides the credential headers ([`CREDENTIAL_HEADERS`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Secret {
    pub hosts: Vec<HostPattern>,
    /// `in:` — extra places the real value may go (`header:x-token`, `query:key`).
    pub inject: Vec<Position>,
}

/// Headers that carry credentials for the providers ringfence knows (`Authorization` with any
/// scheme, Anthropic's `x-api-key`, Google's `x-goog-api-key`, Azure's `api-key`): a secret's
/// real value is put there and nowhere else unless the policy names another [`Position`].
pub const CREDENTIAL_HEADERS: &[&str] = &["authorization", "x-api-key", "x-goog-api-key", "api-key"];

/// One place in a request a secret's real value may be put (`secrets.<NAME>.in`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// `header:<name>`, the name in lower case.
    Header(String),
    /// `query:<name>`: the value of that query parameter.
    Query(String),
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Position::Header(name) => write!(f, "header:{name}"),
            Position::Query(name) => write!(f, "query:{name}"),
        }
    }
}

/// `files:` — Landlock paths. `${workspace}`, `${tmp}`, `${home}` and a leading `~` are expanded
/// by the runtime.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Files {
    pub writable: Vec<String>,
    pub deny_read: Vec<String>,
    /// Paths protected like the built-in ones (read-only in block mode, a violation when
    /// written in audit mode), added to them.
    pub protected: Vec<String>,
}

/// `env:` — variables passed into the fence besides the defaults.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Env {
    /// Exact names, or prefixes written with a trailing `*` (`LC_*`).
    pub pass: Vec<String>,
}

/// `user:` — a numeric uid or a user name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserSpec {
    Uid(u32),
    Name(String),
}

/// `limits:` — resource caps for the whole run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Limits {
    pub pids: Option<u64>,
    pub wall: Option<Duration>,
    /// Bytes.
    pub memory: Option<u64>,
    /// Bytes sent and received through the proxy.
    pub egress_bytes: Option<u64>,
}

/// `budget.<provider>:` — model spending caps metered by the proxy.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Budget {
    pub max_tokens: Option<u64>,
    pub max_usd: Option<f64>,
}

/// Providers whose usage the proxy can meter.
pub const BUDGET_PROVIDERS: &[&str] = &["anthropic", "openai", "google-gemini"];

/// `gate:` — who may start a run (`ringfence gate`), and the budgets kept across runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    /// Repository permissions (as the GitHub API reports them) that may start a run.
    pub roles: Vec<Role>,
    /// Logins always allowed, bots included (compared case-insensitively, as GitHub does).
    pub users: Vec<String>,
    pub budget: GateBudget,
    /// Where admissions and spend are kept; required when a budget is set.
    pub store: Option<GateStore>,
    /// How long one call to the GitHub API may take before it is retried.
    pub timeout: Duration,
}

/// The roles a `gate:` section allows when it names none.
pub const DEFAULT_GATE_ROLES: &[Role] = &[Role::Admin, Role::Maintain, Role::Write];

/// How long one GitHub API call may take when `gate.timeout` is not given.
pub const DEFAULT_GATE_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for Gate {
    fn default() -> Self {
        Gate {
            roles: DEFAULT_GATE_ROLES.to_vec(),
            users: Vec::new(),
            budget: GateBudget::default(),
            store: None,
            timeout: DEFAULT_GATE_TIMEOUT,
        }
    }
}

/// A repository role, from most to least access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Admin,
    Maintain,
    Write,
    Triage,
    Read,
}

impl Role {
    pub const ALL: &[Role] = &[Role::Admin, Role::Maintain, Role::Write, Role::Triage, Role::Read];

    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Maintain => "maintain",
            Role::Write => "write",
            Role::Triage => "triage",
            Role::Read => "read",
        }
    }

    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL.iter().copied().find(|r| r.name() == name)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `gate.budget:` — caps counted in the store, per UTC day.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GateBudget {
    pub per_actor_daily_runs: Option<u64>,
    pub per_repo_daily_runs: Option<u64>,
    /// US dollars of model spend recorded (`ringfence gate --record`) per actor per UTC day.
    pub per_actor_daily_usd: Option<f64>,
    /// US dollars of model spend recorded per repository per UTC day.
    pub per_repo_daily_usd: Option<f64>,
}

impl GateBudget {
    pub fn is_empty(&self) -> bool {
        self.per_actor_daily_runs.is_none()
            && self.per_repo_daily_runs.is_none()
            && self.per_actor_daily_usd.is_none()
            && self.per_repo_daily_usd.is_none()
    }
}

/// `gate.store:` — `sqlite:PATH` (relative paths from the working directory) or a PostgreSQL URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateStore {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}
