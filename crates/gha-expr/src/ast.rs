//! The expression tree, its printer and its dataflow query.

use std::fmt;

/// Byte offsets `[start, end)` into the parsed expression text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// Binary operators, lowest precedence first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Or => "||",
            BinOp::And => "&&",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
        }
    }
}

/// One step of a context reference such as `github.event.commits.*.message`.
#[derive(Clone, Debug, PartialEq)]
pub enum Part {
    /// `.name`, or `['name']` (normalised to the same thing, as GitHub does).
    Name(String),
    /// `.*` — every element.
    Star,
    /// `[expr]` with a non-literal or numeric index.
    Index(Box<Expr>),
}

/// A reference into a context: a root name (`github`, `env`, `steps`, …) and accessors.
#[derive(Clone, Debug, PartialEq)]
pub struct ContextPath {
    pub root: String,
    pub parts: Vec<Part>,
}

impl ContextPath {
    /// The lowercase dotted form, with `*` for every dynamic index (contexts are
    /// case-insensitive in GitHub, so comparisons should use this form).
    pub fn pattern(&self) -> String {
        let mut out = self.root.to_ascii_lowercase();
        for part in &self.parts {
            out.push('.');
            match part {
                Part::Name(name) => out.push_str(&name.to_ascii_lowercase()),
                Part::Star | Part::Index(_) => out.push('*'),
            }
        }
        out
    }

    /// The name at position `i` (0 is the first accessor after the root), if it is a name.
    pub fn name_at(&self, i: usize) -> Option<&str> {
        match self.parts.get(i) {
            Some(Part::Name(name)) => Some(name),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Context(ContextPath),
    Call {
        func: String,
        args: Vec<Expr>,
    },
    /// Member or index access on something that is not a plain context (e.g. a call result).
    Access {
        base: Box<Expr>,
        part: Part,
    },
    Not(Box<Expr>),
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

impl Expr {
    /// Context references whose content can become part of this expression's value.
    ///
    /// `a || b` can yield either operand; `a && b` yields `b` unless `a` is falsy (an empty or
    /// null value carries no attacker text); comparisons, `!` and predicate functions only yield
    /// booleans; `format`, `join`, `toJSON` and `fromJSON` pass their arguments through.
    pub fn value_sources(&self) -> Vec<&Expr> {
        let mut out = Vec::new();
        self.collect_value_sources(&mut out);
        out
    }

    /// [`Expr::value_sources`], each with the member names read from it after `fromJSON`:
    /// `fromJSON(steps.a.outputs.meta).head.sha` yields `steps.a.outputs.meta` with
    /// `["head", "sha"]`. Any other access (an index, `.*`, a member of `format(…)`) or none
    /// gives an empty list, meaning the whole value.
    pub fn value_sources_with_fields(&self) -> Vec<(&Expr, Vec<String>)> {
        let mut out = Vec::new();
        self.collect_with_fields(Vec::new(), &mut out);
        out
    }

    fn collect_with_fields<'a>(&'a self, fields: Vec<String>, out: &mut Vec<(&'a Expr, Vec<String>)>) {
        match &self.kind {
            ExprKind::Context(_) => out.push((self, fields)),
            ExprKind::Access { base, part } => {
                let inner = match part {
                    Part::Name(name) => std::iter::once(name.to_ascii_lowercase()).chain(fields).collect(),
                    Part::Star | Part::Index(_) => Vec::new(),
                };
                base.collect_with_fields(inner, out)
            }
            ExprKind::Call { func, args } => {
                let func = func.to_ascii_lowercase();
                if func == "fromjson" {
                    args.iter().for_each(|a| a.collect_with_fields(fields.clone(), out));
                } else if matches!(func.as_str(), "format" | "join" | "tojson") {
                    args.iter().for_each(|a| a.collect_with_fields(Vec::new(), out));
                }
            }
            ExprKind::Binary { op: BinOp::Or, lhs, rhs } => {
                lhs.collect_with_fields(fields.clone(), out);
                rhs.collect_with_fields(fields, out);
            }
            ExprKind::Binary { op: BinOp::And, rhs, .. } => rhs.collect_with_fields(fields, out),
            _ => {}
        }
    }

    fn collect_value_sources<'a>(&'a self, out: &mut Vec<&'a Expr>) {
        match &self.kind {
            ExprKind::Context(_) => out.push(self),
            ExprKind::Access { base, .. } => base.collect_value_sources(out),
            ExprKind::Call { func, args } => {
                let passes =
                    matches!(func.to_ascii_lowercase().as_str(), "format" | "join" | "tojson" | "fromjson");
                if passes {
                    args.iter().for_each(|a| a.collect_value_sources(out));
                }
            }
            ExprKind::Binary { op: BinOp::Or, lhs, rhs } => {
                lhs.collect_value_sources(out);
                rhs.collect_value_sources(out);
            }
            ExprKind::Binary { op: BinOp::And, rhs, .. } => rhs.collect_value_sources(out),
            _ => {}
        }
    }

    /// Every context reference anywhere in the expression, in source order.
    pub fn contexts(&self) -> Vec<(&ContextPath, Span)> {
        let mut out = Vec::new();
        self.walk(&mut |e| {
            if let ExprKind::Context(path) = &e.kind {
                out.push((path, e.span));
            }
        });
        out
    }

    /// Pre-order traversal of every node.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        f(self);
        match &self.kind {
            ExprKind::Context(path) => {
                for part in &path.parts {
                    if let Part::Index(e) = part {
                        e.walk(f);
                    }
                }
            }
            ExprKind::Call { args, .. } => args.iter().for_each(|a| a.walk(f)),
            ExprKind::Access { base, part } => {
                base.walk(f);
                if let Part::Index(e) = part {
                    e.walk(f);
                }
            }
            ExprKind::Not(inner) => inner.walk(f),
            ExprKind::Binary { lhs, rhs, .. } => {
                lhs.walk(f);
                rhs.walk(f);
            }
            _ => {}
        }
    }

    pub fn as_context(&self) -> Option<&ContextPath> {
        match &self.kind {
            ExprKind::Context(path) => Some(path),
            _ => None,
        }
    }

    /// String literals this expression can evaluate to: `c && 'a' || 'b'` yields `a` and `b`
    /// (the same value paths as [`Expr::value_sources`]), so an argument string built by a
    /// condition can be read branch by branch.
    pub fn value_strings(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_value_strings(&mut out);
        out
    }

    fn collect_value_strings<'a>(&'a self, out: &mut Vec<&'a str>) {
        match &self.kind {
            ExprKind::String(s) => out.push(s),
            ExprKind::Binary { op: BinOp::Or, lhs, rhs } => {
                lhs.collect_value_strings(out);
                rhs.collect_value_strings(out);
            }
            ExprKind::Binary { op: BinOp::And, rhs, .. } => rhs.collect_value_strings(out),
            _ => {}
        }
    }

