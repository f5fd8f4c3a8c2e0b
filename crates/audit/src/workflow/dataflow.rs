//! Following attacker-controlled text from the event into a value: directly, through `env:`
//! (step, job, workflow and `$GITHUB_ENV`), step and job outputs, shell variables, and files
//! written by earlier steps.

use std::ops::Range;

use super::calls::Call;
use super::taint::{
    Taint, action_fetches_untrusted_text, context_taint, fetches_untrusted_text,
    script_fetches_untrusted_text,
};
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
    /// The caller that passed values down, when this workflow or action is analysed as called
    /// from a file of the same repository.
    pub call: Option<&'w Call<'w, 'a>>,
}

impl<'w, 'a> Scope<'w, 'a> {
    pub fn new(wf: &'w Workflow<'a>, job: &'w Job<'a>, step: Option<usize>) -> Self {
        Self { wf, job, step, call: None }
    }

    pub fn called(
        wf: &'w Workflow<'a>,
        job: &'w Job<'a>,
        step: Option<usize>,
        call: Option<&'w Call<'w, 'a>>,
    ) -> Self {
        Self { wf, job, step, call }
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

    pub(crate) fn templates_at(self, text: &str, depth: usize) -> Vec<(Range<usize>, Flow)> {
        let mut out = Vec::new();
        for t in gha_expr::templates(text) {
            let Ok(expr) = gha_expr::parse(t.inner) else { continue };
            for (source, fields) in expr.value_sources_with_fields() {
                if let Some(ctx) = source.as_context() {
                    for flow in self.context_fields(&ctx.pattern(), &fields, depth) {
                        out.push((t.start..t.end, flow));
                    }
                }
            }
        }
        out
    }

    /// Flows into a context reference such as `env.X` or `steps.a.outputs.b`.
    pub fn context(self, path: &str, depth: usize) -> Vec<Flow> {
        self.context_fields(path, &[], depth)
    }

    /// [`Scope::context`] for the members `fields` read from the value after `fromJSON`.
    fn context_fields(self, path: &str, fields: &[String], depth: usize) -> Vec<Flow> {
        if depth > MAX_DEPTH {
            return Vec::new();
        }
        // A called workflow's or action's input holds what its caller passed in `with:`.
        if let (Some(call), Some(name)) = (self.call, path.strip_prefix("inputs.")) {
            return call
                .input(name, depth + 1)
                .into_iter()
                .map(|f| f.through(format!("{path} from {}", call.label)))
                .collect();
        }
        if let Some(taint) = context_taint(path) {
            return vec![Flow { source: path.to_string(), taint, via: Vec::new() }];
        }
        let parts: Vec<&str> = path.split('.').collect();
        match parts.as_slice() {
            ["env", name] => self.env(name, depth + 1),
            ["steps", id, "outputs", name] => self.step_output(id, Some(name), fields, depth + 1),
            ["steps", id, "outputs", ..] => self.step_output(id, None, &[], depth + 1),
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
        // A composite action's steps run in the caller's job and see its environment.
        if out.is_empty()
            && let Some(call) = self.call.filter(|c| c.composite)
        {
            return call.scope.env(name, depth + 1);
        }
        out.into_iter().map(|f| f.through("$GITHUB_ENV".to_string())).collect()
    }

    fn step_output(self, id: &str, name: Option<&str>, fields: &[String], depth: usize) -> Vec<Flow> {
        let Some(step) = self.earlier_steps().iter().find(|s| s.id() == Some(id)) else { return Vec::new() };
        let scope = self.at(Some(step.index));
        if let Some(script) = step.run().and_then(Node::as_str) {
            if !script.contains("GITHUB_OUTPUT") {
                return Vec::new();
            }
            if !fields.is_empty() && json_field_is_plain(script, fields) {
                return Vec::new();
            }
            // Where every write to $GITHUB_OUTPUT names its output and uses only variables whose
            // origin is visible, follow the commands that write this output; otherwise any
            // tainted source in the script is taken to reach it.
            if let Some(ranges) = name.and_then(|n| scope.output_writes(script, n)) {
                return ranges.into_iter().flat_map(|r| scope.script(script, r, depth)).collect();
            }
            return scope.script(script, 0..script.len(), depth);
        }
        let mut out = Vec::new();
        let action = step.action().unwrap_or_default();
        if action == "actions/github-script" {
            let script = step.with("script").and_then(Node::as_str).unwrap_or("");
            if reads_payload_text(script) {
                out.push(Flow {
                    source: "context.payload (event text)".into(),
                    taint: Taint::Attacker,
                    via: vec![],
                });
            } else if script_fetches_untrusted_text(script) {
                out.push(Flow {
                    source: "issue or pull request text fetched by github-script".into(),
                    taint: Taint::Attacker,
                    via: vec![],
                });
            }
        }
        let input = |k: &str| step.with(k).and_then(Node::as_str).map(str::to_string);
        if action_fetches_untrusted_text(&action, input) {
            out.push(Flow {
                source: format!("issue or pull request text fetched by `{action}`"),
                taint: Taint::Attacker,
                via: vec![],
            });
        }
        for (_, value) in step.with_entries() {
            out.extend(scope.templates_at(value.as_str().unwrap_or(""), depth).into_iter().map(|(_, f)| f));
        }
        out
    }

    /// The byte ranges of the commands in `script` that write output `name` to $GITHUB_OUTPUT
    /// (`name=…`, or `name<<EOF` through the delimiter), or `None` when that cannot be told: an
    /// output written through a group (`{ …; } >> "$GITHUB_OUTPUT"`), a loop, a computed name,
    /// a variable whose value is not visible, or no visible write of `name` at all.
    fn output_writes(self, script: &str, name: &str) -> Option<Vec<Range<usize>>> {
        let mut ranges = Vec::new();
        let mut open: Option<(String, bool)> = None; // (delimiter, is this output)
        for cmd in shell::commands(script) {
            let writes = cmd.written_files().iter().any(|f| f.contains("GITHUB_OUTPUT"));
            if let Some((delim, ours)) = open.clone() {
                if ours {
                    ranges.push(cmd.raw.clone());
                }
                if cmd.words.iter().any(|w| w.text.trim() == delim) {
                    open = None;
                }
                continue;
            }
            if !writes {
                continue;
            }
            // `then echo …` on one line: the keyword is not the program.
            let skip =
                cmd.words.iter().take_while(|w| matches!(w.text.as_str(), "then" | "else" | "do")).count();
            let first = cmd.words.get(skip).map(|w| w.text.as_str()).unwrap_or("");
            if !matches!(first, "echo" | "printf") {
                return None;
            }
            let (out, delim) = assigned_output(&cmd.words[skip..], first)?;
            let ours = out == name;
            if ours {
                ranges.push(cmd.raw.clone());
            }
            if let Some(delim) = delim {
                open = Some((delim, ours));
            }
        }
        if ranges.is_empty() {
            return None;
        }
        // An output that names a file the script writes (`prompt-file=$prompt_file`) carries
        // whatever went into the file.
        let written: Vec<String> = shell::commands(script)
            .iter()
            .flat_map(|c| c.written_files().into_iter().map(str::to_string).collect::<Vec<_>>())
            .filter(|f| !f.contains("GITHUB_") && !f.starts_with("/dev/"))
            .collect();
        for range in &ranges {
            let text = script.get(range.clone()).unwrap_or("");
            let vars = shell::variables(text);
            let names_file = written.iter().any(|f| {
                text.contains(f.as_str())
                    || shell::variables(f)
                        .first()
                        .is_some_and(|v| f.trim_matches(['{', '}', '$']) == *v && vars.contains(v))
            });
            if names_file {
                return None;
            }
            for var in shell::variables(text) {
                if assignment_before(script, range.start, var).is_none() && !self.env_known(var) {
                    return None;
                }
            }
        }
        Some(ranges)
    }

    /// Is `name` declared in an `env:` the current step sees, set through $GITHUB_ENV by an
    /// earlier step, or one of the runner's own variables?
    fn env_known(self, name: &str) -> bool {
        const RUNNER: &[&str] = &["HOME", "PATH", "PWD", "CI", "RANDOM", "USER", "SHELL", "TMPDIR"];
        if RUNNER.contains(&name) || name.starts_with("GITHUB_") || name.starts_with("RUNNER_") {
            return true;
        }
        let step_env = self.step.and_then(|i| self.job.steps.get(i)).and_then(|s| s.env());
        let declared = [step_env, self.job.env(), self.wf.env()]
            .into_iter()
            .flatten()
            .any(|env| env.entries().any(|(k, _)| k.as_str().is_some_and(|k| k.eq_ignore_ascii_case(name))));
        declared
            || self
                .earlier_steps()
                .iter()
                .filter_map(|s| s.run().and_then(Node::as_str))
                .any(|script| script.contains("GITHUB_ENV") && script.contains(&format!("{name}=")))
    }

    fn job_output(self, job: &str, name: &str, depth: usize) -> Vec<Flow> {
        let Some(producer) = self.wf.job(job) else { return Vec::new() };
        let Some(value) = producer.node.get("outputs").and_then(|o| o.get(name)).and_then(Node::as_str)
        else {
            return Vec::new();
        };
        Scope { job: producer, step: None, ..self }
            .templates_at(value, depth)
            .into_iter()
            .map(|(_, f)| f)
            .collect()
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

    /// Files written by earlier steps with attacker text in them: `(path, flow)`. Taint moves
    /// between files in step order: a command that writes a file (`>`, `>>`, `tee`, `cp`, `mv`)
    /// and names a tainted file among its other words (`cat header.md body.md > task.md`)
    /// taints what it writes.
    pub fn tainted_files(self) -> Vec<(String, Flow)> {
        self.tainted_files_before(None)
    }

    /// [`Scope::tainted_files`], also counting the commands of the current step's own script
    /// that end before byte `offset` (`echo "$BODY" > task.txt; goose run -i task.txt`).
    pub fn tainted_files_before(self, offset: Option<usize>) -> Vec<(String, Flow)> {
        // A composite action's steps share the caller job's workspace: files its earlier steps
        // wrote are there too.
        let mut out: Vec<(String, Flow)> =
            self.call.filter(|c| c.composite).map(|c| c.scope.tainted_files()).unwrap_or_default();
        let current = offset.and_then(|_| self.step.and_then(|i| self.job.steps.get(i)));
        for step in self.earlier_steps().iter().chain(current) {
            let Some(script) = step.run().and_then(Node::as_str) else { continue };
            let mut commands = shell::commands(script);
            if Some(step.index) == self.step {
                commands.retain(|c| offset.is_some_and(|o| c.raw.end <= o));
            }
            for (n, cmd) in commands.iter().enumerate() {
                let files = targets(cmd);
                if files.is_empty() {
                    continue;
                }
                let mut range = cmd.raw.clone();
                // `echo "$BODY" | tee x`: what the pipeline before it prints goes into the file.
                let mut k = n;
                while k > 0
                    && script.get(commands[k - 1].raw.end..commands[k].raw.start).is_some_and(shell::is_pipe)
                {
                    k -= 1;
                    range.start = commands[k].raw.start;
                }
                if let Some(body) = cmd.words.iter().rev().find_map(|w| w.heredoc.clone()) {
                    range.end = range.end.max(body.end);
                }
                let mut flows = self.at(Some(step.index)).script(script, range, 1);
                let read: Vec<&str> = cmd
                    .words
                    .iter()
                    .map(|w| w.text.as_str())
                    .filter(|w| !files.contains(w) && !w.starts_with('-'))
                    .collect();
                for (path, flow) in &out {
                    let named = read.iter().any(|w| same_file(w, path));
                    if named && !flows.iter().any(|f| f.source == flow.source) {
                        flows.push(flow.clone());
                    }
                }
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

/// The files a command writes: redirections and `tee`, and the destination of `cp`/`mv`.
fn targets(cmd: &shell::Command) -> Vec<&str> {
    let mut files: Vec<&str> = cmd
        .written_files()
        .into_iter()
        .filter(|f| !f.contains("GITHUB_") && !f.starts_with("/dev/") && f.len() > 2)
        .collect();
    let words: Vec<&str> = cmd.words.iter().map(|w| w.text.as_str()).collect();
    if matches!(words.first(), Some(&"cp") | Some(&"mv"))
        && words.len() >= 3
        && let Some(dst) = words.last().filter(|d| !d.starts_with('-'))
    {
        files.push(dst);
    }
    files
}

/// Two spellings of one file path (`./task.md` and `task.md`, `$RUNNER_TEMP/x` and itself).
fn same_file(a: &str, b: &str) -> bool {
    let norm = |p: &str| p.trim_start_matches("./").to_string();
    let (a, b) = (norm(a), norm(b));
    a == b || (a.len() > 3 && (b.ends_with(&format!("/{a}")) || a.ends_with(&format!("/{b}"))))
}

/// The output an `echo`/`printf` command writes and, for `name<<DELIM`, the delimiter.
fn assigned_output(words: &[shell::Word], program: &str) -> Option<(String, Option<String>)> {
    // printf's first argument is the format (`'name=%s\n'`); echo's first non-option word.
    let word =
        words[1..].iter().map(|w| w.text.as_str()).find(|w| program == "printf" || !w.starts_with('-'))?;
    let ident_end =
        word.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')).unwrap_or(word.len());
    let (ident, rest) = word.split_at(ident_end);
    if ident.is_empty() {
        return None;
    }
    if rest.starts_with('=') {
        return Some((ident.to_string(), None));
    }
    let delim = rest.strip_prefix("<<")?;
    let delim = delim.trim_matches(|c: char| c == '\'' || c == '"' || c.is_whitespace());
    let delim = delim.split(|c: char| c.is_whitespace() || c == '\\').next().unwrap_or("");
    if delim.is_empty() || delim.contains('$') {
        return None;
    }
    Some((ident.to_string(), Some(delim.to_string())))
}

/// `fromJSON(steps.x.outputs.y).FIELD…` where the script builds the JSON with a jq object whose
/// `FIELD` is taken from a path of the issue or PR object that carries no author text
/// (`head_sha: .head.sha`), or, with no such object in sight, a field that is a number or a
/// commit SHA by name.
fn json_field_is_plain(script: &str, fields: &[String]) -> bool {
    use super::taint::context_taint;
    let Some(first) = fields.first() else { return false };
    let plain_path = |path: &str| {
        ["github.event.pull_request", "github.event.issue"]
            .iter()
            .all(|root| context_taint(&format!("{root}{path}")).is_none())
    };
    if let Some(path) = jq_projection(script, first) {
        let rest: String = fields[1..].iter().map(|f| format!(".{f}")).collect();
        return plain_path(&format!("{path}{rest}"));
    }
    let last = fields.last().map(String::as_str).unwrap_or("");
    matches!(last, "number" | "id" | "sha" | "node_id" | "draft" | "merged" | "state")
        || last.ends_with("_sha")
        || last.ends_with("_number")
}

/// `FIELD: .a.b` (optionally `(.a.b // …)`) in a jq object construction: `.a.b`, lowercased.
fn jq_projection(script: &str, field: &str) -> Option<String> {
    let lower = script.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = lower[from..].find(&format!("{field}:")) {
        let start = from + at;
        from = start + field.len() + 1;
        let before = lower[..start].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
            continue;
        }
        let rest = lower[from..].trim_start().trim_start_matches('(').trim_start();
        if !rest.starts_with('.') {
            return None;
        }
        let path: String =
            rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.').collect();
        return (path.len() > 1).then_some(path);
    }
    None
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
