//! The recording pipeline every fence shares: sensors → journal → reports. `ringfence run` and
//! `ringfence job` open a session, build their own fence around it (a fresh sandbox for one
//! command, or the job's own namespace), and close it the same way: run.end, the anchored chain
//! head, the reports.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use journal::{Event, PolicyViolation, RunEnd, RunStatus, Verdict};
use sandbox::Outcome;

use super::recorder::{self, Recorder};
use super::{Finished, Plan, exit, hooklog, outputs};

/// An open journal, anchored before anything it records could happen.
pub struct Session {
    pub recorder: Arc<Recorder>,
    anchor: journal::anchor::Anchor,
    started: Instant,
}

impl Session {
    /// `job`: a job's holds on protected paths; its sensors' scope holds ringfence itself, whose
    /// own processes are left out.
    pub fn open(plan: &Plan, job: Option<super::hold::Held>) -> anyhow::Result<Session> {
        let mut recorder = Recorder::create(plan.run_dir.fd(), outputs::JOURNAL, &plan.cwd)?;
        if let Some(held) = job {
            recorder.ignore_own_processes();
            recorder.judge_protected_by(held);
        }
        let recorder = Arc::new(recorder);
        outputs::reserve(plan)?;
        // Before anything is fenced: a journal put in this directory's place later is checked
        // against it.
        let anchor = journal::anchor::Anchor {
            run_id: plan.run_id.clone(),
            run_dir: plan.out_dir.display().to_string(),
            moved_to: None,
            closed: false,
            len: 0,
            head: journal::GENESIS.into(),
        };
        journal::anchor::store(&anchor).context("anchoring the run's journal")?;
        Ok(Session { recorder, anchor, started: Instant::now() })
    }

    /// Ends the journal with run.end, anchors its head and writes the reports. `stop_signal`:
    /// the signal that stopped ringfence, 0 for none.
    pub fn close(self, plan: &Plan, outcome: Outcome, stop_signal: i32) -> Finished {
        let Session { recorder, mut anchor, started } = self;
        let moved_to = plan.run_dir.moved();
        if let Some(now) = &moved_to {
            recorder.append(Event::PolicyViolation(PolicyViolation {
                pid: None,
                rule: "run_dir.moved".into(),
                what: format!(
                    "the run directory {} was moved or replaced during the run; ringfence wrote only to the real one, now at {}",
                    plan.out_dir.display(),
                    now.display()
                ),
                verdict: match plan.mode {
                    journal::Mode::Block => Verdict::Blocked,
                    journal::Mode::Audit => Verdict::Allowed,
                },
            }));
        }
        if let Err(e) = hooklog::journal(plan, &recorder) {
            eprintln!("ringfence: warning: {e:#}");
        }
        let violations = recorder.violations();
        let (mut status, mut exit_code) = exit::decide(plan.mode, &outcome, violations, stop_signal);
        let mut reason = super::reason(&outcome, status);
        if let Some(error) = recorder.write_error() {
            // The record of the run is incomplete: that is ringfence's failure, whatever CMD did.
            status = RunStatus::Failed;
            exit_code = exit::RINGFENCE_FAILED;
            reason = Some(format!("the journal was cut short by a write error: {error}"));
        }
        let (cmd_code, cmd_signal) = match &outcome {
            Outcome::Exited { code, signal } => (*code, *signal),
            _ => (None, None),
        };
        recorder.append(Event::RunEnd(RunEnd {
            status,
            cmd_code,
            cmd_signal,
            exit_code,
            duration_ms: started.elapsed().as_millis() as u64,
            violations,
            lost_events: recorder.lost(),
            reason,
        }));
        let (written, built) = match recorder.finish() {
            Ok((written, built)) => (Some(written), built),
            Err(e) => {
                eprintln!("ringfence: error: {e}");
                exit_code = exit::RINGFENCE_FAILED;
                let read = outputs::read_back(plan).ok();
                let written =
                    read.map(|v| recorder::Written { head: v.head, len: v.len, cut_short: v.cut_short });
                (written, None)
            }
        };
        let cut_short = written.as_ref().and_then(|w| w.cut_short.as_ref()).map(ToString::to_string);
        if cut_short.is_some() {
            exit_code = exit::RINGFENCE_FAILED;
        }
        let mut anchored = None;
        if let Some(w) = &written {
            anchor.closed = true;
            anchor.len = w.len;
            anchor.head = w.head.clone();
            anchor.moved_to = moved_to.as_ref().map(|p| p.display().to_string());
            match journal::anchor::store(&anchor) {
                Ok(path) => anchored = Some(path),
                Err(e) => {
                    eprintln!("ringfence: error: the journal's head could not be anchored: {e}");
                    exit_code = exit::RINGFENCE_FAILED;
                }
            }
        }
        if let Err(e) = outputs::write(plan, built) {
            eprintln!("ringfence: error: writing the reports: {e:#}");
            exit_code = exit::RINGFENCE_FAILED;
        }
        if let Err(e) = hooklog::collect(plan) {
            eprintln!("ringfence: warning: {e:#}");
        }
        Finished {
            exit_code,
            outcome,
            violations,
            head: written.map(|w| (w.head, w.len)),
            anchor: anchored,
            moved_to,
            cut_short,
        }
    }
}

/// The exec sensor and (when asked) the file sensor, scoped to one cgroup subtree.
pub struct Sensors {
    exec: sensors::ExecSensor,
    files: Option<sensors::FileSensor>,
}

impl Sensors {
    /// Starts both side by side (each loads and verifies its own BPF object).
    pub fn start(
        plan: &Plan,
        scope: sensors::Scope,
        recorder: &Arc<Recorder>,
        watch_files: bool,
        job: bool,
    ) -> anyhow::Result<Sensors> {
        let (exec, files) = std::thread::scope(|s| {
            let exec = s.spawn(|| {
                let sink = recorder.clone();
                sensors::ExecSensor::start(scope, Box::new(move |event| sink.append(event)))
                    .context("starting the exec sensor (eBPF)")
            });
            // A job's scope is the whole machine: only its workspace is watched, never every file
            // system, whatever the mode.
            let everywhere = plan.mode == journal::Mode::Audit && !job;
            let files = watch_files
                .then(|| super::files::start(plan, scope, everywhere, recorder.clone()))
                .transpose();
            (super::joined(exec), files)
        });
        match (exec, files) {
            (Ok(exec), Ok(files)) => Ok(Sensors { exec, files }),
            (Ok(exec), Err(e)) => {
                let _ = exec.stop();
                Err(e)
            }
            (Err(e), Ok(files)) => {
                if let Some(files) = files {
                    let _ = files.stop();
                }
                Err(e)
            }
            (Err(e), Err(_)) => Err(e),
        }
    }

    /// Where the file sensor watches (run.start's files layer).
    pub fn file_coverage(&self) -> &sensors::Coverage {
        static NONE: std::sync::OnceLock<sensors::Coverage> = std::sync::OnceLock::new();
        self.files.as_ref().map_or_else(|| NONE.get_or_init(Default::default), |f| &f.coverage)
    }

    /// Drains what the kernel already wrote and journals what was lost.
    pub fn stop(self, recorder: &Recorder) -> anyhow::Result<()> {
        let stats = self.exec.stop().context("stopping the exec sensor")?;
        recorder.record_lost("exec", stats.lost);
        if let Some(files) = self.files {
            let stats = files.stop().context("stopping the file sensor")?;
            recorder.record_lost("files", stats.lost);
        }
        Ok(())
    }
}
