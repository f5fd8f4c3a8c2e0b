//! Which paths the agent may write, which it may not read, and which stay protected even inside
//! writable areas. Pure functions of (policy, the run's paths); the sandbox enforces them and
//! the runner uses them to name the rule behind a recorded file event.

use std::path::{Path, PathBuf};

use crate::Policy;

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

/// Paths in the workspace an agent writes to persist or escalate: hooks run on the next git
/// command, workflows and actions run with the repository's secrets, agent instructions and MCP
/// servers steer the next agent run.
pub const PROTECTED_IN_WORKSPACE: &[&str] = &[
    ".git/hooks",
    ".git/config",
    ".github/workflows",
    ".github/actions",
    ".claude",
    "CLAUDE.md",
    "AGENTS.md",
    ".mcp.json",
];

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
    /// something beneath them) explicitly.
    pub fn protected_paths(&self, run: &RunPaths) -> Vec<FileRule> {
        let opted_in: Vec<PathBuf> = self.files.writable.iter().flat_map(|p| expand(p, run)).collect();
        let in_workspace = PROTECTED_IN_WORKSPACE
            .iter()
            .map(|p| (run.workspace.join(p), format!("files.protected ${{workspace}}/{p}")));
        let in_homes = run.homes.iter().flat_map(|h| {
            PROTECTED_IN_HOME.iter().map(move |p| (h.join(p), format!("files.protected ~/{p}")))
        });
        in_workspace
            .chain(in_homes)
            .filter(|(path, _)| !opted_in.iter().any(|w| w.starts_with(path)))
            .map(|(path, rule)| FileRule { path, rule })
            .collect()
    }

    /// The rule that covers `path`, if a protected or denied path contains it.
    pub fn file_rule(&self, run: &RunPaths, path: &Path) -> Option<String> {
        self.protected_paths(run)
            .into_iter()
            .chain(self.deny_read_paths(run))
            .find(|r| path.starts_with(&r.path))
            .map(|r| r.rule)
    }
}

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
    fn a_denied_read_names_its_rule() {
        let rule = Policy::default().file_rule(&run(), Path::new("/home/runner/.ssh/id_rsa"));
        assert_eq!(rule.as_deref(), Some("files.deny_read ~/.ssh"));
    }
}
