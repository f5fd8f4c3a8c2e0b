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
    /// The run starts at the first record's time.
    fn starting_at(first: &journal::Record) -> Clock {
        Clock { start: humantime::parse_rfc3339(&first.ts).ok() }
    }

    /// Milliseconds since the first record; `None` for a timestamp that does not parse.
    pub(crate) fn offset_ms(&self, ts: &str) -> Option<u64> {
        let at = humantime::parse_rfc3339(ts).ok()?;
        let since = at.duration_since(self.start?).unwrap_or_default();
        Some(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
    }
}

/// The report built one record at a time, in journal order: from a journal read back
/// ([`from_journal`]) or from the records as the journal's writer seals them, so a run's report
/// is ready when its last record is written and the records need not be kept.
pub struct ReportBuilder {
    clock: Option<Clock>,
    run: run::RunCollector,
    tree: ProcessTree,
    violations: violations::ViolationCollector,
    files: files::FileCollector,
    network: network::NetworkCollector,
    attempts: attempts::AttemptCollector,
    api: api::ApiCollector,
    secrets: secrets::SecretCollector,
    events: events::EventCollector,
    tally: Tally,
    /// Whether the last record observed was run.end.
    ended: bool,
}

/// What the counts need that no collector keeps.
#[derive(Default)]
struct Tally {
    records: u64,
    execs: u64,
    forks: u64,
    exits: u64,
    file_events: u64,
    dns_queries: u64,
    net_connections: u64,
    net_attempts: u64,
    http_requests: u64,
    secret_exfil: u64,
    schema_version: u32,
}

impl ReportBuilder {
    /// `workspace`: the run's working directory (run.start's `cwd`), which file paths are shown
    /// relative to; empty when unknown.
    pub fn new(workspace: &str) -> ReportBuilder {
        ReportBuilder {
            clock: None,
            run: run::RunCollector::default(),
            tree: ProcessTree::default(),
            violations: violations::ViolationCollector::new(workspace),
            files: files::FileCollector::new(workspace),
            network: network::NetworkCollector::default(),
            attempts: attempts::AttemptCollector::default(),
            api: api::ApiCollector::default(),
            secrets: secrets::SecretCollector::default(),
            events: events::EventCollector::default(),
            tally: Tally::default(),
            ended: false,
        }
    }

    /// Takes the next record of the journal.
    pub fn observe(&mut self, record: &journal::Record) {
        let clock = self.clock.get_or_insert_with(|| Clock::starting_at(record));
        self.tree.observe(record, clock);
        self.run.observe(record);
        self.violations.observe(record, &self.tree, clock);
        self.files.observe(record, &self.tree, clock);
        self.network.observe(record, &self.tree, clock);
        self.attempts.observe(record, &self.tree, clock);
        self.api.observe(record, &self.tree, clock);
        self.secrets.observe(record, &self.tree, clock);
        self.events.observe(record, &self.tree, clock);
        let t = &mut self.tally;
        t.records += 1;
        t.schema_version = t.schema_version.max(record.v);
        match &record.event {
            Event::ProcessExec(_) => t.execs += 1,
            Event::ProcessFork(_) => t.forks += 1,
            Event::ProcessExit(_) => t.exits += 1,
            Event::FileWrite(_) | Event::FileReadSensitive(_) | Event::FileDenied(_) => t.file_events += 1,
            Event::DnsQuery(_) => t.dns_queries += 1,
            Event::NetConnect(_) => t.net_connections += 1,
            Event::NetAttempt(_) => t.net_attempts += 1,
            Event::HttpRequest(_) => t.http_requests += 1,
            Event::SecretExfil(_) => t.secret_exfil += 1,
            _ => {}
        }
        self.ended = matches!(record.event, Event::RunEnd(_));
    }

    /// The changed paths the report will list, for the runner to journal their state at the end.
    pub fn listed_paths(&self) -> Vec<String> {
        self.files.listed_paths()
    }

    /// The report, given the journal's chain head; complete when the last record was run.end.
    pub fn finish(self, head: String) -> RunReport {
        let t = self.tally;
        let processes = self.tree.finish();
        let violations = self.violations.finish();
        let counts = Counts {
            events: t.records,
            processes: processes.list.len() as u64,
            execs: t.execs,
            forks: t.forks,
            exits: t.exits,
            violations: violations.len() as u64,
            violations_blocked: violations.iter().filter(|v| v.is_blocked()).count() as u64,
            violations_allowed: violations.iter().filter(|v| !v.is_blocked()).count() as u64,
            lost_events: self.run.lost_events(),
            file_events: t.file_events,
            dns_queries: t.dns_queries,
            net_connections: t.net_connections,
            net_attempts: t.net_attempts,
            http_requests: t.http_requests,
            secret_exfil: t.secret_exfil,
        };
        let journal = JournalFacts {
            head,
            chain_verified: true,
            complete: self.ended,
            records: t.records,
            schema_version: t.schema_version,
        };
        let parts = self.run.finish(&counts, &violations);
        let (events, events_omitted) = self.events.finish();
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
            files: self.files.finish(),
            network: self.network.finish(self.attempts.finish()),
            api: self.api.finish(),
            secrets: self.secrets.finish(),
            events,
            events_omitted,
        }
    }
}

pub(crate) fn from_journal(verified: &Verified) -> RunReport {
    let mut builder = ReportBuilder::new(workspace(&verified.records));
    for record in &verified.records {
        builder.observe(record);
    }
    let mut report = builder.finish(verified.head.clone());
    report.journal.complete = verified.complete;
    report
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
        Event::SecretReturned(x) => x.pid,
        Event::Budget(b) => b.pid,
        Event::FileWrite(w) => w.pid,
        Event::FileReadSensitive(r) => r.pid,
        Event::FileDenied(d) => d.pid,
        Event::RunStart(_)
        | Event::SensorLost(_)
        | Event::JournalWriteError(_)
        | Event::FilesFinal(_)
        | Event::RunEnd(_) => None,
    }
}
