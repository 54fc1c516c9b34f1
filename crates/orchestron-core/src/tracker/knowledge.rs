//! What was decided and what was learned, kept in the tracker so that one agent's discovery
//! reaches the next: decisions (`DEC-xxxx`, optionally tied to an item, whose history
//! records them) and memory entries (a kind and a key, with a confidence and details,
//! searchable through the FTS5 table `memory_search`, which triggers keep in step).
//!
//! Each operation checks its request before touching the database and runs in one
//! transaction. Reads never create the tracker, and neither does a request that names an
//! item which must exist. A stored list (a decision's alternatives, pros and cons, a memory
//! entry's details) that does not parse is never replaced: reading it is an internal error
//! that names the record, and so is an update that would have to rewrite it.

use rusqlite::{Connection, Row, params};
use serde::Serialize;
use serde_json::{Value, json};

use super::items;
use super::tasks::check_text;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::session::format_time;

/// A recorded decision.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    pub id: String,
    pub title: String,
    /// Why; empty when none was given.
    pub rationale: String,
    /// The options weighed.
    pub alternatives: Vec<String>,
    pub pros: Vec<String>,
    pub cons: Vec<String>,
    /// The item it belongs to.
    pub task: Option<String>,
    pub project: String,
    /// The session that made it.
    pub session: Option<String>,
    pub created_at: String,
    /// Its place in the order decisions were made, from 1.
    pub seq: i64,
    /// How much it matters (`low`, `medium`, `high`), when given: review points pause on it.
    pub severity: Option<String>,
    /// When a person approved it, and what they said (`orchestron approve`).
    pub approved_at: Option<String>,
    pub approval_feedback: Option<String>,
}

/// A new decision.
#[derive(Debug, Clone, Default)]
pub struct NewDecision {
    pub title: String,
    pub rationale: Option<String>,
    pub alternatives: Vec<String>,
    pub pros: Vec<String>,
    pub cons: Vec<String>,
    /// The item it belongs to, as typed (id or prefix); it must exist.
    pub task: Option<String>,
    /// How much it matters.
    pub severity: Option<crate::tracker::model::Severity>,
}

/// A memory entry: something learned, under a kind (`pattern`, `pitfall`, …) and a key.
#[derive(Debug, Clone, Serialize)]
pub struct Memory {
    pub kind: String,
    pub key: String,
    pub description: String,
    /// How sure, from 0 to 1.
    pub confidence: f64,
    /// The details, in the order they were added (strings, or any JSON an import brought).
    pub details: Vec<Value>,
    pub project: String,
    /// The session that last changed it.
    pub session: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// A new memory entry.
#[derive(Debug, Clone, Default)]
pub struct NewMemory {
    pub kind: String,
    pub key: String,
    pub description: Option<String>,
    /// How sure, from 0 to 1 (default [`DEFAULT_CONFIDENCE`]).
    pub confidence: Option<f64>,
    pub details: Vec<String>,
}

/// Changes to a memory entry; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct MemoryChange {
    pub kind: String,
    pub key: String,
    /// Details appended to those there are.
    pub add_details: Vec<String>,
    pub confidence: Option<f64>,
    pub description: Option<String>,
}

/// A new memory entry's confidence when none is given.
pub const DEFAULT_CONFIDENCE: f64 = 0.5;

const DECISION_COLUMNS: &str = "id, title, rationale, alternatives, pros, cons, item, project, \
    session, created_at, seq, severity, approved_at, approval_feedback";

const MEMORY_COLUMNS: &str =
    "kind, key, description, confidence, details, project, session, created_at, updated_at";

/// A confidence is a number from 0 to 1.
pub fn check_confidence(confidence: Option<f64>) -> Result<()> {
    if let Some(value) = confidence
        && !(value.is_finite() && (0.0..=1.0).contains(&value))
    {
        return Err(Error::invalid(format!(
            "`--confidence` must be between 0 and 1, not {value}"
        )));
    }
    Ok(())
}

