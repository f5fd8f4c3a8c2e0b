//! Benchmark, not a timed test: run with `bench/netfence/run.sh` (release build, `--ignored`).
//! Latency per request through the proxy vs direct, spliced bulk throughput, DNS answer latency
//! and 1,000 concurrent proxied connections, all against the fake internet on this machine.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{Name, RecordType};
use journal::Mode;
use netfence::{NetConfig, NetFence};
use nix::sched::{CloneFlags, setns};
use testnet::*;

const PORT: u16 = 8080;
const REQUESTS: usize = 2000;
const BULK: u64 = 2 << 30;
const CONCURRENT: usize = 1000;

/// A minimal HTTP/1.1 server: `GET /` answers 2 bytes, `GET /bulk` streams `BULK` bytes, one
/// thread per connection, so the proxy (not the server) is what is measured.
fn serve(listener: TcpListener) {
    for conn in listener.incoming().flatten() {
        std::thread::spawn(move || {
            let mut conn = conn;
            let _ = conn.set_nodelay(true);
            let mut buf = [0u8; 4096];
            let mut head = Vec::new();
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            if head.starts_with(b"GET /bulk") {
                let _ =
                    conn.write_all(format!("HTTP/1.1 200 OK\r\nContent-Length: {BULK}\r\n\r\n").as_bytes());
                let chunk = vec![b'x'; 1 << 20];
                for _ in 0..(BULK >> 20) {
                    if conn.write_all(&chunk).is_err() {
                        return;
                    }
                }
            } else {
                let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                // Hold the connection until the client closes it (the concurrency test).
                let _ = conn.read(&mut buf);
            }
        });
    }
}

fn in_ns<T: Send>(ns: &OwnedFd, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            setns(ns.as_fd(), CloneFlags::CLONE_NEWNET).expect("setns");
            f()
        })
        .join()
        .expect("thread")
    })
}

fn request(addr: SocketAddr, host: &str) -> Duration {
    let start = Instant::now();
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_nodelay(true).expect("nodelay");
    s.write_all(format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes()).expect("write");
    let mut buf = [0u8; 256];
    let mut got = 0;
    while !buf[..got].ends_with(b"ok") {
        let n = s.read(&mut buf[got..]).expect("read");
        assert!(n > 0, "closed early");
        got += n;
    }
    start.elapsed()
}

fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let at =
        |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)].as_secs_f64() * 1e6;
    (at(0.50), at(0.99))
}

fn bulk(addr: SocketAddr, host: &str) -> f64 {
    let start = Instant::now();
    let mut s = TcpStream::connect(addr).expect("connect");
    s.write_all(format!("GET /bulk HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes()).expect("write");
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => total += n as u64,
            Err(e) => panic!("bulk read: {e}"),
        }
        if total >= BULK {
            break;
        }
    }
    total as f64 / start.elapsed().as_secs_f64() / 1e9
}

