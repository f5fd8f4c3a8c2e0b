//! `if:` conditions and earlier steps that decide who can start an agent, and whether they
//! really keep outside users out.

use gha_expr::{BinOp, Expr, ExprKind};

use super::{Job, triggers};
use crate::yaml::Node;

/// What a set of conditions does to outside users.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Gate {
    /// A condition outside users cannot satisfy.
    pub holds: bool,
    /// Conditions seen that anyone can satisfy, described for the finding's message.
    pub weak: Vec<String>,
    /// Conditions seen that do keep outside users out.
    pub strong: Vec<String>,
    /// The pull request must come from a branch of this repository (not a fork), so its title,
    /// body and branch name were written by someone with write access.
    pub same_repo: bool,
    /// Step ids whose `outputs.allowed` must be `'true'`: a `ringfence gate` step with one of
    /// these ids before the agent makes the gate hold.
    pub needs_allowed: Vec<String>,
}

impl Gate {
    fn strong(why: &str) -> Self {
        Self { holds: true, strong: vec![why.to_string()], ..Self::default() }
    }

    fn same_repo(why: &str) -> Self {
        Self { same_repo: true, ..Self::strong(why) }
    }

    fn weak(why: &str) -> Self {
        Self { weak: vec![why.to_string()], ..Self::default() }
    }

    /// Both sets of conditions apply (a caller's and the callee's).
    pub fn and(mut self, other: Gate) -> Self {
        self.holds |= other.holds;
        self.same_repo |= other.same_repo;
        self.weak.extend(other.weak);
        self.strong.extend(other.strong);
        self.needs_allowed.extend(other.needs_allowed);
        self
    }

    fn or(mut self, other: Gate) -> Self {
        self.holds &= other.holds;
        self.same_repo &= other.same_repo;
        self.needs_allowed.retain(|id| other.needs_allowed.contains(id));
        self.weak.extend(other.weak);
        self.strong.extend(other.strong);
        self
    }
}

/// The expression of an `if:` value: GitHub accepts it bare or wrapped in one `${{ }}`.
pub fn condition_expr(node: &Node) -> Option<Expr> {
    let text = node.as_str()?.trim();
    let found = gha_expr::templates(text);
    let inner = match found.as_slice() {
        [] => text,
        [t] if t.start == 0 && t.end == text.len() => t.inner,
        // Text around a template makes a non-empty string: always true.
        _ => return None,
    };
    gha_expr::parse(inner).ok()
}

/// The gate made by the job's `if:`, the agent step's `if:`, permission-check steps before the
/// agent, and permission checks in jobs this one needs.
pub fn gate_for(job: &Job<'_>, jobs: &[Job<'_>], agent_step: Option<usize>) -> Gate {
    gate_at(job, jobs, agent_step, 0)
}

/// Needed jobs are followed this many levels (`agent` → `activation` → `pre_activation`);
/// deeper or cyclic `needs:` stop here.
const MAX_NEEDS_DEPTH: usize = 3;

fn gate_at(job: &Job<'_>, jobs: &[Job<'_>], agent_step: Option<usize>, depth: usize) -> Gate {
    let mut gate = Gate::default();
    let conditions = [job.condition(), agent_step.and_then(|i| job.steps.get(i)).and_then(|s| s.condition())];
    for cond in conditions.into_iter().flatten() {
        if let Some(expr) = condition_expr(cond) {
            gate = gate.and(analyse(&expr));
        }
    }
    let before = agent_step.unwrap_or(job.steps.len());
    let earlier = &job.steps[..before.min(job.steps.len())];
    if earlier.iter().any(|s| checks_permission(s.node)) {
        gate = gate.and(Gate::strong("a step checks the actor's repository permission first"));
    }
    if ringfence_gate_holds(earlier, agent_step.and_then(|i| job.steps.get(i)), &gate.needs_allowed) {
        gate = gate.and(Gate::strong(
            "a `ringfence gate` step decides from GitHub's answer who may start the agent",
        ));
    }
    for need in job.needs() {
        if let Some(dep) = jobs.iter().find(|j| j.id == need) {
            let deeper = if depth < MAX_NEEDS_DEPTH { jobs } else { &[] };
            let dep_gate = gate_at(dep, deeper, None, depth + 1);
            if dep_gate.holds || dep.steps.iter().any(|s| checks_permission(s.node)) {
                gate = gate.and(Gate::strong("a job this one needs checks the actor's permission"));
            } else if gate_output_required(dep, &gate.needs_allowed) {
                gate = gate.and(Gate::strong(
                    "this job runs only when a needed job's `ringfence gate` step allowed the run",
                ));
            } else if needed_job_gates(job, dep) {
                gate = gate.and(Gate::strong(
                    "a job this one needs runs `ringfence gate`, which fails it on refusal",
                ));
            }
        }
    }
    gate
}

