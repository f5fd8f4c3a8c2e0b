//! Policy violations, each attributed to the process that made it.

use journal::{Event, Record};

use super::{Clock, ProcessTree};
use crate::model::{Violation, ViolationVerdict};

#[derive(Default)]
pub(super) struct ViolationCollector {
    list: Vec<Violation>,
}

impl ViolationCollector {
    pub fn observe(&mut self, record: &Record, tree: &ProcessTree, clock: &Clock) {
        let Event::PolicyViolation(v) = &record.event else { return };
        let process = v.pid.and_then(|pid| tree.current(pid));
        self.list.push(Violation {
            seq: record.seq,
            ts: record.ts.clone(),
            offset_ms: clock.offset_ms(&record.ts),
            rule: v.rule.clone(),
            what: v.what.clone(),
            verdict: match v.verdict {
                journal::Verdict::Blocked => ViolationVerdict::Blocked,
                journal::Verdict::Allowed => ViolationVerdict::Allowed,
            },
            pid: v.pid,
            process: process.map(|p| p.id),
            exe: process.and_then(|p| p.exe.clone()),
            argv: process.map(|p| p.argv.clone()).unwrap_or_default(),
        });
    }

    pub fn finish(self) -> Vec<Violation> {
        self.list
    }
}
