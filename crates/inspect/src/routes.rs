//! Method and path rules for inspected hosts.
//!
//! A route is `METHOD /path` where `*` is one path segment, `**` any number of segments and
//! `${repo}` the run's repository (`owner/name`, two segments). Routes only allow: a request no
//! route matches is refused. The path is normalised the way a server would read it before it is
//! matched, so `..`, doubled slashes and percent-encoding cannot walk a request out of
//! `/repos/${repo}/`.

use policy::{Decision, Inspect, Route};

/// Rule text when the path cannot be read safely.
const UNSAFE_PATH: &str = "unsafe path";

/// May this request to an inspected host go ahead? Empty `routes` allow everything
/// (`inspect (no routes)`); otherwise the first matching route decides (`route GET /repos/${repo}/**`)
/// and no match is refused (`no route matches`). `repo` is the run's `owner/name`; routes that
/// use `${repo}` never match when it is unknown, and the rule text says so.
pub fn route_decision(inspect: &Inspect, repo: Option<&str>, method: &str, path_and_query: &str) -> Decision {
    let preset = inspect.preset.as_deref().and_then(preset_routes);
    let routes: Vec<&Route> = inspect.routes.iter().chain(preset.iter().flat_map(|p| &p.routes)).collect();
    if routes.is_empty() {
        return decision(true, "inspect (no routes)");
    }
    let Ok(segments) = normalize_path(path_and_query) else {
        return decision(false, UNSAFE_PATH);
    };
    let repo = repo.and_then(repo_segments);
    let method = method.to_ascii_uppercase();
    let mut skipped = false;
    for route in routes {
        if !method_matches(&route.method, &method) {
            continue;
        }
        let pattern = pattern_segments(&route.path);
        if pattern.contains(&"${repo}") && repo.is_none() {
            skipped = true;
            continue;
        }
        if path_matches(&pattern, &segments, repo.as_ref()) {
            return decision(true, &format!("route {} {}", route.method, route.path));
        }
    }
    if skipped {
        decision(false, "no route matches (routes with ${repo} never match: the run's repository is unknown)")
    } else {
        decision(false, "no route matches")
    }
}

fn decision(allowed: bool, rule: &str) -> Decision {
    Decision { allowed, rule: rule.to_string() }
}

/// `GET` routes also allow `HEAD`: it reads the same resource without the body.
fn method_matches(route: &str, method: &str) -> bool {
    route == "*" || route == method || (route == "GET" && method == "HEAD")
}

/// `owner/name` as two lower-case segments; anything else counts as unknown.
fn repo_segments(repo: &str) -> Option<(String, String)> {
    let (owner, name) = repo.split_once('/')?;
    let valid = |s: &str| {
        !s.is_empty()
            && s != "."
            && s != ".."
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    };
    (valid(owner) && valid(name)).then(|| (owner.to_ascii_lowercase(), name.to_ascii_lowercase()))
}

fn pattern_segments(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

/// The request path as a server reads it: query and fragment dropped, segments
/// percent-decoded, empty and `.` segments dropped, `..` applied. Refuses what servers disagree
/// on: an encoded `/`, any `\`, NUL, bytes that are not UTF-8, a `..` above the root, and a
/// path that does not start with `/`.
pub fn normalize_path(path_and_query: &str) -> Result<Vec<String>, &'static str> {
    let path = path_and_query.split(['?', '#']).next().unwrap_or("");
    if !path.starts_with('/') || path.contains('\\') {
        return Err(UNSAFE_PATH);
    }
    let mut segments: Vec<String> = Vec::new();
    for raw in path.split('/') {
        let decoded = percent_decode(raw).ok_or(UNSAFE_PATH)?;
        if decoded.contains(['/', '\\', '\0']) {
            return Err(UNSAFE_PATH);
        }
        match decoded.as_str() {
            "" | "." => {}
            ".." => {
                segments.pop().ok_or(UNSAFE_PATH)?;
            }
            _ => segments.push(decoded),
        }
    }
    Ok(segments)
}

