//! Loading the Unix socket fence's BPF programs (`src/bpf/unix.bpf.c`) and attaching them to the
//! run's cgroup.

use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;
use std::path::Path;

use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{Link, OpenObject};

use crate::SensorError;

#[allow(clippy::all, clippy::pedantic, dead_code, unsafe_op_in_unsafe_fn, missing_docs)]
mod skel {
    include!(concat!(env!("OUT_DIR"), "/unix.skel.rs"));
}

pub use skel::UnixSkel;

/// The loaded programs and the links that keep them attached; dropping it detaches them.
pub struct Attached<'obj> {
    pub skel: UnixSkel<'obj>,
    _links: Vec<Link>,
}

/// What the programs are told before they attach.
pub(crate) struct Setup<'a> {
    pub cgroup_dir: &'a Path,
    pub block: bool,
}

pub(crate) fn load<'obj>(
    setup: &Setup<'_>,
    object: &'obj mut MaybeUninit<OpenObject>,
) -> Result<Attached<'obj>, SensorError> {
    let mut open = skel::UnixSkelBuilder::default()
        .open_opts(crate::core_btf::open_opts(), object)
        .map_err(refused("opening the BPF object"))?;
    let rodata = open.maps.rodata_data.as_deref_mut().ok_or(SensorError::MissingSection(".rodata"))?;
    rodata.block = setup.block;
    let skel = open.load().map_err(refused("loading (verifying) the programs"))?;
    let cgroup = std::fs::File::open(setup.cgroup_dir)
        .map_err(|source| SensorError::Cgroup { path: setup.cgroup_dir.to_path_buf(), source })?;
    let fd = cgroup.as_raw_fd();
    let mut links = Vec::new();
    for prog in [&skel.progs.connect_unix, &skel.progs.sendmsg_unix] {
        links.push(prog.attach_cgroup(fd).map_err(refused("attaching to the run's cgroup"))?);
    }
    Ok(Attached { skel, _links: links })
}

/// Attempts that found the map full.
pub(crate) fn lost(skel: &UnixSkel<'_>) -> u64 {
    skel.maps.bss_data.as_deref().map_or(0, |bss| {
        // SAFETY: `bss` points into the live, mmap-ed .bss map; the programs update `lost`
        // atomically, so a volatile read sees a whole, current value.
        unsafe { std::ptr::read_volatile(&bss.lost) }
    })
}

crate::progs::loaded_insns_fn!(skel::UnixSkelBuilder);

fn refused(stage: &'static str) -> impl FnOnce(libbpf_rs::Error) -> SensorError {
    move |source| SensorError::Bpf { sensor: "unix socket", stage, source }
}
