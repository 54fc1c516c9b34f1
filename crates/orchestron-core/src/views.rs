//! The views every face shows: [`board`] (the Kanban board), [`summary`] (the project on one
//! page) and [`monitor`] (live sessions and the latest activity). Each is gathered once as a
//! JSON value with a `schema_version`, which a face prints as it is or renders (the CLI as
//! markdown or text), so that its formats never disagree.
//!
//! Views only read. The tracker is opened for reads (an empty one in memory when the project
//! has none) and session documents are read without a lock, so a view creates no tracker,
//! state root or lock file. Counts come from the indexes, never from reading every row; the
//! rules they show (what is ready, what is blocked, sprint totals and burndown, the verdict
//! of a test run) are the tracker's and the sessions' own, called here rather than restated.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use jiff::Timestamp;
use rusqlite::{Connection, params};
use serde_json::{Value, json};

use crate::context::Context;
use crate::error::{Error, Result};
use crate::ids::SessionId;
use crate::session::{self, Lifecycle};
use crate::sessions;
use crate::tracker::items::{COLUMNS, Item};
use crate::tracker::model::Status;
use crate::tracker::tasks::{self, BLOCKED, READY, query_items};
use crate::tracker::{knowledge, sprints};

/// The version of the views' JSON; it changes when a key changes meaning or goes away.
const SCHEMA_VERSION: u32 = 1;

/// The most blockers the board lists, whatever its `limit`.
const BLOCKERS_ON_BOARD: usize = 20;

/// The most blockers, ready items and decisions the summary lists.
const BLOCKERS_IN_SUMMARY: usize = 10;
const READY_IN_SUMMARY: usize = 5;
const DECISIONS_IN_SUMMARY: usize = 3;

/// How long an ended session stays on the monitor.
const RECENT_SECONDS: i64 = 86_400;

/// The board's columns, left to right. CANCELLED items are never shown; BACKLOG only when
/// it holds something.
const COLUMNS_SHOWN: [Status; 7] = [
    Status::Backlog,
    Status::Todo,
    Status::InProgress,
    Status::InReview,
    Status::Testing,
    Status::Blocked,
    Status::Done,
];

// ---------------------------------------------------------------------------------------
// board

/// The board as JSON: the sprint (`sprint`, by id or prefix; else the active one; else
/// `null` for every open item but epics), its burndown, the columns with their WIP limits
/// and at most `limit` cards each, and the most urgent blockers.
pub fn board(cx: &Context, sprint: Option<&str>, limit: usize) -> Result<Value> {
    let mut value = board_of(cx, sprint, limit)?;
    crate::agents::Names::new(cx).annotate(&mut value);
    Ok(value)
}

fn board_of(cx: &Context, sprint: Option<&str>, limit: usize) -> Result<Value> {
    let now = cx.now();
    if let (Some(sprint), false) = (sprint, cx.tracker_path().exists()) {
        return Err(Error::not_found(format!(
            "sprint `{sprint}` not found: this project has no tracker yet"
        )));
    }
    let db = cx.tracker_for_reads()?;
    let conn = db.conn();
    let sprint = match sprint {
        Some(raw) => Some(tasks::resolve_sprint(conn, raw)?),
        None => sprints::active(conn)?,
    };
    let mut columns = Vec::new();
    for status in COLUMNS_SHOWN {
        let (count, cards) = column_cards(conn, sprint.as_deref(), status, limit)?;
        if status == Status::Backlog && count == 0 {
            continue;
        }
        let cards = cards
            .iter()
            .map(|item| Ok(card(item, &tasks::waiting_on(conn, &item.id)?)))
            .collect::<Result<Vec<Value>>>()?;
        let wip_limit = cx.config().wip_limit(status.as_str());
        columns.push(json!({
            "status": status.as_str(),
            "count": count,
            "wip_limit": wip_limit,
            "over_limit": over_wip_limit(count, wip_limit),
            "items": cards,
        }));
    }
    let (sprint_json, burndown) = match &sprint {
        Some(id) => {
            let sprint = sprints::get(conn, id)?;
            // A sprint without a start date has no burndown yet.
            let burndown = sprints::burndown_of(conn, id, sprints::day_of(now))
                .ok()
                .map_or(Value::Null, |burndown| {
                    burndown_json(&burndown, sprint.duration_days)
                });
            (serde_json::to_value(sprint)?, burndown)
        }
        None => (Value::Null, Value::Null),
    };
    let blockers = blockers_json(conn, &blockers(conn, sprint.as_deref(), BLOCKERS_ON_BOARD)?)?;
    Ok(json!({
        "schema_version": SCHEMA_VERSION,
        "sprint": sprint_json,
        "burndown": burndown,
        "columns": columns,
        "blockers": blockers,
    }))
}

