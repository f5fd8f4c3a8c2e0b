//! Property tests for host matching and for the parser's robustness.

use policy::{HostPattern, Policy};
use proptest::prelude::*;

fn label() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,10}[a-z0-9]".prop_map(|s| s)
}

/// A registrable-looking domain: two or three labels under a fixed, non-public-suffix parent.
fn domain() -> impl Strategy<Value = String> {
    prop::collection::vec(label(), 1..3).prop_map(|ls| format!("{}.example.com", ls.join(".")))
}

fn random_case(s: &str, flips: &[bool]) -> String {
    s.chars().zip(flips.iter().cycle()).map(|(c, up)| if *up { c.to_ascii_uppercase() } else { c }).collect()
}

proptest! {
    #[test]
    fn a_name_matches_its_own_literal_pattern(name in domain(), flips in prop::collection::vec(any::<bool>(), 1..8), dot in any::<bool>()) {
        let pattern = HostPattern::parse(&name).unwrap();
        let mut variant = random_case(&name, &flips);
        if dot { variant.push('.'); }
        prop_assert!(pattern.matches(&variant));
        let upper = HostPattern::parse(&name.to_ascii_uppercase()).unwrap();
        prop_assert_eq!(upper, pattern);
    }

    #[test]
    fn one_label_wildcard_matches_exactly_one_extra_label(suffix in domain(), extra in prop::collection::vec(label(), 0..4)) {
        let pattern = HostPattern::parse(&format!("*.{suffix}")).unwrap();
        let name = if extra.is_empty() { suffix.clone() } else { format!("{}.{suffix}", extra.join(".")) };
        prop_assert_eq!(pattern.matches(&name), extra.len() == 1);
    }

    #[test]
    fn any_depth_wildcard_matches_one_or_more_labels(suffix in domain(), extra in prop::collection::vec(label(), 0..5)) {
        let pattern = HostPattern::parse(&format!("**.{suffix}")).unwrap();
        let name = if extra.is_empty() { suffix.clone() } else { format!("{}.{suffix}", extra.join(".")) };
        prop_assert_eq!(pattern.matches(&name), !extra.is_empty());
    }

    #[test]
    fn wildcards_never_match_outside_their_suffix(suffix in domain(), other in domain(), l in label()) {
        prop_assume!(!other.ends_with(&format!(".{suffix}")) && other != suffix);
        let pattern = HostPattern::parse(&format!("**.{suffix}")).unwrap();
        let outside = format!("{l}.{other}");
        prop_assert!(!pattern.matches(&outside));
        // A label that merely ends with the suffix's text is a different name.
        let glued = format!("{l}{suffix}");
        prop_assert!(!pattern.matches(&glued));
    }

    #[test]
    fn deny_beats_allow(name in domain(), port in 1u16..) {
        let text = format!(
            "version: 1\negress:\n  allow: [\"**.example.com\", {{ host: \"{name}\", ports: [{port}] }}]\n  deny: [\"{name}\"]\n"
        );
        let p = policy::parse(&text, "p.yml").unwrap();
        let d = p.egress_decision(&name, port);
        prop_assert!(!d.allowed);
        prop_assert_eq!(d.rule, format!("deny {name}"));
    }

    #[test]
    fn suggest_round_trips(hosts in prop::collection::vec((domain(), 1u16..), 0..6)) {
        let text = Policy::suggest(&hosts);
        let p = policy::parse(&text, "s.yml").unwrap();
        for (h, port) in &hosts {
            prop_assert!(p.egress_decision(h, *port).allowed);
        }
    }

    #[test]
    fn parse_never_panics_on_arbitrary_text(text in "\\PC{0,200}") {
        let _ = policy::parse(&text, "fuzz.yml");
    }

    #[test]
    fn parse_never_panics_on_yaml_like_text(text in "[a-z:\\-\\[\\]{}, \n\"'*&!|>#0-9.]{0,300}") {
        let _ = policy::parse(&text, "fuzz.yml");
    }

    #[test]
    fn pattern_parse_never_panics(text in "\\PC{0,80}") {
        if let Ok(p) = HostPattern::parse(&text) {
            let _ = p.matches(&text);
        }
    }
}

proptest! {
    /// Mutations of a complete, valid policy reach deep into every section's validation.
    #[test]
    fn parse_never_panics_on_mutated_policies(edits in prop::collection::vec((any::<prop::sample::Index>(), "\\PC{0,3}", 0usize..4), 1..6)) {
        let mut text: Vec<char> = include_str!("fixtures/full.yml").chars().collect();
        for (at, insert, delete) in edits {
            let i = at.index(text.len() + 1);
            let end = (i + delete).min(text.len());
            text.splice(i..end, insert.chars());
        }
        let text: String = text.into_iter().collect();
        if let Ok(p) = policy::parse(&text, "mutated.yml") {
            // Whatever parses must render to text that parses again.
            prop_assert!(policy::parse(&p.to_yaml(), "rendered.yml").is_ok());
        }
    }
}
