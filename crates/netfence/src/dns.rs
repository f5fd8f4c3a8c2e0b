//! ringfence's DNS server inside the fence. Allowed names get a synthetic address; in block mode
//! an unlisted name is answered NXDOMAIN (or REFUSED for odd types) and never leaves ringfence,
//! and neither does a type other than an address for an allowed name unless `dns.types` lists it,
//! nor a new name under a wildcard whose name budget is spent (see `tunnel`). Audit mode forwards
//! and flags. What goes upstream is always a query ringfence built (`upstream::build_query`), and
//! what the client gets is always a reply ringfence built (`dnswire`).

use std::net::SocketAddr;
use std::sync::Arc;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record, RecordType};
use journal::{DnsQuery, Mode, Verdict};
use policy::Policy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, watch};

use crate::state::Shared;
use crate::{dnswire, names, tunnel};

/// Synthetic answers live as long as the run; a short TTL still lets a client re-ask.
const FAKE_TTL: u32 = 60;
/// DNS over TCP: how long a connection may idle.
const TCP_IDLE: std::time::Duration = std::time::Duration::from_secs(10);

/// What to do with one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Answer A with the name's synthetic address.
    Synthesize,
    /// Answer NOERROR with no records (AAAA, HTTPS, CNAME of a fenced name: keep the client on
    /// the synthetic IPv4 address, which is the only way out).
    Empty,
    /// Ask the upstream server (with a query ringfence builds) and relay its answer.
    Forward,
    /// Refuse with this code.
    Refuse(ResponseCode),
}

/// What ringfence decided about one question: the plan, the rule that decided, and whether
/// block mode refuses it (a violation in either mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ruling {
    pub plan: Plan,
    pub rule: String,
    pub violation: bool,
}

/// The types answered for every allowed name: with the synthetic address, or empty.
fn address_like(qtype: RecordType) -> bool {
    matches!(qtype, RecordType::A | RecordType::AAAA | RecordType::CNAME | RecordType::HTTPS)
}

/// Whether the name may be asked about with this type, and the rule that says so: the egress
/// decision for the name, then for a type other than an address, the `dns.types` entry listing
/// it; a long encoded label or an exhausted name budget turns an allowed name into `dns-tunnel`.
fn admitted(policy: &Policy, name: &str, qtype: RecordType, over_budget: bool) -> (bool, String) {
    let decision = names::dns_decision(policy, name);
    if !decision.allowed {
        return (false, decision.rule);
    }
    if tunnel::looks_like_payload(name) || over_budget {
        return (false, "dns-tunnel".into());
    }
    if address_like(qtype) {
        return (true, decision.rule);
    }
    let qtype_text = qtype.to_string();
    match policy.dns.listed_type(name, &qtype_text) {
        Some(entry) => (true, format!("{}; dns.types {} {qtype_text}", decision.rule, entry.host)),
        None => (false, format!("dns-type-not-listed {qtype_text}")),
    }
}

/// The ruling for `name`/`qtype`. Pure: the caller has charged the name budget already.
pub(crate) fn plan(policy: &Policy, mode: Mode, name: &str, qtype: RecordType, over_budget: bool) -> Ruling {
    let (allowed, rule) = admitted(policy, name, qtype, over_budget);
    let plan = match (mode, allowed, qtype) {
        (Mode::Block, false, _) if address_like(qtype) => Plan::Refuse(ResponseCode::NXDomain),
        (Mode::Block, false, _) => Plan::Refuse(ResponseCode::Refused),
        (Mode::Block, true, RecordType::A) => Plan::Synthesize,
        (_, _, _) if address_like(qtype) && qtype != RecordType::A => Plan::Empty,
        _ => Plan::Forward,
    };
    // A host a preset names optional is refused all the same, but its agent calling it is no
    // violation.
    match (allowed, policy.optional_refusal(name)) {
        (false, Some(optional)) => Ruling { plan, rule: optional, violation: false },
        _ => Ruling { plan, rule, violation: !allowed },
    }
}

/// Would this question leave ringfence (be synthesized, and later resolved, or forwarded)?
/// Only those are charged to the name budget: a refused query carries nothing out.
fn would_leave(policy: &Policy, mode: Mode, name: &str, qtype: RecordType) -> bool {
    mode == Mode::Audit || admitted(policy, name, qtype, false).0
}

