//! `orchestron export` and `orchestron import`: the whole tracker as JSON lines, one object
//! per line in a stable order, and back in one transaction.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::path::Path;

use anyhow::{Context as _, bail};
use rusqlite::{OptionalExtension as _, Transaction, params};
use serde_json::{Value, json};

use crate::context::Context;
use crate::output::Output;
use crate::tracker::items::{COLUMNS, Item};
use crate::tracker::model::{Kind, Priority, Status};

/// The version of the line format.
const FORMAT_VERSION: u32 = 1;

/// `orchestron export [--format jsonl]`.
pub(super) fn export(context: &Context, out: &mut Output, format: &str) -> anyhow::Result<()> {
    if format != "jsonl" {
        bail!("unknown format `{format}`; the one format is `jsonl`");
    }
    let db = context.tracker()?;
    let conn = db.conn();
    let mut line = |value: Value| -> anyhow::Result<()> {
        out.line(&value.to_string())?;
        Ok(())
    };
    line(json!({"type": "orchestron-export", "version": FORMAT_VERSION}))?;
    let mut statement = conn.prepare(&format!(
        "SELECT {COLUMNS}, seq, v2_key, data FROM items ORDER BY seq"
    ))?;
    let mut rows = statement.query([])?;
    let mut labels = conn.prepare("SELECT label FROM labels WHERE item = ?1 ORDER BY label")?;
    while let Some(row) = rows.next()? {
        let item = Item::from_row(row)?;
        let seq: i64 = row.get(18)?;
        let item_labels: Vec<String> = labels
            .query_map([&item.id], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        let mut value = item.to_json(&item_labels);
        value["type"] = json!("item");
        value["kind"] = json!(item.kind.as_str());
        value["seq"] = json!(seq);
        let v2_key: Option<String> = row.get(19)?;
        let data: String = row.get(20)?;
        if let Some(v2_key) = v2_key {
            value["v2_id"] = json!(v2_key);
        }
        let data: Value = serde_json::from_str(&data).unwrap_or_else(|_| json!({}));
        if data.as_object().is_some_and(|data| !data.is_empty()) {
            value["data"] = data;
        }
        line(value)?;
    }
    let mut statement =
        conn.prepare("SELECT item, depends_on FROM deps ORDER BY item, depends_on")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let (item, on): (String, String) = (row.get(0)?, row.get(1)?);
        line(json!({"type": "dependency", "item": item, "depends_on": on}))?;
    }
    let mut statement =
        conn.prepare("SELECT item, text, done, at, done_at FROM checkpoints ORDER BY id")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        line(
            json!({"type": "checkpoint", "item": row.get::<_, String>(0)?,
            "text": row.get::<_, String>(1)?, "done": row.get::<_, bool>(2)?,
            "at": row.get::<_, String>(3)?, "done_at": row.get::<_, Option<String>>(4)?}),
        )?;
    }
    let mut statement =
        conn.prepare("SELECT item, kind, text, at, by FROM comments ORDER BY id")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        line(json!({"type": "comment", "item": row.get::<_, String>(0)?,
            "kind": row.get::<_, String>(1)?, "text": row.get::<_, String>(2)?,
            "at": row.get::<_, String>(3)?, "by": row.get::<_, Option<String>>(4)?}))?;
    }
    let mut statement =
        conn.prepare("SELECT item, at, what, detail, session FROM events ORDER BY id")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let detail: Option<String> = row.get(3)?;
        let detail = detail
            .and_then(|text| serde_json::from_str::<Value>(&text).ok())
            .unwrap_or(Value::Null);
        line(json!({"type": "event", "item": row.get::<_, String>(0)?,
            "at": row.get::<_, String>(1)?, "what": row.get::<_, String>(2)?,
            "detail": detail, "session": row.get::<_, Option<String>>(4)?}))?;
    }
    let mut statement = conn.prepare(&format!(
        "SELECT {} FROM sprints ORDER BY seq",
        super::sprint::COLUMNS
    ))?;
    let sprints: Vec<Value> = statement
        .query_map([], super::sprint::sprint_json)?
        .collect::<Result<_, _>>()?;
    for mut sprint in sprints {
        sprint["type"] = json!("sprint");
        line(sprint)?;
    }
    let mut statement =
        conn.prepare("SELECT sprint, item, added_at FROM sprint_items ORDER BY sprint, item")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        line(
            json!({"type": "sprint_item", "sprint": row.get::<_, String>(0)?,
            "item": row.get::<_, String>(1)?, "added_at": row.get::<_, String>(2)?}),
        )?;
    }
    let mut statement = conn.prepare(
        "SELECT item, started_at, stopped_at, hours, note, session FROM time_entries ORDER BY id",
    )?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        line(json!({"type": "time", "item": row.get::<_, String>(0)?,
            "started_at": row.get::<_, String>(1)?, "stopped_at": row.get::<_, Option<String>>(2)?,
            "hours": row.get::<_, Option<f64>>(3)?, "note": row.get::<_, Option<String>>(4)?,
            "session": row.get::<_, Option<String>>(5)?}))?;
    }
    let mut statement = conn.prepare(&format!(
        "SELECT {} FROM decisions ORDER BY seq",
        super::knowledge::DECISION_COLUMNS
    ))?;
    let decisions: Vec<Value> = statement
        .query_map([], super::knowledge::decision_json)?
        .collect::<Result<_, _>>()?;
    for mut decision in decisions {
        decision["type"] = json!("decision");
        line(decision)?;
    }
    let mut statement = conn.prepare(&format!(
        "SELECT {} FROM memory ORDER BY kind, key",
        super::knowledge::MEMORY_COLUMNS
    ))?;
    let entries: Vec<Value> = statement
        .query_map([], super::knowledge::memory_json)?
        .collect::<Result<_, _>>()?;
    for mut entry in entries {
        entry["type"] = json!("memory");
        line(entry)?;
    }
    Ok(())
}

