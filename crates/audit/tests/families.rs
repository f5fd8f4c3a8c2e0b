//! The families of misses found on held-out agent workflows (issue 18), each as small synthetic
//! workflows written for these tests: which rules must fire, and which must stay quiet.

use audit::{Config, FileKind, Finding, SourceFile, audit_files};

fn audit(name: &str, yaml: &str) -> Vec<Finding> {
    let kind = if name.ends_with(".action.yml") { FileKind::Action } else { FileKind::Workflow };
    let file = SourceFile::parse(name.into(), yaml.into(), kind).expect("fixture parses");
    audit_files(vec![file], &Config::default()).findings
}

fn rules(findings: &[Finding]) -> Vec<&'static str> {
    let mut r: Vec<_> = findings.iter().map(|f| f.rule).collect();
    r.dedup();
    r
}

#[track_caller]
fn expect(yaml: &str, present: &[&str], absent: &[&str]) -> Vec<Finding> {
    let found = audit("w.yml", yaml);
    let got = rules(&found);
    for r in present {
        assert!(got.contains(r), "expected `{r}`, got {got:?}\n{found:#?}");
    }
    for r in absent {
        assert!(!got.contains(r), "expected no `{r}`, got {found:#?}");
    }
    found
}

fn find<'f>(found: &'f [Finding], rule: &str) -> Vec<&'f Finding> {
    found.iter().filter(|f| f.rule == rule).collect()
}

// Family 1: agents the audit did not know.

#[test]
fn openhands_resolver_from_python_module() {
    expect(
        r#"
on: {issues: {types: [opened]}}
jobs:
  resolve:
    runs-on: ubuntu-latest
    steps:
      - run: pip install openhands-ai
      - run: echo "AGENT_GH_TOKEN=${{ secrets.BOT_PAT }}" >> "$GITHUB_ENV"
      - env: {LLM_API_KEY: "${{ secrets.LLM_API_KEY }}"}
        run: python -m openhands.resolver.resolve_issue --issue-number "${{ github.event.issue.number }}"
"#,
        &["secret-to-github-env", "untrusted-trigger", "no-egress-control", "unpinned-agent"],
        &["prompt-injection"],
    );
}

#[test]
fn every_catalogued_cli_is_recognised_with_its_bypass_flag() {
    let cases = [
        ("cursor-agent -p --force \"fix it\"", "--force"),
        ("droid exec --skip-permissions-unsafe \"fix it\"", "--skip-permissions-unsafe"),
        ("droid exec --auto high \"fix it\"", "high"),
        ("amp -x \"fix it\" --dangerously-allow-all", "--dangerously-allow-all"),
        ("qwen --yolo -p \"fix it\"", "--yolo"),
        ("copilot -p \"fix it\" --allow-all-tools", "--allow-all-tools"),
        ("npx -y @qwen-code/qwen-code@0.1.0 --approval-mode yolo -p hi", "yolo"),
        ("poetry run aider --yes-always --message hi", "--yes-always"),
    ];
    for (command, flag) in cases {
        let yaml = format!(
            "on: push\npermissions: {{}}\njobs:\n  a:\n    runs-on: x\n    timeout-minutes: 5\n    steps:\n      - run: {command}\n"
        );
        let found = expect(&yaml, &["permission-bypass"], &[]);
        assert!(
            find(&found, "permission-bypass").iter().any(|f| f.message.contains(flag)),
            "{command}: {found:#?}"
        );
    }
}

#[test]
fn goose_recipe_and_container_are_agents() {
    for step in [
        "run: goose run --recipe .github/recipes/triage.yaml --params body=\"${{ github.event.issue.body }}\"",
        "run: docker run --rm -e GOOSE_PROVIDER ghcr.io/block/goose:1.9.0 run -t \"${{ github.event.issue.body }}\"",
    ] {
        let yaml = format!(
            "on: {{issues: {{types: [opened]}}}}\npermissions: {{}}\njobs:\n  a:\n    runs-on: x\n    timeout-minutes: 5\n    steps:\n      - {step}\n"
        );
        expect(&yaml, &["prompt-injection", "untrusted-trigger", "no-egress-control"], &[]);
    }
}

