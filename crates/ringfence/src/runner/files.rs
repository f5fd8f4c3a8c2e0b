//! The file sensor's wiring: what it watches for this run, and the policy rule each file event
//! is measured against (the sensor reports what happened; the policy says whether it was allowed).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use journal::{Event, Mode};
use sensors::{FileSensor, FileWatch};

use super::Plan;
use super::recorder::Recorder;

pub fn start(plan: &Plan, cgroup_id: u64, recorder: Arc<Recorder>) -> anyhow::Result<FileSensor> {
    // In block mode the credential paths are masked, so opens reach the mask, not the file;
    // the refusals are what gets recorded there.
    let sensitive = match plan.mode {
        Mode::Audit => plan.policy.deny_read_paths(&plan.run_paths).into_iter().map(|r| r.path).collect(),
        Mode::Block => Vec::new(),
    };
    let watch = FileWatch { tree: plan.cwd.clone(), sensitive, cgroup_id };
    let rules = Rules::new(&plan.policy, &plan.run_paths);
    FileSensor::start(watch, Box::new(move |event| recorder.append(rules.decorate(event))))
        .context("starting the file sensor (fanotify and eBPF)")
}

/// The run's file rules, expanded once: the sensor calls `decorate` for every event, and
/// rebuilding the lists per event cost ~35 µs each (measured in bench/files).
struct Rules {
    /// Protected and credential paths with the rule to quote, most specific first.
    named: Vec<policy::FileRule>,
    /// Trees the agent may write, the private tmp dirs included.
    writable: Vec<PathBuf>,
}

impl Rules {
    fn new(policy: &policy::Policy, run: &policy::RunPaths) -> Rules {
        let mut named = policy.protected_paths(run);
        named.extend(policy.deny_read_paths(run));
        let mut writable = policy.writable_paths(run);
        writable.extend(sandbox::PRIVATE_TMP.iter().map(PathBuf::from));
        Rules { named, writable }
    }

    fn rule_for(&self, path: &Path) -> Option<String> {
        self.named.iter().find(|r| path.starts_with(&r.path)).map(|r| r.rule.clone())
    }

    fn decorate(&self, event: Event) -> Event {
        match event {
            Event::FileWrite(mut w) => {
                w.rule = self.rule_for(Path::new(&w.path));
                w.violation = w.rule.is_some();
                Event::FileWrite(w)
            }
            Event::FileDenied(mut d) => {
                let path = Path::new(&d.path);
                d.rule = self.rule_for(path).or_else(|| {
                    let writes = d.op != "open-read";
                    let inside = self.writable.iter().any(|w| path.starts_with(w));
                    (writes && !inside).then(|| "files.writable (outside the writable trees)".to_string())
                });
                Event::FileDenied(d)
            }
            other => other,
        }
    }
}