/// What an import did.
#[derive(Debug, Default)]
struct Counts {
    items: u64,
    dependencies: u64,
    checkpoints: u64,
    comments: u64,
    events: u64,
    decisions: u64,
    memory: u64,
    sprints: u64,
    time: u64,
}

/// `orchestron import FILE`: every line checked, then everything written in one
/// transaction. Items are replaced by id; the rest is added unless already there, so
/// importing a file twice changes nothing the second time.
pub(super) fn import(context: &Context, out: &mut Output, file: &Path) -> anyhow::Result<()> {
    let reader: Box<dyn std::io::Read> = if file == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        Box::new(
            std::fs::File::open(file)
                .with_context(|| format!("cannot open `{}`", file.display()))?,
        )
    };
    // Parse and check every line before the database is touched.
    let mut lines = Vec::new();
    for (number, line) in BufReader::new(reader).lines().enumerate() {
        let line = line.with_context(|| format!("cannot read line {}", number + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(&line)
            .with_context(|| format!("line {} is not JSON", number + 1))?;
        check_line(&value).with_context(|| format!("line {}", number + 1))?;
        lines.push(value);
    }
    let mut db = context.tracker()?;
    let counts = db.write(|tx| -> anyhow::Result<_> {
        let mut counts = Counts::default();
        for value in &lines {
            apply(tx, value, &mut counts)?;
        }
        renumber(tx)?;
        crate::tracker::items::recount_open_deps(tx)?;
        Ok(counts)
    })?;
    let summary = json!({
        "schema_version": 1,
        "items": counts.items,
        "dependencies": counts.dependencies,
        "checkpoints": counts.checkpoints,
        "comments": counts.comments,
        "events": counts.events,
        "decisions": counts.decisions,
        "memory": counts.memory,
        "sprints": counts.sprints,
        "time_entries": counts.time,
    });
    if out.json() {
        out.json_line(&summary)?;
    } else {
        out.line(&format!(
            "imported {} items, {} dependencies, {} checkpoints, {} comments, {} events, {} decisions, {} memory entries",
            counts.items,
            counts.dependencies,
            counts.checkpoints,
            counts.comments,
            counts.events,
            counts.decisions,
            counts.memory
        ))?;
    }
    Ok(())
}

fn text<'a>(value: &'a Value, key: &str) -> anyhow::Result<&'a str> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
        .with_context(|| format!("`{key}` must be a non-empty string"))
}

