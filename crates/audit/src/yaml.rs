//! A span-preserving YAML tree.
//!
//! Every node, key and value alike, knows where it starts and ends in the source, so findings can
//! point at the exact text. JSON files (`.claude/settings.json`, `.mcp.json`) go through the same
//! loader: JSON is YAML's flow style, and this way they get spans for free.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError};

/// Aliases are expanded by copying; this caps the copies so a "billion laughs" file cannot
/// exhaust memory.
const MAX_NODES: usize = 500_000;

/// A position: 1-based line and column (columns count characters), and the byte offset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
    pub byte: usize,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    pub start: Pos,
    pub end: Pos,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Scalar { text: String, plain: bool },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}, column {col}: {message}")]
pub struct YamlError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl Node {
    /// The value under `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key node and value node under `key` in a mapping.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        self.entries().find(|(k, _)| k.as_str() == Some(key))
    }

    pub fn entries(&self) -> impl Iterator<Item = (&Node, &Node)> {
        let items: &[(Node, Node)] = match &self.value {
            Value::Map(items) => items,
            _ => &[],
        };
        items.iter().map(|(k, v)| (k, v))
    }

    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } if !self.is_null() => Some(text),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar { text, plain: true } if matches!(text.as_str(), "" | "~" | "null"))
    }

    pub fn is_map(&self) -> bool {
        matches!(self.value, Value::Map(_))
    }

    /// `true`/`false` in YAML's and JSON's spellings.
    pub fn as_bool(&self) -> Option<bool> {
        match self.as_str()? {
            "true" | "True" | "TRUE" => Some(true),
            "false" | "False" | "FALSE" => Some(false),
            _ => None,
        }
    }

    /// A scalar, or each scalar of a sequence (GitHub accepts both in many places).
    pub fn strings(&self) -> Vec<&Node> {
        match &self.value {
            Value::Seq(items) => items.iter().filter(|n| n.as_str().is_some()).collect(),
            Value::Scalar { .. } if !self.is_null() => vec![self],
            _ => Vec::new(),
        }
    }
}

/// Parse the first document of `src`.
pub fn load(src: &str) -> Result<Node, YamlError> {
    let lines = LineIndex::new(src);
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(src);
    while let Some(event) = parser.next_event() {
        let (event, span) = event.map_err(|e| scan_error(&e))?;
        let span = Span { start: lines.pos(span.start), end: lines.pos(span.end) };
        if let Some(root) = builder.event(event, span)? {
            return Ok(root);
        }
    }
    // An empty file is an empty mapping: nothing to audit, nothing wrong.
    Ok(Node { value: Value::Map(Vec::new()), span: Span::default() })
}

fn scan_error(e: &ScanError) -> YamlError {
    YamlError { line: e.marker().line(), col: e.marker().col() + 1, message: e.info().to_string() }
}

struct LineIndex<'a> {
    src: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(src: &'a str) -> Self {
        let starts = std::iter::once(0).chain(src.match_indices('\n').map(|(i, _)| i + 1)).collect();
        Self { src, starts }
    }

    fn pos(&self, m: saphyr_parser::Marker) -> Pos {
        let line = m.line().max(1);
        let start = self.starts.get(line - 1).copied().unwrap_or(self.src.len());
        let rest = &self.src[start..];
        let byte = start + rest.char_indices().nth(m.col()).map_or(rest.len(), |(i, _)| i);
        Pos { line, col: m.col() + 1, byte }
    }
}

enum Frame {
    Seq { start: Pos, anchor: usize, items: Vec<Node> },
    Map { start: Pos, anchor: usize, items: Vec<(Node, Node)>, key: Option<Node> },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
}

