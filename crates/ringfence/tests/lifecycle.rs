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
    assert_eq!(verify(&r.out_dir), Some(1), "a removed last line no longer matches the run's anchor");
    let no_anchors = tempfile::tempdir().unwrap();
    let unanchored = Command::new(binary())
        .env("RINGFENCE_STATE_DIR", no_anchors.path())
        .arg("verify")
        .arg(&r.out_dir)
        .output()
        .unwrap();
    assert_eq!(unanchored.status.code(), Some(3), "without its anchor: cut short");
}

#[test]
fn sigkill_of_the_supervisor_takes_the_agent_with_it() {
    if !privileged("sigkill_of_the_supervisor_takes_the_agent_with_it") {
        return;
    }
    let dir = support::scratch();
    let mut child = Command::new(binary())
        .current_dir(dir.path())
        .args(["run", "--out", "o", "--", "/bin/sh", "-c", "setsid sleep 3601 & sleep 3601"])
        .spawn()
        .unwrap();
    let journal = dir.path().join("o/events.jsonl");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::fs::read_to_string(&journal).unwrap_or_default().matches("\"sleep\",\"3601\"").count() < 2 {
        assert!(std::time::Instant::now() < deadline, "the agent never started");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let pids: Vec<u32> = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<journal::Record>(l).ok())
        .filter_map(|r| if let journal::Event::ProcessExec(e) = r.event { Some(e.pid) } else { None })
        .collect();
    child.kill().unwrap();
    child.wait().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let alive: Vec<u32> = pids
            .iter()
            .copied()
            .filter(|p| {
                std::fs::read_to_string(format!("/proc/{p}/cmdline")).is_ok_and(|c| c.contains("3601"))
            })
            .collect();
        if alive.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "agent processes {alive:?} outlived a SIGKILLed supervisor"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // What the journal holds up to the kill still verifies; it is marked incomplete, not corrupt.
    let verified = journal::read(&journal).unwrap().unwrap();
    assert!(!verified.complete);
}

#[test]
fn the_pids_limit_stops_a_fork_bomb() {
    if !privileged("the_pids_limit_stops_a_fork_bomb") {
        return;
    }
    let script = "n=0; for i in $(seq 60); do sleep 2 & n=$((n+1)); done 2>/dev/null; wait; echo done";
    let (_dir, r) = run(&["--pids", "20"], &["/bin/sh", "-c", script]);
    let sleeps = r.execs().iter().filter(|e| e.exe.ends_with("sleep")).count();
    assert!(sleeps < 20, "at most 20 processes at once, saw {sleeps} sleeps");
    assert_eq!(r.run_start().limits.pids, Some(20));
}

#[test]
fn the_agent_cannot_move_the_journal_away_in_block_mode() {
    if !privileged("the_agent_cannot_move_the_journal_away_in_block_mode") {
        return;
    }
    let dir = support::scratch();
    std::os::unix::fs::chown(dir.path(), Some(65534), Some(65534)).unwrap();
    let out = Command::new(binary())
        .current_dir(dir.path())
        .args([
            "run",
            "--mode",
            "block",
            "--",
            "/bin/sh",
            "-c",
            "mv ringfence-runs gone && echo MOVED; exit 0",
        ])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("MOVED"));
    assert!(dir.path().join("ringfence-runs").is_dir());
    assert!(!dir.path().join("gone").exists());
}

/// The fence's init starts as soon as the cgroup exists and builds the mount namespace while the
/// sensors load, but CMD starts only at the supervisor's release: a fence torn down before it
/// (a sensor that failed to load) never runs CMD at all.
#[test]
fn cmd_starts_only_at_the_release_and_never_without_it() {
    if !privileged("cmd_starts_only_at_the_release_and_never_without_it") {
        return;
    }
    let dir = support::scratch();
    let marker = dir.path().join("ran");
    let spec = |n: u32| sandbox::FenceSpec {
        run_id: format!("release-test-{}-{n}", std::process::id()),
        argv: vec!["/bin/sh".into(), "-c".into(), format!("echo ran > {}", marker.display())],
        cwd: dir.path().to_path_buf(),
        env: vec![("PATH".into(), "/usr/bin:/bin".into())],
        uid: 0,
        gid: 0,
        pids_max: None,
        memory_max: None,
        isolate_network: true,
        files: None,
        init_exe: binary().into(),
        ca_bundle: None,
        run_dir: None,
        socket_view: None,
    };
    let quiet = || Box::new(|_: sandbox::Denied| {}) as Box<dyn FnMut(sandbox::Denied) + Send>;
    let never = std::sync::atomic::AtomicBool::new(false);

    let held = sandbox::Prepared::new(spec(1)).unwrap().launch(quiet()).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(!marker.exists(), "CMD ran before the release");
    held.teardown().unwrap();
    assert!(!marker.exists(), "CMD ran although the fence was torn down unreleased");

    let mut released = sandbox::Prepared::new(spec(2)).unwrap().launch(quiet()).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(!marker.exists(), "CMD ran before the release");
    released.release();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    assert_eq!(
        released.wait(Some(deadline), &never),
        sandbox::Outcome::Exited { code: Some(0), signal: None }
    );
    released.teardown().unwrap();
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "ran\n");
}
