//! The byte layouts shared with `src/bpf/net.bpf.c`: the `attempts` map's keys and values, and
//! the `tcp_clients` map's keys. Change both sides together.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// Which call the kernel saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Call {
    /// `connect(2)`, any socket type.
    Connect,
    /// A datagram sent to an address given with it (`sendto`, `sendmsg`); a connected UDP
    /// socket's plain `send` is not seen again, its `connect` was.
    Sendmsg,
    /// `socket(2)` of an ICMP, raw or packet socket. Never counted by the sensor: the fence's
    /// seccomp filter refuses these and reports them, and the runner records them in this shape.
    Socket,
}

/// The socket's address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Domain {
    Ipv4,
    Ipv6,
    /// `AF_PACKET`: link-level frames.
    Packet,
}

/// Identical attempts (same process, call, socket kind and destination), counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// Thread-group id (the pid user space sees outside the fence's PID namespace).
    pub pid: u32,
    pub call: Call,
    pub domain: Domain,
    /// `SOCK_STREAM`, `SOCK_DGRAM`, `SOCK_RAW`…
    pub sock_type: u32,
    /// As given to `socket(2)`: 0 (the family's default), `IPPROTO_UDP`, `IPPROTO_ICMP`…
    pub protocol: u32,
    /// The destination as the process gave it; an IPv4-mapped IPv6 address is shown as the
    /// IPv4 address it reaches. `None` for [`Call::Socket`].
    pub dst: Option<SocketAddr>,
    /// For [`Call::Socket`]: the errno the call was refused with; `None` for the others.
    pub errno: Option<i32>,
    pub count: u64,
    /// Monotonic clock at the first one, to put records in order.
    pub first_ns: u64,
}

pub(crate) const KEY_SIZE: usize = 40;
pub(crate) const VALUE_SIZE: usize = 16;
pub(crate) const CLIENT_KEY_SIZE: usize = 36;

const CALL_CONNECT: u16 = 1;
const CALL_SENDMSG: u16 = 2;

/// One `attempts` entry; `None` when the bytes are not a valid one.
pub(crate) fn decode(key: &[u8], value: &[u8]) -> Option<Attempt> {
    if key.len() != KEY_SIZE || value.len() != VALUE_SIZE {
        return None;
    }
    let u16_at = |i: usize| u16::from_ne_bytes([key[i], key[i + 1]]);
    let u32_at = |i: usize| u32::from_ne_bytes([key[i], key[i + 1], key[i + 2], key[i + 3]]);
    let u64_of = |b: &[u8]| u64::from_ne_bytes(b.try_into().unwrap_or([0; 8]));
    let call = match u16_at(4) {
        CALL_CONNECT => Call::Connect,
        CALL_SENDMSG => Call::Sendmsg,
        _ => return None,
    };
    let domain = match i32::from(u16_at(6)) {
        libc::AF_INET => Domain::Ipv4,
        libc::AF_INET6 => Domain::Ipv6,
        libc::AF_PACKET => Domain::Packet,
        _ => return None,
    };
    let port = u16_at(20);
    let addr: [u8; 16] = key[24..40].try_into().ok()?;
    let dst = Some(SocketAddr::new(unmapped(Ipv6Addr::from(addr)), port));
    Some(Attempt {
        pid: u32_at(0),
        call,
        domain,
        sock_type: u32_at(8),
        protocol: u32_at(12),
        dst,
        errno: None,
        count: u64_of(&value[..8]),
        first_ns: u64_of(&value[8..]),
    })
}

/// The `tcp_clients` key of a connection from `client` to `dst` (the original destination).
pub(crate) fn client_key(client: SocketAddr, dst: SocketAddr) -> [u8; CLIENT_KEY_SIZE] {
    let mut key = [0u8; CLIENT_KEY_SIZE];
    key[..16].copy_from_slice(&mapped(client.ip()).octets());
    key[16..32].copy_from_slice(&mapped(dst.ip()).octets());
    key[32..34].copy_from_slice(&client.port().to_ne_bytes());
    key[34..36].copy_from_slice(&dst.port().to_ne_bytes());
    key
}

fn mapped(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

fn unmapped(ip: Ipv6Addr) -> IpAddr {
    ip.to_ipv4_mapped().map_or(IpAddr::V6(ip), IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn key(call: u16, family: u16, reserved: i32, port: u16, addr: Ipv6Addr) -> Vec<u8> {
        let mut k = Vec::new();
        k.extend_from_slice(&4242u32.to_ne_bytes());
        k.extend_from_slice(&call.to_ne_bytes());
        k.extend_from_slice(&family.to_ne_bytes());
        k.extend_from_slice(&(libc::SOCK_DGRAM as u32).to_ne_bytes());
        k.extend_from_slice(&17u32.to_ne_bytes());
        k.extend_from_slice(&reserved.to_ne_bytes());
        k.extend_from_slice(&port.to_ne_bytes());
        k.extend_from_slice(&[0, 0]);
        k.extend_from_slice(&addr.octets());
        k
    }

    fn value(count: u64) -> Vec<u8> {
        [count.to_ne_bytes(), 7u64.to_ne_bytes()].concat()
    }

    #[test]
    fn a_mapped_ipv4_destination_reads_as_ipv4() {
        let addr = Ipv4Addr::new(203, 0, 113, 5).to_ipv6_mapped();
        let a = decode(&key(2, libc::AF_INET as u16, 0, 443, addr), &value(1000)).unwrap();
        assert_eq!(a.pid, 4242);
        assert_eq!(a.call, Call::Sendmsg);
        assert_eq!(a.domain, Domain::Ipv4);
        assert_eq!(a.dst, Some("203.0.113.5:443".parse().unwrap()));
        assert_eq!((a.count, a.first_ns, a.errno), (1000, 7, None));
    }

    #[test]
    fn an_ipv6_destination_stays_ipv6() {
        let a =
            decode(&key(1, libc::AF_INET6 as u16, 0, 80, "2001:db8::1".parse().unwrap()), &value(1)).unwrap();
        assert_eq!(a.dst, Some("[2001:db8::1]:80".parse().unwrap()));
    }

    #[test]
    fn garbage_is_not_an_attempt() {
        assert_eq!(decode(&[0; 12], &value(1)), None);
        assert_eq!(decode(&key(9, 2, 0, 0, Ipv6Addr::UNSPECIFIED), &value(1)), None);
        // 3 was socket(), which the kernel side no longer counts.
        assert_eq!(decode(&key(3, 2, 0, 0, Ipv6Addr::UNSPECIFIED), &value(1)), None);
        assert_eq!(decode(&key(1, 99, 0, 0, Ipv6Addr::UNSPECIFIED), &value(1)), None);
    }

    #[test]
    fn client_keys_map_ipv4_like_the_kernel_side() {
        let k = client_key("127.0.0.1:40000".parse().unwrap(), "198.18.0.7:443".parse().unwrap());
        assert_eq!(&k[10..16], &[0xff, 0xff, 127, 0, 0, 1]);
        assert_eq!(&k[26..32], &[0xff, 0xff, 198, 18, 0, 7]);
        assert_eq!(&k[32..34], &40000u16.to_ne_bytes());
        assert_eq!(&k[34..36], &443u16.to_ne_bytes());
    }
}
