use proptest::prelude::*;

use super::*;

const ANTHROPIC_STREAM: &[u8] = include_bytes!("../../tests/fixtures/anthropic_stream.sse");
const ANTHROPIC_STREAM_CRLF: &[u8] = include_bytes!("../../tests/fixtures/anthropic_stream_crlf.sse");
const OPENAI_CHAT_STREAM: &[u8] = include_bytes!("../../tests/fixtures/openai_chat_stream.sse");
const OPENAI_RESPONSES_STREAM: &[u8] = include_bytes!("../../tests/fixtures/openai_responses_stream.sse");

fn anthropic_stream_usage() -> Usage {
    Usage {
        model: "claude-sonnet-4-5-20250929".into(),
        input_tokens: 472,
        output_tokens: 89,
        cache_read_tokens: 10240,
        cache_write_tokens: 2048,
    }
}

fn openai_chat_usage() -> Usage {
    Usage {
        model: "gpt-4o-mini-2024-07-18".into(),
        input_tokens: 1320 - 1024,
        output_tokens: 17,
        cache_read_tokens: 1024,
        cache_write_tokens: 0,
    }
}

fn responses_usage() -> Usage {
    Usage {
        model: "gpt-5-codex".into(),
        input_tokens: 5210 - 4096,
        output_tokens: 355,
        cache_read_tokens: 4096,
        cache_write_tokens: 0,
    }
}

fn meter(p: Provider, chunks: &[&[u8]]) -> Option<Usage> {
    let mut m = SseMeter::new(p);
    for c in chunks {
        m.feed(c);
    }
    m.usage()
}

#[test]
fn providers_by_host() {
    assert_eq!(provider_for("api.anthropic.com"), Some(Provider::Anthropic));
    assert_eq!(provider_for("API.OpenAI.com.:443"), Some(Provider::OpenAi));
    assert_eq!(provider_for("anthropic.com"), None);
    assert_eq!(provider_for("api.anthropic.com.evil.example"), None);
    assert_eq!(Provider::OpenAi.name(), "openai");
    assert!(Provider::ALL.iter().all(|p| policy::BUDGET_PROVIDERS.contains(&p.name())));
}

#[test]
fn recorded_streams_whole() {
    assert_eq!(meter(Provider::Anthropic, &[ANTHROPIC_STREAM]), Some(anthropic_stream_usage()));
    assert_eq!(meter(Provider::Anthropic, &[ANTHROPIC_STREAM_CRLF]), Some(anthropic_stream_usage()));
    assert_eq!(meter(Provider::OpenAi, &[OPENAI_CHAT_STREAM]), Some(openai_chat_usage()));
    assert_eq!(meter(Provider::OpenAi, &[OPENAI_RESPONSES_STREAM]), Some(responses_usage()));
}

#[test]
fn recorded_streams_split_everywhere() {
    for (p, stream, want) in [
        (Provider::Anthropic, ANTHROPIC_STREAM, anthropic_stream_usage()),
        (Provider::Anthropic, ANTHROPIC_STREAM_CRLF, anthropic_stream_usage()),
        (Provider::OpenAi, OPENAI_CHAT_STREAM, openai_chat_usage()),
        (Provider::OpenAi, OPENAI_RESPONSES_STREAM, responses_usage()),
    ] {
        for cut in 0..=stream.len() {
            assert_eq!(meter(p, &[&stream[..cut], &stream[cut..]]).as_ref(), Some(&want), "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(meter(p, &bytes), Some(want));
    }
}

#[test]
fn output_is_cumulative_and_partial_streams_count() {
    // A stream cut off after message_start still says what the input cost.
    let start = ANTHROPIC_STREAM.split(|&b| b == b'\n').take(3).collect::<Vec<_>>().join(&b'\n');
    let u = meter(Provider::Anthropic, &[&start, b"\n"]).unwrap();
    assert_eq!((u.input_tokens, u.output_tokens), (472, 1));
    // Two deltas: the last count wins, it is not added.
    let deltas = b"data: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":10}}\n\n\
                   data: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":25}}\n\n";
    let u = meter(Provider::Anthropic, &[&start, b"\n", deltas]).unwrap();
    assert_eq!(u.output_tokens, 25);
}

#[test]
fn sse_details() {
    // Multi-line data joins with '\n' (valid JSON across lines); CR-only line ends work too.
    let stream = b"event: message_start\rdata: {\"type\":\"message_start\",\r\
                   data: \"message\":{\"model\":\"claude-opus-4-5\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\r\r";
    let u = meter(Provider::Anthropic, &[stream]).unwrap();
    assert_eq!((u.model.as_str(), u.input_tokens), ("claude-opus-4-5", 3));
    // No usage in the stream: none reported; a stream without the final blank line has no event.
    assert_eq!(
        meter(Provider::OpenAi, &[b"data: {\"object\":\"chat.completion.chunk\",\"usage\":null}\n\n"]),
        None
    );
    let unterminated = b"data: {\"type\":\"message_start\",\"message\":{\"model\":\"m\",\"usage\":{}}}";
    assert_eq!(meter(Provider::Anthropic, &[unterminated]), None);
    // The other provider's shapes are ignored.
    assert_eq!(meter(Provider::OpenAi, &[ANTHROPIC_STREAM]), None);
}

