//! The Unix socket fence against the real kernel: host-side servers (made by this test, outside
//! the test cgroup) and a process inside the cgroup that reaches for them by absolute path, by a
//! relative path, through `..`, with a path too long for the socket view and with datagrams.
//! There is no socket view here (the fence's init builds it, see the ringfence tests), so in block
//! mode a moved path finds nothing: ENOENT. Needs root; see `support::skip_or_fail`.

#[allow(dead_code)]
mod support;

use std::os::unix::net::{UnixDatagram, UnixListener};
use std::path::Path;

use sensors::{UnixAttempt, UnixCall, UnixFence, UnixFenceConfig, UnixVerdict, VIEW_FITS};
use support::{TestCgroup, skip_or_fail};

/// Prints `name ok` or `name <errno>` for each try.
const SCRIPT: &str = r#"
import os, socket, sys
host, dgram, fits = sys.argv[1], sys.argv[2], int(sys.argv[3])
print(os.getpid(), flush=True)
def stream(name, path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try: s.connect(path); print(name, "ok")
    except OSError as e: print(name, e.errno)
stream("absolute", host)
stream("dotdot", os.path.dirname(host) + "/../" + os.path.basename(os.path.dirname(host)) + "/" + os.path.basename(host))
stream("long", "/" + "x" * (fits - 1))
stream("abstract", "\0ringfence-test-abstract")
os.chdir(os.path.dirname(host))
stream("relative", os.path.basename(host))
d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
for _ in range(5):
    try: d.sendto(b"x", dgram); r = "ok"
    except OSError as e: r = e.errno
print("sendto", r)
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM); a.send(b"x"); print("socketpair", b.recv(1) == b"x")
sys.stdout.flush()
"#;

struct Host {
    _dir: tempfile::TempDir,
    host: String,
    dgram: String,
    stream: UnixListener,
    datagrams: UnixDatagram,
}

fn host() -> Host {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let (host, dgram) = (path("host.sock"), path("dgram.sock"));
    let stream = UnixListener::bind(&host).unwrap();
    let datagrams = UnixDatagram::bind(&dgram).unwrap();
    stream.set_nonblocking(true).unwrap();
    datagrams.set_nonblocking(true).unwrap();
    Host { _dir: dir, host, dgram, stream, datagrams }
}

/// Runs SCRIPT in the cgroup under the fence; returns python's pid, its output and what the
/// fence counted.
fn attempt(block: bool) -> Option<(Host, u32, String, Vec<UnixAttempt>)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return skip_or_fail("needs root to load BPF programs and create cgroups");
    }
    let cgroup = match TestCgroup::create() {
        Ok(cgroup) => cgroup,
        Err(err) => return skip_or_fail(format!("cannot create a cgroup v2 leaf: {err}")),
    };
    let h = host();
    let config = UnixFenceConfig { cgroup_dir: cgroup.path(), block };
    let fence = UnixFence::start(&config).expect("the unix fence attaches");
    let out = cgroup
        .command("python3", None)
        .args(["-c", SCRIPT, &h.host, &h.dgram, &(VIEW_FITS + 1).to_string()])
        .output()
        .expect("python runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let seen = fence.stop().expect("the fence stops");
    assert_eq!(seen.lost, 0);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let pid = text.lines().next().and_then(|l| l.parse().ok()).expect("python's pid");
    Some((h, pid, text, seen.attempts))
}

fn said(out: &str, name: &str) -> String {
    out.lines().find_map(|l| l.strip_prefix(&format!("{name} "))).unwrap_or_default().to_string()
}

fn accepted(l: &UnixListener) -> usize {
    std::iter::from_fn(|| l.accept().ok()).count()
}

#[test]
fn block_mode_moves_absolute_paths_and_refuses_the_rest() {
    let Some((h, pid, out, seen)) = attempt(true) else { return };
    for name in ["absolute", "sendto"] {
        assert_eq!(said(&out, name), libc::ENOENT.to_string(), "{name} is moved where nothing is: {out}");
    }
    for name in ["dotdot", "relative", "long"] {
        assert_eq!(said(&out, name), libc::EPERM.to_string(), "{name}: {out}");
    }
    assert_eq!(said(&out, "abstract"), libc::ECONNREFUSED.to_string(), "abstract is left alone: {out}");
    assert_eq!(said(&out, "socketpair"), "True", "{out}");
    assert_eq!(accepted(&h.stream), 0, "the host server saw no connection");
    assert!(h.datagrams.recv(&mut [0; 4]).is_err(), "no datagram arrived");

    let connects = seen.iter().find(|a| a.path == h.host).expect("the host socket's attempt");
    assert_eq!(
        (connects.pid, connects.call, connects.verdict),
        (pid, UnixCall::Connect, UnixVerdict::Viewed)
    );
    assert_eq!((connects.count, connects.comm.as_str()), (1, "python3"));
    let relative = seen.iter().find(|a| a.path == "host.sock").expect("the relative connect, as given");
    assert_eq!((relative.pid, relative.verdict), (pid, UnixVerdict::Refused));
    assert!(seen.iter().any(|a| a.path.contains("/../") && a.verdict == UnixVerdict::Refused), "{seen:?}");
    assert!(seen.iter().any(|a| a.path.len() == VIEW_FITS + 1 && a.verdict == UnixVerdict::Refused));
    let sends = seen.iter().find(|a| a.path == h.dgram).expect("the datagrams");
    assert_eq!((sends.call, sends.verdict, sends.count), (UnixCall::Send, UnixVerdict::Viewed, 5));
    assert_eq!(sends.sock_type, libc::SOCK_DGRAM as u32);
    assert!(!seen.iter().any(|a| a.path.contains("abstract")), "abstract names are not counted");
}

#[test]
fn audit_mode_lets_them_through_and_counts_them() {
    let Some((h, pid, out, seen)) = attempt(false) else { return };
    for name in ["absolute", "dotdot", "relative", "sendto"] {
        assert_eq!(said(&out, name), "ok", "{name}: {out}");
    }
    assert_eq!(said(&out, "long"), libc::ENOENT.to_string(), "{out}");
    assert_eq!(accepted(&h.stream), 3);
    let connects = seen.iter().find(|a| a.path == h.host).expect("the host socket's attempt");
    assert_eq!((connects.pid, connects.verdict, connects.count), (pid, UnixVerdict::Audited, 1));
    let sends = seen.iter().find(|a| a.path == h.dgram).expect("the datagrams");
    assert_eq!((sends.verdict, sends.count), (UnixVerdict::Audited, 5));
}

#[test]
fn host_processes_are_not_touched() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return skip_or_fail("needs root").unwrap_or(());
    }
    let Ok(cgroup) = TestCgroup::create() else { return skip_or_fail("no cgroup v2 leaf").unwrap_or(()) };
    let fence = UnixFence::start(&UnixFenceConfig { cgroup_dir: cgroup.path(), block: true })
        .expect("the unix fence attaches");
    let h = host();
    assert!(
        std::os::unix::net::UnixStream::connect(Path::new(&h.host)).is_ok(),
        "this test is outside the run"
    );
    assert_eq!(fence.stop().unwrap().attempts, vec![]);
}
