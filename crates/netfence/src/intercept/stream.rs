//! The client's side of an intercepted connection: the bytes the proxy already read while
//! peeking (the ClientHello or request head) are served again first, and every byte is counted
//! for the connection's `net.connect` record.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Bytes up (client → proxy) and down (proxy → client).
pub(crate) type Counters = Arc<(AtomicU64, AtomicU64)>;

pub(crate) struct Rewind {
    prefix: Vec<u8>,
    offset: usize,
    inner: TcpStream,
    counters: Counters,
}

impl Rewind {
    pub fn new(prefix: Vec<u8>, inner: TcpStream, counters: Counters) -> Rewind {
        counters.0.fetch_add(prefix.len() as u64, Ordering::Relaxed);
        Rewind { prefix, offset: 0, inner, counters }
    }
}

impl AsyncRead for Rewind {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.offset < self.prefix.len() {
            let n = (self.prefix.len() - self.offset).min(buf.remaining());
            let start = self.offset;
            buf.put_slice(&self.prefix[start..start + n]);
            self.offset += n;
            if self.offset == self.prefix.len() {
                self.prefix = Vec::new();
                self.offset = 0;
            }
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        self.counters.0.fetch_add((buf.filled().len() - before) as u64, Ordering::Relaxed);
        poll
    }
}

impl AsyncWrite for Rewind {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = poll {
            self.counters.1.fetch_add(n as u64, Ordering::Relaxed);
        }
        poll
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn replays_the_prefix_then_reads_on() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(b" world").await.unwrap();
        });
        let (server, _) = listener.accept().await.unwrap();
        let counters: Counters = Default::default();
        let mut r = Rewind::new(b"hello".to_vec(), server, counters.clone());
        let mut all = Vec::new();
        r.read_to_end(&mut all).await.unwrap();
        client.await.unwrap();
        assert_eq!(all, b"hello world");
        assert_eq!(counters.0.load(Ordering::Relaxed), 11);
    }
}
