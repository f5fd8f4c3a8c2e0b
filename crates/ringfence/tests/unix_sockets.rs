//! Host Unix sockets under `ringfence run` as root: the test serves a stream and a datagram
//! socket (mode 0666) in a directory of the host outside the workspace, and the agent reaches
//! for them every way a path allows: absolute, through a symlink in the workspace, through one
//! it makes in /tmp, relative after chdir, through `..`, and a datagram. Block mode: none
//! arrives, each is journaled with python's pid, the run fails (122). Audit mode: each arrives
//! and is journaled with python's pid. Both modes: the agent's own servers in the workspace and
//! in /tmp, socketpairs and a socket the policy allows keep working.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixDatagram, UnixListener};
use std::path::{Path, PathBuf};

use journal::{Event, Mode, NetAttempt, Verdict};
use support::{Run, privileged, run_in, scratch};

/// Prints `name ok` or `name <errno>` for each try.
const AGENT: &str = r#"
import os, socket, sys
host, dgram, allowed, mine = sys.argv[1:5]
ws = os.getcwd()
def stream(name, path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try: s.connect(path); print(name, "ok")
    except OSError as e: print(name, e.errno)
def datagram(name, path):
    d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try: d.sendto(b"x", path); print(name, "ok")
    except OSError as e: print(name, e.errno)
stream("absolute", host)
stream("ws-link", ws + "/host-link")
os.symlink(host, "/tmp/host-link"); stream("tmp-link", "/tmp/host-link")
stream("dotdot", ws + "/../" + os.path.basename(os.path.dirname(host)) + "/" + os.path.basename(host))
datagram("sendto", dgram)
stream("allowed", allowed)
try: os.link(mine, ws + "/hard-link"); stream("hard-link", ws + "/hard-link")
except OSError as e: print("hard-link", e.errno)
stream("into-view", "/dev/shm/.rfu" + host)
try: os.symlink(host, "/dev/shm/.rfu/tmp-x"); print("view-write ok")
except OSError as e: print("view-write", e.errno)
def own(name, path):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); srv.bind(path); srv.listen()
    stream(name + "-stream", path)
    os.unlink(path)
    d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); d.bind(path)
    datagram(name + "-dgram", path)
    print(name + "-received", d.recv(1) == b"x")
    os.unlink(path)
own("own-ws", ws + "/own.sock")
own("own-tmp", "/tmp/own.sock")
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM); a.send(b"x"); print("socketpair", b.recv(1) == b"x")
os.chdir(os.path.dirname(host))
stream("relative", os.path.basename(host))
"#;

/// The uid the agent runs as when ringfence is started by root without `--user`.
const AGENT_UID: u32 = 65534;

/// What the host serves, outside the workspace.
struct Host {
    _dir: tempfile::TempDir,
    stream: PathBuf,
    dgram: PathBuf,
    allowed: PathBuf,
    /// Owned by the agent's uid, so the kernel lets it hard-link the socket.
    mine: PathBuf,
    mine_listener: UnixListener,
    listener: UnixListener,
    datagrams: UnixDatagram,
    allowed_listener: UnixListener,
}

fn serve() -> Host {
    let dir = scratch();
    let (stream, dgram, allowed) =
        (dir.path().join("h.sock"), dir.path().join("d.sock"), dir.path().join("ok.sock"));
    let listener = UnixListener::bind(&stream).unwrap();
    let datagrams = UnixDatagram::bind(&dgram).unwrap();
    let allowed_listener = UnixListener::bind(&allowed).unwrap();
    let mine = dir.path().join("mine.sock");
    let mine_listener = UnixListener::bind(&mine).unwrap();
    std::os::unix::fs::chown(&mine, Some(AGENT_UID), None).unwrap();
    for path in [&stream, &dgram, &allowed, &mine] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666)).unwrap();
    }
    mine_listener.set_nonblocking(true).unwrap();
    listener.set_nonblocking(true).unwrap();
    datagrams.set_nonblocking(true).unwrap();
    allowed_listener.set_nonblocking(true).unwrap();
    Host { _dir: dir, stream, dgram, allowed, mine, mine_listener, listener, datagrams, allowed_listener }
}

fn accepted(l: &UnixListener) -> usize {
    std::iter::from_fn(|| l.accept().ok()).count()
}

