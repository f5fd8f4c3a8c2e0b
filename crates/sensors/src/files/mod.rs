//! The file sensor: what the run's processes changed in the workspace, which sensitive files
//! they opened, and which file operations the kernel refused them — each with the pid that did it.
//!
//! Three mechanisms, one thread:
//! - fanotify ([`fanotify`], [`changes`]): a filesystem mark on the workspace's filesystem reports
//!   create, modify, rename and delete with directory handles and names; inode marks on the
//!   sensitive paths report opens. fanotify gives only a pid, and the writer may be gone by the
//!   time the event is read, so:
//! - eBPF ([`bpf`]): a set of the run's pids kept by programs on fork and cgroup attach (exited
//!   processes stay in it), which every fanotify event is checked against; and fexit programs on
//!   the file syscalls that record each refusal (EACCES, EPERM, EROFS, EBUSY, EISDIR) in the
//!   run's cgroup ([`denied`]), which is how block mode's refusals are recorded with their
//!   process.
//!
//! With [`FileWatch::everywhere`] (audit mode) the run's changes outside the tree are reported
//! too, and every other writable file system in the mount table ([`mounts`]) gets a filesystem
//! mark: writes the fence would refuse in block mode (`/run/lock`, a world-writable directory
//! elsewhere) are seen with their process. Each extra mark adds the pid check for every other
//! writer on that file system; one that cannot be marked is listed in [`Coverage`].
//!
//! What can be missed or be imprecise, and why:
//! - fanotify's queue is bounded (`fs.fanotify.max_queued_events`, 16384 by default) and shared
//!   with every writer on the workspace's filesystem. An overflow is one event that stands for an
//!   unknown number of dropped ones; it counts 1 in [`SensorStats::lost`], so `lost` is a lower
//!   bound for fanotify.
//! - Paths are resolved when read. A directory renamed between a change and its read shows the
//!   new name. A pre-existing directory deleted before its events are read is named by its own
//!   delete event; if that never arrives (it was moved away, not deleted), the run's events in it
//!   are counted lost.
//! - A pid reused by a process outside the run before the run's events are read (a pid wrap
//!   within the queue's latency) drops those events. A process that joined the run's cgroup by
//!   a path the programs do not see (none known besides fork, clone3 and cgroup.procs) is not
//!   attributed.
//! - A write is reported when the file is closed, with the process that closed it: when a
//!   descriptor is shared (a shell redirection around several commands), that is the last one
//!   to close it, not necessarily the one that wrote. A file opened for writing and closed
//!   unwritten is reported modified. `truncate(2)` by path (no open) is not seen; attribute
//!   changes (chmod, chown) are not watched. A file system the host mounts after the start is
//!   not marked.
//! - Sensitive directories are marked with their subdirectories at start (4096 at most); a
//!   directory created inside one later is not watched. Opens of a masked path (a mount over it
//!   in the agent's namespace) open the mask, not the watched inode, and are not reported.
//! - Refusals: every EACCES, EPERM, EROFS, EBUSY or EISDIR of the traced calls in the run's
//!   cgroup is recorded, whoever refused it (Landlock, a read-only or pinned mount, a protected
//!   path's placeholder, or plain permissions); the runner names the rule. The path is the
//!   string the caller passed, read at syscall exit: a thread of the caller can change it in
//!   between. It is made absolute against the cwd or dirfd walked in the
//!   kernel (cut at 128 components) and cleaned lexically. For rename and link the source and the
//!   new name respectively are recorded (the journal has no second path for refusals).

pub(crate) mod bpf;
mod changes;
mod denied;
mod fanotify;
mod handles;
mod mounts;
mod paths;
mod sensitive;

use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::rc::Rc;

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use journal::Event;
use libbpf_rs::RingBufferBuilder;

use crate::exec::panic_message;
use crate::wake::StopSignal;
use crate::worker::Worker;
use crate::{SensorError, SensorStats};
use changes::{Lookup, Tracker};
use fanotify::Group;
use handles::{Handles, Resolved};

