//! ringfence's DNS server inside the fence. Allowed names get a synthetic address; in block mode
//! an unlisted name is answered NXDOMAIN (or REFUSED for odd types) and never leaves ringfence,
//! which is what kills DNS tunnelling. Audit mode forwards and flags.

use std::net::SocketAddr;
use std::sync::Arc;

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record, RecordType};
use journal::{DnsQuery, Mode, Verdict};
use policy::Policy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, watch};

use crate::state::Shared;
use crate::{names, tunnel};

/// Synthetic answers live as long as the run; a short TTL still lets a client re-ask.
const FAKE_TTL: u32 = 60;
/// DNS over TCP: the most queries one connection may carry, and how long it may idle.
const TCP_IDLE: std::time::Duration = std::time::Duration::from_secs(10);

/// What to do with one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Answer A with the name's synthetic address.
    Synthesize,
    /// Answer NOERROR with no records (AAAA, HTTPS, CNAME of a fenced name: keep the client on
    /// the synthetic IPv4 address, which is the only way out).
    Empty,
    /// Ask the upstream server and relay its answer.
    Forward,
    /// Refuse with this code.
    Refuse(ResponseCode),
}

/// The plan for `name`/`qtype`, the rule that decided, and whether the policy refuses the name.
pub(crate) fn plan(policy: &Policy, mode: Mode, name: &str, qtype: RecordType) -> (Plan, String, bool) {
    let decision = names::dns_decision(policy, name);
    let (allowed, rule) = if decision.allowed && tunnel::looks_like_payload(name) {
        (false, "dns-tunnel".to_string())
    } else {
        (decision.allowed, decision.rule)
    };
    let address_like =
        matches!(qtype, RecordType::A | RecordType::AAAA | RecordType::CNAME | RecordType::HTTPS);
    let plan = match (mode, allowed, qtype) {
        (Mode::Block, false, _) if address_like => Plan::Refuse(ResponseCode::NXDomain),
        (Mode::Block, false, _) => Plan::Refuse(ResponseCode::Refused),
        (Mode::Block, true, RecordType::A) => Plan::Synthesize,
        (_, _, _) if address_like && qtype != RecordType::A => Plan::Empty,
        _ => Plan::Forward,
    };
    (plan, rule, !allowed)
}

/// Answers one DNS message; `None` means the bytes were not worth an answer.
pub(crate) async fn answer(
    shared: &Shared,
    bytes: &[u8],
    transport: &str,
    pid: Option<u32>,
) -> Option<Vec<u8>> {
    let request = match Message::from_vec(bytes) {
        Ok(m) => m,
        // Garbage: answer FORMERR when there is an ID to answer to.
        Err(_) => return formerr(bytes),
    };
    if request.metadata.message_type != MessageType::Query {
        return None;
    }
    let mut response = Message::response(request.metadata.id, request.metadata.op_code);
    response.metadata.recursion_desired = request.metadata.recursion_desired;
    response.metadata.recursion_available = true;
    let [query] = request.queries.as_slice() else {
        response.metadata.response_code = ResponseCode::FormErr;
        return response.to_vec().ok();
    };
    response.add_query(query.clone());
    if request.metadata.op_code != OpCode::Query {
        response.metadata.response_code = ResponseCode::NotImp;
        return response.to_vec().ok();
    }
    let name = query.name().to_ascii().trim_end_matches('.').to_ascii_lowercase();
    let qtype = query.query_type();
    let qtype_text = qtype.to_string();
    let suspicious = shared.tunnel.observe(&name, &qtype_text);
    let (plan, rule, violation) = plan(&shared.policy, shared.mode, &name, qtype);
    let mut event = DnsQuery {
        pid,
        name: name.clone(),
        qtype: qtype_text,
        transport: transport.to_string(),
        verdict: Verdict::Allowed,
        rule,
        violation,
        answer: Vec::new(),
        suspicious,
    };
    let reply = match plan {
        Plan::Refuse(code) => {
            event.verdict = Verdict::Blocked;
            event.answer.push(rcode_text(code));
            response.metadata.response_code = code;
            response.to_vec().ok()
        }
        Plan::Empty => response.to_vec().ok(),
        Plan::Synthesize => synthesize(shared, &mut response, query.name(), &name, &mut event),
        Plan::Forward => forward(shared, bytes, &mut response, query.name(), &name, qtype, &mut event).await,
    };
    shared.record_query(event);
    reply
}

