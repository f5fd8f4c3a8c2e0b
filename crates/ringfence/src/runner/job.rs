//! The job fence: the same session pipeline as a run (sensors → journal → reports), around the
//! job's own network namespace and a cgroup subtree instead of a fresh sandbox. Nothing is
//! started here: every process of the job's later steps is already the job's, and is recorded
//! and held to the egress policy where it stands.

use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use journal::{Event, FenceLayer, PolicyViolation, Verdict};
use sandbox::Outcome;

use super::recorder::Recorder;
use super::session::{Sensors, Session};
use super::{Finished, Plan, network};

/// What the daemon needs beyond the plan.
pub struct JobSpec {
    /// The cgroup whose subtree is the job (the hierarchy's root: the whole machine).
    pub cgroup: PathBuf,
    /// Only a stop request carrying it ends the fence (see `cmd::job`).
    pub stop_token: String,
    pub watch_files: bool,
    /// Restored when the fence ends: what `job start` changed on the machine.
    pub undo: Vec<Undo>,
    /// What `job start` found and journals right after run.start (a reachable Docker socket).
    pub findings: Vec<PolicyViolation>,
}

/// A change to the machine that the fence's end takes back.
pub enum Undo {
    /// A file ringfence wrote (the system CA bundle), with its earlier content.
    Restore { path: PathBuf, content: Vec<u8> },
    /// A file ringfence created (the sudoers drop-in).
    Remove(PathBuf),
    /// A file whose owner and mode ringfence changed (the Docker socket).
    Owner { path: PathBuf, uid: u32, gid: u32, mode: u32 },
}

/// How often the daemon checks its rules for tampering while it waits for the stop request.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Runs the job fence until a valid stop request arrives; `ready` is told once the fence is up
/// (or why it could not be built). Returns what the session closed with and the connection of
/// the stop request, to be answered with the result.
pub fn serve(
    plan: Plan,
    spec: JobSpec,
    control: UnixListener,
    ready: impl FnOnce(Result<(), String>),
) -> Option<(Finished, Plan, UnixStream)> {
    let mut holder = super::hold::Holder::new(plan.mode);
    let session = match Session::open(&plan, Some(holder.held.clone())) {
        Ok(session) => session,
        Err(e) => {
            for problem in spec.undo.iter().filter_map(|u| u.apply().err()) {
                eprintln!("ringfence: error: {problem}");
            }
            ready(Err(format!("{e:#}")));
            return None;
        }
    };
    let mut ready = Some(ready);
    let result = fence(&plan, &spec, &session.recorder, &control, &mut ready, &mut holder);
    for problem in holder.release() {
        session.recorder.append(Event::PolicyViolation(PolicyViolation {
            pid: None,
            rule: "job.teardown".into(),
            what: format!("releasing a protected path's hold: {problem}"),
            verdict: Verdict::Blocked,
        }));
    }
    for undo in &spec.undo {
        if let Err(e) = undo.apply() {
            session.recorder.append(Event::PolicyViolation(PolicyViolation {
                pid: None,
                rule: "job.teardown".into(),
                what: e,
                verdict: Verdict::Blocked,
            }));
        }
    }
    let (outcome, stopper) = match result {
        Ok((outcome, stopper)) => (outcome, Some(stopper)),
        Err(e) => {
            if let Some(ready) = ready.take() {
                ready(Err(format!("{e:#}")));
            }
            (Outcome::SetupFailed(format!("{e:#}")), None)
        }
    };
    let finished = session.close(&plan, outcome, 0);
    stopper.map(|s| (finished, plan, s))
}

impl Undo {
    pub fn apply(&self) -> Result<(), String> {
        match self {
            Undo::Restore { path, content } => {
                std::fs::write(path, content).map_err(|e| format!("restoring {}: {e}", path.display()))
            }
            Undo::Owner { path, uid, gid, mode } => {
                use std::os::unix::fs::PermissionsExt;
                std::os::unix::fs::chown(path, Some(*uid), Some(*gid))
                    .and_then(|()| std::fs::set_permissions(path, std::fs::Permissions::from_mode(*mode)))
                    .map_err(|e| format!("giving {} its owner and mode back: {e}", path.display()))
            }
            Undo::Remove(path) => match std::fs::remove_file(path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(format!("removing {}: {e}", path.display())),
            },
        }
    }
}

