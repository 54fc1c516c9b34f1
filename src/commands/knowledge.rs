//! `orchestron decide`, `decision …` and `memory …`: what was decided and what was learned,
//! kept in the tracker so that one agent's discovery reaches the next.

use anyhow::{Context as _, bail};
use rusqlite::{Connection, OptionalExtension as _, Row, params};
use serde_json::{Value, json};

use crate::cli::{DecisionCommand, MemoryCommand};
use crate::context::Context;
use crate::output::Output;
use crate::session::format_time;
use crate::tracker::items;

const SCHEMA_VERSION: u32 = 1;

/// The arguments of `orchestron decide`.
#[derive(Debug)]
pub(super) struct Decision {
    pub title: String,
    pub rationale: Option<String>,
    pub alternatives: Vec<String>,
    pub pros: Vec<String>,
    pub cons: Vec<String>,
    pub task: Option<String>,
}

pub(super) fn decide(
    context: &Context,
    out: &mut Output,
    decision: Decision,
) -> anyhow::Result<()> {
    if decision.title.trim().is_empty() {
        bail!("the decision's title must not be empty");
    }
    let mut db = context.tracker()?;
    let now = format_time(context.now);
    let project = context.tracker_project()?;
    let session = context.session_hint().map(str::to_owned);
    let id = db.write(|tx| -> anyhow::Result<_> {
        let item = decision.task.as_deref().map(|raw| items::resolve(tx, raw)).transpose()?;
        let seq: i64 = tx.query_row("SELECT COALESCE(max(seq), 0) + 1 FROM decisions", [], |row| row.get(0))?;
        let id = items::fresh_id(tx, "decisions", "DEC", seq, || context.random_u64())?;
        tx.execute(
            "INSERT INTO decisions (id, title, rationale, alternatives, pros, cons, item, project, session, \
             created_at, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                id,
                decision.title,
                decision.rationale.as_deref().unwrap_or_default(),
                json!(decision.alternatives).to_string(),
                json!(decision.pros).to_string(),
                json!(decision.cons).to_string(),
                item,
                project,
                session,
                now,
                seq
            ],
        )?;
        if let Some(item) = &item {
            items::record(tx, item, &now, "decision", json!({"id": id, "title": decision.title}), session.as_deref())?;
        }
        Ok(id)
    })?;
    if out.json() {
        let mut value = get_decision(db.conn(), &id)?;
        value["schema_version"] = json!(SCHEMA_VERSION);
        out.json_line(&value)?;
    } else {
        out.line(&id)?;
    }
    Ok(())
}

pub(super) fn decision(
    context: &Context,
    out: &mut Output,
    command: DecisionCommand,
) -> anyhow::Result<()> {
    let db = context.tracker_for_reads()?;
    let conn = db.conn();
    match command {
        DecisionCommand::List => {
            let mut statement = conn.prepare(&format!(
                "SELECT {DECISION_COLUMNS} FROM decisions ORDER BY seq DESC"
            ))?;
            let list: Vec<Value> = statement
                .query_map([], decision_json)?
                .collect::<Result<_, _>>()?;
            if out.json() {
                out.json_line(&Value::Array(list))?;
            } else {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|d| {
                        vec![
                            d["id"].as_str().unwrap_or_default().to_owned(),
                            d["created_at"].as_str().unwrap_or_default().to_owned(),
                            d["task"].as_str().unwrap_or("-").to_owned(),
                            d["title"].as_str().unwrap_or_default().to_owned(),
                        ]
                    })
                    .collect();
                out.table(&["ID", "AT", "TASK", "TITLE"], &rows)?;
            }
        }
        DecisionCommand::Show { id } => {
            let id = resolve_decision(conn, &id)?;
            let mut value = get_decision(conn, &id)?;
            if out.json() {
                value["schema_version"] = json!(SCHEMA_VERSION);
                out.json_line(&value)?;
            } else {
                out.line(&format!(
                    "{}  {}",
                    value["id"].as_str().unwrap_or_default(),
                    value["title"].as_str().unwrap_or_default()
                ))?;
                for (label, key) in [("rationale", "rationale")] {
                    if let Some(text) = value[key].as_str().filter(|t| !t.is_empty()) {
                        out.line(&format!("{label}: {text}"))?;
                    }
                }
                for key in ["alternatives", "pros", "cons"] {
                    let list: Vec<&str> = value[key]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    if !list.is_empty() {
                        out.line(&format!("{key}: {}", list.join(", ")))?;
                    }
                }
                if let Some(task) = value["task"].as_str() {
                    out.line(&format!("task: {task}"))?;
                }
                out.line(&format!(
                    "at: {}",
                    value["created_at"].as_str().unwrap_or_default()
                ))?;
            }
        }
    }
    Ok(())
}

