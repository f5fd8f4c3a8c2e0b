//! Which logins an event is judged by, read from the payload GitHub gives the workflow.
//!
//! Each event names the author of what the agent will act on (the comment, the issue, the pull
//! request, the review) and the account that caused the event (`sender`). Both are judged, so a
//! maintainer labelling an outsider's issue or fork pull request does not lend the outsider their
//! permission, and an outsider editing a maintainer's comment is judged too. The budget is charged
//! to the first one: the author.

use serde_json::Value;

/// One login the gate must allow for the run to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub login: String,
    /// A GitHub App or other automation: `[bot]` login, or `type: Bot` in the payload.
    pub bot: bool,
    /// Where in the inputs it came from (`comment.user`, `sender`, `GITHUB_ACTOR`).
    pub source: &'static str,
}

/// Everyone an event is judged by; the first is charged the budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actors {
    pub judged: Vec<Principal>,
}

impl Actors {
    pub fn charged(&self) -> &Principal {
        &self.judged[0]
    }
}

/// Why the inputs name no one the gate can judge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error(
        "the event `{0}` is not one the gate knows who to judge for; run the agent on one of: {list}",
        list = SUPPORTED.join(", ")
    )]
    Unsupported(String),
    #[error("the `{event}` payload has no `{path}.login`: this is not a payload GitHub sends for that event")]
    Missing { event: String, path: &'static str },
    #[error("the `{event}` payload's `{path}.login` is `{login}`, which is not a GitHub login")]
    BadLogin { event: String, path: &'static str, login: String },
    #[error("GITHUB_ACTOR is not set, and a `{0}` event names no one else")]
    NoActor(String),
}

/// Events the gate decides, in the order docs/gate.md lists them.
pub const SUPPORTED: &[&str] = &[
    "issue_comment",
    "issues",
    "pull_request",
    "pull_request_target",
    "pull_request_review",
    "pull_request_review_comment",
    "discussion",
    "discussion_comment",
    "workflow_dispatch",
    "repository_dispatch",
    "push",
    "workflow_run",
    "schedule",
];

/// The payload paths (objects with `login` and `type`) each event is judged by, author first.
fn paths(event: &str) -> Option<&'static [&'static str]> {
    Some(match event {
        "issue_comment" => &["comment.user", "sender"],
        "issues" => &["issue.user", "sender"],
        "pull_request" | "pull_request_target" => &["pull_request.user", "sender"],
        "pull_request_review" => &["review.user", "sender"],
        "pull_request_review_comment" => &["comment.user", "sender"],
        "discussion" => &["discussion.user", "sender"],
        "discussion_comment" => &["comment.user", "sender"],
        "workflow_dispatch" | "repository_dispatch" | "push" => &["sender"],
        // The run that triggered this one: who started it, and who re-ran it.
        "workflow_run" => &["workflow_run.actor", "workflow_run.triggering_actor", "sender"],
        // A schedule has no sender: GitHub runs it as whoever last changed the cron line.
        "schedule" => &[],
        _ => return None,
    })
}

/// Who `event` (GITHUB_EVENT_NAME) with `payload` is judged by. `github_actor` is GITHUB_ACTOR,
/// used only where the payload names no one (`schedule`).
pub fn actors(event: &str, payload: &Value, github_actor: Option<&str>) -> Result<Actors, EventError> {
    let paths = paths(event).ok_or_else(|| EventError::Unsupported(event.to_string()))?;
    if !payload.is_object() {
        return Err(EventError::Missing {
            event: event.into(),
            path: paths.first().copied().unwrap_or("sender"),
        });
    }
    let mut judged: Vec<Principal> = Vec::new();
    for &path in paths {
        let user = path.split('.').try_fold(payload, |v, key| v.get(key));
        let Some(login) = user.and_then(|u| u.get("login")).and_then(Value::as_str) else {
            return Err(EventError::Missing { event: event.into(), path });
        };
        if !is_login(login) {
            return Err(EventError::BadLogin { event: event.into(), path, login: login.into() });
        }
        let typed_bot = user.and_then(|u| u.get("type")).and_then(Value::as_str) == Some("Bot");
        add(
            &mut judged,
            Principal { login: login.into(), bot: typed_bot || is_bot_login(login), source: path },
        );
    }
    if judged.is_empty() {
        let login =
            github_actor.filter(|a| !a.is_empty()).ok_or_else(|| EventError::NoActor(event.into()))?;
        if !is_login(login) {
            return Err(EventError::BadLogin {
                event: event.into(),
                path: "GITHUB_ACTOR",
                login: login.into(),
            });
        }
        add(&mut judged, Principal { login: login.into(), bot: is_bot_login(login), source: "GITHUB_ACTOR" });
    }
    Ok(Actors { judged })
}

