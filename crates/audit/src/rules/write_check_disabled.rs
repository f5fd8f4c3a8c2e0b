//! `write-check-disabled`: the agent action's own write-access check is turned off.

use super::{AgentCx, Rule, RuleMeta, Sink};
use crate::finding::{Category, Confidence, Severity};
use crate::workflow::Launch;

pub struct WriteCheckDisabled;

static META: RuleMeta = RuleMeta {
    id: "write-check-disabled",
    category: Category::Trigger,
    summary: "claude-code-action or codex-action lets users without write access (or any bot) start it",
    why: "These actions refuse actors without write access unless told otherwise; `*` lets every GitHub \
          user drive the agent (the Cline compromise started this way).",
};

const INPUTS: &[(&str, &str)] = &[
    ("allowed_non_write_users", "any user without write access"),
    ("allow-users", "any user without write access"),
    ("allowed_bots", "any bot account"),
    ("allow-bots", "any bot account"),
];

impl Rule for WriteCheckDisabled {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn agent(&self, cx: &AgentCx<'_, '_>, out: &mut Sink<'_>) {
        if !matches!(cx.agent.launch, Launch::Action { write_check: true, .. }) {
            return;
        }
        for (input, who) in INPUTS {
            let Some(node) = cx.with(input) else { continue };
            let value = node.as_str().unwrap_or("").trim();
            let (severity, what) = match value {
                "*" | "true" => (
                    if cx.outside_events() { Severity::Critical } else { Severity::High },
                    format!("`{input}: {value}` lets {who} start the agent"),
                ),
                "" | "false" => continue,
                _ => (
                    Severity::Low,
                    format!("`{input}` lets these accounts without write access start the agent: {value}"),
                ),
            };
            out.add(
                node.span,
                severity,
                Confidence::High,
                what,
                "remove the input, or list the few accounts that need it; never `*` on a public repository",
            );
        }
    }
}
