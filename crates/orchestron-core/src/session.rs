//! The rules of a session, as pure functions over its JSON document: modes and their expiry,
//! statuses, the document shape, lifecycle transitions and the bounded event log.
//!
//! This module does no I/O and reads no clock: callers pass "now" and the expiry of each
//! mode. The document is kept as a `serde_json::Value` because `orchestron state` may write
//! anything anywhere in it; every rule here therefore reads fields defensively and fails with
//! a message, never a panic, when a document has been bent out of shape.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};

use crate::error::hinted;

/// The version of the session document format this binary writes.
pub const SCHEMA_VERSION: u64 = 1;

/// How many events a document keeps; older ones survive only in `event_counts`.
pub const MAX_EVENTS: usize = 100;

pub use crate::config::Mode;

/// A session's status. `Expired` is never stored: an active or paused session whose expiry
/// has passed is expired, whether or not anyone ran a cleanup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    Paused,
    Completed,
    Failed,
    Expired,
}

impl Status {
    pub const NAMES: [&'static str; 5] = ["active", "paused", "completed", "failed", "expired"];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Paused => "paused",
            Status::Completed => "completed",
            Status::Failed => "failed",
            Status::Expired => "expired",
        }
    }

    pub fn is_ended(self) -> bool {
        matches!(self, Status::Completed | Status::Failed)
    }
}

impl FromStr for Status {
    type Err = anyhow::Error;

    fn from_str(raw: &str) -> anyhow::Result<Status> {
        Status::NAMES
            .iter()
            .position(|name| *name == raw)
            .map(|index| {
                [
                    Status::Active,
                    Status::Paused,
                    Status::Completed,
                    Status::Failed,
                    Status::Expired,
                ][index]
            })
            .ok_or_else(|| anyhow::anyhow!("unknown status `{raw}`"))
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a new session is made of.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: String,
    pub mode: Mode,
    pub project: Option<String>,
    pub parent_session: Option<String>,
    pub metadata: Map<String, Value>,
    pub created_by: String,
}

/// Record where a session runs: `session.worktree`, the checkout it started in (a git
/// worktree's own folder, while its state is the repository's), and `session.branch`, the
/// branch checked out there. Views show them; nothing else reads them.
pub fn record_checkout(document: &mut Value, worktree: Option<&str>, branch: Option<&str>) {
    if let Some(session) = document.get_mut("session").and_then(Value::as_object_mut) {
        session.insert("worktree".to_owned(), json!(worktree));
        session.insert("branch".to_owned(), json!(branch));
    }
}

/// The document of a new session, in the V2 shape, with its `session_created` event.
pub fn new_document(new: &NewSession, now: Timestamp, lifetime: Duration) -> Value {
    let at = format_time(now);
    let mut document = json!({
        "schema_version": SCHEMA_VERSION,
        "session": {
            "id": new.id,
            "mode": new.mode.as_str(),
            "project": new.project,
            "parent_session": new.parent_session,
            "created_at": at,
            "created_by": new.created_by,
            "metadata": new.metadata,
            "lifecycle": {
                "status": Status::Active.as_str(),
                "last_activity": at,
                "heartbeat": at,
                "expiry": format_time(expiry_after(now, lifetime)),
            },
        },
        "execution": {
            "agents": {},
            "tasks": {},
            "workflows": {},
            "context": {"project": new.project, "parent_session": new.parent_session},
        },
        "observability": {
            "metrics": {
                "start_time": at,
                "heartbeat_count": 0,
                "task_count": 0,
                "agent_count": 0,
            },
            "events": [],
            "event_counts": {},
        },
    });
    push_event(
        &mut document,
        now,
        "session_created",
        json!({"mode": new.mode.as_str()}),
    );
    document
}

/// The facts of a document the lifecycle rules need.
#[derive(Debug, Clone)]
pub struct Lifecycle {
    pub id: String,
    pub mode: Mode,
    /// The status as stored (never `Expired`).
    pub stored: Status,
    pub expiry: Timestamp,
}

impl Lifecycle {
    /// Read the lifecycle of `document`, or say which field is missing or malformed.
    pub fn of(document: &Value) -> anyhow::Result<Lifecycle> {
        let field = |pointer: &str| {
            document
                .pointer(pointer)
                .and_then(Value::as_str)
                .ok_or_else(|| anyhow::anyhow!("the document has no string at `{pointer}`"))
        };
        let stored: Status = field("/session/lifecycle/status")?.parse()?;
        anyhow::ensure!(
            stored != Status::Expired,
            "`expired` is never stored as a status"
        );
        Ok(Lifecycle {
            id: field("/session/id")?.to_owned(),
            mode: field("/session/mode")?.parse()?,
            stored,
            expiry: parse_time(field("/session/lifecycle/expiry")?)?,
        })
    }

