//! Benchmark, not a test: run with `bench/netfence/inspect.sh` (release build, `--ignored`;
//! `test = false` in Cargo.toml keeps it out of the test suite's build).
//!
//! HTTPS through ringfence's proxy — spliced pass-through (a `passthrough` host), terminated by
//! default (every request's authority checked, nothing else), and inspected (TLS terminated, a
//! secret injected, usage metered) — against the same client going direct, through mitmproxy
//! (TLS interception) and through Squid (CONNECT pass-through), all in the fake internet on
//! this machine. One client for every row: curl, HTTP/1.1, no TLS session reuse, so every new
//! connection is a full handshake. One upstream for every row: a Rust HTTPS server.

mod proxies;
mod upstream;

use std::net::TcpListener;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::process::Output;
use std::sync::{Arc, Mutex};

use journal::{Event, Mode};
use netfence::tls::{RunCa, UpstreamTls};
use netfence::{InspectConfig, NetConfig, NetFence};
use nix::sched::{CloneFlags, setns};
use testnet::*;

const UPSTREAM_IP: &str = "198.51.100.20";
const REQUESTS: usize = 1000;
/// Rounds, unless `RINGFENCE_BENCH_ROUNDS` says otherwise.
const ROUNDS: usize = 3;
const BULK: u64 = 1 << 30;
/// Hosts every row's upstream answers for.
const NAMES: [&str; 4] = ["bench.test", "plain.test", "default.test", "api.anthropic.com"];

const POLICY: &str = "version: 1
egress:
  allow:
    - { host: bench.test, ports: [443] }
    - { host: plain.test, ports: [443] }
    - { host: default.test, ports: [443] }
    - { host: api.anthropic.com, ports: [443] }
inspect:
  plain.test: { passthrough: true }
budget:
  anthropic: { max_tokens: 1000000000000 }
";

/// Where a row's client runs and what it talks to.
struct Row {
    name: &'static str,
    /// In the fence's namespace (ringfence rows) or on the host side.
    fenced: bool,
    /// The host of the URL: `plain.test` is spliced (passthrough), `default.test` terminated
    /// by default, `bench.test` and `api.anthropic.com` inspected (when the client is fenced).
    host: &'static str,
    /// Sends bench.test's sentinel (refused anywhere but bench.test and the spliced host).
    secret: bool,
    /// The SSE stream's host.
    sse_host: &'static str,
    proxy: Option<String>,
    cpu: Cpu,
}

/// Whose CPU time is the proxy's.
#[derive(Clone, Copy)]
enum Cpu {
    None,
    /// This process's threads with this name (the fence's runtime).
    Threads(&'static str),
    Process(u32),
}

impl Cpu {
    /// utime + stime, in clock ticks.
    fn ticks(self) -> u64 {
        let of = |stat: &str| -> u64 {
            let after = &stat[stat.rfind(')').map_or(0, |i| i + 2)..];
            let f: Vec<&str> = after.split_whitespace().collect();
            f[11].parse::<u64>().unwrap_or(0) + f[12].parse::<u64>().unwrap_or(0)
        };
        match self {
            Cpu::None => 0,
            Cpu::Process(pid) => std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(0, |s| of(&s)),
            Cpu::Threads(name) => std::fs::read_dir("/proc/self/task")
                .expect("tasks")
                .flatten()
                .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == name))
                .filter_map(|t| std::fs::read_to_string(t.path().join("stat")).ok())
                .map(|s| of(&s))
                .sum(),
        }
    }
}

struct Bench {
    net: FakeInternet,
    fence_ns: OwnedFd,
    cgroup: TestCgroup,
    bundle: PathBuf,
    scratch: PathBuf,
    headers: Vec<String>,
}

