//! `workflow apply|show|clear`, `approve`, `intervene`, `pause`: the project's review points
//! and what a person does when one stops work. A workflow file is YAML or JSON, read here
//! into one JSON value the core checks (`review_points::apply`).

use anyhow::Context as _;
use serde_json::{Value, json};

use crate::cli::WorkflowCommand;
use crate::context::Context;
use crate::output::Output;
use orchestron_core::{review_points, reviews};

/// The most bytes of a workflow file read.
const MAX_WORKFLOW_BYTES: u64 = 1024 * 1024;

pub(super) fn workflow(
    context: &Context,
    out: &mut Output,
    command: WorkflowCommand,
) -> anyhow::Result<()> {
    let cx = context.core()?;
    match command {
        WorkflowCommand::Apply { file } => {
            let text = read_file(&file)?;
            let value = parse(&text, &file)?;
            let points = review_points::apply(cx, &value)?;
            if out.json() {
                return Ok(out.json_line(&serde_json::to_value(&points)?)?);
            }
            out.line(&format!(
                "{} review point{} in force",
                points.triggers.len(),
                if points.triggers.len() == 1 { "" } else { "s" }
            ))?;
            show(out, &points)
        }
        WorkflowCommand::Show => {
            let points = review_points::load(cx)?;
            if out.json() {
                return Ok(out.json_line(&serde_json::to_value(&points)?)?);
            }
            match points {
                Some(points) => show(out, &points),
                None => {
                    Ok(out.line("no review points: `orchestron workflow apply FILE` sets them")?)
                }
            }
        }
        WorkflowCommand::Clear => {
            let cleared = review_points::clear(cx)?;
            if out.json() {
                return Ok(out.json_line(&json!({ "cleared": cleared }))?);
            }
            Ok(out.line(if cleared {
                "review points cleared"
            } else {
                "there were no review points"
            })?)
        }
    }
}

fn read_file(file: &std::path::Path) -> anyhow::Result<String> {
    use std::io::Read as _;
    let mut text = String::new();
    if file.as_os_str() == "-" {
        std::io::stdin()
            .take(MAX_WORKFLOW_BYTES + 1)
            .read_to_string(&mut text)
            .context("cannot read the workflow from stdin")?;
    } else {
        std::fs::File::open(file)
            .and_then(|handle| {
                handle
                    .take(MAX_WORKFLOW_BYTES + 1)
                    .read_to_string(&mut text)
            })
            .with_context(|| format!("cannot read `{}`", file.display()))?;
    }
    anyhow::ensure!(
        text.len() as u64 <= MAX_WORKFLOW_BYTES,
        "`{}` is longer than {MAX_WORKFLOW_BYTES} bytes",
        file.display()
    );
    Ok(text)
}

/// A workflow file as JSON: JSON when it parses as JSON, else YAML.
fn parse(text: &str, file: &std::path::Path) -> anyhow::Result<Value> {
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        return Ok(value);
    }
    yaml_serde::from_str::<Value>(text)
        .map_err(|err| anyhow::anyhow!("`{}` is neither JSON nor YAML: {err}", file.display()))
}

fn show(out: &mut Output, points: &review_points::Points) -> anyhow::Result<()> {
    if let Some(name) = &points.name {
        out.line(&format!("workflow {name}"))?;
    }
    for trigger in &points.triggers {
        out.line(&format!(
            "- {}: {}",
            trigger.describe(),
            trigger.action().as_str()
        ))?;
    }
    Ok(())
}

pub(super) fn approve(
    context: &Context,
    out: &mut Output,
    id: &str,
    feedback: Option<&str>,
) -> anyhow::Result<()> {
    let approved = reviews::approve(context.core()?, id, feedback)?;
    if out.json() {
        return Ok(out.json_line(&serde_json::to_value(&approved)?)?);
    }
    let mut said = false;
    for session in &approved.resumed {
        out.line(&format!("session {session} resumes"))?;
        said = true;
    }
    if let Some(decision) = &approved.decision {
        out.line(&format!("{} \"{}\" approved", decision.id, decision.title))?;
        said = true;
    }
    if let Some(item) = &approved.item {
        out.line(&format!("{} is {}", item.item.id, item.item.status))?;
        said = true;
    }
    if !said {
        out.line(&format!("{} approved", approved.id))?;
    }
    Ok(())
}

pub(super) fn intervene(
    context: &Context,
    out: &mut Output,
    id: &str,
    message: &str,
) -> anyhow::Result<()> {
    let (view, holder) = reviews::intervene(context.core()?, id, message)?;
    if out.json() {
        return Ok(out.json_line(&json!({"id": view.item.id, "told": holder}))?);
    }
    Ok(out.line(&match holder {
        Some(session) => format!(
            "clarification added to {}; session {session} is told at its next prompt or tool call",
            view.item.id
        ),
        None => format!(
            "clarification added to {}; no session holds it now",
            view.item.id
        ),
    })?)
}

pub(super) fn pause(
    context: &Context,
    out: &mut Output,
    id: &str,
    reason: &str,
) -> anyhow::Result<()> {
    let (view, session) = reviews::pause(context.core()?, id, reason)?;
    if out.json() {
        return Ok(out.json_line(&json!({"id": view.item.id, "session": session}))?);
    }
    Ok(out.line(&format!(
        "session {session} is paused until `orchestron approve {}`",
        view.item.id
    ))?)
}
