//! Job mode's "source overwritten" flag: a file the checkout (a `git` process) wrote, changed
//! later by another program, is marked on its file.write record (`rule`), so the report's file
//! list shows it. Not a violation: formatters and code generators do it for good reasons; a
//! reviewer wants to see it. A process whose exec was not seen yet is never judged.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use journal::{Event, FileOp};

/// The rule named on a flagged change.
pub const RULE: &str = "job.source_overwritten";

#[derive(Default)]
pub struct SourceWatch {
    /// Program (basename of the executable) of each process seen exec'ing.
    programs: HashMap<u32, String>,
    /// Files a checkout wrote.
    checked_out: HashSet<String>,
}

fn is_git(program: &str) -> bool {
    program == "git" || program.starts_with("git-")
}

impl SourceWatch {
    pub fn observe(&mut self, event: &mut Event) {
        match event {
            Event::ProcessExec(e) => {
                let program = Path::new(&e.exe).file_name().map(|n| n.to_string_lossy().into_owned());
                self.programs.insert(e.pid, program.unwrap_or_default());
            }
            Event::FileWrite(w) => {
                let Some(program) = w.pid.and_then(|pid| self.programs.get(&pid)) else { return };
                if is_git(program) {
                    if matches!(w.op, FileOp::Create | FileOp::Modify) {
                        self.checked_out.insert(w.path.clone());
                    }
                    return;
                }
                let touched = self.checked_out.contains(&w.path)
                    || w.to.as_ref().is_some_and(|to| self.checked_out.contains(to));
                if touched && w.rule.is_none() {
                    w.rule = Some(format!("{RULE}: written by the checkout (git), changed by {program}"));
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use journal::{FileWrite, ProcessExec};

    fn exec(pid: u32, exe: &str) -> Event {
        Event::ProcessExec(ProcessExec {
            pid,
            vpid: None,
            ppid: 1,
            uid: 1000,
            exe: exe.into(),
            argv: vec![exe.into()],
            argv_truncated: false,
            cwd: "/w".into(),
        })
    }

    fn write(pid: u32, op: FileOp, path: &str) -> Event {
        Event::FileWrite(FileWrite {
            pid: Some(pid),
            op,
            path: path.into(),
            to: None,
            violation: false,
            rule: None,
        })
    }

    #[test]
    fn a_checked_out_file_changed_by_another_program_is_flagged_and_nothing_else() {
        let mut watch = SourceWatch::default();
        for mut e in
            [exec(10, "/usr/bin/git"), exec(11, "/usr/bin/node"), write(10, FileOp::Create, "/w/src/a.rs")]
        {
            watch.observe(&mut e);
        }
        let mut changed = write(11, FileOp::Modify, "/w/src/a.rs");
        watch.observe(&mut changed);
        let Event::FileWrite(w) = changed else { unreachable!() };
        assert!(w.rule.as_deref().is_some_and(|r| r.starts_with(RULE) && r.contains("node")));
        assert!(!w.violation, "a flag, not a violation");
        for mut other in [
            write(11, FileOp::Create, "/w/new.rs"),
            write(10, FileOp::Modify, "/w/src/a.rs"),
            write(99, FileOp::Modify, "/w/src/a.rs"),
        ] {
            watch.observe(&mut other);
            let Event::FileWrite(w) = other else { unreachable!() };
            assert!(w.rule.is_none(), "new files, git's own changes and unknown processes are not flagged");
        }
    }
}
