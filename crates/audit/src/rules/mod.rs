//! The rules. Each rule is one file: it declares its id, category and why-it-matters once
//! (a [`RuleMeta`]) and implements [`Rule`], whose hooks go from the general (a workflow) to the
//! specific (one agent). Adding a rule is one new file and one line in [`ALL`].

mod agent_edits_controls;
mod claude_settings_risk;
mod mcp_unpinned_server;
mod missing_permissions;
mod no_egress_control;
mod no_job_timeout;
mod no_turn_limit;
mod pat_agent_token;
mod permission_bypass;
mod policy_audit_mode;
mod prompt_injection;
mod secret_to_github_env;
mod secrets_in_agent_env;
mod secrets_in_job_env;
mod secrets_inherit;
mod tool_args;
mod unpinned_agent;
mod unscoped_shell_tool;
mod untrusted_checkout;
mod untrusted_trigger;
mod write_check_disabled;
mod write_permissions_untrusted;

use crate::config::Config;
use crate::finding::{Category, Confidence, Finding, Severity};
use crate::source::{FileKind, SourceFile};
use crate::workflow::calls::{Call, MAX_CALL_DEPTH, Repo};
use crate::workflow::dataflow::Scope;
use crate::workflow::gates::{Gate, gate_for};
use crate::workflow::triggers::Reach;
use crate::workflow::{Agent, AgentTool, Job, Step, Workflow};
use crate::yaml::{Node, Span};

/// What a rule is, declared once per rule file.
pub struct RuleMeta {
    pub id: &'static str,
    pub category: Category,
    /// One line: what the rule finds.
    pub summary: &'static str,
    /// Why it matters, shown under each finding in text output.
    pub why: &'static str,
}

/// One rule. Every hook has a default that finds nothing; a rule implements the ones it needs.
pub trait Rule: Sync {
    fn meta(&self) -> &'static RuleMeta;
    fn workflow(&self, _wf: &Workflow<'_>, _out: &mut Sink<'_>) {}
    fn job(&self, _wf: &Workflow<'_>, _job: &Job<'_>, _out: &mut Sink<'_>) {}
    fn agent(&self, _cx: &AgentCx<'_, '_>, _out: &mut Sink<'_>) {}
    /// `.claude/settings.json` and `.claude/settings.local.json`.
    fn claude_settings(&self, _file: &SourceFile, _out: &mut Sink<'_>) {}
    /// `.mcp.json`.
    fn mcp(&self, _file: &SourceFile, _out: &mut Sink<'_>) {}
    /// `ringfence.yml`.
    fn policy(&self, _file: &SourceFile, _out: &mut Sink<'_>) {}
}

/// Every rule, in the order they are documented.
pub static ALL: &[&dyn Rule] = &[
    &untrusted_trigger::UntrustedTrigger,
    &write_check_disabled::WriteCheckDisabled,
    &prompt_injection::PromptInjection,
    &permission_bypass::PermissionBypass,
    &unscoped_shell_tool::UnscopedShellTool,
    &claude_settings_risk::ClaudeSettingsRisk,
    &secrets_in_job_env::SecretsInJobEnv,
    &secrets_in_agent_env::SecretsInAgentEnv,
    &secrets_inherit::SecretsInherit,
    &secret_to_github_env::SecretToGithubEnv,
    &pat_agent_token::PatAgentToken,
    &no_egress_control::NoEgressControl,
    &policy_audit_mode::PolicyAuditMode,
    &missing_permissions::MissingPermissions,
    &write_permissions_untrusted::WritePermissionsUntrusted,
    &unpinned_agent::UnpinnedAgent,
    &untrusted_checkout::UntrustedCheckout,
    &agent_edits_controls::AgentEditsControls,
    &mcp_unpinned_server::McpUnpinnedServer,
    &no_turn_limit::NoTurnLimit,
    &no_job_timeout::NoJobTimeout,
];

pub fn by_id(id: &str) -> Option<&'static dyn Rule> {
    ALL.iter().copied().find(|r| r.meta().id == id)
}

/// Collects one rule's findings in one file.
pub struct Sink<'f> {
    file: &'f SourceFile,
    meta: &'static RuleMeta,
    findings: &'f mut Vec<Finding>,
}

impl Sink<'_> {
    pub fn add(
        &mut self,
        span: Span,
        severity: Severity,
        confidence: Confidence,
        message: String,
        fix: &str,
    ) {
        self.findings.push(Finding {
            rule: self.meta.id,
            category: self.meta.category,
            severity,
            confidence,
            file: self.file.path.clone(),
            line: span.start.line,
            column: span.start.col,
            end_line: span.end.line,
            end_column: span.end.col,
            message,
            fix: fix.to_string(),
        });
    }
}

/// Who can make an agent run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exposure {
    /// Outside users, with secrets: these events, and the gates seen that do not keep them out.
    Outside { events: Vec<String>, weak: Vec<String> },
    /// Outside users could fire the event, but something keeps them out.
    Gated(String),
    /// Only maintainers (or outside users without any secrets).
    Maintainers,
}

/// Everything a rule may want to know about one agent.
pub struct AgentCx<'w, 'a> {
    pub wf: &'w Workflow<'a>,
    pub job: &'w Job<'a>,
    pub agent: &'w Agent<'a>,
    pub step: Option<&'w Step<'a>>,
    pub gate: Gate,
    pub exposure: Exposure,
    /// Outside users can fire an event that starts this agent, whether or not a gate holds.
    pub reach_outside: bool,
    /// The caller this workflow or action is analysed from, when it is called locally.
    pub call: Option<&'w Call<'w, 'a>>,
}

impl<'w, 'a> AgentCx<'w, 'a> {
    pub fn file(&self) -> &SourceFile {
        self.wf.file
    }

