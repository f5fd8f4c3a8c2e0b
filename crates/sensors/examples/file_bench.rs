//! Overhead of the file sensor: creating small files in a workspace with and without it.
//! Run as root: `cargo run --release -p sensors --example file_bench -- [FILES] [RUNS]`;
//! `EVERYWHERE=1` watches as audit mode does (every writable file system, changes anywhere).

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use sensors::{FileSensor, FileWatch, Scope, cgroup2_mount};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let files: usize = args.next().map_or(Ok(50_000), |n| n.parse())?;
    let runs: usize = args.next().map_or(Ok(5), |n| n.parse())?;
    let cgroup = cgroup2_mount()?.join(format!("ringfence-bench-{}", std::process::id()));
    std::fs::create_dir(&cgroup)?;
    let id = Scope::of(&cgroup)?;

    let (mut plain, mut watched) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        // Alternate, so drift on the machine hits both sides alike.
        plain.push(create_files(&cgroup, files, None)?);
        watched.push(create_files(&cgroup, files, Some(id))?);
    }
    std::fs::remove_dir(&cgroup)?;
    let (plain, watched) = (median(&mut plain), median(&mut watched));
    println!(
        "{files} files, median of {runs}: unwatched {:.3} s, watched {:.3} s, ratio {:.3}",
        plain.as_secs_f64(),
        watched.as_secs_f64(),
        watched.as_secs_f64() / plain.as_secs_f64()
    );
    Ok(())
}

/// Time for one shell in the cgroup to create `files` files of a few bytes in a fresh workspace.
fn create_files(
    cgroup: &Path,
    files: usize,
    watch: Option<Scope>,
) -> Result<Duration, Box<dyn std::error::Error>> {
    let ws = tempfile::tempdir()?;
    let sensor = match watch {
        Some(scope) => {
            // EVERYWHERE=1: audit mode's view, every writable file system marked.
            let everywhere = std::env::var("EVERYWHERE").as_deref() == Ok("1");
            let watch = FileWatch {
                tree: ws.path().to_path_buf(),
                sensitive: Vec::new(),
                scope,
                everywhere,
                hidden: Vec::new(),
            };
            Some(FileSensor::start(watch, Box::new(|_event| {}))?)
        }
        None => None,
    };
    let procs = CString::new(cgroup.join("cgroup.procs").as_os_str().as_bytes())?;
    let script = format!("i=0; while [ $i -lt {files} ]; do echo x > f$i; i=$((i+1)); done");
    let mut command = Command::new("/bin/sh");
    command.args(["-c", &script]).current_dir(ws.path());
    // SAFETY: the hook makes only async-signal-safe calls (open, write, close) and allocates
    // nothing: the sensor's thread may hold the allocator's lock at the fork.
    unsafe {
        command.pre_exec(move || {
            let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let written = libc::write(fd, b"0".as_ptr().cast(), 1);
            libc::close(fd);
            if written == 1 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
        });
    }
    let start = Instant::now();
    let status = command.status()?;
    let elapsed = start.elapsed();
    if let Some(sensor) = sensor {
        let stats = sensor.stop()?;
        eprintln!("watched run: {} events delivered, {} lost", stats.delivered, stats.lost);
    }
    if !status.success() {
        return Err("the workload failed".into());
    }
    Ok(elapsed)
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}
