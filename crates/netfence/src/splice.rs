//! Zero-copy relay between two TCP sockets: `splice(2)` from one socket into a pipe and from the
//! pipe into the other, so proxied bytes never pass through user space. Readiness comes from the
//! sockets' own tokio registrations (`readable`/`writable` + `try_io`); the pipe is only ever
//! filled when empty and drained completely, so it never blocks on its own.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::Interest;
use tokio::net::TcpStream;

/// Pipe capacity asked for per direction (the kernel rounds; a smaller pipe still works).
const PIPE_SIZE: libc::c_int = 1024 * 1024;
const FLAGS: libc::c_uint = libc::SPLICE_F_NONBLOCK | libc::SPLICE_F_MOVE;

/// One direction's pipe.
pub(crate) struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
    size: usize,
}

impl Pipe {
    pub(crate) fn new() -> io::Result<Pipe> {
        let mut fds = [0 as RawFd; 2];
        // SAFETY: pipe2 writes two descriptors into the array on success.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: both descriptors are fresh and owned by nobody else.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        // SAFETY: fcntl on a descriptor we own. Falls back to the default size when refused
        // (e.g. above /proc/sys/fs/pipe-max-size for an unprivileged user).
        let size = unsafe {
            let got = libc::fcntl(write.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_SIZE);
            if got > 0 { got } else { libc::fcntl(write.as_raw_fd(), libc::F_GETPIPE_SZ) }
        };
        Ok(Pipe { read, write, size: usize::try_from(size).unwrap_or(64 * 1024).max(4096) })
    }
}

fn splice(from: RawFd, to: RawFd, len: usize) -> io::Result<usize> {
    // SAFETY: splice between descriptors we hold open for the duration of the call, with null
    // offsets (sockets and pipes have none).
    let n = unsafe { libc::splice(from, std::ptr::null_mut(), to, std::ptr::null_mut(), len, FLAGS) };
    if n < 0 { Err(io::Error::last_os_error()) } else { Ok(n as usize) }
}

/// Moves bytes from `src` to `dst` until `src` reaches end of stream, then half-closes `dst`
/// (as `copy_bidirectional` does). Adds every byte delivered to `dst` to `counter`.
pub(crate) async fn one_way(
    src: &TcpStream,
    dst: &TcpStream,
    pipe: Pipe,
    counter: &AtomicU64,
) -> io::Result<u64> {
    let mut total = 0u64;
    loop {
        // Fill: the pipe is empty here, so EAGAIN can only mean the socket has nothing yet.
        let n = loop {
            src.readable().await?;
            match src
                .try_io(Interest::READABLE, || splice(src.as_raw_fd(), pipe.write.as_raw_fd(), pipe.size))
            {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        if n == 0 {
            // SAFETY: shutdown on a socket we hold; the read half stays open for the reply.
            let _ = unsafe { libc::shutdown(dst.as_raw_fd(), libc::SHUT_WR) };
            return Ok(total);
        }
        // Drain everything that went into the pipe before reading more.
        let mut left = n;
        while left > 0 {
            dst.writable().await?;
            match dst.try_io(Interest::WRITABLE, || splice(pipe.read.as_raw_fd(), dst.as_raw_fd(), left)) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(m) => {
                    left -= m;
                    total += m as u64;
                    counter.fetch_add(m as u64, Ordering::Relaxed);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

/// Relays both directions until both have reached end of stream or either fails.
/// `up` counts client→upstream bytes, `down` upstream→client.
pub(crate) async fn bidirectional(
    client: &TcpStream,
    upstream: &TcpStream,
    pipes: (Pipe, Pipe),
    up: &AtomicU64,
    down: &AtomicU64,
) -> io::Result<(u64, u64)> {
    tokio::try_join!(one_way(client, upstream, pipes.0, up), one_way(upstream, client, pipes.1, down))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    async fn pair(listener: &TcpListener) -> (TcpStream, TcpStream) {
        let addr = listener.local_addr().unwrap();
        let (a, b) = tokio::join!(TcpStream::connect(addr), listener.accept());
        (a.unwrap(), b.unwrap().0)
    }

    /// client ⇄ [proxy_client | proxy_upstream] ⇄ server, over loopback.
    #[tokio::test]
    async fn relays_both_ways_counts_bytes_and_half_closes() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (mut client, proxy_client) = pair(&listener).await;
        let (proxy_upstream, mut server) = pair(&listener).await;
        let (up, down) = (AtomicU64::new(0), AtomicU64::new(0));
        let relay = async {
            let pipes = (Pipe::new().unwrap(), Pipe::new().unwrap());
            bidirectional(&proxy_client, &proxy_upstream, pipes, &up, &down).await
        };
        let request: Vec<u8> = (0..3_000_000u32).map(|i| i as u8).collect();
        let ends = async {
            // The client sends everything and half-closes; the server sees end of stream,
            // then answers on the still-open other half.
            client.write_all(&request).await.unwrap();
            client.shutdown().await.unwrap();
            let mut got = Vec::new();
            server.read_to_end(&mut got).await.unwrap();
            assert!(got == request, "request corrupted");
            server.write_all(b"answer after the client's half-close").await.unwrap();
            server.shutdown().await.unwrap();
            let mut answer = Vec::new();
            client.read_to_end(&mut answer).await.unwrap();
            assert_eq!(answer, b"answer after the client's half-close");
        };
        let (relayed, ()) = tokio::join!(relay, ends);
        let (a, b) = relayed.unwrap();
        assert_eq!((a, b), (3_000_000, 36));
        assert_eq!((up.load(Ordering::Relaxed), down.load(Ordering::Relaxed)), (3_000_000, 36));
    }
}
