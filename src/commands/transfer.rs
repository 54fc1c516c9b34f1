//! `orchestron export` and `orchestron import`: the face of the core's `tracker::transfer`.
//! Export streams its lines to stdout; import reads the file (or stdin) and renders the
//! summary.

use std::io::Read as _;
use std::path::Path;

use anyhow::{Context as _, bail};
use serde_json::json;

use crate::context::Context;
use crate::output::Output;
use orchestron_core::tracker::transfer;

/// The version of the JSON shape of the import summary.
const SCHEMA_VERSION: u32 = 1;

/// `orchestron export [--format jsonl]`.
pub(super) fn export(context: &Context, out: &mut Output, format: &str) -> anyhow::Result<()> {
    if format != "jsonl" {
        bail!("unknown format `{format}`; the one format is `jsonl`");
    }
    transfer::export(context.core()?, |line| out.json_line(line))??;
    Ok(())
}

/// `orchestron import FILE`, or `-` for stdin.
pub(super) fn import(context: &Context, out: &mut Output, file: &Path) -> anyhow::Result<()> {
    let mut text = String::new();
    if file == Path::new("-") {
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read stdin")?;
    } else {
        std::fs::File::open(file)
            .and_then(|mut opened| opened.read_to_string(&mut text))
            .with_context(|| format!("cannot read `{}`", file.display()))?;
    }
    let summary = transfer::import(context.core()?, &text)?;
    if out.json() {
        let mut value = serde_json::to_value(&summary)?;
        value["schema_version"] = json!(SCHEMA_VERSION);
        out.json_line(&value)?;
    } else {
        out.line(&format!(
            "imported {} items, {} dependencies, {} checkpoints, {} comments, {} events, \
             {} sprints ({} sprint items), {} time entries, {} decisions, {} memory entries, \
             {} project configurations, {} tools",
            summary.items,
            summary.dependencies,
            summary.checkpoints,
            summary.comments,
            summary.events,
            summary.sprints,
            summary.sprint_items,
            summary.time_entries,
            summary.decisions,
            summary.memory,
            summary.configs,
            summary.tools,
        ))?;
    }
    Ok(())
}
