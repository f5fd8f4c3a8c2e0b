//! The file sensor's wiring: what it watches for this run, and the policy rule each file event
//! is measured against (the sensor reports what happened; the policy says whether it was allowed).

use std::path::Path;
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
    let rules = Rules { policy: plan.policy.clone(), run: plan.run_paths.clone() };
    FileSensor::start(watch, Box::new(move |event| recorder.append(rules.decorate(event))))
        .context("starting the file sensor (fanotify and eBPF)")
}

struct Rules {
    policy: policy::Policy,
    run: policy::RunPaths,
}

impl Rules {
    fn decorate(&self, event: Event) -> Event {
        match event {
            Event::FileWrite(mut w) => {
                w.rule = self.policy.file_rule(&self.run, Path::new(&w.path));
                w.violation = w.rule.is_some();
                Event::FileWrite(w)
            }
            Event::FileDenied(mut d) => {
                d.rule = self.policy.file_rule(&self.run, Path::new(&d.path)).or_else(|| {
                    let writes = d.op != "open-read";
                    let writable = self.policy.writable_paths(&self.run);
                    let inside = writable.iter().any(|w| Path::new(&d.path).starts_with(w))
                        || sandbox::PRIVATE_TMP.iter().any(|t| Path::new(&d.path).starts_with(t));
                    (writes && !inside).then(|| "files.writable (outside the writable trees)".to_string())
                });
                Event::FileDenied(d)
            }
            other => other,
        }
    }
}
