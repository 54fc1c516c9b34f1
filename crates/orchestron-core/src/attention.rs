//! The attention queue: the one place a person looks. It gathers, read only, everything that
//! waits for a person: unanswered questions (a worker asked with `task ask` and stopped),
//! BLOCKED items with their reason (a worker's failure among them), items waiting for review
//! (with the worker's branch), and paused sessions. Each entry carries the exact command
//! that acts on it.
//!
//! [`queue`] reads the whole queue (`orchestron attention`); [`update`] is what the hooks of
//! an interactive session ask: the entries that entered the queue since the tracker event
//! they last told of (a mark kept in the session document), so each is said once, when new.
//! Nothing here writes: the tracker is opened `query_only` (or not at all when the project
//! has none) and session documents are read without a lock.

use rusqlite::{Connection, OptionalExtension as _, params};
use serde::Serialize;
use serde_json::Value;

use crate::context::Context;
use crate::error::Result;
use crate::ids::SessionId;
use crate::session::{self, Lifecycle};
use crate::text::clip_line;
use crate::tracker::items::{COLUMNS, Item};
use crate::tracker::model::Status;
use crate::tracker::tasks::{self, query_items};

/// What waits for a person, in the order the queue lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An item with a question no clarification has answered yet.
    Question,
    /// A BLOCKED item: its reason, a worker's failure among them.
    Blocked,
    /// An item waiting for review (IN_REVIEW).
    Review,
    /// A paused session: its tool calls are refused until it is resumed (or, held by a
    /// review point, its writing tools until a person approves).
    Paused,
    /// A review point told a person (`notify-human`) and waits for them to acknowledge it.
    Notice,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Question => "question",
            Kind::Blocked => "blocked",
            Kind::Review => "review",
            Kind::Paused => "paused",
            Kind::Notice => "notice",
        }
    }
}

/// One entry of the queue.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub kind: Kind,
    /// The tracker item, for every kind but `paused`.
    pub item: Option<String>,
    /// The paused session, or the session that holds the item.
    pub session: Option<String>,
    pub title: String,
    /// When it entered the queue (RFC 3339).
    pub since: String,
    /// The question, the blocked reason or failure, the worker's note, the pause reason.
    pub reason: Option<String>,
    /// The worker's branch, when a worker did the item.
    pub branch: Option<String>,
    /// The command that acts on it.
    pub command: String,
    /// Every command that acts on it, the main one first.
    pub commands: Vec<String>,
    /// The tracker event that put it in the queue (0 for a session): what the hooks' mark
    /// compares with.
    #[serde(skip)]
    pub event: i64,
}

/// The history events that put an item in the queue or change why it is there.
const ENTERING_EVENTS: &str =
    "'status', 'question', 'blocked-reason', 'blocked_by_worker', 'review_point'";

/// An item with a review point's notice no approval has followed.
const NOTICE: &str = "id IN (SELECT e.item FROM events e WHERE e.what = 'review_point' \
    AND json_valid(e.detail) AND json_extract(e.detail, '$.action') = 'notify-human' \
    AND NOT EXISTS (SELECT 1 FROM events a WHERE a.item = e.item AND a.what = 'approved' \
    AND a.id > e.id))";

/// The most characters of a reason or a title an entry keeps.
const MAX_REASON_CHARS: usize = 500;
const MAX_TITLE_CHARS: usize = 200;

/// The whole queue: questions, blocked items, items in review, then paused sessions; within
/// a kind, the longest waiting first. Reads only, never creates anything.
pub fn queue(cx: &Context) -> Result<Vec<Entry>> {
    let mut entries = tracker_queue(cx)?;
    entries.extend(paused_sessions(cx)?);
    sort(&mut entries);
    Ok(entries)
}

/// The queue's entry for one item, if it is in the queue. Reads only.
pub fn entry_for(cx: &Context, raw: &str) -> Result<Option<Entry>> {
    if !cx.tracker_path().exists() {
        return Ok(None);
    }
    let db = cx.tracker_for_reads()?;
    let conn = db.conn();
    let id = crate::tracker::items::resolve(conn, raw)?;
    let item = crate::tracker::items::get(conn, &id)?;
    entry_of(conn, &item)
}

/// What the hooks of an interactive session tell: the queue's size and its new entries.
#[derive(Debug, Clone, Serialize)]
pub struct Update {
    /// How many entries the queue holds (paused sessions counted only when asked for).
    pub total: usize,
    /// The entries that entered the queue after the mark, in queue order.
    pub new: Vec<Entry>,
    /// The mark to keep: the newest tracker event seen.
    pub mark: i64,
}

