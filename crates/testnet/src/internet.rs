//! The namespaces, the veth pair between them, and the servers of the fake internet.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sched::{CloneFlags, setns};

use crate::{DNS, certs, dns, web, zone};

/// Addresses the internet side holds from the start; the web server answers on each.
const INITIAL: [&str; 6] =
    ["198.51.100.2", "198.51.100.10", "198.51.100.11", "198.51.100.53", "10.233.0.5", "169.254.169.254"];

fn sh(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().expect("spawn");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

pub struct FakeInternet {
    pub host: String,
    pub inet: String,
    pub host_ns: OwnedFd,
    inet_ns: OwnedFd,
    inet_dev: String,
    pub dir: tempfile::TempDir,
    /// Every name the fake upstream DNS server was asked about.
    pub upstream_queries: Arc<Mutex<Vec<String>>>,
    /// The exact bytes of every query the fake upstream DNS server received.
    pub upstream_raw: Arc<Mutex<Vec<Vec<u8>>>>,
    zone: dns::Zone,
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
        let inet_addrs: Vec<String> = INITIAL
            .iter()
            .map(|a| if *a == "198.51.100.2" { format!("{a}/24") } else { format!("{a}/32") })
            .collect();
        for (ns, dev, addrs) in [(&host, &vh, vec!["198.51.100.1/24".to_string()]), (&inet, &vi, inet_addrs)]
        {
            for addr in &addrs {
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
        certs::make_ca(dir.path());

        let zone: dns::Zone = Arc::new(Mutex::new(
            zone()
                .into_iter()
                .map(|(name, ip)| (name.to_string(), ip.parse().expect("zone ip")))
                .collect::<HashMap<_, _>>(),
        ));
        let upstream_queries = Arc::new(Mutex::new(Vec::new()));
        let upstream_raw: dns::Raw = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let dns_thread = {
            let ns = inet_ns.try_clone().expect("dup");
            let (zone, queries, raw, stop) =
                (zone.clone(), upstream_queries.clone(), upstream_raw.clone(), stop.clone());
            let (ready_tx, ready_rx) = std::sync::mpsc::channel();
            let t = std::thread::spawn(move || {
                setns(ns.as_fd(), CloneFlags::CLONE_NEWNET).expect("setns internet");
                let socket = UdpSocket::bind((DNS, 53)).expect("bind fake dns");
                socket.set_read_timeout(Some(Duration::from_millis(50))).expect("timeout");
                ready_tx.send(()).expect("ready");
                dns::serve(socket, zone, queries, raw, stop);
            });
            ready_rx.recv_timeout(Duration::from_secs(5)).expect("fake dns ready");
            t
        };
        let mut web = Command::new("ip")
            .args(["netns", "exec", &inet, "python3", "-c", web::WEB_SERVER])
            .arg(dir.path().join("leaf.pem"))
            .arg(dir.path().join("leaf.key"))
            .args(INITIAL)
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
            inet_dev: vi,
            dir,
            upstream_queries,
            upstream_raw,
            zone,
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

    /// Makes `name` resolve to `ip` in the fake DNS, and gives the internet side that address
    /// (reachable from the host side) if it does not hold it yet. The web server does not
    /// answer on added addresses: start a server of the test's own there.
    pub fn add_name(&self, name: &str, ip: &str) {
        let addr: Ipv4Addr = ip.parse().expect("an IPv4 address");
        let known = self.zone.lock().unwrap().values().any(|a| *a == addr) || INITIAL.contains(&ip);
        if !known {
            sh(&["ip", "-n", &self.inet, "addr", "add", &format!("{ip}/32"), "dev", &self.inet_dev]);
        }
        self.zone.lock().unwrap().insert(name.to_ascii_lowercase(), addr);
    }

    /// A certificate from the test CA for `names` (the first is also the subject); returns
    /// the (cert, key) PEM files, named after the first name.
    pub fn leaf(&self, names: &[&str]) -> (PathBuf, PathBuf) {
        certs::leaf(self.dir.path(), names[0], names)
    }

    /// A command that runs in the host-side namespace, where ringfence's upstream traffic
    /// belongs: a whole `ringfence run` started this way lives in the fake world.
    pub fn host_command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        in_namespace(program, &self.host_ns)
    }

    /// The internet namespace's handle file, for a test that must enter it from a process of
    /// its own (`nsenter --net=PATH`).
    pub fn internet_ns_path(&self) -> PathBuf {
        PathBuf::from(format!("/run/netns/{}", self.inet))
    }

    /// A command that runs in the internet namespace, beside the servers.
    pub fn internet_command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        in_namespace(program, &self.inet_ns)
    }
}

fn in_namespace(program: impl AsRef<std::ffi::OsStr>, ns: &OwnedFd) -> Command {
    let ns = ns.try_clone().expect("dup netns");
    let mut cmd = Command::new(program);
    // SAFETY: setns is async-signal-safe; the fd is owned by the closure, so it outlives the fork.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
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

impl Default for FakeInternet {
    fn default() -> FakeInternet {
        FakeInternet::new()
    }
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
