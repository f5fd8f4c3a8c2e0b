//! The Files section of report.md: what the fence refused or flagged first, then a diff-style
//! summary of every path changed under the workspace, then plain permission errors as context.

use super::actors::actors_cell;
use crate::escape::{md_code, md_text};
use crate::model::{FileChange, FileOp, RunReport};
use crate::text::{offset, thousands, truncate};

const MAX_CHANGES: usize = 40;
const MAX_ROWS: usize = 20;
const PATH_MAX: usize = 120;

pub fn section(r: &RunReport) -> String {
    let f = &r.files;
    if f.is_empty() {
        return String::new();
    }
    let mut out = format!("### Files: {}\n\n", summary(r));
    out.push_str(&violations(r));
    out.push_str(&changes(r));
    out.push_str(&context(r));
    out
}

fn summary(r: &RunReport) -> String {
    let f = &r.files;
    let protected =
        f.changes.iter().filter(|c| c.violation).count() + f.refusals.iter().filter(|x| x.violation).count();
    let mut parts = vec![format!("{} changed", thousands(f.changed_paths()))];
    if protected > 0 {
        parts.push(format!("**{} protected**", thousands(protected as u64)));
    }
    if !f.sensitive_reads.is_empty() {
        parts.push(format!("**{} credential read**", thousands(f.sensitive_reads.len() as u64)));
    }
    parts.join(", ")
}

fn violations(r: &RunReport) -> String {
    let f = &r.files;
    let mut rows = Vec::new();
    for c in f.changes.iter().filter(|c| c.violation) {
        rows.push(format!(
            "| {} | {} protected, allowed by audit mode | {} | {} | {} |",
            offset(c.first_offset_ms),
            change_words(c),
            path_cell(c.relative.as_deref().unwrap_or(&c.path)),
            md_code(c.rule.as_deref().unwrap_or("files.protected"), true),
            actors_cell(r, &c.processes, c.processes_total)
        ));
    }
    for s in &f.sensitive_reads {
        rows.push(format!(
            "| {} | credential read{} | {} | {} | {} |",
            offset(s.first_offset_ms),
            times(s.count),
            path_cell(&s.path),
            md_code(&s.rule, true),
            actors_cell(r, &s.processes, s.processes_total)
        ));
    }
    for x in f.refusals.iter().filter(|x| x.violation) {
        rows.push(format!(
            "| {} | refused {} ({}){} | {} | {} | {} |",
            offset(x.first_offset_ms),
            md_text(&x.op),
            md_text(&x.errno),
            times(x.count),
            path_cell(&display(r, &x.path)),
            md_code(x.rule.as_deref().unwrap_or_default(), true),
            actors_cell(r, &x.processes, x.processes_total)
        ));
    }
    if rows.is_empty() {
        return String::new();
    }
    let mut out = String::from("| Time | What | Path | Rule | Process |\n|---|---|---|---|---|\n");
    for row in rows.iter().take(MAX_ROWS) {
        out.push_str(row);
        out.push('\n');
    }
    more(&mut out, rows.len(), MAX_ROWS);
    out.push('\n');
    out
}

fn changes(r: &RunReport) -> String {
    let list: Vec<&FileChange> = r.files.changes.iter().filter(|c| !c.violation).collect();
    if list.is_empty() {
        return String::new();
    }
    let total = list.len() + r.files.changes_omitted as usize;
    let mut out = format!(
        "Changed under the workspace ({}):\n\n| Change | Path | By |\n|---|---|---|\n",
        thousands(total as u64)
    );
    for c in list.iter().take(MAX_CHANGES) {
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            change_words(c),
            path_cell(c.relative.as_deref().unwrap_or(&c.path)),
            actors_cell(r, &c.processes, c.processes_total)
        ));
    }
    more(&mut out, total, MAX_CHANGES.min(list.len()));
    if r.files.changes_omitted > 0 {
        out.push_str("The reports list the first of them; the journal (events.jsonl) has every one.\n");
    }
    out.push('\n');
    out
}

/// Permission errors that are not the fence's: they explain a failing step, they are not findings.
fn context(r: &RunReport) -> String {
    let list: Vec<_> = r.files.refusals.iter().filter(|x| !x.violation).collect();
    if list.is_empty() {
        return String::new();
    }
    let shown: Vec<String> = list
        .iter()
        .take(MAX_ROWS)
        .map(|x| {
            format!(
                "{} {} ({}){}",
                md_text(&x.op),
                md_code(&display(r, &x.path), false),
                md_text(&x.errno),
                times(x.count)
            )
        })
        .collect();
    let rest = if list.len() > MAX_ROWS {
        format!(", and {} more", thousands((list.len() - MAX_ROWS) as u64))
    } else {
        String::new()
    };
    format!("Refused by ordinary file permissions, not the fence: {}{rest}.\n\n", shown.join("; "))
}

/// `created, modified ×6`, `renamed → tests/parser.rs`.
pub fn change_words(c: &FileChange) -> String {
    let words: Vec<String> = c
        .ops
        .iter()
        .map(|run| {
            let word = match run.op {
                FileOp::Create => "created",
                FileOp::Modify => "modified",
                FileOp::Delete => "deleted",
                FileOp::Rename => "renamed",
            };
            let to = match &run.to {
                Some(to) => format!(" → {}", md_code(&truncate(to_relative(c, to), PATH_MAX), true)),
                None => String::new(),
            };
            format!("{word}{}{to}", times(run.count))
        })
        .collect();
    let end = crate::text::at_end(c).map(|words| format!(" ({words})")).unwrap_or_default();
    format!("{}{end}", words.join(", "))
}

/// The rename target is shown relative to the workspace when its source was.
fn to_relative<'a>(c: &FileChange, to: &'a str) -> &'a str {
    match (&c.relative, c.path.strip_suffix(c.relative.as_deref().unwrap_or_default())) {
        (Some(_), Some(root)) => to.strip_prefix(root).unwrap_or(to),
        _ => to,
    }
}

fn display(r: &RunReport, path: &str) -> String {
    crate::text::relative(path, &r.run.cwd).unwrap_or_else(|| path.to_string())
}

fn path_cell(path: &str) -> String {
    md_code(&truncate(path, PATH_MAX), true)
}

fn times(n: u64) -> String {
    if n > 1 { format!(" ×{}", thousands(n)) } else { String::new() }
}

fn more(out: &mut String, total: usize, shown: usize) {
    if total > shown {
        out.push_str(&format!(
            "\n…and {} more, listed in report.html and report.json.\n",
            thousands((total - shown) as u64)
        ));
    }
}
