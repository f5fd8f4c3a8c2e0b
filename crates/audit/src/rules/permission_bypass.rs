//! `permission-bypass`: the agent runs with its permission prompts or sandbox switched off.

use super::tool_args::{args, flag, flag_value};
use super::{AgentCx, Rule, RuleMeta, Sink};
use crate::finding::{Category, Confidence, Severity};
use crate::source::SourceFile;
use crate::workflow::AgentTool;

pub struct PermissionBypass;

static META: RuleMeta = RuleMeta {
    id: "permission-bypass",
    category: Category::Tools,
    summary: "the agent runs with permission checks or its sandbox disabled",
    why: "With approvals bypassed the model may run any command the runner can: one injected instruction \
          is enough to read secrets, push code or reach the network (the Nx s1ngularity malware relied on \
          exactly these flags).",
};

const FIX: &str = "drop the flag; allow the few tools the task needs (`--allowedTools \"Read,Edit,Bash(npm test)\"`) \
                   and run the agent under `ringfence run` so the kernel enforces what the flags no longer do";

/// Flags that switch off approvals or sandboxing, per tool.
fn bypass_flags(tool: AgentTool) -> &'static [&'static str] {
    match tool {
        AgentTool::Claude => &["--dangerously-skip-permissions", "--allow-dangerously-skip-permissions"],
        AgentTool::Codex => &["--dangerously-bypass-approvals-and-sandbox", "--yolo", "--full-auto"],
        AgentTool::Gemini => &["--yolo", "-y"],
        AgentTool::Aider => &["--yes", "--yes-always"],
        AgentTool::OpenCode | AgentTool::CursorAgent => &["--force", "-f", "--yolo"],
        _ => &[],
    }
}

impl Rule for PermissionBypass {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn agent(&self, cx: &AgentCx<'_, '_>, out: &mut Sink<'_>) {
        let args = args(cx);
        let severity = if cx.outside_events() { Severity::Critical } else { Severity::High };
        if let Some((arg, _)) = flag(&args, bypass_flags(cx.agent.tool)) {
            let message = format!(
                "{} runs with `{}`: every tool call is approved without checks",
                cx.agent.tool.name(),
                arg.text
            );
            out.add(arg.span, severity, Confidence::High, message, FIX);
        }
        let modes = [
            (&["--permission-mode"][..], "bypassPermissions"),
            (&["--sandbox", "-s"][..], "danger-full-access"),
            (&["--approval-mode"][..], "yolo"),
        ];
        for (flags, bad) in modes {
            if let Some((value, arg)) = flag_value(&args, flags).filter(|(v, _)| v == bad) {
                let message = format!("{} runs with `{} {value}`", cx.agent.tool.name(), flags[0]);
                out.add(arg.span, severity, Confidence::High, message, FIX);
            }
        }
        // codex-action inputs.
        let inputs = [
            ("sandbox", "danger-full-access"),
            ("safety-strategy", "unsafe"),
            ("permission_mode", "bypassPermissions"),
        ];
        for (input, bad) in inputs {
            if let Some(node) = cx.with(input).filter(|n| n.as_str() == Some(bad)) {
                let message = format!("{} runs with `{input}: {bad}`", cx.agent.tool.name());
                out.add(node.span, severity, Confidence::High, message, FIX);
            }
        }
        // A `settings` input carries the same JSON as .claude/settings.json.
        let settings =
            cx.with("settings").filter(|n| n.as_str().is_some_and(|s| s.contains("\"bypassPermissions\"")));
        if let Some(node) = settings {
            let message = "the `settings` input sets `defaultMode` to `bypassPermissions`".to_string();
            out.add(node.span, severity, Confidence::Medium, message, FIX);
        }
    }

    fn claude_settings(&self, file: &SourceFile, out: &mut Sink<'_>) {
        let Some(mode) = file.root.get("permissions").and_then(|p| p.get("defaultMode")) else { return };
        if mode.as_str() == Some("bypassPermissions") {
            let message =
                "`permissions.defaultMode` is `bypassPermissions`: Claude Code approves every tool call"
                    .into();
            out.add(
                mode.span,
                Severity::High,
                Confidence::High,
                message,
                "use `default` or `acceptEdits` with an explicit allow list",
            );
        }
        if let Some(skip) =
            file.root.get("skipDangerousModePermissionPrompt").filter(|n| n.as_bool() == Some(true))
        {
            let message = "`skipDangerousModePermissionPrompt` is on".into();
            out.add(skip.span, Severity::Medium, Confidence::High, message, "remove it");
        }
    }
}
