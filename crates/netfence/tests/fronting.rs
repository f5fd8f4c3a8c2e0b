//! Naming another host inside an allowed connection, for real: the fake internet's web server
//! at allowed.test's address answers for any Host (as a CDN does), so a request that reaches it
//! naming denied.test gets "hello from denied.test". Every request's authority must be checked,
//! not only the first one's: keep-alive, pipelined, absolute-form, no Host then a Host, and
//! inside TLS. Block mode refuses each; audit mode records each with the client's pid. And a
//! secret's real value never goes into plain HTTP. Nothing here talks to a real address.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use journal::{Event, HttpRequest, Mode, NetConnect, SecretExfil, Verdict};
use netfence::tls::{RunCa, UpstreamTls};
use netfence::{InspectConfig, NetConfig, NetFence};
use testnet::*;

const POLICY: &str = "version: 1
egress:
  allow:
    - { host: allowed.test, ports: [80, 443] }
    - { host: plain.test, ports: [80, 443] }
";

/// A GitHub-token-shaped secret for plain.test.
const REAL: &str = "ghs_R3alT0kenValue1234567890abcdefGHIJ";
/// plain.test: a server of the test's own that speaks plain HTTP on 80 and on 443.
const PLAIN_IP: &str = "198.51.100.30";

struct Run {
    fence_ns: std::os::fd::OwnedFd,
    cgroup: TestCgroup,
    fence: Option<NetFence>,
    events: Arc<Mutex<Vec<Event>>>,
    /// The test CA and the run's CA, as the fence's clients trust them.
    bundle: PathBuf,
    sentinel: String,
    _dir: tempfile::TempDir,
}

