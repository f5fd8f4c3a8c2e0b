//! Which unprivileged user the agent runs as.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// uid 65534 (`nobody`): used when the working directory belongs to root, because the agent must
/// never run as root.
pub const NOBODY: u32 = 65534;

/// The agent's default uid: the owner of the working directory, or [`NOBODY`] if that is root.
/// On a CI runner the checkout belongs to the runner user, so the agent can edit it as usual.
pub fn default_uid(cwd: &Path) -> std::io::Result<u32> {
    let owner = std::fs::metadata(cwd)?.uid();
    Ok(if owner == 0 { NOBODY } else { owner })
}

/// A user's primary gid and home directory from the password database, if it has an entry.
pub fn lookup(uid: u32) -> Option<(u32, std::path::PathBuf)> {
    let user = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)).ok()??;
    Some((user.gid.as_raw(), user.dir))
}

/// Resolves a user name to its uid.
pub fn uid_of(name: &str) -> Option<u32> {
    Some(nix::unistd::User::from_name(name).ok()??.uid.as_raw())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_root_owned_directory_gives_nobody() {
        if nix::unistd::Uid::effective().is_root() {
            assert_eq!(default_uid(Path::new("/")).unwrap(), NOBODY);
        }
    }

    #[test]
    fn a_user_owned_directory_gives_its_owner() {
        let dir = tempfile::tempdir().unwrap();
        let uid = std::fs::metadata(dir.path()).unwrap().uid();
        let expected = if uid == 0 { NOBODY } else { uid };
        assert_eq!(default_uid(dir.path()).unwrap(), expected);
    }
}