fn received(d: &UnixDatagram) -> usize {
    std::iter::from_fn(|| d.recv(&mut [0; 8]).ok()).count()
}

fn said(r: &Run, name: &str) -> String {
    let out = r.stdout();
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no `{name}` in the agent's output:\n{out}\nstderr: {}", r.stderr()))
}

fn attempts(r: &Run) -> Vec<&NetAttempt> {
    r.events().filter_map(|e| if let Event::NetAttempt(a) = e { Some(a) } else { None }).collect()
}

fn python_pid(r: &Run) -> u32 {
    r.execs().into_iter().find(|e| e.argv[0] == "python3").expect("python's exec").pid
}

fn unix_attempt<'a>(r: &'a Run, path: &str) -> &'a NetAttempt {
    attempts(r)
        .into_iter()
        .find(|a| a.rule == "unix-socket" && a.ip == path)
        .unwrap_or_else(|| panic!("no unix-socket attempt for {path} in {:#?}", attempts(r)))
}

/// Runs AGENT in a fresh workspace (writable by the agent, with a symlink to the host socket and
/// a policy that allows `host.allowed`).
fn attack(host: &Host, mode: Mode) -> (tempfile::TempDir, Run) {
    let ws = scratch();
    std::fs::set_permissions(ws.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    std::os::unix::fs::symlink(&host.stream, ws.path().join("host-link")).unwrap();
    let policy = ws.path().join("ringfence.yml");
    std::fs::write(&policy, format!("version: 1\negress:\n  unix_sockets: [{}]\n", host.allowed.display()))
        .unwrap();
    let path = |p: &Path| p.to_str().unwrap().to_string();
    let (stream, dgram, allowed) = (path(&host.stream), path(&host.dgram), path(&host.allowed));
    let r = run_in(
        ws.path(),
        &["--mode", &mode.to_string()],
        &["python3", "-c", AGENT, &stream, &dgram, &allowed, &path(&host.mine)],
    );
    (ws, r)
}

fn own_sockets_work(r: &Run) {
    for name in ["allowed", "own-ws-stream", "own-ws-dgram", "own-tmp-stream", "own-tmp-dgram"] {
        assert_eq!(said(r, name), "ok", "{name}: {}", r.stdout());
    }
    for name in ["own-ws-received", "own-tmp-received", "socketpair"] {
        assert_eq!(said(r, name), "True", "{name}");
    }
    let layer = r.run_start().fence.iter().find(|l| l.layer == "unix-sockets").cloned();
    assert!(layer.is_some_and(|l| l.active), "run.start names the Unix socket fence");
    let python = python_pid(r);
    for a in attempts(r).iter().filter(|a| a.rule == "unix-socket") {
        assert_eq!(a.pid, Some(python), "attributed to python: {a:?}");
        assert!(!a.ip.contains("own.sock"), "the agent's own sockets are not attempts: {a:?}");
    }
}

#[test]
fn block_mode_keeps_host_unix_sockets_out_of_reach() {
    if !privileged("block_mode_keeps_host_unix_sockets_out_of_reach") {
        return;
    }
    let host = serve();
    let (ws, r) = attack(&host, Mode::Block);
    let (enoent, eloop, eperm) = (libc::ENOENT.to_string(), libc::ELOOP.to_string(), libc::EPERM.to_string());
    for (name, errno) in [
        ("absolute", &enoent),
        ("sendto", &enoent),
        ("ws-link", &eloop),
        ("tmp-link", &eloop),
        ("dotdot", &eperm),
        ("relative", &eperm),
        ("into-view", &enoent),
        ("view-write", &libc::EROFS.to_string()),
        // Landlock: no link into the workspace from outside the writable areas.
        ("hard-link", &libc::EXDEV.to_string()),
    ] {
        assert_eq!(&said(&r, name), errno, "{name}: {}", r.stdout());
    }
    own_sockets_work(&r);
    assert_eq!(accepted(&host.listener), 0, "the host's stream server accepted nothing");
    assert_eq!(received(&host.datagrams), 0, "the host's datagram server received nothing");
    assert_eq!(accepted(&host.allowed_listener), 1, "the allowed socket was reached");
    assert_eq!(accepted(&host.mine_listener), 0, "the hard-linkable socket was not reached");

    let stream = host.stream.to_str().unwrap();
    let absolute = unix_attempt(&r, stream);
    assert_eq!(
        (absolute.verdict, absolute.violation, absolute.call.as_str()),
        (Verdict::Blocked, true, "connect")
    );
    let ws_link = unix_attempt(&r, ws.path().join("host-link").to_str().unwrap());
    assert!(ws_link.reason.as_deref().unwrap().contains(stream), "{ws_link:?}");
    let tmp_link = unix_attempt(&r, "/tmp/host-link");
    assert!(tmp_link.reason.as_deref().unwrap().contains(stream), "{tmp_link:?}");
    let relative = unix_attempt(&r, "h.sock");
    assert!(relative.reason.as_deref().unwrap().contains("relative"), "{relative:?}");
    assert!(
        attempts(&r).iter().any(|a| a.ip.contains("/../") && a.verdict == Verdict::Blocked && a.violation)
    );
    let sendto = unix_attempt(&r, host.dgram.to_str().unwrap());
    assert_eq!(
        (sendto.call.as_str(), sendto.protocol.as_str(), sendto.verdict),
        ("sendmsg", "unix-dgram", Verdict::Blocked)
    );
    let allowed = unix_attempt(&r, host.allowed.to_str().unwrap());
    assert_eq!((allowed.verdict, allowed.violation), (Verdict::Allowed, false));
    assert_eq!(r.code(), 122, "block-mode violations fail the run: {}", r.stderr());
}

#[test]
fn audit_mode_records_every_host_unix_socket_it_lets_through() {
    if !privileged("audit_mode_records_every_host_unix_socket_it_lets_through") {
        return;
    }
    let host = serve();
    let (ws, r) = attack(&host, Mode::Audit);
    for name in ["absolute", "ws-link", "tmp-link", "dotdot", "relative", "sendto", "hard-link"] {
        assert_eq!(said(&r, name), "ok", "{name}: {}", r.stdout());
    }
    own_sockets_work(&r);
    assert_eq!(accepted(&host.listener), 5, "audit mode changes nothing");
    assert_eq!(received(&host.datagrams), 1);
    let stream = host.stream.to_str().unwrap();
    for path in
        [stream.to_string(), ws.path().join("host-link").display().to_string(), "/tmp/host-link".into()]
    {
        let a = unix_attempt(&r, &path);
        assert_eq!((a.verdict, a.violation), (Verdict::Allowed, true), "{a:?}");
    }
    let relative = unix_attempt(&r, "h.sock");
    assert!(relative.reason.as_deref().unwrap().contains("would refuse"), "{relative:?}");
    assert_eq!(accepted(&host.mine_listener), 1);
    let hard_link = unix_attempt(&r, ws.path().join("hard-link").to_str().unwrap());
    assert!(
        hard_link.violation && hard_link.reason.as_deref().unwrap().contains("hard links"),
        "{hard_link:?}"
    );
    assert!(attempts(&r).iter().any(|a| a.ip.contains("/../") && a.violation));
    assert!(unix_attempt(&r, host.dgram.to_str().unwrap()).violation);
    assert!(!unix_attempt(&r, host.allowed.to_str().unwrap()).violation);
    assert_eq!(r.code(), 0, "audit mode passes CMD's status through: {}", r.stderr());
}

#[test]
fn block_mode_does_not_start_without_an_allowed_socket() {
    if !privileged("block_mode_does_not_start_without_an_allowed_socket") {
        return;
    }
    let (ws, elsewhere) = (scratch(), scratch());
    let missing = elsewhere.path().join("gone.sock");
    let policy = ws.path().join("ringfence.yml");
    std::fs::write(&policy, format!("version: 1\negress:\n  unix_sockets: [{}]\n", missing.display()))
        .unwrap();
    let r = run_in(ws.path(), &["--mode", "block"], &["sh", "-c", "echo CMD ran"]);
    assert_eq!(r.code(), 125, "{}", r.stderr());
    assert!(!r.stdout().contains("CMD ran"), "CMD never started");
    let reason = r.run_end().reason.clone().unwrap_or_default();
    assert!(reason.contains("no socket there"), "{reason}");
}
