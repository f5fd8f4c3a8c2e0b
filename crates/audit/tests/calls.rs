//! Family 10 of issue 18: local reusable workflows and composite actions. What a caller passes
//! down (`with:` values, its events and gates, its job's environment) is followed into the agent
//! the callee starts. The repositories are written to a temporary directory and audited from
//! disk, as `ringfence audit` reads them.

use std::path::Path;

use audit::{Config, Finding, Report, Severity, audit_paths};

fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    dir
}

fn audit(path: &Path) -> Report {
    audit_paths(&[path.to_path_buf()], &Config::default())
}

fn find<'r>(report: &'r Report, rule: &str, file: &str) -> Vec<&'r Finding> {
    report.findings.iter().filter(|f| f.rule == rule && f.file.ends_with(file)).collect()
}

const CALLER: &str = r#"
on: {issue_comment: {types: [created]}}
permissions: {contents: read}
jobs:
  invoke:
    if: contains(github.event.comment.body, '@bot')
    uses: ./.github/workflows/agent.yml
    secrets: inherit
    with:
      context: ${{ github.event.comment.body }}
"#;

const CALLEE: &str = r#"
on:
  workflow_call:
    inputs:
      context: {type: string}
permissions: {contents: read}
jobs:
  run:
    runs-on: ubuntu-latest
    timeout-minutes: 10
    steps:
      - env:
          ANTHROPIC_API_KEY: ${{ secrets.ANTHROPIC_API_KEY }}
          CONTEXT: ${{ inputs.context }}
        run: claude -p "$CONTEXT" --max-turns 5
"#;

#[test]
fn comment_body_passed_to_a_reusable_workflow_reaches_its_agent() {
    let dir = repo(&[(".github/workflows/invoke.yml", CALLER), (".github/workflows/agent.yml", CALLEE)]);
    let report = audit(dir.path());
    assert!(
        report.errors.is_empty(),
        "{:?}",
        report.errors.iter().map(|e| e.to_string()).collect::<Vec<_>>()
    );
    let injection = find(&report, "prompt-injection", "agent.yml");
    let critical: Vec<_> = injection.iter().filter(|f| f.severity == Severity::Critical).collect();
    assert!(!critical.is_empty(), "{injection:#?}");
    assert!(critical[0].message.contains("github.event.comment.body"), "{}", critical[0].message);
    assert!(critical[0].message.contains("called from `.github/workflows/invoke.yml` job `invoke`"));
    // Reach comes from the caller's event, whose only condition is a trigger phrase.
    let trigger = find(&report, "untrusted-trigger", "agent.yml");
    assert!(
        trigger.iter().any(|f| f.severity == Severity::High && f.message.contains("issue_comment")),
        "{trigger:#?}"
    );
    assert!(!find(&report, "no-egress-control", "agent.yml").is_empty());
    // The caller's `secrets: inherit` is known to reach an agent.
    let inherit = find(&report, "secrets-inherit", "invoke.yml");
    assert!(inherit.iter().any(|f| f.message.contains("which runs an agent")), "{inherit:#?}");
}

#[test]
fn a_single_caller_file_still_resolves_its_callee_from_disk() {
    let dir = repo(&[(".github/workflows/invoke.yml", CALLER), (".github/workflows/agent.yml", CALLEE)]);
    let report = audit(&dir.path().join(".github/workflows/invoke.yml"));
    let injection = find(&report, "prompt-injection", "agent.yml");
    assert!(injection.iter().any(|f| f.severity == Severity::Critical), "{:#?}", report.findings);
    // The callee itself was not asked for: only what the call adds is reported in it.
    assert!(find(&report, "no-job-timeout", "agent.yml").is_empty());
}

#[test]
fn a_gate_in_the_caller_holds_for_the_callee() {
    let caller = CALLER.replace(
        "contains(github.event.comment.body, '@bot')",
        "contains(fromJSON('[\"OWNER\",\"MEMBER\"]'), github.event.comment.author_association)",
    );
    let dir = repo(&[(".github/workflows/invoke.yml", &caller), (".github/workflows/agent.yml", CALLEE)]);
    let report = audit(dir.path());
    assert!(find(&report, "untrusted-trigger", "agent.yml").is_empty(), "{:#?}", report.findings);
    // A maintainer may still run it on an outsider's comment: high, not critical.
    let injection = find(&report, "prompt-injection", "agent.yml");
    assert!(injection.iter().any(|f| f.severity == Severity::High), "{injection:#?}");
    assert!(injection.iter().all(|f| f.severity != Severity::Critical));
}

