//! The `dns` section: upstream resolvers and the record types listed per host.

use std::net::{IpAddr, SocketAddr};

use crate::error::{Located, did_you_mean};
use crate::hosts::HostPattern;
use crate::schema::{DNS_LISTABLE_TYPES, Dns, DnsTypes};
use crate::yaml::Node;

use super::reader::{R, fields, key_text, map, strings};

/// Types that can never be listed, with the reason a user is told.
const NEVER_LISTED: &[(&str, &str)] = &[
    ("A", "address questions are always answered for allowed names (with a synthetic address)"),
    ("AAAA", "address questions are always answered for allowed names (empty: IPv4 is the way out)"),
    ("CNAME", "address questions are always answered for allowed names"),
    ("HTTPS", "address questions are always answered for allowed names"),
    ("NULL", "NULL records carry arbitrary bytes, the usual DNS tunnel"),
    ("ANY", "ANY asks for every record of a name"),
    ("AXFR", "zone transfers copy whole zones"),
    ("IXFR", "zone transfers copy whole zones"),
];

pub(super) fn dns(node: &Node) -> R<Dns> {
    let f = fields(node, "dns", &["upstream", "types"])?;
    let mut out = Dns::default();
    if let Some(n) = f.get("upstream") {
        for (text, item) in strings(n, "dns.upstream")? {
            // A bare address means the standard DNS port.
            let addr = text
                .parse::<SocketAddr>()
                .or_else(|_| text.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
                .map_err(|_| {
                    Located::new(
                        item.pos,
                        format!("`dns.upstream`: found `{text}`, expected an IP address with an optional port"),
                        "write `1.1.1.1:53`, `1.1.1.1` or `[2606:4700:4700::1111]:53`; names cannot be resolvers",
                    )
                })?;
            out.upstream.push(addr);
        }
    }
    if let Some(n) = f.get("types") {
        out.types = types(n)?;
    }
    Ok(out)
}

fn types(node: &Node) -> R<Vec<DnsTypes>> {
    let mut out = Vec::new();
    for (key, value) in map(node, "dns.types")? {
        let host = HostPattern::parse(key_text(key))
            .map_err(|e| Located::new(key.pos, format!("`dns.types`: {}", e.message), e.help))?;
        let path = format!("dns.types.{host}");
        let mut listed = Vec::new();
        for (text, item) in strings(value, &path)? {
            let name = text.trim().to_ascii_uppercase();
            if let Some((_, why)) = NEVER_LISTED.iter().find(|(t, _)| *t == name) {
                return Err(Located::new(
                    item.pos,
                    format!("`{path}`: `{name}` cannot be listed: {why}"),
                    format!("list only other types: {}", DNS_LISTABLE_TYPES.join(", ")),
                ));
            }
            if !DNS_LISTABLE_TYPES.contains(&name.as_str()) {
                // The suggester compares lower case.
                let lower: Vec<String> = DNS_LISTABLE_TYPES.iter().map(|t| t.to_ascii_lowercase()).collect();
                let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
                let hint = match did_you_mean(&name, &lower) {
                    Some(s) => format!("did you mean `{}`? ", s.to_ascii_uppercase()),
                    None => String::new(),
                };
                return Err(Located::new(
                    item.pos,
                    format!("`{path}`: `{text}` is not a record type ringfence forwards"),
                    format!("{hint}`{path}` accepts: {}", DNS_LISTABLE_TYPES.join(", ")),
                ));
            }
            if !listed.contains(&name) {
                listed.push(name);
            }
        }
        if listed.is_empty() {
            return Err(Located::new(
                value.pos,
                format!("`{path}` lists no record types"),
                format!("write e.g. `{host}: [TXT]`, or remove the entry"),
            ));
        }
        out.push(DnsTypes { host, types: listed });
    }
    Ok(out)
}
