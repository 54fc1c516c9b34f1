//! The project configuration, `<state root>/config.json`. Every key is optional and unknown
//! keys are ignored, so later versions can add settings without breaking older binaries.
//!
//! ```json
//! { "durability": "full",
//!   "session": { "default_mode": "sprint", "expiry": { "config": "90m" },
//!                "styles": { "development": "all-team_dashboard", "config": null } },
//!   "hooks": { "test_commands": ["cargo test"], "context_chars": 4000 },
//!   "board": { "wip": { "IN_PROGRESS": 5 } },
//!   "handoffs": { "keep": 50, "max_age": "14d" },
//!   "query": { "max_nodes": 5000000 } }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context as _;
use serde::Deserialize;

/// The most characters of context a hook may inject: Claude Code saves anything longer to a
/// file and shows the model only a preview.
pub const MAX_CONTEXT_CHARS: usize = 10_000;

/// The most characters of context SessionStart injects unless configured otherwise.
pub const DEFAULT_CONTEXT_CHARS: usize = 2_000;

/// The commands recognised as test runs when the project configures none: a command runs
/// tests when its words hold one of these as a run of whole words.
pub const DEFAULT_TEST_COMMANDS: [&str; 10] = [
    "cargo test",
    "cargo nextest",
    "pytest",
    "npm test",
    "npm run test",
    "yarn test",
    "pnpm test",
    "go test",
    "jest",
    "vitest",
];

/// What a session is for; it sets how long the session lives and which output style it uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Development,
    Leadership,
    Sprint,
    Config,
}

impl Mode {
    pub const NAMES: [&'static str; 4] = ["development", "leadership", "sprint", "config"];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Development => "development",
            Mode::Leadership => "leadership",
            Mode::Sprint => "sprint",
            Mode::Config => "config",
        }
    }

    /// How long a session of this mode lives after its last heartbeat, unless the project
    /// configuration says otherwise.
    pub fn default_expiry(self) -> Duration {
        let hours = match self {
            Mode::Development => 24,
            Mode::Leadership => 48,
            Mode::Sprint => 168,
            Mode::Config => 1,
        };
        Duration::from_secs(hours * 3600)
    }
}

impl FromStr for Mode {
    type Err = anyhow::Error;

    fn from_str(raw: &str) -> anyhow::Result<Mode> {
        match raw {
            "development" => Ok(Mode::Development),
            "leadership" => Ok(Mode::Leadership),
            "sprint" => Ok(Mode::Sprint),
            "config" => Ok(Mode::Config),
            other => anyhow::bail!(
                "unknown mode `{other}`: expected one of {}",
                Mode::NAMES.join(", ")
            ),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The tracker's statuses, named here so that the configuration can check its keys
/// (`board.wip`); `tracker::model::Status` reads its names from this list.
pub const STATUS_NAMES: [&str; 8] = [
    "BACKLOG",
    "TODO",
    "IN_PROGRESS",
    "IN_REVIEW",
    "TESTING",
    "DONE",
    "BLOCKED",
    "CANCELLED",
];

/// How hard a write tries to survive power loss, like SQLite's `synchronous`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// Atomic rename only: a killed process never leaves a torn file, but a power cut can
    /// lose the last writes. About 4 ms cheaper per write than `Full` on these disks.
    #[default]
    Normal,
    /// Also fsync the temp file before the rename and the directory after it.
    Full,
}

impl Durability {
    pub fn parse(raw: &str) -> anyhow::Result<Durability> {
        match raw {
            "normal" => Ok(Durability::Normal),
            "full" => Ok(Durability::Full),
            other => anyhow::bail!("unknown durability `{other}`: expected `normal` or `full`"),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Config {
    #[serde(default)]
    pub durability: Option<Durability>,
    #[serde(default)]
    pub session: SessionConfig,
    #[serde(default)]
    pub hooks: HooksConfig,
    #[serde(default)]
    pub tracker: TrackerConfig,
    #[serde(default)]
    pub board: BoardConfig,
    #[serde(default)]
    pub query: QueryConfig,
    #[serde(default)]
    pub snapshots: SnapshotsConfig,
    #[serde(default)]
    pub handoffs: HandoffsConfig,
    #[serde(default)]
    pub agent: AgentConfig,
    #[serde(default)]
    pub claims: ClaimsConfig,
    #[serde(default)]
    pub workers: WorkersConfig,
    #[serde(default)]
    pub notify: NotifyConfig,
    #[serde(default)]
    pub coordination: CoordinationConfig,
    /// Other agents' skills, by name: `{"frontend": {"skills": ["ui", "css"]}}`.
    #[serde(default)]
    pub agents: BTreeMap<String, AgentSkills>,
}

/// An agent's skills (`agents.NAME`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AgentSkills {
    #[serde(default)]
    pub skills: Vec<String>,
}

/// How long an edit's touch lasts after the latest edit unless configured otherwise
/// (`coordination.touch_ttl`): 10 minutes.
pub const DEFAULT_TOUCH_TTL: Duration = Duration::from_secs(10 * 60);

/// How long an explicit file lease lasts unless `--ttl` or `coordination.lease_ttl` says
/// otherwise: 30 minutes.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(30 * 60);

/// What a tool call on a file another live session leases exclusively is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnExclusive {
    Deny,
    Ask,
}

impl OnExclusive {
    pub fn as_str(self) -> &'static str {
        match self {
            OnExclusive::Deny => "deny",
            OnExclusive::Ask => "ask",
        }
    }
}

/// File leases between live sessions (`coordination`): `{"touch_ttl": "10m", "lease_ttl":
/// "30m", "on_exclusive": "deny"}`. Without `on_exclusive`, a worker session is denied and
/// an interactive one asked.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CoordinationConfig {
    /// A duration such as `10m` (default [`DEFAULT_TOUCH_TTL`]).
    #[serde(default)]
    pub touch_ttl: Option<String>,
    /// A duration such as `30m` (default [`DEFAULT_LEASE_TTL`]).
    #[serde(default)]
    pub lease_ttl: Option<String>,
    #[serde(default)]
    pub on_exclusive: Option<OnExclusive>,
}

impl CoordinationConfig {
    fn check(&self, path: &Path) -> anyhow::Result<()> {
        for (name, value) in [
            ("touch_ttl", &self.touch_ttl),
            ("lease_ttl", &self.lease_ttl),
        ] {
            if let Some(value) = value {
                let ttl = parse_duration(value).with_context(|| {
                    format!("invalid `coordination.{name}` in `{}`", path.display())
                })?;
                anyhow::ensure!(
                    !ttl.is_zero() && ttl <= MAX_EXPIRY,
                    "invalid `coordination.{name}` in `{}`: it must be longer than zero",
                    path.display()
                );
            }
        }
        Ok(())
    }
}

impl Config {
    /// How long an edit's touch lasts after the latest edit.
    pub fn touch_ttl(&self) -> Duration {
        Self::ttl(self.coordination.touch_ttl.as_deref(), DEFAULT_TOUCH_TTL)
    }

