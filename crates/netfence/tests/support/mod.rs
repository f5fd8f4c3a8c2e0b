//! A fake internet for the fence's privileged tests, built from network namespaces the test
//! creates and tears down: a "host" namespace (where ringfence's runtime and upstream
//! connections live, so the real host's network is never touched) joined by a veth pair to an
//! "internet" namespace holding a DNS server and HTTP/HTTPS servers at documentation addresses.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record, RecordType};
use nix::sched::{CloneFlags, setns};

pub const HOST_SIDE: &str = "198.51.100.1";
pub const DNS: &str = "198.51.100.53";
pub const ALLOWED_IP: &str = "198.51.100.10";
pub const OTHER_IP: &str = "198.51.100.11";
pub const PRIVATE_IP: &str = "10.233.0.5";
pub const METADATA_IP: &str = "169.254.169.254";

/// Names the fake DNS server knows.
pub fn zone() -> HashMap<&'static str, &'static str> {
    HashMap::from([
        ("allowed.test", ALLOWED_IP),
        ("other.test", OTHER_IP),
        ("denied.test", OTHER_IP),
        ("a.wild.test", ALLOWED_IP),
        ("private.test", PRIVATE_IP),
        ("metadata.test", METADATA_IP),
    ])
}

/// Returns false (after saying why) when the test cannot run here; panics instead when
/// `RINGFENCE_REQUIRE_PRIVILEGED=1`.
pub fn privileged() -> bool {
    let missing = if !nix::unistd::Uid::effective().is_root() {
        Some("needs root (network namespaces, nftables)".to_string())
    } else {
        ["ip", "nft", "curl", "dig", "openssl", "python3"]
            .iter()
            .find(|tool| {
                Command::new(tool).arg("-V").output().is_err()
                    && Command::new(tool).arg("version").output().is_err()
            })
            .map(|tool| format!("needs `{tool}` on PATH"))
    };
    match missing {
        None => true,
        Some(why) if std::env::var("RINGFENCE_REQUIRE_PRIVILEGED").as_deref() == Ok("1") => {
            panic!("privileged test cannot run: {why}")
        }
        Some(why) => {
            eprintln!("skipping privileged test: {why}");
            false
        }
    }
}

/// Privileged tests share fixed test addresses, so they run one at a time.
pub static SERIAL: Mutex<()> = Mutex::new(());

