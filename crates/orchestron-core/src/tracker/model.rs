//! The rules of work items as pure functions: kinds and how they nest, statuses and the
//! lifecycle between them, priorities. No I/O.

use std::fmt;
use std::str::FromStr;

use anyhow::bail;

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
    /// `task approve` sends IN_REVIEW to TESTING rather than DONE.
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
    if workflow.require_review && from == InProgress {
        next.retain(|s| *s != Done);
    }
    next
}

/// Check a move, naming the legal ones when it is refused.
pub fn check_transition(from: Status, to: Status, workflow: Workflow) -> anyhow::Result<()> {
    if from == to {
        return Ok(());
    }
    let next = next_statuses(from, workflow);
    if next.contains(&to) {
        return Ok(());
    }
    let legal = if next.is_empty() {
        "none: it is closed".to_owned()
    } else {
        next.iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    bail!(
        "cannot move from {} to {}; from {} it can move to: {legal} (`--force` overrides)",
        from.as_str(),
        to.as_str(),
        from.as_str()
    )
}

/// Where `task complete` takes an item: DONE, except IN_PROGRESS goes to IN_REVIEW when the
/// project requires review. (A testing stage is `task approve`'s business.)
pub fn completion_target(from: Status, workflow: Workflow) -> Status {
    match from {
        Status::InProgress if workflow.require_review => Status::InReview,
        _ => Status::Done,
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
