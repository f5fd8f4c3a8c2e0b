//! The workflow model: jobs and steps as views over the span tree, plus what ringfence derives
//! from them (agents, triggers, gates, dataflow).

pub mod agents;
pub mod calls;
pub mod catalogue;
pub mod dataflow;
pub mod gates;
pub mod ghaw;
pub mod taint;
pub mod triggers;

use crate::source::{FileKind, SourceFile};
use crate::yaml::Node;

pub use agents::{Agent, AgentTool, Launch};
pub use triggers::Triggers;

/// A workflow file, a Copilot setup-steps file, or a composite action (one job, no triggers).
pub struct Workflow<'a> {
    pub file: &'a SourceFile,
    pub root: &'a Node,
    /// The `on:` the triggers are read from: the file's own, or its caller's.
    pub on: Option<&'a Node>,
    pub triggers: Triggers<'a>,
    pub jobs: Vec<Job<'a>>,
    /// The other files of the run, to resolve local `uses:` (none when audited alone).
    pub repo: Option<calls::Repo<'a>>,
}

pub struct Job<'a> {
    pub id: &'a str,
    /// The job's key in `jobs:` (where job-level findings point when no better place exists).
    pub key: &'a Node,
    pub node: &'a Node,
    pub steps: Vec<Step<'a>>,
    pub agents: Vec<Agent<'a>>,
}

pub struct Step<'a> {
    pub index: usize,
    pub node: &'a Node,
}

impl<'a> Workflow<'a> {
    pub fn new(file: &'a SourceFile) -> Self {
        let root = &file.root;
        let jobs = match file.kind {
            FileKind::Action => composite_job(root).into_iter().collect(),
            _ => root
                .get("jobs")
                .map(|jobs| jobs.entries().filter_map(|(k, v)| Job::new(k, v, file.kind)).collect())
                .unwrap_or_default(),
        };
        let on = root.get("on");
        Self { file, root, on, triggers: Triggers::new(on), jobs, repo: None }
    }

    /// A local reusable workflow or composite action as run by a caller: the caller's events
    /// (`on`) start it.
    pub fn called(file: &'a SourceFile, on: Option<&'a Node>, repo: calls::Repo<'a>) -> Self {
        Self { on, triggers: Triggers::new(on), repo: Some(repo), ..Self::new(file) }
    }

    /// The local workflow or composite action a `uses:` of this file names, when it is in the
    /// run.
    pub fn callee(&self, uses: &str) -> Option<&'a SourceFile> {
        self.repo?.callee(self.file, uses)
    }

    pub fn job(&self, id: &str) -> Option<&Job<'a>> {
        self.jobs.iter().find(|j| j.id == id)
    }

    pub fn env(&self) -> Option<&'a Node> {
        self.root.get("env")
    }

    /// Does any job run an agent?
    pub fn has_agents(&self) -> bool {
        self.jobs.iter().any(|j| !j.agents.is_empty())
    }
}

fn composite_job(root: &Node) -> Option<Job<'_>> {
    let runs = root.get("runs")?;
    let (key, _) = root.entry("runs")?;
    let steps = runs.get("steps")?;
    Some(Job::from_steps("composite", key, runs, steps, FileKind::Action))
}

impl<'a> Job<'a> {
    fn new(key: &'a Node, node: &'a Node, kind: FileKind) -> Option<Self> {
        let id = key.as_str()?;
        let empty: &'static Node = &EMPTY;
        let steps = node.get("steps").unwrap_or(empty);
        Some(Self::from_steps(id, key, node, steps, kind))
    }

    fn from_steps(id: &'a str, key: &'a Node, node: &'a Node, steps: &'a Node, kind: FileKind) -> Self {
        let steps: Vec<Step<'a>> =
            steps.items().iter().enumerate().map(|(index, node)| Step { index, node }).collect();
        let mut agents: Vec<Agent<'a>> = steps.iter().flat_map(agents::detect).collect();
        // An install step is only the agent's launch when no visible command starts that agent.
        let started: Vec<AgentTool> =
            agents.iter().filter(|a| matches!(a.launch, Launch::Run { .. })).map(|a| a.tool).collect();
        agents.retain(|a| !matches!(a.launch, Launch::Installed { .. }) || !started.contains(&a.tool));
        // The Copilot coding agent itself runs after the setup job, with its environment.
        if kind == FileKind::CopilotSetup && id == "copilot-setup-steps" {
            agents.push(Agent::copilot(key));
        }
        Self { id, key, node, steps, agents }
    }

    pub fn env(&self) -> Option<&'a Node> {
        self.node.get("env")
    }

    pub fn condition(&self) -> Option<&'a Node> {
        self.node.get("if")
    }

    /// `uses:` of a job that calls a reusable workflow.
    pub fn uses(&self) -> Option<&'a Node> {
        self.node.get("uses")
    }

    pub fn needs(&self) -> Vec<&'a str> {
        self.node
            .get("needs")
            .map(|n| n.strings().iter().filter_map(|s| s.as_str()).collect())
            .unwrap_or_default()
    }

    pub fn step_by_id(&self, id: &str) -> Option<&Step<'a>> {
        self.steps.iter().find(|s| s.id() == Some(id))
    }
}

static EMPTY: Node =
    Node { value: crate::yaml::Value::Seq(Vec::new()), span: crate::yaml::Span { start: ZERO, end: ZERO } };
const ZERO: crate::yaml::Pos = crate::yaml::Pos { line: 0, col: 0, byte: 0 };

impl<'a> Step<'a> {
    pub fn id(&self) -> Option<&'a str> {
        self.node.get("id").and_then(Node::as_str)
    }

    pub fn uses(&self) -> Option<&'a Node> {
        self.node.get("uses")
    }

    /// `owner/repo[/path]` of a `uses:` without the `@ref`, lowercased for comparison.
    pub fn action(&self) -> Option<String> {
        let uses = self.uses()?.as_str()?;
        Some(uses.split('@').next().unwrap_or(uses).to_ascii_lowercase())
    }

    pub fn run(&self) -> Option<&'a Node> {
        self.node.get("run")
    }

    pub fn with(&self, key: &str) -> Option<&'a Node> {
        self.node.get("with")?.get(key)
    }

    pub fn with_entries(&self) -> impl Iterator<Item = (&'a Node, &'a Node)> {
        self.node.get("with").into_iter().flat_map(|w| w.entries())
    }

    pub fn env(&self) -> Option<&'a Node> {
        self.node.get("env")
    }

    pub fn condition(&self) -> Option<&'a Node> {
        self.node.get("if")
    }

    /// Where a finding about the whole step points: its `uses:` or `run:` value, else the step.
    pub fn anchor(&self) -> &'a Node {
        self.uses().or_else(|| self.run()).unwrap_or(self.node)
    }
}
