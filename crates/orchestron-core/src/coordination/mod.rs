//! Coordination between live sessions: file leases. The operations on the project's one
//! lease table (`<root>/coordination/leases.json`, see [`table`]), each a locked transaction or a
//! lock-free read, and what a tool call is told about a file others hold
//! ([`at_tool_time`]).
//!
//! Keys are paths relative to the repository's top level, resolved by the face (the same
//! file in two worktrees of one repository is one key); patterns are [`glob`]s over keys.
//! A session's entries count while the session lives: an ended or expired session's are
//! ignored wherever they are read, SessionEnd removes them, and their TTL drops them.

pub mod glob;
pub mod table;

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::ids::SessionId;
use crate::session::Lifecycle;
use crate::store::COORDINATION as LEASES;
use crate::tracker::model::Status as ItemStatus;
use table::{Found, Head, Kind, Lease, Stored, Table, Who};

/// The table's document in the [`LEASES`] folder.
fn document() -> SessionId {
    SessionId::from_name("leases")
}

fn seconds(at: Timestamp) -> i64 {
    at.as_second()
}

fn time(seconds: i64) -> String {
    Timestamp::from_second(seconds).map_or_else(|_| seconds.to_string(), |at| at.to_string())
}

fn until(now: Timestamp, ttl: Duration) -> i64 {
    seconds(now).saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX))
}

fn unreadable(cx: &Context, err: &dyn std::fmt::Display) -> Error {
    let path = cx.store(LEASES).document_path(&document());
    Error::internal(format!(
        "the file lease table `{}` is not readable: {err}",
        path.display()
    ))
    .with_hint(
        "leases are short-lived: removing the file drops them all, and sessions take them \
         again as they edit",
    )
}

fn parse(bytes: &[u8], cx: &Context) -> Result<Stored> {
    serde_json::from_slice(bytes).map_err(|err| unreadable(cx, &err))
}

fn decode(stored: &Stored, cx: &Context) -> Result<Table> {
    stored.decode().map_err(|err| unreadable(cx, &err))
}

/// The lease table as it is now, without a lock; empty when there is none.
pub fn read(cx: &Context) -> Result<Table> {
    match cx.store(LEASES).try_read_bytes(&document())? {
        Some(bytes) => decode(&parse(&bytes, cx)?, cx),
        None => Ok(Table::default()),
    }
}

/// Change the stored table under its lock; the sessions whose entries have all ended are
/// dropped on the way. `change` returns whether it changed anything, and its result.
fn transact_stored<T>(
    cx: &Context,
    change: impl FnOnce(&mut Stored) -> Result<(bool, T)>,
) -> Result<T> {
    let now = seconds(cx.now());
    let mut failure = None;
    let result = cx.store(LEASES).transact_bytes(&document(), |current| {
        let mut stored = match current {
            Some(bytes) => match parse(&bytes, cx) {
                Ok(stored) => stored,
                Err(err) => {
                    failure = Some(err);
                    return Ok((None, None));
                }
            },
            None => Stored::default(),
        };
        let dropped = stored.drop_ended(now);
        match change(&mut stored) {
            Ok((changed, result)) => {
                let bytes = (changed || dropped)
                    .then(|| serde_json::to_vec(&stored))
                    .transpose()?;
                Ok((bytes, Some(result)))
            }
            Err(err) => {
                failure = Some(err);
                Ok((None, None))
            }
        }
    })?;
    match (failure, result) {
        (Some(err), _) => Err(err),
        (None, Some(result)) => Ok(result),
        (None, None) => Err(Error::internal("the lease transaction returned nothing")),
    }
}

/// Change the whole decoded table under its lock; ended entries are dropped on the way.
fn transact<T>(cx: &Context, change: impl FnOnce(&mut Table) -> Result<(bool, T)>) -> Result<T> {
    let now = seconds(cx.now());
    transact_stored(cx, |stored| {
        let mut table = decode(stored, cx)?;
        let pruned = table.prune(now);
        let (changed, result) = change(&mut table)?;
        if changed || pruned {
            *stored = Stored::encode(&table).map_err(|err| unreadable(cx, &err))?;
        }
        Ok((changed || pruned, result))
    })
}

