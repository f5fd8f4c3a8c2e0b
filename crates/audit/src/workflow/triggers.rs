//! The workflow's `on:` and which of its events people outside the repository can fire.

use crate::yaml::Node;

/// How an event can be fired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reach {
    /// Only people or automation with write access (push, schedule, dispatch, …).
    Maintainers,
    /// Outside users, but the run gets no secrets and a read-only token (`pull_request` from a
    /// fork), so an agent there cannot act with the repository's credentials.
    OutsideWithoutSecrets,
    /// Any GitHub user, with the repository's secrets and token.
    Outside,
}

pub struct Event<'a> {
    pub name: &'a str,
    pub node: &'a Node,
    /// `types:` when given; empty means GitHub's default activity types.
    pub types: Vec<&'a str>,
}

pub struct Triggers<'a> {
    pub events: Vec<Event<'a>>,
}

/// Activity types that only someone with triage or write access can cause.
const MAINTAINER_TYPES: &[&str] = &[
    "labeled",
    "unlabeled",
    "assigned",
    "unassigned",
    "milestoned",
    "demilestoned",
    "pinned",
    "unpinned",
    "locked",
    "unlocked",
    "transferred",
    "review_requested",
    "review_request_removed",
    "category_changed",
    "answered",
    "unanswered",
];

impl<'a> Triggers<'a> {
    pub fn new(on: Option<&'a Node>) -> Self {
        let Some(on) = on else { return Self { events: Vec::new() } };
        let events = if on.is_map() {
            on.entries()
                .filter_map(|(k, v)| {
                    let types =
                        v.get("types").map(|t| t.strings().iter().filter_map(|s| s.as_str()).collect());
                    Some(Event { name: k.as_str()?, node: k, types: types.unwrap_or_default() })
                })
                .collect()
        } else {
            on.strings()
                .into_iter()
                .filter_map(|n| Some(Event { name: n.as_str()?, node: n, types: Vec::new() }))
                .collect()
        };
        Self { events }
    }

    /// Events outside users can fire with secrets available.
    pub fn outside(&self) -> Vec<&Event<'a>> {
        self.events.iter().filter(|e| e.reach() == Reach::Outside).collect()
    }

    pub fn reach(&self) -> Reach {
        self.events.iter().map(Event::reach).max().unwrap_or(Reach::Maintainers)
    }

    pub fn has(&self, name: &str) -> bool {
        self.events.iter().any(|e| e.name == name)
    }
}

impl Event<'_> {
    pub fn reach(&self) -> Reach {
        let by_type = !self.types.is_empty() && self.types.iter().all(|t| MAINTAINER_TYPES.contains(t));
        match self.name {
            "issues" | "pull_request_target" | "discussion" if by_type => Reach::Maintainers,
            "issues"
            | "issue_comment"
            | "pull_request_target"
            | "pull_request_review"
            | "pull_request_review_comment"
            | "discussion"
            | "discussion_comment"
            | "workflow_run"
            | "fork"
            | "watch" => Reach::Outside,
            "pull_request" => Reach::OutsideWithoutSecrets,
            _ => Reach::Maintainers,
        }
    }
}

/// Does `name` name an event outside users can fire (for `github.event_name == '…'` checks)?
pub fn event_is_outside(name: &str) -> bool {
    Event { name, node: &super::EMPTY, types: Vec::new() }.reach() != Reach::Maintainers
}
