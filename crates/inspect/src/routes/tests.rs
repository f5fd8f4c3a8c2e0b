use proptest::prelude::*;

use super::*;

fn inspect(routes: &[&str]) -> Inspect {
    Inspect {
        routes: routes
            .iter()
            .map(|r| {
                let (method, path) = r.split_once(' ').unwrap();
                Route { method: method.into(), path: path.into() }
            })
            .collect(),
        preset: None,
    }
}

#[test]
fn every_policy_preset_has_routes_and_the_named_one_applies() {
    for name in policy::INSPECT_PRESETS {
        assert!(preset_routes(name).is_some_and(|p| !p.routes.is_empty()), "{name}");
    }
    let mut with_preset = inspect(&["POST /markdown"]);
    with_preset.preset = Some("github-repo".into());
    let repo = Some("acme/app");
    assert!(route_decision(&with_preset, repo, "GET", "/repos/acme/app/pulls/3").allowed);
    assert!(route_decision(&with_preset, repo, "POST", "/markdown").allowed);
    assert!(!route_decision(&with_preset, repo, "POST", "/gists").allowed);
    assert!(!route_decision(&with_preset, repo, "GET", "/repos/other/app").allowed);
}

fn allowed(i: &Inspect, method: &str, path: &str) -> bool {
    route_decision(i, Some("Octo-Org/Hello.World"), method, path).allowed
}

#[test]
fn no_routes_allows_everything() {
    let d = route_decision(&Inspect::default(), None, "DELETE", "/anything");
    assert_eq!(d, Decision { allowed: true, rule: "inspect (no routes)".into() });
}

#[test]
fn wildcards_and_rule_text() {
    let i = inspect(&["GET /repos/${repo}/**", "POST /repos/${repo}/issues/*/comments"]);
    let d =
        route_decision(&i, Some("octo-org/hello.world"), "GET", "/repos/octo-org/hello.world/pulls/1?page=2");
    assert_eq!(d, Decision { allowed: true, rule: "route GET /repos/${repo}/**".into() });
    assert!(allowed(&i, "GET", "/repos/octo-org/hello.world"), "`**` matches zero segments");
    assert!(allowed(&i, "HEAD", "/repos/octo-org/hello.world/readme"), "GET routes allow HEAD");
    assert!(allowed(&i, "post", "/repos/octo-org/hello.world/issues/7/comments"));
    assert!(!allowed(&i, "POST", "/repos/octo-org/hello.world/issues/7/8/comments"), "`*` is one segment");
    assert!(!allowed(&i, "POST", "/repos/octo-org/hello.world/issues/comments"));
    assert!(!allowed(&i, "DELETE", "/repos/octo-org/hello.world"));
    assert!(!allowed(&i, "GET", "/repos/other/repo"));
    assert_eq!(route_decision(&i, Some("a/b"), "GET", "/gists").rule, "no route matches");
    assert!(allowed(&inspect(&["* /x/**"]), "PATCH", "/x/y"));
}

#[test]
fn owner_and_repo_ignore_case_literals_do_not() {
    let i = inspect(&["GET /repos/${repo}/issues/**"]);
    assert!(allowed(&i, "GET", "/repos/OCTO-ORG/hello.WORLD/issues"));
    assert!(!allowed(&i, "GET", "/repos/octo-org/hello.world/ISSUES"), "literals are exact");
}

#[test]
fn unknown_repo_never_matches_and_says_so() {
    let i = inspect(&["GET /repos/${repo}/**", "GET /rate_limit"]);
    let d = route_decision(&i, None, "GET", "/repos/a/b");
    assert!(!d.allowed);
    assert!(d.rule.contains("repository is unknown"), "{}", d.rule);
    assert!(route_decision(&i, None, "GET", "/rate_limit").allowed);
    for bad in ["a", "a/b/c", "../b", "a/", "/b", "a b/c"] {
        assert!(!route_decision(&i, Some(bad), "GET", "/repos/a/b").allowed, "{bad}");
    }
}

