//! Work items in the database: ids, creation, lookup, changes with their history, and the
//! dependency graph (cycle checks, what is ready, what is blocked).

use rusqlite::{Connection, OptionalExtension as _, Row, params};
use serde_json::{Value, json};

use super::model::{Kind, Priority, Status};
use crate::error::{Error, Result};

/// One work item as stored. Serialized as the CLI prints it (`type` is the kind).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Item {
    pub id: String,
    #[serde(rename = "type")]
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

pub(crate) const COLUMNS: &str = "id, kind, parent, title, description, status, priority, estimate, \
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
pub(crate) fn suffix_length(items: i64) -> usize {
    let mut length = 4;
    let wanted = 10_000f64 * (items.max(0) as f64 + 1.0);
    while 36f64.powi(length as i32) < wanted {
        length += 1;
    }
    length
}

/// `PREFIX-xxxx` from 64 random bits.
fn make_id(prefix: &str, mut random: u64, length: usize) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut suffix = String::with_capacity(length);
    for _ in 0..length {
        suffix.push(DIGITS[(random % 36) as usize] as char);
        random /= 36;
    }
    format!("{prefix}-{suffix}")
}

/// A new id `PREFIX-xxxx` not yet used in `table` (items, sprints, decisions), for the row
/// numbered `seq` there: the suffix as long as `suffix_length` wants for that many rows,
/// growing after a few clashes. `random` gives fresh bits; the sequence number is mixed in
/// so that seeded runs (tests) do not repeat ids.
pub(crate) fn fresh_id(
    conn: &Connection,
    table: &str,
    prefix: &str,
    seq: i64,
    mut random: impl FnMut() -> u64,
) -> Result<String> {
    let mut taken = conn.prepare_cached(&format!(
        "SELECT EXISTS (SELECT 1 FROM {table} WHERE id = ?1)"
    ))?;
    let mut length = suffix_length(seq - 1);
    let mut attempt = 0u64;
    loop {
        let salt = (seq as u64)
            .wrapping_add(attempt)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let candidate = make_id(prefix, random() ^ salt, length);
        attempt += 1;
        if !taken.query_row([&candidate], |row| row.get::<_, bool>(0))? {
            return Ok(candidate);
        }
        if attempt.is_multiple_of(3) {
            length += 1;
        }
    }
}

/// Escape `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Resolve what a person typed to one id: exact, case-insensitive, a unique prefix of an id
/// or of its suffix (`7f3` for `TASK-7f3a`), or a kind alone (`TASK`) when there is one.
pub(crate) fn resolve(conn: &Connection, raw: &str) -> Result<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(Error::invalid("an item id must not be empty"));
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
    let escaped = escape_like(&normalized);
    let pattern = if raw.contains('-') {
        format!("{escaped}%")
    } else if Kind::NAMES.contains(&raw.to_ascii_uppercase().as_str()) {
        format!("{}-%", raw.to_ascii_uppercase())
    } else {
        format!("%-{escaped}%")
    };
    let mut statement = conn
        .prepare_cached("SELECT id FROM items WHERE id LIKE ?1 ESCAPE '\\' ORDER BY id LIMIT 6")?;
    let matches: Vec<String> = statement
        .query_map([&pattern], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    match matches.as_slice() {
        [] => Err(Error::not_found(format!("item `{raw}` not found"))
            .with_hint("`orchestron task list --all` shows the items there are")),
        [one] => Ok(one.clone()),
        many => Err(Error::conflict(format!(
            "`{raw}` is ambiguous: it matches several items: {}{}",
            many.iter().take(5).cloned().collect::<Vec<_>>().join(", "),
            if many.len() > 5 { ", …" } else { "" }
        ))
        .with_hint("type more of the id")),
    }
}