fn optional_text<'a>(value: &'a Value, key: &str) -> anyhow::Result<Option<&'a str>> {
    match value.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => bail!("`{key}` must be a string or null"),
    }
}

fn check_line(value: &Value) -> anyhow::Result<()> {
    match text(value, "type")? {
        "orchestron-export" => {
            let version = value.get("version").and_then(Value::as_u64).unwrap_or(0);
            if version != u64::from(FORMAT_VERSION) {
                bail!("export format version {version}; this orchestron reads {FORMAT_VERSION}");
            }
        }
        "item" => {
            text(value, "id")?;
            text(value, "title")?;
            text(value, "kind")?.parse::<Kind>()?;
            text(value, "status")?.parse::<Status>()?;
            text(value, "priority")?.parse::<Priority>()?;
        }
        "dependency" => {
            text(value, "item")?;
            text(value, "depends_on")?;
        }
        "checkpoint" | "comment" | "event" => {
            text(value, "item")?;
        }
        "decision" => {
            text(value, "id")?;
            text(value, "title")?;
        }
        "sprint" => {
            text(value, "id")?;
            text(value, "name")?;
            let status = text(value, "status")?;
            if !["planned", "active", "completed", "cancelled"].contains(&status) {
                bail!("unknown sprint status `{status}`");
            }
        }
        "sprint_item" => {
            text(value, "sprint")?;
            text(value, "item")?;
        }
        "time" => {
            text(value, "item")?;
            text(value, "started_at")?;
        }
        "memory" => {
            text(value, "kind")?;
            text(value, "key")?;
            if let Some(confidence) = value.get("confidence").and_then(Value::as_f64)
                && !(0.0..=1.0).contains(&confidence)
            {
                bail!("`confidence` must be between 0 and 1");
            }
        }
        other => bail!("unknown line type `{other}`"),
    }
    Ok(())
}

