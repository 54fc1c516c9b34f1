//! Named context snapshots (seed 000 §4.3, §11.2, §12.1): `orchestron context save [NAME]`
//! keeps a session's working context (the item it works on, its to-dos, the files it
//! edited, its last test run and notes) under `<root>/snapshots/<NAME>.json`; `context load
//! NAME|--latest` gives it back to a session and links the item to it; `list` and `prune`
//! keep the folder in view and bounded (`snapshots.keep`, `snapshots.max_age`).
//!
//! Each snapshot is one document of the locked store: saving is one transaction on its name,
//! loading reads without a lock. A name is checked before anything is touched, so a bad
//! one changes nothing.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::context::Context;
use crate::error::{Error, Result};
use crate::ids::SessionId;
use crate::session::{self, Lifecycle, format_time};
use crate::sessions;
use crate::store::Outcome;
use crate::tracker::items;

/// The folder of its documents under the state root.
pub const FOLDER: &str = crate::store::SNAPSHOTS;

/// The version of a snapshot document.
const SCHEMA_VERSION: u32 = 1;

/// The longest snapshot name: it is a file name, and people type it.
pub const MAX_NAME_CHARS: usize = 64;

/// The most notes one snapshot holds (`--note`, repeated).
pub const MAX_NOTES: usize = 20;

/// The longest note, and the longest text a snapshot copies from the session (a to-do, a
/// path, the session's own notes): longer notes are refused, copied text is cut.
pub const MAX_NOTE_CHARS: usize = 2_000;

/// The most to-dos a snapshot copies from the session (the hooks keep at most as many; a
/// document edited by hand may hold more).
pub const MAX_TODOS: usize = 100;

/// The most files a snapshot copies from the session, the latest edited first (the hooks
/// keep at most as many).
pub const MAX_FILES: usize = 100;

/// How many numbered names (`…-2`, `…-3`) an unnamed save tries when the time's name is
/// taken, before it gives up.
const MAX_NAME_TRIES: usize = 100;

/// The verbs of `orchestron context`: a session with one of these ids is reached with
/// `context show ID`.
pub const VERBS: [&str; 5] = ["save", "load", "list", "prune", "show"];

/// Check a snapshot name: 1-64 letters, digits, `.`, `_` or `-`, not starting with `.` or
/// `-`. Returns it as the store's key.
pub fn check_name(raw: &str) -> Result<SessionId> {
    let problem = if raw.chars().count() > MAX_NAME_CHARS {
        Some(format!("it is longer than {MAX_NAME_CHARS} characters"))
    } else {
        SessionId::parse(raw).err().map(|err| {
            let text = format!("{err:#}");
            text.rsplit_once(": ")
                .map_or(text.clone(), |(_, problem)| problem.to_owned())
        })
    };
    match problem {
        None => Ok(SessionId::parse(raw)?),
        Some(problem) => Err(Error::invalid(format!(
            "invalid snapshot name `{}`: {problem}",
            raw.escape_debug()
        ))
        .with_hint(format!(
            "a snapshot name is 1-{MAX_NAME_CHARS} letters, digits, `.`, `_` or `-`, not \
             starting with `.` or `-`, such as `before-auth-refactor`"
        ))),
    }
}

/// Which snapshot to load.
#[derive(Debug, Clone)]
pub enum Which {
    Named(String),
    Latest,
}

/// What `save` did.
#[derive(Debug, Clone)]
pub struct Saved {
    pub snapshot: Value,
    /// A snapshot of that name was there and is replaced.
    pub replaced: bool,
    /// The snapshots dropped to keep within `snapshots.keep` and `snapshots.max_age`.
    pub pruned: Vec<String>,
}

/// What `load` did.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub snapshot: Value,
    /// The session it was loaded into, if any.
    pub session: Option<String>,
    /// What became of the snapshot's item: `{"item", "linked", "status", "session",
    /// "previous_session"}`, or `{"item", "linked": false, "reason"}`; `null` when the
    /// snapshot has no item or there is no session.
    pub link: Value,
}

