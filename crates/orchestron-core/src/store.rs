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
//! document's inode. Neither is ever opened through a symbolic link (`O_NOFOLLOW`): a link
//! planted in the state root is refused, not followed. This module knows nothing of what a
//! session is.
//!
//! It also holds the file operations of `init`, `uninstall` and `mode`, which write into a
//! project that may have been cloned from a stranger: [`Confined`] resolves where a write
//! really goes and refuses a symbolic link that leads out of the project, and
//! [`write_file_atomic`] creates its temp file exclusively and never writes through a link.

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

/// The folder of session documents under a state root.
pub const SESSIONS: &str = "sessions";
/// The folder of project handoffs under a state root (one document per project).
pub const HANDOFFS: &str = "handoffs";
/// The folder of named context snapshots under a state root.
pub const SNAPSHOTS: &str = "snapshots";

/// The folder of coordination between live sessions under a state root: the file lease
/// table (`leases.json`) and the latest conflict forecast (`forecast.json`).
pub const COORDINATION: &str = "coordination";

/// The folders of a state root that hold documents: with the root, never symbolic links
/// when the root was found in the project (see [`refuse_linked_state`]).
pub const STATE_FOLDERS: &[&str] = &[SESSIONS, HANDOFFS, SNAPSHOTS, COORDINATION];

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
    /// The state root the folder sits in, created first (with its `.gitignore`) when missing.
    state_root: Option<PathBuf>,
    /// The state root's folders that must not be symbolic links, with the root itself, for a
    /// state root found in the project (see [`refuse_linked_state`]); `None` for one the
    /// user chose.
    refused_links: Option<&'static [&'static str]>,
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
            state_root: None,
            refused_links: None,
            lock_timeout,
            durability,
            test_locks,
        }
    }

    /// The same store, its folder inside the state root `root`: a first write creates the
    /// root with [`create_state_root`] before the folder.
    pub fn in_state_root(mut self, root: PathBuf) -> Store {
        self.state_root = Some(root);
        self
    }

    /// The same store, refusing every write while its state root, or one of the root's
    /// `folders`, is a symbolic link (see [`refuse_linked_state`]): for a state root found
    /// in the project, which a cloned repository may have planted links in. Reads still go
    /// through. Needs [`Store::in_state_root`].
    pub fn refusing_links(mut self, folders: &'static [&'static str]) -> Store {
        self.refused_links = Some(folders);
        self
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
        match read_no_link(&path) {
            Ok(bytes) => String::from_utf8(bytes).with_context(|| {
                format!("`{}` is not valid JSON: it is not UTF-8", path.display())
            }),
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                Err(Error::session_not_found(id.as_str()).into())
            }
            Err(err) => Err(refused_link(err, &path))
                .with_context(|| format!("cannot read `{}`", path.display())),
        }
    }

    /// The bytes of a document, without locking or parsing it; `None` when it does not
    /// exist. For documents with a typed shape of their own (the file leases).
    pub fn try_read_bytes(&self, id: &SessionId) -> anyhow::Result<Option<Vec<u8>>> {
        let path = self.document_path(id);
        match read_no_link(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(refused_link(err, &path))
                .with_context(|| format!("cannot read `{}`", path.display())),
        }
    }

    /// [`Store::transact`] on a document's bytes, for a document with a typed shape of its
    /// own: `change` sees the current bytes (`None` when the document does not exist) and
    /// returns the new bytes (`None`: leave it alone). The bytes are held to
    /// [`crate::bounds::MAX_DOCUMENT_BYTES`].
    pub fn transact_bytes<T>(
        &self,
        id: &SessionId,
        change: impl FnOnce(Option<Vec<u8>>) -> anyhow::Result<(Option<Vec<u8>>, T)>,
    ) -> anyhow::Result<T> {
        let lock = self.lock(id)?;
        let current = self.try_read_bytes(id)?;
        self.hold_for_tests();
        let (bytes, result) = change(current)?;
        if let Some(bytes) = bytes {
            let path = self.document_path(id);
            if bytes.len() > crate::bounds::MAX_DOCUMENT_BYTES {
                return Err(Error::invalid(format!(
                    "`{}` would grow to {} bytes, past the {} bytes a document may hold",
                    path.display(),
                    bytes.len(),
                    crate::bounds::MAX_DOCUMENT_BYTES
                ))
                .into());
            }
            self.write_bytes(id, &bytes)?;
        }
        drop(lock);
        Ok(result)
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
        // Refuses a document Orchestron could not read back (see `bounds`).
        let bytes = crate::bounds::serialize(document, &self.document_path(id))?;
        self.write_bytes(id, &bytes)
    }

    fn write_bytes(&self, id: &SessionId, bytes: &[u8]) -> anyhow::Result<()> {
        let path = self.document_path(id);
        let temp = self.temp_path(id);
        let result = (|| -> io::Result<()> {
            let mut file = create_fresh(&temp)?;
            file.write_all(bytes)?;
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
        // Every write takes a lock first: nothing is written through a planted link.
        if let (Some(root), Some(folders)) = (&self.state_root, self.refused_links) {
            refuse_linked_state(root, folders)?;
        }
        let path = self.lock_path(id);
        let started = Instant::now();
        let mut pause = Duration::from_micros(50);
        loop {
            let file = match open_lock_file(&path) {
                Ok(file) => file,
                Err(err) if err.kind() == io::ErrorKind::NotFound => {
                    if let Some(root) = &self.state_root {
                        create_state_root(root)?;
                    }
                    create_private_dir(&self.dir)?;
                    open_lock_file(&path)
                        .map_err(|err| refused_link(err, &path))
                        .with_context(|| format!("cannot open the lock `{}`", path.display()))?
                }
                Err(err) => {
                    return Err(refused_link(err, &path))
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
/// `auto_da_alloc` (see `Store::write`). Created exclusively, so never through a link; a
/// link in the way is unlinked itself, never followed.
fn create_fresh(path: &Path) -> io::Result<File> {
    let open = || {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(NO_FOLLOW)
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

/// `O_NOFOLLOW`: opening a path whose last component is a symbolic link fails (`ELOOP`)
/// instead of opening, or creating, what the link names. The flag costs nothing.
const NO_FOLLOW: i32 = rustix::fs::OFlags::NOFOLLOW.bits() as i32;

/// Open (creating it when missing) the sidecar lock, never through a link: a `.lock` planted
/// as a link would otherwise create its target wherever it points.
pub(crate) fn open_lock_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(NO_FOLLOW)
        .open(path)
}

/// Read a whole file that must not be a symbolic link: `fs::read` with `O_NOFOLLOW` (the
/// same open, size and reads, and one `lseek` std adds, a fraction of a microsecond).
fn read_no_link(path: &Path) -> io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(NO_FOLLOW)
        .open(path)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Turn the `ELOOP` of an `O_NOFOLLOW` open into a conflict that names the link; any other
/// error stays as it was.
fn refused_link(err: io::Error, path: &Path) -> anyhow::Error {
    if err.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
        return Error::conflict(format!(
            "`{}` is a symbolic link: Orchestron does not follow links in its state root",
            path.display()
        ))
        .with_hint(format!(
            "remove the link (`rm {}`); Orchestron creates the file again",
            path.display()
        ))
        .into();
    }
    err.into()
}

fn same_file(file: &File, path: &Path) -> bool {
    match (file.metadata(), fs::symlink_metadata(path)) {
        (Ok(held), Ok(named)) => held.dev() == named.dev() && held.ino() == named.ino(),
        _ => false,
    }
}

/// The file Orchestron writes in a state root it creates, so git never sees what is under
/// it (the tracker, sessions, handoffs, decisions, memory, locks).
pub const STATE_GITIGNORE: &str = ".gitignore";

/// What [`STATE_GITIGNORE`] holds: ignore everything here, itself included.
pub const STATE_GITIGNORE_TEXT: &str =
    "# Orchestron's state (tracker, sessions, handoffs, decisions, memory): never committed.\n*\n";

/// Refuse to write in the state root `root` when it, or one of its `folders`, is a symbolic
/// link. For a state root found in the project (not one the user named with
/// `ORCHESTRON_HOME`): a cloned repository may commit `.orchestron` as a link aimed anywhere,
/// and every write of every route (hooks, sessions, the tracker, `init`) would go there.
/// One `lstat` each, a microsecond or so, on every write.
pub fn refuse_linked_state(root: &Path, folders: &[&str]) -> Result<(), Error> {
    match linked_state(root, folders) {
        Some(link) => Err(linked_state_error(root, &link)),
        None => Ok(()),
    }
}

/// The first of `root` and its `folders` that is a symbolic link, if any.
pub fn linked_state(root: &Path, folders: &[&str]) -> Option<PathBuf> {
    std::iter::once(root.to_path_buf())
        .chain(folders.iter().map(|folder| root.join(folder)))
        .find(|path| fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_symlink()))
}

/// The error for the state root `root`, or a folder of it, that is the symbolic link `link`.
pub fn linked_state_error(root: &Path, link: &Path) -> Error {
    let target =
        fs::read_link(link).map_or_else(|_| "?".to_owned(), |target| target.display().to_string());
    let elsewhere = match fs::canonicalize(link) {
        // The root itself: the user may mean its target, and can say so.
        Ok(real) if link == root => {
            format!(
                "to keep the state where it points on purpose, name it yourself: \
                 `ORCHESTRON_HOME={}`",
                real.display()
            )
        }
        _ => "to keep the state elsewhere, name a state root yourself with `ORCHESTRON_HOME`"
            .to_owned(),
    };
    Error::conflict(format!(
        "`{}` is a symbolic link (to `{target}`): Orchestron does not write a project's state \
         through a link, which a cloned repository could aim anywhere",
        link.display()
    ))
    .with_hint(format!(
        "remove the link (`rm {}`; Orchestron makes a folder in its place); {elsewhere}",
        link.display()
    ))
}

/// Create the state root `root` when it is missing: privately (0700, its missing parents
/// too), with a [`STATE_GITIGNORE`] inside. The one place a state root is made, whether by a
/// hook, a tracker write, a session or `init`. A root that exists as a folder without a
/// [`STATE_GITIGNORE`] gets one (a cloned repository may hold `.orchestron/` already, its
/// `config.json` committed), so what Orchestron writes there never shows in `git status`; a
/// link at its name is left as it is: nothing is written through a link. Returns whether it
/// created the root. Called on the first write of a route (a missing lock file, a missing
/// tracker), never on every write.
pub fn create_state_root(root: &Path) -> anyhow::Result<bool> {
    if let Ok(meta) = fs::symlink_metadata(root) {
        if meta.file_type().is_dir() {
            write_state_gitignore(root)?;
        }
        return Ok(false);
    }
    if let Some(parent) = root
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        create_private_dir(parent)?;
    }
    match fs::DirBuilder::new().mode(0o700).create(root) {
        Ok(()) => {}
        // Another process made it first: it writes the `.gitignore` (so does this one, in
        // case that one is a root made some other way).
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
            if fs::symlink_metadata(root).is_ok_and(|meta| meta.file_type().is_dir()) {
                write_state_gitignore(root)?;
            }
            return Ok(false);
        }
        Err(err) => {
            return Err(err).with_context(|| format!("cannot create `{}`", root.display()));
        }
    }
    write_state_gitignore(root)?;
    Ok(true)
}

/// Write [`STATE_GITIGNORE`] into the state root `root` unless a file (or a link) of that
/// name is there; `root` must not be a link. For a root an older Orchestron made, or a clone
/// brought (see [`create_state_root`]). Returns whether it wrote one.
pub fn write_state_gitignore(root: &Path) -> anyhow::Result<bool> {
    let path = root.join(STATE_GITIGNORE);
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
    {
        Ok(mut file) => {
            file.write_all(STATE_GITIGNORE_TEXT.as_bytes())
                .with_context(|| format!("cannot write `{}`", path.display()))?;
            Ok(true)
        }
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(err) => Err(err).with_context(|| format!("cannot create `{}`", path.display())),
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

/// Read and parse a JSON document; `None` when the file does not exist. A document that is
/// a symbolic link is refused, not read through.
pub fn read_document(path: &Path) -> anyhow::Result<Option<Value>> {
    let bytes = match read_no_link(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => {
            return Err(refused_link(err, path))
                .with_context(|| format!("cannot read `{}`", path.display()));
        }
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

/// The mode a file Orchestron creates in a project asks for (the umask trims it further):
/// readable by everyone, writable by its owner only. Hook configuration and commands must
/// never be writable by others, whatever the umask.
pub const NEW_FILE_MODE: u32 = 0o644;

/// The mode a folder Orchestron creates in a project asks for, for the same reason.
pub const NEW_DIR_MODE: u32 = 0o755;

/// The permission bits that let others change a file; a file Orchestron writes never keeps
/// them, even when the file it replaces had them.
const OTHERS_WRITE: u32 = 0o022;

/// How many symbolic links the resolution of one path may pass through, as the kernel's own
/// limit (`ELOOP` past 40). Past it, [`Confined`] refuses the path.
pub const MAX_LINKS: usize = 40;

/// The temp file [`write_file_atomic`] writes `path` through: `.<name>.orchestron-tmp`
/// beside it.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |name| name.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.orchestron-tmp"))
}

/// Replace the file at `path` with `bytes` atomically: a temp file beside it (see
/// [`temp_path`]), created exclusively, so never through a link, then renamed over `path`.
/// The rename replaces a link at `path` rather than writing through it: to write through a
/// link that stays inside a project, resolve the path with [`Confined::resolve`] first.
///
/// Keeps the permissions of the regular file it replaces; a new file gets [`NEW_FILE_MODE`]
/// less the umask. Either way the file is never left writable by group or others.
///
/// A stale temp file left by a killed writer is removed first when it is a regular file;
/// anything else in its place (a symbolic link, a folder) is refused and left alone.
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_file_atomic_with_mode(path, bytes, None)
}

/// [`write_file_atomic`] with the new file's permissions given (`None`: as it does). Others'
/// write permission is dropped from `mode` too.
pub fn write_file_atomic_with_mode(
    path: &Path,
    bytes: &[u8],
    mode: Option<u32>,
) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let temp = temp_path(path);
    let mode = mode
        .or_else(|| {
            fs::symlink_metadata(path)
                .ok()
                .filter(fs::Metadata::is_file)
                .map(|meta| meta.permissions().mode())
        })
        .map(|mode| mode & 0o777 & !OTHERS_WRITE);
    let mut file = create_temp(&temp, mode.is_some())?;
    let result = (|| -> io::Result<()> {
        file.write_all(bytes)?;
        if let Some(mode) = mode {
            file.set_permissions(fs::Permissions::from_mode(mode))?;
        }
        drop(file);
        fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result.with_context(|| format!("cannot write `{}`", path.display()))
}

/// Create the temp file `temp` exclusively. It asks for mode 0600 when its mode is set once
/// the bytes are in (`chmod_later`), else for [`NEW_FILE_MODE`] for the umask to trim: so it
/// is never more open than the file it becomes.
fn create_temp(temp: &Path, chmod_later: bool) -> anyhow::Result<File> {
    let open = || {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(if chmod_later { 0o600 } else { NEW_FILE_MODE })
            .custom_flags(NO_FOLLOW)
            .open(temp)
    };
    let opened = match open() {
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
            match fs::symlink_metadata(temp) {
                // A killed writer's: unlinking it follows nothing.
                Ok(meta) if meta.is_file() => fs::remove_file(temp).and_then(|()| open()),
                _ => {
                    return Err(Error::conflict(format!(
                        "`{}` is in the way of Orchestron's temp file: it is a symbolic link \
                         or not a regular file, and is left alone",
                        temp.display()
                    ))
                    .with_hint("remove it, then run this again")
                    .into());
                }
            }
        }
        other => other,
    };
    opened.with_context(|| format!("cannot create `{}`", temp.display()))
}

/// Create `dir` and its missing parents asking for [`NEW_DIR_MODE`] (the umask trims it):
/// folders of a project, never writable by others. The state root is private instead
/// ([`create_private_dir`]).
pub fn create_dirs(dir: &Path) -> anyhow::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(NEW_DIR_MODE)
        .create(dir)
        .with_context(|| format!("cannot create `{}`", dir.display()))
}

/// A project folder that writes are confined to, for `init`, `uninstall` and `mode`, which
/// may run in a repository cloned from a stranger (`.claude/settings.json → ~/.bashrc`).
///
/// A path inside the project is resolved as the kernel would resolve it, following symbolic
/// links, but a link is followed only while it stays inside the project and leads to
/// something that exists (for the file itself: to a file, perhaps missing, in a folder that
/// exists). So `.claude → ./dotclaude` is written through, and a link that leads out of the
/// project, dangles into a missing folder or loops is refused with an error naming it.
#[derive(Debug)]
pub struct Confined {
    /// The project as given.
    dir: PathBuf,
    /// The project with every link in its path resolved.
    root: PathBuf,
}

/// One step of resolving a path.
#[derive(Debug)]
enum Step {
    Name(std::ffi::OsString),
    Up,
    /// The end of a link's target: what the link resolved to must exist (its folder, when
    /// the link is the path's last component).
    LinkEnd {
        link: PathBuf,
        last: bool,
    },
}

impl Confined {
    pub fn new(dir: &Path) -> anyhow::Result<Confined> {
        let root =
            fs::canonicalize(dir).with_context(|| format!("cannot resolve `{}`", dir.display()))?;
        Ok(Confined {
            dir: dir.to_path_buf(),
            root,
        })
    }

    /// Where a write to `path`, a path inside the project, really goes: every link on the
    /// way (the file's own included) followed, as long as it stays inside the project.
    pub fn resolve(&self, path: &Path) -> anyhow::Result<PathBuf> {
        self.walk(path, true)
    }

    /// Where Orchestron's own file `path` (a temp file, a backup) really is: its folder
    /// resolved as [`Confined::resolve`] does, and the file itself never a link, wherever it
    /// points: Orchestron makes none there, so one was planted.
    pub fn own(&self, path: &Path) -> anyhow::Result<PathBuf> {
        self.walk(path, false)
    }

    /// `path` relative to the project, when it lies inside it.
    fn relative(&self, path: &Path) -> Option<PathBuf> {
        if let Ok(relative) = path.strip_prefix(&self.dir) {
            return Some(relative.to_path_buf());
        }
        if let Ok(relative) = path.strip_prefix(&self.root) {
            return Some(relative.to_path_buf());
        }
        // Another name of a place inside the project (a link above it).
        let real = fs::canonicalize(path).ok()?;
        real.strip_prefix(&self.root).ok().map(Path::to_path_buf)
    }

    fn walk(&self, path: &Path, follow_last: bool) -> anyhow::Result<PathBuf> {
        let Some(relative) = self.relative(path) else {
            return Err(Error::conflict(format!(
                "`{}` is outside the project `{}`",
                path.display(),
                self.dir.display()
            ))
            .into());
        };
        let mut steps = Vec::new();
        push_steps(&mut steps, &relative);
        let mut real = self.root.clone();
        // Past a missing component nothing exists: what is left is created, as named.
        let mut missing = false;
        let mut links = 0;
        while let Some(step) = steps.pop() {
            let name = match step {
                Step::Name(name) => name,
                Step::Up => {
                    let innermost = innermost_link(&steps);
                    if missing {
                        return Err(self.dangling(innermost.unwrap_or(path)));
                    }
                    if real == self.root {
                        return Err(match innermost {
                            Some(link) => self.leads_out(link),
                            None => Error::conflict(format!(
                                "`{}` is outside the project `{}`",
                                path.display(),
                                self.dir.display()
                            ))
                            .into(),
                        });
                    }
                    real.pop();
                    continue;
                }
                Step::LinkEnd { link, last } => {
                    let exists = if last {
                        real.parent().is_some_and(Path::is_dir)
                    } else {
                        real.is_dir()
                    };
                    if !exists {
                        return Err(self.dangling(&link));
                    }
                    continue;
                }
            };
            let next = real.join(&name);
            if missing {
                real = next;
                continue;
            }
            let meta = match fs::symlink_metadata(&next) {
                Ok(meta) => meta,
                Err(err) if err.kind() == io::ErrorKind::NotFound => {
                    missing = true;
                    real = next;
                    continue;
                }
                Err(err) => {
                    return Err(err).with_context(|| format!("cannot read `{}`", next.display()));
                }
            };
            if !meta.file_type().is_symlink() {
                real = next;
                continue;
            }
            let last = steps
                .iter()
                .all(|step| matches!(step, Step::LinkEnd { .. }));
            if last && !follow_last {
                return Err(Error::conflict(format!(
                    "`{}` is a symbolic link (to `{}`) where Orchestron keeps its own temp \
                     file or backup: it is not followed",
                    self.shown(&next),
                    Confined::target_of(&next)
                ))
                .with_hint("remove it, then run this again")
                .into());
            }
            links += 1;
            if links > MAX_LINKS {
                return Err(Error::conflict(format!(
                    "`{}` passes through more than {MAX_LINKS} symbolic links",
                    path.display()
                ))
                .with_hint("a link loops: remove it, then run this again")
                .into());
            }
            let target = fs::read_link(&next)
                .with_context(|| format!("cannot read `{}`", next.display()))?;
            if target.is_absolute() {
                let Some(inside) = self.relative(&target) else {
                    return Err(self.leads_out(&next));
                };
                steps.push(Step::LinkEnd { link: next, last });
                push_steps(&mut steps, &inside);
                real = self.root.clone();
            } else {
                steps.push(Step::LinkEnd { link: next, last });
                push_steps(&mut steps, &target);
            }
        }
        Ok(real)
    }

    /// `path` as the messages show it: relative to the project when inside it.
    fn shown(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .or_else(|_| path.strip_prefix(&self.dir))
            .map_or_else(
                |_| path.display().to_string(),
                |relative| relative.display().to_string(),
            )
    }

    fn target_of(link: &Path) -> String {
        fs::read_link(link).map_or_else(|_| "?".to_owned(), |target| target.display().to_string())
    }

    /// The link `link` leads out of the project.
    fn leads_out(&self, link: &Path) -> anyhow::Error {
        Error::conflict(format!(
            "`{}` is a symbolic link to `{}`, outside the project: Orchestron does not write \
             through it",
            self.shown(link),
            Confined::target_of(link)
        ))
        .with_hint(
            "remove the link, or replace it with a copy of what it points to, then run this \
             again",
        )
        .into()
    }

    /// The link `link` leads to a folder that does not exist.
    fn dangling(&self, link: &Path) -> anyhow::Error {
        Error::conflict(format!(
            "`{}` is a symbolic link to `{}`, which leads to a folder that does not exist",
            self.shown(link),
            Confined::target_of(link)
        ))
        .with_hint("create the folder or remove the link, then run this again")
        .into()
    }
}

/// Push the components of `path` so that the first one is popped first.
fn push_steps(steps: &mut Vec<Step>, path: &Path) {
    use std::path::Component;
    let parts: Vec<Step> = path
        .components()
        .filter_map(|component| match component {
            Component::Normal(name) => Some(Step::Name(name.to_os_string())),
            Component::ParentDir => Some(Step::Up),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => None,
        })
        .collect();
    steps.extend(parts.into_iter().rev());
}

/// The link whose target is being resolved, innermost first.
fn innermost_link(steps: &[Step]) -> Option<&Path> {
    steps.iter().rev().find_map(|step| match step {
        Step::LinkEnd { link, .. } => Some(link.as_path()),
        _ => None,
    })
}

/// A text file's contents, or `None` when it does not exist.
pub fn read_optional(path: &Path) -> anyhow::Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err).with_context(|| format!("cannot read `{}`", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{PermissionsExt as _, symlink};

    /// A project and, beside it, a folder standing in for the rest of the machine.
    fn layout() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let temp = tempfile::tempdir().unwrap();
        let project = temp.path().join("project");
        let outside = temp.path().join("outside");
        fs::create_dir_all(project.join(".claude")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        fs::write(outside.join("settings.json"), "theirs").unwrap();
        (temp, project, outside)
    }

    fn conflict_naming(result: anyhow::Result<PathBuf>, name: &str) {
        let err = result.unwrap_err();
        assert_eq!(Error::kind_of(&err), crate::ErrorKind::Conflict, "{err:#}");
        assert!(format!("{err:#}").contains(name), "{err:#}");
    }

    #[test]
    fn finding_01_links_inside_the_project_are_followed_and_links_out_refused() {
        let (_temp, project, outside) = layout();
        let confined = Confined::new(&project).unwrap();
        let settings = project.join(".claude/settings.json");
        // No link: the path as it is, missing folders included.
        assert_eq!(
            confined.resolve(&project.join(".claude/a/b.md")).unwrap(),
            confined.root.join(".claude/a/b.md")
        );
        // A link to a file inside (even one to be created) is followed.
        symlink("../dotfiles.json", &settings).unwrap();
        assert_eq!(
            confined.resolve(&settings).unwrap(),
            confined.root.join("dotfiles.json")
        );
        // A link out, relative or absolute, is refused, naming it.
        fs::remove_file(&settings).unwrap();
        symlink("../../outside/settings.json", &settings).unwrap();
        conflict_naming(confined.resolve(&settings), ".claude/settings.json");
        fs::remove_file(&settings).unwrap();
        symlink(outside.join("settings.json"), &settings).unwrap();
        conflict_naming(confined.resolve(&settings), "outside the project");
        // So is a folder on the way that leads out.
        symlink(&outside, project.join(".claude/commands")).unwrap();
        conflict_naming(
            confined.resolve(&project.join(".claude/commands/orchestron/task.md")),
            ".claude/commands",
        );
        // A folder link that stays inside is followed.
        fs::create_dir(project.join("dotclaude")).unwrap();
        symlink("dotclaude", project.join(".claude2")).unwrap();
        assert_eq!(
            confined
                .resolve(&project.join(".claude2/new/settings.json"))
                .unwrap(),
            confined.root.join("dotclaude/new/settings.json")
        );
        // A link into a folder that does not exist, and a loop, are refused.
        symlink("nowhere/x", project.join("dangling")).unwrap();
        conflict_naming(
            confined.resolve(&project.join("dangling")),
            "does not exist",
        );
        symlink("loop", project.join("loop")).unwrap();
        conflict_naming(confined.resolve(&project.join("loop")), "symbolic links");
        // Orchestron's own names are never links, wherever they point.
        symlink("dotclaude", project.join("own")).unwrap();
        conflict_naming(
            confined.own(&project.join("own")),
            "own temp file or backup",
        );
    }

    #[test]
    fn finding_01_a_chain_of_links_resolves_up_to_max_links() {
        let (_temp, project, _outside) = layout();
        let confined = Confined::new(&project).unwrap();
        // `link0 → link1 → … → link<n-1> → file`: n links.
        let chain = |n: usize, name: &str| {
            for i in 0..n {
                let next = if i + 1 == n {
                    "file".to_owned()
                } else {
                    format!("{name}{}", i + 1)
                };
                symlink(next, project.join(format!("{name}{i}"))).unwrap();
            }
            project.join(format!("{name}0"))
        };
        let at = chain(MAX_LINKS, "at");
        assert_eq!(confined.resolve(&at).unwrap(), confined.root.join("file"));
        let past = chain(MAX_LINKS + 1, "past");
        conflict_naming(confined.resolve(&past), "more than 40 symbolic links");
    }

    #[test]
    fn finding_01_write_file_atomic_never_writes_through_its_temp_file() {
        let (_temp, project, outside) = layout();
        let path = project.join(".claude/settings.json");
        // A planted link at the temp file's name: refused, its target untouched.
        symlink(outside.join("settings.json"), temp_path(&path)).unwrap();
        let err = write_file_atomic(&path, b"ours").unwrap_err();
        assert!(format!("{err:#}").contains("orchestron-tmp"), "{err:#}");
        assert_eq!(fs::read(outside.join("settings.json")).unwrap(), b"theirs");
        assert!(!path.exists());
        // A stale regular temp file (a killed writer's) is replaced.
        fs::remove_file(temp_path(&path)).unwrap();
        fs::write(temp_path(&path), "stale").unwrap();
        write_file_atomic(&path, b"ours").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"ours");
        assert!(!temp_path(&path).exists());
        // A link at the path itself is replaced, never written through.
        let link = project.join("link.json");
        symlink(outside.join("settings.json"), &link).unwrap();
        write_file_atomic(&link, b"ours").unwrap();
        assert!(!fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(fs::read(outside.join("settings.json")).unwrap(), b"theirs");
    }

    #[test]
    fn finding_11_written_files_are_never_writable_by_others() {
        let (_temp, project, _outside) = layout();
        let path = project.join("open.json");
        fs::write(&path, "{}").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o666)).unwrap();
        write_file_atomic(&path, b"[]").unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o644
        );
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        write_file_atomic(&path, b"[1]").unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        write_file_atomic_with_mode(&path, b"[2]", Some(0o777)).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o755
        );
    }

    fn store_in(dir: &Path) -> Store {
        Store::new(
            dir.to_path_buf(),
            Duration::from_millis(100),
            Durability::Normal,
            TestLocks::default(),
        )
    }

    #[test]
    fn finding_10_links_in_the_state_root_are_refused() {
        let (_temp, project, outside) = layout();
        let sessions = project.join("sessions");
        fs::create_dir_all(&sessions).unwrap();
        let store = store_in(&sessions);
        let id = SessionId::parse("linked").unwrap();
        // A lock that is a link does not create its target.
        let target = outside.join("created-by-the-lock");
        symlink(&target, store.lock_path(&id)).unwrap();
        let err = store
            .transact(&id, |_| Ok((Outcome::Replace(serde_json::json!({})), ())))
            .unwrap_err();
        assert_eq!(Error::kind_of(&err), crate::ErrorKind::Conflict, "{err:#}");
        assert!(format!("{err:#}").contains("linked.lock"), "{err:#}");
        assert!(!target.exists());
        assert!(!store.document_path(&id).exists());
        // A document that is a link is not read through.
        fs::remove_file(store.lock_path(&id)).unwrap();
        fs::write(outside.join("doc.json"), "{\"secret\": 1}").unwrap();
        symlink(outside.join("doc.json"), store.document_path(&id)).unwrap();
        let err = store.read(&id).unwrap_err();
        assert_eq!(Error::kind_of(&err), crate::ErrorKind::Conflict, "{err:#}");
        assert!(format!("{err:#}").contains("linked.json"), "{err:#}");
        assert!(store.read_text(&id).is_err());
        assert!(store.update(&id, |_| Ok((true, ()))).is_err());
        assert_eq!(
            fs::read(outside.join("doc.json")).unwrap(),
            b"{\"secret\": 1}"
        );
    }
}
