//! Export and import: the whole tracker as JSON lines, one object per line in a stable order,
//! and back in one transaction.
//!
//! Import holds every line to the rules that creating the same record would: a file that
//! `task create`, `sprint create`, `decide` or the `shared` commands could not have produced
//! is refused whole, with the line that breaks a rule, before the tracker is opened for
//! writing (so a bad file in a fresh project creates no database). The references between
//! records (parents, dependencies, sprints) are checked against the tracker as it is merged
//! with the file, once before writing and again inside the write transaction.
//!
//! Export never repairs what it reads: a stored JSON column that does not parse is refused
//! as internal damage, naming the record, rather than written out as something else.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::BufRead;

use rusqlite::{Connection, OptionalExtension as _, Transaction, params};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::items::{self, COLUMNS, Item};
use super::model::{Kind, Priority, Status};
use super::tasks::{MAX_ESTIMATE_HOURS, check_estimate, check_text};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::session::format_time;

/// The version of the line format. New line types are backward compatible (an older file
/// still imports); only a change to an existing line's shape bumps it.
pub const FORMAT_VERSION: u32 = 1;

/// The sprint statuses.
const SPRINT_STATUSES: [&str; 4] = ["planned", "active", "completed", "cancelled"];

/// The most days a sprint lasts, as `sprint create` allows.
const MAX_SPRINT_DAYS: i64 = 366;

/// The longest line `import` reads, in bytes without its line ending: 1 MiB, ten times the
/// longest text one field may hold. A longer line is refused, naming it, before anything
/// changes, and is never held in memory whole (at most this many bytes of it are read).
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// What an import loaded: items and sprints, decisions, memory entries, configurations and
/// tools written (new or replaced), and the rest added (a record already there is not
/// counted again).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    pub items: u64,
    pub dependencies: u64,
    pub checkpoints: u64,
    pub comments: u64,
    pub events: u64,
    pub decisions: u64,
    pub memory: u64,
    pub sprints: u64,
    pub sprint_items: u64,
    pub time_entries: u64,
    pub configs: u64,
    pub tools: u64,
}

/// Write the whole tracker, one JSON object per line, to `emit`: the header, then items,
/// dependencies, checkpoints, comments, history, sprints and their items, time entries,
/// decisions, memory, project configurations and tools, each in a stable order.
///
/// A read: it opens the tracker read-only (a project without one exports just the header
/// and creates nothing), in one transaction so the lines agree with each other. The outer
/// result is the tracker's; the inner one is `emit`'s first failure (such as a closed pipe),
/// which stops the export.
pub fn export<E>(
    cx: &Context,
    mut emit: impl FnMut(&Value) -> std::result::Result<(), E>,
) -> Result<std::result::Result<(), E>> {
    let db = cx.tracker_for_reads()?;
    let tx = db.conn().unchecked_transaction()?;
    let mut failed = None;
    let written = write_lines(&tx, &mut |value| match emit(&value) {
        Ok(()) => Ok(()),
        Err(err) => {
            failed = Some(err);
            Err(Error::internal("the output was closed"))
        }
    });
    match (written, failed) {
        (_, Some(err)) => Ok(Err(err)),
        (Err(err), None) => Err(err),
        (Ok(()), None) => Ok(Ok(())),
    }
}

/// A stored JSON column, parsed; one that does not parse is damage, named by `record`.
fn stored_json(text: &str, record: &str, column: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|err| {
        Error::internal(format!(
            "{record} has a `{column}` column that is not valid JSON ({err}); \
             the export stops rather than lose it"
        ))
        .with_hint("repair the value in `orchestron.db` with `sqlite3`, then export again")
    })
}

