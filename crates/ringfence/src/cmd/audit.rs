//! `ringfence audit`: wiring only; the rules live in the `audit` crate.
//!
//! Exit status (documented in docs/audit.md): 0 when nothing at or above `--min-severity` was
//! found, 10 + the worst severity otherwise (11 low, 12 medium, 13 high, 14 critical), 1 when
//! some input could not be parsed and nothing was found, 125 when ringfence itself failed.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use audit::{Config, Severity};

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Text,
    Json,
    Sarif,
    /// GitHub Actions workflow commands (annotations).
    Github,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum MinSeverity {
    Low,
    Medium,
    High,
    Critical,
}

#[derive(clap::Args)]
pub struct AuditArgs {
    /// Files or directories to audit (default: the current directory). Directories are searched
    /// for .github/workflows/*.y{a,}ml, action.y{a,}ml, .claude/settings{,.local}.json, .mcp.json
    /// and ringfence.yml.
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Report only findings at or above this severity.
    #[arg(long, value_enum, default_value = "low")]
    min_severity: MinSeverity,
    /// Configuration file (default: ringfence-audit.yml or .github/ringfence-audit.yml in the
    /// first directory audited).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Ignore any configuration file.
    #[arg(long, conflicts_with = "config")]
    no_config: bool,
    /// List the rules with their category and summary, then exit.
    #[arg(long)]
    list_rules: bool,
}

/// 10 + the worst severity's rank, so scripts can compare codes.
fn exit_code(worst: Severity) -> u8 {
    match worst {
        Severity::Low => 11,
        Severity::Medium => 12,
        Severity::High => 13,
        Severity::Critical => 14,
    }
}

fn load_config(args: &AuditArgs, paths: &[PathBuf]) -> anyhow::Result<Config> {
    if args.no_config {
        return Ok(Config::default());
    }
    let path = match &args.config {
        Some(p) => Some(p.clone()),
        None => paths
            .iter()
            .find(|p| p.is_dir())
            .and_then(|dir| audit::config::FILE_NAMES.iter().map(|n| dir.join(n)).find(|p| p.is_file())),
    };
    let Some(path) = path else { return Ok(Config::default()) };
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("cannot read config {}", path.display()))?;
    Ok(Config::parse(&path.display().to_string(), &text)?)
}

pub fn run(args: AuditArgs) -> anyhow::Result<u8> {
    let mut stdout = std::io::stdout().lock();
    if args.list_rules {
        for rule in audit::rules::ALL {
            let m = rule.meta();
            writeln!(stdout, "{:<28} {:<13} {}", m.id, m.category.as_str(), m.summary)?;
        }
        return Ok(0);
    }
    let paths = if args.paths.is_empty() { vec![PathBuf::from(".")] } else { args.paths.clone() };
    for p in &paths {
        anyhow::ensure!(p.exists(), "{}: no such file or directory", p.display());
    }
    let config = load_config(&args, &paths)?;
    let mut report = audit::audit_paths(&paths, &config);
    let min = match args.min_severity {
        MinSeverity::Low => Severity::Low,
        MinSeverity::Medium => Severity::Medium,
        MinSeverity::High => Severity::High,
        MinSeverity::Critical => Severity::Critical,
    };
    report.findings.retain(|f| f.severity >= min);
    let rendered = match args.format {
        Format::Text => audit::render::text(&report),
        Format::Json => audit::render::json(&report),
        Format::Sarif => audit::render::sarif(&report),
        Format::Github => audit::render::github(&report),
    };
    stdout.write_all(rendered.as_bytes())?;
    Ok(match report.worst() {
        Some(worst) => exit_code(worst),
        None if !report.errors.is_empty() => 1,
        None => 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_rise_with_severity_and_avoid_reserved_codes() {
        let codes: Vec<u8> = Severity::ALL.iter().map(|s| exit_code(*s)).collect();
        assert_eq!(codes, [11, 12, 13, 14]);
        assert!(codes.iter().all(|c| ![0, 1, 2, 125].contains(c)));
    }
}
