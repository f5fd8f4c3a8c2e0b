//! One HTTP request through an intercepted connection: checked, rewritten, forwarded,
//! recorded.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use journal::{Event, HttpRequest, ModelUsage, SecretExfil, SecretReturned, Verdict};

use super::body::{Meter, MeterBody, ScanBody, ScrubBody};
use super::driver::DrivenBody;
use super::upstream::{Speaks, Upstream};
use super::{Body, Conn};
use crate::state::Shared;

/// The longest path kept in a record.
const PATH_MAX: usize = 2048;
/// How much of a refused request's body is read to look for sentinels.
const REFUSED_BODY_SCAN: usize = 64 * 1024;

/// Headers that describe one hop, not the request: never forwarded as they are.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

pub(crate) struct Ctx {
    conn: Conn,
    shared: Arc<Shared>,
    upstream: Upstream,
    /// The host whose secrets this connection's requests may carry: its own name when they
    /// leave encrypted (or the policy allows cleartext for it), else none (`""` owns nothing, so
    /// every sentinel counts as foreign).
    secrets_host: String,
}

impl Ctx {
    pub fn new(conn: Conn, shared: Arc<Shared>, client_h2: bool, peer: super::Peer) -> Arc<Ctx> {
        let tls = conn.upstream_tls.then(|| shared.inspector.upstream_tls.clone());
        // Kept upstream connections only for a known process's allowed connections.
        let idle =
            conn.pid.filter(|_| conn.refused.is_none()).map(|pid| (shared.inspector.idle.clone(), pid));
        let upstream = Upstream::new(conn.host.clone(), conn.targets.clone(), tls, client_h2, peer, idle);
        let encrypted = conn.upstream_tls || shared.inspector.cleartext_secrets(&conn.host);
        let secrets_host = if encrypted { conn.host.clone() } else { String::new() };
        Arc::new(Ctx { conn, shared, upstream, secrets_host })
    }

    /// Says why a sentinel of the host's own secret is refused on a plain-HTTP request.
    fn cleartext_note(&self) -> &'static str {
        if self.secrets_host.is_empty() && self.shared.inspector.vault.wants_inspection(&self.conn.host) {
            " (plain HTTP: secrets go only into requests that leave encrypted, unless \
             inspect.<host>.cleartext_secrets is set)"
        } else {
            ""
        }
    }

    fn block(&self) -> bool {
        self.shared.block()
    }

    fn emit(&self, event: Event) {
        self.shared.emit(event);
    }

    fn exfil(&self, secret: &str, location: &str, verdict: Verdict) {
        self.emit(Event::SecretExfil(SecretExfil {
            pid: self.conn.pid,
            secret: secret.to_string(),
            host: self.conn.host.clone(),
            port: self.conn.port,
            location: location.to_string(),
            verdict,
        }));
    }

    /// A real value came back in a response (replaced: `Allowed`), or a response was cut off
    /// because it could not be scanned (`Blocked`, with the reason).
    fn returned(&self, secret: &str, location: &str, form: &str, verdict: Verdict, reason: Option<String>) {
        self.emit(Event::SecretReturned(SecretReturned {
            pid: self.conn.pid,
            secret: secret.to_string(),
            host: self.conn.host.clone(),
            port: self.conn.port,
            location: location.to_string(),
            form: form.to_string(),
            verdict,
            reason,
        }));
    }

    /// Responses from a host some secret belongs to are scrubbed of real values: only those
    /// hosts are ever sent one.
    fn scrubs(&self) -> bool {
        self.shared.inspector.vault.wants_inspection(&self.conn.host)
    }
}

pub(crate) fn provider_name(p: inspect::Provider) -> &'static str {
    p.name()
}

