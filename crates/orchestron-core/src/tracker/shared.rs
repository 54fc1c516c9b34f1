//! The V2 `shared_state.py` operations over the tracker: project configurations, epics,
//! sprints and the tool registry, returning the records V2 scripts read.
//!
//! A V2 epic is an EPIC item and a V2 sprint is a sprint, each keeping its V2 id as a key
//! unique within its project; nothing is copied. The record's `id` is the V2 id and
//! `tracker_id` the tracker's. V2 words map onto the lifecycle as follows:
//!
//! | V2 epic status | tracker status (written) | read back from |
//! | --- | --- | --- |
//! | planned | TODO | BACKLOG, TODO |
//! | in_progress | IN_PROGRESS | IN_PROGRESS, IN_REVIEW, TESTING |
//! | completed | DONE | DONE |
//! | blocked | BLOCKED | BLOCKED |
//! | cancelled | CANCELLED | CANCELLED |
//!
//! V2 has no lifecycle, so a V2 status word is applied as it comes, but through
//! [`tasks::apply_move`] (as a forced move), so that its side effects are those of every
//! other status change: DONE sets progress 100 and `completed_at`, leaving BLOCKED clears the
//! blocked reason, and the dependents' `open_deps` stay true.
//!
//! V2 priorities 1-5 become CRITICAL, HIGH, MEDIUM, LOW, LOW; the number given is kept in
//! the record's stored `data` so that it reads back as written. `--data` merges its keys into
//! the record, as V2 did: the record's own fields (`title`, `tags`, `goals`, `start_date`, …)
//! take their value from it, and any other key is kept and shown beside them.
//!
//! A stored `data` that does not parse is never replaced: reading it is an internal error
//! that names the record, and so is any write that would have to rewrite it.

use std::str::FromStr;

use jiff::civil::Date;
use rusqlite::{Connection, OptionalExtension as _, Transaction, params};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::items;
use super::model::{Kind, Priority, Status, Via};
use super::tasks::{self, NewItem};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::session::format_time;

/// A V2 epic's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EpicStatus {
    Planned,
    InProgress,
    Completed,
    Blocked,
    Cancelled,
}

impl EpicStatus {
    pub const NAMES: [&'static str; 5] = [
        "planned",
        "in_progress",
        "completed",
        "blocked",
        "cancelled",
    ];

    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// The tracker status a V2 word is written as.
    pub fn tracker_status(self) -> Status {
        match self {
            EpicStatus::Planned => Status::Todo,
            EpicStatus::InProgress => Status::InProgress,
            EpicStatus::Completed => Status::Done,
            EpicStatus::Blocked => Status::Blocked,
            EpicStatus::Cancelled => Status::Cancelled,
        }
    }

    /// The V2 word a tracker status reads back as.
    pub fn of(status: Status) -> EpicStatus {
        match status {
            Status::InProgress | Status::InReview | Status::Testing => EpicStatus::InProgress,
            Status::Done => EpicStatus::Completed,
            Status::Blocked => EpicStatus::Blocked,
            Status::Cancelled => EpicStatus::Cancelled,
            Status::Backlog | Status::Todo => EpicStatus::Planned,
        }
    }
}

impl FromStr for EpicStatus {
    type Err = Error;

    fn from_str(raw: &str) -> Result<EpicStatus> {
        const ALL: [EpicStatus; 5] = [
            EpicStatus::Planned,
            EpicStatus::InProgress,
            EpicStatus::Completed,
            EpicStatus::Blocked,
            EpicStatus::Cancelled,
        ];
        ALL.into_iter()
            .find(|status| status.as_str() == raw)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "`{raw}` is not a V2 epic status; one of: {}",
                    EpicStatus::NAMES.join(", ")
                ))
            })
    }
}

/// The V2 sprint statuses, which are also the tracker's.
pub const SPRINT_STATUSES: [&str; 4] = ["planned", "active", "completed", "cancelled"];

/// The V2 tool types.
pub const TOOL_TYPES: [&str; 5] = ["agent", "command", "hook", "workflow", "library"];

/// A tool's version when none is given, as in V2.
pub const DEFAULT_TOOL_VERSION: &str = "1.0.0";

/// A sprint's length in days when its dates do not say.
const DEFAULT_SPRINT_DAYS: i64 = 14;

