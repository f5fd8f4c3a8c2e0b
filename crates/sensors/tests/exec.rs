//! The exec sensor against the real kernel: a cgroup, real processes, every event checked.
//! Needs root; see `support::skip_or_fail` for what happens without it.

mod support;

use std::collections::{HashMap, HashSet};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

use journal::{Event, ProcessExec, ProcessExit};
use support::{watched_cgroup, work_dir};

const LOOP: &str = "i=0; while [ $i -lt 2000 ]; do /bin/true; i=$((i+1)); done";

fn execs(events: &[Event]) -> Vec<&ProcessExec> {
    events
        .iter()
        .filter_map(|event| if let Event::ProcessExec(exec) = event { Some(exec) } else { None })
        .collect()
}

fn exits(events: &[Event]) -> HashMap<u32, &ProcessExit> {
    let mut exits = HashMap::new();
    for event in events {
        if let Event::ProcessExit(exit) = event {
            assert!(exits.insert(exit.pid, exit).is_none(), "two exits for pid {}", exit.pid);
        }
    }
    exits
}

#[test]
fn reports_all_2000_execs_of_a_tight_loop() {
    let Some((cgroup, sensor, recorded)) = watched_cgroup() else { return };
    let (_dir, cwd) = work_dir(&std::env::temp_dir());

    let status = cgroup.command("/bin/sh", None).args(["-c", LOOP]).current_dir(&cwd).status();
    let stats = sensor.stop().expect("sensor stops cleanly");
    assert!(status.expect("sh runs").success());
    let events = recorded.events();

    eprintln!("exec storm: {} events delivered, {} lost", stats.delivered, stats.lost);
    assert_eq!(stats.lost, 0, "lost events");
    assert_eq!(stats.delivered, events.len() as u64);
    let execs = execs(&events);
    let Event::ProcessExec(sh) = &events[0] else { panic!("first event is not sh's exec: {:?}", events[0]) };
    assert_eq!(sh.exe, "/bin/sh");
    assert_eq!(sh.argv, ["/bin/sh", "-c", LOOP]);
    assert_eq!(sh.cwd, cwd);
    assert_eq!(sh.uid, 0);
    // The test runs in the initial PID namespace, where both numbers agree.
    assert_eq!(sh.vpid, Some(sh.pid));

    let trues: Vec<_> = execs.iter().filter(|exec| exec.exe == "/bin/true").collect();
    assert_eq!(trues.len(), 2000, "exec events of /bin/true");
    assert_eq!(execs.len(), 2001, "exec events in all");
    for exec in &trues {
        assert_eq!(exec.argv, ["/bin/true"]);
        assert!(!exec.argv_truncated);
        assert_eq!(exec.cwd, cwd);
        assert_eq!(exec.ppid, sh.pid, "/bin/true's parent is the loop's sh");
        assert_eq!(exec.uid, 0);
    }

    // sh forks each /bin/true, and each exits 0 after its exec, in that order.
    let mut seen = HashMap::new();
    for (index, event) in events.iter().enumerate() {
        let (pid, step) = match event {
            Event::ProcessFork(fork) => {
                assert_eq!(fork.ppid, sh.pid);
                (fork.pid, 0)
            }
            Event::ProcessExec(exec) if exec.pid != sh.pid => (exec.pid, 1),
            Event::ProcessExit(exit) if exit.pid != sh.pid => (exit.pid, 2),
            _ => continue,
        };
        let last = seen.insert(pid, step);
        assert_eq!(last.map_or(0, |last| last + 1), step, "event {index} of pid {pid} out of order");
    }
    assert_eq!(seen.len(), 2000);
    assert!(seen.values().all(|&step| step == 2), "every /bin/true forked, exec'd and exited");

    let exits = exits(&events);
    assert_eq!(exits.len(), 2001);
    assert!(exits.values().all(|exit| exit.code == Some(0) && exit.signal.is_none()));
    assert!(matches!(events.last(), Some(Event::ProcessExit(exit)) if exit.pid == sh.pid));
}