    pub fn outside(&self) -> bool {
        matches!(self.exposure, Exposure::Outside { .. })
    }

    /// Outside users can fire the workflow's events, whether or not a gate holds.
    pub fn outside_events(&self) -> bool {
        self.reach_outside
    }

    pub fn with(&self, key: &str) -> Option<&Node> {
        self.step.and_then(|s| s.with(key))
    }

    /// The dataflow scope at the agent's step, with its caller.
    pub fn scope(&self) -> Scope<'w, 'a> {
        Scope::called(self.wf, self.job, self.agent.step, self.call)
    }
}

/// The write-access check built into an agent action (claude-code-action, codex-action, …),
/// unless one of its opt-out inputs in the catalogue opens it to everyone.
pub fn write_check(cx_agent: &Agent<'_>, step: Option<&Step<'_>>) -> Option<&'static str> {
    let spec = cx_agent.action_spec().filter(|s| s.write_check)?;
    let opened = spec
        .opt_outs
        .iter()
        .filter(|o| !o.who.contains("bot"))
        .filter_map(|o| step.and_then(|s| s.with(o.input)).map(|n| (o, n)))
        .any(|(o, n)| n.as_str().is_some_and(|v| o.opens.contains(&v.trim())));
    if opened { None } else { Some("the action refuses actors without write access") }
}

/// Does a reusable workflow reach outside users through its callers? Its own `on:` says only
/// `workflow_call`; when the agent's write check is opened to everyone, whatever event a caller
/// runs it on (an issue comment, a fork's pull request) reaches the agent, so it is treated as
/// reachable. A check left in place keeps it to the caller's maintainers.
fn called_open(wf: &Workflow<'_>, job: &Job<'_>, agent: &Agent<'_>) -> bool {
    wf.triggers.has("workflow_call")
        && agent.has_write_check()
        && write_check(agent, agent.step.and_then(|i| job.steps.get(i))).is_none()
}

/// How far the events that start a job's agents reach: the workflow's own events, or outside
/// users through the callers of a reusable workflow whose agent's write check is open.
pub fn job_reach(wf: &Workflow<'_>, job: &Job<'_>) -> Reach {
    if job.agents.iter().any(|a| called_open(wf, job, a)) { Reach::Outside } else { wf.triggers.reach() }
}

