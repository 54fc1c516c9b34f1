//! `<root>/orchestron.db`: opening it (WAL, busy timeout), the append-only migrations, and
//! write transactions that start `IMMEDIATE` so concurrent writers queue instead of failing.

use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use crate::error::{Error, Result};

/// The schema, one step per release that changed it. Never edit a step that has shipped:
/// append a new one. `PRAGMA user_version` counts the steps applied.
const MIGRATIONS: &[&str] = &[
    // 1: work items, their dependencies, labels, checkpoints, comments and history.
    "
    CREATE TABLE items (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        parent TEXT REFERENCES items(id) ON DELETE SET NULL,
        title TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        priority INTEGER NOT NULL,
        estimate REAL,
        assignee TEXT,
        progress INTEGER NOT NULL DEFAULT 0,
        notes TEXT NOT NULL DEFAULT '',
        blocked_reason TEXT,
        project TEXT NOT NULL,
        session TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        started_at TEXT,
        completed_at TEXT,
        seq INTEGER NOT NULL,
        topo REAL NOT NULL,
        open_deps INTEGER NOT NULL DEFAULT 0,
        v2_key TEXT,
        data TEXT NOT NULL DEFAULT '{}'
    );
    CREATE UNIQUE INDEX items_v2_key ON items(project, v2_key) WHERE v2_key IS NOT NULL;
    CREATE UNIQUE INDEX items_seq ON items(seq);
    CREATE INDEX items_topo ON items(topo);
    CREATE INDEX items_status_priority ON items(status, priority, seq);
    CREATE INDEX items_ready ON items(status, open_deps, priority, seq);
    CREATE INDEX items_parent ON items(parent);
    CREATE INDEX items_assignee ON items(assignee, status);
    CREATE TABLE deps (
        item TEXT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
        depends_on TEXT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
        PRIMARY KEY (item, depends_on)
    ) WITHOUT ROWID;
    CREATE INDEX deps_reverse ON deps(depends_on, item);
    CREATE TABLE labels (
        item TEXT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
        label TEXT NOT NULL,
        PRIMARY KEY (item, label)
    ) WITHOUT ROWID;
    CREATE INDEX labels_by_label ON labels(label, item);
    CREATE TABLE checkpoints (
        id INTEGER PRIMARY KEY,
        item TEXT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
        text TEXT NOT NULL,
        done INTEGER NOT NULL DEFAULT 0,
        at TEXT NOT NULL,
        done_at TEXT
    );
    CREATE INDEX checkpoints_item ON checkpoints(item, id);
    CREATE TABLE comments (
        id INTEGER PRIMARY KEY,
        item TEXT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        text TEXT NOT NULL,
        at TEXT NOT NULL,
        by TEXT,
        seen INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX comments_item ON comments(item, id);
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        item TEXT NOT NULL,
        at TEXT NOT NULL,
        what TEXT NOT NULL,
        detail TEXT,
        session TEXT,
        agent TEXT
    );
    CREATE INDEX events_item ON events(item, id);
    CREATE TABLE decisions (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        rationale TEXT NOT NULL DEFAULT '',
        alternatives TEXT NOT NULL DEFAULT '[]',
        pros TEXT NOT NULL DEFAULT '[]',
        cons TEXT NOT NULL DEFAULT '[]',
        item TEXT REFERENCES items(id) ON DELETE SET NULL,
        project TEXT NOT NULL,
        session TEXT,
        created_at TEXT NOT NULL,
        seq INTEGER NOT NULL UNIQUE
    );
    CREATE TABLE sprints (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        goal TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        project TEXT NOT NULL,
        start_date TEXT,
        duration_days INTEGER NOT NULL,
        epic TEXT REFERENCES items(id) ON DELETE SET NULL,
        v2_key TEXT,
        data TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        started_at TEXT,
        completed_at TEXT,
        seq INTEGER NOT NULL UNIQUE
    );
    CREATE UNIQUE INDEX sprints_v2_key ON sprints(project, v2_key) WHERE v2_key IS NOT NULL;
    CREATE TABLE sprint_items (
        sprint TEXT NOT NULL REFERENCES sprints(id) ON DELETE CASCADE,
        item TEXT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
        added_at TEXT NOT NULL,
        PRIMARY KEY (sprint, item)
    ) WITHOUT ROWID;
    CREATE INDEX sprint_items_item ON sprint_items(item);
    CREATE TABLE time_entries (
        id INTEGER PRIMARY KEY,
        item TEXT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
        started_at TEXT NOT NULL,
        stopped_at TEXT,
        hours REAL,
        note TEXT,
        session TEXT
    );
    CREATE INDEX time_entries_item ON time_entries(item, id);
    CREATE TABLE configs (
        project TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE tools (
        name TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        version TEXT,
        description TEXT,
        path TEXT,
        dependencies TEXT NOT NULL DEFAULT '[]',
        config TEXT NOT NULL DEFAULT '{}',
        registered_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE memory (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        confidence REAL NOT NULL DEFAULT 0.5,
        details TEXT NOT NULL DEFAULT '[]',
        project TEXT NOT NULL,
        session TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (kind, key)
    );
    CREATE VIRTUAL TABLE memory_search USING fts5(
        kind, key, description, details, content = 'memory', content_rowid = 'id'
    );
    CREATE TRIGGER memory_added AFTER INSERT ON memory BEGIN
        INSERT INTO memory_search (rowid, kind, key, description, details)
        VALUES (new.id, new.kind, new.key, new.description, new.details);
    END;
    CREATE TRIGGER memory_removed AFTER DELETE ON memory BEGIN
        INSERT INTO memory_search (memory_search, rowid, kind, key, description, details)
        VALUES ('delete', old.id, old.kind, old.key, old.description, old.details);
    END;
    CREATE TRIGGER memory_changed AFTER UPDATE ON memory BEGIN
        INSERT INTO memory_search (memory_search, rowid, kind, key, description, details)
        VALUES ('delete', old.id, old.kind, old.key, old.description, old.details);
        INSERT INTO memory_search (rowid, kind, key, description, details)
        VALUES (new.id, new.kind, new.key, new.description, new.details);
    END;
    ",
    // 2: indexes for the views (`board`, `summary`, `monitor`): counts by kind and status
    // without reading rows, and the latest finished items in order.
    "
    CREATE INDEX items_kind_status ON items(kind, status);
    CREATE INDEX items_completed ON items(status, completed_at);
    ",
    // 3: a session's history in order, for the handoff it leaves at its end (the items it
    // claimed, worked on or completed) without reading every event.
    "
    CREATE INDEX events_session ON events(session, id) WHERE session IS NOT NULL;
    ",
    // 4: claim leases and workers. A claim has a generation (a fencing token, bumped by
    // every claim) and a lease renewed at `lease_at` (the lease ends `claims.lease` after the
    // later of `lease_at` and the claimer session's last activity). `worker_runs` holds one
    // row per `workers run` (its supervisor process), `worker_attempts` one per attempt of a
    // worker on an item: its process, branch, worktree, log, outcome and cost.
    "
    ALTER TABLE items ADD COLUMN claim_gen INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE items ADD COLUMN lease_at TEXT;
    CREATE TABLE worker_runs (
        id TEXT PRIMARY KEY,
        pid INTEGER NOT NULL,
        pid_start TEXT,
        into_branch TEXT NOT NULL,
        options TEXT NOT NULL DEFAULT '{}',
        started_at TEXT NOT NULL,
        ended_at TEXT,
        outcome TEXT,
        cost_usd REAL NOT NULL DEFAULT 0,
        seq INTEGER NOT NULL UNIQUE
    );
    CREATE INDEX worker_runs_open ON worker_runs(ended_at) WHERE ended_at IS NULL;
    CREATE TABLE worker_attempts (
        id INTEGER PRIMARY KEY,
        item TEXT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
        attempt INTEGER NOT NULL,
        run TEXT NOT NULL,
        session TEXT NOT NULL,
        generation INTEGER NOT NULL,
        pid INTEGER,
        pid_start TEXT,
        branch TEXT NOT NULL,
        worktree TEXT NOT NULL,
        log TEXT NOT NULL,
        started_at TEXT NOT NULL,
        last_event_at TEXT,
        last_tool TEXT,
        ended_at TEXT,
        outcome TEXT,
        reason TEXT,
        cost_usd REAL NOT NULL DEFAULT 0,
        turns INTEGER NOT NULL DEFAULT 0,
        usage TEXT NOT NULL DEFAULT '{}',
        data TEXT NOT NULL DEFAULT '{}',
        UNIQUE (item, attempt)
    );
    CREATE INDEX worker_attempts_open ON worker_attempts(ended_at) WHERE ended_at IS NULL;
    CREATE INDEX worker_attempts_run ON worker_attempts(run, id);
    ",
    // 5: the files an item expects to touch, as globs over paths from the repository's top
    // level: the supervisor leases them for its worker and never runs two items whose
    // files overlap at once.
    "
    CREATE TABLE item_files (
        item TEXT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
        pattern TEXT NOT NULL,
        PRIMARY KEY (item, pattern)
    ) WITHOUT ROWID;
    ",
    // 6: task handoffs between agents: an item offered to an agent or a session, with the
    // context it needs, until it is accepted, taken, or `expires_at` passes. One open offer
    // per item.
    "
    CREATE TABLE offers (
        item TEXT PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
        to_whom TEXT NOT NULL,
        context TEXT NOT NULL,
        next_steps TEXT NOT NULL DEFAULT '[]',
        from_session TEXT,
        at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    CREATE INDEX offers_to ON offers(to_whom);
    ",
    // 7: review points: a decision's severity, and the approval of one that paused its
    // session.
    "
    ALTER TABLE decisions ADD COLUMN severity TEXT;
    ALTER TABLE decisions ADD COLUMN approved_at TEXT;
    ALTER TABLE decisions ADD COLUMN approval_feedback TEXT;
    ",
    // 8: the open items in order (`task list`, the MCP `task_list`) without sorting the
    // whole table: 19 ms to 2 ms at 100,000 items (`bench/mcp`).
    "
    CREATE INDEX items_priority_seq ON items(priority, seq);
    ",
];

/// The version of the schema this binary writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The tracker's file name in the state root.
pub const FILE_NAME: &str = "orchestron.db";

/// An open tracker database.
#[derive(Debug)]
pub struct Db {
    conn: Connection,
}

/// What `doctor` learns about a tracker file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// No tracker yet: the first write creates it.
    Missing,
    /// Opens, passes SQLite's quick check, and has this schema version.
    Ok { schema: i64 },
    /// Written by a newer Orchestron.
    Newer { schema: i64 },
    /// Damaged: zero bytes, not a database, or failing the quick check; the message says how.
    Damaged(String),
}

impl Db {
    /// Open the database at `path` for writing, creating it on first use. Refuses a database
    /// written by a newer Orchestron, and a damaged one (such as a zero-byte file) rather
    /// than treating it as empty.
    ///
    /// A new tracker is built whole in a temporary file (WAL set, every migration applied)
    /// and linked into place, so no process ever sees a half-made one, and parallel first
    /// writers never race on the migrations: one link wins and the others use it.
    /// `fsync_every_commit` is `durability: full`; otherwise WAL's `synchronous=NORMAL`: a
    /// crash never corrupts the database, a power cut may lose the last commits.
    pub fn open(path: &Path, busy: Duration, fsync_every_commit: bool) -> Result<Db> {
        if !path.exists() {
            create(path, busy)?;
        }
        let meta = check_not_empty(path)?;
        keep_private(path, &meta);
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| format!("cannot open `{}`", path.display()))?;
        conn.busy_timeout(busy)?;
        let synchronous = if fsync_every_commit { "FULL" } else { "NORMAL" };
        conn.pragma_update(None, "synchronous", synchronous)?;
        let mut db = Db { conn };
        db.prepare(path)?;
        Ok(db)
    }

    /// Open the database at `path` for reads only: `query_only` when it exists, else an empty
    /// tracker in memory, so a read never creates a file. A database that needs a migration
    /// is read through an upgraded copy in memory rather than changed.
    pub fn open_for_reads(path: &Path, busy: Duration) -> Result<Db> {
        if !path.exists() {
            return Db::empty();
        }
        check_not_empty(path)?;
        // Not `SQLITE_OPEN_READ_ONLY`: a read-only connection to a WAL database leaves its
        // `-wal` and `-shm` files behind, and a read must change nothing on disk. Opened for
        // writing (never creating) but with `query_only`, the last connection to close
        // removes them as SQLite always does; a file the process may not write is still
        // opened read-only.
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| format!("cannot open `{}`", path.display()))?;
        conn.busy_timeout(busy)?;
        conn.pragma_update(None, "query_only", true)?;
        let version = schema_version(&conn, path)?;
        if version < SCHEMA_VERSION {
            // An older tracker: the first write migrates it; a read upgrades a copy.
            let mut copy = Connection::open_in_memory()?;
            rusqlite::backup::Backup::new(&conn, &mut copy)?.run_to_completion(
                1024,
                Duration::ZERO,
                None,
            )?;
            let mut db = Db { conn: copy };
            db.migrate(version)?;
            return Ok(db);
        }
        Ok(Db { conn })
    }

    /// An empty tracker in memory, for reads in a project that has none yet: they see no
    /// items, and nothing is created on disk.
    pub fn empty() -> Result<Db> {
        let mut db = Db {
            conn: Connection::open_in_memory()?,
        };
        db.migrate(0)?;
        Ok(db)
    }

    /// How the tracker at `path` is, for `doctor`; changes nothing.
    pub fn health(path: &Path) -> Health {
        if !path.exists() {
            return Health::Missing;
        }
        if let Err(err) = check_not_empty(path) {
            return Health::Damaged(err.message().to_owned());
        }
        // As for reads: opened for writing but `query_only`, so no WAL file is left behind.
        let opened = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .and_then(|conn| conn.pragma_update(None, "query_only", true).map(|()| conn));
        let conn = match opened {
            Ok(conn) => conn,
            Err(err) => return Health::Damaged(format!("it cannot be opened: {err}")),
        };
        let version: i64 = match conn.query_row("PRAGMA user_version", [], |row| row.get(0)) {
            Ok(version) => version,
            Err(err) => return Health::Damaged(format!("it is not a tracker database: {err}")),
        };
        if version > SCHEMA_VERSION {
            return Health::Newer { schema: version };
        }
        let check: rusqlite::Result<String> =
            conn.query_row("PRAGMA quick_check", [], |row| row.get(0));
        match check {
            Ok(verdict) if verdict == "ok" => Health::Ok { schema: version },
            Ok(verdict) => Health::Damaged(format!("SQLite's quick check failed: {verdict}")),
            Err(err) => Health::Damaged(format!("SQLite's quick check failed: {err}")),
        }
    }

    fn prepare(&mut self, path: &Path) -> Result<()> {
        let version = schema_version(&self.conn, path)?;
        self.conn.pragma_update(None, "foreign_keys", true)?;
        if version < SCHEMA_VERSION {
            // An older tracker: the steps it lacks, in one IMMEDIATE transaction that waits
            // for the busy timeout like any write.
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let version: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
            apply(&tx, version)?;
            tx.commit()?;
        }
        Ok(())
    }

    fn migrate(&mut self, from: i64) -> Result<()> {
        let tx = self.conn.transaction()?;
        apply(&tx, from)?;
        tx.commit()?;
        self.conn.pragma_update(None, "foreign_keys", true)?;
        Ok(())
    }

    /// Run `change` in one `BEGIN IMMEDIATE` transaction: committed when it returns `Ok`,
    /// rolled back otherwise.
    pub fn write<T, E: From<rusqlite::Error>>(
        &mut self,
        change: impl FnOnce(&Transaction<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = change(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    /// The connection, for reads.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }
}

/// Apply the migrations after `from` and record the version.
fn apply(tx: &Transaction<'_>, from: i64) -> Result<()> {
    for (step, sql) in MIGRATIONS.iter().enumerate().skip(from.max(0) as usize) {
        tx.execute_batch(sql)
            .with_context(|| format!("migration {} failed", step + 1))?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    Ok(())
}

/// The schema version of an open database, refusing a newer one.
fn schema_version(conn: &Connection, path: &Path) -> Result<i64> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(|err| damaged(path, &format!("it is not a tracker database ({err})")))?;
    if version > SCHEMA_VERSION {
        return Err(Error::conflict(format!(
            "`{}` has schema version {version}, newer than this orchestron understands \
             ({SCHEMA_VERSION})",
            path.display()
        ))
        .with_hint("upgrade orchestron"));
    }
    Ok(version)
}

/// A zero-byte tracker is damage (a tracker is linked into place whole), never an empty one.
/// Returns the file's metadata.
fn check_not_empty(path: &Path) -> Result<std::fs::Metadata> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    if meta.len() == 0 {
        return Err(damaged(path, "it is empty (zero bytes)"));
    }
    Ok(meta)
}

/// The tracker's permissions: read and written by its owner only. SQLite gives the `-wal`
/// and `-shm` files the database's own mode, so they follow.
const PRIVATE_MODE: u32 = 0o600;

/// Bring a tracker that others may read (made by an older Orchestron, or copied in) down to
/// [`PRIVATE_MODE`] before a write, with its `-wal` and `-shm` files. Costs nothing when it
/// is private already: `meta` was read anyway. Best effort: a file this user may not change
/// the mode of (another's) is left as it is rather than failing the write.
fn keep_private(path: &Path, meta: &std::fs::Metadata) {
    use std::os::unix::fs::PermissionsExt as _;
    if meta.permissions().mode() & 0o777 & !PRIVATE_MODE == 0 {
        return;
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let _ = std::fs::set_permissions(file, std::fs::Permissions::from_mode(PRIVATE_MODE));
    }
}

fn damaged(path: &Path, how: &str) -> Error {
    Error::internal(format!(
        "the tracker `{}` is damaged: {how}",
        path.display()
    ))
    .with_hint(
        "restore it from a backup, or move it aside to start an empty tracker \
         (`orchestron import` loads an export); `orchestron doctor` checks it",
    )
}

/// Build a new tracker at `path`: in a temporary file beside it, then linked into place.
fn create(path: &Path, busy: Duration) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    // The tracker sits in the state root: made here, with its `.gitignore`, when missing.
    crate::store::create_state_root(dir)?;
    let temp = dir.join(format!(
        ".{FILE_NAME}.{}.{}.tmp",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos())
    ));
    let built = (|| -> Result<()> {
        // The file is made here, exclusively and private, before SQLite opens it (an empty
        // file is a new database to SQLite): so it is 0600 from the start, whatever the
        // umask, and its `-wal` and `-shm` files take that mode.
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(PRIVATE_MODE)
            .open(&temp)
            .with_context(|| format!("cannot create `{}`", temp.display()))?;
        let mut conn = Connection::open_with_flags(
            &temp,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_NOFOLLOW,
        )
        .with_context(|| format!("cannot create `{}`", temp.display()))?;
        conn.busy_timeout(busy)?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::internal(format!(
                "the tracker needs WAL mode, but SQLite kept `{mode}`"
            )));
        }
        let tx = conn.transaction()?;
        apply(&tx, 0)?;
        tx.commit()?;
        conn.close().map_err(|(_, err)| err)?;
        Ok(())
    })();
    let linked = built.and_then(|()| match std::fs::hard_link(&temp, path) {
        Ok(()) => Ok(()),
        // Another process made it first: use theirs.
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(anyhow::Error::new(err)
            .context(format!("cannot create `{}`", path.display()))
            .into()),
    });
    for leftover in [
        temp.clone(),
        temp.with_extension("tmp-wal"),
        temp.with_extension("tmp-shm"),
    ] {
        let _ = std::fs::remove_file(leftover);
    }
    linked
}
