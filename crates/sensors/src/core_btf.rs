//! A small copy of the kernel's BTF holding only what the sensors' CO-RE relocations look up,
//! handed to libbpf as each object's `btf_custom_path`.
//!
//! libbpf resolves CO-RE relocations by scanning every type of the kernel's BTF (~130,000 on a
//! 6.x kernel) for candidates named like each local type, once per local type and per object,
//! after parsing the whole of it per object: ~25 scans and three parses per run, about 30 ms
//! of CPU before anything is fenced (bench/startup/README.md). Here the kernel's BTF is read
//! once per process and cut down to the types the objects name (`struct task_struct`,
//! `struct dentry`, ...: every named struct, union, enum and typedef in an object's own BTF, by
//! the name CO-RE matches, without a `___flavour` suffix), each copied with what a relocation
//! through it needs:
//! - members keep their names, bit offsets, bitfield sizes and types, so offsets, sizes and
//!   existence resolve exactly as against the kernel's BTF;
//! - embedded structs and unions, arrays, enums, integers and floats are copied whole;
//! - pointers become `void *`: CO-RE checks only that a pointer field is a pointer, and a chain
//!   such as `task->fs->root` starts a new relocation at `struct fs_struct`, itself copied by
//!   name;
//! - `const`, `volatile`, `restrict` and type tags are dropped, as CO-RE skips them.
//!
//! The result is a few hundred types. The programs relocated against it are the same,
//! instruction for instruction, as against the kernel's BTF (`tests/core_btf.rs` loads every
//! object both ways and compares). Any failure here leaves libbpf to read the kernel's BTF itself,
//! as before: slower, never different.

use std::collections::{HashMap, HashSet};
use std::ffi::CString;
use std::io::Write as _;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::OnceLock;

use libbpf_rs::libbpf_sys;

/// The objects' own BTF, written out by build.rs.
const LOCAL: [&[u8]; 3] = [
    include_bytes!(concat!(env!("OUT_DIR"), "/exec.local.btf")),
    include_bytes!(concat!(env!("OUT_DIR"), "/files.local.btf")),
    include_bytes!(concat!(env!("OUT_DIR"), "/unix.local.btf")),
];

const KERNEL_BTF: &str = "/sys/kernel/btf/vmlinux";

const BTF_MAGIC: u16 = 0xeb9f;
const HEADER_LEN: usize = 24;

const INT: u32 = 1;
const PTR: u32 = 2;
const ARRAY: u32 = 3;
const STRUCT: u32 = 4;
const UNION: u32 = 5;
const ENUM: u32 = 6;
const FWD: u32 = 7;
const TYPEDEF: u32 = 8;
const VOLATILE: u32 = 9;
const CONST: u32 = 10;
const RESTRICT: u32 = 11;
const FUNC: u32 = 12;
const FUNC_PROTO: u32 = 13;
const VAR: u32 = 14;
const DATASEC: u32 = 15;
const FLOAT: u32 = 16;
const DECL_TAG: u32 = 17;
const TYPE_TAG: u32 = 18;
const ENUM64: u32 = 19;

/// The kernel's BTF cut down for the sensors, in a sealed memfd of this process.
struct CoreBtf {
    _file: OwnedFd,
    path: CString,
}

static CORE_BTF: OnceLock<Result<CoreBtf, String>> = OnceLock::new();

fn plain_opts() -> libbpf_sys::bpf_object_open_opts {
    libbpf_sys::bpf_object_open_opts {
        sz: size_of::<libbpf_sys::bpf_object_open_opts>() as libbpf_sys::size_t,
        ..Default::default()
    }
}

/// Open options that point libbpf at the cut-down BTF, built on first use; plain options when
/// it could not be built.
pub(crate) fn open_opts() -> libbpf_sys::bpf_object_open_opts {
    let mut opts = plain_opts();
    if let Ok(core) = CORE_BTF.get_or_init(build_file) {
        // libbpf copies the string at open; CORE_BTF lives as long as the process anyway.
        opts.btf_custom_path = core.path.as_ptr();
    }
    opts
}

