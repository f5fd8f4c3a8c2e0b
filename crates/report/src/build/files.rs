//! The Files section: changes grouped per path, credential reads and refusals grouped per
//! (path, what was tried), each with the processes that did it.
//!
//! Memory stays bounded however many files a run touches: a path gets a row only while fewer
//! than [`CHANGES_MAX`] ordinary ones have (the report shows no more), or when its change is a
//! violation; the paths past that are only counted, by a 64-bit hash each. The journal keeps
//! every change.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};

use journal::{Event, Record};

use super::actor::Actors;
use super::{Clock, ProcessTree};
use crate::model::{CHANGES_MAX, FileChange, FileOp, FileOpRun, FileRefusal, Files, SensitiveRead};
use crate::text::relative;

pub(super) struct FileCollector {
    workspace: String,
    changes: Vec<(FileChange, Actors)>,
    change_at: HashMap<String, usize>,
    /// Rows of changes that are not violations; at most [`CHANGES_MAX`].
    ordinary: usize,
    /// Hashes of the changed paths that got no row.
    omitted: HashSet<u64>,
    hasher: RandomState,
    reads: Vec<(SensitiveRead, Actors)>,
    read_at: HashMap<(String, String), usize>,
    refusals: Vec<(FileRefusal, Actors)>,
    refusal_at: HashMap<(String, String, String, Option<String>), usize>,
}

impl FileCollector {
    pub fn new(workspace: &str) -> FileCollector {
        FileCollector {
            workspace: workspace.to_string(),
            changes: Vec::new(),
            change_at: HashMap::new(),
            ordinary: 0,
            omitted: HashSet::new(),
            hasher: RandomState::new(),
            reads: Vec::new(),
            read_at: HashMap::new(),
            refusals: Vec::new(),
            refusal_at: HashMap::new(),
        }
    }

    pub fn observe(&mut self, record: &Record, tree: &ProcessTree, clock: &Clock) {
        let at = clock.offset_ms(&record.ts);
        match &record.event {
            Event::FileWrite(w) => {
                let i = match self.change_at.get(&w.path) {
                    Some(&i) => i,
                    None if w.violation || self.ordinary < CHANGES_MAX => {
                        if w.violation {
                            // Seen before as an ordinary change past the rows: its row starts here.
                            self.omitted.remove(&self.hasher.hash_one(&w.path));
                        } else {
                            self.ordinary += 1;
                        }
                        self.changes.push((
                            FileChange {
                                path: w.path.clone(),
                                relative: relative(&w.path, &self.workspace),
                                ops: Vec::new(),
                                events: 0,
                                violation: false,
                                rule: None,
                                first_seq: record.seq,
                                first_offset_ms: at,
                                last_offset_ms: at,
                                processes: Vec::new(),
                                processes_total: 0,
                                at_end: None,
                                size: None,
                            },
                            Actors::default(),
                        ));
                        self.change_at.insert(w.path.clone(), self.changes.len() - 1);
                        self.changes.len() - 1
                    }
                    None => {
                        self.omitted.insert(self.hasher.hash_one(&w.path));
                        return;
                    }
                };
                let (change, actors) = &mut self.changes[i];
                let op = file_op(w.op);
                match change.ops.last_mut() {
                    // Editors and build tools write a file many times; a reviewer needs it once.
                    Some(last) if last.op == op && last.to == w.to => last.count += 1,
                    _ => change.ops.push(FileOpRun { op, count: 1, to: w.to.clone() }),
                }
                change.events += 1;
                change.last_offset_ms = at;
                if w.violation {
                    // The first violation's rule, over any flag the row had before.
                    if !change.violation {
                        change.rule = w.rule.clone().or_else(|| change.rule.take());
                    }
                    change.violation = true;
                } else if change.rule.is_none() {
                    // A flag that is not a violation (a job's overwritten checkout file).
                    change.rule = w.rule.clone();
                }
                actors.add(tree, w.pid);
            }
            Event::FileReadSensitive(r) => {
                let key = (r.path.clone(), r.rule.clone());
                let i = *self.read_at.entry(key).or_insert_with(|| {
                    self.reads.push((
                        SensitiveRead {
                            path: r.path.clone(),
                            rule: r.rule.clone(),
                            count: 0,
                            first_seq: record.seq,
                            first_offset_ms: at,
                            processes: Vec::new(),
                            processes_total: 0,
                        },
                        Actors::default(),
                    ));
                    self.reads.len() - 1
                });
                self.reads[i].0.count += 1;
                self.reads[i].1.add(tree, r.pid);
            }
            Event::FileDenied(d) => {
                let key = (d.op.clone(), d.path.clone(), d.errno.clone(), d.rule.clone());
                let i = *self.refusal_at.entry(key).or_insert_with(|| {
                    self.refusals.push((
                        FileRefusal {
                            op: d.op.clone(),
                            path: d.path.clone(),
                            errno: d.errno.clone(),
                            rule: d.rule.clone(),
                            violation: d.rule.is_some(),
                            count: 0,
                            first_seq: record.seq,
                            first_offset_ms: at,
                            processes: Vec::new(),
                            processes_total: 0,
                        },
                        Actors::default(),
                    ));
                    self.refusals.len() - 1
                });
                self.refusals[i].0.count += 1;
                self.refusals[i].1.add(tree, d.pid);
            }
            Event::FilesFinal(f) => {
                for file in &f.files {
                    if let Some(&i) = self.change_at.get(&file.path) {
                        let change = &mut self.changes[i].0;
                        change.at_end = Some(file.kind.clone());
                        change.size = file.size;
                    }
                }
            }
            _ => {}
        }
    }

    /// The paths that have rows: the ones a report lists, and so the ones whose state at the
    /// end of the run is worth journaling (`files.final`).
    pub fn listed_paths(&self) -> Vec<String> {
        self.changes.iter().map(|(change, _)| change.path.clone()).collect()
    }

    pub fn finish(self) -> Files {
        let mut changes: Vec<FileChange> = self
            .changes
            .into_iter()
            .map(|(mut c, actors)| {
                (c.processes, c.processes_total) = actors.finish();
                c
            })
            .collect();
        changes.sort_by_key(|c| (!c.violation, c.first_seq));
        let changes_omitted = self.omitted.len() as u64;
        let sensitive_reads = self
            .reads
            .into_iter()
            .map(|(mut r, actors)| {
                (r.processes, r.processes_total) = actors.finish();
                r
            })
            .collect();
        let mut refusals: Vec<FileRefusal> = self
            .refusals
            .into_iter()
            .map(|(mut r, actors)| {
                (r.processes, r.processes_total) = actors.finish();
                r
            })
            .collect();
        refusals.sort_by_key(|r| (!r.violation, r.first_seq));
        Files { changes, changes_omitted, sensitive_reads, refusals }
    }
}

fn file_op(op: journal::FileOp) -> FileOp {
    match op {
        journal::FileOp::Create => FileOp::Create,
        journal::FileOp::Modify => FileOp::Modify,
        journal::FileOp::Delete => FileOp::Delete,
        journal::FileOp::Rename => FileOp::Rename,
    }
}
