//! Programs that run their arguments as a command, and where in their arguments that command
//! starts. Each entry says which options take a value (so the value is not mistaken for the
//! command) and how many operands come before the command.

use crate::Arg;
use crate::interp;

/// What a wrapper will run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Runs this argument vector (program first).
    Exec(Vec<Arg>),
    /// Runs this text as a shell script; the label names the wrapper for messages.
    Shell(Arg, String),
    /// A shell that reads its script from standard input.
    ShellStdin(String),
    /// Inline code for an interpreter.
    Inline(String, Arg),
    /// An interpreter that reads its program from standard input.
    InlineStdin(String),
    /// Will run something that cannot be known before it does.
    Unseen(String),
}

/// Shells that take `-c STRING` and otherwise read a script file or standard input.
const SHELLS: &[&str] = &[
    "sh",
    "bash",
    "zsh",
    "dash",
    "ksh",
    "ash",
    "mksh",
    "yash",
    "posh",
    "rbash",
    "fish",
    "tcsh",
    "csh",
    "busybox-sh",
    "oksh",
    "loksh",
];

/// `(program, options taking a value, operands before the command)`.
const EXEC_WRAPPERS: &[(&str, &[&str], usize)] = &[
    (
        "sudo",
        &[
            "-u",
            "-g",
            "-h",
            "-p",
            "-C",
            "-D",
            "-r",
            "-t",
            "-U",
            "-T",
            "--user",
            "--group",
            "--host",
            "--prompt",
            "--close-from",
            "--chdir",
            "--role",
            "--type",
            "--other-user",
            "--command-timeout",
        ],
        0,
    ),
    ("doas", &["-u", "-C"], 0),
    ("timeout", &["-s", "-k", "--signal", "--kill-after"], 1),
    ("nice", &["-n", "--adjustment"], 0),
    ("ionice", &["-c", "-n", "-p", "-P", "-u", "--class", "--classdata", "--pid", "--pgid", "--uid"], 0),
    ("nohup", &[], 0),
    ("setsid", &[], 0),
    ("stdbuf", &["-i", "-o", "-e", "--input", "--output", "--error"], 0),
    ("unbuffer", &[], 0),
    ("time", &["-o", "-f", "--output", "--format"], 0),
    ("chrt", &[], 1),
    ("taskset", &[], 1),
    ("chroot", &["--userspec", "--groups"], 1),
    ("nsenter", &["-t", "--target", "-S", "--setuid", "-G", "--setgid", "-w", "--wd"], 0),
    ("unshare", &["--map-user", "--map-group", "--setuid", "--setgid", "-S", "-G", "-w", "--wd"], 0),
    ("strace", &["-o", "-e", "-p", "-s", "-u", "-E", "-a", "-b", "-I", "-O", "-P", "-S", "-X"], 0),
    ("ltrace", &["-o", "-e", "-p", "-s", "-u", "-n", "-a", "-A", "-D", "-l", "-L", "-x"], 0),
    ("valgrind", &[], 0),
    ("builtin", &[], 0),
    ("noglob", &[], 0),
    ("coproc", &[], 0),
    ("exec", &["-a"], 0),
    ("caffeinate", &["-t", "-w"], 0),
    ("proxychains", &["-f"], 0),
    ("proxychains4", &["-f"], 0),
    ("torsocks", &["-u", "-p", "-a", "-P"], 0),
    ("firejail", &[], 0),
    ("faketime", &["-f"], 1),
    (
        "xvfb-run",
        &["-n", "-s", "-f", "-e", "-p", "--server-num", "--server-args", "--auth-file", "--error-file"],
        0,
    ),
    ("dbus-run-session", &[], 0),
    ("runuser", &["-u", "-g", "-G", "--user", "--group", "--supp-group"], 0),
    ("catchsegv", &[], 0),
    (
        "systemd-run",
        &["-p", "-u", "-E", "--unit", "--property", "--setenv", "--uid", "--gid", "-M", "--machine"],
        0,
    ),
];

/// Environment variables whose value a program runs as a shell command.
pub const SHELL_VARS: &[&str] = &[
    "GIT_SSH_COMMAND",
    "GIT_SSH",
    "GIT_PAGER",
    "PAGER",
    "GIT_EDITOR",
    "EDITOR",
    "VISUAL",
    "GIT_EXTERNAL_DIFF",
    "GIT_ASKPASS",
    "SSH_ASKPASS",
    "PROMPT_COMMAND",
    "GIT_SEQUENCE_EDITOR",
    "MANPAGER",
    "SYSTEMD_PAGER",
    "LESSOPEN",
];

