//! Group commit: a journal written by a thread of its own, so that the threads that observe
//! events only queue them.
//!
//! The writer takes everything queued, seals it into the chain in queue order and writes it with
//! one `write(2)`; then it looks again. Woken from idle it lets 1 ms of events gather; under load
//! it never waits: the events that arrive while one batch is being written make up the next. A
//! burst of 100,000 file events thus costs a few hundred writes instead of 100,000, and a quiet
//! run writes each event within a few milliseconds.
//!
//! What a crash can lose: the journal file holds every batch written before it. If the
//! supervisor is killed (SIGKILL, OOM), the events still queued or being sealed — at most the
//! batch in flight plus what arrived while it was sealed, in practice a few milliseconds of
//! events — are not in it, and the journal ends without `run.end`, so `ringfence verify` reports
//! it as cut short. A line is never half in the chain: a batch's lines are sealed before the write
//! and the chain moves on only once the write returned. Lines reach the page cache at once and
//! stable storage at [`GroupWriter::finish`] (`fsync`), as with [`crate::JournalWriter`].
//!
//! What a full disk (or an I/O error) costs: the events that could not be written, counted, and
//! nothing else. The writer keeps [`crate::RESERVE`] bytes of the file allocated ahead of its end
//! (see `reserve.rs`); when no more can be allocated (or a write fails) it writes a
//! `journal.write_error` record into that reserve, drops every later event but `run.end` (counting
//! them in a second such record just before it), and a failed write is cut back off the file, so
//! the journal never ends in half a line of its own making.

use std::fs::File;
use std::io::Write;
use std::mem;
use std::os::fd::BorrowedFd;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime};

use crate::reserve::{Reserve, Room};
use crate::writer::{Chain, create, create_at, write_error};
use crate::{CutShort, Event, JournalError, JournalWriteError, Record, Verified};

/// Where a writer made with [`GroupWriter::create_with`] sends each record it wrote.
pub type EachRecord = Box<dyn FnMut(&Record) + Send>;

/// Events queued before [`GroupWriter::append`] waits for the writer: bounds memory when the disk
/// is slower than the sensors, which then fall back on their own (counted) queues.
const QUEUE_MAX: usize = 64 * 1024;
/// How long the writer, woken from idle, lets a burst gather before it takes the queue. Without
/// it a burst of events (a sensor delivering what one read gave it) wakes the writer on the
/// first and then contends with the appender for the lock on every one after.
const GATHER: Duration = Duration::from_millis(1);

/// A journal written from a thread of its own; see the module documentation.
pub struct GroupWriter {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<Outcome>>>,
}

/// Why [`GroupWriter::finish`] could not account for every event in the journal itself.
#[derive(Debug, thiserror::Error)]
pub enum WriteFailed {
    /// Not even the `journal.write_error` record could be written: the journal ends at the last
    /// line that was.
    #[error("{failed} events could not be written to the journal; first error: {first}")]
    Events { failed: u64, first: JournalError },
    #[error("the journal could not be flushed to disk: {0}")]
    Sync(JournalError),
    #[error("the journal's writer thread panicked; the journal may end early")]
    Panicked,
}

/// Events not written, and the error that started it.
struct Lost {
    failed: u64,
    first: JournalError,
}

/// The journal could not take more: what the records of it say.
struct Failure {
    /// The operating system's words, for the `journal.write_error` record.
    error: String,
    /// Events dropped since the last `journal.write_error` record.
    pending: u64,
    /// Events dropped in all.
    total: u64,
}

struct Shared {
    queue: Mutex<Queue>,
    /// The writer waits here for events.
    ready: Condvar,
    /// Appenders wait here for room, and [`GroupWriter::flush`] for the writer to go idle.
    room: Condvar,
}

#[derive(Default)]
struct Queue {
    events: Vec<(SystemTime, Event)>,
    /// The writer is waiting on `ready`: the next append must wake it.
    idle: bool,
    /// Callers waiting in [`GroupWriter::flush`]: the writer does not let events gather then.
    flushes: usize,
    closed: bool,
    /// Set once the journal stopped taking events: the error, for [`GroupWriter::write_error`].
    write_error: Option<String>,
}

struct Outcome {
    records: Vec<Record>,
    head: String,
    len: u64,
    cut_short: Option<CutShort>,
    failed: Option<WriteFailed>,
}

