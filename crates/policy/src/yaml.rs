//! A small span-preserving YAML tree.
//!
//! Meaning and location are kept together so that every later check (a bad host deep in a list,
//! a port out of range) can point at the exact line and column. The tree is built from the
//! parser's event stream rather than a generic YAML value so that duplicate keys, anchors and tags
//! are seen (and refused) instead of silently resolved.

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use crate::error::Pos;

/// Deeper nesting than this is never a policy; refusing it keeps recursion bounded.
const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub pos: Pos,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// `plain` is false for quoted and block scalars: `"443"` is a string, `443` a number.
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// A plain `~`, `null` or empty scalar: YAML's null.
    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar { text, plain: true } if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// What the user wrote, named the way an error message wants it.
    pub fn kind(&self) -> String {
        match &self.value {
            _ if self.is_null() => "nothing (null)".to_string(),
            Value::Scalar { text, .. } => format!("`{}`", shorten(text)),
            Value::Seq(_) => "a list".to_string(),
            Value::Map(_) => "a mapping".to_string(),
        }
    }
}

fn shorten(text: &str) -> String {
    let one_line = text.lines().next().unwrap_or("");
    if one_line.chars().count() > 40 || one_line.len() != text.len() {
        let cut: String = one_line.chars().take(40).collect();
        format!("{cut}…")
    } else {
        one_line.to_string()
    }
}

/// Why the text is not a YAML document we accept, and where.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SyntaxError {
    pub pos: Pos,
    pub message: String,
    pub help: String,
}

fn pos_of(span: &Span) -> Pos {
    Pos { line: span.start.line(), column: span.start.col() + 1 }
}

enum Frame {
    Seq(Pos, Vec<Node>),
    Map(Pos, Vec<(Node, Node)>, Option<Node>),
}

/// Parses one YAML document; `Ok(None)` when the text holds no document at all.
pub(crate) fn parse(text: &str) -> Result<Option<Node>, SyntaxError> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Node> = None;
    let mut documents = 0usize;
    while let Some(event) = parser.next_event() {
        let (event, span) = event.map_err(|e| SyntaxError {
            pos: Pos { line: e.marker().line(), column: e.marker().col() + 1 },
            message: format!("YAML syntax error: {}", e.info()),
            help: "fix the YAML syntax at this position (check indentation, quotes and brackets)".into(),
        })?;
        let pos = pos_of(&span);
        let finished = match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(SyntaxError {
                        pos,
                        message: "found a second YAML document".into(),
                        help: "a policy file holds exactly one document; remove the extra `---` section"
                            .into(),
                    });
                }
                None
            }
            Event::Alias(_) => {
                return Err(SyntaxError {
                    pos,
                    message: "found a YAML alias (`*name`)".into(),
                    help:
                        "write the value out in full; anchors and aliases are not supported in ringfence.yml"
                            .into(),
                });
            }
            Event::Scalar(text, style, anchor, tag) => {
                refuse_anchor_or_tag(pos, anchor, tag.is_some())?;
                let plain = matches!(style, ScalarStyle::Plain);
                Some(Node { pos, value: Value::Scalar { text: text.into_owned(), plain } })
            }
            Event::SequenceStart(anchor, tag) => {
                refuse_anchor_or_tag(pos, anchor, tag.is_some())?;
                push(&mut stack, Frame::Seq(pos, Vec::new()))?;
                None
            }
            Event::MappingStart(anchor, tag) => {
                refuse_anchor_or_tag(pos, anchor, tag.is_some())?;
                push(&mut stack, Frame::Map(pos, Vec::new(), None))?;
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq(pos, items)) => Some(Node { pos, value: Value::Seq(items) }),
                _ => return Err(internal(pos)),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map(pos, pairs, None)) => Some(Node { pos, value: Value::Map(pairs) }),
                _ => return Err(internal(pos)),
            },
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => None,
        };
        if let Some(node) = finished {
            match stack.last_mut() {
                None => root = Some(node),
                Some(Frame::Seq(_, items)) => items.push(node),
                Some(Frame::Map(_, pairs, pending)) => match pending.take() {
                    None => {
                        check_key(&node, pairs)?;
                        *pending = Some(node);
                    }
                    Some(key) => pairs.push((key, node)),
                },
            }
        }
    }
    Ok(root)
}

fn push(stack: &mut Vec<Frame>, frame: Frame) -> Result<(), SyntaxError> {
    if stack.len() >= MAX_DEPTH {
        let pos = match &frame {
            Frame::Seq(pos, _) | Frame::Map(pos, _, _) => *pos,
        };
        return Err(SyntaxError {
            pos,
            message: format!("found nesting deeper than {MAX_DEPTH} levels"),
            help: "a policy is never this deep; check for unbalanced brackets".into(),
        });
    }
    stack.push(frame);
    Ok(())
}

fn refuse_anchor_or_tag(pos: Pos, anchor: usize, tagged: bool) -> Result<(), SyntaxError> {
    if anchor != 0 {
        return Err(SyntaxError {
            pos,
            message: "found a YAML anchor (`&name`)".into(),
            help: "remove the anchor; anchors and aliases are not supported in ringfence.yml".into(),
        });
    }
    if tagged {
        return Err(SyntaxError {
            pos,
            message: "found a YAML tag (`!tag`)".into(),
            help: "remove the tag; ringfence.yml values are untagged".into(),
        });
    }
    Ok(())
}

fn check_key(key: &Node, pairs: &[(Node, Node)]) -> Result<(), SyntaxError> {
    let Value::Scalar { text, .. } = &key.value else {
        return Err(SyntaxError {
            pos: key.pos,
            message: format!("found {} used as a mapping key", key.kind()),
            help: "mapping keys must be plain words such as `egress`".into(),
        });
    };
    if let Some((first, _)) =
        pairs.iter().find(|(k, _)| matches!(&k.value, Value::Scalar { text: t, .. } if t == text))
    {
        return Err(SyntaxError {
            pos: key.pos,
            message: format!("duplicate key `{text}` (first defined at line {})", first.pos.line),
            help: format!("keep one `{text}` entry and merge the two"),
        });
    }
    Ok(())
}

fn internal(pos: Pos) -> SyntaxError {
    SyntaxError {
        pos,
        message: "unbalanced YAML structure".into(),
        help: "check indentation and brackets around this position".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        let root = parse("a:\n  - x\n  - \"y\"\n").unwrap().unwrap();
        let Value::Map(pairs) = root.value else { panic!() };
        let Value::Seq(items) = &pairs[0].1.value else { panic!() };
        assert_eq!(items[0].pos, Pos { line: 2, column: 5 });
        assert_eq!(items[1].value, Value::Scalar { text: "y".into(), plain: false });
    }

    #[test]
    fn refuses_duplicates_aliases_tags_and_depth() {
        assert!(parse("a: 1\na: 2\n").unwrap_err().message.contains("duplicate key `a`"));
        assert!(parse("a: &x 1\nb: *x\n").unwrap_err().message.contains("anchor"));
        assert!(parse("a: !!str 1\n").unwrap_err().message.contains("tag"));
        assert!(parse(&"[".repeat(100)).is_err());
        assert!(parse("a: 1\n---\nb: 2\n").unwrap_err().message.contains("second"));
    }

    #[test]
    fn empty_text_has_no_document() {
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(parse("# only a comment\n").unwrap(), None);
    }
}
