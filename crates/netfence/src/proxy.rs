//! The transparent proxy: every TCP connection from the fence arrives here. It recovers the
//! address the agent asked for, turns a synthetic address back into its name, requires the TLS
//! SNI or HTTP Host to be that name, asks the policy, resolves and vets the real address on the
//! host side, connects from there and relays with splice(2) (see `splice`), recording bytes and
//! duration.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use journal::{NetConnect, Verdict};
use policy::Decision;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

use crate::sni::{self, Peek};
use crate::state::Shared;
use crate::{addrs, fakeip, intercept, names, splice};

/// How long a client on a web port may take to send its ClientHello or request head.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// On other ports the server may speak first (SMTP, MySQL); wait this long, then go opaque.
const SERVER_FIRST_WAIT: Duration = Duration::from_millis(300);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Copy buffer per direction, for the fallback relay when no pipe can be had.
const BUF: usize = 64 * 1024;

const SO_ORIGINAL_DST: libc::c_int = 80;

/// The destination the client connected to before nftables redirected it here.
pub(crate) fn original_dst(stream: &TcpStream) -> io::Result<SocketAddr> {
    let fd = stream.as_raw_fd();
    if stream.local_addr()?.is_ipv4() {
        // SAFETY: getsockopt into a zeroed sockaddr_in of the stated size.
        let mut addr: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let rc = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_IP,
                SO_ORIGINAL_DST,
                (&mut addr as *mut libc::sockaddr_in).cast(),
                &mut len,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        let ip = Ipv4Addr::from(u32::from_be(addr.sin_addr.s_addr));
        Ok(SocketAddr::new(ip.into(), u16::from_be(addr.sin_port)))
    } else {
        // SAFETY: as above, for IP6T_SO_ORIGINAL_DST and sockaddr_in6.
        let mut addr: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
        let rc = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_IPV6,
                SO_ORIGINAL_DST,
                (&mut addr as *mut libc::sockaddr_in6).cast(),
                &mut len,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        let ip = Ipv6Addr::from(addr.sin6_addr.s6_addr);
        Ok(SocketAddr::new(ip.into(), u16::from_be(addr.sin6_port)))
    }
}

pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
) {
    let accepting = shared.clone();
    accept_each(listener, &accepting, stop, alive, move |stream, peer, stop| {
        handle(stream, peer, shared.clone(), stop)
    })
    .await
}

/// Accepts until told to stop, each connection on a task of its own that holds `alive` (so
/// `NetFence::stop` can wait for every connection to be recorded). At most
/// [`Shared::open_connections`] are open at once, across the proxy and the gateways: each costs
/// ringfence descriptors, and an agent that opens connections without end must not leave the
/// rest of ringfence (the sensors, the journal, the reports) without any. One past the cap is
/// closed at once and counted ([`Shared::record_over_cap`]).
pub(crate) async fn accept_each<F, Fut>(
    listener: TcpListener,
    shared: &Shared,
    mut stop: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
    handler: F,
) where
    F: Fn(TcpStream, SocketAddr, watch::Receiver<bool>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                // EMFILE and friends: back off instead of spinning.
                Err(_) => { tokio::time::sleep(Duration::from_millis(20)).await; continue }
            },
            _ = stop.changed() => return,
        };
        let Ok(permit) = shared.open_connections.clone().try_acquire_owned() else {
            let original = original_dst(&stream).ok();
            drop(stream);
            shared.record_over_cap(peer, original);
            continue;
        };
        let connection = handler(stream, peer, stop.clone());
        let alive = alive.clone();
        tokio::spawn(async move {
            let _alive = alive;
            let _permit = permit;
            connection.await;
        });
    }
}

/// Where a connection is going, once decided.
pub(crate) struct Route {
    pub decision: Decision,
    pub reason: Option<String>,
    /// Candidates to connect to, in order.
    pub targets: Vec<SocketAddr>,
}

