//! The fence holds: each test runs a real command under `ringfence run` as root and checks what
//! the kernel allowed, what it refused, and what the journal recorded.

mod support;

use support::{privileged, run};

#[test]
fn every_exec_of_a_tight_loop_is_recorded() {
    if !privileged("every_exec_of_a_tight_loop_is_recorded") {
        return;
    }
    let (_dir, r) = run(
        &["--mode", "block"],
        &["/bin/sh", "-c", "i=0; while [ $i -lt 2000 ]; do /bin/true; i=$((i+1)); done"],
    );
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let trues = r.execs().iter().filter(|e| e.exe == "/bin/true").count();
    assert_eq!(trues, 2000, "every one of 2,000 execs must be journaled");
    assert_eq!(r.run_end().lost_events, 0);
    let sh = r.execs().into_iter().find(|e| e.exe == "/bin/sh").expect("the shell's own exec");
    assert_eq!(sh.argv[0], "/bin/sh");
    assert_eq!(sh.uid, r.run_start().uid);
}

#[test]
fn a_daemonised_grandchild_does_not_outlive_the_run() {
    if !privileged("a_daemonised_grandchild_does_not_outlive_the_run") {
        return;
    }
    let (_dir, r) = run(
        &[],
        &["/bin/sh", "-c", "setsid sh -c 'sleep 3600' >/dev/null 2>&1 < /dev/null & sleep 0.2; echo started"],
    );
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let sleeper =
        r.execs().into_iter().find(|e| e.argv == ["sleep", "3600"]).expect("the daemon's exec was recorded");
    let alive = std::fs::read_to_string(format!("/proc/{}/cmdline", sleeper.pid)).unwrap_or_default();
    assert!(!alive.contains("3600"), "the daemon (host pid {}) survived the run", sleeper.pid);
    let killed = r
        .events()
        .any(|e| matches!(e, journal::Event::ProcessExit(x) if x.pid == sleeper.pid && x.signal == Some(9)));
    assert!(killed, "the daemon's death by SIGKILL is journaled");
}

#[test]
fn setuid_binaries_and_sudo_cannot_raise_privileges() {
    if !privileged("setuid_binaries_and_sudo_cannot_raise_privileges") {
        return;
    }
    let dir = support::scratch();
    let suid = dir.path().join("suid-id");
    std::fs::copy("/usr/bin/id", &suid).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&suid, std::fs::Permissions::from_mode(0o4755)).unwrap();
    let script = format!("{} -u; sudo -n true && echo SUDO-WORKED; exit 0", suid.display());
    let r = support::run_in(dir.path(), &[], &["/bin/sh", "-c", &script]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let out = r.stdout();
    assert_eq!(
        out.lines().next(),
        Some(r.run_start().uid.to_string().as_str()),
        "setuid-root binary must not get euid 0"
    );
    assert_ne!(r.run_start().uid, 0);
    assert!(!out.contains("SUDO-WORKED"));
}

