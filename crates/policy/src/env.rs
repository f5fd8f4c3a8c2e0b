//! Which environment variables may enter the fence.
//!
//! Only an allowlist passes. The defaults are what tools need to behave (locale, paths, CI
//! context); runner tokens and anything named like a secret never pass raw, whatever the policy
//! says: declared secrets reach the agent only as sentinels.

use crate::schema::Policy;

/// Variables passed by default. A trailing `*` is a prefix.
pub const DEFAULT_ENV_PASS: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "TERM",
    "LANG",
    "LANGUAGE",
    "LC_*",
    "TZ",
    "TMPDIR",
    "CI",
    "GITHUB_ACTIONS",
    "GITHUB_WORKSPACE",
    "GITHUB_REPOSITORY",
    "GITHUB_REPOSITORY_OWNER",
    "GITHUB_SHA",
    "GITHUB_REF",
    "GITHUB_REF_NAME",
    "GITHUB_HEAD_REF",
    "GITHUB_BASE_REF",
    "GITHUB_EVENT_NAME",
    "GITHUB_RUN_ID",
    "GITHUB_RUN_NUMBER",
    "GITHUB_RUN_ATTEMPT",
    "GITHUB_JOB",
    "GITHUB_WORKFLOW",
    "GITHUB_ACTOR",
    "GITHUB_SERVER_URL",
    "GITHUB_API_URL",
    "GITHUB_GRAPHQL_URL",
    "RUNNER_OS",
    "RUNNER_ARCH",
    "RUNNER_TEMP",
];

/// Names that carry the runner's own credentials or endpoints that accept them. `GITHUB_EVENT_PATH`
/// is absent from the defaults too (it points at the raw, attacker-writable event payload) but is
/// not secret, so it may be passed explicitly.
pub const NEVER_PASS: &[&str] = &[
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "ACTIONS_RUNTIME_TOKEN",
    "ACTIONS_RUNTIME_URL",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "ACTIONS_CACHE_URL",
    "ACTIONS_RESULTS_URL",
];

/// Fragments that mark a name as a credential (`OPENAI_API_KEY`, `NPM_TOKEN`, `DB_PASSWORD`…).
const SECRET_WORDS: &[&str] = &[
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "API_KEY",
    "APIKEY",
    "PRIVATE_KEY",
    "ACCESS_KEY",
    "CREDENTIAL",
    "AUTH",
];

/// True for names that look like they hold a credential; such names never pass raw.
pub fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    NEVER_PASS.contains(&upper.as_str())
        || upper.starts_with("ACTIONS_")
        || SECRET_WORDS.iter().any(|w| upper.contains(w))
        || upper.ends_with("_PAT")
        || upper.ends_with("_KEY")
}

/// Does `name` match an entry (an exact name or a `PREFIX*`)?
pub(crate) fn entry_matches(entry: &str, name: &str) -> bool {
    match entry.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => entry == name,
    }
}

impl Policy {
    /// May the variable `name` be passed into the fence with its real value?
    ///
    /// Defaults plus `env.pass`, minus runner tokens, secret-looking names and every name declared
    /// under `secrets:` (those get a sentinel instead).
    pub fn env_allowed(&self, name: &str) -> bool {
        if looks_secret(name) || self.secrets.contains_key(name) {
            return false;
        }
        DEFAULT_ENV_PASS
            .iter()
            .copied()
            .chain(self.env.pass.iter().map(String::as_str))
            .any(|e| entry_matches(e, name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Env, Secret};

    #[test]
    fn defaults_pass_context_but_never_tokens() {
        let p = Policy::default();
        for ok in ["PATH", "HOME", "LC_ALL", "GITHUB_REPOSITORY", "RUNNER_TEMP", "CI"] {
            assert!(p.env_allowed(ok), "{ok}");
        }
        for no in [
            "GITHUB_TOKEN",
            "ACTIONS_RUNTIME_TOKEN",
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "ACTIONS_CACHE_URL",
            "GITHUB_EVENT_PATH",
            "ANTHROPIC_API_KEY",
            "LD_PRELOAD",
            "BASH_ENV",
            "NODE_OPTIONS",
        ] {
            assert!(!p.env_allowed(no), "{no}");
        }
    }

    #[test]
    fn pass_adds_names_and_prefixes_but_not_secrets() {
        let mut p = Policy { env: Env { pass: vec!["MY_VAR".into(), "APP_*".into()] }, ..Policy::default() };
        p.secrets.insert("APP_SIGNING".into(), Secret { hosts: vec![], inject: vec![] });
        assert!(p.env_allowed("MY_VAR"));
        assert!(p.env_allowed("APP_COLOR"));
        assert!(!p.env_allowed("APP_TOKEN"));
        assert!(!p.env_allowed("APP_SIGNING"));
        assert!(!p.env_allowed("MY_VAR2"));
    }
}
