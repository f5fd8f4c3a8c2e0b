//! Connect attempts the proxy never sees: the connect sensor counts every `connect(2)` and
//! addressed datagram of the run in the kernel, and at the end each distinct one that the fence
//! refused or redirected becomes one `net.attempt` with its count. TCP is left to the proxy,
//! which records it as `net.connect`; the sensor only names its client. ICMP, raw and packet
//! socket attempts are refused by the fence's seccomp filter, which reports each with its
//! process: [`refused_socket`] makes the same `net.attempt` of it.
//!
//! The judgement is a pure function of the observation: nftables in the fence's namespace is the
//! same in both modes, so what it refuses is refused (and a violation) in audit mode too.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use journal::{Event, FenceLayer, Mode, NetAttempt, SensorLost, Verdict};
use sensors::{Attempt, Call, ConnectSensor, Domain, PidHint};

use super::recorder::Recorder;

/// The fence's own resolver inside the namespace.
const FENCE_DNS: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 53);

/// The connect sensor of one run, or why there is none.
pub struct Attempts {
    sensor: Option<ConnectSensor>,
    /// `None` for a run without the egress fence.
    layer: Option<FenceLayer>,
}

impl Attempts {
    /// Attaches the sensor to the run's cgroup when the run has the egress fence (`fenced`): the
    /// judgement assumes its nftables rules. Block mode refuses to run without the sensor; audit
    /// mode runs on and says so in run.start's fence layers.
    pub fn start(mode: Mode, cgroup: &Path, fenced: bool) -> anyhow::Result<Attempts> {
        if !fenced {
            return Ok(Attempts { sensor: None, layer: None });
        }
        match ConnectSensor::start(cgroup) {
            Ok(sensor) => Ok(Attempts {
                sensor: Some(sensor),
                layer: layer(
                    true,
                    "cgroup connect/sendmsg hooks: UDP and IPv6 attempts recorded per process; TCP \
                    clients named for the proxy (ICMP and raw sockets: the seccomp filter's)"
                        .into(),
                ),
            }),
            Err(e) if mode == Mode::Block => Err(e).context(
                "starting the connect sensor (eBPF on the run's cgroup); block mode does not run without it",
            ),
            Err(e) => Ok(Attempts {
                sensor: None,
                layer: layer(
                    false,
                    format!("not attached, so connect attempts outside the proxy go unrecorded: {e}"),
                ),
            }),
        }
    }

    /// The proxy's first source for a TCP client's pid.
    pub fn pid_hint(&self) -> Option<PidHint> {
        self.sensor.as_ref().map(ConnectSensor::pid_hint)
    }

    /// Adds what run.start says about this layer to the fence's other layers.
    pub fn layers(&self, mut layers: Vec<FenceLayer>) -> Vec<FenceLayer> {
        layers.extend(self.layer.clone());
        layers
    }

    /// Detaches the sensor and journals what it counted.
    pub fn finish(self, recorder: &Arc<Recorder>) -> anyhow::Result<()> {
        let Some(sensor) = self.sensor else { return Ok(()) };
        let seen = sensor.stop().context("stopping the connect sensor")?;
        for attempt in seen.attempts.iter().filter_map(judge) {
            recorder.append(Event::NetAttempt(attempt));
        }
        if seen.lost > 0 {
            recorder.append(Event::SensorLost(SensorLost { sensor: "connect".into(), count: seen.lost }));
        }
        Ok(())
    }
}

/// The `net.attempt` for one `socket(2)` the fence's seccomp filter refused (`args` as the call
/// passed them): an ICMP, raw or packet socket; `None` for another family.
pub fn refused_socket(pid: u32, args: &[u64; 6]) -> Option<NetAttempt> {
    // The kernel reads `int` arguments from the low 32 bits, whatever is above them.
    let domain = match args[0] as u32 as i32 {
        libc::AF_INET => Domain::Ipv4,
        libc::AF_INET6 => Domain::Ipv6,
        libc::AF_PACKET => Domain::Packet,
        _ => return None,
    };
    judge(&Attempt {
        pid,
        call: Call::Socket,
        domain,
        // The type's low bits; SOCK_NONBLOCK and SOCK_CLOEXEC are or'd above them.
        sock_type: (args[1] & 0xf) as u32,
        protocol: args[2] as u32,
        dst: None,
        errno: Some(libc::EPERM),
        count: 1,
        first_ns: 0,
    })
}

