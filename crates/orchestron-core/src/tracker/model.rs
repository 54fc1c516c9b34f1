//! The rules of work items as pure functions: kinds and how they nest, statuses and the
//! lifecycle between them, priorities. No I/O.

use std::fmt;
use std::str::FromStr;

use anyhow::bail;

use crate::error::Error;

/// What an item is, from the largest to the smallest. A child's kind is always below its
/// parent's; it may skip levels (a TASK directly under an EPIC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Epic,
    Story,
    Task,
    Subtask,
    Todo,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Epic,
        Kind::Story,
        Kind::Task,
        Kind::Subtask,
        Kind::Todo,
    ];
    pub const NAMES: [&'static str; 5] = ["EPIC", "STORY", "TASK", "SUBTASK", "TODO"];

    pub fn as_str(self) -> &'static str {
        Kind::NAMES[self as usize]
    }

    /// Whether an item of this kind may sit under a parent of kind `parent`.
    pub fn fits_under(self, parent: Kind) -> bool {
        self > parent
    }
}

/// Where an item is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Backlog,
    Todo,
    InProgress,
    InReview,
    Testing,
    Done,
    Blocked,
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Backlog,
        Status::Todo,
        Status::InProgress,
        Status::InReview,
        Status::Testing,
        Status::Done,
        Status::Blocked,
        Status::Cancelled,
    ];
    pub const NAMES: [&'static str; 8] = crate::config::STATUS_NAMES;

    pub fn as_str(self) -> &'static str {
        Status::NAMES[self as usize]
    }

    /// DONE and CANCELLED: nothing follows without `--force`.
    pub fn is_closed(self) -> bool {
        matches!(self, Status::Done | Status::Cancelled)
    }
}

/// What the project asks of finished work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Workflow {
    /// IN_PROGRESS must pass IN_REVIEW before DONE.
    pub require_review: bool,
    /// Work must pass TESTING before DONE: `task approve` sends IN_REVIEW to TESTING.
    pub require_testing: bool,
}

/// The statuses `from` may move to, in the order people read them.
pub fn next_statuses(from: Status, workflow: Workflow) -> Vec<Status> {
    use Status::*;
    let mut next = match from {
        Backlog => vec![Todo, Cancelled],
        Todo => vec![InProgress, Blocked, Backlog, Cancelled],
        InProgress => vec![InReview, Done, Blocked, Todo, Cancelled],
        InReview => vec![Testing, Done, InProgress, Blocked, Cancelled],
        Testing => vec![Done, InProgress, Blocked, Cancelled],
        Blocked => vec![Todo, InProgress, InReview, Testing, Cancelled],
        Done | Cancelled => vec![],
    };
    // The gates: work cannot jump over a stage the project requires.
    if workflow.require_review && matches!(from, InProgress | Blocked) {
        next.retain(|s| !matches!(s, Done | Testing));
    }
    if workflow.require_testing && matches!(from, InProgress | InReview | Blocked) {
        next.retain(|s| *s != Done);
        // Testing without review: finished work goes straight to testing.
        if from == InProgress && !workflow.require_review {
            next.insert(1, Testing);
        }
    }
    next
}

/// What asks for a move. Only `Approve` passes a review or testing gate; `Force` (a person's
/// `--force`, recorded in the history) passes anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// `task update --status`.
    Update,
    /// `task start`, `task next --claim`.
    Start,
    /// `task complete`.
    Complete,
    /// `task approve`.
    Approve,
    /// `task release`, `task assign --to none`.
    Release,
    /// `task delete`, and the cancelling of a cancelled parent's open children.
    Cancel,
    /// A person's `--force`, and the V2 `shared` commands (V2 had no lifecycle).
    Force,
}

/// What happens to an item's blocked reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    Keep,
    Set(String),
    Clear,
}

/// What a move does to an item's fields besides its status: the side effects of leaving one
/// status and entering another, defined here once for every path that changes a status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effects {
    /// Whether anything changes at all (a move to the same status usually does not).
    pub changed: bool,
    /// Entering IN_PROGRESS stamps `started_at` when it is not set yet.
    pub stamp_started: bool,
    /// Entering DONE stamps `completed_at`; leaving DONE clears it.
    pub completed: Option<bool>,
    /// Entering DONE sets progress to 100.
    pub progress_full: bool,
    pub reason: Reason,
    /// Returning to TODO or BACKLOG from work releases the claim: no assignee, no session.
    pub release: bool,
    /// How the `open_deps` count of the items waiting for this one changes: -1 entering
    /// DONE, +1 leaving it.
    pub dependents_open_delta: i64,
}

