//! The merge train: how a worker's finished attempt reaches the integration branch, one at a
//! time, and how a person's review (`orchestron review`) joins the same path.
//!
//! [`integrate`] first commits whatever the worker left in its worktree (nothing is lost),
//! then checks the claim is still the worker's (fenced by its generation), runs the
//! project's test command in the worktree, predicts the merge with `git merge-tree
//! --write-tree`, and then either sends the item to review (IN_REVIEW, branch kept) or
//! merges: a merge commit made with `commit-tree` and the integration branch advanced with a
//! compare-and-swap `update-ref`, so no working tree or checked-out branch is ever touched.
//! A merge holds the train lock (`<state root>/workers/train.lock`) while it computes and
//! moves the integration branch, so the supervisor's train and `review approve` take turns.
//! Only then is the item DONE, with a `merged` event, in one transaction fenced by the
//! generation; its dependents become ready through the tracker's own rule.
//!
//! Invariants: a worktree is removed only after its changes are committed; a branch is
//! deleted only after the integration branch contains it; a predicted conflict is never
//! merged. This module does not start or stop processes, and does not claim.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension as _, Transaction, params};
use serde::Serialize;
use serde_json::{Value, json};

use super::git::{CommandRun, Git, MergePrediction, Worktree};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::session::format_time;
use crate::tracker::items::{self, Item};
use crate::tracker::model::{self, Status, Via};
use crate::tracker::tasks::{self, ItemView};

pub use super::git::{BRANCH_PREFIX, DEFAULT_INTO};

/// What a job stopped during its test run fails with.
pub const STOPPED_DURING_TESTS: &str = "the supervisor was stopped during the tests";

/// How many times a merge is computed again when the integration branch moved meanwhile
/// (by hand: every merge Orchestron makes holds the train lock), with a pause that doubles
/// from [`MERGE_RETRY_PAUSE`] between tries.
const MERGE_TRIES: u32 = 6;
const MERGE_RETRY_PAUSE: Duration = Duration::from_millis(50);

/// How long a merge waits for the train lock another merge holds (the supervisor's train,
/// another `review approve`): each holds it only while it computes and records one merge.
pub const TRAIN_LOCK_WAIT: Duration = Duration::from_secs(10 * 60);

/// The train lock's file, in the state root: `workers/train.lock`.
pub fn train_lock_path(cx: &Context) -> PathBuf {
    cx.state_root().join("workers").join("train.lock")
}

/// The train lock, held (`flock`) while one merge moves the integration branch; released
/// when dropped, or when its process ends however it ends.
#[derive(Debug)]
pub struct TrainLock {
    _file: std::fs::File,
}

/// Take the train lock: at once when it is free, else waiting (polling, the pause growing
/// to a quarter of a second) up to `wait`; `busy` after that.
pub fn lock_train(cx: &Context, wait: Duration) -> Result<TrainLock> {
    let path = train_lock_path(cx);
    let open = || crate::store::open_lock_file(&path);
    let file = match open() {
        Ok(file) => Ok(file),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            if let Some(folder) = path.parent() {
                crate::store::create_private_dir(folder)?;
            }
            open()
        }
        Err(err) => Err(err),
    }
    .map_err(|err| {
        Error::internal(format!(
            "cannot open the train lock `{}`: {err}",
            path.display()
        ))
    })?;
    let deadline = std::time::Instant::now() + wait;
    let mut pause = Duration::from_millis(5);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(TrainLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(err)) => {
                return Err(Error::internal(format!(
                    "cannot lock `{}`: {err}",
                    path.display()
                )));
            }
        }
        if std::time::Instant::now() >= deadline {
            return Err(Error::busy(format!(
                "another merge held the train lock `{}` for {}s",
                path.display(),
                wait.as_secs()
            ))
            .with_hint("nothing was merged or lost: try again when it is done"));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(250));
    }
}

/// A worker's branch for an item.
pub fn branch_for(item: &str) -> String {
    format!("{BRANCH_PREFIX}{item}")
}

/// Who decides that finished work is merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Review {
    /// The train: tests, conflict check, merge.
    Auto,
    /// A person: the item waits IN_REVIEW for `orchestron review approve|reject`.
    Human,
}

/// One finished attempt (or an approved review) to integrate.
#[derive(Debug, Clone)]
pub struct Job {
    pub item: String,
    /// The claim's generation the worker held: every tracker change is fenced by it.
    pub generation: i64,
    /// The worker's branch (`orchestron/<ID>`).
    pub branch: String,
    /// The worker's worktree; may be gone already (a review's was removed).
    pub worktree: PathBuf,
    /// The integration branch.
    pub into: String,
    pub review: Review,
    /// The project's test command (`workers.test_command`), run with `sh -c` in the
    /// worktree.
    pub test_command: Option<String>,
    /// How long the test command may run before its process group is killed
    /// (`workers.test_timeout`).
    pub test_timeout: Duration,
    /// Set when the supervisor stops: a test run is killed with its process group, the work
    /// stays committed on the branch and the job fails with [`STOPPED_DURING_TESTS`].
    pub cancel: Option<Arc<AtomicBool>>,
    /// The `worker_attempts` row (`id`) of the attempt, where the test result and the
    /// integration's outcome are recorded (`data.tests`, `data.integration`, `outcome`); a
    /// row that does not exist (such as 0, for a review of an item no worker touched)
    /// records nothing.
    pub attempt: i64,
}

/// What became of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Integrated {
    /// Merged into the integration branch with this commit; the item is DONE, its worktree
    /// removed and its branch deleted.
    Merged { commit: String },
    /// The item waits IN_REVIEW for a person, its branch kept.
    InReview,
    /// The merge would conflict in these files: nothing merged, the branch kept, the
    /// worktree removed. The item is left as it was, its claim held: the caller gives it
    /// back for another attempt (which merges the integration branch and resolves the
    /// conflict) or blocks it.
    Conflict { files: Vec<String> },
    /// The test command failed: nothing merged, the branch kept, the worktree removed; the
    /// item is left to the caller as for a conflict.
    TestsFailed { summary: String },
    /// The branch holds nothing the integration branch lacks (the worker committed
    /// nothing): the worktree is removed, and the item left to the caller as for a
    /// conflict. DONE always means merged, so nothing is DONE without a merge here.
    NothingDone,
}

