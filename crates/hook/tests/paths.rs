//! `tools.read` and `tools.write` over the file tools and over the files Bash commands name.

use hook::{Answer, HookInput, decide};
use policy::ToolVerdict;

const POLICY: &str = "version: 1\ntools:\n  read:\n    deny: [\"~/.ssh/**\", \"**/.env\"]\n  write:\n    deny: [\".github/workflows/**\"]\n    ask: [\"Cargo.toml\"]\n";

fn verdict(tool: &str, input: serde_json::Value) -> Option<ToolVerdict> {
    let policy = policy::parse(POLICY, "ringfence.yml").unwrap();
    let input = HookInput {
        event: "PreToolUse".into(),
        tool_name: tool.into(),
        tool_input: input,
        cwd: Some("/w".into()),
        session_id: None,
    };
    match decide(&policy.tools, &input, Some("/home/a")).answer {
        Answer::Pass => None,
        Answer::Decide(v, _) => Some(v),
    }
}

fn bash(command: &str) -> Option<ToolVerdict> {
    verdict("Bash", serde_json::json!({ "command": command }))
}

#[test]
fn file_tools() {
    use serde_json::json;
    assert_eq!(verdict("Read", json!({"file_path": "/home/a/.ssh/id_ed25519"})), Some(ToolVerdict::Deny));
    assert_eq!(verdict("Read", json!({"file_path": "/w/sub/.env"})), Some(ToolVerdict::Deny));
    assert_eq!(verdict("Read", json!({"file_path": "/w/src/main.rs"})), None);
    assert_eq!(
        verdict("Grep", json!({"pattern": "x", "path": "/home/a/.ssh/config"})),
        Some(ToolVerdict::Deny)
    );
    assert_eq!(
        verdict("Write", json!({"file_path": "/w/.github/workflows/ci.yml", "content": ""})),
        Some(ToolVerdict::Deny)
    );
    assert_eq!(
        verdict("Edit", json!({"file_path": "/w/x/../.github/workflows/ci.yml"})),
        Some(ToolVerdict::Deny)
    );
    assert_eq!(verdict("Edit", json!({"file_path": "/w/Cargo.toml"})), Some(ToolVerdict::Ask));
    assert_eq!(verdict("NotebookEdit", json!({"notebook_path": "/w/n.ipynb"})), None);
    assert_eq!(verdict("Write", json!({"content": "no path"})), Some(ToolVerdict::Deny));
}

#[test]
fn files_named_in_bash() {
    for refused in [
        "cat ~/.ssh/id_ed25519",
        "cp /home/a/.ssh/id_rsa /tmp/k",
        "base64 < .env",
        "grep KEY sub/.env",
        "bash -c 'cat ~/.ssh/config'",
        "echo x > .github/workflows/ci.yml",
        "cp evil.yml .github/workflows/",
        "tee -a .github/workflows/ci.yml < x",
        "sed -i s/a/b/ .github/workflows/ci.yml",
        "rm -rf .github/workflows/old.yml",
    ] {
        assert!(bash(refused).is_some(), "{refused}");
    }
    for ordinary in
        ["cat src/main.rs", "cat .github/workflows/ci.yml", "grep -r env .", "echo x > notes.txt", "cat $F"]
    {
        assert_eq!(bash(ordinary), None, "{ordinary}");
    }
    assert_eq!(bash("echo x >> Cargo.toml"), Some(ToolVerdict::Ask));
}
