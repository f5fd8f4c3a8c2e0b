//! Compiles the BPF side of the sensors with clang and generates its libbpf-rs skeleton.
//!
//! Needs only clang (any version with the BPF target, 14 or newer) at build time: the libbpf
//! headers come from the vendored libbpf inside libbpf-sys, and the kernel types from the
//! committed, CO-RE `src/bpf/vmlinux.h`, so the build machine's kernel does not matter.

use std::env;
use std::path::PathBuf;

use libbpf_cargo::SkeletonBuilder;

const SOURCES: &[&str] = &["exec", "files", "net", "unix"];

fn main() {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR for build scripts"));
    println!("cargo:rerun-if-changed=src/bpf");
    for name in SOURCES {
        let source = format!("src/bpf/{name}.bpf.c");
        let skeleton = out_dir.join(format!("{name}.skel.rs"));
        if let Err(err) = SkeletonBuilder::new()
            .source(&source)
            .clang_args(["-Isrc/bpf", "-Wall", "-Werror"])
            .build_and_generate(&skeleton)
        {
            panic!(
                "building {source} failed: {err:#}\n\
                 The sensors need clang with the BPF target (Debian/Ubuntu: apt-get install clang llvm \
                 libelf-dev zlib1g-dev pkg-config)."
            );
        }
    }
}
