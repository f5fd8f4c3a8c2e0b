//! `write-permissions-untrusted`: write scopes on an agent job outside users can trigger.

use super::{Rule, RuleMeta, Sink};
use crate::finding::{Category, Confidence, Severity};
use crate::workflow::triggers::Reach;
use crate::workflow::{Job, Workflow};

pub struct WritePermissionsUntrusted;

static META: RuleMeta = RuleMeta {
    id: "write-permissions-untrusted",
    category: Category::Permissions,
    summary: "an agent job that outside users can trigger has write scopes on its token",
    why: "A steered agent uses whatever the token allows: `contents: write` pushes code, `actions: write` \
          reruns workflows, `id-token: write` mints cloud credentials.",
};

/// Scopes whose write access does most harm in an agent's hands.
const HEAVY: &[&str] =
    &["contents", "actions", "workflows", "packages", "id-token", "deployments", "security-events"];

impl Rule for WritePermissionsUntrusted {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn job(&self, wf: &Workflow<'_>, job: &Job<'_>, out: &mut Sink<'_>) {
        if job.agents.is_empty() || wf.triggers.reach() != Reach::Outside {
            return;
        }
        // Job-level permissions replace workflow-level ones.
        let Some(perms) = job.node.get("permissions").or_else(|| wf.root.get("permissions")) else { return };
        match perms.as_str() {
            Some("write-all") => out.add(
                perms.span,
                Severity::High,
                Confidence::High,
                format!("agent job `{}` has `write-all` on a workflow outside users can trigger", job.id),
                "list only the scopes the agent needs",
            ),
            _ => {
                for (scope, level) in perms.entries() {
                    let name = scope.as_str().unwrap_or("");
                    if level.as_str() != Some("write") {
                        continue;
                    }
                    // claude-code-action exchanges an OIDC token for its GitHub App token.
                    if name == "id-token" && only_claude_action(job) {
                        continue;
                    }
                    let heavy = HEAVY.contains(&name);
                    out.add(
                        wf.file.join(scope.span, level.span),
                        if heavy { Severity::High } else { Severity::Medium },
                        Confidence::Medium,
                        format!("agent job `{}` has `{name}: write` on a workflow outside users can trigger", job.id),
                        "keep the agent job read-only and apply its output in a separate job with the write scope \
                         (after review), or drop the scope",
                    );
                }
            }
        }
    }
}

fn only_claude_action(job: &Job<'_>) -> bool {
    job.agents.iter().all(|a| {
        a.action_ref()
            .and_then(|u| u.as_str())
            .is_some_and(|u| u.starts_with("anthropics/claude-code-action"))
    })
}
