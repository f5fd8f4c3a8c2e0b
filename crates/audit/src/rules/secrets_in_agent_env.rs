//! `secrets-in-agent-env`: secrets other than the model key handed to the agent step.

use super::{AgentCx, Rule, RuleMeta, Sink, is_model_key, secret_names};
use crate::finding::{Category, Confidence, Severity};

pub struct SecretsInAgentEnv;

static META: RuleMeta = RuleMeta {
    id: "secrets-in-agent-env",
    category: Category::Secrets,
    summary: "the agent step gets secrets it does not need to call its model",
    why: "Everything in the agent's environment is one `env` command away from the model, and from anyone \
          who can steer it through a prompt.",
};

impl Rule for SecretsInAgentEnv {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn agent(&self, cx: &AgentCx<'_, '_>, out: &mut Sink<'_>) {
        let Some(env) = cx.step.and_then(|s| s.env()) else { return };
        let severity = if cx.outside() { Severity::High } else { Severity::Medium };
        for (key, value) in env.entries() {
            let name = key.as_str().unwrap_or("");
            for secret in secret_names(value.as_str().unwrap_or("")) {
                // GITHUB_TOKEN is scoped by `permissions:`; that rule judges it.
                if is_model_key(&secret) || is_model_key(name) || secret == "GITHUB_TOKEN" {
                    continue;
                }
                out.add(
                    value.span,
                    severity,
                    Confidence::Medium,
                    format!("secret `{secret}` is in the environment of {} as `{name}`", cx.agent.tool.name()),
                    "give the agent only its model key; run steps that need other secrets before or after it, or let \
                     `ringfence run` inject the credential on the network side so the agent never sees it",
                );
            }
        }
    }
}