pub(crate) async fn handle(req: Request<Incoming>, ctx: Arc<Ctx>) -> Result<Response<Body>, Infallible> {
    let start = Instant::now();
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str()).to_string();
    let mut event = HttpRequest {
        pid: ctx.conn.pid,
        host: ctx.conn.host.clone(),
        port: ctx.conn.port,
        method: req.method().to_string(),
        path: cut(&path),
        status: None,
        verdict: Verdict::Blocked,
        rule: ctx.conn.rule.clone(),
        violation: false,
        reason: None,
        injected: Vec::new(),
        bytes_up: 0,
        bytes_down: 0,
        duration_ms: 0,
        usage: None,
    };
    let refuse = |mut event: HttpRequest, status: StatusCode, rule: &str, reason: String| {
        event.status = Some(status.as_u16());
        event.rule = rule.to_string();
        event.violation = true;
        event.reason = Some(reason.clone());
        event.duration_ms = start.elapsed().as_millis() as u64;
        ctx.emit(Event::HttpRequest(event));
        text(status, &format!("ringfence: {reason}\n"))
    };

    if ctx.conn.check_authority
        && let Some((rule, status, why)) = authority_problem(&req, &ctx.conn.host)
    {
        if ctx.block() || ctx.conn.refused.is_some() {
            scan_refused(&ctx, req).await;
            return Ok(refuse(event, status, rule, why));
        }
        // Audit: let through (to the connection's own name, which `adapt` writes), flagged.
        event.rule = rule.to_string();
        event.violation = true;
        event.reason = Some(why);
    }

    if let Some(reason) = ctx.conn.refused.clone() {
        let rule = ctx.conn.rule.clone();
        scan_refused(&ctx, req).await;
        return Ok(refuse(event, StatusCode::FORBIDDEN, &rule, reason));
    }

    let inspector = &ctx.shared.inspector;
    if let Some(rules) = inspector.rules_for(&ctx.conn.host) {
        let decision =
            inspect::route_decision(rules, inspector.repo.as_deref(), req.method().as_str(), &path);
        event.rule = decision.rule.clone();
        if !decision.allowed {
            let why =
                format!("{} {} is not allowed on {} ({})", req.method(), path, ctx.conn.host, decision.rule);
            if ctx.block() {
                return Ok(refuse(event, StatusCode::FORBIDDEN, &decision.rule, why));
            }
            event.violation = true;
            event.reason = Some(why);
        }
    }

    // Secrets: real values in for this host's own secrets, sentinels of others reported.
    let (mut parts, incoming) = req.into_parts();
    let mut foreign = Vec::new();
    let mut injected = Vec::new();
    let rewritten = inspector.vault.rewrite_url(&ctx.secrets_host, path.as_bytes());
    foreign.extend(rewritten.foreign.iter().map(|n| (n.clone(), "url".to_string())));
    injected.extend(rewritten.injected.iter().cloned());
    if !rewritten.injected.is_empty() {
        match String::from_utf8(rewritten.bytes.to_vec()).ok().and_then(|p| p.parse::<Uri>().ok()) {
            Some(uri) => parts.uri = uri,
            None => {
                return Ok(refuse(
                    event,
                    StatusCode::BAD_REQUEST,
                    "secrets",
                    "the rewritten URL is not valid".into(),
                ));
            }
        }
    }
    rewrite_headers(&ctx, &mut parts.headers, &mut injected, &mut foreign);
    injected.sort();
    injected.dedup();
    event.injected = injected;
    if !foreign.is_empty() {
        let verdict = if ctx.block() { Verdict::Blocked } else { Verdict::Allowed };
        for (name, location) in &foreign {
            ctx.exfil(name, location, verdict);
        }
        let names: Vec<&str> = foreign.iter().map(|(n, _)| n.as_str()).collect();
        let why = format!(
            "the request carries the sentinel of {}, which may not go to {}{}",
            names.join(", "),
            ctx.conn.host,
            ctx.cleartext_note()
        );
        if ctx.block() {
            return Ok(refuse(event, StatusCode::FORBIDDEN, "secrets", why));
        }
        event.violation = true;
        event.reason = Some(why);
    }

    // Model budget: the next request after a cap gets the provider's own error.
    let provider = inspect::provider_for(&ctx.conn.host);
    if let Some(p) = provider {
        let checked = inspector.ledger.lock().unwrap_or_else(|e| e.into_inner()).check(p);
        if let Err(exceeded) = checked {
            let verdict = if ctx.block() { Verdict::Blocked } else { Verdict::Allowed };
            ctx.emit(budget_event(
                ctx.conn.pid,
                &exceeded,
                verdict,
                format!("model request refused: {}", exceeded.message),
            ));
            if ctx.block() {
                let (status, content_type, body) =
                    inspect::refusal_body(p, &format!("ringfence: {}", exceeded.message));
                event.status = Some(status);
                event.rule = format!("budget.{}", provider_name(p));
                event.violation = true;
                event.reason = Some(exceeded.message.clone());
                event.duration_ms = start.elapsed().as_millis() as u64;
                ctx.emit(Event::HttpRequest(event));
                let mut resp = Response::new(full(body));
                *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
                resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
                return Ok(resp);
            }
        }
        // Usage is read from HTTP bodies only: a model stream over a websocket (Codex tries
        // the Responses API's first) would run unmetered and past any budget. Refused without a
        // violation, as the protocol choice it is; clients fall back to HTTPS.
        if parts.headers.contains_key(header::UPGRADE) {
            let reason = "a websocket to a metered model API would not be metered; use HTTPS".to_string();
            event.status = Some(StatusCode::FORBIDDEN.as_u16());
            event.rule = format!("metered.{}", provider_name(p));
            event.reason = Some(reason.clone());
            event.injected.clear();
            event.duration_ms = start.elapsed().as_millis() as u64;
            ctx.emit(Event::HttpRequest(event));
            return Ok(text(StatusCode::FORBIDDEN, &format!("ringfence: {reason}\n")));
        }
        // Usage is read from the body: ask for it uncompressed.
        parts.headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("identity"));
    }
    if ctx.scrubs() {
        // Responses are scrubbed of real values: ask for them uncompressed (gzip and deflate
        // are decoded if they come anyway; anything else is cut off).
        parts.headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("identity"));
    }

    // Upgrades (websockets) keep being scanned once the server agrees; compressed websocket
    // frames could not be, so the extension is not offered.
    let wants_upgrade = parts.headers.contains_key(header::UPGRADE);
    let websocket = parts
        .headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|p| p.trim().eq_ignore_ascii_case("websocket")));
    if wants_upgrade {
        parts.headers.remove(header::SEC_WEBSOCKET_EXTENSIONS);
    }
    let upgrade_headers = wants_upgrade.then(|| {
        (parts.headers.get(header::UPGRADE).cloned(), parts.headers.get(header::CONNECTION).cloned())
    });
    strip_hop_by_hop(&mut parts.headers);
    if let Some((upgrade, connection)) = upgrade_headers {
        parts.headers.extend(upgrade.map(|v| (header::UPGRADE, v)));
        parts.headers.extend(connection.map(|v| (header::CONNECTION, v)));
    }

    let up = Arc::new(AtomicU64::new(0));
    let scanner = inspector.vault.body_scanner(
        &ctx.secrets_host,
        parts.headers.get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok()),
    );
    let on_found = {
        let ctx = ctx.clone();
        let mut seen = std::collections::BTreeSet::new();
        Box::new(move |names: Vec<String>| {
            let verdict = if ctx.block() { Verdict::Blocked } else { Verdict::Allowed };
            for name in names {
                if seen.insert(name.clone()) {
                    ctx.exfil(&name, "body", verdict);
                }
            }
            ctx.block()
        })
    };
    let mut client_req =
        Request::from_parts(parts, Body::new(ScanBody::new(incoming, Some(scanner), on_found, up.clone())));
    let client_upgrade = wants_upgrade.then(|| hyper::upgrade::on(&mut client_req));
    let host = ctx.conn.host.clone();
    let port = ctx.conn.port;
    let tls = ctx.conn.upstream_tls;
    let response = ctx.upstream.send(client_req, |req, speaks| adapt(req, speaks, &host, port, tls)).await;
    let (mut response, driver) = match response {
        Ok(r) => r,
        Err(e) => {
            event.status = Some(502);
            event.verdict = Verdict::Allowed;
            event.reason = Some(e.clone());
            event.bytes_up = up.load(Ordering::Relaxed);
            event.duration_ms = start.elapsed().as_millis() as u64;
            ctx.emit(Event::HttpRequest(event));
            return Ok(text(StatusCode::BAD_GATEWAY, &format!("ringfence: upstream {host}: {e}\n")));
        }
    };
    event.status = Some(response.status().as_u16());
    event.verdict = Verdict::Allowed;

    if response.status() == StatusCode::SWITCHING_PROTOCOLS
        && let Some(client_upgrade) = client_upgrade
    {
        if response.headers().contains_key(header::SEC_WEBSOCKET_EXTENSIONS) {
            let why = "the server agreed to a websocket extension that was not offered; its frames could not be scanned";
            ctx.returned("", "websocket", "unscanned", Verdict::Blocked, Some(why.into()));
            return Ok(refuse(event, StatusCode::BAD_GATEWAY, "secrets", why.into()));
        }
        let server_upgrade = hyper::upgrade::on(&mut response);
        let relay_ctx = ctx.clone();
        tokio::spawn(async move {
            if let (Ok(c), Ok(s)) = (client_upgrade.await, server_upgrade.await) {
                relay(relay_ctx, hyper_util::rt::TokioIo::new(c), hyper_util::rt::TokioIo::new(s), websocket)
                    .await;
            }
        });
        event.bytes_up = up.load(Ordering::Relaxed);
        event.duration_ms = start.elapsed().as_millis() as u64;
        ctx.emit(Event::HttpRequest(event));
        let (mut parts, _) = response.into_parts();
        parts.headers.remove(header::TRANSFER_ENCODING);
        return Ok(Response::from_parts(parts, Body::new(Empty::new().map_err(|e: Infallible| match e {}))));
    }

    let meter = match provider {
        Some(p) if is_event_stream(response.headers()) => Meter::Sse(inspect::SseMeter::new(p)),
        Some(p) => Meter::Json(p, Vec::new()),
        None => Meter::None,
    };
    let (mut parts, incoming) = response.into_parts();
    let incoming = DrivenBody::new(incoming, driver);
    strip_hop_by_hop(&mut parts.headers);
    let body: Body = if ctx.scrubs() {
        scrub_headers(&ctx, &mut parts.headers);
        let encoding = parts.headers.get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok());
        match inspector.vault.response_scrubber(encoding) {
            Ok(scrubber) => {
                if scrubber.decodes() {
                    parts.headers.remove(header::CONTENT_ENCODING);
                    parts.headers.remove(header::CONTENT_LENGTH);
                } else if !scrubber.keeps_length() {
                    parts.headers.remove(header::CONTENT_LENGTH);
                }
                let on_returned = {
                    let ctx = ctx.clone();
                    Box::new(move |found: Vec<inspect::Found>, cut: Option<String>| {
                        for f in found {
                            ctx.returned(&f.name, "response body", f.form, Verdict::Allowed, None);
                        }
                        if let Some(why) = cut {
                            ctx.returned("", "response body", "unscanned", Verdict::Blocked, Some(why));
                        }
                    })
                };
                Body::new(ScrubBody::new(incoming, scrubber, on_returned))
            }
            Err(e) => {
                ctx.returned("", "response body", "unscanned", Verdict::Blocked, Some(e.0.clone()));
                event.reason = Some(e.0.clone());
                return Ok(refuse(event, StatusCode::BAD_GATEWAY, "secrets", e.0));
            }
        }
    } else {
        Body::new(incoming.map_err(|e| -> super::BoxError { Box::new(e) }))
    };
    let done = {
        let ctx = ctx.clone();
        Box::new(move |down: u64, usage: Option<inspect::Usage>, complete: bool| {
            event.bytes_up = up.load(Ordering::Relaxed);
            event.bytes_down = down;
            event.duration_ms = start.elapsed().as_millis() as u64;
            if !complete {
                event.reason.get_or_insert_with(|| "the response was cut off before its end".into());
            }
            if let (Some(p), Some(usage)) = (provider, usage) {
                event.usage = Some(meter_usage(&ctx, p, &usage));
            }
            ctx.emit(Event::HttpRequest(event));
        })
    };
    Ok(Response::from_parts(parts, Body::new(MeterBody::new(body, meter, done))))
}

