//! The smaller sections: `inspect`, `secrets`, `files`, `env`, `user`, `limits`, `budget`.

use std::collections::BTreeMap;

use crate::env::{NEVER_PASS, looks_secret};
use crate::error::{Located, did_you_mean};
use crate::hosts::HostPattern;
use crate::schema::{
    BUDGET_PROVIDERS, Budget, Env, Files, INSPECT_PRESETS, Inspect, Limits, Position, Route, Secret, UserSpec,
};
use crate::units::{parse_duration, parse_size};
use crate::yaml::{Node, Value};

use super::reader::{R, fields, key_text, map, string, strings, uint};

/// The `inspect` section: route rules per host, and the two per-host switches kept beside them.
pub(super) struct InspectSection {
    pub rules: BTreeMap<String, Inspect>,
    pub passthrough: Vec<HostPattern>,
    pub cleartext_secrets: Vec<HostPattern>,
}

pub(super) fn inspect(node: &Node) -> R<InspectSection> {
    let mut out =
        InspectSection { rules: BTreeMap::new(), passthrough: Vec::new(), cleartext_secrets: Vec::new() };
    for (key, value) in map(node, "inspect")? {
        let host = HostPattern::parse(key_text(key))
            .map_err(|e| Located::new(key.pos, format!("`inspect`: {}", e.message), e.help))?;
        let path = format!("inspect.{host}");
        let f = fields(value, &path, &["routes", "preset", "passthrough", "cleartext_secrets"])?;
        let passthrough = match f.get("passthrough") {
            Some(n) => boolean(n, &format!("{path}.passthrough"))?,
            None => false,
        };
        let cleartext = match f.get("cleartext_secrets") {
            Some(n) => boolean(n, &format!("{path}.cleartext_secrets"))?,
            None => false,
        };
        if passthrough {
            // A spliced host's requests are never read: rules about them could not hold.
            if let Some(other) =
                ["routes", "preset", "cleartext_secrets"].into_iter().find(|k| f.get(k).is_some())
            {
                return Err(Located::new(
                    value.pos,
                    format!("`{path}`: `passthrough: true` and `{other}` cannot go together"),
                    "a passthrough host's TLS is not terminated, so its requests are never read; drop one of them",
                ));
            }
            out.passthrough.push(host);
            continue;
        }
        if cleartext {
            out.cleartext_secrets.push(host.clone());
        }
        let mut routes = Vec::new();
        if let Some(n) = f.get("routes") {
            for (text, item) in strings(n, &format!("{path}.routes"))? {
                routes.push(route(text, item, &path)?);
            }
        }
        let preset = match f.get("preset") {
            None => None,
            Some(n) => {
                let name = string(n, &format!("{path}.preset"))?;
                if !INSPECT_PRESETS.contains(&name) {
                    return Err(Located::new(
                        n.pos,
                        format!("`{path}.preset`: `{name}` is not a route preset"),
                        format!("known presets: {}", INSPECT_PRESETS.join(", ")),
                    ));
                }
                Some(name.to_string())
            }
        };
        out.rules.insert(host.to_string(), Inspect { routes, preset });
    }
    Ok(out)
}

/// `true` or `false`, written plainly.
fn boolean(node: &Node, path: &str) -> R<bool> {
    match &node.value {
        Value::Scalar { text, plain: true } if text == "true" => Ok(true),
        Value::Scalar { text, plain: true } if text == "false" => Ok(false),
        _ => Err(Located::new(
            node.pos,
            format!("`{path}`: found {}, expected `true` or `false`", node.kind()),
            format!("write `{path}: true` (or leave it out)"),
        )),
    }
}

const METHODS: &[&str] = &["*", "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

fn route(text: &str, node: &Node, path: &str) -> R<Route> {
    let bad = |message: String| {
        Located::new(node.pos, message, "write a route as `METHOD /path`, e.g. `GET /repos/${repo}/**`")
    };
    let mut parts = text.split_whitespace();
    let (Some(method), Some(route_path), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad(format!("`{path}.routes`: found `{text}`, expected `METHOD /path`")));
    };
    let method = method.to_ascii_uppercase();
    if !METHODS.contains(&method.as_str()) {
        return Err(bad(format!(
            "`{path}.routes`: `{method}` is not an HTTP method ({})",
            METHODS.join(", ")
        )));
    }
    if !route_path.starts_with('/') {
        return Err(bad(format!("`{path}.routes`: the path `{route_path}` does not start with `/`")));
    }
    Ok(Route { method, path: route_path.to_string() })
}

fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

