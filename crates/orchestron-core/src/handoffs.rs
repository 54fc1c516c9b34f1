//! The operations on handoffs (the rules are [`crate::handoff`]'s): a session's handoff left
//! at SessionEnd, one written now by a session or a person, the handoffs kept, and the brief a
//! new session is told.
//!
//! **Layout.** A project's handoffs are one document, `<root>/handoffs/<project>.json`
//! (`{"schema_version": 2, "project", "handoffs": [oldest, …, newest]}`), at most
//! `handoffs.keep` (default 100) handoffs younger than `handoffs.max_age` (default 30 days),
//! each clipped to [`handoff::MAX_HANDOFF_BYTES`]. One document rather than a file per session:
//! SessionStart, which reads them all, opens one file instead of a hundred, and every write is
//! one [`crate::store::Store::transact`] under the document's lock, so parallel SessionEnds
//! queue and none is lost, and pruning needs no directory walk. The version 1 document (the
//! project's single last handoff, same file name) is read as a list of one and rewritten in
//! the new form at the next write.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::bounds::MAX_DOCUMENT_BYTES;
use crate::config::MAX_HANDOFFS_KEEP;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::handoff::{self, Brief, ItemNow, MAX_HANDOFF_BYTES};
use crate::ids::SessionId;
use crate::store::Outcome;
use crate::tracker::{offers, tasks};

/// The folder of its documents under the state root.
pub const FOLDER: &str = crate::store::HANDOFFS;

// The most handoffs kept, each at its largest (and a margin for the list's own indentation),
// fit in one document the store writes.
const _: () = assert!(MAX_HANDOFFS_KEEP * (MAX_HANDOFF_BYTES + 2_048) < MAX_DOCUMENT_BYTES);

fn key(project: &str) -> SessionId {
    SessionId::from_name(project)
}

/// The handoffs `project` keeps, oldest first: at most `handoffs.keep`, none older than
/// `handoffs.max_age` (a document a newer setting has not pruned yet is read as if it had
/// been). Reads only.
pub fn list(cx: &Context, project: &str) -> Result<Vec<Value>> {
    let stored = cx.store(FOLDER).try_read(&key(project))?;
    let mut entries = handoff::entries(stored);
    let config = cx.config();
    handoff::prune(
        &mut entries,
        cx.now(),
        config.handoffs_keep(),
        config.handoffs_max_age(),
    );
    Ok(entries)
}

/// Store `handoff` as the newest of `project`'s under the document's lock (replacing the same
/// session's earlier one and keeping what it wrote), prune to the configured bounds, and
/// return the handoff as stored. With `only_if`, a handoff that is not worth keeping and
/// replaces nothing is not stored (`None`).
fn store(cx: &Context, project: &str, handoff: Value, only_if: bool) -> Result<Option<Value>> {
    let now = cx.now();
    let config = cx.config();
    let (keep, max_age) = (config.handoffs_keep(), config.handoffs_max_age());
    let session = handoff
        .get("from_session")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(cx.store(FOLDER).transact(&key(project), |current| {
        let mut entries = handoff::entries(current);
        let replaces = session.as_deref().is_some_and(|session| {
            entries
                .iter()
                .any(|entry| entry.get("from_session").and_then(Value::as_str) == Some(session))
        });
        if only_if && !replaces && !handoff::worth_keeping(&handoff) {
            return Ok((Outcome::Unchanged, None));
        }
        handoff::put(&mut entries, handoff);
        let stored = entries.last().cloned();
        handoff::prune(&mut entries, now, keep, max_age);
        Ok((
            Outcome::Replace(handoff::document(project, entries)),
            stored,
        ))
    })?)
}

/// The tracker items session `id` claimed, worked on or completed, as handoff entries. A
/// tracker that cannot be read costs the items, never the handoff.
fn items_of(cx: &Context, id: &str) -> Vec<Value> {
    tasks::touched_by(cx, id)
        .unwrap_or_default()
        .into_iter()
        .map(|touched| {
            handoff::item(
                &touched.id,
                &touched.title,
                touched.status.as_str(),
                touched.progress,
                &touched.did,
            )
        })
        .collect()
}

fn project_of<'a>(document: &'a Value, fallback: &'a str) -> &'a str {
    document
        .pointer("/session/project")
        .and_then(Value::as_str)
        .unwrap_or(fallback)
}

