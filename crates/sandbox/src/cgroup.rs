//! A cgroup v2 leaf per run.
//!
//! Why cgroup v2 and not only the PID namespace: the leaf's id is what the eBPF sensors filter on,
//! `cgroup.kill` ends every member at once (a `setsid` double-forked daemon included), and the
//! pids controller bounds fork bombs. Leaves live under `<cgroup2 mount>/ringfence/` so that the
//! parent holds no processes of its own (cgroup v2's "no internal processes" rule).

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::SandboxError;

/// Where the pids limit is enforced, for the report.
#[derive(Debug, Clone, PartialEq)]
pub enum PidsLimit {
    None,
    V2(u64),
    /// Hybrid hosts bind the pids controller to a v1 hierarchy; the run gets a leaf there too.
    V1 {
        max: u64,
        dir: PathBuf,
    },
}

/// Where the memory limit is enforced, for the report.
#[derive(Debug, Clone, PartialEq)]
pub enum MemoryLimit {
    None,
    V2(u64),
    /// Hybrid hosts bind the memory controller to a v1 hierarchy; the run gets a leaf there too.
    V1 {
        max: u64,
        dir: PathBuf,
    },
}

#[derive(Debug)]
pub struct Cgroup {
    path: PathBuf,
    id: u64,
    pids: PidsLimit,
    memory: MemoryLimit,
}

impl Cgroup {
    /// Creates the run's leaf (and its pids and memory limits) under the host's cgroup2 mount.
    pub fn create(
        run_id: &str,
        pids_max: Option<u64>,
        memory_max: Option<u64>,
    ) -> Result<Cgroup, SandboxError> {
        let mountinfo = read("/proc/self/mountinfo")?;
        let mount = cgroup2_mount(&mountinfo).ok_or(SandboxError::NoCgroup2)?;
        let parent = mount.join("ringfence");
        mkdir(&parent)?;
        remove_stale_leaves(&parent);
        // The supervisor's pid in the name tells a later run whether this leaf is still in use.
        let leaf = format!("{run_id}-p{}", std::process::id());
        let path = parent.join(&leaf);
        mkdir(&path)?;
        let id = fs::metadata(&path).map_err(|e| err("stat", &path, e))?.ino();
        let mut cgroup = Cgroup { path, id, pids: PidsLimit::None, memory: MemoryLimit::None };
        // Dropping `cgroup` on an error below would leave the leaves behind; remove them.
        let limited = cgroup.limit(&mount, &mountinfo, &leaf, pids_max, memory_max);
        if let Err(e) = limited {
            let _ = cgroup.remove();
            return Err(e);
        }
        Ok(cgroup)
    }

