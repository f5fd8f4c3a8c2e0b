//! A big run must still give reports a browser opens and a job summary accepts.

mod common;

use std::time::{Duration, Instant};

use report::{RunReport, render_html, render_json, render_markdown};

#[test]
fn twenty_thousand_events_render_small_and_fast() {
    // 6,700 processes × (fork, exec, exit) + start, violations, end ≈ 20,000 records.
    let verified = common::large_run(6_700).verified();
    assert!(verified.records.len() >= 20_000, "{} records", verified.records.len());

    let started = Instant::now();
    let r = RunReport::from_journal(&verified);
    let html = render_html(&r);
    let md = render_markdown(&r);
    let json = render_json(&r);
    let took = started.elapsed();

    // Generous for an unoptimised test build on a shared CI runner; a release build is ~10x faster.
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert!(html.len() < 4 * 1024 * 1024, "report.html is {} bytes", html.len());
    assert!(md.len() <= 64 * 1024, "report.md is {} bytes", md.len());
    assert!(json.len() < 16 * 1024 * 1024, "report.json is {} bytes", json.len());
    assert_eq!(r.events.len(), verified.records.len(), "every record is listed");
    assert!(md.contains("more processes are not shown") || md.contains("more /usr/bin/cc"));
}
