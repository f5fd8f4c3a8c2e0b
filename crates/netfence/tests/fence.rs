//! The fence against real packets: a fake internet in namespaces of the test's own, clients run
//! inside the fence's namespace, every attack asserted blocked (block mode) or recorded (audit
//! mode), and attributed to the client's pid. Nothing here talks to a real address.

use std::sync::{Arc, Mutex};

use journal::{DnsQuery, Event, Mode, NetConnect, Verdict};
use netfence::{NetConfig, NetFence, NetStats};
use testnet::*;

const POLICY: &str = "version: 1
egress:
  allow:
    - { host: allowed.test, ports: [80, 443] }
    - { host: private.test, ports: [80] }
    - \"*.wild.test\"
    - { cidr: 127.0.0.1/32, ports: [15432] }
";

/// One fenced run: the fence's namespace, the running fence and what it journalled.
struct Run {
    fence_ns: std::os::fd::OwnedFd,
    cgroup: TestCgroup,
    fence: Option<NetFence>,
    events: Arc<Mutex<Vec<Event>>>,
}

impl Run {
    fn start(net: &FakeInternet, mode: Mode, policy: &str, tag: &str) -> Run {
        let fence_ns = sandbox::network::create().expect("fence netns");
        let cgroup = TestCgroup::new(tag);
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink_events = events.clone();
        let cfg = NetConfig {
            netns: fence_ns.try_clone().expect("dup"),
            policy: Arc::new(policy::parse(policy, "ringfence.yml").expect("policy")),
            mode,
            upstream_dns: net.upstream(),
            cgroup_procs: cgroup.procs_path(),
            pid_hint: None,
            inspect: netfence::InspectConfig::without_secrets("test", &[]).expect("inspection config"),
        };
        let fence = on_host_side(net, || {
            NetFence::start(cfg, Box::new(move |e| sink_events.lock().unwrap().push(e)))
                .expect("fence starts")
        });
        Run { fence_ns, cgroup, fence: Some(fence), events }
    }

    fn run(&self, argv: &[&str]) -> (u32, std::process::Output) {
        run_in(&self.fence_ns, &self.cgroup, argv)
    }

    fn stop(&mut self) -> NetStats {
        self.fence.take().expect("running").stop()
    }

    fn queries(&self, name: &str) -> Vec<DnsQuery> {
        let events = self.events.lock().unwrap();
        events
            .iter()
            .filter_map(|e| match e {
                Event::DnsQuery(q) if q.name == name => Some(q.clone()),
                _ => None,
            })
            .collect()
    }

    fn connects(&self, pred: impl Fn(&NetConnect) -> bool) -> Vec<NetConnect> {
        let events = self.events.lock().unwrap();
        events
            .iter()
            .filter_map(|e| match e {
                Event::NetConnect(c) if pred(c) => Some(c.clone()),
                _ => None,
            })
            .collect()
    }

    /// Waits until the proxy has recorded a connection matching `pred` (it records at close).
    fn wait_connect(&self, pred: impl Fn(&NetConnect) -> bool) -> NetConnect {
        for _ in 0..100 {
            if let Some(c) = self.connects(&pred).into_iter().next() {
                return c;
            }
            std::thread::sleep(std::time::Duration::from_millis(30));
        }
        panic!("no such connection recorded; events: {:#?}", self.events.lock().unwrap());
    }
}

