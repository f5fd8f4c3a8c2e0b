//! Traffic that never reaches the proxy, under `ringfence run` as root: UDP floods, QUIC, IPv6
//! and ICMP attempts are each journalled once as `net.attempt`, counted and attributed to the
//! process that made them; and TCP clients that connect and close at once still get their pid
//! on `net.connect`. Only documentation addresses (RFC 5737, RFC 3849) are used: nftables keeps
//! all of it inside the fence's namespace, and block mode refuses the TCP before any upstream.

mod support;

use journal::{Event, Mode, NetAttempt, NetConnect, Verdict};
use support::{Run, privileged, run};

/// What an agent might try around the proxy; prints what the kernel said to each.
const AROUND_THE_PROXY: &str = r#"
import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(2000):
    try: u.sendto(b"x", ("198.51.100.77", 9999))
    except OSError: pass
try: u.sendto(b"\xc0quic-initial", ("203.0.113.5", 443)); print("QUIC sent")
except OSError as e: print("QUIC", e)
try:
    v6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); v6.connect(("2001:db8::1", 443)); v6.send(b"x")
    print("IPV6 sent")
except OSError as e: print("IPV6", e)
try: socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP); print("PING socket made")
except OSError as e: print("PING", e)
"#;

fn attempts(r: &Run) -> Vec<&NetAttempt> {
    r.events().filter_map(|e| if let Event::NetAttempt(a) = e { Some(a) } else { None }).collect()
}

fn python_pid(r: &Run) -> u32 {
    r.execs().into_iter().find(|e| e.argv[0] == "python3").expect("python's exec").pid
}

fn check_around_the_proxy(mode: Mode) -> Run {
    let (_dir, r) = run(&["--mode", &mode.to_string()], &["python3", "-c", AROUND_THE_PROXY]);
    let python = python_pid(&r);
    let seen = attempts(&r);
    let find = |ip: &str, port: u16| {
        seen.iter()
            .find(|a| a.ip == ip && a.port == port)
            .unwrap_or_else(|| panic!("no net.attempt to {ip}:{port} in {seen:#?}\n{}", r.stderr()))
    };
    let flood = find("198.51.100.77", 9999);
    assert_eq!((flood.protocol.as_str(), flood.call.as_str()), ("udp", "sendmsg"));
    assert_eq!(flood.count, 2000, "one record for the whole flood");
    let quic = find("203.0.113.5", 443);
    assert!(quic.reason.as_deref().unwrap_or_default().contains("QUIC"), "{quic:?}");
    let v6 = find("2001:db8::1", 443);
    assert_eq!((v6.protocol.as_str(), v6.call.as_str()), ("udp", "connect"));
    let ping = seen.iter().find(|a| a.protocol == "icmp").expect("the ping socket attempt");
    assert_eq!((ping.call.as_str(), ping.rule.as_str()), ("socket", "socket-refused"));
    assert!(r.stdout().contains("PING"), "the kernel refused the ping socket: {}", r.stdout());
    for a in [flood, quic, v6, ping] {
        assert_eq!(a.pid, Some(python), "attributed to python: {a:?}");
        assert!(a.violation, "{a:?}");
        assert_eq!(a.verdict, Verdict::Blocked, "nftables refuses it in {mode} mode too: {a:?}");
    }
    let layer = r.run_start().fence.iter().find(|l| l.layer == "connect-sensor").cloned();
    assert!(layer.is_some_and(|l| l.active), "run.start names the connect sensor");
    r
}

#[test]
fn udp_quic_ipv6_and_icmp_are_recorded_and_refused_in_block_mode() {
    if !privileged("udp_quic_ipv6_and_icmp_are_recorded_and_refused_in_block_mode") {
        return;
    }
    let r = check_around_the_proxy(Mode::Block);
    assert_eq!(r.code(), 122, "violations fail a block-mode run");
}

#[test]
fn udp_quic_ipv6_and_icmp_are_flagged_in_audit_mode() {
    if !privileged("udp_quic_ipv6_and_icmp_are_flagged_in_audit_mode") {
        return;
    }
    let r = check_around_the_proxy(Mode::Audit);
    assert_eq!(r.code(), 0, "audit mode passes CMD's exit code through: {}", r.stderr());
}

/// Twenty clients that connect and close at once, then the process exits while the run goes on.
const CONNECT_AND_CLOSE: &str = r#"
import socket
for i in range(20):
    s = socket.socket(); s.setblocking(False); s.connect_ex(("198.51.100.77", 8000 + i)); s.close()
s = socket.socket(socket.AF_INET6); s.setblocking(False); s.connect_ex(("2001:db8::1", 8080)); s.close()
"#;

#[test]
fn clients_that_connect_and_close_at_once_are_named() {
    if !privileged("clients_that_connect_and_close_at_once_are_named") {
        return;
    }
    let script = format!("python3 -c '{CONNECT_AND_CLOSE}'; sleep 1");
    let (_dir, r) = run(&["--mode", "block"], &["/bin/sh", "-c", &script]);
    let python = python_pid(&r);
    let connects: Vec<&NetConnect> =
        r.events().filter_map(|e| if let Event::NetConnect(c) = e { Some(c) } else { None }).collect();
    let ours: Vec<_> = connects.iter().filter(|c| c.ip == "198.51.100.77" || c.ip == "2001:db8::1").collect();
    assert_eq!(ours.len(), 21, "every connection reached the proxy: {connects:#?}\n{}", r.stderr());
    for c in ours {
        assert_eq!(c.pid, Some(python), "named although python had closed it: {c:?}");
        assert_eq!(c.verdict, Verdict::Blocked, "no name, no CIDR rule: refused");
    }
    assert!(
        attempts(&r).iter().all(|a| a.protocol != "tcp"),
        "the proxy's connections are not repeated as attempts"
    );
}
