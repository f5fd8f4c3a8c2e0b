//! Every command a bash command line would run, as far as it can be seen before it runs.
//!
//! The text is parsed with the tree-sitter bash grammar (the grammar editors and code hosts use,
//! maintained with bash's own test cases in mind), never with patterns. From the tree this crate
//! collects each simple command with its quoting resolved the way bash resolves it, follows the
//! programs that run their arguments as a command (`env`, `sudo`, `xargs`, `find -exec`, `bash -c`,
//! `eval`, …), and says plainly what it could not see: a command word computed at run time, a
//! shell fed with data it cannot read, inline interpreter code. A caller decides what to do with
//! what could not be seen; this crate never guesses that it is harmless.

mod interp;
mod walk;
mod words;
mod wrappers;

/// Input larger than this is refused rather than parsed: a tool call is a command line, and a
/// bound keeps the hook's time and memory small whatever it is given.
pub const MAX_INPUT: usize = 1 << 20;

/// How deep `bash -c "bash -c …"`, `eval`, substitutions and blocks may nest before the rest is
/// reported as unseen instead of followed.
pub const MAX_DEPTH: usize = 16;

/// One argument as it will reach the program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// Known before the command runs, quoting removed.
    Lit(String),
    /// Computed at run time (an expansion, a substitution, a glob, items read by xargs); the
    /// source text is kept for messages.
    Dynamic(String),
}

impl Arg {
    pub fn lit(&self) -> Option<&str> {
        match self {
            Arg::Lit(s) => Some(s),
            Arg::Dynamic(_) => None,
        }
    }
}

/// A program that would run, by name (an absolute or relative path is reduced to its last part).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub program: String,
    pub args: Vec<Arg>,
    /// The wrappers it was found through, outermost first (`["sudo", "bash -c"]`).
    pub via: Vec<String>,
}

/// Code handed to an interpreter inline (`python -c`, `node -e`, awk programs that run commands).
/// The hook cannot follow such code; a caller searches it for the names it forbids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineCode {
    pub interpreter: String,
    pub code: String,
}

/// Something that will run but whose content cannot be known before it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unseen {
    pub what: String,
}

/// A file a redirection opens, when its name is written literally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    pub path: String,
    /// `>`, `>>`, `&>`, `<>`: the file is written; `<` only reads it.
    pub write: bool,
}

/// What a command line would run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Analysis {
    pub commands: Vec<Command>,
    pub inline_code: Vec<InlineCode>,
    pub unseen: Vec<Unseen>,
    pub redirects: Vec<Redirect>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("the command is {0} bytes; more than {MAX_INPUT} is not read")]
    TooLarge(usize),
    #[error("the command does not parse as bash near byte {0}")]
    Syntax(usize),
    #[error("the bash grammar could not be loaded")]
    Grammar,
}

/// Reads `src` as bash would and lists what it would run. A text that does not parse is an error,
/// never an empty analysis: the caller must refuse it.
pub fn analyze(src: &str) -> Result<Analysis, ParseError> {
    let mut out = Analysis::default();
    walk::analyze_into(src, &walk::Scope::default(), 0, &[], &mut out)?;
    Ok(out)
}