    /// The status as of `now`: `Expired` once an active or paused session is past its expiry.
    pub fn status(&self, now: Timestamp) -> Status {
        if !self.stored.is_ended() && now > self.expiry {
            Status::Expired
        } else {
            self.stored
        }
    }
}

/// A refusal that points to `session recover`.
fn refuse(id: &str, status: Status, action: &str) -> anyhow::Error {
    hinted(
        format!("cannot {action} session `{id}`: it is {status}"),
        format!("`orchestron session recover {id}` makes it active again"),
    )
}

/// Record a heartbeat: heartbeat = last_activity = now, expiry = now + lifetime, one more
/// `heartbeat_count`. Ended and expired sessions are refused.
pub fn heartbeat(document: &mut Value, now: Timestamp, lifetime: Duration) -> anyhow::Result<()> {
    let lifecycle = Lifecycle::of(document)?;
    let status = lifecycle.status(now);
    if status.is_ended() || status == Status::Expired {
        return Err(refuse(&lifecycle.id, status, "heartbeat"));
    }
    let expiry = format_time(expiry_after(now, lifetime));
    let at = format_time(now);
    set(document, &["session", "lifecycle", "heartbeat"], json!(at))?;
    set(document, &["session", "lifecycle", "expiry"], json!(expiry))?;
    let count = document
        .pointer("/observability/metrics/heartbeat_count")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    set(
        document,
        &["observability", "metrics", "heartbeat_count"],
        json!(count + 1),
    )?;
    touch(document, now);
    push_event(
        document,
        now,
        "heartbeat",
        json!({"extended_expiry": expiry}),
    );
    Ok(())
}

/// Make a session active again. Returns the real previous status (`expired` included), or
/// `None` when it was already active and nothing changed.
pub fn recover(
    document: &mut Value,
    now: Timestamp,
    lifetime: Duration,
) -> anyhow::Result<Option<Status>> {
    let previous = Lifecycle::of(document)?.status(now);
    if previous == Status::Active {
        return Ok(None);
    }
    reactivate(document, now, lifetime)?;
    set(
        document,
        &["session", "lifecycle", "previous_status"],
        json!(previous.as_str()),
    )?;
    push_event(
        document,
        now,
        "session_recovered",
        json!({"previous_status": previous.as_str()}),
    );
    Ok(Some(previous))
}

/// End a session as `completed` or `failed`. Ending it again with the same status changes
/// nothing (returns false); with the other status it is refused.
pub fn end(document: &mut Value, now: Timestamp, status: Status) -> anyhow::Result<bool> {
    anyhow::ensure!(status.is_ended(), "a session ends `completed` or `failed`");
    let lifecycle = Lifecycle::of(document)?;
    if lifecycle.stored == status {
        return Ok(false);
    }
    if lifecycle.stored.is_ended() {
        return Err(refuse(&lifecycle.id, lifecycle.stored, "end"));
    }
    finish(document, now, status)?;
    push_event(
        document,
        now,
        "session_ended",
        json!({"status": status.as_str()}),
    );
    Ok(true)
}

/// Switch a session to `mode`: its expiry moves to now + the new mode's `lifetime`, and a
/// `mode_changed` event records the switch. Ended and expired sessions are refused; the
/// same mode changes nothing (returns false).
pub fn set_mode(
    document: &mut Value,
    now: Timestamp,
    mode: Mode,
    lifetime: Duration,
) -> anyhow::Result<bool> {
    let lifecycle = Lifecycle::of(document)?;
    let status = lifecycle.status(now);
    if status.is_ended() || status == Status::Expired {
        return Err(refuse(&lifecycle.id, status, "switch the mode of"));
    }
    if lifecycle.mode == mode {
        return Ok(false);
    }
    set(document, &["session", "mode"], json!(mode.as_str()))?;
    set(
        document,
        &["session", "lifecycle", "expiry"],
        json!(format_time(expiry_after(now, lifetime))),
    )?;
    touch(document, now);
    push_event(
        document,
        now,
        "mode_changed",
        json!({"from": lifecycle.mode.as_str(), "to": mode.as_str()}),
    );
    Ok(true)
}

/// Record the output style Claude Code applied when the session (re)started, from its
/// `outputStyle` setting; `None` is its default style.
pub fn record_output_style(document: &mut Value, setting: Option<&str>) {
    if let Some(session) = document.get_mut("session").and_then(Value::as_object_mut) {
        session.insert("output_style".to_owned(), json!(setting));
    }
}

/// The output style recorded by [`record_output_style`].
pub fn output_style(document: &Value) -> Option<String> {
    document
        .pointer("/session/output_style")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Why a session waits for a person, as a `Notification` tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    /// A tool call waits for permission (`permission_prompt`).
    Permission,
    /// A question or a form waits for an answer (`elicitation_dialog`).
    Input,
    /// The agent finished and waits for the next prompt (`idle_prompt`).
    Idle,
}

impl Waiting {
    pub fn as_str(self) -> &'static str {
        match self {
            Waiting::Permission => "permission",
            Waiting::Input => "input",
            Waiting::Idle => "idle",
        }
    }
}

