//! `tools.bash` applied to what a command line would run.

use policy::{BashRules, CommandRule, ToolVerdict};
use shellparse::{Analysis, Arg, Command};

/// One finding: the verdict a rule gives and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub verdict: ToolVerdict,
    pub reason: String,
}

/// Options that take a value before the subcommand, per program, so `git -C dir push` is `push`.
const VALUE_OPTIONS: &[(&str, &[&str])] = &[
    (
        "git",
        &[
            "-C",
            "-c",
            "--git-dir",
            "--work-tree",
            "--namespace",
            "--super-prefix",
            "--config-env",
            "--exec-path",
        ],
    ),
    ("gh", &["-R", "--repo", "--hostname"]),
    ("docker", &["-H", "--host", "--context", "-c", "--config", "-l", "--log-level"]),
    ("kubectl", &["-n", "--namespace", "--context", "--cluster", "--kubeconfig", "-s", "--server", "--user"]),
    ("cargo", &["--manifest-path", "-Z", "--config", "-C", "--color"]),
    ("npm", &["--prefix", "-w", "--workspace"]),
];

/// How a rule relates to a command.
enum Match {
    Yes,
    No,
    /// The words the rule needs are computed at run time.
    Unknown(String),
}

fn rule_matches(rule: &CommandRule, c: &Command) -> Match {
    if rule.program != c.program {
        return Match::No;
    }
    let opts = VALUE_OPTIONS.iter().find(|(p, _)| *p == c.program).map_or(&[][..], |(_, o)| *o);
    let mut i = 0;
    for want in &rule.subcommand {
        loop {
            match c.args.get(i) {
                None => return Match::No,
                Some(Arg::Dynamic(t)) => return Match::Unknown(t.clone()),
                Some(Arg::Lit(a)) if a.starts_with('-') && a.len() > 1 => {
                    i += if opts.contains(&a.as_str()) { 2 } else { 1 };
                }
                Some(Arg::Lit(a)) => {
                    if a != want {
                        return Match::No;
                    }
                    i += 1;
                    break;
                }
            }
        }
    }
    Match::Yes
}

fn via(c: &Command) -> String {
    if c.via.is_empty() { String::new() } else { format!(" (run through {})", c.via.join(" → ")) }
}

/// Every finding the rules give for one analysed command line.
pub fn findings(rules: &BashRules, unseen_verdict: ToolVerdict, a: &Analysis) -> Vec<Finding> {
    let mut out = Vec::new();
    let any_rule = !(rules.deny.is_empty() && rules.ask.is_empty() && rules.allow.is_empty());
    if !any_rule {
        return out;
    }
    for c in &a.commands {
        for (list, verdict, name) in
            [(&rules.deny, ToolVerdict::Deny, "deny"), (&rules.ask, ToolVerdict::Ask, "ask")]
        {
            for rule in list {
                match rule_matches(rule, c) {
                    Match::Yes => out.push(Finding { verdict, reason: format!("`{rule}` is in tools.bash.{name}{}", via(c)) }),
                    Match::Unknown(t) => out.push(Finding {
                        verdict: unseen_verdict,
                        reason: format!("`{}` is followed by `{t}`, computed at run time, so the hook cannot tell whether it is `{rule}` (tools.bash.{name})", c.program),
                    }),
                    Match::No => {}
                }
            }
        }
        if !rules.allow.is_empty() && !rules.allow.iter().any(|r| matches!(rule_matches(r, c), Match::Yes)) {
            out.push(Finding {
                verdict: rules.otherwise,
                reason: format!("`{}` is not in tools.bash.allow{}", c.program, via(c)),
            });
        }
    }
    for code in &a.inline_code {
        let tokens: Vec<&str> = code
            .code
            .split(|ch: char| !(ch.is_alphanumeric() || "._-".contains(ch)))
            .filter(|t| !t.is_empty())
            .collect();
        for rule in rules.deny.iter().chain(&rules.ask) {
            let named =
                std::iter::once(&rule.program).chain(&rule.subcommand).all(|w| tokens.contains(&w.as_str()));
            if named {
                out.push(Finding {
                    verdict: unseen_verdict,
                    reason: format!(
                        "inline {} code names `{rule}`; the hook cannot follow what that code runs",
                        code.interpreter
                    ),
                });
            }
        }
    }
    for u in &a.unseen {
        out.push(Finding {
            verdict: unseen_verdict,
            reason: format!("cannot see what will run: {}", u.what),
        });
    }
    out
}
