//! A fanotify group that reports file handles and names (no open file descriptors), its marks,
//! and decoding what it reads into [`RawEvent`]s.
//!
//! Everything here goes through libc: nix has no file-handle reporting (`FAN_REPORT_*FID*`).

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Identifies a file on one filesystem for as long as it exists: the filesystem id and the
/// kernel's file handle. Stable across renames; a deleted file's handle stops opening.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fid {
    pub fsid: [i32; 2],
    pub handle_type: i32,
    pub handle: Vec<u8>,
}

/// One event as the kernel reported it, before anything is resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawEvent {
    pub mask: u64,
    pub pid: u32,
    /// Directory and name of the object (`DFID_NAME`); name `.` when the object is the directory.
    pub dir: Option<(Fid, Vec<u8>)>,
    /// Old and new directory and name of a `FAN_RENAME`.
    pub old: Option<(Fid, Vec<u8>)>,
    pub new: Option<(Fid, Vec<u8>)>,
    /// The object itself (`FID`): the created, deleted or moved child of a directory event.
    pub target: Option<Fid>,
}

/// Size of `struct fanotify_event_metadata`.
const METADATA_LEN: usize = 24;
/// `struct fanotify_event_info_header` (4) + fsid (8): where the `file_handle` starts.
const FID_HANDLE_AT: usize = 12;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("fanotify event of {0} bytes is malformed")]
    Malformed(usize),
    #[error("fanotify metadata version {0} is not the one ringfence knows (3)")]
    Version(u8),
}

/// Decodes every event in a buffer filled by one `read` of the group.
pub fn decode(buf: &[u8]) -> Vec<Result<RawEvent, DecodeError>> {
    let mut events = Vec::new();
    let mut rest = buf;
    while rest.len() >= METADATA_LEN {
        let len = u32_at(rest, 0).map_or(0, |len| len as usize);
        let Some(event) = rest.get(..len).filter(|_| len >= METADATA_LEN) else {
            events.push(Err(DecodeError::Malformed(rest.len())));
            break;
        };
        events.push(decode_one(event));
        rest = &rest[len..];
    }
    events
}

fn decode_one(event: &[u8]) -> Result<RawEvent, DecodeError> {
    let malformed = || DecodeError::Malformed(event.len());
    let version = event[4];
    if version != libc::FANOTIFY_METADATA_VERSION {
        return Err(DecodeError::Version(version));
    }
    let metadata_len = usize::from(u16_at(event, 6).ok_or_else(malformed)?);
    let mut raw = RawEvent {
        mask: u64_at(event, 8).ok_or_else(malformed)?,
        pid: u32_at(event, 20).ok_or_else(malformed)?,
        ..RawEvent::default()
    };
    let mut infos = event.get(metadata_len..).ok_or_else(malformed)?;
    while !infos.is_empty() {
        let kind = infos[0];
        let len = usize::from(u16_at(infos, 2).ok_or_else(malformed)?);
        let info = infos.get(..len).filter(|_| len >= 4).ok_or_else(malformed)?;
        match kind {
            libc::FAN_EVENT_INFO_TYPE_FID => raw.target = Some(decode_fid(info).ok_or_else(malformed)?.0),
            libc::FAN_EVENT_INFO_TYPE_DFID_NAME | libc::FAN_EVENT_INFO_TYPE_DFID => {
                raw.dir = Some(decode_fid(info).ok_or_else(malformed)?)
            }
            libc::FAN_EVENT_INFO_TYPE_OLD_DFID_NAME => {
                raw.old = Some(decode_fid(info).ok_or_else(malformed)?)
            }
            libc::FAN_EVENT_INFO_TYPE_NEW_DFID_NAME => {
                raw.new = Some(decode_fid(info).ok_or_else(malformed)?)
            }
            // Records this group did not ask for (pidfd, error) carry nothing it uses.
            _ => {}
        }
        infos = &infos[len..];
    }
    Ok(raw)
}

