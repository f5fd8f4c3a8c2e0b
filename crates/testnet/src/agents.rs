//! The real coding agents, installed from their registries once per build directory so the
//! end-to-end tests drive the agents users run. Every package is pinned to an exact version;
//! an install runs under a lock (test runners start one process per test, and npm or pip must
//! run once per cache) and within a time bound, so a registry that cannot be reached fails the
//! test with a message instead of hanging it.
//!
//! What each agent needs to run offline against [`crate::ModelApi`] is written beside its
//! package below; the tests that drive them say the rest.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How an agent is installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registry {
    /// `npm install --prefix <cache> <name>@<version>`; the command is `node_modules/.bin/<bin>`.
    Npm,
    /// A virtual environment at `<cache>` with `pip install <name>==<version>`; the command is
    /// `bin/<bin>`.
    PyPi,
}

/// One agent package, pinned.
#[derive(Debug, Clone, Copy)]
pub struct Agent {
    pub registry: Registry,
    pub name: &'static str,
    pub version: &'static str,
    /// The executable the package installs.
    pub bin: &'static str,
}

/// Claude Code (2.1.x): a native executable (npm only installs it). Offline it needs
/// `ANTHROPIC_API_KEY`, `api.anthropic.com` resolving to the scripted server, the test CA
/// through `NODE_EXTRA_CA_CERTS`, a writable `HOME`, and `DISABLE_AUTOUPDATER=1`,
/// `DISABLE_TELEMETRY=1`, `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1` so nothing but the
/// Messages API is called (`HEAD /` as a warm-up, then `POST /v1/messages?beta=true`, streamed).
/// As root it refuses `--dangerously-skip-permissions`: `--allowedTools Bash` instead.
pub const CLAUDE_CODE: Agent =
    Agent { registry: Registry::Npm, name: "@anthropic-ai/claude-code", version: "2.1.197", bin: "claude" };

/// Codex CLI: a native executable in a platform package npm picks. `codex exec` reads its key
/// from `CODEX_API_KEY` and calls `POST /v1/responses` (streamed) on api.openai.com.
pub const CODEX: Agent =
    Agent { registry: Registry::Npm, name: "@openai/codex", version: "0.171.0", bin: "codex" };

/// Gemini CLI: a Node.js program. It calls `streamGenerateContent` on
/// generativelanguage.googleapis.com with the key in `x-goog-api-key`.
pub const GEMINI_CLI: Agent =
    Agent { registry: Registry::Npm, name: "@google/gemini-cli", version: "0.61.0", bin: "gemini" };

/// aider: a Python program (through litellm) calling Chat Completions on api.openai.com.
pub const AIDER: Agent =
    Agent { registry: Registry::PyPi, name: "aider-chat", version: "0.86.2", bin: "aider" };

/// The interpreter a virtual environment is made from: the system's, which every user can run.
/// A per-user Python (pyenv, under root's home) would leave the fenced agent's uid with a venv
/// whose interpreter it cannot reach.
const SYSTEM_PYTHON: &str = "/usr/bin/python3";

/// The longest an install may take before the test fails; the registry clients are also told
/// to give up on an unreachable registry well before it.
const INSTALL_BOUND: Duration = Duration::from_secs(600);

static INSTALL: Mutex<()> = Mutex::new(());

/// The `claude` executable under `cache` (e.g. `<target>/agents/claude-code`).
pub fn claude_code(cache: &Path) -> Result<PathBuf, String> {
    install(&CLAUDE_CODE, cache)
}

impl Agent {
    /// The directory name its install is cached under: the package name without its scope.
    pub fn dir(&self) -> &'static str {
        self.name.rsplit('/').next().unwrap_or(self.name)
    }
}