fn write_lines(conn: &Connection, line: &mut dyn FnMut(Value) -> Result<()>) -> Result<()> {
    line(json!({"type": "orchestron-export", "version": FORMAT_VERSION}))?;

    let mut statement = conn.prepare(&format!(
        "SELECT {COLUMNS}, seq, v2_key, data FROM items ORDER BY seq"
    ))?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let item = Item::from_row(row)?;
        let seq: i64 = row.get(18)?;
        let v2_key: Option<String> = row.get(19)?;
        let data: String = row.get(20)?;
        let data = stored_json(&data, &format!("item `{}`", item.id), "data")?;
        let mut value = item.to_json(&items::labels(conn, &item.id)?);
        value["type"] = json!("item");
        value["kind"] = json!(item.kind.as_str());
        value["seq"] = json!(seq);
        if let Some(v2_key) = v2_key {
            value["v2_id"] = json!(v2_key);
        }
        let files = items::files(conn, &item.id)?;
        if !files.is_empty() {
            value["files"] = json!(files);
        }
        if data.as_object().is_none_or(|data| !data.is_empty()) {
            value["data"] = data;
        }
        line(value)?;
    }

    let mut statement =
        conn.prepare("SELECT item, depends_on FROM deps ORDER BY item, depends_on")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let (item, on): (String, String) = (row.get(0)?, row.get(1)?);
        line(json!({"type": "dependency", "item": item, "depends_on": on}))?;
    }

    let mut statement =
        conn.prepare("SELECT item, text, done, at, done_at FROM checkpoints ORDER BY id")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        line(
            json!({"type": "checkpoint", "item": row.get::<_, String>(0)?,
            "text": row.get::<_, String>(1)?, "done": row.get::<_, bool>(2)?,
            "at": row.get::<_, String>(3)?, "done_at": row.get::<_, Option<String>>(4)?}),
        )?;
    }

    let mut statement =
        conn.prepare("SELECT item, kind, text, at, by FROM comments ORDER BY id")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        line(json!({"type": "comment", "item": row.get::<_, String>(0)?,
            "kind": row.get::<_, String>(1)?, "text": row.get::<_, String>(2)?,
            "at": row.get::<_, String>(3)?, "by": row.get::<_, Option<String>>(4)?}))?;
    }

    let mut statement =
        conn.prepare("SELECT id, item, at, what, detail, session FROM events ORDER BY id")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        let item: String = row.get(1)?;
        let detail = match row.get::<_, Option<String>>(4)? {
            Some(text) => stored_json(&text, &format!("event {id} of `{item}`"), "detail")?,
            None => Value::Null,
        };
        line(json!({"type": "event", "item": item,
            "at": row.get::<_, String>(2)?, "what": row.get::<_, String>(3)?,
            "detail": detail, "session": row.get::<_, Option<String>>(5)?}))?;
    }

    let mut statement = conn.prepare(
        "SELECT id, name, goal, status, project, start_date, duration_days, epic, v2_key, data, \
         created_at, started_at, completed_at FROM sprints ORDER BY seq",
    )?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let id: String = row.get(0)?;
        let data: String = row.get(9)?;
        line(json!({
            "type": "sprint",
            "id": id,
            "name": row.get::<_, String>(1)?,
            "goal": row.get::<_, String>(2)?,
            "status": row.get::<_, String>(3)?,
            "project": row.get::<_, String>(4)?,
            "start_date": row.get::<_, Option<String>>(5)?,
            "duration_days": row.get::<_, i64>(6)?,
            "epic": row.get::<_, Option<String>>(7)?,
            "v2_id": row.get::<_, Option<String>>(8)?,
            "data": stored_json(&data, &format!("sprint `{id}`"), "data")?,
            "created_at": row.get::<_, String>(10)?,
            "started_at": row.get::<_, Option<String>>(11)?,
            "completed_at": row.get::<_, Option<String>>(12)?,
        }))?;
    }

    let mut statement =
        conn.prepare("SELECT sprint, item, added_at FROM sprint_items ORDER BY sprint, item")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        line(
            json!({"type": "sprint_item", "sprint": row.get::<_, String>(0)?,
            "item": row.get::<_, String>(1)?, "added_at": row.get::<_, String>(2)?}),
        )?;
    }

    let mut statement = conn.prepare(
        "SELECT item, started_at, stopped_at, hours, note, session FROM time_entries ORDER BY id",
    )?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        line(json!({"type": "time", "item": row.get::<_, String>(0)?,
            "started_at": row.get::<_, String>(1)?, "stopped_at": row.get::<_, Option<String>>(2)?,
            "hours": row.get::<_, Option<f64>>(3)?, "note": row.get::<_, Option<String>>(4)?,
            "session": row.get::<_, Option<String>>(5)?}))?;
    }

    let mut statement = conn.prepare(
        "SELECT id, title, rationale, alternatives, pros, cons, item, project, session, \
         created_at, seq, severity, approved_at, approval_feedback FROM decisions ORDER BY seq",
    )?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let id: String = row.get(0)?;
        let record = format!("decision `{id}`");
        let list = |i: usize, column: &str| -> Result<Value> {
            stored_json(&row.get::<_, String>(i)?, &record, column)
        };
        let mut value = json!({
            "type": "decision",
            "id": id,
            "title": row.get::<_, String>(1)?,
            "rationale": row.get::<_, String>(2)?,
            "alternatives": list(3, "alternatives")?,
            "pros": list(4, "pros")?,
            "cons": list(5, "cons")?,
            "task": row.get::<_, Option<String>>(6)?,
            "project": row.get::<_, String>(7)?,
            "session": row.get::<_, Option<String>>(8)?,
            "created_at": row.get::<_, String>(9)?,
            "seq": row.get::<_, i64>(10)?,
        });
        for (index, key) in [
            (11, "severity"),
            (12, "approved_at"),
            (13, "approval_feedback"),
        ] {
            if let Some(text) = row.get::<_, Option<String>>(index)? {
                value[key] = json!(text);
            }
        }
        line(value)?;
    }

    let mut statement = conn.prepare(
        "SELECT kind, key, description, confidence, details, project, session, created_at, \
         updated_at FROM memory ORDER BY kind, key",
    )?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let (kind, key): (String, String) = (row.get(0)?, row.get(1)?);
        let details: String = row.get(4)?;
        let details = stored_json(&details, &format!("memory `{kind}/{key}`"), "details")?;
        line(json!({
            "type": "memory",
            "kind": kind,
            "key": key,
            "description": row.get::<_, String>(2)?,
            "confidence": row.get::<_, f64>(3)?,
            "details": details,
            "project": row.get::<_, String>(5)?,
            "session": row.get::<_, Option<String>>(6)?,
            "created_at": row.get::<_, String>(7)?,
            "updated_at": row.get::<_, String>(8)?,
        }))?;
    }

    let mut statement =
        conn.prepare("SELECT project, data, created_at, updated_at FROM configs ORDER BY project")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let project: String = row.get(0)?;
        let data: String = row.get(1)?;
        let data = stored_json(&data, &format!("the configuration of `{project}`"), "data")?;
        line(json!({
            "type": "config",
            "project": project,
            "data": data,
            "created_at": row.get::<_, String>(2)?,
            "updated_at": row.get::<_, String>(3)?,
        }))?;
    }

    let mut statement = conn.prepare(
        "SELECT name, type, version, description, path, dependencies, config, registered_at, \
         updated_at FROM tools ORDER BY name",
    )?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let name: String = row.get(0)?;
        let record = format!("tool `{name}`");
        let dependencies = stored_json(&row.get::<_, String>(5)?, &record, "dependencies")?;
        let config = stored_json(&row.get::<_, String>(6)?, &record, "config")?;
        line(json!({
            "type": "tool",
            "name": name,
            "kind": row.get::<_, String>(1)?,
            "version": row.get::<_, Option<String>>(2)?,
            "description": row.get::<_, Option<String>>(3)?,
            "path": row.get::<_, Option<String>>(4)?,
            "dependencies": dependencies,
            "config": config,
            "registered_at": row.get::<_, String>(7)?,
            "updated_at": row.get::<_, String>(8)?,
        }))?;
    }
    Ok(())
}

/// Load an export: every line checked first (its own fields, then its references against
/// the tracker merged with the file), then everything written in one transaction. Items,
/// sprints, decisions, memory entries, configurations and tools are replaced by their key;
/// the rest is added unless already there, so importing a file twice changes nothing the
/// second time. Blank lines are skipped; a line longer than [`MAX_LINE_BYTES`] is refused.
pub fn import(cx: &Context, input: &mut dyn BufRead) -> Result<ImportSummary> {
    let now = format_time(cx.now());
    let lines = read_lines(input)?;
    // Before anything is created: the references, against what the tracker holds now.
    {
        let db = cx.tracker_for_reads()?;
        check_references(&Facts::read(db.conn())?, &lines)?;
    }
    let mut db = cx.tracker()?;
    db.write(|tx| -> Result<ImportSummary> {
        // Parents may come after their children in a file written by hand; every reference
        // is checked above and again here, so the keys are checked at commit.
        tx.pragma_update(None, "defer_foreign_keys", true)?;
        check_references(&Facts::read(tx)?, &lines)?;
        let mut summary = ImportSummary::default();
        for line in &lines {
            apply(tx, line, &now, &mut summary).map_err(|err| at_line(line.number, err))?;
        }
        renumber(tx)?;
        items::recount_open_deps(tx)?;
        Ok(summary)
    })
}