/// How long the thread waits for events before it checks whether to stop; bounds how long
/// [`FileSensor::stop`] takes.
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// One read of the fanotify queue; events are at most a few hundred bytes.
const READ_BUF: usize = 64 * 1024;
/// How long the thread lets events gather once the queue has some, before it reads them. A
/// writer's every event would otherwise wake this thread (measured: the wake-up in
/// `fsnotify_insert_event` was the writer's largest single kernel cost, and the thread woke for
/// one or two events at a time); after the pause one read takes a few dozen. Bounds nothing
/// that matters: events are ~2 ms later in the journal, and the kernel's queue (16384 events)
/// cannot fill in that time.
const GATHER: Duration = Duration::from_millis(2);

/// What the file sensor watches.
#[derive(Debug, Clone)]
pub struct FileWatch {
    /// Tree whose changes are recorded (the workspace); only events under it are reported.
    pub tree: PathBuf,
    /// Existing files or directories whose opens are reported as `FileReadSensitive` (audit
    /// mode). Directories are watched with everything below them at start (up to 4096
    /// directories each); paths that do not exist are skipped.
    pub sensitive: Vec<PathBuf>,
    /// The run's cgroup (a job's: a subtree): only processes in it are reported.
    pub scope: crate::Scope,
    /// Also report the run's changes outside `tree`: on the tree's file system and on every
    /// other writable one the sensor can see (each gets a filesystem mark), for audit mode to
    /// record writes the fence would have refused.
    pub everywhere: bool,
    /// Mount points the agent does not see (the fence's private tmp dirs hide them): not marked.
    pub hidden: Vec<PathBuf>,
}

/// Which file systems outside the tree's are watched (with `everywhere`), and which could not
/// be, with the reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    pub watched: Vec<PathBuf>,
    pub unwatched: Vec<(PathBuf, String)>,
}

type Sink = Box<dyn FnMut(Event) + Send>;

/// Reports file changes under a tree, opens of sensitive paths and refused file operations of
/// one cgroup's processes to a sink, from a thread of its own, until stopped.
pub struct FileSensor {
    worker: Worker<SensorStats>,
    /// The other file systems marked when [`FileWatch::everywhere`] is set.
    pub coverage: Coverage,
}

impl FileSensor {
    /// Starts watching; returns only when armed (errors say what to do), so every change after
    /// this call is seen.
    pub fn start(watch: FileWatch, sink: Sink) -> Result<FileSensor, SensorError> {
        let (worker, coverage) =
            Worker::start("file-sensor", move |stop, armed| run(watch, sink, stop, armed))?;
        Ok(FileSensor { worker, coverage })
    }

    /// Stops after draining what was already queued; returns delivered and lost counts (lost:
    /// fanotify queue overflows — each counts one, though it may have dropped many events —,
    /// ring-buffer drops, and the run's events whose directory was deleted before its name
    /// could be learned).
    pub fn stop(self) -> Result<SensorStats, SensorError> {
        self.worker.stop()
    }
}

/// The workspace's changes: a filesystem mark, since only filesystem (and inode) marks report
/// directory-entry events; events outside the tree are dropped in user space. Writes are seen
/// at their close (`FAN_CLOSE_WRITE`), not per `write(2)` (`FAN_MODIFY`): one event per write
/// session instead of one per call to queue, merge and read (measured: ~0.15 s of CPU on
/// 50,000 created files), and a file written through `mmap` is seen too.
const TREE_EVENTS: u64 =
    libc::FAN_CREATE | libc::FAN_DELETE | libc::FAN_RENAME | libc::FAN_CLOSE_WRITE | libc::FAN_ONDIR;

