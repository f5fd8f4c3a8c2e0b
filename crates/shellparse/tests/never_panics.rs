//! Whatever the text, `analyze` answers (a parse error is an answer); it never panics.

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_text(src in "\\PC{0,200}") {
        let _ = shellparse::analyze(&src);
    }

    #[test]
    fn shell_shaped_text(src in "([a-z$'\"`\\\\(){}|&;<> =\\-\\n#*?\\[\\]!~]|curl|bash -c |eval |<<EOF\\n|\\$'\\\\x63'|\\$\\(|xargs |find -exec ){0,40}") {
        let _ = shellparse::analyze(&src);
    }

    #[test]
    fn deep_nesting(n in 0usize..400) {
        let src = format!("{}curl{}", "$(".repeat(n), ")".repeat(n));
        let _ = shellparse::analyze(&src);
        let src = format!("{}curl{}", "bash -c \"".repeat(n.min(80)), "\"".repeat(n.min(80)));
        let _ = shellparse::analyze(&src);
    }
}

/// The grammar's scanner handed non-ASCII characters to C's `isdigit` after a `{`; that crashed.
#[test]
fn non_ascii_after_a_brace_does_not_crash_the_scanner() {
    for src in ["{é", "echo {ä..", "x {\u{10ffff}", "{\u{a0}curl"] {
        let _ = shellparse::analyze(src);
    }
    let a = shellparse::analyze("écho x; curl y").unwrap();
    assert_eq!(a.commands[0].program, "écho");
    assert_eq!(a.commands[1].program, "curl");
}
