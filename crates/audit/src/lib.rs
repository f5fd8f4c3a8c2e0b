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

/// Audit already-loaded files.
pub fn audit_files(files: Vec<SourceFile>, config: &Config) -> Report {
    let mut findings = Vec::new();
    for file in &files {
        let mut found = rules::check(file, config);
        found.retain(|f| !ignore::suppressed(file, f));
        findings.extend(found);
    }
    findings.sort_by(|a, b| {
        (&a.file, a.line, a.column, a.rule, &a.message).cmp(&(&b.file, b.line, b.column, b.rule, &b.message))
    });
    findings.dedup();
    Report { findings, files, errors: Vec::new() }
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
    report.errors = errors;
    report
}
