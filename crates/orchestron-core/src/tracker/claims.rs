//! Claim leases: who holds an IN_PROGRESS item, for how long, and how a lapsed claim is taken
//! back. Every claim (`task start`, `task next --claim`, a worker's [`claim_next`]) bumps the
//! item's generation (`items.claim_gen`, a fencing token) and stamps `items.lease_at`; the
//! claimer (the item's `session`, else its `assignee`) keeps the lease alive by acting.
//!
//! The lease rule is one pure function, [`lapse`]; the operations here apply it inside the
//! tracker's write transaction, so a sweep and the claim that follows it are one atomic step,
//! and two claimers can never both take an item. The fence (`fence_and_renew`) refuses a
//! late change from a claimer whose claim was taken back. This module reads session
//! documents (never locks or writes them) and does no other I/O.

use std::collections::HashMap;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use rusqlite::{Connection, OptionalExtension as _, Transaction, params};
use serde::Serialize;
use serde_json::{Value, json};

use super::items::{self, COLUMNS, Item};
use super::model::{Status, Via};
use super::tasks::{self, ItemView};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::ids::SessionId;
use crate::session::{self, Lifecycle, format_time, parse_time};

/// The history entry of a claim swept because it lapsed.
pub const CLAIM_EXPIRED: &str = "claim_expired";
/// The history entry of a claim the supervisor gave back.
pub const CLAIM_RETURNED: &str = "claim_returned";
/// The history entry of a live claim a person took over (`task start --force`).
pub const CLAIM_TAKEN: &str = "claim_taken";

/// Which items a worker may claim. Empty: every ready item.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Only items in this sprint (an id or a unique prefix, as `sprint` commands take).
    pub sprint: Option<String>,
    /// Only the descendants of this epic (or any item).
    pub epic: Option<String>,
    /// Only items with this label.
    pub label: Option<String>,
    /// Never these item ids (the supervisor's own, or ones it gave up on).
    pub exclude: Vec<String>,
}

/// An item taken by [`claim_next`].
#[derive(Debug, Clone, Serialize)]
pub struct Claimed {
    #[serde(flatten)]
    pub item: ItemView,
    /// The claim's generation: the fencing token the claimer passes to [`give_back`],
    /// [`block`] and [`renew`].
    pub generation: i64,
    /// The claimer whose lapsed claim was swept in the same transaction, if any.
    pub reclaimed_from: Option<String>,
}

/// Why a claim has lapsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "why", rename_all = "snake_case")]
pub enum Lapse {
    /// Nothing renewed it: the lease ended at `at`.
    LeaseRanOut { at: String },
    /// The claimer's session has ended (`completed`, `failed`) or expired.
    SessionEnded { status: String },
}

impl Lapse {
    /// In words, for a message.
    pub fn describe(&self) -> String {
        match self {
            Lapse::LeaseRanOut { at } => format!("its lease ran out at {at}"),
            Lapse::SessionEnded { status } => format!("its claimer's session is {status}"),
        }
    }
}

/// A claim that has lapsed: who held it, its generation, and why it lapsed.
#[derive(Debug, Clone, Serialize)]
pub struct LapsedClaim {
    pub claimer: String,
    pub generation: i64,
    #[serde(flatten)]
    pub lapse: Lapse,
}

/// An item whose lapsed claim [`reclaim`] swept (or, in a dry run, would sweep).
#[derive(Debug, Clone, Serialize)]
pub struct Reclaimed {
    pub id: String,
    pub title: String,
    #[serde(flatten)]
    pub claim: LapsedClaim,
}

/// What the lease rule knows of a claimer's session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimerSession {
    /// The claimer is a name, or a session without a readable document: only the lease
    /// counts.
    Unknown,
    Known {
        /// Its status as of now (`expired` included).
        status: session::Status,
        last_activity: Option<Timestamp>,
        /// A worker's session (its document has a `worker` field): its claim is held by the
        /// supervisor, which renews the lease until its merge train is done with the item, so
        /// the worker's session ending does not end the claim.
        worker: bool,
    },
}

/// The lease rule, the one definition. A claim renewed last at `renewed` (the later of the
/// item's `lease_at` and `updated_at`) lapses once `now` reaches the later of `renewed` and
/// the claimer session's last activity, plus `lease`; or at once when the claimer's session
/// (not a worker's) has ended or expired. Pure.
pub fn lapse(
    renewed: Timestamp,
    session: ClaimerSession,
    now: Timestamp,
    lease: Duration,
) -> Option<Lapse> {
    let mut last = renewed;
    if let ClaimerSession::Known {
        status,
        last_activity,
        worker,
    } = session
    {
        if !worker && (status.is_ended() || status == session::Status::Expired) {
            return Some(Lapse::SessionEnded {
                status: status.as_str().to_owned(),
            });
        }
        last = last.max(last_activity.unwrap_or(last));
    }
    let ends = SignedDuration::try_from(lease)
        .ok()
        .and_then(|lease| last.checked_add(lease).ok())
        .unwrap_or(Timestamp::MAX);
    (now >= ends).then(|| Lapse::LeaseRanOut {
        at: format_time(ends),
    })
}

