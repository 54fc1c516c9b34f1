//! The lease rule of a claim, pure: when a claim on an IN_PROGRESS item lapses ([`lapse`]),
//! what the rule needs of the claimer's session ([`claimer_session_of`], [`worker_of`]), the
//! names of the history entries that take a claim back, and the shapes the claim operations
//! share ([`Scope`], [`LapsedClaim`]). It reads and writes nothing; `tasks` applies it inside
//! the tracker's write transaction, and `claims` builds the supervisor's operations on top.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::Value;

use super::items::Item;
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
    /// Pass over an item whose declared files overlap those of an IN_PROGRESS item (the
    /// supervisor never runs two such items at once).
    pub apart: bool,
    /// Labels taken first (an agent's skills): an item with one of them comes before every
    /// item without, whatever their priorities; within each group, priority then plan
    /// order.
    pub prefer: Vec<String>,
    /// An agent's name: items assigned to it are the claimer's too.
    pub agent: Option<String>,
    /// With `apart`, also pass over an item whose declared files meet one of these (the
    /// live exclusive leases of other sessions).
    pub avoid: Vec<String>,
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

/// Who holds an item: its session, else its assignee.
pub fn claimer_of(item: &Item) -> Option<&str> {
    item.session.as_deref().or(item.assignee.as_deref())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

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
