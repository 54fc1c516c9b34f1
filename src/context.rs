//! Everything a command needs from the process environment, resolved once: where state lives,
//! what time it is, how ids are made, how long to wait for a lock. Commands never read
//! `std::env` themselves, and every environment variable Orchestron reads is named here.

use std::cell::OnceCell;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use jiff::Timestamp;

use orchestron_core::config::{self, Config, Durability};
use orchestron_core::ids::SessionId;
use orchestron_core::store::Store;

/// The environment variables Orchestron reads.
pub(crate) mod var {
    /// The state root; overrides `.orchestron/` in the project root.
    pub(crate) const HOME: &str = "ORCHESTRON_HOME";
    /// The project root as Claude Code sets it for hooks and commands.
    pub(crate) const CLAUDE_PROJECT_DIR: &str = "CLAUDE_PROJECT_DIR";
    /// An RFC 3339 time used as "now", for reproducible tests.
    pub(crate) const NOW: &str = "ORCHESTRON_NOW";
    /// Seeds id generation, for reproducible tests.
    pub(crate) const ID_SEED: &str = "ORCHESTRON_ID_SEED";
    /// The session `session current` and later the hooks' own commands refer to.
    pub(crate) const SESSION: &str = "ORCHESTRON_SESSION";
    /// Claude Code's own session id, the fallback for `ORCHESTRON_SESSION`.
    pub(crate) const CLAUDE_CODE_SESSION_ID: &str = "CLAUDE_CODE_SESSION_ID";
    /// How long a writer waits for a lock (`500ms`, `2s`); 10 s by default.
    pub(crate) const LOCK_TIMEOUT: &str = "ORCHESTRON_LOCK_TIMEOUT";
    /// `normal` (the default) or `full`: fsync every write.
    pub(crate) const DURABILITY: &str = "ORCHESTRON_DURABILITY";
    /// The mode of sessions the hooks create (else the project's `session.default_mode`).
    pub(crate) const MODE: &str = crate::install::MODE_VARIABLE;
    /// Set by Claude Code for SessionStart hooks: a file of `export` lines sourced before
    /// every later Bash tool call.
    pub(crate) const CLAUDE_ENV_FILE: &str = "CLAUDE_ENV_FILE";
    /// The binary the plugin's hook launcher runs first; `doctor` checks it.
    pub(crate) const BIN: &str = "ORCHESTRON_BIN";
    /// Where `init` and `doctor` look for an installed `orchestron`.
    pub(crate) const PATH: &str = "PATH";
    /// Where `doctor` finds the user's Claude Code settings (`~/.claude/settings.json`).
    pub(crate) const USER_HOME: &str = "HOME";
    /// The Claude Code binary `workers run` starts (after `--claude`, before the
    /// configuration's `workers.claude` and `claude` on `PATH`).
    pub(crate) const CLAUDE: &str = "ORCHESTRON_CLAUDE";
    /// The agent this session works as (overrides the configuration's `agent.id`).
    pub(crate) const AGENT: &str = "ORCHESTRON_AGENT";
    /// Set by `workers run` for a worker: the item it works on. Under it, only `orchestron
    /// hook EVENT --worker` (the supervisor's `--settings`) acts; the project's and the
    /// plugin's `orchestron hook EVENT` do nothing, so each event is handled once.
    pub(crate) const WORKER: &str = orchestron_core::workers::process::ENV_WORKER;
    /// Set by `workers run` for a worker: the run's id.
    pub(crate) const WORKER_RUN: &str = orchestron_core::workers::process::ENV_WORKER_RUN;
    /// Set by `workers run` for a worker: the attempt's number.
    pub(crate) const WORKER_ATTEMPT: &str = orchestron_core::workers::process::ENV_WORKER_ATTEMPT;
    /// What a Claude Code session sets for its commands, which a worker started from one
    /// (`workers run` in a session's Bash) must not inherit: it is a session of its own.
    pub(crate) const NOT_FOR_WORKERS: &[&str] = &[
        CLAUDE_PROJECT_DIR,
        CLAUDE_CODE_SESSION_ID,
        CLAUDE_ENV_FILE,
        "CLAUDECODE",
        "CLAUDE_CODE_ENTRYPOINT",
    ];
    /// Test only: how long a writer holds a lock after reading (`400ms`), or `until:PATH`
    /// (until that file exists), to make races deterministic.
    pub(crate) const TEST_LOCK_HOLD: &str = "ORCHESTRON_TEST_LOCK_HOLD";
    /// Test only: a file a writer creates when it finds a lock held, so a race test can
    /// prove it waited.
    pub(crate) const TEST_LOCK_WAITING: &str = "ORCHESTRON_TEST_LOCK_WAITING";
}

