//! `ringfence hook claude`: Claude Code's PreToolUse contract, the `tools:` rules applied to one
//! tool call, the JSONL record of each decision, and merging the hook into Claude Code's settings.
//!
//! Decisions are pure functions of the rules and the tool call; reading stdin, writing the answer
//! and the log are the CLI's edge.

pub mod bash;
pub mod contract;
pub mod decide;
pub mod glob;
pub mod install;
pub mod log;
pub mod paths;

pub use contract::{Answer, HookInput};
pub use decide::{Outcome, decide};
