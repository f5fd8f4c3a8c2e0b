//! One module per tab of report.html.

pub mod api;
pub mod attempts;
pub mod events;
pub mod fence;
pub mod files;
pub mod network;
pub mod overview;
pub mod processes;
pub mod violations;

use crate::escape::html as h;
use crate::model::{Actor, Process, RunReport, Violation, ViolationKind};
use crate::text::{offset, truncate};
use crate::tree::ancestry;

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
        "<table class=\"grid\"><thead><tr><th>Time</th><th>Verdict</th><th>Kind</th><th>Rule</th><th>What</th><th>Process</th></tr></thead><tbody>\n",
    );
    for v in list {
        let (class, word) = if v.is_blocked() { ("bad", "blocked") } else { ("warn", "allowed") };
        let who = Actor { pid: v.pid, process: v.process, exe: None, argv: Vec::new() };
        out.push_str(&format!(
            "<tr><td class=\"num\">{}</td><td><span class=\"pill {class}\">{word}</span></td><td><span class=\"kindtag\">{}</span></td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>\n",
            offset(v.offset_ms),
            kind_word(v.kind),
            h(&v.rule),
            h(&v.what),
            actor_html(r, &who),
        ));
    }
    out.push_str("</tbody></table>\n");
    out
}

pub fn kind_word(kind: ViolationKind) -> &'static str {
    match kind {
        ViolationKind::Secret => "secret",
        ViolationKind::Budget => "budget",
        ViolationKind::Api => "api",
        ViolationKind::Policy => "fence",
        ViolationKind::File => "file",
        ViolationKind::Dns => "dns",
        ViolationKind::Network => "network",
    }
}

/// The process behind an event, with its parents so a reviewer sees who asked for it.
pub fn actor_html(r: &RunReport, a: &Actor) -> String {
    let Some(pid) = a.pid else { return "<span class=\"muted\">no process</span>".into() };
    let Some((id, p)) = a.process.and_then(|id| Some((id, r.processes.get(id)?))) else {
        return format!("<span class=\"muted\">pid {pid}, no exec seen</span>");
    };
    let chain = ancestry(r, id, 4);
    let chain = if chain.is_empty() {
        String::new()
    } else {
        format!(" <span class=\"chain\">← {}</span>", h(&chain))
    };
    format!("{} <span class=\"muted\">pid {pid}</span>{chain}", command_html(p))
}

/// The first few processes, then how many more.
pub fn actors_html(r: &RunReport, actors: &[Actor], total: u64) -> String {
    const SHOWN: usize = 3;
    if actors.is_empty() {
        return "<span class=\"muted\">no process</span>".into();
    }
    let mut out: Vec<String> =
        actors.iter().take(SHOWN).map(|a| format!("<div>{}</div>", actor_html(r, a))).collect();
    let named = actors.len().min(SHOWN) as u64;
    if total > named {
        out.push(format!("<div class=\"muted\">+{} more</div>", crate::text::thousands(total - named)));
    }
    out.concat()
}
