//! The file sensor against the real kernel: a cgroup, a workspace, real processes writing,
//! reading and being refused. Needs root; see `support::skip_or_fail` for what happens without it.

// Shared with the exec tests; not every helper is used here.
#[allow(dead_code)]
mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;

use journal::{Event, FileDenied, FileOp, FileReadSensitive, FileWrite};
use sensors::{ExecSensor, FileSensor, FileWatch};
use support::{Recorded, TestCgroup, skip_or_fail};

/// A cgroup, a workspace (world-readable, so a dropped uid can reach it) and the sensor.
struct Setup {
    cgroup: TestCgroup,
    root: tempfile::TempDir,
    ws: PathBuf,
}

impl Setup {
    fn new() -> Option<Setup> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return skip_or_fail("needs root for fanotify, BPF and cgroups");
        }
        let cgroup = match TestCgroup::create() {
            Ok(cgroup) => cgroup,
            Err(err) => return skip_or_fail(format!("cannot create a cgroup v2 leaf: {err}")),
        };
        let root = tempfile::Builder::new().prefix("ringfence-files").tempdir().expect("temp dir");
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let ws = root.path().canonicalize().expect("canonical").join("ws");
        std::fs::create_dir(&ws).expect("workspace");
        std::fs::set_permissions(&ws, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        Some(Setup { cgroup, root, ws })
    }

    fn start(&self, sensitive: Vec<PathBuf>, sink: Box<dyn FnMut(Event) + Send>) -> Option<FileSensor> {
        let watch = FileWatch {
            tree: self.ws.clone(),
            sensitive,
            scope: self.cgroup.scope(),
            everywhere: false,
            hidden: Vec::new(),
        };
        match FileSensor::start(watch, sink) {
            Ok(sensor) => Some(sensor),
            Err(err) => skip_or_fail(format!("the file sensor cannot start: {err}")),
        }
    }

    /// `sh -c script` in the cgroup with the workspace as cwd; its pid once it has exited.
    fn sh(&self, script: &str, uid: Option<u32>) -> u32 {
        let mut child = self
            .cgroup
            .command("/bin/sh", uid)
            .args(["-c", script])
            .current_dir(&self.ws)
            .spawn()
            .expect("sh");
        let pid = child.id();
        child.wait().expect("waits");
        pid
    }

    fn path(&self, name: &str) -> String {
        self.ws.join(name).to_string_lossy().into_owned()
    }
}

fn recorder() -> (Recorded, Box<dyn FnMut(Event) + Send>) {
    let recorded = Recorded::default();
    let sink = {
        let recorded = recorded.clone();
        Box::new(move |event| recorded.push(event))
    };
    (recorded, sink)
}

fn writes(events: &[Event]) -> Vec<&FileWrite> {
    events
        .iter()
        .filter_map(|event| if let Event::FileWrite(write) = event { Some(write) } else { None })
        .collect()
}

fn write(pid: u32, op: FileOp, path: &str, to: Option<&str>) -> FileWrite {
    FileWrite { pid: Some(pid), op, path: path.into(), to: to.map(Into::into), violation: false, rule: None }
}

#[test]
fn records_the_runs_changes_with_their_writers_and_nothing_else() {
    let Some(setup) = Setup::new() else { return };
    std::fs::write(setup.ws.join("existing"), "old").expect("plant");
    std::fs::create_dir_all(setup.ws.join("old/deep")).expect("plant");
    std::fs::write(setup.ws.join("old/deep/file"), "x").expect("plant");
    let (recorded, sink) = recorder();
    let Some(sensor) = setup.start(Vec::new(), sink) else { return };

    // Each a short-lived writer, gone long before its events are read.
    let create = setup.sh("echo x > new", None);
    let modify = setup.sh("echo more >> existing", None);
    let rename = setup.sh("mv new renamed 2>/dev/null || exec mv new renamed", None);
    let outside = Command::new("/bin/sh")
        .args(["-c", "echo o > outsider; rm existing.outside 2>/dev/null; true"])
        .current_dir(&setup.ws)
        .status();
    let delete = setup.sh("exec rm -r old", None);
    let nested = setup.sh("/bin/sh -c 'echo n > nested'", None);
    let stats = sensor.stop().expect("sensor stops cleanly");
    assert!(outside.expect("outsider runs").success());
    let events = recorded.events();
    eprintln!("{events:#?}");
    assert_eq!(stats.lost, 0);
    assert_eq!(stats.delivered, events.len() as u64);

    let writes = writes(&events);
    assert!(writes.contains(&&write(create, FileOp::Create, &setup.path("new"), None)));
    // The creator's own writes before it closes the file are part of its Create.
    assert!(!writes.contains(&&write(create, FileOp::Modify, &setup.path("new"), None)));
    assert!(writes.contains(&&write(modify, FileOp::Modify, &setup.path("existing"), None)));
    // mv is a child of sh unless sh execs it; either way it is the run's and named.
    let renamed = writes.iter().find(|w| w.op == FileOp::Rename).expect("a rename");
    assert_eq!(
        (renamed.path.as_str(), renamed.to.as_deref()),
        (setup.path("new").as_str(), Some(setup.path("renamed").as_str()))
    );
    assert!(renamed.pid.is_some_and(|pid| pid == rename || pid > 0));
    // rm -r of a tree that existed before the sensor: children before their directories.
    let deleted: Vec<_> =
        writes.iter().filter(|w| w.op == FileOp::Delete).map(|w| (w.pid, w.path.as_str())).collect();
    assert_eq!(
        deleted,
        [
            (Some(delete), setup.path("old/deep/file").as_str()),
            (Some(delete), setup.path("old/deep").as_str()),
            (Some(delete), setup.path("old").as_str()),
        ]
    );
    let nested_write = writes.iter().find(|w| w.path == setup.path("nested")).expect("nested write");
    assert!(nested_write.pid.is_some_and(|pid| pid != nested), "the inner sh wrote it, not the outer one");
    assert!(!writes.iter().any(|w| w.path.contains("outsider")), "a process outside the run was reported");
    assert!(writes.iter().all(|w| w.path.starts_with(setup.ws.to_str().unwrap())));
}

