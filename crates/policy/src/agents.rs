//! The workspace files that steer or extend a coding agent: instructions it follows, settings
//! that choose its tools and permissions, MCP servers and plugins it starts, tasks an editor
//! runs. An agent that writes one of these changes what the next agent run (or the next
//! developer's editor) does, so they are protected like `.github/workflows`. One table, so the
//! fence, the file sensor and the docs name the same list; `files.protected` adds to it.

/// One agent configuration path, relative to the workspace, and who reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentConfig {
    pub path: &'static str,
    pub agent: &'static str,
    /// The agent reads it as a file at start and fails on anything else (a directory, or an
    /// empty file): a missing one is held by a read-only file with this content, the emptiest
    /// the agent accepts, not by the empty directory other paths get.
    pub file: Option<&'static str>,
}

const fn entry(path: &'static str, agent: &'static str) -> AgentConfig {
    AgentConfig { path, agent, file: None }
}

const fn file_entry(path: &'static str, agent: &'static str, empty: &'static str) -> AgentConfig {
    AgentConfig { path, agent, file: Some(empty) }
}

/// The content a missing protected path is held with, when it is held by a file (see
/// [`AgentConfig::file`]).
pub fn held_as_file(path: &std::path::Path, workspace: &std::path::Path) -> Option<&'static str> {
    let rel = path.strip_prefix(workspace).ok()?;
    AGENT_CONFIG.iter().find(|a| std::path::Path::new(a.path) == rel).and_then(|a| a.file)
}

/// Every agent ringfence names (README, docs/audit.md), and the editors they run in.
pub const AGENT_CONFIG: &[AgentConfig] = &[
    entry(".claude", "Claude Code (settings, hooks, commands, agents)"),
    entry("CLAUDE.md", "Claude Code (instructions)"),
    entry("CLAUDE.local.md", "Claude Code (instructions)"),
    entry(".mcp.json", "Claude Code (MCP servers)"),
    entry("AGENTS.md", "Codex, opencode, Cursor, Copilot (instructions)"),
    entry("AGENTS.override.md", "Codex (instructions)"),
    entry(".codex", "Codex (project config, MCP servers)"),
    entry(".gemini", "Gemini CLI (settings, MCP servers, commands)"),
    entry("GEMINI.md", "Gemini CLI (instructions)"),
    entry(".cursor", "Cursor (rules, MCP servers)"),
    entry(".cursorrules", "Cursor (instructions)"),
    entry(".opencode", "opencode (agents, commands, plugins)"),
    entry("opencode.json", "opencode (config, MCP servers)"),
    entry("opencode.jsonc", "opencode (config, MCP servers)"),
    // aider 0.86 reads both at start and stops on a directory (IsADirectoryError) or on a file
    // that is not a YAML mapping / list.
    file_entry(".aider.conf.yml", "aider (config)", "{}\n"),
    file_entry(".aider.model.settings.yml", "aider (model settings)", "[]\n"),
    entry(".github/copilot-instructions.md", "GitHub Copilot (instructions)"),
    entry(".github/instructions", "GitHub Copilot (instructions)"),
    entry(".github/prompts", "GitHub Copilot (prompt files)"),
    entry(".github/agents", "GitHub Copilot (custom agents)"),
    entry(".vscode/mcp.json", "VS Code / Copilot (MCP servers)"),
    entry(".vscode/settings.json", "VS Code (settings that start tools)"),
    entry(".vscode/tasks.json", "VS Code (tasks, some run on folder open)"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_path_is_relative_clean_and_listed_once() {
        for (i, a) in AGENT_CONFIG.iter().enumerate() {
            assert!(!a.path.starts_with('/') && !a.path.ends_with('/') && !a.path.contains(".."), "{a:?}");
            assert!(!a.agent.is_empty());
            assert!(AGENT_CONFIG[..i].iter().all(|b| b.path != a.path), "{} twice", a.path);
        }
    }
}
