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
                _ if input.contains("bots") && own_bots(cx, value) => continue,
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

/// Every bot in a named `allowed_bots` list is also named as the one actor allowed through the
/// job's or the agent step's `if:` (`github.event.comment.user.login == 'release-bot[bot]'`):
/// the workflow admits the repository's own automation on purpose, and the condition already
/// fixes who that is. Bots that relay other people's text (dependabot, renovate) are still
/// reported.
fn own_bots(cx: &AgentCx<'_, '_>, list: &str) -> bool {
    const RELAYS: &[&str] = &["dependabot", "renovate", "github-actions", "copilot"];
    let conditions: String = [cx.job.condition(), cx.step.and_then(|s| s.condition())]
        .into_iter()
        .flatten()
        .filter_map(|n| n.as_str())
        .collect::<Vec<_>>()
        .join("\n")
        .to_ascii_lowercase();
    let bots: Vec<String> = list
        .split(',')
        .map(|b| b.trim().trim_end_matches("[bot]").to_ascii_lowercase())
        .filter(|b| !b.is_empty())
        .collect();
    !bots.is_empty()
        && bots.iter().all(|bot| {
            !RELAYS.iter().any(|r| bot.starts_with(r))
                && ["'", "[bot]'"].iter().any(|end| {
                    conditions.contains(&format!("== '{bot}{end}"))
                        || conditions.contains(&format!("=='{bot}{end}"))
                })
        })
}
