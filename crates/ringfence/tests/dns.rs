//! DNS as a data channel through allowed names, tried for real: a client inside `ringfence run`
//! (started in a fake internet's host side, so its upstream resolver is a fake one that keeps the
//! exact bytes it receives) crafts raw DNS packets over UDP and TCP. Block mode: refused, recorded
//! with the client's pid, nothing upstream. Audit mode: what reaches upstream is a query ringfence
//! built, and the journal records what block mode would have refused.

mod support;

use hickory_proto::op::Message;
use hickory_proto::rr::RecordType;
use journal::{DnsQuery, Event, Verdict};
use testnet::{FakeInternet, SERIAL};

/// Builds raw queries the way an attacker would: chosen id, mixed case, an additional record and
/// an EDNS option carrying data. Prints one line per query: transport, id, rcode, answer count,
/// and whether the reply echoed anything beyond the question and answers.
const CLIENT: &str = r#"
import socket, struct, sys
def wire(name):
    return b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
def query(qid, name, qtype):
    head = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 2)
    extra = wire("smuggled.data.example") + struct.pack(">HHIH", 1, 1, 300, 4) + bytes([10, 1, 2, 3])
    option = struct.pack(">HH", 65001, 12) + b"SECRETOPTION"
    extra += b"\0" + struct.pack(">HHIH", 41, 4096, 0, len(option)) + option
    return head + wire(name) + struct.pack(">HH", qtype, 1) + extra
def report(transport, reply):
    qid, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", reply[:12])
    extras = b"extra" in reply or ns or ar
    print(transport, hex(qid), flags & 15, an, "EXTRAS" if extras else "clean", reply.count(b"txt for"), flush=True)
name, qtype = sys.argv[1], int(sys.argv[2])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(5)
u.sendto(query(0x4242, name, qtype), ("127.0.0.1", 53))
report("udp", u.recv(4096))
t = socket.create_connection(("127.0.0.1", 53), timeout=5)
q = query(0x5151, name, qtype)
t.sendall(struct.pack(">H", len(q)) + q)
size = struct.unpack(">H", t.recv(2))[0]
data = b""
while len(data) < size:
    data += t.recv(size - len(data))
report("tcp", data)
"#;

/// 100 TXT queries of distinct 39-character base32 labels under `*.wild.test`, then 100 A
/// queries of distinct 16-character hex labels under `*.cdn.test`, with ordinary names before and
/// after. Prints `kind index rcode` per query.
const FLOOD: &str = r#"
import os, random, socket, struct, base64, time
started = time.monotonic()
def wire(name):
    return b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
def ask(name, qtype):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    qid = random.randrange(65536)
    s.sendto(struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + wire(name) + struct.pack(">HH", qtype, 1), ("127.0.0.1", 53))
    return s.recv(4096)[3] & 15
normal = ["www", "api", "static", "us-east-1", "a1", "img"]
for n in normal:
    print("normal-before", n, ask(n + ".wild.test", 1), ask(n + ".cdn.test", 1), flush=True)
for i in range(100):
    label = base64.b32encode(os.urandom(24)).decode().rstrip("=").lower()[:39]
    print("txt39", i, ask(label + ".wild.test", 16), label, flush=True)
for i in range(100):
    print("a16", i, ask(os.urandom(8).hex() + ".cdn.test", 1), flush=True)
for n in normal:
    print("normal-after", n, ask(n + ".wild.test", 1), ask(n + ".cdn.test", 1), flush=True)
print("elapsed-ms", int((time.monotonic() - started) * 1000), flush=True)
"#;

fn policy(net: &FakeInternet, mode: &str, extra: &str) -> String {
    format!(
        "version: 1\nmode: {mode}\negress:\n  allow: [allowed.test, \"*.wild.test\", \"*.cdn.test\"]\n\
         dns:\n  upstream: [\"{}\"]\n{extra}",
        net.upstream()[0]
    )
}

