//! Writing a policy back as `ringfence.yml` text, and proposing one from observed traffic.
//!
//! Every string is written double-quoted with JSON escaping (valid YAML), so nothing observed on
//! the network — a hostile host name included — can change the document's structure.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use journal::Mode;

use crate::cidr::Cidr;
use crate::hosts::{HostPattern, normalize_name};
use crate::schema::{Policy, Rule, Target, UserSpec};
use crate::units::format_size;

fn q(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

fn list<T: ToString>(items: impl IntoIterator<Item = T>) -> String {
    let items: Vec<String> = items.into_iter().map(|i| i.to_string()).collect();
    format!("[{}]", items.join(", "))
}

fn rule_yaml(rule: &Rule) -> String {
    let target = match &rule.target {
        Target::Host(h) => format!("host: {}", q(h.as_str())),
        Target::Cidr(c) => format!("cidr: {}", q(&c.to_string())),
    };
    match &rule.ports {
        Some(ports) => format!("{{ {target}, ports: {} }}", list(ports)),
        None => format!("{{ {target} }}"),
    }
}

impl Policy {
    /// Renders the policy as `ringfence.yml` text that [`crate::parse`] reads back to an equal
    /// policy. `allowed-endpoints` entries are written as ordinary `allow` rules.
    pub fn to_yaml(&self) -> String {
        let mut out = String::from("version: 1\n");
        let mode = if self.mode == Mode::Audit { "audit" } else { "block" };
        let _ = writeln!(out, "mode: {mode}");
        if !self.presets.is_empty() {
            let _ = writeln!(out, "presets: {}", list(self.presets.iter().map(|p| q(p.name))));
        }
        let egress = &self.egress;
        if !egress.allow.is_empty() || !egress.deny.is_empty() || !egress.unix_sockets.is_empty() {
            out.push_str("egress:\n");
            for (key, rules) in [("allow", &self.egress.allow), ("deny", &self.egress.deny)] {
                if !rules.is_empty() {
                    let _ = writeln!(out, "  {key}:");
                    for rule in rules {
                        let _ = writeln!(out, "    - {}", rule_yaml(rule));
                    }
                }
            }
            if !egress.unix_sockets.is_empty() {
                let paths = egress.unix_sockets.iter().map(|p| q(&p.display().to_string()));
                let _ = writeln!(out, "  unix_sockets: {}", list(paths));
            }
        }
        if !self.dns.upstream.is_empty() || !self.dns.types.is_empty() {
            out.push_str("dns:\n");
            if !self.dns.upstream.is_empty() {
                let upstream = list(self.dns.upstream.iter().map(|a| q(&a.to_string())));
                let _ = writeln!(out, "  upstream: {upstream}");
            }
            if !self.dns.types.is_empty() {
                out.push_str("  types:\n");
                for entry in &self.dns.types {
                    let types = list(entry.types.iter().map(|t| q(t)));
                    let _ = writeln!(out, "    {}: {types}", q(entry.host.as_str()));
                }
            }
        }
        if !self.inspect.is_empty() || !self.passthrough.is_empty() {
            out.push_str("inspect:\n");
            for (host, inspect) in &self.inspect {
                let _ = writeln!(out, "  {}:", q(host));
                if let Some(preset) = &inspect.preset {
                    let _ = writeln!(out, "    preset: {}", q(preset));
                }
                if self.cleartext_secrets.iter().any(|h| h.as_str() == host) {
                    out.push_str("    cleartext_secrets: true\n");
                }
                let routes = inspect.routes.iter().map(|r| q(&format!("{} {}", r.method, r.path)));
                let _ = writeln!(out, "    routes: {}", list(routes));
            }
            for host in &self.passthrough {
                let _ = writeln!(out, "  {}: {{ passthrough: true }}", q(host.as_str()));
            }
        }
        if !self.secrets.is_empty() {
            out.push_str("secrets:\n");
            for (name, secret) in &self.secrets {
                let hosts = secret.hosts.iter().map(|h| q(h.as_str()));
                if secret.inject.is_empty() {
                    let _ = writeln!(out, "  {}: {{ hosts: {} }}", q(name), list(hosts));
                } else {
                    let inject = secret.inject.iter().map(|p| q(&p.to_string()));
                    let _ =
                        writeln!(out, "  {}: {{ hosts: {}, in: {} }}", q(name), list(hosts), list(inject));
                }
            }
        }
        if !self.files.writable.is_empty()
            || !self.files.deny_read.is_empty()
            || !self.files.protected.is_empty()
        {
            out.push_str("files:\n");
            for (key, paths) in [
                ("writable", &self.files.writable),
                ("deny_read", &self.files.deny_read),
                ("protected", &self.files.protected),
            ] {
                if !paths.is_empty() {
                    let _ = writeln!(out, "  {key}: {}", list(paths.iter().map(|p| q(p))));
                }
            }
        }
        if !self.env.pass.is_empty() {
            let _ = writeln!(out, "env:\n  pass: {}", list(self.env.pass.iter().map(|p| q(p))));
        }
        match &self.user {
            Some(UserSpec::Uid(uid)) => {
                let _ = writeln!(out, "user: {uid}");
            }
            Some(UserSpec::Name(name)) => {
                let _ = writeln!(out, "user: {}", q(name));
            }
            None => {}
        }
        self.render_limits(&mut out);
        if !self.budget.is_empty() {
            out.push_str("budget:\n");
            for (provider, b) in &self.budget {
                let mut caps = Vec::new();
                if let Some(t) = b.max_tokens {
                    caps.push(format!("max_tokens: {t}"));
                }
                if let Some(usd) = b.max_usd {
                    caps.push(format!("max_usd: {usd:?}"));
                }
                let _ = writeln!(out, "  {provider}: {{ {} }}", caps.join(", "));
            }
        }
        if let Some(gate) = &self.gate {
            render_gate(gate, &mut out);
        }
        if self.tools != crate::tools::Tools::default() {
            render_tools(&self.tools, &mut out);
        }
        out
    }

    fn render_limits(&self, out: &mut String) {
        let l = &self.limits;
        let mut items = Vec::new();
        if let Some(p) = l.pids {
            items.push(format!("pids: {p}"));
        }
        if let Some(w) = l.wall {
            items.push(format!("wall: {}", q(&humantime::format_duration(w).to_string())));
        }
        if let Some(m) = l.memory {
            items.push(format!("memory: {}", q(&format_size(m))));
        }
        if let Some(b) = l.egress_bytes {
            items.push(format!("egress_bytes: {}", q(&format_size(b))));
        }
        if !items.is_empty() {
            let _ = writeln!(out, "limits: {{ {} }}", items.join(", "));
        }
    }

    /// Proposes a block-mode policy that allows exactly the observed `(host, port)` pairs.
    ///
    /// Host names become `allow` rules, IP addresses `/32` or `/128` CIDR rules; names that are
    /// not valid host names are left out (they could never be allowed). The text parses back with
    /// [`crate::parse`].
    pub fn suggest(hosts: &[(String, u16)]) -> String {
        let mut by_target: BTreeMap<(bool, String), Vec<u16>> = BTreeMap::new();
        for (host, port) in hosts {
            if *port == 0 {
                continue;
            }
            let key = if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
                let ip = match ip {
                    IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
                    v4 => v4,
                };
                let Ok(cidr) = Cidr::parse(&ip.to_string()) else { continue };
                (true, cidr.to_string())
            } else {
                let Ok(name) = normalize_name(host) else { continue };
                // Names under which no rule may be written (a bare public suffix is fine as an
                // exact name, so this only drops what the pattern parser itself refuses).
                if HostPattern::parse(&name).is_err() {
                    continue;
                }
                (false, name)
            };
            by_target.entry(key).or_default().push(*port);
        }
        let mut policy = Policy::default();
        for ((is_cidr, target), mut ports) in by_target {
            ports.sort_unstable();
            ports.dedup();
            let target = if is_cidr {
                Cidr::parse(&target).map(Target::Cidr)
            } else {
                HostPattern::parse(&target).map(Target::Host)
            };
            let Ok(target) = target else { continue };
            // `to_yaml` does not write rule texts; parsing the result computes them again.
            let text = String::new();
            policy.egress.allow.push(Rule { target, ports: Some(ports), text });
        }
        let mut out = String::from(
            "# Proposed by ringfence from an audit run: allows exactly what the run used.\n\
             # Review each entry; replace groups of hosts by a preset where one fits.\n",
        );
        out.push_str(&policy.to_yaml());
        out
    }
}

