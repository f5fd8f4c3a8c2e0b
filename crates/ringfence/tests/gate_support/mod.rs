//! A fake GitHub REST API on loopback, and a way to run `ringfence gate` as Actions would.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const TOKEN: &str = "ghs_fakeTokenValue0123456789abcdefXYZ";
pub const REPO: &str = "octo-org/hello-world";

/// How the fake answers.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    Normal = 0,
    /// 500 to everything.
    Fail = 1,
    /// Accepts the connection, never answers.
    Hang = 2,
    /// 401 to everything, as for a revoked token.
    Unauthorized = 3,
    /// 403, as for a token without the permission to read collaborators.
    Forbidden = 4,
}

pub struct FakeGithub {
    pub url: String,
    mode: Arc<AtomicU8>,
    pub requests: Arc<AtomicUsize>,
    pub paths: Arc<Mutex<Vec<String>>>,
    /// Answers are held until this many requests have arrived, so gates reach the store together.
    hold: Arc<AtomicUsize>,
}

impl FakeGithub {
    pub fn start() -> FakeGithub {
        Self::start_with(None)
    }

    /// Serves HTTPS with a certificate from `ca` for localhost, as a GitHub Enterprise Server
    /// with a private CA would.
    pub fn start_tls(ca: &Arc<netfence::tls::RunCa>) -> FakeGithub {
        Self::start_with(Some(ca.server_config()))
    }

    fn start_with(tls: Option<Arc<rustls::ServerConfig>>) -> FakeGithub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        // TLS by name (the certificate is made for the name the client sends in SNI).
        let url = match tls {
            Some(_) => format!("https://localhost:{port}/api/v3"),
            None => format!("http://127.0.0.1:{port}/api/v3"),
        };
        let mode = Arc::new(AtomicU8::new(Mode::Normal as u8));
        let requests = Arc::new(AtomicUsize::new(0));
        let paths = Arc::new(Mutex::new(Vec::new()));
        let hold = Arc::new(AtomicUsize::new(0));
        let (m, r, p, h) = (mode.clone(), requests.clone(), paths.clone(), hold.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (m, r, p, h, tls) = (m.clone(), r.clone(), p.clone(), h.clone(), tls.clone());
                std::thread::spawn(move || match tls {
                    None => serve(stream, &m, &r, &p, &h),
                    Some(config) => {
                        let Ok(conn) = rustls::ServerConnection::new(config) else { return };
                        serve(rustls::StreamOwned::new(conn, stream), &m, &r, &p, &h);
                    }
                });
            }
        });
        FakeGithub { url, mode, requests, paths, hold }
    }

    /// Holds every answer until `total` requests (counted since start) have arrived.
    pub fn hold_until(&self, total: usize) {
        self.hold.store(total, Ordering::SeqCst);
    }

    pub fn set(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
    }
}

/// The role each login has on the fake repository; everyone else gets 404.
fn role(login: &str) -> Option<(&'static str, &'static str)> {
    Some(match login {
        "octo-owner" => ("admin", "admin"),
        "maintainer-mo" => ("write", "maintain"),
        "member-writer" => ("write", "write"),
        "triager-tia" => ("read", "triage"),
        "reader-rae" => ("read", "read"),
        _ => return None,
    })
}

