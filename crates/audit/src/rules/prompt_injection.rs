//! `prompt-injection`: attacker-controlled text reaches an agent's prompt, arguments or
//! environment.

use super::{AgentCx, Exposure, Rule, RuleMeta, Sink};
use crate::FileKind;
use crate::finding::{Category, Confidence, Severity};
use crate::workflow::Launch;
use crate::workflow::dataflow::Flow;
use crate::workflow::taint::Taint;
use crate::yaml::Span;

pub struct PromptInjection;

static META: RuleMeta = RuleMeta {
    id: "prompt-injection",
    category: Category::Injection,
    summary: "text an outside user writes reaches an agent's prompt, arguments or environment",
    why: "The model cannot tell instructions from data: issue or PR text in its prompt can tell it to run \
          commands, leak secrets or push code (PromptPwnd, Clinejection).",
};

const FIX: &str = "do not interpolate event text into the prompt; let the agent fetch it with a read-only tool, \
                   restrict its tools and token, and run it under an egress fence";

impl Rule for PromptInjection {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn agent(&self, cx: &AgentCx<'_, '_>, out: &mut Sink<'_>) {
        let scope = cx.scope();
        let file = cx.file();
        let mut hits: Vec<(Span, String, Flow)> = Vec::new();
        match &cx.agent.launch {
            Launch::Action { .. } => {
                for (key, value) in cx.step.into_iter().flat_map(|s| s.with_entries()) {
                    let name = key.as_str().unwrap_or("input");
                    let text = value.as_str().unwrap_or("");
                    for (range, flow) in scope.templates(text) {
                        hits.push((file.subspan(value, range), format!("input `{name}`"), flow));
                    }
                }
            }
            Launch::Run { node, command, .. } => {
                let script = node.as_str().unwrap_or("");
                for word in &command.words {
                    let range = word.heredoc.clone().unwrap_or(word.raw.clone());
                    for flow in scope.script(script, range.clone(), 0) {
                        hits.push((file.subspan(node, range.clone()), "the command line".into(), flow));
                    }
                }
            }
            _ => {}
        }
        // The agent reads its environment (PromptPwnd's prompt pointed the model at env vars).
        for (key, value) in cx.step.and_then(|s| s.env()).into_iter().flat_map(|e| e.entries()) {
            let name = key.as_str().unwrap_or("");
            for (range, flow) in scope.templates(value.as_str().unwrap_or("")) {
                hits.push((file.subspan(value, range), format!("environment variable `{name}`"), flow));
            }
        }
        // Files an earlier step filled with attacker text, named in the agent's inputs.
        // Where the agent can be told a file's name: a `run:` agent's own command line (from
        // the command on, so a write earlier in the script does not count as naming it) and
        // its step's env; an action's whole step.
        let inputs: String = match (&cx.agent.launch, cx.step) {
            (Launch::Run { node, command, .. }, Some(step)) => {
                let script = node.as_str().unwrap_or("");
                let env = step.env().map(|e| file.raw(e)).unwrap_or("");
                format!("{}\n{env}", script.get(command.raw.start..).unwrap_or(""))
            }
            (_, Some(step)) => file.raw(step.node).to_string(),
            _ => String::new(),
        };
        let before = match &cx.agent.launch {
            Launch::Run { command, .. } => Some(command.raw.start),
            _ => None,
        };
        for (path, flow) in scope.tainted_files_before(before) {
            let base = path.rsplit('/').next().unwrap_or(&path);
            if base.len() > 3 && inputs.contains(base) {
                hits.push((cx.agent.span(cx.file()), format!("the file `{path}`"), flow));
            }
        }
        // Values only maintainers write (`workflow_dispatch` inputs and the like) are theirs to
        // put in a prompt; in a reusable workflow or a composite action the caller decides, and
        // may pass event text.
        // A pull request that must come from a branch of this repository was written, title,
        // body and branch name, by someone with write access.
        if cx.gate.same_repo {
            for (_, _, flow) in &mut hits {
                if is_pull_request_text(&flow.source) {
                    flow.taint = Taint::Privileged;
                }
            }
        }
        let reusable =
            cx.wf.triggers.has("workflow_call") || (cx.call.is_none() && cx.file().kind == FileKind::Action);
        hits.retain(|(_, _, flow)| flow.taint != Taint::Privileged || reusable);
        for (span, target, flow) in dedup(hits) {
            let (severity, confidence) = rate(cx, &flow);
            let message = format!("{} reaches {} of {}", flow.describe(), target, cx.agent.tool.name());
            out.add(span, severity, confidence, message, FIX);
        }
    }
}

/// The pull request's own text (not comments or reviews on it).
fn is_pull_request_text(source: &str) -> bool {
    source == "github.head_ref" || source.starts_with("github.event.pull_request.")
}

fn dedup(mut hits: Vec<(Span, String, Flow)>) -> Vec<(Span, String, Flow)> {
    let mut seen = std::collections::HashSet::new();
    hits.retain(|(s, t, f)| seen.insert((s.start, t.clone(), f.source.clone())));
    hits
}

/// Outside users who can start the agent with their own text: critical. The text still reaches
/// a gated agent when a maintainer runs it on an outsider's issue: high; only maintainers can
/// fire the event: medium. Inputs of a reusable workflow, which its caller fills: low.
fn rate(cx: &AgentCx<'_, '_>, flow: &Flow) -> (Severity, Confidence) {
    let confidence = if flow.via.iter().any(|v| v.starts_with("file ") || v.starts_with("steps.")) {
        Confidence::Medium
    } else {
        Confidence::High
    };
    let severity = match (flow.taint, &cx.exposure) {
        (Taint::Privileged, _) => Severity::Low,
        (Taint::Attacker, Exposure::Outside { .. }) => Severity::Critical,
        (Taint::Attacker, Exposure::Gated(_)) => Severity::High,
        (Taint::Attacker, Exposure::Maintainers) => Severity::Medium,
    };
    (severity, confidence)
}
