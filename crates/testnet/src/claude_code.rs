//! The real Claude Code, installed from npm once per build directory so the end-to-end tests
//! drive the agent users run. What it needs to run offline against [`crate::ModelApi`]:
//! - `ANTHROPIC_API_KEY` (API-key auth; in `-p` mode it asks nothing) and `ANTHROPIC_BASE_URL`
//!   or the name `api.anthropic.com` resolving to the scripted server;
//! - trust in the test CA through `NODE_EXTRA_CA_CERTS` (the binary honours it);
//! - a writable `HOME` (it writes `~/.claude.json` and `~/.claude/`);
//! - `DISABLE_AUTOUPDATER=1`, `DISABLE_TELEMETRY=1`, `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1`
//!   so nothing but the Messages API is called;
//! - as root it refuses `--dangerously-skip-permissions`: `--allowedTools Bash` instead.
//!
//! With those it calls (2.1.x) only `HEAD /` (a connection warm-up) and
//! `POST /v1/messages?beta=true`, streamed, with `tools`, one per turn. The npm package is a
//! native executable (no Node.js needed to run it; npm only to install it).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// The npm package and the major version the tests were written against.
pub const CLAUDE_CODE_PACKAGE: &str = "@anthropic-ai/claude-code@2";

static INSTALL: Mutex<()> = Mutex::new(());

/// The `claude` executable under `cache` (e.g. `<target>/agents/claude-code`), installed with
/// npm when it is not there yet. Err says why it could not be had, and what to do.
pub fn claude_code(cache: &Path) -> Result<PathBuf, String> {
    let _once = INSTALL.lock().unwrap_or_else(|p| p.into_inner());
    let bin = cache.join("node_modules/.bin/claude");
    if works(&bin) {
        return Ok(bin);
    }
    if Command::new("npm").arg("--version").output().is_err() {
        return Err("needs `npm` on PATH (scripts/install-deps.sh installs nodejs and npm)".into());
    }
    std::fs::create_dir_all(cache).map_err(|e| format!("{}: {e}", cache.display()))?;
    // Test runners that start one process per test (nextest) install from several processes at
    // once; npm must run once per cache, the others wait for it and reuse its result.
    let _lock = lock(&cache.join(".install.lock"))?;
    if works(&bin) {
        return Ok(bin);
    }
    let out = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix"])
        .arg(cache)
        .arg(CLAUDE_CODE_PACKAGE)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("npm: {e}"))?;
    if !out.status.success() || !works(&bin) {
        return Err(format!(
            "`npm install --prefix {} {CLAUDE_CODE_PACKAGE}` failed (offline? run it once with network \
             access, the tests reuse it): {}",
            cache.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(bin)
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

fn works(bin: &Path) -> bool {
    Command::new(bin).arg("--version").stdin(Stdio::null()).output().is_ok_and(|o| o.status.success())
}
