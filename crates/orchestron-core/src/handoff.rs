//! Handoffs: what one session leaves for the next ones in its project, and what a new session
//! is told of them. Pure functions over documents; [`crate::handoffs`] stores and reads them.
//!
//! **What a handoff holds.** A session's handoff (`by: "session"`) is composed when it ends
//! (or when it runs `handoff write`): what it finished (completed to-dos), the tracker items it
//! claimed, worked on or completed (each with its status and progress as it left them, and
//! what it did), the files it edited, its last test run, its next steps (`planned`, written
//! with `handoff write`, then its unfinished to-dos) and a `note`. A person's handoff
//! (`by: "person"`, from `handoff write` in a terminal) holds the planned steps and the note.
//! Every list is clipped ([`bound`]) so that a project's handoffs stay far within the store's
//! size bound.
//!
//! **What counts.** A handoff is kept when it says something ([`worth_keeping`]): finished
//! work, edited files, a test run, to-dos, a plan or a note ([`is_substantive`]), or only the
//! items the session took. A session that only read, or only ran Orchestron's own commands
//! (`task list`, `board`), leaves nothing. Handoffs accumulate: each session keeps its own
//! (a later one from the same session replaces it, keeping what `handoff write` added), so
//! no session can wipe another's.
//!
//! **What the next session is told** ([`select`], [`brief_lines`]), within a budget of
//! characters and in this order:
//! 1. each open item that recent sessions claimed or worked on (newest first, at most
//!    [`MAX_BRIEF_ITEMS`], and how many more there are), with the latest handoff touching it;
//!    when that handoff holds only tracker activity (a claim, progress, a log line: no next
//!    steps, files, test run, done to-dos or note), also the latest earlier handoff that
//!    holds some on it;
//! 2. the latest *general* handoff: the newest handoff that finished or changed something
//!    ([`is_substantive`]) and names no item that is open now (any open item, listed or
//!    not; a handoff whose items have all been closed since may be general): its done work,
//!    files, tests and next steps.
//!
//! A heading is never told without at least one line under it, and items left out for the
//! budget are counted. A session is never told its own handoff.

use std::collections::HashMap;
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Value, json};

use crate::session::format_time;

/// The schema of a project's handoffs document: `{"schema_version": 2, "project": …,
/// "handoffs": [oldest, …, newest]}`. Version 1 was one handoff object, the project's last,
/// which [`entries`] still reads.
pub const DOCUMENT_SCHEMA: u64 = 2;

/// The most entries a handoff keeps in each of its lists (done, next steps, planned steps,
/// files); the rest are counted in `omitted`.
pub const MAX_LIST_ENTRIES: usize = 20;

/// The most characters of one list entry, item title or test command in a handoff.
pub const MAX_ENTRY_CHARS: usize = 300;

/// The most characters of a handoff's note.
pub const MAX_NOTE_CHARS: usize = 1_000;

/// The most tracker items one handoff names (the most recently touched).
pub const MAX_ITEMS: usize = 20;

/// The most bytes one handoff may take as stored (indented JSON); past it, [`bound`] drops
/// list entries from the longest list. With at most `config::MAX_HANDOFFS_KEEP` handoffs,
/// a project's document stays under `bounds::MAX_DOCUMENT_BYTES` (checked at compile time in
/// `handoffs`).
pub const MAX_HANDOFF_BYTES: usize = 16 * 1024;

/// The most open items the brief names; more open items are only counted.
pub const MAX_BRIEF_ITEMS: usize = 6;

/// How many distinct items, newest first, the brief looks up in the tracker to learn which
/// are still open: a bound on SessionStart's work however many handoffs are kept.
pub const MAX_BRIEF_CANDIDATES: usize = 30;

/// The most characters of one line of the brief (an item with its latest handoff).
pub const MAX_BRIEF_LINE_CHARS: usize = 450;

/// The share of the SessionStart budget (`hooks.context_chars`) the handoff brief may use, in
/// percent: the plan and the session's own to-dos come after it and need room too.
pub const BRIEF_SHARE_PERCENT: usize = 60;

/// The share of the brief's own budget, in percent, held for part 2 (the latest general
/// handoff) when there is one, so that many open items cannot crowd it out; whatever part 2
/// does not use goes to the items.
pub const GENERAL_SHARE_PERCENT: usize = 40;

/// The lists of a handoff, in the order [`bound`] clips them.
const LISTS: [&str; 5] = ["done", "next_steps", "planned", "files", "items"];

/// An item's entry in a handoff: what the session did to it (`claimed`, `worked`,
/// `completed`) and how it left it.
pub fn item(id: &str, title: &str, status: &str, progress: i64, did: &[&str]) -> Value {
    json!({
        "id": id,
        "title": clip(title, MAX_ENTRY_CHARS),
        "status": status,
        "progress": progress,
        "did": did,
    })
}

/// The handoff of a session document that is ending for `reason` (or being written now),
/// naming the tracker `items` it touched (see [`item`]). Bounded by [`bound`].
pub fn compose(document: &Value, now: Timestamp, reason: &str, items: Vec<Value>) -> Value {
    let todos: Vec<&Value> = document
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
    let done: Vec<String> = todos.iter().filter(completed).filter_map(content).collect();
    let next_steps: Vec<String> = todos
        .iter()
        .filter(|item| !completed(item))
        .filter_map(content)
        .collect();
    // The files edited last come first, so clipping keeps them.
    let files = crate::session::files_by_last_edit(document);
    let last_test = document
        .pointer("/execution/tests/last")
        .filter(|last| last.is_object())
        .map(|last| {
            let mut test = json!({
                "command": clip(last.get("command").and_then(Value::as_str).unwrap_or("?"), MAX_ENTRY_CHARS),
                "passed": last.get("passed").cloned().unwrap_or(Value::Null),
                "at": last.get("at").cloned().unwrap_or(Value::Null),
            });
            if let Some(error) = last.get("error").and_then(Value::as_str) {
                test["error"] = json!(clip(error, MAX_ENTRY_CHARS));
            }
            test
        })
        .unwrap_or(Value::Null);
    let mut handoff = json!({
        "by": "session",
        "project": document.pointer("/session/project").cloned().unwrap_or(Value::Null),
        "from_session": document.pointer("/session/id").cloned().unwrap_or(Value::Null),
        "at": format_time(now),
        "reason": reason,
        "done": done,
        "items": items,
        "files": files,
        "last_test": last_test,
        "next_steps": next_steps,
        "tool_calls": document
            .pointer("/observability/metrics/tool_calls")
            .cloned()
            .unwrap_or(json!(0)),
    });
    bound(&mut handoff);
    handoff
}

/// A handoff a person leaves from a terminal (`handoff write` with no session): next steps
/// and a note for whoever comes next.
pub fn by_person(project: &str, now: Timestamp, planned: &[String], note: Option<&str>) -> Value {
    let mut handoff = json!({
        "by": "person",
        "project": project,
        "from_session": null,
        "at": format_time(now),
        "reason": "written",
        "done": [],
        "items": [],
        "files": [],
        "last_test": null,
        "next_steps": [],
    });
    add_plan(&mut handoff, planned, note);
    handoff
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
    bound(handoff);
}