impl Effects {
    fn none() -> Effects {
        Effects {
            changed: false,
            stamp_started: false,
            completed: None,
            progress_full: false,
            reason: Reason::Keep,
            release: false,
            dependents_open_delta: 0,
        }
    }
}

/// Where on the way to DONE a status is, for the gates: work, review, testing, done.
fn stage(status: Status) -> Option<u8> {
    match status {
        Status::InProgress | Status::Blocked => Some(0),
        Status::InReview => Some(1),
        Status::Testing => Some(2),
        Status::Done => Some(3),
        _ => None,
    }
}

/// Check a move of `id` from `from` to `to` and say what it does. Refused moves name the
/// legal ones; gates name the command that passes them.
///
/// `reason` is the blocked reason given with the move: entering BLOCKED stores it, and on an
/// item already BLOCKED a new reason replaces the old one (a change in itself).
pub fn plan_move(
    id: &str,
    from: Status,
    to: Status,
    via: Via,
    workflow: Workflow,
    reason: Option<&str>,
) -> Result<Effects, Error> {
    let mut effects = Effects::none();
    if from == to {
        if to == Status::Blocked
            && let Some(reason) = reason
        {
            effects.changed = true;
            effects.reason = Reason::Set(reason.to_owned());
        }
        return Ok(effects);
    }
    if via != Via::Force {
        let next = next_statuses(from, workflow);
        if !next.contains(&to) {
            let legal = if next.is_empty() {
                "none: it is closed".to_owned()
            } else {
                next.iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(Error::conflict(format!(
                "cannot move {id} from {from} to {to}; from {from} it can move to: {legal}"
            ))
            .with_hint("a person can override the lifecycle with `--force`, which is recorded"));
        }
        check_gates(id, from, to, via, workflow)?;
    }
    effects.changed = true;
    effects.stamp_started = to == Status::InProgress;
    if to == Status::Done {
        effects.completed = Some(true);
        effects.progress_full = true;
        effects.dependents_open_delta = -1;
    } else if from == Status::Done {
        effects.completed = Some(false);
        effects.dependents_open_delta = 1;
    }
    effects.reason = match (from, to) {
        (_, Status::Blocked) => reason.map_or(Reason::Clear, |r| Reason::Set(r.to_owned())),
        (Status::Blocked, _) => Reason::Clear,
        _ => Reason::Keep,
    };
    effects.release = matches!(to, Status::Todo | Status::Backlog)
        && !matches!(from, Status::Todo | Status::Backlog);
    Ok(effects)
}

/// The review and testing gates: a move may not skip a stage the project requires, and only
/// `approve` moves an item on from a stage that is a gate.
fn check_gates(
    id: &str,
    from: Status,
    to: Status,
    via: Via,
    workflow: Workflow,
) -> Result<(), Error> {
    let (Some(start), Some(end)) = (stage(from), stage(to)) else {
        return Ok(());
    };
    if end <= start {
        return Ok(());
    }
    let required = |stage: u8| match stage {
        1 => workflow.require_review,
        2 => workflow.require_testing,
        _ => false,
    };
    let gate_name = |stage: u8| if stage == 1 { "review" } else { "testing" };
    if let Some(skipped) = (start + 1..end).find(|s| required(*s)) {
        let stage_status = if skipped == 1 {
            Status::InReview
        } else {
            Status::Testing
        };
        return Err(Error::conflict(format!(
            "cannot move {id} from {from} to {to}: the project requires {} ({stage_status}) first",
            gate_name(skipped)
        ))
        .with_hint(format!(
            "`orchestron task complete {id}` sends work on to its next stage; a person can \
             override with `--force`, which is recorded"
        )));
    }
    if required(start) && via != Via::Approve {
        return Err(Error::conflict(format!(
            "cannot move {id} from {from} to {to}: it waits for {}, which only an approval passes",
            gate_name(start)
        ))
        .with_hint(format!(
            "`orchestron task approve {id}` passes it; a person can override with `--force`, \
             which is recorded"
        )));
    }
    Ok(())
}

/// Where `task complete` takes an item: from work to the first stage the project requires
/// (review, then testing), else DONE. From a gate it is refused: only `approve` passes one.
pub fn completion_target(from: Status, workflow: Workflow) -> Status {
    match from {
        Status::InProgress if workflow.require_review => Status::InReview,
        Status::InProgress if workflow.require_testing => Status::Testing,
        _ => Status::Done,
    }
}

/// Where `task approve` takes an item: IN_REVIEW on to TESTING when the project requires
/// testing, else DONE; TESTING to DONE.
pub fn approval_target(from: Status, workflow: Workflow) -> Option<Status> {
    match from {
        Status::InReview if workflow.require_testing => Some(Status::Testing),
        Status::InReview | Status::Testing => Some(Status::Done),
        _ => None,
    }
}

/// How urgent an item is. Sorted most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    Critical,
    High,
    Medium,
    Low,
}

