//! Shared helpers for the end-to-end tests: they run the real `ringfence` binary as root.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use journal::{Event, Record};

pub mod agents;

/// True when privileged tests can run. Without root they skip with a printed reason, unless
/// RINGFENCE_REQUIRE_PRIVILEGED=1, where a skip would hide a broken CI: then they fail.
pub fn privileged(test: &str) -> bool {
    if nix::unistd::Uid::effective().is_root() {
        return true;
    }
    let reason = format!("{test}: needs root (cgroups, namespaces, eBPF)");
    if std::env::var("RINGFENCE_REQUIRE_PRIVILEGED").as_deref() == Ok("1") {
        panic!("{reason}, and RINGFENCE_REQUIRE_PRIVILEGED=1");
    }
    eprintln!("SKIPPED {reason}");
    false
}

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_ringfence")
}

/// A directory the fenced agent can see and its unprivileged uid can enter: the build's tmp dir,
/// unless that is inside one of the fence's private tmp dirs or not searchable by others.
pub fn visible_base() -> PathBuf {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let target_tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let searchable =
        target_tmp.ancestors().all(|a| std::fs::metadata(a).is_ok_and(|m| m.mode() & 0o001 != 0));
    let hidden = ["/tmp", "/var/tmp", "/dev/shm"].iter().any(|t| target_tmp.starts_with(t));
    if searchable && !hidden {
        return target_tmp.to_path_buf();
    }
    let run = PathBuf::from("/run/ringfence-tests");
    std::fs::DirBuilder::new().recursive(true).mode(0o755).create(&run).unwrap();
    run
}

/// A scratch directory the agent's unprivileged uid can enter and that the fence does not hide:
/// under the build's tmp dir when every ancestor is searchable by others and it is not inside
/// one of the fence's private tmp dirs (a checkout under /tmp is), else under /run.
pub fn scratch() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new().prefix("ringfence-test-").tempdir_in(visible_base()).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

pub struct Run {
    pub output: Output,
    pub out_dir: PathBuf,
    pub records: Vec<Record>,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    pub fn events(&self) -> impl Iterator<Item = &Event> {
        self.records.iter().map(|r| &r.event)
    }

    pub fn execs(&self) -> Vec<&journal::ProcessExec> {
        self.events().filter_map(|e| if let Event::ProcessExec(x) = e { Some(x) } else { None }).collect()
    }

    pub fn violations(&self) -> Vec<&journal::PolicyViolation> {
        self.events().filter_map(|e| if let Event::PolicyViolation(x) = e { Some(x) } else { None }).collect()
    }

    pub fn run_end(&self) -> &journal::RunEnd {
        self.events().find_map(|e| if let Event::RunEnd(x) = e { Some(x) } else { None }).expect("run.end")
    }

    pub fn run_start(&self) -> &journal::RunStart {
        self.events()
            .find_map(|e| if let Event::RunStart(x) = e { Some(x) } else { None })
            .expect("run.start")
    }
}

/// Runs `ringfence run --out <scratch> ARGS -- CMD` in `cwd` and reads back the verified journal.
pub fn run_in(cwd: &Path, args: &[&str], cmd: &[&str]) -> Run {
    run_in_env(cwd, &[], args, cmd)
}

/// `run_in` with these variables added to ringfence's own environment.
pub fn run_in_env(cwd: &Path, env: &[(&str, &str)], args: &[&str], cmd: &[&str]) -> Run {
    let out_dir = cwd.join(format!("run-{}", std::process::id())).join(unique());
    let mut command = Command::new(binary());
    command.envs(env.iter().copied());
    command.current_dir(cwd).arg("run").arg("--out").arg(&out_dir).args(args).arg("--").args(cmd);
    let output = command.output().unwrap();
    let records = match journal::read(&out_dir.join("events.jsonl")) {
        Ok(Ok(verified)) => verified.records,
        other => {
            panic!("journal did not verify: {other:?}\nstderr: {}", String::from_utf8_lossy(&output.stderr))
        }
    };
    Run { output, out_dir, records }
}

pub fn run(args: &[&str], cmd: &[&str]) -> (tempfile::TempDir, Run) {
    let dir = scratch();
    let run = run_in(dir.path(), args, cmd);
    (dir, run)
}

fn unique() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!("r{}", N.fetch_add(1, Ordering::Relaxed))
}