#[test]
fn records_opens_of_sensitive_files_through_any_name() {
    let Some(setup) = Setup::new() else { return };
    let ssh = setup.root.path().canonicalize().unwrap().join("home/.ssh");
    std::fs::create_dir_all(&ssh).expect("plant");
    std::fs::write(ssh.join("id_rsa"), "KEY").expect("plant");
    let token = setup.root.path().canonicalize().unwrap().join("token");
    std::fs::write(&token, "T").expect("plant");
    std::os::unix::fs::symlink(ssh.join("id_rsa"), setup.ws.join("innocent")).expect("symlink");
    let (recorded, sink) = recorder();
    let Some(sensor) = setup.start(vec![ssh.clone(), token.clone(), setup.root.path().join("absent")], sink)
    else {
        return;
    };

    let key = ssh.join("id_rsa").to_string_lossy().into_owned();
    let direct = setup.sh(&format!("exec cat {key} > /dev/null"), None);
    let via_link = setup.sh("exec cat innocent > /dev/null", None);
    let listed = setup.sh(&format!("exec ls {} > /dev/null", ssh.display()), None);
    let read_token = setup.sh(&format!("read t < {}", token.display()), None);
    let outside = Command::new("/bin/cat").arg(&key).output();
    let stats = sensor.stop().expect("sensor stops cleanly");
    assert!(outside.expect("cat runs").status.success());
    let events = recorded.events();
    eprintln!("{events:#?}");
    assert_eq!(stats.lost, 0);

    let reads: Vec<_> = events
        .iter()
        .filter_map(|e| if let Event::FileReadSensitive(r) = e { Some(r) } else { None })
        .collect();
    let rule = ssh.display().to_string();
    let read = |pid, path: &str, rule: &str| FileReadSensitive {
        pid: Some(pid),
        path: path.into(),
        rule: rule.into(),
    };
    assert!(reads.contains(&&read(direct, &key, &rule)), "direct read");
    assert!(reads.contains(&&read(via_link, &key, &rule)), "read through a symlink in the workspace");
    assert!(reads.contains(&&read(listed, &ssh.display().to_string(), &rule)), "listing the directory");
    assert!(reads.contains(&&read(read_token, &token.display().to_string(), &token.display().to_string())));
    let run_pids = [direct, via_link, listed, read_token];
    assert!(reads.iter().all(|r| r.pid.is_some_and(|pid| run_pids.contains(&pid))), "only the run's opens");
}

/// A read-only bind mount of a directory onto itself, undone when dropped.
struct ReadOnlyBind(PathBuf);

impl ReadOnlyBind {
    fn new(dir: &Path) -> ReadOnlyBind {
        let run =
            |args: &[&str]| assert!(Command::new("mount").args(args).status().expect("mount").success());
        let dir_str = dir.to_str().unwrap();
        run(&["--bind", dir_str, dir_str]);
        let bind = ReadOnlyBind(dir.to_path_buf());
        run(&["-o", "remount,ro,bind", dir_str]);
        bind
    }
}