fn sh(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().expect("spawn");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

pub struct FakeInternet {
    pub host: String,
    pub inet: String,
    pub host_ns: OwnedFd,
    inet_ns: OwnedFd,
    pub dir: tempfile::TempDir,
    /// Every name the fake upstream DNS server was asked about.
    pub upstream_queries: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    dns_thread: Option<std::thread::JoinHandle<()>>,
    web: Option<Child>,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl FakeInternet {
    pub fn new() -> FakeInternet {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tag = format!("{}-{n}", std::process::id());
        let host = format!("rft-h-{tag}");
        let inet = format!("rft-i-{tag}");
        sh(&["ip", "netns", "add", &host]);
        sh(&["ip", "netns", "add", &inet]);
        let (vh, vi) = (format!("rfth{n}"), format!("rfti{n}"));
        sh(&["ip", "link", "add", &vh, "netns", &host, "type", "veth", "peer", "name", &vi, "netns", &inet]);
        for (ns, dev, addrs) in [
            (&host, &vh, vec!["198.51.100.1/24"]),
            (
                &inet,
                &vi,
                vec![
                    "198.51.100.2/24",
                    "198.51.100.10/32",
                    "198.51.100.11/32",
                    "198.51.100.53/32",
                    "10.233.0.5/32",
                    "169.254.169.254/32",
                ],
            ),
        ] {
            for addr in addrs {
                sh(&["ip", "-n", ns, "addr", "add", addr, "dev", dev]);
            }
            sh(&["ip", "-n", ns, "link", "set", dev, "up"]);
            sh(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        }
        sh(&["ip", "-n", &host, "route", "add", "10.233.0.0/24", "via", "198.51.100.2"]);
        sh(&["ip", "-n", &host, "route", "add", "169.254.169.254/32", "via", "198.51.100.2"]);
        let open = |name: &str| -> OwnedFd {
            std::fs::File::open(format!("/run/netns/{name}")).expect("netns").into()
        };
        let host_ns = open(&host);
        let inet_ns = open(&inet);
        let dir = tempfile::tempdir().expect("tempdir");
        make_certs(&dir.path().to_path_buf());

        let upstream_queries = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let dns_thread = {
            let ns = inet_ns.try_clone().expect("dup");
            let (queries, stop) = (upstream_queries.clone(), stop.clone());
            let (ready_tx, ready_rx) = std::sync::mpsc::channel();
            let t = std::thread::spawn(move || {
                setns(ns.as_fd(), CloneFlags::CLONE_NEWNET).expect("setns internet");
                let socket = UdpSocket::bind((DNS, 53)).expect("bind fake dns");
                socket.set_read_timeout(Some(Duration::from_millis(50))).expect("timeout");
                ready_tx.send(()).expect("ready");
                fake_dns(socket, queries, stop);
            });
            ready_rx.recv_timeout(Duration::from_secs(5)).expect("fake dns ready");
            t
        };
        let mut web = Command::new("ip")
            .args(["netns", "exec", &inet, "python3", "-c", WEB_SERVER])
            .arg(dir.path().join("leaf.pem"))
            .arg(dir.path().join("leaf.key"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("web server");
        let mut line = String::new();
        BufReader::new(web.stdout.take().expect("stdout")).read_line(&mut line).expect("ready line");
        assert_eq!(line.trim(), "ready", "web server did not start");
        FakeInternet {
            host,
            inet,
            host_ns,
            inet_ns,
            dir,
            upstream_queries,
            stop,
            dns_thread: Some(dns_thread),
            web: Some(web),
        }
    }

    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    pub fn upstream(&self) -> Vec<SocketAddr> {
        vec![SocketAddr::new(DNS.parse().expect("ip"), 53)]
    }

    pub fn upstream_saw(&self, name: &str) -> bool {
        self.upstream_queries.lock().unwrap().iter().any(|q| q == name)
    }
}

/// A server process running in the fake internet, killed when dropped.
pub struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl FakeInternet {
    /// Starts `argv` inside the internet namespace and waits until `addr` accepts connections.
    pub fn daemon(&self, argv: &[&str], addr: &str) -> Daemon {
        let child = Command::new("ip")
            .args(["netns", "exec", &self.inet])
            .args(argv)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn daemon");
        let daemon = Daemon(child);
        let addr: SocketAddr = addr.parse().expect("daemon address");
        let up = on_host_side(self, || {
            (0..100).any(|_| {
                let ok = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok();
                if !ok {
                    std::thread::sleep(Duration::from_millis(50));
                }
                ok
            })
        });
        assert!(up, "{argv:?} never listened on {addr}");
        daemon
    }
}

/// Whether the extra tools a test needs are installed: false (after saying so) when not,
/// a panic instead when `RINGFENCE_REQUIRE_PRIVILEGED=1`.
pub fn have(tools: &[&str]) -> bool {
    let Some(tool) = tools.iter().find(|t| Command::new(t).arg("--version").output().is_err()) else {
        return true;
    };
    if std::env::var("RINGFENCE_REQUIRE_PRIVILEGED").as_deref() == Ok("1") {
        panic!("privileged test cannot run: needs `{tool}` on PATH");
    }
    eprintln!("skipping privileged test: needs `{tool}` on PATH");
    false
}

/// Runs a setup command on the test machine, failing the test if it fails.
pub fn setup(args: &[&str]) -> String {
    let out = Command::new(args[0]).args(&args[1..]).output().expect("spawn");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Drop for FakeInternet {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(mut web) = self.web.take() {
            let _ = web.kill();
            let _ = web.wait();
        }
        if let Some(t) = self.dns_thread.take() {
            let _ = t.join();
        }
        // Deleting the namespaces removes the veth pair with them.
        let _ = Command::new("ip").args(["netns", "del", &self.host]).status();
        let _ = Command::new("ip").args(["netns", "del", &self.inet]).status();
    }
}

fn make_certs(dir: &PathBuf) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    run(&[
        &["req", "-x509"][..],
        &ec,
        &["-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=ringfence test CA"],
    ]
    .concat());
    run(&[&["req"][..], &ec, &["-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=allowed.test"]]
        .concat());
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:allowed.test,DNS:other.test,DNS:denied.test,DNS:a.wild.test\n",
    )
    .expect("ext");
    run(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "leaf.pem",
        "-days",
        "1",
        "-extfile",
        "ext.cnf",
    ]);
}

fn fake_dns(socket: UdpSocket, queries: Arc<Mutex<Vec<String>>>, stop: Arc<AtomicBool>) {
    let zone = zone();
    let mut buf = [0u8; 2048];
    while !stop.load(Ordering::Relaxed) {
        let Ok((n, peer)) = socket.recv_from(&mut buf) else { continue };
        let Ok(request) = Message::from_vec(&buf[..n]) else { continue };
        let Some(query) = request.queries.first() else { continue };
        let name = query.name().to_ascii().trim_end_matches('.').to_ascii_lowercase();
        queries.lock().unwrap().push(name.clone());
        let mut reply = Message::new(request.metadata.id, MessageType::Response, OpCode::Query);
        reply.metadata.recursion_desired = true;
        reply.metadata.recursion_available = true;
        reply.add_query(query.clone());
        match zone.get(name.as_str()) {
            Some(ip) if query.query_type() == RecordType::A => {
                let ip: Ipv4Addr = ip.parse().expect("zone ip");
                reply.add_answer(Record::from_rdata(query.name().clone(), 30, RData::A(A(ip))));
            }
            Some(_) => {}
            None => reply.metadata.response_code = ResponseCode::NXDomain,
        }
        let _ = socket.send_to(&reply.to_vec().expect("encode"), peer);
    }
}

const WEB_SERVER: &str = r#"
import http.server, os, ssl, subprocess, sys, threading
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def do_GET(self):
        if self.path.startswith('/repo.git/'):
            return self.git()
        if self.path.startswith('/bulk/'):
            size = int(self.path[6:])
            self.send_response(200); self.send_header('Content-Length', str(size)); self.end_headers()
            chunk = b'x' * 65536
            while size > 0:
                self.wfile.write(chunk[:min(size, 65536)]); size -= 65536
            return
        body = ('hello from %s\n' % self.headers.get('Host')).encode()
        self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        if self.path.startswith('/repo.git/'):
            return self.git()
        self.send_error(405)
    def git(self):
        # git's smart HTTP protocol: hand the request to `git http-backend` as a CGI script.
        path, _, query = self.path.partition('?')
        body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
        env = dict(os.environ, GIT_PROJECT_ROOT=os.path.dirname(sys.argv[1]), GIT_HTTP_EXPORT_ALL='1',
                   REQUEST_METHOD=self.command, PATH_INFO=path, QUERY_STRING=query,
                   CONTENT_TYPE=self.headers.get('Content-Type') or '', CONTENT_LENGTH=str(len(body)),
                   REMOTE_ADDR=self.client_address[0], HTTP_GIT_PROTOCOL=self.headers.get('Git-Protocol') or '',
                   HTTP_CONTENT_ENCODING=self.headers.get('Content-Encoding') or '')
        out = subprocess.run(['git', 'http-backend'], input=body, env=env, capture_output=True).stdout
        head, _, payload = out.partition(b'\r\n\r\n')
        status, headers = 200, []
        for line in head.decode().split('\r\n'):
            k, _, v = line.partition(':')
            if k.lower() == 'status': status = int(v.split()[0])
            elif k: headers.append((k, v.strip()))
        self.send_response(status)
        for k, v in headers: self.send_header(k, v)
        self.send_header('Content-Length', str(len(payload))); self.end_headers()
        self.wfile.write(payload)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer.allow_reuse_address = True
http.server.ThreadingHTTPServer.request_queue_size = 4096
s80 = http.server.ThreadingHTTPServer(('0.0.0.0', 80), H)
s443 = http.server.ThreadingHTTPServer(('0.0.0.0', 443), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
s443.socket = ctx.wrap_socket(s443.socket, server_side=True)
threading.Thread(target=s443.serve_forever, daemon=True).start()
print('ready', flush=True)
s80.serve_forever()
"#;

/// A cgroup for the test's clients, so attribution has members to search.
pub struct TestCgroup {
    pub path: PathBuf,
    procs: std::fs::File,
}

impl TestCgroup {
    pub fn new(tag: &str) -> TestCgroup {
        let mounts = std::fs::read_to_string("/proc/self/mounts").expect("mounts");
        let root = mounts
            .lines()
            .find(|l| l.split_whitespace().nth(2) == Some("cgroup2"))
            .and_then(|l| l.split_whitespace().nth(1))
            .expect("a cgroup2 mount");
        let path = PathBuf::from(root).join(format!("ringfence-test-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&path).expect("cgroup");
        let procs = std::fs::OpenOptions::new().write(true).open(path.join("cgroup.procs")).expect("procs");
        TestCgroup { path, procs }
    }

    pub fn procs_path(&self) -> PathBuf {
        self.path.join("cgroup.procs")
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.path);
    }
}

/// Runs `argv` inside the fence's namespace, as a member of `cgroup`; returns its pid and output.
pub fn run_in(fence: &OwnedFd, cgroup: &TestCgroup, argv: &[&str]) -> (u32, Output) {
    let ns = fence.as_raw_fd();
    let procs = cgroup.procs.as_raw_fd();
    let mut cmd = Command::new(argv[0]);
    cmd.args(&argv[1..]).stdin(Stdio::null());
    // SAFETY: only async-signal-safe calls (getpid, write, setns) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let pid = libc::getpid();
            let mut digits = [0u8; 12];
            let mut i = digits.len();
            let mut p = pid as u32;
            loop {
                i -= 1;
                digits[i] = b'0' + (p % 10) as u8;
                p /= 10;
                if p == 0 {
                    break;
                }
            }
            if libc::write(procs, digits[i..].as_ptr().cast(), digits.len() - i) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::setns(ns, libc::CLONE_NEWNET) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn client");
    let pid = child.id();
    (pid, child.wait_with_output().expect("client output"))
}

/// Runs `f` on a fresh thread inside the fake internet's "host" namespace (setns is per thread,
/// so the test harness's own threads are never moved).
pub fn on_host_side<T: Send>(net: &FakeInternet, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            setns(net.host_ns.as_fd(), CloneFlags::CLONE_NEWNET).expect("setns host side");
            f()
        })
        .join()
        .expect("host-side thread")
    })
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn write_all(mut w: impl Write, data: &[u8]) {
    w.write_all(data).expect("write");
}