fn layer(active: bool, detail: String) -> Option<FenceLayer> {
    Some(FenceLayer { layer: "connect-sensor".into(), active, detail })
}

/// The journal record for one counted attempt, or `None` for traffic the fence carries and
/// records elsewhere (TCP through the proxy, queries to its resolver, the namespace's loopback).
pub fn judge(a: &Attempt) -> Option<NetAttempt> {
    let protocol = protocol(a);
    let record = |verdict, rule: &str, violation, reason: String| {
        Some(NetAttempt {
            pid: Some(a.pid),
            protocol: protocol.clone(),
            call: call(a.call).into(),
            ip: a.dst.map(|d| d.ip().to_string()).unwrap_or_default(),
            port: a.dst.map_or(0, |d| d.port()),
            verdict,
            rule: rule.into(),
            violation,
            reason: Some(reason),
            count: a.count,
        })
    };
    let refused = |rule, reason| record(Verdict::Blocked, rule, true, reason);
    let Some(dst) = a.dst else {
        let errno = nix::errno::Errno::from_raw(a.errno.unwrap_or(libc::EPERM));
        return refused(
            "socket-refused",
            format!(
                "refused by the fence's seccomp filter ({}): ICMP, raw and packet sockets would reach the \
                 network past the proxy",
                errno.desc()
            ),
        );
    };
    if dst.ip().is_loopback() {
        // The agent's own servers inside its namespace; nothing leaves.
        return None;
    }
    match protocol.as_str() {
        "tcp" => None,
        "udp" if dst == FENCE_DNS => None,
        // Connecting a UDP socket to port 0 sends nothing and nothing can be sent on it: it is
        // how runtimes ask which source address a route would use.
        "udp" if a.call == Call::Connect && dst.port() == 0 => None,
        "udp" if dst.port() == 53 && dst.is_ipv4() => record(
            Verdict::Allowed,
            "dns-redirect",
            false,
            "sent to ringfence's resolver instead (nftables redirects every DNS query); see its dns.query".into(),
        ),
        "udp" if dst.is_ipv6() => {
            refused("fence-drop", "IPv6 UDP never leaves the agent's namespace: nftables refused it".into())
        }
        "udp" if dst.port() == 443 => refused(
            "fence-drop",
            "UDP (QUIC) never leaves the agent's namespace: nftables refused it; HTTP/3 clients fall back to TCP \
             through the proxy"
                .into(),
        ),
        _ => refused(
            "fence-drop",
            format!("{protocol} other than DNS never leaves the agent's namespace: nftables refused it"),
        ),
    }
}

fn call(call: Call) -> &'static str {
    match call {
        Call::Connect => "connect",
        Call::Sendmsg => "sendmsg",
        Call::Socket => "socket",
    }
}