/// `python3 -c SCRIPT ARGS` under `ringfence run --policy` in the fake internet's host side.
fn fenced(net: &FakeInternet, policy: &str, script: &str, args: &[&str]) -> support::Run {
    let dir = support::scratch();
    let policy_file = dir.path().join("ringfence.yml");
    std::fs::write(&policy_file, policy).unwrap();
    let out_dir = dir.path().join("run");
    let output = net
        .host_command(support::binary())
        .current_dir(dir.path())
        .arg("run")
        .arg("--policy")
        .arg(&policy_file)
        .arg("--out")
        .arg(&out_dir)
        .args(["--", "python3", "-c", script])
        .args(args)
        .output()
        .unwrap();
    let records = match journal::read(&out_dir.join("events.jsonl")) {
        Ok(Ok(verified)) => verified.records,
        other => {
            panic!("journal did not verify: {other:?}\nstderr: {}", String::from_utf8_lossy(&output.stderr))
        }
    };
    // Keep the directory until the records are read; the run is returned whole.
    let run = support::Run { output, out_dir, records };
    drop(dir);
    run
}

fn queries<'a>(run: &'a support::Run, name: &str) -> Vec<&'a DnsQuery> {
    run.events()
        .filter_map(|e| match e {
            Event::DnsQuery(q) if q.name == name => Some(q),
            _ => None,
        })
        .collect()
}

fn python_pid(run: &support::Run) -> u32 {
    run.execs()
        .into_iter()
        .find(|e| e.argv.first().is_some_and(|a| a == "python3"))
        .expect("python's exec")
        .pid
}

/// The queries the fake upstream received for `name`, parsed.
fn upstream_saw(net: &FakeInternet, name: &str) -> Vec<(Vec<u8>, Message)> {
    net.upstream_raw
        .lock()
        .unwrap()
        .iter()
        .filter_map(|raw| Message::from_vec(raw).ok().map(|m| (raw.clone(), m)))
        .filter(|(_, m)| {
            m.queries.iter().any(|q| q.name().to_ascii().eq_ignore_ascii_case(&format!("{name}.")))
        })
        .collect()
}

fn setup(test: &str) -> Option<FakeInternet> {
    if !support::privileged(test) || !testnet::privileged() {
        return None;
    }
    Some(FakeInternet::new())
}

#[test]
fn txt_for_an_allowed_name_with_smuggled_extras_is_refused_in_block_mode() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let Some(net) = setup("txt_for_an_allowed_name_with_smuggled_extras_is_refused_in_block_mode") else {
        return;
    };
    let r = fenced(&net, &policy(&net, "block", ""), CLIENT, &["AlLoWeD.TeSt", "16"]);
    let out = r.stdout();
    // REFUSED (5) over both transports, to the client's own id, with nothing but the question.
    assert!(out.contains("udp 0x4242 5 0 clean 0"), "{out}\n{}", r.stderr());
    assert!(out.contains("tcp 0x5151 5 0 clean 0"), "{out}\n{}", r.stderr());
    let pid = python_pid(&r);
    let q = queries(&r, "allowed.test");
    for transport in ["udp", "tcp"] {
        assert!(
            q.iter().any(|q| q.transport == transport
                && q.qtype == "TXT"
                && q.verdict == Verdict::Blocked
                && q.violation
                && q.rule == "dns-type-not-listed TXT"
                && q.pid == Some(pid)),
            "{transport}: {q:#?}"
        );
    }
    assert!(upstream_saw(&net, "allowed.test").is_empty(), "nothing reaches the upstream resolver");
    assert_eq!(r.code(), 122, "a refused query fails a block-mode run");
}

#[test]
fn txt_for_an_allowed_name_goes_upstream_rebuilt_in_audit_mode() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let Some(net) = setup("txt_for_an_allowed_name_goes_upstream_rebuilt_in_audit_mode") else { return };
    let r = fenced(&net, &policy(&net, "audit", ""), CLIENT, &["AlLoWeD.TeSt", "16"]);
    let out = r.stdout();
    // The client gets upstream's TXT answer, to its own id, without upstream's additional record.
    assert!(out.contains("udp 0x4242 0 1 clean 1"), "{out}\n{}", r.stderr());
    assert!(out.contains("tcp 0x5151 0 1 clean 1"), "{out}\n{}", r.stderr());
    let seen = upstream_saw(&net, "allowed.test");
    assert_eq!(seen.len(), 2, "one upstream query per client query: {seen:#?}");
    for (raw, m) in &seen {
        // Built by ringfence: lower case, a fresh id, the one question, recursion desired, an
        // OPT record of its own with no options, nothing else.
        assert!(raw.windows(9).any(|w| w == b"\x07allowed\x04"), "lower case on the wire: {raw:?}");
        assert!(![0x4242, 0x5151].contains(&m.metadata.id), "the client's id went upstream: {m:?}");
        assert!(m.metadata.recursion_desired);
        assert_eq!(m.queries.len(), 1);
        assert_eq!(m.queries[0].query_type(), RecordType::TXT);
        assert!(m.answers.is_empty() && m.authorities.is_empty() && m.additionals.is_empty(), "{m:?}");
        assert!(m.edns.as_ref().is_none_or(|e| e.options().options.is_empty()), "{m:?}");
        for smuggled in [&b"SECRETOPTION"[..], b"smuggled", b"AlLoWeD"] {
            assert!(!raw.windows(smuggled.len()).any(|w| w == smuggled), "{smuggled:?} reached upstream");
        }
    }
    let pid = python_pid(&r);
    let q = queries(&r, "allowed.test");
    assert_eq!(q.len(), 2, "{q:#?}");
    for q in q {
        // Recorded as what block mode would refuse, with the process.
        assert_eq!(
            (q.verdict, q.violation, q.rule.as_str()),
            (Verdict::Allowed, true, "dns-type-not-listed TXT")
        );
        assert_eq!(q.pid, Some(pid));
    }
}

