//! The exec sensor: every exec, fork and exit in one cgroup v2, from eBPF programs on the sched
//! tracepoints, delivered in kernel order from a thread of its own.

pub(crate) mod bpf;
mod exits;
mod record;

use std::any::Any;
use std::mem::MaybeUninit;
use std::panic::{self, AssertUnwindSafe};

use std::sync::mpsc;
use std::time::Duration;

use journal::Event;
use libbpf_rs::RingBufferBuilder;

use crate::SensorError;
use crate::wake::StopSignal;
use crate::worker::Worker;
use exits::ExitDedup;

/// How long the sensor thread waits for records before it checks whether to stop; bounds how
/// long [`ExecSensor::stop`] takes.
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// How long records gather once the ring has some before they are read (the ring holds 4 MiB,
/// thousands of execs; see the loop in `run`). Events reach the journal ~2 ms later.
const GATHER: Duration = Duration::from_millis(2);

/// What a sensor delivered over its life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SensorStats {
    /// Events handed to the sink.
    pub delivered: u64,
    /// Events the kernel recorded but could not deliver (ring buffer full, program run skipped,
    /// unreadable record). Zero in a healthy run; anything else belongs in the journal.
    pub lost: u64,
}

/// Reports every exec, fork and exit in one cgroup v2 to a sink, until stopped.
///
/// Owns a thread that reads the kernel's ring buffer and calls the sink, in kernel order.
pub struct ExecSensor {
    worker: Worker<SensorStats>,
}

type Sink = Box<dyn FnMut(Event) + Send>;

impl ExecSensor {
    /// Loads and attaches the BPF programs and starts delivering events of processes whose
    /// cgroup v2 is `scope`'s cgroup or beneath it to `sink`, in kernel order, from a thread of its own.
    /// Returns only once attached (errors — BPF refused, no BTF, etc. — come back here, with a
    /// message that says what to do), so no exec after this call is missed.
    pub fn start(scope: crate::Scope, sink: Sink) -> Result<ExecSensor, SensorError> {
        let (worker, ()) =
            Worker::start("exec-sensor", move |stop, attached| run(scope, sink, stop, attached))?;
        Ok(ExecSensor { worker })
    }

    /// Stops after draining everything the kernel has already written; returns counts.
    pub fn stop(self) -> Result<SensorStats, SensorError> {
        self.worker.stop()
    }
}

/// The sensor thread: load and attach, say so, then deliver until told to stop.
fn run(
    scope: crate::Scope,
    sink: Sink,
    stop: &StopSignal,
    attached: mpsc::SyncSender<()>,
) -> Result<SensorStats, SensorError> {
    let mut object = MaybeUninit::uninit();
    let skel = bpf::load(scope, &mut object)?;
    let mut delivery = Delivery::new(sink);

    let mut builder = RingBufferBuilder::new();
    builder.add(&skel.maps.events, |record| delivery.deliver(record)).map_err(|source| SensorError::Bpf {
        sensor: "exec",
        stage: "opening the ring buffer",
        source,
    })?;
    let ring = builder.build().map_err(|source| SensorError::Bpf {
        sensor: "exec",
        stage: "opening the ring buffer",
        source,
    })?;
    stop.watch_from_epoll(ring.epoll_fd()).map_err(SensorError::Thread)?;
    // start() is waiting on the other end for as long as this thread lives.
    let _ = attached.send(());

    while !stop.requested() {
        // Waits for the ring (or the stop signal, watched by the same epoll), then lets events
        // gather before reading them: the kernel wakes a reader that has caught up for each new
        // record, so reading at once meant a wake-up per fork, exec and exit.
        let mut ready = libc::pollfd { fd: ring.epoll_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut ready, 1, POLL_INTERVAL.as_millis() as i32) };
        if ready.revents & libc::POLLIN != 0 && !stop.requested() {
            std::thread::sleep(GATHER);
        }
        match ring.consume_raw() {
            SINK_PANICKED => break,
            rc if rc < 0 && rc != -libc::EINTR => {
                return Err(SensorError::RingBuffer(libbpf_rs::Error::from_raw_os_error(-rc)));
            }
            _ => {}
        }
    }
    // Everything the kernel committed before the stop request, so nothing it wrote goes missing.
    let rc = ring.consume_raw();
    drop(ring);
    if rc < 0 && rc != SINK_PANICKED {
        return Err(SensorError::RingBuffer(libbpf_rs::Error::from_raw_os_error(-rc)));
    }

    if let Some(panic) = delivery.sink_panic.take() {
        return Err(SensorError::ThreadDied(format!(" in the event sink{panic}")));
    }
    Ok(SensorStats { delivered: delivery.delivered, lost: bpf::lost(&skel) + delivery.undecodable })
}

/// Turns ring-buffer records into events for the sink.
struct Delivery {
    sink: Sink,
    dedup: ExitDedup,
    delivered: u64,
    /// Records that were not a valid event; counted as lost.
    undecodable: u64,
    /// Set once the sink panicked; nothing more is delivered.
    sink_panic: Option<String>,
}

/// What the ring-buffer callback returns when the sink panicked: stops the poll.
const SINK_PANICKED: i32 = -libc::ECANCELED;

impl Delivery {
    fn new(sink: Sink) -> Self {
        Delivery { sink, dedup: ExitDedup::default(), delivered: 0, undecodable: 0, sink_panic: None }
    }

    /// Called by libbpf for each record, from C: a panic must not unwind out of here.
    fn deliver(&mut self, record: &[u8]) -> i32 {
        if self.sink_panic.is_some() {
            return SINK_PANICKED;
        }
        let event = match record::decode(record) {
            Ok(event) => event,
            Err(_) => {
                self.undecodable += 1;
                return 0;
            }
        };
        if !self.dedup.admit(&event) {
            return 0;
        }
        let sink = &mut self.sink;
        match panic::catch_unwind(AssertUnwindSafe(|| sink(event))) {
            Ok(()) => {
                self.delivered += 1;
                0
            }
            Err(panic) => {
                self.sink_panic = Some(panic_message(&*panic));
                SINK_PANICKED
            }
        }
    }
}

pub(crate) fn panic_message(panic: &(dyn Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    format!(": {text}")
}
