//! Which paths the agent may write, which it may not read, and which stay protected even inside
//! writable areas. Pure functions of (policy, the run's paths); the sandbox enforces them and
//! the runner uses them to name the rule behind a recorded file event.

use std::path::{Path, PathBuf};

use crate::Policy;
use crate::agents::AGENT_CONFIG;
use crate::git::{GIT_DIR_PROTECTED, git_match};

/// Credential material and runner internals, denied unless the policy says otherwise. `~` is
/// every home that matters for the run (the runner's and the agent's).
pub const DEFAULT_DENY_READ: &[&str] = &[
    "~/.ssh",
    "~/.aws",
    "~/.azure",
    "~/.config/gcloud",
    "~/.config/gh",
    "~/.docker/config.json",
    "~/.kube",
    "~/.gnupg",
    "~/.npmrc",
    "~/.pypirc",
    "~/.netrc",
    "~/.git-credentials",
    "~/runners",
    "~/actions-runner",
    "${runner_temp}/_runner_file_commands",
];

/// Paths in the workspace an agent writes to persist or escalate, besides git's (see
/// [`crate::git`]) and the agents' configuration (see [`crate::agents`]): workflows and actions
/// run with the repository's secrets.
pub const PROTECTED_IN_WORKSPACE: &[&str] = &[".github/workflows", ".github/actions"];

/// Shell start-up files: code in them runs in every later shell of the job.
pub const PROTECTED_IN_HOME: &[&str] =
    &[".bashrc", ".bash_profile", ".bash_login", ".profile", ".zshrc", ".zshenv"];

/// The run's places that policy paths are expanded against.
#[derive(Debug, Clone)]
pub struct RunPaths {
    pub workspace: PathBuf,
    /// Homes `~` stands for (the runner's and the agent's), deduplicated by the caller.
    pub homes: Vec<PathBuf>,
    /// `$RUNNER_TEMP`, when the run is on a CI runner.
    pub runner_temp: Option<PathBuf>,
    /// Git directories inside the workspace found at start besides `.git` (submodules',
    /// worktrees', the one a `.git` file points to): each one's [`GIT_DIR_PROTECTED`] is
    /// protected. `.git` itself always is, whether it exists or not.
    pub git_dirs: Vec<PathBuf>,
}

impl RunPaths {
    /// Every git directory whose executable configuration is protected, with the label its
    /// rules quote: `.git` first, then the ones found at start.
    pub fn git_roots(&self) -> Vec<(PathBuf, String)> {
        let top = self.workspace.join(".git");
        let mut roots = vec![(top.clone(), "${workspace}/.git".to_string())];
        for dir in self.git_dirs.iter().filter(|d| **d != top) {
            let label = match dir.strip_prefix(&self.workspace) {
                Ok(rel) => format!("${{workspace}}/{}", rel.display()),
                Err(_) => dir.display().to_string(),
            };
            roots.push((dir.clone(), label));
        }
        roots
    }
}

/// One protected or denied path and the rule to quote when it is touched.
#[derive(Debug, Clone, PartialEq)]
pub struct FileRule {
    pub path: PathBuf,
    pub rule: String,
}

impl Policy {
    /// Trees the agent may write (besides the fence's private tmp dirs): `files.writable`, or the
    /// workspace when it is empty.
    pub fn writable_paths(&self, run: &RunPaths) -> Vec<PathBuf> {
        match self.files.writable.is_empty() {
            true => vec![run.workspace.clone()],
            false => self.files.writable.iter().flat_map(|p| expand(p, run)).collect(),
        }
    }

    /// Paths the agent must not read: the defaults plus `files.deny_read`.
    pub fn deny_read_paths(&self, run: &RunPaths) -> Vec<FileRule> {
        let entries =
            DEFAULT_DENY_READ.iter().map(|s| s.to_string()).chain(self.files.deny_read.iter().cloned());
        let mut rules: Vec<FileRule> = entries
            .flat_map(|entry| {
                expand(&entry, run)
                    .into_iter()
                    .map(move |path| FileRule { path, rule: format!("files.deny_read {entry}") })
            })
            .collect();
        rules.dedup_by(|a, b| a.path == b.path);
        rules
    }

