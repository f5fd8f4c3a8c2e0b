//! What a run will do, decided before anything starts: mode, user, environment, limits, output
//! directory. Pure decisions from (policy, flags, host facts); no process is started here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use journal::{FenceLayer, Mode};
use policy::{Policy, UserSpec};
use sha2::{Digest, Sha256};

/// Everything a run needs, resolved.
pub struct Plan {
    pub run_id: String,
    pub mode: Mode,
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    pub policy_path: Option<PathBuf>,
    pub policy_sha256: Option<String>,
    pub uid: u32,
    pub gid: u32,
    pub env: Vec<(String, String)>,
    pub env_dropped: Vec<String>,
    /// Where `ringfence hook claude` appends its decisions during the run (collected after it).
    pub hook_log: PathBuf,
    pub wall: Option<Duration>,
    pub pids: Option<u64>,
    /// The agent's memory limit in bytes (its cgroup's, and each private tmpfs's size).
    pub memory: u64,
    /// Where the run directory was created (for messages; files go through `run_dir`).
    pub out_dir: PathBuf,
    /// The run directory, held open: every output is written relative to it.
    pub run_dir: super::rundir::RunDir,
    /// The run's places, for expanding file rules and naming them on file events.
    pub run_paths: policy::RunPaths,
    pub policy: Policy,
    /// The vault of secrets and the run's CA (memory only; the CA bundle is in `out_dir`).
    pub credentials: super::secrets::Credentials,
}

/// The flags of `ringfence run` that shape a plan.
#[derive(Default)]
pub struct Flags {
    pub policy: Option<PathBuf>,
    pub mode: Option<Mode>,
    pub out: Option<PathBuf>,
    pub user: Option<String>,
    pub wall: Option<Duration>,
    pub pids: Option<u64>,
    /// `--max-usd`: a dollar cap for each metered provider, below the policy's own.
    pub max_usd: Option<f64>,
    pub pass_env: Vec<String>,
    /// `--allow host[:port]`, added to the policy's `egress.allow`.
    pub allow: Vec<String>,
    /// `--secret NAME=host[,host…]`, added to the policy's `secrets`.
    pub secrets: Vec<String>,
    /// `--upstream-ca FILE`: CAs ringfence trusts for its own upstream TLS.
    pub upstream_ca: Vec<PathBuf>,
    /// Secret values ringfence was handed directly (the demo's), looked up before its own
    /// environment.
    pub secret_values: Vec<(String, String)>,
}

/// The policy file used when `--policy` is not given and the working directory has one.
pub const DEFAULT_POLICY: &str = "ringfence.yml";

/// pids.max when neither the policy nor a flag says: generous for builds, fatal to fork bombs.
pub const DEFAULT_PIDS: u64 = 4096;

/// The memory limit when the policy does not set one: three quarters of the host's memory, so
/// an agent that fills memory (or its tmpfs) meets its own cgroup's OOM killer, never the host's.
fn default_memory() -> u64 {
    let total_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines().find_map(|l| {
                l.strip_prefix("MemTotal:")?.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()
            })
        })
        .unwrap_or(4 * 1024 * 1024);
    total_kib * 1024 / 4 * 3
}

