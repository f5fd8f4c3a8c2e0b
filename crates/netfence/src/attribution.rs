//! Which process made a connection or a query: socket → inode with `sock_diag` netlink inside
//! the fence's namespace, then inode → pid by looking for `socket:[inode]` among the file
//! descriptors of the run's cgroup members.
//!
//! Best effort by nature: a process that exits before the lookup has no pid any more, and the
//! result is then `None`. The lookup runs before the DNS answer is sent and before the proxy
//! connects upstream, while the asking process is still waiting and therefore alive. A TCP
//! client that connects and closes at once is gone by then, so the caller may give a
//! [`PidHint`] (a kernel hook that noted the connecting process) that is asked first.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const NETLINK_SOCK_DIAG: libc::c_int = 4;
const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_DUMP: u16 = 0x300;
const HEADER: usize = 16;
/// `struct inet_diag_msg` offsets, after the netlink header.
const MSG_SPORT: usize = HEADER + 4;
const MSG_INODE: usize = HEADER + 4 + 48 + 16;

/// The pid that connected from a client address to an original destination, as noted when
/// the connection was made; `None` when it was not.
pub type PidHint = Arc<dyn Fn(SocketAddr, SocketAddr) -> Option<u32> + Send + Sync>;

/// Finds the pid behind a socket of the fence's namespace.
pub struct Attributor {
    /// A sock_diag socket created inside the fence's namespace: it answers for that namespace
    /// whichever thread uses it.
    diag: Mutex<OwnedFd>,
    cgroup_procs: PathBuf,
    hint: Option<PidHint>,
}

impl Attributor {
    /// Opens the sock_diag socket; call on a thread inside the fence's namespace.
    pub fn open_in_netns(cgroup_procs: PathBuf, hint: Option<PidHint>) -> io::Result<Attributor> {
        // SAFETY: plain socket(2); the fd is owned at once.
        let fd =
            unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, NETLINK_SOCK_DIAG) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh, valid descriptor nobody else owns.
        let diag = unsafe { OwnedFd::from_raw_fd(fd) };
        let timeout = libc::timeval { tv_sec: 1, tv_usec: 0 };
        // SAFETY: setsockopt with a correctly sized timeval; a failure only loses the timeout.
        unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&timeout as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            );
        }
        Ok(Attributor { diag: Mutex::new(diag), cgroup_procs, hint })
    }

    /// The pid owning the TCP socket connected from `local` to `remote` (the address the
    /// client asked for, before redirection). The hint, when there is one, answers first: it
    /// still knows a client that has already exited.
    pub fn tcp(&self, local: SocketAddr, remote: SocketAddr) -> Option<u32> {
        if let Some(pid) = self.hint.as_ref().and_then(|hint| hint(local, remote)) {
            return Some(pid);
        }
        let inode = self.tcp_inode(local, remote)?;
        pid_of_inode(&members(&self.cgroup_procs), inode)
    }

    /// The pid owning the UDP socket bound to `local` (a DNS client's source).
    pub fn udp(&self, local: SocketAddr) -> Option<u32> {
        let request = request(local, None, libc::IPPROTO_UDP as u8, NLM_F_REQUEST | NLM_F_DUMP);
        let inode = self.query(&request, |msg| {
            let sport = u16::from_be_bytes([msg[MSG_SPORT], msg[MSG_SPORT + 1]]);
            sport == local.port()
        })?;
        pid_of_inode(&members(&self.cgroup_procs), inode)
    }

    fn tcp_inode(&self, local: SocketAddr, remote: SocketAddr) -> Option<u32> {
        let request = request(local, Some(remote), libc::IPPROTO_TCP as u8, NLM_F_REQUEST);
        self.query(&request, |_| true)
    }

    /// Sends `request` and returns the inode of the first answer `pick` accepts.
    fn query(&self, request: &[u8], pick: impl Fn(&[u8]) -> bool) -> Option<u32> {
        let diag = self.diag.lock().unwrap_or_else(|p| p.into_inner());
        let fd = diag.as_raw_fd();
        // SAFETY: send/recv on an owned socket with buffers of the stated lengths.
        let sent = unsafe { libc::send(fd, request.as_ptr().cast(), request.len(), 0) };
        if sent < 0 {
            return None;
        }
        let mut buf = vec![0u8; 64 * 1024];
        let mut found = None;
        loop {
            // SAFETY: as above.
            let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n <= 0 {
                return found;
            }
            let mut rest = &buf[..n as usize];
            let mut done = false;
            while rest.len() >= HEADER {
                let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
                let kind = u16::from_ne_bytes([rest[4], rest[5]]);
                let flags = u16::from_ne_bytes([rest[6], rest[7]]);
                if len < HEADER || len > rest.len() {
                    return found;
                }
                let msg = &rest[..len];
                match kind {
                    NLMSG_DONE | NLMSG_ERROR => done = true,
                    SOCK_DIAG_BY_FAMILY if msg.len() >= MSG_INODE + 4 && found.is_none() && pick(msg) => {
                        let i = MSG_INODE;
                        found = Some(u32::from_ne_bytes([msg[i], msg[i + 1], msg[i + 2], msg[i + 3]]));
                    }
                    _ => {}
                }
                // A single (non-dump) answer ends without NLMSG_DONE.
                if flags & 0x2 == 0 && kind == SOCK_DIAG_BY_FAMILY {
                    done = true;
                }
                rest = &rest[(len + 3) & !3..];
                if rest.len() < HEADER {
                    break;
                }
            }
            if done {
                return found;
            }
        }
    }
}