/// What a `Notification` says of the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notified {
    /// It waits for a person.
    Waiting(Waiting),
    /// The person answered (`elicitation_complete`, `elicitation_response`).
    Answered,
    /// Something else (`auth_success`, a type this version does not know): no change.
    Informed,
}

impl Notified {
    /// Read a notification's `notification_type`, or, from versions that send none, its
    /// `message` ("Claude needs your permission to use Bash", "Claude is waiting for your
    /// input").
    pub fn of(kind: Option<&str>, message: Option<&str>) -> Notified {
        match kind {
            Some("permission_prompt") => Notified::Waiting(Waiting::Permission),
            Some("idle_prompt") => Notified::Waiting(Waiting::Idle),
            Some("elicitation_dialog") => Notified::Waiting(Waiting::Input),
            Some("elicitation_complete" | "elicitation_response") => Notified::Answered,
            Some(_) => Notified::Informed,
            None => match message {
                Some(text) if text.contains("permission") => Notified::Waiting(Waiting::Permission),
                Some(text) if text.contains("waiting for your input") => {
                    Notified::Waiting(Waiting::Idle)
                }
                _ => Notified::Waiting(Waiting::Input),
            },
        }
    }
}

/// Record what a `Notification` says: a session that waits for a person gets
/// `session.waiting = {"since", "reason", "message"}` (kept until its next prompt, tool
/// call or Stop, [`clear_waiting`]) and a `waiting` event; an answer clears it. `message` is
/// recorded as given (the caller bounds it).
pub fn record_notification(
    document: &mut Value,
    now: Timestamp,
    notified: Notified,
    message: Option<&str>,
) {
    // An ended session waits for nobody: what Claude Code says after the end is not kept.
    let ended = Lifecycle::of(document).is_ok_and(|lifecycle| lifecycle.stored.is_ended());
    match notified {
        Notified::Waiting(_) if ended => clear_waiting(document),
        Notified::Waiting(reason) => {
            let since = match waiting(document) {
                // The same wait, told again (a second idle reminder): it began earlier.
                Some(current) if current["reason"] == reason.as_str() => current["since"].clone(),
                _ => json!(format_time(now)),
            };
            if let Some(session) = document.get_mut("session").and_then(Value::as_object_mut) {
                session.insert(
                    "waiting".to_owned(),
                    json!({"since": since, "reason": reason.as_str(), "message": message}),
                );
            }
            push_event(document, now, "waiting", json!({"reason": reason.as_str()}));
        }
        Notified::Answered => clear_waiting(document),
        Notified::Informed => {}
    }
}

