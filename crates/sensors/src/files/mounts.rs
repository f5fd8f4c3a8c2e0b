//! The file systems a fenced process could write to besides the workspace's, from
//! `/proc/self/mountinfo`: in audit mode each one gets a filesystem mark, so a write outside the
//! workspace (`/run/lock`, a world-writable directory elsewhere) is seen with its process.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// File system types nothing is written to as a file, or that the fence replaces: kernel
/// interfaces, and the private tmpfs of the fence (not in this list; skipped by mount point).
const NOT_FILES: &[&str] = &[
    "proc",
    "sysfs",
    "cgroup",
    "cgroup2",
    "devpts",
    "mqueue",
    "debugfs",
    "tracefs",
    "securityfs",
    "pstore",
    "bpf",
    "configfs",
    "fusectl",
    "binfmt_misc",
    "autofs",
    "efivarfs",
    "nsfs",
    "hugetlbfs",
    "rpc_pipefs",
    "selinuxfs",
];

/// Mount points under these are kernel interfaces whatever their type says.
const KERNEL_TREES: &[&str] = &["/proc", "/sys"];

/// One mount worth marking: where it is mounted and its type (for messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub point: PathBuf,
    pub fstype: String,
}

/// The writable mounts in `mountinfo` (its text), one per file system (device), leaving out
/// read-only ones, kernel interfaces, and mount points at or under `hidden` (the fence mounts
/// its own tmpfs there, so the host's file systems at those places are out of the agent's reach).
pub fn writable(mountinfo: &str, hidden: &[PathBuf]) -> Vec<Mount> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for line in mountinfo.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(dash) = fields.iter().position(|f| *f == "-") else { continue };
        let (Some(device), Some(point), Some(options)) = (fields.get(2), fields.get(4), fields.get(5)) else {
            continue;
        };
        let (Some(fstype), Some(super_options)) = (fields.get(dash + 1), fields.get(dash + 3)) else {
            continue;
        };
        let point = PathBuf::from(unescape(point));
        let read_only = |opts: &str| opts.split(',').any(|o| o == "ro");
        if read_only(options)
            || read_only(super_options)
            || NOT_FILES.contains(fstype)
            || KERNEL_TREES.iter().any(|k| point.starts_with(k))
            || hidden.iter().any(|h| point.starts_with(h))
            || !seen.insert(device.to_string())
        {
            continue;
        }
        out.push(Mount { point, fstype: fstype.to_string() });
    }
    out
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|d| std::str::from_utf8(d).ok()).and_then(|d| {
            u8::from_str_radix(d, 8).ok().filter(|_| d.bytes().all(|b| (b'0'..=b'7').contains(&b)))
        });
        match (bytes[i], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `a` and `b` are on the same file system (device).
pub fn same_filesystem(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
23 22 0:5 / /dev rw,nosuid shared:2 - devtmpfs udev rw,size=4k
24 22 0:20 / /proc rw,nosuid - proc proc rw
25 22 0:21 / /sys rw - sysfs sysfs rw
26 25 0:22 / /sys/fs/cgroup rw - tmpfs tmpfs rw
27 22 0:23 / /run rw,nosuid - tmpfs tmpfs rw,size=10%
28 22 0:24 / /tmp rw - tmpfs tmpfs rw
29 22 7:0 / /snap/core ro,nodev - squashfs /dev/loop0 ro
30 22 8:1 /home /mnt/home\\040dir rw - ext4 /dev/sda1 rw
31 22 0:25 / /mnt/data\\040dir rw - xfs /dev/sdb rw
32 22 0:26 / /media ro - ext4 /dev/sdc rw
33 23 0:27 / /dev/mqueue rw - mqueue mqueue rw
";

    #[test]
    fn one_writable_mount_per_file_system_leaving_out_kernel_read_only_and_hidden_ones() {
        let found = writable(MOUNTINFO, &[PathBuf::from("/tmp")]);
        let points: Vec<&str> = found.iter().map(|m| m.point.to_str().unwrap()).collect();
        assert_eq!(points, ["/", "/dev", "/run", "/mnt/data dir"]);
        assert_eq!(found[3].fstype, "xfs");
    }

    #[test]
    fn unescapes_octal_and_keeps_the_rest() {
        assert_eq!(unescape("/a\\040b\\011c"), "/a b\tc");
        assert_eq!(unescape("/a\\9x\\"), "/a\\9x\\");
    }
}
