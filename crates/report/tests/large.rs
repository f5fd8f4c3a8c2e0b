//! A big run must still give reports a browser opens and a job summary accepts.

mod common;

use std::time::{Duration, Instant};

use journal::{Event, FileOp, FileWrite, JournalWriter};
use report::{RunReport, render_html, render_json, render_markdown};

/// A journal being written in a temporary directory (kept alive by the caller).
fn journal_in_tempdir() -> (tempfile::TempDir, JournalWriter) {
    let dir = tempfile::tempdir().unwrap();
    let writer = JournalWriter::create(&dir.path().join("events.jsonl")).unwrap();
    (dir, writer)
}

/// One file change by pid 7; a violation names the protected-path rule.
fn file_write(path: String, op: FileOp, violation: bool) -> Event {
    Event::FileWrite(FileWrite {
        pid: Some(7),
        op,
        path,
        to: None,
        violation,
        rule: violation.then(|| "files.protected".to_string()),
    })
}

#[test]
fn twenty_thousand_events_render_small_and_fast() {
    // 6,700 processes × (fork, exec, exit) + start, violations, end ≈ 20,000 records.
    let verified = common::large_run(6_700).verified();
    assert!(verified.records.len() >= 20_000, "{} records", verified.records.len());

    let started = Instant::now();
    let r = RunReport::from_journal(&verified);
    let html = render_html(&r);
    let md = render_markdown(&r);
    let json = render_json(&r);
    let took = started.elapsed();

    // Generous for an unoptimised test build on a shared CI runner; a release build is ~10x faster.
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert!(html.len() < 4 * 1024 * 1024, "report.html is {} bytes", html.len());
    assert!(md.len() <= 64 * 1024, "report.md is {} bytes", md.len());
    assert!(json.len() < 16 * 1024 * 1024, "report.json is {} bytes", json.len());
    assert_eq!(
        r.events.len() as u64 + r.events_omitted,
        verified.records.len() as u64,
        "every record is counted"
    );
    assert!(r.events.len() <= report::EVENTS_MAX + r.violations.len() + 2, "{} rows", r.events.len());
    assert!(md.contains("more processes are not shown") || md.contains("more /usr/bin/cc"));
}

#[test]
fn a_hundred_thousand_file_events_make_a_bounded_report_that_counts_what_it_leaves_out() {
    let (dir, mut w) = journal_in_tempdir();
    let path = dir.path().join("events.jsonl");
    let write = |i: u32, op, violation| file_write(format!("/ws/d/f{i}"), op, violation);
    for i in 0..50_000 {
        w.append(write(i, FileOp::Create, false)).unwrap();
        w.append(write(i, FileOp::Modify, false)).unwrap();
    }
    w.append(write(99_999, FileOp::Create, true)).unwrap();
    let verified = journal::read(&path).unwrap().unwrap();
    let r = RunReport::from_journal(&verified);

    assert_eq!(r.events.len(), report::EVENTS_MAX + 1, "the first rows and the violation");
    assert_eq!(r.events_omitted, 100_001 - r.events.len() as u64);
    assert!(r.events.last().unwrap().violation);
    assert_eq!(r.files.changes.len(), report::CHANGES_MAX + 1);
    assert_eq!(r.files.changed_paths(), 50_001);
    assert!(r.files.changes[0].violation, "protected paths are always listed, first");
    let json = render_json(&r);
    assert!(json.len() < 16 * 1024 * 1024, "report.json is {} bytes", json.len());
    assert!(render_html(&r).contains("The journal (events.jsonl) has every record"));
}

#[test]
fn paths_past_the_rows_are_counted_once_and_a_late_violation_still_gets_its_row() {
    let (dir, mut w) = journal_in_tempdir();
    let path = dir.path().join("events.jsonl");
    let write = |i: usize, op, violation| file_write(format!("/ws/f{i}"), op, violation);
    let paths = report::CHANGES_MAX + 100;
    for round in [FileOp::Create, FileOp::Modify, FileOp::Modify] {
        for i in 0..paths {
            w.append(write(i, round, false)).unwrap();
        }
    }
    // An ordinary path past the rows is written again, this time as a violation.
    let late = report::CHANGES_MAX + 50;
    w.append(write(late, FileOp::Modify, true)).unwrap();
    let verified = journal::read(&path).unwrap().unwrap();
    let r = RunReport::from_journal(&verified);

    assert_eq!(r.files.changed_paths(), paths as u64, "each path counted once, shown or not");
    assert_eq!(r.files.changes.len(), report::CHANGES_MAX + 1);
    assert_eq!(r.files.changes_omitted, 99);
    let flagged = &r.files.changes[0];
    assert!(flagged.violation && flagged.path == format!("/ws/f{late}"), "{flagged:?}");
    assert_eq!(flagged.events, 1, "its row starts at the violation");
    let first = &r.files.changes[1];
    assert_eq!((first.path.as_str(), first.events), ("/ws/f0", 3));
}