#[test]
fn maintainer_inputs_passed_down_are_not_injection() {
    let caller = r#"
on: {workflow_dispatch: {inputs: {task: {type: string}}}}
permissions: {contents: read}
jobs:
  invoke:
    uses: ./.github/workflows/agent.yml
    with: {context: "${{ inputs.task }}"}
"#;
    let dir = repo(&[(".github/workflows/invoke.yml", caller), (".github/workflows/agent.yml", CALLEE)]);
    let report = audit(dir.path());
    let injection = find(&report, "prompt-injection", "agent.yml");
    // Standalone, the callee's input is the caller's to fill (low); the one caller fills it with
    // a maintainer's dispatch input, which adds nothing.
    assert!(
        injection.iter().all(|f| f.severity == Severity::Low && !f.message.contains("called from")),
        "{injection:#?}"
    );
    assert!(find(&report, "untrusted-trigger", "agent.yml").is_empty());
}

const ACTION: &str = r#"
name: fix
inputs:
  task: {required: true}
runs:
  using: composite
  steps:
    - shell: bash
      run: aider --yes --message "${{ inputs.task }}"
    - shell: bash
      run: codex exec "$TITLE"
"#;

#[test]
fn composite_action_gets_the_callers_input_environment_and_reach() {
    let caller = r#"
on: {issues: {types: [opened]}}
permissions: {contents: read}
jobs:
  fix:
    runs-on: ubuntu-latest
    timeout-minutes: 10
    env:
      TITLE: ${{ github.event.issue.title }}
    steps:
      - uses: actions/checkout@v4
      - uses: ./.github/actions/fix
        with:
          task: ${{ github.event.issue.body }}
"#;
    let dir = repo(&[(".github/workflows/fix.yml", caller), (".github/actions/fix/action.yml", ACTION)]);
    let report = audit(dir.path());
    let injection = find(&report, "prompt-injection", "action.yml");
    let sources: Vec<_> =
        injection.iter().filter(|f| f.severity == Severity::Critical).map(|f| f.message.as_str()).collect();
    assert!(
        sources.iter().any(|m| m.contains("github.event.issue.body") && m.contains("aider")),
        "{injection:#?}"
    );
    assert!(
        sources.iter().any(|m| m.contains("github.event.issue.title") && m.contains("Codex")),
        "{injection:#?}"
    );
    assert!(
        find(&report, "untrusted-trigger", "action.yml").iter().any(|f| f.message.contains("called from")),
        "{:#?}",
        report.findings
    );
}

#[test]
fn a_callers_egress_fence_covers_its_composite_action() {
    let caller = r#"
on: {issues: {types: [opened]}}
permissions: {contents: read}
jobs:
  fix:
    runs-on: ubuntu-latest
    timeout-minutes: 10
    steps:
      - uses: step-security/harden-runner@v2
        with: {egress-policy: block}
      - uses: ./.github/actions/fix
        with: {task: "fix the build"}
"#;
    let dir = repo(&[(".github/workflows/fix.yml", caller), (".github/actions/fix/action.yml", ACTION)]);
    let report = audit(dir.path());
    assert!(
        find(&report, "untrusted-trigger", "action.yml").iter().any(|f| f.message.contains("called from"))
    );
    assert!(
        find(&report, "no-egress-control", "action.yml").iter().all(|f| !f.message.contains("called from")),
        "{:#?}",
        report.findings
    );
}

