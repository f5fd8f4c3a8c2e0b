//! A word's value, quoting removed the way bash removes it: backslashes outside quotes, single
//! quotes, double quotes with their four escapes, and `$'…'` with its C escapes. Expansions of
//! variables assigned literally in the same text take those values; anything else is computed at
//! run time and reported as such.

use std::collections::HashMap;
use tree_sitter::Node;

/// More candidate values than this for one word is treated as unknown.
const MAX_CANDIDATES: usize = 16;

/// What a variable may hold when it is expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Var {
    /// Every literal value the text ever assigns to it, and where the first assignment starts.
    /// Order beyond that is not tracked, so each value is a candidate wherever it is used.
    Known(Vec<String>, usize),
    /// Assigned from something computed (`$(…)`, `read`, arithmetic…).
    Unknown,
}

/// The values a word may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    /// `None` when the word is computed at run time.
    pub candidates: Option<Vec<String>>,
    /// An unquoted expansion contributed, so bash would split the result into fields.
    pub splits: bool,
    /// An unquoted glob or brace expansion, so bash would turn it into other words.
    pub expands: bool,
}

impl Value {
    fn lit(s: String) -> Value {
        Value { candidates: Some(vec![s]), splits: false, expands: false }
    }
    fn dynamic() -> Value {
        Value { candidates: None, splits: false, expands: false }
    }

    /// The single literal value, if there is exactly one and bash would not reshape it.
    pub fn single(&self) -> Option<&str> {
        match &self.candidates {
            Some(c) if c.len() == 1 && !self.expands && !(self.splits && has_ifs(&c[0])) => Some(&c[0]),
            _ => None,
        }
    }

    fn concat(self, next: Value) -> Value {
        let candidates = match (self.candidates, next.candidates) {
            (Some(a), Some(b)) if a.len() * b.len() <= MAX_CANDIDATES => {
                Some(a.iter().flat_map(|x| b.iter().map(move |y| format!("{x}{y}"))).collect())
            }
            _ => None,
        };
        Value { candidates, splits: self.splits || next.splits, expands: self.expands || next.expands }
    }
}

/// Whether bash's default field splitting would cut this value.
pub fn has_ifs(s: &str) -> bool {
    s.contains([' ', '\t', '\n'])
}

pub fn text<'a>(node: Node, src: &'a str) -> &'a str {
    src.get(node.byte_range()).unwrap_or("")
}

/// The value of a word node (`word`, `string`, `raw_string`, `concatenation`, expansions…).
pub fn value(node: Node, src: &str, vars: &HashMap<String, Var>) -> Value {
    let raw = text(node, src);
    match node.kind() {
        "word" | "number" => {
            let expands = raw.contains(['*', '?', '['])
                || (raw.contains('{') && (raw.contains(',') || raw.contains("..")));
            Value { expands, ..Value::lit(unescape_bare(raw)) }
        }
        "raw_string" => Value::lit(strip(raw, 1, 1).to_string()),
        "ansi_c_string" => Value::lit(ansi_c(strip(raw, 2, 1))),
        "string" => quoted(node, src, vars),
        "translated_string" => match node.named_child(0) {
            Some(inner) => value(inner, src, vars),
            None => Value::dynamic(),
        },
        "concatenation" => {
            let mut cursor = node.walk();
            let mut acc = Value::lit(String::new());
            for child in node.named_children(&mut cursor) {
                acc = acc.concat(value(child, src, vars));
            }
            // The grammar cuts a brace expansion (`c{u,}rl`) into several unquoted words.
            let mut cursor = node.walk();
            let bare: String = node
                .children(&mut cursor)
                .filter(|c| c.kind() == "word" || !c.is_named())
                .map(|c| text(c, src))
                .collect();
            if bare.contains('{') && (bare.contains(',') || bare.contains("..")) {
                acc.expands = true;
            }
            acc
        }
        "simple_expansion" | "expansion" => {
            let mut v = variable(node, src, vars);
            v.splits = true;
            v
        }
        _ => Value::dynamic(),
    }
}

/// `$NAME` or `${NAME}`: its known values; any operator (`${x:-y}`, `${#x}`, `${!x}`) is computed.
fn variable(node: Node, src: &str, vars: &HashMap<String, Var>) -> Value {
    let Some(name_node) =
        node.named_child(0).filter(|c| c.kind() == "variable_name" && node.named_child_count() == 1)
    else {
        return Value::dynamic();
    };
    let name = text(name_node, src);
    let whole = text(node, src);
    if whole != format!("${name}") && whole != format!("${{{name}}}") {
        return Value::dynamic();
    }
    match vars.get(name) {
        // A use before the first literal assignment sees whatever the environment held.
        Some(Var::Known(values, first)) if node.start_byte() >= *first => {
            Value { candidates: Some(values.clone()), splits: false, expands: false }
        }
        _ => Value::dynamic(),
    }
}

