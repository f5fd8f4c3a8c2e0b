//! `missing-permissions`: an agent workflow never states its token's scopes.

use super::{Rule, RuleMeta, Sink};
use crate::finding::{Category, Confidence, Severity};
use crate::source::FileKind;
use crate::workflow::triggers::Reach;
use crate::workflow::{Job, Workflow};

pub struct MissingPermissions;

static META: RuleMeta = RuleMeta {
    id: "missing-permissions",
    category: Category::Permissions,
    summary: "an agent job has no `permissions:` block, so its token gets the repository default",
    why: "The default GITHUB_TOKEN is read-write on many repositories and organisations; an agent with it \
          can push, comment and change issues whatever the task needs.",
};

impl Rule for MissingPermissions {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn job(&self, wf: &Workflow<'_>, job: &Job<'_>, out: &mut Sink<'_>) {
        if job.agents.is_empty() || wf.file.kind == FileKind::Action {
            return;
        }
        if wf.root.get("permissions").is_some() || job.node.get("permissions").is_some() {
            return;
        }
        let severity =
            if super::job_reach(wf, job) == Reach::Outside { Severity::High } else { Severity::Medium };
        out.add(
            job.key.span,
            severity,
            Confidence::High,
            format!("agent job `{}` has no `permissions:`, here or at workflow level", job.id),
            "add `permissions:` to the job with only what the agent needs (e.g. `contents: read`, `issues: write`)",
        );
    }
}