/// Prices a model call, adds it to the run's ledger, and journals the crossing of a cap.
fn meter_usage(ctx: &Ctx, p: inspect::Provider, usage: &inspect::Usage) -> ModelUsage {
    let usd = inspect::price(p, usage);
    let crossed = ctx.shared.inspector.ledger.lock().unwrap_or_else(|e| e.into_inner()).record(p, usage, usd);
    if let Some(exceeded) = crossed {
        let what = format!("cap reached: {}; the next model request will be refused", exceeded.message);
        ctx.emit(budget_event(ctx.conn.pid, &exceeded, Verdict::Allowed, what));
    }
    ModelUsage {
        provider: provider_name(p).into(),
        model: usage.model.clone(),
        input_tokens: usage.input_tokens,
        output_tokens: usage.output_tokens,
        cache_read_tokens: usage.cache_read_tokens,
        cache_write_tokens: usage.cache_write_tokens,
        usd,
        prices: inspect::PRICES_VERSION.into(),
    }
}

fn budget_event(pid: Option<u32>, e: &inspect::Exceeded, verdict: Verdict, what: String) -> Event {
    Event::Budget(journal::Budget {
        pid,
        provider: e.provider.clone(),
        tokens: e.tokens,
        usd: e.usd,
        max_tokens: e.max_tokens,
        max_usd: e.max_usd,
        exceeded: true,
        verdict,
        what,
    })
}

