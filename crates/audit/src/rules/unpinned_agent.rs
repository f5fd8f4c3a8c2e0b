//! `unpinned-agent`: the agent action or CLI is not pinned to an immutable version.

use super::{AgentCx, Rule, RuleMeta, Sink};
use crate::finding::{Category, Confidence, Severity};
use crate::shell;
use crate::workflow::Launch;
use crate::workflow::agents::AgentTool;

pub struct UnpinnedAgent;

static META: RuleMeta = RuleMeta {
    id: "unpinned-agent",
    category: Category::SupplyChain,
    summary: "an agent action is used by tag or branch, or an agent CLI is installed without a version",
    why: "Tags and `latest` move: whoever controls the action or package (or steals its publish token) \
          decides what runs next to your secrets (tj-actions, the Nx and Cline releases).",
};

fn is_sha(r: &str) -> bool {
    r.len() == 40 && r.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Rule for UnpinnedAgent {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn agent(&self, cx: &AgentCx<'_, '_>, out: &mut Sink<'_>) {
        match &cx.agent.launch {
            Launch::Action { uses, .. } => {
                let text = uses.as_str().unwrap_or("");
                let reference = text.split_once('@').map_or("", |(_, r)| r);
                if !is_sha(reference) {
                    out.add(
                        uses.span,
                        if cx.outside_events() { Severity::Medium } else { Severity::Low },
                        Confidence::High,
                        format!("`{text}` is not pinned to a commit"),
                        "pin the action to a full commit SHA (`@<40 hex>` with the tag in a comment) and update it deliberately",
                    );
                }
            }
            Launch::Run { .. } | Launch::Installed { .. } => self.unpinned_install(cx, out),
            Launch::Copilot => {}
        }
    }
}

impl UnpinnedAgent {
    fn unpinned_install(&self, cx: &AgentCx<'_, '_>, out: &mut Sink<'_>) {
        // Installs in this step and every earlier step of the job.
        let end = cx.agent.step.map_or(0, |i| i + 1);
        for step in cx.job.steps.iter().take(end) {
            let Some(run) = step.run() else { continue };
            let script = run.as_str().unwrap_or("");
            for cmd in shell::commands(script) {
                let words: Vec<&str> = cmd.words.iter().map(|w| w.text.as_str()).collect();
                for (i, w) in words.iter().enumerate() {
                    let Some(pkg) = package_of(cx.agent.tool) else { continue };
                    let unversioned = *w == pkg || w.ends_with(&format!("{pkg}@latest"));
                    let installer = words[..i].iter().any(|p| {
                        matches!(*p, "npm" | "npx" | "pnpm" | "yarn" | "bun" | "bunx" | "pip" | "pipx" | "uv")
                    });
                    if unversioned && installer {
                        out.add(
                            cx.file().subspan(run, cmd.words[i].raw.clone()),
                            Severity::Low,
                            Confidence::High,
                            format!("`{w}` is installed without a pinned version"),
                            "install an exact version (`npm i -g @anthropic-ai/claude-code@2.0.14`), ideally from a lockfile",
                        );
                    }
                }
            }
        }
    }
}

fn package_of(tool: AgentTool) -> Option<&'static str> {
    Some(match tool {
        AgentTool::Claude => "@anthropic-ai/claude-code",
        AgentTool::Codex => "@openai/codex",
        AgentTool::Gemini => "@google/gemini-cli",
        AgentTool::Aider => "aider-chat",
        AgentTool::OpenCode => "opencode-ai",
        _ => return None,
    })
}