/// Keep what a session wrote into its handoff (`orchestron handoff write`) when a fresh one
/// from the same session replaces it.
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

fn list<'a>(handoff: &'a Value, key: &str) -> &'a [Value] {
    handoff
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn texts(handoff: &Value, key: &str) -> Vec<String> {
    list(handoff, key)
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// What a session did to an item, as its handoff recorded it.
fn did(item: &Value) -> Vec<&str> {
    list(item, "did").iter().filter_map(Value::as_str).collect()
}

/// Whether a handoff holds more than tracker activity: done to-dos, edited files, a test
/// run, to-dos left, planned steps or a note. One that holds none of these (a session that
/// only claimed, or only ran `task progress`) says nothing of the work itself.
pub fn has_content(handoff: &Value) -> bool {
    let any = |key: &str| !list(handoff, key).is_empty();
    any("done")
        || any("files")
        || any("next_steps")
        || any("planned")
        || handoff.get("last_test").is_some_and(Value::is_object)
        || handoff
            .get("note")
            .and_then(Value::as_str)
            .is_some_and(|note| !note.trim().is_empty())
}

/// Whether a handoff finished or changed something worth handing on: [`has_content`], or
/// work on a tracker item (progress, a checkpoint, a log line, completing it). Claiming an
/// item alone is not (the claim is still told, with the item).
pub fn is_substantive(handoff: &Value) -> bool {
    has_content(handoff)
        || list(handoff, "items")
            .iter()
            .any(|item| did(item).iter().any(|did| *did != "claimed"))
}

/// Whether a handoff is kept at all: it says something, or it names the items its session
/// took. A session that only read, or only ran Orchestron's own commands, leaves none.
pub fn worth_keeping(handoff: &Value) -> bool {
    is_substantive(handoff) || !list(handoff, "items").is_empty()
}

fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", text[..end].trim_end()),
        None => text.to_owned(),
    }
}

fn stored_bytes(handoff: &Value) -> usize {
    // As the store writes it, one level deeper (inside the document's list) than here.
    let lines = serde_json::to_string_pretty(handoff).unwrap_or_default();
    lines.len() + 4 * lines.lines().count()
}

/// Clip a handoff to its bounds: at most [`MAX_LIST_ENTRIES`] per list ([`MAX_ITEMS`]
/// items), [`MAX_ENTRY_CHARS`] per entry, [`MAX_NOTE_CHARS`] of note, and [`MAX_HANDOFF_BYTES`]
/// in all (entries dropped from the end of the longest list). What was dropped is counted in
/// `omitted`.
pub fn bound(handoff: &mut Value) {
    let Some(object) = handoff.as_object_mut() else {
        return;
    };
    let mut omitted: HashMap<&str, u64> = HashMap::new();
    for key in LISTS {
        let Some(entries) = object.get_mut(key).and_then(Value::as_array_mut) else {
            continue;
        };
        let max = if key == "items" {
            MAX_ITEMS
        } else {
            MAX_LIST_ENTRIES
        };
        if entries.len() > max {
            *omitted.entry(key).or_default() += (entries.len() - max) as u64;
            entries.truncate(max);
        }
        for entry in entries.iter_mut() {
            if let Some(text) = entry.as_str()
                && text.chars().count() > MAX_ENTRY_CHARS
            {
                *entry = json!(clip(text, MAX_ENTRY_CHARS));
            }
            if let Some(title) = entry.get("title").and_then(Value::as_str)
                && title.chars().count() > MAX_ENTRY_CHARS
            {
                entry["title"] = json!(clip(title, MAX_ENTRY_CHARS));
            }
        }
    }
    if let Some(note) = object.get("note").and_then(Value::as_str)
        && note.chars().count() > MAX_NOTE_CHARS
    {
        object.insert("note".to_owned(), json!(clip(note, MAX_NOTE_CHARS)));
    }
    for key in ["reason", "project", "from_session"] {
        if let Some(text) = object.get(key).and_then(Value::as_str)
            && text.chars().count() > MAX_ENTRY_CHARS
        {
            object.insert(key.to_owned(), json!(clip(text, MAX_ENTRY_CHARS)));
        }
    }
    // Anything else a document written by hand may hold is not Orchestron's to keep.
    object.retain(|key, _| {
        matches!(
            key.as_str(),
            "by" | "project"
                | "from_session"
                | "at"
                | "reason"
                | "done"
                | "items"
                | "files"
                | "last_test"
                | "next_steps"
                | "planned"
                | "note"
                | "tool_calls"
                | "omitted"
        )
    });
    if object
        .get("last_test")
        .is_some_and(|last| !last.is_object())
    {
        object.insert("last_test".to_owned(), Value::Null);
    }
    if let Some(last) = object.get_mut("last_test").and_then(Value::as_object_mut) {
        last.retain(|key, _| matches!(key.as_str(), "command" | "passed" | "at" | "error"));
        for key in ["command", "at", "error"] {
            if let Some(text) = last.get(key).and_then(Value::as_str)
                && text.chars().count() > MAX_ENTRY_CHARS
            {
                let text = clip(text, MAX_ENTRY_CHARS);
                last.insert(key.to_owned(), json!(text));
            }
        }
    }
    while stored_bytes(&Value::Object(object.clone())) > MAX_HANDOFF_BYTES {
        let longest = LISTS
            .iter()
            .filter_map(|key| {
                let entries = object.get(*key)?.as_array()?;
                let bytes: usize = entries.iter().map(|entry| entry.to_string().len()).sum();
                (!entries.is_empty()).then_some((bytes, *key))
            })
            .max();
        match longest {
            Some((_, key)) => {
                if let Some(entries) = object.get_mut(key).and_then(Value::as_array_mut) {
                    entries.pop();
                }
                *omitted.entry(key).or_default() += 1;
            }
            // Only the note and scalars are left: the note goes.
            None => {
                object.remove("note");
                break;
            }
        }
    }
    if !omitted.is_empty() {
        let counts = object
            .entry("omitted")
            .or_insert_with(|| json!({}))
            .as_object_mut();
        if let Some(counts) = counts {
            for (key, count) in omitted {
                let before = counts.get(key).and_then(Value::as_u64).unwrap_or(0);
                counts.insert(key.to_owned(), json!(before + count));
            }
        }
    }
}

/// The handoffs a stored document holds, oldest first: a version 2 document's list, or the
/// single handoff a version 1 document was (clipped to today's bounds). Entries that are not
/// objects are skipped.
pub fn entries(stored: Option<Value>) -> Vec<Value> {
    let Some(mut stored) = stored else {
        return Vec::new();
    };
    if let Some(list) = stored.get_mut("handoffs").and_then(Value::as_array_mut) {
        return std::mem::take(list)
            .into_iter()
            .filter(Value::is_object)
            .collect();
    }
    if stored.get("from_session").is_some() {
        // Version 1: the project's last handoff, written by a session.
        if stored.get("by").is_none() {
            stored["by"] = json!("session");
        }
        bound(&mut stored);
        return vec![stored];
    }
    Vec::new()
}

