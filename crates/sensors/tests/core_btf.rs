//! The cut-down kernel BTF the sensors load against (`src/core_btf.rs`) relocates every program
//! exactly as the kernel's own BTF does.

#[allow(dead_code)]
mod support;

#[test]
fn every_program_relocates_the_same_against_the_cut_down_btf() {
    if !nix_is_root() {
        support::skip_or_fail::<()>("needs root to load BPF programs");
        return;
    }
    let compared = sensors::core_btf::compare_relocations().unwrap_or_else(|e| panic!("{e}"));
    // exec + files + unix are well over a thousand instructions; a handful would mean an object
    // was left out.
    assert!(compared > 1000, "only {compared} instructions compared");
}

#[test]
fn the_cut_down_btf_is_a_small_part_of_the_kernels() {
    let Ok(kernel) = std::fs::metadata("/sys/kernel/btf/vmlinux") else {
        support::skip_or_fail::<()>("no /sys/kernel/btf/vmlinux");
        return;
    };
    let started = std::time::Instant::now();
    let cut = sensors::core_btf::cut_kernel_btf().expect("cut down the kernel's BTF");
    eprintln!("kernel BTF {} bytes, cut down {} bytes in {:?}", kernel.len(), cut.len(), started.elapsed());
    assert!(cut.len() * 20 < kernel.len() as usize, "{} of {} bytes", cut.len(), kernel.len());
}

fn nix_is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}
