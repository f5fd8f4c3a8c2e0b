//! The benchmark's upstream: a Rust HTTPS server (tokio, rustls, hyper; HTTP/1.1 and HTTP/2)
//! in the fake internet, so the numbers measure the proxies rather than the test web server.
//! `GET /` answers 2 bytes, `GET /bulk/<bytes>` streams that many bytes in 1 MiB frames, and
//! `POST /v1/messages` streams an Anthropic-shaped `text/event-stream` of [`SSE_DELTAS`]
//! deltas, one event per body frame, with usage in `message_start` and `message_delta`.

use std::convert::Infallible;
use std::net::TcpListener;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Text deltas in one streamed message.
pub const SSE_DELTAS: u64 = 400_000;
/// Output tokens the stream reports (one per delta), so metering can be checked.
pub const SSE_OUTPUT_TOKENS: u64 = SSE_DELTAS;

const DELTA: &str = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\
\"delta\":{\"type\":\"text_delta\",\"text\":\"streamed through the fence \"}}\n\n";

/// A body of `head`, then `frame` `count` times, then `tail`.
struct Frames {
    head: Option<Bytes>,
    frame: Bytes,
    count: u64,
    tail: Option<Bytes>,
    exact: Option<u64>,
}

impl hyper::body::Body for Frames {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if let Some(head) = self.head.take() {
            return Poll::Ready(Some(Ok(Frame::data(head))));
        }
        if self.count > 0 {
            self.count -= 1;
            return Poll::Ready(Some(Ok(Frame::data(self.frame.clone()))));
        }
        Poll::Ready(self.tail.take().map(|t| Ok(Frame::data(t))))
    }

    fn size_hint(&self) -> SizeHint {
        self.exact.map(SizeHint::with_exact).unwrap_or_default()
    }
}

fn sse() -> Frames {
    let head = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_bench\",\
\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\
\"usage\":{\"input_tokens\":1000,\"output_tokens\":1}}}\n\n\
event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\
\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n";
    let tail = format!(
        "event: content_block_stop\ndata: {{\"type\":\"content_block_stop\",\"index\":0}}\n\n\
event: message_delta\ndata: {{\"type\":\"message_delta\",\"delta\":{{\"stop_reason\":\"end_turn\"}},\
\"usage\":{{\"output_tokens\":{SSE_OUTPUT_TOKENS}}}}}\n\n\
event: message_stop\ndata: {{\"type\":\"message_stop\"}}\n\n"
    );
    Frames {
        head: Some(Bytes::from_static(head.as_bytes())),
        frame: Bytes::from_static(DELTA.as_bytes()),
        count: SSE_DELTAS,
        tail: Some(Bytes::from(tail)),
        exact: None,
    }
}

/// Bytes of the whole event stream, for checking what a client received.
pub fn sse_bytes() -> u64 {
    let mut body = sse();
    let mut total = body.head.take().map_or(0, |h| h.len() as u64);
    total += body.frame.len() as u64 * body.count;
    total + body.tail.take().map_or(0, |t| t.len() as u64)
}

async fn answer(req: Request<Incoming>) -> Result<Response<Frames>, Infallible> {
    let path = req.uri().path();
    let (body, content_type) = if let Some(size) = path.strip_prefix("/bulk/") {
        let size: u64 = size.parse().unwrap_or(0);
        let mib = Bytes::from(vec![b'x'; 1 << 20]);
        let body = Frames {
            head: Some(mib.slice(..(size % (1 << 20)) as usize)),
            frame: mib,
            count: size >> 20,
            tail: None,
            exact: Some(size),
        };
        (body, "application/octet-stream")
    } else if path == "/v1/messages" {
        (sse(), "text/event-stream")
    } else {
        let ok = Frames {
            head: Some(Bytes::from_static(b"ok")),
            frame: Bytes::new(),
            count: 0,
            tail: None,
            exact: Some(2),
        };
        (ok, "text/plain")
    };
    let mut resp = Response::new(body);
    resp.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(content_type));
    Ok(resp)
}

/// Serves on `listener` (already bound in the fake internet) with `cert`/`key` until the
/// process ends; its threads are named `bench-upstream` so their CPU time can be told apart.
pub fn serve(listener: TcpListener, cert: &Path, key: &Path) {
    let certs =
        CertificateDer::pem_file_iter(cert).expect("cert").collect::<Result<Vec<_>, _>>().expect("cert");
    let key = PrivateKeyDer::from_pem_file(key).expect("key");
    let mut config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("server cert");
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::Builder::new()
        .name("bench-upstream".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("bench-upstream")
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                loop {
                    let Ok((tcp, _)) = listener.accept().await else { continue };
                    let _ = tcp.set_nodelay(true);
                    let acceptor = acceptor.clone();
                    tokio::spawn(async move {
                        let Ok(tls) = acceptor.accept(tcp).await else { return };
                        let service = hyper::service::service_fn(answer);
                        let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                            .serve_connection(TokioIo::new(tls), service)
                            .await;
                    });
                }
            });
        })
        .expect("upstream thread");
}
