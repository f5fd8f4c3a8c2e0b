//! Path and name patterns: `*` within one path part, `**` across parts, `?` one character. A
//! pattern without wildcards also covers everything under it.

pub fn matches(pattern: &str, text: &str) -> bool {
    // `dir/**` covers `dir` itself: a write to the directory lands in it, a listing reads it.
    if pattern.strip_suffix("/**") == Some(text) {
        return true;
    }
    if !pattern.contains(['*', '?']) {
        return text == pattern
            || text.strip_prefix(pattern).is_some_and(|r| r.starts_with('/'))
            || pattern.ends_with('/') && text.starts_with(pattern);
    }
    wild(pattern.as_bytes(), text.as_bytes(), true)
}

/// Tool names: `*` matches any run of characters.
pub fn name_matches(pattern: &str, name: &str) -> bool {
    wild(pattern.as_bytes(), name.as_bytes(), false)
}

/// Dynamic programming over (pattern position, text position): exact, no backtracking blow-up.
fn wild(p: &[u8], t: &[u8], paths: bool) -> bool {
    // can[j] = pattern[..i] matches text[..j], row by row over i.
    let mut can = vec![false; t.len() + 1];
    can[0] = true;
    let mut i = 0;
    while i < p.len() {
        let mut next = vec![false; t.len() + 1];
        let double = p[i] == b'*' && p.get(i + 1) == Some(&b'*');
        if double {
            // `**/` also matches nothing at all (`a/**/b` covers `a/b`).
            let skip_slash = p.get(i + 2) == Some(&b'/');
            let width = if skip_slash { 3 } else { 2 };
            let mut reach = false;
            for j in 0..=t.len() {
                reach |= can[j];
                // `**/` consumes nothing or whole parts ending in `/`; `**` anything.
                next[j] = if skip_slash { can[j] || (reach && j > 0 && t[j - 1] == b'/') } else { reach };
            }
            can = next;
            i += width;
            continue;
        }
        if p[i] == b'*' {
            let mut reach = false;
            for j in 0..=t.len() {
                if can[j] {
                    reach = true;
                }
                next[j] = reach;
                if j < t.len() && paths && t[j] == b'/' {
                    reach = false;
                }
            }
        } else {
            for j in 1..=t.len() {
                let c = t[j - 1];
                next[j] = can[j - 1] && (p[i] == c || (p[i] == b'?' && !(paths && c == b'/')));
            }
        }
        can = next;
        i += 1;
    }
    can[t.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_patterns() {
        assert!(matches("/etc/**", "/etc/passwd"));
        assert!(matches("/etc/**", "/etc"));
        assert!(!matches("/etc/**", "/etcx"));
        assert!(matches("/etc/**", "/etc/ssh/sshd_config"));
        assert!(matches("/w/.github/workflows/*", "/w/.github/workflows/ci.yml"));
        assert!(!matches("/w/.github/workflows/*", "/w/.github/workflows/a/ci.yml"));
        assert!(matches("/w/**/.env", "/w/a/b/.env"));
        assert!(matches("/w/**/.env", "/w/.env"));
        assert!(matches("/home/u/.ssh", "/home/u/.ssh/id_rsa"));
        assert!(!matches("/home/u/.ssh", "/home/u/.sshx"));
        assert!(name_matches("mcp__github__*", "mcp__github__create_gist"));
        assert!(!name_matches("mcp__github__*", "mcp__gitlab__x"));
    }
}
