//! Streaming sentinel detection in request bodies.

use std::sync::Arc;

use super::Patterns;
use super::forms::escaped_byte;
use super::inflate::{Inflate, codings};

/// Decoded body bytes scanned before a [`BodyScanner`] stops and reports the body as not fully
/// scanned: enough for any real API request, small enough that a compression bomb cannot make
/// the proxy decode gigabytes.
pub const SCAN_LIMIT: u64 = 64 << 20;

/// Compressed input handed to the decoder at a time, so one chunk's output stays bounded
/// (deflate expands at most about 1032 times).
const DECODE_STEP: usize = 4096;

/// Finds sentinels in a request body fed in chunks of any size, across chunk boundaries, in
/// plain, percent-encoded or base64 form. `gzip` and `deflate` bodies are decoded first; other
/// encodings are scanned as sent and reported as not fully scanned.
///
/// Foreign sentinels (secrets that do not belong to the host) are returned by
/// [`BodyScanner::feed`] and [`BodyScanner::finish`], each name once. Sentinels of secrets that
/// do belong to the host are *not* replaced in bodies; they are listed by
/// [`BodyScanner::owned_seen`] so a report can explain why the host refused the request.
pub struct BodyScanner {
    decoder: Decoder,
    matcher: Matcher,
    names: Vec<String>,
    owned: Vec<bool>,
    reported: Vec<bool>,
    gap: Option<String>,
}

enum Decoder {
    Raw,
    Inflating(Box<Inflate>),
    /// Stopped decoding (limit reached or corrupt stream); input is ignored.
    Stopped,
}

impl BodyScanner {
    pub(crate) fn new(
        raw: Arc<Patterns>,
        decoded: Arc<Patterns>,
        names: Vec<String>,
        owned: Vec<bool>,
        content_encoding: Option<&str>,
    ) -> BodyScanner {
        let mut gap = None;
        let codings = codings(content_encoding);
        let listed: Vec<&str> = codings.iter().map(String::as_str).collect();
        let decoder = match Inflate::for_encoding(&listed) {
            _ if listed.is_empty() => Decoder::Raw,
            Some(inflate) => Decoder::Inflating(Box::new(inflate)),
            None => {
                gap = Some(format!(
                    "content encoding `{}` is not decoded; the body was scanned as sent",
                    codings.join(", ")
                ));
                Decoder::Raw
            }
        };
        let entries = names.len();
        BodyScanner {
            decoder,
            matcher: Matcher::new(raw, decoded, entries, SCAN_LIMIT),
            names,
            owned,
            reported: vec![false; entries],
            gap,
        }
    }

    /// Lowers the number of decoded bytes scanned (default [`SCAN_LIMIT`]).
    pub fn with_limit(mut self, limit: u64) -> BodyScanner {
        self.matcher.limit = limit;
        self
    }

