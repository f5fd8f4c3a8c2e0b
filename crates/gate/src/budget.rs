//! Budget arithmetic: whether one more run fits, and the UTC day runs are counted in.

use std::time::{SystemTime, UNIX_EPOCH};

use policy::GateBudget;

/// What today has already used, that a new admission is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Used {
    /// Runs charged to the actor, in every repository sharing the store.
    pub actor_runs: u64,
    /// Runs in this repository, by anyone.
    pub repo_runs: u64,
    /// Model spend recorded for the actor's runs (US dollars).
    pub actor_usd: f64,
    /// Model spend recorded for this repository's runs.
    pub repo_usd: f64,
}

/// Which cap a run would go over.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Exhausted {
    ActorRuns { cap: u64 },
    RepoRuns { cap: u64 },
    ActorUsd { cap: f64, spent: f64 },
    RepoUsd { cap: f64, spent: f64 },
}

impl Exhausted {
    pub fn describe(self, actor: &str, repo: &str, day: &str) -> String {
        match self {
            Exhausted::ActorRuns { cap } => {
                format!("{actor} has used all {cap} runs of gate.budget.per_actor_daily_runs for {day} (UTC)")
            }
            Exhausted::RepoRuns { cap } => {
                format!("{repo} has used all {cap} runs of gate.budget.per_repo_daily_runs for {day} (UTC)")
            }
            Exhausted::ActorUsd { cap, spent } => format!(
                "{actor}'s runs have spent ${spent:.2} of gate.budget.per_actor_daily_usd (${cap:.2}) for {day} (UTC)"
            ),
            Exhausted::RepoUsd { cap, spent } => format!(
                "{repo}'s runs have spent ${spent:.2} of gate.budget.per_repo_daily_usd (${cap:.2}) for {day} (UTC)"
            ),
        }
    }
}

/// One more run is admitted only while every cap is above what is already used.
pub fn check(budget: &GateBudget, used: Used) -> Result<(), Exhausted> {
    if let Some(cap) = budget.per_actor_daily_runs
        && used.actor_runs >= cap
    {
        return Err(Exhausted::ActorRuns { cap });
    }
    if let Some(cap) = budget.per_repo_daily_runs
        && used.repo_runs >= cap
    {
        return Err(Exhausted::RepoRuns { cap });
    }
    // Spend is known only after a run: a run starts while anything is left, and the one that
    // goes over is the last of the day.
    if let Some(cap) = budget.per_actor_daily_usd
        && !below(used.actor_usd, cap)
    {
        return Err(Exhausted::ActorUsd { cap, spent: used.actor_usd });
    }
    if let Some(cap) = budget.per_repo_daily_usd
        && !below(used.repo_usd, cap)
    {
        return Err(Exhausted::RepoUsd { cap, spent: used.repo_usd });
    }
    Ok(())
}

/// What an admitted run may still spend today, the lower of the actor's and the repository's
/// dollar caps less what they have spent; `None` without a dollar cap. Handed to
/// `ringfence run --max-usd`, so one run cannot spend past the day's budget by itself.
pub fn dollars_left(budget: &GateBudget, used: Used) -> Option<f64> {
    let left = |cap: Option<f64>, spent: f64| cap.map(|cap| (cap - spent).max(0.0));
    match (left(budget.per_actor_daily_usd, used.actor_usd), left(budget.per_repo_daily_usd, used.repo_usd)) {
        (Some(a), Some(r)) => Some(a.min(r)),
        (a, r) => a.or(r),
    }
}

/// Strictly below the cap; an unknown amount (NaN) is not.
fn below(spent: f64, cap: f64) -> bool {
    spent < cap
}

