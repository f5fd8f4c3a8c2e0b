//! The host side of the fence: builds the cgroup, starts init in new namespaces, passes it the
//! config, serves seccomp refusals, waits for CMD, and tears everything down.

use std::io::BufReader;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use journal::FenceLayer;
use nix::sched::{CloneFlags, unshare};
use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};

pub use crate::seccomp::Denied;

use crate::cgroup::{Cgroup, MemoryLimit, PidsLimit};
use crate::ipc::{CONTROL_FD, InitConfig, InitMessage, MAX_STATUS, NOTIFY_FD, receive, receive_fd, send};
use crate::{FenceSpec, INIT_ARG, SandboxError, io_err};

/// How a run ended, as far as the fence can tell.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Exited {
        code: Option<i32>,
        signal: Option<i32>,
    },
    /// CMD could not be exec'd (`errno` ENOENT: not found; EACCES: not executable).
    NotStarted {
        errno: i32,
        program: String,
    },
    /// Building the fence failed inside init; CMD never ran.
    SetupFailed(String),
    WallLimit,
    Interrupted,
    /// init ended without saying how CMD ended (killed from outside).
    InitDied(String),
}

/// What teardown found and did.
#[derive(Debug)]
pub struct Teardown {
    /// Processes still in the cgroup when CMD ended, killed by teardown.
    pub killed: usize,
    /// Processes the kernel killed during the run for exceeding the memory limit.
    pub oom_kills: u64,
}

/// A fence whose cgroup exists but whose processes have not started.
pub struct Prepared {
    spec: FenceSpec,
    cgroup: Cgroup,
    netns: Option<OwnedFd>,
}

enum Message {
    Init(InitMessage),
    /// init's control socket reached end of stream: no more messages will come.
    ControlClosed,
    InitExited(String),
}

/// A running fence. init builds the mounts at once but starts CMD only at [`Running::release`].
pub struct Running {
    cgroup: Cgroup,
    /// init's control socket, for the release.
    control: Option<UnixStream>,
    messages: Receiver<Message>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    started: bool,
}

impl Prepared {
    /// Creates the run's cgroup; nothing runs yet, so the sensors can attach to its id first.
    pub fn new(spec: FenceSpec) -> Result<Prepared, SandboxError> {
        if spec.files.is_some() && crate::landlock::kernel_abi() < 1 {
            return Err(SandboxError::NoLandlock);
        }
        let cgroup = Cgroup::create(&spec.run_id, spec.pids_max, spec.memory_max)?;
        let netns = match spec.isolate_network {
            true => match crate::network::create() {
                Ok(ns) => Some(ns),
                Err(e) => {
                    let _ = cgroup.remove();
                    return Err(SandboxError::Network(e));
                }
            },
            false => None,
        };
        Ok(Prepared { spec, cgroup, netns })
    }

    /// Gives the fence up before anything ran in it: removes its cgroup.
    pub fn abandon(self) {
        let _ = self.cgroup.remove();
    }

