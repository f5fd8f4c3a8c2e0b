//! One tool call against `tools:`: the answer and what it was based on.

use std::path::{Component, Path, PathBuf};

use policy::{ToolVerdict, Tools};
use serde_json::Value;

use crate::bash::{Finding, findings};
use crate::contract::{Answer, HookInput};
use crate::glob;

/// The decision and the programs a Bash call would run, for the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub answer: Answer,
    pub programs: Vec<String>,
}

fn outcome(findings: Vec<Finding>, explicit_allow: bool, programs: Vec<String>) -> Outcome {
    let worst = findings.iter().map(|f| f.verdict).max().unwrap_or(ToolVerdict::Allow);
    let answer = if worst == ToolVerdict::Allow {
        if explicit_allow {
            Answer::Decide(ToolVerdict::Allow, "every command is in tools.bash.allow (ringfence)".into())
        } else {
            Answer::Pass
        }
    } else {
        let mut reasons: Vec<&str> =
            findings.iter().filter(|f| f.verdict == worst).map(|f| f.reason.as_str()).collect();
        reasons.dedup();
        Answer::Decide(worst, format!("ringfence: {}", reasons.join("; ")))
    };
    Outcome { answer, programs }
}

fn refuse(reason: String) -> Outcome {
    Outcome { answer: Answer::Decide(ToolVerdict::Deny, format!("ringfence: {reason}")), programs: vec![] }
}

pub fn decide(tools: &Tools, input: &HookInput, home: Option<&str>) -> Outcome {
    let mut found = Vec::new();
    for (list, verdict, name) in
        [(&tools.deny_tools, ToolVerdict::Deny, "deny"), (&tools.ask_tools, ToolVerdict::Ask, "ask")]
    {
        if list.iter().any(|p| glob::name_matches(p, &input.tool_name)) {
            found.push(Finding {
                verdict,
                reason: format!("the tool `{}` is in tools.{name}", input.tool_name),
            });
        }
    }
    let field = |k: &str| input.tool_input.get(k);
    match input.tool_name.as_str() {
        "Bash" => {
            let Some(command) = field("command").and_then(Value::as_str) else {
                return refuse("the Bash call has no `command` string; refusing what it cannot read".into());
            };
            let analysis = match shellparse::analyze(command) {
                Ok(a) => a,
                Err(e) => return refuse(format!("{e}; a command the hook cannot parse is refused")),
            };
            found.extend(findings(&tools.bash, tools.unseen, &analysis));
            let explicit = !tools.bash.allow.is_empty();
            let programs = analysis.commands.iter().map(|c| c.program.clone()).collect();
            outcome(found, explicit, programs)
        }
        "Write" | "Edit" | "MultiEdit" | "NotebookEdit" | "Read" | "Grep" | "Glob" => {
            let rules = if matches!(input.tool_name.as_str(), "Read" | "Grep" | "Glob") {
                &tools.read
            } else {
                &tools.write
            };
            let key = if input.tool_name == "NotebookEdit" {
                "notebook_path"
            } else if matches!(input.tool_name.as_str(), "Grep" | "Glob") {
                "path"
            } else {
                "file_path"
            };
            let path = match field(key) {
                Some(Value::String(p)) => p.clone(),
                // Grep and Glob search the working directory when no path is given.
                None if key == "path" => input.cwd.clone().unwrap_or_default(),
                _ => {
                    return refuse(format!(
                        "the {} call has no `{key}` string; refusing what it cannot read",
                        input.tool_name
                    ));
                }
            };
            let cwd = input.cwd.as_deref().unwrap_or("/");
            let abs = normalize(&Path::new(cwd).join(&path));
            for (list, verdict, name) in
                [(&rules.deny, ToolVerdict::Deny, "deny"), (&rules.ask, ToolVerdict::Ask, "ask")]
            {
                for pattern in list {
                    let full = expand(pattern, cwd, home);
                    if glob::matches(&full, &abs.to_string_lossy()) {
                        let section = if std::ptr::eq(rules, &tools.read) { "read" } else { "write" };
                        found.push(Finding {
                            verdict,
                            reason: format!("`{}` matches tools.{section}.{name} `{pattern}`", abs.display()),
                        });
                    }
                }
            }
            outcome(found, false, vec![])
        }
        _ => outcome(found, false, vec![]),
    }
}

/// `~/x` is under the home directory, a relative pattern under the project directory.
fn expand(pattern: &str, cwd: &str, home: Option<&str>) -> String {
    if let Some(rest) = pattern.strip_prefix("~/") {
        return format!("{}/{rest}", home.unwrap_or("/root").trim_end_matches('/'));
    }
    if pattern.starts_with('/') || pattern.starts_with("**") {
        return pattern.to_string();
    }
    format!("{}/{pattern}", cwd.trim_end_matches('/'))
}

/// `..` and `.` removed without touching the file system, so `/w/../etc/passwd` is `/etc/passwd`.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            _ => {}
        }
    }
    out
}
