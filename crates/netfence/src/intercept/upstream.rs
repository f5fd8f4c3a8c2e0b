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
use crate::tls::UpstreamTls;

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
}

enum Pool {
    Empty,
    H2(http2::SendRequest<Body>),
    H1(Vec<(http1::SendRequest<Body>, Arc<Driver>)>),
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
    ) -> Upstream {
        Upstream { host, targets, tls, offer_h2, pool: tokio::sync::Mutex::new(Pool::Empty), first_peer }
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
                idle.retain(|(s, _)| !s.is_closed());
                idle.iter().position(|(s, _)| s.is_ready()).map(|i| idle.swap_remove(i))
            }
            _ => None,
        };
        let (mut sender, driver) = match ready {
            Some(sender) => sender,
            None => match self.connect().await? {
                Connected::H2(sender) => {
                    *pool = Pool::H2(sender.clone());
                    drop(pool);
                    return Self::h2_send(sender, prepare(req, Speaks::H2)).await;
                }
                Connected::H1(sender, driver) => (sender, driver),
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
                Pool::H1(idle) if idle.len() < H1_IDLE => idle.push((sender, driver)),
                Pool::Empty => *pool = Pool::H1(vec![(sender, driver)]),
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
        if let Ok(peer) = tcp.peer_addr() {
            let _ = self.first_peer.set(peer);
        }
        let Some(tls) = &self.tls else { return h1(TokioIo::new(tcp)).await };
        let config = if self.offer_h2 { tls.h2.clone() } else { tls.h1.clone() };
        let name = ServerName::try_from(self.host.clone()).map_err(|e| format!("{}: {e}", self.host))?;
        let stream = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS to {} failed: {e} (trusting {})", self.host, tls.summary))?;
        let h2_agreed = stream.get_ref().1.alpn_protocol() == Some(b"h2");
        let io = TokioIo::new(stream);
        if h2_agreed {
            let (sender, conn) = http2::handshake(TokioExecutor::new(), io)
                .await
                .map_err(|e| format!("HTTP/2 with {}: {e}", self.host))?;
            tokio::spawn(conn);
            Ok(Connected::H2(sender))
        } else {
            h1(io).await
        }
    }
}

enum Connected {
    H2(http2::SendRequest<Body>),
    H1(http1::SendRequest<Body>, Arc<Driver>),
}

async fn h1<T>(io: TokioIo<T>) -> Result<Connected, String>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = http1::handshake(io).await.map_err(|e| format!("HTTP/1.1 upstream: {e}"))?;
    let driver = Driver::spawn(async move {
        let _ = conn.with_upgrades().await;
    });
    Ok(Connected::H1(sender, driver))
}
