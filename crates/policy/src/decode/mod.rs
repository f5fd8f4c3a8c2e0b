//! From the located YAML tree to a typed [`Policy`], validating as it goes.

mod dns;
mod egress;
mod gate;
mod reader;
mod sections;
mod tools;

use journal::Mode;

use crate::error::{Located, Pos, did_you_mean};
use crate::presets::{preset, preset_names};
use crate::schema::{Policy, SCHEMA_VERSION};
use crate::yaml::Node;
use reader::{R, fields, string, uint};

const TOP_KEYS: &[&str] = &[
    "version", "mode", "presets", "egress", "dns", "inspect", "secrets", "files", "env", "user", "limits",
    "budget", "gate", "tools",
];

/// Decodes the document root. `source` is the original text, used to locate entries inside block
/// strings such as `allowed-endpoints`.
pub(crate) fn decode(root: &Node, source: &str) -> R<Policy> {
    if !matches!(root.value, crate::yaml::Value::Map(_)) {
        return Err(Located::new(
            root.pos,
            format!("found {} at the top of the file, expected a mapping", root.kind()),
            "a policy starts with `version: 1` followed by `key: value` sections",
        ));
    }
    let top = fields(root, "ringfence.yml", TOP_KEYS)?;
    let Some(version) = top.get("version") else {
        return Err(Located::new(
            Pos { line: 1, column: 1 },
            "missing `version`",
            "add `version: 1` as the first line of the policy",
        ));
    };
    let v = uint(version, "version", "1")?;
    if v != SCHEMA_VERSION {
        return Err(Located::new(
            version.pos,
            format!("`version`: found `{v}`, expected `{SCHEMA_VERSION}`"),
            format!(
                "this ringfence understands schema version {SCHEMA_VERSION}; write `version: 1` or upgrade ringfence"
            ),
        ));
    }
    let mut policy = Policy::default();
    if let Some(node) = top.get("mode") {
        policy.mode = mode(node)?;
    }
    if let Some(node) = top.get("presets") {
        policy.presets = presets(node)?;
    }
    if let Some(node) = top.get("egress") {
        policy.egress = egress::egress(node, source)?;
    }
    if let Some(node) = top.get("dns") {
        policy.dns = dns::dns(node)?;
    }
    if let Some(node) = top.get("inspect") {
        let inspect = sections::inspect(node)?;
        policy.inspect = inspect.rules;
        policy.passthrough = inspect.passthrough;
        policy.cleartext_secrets = inspect.cleartext_secrets;
    }
    if let Some(node) = top.get("secrets") {
        policy.secrets = sections::secrets(node)?;
    }
    if let Some(node) = top.get("files") {
        policy.files = sections::files(node)?;
    }
    if let Some(node) = top.get("env") {
        policy.env = sections::env(node, &policy.secrets)?;
    }
    if let Some(node) = top.get("user") {
        policy.user = Some(sections::user(node)?);
    }
    if let Some(node) = top.get("limits") {
        policy.limits = sections::limits(node)?;
    }
    if let Some(node) = top.get("budget") {
        policy.budget = sections::budget(node)?;
    }
    if let Some(node) = top.get("gate") {
        policy.gate = Some(gate::gate(node)?);
    }
    if let Some(node) = top.get("tools") {
        policy.tools = tools::tools(node)?;
    }
    Ok(policy)
}

fn mode(node: &Node) -> R<Mode> {
    match string(node, "mode")? {
        "audit" => Ok(Mode::Audit),
        "block" => Ok(Mode::Block),
        other => {
            let hint = did_you_mean(other, &["audit", "block"])
                .map_or(String::new(), |s| format!("did you mean `{s}`? "));
            Err(Located::new(
                node.pos,
                format!("`mode`: found `{other}`, expected `audit` or `block`"),
                format!("{hint}`audit` records and allows everything, `block` enforces the policy"),
            ))
        }
    }
}

fn presets(node: &Node) -> R<Vec<&'static crate::presets::Preset>> {
    let mut out: Vec<&'static crate::presets::Preset> = Vec::new();
    for (name, item) in reader::strings(node, "presets")? {
        let Some(p) = preset(name) else {
            let names = preset_names();
            let hint = did_you_mean(name, &names).map_or(String::new(), |s| format!("did you mean `{s}`? "));
            return Err(Located::new(
                item.pos,
                format!("unknown preset `{name}`"),
                format!("{hint}known presets: {}", names.join(", ")),
            ));
        };
        if !out.iter().any(|q| q.name == p.name) {
            out.push(p);
        }
    }
    Ok(out)
}
