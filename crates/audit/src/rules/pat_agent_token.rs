//! `pat-agent-token`: a personal access token is the agent's GitHub credential.

use super::{AgentCx, Rule, RuleMeta, Sink, secret_names};
use crate::finding::{Category, Confidence, Severity};

pub struct PatAgentToken;

static META: RuleMeta = RuleMeta {
    id: "pat-agent-token",
    category: Category::Secrets,
    summary: "the agent acts with a long-lived token from a secret instead of the job's GITHUB_TOKEN",
    why: "A personal access token usually reaches more repositories, outlives the job, can push workflow \
          changes and is not limited by `permissions:`; whoever steers the agent gets all of that.",
};

const TOKEN_INPUTS: &[&str] = &["github_token", "github-token", "GITHUB_TOKEN", "GH_TOKEN", "token"];

impl Rule for PatAgentToken {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn agent(&self, cx: &AgentCx<'_, '_>, out: &mut Sink<'_>) {
        let Some(step) = cx.step else { return };
        let with = TOKEN_INPUTS.iter().filter_map(|k| step.with(k).map(|v| (*k, v)));
        let env = TOKEN_INPUTS.iter().filter_map(|k| step.env().and_then(|e| e.get(k)).map(|v| (*k, v)));
        for (key, value) in with.chain(env) {
            for secret in secret_names(value.as_str().unwrap_or("")) {
                if secret == "GITHUB_TOKEN" {
                    continue;
                }
                let severity = if cx.outside_events() { Severity::High } else { Severity::Medium };
                out.add(
                    value.span,
                    severity,
                    Confidence::Medium,
                    format!("{} gets `{key}` from secret `{secret}`, likely a personal access token", cx.agent.tool.name()),
                    "use the job's `${{ secrets.GITHUB_TOKEN }}` with minimal `permissions:`, or a GitHub App token \
                     created per run with `actions/create-github-app-token` and narrow permissions",
                );
            }
        }
    }
}
