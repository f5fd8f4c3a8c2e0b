//! Model usage read from API responses, streamed or not, so a run's spending can be metered
//! without trusting the agent to report it.

use serde_json::Value;

/// Model providers whose responses ringfence meters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Provider {
    Anthropic,
    OpenAi,
    /// Google's Gemini API (`generateContent`, `streamGenerateContent`).
    Gemini,
}

impl Provider {
    /// The provider's key under `budget:` in the policy (see `policy::BUDGET_PROVIDERS`).
    pub fn name(self) -> &'static str {
        match self {
            Provider::Anthropic => "anthropic",
            Provider::OpenAi => "openai",
            Provider::Gemini => "google-gemini",
        }
    }

    /// Every provider, for walking budgets.
    pub const ALL: [Provider; 3] = [Provider::Anthropic, Provider::OpenAi, Provider::Gemini];
}

/// The provider whose API `host` serves (a name, optionally with `:port` or a trailing dot).
pub fn provider_for(host: &str) -> Option<Provider> {
    let name =
        host.rsplit_once(':').filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit())).map_or(host, |(n, _)| n);
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.eq_ignore_ascii_case("api.anthropic.com") {
        Some(Provider::Anthropic)
    } else if name.eq_ignore_ascii_case("api.openai.com") {
        Some(Provider::OpenAi)
    } else if name.eq_ignore_ascii_case("generativelanguage.googleapis.com") {
        Some(Provider::Gemini)
    } else {
        None
    }
}

/// Tokens one response used. `input_tokens` counts uncached input only, for both providers
/// (OpenAI's totals include cached tokens; they are moved to `cache_read_tokens`), so each
/// field has one price.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    pub model: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
}

impl Usage {
    /// Every token the response was billed for.
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens
            .saturating_add(self.output_tokens)
            .saturating_add(self.cache_read_tokens)
            .saturating_add(self.cache_write_tokens)
    }
}

/// Usage from a non-streamed response body: an Anthropic message, an OpenAI chat completion or
/// an OpenAI response (Responses API), a Gemini `GenerateContentResponse` (or the JSON array of
/// them `streamGenerateContent` sends without `alt=sse`). `None` when the body carries no usage.
pub fn usage_from_json(p: Provider, body: &[u8]) -> Option<Usage> {
    let json: Value = serde_json::from_slice(body).ok()?;
    if p == Provider::Gemini {
        // Each streamed part carries the usage so far; the last one that has any is the total.
        let parts = json.as_array().map_or_else(|| vec![&json], |a| a.iter().collect());
        return parts.into_iter().rev().find_map(gemini_usage);
    }
    let model = json.get("model").and_then(Value::as_str).unwrap_or_default();
    let mut usage = Usage { model: model.to_string(), ..Usage::default() };
    apply_usage(p, json.get("usage")?, &mut usage)?;
    Some(usage)
}

/// Usage from one Gemini response (`usageMetadata`, `modelVersion`). `promptTokenCount`
/// includes the cached tokens, as OpenAI's input does; thinking tokens are billed as output.
fn gemini_usage(response: &Value) -> Option<Usage> {
    let meta = response.get("usageMetadata").filter(|m| m.is_object())?;
    let field = |name: &str| meta.get(name).and_then(Value::as_u64).unwrap_or(0);
    let prompt = field("promptTokenCount").saturating_add(field("toolUsePromptTokenCount"));
    let cached = field("cachedContentTokenCount").min(prompt);
    Some(Usage {
        model: response.get("modelVersion").and_then(Value::as_str).unwrap_or_default().to_string(),
        input_tokens: prompt - cached,
        output_tokens: field("candidatesTokenCount").saturating_add(field("thoughtsTokenCount")),
        cache_read_tokens: cached,
        cache_write_tokens: 0,
    })
}