fn synthesize(
    shared: &Shared,
    response: &mut Message,
    owner: &hickory_proto::rr::Name,
    name: &str,
    event: &mut DnsQuery,
) -> Option<Vec<u8>> {
    match shared.fakeips.assign(name) {
        Some(ip) => {
            response.add_answer(Record::from_rdata(owner.clone(), FAKE_TTL, RData::A(A(ip))));
            event.answer.push(ip.to_string());
        }
        None => {
            response.metadata.response_code = ResponseCode::ServFail;
            event.answer.push("SERVFAIL (synthetic address range exhausted)".into());
        }
    }
    response.to_vec().ok()
}

/// Audit mode and allowed names' other record types: ask upstream. An A answer is still
/// replaced by the synthetic address, so the connection that follows comes with its name.
async fn forward(
    shared: &Shared,
    bytes: &[u8],
    response: &mut Message,
    owner: &hickory_proto::rr::Name,
    name: &str,
    qtype: RecordType,
    event: &mut DnsQuery,
) -> Option<Vec<u8>> {
    let upstream = match shared.upstream.forward(bytes).await {
        Ok(reply) => reply,
        Err(e) => {
            response.metadata.response_code = ResponseCode::ServFail;
            event.answer.push(format!("SERVFAIL ({e})"));
            return response.to_vec().ok();
        }
    };
    let Ok(parsed) = Message::from_vec(&upstream) else {
        response.metadata.response_code = ResponseCode::ServFail;
        event.answer.push("SERVFAIL (unreadable upstream answer)".into());
        return response.to_vec().ok();
    };
    let has_a = parsed.answers.iter().any(|r| r.record_type() == RecordType::A);
    event.answer.extend(parsed.answers.iter().map(|r| format!("{} {}", r.record_type(), r.data)));
    if qtype == RecordType::A && has_a {
        event.answer.insert(0, "synthetic:".into());
        return synthesize(shared, response, owner, name, event);
    }
    if parsed.metadata.response_code != ResponseCode::NoError {
        event.answer.push(rcode_text(parsed.metadata.response_code));
    }
    Some(upstream)
}

/// The response code as DNS tools print it (`NXDOMAIN`, `REFUSED`).
fn rcode_text(code: ResponseCode) -> String {
    match code {
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::Refused => "REFUSED".into(),
        ResponseCode::ServFail => "SERVFAIL".into(),
        other => format!("{other:?}").to_ascii_uppercase(),
    }
}

fn formerr(bytes: &[u8]) -> Option<Vec<u8>> {
    let id = u16::from_be_bytes([*bytes.first()?, *bytes.get(1)?]);
    let mut m = Message::response(id, OpCode::Query);
    m.metadata.response_code = ResponseCode::FormErr;
    m.to_vec().ok()
}

pub(crate) async fn serve_udp(
    socket: UdpSocket,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
) {
    let socket = Arc::new(socket);
    let mut buf = vec![0u8; 4096];
    loop {
        let (n, peer) = tokio::select! {
            r = socket.recv_from(&mut buf) => match r { Ok(x) => x, Err(_) => continue },
            _ = stop.changed() => return,
        };
        let bytes = buf[..n].to_vec();
        let (socket, shared, alive) = (socket.clone(), shared.clone(), alive.clone());
        tokio::spawn(async move {
            let _alive = alive;
            let pid = shared.attributor.udp(peer);
            if let Some(reply) = answer(&shared, &bytes, "udp", pid).await {
                let reply = if reply.len() > 512 { truncated(&bytes, reply) } else { reply };
                let _ = socket.send_to(&reply, peer).await;
            }
        });
    }
}

