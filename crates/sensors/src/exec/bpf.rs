//! Loading and attaching the exec sensor's BPF programs (`src/bpf/exec.bpf.c`) and reading the
//! counters they keep.

use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd};

use libbpf_rs::OpenObject;
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};

use crate::SensorError;
use crate::progs::recursion_misses;

#[allow(clippy::all, clippy::pedantic, dead_code, unsafe_op_in_unsafe_fn, missing_docs)]
mod skel {
    include!(concat!(env!("OUT_DIR"), "/exec.skel.rs"));
}

pub use skel::ExecSkel;

/// Opens the object, points it at `scope`, loads and attaches it: from the return on, every
/// exec, fork and exit in the cgroup lands in the `events` ring buffer.
pub fn load(scope: crate::Scope, object: &mut MaybeUninit<OpenObject>) -> Result<ExecSkel<'_>, SensorError> {
    let mut open = skel::ExecSkelBuilder::default()
        .open_opts(crate::core_btf::open_opts(), object)
        .map_err(refused("opening the BPF object"))?;
    let rodata = open.maps.rodata_data.as_deref_mut().ok_or(SensorError::MissingSection(".rodata"))?;
    rodata.target_cgroup = scope.id;
    rodata.target_level = scope.level;
    let mut skel = open.load().map_err(refused("loading (verifying) the programs"))?;
    skel.attach().map_err(refused("attaching to the sched tracepoints"))?;
    Ok(skel)
}

/// Records that never reached user space: the ring buffer was full (counted by the programs), or
/// the kernel skipped a program run because it was already running on that CPU.
pub fn lost(skel: &ExecSkel<'_>) -> u64 {
    let full = skel.maps.bss_data.as_deref().map_or(0, |bss| {
        // SAFETY: `bss` points into the live, mmap-ed .bss map; the programs update `lost`
        // atomically, so a volatile read sees a whole, current value.
        unsafe { std::ptr::read_volatile(&bss.lost) }
    });
    let progs = &skel.progs;
    let skipped: u64 = [&progs.handle_exec, &progs.handle_fork, &progs.handle_exit]
        .into_iter()
        .map(|prog| recursion_misses(prog.as_fd().as_raw_fd()))
        .sum();
    full + skipped
}

crate::progs::loaded_insns_fn!(skel::ExecSkelBuilder);

fn refused(stage: &'static str) -> impl FnOnce(libbpf_rs::Error) -> SensorError {
    move |source| SensorError::Bpf { sensor: "exec", stage, source }
}
