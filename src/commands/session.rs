//! `orchestron session …`: create, list, inspect and move sessions through their lifecycle.

use serde_json::{Map, Value, json};

use super::parse_object;
use crate::cli::SessionCommand;
use crate::context::Context;
use crate::ids::SessionId;
use crate::output::{Output, warn};
use crate::session::{self, Lifecycle, Mode, NewSession, Status};
use crate::store::Outcome;
use orchestron_core::{Error, ErrorKind};

/// Who `session.created_by` names for sessions made from the command line.
const CREATED_BY: &str = "orchestron";

pub(super) fn run(
    context: &Context,
    out: &mut Output,
    command: SessionCommand,
) -> anyhow::Result<()> {
    match command {
        SessionCommand::Create {
            mode,
            project,
            parent_session,
            metadata,
            id,
        } => {
            let chosen = id.map(|raw| SessionId::parse(&raw)).transpose()?;
            let parent_session = parent_session
                .map(|raw| SessionId::parse(&raw).map(|id| id.to_string()))
                .transpose()?;
            let metadata = metadata
                .map(|raw| parse_object(&raw, "--metadata"))
                .transpose()?
                .unwrap_or_default();
            let mut new = NewSession {
                id: String::new(),
                mode,
                project: project.or_else(|| context.default_project()),
                parent_session,
                metadata,
                created_by: CREATED_BY.to_owned(),
            };
            let id = match chosen {
                Some(id) => {
                    new.id = id.to_string();
                    create(context, &id, &new)?;
                    id
                }
                None => create_with_new_id(context, &mut new)?,
            };
            if out.json() {
                out.json_line(&json!({"session_id": id.as_str()}))?;
            } else {
                out.line(id.as_str())?;
            }
            Ok(())
        }
        SessionCommand::List {
            active,
            project,
            mode,
            status,
        } => list(context, out, active, project, mode, status),
        SessionCommand::Info { id } => info(context, out, &SessionId::parse(&id)?),
        SessionCommand::Current => info(context, out, &context.current_session()?),
        SessionCommand::Heartbeat { id } => {
            let id = SessionId::parse(&id)?;
            let config = context.config()?;
            let (count, expiry) = update(context, &id, |document| {
                let mode = Lifecycle::of(document)?.mode;
                session::heartbeat(document, context.now, config.expiry(mode))?;
                let count = document["observability"]["metrics"]["heartbeat_count"].clone();
                let expiry = document["session"]["lifecycle"]["expiry"].clone();
                Ok((true, (count, expiry)))
            })?;
            let (count, expiry) = (&count, &expiry);
            report(
                out,
                json!({"success": true, "session_id": id.as_str(), "heartbeat_count": count,
                       "expiry": expiry}),
                &format!("{id}: heartbeat {count}, expires {}", plain(expiry)),
            )
        }
        SessionCommand::Recover { id } => {
            let id = SessionId::parse(&id)?;
            let config = context.config()?;
            let mut previous = None;
            update(context, &id, |document| {
                let mode = Lifecycle::of(document)?.mode;
                previous = session::recover(document, context.now, config.expiry(mode))?;
                Ok((previous.is_some(), ()))
            })?;
            let was = previous.unwrap_or(Status::Active);
            let text = match previous {
                Some(previous) => format!("{id}: active again (was {previous})"),
                None => format!("{id}: already active"),
            };
            report(
                out,
                json!({"success": true, "session_id": id.as_str(), "status": "active",
                       "previous_status": was.as_str(), "changed": previous.is_some()}),
                &text,
            )
        }
        SessionCommand::End { id, status } => {
            let id = SessionId::parse(&id)?;
            let mut changed = false;
            update(context, &id, |document| {
                changed = session::end(document, context.now, status)?;
                Ok((changed, ()))
            })?;
            report(
                out,
                json!({"success": true, "session_id": id.as_str(), "status": status.as_str(),
                       "changed": changed}),
                &format!("{id}: {status}"),
            )
        }
        SessionCommand::Pause { id, reason } => {
            let id = SessionId::parse(&id)?;
            let mut changed = false;
            update(context, &id, |document| {
                changed = session::pause(document, context.now, &reason)?;
                Ok((changed, ()))
            })?;
            report(
                out,
                json!({"success": true, "session_id": id.as_str(), "status": "paused",
                       "reason": reason, "changed": changed}),
                &format!("{id}: paused ({reason})"),
            )
        }
        SessionCommand::Resume { id } => {
            let id = SessionId::parse(&id)?;
            let config = context.config()?;
            let mut changed = false;
            update(context, &id, |document| {
                let mode = Lifecycle::of(document)?.mode;
                changed = session::resume(document, context.now, config.expiry(mode))?;
                Ok((changed, ()))
            })?;
            report(
                out,
                json!({"success": true, "session_id": id.as_str(), "status": "active",
                       "changed": changed}),
                &format!("{id}: active"),
            )
        }
        SessionCommand::Handoff { from, to, data } => {
            let from = SessionId::parse(&from)?;
            let to = SessionId::parse(&to)?;
            let data = data
                .map(|raw| parse_object(&raw, "--data"))
                .transpose()?
                .unwrap_or_default();
            let created = handoff(context, &from, &to, &data)?;
            report(
                out,
                json!({"success": true, "from_session": from.as_str(),
                       "to_session": to.as_str(), "created": created}),
                &format!("{from} -> {to}{}", if created { " (created)" } else { "" }),
            )
        }
    }
}

