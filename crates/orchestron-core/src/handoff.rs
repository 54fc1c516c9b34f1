//! The handoff a session leaves for the next one in its project when it ends: what was done,
//! the files touched, the last test result and the next steps (its unfinished to-dos).
//! SessionStart shows the project's last handoff to the next session.
//!
//! Pure functions over documents; the hook stores the result in `<root>/handoffs/`.

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::session::{SCHEMA_VERSION, format_time};

/// The handoff of a session document that is ending for `reason`.
pub fn compose(document: &Value, now: Timestamp, reason: &str) -> Value {
    let items: Vec<&Value> = document
        .pointer("/execution/todos/items")
        .and_then(Value::as_array)
        .map(|items| items.iter().collect())
        .unwrap_or_default();
    let content = |item: &&Value| {
        item.get("content")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let completed =
        |item: &&&Value| item.get("status").and_then(Value::as_str) == Some("completed");
    let done: Vec<String> = items.iter().filter(completed).filter_map(content).collect();
    let next_steps: Vec<String> = items
        .iter()
        .filter(|item| !completed(item))
        .filter_map(content)
        .collect();
    let files: Vec<String> = document
        .pointer("/execution/files")
        .and_then(Value::as_object)
        .map(|files| files.keys().cloned().collect())
        .unwrap_or_default();
    json!({
        "schema_version": SCHEMA_VERSION,
        "project": document.pointer("/session/project").cloned().unwrap_or(Value::Null),
        "from_session": document.pointer("/session/id").cloned().unwrap_or(Value::Null),
        "at": format_time(now),
        "reason": reason,
        "done": done,
        "files": files,
        "last_test": document.pointer("/execution/tests/last").cloned().unwrap_or(Value::Null),
        "next_steps": next_steps,
        "tool_calls": document
            .pointer("/observability/metrics/tool_calls")
            .cloned()
            .unwrap_or(json!(0)),
    })
}

/// Add what a person or agent wrote to a handoff: next steps that come before the unfinished
/// to-dos (`planned`), and a `note` for the next session.
pub fn add_plan(handoff: &mut Value, planned: &[String], note: Option<&str>) {
    if !planned.is_empty() {
        handoff["planned"] = json!(planned);
    }
    if let Some(note) = note.filter(|note| !note.trim().is_empty()) {
        handoff["note"] = json!(note);
    }
}

/// Keep what a session wrote into its handoff (`orchestron handoff write`) when SessionEnd
/// replaces it with a fresh one from the same session.
pub fn carry_plan(previous: &Value, handoff: &mut Value) {
    if previous.get("from_session") != handoff.get("from_session") {
        return;
    }
    for key in ["planned", "note"] {
        if let Some(value) = previous.get(key)
            && handoff.get(key).is_none()
        {
            handoff[key] = value.clone();
        }
    }
}

/// Whether a handoff says nothing: no tool call, no to-do, no file, no test run.
pub fn is_empty(handoff: &Value) -> bool {
    let none = |key: &str| handoff[key].as_array().is_none_or(Vec::is_empty);
    handoff["tool_calls"].as_u64().unwrap_or(0) == 0
        && none("done")
        && none("files")
        && none("next_steps")
        && handoff["last_test"].is_null()
        && handoff.get("planned").is_none()
        && handoff.get("note").is_none()
}

/// The lines SessionStart injects for a handoff, most important first.
pub fn describe(handoff: &Value) -> Vec<String> {
    let list = |key: &str| -> Vec<String> {
        handoff
            .get(key)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let from = handoff
        .get("from_session")
        .and_then(Value::as_str)
        .unwrap_or("?");
    let at = handoff.get("at").and_then(Value::as_str).unwrap_or("?");
    let mut lines = vec![format!(
        "Last handoff in this project, from session {from} at {at}:"
    )];
    if let Some(note) = handoff.get("note").and_then(Value::as_str) {
        lines.push(format!("- Note: {note}"));
    }
    let mut next_steps = list("planned");
    next_steps.extend(list("next_steps"));
    if !next_steps.is_empty() {
        lines.push(format!("- Next steps: {}.", next_steps.join("; ")));
    }
    if let Some(last) = handoff.get("last_test").filter(|last| last.is_object()) {
        match crate::session::describe_test_run(last) {
            Some(run) => lines.push(format!("- Last {run}.")),
            None => {
                let command = last.get("command").and_then(Value::as_str).unwrap_or("?");
                lines.push(format!("- Last test run unknown: `{command}`."));
            }
        }
    }
    let done = list("done");
    if !done.is_empty() {
        lines.push(format!("- Done: {}.", done.join("; ")));
    }
    let files = list("files");
    if !files.is_empty() {
        lines.push(format!("- Files touched: {}.", files.join(", ")));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handoff_says_what_was_done_and_what_is_next() {
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let document = json!({
            "session": {"id": "s1", "project": "app"},
            "execution": {
                "todos": {"items": [{"content": "parser", "status": "completed"},
                                    {"content": "docs", "status": "pending"}]},
                "files": {"/p/a.rs": {}},
                "tests": {"last": {"command": "cargo test", "passed": true}}},
            "observability": {"metrics": {"tool_calls": 7}}});
        let handoff = compose(&document, now, "other");
        assert_eq!(handoff["done"], json!(["parser"]));
        assert_eq!(handoff["next_steps"], json!(["docs"]));
        assert_eq!(handoff["files"], json!(["/p/a.rs"]));
        let lines = describe(&handoff);
        assert_eq!(
            lines[0],
            "Last handoff in this project, from session s1 at 2026-01-01T00:00:00Z:"
        );
        assert_eq!(lines[1], "- Next steps: docs.");
        assert_eq!(lines[2], "- Last test run passed: `cargo test`.");
        // An empty session leaves a short handoff.
        assert_eq!(describe(&compose(&json!({}), now, "other")).len(), 1);
    }
}
