//! The views the slash commands and output styles render: `board` (the Kanban board),
//! `summary` (the project on one page) and `monitor` (live sessions and activity). Each is
//! built once as JSON, then printed as JSON, markdown or text from that same value, so the
//! three formats never disagree. Views read only: an empty project is an empty view, and
//! nothing is created.

use std::fmt::Write as _;

use jiff::Timestamp;
use rusqlite::{Connection, params};
use serde_json::{Value, json};

use crate::cli::Format;
use crate::context::Context;
use crate::output::{Output, printable};
use orchestron_core::session::{self, Lifecycle};
use orchestron_core::tracker::items::{self, COLUMNS, Item};
use orchestron_core::tracker::model::Status;
use orchestron_core::tracker::sprints;
use orchestron_core::tracker::tasks::{self, BLOCKED, query_items};

const SCHEMA_VERSION: u32 = 1;

/// The most blockers the board lists, whatever its `--limit`.
const BLOCKERS_SHOWN: usize = 20;

/// The board's columns, left to right. CANCELLED items are never shown; BACKLOG only when
/// it holds something.
const COLUMNS_SHOWN: [&str; 7] = [
    "BACKLOG",
    "TODO",
    "IN_PROGRESS",
    "IN_REVIEW",
    "TESTING",
    "BLOCKED",
    "DONE",
];

fn format_of(out: &Output, format: Format) -> Format {
    if out.json() { Format::Json } else { format }
}

