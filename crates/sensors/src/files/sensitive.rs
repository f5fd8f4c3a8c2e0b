//! Watching opens of sensitive paths (credentials): fanotify `FAN_OPEN` marks on the inodes
//! themselves, so an open through any name (a symlink, a hard link, a bind mount, a relative
//! path) is seen, and naming the watched path each open matched.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::fanotify::{Fid, Group, RawEvent};
use super::handles::{Handles, handle_of};
use super::paths::is_under;
use crate::SensorError;

/// Directories marked under one sensitive directory at most; credential directories are small,
/// and a huge one (a home directory given by mistake) must not stall the start.
const DIRS_MAX: usize = 4096;

/// Which watched path an open matched.
#[derive(Debug, Default)]
pub struct Rules {
    /// Each marked file or directory, by handle, with the watched path it was marked for.
    by_fid: HashMap<Fid, String>,
    /// (canonical path, watched path as given), for opens whose handles are not marked.
    prefixes: Vec<(String, String)>,
}

impl Rules {
    /// The watched path for an open event at `path`: the opened object's own mark, else its
    /// directory's, else the longest watched prefix, else the path itself.
    pub fn rule_for(&self, raw: &RawEvent, path: &str) -> String {
        let by_handle = [raw.target.as_ref(), raw.dir.as_ref().map(|(fid, _)| fid)]
            .into_iter()
            .flatten()
            .find_map(|fid| self.by_fid.get(fid));
        if let Some(rule) = by_handle {
            return rule.clone();
        }
        self.prefixes
            .iter()
            .filter(|(canonical, _)| is_under(path, canonical))
            .max_by_key(|(canonical, _)| canonical.len())
            .map_or_else(|| path.to_owned(), |(_, rule)| rule.clone())
    }
}

/// Marks every path in `sensitive` that exists; paths that do not exist are skipped (nothing to
/// read there now; one created later is the run's own file).
pub fn mark(group: &Group, handles: &mut Handles, sensitive: &[PathBuf]) -> Result<Rules, SensorError> {
    let mut rules = Rules::default();
    for watched in sensitive {
        let Ok(canonical) = watched.canonicalize() else { continue };
        let rule = watched.display().to_string();
        let failed = |stage| move |source| SensorError::Fanotify { stage, path: watched.clone(), source };
        if canonical.is_dir() {
            handles.add_filesystem(&canonical).map_err(failed("opening the filesystem of"))?;
            for dir in subdirectories(&canonical) {
                let mask = libc::FAN_OPEN | libc::FAN_ONDIR | libc::FAN_EVENT_ON_CHILD;
                group.mark(libc::FAN_MARK_INODE, mask, &dir).map_err(failed("marking for opens"))?;
                if let Ok(fid) = handle_of(&dir) {
                    rules.by_fid.insert(fid, rule.clone());
                }
            }
        } else {
            let parent = canonical.parent().unwrap_or(Path::new("/"));
            handles.add_filesystem(parent).map_err(failed("opening the filesystem of"))?;
            group
                .mark(libc::FAN_MARK_INODE, libc::FAN_OPEN, &canonical)
                .map_err(failed("marking for opens"))?;
            if let Ok(fid) = handle_of(&canonical) {
                rules.by_fid.insert(fid, rule.clone());
            }
        }
        rules.prefixes.push((canonical.to_string_lossy().into_owned(), rule));
    }
    Ok(rules)
}

/// `dir` and the directories below it (not through symlinks), breadth first, at most DIRS_MAX.
fn subdirectories(dir: &Path) -> Vec<PathBuf> {
    let mut found = vec![dir.to_path_buf()];
    let mut next = 0;
    while next < found.len() && found.len() < DIRS_MAX {
        let Ok(entries) = std::fs::read_dir(&found[next]) else {
            next += 1;
            continue;
        };
        next += 1;
        for entry in entries.filter_map(Result::ok) {
            if entry.file_type().is_ok_and(|kind| kind.is_dir()) && found.len() < DIRS_MAX {
                found.push(entry.path());
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::fanotify::tests::fid;

    fn rules() -> Rules {
        let mut rules = Rules::default();
        rules.by_fid.insert(fid(b"ssh"), "~/.ssh".into());
        rules.prefixes.push(("/home/u/.aws".into(), "~/.aws".into()));
        rules.prefixes.push(("/home/u/.aws/sso".into(), "~/.aws/sso".into()));
        rules
    }

    #[test]
    fn the_marked_directory_names_the_rule() {
        let open = RawEvent {
            mask: libc::FAN_OPEN,
            dir: Some((fid(b"ssh"), b"id_rsa".to_vec())),
            target: Some(fid(b"key")),
            ..RawEvent::default()
        };
        assert_eq!(rules().rule_for(&open, "/tmp/link-to-key"), "~/.ssh");
    }

    #[test]
    fn falls_back_to_the_longest_watched_prefix_then_the_path() {
        let open = RawEvent { mask: libc::FAN_OPEN, ..RawEvent::default() };
        assert_eq!(rules().rule_for(&open, "/home/u/.aws/sso/cache/x.json"), "~/.aws/sso");
        assert_eq!(rules().rule_for(&open, "/home/u/.aws/credentials"), "~/.aws");
        assert_eq!(rules().rule_for(&open, "/home/u/.awsx"), "/home/u/.awsx");
    }

    #[test]
    fn walks_subdirectories() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::create_dir_all(dir.path().join("c")).unwrap();
        std::fs::write(dir.path().join("a/file"), "x").unwrap();
        let mut found = subdirectories(dir.path());
        found.sort();
        let expected: Vec<_> = ["", "a", "a/b", "c"].iter().map(|sub| dir.path().join(sub)).collect();
        let mut expected = expected
            .into_iter()
            .map(|p| PathBuf::from(p.to_string_lossy().trim_end_matches('/')))
            .collect::<Vec<_>>();
        expected.sort();
        assert_eq!(found, expected);
    }
}