fn render_gate(gate: &crate::schema::Gate, out: &mut String) {
    out.push_str("gate:\n");
    let _ = writeln!(out, "  roles: {}", list(gate.roles.iter().map(|r| r.name())));
    if !gate.users.is_empty() {
        let _ = writeln!(out, "  users: {}", list(gate.users.iter().map(|u| q(u))));
    }
    let b = &gate.budget;
    let mut caps: Vec<String> =
        [("per_actor_daily_runs", b.per_actor_daily_runs), ("per_repo_daily_runs", b.per_repo_daily_runs)]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| format!("{k}: {v}")))
            .collect();
    for (k, v) in
        [("per_actor_daily_usd", b.per_actor_daily_usd), ("per_repo_daily_usd", b.per_repo_daily_usd)]
    {
        if let Some(v) = v {
            caps.push(format!("{k}: {v:?}"));
        }
    }
    if !caps.is_empty() {
        let _ = writeln!(out, "  budget: {{ {} }}", caps.join(", "));
    }
    match &gate.store {
        Some(crate::schema::GateStore::Sqlite(path)) => {
            let _ = writeln!(out, "  store: {}", q(&format!("sqlite:{}", path.display())));
        }
        Some(crate::schema::GateStore::Postgres(url)) => {
            let _ = writeln!(out, "  store: {}", q(url));
        }
        None => {}
    }
    let _ = writeln!(out, "  timeout: {}", q(&humantime::format_duration(gate.timeout).to_string()));
}

