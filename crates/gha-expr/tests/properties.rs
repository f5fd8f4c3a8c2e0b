//! Property tests: the parser never panics, and printing a tree then parsing it again gives the
//! same tree back.

use gha_expr::{BinOp, ContextPath, Expr, ExprKind, Part, Span, parse, templates};
use proptest::prelude::*;

const NO_SPAN: Span = Span { start: 0, end: 0 };

fn node(kind: ExprKind) -> Expr {
    Expr { kind, span: NO_SPAN }
}

fn ident() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_-]{0,8}".prop_filter("keywords are literals", |s| {
        !matches!(s.to_ascii_lowercase().as_str(), "true" | "false" | "null")
    })
}

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        Just(node(ExprKind::Null)),
        any::<bool>().prop_map(|b| node(ExprKind::Bool(b))),
        (0u32..100_000).prop_map(|n| node(ExprKind::Number(f64::from(n) / 8.0))),
        "[^\\x00]{0,12}".prop_map(|s| node(ExprKind::String(s))),
        (ident(), prop::collection::vec(prop_oneof![ident().prop_map(Part::Name), Just(Part::Star)], 0..4))
            .prop_map(|(root, parts)| node(ExprKind::Context(ContextPath { root, parts }))),
    ]
}

fn expr() -> impl Strategy<Value = Expr> {
    let ops = [BinOp::Or, BinOp::And, BinOp::Eq, BinOp::Ne, BinOp::Lt, BinOp::Le, BinOp::Gt, BinOp::Ge];
    leaf().prop_recursive(5, 48, 4, move |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| node(ExprKind::Not(Box::new(e)))),
            (prop::sample::select(ops.to_vec()), inner.clone(), inner.clone())
                .prop_map(|(op, l, r)| node(ExprKind::Binary { op, lhs: Box::new(l), rhs: Box::new(r) })),
            (ident(), prop::collection::vec(inner, 0..3))
                .prop_map(|(func, args)| node(ExprKind::Call { func, args })),
        ]
    })
}

/// Spans differ between a generated tree and a parsed one; compare the printed forms instead.
fn canonical(e: &Expr) -> String {
    e.to_string()
}

proptest! {
    #[test]
    fn parser_never_panics(src in "\\PC{0,64}") {
        let _ = parse(&src);
        let _ = templates(&src);
    }

    #[test]
    fn parser_never_panics_on_expression_alphabet(src in "[a-z.()\\[\\]!=<>&|',* 0-9-]{0,64}") {
        if let Ok(e) = parse(&src) {
            // Every span lies within the source.
            e.walk(&mut |n| assert!(n.span.start <= n.span.end && n.span.end <= src.len()));
        }
    }

    #[test]
    fn print_then_parse_round_trips(e in expr()) {
        let printed = canonical(&e);
        let parsed = parse(&printed).map_err(|err| TestCaseError::fail(format!("{printed}: {err}")))?;
        prop_assert_eq!(canonical(&parsed), printed);
    }

    #[test]
    fn templates_are_found_where_they_are(prefix in "[^$]{0,10}", inner in "[a-z. ]{1,20}", suffix in "[^$]{0,10}") {
        let text = format!("{prefix}${{{{{inner}}}}}{suffix}");
        let found = templates(&text);
        prop_assert_eq!(found.len(), 1);
        prop_assert_eq!(found[0].inner, inner.as_str());
        prop_assert_eq!(found[0].start, prefix.len());
    }
}
