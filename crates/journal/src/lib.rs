//! The run journal: one versioned event schema and an append-only JSONL file in which every
//! line carries the SHA-256 of the line before it.
//!
//! Why a hash chain: the journal is the evidence of what an agent did. A chain makes any edit,
//! deletion or reordering of a line detectable by `ringfence verify` without a key, and a missing
//! `run.end` shows a journal that was cut short.
//!
//! Two writers produce the same lines: [`JournalWriter`] writes each event with its own
//! `write(2)` on the caller's thread; [`GroupWriter`] (what `ringfence run` uses) queues events
//! and writes everything queued with one `write(2)` from a thread of its own, as soon as that
//! thread is free — never on a timer. What a killed supervisor can lose with it is the batch in
//! flight: the events queued or being sealed when it died (see [`GroupWriter`]'s module
//! documentation); everything written before is in the file, chained and verifiable.

pub mod anchor;
mod event;
mod group;
mod reader;
mod reserve;
mod writer;

pub use event::*;
pub use group::{EachRecord, GroupWriter, WriteFailed};
pub use reader::{CutShort, Verified, VerifyError, read, verify};
pub use reserve::RESERVE;
pub use writer::{JournalWriter, create_at};

/// Version of the event schema written in every record's `v` field.
pub const SCHEMA_VERSION: u32 = 1;

/// The `prev` value of the first record: 64 zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot create the journal {path}: {source}; check that the --out directory is writable")]
    Create { path: String, source: std::io::Error },
    #[error(
        "cannot keep {} KiB free for the journal {path} to close with: {source}; free space on the file system of the --out directory",
        RESERVE / 1024
    )]
    Reserve { path: String, source: std::io::Error },
    #[error("cannot write to the journal {path}: {source}")]
    Write { path: String, source: std::io::Error },
    #[error("cannot read the journal {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("cannot encode an event: {0}")]
    Encode(#[from] serde_json::Error),
}