fn fence<F: FnOnce(Result<(), String>)>(
    plan: &Plan,
    spec: &JobSpec,
    recorder: &Arc<Recorder>,
    control: &UnixListener,
    ready: &mut Option<F>,
    holder: &mut super::hold::Holder,
) -> anyhow::Result<(Outcome, UnixStream)> {
    let scope = sensors::Scope::of(&spec.cgroup)
        .with_context(|| format!("--cgroup {}: naming it for the sensors", spec.cgroup.display()))?;
    let netns = std::fs::File::open("/proc/self/ns/net").context("opening the job's network namespace")?;
    let (sensors, net) = std::thread::scope(|s| {
        let sensors = s.spawn(|| Sensors::start(plan, scope, recorder, spec.watch_files, true));
        let net = network::start_job(plan, netns.as_fd(), &spec.cgroup, recorder.clone());
        (super::joined(sensors), net)
    });
    let (sensors, net) = match (sensors, net) {
        (Ok(sensors), Ok(net)) => (sensors, net),
        (sensors, net) => {
            let mut first = None;
            match sensors {
                Ok(s) => drop(s.stop(recorder)),
                Err(e) => first = Some(e),
            }
            match net {
                Ok(n) => drop(n.stop()),
                Err(e) => first = first.or(Some(e)),
            }
            return Err(first.expect("one of them failed"));
        }
    };
    recorder.append(plan.run_start(false, layers(plan, spec)));
    for finding in &spec.findings {
        recorder.append(Event::PolicyViolation(finding.clone()));
    }
    if let Some(ready) = ready.take() {
        ready(Ok(()));
    }
    let stopper = wait_for_stop(control, &spec.stop_token, recorder, &net, plan, holder);
    let stats = net.stop();
    sensors.stop(recorder)?;
    network::suggest(plan, &stats)?;
    Ok((Outcome::Exited { code: Some(0), signal: None }, stopper))
}

/// Answers status requests and checks the rules until a stop request with the right token comes.
fn wait_for_stop(
    control: &UnixListener,
    token: &str,
    recorder: &Recorder,
    net: &netfence::NetFence,
    plan: &Plan,
    holder: &mut super::hold::Holder,
) -> UnixStream {
    let _ = control.set_nonblocking(true);
    let mut next_check = Instant::now();
    loop {
        if Instant::now() >= next_check {
            if let Some(what) = net.check_rules() {
                recorder.append(tampered(what, plan.mode));
            }
            let (_, problems) = holder.tick(plan);
            for problem in problems {
                recorder.append(Event::PolicyViolation(PolicyViolation {
                    pid: None,
                    rule: "job.hold".into(),
                    what: format!("a protected path could not be held read-only: {problem}"),
                    verdict: Verdict::Blocked,
                }));
            }
            next_check = Instant::now() + CHECK_EVERY;
        }
        let stream = match control.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
            Err(_) => continue,
        };
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let peer = peer_pid(&stream);
        let mut line = String::new();
        // A request is one short line; anything longer is not ringfence's client.
        let _ = BufReader::new(std::io::Read::take(&stream, 4096)).read_line(&mut line);
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("status"), _) => {
                let _ = writeln!(&stream, "{}", status_json(plan));
            }
            (Some("stop"), Some(given)) if constant_time_eq(given.as_bytes(), token.as_bytes()) => {
                return stream;
            }
            _ => {
                recorder.append(Event::PolicyViolation(PolicyViolation {
                    pid: peer,
                    rule: "job.tamper".into(),
                    what: "a request to stop the job fence without its stop token was refused (only the action's post step holds it)".into(),
                    verdict: Verdict::Blocked,
                }));
                let _ =
                    writeln!(&stream, "{{\"error\":\"refused: a stop request needs the job's stop token\"}}");
            }
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn peer_pid(stream: &UnixStream) -> Option<u32> {
    nix::sys::socket::getsockopt(stream, nix::sys::socket::sockopt::PeerCredentials)
        .ok()
        .map(|c| c.pid() as u32)
}

fn tampered(what: String, mode: journal::Mode) -> Event {
    Event::PolicyViolation(PolicyViolation {
        pid: None,
        rule: "job.tamper".into(),
        what,
        verdict: match mode {
            journal::Mode::Block => Verdict::Blocked,
            journal::Mode::Audit => Verdict::Allowed,
        },
    })
}

pub fn status_json(plan: &Plan) -> String {
    serde_json::json!({
        "running": true,
        "pid": std::process::id(),
        "run_id": plan.run_id,
        "mode": match plan.mode { journal::Mode::Block => "block", journal::Mode::Audit => "audit" },
        "out_dir": plan.out_dir.display().to_string(),
    })
    .to_string()
}

fn layers(plan: &Plan, spec: &JobSpec) -> Vec<FenceLayer> {
    let scope = if spec.cgroup.parent().is_none() || is_root_cgroup(&spec.cgroup) {
        "every process of the machine".to_string()
    } else {
        format!("every process in cgroup {} and beneath it", spec.cgroup.display())
    };
    vec![
        FenceLayer {
            layer: "job".into(),
            active: true,
            detail: format!(
                "job mode: {scope}, except ringfence's own; the fence runs as a root daemon the job's user cannot signal or trace, and only the stop request holding the job's token ends it"
            ),
        },
        FenceLayer { layer: "network".into(), active: true, detail: network::job_layer_detail(plan) },
        FenceLayer {
            layer: "exec sensor".into(),
            active: true,
            detail: "every exec (argv, parent), fork and exit in the job's scope, from eBPF".into(),
        },
        FenceLayer {
            layer: "file sensor".into(),
            active: spec.watch_files,
            detail: if spec.watch_files {
                format!("changes under {} with the process that made them", plan.cwd.display())
            } else {
                "off (disable-file-monitoring)".into()
            },
        },
        plan.credentials.layer(),
    ]
}

fn is_root_cgroup(dir: &Path) -> bool {
    sensors::cgroup2_mount().ok().and_then(|m| m.canonicalize().ok()) == dir.canonicalize().ok()
}
