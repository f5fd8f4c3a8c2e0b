use std::path::Path;

use sha2::{Digest, Sha256};

use crate::{Event, GENESIS, JournalError, Record, SCHEMA_VERSION};

/// `,"hash":"` + 64 hex digits + `"}`.
const HASH_SUFFIX_LEN: usize = 9 + 64 + 2;

/// A journal that passed verification.
#[derive(Debug)]
pub struct Verified {
    pub records: Vec<Record>,
    /// Hash of the last line: the chain's head.
    pub head: String,
    /// True when the journal ends with `run.end`; false for a run that was cut short.
    pub complete: bool,
}

/// Why a journal failed verification; `line` is 1-based.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum VerifyError {
    #[error("line {line}: not a sealed journal record ({why})")]
    Malformed { line: usize, why: String },
    #[error("line {line}: content does not match its hash: the line was edited")]
    Edited { line: usize },
    #[error("line {line}: does not follow line {prev_line}: a line before it was removed, inserted or moved")]
    Broken { line: usize, prev_line: usize },
    #[error("line {line}: sequence number {found}, expected {expected}: lines were removed or reordered")]
    Sequence { line: usize, expected: u64, found: u64 },
    #[error(
        "line {line}: schema version {found} is newer than this ringfence understands ({SCHEMA_VERSION}); upgrade ringfence"
    )]
    Version { line: usize, found: u32 },
    #[error("the journal is empty")]
    Empty,
}

/// Reads and verifies a journal file.
pub fn read(path: &Path) -> Result<Result<Verified, VerifyError>, JournalError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| JournalError::Read { path: path.display().to_string(), source })?;
    Ok(verify(&text))
}

/// Verifies journal text: every line's hash, the chain, and the sequence.
pub fn verify(text: &str) -> Result<Verified, VerifyError> {
    let mut records = Vec::new();
    let mut prev = GENESIS.to_string();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let (body, hash) = split_sealed(line).ok_or_else(|| VerifyError::Malformed {
            line: number,
            why: "no trailing \"hash\" field".into(),
        })?;
        if hex::encode(Sha256::digest(body.as_bytes())) != hash {
            return Err(VerifyError::Edited { line: number });
        }
        let record: Record = serde_json::from_str(&body)
            .map_err(|e| VerifyError::Malformed { line: number, why: e.to_string() })?;
        if record.v > SCHEMA_VERSION {
            return Err(VerifyError::Version { line: number, found: record.v });
        }
        if record.prev != prev {
            return Err(VerifyError::Broken { line: number, prev_line: index });
        }
        if record.seq != index as u64 {
            return Err(VerifyError::Sequence { line: number, expected: index as u64, found: record.seq });
        }
        prev = hash.to_string();
        records.push(record);
    }
    if records.is_empty() {
        return Err(VerifyError::Empty);
    }
    let complete = matches!(records.last().map(|r| &r.event), Some(Event::RunEnd(_)));
    Ok(Verified { records, head: prev, complete })
}

/// Splits a sealed line into the hashed body (with its closing brace restored) and the hash.
fn split_sealed(line: &str) -> Option<(String, &str)> {
    if line.len() < HASH_SUFFIX_LEN + 2 || !line.is_char_boundary(line.len() - HASH_SUFFIX_LEN) {
        return None;
    }
    let (head, suffix) = line.split_at(line.len() - HASH_SUFFIX_LEN);
    let hash = suffix.strip_prefix(",\"hash\":\"")?.strip_suffix("\"}")?;
    if !hash.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
        return None;
    }
    Some((format!("{head}}}"), hash))
}

#[cfg(test)]
mod tests;
