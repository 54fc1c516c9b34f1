//! The workers' ledger in the tracker: one `worker_runs` row per supervisor run and one
//! `worker_attempts` row per attempt of a worker on an item (its process, branch, worktree,
//! log, outcome, cost, turns and usage). Writes are the supervisor's; reads serve `workers
//! status`, `workers logs` and the other faces.

use rusqlite::{OptionalExtension as _, params};
use serde::Serialize;
use serde_json::Value;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::ids::SessionId;
use crate::session::format_time;

/// A new run of the supervisor.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub id: String,
    pub pid: u32,
    pub pid_start: Option<String>,
    pub into: String,
    pub options: Value,
}

/// Record the start of a run.
pub fn start_run(cx: &Context, run: &NewRun) -> Result<()> {
    let now = format_time(cx.now());
    let mut db = cx.tracker()?;
    db.write(|tx| -> Result<()> {
        tx.execute(
            "INSERT INTO worker_runs (id, pid, pid_start, into_branch, options, started_at, seq) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, (SELECT COALESCE(MAX(seq), 0) + 1 FROM worker_runs))",
            params![
                run.id,
                run.pid,
                run.pid_start,
                run.into,
                run.options.to_string(),
                now
            ],
        )?;
        Ok(())
    })
}

/// Record the end of a run, its outcome and what it cost (the sum of its attempts).
pub fn end_run(cx: &Context, run: &str, outcome: &str) -> Result<()> {
    let now = format_time(cx.now());
    let mut db = cx.tracker()?;
    db.write(|tx| -> Result<()> {
        tx.execute(
            "UPDATE worker_runs SET ended_at = ?2, outcome = ?3, cost_usd = \
             (SELECT COALESCE(SUM(cost_usd), 0) FROM worker_attempts WHERE run = ?1) \
             WHERE id = ?1",
            params![run, now, outcome],
        )?;
        Ok(())
    })
}

/// A new attempt, before its process starts.
#[derive(Debug, Clone)]
pub struct NewAttempt {
    pub item: String,
    pub run: String,
    pub session: String,
    pub generation: i64,
    pub branch: String,
    pub worktree: String,
}

/// Record a new attempt: its number is the item's next (over every run). Returns the row id
/// and the number.
pub fn start_attempt(
    cx: &Context,
    attempt: &NewAttempt,
    log: impl Fn(i64) -> String,
) -> Result<(i64, i64)> {
    let now = format_time(cx.now());
    let mut db = cx.tracker()?;
    db.write(|tx| -> Result<(i64, i64)> {
        let number: i64 = tx.query_row(
            "SELECT COALESCE(MAX(attempt), 0) + 1 FROM worker_attempts WHERE item = ?1",
            params![attempt.item],
            |row| row.get(0),
        )?;
        tx.execute(
            "INSERT INTO worker_attempts (item, attempt, run, session, generation, branch, \
             worktree, log, started_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                attempt.item,
                number,
                attempt.run,
                attempt.session,
                attempt.generation,
                attempt.branch,
                attempt.worktree,
                log(number),
                now
            ],
        )?;
        Ok((tx.last_insert_rowid(), number))
    })
}

/// What an attempt has done so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    pub pid: Option<u32>,
    pub pid_start: Option<String>,
    pub last_tool: Option<String>,
    pub cost_usd: f64,
    pub turns: u64,
    pub usage: Option<Value>,
}

/// Record an attempt's progress (its process, last tool, cost, turns, usage), and bring its
/// run's cost up to date.
pub fn update_attempt(cx: &Context, row: i64, progress: &Progress) -> Result<()> {
    let now = format_time(cx.now());
    let mut db = cx.tracker()?;
    db.write(|tx| -> Result<()> {
        write_progress(tx, row, progress, &now)?;
        Ok(())
    })
}

fn write_progress(
    tx: &rusqlite::Transaction<'_>,
    row: i64,
    progress: &Progress,
    now: &str,
) -> Result<()> {
    tx.execute(
        "UPDATE worker_attempts SET pid = COALESCE(?2, pid), pid_start = COALESCE(?3, pid_start), \
         last_event_at = ?4, last_tool = COALESCE(?5, last_tool), cost_usd = ?6, turns = ?7, \
         usage = COALESCE(?8, usage) WHERE id = ?1",
        params![
            row,
            progress.pid,
            progress.pid_start,
            now,
            progress.last_tool,
            progress.cost_usd,
            progress.turns as i64,
            progress.usage.as_ref().map(Value::to_string),
        ],
    )?;
    tx.execute(
        "UPDATE worker_runs SET cost_usd = (SELECT COALESCE(SUM(cost_usd), 0) FROM \
         worker_attempts a WHERE a.run = worker_runs.id) WHERE id = \
         (SELECT run FROM worker_attempts WHERE id = ?1)",
        params![row],
    )?;
    Ok(())
}

