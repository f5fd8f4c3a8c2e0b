//! One short row per journal record, for the raw event table: the first [`EVENTS_MAX`], then
//! only the rows a reader must not miss.

use journal::{Event, Record};

use super::{Clock, ProcessTree, pid_of};
use crate::model::{EVENTS_MAX, EventRow};
use crate::text::{argv_line, exit_words, thousands};

#[derive(Default)]
pub(super) struct EventCollector {
    rows: Vec<EventRow>,
    omitted: u64,
}

impl EventCollector {
    pub fn observe(&mut self, record: &Record, tree: &ProcessTree, clock: &Clock) {
        let always = record.event.is_violation()
            || matches!(record.event, Event::SensorLost(_) | Event::JournalWriteError(_) | Event::RunEnd(_));
        if self.rows.len() >= EVENTS_MAX && !always {
            self.omitted += 1;
            return;
        }
        let pid = pid_of(&record.event);
        self.rows.push(EventRow {
            seq: record.seq,
            ts: record.ts.clone(),
            offset_ms: clock.offset_ms(&record.ts),
            kind: record.event.kind().to_string(),
            pid,
            process: pid.and_then(|pid| tree.current(pid)).map(|p| p.id),
            violation: record.event.is_violation(),
            summary: summary(&record.event),
        });
    }

    /// The rows, and how many records have none.
    pub fn finish(self) -> (Vec<EventRow>, u64) {
        (self.rows, self.omitted)
    }
}

/// Long argv lines are cut here; the full argv is in the process table and report.json.
const SUMMARY_MAX: usize = 300;

fn summary(event: &Event) -> String {
    let text = match event {
        Event::RunStart(s) => format!("{} mode: {}", s.mode, argv_line(&s.argv)),
        Event::ProcessExec(e) => {
            let tail = if e.argv_truncated { " [argv truncated]" } else { "" };
            format!("{}{tail}", argv_line(&e.argv))
        }
        Event::ProcessFork(f) => format!("forked by pid {}", f.ppid),
        Event::ProcessExit(x) => exit_words(x.code, x.signal),
        Event::PolicyViolation(v) => {
            let verdict = match v.verdict {
                journal::Verdict::Blocked => "blocked",
                journal::Verdict::Allowed => "allowed",
            };
            format!("{verdict} {}: {}", v.rule, v.what)
        }
        Event::DnsQuery(q) => {
            format!("{:?} {} {} -> {} ({})", q.verdict, q.qtype, q.name, q.answer.join(", "), q.rule)
        }
        Event::NetConnect(c) => format!(
            "{:?} {}:{} {} ({})",
            c.verdict,
            c.host.as_deref().unwrap_or(&c.ip),
            c.port,
            c.protocol,
            c.rule
        ),
        Event::NetAttempt(a) => {
            format!("{:?} {} {} {}:{} x{} ({})", a.verdict, a.protocol, a.call, a.ip, a.port, a.count, a.rule)
        }
        Event::HttpRequest(r) => format!(
            "{:?} {} https://{}{} -> {} ({})",
            r.verdict,
            r.method,
            r.host,
            r.path,
            r.status.map_or("-".to_string(), |s| s.to_string()),
            r.rule
        ),
        Event::SecretExfil(x) => {
            format!("{:?} {} sent to {}:{} in {}", x.verdict, x.secret, x.host, x.port, x.location)
        }
        Event::SecretReturned(x) if x.secret.is_empty() => format!(
            "{:?} response from {}:{} ({}): {}",
            x.verdict,
            x.host,
            x.port,
            x.location,
            x.reason.as_deref().unwrap_or("not scanned")
        ),
        Event::SecretReturned(x) => format!(
            "{} came back from {}:{} in {} ({}); the agent got the sentinel",
            x.secret, x.host, x.port, x.location, x.form
        ),
        Event::Budget(b) => format!("{} budget: {}", b.provider, b.what),
        Event::FileWrite(w) => match &w.to {
            Some(to) => format!("{:?} {} -> {to}", w.op, w.path),
            None => format!("{:?} {}", w.op, w.path),
        },
        Event::FileReadSensitive(r) => format!("read {} ({})", r.path, r.rule),
        Event::FileDenied(d) => format!("refused {} {} ({})", d.op, d.path, d.errno),
        Event::SensorLost(l) => format!("{} events lost by {}", thousands(l.count), l.sensor),
        Event::JournalWriteError(w) => {
            format!("journal write failed ({}); {} events not recorded", w.error, thousands(w.lost))
        }
        Event::FilesFinal(f) => {
            format!("state at the end of {} changed paths", thousands(f.files.len() as u64))
        }
        Event::RunEnd(e) => format!(
            "{}, exit code {}, {} violations, {} lost",
            serde_json::to_value(e.status)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            e.exit_code,
            thousands(e.violations),
            thousands(e.lost_events)
        ),
    };
    crate::text::truncate(&text, SUMMARY_MAX)
}
