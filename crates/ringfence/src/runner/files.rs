//! The file sensor's wiring: what it watches for this run, and the policy rule each file event
//! is measured against (the sensor reports what happened; the policy says whether it was allowed).

use std::io::ErrorKind;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use journal::{Event, FilesFinal, FinalFile, Mode};
use sensors::{FileSensor, FileWatch};

use super::Plan;
use super::recorder::Recorder;

pub fn start(
    plan: &Plan,
    scope: sensors::Scope,
    everywhere: bool,
    recorder: Arc<Recorder>,
) -> anyhow::Result<FileSensor> {
    // In block mode the credential paths are masked, so opens reach the mask, not the file;
    // the refusals are what gets recorded there.
    let sensitive = match plan.mode {
        Mode::Audit => plan.policy.deny_read_paths(&plan.run_paths).into_iter().map(|r| r.path).collect(),
        Mode::Block => Vec::new(),
    };
    // Audit mode lets writes outside the writable trees through: the sensor watches every
    // writable file system the agent sees, so each one block mode would refuse is recorded.
    let watch = FileWatch {
        tree: plan.cwd.clone(),
        sensitive,
        scope,
        everywhere,
        hidden: sandbox::PRIVATE_TMP.iter().map(PathBuf::from).collect(),
    };
    let rules = Rules::new(&plan.policy, &plan.run_paths);
    FileSensor::start(watch, Box::new(move |event| recorder.append(rules.decorate(event))))
        .context("starting the file sensor (fanotify and eBPF)")
}

/// Journals what each changed path the report lists is now (`files.final`), for the diff
/// summary's sizes. Called once the run's processes are gone, so nothing changes under it; at
/// most the report's rows (every protected path and the first few thousand others) are looked
/// at, without following a final symlink.
pub fn record_final_state(recorder: &Recorder) {
    let paths = recorder.listed_paths();
    if paths.is_empty() {
        return;
    }
    let files = paths
        .into_iter()
        .filter_map(|path| {
            let (kind, size) = match std::fs::symlink_metadata(&path) {
                Ok(meta) if meta.is_file() => ("file", Some(meta.len())),
                Ok(meta) if meta.is_dir() => ("dir", None),
                Ok(meta) if meta.file_type().is_symlink() => ("symlink", None),
                Ok(_) => ("other", None),
                Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
                    ("gone", None)
                }
                // Unreadable even as root: nothing true to say.
                Err(_) => return None,
            };
            Some(FinalFile { path, kind: kind.into(), size })
        })
        .collect();
    recorder.append(Event::FilesFinal(FilesFinal { files }));
}

/// Block mode's stand-ins for protected paths that do not exist. A read-only mount needs
/// something to mount on, and Landlock cannot refuse one name inside a writable directory, so a
/// missing `CLAUDE.md`, `.mcp.json`, `.claude/` or `.github/workflows/` would otherwise be free to
/// create. Each is held for the run by an empty directory (made read-only by the fence like any
/// protected path: creating a file there fails with EISDIR, anything inside with EROFS) and
/// removed when the run ends. Empty directories are invisible to git, so a `git add -A` inside
/// the fence does not pick them up. Not done for paths under a missing `.git` (that would make a
/// repository appear) nor outside the writable trees (Landlock already refuses those).
pub struct Placeholders {
    /// Directories made, in the order they were made.
    created: Vec<PathBuf>,
    /// The protected paths they stand for.
    pub held: Vec<PathBuf>,
    /// Protected paths that are a symbolic link to a directory, or lie under a symbolic link,
    /// inside the writable tree: the fence makes the target read-only, but cannot keep the link
    /// from being replaced. (A link to a file is held: the fence mounts its target on it.)
    pub linked: Vec<PathBuf>,
}