/// The document that stores `entries` (oldest first) for `project`.
pub fn document(project: &str, entries: Vec<Value>) -> Value {
    json!({
        "schema_version": DOCUMENT_SCHEMA,
        "project": project,
        "handoffs": entries,
    })
}

/// Add `handoff` as the newest: a handoff from the same session replaces that session's
/// earlier one, keeping what `handoff write` added to it ([`carry_plan`]).
pub fn put(entries: &mut Vec<Value>, mut handoff: Value) {
    if let Some(session) = handoff
        .get("from_session")
        .and_then(Value::as_str)
        .map(str::to_owned)
        && let Some(at) = entries
            .iter()
            .position(|entry| entry.get("from_session").and_then(Value::as_str) == Some(&session))
    {
        let previous = entries.remove(at);
        carry_plan(&previous, &mut handoff);
        bound(&mut handoff);
    }
    entries.push(handoff);
}

/// Whether a handoff is younger than `max_age` at `now`; one whose time cannot be read is not.
pub fn is_fresh(handoff: &Value, now: Timestamp, max_age: Duration) -> bool {
    let Some(at) = handoff
        .get("at")
        .and_then(Value::as_str)
        .and_then(|raw| raw.parse::<Timestamp>().ok())
    else {
        return false;
    };
    let oldest = jiff::SignedDuration::try_from(max_age)
        .ok()
        .and_then(|age| now.checked_sub(age).ok());
    // An age past the calendar's start keeps everything.
    oldest.is_none_or(|oldest| at >= oldest)
}

/// Keep the newest `keep` handoffs younger than `max_age`. Returns how many were dropped.
pub fn prune(entries: &mut Vec<Value>, now: Timestamp, keep: usize, max_age: Duration) -> usize {
    let before = entries.len();
    entries.retain(|entry| is_fresh(entry, now, max_age));
    let extra = entries.len().saturating_sub(keep);
    entries.drain(..extra);
    before - entries.len()
}

/// Who left a handoff, for people: `session ID` or `a person`.
pub fn author(handoff: &Value) -> String {
    match handoff.get("from_session").and_then(Value::as_str) {
        Some(id) if handoff.get("by").and_then(Value::as_str) != Some("person") => {
            format!("session {id}")
        }
        _ => "a person".to_owned(),
    }
}

fn at(handoff: &Value) -> &str {
    handoff.get("at").and_then(Value::as_str).unwrap_or("?")
}

fn from_session(handoff: &Value) -> Option<&str> {
    handoff.get("from_session").and_then(Value::as_str)
}

/// Whether `handoff` names item `id`.
pub fn touches(handoff: &Value, id: &str) -> bool {
    list(handoff, "items")
        .iter()
        .any(|item| item.get("id").and_then(Value::as_str) == Some(id))
}

fn item_in<'a>(handoff: &'a Value, id: &str) -> Option<&'a Value> {
    list(handoff, "items")
        .iter()
        .find(|item| item.get("id").and_then(Value::as_str) == Some(id))
}

/// An item as it is now (from the tracker), for the brief.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemNow {
    pub title: String,
    pub status: String,
    pub progress: i64,
}

fn is_open(status: &str) -> bool {
    !matches!(status, "DONE" | "CANCELLED")
}

/// The handoffs a session may be told, newest first: every kept one but its own.
fn visible<'a>(entries: &'a [Value], own: Option<&'a str>) -> impl Iterator<Item = &'a Value> {
    entries
        .iter()
        .rev()
        .filter(move |entry| own.is_none() || from_session(entry) != own)
}

/// Every item the visible handoffs name, newest first, with whether its latest handoff left
/// it open.
fn recorded_items<'a>(entries: &'a [Value], own: Option<&'a str>) -> Vec<(&'a str, bool)> {
    let mut found: Vec<(&str, bool)> = Vec::new();
    for entry in visible(entries, own) {
        for item in list(entry, "items") {
            let Some(id) = item.get("id").and_then(Value::as_str) else {
                continue;
            };
            if found.iter().any(|(seen, _)| *seen == id) {
                continue;
            }
            let status = item.get("status").and_then(Value::as_str).unwrap_or("");
            found.push((id, is_open(status)));
        }
    }
    found
}

/// The items the brief may name, newest first: those recent handoffs touched whose latest
/// handoff left them open, at most [`MAX_BRIEF_CANDIDATES`]. The caller looks up how they
/// are now.
pub fn candidates(entries: &[Value], own: Option<&str>) -> Vec<String> {
    recorded_items(entries, own)
        .into_iter()
        .filter(|(_, open)| *open)
        .take(MAX_BRIEF_CANDIDATES)
        .map(|(id, _)| id.to_owned())
        .collect()
}

/// One open item of the brief, with the handoffs that tell about it.
#[derive(Debug, Clone, Serialize)]
pub struct ItemBrief {
    pub id: String,
    pub title: String,
    pub status: String,
    pub progress: i64,
    /// The latest handoff touching it.
    pub latest: Value,
    /// When `latest` holds only tracker activity ([`has_content`] is false): the latest
    /// handoff before it that holds some, or, when `latest` only claimed it and none does,
    /// the latest that worked on it.
    pub earlier_work: Option<Value>,
}

/// What a new session is told of the handoffs: the open items recent sessions took, then
/// the latest general handoff.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Brief {
    pub items: Vec<ItemBrief>,
    /// Open items past [`MAX_BRIEF_ITEMS`], counted, not named.
    pub more_items: usize,
    pub general: Option<Value>,
}

