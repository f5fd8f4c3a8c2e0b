use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use crate::{Event, GENESIS, JournalError, Record, SCHEMA_VERSION};

/// Appends records to a journal file, one `write(2)` per line, as they happen: a crash loses
/// nothing that was appended before it. For a busy journal written from several threads, see
/// [`crate::GroupWriter`].
pub struct JournalWriter {
    file: File,
    path: PathBuf,
    chain: Chain,
    line: Vec<u8>,
}

impl JournalWriter {
    /// Creates a new journal; refuses to overwrite an existing file.
    pub fn create(path: &Path) -> Result<Self, JournalError> {
        Ok(JournalWriter {
            file: create(path)?,
            path: path.to_path_buf(),
            chain: Chain::default(),
            line: Vec::new(),
        })
    }

    /// Appends one event and returns its sequence number.
    pub fn append(&mut self, event: Event) -> Result<u64, JournalError> {
        self.line.clear();
        let seq = self.chain.seq;
        let sealed = self.chain.seal(SystemTime::now(), &event, &mut self.line)?;
        self.file.write_all(&self.line).map_err(|source| write_error(&self.path, source))?;
        self.chain.advance(sealed, event);
        Ok(seq)
    }

    /// Flushes the journal to stable storage.
    pub fn sync(&mut self) -> Result<(), JournalError> {
        self.file.sync_all().map_err(|source| write_error(&self.path, source))
    }

    /// Hash of the last line written (the chain's head), to quote in reports.
    pub fn head(&self) -> &str {
        &self.chain.prev
    }

    /// Number of records written.
    pub fn len(&self) -> u64 {
        self.chain.seq
    }

    pub fn is_empty(&self) -> bool {
        self.chain.seq == 0
    }
}

