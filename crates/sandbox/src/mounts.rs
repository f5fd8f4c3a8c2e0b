//! The fence's mount namespace: a fresh /proc for the new PID namespace (so the agent sees only
//! its own processes: no /proc/<pid>/environ or /proc/<pid>/mem of the runner or of ringfence)
//! and private tmpfs scratch space (nothing the agent leaves in /tmp reaches the host or the next
//! step, and nothing the host left there is visible).

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, unshare};

/// Private scratch directories, each a fresh tmpfs.
pub const PRIVATE_TMP: [&str; 3] = ["/tmp", "/var/tmp", "/dev/shm"];

/// Builds the mount namespace; `cwd` stays visible even when it lives under a private tmp dir.
pub(crate) fn setup(
    cwd: &Path,
    files: Option<&crate::FileFence>,
    ca_bundle: Option<&Path>,
) -> Result<(), String> {
    unshare(CloneFlags::CLONE_NEWNS).map_err(|e| format!("unshare(CLONE_NEWNS): {e}"))?;
    // Without this, the mounts below would propagate back to the host on shared-mount systems.
    mount(None::<&str>, "/", None::<&str>, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None::<&str>)
        .map_err(|e| format!("making / private: {e}"))?;
    // Held open across the tmpfs mounts, so the working directory can be bound back in.
    let workspace: OwnedFd = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
        .open(cwd)
        .map_err(|e| format!("opening the working directory {}: {e}", cwd.display()))?
        .into();
    let hardened = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount(Some("proc"), "/proc", Some("proc"), hardened, None::<&str>)
        .map_err(|e| format!("mounting a fresh /proc: {e}"))?;
    // Before the private tmp dirs: the bundle lives in the run directory, which may be under
    // /tmp (`--out /tmp/...`) and would be hidden by them.
    if let Some(bundle) = ca_bundle {
        for target in crate::CA_BUNDLES.iter().map(Path::new).filter(|p| p.exists()) {
            bind_read_only(bundle, target)?;
        }
    }
    for dir in PRIVATE_TMP {
        if !Path::new(dir).is_dir() {
            continue;
        }
        mount(Some("tmpfs"), dir, Some("tmpfs"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV, Some("mode=1777"))
            .map_err(|e| format!("mounting a private tmpfs on {dir}: {e}"))?;
        if cwd.starts_with(dir) {
            bind_back(&workspace, cwd)?;
        }
    }
    if let Some(files) = files {
        // Parents first, shallow before deep: a bind over a directory would hide mounts made
        // below it earlier.
        let mut pinned: Vec<&Path> =
            files.pinned.iter().map(PathBuf::as_path).filter(|p| p.is_dir()).collect();
        pinned.sort_by_key(|p| p.components().count());
        for path in pinned {
            pin(path)?;
        }
        for path in files.read_only.iter().filter(|p| p.exists()) {
            read_only(path)?;
        }
        for path in files.masked.iter().filter(|p| p.exists()) {
            mask(path)?;
        }
    }
    Ok(())
}

/// Shows `source` at `target` (an existing file), read-only.
fn bind_read_only(source: &Path, target: &Path) -> Result<(), String> {
    let fail = |e| format!("binding {} over {}: {e}", source.display(), target.display());
    mount(Some(source), target, None::<&str>, MsFlags::MS_BIND, None::<&str>).map_err(fail)?;
    let flags =
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    mount(None::<&str>, target, None::<&str>, flags, None::<&str>).map_err(fail)
}

/// Makes `path` a mount point of itself in this namespace, as writable as before: renaming or
/// removing it fails with EBUSY.
fn pin(path: &Path) -> Result<(), String> {
    mount(Some(path), path, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>)
        .map_err(|e| format!("pinning {} in place: {e}", path.display()))
}

/// Makes `path` read-only in this namespace: writes fail with EROFS, and the path cannot be
/// renamed or unlinked away (it is a mount point now).
fn read_only(path: &Path) -> Result<(), String> {
    let fail = |e| format!("making {} read-only: {e}", path.display());
    mount(Some(path), path, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>).map_err(fail)?;
    let flags =
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    mount(None::<&str>, path, None::<&str>, flags, None::<&str>).map_err(fail)
}

/// Hides `path`: a directory becomes an empty, read-only tmpfs nobody may enter; a file becomes
/// an unopenable device node. Symlinks, hard links made inside the fence and /proc/self/root
/// all resolve through the mount, so they reach the mask too.
fn mask(path: &Path) -> Result<(), String> {
    let fail = |e| format!("masking {}: {e}", path.display());
    let hidden = MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    if path.is_dir() {
        return mount(Some("tmpfs"), path, Some("tmpfs"), hidden, Some("size=0,mode=000")).map_err(fail);
    }
    mount(Some("/dev/null"), path, None::<&str>, MsFlags::MS_BIND, None::<&str>).map_err(fail)?;
    mount(None::<&str>, path, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REMOUNT | hidden, None::<&str>)
        .map_err(fail)
}

/// Re-exposes the working directory at its own path inside a fresh tmpfs.
fn bind_back(workspace: &OwnedFd, cwd: &Path) -> Result<(), String> {
    std::fs::create_dir_all(cwd)
        .map_err(|e| format!("recreating {} in the private tmp: {e}", cwd.display()))?;
    let source = format!("/proc/self/fd/{}", workspace.as_raw_fd());
    mount(Some(source.as_str()), cwd, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>)
        .map_err(|e| format!("binding the working directory {} into the private tmp: {e}", cwd.display()))
}
