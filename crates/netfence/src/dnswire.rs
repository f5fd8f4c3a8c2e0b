//! DNS messages in and out of ringfence's resolver, as pure functions: sorting what a client sent,
//! and building what it gets back. Nothing a client sends is ever passed on as bytes: the
//! question is re-read from it, and upstream answers are copied record by record into a reply of
//! ringfence's own, so neither side can smuggle extras (EDNS options, additional records) through.
//! Public for the fuzz target.

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::RecordType;

/// A client's DNS message, sorted.
#[derive(Debug)]
pub enum Triage {
    /// One standard query: answer it.
    Question { id: u16, recursion_desired: bool, query: Query },
    /// Malformed or unsupported: send these bytes back (FORMERR, NOTIMP).
    Reply(Vec<u8>),
    /// Not worth an answer (a response, or too short to carry an id).
    Drop,
}

/// Sorts one message from a client.
pub fn triage(bytes: &[u8]) -> Triage {
    let request = match Message::from_vec(bytes) {
        Ok(m) => m,
        // Garbage: answer FORMERR when there is an id to answer to.
        Err(_) => return formerr(bytes).map_or(Triage::Drop, Triage::Reply),
    };
    if request.metadata.message_type != MessageType::Query {
        return Triage::Drop;
    }
    let id = request.metadata.id;
    let refuse = |code: ResponseCode, query: Option<&Query>| {
        let mut m = Message::response(id, request.metadata.op_code);
        m.metadata.response_code = code;
        if let Some(q) = query {
            m.add_query(q.clone());
        }
        m.to_vec().map_or(Triage::Drop, Triage::Reply)
    };
    let [query] = request.queries.as_slice() else {
        return refuse(ResponseCode::FormErr, None);
    };
    if request.metadata.op_code != OpCode::Query {
        return refuse(ResponseCode::NotImp, Some(query));
    }
    Triage::Question { id, recursion_desired: request.metadata.recursion_desired, query: query.clone() }
}

/// The reply to a question before any answer is added: the client's id and question, no EDNS.
pub fn response(id: u16, recursion_desired: bool, query: &Query) -> Message {
    let mut response = Message::response(id, OpCode::Query);
    response.metadata.recursion_desired = recursion_desired;
    response.metadata.recursion_available = true;
    response.add_query(query.clone());
    response
}

/// Copies what an upstream answer says about `qtype` into `response`: its response code (any
/// code but NOERROR and NXDOMAIN becomes SERVFAIL), and only answer records of the asked type or
/// the CNAMEs leading to them. Authority and additional sections and EDNS are never copied.
pub fn relay(response: &mut Message, qtype: RecordType, upstream: &Message) {
    response.metadata.response_code = match upstream.metadata.response_code {
        code @ (ResponseCode::NoError | ResponseCode::NXDomain) => code,
        _ => ResponseCode::ServFail,
    };
    response.metadata.truncation = upstream.metadata.truncation;
    for record in &upstream.answers {
        if record.record_type() == qtype || record.record_type() == RecordType::CNAME {
            response.add_answer(record.clone());
        }
    }
}

/// FORMERR for bytes that do not parse, when they start with an id to answer to.
pub fn formerr(bytes: &[u8]) -> Option<Vec<u8>> {
    let id = u16::from_be_bytes([*bytes.first()?, *bytes.get(1)?]);
    let mut m = Message::response(id, OpCode::Query);
    m.metadata.response_code = ResponseCode::FormErr;
    m.to_vec().ok()
}

/// A UDP answer too big for the client (512 bytes, or what its EDNS says): set the TC bit and
/// drop records so it retries over TCP.
pub fn truncated(request: &[u8], reply: Vec<u8>) -> Vec<u8> {
    let limit = Message::from_vec(request).ok().and_then(|m| m.edns.map(|e| e.max_payload())).unwrap_or(512);
    if reply.len() <= usize::from(limit.max(512)) {
        return reply;
    }
    Message::from_vec(&reply).ok().and_then(|m| m.truncate().to_vec().ok()).unwrap_or(reply)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::rdata::{A, TXT};
    use hickory_proto::rr::{Name, RData, Record};
    use proptest::prelude::*;

    #[test]
    fn relay_copies_only_the_answer() {
        let name = Name::from_ascii("x.wild.example.").unwrap();
        let query = Query::query(name.clone(), RecordType::TXT);
        let mut upstream = Message::response(7, OpCode::Query);
        upstream.add_query(query.clone());
        upstream.add_answer(Record::from_rdata(name.clone(), 30, RData::TXT(TXT::new(vec!["v".into()]))));
        upstream.add_answer(Record::from_rdata(name.clone(), 30, RData::A(A::new(192, 0, 2, 1))));
        upstream.add_additional(Record::from_rdata(name.clone(), 30, RData::A(A::new(192, 0, 2, 2))));
        upstream.add_authority(Record::from_rdata(name, 30, RData::A(A::new(192, 0, 2, 3))));
        upstream.metadata.response_code = ResponseCode::Refused;
        let mut reply = response(99, true, &query);
        relay(&mut reply, RecordType::TXT, &upstream);
        assert_eq!(reply.metadata.id, 99);
        assert_eq!(reply.metadata.response_code, ResponseCode::ServFail);
        assert_eq!(reply.answers.len(), 1);
        assert_eq!(reply.answers[0].record_type(), RecordType::TXT);
        assert!(reply.additionals.is_empty() && reply.authorities.is_empty() && reply.edns.is_none());
    }

    #[test]
    fn odd_messages_are_answered_or_dropped() {
        assert!(matches!(triage(b""), Triage::Drop));
        assert!(matches!(triage(b"\x12"), Triage::Drop));
        let Triage::Reply(bytes) = triage(b"\x12\x34garbage") else { panic!("FORMERR expected") };
        let m = Message::from_vec(&bytes).unwrap();
        assert_eq!((m.metadata.id, m.metadata.response_code), (0x1234, ResponseCode::FormErr));
        let mut two = Message::query();
        two.add_query(Query::query(Name::from_ascii("a.example.").unwrap(), RecordType::A));
        two.add_query(Query::query(Name::from_ascii("b.example.").unwrap(), RecordType::A));
        let Triage::Reply(bytes) = triage(&two.to_vec().unwrap()) else { panic!("FORMERR expected") };
        assert_eq!(Message::from_vec(&bytes).unwrap().metadata.response_code, ResponseCode::FormErr);
        let mut update = Message::new(5, MessageType::Query, OpCode::Update);
        update.add_query(Query::query(Name::from_ascii("a.example.").unwrap(), RecordType::SOA));
        let Triage::Reply(bytes) = triage(&update.to_vec().unwrap()) else { panic!("NOTIMP expected") };
        assert_eq!(Message::from_vec(&bytes).unwrap().metadata.response_code, ResponseCode::NotImp);
        let answer = Message::response(5, OpCode::Query);
        assert!(matches!(triage(&answer.to_vec().unwrap()), Triage::Drop));
    }

    proptest! {
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            if let Triage::Question { id, recursion_desired, query } = triage(&bytes) {
                let mut reply = response(id, recursion_desired, &query);
                if let Ok(upstream) = Message::from_vec(&bytes) {
                    relay(&mut reply, query.query_type(), &upstream);
                }
                let _ = reply.to_vec();
            }
            let _ = truncated(&bytes, bytes.clone());
        }
    }
}
