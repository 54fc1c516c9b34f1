//! `orchestron export` and `orchestron import`: the face of the core's `tracker::transfer`.
//! Export streams its lines to stdout; import opens the file (or stdin) for the core to read
//! line by line, and renders the summary.

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

/// `orchestron import FILE`, or `-` for stdin. The core reads it line by line (each at
/// most `transfer::MAX_LINE_BYTES`).
pub(super) fn import(context: &Context, out: &mut Output, file: &Path) -> anyhow::Result<()> {
    let summary = if file == Path::new("-") {
        transfer::import(context.core()?, &mut std::io::stdin().lock())?
    } else {
        let opened = std::fs::File::open(file)
            .with_context(|| format!("cannot read `{}`", file.display()))?;
        transfer::import(context.core()?, &mut std::io::BufReader::new(opened))?
    };
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
