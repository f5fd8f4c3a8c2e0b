//! `ringfence gate`: whether this workflow run may start the agent.
//!
//! The decision is made from GitHub's own answers, never from text in the payload that an author
//! can shape: [`event`] names the logins an event is judged by, [`github`] asks the REST API for
//! each one's repository permission, [`decide`] compares that with `gate.roles` and `gate.users`,
//! and [`store`] counts the admission against the budgets in one atomic step. Anything that cannot
//! be established — no token, GitHub unreachable, a payload that is not GitHub's, a store that
//! cannot be written — refuses the run and says why.

pub mod budget;
pub mod decide;
pub mod event;
pub mod github;
pub mod store;

use std::time::SystemTime;

use policy::{Gate, GateStore};
use serde_json::Value;

use decide::Need;
use github::{Api, Token};
use store::{Admission, Store};

/// What the workflow run gives the gate, read from GITHUB_* variables by the caller.
#[derive(Debug)]
pub struct Inputs {
    /// GITHUB_EVENT_NAME.
    pub event_name: String,
    /// The payload at GITHUB_EVENT_PATH, or why it could not be read.
    pub payload: Result<Value, String>,
    /// GITHUB_ACTOR (used only where the payload names no one).
    pub actor: Option<String>,
    /// GITHUB_REPOSITORY, `owner/name`.
    pub repository: String,
    /// `GITHUB_RUN_ID/GITHUB_RUN_ATTEMPT`.
    pub run: String,
    /// GITHUB_API_URL.
    pub api_url: String,
    pub token: Option<Token>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// The policy says no: a role, a bot, a spent budget.
    Refused,
    /// The gate could not establish what it needs, so it refuses (fail closed).
    Undecided,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub verdict: Verdict,
    /// One line: who, and why.
    pub reason: String,
    /// The login charged the budget, once known.
    pub actor: Option<String>,
    /// Dollars the admitted run may still spend today (`budget::dollars_left`), for
    /// `ringfence run --max-usd`.
    pub max_usd: Option<f64>,
}

impl Outcome {
    pub fn allowed(&self) -> bool {
        self.verdict == Verdict::Allowed
    }

    fn undecided(reason: impl Into<String>, actor: Option<&str>) -> Outcome {
        Outcome {
            verdict: Verdict::Undecided,
            reason: reason.into(),
            actor: actor.map(str::to_string),
            max_usd: None,
        }
    }
}

/// Decides one run. Never panics on input; every failure is an [`Outcome`] that refuses.
pub fn decide(inputs: &Inputs, gate: &Gate, now: SystemTime) -> Outcome {
    if !is_repository(&inputs.repository) {
        return Outcome::undecided(
            format!(
                "GITHUB_REPOSITORY `{}` is not `owner/name`: run the gate inside a GitHub Actions job",
                inputs.repository
            ),
            None,
        );
    }
    let payload = match &inputs.payload {
        Ok(p) => p,
        Err(why) => return Outcome::undecided(why.clone(), None),
    };
    let actors = match event::actors(&inputs.event_name, payload, inputs.actor.as_deref()) {
        Ok(a) => a,
        Err(e) => return Outcome::undecided(e.to_string(), None),
    };
    let charged = actors.charged().login.clone();
    let refuse =
        |verdict, reason: String| Outcome { verdict, reason, actor: Some(charged.clone()), max_usd: None };

    let mut api: Option<Api> = None;
    let mut reasons = Vec::new();
    for who in &actors.judged {
        let judgement = match decide::before_api(who, gate) {
            Need::Decided(j) => j,
            Need::AskRole => {
                if api.is_none() {
                    let Some(token) = inputs.token.clone() else {
                        return refuse(
                            Verdict::Undecided,
                            format!(
                                "GITHUB_TOKEN is not set, so {}'s permission cannot be asked of GitHub: give the step `env: GITHUB_TOKEN: ${{{{ github.token }}}}`",
                                who.login
                            ),
                        );
                    };
                    match Api::new(&inputs.api_url, token, gate.timeout) {
                        Ok(a) => api = Some(a),
                        Err(e) => return refuse(Verdict::Undecided, e.to_string()),
                    }
                }
                let Some(client) = api.as_ref() else { continue };
                match client.permission(&inputs.repository, &who.login) {
                    Ok(role) => decide::by_role(role, gate),
                    Err(e) => return refuse(Verdict::Undecided, e.to_string()),
                }
            }
        };
        let text = judgement.describe(who, &inputs.repository, gate);
        if !judgement.allows() {
            return refuse(Verdict::Refused, text);
        }
        reasons.push(text);
    }

    let Some(spec) = &gate.store else {
        return Outcome {
            verdict: Verdict::Allowed,
            reason: reasons.join("; "),
            actor: Some(charged.clone()),
            max_usd: None,
        };
    };
    let day = budget::utc_day(now);
    let actor_key = charged.to_ascii_lowercase();
    let request = store::Request {
        day: &day,
        repo: &inputs.repository,
        actor: &actor_key,
        run: &inputs.run,
        budget: &gate.budget,
    };
    let admitted = open_store(spec).and_then(|mut s| s.admit(&request));
    match admitted {
        Err(e) => refuse(
            Verdict::Undecided,
            format!("{e}; the run is refused because its budget cannot be counted"),
        ),
        Ok(Admission::Refused(exhausted)) => {
            refuse(Verdict::Refused, exhausted.describe(&charged, &inputs.repository, &day))
        }
        Ok(Admission::AlreadyAdmitted) => {
            reasons.push(format!("run {} was already admitted", inputs.run));
            Outcome {
                verdict: Verdict::Allowed,
                reason: reasons.join("; "),
                actor: Some(charged.clone()),
                max_usd: None,
            }
        }
        Ok(Admission::Admitted { used }) => {
            if let Some(cap) = gate.budget.per_actor_daily_runs {
                reasons.push(format!("run {} of {cap} for {charged} on {day} (UTC)", used.actor_runs));
            }
            if let Some(cap) = gate.budget.per_repo_daily_runs {
                reasons.push(format!(
                    "run {} of {cap} for {} on {day} (UTC)",
                    used.repo_runs, inputs.repository
                ));
            }
            let max_usd = budget::dollars_left(&gate.budget, used);
            if let Some(usd) = max_usd {
                reasons.push(format!("${usd:.2} left to spend"));
            }
            Outcome {
                verdict: Verdict::Allowed,
                reason: reasons.join("; "),
                actor: Some(charged.clone()),
                max_usd,
            }
        }
    }
}

/// Opens the store `gate.store` names.
pub fn open_store(spec: &GateStore) -> Result<Box<dyn Store>, store::StoreError> {
    Ok(match spec {
        GateStore::Sqlite(path) => Box::new(store::Sqlite::open(path)?),
        GateStore::Postgres(url) => Box::new(store::Postgres::open(url)?),
    })
}

/// `owner/name` with the characters GitHub allows; it becomes part of a URL path.
fn is_repository(text: &str) -> bool {
    let ok = |part: &str| {
        !part.is_empty()
            && part != "."
            && part != ".."
            && part.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    matches!(text.split_once('/'), Some((owner, name)) if ok(owner) && ok(name))
}

#[cfg(test)]
mod tests {
    #[test]
    fn repositories() {
        assert!(super::is_repository("octo-org/hello.world"));
        assert!(!super::is_repository("octo"));
        assert!(!super::is_repository("a/b/c"));
        assert!(!super::is_repository("a/.."));
        assert!(!super::is_repository("a/b?x"));
    }
}
