//! After an upgrade the connection is no longer HTTP, but it still carries the agent's bytes
//! out and the server's bytes in. Both keep being read: what the client sends is scanned for
//! sentinels bound elsewhere (as a request body is), what the server sends is scrubbed of real
//! values (as a response body is).
//!
//! Websocket frames (RFC 6455) are parsed so the scan sees payloads, unmasked, without frame
//! headers between them. Compressed frames (permessage-deflate, RSV1) cannot be scanned: the
//! extension offer is taken out of the upgrade request, and a compressed frame that comes anyway
//! ends the connection. Any other upgraded protocol is scanned as a plain byte stream.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// What the frame parser hands on, in stream order.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Piece {
    /// A frame header, as sent, with its mask key (client frames) and whether RSV1 is set.
    Header { bytes: Vec<u8>, mask: Option<[u8; 4]>, compressed: bool },
    /// Payload bytes, unmasked.
    Payload(Vec<u8>),
    /// The current frame's payload is complete.
    End,
}

/// A streaming websocket frame parser; bytes in, [`Piece`]s out, across any chunking.
#[derive(Default)]
pub(crate) struct Frames {
    header: Vec<u8>,
    mask: Option<[u8; 4]>,
    /// Payload bytes left in the current frame; `None` while reading a header.
    remaining: Option<u64>,
    /// Offset into the mask key of the next payload byte.
    mask_pos: usize,
}

impl Frames {
    pub fn feed(&mut self, mut data: &[u8], out: &mut Vec<Piece>) {
        while !data.is_empty() {
            match self.remaining {
                None => {
                    let need = header_len(&self.header);
                    let take = need.saturating_sub(self.header.len()).min(data.len());
                    self.header.extend_from_slice(&data[..take]);
                    data = &data[take..];
                    if self.header.len() < header_len(&self.header) || self.header.len() < 2 {
                        continue;
                    }
                    let (len, mask) = parse_header(&self.header);
                    self.mask = mask;
                    self.mask_pos = 0;
                    let compressed = self.header[0] & 0x40 != 0;
                    out.push(Piece::Header { bytes: std::mem::take(&mut self.header), mask, compressed });
                    self.remaining = Some(len);
                    if len == 0 {
                        self.remaining = None;
                        out.push(Piece::End);
                    }
                }
                Some(left) => {
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(data.len());
                    let mut payload = data[..take].to_vec();
                    if let Some(key) = self.mask {
                        for b in &mut payload {
                            *b ^= key[self.mask_pos % 4];
                            self.mask_pos += 1;
                        }
                    }
                    data = &data[take..];
                    out.push(Piece::Payload(payload));
                    let left = left - take as u64;
                    if left == 0 {
                        self.remaining = None;
                        out.push(Piece::End);
                    } else {
                        self.remaining = Some(left);
                    }
                }
            }
        }
    }
}

/// Header length implied by the bytes seen so far (2 until the length byte is known).
fn header_len(head: &[u8]) -> usize {
    let Some(&b1) = head.get(1) else { return 2 };
    let ext = match b1 & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    2 + ext + if b1 & 0x80 != 0 { 4 } else { 0 }
}

/// Payload length and mask key of a complete header.
fn parse_header(head: &[u8]) -> (u64, Option<[u8; 4]>) {
    let b1 = head[1];
    let (len, at) = match b1 & 0x7f {
        126 => (u64::from(u16::from_be_bytes([head[2], head[3]])), 4),
        127 => (u64::from_be_bytes(head[2..10].try_into().unwrap_or([0; 8])), 10),
        n => (u64::from(n), 2),
    };
    let mask = (b1 & 0x80 != 0).then(|| [head[at], head[at + 1], head[at + 2], head[at + 3]]);
    (len, mask)
}

/// Why a relay stopped early, for the record.
pub(crate) enum Stop {
    /// A sentinel bound elsewhere, in block mode.
    Foreign,
    /// Something that cannot be scanned (compressed frames).
    Unscannable(String),
}

/// Client → server: scans payloads (or the raw stream) and forwards the bytes as sent. Each
/// chunk is scanned before it is forwarded, so a sentinel completed by a chunk never leaves.
pub(crate) async fn upstream<R, W>(
    mut from: R,
    mut to: W,
    websocket: bool,
    mut scanner: inspect::BodyScanner,
    mut found: impl FnMut(Vec<String>) -> bool,
) -> Result<(), Stop>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut frames = Frames::default();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        let mut names = Vec::new();
        if websocket {
            let mut pieces = Vec::new();
            frames.feed(chunk, &mut pieces);
            for piece in pieces {
                match piece {
                    Piece::Header { compressed: true, .. } => {
                        return Err(Stop::Unscannable("the client sent a compressed websocket frame".into()));
                    }
                    Piece::Payload(p) => names.extend(scanner.feed(&p)),
                    _ => {}
                }
            }
        } else {
            names.extend(scanner.feed(chunk));
        }
        if !names.is_empty() && found(names) {
            return Err(Stop::Foreign);
        }
        if to.write_all(chunk).await.is_err() {
            break;
        }
    }
    let names = scanner.finish();
    if !names.is_empty() && found(names) {
        return Err(Stop::Foreign);
    }
    let _ = to.shutdown().await;
    Ok(())
}

/// Server → client: real values in payloads become sentinels (same length, so frame headers
/// stay valid); each frame is flushed at its end, so nothing waits for the next frame.
pub(crate) async fn downstream<R, W>(
    mut from: R,
    mut to: W,
    websocket: bool,
    mut scrubber: inspect::ResponseScrubber,
    mut returned: impl FnMut(Vec<inspect::Found>),
) -> Result<(), Stop>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut frames = Frames::default();
    let mut buf = vec![0u8; 16 * 1024];
    // The current frame's mask and how many output payload bytes it has had.
    let mut mask: Option<[u8; 4]> = None;
    let mut written = 0usize;
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut out = Vec::with_capacity(n);
        if websocket {
            let mut pieces = Vec::new();
            frames.feed(&buf[..n], &mut pieces);
            for piece in pieces {
                let plain = match piece {
                    Piece::Header { compressed: true, .. } => {
                        return Err(Stop::Unscannable(
                            "the server sent a compressed websocket frame, which cannot be scanned".into(),
                        ));
                    }
                    Piece::Header { bytes, mask: m, .. } => {
                        out.extend_from_slice(&bytes);
                        mask = m;
                        written = 0;
                        continue;
                    }
                    Piece::Payload(p) => scrubber.feed(&p).unwrap_or_default(),
                    Piece::End => scrubber.flush(),
                };
                for b in plain {
                    out.push(mask.map_or(b, |k| b ^ k[written % 4]));
                    written += 1;
                }
            }
        } else {
            // No frames to say where a message ends: release each read whole.
            out.extend(scrubber.feed(&buf[..n]).unwrap_or_default());
            out.extend(scrubber.flush());
        }
        let found = scrubber.take_found();
        if !found.is_empty() {
            returned(found);
        }
        if to.write_all(&out).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests;
