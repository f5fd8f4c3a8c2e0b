//! The API tab: attempts to send a secret where it does not belong first, then spending against
//! the budget and model usage, then every inspected host and every request through one.
//! All of it is plain HTML: these are the facts a reviewer needs without JavaScript.

use super::{actor_html, actors_html};
use crate::escape::html as h;
use crate::html::Tab;
use crate::model::{ApiHost, ApiRequest, ExfilAttempt, RunReport, ViolationVerdict};
use crate::text::{bytes, host_port, offset, spend_line, status_classes, thousands, usd};

/// Requests beyond this are counted, not shown; report.json has every one.
const MAX_ROWS: usize = 2_000;

pub struct Api;

impl Tab for Api {
    fn id(&self) -> &'static str {
        "api"
    }

    fn title(&self, r: &RunReport) -> String {
        format!("API ({})", thousands(r.api.requests.len() as u64))
    }

    fn render(&self, r: &RunReport) -> Option<String> {
        if r.api.is_empty() && r.secrets.is_empty() {
            return None;
        }
        Some([exfiltration(r), budgets(r), usage(r), hosts(r), requests(r), injected(r)].concat())
    }
}

fn exfiltration(r: &RunReport) -> String {
    let list = &r.secrets.exfiltration;
    if list.is_empty() {
        return String::new();
    }
    let total: u64 = list.iter().map(|a| a.count).sum();
    let mut out = format!(
        "<h3>Secret exfiltration <span class=\"count\">{} attempt{}</span></h3>\n<ul class=\"plain exfil\">\n",
        thousands(total),
        if total == 1 { "" } else { "s" }
    );
    for a in list.iter().take(MAX_ROWS) {
        out.push_str(&format!("<li>{}</li>\n", attempt_html(r, a)));
    }
    out.push_str("</ul>\n");
    out
}

fn attempt_html(r: &RunReport, a: &ExfilAttempt) -> String {
    let who = a
        .processes
        .first()
        .map_or_else(|| "<span class=\"muted\">no process</span>".into(), |p| actor_html(r, p));
    let others = if a.processes_total > 1 {
        format!(" <span class=\"muted\">and {} other processes</span>", thousands(a.processes_total - 1))
    } else {
        String::new()
    };
    let times = if a.count > 1 { format!(", {} times", thousands(a.count)) } else { String::new() };
    format!(
        "{} {who}{others} tried to send <code>{}</code>'s sentinel to <code class=\"host\">{}</code> in {}{times} \
         <span class=\"muted small\">{}</span>",
        verdict_pill(a.verdict, true),
        h(&a.secret),
        h(&host_port(&a.host, a.port)),
        h(&a.location),
        offset(a.first_offset_ms)
    )
}

fn verdict_pill(v: ViolationVerdict, violation: bool) -> &'static str {
    match (v, violation) {
        (ViolationVerdict::Blocked, _) => "<span class=\"pill bad strong\">blocked</span>",
        (ViolationVerdict::Allowed, true) => "<span class=\"pill warn strong\">let through</span>",
        (ViolationVerdict::Allowed, false) => "<span class=\"pill ok\">allowed</span>",
    }
}

fn budgets(r: &RunReport) -> String {
    if r.api.budgets.is_empty() {
        return String::new();
    }
    let mut out = String::from("<h3>Spending</h3>\n<div class=\"cards\">\n");
    for b in &r.api.budgets {
        let class = if b.exceeded { "bad" } else { "" };
        let mut note = spend_line(b.tokens, b.usd, b.max_tokens, b.max_usd);
        if b.exceeded {
            note.push_str(" · cap reached");
        }
        if b.refused > 0 {
            note.push_str(&format!(
                " · {} request{} refused",
                thousands(b.refused),
                if b.refused == 1 { "" } else { "s" }
            ));
        }
        out.push_str(&format!(
            "<div class=\"card {class}\"><div class=\"card-label\">{} spend</div><div class=\"card-value\">{}</div>\
             <div class=\"card-note\">{}</div></div>\n",
            h(&b.provider),
            h(&usd(b.usd)),
            h(&note)
        ));
    }
    out.push_str("</div>\n");
    out
}