impl Run {
    /// A fence that terminates TLS by default, as `ringfence run` does when the fence trusts the
    /// run's CA; the one secret belongs to plain.test.
    fn start(net: &FakeInternet, mode: Mode, policy_text: &str, tag: &str) -> Run {
        let fence_ns = sandbox::network::create().expect("fence netns");
        let cgroup = TestCgroup::new(tag);
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        let ca = Arc::new(RunCa::new(tag).expect("run CA"));
        let dir = tempfile::tempdir().expect("tempdir");
        let bundle = dir.path().join("bundle.pem");
        let test_ca = std::fs::read_to_string(net.ca()).expect("test CA");
        std::fs::write(&bundle, test_ca + &ca.pem()).expect("write bundle");
        let vault = inspect::Vault::new(vec![inspect::SecretSpec {
            name: "SECRET_TOKEN".into(),
            value: REAL.into(),
            hosts: vec![policy::HostPattern::parse("plain.test").expect("host")],
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
        Run { fence_ns, cgroup, fence: Some(fence), events, bundle, sentinel, _dir: dir }
    }

    fn run(&self, argv: &[&str]) -> (u32, std::process::Output) {
        run_in(&self.fence_ns, &self.cgroup, argv)
    }

    /// Sends `script`'s byte strings over one connection to `host:port` (Python literals, each
    /// sent after the answer to the one before has begun), and prints everything that came back.
    fn raw(&self, host: &str, port: u16, sends: &[&str]) -> (u32, String) {
        let client = format!(
            "import socket, time\n\
             s = socket.create_connection(('{host}', {port}), timeout=5)\n\
             got = b''\n\
             for chunk in [{}]:\n\
             \x20   s.sendall(chunk)\n\
             \x20   s.settimeout(1.5)\n\
             \x20   try:\n\
             \x20       while True:\n\
             \x20           b = s.recv(65536)\n\
             \x20           if not b: break\n\
             \x20           got += b\n\
             \x20   except socket.timeout:\n\
             \x20       pass\n\
             print(got.decode('latin-1'))\n",
            sends.join(", ")
        );
        let (pid, out) = self.run(&["python3", "-c", &client]);
        assert!(out.status.success(), "client failed: {}", String::from_utf8_lossy(&out.stderr));
        (pid, stdout(&out))
    }

    fn curl(&self, extra: &[&str]) -> (u32, std::process::Output) {
        let bundle = self.bundle.display().to_string();
        let mut argv = vec!["curl", "-sS", "--max-time", "8", "--noproxy", "*", "--cacert", &bundle];
        argv.extend_from_slice(extra);
        self.run(&argv)
    }

    fn stop(&mut self) {
        self.fence.take().expect("running").stop();
    }

    fn requests(&self, pid: u32) -> Vec<HttpRequest> {
        let events = self.events.lock().unwrap();
        events
            .iter()
            .filter_map(|e| match e {
                Event::HttpRequest(r) if r.pid == Some(pid) => Some(r.clone()),
                _ => None,
            })
            .collect()
    }

    fn connects(&self, pid: u32) -> Vec<NetConnect> {
        let events = self.events.lock().unwrap();
        events
            .iter()
            .filter_map(|e| match e {
                Event::NetConnect(c) if c.pid == Some(pid) => Some(c.clone()),
                _ => None,
            })
            .collect()
    }

    fn exfils(&self, pid: u32) -> Vec<SecretExfil> {
        let events = self.events.lock().unwrap();
        events
            .iter()
            .filter_map(|e| match e {
                Event::SecretExfil(x) if x.pid == Some(pid) => Some(x.clone()),
                _ => None,
            })
            .collect()
    }

    /// Waits until `pid` has `n` requests recorded (each is written when its response ends).
    fn wait_requests(&self, pid: u32, n: usize) -> Vec<HttpRequest> {
        for _ in 0..100 {
            if self.requests(pid).len() >= n {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(30));
        }
        let got = self.requests(pid);
        assert!(
            got.len() >= n,
            "{n} requests expected from {pid}; events: {:#?}",
            self.events.lock().unwrap()
        );
        got
    }
}

const FIRST: &str = "b'GET / HTTP/1.1\\r\\nHost: allowed.test\\r\\n\\r\\n'";
const OTHER: &str = "b'GET / HTTP/1.1\\r\\nHost: denied.test\\r\\nConnection: close\\r\\n\\r\\n'";
const PIPELINED: &str = "b'GET / HTTP/1.1\\r\\nHost: allowed.test\\r\\n\\r\\nGET / HTTP/1.1\\r\\nHost: denied.test\\r\\nConnection: close\\r\\n\\r\\n'";
const ABSOLUTE: &str =
    "b'GET http://denied.test/ HTTP/1.1\\r\\nHost: allowed.test\\r\\nConnection: close\\r\\n\\r\\n'";
const NO_HOST: &str = "b'GET / HTTP/1.1\\r\\n\\r\\n'";

/// The four ways to name another host on one plain-HTTP connection to allowed.test.
fn plain_attacks() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("keep-alive", vec![FIRST, OTHER]),
        ("pipelined", vec![PIPELINED]),
        ("absolute-form", vec![ABSOLUTE]),
        ("no Host, then a Host", vec![NO_HOST, OTHER]),
    ]
}

#[test]
fn every_plain_http_request_on_a_connection_is_checked() {
    if !privileged() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let net = FakeInternet::new();
    let mut run = Run::start(&net, Mode::Block, POLICY, "front-plain");
    for (attack, sends) in plain_attacks() {
        let (pid, got) = run.raw("allowed.test", 80, &sends);
        assert!(!got.contains("hello from denied.test"), "{attack}: reached the other host: {got}");
        let requests = run.wait_requests(pid, sends.len().max(2) - usize::from(attack == "absolute-form"));
        let refused: Vec<&HttpRequest> = requests.iter().filter(|r| r.violation).collect();
        assert!(
            refused.iter().any(|r| r.rule == "host-mismatch" && r.status == Some(421)),
            "{attack}: {requests:#?}"
        );
        assert!(refused.iter().all(|r| r.verdict == Verdict::Blocked), "{attack}: {requests:#?}");
        if attack == "no Host, then a Host" {
            assert!(refused.iter().any(|r| r.rule == "no-host" && r.status == Some(400)), "{requests:#?}");
        }
    }
    // Bytes that are neither TLS nor HTTP on a web port are not relayed.
    let (pid, got) = run.raw("allowed.test", 80, &["b'\\x00\\x01 not a request\\r\\n\\r\\n'"]);
    assert!(got.trim().is_empty(), "{got}");
    run.stop();
    let c = run.connects(pid);
    assert!(c.iter().any(|c| c.rule == "not-http" && c.verdict == Verdict::Blocked), "{c:#?}");
}

#[test]
fn audit_mode_records_every_plain_http_request_naming_another_host() {
    if !privileged() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let net = FakeInternet::new();
    let mut run = Run::start(&net, Mode::Audit, POLICY, "front-plain-audit");
    for (attack, sends) in plain_attacks() {
        let (pid, got) = run.raw("allowed.test", 80, &sends);
        assert!(got.contains("hello from allowed.test"), "{attack}: let through: {got}");
        let requests = run.wait_requests(pid, sends.len().max(2) - usize::from(attack == "absolute-form"));
        assert!(
            requests.iter().any(|r| r.violation
                && r.rule == "host-mismatch"
                && r.verdict == Verdict::Allowed
                && r.reason.as_deref().is_some_and(|why| why.contains("denied.test"))),
            "{attack}: {requests:#?}"
        );
    }
    run.stop();
}

#[test]
fn fronting_inside_tls_is_refused_for_every_host_not_only_inspected_ones() {
    if !privileged() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let net = FakeInternet::new();
    // allowed.test has no secret, no route rules, no budget: only the default terminates it.
    let mut run = Run::start(&net, Mode::Block, POLICY, "front-tls");
    let (_, out) = run.curl(&["https://allowed.test/"]);
    assert_eq!(stdout(&out), "hello from allowed.test\n", "{}", String::from_utf8_lossy(&out.stderr));
    for http in ["--http1.1", "--http2"] {
        let (pid, out) = run.curl(&[http, "-H", "Host: denied.test", "https://allowed.test/"]);
        assert!(!stdout(&out).contains("hello from denied.test"), "{http}: {}", stdout(&out));
        let r = run.wait_requests(pid, 1);
        assert_eq!(
            (r[0].status, r[0].rule.as_str(), r[0].verdict),
            (Some(421), "host-mismatch", Verdict::Blocked)
        );
    }
    // A second request on the same TLS connection naming the other host.
    let bundle = run.bundle.display().to_string();
    let (pid, out) = run.curl(&[
        "https://allowed.test/",
        "--next",
        "--cacert",
        &bundle,
        "-H",
        "Host: denied.test",
        "https://allowed.test/",
    ]);
    assert!(!stdout(&out).contains("hello from denied.test"), "{}", stdout(&out));
    let r = run.wait_requests(pid, 2);
    assert!(r.iter().any(|r| r.rule == "host-mismatch" && r.status == Some(421)), "{r:#?}");
    run.stop();
    assert_eq!(run.connects(pid).len(), 1, "both requests on one connection");
}

#[test]
fn audit_mode_records_fronting_inside_tls_with_the_process() {
    if !privileged() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let net = FakeInternet::new();
    let mut run = Run::start(&net, Mode::Audit, POLICY, "front-tls-audit");
    let (pid, out) = run.curl(&["-H", "Host: denied.test", "https://allowed.test/"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r = run.wait_requests(pid, 1);
    assert_eq!((r[0].violation, r[0].rule.as_str(), r[0].verdict), (true, "host-mismatch", Verdict::Allowed));
    run.stop();
}

/// The opt-out is what it says: a passthrough host's TLS is spliced with the server's own
/// certificate, and a Host inside it is not seen.
#[test]
fn a_passthrough_host_is_spliced_and_its_inner_names_are_not_checked() {
    if !privileged() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let net = FakeInternet::new();
    let policy = format!("{POLICY}inspect:\n  allowed.test: {{ passthrough: true }}\n");
    let mut run = Run::start(&net, Mode::Block, &policy, "front-passthrough");
    let ca = net.ca().display().to_string();
    // Only the test CA: the server's own certificate, not one from the run's CA.
    let (pid, out) = run.run(&["curl", "-sS", "--max-time", "8", "--cacert", &ca, "https://allowed.test/"]);
    assert_eq!(stdout(&out), "hello from allowed.test\n", "{}", String::from_utf8_lossy(&out.stderr));
    run.stop();
    assert!(run.requests(pid).is_empty(), "nothing read inside a passthrough host's TLS");
    let c = run.connects(pid);
    assert_eq!((c.len(), c[0].verdict), (1, Verdict::Allowed));
}

/// The plain-HTTP server at plain.test: answers /headers with what it got, and logs every
/// request's headers to `log`.
fn plain_server(net: &FakeInternet, log: &std::path::Path) -> Daemon {
    net.add_name("plain.test", PLAIN_IP);
    let script = format!(
        "import http.server, threading\n\
         class H(http.server.BaseHTTPRequestHandler):\n\
         \x20   protocol_version = 'HTTP/1.1'\n\
         \x20   def do_GET(self):\n\
         \x20       body = ''.join('%s: %s\\n' % kv for kv in self.headers.items()).encode()\n\
         \x20       open('{}', 'ab').write(body)\n\
         \x20       self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers()\n\
         \x20       self.wfile.write(body)\n\
         \x20   def log_message(self, *a): pass\n\
         for port in (80, 443):\n\
         \x20   s = http.server.ThreadingHTTPServer(('{PLAIN_IP}', port), H)\n\
         \x20   threading.Thread(target=s.serve_forever, daemon=True).start()\n\
         threading.Event().wait()\n",
        log.display()
    );
    // Port 80 is bound before 443, so 443 answering means both do.
    net.daemon(&["python3", "-c", &script], &format!("{PLAIN_IP}:443"))
}

#[test]
fn plain_http_to_a_secrets_host_never_gets_the_real_value() {
    if !privileged() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let net = FakeInternet::new();
    let log = net.dir.path().join("plain-server.log");
    let _server = plain_server(&net, &log);
    for mode in [Mode::Block, Mode::Audit] {
        let mut run = Run::start(&net, mode, POLICY, &format!("cleartext-{mode:?}"));
        let bearer = format!("Authorization: Bearer {}", run.sentinel);
        for url in ["http://plain.test/headers", "http://plain.test:443/headers"] {
            let (pid, out) = run.curl(&["-H", &bearer, url]);
            assert!(!stdout(&out).contains(REAL), "{mode:?} {url}: {}", stdout(&out));
            let x = run.exfils(pid);
            let verdict = if mode == Mode::Block { Verdict::Blocked } else { Verdict::Allowed };
            assert!(
                x.iter()
                    .any(|x| x.secret == "SECRET_TOKEN" && x.host == "plain.test" && x.verdict == verdict),
                "{mode:?} {url}: {x:#?}"
            );
            let r = run.wait_requests(pid, 1);
            assert!(r[0].injected.is_empty() && r[0].violation, "{r:#?}");
            if mode == Mode::Block {
                assert_eq!(r[0].status, Some(403), "{r:#?}");
            } else {
                assert!(stdout(&out).contains(&run.sentinel), "audit: the sentinel went as it was");
            }
        }
        run.stop();
    }
    let seen = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!seen.contains(REAL), "the server saw the real value: {seen}");
    assert_eq!(seen.matches("Bearer ").count(), 2, "only audit mode's two requests arrived: {seen}");

    // Unless the policy says so for that host.
    let policy = format!("{POLICY}inspect:\n  plain.test: {{ cleartext_secrets: true }}\n");
    let mut run = Run::start(&net, Mode::Block, &policy, "cleartext-optin");
    let bearer = format!("Authorization: Bearer {}", run.sentinel);
    let (pid, out) = run.curl(&["-H", &bearer, "http://plain.test/headers"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r = run.wait_requests(pid, 1);
    assert_eq!(r[0].injected, vec!["SECRET_TOKEN".to_string()]);
    run.stop();
    let seen = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(seen.contains(&format!("Bearer {REAL}")), "opted in: {seen}");
}
