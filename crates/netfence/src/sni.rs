//! The name a client asks the far end for: the TLS ClientHello's server_name, or the HTTP/1
//! `Host` header. The proxy reads it from the first bytes of every connection and requires it to
//! match the name the connection's synthetic address stands for (no domain fronting).
//!
//! Input is hostile: every length is checked against the bytes present, nothing panics, and a
//! parse never looks past `MAX_HELLO` bytes.

/// The most the proxy buffers while waiting for a complete ClientHello or request head.
pub const MAX_HELLO: usize = 64 * 1024;

/// What the first bytes of a connection said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peek {
    /// A complete TLS ClientHello or HTTP/1 request head naming this host (lower-case, no port,
    /// no trailing dot).
    Name(String),
    /// A complete ClientHello or request head that names no host.
    Nameless,
    /// The bytes so far are a valid prefix; read more.
    Incomplete,
    /// Not TLS and not HTTP/1 (another protocol, or garbage).
    Other,
}

/// The first byte of a TLS handshake record.
pub const TLS_HANDSHAKE: u8 = 0x16;

/// Classifies the first bytes of a client's stream.
pub fn peek(buf: &[u8]) -> Peek {
    match buf.first() {
        None => Peek::Incomplete,
        Some(&TLS_HANDSHAKE) => tls_sni(buf),
        Some(_) => http_host(buf),
    }
}

/// Parses the server_name of a TLS ClientHello, which may span several records.
pub fn tls_sni(buf: &[u8]) -> Peek {
    let mut handshake = Vec::new();
    let mut rest = buf;
    // Reassemble handshake bytes from consecutive handshake records until the ClientHello's
    // declared length is present.
    loop {
        if let Some(len) = hello_len(&handshake) {
            if len > MAX_HELLO {
                return Peek::Other;
            }
            if handshake.len() >= 4 + len {
                return client_hello(&handshake[4..4 + len]);
            }
        }
        if rest.len() < 5 {
            return Peek::Incomplete;
        }
        if rest[0] != 0x16 || rest[1] != 0x03 {
            return Peek::Other;
        }
        let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        if len == 0 {
            return Peek::Other;
        }
        let Some(fragment) = rest.get(5..5 + len) else {
            return Peek::Incomplete;
        };
        handshake.extend_from_slice(fragment);
        rest = &rest[5 + len..];
        if handshake.first().is_some_and(|t| *t != 1) {
            return Peek::Other;
        }
    }
}

/// The ClientHello body length from a handshake header, once its 4 bytes are present.
fn hello_len(handshake: &[u8]) -> Option<usize> {
    let h = handshake.get(..4)?;
    Some(usize::from(h[1]) << 16 | usize::from(h[2]) << 8 | usize::from(h[3]))
}

/// A bounds-checked reader over a byte slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }
    fn u8(&mut self) -> Option<usize> {
        self.take(1).map(|b| usize::from(b[0]))
    }
    fn u16(&mut self) -> Option<usize> {
        self.take(2).map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
    }
    fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(n)
    }
    fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(n)
    }
}

fn client_hello(body: &[u8]) -> Peek {
    let parsed = (|| {
        let mut r = Reader(body);
        r.take(2 + 32)?; // legacy_version, random
        r.vec8()?; // legacy_session_id
        r.vec16()?; // cipher_suites
        r.vec8()?; // legacy_compression_methods
        if r.0.is_empty() {
            return Some(None); // no extensions at all
        }
        let mut exts = Reader(r.vec16()?);
        while !exts.0.is_empty() {
            let kind = exts.u16()?;
            let data = exts.vec16()?;
            if kind == 0 {
                return server_name(data).map(Some);
            }
        }
        Some(None)
    })();
    match parsed {
        Some(Some(name)) => Peek::Name(name),
        Some(None) => Peek::Nameless,
        None => Peek::Other,
    }
}

/// The first host_name entry of a server_name extension.
fn server_name(data: &[u8]) -> Option<String> {
    let mut list = Reader(Reader(data).vec16()?);
    while !list.0.is_empty() {
        let kind = list.u8()?;
        let name = list.vec16()?;
        if kind == 0 {
            return host_text(name);
        }
    }
    None
}

/// A host name as sent on the wire: ASCII only, lower-cased, without a trailing dot.
fn host_text(raw: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(raw).ok()?;
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    Some(text.trim_end_matches('.').to_ascii_lowercase())
}

/// Parses the `Host` header of an HTTP/1 request head.
pub fn http_host(buf: &[u8]) -> Peek {
    let method_len = buf.iter().take_while(|b| b.is_ascii_uppercase()).count();
    match buf.get(method_len) {
        None if method_len < 16 => return Peek::Incomplete,
        Some(b' ') if (1..16).contains(&method_len) => {}
        _ => return Peek::Other,
    }
    let window = &buf[..buf.len().min(MAX_HELLO)];
    let Some(end) = window.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if buf.len() >= MAX_HELLO { Peek::Other } else { Peek::Incomplete };
    };
    let head = &window[..end];
    for line in head.split(|b| *b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|b| *b == b':') else { continue };
        if !line[..colon].eq_ignore_ascii_case(b"host") {
            continue;
        }
        let value = line[colon + 1..].trim_ascii();
        return match host_text(strip_port(value)) {
            Some(host) => Peek::Name(host),
            None => Peek::Other,
        };
    }
    Peek::Nameless
}

