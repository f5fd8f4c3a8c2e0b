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
    tmpfs_size: Option<u64>,
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
    // Bounded: tmpfs pages are memory, and an unbounded one is a way to exhaust the host's. Half
    // the agent's memory limit each: filling one is a plain ENOSPC, and all three together still
    // meet the cgroup's limit, which their pages count against.
    let options = match tmpfs_size {
        Some(size) => format!("mode=1777,size={}", (size / 2).max(1024 * 1024)),
        None => "mode=1777".to_string(),
    };
    for dir in PRIVATE_TMP {
        if !Path::new(dir).is_dir() {
            continue;
        }
        mount(
            Some("tmpfs"),
            dir,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some(options.as_str()),
        )
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

/// Hides the run directory from the agent: an empty, read-only tmpfs nobody may enter over it.
/// Its files are root's and closed to others anyway; what the mount adds is that the directory
/// cannot be renamed aside (a mount point: EBUSY) and a planted one put in its place. (Its parent
/// still can be renamed, with it; ringfence writes only through its own handle to the directory.)
/// Nothing to do when the path is not visible in the fence (under a private tmp dir).
pub(crate) fn hide_run_dir(run_dir: Option<&Path>) -> Result<(), String> {
    match run_dir {
        Some(dir) if dir.symlink_metadata().is_ok_and(|m| m.is_dir()) => mask(dir),
        _ => Ok(()),
    }
}

/// Block mode's socket view (see `socket_view.rs`), built after every other mount so the
/// workspace's protections come along into it.
pub(crate) fn socket_view(cwd: &Path, allowed: &[PathBuf]) -> Result<(), String> {
    crate::socket_view::build(cwd, allowed)
}

/// Shows `source` at `target` (an existing file), read-only.
fn bind_read_only(source: &Path, target: &Path) -> Result<(), String> {
    let fail = |e| format!("binding {} over {}: {e}", source.display(), target.display());
    mount(Some(source), target, None::<&str>, MsFlags::MS_BIND, None::<&str>).map_err(fail)?;
    let flags =
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    mount(None::<&str>, target, None::<&str>, flags, None::<&str>).map_err(fail)
}

/// A protected path that is a symbolic link to a file (`CLAUDE.md -> AGENTS.md`). `mount(2)`
/// follows the link, which would leave the link itself free to be removed and replaced; so the
/// target is cloned as a detached mount (`open_tree`), made read-only (`mount_setattr`) and
/// attached on the link itself (`move_mount` does not follow a final link). The path then reads
/// as the target, read-only, and the link cannot be removed or renamed (EBUSY). Kernel 5.12+;
/// older kernels fail here, and the fence with them.
fn read_only_link(path: &Path) -> Result<(), String> {
    use std::ffi::CString;
    use std::os::fd::FromRawFd;
    use std::os::unix::ffi::OsStrExt;
    let fail = |what: &str| {
        format!(
            "holding the symbolic link {} in place ({what}): {}",
            path.display(),
            std::io::Error::last_os_error()
        )
    };
    let c_path = CString::new(path.as_os_str().as_bytes()).map_err(|_| fail("a NUL in the path"))?;
    let flags = libc::OPEN_TREE_CLONE | libc::OPEN_TREE_CLOEXEC;
    // SAFETY: a valid C string; the returned descriptor is owned below.
    let fd = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, c_path.as_ptr(), flags) };
    if fd < 0 {
        return Err(fail("open_tree"));
    }
    // SAFETY: open_tree returned a new descriptor that nothing else owns.
    let tree = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    let attr = libc::mount_attr {
        attr_set: libc::MOUNT_ATTR_RDONLY | libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NODEV,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    let empty = c"";
    // SAFETY: `attr` outlives the call and its size is passed.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            empty.as_ptr(),
            libc::AT_EMPTY_PATH,
            &attr as *const libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    };
    if rc != 0 {
        return Err(fail("mount_setattr"));
    }
    // SAFETY: valid descriptors and C strings.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            empty.as_ptr(),
            libc::AT_FDCWD,
            c_path.as_ptr(),
            libc::MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    if rc != 0 {
        return Err(fail("move_mount"));
    }
    Ok(())
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
    if path.symlink_metadata().is_ok_and(|m| m.file_type().is_symlink()) && !path.is_dir() {
        return read_only_link(path);
    }
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
