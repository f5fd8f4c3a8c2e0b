//! `ringfence gate`: wiring only; the decision lives in the `gate` crate.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use gate::{Inputs, Outcome, Verdict};

/// Decide whether this GitHub Actions run may start the agent: the actor's repository permission
/// as GitHub reports it, `gate.users` for bots and named accounts, and the budgets kept in
/// `gate.store`. Reads GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, GITHUB_ACTOR, GITHUB_REPOSITORY,
/// GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT, GITHUB_API_URL and GITHUB_TOKEN.
///
/// Writes `allowed=true|false`, `reason=…` and `actor=…` to $GITHUB_OUTPUT and one line to
/// $GITHUB_STEP_SUMMARY.
#[derive(clap::Args)]
#[command(after_long_help = HELP)]
pub struct GateArgs {
    /// Policy file with a `gate:` section [default: ./ringfence.yml]
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Instead of deciding, record the model spend metered in this run's journal (a run
    /// directory or its events.jsonl) against the actor and day this workflow run was admitted
    /// for, for `gate.budget.per_*_daily_usd`
    #[arg(long, value_name = "RUN")]
    record: Option<PathBuf>,
}

const HELP: &str = "Exit status: 0 allowed; 1 refused by the policy (role, bot, budget); 2 refused because \
the gate could not decide (no token, GitHub unreachable or refusing the token, a payload that is not \
GitHub's, a store that cannot be written); 125 ringfence itself failed (no policy or no gate section, \
$GITHUB_OUTPUT not writable). Every status but 0 writes allowed=false when it can. With --record: 0 \
recorded, 125 not (no admission for this run attempt, a journal that fails verification, a store that \
cannot be written).";

pub const REFUSED: u8 = 1;
pub const UNDECIDED: u8 = 2;

/// GitHub caps payloads well below this; a larger file is not one of its payloads.
const PAYLOAD_LIMIT: u64 = 32 << 20;

pub fn run(args: GateArgs) -> anyhow::Result<u8> {
    let path = args.policy.unwrap_or_else(|| PathBuf::from("ringfence.yml"));
    let loaded = policy::load(&path).map_err(anyhow::Error::from).and_then(|p| {
        p.gate.with_context(|| format!("{}: there is no `gate:` section; see docs/gate.md", path.display()))
    });
    let gate = match loaded {
        Ok(g) => g,
        Err(e) => {
            // Still say no to the steps that read the output, then fail as ringfence.
            let outcome =
                Outcome { verdict: Verdict::Undecided, reason: format!("{e:#}"), actor: None, max_usd: None };
            let _ = publish(&outcome);
            return Err(e);
        }
    };
    if let Some(run) = &args.record {
        return record(run, &gate);
    }
    let inputs = inputs();
    let outcome = gate::decide(&inputs, &gate, std::time::SystemTime::now());
    let word = if outcome.allowed() { "allowed" } else { "refused" };
    println!("ringfence gate: {word}: {}", outcome.reason);
    publish(&outcome)?;
    Ok(match outcome.verdict {
        Verdict::Allowed => 0,
        Verdict::Refused => REFUSED,
        Verdict::Undecided => UNDECIDED,
    })
}

