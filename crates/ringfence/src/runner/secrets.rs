//! Secrets and the run's CA, decided before the fence starts: each declared secret's real value
//! is taken from ringfence's own environment into the vault (memory only) and the agent gets a
//! sentinel of the same shape instead; the run's CA is made and appended to a copy of the
//! system CA bundle that the fence shows in place of the real one.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use netfence::tls::RunCa;
use policy::{HostPattern, Policy};

/// Variables that tell TLS clients which CA bundle to trust; all point at the fence's bundle.
pub const CA_ENV: [&str; 5] =
    ["SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO"];

pub struct Credentials {
    pub vault: Arc<inspect::Vault>,
    pub ca: Arc<RunCa>,
    /// The bundle file on the host (in the run directory), bound over the system bundle; `None`
    /// when the host has no system bundle and nothing is inspected.
    pub bundle: Option<PathBuf>,
    /// Declared secrets that were not set in ringfence's environment, so have no sentinel.
    pub missing: Vec<String>,
    /// Extra CAs ringfence trusts for its own upstream TLS (`--upstream-ca`).
    pub upstream_ca: Vec<PathBuf>,
}

/// `--secret NAME=host[,host…]`.
pub fn parse_flag(text: &str) -> anyhow::Result<(String, policy::Secret)> {
    let help = "write --secret NAME=host[,host…], e.g. --secret ANTHROPIC_API_KEY=api.anthropic.com";
    let Some((name, hosts)) = text.split_once('=') else { bail!("--secret {text}: no `=`; {help}") };
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        bail!("--secret {text}: `{name}` is not an environment variable name; {help}");
    }
    let hosts = hosts
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(|h| HostPattern::parse(h).map_err(|e| anyhow::anyhow!("--secret {text}: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if hosts.is_empty() {
        bail!("--secret {text}: no host; a secret must belong to at least one host. {help}");
    }
    Ok((name.to_string(), policy::Secret { hosts, inject: Vec::new() }))
}

/// Builds the vault and the run's CA, puts sentinels and the CA variables into `env`, and
/// writes the fence's CA bundle into the run directory.
pub fn prepare(
    policy: &Policy,
    mode: journal::Mode,
    run_id: &str,
    run_dir: &super::rundir::RunDir,
    upstream_ca: Vec<PathBuf>,
    given: &[(String, String)],
    env: &mut Vec<(String, String)>,
) -> anyhow::Result<Credentials> {
    let mut specs = Vec::new();
    let mut missing = Vec::new();
    for (name, secret) in &policy.secrets {
        let value = given.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        match value.ok_or(()).or_else(|_| std::env::var(name)) {
            Ok(value) if !value.is_empty() => specs.push(inspect::SecretSpec {
                name: name.clone(),
                value,
                hosts: secret.hosts.clone(),
                inject: secret.inject.clone(),
            }),
            _ => missing.push(name.clone()),
        }
    }
    let vault = inspect::Vault::new(specs).context("`secrets`")?;
    for (name, sentinel) in vault.sentinels() {
        sandbox::env::set(env, &name, &sentinel);
    }
    // For clients that cannot trust a CA: `ANTHROPIC_BASE_URL=$RINGFENCE_ANTHROPIC_BASE_URL`.
    for gateway in netfence::gateways(policy, &vault) {
        sandbox::env::set(env, gateway.env, &gateway.url());
    }
    let ca = RunCa::new(run_id).context("making the run's certificate authority")?;
    // Block mode checks every request's name inside TLS, which needs the run's CA trusted: it
    // must not quietly fall back to splicing on a host without a CA bundle.
    let inspects = !vault.is_empty()
        || !policy.inspect.is_empty()
        || !policy.budget.is_empty()
        || mode == journal::Mode::Block;
    let bundle = fence_bundle(&ca, run_dir, inspects, env)?;
    run_dir.write("ca.pem", ca.pem().as_bytes(), 0o644).context("writing the run's CA certificate")?;
    for path in &upstream_ca {
        if !path.is_file() {
            bail!("--upstream-ca {}: no such file; give a PEM file of CA certificates", path.display());
        }
    }
    Ok(Credentials { vault: Arc::new(vault), ca: Arc::new(ca), bundle, missing, upstream_ca })
}

/// The system CA bundle with the run's CA appended, written into the run directory, and the
/// variables that name it inside the fence. Without a system bundle there is nothing to copy:
/// an error when the run inspects anything, else the fence keeps the host's TLS trust as it is.
fn fence_bundle(
    ca: &RunCa,
    run_dir: &super::rundir::RunDir,
    inspects: bool,
    env: &mut Vec<(String, String)>,
) -> anyhow::Result<Option<PathBuf>> {
    let Some(system) = sandbox::CA_BUNDLES.iter().map(Path::new).find(|p| p.is_file()) else {
        if inspects {
            bail!(
                "no system CA bundle at {}; install ca-certificates so TLS inside the fence can trust the run's CA \
                 (block mode, and the policy's secrets, inspect or budget need it)",
                sandbox::CA_BUNDLES.join(", ")
            );
        }
        return Ok(None);
    };
    let mut bundle_text = std::fs::read_to_string(system)
        .with_context(|| format!("reading the CA bundle {}", system.display()))?;
    if !bundle_text.ends_with('\n') {
        bundle_text.push('\n');
    }
    bundle_text.push_str("# ringfence: this run's CA, trusted inside the fence only\n");
    bundle_text.push_str(&ca.pem());
    // The agent's uid reads it through the bind mount: readable by all.
    run_dir
        .write("ca-bundle.pem", bundle_text.as_bytes(), 0o644)
        .context("writing the fence's CA bundle into the run directory")?;
    let bundle = run_dir.path().join("ca-bundle.pem");
    for name in CA_ENV {
        sandbox::env::set(env, name, &system.display().to_string());
    }
    Ok(Some(bundle))
}

impl Credentials {
    /// The `secrets` line of run.start's fence layers.
    pub fn layer(&self) -> journal::FenceLayer {
        let names: Vec<String> = self.vault.sentinels().into_iter().map(|(n, _)| n).collect();
        let mut detail = if names.is_empty() {
            "no secrets declared; the run's CA is trusted inside the fence for inspected hosts".to_string()
        } else {
            format!(
                "{} replaced by same-shape sentinels; the proxy puts the real values only into requests to their own hosts",
                names.join(", ")
            )
        };
        if !self.missing.is_empty() {
            detail.push_str(&format!(
                "; declared but not set in ringfence's environment: {}",
                self.missing.join(", ")
            ));
        }
        journal::FenceLayer { layer: "secrets".into(), active: !names.is_empty(), detail }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_flags_name_a_variable_and_its_hosts() {
        let (name, secret) = parse_flag("GITHUB_TOKEN=api.github.com, github.com").unwrap();
        assert_eq!(name, "GITHUB_TOKEN");
        assert_eq!(secret.hosts.len(), 2);
        for bad in ["GITHUB_TOKEN", "=api.github.com", "GITHUB_TOKEN=", "BAD-NAME=x.test", "T=*.com"] {
            assert!(parse_flag(bad).is_err(), "{bad} should be refused");
        }
    }
}
