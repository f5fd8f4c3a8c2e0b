//! A scripted model API in the fake internet, so a real agent can run offline: the script
//! (`model_api.py`) decides each answer in the wire format the request's path names (Anthropic
//! Messages, OpenAI Responses and Chat Completions, Gemini `generateContent`), and every request
//! it received is logged for the test to read.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Stdio};

use crate::FakeInternet;

const SERVER: &str = include_str!("model_api.py");

/// The running server; stopped when dropped.
pub struct ModelApi {
    child: Child,
    /// One JSON line per request received: method, path, headers (lower-case names), body.
    pub log: PathBuf,
}

impl FakeInternet {
    /// Serves the model APIs as `name` at `ip` (added to the fake DNS, with a test-CA
    /// certificate for the name and the address) on :443, answering as `script` says; see
    /// `model_api.py` for the script's shape.
    pub fn model_api(&self, name: &str, ip: &str, script: &serde_json::Value) -> ModelApi {
        self.add_name(name, ip);
        let (cert, key) = self.leaf(&[name, ip]);
        let script_file = self.dir.path().join(format!("{name}.script.json"));
        std::fs::write(&script_file, script.to_string()).expect("write script");
        let log = self.dir.path().join(format!("{name}.requests.jsonl"));
        std::fs::write(&log, "").expect("create request log");
        let mut child = self
            .internet_command("python3")
            .arg("-c")
            .arg(SERVER)
            .args([ip.as_ref(), cert.as_os_str(), key.as_os_str(), script_file.as_os_str(), log.as_os_str()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the model API server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("ready line");
        assert_eq!(line.trim(), "ready", "model API server for {name} did not start");
        ModelApi { child, log }
    }
}

impl ModelApi {
    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .expect("request log")
            .lines()
            .map(|l| serde_json::from_str(l).expect("request log line"))
            .collect()
    }

    /// The `POST /v1/messages` requests received so far (Claude Code adds `?beta=true`).
    pub fn messages(&self) -> Vec<serde_json::Value> {
        self.posts_to(|path| path == "/v1/messages")
    }

    /// The `POST` requests received so far whose path (without the query) `is_model_call` takes.
    pub fn posts_to(&self, is_model_call: impl Fn(&str) -> bool) -> Vec<serde_json::Value> {
        let wanted = |r: &serde_json::Value| {
            r["method"] == "POST"
                && r["path"].as_str().is_some_and(|p| is_model_call(p.split('?').next().unwrap_or(p)))
        };
        self.requests().into_iter().filter(wanted).collect()
    }
}

impl Drop for ModelApi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