/// The default deadline for taking a lock.
pub(crate) const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// The default deadline under `orchestron hook`: well inside the 10 s Claude Code gives a
/// hook, so a held lock delays a tool call by at most this much.
pub(crate) const HOOK_LOCK_TIMEOUT: Duration = Duration::from_secs(2);

/// The resolved environment of one invocation.
#[derive(Debug)]
pub(crate) struct Context {
    /// Print data as JSON instead of for people.
    pub json: bool,
    /// "Now" for every rule in this invocation, read once.
    pub now: Timestamp,
    /// `ORCHESTRON_NOW` fixed it.
    now_fixed: bool,
    home: Option<PathBuf>,
    claude_project_dir: Option<PathBuf>,
    working_dir: PathBuf,
    project_root: OnceCell<PathBuf>,
    location: OnceCell<orchestron_core::repo::Location>,
    config: OnceCell<Config>,
    id_seed: Option<String>,
    lock_timeout: Duration,
    lock_timeout_set: bool,
    durability: Option<Durability>,
    test_locks: orchestron_core::store::TestLocks,
    current_session: Option<String>,
    mode_override: Option<String>,
    claude_env_file: Option<PathBuf>,
    path: Option<String>,
    user_home: Option<PathBuf>,
    bin: Option<PathBuf>,
    claude: Option<PathBuf>,
    worker: Option<WorkerMark>,
    agent: Option<String>,
    core: OnceCell<orchestron_core::Context>,
    /// Who acts when no session is named: set once, by `orchestron mcp` (see
    /// [`Context::act_as_when_sessionless`]).
    sessionless_actor: OnceCell<String>,
    /// A long-lived process (`orchestron mcp`): its core asks the clock afresh for every
    /// operation, unless `ORCHESTRON_NOW` fixes it.
    live_clock: bool,
}

/// What `workers run` tells a worker's hooks about it (`ORCHESTRON_WORKER`,
/// `ORCHESTRON_WORKER_RUN`, `ORCHESTRON_WORKER_ATTEMPT`).
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct WorkerMark {
    pub item: String,
    pub run: Option<String>,
    pub attempt: Option<i64>,
}

impl Context {
    /// Resolve the context from this process's environment and working directory.
    pub(crate) fn from_process(json: bool) -> anyhow::Result<Context> {
        let working_dir =
            std::env::current_dir().context("cannot read the current working directory")?;
        Context::new(json, working_dir, |name| std::env::var(name).ok())
    }