fn print(
    out: &mut Output,
    format: Format,
    value: &Value,
    render: fn(&Value, bool) -> String,
) -> anyhow::Result<()> {
    match format_of(out, format) {
        Format::Json => out.json_line(value)?,
        Format::Markdown => out.bytes(printable(&render(value, true)).as_bytes())?,
        Format::Text => out.bytes(printable(&render(value, false)).as_bytes())?,
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// board

pub(super) fn board(
    context: &Context,
    out: &mut Output,
    sprint: Option<String>,
    limit: usize,
    format: Format,
) -> anyhow::Result<()> {
    let value = board_value(context, sprint.as_deref(), limit)?;
    print(out, format, &value, render_board)
}

/// The board as JSON: the sprint (or `null` for every open item), its burndown, the
/// columns with their WIP limits and cards, and the blockers.
fn board_value(context: &Context, sprint: Option<&str>, limit: usize) -> anyhow::Result<Value> {
    let Some(db) = context.existing_tracker()? else {
        if let Some(sprint) = sprint {
            anyhow::bail!("sprint `{sprint}` not found: this project has no tracker yet");
        }
        return Ok(
            json!({"schema_version": SCHEMA_VERSION, "sprint": null, "burndown": null,
            "columns": empty_columns(context)?, "blockers": []}),
        );
    };
    let conn = db.conn();
    let sprint = match sprint {
        Some(raw) => Some(tasks::resolve_sprint(conn, raw)?),
        None => sprints::active(conn)?,
    };
    let mut found = Vec::new();
    for status in COLUMNS_SHOWN {
        // Done work shows its latest; the rest goes by priority, then age.
        let order = if status == "DONE" {
            "completed_at DESC"
        } else {
            "priority, seq"
        };
        let (count, cards) = match &sprint {
            Some(sprint) => {
                let scope =
                    "id IN (SELECT item FROM sprint_items WHERE sprint = ?1) AND status = ?2";
                let count: i64 = conn.query_row(
                    &format!("SELECT count(*) FROM items WHERE {scope}"),
                    params![sprint, status],
                    |row| row.get(0),
                )?;
                let cards = query_items(
                    conn,
                    &format!("SELECT {COLUMNS} FROM items WHERE {scope} ORDER BY {order} LIMIT ?3"),
                    params![sprint, status, limit as i64],
                )?;
                (count, cards)
            }
            None => {
                // Counted from the indexes: all of a status, less its epics.
                let count: i64 = conn.query_row(
                    "SELECT (SELECT count(*) FROM items WHERE status = ?1) \
                     - (SELECT count(*) FROM items WHERE kind = 'EPIC' AND status = ?1)",
                    [status],
                    |row| row.get(0),
                )?;
                let cards = query_items(
                    conn,
                    &format!(
                        "SELECT {COLUMNS} FROM items WHERE status = ?1 AND kind != 'EPIC' \
                         ORDER BY {order} LIMIT ?2"
                    ),
                    params![status, limit as i64],
                )?;
                (count, cards)
            }
        };
        found.push((status, count, cards));
    }
    let mut columns_json = Vec::new();
    for (status, count, cards) in &found {
        let mut list = Vec::new();
        for item in cards {
            list.push(card(item, &waiting_on(conn, item)?));
        }
        columns_json.push((*status, *count, list));
    }
    let columns = columns_json
        .into_iter()
        .filter(|(status, count, _)| *status != "BACKLOG" || *count > 0)
        .map(|(status, count, cards)| column(context, status, count, cards))
        .collect::<anyhow::Result<Vec<Value>>>()?;
    let (sprint_json, burndown) = match &sprint {
        Some(id) => {
            let value = serde_json::to_value(sprints::get(conn, id)?)?;
            let burndown = sprints::burndown_of(conn, id, sprints::day_of(context.now))
                .ok()
                .map(|sprints::Burndown { total, days, .. }| {
                    let last = days.last();
                    json!({
                        "total": total,
                        "remaining": last.map_or(total, |day| day.remaining),
                        "ideal": last.map_or(total, |day| round(day.ideal)),
                        "day": days.len(),
                        "days": value["duration_days"],
                        // Measured against where the ideal line stood when today began.
                    "on_track": last.is_none_or(|day| {
                        let days = value["duration_days"].as_f64().unwrap_or(14.0).max(1.0);
                        day.remaining <= day.ideal + total / days + 0.05
                    }),
                    })
                });
            (value, burndown.unwrap_or(Value::Null))
        }
        None => (Value::Null, Value::Null),
    };
    let blockers = blockers_json(conn, &blockers(conn, sprint.as_deref(), BLOCKERS_SHOWN)?)?;
    Ok(
        json!({"schema_version": SCHEMA_VERSION, "sprint": sprint_json, "burndown": burndown,
        "columns": columns, "blockers": blockers}),
    )
}

/// The empty columns of a project without a tracker.
fn empty_columns(context: &Context) -> anyhow::Result<Vec<Value>> {
    COLUMNS_SHOWN
        .iter()
        .filter(|status| **status != "BACKLOG")
        .map(|status| column(context, status, 0, Vec::new()))
        .collect()
}

fn column(context: &Context, status: &str, count: i64, cards: Vec<Value>) -> anyhow::Result<Value> {
    let limit = context.config()?.wip_limit(status);
    Ok(json!({
        "status": status,
        "count": count,
        "wip_limit": limit,
        "over_limit": limit.is_some_and(|limit| count > i64::from(limit)),
        "items": cards,
    }))
}

/// The unfinished dependencies of an item, as `ID (STATUS)`.
fn waiting_on(conn: &Connection, item: &Item) -> anyhow::Result<Vec<String>> {
    Ok(items::dependencies(conn, &item.id)?
        .into_iter()
        .filter(|(_, status)| *status != Status::Done)
        .map(|(id, status)| format!("{id} ({status})"))
        .collect())
}

fn card(item: &Item, waiting: &[String]) -> Value {
    json!({
        "id": item.id,
        "title": item.title,
        "kind": item.kind.as_str(),
        "priority": item.priority.as_str(),
        "assignee": item.assignee,
        "progress": item.progress,
        "estimate": item.estimate,
        "blocked_reason": item.blocked_reason,
        "waiting_on": waiting,
    })
}

fn render_board(value: &Value, markdown: bool) -> String {
    let mut page = Page::new(markdown);
    match value["sprint"].as_object() {
        Some(sprint) => page.title(&format!(
            "Board: {} ({}, {})",
            str_of(&sprint["name"]),
            str_of(&sprint["id"]),
            str_of(&sprint["status"])
        )),
        None => page.title("Board: all open work (no active sprint)"),
    }
    if let Some(goal) = value["sprint"]["goal"].as_str().filter(|g| !g.is_empty()) {
        page.line(&format!("Goal: {goal}"));
    }
    if let Some(burndown) = value["burndown"].as_object() {
        page.line(&format!(
            "Day {} of {}: {:.1} of {:.1} h left, ideal {:.1} ({})",
            burndown["day"],
            burndown["days"],
            burndown["remaining"].as_f64().unwrap_or(0.0),
            burndown["total"].as_f64().unwrap_or(0.0),
            burndown["ideal"].as_f64().unwrap_or(0.0),
            if burndown["on_track"] == true {
                "on track"
            } else {
                "behind"
            }
        ));
    }
    for column in value["columns"].as_array().into_iter().flatten() {
        let count = column["count"].as_i64().unwrap_or(0);
        let mut title = match column["wip_limit"].as_u64() {
            Some(limit) => format!("{} ({count}/{limit})", str_of(&column["status"])),
            None => format!("{} ({count})", str_of(&column["status"])),
        };
        if column["over_limit"] == true {
            title.push_str(" over the WIP limit");
        }
        let cards = page.section(&title, &column["items"], None, |card| {
            let mut parts = vec![str_of(&card["priority"]).to_owned()];
            if let Some(who) = card["assignee"].as_str() {
                parts.push(format!("@{who}"));
            }
            if card["progress"].as_i64().unwrap_or(0) > 0 {
                parts.push(format!("{}%", card["progress"]));
            }
            if let Some(hours) = card["estimate"].as_f64() {
                parts.push(format!("{hours}h"));
            }
            let (id, title) = (str_of(&card["id"]), str_of(&card["title"]));
            if markdown {
                format!("**{id}** {title} · {}", parts.join(" · "))
            } else {
                format!("{id}  {title}  {}", parts.join("  "))
            }
        });
        if count > cards as i64 {
            page.bullet(&format!("… and {} more", count - cards as i64));
        }
    }
    if value["blockers"].as_array().is_some_and(|b| !b.is_empty()) {
        page.section("Blockers", &value["blockers"], None, blocker_line);
    }
    page.text
}

/// Text for people, as markdown or plain: a title, headed sections of bulleted lines.
struct Page {
    text: String,
    markdown: bool,
}

impl Page {
    fn new(markdown: bool) -> Page {
        Page {
            text: String::new(),
            markdown,
        }
    }

    fn title(&mut self, line: &str) {
        let mark = if self.markdown { "## " } else { "" };
        let _ = writeln!(self.text, "{mark}{line}");
    }

    fn line(&mut self, line: &str) {
        let _ = writeln!(self.text, "{line}");
    }

    fn bullet(&mut self, line: &str) {
        let mark = if self.markdown { "- " } else { "  " };
        let _ = writeln!(self.text, "{mark}{line}");
    }

    /// A heading, then a bullet per item of the array `items` (or the line `empty` when
    /// there is none). Returns how many items it showed.
    fn section(
        &mut self,
        heading: &str,
        items: &Value,
        empty: Option<&str>,
        line: impl Fn(&Value) -> String,
    ) -> usize {
        let mark = if self.markdown { "### " } else { "" };
        let _ = writeln!(self.text, "\n{mark}{heading}");
        let items = items.as_array().map(Vec::as_slice).unwrap_or_default();
        if let (true, Some(empty)) = (items.is_empty(), empty) {
            self.bullet(empty);
        }
        for item in items {
            self.bullet(&line(item));
        }
        items.len()
    }
}

fn blocker_line(blocker: &Value) -> String {
    format!(
        "{} {}: {}",
        str_of(&blocker["id"]),
        str_of(&blocker["title"]),
        why_blocked(blocker)
    )
}

fn why_blocked(blocker: &Value) -> String {
    let mut why = Vec::new();
    if let Some(reason) = blocker["reason"].as_str() {
        why.push(reason.to_owned());
    }
    let waiting: Vec<&str> = blocker["waiting_on"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if !waiting.is_empty() {
        why.push(format!("waiting on {}", waiting.join(", ")));
    }
    if why.is_empty() {
        "blocked".to_owned()
    } else {
        why.join("; ")
    }
}

// ---------------------------------------------------------------------------------------
// summary

pub(super) fn summary(context: &Context, out: &mut Output, format: Format) -> anyhow::Result<()> {
    let value = summary_value(context)?;
    print(out, format, &value, render_summary)
}

fn summary_value(context: &Context) -> anyhow::Result<Value> {
    let project = context.tracker_project()?;
    let sessions = sessions(context, false)?;
    let current = context.session_hint().map(str::to_owned);
    let Some(db) = context.existing_tracker()? else {
        return Ok(json!({"schema_version": SCHEMA_VERSION, "project": project,
            "current_session": current, "items": {"total": 0, "by_status": {}, "by_kind": {}},
            "sprint": null, "sessions": sessions, "blockers": [], "ready": [], "decisions": []}));
    };
    let conn = db.conn();
    let totals = counts(conn)?;
    let mut by_status = std::collections::BTreeMap::<&str, i64>::new();
    let mut by_kind = std::collections::BTreeMap::<&str, i64>::new();
    for (kind, status, count) in &totals {
        *by_status.entry(status).or_default() += count;
        *by_kind.entry(kind).or_default() += count;
    }
    let total: i64 = by_status.values().sum();
    let sprint = match sprints::active(conn)? {
        Some(id) => {
            let mut value = serde_json::to_value(sprints::get(conn, &id)?)?;
            let (items, done, hours, hours_done): (i64, i64, f64, f64) = conn.query_row(
                "SELECT count(*), COALESCE(sum(i.status = 'DONE'), 0), COALESCE(sum(COALESCE(i.estimate, 0)), 0), \
                 COALESCE(sum(CASE WHEN i.status = 'DONE' THEN COALESCE(i.estimate, 0) ELSE 0 END), 0) \
                 FROM sprint_items si JOIN items i ON i.id = si.item WHERE si.sprint = ?1",
                [&id],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
            )?;
            let day = sprints::burndown_of(conn, &id, sprints::day_of(context.now))
                .map_or(0, |burndown| burndown.days.len());
            for (key, field) in [
                ("items", json!(items)),
                ("items_done", json!(done)),
                ("hours", json!(hours)),
                ("hours_done", json!(hours_done)),
                ("day", json!(day)),
            ] {
                value[key] = field;
            }
            value
        }
        None => Value::Null,
    };
    let blockers = blockers_json(conn, &blockers(conn, None, 10)?)?;
    let ready: Vec<Value> = query_items(
        conn,
        &format!(
            "SELECT {COLUMNS} FROM items i WHERE status = 'TODO' AND open_deps = 0 \
             AND NOT EXISTS (SELECT 1 FROM items c WHERE c.parent = i.id \
              AND c.status NOT IN ('DONE', 'CANCELLED')) ORDER BY priority, seq LIMIT 5"
        ),
        [],
    )?
    .iter()
    .map(|item| card(item, &[]))
    .collect();
    let mut statement =
        conn.prepare("SELECT id, title, created_at FROM decisions ORDER BY seq DESC LIMIT 3")?;
    let decisions = statement
        .query_map([], |row| {
            Ok(
                json!({"id": row.get::<_, String>(0)?, "title": row.get::<_, String>(1)?,
                "created_at": row.get::<_, String>(2)?}),
            )
        })?
        .collect::<Result<Vec<Value>, _>>()?;
    Ok(json!({
        "schema_version": SCHEMA_VERSION,
        "project": project,
        "current_session": current,
        "items": {"total": total, "by_status": by_status, "by_kind": by_kind},
        "sprint": sprint,
        "sessions": sessions,
        "blockers": blockers,
        "ready": ready,
        "decisions": decisions,
    }))
}

/// How many items there are of each kind and status, from one walk of an index.
fn counts(conn: &Connection) -> anyhow::Result<Vec<(String, String, i64)>> {
    let mut statement =
        conn.prepare("SELECT kind, status, count(*) FROM items GROUP BY kind, status")?;
    let rows = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The `limit` most urgent items that are blocked or wait for unfinished work: in a sprint,
/// or anywhere. Anywhere is one query per status, each walking the status's priority index,
/// so a big plan costs no more than a small one.
fn blockers(conn: &Connection, sprint: Option<&str>, limit: usize) -> anyhow::Result<Vec<Item>> {
    if let Some(sprint) = sprint {
        return Ok(query_items(
            conn,
            &format!(
                "SELECT {COLUMNS} FROM items WHERE id IN (SELECT item FROM sprint_items WHERE sprint = ?1) \
                 AND ({BLOCKED}) ORDER BY priority, seq LIMIT ?2"
            ),
            params![sprint, limit as i64],
        )?);
    }
    let mut found = Vec::new();
    for status in [
        "BLOCKED",
        "BACKLOG",
        "TODO",
        "IN_PROGRESS",
        "IN_REVIEW",
        "TESTING",
    ] {
        let waiting = if status == "BLOCKED" {
            ""
        } else {
            "AND open_deps > 0"
        };
        found.extend(query_items(
            conn,
            &format!(
                "SELECT {COLUMNS} FROM items INDEXED BY items_status_priority \
                 WHERE status = ?1 {waiting} ORDER BY priority, seq LIMIT ?2"
            ),
            params![status, limit as i64],
        )?);
    }
    found.sort_by_key(|item| (item.priority.rank(), item.status != Status::Blocked));
    found.truncate(limit);
    Ok(found)
}

/// Blockers as the views show them: with the reason and what each waits for.
fn blockers_json(conn: &Connection, items: &[Item]) -> anyhow::Result<Vec<Value>> {
    items
        .iter()
        .map(|item| {
            Ok(
                json!({"id": item.id, "title": item.title, "status": item.status.as_str(),
                "reason": item.blocked_reason, "waiting_on": waiting_on(conn, item)?}),
            )
        })
        .collect()
}

fn render_summary(value: &Value, markdown: bool) -> String {
    let mut page = Page::new(markdown);
    page.title(&format!(
        "Project {}: {} items",
        str_of(&value["project"]),
        value["items"]["total"]
    ));
    if let Some(by_status) = value["items"]["by_status"]
        .as_object()
        .filter(|m| !m.is_empty())
    {
        let parts: Vec<String> = Status::NAMES
            .iter()
            .filter_map(|status| by_status.get(*status).map(|n| format!("{status} {n}")))
            .collect();
        page.line(&parts.join(", "));
    }
    let sprint = match value["sprint"].as_object() {
        Some(sprint) => json!([format!(
            "{} ({}): day {} of {}, {} of {} items done, {:.1} of {:.1} h",
            str_of(&sprint["name"]),
            str_of(&sprint["id"]),
            sprint["day"],
            sprint["duration_days"],
            sprint["items_done"],
            sprint["items"],
            sprint["hours_done"].as_f64().unwrap_or(0.0),
            sprint["hours"].as_f64().unwrap_or(0.0)
        )]),
        None => json!([]),
    };
    page.section("Sprint", &sprint, Some("no active sprint"), |line| {
        str_of(line).to_owned()
    });
    page.section(
        "Sessions",
        &value["sessions"],
        Some("none live"),
        session_line,
    );
    page.section("Blockers", &value["blockers"], Some("none"), blocker_line);
    page.section(
        "Ready next",
        &value["ready"],
        Some("nothing ready"),
        |item| {
            format!(
                "{} {} ({})",
                str_of(&item["id"]),
                str_of(&item["title"]),
                str_of(&item["priority"])
            )
        },
    );
    if value["decisions"].as_array().is_some_and(|d| !d.is_empty()) {
        page.section("Latest decisions", &value["decisions"], None, |decision| {
            format!("{} {}", str_of(&decision["id"]), str_of(&decision["title"]))
        });
    }
    page.text
}

// ---------------------------------------------------------------------------------------
// sessions, shared by summary and monitor

/// Sessions worth showing, most recent activity first: those not ended, and with `recent`
/// also those ended in the last day. Unreadable documents are skipped.
fn sessions(context: &Context, recent: bool) -> anyhow::Result<Vec<Value>> {
    let store = context.store()?;
    let now = context.now;
    let tracker = context.existing_tracker().ok().flatten();
    let mut found = Vec::new();
    for id in store.ids()? {
        let Ok(Some(document)) = store.try_read(&id) else {
            continue;
        };
        let Ok(lifecycle) = Lifecycle::of(&document) else {
            continue;
        };
        let status = lifecycle.status(now);
        let last = document
            .pointer("/session/lifecycle/last_activity")
            .and_then(Value::as_str)
            .and_then(|raw| session::parse_time(raw).ok());
        let live = !status.is_ended() && status != session::Status::Expired;
        let lately = last.is_some_and(|last| now.duration_since(last).as_secs() < 86_400);
        if !(live || recent && lately) {
            continue;
        }
        let task = match &tracker {
            Some(db) => current_item(db.conn(), id.as_str())?,
            None => Value::Null,
        };
        found.push((last, session_value(&document, now, status, task)));
    }
    found.sort_by_key(|(last, _)| std::cmp::Reverse(*last));
    Ok(found.into_iter().map(|(_, value)| value).collect())
}

/// The item a session works on: in progress and linked to it, else assigned to it.
fn current_item(conn: &Connection, session: &str) -> anyhow::Result<Value> {
    let found = query_items(
        conn,
        &format!(
            "SELECT {COLUMNS} FROM items WHERE (session = ?1 OR assignee = ?1) \
             AND status NOT IN ('DONE', 'CANCELLED') ORDER BY status != 'IN_PROGRESS', updated_at DESC LIMIT 1"
        ),
        [session],
    )?;
    Ok(found.first().map_or(Value::Null, |item| {
        json!({"id": item.id, "title": item.title, "status": item.status.as_str(), "progress": item.progress})
    }))
}

fn session_value(document: &Value, now: Timestamp, status: session::Status, task: Value) -> Value {
    let at = |pointer: &str| document.pointer(pointer).cloned().unwrap_or(Value::Null);
    let age = document
        .pointer("/session/created_at")
        .and_then(Value::as_str)
        .and_then(|raw| session::parse_time(raw).ok())
        .map(|created| now.duration_since(created).as_secs());
    let agents: Vec<Value> = document
        .pointer("/execution/agents")
        .and_then(Value::as_object)
        .map(|agents| {
            agents
                .iter()
                .map(|(id, agent)| {
                    json!({"id": id, "type": agent.get("type"), "status": agent.get("status")})
                })
                .collect()
        })
        .unwrap_or_default();
    let failures: u64 = document
        .pointer("/observability/metrics/tools")
        .and_then(Value::as_object)
        .map(|tools| {
            tools
                .values()
                .filter_map(|tool| tool.get("failures").and_then(Value::as_u64))
                .sum()
        })
        .unwrap_or(0);
    json!({
        "id": at("/session/id"),
        "mode": at("/session/mode"),
        "status": status.as_str(),
        "age_seconds": age,
        "last_activity": at("/session/lifecycle/last_activity"),
        "tool_calls": document.pointer("/observability/metrics/tool_calls").cloned().unwrap_or(json!(0)),
        "failures": failures,
        "todos": {"done": at("/execution/todos/done"), "total": at("/execution/todos/total")},
        "files": document.pointer("/execution/files").and_then(Value::as_object).map_or(0, |files| files.len()),
        "last_test": at("/execution/tests/last/passed"),
        "agents": agents,
        "task": task,
    })
}

fn session_line(session: &Value) -> String {
    let mut parts = vec![
        str_of(&session["id"]).to_owned(),
        str_of(&session["mode"]).to_owned(),
        str_of(&session["status"]).to_owned(),
    ];
    if let Some(seconds) = session["age_seconds"].as_i64() {
        parts.push(format!("up {}", crate::hook::age(seconds)));
    }
    if let Some(total) = session["todos"]["total"].as_u64() {
        parts.push(format!(
            "to-dos {}/{total}",
            session["todos"]["done"].as_u64().unwrap_or(0)
        ));
    }
    parts.push(format!("{} tool calls", session["tool_calls"]));
    match session["last_test"].as_bool() {
        Some(true) => parts.push("tests passed".to_owned()),
        Some(false) => parts.push("tests FAILED".to_owned()),
        None => {}
    }
    let running = session["agents"].as_array().map_or(0, |agents| {
        agents
            .iter()
            .filter(|agent| agent["status"] == "running")
            .count()
    });
    if running > 0 {
        parts.push(format!("{running} agents running"));
    }
    if let Some(task) = session["task"].as_object() {
        parts.push(format!(
            "on {} {}",
            str_of(&task["id"]),
            str_of(&task["title"])
        ));
    }
    parts.join(" · ")
}

// ---------------------------------------------------------------------------------------
// monitor

pub(super) fn monitor(
    context: &Context,
    out: &mut Output,
    limit: usize,
    format: Format,
) -> anyhow::Result<()> {
    let value = monitor_value(context, limit)?;
    print(out, format, &value, render_monitor)
}

fn monitor_value(context: &Context, limit: usize) -> anyhow::Result<Value> {
    let sessions = sessions(context, true)?;
    let mut activity: Vec<Value> = Vec::new();
    // What sessions did, from their own bounded event logs; heartbeats are noise here.
    let store = context.store()?;
    for session in &sessions {
        let Some(id) = session["id"]
            .as_str()
            .and_then(|id| orchestron_core::ids::SessionId::parse(id).ok())
        else {
            continue;
        };
        let Ok(Some(document)) = store.try_read(&id) else {
            continue;
        };
        for event in document
            .pointer("/observability/events")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|event| event["type"] != "heartbeat")
        {
            activity.push(json!({"at": event["timestamp"], "session": id.as_str(),
                "what": event["type"], "detail": event["data"]}));
        }
    }
    let mut items_done_today = 0;
    let mut items_in_progress = 0;
    if let Some(db) = context.existing_tracker()? {
        let conn = db.conn();
        let mut statement = conn.prepare(
            "SELECT e.at, e.item, e.what, e.detail, e.session, i.title FROM events e \
             LEFT JOIN items i ON i.id = e.item ORDER BY e.id DESC LIMIT ?1",
        )?;
        let rows = statement
            .query_map([limit as i64], |row| {
                let detail: Option<String> = row.get(3)?;
                Ok(json!({"at": row.get::<_, String>(0)?, "item": row.get::<_, String>(1)?,
                    "what": row.get::<_, String>(2)?,
                    "detail": detail.and_then(|d| serde_json::from_str::<Value>(&d).ok()),
                    "session": row.get::<_, Option<String>>(4)?, "title": row.get::<_, Option<String>>(5)?}))
            })?
            .collect::<Result<Vec<Value>, _>>()?;
        activity.extend(rows);
        let today = context.now.to_string();
        let today = today.get(..10).unwrap_or_default().to_owned();
        (items_done_today, items_in_progress) = conn.query_row(
            "SELECT (SELECT count(*) FROM items WHERE status = 'DONE' AND completed_at >= ?1), \
             (SELECT count(*) FROM items WHERE status = 'IN_PROGRESS')",
            [today],
            |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)),
        )?;
    }
    // Newest first, by time (as text `…37.8Z` would sort after `…37.883Z`).
    activity.sort_by_key(|event| {
        std::cmp::Reverse(
            event["at"]
                .as_str()
                .and_then(|at| session::parse_time(at).ok()),
        )
    });
    activity.truncate(limit);
    let live = sessions
        .iter()
        .filter(|session| matches!(session["status"].as_str(), Some("active" | "paused")))
        .count();
    let sum = |key: &str| -> u64 { sessions.iter().filter_map(|s| s[key].as_u64()).sum() };
    let agents_running: usize = sessions
        .iter()
        .map(|s| {
            s["agents"]
                .as_array()
                .map_or(0, |a| a.iter().filter(|a| a["status"] == "running").count())
        })
        .sum();
    let failing = sessions.iter().filter(|s| s["last_test"] == false).count();
    Ok(json!({
        "schema_version": SCHEMA_VERSION,
        "sessions": sessions,
        "activity": activity,
        "metrics": {
            "sessions_live": live,
            "agents_running": agents_running,
            "tool_calls": sum("tool_calls"),
            "tool_failures": sum("failures"),
            "sessions_with_failing_tests": failing,
            "items_in_progress": items_in_progress,
            "items_done_today": items_done_today,
        },
    }))
}

fn render_monitor(value: &Value, markdown: bool) -> String {
    let mut page = Page::new(markdown);
    let m = &value["metrics"];
    page.title(&format!(
        "{} live sessions, {} agents running, {} tool calls ({} failed), {} items in progress, {} done today",
        m["sessions_live"],
        m["agents_running"],
        m["tool_calls"],
        m["tool_failures"],
        m["items_in_progress"],
        m["items_done_today"]
    ));
    page.section(
        "Sessions",
        &value["sessions"],
        Some("none in the last day"),
        session_line,
    );
    page.section(
        "Activity",
        &value["activity"],
        Some("nothing yet"),
        |event| {
            let what = event["item"]
                .as_str()
                .map(|item| format!("{item} {}", event["title"].as_str().unwrap_or_default()))
                .or_else(|| event["session"].as_str().map(|s| format!("session {s}")))
                .unwrap_or_default();
            format!(
                "{} {} {}",
                str_of(&event["at"]),
                str_of(&event["what"]),
                what
            )
            .trim_end()
            .to_owned()
        },
    );
    page.text
}

fn str_of(value: &Value) -> &str {
    value.as_str().unwrap_or("-")
}

fn round(hours: f64) -> f64 {
    (hours * 10.0).round() / 10.0
}
