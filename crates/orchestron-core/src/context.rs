//! What every operation needs from the face that calls it, resolved by that face: where the
//! state lives, the configuration, who is acting, how to tell the time and how to make ids.
//! The core reads no environment variable itself.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;

use crate::config::{Config, Durability};
use crate::error::Result;
use crate::ids::IdGenerator;
use crate::store::Store;
use crate::tracker::Db;
use crate::tracker::model::Workflow;

/// Where "now" comes from. A short-lived face (one command) may freeze it; a long-running one
/// (a server, a supervisor) uses the system clock, asked once per operation.
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    System,
    Fixed(Timestamp),
}

impl Clock {
    pub fn now(self) -> Timestamp {
        match self {
            Clock::System => Timestamp::now(),
            Clock::Fixed(now) => now,
        }
    }
}

/// What a face resolves before it calls the core.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The state root: sessions, handoffs, the tracker and `config.json` live under it.
    pub state_root: PathBuf,
    /// The project's configuration (`<state root>/config.json`, already read).
    pub config: Config,
    /// The project name new tracker items get when `tracker.project` is not set.
    pub default_project: String,
    /// The session acting, if any: recorded in history, the default claimant.
    pub actor: Option<String>,
    /// How long a writer waits for a lock or for the database.
    pub lock_timeout: Duration,
    /// Overrides the configuration's durability.
    pub durability: Option<Durability>,
    /// Test only: how a writer holds a lock after reading, and where a waiter says it waits.
    pub test_locks: crate::store::TestLocks,
    pub clock: Clock,
    /// Seeds id generation (tests); `None` is random.
    pub id_seed: Option<String>,
}

/// The resolved environment of the core's operations.
#[derive(Debug)]
pub struct Context {
    settings: Settings,
    ids: RefCell<IdGenerator>,
    /// The user named the state root (`ORCHESTRON_HOME`): links in it are theirs, and
    /// followed. Else it was found in the project, and writes refuse links in it.
    state_root_chosen: bool,
}

pub use crate::store::STATE_FOLDERS;

impl Context {
    pub fn new(settings: Settings) -> Context {
        let ids = match &settings.id_seed {
            Some(seed) => IdGenerator::seeded(seed),
            None => IdGenerator::random(),
        };
        Context {
            settings,
            ids: RefCell::new(ids),
            state_root_chosen: false,
        }
    }

    /// The same context, its state root named by the user (`ORCHESTRON_HOME`), not found in
    /// the project: writes go through links in it.
    pub fn with_chosen_state_root(mut self) -> Context {
        self.state_root_chosen = true;
        self
    }

    /// Refuse a write while the state root, found in the project, or one of its
    /// [`STATE_FOLDERS`] is a symbolic link. Every write route checks it: the stores (see
    /// [`Context::store`]) and the tracker.
    pub fn refuse_linked_state(&self) -> Result<()> {
        if self.state_root_chosen {
            return Ok(());
        }
        crate::store::refuse_linked_state(self.state_root(), STATE_FOLDERS)
    }

    /// A context like this one for another thread (the supervisor's merge train): the same
    /// settings, and ids from a seed of its own (`label` added to a test seed), so the two
    /// never make the same id.
    pub fn fork(&self, label: &str) -> Context {
        let mut settings = self.settings.clone();
        settings.id_seed = settings.id_seed.map(|seed| format!("{seed}/{label}"));
        let mut forked = Context::new(settings);
        forked.state_root_chosen = self.state_root_chosen;
        forked
    }

    /// "Now", asked afresh: one operation asks once and uses that time throughout.
    pub fn now(&self) -> Timestamp {
        self.settings.clock.now()
    }

    pub fn state_root(&self) -> &Path {
        &self.settings.state_root
    }

    pub fn config(&self) -> &Config {
        &self.settings.config
    }

    /// The session acting, if any.
    pub fn actor(&self) -> Option<&str> {
        self.settings.actor.as_deref()
    }

    /// The project new tracker items belong to: `tracker.project`, else the default.
    pub fn project(&self) -> &str {
        self.settings
            .config
            .tracker
            .project
            .as_deref()
            .unwrap_or(&self.settings.default_project)
    }

    /// What the project asks of finished work.
    pub fn workflow(&self) -> Workflow {
        Workflow {
            require_review: self.settings.config.tracker.require_review,
            require_testing: self.settings.config.tracker.require_testing,
        }
    }

    pub fn durability(&self) -> Durability {
        self.settings
            .durability
            .or(self.settings.config.durability)
            .unwrap_or_default()
    }

    pub fn lock_timeout(&self) -> Duration {
        self.settings.lock_timeout
    }

    /// 64 random bits (seeded in tests).
    pub fn random_u64(&self) -> u64 {
        self.ids.borrow_mut().next_u64()
    }

    /// A new UUID v4 (seeded in tests), for a session id.
    pub fn new_uuid(&self) -> String {
        self.ids.borrow_mut().uuid_v4()
    }

    /// The documents in a folder of the state root (`sessions`, `handoffs`).
    pub fn store(&self, folder: &str) -> Store {
        let store = Store::new(
            self.state_root().join(folder),
            self.settings.lock_timeout,
            self.durability(),
            self.settings.test_locks.clone(),
        )
        .in_state_root(self.state_root().to_path_buf());
        if self.state_root_chosen {
            store
        } else {
            store.refusing_links(STATE_FOLDERS)
        }
    }

    /// The tracker database's path.
    pub fn tracker_path(&self) -> PathBuf {
        self.state_root().join(crate::tracker::db::FILE_NAME)
    }

    /// The tracker, for an operation that writes: created (whole, atomically) on first use.
    pub fn tracker(&self) -> Result<Db> {
        self.refuse_linked_state()?;
        Db::open(
            &self.tracker_path(),
            self.settings.lock_timeout,
            self.durability() == Durability::Full,
        )
    }

    /// The tracker, for an operation that changes records that must exist already (an item,
    /// a sprint): the real one when the project has one, else an empty one in memory, where
    /// the operation finds nothing to change and fails, so it creates no file.
    pub fn tracker_to_change(&self) -> Result<Db> {
        if self.tracker_path().exists() {
            self.tracker()
        } else {
            Db::empty()
        }
    }

    /// The tracker, for an operation that only reads: opened read-only, or an empty one in
    /// memory when the project has none. Nothing is created on disk.
    pub fn tracker_for_reads(&self) -> Result<Db> {
        Db::open_for_reads(&self.tracker_path(), self.lock_timeout())
    }
}

/// A context for the core's tests: `state_root`, `config`, no acting session, the clock fixed
/// at 2026-01-01T00:00:00Z and ids seeded with `tests`.
#[cfg(test)]
pub(crate) fn for_tests(state_root: PathBuf, config: Config) -> Context {
    for_tests_as(state_root, config, None, "2026-01-01T00:00:00Z")
}

/// [`for_tests`] acting as session `actor` (or a person at a terminal), the clock at `now`.
#[cfg(test)]
pub(crate) fn for_tests_as(
    state_root: PathBuf,
    config: Config,
    actor: Option<&str>,
    now: &str,
) -> Context {
    Context::new(Settings {
        state_root,
        config,
        default_project: "p".to_owned(),
        actor: actor.map(str::to_owned),
        lock_timeout: Duration::from_secs(5),
        durability: None,
        test_locks: crate::store::TestLocks::default(),
        clock: Clock::Fixed(now.parse().expect("a timestamp")),
        id_seed: Some("tests".to_owned()),
    })
}
