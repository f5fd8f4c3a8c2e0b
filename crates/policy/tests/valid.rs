//! The full schema example loads into the expected typed policy and round-trips.

use std::path::Path;
use std::time::Duration;

use policy::{Mode, Policy, Target, UserSpec};

fn full() -> Policy {
    policy::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/full.yml")).unwrap()
}

#[test]
fn full_example_loads() {
    let p = full();
    assert_eq!(p.mode, Mode::Block);
    assert_eq!(p.presets.iter().map(|p| p.name).collect::<Vec<_>>(), ["github", "anthropic", "npm"]);
    assert_eq!(p.egress.allow.len(), 6 + 3);
    assert!(matches!(p.egress.allow[3].target, Target::Cidr(_)));
    assert_eq!(p.egress.allow[5].ports, Some(vec![8443]));
    assert_eq!(p.egress.deny[0].ports, None);
    assert_eq!(p.egress.unix_sockets, [Path::new("/run/postgresql/.s.PGSQL.5432")]);
    assert_eq!(p.dns.upstream[0].to_string(), "1.1.1.1:53");
    assert_eq!(p.dns.types.len(), 2);
    assert_eq!(p.dns.types[1].types, ["MX", "TXT"]);
    assert!(p.dns.listed_type("_acme-challenge.example.com", "TXT").is_some());
    assert!(p.dns.listed_type("in.mail.example.com", "MX").is_some());
    assert!(p.dns.listed_type("_acme-challenge.example.com", "MX").is_none());
    assert!(p.dns.listed_type("example.com", "TXT").is_none());
    assert_eq!(p.inspect["api.github.com"].routes.len(), 2);
    assert_eq!(p.secrets["GITHUB_TOKEN"].hosts.len(), 2);
    assert!(p.secrets["GITHUB_TOKEN"].inject.is_empty());
    assert_eq!(
        p.secrets["GOOGLE_KEY"].inject,
        [policy::Position::Query("key".into()), policy::Position::Header("x-goog-api-key".into())]
    );
    assert_eq!(p.files.deny_read.len(), 3);
    assert_eq!(p.files.protected, ["${workspace}/.windsurf"]);
    assert_eq!(p.user, Some(UserSpec::Uid(1001)));
    assert_eq!(p.limits.wall, Some(Duration::from_secs(1800)));
    assert_eq!(p.limits.pids, Some(1024));
    assert_eq!(p.limits.egress_bytes, Some(200 << 20));
    assert_eq!(p.budget["anthropic"].max_usd, Some(10.0));
    assert!(p.env_allowed("MY_VAR") && p.env_allowed("LC_ALL"));
    assert!(!p.env_allowed("GITHUB_TOKEN") && !p.env_allowed("ANTHROPIC_API_KEY"));
}

#[test]
fn full_example_decisions() {
    let p = full();
    assert!(p.egress_decision("objects.githubusercontent.example", 443).allowed);
    assert!(!p.egress_decision("gist.githubusercontent.example", 443).allowed);
    assert!(!p.egress_decision("githubusercontent.example", 443).allowed, "apex not implied");
    assert!(p.egress_decision("github.com", 22).allowed);
    assert_eq!(p.egress_decision("codeload.github.com", 443).rule, "preset github@2026-11");
    assert_eq!(p.egress_decision("a.pkg.example.org", 443).rule, "allowed-endpoints *.pkg.example.org:443");
    assert!(p.cidr_decision("10.2.3.4".parse().unwrap(), 5432).allowed);
}