/// Create a session under a generated id. An id already taken is passed over for the next
/// one: with `ORCHESTRON_ID_SEED` every process starts the same sequence, so a test that
/// creates two sessions gets the first two ids of it, reproducibly.
fn create_with_new_id(context: &Context, new: &mut NewSession) -> anyhow::Result<SessionId> {
    const ATTEMPTS: usize = 1000;
    for _ in 0..ATTEMPTS {
        let id = SessionId::parse(&context.new_id())?;
        new.id = id.to_string();
        match create(context, &id, new) {
            Err(err) if Error::kind_of(&err) == ErrorKind::Conflict => continue,
            other => return other.map(|()| id),
        }
    }
    anyhow::bail!("found no free session id in {ATTEMPTS} attempts")
}

/// Write a new session document; an existing one is refused.
fn create(context: &Context, id: &SessionId, new: &NewSession) -> anyhow::Result<()> {
    let lifetime = context.config()?.expiry(new.mode);
    let document = session::new_document(new, context.now, lifetime);
    context.store()?.transact(id, |current| match current {
        Some(_) => Err(Error::session_exists(id.as_str()).into()),
        None => Ok((Outcome::Replace(document), ())),
    })
}

/// Change an existing session under its lock: `change` says whether it changed anything,
/// and what to report.
fn update<T>(
    context: &Context,
    id: &SessionId,
    change: impl FnOnce(&mut Value) -> anyhow::Result<(bool, T)>,
) -> anyhow::Result<T> {
    context.store()?.update(id, change)
}

/// Hand `from` off to `to`, creating `to` when missing. Returns whether `to` was created.
fn handoff(
    context: &Context,
    from: &SessionId,
    to: &SessionId,
    data: &Map<String, Value>,
) -> anyhow::Result<bool> {
    anyhow::ensure!(from != to, "cannot hand session `{from}` off to itself");
    let store = context.store()?;
    // Checked before any lock file is made for `to`, and again under the locks.
    session::check_hand_off_from(&store.read(from)?, context.now)?;
    let config = context.config()?;
    store.transact_pair(to, from, |target, source| {
        let mut source = source.ok_or_else(|| Error::session_not_found(from.as_str()))?;
        let created = target.is_none();
        let mut target = match target {
            Some(target) => target,
            None => {
                let mode = Lifecycle::of(&source)?.mode;
                let new = NewSession {
                    id: to.to_string(),
                    mode,
                    project: source["session"]["project"].as_str().map(str::to_owned),
                    parent_session: Some(from.to_string()),
                    metadata: Map::new(),
                    created_by: CREATED_BY.to_owned(),
                };
                session::new_document(&new, context.now, config.expiry(mode))
            }
        };
        session::handoff(&mut source, &mut target, context.now, data)?;
        Ok((Outcome::Replace(target), Outcome::Replace(source), created))
    })
}

