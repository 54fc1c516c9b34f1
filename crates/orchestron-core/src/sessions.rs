//! The operations on sessions: each is one locked transaction on the session store
//! ([`crate::store`]) applying the pure rules of [`crate::session`], with "now" asked once
//! from the context's clock. Faces (the CLI, later MCP and the supervisor) call these and
//! render the results.

use serde_json::{Map, Value, json};

use crate::bounds;
use crate::context::Context;
use crate::docpath::{Applied, DocPath, Edit};
use crate::error::{Error, ErrorKind, Result};
use crate::ids::SessionId;
use crate::session::{self, Lifecycle, Mode, NewSession, Status};
use crate::store::Outcome;

/// The folder of its documents under the state root.
pub const FOLDER: &str = crate::store::SESSIONS;

/// A session to create.
#[derive(Debug, Clone)]
pub struct Create {
    /// The id to use; a fresh UUID when `None`.
    pub id: Option<SessionId>,
    pub mode: Mode,
    pub project: Option<String>,
    pub parent_session: Option<SessionId>,
    pub metadata: Map<String, Value>,
    /// Who `session.created_by` names.
    pub created_by: String,
}

/// Which sessions `list` returns.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only active, unexpired sessions.
    pub active: bool,
    pub project: Option<String>,
    pub mode: Option<Mode>,
    pub status: Option<Status>,
}

/// What `list` found: the summaries, newest activity first, and the documents it could not
/// read, each with the reason and any hint (a face shows them: a session must not drop out
/// of the list unseen).
#[derive(Debug, Clone)]
pub struct Listing {
    pub summaries: Vec<Value>,
    pub unreadable: Vec<(SessionId, String)>,
}

/// A heartbeat's result.
#[derive(Debug, Clone)]
pub struct Heartbeat {
    pub count: Value,
    pub expiry: Value,
}

/// Create a session; an id that exists is refused (`conflict`). A generated id that is
/// taken is passed over for the next one: with a seeded generator every process starts the
/// same sequence, so two sessions get the first two ids of it, reproducibly.
pub fn create(cx: &Context, request: &Create) -> Result<SessionId> {
    const ATTEMPTS: usize = 1000;
    let mut new = NewSession {
        id: String::new(),
        mode: request.mode,
        project: request.project.clone(),
        parent_session: request.parent_session.as_ref().map(ToString::to_string),
        metadata: request.metadata.clone(),
        created_by: request.created_by.clone(),
    };
    if let Some(id) = &request.id {
        new.id = id.to_string();
        write_new(cx, id, &new)?;
        return Ok(id.clone());
    }
    for _ in 0..ATTEMPTS {
        let id = SessionId::parse(&cx.new_uuid())?;
        new.id = id.to_string();
        match write_new(cx, &id, &new) {
            Err(err) if err.kind() == ErrorKind::Conflict => continue,
            other => return other.map(|()| id),
        }
    }
    Err(Error::internal(format!(
        "found no free session id in {ATTEMPTS} attempts"
    )))
}

fn write_new(cx: &Context, id: &SessionId, new: &NewSession) -> Result<()> {
    let lifetime = cx.config().expiry(new.mode);
    let document = session::new_document(new, cx.now(), lifetime);
    Ok(cx.store(FOLDER).transact(id, |current| match current {
        Some(_) => Err(Error::session_exists(id.as_str()).into()),
        None => Ok((Outcome::Replace(document), ())),
    })?)
}

/// Record activity and push the expiry out by the mode's lifetime.
pub fn heartbeat(cx: &Context, id: &SessionId) -> Result<Heartbeat> {
    let now = cx.now();
    Ok(cx.store(FOLDER).update(id, |document| {
        let mode = Lifecycle::of(document)?.mode;
        session::heartbeat(document, now, cx.config().expiry(mode))?;
        let count = document["observability"]["metrics"]["heartbeat_count"].clone();
        let expiry = document["session"]["lifecycle"]["expiry"].clone();
        Ok((true, Heartbeat { count, expiry }))
    })?)
}