/// The protocol's usual name, from the socket's family, type and protocol number.
fn protocol(a: &Attempt) -> String {
    let (kind, proto) = (a.sock_type as i32, a.protocol as i32);
    match (a.domain, kind, proto) {
        (Domain::Packet, _, _) => "packet".into(),
        (_, libc::SOCK_STREAM, 0 | libc::IPPROTO_TCP) => "tcp".into(),
        (_, libc::SOCK_DGRAM, 0 | libc::IPPROTO_UDP) => "udp".into(),
        (_, libc::SOCK_DGRAM, libc::IPPROTO_ICMP) => "icmp".into(),
        (_, libc::SOCK_DGRAM, libc::IPPROTO_ICMPV6) => "icmpv6".into(),
        (_, libc::SOCK_RAW, _) => "raw".into(),
        (_, _, libc::IPPROTO_SCTP) => "sctp".into(),
        _ => format!("socket type {kind} protocol {proto}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(call: Call, kind: i32, proto: i32, dst: Option<&str>) -> Attempt {
        Attempt {
            pid: 77,
            call,
            domain: Domain::Ipv4,
            sock_type: kind as u32,
            protocol: proto as u32,
            dst: dst.map(|d| d.parse().unwrap()),
            errno: None,
            count: 3,
            first_ns: 0,
        }
    }

    fn udp(dst: &str) -> Attempt {
        attempt(Call::Sendmsg, libc::SOCK_DGRAM, 0, Some(dst))
    }

    #[test]
    fn udp_out_of_the_fence_is_a_violation_with_its_count() {
        let a = judge(&udp("198.51.100.77:9999")).unwrap();
        assert_eq!((a.pid, a.protocol.as_str(), a.call.as_str()), (Some(77), "udp", "sendmsg"));
        assert_eq!((a.ip.as_str(), a.port, a.count), ("198.51.100.77", 9999, 3));
        assert_eq!((a.verdict, a.violation, a.rule.as_str()), (Verdict::Blocked, true, "fence-drop"));
    }

    #[test]
    fn quic_says_it_falls_back_to_tcp() {
        let a = judge(&udp("203.0.113.5:443")).unwrap();
        assert!(a.violation);
        assert!(a.reason.unwrap().contains("QUIC"));
    }

    #[test]
    fn ipv6_udp_is_refused_even_to_port_53() {
        let a = judge(&udp("[2001:db8::1]:53")).unwrap();
        assert!(a.violation);
        assert!(a.reason.unwrap().contains("IPv6"));
    }

    #[test]
    fn a_udp_route_probe_is_not_an_attempt() {
        let probe = attempt(Call::Connect, libc::SOCK_DGRAM, 0, Some("198.18.0.1:0"));
        assert_eq!(judge(&probe), None);
        let quic = attempt(Call::Connect, libc::SOCK_DGRAM, 0, Some("198.18.0.1:443"));
        assert!(judge(&quic).unwrap().violation);
    }

    #[test]
    fn the_fence_resolver_and_loopback_are_not_attempts() {
        assert_eq!(judge(&udp("127.0.0.1:53")), None);
        assert_eq!(judge(&udp("127.0.0.1:8125")), None);
        assert_eq!(judge(&udp("[::1]:8125")), None);
    }

    #[test]
    fn another_resolver_is_redirected_not_refused() {
        let a = judge(&udp("192.0.2.53:53")).unwrap();
        assert_eq!((a.verdict, a.violation, a.rule.as_str()), (Verdict::Allowed, false, "dns-redirect"));
    }

    #[test]
    fn tcp_is_the_proxys_to_record() {
        assert_eq!(judge(&attempt(Call::Connect, libc::SOCK_STREAM, 0, Some("198.51.100.77:443"))), None);
        assert_eq!(judge(&attempt(Call::Connect, libc::SOCK_STREAM, 6, Some("[2001:db8::1]:80"))), None);
    }

    #[test]
    fn a_ping_socket_refused_by_seccomp_is_a_socket_attempt() {
        let flags = (libc::SOCK_DGRAM | libc::SOCK_CLOEXEC) as u64;
        let a =
            refused_socket(77, &[libc::AF_INET as u64, flags, libc::IPPROTO_ICMP as u64, 0, 0, 0]).unwrap();
        assert_eq!(
            (a.protocol.as_str(), a.call.as_str(), a.rule.as_str()),
            ("icmp", "socket", "socket-refused")
        );
        assert_eq!((a.pid, a.ip.as_str(), a.port, a.violation, a.count), (Some(77), "", 0, true, 1));
        assert!(a.reason.unwrap().contains("Operation not permitted"));
        let v6 = refused_socket(77, &[libc::AF_INET6 as u64, libc::SOCK_DGRAM as u64, 58, 0, 0, 0]).unwrap();
        assert_eq!(v6.protocol, "icmpv6");
        let raw = refused_socket(77, &[libc::AF_INET as u64, libc::SOCK_RAW as u64, 6, 0, 0, 0]).unwrap();
        assert_eq!(raw.protocol, "raw");
        assert_eq!(refused_socket(77, &[libc::AF_UNIX as u64, libc::SOCK_DGRAM as u64, 0, 0, 0, 0]), None);
    }

    #[test]
    fn an_icmp_connect_is_dropped() {
        let a = judge(&attempt(Call::Connect, libc::SOCK_DGRAM, libc::IPPROTO_ICMP, Some("198.51.100.77:0")));
        assert_eq!(a.map(|a| (a.protocol, a.violation)), Some(("icmp".into(), true)));
    }

    #[test]
    fn raw_and_packet_sockets_are_named() {
        let raw = attempt(Call::Socket, libc::SOCK_RAW, libc::IPPROTO_TCP, None);
        assert_eq!(protocol(&raw), "raw");
        let packet = Attempt { domain: Domain::Packet, ..raw };
        assert_eq!(protocol(&packet), "packet");
    }
}
