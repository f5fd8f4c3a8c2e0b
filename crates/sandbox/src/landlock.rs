//! Landlock write confinement: the agent may create, change or delete files only beneath the
//! writable trees (the workspace, the private tmp dirs, declared caches) and a few devices.
//! Reads are not Landlock's job here (it can only allow, not carve out): credential paths are
//! masked by mounts instead (see `mounts`).

use std::path::PathBuf;

use landlock::{
    ABI, AccessFs, CompatLevel, Compatible, RestrictionStatus, Ruleset, RulesetAttr, RulesetCreated,
    RulesetCreatedAttr, RulesetStatus, path_beneath_rules,
};

/// The ABI whose write rights the ruleset asks for; older kernels get the subset they know.
const TARGET: ABI = ABI::V5;

/// Devices every program expects to write; writable in block mode, so not flagged in audit mode.
pub const DEVICES: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/tty",
    "/dev/ptmx",
    "/dev/pts",
    "/dev/random",
    "/dev/urandom",
];

/// The Landlock ABI version the running kernel offers (0 when it has none).
pub fn kernel_abi() -> i64 {
    // SAFETY: landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION) only returns a number.
    let version =
        unsafe { libc::syscall(libc::SYS_landlock_create_ruleset, std::ptr::null::<u8>(), 0usize, 1u32) };
    version.max(0)
}

/// Builds the ruleset; opening the paths happens here, while the process can still see them all.
pub(crate) fn prepare(writable: &[PathBuf]) -> Result<RulesetCreated, String> {
    let access = AccessFs::from_write(TARGET);
    let paths: Vec<PathBuf> = writable
        .iter()
        .cloned()
        .chain(crate::mounts::PRIVATE_TMP.iter().map(PathBuf::from))
        .chain(DEVICES.iter().map(PathBuf::from))
        .filter(|p| p.exists())
        .collect();
    Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(access)
        .and_then(|r| r.create())
        .and_then(|r| r.add_rules(path_beneath_rules(&paths, access)))
        .map_err(|e| format!("building the Landlock ruleset: {e}"))
}

/// Enforces the ruleset on this process and all it execs; refuses to go on unenforced.
pub(crate) fn restrict(ruleset: RulesetCreated) -> Result<RestrictionStatus, String> {
    let status = ruleset.restrict_self().map_err(|e| format!("enforcing the Landlock ruleset: {e}"))?;
    if status.ruleset == RulesetStatus::NotEnforced {
        return Err("this kernel does not enforce Landlock; block mode needs it for write confinement (use --mode audit to run unconfined and recorded)".into());
    }
    Ok(status)
}
