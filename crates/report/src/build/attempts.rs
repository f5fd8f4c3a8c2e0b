//! Connect and send attempts from the kernel hook, grouped per process, protocol and destination
//! for the Network section.

use std::collections::HashMap;

use journal::{Event, NetAttempt, Record};

use super::actor::actor;
use super::violations::verdict;
use super::{Clock, ProcessTree};
use crate::model::{ConnectAttempt, ViolationVerdict};

/// (pid, process id, protocol, ip, port, blocked): one row of the table.
type Key = (Option<u32>, Option<usize>, String, String, u16, bool);

#[derive(Default)]
pub(super) struct AttemptCollector {
    rows: Vec<ConnectAttempt>,
    at: HashMap<Key, usize>,
}

impl AttemptCollector {
    pub fn observe(&mut self, record: &Record, tree: &ProcessTree, clock: &Clock) {
        if let Event::NetAttempt(a) = &record.event {
            self.attempt(a, record, tree, clock);
        }
    }

    fn attempt(&mut self, a: &NetAttempt, record: &Record, tree: &ProcessTree, clock: &Clock) {
        let who = actor(tree, a.pid);
        let v = verdict(a.verdict);
        let key =
            (who.pid, who.process, a.protocol.clone(), a.ip.clone(), a.port, v == ViolationVerdict::Blocked);
        let i = *self.at.entry(key).or_insert_with(|| {
            self.rows.push(ConnectAttempt {
                protocol: a.protocol.clone(),
                calls: Vec::new(),
                ip: a.ip.clone(),
                port: a.port,
                verdict: v,
                violation: false,
                count: 0,
                rules: Vec::new(),
                reasons: Vec::new(),
                first_seq: record.seq,
                first_offset_ms: clock.offset_ms(&record.ts),
                process: who,
            });
            self.rows.len() - 1
        });
        let row = &mut self.rows[i];
        push_once(&mut row.calls, &a.call);
        row.violation |= a.violation;
        // A record stands for at least the one attempt it reports.
        row.count = row.count.saturating_add(a.count.max(1));
        push_once(&mut row.rules, &a.rule);
        if let Some(reason) = &a.reason {
            push_once(&mut row.reasons, reason);
        }
    }

    pub fn finish(self) -> Vec<ConnectAttempt> {
        let mut rows = self.rows;
        rows.sort_by_key(|a| (!a.violation, a.verdict != ViolationVerdict::Blocked, a.first_seq));
        rows
    }
}

fn push_once(list: &mut Vec<String>, value: &str) {
    if !list.iter().any(|v| v == value) {
        list.push(value.to_string());
    }
}
