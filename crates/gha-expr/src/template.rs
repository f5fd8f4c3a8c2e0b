//! Finding `${{ … }}` templates inside a larger string (a `run:` script, a `with:` value).

/// One `${{ … }}` occurrence. Offsets are bytes into the scanned text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template<'a> {
    /// Offset of the `$`.
    pub start: usize,
    /// Offset just past the closing `}}`.
    pub end: usize,
    /// The expression text between the delimiters, untrimmed.
    pub inner: &'a str,
    /// Offset of `inner` in the scanned text.
    pub inner_start: usize,
}

/// Every template in `text`. A `}}` inside a quoted string does not close the template, as in
/// GitHub's own evaluator; an unclosed template ends the scan.
pub fn templates(text: &str) -> Vec<Template<'_>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(rel) = text.get(from..).and_then(|rest| rest.find("${{")) {
        let start = from + rel;
        let inner_start = start + 3;
        let mut i = inner_start;
        let mut in_string = false;
        let mut close = None;
        while i < bytes.len() {
            match bytes[i] {
                b'\'' => in_string = !in_string,
                b'}' if !in_string && bytes.get(i + 1) == Some(&b'}') => {
                    close = Some(i);
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        let Some(close) = close else { break };
        out.push(Template { start, end: close + 2, inner: &text[inner_start..close], inner_start });
        from = close + 2;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_template_with_offsets() {
        let text = "echo ${{ github.head_ref }} and ${{ format('}}{0}', x) }}";
        let found = templates(text);
        assert_eq!(found.len(), 2);
        assert_eq!(&text[found[0].start..found[0].end], "${{ github.head_ref }}");
        assert_eq!(found[1].inner.trim(), "format('}}{0}', x)");
    }

    #[test]
    fn unclosed_template_is_ignored() {
        assert!(templates("echo ${{ github.head_ref").is_empty());
    }
}
