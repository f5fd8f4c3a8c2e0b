//! Typed accessors over the span-preserving tree. Each one either returns the value or an error
//! located at the node, saying what was found, what was expected and how to fix it.

use crate::error::{Located, did_you_mean};
use crate::yaml::{Node, Value};

pub(crate) type R<T> = Result<T, Located>;

/// A mapping's entries after checking every key against the known ones.
pub(crate) struct Fields<'a> {
    pairs: Vec<(&'a str, &'a Node)>,
}

impl<'a> Fields<'a> {
    pub fn get(&self, key: &str) -> Option<&'a Node> {
        self.pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v).filter(|v| !v.is_null())
    }
}

/// Reads a mapping whose keys must all be in `known`; `path` names it in messages (`egress`).
pub(crate) fn fields<'a>(node: &'a Node, path: &str, known: &[&str]) -> R<Fields<'a>> {
    let mut pairs = Vec::new();
    for (key, value) in map(node, path)? {
        let name = key_text(key);
        if !known.contains(&name) {
            let hint = match did_you_mean(name, known) {
                Some(s) => format!("did you mean `{s}`? "),
                None => String::new(),
            };
            return Err(Located::new(
                key.pos,
                format!("unknown key `{name}` in `{path}`"),
                format!("{hint}`{path}` accepts: {}", known.join(", ")),
            ));
        }
        pairs.push((name, value));
    }
    Ok(Fields { pairs })
}

/// The text of a mapping key (keys are always scalars: the tree builder refuses others).
pub(crate) fn key_text(key: &Node) -> &str {
    match &key.value {
        Value::Scalar { text, .. } => text,
        _ => "",
    }
}

pub(crate) fn map<'a>(node: &'a Node, path: &str) -> R<&'a [(Node, Node)]> {
    match &node.value {
        Value::Map(pairs) => Ok(pairs),
        _ if node.is_null() => Ok(&[]),
        _ => Err(Located::new(
            node.pos,
            format!("`{path}`: found {}, expected a mapping (`key: value` lines)", node.kind()),
            format!("write `{path}` as indented `key: value` lines, or `{{ key: value }}`"),
        )),
    }
}

pub(crate) fn list<'a>(node: &'a Node, path: &str) -> R<&'a [Node]> {
    match &node.value {
        Value::Seq(items) => Ok(items),
        _ if node.is_null() => Ok(&[]),
        _ => Err(Located::new(
            node.pos,
            format!("`{path}`: found {}, expected a list", node.kind()),
            format!("write `{path}` as `[a, b]` or as `- a` lines"),
        )),
    }
}

/// A string value; numbers and booleans written plainly are accepted as their text.
pub(crate) fn string<'a>(node: &'a Node, path: &str) -> R<&'a str> {
    match &node.value {
        Value::Scalar { text, .. } if !node.is_null() => Ok(text),
        _ => Err(Located::new(
            node.pos,
            format!("`{path}`: found {}, expected a string", node.kind()),
            format!("write a single value for `{path}`"),
        )),
    }
}

/// A whole number written without quotes.
pub(crate) fn uint(node: &Node, path: &str, example: &str) -> R<u64> {
    let help = || format!("write a whole number such as `{example}`");
    match &node.value {
        Value::Scalar { text, plain: true } if !node.is_null() => {
            text.replace('_', "").parse::<u64>().map_err(|_| {
                Located::new(node.pos, format!("`{path}`: found `{text}`, expected a whole number"), help())
            })
        }
        Value::Scalar { text, plain: false } => Err(Located::new(
            node.pos,
            format!("`{path}`: found the quoted string \"{text}\", expected a number"),
            format!("remove the quotes: `{text}`"),
        )),
        _ => Err(Located::new(
            node.pos,
            format!("`{path}`: found {}, expected a whole number", node.kind()),
            help(),
        )),
    }
}

/// A port: 1 to 65535.
pub(crate) fn port(node: &Node, path: &str) -> R<u16> {
    let n = uint(node, path, "443")?;
    match u16::try_from(n) {
        Ok(p) if p != 0 => Ok(p),
        _ => Err(Located::new(
            node.pos,
            format!("`{path}`: found `{n}`, expected a port from 1 to 65535"),
            "use a TCP port number between 1 and 65535",
        )),
    }
}

/// A list of strings, each with its node for error positions.
pub(crate) fn strings<'a>(node: &'a Node, path: &str) -> R<Vec<(&'a str, &'a Node)>> {
    list(node, path)?
        .iter()
        .enumerate()
        .map(|(i, item)| Ok((string(item, &format!("{path}[{i}]"))?, item)))
        .collect()
}

/// Finds `needle` in the source at or after `from_line`, for errors inside a block string.
pub(crate) fn locate_in_source(source: &str, from: &Node, needle: &str) -> crate::error::Pos {
    for (i, line) in source.lines().enumerate().skip(from.pos.line.saturating_sub(1)) {
        if let Some(col) = line.find(needle) {
            return crate::error::Pos { line: i + 1, column: line[..col].chars().count() + 1 };
        }
    }
    from.pos
}
