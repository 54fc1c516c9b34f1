//! The locked document store: session documents at `<dir>/<id>.json`, each guarded by a
//! sidecar `<id>.lock`.
//!
//! Every change goes through [`Store::transact`] (or [`Store::transact_pair`] for two
//! documents): take the sidecar lock, read, let the caller change the value, write a temp file
//! in the same directory and rename it over the document. So:
//! - writers never lose each other's updates, because each reads under the lock;
//! - readers take no lock and never see a torn file, because a rename is atomic;
//! - a killed writer leaves at worst a stale `<id>.json.tmp`, which the next writer replaces;
//! - a change that changes nothing writes nothing.
//!
//! The lock is on the sidecar, never the document, because the rename replaces the
//! document's inode. This module knows nothing of what a session is.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::Value;

use crate::config::Durability;
use crate::error::Error;
use crate::ids::SessionId;

/// What a transaction does to a document once the caller has seen it.
#[derive(Debug)]
pub enum Outcome {
    /// Leave the file alone: nothing changed.
    Unchanged,
    /// Atomically replace (or create) the document.
    Replace(Value),
    /// Delete the document and its lock file.
    Remove,
}

#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    lock_timeout: Duration,
    durability: Durability,
    test_locks: TestLocks,
}

impl Store {
    pub fn new(
        dir: PathBuf,
        lock_timeout: Duration,
        durability: Durability,
        test_locks: TestLocks,
    ) -> Store {
        Store {
            dir,
            lock_timeout,
            durability,
            test_locks,
        }
    }

