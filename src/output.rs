//! How data reaches stdout: JSON for scripts (`--json`), text for people. stdout carries data
//! only; talk goes to stderr. A closed pipe surfaces as an `io::Error` that `error::report`
//! treats as success.

use std::io::{self, BufWriter, StdoutLock, Write as _};

use serde_json::Value;

#[derive(Debug)]
pub(crate) struct Output {
    json: bool,
    stdout: Sink,
}

/// Where printed data goes: stdout, or a capture when one command gathers the output of
/// others (`orchestron slash`).
#[derive(Debug)]
enum Sink {
    /// Buffered: Rust's stdout flushes at every newline, which costs a `write` per line of
    /// pretty-printed JSON.
    Stdout(BufWriter<StdoutLock<'static>>),
    /// Text as bytes, and under `--json` the values themselves, never printed and parsed
    /// back.
    Capture { text: Vec<u8>, values: Vec<Value> },
}

/// What a capturing output gathered.
#[derive(Debug, Default)]
pub(crate) struct Captured {
    pub(crate) text: String,
    pub(crate) values: Vec<Value>,
}

impl io::Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Stdout(out) => out.write(bytes),
            Sink::Capture { text, .. } => text.write(bytes),
        }
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Sink::Stdout(out) => out.write_all(bytes),
            Sink::Capture { text, .. } => text.write_all(bytes),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Stdout(out) => out.flush(),
            Sink::Capture { .. } => Ok(()),
        }
    }
}

impl Output {
    pub(crate) fn new(json: bool) -> Output {
        Output {
            json,
            stdout: Sink::Stdout(BufWriter::with_capacity(64 * 1024, io::stdout().lock())),
        }
    }

    /// An output that keeps what is printed, for [`Output::take`]: text as text, and with
    /// `json` the JSON values as values.
    pub(crate) fn capture(json: bool) -> Output {
        Output {
            json,
            stdout: Sink::Capture {
                text: Vec::new(),
                values: Vec::new(),
            },
        }
    }

    /// What a capturing output holds, emptying it; nothing for stdout.
    pub(crate) fn take(&mut self) -> Captured {
        match &mut self.stdout {
            Sink::Capture { text, values } => Captured {
                text: String::from_utf8_lossy(&std::mem::take(text)).into_owned(),
                values: std::mem::take(values),
            },
            Sink::Stdout(_) => Captured::default(),
        }
    }

    /// Keep a JSON value as it is, when capturing under `--json`; `false` otherwise.
    fn captured(&mut self, value: impl FnOnce() -> io::Result<Value>) -> io::Result<bool> {
        match &mut self.stdout {
            Sink::Capture { values, .. } if self.json => {
                values.push(value()?);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Whether data goes out as JSON.
    pub(crate) fn json(&self) -> bool {
        self.json
    }

    /// Print a value: compact JSON on one line with `--json`, else indented, with a bare
    /// string printed as it is so that `$(orchestron state get …)` gives the text itself.
    pub(crate) fn value(&mut self, value: &Value) -> io::Result<()> {
        if self.captured(|| Ok(value.clone()))? {
            return Ok(());
        }
        match value {
            Value::String(text) if !self.json => writeln!(self.stdout, "{text}"),
            _ if self.json => {
                serde_json::to_writer(&mut self.stdout, value)?;
                writeln!(self.stdout)
            }
            _ => {
                serde_json::to_writer_pretty(&mut self.stdout, value)?;
                writeln!(self.stdout)
            }
        }
    }

    /// Print anything serializable as JSON: compact with `--json`, else indented.
    pub(crate) fn serialize<T: serde::Serialize + ?Sized>(&mut self, value: &T) -> io::Result<()> {
        if self.captured(|| serde_json::to_value(value).map_err(io::Error::other))? {
            return Ok(());
        }
        if self.json {
            serde_json::to_writer(&mut self.stdout, value)?;
        } else {
            serde_json::to_writer_pretty(&mut self.stdout, value)?;
        }
        writeln!(self.stdout)
    }

    /// Print JSONPath matches: their values, or with `with_paths` each with its normalized
    /// path (`{"path", "value"}`).
    pub(crate) fn matches(
        &mut self,
        matches: &orchestron_core::select::Selected<'_>,
        with_paths: bool,
    ) -> io::Result<()> {
        if with_paths {
            let located: Vec<Value> = matches
                .iter()
                .map(|(path, value)| serde_json::json!({"path": path, "value": value}))
                .collect();
            self.serialize(&located)
        } else {
            let values: Vec<&Value> = matches.iter().map(|(_, value)| value.as_ref()).collect();
            self.serialize(&values)
        }
    }

    /// Print a JSON value compactly on one line, whatever the mode.
    pub(crate) fn json_line(&mut self, value: &Value) -> io::Result<()> {
        if self.captured(|| Ok(value.clone()))? {
            return Ok(());
        }
        serde_json::to_writer(&mut self.stdout, value)?;
        writeln!(self.stdout)
    }

    /// Print bytes as they are.
    pub(crate) fn bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stdout.write_all(bytes)
    }

    /// Print a line of text for people. Control characters other than newlines and tabs
    /// (an escape sequence or a carriage return in a title) are shown escaped, never sent
    /// to the terminal.
    pub(crate) fn line(&mut self, text: &str) -> io::Result<()> {
        writeln!(self.stdout, "{}", printable(text))
    }

    /// Print rows as an aligned table under a header.
    pub(crate) fn table(&mut self, header: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
        let rows: Vec<Vec<String>> = rows
            .iter()
            .map(|row| {
                row.iter()
                    .map(|cell| printable(cell).into_owned())
                    .collect()
            })
            .collect();
        let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
        for row in std::iter::once(&header).chain(&rows) {
            let mut line = String::new();
            for (index, (cell, width)) in row.iter().zip(&widths).enumerate() {
                if index + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(&format!("{cell:<width$}  "));
                }
            }
            writeln!(self.stdout, "{}", printable(line.trim_end()))?;
        }
        Ok(())
    }

    /// Flush, for commands that print over time (`state watch`) and at the end of every
    /// command, so that a failed write is reported rather than lost in a drop.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.stdout.flush()
    }
}

/// `text` with every control character but newline and tab written as `\u{…}`, so that
/// stored text (a title, a note) cannot move the cursor, recolour or rewrite the terminal.
pub(crate) fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut clean = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            clean.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            clean.push(c);
        }
    }
    std::borrow::Cow::Owned(clean)
}

/// Tell the user something went wrong that did not stop the command.
#[allow(clippy::print_stderr)]
pub(crate) fn warn(message: &str) {
    eprintln!("warning: {message}");
}

/// Tell the user something worth knowing about what a command did (stderr: stdout is data).
#[allow(clippy::print_stderr)]
pub(crate) fn note(message: &str) {
    eprintln!("note: {message}");
}
