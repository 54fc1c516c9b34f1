//! `orchestron handoff show|write`: the handoffs a project keeps for its next sessions. The
//! hooks leave one per session at SessionEnd; `show` prints what the next session is told
//! (or whole handoffs with `--all`, `--item`, `--session`); `write` leaves one now, a
//! session's (with next steps and a note SessionEnd keeps) or, with no current session, a
//! person's.

use anyhow::Context as _;
use serde_json::{Value, json};

use crate::cli::HandoffCommand;
use crate::context::Context;
use crate::output::Output;
use orchestron_core::handoff;
use orchestron_core::handoffs::{self, Writer};
use orchestron_core::ids::SessionId;

pub(super) fn run(
    context: &Context,
    out: &mut Output,
    command: HandoffCommand,
) -> anyhow::Result<()> {
    match command {
        HandoffCommand::Prepare {
            id,
            to,
            context: text,
            next_steps,
        } => {
            let cx = context.core()?;
            let (offer, told) = handoffs::offer(cx, &id, &to, &text, &next_steps)?;
            if out.json() {
                let mut value = serde_json::to_value(&offer)?;
                value["told"] = json!(told);
                return Ok(out.json_line(&value)?);
            }
            out.line(&format!(
                "{} offered to {} until {}{}",
                offer.item,
                offer.to,
                offer.expires_at,
                if told.is_empty() {
                    " (told when it starts)".to_owned()
                } else {
                    format!(" (told in the inbox of {})", told.join(", "))
                }
            ))?;
            Ok(())
        }
        HandoffCommand::Accept { id } => {
            let cx = context.core()?;
            let agent = context.agent();
            let accepted = orchestron_core::tracker::offers::accept(cx, &id, agent.as_deref())?;
            if out.json() {
                return Ok(out.json_line(&serde_json::to_value(&accepted)?)?);
            }
            let offer = &accepted.offer;
            out.line(&format!(
                "{} \"{}\" is yours (IN_PROGRESS).",
                offer.item, offer.title
            ))?;
            out.line(&format!("Context: {}", offer.context))?;
            for step in &offer.next_steps {
                out.line(&format!("- next: {step}"))?;
            }
            Ok(())
        }
        HandoffCommand::Offers { all } => {
            let cx = context.core()?;
            let session = context.session_hint().map(str::to_owned);
            let agent = context.agent();
            let offers = if all {
                orchestron_core::tracker::offers::all(cx)?
            } else {
                orchestron_core::tracker::offers::waiting_for(
                    cx,
                    session.as_deref(),
                    agent.as_deref(),
                )?
            };
            if out.json() {
                return Ok(out.json_line(&json!({ "offers": offers }))?);
            }
            if offers.is_empty() {
                return Ok(out.line("no handoff waiting")?);
            }
            for offer in &offers {
                out.line(&format!(
                    "{} \"{}\" for {} until {}: {}",
                    offer.item, offer.title, offer.to, offer.expires_at, offer.context
                ))?;
            }
            Ok(())
        }
        HandoffCommand::Show {
            project,
            all,
            item,
            session,
        } => {
            // Checked before anything is read.
            let session = session.as_deref().map(SessionId::parse).transpose()?;
            let project = match project {
                Some(project) => project,
                None => context
                    .default_project()
                    .context("the project root has no name; pass `--project`")?,
            };
            let cx = context.core()?;
            if all {
                let found = handoffs::all(cx, &project)?;
                return print_many(out, &found, &format!("no handoff yet in project {project}"));
            }
            if let Some(item) = item {
                let found = handoffs::touching_item(cx, &project, &item)?;
                return print_many(
                    out,
                    &found,
                    &format!("no handoff in project {project} names item {item}"),
                );
            }
            if let Some(id) = session {
                let found = handoffs::of_session(cx, &project, &id)?;
                return print_one(
                    out,
                    found.as_ref(),
                    &format!("session {id} left no handoff in project {project}"),
                );
            }
            let brief = handoffs::brief_json(cx, &project)?;
            if out.json() {
                return Ok(out.json_line(&brief)?);
            }
            let lines = brief["lines"].as_array().map_or(&[][..], Vec::as_slice);
            if lines.is_empty() {
                crate::output::note(&format!("no handoff to tell in project {project}"));
            }
            for line in lines.iter().filter_map(Value::as_str) {
                out.line(line)?;
            }
            Ok(())
        }
        HandoffCommand::Write {
            session,
            next,
            note,
            dry_run,
        } => {
            let fallback = context
                .default_project()
                .unwrap_or_else(|| "project".to_owned());
            let writer = match session.as_deref().or(context.session_hint()) {
                Some(raw) => Writer::Session(SessionId::parse(raw)?),
                None => Writer::Person {
                    project: fallback.clone(),
                },
            };
            let written = handoffs::write(
                context.core()?,
                &writer,
                &next,
                note.as_deref(),
                dry_run,
                &fallback,
            )?;
            print_one(out, Some(&written), "")
        }
    }
}

fn print_one(out: &mut Output, handoff: Option<&Value>, none: &str) -> anyhow::Result<()> {
    match handoff {
        Some(handoff) if out.json() => out.json_line(handoff)?,
        None if out.json() => out.json_line(&json!(null))?,
        Some(handoff) => {
            for line in handoff::describe(handoff) {
                out.line(&line)?;
            }
        }
        None => crate::output::note(none),
    }
    Ok(())
}

fn print_many(out: &mut Output, found: &[Value], none: &str) -> anyhow::Result<()> {
    if out.json() {
        return Ok(out.json_line(&json!(found))?);
    }
    if found.is_empty() {
        crate::output::note(none);
    }
    for (i, handoff) in found.iter().enumerate() {
        if i > 0 {
            out.line("")?;
        }
        for line in handoff::describe(handoff) {
            out.line(&line)?;
        }
    }
    Ok(())
}
