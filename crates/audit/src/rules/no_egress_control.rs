//! `no-egress-control`: an agent job that outside users can reach has no egress fence.

use super::{AgentCx, Exposure, Rule, RuleMeta, Sink};
use crate::finding::{Category, Confidence, Severity};
use crate::workflow::{Job, Step};
use crate::yaml::Node;

pub struct NoEgressControl;

static META: RuleMeta = RuleMeta {
    id: "no-egress-control",
    category: Category::Egress,
    summary: "an agent job reachable by outside users has no egress control, or only an audit-mode one",
    why: "Without an egress fence a steered agent can send secrets and code anywhere; audit mode records \
          the leak but does not stop it.",
};

/// How a job controls egress.
#[derive(PartialEq)]
enum Fence {
    None,
    AuditOnly,
    Block,
}

fn step_fence(step: &Step<'_>) -> Fence {
    let action = step.action().unwrap_or_default();
    let policy = |key: &str| step.with(key).and_then(Node::as_str).unwrap_or("audit").to_ascii_lowercase();
    if action.starts_with("step-security/harden-runner") || action.starts_with("bullfrogsec/bullfrog") {
        return if policy("egress-policy") == "block" { Fence::Block } else { Fence::AuditOnly };
    }
    // The gate action decides who may start the agent; it fences nothing.
    if action.starts_with("ringfence/") && !action.ends_with("/gate") {
        return if policy("mode") == "audit" { Fence::AuditOnly } else { Fence::Block };
    }
    let run = step.run().and_then(Node::as_str).unwrap_or("");
    // gh-aw's agent workflow firewall with a domain allowlist.
    if run.contains("awf")
        && crate::shell::commands(run).iter().any(|c| crate::workflow::ghaw::firewall(c).is_some())
    {
        return Fence::Block;
    }
    if run.contains("ringfence run") {
        return if run.contains("--mode audit") || run.contains("--mode=audit") {
            Fence::AuditOnly
        } else {
            Fence::Block
        };
    }
    Fence::None
}

fn job_fence(job: &Job<'_>, before: usize) -> Fence {
    let fences: Vec<Fence> = job.steps.iter().take(before + 1).map(step_fence).collect();
    if fences.contains(&Fence::Block) {
        Fence::Block
    } else if fences.contains(&Fence::AuditOnly) {
        Fence::AuditOnly
    } else {
        Fence::None
    }
}

impl Rule for NoEgressControl {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn agent(&self, cx: &AgentCx<'_, '_>, out: &mut Sink<'_>) {
        if !cx.outside_events() {
            if let Some(source) =
                reach_set_by_callers(cx).filter(|_| job_fence(cx.job, cx.job.steps.len()) == Fence::None)
            {
                out.add(
                    cx.agent.span(cx.file()),
                    Severity::Low,
                    Confidence::Medium,
                    format!(
                        "{} in job `{}` runs with no egress control and reads `{source}`: whether outside users \
                         can reach it depends on the events this reusable workflow's callers run it on",
                        cx.agent.tool.name(),
                        cx.job.id
                    ),
                    "check every caller's events and gates, or fence the agent here (`ringfence run` in block mode, \
                     or an egress firewall in block mode as the job's first step)",
                );
            }
            return;
        }
        let at = cx.agent.step.unwrap_or(cx.job.steps.len());
        let mut fence = job_fence(cx.job, at);
        // A composite action runs in its caller's job: a fence the caller set up first counts.
        if let Some(call) = cx.call.filter(|c| c.composite && fence != Fence::Block) {
            let caller = job_fence(call.scope.job, call.scope.step.unwrap_or(0));
            if caller != Fence::None {
                fence = caller;
            }
        }
        let (severity, what) = match fence {
            Fence::Block => return,
            Fence::AuditOnly => (Severity::Low, "egress control in audit mode only"),
            Fence::None => {
                (if cx.outside() { Severity::High } else { Severity::Medium }, "no egress control")
            }
        };
        out.add(
            cx.agent.span(cx.file()),
            severity,
            Confidence::High,
            format!("{} in job `{}` runs with {what}", cx.agent.tool.name(), cx.job.id),
            "run the agent under `ringfence run` with `mode: block` and an allowlist, or add an egress firewall in \
             block mode as the job's first step",
        );
    }
}

/// A `workflow_call` agent with no gate of its own that reads issue, pull request or comment
/// text from the event: its callers decide whether outside users reach it. The event text it
/// reads, if any.
fn reach_set_by_callers(cx: &AgentCx<'_, '_>) -> Option<String> {
    if cx.call.is_some()
        || !cx.wf.triggers.has("workflow_call")
        || cx.exposure != Exposure::Maintainers
        || cx.gate.holds
        || super::write_check(cx.agent, cx.step).is_some()
    {
        return None;
    }
    let step = cx.step.map(|s| cx.file().raw(s.node)).unwrap_or("");
    cx.scope().templates(step).into_iter().map(|(_, f)| f.source).find(|s| {
        ["issue", "pull_request", "comment", "review"]
            .iter()
            .any(|e| s.starts_with(&format!("github.event.{e}")))
    })
}
