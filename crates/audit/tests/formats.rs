//! Snapshot of every output format over the same findings, and SARIF validated against the
//! SARIF 2.1.0 JSON schema.

use std::path::Path;

use audit::{Config, FileKind, SourceFile, audit_files};

fn report() -> audit::Report {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/prompt-injection.pos-env.yml");
    let text = std::fs::read_to_string(path).unwrap();
    let file = SourceFile::parse(".github/workflows/triage.yml".into(), text, FileKind::Workflow).unwrap();
    audit_files(vec![file], &Config::default())
}

#[test]
fn text() {
    insta::assert_snapshot!(audit::render::text(&report()));
}

#[test]
fn json() {
    let out = audit::render::json(&report());
    let value: serde_json::Value = serde_json::from_str(&out).unwrap();
    let first = &value["findings"][0];
    let keys: Vec<&str> = first.as_object().unwrap().keys().map(String::as_str).collect();
    let mut want = [
        "rule",
        "category",
        "severity",
        "confidence",
        "file",
        "line",
        "column",
        "end_line",
        "end_column",
        "message",
        "fix",
    ];
    want.sort();
    let mut got = keys.clone();
    got.sort();
    assert_eq!(got, want);
    insta::assert_snapshot!(out);
}

#[test]
fn github() {
    let out = audit::render::github(&report());
    assert!(
        out.lines()
            .all(|l| l.starts_with("::error ") || l.starts_with("::warning ") || l.starts_with("::notice "))
    );
    insta::assert_snapshot!(out);
}

#[test]
fn sarif_matches_the_schema() {
    let out = audit::render::sarif(&report());
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let schema_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sarif-schema-2.1.0.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> =
        validator.iter_errors(&doc).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    insta::assert_snapshot!(out);
}
