//! Exit codes and error messages. This module alone decides what the process exits with and
//! how a failure reads on stderr; nothing else calls `std::process::exit`.
//!
//! The exit-code table is an API: 0 success, 1 any failure, 2 a malformed command line
//! (unknown command or flag, missing argument, a value outside its choices). The core's
//! error kinds (`orchestron_core::ErrorKind`) all exit 1; under `--json` the kind is printed,
//! so scripts branch on it instead of on the wording.

use std::io::{self, Write as _};
use std::process::ExitCode;

use orchestron_core::{Error, ErrorKind};
use serde_json::json;

/// The command did what it was asked.
pub(crate) const SUCCESS: ExitCode = ExitCode::SUCCESS;
/// Something failed: bad input, a missing session, a lock timeout, an I/O error.
const FAILURE: u8 = 1;
/// The command line itself was malformed.
const USAGE: u8 = 2;

/// A command that ran to an end its exit code describes, other than success: `workers run`
/// stopped by its budget (3), by a signal or `workers stop` (4), or leaving items blocked
/// (5). Its message goes to stderr as it is (no `error:`), and not at all under `--json`,
/// where the command's own output says it.
#[derive(Debug)]
pub(crate) struct Ended {
    pub(crate) code: u8,
    pub(crate) message: String,
}

impl std::fmt::Display for Ended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Ended {}

/// Print `err` on stderr and return the exit code for it: `error:` and `caused by:` lines and
/// a `hint:`, or with `json` one object `{"error": {"kind", "message", "hint"}}`.
pub(crate) fn report(err: &anyhow::Error, json: bool) -> ExitCode {
    // A closed stdout (`orchestron … | head -1`) is how pipelines end, not a failure.
    if is_broken_pipe(err) {
        return SUCCESS;
    }
    if let Some(ended) = err.downcast_ref::<Ended>() {
        if !json {
            let _ = writeln!(io::stderr().lock(), "{}", ended.message);
        }
        return ExitCode::from(ended.code);
    }
    let hint = err
        .chain()
        .find_map(|cause| cause.downcast_ref::<Error>())
        .and_then(|found| found.hint().map(str::to_owned));
    let mut stderr = io::stderr().lock();
    if json {
        let message = format!("{err:#}");
        write_json(&mut stderr, Error::kind_of(err), &message, hint.as_deref());
        return ExitCode::from(FAILURE);
    }
    let mut causes = err.chain();
    if let Some(top) = causes.next() {
        let _ = writeln!(stderr, "error: {top}");
    }
    for cause in causes {
        let _ = writeln!(stderr, "  caused by: {cause}");
    }
    if let Some(hint) = hint {
        let _ = writeln!(stderr, "hint: {hint}");
    }
    ExitCode::from(FAILURE)
}

/// Print a command-line parse error (or the help and version text clap reports the same
/// way) and return its exit code; under `--json`, the error as one JSON object of kind
/// `invalid`.
pub(crate) fn report_usage(err: &clap::Error, json: bool) -> ExitCode {
    if !err.use_stderr() {
        let _ = err.print();
        return SUCCESS;
    }
    if json {
        let message = usage_message(err);
        write_json(
            &mut io::stderr().lock(),
            ErrorKind::Invalid,
            &message,
            Some("`--help` shows the usage"),
        );
    } else {
        let _ = err.print();
    }
    ExitCode::from(USAGE)
}

/// Report a failure of `orchestron hook`: one line on stderr (Claude Code shows the first
/// line in the transcript), its hint included, exit 1, which never blocks.
pub(crate) fn report_hook(err: &anyhow::Error) -> ExitCode {
    if is_broken_pipe(err) {
        return SUCCESS;
    }
    let hint = err
        .chain()
        .find_map(|cause| cause.downcast_ref::<Error>())
        .and_then(|found| found.hint().map(|hint| format!(" (hint: {hint})")));
    let message = format!("{err:#}{}", hint.unwrap_or_default()).replace('\n', " ");
    let _ = writeln!(io::stderr().lock(), "orchestron hook: {message}");
    ExitCode::from(FAILURE)
}

/// Report a malformed `orchestron hook` command line: exit 1, not clap's 2.
pub(crate) fn report_hook_usage(err: &clap::Error) -> ExitCode {
    if !err.use_stderr() {
        let _ = err.print();
        return SUCCESS;
    }
    let message = usage_message(err);
    let _ = writeln!(io::stderr().lock(), "orchestron hook: {message}");
    ExitCode::from(FAILURE)
}

/// clap's report in one line, without its usage block.
fn usage_message(err: &clap::Error) -> String {
    let rendered = err.to_string();
    let message: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .take_while(|line| !line.starts_with("Usage:"))
        .filter(|line| !line.is_empty())
        .collect();
    let message = message.join(" ");
    message
        .strip_prefix("error: ")
        .unwrap_or(&message)
        .to_owned()
}

fn write_json(stderr: &mut impl io::Write, kind: ErrorKind, message: &str, hint: Option<&str>) {
    let value = json!({"error": {"kind": kind.as_str(), "message": message, "hint": hint}});
    let _ = writeln!(stderr, "{value}");
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
