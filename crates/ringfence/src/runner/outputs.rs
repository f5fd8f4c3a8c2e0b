//! The run's reports, rendered from its journal (never from other in-memory state, so a report
//! always says what the journal can prove): built from the records exactly as the journal's
//! writer sealed and wrote them, or, when it could not write them all (or building failed), from
//! the file read back and verified.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, anyhow};

use super::Plan;

pub fn write(plan: &Plan, journal_path: &Path, built: Option<report::RunReport>) -> anyhow::Result<()> {
    let report = match built {
        Some(report) => report,
        None => {
            let verified =
                journal::read(journal_path)?.map_err(|e| anyhow!("{}: {e}", journal_path.display()))?;
            report::RunReport::from_journal(&verified)
        }
    };
    let out = |name: &str, text: String| {
        let path = plan.out_dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
    };
    // The run is over and its cores are free: the three renderings (report.json is the largest,
    // ~6 MB for 50,000 file events) are independent of each other.
    let (json, html, markdown) = std::thread::scope(|s| {
        let json = s.spawn(|| report::render_json(&report));
        let html = s.spawn(|| report::render_html(&report));
        let markdown = report::render_markdown(&report);
        (json.join(), html.join(), markdown)
    });
    let rendered = |r: std::thread::Result<String>, name: &str| {
        r.map_err(|_| anyhow!("rendering {name} panicked; the journal has every record"))
    };
    out("report.json", rendered(json, "report.json")?)?;
    out("report.md", markdown.clone())?;
    out("report.html", rendered(html, "report.html")?)?;
    if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty()) {
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&summary)
            .and_then(|mut f| f.write_all(markdown.as_bytes()))
            .with_context(|| {
                format!("appending the report to GITHUB_STEP_SUMMARY ({})", summary.to_string_lossy())
            })?;
    }
    Ok(())
}
