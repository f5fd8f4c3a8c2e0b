//! The socket view: in block mode every pathname Unix socket address the agent connects or sends
//! to is rewritten by the kernel (the Unix socket fence's cgroup hooks) to [`SOCKET_VIEW`] + path.
//! This tree holds only the run's own areas (the private tmp dirs and the workspace) at their
//! own paths, plus each socket the policy allows, so a host daemon's socket anywhere else is
//! simply not there. Every mount in it refuses to follow symbolic links (`nosymfollow`): a link
//! the agent plants in /tmp or the workspace pointing at a host socket fails with ELOOP rather
//! than leading out. The tree's own directories are a read-only tmpfs, so nothing can be added.
//!
//! It lives in the fence's private /dev/shm: a root-owned directory there cannot be renamed or
//! removed by the agent (sticky directory, and it is a mount point), and the agent cannot mount.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::mount::{MsFlags, mount};

use crate::mounts::PRIVATE_TMP;

/// The view's root inside the fence; the kernel side (`SOCKET_VIEW` in the sensors crate's
/// `src/bpf/unix.bpf.c`) prefixes every path with exactly this.
pub const SOCKET_VIEW: &str = "/dev/shm/.rfu";

/// Builds the view, after every other mount of the fence (so the workspace's protections, which
/// are mounts under it, come along). `allowed`: host socket paths the policy lets the run reach.
pub(crate) fn build(cwd: &Path, allowed: &[PathBuf]) -> Result<(), String> {
    let view = Path::new(SOCKET_VIEW);
    let shm = view.parent().unwrap_or(Path::new("/"));
    if !shm.is_dir() {
        return Err(format!(
            "building the socket view: {} does not exist, so the fence has no private tmpfs to hold it",
            shm.display()
        ));
    }
    std::fs::DirBuilder::new()
        .mode(0o755)
        .create(view)
        .map_err(|e| format!("creating the socket view {}: {e}", view.display()))?;
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount(Some("tmpfs"), view, Some("tmpfs"), flags, Some("mode=0755,size=1m,nr_inodes=4096"))
        .map_err(|e| format!("mounting the socket view's tmpfs on {}: {e}", view.display()))?;
    for area in own_areas(cwd) {
        // /dev/shm alone, without its mounts: the view itself is one of them.
        let recursive = area != shm;
        graft(&area, &inside(&area), recursive, true)?;
    }
    for socket in allowed {
        if own_areas(cwd).iter().any(|a| socket.starts_with(a)) {
            continue;
        }
        let is_socket = std::fs::metadata(socket).is_ok_and(|m| m.file_type().is_socket());
        if !is_socket {
            return Err(format!(
                "the policy allows the Unix socket {}, but there is no socket there; start its server \
                 first or remove it from egress.unix_sockets",
                socket.display()
            ));
        }
        let target = inside(socket);
        if let Some(parent) = target.parent() {
            mkdirs(parent)?;
        }
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .open(&target)
            .map_err(|e| format!("creating {} for an allowed socket: {e}", target.display()))?;
        graft(socket, &target, false, false)?;
    }
    // Last: the view's own directories become read-only, links in them not followed.
    let root = open_path(view)?;
    set_attrs(&root, libc::MOUNT_ATTR_RDONLY | libc::MOUNT_ATTR_NOSYMFOLLOW, false)
        .map_err(|e| format!("making the socket view read-only: {e}"))
}

/// The run's own areas: the private tmp dirs that exist and the workspace, unless it is already
/// under /tmp or /var/tmp (whose recursive copies carry it).
fn own_areas(cwd: &Path) -> Vec<PathBuf> {
    let mut areas: Vec<PathBuf> = PRIVATE_TMP.iter().map(PathBuf::from).filter(|p| p.is_dir()).collect();
    let covered = areas.iter().any(|a| cwd.starts_with(a) && a != Path::new("/dev/shm"));
    if !covered {
        areas.push(cwd.to_path_buf());
    }
    areas
}

/// `path` as it appears inside the view.
fn inside(path: &Path) -> PathBuf {
    let mut out = PathBuf::from(SOCKET_VIEW);
    out.push(path.strip_prefix("/").unwrap_or(path));
    out
}

fn mkdirs(dir: &Path) -> Result<(), String> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)
        .map_err(|e| format!("creating {} in the socket view: {e}", dir.display()))
}

/// Shows `source` at `target` inside the view: a copy of its mount (and, `recursive`, of the
/// mounts below it), with symbolic links not followed, no setuid and no devices.
fn graft(source: &Path, target: &Path, recursive: bool, dir: bool) -> Result<(), String> {
    let fail = |what: &str, e: std::io::Error| {
        format!("showing {} in the socket view ({what}): {e}", source.display())
    };
    if dir {
        mkdirs(target)?;
    }
    let c_source = c_path(source)?;
    let mut flags = libc::OPEN_TREE_CLONE | libc::OPEN_TREE_CLOEXEC;
    if recursive {
        flags |= libc::AT_RECURSIVE as u32;
    }
    // SAFETY: a valid C string; the returned descriptor is owned below.
    let fd = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, c_source.as_ptr(), flags) };
    if fd < 0 {
        return Err(fail("open_tree", std::io::Error::last_os_error()));
    }
    // SAFETY: open_tree returned a new descriptor that nothing else owns.
    let tree = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    let attrs = libc::MOUNT_ATTR_NOSYMFOLLOW | libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NODEV;
    set_attrs(&tree, attrs, recursive).map_err(|e| fail("mount_setattr", e))?;
    let c_target = c_path(target)?;
    // SAFETY: valid descriptors and C strings.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            c_target.as_ptr(),
            libc::MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    if rc != 0 {
        return Err(fail("move_mount", std::io::Error::last_os_error()));
    }
    Ok(())
}

/// Sets mount attributes on the mount `fd` refers to (and, `recursive`, every mount below it).
fn set_attrs(fd: &OwnedFd, attrs: u64, recursive: bool) -> std::io::Result<()> {
    let attr = libc::mount_attr { attr_set: attrs, attr_clr: 0, propagation: 0, userns_fd: 0 };
    let mut flags = libc::AT_EMPTY_PATH;
    if recursive {
        flags |= libc::AT_RECURSIVE;
    }
    // SAFETY: `attr` outlives the call and its size is passed.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &attr as *const libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn open_path(path: &Path) -> Result<OwnedFd, String> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(path)
        .map(OwnedFd::from)
        .map_err(|e| format!("opening {}: {e}", path.display()))
}

fn c_path(path: &Path) -> Result<CString, String> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| format!("a NUL in the path {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_keep_their_place_inside_the_view() {
        assert_eq!(inside(Path::new("/tmp")), Path::new("/dev/shm/.rfu/tmp"));
        assert_eq!(inside(Path::new("/home/u/ws")), Path::new("/dev/shm/.rfu/home/u/ws"));
    }

    #[test]
    fn a_workspace_under_tmp_comes_with_tmp() {
        let areas = own_areas(Path::new("/tmp/ws"));
        assert!(!areas.contains(&PathBuf::from("/tmp/ws")));
        assert!(own_areas(Path::new("/srv/ws")).contains(&PathBuf::from("/srv/ws")));
    }
}
