//! Where admissions are counted, so budgets hold across runs and across concurrent gates.

mod postgres;
mod sqlite;

pub use postgres::Postgres;
pub use sqlite::Sqlite;

use policy::GateBudget;

use crate::budget::{Exhausted, Used};

/// One run asking to be admitted.
#[derive(Debug, Clone, PartialEq)]
pub struct Request<'a> {
    /// `YYYY-MM-DD`, UTC.
    pub day: &'a str,
    pub repo: &'a str,
    /// The charged login, lower-cased (GitHub logins are case-insensitive).
    pub actor: &'a str,
    /// `RUN_ID/ATTEMPT`: asking twice for the same run attempt admits once.
    pub run: &'a str,
    pub budget: &'a GateBudget,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Admission {
    /// Counted now; `used` includes this run.
    Admitted {
        used: Used,
    },
    /// This run attempt was admitted before (a second gate step in the same run).
    AlreadyAdmitted,
    Refused(Exhausted),
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store {store} cannot be opened: {message}")]
    Open { store: String, message: String },
    #[error("the store {store} cannot be written: {message}")]
    Write { store: String, message: String },
    #[error(
        "the store {store} has no admission for run {run} of {repo}: spend is recorded for runs the gate admitted"
    )]
    NotAdmitted { store: String, repo: String, run: String },
}

/// Spend recorded for an admitted run.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// The login the run was charged to, and its UTC day.
    pub actor: String,
    pub day: String,
    /// The actor's recorded spend that day, this run included.
    pub actor_usd: f64,
}

/// A store counts and admits in one atomic step: two gates can never both take the last run.
pub trait Store {
    fn admit(&mut self, request: &Request<'_>) -> Result<Admission, StoreError>;

    /// Records a run's model spend against the actor and day it was admitted for; recording the
    /// same run again replaces its spend.
    fn record(&mut self, repo: &str, run: &str, usd: f64, tokens: u64) -> Result<Recorded, StoreError>;
}
