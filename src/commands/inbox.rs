//! `orchestron inbox …`: leave messages for running sessions and list them.

use serde_json::{Value, json};

use crate::cli::InboxCommand;
use crate::context::Context;
use crate::output::Output;
use orchestron_core::ids::SessionId;
use orchestron_core::inbox;
use orchestron_core::session::{Lifecycle, Status};
use orchestron_core::{Error, ErrorKind};

pub(super) fn run(
    context: &Context,
    out: &mut Output,
    command: InboxCommand,
) -> anyhow::Result<()> {
    match command {
        InboxCommand::Add { session, all, text } => {
            anyhow::ensure!(!text.trim().is_empty(), "the message is empty");
            let targets = if all {
                running_sessions(context)?
            } else {
                vec![target(context, session)?]
            };
            let store = context.store()?;
            let mut delivered = Vec::new();
            for id in &targets {
                if !all && !store.exists(id) {
                    return Err(Error::session_not_found(id.as_str()).into());
                }
                let number = store.update(id, |document| {
                    Ok((true, inbox::add(document, context.now, &text)))
                });
                match number {
                    Ok(number) => delivered.push(json!({"session_id": id.as_str(), "id": number})),
                    // A session removed since it was listed is simply not reached.
                    Err(err) if all && Error::kind_of(&err) == ErrorKind::NotFound => {}
                    Err(err) => return Err(err),
                }
            }
            if out.json() {
                out.json_line(&Value::Array(delivered))?;
            } else if delivered.is_empty() {
                crate::output::warn("no running session to leave the message for");
            } else {
                for message in &delivered {
                    out.line(&format!(
                        "left message {} for {}",
                        message["id"],
                        message["session_id"].as_str().unwrap_or_default()
                    ))?;
                }
            }
            Ok(())
        }
        InboxCommand::List {
            session,
            all,
            unread,
        } => {
            let store = context.store()?;
            let ids = if all {
                store.ids()?
            } else {
                vec![target(context, session)?]
            };
            let mut rows = Vec::new();
            for id in ids {
                let Some(document) = store.try_read(&id)? else {
                    if all {
                        continue;
                    }
                    return Err(Error::session_not_found(id.as_str()).into());
                };
                for message in inbox::messages(&document) {
                    if unread && !message["read_at"].is_null() {
                        continue;
                    }
                    let mut row = message;
                    row["session_id"] = json!(id.as_str());
                    rows.push(row);
                }
            }
            if out.json() {
                return Ok(out.json_line(&Value::Array(rows))?);
            }
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|row| {
                    vec![
                        row["session_id"].as_str().unwrap_or_default().to_owned(),
                        row["id"].to_string(),
                        row["at"].as_str().unwrap_or_default().to_owned(),
                        if row["read_at"].is_null() {
                            "unread"
                        } else {
                            "read"
                        }
                        .to_owned(),
                        row["text"].as_str().unwrap_or_default().to_owned(),
                    ]
                })
                .collect();
            Ok(out.table(&["SESSION", "ID", "AT", "STATUS", "TEXT"], &table)?)
        }
    }
}

/// The session named by `--session`, else the current one.
fn target(context: &Context, session: Option<String>) -> anyhow::Result<SessionId> {
    match session {
        Some(raw) => SessionId::parse(&raw),
        None => context.current_session(),
    }
}

/// The sessions that are active and not expired.
fn running_sessions(context: &Context) -> anyhow::Result<Vec<SessionId>> {
    let store = context.store()?;
    let mut running = Vec::new();
    for id in store.ids()? {
        let Ok(Some(document)) = store.try_read(&id) else {
            continue;
        };
        let active = Lifecycle::of(&document)
            .is_ok_and(|lifecycle| lifecycle.status(context.now) == Status::Active);
        if active {
            running.push(id);
        }
    }
    Ok(running)
}
