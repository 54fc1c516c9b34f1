//! `orchestron shared …`: the V2 `shared_state.py` commands, over the tracker. A V2 epic is
//! an EPIC item and a V2 sprint is a sprint, each keeping its V2 id as a key unique within
//! its project; nothing is copied. V2 words map onto the lifecycle as follows:
//!
//! | V2 epic status | tracker status (written) | read back from |
//! | --- | --- | --- |
//! | planned | TODO | BACKLOG, TODO |
//! | in_progress | IN_PROGRESS | IN_PROGRESS, IN_REVIEW, TESTING |
//! | completed | DONE | DONE |
//! | blocked | BLOCKED | BLOCKED |
//! | cancelled | CANCELLED | CANCELLED |
//!
//! V2 priorities 1-5 become CRITICAL, HIGH, MEDIUM, LOW, LOW; the number given is kept in
//! the epic's data so that it reads back as written.

use anyhow::{Context as _, bail};
use rusqlite::{Connection, OptionalExtension as _, params};
use serde_json::{Map, Value, json};

use crate::cli::SharedCommand;
use crate::context::Context;
use crate::output::Output;
use crate::session::format_time;
use crate::tracker::items;
use crate::tracker::model::{Kind, Priority, Status};

const SCHEMA_VERSION: u32 = 1;

fn epic_status(v2: &str) -> Status {
    match v2 {
        "in_progress" => Status::InProgress,
        "completed" => Status::Done,
        "blocked" => Status::Blocked,
        "cancelled" => Status::Cancelled,
        _ => Status::Todo,
    }
}

fn v2_epic_status(status: &str) -> &'static str {
    match status {
        "IN_PROGRESS" | "IN_REVIEW" | "TESTING" => "in_progress",
        "DONE" => "completed",
        "BLOCKED" => "blocked",
        "CANCELLED" => "cancelled",
        _ => "planned",
    }
}

fn object(raw: Option<&str>, option: &str) -> anyhow::Result<Option<Map<String, Value>>> {
    raw.map(|raw| super::parse_object(raw, option)).transpose()
}

