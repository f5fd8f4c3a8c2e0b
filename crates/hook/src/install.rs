//! Adding the hook to a Claude Code settings file without disturbing what is already there:
//! other keys, other hooks and other PreToolUse entries stay; running it twice changes nothing.

use serde_json::{Map, Value, json};

/// Marks the entry as ringfence's, so a second install updates it instead of adding another.
pub const MARK: &str = " hook claude";

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("{0} is not valid JSON ({1}); fix or remove it, nothing was changed")]
    NotJson(String, String),
    #[error("{0}: `{1}` is not {2}; nothing was changed")]
    Shape(String, &'static str, &'static str),
}

/// The settings text with the hook merged in, and whether anything changed.
pub fn merge(file: &str, existing: Option<&str>, command: &str) -> Result<(String, bool), InstallError> {
    let mut root: Value = match existing.map(str::trim) {
        None | Some("") => Value::Object(Map::new()),
        Some(text) => {
            serde_json::from_str(text).map_err(|e| InstallError::NotJson(file.into(), e.to_string()))?
        }
    };
    let obj =
        root.as_object_mut().ok_or_else(|| InstallError::Shape(file.into(), "the settings", "an object"))?;
    let hooks = obj.entry("hooks").or_insert_with(|| json!({}));
    let hooks =
        hooks.as_object_mut().ok_or_else(|| InstallError::Shape(file.into(), "hooks", "an object"))?;
    let pre = hooks.entry("PreToolUse").or_insert_with(|| json!([]));
    let pre =
        pre.as_array_mut().ok_or_else(|| InstallError::Shape(file.into(), "hooks.PreToolUse", "an array"))?;
    let wanted = json!({"type": "command", "command": command});
    let mut changed = false;
    let mut present = false;
    for group in pre.iter_mut() {
        let Some(list) = group.get_mut("hooks").and_then(Value::as_array_mut) else { continue };
        for h in list.iter_mut() {
            let ours = h.get("command").and_then(Value::as_str).is_some_and(is_ours);
            if ours {
                present = true;
                if h.get("command").and_then(Value::as_str) != Some(command) {
                    h["command"] = json!(command);
                    changed = true;
                }
            }
        }
    }
    if !present {
        pre.push(json!({"matcher": "*", "hooks": [wanted]}));
        changed = true;
    }
    let mut text = serde_json::to_string_pretty(&root).unwrap_or_default();
    text.push('\n');
    Ok((text, changed))
}

/// A hook command that runs ringfence's Claude hook (by any path to the binary).
pub fn is_ours(command: &str) -> bool {
    command.split_whitespace().next().is_some_and(|p| p.rsplit('/').next() == Some("ringfence"))
        && command.contains(MARK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_keeps_others_and_is_idempotent() {
        let before = r#"{"model":"x","permissions":{"deny":["Bash(curl:*)"]},"hooks":{"PostToolUse":[{"matcher":"Write","hooks":[{"type":"command","command":"fmt"}]}],"PreToolUse":[{"matcher":"Bash","hooks":[{"type":"command","command":"other"}]}]}}"#;
        let (once, changed) = merge("s", Some(before), "ringfence hook claude").unwrap();
        assert!(changed);
        let v: Value = serde_json::from_str(&once).unwrap();
        assert_eq!(v["model"], "x");
        assert_eq!(v["permissions"]["deny"][0], "Bash(curl:*)");
        assert_eq!(v["hooks"]["PostToolUse"][0]["hooks"][0]["command"], "fmt");
        assert_eq!(v["hooks"]["PreToolUse"].as_array().unwrap().len(), 2);
        assert_eq!(v["hooks"]["PreToolUse"][1]["hooks"][0]["command"], "ringfence hook claude");
        let (twice, changed) = merge("s", Some(&once), "ringfence hook claude").unwrap();
        assert!(!changed);
        assert_eq!(once, twice);
        let (moved, changed) =
            merge("s", Some(&once), "/usr/local/bin/ringfence hook claude --policy /p.yml").unwrap();
        assert!(changed);
        assert_eq!(
            serde_json::from_str::<Value>(&moved).unwrap()["hooks"]["PreToolUse"].as_array().unwrap().len(),
            2
        );
    }

    #[test]
    fn refuses_to_touch_what_it_cannot_read() {
        assert!(merge("s", Some("{"), "ringfence hook claude").is_err());
        assert!(merge("s", Some(r#"{"hooks":[]}"#), "ringfence hook claude").is_err());
        assert!(merge("s", Some(r#"{"hooks":{"PreToolUse":{}}}"#), "ringfence hook claude").is_err());
        let (fresh, _) = merge("s", None, "ringfence hook claude").unwrap();
        assert!(fresh.contains("\"matcher\": \"*\""));
    }
}