/// A `ringfence gate` step before the agent holds when the agent's condition requires its
/// `allowed` output to be `'true'`, or when the agent step has no condition and the gate step
/// does not continue on error (a refusal then fails the job before the agent).
fn ringfence_gate_holds(
    earlier: &[super::Step<'_>],
    agent: Option<&super::Step<'_>>,
    needs_allowed: &[String],
) -> bool {
    earlier.iter().filter(|s| is_ringfence_gate(s)).any(|s| {
        let required = s.id().is_some_and(|id| needs_allowed.iter().any(|n| n.eq_ignore_ascii_case(id)));
        let stops_job = agent.is_some_and(|a| a.condition().is_none()) && fails_job_on_refusal(s);
        required || stops_job
    })
}

/// This job's condition requires an output of `dep` that is a `ringfence gate` step's
/// `allowed` output to be `'true'`.
fn gate_output_required(dep: &Job<'_>, needs_allowed: &[String]) -> bool {
    let Some(outputs) = dep.node.get("outputs") else { return false };
    outputs.entries().any(|(name, value)| {
        let Some(name) = name.as_str() else { return false };
        let key = format!("needs:{}.{}", dep.id.to_ascii_lowercase(), name.to_ascii_lowercase());
        if !needs_allowed.contains(&key) {
            return false;
        }
        // The output must be exactly one `${{ steps.<id>.outputs.allowed }}`.
        let Some(expr) = condition_expr(value) else { return false };
        let Some(ctx) = expr.as_context().map(|c| c.pattern()) else { return false };
        let Some(id) = ctx.strip_prefix("steps.").and_then(|r| r.strip_suffix(".outputs.allowed")) else {
            return false;
        };
        dep.steps
            .iter()
            .any(|s| s.id().is_some_and(|sid| sid.eq_ignore_ascii_case(id)) && is_ringfence_gate(s))
    })
}

/// The step fails its job when the gate refuses: it always runs, and neither
/// `continue-on-error` nor the action's `fail-on-refusal: "false"` swallows the refusal.
fn fails_job_on_refusal(step: &super::Step<'_>) -> bool {
    step.node.get("continue-on-error").and_then(Node::as_str).is_none_or(|v| v == "false")
        && step.with("fail-on-refusal").and_then(Node::as_str).is_none_or(|v| v != "false")
        && step.condition().is_none()
}

/// A job this one needs runs a `ringfence gate` step that fails it on refusal, and this job does
/// not run anyway (`always()`, `failure()`, `cancelled()` in its `if:`).
fn needed_job_gates(job: &Job<'_>, dep: &Job<'_>) -> bool {
    let runs_anyway = job.condition().and_then(Node::as_str).is_some_and(|c| {
        let c = c.to_ascii_lowercase();
        c.contains("always()") || c.contains("failure()") || c.contains("cancelled()")
    });
    !runs_anyway && dep.steps.iter().any(|s| is_ringfence_gate(s) && fails_job_on_refusal(s))
}

/// `uses: OWNER/ringfence/gate@REF`, or a `run:` line that invokes `ringfence gate`.
fn is_ringfence_gate(step: &super::Step<'_>) -> bool {
    if let Some(action) = step.action() {
        return action.ends_with("/ringfence/gate") || action == "./gate";
    }
    step.run().and_then(Node::as_str).is_some_and(|script| {
        script.lines().any(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            words.windows(2).any(|w| (w[0] == "ringfence" || w[0].ends_with("/ringfence")) && w[1] == "gate")
        })
    })
}

/// Actions and API calls that look up the actor's permission on the repository.
fn checks_permission(step: &Node) -> bool {
    if super::ghaw::checks_roles(step) {
        return true;
    }
    const ACTIONS: &[&str] = &[
        "actions-cool/check-user-permission",
        "prince-chrismc/check-actor-permissions-action",
        "sushichop/action-repository-permission",
        "lannonbr/repo-permission-check-action",
        "tspascoal/get-user-teams-membership",
        "skjnldsv/check-actor-permission",
    ];
    if let Some(uses) = step.get("uses").and_then(Node::as_str) {
        let uses = uses.to_ascii_lowercase();
        if ACTIONS.iter().any(|a| uses.starts_with(a)) {
            return true;
        }
    }
    let script =
        step.get("run").or_else(|| step.get("with").and_then(|w| w.get("script"))).and_then(Node::as_str);
    script.is_some_and(|s| {
        s.contains("getCollaboratorPermissionLevel")
            || s.contains("/permission")
            || s.contains("checkMembershipForUser")
            || s.contains("author_association")
    })
}