/// Environment variables that make a shell or the loader run code from elsewhere first.
pub const HIDDEN_CODE_VARS: &[&str] =
    &["BASH_ENV", "ENV", "LD_PRELOAD", "LD_AUDIT", "PERL5OPT", "NODE_OPTIONS", "PYTHONSTARTUP", "RUBYOPT"];

pub fn is_shell(program: &str) -> bool {
    SHELLS.contains(&program)
}

/// The commands a program runs through its arguments, if it is a wrapper.
pub fn unwrap(program: &str, args: &[Arg]) -> Vec<Step> {
    if let Some((_, opts, operands)) = EXEC_WRAPPERS.iter().find(|(p, _, _)| *p == program) {
        return after_options(program, args, opts, *operands);
    }
    if is_shell(program) {
        return shell(program, args);
    }
    match program {
        "env" => env(args),
        "command" => command(args),
        "xargs" => xargs(args),
        "find" => find(args),
        "watch" => watch(args),
        "busybox" | "toybox" => match args.first() {
            Some(Arg::Lit(a)) if a.starts_with('-') => vec![],
            Some(_) => vec![Step::Exec(args.to_vec())],
            None => vec![],
        },
        "eval" => match join(args) {
            Some(s) => vec![Step::Shell(Arg::Lit(s), "eval".into())],
            None => vec![Step::Unseen(format!("eval runs text computed at run time: `{}`", show(args)))],
        },
        "source" | "." => match args.first() {
            Some(Arg::Dynamic(t)) => vec![Step::Unseen(format!("{program} runs the output of `{t}`"))],
            _ => vec![],
        },
        "git" => git(args),
        "flock" => flock(args),
        "script" => option_string(program, args, &["-c", "--command"]).into_iter().collect(),
        "su" | "sg" => option_string(program, args, &["-c", "--command"]).into_iter().collect(),
        "parallel" => parallel(args),
        "alias" => args
            .iter()
            .filter_map(|a| match a {
                Arg::Lit(s) => {
                    s.split_once('=').map(|(_, v)| Step::Shell(Arg::Lit(v.into()), "alias".into()))
                }
                Arg::Dynamic(t) => Some(Step::Unseen(format!("alias defined from `{t}`"))),
            })
            .collect(),
        _ => interp::inline(program, args),
    }
}

/// Skips options (and the values of those that take one) and `operands` operands; the rest is
/// the command. An option computed at run time could be the command itself, so it is unseen.
fn after_options(program: &str, args: &[Arg], value_opts: &[&str], operands: usize) -> Vec<Step> {
    let mut i = 0;
    while i < args.len() {
        let Arg::Lit(a) = &args[i] else {
            if matches!(program, "sudo" | "doas") && is_assignment(&args[i]) {
                i += 1;
                continue;
            }
            if operands == 0 {
                break;
            }
            return vec![Step::Unseen(format!(
                "{program} is given `{}` where its options end",
                show(&args[i..=i])
            ))];
        };
        if a == "--" {
            i += 1;
            break;
        }
        if !a.starts_with('-') || a == "-" {
            // sudo and env take NAME=VALUE before the command.
            if a.contains('=') && matches!(program, "sudo" | "doas") {
                i += 1;
                continue;
            }
            break;
        }
        i += if takes_value(a, value_opts) { 2 } else { 1 };
    }
    let start = i + operands;
    if start < args.len() { vec![Step::Exec(args[start..].to_vec())] } else { vec![] }
}

/// Whether this option token consumes the next argument as its value.
fn takes_value(a: &str, value_opts: &[&str]) -> bool {
    if a.starts_with("--") {
        return !a.contains('=') && value_opts.contains(&a);
    }
    // A short cluster such as `-iu` ends in the option that takes the value; `-uroot` carries it.
    let last = a.chars().last().map(|c| format!("-{c}"));
    value_opts.contains(&a)
        || last.is_some_and(|l| {
            a.len() > 2
                && value_opts.contains(&l.as_str())
                && !a[1..a.len() - 1].chars().any(|c| value_opts.contains(&format!("-{c}").as_str()))
        })
}