impl GroupWriter {
    /// Creates a new journal (never overwriting a file) and starts its writer thread; the records
    /// written are kept and returned by [`GroupWriter::finish`].
    pub fn create(path: &Path) -> Result<GroupWriter, JournalError> {
        GroupWriter::start(create(path)?, path.display().to_string(), None)
    }

    /// Like [`GroupWriter::create`], but each record, once written, goes to `each` (on the
    /// writer's thread, in journal order) instead of being kept: [`GroupWriter::finish`] then
    /// returns no records. For building what is needed from them while the run goes on.
    pub fn create_with(path: &Path, each: EachRecord) -> Result<GroupWriter, JournalError> {
        GroupWriter::start(create(path)?, path.display().to_string(), Some(each))
    }

    /// Like [`GroupWriter::create_with`], creating `name` in the directory `dir` refers to (see
    /// [`crate::create_at`]): what ringfence uses, so that renaming the run directory's path
    /// cannot redirect the journal.
    pub fn create_in(dir: BorrowedFd<'_>, name: &str, each: EachRecord) -> Result<GroupWriter, JournalError> {
        GroupWriter::start(create_at(dir, name)?, name.to_string(), Some(each))
    }

    fn start(file: File, path: String, each: Option<EachRecord>) -> Result<GroupWriter, JournalError> {
        let reserve =
            Reserve::new(&file).map_err(|source| JournalError::Reserve { path: path.clone(), source })?;
        let shared =
            Arc::new(Shared { queue: Mutex::default(), ready: Condvar::new(), room: Condvar::new() });
        let writer = Writer { file, path: path.clone(), shared: Arc::clone(&shared), each, reserve, eof: 0 };
        let thread = thread::Builder::new()
            .name("journal".into())
            .spawn(move || writer.run())
            .map_err(|source| JournalError::Create { path, source })?;
        Ok(GroupWriter { shared, thread: Mutex::new(Some(thread)) })
    }

    /// Queues one event, timestamped now. Events are journaled in the order of their appends;
    /// an event appended after [`GroupWriter::finish`] is not.
    pub fn append(&self, event: Event) {
        let mut queue = lock(&self.shared.queue);
        while queue.events.len() >= QUEUE_MAX && !queue.closed {
            queue = self.shared.room.wait(queue).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        // Timestamped under the lock, so times never run backwards along the chain.
        queue.events.push((SystemTime::now(), event));
        if mem::take(&mut queue.idle) {
            self.shared.ready.notify_one();
        }
    }

    /// Set once the journal stopped taking events (a full file system, an I/O error): the error.
    pub fn write_error(&self) -> Option<String> {
        lock(&self.shared.queue).write_error.clone()
    }

    /// Waits, at most `limit`, until every event appended before the call is written (and,
    /// with [`GroupWriter::create_with`], handed over); false if that took longer.
    pub fn flush(&self, limit: Duration) -> bool {
        let deadline = std::time::Instant::now() + limit;
        let mut queue = lock(&self.shared.queue);
        let done = |q: &Queue| q.closed || (q.events.is_empty() && q.idle);
        queue.flushes += 1;
        // A writer letting a burst gather takes the queue now instead.
        self.shared.ready.notify_all();
        let mut flushed = true;
        while !done(&queue) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                flushed = false;
                break;
            }
            queue = self.shared.room.wait_timeout(queue, left).map_or_else(|p| p.into_inner().0, |(q, _)| q);
        }
        queue.flushes -= 1;
        flushed
    }

    /// Writes what is queued, syncs the file and returns what was written: the records exactly
    /// as sealed into the file and the chain's head, so reports need not read it back. Only the
    /// first call has records to return. A journal cut short by a write error whose records of
    /// that are in the file is returned with `cut_short` set, not as an error.
    pub fn finish(&self) -> Result<Verified, WriteFailed> {
        let outcome = self.close().ok_or(WriteFailed::Panicked)?;
        if let Some(failed) = outcome.failed {
            return Err(failed);
        }
        let complete = matches!(outcome.records.last().map(|r| &r.event), Some(Event::RunEnd(_)));
        Ok(Verified {
            records: outcome.records,
            head: outcome.head,
            len: outcome.len,
            complete,
            cut_short: outcome.cut_short,
        })
    }

    fn close(&self) -> Option<Outcome> {
        lock(&self.shared.queue).closed = true;
        self.shared.ready.notify_one();
        self.shared.room.notify_all();
        let thread = self.thread.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take()?;
        thread.join().ok()
    }
}

