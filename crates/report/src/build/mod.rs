//! Builds a [`RunReport`] from a verified journal in one pass over its records.
//!
//! Each concern (run facts, processes, violations, the event list) is a collector in its own
//! module. The process tree goes first on every record so the others can attribute a pid to the
//! process it belonged to at that moment. A new section is one more collector module and one
//! more line in [`from_journal`].

mod actor;
mod api;
mod api_violations;
mod attempts;
mod events;
mod files;
mod network;
mod processes;
mod run;
mod secrets;
mod violations;

use std::time::SystemTime;

use journal::{Event, Verified};

use crate::model::{Counts, JournalFacts, REPORT_VERSION, RunReport};

pub(crate) use processes::ProcessTree;

/// Turns record timestamps into offsets from the start of the run.
pub(crate) struct Clock {
    start: Option<SystemTime>,
}

impl Clock {
    fn new(records: &[journal::Record]) -> Clock {
        let start = records.first().and_then(|r| humantime::parse_rfc3339(&r.ts).ok());
        Clock { start }
    }

    /// Milliseconds since the first record; `None` for a timestamp that does not parse.
    pub(crate) fn offset_ms(&self, ts: &str) -> Option<u64> {
        let at = humantime::parse_rfc3339(ts).ok()?;
        let since = at.duration_since(self.start?).unwrap_or_default();
        Some(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
    }
}

pub(crate) fn from_journal(verified: &Verified) -> RunReport {
    let records = &verified.records;
    let clock = Clock::new(records);
    let mut run = run::RunCollector::default();
    let mut tree = ProcessTree::default();
    let workspace = workspace(records);
    let mut violations = violations::ViolationCollector::new(workspace);
    let mut files = files::FileCollector::new(workspace);
    let mut network = network::NetworkCollector::default();
    let mut attempts = attempts::AttemptCollector::default();
    let mut api = api::ApiCollector::default();
    let mut secrets = secrets::SecretCollector::default();
    let mut events = events::EventCollector::default();
    for record in records {
        tree.observe(record, &clock);
        run.observe(record);
        violations.observe(record, &tree, &clock);
        files.observe(record, &tree, &clock);
        network.observe(record, &tree, &clock);
        attempts.observe(record, &tree, &clock);
        api.observe(record, &tree, &clock);
        secrets.observe(record, &tree, &clock);
        events.observe(record, &tree, &clock);
    }

    let processes = tree.finish();
    let violations = violations.finish();
    let counts = Counts {
        events: records.len() as u64,
        processes: processes.list.len() as u64,
        execs: count(records, |e| matches!(e, Event::ProcessExec(_))),
        forks: count(records, |e| matches!(e, Event::ProcessFork(_))),
        exits: count(records, |e| matches!(e, Event::ProcessExit(_))),
        violations: violations.len() as u64,
        violations_blocked: violations.iter().filter(|v| v.is_blocked()).count() as u64,
        violations_allowed: violations.iter().filter(|v| !v.is_blocked()).count() as u64,
        lost_events: run.lost_events(),
        file_events: count(records, |e| {
            matches!(e, Event::FileWrite(_) | Event::FileReadSensitive(_) | Event::FileDenied(_))
        }),
        dns_queries: count(records, |e| matches!(e, Event::DnsQuery(_))),
        net_connections: count(records, |e| matches!(e, Event::NetConnect(_))),
        net_attempts: count(records, |e| matches!(e, Event::NetAttempt(_))),
        http_requests: count(records, |e| matches!(e, Event::HttpRequest(_))),
        secret_exfil: count(records, |e| matches!(e, Event::SecretExfil(_))),
    };
    let journal = JournalFacts {
        head: verified.head.clone(),
        chain_verified: true,
        complete: verified.complete,
        records: records.len() as u64,
        schema_version: records.iter().map(|r| r.v).max().unwrap_or_default(),
    };
    let parts = run.finish(&counts, &violations);
    let (events, events_omitted) = events.finish();
    RunReport {
        report_version: REPORT_VERSION,
        run: parts.facts,
        outcome: parts.outcome,
        journal,
        counts,
        fence: parts.fence,
        env: parts.env,
        limits: parts.limits,
        warnings: parts.warnings,
        violations,
        processes: processes.list,
        roots: processes.roots,
        files: files.finish(),
        network: network.finish(attempts.finish()),
        api: api.finish(),
        secrets: secrets.finish(),
        events,
        events_omitted,
    }
}

fn count(records: &[journal::Record], pred: impl Fn(&Event) -> bool) -> u64 {
    records.iter().filter(|r| pred(&r.event)).count() as u64
}

/// The run's working directory, which file paths are shown relative to; empty when unknown.
fn workspace(records: &[journal::Record]) -> &str {
    records
        .iter()
        .find_map(|r| match &r.event {
            Event::RunStart(s) => Some(s.cwd.as_str()),
            _ => None,
        })
        .unwrap_or_default()
}

/// The pid an event is about, when it names one.
pub(crate) fn pid_of(event: &Event) -> Option<u32> {
    match event {
        Event::ProcessExec(e) => Some(e.pid),
        Event::ProcessFork(f) => Some(f.pid),
        Event::ProcessExit(x) => Some(x.pid),
        Event::PolicyViolation(v) => v.pid,
        Event::DnsQuery(q) => q.pid,
        Event::NetConnect(c) => c.pid,
        Event::NetAttempt(a) => a.pid,
        Event::HttpRequest(r) => r.pid,
        Event::SecretExfil(x) => x.pid,
        Event::Budget(b) => b.pid,
        Event::FileWrite(w) => w.pid,
        Event::FileReadSensitive(r) => r.pid,
        Event::FileDenied(d) => d.pid,
        Event::RunStart(_) | Event::SensorLost(_) | Event::RunEnd(_) => None,
    }
}
