//! Which steps start an AI coding agent, and with which arguments.

use super::Step;
use super::catalogue::{self, ActionSpec, Start};
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
    CopilotCli,
    Qwen,
    OpenHands,
    Goose,
    Droid,
    Amp,
    /// A repository script started with a model provider's key in its environment: probably an
    /// agent or a model call, but ringfence cannot see which.
    Script,
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
            AgentTool::CopilotCli => "Copilot CLI",
            AgentTool::Qwen => "Qwen Code",
            AgentTool::OpenHands => "OpenHands",
            AgentTool::Goose => "goose",
            AgentTool::Droid => "Factory droid",
            AgentTool::Amp => "Amp",
            AgentTool::Script => "a repository script with a model key",
        }
    }
}

#[derive(Clone, Debug)]
pub enum Launch<'a> {
    Action {
        uses: &'a Node,
        spec: &'static ActionSpec,
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
    /// A `run:` step that starts a repository script with a model key in its env.
    Script {
        node: &'a Node,
    },
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

    /// The catalogue entry of the action that starts the agent.
    pub fn action_spec(&self) -> Option<&'static ActionSpec> {
        match self.launch {
            Launch::Action { spec, .. } => Some(spec),
            _ => None,
        }
    }

    /// The action's built-in write-access check is there (before any opt-out input).
    pub fn has_write_check(&self) -> bool {
        self.action_spec().is_some_and(|s| s.write_check)
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
            Launch::Action { spec, .. } => {
                let Some(step) = step else { return Vec::new() };
                spec.args_inputs
                    .iter()
                    .chain(&["args"])
                    .filter_map(|k| step.with(k))
                    .flat_map(|node| input_branches(file, node).into_iter().flatten())
                    .collect()
            }
            _ => Vec::new(),
        }
    }
}

/// The alternatives an arguments input can take, each as its words. A plain string is one
/// alternative; where `${{ }}` builds it (`cond && '--allowedTools Bash' || '--max-turns 3'`),
/// each string literal the expression can yield is one, together with the text around the
/// template. Words from inside a template point at the whole template.
pub fn input_branches(file: &SourceFile, node: &Node) -> Vec<Vec<Arg>> {
    let text = node.as_str().unwrap_or("");
    let templates = gha_expr::templates(text);
    // Blank the templates out so the words around them keep their offsets.
    let mut outside = text.to_string();
    for t in &templates {
        outside.replace_range(t.start..t.end, &" ".repeat(t.end - t.start));
    }
    let around: Vec<Arg> = shell::words(&outside)
        .into_iter()
        .map(|w| Arg { text: w.text, span: file.subspan(node, w.raw) })
        .collect();
    let mut branches = Vec::new();
    for t in &templates {
        let Ok(expr) = gha_expr::parse(t.inner) else { continue };
        for literal in expr.value_strings() {
            let mut branch = around.clone();
            branch.extend(
                shell::words(literal)
                    .into_iter()
                    .map(|w| Arg { text: w.text, span: file.subspan(node, t.start..t.end) }),
            );
            branches.push(branch);
        }
    }
    if branches.is_empty() {
        branches.push(around);
    }
    branches
}