impl Integrated {
    /// The outcome's name, as `worker_attempts.outcome` and the events record it.
    pub fn name(&self) -> &'static str {
        match self {
            Integrated::Merged { .. } => "merged",
            Integrated::InReview => "in_review",
            Integrated::Conflict { .. } => "conflict",
            Integrated::TestsFailed { .. } => "tests_failed",
            Integrated::NothingDone => "nothing_done",
        }
    }
}

/// Integrate one finished attempt. See the module documentation for the order of steps.
///
/// Only a merge (DONE) and a review (IN_REVIEW) move the item; after a conflict, failed
/// tests or an empty branch the item keeps its status and claim, and the caller decides
/// between another attempt and blocking it (the supervisor counts attempts; `review
/// approve` gives it back).
///
/// Fails with `conflict`, changing no status, when the claim is no longer the job's (its
/// generation moved on: the item was reclaimed); the worker's changes are committed to its
/// branch first all the same. Fails with `conflict` before anything when the job has a test
/// command and the configuration naming it is tracked by git ([`crate::trust`]).
pub fn integrate(cx: &Context, git: &Git, job: &Job) -> Result<Integrated> {
    git.check_branch_name(&job.branch)?;
    if job.test_command.is_some() {
        // Never a command that came with the repository (`workers run` refuses it first).
        crate::trust::refuse_committed(cx, "workers.test_command")?;
    }
    // Listed once: the checks below and the cleanup read it (a merge is quick, and only
    // this train moves worker worktrees).
    let worktrees = git.worktrees()?;
    let w = &worktrees;
    // Nothing is lost: whatever the worker left is on its branch before anything else.
    if job.worktree.exists() {
        commit_leftovers(git, job, w)?;
    }
    let item = fenced_item(cx, job)?;
    let Some(tip) = git.branch_tip(&job.branch)? else {
        return Err(Error::not_found(format!(
            "the branch `{}` of {} does not exist",
            job.branch, job.item
        )));
    };
    let into_tip = git.ensure_integration_among(&job.into, w)?;
    if git.is_ancestor(&tip, &into_tip)? {
        let outcome = Integrated::NothingDone;
        finish_attempt(cx, job, &outcome, None)?;
        // The branch holds nothing of its own: deleting it loses nothing.
        cleanup(git, job, Some(&tip), w);
        return Ok(outcome);
    }
    if let Some(command) = &job.test_command {
        let run = run_tests(git, job, command)?;
        record_attempt(cx, job, "tests", &tests_json(command, &run, cx))?;
        if run.cancelled {
            // The work is on the branch already; the worktree goes, the item is the
            // caller's to give back.
            cleanup(git, job, None, w);
            return Err(Error::conflict(STOPPED_DURING_TESTS)
                .with_hint(format!("the work is kept on branch `{}`", job.branch)));
        }
        if !run.succeeded() {
            let summary = test_summary(command, &run);
            let outcome = Integrated::TestsFailed { summary };
            finish_attempt(cx, job, &outcome, None)?;
            cleanup(git, job, None, w);
            return Ok(outcome);
        }
    }
    let workflow = cx.workflow();
    let human = item.status == Status::InProgress
        && (job.review == Review::Human
            || workflow.require_review
            || (workflow.require_testing && job.test_command.is_none()));
    // A predicted conflict is never merged, nor shown for review: it goes back first.
    let mut prediction = git.predict_merge(&into_tip, &tip)?;
    if let MergePrediction::Conflict { files } = prediction {
        return conflict(cx, git, job, files, w);
    }
    if human {
        // The caller tells the attention queue (the supervisor notifies).
        to_review(cx, job, &tip)?;
        let outcome = Integrated::InReview;
        finish_attempt(cx, job, &outcome, None)?;
        cleanup(git, job, None, w);
        return Ok(outcome);
    }
    // One merge at a time: the supervisor's train and every `review approve` hold the train
    // lock while they move the integration branch, so an approval waits behind a running
    // train instead of losing the race to it. The branch may have moved while this job ran
    // its tests: the merge is computed on its tip now.
    let train = lock_train(cx, TRAIN_LOCK_WAIT)?;
    let mut old = git.branch_tip(&job.into)?.ok_or_else(|| {
        Error::conflict(format!(
            "the integration branch `{}` was deleted during a merge",
            job.into
        ))
    })?;
    if old != into_tip {
        prediction = git.predict_merge(&old, &tip)?;
    }
    for tried in 0..MERGE_TRIES {
        let tree = match prediction {
            MergePrediction::Clean { tree } => tree,
            MergePrediction::Conflict { files } => return conflict(cx, git, job, files, w),
        };
        let message = format!(
            "orchestron: merge {} ({})\n\n{}: {}",
            job.branch,
            job.item,
            job.item,
            first_line(&item.title)
        );
        let commit = git.commit_tree(&tree, &[&old, &tip], &message)?;
        let why = format!("orchestron: merge {}", job.branch);
        if git.advance_branch(&job.into, &commit, &old, &why)? {
            drop(train);
            mark_merged(cx, job, &commit)?;
            let outcome = Integrated::Merged { commit };
            finish_attempt(cx, job, &outcome, None)?;
            cleanup(git, job, Some(&tip), w);
            return Ok(outcome);
        }
        // The integration branch moved (a person, outside the lock): compute it again,
        // after a pause that gives them time to finish.
        std::thread::sleep(MERGE_RETRY_PAUSE * 2u32.pow(tried));
        old = git.branch_tip(&job.into)?.ok_or_else(|| {
            Error::conflict(format!(
                "the integration branch `{}` was deleted during a merge",
                job.into
            ))
        })?;
        prediction = git.predict_merge(&old, &tip)?;
    }
    Err(Error::busy(format!(
        "the integration branch `{}` kept moving: {} was not merged",
        job.into, job.item
    ))
    .with_hint("nothing was lost: its branch is kept; approve or run the workers again"))
}

