//! The guard's reading of a shell command: the simple commands in it, each as the words the
//! shell would pass, so that the shipped rules judge what would run rather than the text.
//!
//! It splits as Bash does, closely enough for a guard: quotes, backslash escapes and `$'…'`
//! are removed; `;`, `&&`, `||`, `|`, `&`, newlines, `(…)` and `{ …; }` separate commands;
//! `$(…)`, `` `…` `` and `<(…)` are read as commands of their own (their output is unknown);
//! comments and redirections are dropped, and a here-document's text is kept as the input of
//! its command. What the shell would expand is marked with a byte below `0x20` instead:
//! [`HOME`] for `~`, `$HOME` and `${HOME}`, [`UNKNOWN`] for any other expansion, and
//! [`STAR`], [`QUESTION`] and [`BRACKET`] for unquoted glob characters. Nothing is expanded
//! for real, nothing is run and no file is read; it works on bytes and never fails, so any
//! input gives some reading, in time linear in its length (times the depth bound).
//!
//! It must not be mistaken for a sandbox: `python -c`, a script or a variable can always
//! hide a command from it. It catches the spellings a person or a model would type.

/// How deeply nested commands are read: `$(…)`, `(…)` and backticks inside one another,
/// and the bodies of `bash -c`, `eval` and here-documents fed to a shell. Past it, nested
/// text is skipped, unread, and the guard lets it pass (no real command nests this deep).
pub(crate) const MAX_DEPTH: usize = 8;

/// `~` (or `~user`), `$HOME` or `${HOME}`: the home directory.
pub(crate) const HOME: u8 = 0x01;
/// An expansion whose value is unknown here: `$X`, `${X}`, `$1`, `$(…)`, `` `…` ``.
pub(crate) const UNKNOWN: u8 = 0x02;
/// An unquoted `*`.
pub(crate) const STAR: u8 = 0x03;
/// An unquoted `?`.
pub(crate) const QUESTION: u8 = 0x04;
/// An unquoted `[`.
pub(crate) const BRACKET: u8 = 0x05;

use std::ops::Range;

/// What [`split`] read: the simple commands of a text, in order (those inside a `$(…)`
/// before the command that uses its output). Their words and inputs live in two buffers
/// shared by all of them, so that reading costs a few allocations per call, not per word.
#[derive(Debug, Default)]
pub(crate) struct Reading {
    /// The bytes of every word and every input, one after another.
    bytes: Vec<u8>,
    /// Every word, as a range of `bytes`.
    words: Vec<Range<usize>>,
    pub(crate) commands: Vec<Command>,
}

/// One simple command: its words (assignments and prefixes such as `sudo` included), the
/// text a here-document or here-string gives it on stdin, and its depth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Command {
    /// A range of [`Reading::words`].
    words: Range<usize>,
    /// A range of [`Reading::bytes`].
    input: Option<Range<usize>>,
    /// How deeply it is nested, counting from the outermost command.
    pub(crate) depth: usize,
}

impl Reading {
    /// The words of `command`, added to `into`.
    pub(crate) fn words<'a>(&'a self, command: &Command, into: &mut Vec<&'a [u8]>) {
        into.extend(
            self.words[command.words.clone()]
                .iter()
                .map(|range| &self.bytes[range.clone()]),
        );
    }

    /// What `command` reads on stdin from a here-document or here-string.
    pub(crate) fn input(&self, command: &Command) -> Option<&[u8]> {
        command.input.clone().map(|range| &self.bytes[range])
    }
}

/// The simple commands of `text`. `depth` is how deeply `text` is itself nested.
pub(crate) fn split(text: &[u8], depth: usize) -> Reading {
    let mut lexer = Lexer {
        text,
        at: 0,
        reading: Reading::default(),
        building_words: Vec::new(),
        scratch: Vec::new(),
        pending: Vec::new(),
    };
    lexer.list(depth, Close::End);
    lexer.reading
}

/// What ends a list of commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Close {
    End,
    Paren,
    Backtick,
}

/// A here-document whose text comes after the end of the current line.
struct Heredoc {
    command: usize,
    delimiter: Range<usize>,
    strip_tabs: bool,
}

/// The command being read: where its words start on the lexer's stack of words, and the
/// here-documents and here-string it takes.
struct Building {
    first_word: usize,
    heredocs: Vec<(Range<usize>, bool)>,
    here_string: Option<Range<usize>>,
}

