//! What the privileged sensor tests share: the skip-or-fail rule, a throwaway cgroup, and a sink
//! that records events.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use journal::Event;
use sensors::{ExecSensor, cgroup2_mount};

/// Returns `None` (skip) when a privileged test cannot run, with the reason on stderr — or
/// panics when `RINGFENCE_REQUIRE_PRIVILEGED=1`, where skipping would hide a broken setup.
pub fn skip_or_fail<T>(reason: impl std::fmt::Display) -> Option<T> {
    if std::env::var("RINGFENCE_REQUIRE_PRIVILEGED").as_deref() == Ok("1") {
        panic!("privileged test cannot run: {reason}");
    }
    eprintln!("skipping privileged test: {reason}");
    None
}

/// A fresh cgroup v2 leaf, removed when dropped (also when the test fails).
pub struct TestCgroup {
    path: PathBuf,
}

impl TestCgroup {
    pub fn create() -> io::Result<TestCgroup> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!("ringfence-test-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let path = cgroup2_mount()?.join(name);
        std::fs::create_dir(&path)?;
        Ok(TestCgroup { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn scope(&self) -> sensors::Scope {
        sensors::Scope::of(self.path()).expect("the cgroup just created lies in the cgroup2 mount")
    }

    /// A command whose process moves itself into this cgroup before it execs, then (as root)
    /// optionally drops to `uid`.
    pub fn command(&self, program: &str, uid: Option<u32>) -> Command {
        let procs = CString::new(self.path.join("cgroup.procs").as_os_str().as_bytes())
            .expect("cgroup paths have no NUL");
        let mut command = Command::new(program);
        // SAFETY: the hook only makes async-signal-safe calls (open, write, close, setgid,
        // setuid) and allocates nothing.
        unsafe {
            command.pre_exec(move || {
                let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd < 0 {
                    return Err(io::Error::last_os_error());
                }
                // "0" moves the writing process itself.
                let written = libc::write(fd, b"0".as_ptr().cast(), 1);
                libc::close(fd);
                if written != 1 {
                    return Err(io::Error::last_os_error());
                }
                if let Some(uid) = uid
                    && (libc::setgid(uid) != 0 || libc::setuid(uid) != 0)
                {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        command
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        // Only empty cgroups can be removed; the tests wait for their processes first.
        if let Err(err) = std::fs::remove_dir(&self.path) {
            eprintln!("could not remove test cgroup {}: {err}", self.path.display());
        }
    }
}

/// Everything a sensor delivered, in order.
#[derive(Clone, Default)]
pub struct Recorded(Arc<Mutex<Vec<Event>>>);

impl Recorded {
    pub fn events(&self) -> Vec<Event> {
        self.0.lock().expect("sink never panics").clone()
    }

    pub fn push(&self, event: Event) {
        self.0.lock().expect("sink never panics").push(event);
    }
}

/// A cgroup and a sensor recording what happens in it, or `None` when the test must skip.
pub fn watched_cgroup() -> Option<(TestCgroup, ExecSensor, Recorded)> {
    let recorded = Recorded::default();
    let sink = {
        let recorded = recorded.clone();
        Box::new(move |event| recorded.push(event))
    };
    let (cgroup, sensor) = watched_cgroup_with(sink)?;
    Some((cgroup, sensor, recorded))
}

/// A cgroup and a sensor delivering to `sink`, or `None` when the test must skip.
pub fn watched_cgroup_with(sink: Box<dyn FnMut(Event) + Send>) -> Option<(TestCgroup, ExecSensor)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return skip_or_fail("needs root to load BPF programs and create cgroups");
    }
    let cgroup = match TestCgroup::create() {
        Ok(cgroup) => cgroup,
        Err(err) => return skip_or_fail(format!("cannot create a cgroup v2 leaf: {err}")),
    };
    match ExecSensor::start(cgroup.scope(), sink) {
        Ok(sensor) => Some((cgroup, sensor)),
        Err(err) => skip_or_fail(format!("BPF cannot load: {err}")),
    }
}

/// A directory for a child's cwd, with its path as the kernel resolves it (no symlinks).
pub fn work_dir(parent: &Path) -> (tempfile::TempDir, String) {
    let dir = tempfile::Builder::new().prefix("ringfence-cwd").tempdir_in(parent).expect("temp dir");
    let path = dir.path().canonicalize().expect("canonical temp dir");
    (dir, path.to_str().expect("temp paths are UTF-8").to_owned())
}