/// One checked line of an import.
#[derive(Debug)]
struct Line {
    number: usize,
    kind: LineKind,
    value: Map<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineKind {
    Header,
    Item,
    Dependency,
    Checkpoint,
    Comment,
    Event,
    Sprint,
    SprintItem,
    Time,
    Decision,
    Memory,
    Config,
    Tool,
}

/// The same error, saying which line of the file it is about.
fn at_line(number: usize, err: Error) -> Error {
    let hint = err.hint().map(str::to_owned);
    let error = Error::new(err.kind(), format!("line {number}: {}", err.message()));
    match hint {
        Some(hint) => error.with_hint(hint),
        None => error,
    }
}

/// Every line of the input, each checked on its own.
fn read_lines(input: &mut dyn BufRead) -> Result<Vec<Line>> {
    let mut lines = Vec::new();
    let mut raw = Vec::new();
    for number in 1.. {
        raw.clear();
        if !read_line(input, &mut raw, number)? {
            break;
        }
        let text = std::str::from_utf8(&raw)
            .map_err(|err| Error::invalid(format!("line {number} is not UTF-8: {err}")))?;
        if text.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(text)
            .map_err(|err| Error::invalid(format!("line {number} is not JSON: {err}")))?;
        let Value::Object(value) = value else {
            return Err(Error::invalid(format!(
                "line {number} is not a JSON object"
            )));
        };
        let kind = check_line(&value).map_err(|err| at_line(number, err))?;
        lines.push(Line {
            number,
            kind,
            value,
        });
    }
    Ok(lines)
}

/// Read line `number` into `raw`, without its `\n` or `\r\n`; `false` at the end of the
/// input. A line longer than [`MAX_LINE_BYTES`] is refused once that many bytes (and one
/// for a `\r`) are read, without reading the rest of it.
fn read_line(input: &mut dyn BufRead, raw: &mut Vec<u8>, number: usize) -> Result<bool> {
    let too_long = || {
        Error::invalid(format!(
            "line {number} is longer than {MAX_LINE_BYTES} bytes, the longest line import reads"
        ))
        .with_hint("`orchestron export` writes one record per line, none that long")
    };
    let mut any = false;
    loop {
        let buffer = match input.fill_buf() {
            Ok(buffer) => buffer,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => {
                return Err(Error::internal(format!(
                    "cannot read line {number} of the import: {err}"
                )));
            }
        };
        if buffer.is_empty() {
            break;
        }
        any = true;
        let newline = buffer.iter().position(|byte| *byte == b'\n');
        let chunk = &buffer[..newline.unwrap_or(buffer.len())];
        if raw.len() + chunk.len() > MAX_LINE_BYTES + 1 {
            return Err(too_long());
        }
        raw.extend_from_slice(chunk);
        let used = chunk.len() + usize::from(newline.is_some());
        input.consume(used);
        if newline.is_some() {
            break;
        }
    }
    if raw.last() == Some(&b'\r') {
        raw.pop();
    }
    if raw.len() > MAX_LINE_BYTES {
        return Err(too_long());
    }
    Ok(any)
}

/// The fields of one line, read with messages that name the field.
struct Fields<'a>(&'a Map<String, Value>);

impl<'a> Fields<'a> {
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.0.get(key).filter(|value| !value.is_null())
    }

    /// A string that must be there and not blank.
    fn text(&self, key: &str) -> Result<&'a str> {
        match self.get(key) {
            Some(Value::String(text)) => {
                check_text(&format!("`{key}`"), text)?;
                Ok(text)
            }
            Some(_) => Err(Error::invalid(format!("`{key}` must be a string"))),
            None => Err(Error::invalid(format!("`{key}` is missing"))),
        }
    }

    /// A string or null; when there, not blank.
    fn optional_text(&self, key: &str) -> Result<Option<&'a str>> {
        match self.get(key) {
            None => Ok(None),
            Some(_) => self.text(key).map(Some),
        }
    }

    /// A string or null, possibly empty (descriptions, notes).
    fn any_text(&self, key: &str) -> Result<Option<&'a str>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(text)) if text.len() <= 100_000 => Ok(Some(text)),
            Some(Value::String(text)) => Err(Error::invalid(format!(
                "`{key}` is {} bytes long; at most 100000",
                text.len()
            ))),
            Some(_) => Err(Error::invalid(format!("`{key}` must be a string or null"))),
        }
    }

    /// An RFC 3339 time with an offset, or null.
    fn time(&self, key: &str) -> Result<Option<&'a str>> {
        let Some(raw) = self.any_text(key)? else {
            return Ok(None);
        };
        raw.parse::<jiff::Timestamp>().map_err(|_| {
            Error::invalid(format!(
                "`{key}` must be an RFC 3339 time such as `2026-01-01T12:00:00Z`, not `{raw}`"
            ))
        })?;
        Ok(Some(raw))
    }

    /// An RFC 3339 time that must be there.
    fn required_time(&self, key: &str) -> Result<&'a str> {
        self.time(key)?
            .ok_or_else(|| Error::invalid(format!("`{key}` is missing")))
    }

    fn integer(&self, key: &str) -> Result<Option<i64>> {
        match self.get(key) {
            None => Ok(None),
            Some(value) => value
                .as_i64()
                .map(Some)
                .ok_or_else(|| Error::invalid(format!("`{key}` must be a whole number"))),
        }
    }

    fn number(&self, key: &str) -> Result<Option<f64>> {
        match self.get(key) {
            None => Ok(None),
            Some(value) => value
                .as_f64()
                .map(Some)
                .ok_or_else(|| Error::invalid(format!("`{key}` must be a number"))),
        }
    }

    fn boolean(&self, key: &str) -> Result<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(value) => value
                .as_bool()
                .map(Some)
                .ok_or_else(|| Error::invalid(format!("`{key}` must be true or false"))),
        }
    }

    fn object(&self, key: &str) -> Result<Option<&'a Map<String, Value>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(map)),
            Some(_) => Err(Error::invalid(format!("`{key}` must be a JSON object"))),
        }
    }

    fn array(&self, key: &str) -> Result<Option<&'a Vec<Value>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(list)) => Ok(Some(list)),
            Some(_) => Err(Error::invalid(format!("`{key}` must be a JSON array"))),
        }
    }

    /// An array of strings, or null; with `blank`, a string may be empty.
    fn strings(&self, key: &str, blank: bool) -> Result<Vec<&'a str>> {
        let mut found = Vec::new();
        for value in self.array(key)?.into_iter().flatten() {
            match value {
                Value::String(text) => {
                    if !blank {
                        check_text(&format!("each of `{key}`"), text)?;
                    }
                    found.push(text.as_str());
                }
                _ => {
                    return Err(Error::invalid(format!("`{key}` must hold strings only")));
                }
            }
        }
        Ok(found)
    }

    /// An id `PREFIX-suffix` as Orchestron makes them: the prefix, a dash, and lowercase
    /// letters and digits (see `items::fresh_id`).
    fn id(&self, key: &str, prefixes: &[&str]) -> Result<&'a str> {
        let id = self.text(key)?;
        check_id(key, id, prefixes)?;
        Ok(id)
    }

    fn optional_id(&self, key: &str, prefixes: &[&str]) -> Result<Option<&'a str>> {
        match self.get(key) {
            None => Ok(None),
            Some(_) => self.id(key, prefixes).map(Some),
        }
    }
}

