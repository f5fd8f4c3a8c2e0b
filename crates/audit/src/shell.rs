//! Just enough of POSIX shell to find commands, their words and redirections in `run:` scripts
//! and in argument strings such as `claude_args`.
//!
//! It is not an interpreter: `$(…)`, backticks and `${…}` stay inside the word they appear in,
//! and here-documents become one word so the text written to a file can be followed.

use std::ops::Range;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    /// The word with quotes removed (escapes inside quotes resolved loosely).
    pub text: String,
    /// Byte range of the word as written.
    pub raw: Range<usize>,
    /// The body of a here-document (`<<EOF … EOF`) attached to this `<<` word.
    pub heredoc: Option<Range<usize>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Command {
    pub words: Vec<Word>,
    /// Byte range from the first word to the last.
    pub raw: Range<usize>,
}

impl Command {
    /// The files this command writes with `>`, `>>` or `tee`.
    pub fn written_files(&self) -> Vec<&str> {
        let mut out = Vec::new();
        let mut tee = false;
        for (i, w) in self.words.iter().enumerate() {
            let next = self.words.get(i + 1).map(|n| n.text.as_str());
            match w.text.as_str() {
                ">" | ">>" | "1>" | "1>>" | ">|" => out.extend(next),
                "tee" => tee = true,
                t if tee && !t.starts_with('-') => out.push(t),
                t => {
                    // `>file` written without a space.
                    let target = t.strip_prefix(">>").or_else(|| t.strip_prefix('>'));
                    if let Some(rest) = target.filter(|r| !r.is_empty() && !r.starts_with('&')) {
                        out.push(rest);
                    }
                }
            }
        }
        out
    }
}

