//! Loading and attaching the file sensor's BPF programs (`src/bpf/files.bpf.c`): the refusal
//! records, and the set of the run's pids that fanotify events are checked against.

use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};

use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{MapCore, MapFlags, OpenObject};

use crate::SensorError;
use crate::progs::recursion_misses;

#[allow(clippy::all, clippy::pedantic, dead_code, unsafe_op_in_unsafe_fn, missing_docs)]
mod skel {
    include!(concat!(env!("OUT_DIR"), "/files.skel.rs"));
}

pub use skel::FilesSkel;

/// Opens the object, points it at `scope`, loads and attaches it; then seeds the pid set with
/// the processes already in the cgroup, so from the return on every process of the run is known.
pub fn load(scope: crate::Scope, object: &mut MaybeUninit<OpenObject>) -> Result<FilesSkel<'_>, SensorError> {
    let mut open = skel::FilesSkelBuilder::default()
        .open_opts(crate::core_btf::open_opts(), object)
        .map_err(refused("opening the BPF object"))?;
    let rodata = open.maps.rodata_data.as_deref_mut().ok_or(SensorError::MissingSection(".rodata"))?;
    rodata.target_cgroup = scope.id;
    rodata.target_level = scope.level;
    let mut skel = open.load().map_err(refused("loading (verifying) the programs"))?;
    skel.attach().map_err(refused("attaching to the file syscalls and the fork and cgroup tracepoints"))?;
    // After attaching: a fork in between is seen by the program, and seeding it again is harmless.
    for pid in pids_in_cgroup(scope.id) {
        skel.maps
            .run_pids
            .update(&pid.to_ne_bytes(), &[1], MapFlags::ANY)
            .map_err(refused("seeding the run's pids"))?;
    }
    Ok(skel)
}

/// Whether `pid` is, or was when it exited, a process of the run.
pub fn is_member(skel: &FilesSkel<'_>, pid: u32) -> bool {
    matches!(skel.maps.run_pids.lookup(&pid.to_ne_bytes(), MapFlags::ANY), Ok(Some(_)))
}

/// Records that never reached user space: the ring buffer was full, or the kernel skipped a
/// program run because one was already running on that CPU.
pub fn lost(skel: &FilesSkel<'_>) -> u64 {
    let full = skel.maps.bss_data.as_deref().map_or(0, |bss| {
        // SAFETY: `bss` points into the live, mmap-ed .bss map; the programs update `lost`
        // atomically, so a volatile read sees a whole, current value.
        unsafe { std::ptr::read_volatile(&bss.lost) }
    });
    let skipped: u64 = skel.object().progs().map(|prog| recursion_misses(prog.as_fd().as_raw_fd())).sum();
    full + skipped
}

/// The pids in the cgroup whose id is `cgroup_id` and in every cgroup beneath it, found by
/// walking the cgroup2 hierarchy; empty when it cannot be found (then the programs learn of the
/// scope's processes as they fork).
fn pids_in_cgroup(cgroup_id: u64) -> Vec<u32> {
    let Some(top) = crate::cgroup2_mount().ok().and_then(|root| find_cgroup(&root, cgroup_id, 0)) else {
        return Vec::new();
    };
    let mut pids = Vec::new();
    let mut dirs = vec![(top, 0)];
    while let Some((dir, depth)) = dirs.pop() {
        let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
        pids.extend(procs.lines().filter_map(|line| line.trim().parse::<u32>().ok()));
        if depth < CGROUP_DEPTH
            && let Ok(entries) = std::fs::read_dir(&dir)
        {
            let children = entries.flatten().filter(|e| e.file_type().is_ok_and(|kind| kind.is_dir()));
            dirs.extend(children.map(|e| (e.path(), depth + 1)));
        }
    }
    pids
}

/// Deep enough for any real hierarchy (systemd nests about 5 levels), bounded so a pathological
/// one cannot stall the start.
const CGROUP_DEPTH: usize = 16;

fn find_cgroup(dir: &Path, id: u64, depth: usize) -> Option<PathBuf> {
    if crate::cgroup_id(dir).ok()? == id {
        return Some(dir.to_path_buf());
    }
    if depth >= CGROUP_DEPTH {
        return None;
    }
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
        .find_map(|entry| find_cgroup(&entry.path(), id, depth + 1))
}

crate::progs::loaded_insns_fn!(skel::FilesSkelBuilder);

fn refused(stage: &'static str) -> impl FnOnce(libbpf_rs::Error) -> SensorError {
    move |source| SensorError::Bpf { sensor: "file", stage, source }
}
