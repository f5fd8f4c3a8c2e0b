//! The sections of report.md, in reading order. Each returns its text (empty when it has
//! nothing to say) so that a new section is one more function and one more line in `render`.

use super::tree;
use crate::escape::{md_code, md_fence, md_text};
use crate::model::{Actor, Process, RunReport, Verdict, ViolationKind, ViolationVerdict};
use crate::text::{argv_line, duration, offset, status_words, thousands, truncate};
use crate::tree::command_line;

/// Violations beyond this are counted but not listed: the html and json reports hold them all.
const MAX_VIOLATION_ROWS: usize = 50;
const MAX_SUSPICIOUS: usize = 20;
const CELL_MAX: usize = 160;

pub fn headline(r: &RunReport) -> String {
    let o = &r.outcome;
    let mut out = format!("## ringfence: **{}**\n\n", md_text(&o.headline));
    let run = &r.run;
    let mut facts = vec![format!("{} ran", md_code(&truncate(&argv_line(&run.argv), CELL_MAX), false))];
    if !run.cwd.is_empty() {
        facts.push(format!("in {}", md_code(&run.cwd, false)));
    }
    facts.push(format!("in **{}** mode", mode_word(r)));
    if let Some(ms) = run.duration_ms {
        facts.push(format!("for {}", duration(ms)));
    }
    let ending = match (o.verdict, o.cmd_code, o.cmd_signal) {
        (Verdict::Incomplete, ..) => "and the journal stops without run.end".to_string(),
        (_, _, Some(sig)) => format!("and was killed by {}", crate::text::signal_name(sig)),
        (_, Some(code), None) => format!("and exited with code {code}"),
        _ => format!("and ended: {}", status_words(o.status)),
    };
    facts.push(ending);
    out.push_str(&facts.join(" "));
    out.push_str(".\n");
    if let Some(reason) = &o.reason {
        out.push_str(&format!("\n{}: {}\n", md_text(status_words(o.status)), md_text(reason)));
    }
    out.push('\n');
    out
}

pub fn kind_word(kind: ViolationKind) -> &'static str {
    match kind {
        ViolationKind::Secret => "secret",
        ViolationKind::Budget => "budget",
        ViolationKind::Api => "api",
        ViolationKind::Policy => "fence",
        ViolationKind::File => "file",
        ViolationKind::Dns => "dns",
        ViolationKind::Network => "network",
    }
}

fn mode_word(r: &RunReport) -> &'static str {
    match r.run.mode {
        crate::model::Mode::Audit => "audit",
        crate::model::Mode::Block => "block",
    }
}

pub fn warnings(r: &RunReport) -> String {
    r.warnings.iter().map(|w| format!("> **Warning:** {}\n\n", md_text(&w.message))).collect()
}

pub fn violations(r: &RunReport, verdict: ViolationVerdict) -> String {
    let list: Vec<_> = r.violations_in_reading_order().into_iter().filter(|v| v.verdict == verdict).collect();
    if list.is_empty() {
        return String::new();
    }
    let title = match (verdict, r.run.mode) {
        (ViolationVerdict::Blocked, _) => "Blocked",
        (ViolationVerdict::Allowed, crate::model::Mode::Audit) => {
            "Allowed (audit mode: these would be blocked)"
        }
        (ViolationVerdict::Allowed, crate::model::Mode::Block) => "Let through",
    };
    let mut out = format!("### {title}: {}\n\n", thousands(list.len() as u64));
    if verdict == ViolationVerdict::Allowed && r.run.mode == crate::model::Mode::Block {
        // Block mode lets a violation through only when it is found after the fact, such as
        // the model call that reached a spending cap: the fence refuses what follows.
        out.push_str("Found once it had happened; the fence refuses what follows (e.g. model calls after a spending cap).\n\n");
    }
    out.push_str("| Time | Kind | Rule | What | Process |\n|---|---|---|---|---|\n");
    for v in list.iter().take(MAX_VIOLATION_ROWS) {
        let who = Actor { pid: v.pid, process: v.process, exe: v.exe.clone(), argv: v.argv.clone() };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            offset(v.offset_ms),
            kind_word(v.kind),
            md_code(&v.rule, true),
            md_text(&truncate(&v.what, CELL_MAX)),
            super::actors::actor(r, &who)
        ));
    }
    if list.len() > MAX_VIOLATION_ROWS {
        out.push_str(&format!(
            "\n…and {} more, listed in report.html and report.json.\n",
            thousands((list.len() - MAX_VIOLATION_ROWS) as u64)
        ));
    }
    out.push('\n');
    out
}

/// Processes that outlived their parent: how a background daemon or a detached helper shows up
/// with the events recorded today.
pub fn suspicious(r: &RunReport) -> String {
    [orphans(r), tunnelling(r)].concat()
}