#[test]
fn to_yaml_round_trips() {
    let p = full();
    let text = p.to_yaml();
    let again = policy::parse(&text, "rendered.yml").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(again.to_yaml(), text);
    assert_eq!(again.presets, p.presets);
    assert_eq!(again.secrets, p.secrets);
    assert_eq!(again.limits, p.limits);
    assert_eq!(again.budget, p.budget);
    assert_eq!(
        again.egress.allow.iter().map(|r| &r.target).collect::<Vec<_>>(),
        p.egress.allow.iter().map(|r| &r.target).collect::<Vec<_>>()
    );
    for host in
        ["api.github.com", "github.com", "x.githubusercontent.example", "gist.githubusercontent.example"]
    {
        for port in [22, 443, 8443] {
            assert_eq!(
                again.egress_decision(host, port).allowed,
                p.egress_decision(host, port).allowed,
                "{host}:{port}"
            );
        }
    }
}

#[test]
fn default_policy_is_safe_and_renders() {
    let p = Policy::default();
    assert_eq!(p.mode, Mode::Block);
    assert!(!p.egress_decision("api.github.com", 443).allowed);
    assert_eq!(policy::parse(&p.to_yaml(), "default.yml").unwrap(), p);
    assert_eq!(policy::parse("version: 1\n", "min.yml").unwrap(), p);
}

#[test]
fn suggest_proposes_exactly_what_was_seen() {
    let seen = [
        ("api.github.com".to_string(), 443),
        ("API.GitHub.com.".to_string(), 443),
        ("github.com".to_string(), 22),
        ("github.com".to_string(), 443),
        ("10.1.2.3".to_string(), 5432),
        ("evil\n  - \"*\"".to_string(), 443),
    ];
    let text = Policy::suggest(&seen);
    let p = policy::parse(&text, "suggested.yml").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(p.mode, Mode::Block);
    assert_eq!(p.egress.allow.len(), 3, "{text}");
    assert!(p.egress_decision("api.github.com", 443).allowed);
    assert!(p.egress_decision("github.com", 22).allowed);
    assert!(!p.egress_decision("api.github.com", 22).allowed);
    assert!(p.cidr_decision("10.1.2.3".parse().unwrap(), 5432).allowed);
    assert!(!p.egress_decision("other.example", 443).allowed);
    insta::assert_snapshot!(text);
}

