//! The last steps in the agent's own process before CMD is exec'd: credentials, capabilities,
//! no_new_privs, working directory, seccomp. Runs in a child of the fence's init, which is
//! single-threaded, so ordinary Rust is safe here after fork.

use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd, RawFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::unistd::{AccessFlags, Gid, Uid, access, setgroups, setresgid, setresuid};

use crate::ipc::{InitConfig, InitMessage, send_fd};

/// Why the agent could not be started.
pub(crate) enum Failure {
    Setup(String),
    Exec { errno: Errno, program: String },
}

impl From<Failure> for InitMessage {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Setup(what) => InitMessage::SetupFailed { what },
            Failure::Exec { errno, program } => InitMessage::ExecFailed { errno: errno as i32, program },
        }
    }
}

/// Sets the process up as the agent and execs CMD; returns only on failure.
pub(crate) fn exec(cfg: &InitConfig, notify_socket: BorrowedFd<'_>) -> Failure {
    let step = |what: &str, r: nix::Result<()>| r.map_err(|e| Failure::Setup(format!("{what}: {e}")));
    let run = || -> Result<(), Failure> {
        // std ignores SIGPIPE in its own processes; CMD's pipelines expect the default.
        // SAFETY: resetting a disposition to default in a single-threaded child.
        step("resetting SIGPIPE", unsafe {
            nix::sys::signal::signal(nix::sys::signal::SIGPIPE, nix::sys::signal::SigHandler::SigDfl)
                .map(|_| ())
        })?;
        // A session of its own: the terminal ringfence was started from is no longer the agent's
        // controlling terminal, so it cannot push keystrokes into it (TIOCSTI needs that, or
        // CAP_SYS_ADMIN; seccomp refuses the ioctl as well) nor signal the caller's job.
        step("setsid", nix::unistd::setsid().map(|_| ()))?;
        // The agent is the OOM killer's first choice, inside its cgroup and on the host: never
        // init or the supervisor, whose deaths would end the recording. Raising needs no privilege.
        std::fs::write("/proc/self/oom_score_adj", "1000")
            .map_err(|e| Failure::Setup(format!("raising the agent's OOM score: {e}")))?;
        // Opened while still root, so every writable tree can be named whatever its permissions.
        let landlock = cfg
            .files
            .as_ref()
            .map(|f| crate::landlock::prepare(&f.writable))
            .transpose()
            .map_err(Failure::Setup)?;
        step("dropping the capability bounding set", drop_bounding_set())?;
        step("setgroups", setgroups(&[Gid::from_raw(cfg.gid)]))?;
        let (gid, uid) = (Gid::from_raw(cfg.gid), Uid::from_raw(cfg.uid));
        step("setresgid", setresgid(gid, gid, gid))?;
        step("setresuid", setresuid(uid, uid, uid))?;
        // A fresh, empty session keyring owned by the agent: the caller's (inherited until now)
        // may hold keys the agent must not search or read.
        step("joining a new session keyring", join_new_session_keyring())?;
        // A uid-0 agent keeps its capabilities across setresuid; clear them explicitly.
        for set in [
            caps::CapSet::Effective,
            caps::CapSet::Permitted,
            caps::CapSet::Inheritable,
            caps::CapSet::Ambient,
        ] {
            caps::clear(None, set).map_err(|e| Failure::Setup(format!("clearing capabilities: {e}")))?;
        }
        // SAFETY: prctl with constant integer arguments.
        let nnp = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
        step("no_new_privs", Errno::result(nnp).map(|_| ()))?;
        step(
            &format!("entering the working directory {} as uid {}", cfg.cwd, cfg.uid),
            nix::unistd::chdir(cfg.cwd.as_str()),
        )?;
        if let Some(ruleset) = landlock {
            crate::landlock::restrict(ruleset).map_err(Failure::Setup)?;
        }
        let program = resolve(&cfg.argv[0], &cfg.env)?;
        let argv = cstrings(cfg.argv.iter().map(String::as_str))?;
        let envp = cstrings(
            cfg.env.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().iter().map(String::as_str),
        )?;
        let path = CString::new(program.as_os_str().as_encoded_bytes())
            .map_err(|_| Failure::Setup("program path contains NUL".into()))?;
        load_seccomp(notify_socket)?;
        step("closing ringfence's descriptors", close_on_exec_from(3))?;
        let errno = nix::unistd::execve(&path, &argv, &envp).err().unwrap_or(Errno::UnknownErrno);
        Err(Failure::Exec { errno, program: program.display().to_string() })
    };
    match run() {
        Ok(()) => Failure::Setup("execve returned".into()),
        Err(failure) => failure,
    }
}

