//! The syscall deny-list every agent process carries.
//!
//! Each refusal goes to the supervisor through seccomp user notification (not a silent EPERM),
//! so the journal records which process tried what. The answer is always EPERM: the supervisor
//! never lets a listed call through, so notification's time-of-check races do not apply, and if
//! the supervisor is gone the kernel fails the call (ENOSYS) instead of running it.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};

use libseccomp::{
    ScmpAction, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpNotifReq, ScmpNotifResp,
    ScmpNotifRespFlags, ScmpSyscall,
};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

/// One refused call, as the supervisor saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Denied {
    /// Host pid of the calling thread's process.
    pub pid: u32,
    /// Syscall name, e.g. `ptrace`.
    pub syscall: String,
    /// What was attempted, in words.
    pub what: String,
    /// The call's arguments as the kernel passed them (a `socket(2)`'s family, type and
    /// protocol, say), for records that need more than the words.
    pub args: [u64; 6],
}

/// A denied call, optionally only when every argument condition matches.
struct Rule {
    syscall: &'static str,
    /// (index, mask, value): denied when args[index] & mask == value, for all of them.
    args: &'static [(u32, u64, u64)],
    what: &'static str,
}

const fn always(syscall: &'static str, what: &'static str) -> Rule {
    Rule { syscall, args: &[], what }
}

impl Rule {
    fn matches(&self, args: &[u64; 6]) -> bool {
        self.args.iter().all(|&(i, mask, value)| args[i as usize] & mask == value)
    }
}

const AF_PACKET: u64 = libc::AF_PACKET as u64;
const AF_INET: u64 = libc::AF_INET as u64;
const AF_INET6: u64 = libc::AF_INET6 as u64;
const SOCK_TYPE_MASK: u64 = 0xf;
const SOCK_RAW: u64 = libc::SOCK_RAW as u64;
const SOCK_DGRAM: u64 = libc::SOCK_DGRAM as u64;
const IPPROTO_ICMP: u64 = libc::IPPROTO_ICMP as u64;
const IPPROTO_ICMPV6: u64 = libc::IPPROTO_ICMPV6 as u64;
const NEWUSER: u64 = libc::CLONE_NEWUSER as u64;
/// `int` and `unsigned int` arguments: the kernel ignores a register's upper 32 bits for them,
/// so a rule must too, or `socket(0x1_0000_0011, …)` would be AF_PACKET to the kernel and
/// nothing to the filter.
const INT: u64 = 0xffff_ffff;
// The request numbers are `c_ulong` with glibc and `c_int` with musl.
#[allow(clippy::unnecessary_cast)]
const TIOCSTI: u64 = libc::TIOCSTI as u64;
#[allow(clippy::unnecessary_cast)]
const TIOCLINUX: u64 = libc::TIOCLINUX as u64;

