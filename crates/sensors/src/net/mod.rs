//! The connect sensor: every `connect(2)` and addressed datagram of the run's processes, counted
//! in the kernel per (process, call, socket kind, destination); and, for each TCP connect, which
//! process made it, for the proxy to name a client that connected and closed before it looked.
//!
//! What it sees, and what not:
//! - TCP, UDP, ping and any other inet socket's `connect`, and `sendto`/`sendmsg` with an
//!   address on UDP sockets (the kernel's cgroup `connect4/6` and `sendmsg4/6` hooks), before
//!   any netfilter rule, so with the address the process gave.
//! - A connected UDP socket's later `send`s: not seen again; its `connect` is counted once.
//! - ICMP, raw and packet sockets: not here. They cannot be made inside the fence, and the
//!   attempt is the `socket(2)` call, which the fence's seccomp filter refuses and reports with
//!   its process; the runner records it as a [`Call::Socket`] attempt. (This sensor once watched
//!   every syscall's exit for it, which put every system call on the host on the kernel's slow
//!   exit path while a run was up.)
//! - The programs never refuse anything: enforcement is nftables' and the proxy's.

mod bpf;
mod record;

use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};

use libbpf_rs::{MapCore, MapHandle};

use crate::SensorError;
use crate::wake::StopSignal;
use crate::worker::Worker;

pub use record::{Attempt, Call, Domain};

/// The process that made a TCP connection, from (client address, original destination).
pub type PidHint = Arc<dyn Fn(SocketAddr, SocketAddr) -> Option<u32> + Send + Sync>;

/// What the sensor counted over the run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attempts {
    /// In the order of each one's first occurrence.
    pub attempts: Vec<Attempt>,
    /// Attempts not counted because the kernel's table was full (more distinct destinations
    /// than it holds); zero in a healthy run.
    pub lost: u64,
}

/// Counts the run's connect attempts in the kernel until stopped.
pub struct ConnectSensor {
    worker: Worker<Attempts>,
    tcp_clients: Arc<MapHandle>,
}

impl ConnectSensor {
    /// Loads the programs and attaches them to the cgroup v2 directory `cgroup_dir` (its
    /// descendants included). Returns once attached, or with an error that says what to do.
    pub fn start(cgroup_dir: &Path) -> Result<ConnectSensor, SensorError> {
        let cgroup_id = crate::cgroup_id(cgroup_dir)
            .map_err(|source| SensorError::Cgroup { path: cgroup_dir.to_path_buf(), source })?;
        let dir = cgroup_dir.to_path_buf();
        let (worker, tcp_clients) =
            Worker::start("connect-sensor", move |stop, attached| run(dir, cgroup_id, stop, attached))?;
        Ok(ConnectSensor { worker, tcp_clients: Arc::new(tcp_clients) })
    }

    /// A lookup for the proxy: the process that connected from `client` to `dst`. Each entry
    /// answers once (the proxy asks once per connection), which keeps the table small.
    pub fn pid_hint(&self) -> PidHint {
        let map = Arc::clone(&self.tcp_clients);
        Arc::new(move |client, dst| {
            let value = map.lookup_and_delete(&record::client_key(client, dst)).ok().flatten()?;
            Some(u32::from_ne_bytes(value.get(..4)?.try_into().ok()?))
        })
    }

    /// Detaches the programs and returns what they counted.
    pub fn stop(self) -> Result<Attempts, SensorError> {
        self.worker.stop()
    }
}

/// The sensor thread holds the loaded object (it borrows its own storage) until told to stop.
fn run(
    cgroup_dir: PathBuf,
    cgroup_id: u64,
    stop: &StopSignal,
    attached: mpsc::SyncSender<MapHandle>,
) -> Result<Attempts, SensorError> {
    let mut object = MaybeUninit::uninit();
    let loaded = bpf::load(&cgroup_dir, cgroup_id, &mut object)?;
    let tcp_clients = MapHandle::try_from(&loaded.skel.maps.tcp_clients).map_err(|source| {
        SensorError::Bpf { sensor: "connect", stage: "opening the TCP client table", source }
    })?;
    // start() is waiting on the other end for as long as this thread lives.
    let _ = attached.send(tcp_clients);
    stop.wait();
    let attempts =
        crate::progs::counted(&loaded.skel.maps.attempts, record::decode, |a: &Attempt| a.first_ns);
    Ok(Attempts { attempts, lost: bpf::lost(&loaded.skel) })
}