    /// How long an explicit lease lasts when `--ttl` does not say.
    pub fn lease_ttl(&self) -> Duration {
        Self::ttl(self.coordination.lease_ttl.as_deref(), DEFAULT_LEASE_TTL)
    }

    fn ttl(setting: Option<&str>, default: Duration) -> Duration {
        setting
            .and_then(|ttl| parse_duration(ttl).ok())
            .filter(|ttl| !ttl.is_zero())
            .unwrap_or(default)
    }
}

/// Who works in this project. Until agents have identities of their own, `agent.id` names
/// the one agent the project's sessions act for: SessionStart tells a session of the
/// clarifications and feedback on the open items assigned to it (as well as to the session
/// itself).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AgentConfig {
    /// The agent's name, as items are assigned to it (`orchestron task assign ID --to NAME`).
    #[serde(default)]
    pub id: Option<String>,
    /// What it is good at: item labels it takes first (`task next`).
    #[serde(default)]
    pub skills: Vec<String>,
}

impl AgentConfig {
    /// The agent's name, when one is set and not blank.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref().filter(|id| !id.trim().is_empty())
    }
}

impl Config {
    /// The skills of the agent `name`: `agents.NAME.skills`, else `agent.skills` when it is
    /// `agent.id`, else its own name (an agent called `backend` is good at `backend`).
    pub fn skills_of(&self, name: &str) -> Vec<String> {
        if let Some(entry) = self.agents.get(name) {
            return entry.skills.clone();
        }
        if self.agent.id() == Some(name) && !self.agent.skills.is_empty() {
            return self.agent.skills.clone();
        }
        vec![name.to_owned()]
    }
}

/// How many handoffs a project keeps, and for how long (`handoffs`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HandoffsConfig {
    /// The most handoffs kept per project, newest first (default [`DEFAULT_HANDOFFS_KEEP`],
    /// at most [`MAX_HANDOFFS_KEEP`]).
    #[serde(default)]
    pub keep: Option<usize>,
    /// How long a handoff is kept (a duration such as `30d`, or hours; default
    /// [`DEFAULT_HANDOFFS_MAX_AGE`]).
    #[serde(default)]
    pub max_age: Option<ExpirySetting>,
}

/// How many handoffs a project keeps unless configured otherwise.
pub const DEFAULT_HANDOFFS_KEEP: usize = 100;

/// The most handoffs `handoffs.keep` may ask for: every SessionStart reads them all, and
/// they live in one document that must stay under the store's size bound (each handoff is
/// clipped to a few kilobytes; `handoffs` checks the product).
pub const MAX_HANDOFFS_KEEP: usize = 200;

