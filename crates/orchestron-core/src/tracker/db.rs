//! `<root>/orchestron.db`: opening it (WAL, busy timeout), the append-only migrations, and
//! write transactions that start `IMMEDIATE` so concurrent writers queue instead of failing.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail};
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

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
];

/// The version of the schema this binary writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// An open tracker database.
#[derive(Debug)]
pub struct Db {
    conn: Connection,
}

impl Db {
    /// Open (and on first use create and migrate) the database at `path`. Refuses a database
    /// written by a newer Orchestron.
    /// `fsync_every_commit` is `durability: full`; otherwise WAL's `synchronous=NORMAL`: a
    /// crash never corrupts the database, a power cut may lose the last commits.
    pub fn open(path: &Path, busy: Duration, fsync_every_commit: bool) -> anyhow::Result<Db> {
        if let Some(dir) = path.parent() {
            crate::store::create_private_dir(dir)?;
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| format!("cannot open `{}`", path.display()))?;
        conn.busy_timeout(busy)?;
        let synchronous = if fsync_every_commit { "FULL" } else { "NORMAL" };
        conn.pragma_update(None, "synchronous", synchronous)?;
        let mut db = Db { conn };
        db.prepare(path)
            .with_context(|| format!("cannot open the tracker `{}`", path.display()))?;
        Ok(db)
    }

    /// An empty tracker in memory, for reads in a project that has none yet: they see no
    /// items, and nothing is created on disk.
    pub fn empty() -> anyhow::Result<Db> {
        let mut conn = Connection::open_in_memory()?;
        let tx = conn.transaction()?;
        for sql in MIGRATIONS {
            tx.execute_batch(sql)?;
        }
        tx.commit()?;
        Ok(Db { conn })
    }

    fn prepare(&mut self, path: &Path) -> anyhow::Result<()> {
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))?;
        if version > SCHEMA_VERSION {
            bail!(
                "`{}` has schema version {version}, newer than this orchestron understands \
                 ({SCHEMA_VERSION}); upgrade orchestron",
                path.display()
            );
        }
        if version == SCHEMA_VERSION {
            self.conn.pragma_update(None, "foreign_keys", true)?;
            return Ok(());
        }
        // WAL is a property of the file: set once, at creation. The busy timeout covers a
        // concurrent first open.
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            bail!("the tracker needs WAL mode, but SQLite kept `{mode}`");
        }
        self.conn.pragma_update(None, "foreign_keys", true)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        for (step, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(sql)
                .with_context(|| format!("migration {} failed", step + 1))?;
        }
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        tx.commit()?;
        Ok(())
    }

    /// Run `change` in one `BEGIN IMMEDIATE` transaction: committed when it returns `Ok`,
    /// rolled back otherwise.
    pub fn write<T>(
        &mut self,
        change: impl FnOnce(&Transaction<'_>) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
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