fn load_seccomp(notify_socket: BorrowedFd<'_>) -> Result<(), Failure> {
    let fail = |e: &dyn std::fmt::Display| Failure::Setup(format!("loading the seccomp filter: {e}"));
    let filter = crate::seccomp::filter().map_err(|e| fail(&e))?;
    filter.load().map_err(|e| fail(&e))?;
    let listener: RawFd = filter.get_notify_fd().map_err(|e| fail(&e))?;
    send_fd(notify_socket.as_fd(), listener).map_err(|e| fail(&e))?;
    // The supervisor holds its own copy now; ours must not leak into CMD.
    let _ = nix::unistd::close(listener);
    Ok(())
}

/// Joins a new anonymous session keyring (KEYCTL_JOIN_SESSION_KEYRING with no name).
fn join_new_session_keyring() -> nix::Result<()> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: keyctl with a null name pointer creates and joins an anonymous keyring.
    let r = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, std::ptr::null::<u8>()) };
    Errno::result(r).map(|_| ())
}

/// Marks every descriptor from `first` up close-on-exec: only stdin, stdout and stderr reach
/// CMD, whatever a library or an earlier step left open without O_CLOEXEC.
fn close_on_exec_from(first: u32) -> nix::Result<()> {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range with integer arguments; CLOEXEC only flags, closes nothing now.
    let r = unsafe { libc::syscall(libc::SYS_close_range, first, libc::c_uint::MAX, CLOSE_RANGE_CLOEXEC) };
    if r == 0 {
        return Ok(());
    }
    // Kernels before 5.11: flag each open descriptor by hand.
    let open: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")
        .map_err(|_| Errno::last())?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd: &RawFd| fd >= first as RawFd)
        .collect();
    for fd in open {
        // SAFETY: F_SETFD on a descriptor number; a stale one (the listing's own) fails harmlessly.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    Ok(())
}

/// Drops every capability from the bounding set, so nothing exec'd later can regain one.
fn drop_bounding_set() -> nix::Result<()> {
    let last: i32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(63);
    for cap in 0..=last {
        // SAFETY: prctl with integer arguments.
        let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) };
        // EINVAL: a capability this kernel does not know; nothing to drop.
        if r != 0 && Errno::last() != Errno::EINVAL {
            return Err(Errno::last());
        }
    }
    Ok(())
}

/// Finds CMD the way a shell would: a path with a slash as is, otherwise the first executable
/// match on the agent's PATH, checked as the agent's uid.
fn resolve(program: &str, env: &[(String, String)]) -> Result<PathBuf, Failure> {
    if program.contains('/') {
        return Ok(PathBuf::from(program));
    }
    let path = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.as_str())
        .unwrap_or("/usr/local/bin:/usr/bin:/bin");
    let mut denied = None;
    for dir in path.split(':').filter(|d| !d.is_empty()) {
        let candidate = Path::new(dir).join(program);
        if !candidate.is_file() {
            continue;
        }
        match access(&candidate, AccessFlags::X_OK) {
            Ok(()) => return Ok(candidate),
            Err(_) => denied = Some(candidate),
        }
    }
    Err(match denied {
        Some(found) => Failure::Exec { errno: Errno::EACCES, program: found.display().to_string() },
        None => Failure::Exec { errno: Errno::ENOENT, program: program.to_string() },
    })
}

fn cstrings<'a>(items: impl Iterator<Item = &'a str>) -> Result<Vec<CString>, Failure> {
    items
        .map(|s| {
            CString::new(s).map_err(|_| Failure::Setup(format!("argument or variable contains NUL: {s:?}")))
        })
        .collect()
}