/// Nested lists and words are read while an outer command or word is half built, so both
/// are kept on stacks (`building_words`, `scratch`): each nested one takes what it added off
/// the top when it is done, which leaves the outer one whole beneath.
struct Lexer<'a> {
    text: &'a [u8],
    at: usize,
    reading: Reading,
    /// The words of the commands being read, outer ones first.
    building_words: Vec<Range<usize>>,
    /// The bytes of the words being read, outer ones first.
    scratch: Vec<u8>,
    pending: Vec<Heredoc>,
}

/// Bytes that end an unquoted word.
fn ends_word(byte: u8) -> bool {
    matches!(
        byte,
        b' ' | b'\t' | b'\r' | b'\n' | b';' | b'&' | b'|' | b'(' | b')' | b'<' | b'>'
    )
}

fn is_name_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_'
}

fn is_name(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// A glob mark as the character it stands for.
fn unmark(byte: u8) -> u8 {
    match byte {
        STAR => b'*',
        QUESTION => b'?',
        BRACKET => b'[',
        other => other,
    }
}

impl Lexer<'_> {
    fn peek(&self, ahead: usize) -> Option<u8> {
        self.text.get(self.at + ahead).copied()
    }

    fn start_command(&self) -> Building {
        Building {
            first_word: self.building_words.len(),
            heredocs: Vec::new(),
            here_string: None,
        }
    }

    /// Read commands until `close` (or the end of the text).
    fn list(&mut self, depth: usize, close: Close) {
        let mut building = self.start_command();
        while let Some(byte) = self.peek(0) {
            match byte {
                b' ' | b'\t' | b'\r' => self.at += 1,
                b'\n' => {
                    self.at += 1;
                    self.finish(&mut building, depth);
                    self.read_heredocs();
                }
                b';' | b'|' => {
                    self.at += 1;
                    self.finish(&mut building, depth);
                }
                b'&' if self.peek(1) == Some(b'>') => self.redirect(depth, close, &mut building),
                b'&' => {
                    self.at += 1;
                    self.finish(&mut building, depth);
                }
                b'(' => {
                    self.at += 1;
                    self.finish(&mut building, depth);
                    self.nested(depth, Close::Paren);
                }
                b')' => {
                    self.at += 1;
                    self.finish(&mut building, depth);
                    if close == Close::Paren {
                        return;
                    }
                }
                b'`' if close == Close::Backtick => {
                    self.at += 1;
                    self.finish(&mut building, depth);
                    return;
                }
                b'#' => {
                    while self.peek(0).is_some_and(|byte| byte != b'\n') {
                        self.at += 1;
                    }
                }
                b'<' | b'>' if self.peek(1) == Some(b'(') => {
                    // A process substitution: a command whose output is a file name.
                    self.at += 2;
                    self.nested(depth, Close::Paren);
                    let word = self.store_word(&[UNKNOWN]);
                    self.building_words.push(word);
                }
                b'<' | b'>' => self.redirect(depth, close, &mut building),
                _ => {
                    let Some(word) = self.word(depth, close) else {
                        continue;
                    };
                    // `2>file`: the digits name a file descriptor, not an argument.
                    let redirects = matches!(self.peek(0), Some(b'<' | b'>'));
                    if !(redirects
                        && self.reading.bytes[word.clone()]
                            .iter()
                            .all(u8::is_ascii_digit))
                    {
                        self.building_words.push(word);
                    }
                }
            }
        }
        self.finish(&mut building, depth);
    }

    /// Read a nested list, or skip it unread past the depth bound.
    fn nested(&mut self, depth: usize, close: Close) {
        if depth + 1 >= MAX_DEPTH {
            self.skip(close);
        } else {
            self.list(depth + 1, close);
        }
    }

    /// Skip to the end of a nested list without reading it, and without recursion.
    fn skip(&mut self, close: Close) {
        let mut open = vec![close];
        while let Some(byte) = self.peek(0) {
            self.at += 1;
            match byte {
                b'\\' => self.at += 1,
                b'\'' => self.skip_past(b'\''),
                b'"' => {
                    while let Some(byte) = self.peek(0) {
                        self.at += 1;
                        match byte {
                            b'\\' => self.at += 1,
                            b'"' => break,
                            _ => {}
                        }
                    }
                }
                b'(' => open.push(Close::Paren),
                b')' | b'`' => {
                    let closes = if byte == b')' {
                        Close::Paren
                    } else {
                        Close::Backtick
                    };
                    if open.last() == Some(&closes) {
                        open.pop();
                        if open.is_empty() {
                            return;
                        }
                    } else if byte == b'`' {
                        open.push(Close::Backtick);
                    }
                }
                _ => {}
            }
        }
        self.at = self.at.min(self.text.len());
    }

    /// Move past the next `byte`, or to the end.
    fn skip_past(&mut self, byte: u8) {
        let rest = &self.text[self.at.min(self.text.len())..];
        match rest.iter().position(|b| *b == byte) {
            Some(offset) => self.at += offset + 1,
            None => self.at = self.text.len(),
        }
    }

    /// Keep `bytes` as a word of the reading.
    fn store_word(&mut self, bytes: &[u8]) -> Range<usize> {
        let start = self.reading.bytes.len();
        self.reading.bytes.extend_from_slice(bytes);
        start..self.reading.bytes.len()
    }

    /// The command read so far is complete.
    fn finish(&mut self, building: &mut Building, depth: usize) {
        let heredocs = std::mem::take(&mut building.heredocs);
        let here_string = building.here_string.take();
        if self.building_words.len() == building.first_word && heredocs.is_empty() {
            return;
        }
        let first = self.reading.words.len();
        self.reading
            .words
            .extend(self.building_words.drain(building.first_word..));
        let index = self.reading.commands.len();
        self.reading.commands.push(Command {
            words: first..self.reading.words.len(),
            input: here_string,
            depth,
        });
        for (delimiter, strip_tabs) in heredocs {
            self.pending.push(Heredoc {
                command: index,
                delimiter,
                strip_tabs,
            });
        }
    }

    /// At the start of a line: the texts of the here-documents the last line opened.
    fn read_heredocs(&mut self) {
        for heredoc in std::mem::take(&mut self.pending) {
            let start = self.reading.bytes.len();
            while self.at < self.text.len() {
                let rest = &self.text[self.at..];
                let end = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
                let line = &rest[..end];
                self.at = (self.at + end + 1).min(self.text.len());
                let mut bare = line.strip_suffix(b"\r").unwrap_or(line);
                if heredoc.strip_tabs {
                    while let Some(rest) = bare.strip_prefix(b"\t") {
                        bare = rest;
                    }
                }
                let delimiter = &self.reading.bytes[heredoc.delimiter.clone()];
                if bare.len() == delimiter.len()
                    && bare.iter().zip(delimiter).all(|(a, b)| *a == unmark(*b))
                {
                    break;
                }
                self.reading.bytes.extend_from_slice(line);
                self.reading.bytes.push(b'\n');
            }
            let end = self.reading.bytes.len();
            let input = &mut self.reading.commands[heredoc.command].input;
            // Two here-documents of one command are read one after the other: one text.
            *input = match input.take() {
                Some(earlier) if earlier.end == start => Some(earlier.start..end),
                _ => Some(start..end),
            };
        }
    }

    /// A redirection: its operator, and its target word, which is no argument. A
    /// here-document's delimiter is remembered; a here-string becomes the command's input.
    fn redirect(&mut self, depth: usize, close: Close, building: &mut Building) {
        if self.peek(0) == Some(b'&') {
            self.at += 1;
        }
        let first = self.peek(0).unwrap_or(b'>');
        self.at += 1;
        let (mut heredoc, mut strip_tabs, mut here_string) = (false, false, false);
        match (first, self.peek(0)) {
            (b'<', Some(b'<')) => {
                self.at += 1;
                match self.peek(0) {
                    Some(b'<') => {
                        self.at += 1;
                        here_string = true;
                    }
                    Some(b'-') => {
                        self.at += 1;
                        heredoc = true;
                        strip_tabs = true;
                    }
                    _ => heredoc = true,
                }
            }
            (b'<' | b'>', Some(b'&')) => {
                self.at += 1;
                // `2>&1`, `>&-`: a descriptor, not a file.
                let start = self.at;
                while self
                    .peek(0)
                    .is_some_and(|b| b.is_ascii_digit() || b == b'-')
                {
                    self.at += 1;
                }
                if self.at > start {
                    return;
                }
            }
            (b'<', Some(b'>')) | (b'>', Some(b'>' | b'|')) => self.at += 1,
            _ => {}
        }
        while matches!(self.peek(0), Some(b' ' | b'\t')) {
            self.at += 1;
        }
        if self.peek(0).is_none_or(ends_word) {
            return;
        }
        let target = self.word(depth, close).unwrap_or_default();
        if heredoc {
            building.heredocs.push((target, strip_tabs));
        } else if here_string {
            building.here_string = Some(target);
        }
    }

    /// One word, with quotes and escapes removed and expansions marked, kept in the reading;
    /// `None` when there was nothing but a line continuation.
    fn word(&mut self, depth: usize, close: Close) -> Option<Range<usize>> {
        let from = self.scratch.len();
        let mut any = false;
        let start = self.at;
        while let Some(byte) = self.peek(0) {
            if ends_word(byte) {
                break;
            }
            match byte {
                b'`' if close == Close::Backtick => break,
                b'`' => {
                    self.at += 1;
                    self.nested(depth, Close::Backtick);
                    self.scratch.push(UNKNOWN);
                }
                b'\\' => match self.peek(1) {
                    Some(b'\n') => {
                        self.at += 2;
                        continue;
                    }
                    Some(next) => {
                        self.scratch.push(next);
                        self.at += 2;
                    }
                    None => self.at += 1,
                },
                b'\'' => {
                    let begin = self.at + 1;
                    let rest = &self.text[begin..];
                    let length = rest.iter().position(|b| *b == b'\'').unwrap_or(rest.len());
                    self.scratch.extend_from_slice(&rest[..length]);
                    self.at = (begin + length + 1).min(self.text.len());
                }
                b'"' => {
                    self.at += 1;
                    self.double_quoted(depth);
                }
                b'$' => self.dollar(depth, false),
                b'*' => {
                    self.scratch.push(STAR);
                    self.at += 1;
                }
                b'?' => {
                    self.scratch.push(QUESTION);
                    self.at += 1;
                }
                b'[' => {
                    self.scratch.push(BRACKET);
                    self.at += 1;
                }
                b'~' if self.at == start => self.tilde(),
                _ => {
                    self.scratch.push(byte);
                    self.at += 1;
                }
            }
            any = true;
        }
        let begin = self.reading.bytes.len();
        self.reading.bytes.extend_from_slice(&self.scratch[from..]);
        self.scratch.truncate(from);
        any.then_some(begin..self.reading.bytes.len())
    }

    /// `~`, `~/…` or `~user`: a home directory. `~+` and `~-` are directories unknown here.
    fn tilde(&mut self) {
        self.at += 1;
        match self.peek(0) {
            Some(b'+' | b'-') => {
                self.at += 1;
                self.scratch.push(UNKNOWN);
            }
            _ => {
                let from = self.at;
                while self
                    .peek(0)
                    .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
                {
                    self.at += 1;
                }
                if self.peek(0).is_none_or(|b| b == b'/' || ends_word(b)) {
                    self.scratch.push(HOME);
                } else {
                    // `~x"…"`: no expansion after all.
                    self.scratch.push(b'~');
                    self.scratch.extend_from_slice(&self.text[from..self.at]);
                }
            }
        }
    }

    /// Inside `"…"`, from just past the opening quote to just past the closing one.
    fn double_quoted(&mut self, depth: usize) {
        while let Some(byte) = self.peek(0) {
            match byte {
                b'"' => {
                    self.at += 1;
                    return;
                }
                b'\\' => match self.peek(1) {
                    Some(b'\n') => self.at += 2,
                    Some(next @ (b'$' | b'`' | b'"' | b'\\')) => {
                        self.scratch.push(next);
                        self.at += 2;
                    }
                    _ => {
                        self.scratch.push(b'\\');
                        self.at += 1;
                    }
                },
                b'$' => self.dollar(depth, true),
                b'`' => {
                    self.at += 1;
                    self.nested(depth, Close::Backtick);
                    self.scratch.push(UNKNOWN);
                }
                _ => {
                    self.scratch.push(byte);
                    self.at += 1;
                }
            }
        }
    }

    /// At a `$`: a parameter, a command substitution, `$'…'`, or a plain `$`.
    fn dollar(&mut self, depth: usize, quoted: bool) {
        match self.peek(1) {
            Some(b'\'') if !quoted => {
                self.at += 2;
                self.ansi_c();
            }
            // `$"…"` is a translated string: the quotes that follow do the rest.
            Some(b'"') if !quoted => self.at += 1,
            Some(b'(') => {
                self.at += 2;
                self.nested(depth, Close::Paren);
                self.scratch.push(UNKNOWN);
            }
            Some(b'{') => {
                self.at += 2;
                let from = self.at;
                let mut open = 1;
                while let Some(byte) = self.peek(0) {
                    self.at += 1;
                    match byte {
                        b'{' => open += 1,
                        b'}' => {
                            open -= 1;
                            if open == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                let inside = &self.text[from..self.at];
                let name_end = inside
                    .iter()
                    .position(|b| !is_name(*b))
                    .unwrap_or(inside.len());
                let mark = if &inside[..name_end] == b"HOME" {
                    HOME
                } else {
                    UNKNOWN
                };
                self.scratch.push(mark);
            }
            Some(byte) if is_name_start(byte) => {
                self.at += 1;
                let from = self.at;
                while self.peek(0).is_some_and(is_name) {
                    self.at += 1;
                }
                let mark = if &self.text[from..self.at] == b"HOME" {
                    HOME
                } else {
                    UNKNOWN
                };
                self.scratch.push(mark);
            }
            Some(byte) if byte.is_ascii_digit() || b"@*#?$!-".contains(&byte) => {
                self.at += 2;
                self.scratch.push(UNKNOWN);
            }
            _ => {
                self.scratch.push(b'$');
                self.at += 1;
            }
        }
    }

    /// Inside `$'…'`, from just past the opening quote to just past the closing one.
    fn ansi_c(&mut self) {
        while let Some(byte) = self.peek(0) {
            self.at += 1;
            let decoded = match byte {
                b'\'' => return,
                b'\\' => {
                    let Some(escaped) = self.peek(0) else { return };
                    self.at += 1;
                    match escaped {
                        b'n' => b'\n',
                        b't' => b'\t',
                        b'r' => b'\r',
                        b'a' => 0x07,
                        b'b' => 0x08,
                        b'e' | b'E' => 0x1b,
                        b'f' => 0x0c,
                        b'v' => 0x0b,
                        b'x' => self.digits(16, 2).unwrap_or(b'x'),
                        b'0'..=b'7' => {
                            self.at -= 1;
                            self.digits(8, 3).unwrap_or(0)
                        }
                        other => other,
                    }
                }
                other => other,
            };
            self.scratch.push(decoded);
        }
    }

    /// Up to `most` digits in `radix`, as one byte; `None` when there are none.
    fn digits(&mut self, radix: u32, most: usize) -> Option<u8> {
        let mut value: u32 = 0;
        let mut count = 0;
        while count < most {
            let Some(digit) = self.peek(0).and_then(|b| char::from(b).to_digit(radix)) else {
                break;
            };
            value = value * radix + digit;
            self.at += 1;
            count += 1;
        }
        (count > 0).then_some((value & 0xff) as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The words of each command, marks shown as `~`, `$?` and glob characters.
    fn commands(text: &str) -> Vec<Vec<String>> {
        let reading = split(text.as_bytes(), 0);
        reading
            .commands
            .iter()
            .map(|command| {
                let mut words = Vec::new();
                reading.words(command, &mut words);
                words.iter().map(|word| show(word)).collect()
            })
            .collect()
    }

    fn input(reading: &Reading, index: usize) -> Option<&[u8]> {
        reading.input(&reading.commands[index])
    }

    fn show(word: &[u8]) -> String {
        word.iter()
            .map(|byte| match *byte {
                HOME => "{home}".to_owned(),
                UNKNOWN => "$?".to_owned(),
                STAR => "*".to_owned(),
                QUESTION => "?".to_owned(),
                BRACKET => "[".to_owned(),
                other => char::from(other).to_string(),
            })
            .collect()
    }

    #[test]
    fn words_as_the_shell_splits_them() {
        let cases: &[(&str, &[&[&str]])] = &[
            ("rm -rf /", &[&["rm", "-rf", "/"]]),
            (r"\rm -rf /", &[&["rm", "-rf", "/"]]),
            (r#""rm" '-rf' "/""#, &[&["rm", "-rf", "/"]]),
            (r"r\m -r''f /", &[&["rm", "-rf", "/"]]),
            ("$'\\x72m' -rf /", &[&["rm", "-rf", "/"]]),
            (
                "a; b && c || d | e & f\ng",
                &[&["a"], &["b"], &["c"], &["d"], &["e"], &["f"], &["g"]],
            ),
            (
                "echo $(rm -rf /) `ls`",
                &[&["rm", "-rf", "/"], &["ls"], &["echo", "$?", "$?"]],
            ),
            ("(cd / && ls)", &[&["cd", "/"], &["ls"]]),
            ("ls # rm -rf /", &[&["ls"]]),
            ("echo a#b", &[&["echo", "a#b"]]),
            ("ls 2>/dev/null >out 2>&1 <in", &[&["ls"]]),
            ("ls &>log; x", &[&["ls"], &["x"]]),
            (
                "rm -rf ~ ~/. $HOME ${HOME}/ \"$HOME\" '~' ~root a~",
                &[&[
                    "rm", "-rf", "{home}", "{home}/.", "{home}", "{home}/", "{home}", "~",
                    "{home}", "a~",
                ]],
            ),
            (
                "echo $X ${Y:-z} $1 \"a $B\"",
                &[&["echo", "$?", "$?", "$?", "a $?"]],
            ),
            ("ls *.rs '*' \"?\"", &[&["ls", "*.rs", "*", "?"]]),
            ("diff <(ls) x", &[&["ls"], &["diff", "$?", "x"]]),
            ("echo a\\\nb", &[&["echo", "ab"]]),
            ("a=1 b", &[&["a=1", "b"]]),
            ("echo 'unterminated", &[&["echo", "unterminated"]]),
            ("echo \"unterminated $(", &[&["echo", "unterminated $?"]]),
            ("", &[]),
        ];
        for (text, expected) in cases {
            let expected: Vec<Vec<String>> = expected
                .iter()
                .map(|words| words.iter().map(|w| (*w).to_owned()).collect())
                .collect();
            assert_eq!(commands(text), expected, "{text}");
        }
    }

    #[test]
    fn here_documents_are_input_not_commands() {
        let read = split(b"cat <<EOF >x\nrm -rf /\nEOF\nls\n", 0);
        assert_eq!(read.commands.len(), 2);
        assert_eq!(input(&read, 0), Some(&b"rm -rf /\n"[..]));
        assert_eq!(input(&read, 1), None);
        assert_eq!(
            commands("cat <<EOF >x\nrm -rf /\nEOF\nls\n"),
            vec![vec!["cat"], vec!["ls"]]
        );
        let read = split(b"bash <<-'END'\n\trm -rf /\n\tEND\n", 0);
        assert_eq!(input(&read, 0), Some(&b"\trm -rf /\n"[..]));
        let read = split(b"sh <<< 'rm -rf /'", 0);
        assert_eq!(input(&read, 0), Some(&b"rm -rf /"[..]));
        // Two here-documents of one command, and one of the next, each in order.
        let read = split(b"cat <<A <<B; sh <<C\na\nA\nb\nB\nc\nC\nls", 0);
        assert_eq!(input(&read, 0), Some(&b"a\nb\n"[..]));
        assert_eq!(input(&read, 1), Some(&b"c\n"[..]));
        assert_eq!(
            commands("cat <<A <<B; sh <<C\na\nA\nb\nB\nc\nC\nls").len(),
            3
        );
    }

    #[test]
    fn nesting_past_the_bound_is_skipped_not_read() {
        let deep = format!(
            "{}rm -rf /{}",
            "$(".repeat(MAX_DEPTH),
            ")".repeat(MAX_DEPTH)
        );
        assert!(
            commands(&deep)
                .iter()
                .all(|words| words.first().is_none_or(|w| w != "rm"))
        );
        let shallow = format!(
            "{}rm -rf /{}",
            "$(".repeat(MAX_DEPTH - 1),
            ")".repeat(MAX_DEPTH - 1)
        );
        assert!(commands(&shallow).iter().any(|words| words[0] == "rm"));
        // Very deep input costs no stack.
        let hostile = "$(".repeat(200_000) + &"`".repeat(1000) + &"(".repeat(200_000);
        split(hostile.as_bytes(), 0);
        // A word half read when a nested command is read stays whole.
        assert_eq!(
            commands("echo a$(ls x)b\"c`pwd`d\"e"),
            vec![vec!["ls", "x"], vec!["pwd"], vec!["echo", "a$?bc$?de"]]
        );
        // Nor does any byte break it.
        let bytes: Vec<u8> = (0..=255).collect();
        split(&bytes, 0);
    }
}