impl Placeholders {
    pub fn create(plan: &Plan) -> anyhow::Result<Placeholders> {
        let mut made = Placeholders { created: Vec::new(), held: Vec::new(), linked: Vec::new() };
        if plan.mode != Mode::Block {
            return Ok(made);
        }
        let writable = plan.policy.writable_paths(&plan.run_paths);
        let git_roots = plan.run_paths.git_roots();
        for rule in plan.policy.protected_paths(&plan.run_paths) {
            // A git directory's config, config.worktree or commondir: git refuses to start with a
            // directory there. A missing one is not held; the file sensor flags its creation.
            let git_file = rule.path.file_name().and_then(|n| n.to_str()).is_some_and(policy::is_git_file);
            if git_file && git_roots.iter().any(|(root, _)| rule.path.parent() == Some(root.as_path())) {
                continue;
            }
            let Some(tree) = writable.iter().find(|w| rule.path.starts_with(w) && rule.path != **w) else {
                continue;
            };
            if sandbox::PRIVATE_TMP.iter().any(|t| tree.starts_with(t)) {
                continue; // private to the fence: nothing written there outlives it
            }
            let Ok(rest) = rule.path.strip_prefix(tree) else { continue };
            let mut missing = Vec::new();
            let mut at = tree.clone();
            let mut blocked = false;
            for part in rest.components() {
                at.push(part);
                match at.symlink_metadata() {
                    Ok(meta) if meta.file_type().is_symlink() => {
                        // The protected path itself, a link to a file: the fence mounts the
                        // target on the link. Otherwise (a link to a directory, or a link on
                        // the way) the mount lands on the target and the link can still be
                        // replaced: said in run.start, recorded when it happens.
                        if !(at == rule.path && at.exists() && !at.is_dir()) {
                            made.linked.push(rule.path.clone());
                        }
                        blocked = true;
                        break;
                    }
                    Ok(meta) if meta.is_dir() && missing.is_empty() => {}
                    // A file or link in the way: the path cannot be made through it.
                    Ok(_) => blocked = true,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => missing.push(at.clone()),
                    Err(e) => {
                        return Err(e)
                            .with_context(|| format!("looking at the protected path {}", at.display()));
                    }
                }
            }
            if blocked || missing.is_empty() || missing.iter().any(|m| m.file_name() == Some(".git".as_ref()))
            {
                continue;
            }
            let mut held = true;
            let as_file = policy::held_as_file(&rule.path, &plan.cwd);
            for dir in missing {
                let made_here = match as_file {
                    Some(content) if dir == rule.path => create_placeholder_file(&dir, content),
                    _ => std::fs::create_dir(&dir),
                };
                match made_here {
                    Ok(()) => {
                        made.created.push(dir.clone());
                        // A directory on the way (`.github` for `.github/actions`) stays the
                        // agent's to write in, as if it had made it: owner and mode of its parent.
                        like_parent(&dir).with_context(|| {
                            format!("giving {} the owner and mode of its parent", dir.display())
                        })?;
                    }
                    // A read-only file system: nobody can make the path there, the agent neither.
                    Err(e) if e.raw_os_error() == Some(libc::EROFS) => {
                        held = false;
                        break;
                    }
                    Err(e) => {
                        return Err(e).with_context(|| {
                            format!(
                                "creating {} to hold the protected path {} for the run",
                                dir.display(),
                                rule.path.display()
                            )
                        });
                    }
                }
            }
            if held {
                made.held.push(rule.path);
            }
        }
        Ok(made)
    }

    /// Removes what was made, deepest first; says what could not be removed (something was put
    /// in it from outside the fence during the run) instead of deleting anything else.
    pub fn remove(&mut self) -> Vec<String> {
        let mut problems = Vec::new();
        while let Some(dir) = self.created.pop() {
            let removed = if dir.is_file() && !dir.is_symlink() {
                // A placeholder file, removed only as ringfence wrote it.
                match std::fs::read(&dir) {
                    Ok(now)
                        if policy::AGENT_CONFIG
                            .iter()
                            .any(|a| a.file.map(str::as_bytes) == Some(&now[..])) =>
                    {
                        std::fs::remove_file(&dir)
                    }
                    Ok(_) => Err(std::io::Error::from_raw_os_error(libc::ENOTEMPTY)),
                    Err(e) => Err(e),
                }
            } else {
                std::fs::remove_dir(&dir)
            };
            match removed {
                Ok(()) => {}
                // A directory on the way that the agent put files in (`.github/dependabot.yml`):
                // it is theirs now, as if they had made it.
                Err(e) if e.raw_os_error() == Some(libc::ENOTEMPTY) && !self.held.contains(&dir) => {}
                Err(e) => problems.push(format!(
                    "could not remove the placeholder directory {}: {e}; ringfence made it empty for the run, \
                     remove it by hand",
                    dir.display()
                )),
            }
        }
        problems
    }
}

/// A placeholder file (`policy::held_as_file`), created new, never opened if something is there.
fn create_placeholder_file(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o444)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?
        .write_all(content.as_bytes())
}

/// Gives `dir` the owner, group and permission bits of its parent directory.
fn like_parent(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let parent = dir.parent().map(Path::metadata).transpose()?;
    let Some(parent) = parent else { return Ok(()) };
    std::os::unix::fs::chown(dir, Some(parent.uid()), Some(parent.gid()))?;
    // A placeholder file keeps only the read bits: nobody writes or runs it.
    let mode = if dir.is_dir() { parent.mode() & 0o7777 } else { parent.mode() & 0o444 };
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))
}

impl Drop for Placeholders {
    fn drop(&mut self) {
        for problem in self.remove() {
            eprintln!("ringfence: warning: {problem}");
        }
    }
}

