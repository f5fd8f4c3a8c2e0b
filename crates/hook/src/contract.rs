//! The PreToolUse hook contract as Claude Code documents it: a JSON object on standard input
//! (`hook_event_name`, `tool_name`, `tool_input`, `cwd`, `session_id`, …) and, on exit 0, a JSON
//! object whose `hookSpecificOutput.permissionDecision` is `allow`, `deny` or `ask` with a reason
//! (shown to Claude for `deny`, to the person for `ask`). Any other non-zero exit than 2 lets the
//! call through, so the hook answers its own failures with a `deny`, never with an error exit.

use policy::ToolVerdict;
use serde_json::{Value, json};

/// The fields of the hook input the decision reads; the rest is kept for the log.
#[derive(Debug, Clone, PartialEq)]
pub struct HookInput {
    pub event: String,
    pub tool_name: String,
    pub tool_input: Value,
    pub cwd: Option<String>,
    pub session_id: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InputError {
    #[error("the hook input is not JSON: {0}")]
    NotJson(String),
    #[error("the hook input has no `{0}` string")]
    Missing(&'static str),
    #[error("the hook input's `tool_input` is not an object")]
    ToolInput,
    #[error("the hook was called for `{0}`, not PreToolUse")]
    Event(String),
}

impl HookInput {
    pub fn parse(text: &str) -> Result<HookInput, InputError> {
        let v: Value = serde_json::from_str(text).map_err(|e| InputError::NotJson(e.to_string()))?;
        let s = |k: &'static str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let event = s("hook_event_name").ok_or(InputError::Missing("hook_event_name"))?;
        if event != "PreToolUse" {
            return Err(InputError::Event(event));
        }
        let tool_name = s("tool_name").ok_or(InputError::Missing("tool_name"))?;
        let tool_input = v.get("tool_input").cloned().ok_or(InputError::Missing("tool_input"))?;
        if !tool_input.is_object() {
            return Err(InputError::ToolInput);
        }
        Ok(HookInput { event, tool_name, tool_input, cwd: s("cwd"), session_id: s("session_id") })
    }
}

/// What the hook prints.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// A decision with the reason Claude (deny) or the person (ask) sees.
    Decide(ToolVerdict, String),
    /// No objection: print nothing, so Claude Code's own permission rules apply unchanged.
    Pass,
}

impl Answer {
    /// The JSON to print on stdout (empty for `Pass`).
    pub fn to_json(&self) -> String {
        match self {
            Answer::Pass => String::new(),
            Answer::Decide(v, reason) => json!({
                "hookSpecificOutput": {
                    "hookEventName": "PreToolUse",
                    "permissionDecision": v.as_str(),
                    "permissionDecisionReason": reason,
                }
            })
            .to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_shape_is_read() {
        let i = HookInput::parse(r#"{"session_id":"s","transcript_path":"/t","cwd":"/w","permission_mode":"default","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls"},"tool_use_id":"x"}"#).unwrap();
        assert_eq!(i.tool_name, "Bash");
        assert_eq!(i.cwd.as_deref(), Some("/w"));
    }

    #[test]
    fn anything_else_is_an_error() {
        for bad in [
            "",
            "[]",
            "{",
            r#"{"hook_event_name":"PreToolUse"}"#,
            r#"{"hook_event_name":"PostToolUse","tool_name":"Bash","tool_input":{}}"#,
            r#"{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":"ls"}"#,
        ] {
            assert!(HookInput::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_decision_prints_the_documented_object() {
        let v: Value =
            serde_json::from_str(&Answer::Decide(ToolVerdict::Deny, "no".into()).to_json()).unwrap();
        assert_eq!(v["hookSpecificOutput"]["permissionDecision"], "deny");
        assert_eq!(v["hookSpecificOutput"]["hookEventName"], "PreToolUse");
        assert_eq!(v["hookSpecificOutput"]["permissionDecisionReason"], "no");
        assert_eq!(Answer::Pass.to_json(), "");
    }
}
