//! `orchestron state …`: read and change a session's JSON document at dot paths and
//! JSONPaths. Reads take no lock; every write is one `Store` transaction.

use std::time::Duration;

use anyhow::Context as _;
use serde_json::{Number, Value, json};

use super::{parse_json, parse_object};
use crate::cli::{StateCommand, WriteArgs};
use crate::context::Context;
use crate::output::{Output, warn};
use orchestron_core::bounds;
use orchestron_core::config;
use orchestron_core::docpath::{Applied, DocPath, Edit, Found};
use orchestron_core::ids::SessionId;
use orchestron_core::select::{self, Selected};
use orchestron_core::session;
use orchestron_core::sessions::{self, EditOptions};
use orchestron_core::store::Outcome;

pub(super) fn run(
    context: &Context,
    out: &mut Output,
    command: StateCommand,
) -> anyhow::Result<()> {
    match command {
        StateCommand::Get {
            id,
            path,
            paths,
            strict,
        } => {
            let id = SessionId::parse(&id)?;
            let parsed = parse_path(context, &path)?;
            let store = context.store()?;
            let text = store.read_text(&id)?;
            let mut whole = None;
            let found = look_up(&path, &parsed, &text, &mut whole)
                .map_err(|err| bounds::explain(&store.document_path(&id), err))?;
            let empty = match &found {
                Lookup::One(value) => value.is_none(),
                Lookup::Many(matches) => matches.is_empty(),
            };
            if strict && empty {
                anyhow::bail!("nothing at `{path}` in session `{id}`");
            }
            print_found(out, &found, paths)?;
            super::release(found);
            super::release(whole);
            Ok(())
        }
        StateCommand::Set {
            id,
            path,
            value,
            json_value,
            write,
        } => {
            let value = value_argument(value, json_value)?;
            let applied = edit(context, &id, &path, &write, Edit::Set(&value))?;
            report_write(out, &applied)
        }
        StateCommand::Merge {
            id,
            path,
            data,
            write,
        } => {
            let data = parse_object(&data, "--data")?;
            let applied = edit(context, &id, &path, &write, Edit::Merge(&data))?;
            report_write(out, &applied)
        }
        StateCommand::Delete { id, path, force } => {
            let write = WriteArgs {
                create: false,
                force,
            };
            let applied = edit(context, &id, &path, &write, Edit::Delete)?;
            report_write(out, &applied)
        }
        StateCommand::Append {
            id,
            path,
            value,
            json_value,
            write,
        } => {
            let value = value_argument(value, json_value)?;
            let applied = edit(context, &id, &path, &write, Edit::Append(&value))?;
            report_write(out, &applied)
        }
        StateCommand::Increment {
            id,
            path,
            by,
            write,
        } => {
            let by: Number = match parse_json(&by, "--by")? {
                Value::Number(by) => by,
                other => anyhow::bail!("`--by` must be a number, not `{other}`"),
            };
            let applied = edit(context, &id, &path, &write, Edit::Increment(&by))?;
            if out.json() {
                report_write(out, &applied)
            } else {
                for value in &applied.values {
                    out.value(value)?;
                }
                Ok(())
            }
        }
        StateCommand::ListSessions => {
            let ids: Vec<String> = context
                .store()?
                .ids()?
                .into_iter()
                .map(|id| id.to_string())
                .collect();
            if out.json() {
                out.json_line(&json!(ids))?;
            } else {
                for id in ids {
                    out.line(&id)?;
                }
            }
            Ok(())
        }
        StateCommand::CleanupExpired { dry_run } => cleanup_expired(context, out, dry_run),
        StateCommand::Watch { id, path, interval } => {
            let id = SessionId::parse(&id)?;
            let parsed = parse_path(context, &path)?;
            let interval = config::parse_duration(&interval).context("invalid `--interval`")?;
            watch(context, out, &id, &path, &parsed, interval)
        }
    }
}

/// Parse a dot path or a JSONPath, giving a JSONPath the configured budget
/// (`query.max_nodes`).
fn parse_path(context: &Context, raw: &str) -> anyhow::Result<DocPath> {
    let path = DocPath::parse(raw)?;
    if !path.is_query() {
        return Ok(path);
    }
    Ok(path.with_max_nodes(context.config()?.query_max_nodes()))
}

/// The VALUE argument: a string, or JSON with `--json-value`.
fn value_argument(raw: String, json_value: bool) -> anyhow::Result<Value> {
    if json_value {
        parse_json(&raw, "--json-value")
    } else {
        Ok(Value::String(raw))
    }
}

/// Apply `edit` at `path` in session `id` (created with `--create`), in the core.
fn edit(
    context: &Context,
    id: &str,
    path: &str,
    write: &WriteArgs,
    edit: Edit<'_>,
) -> anyhow::Result<Applied> {
    let id = SessionId::parse(id)?;
    let path = parse_path(context, path)?;
    let project = context
        .default_project()
        .unwrap_or_else(|| "project".to_owned());
    let options = EditOptions {
        create: write.create.then_some(project.as_str()),
        force: write.force.force,
    };
    Ok(sessions::edit_state(
        context.core()?,
        &id,
        &path,
        edit,
        options,
    )?)
}