/// The files layer's detail with the placeholders named, when there are any, and in audit mode
/// which file systems the sensor watches for writes block mode would refuse.
pub fn placeholder_layer(
    placeholders: &Placeholders,
    coverage: &sensors::Coverage,
    mode: Mode,
    mut layers: Vec<journal::FenceLayer>,
) -> Vec<journal::FenceLayer> {
    let list =
        |paths: &[PathBuf]| paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
    for layer in layers.iter_mut().filter(|l| l.layer == "files") {
        if mode == Mode::Audit {
            layer.detail.push_str(
                "; writes block mode would refuse (outside the writable trees, protected paths) are recorded as \
                 violations on the workspace's file system",
            );
            if !coverage.watched.is_empty() {
                layer.detail.push_str(&format!(" and on {}", list(&coverage.watched)));
            }
            if !coverage.unwatched.is_empty() {
                let unwatched: Vec<String> =
                    coverage.unwatched.iter().map(|(p, why)| format!("{} ({why})", p.display())).collect();
                layer.detail.push_str(&format!("; NOT watched: {}", unwatched.join(", ")));
            }
        }
        if !placeholders.held.is_empty() {
            layer.detail.push_str(&format!(
                "; held by empty read-only placeholder directories until the run ends (they did not exist): {}",
                list(&placeholders.held)
            ));
        }
        if !placeholders.linked.is_empty() {
            layer.detail.push_str(&format!(
                "; NOT held in place, being or lying under a symbolic link (the target is read-only, the link \
                 can be replaced; that is recorded as a violation): {}",
                list(&placeholders.linked)
            ));
        }
    }
    layers
}

/// The run's file rules, expanded once: the sensor calls `decorate` for every event, and
/// rebuilding the lists per event cost ~35 µs each (measured in bench/files).
struct Rules {
    /// Protected and credential paths with the rule to quote, most specific first, each with
    /// its path's bytes in plain form (see [`plain`]).
    named: Vec<(Vec<u8>, policy::FileRule)>,
    /// Trees the agent may write, the private tmp dirs included.
    writable: Vec<PathBuf>,
    /// For git's configuration in git directories made during the run (a pattern, not a list).
    policy: policy::Policy,
    run: policy::RunPaths,
    /// The git directories whose pattern applies: a path outside all of them skips it.
    git_roots: Vec<PathBuf>,
}

impl Rules {
    fn new(policy: &policy::Policy, run: &policy::RunPaths) -> Rules {
        let mut rules = policy.protected_paths(run);
        rules.extend(policy.deny_read_paths(run));
        let named = rules
            .into_iter()
            .map(|r| (r.path.components().collect::<PathBuf>().into_os_string().into_vec(), r))
            .collect();
        let mut writable = policy.writable_paths(run);
        writable.extend(fence_writable());
        let git_roots = run.git_roots().into_iter().map(|(root, _)| root).collect();
        Rules { named, writable, policy: policy.clone(), run: run.clone(), git_roots }
    }

    fn rule_for(&self, path: &Path) -> Option<String> {
        // Most events match no rule; comparing bytes first keeps the component-wise comparison
        // (a third of the sensor thread's time, measured) for the rules that can match.
        let bytes = path.as_os_str().as_bytes();
        let quick = plain(bytes);
        self.named
            .iter()
            .find(|(prefix, r)| (!quick || bytes.starts_with(prefix)) && path.starts_with(&r.path))
            .map(|(_, r)| r.rule.clone())
            .or_else(|| {
                let in_git = self.git_roots.iter().any(|root| path.starts_with(root));
                in_git.then(|| self.policy.git_rule(&self.run, path)).flatten()
            })
    }

    /// Why block mode would refuse writing `path`: [`policy::Policy::write_refusal`], with the
    /// lists expanded once.
    fn write_refusal(&self, path: &Path) -> Option<String> {
        self.rule_for(path).or_else(|| self.outside(path).then(|| policy::OUTSIDE_WRITABLE.to_string()))
    }

    fn outside(&self, path: &Path) -> bool {
        !self.writable.iter().any(|w| path.starts_with(w))
    }

    /// The rule of a protected path inside `dir`: moving or removing `dir` takes it along.
    fn rule_inside(&self, dir: &Path) -> Option<String> {
        self.named
            .iter()
            .find(|(_, r)| r.path.starts_with(dir) && r.path != dir)
            .map(|(_, r)| format!("{} (moving or removing a directory that holds it)", r.rule))
    }

