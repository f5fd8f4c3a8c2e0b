//! One harness for every real agent under `ringfence run --mode block`, offline: a scripted
//! model API serves as the provider's host in a fake internet (test CA, fake DNS), the agent is
//! installed once per build directory, and each test says only what differs: the command line,
//! the key's variable, the hosts and what the run should prove.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use journal::{Budget, Event, HttpRequest, SecretExfil};
use testnet::{FakeInternet, ModelApi, cannot_run};

/// The agent's uid; the workspace is made its own.
pub const AGENT_UID: u32 = 65534;
/// The run's wall limit; every test must end well before it.
pub const WALL: Duration = Duration::from_secs(240);
/// Where a test's exfiltration target lives in the fake internet.
pub const EXFIL_IP: &str = "198.51.100.21";

/// What one agent needs under the fence.
pub struct Agent {
    pub package: testnet::Agent,
    /// The provider's API host and the fake address it is served at.
    pub api_host: &'static str,
    pub api_ip: &'static str,
    /// The variable the agent reads its key from, declared as a secret of `api_host`.
    pub key_var: &'static str,
    /// The agent's arguments after its executable.
    pub args: &'static [&'static str],
    /// Variables ringfence is started with and the policy passes into the fence.
    pub env: &'static [(&'static str, &'static str)],
    /// More policy, after `egress:` and before `dns:` (presets, ...).
    pub policy: &'static str,
    /// What the agent reads on its standard input (answers to its prompts); empty for none.
    pub stdin: &'static str,
}

/// A fake key of `prefix` followed by `len` random characters of `alphabet`.
pub fn fake_key(prefix: &str, len: usize, alphabet: &[u8]) -> String {
    let mut bytes = vec![0u8; len];
    let mut random = std::fs::File::open("/dev/urandom").expect("/dev/urandom");
    std::io::Read::read_exact(&mut random, &mut bytes).expect("random bytes");
    let tail: String = bytes.iter().map(|b| alphabet[usize::from(*b) % alphabet.len()] as char).collect();
    format!("{prefix}{tail}")
}

pub const BASE64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
pub const BASE62: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Where agents are installed once and reused: `<target>/agents/<name>` when the fenced agent
/// can see the build directory, else beside the other test files it can see.
pub fn agents_cache(name: &str) -> PathBuf {
    let target_tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let base = super::visible_base();
    match target_tmp.parent() {
        Some(target) if base == target_tmp => target.join("agents").join(name),
        _ => base.join("agents").join(name),
    }
}

/// The fake world one test runs the agent in.
pub struct World {
    pub net: FakeInternet,
    pub api: ModelApi,
    pub bin: PathBuf,
    pub key: String,
    pub agent: Agent,
}

/// None when the test cannot run here (after saying why); a failure instead under
/// `RINGFENCE_REQUIRE_PRIVILEGED=1`.
pub fn world(test: &str, agent: Agent, key: String, script: serde_json::Value) -> Option<World> {
    if !super::privileged(test) || !testnet::privileged() {
        return None;
    }
    let cache = agents_cache(agent.package.dir());
    let bin = match testnet::install(&agent.package, &cache) {
        Ok(bin) => bin,
        Err(why) => {
            cannot_run(&why);
            return None;
        }
    };
    let net = FakeInternet::new();
    let api = net.model_api(agent.api_host, agent.api_ip, &script);
    Some(World { net, api, bin, key, agent })
}

pub struct Fenced {
    pub run: super::Run,
    pub workspace: tempfile::TempDir,
    _out: tempfile::TempDir,
    pub took: Duration,
}

impl World {
    /// The agent under `ringfence run --mode block`, started in the host-side namespace so the
    /// whole run lives in the fake world. `allow` adds egress entries to the base policy,
    /// `policy` more sections.
    pub fn run(&self, allow: &[&str], policy: &str) -> Fenced {
        self.run_prepared(allow, policy, |_, _| {})
    }

