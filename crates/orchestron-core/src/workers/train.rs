//! The merge train: one finished attempt at a time onto the integration branch.
//!
//! STAND-IN until h13-train merges: commit, test, predict, merge, mark DONE.

use std::path::PathBuf;

use rusqlite::params;
use serde::Serialize;
use serde_json::json;

use super::git::{Git, git};
use crate::context::Context;
use crate::error::Result;
use crate::session::format_time;
use crate::tracker::model::{Status, Via};
use crate::tracker::{items, tasks};

/// Who passes a worker's work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Review {
    Auto,
    Human,
}

/// One finished attempt for the train.
#[derive(Debug, Clone)]
pub struct Job {
    pub item: String,
    pub generation: i64,
    pub branch: String,
    pub worktree: PathBuf,
    pub into: String,
    pub review: Review,
    pub test_command: Option<String>,
    pub attempt: i64,
}

/// What the train did with it.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Integrated {
    Merged { commit: String },
    InReview,
    Conflict { files: Vec<String> },
    TestsFailed { summary: String },
    NothingDone,
}

// STAND-IN until h13-train merges
pub fn integrate(cx: &Context, git_repo: &Git, job: &Job) -> Result<Integrated> {
    git_repo.commit_all(
        &job.worktree,
        &format!("{}: work left by the worker", job.item),
    )?;
    let top = git_repo.top();
    let ahead = git(
        top,
        &[
            "rev-list",
            "--count",
            &format!("{}..{}", job.into, job.branch),
        ],
    )?;
    if ahead == "0" {
        git_repo.remove_worktree(&job.worktree)?;
        return Ok(Integrated::NothingDone);
    }
    if job.review == Review::Human {
        set_status(cx, &job.item, Status::InReview, None)?;
        git_repo.remove_worktree(&job.worktree)?;
        return Ok(Integrated::InReview);
    }
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(top)
        .args([
            "merge-tree",
            "--write-tree",
            "--name-only",
            &job.into,
            &job.branch,
        ])
        .output()
        .map_err(|err| crate::error::Error::internal(format!("cannot run git: {err}")))?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut lines = text.lines();
    let tree = lines.next().unwrap_or_default().to_owned();
    if !output.status.success() {
        let files = lines
            .take_while(|line| !line.is_empty())
            .map(str::to_owned)
            .collect();
        git_repo.remove_worktree(&job.worktree)?;
        set_status(cx, &job.item, Status::Todo, None)?;
        return Ok(Integrated::Conflict { files });
    }
    let old = git(top, &["rev-parse", &format!("refs/heads/{}", job.into)])?;
    let tip = git(top, &["rev-parse", &job.branch])?;
    let message = format!("Merge {} into {}", job.branch, job.into);
    let commit = git(
        top,
        &["commit-tree", &tree, "-p", &old, "-p", &tip, "-m", &message],
    )?;
    git(
        top,
        &[
            "update-ref",
            &format!("refs/heads/{}", job.into),
            &commit,
            &old,
        ],
    )?;
    set_status(
        cx,
        &job.item,
        Status::Done,
        Some(json!({"branch": job.branch, "commit": commit, "into": job.into})),
    )?;
    git_repo.remove_worktree(&job.worktree)?;
    git_repo.delete_branch_if_merged(&job.branch, &job.into)?;
    Ok(Integrated::Merged { commit })
}

// STAND-IN until h13-train merges
fn set_status(cx: &Context, id: &str, to: Status, merged: Option<serde_json::Value>) -> Result<()> {
    let now = format_time(cx.now());
    let workflow = cx.workflow();
    let mut db = cx.tracker()?;
    db.write(|tx| -> Result<()> {
        let item = items::get(tx, id)?;
        if item.status == to {
            return Ok(());
        }
        tasks::apply_move(tx, &item, to, Via::Force, workflow, None, &now, None)?;
        if to == Status::Todo {
            tx.execute(
                "UPDATE items SET assignee = NULL, session = NULL WHERE id = ?1",
                params![id],
            )?;
        }
        if let Some(merged) = merged {
            items::record(tx, id, &now, "merged", merged, None)?;
        }
        Ok(())
    })
}