impl Priority {
    pub const NAMES: [&'static str; 4] = ["CRITICAL", "HIGH", "MEDIUM", "LOW"];

    pub fn as_str(self) -> &'static str {
        Priority::NAMES[self as usize]
    }

    /// The rank stored in the database: 0 is the most urgent.
    pub fn rank(self) -> i64 {
        self as i64
    }

    pub fn from_rank(rank: i64) -> Priority {
        match rank {
            0 => Priority::Critical,
            1 => Priority::High,
            2 => Priority::Medium,
            _ => Priority::Low,
        }
    }

    /// V2's 1 (most urgent) to 5.
    pub fn from_v2(level: u8) -> anyhow::Result<Priority> {
        Ok(match level {
            1 => Priority::Critical,
            2 => Priority::High,
            3 => Priority::Medium,
            4 | 5 => Priority::Low,
            other => bail!("priority must be 1 to 5, not {other}"),
        })
    }
}

macro_rules! parse_by_name {
    ($type:ident, $what:literal) => {
        impl FromStr for $type {
            type Err = anyhow::Error;

            fn from_str(raw: &str) -> anyhow::Result<$type> {
                let upper = raw.trim().to_ascii_uppercase().replace(['-', ' '], "_");
                $type::NAMES
                    .iter()
                    .position(|name| *name == upper)
                    .map(|i| $type::from_index(i))
                    .ok_or_else(|| {
                        anyhow::anyhow!(
                            "unknown {} `{raw}`; one of: {}",
                            $what,
                            $type::NAMES.join(", ")
                        )
                    })
            }
        }

        impl serde::Serialize for $type {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

impl Kind {
    fn from_index(i: usize) -> Kind {
        Kind::ALL[i]
    }
}

impl Status {
    fn from_index(i: usize) -> Status {
        Status::ALL[i]
    }
}

impl Priority {
    fn from_index(i: usize) -> Priority {
        [
            Priority::Critical,
            Priority::High,
            Priority::Medium,
            Priority::Low,
        ][i]
    }
}

parse_by_name!(Kind, "kind");
parse_by_name!(Status, "status");
parse_by_name!(Priority, "priority");

/// Whether an item is ready to work on, the rule `tasks::READY` states in SQL: TODO, every
/// dependency DONE, and no open child.
pub fn is_ready(status: Status, open_deps: i64, open_children: i64) -> bool {
    status == Status::Todo && open_deps == 0 && open_children == 0
}

/// Whether an item cannot go ahead, the rule `tasks::BLOCKED` states in SQL: BLOCKED, or
/// open and waiting for an unfinished dependency.
pub fn is_blocked(status: Status, open_deps: i64) -> bool {
    status == Status::Blocked || (!status.is_closed() && open_deps > 0)
}

/// How much a decision matters.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub const NAMES: [&'static str; 3] = ["low", "medium", "high"];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }

    pub fn parse(text: &str) -> Option<Severity> {
        match text.to_ascii_lowercase().as_str() {
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: Workflow = Workflow {
        require_review: false,
        require_testing: false,
    };

    /// Every pair of statuses without gates: allowed ones with their side effects, refused
    /// ones naming the legal moves.
    #[test]
    fn every_pair_of_statuses_is_allowed_with_its_effects_or_refused_with_the_legal_moves() {
        use Status::*;
        // The table as people read it: from → the statuses it may move to.
        let legal: [(Status, &[Status]); 8] = [
            (Backlog, &[Todo, Cancelled]),
            (Todo, &[InProgress, Blocked, Backlog, Cancelled]),
            (InProgress, &[InReview, Done, Blocked, Todo, Cancelled]),
            (InReview, &[Testing, Done, InProgress, Blocked, Cancelled]),
            (Testing, &[Done, InProgress, Blocked, Cancelled]),
            (Blocked, &[Todo, InProgress, InReview, Testing, Cancelled]),
            (Done, &[]),
            (Cancelled, &[]),
        ];
        for (from, allowed) in legal {
            assert_eq!(next_statuses(from, NONE), allowed, "{from}");
            for to in Status::ALL {
                let result = plan_move("X-1", from, to, Via::Update, NONE, Some("why"));
                if from == to {
                    let effects = result.unwrap();
                    // Only a new blocked reason changes an item that stays where it is.
                    assert_eq!(effects.changed, to == Blocked, "{from} → {to}");
                    continue;
                }
                if !allowed.contains(&to) {
                    let err = result.unwrap_err();
                    assert_eq!(err.kind(), crate::ErrorKind::Conflict);
                    let listed = if allowed.is_empty() {
                        "none: it is closed".to_owned()
                    } else {
                        allowed
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    assert!(
                        err.message()
                            .ends_with(&format!("it can move to: {listed}")),
                        "{from} → {to}: {}",
                        err.message()
                    );
                    // A person's force passes anything.
                    assert!(plan_move("X-1", from, to, Via::Force, NONE, None).is_ok());
                    continue;
                }
                let effects = result.unwrap_or_else(|err| panic!("{from} → {to}: {err}"));
                assert!(effects.changed);
                assert_eq!(effects.stamp_started, to == InProgress, "{from} → {to}");
                assert_eq!(effects.progress_full, to == Done, "{from} → {to}");
                assert_eq!(
                    effects.completed,
                    match (from, to) {
                        (_, Done) => Some(true),
                        (Done, _) => Some(false),
                        _ => None,
                    },
                    "{from} → {to}"
                );
                assert_eq!(
                    effects.dependents_open_delta,
                    if to == Done { -1 } else { 0 },
                    "{from} → {to}"
                );
                assert_eq!(
                    effects.reason,
                    match (from, to) {
                        (_, Blocked) => Reason::Set("why".to_owned()),
                        (Blocked, _) => Reason::Clear,
                        _ => Reason::Keep,
                    },
                    "{from} → {to}"
                );
                assert_eq!(
                    effects.release,
                    matches!(to, Todo | Backlog) && !matches!(from, Todo | Backlog),
                    "{from} → {to}"
                );
            }
        }
    }

    #[test]
    fn gates_pass_only_through_approval_or_force() {
        use Status::*;
        let both = Workflow {
            require_review: true,
            require_testing: true,
        };
        let review = Workflow {
            require_review: true,
            require_testing: false,
        };
        let testing = Workflow {
            require_review: false,
            require_testing: true,
        };
        let refused =
            |from, to, via, workflow| plan_move("X-1", from, to, via, workflow, None).is_err();
        for workflow in [both, review] {
            assert!(refused(InProgress, Done, Via::Update, workflow));
            assert!(refused(InProgress, Testing, Via::Update, workflow));
            assert!(refused(InReview, Done, Via::Update, workflow));
            assert!(refused(InReview, Done, Via::Complete, workflow));
            assert!(refused(InReview, Testing, Via::Update, workflow));
            assert!(!refused(InProgress, InReview, Via::Complete, workflow));
            assert!(
                !refused(InReview, InProgress, Via::Update, workflow),
                "rejection"
            );
            assert!(!refused(InReview, Done, Via::Force, workflow));
        }
        assert!(!refused(InReview, Testing, Via::Approve, both));
        assert!(
            refused(InReview, Done, Via::Approve, both),
            "testing comes first"
        );
        assert!(!refused(Testing, Done, Via::Approve, both));
        assert!(refused(Testing, Done, Via::Update, both));
        assert!(!refused(InReview, Done, Via::Approve, review));
        assert!(!refused(InProgress, Testing, Via::Complete, testing));
        assert!(refused(InProgress, Done, Via::Update, testing));
        assert!(refused(Testing, Done, Via::Complete, testing));
        assert!(!refused(Testing, Done, Via::Approve, testing));
        assert_eq!(completion_target(InProgress, both), InReview);
        assert_eq!(completion_target(InProgress, testing), Testing);
        assert_eq!(completion_target(InProgress, NONE), Done);
        assert_eq!(approval_target(InReview, both), Some(Testing));
        assert_eq!(approval_target(InReview, review), Some(Done));
        assert_eq!(approval_target(Testing, both), Some(Done));
        assert_eq!(approval_target(InProgress, both), None);
    }

    #[test]
    fn ready_and_blocked() {
        use Status::*;
        assert!(is_ready(Todo, 0, 0));
        assert!(!is_ready(Todo, 1, 0), "waits for a dependency");
        assert!(!is_ready(Todo, 0, 1), "a parent of open work");
        for status in [
            Backlog, InProgress, InReview, Testing, Done, Blocked, Cancelled,
        ] {
            assert!(!is_ready(status, 0, 0), "{status}");
        }
        assert!(is_blocked(Blocked, 0));
        assert!(is_blocked(InProgress, 2));
        assert!(!is_blocked(Done, 2), "finished work is not blocked");
        assert!(!is_blocked(Cancelled, 1));
        assert!(!is_blocked(Todo, 0));
    }
}
