//! `orchestron sprint …` and `orchestron timer …`: sprints of work items, burndown and
//! velocity, and the time spent on items.

use anyhow::{Context as _, bail};
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan as _};
use rusqlite::{Connection, OptionalExtension as _, params};
use serde_json::{Value, json};

use crate::cli::{SprintCommand, TimerCommand};
use crate::context::Context;
use crate::output::Output;
use crate::session::format_time;
use crate::tracker::items;

const SCHEMA_VERSION: u32 = 1;
pub(super) const COLUMNS: &str = "id, name, goal, status, project, start_date, duration_days, epic, v2_key, \
    data, created_at, started_at, completed_at";

/// A sprint's id from what a person typed: exact, case-insensitive, or a unique prefix of
/// the id or its suffix.
pub(super) fn resolve(conn: &Connection, raw: &str) -> anyhow::Result<String> {
    Ok(items::resolve_prefixed(
        conn,
        "sprints",
        "SPRINT",
        "sprint",
        "orchestron sprint list",
        raw,
    )?)
}

pub(super) fn sprint_json(row: &rusqlite::Row<'_>) -> rusqlite::Result<Value> {
    let data: String = row.get(9)?;
    Ok(json!({
        "id": row.get::<_, String>(0)?,
        "name": row.get::<_, String>(1)?,
        "goal": row.get::<_, String>(2)?,
        "status": row.get::<_, String>(3)?,
        "project": row.get::<_, String>(4)?,
        "start_date": row.get::<_, Option<String>>(5)?,
        "duration_days": row.get::<_, i64>(6)?,
        "epic": row.get::<_, Option<String>>(7)?,
        "v2_id": row.get::<_, Option<String>>(8)?,
        "data": serde_json::from_str::<Value>(&data).unwrap_or_else(|_| json!({})),
        "created_at": row.get::<_, String>(10)?,
        "started_at": row.get::<_, Option<String>>(11)?,
        "completed_at": row.get::<_, Option<String>>(12)?,
    }))
}

/// A sprint as JSON, by id.
pub(super) fn get(conn: &Connection, id: &str) -> anyhow::Result<Value> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM sprints WHERE id = ?1"),
        [id],
        sprint_json,
    )
    .optional()?
    .with_context(|| format!("sprint `{id}` not found"))
}

fn parse_date(raw: &str, option: &str) -> anyhow::Result<Date> {
    raw.parse::<Date>()
        .with_context(|| format!("`{option}` must be a date such as 2026-11-23, not `{raw}`"))
}

fn today(now: Timestamp) -> Date {
    now.to_zoned(jiff::tz::TimeZone::UTC).date()
}

/// A sprint to create.
#[derive(Debug)]
pub(super) struct NewSprint<'a> {
    pub name: &'a str,
    pub goal: &'a str,
    pub duration: u32,
    pub start: Option<Date>,
    pub project: &'a str,
    /// Its id in V2's `shared` commands, unique within the project.
    pub v2_key: Option<&'a str>,
    pub epic: Option<&'a str>,
}

/// Create a sprint row; shared with the V2 `shared create-sprint`.
pub(super) fn insert(
    tx: &Connection,
    context: &Context,
    new: &NewSprint<'_>,
) -> anyhow::Result<String> {
    let NewSprint {
        name,
        goal,
        duration,
        start,
        project,
        v2_key,
        epic,
    } = new;
    let now = format_time(context.now);
    let seq: i64 = tx.query_row("SELECT COALESCE(max(seq), 0) + 1 FROM sprints", [], |row| {
        row.get(0)
    })?;
    let id = items::fresh_id(tx, "sprints", "SPRINT", seq, || context.random_u64())?;
    tx.execute(
        "INSERT INTO sprints (id, name, goal, status, project, start_date, duration_days, epic, v2_key, \
         created_at, seq) VALUES (?1, ?2, ?3, 'planned', ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![id, name, goal, project, start.map(|d| d.to_string()), duration, epic, v2_key, now, seq],
    )?;
    Ok(id)
}