/// Record how a worker ended while its attempt stays open: a success waits for the merge
/// train, and a supervisor killed meanwhile leaves it for `recover` to give back.
pub fn record_exit(cx: &Context, row: i64, outcome: &str, progress: &Progress) -> Result<()> {
    let now = format_time(cx.now());
    let mut db = cx.tracker()?;
    db.write(|tx| -> Result<()> {
        write_progress(tx, row, progress, &now)?;
        tx.execute(
            "UPDATE worker_attempts SET outcome = ?2 WHERE id = ?1",
            params![row, outcome],
        )?;
        Ok(())
    })
}

/// Record how an attempt ended (or, later, what the merge train made of it), and close it.
pub fn end_attempt(
    cx: &Context,
    row: i64,
    outcome: &str,
    reason: Option<&str>,
    progress: Option<&Progress>,
) -> Result<()> {
    let now = format_time(cx.now());
    let mut db = cx.tracker()?;
    let session = db.write(|tx| -> Result<Option<String>> {
        if let Some(progress) = progress {
            write_progress(tx, row, progress, &now)?;
        }
        tx.execute(
            "UPDATE worker_attempts SET ended_at = COALESCE(ended_at, ?2), outcome = ?3, \
             reason = ?4 WHERE id = ?1",
            params![row, now, outcome, reason],
        )?;
        Ok(tx
            .query_row(
                "SELECT session FROM worker_attempts WHERE id = ?1",
                [row],
                |row| row.get(0),
            )
            .optional()?)
    })?;
    // The attempt's file leases end with it, however it ended (a recovered attempt's
    // session may never say SessionEnd).
    if let Some(session) = session.and_then(|session| SessionId::parse(&session).ok()) {
        let _ = crate::coordination::end_session(cx, &session);
    }
    Ok(())
}

/// One attempt as recorded.
#[derive(Debug, Clone, Serialize)]
pub struct AttemptRow {
    pub item: String,
    pub attempt: i64,
    pub run: String,
    pub session: String,
    pub generation: i64,
    pub pid: Option<i64>,
    pub branch: String,
    pub worktree: String,
    pub log: String,
    pub started_at: String,
    pub last_event_at: Option<String>,
    pub last_tool: Option<String>,
    pub ended_at: Option<String>,
    pub outcome: Option<String>,
    pub reason: Option<String>,
    pub cost_usd: f64,
    pub turns: i64,
}

const ATTEMPT_COLUMNS: &str = "item, attempt, run, session, generation, pid, branch, worktree, \
    log, started_at, last_event_at, last_tool, ended_at, outcome, reason, cost_usd, turns";

fn attempt_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<AttemptRow> {
    Ok(AttemptRow {
        item: row.get(0)?,
        attempt: row.get(1)?,
        run: row.get(2)?,
        session: row.get(3)?,
        generation: row.get(4)?,
        pid: row.get(5)?,
        branch: row.get(6)?,
        worktree: row.get(7)?,
        log: row.get(8)?,
        started_at: row.get(9)?,
        last_event_at: row.get(10)?,
        last_tool: row.get(11)?,
        ended_at: row.get(12)?,
        outcome: row.get(13)?,
        reason: row.get(14)?,
        cost_usd: row.get(15)?,
        turns: row.get(16)?,
    })
}

/// A run as recorded.
#[derive(Debug, Clone, Serialize)]
pub struct RunRow {
    pub id: String,
    pub pid: i64,
    pub pid_start: Option<String>,
    pub into: String,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub outcome: Option<String>,
    pub cost_usd: f64,
}

fn run_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RunRow> {
    Ok(RunRow {
        id: row.get(0)?,
        pid: row.get(1)?,
        pid_start: row.get(2)?,
        into: row.get(3)?,
        started_at: row.get(4)?,
        ended_at: row.get(5)?,
        outcome: row.get(6)?,
        cost_usd: row.get(7)?,
    })
}

