//! `secrets-inherit`: a reusable workflow gets all of the caller's secrets.

use super::{Rule, RuleMeta, Sink};
use crate::finding::{Category, Confidence, Severity};
use crate::workflow::triggers::Reach;
use crate::workflow::{Job, Workflow};

pub struct SecretsInherit;

static META: RuleMeta = RuleMeta {
    id: "secrets-inherit",
    category: Category::Secrets,
    summary: "`secrets: inherit` passes every secret to a called workflow",
    why: "The called workflow, and any agent it runs, can read every repository and organisation secret \
          instead of the one it needs.",
};

impl Rule for SecretsInherit {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn job(&self, wf: &Workflow<'_>, job: &Job<'_>, out: &mut Sink<'_>) {
        let Some(secrets) = job.node.get("secrets").filter(|s| s.as_str() == Some("inherit")) else { return };
        let uses = job.uses().and_then(|u| u.as_str()).unwrap_or("");
        // A local workflow in the run is read; otherwise its name is the only hint.
        let callee = wf.callee(uses).filter(|c| c.kind == crate::FileKind::Workflow);
        let runs_agent = callee.is_some_and(|c| Workflow::new(c).has_agents());
        let agentish = runs_agent
            || callee.is_none()
                && ["claude", "codex", "gemini", "agent", "ai", "copilot", "llm"]
                    .iter()
                    .any(|w| uses.to_ascii_lowercase().contains(w));
        let outside = wf.triggers.reach() == Reach::Outside;
        if !agentish && !outside {
            return;
        }
        let severity = if outside { Severity::High } else { Severity::Medium };
        out.add(
            secrets.span,
            severity,
            if agentish { Confidence::High } else { Confidence::Medium },
            if runs_agent {
                format!("job `{}` passes every secret to `{uses}`, which runs an agent", job.id)
            } else {
                format!("job `{}` passes every secret to `{uses}`", job.id)
            },
            "pass only the secrets the called workflow declares: `secrets: { ANTHROPIC_API_KEY: ${{ secrets.ANTHROPIC_API_KEY }} }`",
        );
    }
}
