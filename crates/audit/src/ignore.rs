//! Inline suppressions: `# ringfence: ignore[rule-a, rule-b]` on a finding's first line, or
//! alone on the line just above it.

use crate::finding::Finding;
use crate::source::SourceFile;

const MARKER: &str = "ringfence: ignore[";

/// Rule ids a line's comment suppresses. Only text after a `#` that starts a comment counts,
/// so a marker inside a quoted string does not silence anything.
fn ignored_rules(line: &str) -> Vec<&str> {
    let Some(comment) = comment_start(line).map(|i| &line[i..]) else { return Vec::new() };
    let Some(start) = comment.find(MARKER) else { return Vec::new() };
    let rest = &comment[start + MARKER.len()..];
    let Some(end) = rest.find(']') else { return Vec::new() };
    rest[..end].split(',').map(str::trim).filter(|s| !s.is_empty()).collect()
}

/// Byte offset of the `#` that starts a YAML or JSON-with-comments comment, if any: a `#` at
/// the start or after whitespace, outside quotes.
fn comment_start(line: &str) -> Option<usize> {
    let mut quote = None;
    let mut prev = b' ';
    for (i, b) in line.bytes().enumerate() {
        match (quote, b) {
            (None, b'\'' | b'"') => quote = Some(b),
            (Some(q), _) if b == q => quote = None,
            (None, b'#') if prev == b' ' || prev == b'\t' => return Some(i),
            _ => {}
        }
        prev = b;
    }
    None
}

pub fn suppressed(file: &SourceFile, finding: &Finding) -> bool {
    let matches = |line: &str| ignored_rules(line).iter().any(|r| *r == finding.rule || *r == "all");
    if matches(file.line(finding.line)) {
        return true;
    }
    let above = file.line(finding.line.wrapping_sub(1));
    above.trim_start().starts_with('#') && matches(above)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_markers() {
        assert_eq!(
            ignored_rules("uses: x@v1 # ringfence: ignore[unpinned-agent, no-job-timeout]"),
            ["unpinned-agent", "no-job-timeout"]
        );
        assert!(ignored_rules("run: echo '# ringfence: ignore[x]'").is_empty());
        assert!(ignored_rules("run: echo#ringfence: ignore[x]").is_empty());
    }
}
