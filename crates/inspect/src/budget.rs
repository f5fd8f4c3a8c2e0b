//! The run's model spending against `budget:` caps, and the refusal a model client understands.

use std::collections::BTreeMap;

use crate::usage::{Provider, Usage};

/// A provider's budget is spent. Returned once by [`Ledger::record`] when a cap is crossed and
/// by [`Ledger::check`] for every later request, which the proxy then refuses.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct Exceeded {
    /// The provider's key under `budget:` (`anthropic`, `openai`, `google-gemini`).
    pub provider: String,
    pub tokens: u64,
    pub usd: f64,
    pub max_tokens: Option<u64>,
    pub max_usd: Option<f64>,
    /// What happened, in plain words, for the agent's error and the report.
    pub message: String,
}

#[derive(Debug, Clone, Default)]
struct Account {
    limit: policy::Budget,
    tokens: u64,
    usd: f64,
    /// Tokens of models the price table does not know; they count against `max_tokens` only.
    unpriced_tokens: u64,
    crossed: bool,
}

impl Account {
    fn exceeded(&self, provider: Provider) -> Option<Exceeded> {
        let over_tokens = self.limit.max_tokens.is_some_and(|max| self.tokens >= max);
        let over_usd = self.limit.max_usd.is_some_and(|max| self.usd >= max);
        if !over_tokens && !over_usd {
            return None;
        }
        let name = provider.name();
        let message = if over_tokens {
            format!(
                "ringfence: the {name} token budget of this run is spent ({} of {} tokens); \
                 raise budget.{name}.max_tokens in the policy to allow more",
                self.tokens,
                self.limit.max_tokens.unwrap_or_default()
            )
        } else {
            format!(
                "ringfence: the {name} spending budget of this run is spent (${:.2} of ${:.2}); \
                 raise budget.{name}.max_usd in the policy to allow more",
                self.usd,
                self.limit.max_usd.unwrap_or_default()
            )
        };
        Some(Exceeded {
            provider: name.to_string(),
            tokens: self.tokens,
            usd: self.usd,
            max_tokens: self.limit.max_tokens,
            max_usd: self.limit.max_usd,
            message,
        })
    }
}

/// Running totals per provider and the caps they are held to.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    accounts: BTreeMap<Provider, Account>,
}

impl Ledger {
    /// Caps from the policy's `budget:` section, keyed by provider name; providers without an
    /// entry are metered but never refused, and names ringfence does not meter are ignored.
    pub fn new(budgets: &BTreeMap<String, policy::Budget>) -> Ledger {
        let accounts = Provider::ALL
            .into_iter()
            .map(|p| {
                (
                    p,
                    Account {
                        limit: budgets.get(p.name()).cloned().unwrap_or_default(),
                        ..Account::default()
                    },
                )
            })
            .collect();
        Ledger { accounts }
    }

    /// Adds one response's usage (`usd` from [`crate::price`], `None` for an unknown model).
    /// Returns `Some` only the first time a cap is reached, so the crossing is reported once.
    pub fn record(&mut self, p: Provider, u: &Usage, usd: Option<f64>) -> Option<Exceeded> {
        let account = self.accounts.entry(p).or_default();
        account.tokens = account.tokens.saturating_add(u.total_tokens());
        match usd {
            Some(usd) if usd.is_finite() && usd > 0.0 => account.usd += usd,
            Some(_) => {}
            None => account.unpriced_tokens = account.unpriced_tokens.saturating_add(u.total_tokens()),
        }
        if account.crossed {
            return None;
        }
        let exceeded = account.exceeded(p)?;
        account.crossed = true;
        Some(exceeded)
    }

    /// May the next request to `p` go ahead? Called before forwarding it.
    pub fn check(&self, p: Provider) -> Result<(), Exceeded> {
        match self.accounts.get(&p).and_then(|a| a.exceeded(p)) {
            Some(exceeded) => Err(exceeded),
            None => Ok(()),
        }
    }

    /// `(tokens, usd)` used so far with `p`.
    pub fn totals(&self, p: Provider) -> (u64, f64) {
        self.accounts.get(&p).map_or((0, 0.0), |a| (a.tokens, a.usd))
    }

    /// Tokens used with models the price table does not know, so a report can say the dollar
    /// total is a lower bound.
    pub fn unpriced_tokens(&self, p: Provider) -> u64 {
        self.accounts.get(&p).map_or(0, |a| a.unpriced_tokens)
    }
}

