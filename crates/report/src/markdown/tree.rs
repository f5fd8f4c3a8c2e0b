//! The compact process tree for report.md.
//!
//! A job summary is read top to bottom by a person, so the tree collapses what a person would
//! skip: long runs of identical leaf children (a test suite spawning `/bin/true` 2,000 times)
//! become one "… 1,997 more" line, deep nesting is cut off, and the whole tree stops at a byte
//! budget with a note saying how much was left out.

use crate::model::{Process, RunReport};
use crate::text::{exit_words, thousands, truncate};
use crate::tree::{Item, command_line, descendants, items};

/// Nesting deeper than this is summarised: past it the indentation is all a reader sees.
const MAX_DEPTH: usize = 24;
const LABEL_MAX: usize = 140;

/// The tree as plain text lines (to go in a fenced block) and how many processes were left out.
pub fn render(r: &RunReport, budget: usize) -> (String, usize) {
    let mut out = String::new();
    let mut shown = 0usize;
    let mut collapsed = 0usize;
    // (item, indentation prefix, is last sibling, depth); a stack, not recursion, because an
    // agent can build a process chain thousands deep.
    let roots = items(r, &r.roots);
    let mut stack: Vec<(Item, String, bool, usize)> = Vec::new();
    let n = roots.len();
    for (i, item) in roots.into_iter().enumerate().rev() {
        stack.push((item, String::new(), i + 1 == n, 0));
    }
    while let Some((item, prefix, last, depth)) = stack.pop() {
        let branch = if depth == 0 {
            ""
        } else if last {
            "└─ "
        } else {
            "├─ "
        };
        let line = match &item {
            Item::Process(id) => format!("{prefix}{branch}{}\n", label(&r.processes[*id])),
            Item::More { exe, count, failed } => {
                collapsed += count;
                let failed = if *failed > 0 {
                    format!(", {} failed", thousands(*failed as u64))
                } else {
                    String::new()
                };
                format!(
                    "{prefix}{branch}… {} more {}{failed}\n",
                    thousands(*count as u64),
                    truncate(exe, LABEL_MAX)
                )
            }
        };
        if out.len() + line.len() > budget {
            break;
        }
        out.push_str(&line);
        let Item::Process(id) = item else { continue };
        shown += 1;
        let p = &r.processes[id];
        if p.children.is_empty() {
            continue;
        }
        let child_prefix = if depth == 0 {
            String::new()
        } else {
            format!("{prefix}{}", if last { "   " } else { "│  " })
        };
        if depth + 1 > MAX_DEPTH {
            let below = descendants(r, id);
            collapsed += below;
            out.push_str(&format!(
                "{child_prefix}└─ … {} more processes nested deeper\n",
                thousands(below as u64)
            ));
            continue;
        }
        let kids = items(r, &p.children);
        let k = kids.len();
        for (i, item) in kids.into_iter().enumerate().rev() {
            stack.push((item, child_prefix.clone(), i + 1 == k, depth + 1));
        }
    }
    let omitted = r.processes.len().saturating_sub(shown + collapsed);
    (out, omitted)
}

/// `/usr/bin/node test.js  [pid 101, exit 1, 2 violations]`
fn label(p: &Process) -> String {
    let command = command_line(p);
    let mut notes = vec![format!("pid {}", p.pid)];
    if p.image_inherited {
        notes.push("forked, no exec".into());
    }
    notes.push(match &p.exit {
        Some(x) => exit_words(x.code, x.signal),
        None => "no exit seen".into(),
    });
    if p.orphaned {
        notes.push("outlived its parent".into());
    }
    if p.violations > 0 {
        let n = p.violations;
        notes.push(format!("{} VIOLATION{}", thousands(n), if n == 1 { "" } else { "S" }));
    }
    format!("{}  [{}]", truncate(&command, LABEL_MAX), notes.join(", "))
}
