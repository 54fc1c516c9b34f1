//! `orchestron review ID | review approve ID | review reject ID --feedback TEXT`: a
//! person's review of a worker's finished item. Each arm calls one operation of the core's
//! merge train (`workers::train`) and renders its typed result.

use anyhow::bail;
use serde_json::json;

use crate::cli::{ReviewArgs, ReviewCommand};
use crate::context::Context;
use crate::output::Output;
use orchestron_core::workers::git::Git;
use orchestron_core::workers::train::{self, Integrated, ReviewView};

pub(super) fn run(context: &Context, out: &mut Output, args: ReviewArgs) -> anyhow::Result<()> {
    let cx = context.core()?;
    match args.command {
        Some(ReviewCommand::Approve { id }) => {
            let git = Git::open(context.project_root())?;
            let test_command = cx.config().workers.test_command.clone();
            let (id, outcome) = train::approve(cx, &git, &id, test_command.as_deref())?;
            approved(out, &id, &outcome)
        }
        Some(ReviewCommand::Reject { id, feedback }) => {
            let found = train::reject(cx, &id, &feedback)?;
            let id = &found.item.id;
            if out.json() {
                out.json_line(
                    &json!({"id": id, "status": found.item.status.as_str(), "feedback": feedback}),
                )?;
            } else {
                out.line(&format!(
                    "{id} is back in TODO with your feedback; its branch `{}` is kept, and its \
                     next attempt continues from it",
                    train::branch_for(id)
                ))?;
            }
            Ok(())
        }
        None => {
            let Some(id) = args.id else {
                bail!("`orchestron review` needs an item id");
            };
            let git = Git::open(context.project_root())?;
            show(out, &train::review(cx, &git, &id)?)
        }
    }
}

fn approved(out: &mut Output, id: &str, outcome: &Integrated) -> anyhow::Result<()> {
    if out.json() {
        let mut value = serde_json::to_value(outcome)?;
        value["id"] = json!(id);
        out.json_line(&value)?;
    }
    let failure = match outcome {
        Integrated::Merged { commit } => {
            if !out.json() {
                out.line(&format!(
                    "{id} merged ({}) and DONE",
                    &commit[..commit.len().min(12)]
                ))?;
            }
            return Ok(());
        }
        Integrated::InReview => return Ok(()),
        Integrated::NothingDone => {
            if !out.json() {
                out.line(&format!(
                    "{id} is DONE: the integration branch holds its branch already"
                ))?;
            }
            return Ok(());
        }
        Integrated::Conflict { files } => format!(
            "{id} was not merged: its branch conflicts with the integration branch in {}; it is \
             back in TODO, and its next attempt merges and resolves it",
            files.join(", ")
        ),
        Integrated::TestsFailed { summary } => format!(
            "{id} was not merged: the tests failed ({}); it is back in TODO for another attempt",
            orchestron_core::text::clip_line(summary, 300)
        ),
    };
    out.flush()?;
    bail!("{failure}")
}

fn show(out: &mut Output, view: &ReviewView) -> anyhow::Result<()> {
    if out.json() {
        return Ok(out.json_line(&serde_json::to_value(view)?)?);
    }
    let item = &view.item.item;
    out.line(&format!("{}  {}  ({})", item.id, item.title, item.status))?;
    out.line(&format!("branch: {} → {}", view.branch, view.into))?;
    out.line(&format!(
        "note: {}",
        view.note.as_deref().unwrap_or("(the worker left none)")
    ))?;
    let tests = match &view.tests {
        None => "not run (no `workers.test_command`)".to_owned(),
        Some(tests) => format!(
            "{} (`{}`, exit {}, {} ms)",
            if tests["passed"] == true {
                "passed"
            } else {
                "FAILED"
            },
            tests["command"].as_str().unwrap_or(""),
            tests["exit_code"],
            tests["took_ms"]
        ),
    };
    out.line(&format!("tests: {tests}"))?;
    out.line(&format!(
        "cost: ${:.4}, {} turns, {} attempt{}",
        view.cost_usd,
        view.turns,
        view.attempts,
        if view.attempts == 1 { "" } else { "s" }
    ))?;
    if let Some(log) = &view.log_summary {
        out.line(&format!("log: {log}"))?;
    }
    out.line(&format!(
        "approve: orchestron review approve {}\nreject:  orchestron review reject {} --feedback \"...\"",
        item.id, item.id
    ))?;
    out.line("")?;
    out.line(view.diff.trim_end())?;
    if view.diff_truncated {
        out.line(&format!(
            "… the diff is cut here; `git diff {}...{}` shows it whole",
            view.into, view.branch
        ))?;
    }
    Ok(())
}