fn curl(extra: &[&str]) -> Vec<String> {
    let mut argv: Vec<String> =
        ["curl", "-sS", "--max-time", "8", "--noproxy", "*"].iter().map(|s| s.to_string()).collect();
    argv.extend(extra.iter().map(|s| s.to_string()));
    argv
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn allowed_names_work_over_http_and_tls13() {
    if !privileged() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let net = FakeInternet::new();
    let mut run = Run::start(&net, Mode::Block, POLICY, "allowed");
    let ca = net.ca().display().to_string();

    let (pid, out) = run.run(&args(&curl(&["http://allowed.test/"])));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout(&out), "hello from allowed.test\n");
    let c = run.wait_connect(|c| c.port == 80 && c.pid == Some(pid));
    assert_eq!((c.verdict, c.violation, c.host.as_deref()), (Verdict::Allowed, false, Some("allowed.test")));
    assert_eq!(c.sni.as_deref(), Some("allowed.test"));
    assert_eq!(c.upstream.as_deref(), Some("198.51.100.10:80"));
    assert!(c.bytes_up > 0 && c.bytes_down > 0);
    let q = run.queries("allowed.test");
    assert!(
        q.iter().any(|q| q.qtype == "A" && q.answer[0].starts_with("198.18.") && q.pid == Some(pid)),
        "{q:#?}"
    );

    // Fake-IP mode: a mixed-case query with an EDNS option of the client's gets a synthetic
    // address, and the host-side resolution behind the connection is ringfence's own query.
    let (_, out) =
        run.run(&["dig", "+short", "+tries=1", "+time=3", "+ednsopt=65001:5345435245", "AlLoWeD.test"]);
    let fake = stdout(&out).trim().to_string();
    assert!(fake.starts_with("198.18."), "{fake}");
    let (_, out) =
        run.run(&args(&curl(&["--resolve", &format!("allowed.test:80:{fake}"), "http://allowed.test/"])));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let raw = net.upstream_raw.lock().unwrap().clone();
    let asked: Vec<(Vec<u8>, hickory_proto::op::Message)> = raw
        .into_iter()
        .filter_map(|b| hickory_proto::op::Message::from_vec(&b).ok().map(|m| (b, m)))
        .filter(|(_, m)| m.queries.iter().any(|q| q.name().to_ascii().eq_ignore_ascii_case("allowed.test.")))
        .collect();
    assert!(!asked.is_empty(), "the proxy resolved allowed.test upstream");
    for (bytes, m) in &asked {
        assert!(m.metadata.recursion_desired && m.queries.len() == 1 && m.additionals.is_empty(), "{m:?}");
        assert!(m.edns.as_ref().is_some_and(|e| e.options().options.is_empty()), "{m:?}");
        assert!(bytes.windows(8).any(|w| w == b"\x07allowed"), "lower case upstream: {bytes:?}");
        assert!(!bytes.windows(5).any(|w| w == b"SECRE"), "the client's EDNS option went upstream");
    }

    let (pid, out) = run.run(&args(&curl(&["--tlsv1.3", "--cacert", &ca, "https://allowed.test/"])));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout(&out), "hello from allowed.test\n");
    let c = run.wait_connect(|c| c.port == 443 && c.pid == Some(pid));
    assert_eq!((c.verdict, c.sni.as_deref()), (Verdict::Allowed, Some("allowed.test")));

    // A wildcard name resolves and connects.
    let (_, out) = run.run(&args(&curl(&["--cacert", &ca, "https://a.wild.test/"])));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let stats = run.stop();
    assert_eq!(stats.blocked, 0, "{:#?}", run.events.lock().unwrap());
    assert!(stats.observed.contains(&("allowed.test".into(), 443)));
}

