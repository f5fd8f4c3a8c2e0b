//! Real values on their way back: a response from a secret's own host may reflect what it was
//! sent (an echo endpoint, an error page quoting a header, a stored field read back). Every
//! form of a real value the scrubber knows is replaced by the same form of its sentinel before
//! the agent reads it.
//!
//! The sentinel has the real value's length and keeps every non-alphanumeric byte in place, so
//! each form of the sentinel has the length of the same form of the real value: replacing keeps
//! a body's length, its `Content-Length` and a websocket frame's header valid.

use std::borrow::Cow;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;

use super::forms::percent_encode;
use super::inflate::{Inflate, codings};

/// Compressed input handed to the decoder at a time, so one step's output stays bounded.
const DECODE_STEP: usize = 4096;

/// Shortest base64 or hex fragment replaced: shorter ones turn up in ordinary data.
const MIN_FRAGMENT: usize = 8;

/// One real value found in a response: the secret's name and the form it was in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub name: String,
    /// `plain`, `percent`, `json`, `base64`, `hex`.
    pub form: &'static str,
}

/// A value after [`super::Vault::scrub`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scrubbed {
    pub bytes: Vec<u8>,
    pub found: Vec<Found>,
}

/// Why a response cannot be scanned, in plain words; the proxy cuts it off and records this.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unscannable(pub String);

/// Every form of every real value, each with the same form of its sentinel.
pub(crate) struct ScrubPatterns {
    searcher: Option<AhoCorasick>,
    patterns: Vec<Vec<u8>>,
    replacement: Vec<Vec<u8>>,
    entry_of: Vec<usize>,
    form_of: Vec<&'static str>,
    longest: usize,
    /// Bytes some pattern starts with: only there can a held-back tail begin.
    first: [bool; 256],
    /// Every replacement has its pattern's length.
    same_length: bool,
}

impl ScrubPatterns {
    pub fn new<'a>(pairs: impl Iterator<Item = (&'a [u8], &'a [u8])>) -> ScrubPatterns {
        let mut all: Vec<(Vec<u8>, Vec<u8>, usize, &'static str)> = Vec::new();
        for (entry, (real, sentinel)) in pairs.enumerate() {
            for (form, from, to) in forms(real, sentinel) {
                if !all.iter().any(|(p, ..)| *p == from) {
                    all.push((from, to, entry, form));
                }
            }
        }
        let mut first = [false; 256];
        for (p, ..) in &all {
            first[usize::from(p[0])] = true;
        }
        let searcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(all.iter().map(|(p, ..)| p))
            .ok()
            .filter(|_| !all.is_empty());
        ScrubPatterns {
            searcher,
            longest: all.iter().map(|(p, ..)| p.len()).max().unwrap_or(0),
            same_length: all.iter().all(|(p, r, ..)| p.len() == r.len()),
            patterns: all.iter().map(|(p, ..)| p.clone()).collect(),
            replacement: all.iter().map(|(_, r, ..)| r.clone()).collect(),
            entry_of: all.iter().map(|(_, _, e, _)| *e).collect(),
            form_of: all.iter().map(|(.., f)| *f).collect(),
            first,
        }
    }

    /// Where the tail of `buf` that could still become a match begins: the first position in
    /// the last `longest - 1` bytes from which the rest is a proper prefix of some pattern, or
    /// `buf.len()` when none is.
    fn hold_from(&self, buf: &[u8]) -> usize {
        let start = buf.len().saturating_sub(self.longest.saturating_sub(1));
        (start..buf.len())
            .find(|&p| {
                let tail = &buf[p..];
                self.first[usize::from(tail[0])]
                    && self.patterns.iter().any(|pat| pat.len() > tail.len() && pat.starts_with(tail))
            })
            .unwrap_or(buf.len())
    }
}