/// What `workers status` shows.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// Runs not ended (a live supervisor, or one killed that recovery has not seen).
    pub runs: Vec<RunRow>,
    /// Attempts not ended.
    pub running: Vec<AttemptRow>,
    /// Items ready for a worker, most urgent first.
    pub queued: Vec<Queued>,
    /// The latest attempts that did not succeed.
    pub recent_failures: Vec<AttemptRow>,
    /// What every run together has spent.
    pub spent_usd: f64,
}

/// An item a worker would take next.
#[derive(Debug, Clone, Serialize)]
pub struct Queued {
    pub id: String,
    pub title: String,
    pub priority: String,
}

/// The outcomes that are not a success.
const FAILED: &str =
    "('failed', 'stalled', 'conflict', 'tests_failed', 'nothing_done', 'orphaned')";

/// The open runs, the running attempts, the queue and the recent failures. Read only.
pub fn status(cx: &Context, failures: usize) -> Result<Status> {
    let db = cx.tracker_for_reads()?;
    let conn = db.conn();
    let mut statement = conn.prepare(
        "SELECT id, pid, pid_start, into_branch, started_at, ended_at, outcome, cost_usd \
         FROM worker_runs WHERE ended_at IS NULL ORDER BY seq",
    )?;
    let runs = statement
        .query_map([], run_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let running = conn
        .prepare(&format!(
            "SELECT {ATTEMPT_COLUMNS} FROM worker_attempts WHERE ended_at IS NULL ORDER BY id"
        ))?
        .query_map([], attempt_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let recent_failures = conn
        .prepare(&format!(
            "SELECT {ATTEMPT_COLUMNS} FROM worker_attempts WHERE outcome IN {FAILED} \
             ORDER BY id DESC LIMIT ?1"
        ))?
        .query_map(params![failures as i64], attempt_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let queued = crate::tracker::tasks::ready(cx, Some(20))?
        .into_iter()
        .map(|view| Queued {
            id: view.item.id,
            title: view.item.title,
            priority: view.item.priority.as_str().to_owned(),
        })
        .collect();
    let spent_usd: f64 = conn.query_row(
        "SELECT COALESCE(SUM(cost_usd), 0) FROM worker_attempts",
        [],
        |row| row.get(0),
    )?;
    Ok(Status {
        runs,
        running,
        queued,
        recent_failures,
        spent_usd,
    })
}

/// An item's attempts, oldest first. An unknown item is `not_found`.
pub fn attempts(cx: &Context, raw: &str) -> Result<Vec<AttemptRow>> {
    let id = crate::tracker::tasks::resolve_item(cx, raw)?;
    let db = cx.tracker_for_reads()?;
    let rows = db
        .conn()
        .prepare(&format!(
            "SELECT {ATTEMPT_COLUMNS} FROM worker_attempts WHERE item = ?1 ORDER BY attempt"
        ))?
        .query_map(params![id], attempt_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The open run a live supervisor holds, if any: its pid still runs with the recorded start
/// time. Read only.
pub fn live_run(cx: &Context) -> Result<Option<RunRow>> {
    if !cx.tracker_path().exists() {
        return Ok(None);
    }
    let db = cx.tracker_for_reads()?;
    let runs = db
        .conn()
        .prepare(
            "SELECT id, pid, pid_start, into_branch, started_at, ended_at, outcome, cost_usd \
             FROM worker_runs WHERE ended_at IS NULL ORDER BY seq",
        )?
        .query_map([], run_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(runs.into_iter().find(|run| {
        u32::try_from(run.pid)
            .is_ok_and(|pid| super::process::is_alive(pid, run.pid_start.as_deref()))
    }))
}

/// How many items are open (not DONE or CANCELLED, epics aside): the "remaining" of a run.
pub fn open_items(cx: &Context) -> Result<i64> {
    let db = cx.tracker_for_reads()?;
    Ok(db.conn().query_row(
        "SELECT COUNT(*) FROM items WHERE status NOT IN ('DONE', 'CANCELLED') AND kind != 'EPIC'",
        [],
        |row| row.get(0),
    )?)
}

/// Whether an item this run does not hold is being worked on (IN_PROGRESS or TESTING): its
/// end may make more items ready, so a run without `--once` waits for it.
pub fn others_at_work(cx: &Context, held: &[String]) -> Result<bool> {
    let db = cx.tracker_for_reads()?;
    let mut statement = db
        .conn()
        .prepare("SELECT id FROM items WHERE status IN ('IN_PROGRESS', 'TESTING')")?;
    let ids = statement
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(ids.iter().any(|id| !held.contains(id)))
}

/// An item's status, claim generation and blocked reason, or `not_found`.
pub fn item_status(
    cx: &Context,
    id: &str,
) -> Result<(crate::tracker::model::Status, i64, Option<String>)> {
    let db = cx.tracker_for_reads()?;
    db.conn()
        .query_row(
            "SELECT status, claim_gen, blocked_reason FROM items WHERE id = ?1",
            params![id],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, Option<String>>(2)?,
                ))
            },
        )
        .optional()?
        .map(|(status, generation, reason)| {
            status
                .parse()
                .map(|status| (status, generation, reason))
                .map_err(|_| Error::internal(format!("item {id} has an unknown status")))
        })
        .ok_or_else(|| Error::not_found(format!("no item {id}")))?
}

#[cfg(test)]
mod tests {

    use serde_json::json;

    use super::*;
    use crate::config::Config;
    use crate::tracker::model::{Kind, Priority, Status as ItemStatus};
    use crate::tracker::tasks::{self, NewItem};

    fn context(root: &std::path::Path) -> Context {
        crate::context::for_tests(root.to_path_buf(), Config::default())
    }

    fn attempt(cx: &Context, item: &str, run: &str) -> (i64, i64) {
        start_attempt(
            cx,
            &NewAttempt {
                item: item.to_owned(),
                run: run.to_owned(),
                session: "s".to_owned(),
                generation: 1,
                branch: format!("orchestron/{item}"),
                worktree: "/w".to_owned(),
            },
            |number| format!("/logs/{number}.jsonl"),
        )
        .unwrap()
    }

    #[test]
    fn the_ledger_numbers_attempts_per_item_and_sums_a_run_s_cost() {
        let dir = tempfile::tempdir().unwrap();
        let cx = context(dir.path());
        let item = tasks::create(
            &cx,
            &NewItem {
                kind: Kind::Task,
                title: "One".to_owned(),
                description: String::new(),
                status: ItemStatus::Todo,
                priority: Priority::Medium,
                estimate: None,
                assignee: None,
                parent: None,
                labels: Vec::new(),
                files: Vec::new(),
            },
        )
        .unwrap()
        .item
        .id;
        let (pid, pid_start) = super::super::process::this_process();
        for (run, pid) in [("run-a", pid), ("run-b", 1)] {
            start_run(
                &cx,
                &NewRun {
                    id: run.to_owned(),
                    pid,
                    pid_start: pid_start.clone(),
                    into: "orchestron/integration".to_owned(),
                    options: json!({}),
                },
            )
            .unwrap();
        }
        // Only the run whose pid is alive with its start time is live.
        assert_eq!(live_run(&cx).unwrap().unwrap().id, "run-a");
        let (first, number) = attempt(&cx, &item, "run-a");
        assert_eq!(number, 1);
        let progress = Progress {
            pid: Some(42),
            cost_usd: 0.25,
            turns: 3,
            last_tool: Some("Bash".to_owned()),
            ..Progress::default()
        };
        end_attempt(&cx, first, "failed", Some("no result"), Some(&progress)).unwrap();
        let (second, number) = attempt(&cx, &item, "run-a");
        assert_eq!(number, 2, "numbered per item, over every run");
        record_exit(
            &cx,
            second,
            "succeeded",
            &Progress {
                cost_usd: 0.5,
                ..Progress::default()
            },
        )
        .unwrap();
        let status = status(&cx, 10).unwrap();
        assert_eq!(
            status.running.len(),
            1,
            "a success stays open for the train"
        );
        assert_eq!(status.recent_failures.len(), 1);
        assert_eq!(
            status.recent_failures[0].reason.as_deref(),
            Some("no result")
        );
        assert!((status.spent_usd - 0.75).abs() < 1e-9);
        end_attempt(&cx, second, "merged", None, None).unwrap();
        end_run(&cx, "run-a", "drained").unwrap();
        let status = super::status(&cx, 10).unwrap();
        assert!(status.running.is_empty());
        assert_eq!(
            status
                .runs
                .iter()
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>(),
            ["run-b"]
        );
        let rows = attempts(&cx, &item).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].outcome.as_deref(), Some("merged"));
        assert_eq!(rows[0].last_tool.as_deref(), Some("Bash"));
    }
}
