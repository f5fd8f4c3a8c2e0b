//! What the markdown and html trees share: which siblings collapse, and how a process is named.

use std::collections::HashMap;

use crate::model::{Process, RunReport};
use crate::text::argv_line;

/// Leaf siblings running the same program are collapsed beyond this many.
const SHOW_SIMILAR: usize = 3;

pub enum Item {
    Process(usize),
    /// Stands for `count` leaf siblings running `exe`, `failed` of which exited non-zero.
    More {
        exe: String,
        count: usize,
        failed: usize,
    },
}

/// Children in order, with long runs of same-program leaves replaced by one `More` after the
/// first few of them.
pub fn items(r: &RunReport, ids: &[usize]) -> Vec<Item> {
    let collapsible = |p: &Process| p.children.is_empty() && p.violations == 0 && !p.orphaned;
    let mut per_exe: HashMap<&str, usize> = HashMap::new();
    for &id in ids {
        let p = &r.processes[id];
        if collapsible(p) {
            *per_exe.entry(program(p)).or_default() += 1;
        }
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut more: HashMap<&str, (usize, usize)> = HashMap::new();
    let mut out = Vec::new();
    for &id in ids {
        let p = &r.processes[id];
        let exe = program(p);
        if !collapsible(p) || per_exe[exe] <= SHOW_SIMILAR + 1 {
            out.push(Item::Process(id));
            continue;
        }
        let n = seen.entry(exe).or_default();
        *n += 1;
        if *n <= SHOW_SIMILAR {
            out.push(Item::Process(id));
            if *n == SHOW_SIMILAR {
                // Placeholder, filled in below once the whole run is counted.
                out.push(Item::More { exe: exe.to_string(), count: 0, failed: 0 });
            }
        } else {
            let failed = p.exit.as_ref().is_some_and(|x| x.code != Some(0));
            let entry = more.entry(exe).or_default();
            entry.0 += 1;
            entry.1 += usize::from(failed);
        }
    }
    for item in &mut out {
        if let Item::More { exe, count, failed } = item {
            (*count, *failed) = more.get(exe.as_str()).copied().unwrap_or_default();
        }
    }
    out
}

fn program(p: &Process) -> &str {
    p.exe.as_deref().unwrap_or("?")
}

pub fn descendants(r: &RunReport, id: usize) -> usize {
    let mut count = 0;
    let mut stack = r.processes[id].children.clone();
    while let Some(c) = stack.pop() {
        count += 1;
        stack.extend(&r.processes[c].children);
    }
    count
}

/// The executed file followed by argv[1..]: the exe is what really ran, while argv[0] is
/// whatever the caller chose to put there.
pub fn command_line(p: &Process) -> String {
    let exe = p.exe.as_deref().unwrap_or("?");
    let rest = p.argv.get(1..).unwrap_or_default();
    let mut line = argv_line(&[exe.to_string()]);
    if !rest.is_empty() {
        line.push(' ');
        line.push_str(&argv_line(rest));
    }
    if p.argv_truncated {
        line.push_str(" …");
    }
    line
}

/// Programs of the ancestors, nearest first: `sh ← claude`. Stops after `max`, so a deep chain
/// stays one line.
pub fn ancestry(r: &RunReport, id: usize, max: usize) -> String {
    let mut names = Vec::new();
    let mut at = r.processes.get(id).and_then(|p| p.parent);
    while let Some(parent) = at {
        let Some(p) = r.processes.get(parent) else { break };
        if names.len() == max {
            names.push("…".to_string());
            break;
        }
        names.push(short_program(p).to_string());
        at = p.parent;
    }
    names.join(" ← ")
}

/// The file name of the executed program: `/usr/bin/curl` → `curl`.
pub fn short_program(p: &Process) -> &str {
    let exe = p.exe.as_deref().unwrap_or("?");
    exe.rsplit('/').next().unwrap_or(exe)
}
