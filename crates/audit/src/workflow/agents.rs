//! Which steps start an AI coding agent, and with which arguments.

use super::Step;
use crate::shell::{self, Command};
use crate::source::SourceFile;
use crate::yaml::{Node, Span};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentTool {
    Claude,
    Codex,
    Gemini,
    AiInference,
    Copilot,
    Aider,
    OpenCode,
    CursorAgent,
}

impl AgentTool {
    pub fn name(self) -> &'static str {
        match self {
            AgentTool::Claude => "Claude Code",
            AgentTool::Codex => "Codex",
            AgentTool::Gemini => "Gemini CLI",
            AgentTool::AiInference => "GitHub AI inference",
            AgentTool::Copilot => "Copilot coding agent",
            AgentTool::Aider => "aider",
            AgentTool::OpenCode => "opencode",
            AgentTool::CursorAgent => "Cursor agent",
        }
    }
}

/// Agent actions: `uses:` prefix, tool, and whether the action refuses actors without write
/// access by itself.
const ACTIONS: &[(&str, AgentTool, bool)] = &[
    ("anthropics/claude-code-action", AgentTool::Claude, true),
    ("anthropics/claude-code-base-action", AgentTool::Claude, false),
    ("openai/codex-action", AgentTool::Codex, true),
    // The action codex-action grew out of; its verify step checks the sender's write access.
    ("openai/codex/.github/actions/codex", AgentTool::Codex, true),
    ("sst/opencode/github", AgentTool::OpenCode, false),
    ("anomalyco/opencode/github", AgentTool::OpenCode, false),
    ("google-github-actions/run-gemini-cli", AgentTool::Gemini, false),
    ("google-gemini/gemini-cli-action", AgentTool::Gemini, false),
    ("actions/ai-inference", AgentTool::AiInference, false),
];

/// npm packages and pip distributions that install an agent CLI.
const PACKAGES: &[(&str, AgentTool)] = &[
    ("@anthropic-ai/claude-code", AgentTool::Claude),
    ("@openai/codex", AgentTool::Codex),
    ("@google/gemini-cli", AgentTool::Gemini),
    ("opencode-ai", AgentTool::OpenCode),
    ("aider-chat", AgentTool::Aider),
    ("aider-install", AgentTool::Aider),
];

#[derive(Clone, Debug)]
pub enum Launch<'a> {
    Action {
        uses: &'a Node,
        write_check: bool,
    },
    /// Started from a `run:` script; `args` are the words after the program name.
    Run {
        node: &'a Node,
        command: Command,
        args_from: usize,
    },
    /// Only installed in this step (`npm i -g …`); started by something ringfence cannot see.
    Installed {
        node: &'a Node,
    },
    Copilot,
}

#[derive(Clone, Debug)]
pub struct Agent<'a> {
    /// Index of the step in its job; `None` for the Copilot agent, which runs after the job.
    pub step: Option<usize>,
    pub tool: AgentTool,
    pub launch: Launch<'a>,
    /// Where findings about the agent point.
    pub anchor: &'a Node,
}

/// One argument with where it is written.
#[derive(Clone, Debug)]
pub struct Arg {
    pub text: String,
    pub span: Span,
}

impl<'a> Agent<'a> {
    pub fn copilot(anchor: &'a Node) -> Self {
        Self { step: None, tool: AgentTool::Copilot, launch: Launch::Copilot, anchor }
    }

    /// Where findings about the agent point: the command that starts it, or its `uses:`.
    pub fn span(&self, file: &SourceFile) -> Span {
        match &self.launch {
            Launch::Run { node, command, .. } => file.subspan(node, command.raw.clone()),
            _ => self.anchor.span,
        }
    }

    pub fn action_ref(&self) -> Option<&'a Node> {
        match self.launch {
            Launch::Action { uses, .. } => Some(uses),
            _ => None,
        }
    }

    /// Command-line arguments: a `run:` command's words, or an action's `claude_args` /
    /// `codex-args` / `gemini_cli_args` input split like a shell would.
    pub fn args(&self, file: &SourceFile, step: Option<&Step<'a>>) -> Vec<Arg> {
        match &self.launch {
            Launch::Run { node, command, args_from } => command.words[*args_from..]
                .iter()
                .map(|w| Arg { text: w.text.clone(), span: file.subspan(node, w.raw.clone()) })
                .collect(),
            Launch::Action { .. } => {
                let Some(step) = step else { return Vec::new() };
                ["claude_args", "codex-args", "codex_args", "gemini_cli_args", "args"]
                    .iter()
                    .filter_map(|k| step.with(k))
                    .flat_map(|node| {
                        let text = node.as_str().unwrap_or("");
                        shell::words(text)
                            .into_iter()
                            .map(|w| Arg { text: w.text, span: file.subspan(node, w.raw) })
                            .collect::<Vec<_>>()
                    })
                    .collect()
            }
            _ => Vec::new(),
        }
    }
}

