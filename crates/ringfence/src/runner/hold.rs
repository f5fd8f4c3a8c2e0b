//! Job mode's hold on protected paths. A job fence starts before the checkout, so the paths it
//! protects (`.github/workflows`, git hooks, every agent's configuration) do not exist yet; once
//! one appears and has been quiet for [`QUIET`] (the checkout that wrote it is done with it), it
//! is held: bind-mounted read-only onto itself in the job's mount namespace, with the directories
//! between it and the workspace pinned (a mount point cannot be renamed aside). Block mode holds;
//! audit mode only marks the moment. Either way, a write to a protected path is a violation from
//! that moment on, not before: the checkout's own writes are not the agent's.
//!
//! git's `config`, `config.worktree` and `commondir` are not held in job mode: actions/checkout
//! rewrites `.git/config` in its post step (it removes the credentials it put there). Writes to
//! them are recorded with their process like any other.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use nix::mount::{MntFlags, MsFlags, mount, umount2};

use super::Plan;

/// How long a protected path must go unchanged before it is held.
pub const QUIET: Duration = Duration::from_millis(1500);

/// git files the checkout itself changes later in the job (see the module's comment).
const NOT_HELD_IN_A_JOB: [&str; 3] = ["config", "config.worktree", "commondir"];

/// The paths held so far, shared with the recorder (which judges writes against it).
pub type Held = Arc<Mutex<BTreeSet<PathBuf>>>;

pub struct Holder {
    pub held: Held,
    /// Mount points made, in order, for the teardown.
    mounts: Vec<PathBuf>,
    enforce: bool,
}

impl Holder {
    pub fn new(mode: journal::Mode) -> Holder {
        Holder { held: Held::default(), mounts: Vec::new(), enforce: mode == journal::Mode::Block }
    }

    /// Holds every protected path that exists and has been quiet; returns what was held now, and
    /// what could not be (to be journaled).
    pub fn tick(&mut self, plan: &Plan) -> (Vec<PathBuf>, Vec<String>) {
        let run = policy::RunPaths { git_dirs: super::gitdirs::find(&plan.cwd), ..plan.run_paths.clone() };
        let mut now_held = Vec::new();
        let mut problems = Vec::new();
        for rule in plan.policy.protected_paths(&run) {
            let path = rule.path;
            if !path.starts_with(&plan.cwd)
                || path.file_name().is_some_and(|n| NOT_HELD_IN_A_JOB.iter().any(|x| n == *x))
                || self.is_held(&path)
                || !quiet(&path)
            {
                continue;
            }
            if self.enforce
                && let Err(e) = self.hold(&plan.cwd, &path)
            {
                problems.push(format!("{}: {e}", path.display()));
                continue;
            }
            self.held.lock().unwrap_or_else(|p| p.into_inner()).insert(path.clone());
            now_held.push(path);
        }
        (now_held, problems)
    }

    fn is_held(&self, path: &Path) -> bool {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).contains(path)
    }

    fn hold(&mut self, workspace: &Path, path: &Path) -> nix::Result<()> {
        let parents: Vec<PathBuf> = path
            .ancestors()
            .skip(1)
            .take_while(|a| *a != workspace && a.starts_with(workspace))
            .map(Path::to_path_buf)
            .collect();
        // Top down: once a directory is a mount point it cannot be renamed or replaced, so the
        // path checked for the next one stays the path that is mounted.
        for dir in parents.iter().rev() {
            if !self.mounts.contains(dir) {
                bind_self(dir)?;
                self.mounts.push(dir.clone());
            }
        }
        bind_self(path)?;
        self.mounts.push(path.to_path_buf());
        let ro = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
        mount(None::<&str>, path, None::<&str>, ro, None::<&str>)
    }

    /// Takes every hold back (the job's mount namespace outlives the fence on a reused runner).
    pub fn release(self) -> Vec<String> {
        self.mounts
            .iter()
            .rev()
            .filter_map(|m| umount2(m, MntFlags::MNT_DETACH).err().map(|e| format!("{}: {e}", m.display())))
            .collect()
    }
}

/// Bind-mounts `path` onto itself, through a descriptor opened without following a final link
/// and checked to be `path` itself: the workspace is the job's to shape, and a symbolic link put
/// there (`.github/actions -> /etc`) must not make root mount something outside it.
fn bind_self(path: &Path) -> nix::Result<()> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
    let handle = format!("/proc/self/fd/{}", file.as_raw_fd());
    let real = std::fs::read_link(&handle).map_err(|_| nix::errno::Errno::EIO)?;
    // O_PATH with O_NOFOLLOW opens a final link itself: its own metadata says so.
    let is_link = file.metadata().map_or(true, |m| m.is_symlink());
    if real != path || is_link {
        // A link on the way, or the path itself a link: not held.
        return Err(nix::errno::Errno::ELOOP);
    }
    mount(Some(handle.as_str()), handle.as_str(), None::<&str>, MsFlags::MS_BIND, None::<&str>)
}

/// Unchanged for [`QUIET`]: the path itself and, for a directory, what it holds directly.
fn quiet(path: &Path) -> bool {
    let Ok(meta) = path.symlink_metadata() else { return false };
    let recent = |m: &std::fs::Metadata| {
        m.modified().ok().and_then(|t| SystemTime::now().duration_since(t).ok()).is_none_or(|age| age < QUIET)
    };
    if recent(&meta) {
        return false;
    }
    if meta.is_dir() {
        let Ok(entries) = std::fs::read_dir(path) else { return false };
        for entry in entries.flatten().take(4096) {
            if entry.metadata().map_or(true, |m| recent(&m)) {
                return false;
            }
        }
    }
    true
}

/// Whether a write to `path` (or a rename to `to`) touches a held path.
pub fn touches(held: &Held, path: &str, to: Option<&str>) -> bool {
    let held = held.lock().unwrap_or_else(|p| p.into_inner());
    let hits = |p: &str| {
        let p = Path::new(p);
        held.iter().any(|h| p.starts_with(h) || h.starts_with(p))
    };
    hits(path) || to.is_some_and(hits)
}
