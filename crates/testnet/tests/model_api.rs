//! The scripted Messages API answers as the real one does, and the real Claude Code, run
//! offline against it, executes the scripted commands. Nothing here leaves the fake internet.

use std::path::PathBuf;
use std::process::Stdio;

use serde_json::json;
use testnet::*;

const API_IP: &str = "198.51.100.20";

fn agents_cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).parent().expect("target dir").join("agents/claude-code")
}

#[test]
fn streams_and_json_answers_follow_the_script() {
    if !privileged() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let net = FakeInternet::new();
    let script = json!({"turns": [{"bash": "true", "usage": {"input_tokens": 7000, "output_tokens": 300}}]});
    let api = net.model_api("api.anthropic.com", API_IP, &script);
    let ask = |body: serde_json::Value| {
        let out = net
            .internet_command("curl")
            .args(["-sS", "--cacert"])
            .arg(net.ca())
            .args(["--resolve", &format!("api.anthropic.com:443:{API_IP}"), "-H", "x-api-key: k1"])
            .args(["-H", "content-type: application/json", "-d", &body.to_string()])
            .arg("https://api.anthropic.com/v1/messages")
            .output()
            .expect("curl");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf-8")
    };
    let tools = json!([{"name": "Bash", "input_schema": {"type": "object"}}]);
    let stream = ask(
        json!({"model": "m", "stream": true, "tools": tools, "messages": [{"role": "user", "content": "hi"}]}),
    );
    let events: Vec<&str> = stream.lines().filter_map(|l| l.strip_prefix("event: ")).collect();
    assert_eq!(
        events,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ],
        "{stream}"
    );
    let data: Vec<serde_json::Value> = stream
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).expect("json"))
        .collect();
    assert_eq!(data[0]["message"]["usage"]["input_tokens"], 7000);
    assert_eq!(data[1]["content_block"]["name"], "Bash");
    assert_eq!(data[4]["delta"]["stop_reason"], "tool_use");
    assert_eq!(data[4]["usage"]["output_tokens"], 300);

    let side = ask(json!({"model": "m", "messages": [{"role": "user", "content": "title?"}]}));
    let side: serde_json::Value = serde_json::from_str(&side).expect("json");
    assert_eq!((side["type"].as_str(), side["content"][0]["type"].as_str()), (Some("message"), Some("text")));

    let seen = api.messages();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0]["headers"]["x-api-key"], "k1");
    assert_eq!(seen[0]["body"]["messages"][0]["content"], "hi");
}

