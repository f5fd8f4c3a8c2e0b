//! The host-side resolver: where ringfence itself asks about names, from the host's network
//! namespace, through the configured upstream servers (never anything the agent chose).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hickory_proto::op::{Edns, Message, MessageType, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use tokio::net::UdpSocket;

/// How long one upstream server gets to answer before the next is tried.
const TIMEOUT: Duration = Duration::from_secs(2);
/// Upper bound on caching an answer, so a long run follows address changes.
const MAX_CACHE: Duration = Duration::from_secs(60);
/// The UDP answer size ringfence offers upstream (the size DNS operators agreed avoids
/// fragmentation).
const UDP_PAYLOAD: u16 = 1232;

pub struct Upstream {
    servers: Vec<SocketAddr>,
    cache: Mutex<HashMap<String, (Instant, Vec<IpAddr>)>>,
}

impl Upstream {
    pub fn new(servers: Vec<SocketAddr>) -> Upstream {
        Upstream { servers, cache: Mutex::new(HashMap::new()) }
    }

    /// Asks each server in turn about `name` (lower case, as the fence normalised it) and
    /// returns the first answer that matches the question. The query is built here, never copied
    /// from a client: a fresh random id, the one question, recursion desired, and an OPT record
    /// of ringfence's own with no options, so nothing the agent chose but the name and type
    /// reaches the resolver.
    pub async fn ask(&self, name: &str, qtype: RecordType) -> Result<Message, String> {
        let fqdn = Name::from_ascii(format!("{name}.")).map_err(|e| format!("invalid name {name}: {e}"))?;
        let query = build_query(fqdn.clone(), qtype);
        let bytes = query.to_vec().map_err(|e| e.to_string())?;
        let mut last = "no upstream DNS server configured".to_string();
        for server in &self.servers {
            let reply = match exchange(*server, &bytes).await {
                Ok(reply) => reply,
                Err(e) => {
                    last = format!("{server}: {e}");
                    continue;
                }
            };
            match check_reply(&query, &reply) {
                Ok(message) => return Ok(message),
                Err(e) => last = format!("{server}: {e}"),
            }
        }
        Err(last)
    }

    /// The IPv4 addresses of `name` (after any CNAME chain the upstream followed).
    pub async fn resolve(&self, name: &str) -> Result<Vec<IpAddr>, String> {
        if let Some((expiry, ips)) = self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(name)
            && *expiry > Instant::now()
        {
            return Ok(ips.clone());
        }
        let reply = self.ask(name, RecordType::A).await?;
        if reply.metadata.response_code != ResponseCode::NoError {
            return Err(format!("upstream answered {}", reply.metadata.response_code));
        }
        let mut ttl = MAX_CACHE.as_secs() as u32;
        let ips: Vec<IpAddr> = reply
            .answers
            .iter()
            .filter_map(|r| match &r.data {
                RData::A(a) => {
                    ttl = ttl.min(r.ttl);
                    Some(IpAddr::V4(a.0))
                }
                _ => None,
            })
            .collect();
        if ips.is_empty() {
            return Err("upstream has no IPv4 address for it".into());
        }
        let expiry = Instant::now() + Duration::from_secs(ttl.into());
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).insert(name.to_string(), (expiry, ips.clone()));
        Ok(ips)
    }
}

/// The query ringfence sends upstream for (`name`, `qtype`).
pub(crate) fn build_query(name: Name, qtype: RecordType) -> Message {
    // `Message::query` draws the id from a cryptographic generator.
    let mut query = Message::query();
    query.metadata.recursion_desired = true;
    query.add_query(Query::query(name, qtype));
    let mut edns = Edns::new();
    edns.set_max_payload(UDP_PAYLOAD);
    query.set_edns(edns);
    query
}

/// Parses an upstream reply and checks that it answers `query`: a response, the same id, the
/// same single question.
pub(crate) fn check_reply(query: &Message, reply: &[u8]) -> Result<Message, String> {
    let reply = Message::from_vec(reply).map_err(|e| format!("unreadable upstream answer: {e}"))?;
    let matches = reply.metadata.message_type == MessageType::Response
        && reply.metadata.id == query.metadata.id
        && reply.queries.len() == 1
        && reply.queries.first().map(|q| (q.name(), q.query_type()))
            == query.queries.first().map(|q| (q.name(), q.query_type()));
    if matches { Ok(reply) } else { Err("mismatched upstream answer".into()) }
}

