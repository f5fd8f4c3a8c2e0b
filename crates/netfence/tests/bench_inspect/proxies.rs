//! The proxies ringfence is compared with, started in the fake internet's host side (where
//! ringfence's own upstream connections live) on its loopback: mitmproxy (regular mode, TLS
//! interception on, upstream verified against the test CA) and Squid (a forward proxy whose
//! CONNECT tunnels pass TLS through untouched). Both resolve the benchmark's names from a hosts
//! file; mitmproxy gets it bind-mounted over /etc/hosts in a private mount namespace.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use testnet::{DNS, FakeInternet, on_host_side};

pub struct Proxy {
    pub url: String,
    pub pid: u32,
    child: Child,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_listening(net: &FakeInternet, addr: &str, what: &str) -> bool {
    let addr: SocketAddr = addr.parse().expect("address");
    let up = on_host_side(net, || {
        (0..200).any(|_| {
            let ok = TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok();
            if !ok {
                std::thread::sleep(Duration::from_millis(100));
            }
            ok
        })
    });
    if !up {
        eprintln!("{what} never listened on {addr}; its row is left out");
    }
    up
}

/// mitmdump from the venv `scratch/mitm-venv` (made by the bench script); `None` if missing.
/// Returns the proxy and its CA certificate, which the client trusts.
pub fn mitmproxy(net: &FakeInternet, scratch: &Path, hosts: &Path) -> Option<(Proxy, PathBuf)> {
    let bin = scratch.join("mitm-venv/bin/mitmdump");
    if !bin.exists() {
        eprintln!("no {}: the mitmproxy row is left out (run the bench script)", bin.display());
        return None;
    }
    let confdir = scratch.join("mitmproxy-conf");
    let child = net
        .host_command("unshare")
        .args(["--mount", "sh", "-c", "mount --bind \"$0\" /etc/hosts && exec \"$@\""])
        .arg(hosts)
        .arg(&bin)
        .args(["-q", "--listen-host", "127.0.0.1", "--listen-port", "18081"])
        .args(["--set", &format!("confdir={}", confdir.display())])
        .args(["--set", &format!("ssl_verify_upstream_trusted_ca={}", net.ca().display())])
        // Stream bodies past 1 MiB instead of holding them whole; HTTP/1.1 upstream, as
        // ringfence uses for an HTTP/1.1 client.
        .args(["--set", "stream_large_bodies=1m", "--set", "http2=false"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("start mitmdump");
    let proxy = Proxy { url: "http://127.0.0.1:18081".into(), pid: child.id(), child };
    if !wait_listening(net, "127.0.0.1:18081", "mitmdump") {
        return None;
    }
    Some((proxy, confdir.join("mitmproxy-ca-cert.pem")))
}

/// Squid as a plain forward proxy, no caching, no logging, no TLS bumping.
pub fn squid(net: &FakeInternet, scratch: &Path, hosts: &Path) -> Option<Proxy> {
    let Some(bin) = ["/usr/sbin/squid", "/usr/bin/squid"].into_iter().map(PathBuf::from).find(|p| p.exists())
    else {
        eprintln!("no squid: its row is left out (apt-get install squid)");
        return None;
    };
    let dir = scratch.join("squid");
    std::fs::create_dir_all(&dir).expect("squid dir");
    // Squid drops to its own user; it must be able to write its pid and log here.
    std::process::Command::new("chmod").arg("0777").arg(&dir).status().expect("chmod");
    let conf = dir.join("squid.conf");
    let d = dir.display();
    std::fs::write(
        &conf,
        format!(
            "http_port 127.0.0.1:13128\nhttp_access allow all\ncache deny all\ncache_mem 8 MB\n\
access_log none\ncache_store_log none\ncache_log {d}/cache.log\npid_filename {d}/squid.pid\n\
coredump_dir {d}\nhosts_file {}\ndns_nameservers {DNS}\nshutdown_lifetime 0 seconds\n",
            hosts.display()
        ),
    )
    .expect("squid.conf");
    let child = net
        .host_command(&bin)
        .args(["-N", "-f"])
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("start squid");
    let proxy = Proxy { url: "http://127.0.0.1:13128".into(), pid: child.id(), child };
    wait_listening(net, "127.0.0.1:13128", "squid").then_some(proxy)
}
