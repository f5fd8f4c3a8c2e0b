//! The role decision for one login: listed, a bot, or what GitHub says its permission is.

use policy::{Gate, Role};

use crate::event::Principal;

/// What must be known about a login before it can be judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Decided without asking GitHub.
    Decided(Judgement),
    /// Ask the API for the login's repository permission, then call [`by_role`].
    AskRole,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judgement {
    /// Named in `gate.users`.
    Listed,
    /// A bot not named in `gate.users`.
    UnlistedBot,
    /// GitHub reports this role, and `gate.roles` allows it.
    RoleAllowed(Role),
    /// GitHub reports this role, and `gate.roles` does not allow it.
    RoleRefused(Role),
    /// GitHub reports no access (404, or `none`).
    NoAccess,
}

impl Judgement {
    pub fn allows(self) -> bool {
        matches!(self, Judgement::Listed | Judgement::RoleAllowed(_))
    }

    /// Says why, naming the login, for `reason=` and the job summary.
    pub fn describe(self, who: &Principal, repo: &str, gate: &Gate) -> String {
        let allowed: Vec<&str> = gate.roles.iter().map(|r| r.name()).collect();
        let allowed = allowed.join(", ");
        let login = &who.login;
        let source = who.source;
        match self {
            Judgement::Listed => format!("{login} ({source}) is listed in gate.users"),
            Judgement::UnlistedBot => {
                format!("{login} ({source}) is a bot, and bots are refused unless listed in gate.users")
            }
            Judgement::RoleAllowed(r) => format!("{login} ({source}) has the {r} role on {repo}"),
            Judgement::RoleRefused(r) => {
                format!("{login} ({source}) has the {r} role on {repo}; gate.roles allows {allowed}")
            }
            Judgement::NoAccess => {
                format!("{login} ({source}) has no access to {repo}; gate.roles allows {allowed}")
            }
        }
    }
}

/// What can be decided before asking GitHub. Listed logins are compared case-insensitively.
pub fn before_api(who: &Principal, gate: &Gate) -> Need {
    if gate.users.iter().any(|u| u.eq_ignore_ascii_case(&who.login)) {
        Need::Decided(Judgement::Listed)
    } else if who.bot {
        Need::Decided(Judgement::UnlistedBot)
    } else {
        Need::AskRole
    }
}

/// The decision once GitHub has answered; `None` is no access.
pub fn by_role(role: Option<Role>, gate: &Gate) -> Judgement {
    match role {
        None => Judgement::NoAccess,
        Some(r) if gate.roles.contains(&r) => Judgement::RoleAllowed(r),
        Some(r) => Judgement::RoleRefused(r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(login: &str, bot: bool) -> Principal {
        Principal { login: login.into(), bot, source: "sender" }
    }

    #[test]
    fn listed_bots_pass_unlisted_do_not() {
        let gate = Gate { users: vec!["release-helper[bot]".into()], ..Gate::default() };
        assert_eq!(before_api(&who("Release-Helper[bot]", true), &gate), Need::Decided(Judgement::Listed));
        assert_eq!(before_api(&who("dependabot[bot]", true), &gate), Need::Decided(Judgement::UnlistedBot));
        assert_eq!(before_api(&who("octocat", false), &gate), Need::AskRole);
    }

    #[test]
    fn roles() {
        let gate = Gate::default();
        assert!(by_role(Some(Role::Admin), &gate).allows());
        assert!(by_role(Some(Role::Maintain), &gate).allows());
        assert!(by_role(Some(Role::Write), &gate).allows());
        assert!(!by_role(Some(Role::Triage), &gate).allows());
        assert!(!by_role(Some(Role::Read), &gate).allows());
        assert!(!by_role(None, &gate).allows());
        let text = by_role(Some(Role::Read), &gate).describe(&who("x", false), "o/r", &gate);
        assert_eq!(text, "x (sender) has the read role on o/r; gate.roles allows admin, maintain, write");
    }
}
