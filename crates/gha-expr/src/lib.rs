//! GitHub Actions expressions: the language inside `${{ … }}` and in `if:` conditions.
//!
//! The parser keeps byte spans for every node so that callers can point at the exact part of
//! an expression, and [`Expr::value_sources`] answers the dataflow question static analysers
//! need: which context references can end up *in the value* of an expression (as opposed to
//! only influencing a boolean, as in `contains(github.event.issue.body, 'x')`).

mod ast;
mod lexer;
mod parser;
mod template;

pub use ast::{BinOp, ContextPath, Expr, ExprKind, Part, Span};
pub use parser::{ParseError, parse};
pub use template::{Template, templates};
