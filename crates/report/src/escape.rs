//! Escaping for text that came from the agent (argv, paths, rule text): it can contain anything.

/// Escapes text for HTML element content and quoted attribute values.
pub fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON to embed in `<script type="application/json">`. `<`, `>` and `&` become `\u003c` etc.,
/// which JSON.parse reads back unchanged, so no `</script>` or `<!--` can end the block early.
pub fn script_json(json: &str) -> String {
    json.replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
}

/// Inline code for Markdown. A plain code span when that is safe; otherwise an HTML `<code>`
/// with every Markdown-active character escaped, because a code span cannot hold a
/// backtick-laden or multi-line string reliably. `in_table` also protects the cell's `|`.
pub fn md_code(text: &str, in_table: bool) -> String {
    let plain = !text.is_empty()
        && !text.contains('`')
        && !text.starts_with(' ')
        && !text.ends_with(' ')
        && !text.chars().any(char::is_control);
    if plain {
        let body = if in_table { text.replace('|', "\\|") } else { text.to_string() };
        return format!("`{body}`");
    }
    format!("<code>{}</code>", md_escape(text))
}

/// Text for Markdown prose or table cells, with nothing in it able to format, link or break out.
pub fn md_text(text: &str) -> String {
    md_escape(text)
}

fn md_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push(' '),
            // Everything that can start emphasis, a link, an image, a code span or a table cell.
            '`' | '|' | '*' | '_' | '[' | ']' | '\\' | '~' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// A fenced code block that the content cannot close: the fence is longer than any run of
/// backticks inside it.
pub fn md_fence(body: &str, info: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat((longest + 1).max(3));
    format!("{fence}{info}\n{body}{}{fence}\n", if body.ends_with('\n') { "" } else { "\n" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_markup() {
        assert_eq!(
            html(r#"<img src=x onerror="alert(1)">"#),
            "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"
        );
    }

    #[test]
    fn script_json_cannot_close_the_script() {
        let s = script_json(r#"{"a":"</script><!--"}"#);
        assert!(!s.contains("</") && !s.contains("<!--"));
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back["a"], "</script><!--");
    }

    #[test]
    fn md_code_falls_back_to_entities() {
        assert_eq!(md_code("ls -l", true), "`ls -l`");
        assert_eq!(md_code("a|b", true), "`a\\|b`");
        assert_eq!(md_code("<b>`x`</b>", false), "<code>&lt;b&gt;\\`x\\`&lt;/b&gt;</code>");
    }

    #[test]
    fn fences_outgrow_the_content() {
        assert!(md_fence("a ```` b", "text").starts_with("`````text\n"));
    }
}