/// Puts real values into this host's own secrets' headers; collects sentinels of others.
fn rewrite_headers(
    ctx: &Ctx,
    headers: &mut HeaderMap,
    injected: &mut Vec<String>,
    foreign: &mut Vec<(String, String)>,
) {
    let vault = &ctx.shared.inspector.vault;
    let names: Vec<HeaderName> = headers.keys().cloned().collect();
    for name in names {
        let values: Vec<HeaderValue> = headers.get_all(&name).iter().cloned().collect();
        let mut changed = false;
        let mut out = Vec::with_capacity(values.len());
        for value in values {
            let rw = vault.rewrite_header(&ctx.secrets_host, name.as_str(), value.as_bytes());
            foreign.extend(rw.foreign.iter().map(|n| (n.clone(), format!("header {name}"))));
            if rw.injected.is_empty() {
                out.push(value);
                continue;
            }
            injected.extend(rw.injected.iter().cloned());
            changed = true;
            match HeaderValue::from_bytes(&rw.bytes) {
                Ok(mut v) => {
                    v.set_sensitive(true);
                    out.push(v);
                }
                Err(_) => out.push(value),
            }
        }
        if changed {
            headers.remove(&name);
            for v in out {
                headers.append(name.clone(), v);
            }
        }
    }
}

