//! `mcp-unpinned-server`: MCP servers started from unpinned packages or images.

use super::{Rule, RuleMeta, Sink};
use crate::finding::{Category, Confidence, Severity};
use crate::source::SourceFile;
use crate::yaml::Node;

pub struct McpUnpinnedServer;

static META: RuleMeta = RuleMeta {
    id: "mcp-unpinned-server",
    category: Category::SupplyChain,
    summary: "an MCP server is started with `npx`, `uvx` or `docker` without a pinned version",
    why: "The server runs with the agent's rights and environment every time it starts; an unpinned \
          package or image lets its publisher change that code at any time.",
};

/// Launchers that fetch what they run, and how a pinned reference looks for each.
fn unpinned(command: &str, args: &[&str]) -> Option<String> {
    let target = args.iter().find(|a| !a.starts_with('-') && **a != "run" && **a != "dlx")?;
    let pinned = match command {
        "npx" | "bunx" | "pnpx" | "pnpm" => {
            target.rsplit_once('@').is_some_and(|(n, v)| !n.is_empty() && v != "latest")
        }
        "uvx" | "pipx" => target.contains("==") || target.contains('@'),
        "docker" => {
            let image = args.iter().rev().find(|a| !a.starts_with('-'))?;
            return (!image.contains("@sha256:")).then(|| format!("`{image}` is not pinned by digest"));
        }
        _ => return None,
    };
    (!pinned).then(|| format!("`{target}` is fetched without a pinned version"))
}

impl Rule for McpUnpinnedServer {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn mcp(&self, file: &SourceFile, out: &mut Sink<'_>) {
        check_servers(file.root.get("mcpServers"), out);
    }

    fn claude_settings(&self, file: &SourceFile, out: &mut Sink<'_>) {
        check_servers(file.root.get("mcpServers"), out);
    }
}

fn check_servers(servers: Option<&Node>, out: &mut Sink<'_>) {
    for (name, server) in servers.into_iter().flat_map(|s| s.entries()) {
        let Some(command) = server.get("command") else { continue };
        let cmd = command.as_str().unwrap_or("");
        let args: Vec<&str> = server
            .get("args")
            .map(|a| a.items().iter().filter_map(|n| n.as_str()).collect())
            .unwrap_or_default();
        if let Some(why) = unpinned(cmd.rsplit('/').next().unwrap_or(cmd), &args) {
            out.add(
                command.span,
                Severity::Medium,
                Confidence::High,
                format!("MCP server `{}`: {why}", name.as_str().unwrap_or("?")),
                "pin an exact version (`pkg@1.2.3`, `pkg==1.2.3`) or an image digest",
            );
        }
    }
}
