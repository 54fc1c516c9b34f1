//! Claims with leases and fencing.
//!
//! STAND-IN until h13-claims merges: just enough of the claims helper's interface for the
//! supervisor to build and be tested end to end (no lease sweep, no scope but labels).

use rusqlite::params;
use serde_json::json;

use super::items;
use super::model::{Status, Via};
use super::tasks::{self, ItemView, apply_move};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::session::format_time;

/// Which items a claim may take.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub sprint: Option<String>,
    pub epic: Option<String>,
    pub label: Option<String>,
    pub exclude: Vec<String>,
}

/// An item taken by a claim, with its generation (the fencing token).
#[derive(Debug, Clone)]
pub struct Claimed {
    pub item: ItemView,
    pub generation: i64,
    pub reclaimed_from: Option<String>,
}

/// An item a sweep returned to TODO.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Reclaimed {
    pub id: String,
    pub by: Option<String>,
    pub generation: i64,
}

// STAND-IN until h13-claims merges
pub fn claim_next(cx: &Context, claimer: &str, scope: &Scope) -> Result<Option<Claimed>> {
    let now = format_time(cx.now());
    let workflow = cx.workflow();
    let mut db = cx.tracker()?;
    let sql = format!(
        "SELECT {} FROM items WHERE {} AND (?1 IS NULL OR EXISTS (SELECT 1 FROM labels l \
         WHERE l.item = items.id AND l.label = ?1)) ORDER BY priority, seq",
        items::COLUMNS,
        tasks::READY
    );
    let found = db.write(|tx| -> Result<Option<(String, i64)>> {
        let candidates = tasks::query_items(tx, &sql, params![scope.label])?;
        let Some(item) = candidates
            .into_iter()
            .find(|item| !scope.exclude.contains(&item.id))
        else {
            return Ok(None);
        };
        apply_move(
            tx,
            &item,
            Status::InProgress,
            Via::Start,
            workflow,
            None,
            &now,
            Some(claimer),
        )?;
        tx.execute(
            "UPDATE items SET assignee = ?2, session = ?2, claim_gen = claim_gen + 1, \
             lease_at = ?3 WHERE id = ?1",
            params![item.id, claimer, now],
        )?;
        let generation: i64 = tx.query_row(
            "SELECT claim_gen FROM items WHERE id = ?1",
            params![item.id],
            |row| row.get(0),
        )?;
        items::record(
            tx,
            &item.id,
            &now,
            "claimed",
            json!({"by": claimer, "from": item.status.as_str(), "generation": generation}),
            Some(claimer),
        )?;
        Ok(Some((item.id, generation)))
    })?;
    found
        .map(|(id, generation)| {
            Ok(Claimed {
                item: tasks::view(db.conn(), &id)?,
                generation,
                reclaimed_from: None,
            })
        })
        .transpose()
}

// STAND-IN until h13-claims merges
pub fn renew(cx: &Context, held: &[(String, i64)]) -> Result<()> {
    let now = format_time(cx.now());
    let mut db = cx.tracker()?;
    db.write(|tx| -> Result<()> {
        for (id, generation) in held {
            tx.execute(
                "UPDATE items SET lease_at = ?3 WHERE id = ?1 AND claim_gen = ?2",
                params![id, generation, now],
            )?;
        }
        Ok(())
    })
}

// STAND-IN until h13-claims merges
fn fenced_move(
    cx: &Context,
    id: &str,
    generation: i64,
    to: Status,
    reason: Option<&str>,
    what: &str,
    note: &str,
) -> Result<()> {
    let now = format_time(cx.now());
    let workflow = cx.workflow();
    let mut db = cx.tracker()?;
    db.write(|tx| -> Result<()> {
        let item = items::get(tx, id)?;
        let current: i64 = tx.query_row(
            "SELECT claim_gen FROM items WHERE id = ?1",
            params![id],
            |row| row.get(0),
        )?;
        if current != generation {
            return Err(Error::conflict(format!(
                "{id} was claimed again (generation {current}, not {generation})"
            )));
        }
        let by = item.session.clone().or(item.assignee.clone());
        apply_move(tx, &item, to, Via::Force, workflow, reason, &now, None)?;
        tx.execute(
            "UPDATE items SET assignee = NULL, session = NULL WHERE id = ?1",
            params![id],
        )?;
        items::record(
            tx,
            id,
            &now,
            what,
            json!({"by": by, "generation": generation, "note": note}),
            None,
        )?;
        Ok(())
    })
}

// STAND-IN until h13-claims merges
pub fn give_back(cx: &Context, id: &str, generation: i64, note: &str) -> Result<()> {
    fenced_move(
        cx,
        id,
        generation,
        Status::Todo,
        None,
        "claim_returned",
        note,
    )
}

// STAND-IN until h13-claims merges
pub fn block(cx: &Context, id: &str, generation: i64, reason: &str) -> Result<()> {
    fenced_move(
        cx,
        id,
        generation,
        Status::Blocked,
        Some(reason),
        "blocked_by_worker",
        reason,
    )
}

// STAND-IN until h13-claims merges
pub fn reclaim(_cx: &Context, _dry_run: bool) -> Result<Vec<Reclaimed>> {
    Ok(Vec::new())
}
