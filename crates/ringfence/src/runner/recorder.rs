//! The run's single journal writer, shared by the sensor thread, the seccomp thread and the
//! supervisor. A write that fails is counted and makes the run fail: events are never dropped
//! without a trace.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use journal::{Event, JournalError, JournalWriter};

pub struct Recorder {
    writer: Mutex<JournalWriter>,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
    violations: AtomicU64,
    lost: AtomicU64,
}

impl Recorder {
    pub fn create(path: &Path) -> Result<Recorder, JournalError> {
        Ok(Recorder {
            writer: Mutex::new(JournalWriter::create(path)?),
            failed: AtomicU64::new(0),
            first_error: Mutex::new(None),
            violations: AtomicU64::new(0),
            lost: AtomicU64::new(0),
        })
    }

    pub fn append(&self, event: Event) {
        if event.is_violation() {
            self.violations.fetch_add(1, Ordering::Relaxed);
        }
        let result = match self.writer.lock() {
            Ok(mut writer) => writer.append(event).map(|_| ()).map_err(|e| e.to_string()),
            Err(_) => Err("the journal writer panicked".to_string()),
        };
        if let Err(error) = result {
            self.failed.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut first) = self.first_error.lock() {
                first.get_or_insert(error);
            }
        }
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

    /// Flushes to disk; returns an error naming how many events could not be written.
    pub fn finish(&self) -> Result<(), String> {
        if let Ok(mut writer) = self.writer.lock() {
            writer.sync().map_err(|e| e.to_string())?;
        }
        match self.failed.load(Ordering::Relaxed) {
            0 => Ok(()),
            n => {
                let first = self.first_error.lock().ok().and_then(|f| f.clone()).unwrap_or_default();
                Err(format!("{n} events could not be written to the journal; first error: {first}"))
            }
        }
    }
}
