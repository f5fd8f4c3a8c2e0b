//! Store throughput under concurrency: threads with one connection each (as separate gate
//! processes have) admitting against one SQLite file. A measurement, run with
//! `cargo nextest run -p gate --test throughput --run-ignored all --no-capture`.

use std::time::Instant;

use gate::store::{Admission, Request, Sqlite, Store};
use policy::GateBudget;

#[test]
#[ignore = "a measurement, not a check"]
fn sqlite_admissions_per_second() {
    for threads in [1usize, 8, 32] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gate.db");
        Sqlite::open(&path).unwrap();
        let per = 50;
        let started = Instant::now();
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let budget = GateBudget {
                        per_actor_daily_runs: Some(1_000_000),
                        per_repo_daily_runs: Some(1_000_000),
                        ..GateBudget::default()
                    };
                    for i in 0..per {
                        // A fresh connection per admission, as each gate process opens its own.
                        let mut s = Sqlite::open(&path).unwrap();
                        let run = format!("{t}-{i}");
                        let r = Request {
                            day: "2026-12-07",
                            repo: "o/r",
                            actor: "a",
                            run: &run,
                            budget: &budget,
                        };
                        assert!(matches!(s.admit(&r).unwrap(), Admission::Admitted { .. }));
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let n = threads * per;
        let secs = started.elapsed().as_secs_f64();
        println!("sqlite: {threads} concurrent connections, {n} admissions: {:.0}/s", n as f64 / secs);
    }
}
