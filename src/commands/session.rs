//! `orchestron session …`: create, list, inspect and move sessions through their lifecycle.

use orchestron_core::sessions;
use serde_json::{Value, json};

use super::parse_object;
use crate::cli::SessionCommand;
use crate::context::Context;
use crate::output::{Output, warn};
use orchestron_core::ids::SessionId;
use orchestron_core::session::{self, Status};

/// Who `session.created_by` names for sessions made from the command line.
const CREATED_BY: &str = "orchestron";

pub(super) fn run(
    context: &Context,
    out: &mut Output,
    command: SessionCommand,
) -> anyhow::Result<()> {
    let cx = context.core()?;
    match command {
        SessionCommand::Create {
            mode,
            project,
            parent_session,
            metadata,
            id,
        } => {
            let request = sessions::Create {
                id: id.map(|raw| SessionId::parse(&raw)).transpose()?,
                mode,
                project: project.or_else(|| context.default_project()),
                parent_session: parent_session
                    .map(|raw| SessionId::parse(&raw))
                    .transpose()?,
                metadata: metadata
                    .map(|raw| parse_object(&raw, "--metadata"))
                    .transpose()?
                    .unwrap_or_default(),
                created_by: CREATED_BY.to_owned(),
            };
            let id = sessions::create(cx, &request)?;
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
        } => {
            let filtered = active || project.is_some() || mode.is_some() || status.is_some();
            let filter = sessions::ListFilter {
                active,
                project,
                mode,
                status,
            };
            list(out, sessions::list(cx, &filter)?, filtered)
        }
        SessionCommand::Info { id } => info(context, out, &SessionId::parse(&id)?),
        SessionCommand::Current => info(context, out, &context.current_session()?),
        SessionCommand::Heartbeat { id } => {
            let id = SessionId::parse(&id)?;
            let beat = sessions::heartbeat(cx, &id)?;
            let (count, expiry) = (&beat.count, &beat.expiry);
            report(
                out,
                json!({"success": true, "session_id": id.as_str(), "heartbeat_count": count,
                       "expiry": expiry}),
                &format!("{id}: heartbeat {count}, expires {}", plain(expiry)),
            )
        }
        SessionCommand::Recover { id } => {
            let id = SessionId::parse(&id)?;
            let previous = sessions::recover(cx, &id)?;
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
            let changed = sessions::end(cx, &id, status)?;
            // Its file leases go with it (a lease table that cannot be changed costs them,
            // not the end: an ended session's leases count for nothing wherever they are read).
            let _ = orchestron_core::coordination::end_session(cx, &id);
            report(
                out,
                json!({"success": true, "session_id": id.as_str(), "status": status.as_str(),
                       "changed": changed}),
                &format!("{id}: {status}"),
            )
        }
        SessionCommand::Pause { id, reason } => {
            let id = SessionId::parse(&id)?;
            let changed = sessions::pause(cx, &id, &reason)?;
            report(
                out,
                json!({"success": true, "session_id": id.as_str(), "status": "paused",
                       "reason": reason, "changed": changed}),
                &format!("{id}: paused ({reason})"),
            )
        }
        SessionCommand::Resume { id } => {
            let id = SessionId::parse(&id)?;
            let changed = sessions::resume(cx, &id)?;
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
            let created = sessions::handoff(cx, &from, &to, &data, CREATED_BY)?;
            report(
                out,
                json!({"success": true, "from_session": from.as_str(),
                       "to_session": to.as_str(), "created": created}),
                &format!("{from} -> {to}{}", if created { " (created)" } else { "" }),
            )
        }
    }
}

/// Print the listing. A document that cannot be read is named in a warning, and, unless a
/// filter was given (its mode, project and status are unknown), listed with status
/// `unreadable` and the reason as `problem`: a session never drops out of the list unseen.
fn list(out: &mut Output, listing: sessions::Listing, filtered: bool) -> anyhow::Result<()> {
    for (id, err) in &listing.unreadable {
        warn(&format!("cannot read session `{id}`: {err}"));
    }
    let mut summaries = listing.summaries;
    if !filtered {
        summaries.extend(listing.unreadable.iter().map(|(id, err)| {
            json!({
                "id": id.as_str(), "mode": null, "project": null, "status": "unreadable",
                "created_at": null, "last_activity": null, "heartbeat": null, "expiry": null,
                "parent_session": null, "metrics": null, "problem": err,
            })
        }));
    }
    if out.json() {
        return Ok(out.json_line(&Value::Array(summaries))?);
    }
    // The branch column appears once a listed session records one (the hooks do).
    let branches = summaries.iter().any(|summary| {
        summary
            .get("branch")
            .is_some_and(|branch| !branch.is_null())
    });
    let mut keys = vec!["id", "mode", "status", "project", "last_activity", "expiry"];
    let mut headers = vec![
        "ID",
        "MODE",
        "STATUS",
        "PROJECT",
        "LAST ACTIVITY",
        "EXPIRES",
    ];
    if branches {
        keys.push("branch");
        headers.push("BRANCH");
    }
    let rows: Vec<Vec<String>> = summaries
        .iter()
        .map(|summary| keys.iter().map(|key| plain(&summary[*key])).collect())
        .collect();
    out.table(&headers, &rows)?;
    Ok(())
}

fn info(context: &Context, out: &mut Output, id: &SessionId) -> anyhow::Result<()> {
    let document = sessions::info(context.core()?, id)?;
    if out.json() {
        return Ok(out.json_line(&document)?);
    }
    let summary = session::summary(&document, context.now);
    let field = |pointer: &str| plain(document.pointer(pointer).unwrap_or(&Value::Null));
    let rows = [
        ("id", plain(&summary["id"])),
        ("mode", plain(&summary["mode"])),
        ("status", plain(&summary["status"])),
        ("project", plain(&summary["project"])),
        ("worktree", field("/session/worktree")),
        ("branch", field("/session/branch")),
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