/// Replaces real values in a response's headers by their sentinels, recording each.
fn scrub_headers(ctx: &Ctx, headers: &mut HeaderMap) {
    let vault = &ctx.shared.inspector.vault;
    let names: Vec<HeaderName> = headers.keys().cloned().collect();
    for name in names {
        let values: Vec<HeaderValue> = headers.get_all(&name).iter().cloned().collect();
        let scrubbed: Vec<inspect::Scrubbed> = values.iter().map(|v| vault.scrub(v.as_bytes())).collect();
        if scrubbed.iter().all(|s| s.found.is_empty()) {
            continue;
        }
        headers.remove(&name);
        for s in scrubbed {
            for f in &s.found {
                ctx.returned(&f.name, &format!("response header {name}"), f.form, Verdict::Allowed, None);
            }
            // A scrubbed value has the original's bytes but for letters and digits: still valid.
            if let Ok(v) = HeaderValue::from_bytes(&s.bytes) {
                headers.append(name.clone(), v);
            }
        }
    }
}

/// Relays an upgraded connection, scanning both directions (see [`super::websocket`]); in block
/// mode a sentinel bound elsewhere ends it, and anything that cannot be scanned ends it in both
/// modes.
async fn relay<C, S>(ctx: Arc<Ctx>, client: C, server: S, websocket: bool)
where
    C: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
{
    use super::websocket::{Stop, downstream, upstream};
    let vault = &ctx.shared.inspector.vault;
    let (client_read, client_write) = tokio::io::split(client);
    let (server_read, server_write) = tokio::io::split(server);
    let scanner = vault.body_scanner(&ctx.conn.host, None);
    let found = |names: Vec<String>| {
        let verdict = if ctx.block() { Verdict::Blocked } else { Verdict::Allowed };
        for name in names {
            ctx.exfil(&name, "websocket", verdict);
        }
        ctx.block()
    };
    let up = upstream(client_read, server_write, websocket, scanner, found);
    // Hosts no secret belongs to never get a real value: nothing to replace in what they send.
    let scrubber = match no_secrets() {
        Some(empty) if !ctx.scrubs() => empty.response_scrubber(None),
        _ => vault.response_scrubber(None),
    };
    let Ok(scrubber) = scrubber else { return };
    let down = downstream(server_read, client_write, websocket, scrubber, |found| {
        for f in found {
            ctx.returned(&f.name, "websocket", f.form, Verdict::Allowed, None);
        }
    });
    // A direction that ends cleanly lets the other finish; one that stops for a reason ends
    // the connection (both halves dropped).
    tokio::pin!(up, down);
    let (mut up_done, mut down_done) = (false, false);
    let mut stopped = Ok(());
    while !(up_done && down_done) {
        let r = tokio::select! {
            r = &mut up, if !up_done => { up_done = true; r }
            r = &mut down, if !down_done => { down_done = true; r }
        };
        if r.is_err() {
            stopped = r;
            break;
        }
    }
    if let Err(Stop::Unscannable(why)) = stopped {
        ctx.returned("", "websocket", "unscanned", Verdict::Blocked, Some(why));
    }
}

