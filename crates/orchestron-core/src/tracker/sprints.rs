//! Sprints and time: planning a sprint of work items, its burndown and velocity, and the
//! time spent on items (timers and logged hours). Each operation checks its request before
//! touching the database, runs in one transaction (reads open the tracker read-only, or an
//! empty one in memory) and returns a typed result that every face renders its own way.
//!
//! The figures are pure functions over values, tested below: [`burndown_days`] (the remaining
//! and ideal hours at the end of each day), [`velocity`] (hours finished per completed
//! sprint), [`total_hours`] (a sum of estimates that is never `-0.0` and never infinite),
//! [`end_date`] and [`describe_time`] (how a run of time reads). "Today" is the UTC date of
//! the context's clock, asked once per operation: nothing here reads the wall clock.
//!
//! V2's `shared` sprints live in the same table; [`super::shared`] owns their V2 record
//! shape, this module the tracker's own.

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan as _};
use rusqlite::{Connection, OptionalExtension as _, params};
use serde::{Serialize, Serializer};
use serde_json::{Value, json};

use super::items;
use super::model::Status;
use super::tasks::{self, MAX_ESTIMATE_HOURS};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::session::format_time;

/// A sprint's length when none is given.
pub const DEFAULT_SPRINT_DAYS: u32 = 14;

/// The longest sprint, in days: a year.
pub const MAX_SPRINT_DAYS: u32 = 366;

/// The most hours one `timer log` may record: a month, around the clock.
pub const MAX_LOGGED_HOURS: f64 = 24.0 * 31.0;

/// The longest name, goal or note, in bytes (as for an item's text).
const MAX_TEXT_BYTES: usize = 100_000;

const COLUMNS: &str = "id, name, goal, status, project, start_date, duration_days, epic, v2_key, \
    data, created_at, started_at, completed_at";

/// A sprint as stored: what `board` and `summary` show of it.
#[derive(Debug, Clone, Serialize)]
pub struct Sprint {
    pub id: String,
    pub name: String,
    pub goal: String,
    /// `planned`, `active`, `completed` or `cancelled`.
    pub status: String,
    pub project: String,
    /// The first day, `YYYY-MM-DD`; set by `start` when it was not planned.
    pub start_date: Option<String>,
    pub duration_days: i64,
    /// The epic it serves (V2's `epic_id`), by tracker id.
    pub epic: Option<String>,
    /// Its id in V2's `shared` commands.
    pub v2_id: Option<String>,
    /// V2's extra keys, as stored (an empty object when they do not parse).
    pub data: Value,
    pub created_at: String,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
}

impl Sprint {
    fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Sprint> {
        let data: String = row.get(9)?;
        Ok(Sprint {
            id: row.get(0)?,
            name: row.get(1)?,
            goal: row.get(2)?,
            status: row.get(3)?,
            project: row.get(4)?,
            start_date: row.get(5)?,
            duration_days: row.get(6)?,
            epic: row.get(7)?,
            v2_id: row.get(8)?,
            data: serde_json::from_str(&data).unwrap_or_else(|_| json!({})),
            created_at: row.get(10)?,
            started_at: row.get(11)?,
            completed_at: row.get(12)?,
        })
    }

    /// The end date ([`end_date`]), when the sprint has a start date.
    pub fn end_date(&self) -> Option<String> {
        let start = self.start_date.as_deref()?.parse::<Date>().ok()?;
        end_date(start, self.duration_days).map(|end| end.to_string())
    }
}

/// A sprint with its end date: what `sprint list` returns.
#[derive(Debug, Clone, Serialize)]
pub struct DatedSprint {
    #[serde(flatten)]
    pub sprint: Sprint,
    /// The start plus the duration ([`end_date`]); `None` before a start date is known.
    pub end_date: Option<String>,
}

impl DatedSprint {
    fn of(sprint: Sprint) -> DatedSprint {
        let end_date = sprint.end_date();
        DatedSprint { sprint, end_date }
    }
}

/// An item of a sprint, as `sprint show` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct SprintItem {
    pub id: String,
    pub title: String,
    pub status: Status,
    pub estimate: Option<f64>,
    pub assignee: Option<String>,
}

/// A sprint with its end date, its items (most urgent first) and their estimated hours.
#[derive(Debug, Clone, Serialize)]
pub struct SprintDetail {
    #[serde(flatten)]
    pub sprint: Sprint,
    pub end_date: Option<String>,
    pub items: Vec<SprintItem>,
    /// The estimated hours of every item ([`total_hours`]).
    pub estimate_total: f64,
    /// The estimated hours of the DONE items.
    pub estimate_done: f64,
}