fn serve<S: Read + Write>(
    mut stream: S,
    mode: &AtomicU8,
    requests: &AtomicUsize,
    paths: &Mutex<Vec<String>>,
    hold: &AtomicUsize,
) {
    // The request head, up to the blank line (GETs have no body).
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.lines();
    let line = lines.next().unwrap_or("").to_string();
    let auth = lines
        .find(|h| h.to_ascii_lowercase().starts_with("authorization:"))
        .map(|h| h["authorization:".len()..].trim().to_string())
        .unwrap_or_default();
    requests.fetch_add(1, Ordering::SeqCst);
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    paths.lock().unwrap().push(path.clone());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while requests.load(Ordering::SeqCst) < hold.load(Ordering::SeqCst)
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(1));
    }
    let mode = mode.load(Ordering::SeqCst);
    if mode == Mode::Hang as u8 {
        std::thread::sleep(Duration::from_secs(30));
        return;
    }
    let (status, body) = if mode == Mode::Fail as u8 {
        ("500 Internal Server Error", r#"{"message":"Server Error"}"#.to_string())
    } else if mode == Mode::Forbidden as u8 {
        ("403 Forbidden", r#"{"message":"Resource not accessible by integration"}"#.to_string())
    } else if mode == Mode::Unauthorized as u8 || auth != format!("Bearer {TOKEN}") {
        ("401 Unauthorized", r#"{"message":"Bad credentials"}"#.to_string())
    } else {
        // Served under /api/v3, as GitHub Enterprise Server does.
        let prefix = format!("/api/v3/repos/{REPO}/collaborators/");
        match path.strip_prefix(&prefix).and_then(|rest| rest.strip_suffix("/permission")).and_then(role) {
            Some((permission, role_name)) => (
                "200 OK",
                format!(
                    r#"{{"permission":"{permission}","role_name":"{role_name}","user":{{"login":"x"}}}}"#
                ),
            ),
            None => ("404 Not Found", r#"{"message":"Not Found"}"#.to_string()),
        }
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gate").join(format!("{name}.json"))
}

/// A working directory with a ringfence.yml and empty output files.
pub struct Job {
    pub dir: tempfile::TempDir,
}

pub struct Gated {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub output: String,
    pub summary: String,
}

impl Gated {
    pub fn output(&self, key: &str) -> Option<String> {
        let prefix = format!("{key}=");
        self.output.lines().rev().find_map(|l| l.strip_prefix(&prefix)).map(str::to_string)
    }

    pub fn allowed(&self) -> bool {
        self.output("allowed").as_deref() == Some("true")
    }
}

impl std::fmt::Debug for Gated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\nstdout: {}\nstderr: {}\noutput: {}",
            self.code, self.stdout, self.stderr, self.output
        )
    }
}

pub const POLICY: &str = "version: 1
gate:
  roles: [admin, maintain, write]
  users: [\"release-helper[bot]\"]
  budget:
    per_actor_daily_runs: 3
  store: \"sqlite:state/gate.db\"
  timeout: 5s
";

impl Job {
    pub fn new(policy: &str) -> Job {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ringfence.yml"), policy).unwrap();
        Job { dir }
    }

    pub fn command(
        &self,
        event: &str,
        payload: &Path,
        api: &str,
        run_id: &str,
        extra: &[(&str, &str)],
    ) -> std::process::Command {
        let n = run_id;
        // RINGFENCE_GATE_BIN measures another build (the release binary) with the same harness.
        let bin =
            std::env::var("RINGFENCE_GATE_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_ringfence").into());
        let mut cmd = std::process::Command::new(bin);
        cmd.arg("gate").current_dir(self.dir.path()).env_clear().env("PATH", "/usr/bin:/bin");
        let output = self.dir.path().join(format!("output-{n}"));
        let summary = self.dir.path().join(format!("summary-{n}"));
        for (k, v) in [
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_EVENT_NAME", event),
            ("GITHUB_EVENT_PATH", payload.to_str().unwrap()),
            ("GITHUB_ACTOR", "octo-owner"),
            ("GITHUB_TRIGGERING_ACTOR", "octo-owner"),
            ("GITHUB_REPOSITORY", REPO),
            ("GITHUB_RUN_ID", run_id),
            ("GITHUB_RUN_ATTEMPT", "1"),
            ("GITHUB_API_URL", api),
            ("GITHUB_TOKEN", TOKEN),
            ("GITHUB_OUTPUT", output.to_str().unwrap()),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
        ] {
            cmd.env(k, v);
        }
        for (k, v) in extra {
            if v.is_empty() {
                cmd.env_remove(k);
            } else {
                cmd.env(k, v);
            }
        }
        cmd
    }

    pub fn finish(&self, run_id: &str, out: std::process::Output) -> Gated {
        let read = |name: String| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        Gated {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            output: read(format!("output-{run_id}")),
            summary: read(format!("summary-{run_id}")),
        }
    }

    pub fn gate(
        &self,
        event: &str,
        payload: &Path,
        api: &str,
        run_id: &str,
        extra: &[(&str, &str)],
    ) -> Gated {
        let out = self.command(event, payload, api, run_id, extra).output().unwrap();
        let gated = self.finish(run_id, out);
        // Wherever the gate ended, the token it was given appears in nothing it wrote.
        for text in [&gated.stdout, &gated.stderr, &gated.output, &gated.summary] {
            assert!(!text.contains(TOKEN), "token leaked: {gated:?}");
        }
        gated
    }
}

/// A run's journal with one metered model call costing `usd`, written by ringfence's own writer.
pub fn journal_with_spend(dir: &std::path::Path, usd: f64) {
    std::fs::create_dir_all(dir).unwrap();
    let mut writer = journal::JournalWriter::create(&dir.join("events.jsonl")).unwrap();
    let event: journal::Event = serde_json::from_value(serde_json::json!({
        "kind": "http.request", "pid": 42, "host": "api.anthropic.com", "port": 443, "method": "POST",
        "path": "/v1/messages", "status": 200, "verdict": "allowed", "rule": "allow api.anthropic.com:443",
        "violation": false, "reason": null, "bytes_up": 1000, "bytes_down": 2000, "duration_ms": 900,
        "usage": { "provider": "anthropic", "model": "claude-sonnet-4-5", "input_tokens": 1000,
                   "output_tokens": 500, "usd": usd, "prices": "test" }
    }))
    .unwrap();
    writer.append(event).unwrap();
}
