//! `ringfence job start|stop|status`: every later step of a GitHub Actions job fenced and
//! recorded by one root daemon. Wiring only: the fence is `runner::job`, the pipeline the same
//! session as `ringfence run`.
//!
//! `start` builds the plan and the control socket, forks the daemon (its own session, no
//! terminal, not dumpable, so the job's user can neither signal nor trace it), waits until the
//! daemon says the fence is up (block mode fails closed: any part that cannot be built is an
//! error here, and nothing is left behind), then hands the job what it needs: the sentinels as
//! step outputs, the run's CA in the trust store, the stop token in the step's saved state.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::run::ModeArg;
use crate::runner::job::{JobSpec, Undo};
use crate::runner::{self, plan, secrets};

/// Fence every later step of a CI job: `start` once at the top, `stop` at the end.
#[derive(clap::Args)]
pub struct JobArgs {
    #[command(subcommand)]
    command: JobCommand,
}

#[derive(clap::Subcommand)]
enum JobCommand {
    /// Start the job fence (as root) and return once it is up
    Start(StartArgs),
    /// End the job fence, write the journal and reports, and add report.md to the step summary
    Stop(StopArgs),
    /// Print whether a job fence is running, as JSON
    Status,
}

#[derive(clap::Args)]
struct StartArgs {
    /// Policy file [default: ./ringfence.yml when it exists]
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// audit or block [default: the policy's mode; audit without a policy]
    #[arg(long, value_enum)]
    mode: Option<ModeArg>,
    /// Also allow egress to HOST (port 443 unless given; repeatable)
    #[arg(long = "allow", value_name = "HOST[:PORT]")]
    allow: Vec<String>,
    /// A secret only these hosts may receive: the job gets a sentinel as the step output NAME
    /// (repeatable; NAME=host[,host…]; the real value is read from ringfence's environment)
    #[arg(long = "secret", value_name = "NAME=HOSTS")]
    secrets: Vec<String>,
    /// Take sudo away from the job's user for the rest of the job (only `ringfence job stop`
    /// with the job's token stays allowed)
    #[arg(long)]
    disable_sudo: bool,
    /// Do not watch the workspace for file changes
    #[arg(long)]
    disable_file_monitoring: bool,
    /// Where the journal and reports go [default: $RUNNER_TEMP/ringfence/RUN-ID, else ./ringfence-runs/RUN-ID]
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// The job's cgroup: its processes and everything beneath it are the job [default: the whole machine]
    #[arg(long, value_name = "PATH")]
    cgroup: Option<PathBuf>,
    /// The job's user [default: the user who ran sudo]
    #[arg(long, value_name = "USER")]
    user: Option<String>,
    /// Also trust this PEM CA for ringfence's own TLS toward real servers (repeatable)
    #[arg(long = "upstream-ca", value_name = "FILE")]
    upstream_ca: Vec<PathBuf>,
    /// Do not allow the GitHub Actions runner's own hosts (RUNNER_PRESET, plus the hosts of
    /// GITHUB_SERVER_URL and GITHUB_API_URL) [default: allowed]
    #[arg(long)]
    no_runner_preset: bool,
}

#[derive(clap::Args)]
struct StopArgs {
    /// Also copy the reports into DIR (owned by the job's user, for an artifact upload)
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// The job's stop token [default: $STATE_ringfence_stop_token, which the action's post step gets]
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// Append report.md here [default: $GITHUB_STEP_SUMMARY] (sudo without SETENV keeps no
    /// variables, so the post step names its summary file)
    #[arg(long, value_name = "FILE")]
    summary: Option<PathBuf>,
}

/// What the GitHub Actions runner itself needs while the job runs (job messages, logs, artifacts,
/// caches, action downloads, OIDC tokens), allowed on port 443 in every job fence unless
/// `--no-runner-preset`. Read from the runner's documented communication requirements
/// (github.com's "Communication between self-hosted runners and GitHub"), preset version
/// 2026-12. Allowed to every process, not only the runner's: `actions/cache`, `upload-artifact`
/// and `checkout` reach the same hosts from node processes the runner starts for a step, which
/// are indistinguishable by process from any other step's. The runner's own long-lived
/// connections were open before the fence and keep flowing without it.
pub const RUNNER_PRESET: &[&str] = &[
    "github.com",
    "api.github.com",
    "codeload.github.com",
    "objects.githubusercontent.com",
    "raw.githubusercontent.com",
    "pkg.actions.githubusercontent.com",
    "pipelines.actions.githubusercontent.com",
    "results-receiver.actions.githubusercontent.com",
    "broker.actions.githubusercontent.com",
    "token.actions.githubusercontent.com",
    "vstoken.actions.githubusercontent.com",
    "*.actions.githubusercontent.com",
];