fn exposure(wf: &Workflow<'_>, job: &Job<'_>, agent: &Agent<'_>, gate: &Gate) -> Exposure {
    let mut events: Vec<String> = wf.triggers.outside().iter().map(|e| e.name.to_string()).collect();
    if events.is_empty() && called_open(wf, job, agent) {
        events.push("workflow_call (from callers' outside events, with the write check opened)".into());
    }
    if events.is_empty() {
        return Exposure::Maintainers;
    }
    if gate.holds {
        return Exposure::Gated(gate.strong.first().cloned().unwrap_or_default());
    }
    let step = agent.step.and_then(|i| job.steps.get(i));
    if let Some(why) = write_check(agent, step) {
        return Exposure::Gated(why.to_string());
    }
    Exposure::Outside { events, weak: gate.weak.clone() }
}

/// The rules that apply to a repository script started with a model key, which ringfence
/// cannot read: who can start it, what text reaches it, and where it can send what it holds.
const SCRIPT_RULES: &[&str] =
    &["untrusted-trigger", "prompt-injection", "no-egress-control", "secret-to-github-env"];

/// Run every enabled rule over one file. A workflow's local reusable workflows and composite
/// actions found in `repo` are analysed again as called from it (with its events, gates and
/// `with:` values); those findings point into the callee and say which caller they come from.
pub fn check(file: &SourceFile, config: &Config, repo: Repo<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    let rules: Vec<&dyn Rule> = ALL.iter().copied().filter(|r| config.rule_enabled(r.meta().id)).collect();
    let run = |findings: &mut Vec<Finding>, hook: &mut dyn FnMut(&dyn Rule, &mut Sink<'_>)| {
        for rule in &rules {
            hook(*rule, &mut Sink { file, meta: rule.meta(), findings });
        }
    };
    match file.kind {
        FileKind::Workflow | FileKind::CopilotSetup | FileKind::Action => {
            let wf = Workflow { repo: Some(repo), ..Workflow::new(file) };
            check_workflow(&wf, None, &rules, repo, &mut findings);
        }
        FileKind::ClaudeSettings => run(&mut findings, &mut |rule, s| rule.claude_settings(file, s)),
        FileKind::Mcp => run(&mut findings, &mut |rule, s| rule.mcp(file, s)),
        FileKind::Policy => run(&mut findings, &mut |rule, s| rule.policy(file, s)),
    }
    findings.retain(|f| !config.ignores_finding(f.rule, &f.file));
    findings
}

/// The workflow-, job- and agent-level hooks over one workflow, then over the local workflows
/// and actions it calls. Called from a caller (`call`), only the hooks whose answer depends on
/// the caller run: agents, and jobs of a reusable workflow (a composite action has no job of
/// its own).
fn check_workflow<'w, 'a>(
    wf: &'w Workflow<'a>,
    call: Option<&'w Call<'w, 'a>>,
    rules: &[&dyn Rule],
    repo: Repo<'a>,
    findings: &mut Vec<Finding>,
) {
    let file = wf.file;
    let each = |findings: &mut Vec<Finding>, hook: &mut dyn FnMut(&dyn Rule, &mut Sink<'_>)| {
        for rule in rules {
            hook(*rule, &mut Sink { file, meta: rule.meta(), findings });
        }
    };
    if call.is_none() {
        each(findings, &mut |rule, s| rule.workflow(wf, s));
    }
    // A gh-aw lock file's detection pass reads the agent's output with tools the compiler
    // restricted; it is not a second agent to audit.
    let lock = crate::workflow::ghaw::is_lock_file(file);
    for job in &wf.jobs {
        if !call.is_some_and(|c| c.composite) {
            each(findings, &mut |rule, s| rule.job(wf, job, s));
        }
        let generated = |a: &&Agent<'_>| {
            lock && a
                .step
                .and_then(|i| job.steps.get(i))
                .is_some_and(|s| crate::workflow::ghaw::is_detection(job.id, s))
        };
        for agent in job.agents.iter().filter(|a| !generated(a)) {
            let mut gate = gate_for(job, &wf.jobs, agent.step);
            if let Some(c) = call {
                gate = gate.and(c.gate.clone());
            }
            let exposure = exposure(wf, job, agent, &gate);
            let step = agent.step.and_then(|i| job.steps.get(i));
            let reach_outside = wf.triggers.reach() == Reach::Outside || called_open(wf, job, agent);
            let cx = AgentCx { wf, job, agent, step, gate, exposure, reach_outside, call };
            let from = findings.len();
            for rule in rules {
                if agent.tool == AgentTool::Script && !SCRIPT_RULES.contains(&rule.meta().id) {
                    continue;
                }
                rule.agent(&cx, &mut Sink { file, meta: rule.meta(), findings });
            }
            // A script with a model key may not be an agent at all: say so.
            if agent.tool == AgentTool::Script {
                findings[from..].iter_mut().for_each(|f| f.confidence = Confidence::Low);
            }
        }
        follow_calls(wf, job, call, rules, repo, findings);
    }
}