pub(super) const DECISION_COLUMNS: &str =
    "id, title, rationale, alternatives, pros, cons, item, project, session, created_at, seq";

pub(super) fn decision_json(row: &Row<'_>) -> rusqlite::Result<Value> {
    let list = |i: usize| -> rusqlite::Result<Value> {
        let text: String = row.get(i)?;
        Ok(serde_json::from_str(&text).unwrap_or_else(|_| json!([])))
    };
    Ok(json!({
        "id": row.get::<_, String>(0)?,
        "title": row.get::<_, String>(1)?,
        "rationale": row.get::<_, String>(2)?,
        "alternatives": list(3)?,
        "pros": list(4)?,
        "cons": list(5)?,
        "task": row.get::<_, Option<String>>(6)?,
        "project": row.get::<_, String>(7)?,
        "session": row.get::<_, Option<String>>(8)?,
        "created_at": row.get::<_, String>(9)?,
        "seq": row.get::<_, i64>(10)?,
    }))
}

fn get_decision(conn: &Connection, id: &str) -> anyhow::Result<Value> {
    conn.query_row(
        &format!("SELECT {DECISION_COLUMNS} FROM decisions WHERE id = ?1"),
        [id],
        decision_json,
    )
    .optional()?
    .with_context(|| format!("decision `{id}` not found"))
}

fn resolve_decision(conn: &Connection, raw: &str) -> anyhow::Result<String> {
    Ok(items::resolve_prefixed(
        conn,
        "decisions",
        "DEC",
        "decision",
        "orchestron decision list",
        raw,
    )?)
}

