//! Tokens of the expression language.

use crate::ast::Span;
use crate::parser::ParseError;

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    Ident(String),
    Number(f64),
    Str(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Dot,
    Comma,
    Star,
    Not,
    And,
    Or,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

pub fn lex(src: &str) -> Result<Vec<(Tok, Span)>, ParseError> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let two = bytes.get(i..i + 2);
        let (tok, len) = match (c, two) {
            (_, Some(b"&&")) => (Tok::And, 2),
            (_, Some(b"||")) => (Tok::Or, 2),
            (_, Some(b"==")) => (Tok::Eq, 2),
            (_, Some(b"!=")) => (Tok::Ne, 2),
            (_, Some(b"<=")) => (Tok::Le, 2),
            (_, Some(b">=")) => (Tok::Ge, 2),
            (b'<', _) => (Tok::Lt, 1),
            (b'>', _) => (Tok::Gt, 1),
            (b'!', _) => (Tok::Not, 1),
            (b'(', _) => (Tok::LParen, 1),
            (b')', _) => (Tok::RParen, 1),
            (b'[', _) => (Tok::LBracket, 1),
            (b']', _) => (Tok::RBracket, 1),
            (b'.', _) if !bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => (Tok::Dot, 1),
            (b',', _) => (Tok::Comma, 1),
            (b'*', _) => (Tok::Star, 1),
            (b'\'', _) => {
                let (s, end) = lex_string(src, i)?;
                out.push((Tok::Str(s), Span { start, end }));
                i = end;
                continue;
            }
            _ if c.is_ascii_digit() || c == b'-' || c == b'.' => {
                let end = scan_while(bytes, i + 1, |b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_');
                // An exponent sign belongs to the number: `1e-5`.
                let end = extend_exponent(bytes, end);
                let text = &src[i..end];
                let value = parse_number(text)
                    .ok_or_else(|| ParseError::new(start, format!("`{text}` is not a number")))?;
                out.push((Tok::Number(value), Span { start, end }));
                i = end;
                continue;
            }
            _ if c.is_ascii_alphabetic() || c == b'_' => {
                let end = scan_while(bytes, i, |b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                out.push((Tok::Ident(src[i..end].to_string()), Span { start, end }));
                i = end;
                continue;
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or('?');
                return Err(ParseError::new(start, format!("unexpected character `{ch}`")));
            }
        };
        out.push((tok, Span { start, end: i + len }));
        i += len;
    }
    Ok(out)
}

fn scan_while(bytes: &[u8], mut i: usize, keep: impl Fn(u8) -> bool) -> usize {
    while i < bytes.len() && keep(bytes[i]) {
        i += 1;
    }
    i
}

fn extend_exponent(bytes: &[u8], end: usize) -> usize {
    let after_e = end > 0 && matches!(bytes[end - 1], b'e' | b'E');
    if after_e && matches!(bytes.get(end), Some(b'-' | b'+')) {
        let digits = scan_while(bytes, end + 1, |b| b.is_ascii_digit());
        if digits > end + 1 {
            return digits;
        }
    }
    end
}

fn parse_number(text: &str) -> Option<f64> {
    let (neg, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let value = if let Some(hex) = body.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()? as f64
    } else if let Some(oct) = body.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()? as f64
    } else {
        // Rust accepts "inf" and "NaN", GitHub does not; the lexer only gets here with a
        // leading digit, '-' or '.', so those spellings never reach this point.
        body.parse::<f64>().ok()?
    };
    Some(if neg { -value } else { value })
}

/// A single-quoted string starting at `start`; `''` is an escaped quote.
fn lex_string(src: &str, start: usize) -> Result<(String, usize), ParseError> {
    let mut value = String::new();
    let mut chars = src[start + 1..].char_indices().peekable();
    while let Some((off, ch)) = chars.next() {
        if ch == '\'' {
            if chars.peek().is_some_and(|(_, c)| *c == '\'') {
                chars.next();
                value.push('\'');
                continue;
            }
            return Ok((value, start + 1 + off + 1));
        }
        value.push(ch);
    }
    Err(ParseError::new(start, "string is not closed with `'`".to_string()))
}
