//! SARIF 2.1.0, for code-scanning upload.

use serde_json::{Value, json};

use crate::Report;
use crate::finding::Severity;
use crate::rules;

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// GitHub code scanning orders alerts by this number (0.0–10.0).
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "2.0",
    }
}

pub fn sarif(report: &Report) -> String {
    let rule_list: Vec<Value> = rules::ALL
        .iter()
        .map(|r| {
            let m = r.meta();
            json!({
                "id": m.id,
                "name": m.id,
                "shortDescription": { "text": m.summary },
                "fullDescription": { "text": m.why.split_whitespace().collect::<Vec<_>>().join(" ") },
                "helpUri": format!("https://github.com/ringfence/ringfence/blob/main/docs/audit.md#{}", m.id),
                "properties": { "category": m.category.as_str(), "tags": ["security", m.category.as_str()] },
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let rule_index = rules::ALL.iter().position(|r| r.meta().id == f.rule).unwrap_or(0);
            json!({
                "ruleId": f.rule,
                "ruleIndex": rule_index,
                "level": level(f.severity),
                "message": { "text": format!("{}. Fix: {}", f.message, f.fix.split_whitespace().collect::<Vec<_>>().join(" ")) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": f.file },
                        "region": {
                            "startLine": f.line,
                            "startColumn": f.column,
                            "endLine": f.end_line,
                            "endColumn": f.end_column,
                        }
                    }
                }],
                "properties": {
                    "severity": f.severity.as_str(),
                    "confidence": f.confidence.as_str(),
                    "category": f.category.as_str(),
                    "security-severity": security_severity(f.severity),
                },
            })
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "ringfence",
                "informationUri": "https://github.com/ringfence/ringfence",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rule_list,
            }},
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}
