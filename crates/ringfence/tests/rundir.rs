//! The run directory and the journal against an agent that attacks them: moving the run
//! directory aside and planting one whose reports are links to files outside, planting a
//! re-chained journal, and filling the disk. Each runs the real `ringfence run` as root.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use journal::{Event, Record};
use sha2::{Digest, Sha256};
use support::{binary, privileged};

/// Runs `ringfence run ARGS -- CMD` in `cwd` with anchors kept in `state`.
fn ringfence_run(cwd: &Path, state: &Path, args: &[&str], cmd: &[&str]) -> Output {
    Command::new(binary())
        .current_dir(cwd)
        .env("RINGFENCE_STATE_DIR", state)
        .arg("run")
        .args(args)
        .arg("--")
        .args(cmd)
        .output()
        .unwrap()
}

fn verify(state: &Path, args: &[&str]) -> (i32, String) {
    let out =
        Command::new(binary()).env("RINGFENCE_STATE_DIR", state).arg("verify").args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A root-owned directory the agent cannot write (anchors, the file the attack aims at).
fn root_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("ringfence-root-").tempdir_in(support::visible_base()).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// A workspace owned by the unprivileged uid the agent runs as (nobody), as in audit mode on a
/// runner: the agent may rename anything in it.
fn agent_workspace() -> tempfile::TempDir {
    let dir = support::scratch();
    std::os::unix::fs::chown(dir.path(), Some(65534), Some(65534)).unwrap();
    dir
}

/// The single run directory under `dir` (one level down from any name).
fn run_dirs(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("events.jsonl").is_file())
        .collect()
}

fn head_line(stderr: &str) -> String {
    let line = stderr.lines().find(|l| l.contains("chain head ")).unwrap_or_else(|| panic!("{stderr}"));
    line.split("chain head ").nth(1).unwrap().split_whitespace().next().unwrap().to_string()
}