/// What `prune` did.
#[derive(Debug, Clone)]
pub struct Pruned {
    pub removed: Vec<String>,
    pub kept: usize,
}

/// Save the working context of session `id` as `name` (else a name from the time, made
/// unique), with `notes`. A snapshot of the same name is replaced. Then the folder is
/// brought within its bounds, the new snapshot always kept.
pub fn save(cx: &Context, id: &SessionId, name: Option<&str>, notes: &[String]) -> Result<Saved> {
    let name = name.map(check_name).transpose()?;
    check_notes(notes)?;
    let document = cx.store(sessions::FOLDER).read(id)?;
    let now = cx.now();
    let item = match cx.tracker_path().exists() {
        true => crate::tracker::items::session_item(cx.tracker_for_reads()?.conn(), id.as_str())?,
        false => None,
    };
    let store = cx.store(FOLDER);
    let candidates: Vec<SessionId> = match name {
        Some(name) => vec![name],
        None => {
            let stem = now.strftime("%Y%m%d-%H%M%S").to_string();
            (1..=MAX_NAME_TRIES)
                .map(|n| match n {
                    1 => SessionId::parse(&stem),
                    n => SessionId::parse(&format!("{stem}-{n}")),
                })
                .collect::<anyhow::Result<_>>()?
        }
    };
    let named = candidates.len() == 1;
    for key in candidates {
        let snapshot = compose(&document, key.as_str(), now, item.as_ref(), notes);
        let stored = snapshot.clone();
        let outcome = store.transact(&key, |current| {
            if current.is_some() && !named {
                return Ok((Outcome::Unchanged, None));
            }
            Ok((Outcome::Replace(stored), Some(current.is_some())))
        })?;
        if let Some(replaced) = outcome {
            let pruned = bound(cx, Some(&key), None)?.removed;
            return Ok(Saved {
                snapshot,
                replaced,
                pruned,
            });
        }
    }
    Err(Error::conflict(format!(
        "cannot name the snapshot: the {MAX_NAME_TRIES} names from this time are taken"
    ))
    .with_hint("give it a name: `orchestron context save NAME`"))
}

fn check_notes(notes: &[String]) -> Result<()> {
    if notes.len() > MAX_NOTES {
        return Err(Error::invalid(format!(
            "{} notes is more than a snapshot keeps ({MAX_NOTES})",
            notes.len()
        )));
    }
    for note in notes {
        if note.trim().is_empty() {
            return Err(Error::invalid("`--note` needs some text"));
        }
        if note.chars().count() > MAX_NOTE_CHARS {
            return Err(Error::invalid(format!(
                "a note is longer than {MAX_NOTE_CHARS} characters"
            )));
        }
    }
    Ok(())
}

/// A snapshot of `document` now: pure, so what it keeps is tested without files.
pub fn compose(
    document: &Value,
    name: &str,
    now: Timestamp,
    item: Option<&items::Item>,
    notes: &[String],
) -> Value {
    let clip = |text: &str| -> String {
        if text.chars().count() <= MAX_NOTE_CHARS {
            text.to_owned()
        } else {
            let mut cut: String = text.chars().take(MAX_NOTE_CHARS - 1).collect();
            cut.push('…');
            cut
        }
    };
    let todos: Vec<Value> = document
        .pointer("/execution/todos/items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|todo| {
            let content = todo.get("content").and_then(Value::as_str)?;
            let status = todo
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or("pending");
            Some(json!({"content": clip(content), "status": clip(status)}))
        })
        .take(MAX_TODOS)
        .collect();
    // The files most recently edited first.
    let files: Vec<String> = crate::session::files_by_last_edit(document)
        .into_iter()
        .take(MAX_FILES)
        .map(clip)
        .collect();
    let mut kept_notes: Vec<String> = notes.to_vec();
    match document.pointer("/execution/notes") {
        Some(Value::String(text)) if !text.trim().is_empty() => kept_notes.push(clip(text)),
        Some(value @ (Value::Array(_) | Value::Object(_))) => {
            kept_notes.push(clip(&value.to_string()));
        }
        _ => {}
    }
    let at = |pointer: &str| document.pointer(pointer).cloned().unwrap_or(Value::Null);
    json!({
        "schema_version": SCHEMA_VERSION,
        "name": name,
        "saved_at": format_time(now),
        "session": at("/session/id"),
        "project": at("/session/project"),
        "mode": at("/session/mode"),
        "item": item.map_or(Value::Null, |item| json!({
            "id": item.id,
            "title": item.title,
            "status": item.status.as_str(),
            "progress": item.progress,
        })),
        "todos": todos,
        "files": files,
        "last_test": at("/execution/tests/last"),
        "notes": kept_notes,
    })
}