impl Drop for GroupWriter {
    /// A writer dropped without [`GroupWriter::finish`] still writes what was queued.
    fn drop(&mut self) {
        self.close();
    }
}

fn lock(queue: &Mutex<Queue>) -> MutexGuard<'_, Queue> {
    // The queue is a plain list; a panic elsewhere cannot leave it half-changed.
    queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

struct Writer {
    file: File,
    path: String,
    shared: Arc<Shared>,
    /// Where written records go instead of being kept, when set.
    each: Option<EachRecord>,
    reserve: Reserve,
    /// The file's length: where the next line goes.
    eof: u64,
}

/// Buffers kept between batches: a fresh one each time cost page faults on every batch (its
/// records are a few hundred bytes each).
#[derive(Default)]
struct Buffers {
    lines: Vec<u8>,
    /// Where each sealed line ends in `lines`.
    ends: Vec<usize>,
    sealed: Vec<Record>,
}

impl Writer {
    fn run(mut self) -> Outcome {
        let mut chain = Chain::default();
        let mut records = Vec::new();
        let mut buffers = Buffers::default();
        let mut batch = Vec::new();
        let mut failure: Option<Failure> = None;
        let mut dead: Option<Lost> = None;
        while self.next_batch(&mut batch) {
            if let Some(dead) = &mut dead {
                // Not even the write-error record could be written: the journal ends there, and
                // every later event is counted as not written.
                dead.failed += batch.len() as u64;
                batch.clear();
                continue;
            }
            if let Some(failure) = &mut failure {
                // Only run.end still goes in, after a record of what was dropped before it.
                let mut closing = Vec::new();
                for (at, event) in batch.drain(..) {
                    if matches!(event, Event::RunEnd(_)) {
                        closing.push((at, event));
                    } else {
                        failure.pending += 1;
                        failure.total += 1;
                    }
                }
                if !closing.is_empty() && failure.pending > 0 {
                    closing.insert(0, (SystemTime::now(), failure.record()));
                }
                if !closing.is_empty() {
                    dead = self.write_closing(&mut chain, &mut closing, &mut buffers, &mut records);
                }
                continue;
            }
            if let Err((error, lost)) = self.write_batch(&mut chain, &mut batch, &mut buffers, &mut records) {
                lock(&self.shared.queue).write_error = Some(error.clone());
                let mut started = Failure { error, pending: lost, total: lost };
                let mut record = vec![(SystemTime::now(), started.record())];
                dead = self.write_closing(&mut chain, &mut record, &mut buffers, &mut records);
                failure = Some(started);
            }
        }
        if dead.is_none()
            && let Some(failure) = &mut failure
            && failure.pending > 0
        {
            let mut record = vec![(SystemTime::now(), failure.record())];
            dead = self.write_closing(&mut chain, &mut record, &mut buffers, &mut records);
        }
        self.reserve.release(&self.file, self.eof);
        let synced = self.file.sync_all();
        let failed = match (dead, synced) {
            (Some(Lost { failed, first }), _) => Some(WriteFailed::Events { failed, first }),
            (None, Err(source)) if failure.is_none() => {
                Some(WriteFailed::Sync(write_error(Path::new(&self.path), source)))
            }
            _ => None,
        };
        let cut_short = failure.map(|f| CutShort::WriteError { error: f.error, lost: f.total });
        Outcome { records, head: chain.prev, len: chain.seq, cut_short, failed }
    }

    /// Seals `batch` and writes as much of it as fits before the reserve with one `write(2)`;
    /// the records written join `records` (or go to `each`) and the chain moves on. On a failure
    /// the chain stays at the last line written, and the error and the number of events not
    /// written are returned.
    fn write_batch(
        &mut self,
        chain: &mut Chain,
        batch: &mut Vec<(SystemTime, Event)>,
        buffers: &mut Buffers,
        records: &mut Vec<Record>,
    ) -> Result<(), (String, u64)> {
        let total = batch.len() as u64;
        let (start, encode_error) = seal(chain, batch, buffers);
        let mut keep = buffers.ends.len();
        let mut failed = encode_error;
        match self.reserve.room(&self.file, self.eof, buffers.lines.len() as u64) {
            Ok(Room::Fits) => {}
            Ok(Room::Full { fits, error }) => {
                keep = buffers.ends.iter().take_while(|&&end| end as u64 <= fits).count();
                failed = Some(error.to_string());
            }
            Err(error) => {
                keep = 0;
                failed = Some(error.to_string());
            }
        }
        if let Err(error) = self.write_lines(chain, &start, keep, buffers, records) {
            return Err((error.to_string(), total));
        }
        match failed {
            Some(error) => Err((error, total - keep as u64)),
            None => Ok(()),
        }
    }

