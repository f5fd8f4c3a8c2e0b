//! The embedded store: one SQLite file. Admission is one `BEGIN IMMEDIATE` transaction, which
//! takes SQLite's write lock before counting, so concurrent gates on the same file are serialised
//! and the count each one sees includes every admission committed before it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{Admission, Recorded, Request, Store, StoreError};
use crate::budget::{Used, check};

/// How long a gate waits for another gate's transaction on the same file.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS gate_admissions (
    day TEXT NOT NULL,
    repo TEXT NOT NULL,
    actor TEXT NOT NULL,
    run TEXT NOT NULL,
    admitted_at INTEGER NOT NULL,
    PRIMARY KEY (repo, run)
);
CREATE INDEX IF NOT EXISTS gate_admissions_actor_day ON gate_admissions (actor, day);
CREATE INDEX IF NOT EXISTS gate_admissions_repo_day ON gate_admissions (repo, day);
CREATE TABLE IF NOT EXISTS gate_spend (
    repo TEXT NOT NULL,
    run TEXT NOT NULL,
    usd REAL NOT NULL,
    tokens INTEGER NOT NULL,
    PRIMARY KEY (repo, run)
);
";

/// Spend of the admitted runs matching `a.<column> = ?1` on day ?2.
fn spend_sql(column: &str) -> String {
    format!(
        "SELECT COALESCE(SUM(s.usd), 0.0) FROM gate_spend s JOIN gate_admissions a ON a.repo = s.repo AND a.run = s.run \
         WHERE a.{column} = ?1 AND a.day = ?2"
    )
}

pub struct Sqlite {
    path: PathBuf,
    conn: Connection,
}

impl Sqlite {
    /// Opens (creating it and its directory when missing) the database at `path`.
    pub fn open(path: &Path) -> Result<Sqlite, StoreError> {
        let open_err =
            |message: String| StoreError::Open { store: format!("sqlite:{}", path.display()), message };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| open_err(format!("cannot create {}: {e}", dir.display())))?;
        }
        let conn = Connection::open(path).map_err(|e| open_err(e.to_string()))?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| open_err(e.to_string()))?;
        let mut store = Sqlite { path: path.to_path_buf(), conn };
        let tx = store
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| open_err(e.to_string()))?;
        tx.execute_batch(SCHEMA).map_err(|e| open_err(e.to_string()))?;
        tx.commit().map_err(|e| open_err(e.to_string()))?;
        Ok(store)
    }

    fn write_err(&self, e: rusqlite::Error) -> StoreError {
        StoreError::Write { store: format!("sqlite:{}", self.path.display()), message: e.to_string() }
    }

    fn admit_inner(&mut self, r: &Request<'_>) -> Result<Admission, rusqlite::Error> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let seen: Option<i64> = tx
            .query_row(
                "SELECT 1 FROM gate_admissions WHERE repo = ?1 AND run = ?2",
                params![r.repo, r.run],
                |row| row.get(0),
            )
            .optional()?;
        if seen.is_some() {
            return Ok(Admission::AlreadyAdmitted);
        }
        let count = |sql: &str, key: &str| -> Result<u64, rusqlite::Error> {
            tx.query_row(sql, params![key, r.day], |row| row.get::<_, i64>(0)).map(|n| n.max(0) as u64)
        };
        let spent = |column: &str, key: &str| -> Result<f64, rusqlite::Error> {
            tx.query_row(&spend_sql(column), params![key, r.day], |row| row.get::<_, f64>(0))
        };
        let used = Used {
            actor_runs: count("SELECT count(*) FROM gate_admissions WHERE actor = ?1 AND day = ?2", r.actor)?,
            repo_runs: count("SELECT count(*) FROM gate_admissions WHERE repo = ?1 AND day = ?2", r.repo)?,
            actor_usd: spent("actor", r.actor)?,
            repo_usd: spent("repo", r.repo)?,
        };
        if let Err(exhausted) = check(r.budget, used) {
            return Ok(Admission::Refused(exhausted));
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        tx.execute(
            "INSERT INTO gate_admissions (day, repo, actor, run, admitted_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![r.day, r.repo, r.actor, r.run, now],
        )?;
        tx.commit()?;
        Ok(Admission::Admitted {
            used: Used { actor_runs: used.actor_runs + 1, repo_runs: used.repo_runs + 1, ..used },
        })
    }

    fn record_inner(
        &mut self,
        repo: &str,
        run: &str,
        usd: f64,
        tokens: u64,
    ) -> Result<Option<Recorded>, rusqlite::Error> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Some((actor, day)) = tx
            .query_row(
                "SELECT actor, day FROM gate_admissions WHERE repo = ?1 AND run = ?2",
                params![repo, run],
                |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)),
            )
            .optional()?
        else {
            return Ok(None);
        };
        tx.execute(
            "INSERT OR REPLACE INTO gate_spend (repo, run, usd, tokens) VALUES (?1, ?2, ?3, ?4)",
            params![repo, run, usd, i64::try_from(tokens).unwrap_or(i64::MAX)],
        )?;
        let actor_usd = tx.query_row(&spend_sql("actor"), params![actor, day], |row| row.get::<_, f64>(0))?;
        tx.commit()?;
        Ok(Some(Recorded { actor, day, actor_usd }))
    }
}

