//! The encodings a sentinel can hide in: percent-encoding and base64.

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;

/// Bytes with `%XX` escapes decoded, remembering where each decoded byte came from so a match in
/// the decoded text can be replaced in the original.
pub(crate) struct PercentView {
    pub bytes: Vec<u8>,
    /// `starts[i]` is the offset in the original of decoded byte `i`; one extra entry holds the
    /// original's length.
    pub starts: Vec<usize>,
}

impl PercentView {
    pub fn new(raw: &[u8]) -> PercentView {
        let mut bytes = Vec::with_capacity(raw.len());
        let mut starts = Vec::with_capacity(raw.len() + 1);
        let mut i = 0;
        while i < raw.len() {
            starts.push(i);
            match escaped_byte(&raw[i..]) {
                Some(b) => {
                    bytes.push(b);
                    i += 3;
                }
                None => {
                    bytes.push(raw[i]);
                    i += 1;
                }
            }
        }
        starts.push(raw.len());
        PercentView { bytes, starts }
    }

    /// The original span of decoded bytes `start..end`.
    pub fn original(&self, start: usize, end: usize) -> std::ops::Range<usize> {
        self.starts[start]..self.starts[end]
    }
}

/// The byte a `%XX` escape at the start of `raw` stands for.
pub(crate) fn escaped_byte(raw: &[u8]) -> Option<u8> {
    match raw {
        [b'%', hi, lo, ..] => Some(hex_value(*hi)? << 4 | hex_value(*lo)?),
        _ => None,
    }
}

pub(crate) fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `value` with every byte outside RFC 3986's unreserved set written as `%XX`, for injecting a
/// real value where the agent had percent-encoded the sentinel.
pub(crate) fn percent_encode(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() * 3);
    for &b in value {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b);
        } else {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        }
    }
    out
}

/// Shortest base64 fragment worth searching for: shorter ones turn up in ordinary base64 data.
const MIN_BASE64_FORM: usize = 8;

/// Fragments that appear in the base64 encoding of any text containing `secret`, whatever its
/// alignment: for each of the three offsets the secret can start at within a 3-byte group, the
/// characters that depend on the secret's bytes alone. Both the standard and the URL-safe
/// alphabet are covered.
pub(crate) fn base64_forms(secret: &[u8]) -> Vec<Vec<u8>> {
    let mut forms = Vec::new();
    for offset in 0..3 {
        let mut buf = vec![0u8; offset];
        buf.extend_from_slice(secret);
        let whole = buf.len() - buf.len() % 3;
        let encoded = STANDARD_NO_PAD.encode(&buf[..whole]);
        // Characters that still carry bits of the filler bytes.
        let skip = [0, 2, 3][offset];
        let Some(form) = encoded.as_bytes().get(skip..) else { continue };
        if form.len() < MIN_BASE64_FORM {
            continue;
        }
        let url_safe: Vec<u8> = form
            .iter()
            .map(|&c| match c {
                b'+' => b'-',
                b'/' => b'_',
                c => c,
            })
            .collect();
        forms.push(form.to_vec());
        forms.push(url_safe);
    }
    forms.sort();
    forms.dedup();
    forms
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};

    #[test]
    fn percent_view_maps_back() {
        let view = PercentView::new(b"a%41%zz%4");
        assert_eq!(view.bytes, b"aA%zz%4");
        assert_eq!(view.original(1, 2), 1..4);
        assert_eq!(view.original(2, 7), 4..9);
    }

    #[test]
    fn percent_encode_keeps_unreserved() {
        assert_eq!(percent_encode(b"a-b_c.d~e/f+g="), b"a-b_c.d~e%2Ff%2Bg%3D");
    }

    #[test]
    fn base64_forms_found_at_every_alignment() {
        let secret = b"sk-ant-api03-Zx9_qq/+AbCdEf";
        let forms = base64_forms(secret);
        for lead in ["", "a", "ab", "abc", "{\"key\":\""] {
            for engine in [&STANDARD, &URL_SAFE] {
                let mut text = lead.as_bytes().to_vec();
                text.extend_from_slice(secret);
                text.extend_from_slice(b"\"}");
                let encoded = engine.encode(&text);
                assert!(
                    forms.iter().any(|f| encoded.as_bytes().windows(f.len()).any(|w| w == f.as_slice())),
                    "lead {lead:?}: {encoded}"
                );
            }
        }
    }
}