    /// Writes the closing records (a write-error record, run.end) into the reserve: no room
    /// check, the reserve is there for them. A failure here ends the journal for good.
    fn write_closing(
        &mut self,
        chain: &mut Chain,
        closing: &mut Vec<(SystemTime, Event)>,
        buffers: &mut Buffers,
        records: &mut Vec<Record>,
    ) -> Option<Lost> {
        let count = closing.len() as u64;
        let (start, encode_error) = seal(chain, closing, buffers);
        let keep = buffers.ends.len();
        if let Err(source) = self.write_lines(chain, &start, keep, buffers, records) {
            return Some(Lost { failed: count, first: write_error(Path::new(&self.path), source) });
        }
        encode_error.map(|why| Lost {
            failed: count - keep as u64,
            first: JournalError::Encode(serde_json::Error::io(std::io::Error::other(why))),
        })
    }

    /// Writes the first `keep` sealed lines and hands their records on; on failure the file is
    /// cut back to where it was and the chain to `start`.
    fn write_lines(
        &mut self,
        chain: &mut Chain,
        start: &Chain,
        keep: usize,
        buffers: &mut Buffers,
        records: &mut Vec<Record>,
    ) -> std::io::Result<()> {
        let bytes = if keep == 0 { 0 } else { buffers.ends[keep - 1] };
        if keep < buffers.sealed.len() {
            // The chain after `keep` lines: the hash of line keep-1 is line keep's `prev`.
            chain.seq = start.seq + keep as u64;
            chain.prev = match keep {
                0 => start.prev.clone(),
                _ => buffers.sealed[keep].prev.clone(),
            };
            buffers.sealed.truncate(keep);
        }
        if let Err(error) = self.file.write_all(&buffers.lines[..bytes]) {
            // Whatever part of the batch reached the file is cut off again: the journal ends on
            // a whole line, the last one in the chain.
            let _ = self.file.set_len(self.eof);
            *chain = start.clone();
            buffers.sealed.clear();
            return Err(error);
        }
        self.eof += bytes as u64;
        match &mut self.each {
            Some(each) => buffers.sealed.drain(..).for_each(|record| each(&record)),
            None => records.append(&mut buffers.sealed),
        }
        Ok(())
    }

    /// Waits for events and swaps them into `batch`; false once closed and drained.
    fn next_batch(&self, batch: &mut Vec<(SystemTime, Event)>) -> bool {
        let mut queue = lock(&self.shared.queue);
        let mut waited = false;
        while queue.events.is_empty() {
            if queue.closed {
                return false;
            }
            queue.idle = true;
            waited = true;
            // Everything appended so far is written: a flush may be waiting for that.
            self.shared.room.notify_all();
            queue = self.shared.ready.wait(queue).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        if waited {
            // Let a burst gather, unless someone waits for the queue to be written (a flush, the
            // close).
            queue = self
                .shared
                .ready
                .wait_timeout_while(queue, GATHER, |q| q.flushes == 0 && !q.closed)
                .map_or_else(|p| p.into_inner().0, |(q, _)| q);
        }
        queue.idle = false;
        let full = queue.events.len() >= QUEUE_MAX;
        mem::swap(&mut queue.events, batch);
        drop(queue);
        if full {
            self.shared.room.notify_all();
        }
        true
    }
}

impl Failure {
    /// The `journal.write_error` record for what was dropped since the last one.
    fn record(&mut self) -> Event {
        let lost = mem::take(&mut self.pending);
        Event::JournalWriteError(JournalWriteError { error: self.error.clone(), lost })
    }
}

/// Seals `batch` (emptying it) into `buffers`, each line needing the hash of the one before it,
/// written or not yet; returns the chain as it was, and why sealing stopped early, if it did.
fn seal(
    chain: &mut Chain,
    batch: &mut Vec<(SystemTime, Event)>,
    buffers: &mut Buffers,
) -> (Chain, Option<String>) {
    let start = chain.clone();
    buffers.lines.clear();
    buffers.ends.clear();
    buffers.sealed.clear();
    for (at, event) in batch.drain(..) {
        let from = buffers.lines.len();
        match chain.seal(at, &event, &mut buffers.lines) {
            Ok(line) => {
                buffers.sealed.push(chain.advance(line, event));
                buffers.ends.push(buffers.lines.len());
            }
            Err(error) => {
                buffers.lines.truncate(from);
                return (start, Some(format!("an event could not be encoded: {error}")));
            }
        }
    }
    (start, None)
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::{ProcessExit, RunEnd, RunStatus};

    #[test]
    fn flush_returns_once_everything_appended_was_handed_over() {
        let dir = tempfile::tempdir().unwrap();
        let seen = Arc::new(Mutex::new(0usize));
        let each = {
            let seen = Arc::clone(&seen);
            Box::new(move |_: &Record| *seen.lock().unwrap() += 1) as EachRecord
        };
        let w = GroupWriter::create_with(&dir.path().join("events.jsonl"), each).unwrap();
        for pid in 0..1000 {
            w.append(Event::ProcessExit(ProcessExit { pid, code: Some(0), signal: None }));
        }
        assert!(w.flush(Duration::from_secs(10)));
        assert_eq!(*seen.lock().unwrap(), 1000);
        w.finish().unwrap();
    }

    #[test]
    fn a_writer_with_a_consumer_hands_over_each_record_as_written_and_keeps_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let each = {
            let seen = Arc::clone(&seen);
            Box::new(move |r: &Record| seen.lock().unwrap().push(r.clone()))
        };
        let w = GroupWriter::create_with(&path, each).unwrap();
        (0..1_000).for_each(|i| w.append(exit(i)));
        let written = w.finish().unwrap();
        assert!(written.records.is_empty());
        let read = crate::read(&path).unwrap().unwrap();
        assert_eq!(*seen.lock().unwrap(), read.records, "the same records, in journal order");
        assert_eq!(written.head, read.head);
    }

