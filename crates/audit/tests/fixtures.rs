//! One fixture per behaviour: `<rule>.pos[-variant].<ext>` must produce a finding of `<rule>`,
//! `<rule>.neg[-variant].<ext>` must not. Every fixture's findings are also snapshot-tested.

use std::path::Path;

use audit::{Config, FileKind, SourceFile, audit_files};

fn kind(name: &str) -> FileKind {
    if name.ends_with(".settings.json") {
        FileKind::ClaudeSettings
    } else if name.ends_with(".mcp.json") {
        FileKind::Mcp
    } else if name.ends_with(".policy.yml") {
        FileKind::Policy
    } else if name.ends_with(".action.yml") {
        FileKind::Action
    } else if name.ends_with(".copilot.yml") {
        FileKind::CopilotSetup
    } else {
        FileKind::Workflow
    }
}

pub fn load(path: &Path) -> SourceFile {
    let name = path.file_name().unwrap().to_str().unwrap().to_string();
    let text = std::fs::read_to_string(path).unwrap();
    SourceFile::parse(name.clone(), text, kind(&name)).unwrap()
}

/// One line per finding: place, severity, confidence, rule and message.
fn compact(report: &audit::Report) -> String {
    report
        .findings
        .iter()
        .map(|f| {
            format!(
                "{}:{}-{}:{} {}/{} {} {}",
                f.line,
                f.column,
                f.end_line,
                f.end_column,
                f.severity.as_str(),
                f.confidence.as_str(),
                f.rule,
                f.message
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_fixture_behaves() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    let mut checked = 0;
    for path in names {
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let (rule, rest) = name.split_once('.').unwrap();
        assert!(audit::rules::by_id(rule).is_some(), "{name}: no rule `{rule}`");
        let report = audit_files(vec![load(&path)], &Config::default());
        let hits = report.findings.iter().filter(|f| f.rule == rule).count();
        if rest.starts_with("pos") {
            assert!(hits > 0, "{name}: expected a `{rule}` finding, got:\n{}", compact(&report));
        } else {
            assert!(rest.starts_with("neg"), "{name}: name must say pos or neg");
            assert_eq!(hits, 0, "{name}: expected no `{rule}` finding, got:\n{}", compact(&report));
        }
        for f in &report.findings {
            assert!(f.line >= 1 && f.column >= 1, "{name}: bad span {f:?}");
            assert!((f.end_line, f.end_column) >= (f.line, f.column), "{name}: inverted span {f:?}");
        }
        insta::assert_snapshot!(name.clone(), compact(&report));
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} fixtures");
}

#[test]
fn every_rule_has_positive_and_negative_fixtures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_str().unwrap().to_string())
        .collect();
    for rule in audit::rules::ALL {
        let id = rule.meta().id;
        for polarity in ["pos", "neg"] {
            let prefix = format!("{id}.{polarity}");
            assert!(names.iter().any(|n| n.starts_with(&prefix)), "no fixture {prefix}*");
        }
    }
}
