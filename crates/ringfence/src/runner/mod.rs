//! One fenced, recorded run: the order in which the fence, the sensors and the journal start and
//! stop. Every mechanism lives in its own crate; this module only sequences them.

mod attempts;
pub mod demo;
pub mod exit;
mod files;
mod gitdirs;
mod hold;
mod hooklog;
pub mod job;
mod network;
mod outputs;
mod overwrite;
pub mod plan;
mod recorder;
pub mod rundir;
pub mod secrets;
mod session;
mod unix;

use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::Context;
use journal::{Event, PolicyViolation, RunStatus, Verdict};
use sandbox::{Outcome, Prepared};

pub use plan::Plan;
use recorder::Recorder;
pub use session::Session;

/// What a finished run tells its caller.
pub struct Finished {
    pub exit_code: i32,
    pub outcome: Outcome,
    pub violations: u64,
    /// The journal's final chain head and length, once closed.
    pub head: Option<(String, u64)>,
    /// Where the head was anchored (root's state directory), when it was.
    pub anchor: Option<std::path::PathBuf>,
    /// Where the run directory is now, when it was moved during the run.
    pub moved_to: Option<std::path::PathBuf>,
    /// Why the journal ends early, when a write error cut it short.
    pub cut_short: Option<String>,
}

/// Runs the plan to the end; errors before the journal exists are returned, later ones are
/// recorded in the journal's run.end and turned into [`exit::RINGFENCE_FAILED`].
pub fn execute(plan: Plan, stop: Arc<AtomicBool>, stop_signal: Arc<AtomicUsize>) -> anyhow::Result<Finished> {
    // Whatever the agent does to memory, the process that records it must be the last to go.
    // Without CAP_SYS_RESOURCE this fails; the agent's own maximal score still puts it first.
    let _ = sandbox::supervisor::protect_from_oom();
    let session = Session::open(&plan, None)?;
    let (outcome, removing) = fence_and_run(&plan, &session.recorder, &stop)
        .unwrap_or_else(|e| (Outcome::SetupFailed(format!("{e:#}")), None));
    let finished = session.close(&plan, outcome, stop_signal.load(Ordering::Relaxed) as i32);
    if let Some(removing) = removing {
        let _ = removing.join();
    }
    Ok(finished)
}

/// A start-up thread's result; a panic there is a failed start, not a crash of the run.
fn joined<T>(handle: std::thread::ScopedJoinHandle<'_, anyhow::Result<T>>) -> anyhow::Result<T> {
    handle.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a sensor's start-up thread panicked")))
}

fn reason(outcome: &Outcome, status: RunStatus) -> Option<String> {
    match outcome {
        Outcome::Exited { .. } => None,
        Outcome::NotStarted { errno, program } => {
            Some(format!("{program}: {}", nix::errno::Errno::from_raw(*errno).desc()))
        }
        Outcome::SetupFailed(what) => Some(what.clone()),
        Outcome::InitDied(what) => Some(format!("the fence's init ended unexpectedly: {what}")),
        Outcome::WallLimit => Some("the wall-clock limit was reached".into()),
        Outcome::Interrupted => Some(format!("ringfence was stopped ({status:?}); the fence was torn down")),
    }
}