/// Commit what the worker left in its worktree, on its branch.
fn commit_leftovers(git: &Git, job: &Job, worktrees: &[Worktree]) -> Result<Option<String>> {
    let canonical = job.worktree.canonicalize().ok();
    let Some(entry) = worktrees.iter().find(|worktree| {
        !worktree.main && canonical.is_some() && worktree.path.canonicalize().ok() == canonical
    }) else {
        return Err(Error::conflict(format!(
            "`{}` is not a worktree of `{}`: {}'s work is left as it is",
            job.worktree.display(),
            git.top().display(),
            job.item
        )));
    };
    let on = entry.branch.clone();
    if on.as_deref() != Some(job.branch.as_str()) {
        // A detached HEAD or another branch: committing there could strand the work, and
        // removing the worktree would lose it. Leave everything for a person.
        return Err(Error::conflict(format!(
            "the worktree `{}` of {} is on {} instead of `{}`: left as it is",
            job.worktree.display(),
            job.item,
            on.map_or("a detached HEAD".to_owned(), |b| format!("`{b}`")),
            job.branch
        ))
        .with_hint("check it out on its branch (its commits may need a branch) and retry"));
    }
    git.commit_all(
        &job.worktree,
        &format!(
            "orchestron: what the worker left uncommitted on {}",
            job.item
        ),
    )
}

/// The item, when the job's claim still holds: its generation is current, and it is in
/// progress (a worker's attempt) or in review (a person's approval).
fn fenced_item(cx: &Context, job: &Job) -> Result<Item> {
    let db = cx.tracker_for_reads()?;
    let (item, generation) = item_and_generation(db.conn(), &job.item)?;
    check_fence(&item, generation, job)?;
    Ok(item)
}

fn item_and_generation(conn: &Connection, id: &str) -> Result<(Item, i64)> {
    let item = items::get(conn, id)?;
    let generation: i64 =
        conn.query_row("SELECT claim_gen FROM items WHERE id = ?1", [id], |row| {
            row.get(0)
        })?;
    Ok((item, generation))
}

fn check_fence(item: &Item, generation: i64, job: &Job) -> Result<()> {
    if generation != job.generation {
        return Err(Error::conflict(format!(
            "{} was claimed again (generation {generation}, the attempt held {}): its work \
             stays on `{}`, not merged",
            item.id, job.generation, job.branch
        ))
        .with_hint("nothing was lost: the branch is kept"));
    }
    if !matches!(item.status, Status::InProgress | Status::InReview) {
        return Err(Error::conflict(format!(
            "{} is {}, not IN_PROGRESS or IN_REVIEW: its work stays on `{}`, not merged",
            item.id, item.status, job.branch
        )));
    }
    Ok(())
}

/// Run the test command in the worktree, adding one (on the branch) for the run when it is
/// gone, as after a review.
fn run_tests(git: &Git, job: &Job, command: &str) -> Result<CommandRun> {
    let cancel = job.cancel.as_deref();
    if job.worktree.exists() {
        return git.run_shell(&job.worktree, command, job.test_timeout, cancel);
    }
    git.add_worktree(&job.worktree, &job.branch, &job.into)?;
    let run = git.run_shell(&job.worktree, command, job.test_timeout, cancel);
    // The tests may leave files: they are not the worker's work, but they are committed
    // rather than thrown away (a worktree is only removed clean).
    let _ = git.commit_all(&job.worktree, "orchestron: files the tests left");
    run
}

fn tests_json(command: &str, run: &CommandRun, cx: &Context) -> Value {
    json!({
        "command": command,
        "passed": run.succeeded(),
        "exit_code": run.code,
        "timed_out": run.timed_out,
        "cancelled": run.cancelled,
        "took_ms": run.took.as_millis() as u64,
        "tail": run.tail,
        "at": format_time(cx.now()),
    })
}

fn test_summary(command: &str, run: &CommandRun) -> String {
    let how = if run.timed_out {
        format!(
            "timed out: stopped after {}s (`workers.test_timeout`)",
            run.took.as_secs()
        )
    } else {
        match run.code {
            Some(code) => format!("exit {code}"),
            None => "killed by a signal".to_owned(),
        }
    };
    let last: Vec<&str> = run
        .tail
        .lines()
        .rev()
        .filter(|line| !line.trim().is_empty())
        .take(5)
        .collect();
    let last: Vec<&str> = last.into_iter().rev().collect();
    let mut summary = format!("`{command}`: {how}");
    if !last.is_empty() {
        summary.push('\n');
        summary.push_str(&last.join("\n"));
    }
    crate::text::clip(&summary, 2000).into_owned()
}

/// A predicted conflict: back to TODO, the branch kept.
fn conflict(
    cx: &Context,
    git: &Git,
    job: &Job,
    files: Vec<String>,
    worktrees: &[Worktree],
) -> Result<Integrated> {
    let note = format!(
        "its branch `{}` conflicts with `{}` in {}: the next attempt merges `{}` into it and \
         resolves the conflict",
        job.branch,
        job.into,
        super::git::summarize(&files, 5),
        job.into
    );
    let outcome = Integrated::Conflict { files };
    finish_attempt(cx, job, &outcome, Some(&note))?;
    cleanup(git, job, None, worktrees);
    Ok(outcome)
}

