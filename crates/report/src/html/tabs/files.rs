//! The Files tab: what the fence refused or flagged, a diff-style list of every path changed
//! under the workspace with who changed it, and plain permission errors as context.

use super::actors_html;
use crate::escape::html as h;
use crate::html::Tab;
use crate::model::{FileChange, FileOp, RunReport};
use crate::text::{offset, relative, thousands};

/// Beyond this many rows per table the page gets heavy; report.json lists every one.
const MAX_ROWS: usize = 2_000;

pub struct Files;

impl Tab for Files {
    fn id(&self) -> &'static str {
        "files"
    }

    fn title(&self, r: &RunReport) -> String {
        format!("Files ({})", thousands(r.files.changed_paths()))
    }

    fn render(&self, r: &RunReport) -> Option<String> {
        if r.files.is_empty() {
            return None;
        }
        Some([violations(r), changes(r), context(r)].concat())
    }
}

fn violations(r: &RunReport) -> String {
    let f = &r.files;
    let mut rows = Vec::new();
    for c in f.changes.iter().filter(|c| c.violation) {
        rows.push(row(
            c.first_offset_ms,
            ("warn", "allowed (audit)"),
            &format!("{} protected path", ops_html(c)),
            &shown(r, &c.path),
            c.rule.as_deref().unwrap_or("files.protected"),
            super::actors_html(r, &c.processes, c.processes_total),
        ));
    }
    for s in &f.sensitive_reads {
        rows.push(row(
            s.first_offset_ms,
            ("warn", "read (audit)"),
            &format!("credential read{}", times(s.count)),
            &s.path,
            &s.rule,
            actors_html(r, &s.processes, s.processes_total),
        ));
    }
    for x in f.refusals.iter().filter(|x| x.violation) {
        rows.push(row(
            x.first_offset_ms,
            ("bad", "refused"),
            &format!("{} <span class=\"muted\">{}</span>{}", h(&x.op), h(&x.errno), times(x.count)),
            &shown(r, &x.path),
            x.rule.as_deref().unwrap_or_default(),
            actors_html(r, &x.processes, x.processes_total),
        ));
    }
    if rows.is_empty() {
        return String::new();
    }
    format!(
        "<h3>Refused or flagged <span class=\"count\">{}</span></h3>\n<table class=\"grid\"><thead><tr><th>Time</th>\
         <th>Verdict</th><th>What</th><th>Path</th><th>Rule</th><th>Process</th></tr></thead><tbody>\n{}</tbody></table>\n",
        thousands(rows.len() as u64),
        rows.concat()
    )
}

fn row(
    at: Option<u64>,
    (class, word): (&str, &str),
    what: &str,
    path: &str,
    rule: &str,
    who: String,
) -> String {
    format!(
        "<tr><td class=\"num\">{}</td><td><span class=\"pill {class}\">{word}</span></td><td>{what}</td>\
         <td><code class=\"path\">{}</code></td><td><code>{}</code></td><td>{who}</td></tr>\n",
        offset(at),
        h(path),
        h(rule)
    )
}

fn changes(r: &RunReport) -> String {
    let list: Vec<&FileChange> = r.files.changes.iter().filter(|c| !c.violation).collect();
    if list.is_empty() {
        return String::new();
    }
    let total = list.len() as u64 + r.files.changes_omitted;
    let mut out = format!(
        "<h3>Changed under the workspace <span class=\"count\">{}</span></h3>\n<table class=\"grid files\"><thead><tr>\
         <th>Change</th><th>Path</th><th>First</th><th>By</th></tr></thead><tbody>\n",
        thousands(total)
    );
    for c in list.iter().take(MAX_ROWS) {
        out.push_str(&format!(
            "<tr><td>{}</td><td><code class=\"path\">{}</code></td><td class=\"num\">{}</td><td>{}</td></tr>\n",
            ops_html(c),
            h(&shown(r, &c.path)),
            offset(c.first_offset_ms),
            actors_html(r, &c.processes, c.processes_total)
        ));
    }
    out.push_str("</tbody></table>\n");
    if total > MAX_ROWS as u64 {
        let rest = match r.files.changes_omitted {
            0 => "report.json lists them all".to_string(),
            _ => format!("report.json lists {}; the journal has them all", thousands(list.len() as u64)),
        };
        out.push_str(&format!(
            "<p class=\"muted\">Showing {} of {}; {rest}.</p>\n",
            thousands(MAX_ROWS.min(list.len()) as u64),
            thousands(total)
        ));
    }
    out
}

fn context(r: &RunReport) -> String {
    let list: Vec<_> = r.files.refusals.iter().filter(|x| !x.violation).collect();
    if list.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "<h3>Refused by file permissions</h3>\n<p class=\"muted\">Ordinary permission errors, not the fence: \
         context for a failing step, not findings.</p>\n<ul class=\"plain\">\n",
    );
    for x in list.iter().take(MAX_ROWS) {
        out.push_str(&format!(
            "<li>{} <code class=\"path\">{}</code> <span class=\"muted\">{}{}</span> · {}</li>\n",
            h(&x.op),
            h(&shown(r, &x.path)),
            h(&x.errno),
            times(x.count),
            actors_html(r, &x.processes, x.processes_total)
        ));
    }
    out.push_str("</ul>\n");
    out
}

/// Coloured like a diff: created green, deleted red, modified and renamed amber.
fn ops_html(c: &FileChange) -> String {
    c.ops
        .iter()
        .map(|run| {
            let (class, word) = match run.op {
                FileOp::Create => ("op-create", "created"),
                FileOp::Modify => ("op-modify", "modified"),
                FileOp::Delete => ("op-delete", "deleted"),
                FileOp::Rename => ("op-rename", "renamed"),
            };
            let to = run
                .to
                .as_deref()
                .map(|to| {
                    format!(
                        " → <code class=\"path\">{}</code>",
                        h(&relative(to, root(c)).unwrap_or_else(|| to.into()))
                    )
                })
                .unwrap_or_default();
            format!("<span class=\"op {class}\">{word}{}</span>{to}", times(run.count))
        })
        .chain(crate::text::at_end(c).map(|words| format!("<span class=\"muted\">{}</span>", h(&words))))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The workspace root a change's relative path was taken from.
fn root(c: &FileChange) -> &str {
    c.relative.as_deref().and_then(|rel| c.path.strip_suffix(rel)).unwrap_or_default()
}

fn shown(r: &RunReport, path: &str) -> String {
    relative(path, &r.run.cwd).unwrap_or_else(|| path.to_string())
}

fn times(n: u64) -> String {
    if n > 1 { format!(" ×{}", thousands(n)) } else { String::new() }
}
