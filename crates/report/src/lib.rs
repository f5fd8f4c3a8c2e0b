//! Reports rendered from a run's journal: report.json, report.md and report.html.
//!
//! One model ([`RunReport`]) is built from the verified journal; each output is a renderer over
//! it, so the three never disagree about what happened.

mod build;
mod escape;
mod html;
mod markdown;
mod model;
mod text;
mod tree;

pub use build::ReportBuilder;
pub use model::*;

impl RunReport {
    /// Builds the report from verified records; `head` is the journal's chain head, `complete`
    /// whether run.end was present.
    pub fn from_journal(verified: &journal::Verified) -> RunReport {
        build::from_journal(verified)
    }

    /// Violations as a reader should meet them: a secret sent where it does not belong first,
    /// then spending caps, then refused API routes, then the rest in journal order. report.json
    /// keeps journal order; md and html list in this one.
    pub fn violations_in_reading_order(&self) -> Vec<&Violation> {
        let mut list: Vec<&Violation> = self.violations.iter().collect();
        list.sort_by_key(|v| (v.kind.rank(), v.seq));
        list
    }
}

impl Violation {
    pub fn is_blocked(&self) -> bool {
        self.verdict == ViolationVerdict::Blocked
    }
}

/// report.json: the model, pretty-printed. Its schema is documented in `docs/report-schema.md`.
pub fn render_json(r: &RunReport) -> String {
    // The model is plain data (strings, numbers, vectors): serialising it cannot fail.
    serde_json::to_string_pretty(r).unwrap_or_default()
}

/// report.md: verdict first, then what was blocked or suspicious, then a compact process tree;
/// sized to fit a GitHub job summary.
pub fn render_markdown(r: &RunReport) -> String {
    markdown::render(r)
}

/// report.html: one self-contained file with no network fetches.
pub fn render_html(r: &RunReport) -> String {
    html::render(r)
}
