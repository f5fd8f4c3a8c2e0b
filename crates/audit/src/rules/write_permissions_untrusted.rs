//! `write-permissions-untrusted`: write scopes on an agent job outside users can trigger.

use super::{Rule, RuleMeta, Sink};
use crate::finding::{Category, Confidence, Severity};
use crate::workflow::gates::gate_for;
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

/// Agent actions that exchange an OIDC token for their GitHub App token, so `id-token: write` is
/// how they work rather than extra reach.
const OIDC_ACTIONS: &[&str] =
    &["anthropics/claude-code-action", "sst/opencode/github", "anomalyco/opencode/github"];

const FIX: &str = "keep the agent job read-only and apply its output in a separate job with the write scope \
                   (after review), or drop the scope";

impl Rule for WritePermissionsUntrusted {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn job(&self, wf: &Workflow<'_>, job: &Job<'_>, out: &mut Sink<'_>) {
        if job.agents.is_empty() || super::job_reach(wf, job) != Reach::Outside {
            return;
        }
        // Job-level permissions replace workflow-level ones.
        let Some(perms) = job.node.get("permissions").or_else(|| wf.root.get("permissions")) else { return };
        // The same gate analysis the trigger rules use: when every agent in the job sits behind a
        // condition outside users cannot meet (author association, actor allowlist, a permission
        // check step), only trusted users start it. The scopes the agent needs to answer
        // (`issues`, `pull-requests`) are then not reported; heavy scopes still are, one step
        // lower, because a maintainer can still point the agent at an outsider's issue or PR and
        // the injected text then acts with the full token.
        let gates: Vec<_> = job.agents.iter().map(|a| gate_for(job, &wf.jobs, a.step)).collect();
        let gated = gates.iter().all(|g| g.holds);
        let why = gates.iter().find_map(|g| g.strong.first().cloned()).unwrap_or_default();
        let reach = if gated {
            format!(
                "a workflow outside users can fire, gated ({why}), though a maintainer can still start it on an outsider's issue or PR"
            )
        } else {
            "a workflow outside users can trigger".to_string()
        };
        match perms.as_str() {
            Some("write-all") => out.add(
                perms.span,
                if gated { Severity::Medium } else { Severity::High },
                Confidence::High,
                format!("agent job `{}` has `write-all` on {reach}", job.id),
                "list only the scopes the agent needs",
            ),
            _ => {
                for (scope, level) in perms.entries() {
                    let name = scope.as_str().unwrap_or("");
                    if level.as_str() != Some("write") {
                        continue;
                    }
                    if name == "id-token" && only_oidc_actions(job) {
                        continue;
                    }
                    let heavy = HEAVY.contains(&name);
                    if gated && !heavy {
                        continue;
                    }
                    out.add(
                        wf.file.join(scope.span, level.span),
                        if heavy && !gated { Severity::High } else { Severity::Medium },
                        Confidence::Medium,
                        format!("agent job `{}` has `{name}: write` on {reach}", job.id),
                        FIX,
                    );
                }
            }
        }
    }
}

fn only_oidc_actions(job: &Job<'_>) -> bool {
    job.agents.iter().all(|a| {
        a.action_ref().and_then(|u| u.as_str()).is_some_and(|u| {
            let u = u.to_ascii_lowercase();
            OIDC_ACTIONS.iter().any(|p| u.starts_with(&format!("{p}@")))
        })
    })
}
