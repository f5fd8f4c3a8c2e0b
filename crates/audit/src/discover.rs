//! Finding the files to audit under the given paths.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::error::AuditError;
use crate::source::{FileKind, SourceFile};

/// Directories that never hold the repository's own CI configuration.
const SKIP_DIRS: &[&str] = &[".git", "node_modules", "target", "vendor", ".venv", "dist"];

/// A file to audit: where it is, how to show its path, and its kind.
pub struct Input {
    pub path: PathBuf,
    pub display: String,
    pub kind: FileKind,
}

/// Every auditable file under `paths`. A file named directly is audited even when its name is
/// unusual (as a workflow, unless its name says otherwise).
pub fn discover(paths: &[PathBuf], config: &Config) -> Vec<Result<Input, AuditError>> {
    let mut out = Vec::new();
    for root in paths {
        if root.is_file() {
            let kind = FileKind::of(root).unwrap_or(FileKind::Workflow);
            out.push(Ok(Input { path: root.clone(), display: root.display().to_string(), kind }));
            continue;
        }
        let mut found = Vec::new();
        if let Err(e) = walk(root, root, &mut found) {
            out.push(Err(e));
        }
        found.sort_by(|a, b| a.display.cmp(&b.display));
        out.extend(found.into_iter().filter(|i| !config.ignores_path(&i.display)).map(Ok));
    }
    out
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<Input>) -> Result<(), AuditError> {
    let read_err = |source| AuditError::Read { path: dir.display().to_string(), source };
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let entry = entry.map_err(read_err)?;
        let path = entry.path();
        let file_type = entry.file_type().map_err(read_err)?;
        let name = entry.file_name();
        if file_type.is_dir() {
            if !SKIP_DIRS.iter().any(|s| name == *s) {
                walk(root, &path, out)?;
            }
        } else if file_type.is_file() {
            let Some(kind) = FileKind::of(&path) else { continue };
            let rel = path.strip_prefix(root).unwrap_or(&path);
            // GitHub reads workflows only from `.github/workflows/` itself.
            let workflow_dir = rel.parent().is_some_and(|p| p.ends_with(".github/workflows"));
            if matches!(kind, FileKind::Workflow | FileKind::CopilotSetup) && !workflow_dir {
                continue;
            }
            let display = rel.to_string_lossy().replace('\\', "/");
            out.push(Input { path, display, kind });
        }
    }
    Ok(())
}

/// Read and parse one input. Composite actions only: other `action.yml` files have no steps.
pub fn load(input: Input) -> Result<SourceFile, AuditError> {
    let text = std::fs::read_to_string(&input.path)
        .map_err(|source| AuditError::Read { path: input.display.clone(), source })?;
    Ok(SourceFile::parse(input.display, text, input.kind)?.with_disk(input.path))
}