/// How long a handoff is kept unless configured otherwise: 30 days.
pub const DEFAULT_HANDOFFS_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);

/// How far one JSONPath query may go (`query`, `state get`, `state` edits, `slash`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct QueryConfig {
    /// The most nodes one query may visit (default [`DEFAULT_QUERY_MAX_NODES`]).
    #[serde(default)]
    pub max_nodes: Option<u64>,
}

/// The most nodes a JSONPath query visits unless configured otherwise: every node a
/// selector, a descendant walk or a comparison touches counts one (strings count by length,
/// see `jsonpath`). A query that touches each node of a 10 MB document a few times fits; one
/// quadratic in the document stops within a second or so, having held at most about 200 MB.
pub const DEFAULT_QUERY_MAX_NODES: u64 = 5_000_000;

/// How `orchestron board` draws the Kanban board.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct BoardConfig {
    /// Work-in-progress limits per status, over the defaults; `0` or `null` lifts one.
    #[serde(default)]
    pub wip: BTreeMap<String, Option<u32>>,
}

/// The WIP limits a board has unless the project says otherwise: a handful of items in
/// progress, fewer waiting on review and testing, so that work gets finished, not started.
pub const DEFAULT_WIP: [(&str, u32); 3] = [("IN_PROGRESS", 4), ("IN_REVIEW", 3), ("TESTING", 3)];

/// The output style each mode maps to unless the project says otherwise. Development uses
/// Claude Code's own style.
pub const DEFAULT_STYLES: [(&str, &str); 3] = [
    ("sprint", "sprint_execution"),
    ("leadership", "leadership_chat"),
    ("config", "config_manager"),
];

/// How the project tracker treats finished work.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TrackerConfig {
    /// `task complete` on IN_PROGRESS goes to IN_REVIEW, and IN_PROGRESS cannot go to DONE.
    #[serde(default)]
    pub require_review: bool,
    /// `task approve` sends IN_REVIEW to TESTING rather than DONE.
    #[serde(default)]
    pub require_testing: bool,
    /// The project items belong to (default: the project folder's name).
    #[serde(default)]
    pub project: Option<String>,
}

/// How `orchestron hook` behaves in this project.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HooksConfig {
    /// Commands recognised as test runs, as runs of whole words (`cargo test`); replaces the
    /// defaults.
    #[serde(default)]
    pub test_commands: Option<Vec<String>>,
    /// The most characters SessionStart injects (default 2,000, at most 10,000).
    #[serde(default)]
    pub context_chars: Option<usize>,
    /// The project's guard rules for PreToolUse.
    #[serde(default)]
    pub guards: Vec<Rule>,
    /// Guard rules switched off by name (`rm-rf-root`, `env-files`, a project rule's name),
    /// or `*` for all.
    #[serde(default)]
    pub disabled_guards: Vec<String>,
    /// Block a Stop once when the last test run after the last edit failed.
    #[serde(default)]
    pub test_before_stop: bool,
}

/// What a matching rule decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Deny,
    Ask,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Deny => "deny",
            Decision::Ask => "ask",
        }
    }
}

/// A rule from the project configuration (`hooks.guards`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// A name for messages and for switching it off.
    #[serde(default)]
    pub name: Option<String>,
    /// Tool names as globs, `|`-separated: `Bash`, `Edit|Write`, `mcp__*`.
    pub tool: String,
    /// A glob on the command as written (not split as a shell would split it, unlike the
    /// shipped `rm-rf-root`) or on the file path; absent means every call of the tool.
    #[serde(default)]
    pub pattern: Option<String>,
    pub decision: Decision,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SessionConfig {
    /// Expiry per mode, overriding the defaults (a duration such as `36h`, or hours).
    #[serde(default)]
    pub expiry: BTreeMap<String, ExpirySetting>,
    /// The mode of sessions the hooks create when `ORCHESTRON_MODE` is not set.
    #[serde(default)]
    pub default_mode: Option<String>,
    /// The output style per mode, over the defaults; `null` or `""` maps a mode to none.
    #[serde(default)]
    pub styles: BTreeMap<String, Option<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged, expecting = "a number of hours or a duration such as `36h`")]
pub enum ExpirySetting {
    Hours(f64),
    Text(String),
}

