//! `orchestron worker-instructions ID` (the prompt a worker gets, composed by
//! `orchestron_core::workers::instructions`) and `orchestron attention` (the queue of what
//! waits for a person, gathered by `orchestron_core::attention`): this module only prints.

use crate::cli::InstructionsFormat;
use crate::context::Context;
use crate::output::Output;
use orchestron_core::attention::{self, Entry};
use orchestron_core::workers::instructions;

pub(super) fn worker_instructions(
    context: &Context,
    out: &mut Output,
    id: &str,
    format: InstructionsFormat,
) -> anyhow::Result<()> {
    let composed = instructions::compose(context.core()?, id, None)?;
    if out.json() || format == InstructionsFormat::Json {
        out.json_line(&composed.json)?;
        return Ok(());
    }
    // The markdown goes out as it is (a worker's prompt, to paste or pipe); what was cut is
    // said in it, and again on stderr for the person who runs this.
    out.bytes(composed.markdown.as_bytes())?;
    if !composed.cut.is_empty() {
        crate::output::note(&format!(
            "cut to fit `workers.instructions_bytes`: {}",
            composed.cut.join("; ")
        ));
    }
    Ok(())
}

pub(super) fn attention(context: &Context, out: &mut Output) -> anyhow::Result<()> {
    let entries = attention::queue(context.core()?)?;
    if out.json() {
        out.serialize(&entries)?;
        return Ok(());
    }
    if entries.is_empty() {
        out.line("Nothing waits for a person.")?;
        return Ok(());
    }
    out.line(&format!(
        "{} {} for a person:",
        entries.len(),
        if entries.len() == 1 {
            "entry waits"
        } else {
            "entries wait"
        }
    ))?;
    for entry in &entries {
        for line in render(entry) {
            out.line(&line)?;
        }
    }
    Ok(())
}

/// An entry for people: what and since when, why, then the commands that act on it.
fn render(entry: &Entry) -> Vec<String> {
    let who = entry
        .item
        .as_deref()
        .or(entry.session.as_deref())
        .unwrap_or("?");
    let mut lines = vec![format!(
        "\n{:<8} {who}  {}  (since {})",
        entry.kind.as_str(),
        entry.title,
        entry.since
    )];
    if let Some(reason) = &entry.reason {
        lines.push(format!("  {reason}"));
    }
    if let Some(branch) = &entry.branch {
        lines.push(format!("  branch: {branch}"));
    }
    for command in &entry.commands {
        lines.push(format!("  $ {command}"));
    }
    lines
}