/// The storage accounts job logs, artifacts and caches go to. A wildcard over
/// `blob.core.windows.net` would allow anyone's storage account (the policy refuses it), so the
/// runner's documented ones are listed by number.
const RUNNER_STORAGE_ACCOUNTS: std::ops::RangeInclusive<u32> = 0..=19;

/// The daemon's directory: the control socket and the state file, root's only.
fn job_dir() -> PathBuf {
    std::env::var_os("RINGFENCE_JOB_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/run/ringfence/job"))
}

const SOCKET: &str = "control.sock";
/// The name under which `start` saves the stop token in the step's state (`$GITHUB_STATE`);
/// the runner hands it to the post step only, as `STATE_ringfence_stop_token`.
const TOKEN_STATE: &str = "ringfence_stop_token";
/// The sudoers drop-in `--disable-sudo` writes; last in lexical order, so its rules win.
const SUDOERS: &str = "/etc/sudoers.d/zz-ringfence";

pub fn run(args: JobArgs) -> anyhow::Result<u8> {
    match args.command {
        JobCommand::Start(args) => start(args),
        JobCommand::Stop(args) => stop(args),
        JobCommand::Status => status(),
    }
}

fn start(args: StartArgs) -> anyhow::Result<u8> {
    if !nix::unistd::Uid::effective().is_root() {
        bail!("ringfence job start needs root (nftables, eBPF, the trust store); run it with sudo");
    }
    let dir = job_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("making {} root's only", dir.display()))?;
    if let Ok(reply) = request(&dir, "status") {
        bail!("a job fence is already running ({}); end it with `ringfence job stop` first", reply.trim());
    }
    let user = args.user.clone().or_else(|| std::env::var("SUDO_USER").ok()).filter(|u| u != "root");
    let out = args.out.clone().or_else(|| {
        std::env::var_os("RUNNER_TEMP").map(|t| PathBuf::from(t).join("ringfence").join(plan::new_run_id()))
    });
    let cwd = std::env::var_os("GITHUB_WORKSPACE").map(PathBuf::from).filter(|p| p.is_dir());
    if let Some(cwd) = &cwd {
        std::env::set_current_dir(cwd)
            .with_context(|| format!("entering GITHUB_WORKSPACE {}", cwd.display()))?;
    }
    let mut argv = vec!["ringfence".to_string(), "job".into(), "start".into()];
    argv.extend(std::env::args().skip(3));
    let mut allow = args.allow;
    if !args.no_runner_preset {
        allow.extend(runner_hosts());
    }
    let flags = plan::Flags {
        policy: args.policy,
        mode: args.mode.map(Into::into),
        out,
        user: user.clone(),
        allow,
        secrets: args.secrets,
        upstream_ca: args.upstream_ca,
        ..Default::default()
    };
    let plan = runner::Plan::new(flags, argv)?;
    let cgroup = match args.cgroup {
        Some(path) => path,
        None => sensors::cgroup2_mount().context("finding the cgroup2 mount for the job's scope")?,
    };
    let cgroup =
        cgroup.canonicalize().with_context(|| format!("--cgroup {}: no such cgroup", cgroup.display()))?;
    let token = random_token();
    // The machine changes the fence's end takes back; made before the daemon starts, so it owns
    // the undo list.
    let mut undo = Vec::new();
    let trust = trust_run_ca(&plan, &mut undo)?;
    if args.disable_sudo {
        let Some(user) = &user else {
            bail!("--disable-sudo: no job user (give --user, or run job start through sudo)");
        };
        disable_sudo(user, &mut undo)?;
    }
    let findings = fence_docker(&plan, &mut undo)?;
    // The job's files are written before the daemon exists: one that cannot be written is an
    // error while nothing runs yet, and what start changed is taken back.
    if let Err(e) = announce(&plan, &token, &trust) {
        for problem in undo.iter().filter_map(|u| u.apply().err()) {
            eprintln!("ringfence: error: {problem}");
        }
        return Err(e);
    }
    let socket_path = dir.join(SOCKET);
    let _ = std::fs::remove_file(&socket_path);
    let control =
        UnixListener::bind(&socket_path).with_context(|| format!("binding {}", socket_path.display()))?;
    std::fs::set_permissions(&socket_path, std::fs::Permissions::from_mode(0o600))?;
    let spec = JobSpec {
        cgroup,
        stop_token: token.clone(),
        watch_files: !args.disable_file_monitoring,
        undo,
        findings,
    };
    let (read_end, write_end) = nix::unistd::pipe().context("making the start pipe")?;
    // SAFETY: nothing in this process has started a thread yet (the plan is built on this one),
    // so the child may go on running ordinary Rust code.
    match unsafe { nix::unistd::fork() }.context("starting the job daemon")? {
        nix::unistd::ForkResult::Child => {
            drop(read_end);
            daemon(plan, spec, control, write_end);
        }
        nix::unistd::ForkResult::Parent { child } => {
            drop(write_end);
            drop(control);
            let mut said = String::new();
            let _ = std::fs::File::from(read_end).read_to_string(&mut said);
            if said.trim() != "ok" {
                let _ = nix::sys::wait::waitpid(child, None);
                let why = said.trim().strip_prefix("error: ").unwrap_or(said.trim()).to_string();
                let why =
                    if why.is_empty() { "the daemon ended before the fence was up".into() } else { why };
                bail!("the job fence could not be built: {why}");
            }
            eprintln!(
                "ringfence: job fence up ({} mode, daemon pid {child}); journal and reports: {}",
                mode_name(plan.mode),
                plan.out_dir.display()
            );
            Ok(0)
        }
    }
}