/// The attack: find the run id in /proc/self/mountinfo, try to rename the run directory aside,
/// then rename its parent aside and plant a run directory whose report files are symbolic links
/// to a file outside.
const PLANT: &str = r#"
dir=$(awk '$5 ~ /ringfence-runs\/[^\/]*$/ {print $5; exit}' /proc/self/mountinfo)
id=${dir##*/}
echo "RUN-ID $id"
mv "$dir" "$dir.aside" 2>/dev/null && echo MOVED-RUN-DIR
mv ringfence-runs runs-aside && echo MOVED-PARENT
mkdir -p "ringfence-runs/$id"
for f in events.jsonl report.md report.json report.html suggested-policy.yml ca.pem; do
  ln -s "$TARGET" "ringfence-runs/$id/$f"
done
ls -la "ringfence-runs/$id" >&2
exit 0
"#;

#[test]
fn audit_mode_agent_cannot_make_ringfence_write_through_a_planted_run_dir() {
    if !privileged("audit_mode_agent_cannot_make_ringfence_write_through_a_planted_run_dir") {
        return;
    }
    let ws = agent_workspace();
    let state = root_dir();
    let outside = root_dir();
    let target = outside.path().join("precious");
    std::fs::write(&target, "untouched\n").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
    let script = format!("TARGET={} ; {PLANT}", target.display());
    let out = ringfence_run(ws.path(), state.path(), &["--mode", "audit"], &["/bin/sh", "-c", &script]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("RUN-ID 2"), "the agent found its run id: {stdout}\n{stderr}");
    assert!(!stdout.contains("MOVED-RUN-DIR"), "the run directory itself is a mount point: {stdout}");
    assert!(stdout.contains("MOVED-PARENT"), "audit mode: the parent can be renamed: {stdout}\n{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");

    assert_eq!(std::fs::read_to_string(&target).unwrap(), "untouched\n", "written through a planted link");
    // The real run directory moved with its parent, and holds the real reports.
    let real = run_dirs(&ws.path().join("runs-aside"));
    assert_eq!(real.len(), 1, "{real:?}");
    for name in ["events.jsonl", "report.md", "report.json", "report.html", "suggested-policy.yml"] {
        let meta = std::fs::symlink_metadata(real[0].join(name)).unwrap();
        assert!(meta.is_file() && meta.len() > 0, "{name} in the real run directory");
    }
    // The planted links were not replaced or followed.
    let planted =
        std::fs::read_dir(ws.path().join("ringfence-runs")).unwrap().flatten().next().unwrap().path();
    assert!(std::fs::symlink_metadata(planted.join("report.md")).unwrap().file_type().is_symlink());
    assert!(
        stderr.contains("was moved during the run") && stderr.contains(&real[0].display().to_string()),
        "{stderr}"
    );

    let verified = journal::read(&real[0].join("events.jsonl")).unwrap().unwrap();
    let moved = verified.records.iter().find_map(|r| match &r.event {
        Event::PolicyViolation(v) if v.rule == "run_dir.moved" => Some(v.what.clone()),
        _ => None,
    });
    assert!(moved.is_some_and(|w| w.contains("runs-aside")), "the move is a recorded violation");
    // Attributed: the rename of the parent, with the process that did it.
    let renamer = verified.records.iter().find_map(|r| match &r.event {
        Event::FileWrite(w)
            if w.path.ends_with("/ringfence-runs")
                && w.to.as_deref().is_some_and(|t| t.ends_with("/runs-aside")) =>
        {
            w.pid
        }
        _ => None,
    });
    let renamer = renamer.expect("the rename is journaled with its pid");
    assert!(
        verified
            .records
            .iter()
            .any(|r| matches!(&r.event, Event::ProcessExec(e) if e.pid == renamer && e.exe.ends_with("mv"))),
        "the renaming pid is the agent's mv"
    );
    // The real journal verifies against its anchor, at its new place.
    let (code, text) = verify(state.path(), &[real[0].to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("matches the chain head ringfence anchored"), "{text}");
}

#[test]
fn a_run_dir_parent_planted_as_a_symlink_is_refused() {
    if !privileged("a_run_dir_parent_planted_as_a_symlink_is_refused") {
        return;
    }
    let ws = agent_workspace();
    let state = root_dir();
    let outside = root_dir();
    std::os::unix::fs::symlink(outside.path(), ws.path().join("ringfence-runs")).unwrap();
    let out = ringfence_run(ws.path(), state.path(), &[], &["/bin/true"]);
    assert_eq!(out.status.code(), Some(125), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("symbolic link"));
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0, "nothing was created through the link");
}

/// Re-seals records into a chain exactly as ringfence's writer does (a line is the record's JSON
/// with `,"hash":"<sha256 of that JSON>"` before the closing brace; each `prev` is the line
/// before's hash): what anyone who can write the file can do.
fn rechain(records: &[Record]) -> (String, String) {
    let mut prev = journal::GENESIS.to_string();
    let mut text = String::new();
    for (seq, record) in records.iter().enumerate() {
        let mut record = record.clone();
        record.seq = seq as u64;
        record.prev = prev.clone();
        let body = serde_json::to_string(&record).unwrap();
        let hash = hex::encode(Sha256::digest(body.as_bytes()));
        text.push_str(&body[..body.len() - 1]);
        text.push_str(&format!(",\"hash\":\"{hash}\"}}\n"));
        prev = hash;
    }
    (text, prev)
}

#[test]
fn a_rechained_journal_is_not_intact_against_the_anchor_or_the_printed_head() {
    if !privileged("a_rechained_journal_is_not_intact_against_the_anchor_or_the_printed_head") {
        return;
    }
    let ws = support::scratch();
    let state = root_dir();
    let out =
        ringfence_run(ws.path(), state.path(), &["--out", "run"], &["/bin/sh", "-c", "/bin/true; exit 3"]);
    assert_eq!(out.status.code(), Some(3));
    let printed = head_line(&String::from_utf8_lossy(&out.stderr));
    let dir = ws.path().join("run");
    let journal = dir.join("events.jsonl");
    let (code, text) = verify(state.path(), &[dir.to_str().unwrap()]);
    assert_eq!(code, 0, "the real journal: {text}");
    let (code, text) = verify(state.path(), &["--head", &printed, dir.to_str().unwrap()]);
    assert_eq!(code, 0, "the real journal against the printed head: {text}");

    // The forgery: the exec of /bin/true dropped, the run's status made 0, everything re-chained.
    let real = journal::read(&journal).unwrap().unwrap();
    let mut forged: Vec<Record> = real
        .records
        .iter()
        .filter(|r| !matches!(&r.event, Event::ProcessExec(e) if e.exe == "/bin/true"))
        .cloned()
        .collect();
    for r in &mut forged {
        if let Event::RunEnd(e) = &mut r.event {
            e.exit_code = 0;
            e.cmd_code = Some(0);
        }
    }
    let (text, _) = rechain(&forged);
    assert!(journal::verify(&text).is_ok_and(|v| v.complete), "the forgery passes the chain check alone");
    std::fs::write(&journal, &text).unwrap();
    let (code, said) = verify(state.path(), &[dir.to_str().unwrap()]);
    assert_eq!(code, 1, "against the anchor: {said}");
    assert!(said.contains("TAMPERED") && said.contains("anchored"), "{said}");

    // Copied elsewhere, out of the anchor's reach, under a new run id: the printed head still tells.
    let elsewhere = root_dir();
    for r in &mut forged {
        if let Event::RunStart(s) = &mut r.event {
            s.run_id = "20990101T000000Z-00000000".into();
        }
    }
    let (text, _) = rechain(&forged);
    let copy = elsewhere.path().join("events.jsonl");
    std::fs::write(&copy, &text).unwrap();
    let (code, said) = verify(state.path(), &["--head", &printed, copy.to_str().unwrap()]);
    assert_eq!(code, 1, "against --head: {said}");
    // And planted back in the run's own directory under that new id: that directory's anchor tells.
    std::fs::write(&journal, &text).unwrap();
    let (code, said) = verify(state.path(), &[dir.to_str().unwrap()]);
    assert_eq!(code, 1, "a journal naming another run in this run's directory: {said}");
    assert!(said.contains("replaced"), "{said}");
}

/// A tmpfs of `size` mounted on a fresh directory for the test, unmounted when dropped.
struct SmallFs {
    dir: tempfile::TempDir,
}

impl SmallFs {
    fn mount(size: &str) -> SmallFs {
        let dir = support::scratch();
        nix::mount::mount(
            Some("tmpfs"),
            dir.path(),
            Some("tmpfs"),
            nix::mount::MsFlags::MS_NOSUID | nix::mount::MsFlags::MS_NODEV,
            Some(format!("size={size},mode=0755,uid=65534,gid=65534").as_str()),
        )
        .unwrap();
        SmallFs { dir }
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(self.dir.path(), nix::mount::MntFlags::MNT_DETACH);
    }
}

#[test]
fn an_agent_that_fills_the_disk_leaves_a_journal_cut_short_by_a_write_error() {
    if !privileged("an_agent_that_fills_the_disk_leaves_a_journal_cut_short_by_a_write_error") {
        return;
    }
    let fs = SmallFs::mount("48m");
    let ws = fs.dir.path();
    let state = root_dir();
    // Fill the file system, then keep making events (execs, forks, exits) that no longer fit.
    let script = "dd if=/dev/zero of=fill bs=64k 2>/dev/null; df -k . >&2; \
                  i=0; while [ $i -lt 4000 ]; do /bin/true; i=$((i+1)); done; echo DONE";
    let started = std::time::Instant::now();
    let out = ringfence_run(ws, state.path(), &["--mode", "audit"], &["/bin/sh", "-c", script]);
    let elapsed = started.elapsed();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("DONE"), "{stdout}\n{stderr}");
    assert_eq!(out.status.code(), Some(125), "a journal cut short fails the run: {stderr}");
    assert!(stderr.contains("cut short by a write error"), "{stderr}");

    let dirs = run_dirs(&ws.join("ringfence-runs"));
    assert_eq!(dirs.len(), 1);
    let journal_path = dirs[0].join("events.jsonl");
    let verified = journal::read(&journal_path).unwrap().unwrap();
    let lost: u64 = verified
        .records
        .iter()
        .filter_map(|r| match &r.event {
            Event::JournalWriteError(w) => {
                assert!(w.error.contains("No space left"), "{}", w.error);
                Some(w.lost)
            }
            _ => None,
        })
        .sum();
    assert!(lost > 0, "the events that did not fit are counted");
    let Some(Event::RunEnd(end)) = verified.records.last().map(|r| &r.event) else {
        panic!("the journal ends with run.end")
    };
    assert_eq!(end.exit_code, 125);
    assert!(end.reason.as_deref().is_some_and(|r| r.contains("write error")), "{:?}", end.reason);
    assert!(dirs[0].join("report.md").is_file(), "the reports were still written");
    let md = std::fs::read_to_string(dirs[0].join("report.md")).unwrap();
    assert!(md.contains("journal"), "{md}");

    let (code, said) = verify(state.path(), &[dirs[0].to_str().unwrap()]);
    assert_eq!(code, 4, "{said}");
    assert!(said.contains("cut short by a write error") && !said.contains("TAMPERED"), "{said}");
    eprintln!(
        "disk full: {} records written, {lost} events not recorded, run took {elapsed:?}",
        verified.records.len()
    );
}
