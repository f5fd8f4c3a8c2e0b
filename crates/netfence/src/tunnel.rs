//! Signs of DNS tunnelling. In block mode unlisted names never leave ringfence, but an allowed
//! wildcard (`*.example.com`) still admits names the agent invents, and audit mode forwards
//! everything. One long encoded label is caught by its look; many short ones are caught by a
//! per-run budget of new names under each wildcard's fixed domain (the base), because a single
//! 16-character label looks like a CDN host name while two hundred of them are a channel.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// A label this long is rarely a real host name (hashes and encoded data are).
pub const LONG_LABEL: usize = 40;
/// Shannon entropy (bits per character) above which a label of `ENTROPY_MIN_LEN` or more
/// characters looks like encoded data rather than words.
pub const HIGH_ENTROPY: f64 = 3.5;
pub const ENTROPY_MIN_LEN: usize = 20;
/// TXT/NULL queries under one parent before it counts as a flood.
pub const TXT_FLOOD: usize = 10;

/// What each new distinct subdomain of a base costs on top of its length in characters, so that
/// many short names exhaust the budget as surely as a few long ones.
pub const NAME_COST: usize = 8;
/// What one base may spend in a run. A new subdomain of length `L` is admitted while the total
/// stays within it, so at most `BASE_BUDGET / (NAME_COST + L)` new names of that length pass:
/// 10 of 39 characters, 21 of 16, 32 of 8, 46 of 3; the next one trips. Ordinary names under one
/// wildcard (`www`, `api`, `static`, `us-east-1`, a dozen CDN hosts) cost about 15 each.
pub const BASE_BUDGET: usize = 512;
/// Bases tracked at once; past this, new bases (only unlisted names in audit mode make them)
/// get a budget that is already spent, so memory stays bounded and nothing is missed.
const MAX_BASES: usize = 4096;

/// Bits per character of `label`.
pub fn entropy(label: &str) -> f64 {
    let mut counts = [0usize; 256];
    for b in label.bytes() {
        counts[usize::from(b)] += 1;
    }
    let n = label.len() as f64;
    counts.iter().filter(|c| **c > 0).map(|c| *c as f64 / n).map(|p| -p * p.log2()).sum()
}

/// Signs visible in the name alone.
pub fn name_signs(name: &str) -> Vec<String> {
    let mut signs = Vec::new();
    for label in name.split('.') {
        if label.len() >= LONG_LABEL {
            signs.push(format!("long label ({} characters)", label.len()));
        }
        if label.len() >= ENTROPY_MIN_LEN && entropy(label) >= HIGH_ENTROPY {
            signs.push(format!("high-entropy label ({:.1} bits/char)", entropy(label)));
        }
    }
    signs
}

/// Does the name look like data being carried out (long AND high-entropy label)? Block mode
/// refuses such names even where a wildcard allows them.
pub fn looks_like_payload(name: &str) -> bool {
    name.split('.').any(|l| l.len() >= LONG_LABEL && entropy(l) >= HIGH_ENTROPY)
}

/// What a new distinct subdomain (`sub`, the part of the name left of its base) costs.
pub fn cost(sub: &str) -> usize {
    NAME_COST + sub.len()
}

/// The outcome of [`Budget::spend`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spend {
    /// Seen before: free, and still admitted after the budget ran out (its answer is already out).
    Known,
    /// A new name within the budget; `spent` is the total so far.
    Within { spent: usize },
    /// A new name the budget cannot pay for; it is not remembered, so every later new name is
    /// refused too.
    Exceeded { spent: usize },
}

/// One base's budget for the run: the subdomains admitted and what they cost.
#[derive(Debug, Default, Clone)]
pub struct Budget {
    seen: HashSet<String>,
    spent: usize,
    exhausted: bool,
}

impl Budget {
    /// A budget with nothing left, for bases past [`MAX_BASES`].
    fn spent_out() -> Budget {
        Budget { seen: HashSet::new(), spent: BASE_BUDGET, exhausted: true }
    }