#[test]
fn block_mode_refuses_every_bypass() {
    if !privileged() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let net = FakeInternet::new();
    let mut run = Run::start(&net, Mode::Block, POLICY, "block");
    let ca = net.ca().display().to_string();

    // An unlisted name: NXDOMAIN, never asked upstream.
    let (pid, out) = run.run(&args(&curl(&["http://other.test/"])));
    assert!(!out.status.success());
    let q = run.queries("other.test");
    assert!(
        q.iter().all(|q| q.verdict == Verdict::Blocked && q.violation && q.rule == "default-deny"),
        "{q:#?}"
    );
    assert!(q.iter().any(|q| q.answer == ["NXDOMAIN"] && q.pid == Some(pid)), "{q:#?}");
    assert!(!net.upstream_saw("other.test"));

    // A raw IP: no name, no cidr rule.
    let (pid, out) = run.run(&args(&curl(&[&format!("http://{OTHER_IP}/")])));
    assert!(!out.status.success());
    let c = run.wait_connect(|c| c.ip == OTHER_IP && c.pid == Some(pid));
    assert_eq!((c.verdict, c.violation, c.rule.as_str()), (Verdict::Blocked, true, "default-deny"));

    // DoH to an address.
    let (pid, out) =
        run.run(&args(&curl(&["--cacert", &ca, &format!("https://{ALLOWED_IP}/dns-query?dns=AAAB")])));
    assert!(!out.status.success());
    run.wait_connect(|c| {
        c.ip == ALLOWED_IP && c.port == 443 && c.pid == Some(pid) && c.verdict == Verdict::Blocked
    });

    // The metadata service, directly and through a name whose real address is private.
    let (pid, _) = run.run(&args(&curl(&[&format!("http://{METADATA_IP}/latest/meta-data/")])));
    run.wait_connect(|c| c.ip == METADATA_IP && c.pid == Some(pid) && c.verdict == Verdict::Blocked);
    let (pid, out) = run.run(&args(&curl(&["http://private.test/"])));
    assert!(!out.status.success());
    let c = run.wait_connect(|c| c.host.as_deref() == Some("private.test") && c.pid == Some(pid));
    assert_eq!((c.verdict, c.rule.as_str()), (Verdict::Blocked, "special-address"));
    assert!(c.reason.as_deref().unwrap_or("").contains("private address"), "{c:#?}");

    // IPv6 literal: redirected to the proxy's IPv6 listener and refused there.
    let (pid, out) = run.run(&args(&curl(&["http://[2001:db8::1]/"])));
    assert!(!out.status.success());
    run.wait_connect(|c| c.ip == "2001:db8::1" && c.pid == Some(pid) && c.verdict == Verdict::Blocked);

    // Domain fronting both ways: SNI of a denied name over the allowed name's synthetic
    // address, and the allowed SNI over a denied host's real address.
    let (pid, out) = run.run(&args(&curl(&[
        "--cacert",
        &ca,
        "--connect-to",
        "denied.test:443:allowed.test:443",
        "https://denied.test/",
    ])));
    assert!(!out.status.success());
    let c = run.wait_connect(|c| c.pid == Some(pid) && c.port == 443);
    assert_eq!(
        (c.verdict, c.rule.as_str(), c.sni.as_deref()),
        (Verdict::Blocked, "sni-mismatch", Some("denied.test"))
    );
    let (pid, out) = run.run(&args(&curl(&[
        "--cacert",
        &ca,
        "--connect-to",
        &format!("allowed.test:443:{OTHER_IP}:443"),
        "https://allowed.test/",
    ])));
    assert!(!out.status.success());
    let c = run.wait_connect(|c| c.pid == Some(pid) && c.port == 443);
    assert_eq!((c.verdict, c.ip.as_str()), (Verdict::Blocked, OTHER_IP));

    // DNS tunnelling: TXT for an unlisted name (UDP and TCP), a 60-character high-entropy
    // label under an allowed wildcard, an unlisted subdomain of an allowed name.
    let (pid, out) = run.run(&["dig", "+tries=1", "+time=3", "TXT", "exfil.other.test"]);
    assert!(stdout(&out).contains("status: REFUSED"), "{}", stdout(&out));
    assert!(
        run.queries("exfil.other.test")
            .iter()
            .any(|q| q.pid == Some(pid) && q.qtype == "TXT" && q.transport == "udp")
    );
    let (_, out) = run.run(&["dig", "+tcp", "+tries=1", "+time=3", "TXT", "tcp.other.test"]);
    assert!(stdout(&out).contains("status: REFUSED"), "{}", stdout(&out));
    assert!(
        run.queries("tcp.other.test").iter().any(|q| q.transport == "tcp" && q.verdict == Verdict::Blocked)
    );
    let payload = "k7fq2mzxw6ytboi4dsmrqgeztgnbsgm2dknjwgy3tooi5gqztsnbzgq2dk5jw";
    let long = format!("{payload}.wild.test");
    let (_, out) = run.run(&["dig", "+tries=1", "+time=3", &long]);
    assert!(stdout(&out).contains("status: NXDOMAIN"), "{}", stdout(&out));
    let q = run.queries(&long);
    assert!(q.iter().any(|q| q.rule == "dns-tunnel" && !q.suspicious.is_empty()), "{q:#?}");
    let (_, out) = run.run(&["dig", "+tries=1", "+time=3", "sub.allowed.test"]);
    assert!(stdout(&out).contains("status: NXDOMAIN"));

    // Another resolver named directly is still ringfence: answered here, never sent out.
    let (_, out) = run.run(&["dig", "@8.8.8.8", "+tries=1", "+time=3", "+short", "allowed.test"]);
    assert!(stdout(&out).starts_with("198.18."), "{}", stdout(&out));
    let (_, out) = run.run(&["dig", "@8.8.8.8", "+tries=1", "+time=3", "elsewhere.test"]);
    assert!(stdout(&out).contains("status: NXDOMAIN"), "{}", stdout(&out));
    for name in ["exfil.other.test", "tcp.other.test", "sub.allowed.test", "elsewhere.test", long.as_str()] {
        assert!(!net.upstream_saw(name), "{name} leaked upstream");
    }

    // UDP other than DNS (QUIC to 443): refused by nftables, counted at stop.
    let (_, out) = run.run(&[
        "python3", "-c",
        &format!("import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ntry:\n s.sendto(b'q',('{ALLOWED_IP}',443))\nexcept OSError as e: print(e)"),
    ]);
    assert!(stdout(&out).contains("not permitted"), "{}", stdout(&out));

    let stats = run.stop();
    let drops = run.connects(|c| c.protocol == "udp" && c.rule == "fence-drop");
    assert_eq!(drops.len(), 1, "{drops:#?}");
    assert!(stats.blocked >= 10, "{stats:?}");
    let allowed = run.connects(|c| c.verdict == Verdict::Allowed);
    assert!(allowed.is_empty(), "nothing may get through: {allowed:#?}");
}