#[test]
fn aider_wrapper_action_reads_aider_args() {
    let found = expect(
        r#"
on: {issue_comment: {types: [created]}}
permissions: {contents: write}
jobs:
  aider:
    runs-on: ubuntu-latest
    timeout-minutes: 10
    steps:
      - uses: someone/aider-github-action@v1.1.0
        with:
          api_key_env_name: OPENAI_API_KEY
          api_key_env_value: ${{ secrets.OPENAI_API_KEY }}
          aider_args: '--yes --message "${{ github.event.comment.body }}"'
"#,
        &["permission-bypass", "prompt-injection", "untrusted-trigger", "unpinned-agent"],
        &[],
    );
    assert!(find(&found, "prompt-injection").iter().any(|f| f.message.contains("aider_args")));
}

#[test]
fn curl_pipe_bash_install_is_a_supply_chain_finding() {
    let found = expect(
        r#"
on: push
permissions: {}
jobs:
  a:
    runs-on: x
    timeout-minutes: 5
    steps:
      - run: curl -fsSL https://cursor.com/install | bash
      - run: cursor-agent -p "review" --output-format text
"#,
        &["unpinned-agent"],
        &["permission-bypass"],
    );
    assert!(find(&found, "unpinned-agent").iter().any(|f| f.message.contains("piped into a shell")));
}

#[test]
fn repository_script_with_model_key_is_a_low_confidence_agent() {
    let found = expect(
        r#"
on: {issues: {types: [opened]}}
permissions: {}
jobs:
  a:
    runs-on: x
    timeout-minutes: 5
    steps:
      - env:
          ANTHROPIC_API_KEY: ${{ secrets.ANTHROPIC_API_KEY }}
          BODY: ${{ github.event.issue.body }}
        run: python .github/scripts/triage.py
"#,
        &["untrusted-trigger", "prompt-injection", "no-egress-control"],
        &["no-job-timeout", "missing-permissions"],
    );
    assert!(found.iter().all(|f| f.confidence == audit::Confidence::Low), "{found:#?}");
    // Without a model key the same script is no agent.
    expect(
        "on: {issues: {types: [opened]}}\njobs:\n  a:\n    runs-on: x\n    steps:\n      - env: {BODY: \"${{ github.event.issue.body }}\"}\n        run: python .github/scripts/triage.py\n",
        &[],
        &["untrusted-trigger", "prompt-injection"],
    );
}

// Family 2: run-gemini-cli always passes --yolo.

#[test]
fn run_gemini_cli_without_core_allowlist_is_a_bypass() {
    let wf = |settings: &str| {
        format!(
            "on: push\npermissions: {{}}\njobs:\n  a:\n    runs-on: x\n    timeout-minutes: 5\n    steps:\n      - uses: google-github-actions/run-gemini-cli@v0\n        with:\n          prompt: review\n{settings}"
        )
    };
    expect(&wf(""), &["permission-bypass"], &[]);
    expect(&wf("          settings: '{\"model\": {\"maxSessionTurns\": 5}}'\n"), &["permission-bypass"], &[]);
    expect(
        &wf("          settings: '{\"tools\": {\"core\": [\"run_shell_command\", \"read_file\"]}}'\n"),
        &["permission-bypass"],
        &[],
    );
    expect(
        &wf(
            "          settings: '{\"tools\": {\"core\": [\"run_shell_command(gh issue edit)\", \"read_file\"]}}'\n",
        ),
        &[],
        &["permission-bypass"],
    );
}

// Family 4: arguments built by expressions.