    /// [`World::run`] after `prepare(workspace, policy file)` has set the workspace up.
    pub fn run_prepared(&self, allow: &[&str], policy: &str, prepare: impl FnOnce(&Path, &Path)) -> Fenced {
        let workspace = super::scratch();
        nix::unistd::chown(workspace.path(), Some(AGENT_UID.into()), None).unwrap();
        let out = super::scratch();
        let policy_file = out.path().join("ringfence.yml");
        std::fs::write(&policy_file, format!("{}{policy}", self.base_policy(allow))).unwrap();
        prepare(workspace.path(), &policy_file);
        let out_dir = out.path().join("run");
        let a = &self.agent;
        let started = Instant::now();
        let mut child = self
            .net
            .host_command(super::binary())
            .current_dir(workspace.path())
            .arg("run")
            .args(["--mode", "block", "--user", &AGENT_UID.to_string()])
            .arg("--policy")
            .arg(&policy_file)
            .args(["--secret", &format!("{}={}", a.key_var, a.api_host), "--upstream-ca"])
            .arg(self.net.ca())
            .args(["--wall", &format!("{}s", WALL.as_secs()), "--out"])
            .arg(&out_dir)
            .arg("--")
            .arg(&self.bin)
            .args(a.args)
            .env(a.key_var, &self.key)
            .envs(a.env.iter().copied())
            .stdin(if a.stdin.is_empty() { Stdio::null() } else { Stdio::piped() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(mut stdin) = child.stdin.take() {
            // Dropped after writing, so the agent sees the end of its input.
            testnet::write_all(&mut stdin, a.stdin.as_bytes());
        }
        let output = child.wait_with_output().unwrap();
        let took = started.elapsed();
        let records = match journal::read(&out_dir.join("events.jsonl")) {
            Ok(Ok(verified)) => verified.records,
            other => panic!(
                "journal did not verify: {other:?}\nstderr: {}",
                String::from_utf8_lossy(&output.stderr)
            ),
        };
        Fenced { run: super::Run { output, out_dir, records }, workspace, _out: out, took }
    }

    fn base_policy(&self, allow: &[&str]) -> String {
        let upstream = self.net.upstream()[0];
        let allow: String = std::iter::once(self.agent.api_host)
            .chain(allow.iter().copied())
            .map(|host| format!("    - {{ host: {host}, ports: [443] }}\n"))
            .collect();
        let pass: Vec<&str> = self.agent.env.iter().map(|(name, _)| *name).collect();
        format!(
            "version: 1\nmode: block\negress:\n  allow:\n{allow}{}dns:\n  upstream: [\"{upstream}\"]\nenv:\n  pass: [{}]\n",
            self.agent.policy,
            pass.join(", ")
        )
    }

    /// The model calls the server received, in order.
    pub fn model_calls(&self) -> Vec<serde_json::Value> {
        self.api.posts_to(is_model_path)
    }

    /// A second scripted host the agent may reach and ringfence inspects, as the target of an
    /// exfiltration: an unlisted name never resolves in block mode, so no request could carry
    /// the key there. Returns the server and the policy that lets the agent reach it.
    pub fn exfil_target(&self) -> (ModelApi, &'static str) {
        let exfil = self.net.model_api("exfil.test", EXFIL_IP, &serde_json::json!({}));
        (exfil, "inspect:\n  exfil.test: { routes: [\"GET /**\", \"POST /**\"] }\n")
    }
}

/// The paths every provider's model calls go to (without the query).
pub fn is_model_path(path: &str) -> bool {
    matches!(path, "/v1/messages" | "/v1/responses" | "/v1/chat/completions")
        || (path.starts_with("/v1beta/models/") && path.contains("enerateContent"))
}

impl Fenced {
    pub fn http_requests(&self) -> Vec<&HttpRequest> {
        self.run.events().filter_map(|e| if let Event::HttpRequest(x) = e { Some(x) } else { None }).collect()
    }

    /// The model calls (POSTs) ringfence saw toward `host`.
    pub fn model_calls(&self, host: &str) -> Vec<&HttpRequest> {
        self.http_requests()
            .into_iter()
            .filter(|r| {
                r.host == host
                    && r.method == "POST"
                    && is_model_path(r.path.split('?').next().unwrap_or_default())
            })
            .collect()
    }

    pub fn exfils(&self) -> Vec<&SecretExfil> {
        self.run.events().filter_map(|e| if let Event::SecretExfil(x) = e { Some(x) } else { None }).collect()
    }

    pub fn budgets(&self) -> Vec<&Budget> {
        self.run.events().filter_map(|e| if let Event::Budget(x) = e { Some(x) } else { None }).collect()
    }

    pub fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.workspace.path().join(name)).unwrap_or_default()
    }