#[test]
fn audit_mode_lets_everything_through_and_records_it() {
    if !privileged() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let net = FakeInternet::new();
    let mut run = Run::start(&net, Mode::Audit, POLICY, "audit");

    let (pid, out) = run.run(&args(&curl(&["http://other.test/"])));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout(&out), "hello from other.test\n");
    let c = run.wait_connect(|c| c.host.as_deref() == Some("other.test") && c.pid == Some(pid));
    assert_eq!((c.verdict, c.violation, c.rule.as_str()), (Verdict::Allowed, true, "default-deny"));
    assert!(run.queries("other.test").iter().any(|q| q.violation && q.verdict == Verdict::Allowed));

    // A raw IP goes through too, flagged.
    let (pid, out) = run.run(&args(&curl(&[&format!("http://{ALLOWED_IP}/")])));
    assert!(out.status.success());
    let c = run.wait_connect(|c| c.ip == ALLOWED_IP && c.pid == Some(pid));
    assert!(c.violation && c.verdict == Verdict::Allowed);

    // Tunnelling signs are flagged while the query is forwarded.
    let long = "k7fq2mzxw6ytboi4dsmrqgeztgnbsgm2dknjwgy3tooi5gqztsnbzgq2dk5jw.other.test";
    run.run(&["dig", "+tries=1", "+time=3", "TXT", long]);
    assert!(net.upstream_saw(long));
    let q = run.queries(long);
    assert!(
        q.iter().any(|q| q.suspicious.iter().any(|s| s.contains("high-entropy"))
            && q.suspicious.iter().any(|s| s.contains("TXT"))),
        "{q:#?}"
    );

    let stats = run.stop();
    assert!(stats.observed.contains(&("other.test".into(), 80)), "{stats:?}");
    assert!(stats.observed.contains(&(ALLOWED_IP.into(), 80)), "{stats:?}");
    let suggested = policy::Policy::suggest(&stats.observed);
    let suggested = policy::parse(&suggested, "suggested-policy.yml").expect("suggestion parses");
    assert!(suggested.egress_decision("other.test", 80).allowed);
    assert!(suggested.cidr_decision(ALLOWED_IP.parse().unwrap(), 80).allowed);
}

