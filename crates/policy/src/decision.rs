//! Egress decisions: pure functions of (policy, destination), so the proxy and DNS server only
//! ask and enforce.

use std::net::IpAddr;

use crate::hosts::normalize_name;
use crate::schema::{Policy, Rule, Target};

/// The answer for one destination, naming the rule that decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// The matching rule's text (`allow *.example.com:443`, `deny gist.githubusercontent.com`,
    /// `preset github@2026-11`), or `default-deny` / `invalid-host`.
    pub rule: String,
}

impl Decision {
    fn allow(rule: String) -> Self {
        Decision { allowed: true, rule }
    }

    fn deny(rule: impl Into<String>) -> Self {
        Decision { allowed: false, rule: rule.into() }
    }
}

impl Policy {
    /// May the agent connect to `host` on `port`? Deny rules beat allow rules and presets; no
    /// match means `default-deny`. The mode is not consulted: audit mode records the same answer.
    pub fn egress_decision(&self, host: &str, port: u16) -> Decision {
        let Ok(name) = normalize_name(host) else {
            return Decision::deny("invalid-host");
        };
        let host_rule = |rule: &&Rule| {
            rule.allows_port(port) && matches!(&rule.target, Target::Host(p) if p.matches_normalized(&name))
        };
        if let Some(rule) = self.egress.deny.iter().find(host_rule) {
            return Decision::deny(rule.text.clone());
        }
        if let Some(rule) = self.egress.allow.iter().find(host_rule) {
            return Decision::allow(rule.text.clone());
        }
        for preset in &self.presets {
            if preset.patterns().any(|(p, ports)| ports.contains(&port) && p.matches_normalized(&name)) {
                return Decision::allow(preset.rule_text());
            }
        }
        Decision::deny("default-deny")
    }

    /// For a refused `host`: the rule text when a preset names it optional (its agent works
    /// without it), so the refusal is journaled but is no violation.
    pub fn optional_refusal(&self, host: &str) -> Option<String> {
        let name = normalize_name(host).ok()?;
        self.presets
            .iter()
            .find(|preset| preset.optional_patterns().any(|p| p.matches_normalized(&name)))
            .map(|preset| format!("{} optional", preset.rule_text()))
    }

    /// May the agent connect to the address `ip` directly (no name)? Only `cidr:` rules apply.
    pub fn cidr_decision(&self, ip: IpAddr, port: u16) -> Decision {
        // An IPv4-mapped IPv6 address is the IPv4 host; judge it as such so `::ffff:10.0.0.1`
        // cannot slip past a `deny` on 10.0.0.0/8.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let cidr_rule = |rule: &&Rule| {
            rule.allows_port(port) && matches!(&rule.target, Target::Cidr(c) if c.contains(ip))
        };
        if let Some(rule) = self.egress.deny.iter().find(cidr_rule) {
            return Decision::deny(rule.text.clone());
        }
        match self.egress.allow.iter().find(cidr_rule) {
            Some(rule) => Decision::allow(rule.text.clone()),
            None => Decision::deny("default-deny"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    const POLICY: &str = "version: 1
presets: [npm]
egress:
  allow:
    - api.anthropic.com
    - \"*.githubusercontent.com.example\"
    - { host: github.com, ports: [443, 22] }
    - { cidr: 10.0.0.0/8, ports: [5432] }
    - { host: localhost, ports: [5432] }
  deny: [bad.githubusercontent.com.example, { cidr: 10.9.0.0/16 }]
  allowed-endpoints: |
    api.github.com:443
    *.pkg.example:8443
";

    fn policy() -> Policy {
        parse(POLICY, "ringfence.yml").unwrap()
    }

    #[test]
    fn optional_hosts_are_refused_quietly_unless_allowed() {
        let p = parse("version: 1\npresets: [codex]\negress:\n  allow: [github.com]\n", "p.yml").unwrap();
        assert!(p.egress_decision("api.openai.com", 443).allowed);
        let chatgpt = p.egress_decision("chatgpt.com", 443);
        assert!(!chatgpt.allowed);
        assert_eq!(p.optional_refusal("ChatGPT.com."), Some("preset codex@2026-12 optional".into()));
        // Allowed by a rule: allowed, whatever the preset says.
        assert!(p.egress_decision("github.com", 443).allowed);
        assert_eq!(p.optional_refusal("exfil.example"), None);
        assert_eq!(policy().optional_refusal("chatgpt.com"), None, "only the codex preset names it");
    }

    #[test]
    fn host_decisions_name_their_rule() {
        let p = policy();
        assert_eq!(
            p.egress_decision("api.anthropic.com", 443),
            Decision::allow("allow api.anthropic.com:443".into())
        );
        assert!(!p.egress_decision("api.anthropic.com", 80).allowed);
        assert!(p.egress_decision("GitHub.com.", 22).allowed);
        assert!(p.egress_decision("raw.githubusercontent.com.example", 443).allowed);
        assert_eq!(
            p.egress_decision("bad.githubusercontent.com.example", 443).rule,
            "deny bad.githubusercontent.com.example"
        );
        assert!(!p.egress_decision("bad.githubusercontent.com.example", 443).allowed);
        assert_eq!(p.egress_decision("registry.npmjs.org", 443).rule, "preset npm@2026-11");
        assert_eq!(p.egress_decision("a.pkg.example", 8443).rule, "allowed-endpoints *.pkg.example:8443");
        assert_eq!(p.egress_decision("evil.com", 443), Decision::deny("default-deny"));
        assert_eq!(p.egress_decision("not a host", 443), Decision::deny("invalid-host"));
        assert!(p.egress_decision("localhost", 5432).allowed);
    }

    #[test]
    fn cidr_decisions() {
        let p = policy();
        assert!(p.cidr_decision("10.1.2.3".parse().unwrap(), 5432).allowed);
        assert!(!p.cidr_decision("10.1.2.3".parse().unwrap(), 443).allowed);
        assert!(!p.cidr_decision("10.9.2.3".parse().unwrap(), 5432).allowed);
        assert!(!p.cidr_decision("::ffff:10.9.2.3".parse().unwrap(), 5432).allowed);
        assert!(p.cidr_decision("::ffff:10.1.2.3".parse().unwrap(), 5432).allowed);
        assert_eq!(p.cidr_decision("8.8.8.8".parse().unwrap(), 53).rule, "default-deny");
    }

    #[test]
    fn default_policy_allows_nothing() {
        let p = Policy::default();
        assert!(!p.egress_decision("api.github.com", 443).allowed);
        assert!(!p.cidr_decision("127.0.0.1".parse().unwrap(), 80).allowed);
    }
}