fn run(
    watch: FileWatch,
    sink: Sink,
    stop: &StopSignal,
    armed: mpsc::SyncSender<Coverage>,
) -> Result<SensorStats, SensorError> {
    let tree = watch.tree.canonicalize().map_err(|err| SensorError::Watch {
        path: watch.tree.clone(),
        reason: format!("{err}; create the workspace before starting the sensor"),
    })?;
    if !tree.is_dir() {
        return Err(SensorError::Watch {
            path: tree,
            reason: "it is not a directory; give the workspace's root".into(),
        });
    }
    let mut object = MaybeUninit::uninit();
    let skel = bpf::load(watch.scope, &mut object)?;

    let fanotify_failed = |stage, path: &PathBuf| {
        let path = path.clone();
        move |source| SensorError::Fanotify { stage, path, source }
    };
    let group = Group::new().map_err(fanotify_failed("creating a group for", &tree))?;
    let mut handles = Handles::default();
    handles.add_filesystem(&tree).map_err(fanotify_failed("opening the filesystem of", &tree))?;
    group
        .mark(libc::FAN_MARK_FILESYSTEM, TREE_EVENTS, &tree)
        .map_err(fanotify_failed("marking the filesystem of", &tree))?;
    let coverage = match watch.everywhere {
        true => mark_elsewhere(&group, &mut handles, &tree, &watch.hidden),
        false => Coverage::default(),
    };
    let rules = sensitive::mark(&group, &mut handles, &watch.sensitive)?;
    let mut tracker = Tracker::new(tree.to_string_lossy().into_owned(), rules);
    tracker.everywhere = watch.everywhere;

    let outbox = Rc::new(RefCell::new(Outbox::new(sink)));
    let mut builder = RingBufferBuilder::new();
    builder
        .add(&skel.maps.denied, {
            let outbox = Rc::clone(&outbox);
            move |record| outbox.borrow_mut().deliver_record(record)
        })
        .map_err(|source| SensorError::Bpf { sensor: "file", stage: "opening the ring buffer", source })?;
    let ring = builder.build().map_err(|source| SensorError::Bpf {
        sensor: "file",
        stage: "opening the ring buffer",
        source,
    })?;
    // start() is waiting on the other end for as long as this thread lives.
    let _ = armed.send(coverage);

    let mut lookup = Live { handles, skel: &skel, last: None };
    let mut buf = vec![0u8; READ_BUF];
    let mut fds = [
        libc::pollfd { fd: group.raw_fd(), events: libc::POLLIN, revents: 0 },
        libc::pollfd { fd: ring.epoll_fd(), events: libc::POLLIN, revents: 0 },
        libc::pollfd { fd: stop.fd(), events: libc::POLLIN, revents: 0 },
    ];
    loop {
        let stopping = stop.requested();
        // SAFETY: `fds` is a valid array of pollfds.
        unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, POLL_INTERVAL.as_millis() as i32) };
        if !stopping && fds[0].revents & libc::POLLIN != 0 {
            thread::sleep(GATHER);
        }
        // Each pass empties both queues; after a stop request one more pass takes what was
        // queued before it.
        drain_fanotify(&group, &mut buf, &mut tracker, &mut lookup, &outbox)?;
        let rc = ring.consume_raw();
        if rc < 0 && rc != SINK_PANICKED && rc != -libc::EINTR {
            return Err(SensorError::RingBuffer(libbpf_rs::Error::from_raw_os_error(-rc)));
        }
        if stopping || outbox.borrow().sink_panic.is_some() {
            break;
        }
    }
    drop(ring);
    // Everything is read. Closing a fanotify group waits for the kernel to retire its marks (an
    // SRCU grace period: 1-20 ms measured, the largest part of a run's teardown, and the
    // process cannot exit before it ends): a short-lived child process does the last close.
    fanotify::close_in_child(group.into_fd());
    let mut outbox = outbox.borrow_mut();
    if let Some(panic) = outbox.sink_panic.take() {
        return Err(SensorError::ThreadDied(format!(" in the event sink{panic}")));
    }
    let lost = tracker.overflows + tracker.unresolved() + bpf::lost(&skel) + outbox.undecodable;
    Ok(SensorStats { delivered: outbox.delivered, lost })
}

