//! From the file handles fanotify reports to paths: `open_by_handle_at` on a descriptor of the
//! same filesystem, then the path the kernel shows for it in `/proc/self/fd`.

use std::collections::HashMap;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::fanotify::Fid;

/// What a handle names now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    Path(String),
    /// The object no longer exists (deleted since the event).
    Gone,
    /// On a filesystem this sensor has no descriptor for, or unreadable for another reason.
    Unknown,
}

/// Bound on remembered directory paths; past it the cache starts over (only a cost, never wrong).
const CACHE_MAX: usize = 65536;

/// Resolves directory handles, remembering each answer: the directories of a workspace are few
/// and hot, and a remembered path also names a directory after it was deleted.
#[derive(Default)]
pub struct Handles {
    /// An `O_PATH` descriptor on each watched filesystem, by fsid.
    mounts: HashMap<[i32; 2], OwnedFd>,
    cache: HashMap<Fid, String>,
}

impl Handles {
    /// Keeps a descriptor on the filesystem holding `dir`, so its handles can be opened.
    pub fn add_filesystem(&mut self, dir: &Path) -> io::Result<()> {
        // A real descriptor: open_by_handle_at refuses O_PATH ones (EBADF).
        let fd = open(dir, libc::O_RDONLY | libc::O_DIRECTORY)?;
        let fsid = fsid(&fd)?;
        self.mounts.entry(fsid).or_insert(fd);
        Ok(())
    }

    pub fn resolve(&mut self, fid: &Fid) -> Resolved {
        if let Some(path) = self.cache.get(fid) {
            return Resolved::Path(path.clone());
        }
        let Some(mount) = self.mounts.get(&fid.fsid) else { return Resolved::Unknown };
        let resolved = open_handle(mount, fid);
        if let Resolved::Path(path) = &resolved {
            self.remember(fid.clone(), path.clone());
        }
        resolved
    }

    pub fn remember(&mut self, fid: Fid, path: String) {
        if self.cache.len() >= CACHE_MAX {
            self.cache.clear();
        }
        self.cache.insert(fid, path);
    }

    /// A directory moved: every remembered path under it is stale. Moves of directories are rare
    /// next to the events inside them, so starting over is cheaper than finding the descendants.
    pub fn forget_all(&mut self) {
        self.cache.clear();
    }
}

/// The handle of `path` as fanotify reports it, for matching events to watched objects.
pub fn handle_of(path: &Path) -> io::Result<Fid> {
    let fd = open_path(path)?;
    let fsid = fsid(&fd)?;
    let mut buf = HandleBuf::new(libc::MAX_HANDLE_SZ as usize);
    let mut mount_id = 0;
    let empty = c"";
    // SAFETY: `buf` holds a file_handle header whose handle_bytes says how much room follows;
    // `empty` is a valid string; AT_EMPTY_PATH makes the call name `fd` itself.
    let rc = unsafe {
        libc::name_to_handle_at(
            fd.as_raw_fd(),
            empty.as_ptr(),
            buf.as_mut_ptr(),
            &mut mount_id,
            libc::AT_EMPTY_PATH,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    let (handle_type, handle) = buf.contents();
    Ok(Fid { fsid, handle_type, handle: handle.to_vec() })
}

fn open_handle(mount: &OwnedFd, fid: &Fid) -> Resolved {
    let mut buf = HandleBuf::from_fid(fid);
    // SAFETY: `buf` is a complete file_handle; the kernel only reads it.
    let fd = unsafe {
        libc::open_by_handle_at(mount.as_raw_fd(), buf.as_mut_ptr(), libc::O_PATH | libc::O_CLOEXEC)
    };
    if fd < 0 {
        return match io::Error::last_os_error().raw_os_error() {
            Some(libc::ESTALE | libc::ENOENT) => Resolved::Gone,
            _ => Resolved::Unknown,
        };
    }
    // SAFETY: open_by_handle_at returned a new descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    match std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())) {
        // An unlinked directory still open somewhere: its path names nothing any more.
        Ok(path) if path.as_os_str().as_bytes().ends_with(b" (deleted)") => Resolved::Gone,
        Ok(path) => Resolved::Path(path.to_string_lossy().into_owned()),
        Err(_) => Resolved::Unknown,
    }
}

fn open_path(path: &Path) -> io::Result<OwnedFd> {
    open(path, libc::O_PATH)
}

fn open(path: &Path, flags: i32) -> io::Result<OwnedFd> {
    let path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))?;
    // SAFETY: `path` is a valid NUL-terminated string.
    let fd = unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: open returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The filesystem id fanotify reports for files on the filesystem of `fd` (statfs's f_fsid).
fn fsid(fd: &OwnedFd) -> io::Result<[i32; 2]> {
    let mut stat = std::mem::MaybeUninit::<libc::statfs>::zeroed();
    // SAFETY: `stat` is valid for writes of a statfs.
    if unsafe { libc::fstatfs(fd.as_raw_fd(), stat.as_mut_ptr()) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fstatfs filled it.
    let stat = unsafe { stat.assume_init() };
    // SAFETY: fsid_t is two c_ints (its field is private in libc); same size and alignment.
    Ok(unsafe { std::mem::transmute::<libc::fsid_t, [i32; 2]>(stat.f_fsid) })
}

/// A `struct file_handle` (two 32-bit fields, then the handle bytes) in 4-byte-aligned memory.
struct HandleBuf(Vec<u32>);

impl HandleBuf {
    fn new(room: usize) -> HandleBuf {
        let mut words = vec![0u32; 2 + room.div_ceil(4)];
        words[0] = room as u32;
        HandleBuf(words)
    }

    fn from_fid(fid: &Fid) -> HandleBuf {
        let mut buf = HandleBuf::new(fid.handle.len());
        buf.0[1] = fid.handle_type as u32;
        let bytes: &mut [u8] = bytemuck_words(&mut buf.0[2..]);
        bytes[..fid.handle.len()].copy_from_slice(&fid.handle);
        buf
    }

    fn as_mut_ptr(&mut self) -> *mut libc::file_handle {
        self.0.as_mut_ptr().cast()
    }

    fn contents(&mut self) -> (i32, &[u8]) {
        let len = (self.0[0] as usize).min((self.0.len() - 2) * 4);
        let handle_type = self.0[1] as i32;
        (handle_type, &bytemuck_words(&mut self.0[2..])[..len])
    }
}

fn bytemuck_words(words: &mut [u32]) -> &mut [u8] {
    let len = words.len() * 4;
    // SAFETY: u8 has no alignment or validity requirements; the slice covers exactly the words.
    unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr().cast(), len) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_buffer_round_trips() {
        let fid = Fid { fsid: [1, 2], handle_type: 0x81, handle: vec![1, 2, 3, 4, 5] };
        let mut buf = HandleBuf::from_fid(&fid);
        assert_eq!(buf.0[0], 5);
        assert_eq!(buf.contents(), (0x81, &[1u8, 2, 3, 4, 5][..]));
    }
}
