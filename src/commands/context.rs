//! `orchestron context …`: what a session is told when it starts (the current one, a named
//! one, or a new one when there is no current session), and named snapshots of a session's
//! working context (`save`, `load`, `list`, `prune`), whose operations are the core's
//! (`orchestron_core::snapshots`).

use serde_json::{Value, json};

use crate::cli::{ContextArgs, ContextCommand};
use crate::context::Context;
use crate::hook::{self, Preview};
use crate::output::Output;
use crate::style;
use orchestron_core::ids::SessionId;
use orchestron_core::snapshots::{self, Which};

pub(super) fn run(context: &Context, out: &mut Output, args: ContextArgs) -> anyhow::Result<()> {
    match args.command {
        None => show(context, out, args.id),
        Some(ContextCommand::Show { id }) => show(context, out, id),
        Some(ContextCommand::Save {
            name,
            notes,
            session,
        }) => save(context, out, name, &notes, session),
        Some(ContextCommand::Load {
            name,
            latest,
            session,
        }) => {
            let which = match name {
                Some(name) if !latest => Which::Named(name),
                _ => Which::Latest,
            };
            load(context, out, &which, session)
        }
        Some(ContextCommand::List) => list(context, out),
        Some(ContextCommand::Prune { older_than }) => {
            let older_than = older_than
                .map(|raw| {
                    orchestron_core::config::parse_duration(&raw)
                        .map_err(|err| err.context(format!("invalid `--older-than {raw}`")))
                })
                .transpose()?;
            let pruned = snapshots::prune(context.core()?, older_than)?;
            if out.json() {
                out.json_line(&json!({"removed": pruned.removed, "kept": pruned.kept}))?;
            } else if pruned.removed.is_empty() {
                out.line(&format!("nothing to prune; {} kept", pruned.kept))?;
            } else {
                out.line(&format!(
                    "removed {} snapshot{}: {}; {} kept",
                    pruned.removed.len(),
                    plural(pruned.removed.len()),
                    pruned.removed.join(", "),
                    pruned.kept
                ))?;
            }
            Ok(())
        }
    }
}

/// `context [ID]` and `context show [ID]`.
fn show(context: &Context, out: &mut Output, id: Option<String>) -> anyhow::Result<()> {
    let named = id.map(|raw| SessionId::parse(&raw)).transpose()?;
    let hinted = match &named {
        Some(_) => None,
        None => context.session_hint().map(SessionId::parse).transpose()?,
    };
    let (text, id, new, mode) = match (named, hinted) {
        (Some(id), _) => (
            hook::preview_context(context, Preview::Session(&id))?,
            Some(id),
            false,
            None,
        ),
        (None, Some(id)) if context.store()?.exists(&id) => (
            hook::preview_context(context, Preview::Session(&id))?,
            Some(id),
            false,
            None,
        ),
        (None, hinted) => {
            let starting = style::starting_mode(context)?;
            let preview = Preview::New {
                id: hinted.as_ref(),
                mode: starting.mode,
            };
            let text = hook::preview_context(context, preview)?;
            let who = match &hinted {
                Some(id) => format!("session {} has not started yet", id.as_str()),
                None => "no current session".to_owned(),
            };
            crate::output::note(&format!(
                "{who}: this is what a new session here is told when it starts (in {} mode)",
                starting.mode.as_str()
            ));
            (text, hinted, true, Some(starting.mode))
        }
    };
    if out.json() {
        out.json_line(&json!({
            "session_id": id.as_ref().map(SessionId::as_str),
            "new": new,
            "mode": mode.map(|mode| mode.as_str()),
            "context": text,
        }))?;
    } else {
        out.line(&text)?;
    }
    Ok(())
}

