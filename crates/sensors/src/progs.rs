//! What the kernel says about a loaded BPF program.

use libbpf_rs::{MapCore, MapFlags, libbpf_sys};

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