/// The runner preset plus a GitHub Enterprise Server's own hosts, as `--allow` entries.
fn runner_hosts() -> Vec<String> {
    let mut hosts: Vec<String> = RUNNER_PRESET.iter().map(|h| format!("{h}:443")).collect();
    hosts
        .extend(RUNNER_STORAGE_ACCOUNTS.map(|n| format!("productionresultssa{n}.blob.core.windows.net:443")));
    for var in ["GITHUB_SERVER_URL", "GITHUB_API_URL"] {
        let Ok(url) = std::env::var(var) else { continue };
        let host = url.split("://").nth(1).unwrap_or("").split(['/', ':']).next().unwrap_or("");
        if !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || ".-".contains(c)) {
            hosts.push(format!("{host}:443"));
        }
    }
    hosts
}

/// The daemon: leaves the caller's session and terminal, cannot be traced by the job's user,
/// keeps its memory when the machine runs short, and serves the fence until stopped.
fn daemon(plan: runner::Plan, spec: JobSpec, control: UnixListener, ready: OwnedFd) -> ! {
    let _ = nix::unistd::setsid();
    // SAFETY: prctl(PR_SET_DUMPABLE, 0): no core dumps, and /proc/<pid>/mem and ptrace need
    // CAP_SYS_PTRACE even for the same uid.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    let _ = sandbox::supervisor::protect_from_oom();
    let _ = std::fs::write("/proc/self/oom_score_adj", "-1000");
    // The daemon's stdio would hold the start step's pipes open: the runner waits for them.
    if let Ok(null) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null") {
        for fd in 0..3 {
            // SAFETY: dup2 onto the standard descriptors, which this process owns.
            unsafe { libc::dup2(null.as_raw_fd(), fd) };
        }
    }
    // The start step's summary file is not the stop step's: `stop` appends the report itself.
    // SAFETY: single-threaded here (just forked), so no other thread reads the environment.
    unsafe { std::env::remove_var("GITHUB_STEP_SUMMARY") };
    let mut ready = Some(std::fs::File::from(ready));
    let said = |result: Result<(), String>| {
        if let Some(mut pipe) = ready.take() {
            let _ = match result {
                Ok(()) => writeln!(pipe, "ok"),
                Err(e) => writeln!(pipe, "error: {e}"),
            };
        }
    };
    let served = runner::job::serve(plan, spec, control, said);
    if let Some((finished, plan, stopper)) = served {
        let reply = serde_json::json!({
            "exit_code": finished.exit_code,
            "violations": finished.violations,
            "out_dir": plan.out_dir.display().to_string(),
            "mode": mode_name(plan.mode),
            "head": finished.head.as_ref().map(|(h, _)| h.clone()),
            "events": finished.head.as_ref().map(|(_, n)| *n),
        });
        let _ = writeln!(&stopper, "{reply}");
    }
    let _ = std::fs::remove_file(job_dir().join(SOCKET));
    std::process::exit(0)
}

