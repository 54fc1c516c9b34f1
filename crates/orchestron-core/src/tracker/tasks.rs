//! The operations on work items: each checks its request before touching anything, then
//! runs in one transaction (reads open the tracker read-only, or an empty one in memory),
//! and returns a typed result that every face renders its own way.
//!
//! Every status change goes through [`apply_move`], which applies [`model::plan_move`]: the
//! one definition of the lifecycle, its gates and its side effects.

use std::collections::HashMap;
use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension as _, Transaction, params};
use serde::Serialize;
use serde_json::{Value, json};

use super::items::{self, COLUMNS, Item};
use super::lease::{
    self, CLAIM_EXPIRED, CLAIM_RETURNED, CLAIM_TAKEN, ClaimerSession, LapsedClaim, Scope,
    claimer_of, claimer_session_of, lapse,
};
use super::model::{self, Kind, Priority, Reason, Status, Via, Workflow};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::ids::SessionId;
use crate::session::{format_time, parse_time};

/// The most hours an estimate may hold: ten working years, far beyond any real item, and
/// small enough that no sum of them overflows.
pub const MAX_ESTIMATE_HOURS: f64 = 100_000.0;

/// The most items a list returns in one call.
pub const MAX_LIMIT: u64 = 1_000_000;

/// An item with its labels: what lists and single-item replies carry.
#[derive(Debug, Clone, Serialize)]
pub struct ItemView {
    #[serde(flatten)]
    pub item: Item,
    pub labels: Vec<String>,
    /// The files it expects to touch (globs from the repository's top level), when it
    /// declares any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
}

/// One of an item's dependencies.
#[derive(Debug, Clone, Serialize)]
pub struct DependencyRef {
    pub id: String,
    pub status: Status,
}

/// One of an item's checkpoints (its acceptance list), numbered from 1 in order.
#[derive(Debug, Clone, Serialize)]
pub struct Checkpoint {
    pub number: usize,
    pub text: String,
    pub done: bool,
    pub at: String,
    pub done_at: Option<String>,
}

/// An item with everything `task show` prints.
#[derive(Debug, Clone, Serialize)]
pub struct ItemDetail {
    #[serde(flatten)]
    pub view: ItemView,
    pub depends_on: Vec<DependencyRef>,
    pub checkpoints: Vec<Checkpoint>,
    pub children: Vec<String>,
}

/// A clarification or a piece of feedback.
#[derive(Debug, Clone, Serialize)]
pub struct Comment {
    pub kind: String,
    pub text: String,
    pub at: String,
    pub by: Option<String>,
}

/// One entry of an item's history.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub at: String,
    pub what: String,
    /// The detail as recorded (JSON), or null.
    pub detail: Value,
    pub session: Option<String>,
}

/// An item that cannot go ahead, and why: its own reason, and what it waits for.
#[derive(Debug, Clone, Serialize)]
pub struct BlockedItem {
    pub id: String,
    pub title: String,
    pub status: Status,
    pub blocked_reason: Option<String>,
    /// Unfinished dependencies, as `ID (STATUS)`.
    pub waiting_on: Vec<String>,
}

/// An item and its descendants.
#[derive(Debug, Clone, Serialize)]
pub struct TreeNode {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: Kind,
    pub status: Status,
    pub title: String,
    pub depends_on: Vec<DependencyRef>,
    pub children: Vec<TreeNode>,
}

/// What `task delete` did.
#[derive(Debug, Clone, Serialize)]
pub struct Deleted {
    pub id: String,
    pub purged: bool,
    /// Open descendants cancelled with it, in order.
    pub cancelled_children: Vec<String>,
}

/// A new item.
#[derive(Debug, Clone)]
pub struct NewItem {
    pub kind: Kind,
    pub title: String,
    pub description: String,
    pub status: Status,
    pub priority: Priority,
    pub estimate: Option<f64>,
    pub assignee: Option<String>,
    pub labels: Vec<String>,
    /// The files it expects to touch: globs over paths from the repository's top level.
    pub files: Vec<String>,
    /// The parent, as typed (id or prefix).
    pub parent: Option<String>,
}

#[cfg(test)]
impl NewItem {
    /// A TODO task of medium priority titled `title`, and nothing else: for tests.
    pub(crate) fn task(title: &str) -> NewItem {
        NewItem {
            kind: Kind::Task,
            title: title.to_owned(),
            description: String::new(),
            status: Status::Todo,
            priority: Priority::Medium,
            estimate: None,
            assignee: None,
            labels: Vec::new(),
            files: Vec::new(),
            parent: None,
        }
    }
}

/// Which items `list` returns.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub status: Option<Status>,
    pub kind: Option<Kind>,
    pub assignee: Option<String>,
    pub parent: Option<String>,
    pub label: Option<String>,
    pub sprint: Option<String>,
    pub limit: Option<u64>,
    /// Include DONE and CANCELLED items (a status filter includes its own status anyway).
    pub all: bool,
}

/// Changes to an item's fields; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    pub assignee: Option<String>,
    pub estimate: Option<f64>,
    pub title: Option<String>,
    pub notes: Option<String>,
    /// Why it is blocked: with a move to BLOCKED, or on its own for a BLOCKED item.
    pub reason: Option<String>,
    /// The files it expects to touch, replacing those it declared (empty: none).
    pub files: Option<Vec<String>>,
    /// A person overrides the lifecycle; recorded in the history.
    pub force: bool,
}

/// What `checkpoint` does.
#[derive(Debug, Clone)]
pub enum CheckpointChange {
    /// Add a checkpoint (nothing when one with the text exists).
    Add(String),
    /// Mark the checkpoint with this text done, adding it done when missing.
    DoneText(String),
    /// Mark checkpoint number N (from 1) done.
    DoneNumber(usize),
}

/// Refuse empty text.
pub fn check_text(what: &str, text: &str) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::invalid(format!("the {what} must not be empty")));
    }
    if text.len() > 100_000 {
        return Err(Error::invalid(format!(
            "the {what} is {} bytes long; at most 100000",
            text.len()
        )));
    }
    Ok(())
}

/// An estimate is a number of hours from 0 to [`MAX_ESTIMATE_HOURS`].
pub fn check_estimate(estimate: Option<f64>) -> Result<()> {
    if let Some(hours) = estimate
        && !(hours.is_finite() && (0.0..=MAX_ESTIMATE_HOURS).contains(&hours))
    {
        return Err(Error::invalid(format!(
            "`--estimate` must be a number of hours from 0 to {MAX_ESTIMATE_HOURS}, not {hours}"
        )));
    }
    Ok(())
}

fn check_limit(limit: Option<u64>) -> Result<()> {
    if let Some(limit) = limit
        && limit > MAX_LIMIT
    {
        return Err(Error::invalid(format!(
            "`--limit` must be at most {MAX_LIMIT}, not {limit}"
        )));
    }
    Ok(())
}

/// Create an item.
pub fn create(cx: &Context, new: &NewItem) -> Result<ItemView> {
    create_waiting(cx, new, &[])
}

/// [`create`] an item that waits for each item of `on`, in one transaction: an unknown item
/// among them creates nothing.
pub fn create_waiting(cx: &Context, new: &NewItem, on: &[String]) -> Result<ItemView> {
    check_new_item(new, None)?;
    let now = format_time(cx.now());
    let mut db = if new.parent.is_some() || !on.is_empty() {
        cx.tracker_to_change()?
    } else {
        cx.tracker()?
    };
    let id = db.write(|tx| -> Result<String> {
        let parent = new
            .parent
            .as_deref()
            .map(|raw| items::resolve(tx, raw))
            .transpose()?;
        let on = on
            .iter()
            .map(|raw| items::resolve(tx, raw))
            .collect::<Result<Vec<_>>>()?;
        let id = insert(tx, cx, new, parent.as_deref(), &now)?;
        for on in &on {
            // A new item has nothing waiting for it yet: no cycle can form.
            if items::add_dependency(tx, &id, on)?.is_ok_and(|added| added) {
                items::record(tx, &id, &now, "depends", json!(on), cx.actor())?;
            }
        }
        Ok(id)
    })?;
    view(db.conn(), &id)
}

/// The rules of a new item, in one place: it starts in TODO or BACKLOG, has a title, an
/// estimate from 0 to [`MAX_ESTIMATE_HOURS`], no empty label or assignee, and under a parent
/// (`parent`: its id and kind) a kind smaller than the parent's. Pure.
pub fn check_new_item(new: &NewItem, parent: Option<(&str, Kind)>) -> Result<()> {
    if !matches!(new.status, Status::Backlog | Status::Todo) {
        return Err(Error::invalid(format!(
            "a new item starts in TODO or BACKLOG, not {}",
            new.status
        )));
    }
    check_text("title", &new.title)?;
    check_estimate(new.estimate)?;
    for label in &new.labels {
        check_text("label", label)?;
    }
    check_files(&new.files)?;
    if let Some(assignee) = &new.assignee {
        check_text("assignee", assignee)?;
    }
    if let Some((parent, parent_kind)) = parent
        && !new.kind.fits_under(parent_kind)
    {
        return Err(Error::invalid(format!(
            "a {} cannot sit under {parent}, a {parent_kind}: a child's kind must be smaller than its parent's",
            new.kind
        )));
    }
    Ok(())
}

/// The most files an item declares.
pub const MAX_ITEM_FILES: usize = 100;

/// Each declared file is a glob over paths from the repository's top level (see
/// [`crate::coordination::glob`]), and there are at most [`MAX_ITEM_FILES`].
pub fn check_files<T: AsRef<str>>(files: &[T]) -> Result<()> {
    if files.len() > MAX_ITEM_FILES {
        return Err(Error::invalid(format!(
            "an item declares at most {MAX_ITEM_FILES} files, not {}",
            files.len()
        )));
    }
    for pattern in files {
        crate::coordination::glob::Glob::parse(pattern.as_ref())
            .map_err(|why| Error::invalid(format!("bad file pattern: {why}")))?;
    }
    Ok(())
}

/// Replace the files `id` declares.
fn set_files(tx: &Transaction<'_>, id: &str, files: &[String]) -> Result<()> {
    tx.prepare_cached("DELETE FROM item_files WHERE item = ?1")?
        .execute([id])?;
    let mut insert =
        tx.prepare_cached("INSERT OR IGNORE INTO item_files (item, pattern) VALUES (?1, ?2)")?;
    for pattern in files {
        insert.execute(params![id, pattern])?;
    }
    Ok(())
}