#[test]
fn reports_exit_codes_signals_users_and_full_argv() {
    let Some((cgroup, sensor, recorded)) = watched_cgroup() else { return };
    // /dev/shm is its own mount on most systems: cwd has to cross into it.
    let shm = std::path::Path::new("/dev/shm");
    let (_dir, cwd) = work_dir(if shm.is_dir() { shm } else { std::path::Path::new("/tmp") });

    let run = |command: &mut Command| {
        let mut child = command.current_dir(&cwd).spawn().expect("spawns");
        let pid = child.id();
        child.wait().expect("waits");
        pid
    };
    let exit3 = run(cgroup.command("/bin/sh", None).args(["-c", "exit 3"]));
    let killed = run(cgroup.command("/bin/sh", None).args(["-c", "kill -9 $$"]));
    let echo = run(cgroup.command("/bin/echo", Some(65534)).args(["hello", "two words", ""]));
    let long_args = vec!["abcd"; 3000];
    let long = run(cgroup.command("/bin/true", None).args(&long_args));
    let outside = run(Command::new("/bin/echo").arg("outside-the-fence"));
    // The first child of a process that unshared its PID namespace is pid 1 in it.
    let mut in_namespace = cgroup.command("/bin/sh", None);
    // SAFETY: unshare is async-signal-safe and allocates nothing.
    unsafe {
        in_namespace.pre_exec(|| match libc::unshare(libc::CLONE_NEWPID) {
            0 => Ok(()),
            _ => Err(std::io::Error::last_os_error()),
        });
    }
    let namespaced_sh = run(in_namespace.args(["-c", "/bin/true; exit 0"]));
    let threaded = run(cgroup
        .command(std::env::current_exe().expect("test binary").to_str().expect("UTF-8 path"), None)
        .args(["--exact", "threaded_child", "--test-threads=1", "--nocapture"])
        .env("RINGFENCE_TEST_THREADED_CHILD", "1"));

    let stats = sensor.stop().expect("sensor stops cleanly");
    let events = recorded.events();
    assert_eq!(stats.lost, 0);

    let exits = exits(&events);
    assert_eq!((exits[&exit3].code, exits[&exit3].signal), (Some(3), None));
    assert_eq!((exits[&killed].code, exits[&killed].signal), (None, Some(9)));
    assert_eq!((exits[&threaded].code, exits[&threaded].signal), (Some(7), None));

    let execs = execs(&events);
    let by_pid =
        |pid| execs.iter().find(|exec| exec.pid == pid).unwrap_or_else(|| panic!("no exec of {pid}"));
    let echo = by_pid(echo);
    assert_eq!(echo.argv, ["/bin/echo", "hello", "two words", ""]);
    assert_eq!((echo.uid, echo.exe.as_str(), echo.cwd.as_str()), (65534, "/bin/echo", cwd.as_str()));
    assert_eq!(echo.ppid, std::process::id());

    let init = execs.iter().find(|exec| exec.ppid == namespaced_sh).expect("exec in the PID namespace");
    assert_eq!((init.exe.as_str(), init.vpid), ("/bin/true", Some(1)));
    assert_ne!(init.pid, 1);

    let long = by_pid(long);
    assert!(long.argv_truncated);
    assert_eq!(long.argv[0], "/bin/true");
    let (last, full) = long.argv[1..].split_last().expect("some arguments");
    assert!(full.len() > 1000 && full.iter().all(|arg| arg == "abcd"), "{} full arguments", full.len());
    assert!("abcd".starts_with(last.as_str()));
    assert!(long.argv.iter().map(|arg| arg.len() + 1).sum::<usize>() <= 8192 + 1);

    let pids: HashSet<u32> = events
        .iter()
        .map(|event| match event {
            Event::ProcessExec(exec) => exec.pid,
            Event::ProcessFork(fork) => fork.pid,
            Event::ProcessExit(exit) => exit.pid,
            other => panic!("unexpected event {other:?}"),
        })
        .collect();
    assert!(!pids.contains(&outside), "a process outside the cgroup was reported");
    assert!(!execs.iter().any(|exec| exec.argv.iter().any(|arg| arg == "outside-the-fence")));
    // Threads are not processes: the threaded child forks none of its own.
    assert!(!events.iter().any(|event| matches!(event, Event::ProcessFork(fork) if fork.ppid == threaded)));
}

#[test]
fn counts_what_a_full_ring_buffer_drops() {
    const EXECS: usize = 1000;
    let (release, blocked) = std::sync::mpsc::channel::<()>();
    // The sink stalls on its first event, so the kernel fills the ring buffer behind it.
    let mut stalled = Some(blocked);
    let sink = Box::new(move |_event| {
        if let Some(blocked) = stalled.take() {
            let _ = blocked.recv();
        }
    });
    let Some((cgroup, sensor)) = support::watched_cgroup_with(sink) else { return };

    // Exec records near the argv cap: EXECS of them (~8 MiB) are twice what the 4 MiB ring holds.
    let script = format!("i=0; while [ $i -lt {EXECS} ]; do /bin/true \"$1\"; i=$((i+1)); done");
    let big = "x".repeat(8000);
    let status = cgroup.command("/bin/sh", None).args(["-c", &script, "sh", &big]).status();
    release.send(()).expect("sink waits");
    let stats = sensor.stop().expect("sensor stops cleanly");
    assert!(status.expect("sh runs").success());

    eprintln!("full ring buffer: {} events delivered, {} lost", stats.delivered, stats.lost);
    assert!(stats.lost > 0, "the ring buffer never filled; the test proves nothing");
    // sh's exec and exit, and a fork, exec and exit per /bin/true: each delivered or counted.
    assert_eq!(stats.delivered + stats.lost, 2 + 3 * EXECS as u64);
}

/// Not a test of its own: the process `reports_exit_codes_signals_users_and_full_argv` runs to
/// see threads that are neither forks nor exits, and a group exit called from a side thread.
#[test]
fn threaded_child() {
    if std::env::var_os("RINGFENCE_TEST_THREADED_CHILD").is_none() {
        return;
    }
    for _ in 0..3 {
        std::thread::spawn(|| std::thread::sleep(Duration::from_secs(10)));
    }
    let exiter = std::thread::spawn(|| {
        std::thread::sleep(Duration::from_millis(50));
        std::process::exit(7)
    });
    let _ = exiter.join();
}
