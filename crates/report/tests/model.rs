//! Facts the report model must get right whatever the renderer: the tree, attribution, status.

mod common;

use journal::Mode;
use report::{RunReport, Status, Verdict, WarningKind};

fn build(f: common::Fixture) -> RunReport {
    RunReport::from_journal(&f.verified())
}

#[test]
fn a_shell_and_its_children_form_one_tree() {
    let r = build(common::blocked_run());
    assert_eq!(r.roots.len(), 1, "only the agent is a root");
    let agent = &r.processes[r.roots[0]];
    assert_eq!(agent.exe.as_deref(), Some("/usr/local/bin/claude"));
    let sh = &r.processes[agent.children[0]];
    assert_eq!(sh.argv, ["sh", "-c", "make test"]);
    let make = &r.processes[sh.children[0]];
    assert_eq!(make.children.len(), 3);
    assert!(make.children.iter().all(|&c| r.processes[c].exe.as_deref() == Some("/usr/bin/cc")));
}

#[test]
fn a_daemonised_grandchild_stays_under_who_started_it_and_is_flagged() {
    let r = build(common::blocked_run());
    let helper = r.processes.iter().find(|p| p.pid == 1021).unwrap();
    assert_eq!(helper.ppid, 1020, "the parent is who forked it, not the re-parented ppid at exec");
    assert_eq!(helper.parent.map(|id| r.processes[id].pid), Some(1020));
    assert!(helper.orphaned);
    assert_eq!(helper.violations, 1);
}

#[test]
fn a_seccomp_violation_is_attributed_to_the_process() {
    let r = build(common::blocked_run());
    let v = r.violations.iter().find(|v| v.rule == "seccomp.ptrace").unwrap();
    assert!(v.is_blocked());
    assert_eq!(v.pid, Some(1010));
    assert_eq!(v.exe.as_deref(), Some("/usr/bin/gdb"));
    assert_eq!(r.outcome.verdict, Verdict::ViolationsBlocked);
}

#[test]
fn lost_events_are_a_warning() {
    let r = build(common::blocked_run());
    assert_eq!(r.counts.lost_events, 37);
    assert!(r.warnings.iter().any(|w| w.kind == WarningKind::LostEvents && w.message.contains("37")));
    assert!(render_md(&r).contains("> **Warning:** 37 events were lost"));
}

#[test]
fn a_journal_without_run_end_is_incomplete_and_says_so_first() {
    let r = build(common::incomplete_run());
    assert_eq!(r.outcome.verdict, Verdict::Incomplete);
    assert_eq!(r.outcome.status, Status::Incomplete);
    assert!(!r.journal.complete);
    let md = render_md(&r);
    assert!(md.starts_with("## ringfence: **INCOMPLETE"), "{md}");
    let html = report::render_html(&r);
    assert!(html.contains("INCOMPLETE") && html.contains("class=\"alert\""));
}

#[test]
fn a_reused_pid_is_a_second_process() {
    let mut f = common::Fixture::new(Mode::Block, &["sh"]);
    f.exec(1, 1000, 900, "/bin/sh", &["sh"])
        .fork(2, 1001, 1000)
        .exec(3, 1001, 1000, "/bin/ls", &["ls"])
        .exit(4, 1001, 0)
        .fork(5, 1001, 1000)
        .exec(6, 1001, 1000, "/bin/cat", &["cat"])
        .exit(7, 1001, 0)
        .exit(8, 1000, 0)
        .end(9, 0, 0, 0);
    let r = build(f);
    let with_pid: Vec<_> = r.processes.iter().filter(|p| p.pid == 1001).collect();
    assert_eq!(with_pid.len(), 2);
    assert_eq!(with_pid[1].exe.as_deref(), Some("/bin/cat"));
}

#[test]
fn two_thousand_identical_children_collapse_in_markdown() {
    let r = build(common::many_children_run());
    assert_eq!(r.processes.len(), 2001);
    let md = render_md(&r);
    assert!(md.contains("… 1,997 more /bin/true"), "{md}");
    assert!(md.len() < 8 * 1024, "collapsed tree should be short, got {} bytes", md.len());
}

fn render_md(r: &RunReport) -> String {
    report::render_markdown(r)
}
