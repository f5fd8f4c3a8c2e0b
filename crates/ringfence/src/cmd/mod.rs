//! One file per verb.

pub mod audit;
pub mod gate;
pub mod hook;
pub mod job;
pub mod report;
pub mod run;
pub mod verify;

use std::path::{Path, PathBuf};

/// ringfence itself failed (bad arguments it could not act on, setup, I/O).
pub const EXIT_RINGFENCE_FAILED: u8 = 125;

/// A run directory's journal, or the path itself when it is a file.
fn journal_path(run: &Path) -> PathBuf {
    if run.is_dir() { run.join("events.jsonl") } else { run.to_path_buf() }
}
