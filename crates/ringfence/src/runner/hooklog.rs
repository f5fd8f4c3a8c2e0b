//! The Claude hook's decisions under `ringfence run`. The runner names a file in the workspace
//! (`RINGFENCE_HOOK_LOG`), where the hook, running as the agent inside the fence, can append;
//! after the run the file is copied into the run directory as `hook.jsonl`, beside the journal.
//! The agent's uid can write that file too, so it is the hook's account of what it refused, not
//! the kernel's record: the journal stays the record of what ran.

use std::fs::File;
use std::io::Read;
use std::os::fd::{FromRawFd, IntoRawFd};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::sys::stat::Mode;

use journal::{Event, PolicyViolation, Verdict};

use super::plan::Plan;

/// The copy's name in the run directory.
pub const NAME: &str = "hook.jsonl";

/// More than this is not copied: a hook line is a few hundred bytes.
const MAX: u64 = 16 << 20;

/// Where the hook appends during the run.
pub fn path(cwd: &Path, run_id: &str) -> PathBuf {
    cwd.join(format!(".ringfence-hook-{run_id}.jsonl"))
}

/// Refusals journaled one by one; past this they are counted in one more record.
const JOURNALED: usize = 1000;

/// Journals each call the hook refused or held for approval, as a `hook.claude` violation naming
/// the tool and its command or path, so the report shows "refused by the hook". Read before
/// run.end, so block mode's verdict counts them. The agent could have edited the file (see the
/// module's note): a line that is not the hook's JSON is skipped.
pub fn journal(plan: &Plan, recorder: &super::recorder::Recorder) -> anyhow::Result<usize> {
    let Some(bytes) = read(plan)? else { return Ok(0) };
    let mut refused = 0;
    for line in bytes.split(|b| *b == b'\n') {
        let Ok(entry) = serde_json::from_slice::<serde_json::Value>(line) else { continue };
        let decision = entry["decision"].as_str().unwrap_or_default();
        let held = match decision {
            "deny" => "refused",
            "ask" => "held for a person's approval",
            _ => continue,
        };
        refused += 1;
        if refused > JOURNALED {
            continue;
        }
        let tool = entry["tool"].as_str().unwrap_or("a tool");
        let what = entry["command"].as_str().or(entry["path"].as_str()).unwrap_or_default();
        let what: String = what.chars().take(300).collect();
        recorder.append(Event::PolicyViolation(PolicyViolation {
            pid: None,
            rule: "hook.claude".into(),
            what: format!(
                "{held} by the Claude Code hook before it ran: {tool} `{what}`: {}",
                entry["reason"].as_str().unwrap_or_default()
            ),
            verdict: Verdict::Blocked,
        }));
    }
    if refused > JOURNALED {
        recorder.append(Event::PolicyViolation(PolicyViolation {
            pid: None,
            rule: "hook.claude".into(),
            what: format!("{} more calls refused by the Claude Code hook (see {NAME})", refused - JOURNALED),
            verdict: Verdict::Blocked,
        }));
    }
    Ok(refused)
}

/// The hook's log as the hook left it; `None` when no hook wrote one. The agent has exited, but
/// it chose what lies at that path: a link or anything but a regular file is refused, never
/// followed.
fn read(plan: &Plan) -> anyhow::Result<Option<Vec<u8>>> {
    let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
    let fd = match open(&plan.hook_log, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return Ok(None),
        Err(e) => bail!("{}: {e}; the hook's log was not collected", plan.hook_log.display()),
    };
    // SAFETY: open returned a new descriptor that nothing else owns.
    let file = unsafe { File::from_raw_fd(fd.into_raw_fd()) };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        bail!("{} is not a regular file; the hook's log was not collected", plan.hook_log.display());
    }
    let mut bytes = Vec::new();
    file.take(MAX).read_to_end(&mut bytes).with_context(|| format!("reading {}", plan.hook_log.display()))?;
    Ok(Some(bytes))
}

/// Copies the hook's log into the run directory and removes it from the workspace; `None` when
/// no hook wrote one.
pub fn collect(plan: &Plan) -> anyhow::Result<Option<usize>> {
    let Some(bytes) = read(plan)? else { return Ok(None) };
    plan.run_dir
        .write(NAME, &bytes, 0o644)
        .with_context(|| format!("writing {NAME} in the run directory"))?;
    let _ = std::fs::remove_file(&plan.hook_log);
    Ok(Some(bytes.iter().filter(|b| **b == b'\n').count()))
}