/// Choose what a session (`own`, left out; `None` for a new one) is told of `entries`
/// (oldest first). `now` holds the candidate items ([`candidates`]) as they are now, when
/// the tracker was asked: an item missing from it is gone, and one closed since is left out.
/// Without it, each item is as its latest handoff left it, as are items past the candidates.
///
/// The general handoff is the newest substantive one that names no item open now: among the
/// candidates, as the tracker has them; any other item, as its latest handoff left it.
pub fn select(
    entries: &[Value],
    own: Option<&str>,
    now: Option<&HashMap<String, ItemNow>>,
) -> Brief {
    let mut brief = Brief::default();
    let mut open_now: Vec<&str> = Vec::new();
    let mut looked_up = 0;
    for (id, recorded_open) in recorded_items(entries, own) {
        if !recorded_open {
            continue;
        }
        if looked_up == MAX_BRIEF_CANDIDATES {
            // Not looked up: open as its latest handoff left it, for the general handoff.
            open_now.push(id);
            continue;
        }
        looked_up += 1;
        let touching: Vec<&Value> = visible(entries, own)
            .filter(|entry| touches(entry, id))
            .collect();
        let Some(latest) = touching.first().copied() else {
            continue;
        };
        let recorded = item_in(latest, id);
        let state = match now {
            Some(now) => match now.get(id) {
                Some(state) => state.clone(),
                None => continue,
            },
            None => ItemNow {
                title: recorded
                    .and_then(|item| item.get("title"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                status: recorded
                    .and_then(|item| item.get("status"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                progress: recorded
                    .and_then(|item| item.get("progress"))
                    .and_then(Value::as_i64)
                    .unwrap_or(0),
            },
        };
        if !is_open(&state.status) {
            continue;
        }
        open_now.push(id);
        if brief.items.len() == MAX_BRIEF_ITEMS {
            brief.more_items += 1;
            continue;
        }
        let earlier = &touching[1..];
        let earlier_work = if has_content(latest) {
            None
        } else {
            earlier
                .iter()
                .find(|entry| has_content(entry))
                .or_else(|| {
                    (!is_substantive(latest))
                        .then(|| earlier.iter().find(|entry| is_substantive(entry)))
                        .flatten()
                })
                .map(|entry| (*entry).clone())
        };
        brief.items.push(ItemBrief {
            id: id.to_owned(),
            title: state.title,
            status: state.status,
            progress: state.progress,
            latest: latest.clone(),
            earlier_work,
        });
    }
    brief.general = visible(entries, own)
        .find(|entry| is_substantive(entry) && !open_now.iter().any(|id| touches(entry, id)))
        .cloned();
    brief
}

/// What a handoff did to item `id`, for people: `claimed and worked on`.
fn what_done(handoff: &Value, id: &str) -> String {
    let did = item_in(handoff, id).map(did).unwrap_or_default();
    let words: Vec<&str> = did
        .iter()
        .map(|did| match *did {
            "worked" => "worked on",
            other => other,
        })
        .collect();
    if words.is_empty() {
        "named".to_owned()
    } else {
        words.join(" and ")
    }
}

/// `text` as a sentence: trailing blanks trimmed, and a full stop unless it already ends in
/// one (or in `!`, `?`, or the `…` of a clipped text).
fn sentence(text: &str) -> String {
    let text = text.trim_end();
    if text.ends_with(['.', '!', '?', '…']) {
        text.to_owned()
    } else {
        format!("{text}.")
    }
}

/// Entries joined into one phrase by `separator`, each without its trailing blanks and full
/// stop, so that the phrase's own stop is the only one.
fn join_entries(entries: &[String], separator: &str) -> String {
    entries
        .iter()
        .map(|entry| entry.trim_end().trim_end_matches('.').trim_end())
        .collect::<Vec<_>>()
        .join(separator)
}

/// A handoff's content as phrases, each a sentence: note, next steps, last test run, done,
/// files.
fn phrases(handoff: &Value) -> Vec<String> {
    let mut phrases = Vec::new();
    if let Some(note) = handoff
        .get("note")
        .and_then(Value::as_str)
        .filter(|note| !note.trim().is_empty())
    {
        phrases.push(sentence(&format!("Note: {}", note.trim())));
    }
    let mut next_steps = texts(handoff, "planned");
    next_steps.extend(texts(handoff, "next_steps"));
    if !next_steps.is_empty() {
        phrases.push(sentence(&format!(
            "Next steps: {}",
            join_entries(&next_steps, "; ")
        )));
    }
    if let Some(last) = handoff.get("last_test").filter(|last| last.is_object()) {
        match crate::session::describe_test_run(last) {
            Some(run) => phrases.push(sentence(&format!("Last {run}"))),
            None => {
                let command = last.get("command").and_then(Value::as_str).unwrap_or("?");
                phrases.push(format!("Last test run unknown: `{command}`."));
            }
        }
    }
    let done = texts(handoff, "done");
    if !done.is_empty() {
        phrases.push(sentence(&format!("Done: {}", join_entries(&done, "; "))));
    }
    let files = texts(handoff, "files");
    if !files.is_empty() {
        phrases.push(sentence(&format!("Files touched: {}", files.join(", "))));
    }
    phrases
}

/// One item of a handoff, for people: `T-3 "Parser" (IN_PROGRESS, 40%): claimed and worked on`.
fn describe_item(item: &Value) -> String {
    let id = item.get("id").and_then(Value::as_str).unwrap_or("?");
    let title = item.get("title").and_then(Value::as_str).unwrap_or("");
    let status = item.get("status").and_then(Value::as_str).unwrap_or("?");
    let progress = item.get("progress").and_then(Value::as_i64).unwrap_or(0);
    let did: Vec<&str> = did(item)
        .into_iter()
        .map(|did| if did == "worked" { "worked on" } else { did })
        .collect();
    format!(
        "{id} \"{title}\" ({status}, {progress}%): {}",
        did.join(" and ")
    )
}

/// Every line of one handoff, for `handoff show --all|--item|--session` and `handoff write`.
pub fn describe(handoff: &Value) -> Vec<String> {
    let reason = handoff
        .get("reason")
        .and_then(Value::as_str)
        .map(|reason| format!(" ({reason})"))
        .unwrap_or_default();
    let mut lines = vec![format!(
        "Handoff from {} at {}{reason}:",
        author(handoff),
        at(handoff)
    )];
    let items: Vec<String> = list(handoff, "items").iter().map(describe_item).collect();
    if !items.is_empty() {
        lines.push(format!("- Items: {}.", items.join("; ")));
    }
    lines.extend(
        phrases(handoff)
            .into_iter()
            .map(|phrase| format!("- {phrase}")),
    );
    lines
}

/// The lines of the latest general handoff in the brief.
fn describe_general(handoff: &Value) -> Vec<String> {
    let mut lines = vec![format!(
        "Latest handoff in this project, from {} at {}:",
        author(handoff),
        at(handoff)
    )];
    lines.extend(
        phrases(handoff)
            .into_iter()
            .map(|phrase| format!("- {phrase}")),
    );
    let items = list(handoff, "items");
    let completed: Vec<String> = items
        .iter()
        .filter(|item| did(item).contains(&"completed"))
        .map(|item| {
            let id = item.get("id").and_then(Value::as_str).unwrap_or("?");
            let title = item.get("title").and_then(Value::as_str).unwrap_or("");
            format!("{id} \"{title}\"")
        })
        .collect();
    if !completed.is_empty() {
        lines.push(format!("- Completed: {}.", completed.join("; ")));
    }
    let others: Vec<String> = items
        .iter()
        .filter(|item| !did(item).contains(&"completed"))
        .map(describe_item)
        .collect();
    if !others.is_empty() {
        lines.push(format!("- Items: {}.", others.join("; ")));
    }
    lines
}

/// The line of one open item in the brief.
fn describe_brief_item(item: &ItemBrief) -> String {
    let latest = &item.latest;
    let mut line = format!(
        "- {} \"{}\" ({}, {}%): {} by {} at {}",
        item.id,
        item.title,
        item.status,
        item.progress,
        what_done(latest, &item.id),
        author(latest),
        at(latest)
    );
    let work = match &item.earlier_work {
        Some(work) => {
            line.push_str(&format!(
                "; before that {} by {} at {}",
                what_done(work, &item.id),
                author(work),
                at(work)
            ));
            Some(work)
        }
        None => Some(latest),
    };
    line.push('.');
    if let Some(work) = work {
        for phrase in phrases(work) {
            line.push(' ');
            line.push_str(&phrase);
        }
    }
    clip_line(&line, MAX_BRIEF_LINE_CHARS)
}

fn clip_line(line: &str, max: usize) -> String {
    match line.char_indices().nth(max.saturating_sub(1)) {
        Some((end, _)) if line.chars().count() > max => format!("{}…", line[..end].trim_end()),
        _ => line.to_owned(),
    }
}

/// The budget of the handoff brief within SessionStart's `context_chars`.
pub fn brief_budget(context_chars: usize) -> usize {
    context_chars * BRIEF_SHARE_PERCENT / 100
}

/// The heading of the brief's open items.
const ITEMS_HEADING: &str = "Open items that recent sessions took, newest first:";

/// The line that counts the open items the brief leaves out: `more` of them past the `shown`
/// ones.
fn more_items_line(more: usize, shown: usize) -> String {
    let items = if more == 1 { "item" } else { "items" };
    if shown == 0 {
        format!("({more} open {items} that recent sessions took: `orchestron handoff show --all`)")
    } else {
        format!("({more} more open {items}: `orchestron handoff show --all`)")
    }
}

/// The brief as lines, within `budget` characters (newlines between lines counted): the
/// items first, then the general handoff, which keeps up to [`GENERAL_SHARE_PERCENT`] of the
/// budget for itself. A heading is kept only with at least one line under it; open items
/// left out (past [`MAX_BRIEF_ITEMS`] or for the budget) are counted in a last line of the
/// items, when that line fits.
pub fn brief_lines(brief: &Brief, budget: usize) -> Vec<String> {
    let general = brief
        .general
        .as_ref()
        .map(describe_general)
        .unwrap_or_default();
    // The general part's lines and the newline before them.
    let general_size = size(&general) + usize::from(!general.is_empty());
    let held = general_size.min(budget * GENERAL_SHARE_PERCENT / 100);
    let mut lines = item_lines(brief, budget.saturating_sub(held));
    let used = size(&lines) + usize::from(!lines.is_empty());
    lines.extend(section(&general, budget.saturating_sub(used)));
    lines
}

/// The open items' part of the brief within `limit` characters: the heading, the items that
/// fit, and how many are left out.
fn item_lines(brief: &Brief, limit: usize) -> Vec<String> {
    let total = brief.items.len() + brief.more_items;
    if total == 0 {
        return Vec::new();
    }
    let mut all = vec![ITEMS_HEADING.to_owned()];
    all.extend(brief.items.iter().map(describe_brief_item));
    let kept = section(&all, limit);
    if brief.more_items == 0 && kept.len() == all.len() {
        return kept;
    }
    // Some are left out: hold room for the line that counts them (at its longest).
    let longest = more_items_line(total, 0)
        .chars()
        .count()
        .max(more_items_line(total, 1).chars().count());
    let mut kept = section(&all, limit.saturating_sub(longest + 1));
    let shown = kept.len().saturating_sub(1);
    let line = more_items_line(total - shown, shown);
    if size(&kept) + usize::from(!kept.is_empty()) + line.chars().count() <= limit {
        kept.push(line);
    }
    kept
}

/// The first of `lines` (a heading and what is under it) that fit in `limit`, or none when
/// nothing under the heading fits.
fn section(lines: &[String], limit: usize) -> Vec<String> {
    let kept = take_lines(lines, limit);
    if kept.len() < 2 { Vec::new() } else { kept }
}

/// Characters of `lines` joined by newlines.
fn size(lines: &[String]) -> usize {
    lines.iter().map(|line| line.chars().count()).sum::<usize>() + lines.len().saturating_sub(1)
}

/// The first of `lines` that fit in `limit` characters joined by newlines; the line that
/// does not fit is shortened (ending in `…`) when at least 40 characters of it fit.
pub fn take_lines(lines: &[String], limit: usize) -> Vec<String> {
    let mut kept = Vec::new();
    let mut used = 0;
    for line in lines {
        let separator = usize::from(!kept.is_empty());
        let length = line.chars().count();
        if used + separator + length <= limit {
            kept.push(line.clone());
            used += separator + length;
            continue;
        }
        let room = limit.saturating_sub(used + separator);
        if room >= 40 {
            kept.push(clip_line(line, room));
        }
        break;
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2026-01-01T00:00:00Z";

    fn now() -> Timestamp {
        NOW.parse().unwrap()
    }

    fn session(id: &str, todos: Value, files: &[&str], test: Option<bool>) -> Value {
        let files: serde_json::Map<String, Value> = files
            .iter()
            .map(|file| ((*file).to_owned(), json!({"edits": 1})))
            .collect();
        let mut document = json!({
            "session": {"id": id, "project": "app"},
            "execution": {"todos": {"items": todos}, "files": files},
            "observability": {"metrics": {"tool_calls": 3}}});
        if let Some(passed) = test {
            document["execution"]["tests"] =
                json!({"last": {"command": "cargo test", "passed": passed}});
        }
        document
    }

    fn at(handoff: Value, time: &str) -> Value {
        let mut handoff = handoff;
        handoff["at"] = json!(time);
        handoff
    }

    #[test]
    fn a_handoff_says_what_was_done_and_what_is_next() {
        let document = json!({
            "session": {"id": "s1", "project": "app"},
            "execution": {
                "todos": {"items": [{"content": "parser", "status": "completed"},
                                    {"content": "docs", "status": "pending"}]},
                "files": {"/p/a.rs": {"last_edit": "2026-01-01T00:00:00Z"},
                          "/p/b.rs": {"last_edit": "2026-01-01T00:00:05Z"}},
                "tests": {"last": {"command": "cargo test", "passed": true, "junk": 1}}},
            "observability": {"metrics": {"tool_calls": 7}}});
        let handoff = compose(&document, now(), "other", Vec::new());
        assert_eq!(handoff["by"], "session");
        assert_eq!(handoff["done"], json!(["parser"]));
        assert_eq!(handoff["next_steps"], json!(["docs"]));
        assert_eq!(
            handoff["files"],
            json!(["/p/b.rs", "/p/a.rs"]),
            "last edited first"
        );
        assert_eq!(handoff["last_test"]["command"], "cargo test");
        assert!(handoff["last_test"].get("junk").is_none());
        let lines = describe(&handoff);
        assert_eq!(
            lines[0],
            "Handoff from session s1 at 2026-01-01T00:00:00Z (other):"
        );
        assert_eq!(lines[1], "- Next steps: docs.");
        assert_eq!(lines[2], "- Last test run passed: `cargo test`.");
        // An empty session leaves nothing worth keeping.
        let empty = compose(&json!({}), now(), "other", Vec::new());
        assert!(!worth_keeping(&empty));
    }

    #[test]
    fn what_counts() {
        let nothing = compose(
            &session("s", json!([]), &[], None),
            now(),
            "exit",
            Vec::new(),
        );
        assert!(!is_substantive(&nothing) && !worth_keeping(&nothing));
        let claim = item("T-1", "t", "IN_PROGRESS", 0, &["claimed"]);
        let claimed = compose(
            &session("s", json!([]), &[], None),
            now(),
            "exit",
            vec![claim],
        );
        assert!(!is_substantive(&claimed) && worth_keeping(&claimed));
        let work = item("T-1", "t", "IN_PROGRESS", 50, &["claimed", "worked"]);
        let worked = compose(
            &session("s", json!([]), &[], None),
            now(),
            "exit",
            vec![work],
        );
        assert!(is_substantive(&worked));
        for document in [
            session(
                "s",
                json!([{"content": "a", "status": "pending"}]),
                &[],
                None,
            ),
            session("s", json!([]), &["/a"], None),
            session("s", json!([]), &[], Some(false)),
        ] {
            assert!(is_substantive(&compose(
                &document,
                now(),
                "exit",
                Vec::new()
            )));
        }
        let person = by_person("app", now(), &[], Some("staging is down"));
        assert!(is_substantive(&person));
        assert_eq!(author(&person), "a person");
        assert!(!is_substantive(&by_person("app", now(), &[], Some("  "))));
    }

    #[test]
    fn handoffs_are_clipped_to_their_bounds() {
        let long = "é".repeat(5_000);
        let todos: Vec<Value> = (0..100)
            .map(|i| json!({"content": format!("{i}{long}"), "status": if i % 2 == 0 {"completed"} else {"pending"}}))
            .collect();
        let files: Vec<String> = (0..100).map(|i| format!("/p/{i}{long}")).collect();
        let files: Vec<&str> = files.iter().map(String::as_str).collect();
        let items: Vec<Value> = (0..50)
            .map(|i| item(&format!("T-{i}"), &long, "TODO", 0, &["claimed"]))
            .collect();
        let mut handoff = compose(
            &session("s", json!(todos), &files, Some(true)),
            now(),
            &long,
            items,
        );
        add_plan(&mut handoff, &vec![long.clone(); 50], Some(&long));
        assert!(
            stored_bytes(&handoff) <= MAX_HANDOFF_BYTES,
            "{}",
            stored_bytes(&handoff)
        );
        for key in LISTS {
            assert!(list(&handoff, key).len() <= MAX_LIST_ENTRIES, "{key}");
            assert!(handoff["omitted"][key].as_u64().unwrap() > 0, "{key}");
        }
        assert!(handoff["reason"].as_str().unwrap().chars().count() <= MAX_ENTRY_CHARS + 1);
        assert!(
            handoff["note"]
                .as_str()
                .is_none_or(|note| note.chars().count() <= MAX_NOTE_CHARS + 1)
        );
    }

    #[test]
    fn handoffs_accumulate_one_per_session_and_keep_what_was_written() {
        let mut entries = Vec::new();
        let a = compose(
            &session(
                "a",
                json!([{"content": "x", "status": "completed"}]),
                &[],
                None,
            ),
            now(),
            "written",
            Vec::new(),
        );
        let mut a = a;
        add_plan(&mut a, &["deploy".to_owned()], Some("careful"));
        put(&mut entries, a);
        put(
            &mut entries,
            compose(
                &session("b", json!([]), &["/f"], None),
                now(),
                "exit",
                Vec::new(),
            ),
        );
        put(
            &mut entries,
            by_person("app", now(), &["review".to_owned()], None),
        );
        put(
            &mut entries,
            by_person("app", now(), &["again".to_owned()], None),
        );
        // Session a ends: its handoff replaces its written one, keeps the plan, and is newest.
        put(
            &mut entries,
            compose(
                &session("a", json!([]), &["/g"], None),
                now(),
                "exit",
                Vec::new(),
            ),
        );
        assert_eq!(entries.len(), 4);
        let last = entries.last().unwrap();
        assert_eq!(last["from_session"], "a");
        assert_eq!(last["planned"], json!(["deploy"]));
        assert_eq!(last["note"], "careful");
        assert_eq!(entries[0]["from_session"], "b");
    }

    #[test]
    fn pruning_keeps_the_newest_within_the_age() {
        let mut entries: Vec<Value> = (0..10)
            .map(|day| {
                at(
                    by_person("app", now(), &[], Some("n")),
                    &format!("2025-12-{:02}T00:00:00Z", 20 + day),
                )
            })
            .collect();
        entries.push(json!({"by": "person", "at": "not a time"}));
        let dropped = prune(&mut entries, now(), 3, Duration::from_secs(5 * 86_400));
        assert_eq!(dropped, 8);
        let days: Vec<&str> = entries.iter().map(|e| e["at"].as_str().unwrap()).collect();
        assert_eq!(
            days,
            [
                "2025-12-27T00:00:00Z",
                "2025-12-28T00:00:00Z",
                "2025-12-29T00:00:00Z"
            ]
        );
        let mut entries: Vec<Value> = (0..3)
            .map(|_| by_person("app", now(), &[], Some("n")))
            .collect();
        assert_eq!(prune(&mut entries, now(), 100, Duration::from_secs(1)), 0);
    }

    #[test]
    fn a_version_1_document_is_one_handoff() {
        let old = json!({"schema_version": "1.0.0", "project": "app", "from_session": "old",
            "at": NOW, "reason": "exit", "done": ["x"], "files": [], "last_test": null,
            "next_steps": ["y"], "tool_calls": 2});
        let found = entries(Some(old));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0]["by"], "session");
        assert_eq!(found[0]["next_steps"], json!(["y"]));
        let stored = document("app", found.clone());
        assert_eq!(entries(Some(stored)), found);
        assert!(entries(None).is_empty());
        assert!(entries(Some(json!({"other": 1}))).is_empty());
    }

    /// The scenario of the issue: A works, B only claims, C and D work on items in parallel.
    fn scenario() -> Vec<Value> {
        let a = compose(
            &session(
                "a",
                json!([{"content": "write the app", "status": "completed"},
                                 {"content": "write the docs", "status": "pending"}]),
                &["/p/app.py"],
                Some(true),
            ),
            now(),
            "exit",
            Vec::new(),
        );
        let b = compose(
            &session("b", json!([]), &[], None),
            now(),
            "exit",
            vec![item("T-1", "Tidy up", "IN_PROGRESS", 0, &["claimed"])],
        );
        let c = compose(
            &session(
                "c",
                json!([{"content": "parse dates", "status": "pending"}]),
                &["/p/c.py"],
                None,
            ),
            now(),
            "exit",
            vec![item(
                "T-2",
                "Parser",
                "IN_PROGRESS",
                40,
                &["claimed", "worked"],
            )],
        );
        let d = compose(
            &session(
                "d",
                json!([{"content": "style the page", "status": "pending"}]),
                &["/p/d.css"],
                None,
            ),
            now(),
            "exit",
            vec![item(
                "T-3",
                "Page",
                "IN_PROGRESS",
                60,
                &["claimed", "worked"],
            )],
        );
        let mut entries = Vec::new();
        for handoff in [a, b, c, d] {
            put(&mut entries, handoff);
        }
        entries
    }

    #[test]
    fn the_brief_tells_open_items_then_the_latest_general_work() {
        let entries = scenario();
        let brief = select(&entries, Some("e"), None);
        let ids: Vec<&str> = brief.items.iter().map(|item| item.id.as_str()).collect();
        assert_eq!(ids, ["T-3", "T-2", "T-1"], "newest first");
        assert_eq!(
            brief.general.as_ref().unwrap()["from_session"],
            "a",
            "the latest handoff not tied to an item shown, not the last writer's"
        );
        let lines = brief_lines(&brief, 1_200);
        let text = lines.join("\n");
        assert!(text.chars().count() <= 1_200);
        assert_eq!(
            lines[0],
            "Open items that recent sessions took, newest first:"
        );
        assert!(
            lines[1].starts_with(
                "- T-3 \"Page\" (IN_PROGRESS, 60%): claimed and worked on by session d at"
            ),
            "{text}"
        );
        assert!(
            lines[1].contains("Next steps: style the page.") && lines[1].contains("/p/d.css"),
            "{text}"
        );
        assert!(lines[2].contains("Next steps: parse dates."), "{text}");
        assert!(
            lines[3].starts_with("- T-1 \"Tidy up\" (IN_PROGRESS, 0%): claimed by session b at"),
            "{text}"
        );
        assert!(
            text.contains("Latest handoff in this project, from session a at"),
            "{text}"
        );
        assert!(
            text.contains("- Done: write the app.")
                && text.contains("- Next steps: write the docs."),
            "{text}"
        );
        assert!(
            text.contains("- Last test run passed: `cargo test`."),
            "{text}"
        );

        // A session is not told its own handoff.
        let brief = select(&entries, Some("d"), None);
        assert!(brief.items.iter().all(|item| item.id != "T-3"));
        let brief = select(&entries, Some("a"), None);
        assert!(
            brief.general.is_none(),
            "c and d are shown with their items"
        );
    }

    #[test]
    fn the_tracker_decides_what_is_open_now() {
        let entries = scenario();
        let mut now_states = HashMap::new();
        now_states.insert(
            "T-1".to_owned(),
            ItemNow {
                title: "Tidy".into(),
                status: "IN_PROGRESS".into(),
                progress: 10,
            },
        );
        now_states.insert(
            "T-2".to_owned(),
            ItemNow {
                title: "Parser".into(),
                status: "DONE".into(),
                progress: 100,
            },
        );
        // T-3 was deleted.
        let brief = select(&entries, None, Some(&now_states));
        let ids: Vec<&str> = brief.items.iter().map(|item| item.id.as_str()).collect();
        assert_eq!(ids, ["T-1"]);
        assert_eq!(brief.items[0].progress, 10);
        // Closed items no longer hold their handoffs back: d's is the latest general one.
        assert_eq!(brief.general.as_ref().unwrap()["from_session"], "d");
    }

    #[test]
    fn a_claim_after_work_still_tells_the_work() {
        let mut entries = scenario();
        put(
            &mut entries,
            compose(
                &session("f", json!([]), &[], None),
                now(),
                "exit",
                vec![item("T-2", "Parser", "IN_PROGRESS", 40, &["claimed"])],
            ),
        );
        let brief = select(&entries, None, None);
        let t2 = brief.items.iter().find(|item| item.id == "T-2").unwrap();
        assert_eq!(t2.latest["from_session"], "f");
        assert_eq!(t2.earlier_work.as_ref().unwrap()["from_session"], "c");
        let line = describe_brief_item(t2);
        assert!(line.contains("claimed by session f at"), "{line}");
        assert!(
            line.contains("before that claimed and worked on by session c at"),
            "{line}"
        );
        assert!(line.contains("Next steps: parse dates."), "{line}");
        assert_eq!(brief.items[0].id, "T-2", "newest first");
    }

    #[test]
    fn the_brief_keeps_within_its_budget_and_room_for_the_general_handoff() {
        let mut entries = Vec::new();
        put(
            &mut entries,
            compose(
                &session(
                    "a",
                    json!([{"content": "done it", "status": "completed"}]),
                    &[],
                    None,
                ),
                now(),
                "exit",
                Vec::new(),
            ),
        );
        for i in 0..MAX_BRIEF_ITEMS {
            let todos = json!([{"content": "x".repeat(200), "status": "pending"}]);
            put(
                &mut entries,
                compose(
                    &session(&format!("s{i}"), todos, &[], None),
                    now(),
                    "exit",
                    vec![item(&format!("T-{i}"), "t", "IN_PROGRESS", 0, &["worked"])],
                ),
            );
        }
        let brief = select(&entries, None, None);
        assert_eq!(brief.items.len(), MAX_BRIEF_ITEMS);
        assert_eq!(brief.general.as_ref().unwrap()["from_session"], "a");
        for budget in [0, 30, 100, 500, 1_200, 5_000] {
            let text = brief_lines(&brief, budget).join("\n");
            assert!(
                text.chars().count() <= budget,
                "{budget}: {}",
                text.chars().count()
            );
            if budget >= 500 {
                assert!(text.contains("Done: done it."), "{budget}: {text}");
            }
        }
        assert!(brief_lines(&Brief::default(), 1_000).is_empty());
        assert_eq!(brief_budget(2_000), 1_200);
    }

    /// A general handoff, then `n` sessions each working on an item of its own with long
    /// to-dos: more open items than the brief names.
    fn many_items(n: usize) -> Vec<Value> {
        let mut entries = Vec::new();
        put(
            &mut entries,
            compose(
                &session(
                    "a",
                    json!([{"content": "Write the app", "status": "completed"},
                           {"content": "Write the docs", "status": "pending"}]),
                    &["/p/app.py"],
                    None,
                ),
                now(),
                "exit",
                Vec::new(),
            ),
        );
        for i in 0..n {
            let todos =
                json!([{"content": format!("step {i} {}", "x".repeat(150)), "status": "pending"}]);
            put(
                &mut entries,
                compose(
                    &session(&format!("s{i}"), todos, &[], None),
                    now(),
                    "exit",
                    vec![item(&format!("T-{i}"), "t", "IN_PROGRESS", 0, &["claimed"])],
                ),
            );
        }
        entries
    }

    #[test]
    fn a_small_budget_drops_headings_with_nothing_under_them_and_counts_the_items_left_out() {
        let brief = select(&many_items(8), None, None);
        assert_eq!(brief.items.len(), MAX_BRIEF_ITEMS);
        assert_eq!(brief.more_items, 2);
        let total = 8;
        let mut saw_count = false;
        for budget in 0..=2_500 {
            let lines = brief_lines(&brief, budget);
            let text = lines.join("\n");
            assert!(text.chars().count() <= budget, "{budget}: {text}");
            for (i, line) in lines.iter().enumerate() {
                if line == ITEMS_HEADING || line.starts_with("Latest handoff in this project") {
                    let under = lines.get(i + 1);
                    assert!(
                        under.is_some_and(|under| under.starts_with("- ")),
                        "{budget}: a heading with nothing under it:\n{text}"
                    );
                }
            }
            let shown = lines.iter().filter(|line| line.starts_with("- T-")).count();
            let counted = lines.iter().find(|line| line.starts_with('('));
            if shown < total && budget >= 200 {
                let expected = if shown == 0 {
                    more_items_line(total, 0)
                } else {
                    more_items_line(total - shown, shown)
                };
                assert_eq!(counted, Some(&expected), "{budget}:\n{text}");
                saw_count = true;
            }
            if shown == total {
                assert!(counted.is_none(), "{budget}:\n{text}");
            }
        }
        assert!(saw_count);
        // At 300 characters (the reviewer's `context_chars`, so 180 for the brief), the
        // items part says how many are left out rather than showing a bare heading.
        let lines = brief_lines(&brief, brief_budget(300));
        assert!(!lines.last().unwrap().ends_with(':'), "{lines:#?}");
        assert!(
            lines
                .iter()
                .any(|line| line.starts_with("(8 open items that recent sessions took")),
            "{lines:#?}"
        );
        assert_eq!(
            more_items_line(2, 6),
            "(2 more open items: `orchestron handoff show --all`)"
        );
        assert_eq!(
            more_items_line(1, 6),
            "(1 more open item: `orchestron handoff show --all`)"
        );
    }

    #[test]
    fn the_general_handoff_is_never_one_tied_to_an_open_item() {
        // Session a's general work, then 8 sessions each on its own item: a's handoff is the
        // general one, not that of an item past the six listed.
        let entries = many_items(8);
        let brief = select(&entries, None, None);
        let ids: Vec<&str> = brief.items.iter().map(|item| item.id.as_str()).collect();
        assert_eq!(ids, ["T-7", "T-6", "T-5", "T-4", "T-3", "T-2"]);
        assert_eq!(brief.general.as_ref().unwrap()["from_session"], "a");
        let text = brief_lines(&brief, 1_200).join("\n");
        assert!(
            text.contains("Latest handoff in this project, from session a at")
                && text.contains("- Done: Write the app."),
            "{text}"
        );
        assert!(text.contains("more open items"), "{text}");

        // Items the tracker says are open count, listed or not; closed ones do not: a
        // handoff whose items have all been closed since may be general.
        let mut states = HashMap::new();
        for i in 0..8 {
            let status = if i == 0 { "DONE" } else { "IN_PROGRESS" };
            states.insert(
                format!("T-{i}"),
                ItemNow {
                    title: "t".into(),
                    status: status.into(),
                    progress: 0,
                },
            );
        }
        let mut entries = entries;
        // s0 now also worked on a closed item: still general only if all its items are closed.
        let brief = select(&entries, None, Some(&states));
        assert_eq!(brief.more_items, 1);
        assert_eq!(brief.general.as_ref().unwrap()["from_session"], "s0");
        // A newer handoff naming a closed item and an open one (T-1, not listed) is not.
        put(
            &mut entries,
            compose(
                &session("g", json!([]), &["/p/g.py"], None),
                now(),
                "exit",
                vec![
                    item("T-0", "t", "DONE", 100, &["completed"]),
                    item("T-1", "t", "IN_PROGRESS", 0, &["worked"]),
                ],
            ),
        );
        states.remove("T-1");
        let brief = select(&entries, None, Some(&states));
        assert!(brief.items.iter().all(|item| item.id != "T-1"), "deleted");
        assert_eq!(
            brief.general.as_ref().unwrap()["from_session"],
            "g",
            "T-1 was deleted, T-0 is done: g's handoff is general"
        );
        states.insert(
            "T-1".into(),
            ItemNow {
                title: "t".into(),
                status: "TODO".into(),
                progress: 0,
            },
        );
        let brief = select(&entries, None, Some(&states));
        assert_eq!(brief.general.as_ref().unwrap()["from_session"], "s0");
    }

    #[test]
    fn a_session_that_only_moved_an_item_in_the_tracker_hides_no_earlier_next_steps() {
        let mut entries = Vec::new();
        put(
            &mut entries,
            compose(
                &session(
                    "c",
                    json!([{"content": "Style the footer", "status": "pending"}]),
                    &["/p/page.html"],
                    None,
                ),
                now(),
                "exit",
                vec![item("T-x", "Page", "IN_PROGRESS", 0, &["claimed"])],
            ),
        );
        put(
            &mut entries,
            compose(
                &session("e", json!([]), &[], None),
                now(),
                "exit",
                vec![item("T-x", "Page", "IN_PROGRESS", 40, &["worked"])],
            ),
        );
        let brief = select(&entries, None, None);
        let line = describe_brief_item(&brief.items[0]);
        assert_eq!(brief.items[0].latest["from_session"], "e");
        assert_eq!(
            line,
            format!(
                "- T-x \"Page\" (IN_PROGRESS, 40%): worked on by session e at {NOW}; before \
                 that claimed by session c at {NOW}. Next steps: Style the footer. Files \
                 touched: /p/page.html."
            )
        );
        // A later handoff that says something of its own is told alone.
        put(
            &mut entries,
            compose(
                &session(
                    "f",
                    json!([{"content": "Test on mobile", "status": "pending"}]),
                    &[],
                    None,
                ),
                now(),
                "exit",
                vec![item("T-x", "Page", "IN_PROGRESS", 60, &["worked"])],
            ),
        );
        let brief = select(&entries, None, None);
        assert!(brief.items[0].earlier_work.is_none());
        let line = describe_brief_item(&brief.items[0]);
        assert!(line.ends_with("Next steps: Test on mobile."), "{line}");
    }

    #[test]
    fn notes_and_cut_steps_read_as_sentences() {
        let cut = format!("{}   {}", "a".repeat(MAX_ENTRY_CHARS - 3), "tail");
        let mut handoff = compose(
            &session(
                "s",
                json!([{"content": cut, "status": "pending"},
                       {"content": "Ship it. ", "status": "completed"}]),
                &[],
                None,
            ),
            now(),
            "exit",
            vec![item("T-1", "t", "IN_PROGRESS", 10, &["worked"])],
        );
        add_plan(
            &mut handoff,
            &["Check the zones.".to_owned()],
            Some("tz db missing "),
        );
        let brief = select(&[handoff.clone()], None, None);
        let line = describe_brief_item(&brief.items[0]);
        assert!(
            line.contains(&format!(
                ". Note: tz db missing. Next steps: Check the zones; {}… Done: Ship it.",
                "a".repeat(MAX_ENTRY_CHARS - 3)
            )),
            "{line}"
        );
        for bad in [" .", "..", "….", " …"] {
            assert!(!line.contains(bad), "{bad:?} in {line}");
        }
        let lines = describe(&handoff);
        assert!(
            lines.contains(&"- Note: tz db missing.".to_owned()),
            "{lines:#?}"
        );
        assert_eq!(sentence("Done: it!"), "Done: it!");
        assert_eq!(sentence("Note: x  "), "Note: x.");
    }

    #[test]
    fn take_lines_keeps_whole_lines_and_shortens_the_last() {
        let lines = vec!["a".repeat(10), "b".repeat(100), "c".repeat(5)];
        assert_eq!(take_lines(&lines, 1_000), lines);
        let kept = take_lines(&lines, 60);
        assert_eq!(kept.len(), 2);
        assert_eq!(size(&kept), 60);
        assert!(kept[1].ends_with('…'));
        assert_eq!(take_lines(&lines, 30), vec!["a".repeat(10)]);
    }
}
