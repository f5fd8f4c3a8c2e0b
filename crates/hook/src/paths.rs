//! `tools.read` and `tools.write` over paths: the file tools' own paths, and the files a Bash
//! command names. Any program may read a file it is given, so every literal argument is checked
//! against `read`; writes are the redirections that write and the arguments of programs whose
//! job is writing files. An argument computed at run time is not checked (that would refuse most
//! shell work); the fence's file rules hold there.

use std::path::{Component, Path, PathBuf};

use policy::{PathRules, ToolVerdict, Tools};
use shellparse::Analysis;

use crate::bash::Finding;
use crate::glob;

/// Programs that write or remove the files named in their arguments.
const WRITERS: &[&str] = &[
    "cp", "mv", "tee", "rm", "touch", "install", "ln", "truncate", "chmod", "chown", "mkdir", "rmdir",
    "rsync", "dd", "shred", "unlink", "patch",
];

/// The findings `rules` (`tools.<section>`) give for `path`, named `what` in the reason.
pub fn check(
    rules: &PathRules,
    section: &str,
    path: &str,
    what: &str,
    cwd: &str,
    home: Option<&str>,
) -> Vec<Finding> {
    let abs = resolve(path, cwd, home);
    let mut out = Vec::new();
    for (list, verdict, name) in
        [(&rules.deny, ToolVerdict::Deny, "deny"), (&rules.ask, ToolVerdict::Ask, "ask")]
    {
        for pattern in list {
            if glob::matches(&expand(pattern, cwd, home), &abs) {
                out.push(Finding {
                    verdict,
                    reason: format!("{what} `{path}` matches tools.{section}.{name} `{pattern}`"),
                });
            }
        }
    }
    out
}

/// The files a Bash command line names, against `tools.read` and `tools.write`.
pub fn bash_findings(tools: &Tools, a: &Analysis, cwd: &str, home: Option<&str>) -> Vec<Finding> {
    let (read, write) = (&tools.read, &tools.write);
    let read_set = !(read.deny.is_empty() && read.ask.is_empty());
    let write_set = !(write.deny.is_empty() && write.ask.is_empty());
    let mut out = Vec::new();
    if !read_set && !write_set {
        return out;
    }
    for c in &a.commands {
        let writes = WRITERS.contains(&c.program.as_str())
            || c.program == "sed"
                && c.args.iter().any(|x| x.lit().is_some_and(|s| s.starts_with("-i") || s == "--in-place"));
        for arg in c.args.iter().filter_map(|x| x.lit()).filter(|s| !s.starts_with('-') && !s.is_empty()) {
            let what = format!("`{}` is given", c.program);
            if read_set {
                out.extend(check(read, "read", arg, &what, cwd, home));
            }
            if write_set && writes {
                out.extend(check(write, "write", arg, &what, cwd, home));
            }
        }
    }
    for r in &a.redirects {
        if read_set {
            out.extend(check(read, "read", &r.path, "the redirection to", cwd, home));
        }
        if write_set && r.write {
            out.extend(check(write, "write", &r.path, "the redirection to", cwd, home));
        }
    }
    out
}

/// `~/x` under the home directory, a relative path under `cwd`, `..` removed.
fn resolve(path: &str, cwd: &str, home: Option<&str>) -> String {
    let joined = match path.strip_prefix("~/") {
        Some(rest) => Path::new(home.unwrap_or("/root")).join(rest),
        None if path == "~" => PathBuf::from(home.unwrap_or("/root")),
        None => Path::new(cwd).join(path),
    };
    normalize(&joined).to_string_lossy().into_owned()
}

/// `~/x` is under the home directory, a relative pattern under the project directory.
fn expand(pattern: &str, cwd: &str, home: Option<&str>) -> String {
    if let Some(rest) = pattern.strip_prefix("~/") {
        return format!("{}/{rest}", home.unwrap_or("/root").trim_end_matches('/'));
    }
    if pattern.starts_with('/') || pattern.starts_with("**") {
        return pattern.to_string();
    }
    format!("{}/{pattern}", cwd.trim_end_matches('/'))
}

/// `..` and `.` removed without touching the file system, so `/w/../etc/passwd` is `/etc/passwd`.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            _ => {}
        }
    }
    out
}
