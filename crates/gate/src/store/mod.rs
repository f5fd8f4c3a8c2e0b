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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
}

/// A store counts and admits in one atomic step: two gates can never both take the last run.
pub trait Store {
    fn admit(&mut self, request: &Request<'_>) -> Result<Admission, StoreError>;
}