/// Add a TODO under `parent`, or under the acting session's started item.
pub fn add_todo(cx: &Context, text: &str, parent: Option<&str>) -> Result<ItemView> {
    check_text("text", text)?;
    let actor = cx.actor();
    if parent.is_none() && actor.is_none() {
        return Err(Error::invalid(
            "`todo` needs `--parent ID`, or a current session with a started task",
        ));
    }
    let now = format_time(cx.now());
    let mut db = cx.tracker_to_change()?;
    let id = db.write(|tx| {
        let parent = match (parent, actor) {
            (Some(raw), _) => items::resolve(tx, raw)?,
            (None, Some(session)) => tx
                .query_row(
                    "SELECT id FROM items WHERE session = ?1 AND status = 'IN_PROGRESS' \
                     AND kind != 'TODO' ORDER BY updated_at DESC LIMIT 1",
                    [session],
                    |row| row.get::<_, String>(0),
                )
                .optional()?
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "session {session} has no started task; pass `--parent ID`"
                    ))
                })?,
            (None, None) => unreachable!("checked above"),
        };
        let new = NewItem {
            kind: Kind::Todo,
            title: text.to_owned(),
            description: String::new(),
            status: Status::Todo,
            priority: Priority::Medium,
            estimate: None,
            assignee: None,
            labels: Vec::new(),
            files: Vec::new(),
            parent: None,
        };
        insert(tx, cx, &new, Some(&parent), &now)
    })?;
    view(db.conn(), &id)
}

/// Items matching `filter`, most urgent first: open ones unless `all` or a status asks.
pub fn list(cx: &Context, filter: &ListFilter) -> Result<Vec<ItemView>> {
    check_limit(filter.limit)?;
    let db = cx.tracker_for_reads()?;
    let conn = db.conn();
    let parent = filter
        .parent
        .as_deref()
        .map(|raw| items::resolve(conn, raw))
        .transpose()?;
    let sprint = filter
        .sprint
        .as_deref()
        .map(|raw| resolve_sprint(conn, raw))
        .transpose()?;
    let mut sql = format!("SELECT {COLUMNS} FROM items WHERE 1=1");
    let mut values: Vec<String> = Vec::new();
    let mut bind = |clause: &str, value: String| {
        values.push(value);
        sql.push_str(&clause.replace('?', &format!("?{}", values.len())));
    };
    match filter.status {
        Some(status) => bind(" AND status = ?", status.as_str().to_owned()),
        None if !filter.all => bind(" AND status NOT IN (?, 'CANCELLED')", "DONE".to_owned()),
        None => {}
    }
    if let Some(kind) = filter.kind {
        bind(" AND kind = ?", kind.as_str().to_owned());
    }
    if let Some(assignee) = &filter.assignee {
        bind(" AND assignee = ?", assignee.clone());
    }
    if let Some(parent) = parent {
        bind(" AND parent = ?", parent);
    }
    if let Some(label) = &filter.label {
        bind(
            " AND id IN (SELECT item FROM labels WHERE label = ?)",
            label.clone(),
        );
    }
    if let Some(sprint) = sprint {
        bind(
            " AND id IN (SELECT item FROM sprint_items WHERE sprint = ?)",
            sprint,
        );
    }
    sql.push_str(" ORDER BY priority, seq");
    if let Some(limit) = filter.limit {
        sql.push_str(&format!(" LIMIT {limit}"));
    }
    let found = query_items(conn, &sql, rusqlite::params_from_iter(values.iter()))?;
    with_labels(conn, found)
}

/// One item with its dependencies, checkpoints and children.
pub fn show(cx: &Context, raw: &str) -> Result<ItemDetail> {
    let db = cx.tracker_for_reads()?;
    let conn = db.conn();
    let id = items::resolve(conn, raw)?;
    let mut statement = conn.prepare("SELECT id FROM items WHERE parent = ?1 ORDER BY seq")?;
    let children: Vec<String> = statement
        .query_map([&id], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(ItemDetail {
        view: view(conn, &id)?,
        depends_on: dependency_refs(conn, &id)?,
        checkpoints: checkpoints(conn, &id)?,
        children,
    })
}

/// Change an item's fields and, through the lifecycle, its status.
pub fn update(cx: &Context, raw: &str, changes: &Changes) -> Result<ItemView> {
    check_estimate(changes.estimate)?;
    if let Some(title) = &changes.title {
        check_text("title", title)?;
    }
    if let Some(reason) = &changes.reason {
        check_text("reason", reason)?;
    }
    if let Some(files) = &changes.files {
        check_files(files)?;
    }
    if changes.reason.is_some() && changes.status.is_some_and(|s| s != Status::Blocked) {
        return Err(Error::invalid(
            "`--reason` goes with `--status BLOCKED`, or alone on a BLOCKED item",
        ));
    }
    let assignee = changes
        .assignee
        .as_deref()
        .map(assignee_value)
        .transpose()?;
    let workflow = cx.workflow();
    let actor = cx.actor();
    // A worker never moves its own item on to DONE: DONE means its branch is merged, which
    // only the supervisor's merge train knows.
    let worker_item = match changes.status {
        Some(Status::Done | Status::InReview | Status::Testing) => actor
            .and_then(|actor| session_document(cx, actor))
            .and_then(|document| {
                lease::worker_of(&document)
                    .and_then(|worker| worker.get("item"))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            }),
        _ => None,
    };
    change_item(cx, raw, |tx, item, now| {
        fence_and_renew(cx, tx, item, actor, now)?;
        let id = &item.id;
        if worker_item.as_deref() == Some(id.as_str()) {
            return Err(Error::conflict(format!(
                "a worker does not move {id} on: the supervisor's merge train does, once its branch is merged"
            ))
            .with_hint(format!(
                "run `orchestron task complete {id} --note \"what you did\"` and stop"
            )));
        }
        let mut recorded = Vec::new();
        match (changes.status, &changes.reason) {
            (Some(to), reason) => {
                let via = if changes.force {
                    Via::Force
                } else {
                    Via::Update
                };
                apply_move(tx, item, to, via, workflow, reason.as_deref(), now, actor)?;
            }
            (None, Some(reason)) => {
                if item.status != Status::Blocked {
                    return Err(Error::conflict(format!(
                        "{id} is {}, not BLOCKED: a reason goes with `--status BLOCKED`",
                        item.status
                    )));
                }
                apply_move(
                    tx,
                    item,
                    Status::Blocked,
                    Via::Update,
                    workflow,
                    Some(reason),
                    now,
                    actor,
                )?;
            }
            (None, None) => {}
        }
        if let Some(priority) = changes.priority {
            tx.execute(
                "UPDATE items SET priority = ?2 WHERE id = ?1",
                params![id, priority.rank()],
            )?;
            recorded.push(json!({"priority": priority.as_str()}));
        }
        if let Some(assignee) = &assignee {
            set_column(tx, id, "assignee", assignee.as_deref(), now)?;
            recorded.push(json!({"assignee": assignee}));
        }
        if let Some(estimate) = changes.estimate {
            tx.execute(
                "UPDATE items SET estimate = ?2 WHERE id = ?1",
                params![id, estimate],
            )?;
            recorded.push(json!({"estimate": estimate}));
        }
        if let Some(title) = &changes.title {
            set_column(tx, id, "title", Some(title), now)?;
            recorded.push(json!({"title": title}));
        }
        if let Some(notes) = &changes.notes {
            set_column(tx, id, "notes", Some(notes), now)?;
            recorded.push(json!({"notes": notes}));
        }
        if let Some(files) = &changes.files {
            set_files(tx, id, files)?;
            recorded.push(json!({"files": files}));
        }
        if !recorded.is_empty() {
            touch(tx, id, now)?;
            items::record(tx, id, now, "updated", Value::Array(recorded), actor)?;
        }
        Ok(())
    })
}

/// Set how far along an item is.
pub fn set_progress(cx: &Context, raw: &str, percent: u8) -> Result<ItemView> {
    if percent > 100 {
        return Err(Error::invalid(format!(
            "`--percent` must be 0 to 100, not {percent}"
        )));
    }
    let actor = cx.actor();
    change_item(cx, raw, |tx, item, now| {
        fence_and_renew(cx, tx, item, actor, now)?;
        let id = &item.id;
        // DONE means 100 %: the lifecycle set it, and only reopening the item changes it.
        if item.status == Status::Done && percent != 100 {
            return Err(Error::conflict(format!(
                "{id} is DONE, so its progress is 100; it cannot be set to {percent}"
            ))
            .with_hint(format!(
                "reopen it first: `orchestron task update {id} --status IN_PROGRESS --force`"
            )));
        }
        tx.execute(
            "UPDATE items SET progress = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, percent, now],
        )?;
        items::record(tx, id, now, "progress", json!(percent), actor)?;
        Ok(())
    })
}

/// Add a checkpoint, or mark one done by its text or its number.
pub fn checkpoint(cx: &Context, raw: &str, change: &CheckpointChange) -> Result<ItemView> {
    match change {
        CheckpointChange::Add(text) | CheckpointChange::DoneText(text) => {
            check_text("checkpoint", text)?;
        }
        CheckpointChange::DoneNumber(0) => {
            return Err(Error::invalid("checkpoints are numbered from 1"));
        }
        CheckpointChange::DoneNumber(_) => {}
    }
    let actor = cx.actor();
    change_item(cx, raw, |tx, item, now| {
        fence_and_renew(cx, tx, item, actor, now)?;
        let id = &item.id;
        let (text, done) = match change {
            CheckpointChange::Add(text) | CheckpointChange::DoneText(text) => {
                let done = matches!(change, CheckpointChange::DoneText(_));
                let mut existing: Option<i64> = tx
                    .query_row(
                        "SELECT id FROM checkpoints WHERE item = ?1 AND text = ?2 ORDER BY id LIMIT 1",
                        params![id, text],
                        |row| row.get(0),
                    )
                    .optional()?;
                // `checkpoint ID 2 --done` names the second one, unless one is called "2".
                if existing.is_none()
                    && done
                    && let Ok(number) = text.trim().parse::<usize>()
                    && number >= 1
                {
                    existing = tx
                        .query_row(
                            "SELECT id FROM checkpoints WHERE item = ?1 ORDER BY id LIMIT 1 OFFSET ?2",
                            params![id, number as i64 - 1],
                            |row| row.get(0),
                        )
                        .optional()?;
                }
                match existing {
                    Some(row) if done => mark_done(tx, row, now)?,
                    Some(_) => {}
                    None => {
                        tx.execute(
                            "INSERT INTO checkpoints (item, text, done, at, done_at) \
                             VALUES (?1, ?2, ?3, ?4, ?5)",
                            params![id, text, done, now, done.then_some(&now)],
                        )?;
                    }
                }
                (text.clone(), done)
            }
            CheckpointChange::DoneNumber(number) => {
                let rows: Vec<(i64, String)> = tx
                    .prepare("SELECT id, text FROM checkpoints WHERE item = ?1 ORDER BY id")?
                    .query_map([&id], |row| Ok((row.get(0)?, row.get(1)?)))?
                    .collect::<Result<_, _>>()?;
                let Some((row, text)) = rows.get(number - 1) else {
                    return Err(Error::not_found(format!(
                        "{id} has {} checkpoints; there is no number {number}",
                        rows.len()
                    ))
                    .with_hint(format!("`orchestron task show {id}` lists them")));
                };
                mark_done(tx, *row, now)?;
                (text.clone(), true)
            }
        };
        touch(tx, id, now)?;
        items::record(
            tx,
            id,
            now,
            "checkpoint",
            json!({"text": text, "done": done}),
            actor,
        )?;
        Ok(())
    })
}

fn mark_done(tx: &Transaction<'_>, row: i64, now: &str) -> Result<()> {
    tx.execute(
        "UPDATE checkpoints SET done = 1, done_at = ?2 WHERE id = ?1 AND done = 0",
        params![row, now],
    )?;
    Ok(())
}

/// Move an item to IN_PROGRESS and link it to the acting session: a new claim (a new
/// generation). An item another claimer holds is taken from it when its claim has lapsed, and
/// only with `force` while its claim is live (`claim_taken`).
pub fn start(cx: &Context, raw: &str, force: bool) -> Result<ItemView> {
    let workflow = cx.workflow();
    let actor = cx.actor();
    change_item(cx, raw, |tx, item, now| {
        let id = &item.id;
        let via = if force { Via::Force } else { Via::Start };
        // Starting an item another claimer holds takes its claim: a lapsed one is swept, a
        // live one only with `force`.
        let item = &match actor {
            Some(actor) => take_over(tx, cx, item, actor, force, now)?,
            None => item.clone(),
        };
        apply_move(
            tx,
            item,
            Status::InProgress,
            via,
            workflow,
            None,
            now,
            actor,
        )?;
        if let Some(session) = actor {
            tx.execute(
                "UPDATE items SET session = ?2 WHERE id = ?1",
                params![id, session],
            )?;
        }
        Ok(())
    })
}

/// What `complete` did.
#[derive(Debug, Clone, Serialize)]
pub struct Completed {
    #[serde(flatten)]
    pub view: ItemView,
    /// A worker finished its item: the note and a `worker_finished` event are recorded, and
    /// the item stays IN_PROGRESS until the supervisor's merge train merges its branch (DONE
    /// means merged).
    pub awaits_merge: bool,
}

/// Finish work: on to the first stage the project requires (review, testing), else DONE.
/// An item at a gate is refused: only `approve` passes it, or a person's `force` (DONE).
///
/// A worker (the acting session's document has a `worker` field) finishing the item it
/// holds records its note and a `worker_finished` event and leaves the status to the merge
/// train. A session whose claim was taken back is refused (see `fence_and_renew`).
pub fn complete(cx: &Context, raw: &str, force: bool, note: Option<&str>) -> Result<Completed> {
    complete_with(cx, raw, force, note, false)
}

/// [`complete`], sending the item to review first when `review` (a milestone review point
/// asks for it), as a project that requires review would.
pub fn complete_with(
    cx: &Context,
    raw: &str,
    force: bool,
    note: Option<&str>,
    review: bool,
) -> Result<Completed> {
    if let Some(note) = note {
        check_text("note", note)?;
    }
    let mut workflow = cx.workflow();
    workflow.require_review |= review;
    let actor = cx.actor();
    // Read before the transaction, without a lock: whether the actor is a worker, and whose.
    let worker = actor
        .and_then(|actor| session_document(cx, actor))
        .and_then(|document| lease::worker_of(&document).cloned());
    // What the finisher says it did, in the history beside the move (`completion_note`).
    let record_note = |tx: &Connection, id: &str, now: &str| -> Result<()> {
        if let Some(note) = note {
            items::record(tx, id, now, "completion_note", json!(note), actor)?;
        }
        Ok(())
    };
    let mut awaits_merge = false;
    let view = change_item(cx, raw, |tx, item, now| {
        let id = &item.id;
        fence_and_renew(cx, tx, item, actor, now)?;
        if let Some(worker) = &worker
            && item.status == Status::InProgress
            && item.session.is_some()
            && item.session.as_deref() == actor
        {
            if force {
                return Err(Error::invalid(format!(
                    "a worker cannot force {id} to DONE: the supervisor's merge train moves it on once its branch is merged"
                ))
                .with_hint(format!("run `orchestron task complete {id} --note \"what you did\"`")));
            }
            record_note(tx, id, now)?;
            let generation: i64 =
                tx.query_row("SELECT claim_gen FROM items WHERE id = ?1", [id], |row| {
                    row.get(0)
                })?;
            touch(tx, id, now)?;
            items::record(
                tx,
                id,
                now,
                "worker_finished",
                json!({"worker": worker, "generation": generation, "note": note}),
                actor,
            )?;
            awaits_merge = true;
            return Ok(());
        }
        if let Some(worker) = &worker
            && worker.get("item").and_then(Value::as_str) == Some(id.as_str())
        {
            return Err(Error::conflict(format!(
                "{id} is {} and not held by this worker's session; its claim was taken from it",
                item.status
            ))
            .with_hint(format!(
                "`orchestron task history {id}` shows what happened"
            )));
        }
        if force {
            apply_move(
                tx,
                item,
                Status::Done,
                Via::Force,
                workflow,
                None,
                now,
                actor,
            )?;
            return record_note(tx, id, now);
        }
        if !matches!(
            item.status,
            Status::InProgress | Status::InReview | Status::Testing
        ) {
            return Err(Error::conflict(format!(
                "cannot complete {id}: it is {}; only IN_PROGRESS, IN_REVIEW or TESTING items complete",
                item.status
            ))
            .with_hint("a person can override with `--force`, which is recorded"));
        }
        let gate = match item.status {
            Status::InReview if workflow.require_review => Some("review"),
            Status::Testing if workflow.require_testing => Some("testing"),
            _ => None,
        };
        if let Some(gate) = gate {
            return Err(Error::conflict(format!(
                "cannot complete {id}: it is {} and waits for {gate}, which only an approval passes",
                item.status
            ))
            .with_hint(format!(
                "`orchestron task approve {id}` passes it; a person can override with \
                 `--force`, which is recorded"
            )));
        }
        let to = model::completion_target(item.status, workflow);
        apply_move(tx, item, to, Via::Complete, workflow, None, now, actor)?;
        record_note(tx, id, now)
    })?;
    Ok(Completed { view, awaits_merge })
}

/// Item `raw` as it is now. Reads only.
pub fn view_of(cx: &Context, raw: &str) -> Result<ItemView> {
    let db = cx.tracker_for_reads()?;
    let id = items::resolve(db.conn(), raw)?;
    view(db.conn(), &id)
}

/// Record `what` on item `id` with `detail` and `key` (in `detail.key`), unless an event
/// `what` with that key is already in its history. Returns whether it was recorded: a review
/// point fires once per item.
pub fn record_once(cx: &Context, id: &str, what: &str, key: &str, detail: Value) -> Result<bool> {
    let now = format_time(cx.now());
    let mut db = cx.tracker_to_change()?;
    db.write(|tx| -> Result<bool> {
        let seen: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM events WHERE item = ?1 AND what = ?2 \
             AND json_valid(detail) AND json_extract(detail, '$.key') = ?3)",
            params![id, what, key],
            |row| row.get(0),
        )?;
        if seen {
            return Ok(false);
        }
        let mut detail = detail;
        detail["key"] = json!(key);
        items::record(tx, id, &now, what, detail, cx.actor())?;
        Ok(true)
    })
}

