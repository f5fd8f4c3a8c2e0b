//! Which sockets are ringfence's own. In `run` the resolver and proxy reach the internet from the
//! host's namespace, outside the fence, so nothing needs marking. In job mode they share the
//! job's namespace with everything they fence: each upstream socket carries `SO_MARK`, which
//! only root can set, and the job ruleset lets marked packets pass untouched. Without the mark
//! the proxy's own upstream connection would be redirected back into the proxy.

use std::io;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU32, Ordering};

/// "RFNC": the mark of ringfence's upstream sockets in job mode.
pub const MARK: u32 = 0x5246_4e43;

/// 0 until a job fence starts; one daemon serves one fence, so a process-wide value is enough.
static UPSTREAM: AtomicU32 = AtomicU32::new(0);

pub(crate) fn enable() {
    UPSTREAM.store(MARK, Ordering::SeqCst);
}

/// Marks an upstream socket when a job fence is running; a no-op otherwise. A failure is an
/// error, never an unmarked connection: that one would loop back into the proxy.
pub(crate) fn apply(socket: &impl AsRawFd) -> io::Result<()> {
    let mark = UPSTREAM.load(Ordering::SeqCst);
    if mark == 0 {
        return Ok(());
    }
    // SAFETY: setsockopt on a descriptor the caller owns, with a correctly sized u32.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_MARK,
            (&mark as *const u32).cast(),
            std::mem::size_of::<u32>() as libc::socklen_t,
        )
    };
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}
