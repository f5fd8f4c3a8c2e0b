//! What ringfence decides about an inspected HTTP request: secret sentinels and their
//! injection, method and path routes, model usage metering and budgets.
//!
//! Pure logic, no I/O and no async: the TLS-terminating proxy observes a request, asks this
//! crate, and enforces the answer. That split keeps every decision testable without a network.

pub mod budget;
pub mod prices;
pub mod routes;
pub mod sentinel;
pub mod usage;

pub use budget::{Exceeded, Ledger, refusal_body};
pub use prices::{PRICES_VERSION, price};
pub use routes::{github_api_preset, route_decision};
pub use sentinel::{
    BodyScanner, Found, Pass, ResponseScrubber, Rewrite, Scrubbed, SecretSpec, Unscannable, Vault,
    VaultError, sentinel_for,
};
pub use usage::{Provider, SseMeter, Usage, provider_for, usage_from_json};
