//! Every policy violation, with the process that made it.

use super::violation_table;
use crate::html::Tab;
use crate::model::RunReport;
use crate::text::thousands;

/// More rows than this make the page heavy; report.json has every one.
const MAX_ROWS: usize = 2_000;

pub struct Violations;

impl Tab for Violations {
    fn id(&self) -> &'static str {
        "violations"
    }

    fn title(&self, r: &RunReport) -> String {
        format!("Violations ({})", thousands(r.violations.len() as u64))
    }

    fn render(&self, r: &RunReport) -> Option<String> {
        if r.violations.is_empty() {
            return None;
        }
        let list: Vec<_> = r.violations_in_reading_order().into_iter().take(MAX_ROWS).collect();
        let mut out = violation_table(r, &list);
        if r.violations.len() > MAX_ROWS {
            out.push_str(&format!(
                "<p class=\"muted\">Showing {} of {}; report.json lists them all.</p>\n",
                thousands(MAX_ROWS as u64),
                thousands(r.violations.len() as u64)
            ));
        }
        Some(out)
    }
}
