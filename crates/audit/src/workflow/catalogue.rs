//! The agent catalogue: every coding agent ringfence recognises in CI, how it is started, which
//! of its flags or inputs bypass its permission system, which inputs turn off an action's own
//! write-access check, and where its prompt comes from. Rules read this table instead of
//! keeping their own lists, so a new agent or a renamed input is one edit here.
//!
//! Each entry says which version of the agent's documentation or `action.yml` it was read
//! from; a behaviour that changed since is a stale row, not a rule bug.

use super::agents::AgentTool;

/// How a CLI must be called to run the agent (rather than print help or log in).
#[derive(Clone, Copy, Debug)]
pub enum Start {
    /// Any invocation runs the agent.
    Any,
    /// One of these flags must be present (`claude -p`).
    Flag(&'static [&'static str]),
    /// The first argument must be one of these subcommands (`codex exec`).
    Sub(&'static [&'static str]),
}

/// A flag whose value bypasses the permission system: `(flag spellings, bad value)`.
pub type Mode = (&'static [&'static str], &'static str);

/// An input of an agent action that opens its built-in write-access check.
#[derive(Clone, Copy, Debug)]
pub struct OptOut {
    pub input: &'static str,
    /// Values that open the check to everyone of `who`.
    pub opens: &'static [&'static str],
    /// Values that keep the check (anything else is a named list of accounts).
    pub keeps: &'static [&'static str],
    pub who: &'static str,
}

/// A GitHub Action that runs an agent.
#[derive(Clone, Copy, Debug)]
pub struct ActionSpec {
    /// `owner/repo[/path]`, lowercase; a leading `*/` matches any owner (third-party wrappers
    /// published under many names).
    pub uses: &'static str,
    pub tool: AgentTool,
    /// The action refuses actors without write access unless an [`OptOut`] input opens it.
    pub write_check: bool,
    pub opt_outs: &'static [OptOut],
    /// Inputs that carry the agent's command line.
    pub args_inputs: &'static [&'static str],
    /// Inputs whose value (or the file they name) becomes the prompt.
    pub prompt_inputs: &'static [&'static str],
    /// Inputs that set the bypass directly: `(input, bad value)`.
    pub bypass_inputs: &'static [(&'static str, &'static str)],
    /// The action always starts the agent with this bypass flag, whatever the workflow says.
    pub always: Option<&'static str>,
    pub read_from: &'static str,
}

/// A command-line agent.
#[derive(Clone, Copy, Debug)]
pub struct CliSpec {
    pub tool: AgentTool,
    /// Program names (basename) that start it, each with how it must be called.
    pub programs: &'static [(&'static str, Start)],
    /// Environment variables holding the agent's own API key (beside the model providers').
    pub keys: &'static [&'static str],
    /// npm packages and pip distributions that install it (runnable with `npx`/`uvx` too).
    pub packages: &'static [&'static str],
    /// Python modules that run it with `python -m` (a prefix: `openhands.resolver.` covers
    /// every resolver entry point).
    pub modules: &'static [&'static str],
    /// Parts of installer-script URLs (`curl … | bash`).
    pub installers: &'static [&'static str],
    /// Container images that run it.
    pub images: &'static [&'static str],
    /// Flags that approve every tool call.
    pub bypass_flags: &'static [&'static str],
    pub bypass_modes: &'static [Mode],
    /// Flags whose value is the prompt or a file holding it.
    pub prompt_flags: &'static [&'static str],
    /// What a bypass flag does when it is less than "approve every tool call": `(flag, effect)`.
    pub flag_effects: &'static [(&'static str, &'static str)],
    /// `-c key=value` configuration overrides that bypass the permission system.
    pub config_modes: &'static [(&'static str, &'static str)],
    /// Environment variables that set a bypass flag: `(variable, flag)`, on when truthy.
    pub env_flags: &'static [(&'static str, &'static str)],
    /// Flags and environment variables (on when truthy) that make the agent load the
    /// repository's own configuration (settings, MCP servers, hooks): whoever wrote the
    /// checked-out files configures the agent.
    pub repo_config: &'static [&'static str],
    pub read_from: &'static str,
}

