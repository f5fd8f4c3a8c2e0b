//! report.html must be one file that fetches nothing and that no argv can break out of.

mod common;

use report::{RunReport, render_html};

fn html_of(f: common::Fixture) -> String {
    render_html(&RunReport::from_journal(&f.verified()))
}

/// Every `src=`/`href=` attribute value in the page's markup (outside the data block).
fn attribute_values<'a>(page: &'a str, attr: &str) -> Vec<&'a str> {
    let needle = format!(" {attr}=\"");
    page.match_indices(&needle)
        .filter_map(|(at, _)| {
            let rest = &page[at + needle.len()..];
            rest.find('"').map(|end| &rest[..end])
        })
        .collect()
}

#[test]
fn self_contained_no_external_resources() {
    for (name, page) in
        [("blocked", html_of(common::blocked_run())), ("hostile", html_of(common::hostile_run()))]
    {
        for attr in ["src", "href", "action"] {
            for value in attribute_values(&page, attr) {
                assert!(value.starts_with('#'), "{name}: {attr}=\"{value}\" points outside the page");
            }
        }
        let lower = page.to_lowercase();
        assert!(!lower.contains("<link"), "{name}: no stylesheets or preloads");
        assert!(!lower.contains("@import"), "{name}: no css imports");
        assert!(!lower.contains("url("), "{name}: no css urls");
        for fetcher in ["fetch(", "xmlhttprequest", "websocket", "eventsource", "sendbeacon", "import("] {
            assert!(!lower.contains(fetcher), "{name}: script must not call {fetcher}");
        }
        assert_eq!(lower.matches("<script").count(), 2, "{name}: only the data block and the inline script");
        assert!(page.contains("default-src 'none'"), "{name}: a CSP forbids fetching anything");
    }
}

#[test]
fn hostile_argv_is_escaped_everywhere() {
    let page = html_of(common::hostile_run());
    assert!(!page.contains(common::HOSTILE), "raw markup from argv reached the page");
    assert!(!page.contains("<b>x</b>"));
    assert!(!page.contains("<script>alert"));
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"), "escaped text is still shown");
}

#[test]
fn script_close_in_data_cannot_end_the_data_block() {
    let page = html_of(common::hostile_run());
    let start = page.find("<script type=\"application/json\" id=\"report-data\">").unwrap();
    let body_start = page[start..].find('>').unwrap() + start + 1;
    let end = page[body_start..].find("</script>").unwrap() + body_start;
    let data = &page[body_start..end];
    assert!(!data.contains('<'), "no '<' at all inside the data block");
    let value: serde_json::Value = serde_json::from_str(data).expect("the data block is whole JSON");
    let text = value.to_string();
    assert!(text.contains("</script><script>alert(2)</script>"), "the data round-trips unchanged");
    // What follows the data block is the report's own script, not something from the agent.
    assert!(page[end..].starts_with("</script>\n<script>\n// Tabs"));
}

#[test]
fn every_tab_is_present_for_a_full_run() {
    let page = html_of(common::blocked_run());
    for tab in ["overview", "violations", "processes", "fence", "events"] {
        assert!(page.contains(&format!("id=\"{tab}\" role=\"tabpanel\"")), "tab {tab}");
    }
}

#[test]
fn api_tab_tells_the_secret_and_spending_story_without_script() {
    let page = html_of(common::api_run());
    assert!(page.contains("id=\"api\" role=\"tabpanel\""), "the API tab is there");
    // Everything below is plain markup, outside the data block the script reads.
    let markup = &page[..page.find("<script type=\"application/json\"").unwrap()];
    let api = &markup[markup.find("id=\"api\" role=\"tabpanel\"").unwrap()..];
    assert!(api.contains("tried to send <code>ANTHROPIC_API_KEY</code>'s sentinel to <code class=\"host\">exfil.test</code> in header x-api-key"));
    assert!(api.contains("41,230 of 40,000 tokens, $0.31 of $10.00 cap · cap reached · 1 request refused"));
    assert!(api.contains("<b>api.github.com</b>/gists"), "each request is a row");
    assert!(api.contains("claude-haiku-4-5"), "usage per model");
    let exfil = api.find("Secret exfiltration").unwrap();
    assert!(
        exfil < api.find("Model usage").unwrap() && exfil < api.find("Requests").unwrap(),
        "exfiltration first"
    );
    assert!(markup.contains("Attempts outside the proxy"), "kernel-seen attempts are in the Network tab");
    assert!(!html_of(common::passed_run()).contains("id=\"api\""), "no API tab for a run without requests");
}