pub(super) fn run(
    context: &Context,
    out: &mut Output,
    command: SprintCommand,
) -> anyhow::Result<()> {
    let now = format_time(context.now);
    let session = context.session_hint().map(str::to_owned);
    match command {
        SprintCommand::Create {
            name,
            goal,
            duration,
            start,
        } => {
            if name.trim().is_empty() {
                bail!("the sprint's name must not be empty");
            }
            if duration == 0 || duration > 366 {
                bail!("`--duration` must be 1 to 366 days, not {duration}");
            }
            let start = start.map(|raw| parse_date(&raw, "--start")).transpose()?;
            let project = context.tracker_project()?;
            let mut db = context.tracker()?;
            let new = NewSprint {
                name: &name,
                goal: goal.as_deref().unwrap_or_default(),
                duration,
                start,
                project: &project,
                v2_key: None,
                epic: None,
            };
            let id = db.write(|tx| -> anyhow::Result<_> { insert(tx, context, &new) })?;
            if out.json() {
                print_sprint(out, db.conn(), &id)
            } else {
                out.line(&id)?;
                Ok(())
            }
        }
        SprintCommand::Add { sprint, ids } => {
            let mut db = context.tracker_to_change()?;
            let sprint = db.write(|tx| -> anyhow::Result<_> {
                let sprint = resolve(tx, &sprint)?;
                for raw in &ids {
                    let id = items::resolve(tx, raw)?;
                    let added = tx.execute(
                        "INSERT OR IGNORE INTO sprint_items (sprint, item, added_at) VALUES (?1, ?2, ?3)",
                        params![sprint, id, now],
                    )?;
                    if added > 0 {
                        items::record(tx, &id, &now, "sprint", json!({"added_to": sprint}), session.as_deref())?;
                    }
                }
                Ok(sprint)
            })?;
            print_sprint(out, db.conn(), &sprint)
        }
        SprintCommand::Remove { sprint, ids } => {
            let mut db = context.tracker_to_change()?;
            let sprint = db.write(|tx| -> anyhow::Result<_> {
                let sprint = resolve(tx, &sprint)?;
                for raw in &ids {
                    let id = items::resolve(tx, raw)?;
                    let removed = tx.execute(
                        "DELETE FROM sprint_items WHERE sprint = ?1 AND item = ?2",
                        params![sprint, id],
                    )?;
                    if removed == 0 {
                        bail!("{id} is not in {sprint}");
                    }
                    items::record(
                        tx,
                        &id,
                        &now,
                        "sprint",
                        json!({"removed_from": sprint}),
                        session.as_deref(),
                    )?;
                }
                Ok(sprint)
            })?;
            print_sprint(out, db.conn(), &sprint)
        }
        SprintCommand::Start { sprint } => {
            let mut db = context.tracker_to_change()?;
            let day = today(context.now).to_string();
            let sprint = db.write(|tx| -> anyhow::Result<_> {
                let sprint = resolve(tx, &sprint)?;
                let status: String = tx.query_row("SELECT status FROM sprints WHERE id = ?1", [&sprint], |row| row.get(0))?;
                if status != "planned" {
                    bail!("cannot start {sprint}: it is {status}, not planned");
                }
                tx.execute(
                    "UPDATE sprints SET status = 'active', started_at = ?2, start_date = COALESCE(start_date, ?3) WHERE id = ?1",
                    params![sprint, now, day],
                )?;
                Ok(sprint)
            })?;
            print_sprint(out, db.conn(), &sprint)
        }
        SprintCommand::Complete { sprint } => {
            let mut db = context.tracker_to_change()?;
            let sprint = db.write(|tx| -> anyhow::Result<_> {
                let sprint = resolve(tx, &sprint)?;
                let status: String = tx.query_row(
                    "SELECT status FROM sprints WHERE id = ?1",
                    [&sprint],
                    |row| row.get(0),
                )?;
                if status != "active" {
                    bail!("cannot complete {sprint}: it is {status}, not active");
                }
                tx.execute(
                    "UPDATE sprints SET status = 'completed', completed_at = ?2 WHERE id = ?1",
                    params![sprint, now],
                )?;
                Ok(sprint)
            })?;
            print_sprint(out, db.conn(), &sprint)
        }
        SprintCommand::List => {
            let db = context.tracker_for_reads()?;
            let conn = db.conn();
            let mut statement =
                conn.prepare(&format!("SELECT {COLUMNS} FROM sprints ORDER BY seq DESC"))?;
            let list: Vec<Value> = statement
                .query_map([], sprint_json)?
                .collect::<Result<_, _>>()?;
            if out.json() {
                out.json_line(&Value::Array(list))?;
                return Ok(());
            }
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|s| {
                    let field = |key: &str| s[key].as_str().unwrap_or("-").to_owned();
                    vec![
                        field("id"),
                        field("status"),
                        field("start_date"),
                        format!("{}d", s["duration_days"]),
                        field("name"),
                    ]
                })
                .collect();
            out.table(&["ID", "STATUS", "START", "LENGTH", "NAME"], &rows)?;
            Ok(())
        }
        SprintCommand::Show { sprint } => {
            let db = context.tracker_for_reads()?;
            let sprint = resolve(db.conn(), &sprint)?;
            print_sprint(out, db.conn(), &sprint)
        }
        SprintCommand::Burndown { sprint } => {
            let db = context.tracker_for_reads()?;
            let conn = db.conn();
            let sprint = match sprint {
                Some(raw) => resolve(conn, &raw)?,
                None => active(conn)?
                    .context("no active sprint; name one: `orchestron sprint burndown SPRINT`")?,
            };
            burndown(context, out, conn, &sprint)
        }
        SprintCommand::Velocity { last } => {
            let db = context.tracker_for_reads()?;
            let conn = db.conn();
            let mut statement = conn.prepare(
                "SELECT s.id, s.name, s.completed_at, \
                 COALESCE((SELECT sum(COALESCE(i.estimate, 0)) FROM sprint_items si JOIN items i ON i.id = si.item \
                   WHERE si.sprint = s.id AND i.status = 'DONE'), 0), \
                 (SELECT count(*) FROM sprint_items si JOIN items i ON i.id = si.item WHERE si.sprint = s.id AND i.status = 'DONE'), \
                 (SELECT count(*) FROM sprint_items si WHERE si.sprint = s.id) \
                 FROM sprints s WHERE s.status = 'completed' ORDER BY s.seq DESC",
            )?;
            let mut rows: Vec<Value> = statement
                .query_map([], |row| {
                    Ok(json!({"id": row.get::<_, String>(0)?, "name": row.get::<_, String>(1)?,
                        "completed_at": row.get::<_, Option<String>>(2)?, "hours_done": row.get::<_, f64>(3)?,
                        "items_done": row.get::<_, i64>(4)?, "items": row.get::<_, i64>(5)?}))
                })?
                .collect::<Result<_, _>>()?;
            if let Some(last) = last {
                rows.truncate(last);
            }
            let average = if rows.is_empty() {
                0.0
            } else {
                rows.iter()
                    .map(|r| r["hours_done"].as_f64().unwrap_or(0.0))
                    .sum::<f64>()
                    / rows.len() as f64
            };
            if out.json() {
                out.json_line(&json!({"schema_version": SCHEMA_VERSION, "sprints": rows, "average_hours": average}))?;
                return Ok(());
            }
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    vec![
                        r["id"].as_str().unwrap_or_default().to_owned(),
                        format!("{}/{}", r["items_done"], r["items"]),
                        format!("{:.1}", r["hours_done"].as_f64().unwrap_or(0.0)),
                        r["name"].as_str().unwrap_or_default().to_owned(),
                    ]
                })
                .collect();
            out.table(&["SPRINT", "DONE", "HOURS", "NAME"], &table)?;
            out.line(&format!("average: {average:.1} hours per sprint"))?;
            Ok(())
        }
    }
}