/// Whether `id` is `PREFIX-suffix` with one of `prefixes` and a suffix of lowercase letters
/// and digits: nothing shaped like a path, no other kind's prefix.
fn check_id(key: &str, id: &str, prefixes: &[&str]) -> Result<()> {
    let fits = id.split_once('-').is_some_and(|(prefix, suffix)| {
        prefixes.contains(&prefix)
            && (1..=64).contains(&suffix.len())
            && suffix
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    });
    if !fits {
        let shapes: Vec<String> = prefixes.iter().map(|p| format!("`{p}-…`")).collect();
        return Err(Error::invalid(format!(
            "`{key}` `{id}` is not an id of the right shape: {} followed by lowercase letters \
             and digits",
            shapes.join(" or ")
        )));
    }
    Ok(())
}

/// Check one line on its own: its type and every field that the command creating the same
/// record checks.
fn check_line(value: &Map<String, Value>) -> Result<LineKind> {
    let fields = Fields(value);
    let kind = match fields.text("type")? {
        "orchestron-export" => {
            let version = fields.get("version").and_then(Value::as_u64).unwrap_or(0);
            if version != u64::from(FORMAT_VERSION) {
                return Err(Error::invalid(format!(
                    "export format version {version}; this orchestron reads {FORMAT_VERSION}"
                ))
                .with_hint("import it with the orchestron that exported it, or a newer one"));
            }
            LineKind::Header
        }
        "item" => {
            let kind: Kind = parse(fields.text("kind")?, "kind")?;
            let id = fields.id("id", &[kind.as_str()])?;
            if let Some(parent) = fields.optional_id("parent", &Kind::NAMES)?
                && parent == id
            {
                return Err(Error::invalid(format!("`{id}` is its own parent")));
            }
            fields.text("title")?;
            parse::<Status>(fields.text("status")?, "status")?;
            parse::<Priority>(fields.text("priority")?, "priority")?;
            fields.any_text("description")?;
            fields.any_text("notes")?;
            check_estimate(fields.number("estimate")?).map_err(|_| {
                Error::invalid(format!(
                    "`estimate` must be a number of hours from 0 to {MAX_ESTIMATE_HOURS}, not {}",
                    fields.get("estimate").map_or(Value::Null, Clone::clone)
                ))
            })?;
            if let Some(progress) = fields.integer("progress")?
                && !(0..=100).contains(&progress)
            {
                return Err(Error::invalid(format!(
                    "`progress` must be 0 to 100, not {progress}"
                )));
            }
            fields.optional_text("assignee")?;
            fields.optional_text("blocked_reason")?;
            fields.optional_text("project")?;
            fields.optional_text("session")?;
            fields.optional_text("v2_id")?;
            for key in ["created_at", "updated_at", "started_at", "completed_at"] {
                fields.time(key)?;
            }
            if let Some(seq) = fields.integer("seq")?
                && seq < 1
            {
                return Err(Error::invalid(format!(
                    "`seq` must be 1 or more, not {seq}"
                )));
            }
            fields.strings("labels", false)?;
            crate::tracker::tasks::check_files(&fields.strings("files", false)?)?;
            LineKind::Item
        }
        "dependency" => {
            let item = fields.id("item", &Kind::NAMES)?;
            let on = fields.id("depends_on", &Kind::NAMES)?;
            if item == on {
                return Err(Error::invalid(format!("`{item}` cannot depend on itself")));
            }
            LineKind::Dependency
        }
        "checkpoint" => {
            fields.id("item", &Kind::NAMES)?;
            fields.text("text")?;
            fields.boolean("done")?;
            fields.time("at")?;
            fields.time("done_at")?;
            LineKind::Checkpoint
        }
        "comment" => {
            fields.id("item", &Kind::NAMES)?;
            if let Some(kind) = fields.optional_text("kind")?
                && !["clarification", "feedback"].contains(&kind)
            {
                return Err(Error::invalid(format!(
                    "`kind` must be `clarification` or `feedback`, not `{kind}`"
                )));
            }
            fields.text("text")?;
            fields.time("at")?;
            fields.optional_text("by")?;
            LineKind::Comment
        }
        "event" => {
            // The history outlives a purged item, so the item need not exist.
            fields.id("item", &Kind::NAMES)?;
            fields.time("at")?;
            fields.optional_text("what")?;
            fields.optional_text("session")?;
            LineKind::Event
        }
        "sprint" => {
            fields.id("id", &["SPRINT"])?;
            fields.text("name")?;
            fields.any_text("goal")?;
            let status = fields.text("status")?;
            if !SPRINT_STATUSES.contains(&status) {
                return Err(Error::invalid(format!(
                    "unknown sprint status `{status}`; one of {}",
                    SPRINT_STATUSES.join(", ")
                )));
            }
            fields.optional_text("project")?;
            if let Some(start) = fields.optional_text("start_date")? {
                check_date(start)?;
            }
            if let Some(days) = fields.integer("duration_days")?
                && !(1..=MAX_SPRINT_DAYS).contains(&days)
            {
                return Err(Error::invalid(format!(
                    "`duration_days` must be 1 to {MAX_SPRINT_DAYS}, not {days}"
                )));
            }
            fields.optional_id("epic", &Kind::NAMES)?;
            fields.optional_text("v2_id")?;
            for key in ["created_at", "started_at", "completed_at"] {
                fields.time(key)?;
            }
            LineKind::Sprint
        }
        "sprint_item" => {
            fields.id("sprint", &["SPRINT"])?;
            fields.id("item", &Kind::NAMES)?;
            fields.time("added_at")?;
            LineKind::SprintItem
        }
        "time" => {
            fields.id("item", &Kind::NAMES)?;
            fields.required_time("started_at")?;
            fields.time("stopped_at")?;
            if let Some(hours) = fields.number("hours")?
                && !(hours.is_finite() && (0.0..=MAX_ESTIMATE_HOURS).contains(&hours))
            {
                return Err(Error::invalid(format!(
                    "`hours` must be from 0 to {MAX_ESTIMATE_HOURS}, not {hours}"
                )));
            }
            fields.any_text("note")?;
            fields.optional_text("session")?;
            LineKind::Time
        }
        "decision" => {
            fields.id("id", &["DEC"])?;
            fields.text("title")?;
            fields.any_text("rationale")?;
            for key in ["alternatives", "pros", "cons"] {
                fields.strings(key, true)?;
            }
            fields.optional_id("task", &Kind::NAMES)?;
            fields.optional_text("project")?;
            fields.optional_text("session")?;
            fields.time("created_at")?;
            if let Some(severity) = fields.optional_text("severity")?
                && crate::tracker::model::Severity::parse(severity).is_none()
            {
                return Err(Error::invalid(format!(
                    "`severity` must be low, medium or high, not `{severity}`"
                )));
            }
            if fields.optional_text("approved_at")?.is_some() {
                fields.time("approved_at")?;
            }
            fields.optional_text("approval_feedback")?;
            LineKind::Decision
        }
        "memory" => {
            fields.text("kind")?;
            fields.text("key")?;
            fields.any_text("description")?;
            if let Some(confidence) = fields.number("confidence")?
                && !(0.0..=1.0).contains(&confidence)
            {
                return Err(Error::invalid(format!(
                    "`confidence` must be between 0 and 1, not {confidence}"
                )));
            }
            fields.array("details")?;
            fields.optional_text("project")?;
            fields.optional_text("session")?;
            fields.time("created_at")?;
            fields.time("updated_at")?;
            LineKind::Memory
        }
        "config" => {
            fields.text("project")?;
            if fields.object("data")?.is_none() {
                return Err(Error::invalid("`data` is missing"));
            }
            fields.time("created_at")?;
            fields.time("updated_at")?;
            LineKind::Config
        }
        "tool" => {
            fields.text("name")?;
            if fields.any_text("kind")?.is_none() {
                return Err(Error::invalid("`kind` is missing"));
            }
            fields.any_text("version")?;
            fields.any_text("description")?;
            fields.any_text("path")?;
            fields.array("dependencies")?;
            fields.object("config")?;
            fields.time("registered_at")?;
            fields.time("updated_at")?;
            LineKind::Tool
        }
        other => {
            return Err(Error::invalid(format!("unknown line type `{other}`")));
        }
    };
    Ok(kind)
}

