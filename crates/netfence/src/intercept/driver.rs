//! An upstream HTTP/1.1 connection driven from the task that reads its response body.
//!
//! hyper hands a response body over from the connection's task to the reader's task one
//! decoded chunk at a time. An event stream sends one chunk per event, and with the two tasks
//! on different runtime threads every event cost a cross-thread wake-up (an `eventfd` write and
//! an `epoll` return) and, because only one chunk was ever waiting, one TLS record and one
//! `send` toward the client. So the connection future is shared: a spawned task polls it as
//! before (request heads, idle keep-alive, close), and while a response body is being read the
//! reader polls it too, in its own task, whenever the body has nothing waiting. Chunks then
//! arrive without a wake-up, and the reader can gather the ones already in the socket.
//!
//! A future wakes only the task that polled it last; so when the reader stops (the body ended
//! or was dropped) it wakes the spawned task, which polls again and takes the wake-ups back.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, TryLockError};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use hyper::body::{Body as _, Frame, Incoming};

type Conn = Pin<Box<dyn Future<Output = ()> + Send>>;

pub(crate) struct Driver {
    /// `None` once the connection has ended.
    conn: Mutex<Option<Conn>>,
    /// The spawned task's waker, from its last poll.
    spawned: Mutex<Option<Waker>>,
    /// A reader drives the connection: the spawned task leaves it alone, or each chunk the
    /// reader takes would wake it on the other thread to race for the connection.
    reading: AtomicBool,
}

impl Driver {
    /// Spawns the task that owns the connection's progress when no body is being read.
    pub fn spawn(conn: impl Future<Output = ()> + Send + 'static) -> Arc<Driver> {
        let driver = Arc::new(Driver {
            conn: Mutex::new(Some(Box::pin(conn))),
            spawned: Mutex::new(None),
            reading: AtomicBool::new(false),
        });
        let task = driver.clone();
        tokio::spawn(std::future::poll_fn(move |cx| task.poll_spawned(cx)));
        driver
    }

    fn poll_spawned(&self, cx: &mut Context<'_>) -> Poll<()> {
        *self.spawned.lock().unwrap_or_else(|p| p.into_inner()) = Some(cx.waker().clone());
        if self.reading.load(Ordering::SeqCst) {
            return Poll::Pending;
        }
        match self.conn.try_lock() {
            Ok(mut conn) => Self::poll_conn(&mut conn, cx),
            // The reader is polling it right now; try again shortly rather than miss a wake-up.
            Err(TryLockError::WouldBlock) => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Err(TryLockError::Poisoned(p)) => Self::poll_conn(&mut p.into_inner(), cx),
        }
    }

    fn poll_conn(conn: &mut Option<Conn>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(fut) = conn.as_mut() else { return Poll::Ready(()) };
        let done = fut.as_mut().poll(cx).is_ready();
        if done {
            *conn = None;
            return Poll::Ready(());
        }
        Poll::Pending
    }

    /// Polls the connection from the reader's task. False when it could not (ended, or the
    /// spawned task holds it): the body's own wake-up then comes the ordinary way.
    fn drive(&self, cx: &mut Context<'_>) -> bool {
        let Ok(mut conn) = self.conn.try_lock() else { return false };
        if conn.is_none() {
            return false;
        }
        if Self::poll_conn(&mut conn, cx).is_ready() {
            drop(conn);
            self.hand_back();
        }
        true
    }

    /// The reader is done: the spawned task polls again, so wake-ups go to it.
    fn hand_back(&self) {
        self.reading.store(false, Ordering::SeqCst);
        if let Some(w) = self.spawned.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            w.wake_by_ref();
        }
    }
}

/// Data chunks already decoded are passed on together, up to this many bytes: an event stream
/// arrives as one small chunk per event, and the scrubber, the meter and the TLS record toward
/// the client each cost something per chunk. Nothing waits for more data to arrive.
const GATHER: usize = 64 * 1024;

/// A chunk at least this big goes on as it is, uncopied.
const ALONE: usize = 16 * 1024;

/// A response body that drives its connection while it waits for data, and gathers the
/// chunks already waiting.
pub(crate) struct DrivenBody {
    inner: Incoming,
    driver: Option<Arc<Driver>>,
    /// What ended a gathering (trailers, an error, the end) and is passed on next.
    held: Option<Held>,
}

enum Held {
    Frame(Frame<Bytes>),
    Error(hyper::Error),
    End,
}

impl DrivenBody {
    /// With a driver, the body drives the connection until it ends or is dropped; the
    /// response's request has been sent by then (HTTP/1.1 answers after the request as a rule;
    /// a request body still streaming moves on whenever the reader polls).
    pub fn new(inner: Incoming, driver: Option<Arc<Driver>>) -> DrivenBody {
        if let Some(d) = &driver {
            d.reading.store(true, Ordering::SeqCst);
        }
        DrivenBody { inner, driver, held: None }
    }

    fn release(&mut self) {
        if let Some(d) = self.driver.take() {
            d.hand_back();
        }
    }

    /// The next frame from hyper, driving the connection once when none is waiting.
    fn next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let mut polled = Pin::new(&mut self.inner).poll_frame(cx);
        // Nothing waiting: let the connection decode the next chunk here (it hands over one at
        // a time), then look again.
        if polled.is_pending() && self.driver.as_ref().is_some_and(|d| d.drive(cx)) {
            polled = Pin::new(&mut self.inner).poll_frame(cx);
        }
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) {
            self.release();
        }
        polled
    }
}