fn list(
    context: &Context,
    out: &mut Output,
    active: bool,
    project: Option<String>,
    mode: Option<Mode>,
    status: Option<Status>,
) -> anyhow::Result<()> {
    let store = context.store()?;
    let mut summaries = Vec::new();
    for id in store.ids()? {
        let document = match store.try_read(&id) {
            Ok(Some(document)) => document,
            Ok(None) => continue, // removed since the directory was listed
            Err(err) => {
                warn(&format!("skipping session `{id}`: {err:#}"));
                continue;
            }
        };
        let summary = session::summary(&document, context.now);
        let keep = (!active || summary["status"] == "active")
            && project.as_ref().is_none_or(|p| summary["project"] == **p)
            && mode.is_none_or(|m| summary["mode"] == m.as_str())
            && status.is_none_or(|s| summary["status"] == s.as_str());
        if keep {
            summaries.push(summary);
        }
    }
    // Newest activity first; documents whose time cannot be read go last.
    summaries.sort_by_key(|summary| {
        std::cmp::Reverse(
            summary["last_activity"]
                .as_str()
                .and_then(|raw| session::parse_time(raw).ok()),
        )
    });
    if out.json() {
        return Ok(out.json_line(&Value::Array(summaries))?);
    }
    let rows: Vec<Vec<String>> = summaries
        .iter()
        .map(|summary| {
            ["id", "mode", "status", "project", "last_activity", "expiry"]
                .iter()
                .map(|key| plain(&summary[*key]))
                .collect()
        })
        .collect();
    out.table(
        &[
            "ID",
            "MODE",
            "STATUS",
            "PROJECT",
            "LAST ACTIVITY",
            "EXPIRES",
        ],
        &rows,
    )?;
    Ok(())
}

fn info(context: &Context, out: &mut Output, id: &SessionId) -> anyhow::Result<()> {
    let mut document = context.store()?.read(id)?;
    if out.json() {
        // Expiry holds whether or not anyone stored it: scripts reading the status see it.
        let expired = Lifecycle::of(&document)
            .is_ok_and(|lifecycle| lifecycle.status(context.now) == Status::Expired);
        if expired {
            document["session"]["lifecycle"]["status"] = json!(Status::Expired.as_str());
        }
        return Ok(out.json_line(&document)?);
    }
    let summary = session::summary(&document, context.now);
    let field = |pointer: &str| plain(document.pointer(pointer).unwrap_or(&Value::Null));
    let rows = [
        ("id", plain(&summary["id"])),
        ("mode", plain(&summary["mode"])),
        ("status", plain(&summary["status"])),
        ("project", plain(&summary["project"])),
        ("parent", plain(&summary["parent_session"])),
        ("created", plain(&summary["created_at"])),
        ("last activity", plain(&summary["last_activity"])),
        ("expires", plain(&summary["expiry"])),
        (
            "heartbeats",
            field("/observability/metrics/heartbeat_count"),
        ),
        ("pause reason", field("/session/lifecycle/pause_reason")),
    ];
    for (label, value) in rows {
        if value != "-" {
            out.line(&format!("{:<14} {value}", format!("{label}:")))?;
        }
    }
    let events = document["observability"]["events"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if !events.is_empty() {
        out.line("recent events:")?;
        for event in &events[events.len().saturating_sub(5)..] {
            out.line(&format!(
                "  {}  {}",
                plain(&event["timestamp"]),
                plain(&event["type"])
            ))?;
        }
    }
    Ok(())
}

/// Print the JSON form with `--json`, else the line for people.
fn report(out: &mut Output, json: Value, text: &str) -> anyhow::Result<()> {
    if out.json() {
        out.json_line(&json)?;
    } else {
        out.line(text)?;
    }
    Ok(())
}

/// A value as a table cell: strings bare, null as `-`.
fn plain(value: &Value) -> String {
    match value {
        Value::Null => "-".to_owned(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}
