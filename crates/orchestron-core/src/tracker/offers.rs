//! Task handoffs between agents (seed 000 §8.3): `handoff prepare` gives an item's claim up
//! and offers the item to an agent or a session with the context it needs; `handoff accept`
//! claims it for the accepting session and hands it the context. An offer holds the item for
//! its receiver (assigned to it, TODO) until it is accepted, someone else takes the item
//! (`tasks::take` deletes the offer), or
//! `claims.lease` passes: then anyone may take it, and `task reclaim` clears it.

use jiff::Timestamp;
use rusqlite::{OptionalExtension as _, Transaction, params};
use serde::Serialize;
use serde_json::{Value, json};

use crate::context::Context;
use crate::error::{Error, Result};
use crate::session::{format_time, parse_time};
use crate::tracker::items;
use crate::tracker::model::{Status, Via};
use crate::tracker::tasks::{self, ItemView, apply_move, check_text, fence_and_renew};

/// The most next steps an offer carries.
pub const MAX_NEXT_STEPS: usize = 20;

/// An open offer.
#[derive(Debug, Clone, Serialize)]
pub struct Offer {
    pub item: String,
    pub title: String,
    /// The agent or session it is offered to.
    pub to: String,
    pub context: String,
    pub next_steps: Vec<String>,
    pub from_session: Option<String>,
    pub at: String,
    pub expires_at: String,
}

impl Offer {
    /// The offer in words, for the receiver: what, from whom, the context, the next steps,
    /// and the command that accepts it.
    pub fn describe(&self) -> String {
        let from = self
            .from_session
            .as_deref()
            .map(|session| format!(" from session {}", session.get(..8).unwrap_or(session)))
            .unwrap_or_default();
        let steps = if self.next_steps.is_empty() {
            String::new()
        } else {
            format!(" Next steps: {}.", self.next_steps.join("; "))
        };
        let context = self.context.trim_end();
        let stop = if context.ends_with(['.', '!', '?']) {
            ""
        } else {
            "."
        };
        format!(
            "Handoff offered to you{from}: {} \"{}\". Context: {context}{stop}{steps} Take it \
             with `orchestron handoff accept {}` (offered until {}).",
            self.item, self.title, self.item, self.expires_at
        )
    }
}

/// Offer item `raw` to `to` (an agent's name or a session id): its claim, if any, is given
/// up (the item goes back to TODO, assigned to `to`), and the offer holds it for `to` until
/// `claims.lease` from now. Refused for a finished item, an empty context or receiver, and
/// (as every change) for an item a worker or another live claim holds.
pub fn prepare(
    cx: &Context,
    raw: &str,
    to: &str,
    context: &str,
    next_steps: &[String],
) -> Result<Offer> {
    check_text("receiver (`--to`)", to)?;
    check_text("context", context)?;
    if next_steps.len() > MAX_NEXT_STEPS {
        return Err(Error::invalid(format!(
            "at most {MAX_NEXT_STEPS} next steps, not {}",
            next_steps.len()
        )));
    }
    for step in next_steps {
        check_text("next step", step)?;
    }
    let now = cx.now();
    let at = format_time(now);
    let lease = jiff::SignedDuration::try_from(cx.config().claim_lease()).unwrap_or_default();
    let expires = format_time(now.saturating_add(lease).unwrap_or(now));
    let actor = cx.actor();
    let mut db = cx.tracker_to_change()?;
    let id = db.write(|tx| -> Result<String> {
        let id = items::resolve(tx, raw)?;
        let item = items::get(tx, &id)?;
        if matches!(item.status, Status::Done | Status::Cancelled) {
            return Err(Error::conflict(format!(
                "{id} is {}: there is nothing left to hand off",
                item.status
            )));
        }
        fence_and_renew(cx, tx, &item, actor, &at)?;
        if item.status != Status::Todo && item.status != Status::Backlog {
            apply_move(
                tx,
                &item,
                Status::Todo,
                Via::Release,
                cx.workflow(),
                None,
                &at,
                actor,
            )?;
        }
        tx.execute(
            "UPDATE items SET assignee = ?2, session = NULL, updated_at = ?3 WHERE id = ?1",
            params![id, to, at],
        )?;
        tx.execute(
            "INSERT OR REPLACE INTO offers (item, to_whom, context, next_steps, from_session, \
             at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                id,
                to,
                context,
                json!(next_steps).to_string(),
                actor,
                at,
                expires
            ],
        )?;
        items::record(
            tx,
            &id,
            &at,
            "handoff_offered",
            json!({"to": to, "context": context, "next_steps": next_steps, "by": actor}),
            actor,
        )?;
        Ok(id)
    })?;
    open_offer(db.conn(), &id)?.ok_or_else(|| Error::internal("the offer was not recorded"))
}

/// What `handoff accept` gives the receiver.
#[derive(Debug, Clone, Serialize)]
pub struct Accepted {
    pub item: ItemView,
    pub offer: Offer,
}

