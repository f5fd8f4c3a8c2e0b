//! The fence namespace's default routes, added over rtnetlink: one message and one
//! acknowledgement each, where an `ip route add` process cost an exec, a dynamic link and a
//! netlink socket of its own (~5–15 ms each on a loaded machine, bench/startup).
//!
//! Two fixed messages do not need a netlink library: the layout below is the kernel's ABI
//! (`linux/netlink.h`, `linux/rtnetlink.h`), the same on every architecture.

use std::io;
use std::mem::size_of;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// What `ip route add default dev lo src ADDR` sends: a unicast default route in the main table
/// through `lo`, with ADDR as the preferred source.
pub(crate) fn add_default_via_lo(src: IpAddr) -> io::Result<()> {
    let lo = lo_index()?;
    let message = new_route(lo, src, 1);
    let socket = open()?;
    send(&socket, &message)?;
    ack(&socket, 1)
}

/// RTM_NEWROUTE, created and exclusive (an existing default route is an error, as with `ip`).
fn new_route(oif: u32, src: IpAddr, seq: u32) -> Vec<u8> {
    let (family, addr): (u8, Vec<u8>) = match src {
        IpAddr::V4(a) => (libc::AF_INET as u8, a.octets().to_vec()),
        IpAddr::V6(a) => (libc::AF_INET6 as u8, a.octets().to_vec()),
    };
    // `ip` gives an IPv4 route without a gateway link scope; IPv6 routes are always universe.
    let scope = if family == libc::AF_INET as u8 { libc::RT_SCOPE_LINK } else { libc::RT_SCOPE_UNIVERSE };
    let rtmsg = [
        family,
        0, // dst_len: the default route
        0, // src_len
        0, // tos
        libc::RT_TABLE_MAIN,
        libc::RTPROT_BOOT,
        scope,
        libc::RTN_UNICAST,
        0,
        0,
        0,
        0, // flags (u32)
    ];
    let mut body = rtmsg.to_vec();
    attribute(&mut body, libc::RTA_OIF, &oif.to_ne_bytes());
    attribute(&mut body, libc::RTA_PREFSRC, &addr);
    let flags = libc::NLM_F_REQUEST | libc::NLM_F_ACK | libc::NLM_F_CREATE | libc::NLM_F_EXCL;
    let mut message = header(body.len(), libc::RTM_NEWROUTE, flags as u16, seq);
    message.extend_from_slice(&body);
    message
}

const NLMSG_HDRLEN: usize = 16;

fn header(body: usize, kind: u16, flags: u16, seq: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(NLMSG_HDRLEN + body);
    h.extend_from_slice(&((NLMSG_HDRLEN + body) as u32).to_ne_bytes());
    h.extend_from_slice(&kind.to_ne_bytes());
    h.extend_from_slice(&flags.to_ne_bytes());
    h.extend_from_slice(&seq.to_ne_bytes());
    h.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it in
    h
}

/// One rtattr, padded to 4 bytes.
fn attribute(buf: &mut Vec<u8>, kind: u16, payload: &[u8]) {
    let len = 4 + payload.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(payload);
    buf.resize(buf.len().next_multiple_of(4), 0);
}

fn lo_index() -> io::Result<u32> {
    // SAFETY: a NUL-terminated constant name.
    let index = unsafe { libc::if_nametoindex(c"lo".as_ptr()) };
    if index == 0 { Err(io::Error::last_os_error()) } else { Ok(index) }
}

fn open() -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2); the fd is owned from here on.
    let fd =
        unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, libc::NETLINK_ROUTE) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd was just returned by socket(2) and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn send(socket: &OwnedFd, message: &[u8]) -> io::Result<()> {
    // SAFETY: `message` is a valid buffer of its length; the kernel is the default destination.
    let sent = unsafe { libc::send(socket.as_raw_fd(), message.as_ptr().cast(), message.len(), 0) };
    match sent {
        n if n < 0 => Err(io::Error::last_os_error()),
        n if n as usize != message.len() => Err(io::Error::other("rtnetlink: short send")),
        _ => Ok(()),
    }
}

