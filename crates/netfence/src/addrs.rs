//! Which real addresses the proxy must not reach unless a `cidr:` rule says so: the host's own
//! loopback, private networks, link-local (the cloud metadata service at 169.254.169.254 lives
//! there), and other special-purpose ranges. A public name that resolves to one of these is how
//! an attacker turns an allowed wildcard into a way into the runner's network.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why `ip` is special, or `None` for an ordinary public address.
pub fn special(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => special_v4(v4),
            None => special_v6(v6),
        },
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    Some(match () {
        _ if ip == Ipv4Addr::new(169, 254, 169, 254) => "cloud metadata address",
        _ if ip.is_loopback() => "loopback address",
        _ if ip.is_private() => "private address",
        _ if ip.is_link_local() => "link-local address",
        _ if ip.is_unspecified() || a == 0 => "unspecified address",
        _ if a == 100 && (64..128).contains(&b) => "shared (CGNAT) address",
        _ if a == 198 && (b == 18 || b == 19) => "synthetic (benchmark) address",
        _ if ip.is_multicast() || ip.is_broadcast() || a >= 240 => "multicast or reserved address",
        _ => return None,
    })
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    Some(match () {
        _ if ip.is_loopback() => "loopback address",
        _ if ip.is_unspecified() => "unspecified address",
        // fd00:ec2::254 is the IPv6 metadata service; all of fc00::/7 is unique-local.
        _ if first & 0xfe00 == 0xfc00 => "unique-local (private) address",
        _ if first & 0xffc0 == 0xfe80 => "link-local address",
        _ if ip.is_multicast() => "multicast address",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies() {
        let s = |t: &str| special(t.parse().unwrap());
        assert_eq!(s("169.254.169.254"), Some("cloud metadata address"));
        assert_eq!(s("127.0.0.1"), Some("loopback address"));
        assert_eq!(s("10.1.2.3"), Some("private address"));
        assert_eq!(s("::ffff:192.168.1.1"), Some("private address"));
        assert_eq!(s("fd00:ec2::254"), Some("unique-local (private) address"));
        assert_eq!(s("fe80::1"), Some("link-local address"));
        assert_eq!(s("100.100.100.200"), Some("shared (CGNAT) address"));
        assert_eq!(s("93.184.216.34"), None);
        assert_eq!(s("2606:4700::1"), None);
    }
}