/// Analyse the local reusable workflow a job calls and the local composite actions its steps
/// use, as called from here.
fn follow_calls<'w, 'a>(
    wf: &'w Workflow<'a>,
    job: &'w Job<'a>,
    call: Option<&'w Call<'w, 'a>>,
    rules: &[&dyn Rule],
    repo: Repo<'a>,
    findings: &mut Vec<Finding>,
) {
    let mut chain = call.map(|c| c.chain.clone()).unwrap_or_default();
    chain.push(wf.file.path.clone());
    if chain.len() > MAX_CALL_DEPTH {
        return;
    }
    let parent_gate = call.map(|c| c.gate.clone()).unwrap_or_default();
    let job_call = job.uses().and_then(Node::as_str).map(|u| (u, None, job.node.get("with")));
    let step_calls =
        job.steps.iter().filter_map(|s| Some((s.uses()?.as_str()?, Some(s.index), s.node.get("with"))));
    for (uses, step, with) in job_call.into_iter().chain(step_calls) {
        let Some(callee) = wf.callee(uses) else { continue };
        // A composite action is a step's `uses:`, a reusable workflow a job's; a file already on
        // the chain is a cycle.
        let composite = callee.kind == FileKind::Action;
        if composite != step.is_some() || chain.contains(&callee.path) {
            continue;
        }
        let label = match step {
            Some(i) => format!("`{}` job `{}` step {}", wf.file.path, job.id, i + 1),
            None => format!("`{}` job `{}`", wf.file.path, job.id),
        };
        let c = Call {
            scope: Scope::called(wf, job, step, call),
            with,
            composite,
            gate: gate_for(job, &wf.jobs, step).and(parent_gate.clone()),
            label,
            chain: chain.clone(),
        };
        let callee_wf = Workflow::called(callee, wf.on, repo);
        let from = findings.len();
        check_workflow(&callee_wf, Some(&c), rules, repo, findings);
        for f in &mut findings[from..] {
            if !f.message.contains(" (called from ") {
                f.message.push_str(&format!(" (called from {})", c.label));
            }
        }
    }
}

/// Secrets referenced by a value: `secrets.NAME` names.
pub fn secret_names(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for t in gha_expr::templates(text) {
        if let Ok(expr) = gha_expr::parse(t.inner) {
            for (ctx, _) in expr.contexts() {
                if ctx.root.eq_ignore_ascii_case("secrets") {
                    out.push(ctx.name_at(0).unwrap_or("*").to_string());
                }
            }
        }
    }
    out
}

/// Model-provider keys an agent needs for itself; other secrets near an agent are extra reach.
pub fn is_model_key(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    [
        "ANTHROPIC",
        "CLAUDE",
        "OPENAI",
        "GEMINI",
        "GOOGLE_API",
        "VERTEX",
        "AZURE_OPENAI",
        "OPENROUTER",
        "BEDROCK",
        "DEEPSEEK",
        "MISTRAL",
        "GROQ",
        "XAI",
    ]
    .iter()
    .any(|p| n.contains(p))
        || crate::workflow::catalogue::is_agent_key(name)
}
