use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use crate::{Event, GENESIS, JournalError, Record, SCHEMA_VERSION};

/// Appends records to a journal file, one `write(2)` per line, as they happen: a crash loses
/// nothing that was appended before it.
pub struct JournalWriter {
    file: File,
    path: PathBuf,
    seq: u64,
    prev: String,
}

impl JournalWriter {
    /// Creates a new journal; refuses to overwrite an existing file.
    pub fn create(path: &Path) -> Result<Self, JournalError> {
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .mode(0o640)
            .open(path)
            .map_err(|source| JournalError::Create { path: path.display().to_string(), source })?;
        Ok(JournalWriter { file, path: path.to_path_buf(), seq: 0, prev: GENESIS.to_string() })
    }

    /// Appends one event and returns its sequence number.
    pub fn append(&mut self, event: Event) -> Result<u64, JournalError> {
        let record = Record {
            v: SCHEMA_VERSION,
            seq: self.seq,
            ts: humantime::format_rfc3339_micros(SystemTime::now()).to_string(),
            event,
            prev: std::mem::take(&mut self.prev),
        };
        let (line, hash) = seal(&record)?;
        self.file
            .write_all(line.as_bytes())
            .map_err(|source| JournalError::Write { path: self.path.display().to_string(), source })?;
        self.prev = hash;
        self.seq += 1;
        Ok(record.seq)
    }

    /// Flushes the journal to stable storage.
    pub fn sync(&mut self) -> Result<(), JournalError> {
        self.file
            .sync_all()
            .map_err(|source| JournalError::Write { path: self.path.display().to_string(), source })
    }

    /// Hash of the last line written (the chain's head), to quote in reports.
    pub fn head(&self) -> &str {
        &self.prev
    }

    /// Number of records written.
    pub fn len(&self) -> u64 {
        self.seq
    }

    pub fn is_empty(&self) -> bool {
        self.seq == 0
    }
}

/// Serialises a record and appends its hash as the last field: `{…,"prev":"…","hash":"…"}\n`.
/// The hash covers the line exactly as written minus the `,"hash":"…"` part.
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
