//! What `orchestron status` shows (seed 000 §10.1): the current session's item with its
//! progress and status, what blocks it, the session's unread messages; with no session, the
//! project in one line. Gathered once as a JSON value that every face renders its own way.
//!
//! Only reads: the tracker is opened for reads (an empty one in memory when the project has
//! none) and the session document is read without a lock, so nothing is created.

use serde_json::{Value, json};

use crate::context::Context;
use crate::error::Result;
use crate::ids::SessionId;
use crate::inbox;
use crate::session::Lifecycle;
use crate::sessions;

/// The version of the status JSON; it changes when a key changes meaning or goes away.
const SCHEMA_VERSION: u32 = 1;

/// The most unread messages whose first line `status` shows; the count is of all of them.
pub const MESSAGE_LINES: usize = 3;

/// The most characters of a message's first line `status` shows (then `…`).
pub const MESSAGE_LINE_CHARS: usize = 120;

pub(crate) use crate::tracker::items::session_item;

/// The id of the item session `session` works on (open, in progress first), if any. Reads only;
/// none without a tracker.
pub fn item_of_session(cx: &Context, session: &str) -> Result<Option<String>> {
    if !cx.tracker_path().exists() {
        return Ok(None);
    }
    let db = cx.tracker_for_reads()?;
    Ok(session_item(db.conn(), session)?.map(|item| item.id))
}

/// The status of `session` (its document must exist), or of the project when `None`.
pub fn status(cx: &Context, session: Option<&SessionId>) -> Result<Value> {
    let Some(id) = session else {
        let summary = crate::views::summary(cx)?;
        return Ok(json!({
            "schema_version": SCHEMA_VERSION,
            "session": null,
            "item": null,
            "blocked_reason": null,
            "blockers": [],
            "messages": {"unread": 0, "first_lines": []},
            "project": summary_line(&summary),
        }));
    };
    let document = cx.store(sessions::FOLDER).read(id)?;
    let lifecycle = Lifecycle::of(&document)?;
    let db = cx.tracker_for_reads()?;
    let conn = db.conn();
    let item = session_item(conn, id.as_str())?;
    let (item_json, reason, blockers) = match &item {
        Some(item) => {
            let blockers: Vec<Value> = crate::tracker::items::dependencies(conn, &item.id)?
                .into_iter()
                .filter(|(_, status)| *status != crate::tracker::model::Status::Done)
                .map(|(id, status)| {
                    let title = crate::tracker::items::get(conn, &id)
                        .map(|item| item.title)
                        .unwrap_or_default();
                    json!({"id": id, "status": status.as_str(), "title": title})
                })
                .collect();
            (
                json!({
                    "id": item.id,
                    "title": item.title,
                    "kind": item.kind.as_str(),
                    "status": item.status.as_str(),
                    "priority": item.priority.as_str(),
                    "progress": item.progress,
                }),
                item.blocked_reason.clone(),
                blockers,
            )
        }
        None => (Value::Null, None, Vec::new()),
    };
    let unread = inbox::unread(&document);
    let first_lines: Vec<String> = unread
        .iter()
        .take(MESSAGE_LINES)
        .map(|message| first_line(&message.text, MESSAGE_LINE_CHARS))
        .collect();
    Ok(json!({
        "schema_version": SCHEMA_VERSION,
        "session": {
            "id": id.as_str(),
            "mode": lifecycle.mode.as_str(),
            "status": lifecycle.status(cx.now()).as_str(),
        },
        "item": item_json,
        "blocked_reason": reason,
        "blockers": blockers,
        "messages": {"unread": unread.len(), "first_lines": first_lines},
        "project": null,
    }))
}

/// The first non-blank line of a message, at most `limit` characters (then `…`).
fn first_line(text: &str, limit: usize) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or("");
    if line.chars().count() <= limit {
        return line.to_owned();
    }
    let mut cut: String = line.chars().take(limit.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// The project in one line, from the summary ([`crate::views::summary`]): its items by
/// status, the active sprint, the live sessions and the next ready item.
pub fn summary_line(summary: &Value) -> String {
    let text = |value: &Value| value.as_str().unwrap_or("?").to_owned();
    let mut parts = Vec::new();
    let total = summary["items"]["total"].as_i64().unwrap_or(0);
    if total == 0 {
        parts.push("no items yet".to_owned());
    } else {
        let by_status = &summary["items"]["by_status"];
        let counts: Vec<String> = crate::config::STATUS_NAMES
            .iter()
            .filter_map(|status| {
                let count = by_status[*status].as_i64().filter(|count| *count > 0)?;
                Some(format!(
                    "{count} {}",
                    status.to_lowercase().replace('_', " ")
                ))
            })
            .collect();
        parts.push(format!(
            "{total} item{} ({})",
            if total == 1 { "" } else { "s" },
            counts.join(", ")
        ));
    }
    if let Some(sprint) = summary["sprint"].as_object() {
        parts.push(format!(
            "sprint {} day {} of {}, {} of {} items done",
            text(&sprint["name"]),
            sprint["day"],
            sprint["duration_days"],
            sprint["items_done"],
            sprint["items"]
        ));
    }
    let live = summary["sessions"].as_array().map_or(0, Vec::len);
    parts.push(format!(
        "{live} live session{}",
        if live == 1 { "" } else { "s" }
    ));
    let blocked = summary["blockers"].as_array().map_or(0, Vec::len);
    if blocked > 0 {
        parts.push(format!("{blocked} blocked"));
    }
    if let Some(next) = summary["ready"].get(0) {
        parts.push(format!(
            "next ready: {} {}",
            text(&next["id"]),
            crate::text::clip_line(&text(&next["title"]), crate::briefing::MAX_TITLE_CHARS)
        ));
    }
    format!("{}: {}.", text(&summary["project"]), parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_line_is_the_first_one_with_words_and_is_cut() {
        assert_eq!(first_line("\n  hello\nworld", 10), "hello");
        assert_eq!(first_line("", 10), "");
        assert_eq!(first_line("abcdefghijkl", 5), "abcd…");
        assert_eq!(first_line("éééé", 4), "éééé");
    }

    #[test]
    fn the_project_in_one_line() {
        let summary = json!({
            "project": "demo",
            "items": {"total": 3, "by_status": {"TODO": 2, "DONE": 1}},
            "sprint": {"name": "S1", "day": 2, "duration_days": 10, "items": 3, "items_done": 1},
            "sessions": [{}],
            "blockers": [],
            "ready": [{"id": "TASK-ab", "title": "Fix login"}],
        });
        assert_eq!(
            summary_line(&summary),
            "demo: 3 items (2 todo, 1 done); sprint S1 day 2 of 10, 1 of 3 items done; \
             1 live session; next ready: TASK-ab Fix login."
        );
        let empty = json!({"project": "demo", "items": {"total": 0}, "sprint": null,
            "sessions": [], "blockers": [], "ready": []});
        assert_eq!(summary_line(&empty), "demo: no items yet; 0 live sessions.");
        // One line stays one line: a long title is cut like the plan's.
        let long = json!({"project": "demo", "items": {"total": 1}, "sprint": null,
            "sessions": [], "blockers": [], "ready": [{"id": "TASK-ab", "title": "x".repeat(3000)}]});
        let line = summary_line(&long);
        assert!(line.chars().count() < 200 && line.ends_with("…."), "{line}");
    }
}