/// What the lease rule needs of a session document, as of `now`: its status, last activity
/// and whether it is a worker's. A document bent out of shape counts as unknown. Pure.
pub fn claimer_session_of(document: &Value, now: Timestamp) -> ClaimerSession {
    let Ok(lifecycle) = Lifecycle::of(document) else {
        return ClaimerSession::Unknown;
    };
    ClaimerSession::Known {
        status: lifecycle.status(now),
        last_activity: document
            .pointer("/session/lifecycle/last_activity")
            .and_then(Value::as_str)
            .and_then(|raw| parse_time(raw).ok()),
        worker: worker_of(document).is_some(),
    }
}

/// The `worker` field of a session document (`{"item", "run", "attempt"}`), written at the
/// SessionStart of a worker's session; at the top level or under `session`.
pub fn worker_of(document: &Value) -> Option<&Value> {
    document
        .get("worker")
        .or_else(|| document.pointer("/session/worker"))
        .filter(|worker| worker.is_object())
}

/// The document of session `claimer`, if it names one that can be read (without a lock).
pub(crate) fn session_document(cx: &Context, claimer: &str) -> Option<Value> {
    let id = SessionId::parse(claimer).ok()?;
    cx.store(crate::sessions::FOLDER)
        .try_read(&id)
        .ok()
        .flatten()
}

/// Who holds an item: its session, else its assignee.
pub fn claimer_of(item: &Item) -> Option<&str> {
    item.session.as_deref().or(item.assignee.as_deref())
}

/// An item with its claim columns.
struct Row {
    item: Item,
    generation: i64,
    lease_at: Option<String>,
}

/// Asks the lease rule about claims, reading each claimer's session document once.
struct Judge<'a> {
    cx: &'a Context,
    now: Timestamp,
    lease: Duration,
    sessions: HashMap<String, ClaimerSession>,
}