impl Config {
    /// Read `path`; a missing file is the default configuration, a malformed one an error.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(err) => {
                return Err(err).with_context(|| format!("cannot read `{}`", path.display()));
            }
        };
        let config: Config = serde_json::from_slice(&bytes)
            .with_context(|| format!("invalid configuration in `{}`", path.display()))?;
        for (mode, setting) in &config.session.expiry {
            mode.parse::<Mode>()
                .and_then(|_| setting.duration())
                .with_context(|| {
                    format!("invalid `session.expiry.{mode}` in `{}`", path.display())
                })?;
        }
        if let Some(mode) = &config.session.default_mode {
            mode.parse::<Mode>().with_context(|| {
                format!("invalid `session.default_mode` in `{}`", path.display())
            })?;
        }
        for mode in config.session.styles.keys() {
            mode.parse::<Mode>().with_context(|| {
                format!("invalid `session.styles.{mode}` in `{}`", path.display())
            })?;
        }
        for status in config.board.wip.keys() {
            STATUS_NAMES
                .contains(&status.as_str())
                .then_some(())
                .with_context(|| {
                    format!(
                        "invalid `board.wip.{status}` in `{}`: not one of {}",
                        path.display(),
                        STATUS_NAMES.join(", ")
                    )
                })?;
        }
        if config.query.max_nodes == Some(0) {
            anyhow::bail!(
                "invalid `query.max_nodes` in `{}`: it must be at least 1",
                path.display()
            );
        }
        config.snapshots.check(path)?;
        if let Some(keep) = config.handoffs.keep {
            anyhow::ensure!(
                (1..=MAX_HANDOFFS_KEEP).contains(&keep),
                "invalid `handoffs.keep` in `{}`: it must be 1 to {MAX_HANDOFFS_KEEP}",
                path.display()
            );
        }
        if let Some(age) = &config.handoffs.max_age {
            age.duration()
                .with_context(|| format!("invalid `handoffs.max_age` in `{}`", path.display()))?;
        }
        if let Some(lease) = &config.claims.lease {
            let lease = parse_duration(lease)
                .with_context(|| format!("invalid `claims.lease` in `{}`", path.display()))?;
            anyhow::ensure!(
                !lease.is_zero() && lease <= MAX_EXPIRY,
                "invalid `claims.lease` in `{}`: it must be longer than zero",
                path.display()
            );
        }
        config.workers.check(path)?;
        config.coordination.check(path)?;
        if let Some(chars) = config.hooks.context_chars {
            anyhow::ensure!(
                (1..=MAX_CONTEXT_CHARS).contains(&chars),
                "invalid `hooks.context_chars` in `{}`: it must be 1 to {MAX_CONTEXT_CHARS}",
                path.display()
            );
        }
        Ok(config)
    }

    /// The mode of sessions the hooks create.
    pub fn default_mode(&self) -> Mode {
        self.session
            .default_mode
            .as_deref()
            .and_then(|mode| mode.parse().ok())
            .unwrap_or_default()
    }

    /// The output style sessions of `mode` use, if any.
    pub fn style(&self, mode: Mode) -> Option<&str> {
        match self.session.styles.get(mode.as_str()) {
            Some(setting) => setting.as_deref().filter(|name| !name.is_empty()),
            None => DEFAULT_STYLES
                .iter()
                .find(|(name, _)| *name == mode.as_str())
                .map(|(_, style)| *style),
        }
    }

    /// The work-in-progress limit of a board column, if it has one.
    pub fn wip_limit(&self, status: &str) -> Option<u32> {
        match self.board.wip.get(status) {
            Some(limit) => limit.filter(|limit| *limit > 0),
            None => DEFAULT_WIP
                .iter()
                .find(|(name, _)| *name == status)
                .map(|(_, limit)| *limit),
        }
    }

    /// The commands recognised as test runs.
    pub fn test_commands(&self) -> Vec<String> {
        match &self.hooks.test_commands {
            Some(commands) => commands.clone(),
            None => DEFAULT_TEST_COMMANDS
                .iter()
                .map(|command| (*command).to_owned())
                .collect(),
        }
    }

    /// The most characters SessionStart injects.
    pub fn context_chars(&self) -> usize {
        self.hooks.context_chars.unwrap_or(DEFAULT_CONTEXT_CHARS)
    }

    /// How many handoffs a project keeps.
    pub fn handoffs_keep(&self) -> usize {
        self.handoffs.keep.unwrap_or(DEFAULT_HANDOFFS_KEEP)
    }

    /// How long a handoff is kept.
    pub fn handoffs_max_age(&self) -> Duration {
        self.handoffs
            .max_age
            .as_ref()
            .and_then(|setting| setting.duration().ok())
            .unwrap_or(DEFAULT_HANDOFFS_MAX_AGE)
    }

    /// The most nodes one JSONPath query may visit.
    pub fn query_max_nodes(&self) -> u64 {
        self.query.max_nodes.unwrap_or(DEFAULT_QUERY_MAX_NODES)
    }

    /// How long a session of `mode` lives after its last heartbeat.
    pub fn expiry(&self, mode: Mode) -> Duration {
        self.session
            .expiry
            .get(mode.as_str())
            .and_then(|setting| setting.duration().ok())
            .unwrap_or_else(|| mode.default_expiry())
    }
}

// ---------------------------------------------------------------------------------------
// claims, workers and notifications (`orchestron workers`, `attention`)

