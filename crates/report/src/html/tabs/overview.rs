//! The first tab: the numbers, what was blocked, what looks odd, and how the fence stood.

use super::{command_html, violation_table};
use crate::escape::html as h;
use crate::html::Tab;
use crate::model::{Process, RunReport};
use crate::text::{duration, offset, thousands};

/// The overview lists only the first few; the Violations tab has them all.
const FIRST_VIOLATIONS: usize = 5;
const FIRST_ORPHANS: usize = 10;

pub struct Overview;

impl Tab for Overview {
    fn id(&self) -> &'static str {
        "overview"
    }

    fn title(&self, _: &RunReport) -> String {
        "Overview".into()
    }

    fn render(&self, r: &RunReport) -> Option<String> {
        Some([cards(r), violations(r), orphans(r), fence(r)].concat())
    }
}

fn cards(r: &RunReport) -> String {
    let c = &r.counts;
    let active = r.fence.iter().filter(|l| l.active).count();
    let violation_note = match (c.violations_blocked, c.violations_allowed) {
        (0, 0) => "none".to_string(),
        (b, 0) => format!("{} blocked", thousands(b)),
        (0, a) => format!("{} allowed (audit)", thousands(a)),
        (b, a) => format!("{} blocked, {} allowed", thousands(b), thousands(a)),
    };
    let mut cards = vec![
        ("Violations", thousands(c.violations), violation_note, if c.violations > 0 { "bad" } else { "" }),
        ("Processes", thousands(c.processes), format!("{} execs", thousands(c.execs)), ""),
        (
            "Lost events",
            thousands(c.lost_events),
            if c.lost_events > 0 { "the record has gaps".into() } else { "complete record".into() },
            if c.lost_events > 0 { "warn" } else { "" },
        ),
        (
            "Fence layers",
            format!("{active}/{}", r.fence.len()),
            if active < r.fence.len() { "some layers off".into() } else { "all active".into() },
            if active < r.fence.len() { "warn" } else { "" },
        ),
        (
            "Duration",
            r.run.duration_ms.map_or_else(|| "?".into(), duration),
            format!("{} journal records", thousands(c.events)),
            "",
        ),
    ];
    if !r.files.is_empty() {
        let refused = r.files.refusals.iter().filter(|x| x.violation).count() + r.files.sensitive_reads.len();
        cards.insert(
            1,
            (
                "Files changed",
                thousands(r.files.changed_paths()),
                format!("{} refused or credential reads", thousands(refused as u64)),
                if refused > 0 { "warn" } else { "" },
            ),
        );
    }
    if !r.network.is_empty() {
        let refused = r.network.hosts.iter().filter(|h| h.violations > 0 || h.blocked > 0).count();
        cards.insert(
            1,
            (
                "Hosts",
                thousands(r.network.hosts.len() as u64),
                format!("{} refused or flagged", thousands(refused as u64)),
                if refused > 0 { "warn" } else { "" },
            ),
        );
    }
    let mut out = String::from("<div class=\"cards\">\n");
    for (label, value, note, class) in cards {
        out.push_str(&format!(
            "<div class=\"card {class}\"><div class=\"card-label\">{label}</div><div class=\"card-value\">{}</div><div class=\"card-note\">{}</div></div>\n",
            h(&value),
            h(&note)
        ));
    }
    out.push_str("</div>\n");
    out
}

fn violations(r: &RunReport) -> String {
    if r.violations.is_empty() {
        return String::new();
    }
    // Blocked first: they are what the reader came for.
    let mut list = r.violations_in_reading_order();
    list.sort_by_key(|v| !v.is_blocked());
    let shown: Vec<_> = list.into_iter().take(FIRST_VIOLATIONS).collect();
    let more = if r.violations.len() > shown.len() {
        format!(
            "<p><a href=\"#violations\" data-goto=\"violations\">All {} violations →</a></p>\n",
            thousands(r.violations.len() as u64)
        )
    } else {
        String::new()
    };
    format!("<h3>Violations</h3>\n{}{more}", violation_table(r, &shown))
}

fn orphans(r: &RunReport) -> String {
    let list: Vec<&Process> = r.processes.iter().filter(|p| p.orphaned).collect();
    if list.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "<h3>Outlived their parent <span class=\"count\">{}</span></h3>\n<p class=\"muted\">Still running after the \
         process that started them had exited: daemonised or left behind.</p>\n<ul class=\"plain\">\n",
        thousands(list.len() as u64)
    );
    for p in list.iter().take(FIRST_ORPHANS) {
        let exit = p
            .exit
            .as_ref()
            .map_or_else(|| "no exit seen".into(), |x| crate::text::exit_words(x.code, x.signal));
        out.push_str(&format!(
            "<li>{} <span class=\"muted\">pid {} · started {} · {}</span></li>\n",
            command_html(p),
            p.pid,
            offset(p.offset_ms),
            h(&exit)
        ));
    }
    if list.len() > FIRST_ORPHANS {
        out.push_str(&format!(
            "<li class=\"muted\">…and {} more</li>\n",
            thousands((list.len() - FIRST_ORPHANS) as u64)
        ));
    }
    out.push_str("</ul>\n");
    out
}

fn fence(r: &RunReport) -> String {
    if r.fence.is_empty() && r.env.dropped.is_empty() {
        return String::new();
    }
    let mut out = String::from("<h3>Fence</h3>\n<ul class=\"layers\">\n");
    for l in &r.fence {
        let (class, mark) = if l.active { ("ok", "on") } else { ("warn", "off") };
        out.push_str(&format!(
            "<li class=\"{class}\" title=\"{}\"><span class=\"dot\"></span>{} <span class=\"muted\">{mark}</span></li>\n",
            h(&l.detail),
            h(&l.layer)
        ));
    }
    out.push_str("</ul>\n");
    if !r.env.dropped.is_empty() {
        out.push_str("<p class=\"env\"><span class=\"muted\">Environment dropped at the fence:</span> ");
        out.push_str(&super::fence::chips(&r.env.dropped));
        out.push_str("</p>\n");
    }
    out
}