/// Decodes `%XX` escapes; `None` for a malformed escape or a result that is not UTF-8.
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(crate::sentinel::escaped_byte(&bytes[i..])?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Matches path segments against pattern segments with `*`, `**` and `${repo}` (two segments,
/// compared without regard to case, as GitHub treats owner and repository names). Literal
/// segments compare exactly: a differently-cased path is refused, never widened.
fn path_matches(pattern: &[&str], path: &[String], repo: Option<&(String, String)>) -> bool {
    let mut expanded: Vec<Segment> = Vec::with_capacity(pattern.len() + 1);
    for p in pattern {
        match *p {
            "**" => expanded.push(Segment::Any),
            "*" => expanded.push(Segment::One),
            "${repo}" => match repo {
                Some((owner, name)) => {
                    expanded.push(Segment::Folded(owner.clone()));
                    expanded.push(Segment::Folded(name.clone()));
                }
                None => return false,
            },
            literal => expanded.push(Segment::Exact(literal.to_string())),
        }
    }
    glob(&expanded, path)
}

enum Segment {
    Exact(String),
    /// Compared case-insensitively; already lower case.
    Folded(String),
    One,
    Any,
}

/// Dynamic programming over (pattern, path) so many `**` cannot make matching exponential.
fn glob(pattern: &[Segment], path: &[String]) -> bool {
    // reachable[j]: the pattern consumed so far can match the first j path segments.
    let mut reachable = vec![false; path.len() + 1];
    reachable[0] = true;
    for segment in pattern {
        let mut next = vec![false; path.len() + 1];
        for j in 0..=path.len() {
            match segment {
                Segment::Any => next[j] = reachable[j] || (j > 0 && next[j - 1]),
                _ if j == 0 => {}
                Segment::One => next[j] = reachable[j - 1],
                Segment::Exact(s) => next[j] = reachable[j - 1] && path[j - 1] == *s,
                Segment::Folded(s) => next[j] = reachable[j - 1] && path[j - 1].eq_ignore_ascii_case(s),
            }
        }
        reachable = next;
    }
    reachable[path.len()]
}

/// Routes for `api.github.com` that let an agent work on the run's repository and nothing else.
/// A starting point: copy it into `inspect:` and widen only what a job needs.
///
/// Absent on purpose, so refused: gists (`/gists/**`, a public paste host), every write to
/// repository contents (`PUT /repos/${repo}/contents/**` could rewrite `.github/workflows/`;
/// code goes through git pushes, which branch protection governs), repository administration
/// (hooks, deploy keys, collaborators, secrets, `actions/secrets`, settings), `/user/**` (the
/// token owner's account), other repositories, and GraphQL (one endpoint that can do all of the
/// above, so its path cannot be limited to the repository).
/// The routes of a named preset (`inspect.<host>.preset`; names in [`policy::INSPECT_PRESETS`]).
pub fn preset_routes(name: &str) -> Option<Inspect> {
    match name {
        "github-repo" => Some(github_api_preset()),
        _ => None,
    }
}

pub fn github_api_preset() -> Inspect {
    const ROUTES: &[(&str, &str)] = &[
        // Repository metadata: default branch, visibility; most clients ask first.
        ("GET", "/repos/${repo}"),
        // Reading files, the README and the git database.
        ("GET", "/repos/${repo}/contents/**"),
        ("GET", "/repos/${repo}/readme"),
        ("GET", "/repos/${repo}/git/**"),
        // History and branches, to compare and explain changes.
        ("GET", "/repos/${repo}/commits/**"),
        ("GET", "/repos/${repo}/compare/**"),
        ("GET", "/repos/${repo}/branches/**"),
        // Issues and their comments: the agent's task usually arrives here.
        ("GET", "/repos/${repo}/issues/**"),
        ("POST", "/repos/${repo}/issues/*/comments"),
        // Editing a comment: agents update one progress comment instead of posting many.
        ("PATCH", "/repos/${repo}/issues/comments/*"),
        // Pull requests: read them, open one, review and comment.
        ("GET", "/repos/${repo}/pulls/**"),
        ("POST", "/repos/${repo}/pulls"),
        ("POST", "/repos/${repo}/pulls/*/comments"),
        ("POST", "/repos/${repo}/pulls/*/reviews"),
        // CI results and logs, to fix a failing build.
        ("GET", "/repos/${repo}/actions/runs/**"),
        ("GET", "/repos/${repo}/actions/jobs/**"),
        ("GET", "/repos/${repo}/check-runs/**"),
        // Harmless, and asked by clients before they retry.
        ("GET", "/rate_limit"),
    ];
    Inspect {
        routes: ROUTES
            .iter()
            .map(|(method, path)| Route { method: (*method).to_string(), path: (*path).to_string() })
            .collect(),
        preset: None,
    }
}

#[cfg(test)]
mod tests;
