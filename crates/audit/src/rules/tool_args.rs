//! Reading an agent's tool permissions from its arguments and inputs (shared by the tools,
//! budget and supply-chain rules).

use super::AgentCx;
use crate::workflow::agents::Arg;
use crate::yaml::Node;

/// The agent's command-line arguments (from `run:` or the action's args input).
pub fn args(cx: &AgentCx<'_, '_>) -> Vec<Arg> {
    cx.agent.args(cx.file(), cx.step)
}

/// The first argument equal to one of `flags` (or `--flag=value`), with its value if any.
pub fn flag<'x>(args: &'x [Arg], flags: &[&str]) -> Option<(&'x Arg, Option<&'x Arg>)> {
    args.iter().enumerate().find_map(|(i, a)| {
        let name = a.text.split('=').next().unwrap_or(&a.text);
        flags.contains(&name).then(|| (a, args.get(i + 1)))
    })
}

/// The value of `--flag value` or `--flag=value`.
pub fn flag_value(args: &[Arg], flags: &[&str]) -> Option<(String, Arg)> {
    let (a, next) = flag(args, flags)?;
    match a.text.split_once('=') {
        Some((_, v)) => Some((v.to_string(), a.clone())),
        None => next.map(|n| (n.text.clone(), n.clone())),
    }
}