    /// Scans the next chunk; returns names of foreign sentinels not reported before.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<String> {
        match &mut self.decoder {
            Decoder::Raw => self.matcher.scan(chunk),
            Decoder::Stopped => {}
            Decoder::Inflating(_) => {
                for step in chunk.chunks(DECODE_STEP) {
                    if let Err(e) = self.decode(step) {
                        self.stop(format!(
                            "the compressed body could not be decoded ({e}); the rest was not scanned"
                        ));
                        break;
                    }
                    if self.matcher.limited {
                        self.stop(format!(
                            "only the first {} decoded bytes were scanned",
                            self.matcher.limit
                        ));
                        break;
                    }
                }
            }
        }
        if self.matcher.limited && self.gap.is_none() {
            self.gap = Some(format!("only the first {} bytes were scanned", self.matcher.limit));
        }
        self.new_foreign()
    }

    /// Ends the body: flushes the decoder and the last held-back bytes; returns names of
    /// foreign sentinels not reported before.
    pub fn finish(&mut self) -> Vec<String> {
        let finished = match std::mem::replace(&mut self.decoder, Decoder::Stopped) {
            Decoder::Inflating(inflate) => inflate.finish(),
            _ => Ok(Vec::new()),
        };
        match finished {
            Ok(rest) => self.matcher.scan(&rest),
            Err(e) if self.gap.is_none() => {
                self.gap = Some(format!("the compressed body is incomplete ({e})"))
            }
            Err(_) => {}
        }
        self.matcher.finish();
        self.new_foreign()
    }

    /// Names of secrets that belong to this host whose sentinel appeared in the body, which
    /// was forwarded unchanged (bodies are never rewritten).
    pub fn owned_seen(&self) -> Vec<String> {
        self.found_where(true)
    }

    /// Every foreign name found so far.
    pub fn foreign_seen(&self) -> Vec<String> {
        self.found_where(false)
    }

    /// False when part of the body could not be scanned: the limit was reached, the compressed
    /// stream was corrupt, or the content encoding is not one ringfence decodes.
    pub fn fully_scanned(&self) -> bool {
        self.gap.is_none()
    }

    /// Why the body was not fully scanned, in plain words.
    pub fn gap(&self) -> Option<&str> {
        self.gap.as_deref()
    }

    /// Decoded body bytes scanned so far.
    pub fn scanned_bytes(&self) -> u64 {
        self.matcher.scanned
    }

    fn decode(&mut self, step: &[u8]) -> std::io::Result<()> {
        let out = match &mut self.decoder {
            Decoder::Inflating(inflate) => inflate.feed(step)?,
            _ => Vec::new(),
        };
        self.matcher.scan(&out);
        Ok(())
    }

    fn stop(&mut self, why: String) {
        self.decoder = Decoder::Stopped;
        self.gap.get_or_insert(why);
    }

    fn found_where(&self, owned: bool) -> Vec<String> {
        (0..self.names.len())
            .filter(|&i| self.matcher.found[i] && self.owned[i] == owned)
            .map(|i| self.names[i].clone())
            .collect()
    }

    fn new_foreign(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        for i in 0..self.names.len() {
            if self.matcher.found[i] && !self.owned[i] && !self.reported[i] {
                self.reported[i] = true;
                out.push(self.names[i].clone());
            }
        }
        out
    }
}

/// Searches three views of the decoded body: the bytes as they are (plain and base64 forms);
/// once a `%` has been seen, the bytes with `%XX` escapes decoded (plain forms); and once a line
/// break has been seen, the bytes with line breaks removed (plain and base64 forms), because
/// MIME, PEM and `base64` without `-w0` wrap base64 every 64 or 76 columns and a JSON string
/// may carry the breaks as `\n` escapes.
struct Matcher {
    raw: Stream,
    decoded_patterns: Arc<Patterns>,
    /// Absent until the first `%`: before it, the decoded view equals the raw one.
    decoded: Option<Stream>,
    percent_pending: Vec<u8>,
    /// Absent until the first line break or backslash: before it, the view equals the raw one.
    unwrapped: Option<Stream>,
    /// A backslash whose next byte decides whether it starts a `\n` / `\r` escape.
    backslash_pending: bool,
    found: Vec<bool>,
    scanned: u64,
    limit: u64,
    limited: bool,
}

impl Matcher {
    fn new(raw: Arc<Patterns>, decoded: Arc<Patterns>, entries: usize, limit: u64) -> Matcher {
        Matcher {
            raw: Stream::new(raw),
            decoded_patterns: decoded,
            decoded: None,
            percent_pending: Vec::new(),
            unwrapped: None,
            backslash_pending: false,
            found: vec![false; entries],
            scanned: 0,
            limit,
            limited: false,
        }
    }