#[test]
fn passthrough_and_cleartext_secrets_are_per_host_switches_that_round_trip() {
    let text = "version: 1
inspect:
  pinned.example.com: { passthrough: true }
  plain.example.com: { cleartext_secrets: true }
  api.github.com: { routes: [\"GET /**\"] }
";
    let p = policy::parse(text, "t.yml").unwrap();
    assert_eq!(p.passthrough.iter().map(|h| h.as_str()).collect::<Vec<_>>(), ["pinned.example.com"]);
    assert_eq!(p.cleartext_secrets.iter().map(|h| h.as_str()).collect::<Vec<_>>(), ["plain.example.com"]);
    assert!(!p.inspect.contains_key("pinned.example.com"), "a passthrough host has no route rules");
    assert!(p.inspect.contains_key("plain.example.com"));
    let again = policy::parse(&p.to_yaml(), "rendered.yml").unwrap();
    assert_eq!(again, p);
    for bad in [
        "version: 1\ninspect:\n  a.example.com: { passthrough: true, routes: [\"GET /**\"] }\n",
        "version: 1\ninspect:\n  a.example.com: { passthrough: yes }\n",
        "version: 1\ninspect:\n  a.example.com: { passthrough: true, cleartext_secrets: true }\n",
    ] {
        assert!(policy::parse(bad, "bad.yml").is_err(), "{bad}");
    }
}

#[test]
fn gate_section_loads_with_defaults_and_round_trips() {
    let text = "version: 1\ngate:\n  roles: [admin, maintain, write]\n  users: [\"release-helper[bot]\"]\n  budget:\n    per_actor_daily_runs: 3\n  store: \"sqlite:PATH\"\n";
    let p = policy::parse(text, "gate.yml").unwrap();
    let gate = p.gate.clone().unwrap();
    assert_eq!(gate.roles, vec![policy::Role::Admin, policy::Role::Maintain, policy::Role::Write]);
    assert_eq!(gate.users, vec!["release-helper[bot]".to_string()]);
    assert_eq!(gate.budget.per_actor_daily_runs, Some(3));
    assert_eq!(gate.budget.per_repo_daily_runs, None);
    assert_eq!(gate.store, Some(policy::GateStore::Sqlite("PATH".into())));
    assert_eq!(gate.timeout, policy::DEFAULT_GATE_TIMEOUT);
    assert_eq!(policy::parse(&p.to_yaml(), "rendered.yml").unwrap(), p);

    let minimal = policy::parse("version: 1\ngate: {}\n", "g.yml").unwrap().gate.unwrap();
    assert_eq!(minimal.roles, policy::DEFAULT_GATE_ROLES);
    assert_eq!(minimal.store, None);
    let pg =
        policy::parse("version: 1\ngate: { store: \"postgres://gate@db/gate\", timeout: 2s }\n", "g.yml")
            .unwrap()
            .gate
            .unwrap();
    assert_eq!(pg.store, Some(policy::GateStore::Postgres("postgres://gate@db/gate".into())));
    assert_eq!(pg.timeout, std::time::Duration::from_secs(2));
    let usd = policy::parse(
        "version: 1\ngate:\n  budget: { per_actor_daily_usd: 2.5, per_repo_daily_usd: 40 }\n  store: \"sqlite:g.db\"\n",
        "g.yml",
    )
    .unwrap();
    let b = &usd.gate.as_ref().unwrap().budget;
    assert_eq!(
        (b.per_actor_daily_usd, b.per_repo_daily_usd, b.per_actor_daily_runs),
        (Some(2.5), Some(40.0), None)
    );
    assert_eq!(policy::parse(&usd.to_yaml(), "rendered.yml").unwrap(), usd);
    assert_eq!(policy::parse("version: 1\n", "g.yml").unwrap().gate, None);
}

#[test]
fn the_reference_example_in_docs_policy_md_loads() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/policy.md")).unwrap();
    let start = doc.find("```yaml\n").unwrap() + "```yaml\n".len();
    let end = start + doc[start..].find("```").unwrap();
    let p = policy::parse(&doc[start..end], "docs/policy.md").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.gate.unwrap().budget.per_actor_daily_runs, Some(3));
}

#[test]
fn tools_rules_load_with_their_defaults() {
    let p = policy::parse(
        "version: 1\ntools:\n  bash:\n    deny: [curl, wget, nc, ssh, \"git push\", \"gh gist\"]\n    allow: [git, cargo]\n  write:\n    deny: [\".github/workflows/**\"]\n  deny: [\"mcp__github__*\"]\n",
        "t.yml",
    )
    .unwrap();
    let t = &p.tools;
    assert_eq!(t.bash.deny.len(), 6);
    assert_eq!(
        t.bash.deny[4],
        policy::CommandRule { program: "git".into(), subcommand: vec!["push".into()] }
    );
    assert_eq!(t.bash.deny[4].to_string(), "git push");
    assert_eq!(t.bash.otherwise, policy::ToolVerdict::Ask);
    assert_eq!(t.unseen, policy::ToolVerdict::Deny);
    assert_eq!(t.write.deny, vec![".github/workflows/**".to_string()]);
    assert_eq!(t.deny_tools, vec!["mcp__github__*".to_string()]);
    assert_eq!(policy::Policy::default().tools, policy::Tools::default());
    // A rendered policy (a suggestion built from it, say) keeps its tool rules.
    assert_eq!(policy::parse(&p.to_yaml(), "rendered.yml").unwrap(), p);
    let every = policy::parse(
        "version: 1\ntools:\n  bash: { ask: [rm], allow: [git], otherwise: deny }\n  read: { deny: [\"~/.ssh/**\"], ask: [\"**/.env\"] }\n  ask: [\"mcp__*\"]\n  unseen: ask\n  log: /var/log/hook.jsonl\n",
        "t.yml",
    )
    .unwrap();
    assert_eq!(policy::parse(&every.to_yaml(), "rendered.yml").unwrap(), every, "{}", every.to_yaml());
}
