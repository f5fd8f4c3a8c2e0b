//! How report.md names the processes behind a file or network event.

use crate::escape::{md_code, md_text};
use crate::model::{Actor, RunReport};
use crate::text::{thousands, truncate};
use crate::tree::{ancestry, command_line};

const COMMAND_MAX: usize = 120;
const CHAIN_MAX: usize = 3;

/// `` `curl -s https://x` pid 1011 ← sh ← claude `` for the first process, then `+2 more`.
pub fn actors_cell(r: &RunReport, actors: &[Actor], total: u64) -> String {
    let Some(first) = actors.first() else { return "(no process)".into() };
    let mut out = actor(r, first);
    if total > 1 {
        out.push_str(&format!(" +{} more", thousands(total - 1)));
    }
    out
}

pub fn actor(r: &RunReport, a: &Actor) -> String {
    let Some(pid) = a.pid else { return "(no process)".into() };
    let Some((id, p)) = a.process.and_then(|id| Some((id, r.processes.get(id)?))) else {
        return format!("pid {pid} (no exec seen)");
    };
    let chain = ancestry(r, id, CHAIN_MAX);
    let chain = if chain.is_empty() { String::new() } else { format!(" ← {}", md_text(&chain)) };
    format!("{} pid {pid}{chain}", md_code(&truncate(&command_line(p), COMMAND_MAX), true))
}