#[test]
fn oversized_events_are_skipped() {
    let mut m = SseMeter::new(Provider::Anthropic);
    m.feed(b"data: {\"type\":\"message_start\",\"message\":{\"model\":\"x\",\"usage\":{\"input_tokens\":");
    let filler = vec![b'1'; 64 * 1024];
    for _ in 0..(MAX_EVENT / filler.len() + 2) {
        m.feed(&filler);
    }
    m.feed(b"}}}\n\n");
    assert_eq!(m.usage(), None);
    assert_eq!(m.skipped_events(), 1);
    // The stream recovers at the next event.
    m.feed(ANTHROPIC_STREAM);
    assert_eq!(m.usage(), Some(anthropic_stream_usage()));
}

#[test]
fn whole_bodies() {
    let anthropic =
        usage_from_json(Provider::Anthropic, include_bytes!("../../tests/fixtures/anthropic_message.json"));
    assert_eq!(
        anthropic,
        Some(Usage {
            model: "claude-haiku-4-5-20251001".into(),
            input_tokens: 2095,
            output_tokens: 503,
            ..Usage::default()
        })
    );
    let chat = usage_from_json(Provider::OpenAi, include_bytes!("../../tests/fixtures/openai_chat.json"));
    assert_eq!(
        chat,
        Some(Usage {
            model: "gpt-4.1-2025-04-14".into(),
            input_tokens: 19,
            output_tokens: 10,
            ..Usage::default()
        })
    );
    let response =
        usage_from_json(Provider::OpenAi, include_bytes!("../../tests/fixtures/openai_response.json"))
            .unwrap();
    assert_eq!((response.input_tokens, response.cache_read_tokens, response.output_tokens), (30, 6, 87));
    assert_eq!(response.total_tokens(), 123);
    assert_eq!(usage_from_json(Provider::OpenAi, b"{\"error\":{}}"), None);
    assert_eq!(usage_from_json(Provider::Anthropic, b"not json"), None);
}

#[test]
fn metered_usage_prices() {
    let u = meter(Provider::Anthropic, &[ANTHROPIC_STREAM]).unwrap();
    let usd = crate::price(Provider::Anthropic, &u).unwrap();
    let want = (472.0 * 3.0 + 89.0 * 15.0 + 10240.0 * 0.3 + 2048.0 * 3.75) / 1e6;
    assert!((usd - want).abs() < 1e-12, "{usd} vs {want}");
}

proptest! {
    #[test]
    fn hostile_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..20)) {
        for p in Provider::ALL {
            let mut m = SseMeter::new(p);
            for c in &chunks {
                m.feed(c);
            }
            let _ = m.usage();
            let _ = usage_from_json(p, &chunks.concat());
        }
    }

    #[test]
    fn any_split_of_a_recorded_stream(cuts in proptest::collection::vec(0usize..2000, 0..8)) {
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(OPENAI_RESPONSES_STREAM.len())).collect();
        cuts.sort_unstable();
        let mut chunks = Vec::new();
        let mut last = 0;
        for c in cuts {
            chunks.push(&OPENAI_RESPONSES_STREAM[last..c]);
            last = c;
        }
        chunks.push(&OPENAI_RESPONSES_STREAM[last..]);
        prop_assert_eq!(meter(Provider::OpenAi, &chunks), Some(responses_usage()));
    }
}

const GEMINI_STREAM: &[u8] = include_bytes!("../../tests/fixtures/gemini_stream.sse");

fn gemini_stream_usage() -> Usage {
    Usage {
        model: "gemini-2.5-flash".into(),
        input_tokens: 5210 - 4096,
        output_tokens: 31 + 100,
        cache_read_tokens: 4096,
        cache_write_tokens: 0,
    }
}

#[test]
fn gemini_stream_keeps_the_last_cumulative_usage() {
    assert_eq!(provider_for("generativelanguage.googleapis.com:443"), Some(Provider::Gemini));
    assert_eq!(meter(Provider::Gemini, &[GEMINI_STREAM]), Some(gemini_stream_usage()));
    // Split anywhere, the same.
    for at in [1, 7, 100, GEMINI_STREAM.len() - 3] {
        assert_eq!(
            meter(Provider::Gemini, &[&GEMINI_STREAM[..at], &GEMINI_STREAM[at..]]),
            Some(gemini_stream_usage())
        );
    }
}

#[test]
fn gemini_json_bodies_single_and_arrays() {
    let parts: Vec<serde_json::Value> = String::from_utf8_lossy(GEMINI_STREAM)
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let last = serde_json::to_vec(&parts[1]).unwrap();
    assert_eq!(usage_from_json(Provider::Gemini, &last), Some(gemini_stream_usage()));
    let array = serde_json::to_vec(&parts).unwrap();
    assert_eq!(usage_from_json(Provider::Gemini, &array), Some(gemini_stream_usage()));
    assert_eq!(usage_from_json(Provider::Gemini, br#"{"candidates": []}"#), None);
    // An OpenAI-shaped body says nothing to the Gemini reader, and the other way round.
    assert_eq!(
        usage_from_json(Provider::Gemini, br#"{"usage": {"input_tokens": 1, "output_tokens": 1}}"#),
        None
    );
    assert_eq!(usage_from_json(Provider::OpenAi, &last), None);
}
