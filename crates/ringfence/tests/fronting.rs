//! Naming another host inside an allowed connection, under the real `ringfence run` in a fake
//! internet: the web server at allowed.test's address answers for any Host (as a CDN does), so a
//! request that reaches it naming denied.test comes back "hello from denied.test". A second
//! keep-alive request on plain HTTP, and a Host inside TLS to a host with no secret or route
//! rule: block mode refuses both, audit mode records both with the process that sent them.

mod support;

use journal::{Event, HttpRequest, Verdict};
use testnet::{FakeInternet, SERIAL};

/// On one plain-HTTP connection: a request for allowed.test, then one for denied.test.
const KEEP_ALIVE: &str = "import socket
s = socket.create_connection(('allowed.test', 80), timeout=5)
got = b''
for chunk in [b'GET / HTTP/1.1\\r\\nHost: allowed.test\\r\\n\\r\\n',
              b'GET / HTTP/1.1\\r\\nHost: denied.test\\r\\nConnection: close\\r\\n\\r\\n']:
    s.sendall(chunk)
    s.settimeout(1.5)
    try:
        while True:
            b = s.recv(65536)
            if not b: break
            got += b
    except socket.timeout:
        pass
print(got.decode('latin-1'))
";

const AGENT_UID: u32 = 65534;

struct Fenced {
    run: support::Run,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

fn fenced(net: &FakeInternet, mode: &str) -> Fenced {
    let workspace = support::scratch();
    let out = support::scratch();
    std::fs::write(workspace.path().join("keep_alive.py"), KEEP_ALIVE).unwrap();
    // The agent runs as an unprivileged uid and writes its results into the workspace.
    nix::unistd::chown(workspace.path(), Some(AGENT_UID.into()), None).unwrap();
    let policy = format!(
        "version: 1\negress:\n  allow:\n    - {{ host: allowed.test, ports: [80, 443] }}\ndns:\n  upstream: [\"{}\"]\n",
        net.upstream()[0]
    );
    let policy_file = out.path().join("ringfence.yml");
    std::fs::write(&policy_file, policy).unwrap();
    let out_dir = out.path().join("run");
    // The agent trusts the run's CA through the bundle ringfence gives it; nothing else.
    let script = "python3 keep_alive.py > plain.txt 2>&1; \
        curl -sS -m 8 -H 'Host: denied.test' https://allowed.test/ > tls.txt 2>&1; true";
    let output = net
        .host_command(support::binary())
        .current_dir(workspace.path())
        .args(["run", "--mode", mode, "--user", &AGENT_UID.to_string(), "--policy"])
        .arg(&policy_file)
        .arg("--upstream-ca")
        .arg(net.ca())
        .arg("--out")
        .arg(&out_dir)
        .args(["--", "sh", "-c", script])
        .output()
        .unwrap();
    let records = match journal::read(&out_dir.join("events.jsonl")) {
        Ok(Ok(verified)) => verified.records,
        other => {
            panic!("journal did not verify: {other:?}\nstderr: {}", String::from_utf8_lossy(&output.stderr))
        }
    };
    Fenced { run: support::Run { output, out_dir, records }, _dirs: (workspace, out) }
}

impl Fenced {
    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self._dirs.0.path().join(name)).unwrap_or_default()
    }

    fn requests(&self) -> Vec<&HttpRequest> {
        self.run.events().filter_map(|e| if let Event::HttpRequest(r) = e { Some(r) } else { None }).collect()
    }

    /// The executable of the process with this pid, from its exec record.
    fn exe(&self, pid: Option<u32>) -> String {
        let pid = pid.expect("a pid");
        self.run.execs().iter().rev().find(|x| x.pid == pid).map(|x| x.exe.clone()).unwrap_or_default()
    }

    fn explain(&self) -> String {
        format!(
            "exit {}\nstderr: {}\nplain: {}\ntls: {}\nrequests: {:#?}",
            self.run.code(),
            self.run.stderr(),
            self.file("plain.txt"),
            self.file("tls.txt"),
            self.requests()
        )
    }
}

fn ready(test: &str) -> bool {
    support::privileged(test) && testnet::privileged()
}

#[test]
fn block_mode_refuses_another_host_on_a_kept_alive_connection_and_inside_tls() {
    if !ready("block_mode_refuses_another_host_on_a_kept_alive_connection_and_inside_tls") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let net = FakeInternet::new();
    let f = fenced(&net, "block");
    let plain = f.file("plain.txt");
    assert!(plain.contains("hello from allowed.test"), "the first request is fine: {}", f.explain());
    assert!(!plain.contains("hello from denied.test"), "{}", f.explain());
    assert!(!f.file("tls.txt").contains("hello from denied.test"), "{}", f.explain());
    let refused: Vec<&HttpRequest> =
        f.requests().into_iter().filter(|r| r.rule == "host-mismatch" && r.status == Some(421)).collect();
    assert!(refused.iter().any(|r| r.port == 80 && f.exe(r.pid).contains("python3")), "{}", f.explain());
    assert!(refused.iter().any(|r| r.port == 443 && f.exe(r.pid).contains("curl")), "{}", f.explain());
    assert!(refused.iter().all(|r| r.verdict == Verdict::Blocked));
    let layer = f.run.run_start().fence.iter().find(|l| l.layer == "network").expect("network layer");
    assert!(layer.detail.contains("TLS to every name is terminated"), "{}", layer.detail);
}

#[test]
fn audit_mode_records_another_host_on_a_kept_alive_connection_and_inside_tls() {
    if !ready("audit_mode_records_another_host_on_a_kept_alive_connection_and_inside_tls") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let net = FakeInternet::new();
    let f = fenced(&net, "audit");
    let flagged: Vec<&HttpRequest> =
        f.requests().into_iter().filter(|r| r.rule == "host-mismatch" && r.violation).collect();
    assert!(flagged.iter().any(|r| r.port == 80 && f.exe(r.pid).contains("python3")), "{}", f.explain());
    assert!(flagged.iter().any(|r| r.port == 443 && f.exe(r.pid).contains("curl")), "{}", f.explain());
    assert!(flagged.iter().all(|r| r.verdict == Verdict::Allowed));
}