/// How long a claim lasts after its claimer's last activity unless configured otherwise
/// (`claims.lease`): 15 minutes.
pub const DEFAULT_CLAIM_LEASE: Duration = Duration::from_secs(15 * 60);

/// Claim leases: every claim on an item lasts `lease` after its claimer's last activity.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ClaimsConfig {
    /// A duration such as `15m` (default [`DEFAULT_CLAIM_LEASE`]).
    #[serde(default)]
    pub lease: Option<String>,
}

/// The defaults of `orchestron workers run`; each flag overrides its key.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct WorkersConfig {
    /// How many workers run at once (`--count`, default 2).
    #[serde(default)]
    pub count: Option<u32>,
    /// The Claude Code binary (`--claude`; after `ORCHESTRON_CLAUDE`, before `claude` on
    /// `PATH`).
    #[serde(default)]
    pub claude: Option<String>,
    /// The model workers use (`--model`).
    #[serde(default)]
    pub model: Option<String>,
    /// The permission mode workers run in (`--permission-mode`).
    #[serde(default)]
    pub permission_mode: Option<String>,
    /// The most turns one attempt may take (`--max-turns`).
    #[serde(default)]
    pub max_turns: Option<u32>,
    /// How long a worker may go without an event before it is stopped (`--stall`, default
    /// `5m`).
    #[serde(default)]
    pub stall: Option<String>,
    /// How many attempts an item gets in one run, the first included (`--attempts`,
    /// default 2).
    #[serde(default)]
    pub attempts: Option<u32>,
    /// The integration branch (`--into`, default `orchestron/integration`).
    #[serde(default)]
    pub into: Option<String>,
    /// The most a run may spend, in US dollars (`--budget-usd`).
    #[serde(default)]
    pub budget_usd: Option<f64>,
    /// The most one attempt may spend, in US dollars (`--item-budget-usd`).
    #[serde(default)]
    pub item_budget_usd: Option<f64>,
    /// The project's test command, run with `sh -c` in a worker's worktree before its work
    /// is merged; none by default.
    #[serde(default)]
    pub test_command: Option<String>,
    /// The most bytes of a worker's instructions (default 8,192).
    #[serde(default)]
    pub instructions_bytes: Option<usize>,
    /// How long the test command may run before its process group is killed and the
    /// attempt fails (a duration such as `10m`; default [`DEFAULT_TEST_TIMEOUT`]).
    #[serde(default)]
    pub test_timeout: Option<String>,
}

/// The most workers one run may start at once (`--count`, `workers.count`).
pub const MAX_WORKERS_COUNT: u32 = 64;

/// The most attempts an item may get in one run (`--attempts`, `workers.attempts`).
pub const MAX_WORKER_ATTEMPTS: u32 = 10;

/// The most turns `--max-turns` (`workers.max_turns`) may allow.
pub const MAX_WORKER_TURNS: u32 = 100_000;

/// The longest `--stall` (`workers.stall`) and `workers.test_timeout`: a day.
pub const MAX_WORKER_WAIT: Duration = Duration::from_secs(24 * 3600);

/// How long the test command may run unless configured otherwise (`workers.test_timeout`).
pub const DEFAULT_TEST_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// Check a duration for `--stall` or `workers.test_timeout`: longer than zero, at most
/// [`MAX_WORKER_WAIT`].
pub fn worker_wait(text: &str) -> anyhow::Result<Duration> {
    let wait = parse_duration(text)?;
    anyhow::ensure!(!wait.is_zero(), "it must be longer than zero");
    anyhow::ensure!(
        wait <= MAX_WORKER_WAIT,
        "`{text}` is longer than the longest allowed, 24h"
    );
    Ok(wait)
}

/// The longest TTL a file lease may ask for (`--ttl`): 30 days.
pub const MAX_LEASE_TTL: Duration = Duration::from_secs(30 * 86_400);

/// Check a lease's TTL (`--ttl`): longer than zero and at most [`MAX_LEASE_TTL`].
pub fn lease_ttl(text: &str) -> anyhow::Result<Duration> {
    let trimmed = text.trim();
    anyhow::ensure!(
        !trimmed.starts_with('-'),
        "a TTL must be longer than zero, not `{trimmed}`"
    );
    if trimmed.parse::<f64>().is_ok() {
        anyhow::ensure!(
            trimmed.parse::<f64>() != Ok(0.0),
            "a TTL must be longer than zero, not `{trimmed}`"
        );
        anyhow::bail!("`{trimmed}` needs a unit, as in `30m`, `2h` or `90s`");
    }
    let ttl = parse_duration(text)?;
    anyhow::ensure!(!ttl.is_zero(), "a TTL must be longer than zero");
    anyhow::ensure!(
        ttl >= Duration::from_secs(1),
        "`{text}` is shorter than the shortest TTL, 1s"
    );
    anyhow::ensure!(
        ttl <= MAX_LEASE_TTL,
        "`{text}` is longer than the longest TTL, 30 days"
    );
    Ok(ttl)
}