/// Make an ended, paused or expired session active again. Returns the status it had, or
/// `None` when it was active already (nothing changed).
pub fn recover(cx: &Context, id: &SessionId) -> Result<Option<Status>> {
    let now = cx.now();
    Ok(cx.store(FOLDER).update(id, |document| {
        let mode = Lifecycle::of(document)?.mode;
        let previous = session::recover(document, now, cx.config().expiry(mode))?;
        Ok((previous.is_some(), previous))
    })?)
}

/// End a session as `status` (completed or failed). Returns whether it changed.
pub fn end(cx: &Context, id: &SessionId, status: Status) -> Result<bool> {
    let now = cx.now();
    Ok(cx.store(FOLDER).update(id, |document| {
        let changed = session::end(document, now, status)?;
        Ok((changed, changed))
    })?)
}

/// Pause a session with a reason. Returns whether it changed.
pub fn pause(cx: &Context, id: &SessionId, reason: &str) -> Result<bool> {
    if reason.trim().is_empty() {
        return Err(Error::invalid("the reason must not be empty"));
    }
    let now = cx.now();
    Ok(cx.store(FOLDER).update(id, |document| {
        let changed = session::pause(document, now, reason)?;
        Ok((changed, changed))
    })?)
}

/// Resume a paused session. Returns whether it changed.
pub fn resume(cx: &Context, id: &SessionId) -> Result<bool> {
    let now = cx.now();
    Ok(cx.store(FOLDER).update(id, |document| {
        let mode = Lifecycle::of(document)?.mode;
        let changed = session::resume(document, now, cx.config().expiry(mode))?;
        Ok((changed, changed))
    })?)
}

/// Hand `from` off to `to` under both locks, creating `to` when missing. Returns whether
/// `to` was created.
pub fn handoff(
    cx: &Context,
    from: &SessionId,
    to: &SessionId,
    data: &Map<String, Value>,
    created_by: &str,
) -> Result<bool> {
    if from == to {
        return Err(Error::invalid(format!(
            "cannot hand session `{from}` off to itself"
        )));
    }
    let now = cx.now();
    let store = cx.store(FOLDER);
    // Checked before any lock file is made for `to`, and again under the locks.
    session::check_hand_off_from(&store.read(from)?, now)?;
    Ok(store.transact_pair(to, from, |target, source| {
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
                    created_by: created_by.to_owned(),
                };
                session::new_document(&new, now, cx.config().expiry(mode))
            }
        };
        session::handoff(&mut source, &mut target, now, data)?;
        Ok((Outcome::Replace(target), Outcome::Replace(source), created))
    })?)
}

/// The sessions matching `filter`, as summaries, newest activity first (documents whose
/// time cannot be read go last). Reads only: no lock, nothing created.
pub fn list(cx: &Context, filter: &ListFilter) -> Result<Listing> {
    let now = cx.now();
    let store = cx.store(FOLDER);
    let mut listing = Listing {
        summaries: Vec::new(),
        unreadable: Vec::new(),
    };
    for id in store.ids()? {
        let document = match store.try_read(&id) {
            Ok(Some(document)) => document,
            Ok(None) => continue, // removed since the directory was listed
            Err(err) => {
                let hint = err
                    .chain()
                    .find_map(|cause| cause.downcast_ref::<Error>())
                    .and_then(Error::hint)
                    .map(|hint| format!(" (hint: {hint})"))
                    .unwrap_or_default();
                listing.unreadable.push((id, format!("{err:#}{hint}")));
                continue;
            }
        };
        let summary = session::summary(&document, now);
        let keep = (!filter.active || summary["status"] == "active")
            && filter
                .project
                .as_ref()
                .is_none_or(|p| summary["project"] == **p)
            && filter.mode.is_none_or(|m| summary["mode"] == m.as_str())
            && filter
                .status
                .is_none_or(|s| summary["status"] == s.as_str());
        if keep {
            listing.summaries.push(summary);
        }
    }
    listing.summaries.sort_by_key(|summary| {
        std::cmp::Reverse(
            summary["last_activity"]
                .as_str()
                .and_then(|raw| session::parse_time(raw).ok()),
        )
    });
    Ok(listing)
}

