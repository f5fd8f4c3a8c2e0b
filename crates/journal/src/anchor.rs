//! Anchors: what makes a journal unforgeable by whoever can write its file. The hash chain shows
//! that lines were not edited, dropped or reordered after the fact, but anyone who can write the
//! file can also write a whole new chain. So ringfence keeps, per run, the chain's head (and its
//! length) in a directory only root can write, outside the workspace and the run directory:
//! `/var/lib/ringfence/anchors/<run-id>.json` (the state directory can be moved with
//! `RINGFENCE_STATE_DIR`). `ringfence verify` compares a journal with its anchor when there is one.
//!
//! The anchor is written twice: when the journal is created (before the agent starts: `closed`
//! false, so a journal whose run never closed still has an anchor saying which directory it
//! belongs to) and at the end with the final head.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Where anchors are kept unless `RINGFENCE_STATE_DIR` says otherwise.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/ringfence";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anchor {
    pub run_id: String,
    /// Where the run directory was created.
    pub run_dir: String,
    /// Where it was found at the end of the run (through the handle ringfence held), when the
    /// agent had moved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_to: Option<String>,
    /// False until the run's journal was closed: then `len` and `head` are final.
    pub closed: bool,
    /// Lines in the journal.
    pub len: u64,
    /// Hash of the journal's last line.
    pub head: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    #[error("the run id {0:?} cannot name an anchor (letters, digits and '-' only)")]
    BadRunId(String),
    #[error(
        "the state directory {path} is not ringfence's: {why}; it must be a directory owned by root and writable by no one else (set RINGFENCE_STATE_DIR to use another)"
    )]
    Unsafe { path: String, why: String },
    #[error("{what} {path}: {source}")]
    Io { what: &'static str, path: String, source: std::io::Error },
    #[error("the anchor {path} is not readable: {why}")]
    Malformed { path: String, why: String },
}

/// The state directory: `$RINGFENCE_STATE_DIR`, else [`DEFAULT_STATE_DIR`].
pub fn state_dir() -> PathBuf {
    std::env::var_os("RINGFENCE_STATE_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR))
}

/// The directory anchors live in.
pub fn anchors_dir() -> PathBuf {
    state_dir().join("anchors")
}

/// Where the anchor of `run_id` is kept.
pub fn path_of(run_id: &str) -> Result<PathBuf, AnchorError> {
    let valid = !run_id.is_empty()
        && run_id.len() <= 128
        && run_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !valid {
        return Err(AnchorError::BadRunId(run_id.to_string()));
    }
    Ok(anchors_dir().join(format!("{run_id}.json")))
}

/// Writes (or replaces) the anchor, creating the state directory (0700) when missing. Refuses a
/// state directory that anyone but root could have written to.
pub fn store(anchor: &Anchor) -> Result<PathBuf, AnchorError> {
    let path = path_of(&anchor.run_id)?;
    let dir = anchors_dir();
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir).map_err(|source| {
        AnchorError::Io {
            what: "cannot create the anchor directory",
            path: dir.display().to_string(),
            source,
        }
    })?;
    check_owned(&state_dir())?;
    check_owned(&dir)?;
    let bytes = serde_json::to_vec(anchor)
        .map_err(|e| AnchorError::Malformed { path: path.display().to_string(), why: e.to_string() })?;
    // Written aside and renamed over the old one: a reader sees the old anchor or the new.
    let temp = dir.join(format!(".{}.{}.tmp", anchor.run_id, std::process::id()));
    let io = |what, source| AnchorError::Io { what, path: path.display().to_string(), source };
    let _ = std::fs::remove_file(&temp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&temp)
        .map_err(|e| io("cannot write the anchor", e))?;
    file.write_all(&bytes).and_then(|()| file.sync_all()).map_err(|e| io("cannot write the anchor", e))?;
    std::fs::rename(&temp, &path).map_err(|e| io("cannot write the anchor", e))?;
    Ok(path)
}

/// The anchor of `run_id`, if one is kept.
pub fn load(run_id: &str) -> Result<Option<Anchor>, AnchorError> {
    let Ok(path) = path_of(run_id) else { return Ok(None) };
    read(&path)
}

/// The anchor of whichever run was written to `run_dir` (compared after resolving links), if any:
/// how a journal that was replaced by one naming another run id is still checked.
pub fn find_by_dir(run_dir: &Path) -> Result<Option<Anchor>, AnchorError> {
    let Ok(wanted) = run_dir.canonicalize() else { return Ok(None) };
    let dir = anchors_dir();
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(AnchorError::Io { what: "cannot list", path: dir.display().to_string(), source });
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let Some(anchor) = read(&path)? else { continue };
        let same =
            |dir: &str| Path::new(dir).canonicalize().is_ok_and(|d| d == wanted) || Path::new(dir) == wanted;
        if same(&anchor.run_dir) || anchor.moved_to.as_deref().is_some_and(same) {
            return Ok(Some(anchor));
        }
    }
    Ok(None)
}

fn read(path: &Path) -> Result<Option<Anchor>, AnchorError> {
    if let Some(dir) = path.parent() {
        if !dir.exists() {
            return Ok(None);
        }
        check_owned(dir)?;
    }
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(AnchorError::Io { what: "cannot read", path: path.display().to_string(), source });
        }
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| AnchorError::Malformed { path: path.display().to_string(), why: e.to_string() })
}

/// An anchor is only worth what its directory's owner is: root's, written by no one else.
fn check_owned(dir: &Path) -> Result<(), AnchorError> {
    let unsafe_dir = |why: String| AnchorError::Unsafe { path: dir.display().to_string(), why };
    let meta = std::fs::symlink_metadata(dir).map_err(|e| unsafe_dir(e.to_string()))?;
    if !meta.is_dir() {
        return Err(unsafe_dir("not a directory (a symbolic link?)".into()));
    }
    if meta.uid() != 0 {
        return Err(unsafe_dir(format!("owned by uid {}", meta.uid())));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(unsafe_dir(format!("mode {:o} lets others write", meta.mode() & 0o7777)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_that_could_leave_the_anchor_directory_are_refused() {
        for bad in ["", "../x", "a/b", "a.json", "x\0"] {
            assert!(matches!(path_of(bad), Err(AnchorError::BadRunId(_))), "{bad:?}");
        }
        assert!(path_of("20250101T000000Z-0a1b2c3d").is_ok());
    }
}
