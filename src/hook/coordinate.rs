//! What PreToolUse tells a session about a file other live sessions hold (the core's
//! `coordination::at_tool_time` decides who holds it): the reason of a denial or a question
//! for an exclusive lease, and the context of a recent touch, given once per file and holder
//! (the pairs told are kept in the session document, at most `MAX_WARNED`).

use serde_json::{Value, json};

use super::limits::{MAX_PATH_CHARS, MAX_WARNED, clip};
use orchestron_core::coordination::{Row, ago, shell_word};

/// The session document's `coordination` member, as PreToolUse reads it.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct Head {
    #[serde(default)]
    pub warned: Vec<String>,
    /// The sensitive paths a person approved for this session (`orchestron approve :/PATH`).
    #[serde(default)]
    pub approved: Vec<String>,
}

/// The pair kept once the session was told that `session` edited `key`.
pub(crate) fn warned_mark(key: &str, session: &str) -> String {
    format!("{} {session}", clip(key, MAX_PATH_CHARS))
}

/// Keep `marks` in the document's `coordination.warned`, the oldest dropped past the cap.
pub(crate) fn remember_warned(document: &mut Value, marks: &[String]) {
    let Some(object) = document.as_object_mut() else {
        return;
    };
    let coordination = object.entry("coordination").or_insert_with(|| json!({}));
    if !coordination.is_object() {
        *coordination = json!({});
    }
    let warned = coordination
        .as_object_mut()
        .expect("made an object")
        .entry("warned")
        .or_insert_with(|| json!([]));
    if !warned.is_array() {
        *warned = json!([]);
    }
    let list = warned.as_array_mut().expect("made an array");
    for mark in marks {
        if !list.iter().any(|kept| kept.as_str() == Some(mark)) {
            list.push(json!(mark));
        }
    }
    let excess = list.len().saturating_sub(MAX_WARNED);
    list.drain(..excess);
}

fn for_item(row: &Row) -> String {
    row.item_words()
        .map(|item| format!(" for {item}"))
        .unwrap_or_default()
}

/// Why an edit of `key` is denied or asked about: the holder, its item and title, since
/// when, and the command a person runs to take the file anyway.
pub(crate) fn exclusive_reason(key: &str, row: &Row) -> String {
    let covers = if row.path == key {
        String::new()
    } else {
        format!(" (its lease `{}` covers it)", row.path)
    };
    format!(
        "Orchestron: `{key}` is leased exclusively by {}{}{covers} since {} (until {}). \
         Leave this file to them and work on something else, or ask a person; a person takes \
         the file anyway with `orchestron lease release {} --force`.",
        row.holder(),
        for_item(row),
        row.since,
        row.until,
        shell_word(&format!(":/{}", row.path))
    )
}

/// What a session about to edit `key` is told of others' recent edits and shared leases.
pub(crate) fn touched_context(key: &str, rows: &[&Row]) -> String {
    let who: Vec<String> = rows
        .iter()
        .map(|row| {
            if row.kind == "touch" {
                format!(
                    "edited by {}{} {} (at {})",
                    row.holder(),
                    for_item(row),
                    ago(row.age_seconds),
                    row.at
                )
            } else {
                format!(
                    "leased (shared) by {}{} since {}",
                    row.holder(),
                    for_item(row),
                    row.since
                )
            }
        })
        .collect();
    format!(
        "Orchestron: `{key}` was {}; that session is still live and may change it again. \
         Your edit is not blocked: read the file again before you change it and keep the \
         change small, or pick other work. `orchestron lease check {}` shows who holds it.",
        who.join("; and "),
        shell_word(&format!(":/{key}"))
    )
}
