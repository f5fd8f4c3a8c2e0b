//! Host Unix sockets: the Unix socket fence (sensors' `UnixFence`) counts every connect and
//! addressed datagram to a pathname Unix socket, and in block mode moves each into the socket
//! view (sandbox's `SOCKET_VIEW`), where only the run's own areas and the policy's
//! `egress.unix_sockets` exist. At the end each counted call is judged here: one that reached,
//! or tried to reach, a socket of the host's is a `net.attempt` with rule `unix-socket`.
//!
//! Where a path leads is looked up in the fence's own mount namespace (held open from the start
//! of the run, so its private /tmp is still there at the end): a symlink the agent planted in
//! /tmp or the workspace is judged by the socket it points at.

use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use journal::{Event, FenceLayer, Mode, NetAttempt, Verdict};
use sensors::{UnixAttempt, UnixCall, UnixFence, UnixFenceConfig, UnixVerdict, VIEW_FITS};

use super::recorder::Recorder;

pub const RULE: &str = "unix-socket";

/// The Unix socket fence of one run and a handle on the fence's mount namespace.
pub struct UnixSockets {
    fence: Option<UnixFence>,
    layer: FenceLayer,
    mode: Mode,
    own: Vec<PathBuf>,
    allowed: Vec<PathBuf>,
    namespace: Arc<Mutex<Option<OwnedFd>>>,
    stop_watch: Arc<AtomicBool>,
}

impl UnixSockets {
    /// Attaches the fence to the run's cgroup. Block mode does not run without it (the socket
    /// view is useless unless paths are moved into it); audit mode runs on and says so.
    pub fn start(mode: Mode, cgroup: &Path, cwd: &Path, allowed: &[PathBuf]) -> anyhow::Result<UnixSockets> {
        let block = mode == Mode::Block;
        let (fence, layer) = match UnixFence::start(&UnixFenceConfig { cgroup_dir: cgroup, block }) {
            Ok(fence) => {
                let detail = if block {
                    "cgroup unix connect/sendmsg hooks: every socket path moved into a view holding only the \
                     workspace, the private tmp dirs and egress.unix_sockets (symlinks not followed); relative \
                     and `..` paths refused"
                } else {
                    "cgroup unix connect/sendmsg hooks: every pathname socket call recorded with its process"
                };
                (Some(fence), layer(true, detail.into()))
            }
            Err(e) if block => {
                return Err(e).context(
                    "starting the Unix socket fence (eBPF on the run's cgroup, Linux 6.7+); block mode does \
                     not run without it",
                );
            }
            Err(e) => (None, layer(false, format!("not attached, so Unix socket calls go unrecorded: {e}"))),
        };
        let mut own: Vec<PathBuf> = sandbox::PRIVATE_TMP.iter().map(PathBuf::from).collect();
        own.push(cwd.to_path_buf());
        let sockets = UnixSockets {
            fence,
            layer,
            mode,
            own,
            allowed: allowed.to_vec(),
            namespace: Arc::new(Mutex::new(None)),
            stop_watch: Arc::new(AtomicBool::new(false)),
        };
        if sockets.fence.is_some() {
            watch(cgroup.to_path_buf(), sockets.namespace.clone(), sockets.stop_watch.clone());
        }
        Ok(sockets)
    }

    pub fn layers(&self, mut layers: Vec<FenceLayer>) -> Vec<FenceLayer> {
        layers.push(self.layer.clone());
        layers
    }

    /// Detaches the fence and journals what it counted.
    pub fn finish(mut self, recorder: &Arc<Recorder>) -> anyhow::Result<()> {
        self.stop_watch.store(true, Ordering::Relaxed);
        let Some(fence) = self.fence.take() else { return Ok(()) };
        let seen = fence.stop().context("stopping the Unix socket fence")?;
        let namespace = self.namespace.lock().unwrap_or_else(|p| p.into_inner()).take();
        let paths: Vec<String> = seen.attempts.iter().map(|a| a.path.clone()).collect();
        let targets = resolve(namespace, paths);
        let ctx = Judging { mode: self.mode, own: &self.own, allowed: &self.allowed };
        for (attempt, target) in seen.attempts.iter().zip(targets) {
            if let Some(record) = judge(&ctx, attempt, target.as_ref()) {
                recorder.append(Event::NetAttempt(record));
            }
        }
        recorder.record_lost("unix", seen.lost);
        Ok(())
    }
}

