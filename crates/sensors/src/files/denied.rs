//! Decoding the refusals the BPF side records (layout in `src/bpf/files.bpf.c`) into
//! [`FileDenied`] events.

use journal::{Event, FileDenied};

use super::paths::{self, CUT_MARK, UNKNOWN_BASE};

const FLAG_BASE_TRUNCATED: u16 = 1;
const FLAG_PATH_UNREADABLE: u16 = 2;
const FLAG_BASE_UNKNOWN: u16 = 4;

/// `struct denied_event` up to its `data` array.
const HEADER: usize = 16;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("refusal record of {0} bytes is malformed")]
    Malformed(usize),
    #[error("refusal record of unknown operation {0}")]
    UnknownOp(u16),
}

/// The operation names the journal uses, by the BPF side's `OP_*` number.
fn op_name(op: u16) -> Option<&'static str> {
    Some(match op {
        1 => "open-read",
        2 => "open-write",
        3 => "unlink",
        4 => "rmdir",
        5 => "rename",
        6 => "link",
        7 => "mkdir",
        8 => "symlink",
        9 => "mknod",
        10 => "truncate",
        _ => return None,
    })
}

/// The symbolic name of the errnos the BPF side reports; others (never sent) as their number.
pub fn errno_name(errno: u16) -> String {
    match i32::from(errno) {
        libc::EACCES => "EACCES".into(),
        libc::EPERM => "EPERM".into(),
        libc::EROFS => "EROFS".into(),
        libc::EBUSY => "EBUSY".into(),
        libc::EISDIR => "EISDIR".into(),
        other => format!("errno {other}"),
    }
}

/// One ring-buffer record as a journal event. `rule` is left for the runner, which knows the
/// policy.
pub fn decode(record: &[u8]) -> Result<Event, RecordError> {
    let malformed = || RecordError::Malformed(record.len());
    let u16_at = |at: usize| record.get(at..at + 2).map(|b| u16::from_ne_bytes([b[0], b[1]]));
    let pid = record.get(0..4).map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]])).ok_or_else(malformed)?;
    let op = u16_at(4).ok_or_else(malformed)?;
    let errno = u16_at(6).ok_or_else(malformed)?;
    let flags = u16_at(8).ok_or_else(malformed)?;
    let base_len = usize::from(u16_at(10).ok_or_else(malformed)?);
    let path_len = usize::from(u16_at(12).ok_or_else(malformed)?);
    let data = record.get(HEADER..).ok_or_else(malformed)?;
    let base = data.get(..base_len).ok_or_else(malformed)?;
    let path = data.get(base_len..base_len + path_len).ok_or_else(malformed)?;
    let op = op_name(op).ok_or(RecordError::UnknownOp(op))?;

    let mut base = String::from_utf8_lossy(base).into_owned();
    if flags & FLAG_BASE_UNKNOWN != 0 {
        base = UNKNOWN_BASE.into();
    } else if flags & FLAG_BASE_TRUNCATED != 0 {
        base.insert_str(0, CUT_MARK);
    }
    let path = if flags & FLAG_PATH_UNREADABLE != 0 {
        // The kernel refused the call, so the path was readable then; a racing thread changed
        // the mapping since. The directory is still worth recording.
        paths::child(&base, "?")
    } else {
        paths::absolute(&base, &String::from_utf8_lossy(path))
    };
    Ok(Event::FileDenied(FileDenied {
        pid: Some(pid),
        op: op.into(),
        path,
        errno: errno_name(errno),
        rule: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(pid: u32, op: u16, errno: u16, flags: u16, base: &[u8], path: &[u8]) -> Vec<u8> {
        let mut r = pid.to_ne_bytes().to_vec();
        for field in [op, errno, flags, base.len() as u16, path.len() as u16, 0] {
            r.extend(field.to_ne_bytes());
        }
        assert_eq!(r.len(), HEADER);
        r.extend([base, path].concat());
        r
    }

    fn denied(event: Event) -> FileDenied {
        let Event::FileDenied(denied) = event else { panic!("not a refusal: {event:?}") };
        denied
    }

    #[test]
    fn names_errnos() {
        assert_eq!(errno_name(13), "EACCES");
        assert_eq!(errno_name(1), "EPERM");
        assert_eq!(errno_name(30), "EROFS");
        assert_eq!(errno_name(2), "errno 2");
    }

    #[test]
    fn absolute_path_ignores_the_base() {
        let event = decode(&record(7, 1, 13, 0, b"", b"/home/u/.ssh/id_rsa")).unwrap();
        assert_eq!(
            denied(event),
            FileDenied {
                pid: Some(7),
                op: "open-read".into(),
                path: "/home/u/.ssh/id_rsa".into(),
                errno: "EACCES".into(),
                rule: None,
            }
        );
    }

    #[test]
    fn relative_path_joins_the_base() {
        let event = decode(&record(7, 3, 30, 0, b"/ws/sub", b"../.git/hooks/pre-commit")).unwrap();
        let event = denied(event);
        assert_eq!((event.op.as_str(), event.path.as_str()), ("unlink", "/ws/.git/hooks/pre-commit"));
        assert_eq!(event.errno, "EROFS");
    }

    #[test]
    fn flags_show_cut_unknown_and_unreadable() {
        let cut = denied(decode(&record(1, 7, 1, FLAG_BASE_TRUNCATED, b"/deep", b"d")).unwrap());
        assert_eq!(cut.path, ".../deep/d");
        let unknown = denied(decode(&record(1, 2, 13, FLAG_BASE_UNKNOWN, b"", b"f")).unwrap());
        assert_eq!(unknown.path, "?/f");
        let unreadable = denied(decode(&record(1, 2, 13, FLAG_PATH_UNREADABLE, b"/ws", b"")).unwrap());
        assert_eq!(unreadable.path, "/ws/?");
        // ftruncate: no path argument, the file itself is the base.
        let ftruncate = denied(decode(&record(1, 10, 13, 0, b"/ws/f", b"")).unwrap());
        assert_eq!((ftruncate.op.as_str(), ftruncate.path.as_str()), ("truncate", "/ws/f"));
    }

    #[test]
    fn rejects_malformed_records() {
        assert_eq!(decode(&[0; 10]), Err(RecordError::Malformed(10)));
        let mut short = record(1, 1, 13, 0, b"/a", b"b");
        short.pop();
        assert_eq!(decode(&short), Err(RecordError::Malformed(18)));
        assert_eq!(decode(&record(1, 99, 13, 0, b"", b"/x")), Err(RecordError::UnknownOp(99)));
    }
}