/// Keeps one entry per login (GitHub logins are case-insensitive); a bot mark on either wins.
fn add(judged: &mut Vec<Principal>, p: Principal) {
    match judged.iter_mut().find(|q| q.login.eq_ignore_ascii_case(&p.login)) {
        Some(q) => q.bot |= p.bot,
        None => judged.push(p),
    }
}

pub fn is_bot_login(login: &str) -> bool {
    login.to_ascii_lowercase().ends_with("[bot]")
}

/// A GitHub login: letters, digits, hyphens (and `_` for managed users), optionally `[bot]`.
/// Anything else never reaches a URL.
pub fn is_login(text: &str) -> bool {
    let name = text.strip_suffix("[bot]").unwrap_or(text);
    !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(login: &str, kind: &str) -> Value {
        json!({ "login": login, "id": 1, "type": kind })
    }

    #[test]
    fn comment_is_judged_by_its_author_and_sender() {
        let p = json!({ "action": "created", "comment": { "user": user("outsider", "User") }, "sender": user("outsider", "User") });
        let a = actors("issue_comment", &p, Some("outsider")).unwrap();
        assert_eq!(a.judged.len(), 1);
        assert_eq!(a.charged().login, "outsider");
        assert_eq!(a.charged().source, "comment.user");
    }

    #[test]
    fn labelling_an_outsiders_fork_pr_does_not_lend_permission() {
        let p = json!({ "action": "labeled", "pull_request": { "user": user("forker", "User") }, "sender": user("Maintainer", "User") });
        let a = actors("pull_request_target", &p, Some("Maintainer")).unwrap();
        let logins: Vec<_> = a.judged.iter().map(|p| p.login.as_str()).collect();
        assert_eq!(logins, ["forker", "Maintainer"]);
    }

    #[test]
    fn bots_by_login_or_type() {
        let p = json!({ "comment": { "user": user("helper", "Bot") }, "sender": user("helper", "Bot") });
        assert!(actors("issue_comment", &p, None).unwrap().charged().bot);
        let p = json!({ "sender": user("renovate[bot]", "User") });
        assert!(actors("workflow_dispatch", &p, None).unwrap().charged().bot);
    }

    #[test]
    fn schedule_uses_github_actor_and_refuses_without_one() {
        let p = json!({ "schedule": "0 3 * * *", "workflow": ".github/workflows/a.yml" });
        assert_eq!(actors("schedule", &p, Some("owner")).unwrap().charged().source, "GITHUB_ACTOR");
        assert_eq!(actors("schedule", &p, None), Err(EventError::NoActor("schedule".into())));
    }

    #[test]
    fn malformed_and_unknown_are_errors() {
        assert!(matches!(actors("issue_comment", &json!({}), None), Err(EventError::Missing { .. })));
        assert!(matches!(actors("issue_comment", &json!([1]), None), Err(EventError::Missing { .. })));
        let bad = json!({ "comment": { "user": { "login": "../../x" } }, "sender": user("a", "User") });
        assert!(matches!(actors("issue_comment", &bad, None), Err(EventError::BadLogin { .. })));
        assert!(matches!(actors("fork", &json!({}), None), Err(EventError::Unsupported(_))));
        let num = json!({ "sender": { "login": 7 } });
        assert!(matches!(actors("push", &num, None), Err(EventError::Missing { .. })));
    }

    proptest::proptest! {
        /// Whatever the payload, the gate either names at least one valid login or says why not.
        #[test]
        fn never_empty_never_invalid(login in "\\PC{0,20}", other in "[a-z]{1,8}") {
            let p = json!({ "comment": { "user": { "login": login } }, "sender": { "login": other } });
            if let Ok(a) = actors("issue_comment", &p, None) {
                proptest::prop_assert!(!a.judged.is_empty());
                proptest::prop_assert!(a.judged.iter().all(|p| is_login(&p.login)));
            }
        }
    }
}