#[test]
fn host_processes_are_invisible_and_unreadable() {
    if !privileged("host_processes_are_invisible_and_unreadable") {
        return;
    }
    let me = std::process::id();
    let script = format!(
        "cat /proc/1/environ >/dev/null 2>&1 && echo READ-INIT-ENV; \
         cat /proc/{me}/environ >/dev/null 2>&1 && echo READ-HOST-ENV; \
         dd if=/proc/{me}/mem bs=1 count=1 >/dev/null 2>&1 && echo READ-HOST-MEM; \
         tr '\\0' ' ' < /proc/1/cmdline; echo; ls /proc | grep -c '^[0-9]'"
    );
    let (_dir, r) = run(&[], &["/bin/sh", "-c", &script]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let out = r.stdout();
    assert!(!out.contains("READ-"), "{out}");
    assert!(out.contains(sandbox::INIT_ARG), "pid 1 inside is ringfence's init: {out}");
    let visible: usize = out.lines().last().unwrap().trim().parse().unwrap();
    assert!(visible < 10, "only the fence's own processes are visible, saw {visible}");
}

const PYTHON_ATTACKS: &str = r#"
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
r = libc.ptrace(16, 1, 0, 0)
print("ptrace", r, ctypes.get_errno())
params = ctypes.create_string_buffer(120)
r = libc.syscall(425, 4, params)
print("io_uring_setup", r, ctypes.get_errno())
r = libc.socket(17, 3, 0)
print("packet_socket", r, ctypes.get_errno())
r = libc.socket(2, 3 | 0o4000, 1)
print("raw_socket", r, ctypes.get_errno())
n = libc.socket(16, 3, 0)
print("netlink_route", n >= 0)
"#;

#[test]
fn ptrace_and_io_uring_fail_with_eperm_and_are_attributed() {
    if !privileged("ptrace_and_io_uring_fail_with_eperm_and_are_attributed") {
        return;
    }
    let (_dir, r) = run(&["--mode", "block"], &["python3", "-c", PYTHON_ATTACKS]);
    let out = r.stdout();
    assert!(out.contains("ptrace -1 1"), "ptrace must fail with EPERM: {out}\n{}", r.stderr());
    assert!(out.contains("io_uring_setup -1 1"), "io_uring_setup must fail with EPERM: {out}");
    let python = r
        .execs()
        .into_iter()
        .find(|e| e.argv.first().is_some_and(|a| a == "python3"))
        .expect("python's exec");
    assert!(out.contains("packet_socket -1 1") && out.contains("raw_socket -1 1"), "{out}");
    // A raw rtnetlink socket lists interfaces (runtimes do this at start-up); not an escape.
    assert!(out.contains("netlink_route True"), "{out}");
    // AF_PACKET and SOCK_RAW (with SOCK_NONBLOCK or'd in) are each one net.attempt, with the pid.
    let sockets: Vec<&journal::NetAttempt> = r
        .events()
        .filter_map(|e| if let journal::Event::NetAttempt(a) = e { Some(a) } else { None })
        .filter(|a| a.call == "socket")
        .collect();
    let mut protocols: Vec<&str> = sockets.iter().map(|a| a.protocol.as_str()).collect();
    protocols.sort();
    assert_eq!(protocols, ["packet", "raw"], "{sockets:#?}");
    for a in &sockets {
        assert_eq!(
            (a.pid, a.rule.as_str(), a.violation),
            (Some(python.pid), "socket-refused", true),
            "{a:?}"
        );
        assert!(a.reason.as_deref().unwrap_or_default().contains("seccomp"), "{a:?}");
    }
    assert!(!r.violations().into_iter().any(|v| v.rule == "seccomp.socket"), "one record per refused socket");
    for rule in ["seccomp.ptrace", "seccomp.io_uring_setup"] {
        let v =
            r.violations().into_iter().find(|v| v.rule == rule).unwrap_or_else(|| panic!("{rule} recorded"));
        assert_eq!(v.pid, Some(python.pid), "{rule} attributed to the python process");
        assert_eq!(v.verdict, journal::Verdict::Blocked);
    }
    assert_eq!(r.code(), 122, "block mode: refused calls fail the run");
}

#[test]
fn a_user_namespace_cannot_be_created() {
    if !privileged("a_user_namespace_cannot_be_created") {
        return;
    }
    let (_dir, r) =
        run(&["--mode", "audit"], &["/bin/sh", "-c", "unshare -Ur id -u && echo ESCAPED; exit 0"]);
    assert_eq!(r.code(), 0, "audit mode keeps CMD's status: {}", r.stderr());
    assert!(!r.stdout().contains("ESCAPED"));
    assert!(r.violations().iter().any(|v| v.rule == "seccomp.unshare" || v.rule == "seccomp.clone"));
}

#[test]
fn dropped_environment_variables_are_not_visible_and_listed_by_name_only() {
    if !privileged("dropped_environment_variables_are_not_visible_and_listed_by_name_only") {
        return;
    }
    let dir = support::scratch();
    let out = std::process::Command::new(support::binary())
        .current_dir(dir.path())
        .env("MY_DEPLOY_TOKEN", "value-that-must-not-leak")
        .env("UNLISTED_VAR", "also-hidden")
        .env("KEPT_VAR", "visible")
        .args([
            "run",
            "--pass-env",
            "KEPT_VAR",
            "--out",
            "o",
            "--",
            "/bin/sh",
            "-c",
            "echo \"[$MY_DEPLOY_TOKEN][$UNLISTED_VAR][$KEPT_VAR]\"",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[][][visible]");
    let journal = std::fs::read_to_string(dir.path().join("o/events.jsonl")).unwrap();
    assert!(
        journal.contains("MY_DEPLOY_TOKEN") && journal.contains("UNLISTED_VAR"),
        "dropped names are listed"
    );
    for report in ["o/events.jsonl", "o/report.json", "o/report.md", "o/report.html"] {
        let text = std::fs::read_to_string(dir.path().join(report)).unwrap();
        assert!(
            !text.contains("value-that-must-not-leak") && !text.contains("also-hidden"),
            "{report} leaks a value"
        );
    }
}

#[test]
fn host_services_are_reachable_only_when_the_policy_allows_them() {
    if !privileged("host_services_are_reachable_only_when_the_policy_allows_them") {
        return;
    }
    // A host service that answers one line per connection, like a database would.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            use std::io::{Read, Write};
            let mut buf = [0u8; 4];
            if stream.read_exact(&mut buf).is_ok() {
                let _ = stream.write_all(b"pong");
            }
        }
    });
    let probe = format!(
        "import socket\ntry:\n s = socket.create_connection(('127.0.0.1', {port}), timeout=3); s.sendall(b'ping'); print('CONNECTED', s.recv(4))\nexcept OSError as e:\n print('REFUSED', e)"
    );
    let (_d1, unlisted) = run(&["--mode", "block"], &["python3", "-c", &probe]);
    assert!(unlisted.stdout().contains("REFUSED"), "no policy, no host service: {}", unlisted.stdout());

    let dir = support::scratch();
    let policy =
        format!("version: 1\nmode: block\negress:\n  allow:\n    - {{ host: localhost, ports: [{port}] }}\n");
    std::fs::write(dir.path().join("ringfence.yml"), policy).unwrap();
    let allowed = support::run_in(dir.path(), &[], &["python3", "-c", &probe]);
    assert!(allowed.stdout().contains("CONNECTED"), "allowed: {}\n{}", allowed.stdout(), allowed.stderr());
    let python = allowed.execs().into_iter().find(|e| e.argv[0] == "python3").expect("python's exec").pid;
    let connect = allowed
        .events()
        .find_map(
            |e| if let journal::Event::NetConnect(c) = e { (c.port == port).then_some(c) } else { None },
        )
        .expect("the connection is journaled");
    assert_eq!(connect.verdict, journal::Verdict::Allowed);
    assert_eq!(connect.pid, Some(python), "attributed to the python process");
    assert_eq!(allowed.code(), 0);

    // The same from the command line, without a policy file.
    let flag = format!("localhost:{port}");
    let (_d2, by_flag) = run(&["--mode", "block", "--allow", &flag], &["python3", "-c", &probe]);
    assert!(by_flag.stdout().contains("CONNECTED"), "--allow: {}\n{}", by_flag.stdout(), by_flag.stderr());
    assert_eq!(by_flag.code(), 0);
}

