//! Content-Encoding decoding for what the sentinel code reads: the request scanner and the
//! response scrubber both see gzip and deflate bodies decoded, by this one decoder.

use std::io::Write;

use flate2::write::{DeflateDecoder, MultiGzDecoder, ZlibDecoder};

/// A gzip or deflate stream being decoded, fed in steps.
pub(crate) enum Inflate {
    /// `deflate` is zlib-wrapped by the standard and raw by some servers: its first two bytes,
    /// until both are here, tell which.
    Sniffing(Vec<u8>),
    Gzip(MultiGzDecoder<Vec<u8>>),
    Zlib(ZlibDecoder<Vec<u8>>),
    Deflate(DeflateDecoder<Vec<u8>>),
}

impl Inflate {
    /// The decoder for a `Content-Encoding` value list, `None` when it is not one this decodes.
    pub fn for_encoding(encodings: &[&str]) -> Option<Inflate> {
        match encodings {
            ["gzip" | "x-gzip"] => Some(Inflate::Gzip(MultiGzDecoder::new(Vec::new()))),
            ["deflate"] => Some(Inflate::Sniffing(Vec::new())),
            _ => None,
        }
    }

    /// Decodes the next compressed bytes; returns what they decode to so far.
    pub fn feed(&mut self, step: &[u8]) -> std::io::Result<Vec<u8>> {
        if let Inflate::Sniffing(head) = self {
            head.extend_from_slice(step);
            if head.len() < 2 {
                return Ok(Vec::new());
            }
            let head = std::mem::take(head);
            // A zlib header: compression method 8 and a header checksum divisible by 31.
            let zlib = head[0] & 0x0f == 8 && (u16::from(head[0]) << 8 | u16::from(head[1])) % 31 == 0;
            *self = if zlib {
                Inflate::Zlib(ZlibDecoder::new(Vec::new()))
            } else {
                Inflate::Deflate(DeflateDecoder::new(Vec::new()))
            };
            return self.feed(&head);
        }
        let out = match self {
            Inflate::Gzip(d) => drain(d, step)?,
            Inflate::Zlib(d) => drain(d, step)?,
            Inflate::Deflate(d) => drain(d, step)?,
            Inflate::Sniffing(_) => Vec::new(),
        };
        Ok(out)
    }

    /// Ends the stream: the last decoded bytes, or why the stream is incomplete.
    pub fn finish(self) -> Result<Vec<u8>, String> {
        match self {
            Inflate::Sniffing(head) if head.is_empty() => Ok(Vec::new()),
            Inflate::Sniffing(_) => Err("the body ended inside the deflate header".into()),
            Inflate::Gzip(d) => d.finish().map_err(|e| e.to_string()),
            Inflate::Zlib(d) => d.finish().map_err(|e| e.to_string()),
            Inflate::Deflate(d) => d.finish().map_err(|e| e.to_string()),
        }
    }
}

/// Writes `step` into a decoder whose output is a `Vec`, and takes what came out.
fn drain<D: Write + Output>(decoder: &mut D, step: &[u8]) -> std::io::Result<Vec<u8>> {
    decoder.write_all(step)?;
    decoder.flush()?;
    Ok(std::mem::take(decoder.output()))
}

/// The output buffer of the three flate2 write decoders.
trait Output {
    fn output(&mut self) -> &mut Vec<u8>;
}

impl Output for MultiGzDecoder<Vec<u8>> {
    fn output(&mut self) -> &mut Vec<u8> {
        self.get_mut()
    }
}

impl Output for ZlibDecoder<Vec<u8>> {
    fn output(&mut self) -> &mut Vec<u8> {
        self.get_mut()
    }
}

impl Output for DeflateDecoder<Vec<u8>> {
    fn output(&mut self) -> &mut Vec<u8> {
        self.get_mut()
    }
}

/// A `Content-Encoding` header's codings, lower case, without `identity`.
pub(crate) fn codings(content_encoding: Option<&str>) -> Vec<String> {
    content_encoding
        .unwrap_or("")
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty() && c != "identity")
        .collect()
}
