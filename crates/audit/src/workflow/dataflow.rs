//! Following attacker-controlled text from the event into a value: directly, through `env:`
//! (step, job, workflow and `$GITHUB_ENV`), step and job outputs, shell variables, and files
//! written by earlier steps.

use std::ops::Range;

use super::taint::{Taint, context_taint, fetches_untrusted_text};
use super::{Job, Workflow};
use crate::shell;
use crate::yaml::Node;

/// Cycles (`A: ${{ env.B }}`, `B: ${{ env.A }}`) and long chains stop here.
const MAX_DEPTH: usize = 6;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flow {
    /// Where the text comes from: a context path, or a description of an API fetch.
    pub source: String,
    pub taint: Taint,
    /// Intermediate carriers, outermost first (`env.TITLE`, `steps.meta.outputs.body`, a file).
    pub via: Vec<String>,
}

impl Flow {
    fn through(mut self, carrier: String) -> Self {
        self.via.insert(0, carrier);
        self
    }

    /// "`github.event.issue.body` through env.TITLE".
    pub fn describe(&self) -> String {
        if self.via.is_empty() {
            format!("`{}`", self.source)
        } else {
            format!("`{}` (through {})", self.source, self.via.join(" → "))
        }
    }
}

/// A point in a workflow: a job, and the step being evaluated (`None` = after the last step).
#[derive(Clone, Copy)]
pub struct Scope<'w, 'a> {
    pub wf: &'w Workflow<'a>,
    pub job: &'w Job<'a>,
    pub step: Option<usize>,
}

impl<'w, 'a> Scope<'w, 'a> {
    pub fn new(wf: &'w Workflow<'a>, job: &'w Job<'a>, step: Option<usize>) -> Self {
        Self { wf, job, step }
    }

    fn at(self, step: Option<usize>) -> Self {
        Self { step, ..self }
    }

    fn earlier_steps(&self) -> &'w [super::Step<'a>] {
        let end = self.step.unwrap_or(self.job.steps.len()).min(self.job.steps.len());
        &self.job.steps[..end]
    }

    /// Flows into each `${{ }}` of `text`, with the template's byte range in `text`.
    pub fn templates(self, text: &str) -> Vec<(Range<usize>, Flow)> {
        self.templates_at(text, 0)
    }

    fn templates_at(self, text: &str, depth: usize) -> Vec<(Range<usize>, Flow)> {
        let mut out = Vec::new();
        for t in gha_expr::templates(text) {
            let Ok(expr) = gha_expr::parse(t.inner) else { continue };
            for source in expr.value_sources() {
                if let Some(ctx) = source.as_context() {
                    for flow in self.context(&ctx.pattern(), depth) {
                        out.push((t.start..t.end, flow));
                    }
                }
            }
        }
        out
    }

    /// Flows into a context reference such as `env.X` or `steps.a.outputs.b`.
    pub fn context(self, path: &str, depth: usize) -> Vec<Flow> {
        if depth > MAX_DEPTH {
            return Vec::new();
        }
        if let Some(taint) = context_taint(path) {
            return vec![Flow { source: path.to_string(), taint, via: Vec::new() }];
        }
        let parts: Vec<&str> = path.split('.').collect();
        match parts.as_slice() {
            ["env", name] => self.env(name, depth + 1),
            ["steps", id, "outputs", ..] => self.step_output(id, depth + 1),
            ["needs", job, "outputs", name] => self.job_output(job, name, depth + 1),
            _ => Vec::new(),
        }
        .into_iter()
        .map(|f| f.through(path.to_string()))
        .collect()
    }

    /// Flows into the environment variable `name` as the current step sees it.
    pub fn env(self, name: &str, depth: usize) -> Vec<Flow> {
        let step_env = self.step.and_then(|i| self.job.steps.get(i)).and_then(|s| s.env());
        let declared = [step_env, self.job.env(), self.wf.env()].into_iter().flatten().find_map(|env| {
            env.entries().find(|(k, _)| k.as_str().is_some_and(|k| k.eq_ignore_ascii_case(name)))
        });
        if let Some((_, value)) = declared {
            // The step's own env is evaluated before the step, so its templates see earlier steps.
            return self
                .templates_at(value.as_str().unwrap_or(""), depth)
                .into_iter()
                .map(|(_, f)| f)
                .collect();
        }
        // Set by an earlier step through $GITHUB_ENV.
        let mut out = Vec::new();
        for step in self.earlier_steps() {
            let Some(script) = step.run().and_then(Node::as_str) else { continue };
            for cmd in shell::commands(script) {
                let writes_env = cmd.written_files().iter().any(|f| f.contains("GITHUB_ENV"));
                let text = script.get(cmd.raw.clone()).unwrap_or("");
                if writes_env && text.contains(&format!("{name}=")) {
                    out.extend(self.at(Some(step.index)).script(script, cmd.raw.clone(), depth + 1));
                }
            }
        }
        out.into_iter().map(|f| f.through("$GITHUB_ENV".to_string())).collect()
    }

    fn step_output(self, id: &str, depth: usize) -> Vec<Flow> {
        let Some(step) = self.earlier_steps().iter().find(|s| s.id() == Some(id)) else { return Vec::new() };
        let scope = self.at(Some(step.index));
        if let Some(script) = step.run().and_then(Node::as_str) {
            if !script.contains("GITHUB_OUTPUT") {
                return Vec::new();
            }
            // What reaches $GITHUB_OUTPUT is usually built over several commands; any tainted
            // source in the script is taken to reach the output.
            return scope.script(script, 0..script.len(), depth);
        }
        let mut out = Vec::new();
        if step.action().is_some_and(|a| a == "actions/github-script") {
            let script = step.with("script").and_then(Node::as_str).unwrap_or("");
            if reads_payload_text(script) {
                out.push(Flow {
                    source: "context.payload (event text)".into(),
                    taint: Taint::Attacker,
                    via: vec![],
                });
            }
        }
        for (_, value) in step.with_entries() {
            out.extend(scope.templates_at(value.as_str().unwrap_or(""), depth).into_iter().map(|(_, f)| f));
        }
        out
    }

    fn job_output(self, job: &str, name: &str, depth: usize) -> Vec<Flow> {
        let Some(producer) = self.wf.job(job) else { return Vec::new() };
        let Some(value) = producer.node.get("outputs").and_then(|o| o.get(name)).and_then(Node::as_str)
        else {
            return Vec::new();
        };
        Scope::new(self.wf, producer, None).templates_at(value, depth).into_iter().map(|(_, f)| f).collect()
    }

    /// Flows into a piece of a `run:` script: templates, shell variables (from `env:` or assigned
    /// earlier in the script) and API fetches of issue or PR text.
    pub fn script(self, script: &str, range: Range<usize>, depth: usize) -> Vec<Flow> {
        if depth > MAX_DEPTH {
            return Vec::new();
        }
        let text = script.get(range.clone()).unwrap_or("");
        let mut out: Vec<Flow> = self.templates_at(text, depth).into_iter().map(|(_, f)| f).collect();
        if fetches_untrusted_text(text) {
            out.push(Flow {
                source: "issue or pull request text fetched with `gh`".into(),
                taint: Taint::Attacker,
                via: vec![],
            });
        }
        for var in shell::variables(text) {
            let assigned = assignment_before(script, range.start, var);
            let flows = match assigned {
                Some(assign) => self.script(script, assign, depth + 1),
                None => self.env(var, depth + 1),
            };
            out.extend(flows.into_iter().map(|f| f.through(format!("${var}"))));
        }
        out
    }

    /// Files written by earlier steps with attacker text in them: `(path, flow)`.
    pub fn tainted_files(self) -> Vec<(String, Flow)> {
        let mut out = Vec::new();
        for step in self.earlier_steps() {
            let Some(script) = step.run().and_then(Node::as_str) else { continue };
            for cmd in shell::commands(script) {
                let files: Vec<&str> = cmd
                    .written_files()
                    .into_iter()
                    .filter(|f| !f.contains("GITHUB_") && !f.starts_with("/dev/") && f.len() > 2)
                    .collect();
                if files.is_empty() {
                    continue;
                }
                let mut range = cmd.raw.clone();
                if let Some(body) = cmd.words.iter().rev().find_map(|w| w.heredoc.clone()) {
                    range.end = range.end.max(body.end);
                }
                let flows = self.at(Some(step.index)).script(script, range, 1);
                for file in files {
                    out.extend(
                        flows.iter().map(|f| (file.to_string(), f.clone().through(format!("file {file}")))),
                    );
                }
            }
        }
        out
    }
}