pub(super) fn secrets(node: &Node) -> R<BTreeMap<String, Secret>> {
    let mut out = BTreeMap::new();
    for (key, value) in map(node, "secrets")? {
        let name = key_text(key);
        if !is_env_name(name) {
            return Err(Located::new(
                key.pos,
                format!("`secrets`: `{name}` is not an environment variable name"),
                "secrets are named by their variable, e.g. `ANTHROPIC_API_KEY`",
            ));
        }
        let path = format!("secrets.{name}");
        let f = fields(value, &path, &["hosts", "in"])?;
        let Some(hosts_node) = f.get("hosts") else {
            return Err(Located::new(
                value.pos,
                format!("`{path}` has no `hosts`"),
                format!("say where the real value may go: `{name}: {{ hosts: [api.example.com] }}`"),
            ));
        };
        let mut hosts = Vec::new();
        for (text, item) in strings(hosts_node, &format!("{path}.hosts"))? {
            hosts.push(
                HostPattern::parse(text)
                    .map_err(|e| Located::new(item.pos, format!("`{path}.hosts`: {}", e.message), e.help))?,
            );
        }
        let mut inject = Vec::new();
        if let Some(node) = f.get("in") {
            for (text, item) in strings(node, &format!("{path}.in"))? {
                inject.push(position(text).map_err(|(msg, help)| {
                    Located::new(item.pos, format!("`{path}.in`: `{text}` {msg}"), help)
                })?);
            }
        }
        out.insert(name.to_string(), Secret { hosts, inject });
    }
    Ok(out)
}

/// `header:<name>` or `query:<name>`: where a real value may go besides the credential headers.
fn position(text: &str) -> Result<Position, (String, String)> {
    let help =
        "write `header:<name>` (e.g. `header:x-token`) or `query:<name>` (e.g. `query:key`)".to_string();
    let Some((kind, name)) = text.split_once(':') else {
        return Err(("is not a position".into(), help));
    };
    let name = name.trim();
    let token = !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    match kind.trim() {
        "header" if token => Ok(Position::Header(name.to_ascii_lowercase())),
        "query" if !name.is_empty() && !name.contains(['&', '=', '#', ' ']) => {
            Ok(Position::Query(name.to_string()))
        }
        "header" | "query" => Err((format!("does not name a {}", kind.trim()), help)),
        _ => Err((format!("has an unknown kind `{}`", kind.trim()), help)),
    }
}

pub(super) fn files(node: &Node) -> R<Files> {
    let f = fields(node, "files", &["writable", "deny_read", "protected"])?;
    let mut out = Files::default();
    if let Some(n) = f.get("writable") {
        out.writable = paths(n, "files.writable")?;
    }
    if let Some(n) = f.get("deny_read") {
        out.deny_read = paths(n, "files.deny_read")?;
    }
    if let Some(n) = f.get("protected") {
        out.protected = paths(n, "files.protected")?;
    }
    Ok(out)
}

const PATH_VARS: &[&str] = &["${workspace}", "${tmp}", "${home}"];

fn paths(node: &Node, path: &str) -> R<Vec<String>> {
    let mut out = Vec::new();
    for (text, item) in strings(node, path)? {
        let absolute = text.starts_with('/') || text == "~" || text.starts_with("~/");
        let var = PATH_VARS.iter().find(|v| text.starts_with(**v));
        if let Some((i, _)) =
            text.match_indices("${").find(|(i, _)| !PATH_VARS.iter().any(|v| text[*i..].starts_with(v)))
        {
            let unknown = text[i..].split_inclusive('}').next().unwrap_or(&text[i..]);
            return Err(Located::new(
                item.pos,
                format!("`{path}`: `{unknown}` in `{text}` is not a known variable"),
                format!("use one of {}", PATH_VARS.join(", ")),
            ));
        }
        if !(absolute || var.is_some()) {
            return Err(Located::new(
                item.pos,
                format!("`{path}`: `{text}` is not an absolute path"),
                format!("start paths with `/`, `~/` or one of {}", PATH_VARS.join(", ")),
            ));
        }
        out.push(text.to_string());
    }
    Ok(out)
}

pub(super) fn env(node: &Node, secrets: &BTreeMap<String, Secret>) -> R<Env> {
    let f = fields(node, "env", &["pass"])?;
    let mut out = Env::default();
    let Some(n) = f.get("pass") else { return Ok(out) };
    for (text, item) in strings(n, "env.pass")? {
        let name = text.strip_suffix('*').unwrap_or(text);
        let refuse = |message: String, help: String| Err(Located::new(item.pos, message, help));
        if !is_env_name(name) {
            return refuse(
                format!("`env.pass`: `{text}` is not a variable name or a `PREFIX*`"),
                "write names like `MY_VAR` or prefixes like `LC_*`".into(),
            );
        }
        if secrets.contains_key(text) {
            return refuse(
                format!("`env.pass`: `{text}` is declared under `secrets`"),
                "remove it from `env.pass`; declared secrets reach the agent as sentinels".into(),
            );
        }
        if NEVER_PASS.contains(&text) || looks_secret(name) {
            return refuse(
                format!("`env.pass`: `{text}` looks like a credential and is never passed raw"),
                format!(
                    "declare it under `secrets:` with the hosts it may be sent to, e.g. \
                     `{name}: {{ hosts: [api.example.com] }}`; the agent then gets a sentinel"
                ),
            );
        }
        out.pass.push(text.to_string());
    }
    Ok(out)
}

