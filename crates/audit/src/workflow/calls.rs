//! Local reusable workflows and composite actions: a caller's `uses: ./…` resolved to the file
//! of the same repository, so that what the caller passes down (`with:` values, its events, its
//! gates, its job's environment for a composite action) is followed into the agent the callee
//! starts.
//!
//! Resolution is by path among the files of the run; files that were not audited themselves are
//! read from disk beside the caller first ([`load_callees`]). Chains are bounded
//! ([`MAX_CALL_DEPTH`]) and a file already on the chain is not entered again.

use std::path::{Component, Path, PathBuf};

use super::dataflow::{Flow, Scope};
use super::gates::Gate;
use crate::error::AuditError;
use crate::source::{FileKind, SourceFile};
use crate::yaml::Node;

/// Callers nested deeper than this are not followed (GitHub itself stops reusable workflows at
/// ten levels; real agent setups use one or two).
pub const MAX_CALL_DEPTH: usize = 4;

/// A callee larger than this is not read: no workflow is that big, a hostile one might be.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// One call of a local reusable workflow (a job's `uses:`) or composite action (a step's).
pub struct Call<'w, 'a> {
    /// The caller, at the calling job (reusable workflow) or step (composite action).
    pub scope: Scope<'w, 'a>,
    /// The caller's `with:` map: the callee's `inputs.*`.
    pub with: Option<&'a Node>,
    /// A composite action runs inside the caller's job: its environment and files are shared.
    pub composite: bool,
    /// Conditions of the caller (and its own callers) that decide whether the callee runs.
    pub gate: Gate,
    /// "`.github/workflows/a.yml` job `x`", for messages.
    pub label: String,
    /// Paths of the files on the chain, outermost first (for cycles and the depth bound).
    pub chain: Vec<String>,
}

impl Call<'_, '_> {
    /// Flows into input `name` of the callee: the caller's `with:` value (inputs are
    /// case-insensitive); an input the caller does not set keeps the callee's default.
    pub fn input(&self, name: &str, depth: usize) -> Vec<Flow> {
        let Some(with) = self.with else { return Vec::new() };
        let Some((_, value)) =
            with.entries().find(|(k, _)| k.as_str().is_some_and(|k| k.eq_ignore_ascii_case(name)))
        else {
            return Vec::new();
        };
        self.scope.templates_at(value.as_str().unwrap_or(""), depth).into_iter().map(|(_, f)| f).collect()
    }
}

/// The repository-relative paths a local `uses:` may name: `./.github/workflows/x.yml` is the
/// file; `./.github/actions/y` is `y/action.yml` or `y/action.yaml`. `None` for a remote
/// `uses:`; an error for a path that leaves the repository.
pub fn local_targets(uses: &str) -> Option<Result<Vec<String>, String>> {
    let rel = uses.trim().strip_prefix("./")?;
    let rel = rel.split('@').next().unwrap_or(rel).trim_end_matches('/');
    let leaves = Path::new(rel).components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir));
    if leaves || rel.is_empty() {
        return Some(Err("the path leaves the repository; not followed".into()));
    }
    if rel.ends_with(".yml") || rel.ends_with(".yaml") {
        return Some(Ok(vec![rel.to_string()]));
    }
    Some(Ok(vec![format!("{rel}/action.yml"), format!("{rel}/action.yaml")]))
}

/// The prefix of a shown path up to its repository root: everything before its `.github/`
/// part (`repo/.github/workflows/a.yml` → `repo/`). `None` when the file is not inside a
/// repository's `.github/` (a lone workflow file: nothing to resolve against).
pub fn root_of(path: &str) -> Option<&str> {
    let at = path.rmatch_indices(".github/").map(|(i, _)| i).find(|&i| i == 0 || path[..i].ends_with('/'))?;
    Some(&path[..at])
}

/// The shown path of a callee named by `caller`'s `uses:`, among `candidates`.
fn shown(caller: &str, rel: &str) -> Option<String> {
    Some(format!("{}{rel}", root_of(caller)?))
}

/// The files of one run, for resolving local `uses:`.
#[derive(Clone, Copy)]
pub struct Repo<'a> {
    pub files: &'a [SourceFile],
}

impl<'a> Repo<'a> {
    /// The workflow or composite action a local `uses:` of `caller` names, if it is loaded.
    pub fn callee(&self, caller: &SourceFile, uses: &str) -> Option<&'a SourceFile> {
        let Some(Ok(rels)) = local_targets(uses) else { return None };
        rels.iter()
            .filter_map(|rel| shown(&caller.path, rel))
            .find_map(|path| self.files.iter().find(|f| f.path == path))
            .filter(|f| matches!(f.kind, FileKind::Workflow | FileKind::Action))
    }
}