/// Split `src` into simple commands.
pub fn commands(src: &str) -> Vec<Command> {
    let mut lx = Lexer { src, bytes: src.as_bytes(), i: 0, pending_heredocs: Vec::new(), bodies: Vec::new() };
    let mut out = Vec::new();
    let mut current = Command::default();
    while let Some(item) = lx.next_item() {
        match item {
            Item::Word(w) => {
                if current.words.is_empty() {
                    current.raw.start = w.raw.start;
                }
                if current.words.last().is_some_and(|p| matches!(p.text.as_str(), "<<" | "<<-")) {
                    lx.pending_heredocs.push(w.text.clone());
                }
                current.raw.end = w.raw.end;
                current.words.push(w);
            }
            Item::Separator => {
                let mut bodies = std::mem::take(&mut lx.bodies).into_iter();
                for w in current.words.iter_mut().filter(|w| matches!(w.text.as_str(), "<<" | "<<-")) {
                    w.heredoc = bodies.next();
                }
                if !current.words.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
        }
    }
    if !current.words.is_empty() {
        out.push(current);
    }
    out
}

/// Is the text between two commands a pipe (`|`, also after a line continuation)?
pub fn is_pipe(between: &str) -> bool {
    between.replace("\\\n", " ").trim() == "|"
}

/// Words of an argument string such as `--allowedTools "Bash(git:*)" --max-turns 5`.
pub fn words(src: &str) -> Vec<Word> {
    commands(src).into_iter().flat_map(|c| c.words).collect()
}

/// Names of the shell variables a piece of script text expands (`$NAME`, `${NAME}`, `${NAME:-x}`),
/// skipping single-quoted regions where nothing expands.
pub fn variables(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let (mut i, mut single) = (0, false);
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => single = !single,
            b'\\' => i += 1,
            b'$' if !single => {
                let start = i + 1 + usize::from(bytes.get(i + 1) == Some(&b'{'));
                let end = start
                    + bytes[start.min(bytes.len())..]
                        .iter()
                        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                        .count();
                if end > start && !bytes[start].is_ascii_digit() {
                    out.push(&text[start..end]);
                }
                i = end.max(i + 1);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

enum Item {
    Word(Word),
    Separator,
}

struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    i: usize,
    /// Delimiters of here-documents whose bodies start on the next line.
    pending_heredocs: Vec<String>,
    /// Bodies read since the last separator, in the order of their `<<` words.
    bodies: Vec<Range<usize>>,
}

impl Lexer<'_> {
    fn next_item(&mut self) -> Option<Item> {
        while self.i < self.bytes.len() {
            let c = self.bytes[self.i];
            match c {
                b' ' | b'\t' | b'\r' => self.i += 1,
                b'\\' if self.bytes.get(self.i + 1) == Some(&b'\n') => self.i += 2,
                b'#' => {
                    while self.i < self.bytes.len() && self.bytes[self.i] != b'\n' {
                        self.i += 1;
                    }
                }
                b'\n' | b';' | b'&' | b'|' | b'(' | b')' => {
                    self.i += 1;
                    if c == b'\n' {
                        self.skip_heredoc_bodies();
                    }
                    return Some(Item::Separator);
                }
                _ => return Some(Item::Word(self.word())),
            }
        }
        None
    }

    fn word(&mut self) -> Word {
        let start = self.i;
        let mut text = String::new();
        // Redirection operators are words of their own so their targets are easy to find.
        for op in [">>", "<<-", "<<", ">|", ">", "<"] {
            if self.src[self.i..].starts_with(op) {
                self.i += op.len();
                return Word { text: op.to_string(), raw: start..self.i, heredoc: None };
            }
        }
        while self.i < self.bytes.len() {
            let c = self.bytes[self.i];
            match c {
                b' ' | b'\t' | b'\r' | b'\n' | b';' | b'&' | b'|' | b'<' | b'>' | b'(' | b')' => break,
                b'\'' => {
                    let end = self.src[self.i + 1..].find('\'').map_or(self.bytes.len(), |e| self.i + 1 + e);
                    text.push_str(&self.src[self.i + 1..end]);
                    self.i = (end + 1).min(self.bytes.len());
                }
                b'"' => self.double_quoted(&mut text),
                b'$' if self.bytes.get(self.i + 1) == Some(&b'(') => self.balanced(&mut text),
                b'`' => {
                    let end = self.src[self.i + 1..].find('`').map_or(self.bytes.len(), |e| self.i + 2 + e);
                    text.push_str(&self.src[self.i..end.min(self.bytes.len())]);
                    self.i = end.min(self.bytes.len());
                }
                b'\\' => {
                    if let Some(ch) = self.src[self.i + 1..].chars().next() {
                        text.push(ch);
                        self.i += 1 + ch.len_utf8();
                    } else {
                        self.i += 1;
                    }
                }
                _ => {
                    let ch = self.src[self.i..].chars().next().unwrap_or(' ');
                    text.push(ch);
                    self.i += ch.len_utf8();
                }
            }
        }
        if self.i == start {
            // Never stall on a byte no branch consumed.
            self.i += 1;
        }
        Word { text, raw: start..self.i, heredoc: None }
    }

    fn double_quoted(&mut self, text: &mut String) {
        self.i += 1;
        while self.i < self.bytes.len() {
            match self.bytes[self.i] {
                b'"' => {
                    self.i += 1;
                    return;
                }
                b'\\' if matches!(self.bytes.get(self.i + 1), Some(b'"' | b'\\' | b'$' | b'`')) => {
                    text.push(char::from(self.bytes[self.i + 1]));
                    self.i += 2;
                }
                b'$' if self.bytes.get(self.i + 1) == Some(&b'(') => self.balanced(text),
                _ => {
                    let ch = self.src[self.i..].chars().next().unwrap_or(' ');
                    text.push(ch);
                    self.i += ch.len_utf8();
                }
            }
        }
    }

    /// `$( … )`, kept verbatim; nested parentheses and quotes inside are balanced.
    fn balanced(&mut self, text: &mut String) {
        let start = self.i;
        let mut depth = 0usize;
        let mut quote = None;
        while self.i < self.bytes.len() {
            let c = self.bytes[self.i];
            match (quote, c) {
                (None, b'\'' | b'"') => quote = Some(c),
                (Some(q), _) if c == q => quote = None,
                (None, b'(') => depth += 1,
                (None, b')') => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        self.i += 1;
                        break;
                    }
                }
                _ => {}
            }
            self.i += 1;
        }
        text.push_str(&self.src[start..self.i.min(self.bytes.len())]);
    }
    fn skip_heredoc_bodies(&mut self) {
        let pending = std::mem::take(&mut self.pending_heredocs);
        for delim in pending {
            let body_start = self.i;
            loop {
                let line_end = self.src[self.i..].find('\n').map_or(self.bytes.len(), |e| self.i + e);
                let line = self.src[self.i..line_end].trim();
                let at_end = line_end >= self.bytes.len();
                if line == delim {
                    self.bodies.push(body_start..self.i);
                    self.i = (line_end + 1).min(self.bytes.len());
                    break;
                }
                self.i = (line_end + 1).min(self.bytes.len());
                if at_end {
                    self.bodies.push(body_start..self.bytes.len());
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(c: &Command) -> Vec<&str> {
        c.words.iter().map(|w| w.text.as_str()).collect()
    }

    #[test]
    fn splits_commands_and_unquotes() {
        let cmds = commands(
            "npm i -g @anthropic-ai/claude-code && claude -p \"fix $TITLE\" --allowedTools 'Bash(git:*)'\n",
        );
        assert_eq!(cmds.len(), 2);
        assert_eq!(texts(&cmds[1]), ["claude", "-p", "fix $TITLE", "--allowedTools", "Bash(git:*)"]);
    }

    #[test]
    fn continuation_comments_and_substitution() {
        let cmds = commands("claude \\\n  --print \"$(cat prompt.md)\" # trailing\n");
        assert_eq!(texts(&cmds[0]), ["claude", "--print", "$(cat prompt.md)"]);
    }

    #[test]
    fn redirections_and_heredocs() {
        let src =
            "cat > prompt.txt <<EOF\nIssue: ${{ github.event.issue.body }}\nEOF\necho done | tee -a out.md\n";
        let cmds = commands(src);
        assert_eq!(cmds[0].written_files(), ["prompt.txt"]);
        let body = cmds[0].words[3].heredoc.clone().unwrap();
        assert!(src[body].contains("issue.body"));
        assert_eq!(cmds[1].words[0].text, "echo");
        assert_eq!(cmds[2].written_files(), ["out.md"]);
    }

    #[test]
    fn variables_skip_single_quotes() {
        assert_eq!(variables("echo \"$A ${B:-x}\" '$C' $1"), ["A", "B"]);
    }
}
