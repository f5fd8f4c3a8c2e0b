//! `secrets-in-job-env`: secrets in workflow- or job-level `env:` of an agent job.

use super::{Rule, RuleMeta, Sink, is_model_key, secret_names};
use crate::finding::{Category, Confidence, Severity};
use crate::workflow::triggers::Reach;
use crate::workflow::{Job, Launch, Workflow};

pub struct SecretsInJobEnv;

static META: RuleMeta = RuleMeta {
    id: "secrets-in-job-env",
    category: Category::Secrets,
    summary: "secrets set in workflow or job `env:` are visible to every step, the agent included",
    why: "An env entry at job or workflow level is inherited by every step and every process the agent \
          starts; a prompt-injected agent reads it with `env` or /proc.",
};

impl Rule for SecretsInJobEnv {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn job(&self, wf: &Workflow<'_>, job: &Job<'_>, out: &mut Sink<'_>) {
        if job.agents.is_empty() {
            return;
        }
        let reach = super::job_reach(wf, job);
        let severity = if reach == Reach::Outside { Severity::High } else { Severity::Medium };
        // A CLI agent reads its model key from the environment anyway; on a workflow only
        // maintainers can start, moving that key to the agent step only hides it from the
        // maintainers' own steps.
        let cli_only =
            job.agents.iter().all(|a| matches!(a.launch, Launch::Run { .. } | Launch::Installed { .. }));
        let own_key_ok = cli_only && reach == Reach::Maintainers;
        for (level, env) in [("workflow", wf.env()), ("job", job.env())] {
            for (key, value) in env.into_iter().flat_map(|e| e.entries()) {
                for secret in secret_names(value.as_str().unwrap_or("")) {
                    if own_key_ok && is_model_key(&secret) {
                        continue;
                    }
                    let message = format!(
                        "secret `{secret}` is in {level}-level env as `{}`, so the agent in job `{}` can read it",
                        key.as_str().unwrap_or("?"),
                        job.id
                    );
                    out.add(
                        value.span,
                        severity,
                        Confidence::High,
                        message,
                        "move the secret to the `env:` or `with:` of the one step that needs it",
                    );
                }
            }
        }
    }
}
