//! A fake internet for ringfence's privileged tests, built from network namespaces the test
//! creates and tears down: a "host" namespace (where ringfence's runtime and upstream
//! connections live, so the real host's network is never touched) joined by a veth pair to an
//! "internet" namespace holding a DNS server and HTTP/HTTPS servers at documentation addresses.
//!
//! Dev-only: the netfence tests and the CLI's end-to-end tests share this one copy. Test
//! helpers panic on failure, as a test would.

mod agents;
mod certs;
mod client;
mod dns;
mod internet;
mod model_api;
mod web;

use std::io::Write;
use std::process::{Command, Output};
use std::sync::Mutex;

pub use agents::{AIDER, Agent, CLAUDE_CODE, CODEX, GEMINI_CLI, Registry, claude_code, install};
pub use client::{TestCgroup, run_in};
pub use dns::txt_for;
pub use internet::{Daemon, FakeInternet, on_host_side};
pub use model_api::ModelApi;

pub const HOST_SIDE: &str = "198.51.100.1";
pub const DNS: &str = "198.51.100.53";
pub const ALLOWED_IP: &str = "198.51.100.10";
pub const OTHER_IP: &str = "198.51.100.11";
pub const PRIVATE_IP: &str = "10.233.0.5";
pub const METADATA_IP: &str = "169.254.169.254";

/// Names the fake DNS server knows from the start; [`FakeInternet::add_name`] adds more.
pub fn zone() -> Vec<(&'static str, &'static str)> {
    vec![
        ("allowed.test", ALLOWED_IP),
        ("other.test", OTHER_IP),
        ("denied.test", OTHER_IP),
        ("a.wild.test", ALLOWED_IP),
        ("private.test", PRIVATE_IP),
        ("metadata.test", METADATA_IP),
    ]
}

/// Whether privileged tests may run under `RINGFENCE_REQUIRE_PRIVILEGED=1`, where a missing
/// prerequisite fails the test instead of skipping it.
pub fn required() -> bool {
    std::env::var("RINGFENCE_REQUIRE_PRIVILEGED").as_deref() == Ok("1")
}

/// Skips (false, after saying why) or, under `RINGFENCE_REQUIRE_PRIVILEGED=1`, fails.
pub fn cannot_run(why: &str) -> bool {
    if required() {
        panic!("privileged test cannot run: {why}");
    }
    eprintln!("skipping privileged test: {why}");
    false
}

/// Returns false (after saying why) when the test cannot run here; panics instead when
/// `RINGFENCE_REQUIRE_PRIVILEGED=1`.
pub fn privileged() -> bool {
    if !nix::unistd::Uid::effective().is_root() {
        return cannot_run("needs root (network namespaces, nftables)");
    }
    let missing = ["ip", "nft", "curl", "dig", "openssl", "python3"].into_iter().find(|tool| {
        Command::new(tool).arg("-V").output().is_err() && Command::new(tool).arg("version").output().is_err()
    });
    match missing {
        Some(tool) => cannot_run(&format!("needs `{tool}` on PATH")),
        None => true,
    }
}

/// Privileged tests share fixed test addresses, so they run one at a time.
pub static SERIAL: Mutex<()> = Mutex::new(());

/// Whether the extra tools a test needs are installed: false (after saying so) when not,
/// a panic instead when `RINGFENCE_REQUIRE_PRIVILEGED=1`.
pub fn have(tools: &[&str]) -> bool {
    match tools.iter().find(|t| Command::new(t).arg("--version").output().is_err()) {
        Some(tool) => cannot_run(&format!("needs `{tool}` on PATH")),
        None => true,
    }
}

/// Runs a setup command on the test machine, failing the test if it fails.
pub fn setup(args: &[&str]) -> String {
    let out = Command::new(args[0]).args(&args[1..]).output().expect("spawn");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn write_all(mut w: impl Write, data: &[u8]) {
    w.write_all(data).expect("write");
}
