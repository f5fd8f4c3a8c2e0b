//! Bodies in flight through an intercepted connection. A request body is scanned for secret
//! sentinels as it streams (nothing is buffered whole); a response body is counted and, for
//! model APIs, metered; when it ends or is dropped the request is recorded exactly once.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body as _, Frame, Incoming};

use super::BoxError;

/// A found foreign sentinel: told to the caller, which answers whether to cut the body off.
pub(crate) type OnFound = Box<dyn FnMut(Vec<String>) -> bool + Send + Sync>;

pub(crate) struct ScanBody {
    inner: Incoming,
    scanner: Option<inspect::BodyScanner>,
    on_found: OnFound,
    up: Arc<AtomicU64>,
}

impl ScanBody {
    pub fn new(
        inner: Incoming,
        scanner: Option<inspect::BodyScanner>,
        on_found: OnFound,
        up: Arc<AtomicU64>,
    ) -> Self {
        ScanBody { inner, scanner, on_found, up }
    }

    fn check(&mut self, found: Vec<String>) -> Result<(), BoxError> {
        if !found.is_empty() && (self.on_found)(found) {
            self.scanner = None;
            return Err(
                "ringfence refused the request: its body carries a secret's sentinel bound for another host"
                    .into(),
            );
        }
        Ok(())
    }
}