/// A review point sends item `id` to review: IN_REVIEW, with `why` in its history, even for
/// a worker's item (its merge then waits for the approval).
pub fn request_review(cx: &Context, id: &str, why: &str) -> Result<()> {
    change_item(cx, id, |tx, item, now| {
        if item.status == Status::InReview {
            return Ok(());
        }
        apply_move(
            tx,
            item,
            Status::InReview,
            Via::Force,
            cx.workflow(),
            None,
            now,
            cx.actor(),
        )?;
        items::record(
            tx,
            &item.id,
            now,
            "review_requested",
            json!(why),
            cx.actor(),
        )
    })?;
    Ok(())
}

/// A person acknowledges item `id` (`orchestron approve ID`): an item in review or testing
/// passes its gate ([`approve`]); any other records the approval in its history.
pub fn acknowledge(cx: &Context, id: &str, feedback: Option<&str>) -> Result<ItemView> {
    let current = view_of(cx, id)?;
    if matches!(current.item.status, Status::InReview | Status::Testing) {
        return approve(cx, id, feedback);
    }
    change_item(cx, id, |tx, item, now| {
        items::record(
            tx,
            &item.id,
            now,
            "approved",
            json!({"feedback": feedback}),
            cx.actor(),
        )
    })
}

/// Pass a gate: IN_REVIEW on to TESTING (when required) or DONE; TESTING to DONE.
pub fn approve(cx: &Context, raw: &str, remark: Option<&str>) -> Result<ItemView> {
    if let Some(remark) = remark {
        check_text("comment", remark)?;
    }
    let workflow = cx.workflow();
    let actor = cx.actor();
    change_item(cx, raw, |tx, item, now| {
        let id = &item.id;
        let Some(to) = model::approval_target(item.status, workflow) else {
            return Err(Error::conflict(format!(
                "cannot approve {id}: it is {}, not IN_REVIEW or TESTING",
                item.status
            )));
        };
        apply_move(tx, item, to, Via::Approve, workflow, None, now, actor)?;
        if let Some(remark) = remark {
            tx.execute(
                "INSERT INTO comments (item, kind, text, at, by) VALUES (?1, 'feedback', ?2, ?3, ?4)",
                params![id, remark, now, actor],
            )?;
            if !to.is_closed() {
                let comment = tx.last_insert_rowid();
                note_session(cx, tx, item, comment, CommentKind::Feedback, remark)?;
            }
        }
        items::record(
            tx,
            id,
            now,
            "approved",
            json!({"to": to.as_str(), "comment": remark}),
            actor,
        )?;
        Ok(())
    })
}

/// Add a note to an item's history.
pub fn log(cx: &Context, raw: &str, text: &str) -> Result<ItemView> {
    check_text("text", text)?;
    let actor = cx.actor();
    change_item(cx, raw, |tx, item, now| {
        let id = &item.id;
        touch(tx, id, now)?;
        items::record(tx, id, now, "log", json!(text), actor)?;
        Ok(())
    })
}

/// The kinds of comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentKind {
    Clarification,
    Feedback,
    /// A question asked with `task ask`, answered by a later clarification.
    Question,
}

impl CommentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CommentKind::Clarification => "clarification",
            CommentKind::Feedback => "feedback",
            CommentKind::Question => "question",
        }
    }
}

