//! `orchestron task …` and `orchestron todo`: work items in the project tracker.

use anyhow::{Context as _, bail};
use rusqlite::{Connection, OptionalExtension as _, Transaction, params};
use serde_json::{Value, json};

use crate::cli::TaskCommand;
use crate::context::Context;
use crate::output::Output;
use crate::session::format_time;
use crate::tracker::items::{self, COLUMNS, Item};
use crate::tracker::model::{self, Kind, Priority, Status, Workflow};

/// The version of the JSON shape of single objects.
const SCHEMA_VERSION: u32 = 1;

pub(super) fn run(context: &Context, out: &mut Output, command: TaskCommand) -> anyhow::Result<()> {
    // Parse every argument before the database is opened: bad input changes nothing.
    let mut db = context.tracker()?;
    let now = format_time(context.now);
    let workflow = workflow(context)?;
    let session = context.session_hint().map(str::to_owned);
    match command {
        TaskCommand::Create {
            title,
            kind,
            parent,
            priority,
            estimate,
            assignee,
            labels,
            description,
            status,
        } => {
            let kind: Kind = kind.parse()?;
            let priority: Priority = priority.parse()?;
            let status: Status = status.parse()?;
            if !matches!(status, Status::Backlog | Status::Todo) {
                bail!("a new item starts in TODO or BACKLOG, not {status}");
            }
            check_text("title", &title)?;
            check_estimate(estimate)?;
            let project = context.tracker_project()?;
            let new = NewItem {
                kind,
                title: &title,
                description: description.as_deref().unwrap_or_default(),
                status,
                priority,
                estimate,
                assignee: assignee.as_deref(),
                labels: &labels,
                project: &project,
            };
            let id = db.write(|tx| {
                let parent = parent
                    .as_deref()
                    .map(|raw| items::resolve(tx, raw))
                    .transpose()?;
                create(
                    tx,
                    context,
                    &new,
                    parent.as_deref(),
                    &now,
                    session.as_deref(),
                )
            })?;
            print_id(out, db.conn(), &id)
        }
        TaskCommand::List {
            status,
            kind,
            assignee,
            parent,
            label,
            sprint,
            limit,
        } => {
            let status: Option<Status> = status.map(|s| s.parse()).transpose()?;
            let kind: Option<Kind> = kind.map(|s| s.parse()).transpose()?;
            let conn = db.conn();
            let parent = parent.map(|raw| items::resolve(conn, &raw)).transpose()?;
            let sprint = sprint
                .map(|raw| super::sprint::resolve(conn, &raw))
                .transpose()?;
            let mut sql = format!("SELECT {COLUMNS} FROM items WHERE 1=1");
            let mut values: Vec<String> = Vec::new();
            let mut bind = |clause: &str, value: String| {
                values.push(value);
                sql.push_str(&clause.replace('?', &format!("?{}", values.len())));
            };
            if let Some(status) = status {
                bind(" AND status = ?", status.as_str().to_owned());
            }
            if let Some(kind) = kind {
                bind(" AND kind = ?", kind.as_str().to_owned());
            }
            if let Some(assignee) = assignee {
                bind(" AND assignee = ?", assignee);
            }
            if let Some(parent) = parent {
                bind(" AND parent = ?", parent);
            }
            if let Some(label) = label {
                bind(
                    " AND id IN (SELECT item FROM labels WHERE label = ?)",
                    label,
                );
            }
            if let Some(sprint) = sprint {
                bind(
                    " AND id IN (SELECT item FROM sprint_items WHERE sprint = ?)",
                    sprint,
                );
            }
            sql.push_str(" ORDER BY priority, seq");
            if let Some(limit) = limit {
                sql.push_str(&format!(" LIMIT {limit}"));
            }
            let found = query_items(conn, &sql, rusqlite::params_from_iter(values.iter()))?;
            print_list(out, conn, &found)
        }
        TaskCommand::Show { id } => {
            let conn = db.conn();
            let id = items::resolve(conn, &id)?;
            show(out, conn, &id)
        }
        TaskCommand::Update {
            id,
            status,
            priority,
            assignee,
            estimate,
            title,
            notes,
            reason,
            force,
        } => {
            let status: Option<Status> = status.map(|s| s.parse()).transpose()?;
            let priority: Option<Priority> = priority.map(|s| s.parse()).transpose()?;
            check_estimate(estimate)?;
            if let Some(title) = &title {
                check_text("title", title)?;
            }
            let id = db.write(|tx| {
                let id = items::resolve(tx, &id)?;
                let item = items::get(tx, &id)?;
                let mut changes = Vec::new();
                if let Some(to) = status {
                    move_to(
                        tx,
                        &item,
                        to,
                        force,
                        workflow,
                        &now,
                        reason.as_deref(),
                        session.as_deref(),
                    )?;
                } else if let Some(reason) = &reason {
                    set(tx, &id, "blocked_reason", &Some(reason.clone()), &now)?;
                    changes.push(json!({"blocked_reason": reason}));
                }
                if let Some(priority) = priority {
                    tx.execute(
                        "UPDATE items SET priority = ?2 WHERE id = ?1",
                        params![id, priority.rank()],
                    )?;
                    changes.push(json!({"priority": priority.as_str()}));
                }
                if let Some(assignee) = &assignee {
                    set(tx, &id, "assignee", &Some(assignee.clone()), &now)?;
                    changes.push(json!({"assignee": assignee}));
                }
                if let Some(estimate) = estimate {
                    tx.execute(
                        "UPDATE items SET estimate = ?2 WHERE id = ?1",
                        params![id, estimate],
                    )?;
                    changes.push(json!({"estimate": estimate}));
                }
                if let Some(title) = &title {
                    set(tx, &id, "title", &Some(title.clone()), &now)?;
                    changes.push(json!({"title": title}));
                }
                if let Some(notes) = &notes {
                    set(tx, &id, "notes", &Some(notes.clone()), &now)?;
                    changes.push(json!({"notes": notes}));
                }
                if !changes.is_empty() {
                    touch(tx, &id, &now)?;
                    items::record(
                        tx,
                        &id,
                        &now,
                        "updated",
                        Value::Array(changes),
                        session.as_deref(),
                    )?;
                }
                Ok(id)
            })?;
            print_id(out, db.conn(), &id)
        }
        TaskCommand::Progress { id, percent } => {
            if percent > 100 {
                bail!("`--percent` must be 0 to 100, not {percent}");
            }
            let id = db.write(|tx| {
                let id = items::resolve(tx, &id)?;
                tx.execute(
                    "UPDATE items SET progress = ?2, updated_at = ?3 WHERE id = ?1",
                    params![id, percent, now],
                )?;
                items::record(
                    tx,
                    &id,
                    &now,
                    "progress",
                    json!(percent),
                    session.as_deref(),
                )?;
                Ok(id)
            })?;
            print_id(out, db.conn(), &id)
        }
        TaskCommand::Checkpoint { id, text, done } => {
            check_text("checkpoint", &text)?;
            let id = db.write(|tx| {
                let id = items::resolve(tx, &id)?;
                let existing: Option<i64> = tx
                    .query_row(
                        "SELECT id FROM checkpoints WHERE item = ?1 AND text = ?2 ORDER BY id LIMIT 1",
                        params![id, text],
                        |row| row.get(0),
                    )
                    .optional()?;
                match (existing, done) {
                    (Some(checkpoint), true) => {
                        tx.execute(
                            "UPDATE checkpoints SET done = 1, done_at = ?2 WHERE id = ?1 AND done = 0",
                            params![checkpoint, now],
                        )?;
                    }
                    (Some(_), false) => {}
                    (None, done) => {
                        tx.execute(
                            "INSERT INTO checkpoints (item, text, done, at, done_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                            params![id, text, done, now, done.then_some(&now)],
                        )?;
                    }
                }
                touch(tx, &id, &now)?;
                items::record(tx, &id, &now, "checkpoint", json!({"text": text, "done": done}), session.as_deref())?;
                Ok(id)
            })?;
            print_id(out, db.conn(), &id)
        }
        TaskCommand::Start { id, force } => {
            let id = db.write(|tx| {
                let id = items::resolve(tx, &id)?;
                let item = items::get(tx, &id)?;
                move_to(
                    tx,
                    &item,
                    Status::InProgress,
                    force,
                    workflow,
                    &now,
                    None,
                    session.as_deref(),
                )?;
                if let Some(session) = &session {
                    tx.execute(
                        "UPDATE items SET session = ?2 WHERE id = ?1",
                        params![id, session],
                    )?;
                }
                Ok(id)
            })?;
            print_id(out, db.conn(), &id)
        }
        TaskCommand::Complete { id, force } => {
            let id = db.write(|tx| {
                let id = items::resolve(tx, &id)?;
                let item = items::get(tx, &id)?;
                if !force && !matches!(item.status, Status::InProgress | Status::InReview | Status::Testing) {
                    bail!(
                        "cannot complete {id}: it is {}; only IN_PROGRESS, IN_REVIEW or TESTING items complete (`--force` overrides)",
                        item.status
                    );
                }
                let to = if force { Status::Done } else { model::completion_target(item.status, workflow) };
                move_to(tx, &item, to, force, workflow, &now, None, session.as_deref())?;
                Ok(id)
            })?;
            print_id(out, db.conn(), &id)
        }
        TaskCommand::Log { id, text } => {
            check_text("text", &text)?;
            let id = db.write(|tx| {
                let id = items::resolve(tx, &id)?;
                touch(tx, &id, &now)?;
                items::record(tx, &id, &now, "log", json!(text), session.as_deref())?;
                Ok(id)
            })?;
            print_id(out, db.conn(), &id)
        }
        TaskCommand::Clarify { id, text } => comment(
            &mut db,
            out,
            &id,
            "clarification",
            &text,
            &now,
            session.as_deref(),
        ),
        TaskCommand::Feedback { id, text } => comment(
            &mut db,
            out,
            &id,
            "feedback",
            &text,
            &now,
            session.as_deref(),
        ),
        TaskCommand::Clarifications { id } => {
            let conn = db.conn();
            let id = items::resolve(conn, &id)?;
            let list = comments(conn, &id, Some("clarification"))?;
            if out.json() {
                out.json_line(&Value::Array(list))?;
            } else {
                for entry in list {
                    out.line(&format!(
                        "{}  {}",
                        entry["at"].as_str().unwrap_or_default(),
                        entry["text"].as_str().unwrap_or_default()
                    ))?;
                }
            }
            Ok(())
        }
        TaskCommand::Review { id } => {
            let conn = db.conn();
            let id = items::resolve(conn, &id)?;
            review(context, out, conn, &id)
        }
        TaskCommand::Approve {
            id,
            comment: remark,
        } => {
            if let Some(remark) = &remark {
                check_text("comment", remark)?;
            }
            let id = db.write(|tx| {
                let id = items::resolve(tx, &id)?;
                let item = items::get(tx, &id)?;
                if item.status != Status::InReview {
                    bail!("cannot approve {id}: it is {}, not IN_REVIEW", item.status);
                }
                let to = if workflow.require_testing { Status::Testing } else { Status::Done };
                move_to(tx, &item, to, false, workflow, &now, None, session.as_deref())?;
                if let Some(remark) = &remark {
                    tx.execute(
                        "INSERT INTO comments (item, kind, text, at, by) VALUES (?1, 'feedback', ?2, ?3, ?4)",
                        params![id, remark, now, session],
                    )?;
                }
                items::record(tx, &id, &now, "approved", json!({"to": to.as_str(), "comment": remark}), session.as_deref())?;
                Ok(id)
            })?;
            print_id(out, db.conn(), &id)
        }
        TaskCommand::Assign { id, to } => {
            check_text("assignee", &to)?;
            let id = db.write(|tx| {
                let id = items::resolve(tx, &id)?;
                set(tx, &id, "assignee", &Some(to.clone()), &now)?;
                items::record(tx, &id, &now, "assigned", json!(to), session.as_deref())?;
                Ok(id)
            })?;
            print_id(out, db.conn(), &id)
        }
        TaskCommand::Depend { id, on } => {
            let (id, on) = db.write(|tx| {
                let id = items::resolve(tx, &id)?;
                let on = items::resolve(tx, &on)?;
                if id == on {
                    bail!("{id} cannot depend on itself");
                }
                let added = match items::add_dependency(tx, &id, &on)? {
                    Ok(added) => added,
                    Err(cycle) => bail!(
                        "refused: that would make a cycle, each waiting for the next: {}",
                        cycle.join(" → ")
                    ),
                };
                if added {
                    touch(tx, &id, &now)?;
                    items::record(tx, &id, &now, "depends", json!(on), session.as_deref())?;
                }
                Ok((id, on))
            })?;
            if out.json() {
                out.json_line(
                    &json!({"schema_version": SCHEMA_VERSION, "item": id, "depends_on": on}),
                )?;
            } else {
                out.line(&format!("{id} depends on {on}"))?;
            }
            Ok(())
        }
        TaskCommand::Ready { limit } => {
            let conn = db.conn();
            let sql = format!(
                "SELECT {COLUMNS} FROM items WHERE status = 'TODO' AND open_deps = 0 \
                 ORDER BY priority, seq LIMIT {}",
                limit.map_or(-1, |l| l as i64)
            );
            let found = query_items(conn, &sql, [])?;
            print_list(out, conn, &found)
        }
        TaskCommand::Next { assignee, claim } => {
            let who = match (&assignee, claim) {
                (Some(who), _) => Some(who.clone()),
                (None, true) => Some(session.clone().context(
                    "`--claim` needs `--assignee`, or a current session (`ORCHESTRON_SESSION`)",
                )?),
                (None, false) => None,
            };
            let pick = |conn: &Connection| -> anyhow::Result<Option<Item>> {
                let sql = format!(
                    "SELECT {COLUMNS} FROM items i WHERE status = 'TODO' AND open_deps = 0 \
                     AND (assignee IS NULL OR assignee = ?1) \
                     AND NOT EXISTS (SELECT 1 FROM items c WHERE c.parent = i.id \
                      AND c.status NOT IN ('DONE', 'CANCELLED')) \
                     ORDER BY priority, seq LIMIT 1"
                );
                Ok(query_items(conn, &sql, params![who])?.into_iter().next())
            };
            let found = if claim {
                let who = who.clone().expect("a claim has an assignee");
                db.write(|tx| {
                    let Some(item) = pick(tx)? else { return Ok(None) };
                    tx.execute(
                        "UPDATE items SET assignee = ?2, status = 'IN_PROGRESS', started_at = COALESCE(started_at, ?3), \
                         updated_at = ?3, session = COALESCE(?4, session) WHERE id = ?1",
                        params![item.id, who, now, session],
                    )?;
                    items::record(tx, &item.id, &now, "claimed", json!({"by": who, "from": item.status.as_str()}), session.as_deref())?;
                    Ok(Some(item.id))
                })?
            } else {
                pick(db.conn())?.map(|item| item.id)
            };
            match found {
                None if out.json() => out.json_line(&Value::Null)?,
                None => {}
                Some(id) if out.json() => {
                    let item = items::get(db.conn(), &id)?;
                    let labels = items::labels(db.conn(), &id)?;
                    let mut value = item.to_json(&labels);
                    value["schema_version"] = json!(SCHEMA_VERSION);
                    out.json_line(&value)?;
                }
                Some(id) => out.line(&id)?,
            }
            Ok(())
        }
        TaskCommand::Blocked => {
            let conn = db.conn();
            let sql = format!(
                "SELECT {COLUMNS} FROM items WHERE status = 'BLOCKED' OR (status NOT IN ('DONE', 'CANCELLED') \
                 AND open_deps > 0) ORDER BY priority, seq"
            );
            let found = query_items(conn, &sql, [])?;
            let mut rows = Vec::new();
            for item in &found {
                let waiting: Vec<String> = items::dependencies(conn, &item.id)?
                    .into_iter()
                    .filter(|(_, status)| *status != Status::Done)
                    .map(|(id, status)| format!("{id} ({status})"))
                    .collect();
                rows.push((item, waiting));
            }
            if out.json() {
                let list: Vec<Value> = rows
                    .iter()
                    .map(|(item, waiting)| {
                        json!({"id": item.id, "title": item.title, "status": item.status.as_str(),
                            "blocked_reason": item.blocked_reason, "waiting_on": waiting})
                    })
                    .collect();
                out.json_line(&Value::Array(list))?;
            } else {
                let table: Vec<Vec<String>> = rows
                    .iter()
                    .map(|(item, waiting)| {
                        let mut why = waiting.join(", ");
                        if let Some(reason) = &item.blocked_reason {
                            why = if why.is_empty() {
                                reason.clone()
                            } else {
                                format!("{reason}; {why}")
                            };
                        }
                        vec![
                            item.id.clone(),
                            item.status.to_string(),
                            item.title.clone(),
                            why,
                        ]
                    })
                    .collect();
                out.table(&["ID", "STATUS", "TITLE", "BLOCKED BY"], &table)?;
            }
            Ok(())
        }
        TaskCommand::Tree { id } => {
            let conn = db.conn();
            let id = items::resolve(conn, &id)?;
            let root = items::get(conn, &id)?;
            let mut lines = Vec::new();
            let mut nodes = Vec::new();
            tree(conn, &root, 0, &mut lines, &mut nodes)?;
            if out.json() {
                out.json_line(&tree_json(conn, &root)?)?;
            } else {
                for line in lines {
                    out.line(&line)?;
                }
            }
            Ok(())
        }
        TaskCommand::History { id } => {
            let conn = db.conn();
            let id = items::resolve(conn, &id)?;
            let mut statement = conn.prepare(
                "SELECT at, what, detail, session FROM events WHERE item = ?1 ORDER BY id",
            )?;
            let events: Vec<(String, String, Option<String>, Option<String>)> = statement
                .query_map([&id], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
                })?
                .collect::<Result<_, _>>()?;
            if out.json() {
                let list: Vec<Value> = events
                    .iter()
                    .map(|(at, what, detail, session)| {
                        let detail: Value = detail
                            .as_deref()
                            .and_then(|d| serde_json::from_str(d).ok())
                            .unwrap_or(Value::Null);
                        json!({"at": at, "what": what, "detail": detail, "session": session})
                    })
                    .collect();
                out.json_line(&Value::Array(list))?;
            } else {
                let rows: Vec<Vec<String>> = events
                    .into_iter()
                    .map(|(at, what, detail, _)| vec![at, what, detail.unwrap_or_default()])
                    .collect();
                out.table(&["AT", "WHAT", "DETAIL"], &rows)?;
            }
            Ok(())
        }
        TaskCommand::Delete { id, purge } => {
            let id = db.write(|tx| {
                let id = items::resolve(tx, &id)?;
                if purge {
                    let children: i64 = tx.query_row(
                        "SELECT count(*) FROM items WHERE parent = ?1",
                        [&id],
                        |row| row.get(0),
                    )?;
                    if children > 0 {
                        bail!("{id} has {children} children; delete or move them first");
                    }
                    let item = items::get(tx, &id)?;
                    items::status_changed(tx, &id, item.status, Status::Done)?;
                    tx.execute("DELETE FROM events WHERE item = ?1", [&id])?;
                    tx.execute("DELETE FROM items WHERE id = ?1", [&id])?;
                } else {
                    let item = items::get(tx, &id)?;
                    move_to(
                        tx,
                        &item,
                        Status::Cancelled,
                        false,
                        workflow,
                        &now,
                        None,
                        session.as_deref(),
                    )?;
                }
                Ok(id)
            })?;
            if out.json() {
                out.json_line(
                    &json!({"schema_version": SCHEMA_VERSION, "id": id, "purged": purge}),
                )?;
            } else {
                out.line(&id)?;
            }
            Ok(())
        }
    }
}