/// Builds the fence, starts the sensor, runs CMD, and tears everything down again; the
/// placeholders are still being removed, on the thread returned, while the journal closes.
fn fence_and_run(
    plan: &Plan,
    recorder: &Arc<Recorder>,
    stop: &AtomicBool,
) -> anyhow::Result<(Outcome, Option<std::thread::JoinHandle<()>>)> {
    let prepared = Prepared::new(plan.fence_spec()).context("creating the run's cgroup")?;
    let cgroup = prepared.cgroup().path().to_path_buf();
    let netns = prepared
        .netns()
        .map(|ns| ns.try_clone_to_owned())
        .transpose()
        .context("holding the run's network namespace")?;
    let fence_layers = prepared.layers();
    let scope = sensors::Scope::of(&cgroup).context("naming the run's cgroup for the sensors")?;
    let denied = recorder.clone();
    let on_denied = Box::new(move |d: sandbox::Denied| {
        // A refused ICMP, raw or packet socket is a network attempt: one record, in the Network
        // section with the rest, rather than a second one for the same call.
        let event = match (d.syscall == "socket").then(|| attempts::refused_socket(d.pid, &d.args)).flatten()
        {
            Some(attempt) => Event::NetAttempt(attempt),
            None => Event::PolicyViolation(PolicyViolation {
                pid: Some(d.pid),
                rule: format!("seccomp.{}", d.syscall),
                what: d.what,
                verdict: Verdict::Blocked,
            }),
        };
        denied.append(event);
    });
    // Side by side, since each is independent of the others and together they are most of the
    // fixed cost: the placeholders and init (started at once; it builds the mount namespace,
    // then waits for `release` to start CMD), the exec and file sensors and the Unix socket
    // fence (BPF loads and verification), the connect sensor and the network fence (nftables).
    let (running, sensors, unix_sockets, net) = std::thread::scope(|s| {
        let running = s.spawn(move || {
            // Made before init so its mounts find them; removed when this function returns,
            // however. The file sensor, loading meanwhile, does not take their creation for the
            // run's: ringfence's own pid is not a member.
            let placeholders = match files::Placeholders::create(plan) {
                Ok(placeholders) => placeholders,
                Err(e) => {
                    prepared.abandon();
                    return Err(e);
                }
            };
            let running = prepared.launch(on_denied).context("starting the fence")?;
            Ok((placeholders, running))
        });
        let sensors = s.spawn(|| session::Sensors::start(plan, scope, recorder, true, false));
        let unix_sockets = s.spawn(|| {
            unix::UnixSockets::start(plan.mode, &cgroup, &plan.cwd, &plan.policy.egress.unix_sockets)
        });
        let net = attempts::Attempts::start(plan.mode, &cgroup, netns.is_some()).and_then(|attempts| {
            let net = netns
                .as_ref()
                .map(|ns| network::start(plan, ns.as_fd(), &cgroup, recorder.clone(), attempts.pid_hint()))
                .transpose()?;
            Ok((attempts, net))
        });
        (joined(running), joined(sensors), joined(unix_sockets), net)
    });
    let ((mut placeholders, mut running), sensors, unix_sockets, (attempts, net)) =
        match (running, sensors, unix_sockets, net) {
            (Ok(running), Ok(sensors), Ok(unix_sockets), Ok(net)) => (running, sensors, unix_sockets, net),
            (running, sensors, unix_sockets, net) => {
                // Whatever started is stopped again (init with the cgroup, before CMD ever ran; the
                // Unix socket fence and the connect sensor on drop); the first error is the one
                // reported.
                let mut first = None;
                match running {
                    Ok((_, r)) => drop(r.teardown()),
                    Err(e) => first = first.or(Some(e)),
                }
                match sensors {
                    Ok(s) => drop(s.stop(recorder)),
                    Err(e) => first = first.or(Some(e)),
                }
                if let Err(e) = unix_sockets {
                    first = first.or(Some(e));
                }
                match net {
                    Ok((_, n)) => drop(n.map(|n| n.stop())),
                    Err(e) => first = first.or(Some(e)),
                }
                return Err(first.expect("one of them failed"));
            }
        };
    recorder.append(plan.run_start(
        true,
        unix_sockets.layers(attempts.layers(plan.layers(files::placeholder_layer(
            &placeholders,
            sensors.file_coverage(),
            plan.mode,
            fence_layers,
        )))),
    ));
    running.release();
    let outcome = running.wait(plan.wall.map(|w| Instant::now() + w), stop);
    if outcome == Outcome::WallLimit {
        recorder.append(Event::PolicyViolation(PolicyViolation {
            pid: None,
            rule: "limits.wall".into(),
            what: format!(
                "ran longer than {}; every process was killed",
                humantime::format_duration(plan.wall.unwrap_or_default())
            ),
            verdict: Verdict::Blocked,
        }));
    }
    // Before teardown: open connections are recorded while their processes can still be named.
    let net_stats = net.map(netfence::NetFence::stop);
    let torn_down = running.teardown();
    // The sensor drains what the kernel already wrote (the exits of killed processes included)
    // before run.end is written.
    sensors.stop(recorder)?;
    let torn_down = torn_down.context("tearing the fence down")?;
    if torn_down.oom_kills > 0 {
        recorder.append(Event::PolicyViolation(PolicyViolation {
            pid: None,
            rule: "limits.memory".into(),
            what: format!(
                "{} process(es) killed by the kernel for going over the memory limit of {} MiB",
                torn_down.oom_kills,
                plan.memory / (1024 * 1024)
            ),
            verdict: Verdict::Blocked,
        }));
    }
    // The run's processes are gone: the changed files are final. The placeholders (~20
    // directories, a couple of ms on ext4) go meanwhile: nothing of the run can be in them.
    let removing = std::thread::Builder::new()
        .name("placeholders".into())
        .spawn(move || {
            for problem in placeholders.remove() {
                eprintln!("ringfence: warning: {problem}");
            }
        })
        .context("removing the placeholders")?;
    let finished = (|| {
        files::record_final_state(recorder);
        attempts.finish(recorder)?;
        unix_sockets.finish(recorder)?;
        if let Some(stats) = &net_stats {
            network::suggest(plan, stats)?;
        }
        anyhow::Ok(())
    })();
    if let Err(e) = finished {
        // Not left half done behind an early return: the process may end right after it.
        let _ = removing.join();
        return Err(e);
    }
    Ok((outcome, Some(removing)))
}