fn parse<T: std::str::FromStr<Err = anyhow::Error>>(raw: &str, key: &str) -> Result<T> {
    raw.parse()
        .map_err(|err: anyhow::Error| Error::invalid(format!("`{key}`: {err}")))
}

/// A sprint's start: a calendar date written `YYYY-MM-DD`, as `sprint create --start` takes.
fn check_date(raw: &str) -> Result<()> {
    let shaped = raw.len() == 10
        && raw.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shaped || raw.parse::<jiff::civil::Date>().is_err() {
        return Err(Error::invalid(format!(
            "`start_date` must be a date such as 2026-11-23, not `{raw}`"
        )));
    }
    Ok(())
}

/// What the references of a file are checked against: the items (kind and parent), the
/// dependencies and the sprints of the tracker, each known by the line that wrote it, if any.
#[derive(Debug, Default)]
struct Facts {
    items: HashMap<String, (Kind, Option<String>, Option<usize>)>,
    dependencies: Vec<(String, String, Option<usize>)>,
    sprints: HashSet<String>,
}

impl Facts {
    fn read(conn: &Connection) -> Result<Facts> {
        let mut facts = Facts::default();
        let mut statement = conn.prepare("SELECT id, kind, parent FROM items")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let id: String = row.get(0)?;
            let kind: String = row.get(1)?;
            let kind: Kind = kind.parse().map_err(|_| {
                Error::internal(format!("item `{id}` has an unknown kind `{kind}`"))
            })?;
            facts.items.insert(id, (kind, row.get(2)?, None));
        }
        let mut statement = conn.prepare("SELECT item, depends_on FROM deps")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            facts.dependencies.push((row.get(0)?, row.get(1)?, None));
        }
        let mut statement = conn.prepare("SELECT id FROM sprints")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            facts.sprints.insert(row.get(0)?);
        }
        Ok(facts)
    }
}