#[test]
fn host_services_reach_the_hosts_loopback() {
    if !privileged() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let net = FakeInternet::new();
    // A "database" a previous step started on the host's loopback.
    let (tx, rx) = std::sync::mpsc::channel();
    let server = on_host_side(&net, || {
        let listener = std::net::TcpListener::bind("127.0.0.1:15432").expect("bind host service");
        std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().expect("accept");
            write_all(&mut conn, b"pong\n");
            tx.send(()).ok();
        })
    });
    let mut run = Run::start(&net, Mode::Block, POLICY, "hostsvc");
    let script = "import socket\ns=socket.create_connection(('127.0.0.1',PORT),timeout=5)\nprint(s.recv(10).decode().strip())";
    let (pid, out) = run.run(&["python3", "-c", &script.replace("PORT", "15432")]);
    assert_eq!(stdout(&out).trim(), "pong", "{}", String::from_utf8_lossy(&out.stderr));
    rx.recv_timeout(std::time::Duration::from_secs(5)).expect("host service reached");
    server.join().expect("server");
    let c = run.wait_connect(|c| c.port == 15432 && c.pid == Some(pid));
    assert_eq!((c.verdict, c.rule.as_str()), (Verdict::Allowed, "allow 127.0.0.1/32:15432"));
    // Other loopback ports stay inside the namespace (nothing listens there).
    let (_, out) = run.run(&["python3", "-c", &format!("{}\n", script.replace("PORT", "15433"))]);
    assert!(!out.status.success());
    assert!(run.connects(|c| c.port == 15433).is_empty());
    run.stop();
}

#[test]
fn start_fails_closed_without_an_upstream() {
    let Ok(ns) = std::fs::File::open("/proc/self/ns/net") else { return };
    let cfg = NetConfig {
        netns: ns.into(),
        policy: Arc::new(policy::Policy::default()),
        mode: Mode::Block,
        upstream_dns: Vec::new(),
        cgroup_procs: "/nonexistent/cgroup.procs".into(),
        pid_hint: None,
        inspect: netfence::InspectConfig::without_secrets("test", &[]).expect("inspection config"),
    };
    let err = NetFence::start(cfg, Box::new(|_| {})).err().expect("must fail");
    assert!(err.to_string().contains("dns.upstream"), "{err}");
}

/// Allowed paths beyond HTTP/1.1: the same name on more ports, for HTTP/2, SSH and git.
const PATHS_POLICY: &str = "version: 1
egress:
  allow:
    - { host: allowed.test, ports: [443, 8443, 22] }
";

#[test]
fn http2_over_tls_to_an_allowed_name() {
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
    let mut run = Run::start(&net, Mode::Block, PATHS_POLICY, "h2");
    let ca = net.ca().display().to_string();

    let (pid, out) = run.run(&args(&curl(&[
        "--http2",
        "--cacert",
        &ca,
        "-w",
        "%{http_version}",
        "https://allowed.test:8443/index.html",
    ])));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout(&out), "hello over h2\n2", "the answer must come over HTTP/2");
    let c = run.wait_connect(|c| c.port == 8443 && c.pid == Some(pid));
    assert_eq!(
        (c.verdict, c.violation, c.host.as_deref(), c.sni.as_deref()),
        (Verdict::Allowed, false, Some("allowed.test"), Some("allowed.test"))
    );
    assert_eq!(c.upstream.as_deref(), Some("198.51.100.10:8443"));
    assert!(c.bytes_up > 0 && c.bytes_down > 0, "{c:#?}");
    let stats = run.stop();
    assert_eq!(stats.blocked, 0, "{:#?}", run.events.lock().unwrap());
}