/// The entries that entered the queue after tracker event `mark` (every entry when `mark`
/// is `None`: a session that was never told), and the new mark; `None` when there is nothing
/// new since the mark. With `sessions`, paused sessions are counted too (and, without a mark,
/// listed): that reads every session document, so SessionStart asks for it and
/// UserPromptSubmit does not. A project without a tracker is not opened.
///
/// Built for the hooks, so bounded: when no event is newer than the mark it costs one
/// indexed query; the total counts the IN_REVIEW and BLOCKED items from the status index
/// (plus any new question on an item in another status; an older one there is listed by
/// [`queue`] only); at most [`MAX_EXAMINED`] items are looked at for new entries.
pub fn update(cx: &Context, mark: Option<i64>, sessions: bool) -> Result<Option<Update>> {
    let paused = if sessions {
        paused_sessions(cx)?
    } else {
        Vec::new()
    };
    let mut new = Vec::new();
    let mut total = paused.len();
    let mut newest = mark.unwrap_or(0);
    if cx.tracker_path().exists() {
        let db = cx.tracker_for_reads()?;
        let conn = db.conn();
        newest = newest_event(conn)?;
        let fresh = mark.is_none_or(|mark| newest > mark);
        if !fresh && paused.is_empty() {
            return Ok(None);
        }
        let waiting: i64 = conn.query_row(
            "SELECT count(*) FROM items WHERE status IN ('IN_REVIEW', 'BLOCKED')",
            [],
            |row| row.get(0),
        )?;
        total += waiting as usize;
        if fresh {
            // The items a newer event touched (or, for a session never told, those waiting),
            // each asked whether it is in the queue because of such an event.
            let candidates = match mark {
                Some(mark) => query_items(
                    conn,
                    &format!(
                        "SELECT {COLUMNS} FROM items WHERE id IN                          (SELECT item FROM events WHERE id > ?1 AND what IN ({ENTERING_EVENTS}))                          ORDER BY priority, seq LIMIT {MAX_EXAMINED}"
                    ),
                    [mark],
                )?,
                None => query_items(
                    conn,
                    &format!(
                        "SELECT {COLUMNS} FROM items WHERE status IN ('IN_REVIEW', 'BLOCKED')                          ORDER BY priority, seq LIMIT {MAX_EXAMINED}"
                    ),
                    [],
                )?,
            };
            for item in &candidates {
                let Some(entry) = entry_of(conn, item)? else {
                    continue;
                };
                if mark.is_some_and(|mark| entry.event <= mark) {
                    continue;
                }
                if !matches!(item.status, Status::InReview | Status::Blocked) {
                    total += 1;
                }
                new.push(entry);
            }
        }
    }
    if mark.is_none() {
        new.extend(paused);
    }
    sort(&mut new);
    Ok(Some(Update {
        total,
        new,
        mark: newest,
    }))
}

/// The most items [`update`] looks at for new entries.
pub const MAX_EXAMINED: usize = 200;

/// A cheap fingerprint of the tracker's files: the size and modification time of the
/// database and of its write-ahead log, which every committed write changes (a read changes
/// neither). Two `stat` calls; `None` when the project has no tracker. The hooks keep it
/// beside their mark and open the tracker only when it differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub text: String,
    /// No file changed in the last [`SETTLE`]: a file system's clock may be coarse (a tick of
    /// a few milliseconds), so a write in the same tick as the last one could leave the same
    /// time and size; only a settled fingerprint proves nothing changed.
    pub settled: bool,
}

/// How long after a write the tracker's fingerprint is not trusted.
pub const SETTLE: std::time::Duration = std::time::Duration::from_secs(2);

/// The tracker's [`Fingerprint`] now, or `None` when the project has none.
pub fn tracker_fingerprint(cx: &Context) -> Option<Fingerprint> {
    let path = cx.tracker_path();
    let mut wal = path.clone().into_os_string();
    wal.push("-wal");
    let wall = std::time::SystemTime::now();
    let mut settled = true;
    let mut of = |path: &std::path::Path| -> String {
        match std::fs::metadata(path) {
            Ok(meta) => {
                let modified = meta.modified().ok();
                if modified
                    .is_none_or(|time| wall.duration_since(time).unwrap_or_default() < SETTLE)
                {
                    settled = false;
                }
                let nanos = modified
                    .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |since| since.as_nanos());
                format!("{}@{nanos}", meta.len())
            }
            Err(_) => "-".to_owned(),
        }
    };
    let database = of(&path);
    if database == "-" {
        return None;
    }
    let log = of(std::path::Path::new(&wal));
    Some(Fingerprint {
        text: format!("{database} {log}"),
        settled,
    })
}