/// The response a refused model request gets, in the provider's own error format and with a
/// status its client does not retry, so the agent stops cleanly instead of hammering the proxy:
/// `(status, content type, body)`.
pub fn refusal_body(p: Provider, message: &str) -> (u16, &'static str, Vec<u8>) {
    let message =
        if message.starts_with("ringfence:") { message.to_string() } else { format!("ringfence: {message}") };
    let body = match p {
        Provider::Anthropic => serde_json::json!({
            "type": "error",
            "error": { "type": "invalid_request_error", "message": message },
        }),
        Provider::OpenAi => serde_json::json!({
            "error": { "message": message, "type": "insufficient_quota", "param": null, "code": "insufficient_quota" },
        }),
        // Google's error shape; 400 FAILED_PRECONDITION, as Gemini CLI retries 429s.
        Provider::Gemini => serde_json::json!({
            "error": { "code": 400, "message": message, "status": "FAILED_PRECONDITION" },
        }),
    };
    (400, "application/json", body.to_string().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(model: &str, input: u64, output: u64) -> Usage {
        Usage { model: model.into(), input_tokens: input, output_tokens: output, ..Usage::default() }
    }

    fn budgets(entries: &[(&str, Option<u64>, Option<f64>)]) -> BTreeMap<String, policy::Budget> {
        entries
            .iter()
            .map(|(n, t, u)| (n.to_string(), policy::Budget { max_tokens: *t, max_usd: *u }))
            .collect()
    }

    #[test]
    fn token_cap_crosses_once() {
        let mut ledger = Ledger::new(&budgets(&[("anthropic", Some(1000), None)]));
        assert_eq!(ledger.record(Provider::Anthropic, &usage("claude-sonnet-4", 400, 100), Some(0.01)), None);
        assert!(ledger.check(Provider::Anthropic).is_ok());
        let crossed =
            ledger.record(Provider::Anthropic, &usage("claude-sonnet-4", 400, 200), Some(0.01)).unwrap();
        assert_eq!(crossed.tokens, 1100);
        assert_eq!(crossed.max_tokens, Some(1000));
        assert_eq!(crossed.provider, "anthropic");
        assert!(crossed.message.contains("1100 of 1000 tokens"), "{}", crossed.message);
        assert_eq!(ledger.record(Provider::Anthropic, &usage("claude-sonnet-4", 1, 1), None), None);
        let refused = ledger.check(Provider::Anthropic).unwrap_err();
        assert_eq!(refused.tokens, 1102);
        assert_eq!(ledger.totals(Provider::Anthropic).0, 1102);
        assert!(ledger.check(Provider::OpenAi).is_ok(), "providers are metered apart");
    }

    #[test]
    fn usd_cap_and_unpriced_tokens() {
        let mut ledger =
            Ledger::new(&budgets(&[("openai", None, Some(1.0)), ("google-gemini", Some(1), None)]));
        assert_eq!(ledger.record(Provider::OpenAi, &usage("gpt-x", 10, 10), None), None);
        assert_eq!(ledger.unpriced_tokens(Provider::OpenAi), 20);
        assert_eq!(ledger.record(Provider::OpenAi, &usage("gpt-4o", 10, 10), Some(0.6)), None);
        let crossed = ledger.record(Provider::OpenAi, &usage("gpt-4o", 10, 10), Some(0.6)).unwrap();
        assert!((crossed.usd - 1.2).abs() < 1e-9);
        assert!(crossed.message.contains("$1.20 of $1.00"), "{}", crossed.message);
        assert!(ledger.check(Provider::OpenAi).is_err());
        assert_eq!(ledger.totals(Provider::OpenAi).0, 60);
    }

    #[test]
    fn no_budget_never_refuses() {
        let mut ledger = Ledger::new(&BTreeMap::new());
        assert_eq!(ledger.record(Provider::Anthropic, &usage("claude-opus-4", u64::MAX, 5), Some(1e9)), None);
        assert!(ledger.check(Provider::Anthropic).is_ok());
        assert_eq!(ledger.totals(Provider::Anthropic).0, u64::MAX);
    }

    #[test]
    fn refusals_speak_each_providers_format() {
        let (status, content_type, body) = refusal_body(Provider::Anthropic, "budget spent");
        assert_eq!((status, content_type), (400, "application/json"));
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["type"], "error");
        assert_eq!(json["error"]["type"], "invalid_request_error");
        assert_eq!(json["error"]["message"], "ringfence: budget spent");
        let (status, _, body) = refusal_body(Provider::OpenAi, "ringfence: budget spent");
        assert_eq!(status, 400);
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["error"]["type"], "insufficient_quota");
        assert_eq!(json["error"]["message"], "ringfence: budget spent");
        let (status, _, body) = refusal_body(Provider::Gemini, "budget spent");
        assert_eq!(status, 400);
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            (json["error"]["code"].as_u64(), json["error"]["status"].as_str()),
            (Some(400), Some("FAILED_PRECONDITION"))
        );
    }

    #[test]
    fn a_gemini_budget_is_held() {
        let mut ledger = Ledger::new(&budgets(&[("google-gemini", Some(100), None)]));
        assert!(ledger.record(Provider::Gemini, &usage("gemini-2.5-pro", 60, 50), None).is_some());
        assert_eq!(ledger.check(Provider::Gemini).unwrap_err().provider, "google-gemini");
    }
}