fn env(args: &[Arg]) -> Vec<Step> {
    let mut steps = vec![];
    let mut i = 0;
    while i < args.len() {
        match &args[i] {
            Arg::Lit(a) if a == "--" => {
                i += 1;
                break;
            }
            Arg::Lit(a) if a == "-S" || a == "--split-string" => {
                // The value is split into words and becomes the start of the command.
                if let Some(v) = args.get(i + 1) {
                    steps.push(Step::Shell(v.clone(), "env -S".into()));
                }
                return steps;
            }
            Arg::Lit(a) if a.starts_with("-S") || a.starts_with("--split-string=") => {
                let v = a.trim_start_matches("--split-string=").trim_start_matches("-S");
                steps.push(Step::Shell(Arg::Lit(v.into()), "env -S".into()));
                return steps;
            }
            Arg::Lit(a) if matches!(a.as_str(), "-u" | "--unset" | "-C" | "--chdir") => i += 2,
            Arg::Lit(a) if a.starts_with('-') && a.len() > 1 => i += 1,
            Arg::Lit(a) if a.contains('=') => {
                steps.extend(assignment_steps(a));
                i += 1;
            }
            // `env "PATH=$PATH" make`: an assignment with a computed value is still not the command,
            // unless it sets a variable that runs code.
            dynamic @ Arg::Dynamic(t) if is_assignment(dynamic) => {
                let name = t.trim_start_matches(['"', '\'']).split('=').next().unwrap_or("");
                if SHELL_VARS.contains(&name) || HIDDEN_CODE_VARS.contains(&name) {
                    steps.push(Step::Unseen(format!("env sets {name} to text computed at run time")));
                }
                i += 1;
            }
            _ => break,
        }
    }
    if i < args.len() {
        steps.push(Step::Exec(args[i..].to_vec()));
    }
    steps
}

/// `NAME=VALUE` given to a program's environment: some names make the program run VALUE.
pub fn assignment_steps(assignment: &str) -> Vec<Step> {
    let Some((name, value)) = assignment.split_once('=') else { return vec![] };
    if SHELL_VARS.contains(&name) {
        return vec![Step::Shell(Arg::Lit(value.into()), name.into())];
    }
    if HIDDEN_CODE_VARS.contains(&name) && !value.is_empty() {
        return vec![Step::Unseen(format!("{name} makes the next program load code the hook cannot read"))];
    }
    vec![]
}

fn command(args: &[Arg]) -> Vec<Step> {
    let mut i = 0;
    while let Some(Arg::Lit(a)) = args.get(i) {
        if a == "-v" || a == "-V" {
            return vec![]; // only looks the name up
        }
        if a == "--" {
            i += 1;
            break;
        }
        if !a.starts_with('-') {
            break;
        }
        i += 1;
    }
    if i < args.len() { vec![Step::Exec(args[i..].to_vec())] } else { vec![] }
}

fn shell(program: &str, args: &[Arg]) -> Vec<Step> {
    let mut command_mode = false;
    let mut stdin_mode = false;
    let mut i = 0;
    while i < args.len() {
        let Arg::Lit(a) = &args[i] else {
            return vec![Step::Unseen(format!(
                "{program} is given `{}` computed at run time",
                show(&args[i..=i])
            ))];
        };
        if a == "--" || a == "-" {
            i += 1;
            break;
        }
        if matches!(a.as_str(), "-o" | "+o" | "-O" | "+O" | "--rcfile" | "--init-file") {
            i += 2;
            continue;
        }
        if a == "--command" || (program == "fish" && a == "-c") {
            command_mode = true;
            i += 1;
            break;
        }
        if let Some(rest) = a.strip_prefix("--") {
            if let Some(v) = rest.strip_prefix("command=") {
                return vec![Step::Shell(Arg::Lit(v.into()), format!("{program} -c"))];
            }
            i += 1;
            continue;
        }
        if (a.starts_with('-') || a.starts_with('+')) && a.len() > 1 {
            command_mode |= a.starts_with('-') && a.contains('c');
            stdin_mode |= a.starts_with('-') && a.contains('s');
            i += 1;
            continue;
        }
        break;
    }
    let label = format!("{program} -c");
    if command_mode {
        return match args.get(i) {
            Some(script) => vec![Step::Shell(script.clone(), label)],
            None => vec![Step::Unseen(format!("{program} -c without a script"))],
        };
    }
    match args.get(i) {
        Some(_) if !stdin_mode => match &args[i] {
            // A script file: its content is not the command line's; the fence still holds.
            Arg::Lit(_) => vec![],
            Arg::Dynamic(t) => {
                vec![Step::Unseen(format!("{program} runs the script `{t}`, computed at run time"))]
            }
        },
        _ => vec![Step::ShellStdin(program.into())],
    }
}