/// Record a decision; with a task, the item's history records it too.
pub fn decide(cx: &Context, new: &NewDecision) -> Result<Decision> {
    check_text("decision's title", &new.title)?;
    let now = format_time(cx.now());
    let project = cx.project().to_owned();
    let session = cx.actor();
    // A decision about an item needs the item: without a tracker there is none, and the
    // request fails without creating one.
    let mut db = if new.task.is_some() {
        cx.tracker_to_change()?
    } else {
        cx.tracker()?
    };
    db.write(|tx| {
        let item = new
            .task
            .as_deref()
            .map(|raw| items::resolve(tx, raw))
            .transpose()?;
        let seq: i64 = tx.query_row(
            "SELECT COALESCE(max(seq), 0) + 1 FROM decisions",
            [],
            |row| row.get(0),
        )?;
        let id = items::fresh_id(tx, "decisions", "DEC", seq, || cx.random_u64())?;
        tx.execute(
            "INSERT INTO decisions (id, title, rationale, alternatives, pros, cons, item, \
             project, session, created_at, seq, severity) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                id,
                new.title,
                new.rationale.as_deref().unwrap_or_default(),
                json!(new.alternatives).to_string(),
                json!(new.pros).to_string(),
                json!(new.cons).to_string(),
                item,
                project,
                session,
                now,
                seq,
                new.severity.map(crate::tracker::model::Severity::as_str)
            ],
        )?;
        if let Some(item) = &item {
            items::record(
                tx,
                item,
                &now,
                "decision",
                json!({"id": id, "title": new.title}),
                session,
            )?;
        }
        get_decision(tx, &id)
    })
}

/// Record a person's approval of decision `raw`. Returns it as it is now.
pub fn approve_decision(cx: &Context, raw: &str, feedback: Option<&str>) -> Result<Decision> {
    let now = format_time(cx.now());
    let mut db = cx.tracker_to_change()?;
    db.write(|tx| {
        let decision = get_decision(tx, raw)?;
        tx.execute(
            "UPDATE decisions SET approved_at = ?2, approval_feedback = ?3 WHERE id = ?1",
            params![decision.id, now, feedback],
        )?;
        if let Some(item) = &decision.task {
            items::record(
                tx,
                item,
                &now,
                "approved",
                json!({"decision": decision.id, "feedback": feedback}),
                cx.actor(),
            )?;
        }
        get_decision(tx, &decision.id)
    })
}

