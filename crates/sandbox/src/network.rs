//! The fence's network namespace: created by the supervisor before CMD starts, with only a
//! loopback interface, so nothing outside the fence is reachable (not even the host's own
//! loopback services). The egress fence then places its resolver and proxy sockets inside it.

use std::os::fd::OwnedFd;

use nix::sched::{CloneFlags, unshare};

/// Creates a network namespace with loopback up and returns a handle to it; the namespace lives
/// as long as the handle (or a process in it) does.
pub fn create() -> Result<OwnedFd, String> {
    // unshare moves only the calling thread, so a short-lived thread does it and hands back the fd.
    std::thread::spawn(|| -> Result<OwnedFd, String> {
        unshare(CloneFlags::CLONE_NEWNET).map_err(|e| format!("unshare(CLONE_NEWNET): {e}"))?;
        loopback_up().map_err(|e| format!("bringing up the fence's loopback interface: {e}"))?;
        let ns = std::fs::File::open("/proc/thread-self/ns/net")
            .map_err(|e| format!("opening the new network namespace: {e}"))?;
        Ok(ns.into())
    })
    .join()
    .map_err(|_| "the network namespace thread panicked".to_string())?
}

/// A new network namespace starts with `lo` down; local servers the agent starts need it.
fn loopback_up() -> std::io::Result<()> {
    // SAFETY: plain socket and ioctl calls on a zeroed ifreq naming "lo".
    unsafe {
        let sock = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if sock < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut ifr: libc::ifreq = std::mem::zeroed();
        for (dst, src) in ifr.ifr_name.iter_mut().zip(b"lo\0") {
            *dst = *src as libc::c_char;
        }
        let mut result = libc::ioctl(sock, libc::SIOCGIFFLAGS, &mut ifr);
        if result == 0 {
            ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            result = libc::ioctl(sock, libc::SIOCSIFFLAGS, &ifr);
        }
        let error = std::io::Error::last_os_error();
        libc::close(sock);
        if result == 0 { Ok(()) } else { Err(error) }
    }
}
