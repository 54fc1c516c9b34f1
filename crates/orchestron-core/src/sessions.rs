//! The operations on sessions: each is one locked transaction on the session store
//! ([`crate::store`]) applying the pure rules of [`crate::session`], with "now" asked once
//! from the context's clock. Faces (the CLI, later MCP and the supervisor) call these and
//! render the results.

use serde_json::{Map, Value, json};

use crate::context::Context;
use crate::docpath::{Applied, DocPath, Edit};
use crate::error::{Error, ErrorKind, Result};
use crate::ids::SessionId;
use crate::session::{self, Lifecycle, Mode, NewSession, Status};
use crate::store::Outcome;

/// The folder of session documents under the state root.
pub const FOLDER: &str = "sessions";

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
/// read (a face may warn about them).
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
                listing.unreadable.push((id, format!("{err:#}")));
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

/// Apply `edit` at `path` in session `id`'s state under its lock. A change bumps
/// `session.lifecycle.last_activity`; no change writes nothing. With `create`, a missing
/// session is created first (mode development, in the project named), in the same
/// transaction.
pub fn edit_state(
    cx: &Context,
    id: &SessionId,
    path: &DocPath,
    edit: Edit<'_>,
    create: Option<&str>,
) -> Result<Applied> {
    let now = cx.now();
    let store = cx.store(FOLDER);
    let change = |document: &mut Value| {
        let applied = path.apply(document, edit)?;
        if !document.is_object() {
            return Err(
                Error::invalid("the root of a session document must stay a JSON object").into(),
            );
        }
        if applied.changed {
            session::touch(document, now);
        }
        Ok((applied.changed, applied))
    };
    let applied = match create {
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

/// The folder of project handoffs under the state root (one document per project).
pub const HANDOFFS: &str = "handoffs";

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

/// Leave a message in the inbox of one session, or of every active, unexpired one. A
/// session removed while the message goes out is simply not reached.
pub fn leave_message(cx: &Context, scope: &Scope, text: &str) -> Result<Vec<Delivered>> {
    if text.trim().is_empty() {
        return Err(Error::invalid("the message is empty"));
    }
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
    let mut delivered = Vec::new();
    for id in targets {
        let number = store.update(&id, |document| {
            Ok((true, crate::inbox::add(document, now, text)))
        });
        match number {
            Ok(number) => delivered.push(Delivered {
                session_id: id.to_string(),
                id: number,
            }),
            Err(err)
                if matches!(scope, Scope::All) && Error::kind_of(&err) == ErrorKind::NotFound => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok(delivered)
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

/// The last handoff of `project`, if any. Reads only.
pub fn last_handoff(cx: &Context, project: &str) -> Result<Option<Value>> {
    Ok(cx
        .store(HANDOFFS)
        .try_read(&SessionId::from_name(project))?)
}

/// A handoff from session `id` now, with planned next steps and a note (SessionEnd keeps
/// them); stored as the project's (`fallback_project` when the session names none) unless
/// `dry_run`. Returns the handoff.
pub fn write_handoff(
    cx: &Context,
    id: &SessionId,
    next: &[String],
    note: Option<&str>,
    dry_run: bool,
    fallback_project: &str,
) -> Result<Value> {
    if next.iter().any(|step| step.trim().is_empty()) {
        return Err(Error::invalid("`--next` needs the text of a step"));
    }
    let document = cx.store(FOLDER).read(id)?;
    let mut written = crate::handoff::compose(&document, cx.now(), "written");
    crate::handoff::add_plan(&mut written, next, note);
    if !dry_run {
        let project = written["project"]
            .as_str()
            .unwrap_or(fallback_project)
            .to_owned();
        let stored = written.clone();
        cx.store(HANDOFFS)
            .transact(&SessionId::from_name(&project), |_| {
                Ok((Outcome::Replace(stored), ()))
            })?;
    }
    Ok(written)
}
