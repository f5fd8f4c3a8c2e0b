//! The fence's mount namespace: a fresh /proc for the new PID namespace (so the agent sees only
//! its own processes: no /proc/<pid>/environ or /proc/<pid>/mem of the runner or of ringfence)
//! and private tmpfs scratch space (nothing the agent leaves in /tmp reaches the host or the next
//! step, and nothing the host left there is visible).

use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, unshare};

/// Private scratch directories, each a fresh tmpfs.
pub(crate) const PRIVATE_TMP: [&str; 3] = ["/tmp", "/var/tmp", "/dev/shm"];

pub(crate) fn setup() -> Result<(), String> {
    unshare(CloneFlags::CLONE_NEWNS).map_err(|e| format!("unshare(CLONE_NEWNS): {e}"))?;
    // Without this, the mounts below would propagate back to the host on shared-mount systems.
    mount(None::<&str>, "/", None::<&str>, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None::<&str>)
        .map_err(|e| format!("making / private: {e}"))?;
    let hardened = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount(Some("proc"), "/proc", Some("proc"), hardened, None::<&str>)
        .map_err(|e| format!("mounting a fresh /proc: {e}"))?;
    for dir in PRIVATE_TMP {
        if std::path::Path::new(dir).is_dir() {
            mount(
                Some("tmpfs"),
                dir,
                Some("tmpfs"),
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
                Some("mode=1777"),
            )
            .map_err(|e| format!("mounting a private tmpfs on {dir}: {e}"))?;
        }
    }
    Ok(())
}