/// `agent`'s executable under `cache`, installed when it is not there yet at the pinned
/// version. Err says why it could not be had, and what to do.
pub fn install(agent: &Agent, cache: &Path) -> Result<PathBuf, String> {
    let _once = INSTALL.lock().unwrap_or_else(|p| p.into_inner());
    let bin = match agent.registry {
        Registry::Npm => cache.join("node_modules/.bin").join(agent.bin),
        Registry::PyPi => cache.join("bin").join(agent.bin),
    };
    if works(agent, &bin) {
        return Ok(bin);
    }
    std::fs::create_dir_all(cache).map_err(|e| format!("{}: {e}", cache.display()))?;
    // Beside the install, not in it: `venv --clear` empties the directory, and a lock file
    // removed under its holder lets another test process take a new one and clear the venv
    // while pip is installing into it.
    let _lock = lock(&cache.with_extension("lock"))?;
    if works(agent, &bin) {
        return Ok(bin);
    }
    let spec = match agent.registry {
        Registry::Npm => format!("{}@{}", agent.name, agent.version),
        Registry::PyPi => format!("{}=={}", agent.name, agent.version),
    };
    let steps: Vec<Command> = match agent.registry {
        Registry::Npm => {
            let mut npm = Command::new("npm");
            // Two tries of 30 s each per request: an unreachable registry fails in about a minute.
            npm.args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
                .args(["--fetch-timeout=30000", "--fetch-retries=1", "--prefix"])
                .arg(cache)
                .arg(&spec);
            vec![npm]
        }
        Registry::PyPi => {
            let mut venv = Command::new(SYSTEM_PYTHON);
            venv.args(["-m", "venv", "--clear"]).arg(cache);
            let mut pip = Command::new(cache.join("bin/pip"));
            pip.args([
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--timeout",
                "30",
                "--retries",
                "1",
            ])
            .arg(&spec);
            vec![venv, pip]
        }
    };
    for mut step in steps {
        let what = format!("{step:?}");
        run_bounded(&mut step, INSTALL_BOUND).map_err(|why| {
            format!(
                "installing {spec} into {} failed: {why}\n(`{what}`; is the registry reachable? \
                 run the test once with network access, later runs reuse the install)",
                cache.display()
            )
        })?;
    }
    if !works(agent, &bin) {
        return Err(format!(
            "{spec} installed into {}, but `{} --version` does not say {}",
            cache.display(),
            bin.display(),
            agent.version
        ));
    }
    Ok(bin)
}

/// Runs `cmd` to completion, killing it past `bound`. Err carries its stderr.
fn run_bounded(cmd: &mut Command, bound: Duration) -> Result<(), String> {
    use std::io::Read;
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("`{program}` could not start ({e}); scripts/install-deps.sh installs it"))?;
    let mut stderr = child.stderr.take().map(|mut s| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = s.read_to_string(&mut text);
            text
        })
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < bound => std::thread::sleep(Duration::from_millis(200)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("`{program}` did not finish within {}s", bound.as_secs()));
            }
            Err(e) => return Err(format!("waiting for `{program}`: {e}")),
        }
    };
    let text = stderr.take().and_then(|t| t.join().ok()).unwrap_or_default();
    if status.success() { Ok(()) } else { Err(format!("`{program}` {status}: {}", text.trim())) }
}

/// An exclusive `flock` on `path`, held until the file is dropped.
fn lock(path: &Path) -> Result<std::fs::File, String> {
    use std::os::fd::AsRawFd;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    // SAFETY: flock on a descriptor this function owns.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(format!("locking {}: {}", path.display(), std::io::Error::last_os_error()));
    }
    Ok(file)
}

/// Whether `bin` runs and reports the pinned version, so a changed pin reinstalls (and a venv
/// made from another interpreter than [`SYSTEM_PYTHON`] is made again).
fn works(agent: &Agent, bin: &Path) -> bool {
    let venv_home = bin.parent().and_then(Path::parent).map(|venv| venv.join("pyvenv.cfg"));
    let system_venv = || {
        venv_home.as_ref().and_then(|cfg| std::fs::read_to_string(cfg).ok()).is_some_and(|cfg| {
            let home = Path::new(SYSTEM_PYTHON).parent().map(|d| d.display().to_string()).unwrap_or_default();
            cfg.lines().any(|l| l.replace(' ', "") == format!("home={home}"))
        })
    };
    if agent.registry == Registry::PyPi && !system_venv() {
        return false;
    }
    Command::new(bin)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains(agent.version))
}
