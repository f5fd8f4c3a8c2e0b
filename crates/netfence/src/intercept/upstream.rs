//! Where an intercepted connection's requests go: connections to the real server, opened only
//! when a request is actually forwarded, verified TLS with the connection's own name as SNI.
//! HTTP/2 upstream is one multiplexed connection; HTTP/1.1 is a small pool, because one
//! HTTP/1.1 connection carries one request at a time.

use std::net::SocketAddr;
use std::sync::Arc;

use hyper::client::conn::{http1, http2};
use hyper::{Request, Response, body::Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;

use super::Body;
use super::driver::Driver;
use super::idle::{IdlePool, Kept, Key};
use crate::tls::UpstreamTls;

/// Bytes read from an upstream TLS connection's socket at a time.
const READ_BUFFER: usize = 64 * 1024;

/// Idle HTTP/1.1 connections kept per client connection.
const H1_IDLE: usize = 8;

pub(crate) struct Upstream {
    host: String,
    targets: Vec<SocketAddr>,
    /// `None` for plain HTTP.
    tls: Option<UpstreamTls>,
    /// The client negotiated HTTP/2 with the proxy, so HTTP/2 is offered upstream too.
    offer_h2: bool,
    pool: tokio::sync::Mutex<Pool>,
    /// The first real server connected to, for the connection's `net.connect` record.
    first_peer: super::Peer,
    /// Where this connection's idle HTTP/1.1 upstream connections go when it ends, and come
    /// from when it starts (`None`: not kept, the process is unknown).
    idle: Option<(Arc<IdlePool>, Key)>,
}

enum Pool {
    Empty,
    H2(http2::SendRequest<Body>),
    H1(Vec<Kept>),
}

/// A response, and for HTTP/1.1 the driver its body can poll the connection through.
pub(crate) type Answer = (Response<Incoming>, Option<Arc<Driver>>);

/// What an upstream connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Speaks {
    H1,
    H2,
}

impl Upstream {
    pub fn new(
        host: String,
        targets: Vec<SocketAddr>,
        tls: Option<UpstreamTls>,
        offer_h2: bool,
        first_peer: super::Peer,
        idle: Option<(Arc<IdlePool>, u32)>,
    ) -> Upstream {
        let idle = idle.map(|(pool, pid)| {
            let key = Key { pid, host: host.clone(), targets: targets.clone(), tls: tls.is_some(), offer_h2 };
            (pool, key)
        });
        Upstream {
            host,
            targets,
            tls,
            offer_h2,
            pool: tokio::sync::Mutex::new(Pool::Empty),
            first_peer,
            idle,
        }
    }

    /// Sends one request; `prepare` adapts it to the protocol the upstream connection speaks
    /// (absolute URI for HTTP/2, Host header for HTTP/1.1).
    pub async fn send(
        &self,
        req: Request<Body>,
        prepare: impl FnOnce(Request<Body>, Speaks) -> Request<Body>,
    ) -> Result<Answer, String> {
        let mut pool = self.pool.lock().await;
        if let Pool::H2(sender) = &*pool
            && !sender.is_closed()
        {
            let sender = sender.clone();
            drop(pool);
            return Self::h2_send(sender, prepare(req, Speaks::H2)).await;
        }
        let ready = match &mut *pool {
            Pool::H1(idle) => {
                idle.retain(|k| !k.sender.is_closed());
                idle.iter().position(|k| k.sender.is_ready()).map(|i| idle.swap_remove(i))
            }
            _ => None,
        };
        let ready = ready.or_else(|| {
            let (pool, key) = self.idle.as_ref()?;
            let kept = pool.take(key)?;
            if let Some(peer) = kept.peer {
                let _ = self.first_peer.set(peer);
            }
            Some(kept)
        });
        let Kept { mut sender, driver, peer } = match ready {
            Some(kept) => kept,
            None => match self.connect().await? {
                Connected::H2(sender) => {
                    *pool = Pool::H2(sender.clone());
                    drop(pool);
                    return Self::h2_send(sender, prepare(req, Speaks::H2)).await;
                }
                Connected::H1(sender, driver, peer) => Kept { sender, driver, peer },
            },
        };
        drop(pool);
        let response = sender
            .send_request(prepare(req, Speaks::H1))
            .await
            .map(|r| (r, Some(driver.clone())))
            .map_err(|e| e.to_string());
        // Back to the pool: it is ready again once this response's body has been read.
        if response.as_ref().is_ok_and(|(r, _)| r.status() != hyper::StatusCode::SWITCHING_PROTOCOLS) {
            let mut pool = self.pool.lock().await;
            match &mut *pool {
                Pool::H1(idle) if idle.len() < H1_IDLE => idle.push(Kept { sender, driver, peer }),
                Pool::Empty => *pool = Pool::H1(vec![Kept { sender, driver, peer }]),
                _ => {}
            }
        }
        response
    }

