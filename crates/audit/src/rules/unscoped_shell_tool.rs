//! `unscoped-shell-tool`: the agent may run any shell command without asking.

use super::tool_args::{Risk, allowed_tools, risky_tool_in};
use super::{AgentCx, Rule, RuleMeta, Sink};
use crate::finding::{Category, Confidence, Severity};
use crate::source::SourceFile;

pub struct UnscopedShellTool;

static META: RuleMeta = RuleMeta {
    id: "unscoped-shell-tool",
    category: Category::Tools,
    summary: "the agent is allowed `Bash` without a scope, or with a scope that runs any program",
    why: "An allowed `Bash` (or `Bash(npx:*)`, `Bash(npm run:*)`, `Bash(git:*)`) lets injected instructions \
          run arbitrary code: the scope looks narrow but the program behind it is not.",
};

const FIX: &str = "allow exact commands (`Bash(npm test)`, `Bash(git diff:*)`) and deny the rest; a command \
                   policy is advice, so also run the agent under `ringfence run`";

impl Rule for UnscopedShellTool {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn agent(&self, cx: &AgentCx<'_, '_>, out: &mut Sink<'_>) {
        let severity = if cx.outside() {
            Severity::Critical
        } else if cx.outside_events() {
            Severity::High
        } else {
            Severity::Medium
        };
        let allowed = allowed_tools(cx);
        let names: Vec<String> = allowed.iter().map(|(t, _)| t.clone()).collect();
        for (tool, arg) in &allowed {
            if let Some(Risk { why, minor }) = risky_tool_in(tool, &names) {
                out.add(
                    arg.span,
                    if minor { Severity::Low } else { severity },
                    Confidence::High,
                    format!("{} is allowed {why}", cx.agent.tool.name()),
                    FIX,
                );
            }
        }
    }

    fn claude_settings(&self, file: &SourceFile, out: &mut Sink<'_>) {
        let Some(allow) = file.root.get("permissions").and_then(|p| p.get("allow")) else { return };
        // With ringfence's PreToolUse hook on Bash each command is parsed and checked against
        // `tools.bash` before it runs, so the wide allow entry is a smaller risk, not none.
        let guarded = super::claude_settings_risk::ringfence_hook_guards_bash(&file.root);
        let names: Vec<String> =
            allow.items().iter().filter_map(|r| r.as_str().map(str::to_string)).collect();
        for rule in allow.items() {
            let Some(Risk { why, minor }) = rule.as_str().and_then(|t| risky_tool_in(t, &names)) else {
                continue;
            };
            let (severity, message) = if minor {
                (Severity::Low, format!("the allow list admits {why}"))
            } else if guarded {
                (
                    Severity::Low,
                    format!(
                        "the allow list admits {why}; the ringfence hook checks each command before it runs"
                    ),
                )
            } else {
                (Severity::Medium, format!("the allow list admits {why}"))
            };
            out.add(rule.span, severity, Confidence::High, message, FIX);
        }
    }
}