const LOOKUP: &str = r#"
import socket
try:
    socket.getaddrinfo("exfil-a1b2c3.unlisted.example", 443)
    print("RESOLVED")
except OSError as e:
    print("NXDOMAIN", e)
"#;

#[test]
fn unlisted_names_do_not_resolve_and_are_attributed() {
    if !privileged("unlisted_names_do_not_resolve_and_are_attributed") {
        return;
    }
    let (_dir, r) = run(&["--mode", "block"], &["python3", "-c", LOOKUP]);
    assert!(r.stdout().contains("NXDOMAIN"), "{}\n{}", r.stdout(), r.stderr());
    let python = r.execs().into_iter().find(|e| e.argv[0] == "python3").expect("python's exec").pid;
    let query = r
        .events()
        .find_map(|e| {
            if let journal::Event::DnsQuery(q) = e {
                (q.name == "exfil-a1b2c3.unlisted.example").then_some(q)
            } else {
                None
            }
        })
        .expect("the query is journaled");
    assert_eq!(query.verdict, journal::Verdict::Blocked);
    assert!(query.violation);
    assert_eq!(query.pid, Some(python));
    assert_eq!(r.code(), 122, "a refused name fails a block-mode run");
}

#[test]
fn private_tmp_hides_the_hosts_tmp() {
    if !privileged("private_tmp_hides_the_hosts_tmp") {
        return;
    }
    let marker = format!("/tmp/ringfence-host-marker-{}", std::process::id());
    std::fs::write(&marker, "x").unwrap();
    let script =
        format!("test -e {marker} && echo SEES-HOST-TMP; echo inside > /tmp/agent-file; cat /tmp/agent-file");
    let (_dir, r) = run(&[], &["/bin/sh", "-c", &script]);
    std::fs::remove_file(&marker).unwrap();
    assert_eq!(r.stdout().trim(), "inside");
    assert!(!std::path::Path::new("/tmp/agent-file").exists(), "the agent's /tmp is private");
}

#[test]
fn the_demo_passes() {
    if !privileged("the_demo_passes") {
        return;
    }
    let dir = support::scratch();
    let out = std::process::Command::new(support::binary())
        .current_dir(dir.path())
        .args(["run", "--demo", "--out", "demo"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(!text.contains("ESCAPED"), "{text}");
    let journal = std::fs::read_to_string(dir.path().join("demo/events.jsonl")).unwrap();
    let exfil =
        journal.lines().find(|l| l.contains("\"kind\":\"secret.exfil\"")).expect("the key's exfiltration");
    assert!(exfil.contains("RINGFENCE_DEMO_KEY") && exfil.contains("collector.example"), "{exfil}");
}
