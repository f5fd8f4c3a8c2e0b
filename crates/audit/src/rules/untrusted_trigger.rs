//! `untrusted-trigger`: outside users can start the agent.

use super::{AgentCx, Exposure, Rule, RuleMeta, Sink};
use crate::finding::{Category, Confidence, Severity};
use crate::workflow::AgentTool;

pub struct UntrustedTrigger;

static META: RuleMeta = RuleMeta {
    id: "untrusted-trigger",
    category: Category::Trigger,
    summary: "an agent job can be started by any GitHub user",
    why: "Whoever starts the agent chooses what it reads first; an outside user can make it act with \
          the repository's secrets and token, and spend its model budget.",
};

impl Rule for UntrustedTrigger {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn agent(&self, cx: &AgentCx<'_, '_>, out: &mut Sink<'_>) {
        let Exposure::Outside { events, weak } = &cx.exposure else { return };
        let mut message = format!(
            "{} runs on `{}`, which any GitHub user can fire, and nothing keeps outside users out",
            cx.agent.tool.name(),
            events.join("`, `")
        );
        if !weak.is_empty() {
            message.push_str(&format!("; the conditions seen do not hold: {}", weak.join("; ")));
        }
        // A model call without tools can only be talked into wrong output, not into acting.
        let severity =
            if cx.agent.tool == AgentTool::AiInference { Severity::Medium } else { Severity::High };
        out.add(
            cx.agent.span(cx.file()),
            severity,
            Confidence::High,
            message,
            "gate the job on `github.event.comment.author_association` (OWNER, MEMBER, COLLABORATOR) or an actor \
             allowlist, or use an action's built-in write-access check; keep trigger phrases only as a convenience",
        );
    }
}