#[test]
fn a_listed_type_is_answered_from_a_rebuilt_reply() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let Some(net) = setup("a_listed_type_is_answered_from_a_rebuilt_reply") else { return };
    let listed = "  types: { allowed.test: [TXT] }\n";
    let r = fenced(&net, &policy(&net, "block", listed), CLIENT, &["ALLOWED.test", "16"]);
    let out = r.stdout();
    assert!(out.contains("udp 0x4242 0 1 clean 1"), "{out}\n{}", r.stderr());
    assert!(out.contains("tcp 0x5151 0 1 clean 1"), "{out}\n{}", r.stderr());
    let seen = upstream_saw(&net, "allowed.test");
    assert_eq!(seen.len(), 2, "{seen:#?}");
    assert!(
        seen.iter().all(|(raw, m)| m.additionals.is_empty() && !raw.windows(8).any(|w| w == b"smuggled"))
    );
    let q = queries(&r, "allowed.test");
    assert!(q.iter().all(|q| !q.violation && q.rule.ends_with("dns.types allowed.test TXT")), "{q:#?}");
    assert_eq!(r.code(), 0, "{}", r.stderr());
}

/// (index of the first refusal, whether every later query was refused too) for one kind of line.
fn first_refusal(out: &str, kind: &str, refused: &str) -> (Option<usize>, bool) {
    let codes: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with(&format!("{kind} ")))
        .filter_map(|l| l.split(' ').nth(2))
        .collect();
    assert_eq!(codes.len(), 100, "{kind}: {out}");
    let first = codes.iter().position(|c| *c == refused);
    let rest = first.is_some_and(|i| codes[i..].iter().all(|c| *c == refused));
    (first, rest)
}

#[test]
fn many_short_encoded_labels_under_a_wildcard_trip_the_name_budget() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let Some(net) = setup("many_short_encoded_labels_under_a_wildcard_trip_the_name_budget") else { return };
    // TXT is listed for the wildcard, so only the budget stands between the flood and upstream.
    let listed = "  types: { \"*.wild.test\": [TXT] }\n";
    let r = fenced(&net, &policy(&net, "block", listed), FLOOD, &[]);
    let out = r.stdout();
    // The documented bound (512 units, 8 + length per new name): at most 10 new 39-character
    // names and 21 new 16-character ones pass; the ordinary names spent a little first.
    let (txt_first, txt_rest) = first_refusal(&out, "txt39", "5");
    let (a_first, a_rest) = first_refusal(&out, "a16", "3");
    let elapsed = out.lines().find(|l| l.starts_with("elapsed-ms")).unwrap_or("elapsed-ms ?");
    eprintln!(
        "first refusal: 39-char TXT at #{txt_first:?}, 16-char A at #{a_first:?} (0-based); 224 queries, {elapsed}"
    );
    assert!(txt_first.is_some_and(|i| i <= 10) && txt_rest, "39-character TXT flood: {out}\n{}", r.stderr());
    assert!(a_first.is_some_and(|i| i <= 21) && a_rest, "16-character A flood: {out}");
    // Ordinary names resolve before and after (NOERROR for both wildcards).
    for line in out.lines().filter(|l| l.starts_with("normal-")) {
        assert!(line.ends_with(" 0 0"), "{line}");
    }
    // The refused ones never reached upstream; the admitted TXT ones did (A is synthesized).
    let labels: Vec<&str> =
        out.lines().filter(|l| l.starts_with("txt39 ")).filter_map(|l| l.split(' ').nth(3)).collect();
    let first = txt_first.unwrap_or(0);
    for (i, label) in labels.iter().enumerate() {
        let name = format!("{label}.wild.test");
        assert_eq!(net.upstream_saw(&name), i < first, "{i}: {name}");
    }
    let pid = python_pid(&r);
    let tunnel: Vec<&DnsQuery> = r
        .events()
        .filter_map(|e| match e {
            Event::DnsQuery(q) if q.rule == "dns-tunnel" => Some(q),
            _ => None,
        })
        .collect();
    assert!(tunnel.len() >= 150, "{}", tunnel.len());
    assert!(
        tunnel.iter().all(|q| q.verdict == Verdict::Blocked && q.violation && q.pid == Some(pid)),
        "{tunnel:#?}"
    );
    assert!(
        tunnel
            .iter()
            .any(|q| q.suspicious.iter().any(|s| s.contains("over the DNS name budget of cdn.test")))
    );
    assert_eq!(r.code(), 122);
}

