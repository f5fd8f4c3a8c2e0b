//! The Unix socket fence: the run's connects and addressed datagrams to pathname Unix sockets,
//! on the cgroup `unix_connect` / `unix_sendmsg` hooks (Linux 6.7+), counted per (process,
//! call, verdict, path) in the kernel; the counts are read once, at stop.
//!
//! Block mode: every absolute path is rewritten into the socket view ([`SOCKET_VIEW`]), a tree
//! the fence's init builds in the run's mount namespace that holds only the run's own areas and
//! the sockets the policy allows, with symlinks not followed. A host socket elsewhere is simply
//! not there (ENOENT). Relative paths, paths with a `..` component and paths too long once
//! prefixed are refused (EPERM): they could leave the view or not fit in it.
//!
//! Audit mode: nothing is changed; every pathname call is counted, as the process gave it.
//!
//! Left alone: abstract sockets (the fence's network namespace has its own abstract namespace),
//! unbound sockets and socketpairs (no path), and a connected datagram socket's later sends
//! (its connect was counted).

pub(crate) mod bpf;
mod record;

use std::mem::MaybeUninit;
use std::path::Path;
use std::sync::mpsc;

use crate::SensorError;
use crate::wake::StopSignal;
use crate::worker::Worker;

pub use record::{UnixAttempt, UnixCall, UnixVerdict};

/// Where the kernel side moves every path in block mode: `SOCKET_VIEW` in `src/bpf/unix.bpf.c`.
pub const SOCKET_VIEW: &str = "/dev/shm/.rfu";

/// The longest path the socket view can take: `sun_path` less the view's prefix.
pub const VIEW_FITS: usize = record::SUN_PATH - SOCKET_VIEW.len();

/// What the fence saw over the run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnixAttempts {
    /// In the order of each one's first occurrence.
    pub attempts: Vec<UnixAttempt>,
    /// Attempts not counted because the kernel's table was full; zero in a healthy run. In block
    /// mode they were moved or refused all the same.
    pub lost: u64,
}

/// How the fence is set up for one run.
#[derive(Debug, Clone)]
pub struct UnixFenceConfig<'a> {
    /// The run's cgroup v2 directory; its processes and their descendants' are judged.
    pub cgroup_dir: &'a Path,
    /// Rewrite into the socket view (block mode) or only count (audit mode).
    pub block: bool,
}

/// The attached programs, until stopped.
pub struct UnixFence {
    worker: Worker<UnixAttempts>,
}

impl UnixFence {
    /// Loads the programs and attaches them to the run's cgroup (and so to every cgroup below
    /// it). Returns once they are in force, or with an error that says what to do.
    pub fn start(config: &UnixFenceConfig<'_>) -> Result<UnixFence, SensorError> {
        let (dir, block) = (config.cgroup_dir.to_path_buf(), config.block);
        let (worker, ()) = Worker::start("unix-fence", move |stop, attached| {
            run(&bpf::Setup { cgroup_dir: &dir, block }, stop, attached)
        })?;
        Ok(UnixFence { worker })
    }

    /// Detaches the programs and returns what they counted.
    pub fn stop(self) -> Result<UnixAttempts, SensorError> {
        self.worker.stop()
    }
}

/// The thread holds the loaded object (it borrows its own storage) until told to stop.
fn run(
    setup: &bpf::Setup<'_>,
    stop: &StopSignal,
    attached: mpsc::SyncSender<()>,
) -> Result<UnixAttempts, SensorError> {
    let mut object = MaybeUninit::uninit();
    let loaded = bpf::load(setup, &mut object)?;
    // start() is waiting on the other end for as long as this thread lives.
    let _ = attached.send(());
    stop.wait();
    let attempts =
        crate::progs::counted(&loaded.skel.maps.attempts, record::decode, |a: &UnixAttempt| a.first_ns);
    Ok(UnixAttempts { attempts, lost: bpf::lost(&loaded.skel) })
}