const TRUSTED_ASSOCIATIONS: &[&str] = &["OWNER", "MEMBER", "COLLABORATOR"];
const ACTOR_CONTEXTS: &[&str] = &[
    "github.actor",
    "github.triggering_actor",
    "github.event.sender.login",
    "github.event.comment.user.login",
    "github.event.issue.user.login",
    "github.event.pull_request.user.login",
    "github.event.review.user.login",
];

/// What one condition does; `&&` keeps the strongest side, `||` the weakest.
pub fn analyse(expr: &Expr) -> Gate {
    match &expr.kind {
        ExprKind::Binary { op: BinOp::And, lhs, rhs } => analyse(lhs).and(analyse(rhs)),
        ExprKind::Binary { op: BinOp::Or, lhs, rhs } => analyse(lhs).or(analyse(rhs)),
        ExprKind::Binary { op, lhs, rhs } if matches!(op, BinOp::Eq | BinOp::Ne) => comparison(*op, lhs, rhs),
        ExprKind::Not(inner) => {
            let path = inner.as_context().map(|c| c.pattern()).unwrap_or_default();
            if path == "github.event.pull_request.head.repo.fork" {
                Gate::same_repo("the pull request must come from this repository, not a fork")
            } else {
                Gate { holds: false, same_repo: false, needs_allowed: Vec::new(), ..analyse(inner) }
            }
        }
        ExprKind::Call { func, args } => call(&func.to_ascii_lowercase(), args),
        _ => Gate::default(),
    }
}

fn comparison(op: BinOp, lhs: &Expr, rhs: &Expr) -> Gate {
    let (ctx, other) = match (lhs.as_context(), rhs.as_context()) {
        (Some(c), _) if rhs.as_context().is_none() || is_repo(rhs) => (c.pattern(), rhs),
        (_, Some(c)) => (c.pattern(), lhs),
        _ => return Gate::default(),
    };
    let literal = other.as_string().unwrap_or("");
    let eq = op == BinOp::Eq;
    // `needs.<job>.outputs.<name> == 'true'`: kept as `needs:<job>.<name>`, resolved against the
    // needed job's outputs in `gate_for`.
    if let Some((job, name)) = ctx.strip_prefix("needs.").and_then(|rest| rest.split_once(".outputs."))
        && !job.contains('*')
        && !name.contains(['*', '.'])
    {
        let says_true = literal == "true" || other.kind == ExprKind::Bool(true);
        return if eq && says_true {
            Gate { needs_allowed: vec![format!("needs:{job}.{name}")], ..Gate::default() }
        } else {
            Gate::default()
        };
    }
    if let Some(id) = ctx.strip_prefix("steps.").and_then(|rest| rest.strip_suffix(".outputs.allowed"))
        && !id.contains('*')
    {
        let says_true = literal == "true" || other.kind == ExprKind::Bool(true);
        // Only `== 'true'`: `!= 'false'` also passes when the gate step never wrote its output.
        return if eq && says_true {
            Gate { needs_allowed: vec![id.to_string()], ..Gate::default() }
        } else {
            Gate::default()
        };
    }
    if ctx.ends_with(".author_association") {
        return if eq && TRUSTED_ASSOCIATIONS.contains(&literal.to_ascii_uppercase().as_str()) {
            Gate::strong("the author association must be owner, member or collaborator")
        } else {
            Gate::weak("an author-association check that contributors and first-timers pass")
        };
    }
    if ACTOR_CONTEXTS.contains(&ctx.as_str()) {
        return if eq && !literal.is_empty() {
            Gate::strong("the actor must be a named account")
        } else {
            Gate::weak("an actor check that excludes some accounts but admits everyone else")
        };
    }
    if ctx == "github.event.pull_request.head.repo.full_name" && is_repo(other) {
        return if eq {
            Gate::same_repo("the pull request must come from this repository")
        } else {
            Gate::default()
        };
    }
    if ctx == "github.event.pull_request.head.repo.fork" {
        return if (other.kind == ExprKind::Bool(false)) == eq {
            Gate::same_repo("the pull request must come from this repository, not a fork")
        } else {
            Gate::default()
        };
    }
    if ctx == "github.event_name" && eq && !literal.is_empty() {
        return if triggers::event_is_outside(literal) {
            Gate::default()
        } else {
            Gate::strong("the agent runs only for an event outside users cannot fire")
        };
    }
    if ctx.contains(".label") || ctx.contains(".labels") {
        return Gate::weak(
            "a label check (labels can come from issue templates, and triagers add them on request)",
        );
    }
    if ctx.ends_with(".body") || ctx.ends_with(".title") {
        return Gate::weak("a check on text the author writes");
    }
    if ctx == "github.repository" || ctx == "github.repository_owner" {
        return Gate::weak("a repository check, which stops forks running it but not outside users");
    }
    Gate::default()
}