/// An `inet_diag_req_v2` for the socket at `local` (and `remote`, for an exact TCP lookup).
fn request(local: SocketAddr, remote: Option<SocketAddr>, protocol: u8, flags: u16) -> Vec<u8> {
    let mut req = Vec::with_capacity(72);
    req.extend_from_slice(&72u32.to_ne_bytes());
    req.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    req.extend_from_slice(&flags.to_ne_bytes());
    req.extend_from_slice(&[0; 8]); // seq, pid
    let family = if local.is_ipv4() { libc::AF_INET } else { libc::AF_INET6 } as u8;
    req.extend_from_slice(&[family, protocol, 0, 0]);
    req.extend_from_slice(&u32::MAX.to_ne_bytes()); // every state
    req.extend_from_slice(&local.port().to_be_bytes());
    req.extend_from_slice(&remote.map_or(0, |r| r.port()).to_be_bytes());
    req.extend_from_slice(&addr_bytes(local.ip()));
    req.extend_from_slice(&remote.map_or([0; 16], |r| addr_bytes(r.ip())));
    req.extend_from_slice(&0u32.to_ne_bytes()); // interface
    req.extend_from_slice(&[0xff; 8]); // INET_DIAG_NOCOOKIE
    req
}

fn addr_bytes(ip: IpAddr) -> [u8; 16] {
    let mut out = [0; 16];
    match ip {
        IpAddr::V4(v4) => out[..4].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => out = v6.octets(),
    }
    out
}

/// The run's member pids: the leaf's `cgroup.procs` and those of any cgroups below it.
pub fn members(cgroup_procs: &Path) -> Vec<u32> {
    let mut pids = Vec::new();
    let mut dirs: Vec<PathBuf> = cgroup_procs.parent().map(Path::to_path_buf).into_iter().collect();
    while let Some(dir) = dirs.pop() {
        if let Ok(text) = std::fs::read_to_string(dir.join("cgroup.procs")) {
            pids.extend(text.lines().filter_map(|l| l.trim().parse::<u32>().ok()));
        }
        if let Ok(entries) = std::fs::read_dir(&dir) {
            dirs.extend(
                entries.flatten().filter(|e| e.file_type().is_ok_and(|t| t.is_dir())).map(|e| e.path()),
            );
        }
    }
    pids
}

/// The first of `pids` holding a descriptor for socket `inode`.
pub fn pid_of_inode(pids: &[u32], inode: u32) -> Option<u32> {
    if inode == 0 {
        return None;
    }
    let wanted = format!("socket:[{inode}]");
    pids.iter().copied().find(|pid| {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return false };
        fds.flatten().any(|fd| std::fs::read_link(fd.path()).is_ok_and(|t| t.as_os_str() == wanted.as_str()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn request_layout() {
        let r = request("127.0.0.1:4000".parse().unwrap(), Some("198.18.0.1:443".parse().unwrap()), 6, 1);
        assert_eq!(r.len(), 72);
        assert_eq!(&r[24..26], &4000u16.to_be_bytes());
        assert_eq!(&r[26..28], &443u16.to_be_bytes());
        assert_eq!(&r[28..32], &[127, 0, 0, 1]);
        assert_eq!(&r[44..48], &[198, 18, 0, 1]);
    }

    #[test]
    fn finds_own_socket_by_inode() {
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let inode = std::fs::metadata(format!("/proc/self/fd/{}", sock.as_raw_fd())).unwrap().ino() as u32;
        assert_eq!(pid_of_inode(&[std::process::id()], inode), Some(std::process::id()));
        assert_eq!(pid_of_inode(&[std::process::id()], 0), None);
    }
}