    /// The directory holding the documents.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn document_path(&self, id: &SessionId) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    pub fn lock_path(&self, id: &SessionId) -> PathBuf {
        self.dir.join(format!("{id}.lock"))
    }

    fn temp_path(&self, id: &SessionId) -> PathBuf {
        self.dir.join(format!("{id}.json.tmp"))
    }

    /// Whether the document exists. Checked before taking a lock, so that a command on an
    /// unknown session creates nothing, not even a lock file.
    pub fn exists(&self, id: &SessionId) -> bool {
        self.document_path(id).is_file()
    }

    /// Read a document without locking; `None` when it does not exist.
    pub fn try_read(&self, id: &SessionId) -> anyhow::Result<Option<Value>> {
        read_document(&self.document_path(id))
    }

    /// The text of a document, without locking or parsing it; a missing one is
    /// a not-found [`Error`]. For queries that parse only what they need.
    pub fn read_text(&self, id: &SessionId) -> anyhow::Result<String> {
        let path = self.document_path(id);
        match fs::read(&path) {
            Ok(bytes) => String::from_utf8(bytes).with_context(|| {
                format!("`{}` is not valid JSON: it is not UTF-8", path.display())
            }),
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                Err(Error::session_not_found(id.as_str()).into())
            }
            Err(err) => Err(err).with_context(|| format!("cannot read `{}`", path.display())),
        }
    }

    /// Read a document without locking; a missing one is a not-found [`Error`].
    pub fn read(&self, id: &SessionId) -> anyhow::Result<Value> {
        self.try_read(id)?
            .ok_or_else(|| Error::session_not_found(id.as_str()).into())
    }

    /// The ids of all documents, sorted. Files that are not documents are ignored.
    pub fn ids(&self) -> anyhow::Result<Vec<SessionId>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => {
                return Err(err).with_context(|| format!("cannot list `{}`", self.dir.display()));
            }
        };
        let mut ids = Vec::new();
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot list `{}`", self.dir.display()))?;
            let name = entry.file_name();
            let Some(stem) = name.to_str().and_then(|name| name.strip_suffix(".json")) else {
                continue;
            };
            if let Ok(id) = SessionId::parse(stem) {
                ids.push(id);
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// Change the document `id` under its lock: `change` sees the current value (`None`
    /// when the document does not exist) and says what to do with it.
    pub fn transact<T>(
        &self,
        id: &SessionId,
        change: impl FnOnce(Option<Value>) -> anyhow::Result<(Outcome, T)>,
    ) -> anyhow::Result<T> {
        let lock = self.lock(id)?;
        let current = self.try_read(id)?;
        self.hold_for_tests();
        let (outcome, result) = change(current)?;
        self.apply(id, outcome)?;
        drop(lock);
        Ok(result)
    }

    /// Change an existing document; a missing one is a not-found [`Error`] and nothing is
    /// created. `change` returns whether it changed the value, and its result.
    pub fn update<T>(
        &self,
        id: &SessionId,
        change: impl FnOnce(&mut Value) -> anyhow::Result<(bool, T)>,
    ) -> anyhow::Result<T> {
        if !self.exists(id) {
            return Err(Error::session_not_found(id.as_str()).into());
        }
        self.transact(id, |current| {
            let mut document = current.ok_or_else(|| Error::session_not_found(id.as_str()))?;
            let (changed, result) = change(&mut document)?;
            Ok((outcome_of(changed, document), result))
        })
    }

    /// Like [`Store::update`], but a missing document is first created by `create`.
    pub fn update_or_create<T>(
        &self,
        id: &SessionId,
        create: impl FnOnce() -> Value,
        change: impl FnOnce(&mut Value) -> anyhow::Result<(bool, T)>,
    ) -> anyhow::Result<T> {
        self.transact(id, |current| {
            let (mut document, created) = match current {
                Some(document) => (document, false),
                None => (create(), true),
            };
            let (changed, result) = change(&mut document)?;
            Ok((outcome_of(changed || created, document), result))
        })
    }

    /// Change two documents under both their locks, taken in id order so that two crossing
    /// transactions cannot deadlock. `first`'s outcome is applied before `second`'s.
    pub fn transact_pair<T>(
        &self,
        first: &SessionId,
        second: &SessionId,
        change: impl FnOnce(Option<Value>, Option<Value>) -> anyhow::Result<(Outcome, Outcome, T)>,
    ) -> anyhow::Result<T> {
        anyhow::ensure!(
            first != second,
            "a transaction needs two different documents"
        );
        let (low, high) = if first < second {
            (first, second)
        } else {
            (second, first)
        };
        let low_lock = self.lock(low)?;
        let high_lock = self.lock(high)?;
        let first_value = self.try_read(first)?;
        let second_value = self.try_read(second)?;
        self.hold_for_tests();
        let (first_outcome, second_outcome, result) = change(first_value, second_value)?;
        self.apply(first, first_outcome)?;
        self.apply(second, second_outcome)?;
        drop(high_lock);
        drop(low_lock);
        Ok(result)
    }

    fn apply(&self, id: &SessionId, outcome: Outcome) -> anyhow::Result<()> {
        match outcome {
            Outcome::Unchanged => Ok(()),
            Outcome::Replace(document) => self.write(id, &document),
            Outcome::Remove => self.remove(id),
        }
    }

    /// Write a fresh temp file beside the document and swap it in atomically.
    ///
    /// Readers see the old document or the new one, never a mix. The swap is
    /// `renameat2(RENAME_EXCHANGE)` where the system has it, then the old copy is unlinked:
    /// a plain rename over an existing file makes ext4 allocate the new file's blocks on the
    /// spot (`auto_da_alloc`), which measured 0.5 ms of a 3 ms budget; the exchange takes
    /// 0.05 ms. The price is that, with `Durability::Normal`, a power cut (not a crash) can
    /// lose recent writes or leave a document empty; `Durability::Full` fsyncs instead.
    fn write(&self, id: &SessionId, document: &Value) -> anyhow::Result<()> {
        let path = self.document_path(id);
        let temp = self.temp_path(id);
        // Refuses a document Orchestron could not read back (see `bounds`).
        let bytes = crate::bounds::serialize(document, &path)?;
        let result = (|| -> io::Result<()> {
            let mut file = create_fresh(&temp)?;
            file.write_all(&bytes)?;
            if self.durability == Durability::Full {
                file.sync_all()?;
            }
            drop(file);
            if exchange(&temp, &path)? {
                fs::remove_file(&temp)?; // now the old document
            }
            if self.durability == Durability::Full {
                File::open(&self.dir)?.sync_all()?;
            }
            Ok(())
        })();
        result.with_context(|| format!("cannot write `{}`", path.display()))
    }

    /// Remove a document and, while still holding it, its lock file. A process waiting on
    /// the old lock file notices that it was unlinked and takes the new one (see `lock`).
    fn remove(&self, id: &SessionId) -> anyhow::Result<()> {
        let path = self.document_path(id);
        for doomed in [&path, &self.temp_path(id), &self.lock_path(id)] {
            match fs::remove_file(doomed) {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => {
                    return Err(err)
                        .with_context(|| format!("cannot remove `{}`", doomed.display()));
                }
            }
        }
        Ok(())
    }

    /// Take the sidecar lock of `id`: try at once, then poll until the deadline.
    fn lock(&self, id: &SessionId) -> anyhow::Result<LockGuard> {
        let path = self.lock_path(id);
        let started = Instant::now();
        let mut pause = Duration::from_micros(50);
        loop {
            let file = match open_lock_file(&path) {
                Ok(file) => file,
                Err(err) if err.kind() == io::ErrorKind::NotFound => {
                    create_private_dir(&self.dir)?;
                    open_lock_file(&path)
                        .with_context(|| format!("cannot open the lock `{}`", path.display()))?
                }
                Err(err) => {
                    return Err(err)
                        .with_context(|| format!("cannot open the lock `{}`", path.display()));
                }
            };
            match file.try_lock() {
                Ok(()) => {
                    // The holder before us may have removed the session and unlinked this
                    // lock file; then our lock guards nothing and we must take the new one.
                    if same_file(&file, &path) {
                        return Ok(LockGuard { _file: file });
                    }
                    continue;
                }
                Err(fs::TryLockError::WouldBlock) => {
                    if let Some(marker) = &self.test_locks.waiting {
                        // Tell the test this writer found the lock held (best effort).
                        let _ = File::create(marker);
                    }
                }
                Err(fs::TryLockError::Error(err)) => {
                    return Err(err).with_context(|| format!("cannot lock `{}`", path.display()));
                }
            }
            let waited = started.elapsed();
            if waited >= self.lock_timeout {
                return Err(Error::lock_timeout(&path, &format_duration(self.lock_timeout)).into());
            }
            std::thread::sleep(pause.min(self.lock_timeout - waited));
            pause = (pause * 2).min(Duration::from_millis(2));
        }
    }

    fn hold_for_tests(&self) {
        match &self.test_locks.hold {
            None => {}
            Some(TestHold::For(hold)) => std::thread::sleep(*hold),
            Some(TestHold::Until(gate)) => {
                let deadline = Instant::now() + Duration::from_secs(30);
                while !gate.exists() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
    }
}

/// Test only (`ORCHESTRON_TEST_LOCK_HOLD`): how a writer holds its lock after reading, so
/// that a test can make a race happen rather than hope for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestHold {
    /// For this long.
    For(Duration),
    /// Until this file exists (a gate the test opens once it has seen the other process
    /// waiting), at most 30 s.
    Until(PathBuf),
}

/// Test-only knobs of the lock, both inert when unset: a holder that holds (`hold`), and a
/// waiter that leaves a marker file when it finds the lock held (`waiting`), so that a race
/// test can prove the race happened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestLocks {
    pub hold: Option<TestHold>,
    pub waiting: Option<PathBuf>,
}