impl Builder {
    /// Feed one event; returns the root once the first document is complete.
    fn event(&mut self, event: Event<'_>, span: Span) -> Result<Option<Node>, YamlError> {
        let node = match event {
            Event::Scalar(text, style, anchor, _) => {
                let plain = style == ScalarStyle::Plain;
                let node = Node { value: Value::Scalar { text: text.into_owned(), plain }, span };
                self.remember(anchor, &node);
                node
            }
            Event::Alias(id) => {
                let node =
                    self.anchors.get(&id).cloned().ok_or_else(|| err(span, "alias to an unknown anchor"))?;
                self.nodes += count(&node);
                node
            }
            Event::SequenceStart(anchor, _) => {
                self.stack.push(Frame::Seq { start: span.start, anchor, items: Vec::new() });
                return Ok(None);
            }
            Event::MappingStart(anchor, _) => {
                self.stack.push(Frame::Map { start: span.start, anchor, items: Vec::new(), key: None });
                return Ok(None);
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let frame = self.stack.pop().ok_or_else(|| err(span, "unbalanced collection"))?;
                let (start, anchor, value) = match frame {
                    Frame::Seq { start, anchor, items } => (start, anchor, Value::Seq(items)),
                    Frame::Map { start, anchor, items, .. } => (start, anchor, Value::Map(items)),
                };
                let node = Node { value, span: Span { start, end: span.end } };
                self.remember(anchor, &node);
                node
            }
            _ => return Ok(None),
        };
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(err(span, "document is too large (too many nodes after expanding aliases)"));
        }
        match self.stack.last_mut() {
            None => Ok(Some(node)),
            Some(Frame::Seq { items, .. }) => {
                items.push(node);
                Ok(None)
            }
            Some(Frame::Map { items, key, .. }) => {
                match key.take() {
                    Some(k) => items.push((k, node)),
                    None => *key = Some(node),
                }
                Ok(None)
            }
        }
    }

    fn remember(&mut self, anchor: usize, node: &Node) {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
    }
}

fn count(node: &Node) -> usize {
    match &node.value {
        Value::Scalar { .. } => 1,
        Value::Seq(items) => 1 + items.iter().map(count).sum::<usize>(),
        Value::Map(items) => 1 + items.iter().map(|(k, v)| count(k) + count(v)).sum::<usize>(),
    }
}

fn err(span: Span, message: &str) -> YamlError {
    YamlError { line: span.start.line, col: span.start.col, message: message.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_cover_keys_and_values() {
        let src = "on: push\njobs:\n  a:\n    steps:\n      - run: echo hi\n";
        let root = load(src).unwrap();
        let (k, v) = root.entry("jobs").unwrap();
        assert_eq!((k.span.start.line, k.span.start.col), (2, 1));
        let run = v.get("a").unwrap().get("steps").unwrap().items()[0].get("run").unwrap();
        assert_eq!(run.as_str(), Some("echo hi"));
        assert_eq!((run.span.start.line, run.span.start.col), (5, 14));
        assert_eq!(&src[run.span.start.byte..run.span.end.byte], "echo hi");
    }

    #[test]
    fn json_loads_with_spans() {
        let src = "{\n  \"permissions\": {\"defaultMode\": \"bypassPermissions\"}\n}\n";
        let root = load(src).unwrap();
        let mode = root.get("permissions").unwrap().get("defaultMode").unwrap();
        assert_eq!(mode.as_str(), Some("bypassPermissions"));
        assert_eq!(mode.span.start.line, 2);
    }

    #[test]
    fn aliases_expand_and_bombs_are_refused() {
        let root = load("a: &x [1, 2]\nb: *x\n").unwrap();
        assert_eq!(root.get("b").unwrap().items().len(), 2);
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..8 {
            let prev = if i == 0 { "a".to_string() } else { format!("l{}", i - 1) };
            bomb.push_str(&format!("l{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        assert!(load(&bomb).is_err());
    }

    #[test]
    fn errors_carry_positions() {
        let e = load("a: [1, 2\nb: c\n").unwrap_err();
        assert!(e.line >= 1);
    }
}