/// Resolve what a person typed to one row id of `table` (sprints, decisions), ids being
/// `PREFIX-xxxx`: exact, case-insensitive, or a unique prefix of the id or of its suffix.
/// `what` names the row in messages, and the hint points at `list_command`.
pub(crate) fn resolve_prefixed(
    conn: &Connection,
    table: &str,
    prefix: &str,
    what: &str,
    list_command: &str,
    raw: &str,
) -> Result<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(Error::invalid(format!("a {what} id must not be empty")));
    }
    let normalized = match raw.split_once('-') {
        Some((kind, suffix)) => format!(
            "{}-{}",
            kind.to_ascii_uppercase(),
            suffix.to_ascii_lowercase()
        ),
        None => format!("{prefix}-{}", raw.to_ascii_lowercase()),
    };
    let mut statement = conn.prepare_cached(&format!(
        "SELECT id FROM {table} WHERE id = ?1 OR id LIKE ?2 ESCAPE '\\' ORDER BY id LIMIT 3"
    ))?;
    let pattern = format!("{}%", escape_like(&normalized));
    let found: Vec<String> = statement
        .query_map([&normalized, &pattern], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    if found.contains(&normalized) {
        return Ok(normalized);
    }
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(Error::not_found(format!("{what} `{raw}` not found"))
            .with_hint(format!("`{list_command}` shows the ones there are"))),
        _ => Err(
            Error::conflict(format!("`{raw}` is ambiguous: it matches several {what}s"))
                .with_hint("type more of the id"),
        ),
    }
}

/// Load one item by its exact id.
pub(crate) fn get(conn: &Connection, id: &str) -> Result<Item> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM items WHERE id = ?1"),
        [id],
        Item::from_row,
    )
    .optional()?
    .ok_or_else(|| Error::not_found(format!("item `{id}` not found")))
}

