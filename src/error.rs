//! Exit codes and error messages. This module alone decides what the process exits with and
//! how a failure reads on stderr; nothing else calls `std::process::exit`.
//!
//! The exit-code table is an API: 0 success, 1 any failure, 2 a malformed command line
//! (unknown command or flag, missing argument, a value outside its choices).

use std::io::{self, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

/// The command did what it was asked.
pub const SUCCESS: ExitCode = ExitCode::SUCCESS;
/// Something failed: bad input, a missing session, a lock timeout, an I/O error.
pub const FAILURE: u8 = 1;
/// The command line itself was malformed.
pub const USAGE: u8 = 2;

/// Failures a caller or the reporter branches on. Everything else is an `anyhow::Error` with
/// context naming the thing that failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("session `{0}` not found")]
    SessionNotFound(String),
    #[error("session `{0}` already exists")]
    SessionExists(String),
    #[error("timed out after {waited} waiting for the lock `{path}`")]
    LockTimeout { path: PathBuf, waited: String },
    /// A message with a suggestion of how to fix it.
    #[error("{message}")]
    Hinted { message: String, hint: String },
}

impl Error {
    /// A `hint:` line for the message, when there is a fix to suggest.
    fn hint(&self) -> Option<String> {
        match self {
            Error::SessionNotFound(_) => Some(
                "`orchestron session list` shows the sessions there are; \
                 state writes accept `--create` to create a missing session"
                    .to_owned(),
            ),
            Error::SessionExists(_) => {
                Some("pick another `--id`, or leave it out to get a new one".to_owned())
            }
            Error::LockTimeout { .. } => Some(
                "another process holds the lock; set `ORCHESTRON_LOCK_TIMEOUT` \
                 (such as `30s`) to wait longer"
                    .to_owned(),
            ),
            Error::Hinted { hint, .. } => Some(hint.clone()),
        }
    }
}

/// Build an error with a `hint:` line.
pub fn hinted(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    Error::Hinted {
        message: message.into(),
        hint: hint.into(),
    }
    .into()
}

/// Print `err` on stderr and return the exit code for it.
pub fn report(err: &anyhow::Error) -> ExitCode {
    // A closed stdout (`orchestron … | head -1`) is how pipelines end, not a failure.
    if is_broken_pipe(err) {
        return SUCCESS;
    }
    let mut stderr = io::stderr().lock();
    let mut causes = err.chain();
    if let Some(top) = causes.next() {
        let _ = writeln!(stderr, "error: {top}");
    }
    for cause in causes {
        let _ = writeln!(stderr, "  caused by: {cause}");
    }
    if let Some(hint) = err
        .chain()
        .find_map(|cause| cause.downcast_ref::<Error>())
        .and_then(Error::hint)
    {
        let _ = writeln!(stderr, "hint: {hint}");
    }
    ExitCode::from(FAILURE)
}

/// Print a command-line parse error (or the help and version text clap reports the same
/// way) and return its exit code.
pub fn report_usage(err: &clap::Error) -> ExitCode {
    let _ = err.print();
    if err.use_stderr() {
        ExitCode::from(USAGE)
    } else {
        SUCCESS
    }
}

/// Report a failure of `orchestron hook`: one line on stderr (Claude Code shows the first
/// line in the transcript), exit 1, which never blocks.
pub fn report_hook(err: &anyhow::Error) -> ExitCode {
    if is_broken_pipe(err) {
        return SUCCESS;
    }
    let message = format!("{err:#}").replace('\n', " ");
    let _ = writeln!(io::stderr().lock(), "orchestron hook: {message}");
    ExitCode::from(FAILURE)
}

/// Report a malformed `orchestron hook` command line: exit 1, not clap's 2.
pub fn report_hook_usage(err: &clap::Error) -> ExitCode {
    if !err.use_stderr() {
        let _ = err.print();
        return SUCCESS;
    }
    let rendered = err.to_string();
    let message: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .take_while(|line| !line.starts_with("Usage:"))
        .filter(|line| !line.is_empty())
        .collect();
    let message = message.join(" ");
    let message = message.strip_prefix("error: ").unwrap_or(&message);
    let _ = writeln!(io::stderr().lock(), "orchestron hook: {message}");
    ExitCode::from(FAILURE)
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
