//! Attempts the kernel hook saw outside the proxy, as part of report.md's Network section.

use super::actors::actor;
use crate::escape::{md_code, md_text};
use crate::model::{ConnectAttempt, RunReport, ViolationVerdict};
use crate::text::{thousands, truncate};

const MAX_ROWS: usize = 30;
const CELL_MAX: usize = 100;

pub fn table(r: &RunReport) -> String {
    let list = &r.network.attempts;
    if list.is_empty() {
        return String::new();
    }
    let total: u64 = list.iter().map(|a| a.count).sum();
    let mut out = format!(
        "Attempts outside the proxy, seen by the kernel: {}\n\n| Process | Protocol | Destination | Count | Verdict |\n|---|---|---|---:|---|\n",
        thousands(total)
    );
    for a in list.iter().take(MAX_ROWS) {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            actor(r, &a.process),
            md_text(&format!("{} {}", a.protocol, a.calls.join("/"))),
            md_code(&crate::text::attempt_destination(&a.ip, a.port), true),
            thousands(a.count),
            verdict(a)
        ));
    }
    if list.len() > MAX_ROWS {
        out.push_str(&format!(
            "\n…and {} more in report.html and report.json.\n",
            thousands((list.len() - MAX_ROWS) as u64)
        ));
    }
    out.push('\n');
    out
}

fn verdict(a: &ConnectAttempt) -> String {
    let word = match (a.verdict, a.violation) {
        (ViolationVerdict::Blocked, _) => "**blocked**",
        (ViolationVerdict::Allowed, true) => "**flagged** (audit)",
        (ViolationVerdict::Allowed, false) => return "allowed".into(),
    };
    let rules: Vec<String> = a.rules.iter().map(|rule| md_code(rule, true)).collect();
    let mut cell = format!("{word} by {}", rules.join(", "));
    if !a.reasons.is_empty() {
        cell.push_str(&format!(": {}", md_text(&truncate(&a.reasons.join("; "), CELL_MAX))));
    }
    cell
}
