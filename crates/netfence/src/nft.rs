//! The nftables ruleset inside the fence's namespace: every TCP connection goes to the proxy,
//! every DNS query (UDP or TCP, to any resolver) to ringfence's DNS server, and everything else
//! that would leave loopback is refused and counted.
//!
//! The ruleset text is a pure function of the ports, so it is unit-tested without root; the
//! privileged tests load it into a real namespace.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::NetError;
use crate::nftlib::Answer;

/// The table ringfence owns in the fence's namespace.
pub(crate) const TABLE: &str = "ringfence";

/// Named counters for what the filter drops; read back at stop time and journalled.
pub(crate) const COUNTERS: &[(&str, &str)] =
    &[("udp_dropped", "udp"), ("icmp_dropped", "icmp"), ("other_dropped", "other")];

/// The counters' declarations at the head of both rulesets (run and job).
fn counter_declarations() -> String {
    COUNTERS.iter().map(|(name, _)| format!("    counter {name} {{ }}\n")).collect()
}

/// What the ruleset needs to know.
#[derive(Debug, Clone)]
pub(crate) struct Ports {
    /// The transparent proxy, listening on 127.0.0.1 and ::1.
    pub proxy: u16,
    /// The DNS server (UDP and TCP) on 127.0.0.1.
    pub dns: u16,
    /// Loopback ports the policy lets the agent reach on the host (host services); TCP to
    /// 127.0.0.0/8 on these ports goes to the proxy instead of staying in the namespace.
    pub host_services: Vec<u16>,
}

/// The ruleset text, in `nft -f` syntax.
pub(crate) fn ruleset(ports: &Ports) -> String {
    let Ports { proxy, dns, host_services } = ports;
    let host_services = if host_services.is_empty() {
        String::new()
    } else {
        let list = host_services.iter().map(u16::to_string).collect::<Vec<_>>().join(", ");
        format!("        ip daddr 127.0.0.0/8 tcp dport {{ {list} }} redirect to :{proxy}\n")
    };
    let counters = counter_declarations();
    format!(
        "table inet {TABLE} {{
{counters}    chain nat_out {{
        type nat hook output priority -100; policy accept;
        # Every resolver the agent may name (8.8.8.8, a DoT-less TCP resolver…) is ringfence.
        udp dport 53 redirect to :{dns}
        tcp dport 53 redirect to :{dns}
{host_services}        # The agent's own local servers stay reachable inside the namespace.
        ip daddr 127.0.0.0/8 return
        ip6 daddr ::1 return
        meta l4proto tcp redirect to :{proxy}
    }}
    chain filter_out {{
        type filter hook output priority 0; policy drop;
        ip daddr 127.0.0.0/8 accept
        ip6 daddr ::1 accept
        # Rejected rather than silently dropped so that QUIC falls back to TCP at once.
        meta l4proto udp counter name udp_dropped reject
        meta l4proto {{ icmp, ipv6-icmp }} counter name icmp_dropped drop
        counter name other_dropped drop
    }}
}}
"
    )
}

/// The ruleset of a job fence, in the job's own namespace, shared with processes ringfence does
/// not start (the runner's own among them). It differs from [`ruleset`] in four ways:
/// - ringfence's upstream sockets carry [`crate::mark::MARK`] and pass untouched;
/// - only a connection's first packet (SYN without ACK) is redirected and refused, so TCP
///   connections open before the fence started (the runner's) keep flowing; a process without
///   CAP_NET_RAW cannot send a TCP segment outside a connection the kernel made for it;
/// - traffic forwarded for containers (Docker's bridge) is redirected the same way at
///   prerouting, and the proxy and resolver answer only connections that were redirected
///   to them (`ct status dnat`) or come from loopback;
/// - audit mode lets UDP, ICMP and the rest through, counted, instead of dropping them: the
///   job's own namespace is the machine's, not a fresh one.
pub(crate) fn job_ruleset(ports: &Ports, block: bool) -> String {
    let Ports { proxy, dns, .. } = ports;
    let mark = crate::mark::MARK;
    // A connection from outside into the job (a listener the agent opened) would carry data out
    // in its replies, which the output chain lets pass as part of a flow: block mode refuses the
    // connection's first segment instead.
    let inbound =
        if block { "        tcp flags & (syn | ack) == syn counter name other_dropped drop\n" } else { "" };
    let (policy, udp, icmp, other) =
        if block { ("drop", "reject", "drop", "drop") } else { ("accept", "accept", "accept", "accept") };
    let counters = counter_declarations();
    format!(
        "table inet {TABLE} {{
{counters}    chain nat_out {{
        type nat hook output priority -100; policy accept;
        meta mark {mark:#x} return
        udp dport 53 redirect to :{dns}
        tcp dport 53 redirect to :{dns}
        ip daddr 127.0.0.0/8 return
        ip6 daddr ::1 return
        tcp flags & (syn | ack) == syn redirect to :{proxy}
    }}
    chain nat_pre {{
        type nat hook prerouting priority -100; policy accept;
        iifname \"lo\" return
        # A container's DNS, to whichever resolver it was given (the bridge's address included).
        udp dport 53 redirect to :{dns}
        tcp dport 53 redirect to :{dns}
        # Other traffic to this machine itself is not egress.
        fib daddr type local return
        tcp flags & (syn | ack) == syn redirect to :{proxy}
    }}
    chain filter_in {{
        type filter hook input priority 0; policy accept;
        iifname \"lo\" accept
        tcp dport {{ {proxy}, {dns} }} ct status dnat accept
        udp dport {dns} ct status dnat accept
        tcp dport {{ {proxy}, {dns} }} drop
        udp dport {dns} drop
{inbound}    }}
    chain filter_out {{
        type filter hook output priority 0; policy {policy};
        meta mark {mark:#x} accept
        oifname \"lo\" accept
        ip daddr 127.0.0.0/8 accept
        ip6 daddr ::1 accept
        meta l4proto tcp tcp flags & (syn | ack) != syn accept
        meta l4proto udp counter name udp_dropped {udp}
        meta l4proto {{ icmp, ipv6-icmp }} counter name icmp_dropped {icmp}
        counter name other_dropped {other}
    }}
    chain filter_fwd {{
        type filter hook forward priority 0; policy {policy};
        meta l4proto tcp tcp flags & (syn | ack) != syn accept
        meta l4proto udp counter name udp_dropped {udp}
        meta l4proto {{ icmp, ipv6-icmp }} counter name icmp_dropped {icmp}
        counter name other_dropped {other}
    }}
}}
"
    )
}