pub(super) fn memory(
    context: &Context,
    out: &mut Output,
    command: MemoryCommand,
) -> anyhow::Result<()> {
    let check_confidence = |confidence: Option<f64>| -> anyhow::Result<()> {
        if let Some(value) = confidence
            && !(0.0..=1.0).contains(&value)
        {
            bail!("`--confidence` must be between 0 and 1, not {value}");
        }
        Ok(())
    };
    let check_name = |what: &str, text: &str| -> anyhow::Result<()> {
        if text.trim().is_empty() {
            bail!("the {what} must not be empty");
        }
        Ok(())
    };
    let now = format_time(context.now);
    let session = context.session_hint().map(str::to_owned);
    match command {
        MemoryCommand::Add {
            kind,
            key,
            description,
            confidence,
            details,
        } => {
            check_name("kind", &kind)?;
            check_name("key", &key)?;
            check_confidence(confidence)?;
            let project = context.tracker_project()?;
            let mut db = context.tracker()?;
            db.write(|tx| -> anyhow::Result<_> {
                let exists: bool = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM memory WHERE kind = ?1 AND key = ?2)",
                    params![kind, key],
                    |row| row.get(0),
                )?;
                if exists {
                    return Err(orchestron_core::error::hinted(
                        format!("memory `{kind} {key}` exists already"),
                        format!("`orchestron memory update {kind} {key} --add-detail …` adds to it"),
                    ));
                }
                tx.execute(
                    "INSERT INTO memory (kind, key, description, confidence, details, project, session, created_at, updated_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
                    params![kind, key, description.as_deref().unwrap_or_default(), confidence.unwrap_or(0.5),
                        json!(details).to_string(), project, session, now],
                )?;
                Ok(())
            })?;
            print_memory(out, db.conn(), &kind, &key)
        }
        MemoryCommand::Get { kind, key } => {
            let db = context.tracker_for_reads()?;
            print_memory(out, db.conn(), &kind, &key)
        }
        MemoryCommand::Update {
            kind,
            key,
            add_details,
            confidence,
            description,
        } => {
            check_confidence(confidence)?;
            let mut db = context.tracker_to_change()?;
            db.write(|tx| -> anyhow::Result<_> {
                let details: Option<String> = tx
                    .query_row("SELECT details FROM memory WHERE kind = ?1 AND key = ?2", params![kind, key], |row| row.get(0))
                    .optional()?;
                let Some(details) = details else {
                    bail!("memory `{kind} {key}` not found");
                };
                let mut list: Vec<Value> = serde_json::from_str(&details).unwrap_or_default();
                list.extend(add_details.iter().map(|d| json!(d)));
                tx.execute(
                    "UPDATE memory SET details = ?3, confidence = COALESCE(?4, confidence), \
                     description = COALESCE(?5, description), updated_at = ?6, session = COALESCE(?7, session) \
                     WHERE kind = ?1 AND key = ?2",
                    params![kind, key, Value::Array(list).to_string(), confidence, description, now, session],
                )?;
                Ok(())
            })?;
            print_memory(out, db.conn(), &kind, &key)
        }
        MemoryCommand::List { kind } => {
            let db = context.tracker_for_reads()?;
            let mut statement = db.conn().prepare(&format!(
                "SELECT {MEMORY_COLUMNS} FROM memory WHERE ?1 IS NULL OR kind = ?1 ORDER BY kind, key"
            ))?;
            let list: Vec<Value> = statement
                .query_map([kind], memory_json)?
                .collect::<Result<_, _>>()?;
            print_memory_list(out, &list)
        }
        MemoryCommand::Search { text } => {
            check_name("search text", &text)?;
            let db = context.tracker_for_reads()?;
            // Each word must appear (as a prefix); quoting keeps FTS5 syntax out of people's way.
            let query: Vec<String> = text
                .split_whitespace()
                .map(|word| format!("\"{}\"*", word.replace('"', "\"\"")))
                .collect();
            let mut statement = db.conn().prepare(&format!(
                "SELECT {} FROM memory_search s JOIN memory m ON m.id = s.rowid \
                 WHERE memory_search MATCH ?1 ORDER BY bm25(memory_search), m.confidence DESC",
                MEMORY_COLUMNS
                    .split(", ")
                    .map(|c| format!("m.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))?;
            let list: Vec<Value> = statement
                .query_map([query.join(" ")], memory_json)?
                .collect::<Result<_, _>>()?;
            print_memory_list(out, &list)
        }
    }
}

pub(super) const MEMORY_COLUMNS: &str =
    "kind, key, description, confidence, details, project, session, created_at, updated_at";

pub(super) fn memory_json(row: &Row<'_>) -> rusqlite::Result<Value> {
    let details: String = row.get(4)?;
    Ok(json!({
        "kind": row.get::<_, String>(0)?,
        "key": row.get::<_, String>(1)?,
        "description": row.get::<_, String>(2)?,
        "confidence": row.get::<_, f64>(3)?,
        "details": serde_json::from_str::<Value>(&details).unwrap_or_else(|_| json!([])),
        "project": row.get::<_, String>(5)?,
        "session": row.get::<_, Option<String>>(6)?,
        "created_at": row.get::<_, String>(7)?,
        "updated_at": row.get::<_, String>(8)?,
    }))
}

fn print_memory(out: &mut Output, conn: &Connection, kind: &str, key: &str) -> anyhow::Result<()> {
    let mut value = conn
        .query_row(
            &format!("SELECT {MEMORY_COLUMNS} FROM memory WHERE kind = ?1 AND key = ?2"),
            params![kind, key],
            memory_json,
        )
        .optional()?
        .with_context(|| format!("memory `{kind} {key}` not found"))?;
    if out.json() {
        value["schema_version"] = json!(SCHEMA_VERSION);
        out.json_line(&value)?;
        return Ok(());
    }
    out.line(&format!(
        "{kind} {key}  (confidence {})",
        value["confidence"]
    ))?;
    if let Some(description) = value["description"].as_str().filter(|d| !d.is_empty()) {
        out.line(description)?;
    }
    for detail in value["details"].as_array().into_iter().flatten() {
        out.line(&format!("- {}", detail.as_str().unwrap_or_default()))?;
    }
    Ok(())
}

fn print_memory_list(out: &mut Output, list: &[Value]) -> anyhow::Result<()> {
    if out.json() {
        out.json_line(&Value::Array(list.to_vec()))?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|m| {
            vec![
                m["kind"].as_str().unwrap_or_default().to_owned(),
                m["key"].as_str().unwrap_or_default().to_owned(),
                format!("{:.2}", m["confidence"].as_f64().unwrap_or_default()),
                m["description"].as_str().unwrap_or_default().to_owned(),
            ]
        })
        .collect();
    out.table(&["KIND", "KEY", "CONFIDENCE", "DESCRIPTION"], &rows)?;
    Ok(())
}
