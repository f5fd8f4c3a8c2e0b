//! Clients inside a fence: a cgroup for them (so attribution has members to search) and a way
//! to run one in the fence's network namespace.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// A cgroup for the test's clients, removed when dropped.
pub struct TestCgroup {
    pub path: PathBuf,
    procs: std::fs::File,
}

impl TestCgroup {
    pub fn new(tag: &str) -> TestCgroup {
        let mounts = std::fs::read_to_string("/proc/self/mounts").expect("mounts");
        let root = mounts
            .lines()
            .find(|l| l.split_whitespace().nth(2) == Some("cgroup2"))
            .and_then(|l| l.split_whitespace().nth(1))
            .expect("a cgroup2 mount");
        let path = PathBuf::from(root).join(format!("ringfence-test-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&path).expect("cgroup");
        let procs = std::fs::OpenOptions::new().write(true).open(path.join("cgroup.procs")).expect("procs");
        TestCgroup { path, procs }
    }

    pub fn procs_path(&self) -> PathBuf {
        self.path.join("cgroup.procs")
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.path);
    }
}

/// Runs `argv` inside the fence's namespace, as a member of `cgroup`; returns its pid and output.
pub fn run_in(fence: &OwnedFd, cgroup: &TestCgroup, argv: &[&str]) -> (u32, Output) {
    let ns = fence.as_raw_fd();
    let procs = cgroup.procs.as_raw_fd();
    let mut cmd = Command::new(argv[0]);
    cmd.args(&argv[1..]).stdin(Stdio::null());
    // SAFETY: only async-signal-safe calls (getpid, write, setns) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let pid = libc::getpid();
            let mut digits = [0u8; 12];
            let mut i = digits.len();
            let mut p = pid as u32;
            loop {
                i -= 1;
                digits[i] = b'0' + (p % 10) as u8;
                p /= 10;
                if p == 0 {
                    break;
                }
            }
            if libc::write(procs, digits[i..].as_ptr().cast(), digits.len() - i) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::setns(ns, libc::CLONE_NEWNET) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn client");
    let pid = child.id();
    (pid, child.wait_with_output().expect("client output"))
}