/// The fields most CLIs leave empty.
const NO_EXTRAS: CliSpec = CliSpec {
    tool: AgentTool::Script,
    programs: &[],
    keys: &[],
    packages: &[],
    modules: &[],
    installers: &[],
    images: &[],
    bypass_flags: &[],
    bypass_modes: &[],
    prompt_flags: &[],
    flag_effects: &[],
    config_modes: &[],
    env_flags: &[],
    repo_config: &[],
    read_from: "",
};

const CLAUDE_OPT_OUTS: &[OptOut] = &[
    OptOut {
        input: "allowed_non_write_users",
        opens: &["*", "true"],
        keeps: &["", "false"],
        who: "any user without write access",
    },
    OptOut { input: "allowed_bots", opens: &["*", "true"], keeps: &["", "false"], who: "any bot account" },
];
const CODEX_OPT_OUTS: &[OptOut] = &[
    OptOut {
        input: "allow-users",
        opens: &["*", "true"],
        keeps: &["", "false"],
        who: "any user without write access",
    },
    OptOut {
        input: "allow_users",
        opens: &["*", "true"],
        keeps: &["", "false"],
        who: "any user without write access",
    },
    OptOut { input: "allow-bots", opens: &["*", "true"], keeps: &["", "false"], who: "any bot account" },
    OptOut { input: "allow-bot-users", opens: &[], keeps: &[""], who: "these bot accounts" },
    // The first releases of codex-action, and the action inside the codex repository before
    // it, had a boolean switch instead.
    OptOut {
        input: "require_repo_write",
        opens: &["false"],
        keeps: &["", "true"],
        who: "any user without write access",
    },
];

