//! Each decision as one JSON line, appended. Under `ringfence run` the runner names the file
//! (`RINGFENCE_HOOK_LOG`); otherwise `tools.log` does.

use std::io::Write;

use serde_json::json;

use crate::contract::{Answer, HookInput};
use crate::decide::Outcome;

/// The environment variable the runner sets to the file it collects into the run's record.
pub const LOG_ENV: &str = "RINGFENCE_HOOK_LOG";

pub fn line(input: Option<&HookInput>, outcome: &Outcome, unix_ms: u128) -> String {
    let (decision, reason) = match &outcome.answer {
        Answer::Pass => ("pass", String::new()),
        Answer::Decide(v, r) => (v.as_str(), r.clone()),
    };
    json!({
        "ts_ms": unix_ms as u64,
        "tool": input.map(|i| i.tool_name.as_str()),
        "session_id": input.and_then(|i| i.session_id.as_deref()),
        "command": input.and_then(|i| i.tool_input.get("command")).and_then(|c| c.as_str()),
        "path": input.and_then(|i| i.tool_input.get("file_path").or(i.tool_input.get("path"))).and_then(|c| c.as_str()),
        "programs": outcome.programs,
        "decision": decision,
        "reason": reason,
    })
    .to_string()
}

/// Appends one line; a single `write` of a line under PIPE_BUF-sized records keeps concurrent
/// hooks' lines whole in practice, and O_APPEND keeps them from overwriting each other.
pub fn append(path: &str, line: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    f.write_all(format!("{line}\n").as_bytes())
}
