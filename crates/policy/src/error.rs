//! The one error type of this crate and the helpers that make its messages useful.

use std::fmt;

/// A position in the policy file: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Why a policy could not be loaded.
///
/// The `Display` form is what users see: `FILE:LINE:COLUMN: what was found and what was expected`,
/// then a `help:` line that says what to change.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("{file}: cannot read the policy file: {source}\n  help: check the path given with --policy")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{pos}: {message}\n  help: {help}")]
    Invalid { file: String, pos: Pos, message: String, help: String },
}

impl PolicyError {
    /// Where the problem is, when it is inside the file.
    pub fn pos(&self) -> Option<Pos> {
        match self {
            PolicyError::Read { .. } => None,
            PolicyError::Invalid { pos, .. } => Some(*pos),
        }
    }
}

/// An error before the file name is attached; the loader adds it once at the top.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Located {
    pub pos: Pos,
    pub message: String,
    pub help: String,
}

impl Located {
    pub fn new(pos: Pos, message: impl Into<String>, help: impl Into<String>) -> Self {
        Located { pos, message: message.into(), help: help.into() }
    }

    pub fn into_error(self, file: &str) -> PolicyError {
        PolicyError::Invalid { file: file.to_string(), pos: self.pos, message: self.message, help: self.help }
    }
}

/// The closest candidate to a misspelt word, if one is close enough to be what was meant.
pub(crate) fn did_you_mean<'a>(found: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let found = found.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (edit_distance(&found, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over chars; inputs are short keys, so the quadratic table is fine.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(did_you_mean("alow", &["allow", "deny"]), Some("allow"));
        assert_eq!(did_you_mean("Egres", &["egress", "presets"]), Some("egress"));
        assert_eq!(did_you_mean("banana", &["allow", "deny"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
