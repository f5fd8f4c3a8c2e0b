//! The run's single journal, shared by the sensor threads, the seccomp thread and the
//! supervisor. Appending only queues the event; the journal's own thread seals and writes what
//! is queued in batches (`journal::GroupWriter`). A write that fails is counted and makes the run
//! fail: events are never dropped without a trace.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use journal::{Event, GroupWriter, JournalError, Verified};

pub struct Recorder {
    writer: GroupWriter,
    violations: AtomicU64,
    lost: AtomicU64,
}

impl Recorder {
    pub fn create(path: &Path) -> Result<Recorder, JournalError> {
        Ok(Recorder {
            writer: GroupWriter::create(path)?,
            violations: AtomicU64::new(0),
            lost: AtomicU64::new(0),
        })
    }

    pub fn append(&self, event: Event) {
        if event.is_violation() {
            self.violations.fetch_add(1, Ordering::Relaxed);
        }
        self.writer.append(event);
    }

    /// Journals events a sensor could not deliver, so a report says so instead of looking complete.
    pub fn record_lost(&self, sensor: &str, count: u64) {
        if count > 0 {
            self.lost.fetch_add(count, Ordering::Relaxed);
            self.append(Event::SensorLost(journal::SensorLost { sensor: sensor.into(), count }));
        }
    }

    pub fn lost(&self) -> u64 {
        self.lost.load(Ordering::Relaxed)
    }

    pub fn violations(&self) -> u64 {
        self.violations.load(Ordering::Relaxed)
    }

    /// Writes what is still queued and flushes to disk; returns the records as written (what
    /// reading the journal back would give), or an error naming how many events could not be
    /// written. Called once, after the last event.
    pub fn finish(&self) -> Result<Verified, String> {
        self.writer.finish().map_err(|e| e.to_string())
    }
}