    fn exit(pid: u32) -> Event {
        Event::ProcessExit(ProcessExit { pid, code: Some(0), signal: None })
    }

    #[test]
    fn what_finish_returns_is_what_reading_the_file_gives() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let w = Arc::new(GroupWriter::create(&path).unwrap());
        let threads: Vec<_> = (0..4u32)
            .map(|t| {
                let w = Arc::clone(&w);
                thread::spawn(move || (0..2_000).for_each(|i| w.append(exit(t * 10_000 + i))))
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        w.append(Event::RunEnd(RunEnd {
            status: RunStatus::Completed,
            cmd_code: Some(0),
            cmd_signal: None,
            exit_code: 0,
            duration_ms: 1,
            violations: 0,
            lost_events: 0,
            reason: None,
        }));
        let written = w.finish().unwrap();
        let read = crate::read(&path).unwrap().unwrap();
        assert_eq!(written.records, read.records);
        assert_eq!(written.head, read.head);
        assert!(written.complete && read.complete);
        assert_eq!(read.records.len(), 8_001);
        // Each thread's events keep their order.
        for t in 0..4u32 {
            let pids: Vec<u32> = read
                .records
                .iter()
                .filter_map(|r| match &r.event {
                    Event::ProcessExit(x) if x.pid / 10_000 == t => Some(x.pid),
                    _ => None,
                })
                .collect();
            assert!(pids.windows(2).all(|w| w[0] < w[1]));
        }
    }

    #[test]
    fn an_event_is_written_without_waiting_for_more_or_for_finish() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let w = GroupWriter::create(&path).unwrap();
        for expected in 1..=3 {
            w.append(exit(expected));
            let deadline = Instant::now() + Duration::from_secs(10);
            while std::fs::read_to_string(&path).unwrap().lines().count() < expected as usize {
                assert!(Instant::now() < deadline, "event {expected} was not written");
                thread::sleep(Duration::from_millis(1));
            }
        }
        let read = crate::read(&path).unwrap().unwrap();
        assert_eq!(read.records.len(), 3);
        assert!(!read.complete);
        assert_eq!(w.finish().unwrap().records, read.records);
    }

    #[test]
    fn a_dropped_writer_still_writes_what_was_queued() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let w = GroupWriter::create(&path).unwrap();
        (0..100).for_each(|i| w.append(exit(i)));
        drop(w);
        assert_eq!(crate::read(&path).unwrap().unwrap().records.len(), 100);
    }

    #[test]
    fn create_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        std::fs::write(&path, "").unwrap();
        assert!(GroupWriter::create(&path).is_err());
    }
}