    async fn h2_send(mut sender: http2::SendRequest<Body>, req: Request<Body>) -> Result<Answer, String> {
        sender.send_request(req).await.map(|r| (r, None)).map_err(|e| e.to_string())
    }

    async fn connect(&self) -> Result<Connected, String> {
        let tcp =
            crate::proxy::connect(&self.targets).await.map_err(|e| format!("connecting upstream: {e}"))?;
        let _ = tcp.set_nodelay(true);
        let peer = tcp.peer_addr().ok();
        if let Some(peer) = peer {
            let _ = self.first_peer.set(peer);
        }
        let Some(tls) = &self.tls else { return h1(TokioIo::new(tcp), peer).await };
        let config = if self.offer_h2 { tls.h2() } else { tls.h1() };
        let name = ServerName::try_from(self.host.clone()).map_err(|e| format!("{}: {e}", self.host))?;
        // rustls asks its transport for 4 KiB at a time: one receive call per 4 KiB of a
        // download, each a trip into the kernel. A buffer in between takes what the socket has.
        let tcp = tokio::io::BufReader::with_capacity(READ_BUFFER, tcp);
        let stream = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS to {} failed: {e} (trusting {})", self.host, tls.summary()))?;
        let h2_agreed = stream.get_ref().1.alpn_protocol() == Some(b"h2");
        let io = TokioIo::new(stream);
        if h2_agreed {
            let (sender, conn) = http2::handshake(TokioExecutor::new(), io)
                .await
                .map_err(|e| format!("HTTP/2 with {}: {e}", self.host))?;
            tokio::spawn(conn);
            Ok(Connected::H2(sender))
        } else {
            h1(io, peer).await
        }
    }
}

enum Connected {
    H2(http2::SendRequest<Body>),
    H1(http1::SendRequest<Body>, Arc<Driver>, Option<SocketAddr>),
}

async fn h1<T>(io: TokioIo<T>, peer: Option<SocketAddr>) -> Result<Connected, String>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = http1::handshake(io).await.map_err(|e| format!("HTTP/1.1 upstream: {e}"))?;
    let driver = Driver::spawn(async move {
        let _ = conn.with_upgrades().await;
    });
    Ok(Connected::H1(sender, driver, peer))
}

impl Drop for Upstream {
    /// The client connection ended: its idle upstream connections wait for the next one.
    fn drop(&mut self) {
        let Some((idle, key)) = self.idle.take() else { return };
        if let Pool::H1(kept) = std::mem::replace(self.pool.get_mut(), Pool::Empty) {
            idle.put(key, kept);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intercept::driver::DrivenBody;
    use http_body_util::BodyExt;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A keep-alive HTTP/1.1 server that answers `ok` to every request and counts connections.
    async fn server(accepted: Arc<AtomicUsize>) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                accepted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let (mut head, mut buf) = (Vec::new(), [0u8; 4096]);
                    while let Ok(n @ 1..) = s.read(&mut buf).await {
                        head.extend_from_slice(&buf[..n]);
                        while let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                            head.drain(..end + 4);
                            let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                            if s.write_all(answer).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        addr
    }

    async fn one_request(pool: &Arc<IdlePool>, addr: SocketAddr, pid: u32) {
        let upstream = Upstream::new(
            "x.test".into(),
            vec![addr],
            None,
            false,
            Default::default(),
            Some((pool.clone(), pid)),
        );
        let req = Request::get("/").header("host", "x.test").body(Body::default()).unwrap();
        let (response, driver) = upstream.send(req, |r, _| r).await.unwrap();
        let body = DrivenBody::new(response.into_body(), driver).collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"ok");
        // Let the connection's task see the message end, as the client's next request would.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_process_reuses_its_upstream_connection_across_client_connections_and_no_other_does() {
        let accepted = Arc::new(AtomicUsize::new(0));
        let addr = server(accepted.clone()).await;
        let pool = Arc::new(IdlePool::default());
        for _ in 0..3 {
            one_request(&pool, addr, 100).await;
        }
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            1,
            "one upstream connection for three client connections"
        );
        one_request(&pool, addr, 200).await;
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            2,
            "another process never gets the first one's connection"
        );
    }
}