/// Agent actions.
pub const ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        uses: "anthropics/claude-code-action",
        tool: AgentTool::Claude,
        write_check: true,
        opt_outs: CLAUDE_OPT_OUTS,
        args_inputs: &["claude_args"],
        prompt_inputs: &[
            "prompt",
            "direct_prompt",
            "override_prompt",
            "custom_instructions",
            "system_prompt",
        ],
        bypass_inputs: &[("permission_mode", "bypassPermissions")],
        always: None,
        read_from: "claude-code-action v1.0 action.yml (and v0.x inputs still accepted)",
    },
    ActionSpec {
        uses: "anthropics/claude-code-base-action",
        tool: AgentTool::Claude,
        write_check: false,
        opt_outs: &[],
        args_inputs: &["claude_args"],
        prompt_inputs: &["prompt", "prompt_file", "system_prompt", "append_system_prompt"],
        bypass_inputs: &[("permission_mode", "bypassPermissions")],
        always: None,
        read_from: "claude-code-base-action v0.0.6x action.yml",
    },
    ActionSpec {
        uses: "openai/codex-action",
        tool: AgentTool::Codex,
        write_check: true,
        opt_outs: CODEX_OPT_OUTS,
        args_inputs: &["codex-args", "codex_args"],
        prompt_inputs: &["prompt", "prompt-file"],
        bypass_inputs: &[("sandbox", "danger-full-access"), ("safety-strategy", "unsafe")],
        always: None,
        read_from: "codex-action v1 action.yml (2026); `require_repo_write` from its first releases (2025)",
    },
    ActionSpec {
        uses: "openai/codex/.github/actions/codex",
        tool: AgentTool::Codex,
        write_check: true,
        opt_outs: CODEX_OPT_OUTS,
        args_inputs: &["codex_args", "codex-args"],
        prompt_inputs: &["prompt", "prompt_file"],
        bypass_inputs: &[("sandbox", "danger-full-access")],
        always: None,
        read_from: "openai/codex .github/actions/codex (2025, before codex-action)",
    },
    ActionSpec {
        uses: "sst/opencode/github",
        tool: AgentTool::OpenCode,
        write_check: false,
        opt_outs: &[],
        args_inputs: &[],
        prompt_inputs: &["prompt"],
        bypass_inputs: &[],
        always: None,
        read_from: "opencode github/action.yml (0.x, `/oc` and `/opencode` comment triggers)",
    },
    ActionSpec {
        uses: "anomalyco/opencode/github",
        tool: AgentTool::OpenCode,
        write_check: false,
        opt_outs: &[],
        args_inputs: &[],
        prompt_inputs: &["prompt"],
        bypass_inputs: &[],
        always: None,
        read_from: "opencode github/action.yml (1.x)",
    },
    ActionSpec {
        uses: "google-github-actions/run-gemini-cli",
        tool: AgentTool::Gemini,
        write_check: false,
        opt_outs: &[],
        args_inputs: &["gemini_cli_args"],
        prompt_inputs: &["prompt"],
        bypass_inputs: &[],
        // action.yml runs `gemini --yolo --prompt …`: only `tools.core` in `settings` limits it.
        always: Some("--yolo"),
        read_from: "run-gemini-cli v0.1 action.yml",
    },
    ActionSpec {
        uses: "google-gemini/gemini-cli-action",
        tool: AgentTool::Gemini,
        write_check: false,
        opt_outs: &[],
        args_inputs: &["gemini_cli_args"],
        prompt_inputs: &["prompt"],
        bypass_inputs: &[],
        always: Some("--yolo"),
        read_from: "gemini-cli-action (the run-gemini-cli predecessor) action.yml",
    },
    ActionSpec {
        uses: "qwenlm/qwen-code-action",
        tool: AgentTool::Qwen,
        write_check: false,
        opt_outs: &[],
        args_inputs: &[],
        prompt_inputs: &["prompt"],
        bypass_inputs: &[],
        always: Some("--yolo"),
        read_from: "qwen-code-action v1 action.yml (a run-gemini-cli fork)",
    },
    ActionSpec {
        uses: "factory-ai/droid-action",
        tool: AgentTool::Droid,
        // Its validation checks that the actor is human (or an allowed bot), not that it has
        // write access.
        write_check: false,
        opt_outs: &[],
        args_inputs: &["droid_args"],
        prompt_inputs: &["prompt"],
        bypass_inputs: &[],
        always: None,
        read_from: "droid-action v1 action.yml and src/github/validation (`@droid` comment triggers)",
    },
    ActionSpec {
        uses: "*/aider-github-action",
        tool: AgentTool::Aider,
        write_check: false,
        opt_outs: &[],
        // The wrapper passes `aider_args` to aider as its command line.
        args_inputs: &["aider_args"],
        prompt_inputs: &["aider_args"],
        bypass_inputs: &[],
        always: None,
        read_from: "mirrajabi/aider-github-action 1.1.0 action.yml and its forks",
    },
    ActionSpec {
        uses: "actions/ai-inference",
        tool: AgentTool::AiInference,
        write_check: false,
        opt_outs: &[],
        args_inputs: &[],
        prompt_inputs: &["prompt", "prompt-file", "system-prompt"],
        bypass_inputs: &[],
        always: None,
        read_from: "ai-inference v1 action.yml",
    },
];