#[test]
fn expression_built_claude_args_are_read_branch_by_branch() {
    let wf = |args: &str| {
        format!(
            "on: push\npermissions: {{}}\njobs:\n  a:\n    runs-on: x\n    timeout-minutes: 5\n    steps:\n      - uses: anthropics/claude-code-action@v1\n        with:\n          claude_args: ${{{{ {args} }}}}\n"
        )
    };
    expect(
        &wf(
            "inputs.wide && '--allowedTools \"Read,Bash(npx:*)\" --max-turns 5' || '--allowedTools \"Read\" --max-turns 3'",
        ),
        &["unscoped-shell-tool"],
        &["no-turn-limit"],
    );
    // One branch without a limit: the turn limit is missing on that path.
    expect(
        &wf("inputs.wide && '--max-turns 5' || '--allowedTools Read'"),
        &["no-turn-limit"],
        &["unscoped-shell-tool"],
    );
}

// Family 5: write-check opt-outs under every spelling.

#[test]
fn write_check_opt_outs_under_other_names() {
    for (action, input, value) in [
        ("openai/codex-action@v1", "require_repo_write", "false"),
        ("openai/codex-action@v1", "allow-users", "'*'"),
        ("openai/codex/.github/actions/codex@main", "require_repo_write", "false"),
        ("anthropics/claude-code-action@v1", "allowed_non_write_users", "'*'"),
    ] {
        let yaml = format!(
            "on: {{issues: {{types: [opened]}}}}\npermissions: {{}}\njobs:\n  a:\n    runs-on: x\n    timeout-minutes: 5\n    steps:\n      - uses: {action}\n        with:\n          prompt: hi\n          {input}: {value}\n"
        );
        expect(&yaml, &["write-check-disabled", "untrusted-trigger"], &[]);
    }
    expect(
        "on: {issues: {types: [opened]}}\npermissions: {}\njobs:\n  a:\n    runs-on: x\n    timeout-minutes: 5\n    steps:\n      - uses: openai/codex-action@v1\n        with:\n          prompt: hi\n          require_repo_write: true\n",
        &[],
        &["write-check-disabled", "untrusted-trigger"],
    );
}

// Family 8: gates that hold lower write-check-disabled.

#[test]
fn gate_that_holds_lowers_write_check_disabled() {
    let wf = |cond: &str| {
        format!(
            "on: {{issue_comment: {{types: [created]}}}}\npermissions: {{}}\njobs:\n  a:\n{cond}    runs-on: x\n    timeout-minutes: 5\n    steps:\n      - uses: anthropics/claude-code-action@v1\n        with:\n          allowed_bots: '*'\n"
        )
    };
    let open = expect(&wf(""), &["write-check-disabled"], &[]);
    assert_eq!(find(&open, "write-check-disabled")[0].severity, audit::Severity::Critical);
    let gated = expect(
        &wf(
            "    if: contains(fromJSON('[\"OWNER\",\"MEMBER\",\"COLLABORATOR\"]'), github.event.comment.author_association)\n",
        ),
        &["write-check-disabled"],
        &[],
    );
    let f = find(&gated, "write-check-disabled")[0];
    assert_eq!(f.severity, audit::Severity::Low, "{f:#?}");
    assert!(f.message.contains("gate still holds"));
}

// Family 6: a reusable workflow that opens the write check is reachable by outsiders.

#[test]
fn reusable_workflow_with_open_write_check_reaches_outsiders() {
    let wf = |value: &str| {
        format!(
            "on: {{workflow_call: {{secrets: {{KEY: {{required: true}}}}}}}}\npermissions: {{contents: write}}\njobs:\n  a:\n    runs-on: x\n    timeout-minutes: 5\n    steps:\n      - uses: anthropics/claude-code-action@v1\n        with:\n          anthropic_api_key: ${{{{ secrets.KEY }}}}\n          allowed_non_write_users: '{value}'\n          claude_args: --max-turns 3\n"
        )
    };
    let open = expect(
        &wf("*"),
        &["write-check-disabled", "untrusted-trigger", "no-egress-control", "write-permissions-untrusted"],
        &[],
    );
    assert_eq!(find(&open, "write-check-disabled")[0].severity, audit::Severity::Critical);
    expect(&wf("octocat"), &[], &["untrusted-trigger", "no-egress-control", "write-permissions-untrusted"]);
}