/// Loads (without attaching) every object that has CO-RE relocations twice, against the
/// kernel's BTF and against the cut-down one, and compares every program instruction by
/// instruction (map fds aside). Returns how many instructions were compared. Needs root.
#[doc(hidden)]
pub fn compare_relocations() -> Result<usize, String> {
    if let Err(why) = CORE_BTF.get_or_init(build_file) {
        return Err(format!("the cut-down BTF could not be built: {why}"));
    }
    type Load = fn(libbpf_sys::bpf_object_open_opts) -> Result<Vec<crate::progs::Loaded>, crate::SensorError>;
    let objects: [(&str, Load); 3] = [
        ("exec", crate::exec::bpf::loaded_insns),
        ("files", crate::files::bpf::loaded_insns),
        ("unix", crate::unix::bpf::loaded_insns),
    ];
    let mut compared = 0;
    for (object, load) in objects {
        let kernel = load(plain_opts()).map_err(|e| format!("{object}, against the kernel's BTF: {e}"))?;
        let cut = load(open_opts()).map_err(|e| format!("{object}, against the cut-down BTF: {e}"))?;
        let names = |progs: &[crate::progs::Loaded]| progs.iter().map(|p| p.0.clone()).collect::<Vec<_>>();
        if names(&kernel) != names(&cut) || kernel.is_empty() {
            return Err(format!("{object}: programs {:?} against {:?}", names(&kernel), names(&cut)));
        }
        for ((prog, want), (_, got)) in kernel.iter().zip(&cut) {
            if want.len() != got.len() {
                return Err(format!("{object}/{prog}: {} instructions against {}", want.len(), got.len()));
            }
            if let Some(i) = (0..want.len()).find(|&i| want[i] != got[i]) {
                return Err(format!(
                    "{object}/{prog}: instruction {i} is {:02x?} against the kernel's BTF, {:02x?} against the cut-down one",
                    want[i], got[i]
                ));
            }
            compared += want.len();
        }
    }
    Ok(compared)
}

/// The cut-down BTF as bytes, for the equivalence test and the benchmark.
pub fn cut_kernel_btf() -> Result<Vec<u8>, String> {
    let kernel = Mapping::of(KERNEL_BTF).map_err(|e| format!("reading {KERNEL_BTF}: {e}"))?;
    cut(kernel.bytes(), &LOCAL)
}

/// A file's bytes in pages of their own, unmapped on drop: the kernel's BTF is ~5 MiB, read
/// once, and should not stay in the allocator's pages for the rest of the run (the run's peak
/// memory is a target of its own). The file itself is mapped where the kernel allows it (6.16
/// and later for the kernel's BTF); elsewhere it is read into an anonymous mapping.
struct Mapping {
    ptr: *mut libc::c_void,
    len: usize,
}