fn no_secrets() -> Option<&'static inspect::Vault> {
    static EMPTY: std::sync::OnceLock<Option<inspect::Vault>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| inspect::Vault::new(Vec::new()).ok()).as_ref()
}

/// Reads what a refused request carries (headers, URL, the start of its body) and names any
/// sentinel in it, so a blocked exfiltration is reported as one.
async fn scan_refused(ctx: &Ctx, req: Request<Incoming>) {
    let vault = &ctx.shared.inspector.vault;
    if vault.is_empty() {
        return;
    }
    let mut found: Vec<(String, String)> = Vec::new();
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
    found.extend(
        vault.rewrite_url(&ctx.conn.host, path.as_bytes()).foreign.into_iter().map(|n| (n, "url".into())),
    );
    for (name, value) in req.headers() {
        let rw = vault.rewrite_header(&ctx.conn.host, name.as_str(), value.as_bytes());
        found.extend(rw.foreign.into_iter().map(|n| (n, format!("header {name}"))));
    }
    let encoding =
        req.headers().get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok()).map(String::from);
    let mut scanner = vault.body_scanner(&ctx.conn.host, encoding.as_deref());
    let mut body = req.into_body();
    let mut read = 0;
    let reading = async {
        while read < REFUSED_BODY_SCAN {
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        read += data.len();
                        found.extend(scanner.feed(data).into_iter().map(|n| (n, "body".into())));
                    }
                }
                _ => break,
            }
        }
        found.extend(scanner.finish().into_iter().map(|n| (n, "body".into())));
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), reading).await;
    found.sort();
    found.dedup();
    for (name, location) in found {
        ctx.exfil(&name, &location, Verdict::Blocked);
    }
}

/// Fits a request to the upstream connection's protocol.
fn adapt(mut req: Request<Body>, speaks: Speaks, host: &str, port: u16, tls: bool) -> Request<Body> {
    let authority = match (tls, port) {
        (true, 443) | (false, 80) => host.to_string(),
        _ => format!("{host}:{port}"),
    };
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str()).to_string();
    match speaks {
        Speaks::H2 => {
            let scheme = if tls { "https" } else { "http" };
            if let Ok(uri) = format!("{scheme}://{authority}{path}").parse() {
                *req.uri_mut() = uri;
            }
            req.headers_mut().remove(header::HOST);
            *req.version_mut() = http::Version::HTTP_2;
        }
        Speaks::H1 => {
            if let Ok(uri) = path.parse() {
                *req.uri_mut() = uri;
            }
            if let Ok(v) = HeaderValue::from_str(&authority) {
                req.headers_mut().insert(header::HOST, v);
            }
            *req.version_mut() = http::Version::HTTP_11;
        }
    }
    req
}

/// Every host a request names, without the port: the URI's authority (`:authority` in HTTP/2,
/// an absolute-form target in HTTP/1.1) and each `Host` header. An unreadable `Host` is kept as
/// its raw text, so it can only fail to match.
fn authorities<B>(req: &Request<B>) -> Vec<String> {
    let mut names: Vec<String> = req.uri().authority().map(|a| a.host().to_string()).into_iter().collect();
    for value in req.headers().get_all(header::HOST) {
        let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
        names.push(match text.parse::<http::uri::Authority>() {
            Ok(a) => a.host().to_string(),
            Err(_) => text,
        });
    }
    names.into_iter().map(|n| n.trim_end_matches('.').to_ascii_lowercase()).collect()
}