/// The lines a hook injects for `update`: how many entries need a person, then the first
/// `first` new ones with their commands. Nothing when nothing is new.
pub fn describe(update: &Update, first: usize) -> Vec<String> {
    if update.new.is_empty() {
        return Vec::new();
    }
    let count = |n: usize| {
        if n == 1 {
            "1 entry needs".to_owned()
        } else {
            format!("{n} entries need")
        }
    };
    let head = if update.new.len() == update.total {
        format!(
            "Attention: {} a person (`orchestron attention` lists them):",
            count(update.total)
        )
    } else {
        format!(
            "Attention: {} new; {} a person in all (`orchestron attention` lists them):",
            update.new.len(),
            count(update.total)
        )
    };
    let mut lines = vec![head];
    for entry in update.new.iter().take(first) {
        lines.push(format!("- {}", one_line(entry)));
    }
    if update.new.len() > first {
        lines.push(format!("- and {} more", update.new.len() - first));
    }
    lines
}

/// An entry on one line, for people: `question TASK-1 "Title": why → `command``.
pub fn one_line(entry: &Entry) -> String {
    let who = entry
        .item
        .as_deref()
        .or(entry.session.as_deref())
        .unwrap_or("?");
    let reason = entry
        .reason
        .as_deref()
        .map(|reason| format!(": {}", clip_line(reason, 120)))
        .unwrap_or_default();
    format!(
        "{} {who} \"{}\"{reason} → `{}`",
        entry.kind.as_str(),
        clip_line(&entry.title, 60),
        entry.command
    )
}

fn sort(entries: &mut [Entry]) {
    entries.sort_by(|a, b| (a.kind, &a.since, a.event).cmp(&(b.kind, &b.since, b.event)));
}

/// The tracker's part of the queue; an empty one when the project has no tracker.
fn tracker_queue(cx: &Context) -> Result<Vec<Entry>> {
    if !cx.tracker_path().exists() {
        return Ok(Vec::new());
    }
    let db = cx.tracker_for_reads()?;
    tracker_entries(db.conn())
}

/// The newest event's id: the mark the hooks keep.
fn newest_event(conn: &Connection) -> Result<i64> {
    Ok(
        conn.query_row("SELECT COALESCE(max(id), 0) FROM events", [], |row| {
            row.get(0)
        })?,
    )
}

/// Every item in the queue: IN_REVIEW and BLOCKED items (from the status index) and open
/// items with a question (from the comments).
fn tracker_entries(conn: &Connection) -> Result<Vec<Entry>> {
    let candidates = query_items(
        conn,
        &format!(
            "SELECT {COLUMNS} FROM items WHERE status IN ('IN_REVIEW', 'BLOCKED') \
             OR (status NOT IN ('DONE', 'CANCELLED') \
                 AND (id IN (SELECT item FROM comments WHERE kind = 'question') OR {NOTICE})) \
             ORDER BY priority, seq"
        ),
        [],
    )?;
    let mut entries = Vec::new();
    for item in &candidates {
        entries.extend(entry_of(conn, item)?);
    }
    Ok(entries)
}