impl Store for Sqlite {
    fn admit(&mut self, request: &Request<'_>) -> Result<Admission, StoreError> {
        self.admit_inner(request).map_err(|e| self.write_err(e))
    }

    fn record(&mut self, repo: &str, run: &str, usd: f64, tokens: u64) -> Result<Recorded, StoreError> {
        match self.record_inner(repo, run, usd, tokens) {
            Ok(Some(recorded)) => Ok(recorded),
            Ok(None) => Err(StoreError::NotAdmitted {
                store: format!("sqlite:{}", self.path.display()),
                repo: repo.into(),
                run: run.into(),
            }),
            Err(e) => Err(self.write_err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use policy::GateBudget;

    use super::*;
    use crate::budget::Exhausted;

    fn req<'a>(run: &'a str, actor: &'a str, budget: &'a GateBudget) -> Request<'a> {
        Request { day: "2026-12-07", repo: "o/r", actor, run, budget }
    }

    #[test]
    fn counts_per_actor_and_day_and_admits_a_run_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Sqlite::open(&dir.path().join("sub/gate.db")).unwrap();
        let b = GateBudget { per_actor_daily_runs: Some(2), ..GateBudget::default() };
        assert!(matches!(s.admit(&req("1/1", "a", &b)).unwrap(), Admission::Admitted { .. }));
        assert_eq!(s.admit(&req("1/1", "a", &b)).unwrap(), Admission::AlreadyAdmitted);
        assert!(matches!(s.admit(&req("2/1", "a", &b)).unwrap(), Admission::Admitted { .. }));
        assert_eq!(
            s.admit(&req("3/1", "a", &b)).unwrap(),
            Admission::Refused(Exhausted::ActorRuns { cap: 2 })
        );
        assert!(matches!(s.admit(&req("3/1", "b", &b)).unwrap(), Admission::Admitted { .. }));
        let tomorrow = Request { day: "2026-12-08", ..req("4/1", "a", &b) };
        assert!(matches!(s.admit(&tomorrow).unwrap(), Admission::Admitted { .. }));
        // The counts survive closing and reopening the file.
        drop(s);
        let mut s = Sqlite::open(&dir.path().join("sub/gate.db")).unwrap();
        assert_eq!(
            s.admit(&req("5/1", "a", &b)).unwrap(),
            Admission::Refused(Exhausted::ActorRuns { cap: 2 })
        );
    }

    #[test]
    fn spend_is_recorded_against_the_admitted_actor_and_day() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Sqlite::open(&dir.path().join("gate.db")).unwrap();
        let b = GateBudget { per_actor_daily_usd: Some(1.0), ..GateBudget::default() };
        assert!(matches!(s.record("o/r", "1/1", 0.5, 10), Err(StoreError::NotAdmitted { .. })));
        assert!(matches!(s.admit(&req("1/1", "a", &b)).unwrap(), Admission::Admitted { .. }));
        assert_eq!(s.record("o/r", "1/1", 0.6, 10).unwrap().actor_usd, 0.6);
        // Recording the same run again replaces its spend.
        assert_eq!(s.record("o/r", "1/1", 0.7, 12).unwrap().actor_usd, 0.7);
        assert!(matches!(s.admit(&req("2/1", "a", &b)).unwrap(), Admission::Admitted { .. }));
        assert_eq!(s.record("o/r", "2/1", 0.4, 5).unwrap().actor_usd, 1.1);
        assert!(matches!(
            s.admit(&req("3/1", "a", &b)).unwrap(),
            Admission::Refused(Exhausted::ActorUsd { cap: 1.0, .. })
        ));
        assert!(matches!(s.admit(&req("3/1", "b", &b)).unwrap(), Admission::Admitted { .. }));
    }

    #[test]
    fn an_unwritable_place_is_an_open_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        let err = Sqlite::open(&file.join("gate.db")).err().unwrap();
        assert!(err.to_string().starts_with("the store sqlite:"), "{err}");
        let not_db = dir.path().join("not.db");
        std::fs::write(&not_db, "this is not a database file, just text that is long enough").unwrap();
        assert!(Sqlite::open(&not_db).is_err());
    }
}
