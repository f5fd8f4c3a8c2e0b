//! Violations of every kind (secrets, budgets, API routes, fence rules, files, DNS, connections),
//! each attributed to the process that made it and described in words a reviewer understands.

use journal::{Event, Record};

use super::{Clock, ProcessTree, actor::actor, pid_of};
use crate::model::{Violation, ViolationKind, ViolationVerdict};
use crate::text::relative;

pub(super) struct ViolationCollector {
    workspace: String,
    list: Vec<Violation>,
}

impl ViolationCollector {
    pub fn new(workspace: &str) -> ViolationCollector {
        ViolationCollector { workspace: workspace.to_string(), list: Vec::new() }
    }

    pub fn observe(&mut self, record: &Record, tree: &ProcessTree, clock: &Clock) {
        if !record.event.is_violation() {
            return;
        }
        let Some(d) = describe(&record.event, &self.workspace) else { return };
        let who = actor(tree, pid_of(&record.event));
        self.list.push(Violation {
            seq: record.seq,
            ts: record.ts.clone(),
            offset_ms: clock.offset_ms(&record.ts),
            kind: d.kind,
            rule: d.rule,
            what: d.what,
            verdict: d.verdict,
            pid: who.pid,
            process: who.process,
            exe: who.exe,
            argv: who.argv,
        });
    }

    pub fn finish(self) -> Vec<Violation> {
        self.list
    }
}

pub(super) struct Described {
    pub kind: ViolationKind,
    pub rule: String,
    pub what: String,
    pub verdict: ViolationVerdict,
}

pub(super) fn verdict(v: journal::Verdict) -> ViolationVerdict {
    match v {
        journal::Verdict::Blocked => ViolationVerdict::Blocked,
        journal::Verdict::Allowed => ViolationVerdict::Allowed,
    }
}

/// Paths under the workspace are shown relative to it: `.github/workflows/release.yml` is what a
/// reviewer recognises.
fn shown(path: &str, workspace: &str) -> String {
    relative(path, workspace).unwrap_or_else(|| path.to_string())
}

fn describe(event: &Event, workspace: &str) -> Option<Described> {
    let d = match event {
        Event::PolicyViolation(v) => Described {
            kind: ViolationKind::Policy,
            rule: v.rule.clone(),
            what: v.what.clone(),
            verdict: verdict(v.verdict),
        },
        Event::FileWrite(w) => {
            let path = shown(&w.path, workspace);
            let what = match (&w.op, &w.to) {
                (journal::FileOp::Rename, Some(to)) => {
                    format!("renamed protected {path} to {}", shown(to, workspace))
                }
                (op, _) => format!("{} protected {path}", op_past(*op)),
            };
            // A protected path changes only when audit mode let it: in block mode it is read-only
            // and the attempt shows up as file.denied.
            Described {
                kind: ViolationKind::File,
                rule: w.rule.clone().unwrap_or_else(|| "files.protected".into()),
                what,
                verdict: ViolationVerdict::Allowed,
            }
        }
        Event::FileReadSensitive(r) => Described {
            kind: ViolationKind::File,
            rule: r.rule.clone(),
            what: format!("read credential file {}", shown(&r.path, workspace)),
            verdict: ViolationVerdict::Allowed,
        },
        Event::FileDenied(d) => Described {
            kind: ViolationKind::File,
            rule: d.rule.clone()?,
            what: format!("{} {} refused ({})", d.op, shown(&d.path, workspace), d.errno),
            verdict: ViolationVerdict::Blocked,
        },
        Event::DnsQuery(q) => {
            let signs = if q.suspicious.is_empty() {
                String::new()
            } else {
                format!(" [{}]", q.suspicious.join(", "))
            };
            Described {
                kind: ViolationKind::Dns,
                rule: q.rule.clone(),
                what: format!("DNS {} {}{signs}", q.qtype, q.name),
                verdict: verdict(q.verdict),
            }
        }
        Event::NetConnect(c) => {
            let target = match &c.host {
                Some(host) => format!("{host}:{} ({})", c.port, c.ip),
                None => format!("{}:{}", c.ip, c.port),
            };
            let sni = match &c.sni {
                Some(sni) if Some(sni) != c.host.as_ref() => format!(", SNI {sni}"),
                _ => String::new(),
            };
            let reason = c.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
            Described {
                kind: ViolationKind::Network,
                rule: c.rule.clone(),
                what: format!("{} connect to {target}{sni}{reason}", c.protocol),
                verdict: verdict(c.verdict),
            }
        }
        Event::SecretExfil(_)
        | Event::SecretReturned(_)
        | Event::Budget(_)
        | Event::HttpRequest(_)
        | Event::NetAttempt(_) => {
            return super::api_violations::describe(event);
        }
        _ => return None,
    };
    Some(d)
}

fn op_past(op: journal::FileOp) -> &'static str {
    match op {
        journal::FileOp::Create => "created",
        journal::FileOp::Modify => "modified",
        journal::FileOp::Delete => "deleted",
        journal::FileOp::Rename => "renamed",
    }
}