/// Split a tool list (`"Bash(git add:*),Edit Read"`) on commas and spaces outside parentheses.
pub fn split_tools(list: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in list.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' | ' ' | '\n' if depth <= 0 => {
                out.push(&list[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&list[start..]);
    out.into_iter().map(|s| s.trim().trim_matches('"')).filter(|s| !s.is_empty()).collect()
}

/// Tools the agent is allowed without asking: `--allowedTools`/`--allowed-tools` values and the
/// legacy `allowed_tools` input, each with where it is written.
pub fn allowed_tools(cx: &AgentCx<'_, '_>) -> Vec<(String, Arg)> {
    let args = args(cx);
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let name = args[i].text.split('=').next().unwrap_or("");
        if matches!(name, "--allowedTools" | "--allowed-tools") {
            if let Some((_, v)) = args[i].text.split_once('=') {
                out.extend(split_tools(v).into_iter().map(|t| (t.to_string(), args[i].clone())));
            }
            i += 1;
            while let Some(a) = args.get(i).filter(|a| !a.text.starts_with("--")) {
                out.extend(split_tools(&a.text).into_iter().map(|t| (t.to_string(), a.clone())));
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    if let Some(node) = cx.with("allowed_tools") {
        out.extend(input_tools(cx, node));
    }
    out
}

fn input_tools(cx: &AgentCx<'_, '_>, node: &Node) -> Vec<(String, Arg)> {
    let text = node.as_str().unwrap_or("");
    split_tools(text)
        .into_iter()
        .map(|t| {
            let off = t.as_ptr() as usize - text.as_ptr() as usize;
            (t.to_string(), Arg { text: t.to_string(), span: cx.file().subspan(node, off..off + t.len()) })
        })
        .collect()
}

/// Programs that run arbitrary code whatever their arguments.
const ANY_ARGS: &[&str] = &[
    "npx", "bunx", "pnpx", "uvx", "node", "deno", "python", "python3", "perl", "ruby", "php", "sh", "bash",
    "zsh", "eval", "exec", "env", "xargs", "sudo", "docker", "curl", "wget", "make", "cargo", "go", "pytest",
    "source",
];

/// Programs whose unrestricted form (`git:*`) or these subcommands run arbitrary code.
const SOME_ARGS: &[(&str, &[&str])] = &[
    ("git", &[]),
    ("gh", &["api", "workflow", "secret"]),
    ("npm", &["run", "test", "exec", "x", "start", "install", "i", "ci"]),
    ("pnpm", &["run", "test", "exec", "dlx", "start", "install", "i"]),
    ("yarn", &["run", "test", "exec", "dlx", "start", "install"]),
    ("bun", &["run", "test", "x", "install"]),
    ("uv", &["run", "pip", "tool"]),
    ("pip", &["install"]),
    ("find", &[]),
    ("sed", &[]),
    ("awk", &[]),
    ("tox", &[]),
    ("mvn", &[]),
    ("gradle", &[]),
];

/// Interpreters that run a script file named as their first argument.
const INTERPRETERS: &[&str] = &[
    "node", "deno", "bun", "tsx", "ts-node", "python", "python3", "ruby", "perl", "php", "sh", "bash", "zsh",
];

/// What a risky permission rule allows.
#[derive(Debug, PartialEq, Eq)]
pub struct Risk {
    pub why: String,
    /// Not arbitrary code, but more than the rule seems to say (any HTTP method on one
    /// endpoint): reported at low severity.
    pub minor: bool,
}

/// Why a Claude Code permission rule amounts to running any command, if it does.
#[cfg(test)]
pub fn risky_tool(tool: &str) -> Option<String> {
    risky_tool_in(tool, &[]).filter(|r| !r.minor).map(|r| r.why)
}

/// [`risky_tool`], knowing the other tools allowed beside it (`allowed`), which decide whether
/// a script pinned in a prefix (`Bash(node tools/check.mjs:*)`) can be rewritten by the agent.
pub fn risky_tool_in(tool: &str, allowed: &[String]) -> Option<Risk> {
    let (name, scope) = match tool.split_once('(') {
        Some((n, rest)) => (n.trim(), Some(rest.trim_end_matches(')').trim())),
        None => (tool.trim(), None),
    };
    if name != "Bash" {
        return None;
    }
    let risk = |why: String| Some(Risk { why, minor: false });
    let scope = match scope {
        None | Some("*" | ":*" | "") => {
            return risk("`Bash` without a scope allows any shell command".into());
        }
        Some(s) => s,
    };
    // An exact command (`Bash(npm test)`) allows only itself; prefixes (`npm run:*`) allow any
    // continuation, which is where arbitrary code gets in.
    if !scope.ends_with('*') {
        return None;
    }
    let command = scope.trim_end_matches('*').trim_end_matches(':').trim();
    let mut words: Vec<&str> = command.split_whitespace().collect();
    // `python -m pytest …` is pytest with python's module lookup: its options are pytest's.
    if words.len() >= 3 && words[0].starts_with("python") && words[1] == "-m" {
        words.drain(..2);
    }
    let program = words.first().copied().unwrap_or("");
    let program = program.rsplit('/').next().unwrap_or(program);
    let sub = words.get(1).copied();
    // `node tools/check.mjs:*` runs that one script with any arguments: arbitrary code only if
    // the agent can rewrite the script first.
    if INTERPRETERS.contains(&program)
        && let Some(path) = sub.filter(|p| is_script_path(p))
    {
        if !writable(path, allowed) {
            return None;
        }
        return risk(format!(
            "`{tool}` runs arbitrary code: the agent may edit `{path}` (its Edit/Write scope covers it) and then run it"
        ));
    }
    if program == "pytest" {
        return risk(format!(
            "`{tool}` runs arbitrary code: pytest's options load plugins (`-p`) and run any test file or conftest"
        ));
    }
    if ANY_ARGS.contains(&program) {
        return risk(format!("`{tool}` runs arbitrary code: `{program}` can execute any program"));
    }
    // `gh api repos/o/r/issues/42/comments:*` is one endpoint, with any method and fields.
    if program == "gh"
        && sub == Some("api")
        && let Some(path) = words.get(2).filter(|p| !p.starts_with('-') && !p.contains(['*', '{', '$']))
    {
        return Some(Risk {
            why: format!("`{tool}` allows any HTTP method and fields (`-X DELETE`, `-f`) on `{path}`"),
            minor: true,
        });
    }
    if let Some((_, subs)) = SOME_ARGS.iter().find(|(p, _)| *p == program) {
        let open = match sub {
            None => true,
            Some(s) => subs.contains(&s),
        };
        if open {
            return risk(format!(
                "`{tool}` equals arbitrary code: `{command}` can run repository scripts, hooks or any program"
            ));
        }
    }
    None
}

/// A file path, not an option or a pattern: `tools/check.mjs`, `./run.sh`.
fn is_script_path(word: &str) -> bool {
    !word.starts_with('-')
        && !word.contains(['*', '?', '$'])
        && (word.contains('/')
            || [".js", ".mjs", ".cjs", ".ts", ".py", ".rb", ".pl", ".php", ".sh"]
                .iter()
                .any(|e| word.ends_with(e)))
}

/// Can the agent write `path`: is `Edit`, `Write` or `MultiEdit` allowed without a scope, or
/// with one that covers it (`Edit(tools/**)`)?
fn writable(path: &str, allowed: &[String]) -> bool {
    let path = path.trim_start_matches("./");
    allowed.iter().any(|t| {
        let (name, scope) = match t.split_once('(') {
            Some((n, rest)) => (n.trim(), Some(rest.trim_end_matches(')').trim().trim_start_matches("./"))),
            None => (t.trim(), None),
        };
        matches!(name, "Edit" | "Write" | "MultiEdit" | "NotebookEdit")
            && scope.is_none_or(|s| {
                let prefix = s.trim_end_matches('*').trim_end_matches('/');
                s.is_empty()
                    || s == "*"
                    || s == "**"
                    || path == s
                    || path.starts_with(&format!("{prefix}/"))
                    || prefix.is_empty()
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_classifies() {
        assert_eq!(split_tools("Bash(git add:*),Edit Read"), ["Bash(git add:*)", "Edit", "Read"]);
        assert!(risky_tool("Bash").is_some());
        assert!(risky_tool("Bash(npx:*)").is_some());
        assert!(risky_tool("Bash(npm run:*)").is_some());
        assert!(risky_tool("Bash(git:*)").is_some());
        assert!(risky_tool("Bash(git diff:*)").is_none());
        assert!(risky_tool("Bash(gh pr view:*)").is_none());
        assert!(risky_tool("Edit").is_none());
        assert!(risky_tool("Bash(npm test)").is_none());
        // A pinned script is arbitrary code only where the agent can rewrite it.
        assert!(risky_tool("Bash(node tools/check.mjs:*)").is_none());
        let edit = ["Edit".to_string()];
        assert!(risky_tool_in("Bash(node tools/check.mjs:*)", &edit).is_some_and(|r| !r.minor));
        let scoped = ["Edit(docs/**)".to_string()];
        assert!(risky_tool_in("Bash(node tools/check.mjs:*)", &scoped).is_none());
        assert!(risky_tool_in("Bash(node:*)", &[]).is_some());
        // A fixed endpoint: any method on it, nothing more.
        let gh = risky_tool_in("Bash(gh api repos/o/r/issues/42/comments:*)", &[]).unwrap();
        assert!(gh.minor && gh.why.contains("HTTP method"));
        assert!(risky_tool("Bash(gh api:*)").is_some());
        // `python -m pytest` is about pytest.
        assert!(risky_tool("Bash(python -m pytest tests/*)").is_some_and(|w| w.contains("pytest's options")));
    }
}
