//! The Network section of report.md: hosts (refused first) with ports, traffic and the processes
//! that connected, then DNS names with their answers and any signs of tunnelling.

use super::actors::actors_cell;
use crate::escape::{md_code, md_text};
use crate::model::{DnsName, HostActivity, RunReport};
use crate::text::{bytes, thousands, truncate};

const MAX_HOSTS: usize = 30;
const MAX_NAMES: usize = 30;
const CELL_MAX: usize = 100;

pub fn section(r: &RunReport) -> String {
    let n = &r.network;
    if n.is_empty() {
        return String::new();
    }
    let refused = n.hosts.iter().filter(|h| h.violations > 0 || h.blocked > 0).count();
    let mut parts = Vec::new();
    if !n.hosts.is_empty() || !n.dns.is_empty() {
        parts.push(format!(
            "{} host{}, {} connection{}",
            thousands(n.hosts.len() as u64),
            plural(n.hosts.len() as u64),
            thousands(r.counts.net_connections),
            plural(r.counts.net_connections)
        ));
    }
    let attempts: u64 = n.attempts.iter().map(|a| a.count).sum();
    if attempts > 0 {
        parts.push(format!("{} attempt{} seen by the kernel", thousands(attempts), plural(attempts)));
    }
    let mut title = format!("### Network: {}", parts.join(", "));
    if refused > 0 {
        title.push_str(&format!(", **{} refused or flagged**", thousands(refused as u64)));
    }
    let mut out = format!("{title}\n\n");
    out.push_str(&hosts(r));
    out.push_str(&dns(r));
    out.push_str(&super::attempts::table(r));
    out
}

fn hosts(r: &RunReport) -> String {
    let list = &r.network.hosts;
    if list.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "| Host | Ports | Conns | Up / down | Verdict | Processes |\n|---|---|---:|---|---|---|\n",
    );
    for h in list.iter().take(MAX_HOSTS) {
        let ports: Vec<String> = h.ports.iter().map(u16::to_string).collect();
        out.push_str(&format!(
            "| {} | {} | {} | {} / {} | {} | {} |\n",
            host_cell(h),
            ports.join(", "),
            thousands(h.connections),
            bytes(h.bytes_up),
            bytes(h.bytes_down),
            host_verdict(h),
            actors_cell(r, &h.processes, h.processes_total)
        ));
    }
    if list.len() > MAX_HOSTS {
        out.push_str(&format!(
            "\n…and {} more hosts in report.html and report.json.\n",
            thousands((list.len() - MAX_HOSTS) as u64)
        ));
    }
    out.push('\n');
    out
}

fn host_cell(h: &HostActivity) -> String {
    let mut cell = md_code(&truncate(&h.host, CELL_MAX), true);
    if h.violations > 0 || h.blocked > 0 {
        cell = format!("**{cell}**");
    }
    if !h.sni.is_empty() {
        cell.push_str(&format!(" (SNI {})", md_code(&truncate(&h.sni.join(", "), CELL_MAX), true)));
    }
    cell
}

/// `blocked ×2 by default-deny: why` or `allowed`.
fn host_verdict(h: &HostActivity) -> String {
    let mut words = Vec::new();
    if h.blocked > 0 {
        words.push(format!("**blocked**{}", times(h.blocked)));
    }
    if h.violations > h.blocked {
        // Allowed but refused by policy: audit mode let it through.
        words.push(format!("**flagged**{} (audit)", times(h.violations - h.blocked)));
    }
    if h.allowed > h.violations.saturating_sub(h.blocked) {
        words.push("allowed".into());
    }
    let mut cell = words.join(", ");
    if h.violations > 0 || h.blocked > 0 {
        let rules: Vec<String> = h.rules.iter().map(|r| md_code(r, true)).collect();
        cell.push_str(&format!(" by {}", rules.join(", ")));
        if !h.reasons.is_empty() {
            cell.push_str(&format!(": {}", md_text(&truncate(&h.reasons.join("; "), CELL_MAX))));
        }
    }
    cell
}

fn dns(r: &RunReport) -> String {
    let list = &r.network.dns;
    if list.is_empty() {
        return String::new();
    }
    let queries: u64 = list.iter().map(|n| n.queries).sum();
    let mut out = format!(
        "DNS: {} name{}, {} quer{}\n\n| Name | Types | Verdict | Answer | Signs | Processes |\n|---|---|---|---|---|---|\n",
        thousands(list.len() as u64),
        plural(list.len() as u64),
        thousands(queries),
        if queries == 1 { "y" } else { "ies" }
    );
    for n in list.iter().take(MAX_NAMES) {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            name_cell(n),
            md_text(&n.qtypes.join(", ")),
            name_verdict(n),
            md_text(&truncate(&n.answers.join(", "), CELL_MAX)),
            if n.suspicious.is_empty() {
                String::new()
            } else {
                format!("**{}**", md_text(&n.suspicious.join(", ")))
            },
            actors_cell(r, &n.processes, n.processes_total)
        ));
    }
    if list.len() > MAX_NAMES {
        out.push_str(&format!(
            "\n…and {} more names in report.html and report.json.\n",
            thousands((list.len() - MAX_NAMES) as u64)
        ));
    }
    out.push('\n');
    out
}

fn name_cell(n: &DnsName) -> String {
    let cell = md_code(&truncate(&n.name, CELL_MAX), true);
    let cell = if n.violations > 0 || !n.suspicious.is_empty() { format!("**{cell}**") } else { cell };
    if n.queries > 1 { format!("{cell} ×{}", thousands(n.queries)) } else { cell }
}

fn name_verdict(n: &DnsName) -> String {
    let mut words = Vec::new();
    if n.blocked > 0 {
        words.push("**blocked**".to_string());
    }
    if n.violations > n.blocked {
        words.push("**flagged** (audit)".into());
    }
    if n.allowed > n.violations.saturating_sub(n.blocked) {
        words.push("allowed".into());
    }
    let mut cell = words.join(", ");
    if n.violations > 0 || n.blocked > 0 {
        let rules: Vec<String> = n.rules.iter().map(|r| md_code(r, true)).collect();
        cell.push_str(&format!(" by {}", rules.join(", ")));
    }
    cell
}

fn times(n: u64) -> String {
    if n > 1 { format!(" ×{}", thousands(n)) } else { String::new() }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}