/// A session's document, with an expiry that has passed shown as status `expired` whether
/// or not anyone stored it.
pub fn info(cx: &Context, id: &SessionId) -> Result<Value> {
    let mut document = cx.store(FOLDER).read(id)?;
    let expired = Lifecycle::of(&document)
        .is_ok_and(|lifecycle| lifecycle.status(cx.now()) == Status::Expired);
    if expired {
        document["session"]["lifecycle"]["status"] = json!(Status::Expired.as_str());
    }
    Ok(document)
}

/// How a `state` edit may treat the session it changes.
#[derive(Debug, Clone, Copy, Default)]
pub struct EditOptions<'a> {
    /// Create a missing session first (mode development, in this project), in the same
    /// transaction.
    pub create: Option<&'a str>,
    /// Make an edit that removes or breaks a field of [`PROTECTED_FIELDS`] all the same.
    pub force: bool,
}

/// What a protected field must hold for Orchestron to run the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// The session's own id (the name of its file).
    SessionId,
    /// A mode: development, leadership, sprint or config.
    Mode,
    /// A stored status: active, paused, completed or failed.
    Status,
    /// An RFC 3339 time with an offset.
    Time,
}

impl Needs {
    fn describe(self) -> &'static str {
        match self {
            Needs::SessionId => "the session's id",
            Needs::Mode => "a mode (development, leadership, sprint or config)",
            Needs::Status => "a status (active, paused, completed or failed)",
            Needs::Time => "an RFC 3339 time",
        }
    }
}

/// The fields of a session document Orchestron reads to run the session: the lifecycle
/// rules need the id, mode, status and expiry (without them `heartbeat`, `recover`, the
/// hooks and SessionStart fail), and `session list`, the views and the status line read the
/// times. A `state` edit that would remove one of them, or leave it holding something that
/// is not what it [`Needs`], is refused unless forced; a field that was broken already may be
/// left broken or repaired.
pub const PROTECTED_FIELDS: [(&str, Needs); 7] = [
    ("session.id", Needs::SessionId),
    ("session.mode", Needs::Mode),
    ("session.created_at", Needs::Time),
    ("session.lifecycle.status", Needs::Status),
    ("session.lifecycle.last_activity", Needs::Time),
    ("session.lifecycle.heartbeat", Needs::Time),
    ("session.lifecycle.expiry", Needs::Time),
];

/// Whether the protected field `name` of `document` holds what it `needs`.
fn holds(document: &Value, id: &SessionId, name: &str, needs: Needs) -> bool {
    let found = name
        .split('.')
        .try_fold(document, |node, key| node.get(key));
    let Some(Value::String(raw)) = found else {
        return false;
    };
    match needs {
        Needs::SessionId => raw == id.as_str(),
        Needs::Mode => raw.parse::<Mode>().is_ok(),
        Needs::Status => raw
            .parse::<Status>()
            .is_ok_and(|status| status != Status::Expired),
        Needs::Time => session::parse_time(raw).is_ok(),
    }
}

/// Which protected fields `document` holds as Orchestron needs them.
fn protected_held(document: &Value, id: &SessionId) -> [bool; PROTECTED_FIELDS.len()] {
    PROTECTED_FIELDS.map(|(name, needs)| holds(document, id, name, needs))
}

/// Refuse an edit that broke a protected field `before` held, naming the field; `query`
/// says the edit's path was a JSONPath, which may have reached it unawares.
fn check_protected(
    before: &[bool; PROTECTED_FIELDS.len()],
    after: &Value,
    id: &SessionId,
    query: bool,
) -> Result<()> {
    for ((name, needs), held) in PROTECTED_FIELDS.iter().zip(before) {
        if !held || holds(after, id, name, *needs) {
            continue;
        }
        let now = name.split('.').try_fold(after, |node, key| node.get(key));
        let what = match now {
            None => format!("the edit would remove `{name}`"),
            Some(Value::String(raw)) => {
                let shown: String = raw.chars().take(40).collect();
                let more = if shown.len() < raw.len() { "…" } else { "" };
                format!("the edit would set `{name}` to \"{shown}{more}\"")
            }
            Some(other) => format!(
                "the edit would set `{name}` to {}",
                crate::docpath::display_kind(other)
            ),
        };
        return Err(Error::invalid(format!(
            "{what}; Orchestron needs {} there to run the session",
            needs.describe()
        ))
        .with_hint(if query {
            "narrow the JSONPath so it leaves the field alone (such as `$.tasks..status` for \
             `$..status`), or pass `--force` to make the edit anyway (the session may stop working)"
        } else {
            "pass `--force` to make the edit anyway (the session may stop working); \
             `orchestron session …` and `orchestron mode` change a session's lifecycle safely"
        }));
    }
    Ok(())
}