fn report_write(out: &mut Output, applied: &Applied) -> anyhow::Result<()> {
    if out.json() {
        let mut report = json!({"success": true, "changed": applied.changed,
                                "matched": applied.matched});
        if !applied.values.is_empty() {
            report["values"] = json!(applied.values);
        }
        if let [value] = applied.values.as_slice() {
            report["value"] = value.clone();
        }
        out.json_line(&report)?;
    }
    Ok(())
}

/// What a path names in a document: one value for a dot path, the matches of a JSONPath.
enum Lookup<'a> {
    One(Option<&'a Value>),
    Many(Selected<'a>),
}

/// Look `path` up in the document `text`, parsing only what a JSONPath needs (see
/// `select`); a dot path parses the document into `whole`.
fn look_up<'a>(
    raw_path: &str,
    path: &DocPath,
    text: &'a str,
    whole: &'a mut Option<Value>,
) -> anyhow::Result<Lookup<'a>> {
    if path.is_query() {
        let max_nodes = path.max_nodes();
        return Ok(Lookup::Many(select::select(
            raw_path, text, whole, max_nodes,
        )?));
    }
    let document: &'a Value =
        whole.insert(serde_json::from_str(text).context("the session document is not valid JSON")?);
    match path.find(document)? {
        Found::One(value) => Ok(Lookup::One(value)),
        Found::Many(_) => unreachable!("a dot path names one place"),
    }
}

impl Lookup<'_> {
    /// The value as `watch` compares and prints it: a JSONPath's matches as an array.
    fn to_value(&self) -> Value {
        match self {
            Lookup::One(value) => value.cloned().unwrap_or(Value::Null),
            Lookup::Many(matches) => Value::Array(
                matches
                    .iter()
                    .map(|(_, value)| value.as_ref().clone())
                    .collect(),
            ),
        }
    }
}

/// Print a lookup: a dot path's value (`null` when missing), a JSONPath's matches as an array,
/// with their normalized paths when asked.
fn print_found(out: &mut Output, found: &Lookup<'_>, with_paths: bool) -> anyhow::Result<()> {
    match found {
        Lookup::One(value) => out.value(value.unwrap_or(&Value::Null))?,
        Lookup::Many(matches) => out.matches(matches, with_paths)?,
    }
    Ok(())
}

/// Print the matches of a JSONPath as a JSON array, of values or of `{path, value}`.
fn cleanup_expired(context: &Context, out: &mut Output, dry_run: bool) -> anyhow::Result<()> {
    let store = context.store()?;
    let now = context.now;
    // A document whose expiry cannot be read is reported and skipped, never removed.
    let expired = |document: &Value| -> anyhow::Result<bool> {
        let raw = match document.pointer("/session/lifecycle/expiry") {
            Some(Value::String(raw)) => raw,
            Some(other) => anyhow::bail!("its `session.lifecycle.expiry` is not a time: {other}"),
            None => anyhow::bail!("it has no `session.lifecycle.expiry`"),
        };
        Ok(now > session::parse_time(raw)?)
    };
    let mut removed = Vec::new();
    let mut skipped = Vec::new();
    for id in store.ids()? {
        let verdict = store
            .try_read(&id)
            .and_then(|document| document.map(|document| expired(&document)).transpose());
        match verdict {
            Ok(Some(true)) => {}
            Ok(Some(false) | None) => continue,
            Err(err) => {
                skipped.push((id, format!("{err:#}")));
                continue;
            }
        }
        if !dry_run {
            // Look again under the lock: a heartbeat may have landed since. A session whose
            // lock is held too long is reported and skipped like an unreadable one.
            let gone = store.transact(&id, |current| match current {
                Some(document) if expired(&document).unwrap_or(false) => {
                    Ok((Outcome::Remove, true))
                }
                _ => Ok((Outcome::Unchanged, false)),
            });
            match gone {
                Ok(true) => {}
                Ok(false) => continue,
                Err(err) => {
                    skipped.push((id, format!("{err:#}")));
                    continue;
                }
            }
        }
        removed.push(id);
    }
    for (id, reason) in &skipped {
        warn(&format!("skipped session `{id}`: {reason}"));
    }
    if out.json() {
        let skipped: Vec<Value> = skipped
            .iter()
            .map(|(id, reason)| json!({"id": id.as_str(), "reason": reason}))
            .collect();
        let removed: Vec<&str> = removed.iter().map(SessionId::as_str).collect();
        out.json_line(&json!({"dry_run": dry_run, "removed": removed, "skipped": skipped}))?;
    } else {
        let verb = if dry_run { "would remove" } else { "removed" };
        for id in &removed {
            out.line(&format!("{verb} {id}"))?;
        }
    }
    Ok(())
}

/// Print the value at `path` now and whenever it changes, until interrupted.
fn watch(
    context: &Context,
    out: &mut Output,
    id: &SessionId,
    raw_path: &str,
    path: &DocPath,
    interval: Duration,
) -> anyhow::Result<()> {
    let store = context.store()?;
    let mut last: Option<Value> = None;
    loop {
        let text = store.read_text(id)?;
        let mut whole = None;
        let current = look_up(raw_path, path, &text, &mut whole)
            .map_err(|err| bounds::explain(&store.document_path(id), err))?
            .to_value();
        if last.as_ref() != Some(&current) {
            if out.json() {
                out.json_line(&current)?;
            } else {
                out.value(&current)?;
            }
            out.flush()?;
            last = Some(current);
        }
        std::thread::sleep(interval);
    }
}
