//! The byte layouts shared with `src/bpf/unix.bpf.c`: the `attempts` map's keys and values and
//! the `allowed` map's keys. Change both sides together.

use std::ffi::CStr;

/// Which call reached the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnixCall {
    /// `connect(2)` of a stream or seqpacket socket.
    Connect,
    /// A datagram socket's `connect(2)`, or any datagram it sends (`send`, `sendto`, `sendmsg`).
    Send,
}

/// What the kernel side did with the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnixVerdict {
    /// Block mode: moved into the socket view, where only the run's own areas and the allowed
    /// sockets exist.
    Viewed,
    /// Audit mode: let through as given.
    Audited,
    /// Block mode: failed with EPERM (a relative path, a `..` component, too long for the view).
    Refused,
}

/// Identical attempts (same process, call, verdict and path), counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnixAttempt {
    /// Thread-group id (the pid user space sees outside the fence's PID namespace).
    pub pid: u32,
    /// The calling thread's name at the first attempt.
    pub comm: String,
    pub call: UnixCall,
    /// The calling socket's type: `SOCK_STREAM`, `SOCK_DGRAM` or `SOCK_SEQPACKET`.
    pub sock_type: u32,
    /// The path as the process gave it (relative ones relative to its working directory).
    pub path: String,
    pub verdict: UnixVerdict,
    pub count: u64,
    /// Monotonic clock at the first one, to put records in order.
    pub first_ns: u64,
}

/// Bytes in `sun_path`.
pub(crate) const SUN_PATH: usize = 108;
pub(crate) const KEY_SIZE: usize = 8 + SUN_PATH;
pub(crate) const VALUE_SIZE: usize = 8 + 8 + 16 + 4 + 4;

/// One `attempts` entry; `None` when the bytes are not a valid one.
pub(crate) fn decode(key: &[u8], value: &[u8]) -> Option<UnixAttempt> {
    if key.len() != KEY_SIZE || value.len() != VALUE_SIZE {
        return None;
    }
    let u16_at = |i: usize| u16::from_ne_bytes([key[i], key[i + 1]]);
    let u32_of = |b: &[u8]| u32::from_ne_bytes(b.try_into().unwrap_or([0; 4]));
    let u64_of = |b: &[u8]| u64::from_ne_bytes(b.try_into().unwrap_or([0; 8]));
    let call = match u16_at(4) {
        1 => UnixCall::Connect,
        2 => UnixCall::Send,
        _ => return None,
    };
    let verdict = match u16_at(6) {
        1 => UnixVerdict::Viewed,
        2 => UnixVerdict::Audited,
        3 => UnixVerdict::Refused,
        _ => return None,
    };
    Some(UnixAttempt {
        pid: u32_of(&key[..4]),
        comm: c_string(&value[16..32]),
        call,
        sock_type: u32_of(&value[32..36]),
        path: c_string(&key[8..]),
        verdict,
        count: u64_of(&value[..8]),
        first_ns: u64_of(&value[8..16]),
    })
}

/// Up to the first NUL; a name that is not UTF-8 keeps its bytes visible as escapes.
fn c_string(bytes: &[u8]) -> String {
    let text = CStr::from_bytes_until_nul(bytes).map_or(bytes, CStr::to_bytes);
    String::from_utf8(text.to_vec()).unwrap_or_else(|_| text.escape_ascii().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(call: u16, verdict: u16, path: &[u8]) -> Vec<u8> {
        let mut k = Vec::new();
        k.extend_from_slice(&4242u32.to_ne_bytes());
        k.extend_from_slice(&call.to_ne_bytes());
        k.extend_from_slice(&verdict.to_ne_bytes());
        let mut p = [0u8; SUN_PATH];
        p[..path.len()].copy_from_slice(path);
        k.extend_from_slice(&p);
        k
    }

    fn value(comm: &[u8], sock_type: u32) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&3u64.to_ne_bytes());
        v.extend_from_slice(&7u64.to_ne_bytes());
        let mut c = [0u8; 16];
        c[..comm.len()].copy_from_slice(comm);
        v.extend_from_slice(&c);
        v.extend_from_slice(&sock_type.to_ne_bytes());
        v.extend_from_slice(&[0; 4]);
        v
    }

    #[test]
    fn decodes_a_refused_connect() {
        let a = decode(&key(1, 3, b"/run/dbus/system_bus_socket"), &value(b"python3", 1)).unwrap();
        assert_eq!(
            (a.pid, a.call, a.sock_type, a.verdict),
            (4242, UnixCall::Connect, 1, UnixVerdict::Refused)
        );
        assert_eq!(
            (a.path.as_str(), a.comm.as_str(), a.count, a.first_ns),
            ("/run/dbus/system_bus_socket", "python3", 3, 7)
        );
    }

    #[test]
    fn a_full_length_path_without_nul_is_kept_whole() {
        let a = decode(&key(2, 2, &[b'a'; SUN_PATH]), &value(b"x", 2)).unwrap();
        assert_eq!(a.path.len(), SUN_PATH);
        assert_eq!((a.call, a.verdict), (UnixCall::Send, UnixVerdict::Audited));
    }

    #[test]
    fn odd_bytes_in_a_path_are_escaped() {
        let a = decode(&key(1, 1, b"/run/\xff.sock"), &value(b"x", 1)).unwrap();
        assert_eq!(a.path, "/run/\\xff.sock");
    }

    #[test]
    fn garbage_is_not_an_attempt() {
        assert_eq!(decode(&[0; 3], &value(b"x", 1)), None);
        assert_eq!(decode(&key(9, 1, b"/x"), &value(b"x", 1)), None);
        assert_eq!(decode(&key(1, 0, b"/x"), &value(b"x", 1)), None);
        assert_eq!(decode(&key(1, 1, b"/x"), &value(b"x", 1)).map(|a| a.verdict), Some(UnixVerdict::Viewed));
    }
}