/// Decision `raw` (its exact id), if there is one. Reads only.
pub fn find_decision(cx: &Context, raw: &str) -> Result<Option<Decision>> {
    if !cx.tracker_path().exists() {
        return Ok(None);
    }
    let db = cx.tracker_for_reads()?;
    match get_decision(db.conn(), raw) {
        Ok(decision) => Ok(Some(decision)),
        Err(err) if err.kind() == crate::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

/// Every decision, newest first.
pub fn list_decisions(cx: &Context) -> Result<Vec<Decision>> {
    let db = cx.tracker_for_reads()?;
    let mut statement = db.conn().prepare(&format!(
        "SELECT {DECISION_COLUMNS} FROM decisions ORDER BY seq DESC"
    ))?;
    let mut rows = statement.query([])?;
    let mut list = Vec::new();
    while let Some(row) = rows.next()? {
        list.push(decision_from_row(row)?);
    }
    Ok(list)
}

/// A decision as the views list it: no stored lists, so a view never fails on one that does
/// not parse.
#[derive(Debug, Clone, Serialize)]
pub struct DecisionTitle {
    pub id: String,
    pub title: String,
    pub created_at: String,
}

/// The `limit` latest decisions, newest first, for the views.
pub fn latest_decisions(conn: &Connection, limit: usize) -> Result<Vec<DecisionTitle>> {
    let mut statement =
        conn.prepare("SELECT id, title, created_at FROM decisions ORDER BY seq DESC LIMIT ?1")?;
    let found = statement
        .query_map([limit as i64], |row| {
            Ok(DecisionTitle {
                id: row.get(0)?,
                title: row.get(1)?,
                created_at: row.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(found)
}

/// One decision, by its id or a unique prefix of it.
pub fn show_decision(cx: &Context, raw: &str) -> Result<Decision> {
    let db = cx.tracker_for_reads()?;
    let id = items::resolve_prefixed(
        db.conn(),
        "decisions",
        "DEC",
        "decision",
        "orchestron decision list",
        raw,
    )?;
    get_decision(db.conn(), &id)
}

/// Add a memory entry; one with the same kind and key is a conflict.
pub fn add_memory(cx: &Context, new: &NewMemory) -> Result<Memory> {
    check_text("kind", &new.kind)?;
    check_text("key", &new.key)?;
    check_confidence(new.confidence)?;
    let now = format_time(cx.now());
    let project = cx.project().to_owned();
    let session = cx.actor();
    let (kind, key) = (&new.kind, &new.key);
    let mut db = cx.tracker()?;
    db.write(|tx| {
        let exists: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM memory WHERE kind = ?1 AND key = ?2)",
            params![kind, key],
            |row| row.get(0),
        )?;
        if exists {
            return Err(
                Error::conflict(format!("memory `{kind} {key}` exists already")).with_hint(
                    format!("`orchestron memory update {kind} {key} --add-detail …` adds to it"),
                ),
            );
        }
        tx.execute(
            "INSERT INTO memory (kind, key, description, confidence, details, project, session, \
             created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
            params![
                kind,
                key,
                new.description.as_deref().unwrap_or_default(),
                new.confidence.unwrap_or(DEFAULT_CONFIDENCE),
                json!(new.details).to_string(),
                project,
                session,
                now
            ],
        )?;
        get_memory_in(tx, kind, key)
    })
}

/// One memory entry.
pub fn get_memory(cx: &Context, kind: &str, key: &str) -> Result<Memory> {
    check_text("kind", kind)?;
    check_text("key", key)?;
    let db = cx.tracker_for_reads()?;
    get_memory_in(db.conn(), kind, key)
}

/// Add details to a memory entry, or change its confidence or description.
pub fn update_memory(cx: &Context, change: &MemoryChange) -> Result<Memory> {
    check_text("kind", &change.kind)?;
    check_text("key", &change.key)?;
    check_confidence(change.confidence)?;
    let now = format_time(cx.now());
    let session = cx.actor();
    let (kind, key) = (&change.kind, &change.key);
    let mut db = cx.tracker_to_change()?;
    db.write(|tx| {
        // The stored details are read through the same check as every read, so a list that
        // does not parse stops the update instead of being replaced.
        let mut details = get_memory_in(tx, kind, key)?.details;
        details.extend(change.add_details.iter().map(|detail| json!(detail)));
        tx.execute(
            "UPDATE memory SET details = ?3, confidence = COALESCE(?4, confidence), \
             description = COALESCE(?5, description), updated_at = ?6, \
             session = COALESCE(?7, session) WHERE kind = ?1 AND key = ?2",
            params![
                kind,
                key,
                Value::Array(details).to_string(),
                change.confidence,
                change.description,
                now,
                session
            ],
        )?;
        get_memory_in(tx, kind, key)
    })
}

/// Every memory entry, or those of one kind, by kind and key.
pub fn list_memory(cx: &Context, kind: Option<&str>) -> Result<Vec<Memory>> {
    let db = cx.tracker_for_reads()?;
    let mut statement = db.conn().prepare(&format!(
        "SELECT {MEMORY_COLUMNS} FROM memory WHERE ?1 IS NULL OR kind = ?1 ORDER BY kind, key"
    ))?;
    collect_memory(statement.query([kind])?)
}

/// The memory entries whose kind, key, description or details hold every word of `text`
/// (each as the start of a word), best match first.
pub fn search_memory(cx: &Context, text: &str) -> Result<Vec<Memory>> {
    check_text("search text", text)?;
    let query = match_query(text)?;
    let db = cx.tracker_for_reads()?;
    search(db.conn(), text, &query)
}

/// The FTS5 query for what a person typed: every word must appear, as the start of a word.
/// Each word is quoted, so FTS5 syntax in it (`AND`, `"`, `(`, `*`) is only text; text
/// with no letter or digit at all has nothing to search for and is refused.
fn match_query(text: &str) -> Result<String> {
    if !text.chars().any(char::is_alphanumeric) {
        return Err(Error::invalid(format!(
            "the search text `{text}` has no word to search for"
        ))
        .with_hint("search for words (letters or digits); each matches the start of a word"));
    }
    let words: Vec<String> = text
        .split_whitespace()
        .map(|word| format!("\"{}\"*", word.replace('"', "\"\"")))
        .collect();
    Ok(words.join(" "))
}

fn search(conn: &Connection, text: &str, query: &str) -> Result<Vec<Memory>> {
    let columns: Vec<String> = MEMORY_COLUMNS
        .split(", ")
        .map(|column| format!("m.{column}"))
        .collect();
    let mut statement = conn.prepare(&format!(
        "SELECT {} FROM memory_search s JOIN memory m ON m.id = s.rowid \
         WHERE memory_search MATCH ?1 ORDER BY bm25(memory_search), m.confidence DESC",
        columns.join(", ")
    ))?;
    // FTS5 parses the query when the statement first steps, so a query it cannot read fails
    // there, as SQLite's generic error (a busy or damaged database has codes of its own):
    // that is the request's fault, not the tracker's.
    let fts_error = |err: rusqlite::Error| -> Error {
        match &err {
            rusqlite::Error::SqliteFailure(failure, _)
                if failure.code == rusqlite::ErrorCode::Unknown =>
            {
                Error::invalid(format!(
                    "the search text `{text}` is not a query the index can run ({err})"
                ))
                .with_hint("search for plain words; each matches the start of a word")
            }
            _ => Error::from(err),
        }
    };
    let mut rows = statement.query([query]).map_err(fts_error)?;
    let mut list = Vec::new();
    while let Some(row) = rows.next().map_err(fts_error)? {
        list.push(memory_from_row(row)?);
    }
    Ok(list)
}

/// A decision as a worker's instructions cite it.
#[derive(Debug, Clone, Serialize)]
pub struct RelatedDecision {
    pub id: String,
    pub title: String,
    pub rationale: String,
    /// The item it belongs to.
    pub task: Option<String>,
}

/// The decisions that matter to an item, best first: those tied to one of `items` (the item
/// and its parents), then those whose title or rationale holds the most of `words` (matched
/// as the start of a word, ignoring case), newest first among equals. At most `limit`; the
/// latest [`RELATED_SCAN`] decisions are considered.
pub fn related_decisions(
    conn: &Connection,
    items: &[&str],
    words: &[String],
    limit: usize,
) -> Result<Vec<RelatedDecision>> {
    let mut statement = conn
        .prepare("SELECT id, title, rationale, item FROM decisions ORDER BY seq DESC LIMIT ?1")?;
    let rows = statement
        .query_map([RELATED_SCAN as i64], |row| {
            Ok(RelatedDecision {
                id: row.get(0)?,
                title: row.get(1)?,
                rationale: row.get(2)?,
                task: row.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut scored: Vec<(usize, usize, RelatedDecision)> = rows
        .into_iter()
        .enumerate()
        .filter_map(|(newest, decision)| {
            let tied = decision
                .task
                .as_deref()
                .is_some_and(|task| items.contains(&task));
            let text = format!("{} {}", decision.title, decision.rationale).to_lowercase();
            let text_words: Vec<&str> = text
                .split(|c: char| !c.is_alphanumeric())
                .filter(|word| !word.is_empty())
                .collect();
            let matched = words
                .iter()
                .filter(|word| text_words.iter().any(|w| w.starts_with(word.as_str())))
                .count();
            let score = usize::from(tied) * 1000 + matched;
            (score > 0).then_some((score, newest, decision))
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    Ok(scored
        .into_iter()
        .take(limit)
        .map(|(_, _, decision)| decision)
        .collect())
}

/// How many of the latest decisions [`related_decisions`] considers.
pub const RELATED_SCAN: usize = 2_000;

/// The memory entries that hold any of `words` (each as the start of a word), best match
/// first through the full-text index; at most `limit`. Words without a letter or digit are
/// skipped; none left finds nothing.
pub fn related_memory(conn: &Connection, words: &[String], limit: usize) -> Result<Vec<Memory>> {
    let quoted: Vec<String> = words
        .iter()
        .filter(|word| word.chars().any(char::is_alphanumeric))
        .map(|word| format!("\"{}\"*", word.replace('"', "\"\"")))
        .collect();
    if quoted.is_empty() {
        return Ok(Vec::new());
    }
    let query = quoted.join(" OR ");
    let mut found = search(conn, &query, &query)?;
    found.truncate(limit);
    Ok(found)
}

fn collect_memory(mut rows: rusqlite::Rows<'_>) -> Result<Vec<Memory>> {
    let mut list = Vec::new();
    while let Some(row) = rows.next()? {
        list.push(memory_from_row(row)?);
    }
    Ok(list)
}

fn get_decision(conn: &Connection, id: &str) -> Result<Decision> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {DECISION_COLUMNS} FROM decisions WHERE id = ?1"
    ))?;
    let mut rows = statement.query([id])?;
    match rows.next()? {
        Some(row) => decision_from_row(row),
        None => Err(Error::not_found(format!("decision `{id}` not found"))
            .with_hint("`orchestron decision list` shows the ones there are")),
    }
}

fn get_memory_in(conn: &Connection, kind: &str, key: &str) -> Result<Memory> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {MEMORY_COLUMNS} FROM memory WHERE kind = ?1 AND key = ?2"
    ))?;
    let mut rows = statement.query(params![kind, key])?;
    match rows.next()? {
        Some(row) => memory_from_row(row),
        None => Err(Error::not_found(format!("memory `{kind} {key}` not found"))
            .with_hint("`orchestron memory list` shows the entries there are")),
    }
}

fn decision_from_row(row: &Row<'_>) -> Result<Decision> {
    let id: String = row.get(0)?;
    let list = |index: usize, column: &str| -> Result<Vec<String>> {
        stored_list(
            &row.get::<_, String>(index)?,
            &format!("decision `{id}`"),
            column,
        )
    };
    Ok(Decision {
        title: row.get(1)?,
        rationale: row.get(2)?,
        alternatives: list(3, "alternatives")?,
        pros: list(4, "pros")?,
        cons: list(5, "cons")?,
        task: row.get(6)?,
        project: row.get(7)?,
        session: row.get(8)?,
        created_at: row.get(9)?,
        seq: row.get(10)?,
        severity: row.get(11)?,
        approved_at: row.get(12)?,
        approval_feedback: row.get(13)?,
        id,
    })
}

fn memory_from_row(row: &Row<'_>) -> Result<Memory> {
    let kind: String = row.get(0)?;
    let key: String = row.get(1)?;
    let details = stored_list(
        &row.get::<_, String>(4)?,
        &format!("memory `{kind} {key}`"),
        "details",
    )?;
    Ok(Memory {
        description: row.get(2)?,
        confidence: row.get(3)?,
        details,
        project: row.get(5)?,
        session: row.get(6)?,
        created_at: row.get(7)?,
        updated_at: row.get(8)?,
        kind,
        key,
    })
}

/// A list stored as JSON text; one that does not parse is an error naming the record, never
/// an empty list.
fn stored_list<T: serde::de::DeserializeOwned>(
    text: &str,
    record: &str,
    column: &str,
) -> Result<Vec<T>> {
    serde_json::from_str(text).map_err(|err| {
        Error::internal(format!(
            "{record} has a `{column}` column that is not a valid JSON list ({err})"
        ))
        .with_hint("repair the value in `orchestron.db` with `sqlite3`; nothing was changed")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::tracker::Db;

    #[test]
    fn every_word_is_quoted_and_matched_as_a_prefix() {
        assert_eq!(match_query("auth tokens").unwrap(), r#""auth"* "tokens"*"#);
        assert_eq!(match_query("AND").unwrap(), r#""AND"*"#);
        assert_eq!(match_query(r#"a"b ("#).unwrap(), r#""a""b"* "("*"#);
    }

    #[test]
    fn text_without_a_word_is_refused() {
        for text in ["\"", "(", "* -", "\"\""] {
            let err = match_query(text).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Invalid, "{text}");
            assert!(err.hint().is_some(), "{text}");
        }
    }

    #[test]
    fn a_query_fts5_cannot_parse_is_invalid_not_internal() {
        let db = Db::empty().unwrap();
        for raw in ["\"", "AND", "a AND", "(", "NEAR("] {
            let err = search(db.conn(), raw, raw).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Invalid, "{raw}: {}", err.message());
            assert!(err.hint().is_some());
        }
        // The quoted forms of the same text run.
        for raw in ["\"", "AND", "a AND"] {
            if let Ok(query) = match_query(raw) {
                assert!(search(db.conn(), raw, &query).unwrap().is_empty());
            }
        }
    }

    #[test]
    fn a_stored_list_that_does_not_parse_names_its_record() {
        let err = stored_list::<String>("[oops", "decision `DEC-1`", "pros").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Internal);
        assert!(
            err.message().contains("decision `DEC-1`"),
            "{}",
            err.message()
        );
        assert!(err.message().contains("`pros`"), "{}", err.message());
        assert!(stored_list::<String>("{}", "decision `DEC-1`", "pros").is_err());
        assert!(stored_list::<String>("[1]", "decision `DEC-1`", "pros").is_err());
        assert_eq!(
            stored_list::<String>(r#"["a"]"#, "d", "pros").unwrap(),
            vec!["a".to_owned()]
        );
    }

    #[test]
    fn confidence_is_a_finite_number_from_0_to_1() {
        for good in [None, Some(0.0), Some(0.5), Some(1.0)] {
            assert!(check_confidence(good).is_ok(), "{good:?}");
        }
        for bad in [-0.1, 1.5, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let err = check_confidence(Some(bad)).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Invalid, "{bad}");
        }
    }
}
