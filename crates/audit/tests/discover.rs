//! A repository laid out on disk: discovery finds each kind of file, skips what GitHub would
//! not read, and the config file's ignores apply.

use std::fs;
use std::path::{Path, PathBuf};

use audit::{Config, audit_paths};

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let read = |name: &str| fs::read_to_string(fixtures.join(name)).unwrap();
    write(root, ".github/workflows/triage.yml", &read("prompt-injection.pos-env.yml"));
    write(root, ".github/workflows/nested/ignored.yml", &read("prompt-injection.pos-env.yml"));
    write(root, ".claude/settings.json", &read("permission-bypass.pos-settings.settings.json"));
    write(root, ".mcp.json", &read("mcp-unpinned-server.pos.mcp.json"));
    write(root, "ringfence.yml", &read("policy-audit-mode.pos.policy.yml"));
    write(root, "tools/claude/action.yml", &read("permission-bypass.pos-composite.action.yml"));
    write(root, "node_modules/x/.github/workflows/w.yml", &read("prompt-injection.pos-env.yml"));
    dir
}

#[test]
fn finds_every_kind_and_only_those() {
    let dir = repo();
    let report = audit_paths(&[PathBuf::from(dir.path())], &Config::default());
    assert!(
        report.errors.is_empty(),
        "{:?}",
        report.errors.iter().map(ToString::to_string).collect::<Vec<_>>()
    );
    let mut files: Vec<&str> = report.files.iter().map(|f| f.path.as_str()).collect();
    files.sort();
    assert_eq!(
        files,
        [
            ".claude/settings.json",
            ".github/workflows/triage.yml",
            ".mcp.json",
            "ringfence.yml",
            "tools/claude/action.yml"
        ]
    );
    for (file, rule) in [
        (".claude/settings.json", "permission-bypass"),
        (".github/workflows/triage.yml", "prompt-injection"),
        (".mcp.json", "mcp-unpinned-server"),
        ("ringfence.yml", "policy-audit-mode"),
        ("tools/claude/action.yml", "permission-bypass"),
    ] {
        assert!(report.findings.iter().any(|f| f.file == file && f.rule == rule), "{file}: no {rule}");
    }
}

#[test]
fn config_disables_rules_and_ignores_paths() {
    let dir = repo();
    let text = "ignore: [\"tools/**\"]\nrules:\n  prompt-injection:\n    disable: true\n  policy-audit-mode:\n    ignore: [ringfence.yml]\n";
    let config = Config::parse("ringfence-audit.yml", text).unwrap();
    let report = audit_paths(&[PathBuf::from(dir.path())], &config);
    assert!(!report.findings.iter().any(|f| f.rule == "prompt-injection"));
    assert!(!report.findings.iter().any(|f| f.rule == "policy-audit-mode"));
    assert!(!report.files.iter().any(|f| f.path.starts_with("tools/")));
    assert!(report.findings.iter().any(|f| f.rule == "mcp-unpinned-server"));
}

#[test]
fn broken_yaml_is_an_error_with_a_position_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), ".github/workflows/bad.yml", "on: push\njobs: [\n");
    let report = audit_paths(&[PathBuf::from(dir.path())], &Config::default());
    assert_eq!(report.errors.len(), 1);
    let msg = report.errors[0].to_string();
    assert!(msg.starts_with(".github/workflows/bad.yml:"), "{msg}");
}
