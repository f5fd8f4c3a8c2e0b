//! `ringfence run`: wiring only; the run itself is sequenced in `runner`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize};

use anyhow::Context;

use crate::runner::{self, demo, exit, plan};

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum ModeArg {
    /// Allow everything that policy would refuse, record it, and propose a policy.
    Audit,
    /// Enforce the policy; any violation fails the run (status 122).
    Block,
}

/// Run CMD fenced by the kernel and recorded, then report what it did.
///
/// CMD runs as an unprivileged user in its own cgroup and PID/mount namespaces, with
/// no_new_privs, no capabilities, a seccomp deny-list and an environment allowlist. Every exec,
/// fork and exit is journaled with the process that did it. The run directory gets
/// events.jsonl (hash-chained), report.json, report.md and report.html; report.md is also
/// appended to $GITHUB_STEP_SUMMARY when that is set.
#[derive(clap::Args)]
#[command(after_long_help = exit::HELP, after_help = "Run `ringfence run --help` for the exit statuses.")]
pub struct RunArgs {
    /// Policy file [default: ./ringfence.yml when it exists]
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// audit or block [default: the policy's mode; audit without a policy]
    #[arg(long, value_enum)]
    mode: Option<ModeArg>,
    /// Where the journal and reports go [default: ./ringfence-runs/RUN-ID]
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Run CMD as this uid or user name [default: the owner of the working directory, or nobody if that is root]
    #[arg(long, value_name = "USER")]
    user: Option<String>,
    /// Kill the run after this long, e.g. 30m [default: limits.wall]
    #[arg(long, value_name = "DURATION")]
    wall: Option<humantime::Duration>,
    /// Most processes the run may have at once [default: limits.pids, else 4096]
    #[arg(long, value_name = "N")]
    pids: Option<u64>,
    /// Cap every metered provider's model spend in this run at USD dollars (what `ringfence gate`
    /// leaves of the day's dollar budget, its `max_usd` output) [default: budget.<provider>.max_usd]
    #[arg(long = "max-usd", value_name = "USD", value_parser = parse_usd)]
    max_usd: Option<f64>,
    /// Also pass this environment variable into the fence (repeatable)
    #[arg(long = "pass-env", value_name = "NAME")]
    pass_env: Vec<String>,
    /// Also allow egress to HOST (port 443 unless given; repeatable), e.g. --allow api.anthropic.com
    #[arg(long = "allow", value_name = "HOST[:PORT]")]
    allow: Vec<String>,
    /// Treat this environment variable as a secret that may only be sent to these hosts:
    /// the agent sees a sentinel, the proxy puts the real value into requests to the hosts
    /// (repeatable; NAME=host[,host…])
    #[arg(long = "secret", value_name = "NAME=HOSTS")]
    secrets: Vec<String>,
    /// Also trust this PEM CA for ringfence's own TLS toward real servers (repeatable)
    #[arg(long = "upstream-ca", value_name = "FILE")]
    upstream_ca: Vec<PathBuf>,
    /// Run the built-in demo: a misbehaving "agent" whose every attack must fail
    #[arg(long, conflicts_with = "cmd")]
    demo: bool,
    /// The command to fence, after `--`
    #[arg(last = true, value_name = "CMD", required_unless_present = "demo")]
    cmd: Vec<String>,
}

pub fn run(args: RunArgs) -> anyhow::Result<u8> {
    if !nix::unistd::Uid::effective().is_root() {
        anyhow::bail!(
            "ringfence run needs root to build the fence (cgroups, namespaces, eBPF); run it with sudo"
        );
    }
    // Held open for the whole run, so the demo's connection attempt meets a live service.
    let demo_service =
        if args.demo { Some(demo::host_service().context("opening the demo's host service")?) } else { None };
    let (argv, mode) = match &demo_service {
        Some(service) => (demo::argv(service.local_addr()?.port()), Some(journal::Mode::Block)),
        None => (args.cmd, args.mode.map(Into::into)),
    };
    let flags = plan::Flags {
        policy: args.policy,
        mode,
        out: args.out,
        user: args.user,
        wall: args.wall.map(Into::into),
        pids: args.pids,
        max_usd: args.max_usd,
        pass_env: args.pass_env,
        allow: args.allow,
        secrets: args.secrets,
        upstream_ca: args.upstream_ca,
        secret_values: Vec::new(),
    };
    let flags = if args.demo { demo::with_secret(flags) } else { flags };
    let plan = runner::Plan::new(flags, argv)?;
    let out_dir = plan.out_dir.clone();
    let (stop, stop_signal) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT, signal_hook::consts::SIGHUP] {
        signal_hook::flag::register_usize(signal, stop_signal.clone(), signal as usize)
            .context("installing signal handlers")?;
        signal_hook::flag::register(signal, stop.clone()).context("installing signal handlers")?;
    }
    let finished = runner::execute(plan, stop, stop_signal)?;
    if let Some(now) = &finished.moved_to {
        eprintln!(
            "ringfence: warning: the run directory {} was moved during the run (recorded as a violation); it is now at {}",
            out_dir.display(),
            now.display()
        );
    }
    if let Some(why) = &finished.cut_short {
        eprintln!("ringfence: error: the journal was {why}");
    }
    let report_dir = finished.moved_to.clone().unwrap_or(out_dir);
    eprintln!(
        "ringfence: {}; {} violation(s). Report: {}",
        describe(&finished.outcome),
        finished.violations,
        report_dir.join("report.html").display()
    );
    // The chain head, where the agent cannot write: `ringfence verify --head` checks a journal
    // against it wherever the journal ends up.
    if let Some((head, len)) = &finished.head {
        let anchored = match &finished.anchor {
            Some(path) => format!(" (anchored in {})", path.display()),
            None => String::new(),
        };
        eprintln!("ringfence: journal: {len} events, chain head {head}{anchored}");
    }
    if args.demo {
        return Ok(demo::verdict(&finished));
    }
    Ok(u8::try_from(finished.exit_code).unwrap_or(exit::RINGFENCE_FAILED as u8))
}

fn describe(outcome: &sandbox::Outcome) -> String {
    match outcome {
        sandbox::Outcome::Exited { code: Some(code), .. } => format!("CMD exited with status {code}"),
        sandbox::Outcome::Exited { signal, .. } => {
            format!("CMD was killed by signal {}", signal.unwrap_or(0))
        }
        sandbox::Outcome::NotStarted { program, .. } => format!("CMD could not be started ({program})"),
        sandbox::Outcome::SetupFailed(what) => format!("the fence could not be built: {what}"),
        sandbox::Outcome::InitDied(what) => format!("the fence's init died: {what}"),
        sandbox::Outcome::WallLimit => "the wall-clock limit ended the run".into(),
        sandbox::Outcome::Interrupted => "ringfence was stopped; the fence was torn down".into(),
    }
}

impl From<ModeArg> for journal::Mode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::Audit => journal::Mode::Audit,
            ModeArg::Block => journal::Mode::Block,
        }
    }
}

fn parse_usd(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(usd) if usd.is_finite() && usd >= 0.0 => Ok(usd),
        _ => Err(format!("`{text}` is not an amount of US dollars (a number of 0 or more, e.g. 2.50)")),
    }
}