fn xargs(args: &[Arg]) -> Vec<Step> {
    const VALUE: &[&str] = &[
        "-a",
        "-d",
        "-E",
        "-I",
        "-L",
        "-n",
        "-P",
        "-s",
        "--arg-file",
        "--delimiter",
        "--eof",
        "--replace",
        "--max-lines",
        "--max-args",
        "--max-procs",
        "--max-chars",
        "--process-slot-var",
    ];
    let mut replace: Option<String> = None;
    let mut i = 0;
    while let Some(Arg::Lit(a)) = args.get(i) {
        if a == "--" {
            i += 1;
            break;
        }
        if !a.starts_with('-') || a == "-" {
            break;
        }
        if a == "-I" || a == "--replace" {
            replace = args.get(i + 1).and_then(|r| r.lit()).map(str::to_string);
        } else if let Some(r) = a.strip_prefix("-I").or(a.strip_prefix("--replace=")) {
            replace = Some(r.to_string());
        } else if a == "-i" {
            replace = Some("{}".into());
        }
        i += if takes_value(a, VALUE) { 2 } else { 1 };
    }
    if matches!(args.get(i), Some(Arg::Dynamic(_))) {
        return vec![Step::Unseen(format!("xargs runs `{}`, computed at run time", show(&args[i..=i])))];
    }
    let mut argv: Vec<Arg> = if i < args.len() { args[i..].to_vec() } else { vec![Arg::Lit("echo".into())] };
    match replace {
        Some(r) if !r.is_empty() => {
            for a in argv.iter_mut() {
                if a.lit().is_some_and(|s| s.contains(r.as_str())) {
                    *a = Arg::Dynamic(format!("items xargs reads in place of {r}"));
                }
            }
        }
        _ => argv.push(Arg::Dynamic("items xargs reads".into())),
    }
    vec![Step::Exec(argv)]
}

fn find(args: &[Arg]) -> Vec<Step> {
    let mut steps = vec![];
    let mut i = 0;
    while i < args.len() {
        let is_exec = args[i].lit().is_some_and(|a| matches!(a, "-exec" | "-execdir" | "-ok" | "-okdir"));
        i += 1;
        if !is_exec {
            continue;
        }
        let mut argv = vec![];
        while i < args.len() && !args[i].lit().is_some_and(|a| a == ";" || a == "+") {
            argv.push(match &args[i] {
                Arg::Lit(a) if a.contains("{}") => Arg::Dynamic("a path find found".into()),
                other => other.clone(),
            });
            i += 1;
        }
        steps.push(Step::Exec(argv));
    }
    steps
}

fn watch(args: &[Arg]) -> Vec<Step> {
    const VALUE: &[&str] = &["-n", "--interval", "-q", "--equexit", "--differences"];
    let mut exec = false;
    let mut i = 0;
    while let Some(Arg::Lit(a)) = args.get(i) {
        if a == "--" {
            i += 1;
            break;
        }
        if !a.starts_with('-') {
            break;
        }
        exec |= a == "-x" || a == "--exec" || (!a.starts_with("--") && a.contains('x'));
        i += if takes_value(a, VALUE) { 2 } else { 1 };
    }
    if i >= args.len() {
        return vec![];
    }
    if exec {
        return vec![Step::Exec(args[i..].to_vec())];
    }
    // Without -x watch joins its arguments and hands them to `sh -c`.
    match join(&args[i..]) {
        Some(s) => vec![Step::Shell(Arg::Lit(s), "watch".into())],
        None => vec![Step::Unseen(format!("watch runs text computed at run time: `{}`", show(&args[i..])))],
    }
}