/// Reads a `usage` object into `usage`; fields absent from `object` are left as they are, which
/// is what the cumulative counts in Anthropic's `message_delta` need.
fn apply_usage(p: Provider, object: &Value, usage: &mut Usage) -> Option<()> {
    let field = |name: &str| object.get(name).and_then(Value::as_u64);
    let nested =
        |outer: &str, inner: &str| object.get(outer).and_then(|o| o.get(inner)).and_then(Value::as_u64);
    match p {
        Provider::Anthropic => {
            if !object.is_object() {
                return None;
            }
            let set = |slot: &mut u64, v: Option<u64>| {
                if let Some(v) = v {
                    *slot = v;
                }
            };
            set(&mut usage.input_tokens, field("input_tokens"));
            set(&mut usage.output_tokens, field("output_tokens"));
            set(&mut usage.cache_read_tokens, field("cache_read_input_tokens"));
            set(&mut usage.cache_write_tokens, field("cache_creation_input_tokens"));
        }
        Provider::Gemini => return None,
        Provider::OpenAi => {
            // Chat Completions says prompt/completion; the Responses API says input/output.
            let (input, output, cached) = match field("prompt_tokens") {
                Some(prompt) => {
                    (prompt, field("completion_tokens")?, nested("prompt_tokens_details", "cached_tokens"))
                }
                None => (
                    field("input_tokens")?,
                    field("output_tokens")?,
                    nested("input_tokens_details", "cached_tokens"),
                ),
            };
            let cached = cached.unwrap_or(0).min(input);
            usage.input_tokens = input - cached;
            usage.cache_read_tokens = cached;
            usage.output_tokens = output;
            usage.cache_write_tokens = 0;
        }
    }
    Some(())
}

/// Largest server-sent event ringfence reads; a longer one is skipped, so a hostile or broken
/// stream cannot make the proxy hold unbounded memory.
pub const MAX_EVENT: usize = 1 << 20;

/// The bytes an event must contain to be parsed at all: every usage-bearing event has the key
/// (Gemini's `usageMetadata` contains it too, quote included).
const USAGE_KEY: &[u8] = b"\"usage";

/// Reads usage from a streamed (server-sent events) response as it passes through the proxy.
///
/// Fed byte chunks split anywhere; lines end in LF, CRLF or CR, `data:` lines of one event are
/// joined with newlines as the SSE standard says. Understands Anthropic's `message_start` (model,
/// input and cache counts) and `message_delta` (cumulative output), OpenAI Chat Completions'
/// final chunk (sent when the request asks for `stream_options.include_usage`), the Responses
/// API's `response.completed` / `response.incomplete`, and Gemini's `usageMetadata` (cumulative,
/// on every event).
#[derive(Debug)]
pub struct SseMeter {
    provider: Provider,
    line: Vec<u8>,
    data: Vec<u8>,
    /// The current event grew past [`MAX_EVENT`]: drop it up to the blank line that ends it.
    skipping: bool,
    /// The previous chunk ended in CR, so a leading LF belongs to that line end.
    after_cr: bool,
    usage: Option<Usage>,
    skipped: u64,
}

impl SseMeter {
    pub fn new(p: Provider) -> Self {
        SseMeter {
            provider: p,
            line: Vec::new(),
            data: Vec::new(),
            skipping: false,
            after_cr: false,
            usage: None,
            skipped: 0,
        }
    }

