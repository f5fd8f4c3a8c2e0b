use super::*;
use crate::{JournalWriter, PolicyViolation, ProcessExit, Verdict};

fn sample(n: u32) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let mut w = JournalWriter::create(&path).unwrap();
    for pid in 0..n {
        w.append(Event::ProcessExit(ProcessExit { pid, code: Some(0), signal: None })).unwrap();
    }
    w.append(Event::PolicyViolation(PolicyViolation {
        pid: Some(7),
        rule: "seccomp.ptrace".into(),
        what: "ptrace(\"x\")\n".into(),
        verdict: Verdict::Blocked,
    }))
    .unwrap();
    std::fs::read_to_string(&path).unwrap()
}

#[test]
fn a_written_journal_verifies() {
    let text = sample(5);
    let v = verify(&text).unwrap();
    assert_eq!(v.records.len(), 6);
    assert!(!v.complete, "no run.end was written");
    assert_eq!(v.records[3].seq, 3);
}

#[test]
fn an_edited_line_is_detected() {
    let text = sample(5).replace("\"pid\":3", "\"pid\":4");
    assert_eq!(verify(&text).unwrap_err(), VerifyError::Edited { line: 4 });
}

#[test]
fn an_edited_line_with_a_recomputed_hash_breaks_the_chain() {
    let text = sample(5);
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let mut record: Record = serde_json::from_str(&lines[2]).unwrap();
    record.event = Event::ProcessExit(ProcessExit { pid: 99, code: Some(1), signal: None });
    lines[2] = crate::writer::seal(&record).unwrap().0.trim_end().to_string();
    let edited = lines.join("\n");
    assert_eq!(verify(&edited).unwrap_err(), VerifyError::Broken { line: 4, prev_line: 3 });
}

#[test]
fn a_dropped_line_is_detected() {
    let text = sample(5);
    let lines: Vec<&str> = text.lines().collect();
    let dropped = [&lines[..2], &lines[3..]].concat().join("\n");
    assert_eq!(verify(&dropped).unwrap_err(), VerifyError::Broken { line: 3, prev_line: 2 });
}

#[test]
fn reordered_lines_are_detected() {
    let text = sample(5);
    let mut lines: Vec<&str> = text.lines().collect();
    lines.swap(1, 2);
    assert!(matches!(verify(&lines.join("\n")).unwrap_err(), VerifyError::Broken { line: 2, .. }));
}

#[test]
fn garbage_is_malformed_not_a_panic() {
    for bad in ["{}", "not json", "{\"hash\":\"zz\"}", "é,\"hash\":\"", ""] {
        assert!(verify(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn create_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    std::fs::write(&path, "x").unwrap();
    assert!(JournalWriter::create(&path).is_err());
}

proptest::proptest! {
    #[test]
    fn any_text_verifies_or_errors(s in ".{0,300}") {
        let _ = verify(&s);
    }

    #[test]
    fn any_single_byte_flip_is_detected(pos in 0usize..2000, bit in 0u8..7) {
        let text = sample(3);
        let mut bytes = text.into_bytes();
        let pos = pos % bytes.len();
        if bytes[pos] == b'\n' { return Ok(()); }
        bytes[pos] ^= 1 << bit;
        if let Ok(flipped) = String::from_utf8(bytes) {
            proptest::prop_assert!(verify(&flipped).is_err());
        }
    }
}

#[test]
fn a_half_written_last_line_is_a_write_error_not_tampering() {
    let text = sample(3);
    let cut = &text[..text.len() - 20];
    let v = verify(cut).unwrap();
    assert_eq!(v.cut_short, Some(CutShort::PartialLine));
    assert_eq!(v.records.len(), 3, "the partial line is not part of the chain");
    // An edit before the last line is still tampering, cut or not.
    let edited = cut.replacen("\"pid\":1", "\"pid\":2", 1);
    assert!(verify(&edited).is_err());
}

#[test]
fn write_error_records_say_the_journal_was_cut_short() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let mut w = JournalWriter::create(&path).unwrap();
    w.append(Event::ProcessExit(ProcessExit { pid: 1, code: Some(0), signal: None })).unwrap();
    for lost in [5, 7] {
        w.append(Event::JournalWriteError(crate::JournalWriteError { error: "disk full".into(), lost }))
            .unwrap();
    }
    let v = verify(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(v.cut_short, Some(CutShort::WriteError { error: "disk full".into(), lost: 12 }));
}