impl Drop for UnixSockets {
    /// A run that ends before `finish` (the fence failed to start) stops the watcher too.
    fn drop(&mut self) {
        self.stop_watch.store(true, Ordering::Relaxed);
    }
}

fn layer(active: bool, detail: String) -> FenceLayer {
    FenceLayer { layer: "unix-sockets".into(), active, detail }
}

/// Takes a handle on the fence's mount namespace as soon as a process of the run has one of its
/// own (init unshares it before CMD starts), so it outlives the run.
fn watch(cgroup: PathBuf, slot: Arc<Mutex<Option<OwnedFd>>>, stop: Arc<AtomicBool>) {
    let ours = std::fs::metadata("/proc/self/ns/mnt").map(|m| m.ino()).ok();
    let _ = std::thread::Builder::new().name("unix-ns".into()).spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let procs = std::fs::read_to_string(cgroup.join("cgroup.procs")).unwrap_or_default();
            for pid in procs.lines() {
                let Ok(ns) = File::open(format!("/proc/{pid}/ns/mnt")) else { continue };
                if ns.metadata().ok().map(|m| m.ino()) != ours {
                    *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(ns.into());
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    });
}

/// For each path, the socket it leads to (symlinks followed) as the fence saw its file system,
/// or `None` when it leads to no socket. Without the fence's namespace (a run too short for
/// `watch` to catch), the host's view, minus the private tmp dirs: the host's /tmp is not the
/// one the run saw.
fn resolve(namespace: Option<OwnedFd>, paths: Vec<String>) -> Vec<Option<Target>> {
    let lookup = |paths: &[String], private_visible: bool| -> Vec<Option<Target>> {
        paths
            .iter()
            .map(|p| {
                let private = sandbox::PRIVATE_TMP.iter().any(|t| Path::new(p).starts_with(t));
                if private && !private_visible {
                    return None;
                }
                let real = std::fs::canonicalize(p).ok()?;
                let meta = std::fs::metadata(&real).ok()?;
                meta.file_type().is_socket().then(|| Target { real, links: meta.nlink() })
            })
            .collect()
    };
    let Some(ns) = namespace else { return lookup(&paths, false) };
    let count = paths.len();
    // A thread of its own: setns(CLONE_NEWNS) needs a thread with an unshared fs context.
    std::thread::spawn(move || {
        use nix::sched::{CloneFlags, setns, unshare};
        unshare(CloneFlags::CLONE_FS).ok()?;
        setns(ns.as_fd(), CloneFlags::CLONE_NEWNS).ok()?;
        Some(lookup(&paths, true))
    })
    .join()
    .ok()
    .flatten()
    .unwrap_or_else(|| vec![None; count])
}

/// The socket a path leads to.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Its path with every symlink resolved.
    pub real: PathBuf,
    /// Its hard links: more than one means a name was added for it somewhere.
    pub links: u64,
}

/// What `judge` needs besides the attempt.
pub struct Judging<'a> {
    pub mode: Mode,
    /// The run's own areas: the private tmp dirs and the workspace.
    pub own: &'a [PathBuf],
    /// `egress.unix_sockets`.
    pub allowed: &'a [PathBuf],
}

