//! A job fence: ringfence's resolver and proxy in the job's own network namespace, which it
//! shares with processes ringfence did not start (the runner, the steps, containers). What
//! differs from a run's fresh namespace is here: how the listeners are bound and how the rules
//! are loaded and checked; the rules' text is in `nft::job_ruleset`.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};

use crate::{NetError, nft};

/// Where the fence's resolver and proxy live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// A fresh namespace the fence owns (`ringfence run`): nothing else lives there.
    OwnNamespace,
    /// The job's namespace (`ringfence job start`): upstream sockets are marked, only new
    /// connections are redirected, and the rules are removed at stop.
    Job,
}

pub(crate) struct Listeners {
    pub proxy4: TcpListener,
    pub proxy6: TcpListener,
    pub dns_udp: UdpSocket,
    pub dns_tcp: TcpListener,
    pub proxy_port: u16,
    pub dns_port: u16,
}

/// How often a free port pair for the resolver (UDP and TCP on one port) is looked for.
const DNS_PORT_TRIES: usize = 16;

/// Binds the TCP listeners on every address, not only loopback: a container's connection is
/// redirected at prerouting to the bridge's own address. The input chain lets only redirected
/// connections and loopback reach them. The resolver takes a free port rather than 53: the
/// machine may run a resolver of its own, and every query is redirected whichever port it asked.
pub(crate) fn listeners() -> Result<Listeners, NetError> {
    let bind_err = |what| move |source| NetError::Bind { what, source };
    let proxy4 = TcpListener::bind(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0))
        .map_err(bind_err("transparent proxy"))?;
    let proxy_port = proxy4.local_addr().map_err(bind_err("transparent proxy"))?.port();
    let proxy6 = v6_only_listener(proxy_port).map_err(bind_err("transparent proxy (IPv6)"))?;
    let mut last = None;
    for _ in 0..DNS_PORT_TRIES {
        // UDP on loopback only: a datagram socket bound to every address would answer from the
        // address the route picks, not the one the redirected query was sent to, and the
        // client (and conntrack's reverse translation) would not take the answer.
        let dns_udp = UdpSocket::bind(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0))
            .map_err(bind_err("DNS server (UDP)"))?;
        let dns_port = dns_udp.local_addr().map_err(bind_err("DNS server (UDP)"))?.port();
        match TcpListener::bind(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), dns_port)) {
            Ok(dns_tcp) => return Ok(Listeners { proxy4, proxy6, dns_udp, dns_tcp, proxy_port, dns_port }),
            Err(e) => last = Some(e),
        }
    }
    Err(NetError::Bind {
        what: "DNS server (TCP)",
        source: last.unwrap_or_else(|| std::io::Error::other("no free port")),
    })
}

/// `[::]:port` for IPv6 only: the IPv4 listener already holds the port, and a dual-stack socket
/// would see IPv4 clients as mapped addresses.
fn v6_only_listener(port: u16) -> std::io::Result<TcpListener> {
    use std::os::fd::{FromRawFd, OwnedFd};
    let check = |rc: libc::c_int| if rc < 0 { Err(std::io::Error::last_os_error()) } else { Ok(rc) };
    // SAFETY: socket(2); the descriptor is owned at once.
    let fd = unsafe {
        OwnedFd::from_raw_fd(check(libc::socket(libc::AF_INET6, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0))?)
    };
    let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
    let one: libc::c_int = 1;
    let len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: setsockopt with a correctly sized int, on the descriptor just made.
    check(unsafe {
        libc::setsockopt(raw, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, (&one as *const libc::c_int).cast(), len)
    })?;
    // SAFETY: as above.
    check(unsafe {
        libc::setsockopt(raw, libc::SOL_SOCKET, libc::SO_REUSEADDR, (&one as *const libc::c_int).cast(), len)
    })?;
    // SAFETY: an all-zero sockaddr_in6 is `[::]:0`; the port is set before bind reads it.
    let mut addr: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
    addr.sin6_family = libc::AF_INET6 as libc::sa_family_t;
    addr.sin6_port = port.to_be();
    let addr_len = std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
    // SAFETY: bind with a correctly sized sockaddr_in6 that lives across the call.
    check(unsafe { libc::bind(raw, (&addr as *const libc::sockaddr_in6).cast(), addr_len) })?;
    // SAFETY: listen on the bound socket.
    check(unsafe { libc::listen(raw, 1024) })?;
    Ok(TcpListener::from(fd))
}

/// Loads the job ruleset (replacing a table left by an earlier fence) and returns its text and
/// nftables' listing of it, against which later checks compare.
pub(crate) fn apply(ports: &nft::Ports, block: bool) -> Result<(String, String), NetError> {
    nft::remove()?;
    let text = nft::job_ruleset(ports, block);
    nft::load(&text)?;
    let listed =
        nft::listing()?.ok_or_else(|| NetError::Nftables("the table just loaded is not listed".into()))?;
    Ok((text, listed))
}

/// `None` when the table is as loaded; else what changed, after loading it again.
pub(crate) fn check(text: &str, listed: &str) -> Result<Option<String>, NetError> {
    let now = nft::listing()?;
    if now.as_deref() == Some(listed) {
        return Ok(None);
    }
    let what = match now {
        None => "ringfence's nftables table was deleted".to_string(),
        Some(_) => "ringfence's nftables rules were changed".to_string(),
    };
    nft::remove()?;
    nft::load(text)?;
    Ok(Some(format!("{what}; they were loaded again")))
}
