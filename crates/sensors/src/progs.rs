//! What the kernel says about a loaded BPF program.

use libbpf_rs::libbpf_sys;

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