/// A UDP answer too big for a plain client: send the TC bit so it retries over TCP.
fn truncated(request: &[u8], reply: Vec<u8>) -> Vec<u8> {
    let edns = Message::from_vec(request).ok().and_then(|m| m.edns.map(|e| e.max_payload())).unwrap_or(512);
    if reply.len() <= usize::from(edns) {
        return reply;
    }
    Message::from_vec(&reply).ok().and_then(|m| m.truncate().to_vec().ok()).unwrap_or(reply)
}

pub(crate) async fn serve_tcp(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
) {
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r { Ok(x) => x, Err(_) => continue },
            _ = stop.changed() => return,
        };
        let (shared, alive) = (shared.clone(), alive.clone());
        tokio::spawn(async move {
            let _alive = alive;
            let _ = serve_tcp_conn(stream, peer, &shared).await;
        });
    }
}

async fn serve_tcp_conn(mut stream: TcpStream, peer: SocketAddr, shared: &Shared) -> std::io::Result<()> {
    let original = crate::proxy::original_dst(&stream).unwrap_or(peer);
    let pid = shared.attributor.tcp(peer, original);
    loop {
        let mut len = [0u8; 2];
        match tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut len)).await {
            Ok(Ok(_)) => {}
            _ => return Ok(()),
        }
        let mut bytes = vec![0u8; usize::from(u16::from_be_bytes(len))];
        tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut bytes))
            .await
            .map_err(std::io::Error::other)??;
        let Some(reply) = answer(shared, &bytes, "tcp", pid).await else { return Ok(()) };
        let Ok(reply_len) = u16::try_from(reply.len()) else { return Ok(()) };
        stream.write_all(&reply_len.to_be_bytes()).await?;
        stream.write_all(&reply).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        policy::parse("version: 1\negress:\n  allow: [ok.example, \"*.wild.example\"]\n", "ringfence.yml")
            .unwrap()
    }

    #[test]
    fn block_mode_plans() {
        let p = policy();
        let plan_of = |name, t| plan(&p, Mode::Block, name, t).0;
        assert_eq!(plan_of("ok.example", RecordType::A), Plan::Synthesize);
        assert_eq!(plan_of("ok.example", RecordType::AAAA), Plan::Empty);
        assert_eq!(plan_of("ok.example", RecordType::HTTPS), Plan::Empty);
        assert_eq!(plan_of("ok.example", RecordType::TXT), Plan::Forward);
        assert_eq!(plan_of("evil.example", RecordType::A), Plan::Refuse(ResponseCode::NXDomain));
        assert_eq!(plan_of("evil.example", RecordType::TXT), Plan::Refuse(ResponseCode::Refused));
        assert_eq!(plan_of("evil.example", RecordType::NULL), Plan::Refuse(ResponseCode::Refused));
        assert_eq!(plan_of("a.wild.example", RecordType::A), Plan::Synthesize);
        let payload = "mzxw6ytboi4dsmrqgeztgnbsgm2dknjwgy3tooi5gqztsnbzgq2dk5jw.wild.example";
        let (plan_, rule, violation) = plan(&p, Mode::Block, payload, RecordType::A);
        assert_eq!(
            (plan_, rule.as_str(), violation),
            (Plan::Refuse(ResponseCode::NXDomain), "dns-tunnel", true)
        );
    }

    #[test]
    fn audit_mode_forwards_and_flags() {
        let p = policy();
        let (plan_, rule, violation) = plan(&p, Mode::Audit, "evil.example", RecordType::TXT);
        assert_eq!((plan_, rule.as_str(), violation), (Plan::Forward, "default-deny", true));
        assert_eq!(plan(&p, Mode::Audit, "evil.example", RecordType::A).0, Plan::Forward);
        assert!(!plan(&p, Mode::Audit, "ok.example", RecordType::A).2);
    }

    proptest::proptest! {
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let _ = Message::from_vec(&bytes);
            let _ = formerr(&bytes);
            let _ = truncated(&bytes, bytes.clone());
        }
    }
}
