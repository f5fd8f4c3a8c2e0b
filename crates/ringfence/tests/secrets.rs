//! Secrets under `ringfence run`: the agent holds a same-shape sentinel, never the real value,
//! anywhere it can look; TLS clients inside trust the run's CA through the system bundle and
//! the usual variables.

mod support;

use support::{privileged, run_in_env, scratch};

const REAL: &str = "sk-ant-api03-ReAlKeyV4lue_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789abcdeAA";

#[test]
fn the_agent_sees_a_sentinel_and_never_the_real_value() {
    if !privileged("the_agent_sees_a_sentinel_and_never_the_real_value") {
        return;
    }
    let dir = scratch();
    let script = "printenv RF_TEST_KEY; echo; tr '\\0' '\\n' < /proc/self/environ; \
        for p in /proc/[0-9]*; do tr '\\0' '\\n' < $p/environ 2>/dev/null; done; \
        echo UmVBbEtleVY0bHVl | base64 -d | grep -rsF -f - /tmp /etc/ssl 2>/dev/null; \
        grep -c 'ringfence: this run' /etc/ssl/certs/ca-certificates.crt; echo \"$SSL_CERT_FILE $NODE_EXTRA_CA_CERTS\"";
    let r = run_in_env(
        dir.path(),
        &[("RF_TEST_KEY", REAL)],
        &["--mode", "block", "--secret", "RF_TEST_KEY=api.anthropic.com"],
        &["/bin/sh", "-c", script],
    );
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let out = r.stdout();
    assert!(!out.contains("ReAlKeyV4lue"), "the real value leaked into the fence:\n{out}");
    let sentinel = out.lines().next().expect("printenv line");
    assert_eq!(sentinel.len(), REAL.len());
    assert!(sentinel.starts_with("sk-ant-api03-") && sentinel != REAL, "{sentinel}");
    assert!(out.contains("\n1\n"), "the fence's CA bundle carries the run's CA:\n{out}");
    assert!(
        out.contains("/etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt"),
        "SSL_CERT_FILE and NODE_EXTRA_CA_CERTS name the bundle:\n{out}"
    );
    let start = r.run_start();
    assert!(start.env_passed.iter().any(|n| n == "RF_TEST_KEY"));
    let layer = start.fence.iter().find(|l| l.layer == "secrets").expect("secrets layer");
    assert!(layer.active && layer.detail.contains("RF_TEST_KEY"), "{layer:?}");
    // The journal and reports never hold the value.
    for file in ["events.jsonl", "report.json", "report.md", "report.html"] {
        let text = std::fs::read_to_string(r.out_dir.join(file)).unwrap();
        assert!(!text.contains("ReAlKeyV4lue"), "{file} holds the real value");
    }
}

#[test]
fn a_bad_secret_flag_names_itself() {
    if !privileged("a_bad_secret_flag_names_itself") {
        return;
    }
    let dir = scratch();
    let out = std::process::Command::new(support::binary())
        .current_dir(dir.path())
        .args(["run", "--secret", "RF_TEST_KEY", "--", "/bin/true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--secret RF_TEST_KEY") && err.contains("NAME=host"), "{err}");
}

#[test]
fn a_run_directory_under_tmp_still_gives_the_fence_its_ca_bundle() {
    if !privileged("a_run_directory_under_tmp_still_gives_the_fence_its_ca_bundle") {
        return;
    }
    // The fence mounts a private tmpfs on /tmp; a run directory there (`--out /tmp/...`, as
    // benchmarks and many CI scripts use) must not take the bundle bound from it with it.
    let dir = scratch();
    let out = tempfile::Builder::new().prefix("ringfence-out-").tempdir_in("/tmp").unwrap();
    let output = std::process::Command::new(support::binary())
        .current_dir(dir.path())
        .env("RF_TEST_KEY", REAL)
        .args(["run", "--mode", "block", "--secret", "RF_TEST_KEY=api.anthropic.com", "--out"])
        .arg(out.path().join("run"))
        .args(["--", "/bin/sh", "-c", "grep -c 'ringfence: this run' /etc/ssl/certs/ca-certificates.crt"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "1", "{stderr}");
}
