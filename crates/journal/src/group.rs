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

use std::fs::File;
use std::io::Write;
use std::mem;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime};

use crate::writer::{Chain, create, write_error};
use crate::{Event, JournalError, Record, Verified};

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

/// Why [`GroupWriter::finish`] could not account for every event.
#[derive(Debug, thiserror::Error)]
pub enum WriteFailed {
    /// The journal ends at the first line that could not be written or encoded.
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
    closed: bool,
}

struct Outcome {
    records: Vec<Record>,
    head: String,
    failed: Option<WriteFailed>,
}

impl GroupWriter {
    /// Creates a new journal (never overwriting a file) and starts its writer thread; the records
    /// written are kept and returned by [`GroupWriter::finish`].
    pub fn create(path: &Path) -> Result<GroupWriter, JournalError> {
        GroupWriter::start(path, None)
    }

    /// Like [`GroupWriter::create`], but each record, once written, goes to `each` (on the
    /// writer's thread, in journal order) instead of being kept: [`GroupWriter::finish`] then
    /// returns no records. For building what is needed from them while the run goes on.
    pub fn create_with(path: &Path, each: EachRecord) -> Result<GroupWriter, JournalError> {
        GroupWriter::start(path, Some(each))
    }

    fn start(path: &Path, each: Option<EachRecord>) -> Result<GroupWriter, JournalError> {
        let file = create(path)?;
        let shared =
            Arc::new(Shared { queue: Mutex::default(), ready: Condvar::new(), room: Condvar::new() });
        let writer = Writer { file, path: path.to_path_buf(), shared: Arc::clone(&shared), each };
        let thread = thread::Builder::new()
            .name("journal".into())
            .spawn(move || writer.run())
            .map_err(|source| JournalError::Create { path: path.display().to_string(), source })?;
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

    /// Waits, at most `limit`, until every event appended before the call is written (and,
    /// with [`GroupWriter::create_with`], handed over); false if that took longer.
    pub fn flush(&self, limit: Duration) -> bool {
        let deadline = std::time::Instant::now() + limit;
        let mut queue = lock(&self.shared.queue);
        let done = |q: &Queue| q.closed || (q.events.is_empty() && q.idle);
        while !done(&queue) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            queue = self.shared.room.wait_timeout(queue, left).map_or_else(|p| p.into_inner().0, |(q, _)| q);
        }
        true
    }

    /// Writes what is queued, syncs the file and returns what was written: the records exactly
    /// as sealed into the file and the chain's head, so reports need not read it back. Only the
    /// first call has records to return.
    pub fn finish(&self) -> Result<Verified, WriteFailed> {
        let outcome = self.close().ok_or(WriteFailed::Panicked)?;
        if let Some(failed) = outcome.failed {
            return Err(failed);
        }
        let complete = matches!(outcome.records.last().map(|r| &r.event), Some(Event::RunEnd(_)));
        Ok(Verified { records: outcome.records, head: outcome.head, complete })
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
    path: PathBuf,
    shared: Arc<Shared>,
    /// Where written records go instead of being kept, when set.
    each: Option<EachRecord>,
}

impl Writer {
    fn run(mut self) -> Outcome {
        let mut chain = Chain::default();
        let mut records = Vec::new();
        let mut lost: Option<Lost> = None;
        let mut batch = Vec::new();
        let mut lines = Vec::new();
        // Kept between batches: a fresh one each time cost page faults on every batch (its
        // records are a few hundred bytes each).
        let mut sealed = Vec::new();
        while self.next_batch(&mut batch) {
            if let Some(lost) = &mut lost {
                // The chain cannot go on past a line that is not in the file: the journal ends
                // there, cut short, and every later event is counted as not written.
                lost.failed += batch.len() as u64;
                batch.clear();
                continue;
            }
            lost = self.write_batch(&mut chain, &mut batch, &mut lines, &mut sealed, &mut records);
        }
        let failed = match (lost, self.file.sync_all()) {
            (Some(Lost { failed, first }), _) => Some(WriteFailed::Events { failed, first }),
            (None, Err(source)) => Some(WriteFailed::Sync(write_error(&self.path, source))),
            (None, Ok(())) => None,
        };
        Outcome { records, head: chain.prev, failed }
    }

    /// Seals `batch` into `lines` (and its records into `sealed`, emptied first) and writes them
    /// with one `write(2)`; the records written join `records` and the chain moves on. On
    /// failure the chain is left at the last line written.
    fn write_batch(
        &mut self,
        chain: &mut Chain,
        batch: &mut Vec<(SystemTime, Event)>,
        lines: &mut Vec<u8>,
        sealed: &mut Vec<Record>,
        records: &mut Vec<Record>,
    ) -> Option<Lost> {
        let written = chain.clone();
        sealed.clear();
        let mut lost = None;
        lines.clear();
        let mut events = batch.drain(..);
        for (at, event) in events.by_ref() {
            let start = lines.len();
            // Each line needs the hash of the one before it, written or not yet.
            match chain.seal(at, &event, lines) {
                Ok(line) => sealed.push(chain.advance(line, event)),
                Err(first) => {
                    lines.truncate(start);
                    lost = Some(Lost { failed: 1, first });
                    break;
                }
            }
        }
        if let Some(lost) = &mut lost {
            lost.failed += events.len() as u64;
        }
        drop(events);
        if let Err(source) = self.file.write_all(lines) {
            *chain = written;
            let failed = sealed.len() as u64 + lost.as_ref().map_or(0, |l| l.failed);
            return Some(Lost { failed, first: write_error(&self.path, source) });
        }
        match &mut self.each {
            Some(each) => sealed.drain(..).for_each(|record| each(&record)),
            None => records.append(sealed),
        }
        lost
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
        if waited && !queue.closed {
            drop(queue);
            thread::sleep(GATHER);
            queue = lock(&self.shared.queue);
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