pub(super) fn run(
    context: &Context,
    out: &mut Output,
    command: SharedCommand,
) -> anyhow::Result<()> {
    let now = format_time(context.now);
    let session = context.session_hint().map(str::to_owned);
    let check_name = |what: &str, text: &str| -> anyhow::Result<()> {
        if text.trim().is_empty() {
            bail!("the {what} must not be empty");
        }
        Ok(())
    };
    match command {
        SharedCommand::GetConfig { project } => {
            check_name("project", &project)?;
            let mut db = context.tracker()?;
            let value = db.write(|tx| -> anyhow::Result<_> { config(tx, &project, &now) })?;
            out.json_line(&with_version(value))?;
        }
        SharedCommand::SetConfig { project, data } => {
            check_name("project", &project)?;
            let data = super::parse_object(&data, "--data")?;
            let mut db = context.tracker()?;
            let value = db.write(|tx| -> anyhow::Result<_> {
                let mut current = config(tx, &project, &now)?;
                for (key, value) in data {
                    current[key] = value;
                }
                current["updated_at"] = json!(now);
                tx.execute(
                    "UPDATE configs SET data = ?2, updated_at = ?3 WHERE project = ?1",
                    params![project, current.to_string(), now],
                )?;
                Ok(current)
            })?;
            out.json_line(&with_version(value))?;
        }
        SharedCommand::UpdateEpic {
            project,
            epic,
            status,
            title,
            description,
            priority,
            data,
        } => {
            check_name("project", &project)?;
            check_name("epic id", &epic)?;
            let data = object(data.as_deref(), "--data")?;
            let mut db = context.tracker()?;
            let id = db.write(|tx| -> anyhow::Result<_> {
                let existing = find_item(tx, &project, &epic)?;
                let id = match existing {
                    Some(id) => id,
                    None => {
                        let seq: i64 = tx.query_row("SELECT COALESCE(max(seq), 0) + 1 FROM items", [], |row| row.get(0))?;
                        let topo: f64 = tx.query_row("SELECT COALESCE(max(topo), 0) + 1 FROM items", [], |row| row.get(0))?;
                        let id = items::fresh_id(tx, "items", Kind::Epic.as_str(), seq, || context.random_u64())?;
                        tx.execute(
                            "INSERT INTO items (id, kind, title, status, priority, project, created_at, updated_at, seq, topo, v2_key) \
                             VALUES (?1, 'EPIC', ?2, 'TODO', ?3, ?4, ?5, ?5, ?6, ?7, ?8)",
                            params![id, title.as_deref().unwrap_or(&epic), Priority::Medium.rank(), project, now, seq, topo, epic],
                        )?;
                        items::record(tx, &id, &now, "created", json!({"type": "EPIC", "v2_id": epic}), session.as_deref())?;
                        id
                    }
                };
                let mut changes = Map::new();
                if let Some(title) = &title {
                    tx.execute("UPDATE items SET title = ?2 WHERE id = ?1", params![id, title])?;
                    changes.insert("title".into(), json!(title));
                }
                if let Some(description) = &description {
                    tx.execute("UPDATE items SET description = ?2 WHERE id = ?1", params![id, description])?;
                    changes.insert("description".into(), json!(description));
                }
                let mut stored: Map<String, Value> = tx
                    .query_row("SELECT data FROM items WHERE id = ?1", [&id], |row| row.get::<_, String>(0))
                    .map(|text| serde_json::from_str(&text).unwrap_or_default())?;
                if let Some(priority) = priority {
                    tx.execute("UPDATE items SET priority = ?2 WHERE id = ?1", params![id, Priority::from_v2(priority)?.rank()])?;
                    stored.insert("v2_priority".into(), json!(priority));
                    changes.insert("priority".into(), json!(priority));
                }
                if let Some(data) = data {
                    for (key, value) in data {
                        stored.insert(key, value);
                    }
                    changes.insert("data".into(), json!(true));
                }
                tx.execute("UPDATE items SET data = ?2 WHERE id = ?1", params![id, Value::Object(stored).to_string()])?;
                if let Some(status) = &status {
                    // V2 has no lifecycle: its status words are applied as they come.
                    let item = items::get(tx, &id)?;
                    let to = epic_status(status);
                    if item.status != to {
                        tx.execute(
                            "UPDATE items SET status = ?2, started_at = CASE WHEN ?2 = 'IN_PROGRESS' THEN COALESCE(started_at, ?3) ELSE started_at END, \
                             completed_at = CASE WHEN ?2 = 'DONE' THEN ?3 ELSE NULL END WHERE id = ?1",
                            params![id, to.as_str(), now],
                        )?;
                        items::status_changed(tx, &id, item.status, to)?;
                        items::record(tx, &id, &now, "status", json!({"from": item.status.as_str(), "to": to.as_str(), "v2": status}), session.as_deref())?;
                    }
                }
                if !changes.is_empty() {
                    items::record(tx, &id, &now, "updated", Value::Object(changes), session.as_deref())?;
                }
                tx.execute("UPDATE items SET updated_at = ?2 WHERE id = ?1", params![id, now])?;
                Ok(id)
            })?;
            out.json_line(&with_version(epic_json(db.conn(), &id)?))?;
        }
        SharedCommand::GetEpic { project, epic } => {
            let db = context.tracker()?;
            let id = find_item(db.conn(), &project, &epic)?
                .with_context(|| format!("epic `{epic}` not found in project `{project}`"))?;
            out.json_line(&with_version(epic_json(db.conn(), &id)?))?;
        }
        SharedCommand::ListEpics { project, status } => {
            let db = context.tracker()?;
            let conn = db.conn();
            let mut statement = conn.prepare(
                "SELECT id FROM items WHERE kind = 'EPIC' AND project = ?1 ORDER BY seq",
            )?;
            let ids: Vec<String> = statement
                .query_map([&project], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            let mut list = Vec::new();
            for id in ids {
                let epic = epic_json(conn, &id)?;
                if status
                    .as_deref()
                    .is_none_or(|wanted| epic["status"] == wanted)
                {
                    list.push(epic);
                }
            }
            out.json_line(&Value::Array(list))?;
        }
        SharedCommand::CreateSprint {
            project,
            sprint,
            name,
            epic_id,
            data,
        } => {
            check_name("project", &project)?;
            check_name("sprint id", &sprint)?;
            check_name("name", &name)?;
            let data = object(data.as_deref(), "--data")?;
            let mut db = context.tracker()?;
            let id = db.write(|tx| -> anyhow::Result<_> {
                if find_sprint(tx, &project, &sprint)?.is_some() {
                    bail!("sprint `{sprint}` exists already in project `{project}`; `shared update-sprint` changes it");
                }
                let epic = epic_id
                    .as_deref()
                    .map(|epic| {
                        find_item(tx, &project, epic)?.with_context(|| format!("epic `{epic}` not found in project `{project}`"))
                    })
                    .transpose()?;
                let new = super::sprint::NewSprint {
                    name: &name,
                    goal: "",
                    duration: 14,
                    start: None,
                    project: &project,
                    v2_key: Some(&sprint),
                    epic: epic.as_deref(),
                };
                let id = super::sprint::insert(tx, context, &new)?;
                if let Some(data) = data {
                    tx.execute("UPDATE sprints SET data = ?2 WHERE id = ?1", params![id, Value::Object(data).to_string()])?;
                }
                Ok(id)
            })?;
            out.json_line(&with_version(sprint_json(db.conn(), &id)?))?;
        }
        SharedCommand::UpdateSprint {
            project,
            sprint,
            name,
            status,
            epic_id,
            data,
        } => {
            let data = object(data.as_deref(), "--data")?;
            let mut db = context.tracker()?;
            let id = db.write(|tx| -> anyhow::Result<_> {
                let id = find_sprint(tx, &project, &sprint)?
                    .with_context(|| format!("sprint `{sprint}` not found in project `{project}`"))?;
                if let Some(name) = &name {
                    check_name("name", name)?;
                    tx.execute("UPDATE sprints SET name = ?2 WHERE id = ?1", params![id, name])?;
                }
                if let Some(status) = &status {
                    tx.execute(
                        "UPDATE sprints SET status = ?2, \
                         started_at = CASE WHEN ?2 = 'active' THEN COALESCE(started_at, ?3) ELSE started_at END, \
                         start_date = CASE WHEN ?2 = 'active' THEN COALESCE(start_date, substr(?3, 1, 10)) ELSE start_date END, \
                         completed_at = CASE WHEN ?2 = 'completed' THEN ?3 ELSE completed_at END WHERE id = ?1",
                        params![id, status, now],
                    )?;
                }
                if let Some(epic) = &epic_id {
                    let epic = find_item(tx, &project, epic)?.with_context(|| format!("epic `{epic}` not found in project `{project}`"))?;
                    tx.execute("UPDATE sprints SET epic = ?2 WHERE id = ?1", params![id, epic])?;
                }
                if let Some(data) = data {
                    let mut stored: Map<String, Value> = tx
                        .query_row("SELECT data FROM sprints WHERE id = ?1", [&id], |row| row.get::<_, String>(0))
                        .map(|text| serde_json::from_str(&text).unwrap_or_default())?;
                    for (key, value) in data {
                        stored.insert(key, value);
                    }
                    tx.execute("UPDATE sprints SET data = ?2 WHERE id = ?1", params![id, Value::Object(stored).to_string()])?;
                }
                Ok(id)
            })?;
            out.json_line(&with_version(sprint_json(db.conn(), &id)?))?;
        }
        SharedCommand::GetSprint { project, sprint } => {
            let db = context.tracker()?;
            let id = find_sprint(db.conn(), &project, &sprint)?
                .with_context(|| format!("sprint `{sprint}` not found in project `{project}`"))?;
            out.json_line(&with_version(sprint_json(db.conn(), &id)?))?;
        }
        SharedCommand::ListSprints {
            project,
            status,
            epic_id,
        } => {
            let db = context.tracker()?;
            let conn = db.conn();
            let mut statement =
                conn.prepare("SELECT id FROM sprints WHERE project = ?1 ORDER BY seq")?;
            let ids: Vec<String> = statement
                .query_map([&project], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            let mut list = Vec::new();
            for id in ids {
                let sprint = sprint_json(conn, &id)?;
                let status_ok = status
                    .as_deref()
                    .is_none_or(|wanted| sprint["status"] == wanted);
                let epic_ok = epic_id
                    .as_deref()
                    .is_none_or(|wanted| sprint["epic_id"] == wanted);
                if status_ok && epic_ok {
                    list.push(sprint);
                }
            }
            out.json_line(&Value::Array(list))?;
        }
        SharedCommand::RegisterTool {
            name,
            kind,
            version,
            description,
            path,
            dependencies,
            config,
        } => {
            check_name("name", &name)?;
            let dependencies = match dependencies.as_deref() {
                None => json!([]),
                Some(raw) => match super::parse_json(raw, "--dependencies")? {
                    Value::Array(list) => Value::Array(list),
                    _ => bail!("`--dependencies` must be a JSON array such as `[\"bandit\"]`"),
                },
            };
            let config = object(config.as_deref(), "--config")?.map_or(json!({}), Value::Object);
            let mut db = context.tracker()?;
            db.write(|tx| -> anyhow::Result<_> {
                tx.execute(
                    "INSERT INTO tools (name, type, version, description, path, dependencies, config, registered_at, updated_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) ON CONFLICT(name) DO UPDATE SET type = excluded.type, \
                     version = excluded.version, description = excluded.description, path = excluded.path, \
                     dependencies = excluded.dependencies, config = excluded.config, updated_at = excluded.updated_at",
                    params![name, kind, version, description, path, dependencies.to_string(), config.to_string(), now],
                )?;
                Ok(())
            })?;
            out.json_line(&with_version(tool_json(db.conn(), &name)?))?;
        }
        SharedCommand::ListTools { kind } => {
            let db = context.tracker()?;
            let mut statement = db
                .conn()
                .prepare("SELECT name FROM tools WHERE ?1 IS NULL OR type = ?1 ORDER BY name")?;
            let names: Vec<String> = statement
                .query_map([kind], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            let list = names
                .iter()
                .map(|name| tool_json(db.conn(), name))
                .collect::<anyhow::Result<Vec<_>>>()?;
            out.json_line(&Value::Array(list))?;
        }
        SharedCommand::GetTool { name } => {
            let db = context.tracker()?;
            out.json_line(&with_version(tool_json(db.conn(), &name)?))?;
        }
    }
    Ok(())
}

fn with_version(mut value: Value) -> Value {
    value["schema_version"] = json!(SCHEMA_VERSION);
    value
}

/// The project's configuration document, created with defaults when missing.
fn config(tx: &Connection, project: &str, now: &str) -> anyhow::Result<Value> {
    let stored: Option<String> = tx
        .query_row(
            "SELECT data FROM configs WHERE project = ?1",
            [project],
            |row| row.get(0),
        )
        .optional()?;
    if let Some(text) = stored {
        return Ok(serde_json::from_str(&text)?);
    }
    let value = json!({
        "project_id": project,
        "settings": {"default_sprint_length": 14, "velocity_target": null, "team_capacity": null},
        "team": {"leads": [], "members": []},
        "created_at": now,
        "updated_at": now,
    });
    tx.execute(
        "INSERT INTO configs (project, data, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)",
        params![project, value.to_string(), now],
    )?;
    Ok(value)
}

fn find_item(conn: &Connection, project: &str, v2_key: &str) -> anyhow::Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT id FROM items WHERE project = ?1 AND (v2_key = ?2 OR id = ?2) \
             ORDER BY v2_key IS NULL LIMIT 1",
            params![project, v2_key],
            |row| row.get(0),
        )
        .optional()?)
}

