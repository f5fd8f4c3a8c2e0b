//! Stable JSON: `{"version": 1, "findings": [...], "errors": [...]}`; each finding has
//! `rule, category, severity, confidence, file, line, column, end_line, end_column, message, fix`
//! in that order.

use serde::Serialize;

use crate::Report;
use crate::finding::Finding;

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    findings: &'a [Finding],
    errors: Vec<String>,
}

pub fn json(report: &Report) -> String {
    let doc = Document {
        version: 1,
        findings: &report.findings,
        errors: report.errors.iter().map(ToString::to_string).collect(),
    };
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}