/// The files a session edited (`execution.files`), the one edited last first (ties by path),
/// so that a list cut short keeps the latest. For handoffs, snapshots and the hooks' own
/// compaction snapshot.
pub fn files_by_last_edit(document: &Value) -> Vec<&str> {
    let mut files: Vec<(&str, &str)> = document
        .pointer("/execution/files")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(path, file)| {
            let at = file.get("last_edit").and_then(Value::as_str).unwrap_or("");
            (at, path.as_str())
        })
        .collect();
    files.sort_unstable_by(|a, b| b.0.cmp(a.0).then(a.1.cmp(b.1)));
    files.into_iter().map(|(_, path)| path).collect()
}

/// The session no longer waits for a person: its next prompt, tool call or Stop came.
pub fn clear_waiting(document: &mut Value) {
    if let Some(session) = document.get_mut("session").and_then(Value::as_object_mut) {
        session.remove("waiting");
    }
}

/// What the session waits for, if it waits for a person and has not ended:
/// `{"since", "reason", "message"}`.
pub fn waiting(document: &Value) -> Option<&Value> {
    let ended = document
        .pointer("/session/lifecycle/status")
        .and_then(Value::as_str)
        .and_then(|status| status.parse::<Status>().ok())
        .is_some_and(Status::is_ended);
    document
        .pointer("/session/waiting")
        .filter(|waiting| waiting.is_object() && !ended)
}

/// How long a session has run, as the views show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunTime {
    /// Seconds since it was created: it has not ended, so this grows.
    Up(i64),
    /// Seconds from its creation to its end (`lifecycle.ended_at`, else its last activity):
    /// fixed once it has ended.
    Ran(i64),
}

/// How long the session has run as of `now`; `None` when its creation time cannot be read.
pub fn run_time(document: &Value, now: Timestamp) -> Option<RunTime> {
    let time = |pointer: &str| {
        document
            .pointer(pointer)
            .and_then(Value::as_str)
            .and_then(|raw| parse_time(raw).ok())
    };
    let created = time("/session/created_at")?;
    let ended = document
        .pointer("/session/lifecycle/status")
        .and_then(Value::as_str)
        .and_then(|status| status.parse::<Status>().ok())
        .is_some_and(Status::is_ended);
    let seconds = |to: Timestamp| to.duration_since(created).as_secs().max(0);
    if ended {
        let end = time("/session/lifecycle/ended_at")
            .or_else(|| time("/session/lifecycle/last_activity"))
            .unwrap_or(now);
        return Some(RunTime::Ran(seconds(end)));
    }
    Some(RunTime::Up(seconds(now)))
}

/// Pause an active session with a reason. Returns false when it was already paused for the
/// same reason.
pub fn pause(document: &mut Value, now: Timestamp, reason: &str) -> anyhow::Result<bool> {
    let lifecycle = Lifecycle::of(document)?;
    let status = lifecycle.status(now);
    let same_reason = document
        .pointer("/session/lifecycle/pause_reason")
        .and_then(Value::as_str)
        == Some(reason);
    match status {
        Status::Paused if same_reason => return Ok(false),
        Status::Active | Status::Paused => {}
        _ => return Err(refuse(&lifecycle.id, status, "pause")),
    }
    set(
        document,
        &["session", "lifecycle", "status"],
        json!(Status::Paused.as_str()),
    )?;
    set(
        document,
        &["session", "lifecycle", "pause_reason"],
        json!(reason),
    )?;
    set(
        document,
        &["session", "lifecycle", "paused_at"],
        json!(format_time(now)),
    )?;
    touch(document, now);
    push_event(document, now, "session_paused", json!({"reason": reason}));
    Ok(true)
}

/// Resume a paused session. Returns false when it was already active.
pub fn resume(document: &mut Value, now: Timestamp, lifetime: Duration) -> anyhow::Result<bool> {
    let lifecycle = Lifecycle::of(document)?;
    match lifecycle.status(now) {
        Status::Active => return Ok(false),
        Status::Paused => {}
        status => return Err(refuse(&lifecycle.id, status, "resume")),
    }
    reactivate(document, now, lifetime)?;
    push_event(document, now, "session_resumed", json!({}));
    Ok(true)
}

