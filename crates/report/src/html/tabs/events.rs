//! The raw event list: every journal record, filterable by text and kind. The rows are built
//! by report.js from the JSON block; here is only the frame.

use std::collections::BTreeMap;

use crate::escape::html as h;
use crate::html::Tab;
use crate::model::RunReport;
use crate::text::thousands;

pub struct Events;

impl Tab for Events {
    fn id(&self) -> &'static str {
        "events"
    }

    fn title(&self, r: &RunReport) -> String {
        format!("Events ({})", thousands(r.events.len() as u64 + r.events_omitted))
    }

    fn render(&self, r: &RunReport) -> Option<String> {
        if r.events.is_empty() {
            return None;
        }
        let mut kinds: BTreeMap<&str, u64> = BTreeMap::new();
        for e in &r.events {
            *kinds.entry(e.kind.as_str()).or_default() += 1;
        }
        let options: String = kinds
            .iter()
            .map(|(k, n)| format!("<option value=\"{}\">{} ({})</option>", h(k), h(k), thousands(*n)))
            .collect();
        Some(format!(
            "<div class=\"toolbar\"><input type=\"search\" id=\"event-filter\" placeholder=\"Filter events: text, pid:1234, seq:10\" aria-label=\"Filter events\">\
             <select id=\"event-kind\" aria-label=\"Event kind\"><option value=\"\">All kinds</option>{options}</select>\
             <span class=\"muted\" id=\"event-count\"></span></div>\n\
             <table class=\"grid\" id=\"event-table\"><thead><tr><th>Seq</th><th>Time</th><th>Kind</th><th>Pid</th><th>Process</th><th>Detail</th></tr></thead><tbody></tbody></table>\n\
             <button type=\"button\" class=\"more\" id=\"event-more\" hidden>Show more</button>\n\
             <noscript><p class=\"muted\">The event list needs JavaScript; report.json holds the same events.</p></noscript>\n{}",
            omitted(r)
        ))
    }
}

/// Says that the table stops short of the journal, when it does.
fn omitted(r: &RunReport) -> String {
    if r.events_omitted == 0 {
        return String::new();
    }
    format!(
        "<p class=\"muted\">{} more records (after the first {}) are not listed here or in report.json; \
         violations, lost events and the run's end always are. The journal (events.jsonl) has every record.</p>\n",
        thousands(r.events_omitted),
        thousands(crate::model::EVENTS_MAX as u64)
    )
}