fn find_sprint(conn: &Connection, project: &str, v2_key: &str) -> anyhow::Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT id FROM sprints WHERE project = ?1 AND (v2_key = ?2 OR id = ?2) ORDER BY v2_key IS NULL LIMIT 1",
            params![project, v2_key],
            |row| row.get(0),
        )
        .optional()?)
}

fn epic_json(conn: &Connection, id: &str) -> anyhow::Result<Value> {
    let item = items::get(conn, id)?;
    let (v2_key, data): (Option<String>, String) = conn.query_row(
        "SELECT v2_key, data FROM items WHERE id = ?1",
        [id],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    let mut data: Map<String, Value> = serde_json::from_str(&data).unwrap_or_default();
    let priority = data
        .remove("v2_priority")
        .unwrap_or_else(|| json!(item.priority.rank() + 1));
    Ok(json!({
        "epic_id": v2_key.unwrap_or_else(|| item.id.clone()),
        "id": item.id,
        "project_id": item.project,
        "title": item.title,
        "description": item.description,
        "status": v2_epic_status(item.status.as_str()),
        "tracker_status": item.status.as_str(),
        "priority": priority,
        "data": data,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }))
}

fn sprint_json(conn: &Connection, id: &str) -> anyhow::Result<Value> {
    let sprint = conn.query_row(
        &format!(
            "SELECT {} FROM sprints WHERE id = ?1",
            super::sprint::COLUMNS
        ),
        [id],
        super::sprint::sprint_json,
    )?;
    let epic_key: Option<String> = match sprint["epic"].as_str() {
        Some(epic) => conn
            .query_row(
                "SELECT COALESCE(v2_key, id) FROM items WHERE id = ?1",
                [epic],
                |row| row.get(0),
            )
            .optional()?,
        None => None,
    };
    Ok(json!({
        "sprint_id": sprint["v2_id"].as_str().unwrap_or(id),
        "id": id,
        "project_id": sprint["project"],
        "name": sprint["name"],
        "status": sprint["status"],
        "epic_id": epic_key,
        "data": sprint["data"],
        "start_date": sprint["start_date"],
        "created_at": sprint["created_at"],
        "started_at": sprint["started_at"],
        "completed_at": sprint["completed_at"],
    }))
}

fn tool_json(conn: &Connection, name: &str) -> anyhow::Result<Value> {
    conn.query_row(
        "SELECT name, type, version, description, path, dependencies, config, registered_at, updated_at FROM tools WHERE name = ?1",
        [name],
        |row| {
            let list: String = row.get(5)?;
            let config: String = row.get(6)?;
            Ok(json!({
                "name": row.get::<_, String>(0)?,
                "type": row.get::<_, String>(1)?,
                "version": row.get::<_, Option<String>>(2)?,
                "description": row.get::<_, Option<String>>(3)?,
                "path": row.get::<_, Option<String>>(4)?,
                "dependencies": serde_json::from_str::<Value>(&list).unwrap_or_else(|_| json!([])),
                "config": serde_json::from_str::<Value>(&config).unwrap_or_else(|_| json!({})),
                "registered_at": row.get::<_, String>(7)?,
                "updated_at": row.get::<_, String>(8)?,
            }))
        },
    )
    .optional()?
    .with_context(|| format!("tool `{name}` not found"))
}
