//! The Secrets & API sections and the violations they add: grouping, totals, attribution and
//! the order a reviewer reads them in.

mod common;

use report::{RunReport, ViolationKind, ViolationVerdict};

fn build(f: common::Fixture) -> RunReport {
    RunReport::from_journal(&f.verified())
}

#[test]
fn exfiltration_is_read_first_and_names_the_process() {
    let r = build(common::api_run());
    let order: Vec<ViolationKind> = r.violations_in_reading_order().iter().map(|v| v.kind).collect();
    assert_eq!(order[0], ViolationKind::Secret);
    assert_eq!(order[1..3], [ViolationKind::Budget, ViolationKind::Budget]);
    assert_eq!(*order.last().unwrap(), ViolationKind::Network, "the kernel-seen attempt comes last");
    let first = r.violations_in_reading_order()[0];
    assert_eq!(first.what, "tried to send ANTHROPIC_API_KEY's sentinel to exfil.test in header x-api-key");
    assert_eq!(first.exe.as_deref(), Some("/usr/bin/curl"));
    assert!(r.warnings.is_empty(), "run.end's violation count matches: {:?}", r.warnings);
    assert_eq!(
        r.violations.windows(2).filter(|w| w[0].seq > w[1].seq).count(),
        0,
        "json keeps journal order"
    );
}

#[test]
fn usage_and_budget_add_up() {
    let r = build(common::api_run());
    let sonnet = r.api.usage.iter().find(|u| u.model == common::SONNET).unwrap();
    assert_eq!((sonnet.requests, sonnet.tokens.input, sonnet.tokens.output), (2, 26_000, 1_910));
    assert_eq!(sonnet.usd, 0.3096);
    let budget = &r.api.budgets[0];
    assert_eq!((budget.tokens, budget.max_tokens, budget.refused), (41_230, Some(40_000), 1));
    assert!(budget.exceeded);
    let md = report::render_markdown(&r);
    assert!(
        md.contains("**Budget** anthropic: 41,230 of 40,000 tokens, $0.31 of $10.00 cap — **cap reached**")
    );
}

#[test]
fn hosts_count_status_classes_and_injected_names() {
    let r = build(common::api_run());
    let anthropic = r.api.hosts.iter().find(|h| h.host == "api.anthropic.com").unwrap();
    assert_eq!((anthropic.status.success, anthropic.status.client_error), (3, 1));
    assert_eq!(anthropic.injected[0].name, "ANTHROPIC_API_KEY");
    assert_eq!(anthropic.injected[0].count, 3);
    let gist = r.api.requests.iter().find(|q| q.path == "/gists").unwrap();
    assert_eq!(r.processes[gist.process.unwrap()].argv, ["gh", "gist", "create", "notes.txt"]);
    let names: Vec<&str> = r.secrets.injected.iter().map(|s| s.secret.as_str()).collect();
    assert_eq!(names, ["ANTHROPIC_API_KEY", "GITHUB_TOKEN"]);
}

#[test]
fn repeated_exfiltration_is_one_row_with_a_count() {
    let r = build(common::audit_api_run());
    assert_eq!(r.secrets.exfiltration.len(), 1);
    let x = &r.secrets.exfiltration[0];
    assert_eq!((x.count, x.verdict, x.location.as_str()), (2, ViolationVerdict::Allowed, "body"));
    let md = report::render_markdown(&r);
    assert!(md.contains("in body, 2 times — **let through** (audit mode)"), "{md}");
}

#[test]
fn kernel_attempts_join_the_network_section() {
    let r = build(common::api_run());
    let dns = &r.network.attempts[0];
    assert_eq!((dns.protocol.as_str(), dns.ip.as_str(), dns.port, dns.count), ("udp", "8.8.8.8", 53, 12));
    assert_eq!(dns.process.exe.as_deref(), Some("/usr/bin/python3"));
    assert!(!r.network.attempts[1].violation, "the proxied twin is context, listed after");
}

#[test]
fn the_section_is_left_out_when_there_is_nothing_to_say() {
    let md = report::render_markdown(&build(common::agent_run()));
    assert!(!md.contains("Secrets & API"));
    let md = report::render_markdown(&build(common::api_run()));
    let (network, api) = (md.find("### Network").unwrap(), md.find("### Secrets & API").unwrap());
    assert!(network < api && api < md.find("### Processes").unwrap());
}

#[test]
fn a_cap_the_run_never_reached_is_still_shown() {
    let mut f = common::Fixture::new(journal::Mode::Block, &["claude", "-p", "hi"]);
    if let journal::Event::RunStart(s) = &mut f.events[0].1 {
        s.limits.budgets =
            vec![journal::BudgetCap { provider: "anthropic".into(), max_tokens: None, max_usd: Some(10.0) }];
    }
    let r = build(f);
    let budget = r.api.budgets.iter().find(|b| b.provider == "anthropic").expect("the cap is listed");
    assert_eq!((budget.max_usd, budget.exceeded, budget.tokens), (Some(10.0), false, 0));
}