/// `(form, real form, sentinel form)` for one secret: plain, percent-encoded (upper- and
/// lower-case escapes), JSON with `\/`, base64 and base64url fragments at the three alignments,
/// and hex in both cases.
fn forms(real: &[u8], sentinel: &[u8]) -> Vec<(&'static str, Vec<u8>, Vec<u8>)> {
    let mut out = vec![("plain", real.to_vec(), sentinel.to_vec())];
    let (pr, ps) = (percent_encode(real), percent_encode(sentinel));
    if pr != real {
        out.push(("percent", lower_escapes(&pr), lower_escapes(&ps)));
        out.push(("percent", pr, ps));
    }
    if real.contains(&b'/') {
        out.push(("json", json_slashes(real), json_slashes(sentinel)));
    }
    for offset in 0..3 {
        if let (Some(r), Some(s)) = (base64_fragment(real, offset), base64_fragment(sentinel, offset)) {
            let url = |f: &[u8]| -> Vec<u8> {
                f.iter()
                    .map(|&c| match c {
                        b'+' => b'-',
                        b'/' => b'_',
                        c => c,
                    })
                    .collect()
            };
            out.push(("base64", url(&r), url(&s)));
            out.push(("base64", r, s));
        }
    }
    let hex = |v: &[u8], upper: bool| -> Vec<u8> {
        v.iter()
            .flat_map(|b| if upper { format!("{b:02X}") } else { format!("{b:02x}") }.into_bytes())
            .collect()
    };
    if real.len() * 2 >= MIN_FRAGMENT {
        out.push(("hex", hex(real, false), hex(sentinel, false)));
        out.push(("hex", hex(real, true), hex(sentinel, true)));
    }
    out
}

/// The base64 characters that carry only the value's bits when the value starts `offset` bytes
/// into a 3-byte group (the same cut as the request-side detector's fragments).
fn base64_fragment(value: &[u8], offset: usize) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; offset];
    buf.extend_from_slice(value);
    let whole = buf.len() - buf.len() % 3;
    let encoded = STANDARD_NO_PAD.encode(&buf[..whole]);
    let skip = [0, 2, 3][offset];
    let form = encoded.as_bytes().get(skip..)?;
    (form.len() >= MIN_FRAGMENT).then(|| form.to_vec())
}

fn lower_escapes(encoded: &[u8]) -> Vec<u8> {
    let mut out = encoded.to_vec();
    let mut i = 0;
    while i + 2 < out.len() {
        if out[i] == b'%' {
            out[i + 1] = out[i + 1].to_ascii_lowercase();
            out[i + 2] = out[i + 2].to_ascii_lowercase();
            i += 3;
        } else {
            i += 1;
        }
    }
    out
}

fn json_slashes(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 4);
    for &b in value {
        if b == b'/' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out
}

/// Replaces real values in a byte stream fed in chunks of any size. Only a tail that could
/// still become a match is held back, so a stream of small events is not delayed.
pub(crate) struct Replacer {
    patterns: Arc<ScrubPatterns>,
    carry: Vec<u8>,
    /// Pattern ids found and not yet taken.
    found: Vec<usize>,
    reported: Vec<bool>,
}

impl Replacer {
    pub fn new(patterns: Arc<ScrubPatterns>) -> Replacer {
        let n = patterns.patterns.len();
        Replacer { patterns, carry: Vec::new(), found: Vec::new(), reported: vec![false; n] }
    }

    /// Appends the scrubbed part of `data` that can be released to `out`; `end` releases all.
    pub fn push(&mut self, data: &[u8], out: &mut Vec<u8>, end: bool) {
        let p = self.patterns.clone();
        let Some(searcher) = &p.searcher else {
            out.extend_from_slice(data);
            return;
        };
        let buf: Cow<[u8]> = if self.carry.is_empty() {
            Cow::Borrowed(data)
        } else {
            let mut b = std::mem::take(&mut self.carry);
            b.extend_from_slice(data);
            Cow::Owned(b)
        };
        let hold = if end { buf.len() } else { p.hold_from(&buf) };
        let mut pos = 0;
        for m in searcher.find_iter(&*buf) {
            if m.start() >= hold {
                break;
            }
            let id = m.pattern().as_usize();
            out.extend_from_slice(&buf[pos..m.start()]);
            out.extend_from_slice(&p.replacement[id]);
            pos = m.end();
            if !self.reported[id] {
                self.reported[id] = true;
                self.found.push(id);
            }
        }
        let cut = pos.max(hold);
        out.extend_from_slice(&buf[pos..cut]);
        self.carry = buf[cut..].to_vec();
    }

    /// As [`Replacer::push`] when nothing is held back from before: if no real value starts
    /// in the part that can be released, that part is `data[..n]` unchanged and `Unchanged(n)`
    /// says so, so the caller can pass its own buffer on instead of a copy.
    fn pass(&mut self, data: &[u8]) -> Pass {
        let p = self.patterns.clone();
        if let (Some(searcher), true) = (&p.searcher, self.carry.is_empty()) {
            let hold = p.hold_from(data);
            if searcher.find(data).is_none_or(|m| m.start() >= hold) {
                self.carry = data[hold..].to_vec();
                return Pass::Unchanged(hold);
            }
        }
        let mut out = Vec::with_capacity(data.len());
        self.push(data, &mut out, false);
        Pass::Replaced(out)
    }

