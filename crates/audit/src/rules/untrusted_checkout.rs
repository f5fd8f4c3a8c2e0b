//! `untrusted-checkout`: the agent runs on a checkout of an outside contributor's code.

use super::{AgentCx, Rule, RuleMeta, Sink};
use crate::finding::{Category, Confidence, Severity};
use crate::workflow::AgentTool;

pub struct UntrustedCheckout;

static META: RuleMeta = RuleMeta {
    id: "untrusted-checkout",
    category: Category::SupplyChain,
    summary: "the agent runs in a checkout of a pull request's head in a privileged workflow",
    why: "The PR author then writes the agent's instructions and configuration (CLAUDE.md, AGENTS.md, \
          .claude/ hooks, .mcp.json, package scripts it runs), with the base repository's secrets present.",
};

/// Refs that name the PR head (or a workflow_run's head) rather than the base.
const HEAD_REFS: &[&str] = &[
    "github.event.pull_request.head.sha",
    "github.event.pull_request.head.ref",
    "github.head_ref",
    "github.event.workflow_run.head_sha",
    "github.event.workflow_run.head_branch",
    "refs/pull/",
];

const PRIVILEGED: &[&str] = &[
    "pull_request_target",
    "issue_comment",
    "workflow_run",
    "pull_request_review",
    "pull_request_review_comment",
];

impl Rule for UntrustedCheckout {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn agent(&self, cx: &AgentCx<'_, '_>, out: &mut Sink<'_>) {
        if !PRIVILEGED.iter().any(|e| cx.wf.triggers.has(e)) {
            return;
        }
        let end = cx.agent.step.unwrap_or(cx.job.steps.len());
        for step in cx.job.steps.iter().take(end) {
            if step.action().is_none_or(|a| a != "actions/checkout") {
                continue;
            }
            let Some(r) = step.with("ref").or_else(|| step.with("repository")) else { continue };
            let text = r.as_str().unwrap_or("");
            if !HEAD_REFS.iter().any(|h| text.contains(h)) {
                continue;
            }
            // claude-code-action restores its own configuration files from the base branch; the
            // rest of the tree (scripts it may run, docs it reads) is still the author's.
            let restores = cx.agent.tool == AgentTool::Claude && cx.agent.action_ref().is_some();
            let severity = match (cx.outside(), restores) {
                (true, false) => Severity::Critical,
                (true, true) | (false, false) => Severity::High,
                (false, true) => Severity::Medium,
            };
            let mut message = format!(
                "{} runs after checking out `{text}` in a workflow with secrets",
                cx.agent.tool.name()
            );
            if let Some(how) = loads_repo_config(cx) {
                message.push_str(&format!(
                    ", and {how} makes it load the checked-out repository's own configuration (settings, MCP \
                     servers, hooks), which the pull request's author wrote"
                ));
            }
            out.add(
                r.span,
                severity,
                Confidence::High,
                message,
                "check out the base ref for the agent and give it the diff as data, or run it in an unprivileged \
                 `pull_request` workflow without secrets",
            );
        }
    }
}

/// The flag or environment variable that makes the agent load the repository's own
/// configuration (`--skip-trust`, `GEMINI_CLI_TRUST_WORKSPACE=true`, Codex `--trust`).
fn loads_repo_config(cx: &AgentCx<'_, '_>) -> Option<String> {
    let cli = crate::workflow::catalogue::cli(cx.agent.tool)?;
    let args = super::tool_args::args(cx);
    cli.repo_config.iter().find_map(|f| {
        if f.starts_with('-') {
            super::tool_args::flag(&args, &[f]).map(|_| format!("`{f}`"))
        } else {
            super::permission_bypass::truthy_env(cx, f).map(|_| format!("`{f}=true`"))
        }
    })
}
