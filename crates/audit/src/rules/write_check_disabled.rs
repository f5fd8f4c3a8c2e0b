//! `write-check-disabled`: the agent action's own write-access check is turned off.

use super::{AgentCx, Rule, RuleMeta, Sink};
use crate::finding::{Category, Confidence, Severity};

pub struct WriteCheckDisabled;

static META: RuleMeta = RuleMeta {
    id: "write-check-disabled",
    category: Category::Trigger,
    summary: "claude-code-action or codex-action lets users without write access (or any bot) start it",
    why: "These actions refuse actors without write access unless told otherwise; `*` lets every GitHub \
          user drive the agent (the Cline compromise started this way).",
};

impl Rule for WriteCheckDisabled {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn agent(&self, cx: &AgentCx<'_, '_>, out: &mut Sink<'_>) {
        // The inputs come from the catalogue, under every spelling each action has had.
        let Some(spec) = cx.agent.action_spec().filter(|s| s.write_check) else { return };
        for opt in spec.opt_outs {
            let Some(node) = cx.with(opt.input) else { continue };
            let (input, who) = (opt.input, opt.who);
            let value = node.as_str().unwrap_or("").trim();
            let (severity, mut what) = if opt.opens.contains(&value) {
                (
                    if cx.outside_events() { Severity::Critical } else { Severity::High },
                    format!("`{input}: {value}` lets {who} start the agent"),
                )
            } else if opt.keeps.contains(&value)
                || opt.opens == ["false"]
                || (who.contains("bot") && own_bots(cx, value))
            {
                continue;
            } else {
                (
                    Severity::Low,
                    format!("`{input}` lets these accounts without write access start the agent: {value}"),
                )
            };
            // A gate that holds (an author-association or actor check in `if:`, a permission
            // check step) still keeps outsiders away from the agent: the opened check is a
            // second line of defence gone, not the first.
            let severity = if cx.gate.holds && severity > Severity::Low {
                what.push_str(&format!(
                    "; a gate still holds ({})",
                    cx.gate.strong.first().map(String::as_str).unwrap_or("a condition")
                ));
                Severity::Low
            } else {
                severity
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