#[test]
fn the_name_budget_is_recorded_as_would_refuse_in_audit_mode() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let Some(net) = setup("the_name_budget_is_recorded_as_would_refuse_in_audit_mode") else { return };
    let r = fenced(&net, &policy(&net, "audit", ""), FLOOD, &[]);
    let out = r.stdout();
    let pid = python_pid(&r);
    let tunnel = r
        .events()
        .filter(|e| {
            matches!(e, Event::DnsQuery(q) if q.rule == "dns-tunnel"
            && q.verdict == Verdict::Allowed && q.violation && q.pid == Some(pid))
        })
        .count();
    // Past the bound every new name is a would-refuse: at least 90 of the TXT and 79 of the A.
    assert!(tunnel >= 169, "{tunnel}\n{out}\n{}", r.stderr());
    // The ordinary names are not flagged.
    let flagged_normal = r.events().any(|e| {
        matches!(e, Event::DnsQuery(q) if q.violation
            && ["www", "api", "static", "us-east-1", "a1", "img"].iter().any(|n| q.name.starts_with(&format!("{n}."))))
    });
    assert!(!flagged_normal);
}

#[test]
fn ordinary_names_under_a_wildcard_stay_allowed() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let Some(net) = setup("ordinary_names_under_a_wildcard_stay_allowed") else { return };
    let script = "import socket\nfor _ in range(10):\n for n in ['www','api','static','assets','img','media','us-east-1','eu-west-1','a1','d1a2b3c4e5f6','login','docs']:\n  print(socket.gethostbyname(n + '.wild.test'))\n";
    let r = fenced(&net, &policy(&net, "block", ""), script, &[]);
    assert_eq!(r.code(), 0, "{}\n{}", r.stdout(), r.stderr());
    assert_eq!(r.stdout().lines().filter(|l| l.starts_with("198.18.")).count(), 120, "{}", r.stdout());
    assert!(r.events().all(|e| !matches!(e, Event::DnsQuery(q) if q.violation)));
}

#[test]
fn garbage_to_the_resolver_is_answered_or_dropped_and_counted() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let Some(net) = setup("garbage_to_the_resolver_is_answered_or_dropped_and_counted") else { return };
    let script = r#"
import socket, struct, os
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
for payload in [b"\x12\x34garbage", b"\x00", os.urandom(300), b"\xab\xcd" + b"\xff" * 10]:
    s.sendto(payload, ("127.0.0.1", 53))
    try:
        print("reply", s.recv(4096)[3] & 15)
    except socket.timeout:
        print("dropped")
t = socket.create_connection(("127.0.0.1", 53), timeout=2)
t.sendall(struct.pack(">H", 9) + b"\x12\x34junk!!!")
print("tcp", t.recv(2) != b"")
print("resolves", socket.gethostbyname("www.wild.test"))
"#;
    let r = fenced(&net, &policy(&net, "block", ""), script, &[]);
    let out = r.stdout();
    assert!(out.lines().next() == Some("reply 1"), "FORMERR for garbage with an id: {out}\n{}", r.stderr());
    assert!(out.contains("resolves 198.18."), "the resolver survives: {out}\n{}", r.stderr());
    let malformed = r.events().filter(|e| matches!(e, Event::DnsQuery(q) if q.qtype == "MALFORMED")).count();
    assert!(malformed >= 4, "{malformed}");
}
