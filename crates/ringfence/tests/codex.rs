//! The real Codex CLI under `ringfence run --mode block`, offline: a scripted OpenAI Responses
//! API serves as api.openai.com in a fake internet, and the script makes Codex run shell
//! commands through its own shell tool. The key must reach that server and nowhere else; Codex
//! holds only a sentinel; its usage is metered from the Responses stream; a budget stops an
//! endless loop.
//!
//! Needs root, the fake internet's tools and npm (Codex is installed once per build directory,
//! under `agents/codex`).

mod support;

use serde_json::{Value, json};
use support::agents::{Agent, BASE64URL, World, fake_key, look_for_key, world};
use testnet::SERIAL;

const CODEX: Agent = Agent {
    package: testnet::CODEX,
    api_host: "api.openai.com",
    api_ip: "198.51.100.22",
    // `codex exec` reads CODEX_API_KEY; OPENAI_API_KEY alone leaves it without a key.
    key_var: "CODEX_API_KEY",
    // ringfence is the sandbox: Codex's own (bubblewrap) needs a user namespace the fence refuses.
    args: &[
        "exec",
        "-m",
        "gpt-5.4",
        "--skip-git-repo-check",
        "-s",
        "danger-full-access",
        "-c",
        "features.responses_websockets=false",
        "-c",
        "features.responses_websockets_v2=false",
        "-c",
        "analytics.enabled=false",
        "-c",
        "check_for_update_on_startup=false",
        "Do what the task needs.",
    ],
    env: &[],
    // What Codex needs, and what it calls but works without (refused without a violation).
    policy: "presets: [codex]\n",
};

/// A project key of the shape OpenAI issues: `sk-proj-`, then 156 base64url characters.
fn key() -> String {
    fake_key("sk-proj-", 156, BASE64URL)
}

fn codex_world(test: &str, script: Value) -> Option<World> {
    world(test, CODEX, key(), script)
}

#[test]
fn codex_the_real_key_reaches_the_api_and_never_the_agent() {
    let script = json!({"turns": [{"bash": look_for_key("CODEX_API_KEY", "sk-proj-")}, {"text": "Done."}]});
    let Some(world) = codex_world("codex_the_real_key_reaches_the_api_and_never_the_agent", script) else {
        return;
    };
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let fenced = world.run(&[], "");
    let why = || fenced.explain(&world.api);
    assert!(fenced.run.stdout().contains("Done."), "{}", why());
    assert_eq!(fenced.run.code(), 0, "a clean block-mode run has no violation: {}", why());

    let calls = world.model_calls();
    assert!(calls.len() >= 2, "a call for the command, one for the answer: {}", why());
    for call in &calls {
        let auth = format!("Bearer {}", world.key);
        assert_eq!(call["headers"]["authorization"], auth.as_str(), "the server got another key: {}", why());
    }
    let sentinel = fenced.file("key.txt");
    assert_eq!(sentinel.len(), world.key.len(), "{sentinel}\n{}", why());
    assert!(sentinel.starts_with("sk-proj-") && sentinel != world.key, "{sentinel}");
    assert!(fenced.file("env.txt").contains(&format!("CODEX_API_KEY={sentinel}")));
    fenced.assert_key_nowhere(&world.key);
}