/// How many items of a board column there are, and its first `limit` cards: done work
/// shows its latest, the rest goes by priority, then age. In a sprint, its items; without
/// one, every item but epics, counted from the status index.
fn column_cards(
    conn: &Connection,
    sprint: Option<&str>,
    status: Status,
    limit: usize,
) -> Result<(i64, Vec<Item>)> {
    let order = if status == Status::Done {
        "completed_at DESC"
    } else {
        "priority, seq"
    };
    let status = status.as_str();
    match sprint {
        Some(sprint) => {
            let scope = "id IN (SELECT item FROM sprint_items WHERE sprint = ?1) AND status = ?2";
            let count = conn.query_row(
                &format!("SELECT count(*) FROM items WHERE {scope}"),
                params![sprint, status],
                |row| row.get(0),
            )?;
            let cards = query_items(
                conn,
                &format!("SELECT {COLUMNS} FROM items WHERE {scope} ORDER BY {order} LIMIT ?3"),
                params![sprint, status, limit as i64],
            )?;
            Ok((count, cards))
        }
        None => {
            // All of a status, less its epics: two walks of indexes, not of rows.
            let count = conn.query_row(
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
            Ok((count, cards))
        }
    }
}

/// Whether a column holds more than its work-in-progress limit (a column without one never
/// does).
fn over_wip_limit(count: i64, wip_limit: Option<u32>) -> bool {
    wip_limit.is_some_and(|wip_limit| count > i64::from(wip_limit))
}

/// Where the board's burndown stands today: the last day's remaining and ideal hours.
fn burndown_json(burndown: &sprints::Burndown, duration_days: i64) -> Value {
    let total = burndown.total;
    let last = burndown.days.last();
    json!({
        "total": total,
        "remaining": last.map_or(total, |day| day.remaining),
        "ideal": last.map_or(total, |day| round_to_tenth(day.ideal)),
        "day": burndown.days.len(),
        "days": duration_days,
        "on_track": last.is_none_or(|day| on_track(day.remaining, day.ideal, total, duration_days)),
    })
}

/// Whether a sprint is on track: what remains at the end of today is no more than where the
/// ideal line stood when today began (one day's share of the total above today's ideal),
/// with a little slack for rounding.
fn on_track(remaining: f64, ideal: f64, total: f64, duration_days: i64) -> bool {
    let days = (duration_days as f64).max(1.0);
    remaining <= ideal + total / days + 0.05
}

fn round_to_tenth(hours: f64) -> f64 {
    (hours * 10.0).round() / 10.0
}

/// An item as a card on the board (and a line of the summary's ready work).
fn card(item: &Item, waiting_on: &[String]) -> Value {
    json!({
        "id": item.id,
        "title": item.title,
        "kind": item.kind.as_str(),
        "priority": item.priority.as_str(),
        "assignee": item.assignee,
        "progress": item.progress,
        "estimate": item.estimate,
        "blocked_reason": item.blocked_reason,
        "waiting_on": waiting_on,
    })
}

/// The `limit` most urgent items that are blocked ([`BLOCKED`]): in a sprint, or anywhere.
/// Anywhere is one query per open status, each walking the status's priority index, so a
/// big plan costs no more than a small one; the BLOCKED ones come first among equals.
fn blockers(conn: &Connection, sprint: Option<&str>, limit: usize) -> Result<Vec<Item>> {
    if let Some(sprint) = sprint {
        return query_items(
            conn,
            &format!(
                "SELECT {COLUMNS} FROM items WHERE id IN (SELECT item FROM sprint_items WHERE sprint = ?1) \
                 AND ({BLOCKED}) ORDER BY priority, seq LIMIT ?2"
            ),
            params![sprint, limit as i64],
        );
    }
    let mut found = Vec::new();
    for status in [
        Status::Blocked,
        Status::Backlog,
        Status::Todo,
        Status::InProgress,
        Status::InReview,
        Status::Testing,
    ] {
        let waiting = if status == Status::Blocked {
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
            params![status.as_str(), limit as i64],
        )?);
    }
    found.sort_by_key(|item| (item.priority.rank(), item.status != Status::Blocked));
    found.truncate(limit);
    Ok(found)
}