/// Where container engines that run as root listen. Whoever can reach one is root on the
/// machine (a privileged container, the host's namespaces, its nftables), so a job fence that
/// left it open could be switched off from inside the job.
const ROOT_ENGINE_SOCKETS: &[&str] = &["/run/docker.sock", "/var/run/docker.sock", "/run/podman/podman.sock"];

/// Block mode takes root's container engines away from the job (each socket root's only until
/// the fence ends) unless the policy lists the socket in `egress.unix_sockets`; then, and in
/// audit mode, a reachable one is journaled. Containers started anyway are fenced like any
/// other traffic (prerouting redirect).
fn fence_docker(plan: &runner::Plan, undo: &mut Vec<Undo>) -> anyhow::Result<Vec<journal::PolicyViolation>> {
    use std::os::unix::fs::MetadataExt;
    let mut findings = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for path in ROOT_ENGINE_SOCKETS.iter().map(Path::new) {
        let Ok(real) = path.canonicalize() else { continue };
        if !seen.insert(real.clone()) {
            continue;
        }
        let meta = std::fs::metadata(&real).with_context(|| format!("reading {}", real.display()))?;
        let others_reach = meta.mode() & 0o066 != 0 || meta.uid() != 0;
        if !others_reach {
            continue;
        }
        let listed = plan.policy.egress.unix_sockets.iter().any(|s| s == path || *s == real);
        if plan.mode == journal::Mode::Block && !listed {
            std::os::unix::fs::chown(&real, Some(0), Some(0))
                .and_then(|()| std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)))
                .with_context(|| {
                    format!("taking the container engine's socket {} away from the job", real.display())
                })?;
            undo.push(Undo::Owner {
                path: real.clone(),
                uid: meta.uid(),
                gid: meta.gid(),
                mode: meta.mode() & 0o7777,
            });
            eprintln!(
                "ringfence: {} is root's only until the job fence ends (a container engine is root on the machine); list it in egress.unix_sockets to allow it",
                real.display()
            );
            continue;
        }
        findings.push(journal::PolicyViolation {
            pid: None,
            rule: "job.container_engine".into(),
            what: format!(
                "{} (a root container engine's socket) is reachable by the job's user{}: whoever uses it is root on the machine and can switch the fence off",
                real.display(),
                if listed { ", as egress.unix_sockets allows" } else { "" }
            ),
            verdict: journal::Verdict::Allowed,
        });
    }
    Ok(findings)
}

/// What the run's CA needs to be trusted by the job's later steps: a readable copy of the CA and
/// of the bundle, and the CA appended to the system bundle (restored at stop).
struct Trust {
    ca: PathBuf,
    bundle: PathBuf,
}

fn trust_run_ca(plan: &runner::Plan, undo: &mut Vec<Undo>) -> anyhow::Result<Trust> {
    // The run directory is root's only; the job's user reads these.
    let public = PathBuf::from("/usr/local/share/ringfence").join(&plan.run_id);
    std::fs::create_dir_all(&public).with_context(|| format!("creating {}", public.display()))?;
    std::fs::set_permissions(&public, std::fs::Permissions::from_mode(0o755))?;
    let ca = public.join("ca.pem");
    let pem = plan.credentials.ca.pem();
    write_new(&ca, pem.as_bytes())?;
    let bundle = public.join("ca-bundle.pem");
    let system = sandbox::CA_BUNDLES.iter().map(Path::new).find(|p| p.is_file());
    let Some(system) = system else {
        bail!(
            "no system CA bundle at {}; install ca-certificates so the job's steps can trust the run's CA",
            sandbox::CA_BUNDLES.join(", ")
        );
    };
    let before = std::fs::read(system).with_context(|| format!("reading {}", system.display()))?;
    let mut after = before.clone();
    if !after.ends_with(b"\n") {
        after.push(b'\n');
    }
    after.extend_from_slice(
        format!("# ringfence job {}: the run's CA, removed at job stop\n", plan.run_id).as_bytes(),
    );
    after.extend_from_slice(pem.as_bytes());
    write_new(&bundle, &after)?;
    std::fs::write(system, &after).with_context(|| format!("adding the run's CA to {}", system.display()))?;
    undo.push(Undo::Restore { path: system.to_path_buf(), content: before });
    undo.push(Undo::Remove(ca.clone()));
    undo.push(Undo::Remove(bundle.clone()));
    Ok(Trust { ca, bundle })
}