/// Sums the priced model usage in a run's journal (verified first) and records it in the store.
fn record(run: &Path, gate: &policy::Gate) -> anyhow::Result<u8> {
    let store = gate.store.as_ref().context("`gate.store` is not set: there is nowhere to record spend")?;
    let path = super::journal_path(run);
    let verified = journal::read(&path)?.map_err(|e| {
        anyhow::anyhow!("{}: the journal fails verification ({e}); its spend is not recorded", path.display())
    })?;
    let (mut usd, mut tokens, mut unpriced) = (0.0f64, 0u64, 0usize);
    for record in &verified.records {
        if let journal::Event::HttpRequest(request) = &record.event
            && let Some(usage) = &request.usage
        {
            tokens +=
                usage.input_tokens + usage.output_tokens + usage.cache_read_tokens + usage.cache_write_tokens;
            match usage.usd {
                Some(dollars) if dollars.is_finite() && dollars >= 0.0 => usd += dollars,
                _ => unpriced += 1,
            }
        }
    }
    let repository = var("GITHUB_REPOSITORY").context("GITHUB_REPOSITORY is not set")?;
    let run_id = var("GITHUB_RUN_ID").context("GITHUB_RUN_ID is not set")?;
    let attempt = var("GITHUB_RUN_ATTEMPT").unwrap_or_else(|| "1".into());
    let recorded = gate::open_store(store)
        .and_then(|mut s| s.record(&repository, &format!("{run_id}/{attempt}"), usd, tokens))?;
    let unpriced = match unpriced {
        0 => String::new(),
        n => format!("; {n} model call(s) had no price and are not counted in dollars"),
    };
    let line = format!(
        "ringfence gate: recorded ${usd:.2} ({tokens} tokens) for {} on {} (UTC): ${:.2} that day{unpriced}",
        recorded.actor, recorded.day, recorded.actor_usd
    );
    println!("{line}");
    if let Some(summary) = var("GITHUB_STEP_SUMMARY") {
        append(&summary, &format!("{line}\n"))
            .with_context(|| format!("cannot write the job summary to {summary}"))?;
    }
    Ok(0)
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn inputs() -> Inputs {
    let run_id = var("GITHUB_RUN_ID").unwrap_or_default();
    let attempt = var("GITHUB_RUN_ATTEMPT").unwrap_or_else(|| "1".into());
    Inputs {
        event_name: var("GITHUB_EVENT_NAME").unwrap_or_default(),
        payload: payload(),
        actor: var("GITHUB_ACTOR"),
        repository: var("GITHUB_REPOSITORY").unwrap_or_default(),
        run: format!("{run_id}/{attempt}"),
        api_url: var("GITHUB_API_URL").unwrap_or_else(|| "https://api.github.com".into()),
        token: var("GITHUB_TOKEN").and_then(gate::github::Token::new),
    }
}

fn payload() -> Result<serde_json::Value, String> {
    let path = var("GITHUB_EVENT_PATH")
        .ok_or("GITHUB_EVENT_PATH is not set: run the gate inside a GitHub Actions job")?;
    let read = |path: &Path| -> std::io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        std::fs::File::open(path)?.take(PAYLOAD_LIMIT + 1).read_to_end(&mut bytes)?;
        Ok(bytes)
    };
    let bytes =
        read(Path::new(&path)).map_err(|e| format!("the event payload {path} cannot be read: {e}"))?;
    if bytes.len() as u64 > PAYLOAD_LIMIT {
        return Err(format!("the event payload {path} is over {PAYLOAD_LIMIT} bytes: not a GitHub payload"));
    }
    serde_json::from_slice(&bytes).map_err(|e| format!("the event payload {path} is not JSON: {e}"))
}

/// `allowed`, `reason` and `actor` to $GITHUB_OUTPUT, one line to $GITHUB_STEP_SUMMARY.
fn publish(outcome: &Outcome) -> anyhow::Result<()> {
    let one_line = |s: &str| s.replace(['\r', '\n'], " ");
    let reason = one_line(&outcome.reason);
    if let Some(path) = var("GITHUB_OUTPUT") {
        let mut text = format!("allowed={}\nreason={reason}\n", outcome.allowed());
        if let Some(actor) = &outcome.actor {
            text.push_str(&format!("actor={actor}\n"));
        }
        if let Some(usd) = outcome.max_usd {
            // Rounded down to the cent, so the run's cap never exceeds what is left.
            text.push_str(&format!("max_usd={:.2}\n", (usd * 100.0).floor() / 100.0));
        }
        append(&path, &text).with_context(|| format!("cannot write the step's outputs to {path}"))?;
    }
    if let Some(path) = var("GITHUB_STEP_SUMMARY") {
        let word = if outcome.allowed() { "allowed" } else { "refused" };
        let line = format!("**ringfence gate: {word}**: {reason}\n");
        append(&path, &line).with_context(|| format!("cannot write the job summary to {path}"))?;
    }
    Ok(())
}

fn append(path: &str, text: &str) -> std::io::Result<()> {
    std::fs::OpenOptions::new().append(true).create(true).open(path)?.write_all(text.as_bytes())
}