/// The journal record for one counted call, or `None` for the run's own sockets and paths with
/// no socket behind them (a client probing for a daemon the host does not run, as glibc does
/// for nscd). `target`: the socket the path leads to in the fence's file system.
pub fn judge(ctx: &Judging<'_>, a: &UnixAttempt, target: Option<&Target>) -> Option<NetAttempt> {
    let record = |verdict, violation, reason: String| NetAttempt {
        pid: Some(a.pid),
        protocol: protocol(a.sock_type).into(),
        call: match a.call {
            UnixCall::Connect => "connect",
            UnixCall::Send => "sendmsg",
        }
        .into(),
        ip: a.path.clone(),
        port: 0,
        verdict,
        rule: RULE.into(),
        violation,
        reason: Some(reason),
        count: a.count,
    };
    let unfit = unfit(&a.path);
    if a.verdict == UnixVerdict::Refused || (ctx.mode == Mode::Audit && unfit.is_some()) {
        let why = unfit.unwrap_or("the kernel would not take the rewritten path");
        return Some(match a.verdict {
            UnixVerdict::Refused => record(Verdict::Blocked, true, format!("refused (EPERM): {why}")),
            _ => record(Verdict::Allowed, true, format!("block mode would refuse it: {why}")),
        });
    }
    let given = Path::new(&a.path);
    let under = |p: &Path, areas: &[PathBuf]| areas.iter().any(|area| p.starts_with(area));
    let Some(Target { real, links }) = target else {
        // Nothing there (or not a socket): the call found nothing, on the host either.
        return None;
    };
    let real = real.as_path();
    if ctx.allowed.iter().any(|s| s == given || s == real) {
        return Some(record(Verdict::Allowed, false, "allowed by egress.unix_sockets".into()));
    }
    if under(real, ctx.own) && *links > 1 {
        // A server binds a new name; a second one is a hard link, which may be to a host's
        // socket (block mode's Landlock refuses making one from outside the writable areas).
        let verdict = if ctx.mode == Mode::Block { Verdict::Blocked } else { Verdict::Allowed };
        return Some(record(
            verdict,
            true,
            format!(
                "a socket in the run's own areas with {links} hard links: it may be a host socket linked in"
            ),
        ));
    }
    if under(real, ctx.own) {
        return None;
    }
    let via = if real == given { String::new() } else { format!(" (through a link, to {})", real.display()) };
    Some(match ctx.mode {
        Mode::Block => record(
            Verdict::Blocked,
            true,
            format!(
                "a host socket outside the workspace and the private tmp dirs{via}: not in the fence's socket \
                 view, so it was not reached"
            ),
        ),
        Mode::Audit => record(
            Verdict::Allowed,
            true,
            format!(
                "a host socket outside the workspace and the private tmp dirs{via}; block mode refuses it"
            ),
        ),
    })
}

/// Why block mode refuses a path outright, or `None` when it is moved into the socket view.
fn unfit(path: &str) -> Option<&'static str> {
    if !path.starts_with('/') {
        return Some("a relative socket path");
    }
    if Path::new(path).components().any(|c| c == Component::ParentDir) {
        return Some("a `..` in the socket path");
    }
    (path.len() > VIEW_FITS).then_some("a socket path too long for the fence's socket view")
}