/// Record `session`'s edit of `key` (a PostToolUse of an editing tool): a touch lasting
/// `coordination.touch_ttl`. Only the session's own entries are parsed and rewritten, and a
/// touch renewed within the last minute is not written again. Returns whether the table
/// was written.
pub fn touch(
    cx: &Context,
    session: &SessionId,
    who: &Who,
    key: &str,
    item: Option<&str>,
) -> Result<bool> {
    let now = cx.now();
    let ends = until(now, cx.config().touch_ttl());
    let now = seconds(now);
    transact_stored(cx, |stored| {
        let (changed, ()) = stored
            .with_holder(session.as_str(), now, |holder| {
                if holder.fresh_touch(key, now, ends) {
                    return (false, ());
                }
                holder.touch(who, key, item, now, ends);
                (true, ())
            })
            .map_err(|err| unreadable(cx, &err))?;
        Ok((changed, changed))
    })
}

/// What `lease acquire` asks for: patterns already resolved to keys or globs over keys.
#[derive(Debug, Clone)]
pub struct Acquire {
    pub patterns: Vec<String>,
    pub ttl: Duration,
    pub exclusive: bool,
    /// The tracker item, as given (resolved here).
    pub item: Option<String>,
}

/// One entry as the commands show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub path: String,
    pub kind: &'static str,
    pub exclusive: bool,
    pub session: String,
    /// The agent the session works as, when known.
    pub agent: Option<String>,
    /// The item a worker session works on (it was started for it).
    pub worker: Option<String>,
    /// The item the entry is for: its own, else the item its session works on.
    pub item: Option<String>,
    pub title: Option<String>,
    pub since: String,
    /// The latest edit (a touch) or renewal (a lease).
    pub at: String,
    pub until: String,
    /// How long ago the latest edit or renewal was, in seconds.
    pub age_seconds: i64,
}

impl Row {
    /// Who holds it, in words: the agent's or worker's name where there is one.
    pub fn holder(&self) -> String {
        let short = self.session.get(..8).unwrap_or(&self.session);
        match (&self.agent, &self.worker) {
            (Some(agent), _) => format!("{agent} (session {short})"),
            (None, Some(item)) => format!("the worker on {item} (session {short})"),
            (None, None) => format!("session {short}"),
        }
    }

    /// The item in words, `T-3 "Title"`, when there is one.
    pub fn item_words(&self) -> Option<String> {
        let item = self.item.as_deref()?;
        Some(match &self.title {
            Some(title) => format!("{item} \"{title}\""),
            None => item.to_owned(),
        })
    }
}

/// What the reads look up about holders: whether each session lives, and the items and
/// titles of the tracker, each once.
struct Lookup<'a> {
    cx: &'a Context,
    now: Timestamp,
    live: HashMap<String, bool>,
    tracker: Option<crate::tracker::db::Db>,
    opened: bool,
}

