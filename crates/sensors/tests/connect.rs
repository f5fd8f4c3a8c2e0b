//! The connect sensor against the real kernel: a process in a test cgroup, inside a network
//! namespace of its own (so nothing it sends can leave the machine), makes connects and datagram
//! floods; each must come back counted and attributed. (ICMP and raw socket attempts are the
//! fence's seccomp filter's to report, tested under `ringfence run`.) Needs root; see
//! `support::skip_or_fail` for what happens without it.

// Shared with the exec and file tests; not every helper is used here.
#[allow(dead_code)]
mod support;

use std::net::SocketAddr;

use sensors::{Attempt, Call, ConnectSensor, Domain};
use support::{TestCgroup, skip_or_fail};

/// Documentation addresses only (RFC 5737, RFC 3849): unrouted in the empty namespace anyway.
const SCRIPT: &str = r#"
import os, socket
print(os.getpid(), flush=True)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(1000):
    try: u.sendto(b"q", ("203.0.113.5", 443))
    except OSError: pass
try: socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).connect(("2001:db8::1", 443))
except OSError: pass
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen()
c = socket.create_connection(srv.getsockname())
print("tcp", "%s:%d" % c.getsockname(), "%s:%d" % srv.getsockname(), flush=True)
c.close()
"#;

fn start() -> Option<(TestCgroup, ConnectSensor)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return skip_or_fail("needs root to load BPF programs and create cgroups");
    }
    if std::process::Command::new("python3").arg("-V").output().is_err() {
        return skip_or_fail("needs python3");
    }
    let cgroup = match TestCgroup::create() {
        Ok(cgroup) => cgroup,
        Err(err) => return skip_or_fail(format!("cannot create a cgroup v2 leaf: {err}")),
    };
    match ConnectSensor::start(cgroup.path()) {
        Ok(sensor) => Some((cgroup, sensor)),
        Err(err) => skip_or_fail(format!("BPF cannot load: {err}")),
    }
}

#[test]
fn counts_and_attributes_udp_ipv6_and_tcp_attempts() {
    let Some((cgroup, sensor)) = start() else { return };
    let out = cgroup
        .command("unshare", None)
        .args(["-n", "sh", "-c", "ip link set lo up && exec python3 -c \"$0\"", SCRIPT])
        .output()
        .expect("unshare runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let pid: u32 = lines.next().and_then(|l| l.parse().ok()).expect("python's pid");
    let tcp: Vec<&str> =
        text.lines().find_map(|l| l.strip_prefix("tcp ")).expect("tcp line").split(' ').collect();
    let (client, server): (SocketAddr, SocketAddr) = (tcp[0].parse().unwrap(), tcp[1].parse().unwrap());

    let hint = sensor.pid_hint();
    assert_eq!(hint(client, server), Some(pid), "the TCP client is named after it closed");
    assert_eq!(hint(client, server), None, "each entry answers once");
    let seen = sensor.stop().expect("sensor stops");
    assert_eq!(seen.lost, 0);
    let find = |f: &dyn Fn(&Attempt) -> bool| seen.attempts.iter().find(|a| f(a)).cloned();

    let flood = find(&|a| a.dst == Some("203.0.113.5:443".parse().unwrap())).expect("the UDP flood");
    assert_eq!((flood.pid, flood.call, flood.count), (pid, Call::Sendmsg, 1000), "{flood:?}");
    assert_eq!(flood.sock_type, libc::SOCK_DGRAM as u32);

    let v6 = find(&|a| a.dst == Some("[2001:db8::1]:443".parse().unwrap())).expect("the IPv6 connect");
    assert_eq!((v6.pid, v6.call, v6.domain), (pid, Call::Connect, Domain::Ipv6));

    let tcp = find(&|a| a.dst == Some(server)).expect("the TCP connect");
    assert_eq!((tcp.pid, tcp.call, tcp.count), (pid, Call::Connect, 1));
}