fn protocol(sock_type: u32) -> &'static str {
    match sock_type as i32 {
        libc::SOCK_STREAM => "unix-stream",
        libc::SOCK_DGRAM => "unix-dgram",
        libc::SOCK_SEQPACKET => "unix-seqpacket",
        _ => "unix",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(path: &str, verdict: UnixVerdict) -> UnixAttempt {
        UnixAttempt {
            pid: 42,
            comm: "python3".into(),
            call: UnixCall::Connect,
            sock_type: libc::SOCK_STREAM as u32,
            path: path.into(),
            verdict,
            count: 2,
            first_ns: 0,
        }
    }

    fn ctx(mode: Mode) -> (Vec<PathBuf>, Vec<PathBuf>, Mode) {
        (vec!["/tmp".into(), "/srv/ws".into()], vec!["/run/pg/.s.PGSQL.5432".into()], mode)
    }

    fn judged(mode: Mode, path: &str, verdict: UnixVerdict, target: Option<&str>) -> Option<NetAttempt> {
        let target = target.map(|t| Target { real: t.into(), links: 1 });
        linked(mode, path, verdict, target)
    }

    fn linked(mode: Mode, path: &str, verdict: UnixVerdict, target: Option<Target>) -> Option<NetAttempt> {
        let (own, allowed, mode) = ctx(mode);
        judge(&Judging { mode, own: &own, allowed: &allowed }, &attempt(path, verdict), target.as_ref())
    }

    #[test]
    fn a_hard_linked_socket_in_an_own_area_is_flagged() {
        let target = Target { real: "/srv/ws/hl".into(), links: 2 };
        let a = linked(Mode::Audit, "/srv/ws/hl", UnixVerdict::Audited, Some(target)).unwrap();
        assert_eq!((a.verdict, a.violation), (Verdict::Allowed, true));
        assert!(a.reason.unwrap().contains("2 hard links"));
    }

    #[test]
    fn the_kernel_side_the_view_and_the_policy_agree() {
        assert_eq!(sensors::SOCKET_VIEW, sandbox::SOCKET_VIEW);
        assert_eq!(VIEW_FITS, policy::UNIX_SOCKET_PATH_MAX);
    }

    #[test]
    fn a_host_socket_is_a_violation_in_both_modes() {
        let b = judged(Mode::Block, "/run/dbus/sock", UnixVerdict::Viewed, Some("/run/dbus/sock")).unwrap();
        assert_eq!(
            (b.verdict, b.violation, b.rule.as_str(), b.pid),
            (Verdict::Blocked, true, RULE, Some(42))
        );
        assert_eq!(
            (b.ip.as_str(), b.protocol.as_str(), b.call.as_str(), b.count),
            ("/run/dbus/sock", "unix-stream", "connect", 2)
        );
        let a = judged(Mode::Audit, "/run/dbus/sock", UnixVerdict::Audited, Some("/run/dbus/sock")).unwrap();
        assert_eq!((a.verdict, a.violation), (Verdict::Allowed, true));
    }

    #[test]
    fn own_sockets_and_missing_ones_are_not_recorded() {
        assert_eq!(judged(Mode::Block, "/tmp/s", UnixVerdict::Viewed, Some("/tmp/s")), None);
        assert_eq!(judged(Mode::Audit, "/srv/ws/a/s", UnixVerdict::Audited, Some("/srv/ws/a/s")), None);
        assert_eq!(judged(Mode::Audit, "/var/run/nscd/socket", UnixVerdict::Audited, None), None);
        assert_eq!(judged(Mode::Block, "/dev/log", UnixVerdict::Viewed, None), None);
    }

    #[test]
    fn a_link_in_an_own_area_is_judged_by_where_it_leads() {
        let a = judged(Mode::Audit, "/tmp/link", UnixVerdict::Audited, Some("/srv/host.sock")).unwrap();
        assert!(a.violation && a.reason.unwrap().contains("through a link, to /srv/host.sock"));
        let b = judged(Mode::Block, "/srv/ws/link", UnixVerdict::Viewed, Some("/srv/host.sock")).unwrap();
        assert_eq!((b.verdict, b.violation), (Verdict::Blocked, true));
        // The workspace is not a prefix of a sibling with a longer name.
        let c = judged(Mode::Block, "/srv/ws2/s", UnixVerdict::Viewed, Some("/srv/ws2/s")).unwrap();
        assert!(c.violation);
    }

    #[test]
    fn allowed_sockets_are_recorded_without_a_violation() {
        let a =
            judged(Mode::Block, "/run/pg/.s.PGSQL.5432", UnixVerdict::Viewed, Some("/run/pg/.s.PGSQL.5432"));
        assert_eq!(a.map(|a| (a.verdict, a.violation)), Some((Verdict::Allowed, false)));
    }

    #[test]
    fn refusals_and_what_block_mode_would_refuse() {
        let r = judged(Mode::Block, "host.sock", UnixVerdict::Refused, None).unwrap();
        assert_eq!((r.verdict, r.violation), (Verdict::Blocked, true));
        assert!(r.reason.unwrap().contains("relative"));
        let d = judged(Mode::Block, "/tmp/../srv/h", UnixVerdict::Refused, None).unwrap();
        assert!(d.reason.unwrap().contains("`..`"));
        let a = judged(Mode::Audit, "/tmp/../srv/h", UnixVerdict::Audited, Some("/srv/h")).unwrap();
        assert_eq!((a.verdict, a.violation), (Verdict::Allowed, true));
        assert!(a.reason.unwrap().contains("would refuse"));
        let long = format!("/{}", "x".repeat(VIEW_FITS));
        assert!(judged(Mode::Audit, &long, UnixVerdict::Audited, None).unwrap().violation);
    }
}