#[test]
fn ssh_to_an_allowed_host_only() {
    if !privileged() || !have(&["ssh", "ssh-keygen", "sshd"]) {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let net = FakeInternet::new();
    let dir = net.dir.path().join("ssh");
    std::fs::create_dir(&dir).expect("ssh dir");
    let path = |f: &str| dir.join(f).display().to_string();
    // Throwaway keys: the server's host key and the client's key, authorised for root.
    setup(&["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", &path("host_key")]);
    setup(&["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", &path("client_key")]);
    std::fs::copy(path("client_key.pub"), path("authorized_keys")).expect("authorized_keys");
    std::fs::write(
        path("sshd_config"),
        format!(
            "Port 22\nListenAddress {ALLOWED_IP}\nHostKey {}\nAuthorizedKeysFile {}\nPidFile none\n\
             UsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\n",
            path("host_key"),
            path("authorized_keys")
        ),
    )
    .expect("sshd_config");
    // sshd wants its privilege-separation directory and to be started by absolute path.
    std::fs::create_dir_all("/run/sshd").expect("/run/sshd");
    let sshd = setup(&["sh", "-c", "command -v sshd"]);
    let _sshd = net.daemon(&[sshd.trim(), "-D", "-f", &path("sshd_config")], &format!("{ALLOWED_IP}:22"));
    let mut run = Run::start(&net, Mode::Block, PATHS_POLICY, "ssh");
    let key = path("client_key");
    let ssh = |target: &str| -> Vec<String> {
        [
            "ssh",
            "-F",
            "/dev/null",
            "-i",
            &key,
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "ConnectTimeout=5",
            target,
            "true",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };

    let (pid, out) = run.run(&args(&ssh("root@allowed.test")));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let c = run.wait_connect(|c| c.port == 22 && c.pid == Some(pid));
    assert_eq!(
        (c.verdict, c.violation, c.host.as_deref(), c.upstream.as_deref()),
        (Verdict::Allowed, false, Some("allowed.test"), Some("198.51.100.10:22"))
    );
    assert!(c.bytes_up > 0 && c.bytes_down > 0, "{c:#?}");

    // Port 22 to an unlisted name: the name does not resolve, and nothing is asked upstream.
    let (pid, out) = run.run(&args(&ssh("root@other.test")));
    assert!(!out.status.success());
    assert!(run.queries("other.test").iter().any(|q| q.pid == Some(pid) && q.verdict == Verdict::Blocked));
    assert!(!net.upstream_saw("other.test"));
    // …nor by address: the same sshd, reached without a name, is refused at the proxy.
    let (pid, out) = run.run(&args(&ssh(&format!("root@{ALLOWED_IP}"))));
    assert!(!out.status.success());
    let c = run.wait_connect(|c| c.port == 22 && c.pid == Some(pid));
    assert_eq!((c.verdict, c.violation, c.ip.as_str()), (Verdict::Blocked, true, ALLOWED_IP));

    let stats = run.stop();
    assert!(stats.observed.contains(&("allowed.test".into(), 22)), "{stats:?}");
    let allowed = run.connects(|c| c.verdict == Verdict::Allowed);
    assert_eq!(allowed.len(), 1, "{allowed:#?}");
}

#[test]
fn git_over_https_to_an_allowed_name() {
    if !privileged() || !have(&["git"]) {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let net = FakeInternet::new();
    // A bare repository with one commit, served by `git http-backend` behind the HTTPS server.
    let repo = net.dir.path().join("repo.git").display().to_string();
    setup(&["git", "init", "-q", "--bare", "-b", "main", &repo]);
    let tree = setup(&["git", "--git-dir", &repo, "mktree"]);
    let commit = setup(&[
        "git",
        "-c",
        "user.name=ringfence test",
        "-c",
        "user.email=test@allowed.test",
        "--git-dir",
        &repo,
        "commit-tree",
        tree.trim(),
        "-m",
        "init",
    ]);
    let commit = commit.trim();
    setup(&["git", "--git-dir", &repo, "update-ref", "refs/heads/main", commit]);
    let mut run = Run::start(&net, Mode::Block, PATHS_POLICY, "git");
    let ca = net.ca().display().to_string();

    // GIT_SSL_CAINFO, when set, overrides any http.sslCAInfo: set it to the test CA.
    let (_, out) = run.run(&[
        "env",
        &format!("GIT_SSL_CAINFO={ca}"),
        "git",
        "-c",
        "http.proxy=",
        "ls-remote",
        "https://allowed.test/repo.git",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).contains(&format!("{commit}\trefs/heads/main")), "{}", stdout(&out));
    // git's HTTPS helper is a child process; the connection is attributed to it.
    let c = run.wait_connect(|c| c.port == 443 && c.host.as_deref() == Some("allowed.test"));
    assert_eq!((c.verdict, c.violation, c.sni.as_deref()), (Verdict::Allowed, false, Some("allowed.test")));
    assert!(c.pid.is_some() && c.bytes_up > 0 && c.bytes_down > 0, "{c:#?}");
    let stats = run.stop();
    assert_eq!(stats.blocked, 0, "{:#?}", run.events.lock().unwrap());
}
