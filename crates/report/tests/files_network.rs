//! The Files and Network sections: grouping, ordering, attribution and the verdict line.

mod common;

use report::{FileOp, RunReport, Verdict, ViolationKind};

fn build(f: common::Fixture) -> RunReport {
    RunReport::from_journal(&f.verified())
}

#[test]
fn repeated_modifies_collapse_per_path() {
    let r = build(common::agent_run());
    let lib = r.files.changes.iter().find(|c| c.relative.as_deref() == Some("src/lib.rs")).unwrap();
    assert_eq!(lib.ops.len(), 1);
    assert_eq!((lib.ops[0].op, lib.ops[0].count), (FileOp::Modify, 6));
    assert_eq!(lib.processes[0].exe.as_deref(), Some("/usr/local/bin/claude"));
}

#[test]
fn the_state_at_the_end_gives_the_diff_summary_its_sizes() {
    use journal::{Event, FilesFinal, FinalFile, Mode};
    let mut f = common::Fixture::new(Mode::Block, &["sh"]);
    f.exec(1, 1000, 900, "/bin/sh", &["sh"])
        .write(2, 1000, journal::FileOp::Create, "a.txt", None)
        .write(3, 1000, journal::FileOp::Create, "tmp", None)
        .write(4, 1000, journal::FileOp::Delete, "tmp", None)
        .write(5, 1000, journal::FileOp::Modify, "moved-away", None);
    let final_file = |path: &str, kind: &str, size| FinalFile {
        path: format!("{}/{path}", common::WS),
        kind: kind.into(),
        size,
    };
    f.push(
        6,
        Event::FilesFinal(FilesFinal {
            files: vec![
                final_file("a.txt", "file", Some(5000)),
                final_file("tmp", "gone", None),
                final_file("moved-away", "gone", None),
                final_file("never-changed", "file", Some(1)),
            ],
        }),
    )
    .end(7, 0, 0, 0);
    let r = build(f);
    let a = r.files.changes.iter().find(|c| c.relative.as_deref() == Some("a.txt")).unwrap();
    assert_eq!((a.at_end.as_deref(), a.size), (Some("file"), Some(5000)));
    assert!(
        !r.files.changes.iter().any(|c| c.path.ends_with("never-changed")),
        "only changed paths have rows"
    );
    let md = report::render_markdown(&r);
    assert!(md.contains("| created (now 4.9 KiB) | `a.txt` |"), "{md}");
    assert!(md.contains("| created, deleted | `tmp` |"), "a deleted path needs no 'gone': {md}");
    assert!(md.contains("| modified (gone at the end) | `moved-away` |"), "{md}");
    assert!(report::render_html(&r).contains("now 4.9 KiB"));
}

#[test]
fn fence_refusals_are_violations_and_permission_errors_are_context() {
    let r = build(common::agent_run());
    let refusals = &r.files.refusals;
    assert!(refusals[0].violation && refusals[1].violation, "fence refusals come first");
    let plain = refusals.iter().find(|x| x.path == "/etc/hosts").unwrap();
    assert!(!plain.violation);
    assert!(!r.violations.iter().any(|v| v.what.contains("/etc/hosts")));
    let md = report::render_markdown(&r);
    assert!(md.contains("Refused by ordinary file permissions, not the fence: open-write `/etc/hosts`"));
}

#[test]
fn every_kind_of_violation_reaches_the_verdict_with_its_process() {
    let r = build(common::agent_run());
    assert_eq!(r.outcome.verdict, Verdict::ViolationsBlocked);
    assert_eq!(r.outcome.headline, "BLOCKED: 5 violations (2 file, 2 DNS, 1 network)");
    let net = r.violations.iter().find(|v| v.kind == ViolationKind::Network).unwrap();
    assert_eq!(net.exe.as_deref(), Some("/usr/bin/curl"));
    let md = report::render_markdown(&r);
    assert!(md.contains("pid 1011 ← sh ← claude"), "the parent chain is shown:\n{md}");
    let curl = r.processes.iter().find(|p| p.pid == 1011).unwrap();
    assert_eq!(curl.violations, 3, "credential read, DNS and connection all count on curl");
}

#[test]
fn refused_hosts_and_names_come_first() {
    let r = build(common::agent_run());
    assert_eq!(r.network.hosts[0].host, "203.0.113.7");
    assert_eq!(r.network.hosts[0].blocked, 1);
    let npm = r.network.hosts.iter().find(|h| h.host == "registry.npmjs.org").unwrap();
    assert_eq!((npm.connections, npm.bytes_down), (4, 4 * 380_000));
    assert!(r.network.dns[0].violations > 0);
    let npm_dns = r.network.dns.iter().find(|n| n.name == "registry.npmjs.org").unwrap();
    assert_eq!(npm_dns.qtypes, ["A", "AAAA"]);
}

#[test]
fn audit_mode_violations_are_allowed_and_named() {
    let r = build(common::audit_agent_run());
    assert_eq!(r.outcome.verdict, Verdict::ViolationsAllowed);
    assert!(r.files.changes[0].violation, "the protected path is listed first");
    assert_eq!(r.files.changes[0].relative.as_deref(), Some(".github/workflows/release.yml"));
    assert_eq!(r.files.sensitive_reads.len(), 1);
}

#[test]
fn sections_only_appear_when_there_are_events() {
    let r = build(common::passed_run());
    assert!(r.files.is_empty() && r.network.is_empty());
    let md = report::render_markdown(&r);
    assert!(!md.contains("### Files") && !md.contains("### Network"));
    let html = report::render_html(&r);
    assert!(!html.contains("id=\"files\"") && !html.contains("id=\"network\""));
}
