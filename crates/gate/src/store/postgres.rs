//! The shared store for organisations whose runs outgrow one file: PostgreSQL.
//!
//! Admission is one transaction that first takes two transaction-scoped advisory locks, one for
//! the actor and one for the repository, always in the same order (so two gates never wait on
//! each other in a cycle). Any two admissions that share an actor or a repository are therefore
//! serialised, and each counts every admission committed before it.

use std::time::Duration;

use postgres::{Client, Config, NoTls};

use super::{Admission, Recorded, Request, Store, StoreError};
use crate::budget::{Used, check};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS gate_admissions (
    day TEXT NOT NULL,
    repo TEXT NOT NULL,
    actor TEXT NOT NULL,
    run TEXT NOT NULL,
    admitted_at BIGINT NOT NULL,
    PRIMARY KEY (repo, run)
);
CREATE INDEX IF NOT EXISTS gate_admissions_actor_day ON gate_admissions (actor, day);
CREATE INDEX IF NOT EXISTS gate_admissions_repo_day ON gate_admissions (repo, day);
CREATE TABLE IF NOT EXISTS gate_spend (
    repo TEXT NOT NULL,
    run TEXT NOT NULL,
    usd DOUBLE PRECISION NOT NULL,
    tokens BIGINT NOT NULL,
    PRIMARY KEY (repo, run)
);
";

/// Spend of the admitted runs matching `a.<column> = $1` on day $2.
fn spend_sql(column: &str) -> String {
    format!(
        "SELECT COALESCE(SUM(s.usd), 0)::DOUBLE PRECISION FROM gate_spend s \
         JOIN gate_admissions a ON a.repo = s.repo AND a.run = s.run WHERE a.{column} = $1 AND a.day = $2"
    )
}

/// Serialises schema creation: concurrent `CREATE TABLE IF NOT EXISTS` can collide in PostgreSQL.
const SCHEMA_LOCK: i64 = 0x7269_6e67_6761_7465; // "ringgate"

pub struct Postgres {
    /// The URL with any password removed, for messages.
    shown: String,
    client: Client,
}

impl Postgres {
    /// Connects to `url` (`postgres://USER@HOST[:PORT]/DB`); a password not in the URL is taken
    /// from PGPASSWORD. TLS to the database is not supported: use a private network or a socket.
    pub fn open(url: &str) -> Result<Postgres, StoreError> {
        let shown = redact(url);
        let open_err = |message: String| StoreError::Open { store: shown.clone(), message };
        let mut config: Config = url.parse().map_err(|e: postgres::Error| open_err(e.to_string()))?;
        if config.get_password().is_none()
            && let Ok(password) = std::env::var("PGPASSWORD")
        {
            config.password(password);
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let mut client = config.connect(NoTls).map_err(|e| open_err(describe(&e)))?;
        let mut tx = client.transaction().map_err(|e| open_err(describe(&e)))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
            .map_err(|e| open_err(describe(&e)))?;
        tx.batch_execute(SCHEMA).map_err(|e| open_err(describe(&e)))?;
        tx.commit().map_err(|e| open_err(describe(&e)))?;
        Ok(Postgres { shown, client })
    }

    fn admit_inner(&mut self, r: &Request<'_>) -> Result<Admission, postgres::Error> {
        let mut tx = self.client.transaction()?;
        let mut keys = [lock_key("actor", r.actor), lock_key("repo", r.repo)];
        keys.sort_unstable();
        for key in keys {
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&key])?;
        }
        if !tx
            .query("SELECT 1 FROM gate_admissions WHERE repo = $1 AND run = $2", &[&r.repo, &r.run])?
            .is_empty()
        {
            return Ok(Admission::AlreadyAdmitted);
        }
        let actor_runs: i64 = tx
            .query_one(
                "SELECT count(*) FROM gate_admissions WHERE actor = $1 AND day = $2",
                &[&r.actor, &r.day],
            )?
            .get(0);
        let repo_runs: i64 = tx
            .query_one(
                "SELECT count(*) FROM gate_admissions WHERE repo = $1 AND day = $2",
                &[&r.repo, &r.day],
            )?
            .get(0);
        let actor_usd: f64 = tx.query_one(&spend_sql("actor"), &[&r.actor, &r.day])?.get(0);
        let repo_usd: f64 = tx.query_one(&spend_sql("repo"), &[&r.repo, &r.day])?.get(0);
        let used = Used {
            actor_runs: actor_runs.max(0) as u64,
            repo_runs: repo_runs.max(0) as u64,
            actor_usd,
            repo_usd,
        };
        if let Err(exhausted) = check(r.budget, used) {
            return Ok(Admission::Refused(exhausted));
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        tx.execute(
            "INSERT INTO gate_admissions (day, repo, actor, run, admitted_at) VALUES ($1, $2, $3, $4, $5)",
            &[&r.day, &r.repo, &r.actor, &r.run, &now],
        )?;
        tx.commit()?;
        Ok(Admission::Admitted {
            used: Used { actor_runs: used.actor_runs + 1, repo_runs: used.repo_runs + 1, ..used },
        })
    }
}