async fn handle(
    mut client: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let start = Instant::now();
    let _ = client.set_nodelay(true);
    let Ok(original) = original_dst(&client) else { return };
    let attr = shared.clone();
    // Which process: looked up while the first bytes arrive, not before reading them (the
    // lookup walks /proc; the client's ClientHello is already on its way).
    let attribution = tokio::task::spawn_blocking(move || attr.attributor.tcp(peer, original));
    // The first bytes: read (not peeked) and replayed upstream, so waiting for more of a
    // ClientHello never spins.
    let (hello, peeked) = read_hello(&mut client, original.port()).await;
    let pid = attribution.await.ok().flatten();
    let name = fakeip::is_fake(original.ip()).then(|| shared.fakeips.name(original.ip()));
    let mut event = NetConnect {
        pid,
        protocol: "tcp".into(),
        host: name.clone().flatten(),
        sni: None,
        ip: original.ip().to_string(),
        port: original.port(),
        upstream: None,
        verdict: Verdict::Blocked,
        rule: String::new(),
        violation: true,
        reason: None,
        bytes_up: 0,
        bytes_down: 0,
        duration_ms: 0,
    };

    if let Peek::Name(sent) = &peeked {
        event.sni = Some(sent.clone());
    }
    let route = decide(&shared, original, name, &peeked).await;
    event.rule = route.decision.rule.clone();
    event.violation = !route.decision.allowed || route.reason.is_some();
    event.reason = route.reason.clone();
    let allowed = route.decision.allowed && route.reason.is_none();
    let tls = hello.first() == Some(&sni::TLS_HANDSHAKE);
    if !allowed && shared.block() {
        // With secrets in the fence, a refused web request is still read (and answered 403),
        // so a sentinel it carries is named as the exfiltration attempt it is.
        if let Peek::Name(sent) = &peeked
            && !shared.inspector.vault.is_empty()
        {
            let conn = intercept::Conn {
                host: sent.clone(),
                port: original.port(),
                pid,
                rule: route.decision.rule.clone(),
                targets: Vec::new(),
                refused: Some(
                    route
                        .reason
                        .clone()
                        .unwrap_or_else(|| format!("{sent} is not allowed ({})", route.decision.rule)),
                ),
                client_tls: tls,
                upstream_tls: tls,
                check_authority: true,
            };
            let counters: intercept::Counters = Default::default();
            intercept::serve(client, hello, conn, shared.clone(), counters.clone(), Default::default()).await;
            event.bytes_up = counters.0.load(Ordering::Relaxed);
            event.bytes_down = counters.1.load(Ordering::Relaxed);
        }
        event.duration_ms = start.elapsed().as_millis() as u64;
        shared.record_connect(event);
        return;
    }
    match how(&shared, event.host.as_deref(), original.port(), &hello, &peeked) {
        How::Splice => {}
        How::Refuse(why) => {
            event.violation = true;
            event.reason = Some(event.reason.map_or(String::new(), |r| format!("{r}; ")) + &why);
            if shared.block() {
                event.rule = "not-http".into();
                event.duration_ms = start.elapsed().as_millis() as u64;
                shared.record_connect(event);
                return;
            }
        }
        How::Intercept { host, tls } => {
            let conn = intercept::Conn {
                host,
                port: original.port(),
                pid,
                rule: route.decision.rule.clone(),
                targets: route.targets.clone(),
                refused: None,
                client_tls: tls,
                upstream_tls: tls,
                check_authority: true,
            };
            let counters: intercept::Counters = Default::default();
            event.verdict = Verdict::Allowed;
            let note = |event: &mut NetConnect, what: String| {
                event.reason = Some(event.reason.take().map_or(String::new(), |r| format!("{r}; ")) + &what);
            };
            let peer: intercept::Peer = Default::default();
            tokio::select! {
                ended = intercept::serve(client, hello, conn, shared.clone(), counters.clone(), peer.clone()) => {
                    if let Some(why) = ended {
                        note(&mut event, why);
                    }
                }
                _ = stop.changed() => note(&mut event, "closed when the run ended".into()),
            }
            event.upstream = peer.get().map(|a| a.to_string());
            event.bytes_up = counters.0.load(Ordering::Relaxed);
            event.bytes_down = counters.1.load(Ordering::Relaxed);
            event.duration_ms = start.elapsed().as_millis() as u64;
            shared.record_connect(event);
            return;
        }
    }

    let upstream = match connect(&route.targets).await {
        Ok(s) => s,
        Err(e) => {
            event.verdict = Verdict::Blocked;
            event.reason = Some(
                event.reason.map_or(String::new(), |r| format!("{r}; "))
                    + &format!("upstream connect failed: {e}"),
            );
            event.duration_ms = start.elapsed().as_millis() as u64;
            shared.record_connect(event);
            return;
        }
    };
    event.upstream = upstream.peer_addr().ok().map(|a| a.to_string());
    event.verdict = Verdict::Allowed;
    let _ = upstream.set_nodelay(true);
    let counters = Arc::new((AtomicU64::new(0), AtomicU64::new(0)));
    let mut upstream = upstream;
    let spliced = async {
        upstream.write_all(&hello).await?;
        counters.0.fetch_add(hello.len() as u64, Ordering::Relaxed);
        match splice::Pipe::new().and_then(|a| Ok((a, splice::Pipe::new()?))) {
            Ok(pipes) => splice::bidirectional(&client, &upstream, pipes, &counters.0, &counters.1).await,
            // Out of descriptors for the pipes: the same relay through user-space buffers.
            Err(_) => {
                let mut counted = Counted { inner: &mut client, counters: counters.clone() };
                tokio::io::copy_bidirectional_with_sizes(&mut counted, &mut upstream, BUF, BUF).await
            }
        }
    };
    tokio::select! {
        _ = spliced => {}
        _ = stop.changed() => {
            event.reason = Some(event.reason.map_or(String::new(), |r| format!("{r}; ")) + "closed when the run ended");
        }
    }
    event.bytes_up = counters.0.load(Ordering::Relaxed);
    event.bytes_down = counters.1.load(Ordering::Relaxed);
    event.duration_ms = start.elapsed().as_millis() as u64;
    shared.record_connect(event);
}