    /// Feeds the next bytes of the response body.
    pub fn feed(&mut self, chunk: &[u8]) {
        let mut rest = chunk;
        if self.after_cr && rest.first() == Some(&b'\n') {
            rest = &rest[1..];
        }
        self.after_cr = false;
        while let Some(end) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.push_line_bytes(&rest[..end]);
            self.end_line();
            let crlf = rest[end] == b'\r' && rest.get(end + 1) == Some(&b'\n');
            if rest[end] == b'\r' && end + 1 == rest.len() {
                self.after_cr = true;
            }
            rest = &rest[end + if crlf { 2 } else { 1 }..];
        }
        self.push_line_bytes(rest);
    }

    /// The usage seen so far; `None` until an event carried some.
    pub fn usage(&self) -> Option<Usage> {
        self.usage.clone()
    }

    /// Events dropped for being larger than [`MAX_EVENT`].
    pub fn skipped_events(&self) -> u64 {
        self.skipped
    }

    fn push_line_bytes(&mut self, bytes: &[u8]) {
        if self.skipping {
            return;
        }
        if self.line.len() + self.data.len() + bytes.len() > MAX_EVENT {
            self.skip_event();
            return;
        }
        self.line.extend_from_slice(bytes);
    }

    fn skip_event(&mut self) {
        if !self.skipping {
            self.skipped += 1;
        }
        self.skipping = true;
        self.line = Vec::new();
        self.data = Vec::new();
    }

    fn end_line(&mut self) {
        // The line and data buffers are cleared, not replaced: a stream is hundreds of
        // thousands of short lines, and one allocation each is what metering would cost.
        if self.line.is_empty() {
            if !self.skipping && !self.data.is_empty() {
                let data = std::mem::take(&mut self.data);
                self.event(&data);
                self.data = data;
            }
            self.data.clear();
            self.skipping = false;
            return;
        }
        if self.skipping {
            self.line.clear();
            return;
        }
        let line = &self.line;
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => (&line[..colon], &line[colon + 1..]),
            None => (&line[..], &[][..]),
        };
        if field == b"data" {
            let value = value.strip_prefix(b" ").unwrap_or(value);
            if !self.data.is_empty() {
                self.data.push(b'\n');
            }
            self.data.extend_from_slice(value);
        }
        self.line.clear();
        // `event:` names repeat the JSON `type`, which is what is read; `id:`, `retry:` and
        // comments (`:` lines, like keep-alives) carry no usage.
    }

    fn event(&mut self, data: &[u8]) {
        // Every event that carries usage (or the model, which comes with usage in
        // `message_start`) names a `usage` field; the text deltas in between are not parsed.
        if !data.windows(USAGE_KEY.len()).any(|w| w == USAGE_KEY) {
            return;
        }
        let Ok(json) = serde_json::from_slice::<Value>(data) else { return };
        let kind = json.get("type").and_then(Value::as_str).unwrap_or_default();
        let p = self.provider;
        match (p, kind) {
            (Provider::Anthropic, "message_start") => {
                let Some(message) = json.get("message") else { return };
                let model = message.get("model").and_then(Value::as_str).unwrap_or_default();
                let mut usage = Usage { model: model.to_string(), ..Usage::default() };
                if let Some(u) = message.get("usage") {
                    apply_usage(p, u, &mut usage);
                }
                self.usage = Some(usage);
            }
            (Provider::Anthropic, "message_delta") => {
                let Some(u) = json.get("usage") else { return };
                let usage = self.usage.get_or_insert_with(Usage::default);
                apply_usage(p, u, usage);
            }
            (Provider::OpenAi, "response.completed" | "response.incomplete" | "response.failed") => {
                let Some(response) = json.get("response") else { return };
                self.take_openai(response);
            }
            // Gemini (`alt=sse`): unnamed events, each with the usage so far.
            (Provider::Gemini, _) => {
                if let Some(usage) = gemini_usage(&json) {
                    self.usage = Some(usage);
                }
            }
            (Provider::OpenAi, _)
                if json.get("object").and_then(Value::as_str) == Some("chat.completion.chunk") =>
            {
                self.take_openai(&json);
            }
            _ => {}
        }
    }

    fn take_openai(&mut self, object: &Value) {
        let Some(u) = object.get("usage").filter(|u| u.is_object()) else { return };
        let mut usage = Usage {
            model: object.get("model").and_then(Value::as_str).unwrap_or_default().to_string(),
            ..Usage::default()
        };
        if apply_usage(Provider::OpenAi, u, &mut usage).is_some() {
            self.usage = Some(usage);
        }
    }
}

#[cfg(test)]
mod tests;