    pub fn as_string(&self) -> Option<&str> {
        match &self.kind {
            ExprKind::String(s) => Some(s),
            _ => None,
        }
    }
}

fn fmt_part(f: &mut fmt::Formatter<'_>, part: &Part) -> fmt::Result {
    match part {
        Part::Name(name) => write!(f, ".{name}"),
        Part::Star => write!(f, ".*"),
        Part::Index(e) => write!(f, "[{e}]"),
    }
}

/// Prints a canonical, fully parenthesised form that parses back to the same tree.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Null => write!(f, "null"),
            ExprKind::Bool(b) => write!(f, "{b}"),
            ExprKind::Number(n) => write!(f, "{n:?}"),
            ExprKind::String(s) => write!(f, "'{}'", s.replace('\'', "''")),
            ExprKind::Context(path) => {
                write!(f, "{}", path.root)?;
                path.parts.iter().try_for_each(|p| fmt_part(f, p))
            }
            ExprKind::Call { func, args } => {
                write!(f, "{func}(")?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{a}")?;
                }
                write!(f, ")")
            }
            ExprKind::Access { base, part } => {
                write!(f, "({base})")?;
                fmt_part(f, part)
            }
            ExprKind::Not(inner) => write!(f, "!({inner})"),
            ExprKind::Binary { op, lhs, rhs } => write!(f, "({lhs} {} {rhs})", op.symbol()),
        }
    }
}