/// Loads the ruleset; must run inside the namespace (see `netns::within`).
pub(crate) fn apply(ports: &Ports) -> Result<(), NetError> {
    load(&ruleset(ports))
}

/// Loads a ruleset text; must run inside the namespace.
pub(crate) fn load(text: &str) -> Result<(), NetError> {
    let out = command(text, false)?;
    if out.ok { Ok(()) } else { Err(NetError::Nftables(out.stderr.trim().to_string())) }
}

/// Removes ringfence's table (a job fence's teardown); a table already gone is not an error.
pub(crate) fn remove() -> Result<(), NetError> {
    let out = command(&format!("delete table inet {TABLE}"), false)?;
    if out.ok || out.stderr.contains("No such file or directory") {
        Ok(())
    } else {
        Err(NetError::Nftables(out.stderr.trim().to_string()))
    }
}

/// ringfence's table as nftables holds it now, without counters or other state: two listings
/// differ only when a rule, chain or the table itself was changed. `None`: there is no table.
pub(crate) fn listing() -> Result<Option<String>, NetError> {
    let out = command(&format!("list table inet {TABLE}"), true)?;
    Ok(out.ok.then_some(out.stdout))
}

/// Reads the drop counters (packets per counter name); must run inside the namespace.
pub(crate) fn read_counters() -> Result<Vec<(String, u64)>, NetError> {
    let out = command(&format!("list counters table inet {TABLE}"), false)?;
    if !out.ok {
        return Err(NetError::Nftables(out.stderr.trim().to_string()));
    }
    Ok(parse_counters(&out.stdout))
}

/// Runs nftables commands (file syntax) in the calling thread's namespace: in-process through
/// libnftables, or with the `nft` tool where the library cannot be opened. `stateless`: `nft -s`.
fn command(commands: &str, stateless: bool) -> Result<Answer, NetError> {
    match crate::nftlib::run(commands, stateless) {
        Some(answer) => Ok(answer),
        None => tool(commands, stateless),
    }
}

/// The same through an `nft` process.
pub(crate) fn tool(commands: &str, stateless: bool) -> Result<Answer, NetError> {
    let mut nft = Command::new("nft");
    if stateless {
        nft.arg("-s");
    }
    let mut child = nft
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| NetError::Nftables(format!("running nft: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(commands.as_bytes())
            .map_err(|e| NetError::Nftables(format!("writing to nft: {e}")))?;
    }
    let out = child.wait_with_output().map_err(|e| NetError::Nftables(format!("waiting for nft: {e}")))?;
    Ok(Answer {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// Parses `nft list counters` text: `counter NAME {` followed by `packets N bytes M`.
fn parse_counters(text: &str) -> Vec<(String, u64)> {
    let mut counters = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("counter ") {
            current = rest.split_whitespace().next().map(|n| n.trim_matches('"').to_string());
        } else if let (Some(name), Some(rest)) = (&current, line.strip_prefix("packets ")) {
            let packets = rest.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0);
            counters.push((name.clone(), packets));
            current = None;
        }
    }
    counters
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ruleset_redirects_host_services_only_when_asked() {
        let plain = ruleset(&Ports { proxy: 15001, dns: 53, host_services: vec![] });
        assert!(plain.contains("meta l4proto tcp redirect to :15001"));
        assert!(plain.contains("udp dport 53 redirect to :53"));
        assert!(!plain.contains("tcp dport {"));
        let services = ruleset(&Ports { proxy: 15001, dns: 53, host_services: vec![5432, 6379] });
        assert!(services.contains("ip daddr 127.0.0.0/8 tcp dport { 5432, 6379 } redirect to :15001"));
        // The host-service redirect must come before the loopback `return`.
        assert!(services.find("5432").unwrap() < services.find("ip daddr 127.0.0.0/8 return").unwrap());
    }

    #[test]
    fn counters_parse() {
        let text = "table inet ringfence {\n\tcounter udp_dropped {\n\t\tpackets 3 bytes 87\n\t}\n\tcounter icmp_dropped {\n\t\tpackets 0 bytes 0\n\t}\n}\n";
        assert_eq!(parse_counters(text), vec![("udp_dropped".into(), 3), ("icmp_dropped".into(), 0)]);
    }
}
