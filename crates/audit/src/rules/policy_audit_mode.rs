//! `policy-audit-mode`: a ringfence policy that records but does not block.

use super::{Rule, RuleMeta, Sink};
use crate::finding::{Category, Confidence, Severity};
use crate::source::SourceFile;

pub struct PolicyAuditMode;

static META: RuleMeta = RuleMeta {
    id: "policy-audit-mode",
    category: Category::Egress,
    summary: "`ringfence.yml` is in audit mode, so nothing is blocked",
    why: "Audit mode is for learning a policy; left on, it records exfiltration instead of preventing it.",
};

impl Rule for PolicyAuditMode {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn policy(&self, file: &SourceFile, out: &mut Sink<'_>) {
        let Some(mode) = file.root.get("mode") else { return };
        if mode.as_str() == Some("audit") {
            out.add(
                mode.span,
                Severity::Low,
                Confidence::High,
                "the policy is in audit mode: connections outside the allowlist are recorded, not blocked"
                    .into(),
                "switch to `mode: block` once a run in audit mode has shown the endpoints the agent needs",
            );
        }
    }
}
