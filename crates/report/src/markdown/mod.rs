//! report.md, written for `$GITHUB_STEP_SUMMARY`: the verdict first, then what was blocked or
//! looks suspicious, then files, network, secrets and API requests, then a compact process tree, then the fence and
//! the numbers.
//!
//! Everything that came from the agent goes through [`crate::escape`]: argv can hold backticks,
//! pipes and `<script>`.

mod actors;
mod api;
mod attempts;
mod files;
mod network;
mod sections;
mod tree;

use crate::model::RunReport;

/// GitHub refuses summaries over 1 MiB; staying far below keeps the page quick to read and
/// leaves room for other steps' summaries.
pub const BUDGET: usize = 64 * 1024;

pub fn render(r: &RunReport) -> String {
    let head = [
        sections::headline(r),
        sections::warnings(r),
        sections::violations(r, crate::model::ViolationVerdict::Blocked),
        sections::violations(r, crate::model::ViolationVerdict::Allowed),
        sections::suspicious(r),
        files::section(r),
        network::section(r),
        api::section(r),
    ]
    .concat();
    let tail =
        [sections::fence(r), sections::environment(r), sections::counts(r), sections::footer(r)].concat();
    let tree_budget = BUDGET.saturating_sub(head.len() + tail.len() + 1024).max(4 * 1024);
    [head, sections::process_tree(r, tree_budget), tail].concat()
}