pub(super) fn user(node: &Node) -> R<UserSpec> {
    let root = || {
        Located::new(
            node.pos,
            "`user`: the agent must not run as root",
            "use an unprivileged uid such as `1001`, or remove `user` to let ringfence choose",
        )
    };
    match &node.value {
        Value::Scalar { text, plain: true } if text.bytes().all(|b| b.is_ascii_digit()) => {
            let uid = text.parse::<u32>().map_err(|_| {
                Located::new(node.pos, format!("`user`: `{text}` is not a uid"), "uids are 0 to 4294967294")
            })?;
            if uid == 0 { Err(root()) } else { Ok(UserSpec::Uid(uid)) }
        }
        _ => {
            let name = string(node, "user")?;
            let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
                && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
                && name.len() <= 32;
            if name == "root" {
                Err(root())
            } else if valid {
                Ok(UserSpec::Name(name.to_string()))
            } else {
                Err(Located::new(
                    node.pos,
                    format!("`user`: found `{name}`, expected a uid or a user name"),
                    "write a uid such as `1001` or a name such as `runner`",
                ))
            }
        }
    }
}

pub(super) fn limits(node: &Node) -> R<Limits> {
    let f = fields(node, "limits", &["pids", "wall", "memory", "egress_bytes"])?;
    let mut out = Limits::default();
    if let Some(n) = f.get("pids") {
        let pids = uint(n, "limits.pids", "1024")?;
        if pids == 0 {
            return Err(Located::new(n.pos, "`limits.pids` is 0", "allow at least one process, e.g. `1024`"));
        }
        out.pids = Some(pids);
    }
    if let Some(n) = f.get("wall") {
        let text = string(n, "limits.wall")?;
        out.wall = Some(parse_duration(text).map_err(|help| {
            Located::new(n.pos, format!("`limits.wall`: found `{text}`, expected a duration"), help)
        })?);
    }
    for (key, slot) in [("memory", &mut out.memory), ("egress_bytes", &mut out.egress_bytes)] {
        if let Some(n) = f.get(key) {
            let text = string(n, &format!("limits.{key}"))?;
            *slot = Some(parse_size(text).map_err(|help| {
                Located::new(n.pos, format!("`limits.{key}`: found `{text}`, expected a size"), help)
            })?);
        }
    }
    Ok(out)
}

pub(super) fn budget(node: &Node) -> R<BTreeMap<String, Budget>> {
    let mut out = BTreeMap::new();
    for (key, value) in map(node, "budget")? {
        let provider = key_text(key);
        if !BUDGET_PROVIDERS.contains(&provider) {
            let hint = did_you_mean(provider, BUDGET_PROVIDERS)
                .map_or(String::new(), |s| format!("did you mean `{s}`? "));
            return Err(Located::new(
                key.pos,
                format!("`budget`: unknown provider `{provider}`"),
                format!("{hint}metered providers: {}", BUDGET_PROVIDERS.join(", ")),
            ));
        }
        let path = format!("budget.{provider}");
        let f = fields(value, &path, &["max_tokens", "max_usd"])?;
        let mut b = Budget::default();
        if let Some(n) = f.get("max_tokens") {
            b.max_tokens = Some(uint(n, &format!("{path}.max_tokens"), "3000000")?);
        }
        if let Some(n) = f.get("max_usd") {
            b.max_usd = Some(usd(n, &format!("{path}.max_usd"))?);
        }
        if b.max_tokens.is_none() && b.max_usd.is_none() {
            return Err(Located::new(
                value.pos,
                format!("`{path}` sets no cap"),
                "set `max_tokens`, `max_usd` or both, or remove the entry",
            ));
        }
        out.insert(provider.to_string(), b);
    }
    Ok(out)
}

pub(super) fn usd(node: &Node, path: &str) -> R<f64> {
    let bad = || {
        Located::new(
            node.pos,
            format!("`{path}`: found {}, expected an amount in US dollars", node.kind()),
            "write a positive number such as `10` or `2.50`",
        )
    };
    match &node.value {
        Value::Scalar { text, plain: true } => match text.parse::<f64>() {
            Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
            _ => Err(bad()),
        },
        _ => Err(bad()),
    }
}
