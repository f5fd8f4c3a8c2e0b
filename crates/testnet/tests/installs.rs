//! An agent install that cannot reach its registry fails, within a bound and with a message
//! that says so, instead of hanging the test that needed the agent.

use std::time::{Duration, Instant};

use testnet::{Agent, Registry, install};

/// A registry address nothing listens on (the discard port on loopback): refused at once.
const NOWHERE: &str = "http://127.0.0.1:9/";

fn unreachable(agent: &Agent, env: (&str, &str)) {
    let cache = tempfile::tempdir().expect("cache dir");
    let started = Instant::now();
    // SAFETY: this binary's tests set only their own registry variable, read by the child
    // processes `install` starts; nextest runs each test in a process of its own.
    unsafe { std::env::set_var(env.0, env.1) };
    let err = install(agent, cache.path()).expect_err("installed from a registry that is not there");
    assert!(started.elapsed() < Duration::from_secs(120), "took {:?}", started.elapsed());
    assert!(err.contains("is the registry reachable?") && err.contains(agent.name), "{err}");
    eprintln!("{err}");
}

#[test]
fn npm_without_its_registry_fails_with_a_message() {
    if std::process::Command::new("npm").arg("--version").output().is_err() {
        testnet::cannot_run("needs `npm` on PATH");
        return;
    }
    let agent = Agent { registry: Registry::Npm, name: "@openai/codex", version: "0.171.0", bin: "codex" };
    unreachable(&agent, ("npm_config_registry", NOWHERE));
}

#[test]
fn pip_without_its_index_fails_with_a_message() {
    let agent = Agent { registry: Registry::PyPi, name: "aider-chat", version: "0.86.2", bin: "aider" };
    unreachable(&agent, ("PIP_INDEX_URL", &format!("{NOWHERE}simple")));
}
