//! The walk over a parsed command line: every `command` node anywhere in the tree (inside lists,
//! pipelines, subshells, groups, substitutions, function bodies, loops), with what its standard
//! input carries, so that a shell fed by a pipe or a here-document is followed too.

use std::collections::HashMap;
use tree_sitter::{Node, Parser};

use crate::words::{self, Var, text};
use crate::wrappers::{self, Step};
use crate::{Analysis, Arg, Command, InlineCode, MAX_DEPTH, MAX_INPUT, ParseError, Unseen};

/// Variables known at the start of a text (a nested `bash -c` sees its parent's).
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub vars: HashMap<String, Var>,
    pub ifs_changed: bool,
}

/// What a command's standard input carries.
#[derive(Debug, Clone)]
enum Stdin {
    None,
    Literal(String),
    Dynamic(String),
}

/// Parses `src` and adds what it runs to `out`.
pub fn analyze_into(
    src: &str,
    outer: &Scope,
    depth: usize,
    via: &[String],
    out: &mut Analysis,
) -> Result<(), ParseError> {
    analyze_at(src, outer, depth, 0, via, out)
}

/// `base` is how deep in the outer text's tree the nested text sits: nesting through strings
/// and through syntax share one bound, so the stack stays small whatever the input.
fn analyze_at(
    src: &str,
    outer: &Scope,
    depth: usize,
    base: usize,
    via: &[String],
    out: &mut Analysis,
) -> Result<(), ParseError> {
    if src.len() > MAX_INPUT {
        return Err(ParseError::TooLarge(src.len()));
    }
    let mut parser = Parser::new();
    parser.set_language(&tree_sitter_bash::LANGUAGE.into()).map_err(|_| ParseError::Grammar)?;
    let tree = parser.parse(ascii_shadow(src), None).ok_or(ParseError::Grammar)?;
    let root = tree.root_node();
    if root.has_error() {
        return Err(ParseError::Syntax(first_error(root).unwrap_or(0)));
    }
    let mut scope = outer.clone();
    // Values inherited from a parent text were assigned before this text starts.
    for v in scope.vars.values_mut() {
        if let Var::Known(_, first) = v {
            *first = 0;
        }
    }
    collect_assignments(root, src, &mut scope, base);
    let mut walker = Walker { src, scope, depth, via: via.to_vec(), out, level: base };
    walker.node(root, &Stdin::None, base);
    Ok(())
}

/// The grammar's scanner passes characters beyond ASCII to C's `isdigit` and `isalpha`, which
/// read outside their tables for them (a crash the fuzz target found). Bash treats every such byte
/// as part of a word, as it does a letter, so the tree is built over a copy with each of those
/// bytes replaced by `a`: same byte offsets, same words, and the values are read from `src`.
fn ascii_shadow(src: &str) -> String {
    src.bytes().map(|b| if b.is_ascii() { b as char } else { 'a' }).collect()
}

/// Where the first error is, found without recursion (the tree may be very deep).
fn first_error(root: Node) -> Option<usize> {
    let mut node = root;
    loop {
        if node.is_error() || node.is_missing() {
            return Some(node.start_byte());
        }
        let mut cursor = node.walk();
        let next = node.children(&mut cursor).find(|c| c.has_error());
        node = next?;
    }
}