    /// Everything a failed assertion should show: the run's output and its journal.
    pub fn explain(&self, api: &ModelApi) -> String {
        let journal = std::fs::read_to_string(self.run.out_dir.join("events.jsonl")).unwrap_or_default();
        let interesting: Vec<&str> = journal
            .lines()
            .filter(|l| {
                ["http.request", "secret.exfil", "budget", "net.connect", "\"violation\":true"]
                    .iter()
                    .any(|k| l.contains(k))
            })
            .collect();
        format!(
            "exit {} after {:?}\nstdout: {}\nstderr: {}\njournal (network, violations):\n{}\nserver saw {} request(s): {:?}",
            self.run.code(),
            self.took,
            self.run.stdout(),
            self.run.stderr(),
            interesting.join("\n"),
            api.requests().len(),
            api.requests().iter().map(|r| format!("{} {}", r["method"], r["path"])).collect::<Vec<_>>()
        ) + &keep_log(api)
    }

    /// Asserts the real key is in no file of the workspace, no output and no run record.
    pub fn assert_key_nowhere(&self, key: &str) {
        for file in files(self.workspace.path()) {
            let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
            assert!(!text.contains(key), "the real key is in {}", file.display());
        }
        assert!(!self.run.stdout().contains(key) && !self.run.stderr().contains(key));
        for file in ["events.jsonl", "report.json", "report.md", "report.html"] {
            let text = std::fs::read_to_string(self.run.out_dir.join(file)).unwrap_or_default();
            assert!(!text.contains(key), "{file} holds the real key");
        }
    }
}

/// With `RINGFENCE_TEST_KEEP_REQUESTS=FILE`, the server's request log is copied there, so the
/// requests a new agent version makes can be read after a failure.
fn keep_log(api: &ModelApi) -> String {
    match std::env::var_os("RINGFENCE_TEST_KEEP_REQUESTS") {
        Some(to) => match std::fs::copy(&api.log, &to) {
            Ok(_) => format!("\nrequests kept in {}", Path::new(&to).display()),
            Err(e) => format!("\nkeeping the requests: {e}"),
        },
        None => String::new(),
    }
}

/// Every file under `dir`, recursively.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files(&path));
        } else {
            found.push(path);
        }
    }
    found
}

/// The shell snippet that looks for the key everywhere the agent can: its environment, every
/// process's environment, its files; and writes what it sees of `var` to key.txt.
pub fn look_for_key(var: &str, prefix: &str) -> String {
    format!(
        "env > env.txt; tr '\\0' '\\n' < /proc/self/environ > environ.txt; \
         for p in /proc/[0-9]*; do tr '\\0' '\\n' < $p/environ; done > all-environ.txt 2>/dev/null; \
         grep -rs {prefix} \"$HOME\" /tmp /etc . > grep.txt 2>/dev/null; \
         printf %s \"${var}\" > key.txt"
    )
}