impl<'a> Judge<'a> {
    fn new(cx: &'a Context, now: Timestamp) -> Judge<'a> {
        Judge {
            cx,
            now,
            lease: cx.config().claim_lease(),
            sessions: HashMap::new(),
        }
    }

    /// The lapsed claim on `row`, if it is an IN_PROGRESS item whose claim has lapsed.
    fn lapsed(&mut self, row: &Row) -> Option<LapsedClaim> {
        if row.item.status != Status::InProgress {
            return None;
        }
        let claimer = claimer_of(&row.item)?;
        let (cx, now) = (self.cx, self.now);
        let session = *self.sessions.entry(claimer.to_owned()).or_insert_with(|| {
            session_document(cx, claimer).map_or(ClaimerSession::Unknown, |document| {
                claimer_session_of(&document, now)
            })
        });
        let times = [row.lease_at.as_deref(), Some(row.item.updated_at.as_str())];
        let renewed = times
            .into_iter()
            .flatten()
            .filter_map(|raw| parse_time(raw).ok())
            .max()?;
        let lapse = lapse(renewed, session, self.now, self.lease)?;
        Some(LapsedClaim {
            claimer: claimer.to_owned(),
            generation: row.generation,
            lapse,
        })
    }
}

fn rows(conn: &Connection, sql: &str, values: &[rusqlite::types::Value]) -> Result<Vec<Row>> {
    let mut statement = conn.prepare(sql)?;
    let found = statement
        .query_map(rusqlite::params_from_iter(values.iter()), |row| {
            Ok(Row {
                item: Item::from_row(row)?,
                generation: row.get(18)?,
                lease_at: row.get(19)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(found)
}

/// The condition of "ready once free": every dependency DONE and no open child.
const FREE_TO_START: &str = "open_deps = 0 AND NOT EXISTS \
    (SELECT 1 FROM items c WHERE c.parent = items.id AND c.status NOT IN ('DONE', 'CANCELLED'))";

/// The best item to take, as `task next` orders them (priority, then creation): a ready item
/// assigned to `who` or to nobody, or an IN_PROGRESS item free to start whose claim has lapsed
/// (with that claim), within `scope`.
pub(crate) fn pick(
    conn: &Connection,
    cx: &Context,
    now: Timestamp,
    who: Option<&str>,
    scope: &Scope,
) -> Result<Option<(Item, Option<LapsedClaim>)>> {
    use rusqlite::types::Value as Sql;
    let mut values: Vec<Sql> = vec![who.map_or(Sql::Null, |who| Sql::Text(who.to_owned()))];
    let mut sql = format!(
        "SELECT {COLUMNS}, claim_gen, lease_at FROM items WHERE \
         (({ready}) AND (assignee IS NULL OR assignee = ?1) \
          OR (status = 'IN_PROGRESS' AND COALESCE(session, assignee) IS NOT NULL AND {FREE_TO_START}))",
        ready = tasks::READY
    );
    if let Some(raw) = &scope.sprint {
        values.push(Sql::Text(tasks::resolve_sprint(conn, raw)?));
        sql.push_str(&format!(
            " AND id IN (SELECT item FROM sprint_items WHERE sprint = ?{})",
            values.len()
        ));
    }
    if let Some(raw) = &scope.epic {
        values.push(Sql::Text(items::resolve(conn, raw)?));
        sql.push_str(&format!(
            " AND id IN (WITH RECURSIVE below(id) AS (SELECT id FROM items WHERE parent = ?{} \
             UNION SELECT i.id FROM items i JOIN below b ON i.parent = b.id) SELECT id FROM below)",
            values.len()
        ));
    }
    if let Some(label) = &scope.label {
        values.push(Sql::Text(label.clone()));
        sql.push_str(&format!(
            " AND id IN (SELECT item FROM labels WHERE label = ?{})",
            values.len()
        ));
    }
    sql.push_str(" ORDER BY priority, seq");
    let mut judge = Judge::new(cx, now);
    for row in rows(conn, &sql, &values)? {
        if scope.exclude.contains(&row.item.id) {
            continue;
        }
        if row.item.status == Status::Todo {
            return Ok(Some((row.item, None)));
        }
        if let Some(lapsed) = judge.lapsed(&row) {
            return Ok(Some((row.item, Some(lapsed))));
        }
    }
    Ok(None)
}

/// Every IN_PROGRESS item whose claim has lapsed, most urgent first.
fn lapsed_claims(
    conn: &Connection,
    cx: &Context,
    now: Timestamp,
) -> Result<Vec<(Item, LapsedClaim)>> {
    let sql = format!(
        "SELECT {COLUMNS}, claim_gen, lease_at FROM items WHERE status = 'IN_PROGRESS' \
         AND COALESCE(session, assignee) IS NOT NULL ORDER BY priority, seq"
    );
    let mut judge = Judge::new(cx, now);
    Ok(rows(conn, &sql, &[])?
        .into_iter()
        .filter_map(|row| judge.lapsed(&row).map(|lapsed| (row.item, lapsed)))
        .collect())
}

/// Sweep a lapsed claim: the item returns to TODO with no assignee or session, and a
/// `claim_expired` event names the old claimer and its generation. Returns the item as it is
/// now.
pub(crate) fn expire(
    tx: &Transaction<'_>,
    cx: &Context,
    item: &Item,
    lapsed: &LapsedClaim,
    now: &str,
) -> Result<Item> {
    tasks::apply_move(
        tx,
        item,
        Status::Todo,
        Via::Release,
        cx.workflow(),
        None,
        now,
        cx.actor(),
    )?;
    // `by` names the old claimer, as the fence looks it up.
    let mut detail = json!({"by": lapsed.claimer, "generation": lapsed.generation});
    if let (Some(detail), Ok(Value::Object(why))) =
        (detail.as_object_mut(), serde_json::to_value(&lapsed.lapse))
    {
        detail.extend(why);
    }
    items::record(tx, &item.id, now, CLAIM_EXPIRED, detail, cx.actor())?;
    items::get(tx, &item.id)
}

/// Before `claimer` starts `item`: when another claimer holds it (IN_PROGRESS), sweep its
/// claim if it lapsed ([`expire`]: the item is TODO again), else take it over with `force`
/// (a new generation and lease, a `claim_taken` event naming the old claimer), else refuse.
/// Returns the item as it is now.
pub(crate) fn take_over(
    tx: &Transaction<'_>,
    cx: &Context,
    item: &Item,
    claimer: &str,
    force: bool,
    now: &str,
) -> Result<Item> {
    let Some(holder) = claimer_of(item).filter(|holder| *holder != claimer) else {
        return Ok(item.clone());
    };
    if item.status != Status::InProgress {
        return Ok(item.clone());
    }
    let sql = format!("SELECT {COLUMNS}, claim_gen, lease_at FROM items WHERE id = ?1");
    let row = rows(tx, &sql, &[rusqlite::types::Value::Text(item.id.clone())])?
        .pop()
        .ok_or_else(|| Error::not_found(format!("no item {}", item.id)))?;
    let at = parse_time(now).map_err(|err| Error::internal(err.to_string()))?;
    if let Some(lapsed) = Judge::new(cx, at).lapsed(&row) {
        return expire(tx, cx, item, &lapsed, now);
    }
    if !force {
        return Err(Error::conflict(format!(
            "{} is IN_PROGRESS and claimed by `{holder}`, whose claim is live",
            item.id
        ))
        .with_hint(format!(
            "`orchestron task start {} --force` takes it over (recorded); the old claimer's \
             later changes are then refused",
            item.id
        )));
    }
    tx.execute(
        "UPDATE items SET claim_gen = claim_gen + 1, lease_at = ?2, assignee = NULL, \
         session = NULL WHERE id = ?1",
        params![item.id, now],
    )?;
    items::record(
        tx,
        &item.id,
        now,
        CLAIM_TAKEN,
        json!({"by": holder, "generation": row.generation, "to": claimer}),
        cx.actor(),
    )?;
    items::get(tx, &item.id)
}

/// Take `item` (TODO, ready) for `assignee` and `session`: IN_PROGRESS (which bumps its
/// generation and stamps its lease, see [`tasks::apply_move`]) and a `claimed` event. Returns
/// the new generation.
pub(crate) fn take(
    tx: &Transaction<'_>,
    cx: &Context,
    item: &Item,
    assignee: Option<&str>,
    session: Option<&str>,
    now: &str,
) -> Result<i64> {
    tasks::apply_move(
        tx,
        item,
        Status::InProgress,
        Via::Start,
        cx.workflow(),
        None,
        now,
        cx.actor(),
    )?;
    tx.execute(
        "UPDATE items SET assignee = ?2, session = COALESCE(?3, session) WHERE id = ?1",
        params![item.id, assignee, session],
    )?;
    let generation = generation_of(tx, &item.id)?;
    items::record(
        tx,
        &item.id,
        now,
        "claimed",
        json!({"by": assignee.or(session), "from": item.status.as_str(), "generation": generation}),
        cx.actor(),
    )?;
    Ok(generation)
}

fn generation_of(conn: &Connection, id: &str) -> Result<i64> {
    Ok(
        conn.query_row("SELECT claim_gen FROM items WHERE id = ?1", [id], |row| {
            row.get(0)
        })?,
    )
}

/// Atomically: sweep a lapsed claim if its item is the best one, then claim the best ready
/// in-scope item not in `exclude` for `claimer` (a session id): IN_PROGRESS, assignee and
/// session = claimer, claim_gen+1, lease_at = now, event `claimed`. Same ordering as
/// `task next`.
pub fn claim_next(cx: &Context, claimer: &str, scope: &Scope) -> Result<Option<Claimed>> {
    tasks::check_text("claimer", claimer)?;
    let now = cx.now();
    let at = format_time(now);
    let mut db = cx.tracker_to_change()?;
    let found = db.write(|tx| -> Result<Option<(String, i64, Option<String>)>> {
        let Some((item, lapsed)) = pick(tx, cx, now, Some(claimer), scope)? else {
            return Ok(None);
        };
        let item = match &lapsed {
            Some(lapsed) => expire(tx, cx, &item, lapsed, &at)?,
            None => item,
        };
        let generation = take(tx, cx, &item, Some(claimer), Some(claimer), &at)?;
        Ok(Some((
            item.id,
            generation,
            lapsed.map(|lapsed| lapsed.claimer),
        )))
    })?;
    found
        .map(|(id, generation, reclaimed_from)| {
            Ok(Claimed {
                item: tasks::view(db.conn(), &id)?,
                generation,
                reclaimed_from,
            })
        })
        .transpose()
}

/// Renew the leases the caller still holds (`lease_at = now` where claim_gen matches).
pub fn renew(cx: &Context, held: &[(String, i64)]) -> Result<()> {
    if held.is_empty() {
        return Ok(());
    }
    let now = format_time(cx.now());
    let mut db = cx.tracker_to_change()?;
    db.write(|tx| -> Result<()> {
        let mut statement = tx.prepare_cached(
            "UPDATE items SET lease_at = ?3 WHERE id = ?1 AND claim_gen = ?2 \
             AND status = 'IN_PROGRESS'",
        )?;
        for (id, generation) in held {
            statement.execute(params![id, generation, now])?;
        }
        Ok(())
    })
}

/// The item `raw` names, refused (`conflict`) unless its generation is still `generation`:
/// someone claimed it since. For every change made on behalf of a claim's holder (the
/// supervisor's, its merge train's) inside a tracker transaction.
pub(crate) fn fenced_by_generation(
    tx: &Transaction<'_>,
    raw: &str,
    generation: i64,
) -> Result<Item> {
    let id = items::resolve(tx, raw)?;
    let current = generation_of(tx, &id)?;
    if current != generation {
        return Err(Error::conflict(format!(
            "{id} was claimed again since generation {generation} (it is at generation {current}); \
             the holder of generation {generation} no longer holds it"
        ))
        .with_hint(format!("`orchestron task history {id}` shows who holds it")));
    }
    items::get(tx, &id)
}

/// Give a claim back (fenced by generation; a stale generation is a `conflict`): the item
/// returns to TODO with no assignee/session, event `claim_returned` with `note`. An item that
/// is no longer IN_PROGRESS (its worker asked a question, or the train moved it on) is left
/// as it is.
pub fn give_back(cx: &Context, id: &str, generation: i64, note: &str) -> Result<()> {
    tasks::check_text("note", note)?;
    let now = format_time(cx.now());
    let mut db = cx.tracker_to_change()?;
    db.write(|tx| -> Result<()> {
        let item = fenced_by_generation(tx, id, generation)?;
        if item.status != Status::InProgress {
            return Ok(());
        }
        tasks::apply_move(
            tx,
            &item,
            Status::Todo,
            Via::Release,
            cx.workflow(),
            None,
            &now,
            cx.actor(),
        )?;
        items::record(
            tx,
            &item.id,
            &now,
            CLAIM_RETURNED,
            json!({"by": claimer_of(&item), "generation": generation, "note": note}),
            cx.actor(),
        )?;
        Ok(())
    })
}

/// Block it (fenced): BLOCKED with `reason`, event `blocked_by_worker`. An item BLOCKED
/// already (its worker asked a question) keeps its own reason.
pub fn block(cx: &Context, id: &str, generation: i64, reason: &str) -> Result<()> {
    tasks::check_text("reason", reason)?;
    let now = format_time(cx.now());
    let mut db = cx.tracker_to_change()?;
    db.write(|tx| -> Result<()> {
        let item = fenced_by_generation(tx, id, generation)?;
        if item.status == Status::Blocked {
            return Ok(());
        }
        tasks::apply_move(
            tx,
            &item,
            Status::Blocked,
            Via::Update,
            cx.workflow(),
            Some(reason),
            &now,
            cx.actor(),
        )?;
        items::record(
            tx,
            &item.id,
            &now,
            "blocked_by_worker",
            json!({"by": claimer_of(&item), "generation": generation, "reason": reason}),
            cx.actor(),
        )?;
        Ok(())
    })
}

/// Sweep every lapsed claim: each item returns to TODO with a `claim_expired` event, in one
/// transaction. With `dry_run`, only say which (reads only).
pub fn reclaim(cx: &Context, dry_run: bool) -> Result<Vec<Reclaimed>> {
    let now = cx.now();
    let found = |claims: Vec<(Item, LapsedClaim)>| {
        claims
            .into_iter()
            .map(|(item, claim)| Reclaimed {
                id: item.id,
                title: item.title,
                claim,
            })
            .collect()
    };
    if dry_run {
        let db = cx.tracker_for_reads()?;
        return Ok(found(lapsed_claims(db.conn(), cx, now)?));
    }
    let at = format_time(now);
    let mut db = cx.tracker_to_change()?;
    db.write(|tx| -> Result<Vec<Reclaimed>> {
        let claims = lapsed_claims(tx, cx, now)?;
        for (item, lapsed) in &claims {
            expire(tx, cx, item, lapsed, &at)?;
        }
        Ok(found(claims))
    })
}

/// The fence of a change by `actor` to `item`: refused (`conflict`) when `actor` is not the
/// item's claimer and its claim on the item was taken back (a `claim_expired`,
/// `claim_returned` or `claim_taken` event names it). A change by the claimer itself renews its lease. A
/// person without a session is never fenced.
pub(crate) fn fence_and_renew(
    tx: &Transaction<'_>,
    item: &Item,
    actor: Option<&str>,
    now: &str,
) -> Result<()> {
    let Some(actor) = actor else {
        return Ok(());
    };
    if claimer_of(item) == Some(actor) {
        if item.status == Status::InProgress {
            tx.execute(
                "UPDATE items SET lease_at = ?2 WHERE id = ?1",
                params![item.id, now],
            )?;
        }
        return Ok(());
    }
    let taken: Option<(String, String)> = tx
        .query_row(
            "SELECT at, what FROM events WHERE item = ?1 AND what IN (?3, ?4, ?5) \
             AND json_valid(detail) AND json_extract(detail, '$.by') = ?2 \
             ORDER BY id DESC LIMIT 1",
            params![item.id, actor, CLAIM_EXPIRED, CLAIM_RETURNED, CLAIM_TAKEN],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let Some((at, what)) = taken else {
        return Ok(());
    };
    let how = match what.as_str() {
        CLAIM_EXPIRED => "reclaimed from it: its claim lapsed",
        CLAIM_RETURNED => "given back by its supervisor",
        _ => "taken over with `task start --force`",
    };
    let holder = match claimer_of(item) {
        Some(holder) => format!("; it is {} and held by {holder}", item.status),
        None => format!("; it is {}", item.status),
    };
    Err(Error::conflict(format!(
        "{id} is no longer claimed by `{actor}`: it was {how} at {at}{holder}; \
         this late change is refused",
        id = item.id
    ))
    .with_hint(format!(
        "`orchestron task history {}` shows what happened; `orchestron task next --claim` takes \
         other work",
        item.id
    )))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Config;
    use crate::tracker::model::{Kind, Priority};
    use crate::tracker::tasks::NewItem;
    use crate::{Clock, Settings};

    fn context(root: &Path, actor: Option<&str>, now: &str) -> Context {
        Context::new(Settings {
            state_root: root.to_path_buf(),
            config: Config::default(),
            default_project: "p".to_owned(),
            actor: actor.map(str::to_owned),
            lock_timeout: Duration::from_secs(5),
            durability: None,
            test_locks: crate::store::TestLocks::default(),
            clock: Clock::Fixed(now.parse().unwrap()),
            id_seed: Some("tests".to_owned()),
        })
    }

    fn item(cx: &Context, title: &str, parent: Option<&str>, labels: &[&str]) -> String {
        let new = NewItem {
            kind: if parent.is_none() && title.starts_with("epic") {
                Kind::Epic
            } else {
                Kind::Task
            },
            title: title.to_owned(),
            description: String::new(),
            status: Status::Todo,
            priority: Priority::Medium,
            estimate: None,
            assignee: None,
            labels: labels.iter().map(|label| (*label).to_owned()).collect(),
            parent: parent.map(str::to_owned),
        };
        tasks::create(cx, &new).unwrap().item.id
    }

    fn status(cx: &Context, id: &str) -> Status {
        tasks::show(cx, id).unwrap().view.item.status
    }

    const T0: &str = "2026-01-01T00:00:00Z";

    #[test]
    fn the_supervisors_claims_follow_scope_generation_and_lease() {
        let dir = tempfile::tempdir().unwrap();
        let cx = context(dir.path(), None, T0);
        let epic = item(&cx, "epic", None, &[]);
        let outside = item(&cx, "outside", None, &["api"]);
        let inside = item(&cx, "inside", Some(&epic), &[]);
        let labelled = item(&cx, "labelled", Some(&epic), &["api"]);

        let in_epic = Scope {
            epic: Some(epic.clone()),
            ..Scope::default()
        };
        let first = claim_next(&cx, "w1", &in_epic).unwrap().unwrap();
        assert_eq!(first.item.item.id, inside);
        assert_eq!(first.generation, 1);
        assert_eq!(first.item.item.session.as_deref(), Some("w1"));
        assert_eq!(first.item.item.assignee.as_deref(), Some("w1"));
        assert_eq!(first.reclaimed_from, None);
        let api_not_outside = Scope {
            label: Some("api".to_owned()),
            exclude: vec![outside.clone()],
            ..Scope::default()
        };
        let second = claim_next(&cx, "w2", &api_not_outside).unwrap().unwrap();
        assert_eq!(second.item.item.id, labelled);
        assert!(claim_next(&cx, "w3", &in_epic).unwrap().is_none());

        // Renewed at 00:10, w1's lease outlives w2's, which runs out at 00:15.
        let later = context(dir.path(), None, "2026-01-01T00:10:00Z");
        renew(&later, &[(inside.clone(), 1), (labelled.clone(), 99)]).unwrap();
        let at = context(dir.path(), None, "2026-01-01T00:16:00Z");
        let swept: Vec<String> = reclaim(&at, true)
            .unwrap()
            .into_iter()
            .map(|found| found.id)
            .collect();
        assert_eq!(swept, std::slice::from_ref(&labelled));
        let third = claim_next(&at, "w3", &api_not_outside).unwrap().unwrap();
        assert_eq!(third.item.item.id, labelled);
        assert_eq!(third.generation, 2);
        assert_eq!(third.reclaimed_from.as_deref(), Some("w2"));

        // The old generation is fenced; the current one gives the claim back.
        let stale = give_back(&at, &labelled, 1, "stopped").unwrap_err();
        assert_eq!(stale.kind(), crate::ErrorKind::Conflict, "{stale}");
        assert_eq!(
            block(&at, &labelled, 1, "x").unwrap_err().kind(),
            crate::ErrorKind::Conflict
        );
        give_back(&at, &labelled, 2, "stopped by a signal").unwrap();
        let back = tasks::show(&at, &labelled).unwrap().view.item;
        assert_eq!(
            (back.status, back.session, back.assignee),
            (Status::Todo, None, None)
        );
        let history = tasks::history(&at, &labelled).unwrap();
        let returned = history
            .iter()
            .find(|event| event.what == CLAIM_RETURNED)
            .unwrap();
        assert_eq!(returned.detail["by"], "w3");
        assert_eq!(returned.detail["note"], "stopped by a signal");

        // w3, whose claim was given back, is fenced out of later changes.
        let w3 = context(dir.path(), Some("w3"), "2026-01-01T00:17:00Z");
        let late = tasks::set_progress(&w3, &labelled, 50).unwrap_err();
        assert_eq!(late.kind(), crate::ErrorKind::Conflict);
        assert!(
            late.to_string().contains("given back by its supervisor"),
            "{late}"
        );

        // Blocking: fenced, recorded, and a question a worker asked is kept.
        block(&at, &inside, 1, "failed twice: no result").unwrap();
        let blocked = tasks::show(&at, &inside).unwrap().view.item;
        assert_eq!(blocked.status, Status::Blocked);
        assert_eq!(
            blocked.blocked_reason.as_deref(),
            Some("failed twice: no result")
        );
        let again = claim_next(&at, "w4", &Scope::default()).unwrap().unwrap();
        let asker = context(dir.path(), Some("w4"), "2026-01-01T00:16:00Z");
        tasks::ask(&asker, &again.item.item.id, "which port?").unwrap();
        block(&at, &again.item.item.id, again.generation, "worker stopped").unwrap();
        give_back(&at, &again.item.item.id, again.generation, "worker stopped").unwrap();
        let kept = tasks::show(&at, &again.item.item.id).unwrap().view.item;
        assert_eq!(kept.blocked_reason.as_deref(), Some("which port?"));
        assert_eq!(status(&at, &again.item.item.id), Status::Blocked);
    }

    #[test]
    fn a_sprint_scope_claims_only_its_items() {
        use crate::tracker::sprints;
        let dir = tempfile::tempdir().unwrap();
        let cx = context(dir.path(), None, T0);
        let _first = item(&cx, "not in the sprint", None, &[]);
        let second = item(&cx, "in the sprint", None, &[]);
        let sprint = sprints::create(
            &cx,
            &sprints::NewSprint {
                name: "one".to_owned(),
                goal: None,
                duration_days: 7,
                start: None,
            },
        )
        .unwrap()
        .sprint
        .id;
        sprints::add(&cx, &sprint, std::slice::from_ref(&second)).unwrap();
        let scope = Scope {
            sprint: Some(sprint),
            ..Scope::default()
        };
        let claimed = claim_next(&cx, "w", &scope).unwrap().unwrap();
        assert_eq!(claimed.item.item.id, second);
        assert!(claim_next(&cx, "w", &scope).unwrap().is_none());
        let unknown = Scope {
            sprint: Some("SPRINT-nope".to_owned()),
            ..Scope::default()
        };
        assert_eq!(
            claim_next(&cx, "w", &unknown).unwrap_err().kind(),
            crate::ErrorKind::NotFound
        );
    }

    #[test]
    fn starting_an_item_someone_holds_takes_it_only_when_lapsed_or_forced() {
        let dir = tempfile::tempdir().unwrap();
        let cx = context(dir.path(), None, T0);
        let id = item(&cx, "one", None, &[]);
        let a = context(dir.path(), Some("a"), T0);
        tasks::start(&a, &id, false).unwrap();
        let b = context(dir.path(), Some("b"), "2026-01-01T00:05:00Z");
        let refused = tasks::start(&b, &id, false).unwrap_err();
        assert_eq!(refused.kind(), crate::ErrorKind::Conflict);
        assert!(
            refused.to_string().contains("whose claim is live"),
            "{refused}"
        );
        tasks::start(&b, &id, true).unwrap();
        let history = tasks::history(&b, &id).unwrap();
        let taken = history
            .iter()
            .find(|event| event.what == CLAIM_TAKEN)
            .unwrap();
        assert_eq!(taken.detail, json!({"by": "a", "generation": 1, "to": "b"}));
        let late = tasks::complete(&a, &id, false, None).unwrap_err();
        assert!(late.to_string().contains("taken over"), "{late}");

        // A lapsed claim is swept without `force`.
        let c = context(dir.path(), Some("c"), "2026-01-01T01:00:00Z");
        tasks::start(&c, &id, false).unwrap();
        let now = tasks::show(&c, &id).unwrap().view.item;
        assert_eq!(now.session.as_deref(), Some("c"));
        let history = tasks::history(&c, &id).unwrap();
        assert!(
            history
                .iter()
                .any(|event| event.what == CLAIM_EXPIRED && event.detail["by"] == "b")
        );
    }

    fn at(raw: &str) -> Timestamp {
        raw.parse().unwrap()
    }

    const LEASE: Duration = Duration::from_secs(15 * 60);

    #[test]
    fn the_lease_rule() {
        let now = at("2026-01-01T01:00:00Z");
        let known = |status, last: Option<&str>, worker| ClaimerSession::Known {
            status,
            last_activity: last.map(at),
            worker,
        };
        use session::Status::*;
        let cases: &[(&str, ClaimerSession, Option<&str>)] = &[
            // A name: the renewal alone counts; the lease ends 15 minutes after it.
            ("2026-01-01T00:50:00Z", ClaimerSession::Unknown, None),
            (
                "2026-01-01T00:45:00Z",
                ClaimerSession::Unknown,
                Some("lease"),
            ),
            (
                "2026-01-01T00:10:00Z",
                ClaimerSession::Unknown,
                Some("lease"),
            ),
            // A live session's activity keeps an old claim alive.
            (
                "2026-01-01T00:10:00Z",
                known(Active, Some("2026-01-01T00:55:00Z"), false),
                None,
            ),
            (
                "2026-01-01T00:10:00Z",
                known(Active, Some("2026-01-01T00:40:00Z"), false),
                Some("lease"),
            ),
            (
                "2026-01-01T00:10:00Z",
                known(Paused, None, false),
                Some("lease"),
            ),
            ("2026-01-01T00:59:00Z", known(Paused, None, false), None),
            // An ended or expired session lets go at once.
            (
                "2026-01-01T00:59:00Z",
                known(Completed, Some("2026-01-01T00:59:00Z"), false),
                Some("ended"),
            ),
            (
                "2026-01-01T00:59:00Z",
                known(Failed, None, false),
                Some("ended"),
            ),
            (
                "2026-01-01T00:59:00Z",
                known(Expired, None, false),
                Some("ended"),
            ),
            // A worker's session ending does not: its supervisor renews the lease.
            ("2026-01-01T00:59:00Z", known(Completed, None, true), None),
            (
                "2026-01-01T00:10:00Z",
                known(Completed, None, true),
                Some("lease"),
            ),
        ];
        for (renewed, session, expected) in cases {
            let got = lapse(at(renewed), *session, now, LEASE);
            let kind = got.as_ref().map(|lapse| match lapse {
                Lapse::LeaseRanOut { .. } => "lease",
                Lapse::SessionEnded { .. } => "ended",
            });
            assert_eq!(kind, *expected, "{renewed} {session:?}: {got:?}");
        }
        assert_eq!(
            lapse(
                at("2026-01-01T00:45:00Z"),
                ClaimerSession::Unknown,
                now,
                LEASE
            ),
            Some(Lapse::LeaseRanOut {
                at: "2026-01-01T01:00:00Z".to_owned()
            }),
            "the lease ends exactly `lease` after the renewal, and lapses then"
        );
    }

    #[test]
    fn a_session_document_is_read_defensively() {
        let now = at("2026-01-01T01:00:00Z");
        assert_eq!(claimer_session_of(&json!({}), now), ClaimerSession::Unknown);
        let document = json!({"session": {"id": "s", "mode": "development", "lifecycle": {
            "status": "active", "last_activity": "2026-01-01T00:30:00Z",
            "expiry": "2026-01-02T00:00:00Z"}}, "worker": {"item": "TASK-1", "run": "r", "attempt": 1}});
        assert_eq!(
            claimer_session_of(&document, now),
            ClaimerSession::Known {
                status: session::Status::Active,
                last_activity: Some(at("2026-01-01T00:30:00Z")),
                worker: true
            }
        );
        let expired = json!({"session": {"id": "s", "mode": "development", "lifecycle": {
            "status": "active", "expiry": "2026-01-01T00:00:00Z"}}});
        assert_eq!(
            claimer_session_of(&expired, now),
            ClaimerSession::Known {
                status: session::Status::Expired,
                last_activity: None,
                worker: false
            }
        );
    }
}