pub(crate) fn labels(conn: &Connection, id: &str) -> Result<Vec<String>> {
    let mut statement =
        conn.prepare_cached("SELECT label FROM labels WHERE item = ?1 ORDER BY label")?;
    let labels = statement
        .query_map([id], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(labels)
}

/// The files an item expects to touch (globs over paths from the repository's top level).
pub(crate) fn files(conn: &Connection, id: &str) -> Result<Vec<String>> {
    let mut statement =
        conn.prepare_cached("SELECT pattern FROM item_files WHERE item = ?1 ORDER BY pattern")?;
    let files = statement
        .query_map([id], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(files)
}

/// The ids an item depends on.
pub(crate) fn dependencies(conn: &Connection, id: &str) -> Result<Vec<(String, Status)>> {
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
        .map(|(id, status)| {
            Ok((
                id,
                status
                    .parse()
                    .map_err(|err: anyhow::Error| Error::internal(err.to_string()))?,
            ))
        })
        .collect()
}

/// Append to an item's history.
pub(crate) fn record(
    conn: &Connection,
    item: &str,
    at: &str,
    what: &str,
    detail: Value,
    session: Option<&str>,
) -> Result<()> {
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

/// Make `id` depend on `on`, keeping the items in a topological order (`topo`: everything an
/// item depends on has a smaller number). Returns `Ok(false)` when the dependency was there
/// already, and the cycle (`id`, `on`, …, `id`, each waiting for the next) when it would
/// close one, changing nothing.
///
/// When `on` already comes before `id` no cycle is possible and nothing is searched.
/// Otherwise two searches run in step, confined to the items numbered between the two: from
/// `id` through what waits for it, and from `on` through what it waits for. Reaching the
/// other end is a cycle; the first search to run out has found a set that can move past the
/// other end (below `id`, or above `on`) by renumbering only its own items, between two
/// neighbouring numbers. So the work is about twice the smaller side, not the whole span.
pub(crate) fn add_dependency(
    conn: &Connection,
    id: &str,
    on: &str,
) -> Result<Result<bool, Vec<String>>> {
    use std::collections::HashMap;
    let exists: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM deps WHERE item = ?1 AND depends_on = ?2)")?
        .query_row(params![id, on], |row| row.get(0))?;
    if exists {
        return Ok(Ok(false));
    }
    let topo = |item: &str| -> Result<f64> {
        Ok(conn
            .prepare_cached("SELECT topo FROM items WHERE id = ?1")?
            .query_row([item], |row| row.get(0))?)
    };
    let (lower, upper) = (topo(id)?, topo(on)?);
    if upper >= lower {
        let mut after = conn.prepare_cached(
            "SELECT d.item, i.topo FROM deps d JOIN items i ON i.id = d.item \
             WHERE d.depends_on = ?1 AND i.topo <= ?2",
        )?;
        let mut before = conn.prepare_cached(
            "SELECT d.depends_on, i.topo FROM deps d JOIN items i ON i.id = d.depends_on \
             WHERE d.item = ?1 AND i.topo >= ?2",
        )?;
        // Each side: item → (its number, the item it was reached from).
        let mut forward: HashMap<String, (f64, Option<String>)> =
            HashMap::from([(id.to_owned(), (lower, None))]);
        let mut backward: HashMap<String, (f64, Option<String>)> =
            HashMap::from([(on.to_owned(), (upper, None))]);
        let mut ahead = vec![id.to_owned()];
        let mut behind = vec![on.to_owned()];
        let moved_below = loop {
            if behind.is_empty() {
                break true;
            }
            if ahead.is_empty() {
                break false;
            }
            // One step from `id`'s side: the items that wait for the next one.
            let node = ahead.pop().expect("not empty");
            let next: Vec<(String, f64)> = after
                .query_map(params![node, upper], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<Result<_, _>>()?;
            for (item, number) in next {
                if forward.contains_key(&item) {
                    continue;
                }
                forward.insert(item.clone(), (number, Some(node.clone())));
                if item == on {
                    // `on` waits for `id` already: the cycle, from `id` round to `id`.
                    let mut cycle = vec![id.to_owned(), on.to_owned()];
                    let mut at = on.to_owned();
                    while let Some((_, Some(previous))) = forward.get(&at) {
                        cycle.push(previous.clone());
                        at = previous.clone();
                    }
                    return Ok(Err(cycle));
                }
                ahead.push(item);
            }
            // One step from `on`'s side: what the next one waits for.
            let Some(node) = behind.pop() else { continue };
            let next: Vec<(String, f64)> = before
                .query_map(params![node, lower], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<Result<_, _>>()?;
            for (item, number) in next {
                if backward.contains_key(&item) {
                    continue;
                }
                backward.insert(item.clone(), (number, Some(node.clone())));
                if item == id {
                    // `on` waits for `id`: the same cycle, found from the other end.
                    let mut path = vec![id.to_owned()];
                    let mut at = id.to_owned();
                    while let Some((_, Some(next))) = backward.get(&at) {
                        path.push(next.clone());
                        at = next.clone();
                    }
                    path.reverse();
                    let mut cycle = vec![id.to_owned()];
                    cycle.extend(path);
                    return Ok(Err(cycle));
                }
                behind.push(item);
            }
        };
        // Move the finished side past the other end, keeping its own order.
        let (set, gap) = if moved_below {
            let below: Option<f64> = conn
                .prepare_cached("SELECT max(topo) FROM items WHERE topo < ?1")?
                .query_row([lower], |row| row.get(0))?;
            (backward, (below.unwrap_or(lower - 1.0), lower))
        } else {
            let above: Option<f64> = conn
                .prepare_cached("SELECT min(topo) FROM items WHERE topo > ?1")?
                .query_row([upper], |row| row.get(0))?;
            (forward, (upper, above.unwrap_or(upper + 1.0)))
        };
        let mut members: Vec<(f64, String)> = set
            .into_iter()
            .map(|(item, (number, _))| (number, item))
            .collect();
        members.sort_by(|a, b| a.0.total_cmp(&b.0));
        let Some(numbers) = spread_between(members.len(), gap) else {
            // Out of room between two numbers: number everything afresh, then try again.
            renumber_all(conn)?;
            return add_dependency(conn, id, on);
        };
        let mut renumber = conn.prepare_cached("UPDATE items SET topo = ?2 WHERE id = ?1")?;
        for ((_, item), number) in members.iter().zip(numbers) {
            renumber.execute(params![item, number])?;
        }
    }
    conn.prepare_cached("INSERT INTO deps (item, depends_on) VALUES (?1, ?2)")?
        .execute(params![id, on])?;
    conn.prepare_cached(
        "UPDATE items SET open_deps = open_deps + 1 WHERE id = ?1 \
         AND (SELECT status FROM items WHERE id = ?2) != 'DONE'",
    )?
    .execute(params![id, on])?;
    Ok(Ok(true))
}

/// `count` numbers spread evenly strictly between the two ends of `gap`, in order: the new
/// topological numbers of a set of items moved past the other end of a new dependency.
/// `None` when the gap has no room left for distinct numbers (then everything is numbered
/// afresh). Pure: the topological numbering's one rule about numbers.
pub(crate) fn spread_between(count: usize, gap: (f64, f64)) -> Option<Vec<f64>> {
    let step = (gap.1 - gap.0) / (count as f64 + 1.0);
    if step.is_nan() || step < 1e-9 * gap.1.abs().max(1.0) {
        return None;
    }
    Some((1..=count).map(|k| gap.0 + step * k as f64).collect())
}

/// Keep `open_deps` (how many of an item's dependencies are not DONE) true when `item`
/// moves from `from` to `to`.
pub(crate) fn status_changed(
    conn: &Connection,
    item: &str,
    from: Status,
    to: Status,
) -> Result<()> {
    let delta = match (from == Status::Done, to == Status::Done) {
        (false, true) => -1,
        (true, false) => 1,
        _ => return Ok(()),
    };
    conn.prepare_cached(
        "UPDATE items SET open_deps = open_deps + ?2 WHERE id IN \
         (SELECT item FROM deps WHERE depends_on = ?1)",
    )?
    .execute(params![item, delta])?;
    Ok(())
}

/// Count every item's unfinished dependencies afresh (after an import).
pub(crate) fn recount_open_deps(conn: &Connection) -> Result<()> {
    conn.execute(
        "UPDATE items SET open_deps = (SELECT count(*) FROM deps d JOIN items x ON x.id = d.depends_on \
         WHERE d.item = items.id AND x.status != 'DONE')",
        [],
    )?;
    Ok(())
}

/// What a session's context says about the item it works on (the open item it started
/// last): status and progress, the next open checkpoint, and the clarifications and feedback
/// it has not seen yet, which are then marked seen when `mark_seen`.
pub(crate) fn current_task_lines(
    conn: &Connection,
    session: &str,
    mark_seen: bool,
) -> Result<Vec<String>> {
    let found: Option<Item> = conn
        .query_row(
            &format!(
                "SELECT {COLUMNS} FROM items WHERE session = ?1 AND status NOT IN ('DONE', 'CANCELLED') \
                 AND kind != 'TODO' ORDER BY updated_at DESC, seq DESC LIMIT 1"
            ),
            [session],
            Item::from_row,
        )
        .optional()?;
    let Some(item) = found else {
        return Ok(Vec::new());
    };
    let mut lines = vec![format!(
        "Current task {} ({}, {}%): {}.",
        item.id, item.status, item.progress, item.title
    )];
    let next: Option<String> = conn
        .query_row(
            "SELECT text FROM checkpoints WHERE item = ?1 AND done = 0 ORDER BY id LIMIT 1",
            [&item.id],
            |row| row.get(0),
        )
        .optional()?;
    if let Some(next) = next {
        lines.push(format!("Next checkpoint: {next}."));
    }
    let mut statement = conn
        .prepare("SELECT id, kind, text FROM comments WHERE item = ?1 AND seen = 0 ORDER BY id")?;
    let unseen: Vec<(i64, String, String)> = statement
        .query_map([&item.id], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?
        .collect::<Result<_, _>>()?;
    for (_, kind, text) in &unseen {
        let label = if kind == "feedback" {
            "Feedback"
        } else {
            "Clarification"
        };
        lines.push(format!("{label} on {}: {text}", item.id));
    }
    if mark_seen && !unseen.is_empty() {
        let mut mark = conn.prepare("UPDATE comments SET seen = 1 WHERE id = ?1")?;
        for (id, _, _) in &unseen {
            mark.execute([id])?;
        }
    }
    Ok(lines)
}

/// Number every item 1, 2, 3, … in its current order.
fn renumber_all(conn: &Connection) -> Result<()> {
    let ids: Vec<String> = {
        let mut statement = conn.prepare("SELECT id FROM items ORDER BY topo, seq")?;
        statement
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?
    };
    let mut statement = conn.prepare_cached("UPDATE items SET topo = ?2 WHERE id = ?1")?;
    for (number, id) in ids.iter().enumerate() {
        statement.execute(params![id, number as f64 + 1.0])?;
    }
    Ok(())
}

/// The item a session works on: open and linked to it or assigned to it, the one in
/// progress first, else the latest changed (the rule `monitor` and `summary` show).
pub(crate) fn session_item(conn: &Connection, session: &str) -> Result<Option<Item>> {
    Ok(conn
        .query_row(
            &format!(
                "SELECT {COLUMNS} FROM items WHERE (session = ?1 OR assignee = ?1) \
                 AND status NOT IN ('DONE', 'CANCELLED') \
                 ORDER BY status != 'IN_PROGRESS', updated_at DESC LIMIT 1"
            ),
            [session],
            Item::from_row,
        )
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reaches(edges: &[(usize, usize)], from: usize, to: usize) -> bool {
        // Does `from` (transitively) depend on `to`?
        let mut stack = vec![from];
        let mut seen = [false; 64];
        while let Some(node) = stack.pop() {
            if node == to {
                return true;
            }
            for &(item, dep) in edges {
                if item == node && !seen[dep] {
                    seen[dep] = true;
                    stack.push(dep);
                }
            }
        }
        false
    }

    #[test]
    fn numbers_spread_strictly_inside_their_gap_or_not_at_all() {
        assert_eq!(spread_between(3, (1.0, 2.0)), Some(vec![1.25, 1.5, 1.75]));
        assert_eq!(spread_between(1, (4.0, 5.0)), Some(vec![4.5]));
        assert_eq!(spread_between(0, (4.0, 5.0)), Some(vec![]));
        // No room left between two neighbours: the caller numbers everything afresh.
        assert_eq!(spread_between(2, (1.0, 1.0 + 1e-12)), None);
        assert_eq!(spread_between(1, (3.0, 3.0)), None);
        for count in [1, 7, 100] {
            let numbers = spread_between(count, (10.0, 11.0)).unwrap();
            assert!(numbers.windows(2).all(|pair| pair[0] < pair[1]));
            assert!(numbers.iter().all(|n| *n > 10.0 && *n < 11.0));
        }
    }

    #[test]
    fn dependencies_keep_a_topological_order_and_refuse_exactly_the_cycles() {
        for seed in [0x2545_f491_4f6c_dd1du64, 7, 0x9e37_79b9_7f4a_7c15] {
            random_graph(seed);
        }
    }

    fn random_graph(seed: u64) {
        let dir = tempfile::tempdir().unwrap();
        let mut db = super::super::Db::open(
            &dir.path().join("t.db"),
            std::time::Duration::from_secs(1),
            false,
        )
        .unwrap();
        let n = 40;
        db.write(|tx| -> Result<()> {
            for i in 0..n {
                // Numbered in reverse, so that many edges go against the first order.
                tx.execute(
                    "INSERT INTO items (id, kind, title, status, priority, project, created_at, \
                     updated_at, seq, topo) VALUES (?1, 'TASK', 't', 'TODO', 2, 'p', 'x', 'x', ?2, ?3)",
                    params![format!("T-{i}"), i as i64 + 1, (n - i) as f64],
                )?;
            }
            Ok(())
        })
        .unwrap();
        let mut state = seed;
        let mut edges: Vec<(usize, usize)> = Vec::new();
        for _ in 0..700 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let (a, b) = (
                (state % n as u64) as usize,
                ((state >> 20) % n as u64) as usize,
            );
            if a == b {
                continue;
            }
            let expect_cycle = reaches(&edges, b, a);
            let result = db
                .write(|tx| add_dependency(tx, &format!("T-{a}"), &format!("T-{b}")))
                .unwrap();
            match result {
                Err(cycle) => {
                    assert!(
                        expect_cycle,
                        "T-{a} on T-{b}: no cycle, but refused: {cycle:?}"
                    );
                    assert_eq!(cycle.first(), cycle.last());
                    let index = |id: &String| id[2..].parse::<usize>().unwrap();
                    for pair in cycle.windows(2).skip(1) {
                        let edge = (index(&pair[0]), index(&pair[1]));
                        assert!(edges.contains(&edge), "{cycle:?} is not a path");
                    }
                }
                Ok(_) => {
                    assert!(!expect_cycle, "T-{a} on T-{b} closes a cycle");
                    if !edges.contains(&(a, b)) {
                        edges.push((a, b));
                    }
                }
            }
            let broken: i64 = db
                .conn()
                .query_row(
                    "SELECT count(*) FROM deps d JOIN items i ON i.id = d.item \
                     JOIN items x ON x.id = d.depends_on WHERE x.topo >= i.topo",
                    [],
                    |row| row.get(0),
                )
                .unwrap();
            assert_eq!(broken, 0, "the order holds after T-{a} on T-{b}");
        }
        assert!(edges.len() > 50, "{} edges", edges.len());
    }
}
