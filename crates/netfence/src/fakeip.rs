//! Synthetic addresses: each allowed name gets its own address from 198.18.0.0/15 (the
//! benchmarking range, never routed on the internet), so a later TCP connection to that address
//! says which name the agent resolved — even when many names share one CDN address upstream.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;

/// 198.18.0.0/15.
const BASE: u32 = u32::from_be_bytes([198, 18, 0, 0]);
const SIZE: u32 = 1 << 17;

/// Is `ip` in the synthetic range?
pub fn is_fake(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => u32::from(v4) & !(SIZE - 1) == BASE,
        IpAddr::V6(v6) => v6.to_ipv4_mapped().is_some_and(|v4| is_fake(IpAddr::V4(v4))),
    }
}

/// The name ↔ address map for one run. Addresses are never reused within a run, so an
/// address handed out once always means the same name.
#[derive(Default)]
pub struct FakeIps {
    inner: Mutex<Maps>,
}

#[derive(Default)]
struct Maps {
    by_name: HashMap<String, Ipv4Addr>,
    by_ip: HashMap<Ipv4Addr, String>,
    next: u32,
}

impl FakeIps {
    /// The address for `name` (normalized by the caller), allocating one on first use; `None`
    /// when the range is exhausted (131,070 names in one run).
    pub fn assign(&self, name: &str) -> Option<Ipv4Addr> {
        let mut maps = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(ip) = maps.by_name.get(name) {
            return Some(*ip);
        }
        // Skip .0 of the range so no answer looks like a network address.
        let offset = maps.next + 1;
        if offset >= SIZE - 1 {
            return None;
        }
        maps.next = offset;
        let ip = Ipv4Addr::from(BASE + offset);
        maps.by_name.insert(name.to_string(), ip);
        maps.by_ip.insert(ip, name.to_string());
        Some(ip)
    }

    /// The name an address was handed out for.
    pub fn name(&self, ip: IpAddr) -> Option<String> {
        let v4 = match ip {
            IpAddr::V4(v4) => v4,
            IpAddr::V6(v6) => v6.to_ipv4_mapped()?,
        };
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).by_ip.get(&v4).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_unique_and_reversible() {
        let f = FakeIps::default();
        let a = f.assign("a.example").unwrap();
        let b = f.assign("b.example").unwrap();
        assert_ne!(a, b);
        assert_eq!(f.assign("a.example"), Some(a));
        assert_eq!(f.name(a.into()).as_deref(), Some("a.example"));
        assert!(is_fake(a.into()) && is_fake(b.into()));
        assert!(!is_fake("198.20.0.1".parse().unwrap()));
        assert!(is_fake("198.19.255.1".parse().unwrap()));
        assert_eq!(f.name("198.18.99.99".parse().unwrap()), None);
    }
}
