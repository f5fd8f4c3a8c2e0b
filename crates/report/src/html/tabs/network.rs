//! The Network tab: every host with ports, traffic, verdict and the processes that connected
//! (refused first), then every DNS name with its answers and signs of tunnelling, then attempts
//! the kernel saw outside the proxy.

use super::actors_html;
use crate::escape::html as h;
use crate::html::Tab;
use crate::model::{DnsName, HostActivity, RunReport};
use crate::text::{bytes, offset, thousands};

const MAX_ROWS: usize = 2_000;

pub struct Network;

impl Tab for Network {
    fn id(&self) -> &'static str {
        "network"
    }

    fn title(&self, r: &RunReport) -> String {
        format!("Network ({})", thousands((r.network.hosts.len() + r.network.attempts.len()) as u64))
    }

    fn render(&self, r: &RunReport) -> Option<String> {
        if r.network.is_empty() {
            return None;
        }
        Some([hosts(r), dns(r), super::attempts::table(r)].concat())
    }
}

fn hosts(r: &RunReport) -> String {
    let list = &r.network.hosts;
    if list.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "<h3>Hosts <span class=\"count\">{} · {} connections</span></h3>\n<table class=\"grid\"><thead><tr><th>Host</th>\
         <th>Verdict</th><th>Ports</th><th class=\"right\">Conns</th><th class=\"right\">Up</th><th class=\"right\">Down</th>\
         <th>First</th><th>Processes</th></tr></thead><tbody>\n",
        thousands(list.len() as u64),
        thousands(r.counts.net_connections)
    );
    for host in list.iter().take(MAX_ROWS) {
        let ports: Vec<String> = host.ports.iter().map(u16::to_string).collect();
        let hot = if host.violations > 0 || host.blocked > 0 { " class=\"row-violation\"" } else { "" };
        out.push_str(&format!(
            "<tr{hot}><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num right\">{}</td>\
             <td class=\"num right\">{}</td><td class=\"num right\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>\n",
            host_cell(host),
            verdict_html(host.allowed, host.blocked, host.violations, &host.rules, &host.reasons),
            h(&ports.join(", ")),
            thousands(host.connections),
            bytes(host.bytes_up),
            bytes(host.bytes_down),
            offset(host.first_offset_ms),
            actors_html(r, &host.processes, host.processes_total)
        ));
    }
    out.push_str("</tbody></table>\n");
    out.push_str(&cap_note(list.len()));
    out
}

fn host_cell(host: &HostActivity) -> String {
    let mut cell = format!("<code class=\"host\">{}</code>", h(&host.host));
    if host.ips.iter().any(|ip| *ip != host.host) {
        cell.push_str(&format!("<div class=\"muted small\">{}</div>", h(&host.ips.join(", "))));
    }
    if !host.sni.is_empty() {
        cell.push_str(&format!(
            "<div class=\"small\"><span class=\"pill warn\">SNI differs</span> {}</div>",
            h(&host.sni.join(", "))
        ));
    }
    cell
}

/// Pills for what happened, then the rule and reason when something was refused or flagged.
fn verdict_html(allowed: u64, blocked: u64, violations: u64, rules: &[String], reasons: &[String]) -> String {
    let flagged = violations.saturating_sub(blocked);
    let mut out = String::new();
    if blocked > 0 {
        out.push_str(&format!("<span class=\"pill bad strong\">blocked{}</span> ", times(blocked)));
    }
    if flagged > 0 {
        out.push_str(&format!("<span class=\"pill warn strong\">flagged{} (audit)</span> ", times(flagged)));
    }
    if allowed > flagged {
        out.push_str("<span class=\"pill ok\">allowed</span>");
    }
    if blocked > 0 || violations > 0 {
        let rules: Vec<String> = rules.iter().map(|r| format!("<code>{}</code>", h(r))).collect();
        out.push_str(&format!("<div class=\"small\">{}</div>", rules.join(" ")));
        if !reasons.is_empty() {
            out.push_str(&format!("<div class=\"small muted\">{}</div>", h(&reasons.join("; "))));
        }
    }
    out
}

fn dns(r: &RunReport) -> String {
    let list = &r.network.dns;
    if list.is_empty() {
        return String::new();
    }
    let queries: u64 = list.iter().map(|n| n.queries).sum();
    let mut out = format!(
        "<h3>DNS <span class=\"count\">{} names · {} queries</span></h3>\n<table class=\"grid\"><thead><tr><th>Name</th>\
         <th>Verdict</th><th>Types</th><th class=\"right\">Queries</th><th>Answer</th><th>Signs</th><th>Processes</th>\
         </tr></thead><tbody>\n",
        thousands(list.len() as u64),
        thousands(queries)
    );
    for n in list.iter().take(MAX_ROWS) {
        out.push_str(&name_row(r, n));
    }
    out.push_str("</tbody></table>\n");
    out.push_str(&cap_note(list.len()));
    out
}

fn name_row(r: &RunReport, n: &DnsName) -> String {
    let hot = if n.violations > 0 || n.blocked > 0 || !n.suspicious.is_empty() {
        " class=\"row-violation\""
    } else {
        ""
    };
    let signs: String =
        n.suspicious.iter().map(|s| format!("<span class=\"pill warn\">{}</span> ", h(s))).collect();
    format!(
        "<tr{hot}><td><code class=\"host\">{}</code></td><td>{}</td><td class=\"num\">{}</td><td class=\"num right\">{}</td>\
         <td class=\"mono small\">{}</td><td>{signs}</td><td>{}</td></tr>\n",
        h(&n.name),
        verdict_html(n.allowed, n.blocked, n.violations, &n.rules, &[]),
        h(&n.qtypes.join(", ")),
        thousands(n.queries),
        h(&n.answers.join(", ")),
        actors_html(r, &n.processes, n.processes_total)
    )
}

fn cap_note(total: usize) -> String {
    if total <= MAX_ROWS {
        return String::new();
    }
    format!(
        "<p class=\"muted\">Showing {} of {}; report.json lists them all.</p>\n",
        thousands(MAX_ROWS as u64),
        thousands(total as u64)
    )
}

fn times(n: u64) -> String {
    if n > 1 { format!(" ×{}", thousands(n)) } else { String::new() }
}