const RULES: &[Rule] = &[
    always("ptrace", "trace or inspect another process"),
    always("process_vm_readv", "read another process's memory"),
    always("process_vm_writev", "write another process's memory"),
    always("bpf", "load eBPF programs"),
    always("perf_event_open", "open performance counters"),
    always("io_uring_setup", "use io_uring (which bypasses syscall filters)"),
    always("io_uring_enter", "use io_uring (which bypasses syscall filters)"),
    always("io_uring_register", "use io_uring (which bypasses syscall filters)"),
    always("mount", "mount a file system"),
    always("umount2", "unmount a file system"),
    always("fsopen", "mount a file system"),
    always("fsmount", "mount a file system"),
    always("fsconfig", "mount a file system"),
    always("move_mount", "mount a file system"),
    always("open_tree", "mount a file system"),
    always("pivot_root", "change the root file system"),
    always("kexec_load", "load a new kernel"),
    always("kexec_file_load", "load a new kernel"),
    always("init_module", "load a kernel module"),
    always("finit_module", "load a kernel module"),
    always("delete_module", "unload a kernel module"),
    // A key the kernel cannot find makes it run /sbin/request-key as root on the host, with a
    // description the caller chose; the agent's keyring is its own and needs no upcall.
    always("request_key", "make the kernel run a key upcall program as root (request_key)"),
    Rule { syscall: "unshare", args: &[(0, NEWUSER, NEWUSER)], what: "create a user namespace" },
    Rule { syscall: "clone", args: &[(0, NEWUSER, NEWUSER)], what: "create a user namespace" },
    // Pushing bytes into a terminal's input queue: keystrokes the caller's shell would run after
    // the run. The agent has no controlling terminal (its own session), and this refuses the
    // ioctl on any terminal it holds.
    Rule { syscall: "ioctl", args: &[(1, INT, TIOCSTI)], what: "inject input into a terminal (TIOCSTI)" },
    Rule {
        syscall: "ioctl",
        args: &[(1, INT, TIOCLINUX)],
        what: "use the console's TIOCLINUX (selection paste)",
    },
    Rule { syscall: "socket", args: &[(0, INT, AF_PACKET)], what: "open a packet socket (AF_PACKET)" },
    // Raw IP sockets craft packets past the proxy. Raw netlink sockets (how runtimes list network
    // interfaces) change nothing without CAP_NET_ADMIN, which the agent does not have.
    Rule {
        syscall: "socket",
        args: &[(0, INT, AF_INET), (1, SOCK_TYPE_MASK, SOCK_RAW)],
        what: "open a raw IP socket (SOCK_RAW)",
    },
    Rule {
        syscall: "socket",
        args: &[(0, INT, AF_INET6), (1, SOCK_TYPE_MASK, SOCK_RAW)],
        what: "open a raw IPv6 socket (SOCK_RAW)",
    },
    // Ping sockets send ICMP past the proxy. The fence's namespace already turns them off
    // (net.ipv4.ping_group_range); refused here too, so each attempt reaches the supervisor with
    // its process, without a syscall-exit hook that every system call on the host would pay for.
    Rule {
        syscall: "socket",
        args: &[(0, INT, AF_INET), (1, SOCK_TYPE_MASK, SOCK_DGRAM), (2, INT, IPPROTO_ICMP)],
        what: "open an ICMP (ping) socket",
    },
    Rule {
        syscall: "socket",
        args: &[(0, INT, AF_INET6), (1, SOCK_TYPE_MASK, SOCK_DGRAM), (2, INT, IPPROTO_ICMPV6)],
        what: "open an ICMPv6 (ping) socket",
    },
];

/// Names of the refused syscalls, for the report.
pub fn denied_syscalls() -> Vec<&'static str> {
    let mut names: Vec<_> = RULES.iter().map(|r| r.syscall).collect();
    names.dedup();
    names
}

/// Builds the filter; the caller loads it in the agent process just before exec.
pub fn filter() -> Result<ScmpFilterContext, libseccomp::error::SeccompError> {
    let mut ctx = ScmpFilterContext::new(ScmpAction::Allow)?;
    // clone3 passes its flags in memory a filter cannot read, so it cannot be checked for
    // CLONE_NEWUSER; ENOSYS makes libc fall back to clone(2), whose flags the rule above sees.
    ctx.add_rule(ScmpAction::Errno(libc::ENOSYS), ScmpSyscall::from_name("clone3")?)?;
    for rule in RULES {
        // A name this architecture does not have (e.g. an old mount call) has nothing to deny.
        let Ok(syscall) = ScmpSyscall::from_name(rule.syscall) else { continue };
        if rule.args.is_empty() {
            ctx.add_rule(ScmpAction::Notify, syscall)?;
            continue;
        }
        let compares: Vec<ScmpArgCompare> = rule
            .args
            .iter()
            .map(|&(index, mask, value)| {
                let op =
                    if mask == u64::MAX { ScmpCompareOp::Equal } else { ScmpCompareOp::MaskedEqual(mask) };
                ScmpArgCompare::new(index, op, value)
            })
            .collect();
        ctx.add_rule_conditional(ScmpAction::Notify, syscall, &compares)?;
    }
    Ok(ctx)
}

/// What a refused call attempted, from its syscall number and arguments.
fn describe(req: &ScmpNotifReq) -> Denied {
    let syscall =
        req.data.syscall.get_name().unwrap_or_else(|_| format!("syscall {}", i32::from(req.data.syscall)));
    let args = req.data.args;
    let what = RULES
        .iter()
        .find(|r| r.syscall == syscall && r.matches(&args))
        .map(|r| r.what)
        .unwrap_or("a refused system call");
    Denied { pid: req.pid, what: format!("{syscall}: tried to {what}"), syscall, args }
}

