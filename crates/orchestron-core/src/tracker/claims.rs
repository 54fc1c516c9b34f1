//! The supervisor's claim operations, on top of `tasks`: [`claim_next`] within a [`Scope`],
//! [`renew`] the leases it holds, [`give_back`] and [`block`] fenced by the claim's
//! generation, and [`reclaim`], the sweep of every lapsed claim. Every claim (`task start`,
//! `task next --claim`, a worker's [`claim_next`]) bumps the item's generation
//! (`items.claim_gen`, a fencing token) and stamps `items.lease_at`; the claimer (the item's
//! `session`, else its `assignee`) keeps the lease alive by acting.
//!
//! The lease rule is one pure function, [`lapse`] (in `lease`); `tasks` applies it inside the
//! tracker's write transaction (`pick`, `expire`, `take`, and the fence of late changes), so
//! a sweep and the claim that follows it are one atomic step, and two claimers can never both
//! take an item. This module reads session documents (never locks or writes them) and does no
//! other I/O.

use rusqlite::params;
use serde::Serialize;
use serde_json::json;

use super::items::{self, Item};
pub use super::lease::{
    CLAIM_EXPIRED, CLAIM_RETURNED, CLAIM_TAKEN, ClaimerSession, Lapse, LapsedClaim, Scope,
    claimer_of, claimer_session_of, lapse, worker_of,
};
use super::model::{Status, Via};
use super::tasks::{self, ItemView};
use crate::context::Context;
use crate::error::Result;
use crate::session::format_time;

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

/// An item whose lapsed claim [`reclaim`] swept (or, in a dry run, would sweep).
#[derive(Debug, Clone, Serialize)]
pub struct Reclaimed {
    pub id: String,
    pub title: String,
    #[serde(flatten)]
    pub claim: LapsedClaim,
}

/// Atomically: sweep a lapsed claim if its item is the best one, then claim the best ready
/// in-scope item not in `exclude` for `claimer` (a session id): IN_PROGRESS, assignee and
/// session = claimer, claim_gen+1, lease_at = now, event `claimed`. Same ordering as
/// `task next`.
pub fn claim_next(cx: &Context, claimer: &str, scope: &Scope) -> Result<Option<Claimed>> {
    tasks::check_text("claimer", claimer)?;
    let mut db = cx.tracker_to_change()?;
    // "Now" is read inside the write transaction, once it holds the lock: a claim then never
    // reads earlier than the merge (committed first) that made its item ready.
    let found =
        db.write(|tx| tasks::claim_best(tx, cx, cx.now(), Some(claimer), Some(claimer), scope))?;
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

/// Give a claim back (fenced by generation; a stale generation is a `conflict`): the item
/// returns to TODO with no assignee/session, event `claim_returned` with `note`. An item that
/// is no longer IN_PROGRESS (its worker asked a question, or the train moved it on) is left
/// as it is.
pub fn give_back(cx: &Context, id: &str, generation: i64, note: &str) -> Result<()> {
    tasks::check_text("note", note)?;
    let to = Move {
        unless: |status| status != Status::InProgress,
        status: Status::Todo,
        via: Via::Release,
        reason: None,
        event: CLAIM_RETURNED,
        detail: ("note", note),
    };
    fenced_move(cx, id, generation, &to)
}

/// Block it (fenced): BLOCKED with `reason`, event `blocked_by_worker`. An item BLOCKED
/// already (its worker asked a question) keeps its own reason.
pub fn block(cx: &Context, id: &str, generation: i64, reason: &str) -> Result<()> {
    tasks::check_text("reason", reason)?;
    let to = Move {
        unless: |status| status == Status::Blocked,
        status: Status::Blocked,
        via: Via::Update,
        reason: Some(reason),
        event: "blocked_by_worker",
        detail: ("reason", reason),
    };
    fenced_move(cx, id, generation, &to)
}

/// A status change on behalf of a claim's holder: [`give_back`]'s or [`block`]'s.
struct Move<'a> {
    /// The item is left as it is when its status is one of these.
    unless: fn(Status) -> bool,
    status: Status,
    via: Via,
    reason: Option<&'a str>,
    /// The history entry, and the one field it adds to `by` and `generation`.
    event: &'static str,
    detail: (&'static str, &'a str),
}

/// Apply `to` to the item `id` in one transaction, fenced by the claim's `generation` (a
/// stale one is a `conflict`), with its history entry naming the claimer.
fn fenced_move(cx: &Context, id: &str, generation: i64, to: &Move<'_>) -> Result<()> {
    let now = format_time(cx.now());
    let mut db = cx.tracker_to_change()?;
    db.write(|tx| -> Result<()> {
        let item = tasks::fenced_by_generation(tx, id, generation)?;
        if (to.unless)(item.status) {
            return Ok(());
        }
        tasks::apply_move(
            tx,
            &item,
            to.status,
            to.via,
            cx.workflow(),
            to.reason,
            &now,
            cx.actor(),
        )?;
        let (key, text) = to.detail;
        items::record(
            tx,
            &item.id,
            &now,
            to.event,
            json!({"by": claimer_of(&item), "generation": generation, key: text}),
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
        return Ok(found(tasks::lapsed_claims(db.conn(), cx, now)?));
    }
    let at = format_time(now);
    let mut db = cx.tracker_to_change()?;
    db.write(|tx| -> Result<Vec<Reclaimed>> {
        let claims = tasks::lapsed_claims(tx, cx, now)?;
        for (item, lapsed) in &claims {
            tasks::expire(tx, cx, item, lapsed, &at)?;
        }
        // Handoffs nobody accepted in time: their items are anyone's again.
        crate::tracker::offers::expire(tx, now)?;
        Ok(found(claims))
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Config;
    use crate::tracker::model::{Kind, Priority};
    use crate::tracker::tasks::NewItem;

    fn context(root: &Path, actor: Option<&str>, now: &str) -> Context {
        crate::context::for_tests_as(root.to_path_buf(), Config::default(), actor, now)
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
            files: Vec::new(),
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
}
