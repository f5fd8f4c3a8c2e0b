//! One tool call against `tools:`: the answer and what it was based on.

use policy::{ToolVerdict, Tools};
use serde_json::Value;

use crate::bash::{Finding, findings};
use crate::contract::{Answer, HookInput};
use crate::{glob, paths};

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
            let cwd = input.cwd.as_deref().unwrap_or("/");
            found.extend(paths::bash_findings(tools, &analysis, cwd, home));
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
            let section = if std::ptr::eq(rules, &tools.read) { "read" } else { "write" };
            let what = format!("{} of", input.tool_name);
            found.extend(paths::check(rules, section, &path, &what, cwd, home));
            outcome(found, false, vec![])
        }
        _ => outcome(found, false, vec![]),
    }
}