// Family 3: untrusted text fetched through API actions and moved between files.

#[test]
fn github_script_fetch_through_files_reaches_the_agent() {
    let found = expect(
        r#"
on: {workflow_dispatch: {inputs: {issue: {type: string, required: true}}}}
jobs:
  fix:
    runs-on: ubuntu-latest
    steps:
      - id: issue
        uses: actions/github-script@v7
        with:
          result-encoding: string
          script: |
            const { data } = await github.rest.issues.get({ ...context.repo, issue_number: Number('${{ inputs.issue }}') });
            return data.body;
      - run: |
          printf '%s' "${{ steps.issue.outputs.result }}" > body.md
          cat header.md body.md > task.md
      - env: {OPENAI_API_KEY: "${{ secrets.OPENAI_API_KEY }}"}
        run: aider --yes --message-file task.md
"#,
        &["prompt-injection"],
        &[],
    );
    let f = find(&found, "prompt-injection")[0];
    assert!(f.message.contains("file task.md") && f.message.contains("file body.md"), "{f:#?}");
}

#[test]
fn issues_helper_output_and_cp_tee_carry_taint() {
    expect(
        r#"
on: {workflow_dispatch: {}}
jobs:
  fix:
    runs-on: ubuntu-latest
    steps:
      - id: get
        uses: actions-cool/issues-helper@v3
        with:
          actions: get-issue
          issue-number: 7
      - run: echo "${{ steps.get.outputs.issue-body }}" | tee issue.txt
      - run: cp issue.txt prompt.txt
      - run: claude -p "$(cat prompt.txt)" --max-turns 3
"#,
        &["prompt-injection"],
        &[],
    );
    // The same chain from a file nobody tainted stays quiet.
    expect(
        r#"
on: {workflow_dispatch: {}}
jobs:
  fix:
    runs-on: ubuntu-latest
    steps:
      - run: echo "fix the typos" | tee issue.txt
      - run: cp issue.txt prompt.txt
      - run: claude -p "$(cat prompt.txt)" --max-turns 3
"#,
        &[],
        &["prompt-injection"],
    );
}

// Family 7: pinned command prefixes are not arbitrary code.

#[test]
fn pinned_command_prefixes() {
    let wf = |tools: &str| {
        format!(
            "on: push\npermissions: {{}}\njobs:\n  a:\n    runs-on: x\n    timeout-minutes: 5\n    steps:\n      - uses: anthropics/claude-code-action@v1\n        with:\n          claude_args: --max-turns 3 --allowedTools \"{tools}\"\n"
        )
    };
    expect(&wf("Read,Bash(node tools/check.mjs:*)"), &[], &["unscoped-shell-tool"]);
    expect(&wf("Read,Edit,Bash(node tools/check.mjs:*)"), &["unscoped-shell-tool"], &[]);
    let gh = expect(&wf("Read,Bash(gh api repos/o/r/issues/42/comments:*)"), &["unscoped-shell-tool"], &[]);
    assert!(find(&gh, "unscoped-shell-tool").iter().all(|f| f.severity == audit::Severity::Low));
    let pytest = expect(&wf("Read,Bash(python -m pytest tests/*)"), &["unscoped-shell-tool"], &[]);
    assert!(find(&pytest, "unscoped-shell-tool")[0].message.contains("pytest"));
}

#[test]
fn file_written_earlier_in_the_agents_own_step() {
    let wf = |agent: &str| {
        format!(
            "on: {{issues: {{types: [opened]}}}}\npermissions: {{}}\njobs:\n  a:\n    runs-on: x\n    timeout-minutes: 5\n    steps:\n      - run: |\n          gh issue view 1 --json body > task.txt\n          {agent}\n"
        )
    };
    expect(&wf("goose run -i task.txt"), &["prompt-injection"], &[]);
    // Writing the file is not naming it to the agent.
    expect(&wf("goose run -t 'fix the build'"), &[], &["prompt-injection"]);
}