    /// Paths protected even inside writable trees, unless `files.writable` names them (or
    /// something beneath them) explicitly: every git directory's executable configuration, the
    /// agents' configuration, workflows and actions, shell start-up files, and `files.protected`.
    pub fn protected_paths(&self, run: &RunPaths) -> Vec<FileRule> {
        let opted_in: Vec<PathBuf> = self.files.writable.iter().flat_map(|p| expand(p, run)).collect();
        let git = run.git_roots().into_iter().flat_map(|(dir, label)| {
            GIT_DIR_PROTECTED
                .iter()
                .map(move |name| (dir.join(name), format!("files.protected {label}/{name}")))
        });
        let in_workspace = AGENT_CONFIG
            .iter()
            .map(|a| a.path)
            .chain(PROTECTED_IN_WORKSPACE.iter().copied())
            .map(|p| (run.workspace.join(p), format!("files.protected ${{workspace}}/{p}")));
        let in_homes = run.homes.iter().flat_map(|h| {
            PROTECTED_IN_HOME.iter().map(move |p| (h.join(p), format!("files.protected ~/{p}")))
        });
        let extra = self.files.protected.iter().flat_map(|entry| {
            expand(entry, run).into_iter().map(move |path| (path, format!("files.protected {entry}")))
        });
        let mut rules: Vec<FileRule> = git
            .chain(in_workspace)
            .chain(in_homes)
            .chain(extra)
            .filter(|(path, _)| !opted_in.iter().any(|w| w.starts_with(path)))
            .map(|(path, rule)| FileRule { path, rule })
            .collect();
        let mut seen = std::collections::HashSet::new();
        rules.retain(|r| seen.insert(r.path.clone()));
        rules
    }

    /// The rule that covers `path`, if a protected or denied path contains it, or it is git's
    /// executable configuration in a git directory made during the run.
    pub fn file_rule(&self, run: &RunPaths, path: &Path) -> Option<String> {
        self.protected_paths(run)
            .into_iter()
            .chain(self.deny_read_paths(run))
            .find(|r| path.starts_with(&r.path))
            .map(|r| r.rule)
            .or_else(|| self.git_rule(run, path))
    }

    /// The rule of git's executable configuration `path` falls under in any git directory,
    /// including ones made during the run (a new submodule's config; see
    /// [`crate::git::git_rule`]), unless `files.writable` names it as for any protected path.
    pub fn git_rule(&self, run: &RunPaths, path: &Path) -> Option<String> {
        let (matched, rule) =
            run.git_roots().iter().find_map(|(root, label)| git_match(root, label, path))?;
        let opted_in =
            self.files.writable.iter().flat_map(|p| expand(p, run)).any(|w| w.starts_with(&matched));
        (!opted_in).then_some(rule)
    }

    /// Why block mode refuses a write to `path`, if it does: a protected path (or git's
    /// configuration in any git directory), a credential path, or a place outside the writable
    /// trees (`files.writable`, or the workspace, and what the fence itself lets the agent write,
    /// `private`: its private tmp dirs and a few devices).
    /// The same decision the fence enforces with Landlock and read-only mounts, as a function
    /// of the path, for audit mode to flag what block mode would have refused.
    pub fn write_refusal(&self, run: &RunPaths, private: &[PathBuf], path: &Path) -> Option<String> {
        if let Some(rule) = self.file_rule(run, path) {
            return Some(rule);
        }
        let inside = self.writable_paths(run).iter().chain(private).any(|w| path.starts_with(w));
        (!inside).then(|| OUTSIDE_WRITABLE.to_string())
    }
}

/// The rule quoted for a write outside every writable tree.
pub const OUTSIDE_WRITABLE: &str = "files.writable (outside the writable trees)";

/// Expands `~/`, `${home}`, `${workspace}`, `${tmp}` and `${runner_temp}`; an entry whose
/// variable has no value on this run expands to nothing.
fn expand(entry: &str, run: &RunPaths) -> Vec<PathBuf> {
    let rest = |prefix: &str| entry.strip_prefix(prefix).map(|r| r.trim_start_matches('/'));
    if let Some(r) = rest("~").or_else(|| rest("${home}")) {
        return run.homes.iter().map(|h| join(h, r)).collect();
    }
    if let Some(r) = rest("${workspace}") {
        return vec![join(&run.workspace, r)];
    }
    if let Some(r) = rest("${tmp}") {
        return vec![join(Path::new("/tmp"), r)];
    }
    if let Some(r) = rest("${runner_temp}") {
        return run.runner_temp.iter().map(|t| join(t, r)).collect();
    }
    vec![PathBuf::from(entry)]
}

