//! What in a git directory git executes or takes execution settings from. Protecting only
//! `.git/config` and `.git/hooks` leaves every other git directory open: a submodule's
//! (`.git/modules/<name>/`, nested as deep as submodules go), a worktree's
//! (`.git/worktrees/<name>/`), and one a `.git` file points to. Each one's config can set
//! `core.fsmonitor`, `core.hooksPath`, `core.sshCommand` or a filter driver, and its hooks run,
//! on the next git command on the runner.

use std::path::{Component, Path, PathBuf};

/// In every git directory: the config files git reads (`config.worktree` when
/// `extensions.worktreeConfig` is on), the hooks it runs, and `commondir`, which sends git to
/// another directory's config and hooks.
pub const GIT_DIR_PROTECTED: &[&str] = &["config", "config.worktree", "hooks", "commondir"];

/// Names in [`GIT_DIR_PROTECTED`] that are files: git refuses to start when one of them is a
/// directory, so a missing one cannot be held by a placeholder directory.
pub fn is_git_file(name: &str) -> bool {
    matches!(name, "config" | "config.worktree" | "commondir")
}

/// The rule `path` falls under when it is, or is inside, one of [`GIT_DIR_PROTECTED`] of the git
/// directory `root` (labelled `label` in rules, e.g. `${workspace}/.git`) or of any git
/// directory below it that git uses: `modules/<name>/` (a name may have several components;
/// submodules nest) and `worktrees/<name>/`. These need not exist yet: a submodule added during
/// the run has its config created then. `root` itself is covered too (creating, replacing or
/// moving a `.git` makes git use another repository).
///
/// Generous on purpose: under `modules/` the first component (after the name's first) that is
/// a protected name ends the name, so a branch called `config` inside a submodule's `refs/`
/// matches too; a submodule name cannot hide its config by looking like a git directory's parts.
pub fn git_rule(root: &Path, label: &str, path: &Path) -> Option<String> {
    git_match(root, label, path).map(|(_, rule)| rule)
}

/// [`git_rule`] with the protected path that matched (`path` itself or the one it lies in).
pub fn git_match(root: &Path, label: &str, path: &Path) -> Option<(PathBuf, String)> {
    let rest = path.strip_prefix(root).ok()?;
    let parts: Vec<&str> = rest
        .components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name.to_str().unwrap_or("\u{fffd}")),
            _ => None,
        })
        .collect();
    if parts.is_empty() {
        return Some((root.to_path_buf(), format!("files.protected {label}")));
    }
    let mut at = 0;
    loop {
        let name = *parts.get(at)?;
        if GIT_DIR_PROTECTED.contains(&name) {
            let matched = parts[..=at].join("/");
            return Some((root.join(&matched), format!("files.protected {label}/{matched}")));
        }
        match name {
            "worktrees" => at += 2,
            "modules" => {
                let end = (at + 2..parts.len())
                    .find(|&i| GIT_DIR_PROTECTED.contains(&parts[i]) || parts[i] == "modules");
                at = end?;
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(path: &str) -> Option<String> {
        git_rule(Path::new("/w/.git"), "${workspace}/.git", Path::new(path))
    }

    #[test]
    fn the_top_level_pair_and_its_neighbours() {
        assert_eq!(rule("/w/.git/config").as_deref(), Some("files.protected ${workspace}/.git/config"));
        assert_eq!(
            rule("/w/.git/hooks/pre-commit").as_deref(),
            Some("files.protected ${workspace}/.git/hooks")
        );
        assert!(rule("/w/.git/config.worktree").is_some());
        assert!(rule("/w/.git/commondir").is_some());
        assert_eq!(
            rule("/w/.git").as_deref(),
            Some("files.protected ${workspace}/.git"),
            "the git dir itself"
        );
        for free in
            ["/w/.git/index", "/w/.git/objects/ab/cd", "/w/.git/refs/heads/main", "/w/.git/HEAD", "/w/src"]
        {
            assert_eq!(rule(free), None, "{free}");
        }
    }

    #[test]
    fn submodules_at_any_depth_and_with_slashes_in_their_names() {
        assert_eq!(
            rule("/w/.git/modules/sub/config").as_deref(),
            Some("files.protected ${workspace}/.git/modules/sub/config")
        );
        assert_eq!(
            rule("/w/.git/modules/lib/foo/hooks/post-checkout").as_deref(),
            Some("files.protected ${workspace}/.git/modules/lib/foo/hooks")
        );
        assert_eq!(
            rule("/w/.git/modules/a/modules/b/config").as_deref(),
            Some("files.protected ${workspace}/.git/modules/a/modules/b/config")
        );
        // A submodule named like a protected name is still a name, and its config still counts.
        assert_eq!(
            rule("/w/.git/modules/hooks/config").as_deref(),
            Some("files.protected ${workspace}/.git/modules/hooks/config")
        );
        assert_eq!(rule("/w/.git/modules/sub/objects/pack/x.pack"), None);
        assert_eq!(rule("/w/.git/modules/sub/index"), None);
        assert_eq!(rule("/w/.git/modules"), None, "the directory of modules itself");
    }

    #[test]
    fn worktrees() {
        assert_eq!(
            rule("/w/.git/worktrees/wt/config.worktree").as_deref(),
            Some("files.protected ${workspace}/.git/worktrees/wt/config.worktree")
        );
        assert!(rule("/w/.git/worktrees/wt/commondir").is_some());
        assert_eq!(rule("/w/.git/worktrees/wt/HEAD"), None);
        assert_eq!(
            rule("/w/.git/worktrees/config"),
            None,
            "a worktree named config is a directory, not config"
        );
    }

    #[test]
    fn only_git_files_are_files() {
        assert!(is_git_file("commondir") && is_git_file("config") && !is_git_file("hooks"));
    }
}