/// The item's entry, if it waits for a person.
fn entry_of(conn: &Connection, item: &Item) -> Result<Option<Entry>> {
    let id = item.id.as_str();
    if matches!(item.status, Status::Done | Status::Cancelled) {
        return Ok(None);
    }
    let (event, event_at): (i64, Option<String>) = conn
        .query_row(
            &format!(
                "SELECT id, at FROM events WHERE item = ?1 AND what IN ({ENTERING_EVENTS}) \
                 ORDER BY id DESC LIMIT 1"
            ),
            [id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?
        .map_or((0, None), |(event, at)| (event, Some(at)));
    let since = event_at.unwrap_or_else(|| item.updated_at.clone());
    let attempt = last_attempt(conn, id)?;
    let branch = attempt.as_ref().map(|attempt| attempt.branch.clone());
    let base = |kind: Kind, since: String, reason: Option<String>, commands: Vec<String>| Entry {
        kind,
        item: Some(id.to_owned()),
        session: item.session.clone(),
        title: clip_line(&item.title, MAX_TITLE_CHARS),
        since,
        reason: reason.map(|reason| clip_line(&reason, MAX_REASON_CHARS)),
        branch: branch.clone(),
        command: commands[0].clone(),
        commands,
        event,
    };
    if let Some(question) = tasks::open_question_of(conn, id)? {
        let mut commands = vec![format!("orchestron task answer {id} \"your answer\"")];
        if item.status == Status::Blocked {
            commands.push(format!("orchestron task update {id} --status TODO"));
        }
        return Ok(Some(base(
            Kind::Question,
            question.at,
            Some(question.text),
            commands,
        )));
    }
    match item.status {
        Status::Blocked => {
            let mut reason = item.blocked_reason.clone();
            // A worker's failure: what its last attempt ended with, when the reason does
            // not say it already.
            if let Some(attempt) = &attempt
                && let Some(outcome) = &attempt.outcome
                && outcome != "merged"
            {
                let failure = match &attempt.reason {
                    Some(why) => format!("attempt {} {outcome}: {why}", attempt.number),
                    None => format!("attempt {} {outcome}", attempt.number),
                };
                if !reason.as_deref().is_some_and(|r| r.contains(&failure)) {
                    reason = Some(match reason {
                        Some(reason) => format!("{reason} ({failure})"),
                        None => failure,
                    });
                }
            }
            let commands = vec![
                format!("orchestron task update {id} --status TODO"),
                format!("orchestron task answer {id} \"what to do\""),
            ];
            Ok(Some(base(Kind::Blocked, since, reason, commands)))
        }
        Status::InReview => {
            let note = latest_event_text(conn, id, "completion_note")?;
            let commands = if branch.is_some() {
                vec![
                    format!("orchestron review {id}"),
                    format!("orchestron review approve {id}"),
                    format!("orchestron review reject {id} --feedback \"what to change\""),
                ]
            } else {
                vec![
                    format!("orchestron task review {id}"),
                    format!("orchestron task approve {id}"),
                    format!("orchestron task feedback {id} \"what to change\""),
                ]
            };
            let reason = note.or_else(|| Some("waiting for review".to_owned()));
            Ok(Some(base(Kind::Review, since, reason, commands)))
        }
        _ => {
            let notice: Option<(String, Option<String>)> = conn
                .query_row(
                    &format!(
                        "SELECT at, json_extract(detail, '$.what') FROM events WHERE item = ?1 \
                         AND what = 'review_point' AND (SELECT 1 FROM items WHERE items.id = ?1 \
                         AND {NOTICE}) ORDER BY id DESC LIMIT 1"
                    ),
                    [id],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?;
            Ok(notice.map(|(at, what)| {
                base(
                    Kind::Notice,
                    at,
                    what,
                    vec![format!("orchestron approve {id}")],
                )
            }))
        }
    }
}

/// The text of the item's latest event `what` (its detail, a JSON string or any JSON).
pub(crate) fn latest_event_text(conn: &Connection, id: &str, what: &str) -> Result<Option<String>> {
    let detail: Option<Option<String>> = conn
        .query_row(
            "SELECT detail FROM events WHERE item = ?1 AND what = ?2 ORDER BY id DESC LIMIT 1",
            params![id, what],
            |row| row.get(0),
        )
        .optional()?;
    Ok(detail
        .flatten()
        .map(|raw| match serde_json::from_str::<Value>(&raw) {
            Ok(Value::String(text)) => text,
            _ => raw,
        }))
}

/// A worker's attempt at an item, as `worker_attempts` records it.
#[derive(Debug, Clone, Serialize)]
pub struct AttemptRow {
    pub number: i64,
    pub run: String,
    pub session: String,
    pub branch: String,
    pub log: String,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub outcome: Option<String>,
    pub reason: Option<String>,
    pub cost_usd: f64,
    pub turns: i64,
}

/// Every attempt at the item, first first.
pub(crate) fn attempts_of(conn: &Connection, id: &str) -> Result<Vec<AttemptRow>> {
    let mut statement = conn.prepare(
        "SELECT attempt, run, session, branch, log, started_at, ended_at, outcome, reason, \
         cost_usd, turns FROM worker_attempts WHERE item = ?1 ORDER BY attempt, id",
    )?;
    let rows = statement
        .query_map([id], |row| {
            Ok(AttemptRow {
                number: row.get(0)?,
                run: row.get(1)?,
                session: row.get(2)?,
                branch: row.get(3)?,
                log: row.get(4)?,
                started_at: row.get(5)?,
                ended_at: row.get(6)?,
                outcome: row.get(7)?,
                reason: row.get(8)?,
                cost_usd: row.get(9)?,
                turns: row.get(10)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

fn last_attempt(conn: &Connection, id: &str) -> Result<Option<AttemptRow>> {
    Ok(attempts_of(conn, id)?.pop())
}

/// The paused (and not expired) sessions. Reads every session document without a lock, but
/// parses one only when its text holds `"paused"`, and then only the fields it needs.
fn paused_sessions(cx: &Context) -> Result<Vec<Entry>> {
    let store = cx.store(crate::sessions::FOLDER);
    let now = cx.now();
    let mut entries = Vec::new();
    for id in store.ids()? {
        // A document removed or unreadable since the listing is not a paused session.
        let Ok(text) = store.read_text(&id) else {
            continue;
        };
        if !text.contains("\"paused\"") {
            continue;
        }
        let Ok(document) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        if let Some(entry) = paused_entry(&id, &document, now) {
            entries.push(entry);
        }
    }
    Ok(entries)
}

fn paused_entry(id: &SessionId, document: &Value, now: jiff::Timestamp) -> Option<Entry> {
    let lifecycle = Lifecycle::of(document).ok()?;
    if lifecycle.status(now) != session::Status::Paused {
        return None;
    }
    let text = |pointer: &str| document.pointer(pointer).and_then(Value::as_str);
    let since = text("/session/lifecycle/paused_at")
        .or(text("/session/lifecycle/last_activity"))
        .unwrap_or_default()
        .to_owned();
    let place = text("/session/branch")
        .map(|branch| format!(" on {branch}"))
        .unwrap_or_default();
    let title = format!("{} session{place}", text("/session/project").unwrap_or("a"));
    // Held for approval by a review point: approving is what lets it go on.
    let command = match text("/session/lifecycle/approval/command") {
        Some(command) => command.to_owned(),
        None => format!("orchestron session resume {id}"),
    };
    Some(Entry {
        kind: Kind::Paused,
        item: None,
        session: Some(id.to_string()),
        title: clip_line(&title, MAX_TITLE_CHARS),
        since,
        reason: text("/session/lifecycle/pause_reason")
            .map(|reason| clip_line(reason, MAX_REASON_CHARS)),
        branch: None,
        command: command.clone(),
        commands: vec![command],
        event: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: Kind, item: &str, event: i64) -> Entry {
        Entry {
            kind,
            item: Some(item.to_owned()),
            session: None,
            title: format!("Title of {item}"),
            since: "2026-01-01T00:00:00Z".to_owned(),
            reason: Some("why".to_owned()),
            branch: None,
            command: format!("orchestron task show {item}"),
            commands: vec![format!("orchestron task show {item}")],
            event,
        }
    }

    #[test]
    fn the_lines_say_how_many_and_the_first_few() {
        let all = Update {
            total: 2,
            new: vec![
                entry(Kind::Question, "T-1", 1),
                entry(Kind::Review, "T-2", 2),
            ],
            mark: 2,
        };
        let lines = describe(&all, 3);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[0].starts_with("Attention: 2 entries need a person"));
        assert!(lines[1].contains("question T-1 \"Title of T-1\": why"));
        let some = Update {
            total: 5,
            new: vec![entry(Kind::Blocked, "T-3", 9)],
            mark: 9,
        };
        let lines = describe(&some, 3);
        assert!(
            lines[0].starts_with("Attention: 1 new; 5 entries need a person in all"),
            "{lines:?}"
        );
        let many = Update {
            total: 5,
            new: (0..5).map(|i| entry(Kind::Blocked, "T", i)).collect(),
            mark: 5,
        };
        assert_eq!(describe(&many, 3).last().unwrap(), "- and 2 more");
        let none = Update {
            total: 4,
            new: Vec::new(),
            mark: 9,
        };
        assert!(describe(&none, 3).is_empty());
    }

    #[test]
    fn questions_come_first_then_the_longest_waiting() {
        let mut entries = vec![
            entry(Kind::Paused, "S", 0),
            entry(Kind::Review, "T-2", 5),
            entry(Kind::Question, "T-1", 7),
            Entry {
                since: "2025-12-31T00:00:00Z".to_owned(),
                ..entry(Kind::Review, "T-3", 9)
            },
        ];
        sort(&mut entries);
        let order: Vec<&str> = entries.iter().map(|e| e.item.as_deref().unwrap()).collect();
        assert_eq!(order, ["T-1", "T-3", "T-2", "S"]);
    }
}