#[test]
fn claude_code_runs_the_scripted_commands_offline() {
    if !privileged() {
        return;
    }
    let claude = match claude_code(&agents_cache()) {
        Ok(bin) => bin,
        Err(why) => {
            cannot_run(&why);
            return;
        }
    };
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let net = FakeInternet::new();
    let work = tempfile::tempdir().expect("workdir");
    let marker = work.path().join("marker.txt");
    let script = json!({"turns": [
        {"bash": format!("echo ran-by-claude > {}", marker.display())},
        {"text": "All done."}
    ]});
    let api = net.model_api("api.anthropic.com", API_IP, &script);
    let out = net
        .internet_command(&claude)
        .args(["-p", "Run the command.", "--allowedTools", "Bash", "--output-format", "json"])
        .current_dir(work.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", work.path())
        .env("ANTHROPIC_API_KEY", "sk-ant-api03-offline-test-key")
        .env("ANTHROPIC_BASE_URL", format!("https://{API_IP}"))
        .env("NODE_EXTRA_CA_CERTS", net.ca())
        .env("DISABLE_AUTOUPDATER", "1")
        .env("DISABLE_TELEMETRY", "1")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run claude");
    let log = std::fs::read_to_string(&api.log).expect("log");
    assert!(
        out.status.success(),
        "claude failed: {}\n{}\nrequests:\n{log}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&marker).ok().as_deref(), Some("ran-by-claude\n"), "requests:\n{log}");
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json output");
    assert_eq!(result["result"], "All done.", "{result}");
    let calls = api.messages();
    assert!(calls.len() >= 2, "one call for the tool turn, one for the final text:\n{log}");
    assert!(calls.iter().all(|r| r["headers"]["x-api-key"] == "sk-ant-api03-offline-test-key"));
}

/// The other providers' wire formats, as their clients read them: OpenAI Responses (Codex),
/// Chat Completions (aider) and Gemini, each turning a shell turn into the client's own tool.
#[test]
fn each_provider_gets_its_own_wire_format() {
    if !privileged() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let net = FakeInternet::new();
    let script = json!({"turns": [{"bash": "ls", "usage": {"input_tokens": 700, "output_tokens": 30}}]});
    let _api = net.model_api("api.test", API_IP, &script);
    let ask = |path: &str, body: serde_json::Value| {
        let out = net
            .internet_command("curl")
            .args(["-sS", "--cacert"])
            .arg(net.ca())
            .args(["--resolve", &format!("api.test:443:{API_IP}"), "-H", "content-type: application/json"])
            .args(["-d", &body.to_string()])
            .arg(format!("https://api.test{path}"))
            .output()
            .expect("curl");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).expect("utf-8");
        let data: Vec<serde_json::Value> = text
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .map(|d| serde_json::from_str(d).expect("json"))
            .collect();
        (text, data)
    };

    // Responses: Codex's tools come as an input item; the call is its exec_command.
    let tools = json!([{"type": "function", "name": "exec_command"}]);
    let input = json!([{"type": "additional_tools", "tools": tools}, {"type": "message", "role": "user"}]);
    let (text, data) = ask("/v1/responses", json!({"model": "gpt-5.4", "stream": true, "input": input}));
    let kinds: Vec<&str> = data.iter().filter_map(|d| d["type"].as_str()).collect();
    assert_eq!(kinds.first(), Some(&"response.created"), "{text}");
    assert_eq!(kinds.last(), Some(&"response.completed"), "{text}");
    let done = data.iter().find(|d| d["type"] == "response.output_item.done").expect("item done");
    assert_eq!(
        (&done["item"]["type"], &done["item"]["name"]),
        (&json!("function_call"), &json!("exec_command"))
    );
    let arguments: serde_json::Value =
        serde_json::from_str(done["item"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(arguments, json!({"cmd": "ls"}));
    assert_eq!(data.last().unwrap()["response"]["usage"]["input_tokens"], 700);

    // Chat Completions without tools: the command in a bash block; usage only when asked.
    let messages = json!([{"role": "system"}, {"role": "user", "content": "go"}]);
    let (text, data) =
        ask("/v1/chat/completions", json!({"model": "gpt-4.1", "stream": true, "messages": messages}));
    assert!(
        data[0]["choices"][0]["delta"]["content"].as_str().is_some_and(|c| c.contains("```bash\nls\n```")),
        "{text}"
    );
    assert!(data.iter().all(|d| d.get("usage").is_none()), "{text}");
    let body = json!({"model": "gpt-4.1", "stream": true, "stream_options": {"include_usage": true}, "messages": messages});
    let (text, data) = ask("/v1/chat/completions", body);
    assert_eq!(data.last().unwrap()["usage"]["prompt_tokens"], 700, "{text}");

    // Gemini: run_shell_command as a functionCall, usage in usageMetadata.
    let tools = json!([{"functionDeclarations": [{"name": "run_shell_command"}]}]);
    let contents = json!([{"role": "user", "parts": [{"text": "go"}]}]);
    let path = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";
    let (text, data) = ask(path, json!({"contents": contents, "tools": tools}));
    let part = &data[0]["candidates"][0]["content"]["parts"][0];
    assert_eq!(
        part["functionCall"],
        json!({"name": "run_shell_command", "args": {"command": "ls", "description": "Run the scripted command"}}),
        "{text}"
    );
    assert_eq!(data[0]["usageMetadata"]["promptTokenCount"], 700, "{text}");
}