/// One fenced change to the item: the claim must still be the job's.
fn fenced_write(
    cx: &Context,
    job: &Job,
    change: impl FnOnce(&Transaction<'_>, &Item, &str) -> Result<()>,
) -> Result<()> {
    let now = format_time(cx.now());
    let mut db = cx.tracker_to_change()?;
    db.write(|tx| -> Result<()> {
        let (item, generation) = item_and_generation(tx, &job.item)?;
        check_fence(&item, generation, job)?;
        change(tx, &item, &now)
    })
}

/// Move the item to DONE through the lifecycle's stages: from work to its first stage
/// (`task complete`'s rule), then on through each gate as an approval. The train passes a
/// gate only when it may: review when the run reviews automatically and the project does
/// not require it, or a person approved; testing when its test command passed (else the
/// item went to a person, see [`integrate`]).
fn advance_to_done(tx: &Transaction<'_>, cx: &Context, item: &Item, now: &str) -> Result<()> {
    let workflow = cx.workflow();
    let mut current = item.clone();
    for _ in 0..3 {
        let (to, via) = match current.status {
            Status::InProgress => (
                model::completion_target(current.status, workflow),
                Via::Complete,
            ),
            Status::InReview | Status::Testing => (
                model::approval_target(current.status, workflow).unwrap_or(Status::Done),
                Via::Approve,
            ),
            _ => break,
        };
        tasks::apply_move(tx, &current, to, via, workflow, None, now, cx.actor())?;
        current = items::get(tx, &current.id)?;
    }
    Ok(())
}

/// DONE with a `merged` event, fenced: the merge is on the integration branch already, so
/// a lost fence still records where the work went.
fn mark_merged(cx: &Context, job: &Job, commit: &str) -> Result<()> {
    let detail = json!({
        "branch": job.branch,
        "commit": commit,
        "into": job.into,
        "generation": job.generation,
    });
    let result = fenced_write(cx, job, |tx, item, now| {
        advance_to_done(tx, cx, item, now)?;
        items::record(tx, &item.id, now, "merged", detail.clone(), cx.actor())
    });
    if let Err(err) = result {
        // Reclaimed between the check and the merge: say where the work went all the same.
        let now = format_time(cx.now());
        let mut db = cx.tracker_to_change()?;
        db.write(|tx| items::record(tx, &job.item, &now, "merged", detail.clone(), cx.actor()))?;
        return Err(err);
    }
    Ok(())
}

/// IN_PROGRESS to IN_REVIEW, branch kept, with a `review_requested` event naming it.
fn to_review(cx: &Context, job: &Job, tip: &str) -> Result<()> {
    let workflow = cx.workflow();
    fenced_write(cx, job, |tx, item, now| {
        if item.status == Status::InProgress {
            tasks::apply_move(
                tx,
                item,
                Status::InReview,
                Via::Complete,
                workflow,
                None,
                now,
                cx.actor(),
            )?;
        }
        items::record(
            tx,
            &item.id,
            now,
            "review_requested",
            json!({"branch": job.branch, "into": job.into, "commit": tip, "attempt": job.attempt}),
            cx.actor(),
        )
    })
}

/// Send an approved review that could not be merged back for another attempt: the item
/// returns to TODO (from IN_REVIEW, through IN_PROGRESS) with no assignee and no session,
/// with a `claim_returned` event holding the note, fenced by the generation. (A worker's
/// claim is given back by the supervisor through `tracker::claims`.)
fn send_back(cx: &Context, job: &Job, note: &str) -> Result<()> {
    let workflow = cx.workflow();
    fenced_write(cx, job, |tx, item, now| {
        return_to_todo(tx, item, workflow, now, cx.actor())?;
        items::record(
            tx,
            &item.id,
            now,
            "claim_returned",
            json!({
                "by": item.session.as_ref().or(item.assignee.as_ref()),
                "generation": job.generation,
                "note": note,
            }),
            cx.actor(),
        )
    })
}

/// IN_PROGRESS (or IN_REVIEW, through IN_PROGRESS) back to TODO, releasing the claim.
fn return_to_todo(
    tx: &Transaction<'_>,
    item: &Item,
    workflow: model::Workflow,
    now: &str,
    actor: Option<&str>,
) -> Result<()> {
    let mut current = item.clone();
    if current.status == Status::InReview {
        tasks::apply_move(
            tx,
            &current,
            Status::InProgress,
            Via::Update,
            workflow,
            None,
            now,
            actor,
        )?;
        current = items::get(tx, &current.id)?;
    }
    tasks::apply_move(
        tx,
        &current,
        Status::Todo,
        Via::Release,
        workflow,
        None,
        now,
        actor,
    )?;
    tx.execute(
        "UPDATE items SET assignee = NULL, session = NULL WHERE id = ?1",
        [&current.id],
    )?;
    Ok(())
}

/// Record `value` under `key` in the attempt's `data`.
fn record_attempt(cx: &Context, job: &Job, key: &str, value: &Value) -> Result<()> {
    let attempt = job.attempt;
    let mut db = cx.tracker_to_change()?;
    db.write(|tx| -> Result<()> {
        tx.execute(
            "UPDATE worker_attempts SET data = json_set(CASE WHEN json_valid(data) THEN data \
             ELSE '{}' END, '$.' || ?2, json(?3)) WHERE id = ?1",
            params![attempt, key, value.to_string()],
        )?;
        Ok(())
    })
}

/// Record the integration's outcome on the attempt: `outcome`, `reason` and
/// `data.integration`.
fn finish_attempt(
    cx: &Context,
    job: &Job,
    outcome: &Integrated,
    reason: Option<&str>,
) -> Result<()> {
    let attempt = job.attempt;
    let mut detail = serde_json::to_value(outcome)?;
    if let Value::Object(map) = &mut detail {
        map.insert("into".to_owned(), json!(job.into));
        map.insert("branch".to_owned(), json!(job.branch));
        map.insert("at".to_owned(), json!(format_time(cx.now())));
    }
    let reason = reason.map(str::to_owned).or_else(|| match outcome {
        Integrated::TestsFailed { summary } => Some(summary.clone()),
        _ => None,
    });
    let mut db = cx.tracker_to_change()?;
    db.write(|tx| -> Result<()> {
        tx.execute(
            "UPDATE worker_attempts SET outcome = ?2, reason = COALESCE(?3, reason), \
             data = json_set(CASE WHEN json_valid(data) THEN data ELSE '{}' END, \
             '$.integration', json(?4)) WHERE id = ?1",
            params![attempt, outcome.name(), reason, detail.to_string()],
        )?;
        Ok(())
    })
}

/// After the tracker knows: remove the worktree (it holds nothing uncommitted by now) and,
/// when the integration branch holds the branch at `merged_tip`, the branch. A failure here
/// loses nothing and is left for `orchestron health`, which reports such leftovers.
fn cleanup(git: &Git, job: &Job, merged_tip: Option<&str>, worktrees: &[Worktree]) {
    let canonical = job.worktree.canonicalize().ok();
    let is_job =
        |worktree: &Worktree| canonical.is_some() && worktree.path.canonicalize().ok() == canonical;
    // The other worktrees, told apart while the job's folder still exists.
    let others: Vec<Worktree> = worktrees
        .iter()
        .filter(|worktree| !is_job(worktree))
        .cloned()
        .collect();
    if canonical.is_some() {
        // Kept as a spare for the next item when the supervisor keeps spares.
        let removed = if worktrees.iter().any(is_job) {
            git.release_worktree_among(&job.worktree, worktrees)
        } else {
            // Made after the list (for a review's test run).
            git.release_worktree(&job.worktree)
        };
        if removed.is_err() {
            return;
        }
    }
    if let Some(tip) = merged_tip {
        let _ = git.delete_merged_branch(&job.branch, tip, &others);
    }
}

fn first_line(text: &str) -> String {
    crate::text::clip_line(text.lines().next().unwrap_or(""), 72)
}

// ---------------------------------------------------------------------------------------
// review

/// What `orchestron review ID` shows of an item waiting for review.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewView {
    pub item: ItemView,
    pub branch: String,
    pub into: String,
    /// `git diff into...branch`, with a summary of the files first.
    pub diff: String,
    pub diff_truncated: bool,
    /// The last test run recorded on an attempt (`data.tests`), if any.
    pub tests: Option<Value>,
    /// The worker's note (`task complete --note`), the latest.
    pub note: Option<String>,
    /// Cost and turns of every attempt on the item.
    pub cost_usd: f64,
    pub turns: i64,
    pub attempts: i64,
    /// The last attempt's log, in short: its final result.
    pub log_summary: Option<String>,
}