/// `git -c alias.x=!cmd x`, `git -c core.pager=cmd`, `git -c alias.p=push p`.
fn git(args: &[Arg]) -> Vec<Step> {
    let mut steps = vec![];
    let mut aliases: Vec<(String, String)> = vec![];
    let mut i = 0;
    while let Some(a) = args.get(i) {
        let Arg::Lit(a) = a else {
            return vec![Step::Unseen(format!("git is given `{}` computed at run time", show(&args[i..=i])))];
        };
        if !a.starts_with('-') {
            break;
        }
        if a == "-c" {
            match args.get(i + 1) {
                Some(Arg::Lit(kv)) => steps.extend(git_config(kv, &mut aliases)),
                Some(Arg::Dynamic(t)) => {
                    steps.push(Step::Unseen(format!("git -c `{t}` is computed at run time")))
                }
                None => {}
            }
            i += 2;
            continue;
        }
        if a.starts_with("--config-env") {
            steps.push(Step::Unseen("git --config-env takes configuration from the environment".into()));
        }
        i += if matches!(
            a.as_str(),
            "-C" | "--git-dir"
                | "--work-tree"
                | "--namespace"
                | "--exec-path"
                | "--super-prefix"
                | "--config-env"
        ) {
            2
        } else {
            1
        };
    }
    if let Some(Arg::Lit(sub)) = args.get(i)
        && let Some((_, v)) = aliases.iter().rev().find(|(n, _)| n == sub)
    {
        let mut argv = vec![Arg::Lit("git".into())];
        argv.extend(v.split_whitespace().map(|w| Arg::Lit(w.into())));
        argv.extend(args[i + 1..].iter().cloned());
        steps.push(Step::Exec(argv));
    }
    steps
}

/// Configuration keys whose value git runs with a shell.
fn git_config(kv: &str, aliases: &mut Vec<(String, String)>) -> Vec<Step> {
    let Some((key, value)) = kv.split_once('=') else { return vec![] };
    let key = key.to_ascii_lowercase();
    if let Some(name) = key.strip_prefix("alias.") {
        if let Some(cmd) = value.strip_prefix('!') {
            return vec![Step::Shell(Arg::Lit(cmd.into()), format!("git alias {name}"))];
        }
        aliases.push((name.to_string(), value.to_string()));
        return vec![];
    }
    let runs = [
        "pager",
        "editor",
        "sshcommand",
        "fsmonitor",
        "askpass",
        "helper",
        "external",
        "program",
        "textconv",
        "command",
        "clean",
        "smudge",
        "process",
        "proxy",
    ];
    if key == "core.hookspath" {
        return vec![Step::Unseen(
            "git -c core.hooksPath runs hooks from a directory the hook cannot read".into(),
        )];
    }
    if runs.iter().any(|r| key.rsplit('.').next().is_some_and(|last| last.contains(r))) {
        let cmd = value.strip_prefix('!').unwrap_or(value);
        return vec![Step::Shell(Arg::Lit(cmd.into()), format!("git -c {key}"))];
    }
    vec![]
}

fn flock(args: &[Arg]) -> Vec<Step> {
    if let Some(step) = option_string("flock", args, &["-c", "--command"]) {
        return vec![step];
    }
    after_options("flock", args, &["-w", "-E", "--timeout", "--conflict-exit-code"], 1)
}

fn parallel(args: &[Arg]) -> Vec<Step> {
    let end = args.iter().position(|a| a.lit().is_some_and(|s| s.starts_with(":::"))).unwrap_or(args.len());
    let cmd = &args[..end];
    let start = cmd.iter().position(|a| !a.lit().is_some_and(|s| s.starts_with('-'))).unwrap_or(cmd.len());
    if start >= cmd.len() {
        return vec![Step::Unseen("parallel runs commands it reads from its input".into())];
    }
    match join(&cmd[start..]) {
        Some(s) => vec![Step::Shell(Arg::Lit(s), "parallel".into())],
        None => vec![Step::Unseen(format!("parallel runs `{}`", show(&cmd[start..])))],
    }
}

/// `PROGRAM … -c STRING …`: STRING is a shell command.
fn option_string(program: &str, args: &[Arg], flags: &[&str]) -> Option<Step> {
    let i = args.iter().position(|a| a.lit().is_some_and(|s| flags.contains(&s)))?;
    Some(match args.get(i + 1) {
        Some(v) => Step::Shell(v.clone(), format!("{program} -c")),
        None => Step::Unseen(format!("{program} -c without a command")),
    })
}

/// `NAME=…`, written literally or with a computed value (`"PATH=$PATH"`).
fn is_assignment(arg: &Arg) -> bool {
    let text = match arg {
        Arg::Lit(s) => s.as_str(),
        Arg::Dynamic(t) => t.trim_start_matches(['"', '\'']),
    };
    let Some((name, _)) = text.split_once('=') else { return false };
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The arguments joined by spaces, as `eval` and `watch` join them, if all are known.
pub fn join(args: &[Arg]) -> Option<String> {
    let parts: Option<Vec<&str>> = args.iter().map(Arg::lit).collect();
    parts.map(|p| p.join(" "))
}

pub fn show(args: &[Arg]) -> String {
    args.iter()
        .map(|a| match a {
            Arg::Lit(s) | Arg::Dynamic(s) => s.as_str(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}
