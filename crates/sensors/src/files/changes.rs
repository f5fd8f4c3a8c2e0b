//! Turning fanotify events into journal events: which process, which path, which change.
//!
//! Paths are resolved when the event is read, not when it happened: a directory handle names the
//! directory wherever it is now. Two cases need care, both handled here:
//! - A directory deleted before its children's events are read (`rm -rf dir`) no longer opens.
//!   Those events wait until the directory's own delete event says where it was (its parent and
//!   name), and are then delivered in their order, before the directory's delete.
//! - A directory renamed: every remembered path under it is forgotten.

use std::collections::{HashMap, HashSet};

use journal::{Event, FileOp, FileReadSensitive, FileWrite};

use super::fanotify::{Fid, RawEvent};
use super::handles::Resolved;
use super::paths::{child, is_under};
use super::sensitive::Rules;

/// What the tracker needs from the system; a map in unit tests.
pub trait Lookup {
    fn resolve(&mut self, fid: &Fid) -> Resolved;
    fn remember(&mut self, fid: Fid, path: String);
    fn forget_all(&mut self);
    /// Whether `pid` is, or was when it exited, a process of the run.
    fn is_member(&mut self, pid: u32) -> bool;
}

/// Bound on created files remembered until their first close; past it they start over (an
/// extra Modify, no loss).
const CREATED_MAX: usize = 4096;

pub struct Tracker {
    tree: String,
    rules: Rules,
    /// (pid, path) of files reported created and not yet closed by their creator: its writes
    /// until then are part of the Create (`echo x > f` is one event, not two).
    created: HashSet<(u32, String)>,
    /// Events waiting for a deleted directory's path, by that directory's handle; with whether
    /// they are the run's (else they only help resolve others).
    pending: HashMap<Fid, Vec<(RawEvent, bool)>>,
    /// Queue overflows the kernel reported.
    pub overflows: u64,
    /// Report the run's changes outside the tree too (audit mode's view of every write).
    pub everywhere: bool,
}

/// Where an event happened, once its directories are known.
enum Located {
    /// The object's path; for a rename, the old and new path.
    At(String, Option<String>),
    /// Waiting for this deleted directory's path.
    Waiting(Fid),
    Unknown,
}

impl Tracker {
    pub fn new(tree: String, rules: Rules) -> Tracker {
        Tracker {
            tree,
            rules,
            created: HashSet::new(),
            pending: HashMap::new(),
            overflows: 0,
            everywhere: false,
        }
    }

    /// The journal events for one fanotify event, appended to `out`.
    pub fn process(&mut self, raw: RawEvent, lookup: &mut impl Lookup, out: &mut Vec<Event>) {
        if raw.mask & libc::FAN_Q_OVERFLOW != 0 {
            self.overflows += 1;
            return;
        }
        let on_dir = raw.mask & libc::FAN_ONDIR != 0;
        // Upkeep of the remembered directories comes first and is for everyone's events: a
        // directory moved or deleted by any process changes the paths the run's events resolve to.
        if on_dir && raw.mask & libc::FAN_RENAME != 0 {
            lookup.forget_all();
        }
        let member = lookup.is_member(raw.pid);
        let helps = on_dir
            && raw.mask & libc::FAN_DELETE != 0
            && raw.target.as_ref().is_some_and(|fid| self.pending.contains_key(fid));
        if member || helps {
            self.place(raw, member, lookup, out);
        }
    }

    /// Events that never found their directory: the run's ones are lost.
    pub fn unresolved(&self) -> u64 {
        self.pending.values().flatten().filter(|(_, member)| *member).count() as u64
    }

    fn place(&mut self, raw: RawEvent, member: bool, lookup: &mut impl Lookup, out: &mut Vec<Event>) {
        let (path, to) = match locate(&raw, lookup) {
            Located::At(path, to) => (path, to),
            Located::Waiting(dir) => {
                self.pending.entry(dir).or_default().push((raw, member));
                return;
            }
            // Not on a watched filesystem, or unreadable: nothing to say where it was.
            Located::Unknown => return,
        };
        if raw.mask & libc::FAN_ONDIR != 0
            && let Some(target) = &raw.target
        {
            let now = if raw.mask & libc::FAN_RENAME != 0 { to.clone() } else { Some(path.clone()) };
            if let Some(now) = now {
                lookup.remember(target.clone(), now);
            }
            if let Some(waiting) = self.pending.remove(target) {
                for (event, member) in waiting {
                    self.place(event, member, lookup, out);
                }
            }
        }
        if member {
            self.report(&raw, path, to, out);
        }
    }

