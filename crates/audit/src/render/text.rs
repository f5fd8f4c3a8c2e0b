//! Human-readable output: each finding with its place, an excerpt with the offending part
//! underlined, why it matters and how to fix it.

use std::fmt::Write;

use crate::Report;
use crate::finding::{Finding, Severity};
use crate::rules;

pub fn text(report: &Report) -> String {
    let mut out = String::new();
    for f in &report.findings {
        finding(&mut out, report, f);
    }
    for e in &report.errors {
        let _ = writeln!(out, "error: {e}\n");
    }
    let _ = writeln!(out, "{}", summary(report));
    out
}

fn finding(out: &mut String, report: &Report, f: &Finding) {
    let _ = writeln!(out, "{}[{}]: {}", f.severity.as_str(), f.rule, f.message);
    let _ = writeln!(out, "  --> {}:{}:{}", f.file, f.line, f.column);
    if let Some(file) = report.file(&f.file) {
        let width = f.end_line.to_string().len().max(f.line.to_string().len());
        let pad = " ".repeat(width);
        let _ = writeln!(out, "{pad} |");
        // Long spans (a whole `run:` block) show their first lines only.
        let last = f.end_line.min(f.line + 4).max(f.line);
        for n in f.line..=last {
            // A span ending at column 1 ends with the previous line's newline.
            if n == f.end_line && f.end_column == 1 && n != f.line {
                break;
            }
            let line = file.line(n);
            let _ = writeln!(out, "{n:>width$} | {line}");
            let chars = line.chars().count();
            let from = if n == f.line {
                f.column
            } else {
                1 + line.chars().take_while(|c| c.is_whitespace()).count()
            };
            let to = if n == f.end_line { f.end_column } else { chars + 1 };
            if to > from {
                let _ = writeln!(out, "{pad} | {}{}", " ".repeat(from - 1), "^".repeat(to - from));
            }
        }
        if last < f.end_line {
            let _ = writeln!(out, "{pad} | …");
        }
    }
    if let Some(rule) = rules::by_id(f.rule) {
        let _ = writeln!(out, "  = why: {}", squash(rule.meta().why));
    }
    let _ = writeln!(out, "  = fix: {}", squash(&f.fix));
    let _ = writeln!(out, "  = category: {}, confidence: {}\n", f.category.as_str(), f.confidence.as_str());
}

/// Rule texts are wrapped in the source; print them as one line.
fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn summary(report: &Report) -> String {
    if report.findings.is_empty() {
        return format!("No findings in {} file(s).", report.files.len());
    }
    let counts: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .map(|s| (s, report.findings.iter().filter(|f| f.severity == *s).count()))
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| format!("{n} {}", s.as_str()))
        .collect();
    format!("{} finding(s) in {} file(s): {}.", report.findings.len(), report.files.len(), counts.join(", "))
}