/// The snapshot called `name`; not found is an error naming the command that lists them.
pub fn get(cx: &Context, name: &str) -> Result<Value> {
    let key = check_name(name)?;
    cx.store(FOLDER).try_read(&key)?.ok_or_else(|| {
        Error::not_found(format!("no context snapshot `{name}`"))
            .with_hint("`orchestron context list` shows the snapshots there are")
    })
}

/// Every readable snapshot, newest first (by the time it was saved, then by name).
fn all(cx: &Context) -> Result<Vec<Value>> {
    let store = cx.store(FOLDER);
    let mut found: Vec<(Option<Timestamp>, String, Value)> = Vec::new();
    for key in store.ids()? {
        let Ok(Some(snapshot)) = store.try_read(&key) else {
            continue;
        };
        found.push((saved_at(&snapshot), key.as_str().to_owned(), snapshot));
    }
    found.sort_by(|a, b| (b.0, &b.1).cmp(&(a.0, &a.1)));
    Ok(found.into_iter().map(|(_, _, snapshot)| snapshot).collect())
}

fn saved_at(snapshot: &Value) -> Option<Timestamp> {
    snapshot
        .get("saved_at")
        .and_then(Value::as_str)
        .and_then(|raw| session::parse_time(raw).ok())
}

/// The snapshots, newest first, each as one line of figures.
pub fn list(cx: &Context) -> Result<Vec<Value>> {
    Ok(all(cx)?.iter().map(summary).collect())
}

/// A snapshot in a few figures, for `list`.
pub fn summary(snapshot: &Value) -> Value {
    let count = |key: &str| snapshot[key].as_array().map_or(0, Vec::len);
    let open = snapshot["todos"].as_array().map_or(0, |todos| {
        todos
            .iter()
            .filter(|todo| todo["status"] != "completed")
            .count()
    });
    json!({
        "name": snapshot["name"],
        "saved_at": snapshot["saved_at"],
        "session": snapshot["session"],
        "item": snapshot["item"]["id"],
        "todos_open": open,
        "files": count("files"),
        "notes": count("notes"),
    })
}

/// Load a snapshot into `session` (when there is one): link its item to the session in the
/// tracker (unless the item is finished or gone) and note the load in the session's events.
/// Without a session it only reads.
pub fn load(cx: &Context, which: &Which, session: Option<&SessionId>) -> Result<Loaded> {
    let snapshot = match which {
        Which::Named(name) => get(cx, name)?,
        Which::Latest => all(cx)?.into_iter().next().ok_or_else(|| {
            Error::not_found("there is no context snapshot yet")
                .with_hint("`orchestron context save [NAME]` keeps one")
        })?,
    };
    let Some(id) = session else {
        return Ok(Loaded {
            snapshot,
            session: None,
            link: Value::Null,
        });
    };
    let store = cx.store(sessions::FOLDER);
    if !store.exists(id) {
        return Err(Error::session_not_found(id.as_str()));
    }
    let name = snapshot["name"].as_str().unwrap_or("?").to_owned();
    let link = match snapshot["item"]["id"].as_str() {
        Some(item) => link_item(cx, item, id.as_str(), &name)?,
        None => Value::Null,
    };
    let now = cx.now();
    store.update(id, |document| {
        Lifecycle::of(document)?;
        session::push_event(
            document,
            now,
            "context_loaded",
            json!({"snapshot": name, "item": snapshot["item"]["id"]}),
        );
        Ok((true, ()))
    })?;
    Ok(Loaded {
        snapshot,
        session: Some(id.as_str().to_owned()),
        link,
    })
}

