//! `orchestron handoff show|write`: the handoff a project keeps for its next session. The
//! hooks write one at SessionEnd; `write` leaves one now, with next steps and a note that
//! SessionEnd keeps.

use anyhow::Context as _;
use serde_json::{Value, json};

use crate::cli::HandoffCommand;
use crate::context::Context;
use crate::output::Output;
use orchestron_core::handoff;
use orchestron_core::ids::SessionId;
use orchestron_core::sessions;

pub(super) fn run(
    context: &Context,
    out: &mut Output,
    command: HandoffCommand,
) -> anyhow::Result<()> {
    match command {
        HandoffCommand::Show { project } => {
            let project = match project {
                Some(project) => project,
                None => context
                    .default_project()
                    .context("the project root has no name; pass `--project`")?,
            };
            let found = sessions::last_handoff(context.core()?, &project)?;
            print(
                out,
                found.as_ref(),
                &format!("no handoff yet in project {project}"),
            )
        }
        HandoffCommand::Write {
            session,
            next,
            note,
            dry_run,
        } => {
            let id = match session {
                Some(raw) => SessionId::parse(&raw)?,
                None => context.current_session()?,
            };
            let fallback = context
                .default_project()
                .unwrap_or_else(|| "project".to_owned());
            let written = sessions::write_handoff(
                context.core()?,
                &id,
                &next,
                note.as_deref(),
                dry_run,
                &fallback,
            )?;
            print(out, Some(&written), "")
        }
    }
}

fn print(out: &mut Output, handoff: Option<&Value>, none: &str) -> anyhow::Result<()> {
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