/// A fid record: the handle, and the NUL-terminated name after it (empty when none).
fn decode_fid(info: &[u8]) -> Option<(Fid, Vec<u8>)> {
    let fsid = [i32_at(info, 4)?, i32_at(info, 8)?];
    let handle_len = u32_at(info, FID_HANDLE_AT)? as usize;
    let handle_type = i32_at(info, FID_HANDLE_AT + 4)?;
    let start = FID_HANDLE_AT + 8;
    let handle = info.get(start..start.checked_add(handle_len)?)?.to_vec();
    let tail = &info[start + handle_len..];
    let name = tail.split(|&b| b == 0).next().unwrap_or_default().to_vec();
    Some((Fid { fsid, handle_type, handle }, name))
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn i32_at(b: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_ne_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// A notification-only fanotify group reporting directory handles, names and target handles.
pub struct Group {
    fd: OwnedFd,
}

impl Group {
    /// `FAN_REPORT_DFID_NAME_TARGET` (kernel 5.17+) gives create, delete and rename events the
    /// directory and name of the child and the child's own handle, and enables `FAN_RENAME`
    /// (both ends of a rename in one event). The queue keeps the kernel's bound (16384 events by
    /// default); an overflow is reported as an event, which is counted.
    pub fn new() -> io::Result<Group> {
        let flags = libc::FAN_CLASS_NOTIF
            | libc::FAN_CLOEXEC
            | libc::FAN_NONBLOCK
            | libc::FAN_REPORT_DFID_NAME_TARGET;
        // SAFETY: fanotify_init takes no pointers.
        let fd = unsafe { libc::fanotify_init(flags, (libc::O_RDONLY | libc::O_CLOEXEC) as u32) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fanotify_init returned a new descriptor that nothing else owns.
        Ok(Group { fd: unsafe { OwnedFd::from_raw_fd(fd) } })
    }

    /// Adds a mark (`FAN_MARK_ADD | flags`) for `mask` on `path`.
    pub fn mark(&self, flags: u32, mask: u64, path: &Path) -> io::Result<()> {
        let path = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))?;
        // SAFETY: `path` is a valid NUL-terminated string that outlives the call.
        let rc = unsafe {
            libc::fanotify_mark(
                self.fd.as_raw_fd(),
                libc::FAN_MARK_ADD | flags,
                mask,
                libc::AT_FDCWD,
                path.as_ptr(),
            )
        };
        if rc < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
    }

    /// Reads what is queued into `buf`; `Ok(0)` when nothing is.
    pub fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: `buf` is valid for writes of its length.
        let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        match n {
            n if n >= 0 => Ok(n as usize),
            _ => match io::Error::last_os_error() {
                err if err.kind() == io::ErrorKind::WouldBlock => Ok(0),
                err if err.kind() == io::ErrorKind::Interrupted => Ok(0),
                err => Err(err),
            },
        }
    }

    pub fn raw_fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    pub fn into_fd(self) -> OwnedFd {
        self.fd
    }
}

