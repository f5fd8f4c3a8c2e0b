//! The run's single journal, shared by the sensor threads, the seccomp thread and the
//! supervisor. Appending only queues the event; the journal's own thread seals and writes what
//! is queued in batches (`journal::GroupWriter`), and hands each record it wrote to the report's
//! builder. A write that fails is counted and makes the run fail: events are never dropped
//! without a trace.

use std::os::fd::BorrowedFd;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use journal::{Event, GroupWriter, JournalError};
use report::{ReportBuilder, RunReport};

pub struct Recorder {
    writer: GroupWriter,
    /// The report, built from each record as the journal's writer writes it (so the run's
    /// records need not be kept, and the report is ready when run.end is written). `None` once
    /// building it panicked: the reports are then built from the journal read back.
    report: Arc<Mutex<Option<ReportBuilder>>>,
    violations: AtomicU64,
    lost: AtomicU64,
    /// A job's recorder: the processes ringfence itself starts (the `nft` tool, where libnftables cannot be opened) are
    /// not the job's, and are left out. `None` for a run, whose sensors never see ringfence.
    own: Option<Mutex<std::collections::HashSet<u32>>>,
    /// A job's protected paths held so far: a write to a protected path is a violation only
    /// once it is held (before, it is the checkout's). `None` for a run.
    held: Option<super::hold::Held>,
    /// A job's checkout watch (see `overwrite`).
    source: Option<Mutex<super::overwrite::SourceWatch>>,
}

impl Recorder {
    /// Creates the journal `name` in the run directory `dir`; `workspace`: the run's working
    /// directory, as run.start will record it.
    pub fn create(dir: BorrowedFd<'_>, name: &str, workspace: &Path) -> Result<Recorder, JournalError> {
        let report = Arc::new(Mutex::new(Some(ReportBuilder::new(&workspace.display().to_string()))));
        let builder = Arc::clone(&report);
        let writer = GroupWriter::create_in(
            dir,
            name,
            Box::new(move |record| {
                let mut builder = builder.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if let Some(b) = builder.as_mut()
                    && panic::catch_unwind(AssertUnwindSafe(|| b.observe(record))).is_err()
                {
                    *builder = None;
                }
            }),
        )?;
        Ok(Recorder {
            writer,
            report,
            violations: AtomicU64::new(0),
            lost: AtomicU64::new(0),
            own: None,
            held: None,
            source: None,
        })
    }

    /// Leaves ringfence's own processes (this one and its children) out of the journal.
    pub fn ignore_own_processes(&mut self) {
        self.own = Some(Mutex::new(std::collections::HashSet::from([std::process::id()])));
    }

    /// Judges protected-path writes against the job's holds (see `hold`).
    pub fn judge_protected_by(&mut self, held: super::hold::Held) {
        self.held = Some(held);
        self.source = Some(Mutex::default());
    }

    fn is_own(&self, event: &Event) -> bool {
        let Some(own) = &self.own else { return false };
        let Ok(mut own) = own.lock() else { return false };
        match event {
            Event::ProcessExec(e) => own.contains(&e.pid) || (own.contains(&e.ppid) && own.insert(e.pid)),
            Event::ProcessFork(e) => own.contains(&e.pid) || (own.contains(&e.ppid) && own.insert(e.pid)),
            Event::ProcessExit(e) => e.pid != std::process::id() && own.remove(&e.pid),
            _ => false,
        }
    }

    pub fn append(&self, mut event: Event) {
        if self.is_own(&event) {
            return;
        }
        if let Some(source) = &self.source {
            source.lock().unwrap_or_else(|p| p.into_inner()).observe(&mut event);
        }
        if let (Some(held), Event::FileWrite(w)) = (&self.held, &mut event)
            && w.violation
            && !super::hold::touches(held, &w.path, w.to.as_deref())
        {
            w.violation = false;
        }
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

    /// Set once the journal stopped taking events (a full disk): the error.
    pub fn write_error(&self) -> Option<String> {
        self.writer.write_error()
    }

    pub fn lost(&self) -> u64 {
        self.lost.load(Ordering::Relaxed)
    }

    pub fn violations(&self) -> u64 {
        self.violations.load(Ordering::Relaxed)
    }

    /// The changed paths the report will list, once everything appended so far has reached it
    /// (waiting at most a few seconds for the journal's writer); empty if the report's builder
    /// failed.
    pub fn listed_paths(&self) -> Vec<String> {
        self.writer.flush(std::time::Duration::from_secs(5));
        let builder = self.report.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        builder.as_ref().map(ReportBuilder::listed_paths).unwrap_or_default()
    }

    /// Writes what is still queued and flushes to disk; returns what was written (head, length,
    /// whether a write error cut it short) and the report built from the records as written
    /// (`None` if building it failed: read the journal back), or an error naming how many events
    /// could not be written. Called once, after the last event.
    pub fn finish(&self) -> Result<(Written, Option<RunReport>), String> {
        let written = self.writer.finish().map_err(|e| e.to_string())?;
        let builder = self.report.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        let report = builder.map(|b| b.finish(written.head.clone()));
        Ok((Written { head: written.head, len: written.len, cut_short: written.cut_short }, report))
    }
}

/// What the journal holds once closed.
pub struct Written {
    pub head: String,
    pub len: u64,
    pub cut_short: Option<journal::CutShort>,
}