/// `orchestron todo TEXT [--parent ID]`.
pub(super) fn todo(
    context: &Context,
    out: &mut Output,
    text: String,
    parent: Option<String>,
) -> anyhow::Result<()> {
    check_text("text", &text)?;
    let mut db = context.tracker()?;
    let now = format_time(context.now);
    let session = context.session_hint().map(str::to_owned);
    let project = context.tracker_project()?;
    let id = db.write(|tx| {
        let parent = match &parent {
            Some(raw) => Some(items::resolve(tx, raw)?),
            None => {
                let Some(session) = &session else {
                    bail!("`todo` needs `--parent ID`, or a current session with a started task");
                };
                tx.query_row(
                    "SELECT id FROM items WHERE session = ?1 AND status = 'IN_PROGRESS' AND kind != 'TODO' \
                     ORDER BY updated_at DESC LIMIT 1",
                    [session],
                    |row| row.get::<_, String>(0),
                )
                .optional()?
                .with_context(|| format!("session {session} has no started task; pass `--parent ID`"))
                .map(Some)?
            }
        };
        let new = NewItem {
            kind: Kind::Todo,
            title: &text,
            description: "",
            status: Status::Todo,
            priority: Priority::Medium,
            estimate: None,
            assignee: None,
            labels: &[],
            project: &project,
        };
        create(tx, context, &new, parent.as_deref(), &now, session.as_deref())
    })?;
    print_id(out, db.conn(), &id)
}

