//! `tools:` — what the agent's own tool calls may do, checked by `ringfence hook claude` before
//! Claude Code runs them. The kernel fence holds whatever the hook decides; these rules refuse
//! early and tell the agent why.

/// What the hook answers for a tool call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum ToolVerdict {
    /// Nothing objects; an explicit `allow` entry makes the hook say so.
    #[default]
    Allow,
    /// Claude Code asks a person to confirm.
    Ask,
    Deny,
}

impl ToolVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            ToolVerdict::Allow => "allow",
            ToolVerdict::Ask => "ask",
            ToolVerdict::Deny => "deny",
        }
    }
}

/// A program, or a program and the subcommand words that must follow its options
/// (`curl`, `git push`, `gh gist create`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRule {
    pub program: String,
    pub subcommand: Vec<String>,
}

impl std::fmt::Display for CommandRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.program)?;
        for w in &self.subcommand {
            write!(f, " {w}")?;
        }
        Ok(())
    }
}

/// `tools.bash`: rules over every command a Bash tool call would run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BashRules {
    pub deny: Vec<CommandRule>,
    pub ask: Vec<CommandRule>,
    /// When present, a command outside it gets `otherwise`.
    pub allow: Vec<CommandRule>,
    /// For commands outside a non-empty `allow` (default `ask`).
    pub otherwise: ToolVerdict,
}

/// Path patterns for the file tools (`/etc/**`, `~/.ssh/**`, `.github/workflows/*`; relative ones
/// are relative to the project directory the hook is told).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PathRules {
    pub deny: Vec<String>,
    pub ask: Vec<String>,
}

/// `tools:` as a whole.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tools {
    pub bash: BashRules,
    /// Write, Edit, MultiEdit, NotebookEdit.
    pub write: PathRules,
    /// Read, and the paths Grep and Glob search.
    pub read: PathRules,
    /// Tool names (`mcp__github__create_gist`, `mcp__github__*`, `WebFetch`).
    pub deny_tools: Vec<String>,
    pub ask_tools: Vec<String>,
    /// What a command the hook cannot see gets while any bash rule is set (default `deny`).
    pub unseen: ToolVerdict,
    /// Where decisions are appended when the hook runs outside `ringfence run`.
    pub log: Option<String>,
}
