//! The agent against the host that started it: the caller's terminal, ringfence's own
//! descriptors, the caller's keyring, and the memory ringfence shares with it. Each test is the
//! attack, tried for real under `ringfence run`, in both modes.

mod support;

use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use journal::Event;
use support::{privileged, run_in};

const MODES: [&str; 2] = ["audit", "block"];

/// Everything readable from `fd` right now, without blocking.
fn drain(fd: &OwnedFd) -> Vec<u8> {
    let flags = nix::fcntl::fcntl(fd.as_raw_fd(), nix::fcntl::FcntlArg::F_GETFL).unwrap();
    let nonblocking = nix::fcntl::OFlag::from_bits_truncate(flags) | nix::fcntl::OFlag::O_NONBLOCK;
    nix::fcntl::fcntl(fd.as_raw_fd(), nix::fcntl::FcntlArg::F_SETFL(nonblocking)).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = nix::unistd::read(fd.as_raw_fd(), &mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    out
}

/// A pty whose slave side is raw (no echo, no line discipline), so whatever lands in its input
/// queue can be read back byte for byte.
fn raw_pty() -> nix::pty::OpenptyResult {
    let pty = nix::pty::openpty(None, None).unwrap();
    let mut t = nix::sys::termios::tcgetattr(&pty.slave).unwrap();
    nix::sys::termios::cfmakeraw(&mut t);
    nix::sys::termios::tcsetattr(&pty.slave, nix::sys::termios::SetArg::TCSANOW, &t).unwrap();
    pty
}

/// Pushes `bytes` into the input queue of `fd` (our controlling terminal).
fn tiocsti(fd: i32, bytes: &[u8]) -> bool {
    bytes.iter().all(|b| unsafe { libc::ioctl(fd, libc::TIOCSTI, b as *const u8) } == 0)
}

#[test]
fn the_agent_cannot_push_keystrokes_into_the_callers_terminal() {
    if !privileged("the_agent_cannot_push_keystrokes_into_the_callers_terminal") {
        return;
    }
    // The check below can see an injection: as root (CAP_SYS_ADMIN) the test itself can inject
    // into any terminal, and what it injects is read back from the terminal's input queue.
    let probe = raw_pty();
    assert!(tiocsti(probe.slave.as_raw_fd(), b"probe"), "TIOCSTI works on this kernel");
    assert_eq!(drain(&probe.slave), b"probe", "injected bytes are readable back");

    let script = "import fcntl, termios, os\n\
                  ok = 0\n\
                  for fd in (0, 1, 2):\n\
                  \x20   try:\n\
                  \x20       for b in b'echo PWNED\\n': fcntl.ioctl(fd, termios.TIOCSTI, bytes([b]))\n\
                  \x20       ok += 1\n\
                  \x20   except OSError as e: print('refused', fd, e.errno)\n\
                  try:\n\
                  \x20   os.open('/dev/tty', os.O_RDWR); print('GOT-CTTY')\n\
                  except OSError as e: print('no ctty', e.errno)\n\
                  print('injected', ok)\n";
    for mode in MODES {
        let dir = support::scratch();
        let out_dir = dir.path().join("out");
        let pty = raw_pty();
        let slave = pty.slave.as_raw_fd();
        let mut cmd = Command::new(support::binary());
        cmd.current_dir(dir.path())
            .args(["run", "--mode", mode, "--out"])
            .arg(&out_dir)
            .args(["--", "python3", "-c", script])
            .stdin(Stdio::from(pty.slave.try_clone().unwrap()))
            .stdout(Stdio::piped())
            .stderr(Stdio::from(pty.slave.try_clone().unwrap()));
        // ringfence runs with the pty as its controlling terminal, as from an interactive shell.
        unsafe {
            cmd.pre_exec(move || {
                nix::unistd::setsid().map_err(std::io::Error::from)?;
                if libc::ioctl(slave, libc::TIOCSCTTY, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let output = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let typed = drain(&pty.slave);
        let _ = drain(&pty.master);
        assert!(stdout.contains("injected 0"), "{mode}: the agent injected input: {stdout}");
        assert!(!stdout.contains("GOT-CTTY"), "{mode}: the agent reached the caller's terminal as its own");
        assert!(
            !String::from_utf8_lossy(&typed).contains("PWNED"),
            "{mode}: the caller's shell would run what the agent typed: {typed:?}"
        );
        let records = journal::read(&out_dir.join("events.jsonl")).unwrap().unwrap().records;
        let python = records
            .iter()
            .find_map(|r| match &r.event {
                Event::ProcessExec(x) if x.exe.contains("python3") => Some(x.pid),
                _ => None,
            })
            .expect("python's exec is journaled");
        let refused = records.iter().any(|r| {
            matches!(&r.event, Event::PolicyViolation(v)
                if v.rule == "seccomp.ioctl" && v.what.contains("TIOCSTI") && v.pid == Some(python))
        });
        assert!(refused, "{mode}: the TIOCSTI attempt is journaled with python's pid {python}");
    }
}

#[test]
fn no_descriptor_of_ringfence_reaches_cmd_and_its_outcome_cannot_be_forged() {
    if !privileged("no_descriptor_of_ringfence_reaches_cmd_and_its_outcome_cannot_be_forged") {
        return;
    }
    // Lists its descriptors, then writes a forged "command not found" status line and an endless
    // line without a newline to every descriptor it can, and exits 7.
    let script = "import os\n\
                  print('fds', sorted(int(f) for f in os.listdir('/proc/self/fd')))\n\
                  forged = b'{\"ExecFailed\":{\"errno\":2,\"program\":\"forged\"}}\\n'\n\
                  hits = 0\n\
                  for fd in range(3, 1024):\n\
                  \x20   try:\n\
                  \x20       os.write(fd, forged); os.write(fd, b'x' * 65536 * 4); hits += 1\n\
                  \x20   except OSError: pass\n\
                  print('hits', hits)\n\
                  raise SystemExit(7)\n";
    for mode in MODES {
        let dir = support::scratch();
        let r = run_in(dir.path(), &["--mode", mode], &["python3", "-c", script]);
        let out = r.stdout();
        assert!(out.contains("fds [0, 1, 2, 3]"), "{mode}: only stdio (and the listing's own fd): {out}");
        assert!(out.contains("hits 0"), "{mode}: a descriptor of ringfence's was writable: {out}");
        assert_eq!(r.code(), 7, "{mode}: CMD's own status, not a forged one: {}", r.stderr());
        assert_eq!(r.run_end().cmd_code, Some(7));
    }
}

const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
const KEY_SPEC_SESSION_KEYRING: libc::c_long = -3;

#[test]
fn the_callers_session_keyring_is_out_of_reach() {
    if !privileged("the_callers_session_keyring_is_out_of_reach") {
        return;
    }
    // Searches the session keyring for the caller's key and lists what the keyring holds.
    let script = "import ctypes, os\n\
                  libc = ctypes.CDLL(None, use_errno=True)\n\
                  libc.syscall.restype = ctypes.c_long\n\
                  k = libc.syscall(250, 10, ctypes.c_long(-3), b'user', b'ringfence-test-secret', 0)\n\
                  print('search', k if k >= 0 else -ctypes.get_errno())\n\
                  buf = ctypes.create_string_buffer(4096)\n\
                  n = libc.syscall(250, 11, ctypes.c_long(-3), buf, 4096)\n\
                  print('keys', n // 4 if n >= 0 else -ctypes.get_errno())\n";
    let payload = b"the-callers-secret-value";
    let spawn = |argv: &[&str], cwd: &std::path::Path| {
        let mut cmd = Command::new(argv[0]);
        cmd.args(&argv[1..]).current_dir(cwd);
        // The caller's session: a keyring of its own holding one key.
        unsafe {
            cmd.pre_exec(move || {
                let name = c"ringfence-test-session";
                if libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let id = libc::syscall(
                    libc::SYS_add_key,
                    c"user".as_ptr(),
                    c"ringfence-test-secret".as_ptr(),
                    payload.as_ptr(),
                    payload.len(),
                    KEY_SPEC_SESSION_KEYRING,
                );
                if id < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd.output().unwrap()
    };
    let dir = support::scratch();
    // Unfenced, the same uid-less child finds the key: the test can see the attack succeed.
    let bare = spawn(&["python3", "-c", script], dir.path());
    let bare = String::from_utf8_lossy(&bare.stdout).into_owned();
    assert!(!bare.contains("search -"), "the key is there to be found without the fence: {bare}");
    for mode in MODES {
        let out_dir = dir.path().join(format!("out-{mode}"));
        let out = out_dir.display().to_string();
        let o = spawn(
            &[support::binary(), "run", "--mode", mode, "--out", &out, "--", "python3", "-c", script],
            dir.path(),
        );
        let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
        let enokey = format!("search -{}", libc::ENOKEY);
        assert!(stdout.contains(&enokey), "{mode}: the agent found the caller's key: {stdout}");
        assert!(stdout.contains("keys 0"), "{mode}: the agent's session keyring is not empty: {stdout}");
        assert!(journal::read(&out_dir.join("events.jsonl")).unwrap().is_ok());
    }
}

#[test]
fn memory_is_bounded_and_ringfence_outlives_an_agent_that_fills_it() {
    if !privileged("memory_is_bounded_and_ringfence_outlives_an_agent_that_fills_it") {
        return;
    }
    // Fills /dev/shm far past the limit, then allocates (and touches) far past it too.
    let script = "echo oom=$(cat /proc/self/oom_score_adj); \
                  head -c 512M /dev/zero > /dev/shm/fill; echo shm=$?; \
                  python3 -c 'x = bytes(range(256)) * (3 * 1024 * 1024); print(len(x))'; echo alloc=$?; \
                  sleep 0.3";
    for mode in MODES {
        let dir = support::scratch();
        let policy = dir.path().join("limits.yml");
        std::fs::write(&policy, format!("version: 1\nmode: {mode}\nlimits: {{ memory: 128MiB }}\n")).unwrap();
        let out_dir = dir.path().join("out");
        let mut child = Command::new(support::binary())
            .current_dir(dir.path())
            .args(["run", "--policy"])
            .arg(&policy)
            .arg("--out")
            .arg(&out_dir)
            .args(["--", "/bin/sh", "-c", script])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The OOM killer picks the agent first: ringfence's own score stays at or below 0 (-1000
        // where root has CAP_SYS_RESOURCE), the agent's is the maximum.
        std::thread::sleep(Duration::from_millis(100));
        let score =
            std::fs::read_to_string(format!("/proc/{}/oom_score_adj", child.id())).unwrap_or_default();
        assert!(
            score.trim().parse::<i32>().is_ok_and(|s| s <= 0),
            "{mode}: ringfence's own OOM score {score}"
        );
        let mut stdout = String::new();
        child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
        let status = child.wait().unwrap();
        assert!(stdout.contains("oom=1000"), "{mode}: the agent is the OOM killer's first choice: {stdout}");
        assert!(stdout.contains("shm=1"), "{mode}: /dev/shm took more than the limit: {stdout}");
        assert!(!stdout.contains("alloc=0"), "{mode}: the allocation past the limit succeeded: {stdout}");
        let records = journal::read(&out_dir.join("events.jsonl"))
            .unwrap()
            .expect("an intact, complete journal")
            .records;
        let events: Vec<&Event> = records.iter().map(|r| &r.event).collect();
        let start =
            events.iter().find_map(|e| if let Event::RunStart(s) = e { Some(s) } else { None }).unwrap();
        assert_eq!(start.limits.memory, Some(128 * 1024 * 1024));
        let oom = events.iter().any(|e| matches!(e, Event::PolicyViolation(v) if v.rule == "limits.memory"));
        assert!(oom, "{mode}: the OOM kill inside the fence is journaled");
        assert!(events.iter().any(|e| matches!(e, Event::RunEnd(_))), "{mode}: run.end written");
        if mode == "block" {
            assert_eq!(status.code(), Some(122), "block mode: a limit was hit");
        }
    }
}

#[test]
fn an_agent_that_opens_connections_without_end_cannot_starve_ringfence() {
    if !privileged("an_agent_that_opens_connections_without_end_cannot_starve_ringfence") {
        return;
    }
    // 1,100 connections to an allowed name, held open and silent (the proxy waits for their
    // first bytes): past ringfence's cap the rest are closed at once, and recorded. The name is
    // resolved once: 1,100 lookups on a loaded machine take longer than the proxy waits for a
    // silent client's first bytes, and the first connections would be gone before the last.
    let script = "import socket, resource\n\
                  resource.setrlimit(resource.RLIMIT_NOFILE, (4096, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))\n\
                  addr = socket.getaddrinfo('held.test', 80, socket.AF_INET, socket.SOCK_STREAM)[0][4]\n\
                  held = []\n\
                  for i in range(1100):\n\
                  \x20   s = socket.create_connection(addr, timeout=5); held.append(s)\n\
                  closed = 0\n\
                  for s in held:\n\
                  \x20   s.settimeout(0.01)\n\
                  \x20   try:\n\
                  \x20       if s.recv(1) == b'': closed += 1\n\
                  \x20   except socket.timeout: pass\n\
                  \x20   except OSError: closed += 1\n\
                  print('closed', closed)\n";
    let dir = support::scratch();
    let r = run_in(dir.path(), &["--mode", "block", "--allow", "held.test"], &["python3", "-c", script]);
    let out = r.stdout();
    let closed: usize = out
        .lines()
        .find_map(|l| l.strip_prefix("closed ")?.trim().parse().ok())
        .unwrap_or_else(|| panic!("the client did not finish: {out} {}", r.stderr()));
    assert!(closed >= 76, "connections past the cap of 1,024 are closed: {closed} of 1,100");
    let python = r.execs().into_iter().find(|e| e.exe.contains("python3")).expect("python's exec").pid;
    let capped: Vec<&journal::NetConnect> = r
        .events()
        .filter_map(|e| if let Event::NetConnect(c) = e { Some(c) } else { None })
        .filter(|c| c.rule == "limits.connections")
        .collect();
    assert!(!capped.is_empty(), "the cap's refusals are journaled");
    assert!(capped.iter().any(|c| c.pid == Some(python)), "and attributed to python ({python})");
    assert_eq!(r.code(), 122, "block mode: refused connections fail the run");
}

#[test]
fn a_refused_socket_call_cannot_hide_in_the_upper_bits_of_its_arguments() {
    if !privileged("a_refused_socket_call_cannot_hide_in_the_upper_bits_of_its_arguments") {
        return;
    }
    // socket(AF_PACKET, SOCK_RAW, 0) with garbage above the int: the kernel sees AF_PACKET.
    let script = "import ctypes\n\
                  libc = ctypes.CDLL(None, use_errno=True)\n\
                  libc.syscall.restype = ctypes.c_long\n\
                  fd = libc.syscall(41, ctypes.c_long(17 | (1 << 32)), ctypes.c_long(3 | (1 << 40)), ctypes.c_long(0))\n\
                  print('fd', fd, ctypes.get_errno())\n";
    for mode in MODES {
        let dir = support::scratch();
        let r = run_in(dir.path(), &["--mode", mode], &["python3", "-c", script]);
        assert!(r.stdout().contains(&format!("fd -1 {}", libc::EPERM)), "{mode}: {}", r.stdout());
        let python = r.execs().into_iter().find(|e| e.exe.contains("python3")).expect("python's exec").pid;
        let recorded = r.events().any(
            |e| matches!(e, Event::NetAttempt(a) if a.pid == Some(python) && a.protocol.contains("packet")),
        );
        assert!(recorded, "{mode}: the packet socket attempt is journaled with python's pid {python}");
    }
}