fn print_sprint(out: &mut Output, conn: &Connection, id: &str) -> anyhow::Result<()> {
    let mut value = get(conn, id)?;
    let found = crate::tracker::tasks::query_items(
        conn,
        &format!(
            "SELECT {} FROM items WHERE id IN (SELECT item FROM sprint_items WHERE sprint = ?1) ORDER BY priority, seq",
            items::COLUMNS
        ),
        [id],
    )?;
    let total: f64 = found.iter().filter_map(|i| i.estimate).sum();
    let done: f64 = found
        .iter()
        .filter(|i| i.status.as_str() == "DONE")
        .filter_map(|i| i.estimate)
        .sum();
    value["items"] = found
        .iter()
        .map(|i| json!({"id": i.id, "title": i.title, "status": i.status.as_str(), "estimate": i.estimate, "assignee": i.assignee}))
        .collect();
    value["estimate_total"] = json!(total);
    value["estimate_done"] = json!(done);
    if out.json() {
        value["schema_version"] = json!(SCHEMA_VERSION);
        out.json_line(&value)?;
        return Ok(());
    }
    out.line(&format!(
        "{}  {}  {}",
        value["id"].as_str().unwrap_or_default(),
        value["status"].as_str().unwrap_or_default(),
        value["name"].as_str().unwrap_or_default()
    ))?;
    if let Some(goal) = value["goal"].as_str().filter(|g| !g.is_empty()) {
        out.line(&format!("goal: {goal}"))?;
    }
    out.line(&format!(
        "{} items, {done:.1} of {total:.1} estimated hours done",
        found.len()
    ))?;
    let rows: Vec<Vec<String>> = found
        .iter()
        .map(|i| {
            vec![
                i.id.clone(),
                i.status.to_string(),
                i.estimate.map_or("-".to_owned(), |e| format!("{e}")),
                i.title.clone(),
            ]
        })
        .collect();
    if !rows.is_empty() {
        out.table(&["ID", "STATUS", "HOURS", "TITLE"], &rows)?;
    }
    Ok(())
}

