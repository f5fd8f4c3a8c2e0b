//! The git directories inside the workspace at start, so each one's config and hooks can be
//! protected (block mode holds them read-only; both modes flag writes to them): submodules'
//! under `.git/modules/` (nested), worktrees' under `.git/worktrees/`, the directory a `.git`
//! file points to and the one a `commondir` file points to, when inside the workspace. Ones
//! outside the workspace are outside the writable trees already. Symbolic links are not
//! followed on the way (a link cannot lead the walk out of the workspace).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Directories looked at under one `modules/` at most: submodule trees are small; a huge one
/// must not stall the start (git directories past it are still flagged by the file sensor's
/// pattern, only not held read-only in advance).
const WALK_MAX: usize = 4096;

/// Every git directory found, `.git` included when it is one; canonical paths.
pub fn find(workspace: &Path) -> Vec<PathBuf> {
    let Ok(workspace) = workspace.canonicalize() else { return Vec::new() };
    let mut queue: Vec<PathBuf> = Vec::new();
    let top = workspace.join(".git");
    match top.symlink_metadata() {
        Ok(meta) if meta.is_dir() => queue.push(top),
        Ok(meta) if meta.is_file() => queue.extend(pointed_to(&workspace, &top, "gitdir:", &workspace)),
        _ => {}
    }
    let mut found = BTreeSet::new();
    while let Some(dir) = queue.pop() {
        if !found.insert(dir.clone()) {
            continue;
        }
        queue.extend(pointed_to(&dir, &dir.join("commondir"), "", &workspace));
        queue.extend(subdirectories(&dir.join("worktrees")));
        queue.extend(modules(&dir.join("modules")));
    }
    found.into_iter().collect()
}

/// The directory a one-line pointer file names (after `prefix`), relative to `base`, when it
/// is a directory inside the workspace.
fn pointed_to(base: &Path, file: &Path, prefix: &str, workspace: &Path) -> Option<PathBuf> {
    if !file.symlink_metadata().is_ok_and(|m| m.is_file()) {
        return None;
    }
    let text = std::fs::read_to_string(file).ok()?;
    let target = text.lines().next()?.strip_prefix(prefix)?.trim();
    let target = base.join(target).canonicalize().ok()?;
    (target.is_dir() && target.starts_with(workspace)).then_some(target)
}

fn subdirectories(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect()
}

/// The git directories under a `modules/` directory: a submodule's name may have several
/// components, so every directory down to one holding `HEAD` is looked at.
fn modules(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut todo = subdirectories(dir);
    let mut seen = 0;
    while let Some(dir) = todo.pop() {
        seen += 1;
        if seen > WALK_MAX {
            break;
        }
        if dir.join("HEAD").symlink_metadata().is_ok_and(|m| m.is_file()) {
            found.push(dir);
        } else {
            todo.extend(subdirectories(&dir));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git_dir(dir: &Path) {
        std::fs::create_dir_all(dir.join("hooks")).unwrap();
        std::fs::write(dir.join("HEAD"), "ref: refs/heads/main\n").unwrap();
    }

    #[test]
    fn finds_submodules_nested_and_named_with_slashes_worktrees_and_pointers() {
        let ws = tempfile::tempdir().unwrap();
        let ws = ws.path().canonicalize().unwrap();
        let git = ws.join(".git");
        for sub in ["", "modules/a", "modules/lib/b", "modules/a/modules/c", "worktrees/wt"] {
            git_dir(&git.join(sub));
        }
        std::fs::create_dir_all(ws.join("elsewhere")).unwrap();
        git_dir(&ws.join("elsewhere/common"));
        std::fs::write(git.join("worktrees/wt/commondir"), "../../../elsewhere/common\n").unwrap();
        let mut expected: Vec<PathBuf> =
            ["", "modules/a", "modules/lib/b", "modules/a/modules/c", "worktrees/wt"]
                .iter()
                .map(|s| if s.is_empty() { git.clone() } else { git.join(s) })
                .chain([ws.join("elsewhere/common")])
                .collect();
        expected.sort();
        assert_eq!(find(&ws), expected);
    }

    #[test]
    fn a_git_file_inside_the_workspace_is_followed_one_outside_is_not() {
        let ws = tempfile::tempdir().unwrap();
        let ws = ws.path().canonicalize().unwrap();
        git_dir(&ws.join("repo.git"));
        std::fs::write(ws.join(".git"), "gitdir: repo.git\n").unwrap();
        assert_eq!(find(&ws), [ws.join("repo.git")]);
        let outside = tempfile::tempdir().unwrap();
        git_dir(outside.path());
        std::fs::write(ws.join(".git"), format!("gitdir: {}\n", outside.path().display())).unwrap();
        assert_eq!(find(&ws), Vec::<PathBuf>::new());
    }
}
