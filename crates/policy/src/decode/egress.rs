//! `egress:` — allow and deny rules, and Harden-Runner's `allowed-endpoints` string.

use crate::cidr::Cidr;
use crate::endpoints::{parse_allowed_endpoints, parse_port};
use crate::error::Located;
use crate::hosts::{HostError, HostPattern};
use crate::schema::{DEFAULT_ALLOW_PORTS, Egress, Rule, Target, UNIX_SOCKET_PATH_MAX};
use crate::yaml::{Node, Value};

use super::reader::{R, fields, list, locate_in_source, port, string, strings};

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Allow,
    Deny,
}

pub(super) fn egress(node: &Node, source: &str) -> R<Egress> {
    let f = fields(node, "egress", &["allow", "deny", "allowed-endpoints", "unix_sockets"])?;
    let mut out = Egress::default();
    if let Some(n) = f.get("allow") {
        out.allow = rules(n, "egress.allow", Kind::Allow)?;
    }
    if let Some(n) = f.get("deny") {
        out.deny = rules(n, "egress.deny", Kind::Deny)?;
    }
    if let Some(n) = f.get("allowed-endpoints") {
        out.allow.extend(allowed_endpoints(n, source)?);
    }
    if let Some(n) = f.get("unix_sockets") {
        out.unix_sockets = unix_sockets(n)?;
    }
    Ok(out)
}

fn rules(node: &Node, path: &str, kind: Kind) -> R<Vec<Rule>> {
    list(node, path)?.iter().enumerate().map(|(i, item)| rule(item, &format!("{path}[{i}]"), kind)).collect()
}

fn host_error(node: &Node, path: &str, e: HostError) -> Located {
    Located::new(node.pos, format!("`{path}`: {}", e.message), e.help)
}

fn rule(node: &Node, path: &str, kind: Kind) -> R<Rule> {
    let (target, ports) = match &node.value {
        Value::Scalar { text, .. } if !node.is_null() => string_rule(node, text, path)?,
        Value::Map(_) => map_rule(node, path)?,
        _ => {
            return Err(Located::new(
                node.pos,
                format!("`{path}`: found {}, expected a host or a mapping", node.kind()),
                "write `api.example.com`, `{ host: api.example.com, ports: [443] }` or `{ cidr: 10.0.0.0/8, ports: [5432] }`",
            ));
        }
    };
    let ports = match (ports, kind) {
        (Some(p), _) => Some(p),
        (None, Kind::Allow) => Some(DEFAULT_ALLOW_PORTS.to_vec()),
        (None, Kind::Deny) => None,
    };
    let text = rule_text(kind, &target, ports.as_deref());
    Ok(Rule { target, ports, text })
}

/// `api.example.com` or `api.example.com:8443`.
fn string_rule(node: &Node, text: &str, path: &str) -> R<(Target, Option<Vec<u16>>)> {
    // A URL is left whole so the host parser can say it is a URL, not that `//…` is a bad port.
    let (host, ports) = match text.rsplit_once(':') {
        Some((host, p)) if !host.contains(':') && !text.contains('/') => {
            (host, Some(vec![parse_port(p).map_err(|e| host_error(node, path, e))?]))
        }
        _ => (text, None),
    };
    let pattern = HostPattern::parse(host).map_err(|e| host_error(node, path, e))?;
    Ok((Target::Host(pattern), ports))
}

/// `{ host: …, ports: […] }` or `{ cidr: …, ports: […] }`.
fn map_rule(node: &Node, path: &str) -> R<(Target, Option<Vec<u16>>)> {
    let f = fields(node, path, &["host", "cidr", "ports"])?;
    let target = match (f.get("host"), f.get("cidr")) {
        (Some(h), None) => Target::Host(
            HostPattern::parse(string(h, &format!("{path}.host"))?)
                .map_err(|e| host_error(h, &format!("{path}.host"), e))?,
        ),
        (None, Some(c)) => Target::Cidr(
            Cidr::parse(string(c, &format!("{path}.cidr"))?)
                .map_err(|e| host_error(c, &format!("{path}.cidr"), e))?,
        ),
        (Some(_), Some(_)) => {
            return Err(Located::new(
                node.pos,
                format!("`{path}` has both `host` and `cidr`"),
                "a rule names either a host or a CIDR block; split it into two rules",
            ));
        }
        (None, None) => {
            return Err(Located::new(
                node.pos,
                format!("`{path}` has neither `host` nor `cidr`"),
                "add `host: api.example.com` or `cidr: 10.0.0.0/8`",
            ));
        }
    };
    let ports = match f.get("ports") {
        None => None,
        Some(p) => {
            let ppath = format!("{path}.ports");
            let items = list(p, &ppath)?;
            if items.is_empty() {
                return Err(Located::new(
                    p.pos,
                    format!("`{ppath}` is empty"),
                    "list at least one port, or remove `ports` to use the default",
                ));
            }
            let mut ports = items
                .iter()
                .enumerate()
                .map(|(i, n)| port(n, &format!("{ppath}[{i}]")))
                .collect::<R<Vec<u16>>>()?;
            ports.sort_unstable();
            ports.dedup();
            Some(ports)
        }
    };
    Ok((target, ports))
}

fn rule_text(kind: Kind, target: &Target, ports: Option<&[u16]>) -> String {
    let verb = if kind == Kind::Allow { "allow" } else { "deny" };
    let target = match target {
        Target::Host(h) => h.to_string(),
        Target::Cidr(c) => c.to_string(),
    };
    match ports {
        None => format!("{verb} {target}"),
        Some(ports) => {
            let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
            format!("{verb} {target}:{}", ports.join(","))
        }
    }
}

fn allowed_endpoints(node: &Node, source: &str) -> R<Vec<Rule>> {
    let text = string(node, "egress.allowed-endpoints")?;
    let endpoints = parse_allowed_endpoints(text).map_err(|(entry, e)| {
        Located::new(
            locate_in_source(source, node, &entry),
            format!("`egress.allowed-endpoints`: entry `{entry}`: {}", e.message),
            e.help,
        )
    })?;
    Ok(endpoints
        .into_iter()
        .map(|ep| Rule {
            text: format!("allowed-endpoints {}:{}", ep.pattern, ep.port),
            target: Target::Host(ep.pattern),
            ports: Some(vec![ep.port]),
        })
        .collect())
}

/// `unix_sockets: [/run/postgresql/.s.PGSQL.5432]`: exact, absolute socket paths.
fn unix_sockets(node: &Node) -> R<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    for (i, (text, item)) in strings(node, "egress.unix_sockets")?.into_iter().enumerate() {
        let path = format!("egress.unix_sockets[{i}]");
        let bad = |what: &str, help: &str| Err(Located::new(item.pos, format!("`{path}`: {what}"), help));
        if !text.starts_with('/') {
            return bad(
                &format!("`{text}` is not an absolute path"),
                "write the socket's full path, e.g. `/run/postgresql/.s.PGSQL.5432`",
            );
        }
        if text.split('/').any(|c| c == "..") {
            return bad(&format!("`{text}` has a `..` component"), "write the socket's path without `..`");
        }
        if text.len() > UNIX_SOCKET_PATH_MAX {
            return bad(
                &format!("`{text}` is longer than {UNIX_SOCKET_PATH_MAX} bytes"),
                "the fence can show sockets whose path has at most 95 bytes; have the server listen on a \
                 shorter path",
            );
        }
        out.push(std::path::PathBuf::from(text));
    }
    Ok(out)
}