#[test]
fn hostile_paths() {
    let i = inspect(&["GET /repos/${repo}/**"]);
    let refused = |path: &str| route_decision(&i, Some("o/r"), "GET", path);
    let allowed =
        |_: &Inspect, method: &str, path: &str| route_decision(&i, Some("o/r"), method, path).allowed;
    // Walking out with `..`, plain or encoded, resolves before matching.
    assert_eq!(refused("/repos/o/r/../../x/y").rule, "no route matches");
    assert!(!refused("/repos/o/r/%2e%2e/%2E%2E/x/y").allowed);
    assert!(!refused("/repos/o/r/.%2e/.%2E/x/y").allowed);
    assert!(allowed(&i, "GET", "/repos/o/x/../r/contents"), "`..` inside the repo is fine");
    assert!(allowed(&i, "GET", "/repos/./o//r///pulls/./1"));
    // Unsafe: servers disagree about these, so they are refused outright.
    for path in [
        "/repos/o/r%2F..%2F..%2Fx",
        "/repos/o/r%2f",
        "/repos/o/r/%5c..",
        "/repos/o/r\\..\\x",
        "/repos/o/r/%00",
        "/repos/o/r/%zz",
        "/repos/o/r/%ff",
        "/../repos/o/r",
        "repos/o/r",
        "*",
        "https://api.github.com/repos/o/r",
    ] {
        assert_eq!(refused(path).rule, "unsafe path", "{path}");
        assert!(!refused(path).allowed);
    }
    // Encoded ordinary bytes decode before matching.
    assert!(allowed(&i, "GET", "/repos/%6f/%72/issues"));
    // A query cannot carry a path.
    assert!(!refused("/x?/repos/o/r/y").allowed);
    assert!(allowed(&i, "GET", "/repos/o/r/issues?q=../../x#frag"));
}

#[test]
fn normalize_examples() {
    assert_eq!(normalize_path("/a//b/./c/../d?x=/y").unwrap(), ["a", "b", "d"]);
    assert_eq!(normalize_path("/").unwrap(), Vec::<String>::new());
    assert_eq!(normalize_path("/a/%20b").unwrap(), ["a", " b"]);
}

#[test]
fn github_preset_reads_the_repo_and_refuses_the_rest() {
    let preset = github_api_preset();
    let ok = |m: &str, p: &str| route_decision(&preset, Some("octo/hello"), m, p).allowed;
    for (m, p) in [
        ("GET", "/repos/octo/hello"),
        ("GET", "/repos/octo/hello/contents/src/main.rs?ref=main"),
        ("GET", "/repos/Octo/Hello/issues/12/comments"),
        ("POST", "/repos/octo/hello/issues/12/comments"),
        ("PATCH", "/repos/octo/hello/issues/comments/99"),
        ("GET", "/repos/octo/hello/pulls/3/files"),
        ("POST", "/repos/octo/hello/pulls"),
        ("POST", "/repos/octo/hello/pulls/3/reviews"),
        ("GET", "/repos/octo/hello/actions/runs/5/logs"),
        ("GET", "/repos/octo/hello/git/trees/main"),
        ("GET", "/rate_limit"),
    ] {
        assert!(ok(m, p), "{m} {p}");
    }
    for (m, p) in [
        ("POST", "/gists"),
        ("GET", "/gists/abc"),
        ("PUT", "/repos/octo/hello/contents/.github/workflows/ci.yml"),
        ("PUT", "/repos/octo/hello/contents/src/main.rs"),
        ("POST", "/repos/octo/hello/hooks"),
        ("GET", "/repos/octo/hello/hooks"),
        ("POST", "/repos/octo/hello/keys"),
        ("PUT", "/repos/octo/hello/collaborators/mallory"),
        ("GET", "/repos/octo/hello/actions/secrets"),
        ("PUT", "/repos/octo/hello/actions/secrets/X"),
        ("PATCH", "/repos/octo/hello"),
        ("DELETE", "/repos/octo/hello"),
        ("GET", "/user"),
        ("POST", "/user/repos"),
        ("GET", "/repos/octo/other/contents/x"),
        ("POST", "/graphql"),
        ("GET", "/repos/octo/hello/contents/../../other/contents/x"),
    ] {
        assert!(!ok(m, p), "{m} {p}");
    }
}

proptest! {
    #[test]
    fn normalized_paths_never_climb_out(segments in proptest::collection::vec("(\\.\\.|\\.|%2e%2e|[a-z]{1,3}|)", 0..12)) {
        let path = format!("/repos/o/r/{}", segments.join("/"));
        let i = inspect(&["GET /repos/${repo}/**"]);
        let d = route_decision(&i, Some("o/r"), "GET", &path);
        if let Ok(normal) = normalize_path(&path) {
            prop_assert_eq!(d.allowed, normal.len() >= 3 && normal[..3] == ["repos", "o", "r"]);
            prop_assert!(normal.iter().all(|s| !s.is_empty() && s != "." && s != ".."));
        } else {
            prop_assert!(!d.allowed);
        }
    }

    #[test]
    fn any_input_gets_an_answer(method in "[A-Za-z]{0,8}", path in "\\PC{0,80}") {
        let i = github_api_preset();
        let _ = route_decision(&i, Some("o/r"), &method, &path);
        let _ = route_decision(&i, None, &method, &path);
    }
}