/// A session can hand off unless it has ended: an ended session's work was handed on or
/// abandoned already. A paused or expired one can, so that a new session picks up its work.
pub fn check_hand_off_from(from: &Value, now: Timestamp) -> anyhow::Result<Lifecycle> {
    let source = Lifecycle::of(from)?;
    let status = source.status(now);
    if status.is_ended() {
        return Err(refuse(&source.id, status, "hand off from"));
    }
    Ok(source)
}

/// Hand `from`'s context to `to`: `to` receives `execution.inherited_context` and a
/// `handoff_received` event; `from` ends `completed` with a `handoff_completed` event.
pub fn handoff(
    from: &mut Value,
    to: &mut Value,
    now: Timestamp,
    handoff_data: &Map<String, Value>,
) -> anyhow::Result<()> {
    let source = check_hand_off_from(from, now)?;
    let target = Lifecycle::of(to)?;
    let target_status = target.status(now);
    if target_status.is_ended() || target_status == Status::Expired {
        return Err(refuse(&target.id, target_status, "hand off to"));
    }
    let context = from
        .pointer("/execution/context")
        .cloned()
        .unwrap_or_else(|| json!({}));
    set(
        to,
        &["execution", "inherited_context"],
        json!({
            "from_session": source.id,
            "timestamp": format_time(now),
            "context": context,
            "handoff_data": handoff_data,
        }),
    )?;
    touch(to, now);
    push_event(
        to,
        now,
        "handoff_received",
        json!({"from_session": source.id, "handoff_data": handoff_data}),
    );
    finish(from, now, Status::Completed)?;
    push_event(
        from,
        now,
        "handoff_completed",
        json!({"to_session": target.id}),
    );
    Ok(())
}

/// One line of `session list`: the V2 summary fields, with the status as of `now`.
pub fn summary(document: &Value, now: Timestamp) -> Value {
    let at = |pointer: &str| document.pointer(pointer).cloned().unwrap_or(Value::Null);
    let status = Lifecycle::of(document)
        .map(|lifecycle| json!(lifecycle.status(now).as_str()))
        .unwrap_or_else(|_| at("/session/lifecycle/status"));
    let mut summary = json!({
        "id": at("/session/id"),
        "mode": at("/session/mode"),
        "project": at("/session/project"),
        "status": status,
        "created_at": at("/session/created_at"),
        "last_activity": at("/session/lifecycle/last_activity"),
        "heartbeat": at("/session/lifecycle/heartbeat"),
        "expiry": at("/session/lifecycle/expiry"),
        "parent_session": at("/session/parent_session"),
        "metrics": at("/observability/metrics"),
    });
    // Where a session the hooks created runs (`record_checkout`); others have no such keys.
    for key in ["worktree", "branch", "agent"] {
        if let Some(value) = document.pointer(&format!("/session/{key}")) {
            summary[key] = value.clone();
        }
    }
    summary
}

/// Record activity: `session.lifecycle.last_activity = now`, when the document has a
/// lifecycle to record it in.
pub fn touch(document: &mut Value, now: Timestamp) {
    if let Some(lifecycle) = document
        .pointer_mut("/session/lifecycle")
        .and_then(Value::as_object_mut)
    {
        lifecycle.insert("last_activity".to_owned(), json!(format_time(now)));
    }
}

/// Append an event, keep only the last [`MAX_EVENTS`], and count it in `event_counts`.
pub fn push_event(document: &mut Value, now: Timestamp, kind: &str, data: Value) {
    let Some(observability) = document
        .as_object_mut()
        .map(|root| root.entry("observability").or_insert_with(|| json!({})))
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let counts = observability
        .entry("event_counts")
        .or_insert_with(|| json!({}));
    if let Some(counts) = counts.as_object_mut() {
        let count = counts.get(kind).and_then(Value::as_u64).unwrap_or(0);
        counts.insert(kind.to_owned(), json!(count + 1));
    }
    let events = observability.entry("events").or_insert_with(|| json!([]));
    if let Some(events) = events.as_array_mut() {
        events.push(json!({"timestamp": format_time(now), "type": kind, "data": data}));
        if events.len() > MAX_EVENTS {
            events.drain(..events.len() - MAX_EVENTS);
        }
    }
}