/// Check the references of `lines` against the tracker's `facts` merged with the file: every
/// item, sprint and parent named is there, no parent chain loops, every child's kind fits
/// under its parent's, and the dependencies make no cycle. Pure.
fn check_references(facts: &Facts, lines: &[Line]) -> Result<()> {
    let mut items = facts.items.clone();
    let mut dependencies = facts.dependencies.clone();
    let mut sprints = facts.sprints.clone();
    fn text<'a>(line: &'a Line, key: &str) -> Option<&'a str> {
        line.value.get(key).and_then(Value::as_str)
    }
    for line in lines {
        match line.kind {
            LineKind::Item => {
                let id = text(line, "id").unwrap_or_default();
                let kind: Kind = parse(text(line, "kind").unwrap_or_default(), "kind")?;
                let parent = text(line, "parent").map(str::to_owned);
                items.insert(id.to_owned(), (kind, parent, Some(line.number)));
            }
            LineKind::Sprint => {
                sprints.insert(text(line, "id").unwrap_or_default().to_owned());
            }
            LineKind::Dependency => dependencies.push((
                text(line, "item").unwrap_or_default().to_owned(),
                text(line, "depends_on").unwrap_or_default().to_owned(),
                Some(line.number),
            )),
            _ => {}
        }
    }
    let missing = |number: usize, what: &str, id: &str| {
        Error::invalid(format!(
            "line {number}: {what} `{id}` is neither in the file nor in the tracker"
        ))
    };
    for line in lines {
        let references: &[(&str, &str)] = match line.kind {
            LineKind::Dependency => &[("item", "the item"), ("depends_on", "the item")],
            LineKind::Checkpoint | LineKind::Comment | LineKind::Time => &[("item", "the item")],
            LineKind::SprintItem => &[("item", "the item")],
            LineKind::Decision => &[("task", "the item")],
            LineKind::Sprint => &[("epic", "the epic")],
            _ => &[],
        };
        for (key, what) in references {
            if let Some(id) = text(line, key)
                && !items.contains_key(id)
            {
                return Err(missing(line.number, what, id));
            }
        }
        if line.kind == LineKind::SprintItem
            && let Some(sprint) = text(line, "sprint")
            && !sprints.contains(sprint)
        {
            return Err(missing(line.number, "the sprint", sprint));
        }
    }
    // Parents, in a stable order so the same file always reports the same line.
    let ordered: BTreeMap<&String, &(Kind, Option<String>, Option<usize>)> = items.iter().collect();
    let where_ = |id: &str, number: Option<usize>| match number {
        Some(number) => format!("line {number}: "),
        None => format!("item `{id}` in the tracker: "),
    };
    for (id, (kind, parent, number)) in &ordered {
        let Some(parent) = parent else { continue };
        let Some((parent_kind, _, parent_number)) = items.get(parent) else {
            return Err(Error::invalid(format!(
                "{}the parent `{parent}` of `{id}` is neither in the file nor in the tracker",
                where_(id, *number)
            )));
        };
        let mut chain = vec![id.as_str()];
        let mut at = parent.as_str();
        while let Some((_, next, _)) = items.get(at) {
            if chain.contains(&at) {
                chain.push(at);
                return Err(Error::invalid(format!(
                    "{}the parents make a cycle: {}",
                    where_(id, number.or(*parent_number)),
                    chain.join(" → ")
                )));
            }
            chain.push(at);
            match next {
                Some(next) => at = next,
                None => break,
            }
        }
        if !kind.fits_under(*parent_kind) {
            return Err(Error::invalid(format!(
                "{}a {kind} cannot sit under `{parent}`, a {parent_kind}: a child's kind must \
                 be smaller than its parent's",
                where_(id, number.or(*parent_number))
            )));
        }
    }
    check_dependency_cycles(&dependencies)
}

/// Refuse a cycle among `dependencies` (item, what it waits for, the line that wrote it),
/// naming it and a line of the file on it.
fn check_dependency_cycles(dependencies: &[(String, String, Option<usize>)]) -> Result<()> {
    let mut waits_for: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut waiting: HashMap<&str, usize> = HashMap::new();
    let mut dependents: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut seen = HashSet::new();
    for (item, on, _) in dependencies {
        if !seen.insert((item.as_str(), on.as_str())) {
            continue;
        }
        waits_for.entry(item).or_default().push(on);
        *waiting.entry(item).or_default() += 1;
        waiting.entry(on).or_default();
        dependents.entry(on).or_default().push(item);
    }
    let mut ready: Vec<&str> = waiting
        .iter()
        .filter(|(_, count)| **count == 0)
        .map(|(id, _)| *id)
        .collect();
    while let Some(next) = ready.pop() {
        for dependent in dependents.get(next).into_iter().flatten() {
            let count = waiting.get_mut(dependent).expect("counted");
            *count -= 1;
            if *count == 0 {
                ready.push(dependent);
            }
        }
    }
    // What is left waits on something left: follow that until an item repeats.
    let stuck = |id: &str| waiting.get(id).is_some_and(|count| *count > 0);
    let Some(start) = waits_for.keys().copied().find(|id| stuck(id)) else {
        return Ok(());
    };
    let mut path = vec![start];
    let mut at = start;
    loop {
        at = waits_for[at]
            .iter()
            .copied()
            .find(|on| stuck(on))
            .expect("a stuck item waits on a stuck item");
        if let Some(from) = path.iter().position(|id| *id == at) {
            let mut cycle: Vec<&str> = path[from..].to_vec();
            cycle.push(at);
            let line = cycle.windows(2).find_map(|pair| {
                dependencies
                    .iter()
                    .find(|(item, on, _)| item == pair[0] && on == pair[1])
                    .and_then(|(_, _, number)| *number)
            });
            let place = line.map_or(String::new(), |number| format!("line {number}: "));
            return Err(Error::conflict(format!(
                "{place}the dependencies make a cycle: {}",
                cycle.join(" waits for ")
            )));
        }
        path.push(at);
    }
}

