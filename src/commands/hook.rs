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
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("cannot read the hook payload from stdin")?;
    if let Some(reply) = hook::run(context, event, &input)? {
        out.json_line(&reply)?;
    }
    Ok(())
}
