//! Turning the pieces the kernel reports (a directory and a name, a base and a relative path)
//! into the absolute paths the journal records.

/// Shown before a directory whose top the kernel side had to cut (deeper than it walks).
pub const CUT_MARK: &str = "...";
/// Stands for the directory of a relative path that could not be found (a closed dirfd).
pub const UNKNOWN_BASE: &str = "?";

/// `dir` and `name` as one path; `.` (the directory itself) and an empty name are `dir`.
pub fn child(dir: &str, name: &str) -> String {
    if name.is_empty() || name == "." {
        return dir.to_owned();
    }
    if dir.ends_with('/') { format!("{dir}{name}") } else { format!("{dir}/{name}") }
}

/// A syscall's path argument made absolute against the directory it was relative to, and
/// cleaned lexically: `.` and empty components dropped, `..` taken back one component (never
/// above `/`).
///
/// Lexical `..` is what the reader of a report expects and what the fence's rules are written
/// against; it differs from the kernel's resolution only when a component before `..` is a
/// symlink, which the record then shows resolved as if it were a directory.
pub fn absolute(base: &str, path: &str) -> String {
    let joined = if path.starts_with('/') || base.is_empty() { path.to_owned() } else { child(base, path) };
    if !joined.starts_with('/') {
        // A base that is itself not absolute (cut or unknown) is kept as the kernel gave it.
        return joined;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Whether `path` is `tree` or inside it (by whole components: `/ws2` is not in `/ws`).
pub fn is_under(path: &str, tree: &str) -> bool {
    let tree = tree.trim_end_matches('/');
    match path.strip_prefix(tree) {
        Some(rest) => rest.is_empty() || rest.starts_with('/') || tree.is_empty(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_directory_and_name() {
        assert_eq!(child("/ws", "f.txt"), "/ws/f.txt");
        assert_eq!(child("/", "etc"), "/etc");
        assert_eq!(child("/ws/d", "."), "/ws/d");
        assert_eq!(child("/ws/d", ""), "/ws/d");
    }

    #[test]
    fn makes_relative_paths_absolute() {
        assert_eq!(absolute("/ws", "src/main.rs"), "/ws/src/main.rs");
        assert_eq!(absolute("/ws", "/etc/passwd"), "/etc/passwd");
        assert_eq!(absolute("/ws/sub", "../.github/workflows/ci.yml"), "/ws/.github/workflows/ci.yml");
        assert_eq!(absolute("/ws", "./a//b/."), "/ws/a/b");
        assert_eq!(absolute("/", "../../x"), "/x");
        assert_eq!(absolute("/ws", ""), "/ws");
    }

    #[test]
    fn keeps_cut_and_unknown_bases_visible() {
        assert_eq!(absolute("?", "f"), "?/f");
        assert_eq!(absolute(".../deep", "f"), ".../deep/f");
    }

    #[test]
    fn under_is_by_whole_components() {
        assert!(is_under("/ws/a", "/ws"));
        assert!(is_under("/ws", "/ws"));
        assert!(is_under("/ws/a", "/ws/"));
        assert!(!is_under("/ws2/a", "/ws"));
        assert!(!is_under("/w", "/ws"));
        assert!(is_under("/anything", "/"));
    }
}