impl Postgres {
    fn record_inner(
        &mut self,
        repo: &str,
        run: &str,
        usd: f64,
        tokens: u64,
    ) -> Result<Option<Recorded>, postgres::Error> {
        let mut tx = self.client.transaction()?;
        let Some(row) = tx.query_opt(
            "SELECT actor, day FROM gate_admissions WHERE repo = $1 AND run = $2",
            &[&repo, &run],
        )?
        else {
            return Ok(None);
        };
        let (actor, day): (String, String) = (row.get(0), row.get(1));
        // Under the actor's lock, so the sum below is not read half-way through another record.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock_key("actor", &actor)])?;
        let tokens = i64::try_from(tokens).unwrap_or(i64::MAX);
        tx.execute(
            "INSERT INTO gate_spend (repo, run, usd, tokens) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (repo, run) DO UPDATE SET usd = EXCLUDED.usd, tokens = EXCLUDED.tokens",
            &[&repo, &run, &usd, &tokens],
        )?;
        let actor_usd: f64 = tx.query_one(&spend_sql("actor"), &[&actor, &day])?.get(0);
        tx.commit()?;
        Ok(Some(Recorded { actor, day, actor_usd }))
    }
}

impl Store for Postgres {
    fn admit(&mut self, request: &Request<'_>) -> Result<Admission, StoreError> {
        self.admit_inner(request)
            .map_err(|e| StoreError::Write { store: self.shown.clone(), message: describe(&e) })
    }

    fn record(&mut self, repo: &str, run: &str, usd: f64, tokens: u64) -> Result<Recorded, StoreError> {
        match self.record_inner(repo, run, usd, tokens) {
            Ok(Some(recorded)) => Ok(recorded),
            Ok(None) => {
                Err(StoreError::NotAdmitted { store: self.shown.clone(), repo: repo.into(), run: run.into() })
            }
            Err(e) => Err(StoreError::Write { store: self.shown.clone(), message: describe(&e) }),
        }
    }
}

/// A stable 64-bit key per actor or repository (FNV-1a), the same in every gate process.
fn lock_key(kind: &str, name: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in kind.bytes().chain([0]).chain(name.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

/// The error with its database cause, which `postgres::Error`'s own text leaves out.
fn describe(e: &postgres::Error) -> String {
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:…@host/db`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return "postgres://…".into() };
    let (authority, tail) = rest.split_once('/').map_or((rest, ""), |(a, t)| (a, t));
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:…@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_string(),
    };
    // Query parameters can carry `password=`.
    let tail = tail.split('?').next().unwrap_or("");
    format!("{scheme}://{authority}/{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_passwords() {
        assert_eq!(redact("postgres://gate:s3cret@db:5432/gate"), "postgres://gate:…@db:5432/gate");
        assert_eq!(redact("postgres://gate@db/gate?password=s3cret"), "postgres://gate@db/gate");
        assert_eq!(redact("postgresql://db"), "postgresql://db/");
    }

    #[test]
    fn lock_keys_differ_by_kind_and_name() {
        assert_ne!(lock_key("actor", "a"), lock_key("repo", "a"));
        assert_ne!(lock_key("actor", "a"), lock_key("actor", "b"));
        assert_eq!(lock_key("actor", "a"), lock_key("actor", "a"));
    }

    #[test]
    fn nothing_listening_is_an_open_error_without_the_password() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let err = Postgres::open(&format!("postgres://gate:s3cret@127.0.0.1:{port}/gate")).err().unwrap();
        let text = err.to_string();
        assert!(text.starts_with("the store postgres://gate:…@127.0.0.1"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
    }
}