impl<'a> Lookup<'a> {
    fn new(cx: &'a Context) -> Lookup<'a> {
        Lookup {
            cx,
            now: cx.now(),
            live: HashMap::new(),
            tracker: None,
            opened: false,
        }
    }

    /// Whether `session` is live: its document exists and it has neither ended nor
    /// expired. A document that cannot be read counts as live (the safe side).
    fn live(&mut self, session: &str) -> bool {
        if let Some(&known) = self.live.get(session) {
            return known;
        }
        let live = match SessionId::parse(session) {
            Err(_) => false,
            Ok(id) => match self.cx.store(crate::sessions::FOLDER).try_read(&id) {
                Ok(None) => false,
                Err(_) => true,
                Ok(Some(document)) => Lifecycle::of(&document).map_or(true, |lifecycle| {
                    let status = lifecycle.status(self.now);
                    !status.is_ended() && status != crate::session::Status::Expired
                }),
            },
        };
        self.live.insert(session.to_owned(), live);
        live
    }

    fn conn(&mut self) -> Option<&rusqlite::Connection> {
        if !self.opened {
            self.opened = true;
            if self.cx.tracker_path().exists() {
                self.tracker = self.cx.tracker_for_reads().ok();
            }
        }
        self.tracker.as_ref().map(crate::tracker::db::Db::conn)
    }

    fn row(&mut self, found: &Found<'_>) -> Row {
        let lease = found.lease;
        let mut item = lease.item.clone().or_else(|| found.holder.worker.clone());
        let mut title = None;
        if let Some(conn) = self.conn() {
            let known = match &item {
                Some(id) => crate::tracker::items::get(conn, id).ok(),
                None => crate::tracker::items::session_item(conn, found.session)
                    .ok()
                    .flatten()
                    .filter(|item| item.status == ItemStatus::InProgress),
            };
            if let Some(known) = known {
                item = Some(known.id);
                title = Some(known.title);
            }
        }
        Row {
            path: lease.path.clone(),
            kind: lease.kind.as_str(),
            exclusive: lease.exclusive,
            session: found.session.to_owned(),
            agent: found.holder.agent.clone(),
            worker: found.holder.worker.clone(),
            item,
            title,
            since: time(lease.since),
            at: time(lease.at),
            until: time(lease.until),
            age_seconds: (seconds(self.now) - lease.at).max(0),
        }
    }

    /// The rows of the entries of live sessions among `found`.
    fn rows(&mut self, found: &[Found<'_>]) -> Vec<Row> {
        let mut rows = Vec::new();
        for found in found {
            if self.live(found.session) {
                rows.push(self.row(found));
            }
        }
        rows
    }
}

/// What `lease acquire` did.
#[derive(Debug, Clone, Serialize)]
pub struct Acquired {
    /// The leases held now.
    pub leases: Vec<Row>,
    /// Others' touches and shared leases on the same files: not in the way, worth knowing.
    pub others: Vec<Row>,
}

/// Take (or renew) explicit leases for `session`. Refused, changing nothing, when another
/// live session holds an exclusive lease that meets one of the patterns, or when this one
/// is exclusive and another live session holds a lease (not a touch) that meets it.
pub fn acquire(
    cx: &Context,
    session: &SessionId,
    who: &Who,
    request: &Acquire,
) -> Result<Acquired> {
    if request.patterns.is_empty() {
        return Err(Error::invalid("name at least one path or glob to lease"));
    }
    if request.ttl.is_zero() {
        return Err(Error::invalid("the TTL must be longer than zero"));
    }
    let mut globs = Vec::new();
    for pattern in &request.patterns {
        globs.push(glob::covering(pattern).map_err(Error::invalid)?);
    }
    if !cx.store(crate::sessions::FOLDER).exists(session) {
        return Err(Error::session_not_found(session.as_str()));
    }
    if !Lookup::new(cx).live(session.as_str()) {
        return Err(Error::conflict(format!(
            "session {session} has ended or expired: a lease of it would count for nothing"
        ))
        .with_hint("lease from a live session (`orchestron session list --active`)"));
    }
    let item = request
        .item
        .as_deref()
        .map(|raw| crate::tracker::tasks::resolve_item(cx, raw))
        .transpose()?;
    let now = cx.now();
    let ends = until(now, request.ttl);
    let now_s = seconds(now);
    let id = session.as_str();
    let table = read(cx)?;
    // Who is in the way is decided on a lock-free read, then again under the lock.
    check_clashes(cx, &table, id, &globs, request.exclusive)?;
    let (held, others) = transact(cx, |table| {
        check_clashes(cx, table, id, &globs, request.exclusive)?;
        let mut held = Vec::new();
        for pattern in &request.patterns {
            let lease = table
                .acquire(
                    id,
                    who,
                    pattern,
                    request.exclusive,
                    item.as_deref(),
                    (now_s, ends),
                )
                .map_err(Error::invalid)?;
            held.push(lease);
        }
        Ok((true, held))
    })
    .map(|held| {
        let table = read(cx).unwrap_or_default();
        let mut lookup = Lookup::new(cx);
        let holder = table.sessions.get(id).cloned().unwrap_or_default();
        let rows: Vec<Row> = held
            .iter()
            .map(|lease| {
                lookup.row(&Found {
                    session: id,
                    holder: &holder,
                    lease,
                })
            })
            .collect();
        let mut others = Vec::new();
        for glob in &globs {
            let found = table.meeting(glob, Some(id), now_s);
            others.extend(lookup.rows(&found));
        }
        (rows, others)
    })?;
    Ok(Acquired {
        leases: held,
        others,
    })
}

fn check_clashes(
    cx: &Context,
    table: &Table,
    own: &str,
    globs: &[glob::Glob],
    exclusive: bool,
) -> Result<()> {
    let now = seconds(cx.now());
    let mut lookup = Lookup::new(cx);
    for glob in globs {
        let found: Vec<Found<'_>> = table
            .meeting(glob, Some(own), now)
            .into_iter()
            .filter(|found| found.lease.kind == Kind::Lease && (found.lease.exclusive || exclusive))
            .collect();
        if let Some(row) = lookup.rows(&found).into_iter().next() {
            let what = if row.exclusive {
                "an exclusive lease"
            } else {
                "a lease"
            };
            let item = row
                .item_words()
                .map(|item| format!(" for {item}"))
                .unwrap_or_default();
            return Err(Error::conflict(format!(
                "`{}` meets {what} on `{}` held by {}{item} since {}",
                glob.as_str(),
                row.path,
                row.holder(),
                row.since
            ))
            .with_hint(format!(
                "wait for it to end (at {}), or a person takes it with `orchestron lease \
                 release {} --force`",
                row.until,
                shell_word(&format!(":/{}", row.path))
            )));
        }
    }
    Ok(())
}

/// Lease `patterns` exclusively to the worker session `session` the supervisor is about to
/// start for `item` (its document does not exist yet, and no clash is checked: the
/// supervisor itself never runs two items whose files overlap). They last `ttl`, and go when
/// the attempt ends ([`end_session`]) or the worker's session does.
pub fn hold_for_worker(
    cx: &Context,
    session: &str,
    item: &str,
    patterns: &[String],
    ttl: Duration,
) -> Result<()> {
    if patterns.is_empty() {
        return Ok(());
    }
    let now = cx.now();
    let (now_s, ends) = (seconds(now), until(now, ttl));
    let who = Who {
        agent: None,
        worker: Some(item.to_owned()),
    };
    transact(cx, |table| {
        // An earlier attempt's worker on the same item holds nothing any more.
        table
            .sessions
            .retain(|other, holder| other == session || holder.worker.as_deref() != Some(item));
        for pattern in patterns {
            table
                .acquire(session, &who, pattern, true, Some(item), (now_s, ends))
                .map_err(Error::invalid)?;
        }
        Ok((true, ()))
    })
}

/// `text` as one shell word: bare when it is plain, else in single quotes.
pub fn shell_word(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%=,".contains(c))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// Release `session`'s explicit leases on `patterns`, or all its entries (touches too)
/// when `patterns` is `None`. With `force`, every session's entries on each pattern (a path
/// takes what covers it) go instead: what a person runs to take a file anyway. Returns what
/// went.
pub fn release(
    cx: &Context,
    session: Option<&SessionId>,
    patterns: Option<&[String]>,
    force: bool,
) -> Result<Vec<Row>> {
    let gone: Vec<(String, Holder, Lease)> = transact(cx, |table| {
        let mut gone = Vec::new();
        if force {
            let patterns =
                patterns.ok_or_else(|| Error::invalid("`--force` needs the paths to take"))?;
            for pattern in patterns {
                let holders = table.sessions.clone();
                for (session, lease) in table.force_release(pattern) {
                    let holder = holders.get(&session).cloned().unwrap_or_default();
                    gone.push((session, holder, lease));
                }
            }
        } else {
            let session = session.ok_or_else(|| {
                Error::invalid("no session: leases belong to a session").with_hint(
                    "run it from a Claude Code session, or name one with ORCHESTRON_SESSION; a \
                     person takes another session's lease with `--force`",
                )
            })?;
            let holder = table
                .sessions
                .get(session.as_str())
                .cloned()
                .unwrap_or_default();
            for lease in table.release(session.as_str(), patterns) {
                gone.push((session.as_str().to_owned(), holder.clone(), lease));
            }
        }
        Ok((!gone.is_empty(), gone))
    })?;
    let mut lookup = Lookup::new(cx);
    Ok(gone
        .iter()
        .map(|(session, holder, lease)| {
            lookup.row(&Found {
                session,
                holder,
                lease,
            })
        })
        .collect())
}

use table::Holder;

/// Every live entry of every live session, sorted by path then session.
pub fn list(cx: &Context) -> Result<Vec<Row>> {
    let table = read(cx)?;
    let now = seconds(cx.now());
    let found: Vec<Found<'_>> = table.entries(None, now).collect();
    let mut rows = Lookup::new(cx).rows(&found);
    rows.sort_by(|a, b| (&a.path, &a.session).cmp(&(&b.path, &b.session)));
    Ok(rows)
}

/// Who holds each of `keys`: the live entries that cover it, of every live session.
#[derive(Debug, Clone, Serialize)]
pub struct Checked {
    pub path: String,
    pub holders: Vec<Row>,
}

/// `lease check`: for each key, the live entries of live sessions that cover it.
pub fn check(cx: &Context, keys: &[String]) -> Result<Vec<Checked>> {
    let table = match cx.store(LEASES).try_read_bytes(&document())? {
        Some(bytes) => {
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            holders_of(cx, &bytes, &keys, None)?
        }
        None => Table::default(),
    };
    let now = seconds(cx.now());
    let mut lookup = Lookup::new(cx);
    Ok(keys
        .iter()
        .map(|key| {
            let found = table.covering(key, None, now);
            Checked {
                path: key.clone(),
                holders: lookup.rows(&found),
            }
        })
        .collect())
}

/// The patterns of the live exclusive leases of live sessions other than workers on `items`
/// (what the supervisor must not start a worker on).
pub fn exclusive_patterns(cx: &Context, items: &[String]) -> Result<Vec<String>> {
    let table = read(cx)?;
    let now = seconds(cx.now());
    let mut lookup = Lookup::new(cx);
    let mut patterns = Vec::new();
    for found in table.entries(None, now) {
        let mine = found
            .holder
            .worker
            .as_ref()
            .is_some_and(|item| items.contains(item));
        if found.lease.kind == Kind::Lease
            && found.lease.exclusive
            && !mine
            && lookup.live(found.session)
        {
            patterns.push(found.lease.path.clone());
        }
    }
    Ok(patterns)
}

/// Two live sessions whose leases or touches meet.
#[derive(Debug, Clone, Serialize)]
pub struct Overlap {
    /// The first session's entry and the second's, for each place they meet.
    pub a: Row,
    pub b: Row,
}

/// Every place two live sessions' live entries meet (a file both touched, a lease over
/// another's touch, two leases that share files), each pair of entries once.
pub fn overlaps(cx: &Context) -> Result<Vec<Overlap>> {
    let table = read(cx)?;
    let now = seconds(cx.now());
    let mut lookup = Lookup::new(cx);
    let found: Vec<Found<'_>> = table
        .entries(None, now)
        .collect::<Vec<_>>()
        .into_iter()
        .filter(|found| lookup.live(found.session))
        .collect();
    let globs: Vec<Option<glob::Glob>> = found.iter().map(|found| found.lease.pattern()).collect();
    let mut overlaps = Vec::new();
    for (i, a) in found.iter().enumerate() {
        for (j, b) in found.iter().enumerate().skip(i + 1) {
            if a.session == b.session {
                continue;
            }
            let meet = match (&globs[i], &globs[j]) {
                (Some(x), Some(y)) => glob::overlap(x, y),
                _ => false,
            };
            if meet {
                overlaps.push(Overlap {
                    a: lookup.row(a),
                    b: lookup.row(b),
                });
            }
        }
    }
    Ok(overlaps)
}

/// Release `session`'s explicit leases for `item` (it handed the item on). Returns how many.
pub fn release_for_item(cx: &Context, session: &SessionId, item: &str) -> Result<usize> {
    let Some(bytes) = cx.store(LEASES).try_read_bytes(&document())? else {
        return Ok(0);
    };
    if !parse(&bytes, cx)?.sessions.contains_key(session.as_str()) {
        return Ok(0);
    }
    transact(cx, |table| {
        let Some(holder) = table.sessions.get_mut(session.as_str()) else {
            return Ok((false, 0));
        };
        let before = holder.leases.len();
        holder
            .leases
            .retain(|lease| lease.kind != Kind::Lease || lease.item.as_deref() != Some(item));
        let gone = before - holder.leases.len();
        if holder.leases.is_empty() {
            table.sessions.remove(session.as_str());
        }
        Ok((gone > 0, gone))
    })
}

/// Forget `session`'s entries: it ended. Returns whether it held any. Reads first, so a
/// session that held nothing writes nothing.
pub fn end_session(cx: &Context, session: &SessionId) -> Result<bool> {
    let Some(bytes) = cx.store(LEASES).try_read_bytes(&document())? else {
        return Ok(false);
    };
    if !parse(&bytes, cx)?.sessions.contains_key(session.as_str()) {
        return Ok(false);
    }
    transact_stored(cx, |stored| {
        let held = stored.forget(session.as_str());
        Ok((held, held))
    })
}

/// The entries of the sessions (other than `own`) that may hold one of `keys`, from the
/// stored table `bytes`: only those whose entries name a key, or that hold a lease covering
/// one, are decoded.
fn holders_of(cx: &Context, bytes: &[u8], keys: &[&str], own: Option<&str>) -> Result<Table> {
    let stored = parse(bytes, cx)?;
    let quoted: Vec<String> = keys
        .iter()
        .map(|key| serde_json::to_string(key).unwrap_or_default())
        .collect();
    let covering: std::collections::HashSet<&str> = stored
        .globs
        .iter()
        .filter(|(pattern, _)| keys.iter().any(|key| table::glob_matches(pattern, key)))
        .map(|(_, holding)| holding.as_str())
        .collect();
    let mut table = Table::default();
    for (session, raw) in &stored.sessions {
        if own == Some(session.as_str()) {
            continue;
        }
        let named = quoted
            .iter()
            .any(|quoted| raw.get().contains(quoted.as_str()));
        if named || covering.contains(session.as_str()) {
            let holder = serde_json::from_str(raw.get()).map_err(|err| unreadable(cx, &err))?;
            table.sessions.insert(session.clone(), holder);
        }
    }
    Ok(table)
}

/// What a tool call on a file others hold is told.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Another live session holds an exclusive lease on it.
    Exclusive(Box<Row>),
    /// Other live sessions edited it recently, or hold a shared lease on it.
    Touched(Vec<Row>),
}

/// PreToolUse's question for session `own` about to edit `key`: is the file another live
/// session's? Reads the table without a lock (one file), then only the documents of the
/// sessions found holding it.
pub fn at_tool_time(cx: &Context, own: &SessionId, key: &str) -> Result<Option<Verdict>> {
    let Some(bytes) = cx.store(LEASES).try_read_bytes(&document())? else {
        return Ok(None);
    };
    let now = seconds(cx.now());
    let text = std::str::from_utf8(&bytes).map_err(|err| unreadable(cx, &err))?;
    let head = Head::read(text).map_err(|err| unreadable(cx, &err))?;
    if !head.may_hold(text, key, own.as_str(), now) {
        return Ok(None);
    }
    let table = holders_of(cx, &bytes, &[key], Some(own.as_str()))?;
    let found = table.covering(key, Some(own.as_str()), now);
    if found.is_empty() {
        return Ok(None);
    }
    let rows = Lookup::new(cx).rows(&found);
    if let Some(row) = rows.iter().find(|row| row.exclusive && row.kind == "lease") {
        return Ok(Some(Verdict::Exclusive(Box::new(row.clone()))));
    }
    Ok((!rows.is_empty()).then_some(Verdict::Touched(rows)))
}

/// `path` with `.` and `..` taken out lexically (a link is not followed: the key is the
/// path as the tool named it).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `path` as the file system resolves it: its deepest existing ancestor with every link
/// followed, then the rest of it by name.
fn resolve(path: &Path) -> PathBuf {
    let path = normalize(path);
    let mut existing = path.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(mut real) = std::fs::canonicalize(existing) {
            for part in rest.iter().rev() {
                real.push(part);
            }
            return real;
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => return path,
        }
    }
}

/// A path typed with git's `:/` (from the repository's top level) as the path and the folder
/// it is relative to.
fn from_top<'a>(raw: &'a str, cwd: &'a Path, home: &'a Path) -> (&'a str, &'a Path) {
    match raw.strip_prefix(":/") {
        Some(rest) => (if rest.is_empty() { "." } else { rest }, home),
        None => (raw, cwd),
    }
}