/// Add a clarification or feedback to an item.
fn comment(
    db: &mut crate::tracker::Db,
    out: &mut Output,
    id: &str,
    kind: &str,
    text: &str,
    now: &str,
    session: Option<&str>,
) -> anyhow::Result<()> {
    check_text("text", text)?;
    let id = db.write(|tx| {
        let id = items::resolve(tx, id)?;
        tx.execute(
            "INSERT INTO comments (item, kind, text, at, by) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, kind, text, now, session],
        )?;
        touch(tx, &id, now)?;
        items::record(tx, &id, now, kind, json!(text), session)?;
        Ok(id)
    })?;
    print_id(out, db.conn(), &id)
}

/// An item's comments of one kind (or all), oldest first.
fn comments(conn: &Connection, id: &str, kind: Option<&str>) -> anyhow::Result<Vec<Value>> {
    let mut statement = conn.prepare(
        "SELECT kind, text, at, by FROM comments WHERE item = ?1 AND (?2 IS NULL OR kind = ?2) ORDER BY id",
    )?;
    let rows = statement
        .query_map(params![id, kind], |row| {
            Ok(
                json!({"kind": row.get::<_, String>(0)?, "text": row.get::<_, String>(1)?,
                "at": row.get::<_, String>(2)?, "by": row.get::<_, Option<String>>(3)?}),
            )
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// `task review ID`: one read-only view of everything about an item.
fn review(context: &Context, out: &mut Output, conn: &Connection, id: &str) -> anyhow::Result<()> {
    let item = items::get(conn, id)?;
    let mut value = item.to_json(&items::labels(conn, id)?);
    value["schema_version"] = json!(SCHEMA_VERSION);
    let mut statement =
        conn.prepare("SELECT text, done FROM checkpoints WHERE item = ?1 ORDER BY id")?;
    let checkpoints: Vec<Value> = statement
        .query_map([id], |row| {
            Ok(json!({"text": row.get::<_, String>(0)?, "done": row.get::<_, bool>(1)?}))
        })?
        .collect::<Result<_, _>>()?;
    value["checkpoints"] = json!(checkpoints);
    value["comments"] = json!(comments(conn, id, None)?);
    let mut statement =
        conn.prepare("SELECT at, what, detail, session FROM events WHERE item = ?1 ORDER BY id")?;
    let history: Vec<Value> = statement
        .query_map([id], |row| {
            Ok(json!({"at": row.get::<_, String>(0)?, "what": row.get::<_, String>(1)?,
                "detail": row.get::<_, Option<String>>(2)?, "session": row.get::<_, Option<String>>(3)?}))
        })?
        .collect::<Result<_, _>>()?;
    // The sessions that touched the item: the one it is linked to and any in its history.
    let mut sessions: Vec<String> = history
        .iter()
        .filter_map(|event| event["session"].as_str().map(str::to_owned))
        .chain(item.session.clone())
        .collect();
    sessions.sort();
    sessions.dedup();
    let store = context.store()?;
    let mut worked = Vec::new();
    for session in &sessions {
        let Ok(session_id) = crate::ids::SessionId::parse(session) else {
            continue;
        };
        let Some(document) = store.try_read(&session_id)? else {
            continue;
        };
        let files: Vec<&String> = document
            .pointer("/execution/files")
            .and_then(Value::as_object)
            .map(|files| files.keys().collect())
            .unwrap_or_default();
        worked.push(json!({
            "session": session,
            "files": files,
            "tests": document.pointer("/execution/tests").cloned().unwrap_or(Value::Null),
        }));
    }
    value["history"] = json!(history);
    value["sessions"] = json!(worked);
    if out.json() {
        out.json_line(&value)?;
        return Ok(());
    }
    out.line(&format!(
        "{}  {}  {}  {}%  {}",
        item.id, item.status, item.priority, item.progress, item.title
    ))?;
    if !item.notes.is_empty() {
        out.line(&format!("notes: {}", item.notes))?;
    }
    for checkpoint in &checkpoints {
        let mark = if checkpoint["done"] == true { "x" } else { " " };
        out.line(&format!(
            "[{mark}] {}",
            checkpoint["text"].as_str().unwrap_or_default()
        ))?;
    }
    for entry in value["comments"].as_array().into_iter().flatten() {
        out.line(&format!(
            "{}: {}",
            entry["kind"].as_str().unwrap_or_default(),
            entry["text"].as_str().unwrap_or_default()
        ))?;
    }
    for session in &worked {
        let files: Vec<&str> = session["files"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let last = &session["tests"]["last"];
        let tests = match last["passed"].as_bool() {
            Some(true) => format!(
                "last test passed: {}",
                last["command"].as_str().unwrap_or("?")
            ),
            Some(false) => format!(
                "last test FAILED: {}",
                last["command"].as_str().unwrap_or("?")
            ),
            None => "no test run".to_owned(),
        };
        out.line(&format!(
            "session {}: {} files; {tests}",
            session["session"].as_str().unwrap_or("?"),
            files.len()
        ))?;
        for file in files {
            out.line(&format!("  {file}"))?;
        }
    }
    out.line(&format!(
        "history: {} events (`orchestron task history {}`)",
        history.len(),
        item.id
    ))?;
    Ok(())
}

struct NewItem<'a> {
    kind: Kind,
    title: &'a str,
    description: &'a str,
    status: Status,
    priority: Priority,
    estimate: Option<f64>,
    assignee: Option<&'a str>,
    labels: &'a [String],
    project: &'a str,
}

fn create(
    tx: &Transaction<'_>,
    context: &Context,
    new: &NewItem<'_>,
    parent: Option<&str>,
    now: &str,
    session: Option<&str>,
) -> anyhow::Result<String> {
    if let Some(parent) = parent {
        let parent_item = items::get(tx, parent)?;
        if !new.kind.fits_under(parent_item.kind) {
            bail!(
                "a {} cannot sit under {parent}, a {}: a child's kind must be smaller than its parent's",
                new.kind,
                parent_item.kind
            );
        }
    }
    // The sequence number counts the items ever made: an index lookup, where count(*) would
    // read the whole table.
    // A new item depends on nothing yet: it can go last in the topological order.
    let (seq, topo): (i64, f64) = tx.query_row(
        "SELECT (SELECT COALESCE(max(seq), 0) + 1 FROM items), \
                (SELECT COALESCE(max(topo), 0) + 1 FROM items)",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    let id = items::fresh_id(tx, "items", new.kind.as_str(), seq, || context.random_u64())?;
    tx.execute(
        "INSERT INTO items (id, kind, parent, title, description, status, priority, estimate, assignee, \
         project, created_at, updated_at, seq, topo) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?12, ?13)",
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
            new.project,
            now,
            seq,
            topo
        ],
    )?;
    for label in new.labels {
        check_text("label", label)?;
        tx.execute(
            "INSERT OR IGNORE INTO labels (item, label) VALUES (?1, ?2)",
            params![id, label],
        )?;
    }
    items::record(
        tx,
        &id,
        now,
        "created",
        json!({"type": new.kind.as_str(), "title": new.title}),
        session,
    )?;
    Ok(id)
}

/// Move an item to `to` (checked against the lifecycle unless forced), stamping the times.
#[allow(clippy::too_many_arguments)]
fn move_to(
    tx: &Transaction<'_>,
    item: &Item,
    to: Status,
    force: bool,
    workflow: Workflow,
    now: &str,
    reason: Option<&str>,
    session: Option<&str>,
) -> anyhow::Result<()> {
    if item.status == to {
        return Ok(());
    }
    if !force {
        model::check_transition(item.status, to, workflow)
            .with_context(|| format!("{} is {}", item.id, item.status))?;
    }
    let blocked_reason = if to == Status::Blocked {
        reason.map(str::to_owned)
    } else {
        None
    };
    tx.execute(
        "UPDATE items SET status = ?2, updated_at = ?3, blocked_reason = ?4, \
         started_at = CASE WHEN ?2 = 'IN_PROGRESS' THEN COALESCE(started_at, ?3) ELSE started_at END, \
         completed_at = CASE WHEN ?2 = 'DONE' THEN ?3 ELSE NULL END, \
         progress = CASE WHEN ?2 = 'DONE' THEN 100 ELSE progress END WHERE id = ?1",
        params![item.id, to.as_str(), now, blocked_reason],
    )?;
    items::status_changed(tx, &item.id, item.status, to)?;
    items::record(
        tx,
        &item.id,
        now,
        "status",
        json!({"from": item.status.as_str(), "to": to.as_str(), "forced": force, "reason": reason}),
        session,
    )
}

fn set(
    tx: &Transaction<'_>,
    id: &str,
    column: &str,
    value: &Option<String>,
    now: &str,
) -> anyhow::Result<()> {
    tx.execute(
        &format!("UPDATE items SET {column} = ?2, updated_at = ?3 WHERE id = ?1"),
        params![id, value, now],
    )?;
    Ok(())
}

fn touch(tx: &Transaction<'_>, id: &str, now: &str) -> anyhow::Result<()> {
    tx.execute(
        "UPDATE items SET updated_at = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}

fn workflow(context: &Context) -> anyhow::Result<Workflow> {
    let tracker = &context.config()?.tracker;
    Ok(Workflow {
        require_review: tracker.require_review,
        require_testing: tracker.require_testing,
    })
}

fn check_text(what: &str, text: &str) -> anyhow::Result<()> {
    if text.trim().is_empty() {
        bail!("the {what} must not be empty");
    }
    Ok(())
}

fn check_estimate(estimate: Option<f64>) -> anyhow::Result<()> {
    if let Some(hours) = estimate
        && !(hours.is_finite() && hours >= 0.0)
    {
        bail!("`--estimate` must be a number of hours, 0 or more, not {hours}");
    }
    Ok(())
}

pub(super) fn query_items(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> anyhow::Result<Vec<Item>> {
    let mut statement = conn.prepare(sql)?;
    let found = statement
        .query_map(params, Item::from_row)?
        .collect::<Result<_, _>>()?;
    Ok(found)
}

fn print_id(out: &mut Output, conn: &Connection, id: &str) -> anyhow::Result<()> {
    if out.json() {
        let item = items::get(conn, id)?;
        let mut value = item.to_json(&items::labels(conn, id)?);
        value["schema_version"] = json!(SCHEMA_VERSION);
        out.json_line(&value)?;
    } else {
        out.line(id)?;
    }
    Ok(())
}

fn print_list(out: &mut Output, conn: &Connection, found: &[Item]) -> anyhow::Result<()> {
    if out.json() {
        let list = found
            .iter()
            .map(|item| Ok(item.to_json(&items::labels(conn, &item.id)?)))
            .collect::<anyhow::Result<Vec<Value>>>()?;
        out.json_line(&Value::Array(list))?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = found
        .iter()
        .map(|item| {
            vec![
                item.id.clone(),
                item.kind.to_string(),
                item.status.to_string(),
                item.priority.to_string(),
                item.assignee.clone().unwrap_or_default(),
                item.title.clone(),
            ]
        })
        .collect();
    out.table(
        &["ID", "TYPE", "STATUS", "PRIORITY", "ASSIGNEE", "TITLE"],
        &rows,
    )?;
    Ok(())
}

fn show(out: &mut Output, conn: &Connection, id: &str) -> anyhow::Result<()> {
    let item = items::get(conn, id)?;
    let labels = items::labels(conn, id)?;
    let deps = items::dependencies(conn, id)?;
    let mut statement = conn
        .prepare("SELECT text, done, at, done_at FROM checkpoints WHERE item = ?1 ORDER BY id")?;
    let checkpoints: Vec<Value> = statement
        .query_map([id], |row| {
            Ok(
                json!({"text": row.get::<_, String>(0)?, "done": row.get::<_, bool>(1)?,
                "at": row.get::<_, String>(2)?, "done_at": row.get::<_, Option<String>>(3)?}),
            )
        })?
        .collect::<Result<_, _>>()?;
    let mut statement = conn.prepare("SELECT id FROM items WHERE parent = ?1 ORDER BY seq")?;
    let children: Vec<String> = statement
        .query_map([id], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    let mut value = item.to_json(&labels);
    value["schema_version"] = json!(SCHEMA_VERSION);
    value["depends_on"] = deps
        .iter()
        .map(|(id, status)| json!({"id": id, "status": status.as_str()}))
        .collect();
    value["checkpoints"] = Value::Array(checkpoints.clone());
    value["children"] = json!(children);
    if out.json() {
        out.json_line(&value)?;
        return Ok(());
    }
    out.line(&format!(
        "{}  {}  {}  {}",
        item.id, item.kind, item.status, item.priority
    ))?;
    out.line(&format!("title:      {}", item.title))?;
    if !item.description.is_empty() {
        out.line(&format!("description: {}", item.description))?;
    }
    if let Some(parent) = &item.parent {
        out.line(&format!("parent:     {parent}"))?;
    }
    out.line(&format!(
        "assignee:   {}",
        item.assignee.as_deref().unwrap_or("-")
    ))?;
    out.line(&format!("progress:   {}%", item.progress))?;
    if let Some(estimate) = item.estimate {
        out.line(&format!("estimate:   {estimate} h"))?;
    }
    if !labels.is_empty() {
        out.line(&format!("labels:     {}", labels.join(", ")))?;
    }
    if let Some(reason) = &item.blocked_reason {
        out.line(&format!("blocked:    {reason}"))?;
    }
    if !deps.is_empty() {
        let list: Vec<String> = deps.iter().map(|(id, s)| format!("{id} ({s})")).collect();
        out.line(&format!("depends on: {}", list.join(", ")))?;
    }
    for checkpoint in &checkpoints {
        let mark = if checkpoint["done"] == true { "x" } else { " " };
        out.line(&format!(
            "[{mark}] {}",
            checkpoint["text"].as_str().unwrap_or_default()
        ))?;
    }
    if !children.is_empty() {
        out.line(&format!("children:   {}", children.join(", ")))?;
    }
    if !item.notes.is_empty() {
        out.line(&format!("notes:      {}", item.notes))?;
    }
    Ok(())
}

fn children(conn: &Connection, id: &str) -> anyhow::Result<Vec<Item>> {
    query_items(
        conn,
        &format!("SELECT {COLUMNS} FROM items WHERE parent = ?1 ORDER BY seq"),
        [id],
    )
}

fn tree(
    conn: &Connection,
    item: &Item,
    depth: usize,
    lines: &mut Vec<String>,
    seen: &mut Vec<String>,
) -> anyhow::Result<()> {
    if seen.contains(&item.id) {
        return Ok(());
    }
    seen.push(item.id.clone());
    let deps = items::dependencies(conn, &item.id)?;
    let waits = if deps.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = deps
            .iter()
            .map(|(id, s)| {
                if *s == Status::Done {
                    format!("{id} ✓")
                } else {
                    format!("{id} ({s})")
                }
            })
            .collect();
        format!("  ← depends on {}", list.join(", "))
    };
    lines.push(format!(
        "{}{} {} [{}] {}{waits}",
        "  ".repeat(depth),
        item.id,
        item.kind,
        item.status,
        item.title
    ));
    for child in children(conn, &item.id)? {
        tree(conn, &child, depth + 1, lines, seen)?;
    }
    Ok(())
}

fn tree_json(conn: &Connection, item: &Item) -> anyhow::Result<Value> {
    let deps = items::dependencies(conn, &item.id)?;
    let kids = children(conn, &item.id)?
        .iter()
        .map(|child| tree_json(conn, child))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(json!({
        "id": item.id, "type": item.kind.as_str(), "status": item.status.as_str(), "title": item.title,
        "depends_on": deps.iter().map(|(id, s)| json!({"id": id, "status": s.as_str()})).collect::<Vec<_>>(),
        "children": kids,
    }))
}
