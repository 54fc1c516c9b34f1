//! `orchestron inbox …`: leave messages for running sessions and list them.

use serde_json::Value;

use crate::cli::InboxCommand;
use crate::context::Context;
use crate::output::Output;
use orchestron_core::ids::SessionId;
use orchestron_core::sessions::{self, Scope};

pub(super) fn run(
    context: &Context,
    out: &mut Output,
    command: InboxCommand,
) -> anyhow::Result<()> {
    match command {
        InboxCommand::Add { session, all, text } => {
            let scope = scope(context, session, all)?;
            let left = sessions::leave_message(context.core()?, &scope, &text)?;
            let delivered = serde_json::to_value(&left.delivered)?;
            let delivered = delivered.as_array().cloned().unwrap_or_default();
            if out.json() {
                out.json_line(&Value::Array(delivered))?;
            } else if delivered.is_empty() && left.full.is_empty() {
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
            // Never lose a message without a word: the sessions it did not reach fail the
            // command, after the ones it reached are reported.
            for id in &left.full {
                crate::output::warn(&format!("{:#}", sessions::inbox_full(id)));
            }
            if !left.full.is_empty() {
                let ids: Vec<String> = left.full.iter().map(|id| format!("`{id}`")).collect();
                anyhow::bail!(
                    "the message was not left for {} (inbox full of unread messages)",
                    ids.join(", ")
                );
            }
            Ok(())
        }
        InboxCommand::List {
            session,
            all,
            unread,
        } => {
            let scope = scope(context, session, all)?;
            let rows = sessions::messages(context.core()?, &scope, unread)?;
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

/// `--all`, else the session named by `--session`, else the current one.
fn scope(context: &Context, session: Option<String>, all: bool) -> anyhow::Result<Scope> {
    Ok(match (all, session) {
        (true, _) => Scope::All,
        (false, Some(raw)) => Scope::One(SessionId::parse(&raw)?),
        (false, None) => Scope::One(context.current_session()?),
    })
}