impl Plan {
    pub fn new(flags: Flags, argv: Vec<String>) -> anyhow::Result<Plan> {
        let cwd = std::env::current_dir().context("reading the working directory")?;
        let policy_path = flags.policy.clone().or_else(|| {
            let default = cwd.join(DEFAULT_POLICY);
            default.is_file().then_some(default)
        });
        let (mut policy, policy_sha256) = match &policy_path {
            Some(path) => {
                let bytes =
                    std::fs::read(path).with_context(|| format!("reading the policy {}", path.display()))?;
                (policy::load(path)?, Some(hex::encode(Sha256::digest(&bytes))))
            }
            None => (Policy::default(), None),
        };
        for flag in &flags.allow {
            policy
                .allow_from_flag(flag)
                .map_err(|e| anyhow::anyhow!("--allow {flag}: {}; {}", e.message, e.help))?;
        }
        if let Some(usd) = flags.max_usd {
            cap_spend(&mut policy, usd);
        }
        for flag in &flags.secrets {
            let (name, secret) = super::secrets::parse_flag(flag)?;
            policy.secrets.insert(name, secret);
        }
        // Without a policy there is nothing to enforce yet: record everything and propose one.
        let mode = flags.mode.unwrap_or(if policy_path.is_some() { policy.mode } else { Mode::Audit });
        refuse_unenforceable(&policy, mode, policy_path.as_deref())?;
        // The policy file itself, when the agent could reach it: a loosened ringfence.yml would
        // steer the next step's run and the hook (which reads it on every call).
        if let Some(path) = policy_path.as_ref().and_then(|p| p.canonicalize().ok())
            && path.starts_with(&cwd)
        {
            policy.files.protected.push(path.display().to_string());
        }
        let uid = resolve_uid(flags.user.as_deref(), policy.user.as_ref(), &cwd)?;
        if uid == 0 {
            bail!(
                "the agent must not run as root (uid 0): choose another user with --user or `user:` in the policy"
            );
        }
        let (gid, home) = sandbox::user::lookup(uid).unwrap_or((uid, PathBuf::from("/tmp")));
        let vars = std::env::vars_os()
            .map(|(k, v)| (k.to_string_lossy().into_owned(), v.to_string_lossy().into_owned()));
        let pass = |name: &str| policy.env_allowed(name) || flags.pass_env.iter().any(|p| p == name);
        let (mut env, env_dropped) = sandbox::env::filter(vars, pass);
        // The runner's HOME belongs to another user; give the agent one it owns or the private /tmp.
        let home = if owned_by(&home, uid) { home } else { PathBuf::from("/tmp") };
        sandbox::env::set(&mut env, "HOME", &home.display().to_string());
        let run_paths = run_paths(&cwd, &home);
        let run_id = new_run_id();
        let hook_log = super::hooklog::path(&cwd, &run_id);
        sandbox::env::set(&mut env, hook::log::LOG_ENV, &hook_log.display().to_string());
        let run_dir = super::rundir::RunDir::create(flags.out.as_deref(), &cwd, &run_id)?;
        let out_dir = run_dir.path().to_path_buf();
        let credentials = super::secrets::prepare(
            &policy,
            mode,
            &run_id,
            &run_dir,
            flags.upstream_ca,
            &flags.secret_values,
            &mut env,
        )?;
        Ok(Plan {
            run_id,
            mode,
            argv,
            cwd,
            policy_path,
            policy_sha256,
            uid,
            gid,
            env,
            env_dropped,
            hook_log,
            wall: flags.wall.or(policy.limits.wall),
            pids: Some(flags.pids.or(policy.limits.pids).unwrap_or(DEFAULT_PIDS)),
            memory: policy.limits.memory.unwrap_or_else(default_memory),
            out_dir,
            run_dir,
            run_paths,
            policy,
            credentials,
        })
    }

    pub fn fence_spec(&self) -> sandbox::FenceSpec {
        sandbox::FenceSpec {
            run_id: self.run_id.clone(),
            argv: self.argv.clone(),
            cwd: self.cwd.clone(),
            env: self.env.clone(),
            uid: self.uid,
            gid: self.gid,
            pids_max: self.pids,
            memory_max: Some(self.memory),
            // Both modes: in audit mode too, traffic goes through ringfence's resolver and proxy,
            // which is what lets it be recorded with its process.
            isolate_network: true,
            files: (self.mode == Mode::Block).then(|| self.file_fence()),
            init_exe: PathBuf::from("/proc/self/exe"),
            ca_bundle: self.credentials.bundle.clone(),
            run_dir: Some(self.out_dir.clone()),
            // Block mode moves every Unix socket path into this view (see runner/unix.rs).
            socket_view: (self.mode == Mode::Block).then(|| self.policy.egress.unix_sockets.clone()),
        }
    }

    /// Block mode's file confinement, from the policy's file rules.
    pub fn file_fence(&self) -> sandbox::FileFence {
        let paths = |rules: Vec<policy::FileRule>| rules.into_iter().map(|r| r.path).collect();
        let mut read_only: Vec<PathBuf> = paths(self.policy.protected_paths(&self.run_paths));
        // The run's own journal, when it lives in the workspace: the agent must not move or
        // replace the directory it is being written to.
        if let Ok(inside) = self.out_dir.strip_prefix(&self.cwd)
            && let Some(top) = inside.components().next()
        {
            read_only.push(self.cwd.join(top));
        }
        let writable = self.policy.writable_paths(&self.run_paths);
        let pinned = pinned_parents(&read_only, &writable);
        sandbox::FileFence {
            writable,
            read_only,
            pinned,
            masked: paths(self.policy.deny_read_paths(&self.run_paths)),
        }
    }