/// How deep an edit nests what it writes, at the least: the steps of a path that names one
/// place (each enters an array or object, the document's own object first), plus the value's
/// own depth. `None` for an edit that makes nothing new (a delete, a JSONPath query).
fn nesting_of(path: &DocPath, edit: Edit<'_>) -> Option<usize> {
    let steps = match path {
        DocPath::Dot(steps)
        | DocPath::Query {
            singular: Some(steps),
            ..
        } => steps.len(),
        DocPath::Query { singular: None, .. } => return None,
    };
    let value = match edit {
        Edit::Set(value) => bounds::depth(value),
        Edit::Merge(data) => 1 + data.values().map(bounds::depth).max().unwrap_or(0),
        Edit::Append(value) => 1 + bounds::depth(value),
        Edit::Increment(_) => 0,
        Edit::Delete => return None,
    };
    Some(steps + value)
}

/// Apply `edit` at `path` in session `id`'s state under its lock. A change bumps
/// `session.lifecycle.last_activity`; no change writes nothing. An edit that would remove or
/// break a field of [`PROTECTED_FIELDS`] is refused unless `options.force`; one that would
/// nest past [`bounds::MAX_DEPTH`] is refused before anything is built (and the store refuses
/// any document it could not read back). With `options.create`, a missing session is created
/// first, in the same transaction.
pub fn edit_state(
    cx: &Context,
    id: &SessionId,
    path: &DocPath,
    edit: Edit<'_>,
    options: EditOptions<'_>,
) -> Result<Applied> {
    if let Some(levels) = nesting_of(path, edit) {
        bounds::check_depth("the edit", levels)?;
    }
    let now = cx.now();
    let store = cx.store(FOLDER);
    let change = |document: &mut Value| {
        let before = protected_held(document, id);
        let applied = path.apply(document, edit)?;
        if !document.is_object() {
            return Err(
                Error::invalid("the root of a session document must stay a JSON object").into(),
            );
        }
        if !options.force {
            check_protected(&before, document, id, path.is_query())?;
        }
        if applied.changed {
            session::touch(document, now);
        }
        Ok((applied.changed, applied))
    };
    let applied = match options.create {
        Some(project) => {
            let new = NewSession {
                id: id.to_string(),
                mode: Mode::Development,
                project: Some(project.to_owned()),
                parent_session: None,
                metadata: Map::new(),
                created_by: "orchestron".to_owned(),
            };
            let lifetime = cx.config().expiry(Mode::Development);
            store.update_or_create(id, || session::new_document(&new, now, lifetime), change)?
        }
        None => store.update(id, change)?,
    };
    Ok(applied)
}

/// Whose inbox a message goes to, or whose messages are listed.
#[derive(Debug, Clone)]
pub enum Scope {
    /// One session.
    One(SessionId),
    /// Every running session (to leave a message), or every session (to list).
    All,
}

/// A message left: for which session, under which number.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Delivered {
    pub session_id: String,
    pub id: u64,
}

/// What leaving a message did: where it was left, and (with [`Scope::All`]) the sessions
/// whose inbox was full of unread messages, which it did not reach.
#[derive(Debug, Clone, Default)]
pub struct Left {
    pub delivered: Vec<Delivered>,
    pub full: Vec<SessionId>,
}

/// The error for a session whose inbox holds as many unread messages as it keeps.
pub fn inbox_full(id: &SessionId) -> Error {
    Error::conflict(format!(
        "the inbox of session `{id}` is full: it holds {} unread messages, the most it keeps",
        crate::inbox::MAX_MESSAGES
    ))
    .with_hint(format!(
        "the session takes them at its next prompts; \
         `orchestron inbox list --session {id} --unread` shows them"
    ))
}