/// DNS names with signs of tunnelling that the policy still allowed: not violations, but what a
/// reviewer should look at next.
fn tunnelling(r: &RunReport) -> String {
    let list: Vec<_> =
        r.network.dns.iter().filter(|n| n.violations == 0 && !n.suspicious.is_empty()).collect();
    if list.is_empty() {
        return String::new();
    }
    let mut out = format!("### Allowed DNS with signs of tunnelling: {}\n\n", thousands(list.len() as u64));
    for n in list.iter().take(MAX_SUSPICIOUS) {
        out.push_str(&format!(
            "- {} {} ({}) by {}\n",
            md_text(&n.qtypes.join(", ")),
            md_code(&truncate(&n.name, CELL_MAX), false),
            md_text(&n.suspicious.join(", ")),
            super::actors::actors_cell(r, &n.processes, n.processes_total)
        ));
    }
    if list.len() > MAX_SUSPICIOUS {
        out.push_str(&format!("- …and {} more\n", thousands((list.len() - MAX_SUSPICIOUS) as u64)));
    }
    out.push('\n');
    out
}

fn orphans(r: &RunReport) -> String {
    let orphans: Vec<&Process> = r.processes.iter().filter(|p| p.orphaned).collect();
    if orphans.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "### Outlived their parent: {}\n\nProcesses still running after the process that started \
         them had exited (daemonised or left behind).\n\n",
        thousands(orphans.len() as u64)
    );
    for p in orphans.iter().take(MAX_SUSPICIOUS) {
        let exit = match &p.exit {
            Some(x) => crate::text::exit_words(x.code, x.signal),
            None => "no exit seen".into(),
        };
        out.push_str(&format!(
            "- {} (pid {}, {}, started {})\n",
            md_code(&truncate(&command_line(p), CELL_MAX), false),
            p.pid,
            exit,
            offset(p.offset_ms)
        ));
    }
    if orphans.len() > MAX_SUSPICIOUS {
        out.push_str(&format!("- …and {} more\n", thousands((orphans.len() - MAX_SUSPICIOUS) as u64)));
    }
    out.push('\n');
    out
}

pub fn process_tree(r: &RunReport, budget: usize) -> String {
    if r.processes.is_empty() {
        return String::new();
    }
    let (text, omitted) = tree::render(r, budget);
    let mut out = format!("### Processes: {}\n\n", thousands(r.processes.len() as u64));
    out.push_str(&md_fence(&text, "text"));
    if omitted > 0 {
        out.push_str(&format!(
            "\n{} more processes are not shown to keep this summary short; report.html has the full tree.\n",
            thousands(omitted as u64)
        ));
    }
    out.push('\n');
    out
}

pub fn fence(r: &RunReport) -> String {
    if r.fence.is_empty() {
        return String::new();
    }
    let active = r.fence.iter().filter(|l| l.active).count();
    let mut out = format!("### Fence: {active} of {} layers active\n\n", r.fence.len());
    out.push_str("| Layer | Active | Detail |\n|---|---|---|\n");
    for l in &r.fence {
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            md_code(&l.layer, true),
            if l.active { "yes" } else { "**no**" },
            md_text(&truncate(&l.detail, 300))
        ));
    }
    out.push('\n');
    out
}

pub fn environment(r: &RunReport) -> String {
    let env = &r.env;
    if env.passed.is_empty() && env.dropped.is_empty() {
        return String::new();
    }
    let names = |list: &[String]| {
        if list.is_empty() {
            "none".to_string()
        } else {
            list.iter().map(|n| md_code(n, false)).collect::<Vec<_>>().join(", ")
        }
    };
    format!(
        "### Environment (names only)\n\n- Dropped at the fence ({}): {}\n- Passed in ({}): {}\n\n",
        env.dropped.len(),
        names(&env.dropped),
        env.passed.len(),
        names(&env.passed)
    )
}

pub fn counts(r: &RunReport) -> String {
    let c = &r.counts;
    let limit = |v: Option<u64>| v.map_or_else(|| "none".to_string(), thousands);
    let rows = [
        ("Processes", thousands(c.processes)),
        ("Execs", thousands(c.execs)),
        (
            "Violations",
            format!(
                "{} ({} blocked, {} allowed)",
                thousands(c.violations),
                thousands(c.violations_blocked),
                thousands(c.violations_allowed)
            ),
        ),
        ("Lost events", thousands(c.lost_events)),
        ("File events", thousands(c.file_events)),
        ("DNS queries", thousands(c.dns_queries)),
        ("Connections", thousands(c.net_connections)),
        ("Journal records", thousands(c.events)),
        ("Limit: pids", limit(r.limits.pids)),
        ("Limit: wall clock (s)", limit(r.limits.wall_secs)),
    ];
    let mut out = String::from("### Counts\n\n| | |\n|---|---:|\n");
    for (k, v) in rows {
        out.push_str(&format!("| {k} | {v} |\n"));
    }
    out.push('\n');
    out
}

pub fn footer(r: &RunReport) -> String {
    let run = &r.run;
    let policy = match &run.policy {
        Some(p) => format!(
            "policy {} (sha256 {})",
            md_code(&p.path, false),
            md_code(p.sha256.as_deref().unwrap_or("unknown"), false)
        ),
        None => "no policy file".into(),
    };
    let chain = if r.journal.complete { "chain verified" } else { "chain verified, but cut short" };
    format!(
        "<sub>Run {} · ringfence {} · {policy} · journal head {} ({chain})</sub>\n",
        md_code(&run.run_id, false),
        md_text(&run.ringfence_version),
        md_code(&r.journal.head, false),
    )
}