/// Holds a lock until dropped: closing the file releases the `flock`.
#[derive(Debug)]
struct LockGuard {
    _file: File,
}

fn outcome_of(changed: bool, document: Value) -> Outcome {
    if changed {
        Outcome::Replace(document)
    } else {
        Outcome::Unchanged
    }
}

/// Create `path` as a new empty file with mode 0600, replacing a stale one left by a writer
/// that was killed. Never truncates: truncating a file with data also triggers ext4's
/// `auto_da_alloc` (see `Store::write`).
fn create_fresh(path: &Path) -> io::Result<File> {
    let open = || {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
    };
    match open() {
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
            fs::remove_file(path)?;
            open()
        }
        other => other,
    }
}

/// Atomically swap `from` and `to`. Returns false when it fell back to a plain rename
/// (`to` did not exist yet, or the system or file system cannot exchange).
fn exchange(from: &Path, to: &Path) -> io::Result<bool> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        match renameat_with(CWD, from, CWD, to, RenameFlags::EXCHANGE) {
            Ok(()) => return Ok(true),
            Err(rustix::io::Errno::NOENT | rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {
            }
            Err(rustix::io::Errno::OPNOTSUPP) => {}
            Err(err) => return Err(err.into()),
        }
    }
    fs::rename(from, to)?;
    Ok(false)
}

fn open_lock_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
}

fn same_file(file: &File, path: &Path) -> bool {
    match (file.metadata(), fs::metadata(path)) {
        (Ok(held), Ok(named)) => held.dev() == named.dev() && held.ino() == named.ino(),
        _ => false,
    }
}

/// Create `dir` and its missing parents with mode 0700.
pub fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create `{}`", dir.display()))
}

/// Read and parse a JSON document; `None` when the file does not exist.
pub fn read_document(path: &Path) -> anyhow::Result<Option<Value>> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err).with_context(|| format!("cannot read `{}`", path.display())),
    };
    let value =
        serde_json::from_slice(&bytes).map_err(|err| crate::bounds::unreadable(path, err))?;
    Ok(Some(value))
}

fn format_duration(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

/// Replace the file at `path` with `bytes` atomically: a temp file beside it, renamed over
/// it. Keeps the permissions of the file it replaces (new files get the umask's).
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |name| name.to_string_lossy().into_owned());
    let temp = path.with_file_name(format!(".{name}.orchestron-tmp"));
    let result = (|| -> io::Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp)?;
        file.write_all(bytes)?;
        if let Ok(meta) = fs::metadata(path) {
            file.set_permissions(meta.permissions())?;
        }
        drop(file);
        fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result.with_context(|| format!("cannot write `{}`", path.display()))
}

/// Where a write must go so that a symbolic link stays a link: its target.
pub fn real_path(path: &Path) -> PathBuf {
    let is_link = fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_symlink());
    if is_link {
        fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
    } else {
        path.to_path_buf()
    }
}

/// A text file's contents, or `None` when it does not exist.
pub fn read_optional(path: &Path) -> anyhow::Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err).with_context(|| format!("cannot read `{}`", path.display())),
    }
}
