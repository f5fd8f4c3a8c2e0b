//! Which expression contexts carry text that someone other than the repository's maintainers
//! chose.

/// How far from the maintainers the author of a value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Taint {
    /// Someone with write access chose it (dispatch inputs, `repository_dispatch` payloads).
    Privileged,
    /// Any GitHub user can choose it (issue and PR text, comments, branch names, commit messages).
    Attacker,
}

/// Context paths (lowercase, `*` matches one segment) whose value an outside user writes.
const ATTACKER: &[&str] = &[
    "github.event.issue.title",
    "github.event.issue.body",
    "github.event.pull_request.title",
    "github.event.pull_request.body",
    "github.event.pull_request.head.ref",
    "github.event.pull_request.head.label",
    "github.event.pull_request.head.repo.default_branch",
    "github.event.pull_request.head.repo.description",
    "github.event.pull_request.head.repo.homepage",
    "github.event.comment.body",
    "github.event.review.body",
    "github.event.discussion.title",
    "github.event.discussion.body",
    "github.event.pages.*.page_name",
    "github.event.commits.*.message",
    "github.event.commits.*.author.name",
    "github.event.commits.*.author.email",
    "github.event.commits.*.committer.name",
    "github.event.commits.*.committer.email",
    "github.event.head_commit.message",
    "github.event.head_commit.author.name",
    "github.event.head_commit.author.email",
    "github.event.head_commit.committer.name",
    "github.event.head_commit.committer.email",
    "github.event.workflow_run.head_branch",
    "github.event.workflow_run.display_title",
    "github.event.workflow_run.head_commit.message",
    "github.event.workflow_run.head_commit.author.name",
    "github.event.workflow_run.head_commit.author.email",
    "github.event.workflow_run.head_repository.description",
    "github.event.workflow_run.pull_requests.*.head.ref",
    "github.event.check_suite.head_branch",
    "github.event.check_run.check_suite.head_branch",
    "github.head_ref",
];

/// Context paths whose value someone with write access chooses.
const PRIVILEGED: &[&str] = &[
    "inputs.*",
    "github.event.inputs.*",
    "github.event.client_payload",
    "github.event.release.name",
    "github.event.release.body",
];

fn matches(pattern: &str, path: &str) -> bool {
    let mut p = pattern.split('.');
    let mut c = path.split('.');
    loop {
        match (p.next(), c.next()) {
            (None, None) => return true,
            // A deeper path under a tainted value is tainted too (`client_payload.x.y`).
            (None, Some(_)) => return true,
            (Some(_), None) => return false,
            (Some(a), Some(b)) => {
                if a != "*" && b != "*" && a != b {
                    return false;
                }
            }
        }
    }
}

/// A parent object of a tainted value (`github.event.issue`, `github.event`) serialises the
/// tainted text along with it, as in `toJSON(github.event)`.
fn is_parent(pattern: &str, path: &str) -> bool {
    let depth = path.split('.').count();
    pattern.split('.').count() > depth
        && matches(path, &pattern.split('.').take(depth).collect::<Vec<_>>().join("."))
}

/// The taint of a context path in [`gha_expr::ContextPath::pattern`] form.
pub fn context_taint(path: &str) -> Option<Taint> {
    if ATTACKER.iter().any(|p| matches(p, path) || is_parent(p, path)) {
        return Some(Taint::Attacker);
    }
    if PRIVILEGED.iter().any(|p| matches(p, path)) {
        return Some(Taint::Privileged);
    }
    None
}

/// Commands in a script that fetch issue, PR or comment text from the API (the same text an
/// attacker writes), so whatever they print is attacker-controlled.
pub fn fetches_untrusted_text(script_line: &str) -> bool {
    let l = script_line;
    let gh_view = ["gh issue view", "gh pr view", "gh pr diff", "gh issue list", "gh pr list", "gh search"];
    gh_view.iter().any(|p| l.contains(p))
        || (l.contains("gh api")
            && ["/issues", "/pulls", "/comments", "/discussions"].iter().any(|p| l.contains(p)))
}

/// Does an `actions/github-script` body fetch issue, PR, comment or review text through the
/// API (`github.rest.issues.get`, `pulls.get`, `listComments`, a GraphQL query for a body)?
/// Its result then carries the text an attacker wrote.
pub fn script_fetches_untrusted_text(script: &str) -> bool {
    const CALLS: &[&str] = &[
        "issues.get(",
        "issues.getComment(",
        "issues.listComments(",
        "issues.listForRepo(",
        "pulls.get(",
        "pulls.list(",
        "pulls.listReviews(",
        "pulls.listReviewComments(",
        "pulls.getReview(",
        "pulls.getReviewComment(",
        "search.issuesAndPullRequests(",
        "discussions",
    ];
    let graphql_body = script.contains("graphql(") && (script.contains(" body") || script.contains("title"));
    CALLS.iter().any(|c| script.contains(c)) || graphql_body
}

/// Actions that fetch issue or PR text and return it as outputs: `(uses prefix, input, values)`
/// — the step must set `input` to one of `values` (an empty list: any use).
const FETCH_ACTIONS: &[(&str, &str, &[&str])] = &[
    ("actions-cool/issues-helper", "actions", &["get-issue", "find-comments", "find-issues"]),
    ("octokit/request-action", "route", &[]),
    ("octokit/graphql-action", "query", &[]),
];

/// Does this action step fetch issue, PR or comment text (so its outputs carry it)?
pub fn action_fetches_untrusted_text(uses: &str, input: impl Fn(&str) -> Option<String>) -> bool {
    FETCH_ACTIONS.iter().any(|(prefix, key, values)| {
        uses.starts_with(prefix)
            && input(key).is_some_and(|v| {
                if values.is_empty() {
                    ["issues", "pulls", "comments", "body", "title"].iter().any(|p| v.contains(p))
                } else {
                    v.split([',', ' ', '\n']).any(|a| values.contains(&a.trim()))
                }
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lookups() {
        assert_eq!(context_taint("github.event.issue.body"), Some(Taint::Attacker));
        assert_eq!(context_taint("github.event.commits.*.message"), Some(Taint::Attacker));
        assert_eq!(context_taint("github.event.issue"), Some(Taint::Attacker));
        assert_eq!(context_taint("github.event"), Some(Taint::Attacker));
        assert_eq!(context_taint("github.event.issue.number"), None);
        assert_eq!(context_taint("github.event.pull_request.head.sha"), None);
        assert_eq!(context_taint("github"), Some(Taint::Attacker));
        assert_eq!(context_taint("github.sha"), None);
        assert_eq!(context_taint("inputs.prompt"), Some(Taint::Privileged));
        assert_eq!(context_taint("github.event.client_payload.text"), Some(Taint::Privileged));
    }
}