/// The policy's answer for this connection and where it would go.
/// `name` is `None` for a real address, `Some(None)` for an unknown synthetic one.
async fn decide(shared: &Shared, original: SocketAddr, name: Option<Option<String>>, peeked: &Peek) -> Route {
    let port = original.port();
    let ip = original.ip();
    let refuse = |rule: &str, reason: String| Route {
        decision: Decision { allowed: false, rule: rule.into() },
        reason: Some(reason),
        targets: Vec::new(),
    };
    match name {
        Some(None) => {
            refuse("unknown-synthetic-address", format!("{ip} was never handed out by ringfence's DNS"))
        }
        Some(Some(name)) => {
            if let Peek::Name(sent) = peeked
                && *sent != name
            {
                return refuse(
                    "sni-mismatch",
                    format!("the client asked for {sent} over a connection to {name} (domain fronting)"),
                );
            }
            let decision = shared.policy.egress_decision(&name, port);
            if !decision.allowed && shared.block() {
                return Route { decision, reason: None, targets: Vec::new() };
            }
            match shared.upstream.resolve(&name).await {
                Ok(ips) => vet(shared, decision, ips, port),
                Err(e) => {
                    Route { decision, reason: Some(format!("resolving {name}: {e}")), targets: Vec::new() }
                }
            }
        }
        None if is_own(shared, original) => {
            refuse("ringfence-socket", "a direct connection to ringfence's own listener".into())
        }
        None if ip.is_loopback() => {
            // Host services: the namespace's loopback is redirected here only for the ports the
            // policy names; the host's own loopback is the target.
            let decision = names::host_service_decision(&shared.policy, port);
            Route { decision, reason: None, targets: vec![original] }
        }
        None => {
            let decision = shared.policy.cidr_decision(ip, port);
            let reason = (!decision.allowed).then(|| "a connection to an address, not a name".to_string());
            Route { decision, reason, targets: vec![original] }
        }
    }
}

/// How an allowed connection is carried.
enum How {
    /// Relayed as bytes (a direct address, a passthrough host's TLS, another protocol).
    Splice,
    /// Terminated and served request by request, each request's authority checked.
    Intercept { host: String, tls: bool },
    /// Neither TLS nor HTTP on a web port: refused in block mode, flagged in audit mode.
    Refuse(String),
}

/// Web ports, where anything but TLS or HTTP is refused: a lenient server could still read
/// bytes the proxy does not recognise as HTTP as a request for another name.
const WEB_PORTS: [u16; 4] = [80, 443, 8080, 8443];

/// Every connection to a name that speaks HTTP, plain or inside TLS, is read request by request,
/// so a second request on a kept-alive connection cannot name another host; TLS is spliced only
/// for the policy's passthrough hosts (or when the fence's clients do not trust the run's CA).
fn how(shared: &Shared, host: Option<&str>, port: u16, hello: &[u8], peeked: &Peek) -> How {
    let Some(host) = host else { return How::Splice };
    if hello.first() == Some(&sni::TLS_HANDSHAKE) {
        return match shared.inspector.terminates(&shared.policy, host) {
            true => How::Intercept { host: host.to_string(), tls: true },
            false => How::Splice,
        };
    }
    if matches!(peeked, Peek::Name(_) | Peek::Nameless) || sni::mentions_http(hello) {
        return How::Intercept { host: host.to_string(), tls: false };
    }
    if WEB_PORTS.contains(&port) {
        return How::Refuse(format!("neither TLS nor HTTP to {host} on web port {port}"));
    }
    How::Splice
}