/// Command-line agents.
pub const CLIS: &[CliSpec] = &[
    CliSpec {
        tool: AgentTool::Claude,
        programs: &[("claude", Start::Flag(&["-p", "--print"]))],
        keys: &[],
        packages: &["@anthropic-ai/claude-code"],
        modules: &[],
        installers: &["claude.ai/install.sh"],
        images: &[],
        bypass_flags: &["--dangerously-skip-permissions", "--allow-dangerously-skip-permissions"],
        bypass_modes: &[(&["--permission-mode"], "bypassPermissions")],
        prompt_flags: &["-p", "--print", "--append-system-prompt", "--system-prompt"],
        read_from: "Claude Code 2.0 CLI reference",
        ..NO_EXTRAS
    },
    CliSpec {
        tool: AgentTool::Codex,
        programs: &[("codex", Start::Sub(&["exec", "e"]))],
        keys: &["CODEX_API_KEY"],
        packages: &["@openai/codex"],
        modules: &[],
        installers: &[],
        images: &[],
        bypass_flags: &[
            "--dangerously-bypass-approvals-and-sandbox",
            "--yolo",
            "--full-auto",
            "--approve-for-me",
        ],
        bypass_modes: &[(&["--sandbox", "-s"], "danger-full-access")],
        prompt_flags: &[],
        flag_effects: &[
            (
                "--full-auto",
                "writes in the workspace and runs commands without asking (an older Codex: `codex exec` 0.171 \
                 rejects `--full-auto` with exit status 2, so this workflow pins a version before it or fails)",
            ),
            ("--approve-for-me", "tool calls are approved on the user's behalf without asking"),
        ],
        config_modes: &[("sandbox_mode", "danger-full-access"), ("approval_policy", "never")],
        repo_config: &["--trust", "--dangerously-bypass-hook-trust"],
        read_from: "Codex CLI 0.4x `codex exec --help`; 0.171.0 run for real (`--full-auto` refused by `exec`, \
                    `--yolo` accepted, `--trust` and `--dangerously-bypass-hook-trust` load `.codex/` config and hooks)",
        ..NO_EXTRAS
    },
    CliSpec {
        tool: AgentTool::Gemini,
        programs: &[("gemini", Start::Any)],
        keys: &[],
        packages: &["@google/gemini-cli"],
        modules: &[],
        installers: &[],
        images: &[],
        bypass_flags: &["--yolo", "-y"],
        bypass_modes: &[(&["--approval-mode"], "yolo")],
        prompt_flags: &["-p", "--prompt", "-i", "--prompt-interactive"],
        repo_config: &["--skip-trust", "GEMINI_CLI_TRUST_WORKSPACE"],
        read_from: "Gemini CLI 0.8 `gemini --help`; 0.61.0 run for real (headless mode needs `--skip-trust` or \
                    `GEMINI_CLI_TRUST_WORKSPACE=true`, which load the repository's `.gemini/` settings)",
        ..NO_EXTRAS
    },
    CliSpec {
        tool: AgentTool::Qwen,
        programs: &[("qwen", Start::Any)],
        keys: &["DASHSCOPE_API_KEY", "QWEN_API_KEY"],
        packages: &["@qwen-code/qwen-code"],
        modules: &[],
        installers: &[],
        images: &[],
        bypass_flags: &["--yolo", "-y"],
        bypass_modes: &[(&["--approval-mode"], "yolo")],
        prompt_flags: &["-p", "--prompt"],
        read_from: "Qwen Code 0.0.x `qwen --help` (a Gemini CLI fork)",
        ..NO_EXTRAS
    },
    CliSpec {
        tool: AgentTool::CopilotCli,
        programs: &[("copilot", Start::Flag(&["-p", "--prompt"]))],
        keys: &["COPILOT_GITHUB_TOKEN"],
        packages: &["@github/copilot"],
        modules: &[],
        installers: &[],
        images: &[],
        bypass_flags: &["--allow-all-tools", "--allow-all", "--yolo"],
        bypass_modes: &[],
        prompt_flags: &["-p", "--prompt"],
        read_from: "GitHub Copilot CLI 0.0.3x `copilot --help`",
        ..NO_EXTRAS
    },
    CliSpec {
        tool: AgentTool::Aider,
        programs: &[("aider", Start::Any)],
        keys: &[],
        packages: &["aider-chat", "aider-install"],
        modules: &["aider"],
        installers: &["aider.chat/install.sh"],
        images: &["paulgauthier/aider"],
        bypass_flags: &["--yes", "--yes-always", "--auto-test"],
        bypass_modes: &[],
        prompt_flags: &["-m", "--message", "-f", "--message-file", "--read"],
        flag_effects: &[
            (
                "--yes",
                "every confirmation (edits, new files, URLs) is answered yes; in aider 0.86 the shell commands \
                 the model proposes are still answered no",
            ),
            (
                "--yes-always",
                "every confirmation (edits, new files, URLs) is answered yes; in aider 0.86 the shell commands \
                 the model proposes are still answered no",
            ),
            (
                "--auto-test",
                "the test command runs after every edit, without asking: code the model wrote runs",
            ),
        ],
        env_flags: &[
            ("AIDER_YES_ALWAYS", "--yes-always"),
            ("AIDER_YES", "--yes"),
            ("AIDER_AUTO_TEST", "--auto-test"),
        ],
        read_from: "aider 0.86 `aider --help`; 0.86.2 run for real (`--yes-always` answers no to proposed shell \
                    commands)",
        ..NO_EXTRAS
    },
    CliSpec {
        tool: AgentTool::OpenHands,
        programs: &[("openhands", Start::Any)],
        keys: &["LLM_API_KEY"],
        packages: &["openhands-ai"],
        modules: &["openhands.resolver.", "openhands.core.main", "openhands.cli"],
        installers: &[],
        images: &["docker.all-hands.dev/all-hands-ai/openhands", "ghcr.io/all-hands-ai/openhands"],
        // The resolver and headless mode confirm no action: there is no permission system to
        // bypass, so nothing is reported as a bypass flag.
        bypass_flags: &[],
        bypass_modes: &[],
        prompt_flags: &["-t", "--task", "-f", "--file", "--prompt-file"],
        read_from: "OpenHands 0.5x resolver README (`python -m openhands.resolver.resolve_issue`)",
        ..NO_EXTRAS
    },
    CliSpec {
        tool: AgentTool::OpenCode,
        programs: &[("opencode", Start::Any)],
        keys: &["OPENCODE_API_KEY"],
        packages: &["opencode-ai"],
        modules: &[],
        installers: &["opencode.ai/install"],
        images: &[],
        bypass_flags: &["--force", "-f", "--yolo"],
        bypass_modes: &[],
        prompt_flags: &[],
        read_from: "opencode 0.15 `opencode run --help`",
        ..NO_EXTRAS
    },
    CliSpec {
        tool: AgentTool::Goose,
        programs: &[("goose", Start::Sub(&["run"]))],
        keys: &["GOOSE_API_KEY"],
        packages: &[],
        modules: &[],
        installers: &["block/goose/releases/download/stable/download_cli.sh"],
        images: &["ghcr.io/block/goose"],
        bypass_flags: &[],
        bypass_modes: &[],
        prompt_flags: &["-t", "--text", "-i", "--instructions", "--recipe"],
        read_from: "goose 1.x `goose run --help` and its recipe docs",
        ..NO_EXTRAS
    },
    CliSpec {
        tool: AgentTool::CursorAgent,
        programs: &[("cursor-agent", Start::Any), ("agent", Start::Flag(&["-p", "--print"]))],
        keys: &["CURSOR_API_KEY"],
        packages: &[],
        modules: &[],
        installers: &["cursor.com/install"],
        images: &[],
        bypass_flags: &["--force", "-f", "--yolo"],
        bypass_modes: &[],
        prompt_flags: &["-p", "--print"],
        read_from: "Cursor CLI (cursor-agent) 2025.10 `cursor-agent --help`",
        ..NO_EXTRAS
    },
    CliSpec {
        tool: AgentTool::Droid,
        programs: &[("droid", Start::Sub(&["exec"]))],
        keys: &["FACTORY_API_KEY"],
        packages: &[],
        modules: &[],
        installers: &["app.factory.ai/cli"],
        images: &[],
        bypass_flags: &["--skip-permissions-unsafe"],
        bypass_modes: &[(&["--auto"], "high")],
        prompt_flags: &["-f", "--file"],
        read_from: "Factory droid exec docs (Droid Exec overview, autonomy levels)",
        ..NO_EXTRAS
    },
    CliSpec {
        tool: AgentTool::Amp,
        programs: &[("amp", Start::Flag(&["-x", "--execute"]))],
        keys: &["AMP_API_KEY"],
        packages: &["@sourcegraph/amp"],
        modules: &[],
        installers: &["ampcode.com/install.sh"],
        images: &[],
        bypass_flags: &["--dangerously-allow-all"],
        bypass_modes: &[],
        prompt_flags: &["-x", "--execute"],
        read_from: "Amp CLI 0.0.17x `amp --help`",
        ..NO_EXTRAS
    },
];