/// Check an amount for `--budget-usd` or `--item-budget-usd`: positive and finite.
pub fn positive_usd(usd: f64) -> anyhow::Result<f64> {
    anyhow::ensure!(
        usd.is_finite() && usd > 0.0,
        "`{usd}` is not a positive amount of US dollars"
    );
    Ok(usd)
}

impl WorkersConfig {
    fn check(&self, path: &Path) -> anyhow::Result<()> {
        let bad = |key: &str| format!("invalid `workers.{key}` in `{}`", path.display());
        let range = |key: &str, value: Option<u32>, max: u32| -> anyhow::Result<()> {
            match value {
                Some(value) if !(1..=max).contains(&value) => {
                    anyhow::bail!("{}: `{value}` is out of range, from 1 to {max}", bad(key))
                }
                _ => Ok(()),
            }
        };
        range("count", self.count, MAX_WORKERS_COUNT)?;
        range("attempts", self.attempts, MAX_WORKER_ATTEMPTS)?;
        range("max_turns", self.max_turns, MAX_WORKER_TURNS)?;
        for (key, value) in [("stall", &self.stall), ("test_timeout", &self.test_timeout)] {
            if let Some(text) = value {
                worker_wait(text).with_context(|| bad(key))?;
            }
        }
        for (key, value) in [
            ("budget_usd", self.budget_usd),
            ("item_budget_usd", self.item_budget_usd),
        ] {
            if let Some(usd) = value {
                positive_usd(usd).with_context(|| bad(key))?;
            }
        }
        if self.instructions_bytes.is_some_and(|b| b < 1024) {
            anyhow::bail!("{}: it must be at least 1024", bad("instructions_bytes"));
        }
        Ok(())
    }

    /// How long the test command may run.
    pub fn test_timeout(&self) -> Duration {
        self.test_timeout
            .as_deref()
            .and_then(|text| worker_wait(text).ok())
            .unwrap_or(DEFAULT_TEST_TIMEOUT)
    }
}

/// The most bytes a worker's instructions take unless configured otherwise.
pub const DEFAULT_INSTRUCTIONS_BYTES: usize = 8_192;

/// What runs when something enters the attention queue (`notify.command`): a command line
/// run with `sh -c`, or an array run as is, with the entry as JSON on its stdin.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NotifyConfig {
    #[serde(default)]
    pub command: Option<NotifyCommand>,
}

/// A notification command: a shell line, or the words of a command run without a shell.
#[derive(Debug, Clone, Deserialize)]
#[serde(
    untagged,
    expecting = "a command line (a string) or the words of a command (an array of strings)"
)]
pub enum NotifyCommand {
    Shell(String),
    Exec(Vec<String>),
}

impl Config {
    /// How long a claim lasts after its claimer's last activity.
    pub fn claim_lease(&self) -> Duration {
        self.claims
            .lease
            .as_deref()
            .and_then(|lease| parse_duration(lease).ok())
            .filter(|lease| !lease.is_zero())
            .unwrap_or(DEFAULT_CLAIM_LEASE)
    }

    /// The most bytes of a worker's instructions.
    pub fn instructions_bytes(&self) -> usize {
        self.workers
            .instructions_bytes
            .unwrap_or(DEFAULT_INSTRUCTIONS_BYTES)
    }
}

// ---------------------------------------------------------------------------------------
// snapshots (`orchestron context save|load|list|prune`)

/// How many named context snapshots a project keeps unless configured otherwise
/// (`snapshots.keep`): saving one more drops the oldest.
pub const DEFAULT_SNAPSHOTS_KEEP: usize = 100;

/// How long a context snapshot is kept unless configured otherwise (`snapshots.max_age`):
/// 30 days.
pub const DEFAULT_SNAPSHOTS_MAX_AGE: Duration = Duration::from_secs(30 * 86_400);

/// The most snapshots `snapshots.keep` may ask for: each is a file the list reads.
pub const MAX_SNAPSHOTS_KEEP: usize = 10_000;

/// How many context snapshots are kept, and for how long (`snapshots`), the same shape as
/// `handoffs`: `{"keep": 100, "max_age": "30d"}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SnapshotsConfig {
    /// The most snapshots kept (default [`DEFAULT_SNAPSHOTS_KEEP`]).
    #[serde(default)]
    pub keep: Option<usize>,
    /// How long one is kept, as a duration such as `30d` (default 30 days).
    #[serde(default)]
    pub max_age: Option<String>,
}