fn apply(tx: &Transaction<'_>, value: &Value, counts: &mut Counts) -> anyhow::Result<()> {
    match text(value, "type")? {
        "item" => {
            let id = text(value, "id")?;
            let existing_seq: Option<i64> = tx
                .prepare_cached("SELECT seq FROM items WHERE id = ?1")?
                .query_row([id], |row| row.get(0))
                .optional()?;
            let wanted_seq = value.get("seq").and_then(Value::as_i64);
            let seq = match (existing_seq, wanted_seq) {
                (Some(seq), _) => seq,
                (None, Some(seq))
                    if !tx
                        .prepare_cached("SELECT EXISTS (SELECT 1 FROM items WHERE seq = ?1)")?
                        .query_row([seq], |row| row.get::<_, bool>(0))? =>
                {
                    seq
                }
                _ => tx
                    .prepare_cached("SELECT COALESCE(max(seq), 0) + 1 FROM items")?
                    .query_row([], |row| row.get(0))?,
            };
            let kind: Kind = text(value, "kind")?.parse()?;
            let status: Status = text(value, "status")?.parse()?;
            let priority: Priority = text(value, "priority")?.parse()?;
            tx.prepare_cached(
                "INSERT INTO items (id, kind, parent, title, description, status, priority, estimate, \
                 assignee, progress, notes, blocked_reason, project, session, created_at, updated_at, \
                 started_at, completed_at, seq, topo, v2_key, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, \
                 ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?19, ?20, ?21) \
                 ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, parent = excluded.parent, \
                 title = excluded.title, description = excluded.description, status = excluded.status, \
                 priority = excluded.priority, estimate = excluded.estimate, assignee = excluded.assignee, \
                 progress = excluded.progress, notes = excluded.notes, blocked_reason = excluded.blocked_reason, \
                 project = excluded.project, session = excluded.session, created_at = excluded.created_at, \
                 updated_at = excluded.updated_at, started_at = excluded.started_at, \
                 completed_at = excluded.completed_at, v2_key = excluded.v2_key, data = excluded.data",
            )?
            .execute(
                params![
                    id,
                    kind.as_str(),
                    optional_text(value, "parent")?,
                    text(value, "title")?,
                    optional_text(value, "description")?.unwrap_or_default(),
                    status.as_str(),
                    priority.rank(),
                    value.get("estimate").and_then(Value::as_f64),
                    optional_text(value, "assignee")?,
                    value.get("progress").and_then(Value::as_i64).unwrap_or(0).clamp(0, 100),
                    optional_text(value, "notes")?.unwrap_or_default(),
                    optional_text(value, "blocked_reason")?,
                    optional_text(value, "project")?.unwrap_or("project"),
                    optional_text(value, "session")?,
                    optional_text(value, "created_at")?.unwrap_or_default(),
                    optional_text(value, "updated_at")?.unwrap_or_default(),
                    optional_text(value, "started_at")?,
                    optional_text(value, "completed_at")?,
                    seq,
                    optional_text(value, "v2_id")?,
                    value.get("data").cloned().unwrap_or_else(|| json!({})).to_string(),
                ],
            )?;
            tx.prepare_cached("DELETE FROM labels WHERE item = ?1")?
                .execute([id])?;
            for label in value
                .get("labels")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(label) = label.as_str() {
                    tx.prepare_cached(
                        "INSERT OR IGNORE INTO labels (item, label) VALUES (?1, ?2)",
                    )?
                    .execute(params![id, label])?;
                }
            }
            counts.items += 1;
        }
        "dependency" => {
            let added = tx
                .prepare_cached("INSERT OR IGNORE INTO deps (item, depends_on) VALUES (?1, ?2)")?
                .execute(params![text(value, "item")?, text(value, "depends_on")?])?;
            counts.dependencies += added as u64;
        }
        "checkpoint" => {
            let added = tx.prepare_cached(
                "INSERT INTO checkpoints (item, text, done, at, done_at) SELECT ?1, ?2, ?3, ?4, ?5 \
                 WHERE NOT EXISTS (SELECT 1 FROM checkpoints WHERE item = ?1 AND text = ?2 AND at = ?4)")?.execute(
                params![
                    text(value, "item")?,
                    optional_text(value, "text")?.unwrap_or_default(),
                    value.get("done").and_then(Value::as_bool).unwrap_or(false),
                    optional_text(value, "at")?.unwrap_or_default(),
                    optional_text(value, "done_at")?,
                ],
            )?;
            counts.checkpoints += added as u64;
        }
        "comment" => {
            let added = tx.prepare_cached(
                "INSERT INTO comments (item, kind, text, at, by) SELECT ?1, ?2, ?3, ?4, ?5 \
                 WHERE NOT EXISTS (SELECT 1 FROM comments WHERE item = ?1 AND kind = ?2 AND text = ?3 AND at = ?4)")?.execute(
                params![
                    text(value, "item")?,
                    optional_text(value, "kind")?.unwrap_or("clarification"),
                    optional_text(value, "text")?.unwrap_or_default(),
                    optional_text(value, "at")?.unwrap_or_default(),
                    optional_text(value, "by")?,
                ],
            )?;
            counts.comments += added as u64;
        }
        "event" => {
            let detail = match value.get("detail") {
                None | Some(Value::Null) => None,
                Some(detail) => Some(detail.to_string()),
            };
            let added = tx.prepare_cached(
                "INSERT INTO events (item, at, what, detail, session) SELECT ?1, ?2, ?3, ?4, ?5 \
                 WHERE NOT EXISTS (SELECT 1 FROM events WHERE item = ?1 AND at = ?2 AND what = ?3 \
                 AND detail IS ?4 AND session IS ?5)")?.execute(
                params![
                    text(value, "item")?,
                    optional_text(value, "at")?.unwrap_or_default(),
                    optional_text(value, "what")?.unwrap_or("note"),
                    detail,
                    optional_text(value, "session")?,
                ],
            )?;
            counts.events += added as u64;
        }
        "decision" => {
            let id = text(value, "id")?;
            let list = |key: &str| {
                value
                    .get(key)
                    .cloned()
                    .unwrap_or_else(|| json!([]))
                    .to_string()
            };
            let existing: Option<i64> = tx
                .prepare_cached("SELECT seq FROM decisions WHERE id = ?1")?
                .query_row([id], |row| row.get(0))
                .optional()?;
            let seq = match existing {
                Some(seq) => seq,
                None => tx
                    .prepare_cached("SELECT COALESCE(max(seq), 0) + 1 FROM decisions")?
                    .query_row([], |row| row.get(0))?,
            };
            tx.prepare_cached(
                "INSERT INTO decisions (id, title, rationale, alternatives, pros, cons, item, project, \
                 session, created_at, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
                 ON CONFLICT(id) DO UPDATE SET title = excluded.title, rationale = excluded.rationale, \
                 alternatives = excluded.alternatives, pros = excluded.pros, cons = excluded.cons, \
                 item = excluded.item, project = excluded.project, session = excluded.session, \
                 created_at = excluded.created_at",
            )?
            .execute(params![
                id,
                text(value, "title")?,
                optional_text(value, "rationale")?.unwrap_or_default(),
                list("alternatives"),
                list("pros"),
                list("cons"),
                optional_text(value, "task")?,
                optional_text(value, "project")?.unwrap_or("project"),
                optional_text(value, "session")?,
                optional_text(value, "created_at")?.unwrap_or_default(),
                seq,
            ])?;
            counts.decisions += 1;
        }
        "sprint" => {
            let id = text(value, "id")?;
            let existing: Option<i64> = tx
                .prepare_cached("SELECT seq FROM sprints WHERE id = ?1")?
                .query_row([id], |row| row.get(0))
                .optional()?;
            let seq = match existing {
                Some(seq) => seq,
                None => tx
                    .prepare_cached("SELECT COALESCE(max(seq), 0) + 1 FROM sprints")?
                    .query_row([], |row| row.get(0))?,
            };
            tx.prepare_cached(
                "INSERT INTO sprints (id, name, goal, status, project, start_date, duration_days, epic, \
                 v2_key, data, created_at, started_at, completed_at, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, \
                 ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) ON CONFLICT(id) DO UPDATE SET name = excluded.name, \
                 goal = excluded.goal, status = excluded.status, project = excluded.project, \
                 start_date = excluded.start_date, duration_days = excluded.duration_days, \
                 epic = excluded.epic, v2_key = excluded.v2_key, data = excluded.data, \
                 created_at = excluded.created_at, started_at = excluded.started_at, \
                 completed_at = excluded.completed_at",
            )?
            .execute(params![
                id,
                text(value, "name")?,
                optional_text(value, "goal")?.unwrap_or_default(),
                text(value, "status")?,
                optional_text(value, "project")?.unwrap_or("project"),
                optional_text(value, "start_date")?,
                value.get("duration_days").and_then(Value::as_i64).unwrap_or(14),
                optional_text(value, "epic")?,
                optional_text(value, "v2_id")?,
                value.get("data").cloned().unwrap_or_else(|| json!({})).to_string(),
                optional_text(value, "created_at")?.unwrap_or_default(),
                optional_text(value, "started_at")?,
                optional_text(value, "completed_at")?,
                seq,
            ])?;
            counts.sprints += 1;
        }
        "sprint_item" => {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO sprint_items (sprint, item, added_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![
                text(value, "sprint")?,
                text(value, "item")?,
                optional_text(value, "added_at")?.unwrap_or_default(),
            ])?;
        }
        "time" => {
            let added = tx
                .prepare_cached(
                    "INSERT INTO time_entries (item, started_at, stopped_at, hours, note, session) \
                     SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE NOT EXISTS (SELECT 1 FROM time_entries \
                     WHERE item = ?1 AND started_at = ?2 AND hours IS ?4 AND note IS ?5)",
                )?
                .execute(params![
                    text(value, "item")?,
                    text(value, "started_at")?,
                    optional_text(value, "stopped_at")?,
                    value.get("hours").and_then(Value::as_f64),
                    optional_text(value, "note")?,
                    optional_text(value, "session")?,
                ])?;
            counts.time += added as u64;
        }
        "memory" => {
            let details = value
                .get("details")
                .cloned()
                .unwrap_or_else(|| json!([]))
                .to_string();
            tx.prepare_cached(
                "INSERT INTO memory (kind, key, description, confidence, details, project, session, \
                 created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
                 ON CONFLICT(kind, key) DO UPDATE SET description = excluded.description, \
                 confidence = excluded.confidence, details = excluded.details, project = excluded.project, \
                 session = excluded.session, created_at = excluded.created_at, updated_at = excluded.updated_at",
            )?
            .execute(params![
                text(value, "kind")?,
                text(value, "key")?,
                optional_text(value, "description")?.unwrap_or_default(),
                value.get("confidence").and_then(Value::as_f64).unwrap_or(0.5),
                details,
                optional_text(value, "project")?.unwrap_or("project"),
                optional_text(value, "session")?,
                optional_text(value, "created_at")?.unwrap_or_default(),
                optional_text(value, "updated_at")?.unwrap_or_default(),
            ])?;
            counts.memory += 1;
        }
        _ => {}
    }
    Ok(())
}