    /// The fence's own network namespace, when it has one; the egress fence sets up inside it.
    pub fn netns(&self) -> Option<BorrowedFd<'_>> {
        self.netns.as_ref().map(|fd| fd.as_fd())
    }

    pub fn cgroup(&self) -> &Cgroup {
        &self.cgroup
    }

    /// The layers this fence puts in force, for the journal's run.start.
    pub fn layers(&self) -> Vec<FenceLayer> {
        let layer = |name: &str, detail: String| FenceLayer { layer: name.into(), active: true, detail };
        let pids = match self.cgroup.pids() {
            PidsLimit::None => "no pids limit".to_string(),
            PidsLimit::V2(max) => format!("pids.max {max}"),
            PidsLimit::V1 { max, .. } => format!("pids.max {max} (cgroup v1 pids hierarchy)"),
        };
        let memory = match self.cgroup.memory() {
            MemoryLimit::None => "no memory limit".to_string(),
            MemoryLimit::V2(max) => format!("memory.max {max}"),
            MemoryLimit::V1 { max, .. } => format!("memory limit {max} (cgroup v1 memory hierarchy)"),
        };
        vec![
            layer(
                "cgroup",
                format!(
                    "{} (id {}), {pids}, {memory}, killed as a whole at the end",
                    self.cgroup.path().display(),
                    self.cgroup.id()
                ),
            ),
            layer(
                "pid-namespace",
                "own PID namespace: host processes are invisible; ringfence's init is pid 1".into(),
            ),
            layer(
                "mount-namespace",
                format!(
                    "fresh /proc; private tmpfs on {}{}",
                    crate::mounts::PRIVATE_TMP.join(", "),
                    match self.spec.memory_max {
                        Some(max) => format!(", each at most {} bytes", (max / 2).max(1024 * 1024)),
                        None => String::new(),
                    }
                ),
            ),
            layer("user", format!("uid {} gid {}, no supplementary groups", self.spec.uid, self.spec.gid)),
            layer("capabilities", "all dropped, bounding set emptied".into()),
            layer("no-new-privs", "set: sudo and setuid binaries cannot raise privileges".into()),
            FenceLayer {
                layer: "network".into(),
                active: self.spec.isolate_network,
                detail: if self.spec.isolate_network {
                    "own network namespace with loopback only: nothing outside the fence is reachable".into()
                } else {
                    "audit mode: shares the host's network; connections are not yet recorded".into()
                },
            },
            self.files_layer(),
            layer(
                "seccomp",
                format!("refused and recorded: {}", crate::seccomp::denied_syscalls().join(", ")),
            ),
        ]
    }

    fn files_layer(&self) -> FenceLayer {
        let Some(files) = &self.spec.files else {
            return FenceLayer {
                layer: "files".into(),
                active: false,
                detail: "audit mode: writes go where the uid may write; protected and credential paths are not enforced".into(),
            };
        };
        let writable: Vec<String> = files
            .writable
            .iter()
            .map(|p| p.display().to_string())
            .chain(crate::mounts::PRIVATE_TMP.iter().map(|s| s.to_string()))
            .collect();
        FenceLayer {
            layer: "files".into(),
            active: true,
            detail: format!(
                "Landlock ABI {}: writes only beneath {}; {} protected path(s) read-only; {} credential path(s) masked",
                crate::landlock::kernel_abi(),
                writable.join(", "),
                files.read_only.iter().filter(|p| p.exists()).count(),
                files.masked.iter().filter(|p| p.exists()).count(),
            ),
        }
    }

    /// Starts init in new PID and mount namespaces inside the cgroup; init builds the mount
    /// namespace and waits. CMD starts under it at [`Running::release`], so the other layers
    /// (sensors, network fence) load while init works. `on_denied` receives every refused
    /// system call, from a thread of its own.
    pub fn launch(self, on_denied: Box<dyn FnMut(Denied) + Send>) -> Result<Running, SandboxError> {
        let start = |what| move |e: std::io::Error| SandboxError::Start { what, source: e };
        let (control, control_child) = UnixStream::pair().map_err(start("control socket"))?;
        let (notify, notify_child) =
            socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)
                .map_err(|e| start("notify socket")(io_err(e)))?;
        let (tx, messages) = channel();
        let (pid_tx, pid_rx) = channel();
        let spawner = spawn_init(
            self.spec.init_exe.clone(),
            self.netns,
            control_child.into(),
            notify_child,
            pid_tx,
            tx.clone(),
        );
        let init_pid = match pid_rx.recv() {
            Ok(Ok(pid)) => pid,
            Ok(Err(e)) => return Err(SandboxError::Start { what: "the fence's init", source: e }),
            Err(_) => return Err(start("the fence's init")(std::io::Error::other("spawner thread died"))),
        };
        let mut running = Running {
            cgroup: self.cgroup,
            control: None,
            messages,
            stop: Arc::new(AtomicBool::new(false)),
            threads: vec![spawner],
            started: false,
        };
        // init waits for its config, so it runs nothing before it is inside the cgroup.
        if let Err(e) = running.cgroup.add(init_pid) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(init_pid as i32),
                nix::sys::signal::SIGKILL,
            );
            return Err(e);
        }
        let config = InitConfig {
            argv: self.spec.argv,
            cwd: self.spec.cwd.display().to_string(),
            env: self.spec.env,
            uid: self.spec.uid,
            gid: self.spec.gid,
            files: self.spec.files,
            ca_bundle: self.spec.ca_bundle,
            tmpfs_size: self.spec.memory_max,
            run_dir: self.spec.run_dir,
            socket_view: self.spec.socket_view,
        };
        let mut writer = control.try_clone().map_err(start("control socket"))?;
        send(&mut writer, &config).map_err(start("sending the config to init"))?;
        running.control = Some(writer);
        running.threads.push(std::thread::spawn(move || read_messages(control, tx)));
        let stop = running.stop.clone();
        running.threads.push(std::thread::spawn(move || serve_refusals(notify, &stop, on_denied)));
        Ok(running)
    }
}