impl Mapping {
    fn of(path: &str) -> std::io::Result<Mapping> {
        let mut file = std::fs::File::open(path)?;
        let len = usize::try_from(file.metadata()?.len()).map_err(std::io::Error::other)?;
        if len == 0 {
            return Err(std::io::Error::other("empty"));
        }
        // SAFETY: a fresh read-only mapping of the open file at an address of the kernel's
        // choosing; checked.
        let ptr = unsafe {
            libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_PRIVATE, file.as_raw_fd(), 0)
        };
        if ptr != libc::MAP_FAILED {
            return Ok(Mapping { ptr, len });
        }
        Mapping::read(&mut file, len)
    }

    /// `len` bytes of `file` read into an anonymous mapping: where the file cannot be mapped.
    fn read(file: &mut std::fs::File, len: usize) -> std::io::Result<Mapping> {
        use std::io::Read as _;
        // SAFETY: a fresh anonymous mapping at an address of the kernel's choosing; checked.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        let anon = Mapping { ptr, len };
        // SAFETY: the anonymous mapping is `len` writable bytes owned by `anon` alone.
        let buf = unsafe { std::slice::from_raw_parts_mut(anon.ptr.cast::<u8>(), len) };
        file.read_exact(buf)?;
        Ok(anon)
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` maps `len` readable bytes for as long as `self` lives.
        unsafe { std::slice::from_raw_parts(self.ptr.cast::<u8>(), self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping this value owns; nothing borrows it any more.
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}

fn build_file() -> Result<CoreBtf, String> {
    let bytes = cut_kernel_btf()?;
    // SAFETY: memfd_create with a NUL-terminated name and valid flags; the result is checked.
    let fd = unsafe {
        libc::memfd_create(c"ringfence-core-btf".as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING)
    };
    if fd < 0 {
        return Err(format!("memfd_create: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: `fd` was just returned by memfd_create and is owned by nothing else.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut file = std::fs::File::from(owned);
    file.write_all(&bytes).map_err(|e| format!("writing the memfd: {e}"))?;
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: fcntl on an fd this function owns.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, seals) } != 0 {
        return Err(format!("sealing the memfd: {}", std::io::Error::last_os_error()));
    }
    let path = format!("/proc/self/fd/{}", file.as_raw_fd());
    // libbpf opens it by path: make sure that works here (no /proc, no cut-down BTF).
    std::fs::metadata(&path).map_err(|e| format!("{path}: {e}"))?;
    let path = CString::new(path).map_err(|e| e.to_string())?;
    Ok(CoreBtf { _file: file.into(), path })
}

/// The name CO-RE matches on: `name` without a `___flavour` suffix (libbpf's rule: the last
/// `X___Y` where neither X nor Y is an underscore).
fn essential(name: &[u8]) -> &[u8] {
    let n = name.len();
    for i in (0..n.saturating_sub(4)).rev() {
        if name[i] != b'_' && &name[i + 1..i + 4] == b"___" && name[i + 4] != b'_' {
            return &name[..=i];
        }
    }
    name
}

/// The kernel's BTF `kernel`, cut down to the types named in the `locals` BTFs (see the module
/// documentation), as raw BTF.
pub(crate) fn cut(kernel: &[u8], locals: &[&[u8]]) -> Result<Vec<u8>, String> {
    let kernel = Btf::parse(kernel).map_err(|e| format!("{KERNEL_BTF}: {e}"))?;
    let mut wanted = Wanted::default();
    for local in locals {
        let local = Btf::parse(local).map_err(|e| format!("an object's own BTF: {e}"))?;
        for id in 1..local.count() {
            let t = local.get(id)?;
            if matches!(t.kind(), STRUCT | UNION | ENUM | ENUM64 | TYPEDEF | FWD) && t.name_off != 0 {
                wanted.insert(essential(local.name(t.name_off)?));
            }
        }
    }
    let mut out = Writer::new();
    for id in 1..kernel.count() {
        let (kind, name_off) = kernel.kind_and_name(id);
        if matches!(kind, STRUCT | UNION | ENUM | ENUM64 | TYPEDEF)
            && name_off != 0
            && wanted.contains(essential(kernel.name(name_off)?))
        {
            out.copy(&kernel, id, 0)?;
        }
    }
    Ok(out.finish())
}

/// The names looked for, checked against ~70,000 kernel type names: by length first, so most
/// are turned away without hashing or comparing.
#[derive(Default)]
struct Wanted {
    names: HashSet<Vec<u8>>,
    /// Bit `n` set: some name is `n` bytes long (`n` < 128; longer ones are always looked up).
    lengths: u128,
}

impl Wanted {
    fn insert(&mut self, name: &[u8]) {
        if name.len() < 128 {
            self.lengths |= 1 << name.len();
        }
        self.names.insert(name.to_vec());
    }

    fn contains(&self, name: &[u8]) -> bool {
        (name.len() >= 128 || self.lengths & (1 << name.len()) != 0) && self.names.contains(name)
    }
}

/// One type record: its fixed part and the kind-specific bytes after it.
struct Type<'a> {
    name_off: u32,
    info: u32,
    /// `size` or `type`, by kind.
    size_type: u32,
    extra: &'a [u8],
}

impl Type<'_> {
    fn kind(&self) -> u32 {
        (self.info >> 24) & 0x1f
    }
    fn vlen(&self) -> usize {
        (self.info & 0xffff) as usize
    }
    /// The kind-specific bytes as 32-bit words.
    fn word(&self, i: usize) -> u32 {
        u32::from_ne_bytes(self.extra[i * 4..i * 4 + 4].try_into().expect("four bytes"))
    }
}

/// Bytes after the fixed 12 of a type record of `kind` with `vlen` entries.
fn extra_len(kind: u32, vlen: usize) -> Result<usize, String> {
    Ok(match kind {
        PTR | FWD | TYPEDEF | VOLATILE | CONST | RESTRICT | FUNC | FLOAT | TYPE_TAG => 0,
        INT | VAR | DECL_TAG => 4,
        ARRAY => 12,
        STRUCT | UNION | DATASEC | ENUM64 => 12 * vlen,
        ENUM | FUNC_PROTO => 8 * vlen,
        other => return Err(format!("unknown BTF kind {other}")),
    })
}

/// A parsed BTF blob: where each type record starts, and the string section.
struct Btf<'a> {
    types: &'a [u8],
    strings: &'a [u8],
    /// Start of type `id` in `types`, for ids from 1 (index 0 stands for void).
    starts: Vec<u32>,
}

impl<'a> Btf<'a> {
    fn parse(data: &'a [u8]) -> Result<Btf<'a>, String> {
        let u32_at = |at: usize| -> Result<usize, String> {
            data.get(at..at + 4)
                .map(|b| u32::from_ne_bytes(b.try_into().expect("four bytes")) as usize)
                .ok_or_else(|| "truncated header".to_string())
        };
        let magic = data.get(..2).map(|b| u16::from_ne_bytes(b.try_into().expect("two bytes")));
        if magic != Some(BTF_MAGIC) || data.get(2) != Some(&1) {
            return Err("not BTF version 1 in this machine's byte order".into());
        }
        let hdr_len = u32_at(4)?;
        let section = |off: usize, len: usize| {
            hdr_len
                .checked_add(off)
                .and_then(|start| data.get(start..start.checked_add(len)?))
                .ok_or_else(|| "a section lies outside the data".to_string())
        };
        let types = section(u32_at(8)?, u32_at(12)?)?;
        let strings = section(u32_at(16)?, u32_at(20)?)?;
        let mut starts = vec![0];
        let mut at = 0;
        while at < types.len() {
            let fixed = types.get(at..at + 12).ok_or("a type record is cut short")?;
            let info = u32::from_ne_bytes(fixed[4..8].try_into().expect("four bytes"));
            let len = 12 + extra_len((info >> 24) & 0x1f, (info & 0xffff) as usize)?;
            if at + len > types.len() {
                return Err("a type record is cut short".into());
            }
            starts.push(u32::try_from(at).map_err(|_| "over 4 GiB of types")?);
            at += len;
        }
        Ok(Btf { types, strings, starts })
    }

    /// Number of type ids, void included.
    fn count(&self) -> u32 {
        self.starts.len() as u32
    }

    fn get(&self, id: u32) -> Result<Type<'a>, String> {
        let at = *self.starts.get(id as usize).filter(|_| id != 0).ok_or_else(|| format!("no type {id}"))?
            as usize;
        let word =
            |i: usize| u32::from_ne_bytes(self.types[at + i * 4..at + i * 4 + 4].try_into().expect("4"));
        let info = word(1);
        let len = extra_len((info >> 24) & 0x1f, (info & 0xffff) as usize)?;
        Ok(Type { name_off: word(0), info, size_type: word(2), extra: &self.types[at + 12..at + 12 + len] })
    }

    /// Type `id`'s kind and name offset, read straight from its record (`id` from 1 to
    /// `count() - 1`): the scan over every kernel type needs no more.
    fn kind_and_name(&self, id: u32) -> (u32, u32) {
        let at = self.starts[id as usize] as usize;
        let word =
            |i: usize| u32::from_ne_bytes(self.types[at + i * 4..at + i * 4 + 4].try_into().expect("4"));
        ((word(1) >> 24) & 0x1f, word(0))
    }

    fn name(&self, off: u32) -> Result<&'a [u8], String> {
        let rest = self.strings.get(off as usize..).ok_or_else(|| format!("no string at {off}"))?;
        let end = rest.iter().position(|&b| b == 0).ok_or("an unterminated string")?;
        Ok(&rest[..end])
    }
}

/// A BTF blob being built: copied types under new ids, and their strings.
struct Writer {
    types: Vec<u8>,
    strings: Vec<u8>,
    string_offsets: HashMap<Vec<u8>, u32>,
    /// Kernel type id to id here.
    ids: HashMap<u32, u32>,
    next_id: u32,
    void_ptr: Option<u32>,
}

/// Deeper nesting of embedded types than any kernel has; a loop in hostile BTF ends here.
const MAX_DEPTH: usize = 64;

impl Writer {
    fn new() -> Writer {
        Writer {
            types: Vec::new(),
            strings: vec![0],
            string_offsets: HashMap::new(),
            ids: HashMap::new(),
            next_id: 1,
            void_ptr: None,
        }
    }

    fn string(&mut self, s: &[u8]) -> u32 {
        if s.is_empty() {
            return 0;
        }
        if let Some(&off) = self.string_offsets.get(s) {
            return off;
        }
        let off = self.strings.len() as u32;
        self.strings.extend_from_slice(s);
        self.strings.push(0);
        self.string_offsets.insert(s.to_vec(), off);
        off
    }

    fn push(&mut self, name_off: u32, info: u32, size_type: u32, extra: &[u32]) -> u32 {
        for word in [name_off, info, size_type].iter().chain(extra) {
            self.types.extend_from_slice(&word.to_ne_bytes());
        }
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// The id here of kernel type `id`, copying it (and what it embeds) first if needed.
    fn copy(&mut self, kernel: &Btf<'_>, id: u32, depth: usize) -> Result<u32, String> {
        if id == 0 {
            return Ok(0);
        }
        if let Some(&done) = self.ids.get(&id) {
            return Ok(done);
        }
        if depth > MAX_DEPTH {
            return Err(format!("type {id} nests deeper than {MAX_DEPTH}"));
        }
        let t = kernel.get(id)?;
        let name = self.string(kernel.name(t.name_off)?);
        let new = match t.kind() {
            INT => self.push(name, t.info, t.size_type, &[t.word(0)]),
            FLOAT | FWD => self.push(name, t.info, t.size_type, &[]),
            PTR => match self.void_ptr {
                Some(p) => p,
                None => {
                    let p = self.push(0, PTR << 24, 0, &[]);
                    self.void_ptr = Some(p);
                    p
                }
            },
            VOLATILE | CONST | RESTRICT | TYPE_TAG => self.copy(kernel, t.size_type, depth + 1)?,
            TYPEDEF => {
                let inner = self.copy(kernel, t.size_type, depth + 1)?;
                self.push(name, t.info, inner, &[])
            }
            ARRAY => {
                let elem = self.copy(kernel, t.word(0), depth + 1)?;
                let index = self.copy(kernel, t.word(1), depth + 1)?;
                self.push(name, t.info, 0, &[elem, index, t.word(2)])
            }
            STRUCT | UNION => {
                let mut members = Vec::with_capacity(t.vlen() * 3);
                for m in 0..t.vlen() {
                    let member_name = self.string(kernel.name(t.word(m * 3))?);
                    let member_type = self.copy(kernel, t.word(m * 3 + 1), depth + 1)?;
                    members.extend([member_name, member_type, t.word(m * 3 + 2)]);
                }
                self.push(name, t.info, t.size_type, &members)
            }
            ENUM | ENUM64 => {
                let per = if t.kind() == ENUM { 2 } else { 3 };
                let mut values = Vec::with_capacity(t.vlen() * per);
                for v in 0..t.vlen() {
                    values.push(self.string(kernel.name(t.word(v * per))?));
                    values.extend((1..per).map(|w| t.word(v * per + w)));
                }
                self.push(name, t.info, t.size_type, &values)
            }
            FUNC_PROTO => {
                let ret = self.copy(kernel, t.size_type, depth + 1)?;
                let mut params = Vec::with_capacity(t.vlen() * 2);
                for p in 0..t.vlen() {
                    params.push(self.string(kernel.name(t.word(p * 2))?));
                    params.push(self.copy(kernel, t.word(p * 2 + 1), depth + 1)?);
                }
                self.push(name, t.info, ret, &params)
            }
            other => return Err(format!("type {id} (kind {other}) cannot be part of a type")),
        };
        self.ids.insert(id, new);
        Ok(new)
    }

    fn finish(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.types.len() + self.strings.len());
        out.extend_from_slice(&BTF_MAGIC.to_ne_bytes());
        out.extend_from_slice(&[1, 0]);
        for word in [HEADER_LEN, 0, self.types.len(), self.types.len(), self.strings.len()] {
            out.extend_from_slice(&(word as u32).to_ne_bytes());
        }
        out.extend_from_slice(&self.types);
        out.extend_from_slice(&self.strings);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn essential_names_drop_the_flavour_suffix_as_libbpf_does() {
        assert_eq!(essential(b"pt_regs___nr"), b"pt_regs");
        assert_eq!(essential(b"bpf_sock_addr_kern___rf"), b"bpf_sock_addr_kern");
        assert_eq!(essential(b"task_struct"), b"task_struct");
        // Four underscores: the one after "___" is an underscore, so no flavour.
        assert_eq!(essential(b"a____b"), b"a____b");
        assert_eq!(essential(b"a___b___c"), b"a___b");
        assert_eq!(essential(b"___x"), b"___x");
        assert_eq!(essential(b"x___"), b"x___");
        assert_eq!(essential(b""), b"");
    }

    #[test]
    fn the_kernel_btf_read_is_the_same_as_mapped() {
        // Kernels before 6.16 cannot map /sys/kernel/btf/vmlinux: the read path must give the
        // same bytes (and a plain file shows both paths work the same).
        for path in [KERNEL_BTF, "/proc/self/exe"] {
            let Ok(mut file) = std::fs::File::open(path) else { continue };
            let len = file.metadata().unwrap().len() as usize;
            let read = Mapping::read(&mut file, len).unwrap();
            let mapped = Mapping::of(path).unwrap();
            assert_eq!(read.bytes().len(), len);
            assert!(read.bytes() == mapped.bytes(), "{path}: the two paths differ");
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [&b""[..], b"\x9f\xeb\x01\x00", b"\x9f\xeb\x01\x00\x18\x00\x00\x00\xff\xff\xff\xff"] {
            assert!(Btf::parse(bad).is_err());
        }
        // A header whose type section holds a record cut short.
        let mut blob = Vec::new();
        blob.extend_from_slice(&BTF_MAGIC.to_ne_bytes());
        blob.extend_from_slice(&[1, 0]);
        for w in [24u32, 0, 8, 8, 1] {
            blob.extend_from_slice(&w.to_ne_bytes());
        }
        blob.extend_from_slice(&[0; 9]);
        assert!(Btf::parse(&blob).is_err());
    }

    #[test]
    fn a_struct_keeps_its_members_and_its_pointers_become_void() {
        // struct s { int a; struct s *next; }; plus an unrelated struct t.
        let mut w = Writer::new();
        let int = w.string(b"int");
        let s = w.string(b"s");
        let t = w.string(b"t");
        let (a, next) = (w.string(b"a"), w.string(b"next"));
        w.push(int, INT << 24, 4, &[32]); // 1
        w.push(0, PTR << 24, 3, &[]); // 2: struct s *
        w.push(s, (STRUCT << 24) | 2, 16, &[a, 1, 0, next, 2, 64]); // 3
        w.push(t, STRUCT << 24, 8, &[]); // 4
        let kernel = w.finish();
        let mut local = Writer::new();
        let s = local.string(b"s___flavour");
        local.push(s, STRUCT << 24, 0, &[]);
        let local = local.finish();

        let cut = cut(&kernel, &[&local]).expect("cut");
        let cut = Btf::parse(&cut).expect("parses");
        let names: Vec<_> =
            (1..cut.count()).map(|id| cut.name(cut.get(id).unwrap().name_off).unwrap()).collect();
        assert!(names.contains(&&b"s"[..]) && !names.contains(&&b"t"[..]), "{names:?}");
        let s = (1..cut.count()).map(|id| cut.get(id).unwrap()).find(|t| t.kind() == STRUCT).unwrap();
        assert_eq!((s.vlen(), s.size_type), (2, 16));
        assert_eq!(cut.name(s.word(3)).unwrap(), b"next");
        assert_eq!(s.word(5), 64, "bit offset kept");
        let next = cut.get(s.word(4)).unwrap();
        assert_eq!((next.kind(), next.size_type), (PTR, 0), "pointer to void");
    }

    #[test]
    fn a_type_that_contains_itself_is_refused() {
        // A typedef naming itself: impossible in C, possible in hostile bytes.
        let mut w = Writer::new();
        let n = w.string(b"task_struct");
        w.push(n, TYPEDEF << 24, 1, &[]);
        let kernel = w.finish();
        let mut local = Writer::new();
        let n = local.string(b"task_struct");
        local.push(n, STRUCT << 24, 0, &[]);
        assert!(cut(&kernel, &[&local.finish()]).is_err());
    }
}
