//! `claude-settings-risk`: `.claude/settings.json` switches that widen what runs unattended.

use super::{Rule, RuleMeta, Sink};
use crate::finding::{Category, Confidence, Severity};
use crate::source::SourceFile;
use crate::yaml::Node;

/// Every hook command in the settings, with the event it runs on and its matcher.
fn hook_commands(root: &Node) -> Vec<(&str, &str, &str)> {
    let mut out = Vec::new();
    let Some(hooks) = root.get("hooks") else { return out };
    for (event, groups) in hooks.entries() {
        for group in groups.items() {
            let matcher = group.get("matcher").and_then(Node::as_str).unwrap_or("");
            for hook in group.get("hooks").map(Node::items).unwrap_or_default() {
                if let Some(command) = hook.get("command").and_then(Node::as_str) {
                    out.push((event.as_str().unwrap_or(""), matcher, command));
                }
            }
        }
    }
    out
}

/// `ringfence hook claude` (by any path to the binary): it only reads the tool call and answers.
fn is_ringfence_hook(command: &str) -> bool {
    let mut words = command.split_whitespace();
    words.next().is_some_and(|p| p.trim_matches(['\'', '"']).rsplit('/').next() == Some("ringfence"))
        && words.next() == Some("hook")
        && words.next() == Some("claude")
}

/// Whether ringfence's hook checks every Bash call before it runs: a PreToolUse hook whose
/// matcher covers `Bash` (empty, `*`, or a pattern naming it).
pub(super) fn ringfence_hook_guards_bash(root: &Node) -> bool {
    hook_commands(root).iter().any(|(event, matcher, command)| {
        *event == "PreToolUse"
            && is_ringfence_hook(command)
            && (matcher.is_empty() || *matcher == "*" || matcher.split('|').any(|m| m == "Bash" || m == ".*"))
    })
}

pub struct ClaudeSettingsRisk;

static META: RuleMeta = RuleMeta {
    id: "claude-settings-risk",
    category: Category::Tools,
    summary: "project settings run commands or load tools that the permission list does not govern",
    why: "Hooks, MCP servers, plugins and helpers in the repository's settings run with the agent's rights \
          whenever it starts; whoever can change the file (a PR from a fork, the agent itself) chooses them.",
};

impl Rule for ClaudeSettingsRisk {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn claude_settings(&self, file: &SourceFile, out: &mut Sink<'_>) {
        let root = &file.root;
        // ringfence's own hook only reads the call and answers; any other command is reported.
        let others = hook_commands(root).iter().any(|(_, _, c)| !is_ringfence_hook(c));
        if let Some((key, _)) =
            root.entry("hooks").filter(|(_, v)| others && file.raw(v).contains("\"command\""))
        {
            out.add(
                key.span,
                Severity::Low,
                Confidence::Medium,
                "hooks run shell commands on agent events; they run outside the tool permission list".into(),
                "keep hook scripts small and read-only, write-protect `.claude/` from the agent, and review changes to them",
            );
        }
        if let Some(v) = root.get("enableAllProjectMcpServers").filter(|v| v.as_bool() == Some(true)) {
            out.add(
                v.span,
                Severity::Medium,
                Confidence::High,
                "`enableAllProjectMcpServers` starts every server in `.mcp.json` without approval".into(),
                "list the servers you trust in `enabledMcpjsonServers` instead",
            );
        }
        if let Some((key, _)) = root.entry("apiKeyHelper") {
            out.add(
                key.span,
                Severity::Low,
                Confidence::Medium,
                "`apiKeyHelper` runs a command from the repository to obtain credentials".into(),
                "set the key through the environment of the agent step instead",
            );
        }
        if let Some((key, _)) = root.entry("extraKnownMarketplaces") {
            out.add(
                key.span,
                Severity::Medium,
                Confidence::Medium,
                "extra plugin marketplaces let plugins (commands, hooks, MCP servers) load from outside the repository".into(),
                "pin plugins to reviewed commits or vendor them",
            );
        }
    }
}
