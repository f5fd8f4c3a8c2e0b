//! `tools:` — rules for the Claude Code hook.

use super::reader::{R, fields, string, strings};
use crate::error::Located;
use crate::tools::{BashRules, CommandRule, PathRules, ToolVerdict, Tools};
use crate::yaml::Node;

pub(super) fn tools(node: &Node) -> R<Tools> {
    let f = fields(node, "tools", &["bash", "write", "read", "deny", "ask", "unseen", "log"])?;
    let mut out = Tools { unseen: ToolVerdict::Deny, ..Tools::default() };
    if let Some(n) = f.get("bash") {
        out.bash = bash(n)?;
    }
    if let Some(n) = f.get("write") {
        out.write = path_rules(n, "tools.write")?;
    }
    if let Some(n) = f.get("read") {
        out.read = path_rules(n, "tools.read")?;
    }
    if let Some(n) = f.get("deny") {
        out.deny_tools = names(n, "tools.deny")?;
    }
    if let Some(n) = f.get("ask") {
        out.ask_tools = names(n, "tools.ask")?;
    }
    if let Some(n) = f.get("unseen") {
        out.unseen = refusal(n, "tools.unseen")?;
    }
    if let Some(n) = f.get("log") {
        let path = string(n, "tools.log")?;
        if !path.starts_with('/') {
            return Err(Located::new(
                n.pos,
                format!("`tools.log`: `{path}` is not an absolute path"),
                "name the JSONL file by its absolute path",
            ));
        }
        out.log = Some(path.to_string());
    }
    Ok(out)
}

fn bash(node: &Node) -> R<BashRules> {
    let f = fields(node, "tools.bash", &["deny", "ask", "allow", "otherwise"])?;
    let mut out = BashRules { otherwise: ToolVerdict::Ask, ..BashRules::default() };
    if let Some(n) = f.get("deny") {
        out.deny = commands(n, "tools.bash.deny")?;
    }
    if let Some(n) = f.get("ask") {
        out.ask = commands(n, "tools.bash.ask")?;
    }
    if let Some(n) = f.get("allow") {
        out.allow = commands(n, "tools.bash.allow")?;
    }
    if let Some(n) = f.get("otherwise") {
        out.otherwise = refusal(n, "tools.bash.otherwise")?;
    }
    Ok(out)
}

/// `deny` or `ask`: the two answers a rule about the unknown may give.
fn refusal(node: &Node, path: &str) -> R<ToolVerdict> {
    match string(node, path)? {
        "deny" => Ok(ToolVerdict::Deny),
        "ask" => Ok(ToolVerdict::Ask),
        other => Err(Located::new(
            node.pos,
            format!("`{path}`: found `{other}`, expected `deny` or `ask`"),
            "`deny` refuses and tells the agent why; `ask` waits for a person",
        )),
    }
}

fn commands(node: &Node, path: &str) -> R<Vec<CommandRule>> {
    let mut out = Vec::new();
    for (text, item) in strings(node, path)? {
        let words: Vec<&str> = text.split_whitespace().collect();
        let bad = words.iter().find(|w| w.chars().any(|c| !(c.is_alphanumeric() || "._+-:@".contains(c))));
        if words.is_empty() || bad.is_some() {
            return Err(Located::new(
                item.pos,
                format!("`{path}`: `{text}` is not a program name or a program and subcommand"),
                "write a program's name as it is run (`curl`), or it and its subcommand (`git push`); paths and shell syntax are not rules",
            ));
        }
        out.push(CommandRule {
            program: words[0].to_string(),
            subcommand: words[1..].iter().map(|w| w.to_string()).collect(),
        });
    }
    Ok(out)
}

fn path_rules(node: &Node, path: &str) -> R<PathRules> {
    let f = fields(node, path, &["deny", "ask"])?;
    let mut out = PathRules::default();
    if let Some(n) = f.get("deny") {
        out.deny = patterns(n, &format!("{path}.deny"))?;
    }
    if let Some(n) = f.get("ask") {
        out.ask = patterns(n, &format!("{path}.ask"))?;
    }
    Ok(out)
}

fn patterns(node: &Node, path: &str) -> R<Vec<String>> {
    let mut out = Vec::new();
    for (text, item) in strings(node, path)? {
        if text.is_empty() || text.split('/').any(|part| part == "..") {
            return Err(Located::new(
                item.pos,
                format!("`{path}`: `{text}` is not a path pattern"),
                "write an absolute, `~/` or project-relative pattern without `..`; `*` matches within a name, `**` across directories",
            ));
        }
        out.push(text.to_string());
    }
    Ok(out)
}

fn names(node: &Node, path: &str) -> R<Vec<String>> {
    let mut out = Vec::new();
    for (text, item) in strings(node, path)? {
        if text.is_empty() || text.chars().any(|c| !(c.is_alphanumeric() || "_-*".contains(c))) {
            return Err(Located::new(
                item.pos,
                format!("`{path}`: `{text}` is not a tool name"),
                "write a tool name as Claude Code reports it (`WebFetch`, `mcp__server__tool`), `*` for any run of characters",
            ));
        }
        out.push(text.to_string());
    }
    Ok(out)
}