/// Blockers as the views show them: with the reason and what each waits for.
fn blockers_json(conn: &Connection, items: &[Item]) -> Result<Vec<Value>> {
    items
        .iter()
        .map(|item| {
            Ok(json!({
                "id": item.id,
                "title": item.title,
                "status": item.status.as_str(),
                "reason": item.blocked_reason,
                "waiting_on": tasks::waiting_on(conn, &item.id)?,
            }))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// summary

/// The project on one page, as JSON: its items by status and kind, the active sprint with
/// its totals, the live sessions, the most urgent blockers, what is ready next and the
/// latest decisions.
pub fn summary(cx: &Context) -> Result<Value> {
    let mut value = summary_of(cx)?;
    crate::agents::Names::new(cx).annotate(&mut value);
    Ok(value)
}

fn summary_of(cx: &Context) -> Result<Value> {
    let now = cx.now();
    let db = cx.tracker_for_reads()?;
    let conn = db.conn();
    let sessions: Vec<Value> = sessions_shown(cx, conn, now, false)?
        .into_iter()
        .map(|shown| shown.value)
        .collect();
    let mut by_status = BTreeMap::<String, i64>::new();
    let mut by_kind = BTreeMap::<String, i64>::new();
    for (kind, status, count) in counts(conn)? {
        *by_status.entry(status).or_default() += count;
        *by_kind.entry(kind).or_default() += count;
    }
    let total: i64 = by_status.values().sum();
    let sprint = match sprints::active(conn)? {
        Some(id) => sprint_totals(conn, &id, now)?,
        None => Value::Null,
    };
    let blockers = blockers_json(conn, &blockers(conn, None, BLOCKERS_IN_SUMMARY)?)?;
    let ready: Vec<Value> = query_items(
        conn,
        &format!("SELECT {COLUMNS} FROM items WHERE {READY} ORDER BY priority, seq LIMIT ?1"),
        [READY_IN_SUMMARY as i64],
    )?
    .iter()
    .map(|item| card(item, &[]))
    .collect();
    let decisions = knowledge::latest_decisions(conn, DECISIONS_IN_SUMMARY)?;
    Ok(json!({
        "schema_version": SCHEMA_VERSION,
        "project": cx.project(),
        "current_session": cx.actor(),
        "items": {"total": total, "by_status": by_status, "by_kind": by_kind},
        "sprint": sprint,
        "sessions": sessions,
        "blockers": blockers,
        "ready": ready,
        "decisions": decisions,
    }))
}

/// How many items there are of each kind and status, from one walk of an index.
fn counts(conn: &Connection) -> Result<Vec<(String, String, i64)>> {
    let mut statement =
        conn.prepare("SELECT kind, status, count(*) FROM items GROUP BY kind, status")?;
    let rows = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// A sprint with its items and estimated hours, in all and done, and the day it is on.
fn sprint_totals(conn: &Connection, id: &str, now: Timestamp) -> Result<Value> {
    let detail = sprints::detail(conn, id)?;
    let done = detail
        .items
        .iter()
        .filter(|item| item.status == Status::Done)
        .count();
    let day = sprints::burndown_of(conn, id, sprints::day_of(now))
        .map_or(0, |burndown| burndown.days.len());
    let mut value = serde_json::to_value(&detail.sprint)?;
    for (key, field) in [
        ("items", json!(detail.items.len())),
        ("items_done", json!(done)),
        ("hours", json!(detail.estimate_total)),
        ("hours_done", json!(detail.estimate_done)),
        ("day", json!(day)),
    ] {
        value[key] = field;
    }
    Ok(value)
}

// ---------------------------------------------------------------------------------------
// sessions, shared by summary and monitor

/// A session a view shows: its document, as read once, and what the views show of it.
struct ShownSession {
    document: Value,
    value: Value,
}

/// Sessions worth showing, most recent activity first: those live (neither ended nor
/// expired), and with `recent` also those active in the last day. Unreadable documents
/// are skipped.
fn sessions_shown(
    cx: &Context,
    conn: &Connection,
    now: Timestamp,
    recent: bool,
) -> Result<Vec<ShownSession>> {
    let store = cx.store(sessions::FOLDER);
    let mut found = Vec::new();
    for id in store.ids()? {
        let Ok(Some(document)) = store.try_read(&id) else {
            continue;
        };
        let Ok(lifecycle) = Lifecycle::of(&document) else {
            continue;
        };
        let status = lifecycle.status(now);
        let last_activity = document
            .pointer("/session/lifecycle/last_activity")
            .and_then(Value::as_str)
            .and_then(|raw| session::parse_time(raw).ok());
        let live = !status.is_ended() && status != session::Status::Expired;
        let lately =
            last_activity.is_some_and(|last| now.duration_since(last).as_secs() < RECENT_SECONDS);
        if !(live || recent && lately) {
            continue;
        }
        let task = current_item(conn, id.as_str())?;
        let value = session_value(&document, now, status, task);
        found.push((last_activity, ShownSession { document, value }));
    }
    found.sort_by_key(|(last_activity, _)| Reverse(*last_activity));
    Ok(found.into_iter().map(|(_, shown)| shown).collect())
}

/// The item a session works on: open and linked to it or assigned to it, the one in
/// progress first, else the latest changed.
fn current_item(conn: &Connection, session: &str) -> Result<Value> {
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

/// What the views show of a session document, with its status as of `now` and the item it
/// works on.
fn session_value(document: &Value, now: Timestamp, status: session::Status, task: Value) -> Value {
    let at = |pointer: &str| document.pointer(pointer).cloned().unwrap_or(Value::Null);
    let age = document
        .pointer("/session/created_at")
        .and_then(Value::as_str)
        .and_then(|raw| session::parse_time(raw).ok())
        .map(|created| now.duration_since(created).as_secs());
    let ran = match session::run_time(document, now) {
        Some(session::RunTime::Ran(seconds)) => json!(seconds),
        _ => Value::Null,
    };
    let waiting = session::waiting(document).map_or(Value::Null, |waiting| {
        let seconds = waiting["since"]
            .as_str()
            .and_then(|raw| session::parse_time(raw).ok())
            .map(|since| now.duration_since(since).as_secs().max(0));
        json!({"since": waiting["since"], "reason": waiting["reason"],
            "message": waiting["message"], "seconds": seconds})
    });
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
        "ran_seconds": ran,
        "waiting": waiting,
        "worktree": at("/session/worktree"),
        "branch": at("/session/branch"),
        "agent": crate::agents::name_of(document),
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

// ---------------------------------------------------------------------------------------
// monitor

/// Live sessions and those active in the last day, the `limit` latest things that happened
/// (the sessions' own events, heartbeats left out, and the tracker's history), and the
/// figures over them.
pub fn monitor(cx: &Context, limit: usize) -> Result<Value> {
    let mut value = monitor_of(cx, limit)?;
    crate::agents::Names::new(cx).annotate(&mut value);
    Ok(value)
}

fn monitor_of(cx: &Context, limit: usize) -> Result<Value> {
    let now = cx.now();
    let db = cx.tracker_for_reads()?;
    let conn = db.conn();
    let shown = sessions_shown(cx, conn, now, true)?;
    let mut activity: Vec<Value> = Vec::new();
    for ShownSession { document, value } in &shown {
        let Some(id) = value["id"]
            .as_str()
            .and_then(|id| SessionId::parse(id).ok())
        else {
            continue;
        };
        activity.extend(
            document
                .pointer("/observability/events")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|event| event["type"] != "heartbeat")
                .map(|event| {
                    json!({"at": event["timestamp"], "session": id.as_str(),
                        "what": event["type"], "detail": event["data"]})
                }),
        );
    }
    activity.extend(tracker_events(conn, limit)?);
    newest_first(&mut activity);
    activity.truncate(limit);
    let today = sprints::day_of(now).to_string();
    let (items_done_today, items_in_progress) = conn.query_row(
        "SELECT (SELECT count(*) FROM items WHERE status = 'DONE' AND completed_at >= ?1), \
         (SELECT count(*) FROM items WHERE status = 'IN_PROGRESS')",
        [today],
        |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)),
    )?;
    let sessions_with_failing_tests = shown
        .iter()
        .filter(|shown| {
            let last = shown.document.pointer("/execution/tests/last");
            last.and_then(session::test_verdict) == Some("FAILED")
        })
        .count();
    let sessions: Vec<Value> = shown.into_iter().map(|shown| shown.value).collect();
    let sessions_live = sessions
        .iter()
        .filter(|session| matches!(session["status"].as_str(), Some("active" | "paused")))
        .count();
    let sessions_waiting = sessions
        .iter()
        .filter(|session| session["waiting"].is_object())
        .count();
    let sum = |key: &str| -> u64 { sessions.iter().filter_map(|s| s[key].as_u64()).sum() };
    let agents_running: usize = sessions
        .iter()
        .map(|session| {
            session["agents"].as_array().map_or(0, |agents| {
                agents
                    .iter()
                    .filter(|agent| agent["status"] == "running")
                    .count()
            })
        })
        .sum();
    Ok(json!({
        "schema_version": SCHEMA_VERSION,
        "metrics": {
            "sessions_live": sessions_live,
            "sessions_waiting": sessions_waiting,
            "agents_running": agents_running,
            "tool_calls": sum("tool_calls"),
            "tool_failures": sum("failures"),
            "sessions_with_failing_tests": sessions_with_failing_tests,
            "items_in_progress": items_in_progress,
            "items_done_today": items_done_today,
        },
        "sessions": sessions,
        "activity": activity,
    }))
}

/// The tracker's `limit` latest events, each with its item's title.
fn tracker_events(conn: &Connection, limit: usize) -> Result<Vec<Value>> {
    let mut statement = conn.prepare(
        "SELECT e.at, e.item, e.what, e.detail, e.session, i.title FROM events e \
         LEFT JOIN items i ON i.id = e.item ORDER BY e.id DESC LIMIT ?1",
    )?;
    let rows = statement
        .query_map([limit as i64], |row| {
            let detail: Option<String> = row.get(3)?;
            Ok(json!({
                "at": row.get::<_, String>(0)?,
                "item": row.get::<_, String>(1)?,
                "what": row.get::<_, String>(2)?,
                "detail": detail.and_then(|detail| serde_json::from_str::<Value>(&detail).ok()),
                "session": row.get::<_, Option<String>>(4)?,
                "title": row.get::<_, Option<String>>(5)?,
            }))
        })?
        .collect::<Result<Vec<Value>, _>>()?;
    Ok(rows)
}

/// Order activity newest first by its time (`at`), read as a time: as text, `…37.8Z` would
/// sort after `…37.883Z`. Entries without a readable time go last; equal times keep their
/// order.
fn newest_first(activity: &mut [Value]) {
    activity.sort_by_key(|event| {
        Reverse(
            event["at"]
                .as_str()
                .and_then(|at| session::parse_time(at).ok()),
        )
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_column_is_over_its_wip_limit_only_past_it() {
        for (count, wip_limit, over) in [
            (0, None, false),
            (99, None, false),
            (2, Some(3), false),
            (3, Some(3), false),
            (4, Some(3), true),
            (1, Some(0), true),
        ] {
            assert_eq!(
                over_wip_limit(count, wip_limit),
                over,
                "{count} of {wip_limit:?}"
            );
        }
    }

    #[test]
    fn a_sprint_is_on_track_until_it_falls_a_day_behind_the_ideal_line() {
        // Ten days of 10 h: the ideal line falls 1 h a day.
        for (remaining, ideal, on) in [
            (10.0, 9.0, true),  // day 1, nothing done yet: where the line began today
            (10.04, 9.0, true), // within the slack for rounding
            (10.1, 9.0, false),
            (5.0, 9.0, true),
            (9.0, 8.0, true),
            (9.5, 7.0, false),
        ] {
            assert_eq!(
                on_track(remaining, ideal, 10.0, 10),
                on,
                "{remaining} left, ideal {ideal}"
            );
        }
        // A sprint of no days is taken as one, not divided by zero.
        assert!(on_track(4.0, 0.0, 4.0, 0));
        assert!(!on_track(4.1, 0.0, 4.0, 0));
    }

    #[test]
    fn the_burndown_stands_at_its_last_day_or_at_the_total_before_the_first() {
        let day = |remaining, ideal| sprints::BurndownDay {
            date: "2026-03-10".parse().unwrap(),
            remaining,
            ideal,
        };
        let before = sprints::Burndown {
            sprint: "SPRINT-a".to_owned(),
            total: 8.0,
            days: Vec::new(),
        };
        assert_eq!(
            burndown_json(&before, 4),
            json!({"total": 8.0, "remaining": 8.0, "ideal": 8.0, "day": 0, "days": 4,
                "on_track": true})
        );
        let second = sprints::Burndown {
            days: vec![day(8.0, 6.0), day(7.0, 4.0 - 1e-9)],
            ..before
        };
        assert_eq!(
            burndown_json(&second, 4),
            json!({"total": 8.0, "remaining": 7.0, "ideal": 4.0, "day": 2, "days": 4,
                "on_track": false})
        );
    }

    #[test]
    fn activity_is_newest_first_by_time_not_by_text() {
        let mut activity = vec![
            json!({"at": "2026-03-10T12:00:37.8Z", "what": "a"}),
            json!({"at": "not a time", "what": "b"}),
            json!({"at": "2026-03-10T12:00:37.883Z", "what": "c"}),
            json!({"at": "2026-03-10T12:00:38Z", "what": "d"}),
            json!({"what": "e"}),
            json!({"at": "2026-03-10T12:00:37.883Z", "what": "f"}),
        ];
        newest_first(&mut activity);
        let order: Vec<&str> = activity
            .iter()
            .map(|event| event["what"].as_str().unwrap())
            .collect();
        assert_eq!(order, ["d", "c", "f", "a", "b", "e"]);
    }

    #[test]
    fn a_session_shows_its_counts_agents_and_last_test_as_stored() {
        let now: Timestamp = "2026-03-10T12:00:00Z".parse().unwrap();
        let document = json!({
            "session": {"id": "s1", "mode": "sprint", "created_at": "2026-03-10T11:00:00Z",
                "lifecycle": {"last_activity": "2026-03-10T11:59:00Z"}},
            "execution": {"agents": {"a1": {"type": "Explore", "status": "running"}},
                "files": {"src/a.rs": {}, "src/b.rs": {}},
                "todos": {"done": 1, "total": 3},
                "tests": {"last": {"command": "cargo test", "passed": false}}},
            "observability": {"metrics": {"tool_calls": 7,
                "tools": {"Bash": {"failures": 2}, "Edit": {"failures": 1}, "Read": {}}}},
        });
        let value = session_value(&document, now, session::Status::Active, Value::Null);
        assert_eq!(
            value,
            json!({"id": "s1", "mode": "sprint", "status": "active", "age_seconds": 3600,
                "ran_seconds": null, "waiting": null, "worktree": null, "branch": null,
                "agent": null,
                "last_activity": "2026-03-10T11:59:00Z", "tool_calls": 7, "failures": 3,
                "todos": {"done": 1, "total": 3}, "files": 2, "last_test": false,
                "agents": [{"id": "a1", "type": "Explore", "status": "running"}],
                "task": null})
        );
        let bare = session_value(&json!({}), now, session::Status::Paused, Value::Null);
        assert_eq!(bare["tool_calls"], 0);
        assert_eq!(bare["age_seconds"], Value::Null);
        assert_eq!(bare["last_test"], Value::Null);
    }
}