/// Closes a fanotify group's last descriptor in a child process, so the caller does not wait
/// for the kernel to retire the group's marks: `close` of the last descriptor waits for an SRCU
/// grace period (1-20 ms measured), and a process cannot exit while any of its threads is in
/// that wait. The child holds only this descriptor (at 0) and a pipe (at 1); it closes the
/// group once the caller has closed its own copy (end of the pipe), then exits; a thread reaps
/// it. Falls back to closing here when the child cannot be made.
pub(crate) fn close_in_child(group: OwnedFd) {
    let mut pipe = [0; 2];
    // SAFETY: pipe2 writes two fds into the array; checked.
    if unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return;
    }
    // SAFETY: both fds were just created and are owned by nothing else.
    let (read_end, write_end) = unsafe { (OwnedFd::from_raw_fd(pipe[0]), OwnedFd::from_raw_fd(pipe[1])) };
    // SAFETY: the child calls only async-signal-safe system calls (dup2, close_range, read,
    // close, _exit) before it exits; it touches no lock and no allocator.
    match unsafe { libc::fork() } {
        0 => unsafe {
            if libc::dup2(group.as_raw_fd(), 0) < 0 || libc::dup2(read_end.as_raw_fd(), 1) < 0 {
                libc::_exit(1);
            }
            libc::syscall(libc::SYS_close_range, 2u32, u32::MAX, 0u32);
            let mut byte = 0u8;
            // Returns at end of file: the caller has closed its copy of the group.
            while libc::read(1, (&mut byte as *mut u8).cast(), 1) < 0
                && *libc::__errno_location() == libc::EINTR
            {}
            libc::close(0);
            libc::_exit(0)
        },
        child if child > 0 => {
            drop(group);
            drop(write_end);
            drop(read_end);
            let _ = std::thread::Builder::new().name("fanotify-close".into()).spawn(move || {
                let mut status = 0;
                // SAFETY: waits for the child made above, which nothing else waits for.
                unsafe { libc::waitpid(child, &mut status, 0) };
            });
        }
        _ => drop(group),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A fid info record as the kernel lays it out, padded to 4 bytes.
    pub(crate) fn fid_info(kind: u8, handle: &[u8], name: &[u8]) -> Vec<u8> {
        let mut info = vec![kind, 0, 0, 0];
        info.extend(7i32.to_ne_bytes());
        info.extend(9i32.to_ne_bytes());
        info.extend(u32::try_from(handle.len()).unwrap().to_ne_bytes());
        info.extend(1i32.to_ne_bytes());
        info.extend(handle);
        if !name.is_empty() {
            info.extend(name);
            info.push(0);
        }
        while info.len() % 4 != 0 {
            info.push(0);
        }
        let len = u16::try_from(info.len()).unwrap().to_ne_bytes();
        info[2..4].copy_from_slice(&len);
        info
    }

    pub(crate) fn event(mask: u64, pid: u32, infos: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = infos.concat();
        let mut event = u32::try_from(METADATA_LEN + body.len()).unwrap().to_ne_bytes().to_vec();
        event.extend([libc::FANOTIFY_METADATA_VERSION, 0]);
        event.extend(24u16.to_ne_bytes());
        event.extend(mask.to_ne_bytes());
        event.extend((-1i32).to_ne_bytes());
        event.extend(pid.to_ne_bytes());
        event.extend(body);
        event
    }

    pub(crate) fn fid(handle: &[u8]) -> Fid {
        Fid { fsid: [7, 9], handle_type: 1, handle: handle.to_vec() }
    }

    #[test]
    fn decodes_a_create_with_directory_name_and_target() {
        let buf = event(
            libc::FAN_CREATE,
            42,
            &[
                fid_info(libc::FAN_EVENT_INFO_TYPE_DFID_NAME, b"dirhandle", b"new.txt"),
                fid_info(libc::FAN_EVENT_INFO_TYPE_FID, b"child", b""),
            ],
        );
        let events = decode(&buf);
        assert_eq!(
            events,
            [Ok(RawEvent {
                mask: libc::FAN_CREATE,
                pid: 42,
                dir: Some((fid(b"dirhandle"), b"new.txt".to_vec())),
                target: Some(fid(b"child")),
                ..RawEvent::default()
            })]
        );
    }

    #[test]
    fn decodes_both_ends_of_a_rename_and_several_events() {
        let rename = event(
            libc::FAN_RENAME,
            5,
            &[
                fid_info(libc::FAN_EVENT_INFO_TYPE_OLD_DFID_NAME, b"a", b"x"),
                fid_info(libc::FAN_EVENT_INFO_TYPE_NEW_DFID_NAME, b"b", b"y"),
            ],
        );
        let overflow = event(libc::FAN_Q_OVERFLOW, 0, &[]);
        let events = decode(&[rename, overflow].concat());
        let Ok(first) = &events[0] else { panic!("{events:?}") };
        assert_eq!(first.old, Some((fid(b"a"), b"x".to_vec())));
        assert_eq!(first.new, Some((fid(b"b"), b"y".to_vec())));
        assert_eq!(events[1], Ok(RawEvent { mask: libc::FAN_Q_OVERFLOW, ..RawEvent::default() }));
    }

    #[test]
    fn rejects_truncated_and_lying_lengths() {
        let mut buf =
            event(libc::FAN_CREATE, 1, &[fid_info(libc::FAN_EVENT_INFO_TYPE_DFID_NAME, b"handle", b"name")]);
        // A handle longer than its record.
        buf[24 + FID_HANDLE_AT] = 200;
        assert!(matches!(decode(&buf)[..], [Err(DecodeError::Malformed(_))]));
        // An event length beyond the buffer.
        let mut short = event(libc::FAN_MODIFY, 1, &[]);
        short[0] = 100;
        assert!(matches!(decode(&short)[..], [Err(DecodeError::Malformed(_))]));
        let mut version = event(libc::FAN_MODIFY, 1, &[]);
        version[4] = 9;
        assert_eq!(decode(&version), [Err(DecodeError::Version(9))]);
    }
}
