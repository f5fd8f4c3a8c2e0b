//! Harden-Runner's `allowed-endpoints` string, accepted as-is so existing workflows move over.
//!
//! The format is `host:port` entries separated by spaces or newlines (`api.github.com:443
//! github.com:443`), with `*.example.com:443` wildcards. A missing port means 443, as in
//! Harden-Runner. Wildcards follow ringfence's label-aware rules, so `*.example.com` is one label.

use crate::hosts::{HostError, HostPattern};

/// One parsed entry, with the text it came from (for error positions and rule names).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Endpoint {
    pub pattern: HostPattern,
    pub port: u16,
    pub text: String,
}

/// Parses the whole string; an error names the entry that failed.
pub(crate) fn parse_allowed_endpoints(text: &str) -> Result<Vec<Endpoint>, (String, HostError)> {
    text.split_whitespace()
        // Harden-Runner users sometimes separate with commas; treat them as spaces.
        .flat_map(|chunk| chunk.split(','))
        .filter(|entry| !entry.is_empty())
        .map(|entry| parse_entry(entry).map_err(|e| (entry.to_string(), e)))
        .collect()
}

impl crate::Policy {
    /// `--allow host[:port]` on the command line (port 443 when left out), added to
    /// `egress.allow` and named `--allow host:port` in decisions.
    pub fn allow_from_flag(&mut self, entry: &str) -> Result<(), HostError> {
        let ep = parse_entry(entry)?;
        self.egress.allow.push(crate::Rule {
            text: format!("--allow {}:{}", ep.pattern, ep.port),
            target: crate::Target::Host(ep.pattern),
            ports: Some(vec![ep.port]),
        });
        Ok(())
    }
}

fn parse_entry(entry: &str) -> Result<Endpoint, HostError> {
    let (host, port) = match entry.rsplit_once(':') {
        Some((host, port)) if !entry.contains('/') => (host, parse_port(port)?),
        _ => (entry, 443),
    };
    let pattern = HostPattern::parse(host)?;
    Ok(Endpoint { pattern, port, text: entry.to_string() })
}

/// Parses a port written as text; 0 and values above 65535 are refused.
pub(crate) fn parse_port(text: &str) -> Result<u16, HostError> {
    match text.parse::<u32>() {
        Ok(p) if (1..=65535).contains(&p) => Ok(p as u16),
        _ => Err(HostError {
            message: format!("`{text}` is not a port"),
            help: "ports are whole numbers from 1 to 65535".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_flags_add_a_named_rule() {
        let mut p = crate::Policy::default();
        p.allow_from_flag("api.anthropic.com").unwrap();
        p.allow_from_flag("github.com:22").unwrap();
        assert!(p.egress_decision("api.anthropic.com", 443).allowed);
        assert_eq!(p.egress_decision("github.com", 22).rule, "--allow github.com:22");
        assert!(!p.egress_decision("github.com", 443).allowed);
        assert!(p.allow_from_flag("*.com").is_err());
        assert!(p.allow_from_flag("x.test:99999").is_err());
    }

    #[test]
    fn harden_runner_strings() {
        let eps =
            parse_allowed_endpoints("api.github.com:443\n  github.com:443 *.npmjs.org:443\nx.com").unwrap();
        let got: Vec<_> = eps.iter().map(|e| (e.pattern.as_str(), e.port)).collect();
        assert_eq!(got, [("api.github.com", 443), ("github.com", 443), ("*.npmjs.org", 443), ("x.com", 443)]);
        assert!(parse_allowed_endpoints("").unwrap().is_empty());
        assert_eq!(parse_allowed_endpoints("a.com:443,b.com:80").unwrap().len(), 2);
    }

    #[test]
    fn bad_entries_are_named() {
        let (entry, e) = parse_allowed_endpoints("ok.com:443 bad.com:0").unwrap_err();
        assert_eq!(entry, "bad.com:0");
        assert!(e.message.contains("not a port"));
        assert!(parse_allowed_endpoints("*.com:443").is_err());
        assert!(parse_allowed_endpoints("x.com:99999").is_err());
    }
}