// Family 9: GitHub Agentic Workflows lock files. The shape follows gh-aw's compiled
// `ai-moderator.lock.yml` (github/gh-aw at a56177c9021629a86f8934cd1ff74b12ff49da90): a role
// check in `pre_activation`, the engine inside `awf --allow-domains … -- '…'` in a read-only
// `agent` job, a detection pass, and a `safe_outputs` job with the write scopes. Reduced and
// rewritten for this test.
const GH_AW_LOCK: &str = r#"#
# This file was automatically generated by gh-aw. DO NOT EDIT.
#
name: "Triage"
"on":
  issues: {types: [opened]}
  issue_comment: {types: [created]}
permissions: {}
jobs:
  pre_activation:
    runs-on: ubuntu-slim
    outputs:
      activated: ${{ steps.check_membership.outputs.is_team_member == 'true' }}
    steps:
      - id: check_membership
        uses: actions/github-script@ed597411d8f924073f98dfc5c65a23a2325f34cd
        env:
          GH_AW_REQUIRED_ROLES: "@ROLES@"
        with:
          script: |
            const { main } = require('/opt/gh-aw/actions/check_membership.cjs');
            await main();
  activation:
    needs: [pre_activation]
    if: needs.pre_activation.outputs.activated == 'true'
    runs-on: ubuntu-slim
    steps:
      - run: echo activated
  agent:
    needs: activation
    runs-on: ubuntu-latest
    permissions: {contents: read, issues: read}
    timeout-minutes: 20
    steps:
      - name: Install GitHub Copilot CLI
        run: /opt/gh-aw/actions/install_copilot_cli.sh 0.0.406
      - name: Execute GitHub Copilot CLI
        id: agentic_execution
        run: |
          set -o pipefail
          sudo -E awf --enable-chroot --env-all --allow-domains api.githubcopilot.com,github.com --log-level info \
            -- '/usr/local/bin/copilot --add-dir /tmp/gh-aw/ --allow-all-tools --allow-all-paths --prompt "$(cat /tmp/gh-aw/aw-prompts/prompt.txt)"' \
            2>&1 | tee /tmp/gh-aw/agent-stdio.log
        env:
          COPILOT_GITHUB_TOKEN: ${{ secrets.COPILOT_GITHUB_TOKEN }}
  detection:
    needs: agent
    runs-on: ubuntu-latest
    permissions: {}
    timeout-minutes: 10
    steps:
      - name: Execute GitHub Copilot CLI
        id: threat_detection
        run: /usr/local/bin/copilot --allow-tool 'shell(cat)' --prompt "$(cat /tmp/gh-aw/threat-detection/prompt.txt)"
        env:
          COPILOT_GITHUB_TOKEN: ${{ secrets.COPILOT_GITHUB_TOKEN }}
  safe_outputs:
    needs: [agent, detection]
    if: needs.detection.outputs.success == 'true'
    runs-on: ubuntu-slim
    permissions: {issues: write}
    steps:
      - uses: actions/github-script@ed597411d8f924073f98dfc5c65a23a2325f34cd
        with:
          script: |
            const { main } = require('/opt/gh-aw/actions/safe_output_handler_manager.cjs');
            await main();
"#;

#[test]
fn gh_aw_lock_file_firewall_gate_and_split_are_recognised() {
    let lock = GH_AW_LOCK.replace("@ROLES@", "admin,maintainer,write");
    let found = expect(&lock, &["permission-bypass"], &["no-egress-control", "untrusted-trigger"]);
    // The agent inside the firewall is Copilot CLI; its `--allow-all-tools` is low, and says why.
    let bypass = find(&found, "permission-bypass");
    assert_eq!(bypass.len(), 1, "{found:#?}");
    assert_eq!(bypass[0].severity, audit::Severity::Low);
    assert!(bypass[0].message.contains("Copilot CLI") && bypass[0].message.contains("safe-output"));
    // The detection pass is generated, not a second agent.
    assert!(found.iter().all(|f| f.line < 47), "{found:#?}");
}