pub(crate) fn create(path: &Path) -> Result<File, JournalError> {
    OpenOptions::new()
        .append(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .mode(0o640)
        .open(path)
        .map_err(|source| JournalError::Create { path: path.display().to_string(), source })
}

/// Creates `name` in the directory `dir` refers to, never following a link and never opening
/// a file that already exists: whoever can rename the directory's path cannot redirect it.
pub fn create_at(dir: BorrowedFd<'_>, name: &str) -> Result<File, JournalError> {
    use nix::fcntl::{OFlag, openat};
    use nix::sys::stat::Mode;
    let flags = OFlag::O_WRONLY
        | OFlag::O_APPEND
        | OFlag::O_CREAT
        | OFlag::O_EXCL
        | OFlag::O_NOFOLLOW
        | OFlag::O_CLOEXEC;
    let fd = openat(Some(dir.as_raw_fd()), name, flags, Mode::from_bits_truncate(0o640))
        .map_err(|e| JournalError::Create { path: name.to_string(), source: e.into() })?;
    // SAFETY: openat returned a new descriptor that nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd) })
}

pub(crate) fn write_error(path: &Path, source: std::io::Error) -> JournalError {
    JournalError::Write { path: path.display().to_string(), source }
}

/// Where the chain stands: the next sequence number and the hash of the last line sealed.
#[derive(Clone)]
pub(crate) struct Chain {
    pub seq: u64,
    pub prev: String,
}

impl Default for Chain {
    fn default() -> Chain {
        Chain { seq: 0, prev: GENESIS.to_string() }
    }
}

/// One line sealed but not yet part of the chain: the chain moves on only once it is written.
pub(crate) struct Sealed {
    pub ts: String,
    pub hash: String,
}

impl Chain {
    /// Appends the sealed line for `event` at `at` to `out`: exactly the bytes
    /// `serde_json::to_string(&Record)` gives (`{"v":…,"seq":…,"ts":…,<event fields>,"prev":…}`)
    /// with `,"hash":"…"` before the closing brace, and a newline. Written by hand so that no
    /// line needs a `Record` (and its copies) to be built first.
    pub fn seal(&self, at: SystemTime, event: &Event, out: &mut Vec<u8>) -> Result<Sealed, JournalError> {
        let ts = humantime::format_rfc3339_micros(at).to_string();
        let start = out.len();
        // Written as JSON so the event's own fields go through serde; its braces are replaced.
        write!(out, "{{\"v\":{SCHEMA_VERSION},\"seq\":{},\"ts\":", self.seq).map_err(encode_io)?;
        serde_json::to_writer(&mut *out, &ts)?;
        out.push(b',');
        let fields = out.len();
        serde_json::to_writer(&mut *out, event)?;
        // An event is an internally tagged map: `{"kind":…,…}`; drop its braces.
        out.remove(fields);
        out.pop();
        out.extend_from_slice(b",\"prev\":\"");
        out.extend_from_slice(self.prev.as_bytes());
        out.extend_from_slice(b"\"}");
        let mut hex = [0u8; 64];
        for (i, byte) in Sha256::digest(&out[start..]).iter().enumerate() {
            hex[2 * i] = HEX_DIGITS[usize::from(byte >> 4)];
            hex[2 * i + 1] = HEX_DIGITS[usize::from(byte & 0xf)];
        }
        out.pop();
        out.extend_from_slice(b",\"hash\":\"");
        out.extend_from_slice(&hex);
        out.extend_from_slice(b"\"}\n");
        // Hex digits are ASCII: nothing is replaced.
        let hash = String::from_utf8_lossy(&hex).into_owned();
        Ok(Sealed { ts, hash })
    }

    /// The sealed line was written: it is the chain's new head. Returns the record it holds.
    pub fn advance(&mut self, sealed: Sealed, event: Event) -> Record {
        let prev = std::mem::replace(&mut self.prev, sealed.hash);
        let record = Record { v: SCHEMA_VERSION, seq: self.seq, ts: sealed.ts, event, prev };
        self.seq += 1;
        record
    }
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

fn encode_io(error: std::io::Error) -> JournalError {
    JournalError::Encode(serde_json::Error::io(error))
}

/// Serialises a record and appends its hash as the last field: `{…,"prev":"…","hash":"…"}\n`.
/// The hash covers the line exactly as written minus the `,"hash":"…"` part.
#[cfg(test)]
pub(crate) fn seal(record: &Record) -> Result<(String, String), JournalError> {
    let body = serde_json::to_string(record)?;
    let hash = hex::encode(Sha256::digest(body.as_bytes()));
    let mut line = body;
    line.truncate(line.len() - 1);
    line.push_str(",\"hash\":\"");
    line.push_str(&hash);
    line.push_str("\"}\n");
    Ok((line, hash))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FileOp, FileWrite, PolicyViolation, ProcessExit, Verdict};

    fn events() -> Vec<Event> {
        vec![
            Event::ProcessExit(ProcessExit { pid: 3, code: Some(0), signal: None }),
            Event::PolicyViolation(PolicyViolation {
                pid: None,
                rule: "seccomp.ptrace".into(),
                what: "ptrace(\"x\")\n\u{2028}é".into(),
                verdict: Verdict::Blocked,
            }),
            Event::FileWrite(FileWrite {
                pid: Some(9),
                op: FileOp::Rename,
                path: "/ws/a".into(),
                to: Some("/ws/b".into()),
                violation: false,
                rule: None,
            }),
        ]
    }

    #[test]
    fn a_hand_sealed_line_is_the_line_serde_would_write() {
        let mut chain = Chain::default();
        for event in events() {
            let at = SystemTime::now();
            let mut line = Vec::new();
            let sealed = chain.seal(at, &event, &mut line).unwrap();
            let record = Record {
                v: SCHEMA_VERSION,
                seq: chain.seq,
                ts: humantime::format_rfc3339_micros(at).to_string(),
                event,
                prev: chain.prev.clone(),
            };
            let (expected, hash) = seal(&record).unwrap();
            assert_eq!(String::from_utf8(line).unwrap(), expected);
            assert_eq!(sealed.hash, hash);
            assert_eq!(chain.advance(sealed, record.event.clone()), record);
        }
    }
}
