//! Writes the reports for the test fixtures into a directory, to look at them in a browser:
//! `cargo run -p report --example samples -- /tmp/reports`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "reports".into()));
    let fixtures = [
        ("agent", common::agent_run()),
        ("audit-agent", common::audit_agent_run()),
        ("api", common::api_run()),
        ("audit-api", common::audit_api_run()),
        ("blocked", common::blocked_run()),
        ("passed", common::passed_run()),
        ("audit", common::audit_run()),
        ("incomplete", common::incomplete_run()),
        ("many-children", common::many_children_run()),
        ("hostile", common::hostile_run()),
        ("large", common::large_run(6_000)),
    ];
    for (name, fixture) in fixtures {
        let report = report::RunReport::from_journal(&fixture.verified());
        let out = dir.join(name);
        std::fs::create_dir_all(&out)?;
        std::fs::write(out.join("report.json"), report::render_json(&report))?;
        std::fs::write(out.join("report.md"), report::render_markdown(&report))?;
        std::fs::write(out.join("report.html"), report::render_html(&report))?;
        println!("{}", out.display());
    }
    Ok(())
}