    /// Resolve the context from `lookup` (an environment) and a working directory.
    pub(crate) fn new(
        json: bool,
        working_dir: PathBuf,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Context> {
        let get = |name: &str| lookup(name).filter(|value| !value.is_empty());
        let now = match get(var::NOW) {
            Some(raw) => raw
                .parse::<Timestamp>()
                .with_context(|| format!("`{}={raw}` is not an RFC 3339 time", var::NOW))?,
            None => Timestamp::now(),
        };
        let id_seed = get(var::ID_SEED);
        let lock_timeout_set = get(var::LOCK_TIMEOUT).is_some();
        let lock_timeout = match get(var::LOCK_TIMEOUT) {
            Some(raw) => config::parse_duration(&raw)
                .with_context(|| format!("invalid `{}`", var::LOCK_TIMEOUT))?,
            None => DEFAULT_LOCK_TIMEOUT,
        };
        let durability = get(var::DURABILITY)
            .map(|raw| Durability::parse(&raw))
            .transpose()
            .with_context(|| format!("invalid `{}`", var::DURABILITY))?;
        let hold = get(var::TEST_LOCK_HOLD)
            .map(|raw| match raw.strip_prefix("until:") {
                Some(gate) => Ok(orchestron_core::store::TestHold::Until(PathBuf::from(gate))),
                None => config::parse_duration(&raw).map(orchestron_core::store::TestHold::For),
            })
            .transpose()
            .with_context(|| format!("invalid `{}`", var::TEST_LOCK_HOLD))?;
        let test_locks = orchestron_core::store::TestLocks {
            hold,
            waiting: get(var::TEST_LOCK_WAITING).map(PathBuf::from),
        };
        Ok(Context {
            json,
            now,
            now_fixed: get(var::NOW).is_some(),
            home: get(var::HOME).map(PathBuf::from),
            claude_project_dir: get(var::CLAUDE_PROJECT_DIR).map(PathBuf::from),
            working_dir,
            project_root: OnceCell::new(),
            location: OnceCell::new(),
            config: OnceCell::new(),
            id_seed,
            lock_timeout,
            lock_timeout_set,
            durability,
            test_locks,
            current_session: get(var::SESSION).or_else(|| get(var::CLAUDE_CODE_SESSION_ID)),
            mode_override: get(var::MODE),
            claude_env_file: get(var::CLAUDE_ENV_FILE).map(PathBuf::from),
            path: get(var::PATH),
            user_home: get(var::USER_HOME).map(PathBuf::from),
            bin: get(var::BIN).map(PathBuf::from),
            claude: get(var::CLAUDE).map(PathBuf::from),
            worker: get(var::WORKER).map(|item| WorkerMark {
                item,
                run: get(var::WORKER_RUN),
                attempt: get(var::WORKER_ATTEMPT).and_then(|raw| raw.parse().ok()),
            }),
            agent: get(var::AGENT),
            core: OnceCell::new(),
            sessionless_actor: OnceCell::new(),
            live_clock: false,
        })
    }

    /// The context for a process that lives on (`orchestron mcp`): "now" is asked afresh for
    /// every core operation, unless `ORCHESTRON_NOW` fixes it.
    pub(crate) fn with_live_clock(mut self) -> Context {
        self.live_clock = true;
        self
    }

    /// The context for `orchestron hook`: a shorter lock deadline unless one was set.
    pub(crate) fn for_hooks(mut self) -> Context {
        if !self.lock_timeout_set {
            self.lock_timeout = HOOK_LOCK_TIMEOUT;
        }
        self
    }

    /// The project root, the checkout Claude Code's `.claude/` lives in: the nearest
    /// ancestor holding `.orchestron/` or `.git` of `$CLAUDE_PROJECT_DIR` (where the session
    /// started, perhaps a worktree), else of the working directory; else that directory.
    pub(crate) fn project_root(&self) -> &Path {
        self.project_root.get_or_init(|| {
            let start = self
                .claude_project_dir
                .as_deref()
                .unwrap_or(&self.working_dir);
            start
                .ancestors()
                .find(|dir| dir.join(".orchestron").is_dir() || dir.join(".git").exists())
                .unwrap_or(start)
                .to_path_buf()
        })
    }

    /// Where the project root's state lives: for a git worktree, the repository's main
    /// worktree, so every worktree shares one tracker (see `orchestron_core::repo`).
    pub(crate) fn location(&self) -> &orchestron_core::repo::Location {
        self.location
            .get_or_init(|| orchestron_core::repo::locate(self.project_root()))
    }

    /// The project name used when a session is created without `--project`: the name of the
    /// folder holding the state root (a worktree's main worktree).
    pub(crate) fn default_project(&self) -> Option<String> {
        self.location().project_name()
    }

    /// Where state lives: `$ORCHESTRON_HOME`, else `.orchestron/` in the main worktree of
    /// the project root's repository (the project root itself when it is not a worktree).
    pub(crate) fn state_root(&self) -> PathBuf {
        match &self.home {
            Some(home) => home.clone(),
            None => self.location().state_root(),
        }
    }

    /// Why the state root of a project at `dir` is where it is, for `doctor`.
    pub(crate) fn state_root_reason(&self, dir: &Path) -> String {
        if self.home.is_some() {
            return format!("`${}` names it", var::HOME);
        }
        orchestron_core::repo::locate(dir).explain()
    }

    /// The main worktree whose state root a project at `dir` shares, when `dir` is another
    /// worktree of its repository (and `$ORCHESTRON_HOME` does not name the root).
    pub(crate) fn location_of(&self, dir: &Path) -> Option<PathBuf> {
        if self.home.is_some() {
            return None;
        }
        let location = orchestron_core::repo::locate(dir);
        (location.home != location.checkout).then_some(location.home)
    }

    /// The branch checked out in the project root, read from its git `HEAD`.
    pub(crate) fn branch(&self) -> Option<String> {
        orchestron_core::repo::branch(self.location().git_dir()?)
    }

    /// The project configuration, read on first use.
    pub(crate) fn config(&self) -> anyhow::Result<&Config> {
        if let Some(config) = self.config.get() {
            return Ok(config);
        }
        let config = Config::load(&self.state_root().join("config.json"))?;
        Ok(self.config.get_or_init(|| config))
    }

    /// The core's context for this invocation: the state root, the configuration, the
    /// acting session, "now" (fixed for the whole command) and the id generator's seed.
    pub(crate) fn core(&self) -> anyhow::Result<&orchestron_core::Context> {
        if let Some(core) = self.core.get() {
            return Ok(core);
        }
        let clock = if self.live_clock && !self.now_fixed {
            orchestron_core::Clock::System
        } else {
            orchestron_core::Clock::Fixed(self.now)
        };
        let core = self.new_core(clock, self.id_seed.clone())?;
        Ok(self.core.get_or_init(|| core))
    }

    /// A core context with this environment's settings, `clock` and `id_seed`.
    fn new_core(
        &self,
        clock: orchestron_core::Clock,
        id_seed: Option<String>,
    ) -> anyhow::Result<orchestron_core::Context> {
        let settings = orchestron_core::Settings {
            state_root: self.state_root(),
            config: self.config()?.clone(),
            default_project: self
                .default_project()
                .unwrap_or_else(|| "project".to_owned()),
            actor: self.actor(),
            lock_timeout: self.lock_timeout,
            durability: self.durability,
            test_locks: self.test_locks.clone(),
            clock,
            id_seed,
        };
        let core = orchestron_core::Context::new(settings);
        Ok(if self.state_root_chosen() {
            core.with_chosen_state_root()
        } else {
            core
        })
    }

    /// The session store, with the lock deadline and durability of this invocation.
    pub(crate) fn store(&self) -> anyhow::Result<Store> {
        self.store_in("sessions")
    }

    /// Who acts: the session named; else the name `act_as_when_sessionless` set, which also
    /// stands in for a session hint that is no session id (what `orchestron mcp` says acts).
    fn actor(&self) -> Option<String> {
        let fallback = self.sessionless_actor.get();
        let session = self.current_session.as_ref().filter(|raw| {
            fallback.is_none() || orchestron_core::ids::SessionId::parse(raw).is_ok()
        });
        session.or(fallback).cloned()
    }

    /// Make `name` the actor of everything this process does when no session is named
    /// (claims, history entries, decisions). Only before the core is first used: later, or
    /// a second time, it changes nothing.
    pub(crate) fn act_as_when_sessionless(&self, name: String) {
        if self.core.get().is_none() {
            let _ = self.sessionless_actor.set(name);
        }
    }

    /// The session `$ORCHESTRON_SESSION` (else Claude Code's) names, if any, unparsed.
    pub(crate) fn session_hint(&self) -> Option<&str> {
        self.current_session.as_deref()
    }

    fn store_in(&self, folder: &str) -> anyhow::Result<Store> {
        let durability = match self.durability {
            Some(durability) => durability,
            None => self.config()?.durability.unwrap_or_default(),
        };
        let store = Store::new(
            self.state_root().join(folder),
            self.lock_timeout,
            durability,
            self.test_locks.clone(),
        )
        .in_state_root(self.state_root());
        Ok(if self.state_root_chosen() {
            store
        } else {
            store.refusing_links(orchestron_core::context::STATE_FOLDERS)
        })
    }

    /// Whether the user named the state root (`$ORCHESTRON_HOME`): links in it are theirs.
    /// Else it was found in the project, and no write goes through a link there.
    pub(crate) fn state_root_chosen(&self) -> bool {
        self.home.is_some()
    }

    /// `$ORCHESTRON_MODE`, unparsed: only the hooks that create a session read it.
    pub(crate) fn mode_override(&self) -> Option<&str> {
        self.mode_override.as_deref()
    }

    /// `$CLAUDE_ENV_FILE`, where a SessionStart hook exports variables to later Bash calls.
    pub(crate) fn claude_env_file(&self) -> Option<&Path> {
        self.claude_env_file.as_deref()
    }

    /// The directory the command runs in.
    pub(crate) fn working_dir(&self) -> &Path {
        &self.working_dir
    }

    /// The state root a project at `dir` uses: `$ORCHESTRON_HOME`, else `.orchestron/` in
    /// the main worktree of `dir`'s repository (`dir` itself when it is not a worktree).
    pub(crate) fn state_root_of(&self, dir: &Path) -> PathBuf {
        match &self.home {
            Some(home) => home.clone(),
            None => orchestron_core::repo::locate(dir).state_root(),
        }
    }

    /// The first executable file called `name` in the directories of `$PATH`.
    pub(crate) fn find_program(&self, name: &str) -> Option<PathBuf> {
        use std::os::unix::fs::PermissionsExt as _;
        std::env::split_paths(self.path.as_deref()?)
            .map(|dir| dir.join(name))
            .find(|candidate| {
                std::fs::metadata(candidate)
                    .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
            })
    }

    /// The running binary.
    pub(crate) fn current_binary(&self) -> anyhow::Result<PathBuf> {
        std::env::current_exe().context("cannot tell where the running binary is")
    }

    /// `$ORCHESTRON_BIN`.
    pub(crate) fn bin_override(&self) -> Option<&Path> {
        self.bin.as_deref()
    }

    /// `$ORCHESTRON_CLAUDE`: the Claude Code binary workers run, unless `--claude` names one.
    pub(crate) fn claude_override(&self) -> Option<&Path> {
        self.claude.as_deref()
    }

    /// The worker this process serves, when `workers run` started it (`$ORCHESTRON_WORKER`).
    pub(crate) fn worker(&self) -> Option<&WorkerMark> {
        self.worker.as_ref()
    }

    /// `$PATH`, as it was.
    pub(crate) fn path_var(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// The core's context for a long-running command (`workers run`): "now" asked afresh
    /// for every operation, unless `ORCHESTRON_NOW` fixes it; ids seeded apart from other
    /// runs' with the same test seed (`salt`).
    pub(crate) fn core_for_long_run(&self, salt: &str) -> anyhow::Result<orchestron_core::Context> {
        let clock = if self.now_fixed {
            orchestron_core::Clock::Fixed(self.now)
        } else {
            orchestron_core::Clock::System
        };
        self.new_core(
            clock,
            self.id_seed.as_ref().map(|seed| format!("{seed}/{salt}")),
        )
    }

    /// The user's home directory (`$HOME`).
    pub(crate) fn user_home(&self) -> Option<&Path> {
        self.user_home.as_deref()
    }

    /// The same context acting as `agent` (`--agent`), when one is given.
    pub(crate) fn with_agent(mut self, agent: Option<String>) -> Context {
        if let Some(agent) = agent.filter(|agent| !agent.trim().is_empty()) {
            self.agent = Some(agent);
        }
        self
    }

    /// The skills of the agent this process works as (see `Config::skills_of`); none
    /// without an agent.
    pub(crate) fn agent_skills(&self) -> Vec<String> {
        match (self.agent(), self.config()) {
            (Some(agent), Ok(config)) => config.skills_of(&agent),
            _ => Vec::new(),
        }
    }

    /// The agent this process works as: `--agent`, else `$ORCHESTRON_AGENT`, else the
    /// configuration's `agent.id`.
    pub(crate) fn agent(&self) -> Option<String> {
        self.agent.clone().or_else(|| {
            self.config()
                .ok()
                .and_then(|config| config.agent.id().map(str::to_owned))
        })
    }

    /// Who this process is to the lease table: its agent, and the item it works on when it
    /// is a worker.
    pub(crate) fn lease_holder(&self) -> orchestron_core::coordination::table::Who {
        orchestron_core::coordination::table::Who {
            agent: self.agent(),
            worker: self.worker.as_ref().map(|worker| worker.item.clone()),
        }
    }

    /// The session named by `$ORCHESTRON_SESSION`, else `$CLAUDE_CODE_SESSION_ID`.
    pub(crate) fn current_session(&self) -> anyhow::Result<SessionId> {
        let raw = self.current_session.as_deref().ok_or_else(|| {
            orchestron_core::error::hinted(
                "there is no current session",
                format!(
                    "set `{}` (Claude Code sets `{}` for its own commands)",
                    var::SESSION,
                    var::CLAUDE_CODE_SESSION_ID
                ),
            )
        })?;
        SessionId::parse(raw)
    }
}