impl Drop for ReadOnlyBind {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn records_refusals_with_the_process_that_tried() {
    let Some(setup) = Setup::new() else { return };
    let ws = &setup.ws;
    std::fs::write(ws.join("locked"), "secret").expect("plant");
    std::fs::set_permissions(ws.join("locked"), std::fs::Permissions::from_mode(0o000)).expect("chmod");
    std::fs::create_dir(ws.join("rodir")).expect("plant");
    std::fs::write(ws.join("rodir/x"), "x").expect("plant");
    std::fs::set_permissions(ws.join("rodir"), std::fs::Permissions::from_mode(0o555)).expect("chmod");
    std::fs::create_dir(ws.join("robind")).expect("plant");
    std::fs::set_permissions(ws.join("robind"), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let _bind = ReadOnlyBind::new(&ws.join("robind"));

    let execs = Recorded::default();
    let exec_sink = {
        let execs = execs.clone();
        Box::new(move |event| execs.push(event))
    };
    let exec_sensor = match ExecSensor::start(setup.cgroup.scope(), exec_sink) {
        Ok(sensor) => sensor,
        Err(err) => return skip_or_fail(format!("BPF cannot load: {err}")).unwrap_or(()),
    };
    let (recorded, sink) = recorder();
    let Some(sensor) = setup.start(Vec::new(), sink) else { return };

    // As nobody, so permissions apply; builtins run in sh itself, the rest in children.
    // Not `: > f`: a failed redirection on a special builtin ends a POSIX shell.
    let script = "echo > locked; read l < locked; rm -f rodir/x; mkdir rodir/sub; mv rodir/x moved; \
                  ln -s x rodir/link; echo > robind/new; cd rodir && rm -f ../rodir/x; true";
    let sh = setup.sh(&format!("{{ {script}; }} 2>/dev/null"), Some(65534));
    let stats = sensor.stop().expect("sensor stops cleanly");
    exec_sensor.stop().expect("exec sensor stops");
    let events = recorded.events();
    eprintln!("{events:#?}");
    assert_eq!(stats.lost, 0);

    let denied: Vec<&FileDenied> =
        events.iter().filter_map(|e| if let Event::FileDenied(d) = e { Some(d) } else { None }).collect();
    let exe_of = |pid: Option<u32>| {
        execs.events().iter().find_map(|e| match e {
            Event::ProcessExec(exec) if Some(exec.pid) == pid => Some(exec.exe.clone()),
            _ => None,
        })
    };
    let find = |op: &str, path: &str| {
        denied
            .iter()
            .find(|d| d.op == op && d.path == setup.path(path))
            .unwrap_or_else(|| panic!("no {op} of {path} refused: {denied:#?}"))
    };
    let by_sh = [
        ("open-write", "locked", "EACCES"),
        ("open-read", "locked", "EACCES"),
        ("open-write", "robind/new", "EROFS"),
    ];
    for (op, path, errno) in by_sh {
        let refusal = find(op, path);
        assert_eq!((refusal.errno.as_str(), refusal.pid), (errno, Some(sh)), "{op} {path}");
        assert_eq!(refusal.rule, None);
    }
    let by_children = [
        ("unlink", "rodir/x", "rm"),
        ("mkdir", "rodir/sub", "mkdir"),
        ("rename", "rodir/x", "mv"),
        ("symlink", "rodir/link", "ln"),
    ];
    for (op, path, program) in by_children {
        let refusal = find(op, path);
        assert_eq!(refusal.errno, "EACCES", "{op} {path}");
        // Joined to the exec journal by pid: the refusal names the program that tried.
        let exe = exe_of(refusal.pid)
            .unwrap_or_else(|| panic!("{op}: pid {:?} never exec'd in the run", refusal.pid));
        assert_eq!(exe.rsplit('/').next(), Some(program), "{op} by {exe}");
    }
    // A path relative to a cwd that is not the workspace's root, cleaned.
    assert!(denied.iter().filter(|d| d.op == "unlink" && d.path == setup.path("rodir/x")).count() >= 2);
    assert!(denied.iter().all(|d| d.pid.is_some()));
}

#[test]
fn counts_what_a_full_fanotify_queue_drops() {
    const FILES: usize = 30_000;
    let Some(setup) = Setup::new() else { return };
    let (release, blocked) = mpsc::channel::<()>();
    let mut stalled = Some(blocked);
    let sink = Box::new(move |_event| {
        if let Some(blocked) = stalled.take() {
            let _ = blocked.recv();
        }
    });
    let Some(sensor) = setup.start(Vec::new(), sink) else { return };

    // Each file: a create and a close-write, far more than the kernel's 16384-event queue.
    let script = format!("i=0; while [ $i -lt {FILES} ]; do : > f$i; i=$((i+1)); done");
    setup.sh(&script, None);
    release.send(()).expect("sink waits");
    let stats = sensor.stop().expect("sensor stops cleanly");
    eprintln!("full fanotify queue: {} delivered, {} lost", stats.delivered, stats.lost);
    assert!(stats.lost > 0, "the queue never overflowed; the test proves nothing");
    assert!(stats.delivered < FILES as u64, "every create delivered despite an overflow");
}