/// The action a `uses:` (lowercased, without `@ref`) names.
pub fn action(uses: &str) -> Option<&'static ActionSpec> {
    ACTIONS.iter().find(|spec| match spec.uses.strip_prefix("*/") {
        Some(name) => uses.split('/').nth(1) == Some(name),
        None => uses == spec.uses || uses.starts_with(&format!("{}/", spec.uses)),
    })
}

/// The CLI entry of a tool.
pub fn cli(tool: AgentTool) -> Option<&'static CliSpec> {
    CLIS.iter().find(|c| c.tool == tool)
}

/// The CLI a program name starts, with how it must be called to run the agent.
pub fn by_program(program: &str) -> Option<(&'static CliSpec, Start)> {
    CLIS.iter().find_map(|c| c.programs.iter().find(|(p, _)| *p == program).map(|(_, s)| (c, *s)))
}

/// Is `name` an agent's own API key variable in the catalogue?
pub fn is_agent_key(name: &str) -> bool {
    CLIS.iter().any(|c| c.keys.iter().any(|k| k.eq_ignore_ascii_case(name)))
}

/// The CLI an npm package or pip distribution installs.
pub fn by_package(name: &str) -> Option<&'static CliSpec> {
    CLIS.iter().find(|c| c.packages.contains(&name))
}

