//! `permission-bypass`: the agent runs with its permission prompts or sandbox switched off.

use super::tool_args::{args, flag, flag_value};
use super::{AgentCx, Rule, RuleMeta, Sink};
use crate::finding::{Category, Confidence, Severity};
use crate::source::SourceFile;
use crate::workflow::{Launch, catalogue, ghaw};
use crate::yaml::Node;

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

const ALWAYS_FIX: &str = "list the commands the agent needs in the `settings` input's `tools.core` \
                          (`\"run_shell_command(npm test)\"`), never bare `run_shell_command`, and run it under \
                          `ringfence run`";

/// Why a Gemini CLI `settings` value leaves the shell open under `--yolo`: no `tools.core`
/// allowlist (every built-in tool is on), or one that lists `run_shell_command` without a
/// command. `None` when the shell is limited to listed commands or absent.
fn unrestricted_shell(settings: Option<&Node>) -> Option<&'static str> {
    let Some(text) = settings.and_then(Node::as_str) else {
        return Some("no `settings` input limits its tools");
    };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(text) else {
        // A templated or invalid value: what it holds cannot be read, so say nothing.
        return None;
    };
    let core = json.pointer("/tools/core").or_else(|| json.get("coreTools"));
    let Some(core) = core.and_then(|c| c.as_array()) else {
        return Some("its `settings` have no `tools.core` allowlist");
    };
    let bare = core.iter().filter_map(|t| t.as_str()).any(|t| {
        let t = t.trim();
        t == "run_shell_command" || t == "ShellTool" || t == "run_shell_command()"
    });
    bare.then_some("`tools.core` lists `run_shell_command` without a command")
}

impl Rule for PermissionBypass {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn agent(&self, cx: &AgentCx<'_, '_>, out: &mut Sink<'_>) {
        let args = args(cx);
        let mut severity = if cx.outside_events() { Severity::Critical } else { Severity::High };
        // gh-aw runs the agent inside its firewall with a read-only token; what it may change
        // goes through threat detection and the safe-output job's allowlist.
        let compiled = ghaw::is_lock_file(cx.file()) && in_firewall(cx);
        if compiled {
            severity = Severity::Low;
        }
        let (flags, modes) = catalogue::bypass(cx.agent.tool);
        if let Some((arg, _)) = flag(&args, flags) {
            let mut message = format!(
                "{} runs with `{}`: {}",
                cx.agent.tool.name(),
                arg.text,
                catalogue::bypass_effect(cx.agent.tool, &arg.text)
            );
            if compiled {
                message.push_str(
                    "; gh-aw runs it inside its egress firewall with a read-only token, and its changes pass \
                     threat detection and the safe-output job",
                );
            }
            out.add(arg.span, severity, Confidence::High, message, FIX);
        }
        for (flags, bad) in modes {
            if let Some((value, arg)) = flag_value(&args, flags).filter(|(v, _)| v == bad) {
                let message = format!("{} runs with `{} {value}`", cx.agent.tool.name(), flags[0]);
                out.add(arg.span, severity, Confidence::High, message, FIX);
            }
        }
        if let Some(cli) = catalogue::cli(cx.agent.tool) {
            // `-c sandbox_mode=danger-full-access`, `--config approval_policy=never`.
            for (i, a) in args.iter().enumerate() {
                let value = match a.text.as_str() {
                    "-c" | "--config" => args.get(i + 1).map(|n| n.text.as_str()),
                    t => t
                        .strip_prefix("--config=")
                        .or_else(|| t.strip_prefix("-c").filter(|r| r.contains('='))),
                };
                let Some((key, val)) = value.and_then(|v| v.split_once('=')) else { continue };
                let val = val.trim_matches(['"', '\'']);
                if cli.config_modes.iter().any(|(k, v)| *k == key.trim() && *v == val) {
                    let message =
                        format!("{} runs with the configuration `{key}={val}`", cx.agent.tool.name());
                    out.add(a.span, severity, Confidence::High, message, FIX);
                }
            }
            // `AIDER_YES_ALWAYS: true` in the step's, job's or workflow's env.
            for (var, flag) in cli.env_flags {
                if let Some(node) = truthy_env(cx, var) {
                    let message = format!(
                        "{} runs with `{var}` set, as `{flag}`: {}",
                        cx.agent.tool.name(),
                        catalogue::bypass_effect(cx.agent.tool, flag)
                    );
                    out.add(node.span, severity, Confidence::High, message, FIX);
                }
            }
        }
        let Some(spec) = cx.agent.action_spec() else { return };
        for (input, bad) in spec.bypass_inputs {
            if let Some(node) = cx.with(input).filter(|n| n.as_str() == Some(bad)) {
                let message = format!("{} runs with `{input}: {bad}`", cx.agent.tool.name());
                out.add(node.span, severity, Confidence::High, message, FIX);
            }
        }
        if let Some(always) = spec.always
            && let Some(why) = unrestricted_shell(cx.with("settings"))
        {
            let message = format!(
                "`{}` always starts {} with `{always}`, and {why}: every shell command runs without a check",
                cx.agent.action_ref().and_then(|u| u.as_str()).unwrap_or("the action"),
                cx.agent.tool.name()
            );
            out.add(cx.agent.anchor.span, severity, Confidence::High, message, ALWAYS_FIX);
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

/// Is the agent started inside gh-aw's firewall (`awf … -- <agent>`)?
fn in_firewall(cx: &AgentCx<'_, '_>) -> bool {
    let Launch::Run { node, command, .. } = &cx.agent.launch else { return false };
    let text = node.as_str().and_then(|s| s.get(command.raw.clone())).unwrap_or("");
    crate::shell::commands(text).iter().any(|c| ghaw::firewall(c).is_some())
}

/// The value node of `var` in the agent step's, job's or workflow's `env:` when it is on
/// (`true`, `1`, `yes`).
pub(crate) fn truthy_env<'a>(cx: &AgentCx<'_, 'a>, var: &str) -> Option<&'a Node> {
    let envs = [cx.step.and_then(|s| s.env()), cx.job.env(), cx.wf.env()];
    envs.into_iter().flatten().find_map(|env| {
        env.entries()
            .find(|(k, _)| k.as_str().is_some_and(|k| k.eq_ignore_ascii_case(var)))
            .map(|(_, v)| v)
            .filter(|v| {
                v.as_str()
                    .is_some_and(|t| matches!(t.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes"))
            })
    })
}