/// Reads the host's nameservers from /etc/resolv.conf.
pub fn host_resolvers() -> Vec<SocketAddr> {
    std::fs::read_to_string("/etc/resolv.conf").map(|t| parse_resolv_conf(&t)).unwrap_or_default()
}

/// The nameservers a job fence asks. The job's namespace is the machine's, so a local stub
/// resolver (systemd-resolved's 127.0.0.53) would send its own queries out through the fence and
/// back to ringfence: the stub's upstream servers are asked instead. Those are in
/// /run/systemd/resolve/resolv.conf; a machine whose only resolvers are local ones and that has
/// no such file gets none, and the caller says to set `dns.upstream`.
pub fn job_resolvers() -> Vec<SocketAddr> {
    let host = host_resolvers();
    if host.iter().any(|s| !s.ip().is_loopback()) {
        return host.into_iter().filter(|s| !s.ip().is_loopback()).collect();
    }
    std::fs::read_to_string("/run/systemd/resolve/resolv.conf")
        .map(|t| parse_resolv_conf(&t))
        .unwrap_or_default()
        .into_iter()
        .filter(|s| !s.ip().is_loopback())
        .collect()
}

fn parse_resolv_conf(text: &str) -> Vec<SocketAddr> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some("nameserver")).then(|| words.next()).flatten()
        })
        // A scoped IPv6 address (`fe80::1%eth0`) cannot be used from another namespace anyway.
        .filter_map(|addr| addr.parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .collect()
}

async fn exchange(server: SocketAddr, query: &[u8]) -> Result<Vec<u8>, String> {
    let bind: SocketAddr =
        if server.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }.parse().map_err(|_| "bind")?;
    let socket = UdpSocket::bind(bind).await.map_err(|e| e.to_string())?;
    crate::mark::apply(&socket).map_err(|e| format!("marking the upstream socket: {e}"))?;
    socket.connect(server).await.map_err(|e| e.to_string())?;
    socket.send(query).await.map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 4096];
    let id = query.get(..2);
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let n = tokio::time::timeout_at(deadline, socket.recv(&mut buf))
            .await
            .map_err(|_| "timed out".to_string())?
            .map_err(|e| e.to_string())?;
        // Ignore stray datagrams that do not answer this query.
        if n >= 12 && buf.get(..2) == id {
            buf.truncate(n);
            return Ok(buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_parses() {
        let text =
            "# comment\nnameserver 10.0.0.2\nsearch example\nnameserver ::1\nnameserver fe80::1%eth0\n";
        assert_eq!(
            parse_resolv_conf(text),
            vec!["10.0.0.2:53".parse().unwrap(), "[::1]:53".parse().unwrap()]
        );
    }

    #[test]
    fn queries_are_ringfences_own() {
        let name = Name::from_ascii("data.wild.example.").unwrap();
        let ids: std::collections::HashSet<u16> =
            (0..64).map(|_| build_query(name.clone(), RecordType::TXT).metadata.id).collect();
        assert!(ids.len() > 50, "ids are random: {ids:?}");
        let q = build_query(name, RecordType::TXT);
        assert!(q.metadata.recursion_desired);
        assert_eq!(q.queries.len(), 1);
        assert!(q.answers.is_empty() && q.authorities.is_empty() && q.additionals.is_empty());
        let edns = q.edns.as_ref().unwrap();
        assert_eq!((edns.max_payload(), edns.options().options.len()), (UDP_PAYLOAD, 0));
    }

    #[test]
    fn replies_must_answer_the_question() {
        let name = Name::from_ascii("a.example.").unwrap();
        let q = build_query(name.clone(), RecordType::TXT);
        let mut reply = Message::new(q.metadata.id, MessageType::Response, hickory_proto::op::OpCode::Query);
        reply.add_query(Query::query(name.clone(), RecordType::TXT));
        assert!(check_reply(&q, &reply.to_vec().unwrap()).is_ok());
        let mut other = reply.clone();
        other.metadata.id = q.metadata.id.wrapping_add(1);
        assert!(check_reply(&q, &other.to_vec().unwrap()).is_err());
        let mut wrong = Message::new(q.metadata.id, MessageType::Response, hickory_proto::op::OpCode::Query);
        wrong.add_query(Query::query(name, RecordType::A));
        assert!(check_reply(&q, &wrong.to_vec().unwrap()).is_err());
        assert!(check_reply(&q, b"garbage").is_err());
    }
}
