//! `ringfence audit`: a static audit of CI workflows and agent settings for the risks that are
//! specific to running AI coding agents unattended.
//!
//! The pipeline: [`discover`] finds the files, [`source`] loads each into a span-preserving tree
//! ([`yaml`]), [`workflow`] derives the model (jobs, agents, triggers, gates, dataflow), each
//! rule in [`rules`] reports [`Finding`]s, [`config`] and [`ignore`] drop what the user
//! suppressed, and [`render`] prints them.

pub mod config;
pub mod discover;
mod error;
pub mod finding;
pub mod ignore;
pub mod render;
pub mod rules;
pub mod shell;
pub mod source;
pub mod workflow;
pub mod yaml;

use std::path::PathBuf;

pub use config::Config;
pub use error::AuditError;
pub use finding::{Category, Confidence, Finding, Severity};
pub use source::{FileKind, SourceFile};

/// The result of one audit: findings in a stable order, the files they point into (for
/// excerpts), and files that could not be read or parsed.
pub struct Report {
    pub findings: Vec<Finding>,
    pub files: Vec<SourceFile>,
    pub errors: Vec<AuditError>,
}

impl Report {
    pub fn file(&self, path: &str) -> Option<&SourceFile> {
        self.files.iter().find(|f| f.path == path)
    }

    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

/// Audit already-loaded files. Local reusable workflows and composite actions they call are
/// resolved among them, and read from disk beside a file that was read from disk.
pub fn audit_files(mut files: Vec<SourceFile>, config: &Config) -> Report {
    let audited = files.len();
    let mut errors = Vec::new();
    workflow::calls::load_callees(&mut files, &mut errors);
    let repo = workflow::calls::Repo { files: &files };
    let mut findings = Vec::new();
    for file in &files[..audited] {
        findings.extend(rules::check(file, config, repo));
    }
    findings.retain(|f| {
        files.iter().find(|file| file.path == f.file).is_none_or(|file| !ignore::suppressed(file, f))
    });
    findings.sort_by(|a, b| {
        (&a.file, a.line, a.column, a.rule, &a.message).cmp(&(&b.file, b.line, b.column, b.rule, &b.message))
    });
    findings.dedup();
    drop_repeats_from_callers(&mut findings);
    Report { findings, files, errors }
}

/// A callee's finding seen again through a caller adds nothing unless it is worse: keep it only
/// when no finding of the same rule at the same place is at least as severe.
fn drop_repeats_from_callers(findings: &mut Vec<Finding>) {
    let called = |f: &Finding| f.message.contains(" (called from ");
    let mut keep = vec![true; findings.len()];
    for (i, f) in findings.iter().enumerate().filter(|(_, f)| called(f)) {
        keep[i] = !findings.iter().enumerate().any(|(j, g)| {
            j != i
                && keep[j]
                && (g.rule, &g.file, g.line, g.column) == (f.rule, &f.file, f.line, f.column)
                && (g.severity > f.severity || (g.severity == f.severity && (!called(g) || j < i)))
        });
    }
    let mut it = keep.into_iter();
    findings.retain(|_| it.next().unwrap_or(true));
}

/// Find, load and audit everything under `paths` (files or directories).
pub fn audit_paths(paths: &[PathBuf], config: &Config) -> Report {
    let mut errors = Vec::new();
    let mut files = Vec::new();
    for input in discover::discover(paths, config) {
        match input.and_then(discover::load) {
            Ok(file) => files.push(file),
            Err(e) => errors.push(e),
        }
    }
    let mut report = audit_files(files, config);
    errors.append(&mut report.errors);
    report.errors = errors;
    report
}
