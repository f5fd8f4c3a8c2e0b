//! `ringfence __fence-init`: pid 1 of the fence's PID namespace.
//!
//! It reads its config from the supervisor, builds the mount namespace, waits for the
//! supervisor's release (the sensors load meanwhile), forks the agent, reaps
//! every orphan the agent leaves behind, and reports CMD's end. When CMD ends, init exits, and
//! the kernel kills every process left in the namespace: nothing the agent started survives it.
//! The supervisor set PDEATHSIG=SIGKILL on init before exec, so if the supervisor dies, init
//! dies, and with it the whole namespace.

use std::io::{BufReader, Write};
use std::os::fd::{AsFd, BorrowedFd, FromRawFd};
use std::os::unix::net::UnixStream;

use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork, pipe2};

use crate::ipc::{
    CONTROL_FD, InitConfig, InitMessage, MAX_CONFIG, MAX_STATUS, NOTIFY_FD, Release, receive, send,
};

/// Init's exit status when it could not start CMD (the supervisor reads the reason from the
/// control channel; this is only a fallback).
const SETUP_FAILED: i32 = 125;

/// Entry point; never returns.
pub fn main() -> ! {
    // SAFETY: fd 3 was placed here by the supervisor for this process alone.
    let control = unsafe { UnixStream::from_raw_fd(CONTROL_FD) };
    std::process::exit(run(control))
}

fn run(mut control: UnixStream) -> i32 {
    // One reader for both messages: it may read the release along with the config.
    let Ok(mut input) = control.try_clone().map(BufReader::new) else { return SETUP_FAILED };
    let cfg: InitConfig = match receive(&mut input, MAX_CONFIG) {
        Ok(Some(cfg)) => cfg,
        // The supervisor is gone or sent garbage: there is nobody to run CMD for.
        _ => return SETUP_FAILED,
    };
    let cwd = std::path::Path::new(&cfg.cwd);
    // The socket view comes last, so every other mount (the run directory's mask included) is
    // carried into it.
    let mounted = crate::mounts::setup(cwd, cfg.files.as_ref(), cfg.ca_bundle.as_deref(), cfg.tmpfs_size)
        .and_then(|()| crate::mounts::hide_run_dir(cfg.run_dir.as_deref()))
        .and_then(|()| {
            cfg.socket_view.as_deref().map_or(Ok(()), |allowed| crate::mounts::socket_view(cwd, allowed))
        });
    if let Err(what) = mounted {
        let _ = send(&mut control, &InitMessage::SetupFailed { what });
        return SETUP_FAILED;
    }
    // CMD starts only once the supervisor says every other layer is up; anything else (end of
    // stream, garbage, a refusal) means it never starts.
    match receive::<Release>(&mut input, MAX_STATUS) {
        Ok(Some(Release { release: true })) => {}
        _ => return SETUP_FAILED,
    }
    let (report_r, report_w) = match pipe2(OFlag::O_CLOEXEC) {
        Ok(p) => p,
        Err(e) => {
            let _ = send(&mut control, &InitMessage::SetupFailed { what: format!("pipe: {e}") });
            return SETUP_FAILED;
        }
    };
    // SAFETY: init is single-threaded, so the child may run ordinary code after fork.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            drop(report_r);
            // The agent must not inherit the control channel (it could forge messages) nor the
            // notify socket; both close at exec.
            for fd in [CONTROL_FD, NOTIFY_FD] {
                let _ = fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC));
            }
            // SAFETY: fd 4 was placed here by the supervisor and stays open until exec.
            let notify = unsafe { BorrowedFd::borrow_raw(NOTIFY_FD) };
            let failure = crate::agent::exec(&cfg, notify.as_fd());
            let mut out = std::fs::File::from(report_w);
            let _ = send(&mut out, &InitMessage::from(failure));
            let _ = out.flush();
            // SAFETY: leaving the forked child without running the parent's atexit handlers.
            unsafe { libc::_exit(SETUP_FAILED) }
        }
        Ok(ForkResult::Parent { child }) => {
            drop(report_w);
            let _ = nix::unistd::close(NOTIFY_FD);
            let mut report = BufReader::new(std::fs::File::from(report_r));
            if let Ok(Some(failure)) = receive::<InitMessage>(&mut report, MAX_STATUS) {
                let _ = send(&mut control, &failure);
                let _ = waitpid(child, None);
                return SETUP_FAILED;
            }
            let _ = send(&mut control, &InitMessage::Started { vpid: child.as_raw() });
            reap_until(child, &mut control)
        }
        Err(e) => {
            let _ = send(&mut control, &InitMessage::SetupFailed { what: format!("fork: {e}") });
            SETUP_FAILED
        }
    }
}

/// Reaps every process that ends in the namespace until CMD itself has ended.
fn reap_until(cmd: nix::unistd::Pid, control: &mut UnixStream) -> i32 {
    loop {
        let message = match waitpid(None, None) {
            Ok(WaitStatus::Exited(pid, code)) if pid == cmd => {
                InitMessage::Exited { code: Some(code), signal: None }
            }
            Ok(WaitStatus::Signaled(pid, signal, _)) if pid == cmd => {
                InitMessage::Exited { code: None, signal: Some(signal as i32) }
            }
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => InitMessage::SetupFailed { what: format!("waiting for CMD: {e}") },
        };
        let _ = send(control, &message);
        return 0;
    }
}
