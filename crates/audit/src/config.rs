//! `ringfence-audit.yml`: rules to disable and paths to ignore.
//!
//! ```yaml
//! ignore:                      # paths (globs) never audited
//!   - "tests/fixtures/**"
//! rules:
//!   no-job-timeout:
//!     disable: true            # the rule never runs
//!   untrusted-trigger:
//!     ignore:                  # the rule's findings in these paths are dropped
//!       - .github/workflows/triage.yml
//! ```

use std::collections::{HashMap, HashSet};

use crate::error::AuditError;
use crate::yaml::{self, Node};

/// Names the audit looks for, in order, in the first directory it is given.
pub const FILE_NAMES: &[&str] = &["ringfence-audit.yml", ".github/ringfence-audit.yml"];

#[derive(Debug, Default, Clone)]
pub struct Config {
    disabled: HashSet<String>,
    ignore: Vec<String>,
    rule_ignore: HashMap<String, Vec<String>>,
}

impl Config {
    /// Parse a config file's text; `display` names it in errors.
    pub fn parse(display: &str, text: &str) -> Result<Self, AuditError> {
        let root = yaml::load(text).map_err(|e| AuditError::Config {
            file: display.into(),
            line: e.line,
            col: e.col,
            message: e.message,
        })?;
        let fail = |node: &Node, message: String| AuditError::Config {
            file: display.into(),
            line: node.span.start.line,
            col: node.span.start.col,
            message,
        };
        let mut config = Config::default();
        for (key, value) in root.entries() {
            match key.as_str() {
                Some("ignore") => config.ignore = globs(value, &fail)?,
                Some("rules") => {
                    for (id_node, rule) in value.entries() {
                        let id = id_node.as_str().unwrap_or("");
                        if crate::rules::by_id(id).is_none() {
                            return Err(fail(
                                id_node,
                                format!(
                                    "unknown rule `{id}`; `ringfence audit --list-rules` shows the rule ids"
                                ),
                            ));
                        }
                        for (k, v) in rule.entries() {
                            match k.as_str() {
                                Some("disable") if v.as_bool() == Some(true) => {
                                    config.disabled.insert(id.to_string());
                                }
                                Some("disable") => {}
                                Some("ignore") => {
                                    config.rule_ignore.insert(id.to_string(), globs(v, &fail)?);
                                }
                                _ => {
                                    return Err(fail(
                                        k,
                                        "expected `disable` or `ignore` under a rule".into(),
                                    ));
                                }
                            }
                        }
                    }
                }
                _ => return Err(fail(key, "expected `ignore` or `rules` at the top level".into())),
            }
        }
        Ok(config)
    }

    pub fn rule_enabled(&self, id: &str) -> bool {
        !self.disabled.contains(id)
    }

    pub fn ignores_path(&self, path: &str) -> bool {
        self.ignore.iter().any(|g| glob_match(g, path))
    }

    pub fn ignores_finding(&self, rule: &str, path: &str) -> bool {
        self.rule_ignore.get(rule).is_some_and(|globs| globs.iter().any(|g| glob_match(g, path)))
    }
}

fn globs(node: &Node, fail: &dyn Fn(&Node, String) -> AuditError) -> Result<Vec<String>, AuditError> {
    node.items()
        .iter()
        .map(|n| {
            n.as_str().map(str::to_string).ok_or_else(|| fail(n, "expected a path or glob string".into()))
        })
        .collect()
}

/// `*` matches within one path segment, `**` across segments, `?` one character.
pub fn glob_match(glob: &str, path: &str) -> bool {
    fn go(g: &[u8], p: &[u8]) -> bool {
        match g {
            [] => p.is_empty(),
            [b'*', b'*', rest @ ..] => {
                let rest = rest.strip_prefix(b"/").unwrap_or(rest);
                (0..=p.len()).any(|i| go(rest, &p[i..]))
            }
            [b'*', rest @ ..] => {
                (0..=p.len()).take_while(|&i| i == 0 || p[i - 1] != b'/').any(|i| go(rest, &p[i..]))
            }
            [b'?', rest @ ..] => !p.is_empty() && p[0] != b'/' && go(rest, &p[1..]),
            [c, rest @ ..] => p.first() == Some(c) && go(rest, &p[1..]),
        }
    }
    go(glob.as_bytes(), path.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("tests/**", "tests/a/b.yml"));
        assert!(glob_match(".github/workflows/*.yml", ".github/workflows/a.yml"));
        assert!(!glob_match(".github/workflows/*.yml", ".github/workflows/x/a.yml"));
        assert!(glob_match("**/action.yml", "a/b/action.yml"));
        assert!(glob_match("**/action.yml", "action.yml"));
    }

    #[test]
    fn parses_and_rejects_unknown_rules() {
        let c =
            Config::parse("c.yml", "ignore: [x/**]\nrules:\n  no-job-timeout:\n    disable: true\n").unwrap();
        assert!(!c.rule_enabled("no-job-timeout"));
        assert!(c.ignores_path("x/y.yml"));
        let err = Config::parse("c.yml", "rules:\n  no-such-rule: {disable: true}\n").unwrap_err();
        assert!(err.to_string().starts_with("c.yml:2:3: unknown rule `no-such-rule`"), "{err}");
    }
}