    fn report(&mut self, raw: &RawEvent, path: String, to: Option<String>, out: &mut Vec<Event>) {
        let pid = raw.pid;
        let write = |op, path: &String, to: Option<String>| {
            Event::FileWrite(FileWrite {
                pid: Some(pid),
                op,
                path: path.clone(),
                to,
                violation: false,
                rule: None,
            })
        };
        let in_tree = self.everywhere || is_under(&path, &self.tree);
        // Merged events carry several bits; they are reported in the order they must have happened.
        if raw.mask & libc::FAN_OPEN != 0 {
            let rule = self.rules.rule_for(raw, &path);
            out.push(Event::FileReadSensitive(FileReadSensitive {
                pid: Some(pid),
                path: path.clone(),
                rule,
            }));
        }
        if raw.mask & libc::FAN_CREATE != 0 && in_tree {
            out.push(write(FileOp::Create, &path, None));
            if raw.mask & libc::FAN_ONDIR == 0 {
                if self.created.len() >= CREATED_MAX {
                    self.created.clear();
                }
                self.created.insert((pid, path.clone()));
            }
        }
        // A close after writing is a Modify, unless it ends the creator's first session: then
        // the Create said it.
        if raw.mask & libc::FAN_CLOSE_WRITE != 0 && in_tree && !self.created.remove(&(pid, path.clone())) {
            out.push(write(FileOp::Modify, &path, None));
        }
        if raw.mask & libc::FAN_RENAME != 0
            && let Some(to) = to
            && (in_tree || is_under(&to, &self.tree))
        {
            out.push(write(FileOp::Rename, &path, Some(to)));
        }
        if raw.mask & libc::FAN_DELETE != 0 && in_tree {
            out.push(write(FileOp::Delete, &path, None));
        }
    }
}

fn locate(raw: &RawEvent, lookup: &mut impl Lookup) -> Located {
    if raw.mask & libc::FAN_RENAME != 0 {
        let (Some(old), Some(new)) = (&raw.old, &raw.new) else { return Located::Unknown };
        return match (in_dir(old, lookup), in_dir(new, lookup)) {
            (Located::At(from, _), Located::At(to, _)) => Located::At(from, Some(to)),
            (Located::Waiting(dir), _) | (_, Located::Waiting(dir)) => Located::Waiting(dir),
            _ => Located::Unknown,
        };
    }
    match (&raw.dir, &raw.target) {
        (Some(dir), _) => in_dir(dir, lookup),
        // No name (an object reached without one, e.g. opened by handle): the object itself.
        (None, Some(target)) => match lookup.resolve(target) {
            Resolved::Path(path) => Located::At(path, None),
            _ => Located::Unknown,
        },
        (None, None) => Located::Unknown,
    }
}