/// Whether the first line of a stream that `http_host` did not take for HTTP still mentions an
/// HTTP version (a lower-case method, leading blank lines): lenient servers read such bytes as a
/// request, so the proxy must parse them as one too.
pub fn mentions_http(buf: &[u8]) -> bool {
    let text = buf.trim_ascii_start();
    let line = text.split(|b| *b == b'\n').next().unwrap_or(text);
    line.windows(5).any(|w| w.eq_ignore_ascii_case(b"HTTP/"))
}

/// `example.com:8080` → `example.com`; `[::1]:80` → `::1`.
fn strip_port(host: &[u8]) -> &[u8] {
    if let Some(inner) = host.strip_prefix(b"[") {
        return inner.split(|b| *b == b']').next().unwrap_or(inner);
    }
    match host.iter().rposition(|b| *b == b':') {
        Some(i) if host[i + 1..].iter().all(u8::is_ascii_digit) => &host[..i],
        _ => host,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A minimal but well-formed TLS 1.3-style ClientHello naming `sni`.
    pub(crate) fn client_hello_bytes(sni: Option<&str>) -> Vec<u8> {
        let mut exts = Vec::new();
        if let Some(name) = sni {
            let mut entry = vec![0u8];
            entry.extend_from_slice(&(name.len() as u16).to_be_bytes());
            entry.extend_from_slice(name.as_bytes());
            let mut data = (entry.len() as u16).to_be_bytes().to_vec();
            data.extend_from_slice(&entry);
            exts.extend_from_slice(&0u16.to_be_bytes());
            exts.extend_from_slice(&(data.len() as u16).to_be_bytes());
            exts.extend_from_slice(&data);
        }
        // supported_versions: TLS 1.3
        exts.extend_from_slice(&[0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04]);
        let mut body = vec![0x03, 0x03];
        body.extend_from_slice(&[7u8; 32]);
        body.extend_from_slice(&[0]); // session id
        body.extend_from_slice(&[0x00, 0x02, 0x13, 0x01]); // one cipher suite
        body.extend_from_slice(&[0x01, 0x00]); // null compression
        body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        body.extend_from_slice(&exts);
        let mut hs = vec![1u8, 0, 0, 0];
        hs[1..4].copy_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        hs.extend_from_slice(&body);
        let mut rec = vec![0x16, 0x03, 0x01];
        rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        rec.extend_from_slice(&hs);
        rec
    }

    #[test]
    fn reads_sni() {
        let hello = client_hello_bytes(Some("API.Example.com."));
        assert_eq!(peek(&hello), Peek::Name("api.example.com".into()));
        assert_eq!(peek(&client_hello_bytes(None)), Peek::Nameless);
        for cut in 0..hello.len() {
            assert_eq!(peek(&hello[..cut]), Peek::Incomplete, "cut at {cut}");
        }
    }

    #[test]
    fn reads_sni_split_over_records() {
        let hello = client_hello_bytes(Some("a.example"));
        let hs = &hello[5..];
        let (first, second) = hs.split_at(10);
        let mut two = vec![0x16, 0x03, 0x01, 0, first.len() as u8];
        two.extend_from_slice(first);
        two.extend_from_slice(&[0x16, 0x03, 0x01]);
        two.extend_from_slice(&(second.len() as u16).to_be_bytes());
        two.extend_from_slice(second);
        assert_eq!(peek(&two), Peek::Name("a.example".into()));
    }

    #[test]
    fn reads_http_host() {
        assert_eq!(
            peek(b"GET / HTTP/1.1\r\nUser-Agent: x\r\nhost: Example.COM:8080\r\n\r\n"),
            Peek::Name("example.com".into())
        );
        assert_eq!(peek(b"GET / HTTP/1.0\r\n\r\n"), Peek::Nameless);
        assert_eq!(peek(b"GET / HTTP/1.1\r\nHost: a"), Peek::Incomplete);
        assert_eq!(peek(b"GE"), Peek::Incomplete);
        assert_eq!(peek(b"SSH-2.0-OpenSSH_9.6\r\n"), Peek::Other);
        assert_eq!(peek(b"\x00\x00\x00\x08\x04\xd2\x16\x2f"), Peek::Other);
    }

    #[test]
    fn lenient_request_lines_are_still_http() {
        assert_eq!(peek(b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), Peek::Other);
        assert!(mentions_http(b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"));
        assert!(mentions_http(b"get / http/1.1\r\n"));
        assert!(!mentions_http(b"SSH-2.0-OpenSSH_9.6\r\n"));
        assert!(!mentions_http(b"\x00\x00\x00\x08\x04\xd2\x16\x2f"));
    }

    proptest! {
        #[test]
        fn never_panics_on_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = peek(&bytes);
            let mut tls = vec![0x16, 0x03, 0x01];
            tls.extend_from_slice(&bytes);
            let _ = peek(&tls);
        }

        #[test]
        fn never_panics_on_mutated_hellos(flips in proptest::collection::vec((0usize..200, any::<u8>()), 1..8)) {
            let mut hello = client_hello_bytes(Some("mutated.example"));
            for (at, byte) in flips {
                let i = at % hello.len();
                hello[i] = byte;
            }
            let _ = peek(&hello);
        }
    }
}
