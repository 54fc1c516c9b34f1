//! Work items in the database: ids, creation, lookup, changes with their history, and the
//! dependency graph (cycle checks, what is ready, what is blocked).

use anyhow::{Context as _, bail};
use rusqlite::{Connection, OptionalExtension as _, Row, params};
use serde_json::{Value, json};

use super::model::{Kind, Priority, Status};

/// One work item as stored.
#[derive(Debug, Clone)]
pub struct Item {
    pub id: String,
    pub kind: Kind,
    pub parent: Option<String>,
    pub title: String,
    pub description: String,
    pub status: Status,
    pub priority: Priority,
    pub estimate: Option<f64>,
    pub assignee: Option<String>,
    pub progress: i64,
    pub notes: String,
    pub blocked_reason: Option<String>,
    pub project: String,
    pub session: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
}

pub const COLUMNS: &str = "id, kind, parent, title, description, status, priority, estimate, \
    assignee, progress, notes, blocked_reason, project, session, created_at, updated_at, \
    started_at, completed_at";

impl Item {
    pub fn from_row(row: &Row<'_>) -> rusqlite::Result<Item> {
        let text = |i: usize| -> rusqlite::Result<String> { row.get(i) };
        let parse = |i: usize, raw: String| {
            rusqlite::Error::FromSqlConversionFailure(
                i,
                rusqlite::types::Type::Text,
                format!("bad value `{raw}`").into(),
            )
        };
        let kind = text(1)?;
        let status = text(5)?;
        Ok(Item {
            id: row.get(0)?,
            kind: kind.parse().map_err(|_| parse(1, kind.clone()))?,
            parent: row.get(2)?,
            title: row.get(3)?,
            description: row.get(4)?,
            status: status.parse().map_err(|_| parse(5, status.clone()))?,
            priority: Priority::from_rank(row.get(6)?),
            estimate: row.get(7)?,
            assignee: row.get(8)?,
            progress: row.get(9)?,
            notes: row.get(10)?,
            blocked_reason: row.get(11)?,
            project: row.get(12)?,
            session: row.get(13)?,
            created_at: row.get(14)?,
            updated_at: row.get(15)?,
            started_at: row.get(16)?,
            completed_at: row.get(17)?,
        })
    }

    /// The item as JSON, with its labels.
    pub fn to_json(&self, labels: &[String]) -> Value {
        json!({
            "id": self.id,
            "type": self.kind.as_str(),
            "parent": self.parent,
            "title": self.title,
            "description": self.description,
            "status": self.status.as_str(),
            "priority": self.priority.as_str(),
            "estimate": self.estimate,
            "assignee": self.assignee,
            "labels": labels,
            "progress": self.progress,
            "notes": self.notes,
            "blocked_reason": self.blocked_reason,
            "project": self.project,
            "session": self.session,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "started_at": self.started_at,
            "completed_at": self.completed_at,
        })
    }
}

/// The base-36 suffix of a new id: long enough that two stores of this size merged later
/// would share an id with a chance of about one in ten thousand per item, and at least 4.
pub fn suffix_length(items: i64) -> usize {
    let mut length = 4;
    let wanted = 10_000f64 * (items.max(0) as f64 + 1.0);
    while 36f64.powi(length as i32) < wanted {
        length += 1;
    }
    length
}

/// `KIND-xxxx` from 64 random bits.
pub fn make_id(kind: Kind, mut random: u64, length: usize) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut suffix = String::with_capacity(length);
    for _ in 0..length {
        suffix.push(DIGITS[(random % 36) as usize] as char);
        random /= 36;
    }
    format!("{}-{suffix}", kind.as_str())
}

/// Resolve what a person typed to one id: exact, case-insensitive, or a unique prefix of an
/// id or of its suffix (`7f3` for `TASK-7f3a`).
pub fn resolve(conn: &Connection, raw: &str) -> anyhow::Result<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        bail!("an item id must not be empty");
    }
    let normalized = match raw.split_once('-') {
        Some((kind, suffix)) => format!(
            "{}-{}",
            kind.to_ascii_uppercase(),
            suffix.to_ascii_lowercase()
        ),
        None => raw.to_ascii_lowercase(),
    };
    let exact: Option<String> = conn
        .query_row("SELECT id FROM items WHERE id = ?1", [&normalized], |row| {
            row.get(0)
        })
        .optional()?;
    if let Some(id) = exact {
        return Ok(id);
    }
    let escaped = normalized
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let pattern = if raw.contains('-') {
        format!("{escaped}%")
    } else {
        format!("%-{escaped}%")
    };
    let mut statement = conn
        .prepare_cached("SELECT id FROM items WHERE id LIKE ?1 ESCAPE '\\' ORDER BY id LIMIT 6")?;
    let matches: Vec<String> = statement
        .query_map([&pattern], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    match matches.as_slice() {
        [] => Err(crate::error::hinted(
            format!("item `{raw}` not found"),
            "`orchestron task list` shows the items there are",
        )),
        [one] => Ok(one.clone()),
        many => bail!(
            "`{raw}` matches several items: {}{}; type more of the id",
            many.iter().take(5).cloned().collect::<Vec<_>>().join(", "),
            if many.len() > 5 { ", …" } else { "" }
        ),
    }
}

