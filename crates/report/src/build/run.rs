//! Run facts from `run.start` and `run.end`, lost-event warnings, and the verdict.

use journal::{Event, Record, RunEnd, RunStart, RunStatus};

use crate::model::{
    Counts, EnvNames, FenceLayer, Limits, Mode, Outcome, PolicyRef, RunFacts, Status, Verdict, Violation,
    ViolationKind, Warning, WarningKind,
};
use crate::text::{status_words, thousands};

#[derive(Default)]
pub(super) struct RunCollector {
    start: Option<(String, RunStart)>,
    end: Option<(String, RunEnd)>,
    /// (sensor, count) per `sensor.lost` record.
    lost: Vec<(String, u64)>,
}

pub(super) struct RunParts {
    pub facts: RunFacts,
    pub outcome: Outcome,
    pub fence: Vec<FenceLayer>,
    pub env: EnvNames,
    pub limits: Limits,
    pub warnings: Vec<Warning>,
}

impl RunCollector {
    pub fn observe(&mut self, record: &Record) {
        match &record.event {
            Event::RunStart(s) if self.start.is_none() => self.start = Some((record.ts.clone(), s.clone())),
            Event::RunEnd(e) => self.end = Some((record.ts.clone(), e.clone())),
            Event::SensorLost(l) => self.lost.push((l.sensor.clone(), l.count)),
            // A full disk (or an I/O error) cost the journal these; the report says so with the rest.
            Event::JournalWriteError(w) => self.lost.push(("journal".into(), w.lost)),
            _ => {}
        }
    }

    /// Lost events: what the sensors reported, or what `run.end` totalled if that is more
    /// (a sensor may have lost events it could not even report).
    pub fn lost_events(&self) -> u64 {
        let reported: u64 = self.lost.iter().map(|(_, n)| n).sum();
        reported.max(self.end.as_ref().map_or(0, |(_, e)| e.lost_events))
    }

    pub fn finish(self, counts: &Counts, violations: &[Violation]) -> RunParts {
        let warnings = self.warnings(counts);
        let outcome = outcome(self.end.as_ref().map(|(_, e)| e), counts, violations);
        let (facts, fence, env, limits) = match self.start {
            Some((ts, s)) => {
                let facts = RunFacts {
                    run_id: s.run_id,
                    ringfence_version: s.ringfence_version,
                    mode: match s.mode {
                        journal::Mode::Audit => Mode::Audit,
                        journal::Mode::Block => Mode::Block,
                    },
                    argv: s.argv,
                    cwd: s.cwd,
                    policy: s.policy.map(|path| PolicyRef { path, sha256: s.policy_sha256 }),
                    uid: s.uid,
                    gid: s.gid,
                    started_at: Some(ts),
                    ended_at: None,
                    duration_ms: None,
                };
                let fence = s
                    .fence
                    .into_iter()
                    .map(|l| FenceLayer { layer: l.layer, active: l.active, detail: l.detail })
                    .collect();
                let env = EnvNames { passed: s.env_passed, dropped: s.env_dropped };
                let limits = Limits { pids: s.limits.pids, wall_secs: s.limits.wall_secs };
                (facts, fence, env, limits)
            }
            None => (RunFacts::default(), Vec::new(), EnvNames::default(), Limits::default()),
        };
        let facts = match &self.end {
            Some((ts, e)) => {
                RunFacts { ended_at: Some(ts.clone()), duration_ms: Some(e.duration_ms), ..facts }
            }
            None => facts,
        };
        RunParts { facts, outcome, fence, env, limits, warnings }
    }