/// One day of a burndown: remaining and ideal hours at its end.
pub(super) struct Day {
    pub date: Date,
    pub remaining: f64,
    pub ideal: f64,
}

/// A sprint's estimated hours and its burndown, day by day up to today.
pub(super) fn burndown_days(
    context: &Context,
    conn: &Connection,
    sprint: &str,
) -> anyhow::Result<(f64, Vec<Day>)> {
    let value = get(conn, sprint)?;
    let Some(start) = value["start_date"].as_str() else {
        bail!("{sprint} has no start date yet: `orchestron sprint start {sprint}` sets it");
    };
    let start = parse_date(start, "start_date")?;
    let days = value["duration_days"].as_i64().unwrap_or(14);
    let mut statement = conn.prepare(
        "SELECT COALESCE(i.estimate, 0), i.completed_at, i.status FROM sprint_items si JOIN items i ON i.id = si.item WHERE si.sprint = ?1",
    )?;
    let items: Vec<(f64, Option<String>, String)> = statement
        .query_map([sprint], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let total: f64 = items.iter().map(|(e, _, _)| e).sum();
    let last_day = today(context.now);
    let mut points = Vec::new();
    for offset in 0..days {
        let date = start
            .checked_add(offset.days())
            .context("a date out of range")?;
        if date > last_day {
            break;
        }
        let remaining: f64 = items
            .iter()
            .filter(|(_, completed, status)| {
                let done_by = completed
                    .as_deref()
                    .and_then(|at| at.parse::<Timestamp>().ok())
                    .map(today)
                    .is_some_and(|completed| completed <= date);
                !(status == "DONE" && done_by)
            })
            .map(|(e, _, _)| e)
            .sum();
        let ideal = total * (1.0 - (offset + 1) as f64 / days as f64);
        points.push(Day {
            date,
            remaining,
            ideal,
        });
    }
    Ok((total, points))
}

/// The active sprint, if there is one (the newest, should there be several).
pub(super) fn active(conn: &Connection) -> anyhow::Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT id FROM sprints WHERE status = 'active' ORDER BY seq DESC LIMIT 1",
            [],
            |row| row.get(0),
        )
        .optional()?)
}