fn render_tools(tools: &crate::tools::Tools, out: &mut String) {
    use crate::tools::{PathRules, ToolVerdict};
    out.push_str("tools:\n");
    let b = &tools.bash;
    let rules = |r: &[crate::tools::CommandRule]| list(r.iter().map(|c| q(&c.to_string())));
    if !b.deny.is_empty() || !b.ask.is_empty() || !b.allow.is_empty() {
        out.push_str("  bash:\n");
        for (key, r) in [("deny", &b.deny), ("ask", &b.ask), ("allow", &b.allow)] {
            if !r.is_empty() {
                let _ = writeln!(out, "    {key}: {}", rules(r));
            }
        }
        if !b.allow.is_empty() && b.otherwise != ToolVerdict::Ask {
            let _ = writeln!(out, "    otherwise: {}", b.otherwise.as_str());
        }
    }
    let paths = |key: &str, r: &PathRules, out: &mut String| {
        if !r.deny.is_empty() || !r.ask.is_empty() {
            let _ = writeln!(out, "  {key}:");
            for (k, v) in [("deny", &r.deny), ("ask", &r.ask)] {
                if !v.is_empty() {
                    let _ = writeln!(out, "    {k}: {}", list(v.iter().map(|p| q(p))));
                }
            }
        }
    };
    paths("write", &tools.write, out);
    paths("read", &tools.read, out);
    for (key, v) in [("deny", &tools.deny_tools), ("ask", &tools.ask_tools)] {
        if !v.is_empty() {
            let _ = writeln!(out, "  {key}: {}", list(v.iter().map(|t| q(t))));
        }
    }
    if tools.unseen != ToolVerdict::Deny {
        let _ = writeln!(out, "  unseen: {}", tools.unseen.as_str());
    }
    if let Some(log) = &tools.log {
        let _ = writeln!(out, "  log: {}", q(log));
    }
}
