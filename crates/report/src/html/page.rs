//! The page around the tabs: head, verdict banner, run facts, warnings, tab bar, footer.

use crate::escape::html as h;
use crate::model::{RunReport, Verdict};
use crate::text::{argv_line, duration, signal_name};

const CSS: &str = include_str!("assets/report.css");
const JS: &str = include_str!("assets/report.js");

/// Nothing may be fetched, even if an escaping bug let markup through: the policy allows
/// inline style and script only.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; \
                   img-src data:; form-action 'none'; base-uri 'none'";

pub fn page(r: &RunReport, panels: &[(&'static str, String, String)], data: &str) -> String {
    let mut out = String::with_capacity(64 * 1024 + data.len());
    out.push_str(&format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"color-scheme\" content=\"light dark\">\n\
         <title>{} · ringfence {}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n",
        h(&r.outcome.headline),
        h(&r.run.run_id)
    ));
    out.push_str(&banner(r));
    out.push_str("<main>\n");
    out.push_str(&warnings(r));
    out.push_str("<nav class=\"tabs\" role=\"tablist\">\n");
    for (id, title, _) in panels {
        out.push_str(&format!("<a href=\"#{id}\" role=\"tab\" data-tab=\"{id}\">{}</a>\n", h(title)));
    }
    out.push_str("</nav>\n");
    for (id, title, body) in panels {
        out.push_str(&format!(
            "<section class=\"panel\" id=\"{id}\" role=\"tabpanel\">\n<h2 class=\"panel-title\">{}</h2>\n{body}</section>\n",
            h(title)
        ));
    }
    out.push_str("</main>\n");
    out.push_str(&footer(r));
    out.push_str("<script type=\"application/json\" id=\"report-data\">");
    out.push_str(data);
    out.push_str("</script>\n<script>\n");
    out.push_str(JS);
    out.push_str("</script>\n</body>\n</html>\n");
    out
}

fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Passed => "ok",
        Verdict::ViolationsAllowed | Verdict::Incomplete => "warn",
        Verdict::ViolationsBlocked | Verdict::Failed => "bad",
    }
}

fn banner(r: &RunReport) -> String {
    let o = &r.outcome;
    let run = &r.run;
    let (badge, rest) = match o.headline.split_once(": ") {
        Some((badge, rest)) => (badge, rest),
        None => (o.headline.as_str(), ""),
    };
    let mut facts = vec![
        ("Command", format!("<code>{}</code>", h(&argv_line(&run.argv)))),
        ("Directory", format!("<code>{}</code>", h(&run.cwd))),
        ("Mode", h(&format!("{:?}", run.mode).to_lowercase())),
        ("Started", run.started_at.as_deref().map(timestamp).unwrap_or_else(|| "unknown".into())),
        ("Duration", run.duration_ms.map_or_else(|| "unknown (incomplete)".into(), duration)),
        ("Exit", exit_fact(r)),
    ];
    facts.push((
        "Policy",
        match &run.policy {
            Some(p) => format!(
                "<code>{}</code> <span class=\"hash\" title=\"sha256 {sha}\">sha256 {short}</span>",
                h(&p.path),
                sha = h(p.sha256.as_deref().unwrap_or("unknown")),
                short = h(&short_hash(p.sha256.as_deref().unwrap_or("unknown")))
            ),
            None => "none".into(),
        },
    ));
    let facts: String =
        facts.into_iter().map(|(k, v)| format!("<div><dt>{k}</dt><dd>{v}</dd></div>\n")).collect();
    format!(
        "<header class=\"banner {class}\">\n<div class=\"verdict\"><span class=\"badge\">{badge}</span>\
         <span class=\"verdict-rest\">{rest}</span></div>\n<dl class=\"facts\">\n{facts}</dl>\n</header>\n",
        class = verdict_class(o.verdict),
        badge = h(badge),
        rest = h(rest),
    )
}

fn exit_fact(r: &RunReport) -> String {
    let o = &r.outcome;
    let Some(code) = o.exit_code else { return "no run.end: the run was cut short".into() };
    let cmd = match (o.cmd_code, o.cmd_signal) {
        (_, Some(sig)) => format!("command killed by {}", signal_name(sig)),
        (Some(c), None) => format!("command exited {c}"),
        (None, None) => "command did not exit".into(),
    };
    let status = crate::text::status_words(o.status);
    let reason = o.reason.as_deref().map(|r| format!(" ({})", h(r))).unwrap_or_default();
    format!("ringfence {code} · {cmd} · {status}{reason}")
}

fn warnings(r: &RunReport) -> String {
    r.warnings
        .iter()
        .map(|w| {
            format!("<div class=\"alert\" role=\"alert\"><strong>Warning</strong> {}</div>\n", h(&w.message))
        })
        .collect()
}

fn footer(r: &RunReport) -> String {
    let j = &r.journal;
    let chain = if j.complete { "hash chain verified" } else { "hash chain verified, journal cut short" };
    format!(
        "<footer>Run <code>{}</code> · ringfence {} · journal head <code class=\"hash\">{}</code> ({chain}, {} records) · report schema v{}</footer>\n",
        h(&r.run.run_id),
        h(&r.run.ringfence_version),
        h(&j.head),
        crate::text::thousands(j.records),
        r.report_version
    )
}

/// `2026-11-22T10:00:00.123456Z` → `2026-11-22 10:00:00 UTC`.
pub fn timestamp(ts: &str) -> String {
    match (ts.get(..10), ts.get(11..19)) {
        (Some(date), Some(time)) if ts.len() > 19 => format!("{} {} UTC", h(date), h(time)),
        _ => h(ts),
    }
}

pub fn short_hash(hash: &str) -> String {
    hash.chars().take(12).collect()
}
