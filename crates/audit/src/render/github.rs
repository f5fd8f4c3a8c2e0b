//! GitHub Actions workflow commands (`::error file=…::message`), which the runner turns into
//! annotations on the workflow run and the pull request.

use crate::Report;
use crate::finding::Severity;

fn command(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "notice",
    }
}

/// Workflow-command escaping: data escapes `%`, CR and LF; properties also `:` and `,`.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

pub fn github(report: &Report) -> String {
    let mut out = String::new();
    for f in &report.findings {
        out.push_str(&format!(
            "::{} file={},line={},col={},endLine={},endColumn={},title={}::{}\n",
            command(f.severity),
            escape_property(&f.file),
            f.line,
            f.column,
            f.end_line,
            f.end_column,
            escape_property(&format!("ringfence {} ({})", f.rule, f.severity.as_str())),
            escape_data(&format!(
                "{}\nFix: {}",
                f.message,
                f.fix.split_whitespace().collect::<Vec<_>>().join(" ")
            )),
        ));
    }
    for e in &report.errors {
        out.push_str(&format!("::error title=ringfence audit::{}\n", escape_data(&e.to_string())));
    }
    out
}