/// Link the item `raw` to `session` (the tracker's `session` column, which SessionStart and
/// the views read), recording it in the item's history; a finished or missing item is left
/// alone and said so. One transaction.
fn link_item(cx: &Context, raw: &str, session: &str, snapshot: &str) -> Result<Value> {
    if !cx.tracker_path().exists() {
        return Ok(json!({"item": raw, "linked": false, "reason": "this project has no tracker"}));
    }
    let now = format_time(cx.now());
    let mut db = cx.tracker_to_change()?;
    db.write(|tx| -> Result<Value> {
        let item = match items::get(tx, raw) {
            Ok(item) => item,
            Err(err) if err.kind() == crate::error::ErrorKind::NotFound => {
                return Ok(json!({"item": raw, "linked": false, "reason": "it no longer exists"}));
            }
            Err(err) => return Err(err),
        };
        let status = item.status.as_str();
        if item.status.is_closed() {
            return Ok(json!({"item": raw, "linked": false, "status": status,
                "reason": format!("it is {status}")}));
        }
        let previous = item.session.clone();
        if previous.as_deref() != Some(session) {
            tx.execute(
                "UPDATE items SET session = ?2, updated_at = ?3 WHERE id = ?1",
                rusqlite::params![item.id, session, now],
            )?;
            items::record(
                tx,
                &item.id,
                &now,
                "linked",
                json!({"session": session, "snapshot": snapshot, "previous_session": previous}),
                Some(session),
            )?;
        }
        Ok(
            json!({"item": item.id, "linked": true, "status": status, "session": session,
            "previous_session": previous}),
        )
    })
}

/// Remove the snapshots saved longer ago than `older_than` (default `snapshots.max_age`),
/// and the oldest beyond `snapshots.keep`.
pub fn prune(cx: &Context, older_than: Option<Duration>) -> Result<Pruned> {
    bound(cx, None, older_than)
}

/// Bring the folder within its bounds, never removing `keep`.
fn bound(cx: &Context, keep: Option<&SessionId>, older_than: Option<Duration>) -> Result<Pruned> {
    let bounds = &cx.config().snapshots;
    let max_age = older_than.unwrap_or_else(|| bounds.max_age());
    let max_age = SignedDuration::try_from(max_age).unwrap_or(SignedDuration::MAX);
    let now = cx.now();
    let store = cx.store(FOLDER);
    let mut removed = Vec::new();
    let mut kept = 0;
    for snapshot in all(cx)? {
        let Some(key) = snapshot["name"]
            .as_str()
            .and_then(|name| SessionId::parse(name).ok())
        else {
            continue;
        };
        let stale = saved_at(&snapshot).is_none_or(|at| now.duration_since(at) > max_age);
        let spare = kept >= bounds.keep();
        if Some(&key) != keep && (stale || spare) {
            store.transact(&key, |_| Ok((Outcome::Remove, ())))?;
            removed.push(key.as_str().to_owned());
        } else {
            kept += 1;
        }
    }
    Ok(Pruned { removed, kept })
}

