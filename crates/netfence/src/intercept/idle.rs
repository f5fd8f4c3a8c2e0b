//! Upstream HTTP/1.1 connections kept open after the client connection that opened them ended,
//! for the next connection of the same process to the same server: a client that opens a new
//! connection per request (or per tool call) then costs one TLS handshake, not two, and no TCP
//! connect toward the server.
//!
//! A kept connection is reused only for the same process (by pid), the same name, port and
//! addresses, and the same TLS offer: it never carries one process's requests after
//! another's, so connection-bound state on the server (NTLM-style auth, a server's per-connection
//! cache) stays where it was made. Connections without a known pid are not kept.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::client::conn::http1::SendRequest;

use super::Body;
use super::driver::Driver;

/// Kept per key: enough for a client that runs a few requests at a time.
const PER_KEY: usize = 4;
/// Kept in all.
const TOTAL: usize = 256;
/// How long a kept connection may stay unused; servers close idle ones sooner or later, and a
/// connection they closed is noticed and dropped on its own.
const MAX_IDLE: Duration = Duration::from_secs(30);

/// Who may reuse a kept connection.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub pid: u32,
    pub host: String,
    pub targets: Vec<SocketAddr>,
    pub tls: bool,
    pub offer_h2: bool,
}

pub(crate) struct Kept {
    pub sender: SendRequest<Body>,
    pub driver: Arc<Driver>,
    pub peer: Option<SocketAddr>,
}

#[derive(Default)]
pub(crate) struct IdlePool {
    kept: Mutex<HashMap<Key, Vec<(Kept, Instant)>>>,
}

impl IdlePool {
    /// A kept connection ready for a request, if one is.
    pub fn take(&self, key: &Key) -> Option<Kept> {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        let list = kept.get_mut(key)?;
        let now = Instant::now();
        list.retain(|(k, since)| !k.sender.is_closed() && now.duration_since(*since) < MAX_IDLE);
        let found = list.iter().position(|(k, _)| k.sender.is_ready()).map(|i| list.swap_remove(i).0);
        if list.is_empty() {
            kept.remove(key);
        }
        found
    }

    /// Keeps what a finished client connection leaves; what does not fit is closed (dropped).
    pub fn put(&self, key: Key, leaving: Vec<Kept>) {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        for list in kept.values_mut() {
            list.retain(|(k, since)| !k.sender.is_closed() && now.duration_since(*since) < MAX_IDLE);
        }
        kept.retain(|_, list| !list.is_empty());
        let total: usize = kept.values().map(Vec::len).sum();
        let room = TOTAL.saturating_sub(total);
        let list = kept.entry(key).or_default();
        let fits = PER_KEY.saturating_sub(list.len()).min(room);
        list.extend(leaving.into_iter().filter(|k| !k.sender.is_closed()).take(fits).map(|k| (k, now)));
        kept.retain(|_, list| !list.is_empty());
    }
}
