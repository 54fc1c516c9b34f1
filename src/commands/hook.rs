//! `orchestron hook EVENT`: read Claude Code's payload from stdin, react, print the reply.

use std::path::Path;

use crate::context::Context;
use crate::hook::wire::Input;
use crate::hook::{self, Event};
use crate::output::Output;

pub(super) fn run(
    context: &Context,
    out: &mut Output,
    event: &str,
    payload: Option<&Path>,
    worker: bool,
) -> anyhow::Result<()> {
    let event = Event::from_name(event);
    if event == Event::Other {
        return Ok(());
    }
    // A worker's hooks come from the supervisor's `--settings` (`--worker`); the project's
    // and the plugin's run too, and would record every event twice: they do nothing.
    if context.worker().is_some() && !worker {
        return Ok(());
    }
    let input = read_input(payload, "the hook payload")?;
    if let Some(reply) = hook::run(context, event, &input)? {
        out.json_line(&reply)?;
    }
    Ok(())
}

/// The JSON a hook gets: from `file`, else stdin, up to the payload size limit.
fn read_input(file: Option<&Path>, what: &str) -> anyhow::Result<Input> {
    Input::read(file, what)
}

/// `orchestron statusline`.
pub(super) fn statusline(
    context: &Context,
    out: &mut Output,
    payload: Option<&Path>,
) -> anyhow::Result<()> {
    let input = read_input(payload, "the status-line JSON")?;
    let line = hook::status_line(context, &input)?;
    if out.json() {
        out.json_line(&serde_json::json!({"line": line}))?;
    } else {
        out.line(&line)?;
    }
    Ok(())
}