    fn scan(&mut self, data: &[u8]) {
        if self.limited {
            return;
        }
        let room = usize::try_from(self.limit.saturating_sub(self.scanned)).unwrap_or(usize::MAX);
        let data = if data.len() > room {
            self.limited = true;
            &data[..room]
        } else {
            data
        };
        self.scanned += data.len() as u64;
        if self.decoded.is_none() && data.contains(&b'%') {
            let mut stream = Stream::new(self.decoded_patterns.clone());
            stream.carry = self.raw.carry.clone();
            self.decoded = Some(stream);
        }
        if self.unwrapped.is_none() && data.iter().any(|b| matches!(b, b'\n' | b'\r' | b'\\')) {
            let mut stream = Stream::new(self.raw.patterns.clone());
            stream.carry = self.raw.carry.clone();
            self.unwrapped = Some(stream);
        }
        let found = &mut self.found;
        let mut mark = |entry: usize| found[entry] = true;
        self.raw.search(data, &mut mark);
        if let Some(decoded) = &mut self.decoded {
            let text = decode_percent(&mut self.percent_pending, data);
            decoded.search(&text, &mut mark);
        }
        if let Some(unwrapped) = &mut self.unwrapped {
            let text = remove_breaks(&mut self.backslash_pending, data);
            unwrapped.search(&text, &mut mark);
        }
    }

    fn finish(&mut self) {
        let pending = std::mem::take(&mut self.percent_pending);
        let found = &mut self.found;
        if let Some(decoded) = &mut self.decoded {
            decoded.search(&pending, &mut |entry| found[entry] = true);
        }
        if std::mem::take(&mut self.backslash_pending)
            && let Some(unwrapped) = &mut self.unwrapped
        {
            unwrapped.search(b"\\", &mut |entry| found[entry] = true);
        }
    }
}

/// One searched byte stream: keeps the last `longest - 1` bytes so a match split across chunks
/// is still found.
struct Stream {
    patterns: Arc<Patterns>,
    carry: Vec<u8>,
}

impl Stream {
    fn new(patterns: Arc<Patterns>) -> Stream {
        Stream { patterns, carry: Vec::new() }
    }

    fn search(&mut self, data: &[u8], found: &mut impl FnMut(usize)) {
        let Some(searcher) = &self.patterns.searcher else { return };
        let mut hay = std::mem::take(&mut self.carry);
        hay.extend_from_slice(data);
        for m in searcher.find_overlapping_iter(&hay) {
            found(self.patterns.entry_of[m.pattern().as_usize()]);
        }
        let keep = self.patterns.longest.saturating_sub(1).min(hay.len());
        hay.drain(..hay.len() - keep);
        self.carry = hay;
    }
}

/// Entries whose patterns occur anywhere in `bytes`.
pub(crate) fn find_all(patterns: &Patterns, bytes: &[u8]) -> Vec<usize> {
    let Some(searcher) = &patterns.searcher else { return Vec::new() };
    searcher.find_overlapping_iter(bytes).map(|m| patterns.entry_of[m.pattern().as_usize()]).collect()
}

/// Drops CR and LF, and the two-byte escapes `\n` and `\r`, from a stream; a backslash at the
/// end of a chunk waits in `pending` for the byte after it.
fn remove_breaks(pending: &mut bool, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    for &b in data {
        if std::mem::take(pending) {
            if matches!(b, b'n' | b'r') {
                continue;
            }
            out.push(b'\\');
        }
        match b {
            b'\\' => *pending = true,
            b'\n' | b'\r' => {}
            _ => out.push(b),
        }
    }
    out
}

/// Decodes `%XX` escapes in a stream; an escape cut by a chunk boundary waits in `pending`.
fn decode_percent(pending: &mut Vec<u8>, data: &[u8]) -> Vec<u8> {
    let mut input = std::mem::take(pending);
    input.extend_from_slice(data);
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' {
            if input.len() - i < 3 {
                pending.extend_from_slice(&input[i..]);
                break;
            }
            if let Some(b) = escaped_byte(&input[i..]) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(input[i]);
        i += 1;
    }
    out
}