fn write_new(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .with_context(|| format!("writing {}", path.display()))
}

/// Leaves the job's user no sudo but `ringfence job stop` with a token. The drop-in is checked
/// with `visudo -c` before it is put in place: a broken sudoers file would lock everyone out.
fn disable_sudo(user: &str, undo: &mut Vec<Undo>) -> anyhow::Result<()> {
    if !user.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
        bail!("--disable-sudo: `{user}` is not a plain user name");
    }
    let exe = std::env::current_exe().context("finding ringfence's own path for the sudoers rule")?;
    let text = format!(
        "# ringfence job: sudo taken away from {user} for the rest of the job (removed at job stop)\n\
         {user} ALL=(ALL:ALL) !ALL\n\
         {user} ALL=(root) NOPASSWD: {exe} job stop --token *, {exe} job status\n",
        exe = exe.display()
    );
    let staged = PathBuf::from(format!("{SUDOERS}.new"));
    let _ = std::fs::remove_file(&staged);
    write_new(&staged, text.as_bytes())?;
    std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o440))?;
    let checked = std::process::Command::new("visudo").args(["-c", "-q", "-f"]).arg(&staged).output();
    match checked {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            let _ = std::fs::remove_file(&staged);
            bail!(
                "--disable-sudo: visudo refused the drop-in: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Err(e) => {
            let _ = std::fs::remove_file(&staged);
            bail!("--disable-sudo: running visudo (package sudo): {e}");
        }
    }
    std::fs::rename(&staged, SUDOERS).with_context(|| format!("installing {SUDOERS}"))?;
    undo.push(Undo::Remove(PathBuf::from(SUDOERS)));
    Ok(())
}

/// Hands the job the sentinels (step outputs), the CA (environment of later steps) and the stop
/// token (the post step's state), and masks every value in the log.
fn announce(plan: &runner::Plan, token: &str, trust: &Trust) -> anyhow::Result<()> {
    let mut outputs = String::new();
    for (name, sentinel) in plan.credentials.vault.sentinels() {
        if let Ok(real) = std::env::var(&name)
            && !real.is_empty()
        {
            println!("::add-mask::{real}");
        }
        println!("::add-mask::{sentinel}");
        outputs.push_str(&format!("{name}={sentinel}\n"));
    }
    println!("::add-mask::{token}");
    append_env_file("GITHUB_OUTPUT", &outputs)?;
    let mut env = format!("NODE_EXTRA_CA_CERTS={}\n", trust.ca.display());
    for name in secrets::CA_ENV.iter().filter(|n| **n != "NODE_EXTRA_CA_CERTS") {
        env.push_str(&format!("{name}={}\n", trust.bundle.display()));
    }
    append_env_file("GITHUB_ENV", &env)?;
    append_env_file("GITHUB_STATE", &format!("{TOKEN_STATE}={token}\n"))?;
    if std::env::var_os("GITHUB_STATE").is_none() {
        // Outside Actions the caller keeps the token: `ringfence job stop --token …`.
        eprintln!("ringfence: stop token (give it to `ringfence job stop --token`): {token}");
    }
    Ok(())
}

/// Appends to one of the runner's file commands; unset outside Actions (then nothing to do).
fn append_env_file(var: &str, text: &str) -> anyhow::Result<()> {
    let Some(path) = std::env::var_os(var).filter(|p| !p.is_empty()) else { return Ok(()) };
    append_file(Path::new(&path), text, &format!("${var}"))
}

