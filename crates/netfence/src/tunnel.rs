//! Signs of DNS tunnelling. In block mode unlisted names never leave ringfence, but an allowed
//! wildcard (`*.example.com`) still admits names the agent invents, and audit mode forwards
//! everything; these heuristics flag what exfiltration over DNS looks like.

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
/// Distinct subdomains of one parent before it counts as enumeration.
pub const MANY_SUBDOMAINS: usize = 50;

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

/// Per-parent counters across the run, for signs that only show in aggregate.
#[derive(Default)]
pub struct Tracker {
    inner: Mutex<HashMap<String, Parent>>,
}

#[derive(Default)]
struct Parent {
    txt: usize,
    children: HashSet<String>,
}

impl Tracker {
    /// Records a query and returns every sign it shows, the name's own and the aggregate ones.
    pub fn observe(&self, name: &str, qtype: &str) -> Vec<String> {
        let mut signs = name_signs(name);
        if matches!(qtype, "TXT" | "NULL") {
            signs.push(format!("{qtype} query"));
        }
        let Some((child, parent)) = name.split_once('.') else { return signs };
        if !parent.contains('.') {
            // A parent that is a bare TLD says nothing; every name is its child.
            return signs;
        }
        let mut parents = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let entry = parents.entry(parent.to_string()).or_default();
        if matches!(qtype, "TXT" | "NULL") {
            entry.txt += 1;
            if entry.txt >= TXT_FLOOD {
                signs.push(format!("{} TXT/NULL queries under {parent}", entry.txt));
            }
        }
        if entry.children.len() < 10 * MANY_SUBDOMAINS {
            entry.children.insert(child.to_string());
        }
        if entry.children.len() >= MANY_SUBDOMAINS {
            signs.push(format!("{} distinct subdomains of {parent}", entry.children.len()));
        }
        signs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn aggregate_signs() {
        let t = Tracker::default();
        for i in 0..TXT_FLOOD {
            let signs = t.observe(&format!("x{i}.data.example"), "TXT");
            assert_eq!(signs.iter().any(|s| s.contains("TXT/NULL queries")), i + 1 >= TXT_FLOOD);
        }
        for i in 0..MANY_SUBDOMAINS {
            let signs = t.observe(&format!("s{i}.spread.example"), "A");
            assert_eq!(signs.iter().any(|s| s.contains("distinct subdomains")), i + 1 >= MANY_SUBDOMAINS);
        }
    }
}
