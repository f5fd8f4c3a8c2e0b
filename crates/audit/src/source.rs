//! Loaded input files: their text, their YAML/JSON tree, and position arithmetic over both.

use std::path::{Path, PathBuf};

use crate::error::AuditError;
use crate::yaml::{self, Node, Pos, Span, Value};

/// What an input file is, decided by its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Workflow,
    /// `.github/workflows/copilot-setup-steps.yml`: runs before the Copilot coding agent.
    CopilotSetup,
    /// A composite action's `action.yml`.
    Action,
    /// `.claude/settings.json` or `.claude/settings.local.json`.
    ClaudeSettings,
    /// `.mcp.json`.
    Mcp,
    /// A ringfence policy, `ringfence.yml`.
    Policy,
}

impl FileKind {
    /// The kind of a file by its path, or `None` when ringfence does not audit it.
    pub fn of(path: &Path) -> Option<Self> {
        let name = path.file_name()?.to_str()?;
        let parent = path.parent().and_then(|p| p.file_name()).and_then(|n| n.to_str()).unwrap_or("");
        let yaml = name.ends_with(".yml") || name.ends_with(".yaml");
        Some(match name {
            "copilot-setup-steps.yml" | "copilot-setup-steps.yaml" => FileKind::CopilotSetup,
            "action.yml" | "action.yaml" => FileKind::Action,
            "settings.json" | "settings.local.json" if parent == ".claude" => FileKind::ClaudeSettings,
            ".mcp.json" => FileKind::Mcp,
            "ringfence.yml" | "ringfence.yaml" => FileKind::Policy,
            _ if yaml && parent == "workflows" => FileKind::Workflow,
            _ => return None,
        })
    }
}

pub struct SourceFile {
    /// The path as shown in findings (relative to the audited directory when there is one).
    pub path: String,
    pub text: String,
    pub kind: FileKind,
    pub root: Node,
    /// Where the file was read from, when it was (local `uses:` are resolved beside it).
    pub disk: Option<PathBuf>,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn parse(path: String, text: String, kind: FileKind) -> Result<Self, AuditError> {
        let root = yaml::load(&text).map_err(|e| AuditError::Parse {
            file: path.clone(),
            line: e.line,
            col: e.col,
            message: e.message,
        })?;
        let line_starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        Ok(Self { path, text, kind, root, disk: None, line_starts })
    }

    /// The same file, known to have been read from `path`.
    pub fn with_disk(mut self, path: PathBuf) -> Self {
        self.disk = Some(path);
        self
    }

    /// The text of a 1-based line, without its newline.
    pub fn line(&self, line: usize) -> &str {
        let Some(&start) = self.line_starts.get(line.wrapping_sub(1)) else { return "" };
        let end = self.line_starts.get(line).map_or(self.text.len(), |e| e - 1);
        self.text.get(start..end).unwrap_or("").trim_end_matches('\r')
    }

    pub fn pos_at(&self, byte: usize) -> Pos {
        let byte = byte.min(self.text.len());
        let idx = self.line_starts.partition_point(|&s| s <= byte).max(1) - 1;
        let start = self.line_starts[idx];
        let col = self.text.get(start..byte).map_or(0, |s| s.chars().count()) + 1;
        Pos { line: idx + 1, col, byte }
    }

    /// The raw source text of a node.
    pub fn raw(&self, node: &Node) -> &str {
        self.text.get(node.span.start.byte..node.span.end.byte).unwrap_or("")
    }

    /// Where `range` of a scalar's *decoded* value sits in the source.
    ///
    /// Block scalars and quoted strings decode differently from how they are written, so offsets
    /// cannot be added to the node's start. The needle is searched in the node's raw text instead,
    /// taking the same occurrence index as in the decoded value; if it is not there verbatim (an
    /// escape inside it), the whole node is the best honest answer.
    pub fn subspan(&self, node: &Node, range: std::ops::Range<usize>) -> Span {
        let Value::Scalar { text, .. } = &node.value else { return node.span };
        let Some(needle) = text.get(range.clone()).filter(|n| !n.is_empty()) else { return node.span };
        let nth = text[..range.start].match_indices(needle).count();
        let raw = self.raw(node);
        match raw.match_indices(needle).nth(nth) {
            Some((off, _)) => {
                let start = node.span.start.byte + off;
                Span { start: self.pos_at(start), end: self.pos_at(start + needle.len()) }
            }
            None => node.span,
        }
    }

    /// A span covering a key and its value, for findings about a whole entry.
    pub fn join(&self, a: Span, b: Span) -> Span {
        Span { start: a.start.min(b.start), end: a.end.max(b.end) }
    }
}
