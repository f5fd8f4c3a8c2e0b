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
    /// Lines in the chain (`records.len()`, unless the writer handed its records on instead).
    pub len: u64,
    /// True when the journal ends with `run.end`; false for a run that was cut short.
    pub complete: bool,
    /// Set when the journal says it could not be written in full, or ends in a half-written line.
    pub cut_short: Option<CutShort>,
}

/// How a journal shows that writing it failed, as opposed to someone editing it.
#[derive(Debug, Clone, PartialEq)]
pub enum CutShort {
    /// `journal.write_error` records: the writer could not write `lost` events (in all).
    WriteError { error: String, lost: u64 },
    /// The file ends in part of a line (no newline, not a sealed record), after lines that all
    /// verify: a write that stopped half-way (a full disk without a reserve, a crash). The partial
    /// line is not part of the chain.
    PartialLine,
}

impl std::fmt::Display for CutShort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CutShort::WriteError { error, lost } => {
                write!(f, "cut short by a write error ({error}); {lost} event(s) were not recorded")
            }
            CutShort::PartialLine => {
                f.write_str("cut short by a write error: the last line was only partly written")
            }
        }
    }
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
    match verify_lines(text) {
        Ok(verified) => Ok(verified),
        // Every line this project writes ends in a newline: a text that does not, whose last
        // line alone is bad, was cut off mid-write. Everything before it must still verify.
        Err(error) if !text.is_empty() && !text.ends_with('\n') => {
            let Some(cut) = text.rfind('\n') else { return Err(error) };
            let mut verified = verify_lines(&text[..=cut]).map_err(|_| error)?;
            verified.cut_short = Some(CutShort::PartialLine);
            verified.complete = false;
            Ok(verified)
        }
        Err(error) => Err(error),
    }
}

fn verify_lines(text: &str) -> Result<Verified, VerifyError> {
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
    let mut cut_short = None;
    for record in &records {
        if let Event::JournalWriteError(e) = &record.event {
            let lost = match &cut_short {
                Some(CutShort::WriteError { lost, .. }) => lost + e.lost,
                _ => e.lost,
            };
            let error = match cut_short.take() {
                Some(CutShort::WriteError { error, .. }) => error,
                _ => e.error.clone(),
            };
            cut_short = Some(CutShort::WriteError { error, lost });
        }
    }
    Ok(Verified { len: records.len() as u64, records, head: prev, complete, cut_short })
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