/// Remaining estimate at the end of each day of the sprint, up to today.
fn burndown(
    context: &Context,
    out: &mut Output,
    conn: &Connection,
    sprint: &str,
) -> anyhow::Result<()> {
    let (total, days) = burndown_days(context, conn, sprint)?;
    let points: Vec<(Date, f64, f64)> = days
        .iter()
        .map(|day| (day.date, day.remaining, day.ideal))
        .collect();
    if out.json() {
        let list: Vec<Value> = points
            .iter()
            .map(|(day, remaining, ideal)| json!({"date": day.to_string(), "remaining": remaining, "ideal": (ideal * 10.0).round() / 10.0}))
            .collect();
        out.json_line(&json!({"schema_version": SCHEMA_VERSION, "sprint": sprint, "total": total, "days": list}))?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = points
        .iter()
        .map(|(day, remaining, ideal)| {
            let width = if total > 0.0 {
                (remaining / total * 40.0).round() as usize
            } else {
                0
            };
            vec![
                day.to_string(),
                format!("{remaining:.1}"),
                format!("{ideal:.1}"),
                "█".repeat(width),
            ]
        })
        .collect();
    out.line(&format!("{sprint}: {total:.1} estimated hours"))?;
    out.table(&["DAY", "REMAINING", "IDEAL", ""], &rows)?;
    Ok(())
}

pub(super) fn timer(
    context: &Context,
    out: &mut Output,
    command: TimerCommand,
) -> anyhow::Result<()> {
    let now = format_time(context.now);
    let session = context.session_hint().map(str::to_owned);
    let mut db = context.tracker_to_change()?;
    match command {
        TimerCommand::Start { id } => {
            let id = db.write(|tx| -> anyhow::Result<_> {
                let id = items::resolve(tx, &id)?;
                let running: bool = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM time_entries WHERE item = ?1 AND stopped_at IS NULL)",
                    [&id],
                    |row| row.get(0),
                )?;
                if running {
                    bail!("a timer is already running for {id}; `orchestron timer stop {id}` stops it");
                }
                tx.execute(
                    "INSERT INTO time_entries (item, started_at, session) VALUES (?1, ?2, ?3)",
                    params![id, now, session],
                )?;
                Ok(id)
            })?;
            print_time(
                out,
                &json!({"schema_version": SCHEMA_VERSION, "item": id, "started_at": now}),
                &format!("timing {id}"),
            )
        }
        TimerCommand::Stop { id } => {
            let (id, hours) = db.write(|tx| -> anyhow::Result<_> {
                let id = items::resolve(tx, &id)?;
                let running: Option<(i64, String)> = tx
                    .query_row(
                        "SELECT id, started_at FROM time_entries WHERE item = ?1 AND stopped_at IS NULL",
                        [&id],
                        |row| Ok((row.get(0)?, row.get(1)?)),
                    )
                    .optional()?;
                let Some((entry, started)) = running else {
                    bail!("no timer is running for {id}");
                };
                let started: Timestamp = started.parse().context("a stored start time")?;
                let seconds = context.now.duration_since(started).as_secs_f64().max(0.0);
                let hours = (seconds / 3600.0 * 100.0).round() / 100.0;
                tx.execute(
                    "UPDATE time_entries SET stopped_at = ?2, hours = ?3 WHERE id = ?1",
                    params![entry, now, hours],
                )?;
                items::record(tx, &id, &now, "time", json!({"hours": hours}), session.as_deref())?;
                Ok((id, hours))
            })?;
            print_time(
                out,
                &json!({"schema_version": SCHEMA_VERSION, "item": id, "hours": hours}),
                &format!("{id}: {hours} h"),
            )
        }
        TimerCommand::Log { id, hours, note } => {
            if !(hours.is_finite() && hours > 0.0 && hours <= 24.0 * 31.0) {
                bail!("`--hours` must be more than 0 (and at most a month), not {hours}");
            }
            let id = db.write(|tx| -> anyhow::Result<_> {
                let id = items::resolve(tx, &id)?;
                tx.execute(
                    "INSERT INTO time_entries (item, started_at, stopped_at, hours, note, session) VALUES (?1, ?2, ?2, ?3, ?4, ?5)",
                    params![id, now, hours, note, session],
                )?;
                items::record(tx, &id, &now, "time", json!({"hours": hours, "note": note}), session.as_deref())?;
                Ok(id)
            })?;
            print_time(
                out,
                &json!({"schema_version": SCHEMA_VERSION, "item": id, "hours": hours}),
                &format!("{id}: {hours} h"),
            )
        }
        TimerCommand::Report { since } => {
            let since = match since {
                None => None,
                Some(raw) => Some(match raw.parse::<Timestamp>() {
                    Ok(at) => format_time(at),
                    Err(_) => format_time(
                        parse_date(&raw, "--since")?
                            .to_zoned(jiff::tz::TimeZone::UTC)
                            .context("a date out of range")?
                            .timestamp(),
                    ),
                }),
            };
            let conn = db.conn();
            let mut statement = conn.prepare(
                "SELECT t.item, i.title, i.estimate, sum(COALESCE(t.hours, 0)), \
                 sum(CASE WHEN t.stopped_at IS NULL THEN 1 ELSE 0 END) \
                 FROM time_entries t JOIN items i ON i.id = t.item \
                 WHERE ?1 IS NULL OR t.started_at >= ?1 GROUP BY t.item ORDER BY sum(COALESCE(t.hours, 0)) DESC, t.item",
            )?;
            let rows: Vec<Value> = statement
                .query_map([since], |row| {
                    Ok(
                        json!({"item": row.get::<_, String>(0)?, "title": row.get::<_, String>(1)?,
                        "estimate": row.get::<_, Option<f64>>(2)?, "hours": row.get::<_, f64>(3)?,
                        "running": row.get::<_, i64>(4)? > 0}),
                    )
                })?
                .collect::<Result<_, _>>()?;
            if out.json() {
                out.json_line(&Value::Array(rows))?;
                return Ok(());
            }
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    vec![
                        r["item"].as_str().unwrap_or_default().to_owned(),
                        format!("{:.2}", r["hours"].as_f64().unwrap_or(0.0)),
                        r["estimate"]
                            .as_f64()
                            .map_or("-".to_owned(), |e| format!("{e}")),
                        if r["running"] == true {
                            "running".to_owned()
                        } else {
                            String::new()
                        },
                        r["title"].as_str().unwrap_or_default().to_owned(),
                    ]
                })
                .collect();
            out.table(&["ITEM", "HOURS", "ESTIMATE", "TIMER", "TITLE"], &table)?;
            Ok(())
        }
    }
}

fn print_time(out: &mut Output, value: &Value, text: &str) -> anyhow::Result<()> {
    if out.json() {
        out.json_line(value)?;
    } else {
        out.line(text)?;
    }
    Ok(())
}
