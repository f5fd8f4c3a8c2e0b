//! `agent-edits-controls`: an agent that can write files and push can change its own controls.

use super::tool_args::allowed_tools;
use super::{AgentCx, Rule, RuleMeta, Sink, secret_names};
use crate::finding::{Category, Confidence, Severity};
use crate::workflow::{AgentTool, Launch};

pub struct AgentEditsControls;

static META: RuleMeta = RuleMeta {
    id: "agent-edits-controls",
    category: Category::SupplyChain,
    summary: "the agent can edit and push its own workflow or settings files",
    why: "An agent that can write `.github/workflows/`, `.claude/` or `ringfence.yml` and push with a token \
          that allows it can remove its own restrictions for the next run.",
};

impl Rule for AgentEditsControls {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn agent(&self, cx: &AgentCx<'_, '_>, out: &mut Sink<'_>) {
        if matches!(cx.agent.tool, AgentTool::AiInference | AgentTool::Copilot)
            || !matches!(cx.agent.launch, Launch::Action { .. })
        {
            return;
        }
        // Pushing workflow files needs the `workflows` scope, which GITHUB_TOKEN never has: only a
        // personal or App token can do it.
        let Some(token) = ["github_token", "github-token"].iter().find_map(|k| cx.with(k)) else { return };
        let pat = secret_names(token.as_str().unwrap_or("")).iter().any(|s| s != "GITHUB_TOKEN");
        if !pat {
            return;
        }
        let args = cx.with("claude_args").and_then(|n| n.as_str()).unwrap_or("");
        let guarded = args.contains(".github/workflows") || args.contains(".claude");
        let writes = allowed_tools(cx)
            .iter()
            .any(|(t, _)| t.starts_with("Edit") || t.starts_with("Write") || t == "Bash");
        if guarded || !writes {
            return;
        }
        out.add(
            token.span,
            Severity::Medium,
            Confidence::Low,
            format!("{} may edit files and pushes with a token from a secret, which can change workflow files", cx.agent.tool.name()),
            "deny edits to `.github/workflows/**`, `.claude/**` and `ringfence.yml` (`--disallowedTools \"Edit(.github/**)\"`) \
             and push with the job's GITHUB_TOKEN",
        );
    }
}