fn usage(r: &RunReport) -> String {
    let list = &r.api.usage;
    if list.is_empty() {
        return String::new();
    }
    let mut prices: Vec<&str> = list.iter().flat_map(|u| u.prices.iter().map(String::as_str)).collect();
    prices.dedup();
    let mut out = format!(
        "<h3>Model usage <span class=\"count\">priced by table {}</span></h3>\n<table class=\"grid\"><thead><tr>\
         <th>Provider</th><th>Model</th><th class=\"right\">Calls</th><th class=\"right\">Input</th>\
         <th class=\"right\">Output</th><th class=\"right\">Cache read</th><th class=\"right\">Cache write</th>\
         <th class=\"right\">Cost</th></tr></thead><tbody>\n",
        h(&prices.join(", "))
    );
    for u in list {
        let cost = if u.unpriced > 0 {
            format!("{} <span class=\"muted\">+ {} unpriced</span>", h(&usd(u.usd)), thousands(u.unpriced))
        } else {
            h(&usd(u.usd))
        };
        out.push_str(&format!(
            "<tr><td>{}</td><td><code>{}</code></td><td class=\"num right\">{}</td><td class=\"num right\">{}</td>\
             <td class=\"num right\">{}</td><td class=\"num right\">{}</td><td class=\"num right\">{}</td>\
             <td class=\"num right\">{cost}</td></tr>\n",
            h(&u.provider),
            h(&u.model),
            thousands(u.requests),
            thousands(u.tokens.input),
            thousands(u.tokens.output),
            thousands(u.tokens.cache_read),
            thousands(u.tokens.cache_write),
        ));
    }
    out.push_str("</tbody></table>\n");
    out
}

fn hosts(r: &RunReport) -> String {
    let list = &r.api.hosts;
    if list.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "<h3>Inspected hosts <span class=\"count\">{}</span></h3>\n<table class=\"grid\"><thead><tr><th>Host</th>\
         <th>Verdict</th><th class=\"right\">Requests</th><th>Status</th><th class=\"right\">Up</th>\
         <th class=\"right\">Down</th><th>Secrets injected</th><th>Processes</th></tr></thead><tbody>\n",
        thousands(list.len() as u64)
    );
    for host in list {
        let hot = if host.violations > 0 { " class=\"row-violation\"" } else { "" };
        out.push_str(&format!(
            "<tr{hot}><td><code class=\"host\">{}</code></td><td>{}</td><td class=\"num right\">{}</td><td class=\"small\">{}</td>\
             <td class=\"num right\">{}</td><td class=\"num right\">{}</td><td>{}</td><td>{}</td></tr>\n",
            h(&host_port(&host.host, host.port)),
            host_verdict(host),
            thousands(host.requests),
            h(&status_classes(&host.status)),
            bytes(host.bytes_up),
            bytes(host.bytes_down),
            host.injected
                .iter()
                .map(|n| format!("<code class=\"chip\">{}</code> ×{}", h(&n.name), thousands(n.count)))
                .collect::<Vec<_>>()
                .join(" "),
            actors_html(r, &host.processes, host.processes_total)
        ));
    }
    out.push_str("</tbody></table>\n");
    out
}

fn host_verdict(host: &ApiHost) -> String {
    let flagged = host.violations.saturating_sub(host.blocked);
    let mut out = String::new();
    if host.blocked > 0 {
        out.push_str(&format!(
            "<span class=\"pill bad strong\">blocked ×{}</span> ",
            thousands(host.blocked)
        ));
    }
    if flagged > 0 {
        out.push_str(&format!(
            "<span class=\"pill warn strong\">flagged ×{} (audit)</span> ",
            thousands(flagged)
        ));
    }
    if host.allowed > flagged {
        out.push_str("<span class=\"pill ok\">allowed</span>");
    }
    out
}

