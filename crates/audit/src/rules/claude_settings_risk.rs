//! `claude-settings-risk`: `.claude/settings.json` switches that widen what runs unattended.

use super::{Rule, RuleMeta, Sink};
use crate::finding::{Category, Confidence, Severity};
use crate::source::SourceFile;

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
        if let Some((key, _)) = root.entry("hooks").filter(|(_, v)| file.raw(v).contains("\"command\"")) {
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
