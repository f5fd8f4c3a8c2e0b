//! Joining a pid to the process it was at the time, and keeping a short list of distinct ones.

use std::collections::HashSet;

use super::ProcessTree;
use crate::model::Actor;

/// Per path or host, the first this many processes are named; the rest are counted.
const MAX_ACTORS: usize = 20;

pub(super) fn actor(tree: &ProcessTree, pid: Option<u32>) -> Actor {
    let process = pid.and_then(|pid| tree.current(pid));
    Actor {
        pid,
        process: process.map(|p| p.id),
        exe: process.and_then(|p| p.exe.clone()),
        argv: process.map(|p| p.argv.clone()).unwrap_or_default(),
    }
}

/// Distinct processes in order of first appearance.
#[derive(Default)]
pub(super) struct Actors {
    list: Vec<Actor>,
    seen: HashSet<(Option<u32>, Option<usize>)>,
}

impl Actors {
    pub fn add(&mut self, tree: &ProcessTree, pid: Option<u32>) {
        let process = pid.and_then(|pid| tree.current(pid)).map(|p| p.id);
        if self.seen.insert((pid, process)) && self.list.len() < MAX_ACTORS {
            self.list.push(actor(tree, pid));
        }
    }

    /// The named processes and how many distinct ones there were in all.
    pub fn finish(self) -> (Vec<Actor>, u64) {
        (self.list, self.seen.len() as u64)
    }
}
