//! The process tree (server-rendered `<details>`, so it folds without JavaScript) and the
//! filterable table of every process (built by report.js).

use super::command_html;
use crate::escape::html as h;
use crate::html::Tab;
use crate::model::{Process, RunReport};
use crate::text::{exit_words, offset, thousands};
use crate::tree::{Item, descendants, items};

/// Beyond this many nodes the tree stops; the table below it lists every process.
const MAX_TREE_NODES: usize = 3_000;
/// Deeper nesting is summarised: past it a reader sees only indentation.
const MAX_DEPTH: usize = 40;
/// Levels folded open on load; deeper ones open only on the way to a violation.
const OPEN_DEPTH: usize = 2;

pub struct Processes;

impl Tab for Processes {
    fn id(&self) -> &'static str {
        "processes"
    }

    fn title(&self, r: &RunReport) -> String {
        format!("Processes ({})", thousands(r.processes.len() as u64))
    }

    fn render(&self, r: &RunReport) -> Option<String> {
        if r.processes.is_empty() {
            return None;
        }
        Some(format!(
            "<h3>Tree</h3>\n<p class=\"muted\">Who started whom. Identical short-lived siblings are folded into one line; \
             the table below lists every process.</p>\n{}\
             <h3>All processes</h3>\n<div class=\"toolbar\"><input type=\"search\" id=\"process-filter\" \
             placeholder=\"Filter processes: command, pid:1234\" aria-label=\"Filter processes\">\
             <label><input type=\"checkbox\" id=\"process-notable\"> only with violations or outliving their parent</label>\
             <span class=\"muted\" id=\"process-count\"></span></div>\n\
             <table class=\"grid\" id=\"process-table\"><thead><tr><th>Pid</th><th>Started</th><th>Command</th><th>Exit</th>\
             <th>Children</th><th>Notes</th></tr></thead><tbody></tbody></table>\n\
             <button type=\"button\" class=\"more\" id=\"process-more\" hidden>Show more</button>\n\
             <noscript><p class=\"muted\">The process table needs JavaScript; report.json holds every process.</p></noscript>\n",
            tree(r)
        ))
    }
}

enum Step {
    Open(Item, usize),
    Close,
}

/// Nested lists built with an explicit stack: an agent can build a chain of processes far deeper
/// than the renderer's own stack.
fn tree(r: &RunReport) -> String {
    let hot = on_path_to_violation(r);
    let mut out = String::from("<ul class=\"tree\">\n");
    let mut stack: Vec<Step> = items(r, &r.roots).into_iter().rev().map(|i| Step::Open(i, 0)).collect();
    let mut shown = 0;
    while let Some(step) = stack.pop() {
        let (item, depth) = match step {
            Step::Close => {
                out.push_str("</ul></details></li>\n");
                continue;
            }
            Step::Open(item, depth) => (item, depth),
        };
        let id = match item {
            Item::More { exe, count, failed } => {
                let failed =
                    if failed > 0 { format!(", {} failed", thousands(failed as u64)) } else { String::new() };
                out.push_str(&format!(
                    "<li class=\"folded\">… {} more <code>{}</code>{failed}</li>\n",
                    thousands(count as u64),
                    h(&exe)
                ));
                continue;
            }
            Item::Process(id) => id,
        };
        if shown == MAX_TREE_NODES {
            let rest = r.processes.len().saturating_sub(shown);
            out.push_str(&format!(
                "<li class=\"folded\">The tree stops here to keep the page light; the table below lists all {} processes ({} not drawn above at most).</li>\n",
                thousands(r.processes.len() as u64),
                thousands(rest as u64)
            ));
            break;
        }
        shown += 1;
        let p = &r.processes[id];
        if p.children.is_empty() {
            out.push_str(&format!("<li><div class=\"node\">{}</div></li>\n", label(p)));
        } else if depth >= MAX_DEPTH {
            out.push_str(&format!(
                "<li><div class=\"node\">{}</div><div class=\"folded\">… {} more processes nested deeper</div></li>\n",
                label(p),
                thousands(descendants(r, id) as u64)
            ));
        } else {
            let open = if depth < OPEN_DEPTH || hot[id] { " open" } else { "" };
            out.push_str(&format!(
                "<li><details{open}><summary><div class=\"node\">{}</div></summary><ul>\n",
                label(p)
            ));
            stack.push(Step::Close);
            stack.extend(items(r, &p.children).into_iter().rev().map(|i| Step::Open(i, depth + 1)));
        }
    }
    // Close whatever the node cap left open.
    for step in stack {
        if let Step::Close = step {
            out.push_str("</ul></details></li>\n");
        }
    }
    out.push_str("</ul>\n");
    out
}

/// True for every process with a violation in its subtree, so the tree opens the way to it.
fn on_path_to_violation(r: &RunReport) -> Vec<bool> {
    let mut hot = vec![false; r.processes.len()];
    for p in r.processes.iter().filter(|p| p.violations > 0) {
        let mut at = p.parent;
        while let Some(id) = at {
            if hot[id] {
                break;
            }
            hot[id] = true;
            at = r.processes[id].parent;
        }
    }
    hot
}

fn label(p: &Process) -> String {
    let mut badges = format!("<span class=\"muted\">pid {}</span>", p.pid);
    badges.push_str(&match &p.exit {
        Some(x) if x.code == Some(0) => {
            format!(" <span class=\"pill ok\">{}</span>", h(&exit_words(x.code, x.signal)))
        }
        Some(x) => format!(" <span class=\"pill bad\">{}</span>", h(&exit_words(x.code, x.signal))),
        None => " <span class=\"pill\">no exit seen</span>".into(),
    });
    if p.violations > 0 {
        let n = p.violations;
        badges.push_str(&format!(
            " <span class=\"pill bad strong\">{} violation{}</span>",
            thousands(n),
            if n == 1 { "" } else { "s" }
        ));
    }
    if p.orphaned {
        badges.push_str(" <span class=\"pill warn\">outlived its parent</span>");
    }
    if p.image_inherited {
        badges.push_str(" <span class=\"pill\">forked, no exec</span>");
    }
    badges.push_str(&format!(" <span class=\"muted\">{}</span>", offset(p.offset_ms)));
    format!("{} <span class=\"badges\">{badges}</span>", command_html(p))
}
