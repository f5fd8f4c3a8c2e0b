//! `no-egress-control`: an agent job that outside users can reach has no egress fence.

use super::{AgentCx, Rule, RuleMeta, Sink};
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
            return;
        }
        let at = cx.agent.step.unwrap_or(cx.job.steps.len());
        let (severity, what) = match job_fence(cx.job, at) {
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
