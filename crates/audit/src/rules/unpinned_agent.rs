//! `unpinned-agent`: the agent action or CLI is not pinned to an immutable version.

use super::{AgentCx, Rule, RuleMeta, Sink};
use crate::finding::{Category, Confidence, Severity};
use crate::shell;
use crate::workflow::Launch;
use crate::workflow::{agents, catalogue};

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
            Launch::Copilot | Launch::Script { .. } => {}
        }
    }
}

impl UnpinnedAgent {
    fn unpinned_install(&self, cx: &AgentCx<'_, '_>, out: &mut Sink<'_>) {
        // The agent's own package (a bootstrapper such as `aider-install` pins nothing either way).
        let packages =
            catalogue::cli(cx.agent.tool).map_or(&[][..], |c| &c.packages[..c.packages.len().min(1)]);
        // Installs in this step and every earlier step of the job.
        let end = cx.agent.step.map_or(0, |i| i + 1);
        for step in cx.job.steps.iter().take(end) {
            let Some(run) = step.run() else { continue };
            let script = run.as_str().unwrap_or("");
            let commands = shell::commands(script);
            for (n, cmd) in commands.iter().enumerate() {
                let words: Vec<&str> = cmd.words.iter().map(|w| w.text.as_str()).collect();
                if let Some(url) = piped_installer(cmd, commands.get(n + 1), script) {
                    out.add(
                        cx.file().subspan(run, cmd.raw.clone()),
                        if cx.outside_events() { Severity::Medium } else { Severity::Low },
                        Confidence::High,
                        format!("`{url}` is downloaded and piped into a shell: whatever the server sends runs"),
                        "install a pinned package version, or download a release by version and check its digest before running it",
                    );
                    continue;
                }
                for (i, w) in words.iter().enumerate() {
                    let unversioned = packages.iter().any(|pkg| {
                        *w == *pkg
                            || *w == format!("{pkg}@latest")
                            || agents::package_name(w) == *pkg && w.contains('[') && !w.contains("==")
                    });
                    let installer = words[..i].iter().any(|p| {
                        matches!(
                            *p,
                            "npm"
                                | "npx"
                                | "pnpm"
                                | "yarn"
                                | "bun"
                                | "bunx"
                                | "pip"
                                | "pip3"
                                | "pipx"
                                | "uv"
                                | "uvx"
                        )
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

/// `curl -fsSL URL | bash` (or `wget -qO- URL | sh`): the URL, when the next command in the
/// pipeline is a shell.
fn piped_installer<'s>(
    cmd: &'s shell::Command,
    next: Option<&shell::Command>,
    script: &str,
) -> Option<&'s str> {
    let first = cmd.words.first()?.text.as_str();
    if !matches!(first, "curl" | "wget") {
        return None;
    }
    let next = next?;
    let between = script.get(cmd.raw.end..next.raw.start)?;
    if !crate::shell::is_pipe(between) {
        return None;
    }
    // `| sudo -E bash`, `| CONFIGURE=false bash`: skip wrappers and assignments.
    let shell_word = next
        .words
        .iter()
        .map(|w| w.text.as_str())
        .find(|w| !matches!(*w, "sudo" | "-E" | "env") && !w.contains('='))?;
    if !matches!(shell_word.rsplit('/').next()?, "bash" | "sh" | "zsh") {
        return None;
    }
    cmd.words.iter().map(|w| w.text.as_str()).find(|w| w.starts_with("http"))
}