/// Leave a message in the inbox of one session, or of every active, unexpired one. A
/// session removed while the message goes out is simply not reached. A session whose inbox
/// is full of unread messages is refused (`conflict`, nothing changed) when it is the one
/// named, and listed in [`Left::full`] with [`Scope::All`].
pub fn leave_message(cx: &Context, scope: &Scope, text: &str) -> Result<Left> {
    crate::inbox::check_text(text)?;
    let now = cx.now();
    let store = cx.store(FOLDER);
    let targets = match scope {
        Scope::One(id) => {
            if !store.exists(id) {
                return Err(Error::session_not_found(id.as_str()));
            }
            vec![id.clone()]
        }
        Scope::All => running(cx)?,
    };
    let mut left = Left::default();
    for id in targets {
        let number = store.update(&id, |document| {
            let number = crate::inbox::add(document, now, text);
            Ok((number.is_some(), number))
        });
        match number {
            Ok(Some(number)) => left.delivered.push(Delivered {
                session_id: id.to_string(),
                id: number,
            }),
            Ok(None) if matches!(scope, Scope::All) => left.full.push(id),
            Ok(None) => return Err(inbox_full(&id)),
            Err(err)
                if matches!(scope, Scope::All) && Error::kind_of(&err) == ErrorKind::NotFound => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok(left)
}

/// Leave a note from the tracker in the inbox of session `id` ([`crate::inbox::add_note`]),
/// when it is running (active or paused, not ended nor expired), so that it reaches the
/// model at its next tool call or prompt. Returns whether the note was left: not for a
/// session that is missing, not running, or whose inbox is full of unread messages. Creates
/// nothing for a missing session.
pub fn leave_note(cx: &Context, id: &SessionId, text: &str) -> Result<bool> {
    let store = cx.store(FOLDER);
    if !store.exists(id) {
        return Ok(false);
    }
    let now = cx.now();
    let left = store.update(id, |document| {
        let running = Lifecycle::of(document).is_ok_and(|lifecycle| {
            matches!(lifecycle.status(now), Status::Active | Status::Paused)
        });
        let number = running
            .then(|| crate::inbox::add_note(document, now, text))
            .flatten();
        Ok((number.is_some(), number.is_some()))
    });
    match left {
        Ok(left) => Ok(left),
        // Removed since it was seen: nobody to tell.
        Err(err) if Error::kind_of(&err) == ErrorKind::NotFound => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// The messages of one session or of every session (each with its `session_id`), only the
/// unread ones with `unread`. Reads only.
pub fn messages(cx: &Context, scope: &Scope, unread: bool) -> Result<Vec<Value>> {
    let store = cx.store(FOLDER);
    let ids = match scope {
        Scope::One(id) => vec![id.clone()],
        Scope::All => store.ids()?,
    };
    let mut rows = Vec::new();
    for id in ids {
        let Some(document) = store.try_read(&id)? else {
            if matches!(scope, Scope::All) {
                continue;
            }
            return Err(Error::session_not_found(id.as_str()));
        };
        for mut message in crate::inbox::messages(&document) {
            if unread && !message["read_at"].is_null() {
                continue;
            }
            message["session_id"] = json!(id.as_str());
            rows.push(message);
        }
    }
    Ok(rows)
}

/// The sessions that are active and not expired.
pub fn running(cx: &Context) -> Result<Vec<SessionId>> {
    let now = cx.now();
    let store = cx.store(FOLDER);
    let mut found = Vec::new();
    for id in store.ids()? {
        let Ok(Some(document)) = store.try_read(&id) else {
            continue;
        };
        let active =
            Lifecycle::of(&document).is_ok_and(|lifecycle| lifecycle.status(now) == Status::Active);
        if active {
            found.push(id);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use proptest::prelude::*;
    use serde_json::Number;

    use super::*;
    use crate::config::Config;

    const NOW: &str = "2026-01-01T00:00:00Z";

    fn context(root: &Path) -> Context {
        crate::context::for_tests(root.to_path_buf(), Config::default())
    }

    fn session(cx: &Context) -> SessionId {
        let request = Create {
            id: Some(SessionId::parse("s").unwrap()),
            mode: Mode::Development,
            project: Some("p".to_owned()),
            parent_session: None,
            metadata: Map::new(),
            created_by: "tests".to_owned(),
        };
        create(cx, &request).unwrap()
    }

    fn edit(
        cx: &Context,
        id: &SessionId,
        path: &str,
        edit: Edit<'_>,
        force: bool,
    ) -> Result<Applied> {
        let options = EditOptions {
            create: None,
            force,
        };
        edit_state(cx, id, &DocPath::parse(path).unwrap(), edit, options)
    }

    #[test]
    fn finding_12_every_protected_field_is_guarded_and_force_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let cx = context(dir.path());
        let id = session(&cx);
        let text = json!("not what it needs");
        for (name, _) in PROTECTED_FIELDS {
            for change in [Edit::Delete, Edit::Set(&text), Edit::Set(&json!(7))] {
                let err = edit(&cx, &id, name, change, false).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::Invalid);
                assert!(err.message().contains(&format!("`{name}`")), "{err}");
                assert!(err.hint().unwrap().contains("--force"));
            }
        }
        // Their parents too, whichever field breaks first is named.
        for parent in ["session", "session.lifecycle", "$.session", "$..lifecycle"] {
            assert!(
                edit(&cx, &id, parent, Edit::Delete, false).is_err(),
                "{parent}"
            );
        }
        // What a field needs, it may be set to.
        edit(
            &cx,
            &id,
            "session.lifecycle.status",
            Edit::Set(&json!("paused")),
            false,
        )
        .unwrap();
        edit(&cx, &id, "session.mode", Edit::Set(&json!("sprint")), false).unwrap();
        let time = json!("2026-02-01T00:00:00+02:00");
        edit(
            &cx,
            &id,
            "session.lifecycle.expiry",
            Edit::Set(&time),
            false,
        )
        .unwrap();
        assert!(
            edit(
                &cx,
                &id,
                "session.lifecycle.status",
                Edit::Set(&json!("expired")),
                false
            )
            .is_err()
        );
        assert!(edit(&cx, &id, "session.id", Edit::Set(&json!("other")), false).is_err());
        // Forced, it goes through; a field broken already may stay broken or be repaired.
        edit(&cx, &id, "session.lifecycle.expiry", Edit::Set(&text), true).unwrap();
        edit(&cx, &id, "other", Edit::Set(&json!(1)), false).unwrap();
        edit(
            &cx,
            &id,
            "session.lifecycle.expiry",
            Edit::Set(&time),
            false,
        )
        .unwrap();
        let document = cx.store(FOLDER).read(&id).unwrap();
        assert!(Lifecycle::of(&document).is_ok());
    }

    /// A dot path or JSONPath, some of them naming Orchestron's own fields and some deep.
    fn path() -> impl Strategy<Value = String> {
        let key = prop::sample::select(vec![
            "session",
            "lifecycle",
            "status",
            "id",
            "mode",
            "expiry",
            "a",
            "b",
            "0",
            "-1",
            "k.e.y",
            "é",
            "$",
            "[",
            "",
        ]);
        let dot = prop::collection::vec(key, 0..6).prop_map(|keys| {
            keys.iter()
                .map(|key| match *key {
                    "0" => "[0]".to_owned(),
                    "-1" => "[-1]".to_owned(),
                    key if key.chars().all(char::is_alphanumeric) && !key.is_empty() => {
                        format!(".{key}")
                    }
                    key => format!("[{}]", serde_json::to_string(key).unwrap()),
                })
                .collect::<String>()
                .trim_start_matches('.')
                .to_owned()
        });
        let deep = (100..140_usize).prop_map(|steps| vec!["a"; steps].join("."));
        let query = prop::sample::select(vec![
            "$..status",
            "$..*",
            "$..id",
            "$.session.lifecycle.status",
            "$..[0]",
            "$.a..b",
            "$[*]",
            "$.a[*]",
            "$..a",
            "$..lifecycle",
        ])
        .prop_map(str::to_owned);
        prop_oneof![4 => dot, 1 => deep, 2 => query]
    }

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(|x| Number::from_f64(x).map_or(Value::Null, Value::Number)),
            prop::sample::select(vec![
                "active",
                "expired",
                "tomorrow",
                NOW,
                "sprint",
                "s",
                "",
                "\u{0}\u{7f}\"\\",
            ])
            .prop_map(Value::from),
            "\\PC{0,12}".prop_map(Value::from),
        ]
    }

    /// Small trees of any shape, and values nested up to past what the reader reads.
    fn value() -> impl Strategy<Value = Value> {
        let tree = leaf().prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z]{0,3}", inner, 0..4)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        });
        let deep = (leaf(), 0..140_usize, any::<bool>()).prop_map(|(leaf, levels, arrays)| {
            (0..levels).fold(leaf, |inner, _| {
                if arrays {
                    json!([inner])
                } else {
                    json!({"d": inner})
                }
            })
        });
        prop_oneof![3 => tree, 1 => deep]
    }

    #[derive(Debug, Clone)]
    enum Op {
        Set(Value),
        Merge(Value),
        Delete,
        Append(Value),
        Increment(Number),
    }

    fn op() -> impl Strategy<Value = (String, Op, bool)> {
        let number = prop_oneof![
            any::<i64>().prop_map(Number::from),
            any::<f64>().prop_filter_map("finite", Number::from_f64),
        ];
        let op = prop_oneof![
            value().prop_map(Op::Set),
            value().prop_map(|value| Op::Merge(json!({"m": value}))),
            Just(Op::Delete),
            value().prop_map(Op::Append),
            number.prop_map(Op::Increment),
        ];
        (path(), op, prop::bool::weighted(0.2))
    }

    impl Op {
        fn edit(&self) -> Edit<'_> {
            match self {
                Op::Set(value) => Edit::Set(value),
                Op::Merge(Value::Object(data)) => Edit::Merge(data),
                Op::Merge(_) => unreachable!("merges hold an object"),
                Op::Delete => Edit::Delete,
                Op::Append(value) => Edit::Append(value),
                Op::Increment(by) => Edit::Increment(by),
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        /// Whatever the edits, every document the store holds afterwards is read back by the
        /// reader of every command (and by the JSONPath reader over raw text) as exactly what
        /// was written; a refused edit leaves the bytes as they were; and an edit that is not
        /// forced leaves Orchestron's own fields as it needs them.
        #[test]
        fn any_document_orchestron_writes_orchestron_can_read(
            ops in prop::collection::vec(op(), 1..10)
        ) {
            let dir = tempfile::tempdir().unwrap();
            let cx = context(dir.path());
            let id = session(&cx);
            let store = cx.store(FOLDER);
            let file = store.document_path(&id);
            for (raw_path, op, force) in &ops {
                let Ok(path) = DocPath::parse(raw_path) else { continue };
                let before = store.read(&id).unwrap();
                let bytes_before = std::fs::read(&file).unwrap();
                let options = EditOptions { create: None, force: *force };
                let result = edit_state(&cx, &id, &path, op.edit(), options);

                let bytes = std::fs::read(&file).unwrap();
                let read = store.read(&id);
                prop_assert!(read.is_ok(), "unreadable after {raw_path} {op:?}: {read:?}");
                let read = read.unwrap();
                prop_assert!(bounds::depth(&read) <= bounds::MAX_DEPTH);
                prop_assert!(bytes.len() <= bounds::MAX_DOCUMENT_BYTES);
                let text = String::from_utf8(bytes.clone()).unwrap();
                let mut whole = None;
                let selected = crate::select::select("$..status", &text, &mut whole, crate::config::DEFAULT_QUERY_MAX_NODES);
                prop_assert!(selected.is_ok(), "{selected:?}");
                drop(selected);

                match result {
                    Err(_) => prop_assert_eq!(&bytes, &bytes_before, "refused, yet written"),
                    Ok(applied) => {
                        let mut expected = before.clone();
                        path.apply(&mut expected, op.edit()).unwrap();
                        if applied.changed {
                            session::touch(&mut expected, cx.now());
                        } else {
                            prop_assert_eq!(&bytes, &bytes_before, "unchanged, yet written");
                        }
                        prop_assert_eq!(&read, &expected, "read back differs from what was written");
                        if !force {
                            let held = protected_held(&before, &id);
                            let still = protected_held(&read, &id);
                            for ((name, _), (was, is)) in PROTECTED_FIELDS.iter().zip(held.iter().zip(still)) {
                                prop_assert!(!was || is, "`{}` broken by {} {:?}", name, raw_path, op);
                            }
                        }
                    }
                }
            }
        }
    }
}