impl SnapshotsConfig {
    fn check(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(keep) = self.keep {
            anyhow::ensure!(
                (1..=MAX_SNAPSHOTS_KEEP).contains(&keep),
                "invalid `snapshots.keep` in `{}`: it must be 1 to {MAX_SNAPSHOTS_KEEP}",
                path.display()
            );
        }
        if let Some(age) = &self.max_age {
            let age = parse_duration(age)
                .with_context(|| format!("invalid `snapshots.max_age` in `{}`", path.display()))?;
            anyhow::ensure!(
                !age.is_zero() && age <= MAX_EXPIRY,
                "invalid `snapshots.max_age` in `{}`: it must be longer than zero and at most \
                 100 years",
                path.display()
            );
        }
        Ok(())
    }

    /// The most snapshots kept.
    pub fn keep(&self) -> usize {
        self.keep.unwrap_or(DEFAULT_SNAPSHOTS_KEEP)
    }

    /// How long a snapshot is kept.
    pub fn max_age(&self) -> Duration {
        self.max_age
            .as_deref()
            .and_then(|age| parse_duration(age).ok())
            .unwrap_or(DEFAULT_SNAPSHOTS_MAX_AGE)
    }
}

/// The longest expiry a mode may have: 100 years of 365 days. Longer ones, which a
/// `Duration` may not even hold (`1e20` hours), are refused when the configuration is read.
pub const MAX_EXPIRY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

impl ExpirySetting {
    fn duration(&self) -> anyhow::Result<Duration> {
        let duration = match self {
            ExpirySetting::Hours(hours) if hours.is_finite() && *hours > 0.0 => {
                // Checked before converting: `Duration::from_secs_f64` panics past `u64`.
                anyhow::ensure!(
                    *hours <= MAX_EXPIRY.as_secs_f64() / 3600.0,
                    "`{hours:e}` hours is longer than the longest expiry, {} hours (100 years)",
                    MAX_EXPIRY.as_secs() / 3600
                );
                Duration::try_from_secs_f64(hours * 3600.0)?
            }
            ExpirySetting::Hours(hours) => {
                anyhow::bail!("`{hours}` is not a positive number of hours")
            }
            ExpirySetting::Text(text) => parse_duration(text)?,
        };
        anyhow::ensure!(!duration.is_zero(), "an expiry must be longer than zero");
        anyhow::ensure!(
            duration <= MAX_EXPIRY,
            "it is longer than the longest expiry, {} hours (100 years)",
            MAX_EXPIRY.as_secs() / 3600
        );
        Ok(duration)
    }
}