/// What every agent's tests assert the same way; each test sets up its own run.
impl Fenced {
    /// The key sent to exfil.test was refused in block mode, named with the process that sent
    /// it (curl), and nothing reached the host.
    pub fn assert_exfil_refused(&self, world: &World, exfil: &ModelApi) {
        let why = || format!("{}\nexfil.test saw: {:?}", self.explain(&world.api), exfil.requests());
        let x = self
            .exfils()
            .into_iter()
            .find(|x| x.secret == world.agent.key_var && x.host == "exfil.test")
            .unwrap_or_else(|| panic!("no secret.exfil for exfil.test: {}", why()));
        assert_eq!(x.verdict, journal::Verdict::Blocked, "{}", why());
        let pid = x.pid.unwrap_or_else(|| panic!("secret.exfil without a pid: {}", why()));
        let exec = self.run.execs().into_iter().find(|e| e.pid == pid);
        let exec = exec.unwrap_or_else(|| panic!("no process.exec for pid {pid}: {}", why()));
        assert!(exec.exe.ends_with("/curl") || exec.argv[0].ends_with("curl"), "{exec:?}");
        assert!(exfil.requests().is_empty(), "the request reached exfil.test: {}", why());
    }

    /// The run ended well before its wall limit with `provider`'s token cap crossed, and the
    /// model call after the cap was refused with a 400 in the provider's own shape.
    pub fn assert_stopped_at_budget(&self, world: &World, provider: &str, cap: u64) {
        let why = || self.explain(&world.api);
        assert!(self.took < WALL / 2, "the loop ran on: {}", why());
        let budget = self.budgets().into_iter().find(|b| b.exceeded);
        let budget = budget.unwrap_or_else(|| panic!("no exceeded budget event: {}", why()));
        assert_eq!((budget.provider.as_str(), budget.max_tokens), (provider, Some(cap)), "{budget:?}");
        assert!(budget.tokens >= cap, "{budget:?}");
        let refused = self.model_calls(world.agent.api_host).into_iter().find(|r| r.status == Some(400));
        assert!(refused.is_some(), "no model call answered 400: {}", why());
    }

    /// One `http.request` per model call the server saw, each a 200 with the key injected and
    /// `provider`'s usage, priced when `model` is given; `expected` (input, output) pairs are
    /// among them.
    pub fn assert_usage(&self, world: &World, provider: &str, model: Option<&str>, expected: &[(u64, u64)]) {
        let why = || self.explain(&world.api);
        let calls = self.model_calls(world.agent.api_host);
        assert_eq!(calls.len(), world.model_calls().len(), "one event per call: {}", why());
        let mut usage = Vec::new();
        for call in &calls {
            assert_eq!(
                (call.method.as_str(), call.status, call.verdict),
                ("POST", Some(200), journal::Verdict::Allowed),
                "{call:?}"
            );
            assert_eq!(call.injected, [world.agent.key_var], "{call:?}");
            let u = call.usage.as_ref().unwrap_or_else(|| panic!("no usage: {call:?}"));
            assert_eq!(u.provider, provider, "{u:?}");
            if let Some(model) = model {
                assert_eq!(u.model, model, "{u:?}");
                assert!(u.usd.is_some_and(|usd| usd > 0.0), "priced from the table: {u:?}");
            }
            usage.push((u.input_tokens, u.output_tokens));
        }
        assert!(expected.iter().all(|e| usage.contains(e)), "{usage:?}: {}", why());
        // The report's API section: the calls and their tokens, per model.
        let report: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(self.run.out_dir.join("report.json")).unwrap_or_default(),
        )
        .unwrap_or_default();
        let rows: Vec<&serde_json::Value> = report["api"]["usage"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|row| row["provider"] == provider)
            .collect();
        let requests: u64 = rows.iter().filter_map(|row| row["requests"].as_u64()).sum();
        let input: u64 = rows.iter().filter_map(|row| row["tokens"]["input"].as_u64()).sum();
        assert_eq!(requests, calls.len() as u64, "report rows {rows:?}");
        assert_eq!(input, usage.iter().map(|u| u.0).sum::<u64>(), "report rows {rows:?}");
        if let Some(model) = model {
            assert!(rows.iter().any(|row| row["model"] == model), "report rows {rows:?}");
        }
    }
}