fn is_repo(e: &Expr) -> bool {
    e.as_context().is_some_and(|c| c.pattern() == "github.repository")
}

fn call(func: &str, args: &[Expr]) -> Gate {
    let [haystack, needle] = args else { return Gate::default() };
    let needle_ctx = needle.as_context().map(|c| c.pattern()).unwrap_or_default();
    let hay_ctx = haystack.as_context().map(|c| c.pattern()).unwrap_or_default();
    if func == "contains" && needle_ctx.ends_with(".author_association") {
        let list = literal_text(haystack).to_ascii_uppercase();
        let outsider = ["NONE", "CONTRIBUTOR", "FIRST_TIME_CONTRIBUTOR", "FIRST_TIMER", "MANNEQUIN"];
        return if !list.is_empty()
            && !outsider.iter().any(|o| list.contains(&format!("\"{o}\"")) || list == *o)
        {
            Gate::strong("the author association must be in a trusted list")
        } else {
            Gate::weak("an author-association list that includes outside users")
        };
    }
    if func == "contains"
        && ACTOR_CONTEXTS.contains(&needle_ctx.as_str())
        && !literal_text(haystack).is_empty()
    {
        return Gate::strong("the actor must be in an allowlist");
    }
    if hay_ctx.ends_with(".body") || hay_ctx.ends_with(".title") {
        return Gate::weak("a trigger phrase in text the author writes (anyone can type it)");
    }
    if hay_ctx.contains("label") {
        return Gate::weak(
            "a label check (labels can come from issue templates, and triagers add them on request)",
        );
    }
    Gate::default()
}

/// The literal text of `fromJSON('[…]')` or `'…'`, where allowlists are written.
fn literal_text(e: &Expr) -> String {
    match &e.kind {
        ExprKind::String(s) => s.clone(),
        ExprKind::Call { func, args } if func.eq_ignore_ascii_case("fromjson") => {
            args.first().map(literal_text).unwrap_or_default()
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(src: &str) -> Gate {
        analyse(&gha_expr::parse(src).unwrap())
    }

    #[test]
    fn holding_gates() {
        assert!(gate("github.event.comment.author_association == 'OWNER'").holds);
        assert!(
            gate("contains(fromJSON('[\"OWNER\",\"MEMBER\"]'), github.event.comment.author_association)")
                .holds
        );
        assert!(gate("github.actor == 'octocat'").holds);
        assert!(gate("github.event.pull_request.head.repo.full_name == github.repository").holds);
        assert!(gate("contains(github.event.comment.body, '@claude') && github.actor == 'me'").holds);
        assert!(gate("github.event_name == 'workflow_dispatch'").holds);
        assert!(gate("github.event.pull_request.head.repo.full_name == github.repository").same_repo);
        assert!(gate("!github.event.pull_request.head.repo.fork && github.actor != 'x'").same_repo);
        assert!(!gate("github.event.comment.author_association == 'OWNER'").same_repo);
        assert!(!gate("github.event.pull_request.head.repo.fork == false || github.actor == 'me'").same_repo);
    }

    #[test]
    fn ringfence_gate_output_conditions() {
        assert_eq!(gate("steps.gate.outputs.allowed == 'true'").needs_allowed, ["gate"]);
        assert_eq!(
            gate("steps.g.outputs.allowed == 'true' && github.event_name == 'issue_comment'").needs_allowed,
            ["g"]
        );
        assert!(gate("steps.gate.outputs.allowed != 'false'").needs_allowed.is_empty());
        assert!(gate("!(steps.gate.outputs.allowed == 'true')").needs_allowed.is_empty());
        assert!(gate("steps.gate.outputs.allowed == 'true' || always()").needs_allowed.is_empty());
        assert!(gate("steps.gate.outputs.reason == 'true'").needs_allowed.is_empty());
        assert_eq!(gate("needs.Gate.outputs.OK == 'true'").needs_allowed, ["needs:gate.ok"]);
        assert!(gate("needs.gate.outputs.ok != 'false'").needs_allowed.is_empty());
    }

    #[test]
    fn gates_that_do_not_hold() {
        assert!(!gate("contains(github.event.comment.body, '@claude')").holds);
        assert!(!gate("github.event.label.name == 'ai'").holds);
        assert!(!gate("github.actor != 'dependabot[bot]'").holds);
        assert!(!gate("github.event.comment.author_association != 'NONE'").holds);
        assert!(!gate("github.actor == 'me' || contains(github.event.comment.body, '@claude')").holds);
        assert!(!gate("github.event_name == 'issue_comment'").holds);
        let g = gate("contains(github.event.comment.body, '@claude')");
        assert_eq!(g.weak.len(), 1);
    }
}
