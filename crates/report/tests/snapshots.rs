//! Snapshots of report.md and report.json for small, named fixtures: one per behaviour.

mod common;

use report::{RunReport, render_json, render_markdown};

fn build(f: common::Fixture) -> RunReport {
    RunReport::from_journal(&f.verified())
}

macro_rules! snapshot_both {
    ($name:ident, $fixture:expr) => {
        mod $name {
            use super::*;

            #[test]
            fn markdown() {
                insta::assert_snapshot!(render_markdown(&build($fixture)));
            }

            #[test]
            fn json() {
                insta::assert_snapshot!(render_json(&build($fixture)));
            }
        }
    };
}

snapshot_both!(blocked, common::blocked_run());
snapshot_both!(passed, common::passed_run());
snapshot_both!(audit, common::audit_run());
snapshot_both!(incomplete, common::incomplete_run());
snapshot_both!(hostile, common::hostile_run());

/// 2,000 children are too many for a json snapshot anyone would review; the markdown is the
/// behaviour under test (the collapse).
#[test]
fn many_children_markdown() {
    insta::assert_snapshot!(render_markdown(&build(common::many_children_run())));
}
snapshot_both!(agent, common::agent_run());
snapshot_both!(audit_agent, common::audit_agent_run());
snapshot_both!(api, common::api_run());
snapshot_both!(audit_api, common::audit_api_run());