    /// The run.start record of this plan with the fence's layers; `with_env`: the environment
    /// the fence passes and drops (a job passes none: its steps have their own).
    pub fn run_start(&self, with_env: bool, fence: Vec<FenceLayer>) -> journal::Event {
        let (env_passed, env_dropped) = match with_env {
            true => (self.env.iter().map(|(k, _)| k.clone()).collect(), self.env_dropped.clone()),
            false => (Vec::new(), Vec::new()),
        };
        journal::Event::RunStart(journal::RunStart {
            run_id: self.run_id.clone(),
            ringfence_version: env!("CARGO_PKG_VERSION").into(),
            mode: self.mode,
            argv: self.argv.clone(),
            cwd: self.cwd.display().to_string(),
            policy: self.policy_path.as_ref().map(|p| p.display().to_string()),
            policy_sha256: self.policy_sha256.clone(),
            uid: self.uid,
            gid: self.gid,
            env_passed,
            env_dropped,
            fence,
            limits: self.limits(),
        })
    }

    /// The run's limits as run.start records them.
    pub fn limits(&self) -> journal::Limits {
        let budgets = self
            .policy
            .budget
            .iter()
            .map(|(provider, b)| journal::BudgetCap {
                provider: provider.clone(),
                max_tokens: b.max_tokens,
                max_usd: b.max_usd,
            })
            .collect();
        journal::Limits {
            pids: self.pids,
            wall_secs: self.wall.map(|w| w.as_secs()),
            memory: Some(self.memory),
            budgets,
        }
    }

    /// The sandbox's layers plus the ones this plan adds.
    pub fn layers(&self, mut layers: Vec<FenceLayer>) -> Vec<FenceLayer> {
        for layer in layers.iter_mut().filter(|l| l.layer == "network") {
            layer.detail = super::network::layer_detail(self);
        }
        layers.push(FenceLayer {
            layer: "environment".into(),
            active: true,
            detail: format!(
                "allowlist: {} passed, {} dropped (names listed, never values)",
                self.env.len(),
                self.env_dropped.len()
            ),
        });
        layers.push(self.credentials.layer());
        layers.push(FenceLayer {
            layer: "wall-clock".into(),
            active: self.wall.is_some(),
            detail: match self.wall {
                Some(wall) => format!("killed after {}", humantime::format_duration(wall)),
                None => "no limit (set limits.wall or --wall)".into(),
            },
        });
        layers
    }
}

/// `--max-usd`: every provider the proxy meters gets a dollar cap no higher than `usd` (a lower
/// one in the policy stays).
fn cap_spend(policy: &mut Policy, usd: f64) {
    for provider in policy::BUDGET_PROVIDERS {
        let budget = policy
            .budget
            .entry(provider.to_string())
            .or_insert(policy::Budget { max_tokens: None, max_usd: None });
        budget.max_usd = Some(budget.max_usd.map_or(usd, |own| own.min(usd)));
    }
}

/// Block mode must never quietly run with less than the policy asks for: a section this version
/// cannot enforce yet is refused rather than ignored.
fn refuse_unenforceable(policy: &Policy, mode: Mode, path: Option<&Path>) -> anyhow::Result<()> {
    if mode != Mode::Block {
        return Ok(());
    }
    let file = path.map(|p| p.display().to_string()).unwrap_or_else(|| "the policy".into());
    let unenforced = [("limits.egress_bytes", policy.limits.egress_bytes.is_some(), "egress byte counting")];
    if let Some((key, _, needs)) = unenforced.iter().find(|(_, set, _)| *set) {
        bail!(
            "{file}: `{key}` needs {needs}, which this version of ringfence does not enforce yet; \
             block mode refuses to run with less than the policy asks for. Remove `{key}`, or run with --mode audit"
        );
    }
    Ok(())
}