/// Answers one DNS message; `None` means the bytes were not worth an answer.
pub(crate) async fn answer(
    shared: &Shared,
    bytes: &[u8],
    transport: &str,
    pid: Option<u32>,
) -> Option<Vec<u8>> {
    let (id, recursion_desired, query) = match dnswire::triage(bytes) {
        dnswire::Triage::Question { id, recursion_desired, query } => (id, recursion_desired, query),
        dnswire::Triage::Reply(reply) => {
            shared.record_malformed(pid, transport, "answered FORMERR or NOTIMP");
            return Some(reply);
        }
        dnswire::Triage::Drop => {
            shared.record_malformed(pid, transport, "dropped");
            return None;
        }
    };
    let mut response = dnswire::response(id, recursion_desired, &query);
    // Canonical case: the name goes upstream and into the journal lower-cased, so letter case
    // carries nothing.
    let name = query.name().to_ascii().trim_end_matches('.').to_ascii_lowercase();
    let qtype = query.query_type();
    let qtype_text = qtype.to_string();
    let base = names::budget_base(&shared.policy, &name);
    let spend = would_leave(&shared.policy, shared.mode, &name, qtype);
    let seen = shared.tunnel.observe(&name, &qtype_text, base.as_deref(), spend);
    let ruling = plan(&shared.policy, shared.mode, &name, qtype, seen.over_budget);
    let mut event = DnsQuery {
        pid,
        name: name.clone(),
        qtype: qtype_text,
        transport: transport.to_string(),
        verdict: Verdict::Allowed,
        rule: ruling.rule,
        violation: ruling.violation,
        answer: Vec::new(),
        suspicious: seen.signs,
    };
    let reply = match ruling.plan {
        Plan::Refuse(code) => {
            event.verdict = Verdict::Blocked;
            event.answer.push(rcode_text(code));
            response.metadata.response_code = code;
            response.to_vec().ok()
        }
        Plan::Empty => response.to_vec().ok(),
        Plan::Synthesize => synthesize(shared, &mut response, query.name(), &name, &mut event),
        Plan::Forward => forward(shared, &mut response, query.name(), &name, qtype, &mut event).await,
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

/// Audit mode and listed types of allowed names: ask upstream with a query ringfence builds, and
/// answer with a reply ringfence builds. An A answer is still replaced by the synthetic address,
/// so the connection that follows comes with its name.
async fn forward(
    shared: &Shared,
    response: &mut Message,
    owner: &hickory_proto::rr::Name,
    name: &str,
    qtype: RecordType,
    event: &mut DnsQuery,
) -> Option<Vec<u8>> {
    let upstream = match shared.upstream.ask(name, qtype).await {
        Ok(reply) => reply,
        Err(e) => {
            response.metadata.response_code = ResponseCode::ServFail;
            event.answer.push(format!("SERVFAIL ({e})"));
            return response.to_vec().ok();
        }
    };
    let has_a = upstream.answers.iter().any(|r| r.record_type() == RecordType::A);
    event.answer.extend(upstream.answers.iter().map(|r| format!("{} {}", r.record_type(), r.data)));
    if qtype == RecordType::A && has_a {
        event.answer.insert(0, "synthetic:".into());
        return synthesize(shared, response, owner, name, event);
    }
    dnswire::relay(response, qtype, &upstream);
    if response.metadata.response_code != ResponseCode::NoError {
        event.answer.push(rcode_text(response.metadata.response_code));
    }
    response.to_vec().ok()
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
                let reply = if reply.len() > 512 { dnswire::truncated(&bytes, reply) } else { reply };
                let _ = socket.send_to(&reply, peer).await;
            }
        });
    }
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
        policy::parse(
            "version: 1\negress:\n  allow: [ok.example, \"*.wild.example\", _acme.ok2.example]\n\
             dns:\n  types: { _acme.ok2.example: [TXT], \"*.wild.example\": [SRV] }\n",
            "ringfence.yml",
        )
        .unwrap()
    }

    fn ruling(p: &Policy, mode: Mode, name: &str, t: RecordType) -> (Plan, String, bool) {
        let r = plan(p, mode, name, t, false);
        (r.plan, r.rule, r.violation)
    }

    #[test]
    fn block_mode_plans() {
        let p = policy();
        let plan_of = |name, t| plan(&p, Mode::Block, name, t, false).plan;
        assert_eq!(plan_of("ok.example", RecordType::A), Plan::Synthesize);
        assert_eq!(plan_of("ok.example", RecordType::AAAA), Plan::Empty);
        assert_eq!(plan_of("ok.example", RecordType::HTTPS), Plan::Empty);
        assert_eq!(plan_of("evil.example", RecordType::A), Plan::Refuse(ResponseCode::NXDomain));
        assert_eq!(plan_of("evil.example", RecordType::TXT), Plan::Refuse(ResponseCode::Refused));
        assert_eq!(plan_of("evil.example", RecordType::NULL), Plan::Refuse(ResponseCode::Refused));
        assert_eq!(plan_of("a.wild.example", RecordType::A), Plan::Synthesize);
        let payload = "mzxw6ytboi4dsmrqgeztgnbsgm2dknjwgy3tooi5gqztsnbzgq2dk5jw.wild.example";
        assert_eq!(
            ruling(&p, Mode::Block, payload, RecordType::A),
            (Plan::Refuse(ResponseCode::NXDomain), "dns-tunnel".into(), true)
        );
        let over = plan(&p, Mode::Block, "fresh.wild.example", RecordType::A, true);
        assert_eq!((over.plan, over.rule.as_str()), (Plan::Refuse(ResponseCode::NXDomain), "dns-tunnel"));
    }

    #[test]
    fn optional_hosts_of_a_preset_are_refused_without_a_violation() {
        let p = policy::parse("version: 1\npresets: [codex]\n", "ringfence.yml").unwrap();
        let optional = (Plan::Refuse(ResponseCode::NXDomain), "preset codex@2026-12 optional".into(), false);
        assert_eq!(ruling(&p, Mode::Block, "chatgpt.com", RecordType::A), optional);
        assert_eq!(ruling(&p, Mode::Block, "api.openai.com", RecordType::A).0, Plan::Synthesize);
        // Only the names listed: a name under one is an ordinary refusal.
        let under = ruling(&p, Mode::Block, "x.chatgpt.com", RecordType::A);
        assert_eq!((under.1.as_str(), under.2), ("default-deny", true));
    }

    #[test]
    fn other_types_of_allowed_names_need_listing() {
        let p = policy();
        for (name, t) in [
            ("ok.example", RecordType::TXT),
            ("ok.example", RecordType::MX),
            ("ok.example", RecordType::NULL),
            ("ok.example", RecordType::ANY),
            ("a.wild.example", RecordType::TXT),
            ("_acme.ok2.example", RecordType::MX),
        ] {
            assert_eq!(
                ruling(&p, Mode::Block, name, t),
                (Plan::Refuse(ResponseCode::Refused), format!("dns-type-not-listed {t}"), true),
                "{name} {t}"
            );
            // Audit mode forwards it, recorded as what block mode would refuse.
            assert_eq!(ruling(&p, Mode::Audit, name, t).0, Plan::Forward);
            assert!(ruling(&p, Mode::Audit, name, t).2);
        }
        let listed = ruling(&p, Mode::Block, "_acme.ok2.example", RecordType::TXT);
        assert_eq!(
            listed,
            (Plan::Forward, "allow _acme.ok2.example:443; dns.types _acme.ok2.example TXT".into(), false)
        );
        assert_eq!(ruling(&p, Mode::Block, "b.wild.example", RecordType::SRV).0, Plan::Forward);
    }

    #[test]
    fn audit_mode_forwards_and_flags() {
        let p = policy();
        assert_eq!(
            ruling(&p, Mode::Audit, "evil.example", RecordType::TXT),
            (Plan::Forward, "default-deny".into(), true)
        );
        assert_eq!(ruling(&p, Mode::Audit, "evil.example", RecordType::A).0, Plan::Forward);
        assert!(!ruling(&p, Mode::Audit, "ok.example", RecordType::A).2);
    }

    #[test]
    fn only_queries_that_leave_are_charged() {
        let p = policy();
        assert!(would_leave(&p, Mode::Block, "x.wild.example", RecordType::A));
        assert!(!would_leave(&p, Mode::Block, "x.wild.example", RecordType::TXT));
        assert!(!would_leave(&p, Mode::Block, "evil.example", RecordType::A));
        assert!(would_leave(&p, Mode::Audit, "evil.example", RecordType::TXT));
    }
}