fn join(base: &Path, rest: &str) -> PathBuf {
    if rest.is_empty() { base.to_path_buf() } else { base.join(rest) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> RunPaths {
        RunPaths {
            workspace: "/w".into(),
            homes: vec!["/home/runner".into(), "/tmp".into()],
            runner_temp: Some("/home/runner/work/_temp".into()),
            git_dirs: vec!["/w/.git/modules/sub".into(), "/w/.git/worktrees/wt".into()],
        }
    }

    #[test]
    fn the_workspace_is_writable_by_default_and_replaced_by_an_explicit_list() {
        let mut p = Policy::default();
        assert_eq!(p.writable_paths(&run()), vec![PathBuf::from("/w")]);
        p.files.writable = vec!["${workspace}/src".into(), "~/.cache".into()];
        assert_eq!(
            p.writable_paths(&run()),
            vec![PathBuf::from("/w/src"), PathBuf::from("/home/runner/.cache"), PathBuf::from("/tmp/.cache")]
        );
    }

    #[test]
    fn credentials_are_denied_in_every_home_and_runner_file_commands_too() {
        let denied = Policy::default().deny_read_paths(&run());
        let paths: Vec<_> = denied.iter().map(|r| r.path.clone()).collect();
        assert!(paths.contains(&PathBuf::from("/home/runner/.ssh")));
        assert!(paths.contains(&PathBuf::from("/tmp/.aws")));
        assert!(paths.contains(&PathBuf::from("/home/runner/work/_temp/_runner_file_commands")));
        let no_ci = RunPaths { runner_temp: None, ..run() };
        assert!(
            Policy::default()
                .deny_read_paths(&no_ci)
                .iter()
                .all(|r| !r.path.ends_with("_runner_file_commands"))
        );
    }

    #[test]
    fn protected_paths_hold_unless_named_explicitly() {
        let mut p = Policy::default();
        let rule = p.file_rule(&run(), Path::new("/w/.github/workflows/release.yml"));
        assert_eq!(rule.as_deref(), Some("files.protected ${workspace}/.github/workflows"));
        assert_eq!(p.file_rule(&run(), Path::new("/w/src/main.rs")), None);
        assert_eq!(
            p.file_rule(&run(), Path::new("/home/runner/.bashrc")).as_deref(),
            Some("files.protected ~/.bashrc")
        );
        p.files.writable = vec!["${workspace}".into(), "${workspace}/.github/workflows".into()];
        assert_eq!(p.file_rule(&run(), Path::new("/w/.github/workflows/x.yml")), None, "opted in");
        assert!(
            p.file_rule(&run(), Path::new("/w/.git/hooks/pre-commit")).is_some(),
            "the workspace itself does not opt in"
        );
    }

    #[test]
    fn every_git_directory_found_and_every_agents_configuration_is_protected() {
        let p = Policy::default();
        let rule = |path: &str| p.file_rule(&run(), Path::new(path));
        assert_eq!(
            rule("/w/.git/modules/sub/hooks/post-checkout").as_deref(),
            Some("files.protected ${workspace}/.git/modules/sub/hooks")
        );
        assert_eq!(
            rule("/w/.git/worktrees/wt/config.worktree").as_deref(),
            Some("files.protected ${workspace}/.git/worktrees/wt/config.worktree")
        );
        let listed: Vec<PathBuf> = p.protected_paths(&run()).into_iter().map(|r| r.path).collect();
        assert!(listed.contains(&PathBuf::from("/w/.git/modules/sub/config")), "{listed:?}");
        assert!(listed.contains(&PathBuf::from("/w/.git/commondir")), "{listed:?}");
        // A submodule added during the run was not found at start; its config still has a rule.
        assert_eq!(
            rule("/w/.git/modules/new/config").as_deref(),
            Some("files.protected ${workspace}/.git/modules/new/config")
        );
        for agent in AGENT_CONFIG {
            let path = format!("/w/{}/x", agent.path);
            assert_eq!(
                rule(&path),
                Some(format!("files.protected ${{workspace}}/{}", agent.path)),
                "{}",
                agent.agent
            );
        }
        assert_eq!(rule("/w/.github/dependabot.yml"), None);
        assert_eq!(rule("/w/.vscode/extensions.json"), None);
    }

    #[test]
    fn the_policy_adds_protected_paths_and_opts_git_paths_in_by_name() {
        let mut p = Policy::default();
        p.files.protected = vec!["${workspace}/.windsurf".into(), "~/.config/agent".into()];
        assert_eq!(
            p.file_rule(&run(), Path::new("/w/.windsurf/rules.md")).as_deref(),
            Some("files.protected ${workspace}/.windsurf")
        );
        assert_eq!(
            p.file_rule(&run(), Path::new("/tmp/.config/agent/x")).as_deref(),
            Some("files.protected ~/.config/agent")
        );
        p.files.writable = vec!["${workspace}".into(), "${workspace}/.git/modules/new/config".into()];
        assert_eq!(p.file_rule(&run(), Path::new("/w/.git/modules/new/config")), None);
        assert!(p.file_rule(&run(), Path::new("/w/.git/modules/new/hooks/x")).is_some());
    }

    #[test]
    fn block_mode_refuses_writes_outside_the_writable_trees_and_to_protected_paths() {
        let p = Policy::default();
        let private = [PathBuf::from("/tmp")];
        let refusal = |path: &str| p.write_refusal(&run(), &private, Path::new(path));
        assert_eq!(refusal("/run/lock/x").as_deref(), Some(OUTSIDE_WRITABLE));
        assert_eq!(refusal("/w/src/main.rs"), None);
        assert_eq!(refusal("/tmp/scratch"), None);
        assert_eq!(refusal("/w/GEMINI.md").as_deref(), Some("files.protected ${workspace}/GEMINI.md"));
    }

    #[test]
    fn a_denied_read_names_its_rule() {
        let rule = Policy::default().file_rule(&run(), Path::new("/home/runner/.ssh/id_rsa"));
        assert_eq!(rule.as_deref(), Some("files.deny_read ~/.ssh"));
    }
}