/// Where an item's review stands: its branch and integration branch (from its
/// `review_requested` event, else `orchestron/<ID>` and `default_into`).
fn review_target(conn: &Connection, id: &str, default_into: &str) -> Result<(String, String)> {
    let detail: Option<String> = conn
        .query_row(
            "SELECT detail FROM events WHERE item = ?1 AND what = 'review_requested' \
             ORDER BY id DESC LIMIT 1",
            [id],
            |row| row.get(0),
        )
        .optional()?
        .flatten();
    let detail: Value = detail
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Value::Null);
    let branch = detail["branch"]
        .as_str()
        .map_or_else(|| branch_for(id), str::to_owned);
    let into = detail["into"].as_str().unwrap_or(default_into).to_owned();
    Ok((branch, into))
}

/// The integration branch configured (`workers.into`), else [`DEFAULT_INTO`].
pub fn default_into(cx: &Context) -> String {
    cx.config()
        .workers
        .into
        .clone()
        .unwrap_or_else(|| DEFAULT_INTO.to_owned())
}

/// Gather what a person needs to review `raw`: the diff against the integration branch,
/// the test result, the worker's note, cost and turns, the log's summary. Reads only.
pub fn review(cx: &Context, git: &Git, raw: &str) -> Result<ReviewView> {
    let db = cx.tracker_for_reads()?;
    let conn = db.conn();
    let id = items::resolve(conn, raw)?;
    let item = tasks::view(conn, &id)?;
    if item.item.status != Status::InReview {
        return Err(Error::conflict(format!(
            "{id} is {}, not IN_REVIEW: there is nothing to review",
            item.item.status
        ))
        .with_hint("`orchestron attention` lists what waits for review"));
    }
    let (branch, into) = review_target(conn, &id, &default_into(cx))?;
    if git.branch_tip(&branch)?.is_none() {
        return Err(Error::not_found(format!(
            "the branch `{branch}` of {id} does not exist"
        )));
    }
    let base = if git.branch_tip(&into)?.is_some() {
        into.clone()
    } else {
        "HEAD".to_owned()
    };
    let (diff, diff_truncated) = git.diff(&base, &branch)?;
    let note: Option<String> = conn
        .query_row(
            "SELECT detail FROM events WHERE item = ?1 AND what = 'completion_note' \
             ORDER BY id DESC LIMIT 1",
            [&id],
            |row| row.get::<_, Option<String>>(0),
        )
        .optional()?
        .flatten()
        .map(|text| match serde_json::from_str::<Value>(&text) {
            Ok(Value::String(note)) => note,
            _ => text,
        });
    let (cost_usd, turns, attempts): (f64, i64, i64) = conn.query_row(
        "SELECT COALESCE(sum(cost_usd), 0), COALESCE(sum(turns), 0), count(*) \
         FROM worker_attempts WHERE item = ?1",
        [&id],
        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
    )?;
    let tests: Option<String> = conn
        .query_row(
            "SELECT json_extract(data, '$.tests') FROM worker_attempts WHERE item = ?1 \
             AND json_valid(data) AND json_extract(data, '$.tests') IS NOT NULL \
             ORDER BY attempt DESC LIMIT 1",
            [&id],
            |row| row.get(0),
        )
        .optional()?
        .flatten();
    let tests = tests.and_then(|text| serde_json::from_str(&text).ok());
    let log: Option<String> = conn
        .query_row(
            "SELECT log FROM worker_attempts WHERE item = ?1 ORDER BY attempt DESC LIMIT 1",
            [&id],
            |row| row.get(0),
        )
        .optional()?;
    let log_summary = log.and_then(|log| summarize_log(&resolve_log(cx, &log)));
    Ok(ReviewView {
        item,
        branch,
        into,
        diff,
        diff_truncated,
        tests,
        note,
        cost_usd,
        turns,
        attempts,
        log_summary,
    })
}

fn resolve_log(cx: &Context, log: &str) -> PathBuf {
    let path = Path::new(log);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        cx.state_root().join(path)
    }
}

/// The most of a log read for its summary: its end, where the result is.
const LOG_TAIL_BYTES: u64 = 256 * 1024;

/// A worker log's summary: its final `result` event (subtype, turns, cost, the text in
/// short), else how many events it holds.
fn summarize_log(path: &Path) -> Option<String> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut file = std::fs::File::open(path).ok()?;
    let length = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(length.saturating_sub(LOG_TAIL_BYTES)))
        .ok()?;
    let mut bytes = Vec::new();
    file.take(LOG_TAIL_BYTES).read_to_end(&mut bytes).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let events: Vec<Value> = text
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let result = events.iter().rev().find(|event| event["type"] == "result");
    Some(match result {
        Some(result) => {
            let subtype = result["subtype"].as_str().unwrap_or("unknown");
            let turns = result["num_turns"].as_i64().unwrap_or(0);
            let cost = result["total_cost_usd"].as_f64().unwrap_or(0.0);
            let said = result["result"].as_str().unwrap_or("");
            format!(
                "{subtype} after {turns} turns, ${cost:.4}: {}",
                crate::text::clip_line(said, 300)
            )
        }
        None => format!("no result: the log holds {} events", events.len()),
    })
}

