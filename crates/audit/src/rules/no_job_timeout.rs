//! `no-job-timeout`: an agent job runs with GitHub's default six-hour timeout.

use super::{Rule, RuleMeta, Sink};
use crate::finding::{Category, Confidence, Severity};
use crate::source::FileKind;
use crate::workflow::{Job, Workflow};

pub struct NoJobTimeout;

static META: RuleMeta = RuleMeta {
    id: "no-job-timeout",
    category: Category::Budget,
    summary: "an agent job has no `timeout-minutes`",
    why: "Jobs default to 360 minutes: a looping agent burns runner time and model budget for six hours \
          before anything stops it.",
};

impl Rule for NoJobTimeout {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn job(&self, wf: &Workflow<'_>, job: &Job<'_>, out: &mut Sink<'_>) {
        if job.agents.is_empty()
            || wf.file.kind == FileKind::Action
            || job.node.get("timeout-minutes").is_some()
        {
            return;
        }
        let agent_steps_limited = job
            .agents
            .iter()
            .filter_map(|a| a.step.and_then(|i| job.steps.get(i)))
            .all(|s| s.node.get("timeout-minutes").is_some());
        if agent_steps_limited && job.agents.iter().all(|a| a.step.is_some()) {
            return;
        }
        out.add(
            job.key.span,
            Severity::Low,
            Confidence::High,
            format!("agent job `{}` has no `timeout-minutes` (the default is 360)", job.id),
            "set `timeout-minutes:` on the job (or the agent step) to a few times the usual run",
        );
    }
}