fn in_dir((dir, name): &(Fid, Vec<u8>), lookup: &mut impl Lookup) -> Located {
    match lookup.resolve(dir) {
        Resolved::Path(path) => Located::At(child(&path, &String::from_utf8_lossy(name)), None),
        Resolved::Gone => Located::Waiting(dir.clone()),
        Resolved::Unknown => Located::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::fanotify::tests::fid;

    /// Directories that exist now, the run's pids, and what was remembered.
    #[derive(Default)]
    struct Fake {
        live: HashMap<Fid, String>,
        remembered: HashMap<Fid, String>,
        members: HashSet<u32>,
        forgot: usize,
    }

    impl Lookup for Fake {
        fn resolve(&mut self, fid: &Fid) -> Resolved {
            match self.remembered.get(fid).or(self.live.get(fid)) {
                Some(path) => Resolved::Path(path.clone()),
                None if fid.handle == b"elsewhere" => Resolved::Unknown,
                None => Resolved::Gone,
            }
        }
        fn remember(&mut self, fid: Fid, path: String) {
            self.remembered.insert(fid, path);
        }
        fn forget_all(&mut self) {
            self.forgot += 1;
            self.remembered.clear();
        }
        fn is_member(&mut self, pid: u32) -> bool {
            self.members.contains(&pid)
        }
    }

    fn fake() -> Fake {
        let mut fake = Fake::default();
        fake.live.insert(fid(b"ws"), "/ws".into());
        fake.live.insert(fid(b"out"), "/elsewhere".into());
        fake.members.insert(10);
        fake
    }

    fn ev(mask: u64, pid: u32, dir: &[u8], name: &str, target: Option<&[u8]>) -> RawEvent {
        RawEvent {
            mask,
            pid,
            dir: Some((fid(dir), name.as_bytes().to_vec())),
            target: target.map(fid),
            ..RawEvent::default()
        }
    }

    fn write(op: FileOp, path: &str, to: Option<&str>) -> Event {
        Event::FileWrite(FileWrite {
            pid: Some(10),
            op,
            path: path.into(),
            to: to.map(Into::into),
            violation: false,
            rule: None,
        })
    }

    fn run(events: Vec<RawEvent>, fake: &mut Fake) -> (Tracker, Vec<Event>) {
        let mut tracker = Tracker::new("/ws".into(), Rules::default());
        let mut out = Vec::new();
        for event in events {
            tracker.process(event, fake, &mut out);
        }
        (tracker, out)
    }

    #[test]
    fn reports_create_modify_once_per_session_and_delete() {
        let mut fake = fake();
        let events = vec![
            ev(libc::FAN_CREATE, 10, b"ws", "f", Some(b"f")),
            ev(libc::FAN_CLOSE_WRITE, 10, b"ws", "f", None),
            ev(libc::FAN_CLOSE_WRITE, 10, b"ws", "f", None),
            ev(libc::FAN_DELETE, 10, b"ws", "f", Some(b"f")),
        ];
        let (_, out) = run(events, &mut fake);
        // The creator's writes before its first close are part of the Create; the next session
        // is a Modify, reported at its close.
        assert_eq!(
            out,
            [
                write(FileOp::Create, "/ws/f", None),
                write(FileOp::Modify, "/ws/f", None),
                write(FileOp::Delete, "/ws/f", None),
            ]
        );
    }

    #[test]
    fn a_merged_create_and_close_is_one_create_but_another_writer_is_reported() {
        let mut fake = fake();
        fake.members.insert(11);
        let events = vec![
            ev(libc::FAN_CREATE | libc::FAN_CLOSE_WRITE, 10, b"ws", "g", Some(b"g")),
            ev(libc::FAN_CLOSE_WRITE, 11, b"ws", "g", None),
        ];
        let (_, out) = run(events, &mut fake);
        let mut other = write(FileOp::Modify, "/ws/g", None);
        if let Event::FileWrite(w) = &mut other {
            w.pid = Some(11);
        }
        assert_eq!(out, [write(FileOp::Create, "/ws/g", None), other]);
    }

    #[test]
    fn a_created_directory_does_not_hide_a_later_modify() {
        let mut fake = fake();
        let events = vec![
            ev(libc::FAN_CREATE | libc::FAN_ONDIR, 10, b"ws", "d", Some(b"d")),
            ev(libc::FAN_CLOSE_WRITE, 10, b"ws", "d", None),
        ];
        let (_, out) = run(events, &mut fake);
        assert_eq!(out, [write(FileOp::Create, "/ws/d", None), write(FileOp::Modify, "/ws/d", None)]);
    }

    #[test]
    fn ignores_other_processes_and_other_trees() {
        let mut fake = fake();
        let events = vec![
            ev(libc::FAN_CREATE, 99, b"ws", "f", Some(b"f")),
            ev(libc::FAN_CREATE, 10, b"out", "f", Some(b"f")),
        ];
        let (_, out) = run(events, &mut fake);
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn renames_report_both_ends_and_forget_moved_directories() {
        let mut fake = fake();
        let rename = |mask, old: &str, new: &str| RawEvent {
            mask,
            pid: 10,
            old: Some((fid(b"ws"), old.as_bytes().to_vec())),
            new: Some((fid(b"ws"), new.as_bytes().to_vec())),
            target: Some(fid(b"moved")),
            ..RawEvent::default()
        };
        let (_, out) = run(
            vec![rename(libc::FAN_RENAME, "a", "b"), rename(libc::FAN_RENAME | libc::FAN_ONDIR, "d", "e")],
            &mut fake,
        );
        assert_eq!(
            out,
            [write(FileOp::Rename, "/ws/a", Some("/ws/b")), write(FileOp::Rename, "/ws/d", Some("/ws/e"))]
        );
        assert_eq!(fake.forgot, 1);
        assert_eq!(fake.remembered.get(&fid(b"moved")).map(String::as_str), Some("/ws/e"));
    }

    #[test]
    fn a_move_into_the_tree_is_reported() {
        let mut fake = fake();
        let moved = RawEvent {
            mask: libc::FAN_RENAME,
            pid: 10,
            old: Some((fid(b"out"), b"x".to_vec())),
            new: Some((fid(b"ws"), b"x".to_vec())),
            ..RawEvent::default()
        };
        let (_, out) = run(vec![moved], &mut fake);
        assert_eq!(out, [write(FileOp::Rename, "/elsewhere/x", Some("/ws/x"))]);
    }

    #[test]
    fn events_in_a_deleted_directory_wait_for_its_delete() {
        // rm -rf /ws/a, where /ws/a/b/f existed before the sensor started; an outsider deletes b.
        let mut fake = fake();
        fake.members.insert(11);
        let events = vec![
            ev(libc::FAN_DELETE, 10, b"b", "f", Some(b"f")),
            ev(libc::FAN_DELETE | libc::FAN_ONDIR, 11, b"a", "b", Some(b"b")),
            ev(libc::FAN_DELETE | libc::FAN_ONDIR, 10, b"ws", "a", Some(b"a")),
        ];
        let (tracker, out) = run(events, &mut fake);
        let paths: Vec<_> = out
            .iter()
            .map(|event| match event {
                Event::FileWrite(write) => (write.pid, write.path.as_str()),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(paths, [(Some(10), "/ws/a/b/f"), (Some(11), "/ws/a/b"), (Some(10), "/ws/a")]);
        assert_eq!(tracker.unresolved(), 0);
    }

    #[test]
    fn an_outsiders_directory_delete_still_resolves_the_runs_events() {
        let mut fake = fake();
        let events = vec![
            ev(libc::FAN_DELETE, 10, b"d", "f", Some(b"f")),
            ev(libc::FAN_DELETE | libc::FAN_ONDIR, 99, b"ws", "d", Some(b"d")),
        ];
        let (tracker, out) = run(events, &mut fake);
        assert_eq!(out, [write(FileOp::Delete, "/ws/d/f", None)]);
        assert_eq!(tracker.unresolved(), 0);
    }

    #[test]
    fn counts_overflows_and_never_resolved_events() {
        let mut fake = fake();
        let events = vec![
            RawEvent { mask: libc::FAN_Q_OVERFLOW, ..RawEvent::default() },
            ev(libc::FAN_CREATE, 10, b"gone", "f", Some(b"f")),
            ev(libc::FAN_CREATE, 10, b"elsewhere", "f", Some(b"f")),
        ];
        let (tracker, out) = run(events, &mut fake);
        assert!(out.is_empty());
        assert_eq!((tracker.overflows, tracker.unresolved()), (1, 1));
    }

    #[test]
    fn created_directories_name_their_children_after_deletion() {
        let mut fake = fake();
        let events = vec![
            ev(libc::FAN_CREATE | libc::FAN_ONDIR, 10, b"ws", "new", Some(b"new")),
            ev(libc::FAN_CREATE, 10, b"new", "f", Some(b"f")),
        ];
        let (_, out) = run(events, &mut fake);
        assert_eq!(out, [write(FileOp::Create, "/ws/new", None), write(FileOp::Create, "/ws/new/f", None)]);
    }
}
