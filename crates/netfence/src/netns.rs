//! Doing things inside the fence's network namespace from a process that stays outside it.
//!
//! `setns(CLONE_NEWNET)` moves only the calling thread, so a short-lived thread enters the
//! namespace, creates sockets (which keep their namespace for life), adds the routes and the
//! nftables rules over netlink (an `nft` child, where one is needed, inherits the thread's
//! namespace), then exits. Everything else — the runtime that accepts on those sockets and the
//! upstream connections — stays in the host namespace.

use std::net::IpAddr;
use std::os::fd::{AsFd, BorrowedFd};

use nix::sched::{CloneFlags, setns};

use crate::NetError;

/// Runs `f` on a thread inside the namespace `netns` and returns its result.
pub(crate) fn within<T: Send>(
    netns: BorrowedFd<'_>,
    f: impl FnOnce() -> Result<T, NetError> + Send,
) -> Result<T, NetError> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                setns(netns.as_fd(), CloneFlags::CLONE_NEWNET)
                    .map_err(|e| NetError::EnterNetns(format!("setns(CLONE_NEWNET): {e}")))?;
                f()
            })
            .join()
            .map_err(|_| NetError::SetupPanicked)?
    })
}

/// Routes every destination to `lo`, so that `connect()` to any address gets as far as
/// netfilter (which redirects it to ringfence) instead of failing with "network unreachable".
/// The source address is pinned to loopback: without it the kernel picks 0.0.0.0 / `::`, and
/// the replies of redirected connections would have nowhere to go.
pub(crate) fn add_routes() -> Result<(), NetError> {
    for (command, src) in [
        ("ip -4 route add default dev lo src 127.0.0.1", IpAddr::from([127, 0, 0, 1])),
        ("ip -6 route add default dev lo src ::1", IpAddr::from(std::net::Ipv6Addr::LOCALHOST)),
    ] {
        crate::route::add_default_via_lo(src)
            .map_err(|e| NetError::Route { command: command.into(), reason: e.to_string() })?;
    }
    Ok(())
}