fn apply(tx: &Transaction<'_>, line: &Line, now: &str, summary: &mut ImportSummary) -> Result<()> {
    let fields = Fields(&line.value);
    let text = |key: &str| fields.get(key).and_then(Value::as_str);
    let time = |key: &str| text(key).unwrap_or(now);
    let json_text = |key: &str, empty: Value| fields.get(key).unwrap_or(&empty).to_string();
    match line.kind {
        LineKind::Header => {}
        LineKind::Item => {
            let id = text("id").unwrap_or_default();
            let existing_seq: Option<i64> = tx
                .prepare_cached("SELECT seq FROM items WHERE id = ?1")?
                .query_row([id], |row| row.get(0))
                .optional()?;
            let wanted_seq = fields.integer("seq")?;
            let seq = match (existing_seq, wanted_seq) {
                (Some(seq), _) => seq,
                (None, Some(seq))
                    if !tx
                        .prepare_cached("SELECT EXISTS (SELECT 1 FROM items WHERE seq = ?1)")?
                        .query_row([seq], |row| row.get::<_, bool>(0))? =>
                {
                    seq
                }
                _ => tx
                    .prepare_cached("SELECT COALESCE(max(seq), 0) + 1 FROM items")?
                    .query_row([], |row| row.get(0))?,
            };
            let kind: Kind = parse(text("kind").unwrap_or_default(), "kind")?;
            let status: Status = parse(text("status").unwrap_or_default(), "status")?;
            let priority: Priority = parse(text("priority").unwrap_or_default(), "priority")?;
            tx.prepare_cached(
                "INSERT INTO items (id, kind, parent, title, description, status, priority, estimate, \
                 assignee, progress, notes, blocked_reason, project, session, created_at, updated_at, \
                 started_at, completed_at, seq, topo, v2_key, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, \
                 ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?19, ?20, ?21) \
                 ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, parent = excluded.parent, \
                 title = excluded.title, description = excluded.description, status = excluded.status, \
                 priority = excluded.priority, estimate = excluded.estimate, assignee = excluded.assignee, \
                 progress = excluded.progress, notes = excluded.notes, blocked_reason = excluded.blocked_reason, \
                 project = excluded.project, session = excluded.session, created_at = excluded.created_at, \
                 updated_at = excluded.updated_at, started_at = excluded.started_at, \
                 completed_at = excluded.completed_at, v2_key = excluded.v2_key, data = excluded.data",
            )?
            .execute(params![
                id,
                kind.as_str(),
                text("parent"),
                text("title"),
                text("description").unwrap_or_default(),
                status.as_str(),
                priority.rank(),
                fields.number("estimate")?,
                text("assignee"),
                fields.integer("progress")?.unwrap_or(0),
                text("notes").unwrap_or_default(),
                text("blocked_reason"),
                text("project").unwrap_or("project"),
                text("session"),
                time("created_at"),
                time("updated_at"),
                text("started_at"),
                text("completed_at"),
                seq,
                text("v2_id"),
                json_text("data", json!({})),
            ])?;
            tx.prepare_cached("DELETE FROM labels WHERE item = ?1")?
                .execute([id])?;
            for label in fields.strings("labels", false)? {
                tx.prepare_cached("INSERT OR IGNORE INTO labels (item, label) VALUES (?1, ?2)")?
                    .execute(params![id, label])?;
            }
            tx.prepare_cached("DELETE FROM item_files WHERE item = ?1")?
                .execute([id])?;
            for pattern in fields.strings("files", false)? {
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO item_files (item, pattern) VALUES (?1, ?2)",
                )?
                .execute(params![id, pattern])?;
            }
            summary.items += 1;
        }
        LineKind::Dependency => {
            let added = tx
                .prepare_cached("INSERT OR IGNORE INTO deps (item, depends_on) VALUES (?1, ?2)")?
                .execute(params![text("item"), text("depends_on")])?;
            summary.dependencies += added as u64;
        }
        LineKind::Checkpoint => {
            let added = tx
                .prepare_cached(
                    "INSERT INTO checkpoints (item, text, done, at, done_at) SELECT ?1, ?2, ?3, ?4, ?5 \
                     WHERE NOT EXISTS (SELECT 1 FROM checkpoints WHERE item = ?1 AND text = ?2 AND at = ?4)",
                )?
                .execute(params![
                    text("item"),
                    text("text"),
                    fields.boolean("done")?.unwrap_or(false),
                    time("at"),
                    text("done_at"),
                ])?;
            summary.checkpoints += added as u64;
        }
        LineKind::Comment => {
            let added = tx
                .prepare_cached(
                    "INSERT INTO comments (item, kind, text, at, by) SELECT ?1, ?2, ?3, ?4, ?5 \
                     WHERE NOT EXISTS (SELECT 1 FROM comments WHERE item = ?1 AND kind = ?2 \
                     AND text = ?3 AND at = ?4)",
                )?
                .execute(params![
                    text("item"),
                    text("kind").unwrap_or("clarification"),
                    text("text"),
                    time("at"),
                    text("by"),
                ])?;
            summary.comments += added as u64;
        }
        LineKind::Event => {
            let detail = fields.get("detail").map(Value::to_string);
            let added = tx
                .prepare_cached(
                    "INSERT INTO events (item, at, what, detail, session) SELECT ?1, ?2, ?3, ?4, ?5 \
                     WHERE NOT EXISTS (SELECT 1 FROM events WHERE item = ?1 AND at = ?2 AND what = ?3 \
                     AND detail IS ?4 AND session IS ?5)",
                )?
                .execute(params![
                    text("item"),
                    time("at"),
                    text("what").unwrap_or("note"),
                    detail,
                    text("session"),
                ])?;
            summary.events += added as u64;
        }
        LineKind::Decision => {
            let id = text("id").unwrap_or_default();
            let seq = keep_seq(tx, "decisions", id)?;
            tx.prepare_cached(
                "INSERT INTO decisions (id, title, rationale, alternatives, pros, cons, item, project, \
                 session, created_at, seq, severity, approved_at, approval_feedback) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) \
                 ON CONFLICT(id) DO UPDATE SET title = excluded.title, rationale = excluded.rationale, \
                 alternatives = excluded.alternatives, pros = excluded.pros, cons = excluded.cons, \
                 item = excluded.item, project = excluded.project, session = excluded.session, \
                 created_at = excluded.created_at, severity = excluded.severity, \
                 approved_at = excluded.approved_at, approval_feedback = excluded.approval_feedback",
            )?
            .execute(params![
                id,
                text("title"),
                text("rationale").unwrap_or_default(),
                json_text("alternatives", json!([])),
                json_text("pros", json!([])),
                json_text("cons", json!([])),
                text("task"),
                text("project").unwrap_or("project"),
                text("session"),
                time("created_at"),
                seq,
                text("severity").map(str::to_ascii_lowercase),
                text("approved_at"),
                text("approval_feedback"),
            ])?;
            summary.decisions += 1;
        }
        LineKind::Sprint => {
            let id = text("id").unwrap_or_default();
            let seq = keep_seq(tx, "sprints", id)?;
            tx.prepare_cached(
                "INSERT INTO sprints (id, name, goal, status, project, start_date, duration_days, epic, \
                 v2_key, data, created_at, started_at, completed_at, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, \
                 ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) ON CONFLICT(id) DO UPDATE SET name = excluded.name, \
                 goal = excluded.goal, status = excluded.status, project = excluded.project, \
                 start_date = excluded.start_date, duration_days = excluded.duration_days, \
                 epic = excluded.epic, v2_key = excluded.v2_key, data = excluded.data, \
                 created_at = excluded.created_at, started_at = excluded.started_at, \
                 completed_at = excluded.completed_at",
            )?
            .execute(params![
                id,
                text("name"),
                text("goal").unwrap_or_default(),
                text("status"),
                text("project").unwrap_or("project"),
                text("start_date"),
                fields.integer("duration_days")?.unwrap_or(14),
                text("epic"),
                text("v2_id"),
                json_text("data", json!({})),
                time("created_at"),
                text("started_at"),
                text("completed_at"),
                seq,
            ])?;
            summary.sprints += 1;
        }
        LineKind::SprintItem => {
            let added = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO sprint_items (sprint, item, added_at) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![text("sprint"), text("item"), time("added_at")])?;
            summary.sprint_items += added as u64;
        }
        LineKind::Time => {
            let added = tx
                .prepare_cached(
                    "INSERT INTO time_entries (item, started_at, stopped_at, hours, note, session) \
                     SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE NOT EXISTS (SELECT 1 FROM time_entries \
                     WHERE item = ?1 AND started_at = ?2 AND hours IS ?4 AND note IS ?5)",
                )?
                .execute(params![
                    text("item"),
                    text("started_at"),
                    text("stopped_at"),
                    fields.number("hours")?,
                    text("note"),
                    text("session"),
                ])?;
            summary.time_entries += added as u64;
        }
        LineKind::Memory => {
            tx.prepare_cached(
                "INSERT INTO memory (kind, key, description, confidence, details, project, session, \
                 created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
                 ON CONFLICT(kind, key) DO UPDATE SET description = excluded.description, \
                 confidence = excluded.confidence, details = excluded.details, project = excluded.project, \
                 session = excluded.session, created_at = excluded.created_at, updated_at = excluded.updated_at",
            )?
            .execute(params![
                text("kind"),
                text("key"),
                text("description").unwrap_or_default(),
                fields.number("confidence")?.unwrap_or(0.5),
                json_text("details", json!([])),
                text("project").unwrap_or("project"),
                text("session"),
                time("created_at"),
                time("updated_at"),
            ])?;
            summary.memory += 1;
        }
        LineKind::Config => {
            tx.prepare_cached(
                "INSERT INTO configs (project, data, created_at, updated_at) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT(project) DO UPDATE SET data = excluded.data, \
                 created_at = excluded.created_at, updated_at = excluded.updated_at",
            )?
            .execute(params![
                text("project"),
                json_text("data", json!({})),
                time("created_at"),
                time("updated_at"),
            ])?;
            summary.configs += 1;
        }
        LineKind::Tool => {
            tx.prepare_cached(
                "INSERT INTO tools (name, type, version, description, path, dependencies, config, \
                 registered_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
                 ON CONFLICT(name) DO UPDATE SET type = excluded.type, version = excluded.version, \
                 description = excluded.description, path = excluded.path, \
                 dependencies = excluded.dependencies, config = excluded.config, \
                 registered_at = excluded.registered_at, updated_at = excluded.updated_at",
            )?
            .execute(params![
                text("name"),
                text("kind"),
                text("version"),
                text("description"),
                text("path"),
                json_text("dependencies", json!([])),
                json_text("config", json!({})),
                time("registered_at"),
                time("updated_at"),
            ])?;
            summary.tools += 1;
        }
    }
    Ok(())
}

