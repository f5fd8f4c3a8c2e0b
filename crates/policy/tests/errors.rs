//! One fixture per error behaviour under `fixtures/errors/`; each message is an insta snapshot,
//! so a change to any user-facing error shows up in review.

use std::path::Path;

#[test]
fn every_error_fixture_fails_with_a_located_message() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/errors");
    let mut entries: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    assert!(entries.len() > 40, "fixtures missing");
    for path in entries {
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let err = policy::parse(&text, &format!("{name}.yml")).expect_err(&name);
        let message = err.to_string();
        // Every message names file:line:column and carries a fix.
        assert!(message.starts_with(&format!("{name}.yml:")), "{message}");
        assert!(err.pos().is_some_and(|p| p.line >= 1 && p.column >= 1), "{message}");
        assert!(message.contains("\n  help: "), "{message}");
        insta::assert_snapshot!(name, message);
    }
}

#[test]
fn unreadable_file_names_the_path() {
    let err = policy::load(Path::new("does/not/exist.yml")).unwrap_err();
    assert!(err.to_string().starts_with("does/not/exist.yml: cannot read the policy file"), "{err}");
    assert_eq!(err.pos(), None);
}