/// `VAR=…` or `export VAR=…` before `offset` in `script`: the byte range of the value.
fn assignment_before(script: &str, offset: usize, var: &str) -> Option<Range<usize>> {
    let prefix = format!("{var}=");
    shell::commands(script.get(..offset)?)
        .into_iter()
        .flat_map(|c| c.words)
        .rev()
        .find(|w| w.text.starts_with(&prefix))
        .map(|w| w.raw)
}

/// Does a github-script body read issue, PR, comment or review text from the event payload?
fn reads_payload_text(script: &str) -> bool {
    [
        "issue.body",
        "issue.title",
        "pull_request.body",
        "pull_request.title",
        "comment.body",
        "review.body",
        "head.ref",
    ]
    .iter()
    .any(|p| script.contains(&format!("payload.{p}")))
}

#[cfg(test)]
mod tests {
    use crate::source::{FileKind, SourceFile};
    use crate::workflow::Workflow;

    use super::*;

    fn flows(src: &str, job: &str, step: usize, text: &str) -> Vec<String> {
        let file = SourceFile::parse("w.yml".into(), src.into(), FileKind::Workflow).unwrap();
        let wf = Workflow::new(&file);
        let job = wf.job(job).unwrap();
        Scope::new(&wf, job, Some(step)).templates(text).into_iter().map(|(_, f)| f.describe()).collect()
    }

    #[test]
    fn through_env_and_outputs() {
        let src = r#"
on: issues
env:
  TITLE: ${{ github.event.issue.title }}
jobs:
  meta:
    runs-on: x
    outputs:
      body: ${{ steps.b.outputs.text }}
    steps:
      - id: b
        run: echo "text=$BODY" >> "$GITHUB_OUTPUT"
        env:
          BODY: ${{ github.event.issue.body }}
  agent:
    needs: meta
    runs-on: x
    steps:
      - run: echo
"#;
        assert_eq!(
            flows(src, "agent", 0, "${{ env.TITLE }}"),
            ["`github.event.issue.title` (through env.title)"]
        );
        let got = flows(src, "agent", 0, "${{ needs.meta.outputs.body }}");
        assert_eq!(
            got,
            ["`github.event.issue.body` (through needs.meta.outputs.body → steps.b.outputs.text → $BODY)"]
        );
        assert!(flows(src, "agent", 0, "${{ github.event.issue.number }}").is_empty());
    }
}
