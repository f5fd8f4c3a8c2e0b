//! The Secrets & API section of report.md: attempts to send a secret where it does not belong
//! first, then every inspected host with its requests, then model usage against the budget.

use super::actors::{actor, actors_cell};
use crate::escape::{md_code, md_text};
use crate::model::{ApiHost, ExfilAttempt, RunReport, ViolationVerdict};
use crate::text::{bytes, host_port, spend_line, status_classes, thousands, truncate, usd};

const MAX_ATTEMPTS: usize = 20;
const MAX_HOSTS: usize = 20;
const CELL_MAX: usize = 100;

pub fn section(r: &RunReport) -> String {
    if r.api.is_empty() && r.secrets.is_empty() {
        return String::new();
    }
    let requests = r.api.requests.len() as u64;
    let mut title = format!(
        "### Secrets & API: {} request{} to {} inspected host{}",
        thousands(requests),
        plural(requests),
        thousands(r.api.hosts.len() as u64),
        plural(r.api.hosts.len() as u64)
    );
    let attempts: u64 = r.secrets.exfiltration.iter().map(|a| a.count).sum();
    if attempts > 0 {
        title.push_str(&format!(
            ", **{} secret exfiltration attempt{}**",
            thousands(attempts),
            plural(attempts)
        ));
    }
    [format!("{title}\n\n"), exfiltration(r), hosts(r), usage(r), budgets(r)].concat()
}

/// `- `curl …` pid 1011 ← sh ← claude tried to send `KEY`'s sentinel to `exfil.test` in header
/// x-api-key — **blocked**`
fn exfiltration(r: &RunReport) -> String {
    let list = &r.secrets.exfiltration;
    if list.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    for a in list.iter().take(MAX_ATTEMPTS) {
        out.push_str(&format!("- {}\n", attempt_line(r, a)));
    }
    if list.len() > MAX_ATTEMPTS {
        out.push_str(&format!(
            "- …and {} more in report.html and report.json\n",
            thousands((list.len() - MAX_ATTEMPTS) as u64)
        ));
    }
    out.push('\n');
    out
}

fn attempt_line(r: &RunReport, a: &ExfilAttempt) -> String {
    let who = match a.processes.first() {
        Some(first) => actor(r, first),
        None => "(no process)".into(),
    };
    let others = if a.processes_total > 1 {
        format!(" (and {} other processes)", thousands(a.processes_total - 1))
    } else {
        String::new()
    };
    let times = if a.count > 1 { format!(", {} times", thousands(a.count)) } else { String::new() };
    let verdict = match a.verdict {
        ViolationVerdict::Blocked => "**blocked**",
        ViolationVerdict::Allowed => "**let through** (audit mode)",
    };
    format!(
        "{who}{others} tried to send {}'s sentinel to {} in {}{times} — {verdict}",
        md_code(&a.secret, false),
        md_code(&host_port(&a.host, a.port), false),
        md_text(&truncate(&a.location, CELL_MAX))
    )
}

fn hosts(r: &RunReport) -> String {
    let list = &r.api.hosts;
    if list.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "| Host | Requests | Status | Up / down | Secrets injected | Refused | Processes |\n|---|---:|---|---|---|---|---|\n",
    );
    for h in list.iter().take(MAX_HOSTS) {
        out.push_str(&format!(
            "| {} | {} | {} | {} / {} | {} | {} | {} |\n",
            md_code(&truncate(&host_port(&h.host, h.port), CELL_MAX), true),
            thousands(h.requests),
            status_classes(&h.status),
            bytes(h.bytes_up),
            bytes(h.bytes_down),
            injected(h),
            refused(r, h),
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

fn injected(h: &ApiHost) -> String {
    let names: Vec<String> =
        h.injected.iter().map(|n| format!("{} ×{}", md_code(&n.name, true), thousands(n.count))).collect();
    names.join(", ")
}

/// `**1 blocked** by `deny POST /gists`` or nothing.
fn refused(r: &RunReport, h: &ApiHost) -> String {
    if h.violations == 0 {
        return String::new();
    }
    let mut rules: Vec<&str> = Vec::new();
    for q in r.api.requests.iter().filter(|q| q.violation && q.host == h.host && q.port == h.port) {
        if !rules.contains(&q.rule.as_str()) {
            rules.push(&q.rule);
        }
    }
    let rules: Vec<String> = rules.iter().map(|rule| md_code(rule, true)).collect();
    let flagged = h.violations.saturating_sub(h.blocked);
    let mut words = Vec::new();
    if h.blocked > 0 {
        words.push(format!("**{} blocked**", thousands(h.blocked)));
    }
    if flagged > 0 {
        words.push(format!("**{} flagged** (audit)", thousands(flagged)));
    }
    format!("{} by {}", words.join(", "), rules.join(", "))
}

fn usage(r: &RunReport) -> String {
    let list = &r.api.usage;
    if list.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "| Model | Calls | Input | Output | Cache read | Cache write | Cost |\n|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for u in list {
        let cost = if u.unpriced > 0 {
            format!("{} + {} unpriced", usd(u.usd), thousands(u.unpriced))
        } else {
            usd(u.usd)
        };
        out.push_str(&format!(
            "| {} {} | {} | {} | {} | {} | {} | {cost} |\n",
            md_text(&u.provider),
            md_code(&u.model, true),
            thousands(u.requests),
            thousands(u.tokens.input),
            thousands(u.tokens.output),
            thousands(u.tokens.cache_read),
            thousands(u.tokens.cache_write),
        ));
    }
    let mut prices: Vec<&str> = list.iter().flat_map(|u| u.prices.iter().map(String::as_str)).collect();
    prices.dedup();
    out.push_str(&format!("\nPriced by table {}.\n\n", md_text(&prices.join(", "))));
    out
}

/// `**Budget** anthropic: 41,230 of 40,000 tokens, $0.31 of $10.00 cap — **cap reached**, 1 model
/// request refused.`
fn budgets(r: &RunReport) -> String {
    let mut out = String::new();
    for b in &r.api.budgets {
        let mut line = format!(
            "**Budget** {}: {}",
            md_text(&b.provider),
            spend_line(b.tokens, b.usd, b.max_tokens, b.max_usd)
        );
        if b.exceeded {
            line.push_str(" — **cap reached**");
        }
        if b.refused > 0 {
            line.push_str(&format!(", {} model request{} refused", thousands(b.refused), plural(b.refused)));
        }
        out.push_str(&format!("{line}\n\n"));
    }
    out
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}
