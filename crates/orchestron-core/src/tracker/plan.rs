//! The plan as a session without an item of its own is told it (see [`crate::briefing`]):
//! the active sprint's progress, the ready work, the clarifications and feedback on the
//! items assigned to the session's agent that no session has been shown yet, and the latest
//! decisions. A few queries, each on an index and each bounded, so a plan of 100,000 items
//! costs SessionStart no more than a small one. Read only.

use jiff::civil::Date;
use rusqlite::{Connection, params};
use serde::Serialize;

use super::knowledge::{self, DecisionTitle};
use super::sprints;
use super::tasks::READY;
use crate::error::Result;

/// How many ready items the plan names: the most urgent.
pub const TOP_READY: usize = 3;

/// How far the plan counts ready items: past this many it says "at least". Counting is a
/// walk of the ready index, so the bound keeps SessionStart's cost flat on a huge plan.
pub const MAX_READY_COUNTED: u64 = 1_000;

/// How many unseen clarifications and feedback the plan carries, oldest first; it says how
/// to read the rest.
pub const MAX_UNSEEN: usize = 5;

/// How many of the latest decisions the plan names.
pub const LATEST_DECISIONS: usize = 3;

/// What a session without an item is told of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The active sprint, if any.
    pub sprint: Option<SprintProgress>,
    pub ready: ReadyWork,
    /// Clarifications and feedback not yet shown to any session, on the open items assigned
    /// to the session or its agent; at most [`MAX_UNSEEN`].
    pub unseen: Vec<UnseenComment>,
    /// More unseen comments than [`MAX_UNSEEN`] wait.
    pub unseen_more: bool,
    /// The latest decisions, newest first; at most [`LATEST_DECISIONS`].
    pub decisions: Vec<DecisionTitle>,
}

impl Plan {
    /// Nothing to tell: no sprint, nothing ready, no comment, no decision.
    pub fn is_empty(&self) -> bool {
        self.sprint.is_none()
            && self.ready.count == 0
            && self.unseen.is_empty()
            && self.decisions.is_empty()
    }
}

/// The active sprint and how far it has come.
#[derive(Debug, Clone, Serialize)]
pub struct SprintProgress {
    pub id: String,
    pub name: String,
    pub goal: String,
    pub items: u64,
    pub items_done: u64,
    /// Estimated hours, in all and of the done items.
    pub hours: f64,
    pub hours_done: f64,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    /// Days from today to the end date (today counts; 0 or less once it has passed), when
    /// the sprint has a start date.
    pub days_left: Option<i64>,
}

/// The ready items: how many, and the first [`TOP_READY`].
#[derive(Debug, Clone, Serialize)]
pub struct ReadyWork {
    /// How many are ready, counted up to [`MAX_READY_COUNTED`].
    pub count: u64,
    /// More than [`MAX_READY_COUNTED`] are ready.
    pub more: bool,
    pub top: Vec<Titled>,
}

/// An item's id and title.
#[derive(Debug, Clone, Serialize)]
pub struct Titled {
    pub id: String,
    pub title: String,
}

/// A clarification or feedback no session has been shown.
#[derive(Debug, Clone, Serialize)]
pub struct UnseenComment {
    pub item: String,
    pub title: String,
    /// `clarification` or `feedback`.
    pub kind: String,
    pub text: String,
}

/// Gather the plan on `today` for the sessions or agents named `who` (the items assigned
/// to any of them carry their unseen comments).
pub fn gather(conn: &Connection, today: Date, who: &[&str]) -> Result<Plan> {
    let sprint = match sprints::active(conn)? {
        Some(id) => Some(sprint_progress(conn, &id, today)?),
        None => None,
    };
    let counted: i64 = conn.query_row(
        &format!("SELECT count(*) FROM (SELECT 1 FROM items WHERE {READY} LIMIT ?1)"),
        [MAX_READY_COUNTED as i64 + 1],
        |row| row.get(0),
    )?;
    let mut statement = conn.prepare(&format!(
        "SELECT id, title FROM items WHERE {READY} ORDER BY priority, seq LIMIT ?1"
    ))?;
    let top = statement
        .query_map([TOP_READY as i64], |row| {
            Ok(Titled {
                id: row.get(0)?,
                title: row.get(1)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let (unseen, unseen_more) = unseen(conn, who)?;
    Ok(Plan {
        sprint,
        ready: ReadyWork {
            count: (counted.max(0) as u64).min(MAX_READY_COUNTED),
            more: counted.max(0) as u64 > MAX_READY_COUNTED,
            top,
        },
        unseen,
        unseen_more,
        decisions: knowledge::latest_decisions(conn, LATEST_DECISIONS)?,
    })
}

fn sprint_progress(conn: &Connection, id: &str, today: Date) -> Result<SprintProgress> {
    let sprint = sprints::get(conn, id)?;
    let (items, items_done, hours, hours_done): (i64, f64, f64, f64) = conn.query_row(
        "SELECT count(*), total(i.status = 'DONE'), total(i.estimate), \
         total(CASE WHEN i.status = 'DONE' THEN i.estimate END) \
         FROM sprint_items s JOIN items i ON i.id = s.item WHERE s.sprint = ?1",
        [id],
        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
    )?;
    let end_date = sprint.end_date();
    let days_left = end_date
        .as_deref()
        .and_then(|end| end.parse::<Date>().ok())
        .and_then(|end| today.until(end).ok())
        .map(|span| i64::from(span.get_days()));
    Ok(SprintProgress {
        id: sprint.id,
        name: sprint.name,
        goal: sprint.goal,
        items: items.max(0) as u64,
        items_done: items_done.max(0.0) as u64,
        hours: hours.max(0.0),
        hours_done: hours_done.max(0.0),
        start_date: sprint.start_date,
        end_date,
        days_left,
    })
}

/// The unseen comments on open items assigned to one of `who`, oldest first, at most
/// [`MAX_UNSEEN`], and whether more wait. Reached through the assignee index.
fn unseen(conn: &Connection, who: &[&str]) -> Result<(Vec<UnseenComment>, bool)> {
    let mut found = Vec::new();
    let mut statement = conn.prepare(
        "SELECT c.id, c.item, i.title, c.kind, c.text FROM items i \
         JOIN comments c ON c.item = i.id \
         WHERE i.assignee = ?1 AND i.status NOT IN ('DONE', 'CANCELLED') AND c.seen = 0 \
         ORDER BY c.id LIMIT ?2",
    )?;
    for name in who {
        let rows = statement
            .query_map(params![name, MAX_UNSEEN as i64 + 1], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    UnseenComment {
                        item: row.get(1)?,
                        title: row.get(2)?,
                        kind: row.get(3)?,
                        text: row.get(4)?,
                    },
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        found.extend(rows);
    }
    found.sort_by_key(|(id, _)| *id);
    found.dedup_by_key(|(id, _)| *id);
    let more = found.len() > MAX_UNSEEN;
    found.truncate(MAX_UNSEEN);
    Ok((
        found.into_iter().map(|(_, comment)| comment).collect(),
        more,
    ))
}