/// The verdict of a stored test run (`execution.tests.last`, a handoff's `last_test`):
/// `passed`, `FAILED`, or `None` when it says neither. The one definition every view uses.
pub fn test_verdict(last: &Value) -> Option<&'static str> {
    last.get("passed").and_then(Value::as_bool).map(verdict)
}

/// How a test run's outcome reads: `passed` or `FAILED`.
pub fn verdict(passed: bool) -> &'static str {
    if passed { "passed" } else { "FAILED" }
}

/// A stored test run in one phrase: ``test run passed: `cargo test` ``.
pub fn describe_test_run(last: &Value) -> Option<String> {
    let verdict = test_verdict(last)?;
    let command = last.get("command").and_then(Value::as_str).unwrap_or("?");
    Some(format!("test run {verdict}: `{command}`"))
}

/// An RFC 3339 UTC timestamp to the millisecond, such as `2026-11-22T10:00:00.123Z`.
pub fn format_time(time: Timestamp) -> String {
    time.round(jiff::Unit::Millisecond)
        .unwrap_or(time)
        .to_string()
}

/// Parse an RFC 3339 timestamp; one without an offset is refused, since it names no instant.
pub fn parse_time(raw: &str) -> anyhow::Result<Timestamp> {
    raw.parse::<Timestamp>()
        .map_err(|err| anyhow::anyhow!("`{raw}` is not an RFC 3339 time with an offset: {err}"))
}

fn expiry_after(now: Timestamp, lifetime: Duration) -> Timestamp {
    SignedDuration::try_from(lifetime)
        .ok()
        .and_then(|lifetime| now.checked_add(lifetime).ok())
        .unwrap_or(Timestamp::MAX)
}

/// Active again from `now`: status, heartbeat, activity and expiry, without the marks of
/// having been paused or ended.
fn reactivate(document: &mut Value, now: Timestamp, lifetime: Duration) -> anyhow::Result<()> {
    let at = format_time(now);
    set(
        document,
        &["session", "lifecycle", "status"],
        json!(Status::Active.as_str()),
    )?;
    set(document, &["session", "lifecycle", "heartbeat"], json!(at))?;
    set(
        document,
        &["session", "lifecycle", "expiry"],
        json!(format_time(expiry_after(now, lifetime))),
    )?;
    if let Some(lifecycle) = document
        .pointer_mut("/session/lifecycle")
        .and_then(Value::as_object_mut)
    {
        for mark in ["pause_reason", "paused_at", "ended_at"] {
            lifecycle.remove(mark);
        }
    }
    touch(document, now);
    Ok(())
}

fn finish(document: &mut Value, now: Timestamp, status: Status) -> anyhow::Result<()> {
    set(
        document,
        &["session", "lifecycle", "status"],
        json!(status.as_str()),
    )?;
    set(
        document,
        &["session", "lifecycle", "ended_at"],
        json!(format_time(now)),
    )?;
    touch(document, now);
    Ok(())
}