    fn take_found(&mut self, names: &[String]) -> Vec<Found> {
        let mut out: Vec<Found> = Vec::new();
        for id in std::mem::take(&mut self.found) {
            let found =
                Found { name: names[self.patterns.entry_of[id]].clone(), form: self.patterns.form_of[id] };
            if !out.contains(&found) {
                out.push(found);
            }
        }
        out
    }
}

/// What a chunk fed to [`ResponseScrubber::pass`] becomes.
#[derive(Debug, PartialEq, Eq)]
pub enum Pass {
    /// Its first `n` bytes, unchanged, are released; the rest is held back.
    Unchanged(usize),
    /// These bytes are released (a real value was replaced, or held-back bytes came first).
    Replaced(Vec<u8>),
}

/// Scrubs one complete value.
pub(crate) fn scrub_all(patterns: &Arc<ScrubPatterns>, value: &[u8], names: &[String]) -> Scrubbed {
    let mut r = Replacer::new(patterns.clone());
    let mut bytes = Vec::with_capacity(value.len());
    r.push(value, &mut bytes, true);
    Scrubbed { bytes, found: r.take_found(names) }
}

enum Decoder {
    Identity,
    Inflating(Box<Inflate>),
}

/// Scrubs a response body as it streams: decodes gzip or deflate first (its output is the
/// decoded body, so the proxy drops `Content-Encoding`), refuses any other encoding, and passes
/// on everything but a tail that could still become a match.
pub struct ResponseScrubber {
    decoder: Decoder,
    replacer: Replacer,
    names: Vec<String>,
}

impl ResponseScrubber {
    pub(crate) fn new(
        patterns: Arc<ScrubPatterns>,
        names: Vec<String>,
        content_encoding: Option<&str>,
    ) -> Result<ResponseScrubber, Unscannable> {
        let codings = codings(content_encoding);
        let listed: Vec<&str> = codings.iter().map(String::as_str).collect();
        let decoder = match Inflate::for_encoding(&listed) {
            _ if listed.is_empty() => Decoder::Identity,
            Some(inflate) => Decoder::Inflating(Box::new(inflate)),
            None => {
                return Err(Unscannable(format!(
                    "the response's content encoding `{}` cannot be scanned for secrets",
                    codings.join(", ")
                )));
            }
        };
        Ok(ResponseScrubber { decoder, replacer: Replacer::new(patterns), names })
    }

    /// True when the output is the decoded body, not the bytes as sent.
    pub fn decodes(&self) -> bool {
        !matches!(self.decoder, Decoder::Identity)
    }

    /// True when the output has the input's length (no decoding, same-length replacements).
    pub fn keeps_length(&self) -> bool {
        !self.decodes() && self.replacer.patterns.same_length
    }

    /// Scrubs the next chunk; returns what can be passed on now.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<u8>, Unscannable> {
        let mut out = Vec::with_capacity(chunk.len());
        let Decoder::Inflating(inflate) = &mut self.decoder else {
            self.replacer.push(chunk, &mut out, false);
            return Ok(out);
        };
        for step in chunk.chunks(DECODE_STEP) {
            let decoded = inflate.feed(step).map_err(|e| {
                Unscannable(format!("the compressed response could not be decoded ({e}); it was cut off"))
            })?;
            self.replacer.push(&decoded, &mut out, false);
        }
        Ok(out)
    }

    /// As [`ResponseScrubber::feed`], but a chunk with nothing to replace comes back as a
    /// length to release from the caller's own buffer: a large body is scanned, not copied.
    pub fn pass(&mut self, chunk: &[u8]) -> Result<Pass, Unscannable> {
        if let Decoder::Identity = self.decoder {
            return Ok(self.replacer.pass(chunk));
        }
        self.feed(chunk).map(Pass::Replaced)
    }

    /// Releases what is held back without ending the stream (the end of a websocket frame).
    pub fn flush(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.replacer.push(&[], &mut out, true);
        out
    }

    /// Ends the body: the decoder's last output and every held-back byte.
    pub fn finish(&mut self) -> Result<Vec<u8>, Unscannable> {
        let rest = match std::mem::replace(&mut self.decoder, Decoder::Identity) {
            Decoder::Identity => Ok(Vec::new()),
            Decoder::Inflating(inflate) => inflate.finish(),
        }
        .map_err(|e| Unscannable(format!("the compressed response is incomplete ({e})")))?;
        let mut out = Vec::new();
        self.replacer.push(&rest, &mut out, true);
        Ok(out)
    }

    /// Real values found since the last call, each (secret, form) once per response.
    pub fn take_found(&mut self) -> Vec<Found> {
        self.replacer.take_found(&self.names)
    }
}
