//! The fake upstream DNS server: answers A queries from a zone the test can extend while it
//! runs, TXT queries for zone names with a record naming the name (plus an additional record a
//! careful resolver must not pass on), NXDOMAIN for anything else, and remembers every name it
//! was asked and the exact bytes of every query.

use std::collections::HashMap;
use std::net::{Ipv4Addr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};

pub(crate) type Zone = Arc<Mutex<HashMap<String, Ipv4Addr>>>;

/// Every query the server received, byte for byte.
pub(crate) type Raw = Arc<Mutex<Vec<Vec<u8>>>>;

/// The TXT answer the server gives for a zone name.
pub fn txt_for(name: &str) -> String {
    format!("txt for {name}")
}

pub(crate) fn serve(
    socket: UdpSocket,
    zone: Zone,
    queries: Arc<Mutex<Vec<String>>>,
    raw: Raw,
    stop: Arc<AtomicBool>,
) {
    let mut buf = [0u8; 2048];
    while !stop.load(Ordering::Relaxed) {
        let Ok((n, peer)) = socket.recv_from(&mut buf) else { continue };
        raw.lock().unwrap().push(buf[..n].to_vec());
        let Ok(request) = Message::from_vec(&buf[..n]) else { continue };
        let Some(query) = request.queries.first() else { continue };
        let name = query.name().to_ascii().trim_end_matches('.').to_ascii_lowercase();
        queries.lock().unwrap().push(name.clone());
        let mut reply = Message::new(request.metadata.id, MessageType::Response, OpCode::Query);
        reply.metadata.recursion_desired = true;
        reply.metadata.recursion_available = true;
        reply.add_query(query.clone());
        let ip = zone.lock().unwrap().get(&name).copied();
        match ip {
            Some(ip) if query.query_type() == RecordType::A => {
                reply.add_answer(Record::from_rdata(query.name().clone(), 30, RData::A(A(ip))));
            }
            Some(_) if query.query_type() == RecordType::TXT => {
                let txt = TXT::new(vec![txt_for(&name)]);
                reply.add_answer(Record::from_rdata(query.name().clone(), 30, RData::TXT(txt)));
                let extra = Name::from_ascii("extra.upstream.test.").expect("name");
                reply.add_additional(Record::from_rdata(extra, 30, RData::A(A::new(192, 0, 2, 99))));
            }
            Some(_) => {}
            None => reply.metadata.response_code = ResponseCode::NXDomain,
        }
        let _ = socket.send_to(&reply.to_vec().expect("encode"), peer);
    }
}