    /// Charges `sub` (lower case) to the budget. Pure bookkeeping: the same sequence of names
    /// always gives the same outcomes.
    pub fn spend(&mut self, sub: &str) -> Spend {
        if self.seen.contains(sub) {
            return Spend::Known;
        }
        let total = self.spent.saturating_add(cost(sub));
        if self.exhausted || total > BASE_BUDGET {
            self.exhausted = true;
            return Spend::Exceeded { spent: self.spent };
        }
        self.spent = total;
        self.seen.insert(sub.to_string());
        Spend::Within { spent: total }
    }

    /// New names admitted so far.
    pub fn names(&self) -> usize {
        self.seen.len()
    }
}

/// What one query showed.
#[derive(Debug, Default)]
pub struct Observation {
    pub signs: Vec<String>,
    /// The name is new under a base whose budget is spent.
    pub over_budget: bool,
}

/// Per-run counters across queries, for signs that only show in aggregate.
#[derive(Default)]
pub struct Tracker {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    budgets: HashMap<String, Budget>,
    txt: HashMap<String, usize>,
}

impl Tracker {
    /// Records a query for `name` (lower case) and returns its signs. `base` is the domain whose
    /// budget the name is charged to; `spend` is false for a query that will be refused anyway
    /// (it leaves nothing, so it costs nothing, and cannot starve the real names).
    pub fn observe(&self, name: &str, qtype: &str, base: Option<&str>, spend: bool) -> Observation {
        let mut seen = Observation { signs: name_signs(name), over_budget: false };
        let is_txt = matches!(qtype, "TXT" | "NULL");
        if is_txt {
            seen.signs.push(format!("{qtype} query"));
        }
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if is_txt && let Some((_, parent)) = name.split_once('.').filter(|(_, p)| p.contains('.')) {
            let tracked = inner.txt.len() < MAX_BASES || inner.txt.contains_key(parent);
            if tracked {
                let count = inner.txt.entry(parent.to_string()).or_default();
                *count += 1;
                if *count >= TXT_FLOOD {
                    seen.signs.push(format!("{count} TXT/NULL queries under {parent}"));
                }
            }
        }
        let Some(base) = base else { return seen };
        let Some(sub) = name.strip_suffix(base).and_then(|s| s.strip_suffix('.')).filter(|s| !s.is_empty())
        else {
            return seen;
        };
        if !spend {
            return seen;
        }
        let full = inner.budgets.len() >= MAX_BASES;
        let budget = inner
            .budgets
            .entry(base.to_string())
            .or_insert_with(|| if full { Budget::spent_out() } else { Budget::default() });
        if let Spend::Exceeded { spent } = budget.spend(sub) {
            seen.over_budget = true;
            seen.signs.push(format!(
                "over the DNS name budget of {base}: {} new names ({spent} of {BASE_BUDGET} units) already admitted",
                budget.names()
            ));
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ordinary_names_are_quiet() {
        for name in [
            "api.github.com",
            "registry.npmjs.org",
            "d1a2b3c4e5f6.cloudfront.net",
            "objects.githubusercontent.com",
        ] {
            assert!(name_signs(name).is_empty(), "{name}");
            assert!(!looks_like_payload(name), "{name}");
        }
    }

    #[test]
    fn encoded_data_is_flagged() {
        let name = "mzxw6ytboi4dsmrqgeztgnbsgm2dknjwgy3tooi5gqztsnbzgq2dk5jw.a.example.com";
        assert!(looks_like_payload(name));
        assert!(name_signs(name).iter().any(|s| s.starts_with("long label")));
    }

    #[test]
    fn txt_floods_are_signed() {
        let t = Tracker::default();
        for i in 0..TXT_FLOOD {
            let seen = t.observe(&format!("x{i}.data.example"), "TXT", None, true);
            assert_eq!(seen.signs.iter().any(|s| s.contains("TXT/NULL queries")), i + 1 >= TXT_FLOOD);
        }
    }

    /// The documented bounds: exactly `BASE_BUDGET / (NAME_COST + L)` new names of length L.
    #[test]
    fn documented_bounds() {
        // Distinct names of exactly `len` characters: `i` in base 36, padded.
        let name = |mut i: usize, len: usize| {
            let digits = b"0123456789abcdefghijklmnopqrstuvwxyz";
            (0..len)
                .map(|_| {
                    let c = digits[i % 36];
                    i /= 36;
                    char::from(c)
                })
                .collect::<String>()
        };
        for (len, admitted) in [(39, 10), (16, 21), (8, 32), (3, 46)] {
            let mut b = Budget::default();
            let passed = (0..1000)
                .map(|i| name(i, len))
                .take_while(|sub| matches!(b.spend(sub), Spend::Within { .. }))
                .count();
            assert_eq!(passed, admitted, "labels of {len}");
            assert_eq!(passed, BASE_BUDGET / (NAME_COST + len));
        }
    }

    /// What a real wildcard sees: a couple of dozen ordinary hosts, asked again and again.
    #[test]
    fn ordinary_hosts_under_a_wildcard_stay_within() {
        let t = Tracker::default();
        let hosts = [
            "www",
            "api",
            "a1.cdn",
            "static",
            "assets",
            "img",
            "media",
            "us-east-1",
            "eu-west-1",
            "ap-southeast-2",
            "download",
            "objects",
            "raw",
            "codeload",
            "uploads",
            "d1a2b3c4e5f6",
            "login",
            "auth",
            "docs",
            "status",
        ];
        for _ in 0..20 {
            for host in hosts {
                let seen = t.observe(&format!("{host}.wild.example"), "A", Some("wild.example"), true);
                assert!(!seen.over_budget, "{host}: {:?}", seen.signs);
            }
        }
    }

    #[test]
    fn refused_queries_cost_nothing_and_other_bases_are_apart() {
        let t = Tracker::default();
        for i in 0..500 {
            let seen = t.observe(&format!("{i:016}.wild.example"), "TXT", Some("wild.example"), false);
            assert!(!seen.over_budget);
        }
        assert!(!t.observe("www.wild.example", "A", Some("wild.example"), true).over_budget);
        for i in 0..100 {
            t.observe(&format!("{i:016}.other.example"), "A", Some("other.example"), true);
        }
        assert!(t.observe("fresh.other.example", "A", Some("other.example"), true).over_budget);
        assert!(!t.observe("api.wild.example", "A", Some("wild.example"), true).over_budget);
    }

    fn encoded(len: std::ops::Range<usize>) -> impl Strategy<Value = String> {
        len.prop_flat_map(|n| proptest::string::string_regex(&format!("[a-z2-7]{{{n}}}")).expect("regex"))
    }

    proptest! {
        /// Any stream of distinct random labels of 8 to 39 characters, under one wildcard and
        /// over any mix of types and depths, trips within `BASE_BUDGET / (NAME_COST + 8) + 1`
        /// queries, and every later new name is over budget too.
        #[test]
        fn random_labels_trip_within_the_bound(
            labels in proptest::collection::hash_set(encoded(8..40), 40..80),
            txt in any::<bool>(),
            deep in any::<bool>(),
        ) {
            let t = Tracker::default();
            let bound = BASE_BUDGET / (NAME_COST + 8) + 1;
            let qtype = if txt { "TXT" } else { "A" };
            let mut tripped_at = None;
            for (i, label) in labels.iter().enumerate() {
                let name = if deep { format!("{label}.x.wild.example") } else { format!("{label}.wild.example") };
                let seen = t.observe(&name, qtype, Some("wild.example"), true);
                match tripped_at {
                    None if seen.over_budget => tripped_at = Some(i + 1),
                    Some(_) => prop_assert!(seen.over_budget, "stays tripped"),
                    None => {}
                }
            }
            let at = tripped_at.expect("tripped");
            prop_assert!(at <= bound, "tripped at {at}, bound {bound}");
        }

        /// Repeating names never costs more, and what was admitted stays admitted.
        #[test]
        fn repeats_are_free(subs in proptest::collection::vec("[a-z0-9]{1,20}", 1..200)) {
            let mut b = Budget::default();
            let mut admitted = HashSet::new();
            for sub in &subs {
                match b.spend(sub) {
                    Spend::Within { .. } => { admitted.insert(sub.clone()); }
                    Spend::Known => prop_assert!(admitted.contains(sub)),
                    Spend::Exceeded { spent } => prop_assert!(spent + cost(sub) > BASE_BUDGET || b.exhausted),
                }
            }
            let spent: usize = admitted.iter().map(|s| cost(s)).sum();
            prop_assert!(spent <= BASE_BUDGET);
            for sub in &admitted {
                prop_assert_eq!(b.spend(sub), Spend::Known);
            }
        }
    }
}
