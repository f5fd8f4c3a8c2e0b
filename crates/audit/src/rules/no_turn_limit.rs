//! `no-turn-limit`: nothing bounds how many turns the agent takes.

use super::tool_args::{args, flag};
use super::{AgentCx, Rule, RuleMeta, Sink};
use crate::finding::{Category, Confidence, Severity};
use crate::workflow::AgentTool;
use crate::workflow::agents::input_branches;

pub struct NoTurnLimit;

static META: RuleMeta = RuleMeta {
    id: "no-turn-limit",
    category: Category::Budget,
    summary: "a Claude Code agent runs without `--max-turns`",
    why: "Without a turn limit a confused or steered agent loops until the job times out, spending model \
          budget the whole time (cost abuse is an attacker's goal too).",
};

impl Rule for NoTurnLimit {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn agent(&self, cx: &AgentCx<'_, '_>, out: &mut Sink<'_>) {
        if cx.agent.tool != AgentTool::Claude {
            return;
        }
        // An arguments input built by an expression limits the turns only if every string it
        // can yield does.
        let every_branch = cx.agent.action_spec().is_some_and(|spec| {
            spec.args_inputs.iter().chain(&["args"]).filter_map(|k| cx.with(k)).any(|node| {
                input_branches(cx.file(), node).iter().all(|b| flag(b, &["--max-turns"]).is_some())
            })
        });
        let limited = every_branch
            || (cx.agent.action_spec().is_none() && flag(&args(cx), &["--max-turns"]).is_some())
            || cx.with("max_turns").is_some()
            || cx.with("settings").is_some_and(|s| s.as_str().is_some_and(|t| t.contains("maxTurns")));
        if limited {
            return;
        }
        out.add(
            cx.agent.span(cx.file()),
            if cx.outside_events() { Severity::Medium } else { Severity::Low },
            Confidence::High,
            "Claude Code runs without a turn limit".into(),
            "add `--max-turns N` to `claude_args` (or the command line), sized for the task",
        );
    }
}
