//! The process tree, built from fork, exec and exit events.
//!
//! A process is keyed by host pid while it lives; once it has exited, a later fork or exec of the
//! same pid is a new process (the kernel reused the number). The parent is whoever forked it, not
//! the `ppid` at exec time: a daemon that double-forks is re-parented before it execs, and the
//! tree should still show who started it.

use std::collections::HashMap;

use journal::{Event, ProcessExec, Record};

use super::Clock;
use crate::model::{ExecImage, Exit, Process};

#[derive(Default)]
pub(crate) struct ProcessTree {
    list: Vec<Process>,
    /// Host pid → id of the process that holds it now.
    live: HashMap<u32, usize>,
}

pub(crate) struct Finished {
    pub list: Vec<Process>,
    pub roots: Vec<usize>,
}

impl ProcessTree {
    /// The process a pid belonged to at the record being observed.
    pub fn current(&self, pid: u32) -> Option<&Process> {
        self.live.get(&pid).map(|&id| &self.list[id])
    }

    pub fn observe(&mut self, record: &Record, clock: &Clock) {
        match &record.event {
            Event::ProcessFork(f) => {
                let id = self.spawn(f.pid, f.ppid, record, clock);
                if let Some(parent) = self.list[id].parent {
                    // Until it execs, a forked child runs its parent's image.
                    let p = &self.list[parent];
                    let (exe, argv, cwd, uid) = (p.exe.clone(), p.argv.clone(), p.cwd.clone(), p.uid);
                    let child = &mut self.list[id];
                    (child.exe, child.argv, child.cwd, child.uid) = (exe, argv, cwd, uid);
                }
            }
            Event::ProcessExec(e) => self.exec(e, record, clock),
            event if event.is_violation() => {
                if let Some(&id) = super::pid_of(event).and_then(|pid| self.live.get(&pid)) {
                    self.list[id].violations += 1;
                }
            }
            Event::ProcessExit(x) => {
                if let Some(&id) = self.live.get(&x.pid) {
                    self.list[id].exit = Some(Exit {
                        code: x.code,
                        signal: x.signal,
                        seq: record.seq,
                        ts: record.ts.clone(),
                        offset_ms: clock.offset_ms(&record.ts),
                    });
                }
            }
            _ => {}
        }
    }

    fn exec(&mut self, e: &ProcessExec, record: &Record, clock: &Clock) {
        let id = match self.live.get(&e.pid) {
            Some(&id) if self.list[id].exit.is_none() => id,
            _ => self.spawn(e.pid, e.ppid, record, clock),
        };
        let p = &mut self.list[id];
        if !p.image_inherited
            && let Some(exe) = p.exe.take()
        {
            p.earlier_execs.push(ExecImage { exe, argv: std::mem::take(&mut p.argv) });
        }
        p.exe = Some(e.exe.clone());
        p.argv = e.argv.clone();
        p.argv_truncated = e.argv_truncated;
        p.cwd = Some(e.cwd.clone());
        p.uid = Some(e.uid);
        p.vpid = e.vpid.or(p.vpid);
        p.image_inherited = false;
    }

    fn spawn(&mut self, pid: u32, ppid: u32, record: &Record, clock: &Clock) -> usize {
        let id = self.list.len();
        let parent = self.live.get(&ppid).copied().filter(|&p| self.list[p].exit.is_none());
        self.list.push(Process {
            id,
            pid,
            ppid,
            parent,
            vpid: None,
            uid: None,
            exe: None,
            argv: Vec::new(),
            argv_truncated: false,
            cwd: None,
            image_inherited: true,
            earlier_execs: Vec::new(),
            started_seq: record.seq,
            started_at: record.ts.clone(),
            offset_ms: clock.offset_ms(&record.ts),
            exit: None,
            orphaned: false,
            violations: 0,
            children: Vec::new(),
        });
        if let Some(parent) = parent {
            self.list[parent].children.push(id);
        }
        self.live.insert(pid, id);
        id
    }

    pub fn finish(mut self) -> Finished {
        let exited_at = |p: &Process| p.exit.as_ref().map_or(u64::MAX, |x| x.seq);
        for id in 0..self.list.len() {
            if let Some(parent) = self.list[id].parent {
                self.list[id].orphaned = exited_at(&self.list[parent]) < exited_at(&self.list[id]);
            }
        }
        let roots = self.list.iter().filter(|p| p.parent.is_none()).map(|p| p.id).collect();
        Finished { list: self.list, roots }
    }
}
