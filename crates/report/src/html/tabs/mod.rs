//! One module per tab of report.html.

pub mod events;
pub mod fence;
pub mod overview;
pub mod processes;
pub mod violations;

use crate::escape::html as h;
use crate::model::{Process, RunReport, Violation};
use crate::text::{offset, truncate};

/// A process as a reader identifies it: the executed file in bold, then its arguments.
pub fn command_html(p: &Process) -> String {
    let exe = p.exe.as_deref().unwrap_or("?");
    let args = crate::text::argv_line(p.argv.get(1..).unwrap_or_default());
    let more = if p.argv_truncated { " …" } else { "" };
    format!("<code class=\"cmd\"><b>{}</b> {}{more}</code>", h(exe), h(&truncate(&args, 400)))
}

/// The violations table, shared by the overview (first few) and the Violations tab (all).
pub fn violation_table(r: &RunReport, list: &[&Violation]) -> String {
    let mut out = String::from(
        "<table class=\"grid\"><thead><tr><th>Time</th><th>Verdict</th><th>Rule</th><th>What</th><th>Process</th></tr></thead><tbody>\n",
    );
    for v in list {
        let (class, word) = if v.is_blocked() { ("bad", "blocked") } else { ("warn", "allowed") };
        let process = match (v.pid, v.process.and_then(|id| r.processes.get(id))) {
            (Some(pid), Some(p)) => format!("{} <span class=\"muted\">pid {pid}</span>", command_html(p)),
            (Some(pid), None) => format!("<span class=\"muted\">pid {pid}, no exec seen</span>"),
            (None, _) => "<span class=\"muted\">no process</span>".into(),
        };
        out.push_str(&format!(
            "<tr><td class=\"num\">{}</td><td><span class=\"pill {class}\">{word}</span></td><td><code>{}</code></td><td>{}</td><td>{process}</td></tr>\n",
            offset(v.offset_ms),
            h(&v.rule),
            h(&v.what),
        ));
    }
    out.push_str("</tbody></table>\n");
    out
}
