//! Plain-HTTP gateways to model APIs, for clients that cannot be told to trust a CA: inside the
//! fence, `http://127.0.0.1:<port>` stands for one provider's API (point e.g.
//! `ANTHROPIC_BASE_URL` at it). Requests get exactly what an intercepted HTTPS request gets
//! (route rules, secrets, metering, budget) and leave over verified TLS.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use journal::{NetConnect, Verdict};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

use super::{Conn, Counters};
use crate::state::Shared;

/// A provider's API host, the gateway's port inside the fence, and the variable that names it.
pub struct Gateway {
    pub host: &'static str,
    pub port: u16,
    /// Set inside the fence to the gateway's URL, e.g. `RINGFENCE_ANTHROPIC_BASE_URL`.
    pub env: &'static str,
}

/// Ports far from common development servers; the fence's loopback is the agent's own, so
/// these only need to be free there.
pub const GATEWAYS: [Gateway; 2] = [
    Gateway { host: "api.anthropic.com", port: 47801, env: "RINGFENCE_ANTHROPIC_BASE_URL" },
    Gateway { host: "api.openai.com", port: 47802, env: "RINGFENCE_OPENAI_BASE_URL" },
];

impl Gateway {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(Ipv4Addr::LOCALHOST.into(), self.port)
    }
}

/// The gateways a run opens: one for each provider whose host is inspected (it has a secret,
/// route rules or a budget).
pub fn wanted(policy: &policy::Policy, vault: &inspect::Vault) -> Vec<&'static Gateway> {
    GATEWAYS
        .iter()
        .filter(|g| {
            super::inspect_rules(policy).iter().any(|(pattern, _)| pattern.matches(g.host))
                || vault.wants_inspection(g.host)
                || inspect::provider_for(g.host)
                    .is_some_and(|p| policy.budget.contains_key(super::request::provider_name(p)))
        })
        .collect()
}

pub(crate) async fn serve(
    listener: TcpListener,
    host: &'static str,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
) {
    let accepting = shared.clone();
    crate::proxy::accept_each(listener, &accepting, stop, alive, move |stream, peer, stop| {
        handle(stream, peer, host, shared.clone(), stop)
    })
    .await
}

async fn handle(
    client: TcpStream,
    peer: SocketAddr,
    host: &'static str,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let start = Instant::now();
    let Ok(local) = client.local_addr() else { return };
    let attr = shared.clone();
    let pid = tokio::task::spawn_blocking(move || attr.attributor.tcp(peer, local)).await.ok().flatten();
    let decision = shared.policy.egress_decision(host, 443);
    let mut event = NetConnect {
        pid,
        protocol: "tcp".into(),
        host: Some(host.to_string()),
        sni: None,
        ip: local.ip().to_string(),
        port: local.port(),
        upstream: None,
        verdict: Verdict::Allowed,
        rule: format!("gateway {host}; {}", decision.rule),
        violation: !decision.allowed,
        reason: None,
        bytes_up: 0,
        bytes_down: 0,
        duration_ms: 0,
    };
    let (targets, refused) = if !decision.allowed && shared.block() {
        event.verdict = Verdict::Blocked;
        (Vec::new(), Some(format!("{host} is not allowed ({})", decision.rule)))
    } else {
        match shared.upstream.resolve(host).await {
            Ok(ips) => {
                let route = crate::proxy::vet(&shared, decision.clone(), ips, 443);
                match route.reason {
                    Some(reason) if shared.block() => (Vec::new(), Some(reason)),
                    _ => (route.targets, None),
                }
            }
            Err(e) => (Vec::new(), Some(format!("resolving {host}: {e}"))),
        }
    };
    event.reason = refused.clone();
    let conn = Conn {
        host: host.to_string(),
        port: 443,
        pid,
        rule: decision.rule.clone(),
        targets,
        refused,
        client_tls: false,
        upstream_tls: true,
        check_authority: false,
    };
    let counters: Counters = Default::default();
    let peer: super::Peer = Default::default();
    tokio::select! {
        _ = super::serve(client, Vec::new(), conn, shared.clone(), counters.clone(), peer.clone()) => {}
        _ = stop.changed() => {
            event.reason = Some(event.reason.map_or(String::new(), |r| format!("{r}; ")) + "closed when the run ended");
        }
    }
    event.upstream = peer.get().map(|a| a.to_string());
    event.bytes_up = counters.0.load(Ordering::Relaxed);
    event.bytes_down = counters.1.load(Ordering::Relaxed);
    event.duration_ms = start.elapsed().as_millis() as u64;
    shared.record_connect(event);
}
