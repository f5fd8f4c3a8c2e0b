//! What model tokens cost, to turn metered usage into dollars for `budget.max_usd`.
//!
//! Prices are list prices in USD per million tokens, as the providers' pricing pages gave them
//! when [`PRICES_VERSION`] was reviewed (sources: Anthropic's and OpenAI's public API pricing
//! pages, read 2026-11; Google's Gemini API pricing page for Gemini, paid tier, prompts up to
//! 200k tokens). Batch and regional discounts are ignored, so a budget errs towards
//! stopping early. Review the table when a provider changes prices or ships a model family.

use crate::usage::{Provider, Usage};

/// The month the price table was last reviewed; reports name it next to every dollar figure.
pub const PRICES_VERSION: &str = "2026-11";

/// USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    pub input: f64,
    pub output: f64,
    pub cache_read: f64,
    pub cache_write: f64,
}

/// Anthropic: cache writes are billed at 1.25x input (the 5-minute cache Claude Code uses;
/// the 1-hour cache costs 2x and is not told apart in `usage`), cache reads at 0.1x input.
const fn claude(input: f64, output: f64) -> Rates {
    Rates { input, output, cache_read: input / 10.0, cache_write: input * 1.25 }
}

/// OpenAI: caching is automatic and writes cost nothing extra; reads have their own rate.
const fn openai(input: f64, cached: f64, output: f64) -> Rates {
    Rates { input, output, cache_read: cached, cache_write: input }
}

/// Gemini: cached prompt tokens are billed at a quarter of input (the implicit-cache discount
/// of the 2.5 models); storage of explicit caches is not metered.
const fn gemini(input: f64, output: f64) -> Rates {
    Rates { input, output, cache_read: input / 4.0, cache_write: input }
}

/// Model-name prefixes, matched at a `-` boundary; the longest match wins, so dated snapshots
/// (`claude-sonnet-4-5-20250929`) find their model and family rows catch newer point releases at
/// the family's current price.
const ANTHROPIC: &[(&str, Rates)] = &[
    ("claude-opus-4-6", claude(5.0, 25.0)),
    ("claude-opus-4-5", claude(5.0, 25.0)),
    ("claude-opus-4-1", claude(15.0, 75.0)),
    ("claude-opus-4", claude(15.0, 75.0)),
    ("claude-opus", claude(5.0, 25.0)),
    ("claude-3-opus", claude(15.0, 75.0)),
    ("claude-sonnet-4-6", claude(3.0, 15.0)),
    ("claude-sonnet-4-5", claude(3.0, 15.0)),
    ("claude-sonnet-4", claude(3.0, 15.0)),
    ("claude-sonnet", claude(3.0, 15.0)),
    ("claude-3-7-sonnet", claude(3.0, 15.0)),
    ("claude-3-5-sonnet", claude(3.0, 15.0)),
    ("claude-haiku-4-5", claude(1.0, 5.0)),
    ("claude-haiku", claude(1.0, 5.0)),
    ("claude-3-5-haiku", claude(0.8, 4.0)),
    ("claude-3-haiku", claude(0.25, 1.25)),
];

const OPENAI: &[(&str, Rates)] = &[
    ("gpt-5.4", openai(2.5, 0.25, 15.0)),
    ("gpt-5.4-mini", openai(0.75, 0.075, 4.5)),
    ("gpt-5.4-nano", openai(0.2, 0.02, 1.25)),
    ("gpt-5.2", openai(1.75, 0.175, 14.0)),
    ("gpt-5.2-pro", openai(21.0, 21.0, 168.0)),
    ("gpt-5.1", openai(1.25, 0.125, 10.0)),
    ("gpt-5.1-codex-mini", openai(0.25, 0.025, 2.0)),
    ("gpt-5", openai(1.25, 0.125, 10.0)),
    ("gpt-5-mini", openai(0.25, 0.025, 2.0)),
    ("gpt-5-nano", openai(0.05, 0.005, 0.4)),
    ("gpt-5-pro", openai(15.0, 15.0, 120.0)),
    ("gpt-4.1", openai(2.0, 0.5, 8.0)),
    ("gpt-4.1-mini", openai(0.4, 0.1, 1.6)),
    ("gpt-4.1-nano", openai(0.1, 0.025, 0.4)),
    ("gpt-4o", openai(2.5, 1.25, 10.0)),
    ("gpt-4o-mini", openai(0.15, 0.075, 0.6)),
    ("o3", openai(2.0, 0.5, 8.0)),
    ("o4-mini", openai(1.1, 0.275, 4.4)),
    ("codex-mini", openai(1.5, 0.375, 6.0)),
];

const GEMINI: &[(&str, Rates)] = &[
    ("gemini-2.5-pro", gemini(1.25, 10.0)),
    ("gemini-2.5-flash", gemini(0.30, 2.50)),
    ("gemini-2.5-flash-lite", gemini(0.10, 0.40)),
    ("gemini-2.0-flash", gemini(0.10, 0.40)),
    ("gemini-3-pro-preview", gemini(2.0, 12.0)),
];