fn resolve_uid(flag: Option<&str>, policy: Option<&UserSpec>, cwd: &Path) -> anyhow::Result<u32> {
    let by_name = |name: &str| {
        sandbox::user::uid_of(name).with_context(|| {
            format!("user `{name}` does not exist on this host; give a uid or an existing user name")
        })
    };
    match (flag, policy) {
        (Some(flag), _) => match flag.parse::<u32>() {
            Ok(uid) => Ok(uid),
            Err(_) => by_name(flag),
        },
        (None, Some(UserSpec::Uid(uid))) => Ok(*uid),
        (None, Some(UserSpec::Name(name))) => by_name(name),
        (None, None) => {
            sandbox::user::default_uid(cwd).with_context(|| format!("reading the owner of {}", cwd.display()))
        }
    }
}

/// The homes `~` stands for: the agent's, the invoking user's, and the sudo caller's, because a
/// credential in any of them is one the agent must not read.
fn run_paths(cwd: &Path, agent_home: &Path) -> policy::RunPaths {
    let mut homes = vec![agent_home.to_path_buf()];
    homes.extend(std::env::var_os("HOME").map(PathBuf::from));
    let sudo_home =
        std::env::var("SUDO_UID").ok().and_then(|u| u.parse().ok()).and_then(sandbox::user::lookup);
    homes.extend(sudo_home.map(|(_, home)| home));
    homes.sort();
    homes.dedup();
    policy::RunPaths {
        workspace: cwd.to_path_buf(),
        homes,
        runner_temp: std::env::var_os("RUNNER_TEMP").map(PathBuf::from),
        git_dirs: super::gitdirs::find(cwd),
    }
}

fn owned_by(dir: &Path, uid: u32) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(dir).is_ok_and(|m| m.is_dir() && m.uid() == uid)
}

/// Sortable and unique enough for one host: UTC time plus 32 random bits.
pub fn new_run_id() -> String {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let compact: String = now.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let mut random = [0u8; 4];
    let _ =
        std::fs::File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut random));
    format!("{compact}-{}", hex::encode(random))
}

/// The directories between each read-only path and the writable tree it lies in (`.git` for
/// `.git/hooks`): the agent could otherwise rename one aside, read-only mount and all, and put a
/// writable copy in its place.
fn pinned_parents(read_only: &[PathBuf], writable: &[PathBuf]) -> Vec<PathBuf> {
    let mut pinned = std::collections::BTreeSet::new();
    for path in read_only {
        for tree in writable.iter().filter(|w| path.starts_with(w) && path != *w) {
            pinned.extend(
                path.ancestors()
                    .skip(1)
                    .take_while(|a| a != tree && a.starts_with(tree))
                    .map(Path::to_path_buf),
            );
        }
    }
    pinned.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_usd_caps_every_metered_provider_below_the_policys_own() {
        let mut policy = Policy::default();
        policy.budget.insert("anthropic".into(), policy::Budget { max_tokens: Some(9), max_usd: Some(1.0) });
        policy.budget.insert("openai".into(), policy::Budget { max_tokens: None, max_usd: Some(9.0) });
        cap_spend(&mut policy, 2.5);
        assert_eq!(policy.budget["anthropic"].max_usd, Some(1.0), "a lower cap in the policy stays");
        assert_eq!(policy.budget["anthropic"].max_tokens, Some(9));
        assert_eq!(policy.budget["openai"].max_usd, Some(2.5));
        for provider in policy::BUDGET_PROVIDERS {
            assert!(policy.budget[*provider].max_usd.is_some_and(|usd| usd <= 2.5), "{provider}");
        }
    }

    #[test]
    fn the_parents_of_read_only_paths_inside_writable_trees_are_pinned() {
        let p = |s: &str| PathBuf::from(s);
        let read_only = [
            p("/w/.git/hooks"),
            p("/w/.git/config"),
            p("/w/.github/workflows"),
            p("/w/CLAUDE.md"),
            p("/h/.bashrc"),
        ];
        let pinned = pinned_parents(&read_only, &[p("/w"), p("/c")]);
        assert_eq!(
            pinned,
            [p("/w/.git"), p("/w/.github")],
            "nothing outside the writable trees, not the tree itself"
        );
    }
}