#[test]
fn gh_aw_lock_file_open_to_all_roles_is_reachable() {
    let lock = GH_AW_LOCK.replace("@ROLES@", "all");
    let found = expect(&lock, &["untrusted-trigger"], &["no-egress-control"]);
    // Without the compiler's marker the same command is a hand-written bypass, fenced or not.
    let hand = lock.replace("generated by gh-aw", "written by hand");
    let found_hand = expect(&hand, &["permission-bypass"], &[]);
    assert!(find(&found_hand, "permission-bypass").iter().any(|f| f.severity == audit::Severity::Critical));
    assert!(find(&found, "permission-bypass").iter().all(|f| f.severity == audit::Severity::Low));
}

// Catalogue facts checked against Codex CLI 0.171.0, Gemini CLI 0.61.0 and aider 0.86.2.

#[test]
fn catalogue_facts_of_current_versions() {
    let run = |script: &str, env: &str| {
        format!(
            "on: {{pull_request_target: {{}}}}\npermissions: {{contents: read}}\njobs:\n  a:\n    runs-on: x\n    \
             timeout-minutes: 5\n    steps:\n      - uses: actions/checkout@v4\n        with: {{ref: \"${{{{ github.event.pull_request.head.sha }}}}\"}}\n      \
             - env: {{OPENAI_API_KEY: \"${{{{ secrets.K }}}}\"{env}}}\n        run: {script}\n"
        )
    };
    // Codex: `--full-auto` is still reported, saying 0.171 rejects it; `-c` forms count.
    let found = expect(&run("codex exec --full-auto fix", ""), &["permission-bypass"], &[]);
    assert!(find(&found, "permission-bypass")[0].message.contains("0.171"));
    for c in ["-c sandbox_mode=danger-full-access", "--config approval_policy=never", "--approve-for-me"] {
        expect(&run(&format!("codex exec {c} fix"), ""), &["permission-bypass"], &[]);
    }
    // `--trust` loads the checked-out `.codex/` config.
    let found = expect(&run("codex exec --trust fix", ""), &["untrusted-checkout"], &[]);
    assert!(find(&found, "untrusted-checkout")[0].message.contains("`--trust`"));
    // Gemini: trusting the workspace loads the pull request's `.gemini/` settings.
    let found =
        expect(&run("gemini -p fix", ", GEMINI_CLI_TRUST_WORKSPACE: \"true\""), &["untrusted-checkout"], &[]);
    assert!(find(&found, "untrusted-checkout")[0].message.contains("GEMINI_CLI_TRUST_WORKSPACE"));
    let found = expect(&run("gemini --skip-trust -p fix", ""), &["untrusted-checkout"], &[]);
    assert!(find(&found, "untrusted-checkout")[0].message.contains("--skip-trust"));
    // aider: `--yes-always` approves edits, not shell commands; env and `--auto-test` count.
    let found = expect(&run("aider --yes-always --message fix", ""), &["permission-bypass"], &[]);
    let msg = &find(&found, "permission-bypass")[0].message;
    assert!(msg.contains("answered no") && !msg.contains("every tool call"), "{msg}");
    expect(&run("aider --message fix", ", AIDER_YES_ALWAYS: \"true\""), &["permission-bypass"], &[]);
    expect(&run("aider --auto-test --test-cmd pytest --message fix", ""), &["permission-bypass"], &[]);
    expect(&run("aider --message fix", ", AIDER_YES_ALWAYS: \"false\""), &[], &["permission-bypass"]);
    // `CODEX_API_KEY` is a model key: not an extra secret beside the agent.
    let found = expect(
        &run("codex exec fix", ", CODEX_API_KEY: \"${{ secrets.CODEX_API_KEY }}\""),
        &[],
        &["secrets-in-agent-env"],
    );
    drop(found);
}
