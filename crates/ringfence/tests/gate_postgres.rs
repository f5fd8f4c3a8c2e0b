//! `ringfence gate` with `store: postgres://…`, against a real PostgreSQL server that the test
//! starts (a throwaway cluster on loopback, run as the `postgres` user) and stops.
//!
//! Needs root and the PostgreSQL server binaries (Debian's `postgresql` package); without them
//! the test says why and passes, unless RINGFENCE_REQUIRE_POSTGRES=1.

mod gate_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use gate_support::{FakeGithub, Job, POLICY, fixture};

struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Cluster {
    fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    fn as_postgres(&self, tool: &str) -> Command {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(self.bin.join(tool));
        c
    }

    fn createdb(&self, name: &str) {
        let port = self.port.to_string();
        let ok = self
            .as_postgres("createdb")
            .args(["-h", "127.0.0.1", "-p", &port, "-U", "postgres", name])
            .status()
            .unwrap()
            .success();
        assert!(ok, "createdb {name}");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .as_postgres("pg_ctl")
            .args(["-D"])
            .arg(&self.data)
            .args(["-m", "immediate", "stop"])
            .status();
    }
}

fn server_bin() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|b| b.join("initdb").exists() && b.join("pg_ctl").exists())
        .collect();
    found.sort();
    found.pop()
}

fn start() -> Option<Cluster> {
    let skip = |why: &str| {
        assert!(
            std::env::var("RINGFENCE_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "PostgreSQL test required: {why}"
        );
        eprintln!("skipped: {why}");
        None
    };
    if !nix::unistd::Uid::effective().is_root() {
        return skip("needs root to run a PostgreSQL server as the postgres user");
    }
    let Some(bin) = server_bin() else {
        return skip("no PostgreSQL server under /usr/lib/postgresql (apt-get install postgresql)");
    };
    let Ok(Some(user)) = nix::unistd::User::from_name("postgres") else { return skip("no postgres user") };
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::chown(dir.path(), Some(user.uid.as_raw()), Some(user.gid.as_raw())).unwrap();
    let data = dir.path().join("data");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut cluster = Cluster { bin, data: data.clone(), port, _dir: dir };
    let init = cluster
        .as_postgres("initdb")
        .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(init.status.success(), "initdb: {}", String::from_utf8_lossy(&init.stderr));
    let socket_dir: &Path = data.parent().unwrap();
    let options = format!("-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", socket_dir.display());
    let log = socket_dir.join("log");
    let started = cluster
        .as_postgres("pg_ctl")
        .arg("-D")
        .arg(&data)
        .args(["-o", &options, "-l"])
        .arg(&log)
        .args(["-w", "start"])
        .output()
        .unwrap();
    if !started.status.success() {
        cluster.port = 0;
        panic!(
            "pg_ctl start: {} {}",
            String::from_utf8_lossy(&started.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
    Some(cluster)
}

#[test]
fn eight_concurrent_gates_on_postgres_with_three_runs_left_admit_exactly_three() {
    let Some(pg) = start() else { return };
    let api = FakeGithub::start();
    let payload = fixture("issue_comment.member-write");
    for round in 0..5 {
        let db = format!("gate{round}");
        pg.createdb(&db);
        let policy = POLICY.replace("sqlite:state/gate.db", &pg.url(&db));
        let job = Job::new(&policy);
        api.hold_until(8 * (round + 1));
        let children: Vec<_> = (0..8)
            .map(|i| {
                let run = format!("{round}{i}");
                let child = job
                    .command("issue_comment", &payload, &api.url, &run, &[])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap();
                (run, child)
            })
            .collect();
        let results: Vec<_> = children
            .into_iter()
            .map(|(run, child)| job.finish(&run, child.wait_with_output().unwrap()))
            .collect();
        let admitted = results.iter().filter(|g| g.code == 0 && g.allowed()).count();
        let refused = results.iter().filter(|g| g.code == 1 && !g.allowed()).count();
        assert_eq!((admitted, refused), (3, 5), "round {round}: {results:#?}");
        // The count holds for the next run too, from a fresh process.
        let g = job.gate("issue_comment", &payload, &api.url, &format!("{round}9"), &[]);
        assert_eq!(g.code, 1, "{g:?}");
    }
}

#[test]
fn postgres_unreachable_or_missing_database_refuses_with_the_reason() {
    let api = FakeGithub::start();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let policy =
        POLICY.replace("sqlite:state/gate.db", &format!("postgres://gate:s3cret@127.0.0.1:{port}/gate"));
    let job = Job::new(&policy);
    let g = job.gate("issue_comment", &fixture("issue_comment.owner"), &api.url, "1", &[]);
    assert_eq!((g.code, g.allowed()), (2, false), "{g:?}");
    let reason = g.output("reason").unwrap();
    assert!(reason.contains("cannot be opened") && !reason.contains("s3cret"), "{reason}");

    let Some(pg) = start() else { return };
    let job = Job::new(&POLICY.replace("sqlite:state/gate.db", &pg.url("nosuchdb")));
    let g = job.gate("issue_comment", &fixture("issue_comment.owner"), &api.url, "1", &[]);
    assert_eq!(g.code, 2, "{g:?}");
    assert!(g.output("reason").unwrap().contains("nosuchdb"), "{g:?}");
}

#[test]
fn spend_recorded_in_postgres_closes_the_dollar_budget() {
    let Some(pg) = start() else { return };
    let api = FakeGithub::start();
    pg.createdb("spend");
    let policy = POLICY
        .replace("sqlite:state/gate.db", &pg.url("spend"))
        .replace("per_actor_daily_runs: 3", "per_actor_daily_usd: 1.00");
    let job = Job::new(&policy);
    let payload = fixture("issue_comment.member-write");
    for (run, usd) in [("1", 0.70), ("2", 0.35)] {
        assert_eq!(job.gate("issue_comment", &payload, &api.url, run, &[]).code, 0);
        let dir = job.dir.path().join("runs").join(run);
        gate_support::journal_with_spend(&dir, usd);
        let out = job
            .command("issue_comment", &payload, &api.url, run, &[])
            .arg("--record")
            .arg(&dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }
    let g = job.gate("issue_comment", &payload, &api.url, "3", &[]);
    assert_eq!(g.code, 1, "{g:?}");
    assert!(g.output("reason").unwrap().contains("spent $1.05"), "{g:?}");
}

/// Gate throughput with the PostgreSQL store (`--run-ignored all --no-capture` to see it).
#[test]
#[ignore = "a measurement, not a check"]
fn measure_postgres() {
    let Some(pg) = start() else { return };
    let api = FakeGithub::start();
    pg.createdb("measure");
    let policy = POLICY
        .replace("sqlite:state/gate.db", &pg.url("measure"))
        .replace("per_actor_daily_runs: 3", "per_actor_daily_runs: 1000000");
    let job = Job::new(&policy);
    let payload = fixture("issue_comment.member-write");
    for procs in [1usize, 8, 32] {
        let per = 20;
        let t = std::time::Instant::now();
        let threads: Vec<_> = (0..procs)
            .map(|p| {
                let cmds: Vec<_> = (0..per)
                    .map(|i| {
                        job.command("issue_comment", &payload, &api.url, &format!("m{procs}-{p}-{i}"), &[])
                    })
                    .collect();
                std::thread::spawn(move || {
                    for mut c in cmds {
                        assert!(c.output().unwrap().status.success());
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let n = procs * per;
        let secs = t.elapsed().as_secs_f64();
        println!("postgres: {procs} concurrent gates, {n} admissions: {:.0}/s end to end", n as f64 / secs);
    }
}
