//! `ringfence hook claude` (Claude Code's PreToolUse hook) and `ringfence hook install`.
//!
//! The hook answers every failure of its own (unreadable input, a missing or invalid policy, a
//! panic) with a `deny` on exit 0: Claude Code lets a call through on any non-zero exit but 2.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use hook::{Answer, HookInput, Outcome};
use policy::ToolVerdict;

#[derive(Args)]
pub struct HookArgs {
    #[command(subcommand)]
    command: HookCommand,
}

#[derive(Subcommand)]
enum HookCommand {
    /// Claude Code PreToolUse hook: reads the tool call on stdin, answers allow/deny/ask.
    Claude {
        /// Policy file (default: $RINGFENCE_POLICY, else ringfence.yml in the project directory).
        #[arg(long)]
        policy: Option<PathBuf>,
    },
    /// Add the hook to .claude/settings.json (merging, never replacing what is there).
    Install {
        /// .claude/settings.local.json instead (not meant to be committed).
        #[arg(long, conflicts_with = "user")]
        local: bool,
        /// ~/.claude/settings.json instead (every project of this user).
        #[arg(long)]
        user: bool,
        /// Policy file the installed hook reads.
        #[arg(long)]
        policy: Option<PathBuf>,
    },
}

pub fn run(args: HookArgs) -> anyhow::Result<u8> {
    match args.command {
        HookCommand::Claude { policy } => Ok(claude(policy)),
        HookCommand::Install { local, user, policy } => install(local, user, policy),
    }
}

fn claude(policy: Option<PathBuf>) -> u8 {
    let mut text = String::new();
    let read = std::io::stdin().take(hook_input_limit()).read_to_string(&mut text);
    let text = read.map(|_| text).map_err(|e| e.to_string());
    let answered = std::panic::catch_unwind(|| answer(text, policy));
    let (input, outcome, log) = answered.unwrap_or_else(|_| {
        (
            None,
            refusal("the hook failed internally; refusing rather than letting the call through".into()),
            None,
        )
    });
    if let Some(path) = log {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        if let Err(e) = hook::log::append(&path, &hook::log::line(input.as_ref(), &outcome, ms)) {
            eprintln!("ringfence: could not append the decision to {path}: {e}");
        }
    }
    let out = outcome.answer.to_json();
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "{out}").and_then(|_| stdout.flush()).is_err() {
        // Nothing can be printed: exit 2 is the documented way to block without output.
        eprintln!("ringfence: could not write the hook answer; blocking");
        return 2;
    }
    0
}

/// Tool inputs are command lines and file edits; more than this is not read.
fn hook_input_limit() -> u64 {
    (shellparse::MAX_INPUT as u64) * 8
}

fn refusal(reason: String) -> Outcome {
    Outcome { answer: Answer::Decide(ToolVerdict::Deny, format!("ringfence: {reason}")), programs: vec![] }
}

fn answer(
    text: Result<String, String>,
    policy: Option<PathBuf>,
) -> (Option<HookInput>, Outcome, Option<String>) {
    let env_log = std::env::var(hook::log::LOG_ENV).ok().filter(|p| !p.is_empty());
    let text = match text {
        Ok(t) => t,
        Err(e) => return (None, refusal(format!("could not read the hook input: {e}")), env_log),
    };
    let input = match HookInput::parse(&text) {
        Ok(i) => i,
        Err(e) => return (None, refusal(format!("{e}; refusing what it cannot read")), env_log),
    };
    let path = policy
        .or_else(|| std::env::var_os("RINGFENCE_POLICY").map(PathBuf::from))
        .unwrap_or_else(|| Path::new(input.cwd.as_deref().unwrap_or(".")).join("ringfence.yml"));
    let policy = match policy::load(&path) {
        Ok(p) => p,
        Err(e) => {
            let outcome =
                refusal(format!("the hook's policy could not be loaded ({e}); refusing until it can"));
            return (Some(input), outcome, env_log);
        }
    };
    let home = std::env::var("HOME").ok();
    let outcome = hook::decide(&policy.tools, &input, home.as_deref());
    let log = env_log.or_else(|| policy.tools.log.clone());
    (Some(input), outcome, log)
}

fn install(local: bool, user: bool, policy: Option<PathBuf>) -> anyhow::Result<u8> {
    let file = if user {
        let home = std::env::var_os("HOME").context("HOME is not set; cannot find ~/.claude")?;
        PathBuf::from(home).join(".claude/settings.json")
    } else {
        PathBuf::from(".claude").join(if local { "settings.local.json" } else { "settings.json" })
    };
    let exe = std::env::current_exe().context("cannot tell where this ringfence binary is")?;
    let mut command = format!("{} hook claude", quote(&exe.to_string_lossy()));
    if let Some(p) = policy {
        let p = std::path::absolute(&p).with_context(|| format!("cannot resolve {}", p.display()))?;
        command.push_str(&format!(" --policy {}", quote(&p.to_string_lossy())));
    }
    let existing = match std::fs::read_to_string(&file) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => bail!("cannot read {}: {e}", file.display()),
    };
    let (text, changed) = hook::install::merge(&file.display().to_string(), existing.as_deref(), &command)?;
    if !changed {
        println!("ringfence: the hook is already in {}", file.display());
        return Ok(0);
    }
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(&file, text).with_context(|| format!("cannot write {}", file.display()))?;
    println!("ringfence: added `{command}` as a PreToolUse hook in {}", file.display());
    Ok(0)
}

/// Single quotes for the shell Claude Code runs the hook command with, when needed.
fn quote(s: &str) -> String {
    if s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+=:@".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}
