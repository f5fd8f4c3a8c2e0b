//! The status `ringfence run` exits with. Documented in `ringfence run --help` and the README.

use journal::{Mode, RunStatus};
use sandbox::Outcome;

/// Block mode: the run was otherwise complete, but the policy was violated (something was refused).
pub const POLICY_VIOLATED: i32 = 122;
/// A limit (wall clock) ended the run; as `timeout(1)`.
pub const LIMIT_REACHED: i32 = 124;
/// ringfence itself failed: bad policy, unwritable --out, fence setup, journal I/O.
pub const RINGFENCE_FAILED: i32 = 125;
/// CMD exists but could not be executed; as the shell.
pub const NOT_EXECUTABLE: i32 = 126;
/// CMD was not found; as the shell.
pub const NOT_FOUND: i32 = 127;

pub const HELP: &str = "\
Exit status:
  0-255   CMD's own exit status (128+N when a signal N killed it), when nothing below applies
  122     block mode: the policy was violated (something was refused); see the report
  124     a limit (limits.wall / --wall) ended the run
  125     ringfence itself failed (bad policy, unwritable --out, fence setup, journal I/O,
          a journal cut short by a write error such as a full disk)
  126     CMD was found but could not be executed
  127     CMD was not found
  128+N   ringfence was stopped by signal N (143 for SIGTERM); the fence was torn down";

/// The run's status and exit code from how it ended.
pub fn decide(mode: Mode, outcome: &Outcome, violations: u64, stop_signal: i32) -> (RunStatus, i32) {
    let cmd = |code: i32| match (mode, violations) {
        (Mode::Block, 1..) => POLICY_VIOLATED,
        _ => code,
    };
    match outcome {
        Outcome::Exited { code: Some(code), .. } => (RunStatus::Completed, cmd(*code)),
        Outcome::Exited { signal, .. } => (RunStatus::Completed, cmd(128 + signal.unwrap_or(0))),
        Outcome::NotStarted { errno, .. } if *errno == libc::ENOENT => (RunStatus::NotStarted, NOT_FOUND),
        Outcome::NotStarted { .. } => (RunStatus::NotStarted, NOT_EXECUTABLE),
        Outcome::SetupFailed(_) | Outcome::InitDied(_) => (RunStatus::Failed, RINGFENCE_FAILED),
        Outcome::WallLimit => (RunStatus::WallLimit, LIMIT_REACHED),
        Outcome::Interrupted => (RunStatus::Interrupted, 128 + stop_signal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exited(code: i32) -> Outcome {
        Outcome::Exited { code: Some(code), signal: None }
    }

    #[test]
    fn cmd_status_passes_through_without_violations() {
        assert_eq!(decide(Mode::Block, &exited(3), 0, 0), (RunStatus::Completed, 3));
        assert_eq!(
            decide(Mode::Audit, &exited(0), 5, 0),
            (RunStatus::Completed, 0),
            "audit never fails on violations"
        );
        let killed = Outcome::Exited { code: None, signal: Some(9) };
        assert_eq!(decide(Mode::Audit, &killed, 0, 0).1, 137);
    }

    #[test]
    fn block_mode_violations_fail_the_run_even_when_cmd_succeeded() {
        assert_eq!(decide(Mode::Block, &exited(0), 1, 0), (RunStatus::Completed, POLICY_VIOLATED));
    }

    #[test]
    fn ringfence_statuses_are_distinct() {
        let enoent = Outcome::NotStarted { errno: libc::ENOENT, program: "x".into() };
        let eacces = Outcome::NotStarted { errno: libc::EACCES, program: "x".into() };
        assert_eq!(decide(Mode::Block, &enoent, 0, 0).1, NOT_FOUND);
        assert_eq!(decide(Mode::Block, &eacces, 0, 0).1, NOT_EXECUTABLE);
        assert_eq!(decide(Mode::Block, &Outcome::WallLimit, 0, 0).1, LIMIT_REACHED);
        assert_eq!(decide(Mode::Block, &Outcome::SetupFailed("x".into()), 0, 0).1, RINGFENCE_FAILED);
        assert_eq!(decide(Mode::Block, &Outcome::Interrupted, 0, 15).1, 143);
    }
}
