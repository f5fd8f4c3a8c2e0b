//! ringfence's kernel sensors: what the processes of a run did, observed from the kernel.
//!
//! The exec sensor ([`ExecSensor`]) reports every exec, fork and exit in the run's cgroup v2 as
//! [`journal::Event`]s, from eBPF programs on the sched tracepoints (`src/bpf/exec.bpf.c`).
//!
//! The file sensor ([`FileSensor`]) reports the run's changes under the workspace and opens of
//! sensitive paths (fanotify, attributed through an eBPF-kept set of the run's pids, so a writer
//! that already exited is still named), and every file operation the kernel refused the run
//! (eBPF at syscall exit, `src/bpf/files.bpf.c`). See `src/files/mod.rs` for what it can miss.
//! Its guarantees differ from the exec sensor's below: fanotify and the refusal ring buffer are
//! two queues, so their events are not in one kernel order.
//!
//! The connect sensor ([`ConnectSensor`]) counts the run's `connect(2)` calls, addressed
//! datagrams and ICMP/raw socket attempts in the kernel (cgroup socket hooks,
//! `src/bpf/net.bpf.c`), and notes which process made each TCP connection, for the proxy. Its
//! counts are read once, at stop; see `src/net/mod.rs` for what it can and cannot see.
//!
//! The Unix socket fence ([`UnixFence`]) moves (block mode) the run's connects and datagrams to
//! pathname Unix sockets into the socket view the fence's mount namespace holds, or lets them
//! through (audit mode), and counts each in the kernel (cgroup unix hooks,
//! `src/bpf/unix.bpf.c`); see `src/unix/mod.rs`.
//!
//! What a caller can rely on (exec sensor):
//! - Events arrive in kernel order (the order the programs reserved ring-buffer space), on the
//!   sensor's own thread; for one process that is fork, exec(s), exit.
//! - Only processes whose cgroup v2 id equals the one given are reported, not descendants.
//!   A fork is reported when the child starts in the cgroup, even from a parent outside it
//!   (`clone3(CLONE_INTO_CGROUP)`); a process moved in later shows up at its next exec or exit.
//! - Nothing is dropped silently: anything the kernel could not deliver is counted in
//!   [`SensorStats::lost`].
//! - Needs root (or CAP_BPF + CAP_PERFMON), kernel 5.17+ with BTF. RLIMIT_MEMLOCK needs no
//!   care: kernels since 5.11 charge BPF memory to the cgroup, and libbpf raises the limit itself
//!   on older ones. The exec sensor holds a 4 MiB ring buffer, the file sensor's refusals 1 MiB,
//!   each with ~25 KiB of scratch per CPU.
//! - Every object's CO-RE relocations resolve against [`core_btf`]'s cut-down copy of the
//!   kernel's BTF, built once per process.

mod cgroup;
pub mod core_btf;
mod error;
mod exec;
mod files;
mod net;
mod progs;
mod unix;
mod wake;
mod worker;

pub use cgroup::{Scope, cgroup_id, cgroup2_mount};
pub use error::SensorError;
pub use exec::{ExecSensor, SensorStats};
pub use files::{Coverage, FileSensor, FileWatch};
pub use net::{Attempt, Attempts, Call, ConnectSensor, Domain, PidHint};
pub use unix::{
    SOCKET_VIEW, UnixAttempt, UnixAttempts, UnixCall, UnixFence, UnixFenceConfig, UnixVerdict, VIEW_FITS,
};