#[test]
fn reusable_agent_reading_event_text_says_its_reach_depends_on_callers() {
    let callee = r#"
on: {workflow_call: {}}
permissions: {contents: read}
jobs:
  run:
    runs-on: ubuntu-latest
    timeout-minutes: 10
    steps:
      - env: {TITLE: "${{ github.event.issue.title }}"}
        run: gemini -p "$TITLE"
"#;
    let dir = repo(&[(".github/workflows/agent.yml", callee)]);
    let report = audit(dir.path());
    let egress = find(&report, "no-egress-control", "agent.yml");
    assert_eq!(egress.len(), 1, "{:#?}", report.findings);
    assert_eq!(egress[0].severity, Severity::Low);
    assert!(egress[0].message.contains("depends on the events this reusable workflow's callers"));
    assert!(find(&report, "untrusted-trigger", "agent.yml").is_empty());
    // Gated by its own permission check: nothing to say.
    let gated = callee.replace(
        "runs-on: ubuntu-latest",
        "runs-on: ubuntu-latest\n    if: github.event.comment.author_association == 'OWNER'",
    );
    let dir = repo(&[(".github/workflows/agent.yml", &gated)]);
    assert!(find(&audit(dir.path()), "no-egress-control", "agent.yml").is_empty());
}

#[test]
fn cycles_and_deep_chains_end() {
    // a → b → a, and a chain of eight workflows each calling the next.
    let call = |next: &str| {
        format!(
            "on: {{issue_comment: {{}}, workflow_call: {{inputs: {{c: {{type: string}}}}}}}}\njobs:\n  \
             call:\n    uses: ./.github/workflows/{next}\n    with: {{c: \"${{{{ github.event.comment.body }}}}\"}}\n  \
             agent:\n    runs-on: x\n    steps:\n      - run: claude -p \"${{{{ inputs.c }}}}\"\n"
        )
    };
    let mut files: Vec<(String, String)> = vec![
        (".github/workflows/a.yml".into(), call("b.yml")),
        (".github/workflows/b.yml".into(), call("a.yml")),
    ];
    for i in 0..8 {
        files.push((format!(".github/workflows/d{i}.yml"), call(&format!("d{}.yml", i + 1))));
    }
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let dir = repo(&refs);
    // Audited alone, `a.yml` reaches `b.yml`, which calls `a.yml` again: not entered twice.
    let report = audit(&dir.path().join(".github/workflows/a.yml"));
    assert!(report.errors.is_empty());
    let b = find(&report, "prompt-injection", "b.yml");
    assert!(b.iter().any(|f| f.severity == Severity::Critical), "{:#?}", report.findings);
    // Audited alone, `d0.yml` is followed four calls deep, no further.
    let report = audit(&dir.path().join(".github/workflows/d0.yml"));
    for i in 1..=4 {
        assert!(
            !find(&report, "prompt-injection", &format!("d{i}.yml")).is_empty(),
            "d{i}: {:#?}",
            report.findings
        );
    }
    assert!(report.findings.iter().all(|f| !f.file.ends_with("d5.yml")), "{:#?}", report.findings);
}

#[test]
fn hostile_callees_are_clear_errors() {
    let caller = r#"
on: {issues: {}}
jobs:
  a:
    uses: ./.github/workflows/broken.yml
  b:
    runs-on: x
    steps:
      - uses: ./../../outside
      - uses: ./.github/actions/link
      - uses: ./.github/actions/missing
"#;
    let dir = repo(&[(".github/workflows/caller.yml", caller), ("elsewhere/action.yml", ACTION)]);
    std::fs::write(dir.path().join(".github/workflows/broken.yml"), "jobs: [unclosed").expect("write");
    std::fs::create_dir_all(dir.path().join(".github/actions")).expect("mkdir");
    let outside = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(outside.path().join("link")).expect("mkdir");
    std::fs::write(outside.path().join("link/action.yml"), ACTION).expect("write");
    std::os::unix::fs::symlink(outside.path().join("link"), dir.path().join(".github/actions/link"))
        .expect("symlink");
    let report = audit(&dir.path().join(".github/workflows/caller.yml"));
    let errors: Vec<String> = report.errors.iter().map(|e| e.to_string()).collect();
    assert!(
        errors.iter().any(|e| e.contains("./../../outside") && e.contains("leaves the repository")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("./.github/actions/link") && e.contains("inside the repository")),
        "{errors:?}"
    );
    assert!(errors.iter().any(|e| e.contains("broken.yml") && e.contains("cannot parse")), "{errors:?}");
    assert_eq!(errors.len(), 3, "a missing callee is not an error: {errors:?}");
}
