//! Persistence through what runs after the agent: git's configuration and hooks in every git
//! directory (submodules, worktrees), every agent's configuration, and writes outside the
//! workspace. Block mode refuses (or, for what cannot be held in advance, fails the run);
//! audit mode records each with the process that did it.

mod support;

use std::os::unix::fs::{PermissionsExt, chown};
use std::path::{Path, PathBuf};
use std::process::Command;

use journal::{Event, FileDenied, FileWrite};
use support::privileged;

const AGENT: u32 = 65534;

/// A workspace owned by the agent's uid (only the fence stands in the way) with a git directory
/// that has a submodule's and a worktree's git directories, and a world-writable directory
/// outside it.
struct Setup {
    _root: tempfile::TempDir,
    ws: PathBuf,
    outside: PathBuf,
}

fn setup() -> Setup {
    let root = support::scratch();
    let ws = root.path().join("ws");
    let outside = root.path().join("outside");
    let git = ws.join(".git");
    for dir in ["", "modules/sub", "modules/lib/deep", "worktrees/wt"] {
        let dir = if dir.is_empty() { git.clone() } else { git.join(dir) };
        std::fs::create_dir_all(dir.join("hooks")).unwrap();
        std::fs::write(dir.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        std::fs::write(dir.join("config"), "[core]\n\tbare = false\n").unwrap();
    }
    std::fs::write(git.join("worktrees/wt/commondir"), "../..\n").unwrap();
    std::fs::create_dir_all(ws.join("src")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    for entry in walk(&ws).into_iter().chain([outside.clone()]) {
        chown(&entry, Some(AGENT), Some(AGENT)).unwrap();
        let mode = if entry.is_dir() { 0o777 } else { 0o666 };
        std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    Setup { _root: root, ws, outside }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.path().is_dir() { out.extend(walk(&entry.path())) } else { out.push(entry.path()) }
    }
    out
}

/// Runs `script` under `ringfence run --mode MODE [ARGS]` in the workspace; returns what it
/// printed (`NAME ok` / `NAME refused` lines) and the run.
fn run(s: &Setup, mode: &str, args: &[&str], script: &str) -> (String, support::Run) {
    let out_dir = s.ws.parent().unwrap().join(format!("out-{mode}-{}", args.len()));
    let output = Command::new(support::binary())
        .current_dir(&s.ws)
        .args(["run", "--mode", mode, "--out"])
        .arg(&out_dir)
        .args(args)
        .args(["--", "/bin/sh", "-c", script])
        .output()
        .unwrap();
    let records = journal::read(&out_dir.join("events.jsonl")).unwrap().unwrap().records;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    (text, support::Run { output, out_dir, records })
}

const T: &str = r#"t() { name=$1; shift; if "$@" >/dev/null 2>&1; then echo "$name ok"; else echo "$name refused"; fi; }
"#;

fn outcome<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines().find_map(|l| l.strip_prefix(name).map(str::trim)).unwrap_or("missing")
}

fn writes(r: &support::Run) -> Vec<&FileWrite> {
    r.events().filter_map(|e| if let Event::FileWrite(w) = e { Some(w) } else { None }).collect()
}

fn refusals(r: &support::Run) -> Vec<&FileDenied> {
    r.events().filter_map(|e| if let Event::FileDenied(d) = e { Some(d) } else { None }).collect()
}

/// The command line of the process `pid` exec'd last, from the journal.
fn argv_of(r: &support::Run, pid: Option<u32>) -> String {
    let pid = pid.expect("a pid");
    r.execs().into_iter().rev().find(|e| e.pid == pid).map(|e| e.argv.join(" ")).unwrap_or_default()
}

/// The git directories' config, hooks and pointers, as an attacker would plant persistence.
const GIT_ATTEMPTS: &[(&str, &str)] = &[
    ("sub-config", "printf '[core]\\n\\tfsmonitor = evil-sub-config\\n' >> .git/modules/sub/config"),
    ("sub-hook", "echo evil-sub-hook > .git/modules/sub/hooks/post-checkout"),
    ("deep-hook", "echo evil-deep-hook > .git/modules/lib/deep/hooks/pre-commit"),
    ("wt-config", "echo evil-wt-config >> .git/worktrees/wt/config"),
    ("wt-commondir", "echo /elsewhere > .git/worktrees/wt/commondir"),
    ("top-config", "echo evil-top-config >> .git/config"),
];

fn git_script() -> String {
    let mut script = T.to_string();
    for (name, cmd) in GIT_ATTEMPTS {
        script.push_str(&format!("t {name} sh -c '{}'\n", cmd.replace('\'', "'\\''")));
    }
    // Not there at start, so not held: made during the run, flagged.
    script.push_str(
        "t new-module sh -c 'mkdir -p .git/modules/new && echo evil-new-module > .git/modules/new/config'\n",
    );
    script.push_str("t new-commondir sh -c 'echo evil-new-commondir > .git/commondir'\n");
    script
}

#[test]
fn git_config_and_hooks_of_every_git_directory_are_held_and_new_ones_fail_the_run() {
    if !privileged("git_config_and_hooks_of_every_git_directory_are_held_and_new_ones_fail_the_run") {
        return;
    }
    let s = setup();
    let (text, r) = run(&s, "block", &[], &git_script());
    for (name, _) in GIT_ATTEMPTS {
        assert_eq!(outcome(&text, name), "refused", "{name}:\n{text}\n{}", r.stderr());
    }
    for (_, file) in walk(&s.ws.join(".git")).iter().filter(|p| p.is_file()).map(|p| (p.clone(), p)) {
        let content = std::fs::read_to_string(file).unwrap_or_default();
        assert!(
            !content.contains("evil-sub")
                && !content.contains("evil-deep")
                && !content.contains("evil-wt")
                && !content.contains("evil-top"),
            "{} was changed: {content}",
            file.display()
        );
    }
    let denied = refusals(&r);
    let sub_hook = s.ws.join(".git/modules/sub/hooks/post-checkout").display().to_string();
    let refusal = denied.iter().find(|d| d.path == sub_hook).unwrap_or_else(|| panic!("{denied:#?}"));
    assert_eq!(refusal.rule.as_deref(), Some("files.protected ${workspace}/.git/modules/sub/hooks"));
    assert!(argv_of(&r, refusal.pid).contains("post-checkout"), "attributed to the writer");
    // What could not be held in advance is a violation, with its writer, and fails the run.
    let flagged: Vec<&FileWrite> = writes(&r).into_iter().filter(|w| w.violation).collect();
    for (path, rule) in [
        (".git/modules/new/config", "files.protected ${workspace}/.git/modules/new/config"),
        (".git/commondir", "files.protected ${workspace}/.git/commondir"),
    ] {
        let full = s.ws.join(path).display().to_string();
        let w = flagged.iter().find(|w| w.path == full).unwrap_or_else(|| panic!("{path}: {flagged:#?}"));
        assert_eq!(w.rule.as_deref(), Some(rule));
        assert!(argv_of(&r, w.pid).contains(path), "{path} attributed: {}", argv_of(&r, w.pid));
    }
    assert_eq!(r.code(), 122, "{}", r.stderr());
}

#[test]
fn audit_mode_records_every_git_directory_write_with_its_process() {
    if !privileged("audit_mode_records_every_git_directory_write_with_its_process") {
        return;
    }
    let s = setup();
    let (text, r) = run(&s, "audit", &[], &git_script());
    let flagged: Vec<&FileWrite> = writes(&r).into_iter().filter(|w| w.violation).collect();
    let expected = [
        (".git/modules/sub/config", "sub-config", "${workspace}/.git/modules/sub/config"),
        (".git/modules/sub/hooks/post-checkout", "sub-hook", "${workspace}/.git/modules/sub/hooks"),
        (".git/modules/lib/deep/hooks/pre-commit", "deep-hook", "${workspace}/.git/modules/lib/deep/hooks"),
        (".git/worktrees/wt/config", "wt-config", "${workspace}/.git/worktrees/wt/config"),
        (".git/worktrees/wt/commondir", "wt-commondir", "${workspace}/.git/worktrees/wt/commondir"),
        (".git/config", "top-config", "${workspace}/.git/config"),
        (".git/modules/new/config", "new-module", "${workspace}/.git/modules/new/config"),
        (".git/commondir", "new-commondir", "${workspace}/.git/commondir"),
    ];
    for (path, name, rule) in expected {
        assert_eq!(outcome(&text, name), "ok", "{name} goes through in audit mode:\n{text}\n{}", r.stderr());
        let full = s.ws.join(path).display().to_string();
        let w = flagged.iter().find(|w| w.path == full).unwrap_or_else(|| panic!("{path}: {flagged:#?}"));
        assert_eq!(w.rule.as_deref(), Some(format!("files.protected {rule}").as_str()));
        let argv = argv_of(&r, w.pid);
        assert!(argv.contains(&path.rsplit('/').next().unwrap().to_string()), "{path} attributed: {argv}");
    }
    assert_eq!(r.code(), 0, "audit mode does not fail the run: {}", r.stderr());
}

/// One attempt per agent configuration path (and one the policy adds): create or overwrite it
/// as a file, making its parent first.
fn agents_script(extra: &str) -> String {
    let mut script = T.to_string();
    for (i, path) in policy::AGENT_CONFIG.iter().map(|a| a.path).chain([extra]).enumerate() {
        script
            .push_str(&format!("t agent{i} sh -c 'mkdir -p \"$(dirname {path})\" && echo evil > {path}'\n"));
    }
    script
}

#[test]
fn every_agents_configuration_is_held_in_block_mode_and_recorded_in_audit_mode() {
    if !privileged("every_agents_configuration_is_held_in_block_mode_and_recorded_in_audit_mode") {
        return;
    }
    let extra = ".windsurf/rules.md";
    let s = setup();
    let policy = s.ws.parent().unwrap().join("policy.yml");
    std::fs::write(&policy, "version: 1\nfiles:\n  protected: [\"${workspace}/.windsurf\"]\n").unwrap();
    let policy_arg = policy.display().to_string();
    let paths: Vec<&str> = policy::AGENT_CONFIG.iter().map(|a| a.path).chain([extra]).collect();

    let (text, r) = run(&s, "block", &["--policy", &policy_arg], &agents_script(extra));
    for (i, path) in paths.iter().enumerate() {
        assert_eq!(outcome(&text, &format!("agent{i} ")), "refused", "{path}:\n{text}\n{}", r.stderr());
        let now = std::fs::symlink_metadata(s.ws.join(path));
        assert!(now.is_err(), "{path} left behind after a block-mode run: {now:?}");
    }
    let denied = refusals(&r);
    let gemini = s.ws.join(".gemini").display().to_string();
    assert!(
        denied
            .iter()
            .any(|d| d.path == gemini && d.rule.as_deref() == Some("files.protected ${workspace}/.gemini")),
        "{denied:#?}"
    );

    let (text, r) = run(&s, "audit", &["--policy", &policy_arg], &agents_script(extra));
    let flagged: Vec<&FileWrite> = writes(&r).into_iter().filter(|w| w.violation).collect();
    for (i, path) in paths.iter().enumerate() {
        assert_eq!(outcome(&text, &format!("agent{i} ")), "ok", "{path}:\n{text}\n{}", r.stderr());
        let full = s.ws.join(path).display().to_string();
        let w = flagged.iter().find(|w| w.path == full).unwrap_or_else(|| panic!("{path}: {flagged:#?}"));
        assert!(
            w.rule.as_deref().is_some_and(|rule| rule.starts_with("files.protected ${workspace}/")),
            "{w:?}"
        );
        assert!(argv_of(&r, w.pid).contains(path), "{path} attributed: {}", argv_of(&r, w.pid));
    }
}

#[test]
fn audit_mode_records_writes_outside_the_workspace_that_block_mode_refuses() {
    if !privileged("audit_mode_records_writes_outside_the_workspace_that_block_mode_refuses") {
        return;
    }
    let s = setup();
    let lock = PathBuf::from(format!("/run/lock/ringfence-test-{}", std::process::id()));
    let dropped = s.outside.join("dropped");
    // A file system of its own (not the workspace's), as /run or /var/lib often are on a runner.
    let other = TmpfsMount::new(&s.ws.parent().unwrap().join("otherfs"));
    let elsewhere = other.0.join("dropped");
    let script = format!(
        "{T}t lock sh -c 'echo x > {lock}'\nt outside sh -c 'echo x > {dropped}'\n\
         t otherfs sh -c 'echo x > {elsewhere}'\nt source sh -c 'echo x > src/a.rs'\n",
        lock = lock.display(),
        dropped = dropped.display(),
        elsewhere = elsewhere.display(),
    );

    let (text, r) = run(&s, "block", &[], &script);
    for name in ["lock", "outside", "otherfs"] {
        assert_eq!(outcome(&text, name), "refused", "{name}:\n{text}\n{}", r.stderr());
    }
    assert!(!lock.exists() && !dropped.exists() && !elsewhere.exists());
    for path in [&lock, &dropped, &elsewhere] {
        let path = path.display().to_string();
        let denied = refusals(&r);
        let d = denied.iter().find(|d| d.path == path).unwrap_or_else(|| panic!("{path}: {denied:#?}"));
        assert_eq!(d.rule.as_deref(), Some(policy::OUTSIDE_WRITABLE));
    }

    let (text, r) = run(&s, "audit", &[], &script);
    let _ = std::fs::remove_file(&lock);
    for name in ["lock", "outside", "otherfs", "source"] {
        assert_eq!(outcome(&text, name), "ok", "{name}:\n{text}\n{}", r.stderr());
    }
    let all = writes(&r);
    for path in [&lock, &dropped, &elsewhere] {
        let path = path.display().to_string();
        let w =
            all.iter().find(|w| w.path == path).unwrap_or_else(|| panic!("{path} not recorded: {all:#?}"));
        assert!(w.violation && w.rule.as_deref() == Some(policy::OUTSIDE_WRITABLE), "{w:?}");
        assert!(argv_of(&r, w.pid).contains(&path), "{path} attributed: {}", argv_of(&r, w.pid));
    }
    let source = s.ws.join("src/a.rs").display().to_string();
    assert!(all.iter().any(|w| w.path == source && !w.violation), "an allowed write is not a violation");
    // Every attempt above redirects to /dev/null, which block mode allows too.
    assert!(all.iter().any(|w| w.path == "/dev/null"), "/dev is watched: {all:#?}");
    assert!(!all.iter().any(|w| w.path.starts_with("/dev/") && w.violation), "{all:#?}");
    let files = r.run_start().fence.iter().find(|l| l.layer == "files").expect("files layer");
    assert!(files.detail.contains("block mode would refuse"), "{files:?}");
    assert!(
        files.detail.contains(&other.0.display().to_string()),
        "the other file system is named: {files:?}"
    );
}

/// A world-writable tmpfs mounted for one test, unmounted when dropped (even on failure).
struct TmpfsMount(PathBuf);

impl TmpfsMount {
    fn new(at: &Path) -> TmpfsMount {
        use nix::mount::{MsFlags, mount};
        std::fs::create_dir_all(at).unwrap();
        mount(
            Some("tmpfs"),
            at,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some("size=1m,mode=1777"),
        )
        .unwrap();
        TmpfsMount(at.to_path_buf())
    }
}

impl Drop for TmpfsMount {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.0, nix::mount::MntFlags::MNT_DETACH);
    }
}

