//! The Files section: what changed under the workspace and by whom, and what the fence refused.

use serde::{Deserialize, Serialize};

use super::Actor;

/// Every list is empty when the run recorded no file events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Files {
    /// One entry per changed path: violations (protected paths) first, then in order of first
    /// change; every violation and then the first [`crate::CHANGES_MAX`] others.
    pub changes: Vec<FileChange>,
    /// Changed paths not in `changes` (the journal has them).
    pub changes_omitted: u64,
    /// Opens of credential paths that went through (audit mode); always violations.
    pub sensitive_reads: Vec<SensitiveRead>,
    /// Refused file operations: the fence's (with a rule, violations) first, then plain
    /// permission errors, which are context only.
    pub refusals: Vec<FileRefusal>,
}

impl Files {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.sensitive_reads.is_empty() && self.refusals.is_empty()
    }

    /// Paths changed in all, listed or not.
    pub fn changed_paths(&self) -> u64 {
        self.changes.len() as u64 + self.changes_omitted
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileOp {
    Create,
    Modify,
    Delete,
    Rename,
}

/// Everything that happened to one path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileChange {
    /// Absolute path as seen from the host.
    pub path: String,
    /// `path` relative to the run's working directory, when it lies under it.
    pub relative: Option<String>,
    /// What happened, in order; consecutive identical operations are one entry with a count.
    pub ops: Vec<FileOpRun>,
    /// `file.write` records for this path.
    pub events: u64,
    /// True when the path is protected by policy (a change allowed only by audit mode).
    pub violation: bool,
    pub rule: Option<String>,
    pub first_seq: u64,
    pub first_offset_ms: Option<u64>,
    pub last_offset_ms: Option<u64>,
    /// The processes that changed it, in order of first change (at most 20).
    pub processes: Vec<Actor>,
    /// How many distinct processes changed it.
    pub processes_total: u64,
    /// What the path was once the run's processes were gone (`files.final`): `file`, `dir`,
    /// `symlink`, `other` or `gone`; absent when the journal does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_end: Option<String>,
    /// Its size in bytes then, for a regular file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileOpRun {
    pub op: FileOp,
    pub count: u64,
    /// The new path, for a rename.
    pub to: Option<String>,
}

/// Opens of one credential path under one rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensitiveRead {
    pub path: String,
    pub rule: String,
    pub count: u64,
    pub first_seq: u64,
    pub first_offset_ms: Option<u64>,
    pub processes: Vec<Actor>,
    pub processes_total: u64,
}

/// Refusals of one operation on one path with one error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRefusal {
    /// `open-read`, `open-write`, `unlink`, `rename`, …
    pub op: String,
    pub path: String,
    /// `EACCES`, `EPERM`, `EROFS`.
    pub errno: String,
    /// The fence's protection, when it was the fence that refused.
    pub rule: Option<String>,
    /// True when `rule` is set: the fence refused it, rather than ordinary file permissions.
    pub violation: bool,
    pub count: u64,
    pub first_seq: u64,
    pub first_offset_ms: Option<u64>,
    pub processes: Vec<Actor>,
    pub processes_total: u64,
}