/// A V2 epic.
#[derive(Debug, Clone, Serialize)]
pub struct Epic {
    /// The V2 id (the tracker id for an epic made outside `shared`).
    pub id: String,
    pub title: String,
    pub description: String,
    pub status: EpicStatus,
    /// 1 (most urgent) to 5.
    pub priority: u8,
    pub completed_at: Option<String>,
    pub tags: Vec<Value>,
    pub metadata: Map<String, Value>,
    pub created_at: String,
    pub updated_at: String,
    pub tracker_id: String,
    pub tracker_status: Status,
    pub project_id: String,
    /// Other keys given with `--data`, kept as V2 kept them.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A V2 sprint.
#[derive(Debug, Clone, Serialize)]
pub struct Sprint {
    /// The V2 id (the tracker id for a sprint made by `sprint create`).
    pub id: String,
    pub name: String,
    /// The epic's V2 id.
    pub epic_id: Option<String>,
    pub status: String,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub goals: Vec<Value>,
    /// The tracker items in the sprint, in the order they were added.
    pub tasks: Vec<String>,
    pub metadata: Map<String, Value>,
    pub capacity: Option<Value>,
    pub created_at: String,
    pub updated_at: String,
    pub tracker_id: String,
    pub project_id: String,
    pub started_at: Option<String>,
    /// When the tracker's sprint was completed.
    pub completed_at: Option<String>,
    /// Other keys given with `--data`, kept as V2 kept them.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A registered tool.
#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub version: String,
    pub description: String,
    pub path: Option<String>,
    pub dependencies: Value,
    pub config: Value,
    pub registered_at: String,
    pub updated_at: String,
}

/// `update-epic`: create or change an epic by its V2 id.
#[derive(Debug, Clone, Default)]
pub struct EpicChange {
    pub project: String,
    pub epic: String,
    pub status: Option<EpicStatus>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub priority: Option<u8>,
    /// Keys merged into the record, as V2's `--data`.
    pub data: Option<Map<String, Value>>,
}

/// `create-sprint` (which replaces a sprint with the same id) and `update-sprint`.
#[derive(Debug, Clone, Default)]
pub struct SprintChange {
    pub project: String,
    pub sprint: String,
    pub name: Option<String>,
    pub status: Option<String>,
    /// The epic, by V2 id.
    pub epic_id: Option<String>,
    /// Keys merged into the record, as V2's `--data`.
    pub data: Option<Map<String, Value>>,
}

/// `register-tool`.
#[derive(Debug, Clone, Default)]
pub struct NewTool {
    pub name: String,
    pub kind: String,
    pub version: Option<String>,
    pub description: Option<String>,
    pub path: Option<String>,
    pub dependencies: Option<Vec<Value>>,
    pub config: Option<Map<String, Value>>,
}

/// Keys of a record that `--data` may not set: they are the tracker's to keep.
const EPIC_RESERVED: [&str; 7] = [
    "id",
    "created_at",
    "updated_at",
    "completed_at",
    "tracker_id",
    "tracker_status",
    "project_id",
];
const SPRINT_RESERVED: [&str; 8] = [
    "id",
    "tasks",
    "created_at",
    "updated_at",
    "tracker_id",
    "project_id",
    "started_at",
    "completed_at",
];

/// Keys the stored data uses for itself, never shown as extra keys.
const PRIVATE_KEYS: [&str; 2] = ["v2_priority", "updated_at"];

fn check_name(what: &str, text: &str) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::invalid(format!("the {what} must not be empty")));
    }
    Ok(())
}

fn check_priority(priority: u8) -> Result<()> {
    if !(1..=5).contains(&priority) {
        return Err(Error::invalid(format!(
            "the priority must be 1 to 5, not {priority}"
        )));
    }
    Ok(())
}

fn check_reserved(data: &Map<String, Value>, reserved: &[&str]) -> Result<()> {
    if let Some(key) = data
        .keys()
        .find(|key| reserved.contains(&key.as_str()) || PRIVATE_KEYS.contains(&key.as_str()))
    {
        return Err(Error::invalid(format!(
            "`--data` cannot set `{key}`: the tracker keeps it"
        )));
    }
    Ok(())
}

fn string_list(value: &Value, key: &str) -> Result<()> {
    match value {
        Value::Array(list) if list.iter().all(Value::is_string) => Ok(()),
        _ => Err(Error::invalid(format!(
            "`{key}` in `--data` must be a list of strings such as `[\"a\", \"b\"]`"
        ))),
    }
}

fn parse_date(value: &Value, key: &str) -> Result<Option<Date>> {
    match value {
        Value::Null => Ok(None),
        Value::String(raw) => raw.parse::<Date>().map(Some).map_err(|_| {
            Error::invalid(format!(
                "`{key}` in `--data` must be a date such as 2026-01-15, not `{raw}`"
            ))
        }),
        _ => Err(Error::invalid(format!(
            "`{key}` in `--data` must be a date such as 2026-01-15"
        ))),
    }
}