/// Every variable the text assigns, before the walk, so a use anywhere sees every literal value.
fn collect_assignments(node: Node, src: &str, scope: &mut Scope, level: usize) {
    if level > MAX_LEVEL {
        return;
    }
    match node.kind() {
        "variable_assignment" => {
            if let Some(name) = node.child_by_field_name("name").filter(|n| n.kind() == "variable_name") {
                let name = text(name, src).to_string();
                let append = text(node, src).get(name.len()..).is_some_and(|t| t.starts_with("+="));
                let value = match node.child_by_field_name("value") {
                    None => Some(String::new()),
                    Some(v) => words::value(v, src, &HashMap::new()).single().map(str::to_string),
                };
                let declared_ref = node.parent().is_some_and(|p| {
                    p.kind() == "declaration_command"
                        && text(p, src).split_whitespace().any(|w| w.starts_with('-') && w.contains('n'))
                });
                assign(scope, &name, if append || declared_ref { None } else { value }, node.start_byte());
            }
        }
        "for_statement" => {
            if let Some(var) = node.child_by_field_name("variable") {
                let name = text(var, src).to_string();
                let mut cursor = node.walk();
                let values: Vec<Node> = node.children_by_field_name("value", &mut cursor).collect();
                if values.is_empty() {
                    assign(scope, &name, None, node.start_byte());
                }
                for v in values {
                    let single = words::value(v, src, &HashMap::new()).single().map(str::to_string);
                    assign(scope, &name, single, node.start_byte());
                }
            }
        }
        "command" => {
            // Builtins that set a variable from input or arithmetic.
            let name = node.child_by_field_name("name").map(|n| text(n, src)).unwrap_or("");
            if matches!(
                name,
                "read"
                    | "mapfile"
                    | "readarray"
                    | "getopts"
                    | "printf"
                    | "let"
                    | "select"
                    | "declare"
                    | "typeset"
                    | "local"
                    | "export"
            ) {
                let mut cursor = node.walk();
                for arg in node.children_by_field_name("argument", &mut cursor) {
                    let t = text(arg, src);
                    let ident = t.split(['=', '+', '[']).next().unwrap_or("");
                    if !ident.is_empty() && ident.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                        assign(scope, ident, None, node.start_byte());
                    }
                }
            }
        }
        "c_style_for_statement" | "arithmetic_expansion" => {
            let mut cursor = node.walk();
            for n in node.named_children(&mut cursor) {
                if n.kind() == "variable_name" {
                    assign(scope, text(n, src), None, node.start_byte());
                }
            }
        }
        _ => {}
    }
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        collect_assignments(child, src, scope, level + 1);
    }
}

fn assign(scope: &mut Scope, name: &str, value: Option<String>, at: usize) {
    if name == "IFS" {
        scope.ifs_changed = true;
    }
    let entry = scope.vars.entry(name.to_string()).or_insert(Var::Known(vec![], at));
    match (entry, value) {
        (Var::Known(values, first), Some(v)) => {
            *first = (*first).min(at);
            if !values.contains(&v) {
                values.push(v);
            }
        }
        (entry, _) => *entry = Var::Unknown,
    }
}

/// How deep the walk goes through syntax and nested scripts together; past it the rest is
/// reported as unseen. Bounded so a debug build on a 2 MiB thread stack never overflows.
const MAX_LEVEL: usize = 160;

struct Walker<'a> {
    src: &'a str,
    scope: Scope,
    depth: usize,
    via: Vec<String>,
    out: &'a mut Analysis,
    /// The tree depth of the node being walked, carried into nested scripts.
    level: usize,
}