/// The agents a step starts (a script may start more than one).
pub fn detect<'a>(step: &Step<'a>) -> Vec<Agent<'a>> {
    if let (Some(uses), Some(action)) = (step.uses(), step.action()) {
        let found = ACTIONS
            .iter()
            .find(|(prefix, ..)| action == *prefix || action.starts_with(&format!("{prefix}/")));
        return found
            .map(|&(_, tool, write_check)| Agent {
                step: Some(step.index),
                tool,
                launch: Launch::Action { uses, write_check },
                anchor: uses,
            })
            .into_iter()
            .collect();
    }
    let Some(run) = step.run() else { return Vec::new() };
    let Some(script) = run.as_str() else { return Vec::new() };
    let mut found = Vec::new();
    let mut installs = Vec::new();
    for command in shell::commands(script) {
        if let Some((tool, args_from)) = launched(&command) {
            found.push(Agent {
                step: Some(step.index),
                tool,
                launch: Launch::Run { node: run, command, args_from },
                anchor: run,
            });
        } else if let Some(tool) = installed(&command) {
            installs.push(tool);
        }
    }
    for tool in installs {
        if !found.iter().any(|a| a.tool == tool) {
            found.push(Agent {
                step: Some(step.index),
                tool,
                launch: Launch::Installed { node: run },
                anchor: run,
            });
        }
    }
    found
}

/// Index of the first word after environment assignments and wrappers that run the rest of
/// the line as a command (`env`, `sudo`, `timeout 600`, …).
fn skip_wrappers(words: &[shell::Word]) -> usize {
    let mut i = 0;
    while let Some(w) = words.get(i) {
        let t = w.text.as_str();
        let assignment = t.split_once('=').is_some_and(|(name, _)| {
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        });
        match t {
            _ if assignment => i += 1,
            "env" | "sudo" | "exec" | "time" | "nohup" | "command" => i += 1,
            "timeout" => i += 2,
            _ => break,
        }
    }
    i
}

/// `(tool, index of the first argument)` when the command starts an agent.
fn launched(command: &Command) -> Option<(AgentTool, usize)> {
    let words = &command.words;
    let mut i = skip_wrappers(words);
    let first = words.get(i)?.text.as_str();
    // Package runners: `npx -y @anthropic-ai/claude-code …`, `bunx`, `pnpm dlx`.
    if matches!(first, "npx" | "bunx" | "pnpx")
        || (matches!(first, "pnpm" | "yarn") && words.get(i + 1)?.text == "dlx")
    {
        i += if matches!(first, "pnpm" | "yarn") { 2 } else { 1 };
        while words.get(i).is_some_and(|w| w.text.starts_with('-')) {
            i += 1;
        }
        let pkg = words.get(i)?.text.as_str();
        let name = pkg.rsplit_once('@').filter(|(n, _)| !n.is_empty()).map_or(pkg, |(n, _)| n);
        let tool = PACKAGES.iter().find(|(p, _)| *p == name).map(|(_, t)| *t)?;
        return Some((tool, i + 1));
    }
    let program = first.rsplit('/').next().unwrap_or(first);
    let rest = &words[i + 1..];
    let has = |flags: &[&str]| rest.iter().any(|w| flags.contains(&w.text.as_str()));
    let tool = match program {
        "claude" if has(&["-p", "--print"]) => AgentTool::Claude,
        "codex" if rest.first().is_some_and(|w| matches!(w.text.as_str(), "exec" | "e")) => AgentTool::Codex,
        "gemini" => AgentTool::Gemini,
        "aider" => AgentTool::Aider,
        "opencode" => AgentTool::OpenCode,
        "cursor-agent" => AgentTool::CursorAgent,
        _ => return None,
    };
    Some((tool, i + 1))
}

/// `npm i -g @anthropic-ai/claude-code`, `pip install aider-chat` and friends.
fn installed(command: &Command) -> Option<AgentTool> {
    let words: Vec<&str> = command.words.iter().map(|w| w.text.as_str()).collect();
    let is_install = words.windows(2).any(|w| {
        matches!(w[0], "npm" | "pnpm" | "yarn" | "bun" | "pip" | "pip3" | "pipx" | "uv" | "tool")
            && matches!(w[1], "i" | "install" | "add")
    });
    if !is_install {
        return None;
    }
    words.iter().find_map(|w| {
        let name = w.rsplit_once('@').filter(|(n, _)| !n.is_empty()).map_or(*w, |(n, _)| n);
        let name = name.split("==").next().unwrap_or(name);
        PACKAGES.iter().find(|(p, _)| *p == name).map(|(_, t)| *t)
    })
}
