//! The environment CMD starts with: an allowlist, decided by the caller's predicate.

/// Splits `vars` into those passed into the fence and the names of those dropped.
/// Names only ever leave this function for the dropped ones, never values, so a report can
/// list what was withheld without leaking it.
pub fn filter(
    vars: impl IntoIterator<Item = (String, String)>,
    allowed: impl Fn(&str) -> bool,
) -> (Vec<(String, String)>, Vec<String>) {
    let mut passed = Vec::new();
    let mut dropped = Vec::new();
    for (name, value) in vars {
        if allowed(&name) {
            passed.push((name, value));
        } else {
            dropped.push(name);
        }
    }
    passed.sort();
    dropped.sort();
    dropped.dedup();
    (passed, dropped)
}

/// Sets `name` to `value`, replacing any earlier value.
pub fn set(env: &mut Vec<(String, String)>, name: &str, value: &str) {
    env.retain(|(n, _)| n != name);
    env.push((name.to_string(), value.to_string()));
    env.sort();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_allowed_names_and_lists_only_names_of_the_rest() {
        let vars = vec![
            ("PATH".to_string(), "/bin".to_string()),
            ("GITHUB_TOKEN".to_string(), "ghs_secret".to_string()),
        ];
        let (passed, dropped) = filter(vars, |n| n == "PATH");
        assert_eq!(passed, vec![("PATH".to_string(), "/bin".to_string())]);
        assert_eq!(dropped, vec!["GITHUB_TOKEN".to_string()]);
    }

    #[test]
    fn set_replaces() {
        let mut env = vec![("HOME".to_string(), "/root".to_string())];
        set(&mut env, "HOME", "/tmp");
        assert_eq!(env, vec![("HOME".to_string(), "/tmp".to_string())]);
    }
}