fn spawn_init(
    exe: std::path::PathBuf,
    netns: Option<OwnedFd>,
    control: OwnedFd,
    notify: OwnedFd,
    pid_tx: Sender<std::io::Result<u32>>,
    tx: Sender<Message>,
) -> JoinHandle<()> {
    // A thread of its own: unshare(CLONE_NEWPID) changes where this thread's children go, and
    // PDEATHSIG fires when the thread that forked init exits, so it must live as long as init.
    std::thread::spawn(move || {
        if let Err(e) = unshare(CloneFlags::CLONE_NEWPID) {
            let _ = pid_tx.send(Err(io_err(e)));
            return;
        }
        // init (and so CMD) is born in the fence's network namespace.
        if let Some(ns) = &netns
            && let Err(e) = nix::sched::setns(ns, CloneFlags::CLONE_NEWNET)
        {
            let _ = pid_tx.send(Err(io_err(e)));
            return;
        }
        let (c, n) = (control.as_raw_fd(), notify.as_raw_fd());
        let mut cmd = Command::new(&exe);
        cmd.arg0("ringfence").arg(INIT_ARG).env_clear();
        // SAFETY: only async-signal-safe calls (prctl, fcntl, dup2) between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // Move both fds out of the way first, so dup2 cannot clobber one with the other.
                // The copies close at exec: only fds 3 and 4 (dup2 clears close-on-exec) reach init.
                let (c, n) =
                    (libc::fcntl(c, libc::F_DUPFD_CLOEXEC, 10), libc::fcntl(n, libc::F_DUPFD_CLOEXEC, 10));
                if c < 0 || n < 0 || libc::dup2(c, CONTROL_FD) < 0 || libc::dup2(n, NOTIFY_FD) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        match cmd.spawn() {
            Ok(mut child) => {
                let _ = pid_tx.send(Ok(child.id()));
                drop((control, notify));
                let status = child.wait().map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
                let _ = tx.send(Message::InitExited(status));
            }
            Err(e) => {
                let _ = pid_tx.send(Err(e));
            }
        }
    })
}

/// Takes the supervisor (and the fence's init, which inherits it) off the kernel's OOM killer's
/// list, so an agent that fills memory cannot end the run's recording. Needs CAP_SYS_RESOURCE,
/// which some container hosts withhold from root; the agent raises its own score to the
/// maximum either way, so it is always chosen first.
pub fn protect_from_oom() -> std::io::Result<()> {
    std::fs::write("/proc/self/oom_score_adj", "-1000")
}

fn read_messages(control: UnixStream, tx: Sender<Message>) {
    let mut reader = BufReader::new(control);
    while let Ok(Some(message)) = receive::<InitMessage>(&mut reader, MAX_STATUS) {
        if tx.send(Message::Init(message)).is_err() {
            return;
        }
    }
    let _ = tx.send(Message::ControlClosed);
}

fn serve_refusals(notify: OwnedFd, stop: &AtomicBool, on_denied: Box<dyn FnMut(Denied) + Send>) {
    // The agent sends its listener just before exec; end of stream means it never got that far.
    if let Ok(Some(listener)) = receive_fd(notify.as_fd()) {
        crate::seccomp::serve(listener, stop, on_denied);
    }
}

impl Running {
    /// Lets init start CMD; call once every other layer of the fence is up. A failure to tell
    /// init shows in [`Running::wait`] as init's end.
    pub fn release(&mut self) {
        if let Some(mut control) = self.control.take() {
            let _ = send(&mut control, &crate::ipc::Release { release: true });
        }
    }

    /// Waits until CMD ends, `deadline` passes, or `interrupted` is set.
    pub fn wait(&mut self, deadline: Option<Instant>, interrupted: &AtomicBool) -> Outcome {
        // init's exit and its last message travel on two channels; its exit only means "died
        // without saying why" once the control channel has been read to the end.
        let (mut init_status, mut control_closed): (Option<String>, bool) = (None, false);
        loop {
            if let (Some(status), true) = (&init_status, control_closed) {
                return Outcome::InitDied(status.clone());
            }
            if interrupted.load(Ordering::Relaxed) {
                return Outcome::Interrupted;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Outcome::WallLimit;
            }
            match self.messages.recv_timeout(Duration::from_millis(20)) {
                Ok(Message::Init(InitMessage::Started { .. })) => self.started = true,
                Ok(Message::Init(InitMessage::Exited { code, signal })) => {
                    return Outcome::Exited { code, signal };
                }
                Ok(Message::Init(InitMessage::ExecFailed { errno, program })) => {
                    return Outcome::NotStarted { errno, program };
                }
                Ok(Message::Init(InitMessage::SetupFailed { what })) => return Outcome::SetupFailed(what),
                Ok(Message::ControlClosed) => control_closed = true,
                Ok(Message::InitExited(status)) => init_status = Some(status),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    return Outcome::InitDied("no status from init".into());
                }
            }
        }
    }

    /// Whether CMD was exec'd.
    pub fn started(&self) -> bool {
        self.started
    }

    /// Kills whatever is left in the cgroup, waits for the fence's threads, removes the cgroup.
    pub fn teardown(self) -> Result<Teardown, SandboxError> {
        // init is a member too; count only what the agent left behind.
        let leftover = self.cgroup.members().len().saturating_sub(1);
        self.cgroup.kill_all(Duration::from_secs(10))?;
        let oom_kills = self.cgroup.oom_kills();
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads {
            let _ = thread.join();
        }
        self.cgroup.remove()?;
        Ok(Teardown { killed: leftover, oom_kills })
    }
}
