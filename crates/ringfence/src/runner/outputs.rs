//! The run's reports, rendered from its journal (never from other in-memory state, so a report
//! always says what the journal can prove): built from the records exactly as the journal's
//! writer sealed and wrote them, or, when it could not write them all (or building failed), from
//! the file read back and verified. Every file is created through the run directory's handle.

use std::io::Write;
use std::os::fd::AsRawFd;

use anyhow::{Context, anyhow};

use super::Plan;

/// The journal's file name in the run directory.
pub const JOURNAL: &str = "events.jsonl";

/// Space set aside in the run directory at the start for the reports, released just before they
/// are written: an agent that fills the disk leaves room for them (it is gone by then).
const REPORTS_RESERVE: &str = ".reports-reserve";
const REPORTS_RESERVE_BYTES: i64 = 8 * 1024 * 1024;

/// Sets the reports' space aside. A file system without `fallocate` gets no reserve; one too
/// full for it is an error: the run would end without its reports.
pub fn reserve(plan: &Plan) -> anyhow::Result<()> {
    plan.run_dir.write(REPORTS_RESERVE, b"", 0o600).context("creating the reports' reserve")?;
    let flags = nix::fcntl::OFlag::O_WRONLY | nix::fcntl::OFlag::O_NOFOLLOW | nix::fcntl::OFlag::O_CLOEXEC;
    let fd = nix::fcntl::openat(
        Some(plan.run_dir.fd().as_raw_fd()),
        REPORTS_RESERVE,
        flags,
        nix::sys::stat::Mode::empty(),
    )
    .context("opening the reports' reserve")?;
    // SAFETY: openat returned a new descriptor that nothing else owns.
    let file = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    match nix::fcntl::fallocate(
        file.as_raw_fd(),
        nix::fcntl::FallocateFlags::empty(),
        0,
        REPORTS_RESERVE_BYTES,
    ) {
        Ok(()) | Err(nix::errno::Errno::EOPNOTSUPP) => Ok(()),
        Err(e) => {
            let _ = plan.run_dir.remove(REPORTS_RESERVE);
            Err(anyhow!(
                "cannot set {} MiB aside for the reports in {}: {e}; free space there or choose --out DIR",
                REPORTS_RESERVE_BYTES >> 20,
                plan.out_dir.display()
            ))
        }
    }
}

/// The journal read back through the run directory's handle and verified.
pub fn read_back(plan: &Plan) -> anyhow::Result<journal::Verified> {
    let bytes = plan.run_dir.read(JOURNAL).context("reading the journal back")?;
    let text = String::from_utf8_lossy(&bytes);
    journal::verify(&text).map_err(|e| anyhow!("{}: {e}", plan.out_dir.join(JOURNAL).display()))
}

pub fn write(plan: &Plan, built: Option<report::RunReport>) -> anyhow::Result<()> {
    let _ = plan.run_dir.remove(REPORTS_RESERVE);
    let report = match built {
        Some(report) => report,
        None => report::RunReport::from_journal(&read_back(plan)?),
    };
    let out = |name: &str, text: String| {
        plan.run_dir
            .write(name, text.as_bytes(), 0o644)
            .with_context(|| format!("writing {}", plan.out_dir.join(name).display()))
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
    // The smallest and most read first: if the disk fills, it is the one most likely to be there.
    out("report.md", markdown.clone())?;
    out("report.json", rendered(json, "report.json")?)?;
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
