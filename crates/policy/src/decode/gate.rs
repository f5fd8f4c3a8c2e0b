//! The `gate` section: who may start a run, and the budgets `ringfence gate` counts.

use crate::error::{Located, did_you_mean};
use crate::schema::{Gate, GateBudget, GateStore, Role};
use crate::units::parse_duration;
use crate::yaml::Node;

use super::reader::{R, fields, string, strings, uint};

const KEYS: &[&str] = &["roles", "users", "budget", "store", "timeout"];
const BUDGET_KEYS: &[&str] =
    &["per_actor_daily_runs", "per_repo_daily_runs", "per_actor_daily_usd", "per_repo_daily_usd"];

pub(super) fn gate(node: &Node) -> R<Gate> {
    let f = fields(node, "gate", KEYS)?;
    let mut out = Gate::default();
    if let Some(n) = f.get("roles") {
        out.roles = roles(n)?;
    }
    if let Some(n) = f.get("users") {
        for (login, item) in strings(n, "gate.users")? {
            if !is_login(login) {
                return Err(Located::new(
                    item.pos,
                    format!("`gate.users`: `{login}` is not a GitHub login"),
                    "write exact logins: letters, digits and single hyphens, bots with their `[bot]` suffix (`renovate[bot]`)",
                ));
            }
            out.users.push(login.to_string());
        }
    }
    if let Some(n) = f.get("budget") {
        out.budget = budget(n)?;
    }
    if let Some(n) = f.get("store") {
        out.store = Some(store(n)?);
    }
    if let Some(n) = f.get("timeout") {
        let text = string(n, "gate.timeout")?;
        out.timeout = parse_duration(text)
            .map_err(|help| Located::new(n.pos, format!("`gate.timeout`: cannot read `{text}`"), help))?;
    }
    if !out.budget.is_empty() && out.store.is_none() {
        return Err(Located::new(
            node.pos,
            "`gate.budget` is set but `gate.store` is not",
            "budgets are counted in a store: add `store: \"sqlite:.ringfence/gate.db\"` (see docs/gate.md for keeping it across runs)",
        ));
    }
    Ok(out)
}

fn roles(node: &Node) -> R<Vec<Role>> {
    let names: Vec<&str> = Role::ALL.iter().map(|r| r.name()).collect();
    let mut out = Vec::new();
    for (name, item) in strings(node, "gate.roles")? {
        let Some(role) = Role::from_name(name) else {
            let hint = did_you_mean(name, &names).map_or(String::new(), |s| format!("did you mean `{s}`? "));
            return Err(Located::new(
                item.pos,
                format!("`gate.roles`: unknown role `{name}`"),
                format!("{hint}repository roles: {}", names.join(", ")),
            ));
        };
        if !out.contains(&role) {
            out.push(role);
        }
    }
    if out.is_empty() {
        return Err(Located::new(
            node.pos,
            "`gate.roles` is empty: nobody could start a run",
            "list the roles that may, such as `[admin, maintain, write]`, or list logins in `gate.users`",
        ));
    }
    Ok(out)
}

fn budget(node: &Node) -> R<GateBudget> {
    let f = fields(node, "gate.budget", BUDGET_KEYS)?;
    let mut out = GateBudget::default();
    for (key, slot) in [
        ("per_actor_daily_runs", &mut out.per_actor_daily_runs),
        ("per_repo_daily_runs", &mut out.per_repo_daily_runs),
    ] {
        if let Some(n) = f.get(key) {
            *slot = Some(uint(n, &format!("gate.budget.{key}"), "3")?);
        }
    }
    for (key, slot) in [
        ("per_actor_daily_usd", &mut out.per_actor_daily_usd),
        ("per_repo_daily_usd", &mut out.per_repo_daily_usd),
    ] {
        if let Some(n) = f.get(key) {
            *slot = Some(super::sections::usd(n, &format!("gate.budget.{key}"))?);
        }
    }
    if out.is_empty() {
        return Err(Located::new(
            node.pos,
            "`gate.budget` sets no cap",
            format!("set one of {}, or remove `budget`", BUDGET_KEYS.join(", ")),
        ));
    }
    Ok(out)
}

fn store(node: &Node) -> R<GateStore> {
    let text = string(node, "gate.store")?;
    if let Some(path) = text.strip_prefix("sqlite:") {
        if path.is_empty() {
            return Err(Located::new(
                node.pos,
                "`gate.store`: `sqlite:` names no file",
                "write `sqlite:PATH`, such as `sqlite:.ringfence/gate.db`",
            ));
        }
        return Ok(GateStore::Sqlite(path.into()));
    }
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        return Ok(GateStore::Postgres(text.to_string()));
    }
    Err(Located::new(
        node.pos,
        format!("`gate.store`: `{text}` is neither `sqlite:PATH` nor a `postgres://` URL"),
        "write `sqlite:.ringfence/gate.db`, or `postgres://USER@HOST/DB` (the password from PGPASSWORD)",
    ))
}

/// GitHub logins: 1–39 letters, digits and single inner hyphens (managed users add `_suffix`);
/// apps end in `[bot]`.
pub(crate) fn is_login(text: &str) -> bool {
    let name = text.strip_suffix("[bot]").unwrap_or(text);
    !name.is_empty()
        && name.len() <= 39
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
}

#[cfg(test)]
mod tests {
    use super::is_login;

    #[test]
    fn logins() {
        assert!(is_login("octocat"));
        assert!(is_login("release-helper[bot]"));
        assert!(is_login("a"));
        assert!(!is_login(""));
        assert!(!is_login("-x"));
        assert!(!is_login("a--b"));
        assert!(!is_login("has space"));
        assert!(!is_login("[bot]"));
        assert!(!is_login(&"a".repeat(40)));
    }
}
