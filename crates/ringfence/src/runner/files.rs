//! The file sensor's wiring: what it watches for this run, and the policy rule each file event
//! is measured against (the sensor reports what happened; the policy says whether it was allowed).

use std::os::unix::ffi::{OsStrExt, OsStringExt};
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
    /// Protected and credential paths with the rule to quote, most specific first, each with
    /// its path's bytes in plain form (see [`plain`]).
    named: Vec<(Vec<u8>, policy::FileRule)>,
    /// Trees the agent may write, the private tmp dirs included.
    writable: Vec<PathBuf>,
}

impl Rules {
    fn new(policy: &policy::Policy, run: &policy::RunPaths) -> Rules {
        let mut rules = policy.protected_paths(run);
        rules.extend(policy.deny_read_paths(run));
        let named = rules
            .into_iter()
            .map(|r| (r.path.components().collect::<PathBuf>().into_os_string().into_vec(), r))
            .collect();
        let mut writable = policy.writable_paths(run);
        writable.extend(sandbox::PRIVATE_TMP.iter().map(PathBuf::from));
        Rules { named, writable }
    }

    fn rule_for(&self, path: &Path) -> Option<String> {
        // Most events match no rule; comparing bytes first keeps the component-wise comparison
        // (a third of the sensor thread's time, measured) for the rules that can match.
        let bytes = path.as_os_str().as_bytes();
        let quick = plain(bytes);
        self.named
            .iter()
            .find(|(prefix, r)| (!quick || bytes.starts_with(prefix)) && path.starts_with(&r.path))
            .map(|(_, r)| r.rule.clone())
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

/// Whether a path's bytes are its components joined by single slashes (give or take a trailing
/// one): then a path under a rule's path, both plain, begins with the rule path's bytes. The
/// sensor reports clean absolute paths, so this holds for all but odd ones.
fn plain(path: &[u8]) -> bool {
    path.starts_with(b"/")
        && !path.windows(2).any(|w| w == b"//")
        && !path.windows(3).any(|w| w == b"/./")
        && !path.ends_with(b"/.")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(paths: &[&str]) -> Rules {
        let named = paths
            .iter()
            .map(|p| {
                let rule = policy::FileRule { path: PathBuf::from(p), rule: format!("rule {p}") };
                (rule.path.components().collect::<PathBuf>().into_os_string().into_vec(), rule)
            })
            .collect();
        Rules { named, writable: Vec::new() }
    }

    #[test]
    fn the_byte_comparison_finds_what_the_component_one_finds() {
        let r = rules(&["/ws/.git/hooks", "/home/u//.ssh/", "/ws/./.github/workflows"]);
        let cases = [
            ("/ws/.git/hooks/pre-commit", Some("rule /ws/.git/hooks")),
            ("/ws/.git/hooks", Some("rule /ws/.git/hooks")),
            ("/ws/.git/hooksy", None),
            ("/ws/.git//hooks/x", Some("rule /ws/.git/hooks")),
            ("/ws/./.git/hooks/x", Some("rule /ws/.git/hooks")),
            ("/home/u/.ssh/id_rsa", Some("rule /home/u//.ssh/")),
            ("/ws/.github/workflows/ci.yml", Some("rule /ws/./.github/workflows")),
            ("/ws/src/main.rs", None),
        ];
        for (path, expected) in cases {
            assert_eq!(r.rule_for(Path::new(path)).as_deref(), expected, "{path}");
        }
    }
}