/// An item of a sprint as the figures see it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Work {
    pub estimate: Option<f64>,
    pub status: Status,
    /// The day (UTC) it was completed, if it was.
    pub completed_on: Option<Date>,
}

impl Work {
    /// Whether it was DONE by the end of `day`.
    fn done_by(&self, day: Date) -> bool {
        self.status == Status::Done && self.completed_on.is_some_and(|done| done <= day)
    }
}

/// One day of a burndown: the remaining and the ideal hours at its end.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BurndownDay {
    #[serde(serialize_with = "as_text")]
    pub date: Date,
    pub remaining: f64,
    /// Serialized to one decimal.
    #[serde(serialize_with = "one_decimal")]
    pub ideal: f64,
}

/// A sprint's burndown, day by day up to today.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Burndown {
    pub sprint: String,
    /// The estimated hours of every item.
    pub total: f64,
    pub days: Vec<BurndownDay>,
}

/// A completed sprint's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SprintVelocity {
    pub id: String,
    pub name: String,
    pub completed_at: Option<String>,
    /// The estimated hours of the items DONE.
    pub hours_done: f64,
    pub items_done: usize,
    pub items: usize,
}

/// Completed sprints, newest first, and the hours finished per sprint on average.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Velocity {
    pub sprints: Vec<SprintVelocity>,
    pub average_hours: f64,
}

/// A sprint to plan.
#[derive(Debug, Clone)]
pub struct NewSprint {
    pub name: String,
    pub goal: Option<String>,
    /// Its length in days, 1 to [`MAX_SPRINT_DAYS`].
    pub duration_days: u32,
    /// Its first day as typed (`YYYY-MM-DD`); `None` for the day it starts.
    pub start: Option<String>,
}

/// A timer started.
#[derive(Debug, Clone, Serialize)]
pub struct TimerStarted {
    pub item: String,
    pub started_at: String,
}

/// A timer stopped, and the time it recorded.
#[derive(Debug, Clone, Serialize)]
pub struct TimerStopped {
    pub item: String,
    /// The time recorded, in hours to two decimals.
    pub hours: f64,
    /// The same time in whole seconds, which a short run keeps where its hours are 0.
    pub seconds: u64,
}

/// Time recorded without a timer.
#[derive(Debug, Clone, Serialize)]
pub struct TimeLogged {
    pub item: String,
    pub hours: f64,
}

/// The time spent on one item.
#[derive(Debug, Clone, Serialize)]
pub struct TimeSpent {
    pub item: String,
    pub title: String,
    pub estimate: Option<f64>,
    pub hours: f64,
    /// Whether a timer is running for it.
    pub running: bool,
}

fn as_text<S: Serializer>(date: &Date, serializer: S) -> std::result::Result<S::Ok, S::Error> {
    serializer.collect_str(date)
}

fn one_decimal<S: Serializer>(hours: &f64, serializer: S) -> std::result::Result<S::Ok, S::Error> {
    serializer.serialize_f64((hours * 10.0).round() / 10.0)
}

// ---------------------------------------------------------------------------------------
// The rules, as pure functions

/// The UTC day of a time: "today" for the clock's "now".
pub fn day_of(time: Timestamp) -> Date {
    time.to_zoned(jiff::tz::TimeZone::UTC).date()
}

/// A sprint's end date: its start plus its duration, as V2 counts it (the end minus the start
/// is the duration, so the end is the day after the last day of work). `None` past the
/// calendar's end.
pub fn end_date(start: Date, duration_days: i64) -> Option<Date> {
    start.checked_add(duration_days.days()).ok()
}

/// The sum of some estimates, in hours: `0.0` (never `-0.0`) for none, and each estimate
/// taken within 0 to [`MAX_ESTIMATE_HOURS`], so that no sum of them is infinite even when a
/// tracker from before that cap holds a larger one. The sum is compensated
/// (Kahan-Babuška-Neumaier), as SQLite's `sum()` is, so that ten estimates of `0.1` make
/// `1.0` here as they do in the views' SQL.
pub fn total_hours(estimates: impl IntoIterator<Item = f64>) -> f64 {
    let (mut sum, mut compensation) = (0.0_f64, 0.0_f64);
    for hours in estimates {
        let hours = if hours.is_nan() {
            0.0
        } else {
            hours.clamp(0.0, MAX_ESTIMATE_HOURS)
        };
        let next = sum + hours;
        compensation += if sum.abs() >= hours.abs() {
            (sum - next) + hours
        } else {
            (hours - next) + sum
        };
        sum = next;
    }
    sum + compensation
}