impl Bench {
    fn curl(&self, row: &Row, args: &[&str]) -> Result<String, String> {
        let bundle = self.bundle.display().to_string();
        let mut argv: Vec<String> =
            ["curl", "-sS", "--http1.1", "--no-sessionid", "--max-time", "600", "--cacert"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        argv.push(bundle);
        if let Some(proxy) = &row.proxy {
            argv.extend(["-x".to_string(), proxy.clone()]);
        } else if !row.fenced {
            for name in NAMES {
                argv.extend(["--resolve".to_string(), format!("{name}:443:{UPSTREAM_IP}")]);
            }
        }
        argv.extend(args.iter().map(|s| s.to_string()));
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let out: Output = if row.fenced {
            run_in(&self.fence_ns, &self.cgroup, &argv).1
        } else {
            self.net.host_command(argv[0]).args(&argv[1..]).output().expect("curl")
        };
        if !out.status.success() {
            return Err(format!("{}: {argv:?}: {}", row.name, String::from_utf8_lossy(&out.stderr)));
        }
        Ok(stdout(&out))
    }

    /// `REQUESTS` small GETs in one curl; new connection each or one kept alive.
    /// Returns (p50, p99) in µs and the proxy's CPU ms per 1,000 requests.
    fn latency(&self, row: &Row, new_connection: bool) -> (f64, f64, f64) {
        let cfg = self.scratch.join("requests.curl");
        let one = format!("url = \"https://{}/\"\noutput = \"/dev/null\"\n", row.host);
        std::fs::write(&cfg, one.repeat(REQUESTS)).expect("curl config");
        let mut args = vec![
            "-K".to_string(),
            cfg.display().to_string(),
            "-w".into(),
            "%{http_code} %{time_total}\n".into(),
        ];
        if new_connection {
            args.extend(["-H".to_string(), "Connection: close".into()]);
        }
        for h in self.headers.iter().filter(|_| row.secret) {
            args.extend(["-H".to_string(), h.clone()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let before = row.cpu.ticks();
        let out = self.curl(row, &args).unwrap_or_else(|e| panic!("{e}"));
        let cpu = (row.cpu.ticks() - before) as f64 * 10.0 * 1000.0 / REQUESTS as f64;
        let mut samples: Vec<f64> = out
            .lines()
            .map(|l| {
                let (code, t) = l.split_once(' ').expect("code and time");
                assert_eq!(code, "200", "{}: {l}", row.name);
                t.parse::<f64>().expect("time") * 1e6
            })
            .collect();
        assert_eq!(samples.len(), REQUESTS, "{}", row.name);
        samples.sort_by(f64::total_cmp);
        let at = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
        (at(0.50), at(0.99), cpu)
    }

    /// One transfer; returns (MB/s, proxy CPU seconds, bytes), or NaNs and 0 bytes (after
    /// saying why) when the proxy broke it.
    fn transfer(&self, row: &Row, args: &[&str]) -> (f64, f64, u64) {
        let mut all = vec!["-o", "/dev/null", "-w", "%{http_code} %{size_download} %{time_total}"];
        all.extend_from_slice(args);
        let before = row.cpu.ticks();
        let out = match self.curl(row, &all) {
            Ok(out) => out,
            Err(e) => {
                println!("FAILED {e}");
                return (f64::NAN, f64::NAN, 0);
            }
        };
        let cpu = (row.cpu.ticks() - before) as f64 / 100.0;
        let f: Vec<&str> = out.split_whitespace().collect();
        assert_eq!(f[0], "200", "{}: {out}", row.name);
        let bytes: u64 = f[1].parse().expect("size");
        let secs: f64 = f[2].parse().expect("time");
        (bytes as f64 / secs / 1e6, cpu, bytes)
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn fmt_all(v: &[f64], digits: usize) -> String {
    v.iter().map(|x| format!("{x:.digits$}")).collect::<Vec<_>>().join(" / ")
}

#[test]
#[ignore = "benchmark: run bench/netfence/inspect.sh"]
fn bench_inspect() {
    if !privileged() {
        return;
    }
    let scratch = PathBuf::from(
        std::env::var("RINGFENCE_BENCH_SCRATCH").unwrap_or_else(|_| "/tmp/ringfence-bench".into()),
    );
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    let net = FakeInternet::new();
    for name in NAMES {
        net.add_name(name, UPSTREAM_IP);
    }
    let (cert, key) = net.leaf(&NAMES);
    let inet: OwnedFd = std::fs::File::open(format!("/run/netns/{}", net.inet)).expect("inet ns").into();
    let listener = std::thread::scope(|s| {
        s.spawn(|| {
            setns(inet.as_fd(), CloneFlags::CLONE_NEWNET).expect("setns");
            TcpListener::bind((UPSTREAM_IP, 443)).expect("bind upstream")
        })
        .join()
        .expect("thread")
    });
    upstream::serve(listener, &cert, &key);

    // The fence: secrets for bench.test and the model API, a budget (so usage is metered).
    let fence_ns = sandbox::network::create().expect("fence netns");
    let cgroup = TestCgroup::new("bench-inspect");
    let ca = Arc::new(RunCa::new("bench").expect("run CA"));
    let vault = inspect::Vault::new(vec![
        inspect::SecretSpec {
            name: "BENCH_TOKEN".into(),
            value: "ghs_R3alT0kenValue1234567890abcdefGHIJ".into(),
            hosts: vec![policy::HostPattern::parse("bench.test").expect("host")],
            inject: Vec::new(),
        },
        inspect::SecretSpec {
            name: "ANTHROPIC_API_KEY".into(),
            value: format!("sk-ant-api03-{}", "R3alKey".repeat(12)),
            hosts: vec![policy::HostPattern::parse("api.anthropic.com").expect("host")],
            inject: Vec::new(),
        },
    ])
    .expect("vault");
    let sentinels = vault.sentinels();
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let cfg = NetConfig {
        netns: fence_ns.try_clone().expect("dup"),
        policy: Arc::new(policy::parse(POLICY, "ringfence.yml").expect("policy")),
        mode: Mode::Block,
        upstream_dns: net.upstream(),
        cgroup_procs: cgroup.procs_path(),
        pid_hint: None,
        inspect: InspectConfig {
            ca: ca.clone(),
            upstream_tls: UpstreamTls::new(&[net.ca()]).expect("upstream trust"),
            vault: Arc::new(vault),
            repo: None,
            terminate_tls: true,
        },
    };
    let fence = on_host_side(&net, || {
        NetFence::start(
            cfg,
            Box::new(move |e| {
                if let Event::HttpRequest(r) = e
                    && r.usage.is_some()
                {
                    sink.lock().unwrap().push(r);
                }
            }),
        )
        .expect("fence")
    });

    let hosts = scratch.join("hosts");
    std::fs::write(&hosts, format!("{UPSTREAM_IP} {}\n", NAMES.join(" "))).expect("hosts");
    // `RINGFENCE_BENCH_ROWS=direct,squid,inspected` keeps only rows whose name contains one of
    // the words (direct is always kept: the other rows are measured against it); for profiling
    // one row, or for quicker paired runs.
    let only: Option<Vec<String>> = std::env::var("RINGFENCE_BENCH_ROWS")
        .ok()
        .map(|v| v.split(',').map(|w| w.trim().to_string()).filter(|w| !w.is_empty()).collect());
    let wanted = |name: &str| {
        name == "direct" || only.as_ref().is_none_or(|words| words.iter().any(|w| name.contains(w.as_str())))
    };
    let rounds: usize =
        std::env::var("RINGFENCE_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(ROUNDS);
    let mitm = if wanted("mitmproxy") { proxies::mitmproxy(&net, &scratch, &hosts) } else { None };
    let squid = if wanted("squid") { proxies::squid(&net, &scratch, &hosts) } else { None };
    let mut bundle = std::fs::read_to_string(net.ca()).expect("test CA") + &ca.pem();
    if let Some((_, mitm_ca)) = &mitm {
        bundle += &std::fs::read_to_string(mitm_ca).expect("mitmproxy CA");
    }
    let bundle_file = scratch.join("ca-bundle.pem");
    std::fs::write(&bundle_file, bundle).expect("bundle");

    let find = |name: &str| sentinels.iter().find(|(n, _)| n == name).expect("sentinel").1.clone();
    let bench = Bench {
        net,
        fence_ns,
        cgroup,
        bundle: bundle_file,
        scratch: scratch.clone(),
        headers: vec![format!("Authorization: Bearer {}", find("BENCH_TOKEN"))],
    };
    let api_key = format!("x-api-key: {}", find("ANTHROPIC_API_KEY"));

    let mut rows = vec![
        Row {
            name: "direct",
            fenced: false,
            host: "bench.test",
            secret: true,
            sse_host: "api.anthropic.com",
            proxy: None,
            cpu: Cpu::None,
        },
        Row {
            name: "ringfence spliced",
            fenced: true,
            host: "plain.test",
            secret: true,
            sse_host: "plain.test",
            proxy: None,
            cpu: Cpu::Threads("ringfence-net"),
        },
        Row {
            name: "ringfence terminated",
            fenced: true,
            host: "default.test",
            secret: false,
            sse_host: "default.test",
            proxy: None,
            cpu: Cpu::Threads("ringfence-net"),
        },
        Row {
            name: "ringfence inspected",
            fenced: true,
            host: "bench.test",
            secret: true,
            sse_host: "api.anthropic.com",
            proxy: None,
            cpu: Cpu::Threads("ringfence-net"),
        },
    ];
    if let Some((p, _)) = &mitm {
        rows.push(Row {
            name: "mitmproxy (intercepting)",
            fenced: false,
            host: "bench.test",
            secret: true,
            sse_host: "api.anthropic.com",
            proxy: Some(p.url.clone()),
            cpu: Cpu::Process(p.pid),
        });
    }
    if let Some(p) = &squid {
        rows.push(Row {
            name: "squid (CONNECT)",
            fenced: false,
            host: "bench.test",
            secret: true,
            sse_host: "api.anthropic.com",
            proxy: Some(p.url.clone()),
            cpu: Cpu::Process(p.pid),
        });
    }

    rows.retain(|r| wanted(r.name));
    // Rounds interleave the rows, so load from other work on the machine spreads over all.
    type Samples = Vec<Vec<f64>>;
    let n = rows.len();
    let (mut new_p50, mut new_p99, mut new_cpu): (Samples, Samples, Samples) =
        (vec![vec![]; n], vec![vec![]; n], vec![vec![]; n]);
    let (mut ka_p50, mut ka_p99, mut ka_cpu): (Samples, Samples, Samples) =
        (vec![vec![]; n], vec![vec![]; n], vec![vec![]; n]);
    let (mut bulk, mut bulk_cpu, mut sse, mut sse_cpu): (Samples, Samples, Samples, Samples) =
        (vec![vec![]; n], vec![vec![]; n], vec![vec![]; n], vec![vec![]; n]);
    let sse_body = r#"{"model":"claude-sonnet-4-5","max_tokens":1024,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    // `RINGFENCE_BENCH_PARTS=bulk,sse` measures only those parts (new, ka, bulk, sse); the
    // others read NaN. For profiling one kind of work at a time.
    let parts = std::env::var("RINGFENCE_BENCH_PARTS").unwrap_or_else(|_| "new,ka,bulk,sse".into());
    let part = |p: &str| parts.split(',').any(|w| w.trim() == p);
    let skipped = (f64::NAN, f64::NAN, f64::NAN);
    for round in 0..rounds {
        for (i, row) in rows.iter().enumerate() {
            let (p50, p99, cpu) = if part("new") { bench.latency(row, true) } else { skipped };
            new_p50[i].push(p50);
            new_p99[i].push(p99);
            new_cpu[i].push(cpu);
            let (p50, p99, cpu) = if part("ka") { bench.latency(row, false) } else { skipped };
            ka_p50[i].push(p50);
            ka_p99[i].push(p99);
            ka_cpu[i].push(cpu);
            let url = format!("https://{}/bulk/{BULK}", row.host);
            let (mbps, cpu, bytes) =
                if part("bulk") { bench.transfer(row, &[&url]) } else { (f64::NAN, f64::NAN, BULK) };
            assert!(bytes == BULK || row.proxy.is_some(), "{}", row.name);
            bulk[i].push(mbps);
            bulk_cpu[i].push(cpu);
            let url = format!("https://{}/v1/messages", row.sse_host);
            let mut args = vec!["-H", "content-type: application/json", "--data", sse_body, &url];
            if row.secret {
                args.extend(["-H", api_key.as_str()]);
            }
            let (mbps, cpu, bytes) = if part("sse") {
                bench.transfer(row, &args)
            } else {
                (f64::NAN, f64::NAN, upstream::sse_bytes())
            };
            assert!(bytes == upstream::sse_bytes() || row.proxy.is_some(), "{}: {bytes} bytes", row.name);
            sse[i].push(mbps);
            sse_cpu[i].push(cpu);
            println!(
                "round {round} {:<26} new p50 {:>6.0} us p99 {:>6.0} | keep-alive p50 {:>6.0} p99 {:>6.0} | bulk {:>7.0} MB/s | sse {:>6.1} MB/s",
                row.name,
                new_p50[i][round],
                new_p99[i][round],
                ka_p50[i][round],
                ka_p99[i][round],
                bulk[i][round],
                sse[i][round]
            );
        }
    }
    let metered = std::mem::take(&mut *events.lock().unwrap());
    let _ = fence.stop();
    let metered_rows = rows.iter().filter(|r| r.fenced && r.sse_host == "api.anthropic.com").count()
        * usize::from(part("sse"));
    assert_eq!(metered.len(), rounds * metered_rows, "one metered model call per round");
    for r in &metered {
        let usage = r.usage.as_ref().expect("usage");
        assert_eq!(usage.output_tokens, upstream::SSE_OUTPUT_TOKENS, "metering read the stream's usage");
    }

    let event_bytes = upstream::sse_bytes() as f64 / upstream::SSE_DELTAS as f64;
    println!(
        "\nmedian of {rounds} rounds; {REQUESTS} requests per latency sample; bulk {} MiB; SSE {} deltas ({:.0} B each)",
        BULK >> 20,
        upstream::SSE_DELTAS,
        event_bytes
    );
    println!(
        "| row | new conn p50 | new conn p99 | keep-alive p50 | keep-alive p99 | bulk MB/s | SSE MB/s | SSE events/s | proxy CPU ms / 1k req (new, keep-alive) | proxy CPU s / GiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let d50 = median(new_p50[0].clone());
    let k50 = median(ka_p50[0].clone());
    for (i, row) in rows.iter().enumerate() {
        let (np50, kp50) = (median(new_p50[i].clone()), median(ka_p50[i].clone()));
        let added = |v: f64, base: f64| if i == 0 { String::new() } else { format!(" (+{:.0})", v - base) };
        let sse_mbps = median(sse[i].clone());
        println!(
            "| {} | {:.0} µs{} | {:.0} µs | {:.0} µs{} | {:.0} µs | {:.0} | {:.1} | {:.0} | {:.0}, {:.0} | {:.2} |",
            row.name,
            np50,
            added(np50, d50),
            median(new_p99[i].clone()),
            kp50,
            added(kp50, k50),
            median(ka_p99[i].clone()),
            median(bulk[i].clone()),
            sse_mbps,
            sse_mbps * 1e6 / event_bytes,
            median(new_cpu[i].clone()),
            median(ka_cpu[i].clone()),
            median(bulk_cpu[i].clone()),
        );
    }
    println!("\nall rounds (new p50 µs; bulk MB/s; SSE MB/s):");
    for (i, row) in rows.iter().enumerate() {
        println!(
            "{:<26} {} ; {} ; {}",
            row.name,
            fmt_all(&new_p50[i], 0),
            fmt_all(&bulk[i], 0),
            fmt_all(&sse[i], 1)
        );
    }
}