/// Approve `raw`'s review: merge its branch through the same train (the test command runs
/// again when one is configured), making it DONE.
pub fn approve(
    cx: &Context,
    git: &Git,
    raw: &str,
    test_command: Option<&str>,
) -> Result<(String, Integrated)> {
    let (id, generation, branch, into) = {
        let db = cx.tracker_for_reads()?;
        let conn = db.conn();
        let id = items::resolve(conn, raw)?;
        let (item, generation) = item_and_generation(conn, &id)?;
        if item.status != Status::InReview {
            return Err(Error::conflict(format!(
                "cannot approve {id}: it is {}, not IN_REVIEW",
                item.status
            ))
            .with_hint("`orchestron attention` lists what waits for review"));
        }
        let (branch, into) = review_target(conn, &id, &default_into(cx))?;
        (id, generation, branch, into)
    };
    // The tests may need the worktree made again: never through a link planted in place of
    // the worktrees' folder or the item's worktree (git would write wherever it points).
    crate::store::refuse_linked_state(cx.state_root(), &["worktrees"])?;
    let worktree = worktree_path(cx, &id);
    if std::fs::symlink_metadata(&worktree).is_ok_and(|meta| meta.is_symlink()) {
        return Err(Error::conflict(format!(
            "`{}` is a symbolic link: {id} is not approved",
            worktree.display()
        ))
        .with_hint("remove the link, then approve again"));
    }
    let attempt = latest_attempt(cx, &id)?.unwrap_or(0);
    let job = Job {
        worktree,
        item: id.clone(),
        generation,
        branch,
        into,
        review: Review::Auto,
        test_command: test_command.map(str::to_owned),
        test_timeout: cx.config().workers.test_timeout(),
        cancel: None,
        attempt,
    };
    let outcome = integrate(cx, git, &job)?;
    match &outcome {
        Integrated::Merged { .. } | Integrated::InReview => {}
        Integrated::Conflict { files } => {
            let note = format!(
                "approved, but its branch `{}` conflicts with `{}` in {}: the next attempt \
                 merges `{}` into it and resolves the conflict",
                job.branch,
                job.into,
                super::git::summarize(files, 5),
                job.into
            );
            send_back(cx, &job, &note)?;
        }
        Integrated::TestsFailed { summary } => {
            send_back(
                cx,
                &job,
                &format!("approved, but the tests failed: {summary}"),
            )?;
        }
        Integrated::NothingDone => {
            // The integration branch holds the branch already (merged by hand): approved,
            // it is DONE.
            fenced_write(cx, &job, |tx, item, now| {
                advance_to_done(tx, cx, item, now)?;
                items::record(
                    tx,
                    &item.id,
                    now,
                    "merged",
                    json!({"branch": job.branch, "commit": null, "into": job.into}),
                    cx.actor(),
                )
            })?;
        }
    }
    Ok((id, outcome))
}

/// Reject `raw`'s review with `feedback`: the feedback is recorded, the item is back to
/// TODO, its branch kept, so the next attempt continues from it with the feedback in its
/// instructions.
pub fn reject(cx: &Context, raw: &str, feedback: &str) -> Result<ItemView> {
    tasks::check_text("feedback", feedback)?;
    let workflow = cx.workflow();
    let actor = cx.actor();
    let default_into = default_into(cx);
    let now = format_time(cx.now());
    let mut db = cx.tracker_to_change()?;
    let id = db.write(|tx| -> Result<String> {
        let id = items::resolve(tx, raw)?;
        let item = items::get(tx, &id)?;
        if item.status != Status::InReview {
            return Err(Error::conflict(format!(
                "cannot reject {id}: it is {}, not IN_REVIEW",
                item.status
            ))
            .with_hint("`orchestron attention` lists what waits for review"));
        }
        let (branch, _) = review_target(tx, &id, &default_into)?;
        tx.execute(
            "INSERT INTO comments (item, kind, text, at, by) VALUES (?1, 'feedback', ?2, ?3, ?4)",
            params![id, feedback, now, actor],
        )?;
        items::record(tx, &id, &now, "feedback", json!(feedback), actor)?;
        return_to_todo(tx, &item, workflow, &now, actor)?;
        items::record(
            tx,
            &id,
            &now,
            "review_rejected",
            json!({"feedback": feedback, "branch": branch}),
            actor,
        )?;
        Ok(id)
    })?;
    tasks::view(db.conn(), &id)
}

/// The latest attempt row of an item, if any.
fn latest_attempt(cx: &Context, id: &str) -> Result<Option<i64>> {
    let db = cx.tracker_for_reads()?;
    Ok(db
        .conn()
        .query_row(
            "SELECT id FROM worker_attempts WHERE item = ?1 ORDER BY attempt DESC LIMIT 1",
            [id],
            |row| row.get(0),
        )
        .optional()?)
}

/// Where a worker's worktree for `item` lives: `<state root>/worktrees/<ID>`.
pub fn worktree_path(cx: &Context, item: &str) -> PathBuf {
    worktrees_dir(cx).join(item)
}

/// The folder of the workers' worktrees: `<state root>/worktrees`.
pub fn worktrees_dir(cx: &Context) -> PathBuf {
    cx.state_root().join("worktrees")
}

#[cfg(test)]
pub(super) mod tests {
    use std::process::Command;

    use super::*;
    use crate::config::Config;
    use crate::tracker::tasks::NewItem;

    /// A repository with one commit, a state root in it (ignored, as `init` makes it), and
    /// a context on that state root.
    pub(in crate::workers) struct Fixture {
        pub(in crate::workers) dir: tempfile::TempDir,
        pub(in crate::workers) cx: Context,
        pub(in crate::workers) git: Git,
    }

    /// `git -C dir args` with a fixed identity, run to its end.
    pub(in crate::workers) fn git_output(dir: &Path, args: &[&str]) -> std::process::Output {
        Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .unwrap()
    }

    /// [`git_output`] that must succeed: its stdout, trimmed.
    pub(in crate::workers) fn sh_git(dir: &Path, args: &[&str]) -> String {
        let output = git_output(dir, args);
        assert!(output.status.success(), "git {args:?}: {output:?}");
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    }