/// Marks every writable file system the run can see besides the tree's. One that cannot be
/// marked (no file handles, no fsid) is listed with the reason rather than failing the run:
/// audit mode records and allows, and run.start says what it did not watch.
fn mark_elsewhere(
    group: &Group,
    handles: &mut Handles,
    tree: &std::path::Path,
    hidden: &[PathBuf],
) -> Coverage {
    let mut coverage = Coverage::default();
    let mountinfo = match std::fs::read_to_string("/proc/self/mountinfo") {
        Ok(text) => text,
        Err(err) => {
            coverage.unwatched.push((PathBuf::from("/"), format!("reading /proc/self/mountinfo: {err}")));
            return coverage;
        }
    };
    for mount in mounts::writable(&mountinfo, hidden) {
        if mounts::same_filesystem(&mount.point, tree) {
            continue;
        }
        let marked = handles
            .add_filesystem(&mount.point)
            .and_then(|()| group.mark(libc::FAN_MARK_FILESYSTEM, TREE_EVENTS, &mount.point));
        match marked {
            Ok(()) => coverage.watched.push(mount.point),
            Err(err) => coverage.unwatched.push((mount.point, format!("{} ({err})", mount.fstype))),
        }
    }
    coverage
}

fn drain_fanotify(
    group: &Group,
    buf: &mut [u8],
    tracker: &mut Tracker,
    lookup: &mut Live<'_, '_>,
    outbox: &RefCell<Outbox>,
) -> Result<(), SensorError> {
    let mut events = Vec::new();
    loop {
        let n = group.read(buf).map_err(SensorError::FanotifyRead)?;
        if n == 0 {
            return Ok(());
        }
        // A pid's membership holds for one read: the events were all queued before it.
        lookup.last = None;
        for raw in fanotify::decode(&buf[..n]) {
            match raw {
                Ok(raw) => tracker.process(raw, lookup, &mut events),
                Err(_) => outbox.borrow_mut().undecodable += 1,
            }
        }
        let mut outbox = outbox.borrow_mut();
        for event in events.drain(..) {
            if outbox.deliver(event) == SINK_PANICKED {
                return Ok(());
            }
        }
    }
}

/// The system as the tracker sees it: handles resolved for real, pids checked in the BPF set.
struct Live<'skel, 'obj> {
    handles: Handles,
    skel: &'skel bpf::FilesSkel<'obj>,
    /// The last pid looked up and its answer: consecutive events mostly come from one process.
    last: Option<(u32, bool)>,
}

impl Lookup for Live<'_, '_> {
    fn resolve(&mut self, fid: &fanotify::Fid) -> Resolved {
        self.handles.resolve(fid)
    }
    fn remember(&mut self, fid: fanotify::Fid, path: String) {
        self.handles.remember(fid, path);
    }
    fn forget_all(&mut self) {
        self.handles.forget_all();
    }
    fn is_member(&mut self, pid: u32) -> bool {
        if let Some((last, member)) = self.last
            && last == pid
        {
            return member;
        }
        let member = bpf::is_member(self.skel, pid);
        self.last = Some((pid, member));
        member
    }
}

/// What the ring-buffer callback returns when the sink panicked: stops the consume.
const SINK_PANICKED: i32 = -libc::ECANCELED;

/// Hands events to the sink, counting, and keeps a panic in the sink from unwinding into C.
struct Outbox {
    sink: Sink,
    delivered: u64,
    undecodable: u64,
    sink_panic: Option<String>,
}

impl Outbox {
    fn new(sink: Sink) -> Outbox {
        Outbox { sink, delivered: 0, undecodable: 0, sink_panic: None }
    }

    fn deliver_record(&mut self, record: &[u8]) -> i32 {
        match denied::decode(record) {
            Ok(event) => self.deliver(event),
            Err(_) => {
                self.undecodable += 1;
                0
            }
        }
    }

    fn deliver(&mut self, event: Event) -> i32 {
        if self.sink_panic.is_some() {
            return SINK_PANICKED;
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