/// The rates for `model`, or `None` when no row's prefix fits.
pub fn rates(p: Provider, model: &str) -> Option<Rates> {
    let table = match p {
        Provider::Anthropic => ANTHROPIC,
        Provider::OpenAi => OPENAI,
        Provider::Gemini => GEMINI,
    };
    let model = model.to_ascii_lowercase();
    table
        .iter()
        .filter(|(prefix, _)| {
            model.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
        })
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, rates)| *rates)
}

/// What `u` cost in USD, or `None` for a model the table does not know.
pub fn price(p: Provider, u: &Usage) -> Option<f64> {
    let r = rates(p, &u.model)?;
    let cost = |tokens: u64, rate: f64| tokens as f64 * rate / 1_000_000.0;
    Some(
        cost(u.input_tokens, r.input)
            + cost(u.output_tokens, r.output)
            + cost(u.cache_read_tokens, r.cache_read)
            + cost(u.cache_write_tokens, r.cache_write),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(model: &str, input: u64, output: u64, read: u64, write: u64) -> Usage {
        Usage {
            model: model.into(),
            input_tokens: input,
            output_tokens: output,
            cache_read_tokens: read,
            cache_write_tokens: write,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn claude_arithmetic() {
        // 1M input at $3, 100k output at $15, 2M cache reads at $0.30, 400k writes at $3.75.
        let u = usage("claude-sonnet-4-5-20250929", 1_000_000, 100_000, 2_000_000, 400_000);
        let usd = price(Provider::Anthropic, &u).unwrap();
        assert!(close(usd, 3.0 + 1.5 + 0.6 + 1.5), "{usd}");
        let opus = price(Provider::Anthropic, &usage("claude-opus-4-1-20250805", 1_000_000, 1_000_000, 0, 0));
        assert!(close(opus.unwrap(), 90.0));
        let opus45 =
            price(Provider::Anthropic, &usage("claude-opus-4-5-20251101", 1_000_000, 1_000_000, 0, 0));
        assert!(close(opus45.unwrap(), 30.0));
    }

    #[test]
    fn openai_arithmetic() {
        let u = usage("gpt-4o-mini-2024-07-18", 1_000_000, 1_000_000, 1_000_000, 0);
        assert!(close(price(Provider::OpenAi, &u).unwrap(), 0.15 + 0.6 + 0.075));
        let u = usage("gpt-5-mini-2025-08-07", 2_000_000, 0, 0, 0);
        assert!(close(price(Provider::OpenAi, &u).unwrap(), 0.5));
    }

    #[test]
    fn gemini_arithmetic() {
        let u = usage("gemini-2.5-flash", 1_000_000, 1_000_000, 1_000_000, 0);
        assert!(close(price(Provider::Gemini, &u).unwrap(), 0.30 + 2.50 + 0.075));
        assert_eq!(rates(Provider::Gemini, "gemini-2.5-flash-lite-preview-09-2025").unwrap().input, 0.10);
    }

    #[test]
    fn longest_prefix_at_a_boundary() {
        assert_eq!(rates(Provider::OpenAi, "gpt-4o-mini").unwrap().input, 0.15);
        assert_eq!(rates(Provider::OpenAi, "gpt-4o-2024-08-06").unwrap().input, 2.5);
        assert_eq!(rates(Provider::OpenAi, "gpt-5.1-codex-max").unwrap().input, 1.25);
        assert_eq!(rates(Provider::Anthropic, "claude-3-5-haiku-latest").unwrap().input, 0.8);
        assert_eq!(rates(Provider::Anthropic, "claude-opus-4-20250514").unwrap().input, 15.0);
        // `gpt-5.9` is not `gpt-5` with a suffix: an unknown model, not a guess.
        assert_eq!(rates(Provider::OpenAi, "gpt-5.9"), None);
        assert_eq!(rates(Provider::OpenAi, "o30"), None);
    }

    #[test]
    fn unknown_models_have_no_price() {
        assert_eq!(price(Provider::Anthropic, &usage("mystery-1", 1, 1, 0, 0)), None);
        assert_eq!(price(Provider::OpenAi, &usage("claude-sonnet-4", 1, 1, 0, 0)), None);
        assert_eq!(price(Provider::OpenAi, &usage("", 1, 1, 0, 0)), None);
    }

    #[test]
    fn every_row_is_reachable() {
        for (p, table) in
            [(Provider::Anthropic, ANTHROPIC), (Provider::OpenAi, OPENAI), (Provider::Gemini, GEMINI)]
        {
            for (prefix, r) in table {
                assert_eq!(rates(p, prefix), Some(*r), "{prefix}");
            }
        }
    }
}