/// Every local `uses:` of a workflow (jobs and steps) or composite action (steps).
pub fn local_uses(file: &SourceFile) -> Vec<&str> {
    let root = &file.root;
    let mut steps: Vec<&Node> =
        root.get("runs").and_then(|r| r.get("steps")).map(|s| s.items().iter().collect()).unwrap_or_default();
    let mut out = Vec::new();
    for (_, job) in root.get("jobs").into_iter().flat_map(|j| j.entries()) {
        out.extend(job.get("uses").and_then(Node::as_str));
        steps.extend(job.get("steps").map(|s| s.items()).unwrap_or_default());
    }
    out.extend(steps.iter().filter_map(|s| s.get("uses")).filter_map(Node::as_str));
    out.retain(|u| u.trim_start().starts_with("./"));
    out
}

/// Read from disk the local workflows and actions the files call that are not loaded yet,
/// following their own calls up to [`MAX_CALL_DEPTH`]. Files already loaded are not read
/// again; a callee that cannot be read or parsed is an error naming its caller. A callee that
/// does not exist is not an error (a workflow audited on its own, away from its repository).
pub fn load_callees(files: &mut Vec<SourceFile>, errors: &mut Vec<AuditError>) {
    let mut frontier: Vec<usize> = (0..files.len()).collect();
    for _ in 0..MAX_CALL_DEPTH {
        let mut next = Vec::new();
        for i in frontier {
            let (caller_path, caller_disk) = (files[i].path.clone(), files[i].disk.clone());
            let uses: Vec<String> = local_uses(&files[i]).into_iter().map(str::to_string).collect();
            for u in uses {
                match load_one(files, &caller_path, caller_disk.as_deref(), &u) {
                    Ok(Some(file)) => {
                        next.push(files.len());
                        files.push(file);
                    }
                    Ok(None) => {}
                    Err(message) => {
                        errors.push(AuditError::Call { caller: caller_path.clone(), uses: u, message })
                    }
                }
            }
        }
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
}

fn load_one(
    files: &[SourceFile],
    caller: &str,
    disk: Option<&Path>,
    uses: &str,
) -> Result<Option<SourceFile>, String> {
    let Some(rels) = local_targets(uses) else { return Ok(None) };
    let rels = rels?;
    let (Some(root_shown), Some(disk)) = (root_of(caller), disk) else { return Ok(None) };
    // The caller's disk path ends with its shown path below the root.
    let below = &caller[root_shown.len()..];
    let disk_str = disk.to_string_lossy();
    let Some(root_disk) = disk_str.strip_suffix(below) else { return Ok(None) };
    let root_disk = PathBuf::from(if root_disk.is_empty() { "." } else { root_disk });
    for rel in &rels {
        let path = format!("{root_shown}{rel}");
        if files.iter().any(|f| f.path == path) {
            return Ok(None);
        }
        let on_disk = root_disk.join(rel);
        let Ok(meta) = std::fs::metadata(&on_disk) else { continue };
        // A symbolic link may point anywhere; only files inside the repository are read.
        let inside = match (on_disk.canonicalize(), root_disk.canonicalize()) {
            (Ok(f), Ok(r)) => f.starts_with(r),
            _ => false,
        };
        if !inside || !meta.is_file() {
            return Err(format!("`{rel}` is not a regular file inside the repository; not followed"));
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(format!("`{rel}` is larger than {MAX_FILE_BYTES} bytes; not read"));
        }
        let text = std::fs::read_to_string(&on_disk).map_err(|e| format!("cannot read `{rel}`: {e}"))?;
        let kind = FileKind::of(Path::new(rel)).unwrap_or(FileKind::Workflow);
        let file = SourceFile::parse(path, text, kind).map_err(|e| e.to_string())?;
        return Ok(Some(file.with_disk(on_disk)));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(
            local_targets("./.github/workflows/a.yml"),
            Some(Ok(vec![".github/workflows/a.yml".into()]))
        );
        assert_eq!(
            local_targets("./.github/actions/fix/"),
            Some(Ok(vec![".github/actions/fix/action.yml".into(), ".github/actions/fix/action.yaml".into()]))
        );
        assert!(matches!(local_targets("./../../etc/passwd"), Some(Err(_))));
        assert!(matches!(local_targets("./"), Some(Err(_))));
        assert_eq!(local_targets("owner/repo/.github/workflows/a.yml@v1"), None);
        assert_eq!(root_of(".github/workflows/a.yml"), Some(""));
        assert_eq!(root_of("r/.github/actions/x/action.yml"), Some("r/"));
        assert_eq!(root_of("x.github/a.yml"), None);
        assert_eq!(root_of("workflows/a.yml"), None);
    }
}