/// The key of the file at `path` (absolute, relative to `cwd`, or `:/`-prefixed, from the
/// top): its path, links resolved, relative to the top level of its checkout, when that
/// checkout is this repository (whose main worktree, or outside git whose project folder,
/// is `home`) or one of its linked worktrees. A folder with a `.git` that is neither (a
/// submodule, a stray `.git`) is part of the checkout around it. `None` for a file
/// elsewhere. Reads the file system's links and the checkouts' `.git` files.
pub fn key_of(path: &Path, cwd: &Path, home: &Path) -> Option<String> {
    let raw = path.to_str().unwrap_or_default();
    let (raw, cwd) = from_top(raw, cwd, home);
    let path = if raw.is_empty() { path } else { Path::new(raw) };
    let home = std::fs::canonicalize(home).unwrap_or_else(|_| home.to_path_buf());
    let path = resolve(&cwd.join(path));
    let top = path.ancestors().find(|dir| {
        *dir == home
            || (dir.join(".git").exists() && {
                let location = crate::repo::locate(dir);
                location.is_linked_worktree()
                    && std::fs::canonicalize(&location.home).is_ok_and(|main| main == home)
            })
    })?;
    let relative = path.strip_prefix(top).ok()?;
    let key = relative
        .components()
        .map(|part| part.as_os_str().to_str())
        .collect::<Option<Vec<_>>>()?
        .join("/");
    Some(key)
}

