//! Hostile bytes to ringfence's DNS resolver inside the fence, both ways: as a client's message
//! (sorted, answered) and as an upstream answer relayed into a reply. Nothing may panic.
#![no_main]

use hickory_proto::op::Message;
use libfuzzer_sys::fuzz_target;
use netfence::dnswire::{Triage, relay, response, triage, truncated};

fuzz_target!(|data: &[u8]| {
    if let Triage::Question { id, recursion_desired, query } = triage(data) {
        let mut reply = response(id, recursion_desired, &query);
        if let Ok(upstream) = Message::from_vec(data) {
            relay(&mut reply, query.query_type(), &upstream);
        }
        if let Ok(bytes) = reply.to_vec() {
            let _ = truncated(data, bytes);
        }
    }
    let _ = netfence::tunnel::name_signs(&String::from_utf8_lossy(data));
});