/// Appends to an existing file, never through a final symbolic link: ringfence writes as root
/// into files the job's user chose.
fn append_file(path: &Path, text: &str, what: &str) -> anyhow::Result<()> {
    if text.is_empty() {
        return Ok(());
    }
    std::fs::OpenOptions::new()
        .append(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .with_context(|| format!("appending to {what} ({})", path.display()))
}

fn stop(args: StopArgs) -> anyhow::Result<u8> {
    let dir = job_dir();
    let token =
        args.token.or_else(|| std::env::var(format!("STATE_{TOKEN_STATE}")).ok()).filter(|t| !t.is_empty());
    let Some(token) = token else {
        bail!("no stop token: give --token, or run job stop from the step that holds $STATE_{TOKEN_STATE}");
    };
    let reply = request(&dir, &format!("stop {token}")).context("asking the job daemon to stop")?;
    let reply: serde_json::Value = serde_json::from_str(reply.trim())
        .with_context(|| format!("the job daemon answered `{}`", reply.trim()))?;
    if let Some(error) = reply.get("error").and_then(|e| e.as_str()) {
        bail!("the job daemon refused: {error}");
    }
    let out_dir = PathBuf::from(reply["out_dir"].as_str().unwrap_or_default());
    let markdown = std::fs::read_to_string(out_dir.join("report.md")).unwrap_or_default();
    if !markdown.is_empty() {
        match &args.summary {
            Some(file) => append_file(file, &markdown, "--summary")?,
            None => append_env_file("GITHUB_STEP_SUMMARY", &markdown)?,
        }
    }
    annotate(&out_dir, reply["mode"].as_str() == Some("block"));
    if let Some(copy) = &args.out {
        copy_reports(&out_dir, copy)?;
    }
    eprintln!(
        "ringfence: job fence ended; {} violation(s). Report: {}",
        reply["violations"].as_u64().unwrap_or(0),
        out_dir.join("report.html").display()
    );
    if let Some(head) = reply["head"].as_str() {
        eprintln!("ringfence: journal: {} events, chain head {head}", reply["events"].as_u64().unwrap_or(0));
    }
    let code = reply["exit_code"].as_i64().unwrap_or(125);
    // Violations are the report's to show; only ringfence's own failure fails the step.
    Ok(if code == i64::from(runner::exit::RINGFENCE_FAILED) { 1 } else { 0 })
}

/// One `::warning`/`::error` line per violation, for the run's annotations.
fn annotate(out_dir: &Path, block: bool) {
    let Ok(text) = std::fs::read_to_string(out_dir.join("events.jsonl")) else { return };
    let level = if block { "error" } else { "warning" };
    let mut shown = 0;
    for line in text.lines() {
        let Ok(record) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        let Some(event) = record.get("event") else { continue };
        let Ok(event) = serde_json::from_value::<journal::Event>(event.clone()) else { continue };
        if !event.is_violation() {
            continue;
        }
        shown += 1;
        if shown > 50 {
            println!("::{level} title=ringfence::more violations; see the job summary");
            break;
        }
        let what = serde_json::to_string(&event).unwrap_or_default();
        let what = what.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A");
        println!("::{level} title=ringfence::{what}");
    }
}

fn copy_reports(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    let owner = std::env::var("SUDO_UID").ok().and_then(|u| u.parse::<u32>().ok());
    for name in ["events.jsonl", "report.json", "report.md", "report.html", "suggested-policy.yml"] {
        let source = from.join(name);
        if !source.is_file() {
            continue;
        }
        let target = to.join(name);
        std::fs::copy(&source, &target).with_context(|| format!("copying {} to {}", name, to.display()))?;
        if let Some(uid) = owner {
            let _ = std::os::unix::fs::chown(&target, Some(uid), None);
        }
    }
    if let Some(uid) = owner {
        let _ = std::os::unix::fs::chown(to, Some(uid), None);
    }
    Ok(())
}

fn status() -> anyhow::Result<u8> {
    match request(&job_dir(), "status") {
        Ok(reply) => {
            println!("{}", reply.trim());
            Ok(0)
        }
        Err(_) => {
            println!("{{\"running\":false}}");
            Ok(1)
        }
    }
}

/// One request line to the daemon and its one-line answer. Stopping writes every report, so the
/// answer may take a while.
fn request(dir: &Path, line: &str) -> anyhow::Result<String> {
    let path = dir.join(SOCKET);
    let stream = UnixStream::connect(&path)
        .with_context(|| format!("no job fence is running ({})", path.display()))?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(300)))?;
    writeln!(&stream, "{line}")?;
    let mut reply = String::new();
    BufReader::new(&stream).read_line(&mut reply)?;
    if reply.is_empty() {
        bail!("the job daemon closed the connection without an answer");
    }
    Ok(reply)
}

fn random_token() -> String {
    let mut bytes = [0u8; 24];
    let _ = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    hex::encode(bytes)
}

fn mode_name(mode: journal::Mode) -> &'static str {
    match mode {
        journal::Mode::Block => "block",
        journal::Mode::Audit => "audit",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_runner_preset_host_is_an_allow_rule_the_policy_takes() {
        let mut policy = policy::Policy::default();
        for host in runner_hosts() {
            policy.allow_from_flag(&host).unwrap_or_else(|e| panic!("{host}: {} ({})", e.message, e.help));
        }
    }
}
