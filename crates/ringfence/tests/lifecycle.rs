//! Bad input and the run's life cycle: missing commands, bad policies, unwritable output,
//! signals, limits, and the journal's tamper evidence.

mod support;

use std::process::Command;

use support::{binary, privileged, run};

#[test]
fn a_missing_command_exits_127_with_a_complete_journal() {
    if !privileged("a_missing_command_exits_127_with_a_complete_journal") {
        return;
    }
    let (_dir, r) = run(&[], &["no-such-command-ringfence"]);
    assert_eq!(r.code(), 127, "{}", r.stderr());
    assert_eq!(r.run_end().status, journal::RunStatus::NotStarted);
    assert!(r.run_end().reason.as_deref().unwrap_or("").contains("no-such-command-ringfence"));
}

#[test]
fn a_non_executable_command_exits_126() {
    if !privileged("a_non_executable_command_exits_126") {
        return;
    }
    let dir = support::scratch();
    std::fs::write(dir.path().join("script"), "#!/bin/sh\n").unwrap();
    let r = support::run_in(dir.path(), &[], &["./script"]);
    assert_eq!(r.code(), 126, "{}", r.stderr());
}

#[test]
fn cmd_status_passes_through() {
    if !privileged("cmd_status_passes_through") {
        return;
    }
    let (_dir, r) = run(&["--mode", "block"], &["/bin/sh", "-c", "exit 7"]);
    assert_eq!(r.code(), 7);
    assert_eq!(r.run_end().cmd_code, Some(7));
}

#[test]
fn an_unwritable_out_dir_is_a_clear_error() {
    if !privileged("an_unwritable_out_dir_is_a_clear_error") {
        return;
    }
    let out = Command::new(binary())
        .args(["run", "--out", "/proc/ringfence-cannot", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/proc/ringfence-cannot") && err.contains("--out"), "{err}");
}

#[test]
fn a_malformed_policy_names_file_line_and_column() {
    if !privileged("a_malformed_policy_names_file_line_and_column") {
        return;
    }
    let dir = support::scratch();
    std::fs::write(dir.path().join("ringfence.yml"), "version: 1\negress:\n  allw: [x.com]\n").unwrap();
    let out = Command::new(binary()).current_dir(dir.path()).args(["run", "--", "true"]).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ringfence.yml:3:3"), "{err}");
    assert!(err.contains("allow"), "suggests the right key: {err}");
}

#[test]
fn the_wall_clock_limit_ends_the_run_with_124() {
    if !privileged("the_wall_clock_limit_ends_the_run_with_124") {
        return;
    }
    let (_dir, r) = run(&["--wall", "1s"], &["sleep", "30"]);
    assert_eq!(r.code(), 124, "{}", r.stderr());
    assert_eq!(r.run_end().status, journal::RunStatus::WallLimit);
    assert!(r.violations().iter().any(|v| v.rule == "limits.wall"));
}

#[test]
fn sigterm_mid_run_tears_down_and_leaves_a_verifiable_journal() {
    if !privileged("sigterm_mid_run_tears_down_and_leaves_a_verifiable_journal") {
        return;
    }
    let dir = support::scratch();
    let mut child = Command::new(binary())
        .current_dir(dir.path())
        .args(["run", "--out", "o", "--", "/bin/sh", "-c", "sleep 3600 & sleep 3600"])
        .spawn()
        .unwrap();
    // Wait until the agent's sleeps are running, found through the journal.
    let journal = dir.path().join("o/events.jsonl");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::fs::read_to_string(&journal).unwrap_or_default().matches("\"sleep\",\"3600\"").count() < 2 {
        assert!(std::time::Instant::now() < deadline, "the agent never started");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::SIGTERM).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143));
    let verified = journal::read(&journal).unwrap().unwrap();
    assert!(verified.complete);
    for record in &verified.records {
        if let journal::Event::ProcessExec(e) = &record.event {
            let alive = std::fs::read_to_string(format!("/proc/{}/cmdline", e.pid)).unwrap_or_default();
            assert!(!alive.contains("3600"), "agent process {} survived", e.pid);
        }
    }
}

#[test]
fn verify_detects_an_edited_and_a_truncated_journal() {
    if !privileged("verify_detects_an_edited_and_a_truncated_journal") {
        return;
    }
    let (_dir, r) = run(&[], &["/bin/sh", "-c", "/bin/true; /bin/true"]);
    let verify = |path: &std::path::Path| {
        Command::new(binary()).arg("verify").arg(path).output().unwrap().status.code()
    };
    assert_eq!(verify(&r.out_dir), Some(0));
    let journal = r.out_dir.join("events.jsonl");
    let text = std::fs::read_to_string(&journal).unwrap();
    std::fs::write(&journal, text.replacen("/bin/true", "/bin/fals", 1)).unwrap();
    assert_eq!(verify(&r.out_dir), Some(1), "an edited line is detected");
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&journal, lines[..lines.len() - 1].join("\n")).unwrap();
    assert_eq!(verify(&r.out_dir), Some(3), "a removed last line is detected");
}
