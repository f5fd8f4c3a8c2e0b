//! Interpreters given their program inline. The hook cannot follow Python or JavaScript; it hands
//! the code to its caller, which looks for the names it forbids.

use crate::Arg;
use crate::wrappers::Step;

/// `(interpreter, flags whose value is code, options taking another kind of value)`.
const INTERPRETERS: &[(&str, &[char], &[&str])] = &[
    ("python", &['c'], &["-W", "-X", "-Q"]),
    ("pypy", &['c'], &["-W", "-X"]),
    ("node", &['e', 'p'], &["-r", "--require", "--import", "--loader"]),
    ("nodejs", &['e', 'p'], &["-r", "--require"]),
    ("bun", &['e'], &[]),
    ("perl", &['e', 'E'], &["-I", "-M", "-m"]),
    ("ruby", &['e'], &["-I", "-r"]),
    ("php", &['r'], &["-d", "-c"]),
    ("lua", &['e'], &["-l"]),
    ("luajit", &['e'], &["-l"]),
    ("Rscript", &['e'], &[]),
    ("osascript", &['e'], &[]),
    ("tclsh", &[], &[]),
];

const AWKS: &[&str] = &["awk", "gawk", "mawk", "nawk"];

/// The name an interpreter is known by: `python3.12` and `python3` are `python`.
fn family(program: &str) -> Option<&'static (&'static str, &'static [char], &'static [&'static str])> {
    INTERPRETERS.iter().find(|(name, _, _)| {
        program == *name
            || program
                .strip_prefix(name)
                .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_digit() || c == '.'))
    })
}

pub fn inline(program: &str, args: &[Arg]) -> Vec<Step> {
    if AWKS.contains(&program) {
        return awk(program, args);
    }
    if program == "deno" && args.first().and_then(Arg::lit) == Some("eval") {
        return args.get(1).map(|c| vec![Step::Inline(program.into(), c.clone())]).unwrap_or_default();
    }
    let Some((_, code_flags, value_opts)) = family(program) else {
        return vec![];
    };
    let mut steps = vec![];
    let mut i = 0;
    while i < args.len() {
        let Arg::Lit(a) = &args[i] else {
            steps.push(Step::Unseen(format!(
                "{program} is given `{}` computed at run time",
                crate::wrappers::show(&args[i..=i])
            )));
            return steps;
        };
        if a == "-" {
            return vec![Step::InlineStdin(program.into())];
        }
        if !a.starts_with('-') || a == "--" {
            return steps; // a script file or module arguments
        }
        if matches!(a.as_str(), "--eval" | "--print") {
            steps.extend(args.get(i + 1).map(|c| Step::Inline(program.into(), c.clone())));
            i += 2;
            continue;
        }
        if a == "-m" && program.starts_with("python") {
            return steps;
        }
        if value_opts.contains(&a.as_str()) {
            i += 2;
            continue;
        }
        // A cluster such as `-lne` or `-Bc`: the code flag takes the rest or the next argument.
        if !a.starts_with("--")
            && let Some(pos) = a[1..].find(|c| code_flags.contains(&c))
        {
            let rest = &a[pos + 2..];
            if rest.is_empty() {
                steps.extend(args.get(i + 1).map(|c| Step::Inline(program.into(), c.clone())));
                i += 2;
            } else {
                steps.push(Step::Inline(program.into(), Arg::Lit(rest.into())));
                i += 1;
            }
            continue;
        }
        i += 1;
    }
    if steps.is_empty() {
        steps.push(Step::InlineStdin(program.into()));
    }
    steps
}

/// An awk program is inline code; only the parts that start processes (`system`, pipes,
/// `getline` from a command) can run a program, so only such programs are handed on.
fn awk(program: &str, args: &[Arg]) -> Vec<Step> {
    let mut i = 0;
    while let Some(Arg::Lit(a)) = args.get(i) {
        if a == "-f" || a.starts_with("--file") {
            return vec![];
        }
        if a == "--" {
            i += 1;
            break;
        }
        if !a.starts_with('-') {
            break;
        }
        i += if matches!(a.as_str(), "-F" | "-v" | "--assign" | "--field-separator") { 2 } else { 1 };
    }
    match args.get(i) {
        Some(Arg::Lit(code)) if code.contains("system") || code.contains('|') => {
            vec![Step::Inline(program.into(), Arg::Lit(code.clone()))]
        }
        Some(Arg::Dynamic(t)) => {
            vec![Step::Unseen(format!("{program} runs a program computed at run time: `{t}`"))]
        }
        _ => vec![],
    }
}