/// Add a clarification or feedback to an item. When a running session works on the item,
/// the comment is also left in that session's inbox (`note_session`), so that it reaches
/// the model at the session's next tool call or prompt.
pub fn comment(cx: &Context, raw: &str, kind: CommentKind, text: &str) -> Result<ItemView> {
    check_text("text", text)?;
    let actor = cx.actor();
    change_item(cx, raw, |tx, item, now| {
        let id = &item.id;
        tx.execute(
            "INSERT INTO comments (item, kind, text, at, by) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, kind.as_str(), text, now, actor],
        )?;
        let comment = tx.last_insert_rowid();
        touch(tx, id, now)?;
        items::record(tx, id, now, kind.as_str(), json!(text), actor)?;
        if !item.status.is_closed() {
            note_session(cx, tx, item, comment, kind, text)?;
        }
        Ok(())
    })
}

/// Leave the new comment `comment` on `item` in the inbox of the session working on it
/// (`items.session`) and mark it seen, so that the session's next SessionStart does not
/// repeat it. A session that is missing, not running or has a full inbox is not told now:
/// the comment stays unseen, and the item's next SessionStart shows it (`current_task`).
/// Never fails the comment: the session's lock is taken inside the tracker's transaction
/// (no path holds a session's lock while it waits to write the tracker), and an error there
/// only leaves the comment unseen.
fn note_session(
    cx: &Context,
    tx: &Transaction<'_>,
    item: &Item,
    comment: i64,
    kind: CommentKind,
    text: &str,
) -> Result<()> {
    let Some(session) = item
        .session
        .as_deref()
        .and_then(|session| crate::ids::SessionId::parse(session).ok())
    else {
        return Ok(());
    };
    let label = match kind {
        CommentKind::Clarification => "Clarification",
        CommentKind::Feedback => "Feedback",
        CommentKind::Question => "Question",
    };
    let title: String = item.title.chars().take(80).collect();
    let note = format!(
        "{label} on {} ({title}), the item you work on: {text}",
        item.id
    );
    if crate::sessions::leave_note(cx, &session, &note).unwrap_or(false) {
        tx.execute("UPDATE comments SET seen = 1 WHERE id = ?1", [comment])?;
    }
    Ok(())
}

/// An item's comments of one kind (or all), oldest first.
pub fn comments(cx: &Context, raw: &str, kind: Option<CommentKind>) -> Result<Vec<Comment>> {
    let db = cx.tracker_for_reads()?;
    let id = items::resolve(db.conn(), raw)?;
    comments_of(db.conn(), &id, kind)
}