/// Parse a duration such as `500ms`, `2s`, `1h 30m` or `PT2S`.
pub fn parse_duration(text: &str) -> anyhow::Result<Duration> {
    let text = text.trim();
    let signed = match text.parse::<jiff::SignedDuration>() {
        Ok(signed) => signed,
        // Days and weeks (`7d`, `2w`) are calendar units to jiff; here a day is 24 hours.
        Err(err) => text
            .parse::<jiff::Span>()
            .and_then(|span| span.to_duration(jiff::SpanRelativeTo::days_are_24_hours()))
            // jiff's own wording ("try parsing into a `jiff::Span`") speaks to programmers.
            .map_err(|_| {
                drop(err);
                anyhow::anyhow!(
                    "`{text}` is not a duration such as `500ms`, `2s`, `1h` or `7d` \
                     (or it is too long)"
                )
            })?,
    };
    Duration::try_from(signed).with_context(|| format!("`{text}` is negative"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1h 30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("PT2S").unwrap(), Duration::from_secs(2));
        assert_eq!(
            parse_duration("7d").unwrap(),
            Duration::from_secs(7 * 86_400)
        );
        assert_eq!(
            parse_duration("1w 1d").unwrap(),
            Duration::from_secs(8 * 86_400)
        );
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-2s").is_err());
    }

    #[test]
    fn expiry_overrides() {
        let config: Config = serde_json::from_str(
            r#"{"session": {"expiry": {"development": "36h", "config": 2}}, "later": true}"#,
        )
        .unwrap();
        assert_eq!(
            config.expiry(Mode::Development),
            Duration::from_secs(36 * 3600)
        );
        assert_eq!(config.expiry(Mode::Config), Duration::from_secs(2 * 3600));
        assert_eq!(config.expiry(Mode::Sprint), Duration::from_secs(168 * 3600));
    }

    /// Finding 4: an expiry of `1e20` hours panicked in `Duration::from_secs_f64`, in every
    /// command that read the configuration.
    #[test]
    fn finding_04_an_out_of_range_expiry_is_refused_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        let max_hours = MAX_EXPIRY.as_secs() / 3600;
        for (expiry, complaint) in [
            ("1e20", "longer than the longest expiry"),
            ("1.7e308", "longer than the longest expiry"),
            (
                &*format!("{}", max_hours + 1),
                "longer than the longest expiry",
            ),
            ("\"876001h\"", "longer than the longest expiry"),
            ("\"9999999999999h\"", "longer than the longest expiry"),
            ("\"200y\"", "not a duration"),
            ("0", "not a positive number"),
            ("-1", "not a positive number"),
            ("\"0s\"", "longer than zero"),
            ("1e-300", "longer than zero"),
        ] {
            std::fs::write(
                &path,
                format!(r#"{{"session": {{"expiry": {{"sprint": {expiry}}}}}}}"#),
            )
            .unwrap();
            let err = format!("{:#}", Config::load(&path).unwrap_err());
            assert!(err.contains("`session.expiry.sprint`"), "{expiry}: {err}");
            assert!(err.contains(complaint), "{expiry}: {err}");
        }
        // At the bound, and just under it, the expiry holds.
        for expiry in [
            format!("{max_hours}"),
            format!("\"{max_hours}h\""),
            "1e-3".to_owned(),
        ] {
            std::fs::write(
                &path,
                format!(r#"{{"session": {{"expiry": {{"sprint": {expiry}}}}}}}"#),
            )
            .unwrap();
            let config = Config::load(&path).unwrap();
            assert!(config.expiry(Mode::Sprint) <= MAX_EXPIRY, "{expiry}");
        }
    }

    #[test]
    fn handoff_bounds_are_configured_and_checked() {
        let config = Config::default();
        assert_eq!(config.handoffs_keep(), 100);
        assert_eq!(config.handoffs_max_age(), Duration::from_secs(30 * 86_400));
        let config: Config =
            serde_json::from_str(r#"{"handoffs": {"keep": 5, "max_age": "2d"}}"#).unwrap();
        assert_eq!(config.handoffs_keep(), 5);
        assert_eq!(config.handoffs_max_age(), Duration::from_secs(2 * 86_400));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        for (bad, key) in [
            (r#"{"handoffs": {"keep": 0}}"#, "`handoffs.keep`"),
            (r#"{"handoffs": {"keep": 201}}"#, "`handoffs.keep`"),
            (r#"{"handoffs": {"max_age": "soon"}}"#, "`handoffs.max_age`"),
            (r#"{"handoffs": {"max_age": -1}}"#, "`handoffs.max_age`"),
        ] {
            std::fs::write(&path, bad).unwrap();
            let err = format!("{:#}", Config::load(&path).unwrap_err());
            assert!(err.contains(key), "{bad}: {err}");
        }
        std::fs::write(&path, r#"{"handoffs": {"keep": 200, "max_age": 12}}"#).unwrap();
        let config = Config::load(&path).unwrap();
        assert_eq!(config.handoffs_max_age(), Duration::from_secs(12 * 3600));
    }

    #[test]
    fn styles_and_wip_limits_override_the_defaults() {
        let config = Config::default();
        assert_eq!(config.style(Mode::Sprint), Some("sprint_execution"));
        assert_eq!(config.style(Mode::Development), None);
        assert_eq!(config.wip_limit("IN_PROGRESS"), Some(4));
        assert_eq!(config.wip_limit("TODO"), None);
        let config: Config = serde_json::from_str(
            r#"{"session": {"styles": {"development": "all-team_dashboard", "sprint": null}},
                "board": {"wip": {"IN_PROGRESS": 0, "TODO": 9}}}"#,
        )
        .unwrap();
        assert_eq!(config.style(Mode::Development), Some("all-team_dashboard"));
        assert_eq!(config.style(Mode::Sprint), None);
        assert_eq!(config.style(Mode::Leadership), Some("leadership_chat"));
        assert_eq!(config.wip_limit("IN_PROGRESS"), None);
        assert_eq!(config.wip_limit("TODO"), Some(9));
    }

    #[test]
    fn snapshot_bounds_default_and_are_checked() {
        let config = Config::default();
        assert_eq!(config.snapshots.keep(), DEFAULT_SNAPSHOTS_KEEP);
        assert_eq!(config.snapshots.max_age(), DEFAULT_SNAPSHOTS_MAX_AGE);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, r#"{"snapshots": {"keep": 5, "max_age": "7d"}}"#).unwrap();
        let config = Config::load(&path).unwrap();
        assert_eq!(config.snapshots.keep(), 5);
        assert_eq!(config.snapshots.max_age(), Duration::from_secs(7 * 86_400));
        for (bad, key) in [
            (r#"{"snapshots": {"keep": 0}}"#, "snapshots.keep"),
            (r#"{"snapshots": {"keep": 10001}}"#, "snapshots.keep"),
            (r#"{"snapshots": {"max_age": "soon"}}"#, "snapshots.max_age"),
            (r#"{"snapshots": {"max_age": "0s"}}"#, "snapshots.max_age"),
        ] {
            std::fs::write(&path, bad).unwrap();
            let err = format!("{:#}", Config::load(&path).unwrap_err());
            assert!(err.contains(key), "{bad}: {err}");
        }
    }
}
