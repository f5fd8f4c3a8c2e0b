//! report.html: one self-contained file (inline CSS and JS, no external resource of any kind).
//!
//! The page is rendered on the server side as far as a reader without JavaScript needs it: the
//! verdict, the run facts, violations, fence and a collapsible process tree are plain HTML. The
//! two big tables (all processes, all events) are built by the inline script from a JSON block,
//! because 20,000 rows of HTML would make the file slow to open; the script shows them a page
//! at a time.
//!
//! Each tab is a [`Tab`] in its own module and is only shown when it has something to show; a
//! new tab is one more module and one more line in [`TABS`].

mod data;
mod page;
mod tabs;

use crate::model::RunReport;

/// One tab of the report.
pub(crate) trait Tab: Sync {
    /// Anchor id, also the tab's name in the URL fragment.
    fn id(&self) -> &'static str;
    /// The label on the tab, e.g. `Violations (2)`.
    fn title(&self, r: &RunReport) -> String;
    /// The panel's HTML, or `None` when the run recorded nothing for this tab.
    fn render(&self, r: &RunReport) -> Option<String>;
}

const TABS: &[&dyn Tab] = &[
    &tabs::overview::Overview,
    &tabs::violations::Violations,
    &tabs::files::Files,
    &tabs::network::Network,
    &tabs::api::Api,
    &tabs::processes::Processes,
    &tabs::fence::Fence,
    &tabs::events::Events,
];

pub fn render(r: &RunReport) -> String {
    let panels: Vec<(&'static str, String, String)> =
        TABS.iter().filter_map(|t| Some((t.id(), t.title(r), t.render(r)?))).collect();
    page::page(r, &panels, &data::script_data(r))
}