/// Leave the handoff of a session that ended (its `document`, as it ended) for `reason`, in
/// its project (`fallback_project` when it names none), if it is worth keeping or replaces
/// one the session wrote. Returns the handoff stored.
pub fn session_ended(
    cx: &Context,
    document: &Value,
    reason: &str,
    fallback_project: &str,
) -> Result<Option<Value>> {
    let id = document
        .pointer("/session/id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let composed = handoff::compose(document, cx.now(), reason, items_of(cx, id));
    store(cx, project_of(document, fallback_project), composed, true)
}

/// Who writes a handoff with `handoff write`.
#[derive(Debug, Clone)]
pub enum Writer {
    /// A session: its to-dos, items, files and tests, with the plan and note added.
    Session(SessionId),
    /// A person at a terminal, in `project`: the plan and the note only.
    Person { project: String },
}

/// A handoff written now, with planned next steps and a note, stored unless `dry_run`. A
/// session's replaces its earlier one and SessionEnd keeps the plan and note; a person's is
/// added as a handoff of its own and needs a step or a note. Returns the handoff.
pub fn write(
    cx: &Context,
    writer: &Writer,
    next: &[String],
    note: Option<&str>,
    dry_run: bool,
    fallback_project: &str,
) -> Result<Value> {
    if next.iter().any(|step| step.trim().is_empty()) {
        return Err(Error::invalid("`--next` needs the text of a step"));
    }
    let (project, written) = match writer {
        Writer::Session(id) => {
            let document = cx.store(crate::sessions::FOLDER).read(id)?;
            let mut written =
                handoff::compose(&document, cx.now(), "written", items_of(cx, id.as_str()));
            handoff::add_plan(&mut written, next, note);
            (project_of(&document, fallback_project).to_owned(), written)
        }
        Writer::Person { project } => {
            if next.is_empty() && note.is_none_or(|note| note.trim().is_empty()) {
                return Err(Error::invalid(
                    "a handoff from a person needs `--next STEP` or `--note TEXT`",
                )
                .with_hint(
                    "with no current session the handoff is a person's; set `ORCHESTRON_SESSION` \
                     or pass `--session ID` to write a session's",
                ));
            }
            (
                project.clone(),
                handoff::by_person(project, cx.now(), next, note),
            )
        }
    };
    if dry_run {
        return Ok(written);
    }
    Ok(store(cx, &project, written.clone(), false)?.unwrap_or(written))
}

/// What a session (`own`; `None` for a new one) would be told of `project`'s handoffs. Items
/// are looked up in the tracker to learn which are still open; a tracker that cannot be read
/// leaves each item as its latest handoff recorded it. Reads only.
pub fn brief(cx: &Context, project: &str, own: Option<&str>) -> Result<Brief> {
    let entries = list(cx, project)?;
    let ids = handoff::candidates(&entries, own);
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let now = match tasks::items_now(cx, &ids) {
        Ok(items) if cx.tracker_path().exists() && !ids.is_empty() => Some(
            items
                .into_iter()
                .map(|item| {
                    let state = ItemNow {
                        title: item.title,
                        status: item.status.as_str().to_owned(),
                        progress: item.progress,
                    };
                    (item.id, state)
                })
                .collect::<HashMap<_, _>>(),
        ),
        _ => None,
    };
    Ok(handoff::select(&entries, own, now.as_ref()))
}

/// The brief's lines as SessionStart injects them for session `own` in `project`: within
/// [`handoff::brief_budget`] of the configured `hooks.context_chars`.
pub fn start_brief(cx: &Context, project: &str, own: Option<&str>) -> Result<Vec<String>> {
    let chosen = brief(cx, project, own)?;
    let budget = handoff::brief_budget(cx.config().context_chars());
    Ok(handoff::brief_lines(&chosen, budget))
}

/// The brief as data, with the lines it reads as: for `handoff show --json`.
pub fn brief_json(cx: &Context, project: &str) -> Result<Value> {
    let chosen = brief(cx, project, None)?;
    let budget = handoff::brief_budget(cx.config().context_chars());
    let lines = handoff::brief_lines(&chosen, budget);
    Ok(json!({
        "project": project,
        "lines": lines,
        "items": chosen.items,
        "more_items": chosen.more_items,
        "general": chosen.general,
    }))
}

/// The handoffs of `project` naming tracker item `raw`, newest first, resolved as `task show`
/// resolves it: an id the tracker does not know is refused (`not_found`) unless a kept
/// handoff names exactly that id (an item purged since). An item no handoff names has none
/// (an empty list). Reads only.
pub fn touching_item(cx: &Context, project: &str, raw: &str) -> Result<Vec<Value>> {
    let entries = list(cx, project)?;
    let id = match tasks::resolve_item(cx, raw) {
        Ok(id) => id,
        Err(err) if err.kind() == crate::ErrorKind::NotFound => {
            let raw = raw.trim();
            let named = entries.iter().rev().find_map(|entry| {
                entry
                    .get("items")
                    .and_then(Value::as_array)?
                    .iter()
                    .filter_map(|item| item.get("id").and_then(Value::as_str))
                    .find(|id| id.eq_ignore_ascii_case(raw))
                    .map(str::to_owned)
            });
            match named {
                Some(id) => id,
                None => return Err(err),
            }
        }
        Err(err) => return Err(err),
    };
    let mut found: Vec<Value> = entries
        .into_iter()
        .filter(|entry| handoff::touches(entry, &id))
        .collect();
    found.reverse();
    Ok(found)
}

/// The handoff session `id` left in `project`, if it is kept. Reads only.
pub fn of_session(cx: &Context, project: &str, id: &SessionId) -> Result<Option<Value>> {
    Ok(list(cx, project)?
        .into_iter()
        .rev()
        .find(|entry| entry.get("from_session").and_then(Value::as_str) == Some(id.as_str())))
}

/// Every handoff `project` keeps, newest first. Reads only.
pub fn all(cx: &Context, project: &str) -> Result<Vec<Value>> {
    let mut found = list(cx, project)?;
    found.reverse();
    Ok(found)
}

/// Offer item `raw` to `to` (an agent or a session; see [`offers::prepare`]) and tell the
/// receiver: a message in the inbox of the session named, or of every running session that
/// works as the agent named, which reaches its model at its next prompt or tool call. A
/// receiver not running yet is told at its SessionStart. Returns the offer and the sessions
/// told.
pub fn offer(
    cx: &Context,
    raw: &str,
    to: &str,
    context: &str,
    next_steps: &[String],
) -> Result<(offers::Offer, Vec<String>)> {
    let offer = offers::prepare(cx, raw, to, context, next_steps)?;
    // The giver's leases for the item go with it: the receiver must not find them in its way.
    if let Some(giver) = cx.actor().and_then(|actor| SessionId::parse(actor).ok()) {
        crate::coordination::release_for_item(cx, &giver, &offer.item)?;
    }
    let store = cx.store(crate::sessions::FOLDER);
    let targets: Vec<SessionId> = match SessionId::parse(to) {
        Ok(id) if store.exists(&id) => vec![id],
        _ => crate::sessions::running(cx)?
            .into_iter()
            .filter(|id| {
                store.try_read(id).ok().flatten().is_some_and(|document| {
                    document.pointer("/session/agent").and_then(Value::as_str) == Some(to)
                })
            })
            .collect(),
    };
    let text = offer.describe();
    let mut told = Vec::new();
    for id in targets {
        if crate::sessions::leave_message(cx, &crate::sessions::Scope::One(id.clone()), &text)
            .is_ok()
        {
            told.push(id.to_string());
        }
    }
    Ok((offer, told))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Config;
    use crate::tracker::model::{Kind, Priority, Status};
    use crate::tracker::tasks::NewItem;

    const NOW: &str = "2026-01-01T00:00:00Z";

    /// A context acting as session `actor` (or a person at a terminal).
    fn context(root: &Path, actor: Option<&str>) -> Context {
        crate::context::for_tests_as(root.to_path_buf(), Config::default(), actor, NOW)
    }

    fn item(cx: &Context, title: &str, priority: Priority) -> String {
        let new = NewItem {
            kind: Kind::Task,
            title: title.to_owned(),
            description: String::new(),
            status: Status::Todo,
            priority,
            estimate: None,
            assignee: None,
            labels: Vec::new(),
            files: Vec::new(),
            parent: None,
        };
        tasks::create(cx, &new).unwrap().item.id
    }

    fn document(id: &str) -> Value {
        json!({"session": {"id": id, "project": "p"}})
    }

    #[test]
    fn a_session_hands_on_the_items_it_claimed_worked_on_and_completed() {
        let dir = tempfile::tempdir().unwrap();
        let person = context(dir.path(), None);
        let first = item(&person, "First", Priority::High);
        let second = item(&person, "Second", Priority::Medium);
        let third = item(&person, "Third", Priority::Low);
        let other = item(&person, "Other's", Priority::Low);
        let s = context(dir.path(), Some("s"));
        tasks::next(&s, None, true, None, &[]).unwrap();
        tasks::set_progress(&s, &first, 30).unwrap();
        tasks::start(&s, &second, false).unwrap();
        tasks::complete(&s, &second, false, None).unwrap();
        tasks::next(&s, None, true, None, &[]).unwrap(); // the third
        tasks::release(&s, &third).unwrap();
        tasks::start(&context(dir.path(), Some("t")), &other, false).unwrap();

        let touched = tasks::touched_by(&s, "s").unwrap();
        let seen: Vec<(&str, &[&str])> = touched
            .iter()
            .map(|t| (t.id.as_str(), t.did.as_slice()))
            .collect();
        assert_eq!(
            seen,
            [
                (second.as_str(), &["claimed", "completed"][..]),
                (first.as_str(), &["claimed", "worked"][..]),
            ],
            "newest first; a released claim and another session's work are left out"
        );
        assert_eq!(touched[1].progress, 30);

        // The session ends having done nothing else: its handoff is kept for its items, and
        // the next session is told the open one (with its claim) and the completed one.
        let stored = session_ended(&s, &document("s"), "exit", "p")
            .unwrap()
            .unwrap();
        assert_eq!(stored["items"].as_array().unwrap().len(), 2);
        let brief = brief(&person, "p", None).unwrap();
        assert_eq!(brief.items.len(), 1);
        assert_eq!(brief.items[0].id, first);
        assert!(
            brief.general.is_none(),
            "its only handoff is told with the item"
        );
        // Once the item is done elsewhere, the handoff is general: it completed something.
        tasks::complete(&person, &first, true, None).unwrap();
        let brief = self::brief(&person, "p", None).unwrap();
        assert!(brief.items.is_empty());
        assert_eq!(brief.general.unwrap()["from_session"], "s");
    }

    #[test]
    fn without_a_tracker_or_anything_done_nothing_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let cx = context(dir.path(), Some("s"));
        assert_eq!(
            session_ended(&cx, &document("s"), "exit", "p").unwrap(),
            None
        );
        assert!(!dir.path().join(FOLDER).join("p.json").exists());
        assert!(!cx.tracker_path().exists(), "reads create no tracker");
        assert!(start_brief(&cx, "p", Some("s")).unwrap().is_empty());
    }

    #[test]
    fn a_persons_handoff_needs_a_step_or_a_note_and_sits_beside_the_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let cx = context(dir.path(), None);
        let person = Writer::Person {
            project: "p".to_owned(),
        };
        let err = write(&cx, &person, &[], None, false, "p").unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Invalid);
        let err = write(&cx, &person, &[" ".to_owned()], None, false, "p").unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Invalid);
        assert!(!dir.path().join(FOLDER).exists(), "refusals change nothing");
        write(&cx, &person, &["deploy".to_owned()], None, true, "p").unwrap();
        assert!(
            all(&cx, "p").unwrap().is_empty(),
            "a dry run stores nothing"
        );
        write(
            &cx,
            &person,
            &["deploy".to_owned()],
            Some("at noon"),
            false,
            "p",
        )
        .unwrap();
        let mut doc = document("s");
        doc["execution"] = json!({"files": {"/p/a": {}}});
        session_ended(&cx, &doc, "exit", "p").unwrap();
        let kept = all(&cx, "p").unwrap();
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[1]["by"], "person");
        assert_eq!(kept[0]["from_session"], "s");
        assert_eq!(
            of_session(&cx, "p", &SessionId::parse("s").unwrap()).unwrap(),
            Some(kept[0].clone())
        );
    }
}