/// A double-quoted string: literal runs with `\$ \` \" \\ \<newline>` unescaped, expansions inside
/// resolved, no splitting or globbing.
fn quoted(node: Node, src: &str, vars: &HashMap<String, Var>) -> Value {
    let (start, end) = (node.start_byte() + 1, node.end_byte().saturating_sub(1));
    let mut acc = Value::lit(String::new());
    let mut pos = start;
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        if child.kind() == "string_content" {
            continue;
        }
        acc = acc.concat(Value::lit(unescape_dquote(src.get(pos..child.start_byte()).unwrap_or(""))));
        let mut v = match child.kind() {
            "simple_expansion" | "expansion" => variable(child, src, vars),
            _ => Value::dynamic(),
        };
        v.splits = false;
        acc = acc.concat(v);
        pos = child.end_byte();
    }
    if pos < end {
        acc = acc.concat(Value::lit(unescape_dquote(src.get(pos..end).unwrap_or(""))));
    }
    acc.splits = false;
    acc.expands = false;
    acc
}

fn strip(s: &str, front: usize, back: usize) -> &str {
    if s.len() >= front + back { s.get(front..s.len() - back).unwrap_or("") } else { "" }
}

/// Outside quotes a backslash keeps the next character literally; before a newline both vanish.
pub fn unescape_bare(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('\n') | None => {}
                Some(n) => out.push(n),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Inside double quotes a backslash escapes only `$`, a backtick, `"`, `\` and a newline.
pub fn unescape_dquote(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.peek() {
                Some('\n') => {
                    chars.next();
                }
                Some(&n @ ('$' | '`' | '"' | '\\')) => {
                    chars.next();
                    out.push(n);
                }
                _ => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The escapes of `$'…'` as bash documents them.
pub fn ansi_c(s: &str) -> String {
    let mut out: Vec<u8> = Vec::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 >= b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let e = b[i + 1];
        i += 2;
        let simple = match e {
            b'a' => Some(7),
            b'b' => Some(8),
            b'e' | b'E' => Some(27),
            b'f' => Some(12),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(11),
            b'\\' | b'\'' | b'"' | b'?' => Some(e),
            _ => None,
        };
        if let Some(v) = simple {
            out.push(v);
            continue;
        }
        match e {
            b'x' => {
                let (v, n) = digits(&b[i..], 16, 2);
                if n == 0 {
                    out.extend_from_slice(b"\\x");
                } else {
                    out.push(v as u8);
                }
                i += n;
            }
            b'u' | b'U' => {
                let (v, n) = digits(&b[i..], 16, if e == b'u' { 4 } else { 8 });
                match char::from_u32(v).filter(|_| n > 0) {
                    Some(c) => out.extend_from_slice(c.to_string().as_bytes()),
                    None => out.extend_from_slice(&[b'\\', e]),
                }
                i += n;
            }
            b'0'..=b'7' => {
                let (v, n) = digits(&b[i - 1..], 8, 3);
                out.push((v & 0xff) as u8);
                i += n - 1;
            }
            b'c' if i < b.len() => {
                out.push(b[i] & 0x1f);
                i += 1;
            }
            _ => out.extend_from_slice(&[b'\\', e]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn digits(b: &[u8], radix: u32, max: usize) -> (u32, usize) {
    let mut v = 0u32;
    let mut n = 0;
    while n < max && n < b.len() {
        match (b[n] as char).to_digit(radix) {
            Some(d) => v = v * radix + d,
            None => break,
        }
        n += 1;
    }
    (v, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansi_c_escapes_decode_like_bash() {
        assert_eq!(ansi_c(r"\x63url"), "curl");
        assert_eq!(ansi_c(r"\143url"), "curl");
        assert_eq!(ansi_c(r"\u0063url"), "curl");
        assert_eq!(ansi_c(r"a\'b"), "a'b");
        assert_eq!(ansi_c(r"\x"), r"\x");
    }

    #[test]
    fn backslashes_outside_and_inside_double_quotes() {
        assert_eq!(unescape_bare(r"c\url"), "curl");
        assert_eq!(unescape_bare("cu\\\nrl"), "curl");
        assert_eq!(unescape_dquote(r"c\url \$x"), r"c\url $x");
    }
}