/// Check the keys of an epic's `--data` that are fields of the record.
fn check_epic_data(data: &Map<String, Value>) -> Result<()> {
    check_reserved(data, &EPIC_RESERVED)?;
    for (key, value) in data {
        match key.as_str() {
            "title" => match value.as_str() {
                Some(title) => check_name("title", title)?,
                None => return Err(Error::invalid("`title` in `--data` must be a string")),
            },
            "description" if !value.is_string() => {
                return Err(Error::invalid("`description` in `--data` must be a string"));
            }
            "priority" => match value.as_u64() {
                Some(level) if (1..=5).contains(&level) => {}
                _ => {
                    return Err(Error::invalid(
                        "`priority` in `--data` must be a number from 1 to 5",
                    ));
                }
            },
            "status" => {
                value
                    .as_str()
                    .ok_or_else(|| Error::invalid("`status` in `--data` must be a string"))?
                    .parse::<EpicStatus>()?;
            }
            "tags" => string_list(value, "tags")?,
            "metadata" if !value.is_object() => {
                return Err(Error::invalid(
                    "`metadata` in `--data` must be a JSON object",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Check the keys of a sprint's `--data` that are fields of the record.
fn check_sprint_data(data: &Map<String, Value>) -> Result<()> {
    check_reserved(data, &SPRINT_RESERVED)?;
    for (key, value) in data {
        match key.as_str() {
            "name" => match value.as_str() {
                Some(name) => check_name("name", name)?,
                None => return Err(Error::invalid("`name` in `--data` must be a string")),
            },
            "status" => check_sprint_status(value.as_str().unwrap_or("a non-string"))?,
            "start_date" | "end_date" => {
                parse_date(value, key)?;
            }
            "goals" => string_list(value, "goals")?,
            "capacity" if !(value.is_null() || value.as_f64().is_some_and(|n| n >= 0.0)) => {
                return Err(Error::invalid(
                    "`capacity` in `--data` must be a number of 0 or more",
                ));
            }
            "metadata" if !value.is_object() => {
                return Err(Error::invalid(
                    "`metadata` in `--data` must be a JSON object",
                ));
            }
            "epic_id" if !(value.is_null() || value.is_string()) => {
                return Err(Error::invalid("`epic_id` in `--data` must be a string"));
            }
            _ => {}
        }
    }
    // Both dates given: the sprint's length follows from them, so it is checked here.
    if let (Some(start), Some(end)) = (data.get("start_date"), data.get("end_date"))
        && let (Some(start), Some(end)) = (
            parse_date(start, "start_date")?,
            parse_date(end, "end_date")?,
        )
    {
        duration_of(start, end)?;
    }
    Ok(())
}

fn check_sprint_status(status: &str) -> Result<()> {
    if !SPRINT_STATUSES.contains(&status) {
        return Err(Error::invalid(format!(
            "`{status}` is not a sprint status; one of: {}",
            SPRINT_STATUSES.join(", ")
        )));
    }
    Ok(())
}

/// A sprint's length in days from its dates: the end minus the start, 1 to 366.
fn duration_of(start: Date, end: Date) -> Result<i64> {
    let days = i64::from(
        start
            .until(end)
            .map_err(|err| Error::invalid(err.to_string()))?
            .get_days(),
    );
    if !(1..=366).contains(&days) {
        return Err(Error::invalid(format!(
            "a sprint from {start} to {end} would last {days} days; 1 to 366"
        )));
    }
    Ok(days)
}

/// A stored JSON object, or an internal error naming the record: never an empty one in its
/// place, which a write would then store over the data.
fn stored_object(text: &str, record: &str) -> Result<Map<String, Value>> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(damaged(record, "it is not a JSON object")),
        Err(err) => Err(damaged(record, &err.to_string())),
    }
}

fn stored_value(text: &str, record: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|err| damaged(record, &err.to_string()))
}

fn damaged(record: &str, why: &str) -> Error {
    Error::internal(format!("the stored data of {record} does not parse: {why}")).with_hint(
        "repair it with `sqlite3` (or restore the tracker from an export); \
         orchestron will not overwrite it",
    )
}

// ---------------------------------------------------------------------------------------
// Project configurations

/// A project's configuration, created as V2 did when missing.
pub fn get_config(cx: &Context, project: &str) -> Result<Value> {
    check_name("project", project)?;
    let now = format_time(cx.now());
    let mut db = cx.tracker()?;
    db.write(|tx| config(tx, project, &now))
}

/// Merge `data`'s top-level keys into a project's configuration.
pub fn set_config(cx: &Context, project: &str, data: &Map<String, Value>) -> Result<Value> {
    check_name("project", project)?;
    let now = format_time(cx.now());
    let mut db = cx.tracker()?;
    db.write(|tx| {
        let Value::Object(mut current) = config(tx, project, &now)? else {
            unreachable!("a configuration is an object")
        };
        for (key, value) in data {
            current.insert(key.clone(), value.clone());
        }
        current.insert("updated_at".into(), json!(now));
        let current = Value::Object(current);
        tx.execute(
            "UPDATE configs SET data = ?2, updated_at = ?3 WHERE project = ?1",
            params![project, current.to_string(), now],
        )?;
        Ok(current)
    })
}

fn config(tx: &Connection, project: &str, now: &str) -> Result<Value> {
    let stored: Option<String> = tx
        .query_row(
            "SELECT data FROM configs WHERE project = ?1",
            [project],
            |row| row.get(0),
        )
        .optional()?;
    if let Some(text) = stored {
        return Ok(Value::Object(stored_object(
            &text,
            &format!("the configuration of project `{project}`"),
        )?));
    }
    let value = json!({
        "project_id": project,
        "created_at": now,
        "settings": {},
        "team": {},
        "environments": {},
        "metadata": {},
    });
    tx.execute(
        "INSERT INTO configs (project, data, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)",
        params![project, value.to_string(), now],
    )?;
    Ok(value)
}

// ---------------------------------------------------------------------------------------
// Epics

/// Create an epic (titled `Epic <id>` unless a title is given) or change one.
pub fn update_epic(cx: &Context, change: &EpicChange) -> Result<Epic> {
    check_name("project", &change.project)?;
    check_name("epic id", &change.epic)?;
    if let Some(title) = &change.title {
        check_name("title", title)?;
    }
    if let Some(priority) = change.priority {
        check_priority(priority)?;
    }
    if let Some(data) = &change.data {
        check_epic_data(data)?;
    }
    // `--data` is merged after the options, as V2 merged it.
    let mut fields = Map::new();
    if let Some(title) = &change.title {
        fields.insert("title".into(), json!(title));
    }
    if let Some(description) = &change.description {
        fields.insert("description".into(), json!(description));
    }
    if let Some(priority) = change.priority {
        fields.insert("priority".into(), json!(priority));
    }
    if let Some(data) = &change.data {
        fields.extend(data.clone());
    }
    let status = match fields.remove("status") {
        Some(Value::String(word)) => Some(word.parse::<EpicStatus>()?),
        _ => change.status,
    };
    let project = change.project.as_str();
    let now = format_time(cx.now());
    let actor = cx.actor();
    let workflow = cx.workflow();
    let mut db = cx.tracker()?;
    let id = db.write(|tx| -> Result<String> {
        let id = match find_epic(tx, project, &change.epic)? {
            Some(id) => id,
            None => {
                let title = fields
                    .get("title")
                    .and_then(Value::as_str)
                    .map_or_else(|| format!("Epic {}", change.epic), str::to_owned);
                let new = NewItem {
                    kind: Kind::Epic,
                    title,
                    description: String::new(),
                    status: Status::Todo,
                    priority: Priority::Medium,
                    estimate: None,
                    assignee: None,
                    labels: Vec::new(),
                    files: Vec::new(),
                    parent: None,
                };
                let id = tasks::insert(tx, cx, &new, None, &now)?;
                tx.execute(
                    "UPDATE items SET project = ?2, v2_key = ?3 WHERE id = ?1",
                    params![id, project, change.epic],
                )?;
                id
            }
        };
        let record = format!("epic `{}` of project `{project}`", change.epic);
        let text: String = tx.query_row("SELECT data FROM items WHERE id = ?1", [&id], |row| {
            row.get(0)
        })?;
        let mut stored = stored_object(&text, &record)?;
        let mut recorded = Map::new();
        for (key, value) in &fields {
            match key.as_str() {
                "title" | "description" => {
                    tx.execute(
                        &format!("UPDATE items SET {key} = ?2 WHERE id = ?1"),
                        params![id, value.as_str()],
                    )?;
                }
                "priority" => {
                    let level = value.as_u64().unwrap_or(3) as u8;
                    let rank = Priority::from_v2(level).map_err(Error::from)?.rank();
                    tx.execute(
                        "UPDATE items SET priority = ?2 WHERE id = ?1",
                        params![id, rank],
                    )?;
                    stored.insert("v2_priority".into(), json!(level));
                }
                _ => {
                    stored.insert(key.clone(), value.clone());
                }
            }
            recorded.insert(key.clone(), value.clone());
        }
        tx.execute(
            "UPDATE items SET data = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, Value::Object(stored).to_string(), now],
        )?;
        if let Some(status) = status {
            let item = items::get(tx, &id)?;
            if EpicStatus::of(item.status) != status {
                tasks::apply_move(
                    tx,
                    &item,
                    status.tracker_status(),
                    Via::Force,
                    workflow,
                    None,
                    &now,
                    actor,
                )?;
            }
        }
        if !recorded.is_empty() {
            items::record(tx, &id, &now, "updated", Value::Object(recorded), actor)?;
        }
        Ok(id)
    })?;
    epic(db.conn(), &id)
}

/// One epic by its V2 id (or tracker id).
pub fn get_epic(cx: &Context, project: &str, epic_key: &str) -> Result<Epic> {
    let db = cx.tracker_for_reads()?;
    let id = find_epic(db.conn(), project, epic_key)?
        .ok_or_else(|| epic_not_found(project, epic_key))?;
    epic(db.conn(), &id)
}

/// A project's epics, by V2 priority (1 first), then creation.
pub fn list_epics(cx: &Context, project: &str, status: Option<EpicStatus>) -> Result<Vec<Epic>> {
    let db = cx.tracker_for_reads()?;
    let conn = db.conn();
    let mut statement =
        conn.prepare("SELECT id FROM items WHERE kind = 'EPIC' AND project = ?1 ORDER BY seq")?;
    let ids: Vec<String> = statement
        .query_map([project], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    let mut list = Vec::new();
    for id in ids {
        let epic = epic(conn, &id)?;
        if status.is_none_or(|wanted| epic.status == wanted) {
            list.push(epic);
        }
    }
    list.sort_by(|a, b| (a.priority, &a.created_at).cmp(&(b.priority, &b.created_at)));
    Ok(list)
}

fn epic_not_found(project: &str, epic: &str) -> Error {
    Error::not_found(format!("epic `{epic}` not found in project `{project}`")).with_hint(format!(
        "`orchestron shared list-epics {project}` lists the project's epics"
    ))
}

fn find_epic(conn: &Connection, project: &str, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT id FROM items WHERE kind = 'EPIC' AND project = ?1 AND (v2_key = ?2 OR id = ?2) \
             ORDER BY v2_key IS NULL LIMIT 1",
            params![project, key],
            |row| row.get(0),
        )
        .optional()?)
}

fn epic(conn: &Connection, id: &str) -> Result<Epic> {
    let item = items::get(conn, id)?;
    let (v2_key, text): (Option<String>, String) = conn.query_row(
        "SELECT v2_key, data FROM items WHERE id = ?1",
        [id],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    let key = v2_key.unwrap_or_else(|| item.id.clone());
    let mut data = stored_object(
        &text,
        &format!("epic `{key}` (`{}`) of project `{}`", item.id, item.project),
    )?;
    let priority = data
        .get("v2_priority")
        .and_then(Value::as_u64)
        .map_or(item.priority.rank() as u8 + 1, |level| level as u8);
    let tags = match data.remove("tags") {
        Some(Value::Array(tags)) => tags,
        _ => Vec::new(),
    };
    let metadata = match data.remove("metadata") {
        Some(Value::Object(metadata)) => metadata,
        _ => Map::new(),
    };
    let own = [
        "title",
        "description",
        "status",
        "priority",
        "tags",
        "metadata",
    ];
    data.retain(|key, _| {
        !own.contains(&key.as_str())
            && !EPIC_RESERVED.contains(&key.as_str())
            && !PRIVATE_KEYS.contains(&key.as_str())
    });
    Ok(Epic {
        id: key,
        title: item.title,
        description: item.description,
        status: EpicStatus::of(item.status),
        priority,
        completed_at: item.completed_at,
        tags,
        metadata,
        created_at: item.created_at,
        updated_at: item.updated_at,
        tracker_id: item.id,
        tracker_status: item.status,
        project_id: item.project,
        extra: data,
    })
}

// ---------------------------------------------------------------------------------------
// Sprints

/// Create a sprint with a V2 id; one with the same id is replaced, as V2 replaced it (it
/// keeps its tracker id and its items).
pub fn create_sprint(cx: &Context, change: &SprintChange) -> Result<Sprint> {
    check_name("project", &change.project)?;
    check_name("sprint id", &change.sprint)?;
    let name = change.name.as_deref().unwrap_or_default();
    check_name("name", name)?;
    if let Some(status) = &change.status {
        check_sprint_status(status)?;
    }
    let data = change.data.clone().unwrap_or_default();
    check_sprint_data(&data)?;
    let project = change.project.as_str();
    let now = format_time(cx.now());
    let mut db = cx.tracker()?;
    let id = db.write(|tx| -> Result<String> {
        let epic = change
            .epic_id
            .as_deref()
            .map(|key| find_epic(tx, project, key)?.ok_or_else(|| epic_not_found(project, key)))
            .transpose()?;
        let id = match find_sprint(tx, project, &change.sprint)? {
            Some(id) => {
                // Refuse to replace what cannot be read: it may hold what the person needs.
                let text: String =
                    tx.query_row("SELECT data FROM sprints WHERE id = ?1", [&id], |row| {
                        row.get(0)
                    })?;
                stored_object(&text, &sprint_record(&change.sprint, &id, project))?;
                tx.execute(
                    "UPDATE sprints SET name = ?2, goal = '', status = 'planned', start_date = NULL, \
                     duration_days = ?3, epic = ?4, data = '{}', created_at = ?5, started_at = NULL, \
                     completed_at = NULL WHERE id = ?1",
                    params![id, name, DEFAULT_SPRINT_DAYS, epic, now],
                )?;
                id
            }
            None => {
                let seq: i64 =
                    tx.query_row("SELECT COALESCE(max(seq), 0) + 1 FROM sprints", [], |row| {
                        row.get(0)
                    })?;
                let id = items::fresh_id(tx, "sprints", "SPRINT", seq, || cx.random_u64())?;
                tx.execute(
                    "INSERT INTO sprints (id, name, goal, status, project, duration_days, epic, \
                     v2_key, created_at, seq) VALUES (?1, ?2, '', 'planned', ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![id, name, project, DEFAULT_SPRINT_DAYS, epic, change.sprint, now, seq],
                )?;
                id
            }
        };
        let mut data = data.clone();
        if let Some(status) = &change.status {
            data.entry("status").or_insert_with(|| json!(status));
        }
        apply_sprint_data(tx, &id, &data, Map::new(), &now)?;
        Ok(id)
    })?;
    sprint(db.conn(), &id)
}

/// Change a sprint by its V2 id (or tracker id): its name, status, epic, and `--data` keys.
pub fn update_sprint(cx: &Context, change: &SprintChange) -> Result<Sprint> {
    check_name("project", &change.project)?;
    check_name("sprint id", &change.sprint)?;
    if let Some(name) = &change.name {
        check_name("name", name)?;
    }
    if let Some(status) = &change.status {
        check_sprint_status(status)?;
    }
    let mut data = Map::new();
    if let Some(name) = &change.name {
        data.insert("name".into(), json!(name));
    }
    if let Some(status) = &change.status {
        data.insert("status".into(), json!(status));
    }
    if let Some(extra) = &change.data {
        check_sprint_data(extra)?;
        data.extend(extra.clone());
    }
    let project = change.project.as_str();
    let now = format_time(cx.now());
    let mut db = cx.tracker()?;
    let id = db.write(|tx| -> Result<String> {
        let id = find_sprint(tx, project, &change.sprint)?
            .ok_or_else(|| sprint_not_found(project, &change.sprint))?;
        if let Some(key) = &change.epic_id {
            let epic = find_epic(tx, project, key)?.ok_or_else(|| epic_not_found(project, key))?;
            tx.execute(
                "UPDATE sprints SET epic = ?2 WHERE id = ?1",
                params![id, epic],
            )?;
        }
        let text: String =
            tx.query_row("SELECT data FROM sprints WHERE id = ?1", [&id], |row| {
                row.get(0)
            })?;
        let stored = stored_object(&text, &sprint_record(&change.sprint, &id, project))?;
        apply_sprint_data(tx, &id, &data, stored, &now)?;
        Ok(id)
    })?;
    sprint(db.conn(), &id)
}

/// Write a sprint's `--data` keys (checked) over `stored`: its fields go to their columns,
/// the rest to its stored data.
fn apply_sprint_data(
    tx: &Transaction<'_>,
    id: &str,
    data: &Map<String, Value>,
    mut stored: Map<String, Value>,
    now: &str,
) -> Result<()> {
    let (start, duration): (Option<String>, i64) = tx.query_row(
        "SELECT start_date, duration_days FROM sprints WHERE id = ?1",
        [id],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    let mut start = start.and_then(|raw| raw.parse::<Date>().ok());
    let mut end = start.and_then(|start| start.checked_add(jiff::Span::new().days(duration)).ok());
    let mut dates_changed = false;
    for (key, value) in data {
        match key.as_str() {
            "name" => {
                tx.execute(
                    "UPDATE sprints SET name = ?2 WHERE id = ?1",
                    params![id, value.as_str()],
                )?;
            }
            "status" => {
                tx.execute(
                    "UPDATE sprints SET status = ?2, \
                     started_at = CASE WHEN ?2 = 'active' THEN COALESCE(started_at, ?3) ELSE started_at END, \
                     completed_at = CASE WHEN ?2 = 'completed' THEN COALESCE(completed_at, ?3) ELSE NULL END \
                     WHERE id = ?1",
                    params![id, value.as_str(), now],
                )?;
            }
            "start_date" => {
                start = parse_date(value, key)?;
                dates_changed = true;
            }
            "end_date" => {
                end = parse_date(value, key)?;
                dates_changed = true;
            }
            "goals" => {
                let goals: Vec<&str> = value
                    .as_array()
                    .map(|list| list.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                tx.execute(
                    "UPDATE sprints SET goal = ?2 WHERE id = ?1",
                    params![id, goals.join("; ")],
                )?;
                stored.insert(key.clone(), value.clone());
            }
            "epic_id" => {
                // Named in `--data` as V2 allowed; the epic is looked up like `--epic-id`.
                let project: String =
                    tx.query_row("SELECT project FROM sprints WHERE id = ?1", [id], |row| {
                        row.get(0)
                    })?;
                let epic = match value.as_str() {
                    Some(key) => Some(
                        find_epic(tx, &project, key)?
                            .ok_or_else(|| epic_not_found(&project, key))?,
                    ),
                    None => None,
                };
                tx.execute(
                    "UPDATE sprints SET epic = ?2 WHERE id = ?1",
                    params![id, epic],
                )?;
            }
            _ => {
                stored.insert(key.clone(), value.clone());
            }
        }
    }
    if dates_changed {
        // The tracker keeps a start and a length; an end without a start is kept as given.
        stored.remove("end_date");
        let duration = match (start, end) {
            (Some(start), Some(end)) => duration_of(start, end)?,
            (None, Some(end)) => {
                stored.insert("end_date".into(), json!(end.to_string()));
                duration
            }
            _ => duration,
        };
        tx.execute(
            "UPDATE sprints SET start_date = ?2, duration_days = ?3 WHERE id = ?1",
            params![id, start.map(|d| d.to_string()), duration],
        )?;
    }
    stored.insert("updated_at".into(), json!(now));
    tx.execute(
        "UPDATE sprints SET data = ?2 WHERE id = ?1",
        params![id, Value::Object(stored).to_string()],
    )?;
    Ok(())
}

/// One sprint by its V2 id (or tracker id).
pub fn get_sprint(cx: &Context, project: &str, sprint_key: &str) -> Result<Sprint> {
    let db = cx.tracker_for_reads()?;
    let id = find_sprint(db.conn(), project, sprint_key)?
        .ok_or_else(|| sprint_not_found(project, sprint_key))?;
    sprint(db.conn(), &id)
}

/// A project's sprints, newest first.
pub fn list_sprints(
    cx: &Context,
    project: &str,
    status: Option<&str>,
    epic_id: Option<&str>,
) -> Result<Vec<Sprint>> {
    if let Some(status) = status {
        check_sprint_status(status)?;
    }
    let db = cx.tracker_for_reads()?;
    let conn = db.conn();
    let mut statement = conn
        .prepare("SELECT id FROM sprints WHERE project = ?1 ORDER BY created_at DESC, seq DESC")?;
    let ids: Vec<String> = statement
        .query_map([project], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    let mut list = Vec::new();
    for id in ids {
        let sprint = sprint(conn, &id)?;
        if status.is_none_or(|wanted| sprint.status == wanted)
            && epic_id.is_none_or(|wanted| sprint.epic_id.as_deref() == Some(wanted))
        {
            list.push(sprint);
        }
    }
    Ok(list)
}

fn sprint_not_found(project: &str, sprint: &str) -> Error {
    Error::not_found(format!(
        "sprint `{sprint}` not found in project `{project}`"
    ))
    .with_hint(format!(
        "`orchestron shared list-sprints {project}` lists the project's sprints"
    ))
}

fn sprint_record(key: &str, id: &str, project: &str) -> String {
    format!("sprint `{key}` (`{id}`) of project `{project}`")
}

fn find_sprint(conn: &Connection, project: &str, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT id FROM sprints WHERE project = ?1 AND (v2_key = ?2 OR id = ?2) \
             ORDER BY v2_key IS NULL LIMIT 1",
            params![project, key],
            |row| row.get(0),
        )
        .optional()?)
}

fn sprint(conn: &Connection, id: &str) -> Result<Sprint> {
    #[allow(clippy::type_complexity)]
    let (name, status, project, start, duration, epic, v2_key, text, created, started, completed): (
        String,
        String,
        String,
        Option<String>,
        i64,
        Option<String>,
        Option<String>,
        String,
        String,
        Option<String>,
        Option<String>,
    ) = conn.query_row(
        "SELECT name, status, project, start_date, duration_days, epic, v2_key, data, created_at, \
         started_at, completed_at FROM sprints WHERE id = ?1",
        [id],
        |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
                row.get(6)?,
                row.get(7)?,
                row.get(8)?,
                row.get(9)?,
                row.get(10)?,
            ))
        },
    )?;
    let key = v2_key.unwrap_or_else(|| id.to_owned());
    let mut data = stored_object(&text, &sprint_record(&key, id, &project))?;
    let epic_id: Option<String> = match epic {
        Some(epic) => conn
            .query_row(
                "SELECT COALESCE(v2_key, id) FROM items WHERE id = ?1",
                [&epic],
                |row| row.get(0),
            )
            .optional()?,
        None => None,
    };
    let end_date = start
        .as_deref()
        .and_then(|raw| raw.parse::<Date>().ok())
        .and_then(|start| start.checked_add(jiff::Span::new().days(duration)).ok())
        .map(|end| end.to_string())
        .or_else(|| {
            data.get("end_date")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
    let mut statement =
        conn.prepare("SELECT item FROM sprint_items WHERE sprint = ?1 ORDER BY added_at, item")?;
    let tasks: Vec<String> = statement
        .query_map([id], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    let updated_at = data
        .get("updated_at")
        .and_then(Value::as_str)
        .map_or_else(|| created.clone(), str::to_owned);
    let goals = match data.remove("goals") {
        Some(Value::Array(goals)) => goals,
        _ => Vec::new(),
    };
    let metadata = match data.remove("metadata") {
        Some(Value::Object(metadata)) => metadata,
        _ => Map::new(),
    };
    let capacity = data.remove("capacity").filter(|value| !value.is_null());
    let own = [
        "name",
        "epic_id",
        "status",
        "start_date",
        "end_date",
        "goals",
        "metadata",
        "capacity",
    ];
    data.retain(|key, _| {
        !own.contains(&key.as_str())
            && !SPRINT_RESERVED.contains(&key.as_str())
            && !PRIVATE_KEYS.contains(&key.as_str())
    });
    Ok(Sprint {
        id: key,
        name,
        epic_id,
        status,
        start_date: start,
        end_date,
        goals,
        tasks,
        metadata,
        capacity,
        created_at: created,
        updated_at,
        tracker_id: id.to_owned(),
        project_id: project,
        started_at: started,
        completed_at: completed,
        extra: data,
    })
}

// ---------------------------------------------------------------------------------------
// Tools

/// Register a tool, or update it (keeping its first registration time).
pub fn register_tool(cx: &Context, new: &NewTool) -> Result<Tool> {
    check_name("name", &new.name)?;
    if !TOOL_TYPES.contains(&new.kind.as_str()) {
        return Err(Error::invalid(format!(
            "`{}` is not a tool type; one of: {}",
            new.kind,
            TOOL_TYPES.join(", ")
        )));
    }
    let dependencies = Value::Array(new.dependencies.clone().unwrap_or_default());
    string_list(&dependencies, "dependencies").map_err(|_| {
        Error::invalid("`--dependencies` must be a JSON array of strings such as `[\"bandit\"]`")
    })?;
    let config = Value::Object(new.config.clone().unwrap_or_default());
    let version = new.version.as_deref().unwrap_or(DEFAULT_TOOL_VERSION);
    let now = format_time(cx.now());
    let mut db = cx.tracker()?;
    db.write(|tx| -> Result<()> {
        tx.execute(
            "INSERT INTO tools (name, type, version, description, path, dependencies, config, registered_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) ON CONFLICT(name) DO UPDATE SET type = excluded.type, \
             version = excluded.version, description = excluded.description, path = excluded.path, \
             dependencies = excluded.dependencies, config = excluded.config, updated_at = excluded.updated_at",
            params![
                new.name,
                new.kind,
                version,
                new.description.as_deref().unwrap_or_default(),
                new.path,
                dependencies.to_string(),
                config.to_string(),
                now
            ],
        )?;
        Ok(())
    })?;
    tool(db.conn(), &new.name)?.ok_or_else(|| tool_not_found(&new.name))
}

/// The registered tools, by type then name.
pub fn list_tools(cx: &Context, kind: Option<&str>) -> Result<Vec<Tool>> {
    let db = cx.tracker_for_reads()?;
    let mut statement = db
        .conn()
        .prepare("SELECT name FROM tools WHERE ?1 IS NULL OR type = ?1 ORDER BY type, name")?;
    let names: Vec<String> = statement
        .query_map([kind], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    names
        .iter()
        .map(|name| tool(db.conn(), name)?.ok_or_else(|| tool_not_found(name)))
        .collect()
}

/// One registered tool.
pub fn get_tool(cx: &Context, name: &str) -> Result<Tool> {
    let db = cx.tracker_for_reads()?;
    tool(db.conn(), name)?.ok_or_else(|| tool_not_found(name))
}

fn tool_not_found(name: &str) -> Error {
    Error::not_found(format!("tool `{name}` not found"))
        .with_hint("`orchestron shared list-tools` lists the registered tools")
}

fn tool(conn: &Connection, name: &str) -> Result<Option<Tool>> {
    let row = conn
        .query_row(
            "SELECT name, type, version, description, path, dependencies, config, registered_at, \
             updated_at FROM tools WHERE name = ?1",
            [name],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, Option<String>>(2)?,
                    row.get::<_, Option<String>>(3)?,
                    row.get::<_, Option<String>>(4)?,
                    row.get::<_, String>(5)?,
                    row.get::<_, String>(6)?,
                    row.get::<_, String>(7)?,
                    row.get::<_, String>(8)?,
                ))
            },
        )
        .optional()?;
    let Some((name, kind, version, description, path, dependencies, config, registered, updated)) =
        row
    else {
        return Ok(None);
    };
    let record = format!("tool `{name}`");
    Ok(Some(Tool {
        dependencies: stored_value(&dependencies, &record)?,
        config: stored_value(&config, &record)?,
        name,
        kind,
        version: version.unwrap_or_else(|| DEFAULT_TOOL_VERSION.to_owned()),
        description: description.unwrap_or_default(),
        path,
        registered_at: registered,
        updated_at: updated,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_epic_status_reads_back_as_written() {
        for name in EpicStatus::NAMES {
            let status: EpicStatus = name.parse().unwrap();
            assert_eq!(status.as_str(), name);
            assert_eq!(EpicStatus::of(status.tracker_status()), status);
        }
        assert!("done".parse::<EpicStatus>().is_err());
    }

    #[test]
    fn a_stored_value_that_does_not_parse_is_an_internal_error_naming_the_record() {
        let err = stored_object("{not json", "epic `x`").unwrap_err();
        assert_eq!(err.kind(), crate::error::ErrorKind::Internal);
        assert!(err.message().contains("epic `x`"), "{}", err.message());
        assert!(stored_object("[1]", "epic `x`").is_err());
        assert_eq!(stored_object("{}", "epic `x`").unwrap(), Map::new());
    }

    #[test]
    fn sprint_dates_give_its_length() {
        let day = |raw: &str| raw.parse::<Date>().unwrap();
        assert_eq!(
            duration_of(day("2024-01-15"), day("2024-01-29")).unwrap(),
            14
        );
        assert!(duration_of(day("2024-01-15"), day("2024-01-15")).is_err());
        assert!(duration_of(day("2024-01-15"), day("2024-01-01")).is_err());
    }
}
