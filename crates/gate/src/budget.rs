//! Budget arithmetic: whether one more run fits, and the UTC day runs are counted in.

use std::time::{SystemTime, UNIX_EPOCH};

use policy::GateBudget;

/// Runs already admitted today that a new admission is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Used {
    /// By the charged actor, in every repository sharing the store.
    pub actor_runs: u64,
    /// In this repository, by anyone.
    pub repo_runs: u64,
}

/// Which cap a run would go over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exhausted {
    ActorRuns { cap: u64 },
    RepoRuns { cap: u64 },
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
    Ok(())
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
        let b = GateBudget { per_actor_daily_runs: Some(3), per_repo_daily_runs: Some(10) };
        assert_eq!(check(&b, Used { actor_runs: 2, repo_runs: 9 }), Ok(()));
        assert_eq!(check(&b, Used { actor_runs: 3, repo_runs: 0 }), Err(Exhausted::ActorRuns { cap: 3 }));
        assert_eq!(check(&b, Used { actor_runs: 0, repo_runs: 10 }), Err(Exhausted::RepoRuns { cap: 10 }));
        assert_eq!(check(&GateBudget::default(), Used { actor_runs: u64::MAX, repo_runs: u64::MAX }), Ok(()));
    }

    proptest::proptest! {
        /// Admitting while `check` passes and counting each admission never exceeds a cap, and
        /// reaches it exactly.
        #[test]
        fn counting_reaches_each_cap_exactly(actor_cap in 0u64..20, repo_cap in 0u64..20, tries in 0u64..50) {
            let b = GateBudget { per_actor_daily_runs: Some(actor_cap), per_repo_daily_runs: Some(repo_cap) };
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
