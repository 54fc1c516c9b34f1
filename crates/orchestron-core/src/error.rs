//! The errors of every operation, typed by what a caller does about them. Each face maps the
//! kind its own way: the CLI to an exit code and `error:`/`hint:` lines, an MCP server to a
//! tool error, a web server to an HTTP status. The core never decides an exit code.

use std::fmt;
use std::path::Path;

/// What kind of failure an error is: what a caller branches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The request itself is wrong: an empty title, a number out of range, an unknown name.
    /// Retrying it unchanged fails the same way.
    Invalid,
    /// What the request names does not exist: an item, a sprint, a session.
    NotFound,
    /// The request is well formed but the state forbids it: an illegal status move, a
    /// dependency cycle, an ambiguous prefix, a session that exists already.
    Conflict,
    /// Another process holds what the request needs (a lock, the database) past the
    /// deadline: retrying later may succeed.
    Busy,
    /// Anything else: an I/O failure, a damaged file, a bug.
    Internal,
}

impl ErrorKind {
    /// The kind as scripts read it: `invalid`, `not_found`, `conflict`, `busy`, `internal`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Invalid => "invalid",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Busy => "busy",
            ErrorKind::Internal => "internal",
        }
    }
}

/// An error of the core: a kind, a message (lowercase, one sentence, identifiers in
/// backticks) and, where there is a fix to suggest, a hint.
///
/// Internal errors keep their cause chain (`source`), so a face can print what failed
/// underneath (`caused by: …`).
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    hint: Option<String>,
    source: Option<anyhow::Error>,
}

/// The result of a core operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            hint: None,
            source: None,
        }
    }

    /// The request is wrong.
    pub fn invalid(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Invalid, message)
    }

    /// What the request names does not exist.
    pub fn not_found(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::NotFound, message)
    }

    /// The state forbids the request.
    pub fn conflict(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Conflict, message)
    }

    /// Something needed is held by another process.
    pub fn busy(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Busy, message)
    }

    /// Anything else.
    pub fn internal(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Internal, message)
    }

    /// The same error with a `hint:` naming the fix.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Error {
        self.hint = Some(hint.into());
        self
    }

    /// No session has the id.
    pub fn session_not_found(id: &str) -> Error {
        Error::not_found(format!("session `{id}` not found")).with_hint(
            "`orchestron session list` shows the sessions there are; \
             state writes accept `--create` to create a missing session",
        )
    }

    /// A session with the id exists already.
    pub fn session_exists(id: &str) -> Error {
        Error::conflict(format!("session `{id}` already exists"))
            .with_hint("pick another `--id`, or leave it out to get a new one")
    }

    /// A lock was not free before the deadline.
    pub fn lock_timeout(path: &Path, waited: &str) -> Error {
        Error::busy(format!(
            "timed out after {waited} waiting for the lock `{}`",
            path.display()
        ))
        .with_hint(
            "another process holds the lock; set `ORCHESTRON_LOCK_TIMEOUT` \
             (such as `30s`) to wait longer",
        )
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// The kind of any error: the first core [`Error`] in its chain decides; a database or
    /// lock that stayed busy is [`ErrorKind::Busy`]; anything else is internal.
    pub fn kind_of(err: &anyhow::Error) -> ErrorKind {
        if let Some(found) = err.chain().find_map(|cause| cause.downcast_ref::<Error>()) {
            return found.kind;
        }
        if err.chain().any(is_busy) {
            return ErrorKind::Busy;
        }
        ErrorKind::Internal
    }
}

/// Whether a cause is SQLite saying the database stayed locked past the busy timeout.
fn is_busy(cause: &(dyn std::error::Error + 'static)) -> bool {
    matches!(
        cause.downcast_ref::<rusqlite::Error>(),
        Some(rusqlite::Error::SqliteFailure(failure, _))
            if matches!(failure.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .and_then(|source| AsRef::<dyn std::error::Error>::as_ref(source).source())
    }
}

impl From<anyhow::Error> for Error {
    /// Keep a core error that travelled through `anyhow` as it was; give any other error its
    /// kind from its chain, keeping the chain.
    fn from(err: anyhow::Error) -> Error {
        // Only an error that is itself the outermost is taken as it is: `anyhow` would also
        // hand out one that sits under a context, losing that context's message.
        let err = if err.chain().next().is_some_and(|top| top.is::<Error>()) {
            match err.downcast::<Error>() {
                Ok(error) => return error,
                Err(err) => err,
            }
        } else {
            err
        };
        let found = err
            .chain()
            .find_map(|cause| cause.downcast_ref::<Error>())
            .map(|inner| (inner.kind, inner.hint.clone()));
        let (kind, hint) = match found {
            Some((kind, hint)) => (kind, hint),
            None if err.chain().any(is_busy) => (
                ErrorKind::Busy,
                Some(
                    "another process is writing the tracker; set \
                     `ORCHESTRON_LOCK_TIMEOUT` (such as `30s`) to wait longer"
                        .to_owned(),
                ),
            ),
            None => (ErrorKind::Internal, None),
        };
        Error {
            kind,
            message: err.to_string(),
            hint,
            source: Some(err),
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(err: rusqlite::Error) -> Error {
        Error::from(anyhow::Error::new(err))
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Error {
        Error::from(anyhow::Error::new(err))
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Error {
        Error::from(anyhow::Error::new(err))
    }
}

/// An invalid-input error with a hint, as an `anyhow::Error` for code that reports through
/// `anyhow`.
pub fn hinted(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    Error::invalid(message).with_hint(hint).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context as _;

    #[test]
    fn a_core_error_keeps_its_kind_and_hint_through_anyhow_context() {
        let err: anyhow::Error = Error::not_found("item `x` not found")
            .with_hint("look")
            .into();
        let wrapped = Err::<(), _>(err).context("cannot show it").unwrap_err();
        assert_eq!(Error::kind_of(&wrapped), ErrorKind::NotFound);
        let back = Error::from(wrapped);
        assert_eq!(back.kind(), ErrorKind::NotFound);
        assert_eq!(back.hint(), Some("look"));
        assert_eq!(back.message(), "cannot show it");
    }

    #[test]
    fn other_errors_are_internal_and_keep_their_cause() {
        let io = std::io::Error::other("disk on fire");
        let err = Error::from(anyhow::Error::new(io).context("cannot write `x`"));
        assert_eq!(err.kind(), ErrorKind::Internal);
        assert_eq!(
            std::error::Error::source(&err).map(ToString::to_string),
            Some("disk on fire".to_owned())
        );
    }
}
