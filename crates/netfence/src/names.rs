//! Policy questions the fence asks that the policy crate answers per (host, port): whether a
//! name may be resolved at all (DNS carries no port), and which loopback ports are host services.

use std::collections::BTreeSet;

use policy::{Decision, Policy, Target};

/// Ports any rule of the policy mentions; a rule without ports stands for every port and is
/// asked about as 443 (the default for a bare host).
fn rule_ports(policy: &Policy) -> BTreeSet<u16> {
    let mut ports: BTreeSet<u16> = BTreeSet::from([443]);
    for rule in &policy.egress.allow {
        ports.extend(rule.ports.iter().flatten().copied());
    }
    for preset in &policy.presets {
        for (_, preset_ports) in preset.patterns() {
            ports.extend(preset_ports.iter().copied());
        }
    }
    ports
}

/// May `name` be resolved? Yes when the policy allows it on at least one port; the decision
/// names the first allowing rule, or the refusal for 443.
pub fn dns_decision(policy: &Policy, name: &str) -> Decision {
    let mut refusal = None;
    for port in rule_ports(policy) {
        let decision = policy.egress_decision(name, port);
        if decision.allowed {
            return decision;
        }
        if port == 443 || refusal.is_none() {
            refusal = Some(decision);
        }
    }
    refusal.unwrap_or_else(|| policy.egress_decision(name, 443))
}

/// The domain whose DNS name budget `name` is charged to: the fixed part of the most specific
/// wildcard of the policy that matches it (`wild.example` for `*.wild.example`), else its last two
/// labels (an unlisted name, forwarded only in audit mode). `None` for a name with fewer labels.
pub fn budget_base(policy: &Policy, name: &str) -> Option<String> {
    let rules = policy.egress.allow.iter().filter_map(|r| match &r.target {
        Target::Host(p) => Some(p.clone()),
        Target::Cidr(_) => None,
    });
    let presets = policy.presets.iter().flat_map(|p| p.patterns().map(|(pattern, _)| pattern));
    let by_wildcard = rules
        .chain(presets)
        .filter(|p| p.is_wildcard() && p.matches(name))
        .filter_map(|p| p.as_str().rsplit_once("*.").map(|(_, fixed)| fixed.to_string()))
        .max_by_key(String::len);
    by_wildcard.or_else(|| {
        let labels: Vec<&str> = name.rsplitn(3, '.').collect();
        (labels.len() == 3).then(|| format!("{}.{}", labels[1], labels[0]))
    })
}

/// Loopback ports the policy allows (`{ host: localhost, ports: [...] }` or a `cidr:` rule
/// covering 127.0.0.1): TCP to them from the fence is proxied to the host's loopback.
pub fn host_service_ports(policy: &Policy) -> Vec<u16> {
    let loopback = "127.0.0.1".parse().expect("literal address");
    let mut ports = BTreeSet::new();
    for rule in &policy.egress.allow {
        let Some(rule_ports) = &rule.ports else { continue };
        let about_loopback = match &rule.target {
            Target::Cidr(cidr) => cidr.contains(loopback),
            Target::Host(pattern) => pattern.matches("localhost"),
        };
        if about_loopback {
            ports.extend(rule_ports.iter().copied().filter(|p| host_service_decision(policy, *p).allowed));
        }
    }
    ports.into_iter().collect()
}

/// The decision for a connection to the host's own loopback on `port`.
pub fn host_service_decision(policy: &Policy, port: u16) -> Decision {
    let by_cidr = policy.cidr_decision("127.0.0.1".parse().expect("literal address"), port);
    if by_cidr.allowed {
        return by_cidr;
    }
    let by_name = policy.egress_decision("localhost", port);
    if by_name.allowed { by_name } else { by_cidr }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(text: &str) -> Policy {
        policy::parse(text, "ringfence.yml").unwrap()
    }

    #[test]
    fn names_allowed_on_any_port_resolve() {
        let p = policy(
            "version: 1\negress:\n  allow:\n    - { host: git.example, ports: [22] }\n    - \"*.cdn.example\"\n  deny: [bad.cdn.example]\n",
        );
        assert!(dns_decision(&p, "git.example").allowed);
        assert_eq!(dns_decision(&p, "git.example").rule, "allow git.example:22");
        assert!(dns_decision(&p, "x.cdn.example").allowed);
        assert!(!dns_decision(&p, "bad.cdn.example").allowed);
        assert_eq!(dns_decision(&p, "evil.example").rule, "default-deny");
    }

    #[test]
    fn budgets_are_kept_per_wildcard() {
        let p = policy(
            "version: 1\negress:\n  allow: [\"*.cdn.example\", \"**.deep.example\", \"api.*.multi.example\"]\n",
        );
        assert_eq!(budget_base(&p, "a1.cdn.example").as_deref(), Some("cdn.example"));
        assert_eq!(budget_base(&p, "x.y.z.deep.example").as_deref(), Some("deep.example"));
        assert_eq!(budget_base(&p, "api.eu.multi.example").as_deref(), Some("multi.example"));
        assert_eq!(budget_base(&p, "a.b.unlisted.example").as_deref(), Some("unlisted.example"));
        assert_eq!(budget_base(&p, "localhost"), None);
    }

    #[test]
    fn host_services_from_either_form() {
        let p = policy(
            "version: 1\negress:\n  allow:\n    - { host: localhost, ports: [5432] }\n    - { cidr: 127.0.0.1/32, ports: [6379] }\n    - { cidr: 10.0.0.0/8, ports: [80] }\n",
        );
        assert_eq!(host_service_ports(&p), vec![5432, 6379]);
        assert!(host_service_decision(&p, 5432).allowed);
        assert!(!host_service_decision(&p, 22).allowed);
    }
}
