//! Finding cgroup v2 and naming a cgroup the way the kernel's BPF helpers do.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The cgroup v2 id (inode number) of a cgroup directory — what [`crate::ExecSensor::start`] takes.
///
/// On cgroup v2 (kernfs) a cgroup directory's inode number is the id that
/// `bpf_get_current_cgroup_id()` returns for tasks inside it.
pub fn cgroup_id(dir: &Path) -> io::Result<u64> {
    Ok(std::fs::metadata(dir)?.ino())
}

/// Which processes a sensor records: those of one cgroup v2 and every cgroup beneath it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    /// The cgroup's id (its directory's inode number).
    pub id: u64,
    /// Its depth below the hierarchy's root (0: the root, every process of the machine).
    pub level: u32,
}

impl Scope {
    /// The scope of the cgroup directory `dir`, which must lie in the cgroup2 mount.
    pub fn of(dir: &Path) -> io::Result<Scope> {
        let root = cgroup2_mount()?;
        let dir = dir.canonicalize()?;
        let below = dir.strip_prefix(&root).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} is not a cgroup: it is not beneath the cgroup2 mount {}",
                    dir.display(),
                    root.display()
                ),
            )
        })?;
        Ok(Scope { id: cgroup_id(&dir)?, level: below.components().count() as u32 })
    }
}

/// Where the cgroup v2 hierarchy is mounted, from `/proc/self/mountinfo`.
///
/// Usually `/sys/fs/cgroup`; on hybrid systems `/sys/fs/cgroup/unified`.
pub fn cgroup2_mount() -> io::Result<PathBuf> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")?;
    find_cgroup2(&mountinfo).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            "no cgroup2 file system is mounted (see /proc/self/mountinfo); \
             mount one with `mount -t cgroup2 none /sys/fs/cgroup`",
        )
    })
}

/// The mount point of the first `cgroup2` entry of a mountinfo text.
fn find_cgroup2(mountinfo: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        // Fields: id parent major:minor root mount-point options [optional...] - fstype source ...
        let (left, right) = line.split_once(" - ")?;
        if right.split(' ').next()? != "cgroup2" {
            return None;
        }
        left.split(' ').nth(4).map(|p| PathBuf::from(unescape_octal(p)))
    })
}

/// mountinfo writes space, tab, newline and backslash in paths as `\ooo`.
fn unescape_octal(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = bytes.get(i + 1..i + 4).filter(|_| bytes[i] == b'\\').and_then(|digits| {
            let text = std::str::from_utf8(digits).ok()?;
            u8::from_str_radix(text, 8).ok()
        });
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_cgroup2_on_a_hybrid_system() {
        let mountinfo = "\
30 25 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
41 30 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw
42 30 0:39 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
";
        assert_eq!(find_cgroup2(mountinfo), Some(PathBuf::from("/sys/fs/cgroup/unified")));
    }

    #[test]
    fn finds_cgroup2_on_a_unified_system() {
        let mountinfo = "35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(find_cgroup2(mountinfo), Some(PathBuf::from("/sys/fs/cgroup")));
    }

    #[test]
    fn no_cgroup2_is_none() {
        assert_eq!(find_cgroup2("30 25 0:26 / /sys/fs/cgroup ro - tmpfs tmpfs ro\n"), None);
    }

    #[test]
    fn unescapes_spaces_in_mount_points() {
        let mountinfo = "35 24 0:30 / /mnt/my\\040cgroups rw - cgroup2 none rw\n";
        assert_eq!(find_cgroup2(mountinfo), Some(PathBuf::from("/mnt/my cgroups")));
    }
}