impl Walker<'_> {
    fn unseen(&mut self, what: String) {
        let what =
            if self.via.is_empty() { what } else { format!("{what} (inside {})", self.via.join(" → ")) };
        if !self.out.unseen.iter().any(|u| u.what == what) {
            self.out.unseen.push(Unseen { what });
        }
    }

    fn node(&mut self, node: Node, stdin: &Stdin, level: usize) {
        if level > MAX_LEVEL {
            self.unseen("the command nests too deeply to follow".into());
            return;
        }
        self.level = level;
        match node.kind() {
            "command" => {
                let stdin = self.redirect_stdin(node).unwrap_or_else(|| stdin.clone());
                self.command(node, &stdin);
            }
            "redirected_statement" => {
                let stdin = self.redirect_stdin(node).unwrap_or_else(|| stdin.clone());
                if let Some(body) = node.child_by_field_name("body") {
                    self.node(body, &stdin, level + 1);
                }
                let mut cursor = node.walk();
                let redirects: Vec<Node> = node.children_by_field_name("redirect", &mut cursor).collect();
                for r in redirects {
                    if r.kind() != "heredoc_redirect" {
                        self.node(r, &Stdin::None, level + 1);
                        continue;
                    }
                    // `cat <<EOF | sh`: the grammar hangs the rest of the pipeline under the
                    // here-document; it reads what the redirected command writes.
                    let produced = self.produced(node);
                    for child in named(r) {
                        let input = if matches!(child.kind(), "pipeline" | "command") {
                            produced.clone()
                        } else {
                            Stdin::None
                        };
                        self.node(child, &input, level + 1);
                    }
                }
                return;
            }
            "pipeline" => {
                let mut cursor = node.walk();
                let stages: Vec<Node> = node.named_children(&mut cursor).collect();
                let mut input = stdin.clone();
                for stage in stages {
                    self.node(stage, &input, level + 1);
                    input = self.produced(stage);
                }
                return;
            }
            "file_redirect" => {
                if let Some(dest) = node.child_by_field_name("destination") {
                    let t = text(dest, self.src);
                    if t.contains("/dev/tcp/") || t.contains("/dev/udp/") {
                        self.unseen(format!(
                            "the redirection to `{t}` opens a network connection from the shell itself"
                        ));
                    }
                    self.redirect(node, dest);
                }
            }
            _ => {}
        }
        let mut cursor = node.walk();
        let children: Vec<Node> = node.named_children(&mut cursor).collect();
        for child in children {
            self.node(child, &Stdin::None, level + 1);
        }
    }

    /// Records the file a redirection opens (`2>&1` and `>&-` name descriptors, not files).
    fn redirect(&mut self, node: Node, dest: Node) {
        let op = operator(node, self.src);
        let Some(path) = words::value(dest, self.src, &self.scope.vars).single().map(str::to_string) else {
            return;
        };
        if op.ends_with('&') && (path == "-" || path.chars().all(|c| c.is_ascii_digit())) {
            return;
        }
        self.out.redirects.push(crate::Redirect { path, write: op.contains('>') });
    }

    /// The standard input a here-document, here-string or `< <(…)` gives this node.
    fn redirect_stdin(&self, node: Node) -> Option<Stdin> {
        let mut cursor = node.walk();
        let redirects: Vec<Node> = node.children_by_field_name("redirect", &mut cursor).collect();
        let mut found = None;
        for r in redirects {
            match r.kind() {
                "heredoc_redirect" => {
                    let body = named(r).into_iter().find(|c| c.kind() == "heredoc_body")?;
                    let expands = named(body).iter().any(|c| c.kind() != "heredoc_content");
                    found = Some(if expands {
                        Stdin::Dynamic("a here-document with expansions".into())
                    } else {
                        Stdin::Literal(text(body, self.src).to_string())
                    });
                }
                "herestring_redirect" => {
                    let word = named(r).into_iter().last()?;
                    found = Some(match words::value(word, self.src, &self.scope.vars).single() {
                        Some(s) => Stdin::Literal(s.to_string()),
                        None => Stdin::Dynamic(text(word, self.src).to_string()),
                    });
                }
                "file_redirect" => {
                    let op = operator(r, self.src);
                    if let Some(dest) = r.child_by_field_name("destination") {
                        if op == "<" && dest.kind() == "process_substitution" {
                            found = Some(Stdin::Dynamic(text(dest, self.src).to_string()));
                        } else if op == "<" {
                            found = Some(Stdin::None);
                        }
                    }
                }
                _ => {}
            }
        }
        found
    }

    /// What a pipeline stage writes, when it is plain text (`echo`, `printf`, `cat <<EOF`).
    fn produced(&self, stage: Node) -> Stdin {
        let dynamic = Stdin::Dynamic(text(stage, self.src).to_string());
        let command = match stage.kind() {
            "command" => stage,
            "redirected_statement" => match stage.child_by_field_name("body") {
                Some(b) if b.kind() == "command" => b,
                _ => return dynamic,
            },
            _ => return dynamic,
        };
        let Some(argv) = self.argv(command) else { return dynamic };
        let Some(program) = argv.first().and_then(Arg::lit).map(basename) else { return dynamic };
        let args: Option<Vec<&str>> = argv[1..].iter().map(Arg::lit).collect();
        let Some(args) = args else { return dynamic };
        match program {
            "echo" => {
                let flags = args
                    .iter()
                    .take_while(|a| {
                        a.starts_with('-') && a.len() > 1 && a[1..].chars().all(|c| "neE".contains(c))
                    })
                    .count();
                let interprets = args[..flags].iter().any(|a| a.contains('e'));
                let rest = args[flags..].join(" ");
                if interprets && rest.contains('\\') { dynamic } else { Stdin::Literal(rest) }
            }
            "printf" => match args.as_slice() {
                [fmt] if !fmt.contains(['%', '\\']) => Stdin::Literal(fmt.to_string()),
                [fmt, rest @ ..]
                    if matches!(*fmt, "%s" | "%s\\n" | "%s\\n\\n")
                        && rest.iter().all(|a| !a.contains('\\')) =>
                {
                    Stdin::Literal(rest.join("\n"))
                }
                _ => dynamic,
            },
            "cat" if args.is_empty() => {
                self.redirect_stdin(stage).or_else(|| self.redirect_stdin(command)).unwrap_or(dynamic)
            }
            _ => dynamic,
        }
    }

    /// The argument vector of a command node, command word first, after env-prefix assignments.
    /// `None` when the command word cannot be resolved to one value.
    fn argv(&self, node: Node) -> Option<Vec<Arg>> {
        let name = node.child_by_field_name("name")?;
        let word = name.named_child(0).unwrap_or(name);
        let first = words::value(word, self.src, &self.scope.vars).single()?.to_string();
        let mut argv = vec![Arg::Lit(first)];
        argv.extend(self.args(node));
        Some(argv)
    }

    fn args(&self, node: Node) -> Vec<Arg> {
        let mut cursor = node.walk();
        node.children_by_field_name("argument", &mut cursor)
            .map(|a| match words::value(a, self.src, &self.scope.vars).single() {
                Some(s) => Arg::Lit(s.to_string()),
                None => Arg::Dynamic(text(a, self.src).to_string()),
            })
            .collect()
    }

    fn command(&mut self, node: Node, stdin: &Stdin) {
        // Assignments before the command word: some make the program run their value.
        let mut cursor = node.walk();
        let prefixes: Vec<Node> =
            node.named_children(&mut cursor).filter(|c| c.kind() == "variable_assignment").collect();
        for p in prefixes {
            let name = p.child_by_field_name("name").map(|n| text(n, self.src)).unwrap_or("");
            let value = p.child_by_field_name("value").map(|v| words::value(v, self.src, &self.scope.vars));
            let value = match value.as_ref().map(|v| v.single()) {
                Some(Some(s)) => Arg::Lit(s.to_string()),
                Some(None) => Arg::Dynamic(text(p, self.src).to_string()),
                None => Arg::Lit(String::new()),
            };
            let steps = match &value {
                Arg::Lit(v) => wrappers::assignment_steps(&format!("{name}={v}")),
                Arg::Dynamic(_)
                    if wrappers::SHELL_VARS.contains(&name) || wrappers::HIDDEN_CODE_VARS.contains(&name) =>
                {
                    vec![Step::Unseen(format!(
                        "`{}` sets a command computed at run time",
                        wrappers::show(std::slice::from_ref(&value))
                    ))]
                }
                Arg::Dynamic(_) => vec![],
            };
            let via = self.via.clone();
            for s in steps {
                self.step(s, &via, stdin);
            }
        }
        let Some(name) = node.child_by_field_name("name") else { return };
        let word = name.named_child(0).unwrap_or(name);
        let value = words::value(word, self.src, &self.scope.vars);
        let raw = text(word, self.src).to_string();
        let candidates = match value.candidates {
            Some(c) if !(value.expands || value.splits && self.scope.ifs_changed) => c,
            _ => match literal_program(word, self.src) {
                // `"$HOME/.cargo/bin/cargo"`: the directory is computed, the program is not.
                Some(p) if !value.splits || !self.scope.ifs_changed => vec![p],
                _ => {
                    self.unseen(format!("the command word `{raw}` is computed at run time"));
                    return;
                }
            },
        };
        let args = self.args(node);
        let via = self.via.clone();
        for candidate in candidates {
            // An unquoted expansion is split into fields; an empty one vanishes and the next
            // argument becomes the command word.
            let mut argv: Vec<Arg> = if value.splits {
                candidate.split_whitespace().map(|f| Arg::Lit(f.to_string())).collect()
            } else {
                vec![Arg::Lit(candidate)]
            };
            argv.extend(args.iter().cloned());
            self.exec(argv, &via, stdin, 0);
        }
    }

    fn exec(&mut self, argv: Vec<Arg>, via: &[String], stdin: &Stdin, hops: usize) {
        if hops > MAX_DEPTH {
            self.unseen("wrappers nest too deeply to follow".into());
            return;
        }
        let Some(first) = argv.first() else { return };
        let program = match first {
            Arg::Lit(p) => basename(p).to_string(),
            Arg::Dynamic(t) => {
                let inside =
                    if via.is_empty() { String::new() } else { format!(" by {}", via.join(" → ")) };
                self.unseen(format!("the program run{inside} is computed at run time: `{t}`"));
                return;
            }
        };
        if program.is_empty() {
            return;
        }
        let args = argv[1..].to_vec();
        self.out.commands.push(Command { program: program.clone(), args: args.clone(), via: via.to_vec() });
        let mut inner_via = via.to_vec();
        inner_via.push(program.clone());
        for step in wrappers::unwrap(&program, &args) {
            match step {
                Step::Exec(next) => self.exec(next, &inner_via, stdin, hops + 1),
                other => self.step(other, &inner_via, stdin),
            }
        }
    }

    fn step(&mut self, step: Step, via: &[String], stdin: &Stdin) {
        match step {
            Step::Exec(argv) => self.exec(argv, via, stdin, 1),
            Step::Shell(Arg::Lit(script), label) => self.nested(&script, via, &label),
            Step::Shell(Arg::Dynamic(t), label) => {
                self.unseen(format!("{label} runs text computed at run time: `{t}`"))
            }
            Step::ShellStdin(shell) => match stdin {
                Stdin::Literal(s) => {
                    let s = s.clone();
                    self.nested(&s, via, &format!("{shell} reading standard input"));
                }
                Stdin::Dynamic(t) => self.unseen(format!(
                    "{shell} runs commands it reads from `{t}`, which cannot be seen before they run"
                )),
                Stdin::None => {}
            },
            Step::Inline(interpreter, Arg::Lit(code)) => {
                self.out.inline_code.push(InlineCode { interpreter, code })
            }
            Step::Inline(interpreter, Arg::Dynamic(t)) => {
                self.unseen(format!("{interpreter} runs code computed at run time: `{t}`"))
            }
            Step::InlineStdin(interpreter) => match stdin {
                Stdin::Literal(code) => {
                    self.out.inline_code.push(InlineCode { interpreter, code: code.clone() })
                }
                Stdin::Dynamic(t) => self.unseen(format!("{interpreter} runs code it reads from `{t}`")),
                Stdin::None => {}
            },
            Step::Unseen(what) => self.unseen(what),
        }
    }

    /// A string that a wrapper runs as a shell script: parsed and walked like the outer text.
    fn nested(&mut self, script: &str, via: &[String], label: &str) {
        let mut inner_via = via.to_vec();
        // `bash` then `bash -c` reads as one hop: `bash -c`.
        if inner_via.last().is_some_and(|last| label == last || label.starts_with(&format!("{last} "))) {
            inner_via.pop();
        }
        inner_via.push(label.to_string());
        if self.depth + 1 > MAX_DEPTH {
            self.unseen(format!("{label} nests more than {MAX_DEPTH} levels deep"));
            return;
        }
        if let Err(e) = analyze_at(script, &self.scope, self.depth + 1, self.level + 8, &inner_via, self.out)
        {
            self.unseen(format!("the script {label} runs cannot be read: {e}"));
        }
    }
}

/// The program named by a path whose last part is written literally (`"$HOME/bin/tool"`).
fn literal_program(word: Node, src: &str) -> Option<String> {
    let raw = text(word, src);
    let (_, tail) = raw.rsplit_once('/')?;
    let tail = tail.trim_end_matches(['"', '\'']);
    let plain = !tail.is_empty() && tail.chars().all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c));
    plain.then(|| tail.to_string())
}

/// A redirection's operator (`<`, `>>`, `&>`…): its first unnamed child, after any descriptor.
fn operator<'s>(node: Node, src: &'s str) -> &'s str {
    let mut cursor = node.walk();
    node.children(&mut cursor).find(|c| !c.is_named()).map(|c| text(c, src)).unwrap_or("")
}

fn named(node: Node) -> Vec<Node> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor).collect()
}

/// `/usr/bin/curl` and `./curl` run the program named `curl`.
pub fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}