fn requests(r: &RunReport) -> String {
    let list = &r.api.requests;
    if list.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "<h3>Requests <span class=\"count\">{}</span></h3>\n<table class=\"grid\"><thead><tr><th>Time</th><th>Request</th>\
         <th>Status</th><th>Verdict</th><th>Injected</th><th>Usage</th><th class=\"right\">Up / down</th>\
         <th>Process</th></tr></thead><tbody>\n",
        thousands(list.len() as u64)
    );
    for q in list.iter().take(MAX_ROWS) {
        out.push_str(&request_row(r, q));
    }
    out.push_str("</tbody></table>\n");
    if list.len() > MAX_ROWS {
        out.push_str(&format!(
            "<p class=\"muted\">Showing {} of {}; report.json lists them all.</p>\n",
            thousands(MAX_ROWS as u64),
            thousands(list.len() as u64)
        ));
    }
    out
}

fn request_row(r: &RunReport, q: &ApiRequest) -> String {
    let hot = if q.violation { " class=\"row-violation\"" } else { "" };
    let mut verdict = format!(
        "{}<div class=\"small\"><code>{}</code></div>",
        verdict_pill(q.verdict, q.violation),
        h(&q.rule)
    );
    if let Some(reason) = &q.reason {
        verdict.push_str(&format!("<div class=\"small muted\">{}</div>", h(reason)));
    }
    let usage = q.usage.as_ref().map_or_else(String::new, |u| {
        let price = u.usd.map_or_else(|| "unpriced".into(), usd);
        format!(
            "<code>{}</code><div class=\"small muted\">{} in · {} out · {} cached · {}</div>",
            h(&u.model),
            thousands(u.tokens.input),
            thousands(u.tokens.output),
            thousands(u.tokens.cache_read.saturating_add(u.tokens.cache_write)),
            h(&price)
        )
    });
    let who = crate::model::Actor { pid: q.pid, process: q.process, exe: None, argv: Vec::new() };
    format!(
        "<tr{hot}><td class=\"num\">{}</td><td><span class=\"kindtag\">{}</span> <code class=\"url\"><b>{}</b>{}</code></td>\
         <td class=\"num\">{}</td><td>{verdict}</td><td>{}</td><td>{usage}</td><td class=\"num right\">{} / {}</td><td>{}</td></tr>\n",
        offset(q.offset_ms),
        h(&q.method),
        h(&host_port(&q.host, q.port)),
        h(&q.path),
        q.status.map_or_else(|| "—".into(), |s| s.to_string()),
        q.injected
            .iter()
            .map(|n| format!("<code class=\"chip\">{}</code>", h(n)))
            .collect::<Vec<_>>()
            .join(" "),
        bytes(q.bytes_up),
        bytes(q.bytes_down),
        actor_html(r, &who)
    )
}

fn injected(r: &RunReport) -> String {
    let list = &r.secrets.injected;
    if list.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "<h3>Secrets put in by ringfence</h3>\n<p class=\"muted\">Names only: the agent saw sentinels; ringfence put the \
         real values into requests to each secret's own hosts.</p>\n<ul class=\"plain\">\n",
    );
    for s in list {
        let hosts: Vec<String> = s
            .hosts
            .iter()
            .map(|n| format!("<code class=\"host\">{}</code> ×{}", h(&n.name), thousands(n.count)))
            .collect();
        out.push_str(&format!(
            "<li><code class=\"chip\">{}</code> into {} request{}: {}</li>\n",
            h(&s.secret),
            thousands(s.requests),
            if s.requests == 1 { "" } else { "s" },
            hosts.join(", ")
        ));
    }
    out.push_str("</ul>\n");
    out
}