/// A sprint's estimated hours and its burndown: for each day from `start`, for
/// `duration_days` days and up to `today`, the hours of the items not DONE by the end of
/// that day, and the ideal line, which falls evenly to 0 at the end of the last day. Days
/// past the calendar's end never come.
pub fn burndown_days(
    start: Date,
    duration_days: i64,
    today: Date,
    work: &[Work],
) -> (f64, Vec<BurndownDay>) {
    let total = total_hours(work.iter().filter_map(|item| item.estimate));
    let mut days = Vec::new();
    for offset in 0..duration_days.max(0) {
        let Ok(date) = start.checked_add(offset.days()) else {
            break;
        };
        if date > today {
            break;
        }
        let remaining = total_hours(
            work.iter()
                .filter(|item| !item.done_by(date))
                .filter_map(|item| item.estimate),
        );
        let ideal = total * (1.0 - (offset + 1) as f64 / duration_days as f64);
        days.push(BurndownDay {
            date,
            remaining,
            ideal,
        });
    }
    (total, days)
}

impl SprintVelocity {
    /// A completed sprint's figures from its items.
    pub fn of(id: String, name: String, completed_at: Option<String>, work: &[Work]) -> Self {
        let done: Vec<&Work> = work
            .iter()
            .filter(|item| item.status == Status::Done)
            .collect();
        SprintVelocity {
            id,
            name,
            completed_at,
            hours_done: total_hours(done.iter().filter_map(|item| item.estimate)),
            items_done: done.len(),
            items: work.len(),
        }
    }
}

/// The velocity of the completed sprints given newest first: the `last` N of them (all when
/// `None`) and the hours they finished on average (0 for none).
pub fn velocity(mut sprints: Vec<SprintVelocity>, last: Option<usize>) -> Velocity {
    if let Some(last) = last {
        sprints.truncate(last);
    }
    let average_hours = if sprints.is_empty() {
        0.0
    } else {
        total_hours(sprints.iter().map(|sprint| sprint.hours_done)) / sprints.len() as f64
    };
    Velocity {
        sprints,
        average_hours,
    }
}

/// Hours to two decimals, as time entries record them.
pub fn hours_of(seconds: u64) -> f64 {
    (seconds as f64 / 3600.0 * 100.0).round() / 100.0
}

/// How a run of time reads: seconds under a minute, whole minutes under an hour, else hours
/// to two decimals, so that a short run never reads "0 h".
pub fn describe_time(seconds: u64) -> String {
    match seconds {
        0..60 => format!("{seconds} s"),
        60..3600 => format!("{} min", seconds / 60),
        _ => format!("{} h", hours_of(seconds)),
    }
}

fn check_length(what: &str, text: &str) -> Result<()> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(Error::invalid(format!(
            "the {what} is {} bytes long; at most {MAX_TEXT_BYTES}",
            text.len()
        )));
    }
    Ok(())
}

fn parse_date(raw: &str, option: &str) -> Result<Date> {
    raw.parse::<Date>().map_err(|_| {
        Error::invalid(format!(
            "`{option}` must be a date such as 2026-11-23, not `{raw}`"
        ))
    })
}

/// The time `--since` names: a time as it is, or a day from its start (UTC).
fn parse_since(raw: &str) -> Result<String> {
    if let Ok(at) = raw.parse::<Timestamp>() {
        return Ok(format_time(at));
    }
    let day = raw.parse::<Date>().map_err(|_| {
        Error::invalid(format!(
            "`--since` must be a date such as 2026-11-23, or a time such as \
             2026-11-23T09:00:00Z, not `{raw}`"
        ))
    })?;
    let start = day
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map_err(|_| Error::invalid(format!("`--since` is out of range: `{raw}`")))?;
    Ok(format_time(start.timestamp()))
}

// ---------------------------------------------------------------------------------------
// Reads shared with the views

/// A sprint by its exact id.
pub fn get(conn: &Connection, id: &str) -> Result<Sprint> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM sprints WHERE id = ?1"),
        [id],
        Sprint::from_row,
    )
    .optional()?
    .ok_or_else(|| Error::not_found(format!("sprint `{id}` not found")))
}

/// The active sprint's id, if there is one (the newest, should there be several).
pub fn active(conn: &Connection) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT id FROM sprints WHERE status = 'active' ORDER BY seq DESC LIMIT 1",
            [],
            |row| row.get(0),
        )
        .optional()?)
}

/// A sprint's burndown up to `today` ([`burndown_days`]); it must have a start date.
pub fn burndown_of(conn: &Connection, id: &str, today: Date) -> Result<Burndown> {
    let sprint = get(conn, id)?;
    let Some(start) = sprint.start_date.as_deref() else {
        return Err(Error::conflict(format!("{id} has no start date yet"))
            .with_hint(format!("`orchestron sprint start {id}` sets it")));
    };
    let start = parse_date(start, "start_date")?;
    let (total, days) = burndown_days(start, sprint.duration_days, today, &work_of(conn, id)?);
    Ok(Burndown {
        sprint: id.to_owned(),
        total,
        days,
    })
}

