//! Precedence-climbing parser over the token stream.

use crate::ast::{BinOp, ContextPath, Expr, ExprKind, Part, Span};
use crate::lexer::{Tok, lex};

/// Deeper nesting than this is refused: real expressions are shallow, and hostile input must
/// not exhaust the stack.
const MAX_DEPTH: usize = 128;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("at offset {offset}: {message}")]
pub struct ParseError {
    /// Byte offset into the expression text.
    pub offset: usize,
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(offset: usize, message: String) -> Self {
        Self { offset, message }
    }
}

/// Parse the text of one expression (without the `${{ }}` delimiters).
pub fn parse(src: &str) -> Result<Expr, ParseError> {
    let tokens = lex(src)?;
    let mut p = Parser { tokens, pos: 0, depth: 0, len: src.len() };
    let expr = p.expr(0)?;
    match p.tokens.get(p.pos) {
        None => Ok(expr),
        Some((tok, span)) => Err(ParseError::new(span.start, format!("unexpected {tok:?} after expression"))),
    }
}

struct Parser {
    tokens: Vec<(Tok, Span)>,
    pos: usize,
    depth: usize,
    len: usize,
}

fn binop(tok: &Tok) -> Option<(BinOp, usize)> {
    Some(match tok {
        Tok::Or => (BinOp::Or, 1),
        Tok::And => (BinOp::And, 2),
        Tok::Eq => (BinOp::Eq, 3),
        Tok::Ne => (BinOp::Ne, 3),
        Tok::Lt => (BinOp::Lt, 4),
        Tok::Le => (BinOp::Le, 4),
        Tok::Gt => (BinOp::Gt, 4),
        Tok::Ge => (BinOp::Ge, 4),
        _ => return None,
    })
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|(t, _)| t)
    }

    fn next(&mut self) -> Result<(Tok, Span), ParseError> {
        let item = self
            .tokens
            .get(self.pos)
            .cloned()
            .ok_or_else(|| ParseError::new(self.len, "expression ends too early".to_string()))?;
        self.pos += 1;
        Ok(item)
    }

    fn expect(&mut self, want: &Tok, what: &str) -> Result<Span, ParseError> {
        let (tok, span) = self.next()?;
        if &tok == want { Ok(span) } else { Err(ParseError::new(span.start, format!("expected {what}"))) }
    }

    fn enter(&mut self, at: usize) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::new(at, "expression is nested too deeply".to_string()));
        }
        Ok(())
    }

    fn expr(&mut self, min_prec: usize) -> Result<Expr, ParseError> {
        let mut lhs = self.unary()?;
        while let Some((op, prec)) = self.peek().and_then(binop) {
            if prec < min_prec.max(1) {
                break;
            }
            self.pos += 1;
            self.enter(lhs.span.start)?;
            let rhs = self.expr(prec + 1)?;
            self.depth -= 1;
            let span = Span { start: lhs.span.start, end: rhs.span.end };
            lhs = Expr { kind: ExprKind::Binary { op, lhs: Box::new(lhs), rhs: Box::new(rhs) }, span };
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.peek() == Some(&Tok::Not) {
            let (_, span) = self.next()?;
            self.enter(span.start)?;
            let inner = self.unary()?;
            self.depth -= 1;
            let span = Span { start: span.start, end: inner.span.end };
            return Ok(Expr { kind: ExprKind::Not(Box::new(inner)), span });
        }
        let primary = self.primary()?;
        self.postfix(primary)
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let (tok, span) = self.next()?;
        let kind = match tok {
            Tok::Number(n) => ExprKind::Number(n),
            Tok::Str(s) => ExprKind::String(s),
            Tok::LParen => {
                self.enter(span.start)?;
                let inner = self.expr(0)?;
                self.depth -= 1;
                let close = self.expect(&Tok::RParen, "`)`")?;
                return Ok(Expr { kind: inner.kind, span: Span { start: span.start, end: close.end } });
            }
            Tok::Ident(name) => return self.ident(name, span),
            other => return Err(ParseError::new(span.start, format!("unexpected {other:?}"))),
        };
        Ok(Expr { kind, span })
    }

    fn ident(&mut self, name: String, span: Span) -> Result<Expr, ParseError> {
        match name.to_ascii_lowercase().as_str() {
            "true" => return Ok(Expr { kind: ExprKind::Bool(true), span }),
            "false" => return Ok(Expr { kind: ExprKind::Bool(false), span }),
            "null" => return Ok(Expr { kind: ExprKind::Null, span }),
            _ => {}
        }
        if self.peek() != Some(&Tok::LParen) {
            let kind = ExprKind::Context(ContextPath { root: name, parts: Vec::new() });
            return Ok(Expr { kind, span });
        }
        self.pos += 1;
        let mut args = Vec::new();
        if self.peek() != Some(&Tok::RParen) {
            loop {
                self.enter(span.start)?;
                args.push(self.expr(0)?);
                self.depth -= 1;
                if self.peek() == Some(&Tok::Comma) {
                    self.pos += 1;
                } else {
                    break;
                }
            }
        }
        let close = self.expect(&Tok::RParen, "`)` or `,` in the argument list")?;
        let span = Span { start: span.start, end: close.end };
        Ok(Expr { kind: ExprKind::Call { func: name, args }, span })
    }

    fn postfix(&mut self, mut base: Expr) -> Result<Expr, ParseError> {
        loop {
            let part = match self.peek() {
                Some(Tok::Dot) => {
                    self.pos += 1;
                    match self.next()? {
                        (Tok::Ident(name), _) => Part::Name(name),
                        (Tok::Star, _) => Part::Star,
                        (_, s) => {
                            return Err(ParseError::new(s.start, "expected a name or `*` after `.`".into()));
                        }
                    }
                }
                Some(Tok::LBracket) => {
                    self.pos += 1;
                    self.enter(base.span.start)?;
                    let part = if self.peek() == Some(&Tok::Star) {
                        self.pos += 1;
                        Part::Star
                    } else {
                        let index = self.expr(0)?;
                        match index.kind {
                            ExprKind::String(s) => Part::Name(s),
                            _ => Part::Index(Box::new(index)),
                        }
                    };
                    self.depth -= 1;
                    self.expect(&Tok::RBracket, "`]`")?;
                    part
                }
                _ => return Ok(base),
            };
            let end = self.tokens.get(self.pos.saturating_sub(1)).map_or(self.len, |(_, s)| s.end);
            let span = Span { start: base.span.start, end };
            let kind = match base.kind {
                ExprKind::Context(mut path) => {
                    path.parts.push(part);
                    ExprKind::Context(path)
                }
                other => ExprKind::Access { base: Box::new(Expr { kind: other, span: base.span }), part },
            };
            base = Expr { kind, span };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(src: &str) -> Vec<String> {
        parse(src)
            .unwrap()
            .value_sources()
            .iter()
            .filter_map(|e| e.as_context())
            .map(|c| c.pattern())
            .collect()
    }

    #[test]
    fn value_strings_follow_branches() {
        let e = parse("inputs.big && '--max-turns 9 --allowedTools Bash' || '--max-turns 3'").unwrap();
        assert_eq!(e.value_strings(), ["--max-turns 9 --allowedTools Bash", "--max-turns 3"]);
        // A comparison's operand is not a value the expression yields.
        assert!(parse("inputs.x == 'a'").unwrap().value_strings().is_empty());
    }

    #[test]
    fn contexts_are_normalised() {
        assert_eq!(pattern("github.event['issue'].Body"), ["github.event.issue.body"]);
        assert_eq!(pattern("github.event.commits[0].message"), ["github.event.commits.*.message"]);
        assert_eq!(pattern("github.event.commits.*.message"), ["github.event.commits.*.message"]);
    }

    #[test]
    fn predicates_do_not_carry_values() {
        assert!(pattern("contains(github.event.comment.body, '@claude')").is_empty());
        assert!(pattern("github.event.issue.title == 'x'").is_empty());
        assert!(pattern("!github.event.issue.title").is_empty());
    }

    #[test]
    fn value_carriers() {
        assert_eq!(pattern("format('{0} {1}', github.head_ref, env.X)"), ["github.head_ref", "env.x"]);
        assert_eq!(pattern("github.event.issue.body || 'none'"), ["github.event.issue.body"]);
        assert_eq!(pattern("true && inputs.p"), ["inputs.p"]);
        assert_eq!(pattern("fromJSON(steps.a.outputs.b).c"), ["steps.a.outputs.b"]);
        assert_eq!(pattern("toJSON(github.event)"), ["github.event"]);
    }

    fn with_fields(src: &str) -> Vec<(String, Vec<String>)> {
        parse(src)
            .unwrap()
            .value_sources_with_fields()
            .into_iter()
            .filter_map(|(e, f)| Some((e.as_context()?.pattern(), f)))
            .collect()
    }

    #[test]
    fn json_fields_read_from_sources() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            with_fields("fromJSON(steps.m.outputs.meta).head.SHA"),
            [("steps.m.outputs.meta".to_string(), s(&["head", "sha"]))]
        );
        assert_eq!(
            with_fields("fromJSON(steps.m.outputs.meta)['title'] || github.head_ref"),
            [("steps.m.outputs.meta".to_string(), s(&["title"])), ("github.head_ref".to_string(), s(&[]))]
        );
        assert_eq!(
            with_fields("fromJSON(steps.m.outputs.meta)[0].x"),
            [("steps.m.outputs.meta".to_string(), s(&[]))]
        );
        assert_eq!(
            with_fields("format('{0}', steps.m.outputs.meta).x"),
            [("steps.m.outputs.meta".to_string(), s(&[]))]
        );
        assert_eq!(with_fields("github.event.issue.body"), [("github.event.issue.body".to_string(), s(&[]))]);
    }

    #[test]
    fn precedence() {
        let e = parse("a || b && c == d").unwrap();
        assert_eq!(e.to_string(), "(a || (b && (c == d)))");
        let e = parse("!a.b && (c || d)").unwrap();
        assert_eq!(e.to_string(), "(!(a.b) && (c || d))");
    }

    #[test]
    fn spans_point_at_the_source() {
        let src = "contains(github.event.comment.body, '@claude')";
        let e = parse(src).unwrap();
        let (ctx, span) = e.contexts()[0];
        assert_eq!(ctx.pattern(), "github.event.comment.body");
        assert_eq!(&src[span.start..span.end], "github.event.comment.body");
    }

    #[test]
    fn errors_name_the_offset() {
        let err = parse("a == ").unwrap_err();
        assert_eq!(err.offset, 5);
        assert!(parse("'open").is_err());
        assert!(parse("a b").is_err());
        assert!(parse(&"(".repeat(1000)).is_err());
        assert_eq!(parse("1e-5").unwrap().kind, ExprKind::Number(1e-5));
        assert_eq!(parse("0xff").unwrap().kind, ExprKind::Number(255.0));
        assert_eq!(parse("'it''s'").unwrap().kind, ExprKind::String("it's".into()));
    }
}