/// Waits for the kernel's NLMSG_ERROR answer to `seq`: errno 0 is success.
fn ack(socket: &OwnedFd, seq: u32) -> io::Result<()> {
    let mut buf = [0u8; 1024];
    loop {
        // SAFETY: `buf` is writable for its length.
        let n = unsafe { libc::recv(socket.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        if let Some(result) = answer(&buf[..n as usize], seq) {
            return result;
        }
    }
}

/// The result carried by the NLMSG_ERROR message for `seq` in `data`, if it holds one.
fn answer(mut data: &[u8], seq: u32) -> Option<io::Result<()>> {
    while data.len() >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes(data[0..4].try_into().ok()?) as usize;
        let kind = u16::from_ne_bytes(data[4..6].try_into().ok()?);
        let got = u32::from_ne_bytes(data[8..12].try_into().ok()?);
        if len < NLMSG_HDRLEN || len > data.len() {
            return Some(Err(io::Error::other("rtnetlink: malformed answer")));
        }
        if kind == libc::NLMSG_ERROR as u16 && got == seq {
            let errno = data
                .get(NLMSG_HDRLEN..NLMSG_HDRLEN + size_of::<i32>())
                .and_then(|b| b.try_into().ok())
                .map(i32::from_ne_bytes)?;
            return Some(if errno == 0 { Ok(()) } else { Err(io::Error::from_raw_os_error(-errno)) });
        }
        data = &data[len.next_multiple_of(4).min(data.len())..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_v4_message_is_what_ip_sends() {
        let m = new_route(1, "127.0.0.1".parse().unwrap(), 7);
        // header 16 + rtmsg 12 + RTA_OIF 8 + RTA_PREFSRC 8
        assert_eq!(m.len(), 44);
        assert_eq!(u32::from_ne_bytes(m[0..4].try_into().unwrap()), 44);
        assert_eq!(u16::from_ne_bytes(m[4..6].try_into().unwrap()), libc::RTM_NEWROUTE);
        assert_eq!(
            &m[16..24],
            &[
                libc::AF_INET as u8,
                0,
                0,
                0,
                libc::RT_TABLE_MAIN,
                libc::RTPROT_BOOT,
                libc::RT_SCOPE_LINK,
                libc::RTN_UNICAST
            ]
        );
        assert_eq!(&m[40..44], &[127, 0, 0, 1]);
    }

    #[test]
    fn the_v6_message_pads_nothing_and_is_universe_scope() {
        let m = new_route(1, "::1".parse().unwrap(), 7);
        assert_eq!(m.len(), 16 + 12 + 8 + 20);
        assert_eq!(m[22], libc::RT_SCOPE_UNIVERSE);
    }

    #[test]
    fn an_error_answer_is_an_error_and_other_sequences_are_skipped() {
        let mut other = header(4, libc::NLMSG_ERROR as u16, 0, 3);
        other.extend_from_slice(&0i32.to_ne_bytes());
        let mut refused = header(4, libc::NLMSG_ERROR as u16, 0, 7);
        refused.extend_from_slice(&(-libc::EEXIST).to_ne_bytes());
        let both = [other.clone(), refused].concat();
        let err = answer(&both, 7).expect("an answer").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EEXIST));
        assert!(answer(&other, 7).is_none());
        assert!(answer(&other, 3).expect("an answer").is_ok());
        assert!(answer(&[1, 2, 3], 7).is_none());
    }

    /// The real kernel, in a network namespace of the test thread's own: refused while `lo` is
    /// down (as `ip` is), then both routes in place, and a second add refused as a duplicate.
    #[test]
    fn adds_both_default_routes_in_a_fresh_namespace() {
        if !nix::unistd::Uid::effective().is_root() {
            testnet::cannot_run("needs root (a network namespace)");
            return;
        }
        let v4: IpAddr = "127.0.0.1".parse().unwrap();
        let v6: IpAddr = "::1".parse().unwrap();
        std::thread::spawn(move || {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("own netns");
            let down = add_default_via_lo(v4).expect_err("lo is down");
            assert_eq!(down.raw_os_error(), Some(libc::ENETDOWN), "{down}");
            // Children inherit the thread's namespace.
            let up = std::process::Command::new("ip").args(["link", "set", "lo", "up"]).status();
            assert!(up.expect("ip runs").success());
            add_default_via_lo(v4).expect("IPv4 default route");
            add_default_via_lo(v6).expect("IPv6 default route");
            let again = add_default_via_lo(v4).expect_err("a second default route");
            assert_eq!(again.raw_os_error(), Some(libc::EEXIST), "{again}");
            let shown = |family: &str| {
                let out =
                    std::process::Command::new("ip").args([family, "route", "show", "default"]).output();
                String::from_utf8_lossy(&out.expect("ip runs").stdout).into_owned()
            };
            assert_eq!(shown("-4").trim(), "default dev lo scope link src 127.0.0.1");
            assert!(shown("-6").starts_with("default dev lo "), "{}", shown("-6"));
            assert!(shown("-6").contains("src ::1"), "{}", shown("-6"));
        })
        .join()
        .expect("the namespace thread passes");
    }
}