/// The items of a sprint as the figures see them.
fn work_of(conn: &Connection, sprint: &str) -> Result<Vec<Work>> {
    let mut statement = conn.prepare_cached(
        "SELECT i.estimate, i.status, i.completed_at FROM sprint_items si \
         JOIN items i ON i.id = si.item WHERE si.sprint = ?1",
    )?;
    let rows = statement
        .query_map([sprint], |row| {
            Ok((
                row.get::<_, Option<f64>>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, Option<String>>(2)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|(estimate, status, completed)| {
            Ok(Work {
                estimate,
                status: status
                    .parse()
                    .map_err(|_| Error::internal(format!("an item has the status `{status}`")))?,
                completed_on: completed
                    .as_deref()
                    .and_then(|at| at.parse::<Timestamp>().ok())
                    .map(day_of),
            })
        })
        .collect()
}

/// A sprint, by its exact id, with its items and their totals.
pub fn detail(conn: &Connection, id: &str) -> Result<SprintDetail> {
    let sprint = get(conn, id)?;
    let found = tasks::query_items(
        conn,
        &format!(
            "SELECT {} FROM items WHERE id IN (SELECT item FROM sprint_items WHERE sprint = ?1) \
             ORDER BY priority, seq",
            items::COLUMNS
        ),
        [id],
    )?;
    let estimate_total = total_hours(found.iter().filter_map(|item| item.estimate));
    let estimate_done = total_hours(
        found
            .iter()
            .filter(|item| item.status == Status::Done)
            .filter_map(|item| item.estimate),
    );
    let items = found
        .into_iter()
        .map(|item| SprintItem {
            id: item.id,
            title: item.title,
            status: item.status,
            estimate: item.estimate,
            assignee: item.assignee,
        })
        .collect();
    Ok(SprintDetail {
        end_date: sprint.end_date(),
        sprint,
        items,
        estimate_total,
        estimate_done,
    })
}

// ---------------------------------------------------------------------------------------
// Sprints

/// Plan a sprint in the context's project.
pub fn create(cx: &Context, new: &NewSprint) -> Result<SprintDetail> {
    tasks::check_text("sprint's name", &new.name)?;
    if let Some(goal) = &new.goal {
        check_length("goal", goal)?;
    }
    if !(1..=MAX_SPRINT_DAYS).contains(&new.duration_days) {
        return Err(Error::invalid(format!(
            "`--duration` must be 1 to {MAX_SPRINT_DAYS} days, not {}",
            new.duration_days
        )));
    }
    let start = new
        .start
        .as_deref()
        .map(|raw| parse_date(raw, "--start"))
        .transpose()?;
    if let Some(start) = start
        && end_date(start, i64::from(new.duration_days)).is_none()
    {
        return Err(Error::invalid(format!(
            "a sprint starting {start} would run past the calendar"
        )));
    }
    let now = format_time(cx.now());
    let mut db = cx.tracker()?;
    let id = db.write(|tx| -> Result<String> {
        let seq: i64 =
            tx.query_row("SELECT COALESCE(max(seq), 0) + 1 FROM sprints", [], |row| {
                row.get(0)
            })?;
        let id = items::fresh_id(tx, "sprints", "SPRINT", seq, || cx.random_u64())?;
        tx.execute(
            "INSERT INTO sprints (id, name, goal, status, project, start_date, duration_days, \
             created_at, seq) VALUES (?1, ?2, ?3, 'planned', ?4, ?5, ?6, ?7, ?8)",
            params![
                id,
                new.name,
                new.goal.as_deref().unwrap_or_default(),
                cx.project(),
                start.map(|day| day.to_string()),
                new.duration_days,
                now,
                seq
            ],
        )?;
        Ok(id)
    })?;
    detail(db.conn(), &id)
}

fn check_ids(ids: &[String]) -> Result<()> {
    if ids.is_empty() {
        return Err(Error::invalid("name at least one item"));
    }
    Ok(())
}

/// Put items in a sprint (an item already in it stays as it is).
pub fn add(cx: &Context, sprint: &str, ids: &[String]) -> Result<SprintDetail> {
    check_ids(ids)?;
    let now = format_time(cx.now());
    let actor = cx.actor();
    let mut db = cx.tracker_to_change()?;
    let sprint = db.write(|tx| -> Result<String> {
        let sprint = tasks::resolve_sprint(tx, sprint)?;
        for raw in ids {
            let id = items::resolve(tx, raw)?;
            let added = tx.execute(
                "INSERT OR IGNORE INTO sprint_items (sprint, item, added_at) VALUES (?1, ?2, ?3)",
                params![sprint, id, now],
            )?;
            if added > 0 {
                items::record(tx, &id, &now, "sprint", json!({"added_to": sprint}), actor)?;
            }
        }
        Ok(sprint)
    })?;
    detail(db.conn(), &sprint)
}

/// Take items out of a sprint; each must be in it.
pub fn remove(cx: &Context, sprint: &str, ids: &[String]) -> Result<SprintDetail> {
    check_ids(ids)?;
    let now = format_time(cx.now());
    let actor = cx.actor();
    let mut db = cx.tracker_to_change()?;
    let sprint = db.write(|tx| -> Result<String> {
        let sprint = tasks::resolve_sprint(tx, sprint)?;
        for raw in ids {
            let id = items::resolve(tx, raw)?;
            let removed = tx.execute(
                "DELETE FROM sprint_items WHERE sprint = ?1 AND item = ?2",
                params![sprint, id],
            )?;
            if removed == 0 {
                return Err(
                    Error::not_found(format!("{id} is not in {sprint}")).with_hint(format!(
                        "`orchestron sprint show {sprint}` lists the items it holds"
                    )),
                );
            }
            items::record(
                tx,
                &id,
                &now,
                "sprint",
                json!({"removed_from": sprint}),
                actor,
            )?;
        }
        Ok(sprint)
    })?;
    detail(db.conn(), &sprint)
}

/// Start a planned sprint; its start date becomes today unless it was planned.
pub fn start(cx: &Context, sprint: &str) -> Result<SprintDetail> {
    let now = cx.now();
    let (at, today) = (format_time(now), day_of(now).to_string());
    let mut db = cx.tracker_to_change()?;
    let sprint = db.write(|tx| -> Result<String> {
        let sprint = tasks::resolve_sprint(tx, sprint)?;
        let status = status_of(tx, &sprint)?;
        if status != "planned" {
            return Err(Error::conflict(format!(
                "cannot start {sprint}: it is {status}, not planned"
            )));
        }
        tx.execute(
            "UPDATE sprints SET status = 'active', started_at = ?2, \
             start_date = COALESCE(start_date, ?3) WHERE id = ?1",
            params![sprint, at, today],
        )?;
        Ok(sprint)
    })?;
    detail(db.conn(), &sprint)
}

/// Complete an active sprint.
pub fn complete(cx: &Context, sprint: &str) -> Result<SprintDetail> {
    let now = format_time(cx.now());
    let mut db = cx.tracker_to_change()?;
    let sprint = db.write(|tx| -> Result<String> {
        let sprint = tasks::resolve_sprint(tx, sprint)?;
        let status = status_of(tx, &sprint)?;
        if status != "active" {
            return Err(Error::conflict(format!(
                "cannot complete {sprint}: it is {status}, not active"
            )));
        }
        tx.execute(
            "UPDATE sprints SET status = 'completed', completed_at = ?2 WHERE id = ?1",
            params![sprint, now],
        )?;
        Ok(sprint)
    })?;
    detail(db.conn(), &sprint)
}

fn status_of(conn: &Connection, sprint: &str) -> Result<String> {
    Ok(conn.query_row(
        "SELECT status FROM sprints WHERE id = ?1",
        [sprint],
        |row| row.get(0),
    )?)
}

/// Every sprint, newest first, with its end date.
pub fn list(cx: &Context) -> Result<Vec<DatedSprint>> {
    let db = cx.tracker_for_reads()?;
    let mut statement = db
        .conn()
        .prepare(&format!("SELECT {COLUMNS} FROM sprints ORDER BY seq DESC"))?;
    let found = statement
        .query_map([], Sprint::from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(found.into_iter().map(DatedSprint::of).collect())
}

/// One sprint with its items and totals.
pub fn show(cx: &Context, sprint: &str) -> Result<SprintDetail> {
    let db = cx.tracker_for_reads()?;
    let sprint = tasks::resolve_sprint(db.conn(), sprint)?;
    detail(db.conn(), &sprint)
}

/// The burndown of a sprint (by default the active one) up to today.
pub fn burndown(cx: &Context, sprint: Option<&str>) -> Result<Burndown> {
    let today = day_of(cx.now());
    let db = cx.tracker_for_reads()?;
    let conn = db.conn();
    let sprint = match sprint {
        Some(raw) => tasks::resolve_sprint(conn, raw)?,
        None => active(conn)?.ok_or_else(|| {
            Error::not_found("no active sprint")
                .with_hint("name one: `orchestron sprint burndown SPRINT`")
        })?,
    };
    burndown_of(conn, &sprint, today)
}

/// The velocity of the completed sprints ([`velocity`]): the `last` N, or all.
pub fn velocity_of(cx: &Context, last: Option<usize>) -> Result<Velocity> {
    let db = cx.tracker_for_reads()?;
    let conn = db.conn();
    let mut statement = conn.prepare(
        "SELECT id, name, completed_at FROM sprints WHERE status = 'completed' ORDER BY seq DESC",
    )?;
    let completed = statement
        .query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, Option<String>>(2)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let sprints = completed
        .into_iter()
        .take(last.unwrap_or(usize::MAX))
        .map(|(id, name, completed_at)| {
            let work = work_of(conn, &id)?;
            Ok(SprintVelocity::of(id, name, completed_at, &work))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(velocity(sprints, last))
}

// ---------------------------------------------------------------------------------------
// Time

/// Start timing an item; it must be open and have no timer running.
pub fn timer_start(cx: &Context, raw: &str) -> Result<TimerStarted> {
    let now = format_time(cx.now());
    let actor = cx.actor();
    let mut db = cx.tracker_to_change()?;
    let item = db.write(|tx| -> Result<String> {
        let id = items::resolve(tx, raw)?;
        let item = items::get(tx, &id)?;
        if item.status.is_closed() {
            return Err(
                Error::conflict(format!("cannot time {id}: it is {}", item.status)).with_hint(
                    format!("`orchestron timer log {id} --hours H` records time spent on it"),
                ),
            );
        }
        let running: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM time_entries WHERE item = ?1 AND stopped_at IS NULL)",
            [&id],
            |row| row.get(0),
        )?;
        if running {
            return Err(
                Error::conflict(format!("a timer is already running for {id}"))
                    .with_hint(format!("`orchestron timer stop {id}` stops it")),
            );
        }
        tx.execute(
            "INSERT INTO time_entries (item, started_at, session) VALUES (?1, ?2, ?3)",
            params![id, now, actor],
        )?;
        Ok(id)
    })?;
    Ok(TimerStarted {
        item,
        started_at: now,
    })
}

/// Stop an item's running timer and record the time since it started.
pub fn timer_stop(cx: &Context, raw: &str) -> Result<TimerStopped> {
    let now = cx.now();
    let at = format_time(now);
    let actor = cx.actor();
    let mut db = cx.tracker_to_change()?;
    db.write(|tx| -> Result<TimerStopped> {
        let id = items::resolve(tx, raw)?;
        let running: Option<(i64, String)> = tx
            .query_row(
                "SELECT id, started_at FROM time_entries WHERE item = ?1 AND stopped_at IS NULL",
                [&id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        let Some((entry, started)) = running else {
            return Err(Error::conflict(format!("no timer is running for {id}"))
                .with_hint(format!("`orchestron timer start {id}` starts one")));
        };
        let started: Timestamp = started.parse().map_err(|_| {
            Error::internal(format!("the timer of {id} has the start time `{started}`"))
        })?;
        // A clock set back makes a run of no time, never a negative one.
        let seconds = now.duration_since(started).as_secs_f64().max(0.0).round() as u64;
        let hours = hours_of(seconds);
        tx.execute(
            "UPDATE time_entries SET stopped_at = ?2, hours = ?3 WHERE id = ?1",
            params![entry, at, hours],
        )?;
        items::record(tx, &id, &at, "time", json!({"hours": hours}), actor)?;
        Ok(TimerStopped {
            item: id,
            hours,
            seconds,
        })
    })
}

/// Record time spent on an item without a timer: more than 0 and at most
/// [`MAX_LOGGED_HOURS`].
pub fn timer_log(cx: &Context, raw: &str, hours: f64, note: Option<&str>) -> Result<TimeLogged> {
    if !(hours.is_finite() && hours > 0.0 && hours <= MAX_LOGGED_HOURS) {
        return Err(Error::invalid(format!(
            "`--hours` must be more than 0 (and at most a month), not {hours}"
        )));
    }
    if let Some(note) = note {
        check_length("note", note)?;
    }
    let now = format_time(cx.now());
    let actor = cx.actor();
    let mut db = cx.tracker_to_change()?;
    let item = db.write(|tx| -> Result<String> {
        let id = items::resolve(tx, raw)?;
        tx.execute(
            "INSERT INTO time_entries (item, started_at, stopped_at, hours, note, session) \
             VALUES (?1, ?2, ?2, ?3, ?4, ?5)",
            params![id, now, hours, note, actor],
        )?;
        items::record(
            tx,
            &id,
            &now,
            "time",
            json!({"hours": hours, "note": note}),
            actor,
        )?;
        Ok(id)
    })?;
    Ok(TimeLogged { item, hours })
}

/// The time spent per item (since `since`, a day or a time, when given), most first.
pub fn timer_report(cx: &Context, since: Option<&str>) -> Result<Vec<TimeSpent>> {
    let since = since.map(parse_since).transpose()?;
    let db = cx.tracker_for_reads()?;
    let mut statement = db.conn().prepare(
        "SELECT t.item, i.title, i.estimate, sum(COALESCE(t.hours, 0)), \
         sum(CASE WHEN t.stopped_at IS NULL THEN 1 ELSE 0 END) \
         FROM time_entries t JOIN items i ON i.id = t.item \
         WHERE ?1 IS NULL OR t.started_at >= ?1 GROUP BY t.item \
         ORDER BY sum(COALESCE(t.hours, 0)) DESC, t.item",
    )?;
    let spent = statement
        .query_map([since], |row| {
            Ok(TimeSpent {
                item: row.get(0)?,
                title: row.get(1)?,
                estimate: row.get(2)?,
                hours: row.get(3)?,
                running: row.get::<_, i64>(4)? > 0,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(spent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(raw: &str) -> Date {
        raw.parse().unwrap()
    }

    fn todo(estimate: Option<f64>) -> Work {
        Work {
            estimate,
            status: Status::Todo,
            completed_on: None,
        }
    }

    fn done(estimate: Option<f64>, on: &str) -> Work {
        Work {
            estimate,
            status: Status::Done,
            completed_on: Some(day(on)),
        }
    }

    fn remaining(days: &[BurndownDay]) -> Vec<f64> {
        days.iter().map(|d| d.remaining).collect()
    }

    #[test]
    fn burndown_counts_an_item_done_from_the_end_of_its_day() {
        let work = [todo(Some(6.0)), done(Some(4.0), "2026-03-03")];
        let (total, days) = burndown_days(day("2026-03-02"), 5, day("2026-03-04"), &work);
        assert_eq!(total, 10.0);
        assert_eq!(remaining(&days), [10.0, 6.0, 6.0]);
        assert_eq!(days[0].date, day("2026-03-02"));
        assert_eq!(days[0].ideal, 8.0);
        assert_eq!(days[2].ideal, 4.0);
    }

    #[test]
    fn burndown_stops_at_today_and_at_the_sprint_s_end() {
        let work = [todo(Some(2.0))];
        let before = burndown_days(day("2026-03-02"), 5, day("2026-03-01"), &work);
        assert_eq!(before, (2.0, Vec::new()));
        let (_, after) = burndown_days(day("2026-03-02"), 5, day("2027-01-01"), &work);
        assert_eq!(after.len(), 5);
        assert_eq!(after.last().unwrap().ideal, 0.0);
    }

    #[test]
    fn an_item_done_but_reopened_is_remaining() {
        let reopened = Work {
            estimate: Some(3.0),
            status: Status::InProgress,
            completed_on: Some(day("2026-03-02")),
        };
        let (_, days) = burndown_days(day("2026-03-02"), 2, day("2026-03-03"), &[reopened]);
        assert_eq!(remaining(&days), [3.0, 3.0]);
    }

    #[test]
    fn burndown_of_an_empty_sprint_is_zero_not_negative_zero() {
        let (total, days) = burndown_days(day("2026-03-02"), 3, day("2026-03-04"), &[]);
        assert!(total == 0.0 && total.is_sign_positive(), "{total}");
        assert_eq!(days.len(), 3);
        for point in &days {
            assert!(point.remaining.is_sign_positive(), "{point:?}");
            assert!(point.ideal.is_sign_positive(), "{point:?}");
        }
        let json = serde_json::to_string(&days).unwrap();
        assert!(!json.contains(":-0"), "{json}");
    }

    #[test]
    fn burndown_of_a_one_day_sprint_is_one_day_ideally_finished() {
        let work = [todo(Some(5.0)), done(Some(3.0), "2026-03-02")];
        let (total, days) = burndown_days(day("2026-03-02"), 1, day("2026-03-10"), &work);
        assert_eq!(total, 8.0);
        assert_eq!(days.len(), 1);
        assert_eq!((days[0].remaining, days[0].ideal), (5.0, 0.0));
    }

    #[test]
    fn burndown_of_a_sprint_without_estimates_is_flat_at_zero() {
        let work = [todo(None), done(None, "2026-03-02")];
        let (total, days) = burndown_days(day("2026-03-02"), 4, day("2026-03-03"), &work);
        assert_eq!(total, 0.0);
        assert_eq!(remaining(&days), [0.0, 0.0]);
        assert!(
            days.iter()
                .all(|d| d.ideal == 0.0 && d.ideal.is_sign_positive())
        );
    }

    #[test]
    fn burndown_ends_with_the_calendar() {
        let work = [todo(Some(1.0))];
        let (_, days) = burndown_days(day("9999-12-30"), 5, day("9999-12-31"), &work);
        assert_eq!(days.len(), 2);
    }

    #[test]
    fn the_ideal_line_serializes_to_one_decimal() {
        let point = BurndownDay {
            date: day("2026-03-02"),
            remaining: 10.0,
            ideal: 6.666_666,
        };
        assert_eq!(
            serde_json::to_value(point).unwrap(),
            json!({"date": "2026-03-02", "remaining": 10.0, "ideal": 6.7})
        );
    }

    #[test]
    fn velocity_counts_done_items_and_averages_the_last_sprints() {
        let newest = SprintVelocity::of(
            "SPRINT-2".into(),
            "two".into(),
            None,
            &[done(Some(4.0), "2026-03-03"), todo(Some(6.0))],
        );
        assert_eq!(
            (newest.hours_done, newest.items_done, newest.items),
            (4.0, 1, 2)
        );
        let older = SprintVelocity::of(
            "SPRINT-1".into(),
            "one".into(),
            None,
            &[done(Some(8.0), "2026-02-03"), done(None, "2026-02-04")],
        );
        assert_eq!((older.hours_done, older.items_done), (8.0, 2));
        let all = velocity(vec![newest.clone(), older.clone()], None);
        assert_eq!(all.average_hours, 6.0);
        let last = velocity(vec![newest, older], Some(1));
        assert_eq!((last.sprints.len(), last.average_hours), (1, 4.0));
    }

    #[test]
    fn velocity_of_an_empty_sprint_and_of_none_is_zero() {
        let empty = SprintVelocity::of("SPRINT-1".into(), "empty".into(), None, &[]);
        assert!(empty.hours_done == 0.0 && empty.hours_done.is_sign_positive());
        assert_eq!((empty.items_done, empty.items), (0, 0));
        let one = velocity(vec![empty], None);
        assert!(one.average_hours.is_sign_positive());
        let none = velocity(Vec::new(), Some(3));
        assert_eq!((none.sprints.len(), none.average_hours), (0, 0.0));
        assert!(none.average_hours.is_sign_positive());
        let json = serde_json::to_string(&one).unwrap();
        assert!(!json.contains(":-0"), "{json}");
    }

    #[test]
    fn velocity_of_a_sprint_without_estimates_counts_items_but_no_hours() {
        let sprint = SprintVelocity::of(
            "SPRINT-1".into(),
            "s".into(),
            None,
            &[done(None, "2026-03-02"), todo(None)],
        );
        assert_eq!(
            (sprint.hours_done, sprint.items_done, sprint.items),
            (0.0, 1, 2)
        );
    }

    #[test]
    fn totals_are_never_negative_zero_nor_infinite() {
        assert!(total_hours([]).is_sign_positive());
        assert!(total_hours([-0.0]).is_sign_positive());
        assert_eq!(total_hours([1.5, 2.5]), 4.0);
        assert_eq!(total_hours([0.1; 10]), 1.0);
        // Estimates from a tracker older than the cap count as the cap.
        let huge = total_hours([1e308, 1e308, f64::INFINITY]);
        assert_eq!(huge, 3.0 * MAX_ESTIMATE_HOURS);
        assert_eq!(total_hours([f64::NAN, -3.0, 2.0]), 2.0);
        // The largest estimates, as many as any tracker can hold, stay finite.
        assert!((MAX_ESTIMATE_HOURS * i64::MAX as f64).is_finite());
    }

    #[test]
    fn a_run_of_time_reads_in_seconds_minutes_or_hours() {
        for (seconds, text) in [
            (0, "0 s"),
            (10, "10 s"),
            (59, "59 s"),
            (60, "1 min"),
            (599, "9 min"),
            (3599, "59 min"),
            (3600, "1 h"),
            (5400, "1.5 h"),
            (4000, "1.11 h"),
        ] {
            assert_eq!(describe_time(seconds), text, "{seconds} s");
        }
        assert_eq!(hours_of(10), 0.0);
        assert_eq!(hours_of(5400), 1.5);
    }

    #[test]
    fn the_end_date_is_the_start_plus_the_duration() {
        assert_eq!(end_date(day("2026-03-02"), 5), Some(day("2026-03-07")));
        assert_eq!(end_date(day("2026-12-25"), 14), Some(day("2027-01-08")));
        assert_eq!(end_date(day("9999-12-30"), 14), None);
    }

    #[test]
    fn since_takes_a_day_or_a_time() {
        assert_eq!(parse_since("2026-03-04").unwrap(), "2026-03-04T00:00:00Z");
        assert_eq!(
            parse_since("2026-03-04T09:30:00Z").unwrap(),
            "2026-03-04T09:30:00Z"
        );
        assert!(parse_since("last week").is_err());
    }
}