    fn limit(
        &mut self,
        mount: &Path,
        mountinfo: &str,
        leaf: &str,
        pids_max: Option<u64>,
        memory_max: Option<u64>,
    ) -> Result<(), SandboxError> {
        let parent = mount.join("ringfence");
        if let Some(max) = pids_max {
            self.pids = match enable_v2(mount, &parent, "pids") {
                true => {
                    write(&self.path.join("pids.max"), &max.to_string())?;
                    PidsLimit::V2(max)
                }
                false => {
                    let v1 = v1_mount(mountinfo, "pids").ok_or(SandboxError::NoPidsController)?;
                    let dir = v1_leaf(&v1, leaf)?;
                    write(&dir.join("pids.max"), &max.to_string())?;
                    PidsLimit::V1 { max, dir }
                }
            };
        }
        if let Some(max) = memory_max {
            self.memory = match enable_v2(mount, &parent, "memory") {
                true => {
                    write(&self.path.join("memory.max"), &max.to_string())?;
                    // Swapping the agent's pages out would let it hold more than its limit.
                    let _ = fs::write(self.path.join("memory.swap.max"), "0");
                    MemoryLimit::V2(max)
                }
                false => {
                    let v1 = v1_mount(mountinfo, "memory").ok_or(SandboxError::NoMemoryController)?;
                    let dir = v1_leaf(&v1, leaf)?;
                    write(&dir.join("memory.limit_in_bytes"), &max.to_string())?;
                    // Present only with swap accounting; without it there is no swap to limit.
                    let _ = fs::write(dir.join("memory.memsw.limit_in_bytes"), max.to_string());
                    MemoryLimit::V1 { max, dir }
                }
            };
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The cgroup v2 id (the directory's inode number), as `bpf_get_current_cgroup_id()` sees it.
    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn pids(&self) -> &PidsLimit {
        &self.pids
    }

    pub fn memory(&self) -> &MemoryLimit {
        &self.memory
    }

    /// The run's leaves in v1 hierarchies (hybrid hosts), beside the v2 leaf.
    fn v1_dirs(&self) -> impl Iterator<Item = &Path> {
        let pids = match &self.pids {
            PidsLimit::V1 { dir, .. } => Some(dir.as_path()),
            _ => None,
        };
        let memory = match &self.memory {
            MemoryLimit::V1 { dir, .. } => Some(dir.as_path()),
            _ => None,
        };
        pids.into_iter().chain(memory)
    }

    /// Moves a process (and so all its future descendants) into the run's cgroup(s).
    pub fn add(&self, pid: u32) -> Result<(), SandboxError> {
        write(&self.path.join("cgroup.procs"), &pid.to_string())?;
        for dir in self.v1_dirs() {
            write(&dir.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    /// How many times the kernel's OOM killer killed a process of the run for its memory limit.
    pub fn oom_kills(&self) -> u64 {
        let (file, key) = match &self.memory {
            MemoryLimit::None => return 0,
            MemoryLimit::V2(_) => (self.path.join("memory.events"), "oom_kill"),
            MemoryLimit::V1 { dir, .. } => (dir.join("memory.oom_control"), "oom_kill"),
        };
        fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(' ')?;
                (name == key).then(|| value.trim().parse().ok())?
            })
            .unwrap_or(0)
    }

    /// Pids currently in the leaf.
    pub fn members(&self) -> Vec<u32> {
        fs::read_to_string(self.path.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    /// Kills every member and waits until the leaf is empty; returns how many were killed.
    pub fn kill_all(&self, timeout: Duration) -> Result<usize, SandboxError> {
        let members = self.members().len();
        let kill_file = self.path.join("cgroup.kill");
        let deadline = Instant::now() + timeout;
        loop {
            if self.members().is_empty() {
                return Ok(members);
            }
            if kill_file.exists() {
                write(&kill_file, "1")?;
            } else {
                // Kernels before 5.14 have no cgroup.kill: signal members until none is left.
                for pid in self.members() {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid as i32),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
            }
            if Instant::now() > deadline {
                return Err(err(
                    "empty",
                    &self.path,
                    std::io::Error::other(format!("{} processes survived SIGKILL", self.members().len())),
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Removes the (empty) leaf and any v1 leaves.
    pub fn remove(&self) -> Result<(), SandboxError> {
        for dir in self.v1_dirs() {
            rmdir_retrying(dir)?;
        }
        rmdir_retrying(&self.path)
    }
}

/// The mount point of the cgroup2 file system, from `/proc/self/mountinfo` text.
pub fn cgroup2_mount(mountinfo: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        let (fields, rest) = line.split_once(" - ")?;
        (rest.split_whitespace().next()? == "cgroup2").then(|| unescape(fields.split_whitespace().nth(4)?))?
    })
}

/// The mount point of a cgroup v1 hierarchy that carries `controller`.
pub fn v1_mount(mountinfo: &str, controller: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        let (fields, rest) = line.split_once(" - ")?;
        let mut rest = rest.split_whitespace();
        let carries = rest.next()? == "cgroup" && rest.nth(1)?.split(',').any(|o| o == controller);
        carries.then(|| unescape(fields.split_whitespace().nth(4)?))?
    })
}

/// The run's leaf `<v1 mount>/ringfence/<leaf>`, created.
fn v1_leaf(v1: &Path, leaf: &str) -> Result<PathBuf, SandboxError> {
    let v1_parent = v1.join("ringfence");
    mkdir(&v1_parent)?;
    remove_stale_leaves(&v1_parent);
    let dir = v1_parent.join(leaf);
    mkdir(&dir)?;
    Ok(dir)
}

/// mountinfo escapes space, tab, newline and backslash as octal.
fn unescape(field: &str) -> Option<PathBuf> {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            let code = std::str::from_utf8(bytes.get(i + 1..i + 4)?).ok()?;
            out.push(u8::from_str_radix(code, 8).ok()?);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(PathBuf::from(String::from_utf8(out).ok()?))
}

/// Turns `controller` on for `<mount>/ringfence/*` when cgroup v2 offers it.
fn enable_v2(mount: &Path, parent: &Path, controller: &str) -> bool {
    let offered = fs::read_to_string(mount.join("cgroup.controllers")).unwrap_or_default();
    if !offered.split_whitespace().any(|c| c == controller) {
        return false;
    }
    let enable = |dir: &Path| fs::write(dir.join("cgroup.subtree_control"), format!("+{controller}")).is_ok();
    enable(mount) && enable(parent)
}

/// Removes leaves whose supervisor is gone (it was SIGKILLed before it could clean up).
/// A live run's leaf is empty until its init moves in, so only the owner's death says "stale";
/// rmdir itself refuses a leaf that still has processes.
fn remove_stale_leaves(parent: &Path) {
    let Ok(entries) = fs::read_dir(parent) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let owner =
            name.to_str().and_then(|n| n.rsplit_once("-p")).and_then(|(_, pid)| pid.parse::<u32>().ok());
        if let Some(pid) = owner
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = fs::remove_dir(entry.path());
        }
    }
}

fn rmdir_retrying(dir: &Path) -> Result<(), SandboxError> {
    // The kernel can report a leaf as empty a moment before rmdir accepts it (EBUSY).
    let mut tries = 0;
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if tries < 200 => {
                let _ = e;
                tries += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(err("remove", dir, e)),
        }
    }
}

fn mkdir(dir: &Path) -> Result<(), SandboxError> {
    match fs::create_dir(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(err("create", dir, e)),
        _ => Ok(()),
    }
}

fn write(file: &Path, value: &str) -> Result<(), SandboxError> {
    fs::write(file, value).map_err(|e| err("write", file, e))
}

fn read(file: &str) -> Result<String, SandboxError> {
    fs::read_to_string(file).map_err(|e| err("read", Path::new(file), e))
}

fn err(action: &'static str, path: &Path, source: std::io::Error) -> SandboxError {
    SandboxError::Cgroup { action, path: path.display().to_string(), source }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
25 1 0:23 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
30 25 0:27 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
31 25 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
32 25 0:29 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
35 25 0:31 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const PURE: &str = "29 22 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";

    #[test]
    fn finds_the_cgroup2_mount_on_hybrid_and_pure_hosts() {
        assert_eq!(cgroup2_mount(HYBRID), Some(PathBuf::from("/sys/fs/cgroup/unified")));
        assert_eq!(cgroup2_mount(PURE), Some(PathBuf::from("/sys/fs/cgroup")));
        assert_eq!(cgroup2_mount("garbage\n - \n"), None);
    }

    #[test]
    fn finds_a_v1_hierarchy_only_where_there_is_one() {
        assert_eq!(v1_mount(HYBRID, "pids"), Some(PathBuf::from("/sys/fs/cgroup/pids")));
        assert_eq!(v1_mount(HYBRID, "memory"), Some(PathBuf::from("/sys/fs/cgroup/memory")));
        assert_eq!(v1_mount(PURE, "pids"), None);
    }

    #[test]
    fn unescapes_octal_in_mount_points() {
        assert_eq!(unescape("/a\\040b"), Some(PathBuf::from("/a b")));
        assert_eq!(unescape("/a\\04"), None);
    }
}