/// Accept the offer of item `raw` as the acting session, which must be the one it was
/// offered to or work as the agent it was offered to (`agent`): the item is claimed for it
/// (IN_PROGRESS), the offer ends, and its context comes back.
pub fn accept(cx: &Context, raw: &str, agent: Option<&str>) -> Result<Accepted> {
    let actor = cx.actor().ok_or_else(|| {
        Error::invalid("`handoff accept` needs the session that takes the item")
            .with_hint("run it from the Claude Code session, or name it with `ORCHESTRON_SESSION`")
    })?;
    let now = cx.now();
    let at = format_time(now);
    let mut db = cx.tracker_to_change()?;
    let offer = db.write(|tx| -> Result<Offer> {
        let id = items::resolve(tx, raw)?;
        let offer = open_offer(tx, &id)?.ok_or_else(|| {
            Error::not_found(format!("no handoff of {id} is waiting"))
                .with_hint("`orchestron handoff offers` lists the handoffs waiting for you")
        })?;
        if offer.to != actor && Some(offer.to.as_str()) != agent {
            return Err(Error::conflict(format!(
                "{id} is offered to `{}`, not to this session{}",
                offer.to,
                agent
                    .map(|agent| format!(" (agent {agent})"))
                    .unwrap_or_default()
            )));
        }
        if parse_time(&offer.expires_at).is_ok_and(|expires| now >= expires) {
            return Err(Error::conflict(format!(
                "the handoff of {id} expired at {}: the item is anyone's again",
                offer.expires_at
            ))
            .with_hint(format!("`orchestron task start {id}` takes it")));
        }
        let item = items::get(tx, &id)?;
        tasks::take(tx, cx, &item, Some(actor), Some(actor), &at)?;
        items::record(
            tx,
            &id,
            &at,
            "handoff_accepted",
            json!({"by": actor, "from": offer.from_session}),
            Some(actor),
        )?;
        Ok(offer)
    })?;
    Ok(Accepted {
        item: tasks::view(db.conn(), &offer.item)?,
        offer,
    })
}

/// Clear every offer that has expired at `now`: its item's assignee (the receiver) is
/// removed, with a `handoff_expired` entry. Returns the items.
pub(crate) fn expire(tx: &Transaction<'_>, now: Timestamp) -> Result<Vec<String>> {
    let at = format_time(now);
    let expired: Vec<(String, String)> = {
        let mut statement =
            tx.prepare_cached("SELECT item, to_whom FROM offers WHERE expires_at <= ?1")?;
        statement
            .query_map([&at], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    for (item, to) in &expired {
        tx.execute(
            "UPDATE items SET assignee = NULL, updated_at = ?3 WHERE id = ?1 AND assignee = ?2 \
             AND status IN ('TODO', 'BACKLOG')",
            params![item, to, at],
        )?;
        tx.execute("DELETE FROM offers WHERE item = ?1", [item])?;
        items::record(tx, item, &at, "handoff_expired", json!({"to": to}), None)?;
    }
    Ok(expired.into_iter().map(|(item, _)| item).collect())
}

/// The open offer of `id`, if any (expired or not).
fn open_offer(conn: &rusqlite::Connection, id: &str) -> Result<Option<Offer>> {
    Ok(conn
        .query_row(&format!("{SELECT} WHERE o.item = ?1"), [id], offer_of)
        .optional()?)
}

fn offer_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<Offer> {
    let steps: String = row.get(4)?;
    Ok(Offer {
        item: row.get(0)?,
        title: row.get(1)?,
        to: row.get(2)?,
        context: row.get(3)?,
        next_steps: serde_json::from_str::<Value>(&steps)
            .ok()
            .and_then(|value| serde_json::from_value(value).ok())
            .unwrap_or_default(),
        from_session: row.get(5)?,
        at: row.get(6)?,
        expires_at: row.get(7)?,
    })
}

/// Every offer waiting, not expired, oldest first. Reads only.
pub fn all(cx: &Context) -> Result<Vec<Offer>> {
    let at = format_time(cx.now());
    waiting(cx, "o.expires_at > ?1", params![at])
}

/// The offers waiting, not expired, for the session `session` or the agent `agent`, oldest
/// first. Reads only; none without a tracker.
pub fn waiting_for(cx: &Context, session: Option<&str>, agent: Option<&str>) -> Result<Vec<Offer>> {
    let at = format_time(cx.now());
    waiting(
        cx,
        "o.expires_at > ?3 AND (o.to_whom = ?1 OR o.to_whom = ?2)",
        params![session, agent, at],
    )
}

/// The columns [`offer_of`] reads, from an offer and its item.
const SELECT: &str = "SELECT o.item, i.title, o.to_whom, o.context, o.next_steps, \
    o.from_session, o.at, o.expires_at FROM offers o JOIN items i ON i.id = o.item";

/// The offers matching `filter` (over `o`, the offers, and `i`, their items), oldest first.
fn waiting(cx: &Context, filter: &str, params: impl rusqlite::Params) -> Result<Vec<Offer>> {
    if !cx.tracker_path().exists() {
        return Ok(Vec::new());
    }
    let db = cx.tracker_for_reads()?;
    let mut statement = db
        .conn()
        .prepare_cached(&format!("{SELECT} WHERE {filter} ORDER BY o.at"))?;
    let offers = statement
        .query_map(params, offer_of)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(offers)
}