pub(crate) fn comments_of(
    conn: &Connection,
    id: &str,
    kind: Option<CommentKind>,
) -> Result<Vec<Comment>> {
    let mut statement = conn.prepare(
        "SELECT kind, text, at, by FROM comments WHERE item = ?1 AND (?2 IS NULL OR kind = ?2) \
         ORDER BY id",
    )?;
    let rows = statement
        .query_map(params![id, kind.map(CommentKind::as_str)], |row| {
            Ok(Comment {
                kind: row.get(0)?,
                text: row.get(1)?,
                at: row.get(2)?,
                by: row.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Ask a person: the item moves to BLOCKED with `question` as its reason, and a `question`
/// comment and event are recorded, so it waits in the attention queue until
/// [`answer`] answers it. Fenced like every change by a claimer (see
/// `fence_and_renew`).
pub fn ask(cx: &Context, raw: &str, question: &str) -> Result<ItemView> {
    check_text("question", question)?;
    let workflow = cx.workflow();
    let actor = cx.actor();
    change_item(cx, raw, |tx, item, now| {
        fence_and_renew(cx, tx, item, actor, now)?;
        let id = &item.id;
        apply_move(
            tx,
            item,
            Status::Blocked,
            Via::Update,
            workflow,
            Some(question),
            now,
            actor,
        )?;
        tx.execute(
            "INSERT INTO comments (item, kind, text, at, by) VALUES (?1, 'question', ?2, ?3, ?4)",
            params![id, question, now, actor],
        )?;
        touch(tx, id, now)?;
        items::record(tx, id, now, "question", json!(question), actor)?;
        Ok(())
    })
}

/// What `answer` did.
#[derive(Debug, Clone, Serialize)]
pub struct Answered {
    #[serde(flatten)]
    pub view: ItemView,
    /// The open question it answered, if any.
    pub question: Option<String>,
    /// The item was BLOCKED on that question and is back in TODO, for a worker to pick up
    /// with the answer in its instructions.
    pub unblocked: bool,
}

/// Answer an item's question: a clarification (left in the inbox of a session working on
/// it), and a BLOCKED item with an open question back to TODO.
pub fn answer(cx: &Context, raw: &str, text: &str) -> Result<Answered> {
    check_text("answer", text)?;
    let workflow = cx.workflow();
    let actor = cx.actor();
    let mut answered = (None, false);
    let view = change_item(cx, raw, |tx, item, now| {
        let id = &item.id;
        let question = open_question_of(tx, id)?.map(|question| question.text);
        tx.execute(
            "INSERT INTO comments (item, kind, text, at, by) VALUES (?1, 'clarification', ?2, ?3, ?4)",
            params![id, text, now, actor],
        )?;
        let comment = tx.last_insert_rowid();
        touch(tx, id, now)?;
        items::record(tx, id, now, "clarification", json!(text), actor)?;
        if !item.status.is_closed() {
            note_session(cx, tx, item, comment, CommentKind::Clarification, text)?;
        }
        let unblocked = question.is_some() && item.status == Status::Blocked;
        if unblocked {
            apply_move(
                tx,
                item,
                Status::Todo,
                Via::Update,
                workflow,
                None,
                now,
                actor,
            )?;
        }
        if let Some(question) = &question {
            items::record(
                tx,
                id,
                now,
                "answered",
                json!({"question": question, "unblocked": unblocked}),
                actor,
            )?;
        }
        answered = (question, unblocked);
        Ok(())
    })?;
    Ok(Answered {
        view,
        question: answered.0,
        unblocked: answered.1,
    })
}

/// An item's open question: its latest `question` comment when no clarification came after
/// it. Reads only.
pub fn open_question(cx: &Context, raw: &str) -> Result<Option<Comment>> {
    let db = cx.tracker_for_reads()?;
    let id = items::resolve(db.conn(), raw)?;
    open_question_of(db.conn(), &id)
}

pub(crate) fn open_question_of(conn: &Connection, id: &str) -> Result<Option<Comment>> {
    Ok(conn
        .query_row(
            "SELECT kind, text, at, by FROM comments q WHERE item = ?1 AND kind = 'question' \
             AND NOT EXISTS (SELECT 1 FROM comments a WHERE a.item = q.item \
                             AND a.kind = 'clarification' AND a.id > q.id) \
             ORDER BY id DESC LIMIT 1",
            [id],
            |row| {
                Ok(Comment {
                    kind: row.get(0)?,
                    text: row.get(1)?,
                    at: row.get(2)?,
                    by: row.get(3)?,
                })
            },
        )
        .optional()?)
}

/// Give an item to someone; `none` (or an empty name) releases it like [`release`].
pub fn assign(cx: &Context, raw: &str, to: &str) -> Result<ItemView> {
    match assignee_value(to)? {
        None => release(cx, raw),
        Some(to) => {
            let now = format_time(cx.now());
            let actor = cx.actor();
            let mut db = cx.tracker_to_change()?;
            let id = db.write(|tx| -> Result<String> {
                let id = items::resolve(tx, raw)?;
                set_column(tx, &id, "assignee", Some(&to), &now)?;
                items::record(tx, &id, &now, "assigned", json!(to), actor)?;
                Ok(id)
            })?;
            view(db.conn(), &id)
        }
    }
}

/// Undo a claim: the item returns to TODO with no assignee and no session.
pub fn release(cx: &Context, raw: &str) -> Result<ItemView> {
    let workflow = cx.workflow();
    let actor = cx.actor();
    change_item(cx, raw, |tx, item, now| {
        let id = &item.id;
        if item.status.is_closed() {
            return Err(Error::conflict(format!(
                "cannot release {id}: it is {}",
                item.status
            )));
        }
        if item.status == Status::Todo && item.assignee.is_none() && item.session.is_none() {
            // Nothing is claimed: nothing changes.
            return Ok(());
        }
        if item.status != Status::Todo {
            apply_move(
                tx,
                item,
                Status::Todo,
                Via::Release,
                workflow,
                None,
                now,
                actor,
            )?;
        }
        tx.execute(
            "UPDATE items SET assignee = NULL, session = NULL, updated_at = ?2 WHERE id = ?1",
            params![id, now],
        )?;
        items::record(
            tx,
            id,
            now,
            "released",
            json!({"from": item.status.as_str(), "assignee": item.assignee}),
            actor,
        )?;
        Ok(())
    })
}

/// An assignee as typed: a name, or `none`/empty for nobody.
fn assignee_value(raw: &str) -> Result<Option<String>> {
    let trimmed = raw.trim();
    if trimmed.is_empty() || trimmed.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    check_text("assignee", raw)?;
    Ok(Some(raw.to_owned()))
}

/// Make `raw` wait for `on`. Returns both ids.
pub fn depend(cx: &Context, raw: &str, on: &str) -> Result<(String, String)> {
    let now = format_time(cx.now());
    let actor = cx.actor();
    let mut db = cx.tracker_to_change()?;
    db.write(|tx| -> Result<(String, String)> {
        let id = items::resolve(tx, raw)?;
        let on = items::resolve(tx, on)?;
        if id == on {
            return Err(Error::invalid(format!("{id} cannot depend on itself")));
        }
        let added = match items::add_dependency(tx, &id, &on)? {
            Ok(added) => added,
            Err(cycle) => {
                return Err(Error::conflict(format!(
                    "refused: that would make a cycle, each waiting for the next: {}",
                    cycle.join(" → ")
                )));
            }
        };
        if added {
            touch(tx, &id, &now)?;
            items::record(tx, &id, &now, "depends", json!(on), actor)?;
        }
        Ok((id, on))
    })
}

/// What a session's context says about the item it works on (see
/// `items::current_task_lines`). With `deliver`, the clarifications and feedback shown are
/// marked seen, in one write; without, it only reads. A project without a tracker has no
/// lines, and gets no tracker.
pub fn current_task(cx: &Context, session: &str, deliver: bool) -> Result<Vec<String>> {
    if !cx.tracker_path().exists() {
        return Ok(Vec::new());
    }
    if deliver {
        let mut db = cx.tracker_to_change()?;
        db.write(|tx| items::current_task_lines(tx, session, true))
    } else {
        items::current_task_lines(cx.tracker_for_reads()?.conn(), session, false)
    }
}

/// The condition of "ready", the one definition: TODO, every dependency DONE, and no open
/// child (a parent is finished through its children, not picked itself).
pub const READY: &str = "status = 'TODO' AND open_deps = 0 AND NOT EXISTS \
    (SELECT 1 FROM items c WHERE c.parent = items.id AND c.status NOT IN ('DONE', 'CANCELLED'))";

/// The condition of "blocked", the one definition: BLOCKED, or open and waiting for an
/// unfinished dependency.
pub const BLOCKED: &str =
    "status = 'BLOCKED' OR (status NOT IN ('DONE', 'CANCELLED') AND open_deps > 0)";

/// Items ready to work on, most urgent first.
pub fn ready(cx: &Context, limit: Option<u64>) -> Result<Vec<ItemView>> {
    check_limit(limit)?;
    let db = cx.tracker_for_reads()?;
    let conn = db.conn();
    let sql = format!(
        "SELECT {COLUMNS} FROM items WHERE {READY} ORDER BY priority, seq LIMIT {}",
        limit.map_or(-1, |l| l as i64)
    );
    let found = query_items(conn, &sql, [])?;
    with_labels(conn, found)
}

/// What `next` found.
#[derive(Debug, Clone, Serialize)]
pub struct Next {
    #[serde(flatten)]
    pub view: ItemView,
    /// Offered by a read-only `next`: the item is IN_PROGRESS, but its claim has lapsed, and a
    /// claim would sweep it first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reclaimable: Option<LapsedClaim>,
    /// Taken by `next --claim`: the claim's generation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    /// Taken by `next --claim`: the claimer whose lapsed claim was swept first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reclaimed_from: Option<String>,
}

/// The single best ready item for `assignee` (or anyone), or an IN_PROGRESS item whose claim
/// has lapsed (see [`lease::lapse`]); with `claim`, taken for them (else the acting session)
/// in the same transaction: a lapsed claim swept (`claim_expired`), then assigned and
/// started. Without `claim` it only reads. Items assigned to `agent` count as the claimer's,
/// and items labelled with one of `prefer` (the agent's skills) come first.
pub fn next(
    cx: &Context,
    assignee: Option<&str>,
    claim: bool,
    agent: Option<&str>,
    prefer: &[String],
) -> Result<Option<Next>> {
    let who = match (assignee, claim) {
        (Some(who), _) => Some(who.to_owned()),
        (None, true) => Some(cx.actor().map(str::to_owned).ok_or_else(|| {
            Error::invalid(
                "`--claim` needs `--assignee`, or a current session (`ORCHESTRON_SESSION`)",
            )
        })?),
        (None, false) => None,
    };
    let now = cx.now();
    let scope = Scope {
        prefer: prefer.to_vec(),
        agent: agent.map(str::to_owned),
        ..Scope::default()
    };
    if !claim {
        let db = cx.tracker_for_reads()?;
        let Some((item, lapsed)) = pick(db.conn(), cx, now, who.as_deref(), &scope)? else {
            return Ok(None);
        };
        return Ok(Some(Next {
            view: view(db.conn(), &item.id)?,
            reclaimable: lapsed,
            generation: None,
            reclaimed_from: None,
        }));
    }
    let actor = cx.actor();
    let mut db = cx.tracker_to_change()?;
    let found = db.write(|tx| claim_best(tx, cx, cx.now(), who.as_deref(), actor, &scope))?;
    found
        .map(|(id, generation, reclaimed_from)| {
            Ok(Next {
                view: view(db.conn(), &id)?,
                reclaimable: None,
                generation: Some(generation),
                reclaimed_from,
            })
        })
        .transpose()
}

/// Items that cannot go ahead, most urgent first, each with its own reason and what it
/// waits for.
pub fn blocked(cx: &Context) -> Result<Vec<BlockedItem>> {
    let db = cx.tracker_for_reads()?;
    let conn = db.conn();
    blocked_items(conn, None)
}

/// The blocked items (at most `limit`), for `blocked` and the views.
pub fn blocked_items(conn: &Connection, limit: Option<usize>) -> Result<Vec<BlockedItem>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM items WHERE {BLOCKED} ORDER BY priority, seq LIMIT {}",
        limit.map_or(-1, |l| l as i64)
    );
    let found = query_items(conn, &sql, [])?;
    found
        .into_iter()
        .map(|item| {
            let waiting_on = waiting_on(conn, &item.id)?;
            Ok(BlockedItem {
                id: item.id,
                title: item.title,
                status: item.status,
                blocked_reason: item.blocked_reason,
                waiting_on,
            })
        })
        .collect()
}

/// The unfinished dependencies of an item, as `ID (STATUS)`: what it waits for.
pub fn waiting_on(conn: &Connection, id: &str) -> Result<Vec<String>> {
    Ok(items::dependencies(conn, id)?
        .into_iter()
        .filter(|(_, status)| *status != Status::Done)
        .map(|(id, status)| format!("{id} ({status})"))
        .collect())
}

impl BlockedItem {
    /// Why, in one phrase: the item's own reason first, then what it waits for.
    pub fn why(&self) -> String {
        let mut parts: Vec<String> = self.blocked_reason.iter().cloned().collect();
        parts.extend(self.waiting_on.iter().cloned());
        parts.join("; ")
    }
}

/// An item and its descendants, each with its dependencies.
pub fn tree(cx: &Context, raw: &str) -> Result<TreeNode> {
    let db = cx.tracker_for_reads()?;
    let conn = db.conn();
    let id = items::resolve(conn, raw)?;
    let root = items::get(conn, &id)?;
    let mut seen = Vec::new();
    tree_of(conn, &root, &mut seen)
}

fn tree_of(conn: &Connection, item: &Item, seen: &mut Vec<String>) -> Result<TreeNode> {
    seen.push(item.id.clone());
    let children = query_items(
        conn,
        &format!("SELECT {COLUMNS} FROM items WHERE parent = ?1 ORDER BY seq"),
        [&item.id],
    )?;
    let mut nodes = Vec::new();
    for child in children {
        if !seen.contains(&child.id) {
            nodes.push(tree_of(conn, &child, seen)?);
        }
    }
    Ok(TreeNode {
        id: item.id.clone(),
        kind: item.kind,
        status: item.status,
        title: item.title.clone(),
        depends_on: dependency_refs(conn, &item.id)?,
        children: nodes,
    })
}

/// Everything that happened to an item, oldest first.
pub fn history(cx: &Context, raw: &str) -> Result<Vec<Event>> {
    let db = cx.tracker_for_reads()?;
    let conn = db.conn();
    let id = items::resolve(conn, raw)?;
    history_of(conn, &id)
}

pub(crate) fn history_of(conn: &Connection, id: &str) -> Result<Vec<Event>> {
    let mut statement =
        conn.prepare("SELECT at, what, detail, session FROM events WHERE item = ?1 ORDER BY id")?;
    let events = statement
        .query_map([id], |row| {
            let detail: Option<String> = row.get(2)?;
            Ok(Event {
                at: row.get(0)?,
                what: row.get(1)?,
                detail: detail
                    .as_deref()
                    .and_then(|d| serde_json::from_str(d).ok())
                    .unwrap_or(Value::Null),
                session: row.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(events)
}

/// Cancel an item and its open descendants (or, with `keep_children`, refuse while any
/// remain open); with `purge`, delete it and its history instead (it must have no children).
pub fn delete(cx: &Context, raw: &str, purge: bool, keep_children: bool) -> Result<Deleted> {
    let now = format_time(cx.now());
    let workflow = cx.workflow();
    let actor = cx.actor();
    let mut db = cx.tracker_to_change()?;
    db.write(|tx| -> Result<Deleted> {
        let id = items::resolve(tx, raw)?;
        let item = items::get(tx, &id)?;
        if purge {
            let children: i64 = tx.query_row(
                "SELECT count(*) FROM items WHERE parent = ?1",
                [&id],
                |row| row.get(0),
            )?;
            if children > 0 {
                return Err(Error::conflict(format!(
                    "{id} has {children} children; delete or move them first"
                )));
            }
            items::status_changed(tx, &id, item.status, Status::Done)?;
            tx.execute("DELETE FROM events WHERE item = ?1", [&id])?;
            tx.execute("DELETE FROM items WHERE id = ?1", [&id])?;
            return Ok(Deleted {
                id,
                purged: true,
                cancelled_children: Vec::new(),
            });
        }
        let open = open_descendants(tx, &id)?;
        if keep_children && !open.is_empty() {
            return Err(Error::conflict(format!(
                "{id} has {} open descendants: {}",
                open.len(),
                open.iter()
                    .map(|i| i.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .with_hint(
                "finish or move them first, or leave out `--keep-children` to cancel them too",
            ));
        }
        apply_move(
            tx,
            &item,
            Status::Cancelled,
            Via::Cancel,
            workflow,
            None,
            &now,
            actor,
        )?;
        let mut cancelled = Vec::new();
        for child in open {
            apply_move(
                tx,
                &child,
                Status::Cancelled,
                Via::Force,
                workflow,
                None,
                &now,
                actor,
            )?;
            items::record(tx, &child.id, &now, "cancelled-with", json!(id), actor)?;
            cancelled.push(child.id);
        }
        Ok(Deleted {
            id,
            purged: false,
            cancelled_children: cancelled,
        })
    })
}

/// The open (not DONE, not CANCELLED) descendants of an item, parents before children.
fn open_descendants(conn: &Connection, id: &str) -> Result<Vec<Item>> {
    let sql = format!(
        "WITH RECURSIVE below(id) AS (SELECT id FROM items WHERE parent = ?1 \
         UNION SELECT i.id FROM items i JOIN below b ON i.parent = b.id) \
         SELECT {COLUMNS} FROM items WHERE id IN (SELECT id FROM below) \
         AND status NOT IN ('DONE', 'CANCELLED') ORDER BY seq"
    );
    query_items(conn, &sql, [id])
}

/// Move an item to `to` through the lifecycle ([`model::plan_move`]) and apply every side
/// effect: times, progress, the blocked reason, a released claim, a new claim (entering
/// IN_PROGRESS bumps the generation `claim_gen` and stamps the lease `lease_at`), the
/// dependents' `open_deps`; the move is recorded in the history, marked `forced` when a person forced
/// it. Returns whether anything changed.
#[allow(clippy::too_many_arguments)]
pub fn apply_move(
    tx: &Transaction<'_>,
    item: &Item,
    to: Status,
    via: Via,
    workflow: Workflow,
    reason: Option<&str>,
    now: &str,
    actor: Option<&str>,
) -> Result<bool> {
    let effects = model::plan_move(&item.id, item.status, to, via, workflow, reason)?;
    if !effects.changed {
        return Ok(false);
    }
    let reason_value = match &effects.reason {
        Reason::Keep => item.blocked_reason.clone(),
        Reason::Set(reason) => Some(reason.clone()),
        Reason::Clear => None,
    };
    tx.execute(
        "UPDATE items SET status = ?2, updated_at = ?3, blocked_reason = ?4, \
         started_at = CASE WHEN ?5 THEN COALESCE(started_at, ?3) ELSE started_at END, \
         completed_at = CASE ?6 WHEN 1 THEN ?3 WHEN 0 THEN NULL ELSE completed_at END, \
         progress = CASE WHEN ?7 THEN 100 ELSE progress END, \
         assignee = CASE WHEN ?8 THEN NULL ELSE assignee END, \
         session = CASE WHEN ?8 THEN NULL ELSE session END, \
         claim_gen = CASE WHEN ?9 THEN claim_gen + 1 ELSE claim_gen END, \
         lease_at = CASE WHEN ?9 THEN ?3 ELSE lease_at END WHERE id = ?1",
        params![
            item.id,
            to.as_str(),
            now,
            reason_value,
            effects.stamp_started,
            effects.completed,
            effects.progress_full,
            effects.release,
            to == Status::InProgress,
        ],
    )?;
    if effects.dependents_open_delta != 0 {
        items::status_changed(tx, &item.id, item.status, to)?;
    }
    let forced = via == Via::Force;
    if item.status == to {
        items::record(tx, &item.id, now, "blocked-reason", json!(reason), actor)?;
    } else {
        items::record(
            tx,
            &item.id,
            now,
            "status",
            json!({"from": item.status.as_str(), "to": to.as_str(), "forced": forced, "reason": reason}),
            actor,
        )?;
    }
    Ok(true)
}

/// Insert a new item under `parent` (checked by [`check_new_item`]: it exists and its kind
/// is larger), last in
/// the topological order (it depends on nothing yet), with its labels and a history entry.
pub(crate) fn insert(
    tx: &Transaction<'_>,
    cx: &Context,
    new: &NewItem,
    parent: Option<&str>,
    now: &str,
) -> Result<String> {
    let parent_kind = parent.map(|parent| items::get(tx, parent)).transpose()?;
    check_new_item(new, parent.zip(parent_kind.map(|item| item.kind)))?;
    // The sequence number counts the items ever made: an index lookup, where count(*) would
    // read the whole table.
    let (seq, topo): (i64, f64) = tx.query_row(
        "SELECT (SELECT COALESCE(max(seq), 0) + 1 FROM items), \
                (SELECT COALESCE(max(topo), 0) + 1 FROM items)",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    let id = items::fresh_id(tx, "items", new.kind.as_str(), seq, || cx.random_u64())?;
    tx.execute(
        "INSERT INTO items (id, kind, parent, title, description, status, priority, estimate, \
         assignee, project, created_at, updated_at, seq, topo) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?12, ?13)",
        params![
            id,
            new.kind.as_str(),
            parent,
            new.title,
            new.description,
            new.status.as_str(),
            new.priority.rank(),
            new.estimate,
            new.assignee,
            cx.project(),
            now,
            seq,
            topo
        ],
    )?;
    for label in &new.labels {
        tx.execute(
            "INSERT OR IGNORE INTO labels (item, label) VALUES (?1, ?2)",
            params![id, label],
        )?;
    }
    set_files(tx, &id, &new.files)?;
    items::record(
        tx,
        &id,
        now,
        "created",
        json!({"type": new.kind.as_str(), "title": new.title}),
        cx.actor(),
    )?;
    Ok(id)
}

/// A sprint's id from what a person typed.
pub fn resolve_sprint(conn: &Connection, raw: &str) -> Result<String> {
    items::resolve_prefixed(
        conn,
        "sprints",
        "SPRINT",
        "sprint",
        "orchestron sprint list",
        raw,
    )
}

/// One change to one existing item: resolve `raw`, run `change` with the item and "now" in
/// one transaction, and return the item as it is afterwards.
fn change_item(
    cx: &Context,
    raw: &str,
    change: impl FnOnce(&Transaction<'_>, &Item, &str) -> Result<()>,
) -> Result<ItemView> {
    let now = format_time(cx.now());
    let mut db = cx.tracker_to_change()?;
    let id = db.write(|tx| -> Result<String> {
        let id = items::resolve(tx, raw)?;
        let item = items::get(tx, &id)?;
        change(tx, &item, &now)?;
        Ok(id)
    })?;
    view(db.conn(), &id)
}

/// One item with its labels.
pub fn view(conn: &Connection, id: &str) -> Result<ItemView> {
    Ok(ItemView {
        item: items::get(conn, id)?,
        labels: items::labels(conn, id)?,
        files: items::files(conn, id)?,
    })
}

fn with_labels(conn: &Connection, found: Vec<Item>) -> Result<Vec<ItemView>> {
    found
        .into_iter()
        .map(|item| {
            let labels = items::labels(conn, &item.id)?;
            let files = items::files(conn, &item.id)?;
            Ok(ItemView {
                item,
                labels,
                files,
            })
        })
        .collect()
}

fn dependency_refs(conn: &Connection, id: &str) -> Result<Vec<DependencyRef>> {
    Ok(items::dependencies(conn, id)?
        .into_iter()
        .map(|(id, status)| DependencyRef { id, status })
        .collect())
}

fn checkpoints(conn: &Connection, id: &str) -> Result<Vec<Checkpoint>> {
    let mut statement = conn
        .prepare("SELECT text, done, at, done_at FROM checkpoints WHERE item = ?1 ORDER BY id")?;
    let rows = statement
        .query_map([id], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, bool>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, Option<String>>(3)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows
        .into_iter()
        .enumerate()
        .map(|(i, (text, done, at, done_at))| Checkpoint {
            number: i + 1,
            text,
            done,
            at,
            done_at,
        })
        .collect())
}

pub fn query_items(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Item>> {
    let mut statement = conn.prepare(sql)?;
    let found = statement
        .query_map(params, Item::from_row)?
        .collect::<Result<_, _>>()?;
    Ok(found)
}

fn set_column(
    tx: &Transaction<'_>,
    id: &str,
    column: &str,
    value: Option<&str>,
    now: &str,
) -> Result<()> {
    tx.execute(
        &format!("UPDATE items SET {column} = ?2, updated_at = ?3 WHERE id = ?1"),
        params![id, value, now],
    )?;
    Ok(())
}

fn touch(tx: &Transaction<'_>, id: &str, now: &str) -> Result<()> {
    tx.execute(
        "UPDATE items SET updated_at = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}

/// The most items [`touched_by`] returns: a session's handoff names the items it took.
pub const MAX_TOUCHED: usize = 20;

/// An item a session claimed, worked on or completed, as it is now, with what the session
/// did to it (in the order `claimed`, `worked`, `completed`).
#[derive(Debug, Clone, Serialize)]
pub struct Touched {
    pub id: String,
    pub title: String,
    pub status: Status,
    pub progress: i64,
    pub did: Vec<&'static str>,
}

/// What a history entry says a session did to an item: took it (`claimed`: a claim, or a
/// move to IN_PROGRESS), finished it (`completed`: a move to DONE), gave it back
/// (`released`: a release, or a move back to TODO or BACKLOG, which undoes the claim) or
/// worked on it (any other change of its status, progress, checkpoints, notes, log, time or
/// dependencies). Creating, assigning and filing an item is not work on it.
fn what_was_done(what: &str, detail: Option<&str>) -> Option<&'static str> {
    match what {
        "claimed" => Some("claimed"),
        "status" => {
            let to = detail
                .and_then(|detail| serde_json::from_str::<Value>(detail).ok())
                .and_then(|detail| detail.get("to").and_then(Value::as_str).map(str::to_owned));
            match to.as_deref() {
                Some("IN_PROGRESS") => Some("claimed"),
                Some("DONE") => Some("completed"),
                Some("TODO" | "BACKLOG") => Some("released"),
                _ => Some("worked"),
            }
        }
        "released" => Some("released"),
        "progress" | "checkpoint" | "log" | "updated" | "time" | "hours" | "depends"
        | "blocked-reason" | "clarification" | "feedback" | "approved" | "completion_note"
        | "question" | "worker_finished" => Some("worked"),
        _ => None,
    }
}

/// The items session `session` claimed, worked on or completed, the most recently touched
/// first, at most [`MAX_TOUCHED`]; an item it only claimed and then gave back, or that is
/// gone, is left out. Reads only (through the `events_session` index); a project without a
/// tracker has none.
pub fn touched_by(cx: &Context, session: &str) -> Result<Vec<Touched>> {
    if !cx.tracker_path().exists() {
        return Ok(Vec::new());
    }
    let db = cx.tracker_for_reads()?;
    let conn = db.conn();
    let mut statement =
        conn.prepare("SELECT item, what, detail FROM events WHERE session = ?1 ORDER BY id")?;
    let rows = statement.query_map([session], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, Option<String>>(2)?,
        ))
    })?;
    // Per item, oldest event first: what the session did, and when it last touched it.
    let mut done: std::collections::HashMap<String, (Vec<&'static str>, usize)> =
        std::collections::HashMap::new();
    for (at, row) in rows.enumerate() {
        let (item, what, detail) = row?;
        let Some(did) = what_was_done(&what, detail.as_deref()) else {
            continue;
        };
        let (list, last) = done.entry(item).or_default();
        *last = at;
        match did {
            "released" => list.retain(|did| *did != "claimed"),
            did if !list.contains(&did) => list.push(did),
            _ => {}
        }
    }
    let mut order: Vec<(String, Vec<&'static str>, usize)> = done
        .into_iter()
        .filter(|(_, (did, _))| !did.is_empty())
        .map(|(id, (did, last))| (id, did, last))
        .collect();
    order.sort_by_key(|(_, _, last)| std::cmp::Reverse(*last));
    order.truncate(MAX_TOUCHED);
    let sql = format!("SELECT {COLUMNS} FROM items WHERE id = ?1");
    let mut found = Vec::new();
    for (id, mut did, _) in order {
        did.sort_by_key(|did| {
            ["claimed", "worked", "completed"]
                .iter()
                .position(|d| d == did)
        });
        let Some(item) = query_items(conn, &sql, [&id])?.into_iter().next() else {
            continue;
        };
        found.push(Touched {
            id: item.id,
            title: item.title,
            status: item.status,
            progress: item.progress,
            did,
        });
    }
    Ok(found)
}

/// The id of the item `raw` names, resolved as `task show` resolves it (exact, any case, a
/// unique prefix). Reads only; with no tracker, nothing is found.
pub fn resolve_item(cx: &Context, raw: &str) -> Result<String> {
    let db = cx.tracker_for_reads()?;
    items::resolve(db.conn(), raw)
}

/// The items of `ids` that exist, as they are now. Reads only; a project without a tracker
/// has none.
pub fn items_now(cx: &Context, ids: &[&str]) -> Result<Vec<Item>> {
    if ids.is_empty() || !cx.tracker_path().exists() {
        return Ok(Vec::new());
    }
    let db = cx.tracker_for_reads()?;
    let sql = format!("SELECT {COLUMNS} FROM items WHERE id = ?1");
    let mut found = Vec::new();
    for id in ids {
        found.extend(query_items(db.conn(), &sql, [id])?);
    }
    Ok(found)
}

// Claim leases inside the tracker transaction: the lease rule (`lease`) applied to rows.

/// The document of session `claimer`, if it names one that can be read (without a lock).
pub(crate) fn session_document(cx: &Context, claimer: &str) -> Option<Value> {
    let id = SessionId::parse(claimer).ok()?;
    cx.store(crate::sessions::FOLDER)
        .try_read(&id)
        .ok()
        .flatten()
}

/// An item with its claim columns.
struct Row {
    item: Item,
    generation: i64,
    lease_at: Option<String>,
}

/// Asks the lease rule about claims, reading each claimer's session document once.
struct Judge<'a> {
    cx: &'a Context,
    now: Timestamp,
    lease: Duration,
    sessions: HashMap<String, ClaimerSession>,
}

impl<'a> Judge<'a> {
    fn new(cx: &'a Context, now: Timestamp) -> Judge<'a> {
        Judge {
            cx,
            now,
            lease: cx.config().claim_lease(),
            sessions: HashMap::new(),
        }
    }

    /// The lapsed claim on `row`, if it is an IN_PROGRESS item whose claim has lapsed.
    fn lapsed(&mut self, row: &Row) -> Option<LapsedClaim> {
        if row.item.status != Status::InProgress {
            return None;
        }
        let claimer = claimer_of(&row.item)?;
        let (cx, now) = (self.cx, self.now);
        let session = *self.sessions.entry(claimer.to_owned()).or_insert_with(|| {
            session_document(cx, claimer).map_or(ClaimerSession::Unknown, |document| {
                claimer_session_of(&document, now)
            })
        });
        let times = [row.lease_at.as_deref(), Some(row.item.updated_at.as_str())];
        let renewed = times
            .into_iter()
            .flatten()
            .filter_map(|raw| parse_time(raw).ok())
            .max()?;
        let lapse = lapse(renewed, session, self.now, self.lease)?;
        Some(LapsedClaim {
            claimer: claimer.to_owned(),
            generation: row.generation,
            lapse,
        })
    }
}

fn rows(conn: &Connection, sql: &str, values: &[rusqlite::types::Value]) -> Result<Vec<Row>> {
    let mut statement = conn.prepare(sql)?;
    let found = statement
        .query_map(rusqlite::params_from_iter(values.iter()), |row| {
            Ok(Row {
                item: Item::from_row(row)?,
                generation: row.get(18)?,
                lease_at: row.get(19)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(found)
}

/// The condition of "ready once free": every dependency DONE and no open child.
const FREE_TO_START: &str = "open_deps = 0 AND NOT EXISTS \
    (SELECT 1 FROM items c WHERE c.parent = items.id AND c.status NOT IN ('DONE', 'CANCELLED'))";

/// The best item to take, as `task next` orders them (priority, then creation): a ready item
/// assigned to `who` or to nobody, or an IN_PROGRESS item free to start whose claim has lapsed
/// (with that claim), within `scope`.
pub(crate) fn pick(
    conn: &Connection,
    cx: &Context,
    now: Timestamp,
    who: Option<&str>,
    scope: &Scope,
) -> Result<Option<(Item, Option<LapsedClaim>)>> {
    use rusqlite::types::Value as Sql;
    let mut values: Vec<Sql> = vec![
        who.map_or(Sql::Null, |who| Sql::Text(who.to_owned())),
        Sql::Text(format_time(now)),
        scope
            .agent
            .as_ref()
            .map_or(Sql::Null, |agent| Sql::Text(agent.clone())),
    ];
    // An item assigned to the claimer or its agent, or to nobody; one offered to someone
    // else is theirs until the offer expires.
    let mut sql = format!(
        "SELECT {COLUMNS}, claim_gen, lease_at FROM items WHERE \
         (({READY}) AND (assignee IS NULL OR assignee = ?1 OR assignee = ?3 \
           OR id IN (SELECT item FROM offers WHERE expires_at <= ?2)) \
          OR (status = 'IN_PROGRESS' AND COALESCE(session, assignee) IS NOT NULL AND {FREE_TO_START}))"
    );
    if let Some(raw) = &scope.sprint {
        values.push(Sql::Text(resolve_sprint(conn, raw)?));
        sql.push_str(&format!(
            " AND id IN (SELECT item FROM sprint_items WHERE sprint = ?{})",
            values.len()
        ));
    }
    if let Some(raw) = &scope.epic {
        values.push(Sql::Text(items::resolve(conn, raw)?));
        sql.push_str(&format!(
            " AND id IN (WITH RECURSIVE below(id) AS (SELECT id FROM items WHERE parent = ?{} \
             UNION SELECT i.id FROM items i JOIN below b ON i.parent = b.id) SELECT id FROM below)",
            values.len()
        ));
    }
    if let Some(label) = &scope.label {
        values.push(Sql::Text(label.clone()));
        sql.push_str(&format!(
            " AND id IN (SELECT item FROM labels WHERE label = ?{})",
            values.len()
        ));
    }
    if scope.prefer.is_empty() {
        sql.push_str(" ORDER BY priority, seq");
    } else {
        let mut marks = Vec::new();
        for label in &scope.prefer {
            values.push(Sql::Text(label.clone()));
            marks.push(format!("?{}", values.len()));
        }
        sql.push_str(&format!(
            " ORDER BY id NOT IN (SELECT item FROM labels WHERE label IN ({})), priority, seq",
            marks.join(", ")
        ));
    }
    let mut judge = Judge::new(cx, now);
    let busy = if scope.apart {
        let mut busy = busy_files(conn)?;
        busy.extend(scope.avoid.iter().filter_map(|pattern| {
            crate::coordination::glob::covering(pattern)
                .ok()
                .map(|glob| (String::new(), glob))
        }));
        busy
    } else {
        Vec::new()
    };
    for row in rows(conn, &sql, &values)? {
        if scope.exclude.contains(&row.item.id) {
            continue;
        }
        if !busy.is_empty() && overlaps_busy(conn, &row.item.id, &busy)? {
            continue;
        }
        if row.item.status == Status::Todo {
            return Ok(Some((row.item, None)));
        }
        if let Some(lapsed) = judge.lapsed(&row) {
            return Ok(Some((row.item, Some(lapsed))));
        }
    }
    Ok(None)
}

/// The declared files of the IN_PROGRESS items, as (item, glob).
fn busy_files(conn: &Connection) -> Result<Vec<(String, crate::coordination::glob::Glob)>> {
    let mut statement = conn.prepare_cached(
        "SELECT f.item, f.pattern FROM item_files f JOIN items i ON i.id = f.item \
         WHERE i.status = 'IN_PROGRESS'",
    )?;
    let pairs: Vec<(String, String)> = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(pairs
        .into_iter()
        .filter_map(|(item, pattern)| {
            crate::coordination::glob::covering(&pattern)
                .ok()
                .map(|glob| (item, glob))
        })
        .collect())
}

/// Whether item `id` declares a file that meets one another IN_PROGRESS item declares.
fn overlaps_busy(
    conn: &Connection,
    id: &str,
    busy: &[(String, crate::coordination::glob::Glob)],
) -> Result<bool> {
    for pattern in items::files(conn, id)? {
        let Ok(glob) = crate::coordination::glob::covering(&pattern) else {
            continue;
        };
        if busy
            .iter()
            .any(|(item, other)| item != id && crate::coordination::glob::overlap(&glob, other))
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Every IN_PROGRESS item whose claim has lapsed, most urgent first.
pub(crate) fn lapsed_claims(
    conn: &Connection,
    cx: &Context,
    now: Timestamp,
) -> Result<Vec<(Item, LapsedClaim)>> {
    let sql = format!(
        "SELECT {COLUMNS}, claim_gen, lease_at FROM items WHERE status = 'IN_PROGRESS' \
         AND COALESCE(session, assignee) IS NOT NULL ORDER BY priority, seq"
    );
    let mut judge = Judge::new(cx, now);
    Ok(rows(conn, &sql, &[])?
        .into_iter()
        .filter_map(|row| judge.lapsed(&row).map(|lapsed| (row.item, lapsed)))
        .collect())
}

/// Sweep a lapsed claim: the item returns to TODO with no assignee or session, and a
/// `claim_expired` event names the old claimer and its generation. Returns the item as it is
/// now.
pub(crate) fn expire(
    tx: &Transaction<'_>,
    cx: &Context,
    item: &Item,
    lapsed: &LapsedClaim,
    now: &str,
) -> Result<Item> {
    apply_move(
        tx,
        item,
        Status::Todo,
        Via::Release,
        cx.workflow(),
        None,
        now,
        cx.actor(),
    )?;
    // `by` names the old claimer, as the fence looks it up.
    let mut detail = json!({"by": lapsed.claimer, "generation": lapsed.generation});
    if let (Some(detail), Ok(Value::Object(why))) =
        (detail.as_object_mut(), serde_json::to_value(&lapsed.lapse))
    {
        detail.extend(why);
    }
    items::record(tx, &item.id, now, CLAIM_EXPIRED, detail, cx.actor())?;
    items::get(tx, &item.id)
}

/// Before `claimer` starts `item`: when another claimer holds it (IN_PROGRESS), sweep its
/// claim if it lapsed ([`expire`]: the item is TODO again), else take it over with `force`
/// (a new generation and lease, a `claim_taken` event naming the old claimer), else refuse.
/// Returns the item as it is now.
pub(crate) fn take_over(
    tx: &Transaction<'_>,
    cx: &Context,
    item: &Item,
    claimer: &str,
    force: bool,
    now: &str,
) -> Result<Item> {
    let Some(holder) = claimer_of(item).filter(|holder| *holder != claimer) else {
        return Ok(item.clone());
    };
    if item.status != Status::InProgress {
        return Ok(item.clone());
    }
    let sql = format!("SELECT {COLUMNS}, claim_gen, lease_at FROM items WHERE id = ?1");
    let row = rows(tx, &sql, &[rusqlite::types::Value::Text(item.id.clone())])?
        .pop()
        .ok_or_else(|| Error::not_found(format!("no item {}", item.id)))?;
    let at = parse_time(now).map_err(|err| Error::internal(err.to_string()))?;
    if let Some(lapsed) = Judge::new(cx, at).lapsed(&row) {
        return expire(tx, cx, item, &lapsed, now);
    }
    if !force {
        return Err(Error::conflict(format!(
            "{} is IN_PROGRESS and claimed by `{holder}`, whose claim is live",
            item.id
        ))
        .with_hint(format!(
            "`orchestron task start {} --force` takes it over (recorded); the old claimer's \
             later changes are then refused",
            item.id
        )));
    }
    tx.execute(
        "UPDATE items SET claim_gen = claim_gen + 1, lease_at = ?2, assignee = NULL, \
         session = NULL WHERE id = ?1",
        params![item.id, now],
    )?;
    items::record(
        tx,
        &item.id,
        now,
        CLAIM_TAKEN,
        json!({"by": holder, "generation": row.generation, "to": claimer}),
        cx.actor(),
    )?;
    items::get(tx, &item.id)
}

/// Take `item` (TODO, ready) for `assignee` and `session`: IN_PROGRESS (which bumps its
/// generation and stamps its lease, see [`apply_move`]) and a `claimed` event. Returns
/// the new generation.
pub(crate) fn take(
    tx: &Transaction<'_>,
    cx: &Context,
    item: &Item,
    assignee: Option<&str>,
    session: Option<&str>,
    now: &str,
) -> Result<i64> {
    apply_move(
        tx,
        item,
        Status::InProgress,
        Via::Start,
        cx.workflow(),
        None,
        now,
        cx.actor(),
    )?;
    tx.execute(
        "UPDATE items SET assignee = ?2, session = COALESCE(?3, session) WHERE id = ?1",
        params![item.id, assignee, session],
    )?;
    let generation = generation_of(tx, &item.id)?;
    // A claim ends any handoff offer of the item (see `offers`).
    tx.prepare_cached("DELETE FROM offers WHERE item = ?1")?
        .execute([&item.id])?;
    items::record(
        tx,
        &item.id,
        now,
        "claimed",
        json!({"by": assignee.or(session), "from": item.status.as_str(), "generation": generation}),
        cx.actor(),
    )?;
    Ok(generation)
}

fn generation_of(conn: &Connection, id: &str) -> Result<i64> {
    Ok(
        conn.query_row("SELECT claim_gen FROM items WHERE id = ?1", [id], |row| {
            row.get(0)
        })?,
    )
}

/// Claim the best item within `scope` for `assignee` and `session`, in one transaction: a
/// lapsed claim on it swept first ([`expire`]), then taken ([`take`]). Returns the item's id,
/// the claim's generation and the claimer whose lapsed claim was swept, if any; nothing when
/// no item is free. Shared by `task next --claim` and the supervisor's `claims::claim_next`.
pub(crate) fn claim_best(
    tx: &Transaction<'_>,
    cx: &Context,
    now: Timestamp,
    assignee: Option<&str>,
    session: Option<&str>,
    scope: &Scope,
) -> Result<Option<(String, i64, Option<String>)>> {
    let Some((item, lapsed)) = pick(tx, cx, now, assignee, scope)? else {
        return Ok(None);
    };
    let at = format_time(now);
    let item = match &lapsed {
        Some(lapsed) => expire(tx, cx, &item, lapsed, &at)?,
        None => item,
    };
    let generation = take(tx, cx, &item, assignee, session, &at)?;
    Ok(Some((
        item.id,
        generation,
        lapsed.map(|lapsed| lapsed.claimer),
    )))
}

/// The item `raw` names, refused (`conflict`) unless its generation is still `generation`:
/// someone claimed it since. For every change made on behalf of a claim's holder (the
/// supervisor's, its merge train's) inside a tracker transaction.
pub(crate) fn fenced_by_generation(
    tx: &Transaction<'_>,
    raw: &str,
    generation: i64,
) -> Result<Item> {
    let id = items::resolve(tx, raw)?;
    let current = generation_of(tx, &id)?;
    if current != generation {
        return Err(Error::conflict(format!(
            "{id} was claimed again since generation {generation} (it is at generation {current}); \
             the holder of generation {generation} no longer holds it"
        ))
        .with_hint(format!("`orchestron task history {id}` shows who holds it")));
    }
    items::get(tx, &id)
}

/// The fence of a change by `actor` to `item`: refused (`conflict`) when `actor` is not the
/// item's claimer and its claim on the item was taken back (a `claim_expired`,
/// `claim_returned` or `claim_taken` event names it). A change by the claimer itself renews its lease. A
/// person without a session is never fenced.
pub(crate) fn fence_and_renew(
    cx: &Context,
    tx: &Transaction<'_>,
    item: &Item,
    actor: Option<&str>,
    now: &str,
) -> Result<()> {
    // A worker's item is the supervisor's until its branch is merged or given back: nobody
    // else changes it, or work would be DONE unmerged (and its dependents start without it).
    if item.status == Status::InProgress
        && let Some(holder) = claimer_of(item)
        && Some(holder) != actor
        && session_document(cx, holder)
            .is_some_and(|document| lease::worker_of(&document).is_some())
    {
        return Err(Error::conflict(format!(
            "{id} is held by the worker `{holder}`: its work is merged by the supervisor, and \
             nobody else changes the item meanwhile",
            id = item.id
        ))
        .with_hint(format!(
            "`orchestron workers stop` gives it back; a person can take it over with \
             `orchestron task start {} --force`, which the worker's late changes then respect",
            item.id
        )));
    }
    let Some(actor) = actor else {
        return Ok(());
    };
    if claimer_of(item) == Some(actor) {
        if item.status == Status::InProgress {
            tx.execute(
                "UPDATE items SET lease_at = ?2 WHERE id = ?1",
                params![item.id, now],
            )?;
        }
        return Ok(());
    }
    let taken: Option<(String, String)> = tx
        .query_row(
            "SELECT at, what FROM events WHERE item = ?1 AND what IN (?3, ?4, ?5) \
             AND json_valid(detail) AND json_extract(detail, '$.by') = ?2 \
             ORDER BY id DESC LIMIT 1",
            params![item.id, actor, CLAIM_EXPIRED, CLAIM_RETURNED, CLAIM_TAKEN],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let Some((at, what)) = taken else {
        return Ok(());
    };
    let how = match what.as_str() {
        CLAIM_EXPIRED => "reclaimed from it: its claim lapsed",
        CLAIM_RETURNED => "given back by its supervisor",
        _ => "taken over with `task start --force`",
    };
    let holder = match claimer_of(item) {
        Some(holder) => format!("; it is {} and held by {holder}", item.status),
        None => format!("; it is {}", item.status),
    };
    Err(Error::conflict(format!(
        "{id} is no longer claimed by `{actor}`: it was {how} at {at}{holder}; \
         this late change is refused",
        id = item.id
    ))
    .with_hint(format!(
        "`orchestron task history {}` shows what happened; `orchestron task next --claim` takes \
         other work",
        item.id
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracker::Db;

    fn new_item(kind: Kind) -> NewItem {
        NewItem {
            kind,
            title: "t".to_owned(),
            description: String::new(),
            status: Status::Todo,
            priority: Priority::Medium,
            estimate: Some(2.0),
            assignee: None,
            labels: vec!["api".to_owned()],
            files: Vec::new(),
            parent: None,
        }
    }

    #[test]
    fn a_new_item_is_checked_in_one_place() {
        assert!(check_new_item(&new_item(Kind::Task), None).is_ok());
        assert!(check_new_item(&new_item(Kind::Task), Some(("EPIC-1", Kind::Epic))).is_ok());
        assert!(check_new_item(&new_item(Kind::Task), Some(("TASK-1", Kind::Task))).is_err());
        assert!(check_new_item(&new_item(Kind::Epic), Some(("STORY-1", Kind::Story))).is_err());
        let refused = [
            NewItem {
                status: Status::Done,
                ..new_item(Kind::Task)
            },
            NewItem {
                title: "  ".to_owned(),
                ..new_item(Kind::Task)
            },
            NewItem {
                estimate: Some(-1.0),
                ..new_item(Kind::Task)
            },
            NewItem {
                estimate: Some(f64::NAN),
                ..new_item(Kind::Task)
            },
            NewItem {
                estimate: Some(MAX_ESTIMATE_HOURS + 1.0),
                ..new_item(Kind::Task)
            },
            NewItem {
                labels: vec![String::new()],
                files: Vec::new(),
                ..new_item(Kind::Task)
            },
            NewItem {
                assignee: Some(" ".to_owned()),
                ..new_item(Kind::Task)
            },
        ];
        for new in refused {
            let err = check_new_item(&new, None).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Invalid, "{new:?}");
        }
    }

    /// The SQL conditions `READY` and `BLOCKED` agree with the pure rules on every status,
    /// with and without unfinished dependencies and open children.
    #[test]
    fn the_sql_conditions_agree_with_the_pure_rules() {
        let mut db = Db::empty().unwrap();
        let mut cases = Vec::new();
        db.write(|tx| -> Result<()> {
            let mut seq = 0;
            for status in Status::ALL {
                for open_deps in [0, 1] {
                    for open_child in [false, true] {
                        seq += 1;
                        let id = format!("TASK-{seq}");
                        tx.execute(
                            "INSERT INTO items (id, kind, title, status, priority, project, \
                             created_at, updated_at, seq, topo, open_deps) \
                             VALUES (?1, 'TASK', 't', ?2, 2, 'p', 'x', 'x', ?3, ?3, ?4)",
                            params![id, status.as_str(), seq, open_deps],
                        )?;
                        if open_child {
                            seq += 1;
                            tx.execute(
                                "INSERT INTO items (id, kind, parent, title, status, priority, \
                                 project, created_at, updated_at, seq, topo) VALUES \
                                 (?1, 'SUBTASK', ?2, 't', 'IN_PROGRESS', 2, 'p', 'x', 'x', ?3, ?3)",
                                params![format!("SUBTASK-{seq}"), id, seq],
                            )?;
                        }
                        cases.push((id, status, open_deps, i64::from(open_child)));
                    }
                }
            }
            Ok(())
        })
        .unwrap();
        let matching = |condition: &str| -> Vec<String> {
            let sql = format!("SELECT id FROM items WHERE kind = 'TASK' AND ({condition})");
            let mut statement = db.conn().prepare(&sql).unwrap();
            statement
                .query_map([], |row| row.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        let (ready, blocked) = (matching(READY), matching(BLOCKED));
        for (id, status, open_deps, open_children) in cases {
            assert_eq!(
                ready.contains(&id),
                model::is_ready(status, open_deps, open_children),
                "ready: {status} deps {open_deps} children {open_children}"
            );
            assert_eq!(
                blocked.contains(&id),
                model::is_blocked(status, open_deps),
                "blocked: {status} deps {open_deps}"
            );
        }
    }
}