/// The sequence number of row `id` of `table`: its own when it is there, else the next.
fn keep_seq(tx: &Transaction<'_>, table: &str, id: &str) -> Result<i64> {
    let existing: Option<i64> = tx
        .prepare_cached(&format!("SELECT seq FROM {table} WHERE id = ?1"))?
        .query_row([id], |row| row.get(0))
        .optional()?;
    match existing {
        Some(seq) => Ok(seq),
        None => Ok(tx
            .prepare_cached(&format!("SELECT COALESCE(max(seq), 0) + 1 FROM {table}"))?
            .query_row([], |row| row.get(0))?),
    }
}

/// Number every item in a topological order (Kahn's algorithm, ties by sequence number).
/// The references and cycles were checked before; a cycle found here is refused all the same.
fn renumber(tx: &Transaction<'_>) -> Result<()> {
    let ids: Vec<String> = {
        let mut statement = tx.prepare("SELECT id FROM items ORDER BY seq")?;
        statement
            .query_map([], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?
    };
    let index: HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let mut waiting = vec![0usize; ids.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); ids.len()];
    {
        let mut statement = tx.prepare("SELECT item, depends_on FROM deps")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let item: String = row.get(0)?;
            let on: String = row.get(1)?;
            let (Some(&item), Some(&on)) = (index.get(item.as_str()), index.get(on.as_str()))
            else {
                return Err(Error::invalid(format!(
                    "the dependency {item} → {on} names an item that is not there"
                )));
            };
            waiting[item] += 1;
            dependents[on].push(item);
        }
    }
    let mut ready: std::collections::BinaryHeap<std::cmp::Reverse<usize>> = waiting
        .iter()
        .enumerate()
        .filter(|(_, count)| **count == 0)
        .map(|(i, _)| std::cmp::Reverse(i))
        .collect();
    let mut order = Vec::with_capacity(ids.len());
    while let Some(std::cmp::Reverse(next)) = ready.pop() {
        order.push(next);
        for &dependent in &dependents[next] {
            waiting[dependent] -= 1;
            if waiting[dependent] == 0 {
                ready.push(std::cmp::Reverse(dependent));
            }
        }
    }
    if order.len() != ids.len() {
        let stuck = waiting.iter().position(|count| *count > 0).unwrap_or(0);
        return Err(Error::conflict(format!(
            "the dependencies make a cycle through {}",
            ids[stuck]
        )));
    }
    let mut statement = tx.prepare("UPDATE items SET topo = ?2 WHERE id = ?1")?;
    for (number, i) in order.into_iter().enumerate() {
        statement.execute(params![ids[i], number as f64 + 1.0])?;
    }
    Ok(())
}
