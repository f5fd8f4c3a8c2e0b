//! Keeps one exit per process when the kernel side reports two.
//!
//! The BPF side reports an exit when the thread group's live count reaches zero; two threads
//! leaving at the same instant can both see zero. Ring-buffer order is kernel order, so the
//! second exit of a pid with no fork or exec in between is the duplicate.

use std::collections::HashSet;

use journal::Event;

#[derive(Debug, Default)]
pub struct ExitDedup {
    /// Pids whose exit was delivered and that have not started again since.
    exited: HashSet<u32>,
}

impl ExitDedup {
    /// Whether to deliver this event.
    pub fn admit(&mut self, event: &Event) -> bool {
        match event {
            Event::ProcessFork(fork) => {
                self.exited.remove(&fork.pid);
                true
            }
            Event::ProcessExec(exec) => {
                self.exited.remove(&exec.pid);
                true
            }
            Event::ProcessExit(exit) => self.exited.insert(exit.pid),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use journal::{ProcessExit, ProcessFork};

    fn exit(pid: u32) -> Event {
        Event::ProcessExit(ProcessExit { pid, code: Some(0), signal: None })
    }

    #[test]
    fn drops_a_second_exit_of_the_same_process() {
        let mut dedup = ExitDedup::default();
        assert!(dedup.admit(&exit(5)));
        assert!(!dedup.admit(&exit(5)));
        assert!(dedup.admit(&exit(6)));
    }

    #[test]
    fn a_reused_pid_exits_again() {
        let mut dedup = ExitDedup::default();
        assert!(dedup.admit(&exit(5)));
        assert!(dedup.admit(&Event::ProcessFork(ProcessFork { pid: 5, ppid: 1 })));
        assert!(dedup.admit(&exit(5)));
    }
}