/// Check the imported graph and number every item in a topological order (Kahn's algorithm,
/// ties by sequence number); a cycle or a reference to a missing item fails the import.
fn renumber(tx: &Transaction<'_>) -> anyhow::Result<()> {
    let missing: Option<(String, String)> = tx
        .query_row(
            "SELECT d.item, d.depends_on FROM deps d WHERE NOT EXISTS (SELECT 1 FROM items WHERE id = d.item) \
             OR NOT EXISTS (SELECT 1 FROM items WHERE id = d.depends_on) LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    if let Some((item, on)) = missing {
        bail!("the dependency {item} → {on} names an item that is not there");
    }
    let orphan: Option<String> = tx
        .query_row(
            "SELECT id FROM items i WHERE parent IS NOT NULL AND NOT EXISTS \
             (SELECT 1 FROM items p WHERE p.id = i.parent) LIMIT 1",
            [],
            |row| row.get(0),
        )
        .optional()?;
    if let Some(orphan) = orphan {
        bail!("{orphan} names a parent that is not there");
    }
    let ids: Vec<String> = {
        let mut statement = tx.prepare("SELECT id FROM items ORDER BY seq")?;
        statement
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?
    };
    let index: HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let mut waiting = vec![0usize; ids.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); ids.len()];
    {
        let mut statement = tx.prepare("SELECT item, depends_on FROM deps")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let item: String = row.get(0)?;
            let on: String = row.get(1)?;
            let (item, on) = (index[item.as_str()], index[on.as_str()]);
            waiting[item] += 1;
            dependents[on].push(item);
        }
    }
    let mut ready: std::collections::BinaryHeap<std::cmp::Reverse<usize>> = waiting
        .iter()
        .enumerate()
        .filter(|(_, count)| **count == 0)
        .map(|(i, _)| std::cmp::Reverse(i))
        .collect();
    let mut order = Vec::with_capacity(ids.len());
    while let Some(std::cmp::Reverse(next)) = ready.pop() {
        order.push(next);
        for &dependent in &dependents[next] {
            waiting[dependent] -= 1;
            if waiting[dependent] == 0 {
                ready.push(std::cmp::Reverse(dependent));
            }
        }
    }
    if order.len() != ids.len() {
        let stuck = waiting.iter().position(|count| *count > 0).unwrap_or(0);
        bail!("the dependencies make a cycle through {}", ids[stuck]);
    }
    let mut statement = tx.prepare("UPDATE items SET topo = ?2 WHERE id = ?1")?;
    for (number, i) in order.into_iter().enumerate() {
        statement.execute(params![ids[i], number as f64 + 1.0])?;
    }
    Ok(())
}
