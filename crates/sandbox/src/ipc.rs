//! Messages between the supervisor and the fence's init, and passing the seccomp listener fd.
//!
//! The control channel is a Unix stream socket carrying one JSON object per line: the config
//! and then the release go in, status messages come out. The seccomp listener travels on a separate datagram
//! socket as SCM_RIGHTS, straight from the agent process to the supervisor.

use std::io::{BufRead, Read, Write};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{ControlMessage, ControlMessageOwned, MsgFlags, recvmsg, sendmsg};
use serde::{Deserialize, Serialize};

/// fd number of the control socket in init.
pub(crate) const CONTROL_FD: RawFd = 3;
/// fd number of the socket init hands to the agent for the seccomp listener.
pub(crate) const NOTIFY_FD: RawFd = 4;

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct InitConfig {
    pub argv: Vec<String>,
    pub cwd: String,
    pub env: Vec<(String, String)>,
    pub uid: u32,
    pub gid: u32,
    pub files: Option<crate::FileFence>,
    pub ca_bundle: Option<std::path::PathBuf>,
    /// Size of each private tmpfs, in bytes.
    pub tmpfs_size: Option<u64>,
    #[serde(default)]
    pub run_dir: Option<std::path::PathBuf>,
    pub socket_view: Option<Vec<std::path::PathBuf>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum InitMessage {
    /// CMD was exec'd; `vpid` is its pid inside the fence.
    Started { vpid: i32 },
    /// Setting up the fence failed; CMD never ran.
    SetupFailed { what: String },
    /// execve of CMD failed with `errno`.
    ExecFailed { errno: i32, program: String },
    /// CMD ended.
    Exited { code: Option<i32>, signal: Option<i32> },
}

pub(crate) fn send<T: Serialize>(out: &mut impl Write, message: &T) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(message).map_err(std::io::Error::other)?;
    line.push(b'\n');
    out.write_all(&line)?;
    out.flush()
}

/// The longest message init sends (a status with an error text or a program path). A longer
/// one is not init's: the supervisor stops reading rather than hold it.
pub(crate) const MAX_STATUS: u64 = 64 * 1024;
/// Sent after the config once every other layer of the fence is up: only then does init start
/// CMD. init builds the mount namespace while the supervisor loads the sensors.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Release {
    pub release: bool,
}

/// The longest config the supervisor sends (argv and environment included).
pub(crate) const MAX_CONFIG: u64 = 64 * 1024 * 1024;

/// Reads one message of at most `limit` bytes; `Ok(None)` at end of stream.
pub(crate) fn receive<T: for<'de> Deserialize<'de>>(
    input: &mut impl BufRead,
    limit: u64,
) -> std::io::Result<Option<T>> {
    let mut line = Vec::new();
    if input.by_ref().take(limit).read_until(b'\n', &mut line)? == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') && line.len() as u64 >= limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("a message longer than {limit} bytes on the fence's control channel"),
        ));
    }
    serde_json::from_slice(&line).map(Some).map_err(std::io::Error::other)
}

pub(crate) fn send_fd(socket: BorrowedFd<'_>, fd: RawFd) -> nix::Result<()> {
    let fds = [fd];
    let payload = [std::io::IoSlice::new(b"F")];
    sendmsg::<()>(socket.as_raw_fd(), &payload, &[ControlMessage::ScmRights(&fds)], MsgFlags::empty(), None)?;
    Ok(())
}

/// Receives one fd sent with [`send_fd`]; `Ok(None)` when the peer closed without sending.
pub(crate) fn receive_fd(socket: BorrowedFd<'_>) -> nix::Result<Option<OwnedFd>> {
    let mut byte = [0u8; 1];
    let mut iov = [std::io::IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(socket.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC)?;
    for cmsg in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(fds) = cmsg
            && let Some(&fd) = fds.first()
        {
            // SAFETY: the kernel just installed this fd in our table for us alone.
            return Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }));
        }
    }
    Ok(None)
}