#[test]
#[ignore = "benchmark: run bench/netfence/run.sh"]
fn bench() {
    if !privileged() {
        return;
    }
    let _ = nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE, 65536, 65536);
    let net = FakeInternet::new();
    let inet = std::fs::File::open(format!("/run/netns/{}", net.inet)).expect("inet ns").into();
    let listener = in_ns(&inet, || TcpListener::bind((ALLOWED_IP, PORT)).expect("bind"));
    std::thread::spawn(move || serve(listener));

    let fence_ns = sandbox::network::create().expect("fence netns");
    let cgroup = TestCgroup::new("bench");
    let policy = format!("version: 1\negress:\n  allow:\n    - {{ host: allowed.test, ports: [{PORT}] }}\n");
    let cfg = NetConfig {
        netns: fence_ns.try_clone().expect("dup"),
        policy: Arc::new(policy::parse(&policy, "ringfence.yml").expect("policy")),
        mode: Mode::Block,
        upstream_dns: net.upstream(),
        cgroup_procs: cgroup.procs_path(),
        pid_hint: None,
        inspect: netfence::InspectConfig::without_secrets("test", &[]).expect("inspection config"),
    };
    let fence = on_host_side(&net, || NetFence::start(cfg, Box::new(|_| {})).expect("fence"));

    // DNS: sequential A queries for an allowed name, as a client in the fence sees them.
    let (dns_p50, dns_p99, fake) = in_ns(&fence_ns, || {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
        socket.connect("127.0.0.1:53").expect("connect");
        let mut samples = Vec::new();
        let mut buf = [0u8; 512];
        let mut answer = Vec::new();
        for _ in 0..REQUESTS {
            let mut q = Message::query();
            q.metadata.recursion_desired = true;
            q.add_query(Query::query(Name::from_ascii("allowed.test.").expect("name"), RecordType::A));
            let bytes = q.to_vec().expect("encode");
            let start = Instant::now();
            socket.send(&bytes).expect("send");
            let n = socket.recv(&mut buf).expect("recv");
            samples.push(start.elapsed());
            answer = buf[..n].to_vec();
        }
        let reply = Message::from_vec(&answer).expect("reply");
        let ip = match &reply.answers[0].data {
            hickory_proto::rr::RData::A(a) => a.0,
            other => panic!("{other:?}"),
        };
        let (p50, p99) = percentiles(samples);
        (p50, p99, ip)
    });
    let proxied: SocketAddr = (fake, PORT).into();
    let direct: SocketAddr = (ALLOWED_IP.parse::<std::net::Ipv4Addr>().expect("ip"), PORT).into();

    let (proxy_p50, proxy_p99) =
        in_ns(&fence_ns, || percentiles((0..REQUESTS).map(|_| request(proxied, "allowed.test")).collect()));
    let (direct_p50, direct_p99) =
        on_host_side(&net, || percentiles((0..REQUESTS).map(|_| request(direct, "allowed.test")).collect()));
    let proxy_gbps = in_ns(&fence_ns, || bulk(proxied, "allowed.test"));
    let direct_gbps = on_host_side(&net, || bulk(direct, "allowed.test"));

    // 1,000 connections open at once through the proxy, each answered, then all closed.
    let held = in_ns(&fence_ns, || {
        let mut conns = Vec::new();
        for _ in 0..CONCURRENT {
            let mut s = TcpStream::connect(proxied).expect("connect");
            s.write_all(b"GET / HTTP/1.1\r\nHost: allowed.test\r\n\r\n").expect("write");
            conns.push(s);
        }
        let mut ok = 0;
        for s in &mut conns {
            s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
            let mut buf = [0u8; 256];
            let mut got = 0;
            while !buf[..got].ends_with(b"ok") {
                match s.read(&mut buf[got..]) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got += n,
                }
            }
            if buf[..got].ends_with(b"ok") {
                ok += 1;
            }
        }
        ok
    });
    let stats = fence.stop();

    println!("requests: {REQUESTS} sequential, one new TCP connection each (HTTP/1.1 GET, 2-byte body)");
    println!("latency direct   p50 {direct_p50:.0} us  p99 {direct_p99:.0} us");
    println!(
        "latency proxied  p50 {proxy_p50:.0} us  p99 {proxy_p99:.0} us  (added p50 {:.0} us)",
        proxy_p50 - direct_p50
    );
    println!("bulk {} GiB: direct {direct_gbps:.2} GB/s, proxied {proxy_gbps:.2} GB/s", BULK >> 30);
    println!("dns A (synthetic answer) p50 {dns_p50:.0} us  p99 {dns_p99:.0} us over {REQUESTS} queries");
    println!("concurrent: {held}/{CONCURRENT} connections answered while all held open");
    println!(
        "fence counted {} connections, {} queries, {} blocked",
        stats.connections, stats.queries, stats.blocked
    );
    assert_eq!(held, CONCURRENT);
}