    fn decorate(&self, event: Event) -> Event {
        match event {
            Event::FileWrite(mut w) => {
                let path = Path::new(&w.path);
                w.rule = self.write_refusal(path);
                // A rename onto a protected path changes it as much as a write does; moving or
                // deleting a directory that holds one (`mv .github x`) takes it along.
                if w.rule.is_none()
                    && let Some(to) = &w.to
                {
                    w.rule = self.write_refusal(Path::new(to));
                }
                if w.rule.is_none() && matches!(w.op, journal::FileOp::Rename | journal::FileOp::Delete) {
                    w.rule = self.rule_inside(path);
                }
                w.violation = w.rule.is_some();
                Event::FileWrite(w)
            }
            Event::FileDenied(mut d) => {
                let path = Path::new(&d.path);
                // EISDIR and EBUSY are how a placeholder or a pinned directory refuses; only a
                // protected path makes them the fence's refusal.
                let fence_errno = !matches!(d.errno.as_str(), "EISDIR" | "EBUSY");
                let moves = matches!(d.op.as_str(), "rename" | "rmdir" | "unlink");
                d.rule = self
                    .rule_for(path)
                    .or_else(|| moves.then(|| self.rule_inside(path)).flatten())
                    .or_else(|| {
                        let writes = d.op != "open-read" && fence_errno;
                        (writes && self.outside(path)).then(|| policy::OUTSIDE_WRITABLE.to_string())
                    });
                Event::FileDenied(d)
            }
            other => other,
        }
    }
}

/// What the fence lets the agent write besides the policy's writable trees: its private tmp
/// dirs and the devices every program writes (`/dev/null`); Landlock allows the same.
fn fence_writable() -> Vec<PathBuf> {
    sandbox::PRIVATE_TMP.iter().chain(sandbox::landlock::DEVICES).map(PathBuf::from).collect()
}

/// Whether a path's bytes are its components joined by single slashes (give or take a trailing
/// one): then a path under a rule's path, both plain, begins with the rule path's bytes. The
/// sensor reports clean absolute paths, so this holds for all but odd ones.
fn plain(path: &[u8]) -> bool {
    path.starts_with(b"/")
        && !path.windows(2).any(|w| w == b"//")
        && !path.windows(3).any(|w| w == b"/./")
        && !path.ends_with(b"/.")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(paths: &[&str]) -> Rules {
        let named = paths
            .iter()
            .map(|p| {
                let rule = policy::FileRule { path: PathBuf::from(p), rule: format!("rule {p}") };
                (rule.path.components().collect::<PathBuf>().into_os_string().into_vec(), rule)
            })
            .collect();
        let run = policy::RunPaths {
            workspace: "/ws".into(),
            homes: Vec::new(),
            runner_temp: None,
            git_dirs: Vec::new(),
        };
        Rules {
            named,
            writable: [PathBuf::from("/ws")].into_iter().chain(fence_writable()).collect(),
            policy: policy::Policy::default(),
            git_roots: vec!["/ws/.git".into()],
            run,
        }
    }

    #[test]
    fn a_write_is_flagged_where_block_mode_would_refuse_it() {
        let r = rules(&["/ws/.github/workflows"]);
        let p = policy::Policy::default();
        let private = fence_writable();
        for path in [
            "/dev/null",
            "/dev/sda",
            "/ws/src/a.rs",
            "/tmp/x",
            "/run/lock/x",
            "/ws/.git/modules/new/config",
            "/ws/.git/modules/new/objects/x",
            "/ws/.github/workflows/ci.yml",
            "/var/tmp2/x",
        ] {
            let path = Path::new(path);
            let expected = p.write_refusal(&r.run, &private, path).is_some();
            assert_eq!(r.write_refusal(path).is_some(), expected, "{}", path.display());
        }
        assert_eq!(r.write_refusal(Path::new("/run/lock/x")).as_deref(), Some(policy::OUTSIDE_WRITABLE));
    }

    #[test]
    fn the_byte_comparison_finds_what_the_component_one_finds() {
        let r = rules(&["/ws/.git/hooks", "/home/u//.ssh/", "/ws/./.github/workflows"]);
        let cases = [
            ("/ws/.git/hooks/pre-commit", Some("rule /ws/.git/hooks")),
            ("/ws/.git/hooks", Some("rule /ws/.git/hooks")),
            ("/ws/.git/hooksy", None),
            ("/ws/.git//hooks/x", Some("rule /ws/.git/hooks")),
            ("/ws/./.git/hooks/x", Some("rule /ws/.git/hooks")),
            ("/home/u/.ssh/id_rsa", Some("rule /home/u//.ssh/")),
            ("/ws/.github/workflows/ci.yml", Some("rule /ws/./.github/workflows")),
            ("/ws/src/main.rs", None),
        ];
        for (path, expected) in cases {
            assert_eq!(r.rule_for(Path::new(path)).as_deref(), expected, "{path}");
        }
    }
}