impl Drop for DrivenBody {
    fn drop(&mut self) {
        self.release();
    }
}

impl hyper::body::Body for DrivenBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = &mut *self;
        let release = |held: Held| match held {
            Held::Frame(f) => Poll::Ready(Some(Ok(f))),
            Held::Error(e) => Poll::Ready(Some(Err(e))),
            Held::End => Poll::Ready(None),
        };
        if let Some(held) = this.held.take() {
            return release(held);
        }
        let mut gathered = bytes::BytesMut::new();
        let data = |gathered: bytes::BytesMut| Poll::Ready(Some(Ok(Frame::data(gathered.freeze()))));
        loop {
            let next = match this.next(cx) {
                Poll::Pending if gathered.is_empty() => return Poll::Pending,
                Poll::Pending => return data(gathered),
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(chunk) if gathered.is_empty() && chunk.len() >= ALONE => {
                        return Poll::Ready(Some(Ok(Frame::data(chunk))));
                    }
                    Ok(chunk) => {
                        gathered.extend_from_slice(&chunk);
                        // hyper may not poll a body whose known length has been read.
                        if gathered.len() >= GATHER || this.inner.is_end_stream() {
                            return data(gathered);
                        }
                        continue;
                    }
                    Err(trailers) => Held::Frame(trailers),
                },
                Poll::Ready(Some(Err(e))) => Held::Error(e),
                Poll::Ready(None) => Held::End,
            };
            if gathered.is_empty() {
                return release(next);
            }
            this.held = Some(next);
            return data(gathered);
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.held, None | Some(Held::End)) && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use hyper::client::conn::http1;
    use hyper_util::rt::TokioIo;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const EVENT: &[u8] = b"data: {\"type\":\"content_block_delta\"}\n\n";
    const EVENTS: usize = 2000;

    /// A server that answers each request on one connection with a chunked body of `EVENTS`
    /// one-event chunks, written in one go (as a fast model stream arrives).
    async fn server() -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut answer = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
            for _ in 0..EVENTS {
                answer.extend_from_slice(format!("{:x}\r\n", EVENT.len()).as_bytes());
                answer.extend_from_slice(EVENT);
                answer.extend_from_slice(b"\r\n");
            }
            answer.extend_from_slice(b"0\r\n\r\n");
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                let Ok(n) = s.read(&mut buf).await else { return };
                if n == 0 {
                    return;
                }
                head.extend_from_slice(&buf[..n]);
                while let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                    head.drain(..end + 4);
                    if s.write_all(&answer).await.is_err() {
                        return;
                    }
                }
            }
        });
        addr
    }

    /// A connection to a new `server()`, driven as the proxy drives its upstream ones.
    async fn connect() -> (http1::SendRequest<http_body_util::Empty<Bytes>>, Arc<Driver>) {
        let tcp = tokio::net::TcpStream::connect(server().await).await.unwrap();
        let (sender, conn) = http1::handshake(TokioIo::new(tcp)).await.unwrap();
        let driver = Driver::spawn(async move {
            let _ = conn.await;
        });
        (sender, driver)
    }

    fn get() -> hyper::Request<http_body_util::Empty<Bytes>> {
        hyper::Request::get("/").header("host", "x").body(http_body_util::Empty::new()).unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_driven_body_arrives_whole_gathered_and_the_connection_is_reused() {
        let (mut sender, driver) = connect().await;
        for _ in 0..3 {
            let response = tokio::time::timeout(Duration::from_secs(10), sender.send_request(get()))
                .await
                .expect("the spawned task drives the connection between bodies")
                .unwrap();
            // Let the whole stream reach the socket first, as it does when the client side is
            // the slower one; then what is waiting must go on in few frames.
            tokio::time::sleep(Duration::from_millis(100)).await;
            let mut body = DrivenBody::new(response.into_body(), Some(driver.clone()));
            let (mut bytes, mut frames) = (0, 0);
            while let Some(frame) = tokio::time::timeout(Duration::from_secs(10), body.frame()).await.unwrap()
            {
                bytes += frame.unwrap().into_data().unwrap().len();
                frames += 1;
            }
            assert_eq!(bytes, EVENT.len() * EVENTS);
            // Chunks already in the socket went on together, not one frame per event.
            assert!(frames < EVENTS / 4, "{frames} frames for {EVENTS} events");
            drop(body);
            tokio::time::timeout(Duration::from_secs(10), sender.ready()).await.unwrap().unwrap();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_body_dropped_halfway_hands_the_connection_back() {
        let (mut sender, driver) = connect().await;
        let response = sender.send_request(get()).await.unwrap();
        let mut body = DrivenBody::new(response.into_body(), Some(driver.clone()));
        body.frame().await.unwrap().unwrap();
        drop(body);
        // hyper closes a connection whose body was not read to its end; the spawned task has
        // to see that, or the connection (and the pool slot) would hang.
        tokio::time::timeout(Duration::from_secs(10), async {
            while !sender.is_closed() && sender.ready().await.is_ok() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("the connection ended");
        assert!(driver.conn.lock().unwrap().is_none() || sender.is_closed());
    }

    use std::time::Duration;
}