#[test]
fn the_policy_file_in_the_workspace_is_held_and_its_change_recorded() {
    if !privileged("the_policy_file_in_the_workspace_is_held_and_its_change_recorded") {
        return;
    }
    // A loosened ringfence.yml would steer the next step's run and the Claude Code hook.
    let s = setup();
    let policy = s.ws.join("ringfence.yml");
    std::fs::write(&policy, "version: 1\n").unwrap();
    chown(&policy, Some(AGENT), Some(AGENT)).unwrap();
    std::fs::set_permissions(&policy, std::fs::Permissions::from_mode(0o666)).unwrap();
    let script =
        format!("{T}t policy sh -c 'echo \"egress: {{ allow: [\\\"**.evil.test\\\"] }}\" >> ringfence.yml'");
    let (text, r) = run(&s, "block", &[], &script);
    assert_eq!(outcome(&text, "policy "), "refused", "{text}\n{}", r.stderr());
    assert_eq!(std::fs::read_to_string(&policy).unwrap(), "version: 1\n");
    let full = policy.display().to_string();
    assert!(refusals(&r).iter().any(|d| d.path == full), "{:#?}", refusals(&r));

    let (text, r) = run(&s, "audit", &[], &script);
    assert_eq!(outcome(&text, "policy "), "ok", "{text}");
    let flagged = writes(&r).into_iter().find(|w| w.violation && w.path == full);
    let w = flagged.unwrap_or_else(|| panic!("{:#?}", writes(&r)));
    assert!(argv_of(&r, w.pid).contains("ringfence.yml"), "{}", argv_of(&r, w.pid));
}