/// The UTC calendar day of `now` as `YYYY-MM-DD`: budgets reset at midnight UTC.
pub fn utc_day(now: SystemTime) -> String {
    let secs = now.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 to a proleptic Gregorian date (the well-known era algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn dollars_left_is_the_lower_of_the_two_caps_and_never_negative() {
        let budget = |actor, repo| GateBudget {
            per_actor_daily_usd: actor,
            per_repo_daily_usd: repo,
            ..GateBudget::default()
        };
        let used = Used { actor_usd: 0.6, repo_usd: 2.0, ..Used::default() };
        assert_eq!(dollars_left(&budget(None, None), used), None);
        assert!((dollars_left(&budget(Some(1.0), None), used).unwrap() - 0.4).abs() < 1e-9);
        assert!((dollars_left(&budget(Some(1.0), Some(2.1)), used).unwrap() - 0.1).abs() < 1e-9);
        assert_eq!(dollars_left(&budget(Some(0.5), None), used), Some(0.0));
    }

    #[test]
    fn days() {
        let at = |s: u64| utc_day(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01");
        assert_eq!(at(86_399), "1970-01-01");
        assert_eq!(at(86_400), "1970-01-02");
        assert_eq!(at(951_782_400), "2000-02-29");
        assert_eq!(at(1_796_601_599), "2026-12-06");
        assert_eq!(at(1_796_601_600), "2026-12-07");
    }

    #[test]
    fn caps() {
        let b = GateBudget {
            per_actor_daily_runs: Some(3),
            per_repo_daily_runs: Some(10),
            ..GateBudget::default()
        };
        let used = |actor_runs, repo_runs| Used { actor_runs, repo_runs, ..Used::default() };
        assert_eq!(check(&b, used(2, 9)), Ok(()));
        assert_eq!(check(&b, used(3, 0)), Err(Exhausted::ActorRuns { cap: 3 }));
        assert_eq!(check(&b, used(0, 10)), Err(Exhausted::RepoRuns { cap: 10 }));
        assert_eq!(check(&GateBudget::default(), used(u64::MAX, u64::MAX)), Ok(()));
        let usd = GateBudget {
            per_actor_daily_usd: Some(5.0),
            per_repo_daily_usd: Some(20.0),
            ..GateBudget::default()
        };
        assert_eq!(check(&usd, Used { actor_usd: 4.99, repo_usd: 19.0, ..Used::default() }), Ok(()));
        assert_eq!(
            check(&usd, Used { actor_usd: 5.0, ..Used::default() }),
            Err(Exhausted::ActorUsd { cap: 5.0, spent: 5.0 })
        );
        assert!(check(&usd, Used { repo_usd: 20.5, ..Used::default() }).is_err());
        assert!(
            check(&usd, Used { actor_usd: f64::NAN, ..Used::default() }).is_err(),
            "unknown spend refuses"
        );
    }

    proptest::proptest! {
        /// Admitting while `check` passes and counting each admission never exceeds a cap, and
        /// reaches it exactly.
        #[test]
        fn counting_reaches_each_cap_exactly(actor_cap in 0u64..20, repo_cap in 0u64..20, tries in 0u64..50) {
            let b = GateBudget {
                per_actor_daily_runs: Some(actor_cap),
                per_repo_daily_runs: Some(repo_cap),
                ..GateBudget::default()
            };
            let mut used = Used::default();
            for _ in 0..tries {
                if check(&b, used).is_ok() {
                    used.actor_runs += 1;
                    used.repo_runs += 1;
                }
            }
            proptest::prop_assert_eq!(used.actor_runs, tries.min(actor_cap).min(repo_cap));
        }

        /// Day strings are well-formed and never go backwards.
        #[test]
        fn days_are_monotonic(a in 0u64..4_000_000_000, d in 0u64..10_000_000) {
            let x = utc_day(UNIX_EPOCH + Duration::from_secs(a));
            let y = utc_day(UNIX_EPOCH + Duration::from_secs(a + d));
            proptest::prop_assert_eq!(x.len(), 10);
            proptest::prop_assert!(x <= y);
        }
    }
}