    fn warnings(&self, counts: &Counts) -> Vec<Warning> {
        let mut out = Vec::new();
        if self.end.is_none() {
            out.push(Warning {
                kind: WarningKind::Incomplete,
                message: "The journal has no run.end: the run was cut short (ringfence crashed or was \
                          killed), so anything after the last record is missing."
                    .into(),
            });
        }
        if self.start.is_none() {
            out.push(Warning {
                kind: WarningKind::NoRunStart,
                message: "The journal does not begin with run.start: run facts and fence layers are unknown."
                    .into(),
            });
        }
        let lost = self.lost_events();
        if lost > 0 {
            let mut by_sensor: Vec<(String, u64)> = Vec::new();
            for (sensor, n) in &self.lost {
                match by_sensor.iter_mut().find(|(s, _)| s == sensor) {
                    Some((_, total)) => *total += n,
                    None => by_sensor.push((sensor.clone(), *n)),
                }
            }
            let detail = match by_sensor.as_slice() {
                [] => String::new(),
                [(sensor, _)] => format!(" by the {sensor} sensor"),
                many => {
                    let parts: Vec<String> =
                        many.iter().map(|(s, n)| format!("{} by {s}", thousands(*n))).collect();
                    format!(" ({})", parts.join(", "))
                }
            };
            out.push(Warning {
                kind: WarningKind::LostEvents,
                message: format!(
                    "{} events were lost{detail}: the sensors could not keep up, so processes and \
                     violations may be missing from this report.",
                    thousands(lost)
                ),
            });
        }
        if let Some((_, e)) = &self.end
            && e.violations != counts.violations
        {
            out.push(Warning {
                kind: WarningKind::CountMismatch,
                message: format!(
                    "run.end counted {} violations but the journal holds {}.",
                    thousands(e.violations),
                    thousands(counts.violations)
                ),
            });
        }
        out
    }
}

fn outcome(end: Option<&RunEnd>, counts: &Counts, violations: &[Violation]) -> Outcome {
    let status = match end.map(|e| e.status) {
        None => Status::Incomplete,
        Some(RunStatus::Completed) => Status::Completed,
        Some(RunStatus::WallLimit) => Status::WallLimit,
        Some(RunStatus::Interrupted) => Status::Interrupted,
        Some(RunStatus::Failed) => Status::Failed,
        Some(RunStatus::NotStarted) => Status::NotStarted,
    };
    let exit_code = end.map(|e| e.exit_code);
    let verdict = if end.is_none() {
        Verdict::Incomplete
    } else if counts.violations_blocked > 0 {
        Verdict::ViolationsBlocked
    } else if counts.violations_allowed > 0 {
        Verdict::ViolationsAllowed
    } else if status != Status::Completed || exit_code != Some(0) {
        Verdict::Failed
    } else {
        Verdict::Passed
    };
    Outcome {
        verdict,
        headline: headline(verdict, status, exit_code, counts, violations),
        status,
        cmd_code: end.and_then(|e| e.cmd_code),
        cmd_signal: end.and_then(|e| e.cmd_signal),
        exit_code,
        reason: end.and_then(|e| e.reason.clone()),
    }
}

fn headline(
    verdict: Verdict,
    status: Status,
    exit_code: Option<i32>,
    counts: &Counts,
    list: &[Violation],
) -> String {
    let violations = |n: u64| format!("{} violation{}", thousands(n), if n == 1 { "" } else { "s" });
    match verdict {
        Verdict::Incomplete => "INCOMPLETE: the journal has no run.end".into(),
        Verdict::ViolationsBlocked => format!(
            "BLOCKED: {}{}",
            violations(counts.violations_blocked),
            by_kind(list.iter().filter(|v| v.is_blocked()))
        ),
        Verdict::ViolationsAllowed => format!(
            "AUDIT: {} allowed{}",
            violations(counts.violations_allowed),
            by_kind(list.iter().filter(|v| !v.is_blocked()))
        ),
        Verdict::Failed => match status {
            Status::Completed => format!("FAILED: exit code {}", exit_code.unwrap_or_default()),
            other => format!("FAILED: {}", status_words(other)),
        },
        Verdict::Passed => "PASSED".into(),
    }
}

/// ` (2 network, 1 file)`: what kind of thing was refused, so the headline alone says whether
/// the agent reached for the network or the repository. Empty when all were fence rules, which
/// the rule names already say.
fn by_kind<'a>(list: impl Iterator<Item = &'a Violation>) -> String {
    let mut per_kind: std::collections::BTreeMap<ViolationKind, u64> = Default::default();
    for v in list {
        *per_kind.entry(v.kind).or_default() += 1;
    }
    if per_kind.keys().all(|k| *k == ViolationKind::Policy) {
        return String::new();
    }
    let parts: Vec<String> = per_kind
        .iter()
        .map(|(kind, n)| {
            let word = match kind {
                ViolationKind::Secret => "secret exfiltration",
                ViolationKind::Budget => "budget",
                ViolationKind::Api => "API",
                ViolationKind::Policy => "fence rule",
                ViolationKind::File => "file",
                ViolationKind::Dns => "DNS",
                ViolationKind::Network => "network",
            };
            format!("{} {word}", thousands(*n))
        })
        .collect();
    format!(" ({})", parts.join(", "))
}
