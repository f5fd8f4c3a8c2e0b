//! Loading the connect sensor's BPF programs (`src/bpf/net.bpf.c`) and attaching them to the
//! run's cgroup.

use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;
use std::path::Path;

use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::{Link, OpenObject};

use crate::SensorError;

#[allow(clippy::all, clippy::pedantic, dead_code, unsafe_op_in_unsafe_fn, missing_docs)]
mod skel {
    include!(concat!(env!("OUT_DIR"), "/net.skel.rs"));
}

pub use skel::NetSkel;

/// The loaded programs and the links that keep them attached; dropping it detaches them.
pub struct Attached<'obj> {
    pub skel: NetSkel<'obj>,
    _links: Vec<Link>,
}

/// Loads the programs and attaches them to `cgroup_dir` (and so to every cgroup below it).
pub fn load<'obj>(
    cgroup_dir: &Path,
    cgroup_id: u64,
    object: &'obj mut MaybeUninit<OpenObject>,
) -> Result<Attached<'obj>, SensorError> {
    let mut open = skel::NetSkelBuilder::default().open(object).map_err(refused("opening the BPF object"))?;
    let rodata = open.maps.rodata_data.as_deref_mut().ok_or(SensorError::MissingSection(".rodata"))?;
    rodata.target_cgroup = cgroup_id;
    let skel = open.load().map_err(refused("loading (verifying) the programs"))?;
    let cgroup = std::fs::File::open(cgroup_dir)
        .map_err(|source| SensorError::Cgroup { path: cgroup_dir.to_path_buf(), source })?;
    let fd = cgroup.as_raw_fd();
    let progs = &skel.progs;
    let mut links = Vec::new();
    for prog in [&progs.connect4, &progs.connect6, &progs.sendmsg4, &progs.sendmsg6, &progs.tcp_connect] {
        links.push(prog.attach_cgroup(fd).map_err(refused("attaching to the run's cgroup"))?);
    }
    Ok(Attached { skel, _links: links })
}

/// Attempts that found the map full (a scan of more distinct destinations than it holds).
pub fn lost(skel: &NetSkel<'_>) -> u64 {
    skel.maps.bss_data.as_deref().map_or(0, |bss| {
        // SAFETY: `bss` points into the live, mmap-ed .bss map; the programs update `lost`
        // atomically, so a volatile read sees a whole, current value.
        unsafe { std::ptr::read_volatile(&bss.lost) }
    })
}

fn refused(stage: &'static str) -> impl FnOnce(libbpf_rs::Error) -> SensorError {
    move |source| SensorError::Bpf { sensor: "connect", stage, source }
}