/// The lines a session is given when it loads a snapshot, most important first.
pub fn describe(snapshot: &Value) -> Vec<String> {
    let text = |value: &Value| value.as_str().unwrap_or("?").to_owned();
    let mut lines = vec![format!(
        "Context snapshot {}, saved at {} by session {}:",
        text(&snapshot["name"]),
        text(&snapshot["saved_at"]),
        text(&snapshot["session"])
    )];
    if let Some(item) = snapshot["item"].as_object() {
        lines.push(format!(
            "- Item {} ({}, {}%): {}.",
            text(&item["id"]),
            text(&item["status"]),
            item["progress"],
            text(&item["title"])
        ));
    }
    let notes: Vec<&str> = snapshot["notes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for note in notes {
        lines.push(format!("- Note: {note}"));
    }
    let todos: Vec<&Value> = snapshot["todos"].as_array().into_iter().flatten().collect();
    let open: Vec<&str> = todos
        .iter()
        .filter(|todo| todo["status"] != "completed")
        .filter_map(|todo| todo["content"].as_str())
        .collect();
    let done: Vec<&str> = todos
        .iter()
        .filter(|todo| todo["status"] == "completed")
        .filter_map(|todo| todo["content"].as_str())
        .collect();
    if !open.is_empty() {
        lines.push(format!("- Open to-dos: {}.", open.join("; ")));
    }
    if !done.is_empty() {
        lines.push(format!("- Done: {}.", done.join("; ")));
    }
    let files: Vec<&str> = snapshot["files"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if !files.is_empty() {
        lines.push(format!("- Files: {}.", files.join(", ")));
    }
    if let Some(run) = snapshot
        .get("last_test")
        .and_then(session::describe_test_run)
    {
        lines.push(format!("- Last {run}."));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_before_anything() {
        for good in ["before-auth", "a", "v1.2_x", &"n".repeat(MAX_NAME_CHARS)] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for (bad, why) in [
            ("", "empty"),
            ("Before refactoring auth", "only letters"),
            ("../x", "starts with `.`"),
            ("--help", "like an option"),
            (&"n".repeat(MAX_NAME_CHARS + 1), "longer than 64"),
        ] {
            let err = check_name(bad).unwrap_err();
            assert_eq!(err.kind(), crate::error::ErrorKind::Invalid);
            let text = err.to_string();
            assert!(
                text.contains("invalid snapshot name") && text.contains(why),
                "{bad}: {text}"
            );
        }
    }

    #[test]
    fn a_snapshot_keeps_the_working_context_and_reads_back_as_lines() {
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let document = json!({
            "session": {"id": "s1", "project": "app", "mode": "sprint"},
            "execution": {
                "todos": {"items": [{"content": "parser", "status": "completed"},
                                    {"content": "docs", "status": "in_progress"}]},
                "files": {"/p/old.rs": {"last_edit": "2025-12-31T00:00:00Z"},
                          "/p/new.rs": {"last_edit": "2025-12-31T10:00:00Z"}},
                "tests": {"last": {"command": "cargo test", "passed": true}},
                "notes": "mind the cache"}});
        let snapshot = compose(&document, "before", now, None, &["try B".to_owned()]);
        assert_eq!(snapshot["files"], json!(["/p/new.rs", "/p/old.rs"]));
        assert_eq!(snapshot["notes"], json!(["try B", "mind the cache"]));
        assert_eq!(snapshot["item"], Value::Null);
        assert_eq!(
            describe(&snapshot),
            [
                "Context snapshot before, saved at 2026-01-01T00:00:00Z by session s1:",
                "- Note: try B",
                "- Note: mind the cache",
                "- Open to-dos: docs.",
                "- Done: parser.",
                "- Files: /p/new.rs, /p/old.rs.",
                "- Last test run passed: `cargo test`.",
            ]
        );
        assert_eq!(
            summary(&snapshot),
            json!({"name": "before", "saved_at": "2026-01-01T00:00:00Z", "session": "s1",
                "item": null, "todos_open": 1, "files": 2, "notes": 2})
        );
        // A long text copied from the session is cut; an empty session keeps little.
        let long = json!({"execution": {"notes": "x".repeat(MAX_NOTE_CHARS + 5)}});
        let snapshot = compose(&long, "n", now, None, &[]);
        assert_eq!(
            snapshot["notes"][0].as_str().unwrap().chars().count(),
            MAX_NOTE_CHARS
        );
        assert_eq!(describe(&compose(&json!({}), "n", now, None, &[])).len(), 1);
    }

    #[test]
    fn notes_are_checked() {
        assert!(check_notes(&[]).is_ok());
        assert!(check_notes(&[" ".to_owned()]).is_err());
        assert!(check_notes(&["x".repeat(MAX_NOTE_CHARS + 1)]).is_err());
        assert!(check_notes(&vec!["x".to_owned(); MAX_NOTES + 1]).is_err());
        assert!(check_notes(&vec!["x".to_owned(); MAX_NOTES]).is_ok());
    }
}