/// The agents a step starts (a script may start more than one).
pub fn detect<'a>(step: &Step<'a>) -> Vec<Agent<'a>> {
    if let (Some(uses), Some(action)) = (step.uses(), step.action()) {
        let found = catalogue::action(&action);
        return found
            .map(|spec| Agent {
                step: Some(step.index),
                tool: spec.tool,
                launch: Launch::Action { uses, spec },
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
        let command = super::ghaw::fenced_command(command);
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
    if found.is_empty() && starts_script_with_model_key(step, script) {
        found.push(Agent {
            step: Some(step.index),
            tool: AgentTool::Script,
            launch: Launch::Script { node: run },
            anchor: run,
        });
    }
    found
}

/// A step with a model provider's key in its `env:` that runs a repository script
/// (`python scripts/triage.py`, `node .github/agent.mjs`, `./tools/fix.sh`): an agent or a
/// model call ringfence cannot read, reported at low confidence.
fn starts_script_with_model_key(step: &Step<'_>, script: &str) -> bool {
    let keyed = step.env().is_some_and(|env| {
        env.entries().any(|(k, v)| {
            k.as_str().is_some_and(crate::rules::is_model_key)
                && crate::rules::secret_names(v.as_str().unwrap_or("")).iter().any(|n| !n.is_empty())
        })
    });
    keyed
        && shell::commands(script).iter().any(|c| {
            let words: Vec<&str> = c.words.iter().map(|w| w.text.as_str()).collect();
            let i = skip_wrappers(&c.words);
            let Some(first) = words.get(i) else { return false };
            let local = |w: &&str| {
                !w.starts_with('-')
                    && (w.starts_with("./") || w.contains('/'))
                    && [".py", ".js", ".mjs", ".ts", ".sh", ".rb"].iter().any(|e| w.ends_with(e))
            };
            match *first {
                "python" | "python3" | "node" | "bash" | "sh" | "tsx" | "ts-node" | "deno" | "bun"
                | "ruby" => words.get(i + 1).is_some_and(local) || words.get(i + 2).is_some_and(local),
                w => local(&w),
            }
        })
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
            // `poetry run python -m …`, `uv run aider …`.
            "poetry" | "uv" | "pipenv" | "pdm" | "hatch"
                if words.get(i + 1).is_some_and(|n| n.text == "run") =>
            {
                i += 2
            }
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
    // Package runners: `npx -y @anthropic-ai/claude-code …`, `bunx`, `pnpm dlx`, `uvx`, `pipx run`.
    let runner = match first {
        "npx" | "bunx" | "pnpx" | "uvx" => Some(1),
        "pnpm" | "yarn" if words.get(i + 1).is_some_and(|w| w.text == "dlx") => Some(2),
        "pipx" if words.get(i + 1).is_some_and(|w| w.text == "run") => Some(2),
        _ => None,
    };
    if let Some(skip) = runner {
        i += skip;
        while words.get(i).is_some_and(|w| w.text.starts_with('-')) {
            i += 1;
        }
        let pkg = words.get(i)?.text.as_str();
        let name = pkg.rsplit_once('@').filter(|(n, _)| !n.is_empty()).map_or(pkg, |(n, _)| n);
        let name = name.split("==").next().unwrap_or(name);
        return Some((catalogue::by_package(name)?.tool, i + 1));
    }
    let program = first.rsplit('/').next().unwrap_or(first);
    // `python -m openhands.resolver.resolve_issue …`
    if program.starts_with("python") {
        let m = words.iter().skip(i + 1).position(|w| w.text == "-m")? + i + 1;
        let module = words.get(m + 1)?.text.as_str();
        return Some((catalogue::by_module(module)?.tool, m + 2));
    }
    // `docker run … ghcr.io/block/goose:1.0 run -t …`
    if program == "docker" && words.get(i + 1).is_some_and(|w| w.text == "run") {
        let at = words.iter().skip(i + 2).position(|w| catalogue::by_download(&w.text).is_some())? + i + 2;
        return Some((catalogue::by_download(&words[at].text)?.tool, at + 1));
    }
    let (spec, start) = catalogue::by_program(program)?;
    let rest = &words[i + 1..];
    let starts = match start {
        Start::Any => true,
        Start::Flag(flags) => rest.iter().any(|w| flags.contains(&w.text.split('=').next().unwrap_or(""))),
        Start::Sub(subs) => rest.first().is_some_and(|w| subs.contains(&w.text.as_str())),
    };
    starts.then_some((spec.tool, i + 1))
}

/// `npm i -g @anthropic-ai/claude-code`, `pip install aider-chat`, `curl … cursor.com/install | bash`.
fn installed(command: &Command) -> Option<AgentTool> {
    let words: Vec<&str> = command.words.iter().map(|w| w.text.as_str()).collect();
    if words.first().is_some_and(|w| matches!(*w, "curl" | "wget")) {
        return words.iter().find_map(|w| catalogue::by_download(w)).map(|c| c.tool);
    }
    let is_install = words.windows(2).any(|w| {
        matches!(w[0], "npm" | "pnpm" | "yarn" | "bun" | "pip" | "pip3" | "pipx" | "uv" | "tool" | "poetry")
            && matches!(w[1], "i" | "install" | "add")
    });
    if !is_install {
        return None;
    }
    words.iter().find_map(|w| catalogue::by_package(package_name(w)).map(|c| c.tool))
}

/// `aider-chat==0.86.1`, `@openai/codex@0.46.0`, `openhands-ai[all]` → the bare name.
pub fn package_name(word: &str) -> &str {
    let name = word.rsplit_once('@').filter(|(n, _)| !n.is_empty()).map_or(word, |(n, _)| n);
    let name = name.split("==").next().unwrap_or(name);
    name.split(['[', '<', '>', '~', '=']).next().unwrap_or(name)
}
