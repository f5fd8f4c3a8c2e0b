//! The kernel fence around an agent's process tree.
//!
//! Layout, outermost first (DESIGN layers 1–2):
//! - [`cgroup`]: a cgroup v2 leaf per run; its id filters the sensors, `cgroup.kill` ends it.
//! - [`init`]: `ringfence __fence-init`, pid 1 of a new PID namespace with its own mount
//!   namespace (fresh /proc, private /tmp); it forks the agent and reaps orphans, and its death
//!   (it carries PDEATHSIG) takes every process of the namespace with it.
//! - [`agent`]: the agent's own setup just before exec: credentials, capabilities,
//!   no_new_privs, seccomp.
//! - [`seccomp`]: the syscall deny-list; refusals reach the supervisor through seccomp
//!   user notification, so each one is recorded with the pid that tried.
//! - [`supervisor`]: the host side that ties these together.
//!
//! Policy is data: [`FenceSpec`] says what to build; nothing in here decides what is allowed.

pub mod agent;
pub mod cgroup;
pub mod env;
pub mod init;
mod ipc;
pub mod landlock;
mod mounts;
pub mod network;
pub mod seccomp;
mod socket_view;
pub mod supervisor;
pub mod user;

use std::path::PathBuf;

pub use mounts::PRIVATE_TMP;
pub use socket_view::SOCKET_VIEW;
pub use supervisor::{Denied, Outcome, Prepared, Running, Teardown};

/// The argument that makes the ringfence binary run as the fence's init.
pub const INIT_ARG: &str = "__fence-init";

/// Everything the fence needs to start CMD; filled in by the CLI from the policy.
#[derive(Debug, Clone)]
pub struct FenceSpec {
    pub run_id: String,
    /// CMD and its arguments.
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    /// The complete environment CMD starts with (already filtered).
    pub env: Vec<(String, String)>,
    pub uid: u32,
    pub gid: u32,
    pub pids_max: Option<u64>,
    /// The agent's memory limit in bytes (cgroup memory.max); also the size of each private tmpfs,
    /// whose pages count against it.
    pub memory_max: Option<u64>,
    /// Give CMD a network namespace of its own with only loopback (no route out).
    pub isolate_network: bool,
    /// File confinement (block mode); `None` leaves the file system as the uid allows.
    pub files: Option<FileFence>,
    /// The binary to run as the fence's init (the ringfence binary itself).
    pub init_exe: PathBuf,
    /// A CA bundle (the system's roots plus the run's CA) bound read-only over each of
    /// [`CA_BUNDLES`] that exists, so TLS clients in the fence trust the inspecting proxy.
    pub ca_bundle: Option<PathBuf>,
    /// The run directory (journal and reports): hidden from the agent under an empty,
    /// read-only mount, which also makes it impossible to rename (EBUSY).
    pub run_dir: Option<PathBuf>,
    /// Block mode's socket view ([`SOCKET_VIEW`]): `Some` builds it, with these host Unix
    /// sockets (the policy's) shown beside the run's own areas. The Unix socket fence moves every
    /// socket path the agent names into it.
    pub socket_view: Option<Vec<PathBuf>>,
}

/// Where distributions keep the system CA bundle; the first that exists is the one the fence's
/// `SSL_CERT_FILE` and friends name.
pub const CA_BUNDLES: [&str; 3] =
    ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"];

/// What the kernel enforces on the file system (DESIGN layer 3).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct FileFence {
    /// Trees the agent may write (Landlock); the private tmp dirs are always added.
    pub writable: Vec<PathBuf>,
    /// Paths made read-only even inside writable trees (read-only bind mounts).
    pub read_only: Vec<PathBuf>,
    /// Directories bound onto themselves, still writable: a mount point cannot be renamed or
    /// removed, so a read-only path's parents (`.git`, `.github`) cannot be moved aside, taking
    /// the read-only mount with them, and replaced by a writable copy.
    #[serde(default)]
    pub pinned: Vec<PathBuf>,
    /// Paths hidden from the agent (credential material): an empty, unreadable mount over each.
    pub masked: Vec<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(
        "no cgroup2 file system is mounted (looked in /proc/self/mountinfo); mount one, e.g. `mount -t cgroup2 none /sys/fs/cgroup`"
    )]
    NoCgroup2,
    #[error(
        "cannot {action} {path}: {source}; ringfence run needs root (or a delegated cgroup) to build the fence"
    )]
    Cgroup { action: &'static str, path: String, source: std::io::Error },
    #[error(
        "limits.pids is set but no pids controller is available (neither in cgroup v2 nor as a v1 hierarchy); remove limits.pids from the policy or enable the pids controller"
    )]
    NoPidsController,
    #[error(
        "limits.memory needs the memory controller, and neither cgroup v2 nor a v1 hierarchy offers it; enable the memory controller (cgroup_enable=memory) or run on a host that has it"
    )]
    NoMemoryController,
    #[error("cannot start the fence: {what}: {source}")]
    Start { what: &'static str, source: std::io::Error },
    #[error(
        "block mode confines writes with Landlock, and this kernel has none (ABI 0); run with --mode audit, or on a kernel with Landlock enabled (lsm=…,landlock)"
    )]
    NoLandlock,
    #[error("cannot create the fence's network namespace: {0}")]
    Network(String),
    #[error("the fence's init failed before CMD started: {0}")]
    Init(String),
}

pub(crate) fn io_err(e: nix::errno::Errno) -> std::io::Error {
    std::io::Error::from_raw_os_error(e as i32)
}
