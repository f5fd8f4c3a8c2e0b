//! Violations from the inspecting proxy and the connect hook, in plain words: a secret's sentinel
//! sent where it does not belong, a spending cap, a refused API route, an attempt that never
//! reached the proxy.

use journal::{Budget, Event, HttpRequest, NetAttempt, SecretExfil, SecretReturned};

use super::violations::{Described, verdict};
use crate::model::ViolationKind;
use crate::text::{host_port, spend_line, thousands};

pub(super) fn describe(event: &Event) -> Option<Described> {
    match event {
        Event::SecretExfil(x) => Some(exfil(x)),
        Event::Budget(b) => Some(budget(b)),
        Event::HttpRequest(r) => Some(route(r)),
        Event::NetAttempt(a) => Some(attempt(a)),
        Event::SecretReturned(r) if event.is_violation() => Some(unscanned(r)),
        _ => None,
    }
}

/// `tried to send ANTHROPIC_API_KEY's sentinel to exfil.test in header x-api-key`.
fn exfil(x: &SecretExfil) -> Described {
    Described {
        kind: ViolationKind::Secret,
        rule: format!("secrets.{}", x.secret),
        what: format!(
            "tried to send {}'s sentinel to {} in {}",
            x.secret,
            host_port(&x.host, x.port),
            x.location
        ),
        verdict: verdict(x.verdict),
    }
}

/// `response from api.example.com cut off: content encoding `br` cannot be scanned`.
fn unscanned(r: &SecretReturned) -> Described {
    Described {
        kind: ViolationKind::Secret,
        rule: "secrets.response".into(),
        what: format!(
            "response from {} ({}) cut off: {}",
            host_port(&r.host, r.port),
            r.location,
            r.reason.as_deref().unwrap_or("it could not be scanned")
        ),
        verdict: verdict(r.verdict),
    }
}

/// `model request refused: … (41,230 of 40,000 tokens, $0.31 of $10.00 cap)`; the rule names
/// the provider.
fn budget(b: &Budget) -> Described {
    Described {
        kind: ViolationKind::Budget,
        rule: format!("budget.{}", b.provider),
        what: format!("{} ({})", b.what, spend_line(b.tokens, b.usd, b.max_tokens, b.max_usd)),
        verdict: verdict(b.verdict),
    }
}

/// `POST api.github.com/gists refused (403): gists are refused`.
fn route(r: &HttpRequest) -> Described {
    let status = r.status.map(|s| format!(" ({s})")).unwrap_or_default();
    let word = match r.verdict {
        journal::Verdict::Blocked => "refused",
        journal::Verdict::Allowed => "let through (audit)",
    };
    let reason = r.reason.as_deref().map(|why| format!(": {why}")).unwrap_or_default();
    Described {
        kind: ViolationKind::Api,
        rule: r.rule.clone(),
        what: format!("{} {}{} {word}{status}{reason}", r.method, host_port(&r.host, r.port), r.path),
        verdict: verdict(r.verdict),
    }
}

/// `udp sendmsg to 8.8.8.8:53 ×12: not through the proxy`.
fn attempt(a: &NetAttempt) -> Described {
    let times = if a.count > 1 { format!(" ×{}", thousands(a.count)) } else { String::new() };
    let reason = a.reason.as_deref().map(|why| format!(": {why}")).unwrap_or_default();
    Described {
        kind: ViolationKind::Network,
        rule: a.rule.clone(),
        what: match a.ip.as_str() {
            "" => format!("{} {}{times}{reason}", a.protocol, a.call),
            ip => format!(
                "{} {} to {}{times}{reason}",
                a.protocol,
                a.call,
                crate::text::attempt_destination(ip, a.port)
            ),
        },
        verdict: verdict(a.verdict),
    }
}