/// Set `value` at `keys`, creating missing objects on the way.
fn set(document: &mut Value, keys: &[&str], value: Value) -> anyhow::Result<()> {
    let (last, parents) = keys.split_last().expect("a non-empty key path");
    let mut node = document;
    for key in parents {
        node = node
            .as_object_mut()
            .ok_or_else(|| anyhow::anyhow!("the document's `{key}` has an unexpected shape"))?
            .entry(*key)
            .or_insert_with(|| json!({}));
    }
    node.as_object_mut()
        .ok_or_else(|| anyhow::anyhow!("the document's `{last}` has an unexpected shape"))?
        .insert((*last).to_owned(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_run_is_described_one_way() {
        let passed = json!({"command": "cargo test", "passed": true});
        let failed = json!({"command": "pytest -x", "passed": false});
        assert_eq!(
            describe_test_run(&passed).as_deref(),
            Some("test run passed: `cargo test`")
        );
        assert_eq!(
            describe_test_run(&failed).as_deref(),
            Some("test run FAILED: `pytest -x`")
        );
        assert_eq!(test_verdict(&json!({"command": "x"})), None);
        assert_eq!(describe_test_run(&json!(null)), None);
    }

    fn now() -> Timestamp {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    fn later(hours: i64) -> Timestamp {
        now()
            .checked_add(SignedDuration::from_hours(hours))
            .unwrap()
    }

    fn document(mode: Mode) -> Value {
        let new = NewSession {
            id: "s1".into(),
            mode,
            project: Some("p".into()),
            parent_session: None,
            metadata: Map::new(),
            created_by: "test".into(),
        };
        new_document(&new, now(), mode.default_expiry())
    }

    #[test]
    fn expiry_follows_mode_and_time_alone() {
        for (mode, hours) in [
            (Mode::Development, 24),
            (Mode::Leadership, 48),
            (Mode::Sprint, 168),
            (Mode::Config, 1),
        ] {
            let lifecycle = Lifecycle::of(&document(mode)).unwrap();
            assert_eq!(lifecycle.status(later(hours)), Status::Active, "{mode}");
            assert_eq!(
                lifecycle.status(later(hours + 1)),
                Status::Expired,
                "{mode}"
            );
        }
    }

    #[test]
    fn heartbeat_extends_and_counts() {
        let mut doc = document(Mode::Config);
        heartbeat(&mut doc, now(), Mode::Config.default_expiry()).unwrap();
        heartbeat(&mut doc, now(), Mode::Config.default_expiry()).unwrap();
        assert_eq!(doc["observability"]["metrics"]["heartbeat_count"], 2);
        assert_eq!(doc["observability"]["event_counts"]["heartbeat"], 2);
        let err = heartbeat(&mut doc, later(2), Mode::Config.default_expiry()).unwrap_err();
        assert!(err.to_string().contains("expired"), "{err}");
    }

    #[test]
    fn recover_records_the_real_previous_status() {
        let mut doc = document(Mode::Config);
        assert_eq!(
            recover(&mut doc, now(), Duration::from_secs(3600)).unwrap(),
            None
        );
        let previous = recover(&mut doc, later(5), Duration::from_secs(3600)).unwrap();
        assert_eq!(previous, Some(Status::Expired));
        assert_eq!(doc["session"]["lifecycle"]["previous_status"], "expired");
        assert_eq!(
            Lifecycle::of(&doc).unwrap().status(later(5)),
            Status::Active
        );
    }

    #[test]
    fn events_are_bounded_but_counted() {
        let mut doc = document(Mode::Development);
        for _ in 0..250 {
            heartbeat(&mut doc, now(), Duration::from_secs(60)).unwrap();
        }
        assert_eq!(
            doc["observability"]["events"].as_array().unwrap().len(),
            MAX_EVENTS
        );
        assert_eq!(doc["observability"]["event_counts"]["heartbeat"], 250);
        assert_eq!(doc["observability"]["event_counts"]["session_created"], 1);
    }

    #[test]
    fn end_pause_resume() {
        let mut doc = document(Mode::Development);
        assert!(pause(&mut doc, now(), "lunch").unwrap());
        assert!(!pause(&mut doc, now(), "lunch").unwrap());
        assert!(resume(&mut doc, now(), Duration::from_secs(60)).unwrap());
        assert!(!resume(&mut doc, now(), Duration::from_secs(60)).unwrap());
        assert!(end(&mut doc, now(), Status::Failed).unwrap());
        assert!(!end(&mut doc, now(), Status::Failed).unwrap());
        assert!(end(&mut doc, now(), Status::Completed).is_err());
        assert!(pause(&mut doc, now(), "x").is_err());
    }

    #[test]
    fn offsetless_times_are_refused() {
        assert!(parse_time("2026-01-01T00:00:00").is_err());
        assert!(parse_time("2026-01-01T00:00:00+02:00").is_ok());
    }
}
