//! The egress fence's wiring: the fence's network namespace gets ringfence's resolver and
//! transparent proxy, decided by this run's policy; in audit mode the observed endpoints become
//! a suggested policy.

use std::os::fd::BorrowedFd;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use journal::Mode;
use netfence::{NetConfig, NetFence, NetStats};

use super::Plan;
use super::recorder::Recorder;

/// The job fence's network: ringfence's resolver and proxy in the job's own namespace.
pub fn start_job(
    plan: &Plan,
    netns: BorrowedFd<'_>,
    cgroup: &Path,
    recorder: Arc<Recorder>,
) -> anyhow::Result<NetFence> {
    let cfg = config(plan, netns, cgroup, None, netfence::job_resolvers)?;
    NetFence::start_placed(cfg, netfence::Placement::Job, Box::new(move |event| recorder.append(event)))
        .context("starting the job's egress fence (resolver and proxy in the job's network namespace); set dns.upstream in the policy if the machine has no resolver of its own")
}

fn config(
    plan: &Plan,
    netns: BorrowedFd<'_>,
    cgroup: &Path,
    pid_hint: Option<sensors::PidHint>,
    resolvers: fn() -> Vec<std::net::SocketAddr>,
) -> anyhow::Result<NetConfig> {
    let upstream_dns = match plan.policy.dns.upstream.is_empty() {
        true => resolvers(),
        false => plan.policy.dns.upstream.clone(),
    };
    Ok(NetConfig {
        netns: netns.try_clone_to_owned().context("duplicating the fence's network namespace handle")?,
        policy: Arc::new(plan.policy.clone()),
        mode: plan.mode,
        upstream_dns,
        cgroup_procs: cgroup.join("cgroup.procs"),
        pid_hint,
        inspect: netfence::InspectConfig {
            ca: plan.credentials.ca.clone(),
            upstream_tls: netfence::tls::UpstreamTls::new(&plan.credentials.upstream_ca)?,
            vault: plan.credentials.vault.clone(),
            repo: std::env::var("GITHUB_REPOSITORY").ok().filter(|r| r.contains('/')),
            terminate_tls: plan.credentials.bundle.is_some(),
        },
    })
}

pub fn start(
    plan: &Plan,
    netns: BorrowedFd<'_>,
    cgroup: &Path,
    recorder: Arc<Recorder>,
    pid_hint: Option<sensors::PidHint>,
) -> anyhow::Result<NetFence> {
    let cfg = config(plan, netns, cgroup, pid_hint, netfence::host_resolvers)?;
    NetFence::start(cfg, Box::new(move |event| recorder.append(event)))
        .context("starting the egress fence (resolver and proxy inside the fence's network namespace); set dns.upstream in the policy if the host has no resolver")
}

/// Audit mode: writes `suggested-policy.yml`, a policy that would have let this run through.
pub fn suggest(plan: &Plan, stats: &NetStats) -> anyhow::Result<()> {
    if plan.mode != Mode::Audit {
        return Ok(());
    }
    plan.run_dir
        .write("suggested-policy.yml", policy::Policy::suggest(&stats.observed).as_bytes(), 0o644)
        .with_context(|| format!("writing {}", plan.out_dir.join("suggested-policy.yml").display()))
}

/// What run.start says about a job's network fence.
pub fn job_layer_detail(plan: &Plan) -> String {
    let base = match plan.mode {
        Mode::Block => {
            "the job's own network namespace: every DNS query (to any resolver) answered by ringfence, every new TCP \
            connection (also from containers on a bridge) through ringfence's proxy, which checks the name (fake-IP, SNI, Host) \
            against the egress rules; other UDP, ICMP and direct IPs refused; connections open before the fence keep flowing; \
            ringfence's own upstream sockets carry a mark only root can set"
        }
        Mode::Audit => {
            "the job's own network namespace: every DNS query and new TCP connection goes through ringfence's resolver and proxy \
            and is recorded with its process; what the policy would refuse is flagged, not blocked; other UDP and ICMP are counted"
        }
    };
    format!("{base}; {}", tls_detail(plan.credentials.bundle.is_some(), &plan.policy.passthrough))
}

pub fn layer_detail(plan: &Plan) -> String {
    let base = match plan.mode {
        Mode::Block => {
            "own network namespace; DNS answered by ringfence (unlisted names get NXDOMAIN and never leave), \
            all TCP through ringfence's proxy, which checks the name (fake-IP, SNI, Host) against egress rules; \
            UDP, ICMP and direct IPs refused"
        }
        Mode::Audit => {
            "own network namespace; every DNS query and TCP connection goes through ringfence's resolver \
            and proxy and is recorded with its process; what the policy would refuse is flagged, not blocked"
        }
    };
    format!("{base}; {}", tls_detail(plan.credentials.bundle.is_some(), &plan.policy.passthrough))
}

/// What run.start says about how each request's host is checked.
fn tls_detail(terminates: bool, passthrough: &[policy::HostPattern]) -> String {
    let plain =
        "plain HTTP is read request by request, each Host and target checked against the connection's name";
    if !terminates {
        return format!(
            "{plain}; TLS is spliced (no system CA bundle to add the run's CA to), so names inside TLS are not \
             checked beyond the SNI, except for hosts with secrets, route rules or a budget"
        );
    }
    let mut text = format!(
        "{plain}; TLS to every name is terminated with the run's CA and each request's Host / :authority checked"
    );
    if !passthrough.is_empty() {
        let hosts: Vec<&str> = passthrough.iter().map(|h| h.as_str()).collect();
        text.push_str(&format!(
            "; passthrough (spliced, checked by SNI only, names inside TLS NOT checked): {}",
            hosts.join(", ")
        ));
    }
    text
}