/// A path or glob typed in `cwd` (or `:/`-prefixed, from the repository's top level) as a
/// pattern over keys: a glob's literal leading folders are resolved like a path, a path
/// that exists as typed is taken literally even with glob characters in its name (escaped),
/// and an existing folder stands for everything in it (`folder/**`; a plain path covers what
/// is under it anyway). Refused when it lies outside the repository at `home`, or is not a
/// glob.
pub fn pattern_of(raw_typed: &str, cwd: &Path, home: &Path) -> Result<String> {
    let outside = || {
        Error::invalid(format!(
            "`{raw_typed}` is outside the repository at {}: leases and declared files are its \
             files",
            home.display()
        ))
    };
    let (raw, cwd) = from_top(raw_typed, cwd, home);
    let exists = std::fs::symlink_metadata(cwd.join(raw)).is_ok();
    let pattern = if glob::is_glob(raw) && !exists {
        let parts: Vec<&str> = raw.split('/').collect();
        let literal = parts
            .iter()
            .position(|part| glob::is_glob(part))
            .unwrap_or(parts.len());
        let (prefix, rest) = parts.split_at(literal);
        let prefix = prefix.join("/");
        let prefix = match (prefix.is_empty(), raw.starts_with('/')) {
            (true, true) => "/".to_owned(),
            (true, false) => ".".to_owned(),
            (false, _) => prefix,
        };
        let base = key_of(Path::new(&prefix), cwd, home).ok_or_else(outside)?;
        let rest = rest.join("/");
        if base.is_empty() {
            rest
        } else {
            format!("{}/{rest}", glob::escape(&base))
        }
    } else {
        let key = key_of(Path::new(raw), cwd, home).ok_or_else(outside)?;
        let literal = if glob::is_glob(&key) {
            glob::escape(&key)
        } else {
            key.clone()
        };
        match (key.is_empty(), cwd.join(raw).is_dir()) {
            (true, _) => "**".to_owned(),
            (false, true) => format!("{literal}/**"),
            (false, false) => literal,
        }
    };
    glob::Glob::parse(&pattern)
        .map_err(|why| Error::invalid(format!("bad glob `{raw_typed}`: {why}")))?;
    Ok(pattern)
}

/// How long ago `seconds` was, in words: `just now`, `3 min ago`, `2 h ago`.
pub fn ago(seconds: i64) -> String {
    match seconds {
        ..60 => "just now".to_owned(),
        60..3_600 => format!("{} min ago", seconds / 60),
        3_600..86_400 => format!("{} h ago", seconds / 3_600),
        _ => format!("{} days ago", seconds / 86_400),
    }
}
