//! `ringfence.yml`: schema v1, loading with located errors, presets and host matching.
//!
//! ```
//! let policy = policy::parse("version: 1\nmode: block\negress:\n  allow: [api.github.com]\n", "ringfence.yml")
//!     .expect("valid policy");
//! assert!(policy.egress_decision("API.GitHub.com.", 443).allowed);
//! assert_eq!(policy.egress_decision("gist.github.com", 443).rule, "default-deny");
//! ```
//!
//! Loading is two steps, as in the rest of ringfence: a span-preserving YAML tree (so every
//! error names `file:line:column`), then a typed decode that validates as it goes. Decisions are
//! pure functions of the policy and the observation, with no I/O.

mod agents;
mod cidr;
mod decision;
mod decode;
mod endpoints;
mod env;
mod error;
mod files;
mod git;
mod hosts;
mod presets;
mod render;
mod schema;
mod tools;
mod units;
mod yaml;

use std::path::Path;

pub use agents::{AGENT_CONFIG, AgentConfig, held_as_file};
pub use cidr::Cidr;
pub use decision::Decision;
pub use env::{DEFAULT_ENV_PASS, NEVER_PASS, looks_secret};
pub use error::{PolicyError, Pos};
pub use files::{
    DEFAULT_DENY_READ, FileRule, OUTSIDE_WRITABLE, PROTECTED_IN_HOME, PROTECTED_IN_WORKSPACE, RunPaths,
};
pub use git::{GIT_DIR_PROTECTED, git_rule, is_git_file};
pub use hosts::{HostError, HostPattern, normalize_name};
pub use presets::{PRESETS, Preset, preset, preset_names};
pub use schema::*;
pub use tools::{BashRules, CommandRule, PathRules, ToolVerdict, Tools};

/// Reads and parses the policy file at `path`; errors name the file as given.
pub fn load(path: &Path) -> Result<Policy, PolicyError> {
    let file = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|source| PolicyError::Read { file: file.clone(), source })?;
    parse(&text, &file)
}

/// Parses policy text; `file_name` is only used in error messages.
pub fn parse(text: &str, file_name: &str) -> Result<Policy, PolicyError> {
    let located = |e: error::Located| e.into_error(file_name);
    let root =
        yaml::parse(text).map_err(|e| error::Located::new(e.pos, e.message, e.help)).map_err(located)?;
    let Some(root) = root.filter(|r| !r.is_null()) else {
        return Err(located(error::Located::new(
            Pos { line: 1, column: 1 },
            "the policy file is empty",
            "start it with `version: 1`; see docs/policy.md for the schema",
        )));
    };
    decode::decode(&root, text).map_err(located)
}