impl hyper::body::Body for ScanBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.up.fetch_add(data.len() as u64, Ordering::Relaxed);
                    let found = this.scanner.as_mut().map(|s| s.feed(data)).unwrap_or_default();
                    if let Err(e) = this.check(found) {
                        return Poll::Ready(Some(Err(e)));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Box::new(e)))),
            Poll::Ready(None) => {
                let found = this.scanner.as_mut().map(|s| s.finish()).unwrap_or_default();
                match this.check(found) {
                    Err(e) => Poll::Ready(Some(Err(e))),
                    Ok(()) => Poll::Ready(None),
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// How a model response's usage is read: from the event stream as it passes, or from the JSON
/// body (kept up to a cap) at its end.
pub(crate) enum Meter {
    None,
    Sse(inspect::SseMeter),
    Json(inspect::Provider, Vec<u8>),
}

/// The most of a JSON model response kept for reading its usage.
const JSON_CAP: usize = 8 << 20;

impl Meter {
    fn feed(&mut self, data: &[u8]) {
        match self {
            Meter::None => {}
            Meter::Sse(m) => m.feed(data),
            Meter::Json(_, buf) if buf.len() + data.len() <= JSON_CAP => buf.extend_from_slice(data),
            Meter::Json(..) => *self = Meter::None,
        }
    }

    fn usage(&self) -> Option<inspect::Usage> {
        match self {
            Meter::None => None,
            Meter::Sse(m) => m.usage(),
            Meter::Json(p, buf) => inspect::usage_from_json(*p, buf),
        }
    }
}

/// Called once with (bytes down, usage, whether the body was read to its end).
pub(crate) type Done = Box<dyn FnOnce(u64, Option<inspect::Usage>, bool) + Send + Sync>;

/// Told of real values found in a response (secret, form) and, once, of a response cut off
/// because it could not be scanned.
pub(crate) type OnReturned = Box<dyn FnMut(Vec<inspect::Found>, Option<String>) + Send + Sync>;

/// A response body from a secret's host, scrubbed as it streams: real values become sentinels
/// before a byte reaches the agent; a body that cannot be decoded is cut off.
pub(crate) struct ScrubBody {
    inner: super::driver::DrivenBody,
    scrubber: Option<inspect::ResponseScrubber>,
    on_returned: OnReturned,
    keeps_length: bool,
    /// Trailers that arrived with output still to pass on first.
    trailers: Option<Frame<Bytes>>,
}

impl ScrubBody {
    pub fn new(
        inner: super::driver::DrivenBody,
        scrubber: inspect::ResponseScrubber,
        on_returned: OnReturned,
    ) -> Self {
        let keeps_length = scrubber.keeps_length();
        ScrubBody { inner, scrubber: Some(scrubber), on_returned, keeps_length, trailers: None }
    }

    /// The scrubbed output of `data` (and, at the end, everything held back).
    fn scrub(&mut self, data: &Bytes, end: bool) -> Result<Bytes, BoxError> {
        let Some(s) = self.scrubber.as_mut() else { return Ok(Bytes::new()) };
        let out = if end {
            s.feed(data).and_then(|mut out| {
                out.extend_from_slice(&s.finish()?);
                Ok(Bytes::from(out))
            })
        } else {
            // A chunk with nothing to replace goes on as the buffer it came in.
            s.pass(data).map(|pass| match pass {
                inspect::Pass::Unchanged(n) => data.slice(..n),
                inspect::Pass::Replaced(out) => Bytes::from(out),
            })
        };
        let found = s.take_found();
        if !found.is_empty() {
            (self.on_returned)(found, None);
        }
        if end {
            self.scrubber = None;
        }
        match out {
            Ok(out) => Ok(out),
            Err(e) => self.cut(e),
        }
    }

    fn cut(&mut self, e: inspect::Unscannable) -> Result<Bytes, BoxError> {
        self.scrubber = None;
        (self.on_returned)(Vec::new(), Some(e.0.clone()));
        Err(format!("ringfence cut the response off: {e}").into())
    }
}

impl hyper::body::Body for ScrubBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        loop {
            if this.scrubber.is_none() {
                return Poll::Ready(this.trailers.take().map(Ok));
            }
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => {
                        // hyper may not poll a body whose known length has been read: finish
                        // with the last data frame so the held-back tail is not lost.
                        let end = this.inner.is_end_stream();
                        match this.scrub(&data, end) {
                            Ok(out) if out.is_empty() && !end => continue,
                            Ok(out) => return Poll::Ready(Some(Ok(Frame::data(out)))),
                            Err(e) => return Poll::Ready(Some(Err(e))),
                        }
                    }
                    // Trailers are not scrubbed: they end the body, so flush first.
                    Err(trailers) => {
                        return match this.scrub(&Bytes::new(), true) {
                            Ok(out) if out.is_empty() => Poll::Ready(Some(Ok(trailers))),
                            Ok(out) => {
                                this.trailers = Some(trailers);
                                Poll::Ready(Some(Ok(Frame::data(out))))
                            }
                            Err(e) => Poll::Ready(Some(Err(e))),
                        };
                    }
                },
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(Box::new(e)))),
                Poll::Ready(None) => {
                    return match this.scrub(&Bytes::new(), true) {
                        Ok(out) if out.is_empty() => Poll::Ready(None),
                        Ok(out) => Poll::Ready(Some(Ok(Frame::data(out)))),
                        Err(e) => Poll::Ready(Some(Err(e))),
                    };
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.scrubber.is_none() && self.trailers.is_none()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        if self.keeps_length { self.inner.size_hint() } else { hyper::body::SizeHint::default() }
    }
}

pub(crate) struct MeterBody {
    inner: super::Body,
    meter: Meter,
    down: u64,
    done: Option<Done>,
}

impl MeterBody {
    pub fn new(inner: super::Body, meter: Meter, done: Done) -> Self {
        MeterBody { inner, meter, down: 0, done: Some(done) }
    }

    fn finish(&mut self, complete: bool) {
        if let Some(done) = self.done.take() {
            done(self.down, self.meter.usage(), complete);
        }
    }
}

impl Drop for MeterBody {
    fn drop(&mut self) {
        // hyper stops polling once a body's known length has been delivered (and never polls a
        // HEAD response's), so "ended" is what the body says of itself, not whether we saw None.
        let complete = self.inner.is_end_stream();
        self.finish(complete);
    }
}

impl hyper::body::Body for MeterBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(chunk) = frame.data_ref() {
                    this.down += chunk.len() as u64;
                    this.meter.feed(chunk);
                }
            }
            Poll::Ready(Some(Err(_))) => this.finish(false),
            Poll::Ready(None) => this.finish(true),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}
