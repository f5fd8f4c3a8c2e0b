//! `secret-to-github-env`: a secret written to `$GITHUB_ENV` in an agent job.

use super::{Rule, RuleMeta, Sink, secret_names};
use crate::finding::{Category, Confidence, Severity};
use crate::shell;
use crate::workflow::{Job, Workflow};
use crate::yaml::Node;

pub struct SecretToGithubEnv;

static META: RuleMeta = RuleMeta {
    id: "secret-to-github-env",
    category: Category::Secrets,
    summary: "a secret is written to `$GITHUB_ENV`, so every later step, the agent included, inherits it",
    why: "`$GITHUB_ENV` turns a step-scoped secret into job-wide environment, reachable by the agent and \
          by every tool it starts.",
};

impl Rule for SecretToGithubEnv {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn job(&self, wf: &Workflow<'_>, job: &Job<'_>, out: &mut Sink<'_>) {
        let Some(last_agent) = job.agents.iter().filter_map(|a| a.step).max() else { return };
        for step in job.steps.iter().take(last_agent) {
            let Some(run) = step.run() else { continue };
            let script = run.as_str().unwrap_or("");
            for cmd in shell::commands(script) {
                if !cmd.written_files().iter().any(|f| f.contains("GITHUB_ENV")) {
                    continue;
                }
                let text = script.get(cmd.raw.clone()).unwrap_or("");
                let mut secrets = secret_names(text);
                // `echo "X=$TOKEN" >> $GITHUB_ENV` with TOKEN from the step's env.
                for var in shell::variables(text) {
                    let env = step.env().and_then(|e| e.get(var)).and_then(Node::as_str).unwrap_or("");
                    secrets.extend(secret_names(env));
                }
                for secret in secrets {
                    out.add(
                        wf.file.subspan(run, cmd.raw.clone()),
                        Severity::High,
                        Confidence::High,
                        format!("secret `{secret}` is written to $GITHUB_ENV before the agent runs in job `{}`", job.id),
                        "pass the secret in the `env:` of the step that uses it instead of exporting it job-wide",
                    );
                }
            }
        }
    }
}
