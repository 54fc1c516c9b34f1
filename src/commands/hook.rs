//! `orchestron hook EVENT`: read Claude Code's payload from stdin, react, print the reply.

use std::io::Read as _;

use anyhow::Context as _;

use crate::context::Context;
use crate::hook::{self, Event};
use crate::output::Output;

pub(super) fn run(context: &Context, out: &mut Output, event: &str) -> anyhow::Result<()> {
    let event = Event::from_name(event);
    if event == Event::Other {
        return Ok(());
    }
    // Room for a typical payload up front, so it arrives in one or two reads.
    let mut input = String::with_capacity(64 * 1024);
    std::io::stdin()
        .read_to_string(&mut input)
        .context("cannot read the hook payload from stdin")?;
    if let Some(reply) = hook::run(context, event, &input)? {
        out.json_line(&reply)?;
    }
    Ok(())
}

/// `orchestron context [ID]`.
pub(super) fn context(
    context: &Context,
    out: &mut Output,
    id: Option<String>,
) -> anyhow::Result<()> {
    let id = match id {
        Some(raw) => crate::ids::SessionId::parse(&raw)?,
        None => context.current_session()?,
    };
    let text = hook::preview_context(context, &id)?;
    if out.json() {
        out.json_line(&serde_json::json!({"session_id": id.as_str(), "context": text}))?;
    } else {
        out.line(&text)?;
    }
    Ok(())
}

/// `orchestron statusline`.
pub(super) fn statusline(context: &Context, out: &mut Output) -> anyhow::Result<()> {
    let mut input = String::with_capacity(16 * 1024);
    std::io::stdin()
        .read_to_string(&mut input)
        .context("cannot read the status-line JSON from stdin")?;
    let line = hook::status_line(context, &input)?;
    if out.json() {
        out.json_line(&serde_json::json!({"line": line}))?;
    } else {
        out.line(&line)?;
    }
    Ok(())
}
