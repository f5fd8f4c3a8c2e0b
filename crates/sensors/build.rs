//! Compiles the BPF side of the sensors with clang and generates its libbpf-rs skeleton.
//!
//! Needs only clang (any version with the BPF target, 14 or newer) at build time: the libbpf
//! headers come from the vendored libbpf inside libbpf-sys, and the kernel types from the
//! committed, CO-RE `src/bpf/vmlinux.h`, so the build machine's kernel does not matter.
//!
//! Each object's own BTF (its `.BTF` section) is also written out beside the skeleton, as
//! `NAME.local.btf`: `src/core_btf.rs` reads the names of the kernel types the objects relocate
//! against from it.

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
        let object = out_dir.join(format!("{name}.bpf.o"));
        if let Err(err) = SkeletonBuilder::new()
            .source(&source)
            .obj(&object)
            .clang_args(["-Isrc/bpf", "-Wall", "-Werror"])
            .build_and_generate(&skeleton)
        {
            panic!(
                "building {source} failed: {err:#}\n\
                 The sensors need clang with the BPF target (Debian/Ubuntu: apt-get install clang llvm \
                 libelf-dev zlib1g-dev pkg-config)."
            );
        }
        let elf = std::fs::read(&object).unwrap_or_else(|e| panic!("reading {}: {e}", object.display()));
        let btf = elf_section(&elf, b".BTF")
            .unwrap_or_else(|| panic!("{} has no .BTF section (clang must be given -g)", object.display()));
        let out = out_dir.join(format!("{name}.local.btf"));
        std::fs::write(&out, btf).unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
    }
}

/// The bytes of the section named `want` of a 64-bit little-endian ELF file, if it has one.
fn elf_section<'a>(elf: &'a [u8], want: &[u8]) -> Option<&'a [u8]> {
    let u16_at = |at: usize| Some(u16::from_le_bytes(elf.get(at..at + 2)?.try_into().ok()?));
    let u32_at = |at: usize| Some(u32::from_le_bytes(elf.get(at..at + 4)?.try_into().ok()?));
    let u64_at = |at: usize| Some(u64::from_le_bytes(elf.get(at..at + 8)?.try_into().ok()?));
    if elf.get(..6)? != b"\x7fELF\x02\x01" {
        return None;
    }
    let shoff = usize::try_from(u64_at(0x28)?).ok()?;
    let (shentsize, shnum, shstrndx) =
        (usize::from(u16_at(0x3a)?), usize::from(u16_at(0x3c)?), usize::from(u16_at(0x3e)?));
    let header = |i: usize| shoff.checked_add(i.checked_mul(shentsize)?);
    let bytes = |h: usize| {
        let (off, size) = (usize::try_from(u64_at(h + 24)?).ok()?, usize::try_from(u64_at(h + 32)?).ok()?);
        elf.get(off..off.checked_add(size)?)
    };
    let names = bytes(header(shstrndx)?)?;
    (0..shnum).find_map(|i| {
        let h = header(i)?;
        let name = names.get(usize::try_from(u32_at(h)?).ok()?..)?;
        let name = &name[..name.iter().position(|&b| b == 0)?];
        if name == want { bytes(h) } else { None }
    })
}
