//! What the kernel says about a loaded BPF program.

use libbpf_rs::{MapCore, MapFlags, Object, libbpf_sys};

/// The kernel's count of runs of this program it skipped to avoid recursion (0 where the kernel
/// does not report it).
pub fn recursion_misses(prog_fd: i32) -> u64 {
    let mut info = libbpf_sys::bpf_prog_info::default();
    let mut len = u32::try_from(size_of::<libbpf_sys::bpf_prog_info>()).unwrap_or(u32::MAX);
    // SAFETY: `info` is a valid, writable bpf_prog_info of `len` bytes; the kernel writes at most
    // that many and the pointer fields are zero, so it follows no pointer.
    let rc = unsafe { libbpf_sys::bpf_prog_get_info_by_fd(prog_fd, &mut info, &mut len) };
    if rc == 0 { info.recursion_misses } else { 0 }
}

/// Every entry of a counting map, decoded (entries that do not decode are skipped), in the order
/// each was first seen (`first_ns`).
pub fn counted<T>(
    map: &impl MapCore,
    decode: impl Fn(&[u8], &[u8]) -> Option<T>,
    first_ns: impl Fn(&T) -> u64,
) -> Vec<T> {
    let mut entries: Vec<T> = map
        .keys()
        .filter_map(|key| {
            let value = map.lookup(&key, MapFlags::ANY).ok().flatten()?;
            decode(&key, &value)
        })
        .collect();
    entries.sort_by_key(|e| first_ns(e));
    entries
}

/// One loaded program: its name and its instructions as libbpf handed them to the kernel.
pub(crate) type Loaded = (String, Vec<[u8; 8]>);

/// Every program of a loaded object with its final instructions (CO-RE-relocated), the map fds
/// that 64-bit immediate loads carry set to 0, since they differ from load to load.
pub(crate) fn loaded(object: &Object) -> Vec<Loaded> {
    // BPF_LD | BPF_IMM | BPF_DW, and the pseudo sources whose immediate is a map fd.
    const LD_IMM64: u8 = 0x18;
    const MAP_FD_SOURCES: [u8; 4] = [1, 2, 5, 6];
    let mut progs: Vec<Loaded> = object
        .progs()
        .map(|prog| {
            let insns = prog
                .insns()
                .iter()
                .map(|insn| {
                    // SAFETY: bpf_insn is 8 plain bytes: code, registers, offset, immediate.
                    let mut raw = unsafe { std::mem::transmute::<libbpf_sys::bpf_insn, [u8; 8]>(*insn) };
                    if raw[0] == LD_IMM64 && MAP_FD_SOURCES.contains(&(raw[1] >> 4)) {
                        raw[4..].fill(0);
                    }
                    raw
                })
                .collect();
            (prog.name().to_string_lossy().into_owned(), insns)
        })
        .collect();
    progs.sort();
    progs
}

/// Defines `loaded_insns(opts)` for one object's skeleton builder: the object opened with `opts`,
/// loaded (not attached) and its programs' final instructions, for
/// [`crate::core_btf::compare_relocations`]. Uses the module's own `refused`.
macro_rules! loaded_insns_fn {
    ($builder:ty) => {
        /// Every program's instructions as loaded with `opts` (relocated, map fds masked).
        pub(crate) fn loaded_insns(
            opts: libbpf_rs::libbpf_sys::bpf_object_open_opts,
        ) -> Result<Vec<crate::progs::Loaded>, SensorError> {
            let mut object = MaybeUninit::uninit();
            let open = <$builder>::default()
                .open_opts(opts, &mut object)
                .map_err(refused("opening the BPF object"))?;
            let skel = open.load().map_err(refused("loading (verifying) the programs"))?;
            Ok(crate::progs::loaded(skel.object()))
        }
    };
}
pub(crate) use loaded_insns_fn;
