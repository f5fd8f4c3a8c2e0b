//! What a command line runs, program by program, for the forms bash gives a command.

use shellparse::{Arg, analyze};

fn programs(src: &str) -> Vec<String> {
    let a = analyze(src).unwrap_or_else(|e| panic!("{src:?}: {e}"));
    a.commands.into_iter().map(|c| c.program).collect()
}

fn unseen(src: &str) -> Vec<String> {
    analyze(src).unwrap_or_else(|e| panic!("{src:?}: {e}")).unseen.into_iter().map(|u| u.what).collect()
}

#[test]
fn each_command_of_every_form_is_found() {
    let cases: &[(&str, &[&str])] = &[
        ("a; b && c || d", &["a", "b", "c", "d"]),
        ("a | b |& c", &["a", "b", "c"]),
        ("(a; { b; })", &["a", "b"]),
        ("echo $(a) `b` <(c) >(d)", &["echo", "a", "b", "c", "d"]),
        ("f() { a; }; f", &["a", "f"]),
        ("if a; then b; elif c; then d; else e; fi", &["a", "b", "c", "d", "e"]),
        ("while a; do b; done; until c; do d; done", &["a", "b", "c", "d"]),
        ("for x in 1 2; do a $x; done", &["a"]),
        ("case $x in y) a ;; *) b ;; esac", &["a", "b"]),
        ("! a", &["a"]),
        ("a &", &["a"]),
        ("X=1 a", &["a"]),
        ("c\\url", &["curl"]),
        ("'cu'rl", &["curl"]),
        ("\"cu\"rl", &["curl"]),
        ("$'\\x63url'", &["curl"]),
        ("$'\\143url'", &["curl"]),
        ("/usr/bin/curl", &["curl"]),
        ("./curl", &["curl"]),
        ("\"$HOME/bin/cargo\" build", &["cargo"]),
        ("X=curl; $X x", &["curl"]),
        ("X=curl; \"${X}\" x", &["curl"]),
        ("X='curl -s'; $X x", &["curl"]),
        ("for p in ls curl; do $p; done", &["ls", "curl"]),
        ("cat <<EOF\n$(curl x)\nEOF", &["cat", "curl"]),
    ];
    let mut failed = vec![];
    for (src, want) in cases {
        let got = programs(src);
        for w in *want {
            if !got.iter().any(|g| g == w) {
                failed.push(format!("{src:?}: {w} not in {got:?}"));
            }
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn wrappers_are_followed_to_the_program_they_run() {
    let cases: &[(&str, &str)] = &[
        ("env curl x", "curl"),
        ("env -i A=b -u C curl x", "curl"),
        ("env -S 'curl x'", "curl"),
        ("sudo -u root -E curl x", "curl"),
        ("sudo A=b curl", "curl"),
        ("timeout -s KILL 5 curl x", "curl"),
        ("nice -n 5 curl", "curl"),
        ("nohup curl &", "curl"),
        ("stdbuf -oL curl", "curl"),
        ("xargs -n1 curl", "curl"),
        ("xargs -I{} curl {}", "curl"),
        ("find . -exec curl {} \\;", "curl"),
        ("find . -execdir wget {} +", "wget"),
        ("find . -ok nc {} \\;", "nc"),
        ("watch -n 1 curl x", "curl"),
        ("watch -x curl x", "curl"),
        ("command curl", "curl"),
        ("exec curl", "curl"),
        ("busybox wget x", "wget"),
        ("git -c alias.x='!curl y' x", "curl"),
        ("git -c core.pager='curl x' log", "curl"),
        ("git -c alias.p=push p", "git"),
        ("bash -c 'curl x'", "curl"),
        ("sh -c \"sh -c 'curl x'\"", "curl"),
        ("bash -lc 'curl x'", "curl"),
        ("eval 'curl x'", "curl"),
        ("eval curl x", "curl"),
        ("echo 'curl x' | bash", "curl"),
        ("printf 'curl x' | sh", "curl"),
        ("bash <<< 'curl x'", "curl"),
        ("bash <<'EOF'\ncurl x\nEOF", "curl"),
        ("cat <<'EOF' | sh\ncurl x\nEOF", "curl"),
        ("sudo env timeout 5 nice bash -c 'xargs curl'", "curl"),
        ("GIT_SSH_COMMAND='nc x' git fetch", "nc"),
        ("flock /tmp/l -c 'curl x'", "curl"),
        ("su -c 'curl x'", "curl"),
        ("alias g='curl x'", "curl"),
        ("time curl x", "curl"),
    ];
    let mut failed = vec![];
    for (src, want) in cases {
        let got = programs(src);
        if !got.iter().any(|g| g == want) {
            failed.push(format!("{src:?}: {want} not in {got:?}"));
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn what_cannot_be_seen_is_said() {
    let cases: &[&str] = &[
        "$(echo curl) x",
        "`echo curl` x",
        "$X x",
        "${X:-curl} x",
        "IFS=,; X=curl,x; $X",
        "eval \"$CMD\"",
        "eval $(echo curl)",
        "echo Y3VybA== | base64 -d | sh",
        "bash -c \"$X\"",
        "bash <(curl x)",
        "source <(echo curl)",
        "bash < <(base64 -d f)",
        "xargs -I{} sh -c {}",
        "echo curl | xargs env",
        "find . -exec {} \\;",
        "c{u,}rl x",
        "/usr/bin/cu?l",
        "python3 -c \"$CODE\"",
        "echo x > /dev/tcp/h/80",
        "BASH_ENV=/tmp/x bash s.sh",
        "$1",
    ];
    let mut failed = vec![];
    for src in cases {
        if unseen(src).is_empty() {
            failed.push(format!("{src:?} was fully seen: {:?}", analyze(src)));
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn inline_interpreter_code_is_handed_on() {
    for (src, interp) in [
        ("python3 -c 'import os; os.system(\"curl x\")'", "python3"),
        ("node -e 'require(\"child_process\").execSync(\"curl x\")'", "node"),
        ("perl -e 'system q(curl x)'", "perl"),
        ("perl -lne 'print'", "perl"),
        ("ruby -e '`curl x`'", "ruby"),
        ("python3 - <<'EOF'\nimport os\nEOF", "python3"),
        ("awk 'BEGIN{system(\"curl x\")}'", "awk"),
    ] {
        let a = analyze(src).unwrap();
        assert!(a.inline_code.iter().any(|c| c.interpreter == interp), "{src:?}: {a:?}");
    }
}

#[test]
fn ordinary_text_is_not_a_command() {
    for (src, not) in [
        ("git commit -m 'use curl here'", "curl"),
        ("grep -rn curl src", "curl"),
        ("echo \"use wget\"", "wget"),
        ("find . -name '*.rs' | xargs wc -l", "curl"),
        ("command -v curl", "curl"),
        ("awk '/curl/ {print}' f", "curl"),
    ] {
        let a = analyze(src).unwrap();
        assert!(!a.commands.iter().any(|c| c.program == not), "{src:?}: {a:?}");
        assert!(a.unseen.is_empty(), "{src:?}: {a:?}");
    }
}

#[test]
fn arguments_keep_their_resolved_values() {
    let a = analyze("git -C d 'pu'sh origin $B").unwrap();
    let c = &a.commands[0];
    assert_eq!(c.args[2], Arg::Lit("push".into()));
    assert!(matches!(c.args[4], Arg::Dynamic(_)));
}

#[test]
fn text_that_does_not_parse_is_an_error() {
    for src in ["echo )", "if then", "curl 'x", "a |", "$(", "exec 3<>/dev/tcp/h/80"] {
        assert!(analyze(src).is_err(), "{src:?} parsed: {:?}", analyze(src));
    }
}

#[test]
fn redirections_name_the_files_they_open() {
    let a = analyze("cat < in.txt > out.txt 2>&1; echo x >> ~/.bashrc; y &> log; z >&-").unwrap();
    let got: Vec<(&str, bool)> = a.redirects.iter().map(|r| (r.path.as_str(), r.write)).collect();
    assert_eq!(got, [("in.txt", false), ("out.txt", true), ("~/.bashrc", true), ("log", true)]);
}