/// Load one item by its exact id.
pub fn get(conn: &Connection, id: &str) -> anyhow::Result<Item> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM items WHERE id = ?1"),
        [id],
        Item::from_row,
    )
    .optional()?
    .with_context(|| format!("item `{id}` not found"))
}

pub fn labels(conn: &Connection, id: &str) -> anyhow::Result<Vec<String>> {
    let mut statement =
        conn.prepare_cached("SELECT label FROM labels WHERE item = ?1 ORDER BY label")?;
    let labels = statement
        .query_map([id], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(labels)
}

/// The ids an item depends on.
pub fn dependencies(conn: &Connection, id: &str) -> anyhow::Result<Vec<(String, Status)>> {
    let mut statement = conn.prepare_cached(
        "SELECT d.depends_on, i.status FROM deps d JOIN items i ON i.id = d.depends_on \
         WHERE d.item = ?1 ORDER BY d.depends_on",
    )?;
    let rows = statement
        .query_map([id], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|(id, status)| Ok((id, status.parse()?)))
        .collect()
}

/// Append to an item's history.
pub fn record(
    conn: &Connection,
    item: &str,
    at: &str,
    what: &str,
    detail: Value,
    session: Option<&str>,
) -> anyhow::Result<()> {
    let detail = if detail.is_null() {
        None
    } else {
        Some(detail.to_string())
    };
    conn.prepare_cached(
        "INSERT INTO events (item, at, what, detail, session) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![item, at, what, detail, session])?;
    Ok(())
}

/// The path of dependencies from `from` to `to` (`from` waits for …, which waits for `to`),
/// if there is one: adding the edge `to → from` would close that cycle.
///
/// A search from both ends at once, always widening the smaller frontier: in a big graph one
/// end usually reaches few items, and the search ends when that side runs out.
pub fn dependency_path(
    conn: &Connection,
    from: &str,
    to: &str,
) -> anyhow::Result<Option<Vec<String>>> {
    use std::collections::HashMap;
    if from == to {
        return Ok(Some(vec![from.to_owned()]));
    }
    let mut forward = conn.prepare_cached("SELECT depends_on FROM deps WHERE item = ?1")?;
    let mut backward = conn.prepare_cached("SELECT item FROM deps WHERE depends_on = ?1")?;
    // Each side: node → the node it was reached from.
    let mut ahead: HashMap<String, Option<String>> = HashMap::from([(from.to_owned(), None)]);
    let mut behind: HashMap<String, Option<String>> = HashMap::from([(to.to_owned(), None)]);
    let mut ahead_frontier = vec![from.to_owned()];
    let mut behind_frontier = vec![to.to_owned()];
    let meet = loop {
        if ahead_frontier.is_empty() || behind_frontier.is_empty() {
            return Ok(None);
        }
        let widen_ahead = ahead_frontier.len() <= behind_frontier.len();
        let (statement, seen, other, frontier) = if widen_ahead {
            (&mut forward, &mut ahead, &behind, &mut ahead_frontier)
        } else {
            (&mut backward, &mut behind, &ahead, &mut behind_frontier)
        };
        let mut next = Vec::new();
        let mut found = None;
        'nodes: for node in frontier.iter() {
            let neighbours: Vec<String> = statement
                .query_map([node], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            for neighbour in neighbours {
                if seen.contains_key(&neighbour) {
                    continue;
                }
                seen.insert(neighbour.clone(), Some(node.clone()));
                if other.contains_key(&neighbour) {
                    found = Some(neighbour);
                    break 'nodes;
                }
                next.push(neighbour);
            }
        }
        if let Some(meet) = found {
            break meet;
        }
        *frontier = next;
    };
    let mut path = vec![meet.clone()];
    let mut at = meet.clone();
    while let Some(Some(previous)) = ahead.get(&at) {
        path.push(previous.clone());
        at = previous.clone();
    }
    path.reverse();
    let mut at = meet;
    while let Some(Some(next)) = behind.get(&at) {
        path.push(next.clone());
        at = next.clone();
    }
    Ok(Some(path))
}