    fn fixture_with(config: Config) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        std::fs::create_dir(&repo).unwrap();
        sh_git(&repo, &["init", "-q", "-b", "main"]);
        std::fs::write(repo.join("shared.txt"), "one\ntwo\nthree\n").unwrap();
        sh_git(&repo, &["add", "-A"]);
        sh_git(&repo, &["commit", "-q", "-m", "first"]);
        let cx = crate::context::for_tests(repo.join(".orchestron"), config);
        let git = Git::open(&repo).unwrap();
        Fixture { dir, cx, git }
    }

    pub(in crate::workers) fn fixture() -> Fixture {
        fixture_with(Config::default())
    }

    impl Fixture {
        pub(in crate::workers) fn repo(&self) -> PathBuf {
            self.dir.path().join("repo")
        }

        /// A new item, claimed by a worker session with generation 1, with its worktree
        /// on its branch and an attempt row; returns the job.
        pub(in crate::workers) fn claimed(&self, title: &str) -> Job {
            let new = NewItem::task(title);
            let id = tasks::create(&self.cx, &new).unwrap().item.id;
            let mut db = self.cx.tracker().unwrap();
            db.write(|tx| -> Result<()> {
                tx.execute(
                    "UPDATE items SET status = 'IN_PROGRESS', session = 'w', assignee = 'w', \
                     claim_gen = 1 WHERE id = ?1",
                    [&id],
                )?;
                items::record(
                    tx,
                    &id,
                    "2026-01-01T00:00:00Z",
                    "claimed",
                    json!({"by": "w"}),
                    None,
                )?;
                tx.execute(
                    "INSERT OR IGNORE INTO worker_runs (id, pid, into_branch, started_at, seq) \
                     VALUES ('r', 1, 'orchestron/integration', 'now', 1)",
                    [],
                )?;
                tx.execute(
                    "INSERT INTO worker_attempts (item, attempt, run, session, generation, \
                     branch, worktree, log, started_at) VALUES (?1, 1, 'r', 'w', 1, ?2, 'x', \
                     'workers/x.jsonl', 'now')",
                    params![id, branch_for(&id)],
                )?;
                Ok(())
            })
            .unwrap();
            let attempt = db.conn().last_insert_rowid();
            let into = self.git.ensure_integration(DEFAULT_INTO).unwrap();
            let worktree = worktree_path(&self.cx, &id);
            self.git
                .add_worktree(&worktree, &branch_for(&id), &into)
                .unwrap();
            Job {
                branch: branch_for(&id),
                item: id,
                generation: 1,
                worktree,
                into: DEFAULT_INTO.to_owned(),
                review: Review::Auto,
                test_command: None,
                test_timeout: crate::config::DEFAULT_TEST_TIMEOUT,
                cancel: None,
                attempt,
            }
        }

        pub(in crate::workers) fn status(&self, id: &str) -> Status {
            items::get(self.cx.tracker_for_reads().unwrap().conn(), id)
                .unwrap()
                .status
        }

        pub(in crate::workers) fn events(&self, id: &str) -> Vec<String> {
            tasks::history(&self.cx, id)
                .unwrap()
                .into_iter()
                .map(|event| event.what)
                .collect()
        }

        pub(in crate::workers) fn show(&self, revision: &str, file: &str) -> Option<String> {
            let output = Command::new("git")
                .arg("-C")
                .arg(self.repo())
                .args(["show", &format!("{revision}:{file}")])
                .output()
                .unwrap();
            output
                .status
                .success()
                .then(|| String::from_utf8(output.stdout).unwrap())
        }
    }

    #[test]
    fn a_finished_attempt_is_merged_without_touching_the_users_checkout() {
        let f = fixture();
        // The user's own uncommitted change, and their branch's tip.
        std::fs::write(f.repo().join("shared.txt"), "mine\n").unwrap();
        let head = sh_git(&f.repo(), &["rev-parse", "HEAD"]);
        let job = f.claimed("add a file");
        // The worker's file, left uncommitted: the train commits it.
        std::fs::write(job.worktree.join("a.txt"), "a\n").unwrap();
        let outcome = integrate(&f.cx, &f.git, &job).unwrap();
        let Integrated::Merged { commit } = outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(f.git.branch_tip(DEFAULT_INTO).unwrap(), Some(commit));
        assert_eq!(f.show(DEFAULT_INTO, "a.txt").as_deref(), Some("a\n"));
        assert_eq!(f.status(&job.item), Status::Done);
        assert!(f.events(&job.item).contains(&"merged".to_owned()));
        assert!(!job.worktree.exists(), "the worktree is removed");
        assert_eq!(
            f.git.branch_tip(&job.branch).unwrap(),
            None,
            "merged branch deleted"
        );
        assert_eq!(
            std::fs::read_to_string(f.repo().join("shared.txt")).unwrap(),
            "mine\n"
        );
        assert_eq!(sh_git(&f.repo(), &["rev-parse", "HEAD"]), head);
        assert_eq!(f.git.checked_out_branch().unwrap().as_deref(), Some("main"));
        let outcome: String =
            f.cx.tracker_for_reads()
                .unwrap()
                .conn()
                .query_row("SELECT outcome FROM worker_attempts", [], |row| row.get(0))
                .unwrap();
        assert_eq!(outcome, "merged");
    }

    #[test]
    fn a_predicted_conflict_is_never_merged_and_the_item_goes_back() {
        let f = fixture();
        let first = f.claimed("first edit");
        let second = f.claimed("second edit");
        std::fs::write(first.worktree.join("shared.txt"), "one\nTWO\nthree\n").unwrap();
        std::fs::write(second.worktree.join("shared.txt"), "one\n2\nthree\n").unwrap();
        assert!(matches!(
            integrate(&f.cx, &f.git, &first).unwrap(),
            Integrated::Merged { .. }
        ));
        let tip = f.git.branch_tip(DEFAULT_INTO).unwrap();
        let outcome = integrate(&f.cx, &f.git, &second).unwrap();
        assert_eq!(
            outcome,
            Integrated::Conflict {
                files: vec!["shared.txt".to_owned()]
            }
        );
        assert_eq!(
            f.git.branch_tip(DEFAULT_INTO).unwrap(),
            tip,
            "nothing merged"
        );
        assert_eq!(
            f.status(&second.item),
            Status::InProgress,
            "left to the caller"
        );
        assert!(
            !second.worktree.exists(),
            "its worktree is removed, committed"
        );
        assert_eq!(
            f.show(&second.branch, "shared.txt").as_deref(),
            Some("one\n2\nthree\n"),
            "its branch keeps the work"
        );
    }

    #[test]
    fn failing_tests_send_the_item_back_with_the_result_recorded() {
        let f = fixture();
        let mut job = f.claimed("break the build");
        job.test_command = Some("echo checking; echo 'test foo ... FAILED' >&2; exit 3".to_owned());
        std::fs::write(job.worktree.join("b.txt"), "b\n").unwrap();
        let outcome = integrate(&f.cx, &f.git, &job).unwrap();
        let Integrated::TestsFailed { summary } = &outcome else {
            panic!("{outcome:?}");
        };
        assert!(
            summary.contains("exit 3") && summary.contains("FAILED"),
            "{summary}"
        );
        assert_eq!(
            f.status(&job.item),
            Status::InProgress,
            "left to the caller"
        );
        assert!(
            f.git.branch_tip(&job.branch).unwrap().is_some(),
            "branch kept"
        );
        let (data, outcome): (String, String) =
            f.cx.tracker_for_reads()
                .unwrap()
                .conn()
                .query_row("SELECT data, outcome FROM worker_attempts", [], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })
                .unwrap();
        let data: Value = serde_json::from_str(&data).unwrap();
        assert_eq!(data["tests"]["passed"], false);
        assert_eq!(data["tests"]["exit_code"], 3);
        assert_eq!(outcome, "tests_failed");
    }

    #[test]
    fn passing_tests_run_in_the_worktree_then_merge() {
        let f = fixture();
        let mut job = f.claimed("tested");
        job.test_command = Some("test -f c.txt".to_owned());
        std::fs::write(job.worktree.join("c.txt"), "c\n").unwrap();
        assert!(matches!(
            integrate(&f.cx, &f.git, &job).unwrap(),
            Integrated::Merged { .. }
        ));
    }

    #[test]
    fn human_review_waits_then_approve_merges_and_reject_sends_back() {
        let f = fixture();
        let mut job = f.claimed("reviewed");
        job.review = Review::Human;
        std::fs::write(job.worktree.join("d.txt"), "d\n").unwrap();
        assert_eq!(
            integrate(&f.cx, &f.git, &job).unwrap(),
            Integrated::InReview
        );
        assert_eq!(f.status(&job.item), Status::InReview);
        assert!(!job.worktree.exists());
        let view = review(&f.cx, &f.git, &job.item).unwrap();
        assert!(view.diff.contains("d.txt"), "{}", view.diff);
        let (_, outcome) = approve(&f.cx, &f.git, &job.item, None).unwrap();
        assert!(matches!(outcome, Integrated::Merged { .. }), "{outcome:?}");
        assert_eq!(f.status(&job.item), Status::Done);
        assert_eq!(f.show(DEFAULT_INTO, "d.txt").as_deref(), Some("d\n"));

        // An approval that now conflicts goes back for another attempt.
        let mut late = f.claimed("approved late");
        late.review = Review::Human;
        std::fs::write(late.worktree.join("shared.txt"), "late\n").unwrap();
        integrate(&f.cx, &f.git, &late).unwrap();
        let first = f.claimed("first");
        std::fs::write(first.worktree.join("shared.txt"), "first\n").unwrap();
        assert!(matches!(
            integrate(&f.cx, &f.git, &first).unwrap(),
            Integrated::Merged { .. }
        ));
        let (_, outcome) = approve(&f.cx, &f.git, &late.item, None).unwrap();
        assert!(
            matches!(outcome, Integrated::Conflict { .. }),
            "{outcome:?}"
        );
        assert_eq!(f.status(&late.item), Status::Todo);
        assert!(f.events(&late.item).contains(&"claim_returned".to_owned()));

        let mut other = f.claimed("rejected");
        other.review = Review::Human;
        std::fs::write(other.worktree.join("e.txt"), "e\n").unwrap();
        integrate(&f.cx, &f.git, &other).unwrap();
        reject(&f.cx, &other.item, "name it f.txt").unwrap();
        assert_eq!(f.status(&other.item), Status::Todo);
        assert!(
            f.git.branch_tip(&other.branch).unwrap().is_some(),
            "branch kept"
        );
        let feedback =
            tasks::comments(&f.cx, &other.item, Some(tasks::CommentKind::Feedback)).unwrap();
        assert_eq!(feedback[0].text, "name it f.txt");
    }

    #[test]
    fn a_reclaimed_item_is_not_merged_but_its_work_is_committed() {
        let f = fixture();
        let mut job = f.claimed("reclaimed");
        job.generation = 0;
        std::fs::write(job.worktree.join("late.txt"), "late\n").unwrap();
        let err = integrate(&f.cx, &f.git, &job).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Conflict, "{err:?}");
        assert_eq!(f.show(&job.branch, "late.txt").as_deref(), Some("late\n"));
        assert_eq!(f.status(&job.item), Status::InProgress);
    }

    #[test]
    fn an_attempt_that_committed_nothing_is_not_done() {
        let f = fixture();
        let job = f.claimed("idle");
        assert_eq!(
            integrate(&f.cx, &f.git, &job).unwrap(),
            Integrated::NothingDone
        );
        assert_eq!(
            f.status(&job.item),
            Status::InProgress,
            "left to the caller"
        );
        assert!(!job.worktree.exists());
    }

    #[test]
    fn the_checked_out_branch_is_never_the_integration_branch() {
        let f = fixture();
        let err = f.git.ensure_integration("main").unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Conflict);
        for bad in ["", "-x", "a..b", "a b", "HEAD", "@{-1}", "x.lock"] {
            let err = f.git.ensure_integration(bad).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Invalid, "{bad}: {err:?}");
        }
        assert_eq!(f.git.branch_tip("orchestron/x").unwrap(), None);
    }

    #[test]
    fn a_folder_outside_git_is_refused_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let err = Git::open(dir.path()).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Invalid);
        assert!(err.message().contains("not in a git work tree"), "{err:?}");
    }

    #[test]
    fn a_worktree_with_uncommitted_changes_is_not_removed() {
        let f = fixture();
        let job = f.claimed("dirty");
        std::fs::write(job.worktree.join("wip.txt"), "wip\n").unwrap();
        let err = f.git.remove_worktree(&job.worktree).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Conflict);
        assert!(job.worktree.join("wip.txt").exists());
        assert!(
            !f.git
                .delete_branch_if_merged(&job.branch, DEFAULT_INTO)
                .unwrap(),
            "a branch checked out in a worktree is never deleted"
        );
    }
}