/// Keeps only real addresses the policy lets this name reach: special-purpose addresses
/// (private, loopback, metadata…) need a `cidr:` rule of their own.
pub(crate) fn vet(shared: &Shared, decision: Decision, ips: Vec<IpAddr>, port: u16) -> Route {
    let mut refused = Vec::new();
    let mut targets = Vec::new();
    for ip in ips {
        match addrs::special(ip) {
            Some(why) if !shared.policy.cidr_decision(ip, port).allowed => {
                refused.push(format!("{ip} ({why})"))
            }
            _ => targets.push(SocketAddr::new(ip, port)),
        }
    }
    if targets.is_empty() && !refused.is_empty() {
        let reason = format!("the name resolves to {}, which no cidr rule allows", refused.join(", "));
        if shared.block() {
            return Route {
                decision: Decision { allowed: false, rule: "special-address".into() },
                reason: Some(reason),
                targets,
            };
        }
        // Audit mode still connects (to the refused addresses) but flags it.
        let targets = refused
            .iter()
            .filter_map(|r| r.split(' ').next()?.parse().ok())
            .map(|ip| SocketAddr::new(ip, port))
            .collect();
        return Route {
            decision: Decision { allowed: false, rule: "special-address".into() },
            reason: Some(reason),
            targets,
        };
    }
    Route { decision, reason: None, targets }
}

fn is_own(shared: &Shared, addr: SocketAddr) -> bool {
    addr.ip().is_loopback() && (addr.port() == shared.proxy_port || addr.port() == shared.dns_port)
}

/// Reads the client's first bytes until they name a host, prove not to be TLS/HTTP, or time out.
async fn read_hello(client: &mut TcpStream, port: u16) -> (Vec<u8>, Peek) {
    let mut buf = Vec::with_capacity(2048);
    let web = matches!(port, 80 | 443 | 8080 | 8443);
    let first_wait = if web { HELLO_TIMEOUT } else { SERVER_FIRST_WAIT };
    let deadline = tokio::time::Instant::now() + HELLO_TIMEOUT;
    let mut chunk = [0u8; 4096];
    loop {
        let wait = if buf.is_empty() { tokio::time::Instant::now() + first_wait } else { deadline };
        match tokio::time::timeout_at(wait, client.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => {
                let peek = sni::peek(&buf);
                return (buf, if peek == Peek::Incomplete { Peek::Other } else { peek });
            }
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
        }
        match sni::peek(&buf) {
            Peek::Incomplete if buf.len() < sni::MAX_HELLO => continue,
            Peek::Incomplete => return (buf, Peek::Other),
            done => return (buf, done),
        }
    }
}

pub(crate) async fn connect(targets: &[SocketAddr]) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address to connect to");
    for target in targets {
        match tokio::time::timeout(CONNECT_TIMEOUT, connect_one(*target)).await {
            Ok(Ok(s)) => return Ok(s),
            Ok(Err(e)) => last = e,
            Err(_) => {
                last = io::Error::new(io::ErrorKind::TimedOut, format!("connecting to {target} timed out"))
            }
        }
    }
    Err(last)
}

/// One upstream connection, marked as ringfence's own when a job fence runs (see `mark`).
async fn connect_one(target: SocketAddr) -> io::Result<TcpStream> {
    let socket = match target {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    crate::mark::apply(&socket)?;
    socket.connect(target).await
}

/// The client side of a splice, counting bytes as they pass so a connection cut at stop time
/// still reports what it moved.
struct Counted<'a> {
    inner: &'a mut TcpStream,
    counters: Arc<(AtomicU64, AtomicU64)>,
}

impl AsyncRead for Counted<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut *self.inner).poll_read(cx, buf);
        self.counters.0.fetch_add((buf.filled().len() - before) as u64, Ordering::Relaxed);
        poll
    }
}

impl AsyncWrite for Counted<'_> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut *self.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = poll {
            self.counters.1.fetch_add(n as u64, Ordering::Relaxed);
        }
        poll
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.inner).poll_shutdown(cx)
    }
}