/// Answers every notification on `listener` with EPERM and reports it, until no process uses
/// the filter any more (POLLHUP) or `stop` is set.
pub fn serve(listener: OwnedFd, stop: &AtomicBool, mut on_denied: impl FnMut(Denied)) {
    let fd = listener.as_raw_fd();
    while !stop.load(Ordering::Relaxed) {
        let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(100u16)) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
            Ok(_) => {}
            Err(_) => return,
        }
        let revents = fds[0].revents().unwrap_or(PollFlags::empty());
        if revents.contains(PollFlags::POLLIN) {
            // ENOENT: the caller died between poll and receive; nothing to answer.
            let Ok(req) = ScmpNotifReq::receive(fd) else { continue };
            let denied = describe(&req);
            let _ = ScmpNotifResp::new_error(req.id, -libc::EPERM, ScmpNotifRespFlags::empty()).respond(fd);
            on_denied(denied);
        } else if revents.intersects(PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_builds_and_names_what_it_denies() {
        filter().unwrap();
        let names = denied_syscalls();
        for required in
            ["ptrace", "process_vm_readv", "bpf", "io_uring_setup", "mount", "kexec_load", "socket", "ioctl"]
        {
            assert!(names.contains(&required), "{required}");
        }
    }

    #[test]
    fn argument_rules_describe_what_matched() {
        let socket = |domain: i32, ty: i32| [domain as u64, ty as u64, 0, 0, 0, 0];
        let denied = |args: &[u64; 6]| RULES.iter().find(|r| r.syscall == "socket" && r.matches(args));
        let nonblocking_raw = libc::SOCK_RAW | libc::SOCK_NONBLOCK;
        let rule = denied(&socket(libc::AF_INET, nonblocking_raw)).expect("raw IPv4, flags or'd in");
        assert!(rule.what.contains("raw IP socket"));
        assert!(denied(&socket(libc::AF_INET6, libc::SOCK_RAW)).is_some());
        assert!(denied(&socket(libc::AF_PACKET, libc::SOCK_DGRAM)).is_some());
        assert!(denied(&socket(libc::AF_INET, libc::SOCK_STREAM)).is_none());
        let with_protocol =
            |domain: i32, ty: i32, protocol: i32| [domain as u64, ty as u64, protocol as u64, 0, 0, 0];
        let ping =
            denied(&with_protocol(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, libc::IPPROTO_ICMP));
        assert!(ping.expect("ping socket").what.contains("ICMP (ping)"));
        assert!(denied(&with_protocol(libc::AF_INET6, libc::SOCK_DGRAM, libc::IPPROTO_ICMPV6)).is_some());
        assert!(denied(&with_protocol(libc::AF_INET, libc::SOCK_DGRAM, 0)).is_none(), "UDP is the proxy's");
        assert!(denied(&with_protocol(libc::AF_INET, libc::SOCK_DGRAM, libc::IPPROTO_UDP)).is_none());
        // Listing interfaces over rtnetlink is not an escape.
        assert!(denied(&socket(libc::AF_NETLINK, libc::SOCK_RAW)).is_none());
        // The kernel reads `int` arguments from the low 32 bits; so does the filter.
        let high = 1u64 << 32;
        let packet = [libc::AF_PACKET as u64 | high, libc::SOCK_RAW as u64, 0, 0, 0, 0];
        assert!(denied(&packet).is_some(), "upper bits must not hide AF_PACKET");
        let ping =
            [libc::AF_INET as u64 | high, libc::SOCK_DGRAM as u64, libc::IPPROTO_ICMP as u64 | high, 0, 0, 0];
        assert!(denied(&ping).is_some());
    }

    #[test]
    fn terminal_injection_is_refused_whatever_the_upper_bits() {
        let ioctl = |cmd: u64| [0, cmd, 0, 0, 0, 0];
        let denied = |args: &[u64; 6]| RULES.iter().find(|r| r.syscall == "ioctl" && r.matches(args));
        assert!(denied(&ioctl(TIOCSTI)).expect("TIOCSTI").what.contains("TIOCSTI"));
        assert!(denied(&ioctl(TIOCSTI | 1 << 40)).is_some());
        assert!(denied(&ioctl(TIOCLINUX)).is_some());
        assert!(denied(&ioctl(TIOCSTI + 1)).is_none(), "ordinary terminal ioctls (TIOCGWINSZ) pass");
    }
}