/// The CLI `python -m MODULE` starts.
pub fn by_module(module: &str) -> Option<&'static CliSpec> {
    CLIS.iter().find(|c| c.modules.iter().any(|m| module == m.trim_end_matches('.') || module.starts_with(m)))
}

/// The CLI an installer URL or container image belongs to.
pub fn by_download(text: &str) -> Option<&'static CliSpec> {
    CLIS.iter().find(|c| c.installers.iter().chain(c.images).any(|i| text.contains(i)))
}

/// What a bypass flag of `tool` does, for messages.
pub fn bypass_effect(tool: AgentTool, flag: &str) -> &'static str {
    cli(tool)
        .and_then(|c| c.flag_effects.iter().find(|(f, _)| *f == flag).map(|(_, e)| *e))
        .unwrap_or("every tool call is approved without checks")
}

/// The bypass flags and modes of a tool (an action's tool uses its CLI's).
pub fn bypass(tool: AgentTool) -> (&'static [&'static str], &'static [Mode]) {
    cli(tool).map_or((&[], &[]), |c| (c.bypass_flags, c.bypass_modes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        assert_eq!(action("mirrajabi/aider-github-action").map(|a| a.tool), Some(AgentTool::Aider));
        assert_eq!(action("someone/aider-github-action").map(|a| a.tool), Some(AgentTool::Aider));
        assert_eq!(action("openai/codex/.github/actions/codex").map(|a| a.tool), Some(AgentTool::Codex));
        assert!(action("openai/codex-action-fork").is_none());
        assert_eq!(by_module("openhands.resolver.resolve_issue").map(|c| c.tool), Some(AgentTool::OpenHands));
        assert!(by_module("openhandsx").is_none());
        assert!(matches!(by_program("agent"), Some((c, Start::Flag(_))) if c.tool == AgentTool::CursorAgent));
        assert!(is_agent_key("cursor_api_key"));
        assert_eq!(
            by_download("curl -fsSL https://cursor.com/install").map(|c| c.tool),
            Some(AgentTool::CursorAgent)
        );
        // Every tool that has a CLI has exactly one entry.
        for c in CLIS {
            assert_eq!(CLIS.iter().filter(|d| d.tool == c.tool).count(), 1, "{:?}", c.tool);
        }
    }
}