/// Why a request may not go over a connection to `host`: it names another host (in its target
/// or in any `Host` header), or, from HTTP/1.1 on, no host at all. The rule, the status to
/// answer with, and the reason.
fn authority_problem<B>(req: &Request<B>, host: &str) -> Option<(&'static str, StatusCode, String)> {
    let names = authorities(req);
    if let Some(other) = names.iter().find(|n| !same_host(n, host)) {
        let why = format!("the request asks for {other} over a connection to {host} (domain fronting)");
        return Some(("host-mismatch", StatusCode::MISDIRECTED_REQUEST, why));
    }
    if names.is_empty() && req.version() >= http::Version::HTTP_11 {
        let why = format!("the request names no host over a connection to {host}");
        return Some(("no-host", StatusCode::BAD_REQUEST, why));
    }
    None
}

fn same_host(asked: &str, host: &str) -> bool {
    asked.trim_start_matches('[').trim_end_matches(']') == host
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Headers the Connection header names are hop-by-hop too.
    let named: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|s| s.trim().to_ascii_lowercase()).collect::<Vec<_>>())
        .collect();
    for name in HOP_BY_HOP.iter().copied().chain(named.iter().map(String::as_str)) {
        headers.remove(name);
    }
}

fn is_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/event-stream"))
}

fn cut(path: &str) -> String {
    if path.len() <= PATH_MAX {
        return path.to_string();
    }
    let mut end = PATH_MAX;
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &path[..end])
}

fn full(bytes: Vec<u8>) -> Body {
    Body::new(Full::new(Bytes::from(bytes)).map_err(|e: Infallible| match e {}))
}

fn text(status: StatusCode, message: &str) -> Response<Body> {
    let mut resp = Response::new(full(message.as_bytes().to_vec()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_authority_a_request_names_is_checked() {
        let r = Request::builder().uri("https://API.example.test:443/x").body(()).unwrap();
        assert_eq!(authorities(&r), ["api.example.test"]);
        assert!(authority_problem(&r, "api.example.test").is_none());
        let r = Request::builder().uri("/x").header("host", "Other.test.:8443").body(()).unwrap();
        assert_eq!(authorities(&r), ["other.test"]);
        // Absolute-form target and Host must both agree.
        let r = Request::builder().uri("http://a.test/x").header("host", "b.test").body(()).unwrap();
        assert_eq!(authority_problem(&r, "a.test").map(|p| p.0), Some("host-mismatch"));
        assert_eq!(authority_problem(&r, "b.test").map(|p| p.0), Some("host-mismatch"));
        // Two Host headers: the second is checked too.
        let r =
            Request::builder().uri("/").header("host", "a.test").header("host", "b.test").body(()).unwrap();
        assert_eq!(authority_problem(&r, "a.test").map(|p| p.0), Some("host-mismatch"));
        // No host at all: refused from HTTP/1.1 on, not for HTTP/1.0.
        let r = Request::builder().uri("/x").body(()).unwrap();
        assert_eq!(authority_problem(&r, "a.test").map(|p| p.0), Some("no-host"));
        let r = Request::builder().uri("/x").version(http::Version::HTTP_10).body(()).unwrap();
        assert!(authority_problem(&r, "a.test").is_none());
        let r = Request::builder().uri("/").header("host", "a.test:x:y").body(()).unwrap();
        assert!(authority_problem(&r, "a.test").is_some(), "an unreadable Host never matches");
    }

    #[test]
    fn hop_by_hop_headers_and_the_ones_connection_names_are_dropped() {
        let mut h = HeaderMap::new();
        h.insert("connection", HeaderValue::from_static("keep-alive, x-secret-hop"));
        h.insert("x-secret-hop", HeaderValue::from_static("1"));
        h.insert("transfer-encoding", HeaderValue::from_static("chunked"));
        h.insert("x-api-key", HeaderValue::from_static("k"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-api-key"));
    }

    #[test]
    fn long_paths_are_cut_on_a_char_boundary() {
        let long = "é".repeat(PATH_MAX);
        let cut = cut(&long);
        assert!(cut.len() <= PATH_MAX + '…'.len_utf8());
        assert!(cut.ends_with('…'));
    }
}