/// `context save [NAME] [--note TEXT]… [--session ID]`.
fn save(
    context: &Context,
    out: &mut Output,
    name: Option<String>,
    notes: &[String],
    session: Option<String>,
) -> anyhow::Result<()> {
    // The name first: a bad one is refused whatever else is wrong.
    if let Some(name) = &name {
        snapshots::check_name(name)?;
    }
    let id = match session {
        Some(raw) => SessionId::parse(&raw)?,
        None => context.current_session()?,
    };
    let saved = snapshots::save(context.core()?, &id, name.as_deref(), notes)?;
    let snapshot = &saved.snapshot;
    if out.json() {
        out.json_line(&json!({
            "snapshot": snapshot,
            "replaced": saved.replaced,
            "pruned": saved.pruned,
        }))?;
    } else {
        let summary = snapshots::summary(snapshot);
        let item = summary["item"]
            .as_str()
            .map(|item| format!("item {item}, "))
            .unwrap_or_default();
        out.line(&format!(
            "saved context snapshot {} ({item}{} open to-do{}, {} file{}, {} note{})",
            text(&snapshot["name"]),
            summary["todos_open"],
            plural(count(&summary["todos_open"])),
            summary["files"],
            plural(count(&summary["files"])),
            summary["notes"],
            plural(count(&summary["notes"])),
        ))?;
    }
    if saved.replaced {
        crate::output::note(&format!(
            "it replaces the snapshot that had this name; `orchestron context load {}` loads it",
            text(&snapshot["name"])
        ));
    }
    if !saved.pruned.is_empty() {
        crate::output::note(&format!(
            "removed to stay within `snapshots.keep` and `snapshots.max_age`: {}",
            saved.pruned.join(", ")
        ));
    }
    Ok(())
}

/// `context load NAME|--latest [--session ID]`.
fn load(
    context: &Context,
    out: &mut Output,
    which: &Which,
    session: Option<String>,
) -> anyhow::Result<()> {
    if let Which::Named(name) = which {
        snapshots::check_name(name)?;
    }
    let session = match session {
        Some(raw) => Some(SessionId::parse(&raw)?),
        None => super::ambient_session(context)?,
    };
    let loaded = snapshots::load(context.core()?, which, session.as_ref())?;
    let mut lines = snapshots::describe(&loaded.snapshot);
    if let Some(line) = link_line(&loaded.link) {
        lines.push(line);
    }
    if out.json() {
        out.json_line(&json!({
            "snapshot": loaded.snapshot,
            "session": loaded.session,
            "link": loaded.link,
            "context": lines.join("\n"),
        }))?;
    } else {
        for line in &lines {
            out.line(line)?;
        }
    }
    if loaded.session.is_none() {
        crate::output::note(
            "no current session: the snapshot is only printed and its item is not linked",
        );
    }
    Ok(())
}

/// What became of the snapshot's item, for the session that loads it.
fn link_line(link: &Value) -> Option<String> {
    let item = link["item"].as_str()?;
    if link["linked"] == true {
        let previous = link["previous_session"]
            .as_str()
            .filter(|previous| Some(*previous) != link["session"].as_str())
            .map(|previous| format!(" (it was linked to session {previous})"))
            .unwrap_or_default();
        let start = if link["status"] == "IN_PROGRESS" {
            String::new()
        } else {
            format!("; `orchestron task start {item}` resumes it")
        };
        Some(format!(
            "Item {item} is linked to this session{previous}{start}."
        ))
    } else {
        Some(format!(
            "Item {item} is not linked: {}.",
            text(&link["reason"])
        ))
    }
}

/// `context list`.
fn list(context: &Context, out: &mut Output) -> anyhow::Result<()> {
    let found = snapshots::list(context.core()?)?;
    if out.json() {
        out.json_line(&Value::Array(found))?;
        return Ok(());
    }
    if found.is_empty() {
        crate::output::note("no context snapshots yet; `orchestron context save [NAME]` keeps one");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = found
        .iter()
        .map(|snapshot| {
            vec![
                text(&snapshot["name"]),
                text(&snapshot["saved_at"]),
                text(&snapshot["session"]),
                snapshot["item"].as_str().unwrap_or("-").to_owned(),
                snapshot["todos_open"].to_string(),
                snapshot["files"].to_string(),
                snapshot["notes"].to_string(),
            ]
        })
        .collect();
    out.table(
        &[
            "NAME",
            "SAVED",
            "SESSION",
            "ITEM",
            "OPEN TO-DOS",
            "FILES",
            "NOTES",
        ],
        &rows,
    )?;
    Ok(())
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or("?").to_owned()
}

fn count(value: &Value) -> usize {
    value.as_u64().unwrap_or(0) as usize
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}
