//! The run directory, held by a handle ringfence opened itself. Its path lies where the agent
//! may write (./ringfence-runs in the workspace by default), so the path may come to name another
//! directory by the time ringfence writes the reports: every file is created relative to the
//! handle (`openat` with `O_CREAT|O_EXCL|O_NOFOLLOW`), so a renamed directory, a planted one or a
//! symbolic link in it is never written through.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, bail};
use nix::errno::Errno;
use nix::fcntl::{OFlag, openat};
use nix::sys::stat::{Mode, fstat, mkdirat};

/// The directory the default run directories go in, under the working directory.
pub const RUNS: &str = "ringfence-runs";

pub struct RunDir {
    fd: OwnedFd,
    /// The path it was created at.
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl RunDir {
    /// Creates the run directory: `out` when given (its parents are created as needed and
    /// followed as named, since the caller chose them), else `cwd/ringfence-runs/<run_id>` (where
    /// a symbolic link planted at `ringfence-runs` is refused). The last component is made here,
    /// mode 0700, and opened without following a link; an existing one is only used when it is a
    /// real directory owned by root that no one else may write.
    pub fn create(out: Option<&Path>, cwd: &Path, run_id: &str) -> anyhow::Result<RunDir> {
        let (parent, name, path) = match out {
            Some(out) => {
                let name = match out.components().next_back() {
                    Some(Component::Normal(name)) => name.to_owned(),
                    _ => bail!("--out {}: name a directory (not `/`, `.` or `..`)", out.display()),
                };
                let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
                use std::os::unix::fs::DirBuilderExt;
                std::fs::DirBuilder::new().recursive(true).mode(0o700).create(parent).with_context(|| {
                    format!(
                        "cannot create the output directory {}; choose a writable one with --out DIR",
                        parent.display()
                    )
                })?;
                let parent = open_dir(None, parent, true)
                    .with_context(|| format!("opening the output directory's parent {}", parent.display()))?;
                (parent, name, cwd.join(out))
            }
            None => {
                let cwd_fd = open_dir(None, cwd, true)
                    .with_context(|| format!("opening the working directory {}", cwd.display()))?;
                let runs = make_dir(cwd_fd.as_fd(), Path::new(RUNS)).with_context(|| {
                    format!(
                        "{}: cannot use it for the run directory (a symbolic link or not root's?); remove it or choose --out DIR",
                        cwd.join(RUNS).display()
                    )
                })?;
                (runs, run_id.into(), cwd.join(RUNS).join(run_id))
            }
        };
        let fd = make_dir(parent.as_fd(), Path::new(&name)).with_context(|| {
            format!("cannot create the output directory {}; choose another with --out DIR", path.display())
        })?;
        let stat = fstat(fd.as_raw_fd()).context("reading the run directory")?;
        Ok(RunDir { fd, path, dev: stat.st_dev, ino: stat.st_ino })
    }

    /// The path the directory was created at (it may have been moved since; see [`RunDir::moved`]).
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Creates `name` in the directory (never an existing file, never through a link) with
    /// `mode`, and writes `bytes` to it.
    pub fn write(&self, name: &str, bytes: &[u8], mode: u32) -> std::io::Result<()> {
        let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd = openat(Some(self.fd.as_raw_fd()), name, flags, Mode::from_bits_truncate(mode))?;
        // SAFETY: openat returned a new descriptor that nothing else owns.
        let mut file = unsafe { File::from_raw_fd(fd) };
        // The umask may have taken bits the caller asked for (a world-readable CA bundle).
        nix::sys::stat::fchmod(file.as_raw_fd(), Mode::from_bits_truncate(mode))?;
        let written = file.write_all(bytes);
        if written.is_err() {
            // No half-written report is left behind to be taken for a whole one.
            let _ = self.remove(name);
        }
        written
    }

    /// Reads `name` from the directory, not following a link.
    pub fn read(&self, name: &str) -> std::io::Result<Vec<u8>> {
        let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd = openat(Some(self.fd.as_raw_fd()), name, flags, Mode::empty())?;
        // SAFETY: as above.
        let mut file = unsafe { File::from_raw_fd(fd) };
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    pub fn remove(&self, name: &str) -> std::io::Result<()> {
        nix::unistd::unlinkat(Some(self.fd.as_raw_fd()), name, nix::unistd::UnlinkatFlags::NoRemoveDir)
            .map_err(Into::into)
    }

    /// Where the directory is now, as the kernel names it through the handle.
    pub fn location(&self) -> PathBuf {
        std::fs::read_link(format!("/proc/self/fd/{}", self.fd.as_raw_fd()))
            .unwrap_or_else(|_| self.path.clone())
    }

    /// `None` while the path still names this directory; else where it is now (the agent moved
    /// it, or the path now names another directory or nothing).
    pub fn moved(&self) -> Option<PathBuf> {
        let still = std::fs::symlink_metadata(&self.path)
            .is_ok_and(|m| m.is_dir() && m.dev() == self.dev && m.ino() == self.ino);
        (!still).then(|| self.location())
    }
}

/// Opens a directory; `follow` false refuses a symbolic link as the last component.
fn open_dir(at: Option<BorrowedFd<'_>>, path: &Path, follow: bool) -> nix::Result<OwnedFd> {
    let mut flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    if !follow {
        flags |= OFlag::O_NOFOLLOW;
    }
    let fd = openat(at.map(|a| a.as_raw_fd()), path, flags, Mode::empty())?;
    // SAFETY: openat returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Makes `name` in `parent` (mode 0700) unless it exists, opens it without following a link,
/// and checks it is root's and writable by no one else. (An existing run directory that already
/// holds a journal is refused when the journal is created: never overwritten.)
fn make_dir(parent: BorrowedFd<'_>, name: &Path) -> anyhow::Result<OwnedFd> {
    match mkdirat(Some(parent.as_raw_fd()), name, Mode::from_bits_truncate(0o700)) {
        Ok(()) | Err(Errno::EEXIST) => {}
        Err(e) => return Err(e).context("mkdir"),
    }
    let fd = open_dir(Some(parent), name, false).map_err(|e| match e {
        Errno::ELOOP | Errno::ENOTDIR => anyhow::anyhow!("it is not a directory (a symbolic link?)"),
        e => anyhow::anyhow!("opening it: {e}"),
    })?;
    let stat = fstat(fd.as_raw_fd()).context("fstat")?;
    let euid = nix::unistd::Uid::effective().as_raw();
    if stat.st_uid != euid {
        bail!("it is owned by uid {}, not by ringfence's uid {euid}", stat.st_uid);
    }
    if stat.st_mode & 0o022 != 0 {
        bail!("its mode {:o} lets others write in it", stat.st_mode & 0o7777);
    }
    Ok(fd)
}
