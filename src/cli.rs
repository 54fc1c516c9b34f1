//! The whole command-line surface, declared with clap derive. Doc comments are the help text.
//! Nothing outside this module and `commands` knows clap.

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser as _};
use clap::{Args, Parser, Subcommand};

use orchestron_core::session::{Mode, Status};
use orchestron_core::tracker::model::{Kind, Priority, Status as ItemStatus};

#[derive(Debug, Parser)]
#[command(
    name = "orchestron",
    version,
    about = "Memory, plans and coordination for Claude Code sessions",
    long_about = None,
    after_help = "State lives in `$ORCHESTRON_HOME`, else `.orchestron/` in the project root.\n\
                  Exit codes: 0 success, 1 failure, 2 usage error."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Print data as JSON
    #[arg(long, global = true, alias = "json-output")]
    pub json: bool,
    /// The agent this command acts as (overrides `ORCHESTRON_AGENT` and `agent.id`): `task
    /// next` takes the items labelled with its skills first, `workers run` passes it on
    #[arg(long, global = true, value_name = "NAME")]
    pub agent: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create, inspect and move sessions through their lifecycle
    #[command(subcommand)]
    Session(SessionCommand),
    /// Read and change the JSON state of a session
    #[command(subcommand)]
    State(StateCommand),
    /// Evaluate an RFC 9535 JSONPath over a JSON document
    Query(QueryArgs),
    /// Leave messages for running sessions; each sees a message once, at its next prompt
    #[command(subcommand)]
    Inbox(InboxCommand),
    /// Plan and track work: epics, stories, tasks, subtasks and to-dos with dependencies
    #[command(subcommand)]
    Task(TaskCommand),
    /// Plan work in sprints: add items, start, complete, burndown and velocity
    #[command(subcommand)]
    Sprint(SprintCommand),
    /// Track time spent on items
    #[command(subcommand)]
    Timer(TimerCommand),
    /// The V2 shared-state commands (`shared_state.py`): project configuration, epics,
    /// sprints and the tool registry, over the tracker
    #[command(subcommand)]
    Shared(SharedCommand),
    /// Record a decision: what was chosen, why, and what else was considered
    Decide {
        /// What was decided
        title: String,
        #[arg(long)]
        rationale: Option<String>,
        /// The options weighed, comma-separated
        #[arg(long, value_delimiter = ',')]
        alternatives: Vec<String>,
        #[arg(long, value_delimiter = ',')]
        pros: Vec<String>,
        #[arg(long, value_delimiter = ',')]
        cons: Vec<String>,
        /// The item it belongs to
        #[arg(long)]
        task: Option<String>,
        /// How much it matters: a decision review point may pause the session until a
        /// person approves it
        #[arg(long, value_parser = PossibleValuesParser::new(["low", "medium", "high"]))]
        severity: Option<String>,
    },
    /// Apply, show or clear the project's review points: where work stops for a person
    #[command(subcommand)]
    Workflow(WorkflowCommand),
    /// Approve what waits for a person: a decision or item a review point paused a session
    /// on (the refusal names the exact command), an item in review, a notice
    Approve {
        /// The decision or item
        id: String,
        /// What the person says, told to the session that resumes
        #[arg(long, value_name = "TEXT")]
        with_feedback: Option<String>,
    },
    /// Step in on an item: a clarification on it, and a message in the inbox of the session
    /// that holds it
    Intervene {
        /// The item
        id: String,
        #[arg(long)]
        message: String,
    },
    /// Pause the session holding an item until a person approves it: its writing tools are
    /// refused, its reads go on
    Pause {
        /// The item
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// List and show decisions
    #[command(subcommand)]
    Decision(DecisionCommand),
    /// What agents learned, shared between them: patterns, pitfalls, conventions
    #[command(subcommand)]
    Memory(MemoryCommand),
    /// Write the whole tracker as JSON lines: items, dependencies, checkpoints, comments,
    /// history, in a stable order
    Export {
        /// The one format there is
        #[arg(long, default_value = "jsonl")]
        format: String,
    },
    /// Load an export in one transaction: items replaced by id, everything else added once
    Import {
        /// The file, or `-` for stdin
        file: PathBuf,
    },
    /// Add a TODO under an item, or under the current session's task
    Todo {
        /// What is to be done
        text: String,
        /// The item it belongs to
        #[arg(long)]
        parent: Option<String>,
    },
    /// The Kanban board: items by status with WIP limits, blockers and the sprint's burndown
    ///
    /// Shows the active sprint, else every open item outside a sprint's scope (epics are
    /// containers and stay off the board).
    Board {
        /// The sprint to show (default: the active one)
        #[arg(long)]
        sprint: Option<String>,
        /// The most cards a column shows; the count says how many there are
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// How to print it (`--json` means `json`)
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// One page on the project: items by status, the active sprint, live sessions,
    /// blockers, what is ready next and the latest decisions
    Summary {
        /// How to print it (`--json` means `json`)
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Live sessions with their agents, to-dos and tests, metrics, and the latest activity
    Monitor {
        /// How many of the latest events to show
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// How to print it (`--json` means `json`)
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Show a session's mode, or switch it: records the mode and points `outputStyle` in
    /// `.claude/settings.local.json` at the style the mode maps to
    ///
    /// Claude Code applies an output style only when a session starts (or after `/clear`);
    /// until then the session follows the instructions this prints with `--json`. New
    /// sessions in the project start in the mode switched to; without a current session,
    /// that is all it changes.
    ///
    /// Without a mode it shows the session's mode and the one new sessions start in: the
    /// `env.ORCHESTRON_MODE` this writes in `.claude/settings.local.json` (else in
    /// `.claude/settings.json` or the user's settings), else `$ORCHESTRON_MODE`, else
    /// `session.default_mode` in the configuration, else development.
    Mode {
        /// The new mode
        #[arg(value_parser = mode_parser())]
        mode: Option<Mode>,
        /// The session (default: the current one, if any)
        #[arg(long)]
        session: Option<String>,
    },
    /// Read what the next session is told of the project's handoffs, or leave one now
    #[command(subcommand)]
    Handoff(HandoffCommand),
    /// What a slash command needs to know, for its `!` block: reads chosen by the command's
    /// arguments, run in order, each reported with its output or its error
    ///
    /// Changes nothing and always exits 0, because a failing `!` line silently aborts the
    /// whole command in Claude Code. The arguments are the slash command's own, as typed,
    /// after `--`, or with `--stdin` on stdin: the shipped commands run the command's
    /// general reads on one `!` line and pass the user's words to a second, `--stdin`, in a
    /// quoted here-document, so that no quote, backtick or `$` in them reaches a shell.
    Slash {
        /// The slash command
        #[arg(value_enum)]
        command: SlashCommand,
        /// Read the arguments from stdin, and run only the reads they add to those of the
        /// command without arguments (none when there are no arguments)
        #[arg(long, conflicts_with = "args")]
        stdin: bool,
        /// Its arguments, after `--`
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Where the current session stands: its item with progress and status, what blocks
    /// it, its unread messages; with no session, the project in one line
    Status {
        /// The session (default: the current one, if any)
        #[arg(long)]
        session: Option<String>,
    },
    /// The prompt a worker gets for an item: the item, what it has learned, its
    /// dependencies' results, matching decisions and memory, earlier attempts, the protocol
    ///
    /// At most `workers.instructions_bytes` (8,192 by default); it says what it had to cut.
    /// Changes nothing.
    WorkerInstructions {
        /// The item
        id: String,
        /// How to print it (`--json` means `json`)
        #[arg(long, value_enum, default_value_t = InstructionsFormat::Markdown)]
        format: InstructionsFormat,
    },
    /// What waits for a person: unanswered questions, blocked items, items in review and
    /// paused sessions, each with the command that acts on it
    ///
    /// Changes nothing. The hooks of an interactive session say when something new enters it;
    /// `notify.command` in the configuration runs with each new entry as JSON on stdin.
    Attention,
    /// Print what a session is told when it starts, or keep and load named snapshots of a
    /// session's working context
    ///
    /// Without an id: the current session's context, or, when there is no current session,
    /// what a new session here would be told. A session whose id is one of the verbs below
    /// is reached with `context show ID`.
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Context(ContextArgs),
    /// Print one status line for Claude Code's `statusLine`, from its JSON on stdin
    Statusline {
        /// Read the JSON from this file instead of stdin
        #[arg(long, value_name = "FILE")]
        payload: Option<PathBuf>,
    },
    /// Run as a Claude Code hook: read the event's JSON payload on stdin and react
    ///
    /// Never exits 2 (which Claude Code reads as "block") by accident: malformed input and
    /// internal errors exit 1 with one line on stderr; a deliberate refusal is a JSON reply.
    Hook {
        /// The event, as Claude Code names it (`SessionStart`) or in kebab case
        /// (`session-start`); unknown events do nothing
        event: String,
        /// Read the payload from this file instead of stdin (for scripts and benchmarks)
        #[arg(long, value_name = "FILE")]
        payload: Option<PathBuf>,
        /// Run as a worker's hook (`workers run` wires it); under `ORCHESTRON_WORKER`, a
        /// hook without it does nothing, so every event is handled once
        #[arg(long)]
        worker: bool,
    },
    /// Review a worker's finished item: its diff against the integration branch, the test
    /// result, the worker's note, cost and turns, and the log's summary
    ///
    /// Items wait IN_REVIEW when workers run with `--review human` or the project requires
    /// review; `orchestron attention` lists them.
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Review(ReviewArgs),
    /// Check the workers and the tracker: stale claims, dead workers, orphaned worktrees,
    /// worker branches, the integration branch, budget used, tracker integrity
    ///
    /// Exits 1 when a problem is left. `--fix` makes only the repairs that lose nothing:
    /// sweeps lapsed claims, recovers what a killed supervisor left (its work committed
    /// first), deletes worker branches the integration branch holds, prunes worktrees git
    /// lost, recounts dependency counts.
    Health {
        /// Make the safe repairs first, then report what is left
        #[arg(long)]
        fix: bool,
    },
    /// Forecast conflicts between live branches: the files both sides changed and the
    /// conflicts a merge would have
    ///
    /// Looks at the integration branch and the workers' branches (`orchestron/<ID>`), or the
    /// branches named with `--branch`, pair by pair, with `git merge-tree`; changes nothing.
    /// Conflicts are data: it exits 0 when it could look, 1 when it could not.
    Conflicts {
        /// A branch to compare (repeat it; default: the live branches)
        #[arg(long = "branch", value_name = "BRANCH")]
        branches: Vec<String>,
    },
    /// Serve the plan over MCP on stdin and stdout (JSON-RPC 2.0, one message per line), for
    /// Claude Code or any MCP client: tools to take, read, list, create and update items
    ///
    /// Calls act as the session Claude Code names for its servers (`CLAUDE_CODE_SESSION_ID`),
    /// or `ORCHESTRON_SESSION`; else as the agent (`--agent`, `ORCHESTRON_AGENT`,
    /// `agent.id`); else as the client, by the name it gives (`mcp:NAME`). Bad input is
    /// answered with a JSON-RPC error and never ends the server; it exits 0 at the end of its
    /// input. `orchestron init --mcp` adds it to the project's `.mcp.json`; the plugin
    /// declares it itself.
    Mcp,
    /// The agents sessions work as (`agent.id`, `ORCHESTRON_AGENT`, `--agent`)
    #[command(subcommand)]
    Agent(AgentCommand),
    /// File leases between live sessions: take, release, list and check who holds a file
    ///
    /// Every edit a session makes leaves a touch on the file (`coordination.touch_ttl`,
    /// 10 minutes after the latest edit) that others' sessions are told of before they edit
    /// it; an exclusive lease stops their edits (denied for a worker, asked for an
    /// interactive session, unless `coordination.on_exclusive` says). Paths are relative to
    /// the current folder, keys to the repository's top level, so one file in two worktrees
    /// is one key. Leases end with their session or their TTL.
    #[command(subcommand)]
    Lease(LeaseCommand),
    /// Wire Orchestron into a project without the plugin system
    ///
    /// Adds its hooks and status line to `.claude/settings.local.json`, this machine's
    /// settings, naming this binary by its absolute path so they run whatever PATH Claude Code
    /// starts with (keeping everything already there, with a backup of the old file); moves
    /// them out of `.claude/settings.json`, which teams commit, where an older init put them;
    /// adds `.claude/settings.local.json` to `.gitignore`; installs the slash commands and
    /// output styles under `.claude/`; creates the state root, shared by every worktree of a
    /// git repository. Run it in each clone and worktree. Running it again changes nothing.
    Init {
        /// The project (default: the project root)
        dir: Option<PathBuf>,
        /// The command the hooks run (default: this binary's absolute path; a bare name is
        /// looked up on the PATH Claude Code starts with)
        #[arg(long, value_name = "PATH")]
        bin: Option<String>,
        /// Also add Orchestron's MCP server (`orchestron mcp`) to the project's `.mcp.json`,
        /// keeping the other servers there; `uninstall` removes it
        #[arg(long)]
        mcp: bool,
    },
    /// Remove exactly what `orchestron init` added; the state root (tracker, decisions,
    /// memory, sessions, handoffs) is kept
    Uninstall {
        /// The project (default: the project root)
        dir: Option<PathBuf>,
    },
    /// Check the binary, what Claude Code runs for each hook, the state root (where it is and
    /// why) and its permissions
    ///
    /// Exits 1 when something is wrong.
    Doctor {
        /// The project (default: the project root)
        dir: Option<PathBuf>,
    },
    /// Run headless Claude Code workers in parallel over the ready items, each in its own git
    /// worktree and branch, merging their work onto an integration branch
    #[command(subcommand)]
    Workers(WorkersCommand),
    /// Print shell completions
    Completions {
        /// The shell to complete for
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum WorkersCommand {
    /// Drain the plan: claim ready items, run a worker on each, merge their work
    ///
    /// A foreground process. On a terminal it draws a live table of the workers on stderr;
    /// otherwise it prints one line per event; with `--json`, NDJSON events on stdout.
    /// Ctrl-C, SIGTERM or `orchestron workers stop` stop it within seconds: each worker gets
    /// SIGTERM, a test run in progress is killed with its process group, the work is
    /// committed on its branch and the item goes back to TODO. A second Ctrl-C exits at
    /// once, leaving that to `orchestron workers recover` (or the next run).
    ///
    /// Exit codes: 0 drained (or nothing to do), 1 error, 3 the budget stopped it, 4 stopped
    /// by a signal or `workers stop`, 5 items were left blocked after their attempts.
    Run(Box<WorkersRunArgs>),
    /// The running workers, the queue and recent failures
    Status,
    /// Show a worker's log as a person reads it: text, tool calls, results, the cost
    Logs {
        /// The item
        id: String,
        /// The attempt (default: the latest)
        #[arg(long)]
        attempt: Option<i64>,
        /// Keep printing as the log grows, until the attempt ends
        #[arg(long)]
        follow: bool,
    },
    /// Stop the running supervisor (SIGTERM): its workers' work is committed and their items
    /// go back to TODO
    Stop,
    /// Find what a killed supervisor left (worker processes, claims, worktrees), stop it,
    /// commit its work and give its items back
    Recover,
}

#[derive(Debug, Args)]
pub struct WorkersRunArgs {
    /// How many workers run at once, 1 to 64 (default: `workers.count`, else 2)
    #[arg(long, allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(orchestron_core::config::MAX_WORKERS_COUNT)))]
    pub count: Option<u32>,
    /// Only items in this sprint
    #[arg(long, conflicts_with_all = ["epic", "label"])]
    pub sprint: Option<String>,
    /// Only this epic's descendants
    #[arg(long, conflicts_with = "label")]
    pub epic: Option<String>,
    /// Only items with this label
    #[arg(long)]
    pub label: Option<String>,
    /// The most the run spends, in US dollars: each worker may spend at most what is
    /// neither spent nor reserved by the running workers (set `--item-budget-usd` too, or
    /// workers run one at a time)
    #[arg(long, value_name = "USD", allow_negative_numbers = true, value_parser = usd_parser)]
    pub budget_usd: Option<f64>,
    /// The most one attempt may spend (Claude Code's `--max-budget-usd`)
    #[arg(long, value_name = "USD", allow_negative_numbers = true, value_parser = usd_parser)]
    pub item_budget_usd: Option<f64>,
    /// The most turns one attempt may take, 1 to 100000
    #[arg(long, allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(orchestron_core::config::MAX_WORKER_TURNS)))]
    pub max_turns: Option<u32>,
    /// Stop a worker that sends no event for this long, at most 24h (`5m`, `90s`; default
    /// 5m)
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, value_parser = wait_parser)]
    pub stall: Option<String>,
    /// How many attempts an item gets in this run, the first included, 1 to 10 (default 2)
    #[arg(long, allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(orchestron_core::config::MAX_WORKER_ATTEMPTS)))]
    pub attempts: Option<u32>,
    /// The model workers use
    #[arg(long)]
    pub model: Option<String>,
    /// The permission mode workers run in (Claude Code's `--permission-mode`); a permissive
    /// mode lets a worker run anything its tools allow
    #[arg(long, value_name = "MODE")]
    pub permission_mode: Option<String>,
    /// The integration branch work lands on (default `orchestron/integration`, created from
    /// HEAD at the first run)
    #[arg(long, value_name = "BRANCH")]
    pub into: Option<String>,
    /// `auto` merges work that passes the tests; `human` leaves it IN_REVIEW (default:
    /// `human` when the project requires review, else `auto`)
    #[arg(long, value_enum)]
    pub review: Option<ReviewMode>,
    /// The Claude Code binary (else `ORCHESTRON_CLAUDE`, `workers.claude`, `claude` on PATH)
    #[arg(long, value_name = "PATH")]
    pub claude: Option<PathBuf>,
    /// Exit as soon as nothing is ready and nothing runs
    #[arg(long)]
    pub once: bool,
}

/// A positive, finite amount of US dollars.
fn usd_parser(raw: &str) -> Result<f64, String> {
    let usd: f64 = raw
        .trim()
        .parse()
        .map_err(|_| format!("`{raw}` is not an amount of US dollars"))?;
    orchestron_core::config::positive_usd(usd).map_err(|err| err.to_string())
}

/// A duration longer than zero and at most a day.
fn wait_parser(raw: &str) -> Result<String, String> {
    orchestron_core::config::worker_wait(raw)
        .map(|_| raw.to_owned())
        .map_err(|err| format!("{err:#}"))
}

/// Who passes a worker's work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReviewMode {
    Auto,
    Human,
}

/// How a view prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Markdown,
    Json,
}

/// How `worker-instructions` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InstructionsFormat {
    Markdown,
    Json,
}

/// The slash commands Orchestron ships (`commands/*.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SlashCommand {
    Orchestrate,
    State,
    Task,
    Sprint,
    Handoff,
    Monitor,
    Mode,
    Decide,
    Memory,
    Inbox,
    Doctor,
}

#[derive(Debug, Subcommand)]
pub enum WorkflowCommand {
    /// Check and keep the review points of a YAML or JSON file (seed 000's
    /// `review-points.yaml` shape), replacing the earlier ones
    Apply {
        /// The file (`-` for stdin)
        file: PathBuf,
    },
    /// The review points in force
    Show,
    /// Remove the review points
    Clear,
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// The agents seen, with their skills, their sessions (live ones first) and the item
    /// each works on
    List,
}

#[derive(Debug, Subcommand)]
pub enum LeaseCommand {
    /// Take (or renew) leases on paths or globs (`src/auth/**`) for the current session
    ///
    /// Refused, changing nothing, when another live session holds an exclusive lease on one
    /// of them, or when `--exclusive` meets another session's lease. A folder is leased
    /// whole (`folder/**`).
    Acquire {
        /// Paths or globs (`*`, `?`, `[…]`, `**` as a whole component)
        #[arg(required = true, value_name = "PATH|GLOB")]
        paths: Vec<String>,
        /// How long it lasts (default `coordination.lease_ttl`, 30 minutes)
        #[arg(long, value_name = "DURATION", allow_hyphen_values = true, value_parser = ttl_parser)]
        ttl: Option<String>,
        /// Others' edits of these files are stopped, not only warned of
        #[arg(long)]
        exclusive: bool,
        /// The tracker item it is for
        #[arg(long = "for", value_name = "ITEM")]
        item: Option<String>,
    },
    /// Release the current session's leases on paths or globs, or all its leases and
    /// touches; with `--force`, anyone's on the paths given (a person taking a file anyway)
    Release {
        /// Paths or globs, as leased
        #[arg(value_name = "PATH|GLOB", required_unless_present = "all")]
        paths: Vec<String>,
        /// Every lease and touch of the current session
        #[arg(long, conflicts_with_all = ["paths", "force"])]
        all: bool,
        /// Take every session's leases and touches on the paths (what covers a path goes)
        #[arg(long)]
        force: bool,
    },
    /// The live leases and touches of live sessions
    List,
    /// Who holds each path: the session or agent, since when, for which item
    Check {
        /// Paths
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<String>,
    },
}

/// A lease TTL: longer than zero, at most 30 days.
fn ttl_parser(raw: &str) -> Result<String, String> {
    orchestron_core::config::lease_ttl(raw)
        .map(|_| raw.to_owned())
        .map_err(|err| format!("{err:#}"))
}

#[derive(Debug, Args)]
pub struct ReviewArgs {
    #[command(subcommand)]
    pub command: Option<ReviewCommand>,
    /// The item to show
    #[arg(required = true)]
    pub id: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// Merge the item's branch into the integration branch through the merge train (the
    /// test command runs again when one is configured); it becomes DONE
    ///
    /// A branch that now conflicts, or fails the tests, is not merged: the item goes back
    /// to TODO for another attempt, and the command exits 1.
    Approve {
        /// The item
        id: String,
    },
    /// Send the item back to TODO with feedback; its branch is kept, and the next attempt
    /// continues from it with the feedback in its instructions
    Reject {
        /// The item
        id: String,
        /// What to change
        #[arg(long, value_name = "TEXT")]
        feedback: String,
    },
}

#[derive(Debug, Args)]
pub struct ContextArgs {
    #[command(subcommand)]
    pub command: Option<ContextCommand>,
    /// The session (default: the current one; without one, a new session)
    pub id: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ContextCommand {
    /// Print what a session is told when it starts (the way to reach a session whose id
    /// is one of these verbs)
    Show {
        /// The session (default: the current one; without one, a new session)
        id: Option<String>,
    },
    /// Keep the session's working context as a named snapshot: the item it works on, its
    /// to-dos, the files it edited, its last test run and notes
    ///
    /// A snapshot of the same name is replaced. Snapshots are kept within
    /// `snapshots.keep` (100) and `snapshots.max_age` (30 days) of the configuration.
    Save {
        /// Letters, digits, `.`, `_` and `-` (default: the time, such as `20260101-120000`)
        name: Option<String>,
        /// What the session that loads it should know (repeat for more)
        #[arg(long = "note", value_name = "TEXT")]
        notes: Vec<String>,
        /// The session (default: the current one)
        #[arg(long)]
        session: Option<String>,
    },
    /// Print a snapshot for the current session and link its item to the session
    Load {
        /// The snapshot
        #[arg(required_unless_present = "latest", conflicts_with = "latest")]
        name: Option<String>,
        /// The snapshot saved last
        #[arg(long)]
        latest: bool,
        /// The session (default: the current one; without one, it is only printed)
        #[arg(long)]
        session: Option<String>,
    },
    /// The snapshots, newest first
    List,
    /// Remove the snapshots older than a duration, and the oldest beyond `snapshots.keep`
    Prune {
        /// Such as `30d` or `12h` (default: `snapshots.max_age`, 30 days)
        /// (a bad duration is a failure, exit 1, as everywhere else)
        #[arg(long, value_name = "DURATION")]
        older_than: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum HandoffCommand {
    /// Hand an item to another agent or session: its claim is given up, and the item waits
    /// for the receiver (told in its inbox, or when it starts) with the context it needs
    ///
    /// The offer holds the item for the receiver for `claims.lease` (15 minutes by default);
    /// then anyone may take it.
    Prepare {
        /// The item
        id: String,
        /// The agent's name, or the session id, it goes to
        #[arg(long, value_name = "AGENT|SESSION")]
        to: String,
        /// What the receiver needs to know to go on
        #[arg(long)]
        context: String,
        /// A next step (repeat it for more)
        #[arg(long = "next-steps", value_name = "TEXT")]
        next_steps: Vec<String>,
    },
    /// Take an item handed to this session or its agent: it is claimed, and the context
    /// printed
    Accept {
        /// The item
        id: String,
    },
    /// The handoffs waiting for this session or its agent (`--all`: for anyone)
    Offers {
        /// Every handoff waiting, whoever it is for
        #[arg(long)]
        all: bool,
    },
    /// What the next session is told of the project's handoffs (the open items recent sessions
    /// took, then the latest handoff that finished something); `--all`, `--item` and
    /// `--session` print whole handoffs, newest first
    Show {
        /// The project (default: this one)
        #[arg(long)]
        project: Option<String>,
        /// Every handoff the project keeps
        #[arg(long, conflicts_with_all = ["item", "session"])]
        all: bool,
        /// The handoffs that name this tracker item
        #[arg(long, value_name = "ID", conflicts_with = "session")]
        item: Option<String>,
        /// The handoff this session left
        #[arg(long, value_name = "ID")]
        session: Option<String>,
    },
    /// Leave a handoff for the next sessions now: a session's holds its to-dos, items, files
    /// and tests with next steps and a note of your own, which SessionEnd keeps; with no
    /// current session, it is a person's handoff of the steps and the note
    Write {
        /// The session (default: the current one; none makes it a person's handoff)
        #[arg(long)]
        session: Option<String>,
        /// A next step (repeat for more); they come before the unfinished to-dos
        #[arg(long = "next", value_name = "STEP")]
        next: Vec<String>,
        /// What the next session should know
        #[arg(long)]
        note: Option<String>,
        /// Print the handoff without storing it
        #[arg(long)]
        dry_run: bool,
    },
}

fn mode_parser() -> impl clap::builder::TypedValueParser<Value = Mode> {
    PossibleValuesParser::new(Mode::NAMES).map(|name| name.parse::<Mode>().expect("a listed mode"))
}

fn status_parser() -> impl clap::builder::TypedValueParser<Value = Status> {
    PossibleValuesParser::new(Status::NAMES)
        .map(|name| name.parse::<Status>().expect("a listed status"))
}

fn end_status_parser() -> impl clap::builder::TypedValueParser<Value = Status> {
    PossibleValuesParser::new(["completed", "failed"])
        .map(|name| name.parse::<Status>().expect("a listed status"))
}

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Create a session and print its id
    Create {
        /// What the session is for; sets its expiry
        #[arg(long, value_parser = mode_parser(), default_value = "development")]
        mode: Mode,
        /// The project it belongs to [default: the project root's directory name]
        #[arg(long)]
        project: Option<String>,
        /// The session this one continues
        #[arg(long)]
        parent_session: Option<String>,
        /// A JSON object stored as `session.metadata`
        #[arg(long, value_name = "JSON-OBJECT")]
        metadata: Option<String>,
        /// Use this id instead of a new UUID
        #[arg(long)]
        id: Option<String>,
    },
    /// List sessions, most recent activity first
    List {
        /// Only sessions that are active and not expired
        #[arg(long)]
        active: bool,
        /// Only sessions of this project
        #[arg(long)]
        project: Option<String>,
        /// Only sessions in this mode
        #[arg(long, value_parser = mode_parser())]
        mode: Option<Mode>,
        /// Only sessions with this status (`expired` included)
        #[arg(long, value_parser = status_parser())]
        status: Option<Status>,
    },
    /// Show a session
    Info {
        /// The session id
        id: String,
    },
    /// Show the current session (`$ORCHESTRON_SESSION`, else `$CLAUDE_CODE_SESSION_ID`)
    Current,
    /// Record activity and push the expiry out by the mode's lifetime
    Heartbeat {
        /// The session id
        id: String,
    },
    /// Make an ended, paused or expired session active again
    Recover {
        /// The session id
        id: String,
    },
    /// End a session
    End {
        /// The session id
        id: String,
        /// How it ended
        #[arg(long, value_parser = end_status_parser(), default_value = "completed")]
        status: Status,
    },
    /// Pause a session; hooks refuse its tool calls until it is resumed
    Pause {
        /// The session id
        id: String,
        /// Why it is paused
        #[arg(long)]
        reason: String,
    },
    /// Resume a paused session
    Resume {
        /// The session id
        id: String,
    },
    /// Hand a session's context to another and end it
    Handoff {
        /// The session handing off; it ends `completed`
        from: String,
        /// The receiving session, created with this id when it does not exist
        to: String,
        /// A JSON object passed along as `handoff_data`
        #[arg(long, value_name = "JSON-OBJECT")]
        data: Option<String>,
    },
}

/// Options shared by the commands that write state.
#[derive(Debug, Args)]
pub struct WriteArgs {
    /// Create the session (mode development) if it does not exist
    #[arg(long)]
    pub create: bool,
    #[command(flatten)]
    pub force: ForceArg,
}

/// The override of the state commands' guard on the fields Orchestron needs.
#[derive(Debug, Args)]
pub struct ForceArg {
    /// Edit even the fields Orchestron needs (the session's id, mode, status, times)
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Print the value at a path (a JSONPath prints an array of matches)
    Get {
        /// The session id
        id: String,
        /// A dot path (`a.b[0]`) or a JSONPath (`$.a[?@.x==1]`); empty for the whole document
        path: String,
        /// With a JSONPath, print each match with its normalized path
        #[arg(long)]
        paths: bool,
        /// Exit 1 when nothing is at the path
        #[arg(long)]
        strict: bool,
    },
    /// Set the value at a path
    Set {
        /// The session id
        id: String,
        /// Where to set it
        path: String,
        /// The value, a string unless `--json-value`
        value: String,
        /// Parse the value as JSON
        #[arg(long)]
        json_value: bool,
        #[command(flatten)]
        write: WriteArgs,
    },
    /// Merge a JSON object into the value at a path, deeply
    Merge {
        /// The session id
        id: String,
        /// Where to merge; `""` or `$` is the root
        path: String,
        /// The JSON object to merge
        #[arg(long, value_name = "JSON-OBJECT")]
        data: String,
        #[command(flatten)]
        write: WriteArgs,
    },
    /// Delete the value at a path; a missing one is not an error
    Delete {
        /// The session id
        id: String,
        /// What to delete
        path: String,
        #[command(flatten)]
        force: ForceArg,
    },
    /// Append a value to the array at a path, created if missing
    Append {
        /// The session id
        id: String,
        /// The array
        path: String,
        /// The value, a string unless `--json-value`
        value: String,
        /// Parse the value as JSON
        #[arg(long)]
        json_value: bool,
        #[command(flatten)]
        write: WriteArgs,
    },
    /// Add to the number at a path (missing counts as 0) and print the result
    Increment {
        /// The session id
        id: String,
        /// The number
        path: String,
        /// How much to add
        #[arg(long, default_value = "1", allow_hyphen_values = true)]
        by: String,
        #[command(flatten)]
        write: WriteArgs,
    },
    /// List the ids of all sessions
    ListSessions,
    /// Remove sessions whose expiry has passed
    CleanupExpired {
        /// Only report what would be removed
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the value at a path whenever it changes, until interrupted
    Watch {
        /// The session id
        id: String,
        /// The path to watch
        path: String,
        /// How often to look, such as `500ms` or `2s`
        #[arg(long, default_value = "500ms")]
        interval: String,
    },
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The RFC 9535 JSONPath, such as `$.tasks[?@.status=='blocked']`
    pub jsonpath: String,
    /// The JSON file to read; `-` or nothing for stdin
    pub file: Option<PathBuf>,
    /// Print each match with its normalized path
    #[arg(long)]
    pub paths: bool,
}

#[derive(Debug, Subcommand)]
pub enum InboxCommand {
    /// Leave a message for a session (default: the current one) or for every running session
    Add {
        /// The session to reach
        #[arg(long, conflicts_with = "all")]
        session: Option<String>,
        /// Every session that is active and not expired
        #[arg(long)]
        all: bool,
        /// The message
        text: String,
    },
    /// List the messages of a session (default: the current one) or of every session
    List {
        /// The session whose messages to list
        #[arg(long, conflicts_with = "all")]
        session: Option<String>,
        /// Every session's messages
        #[arg(long)]
        all: bool,
        /// Only messages not yet delivered
        #[arg(long)]
        unread: bool,
    },
}

/// A tracker name (kind, status, priority) in any case, `in-progress` too; a value outside the
/// choices is a usage error (exit 2), like every other choice on the command line.
fn tracker_name<T>(raw: &str) -> Result<T, String>
where
    T: std::str::FromStr<Err = anyhow::Error>,
{
    raw.parse::<T>().map_err(|err| err.to_string())
}

/// Item kinds, statuses and priorities are accepted in any case (`in-progress` too).
#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Create an item and print its id
    Create {
        /// The title
        title: String,
        /// EPIC, STORY, TASK (default), SUBTASK or TODO
        #[arg(long = "type", value_name = "KIND", default_value = "TASK", value_parser = tracker_name::<Kind>)]
        kind: Kind,
        /// The item it belongs under (of a larger kind)
        #[arg(long)]
        parent: Option<String>,
        /// CRITICAL, HIGH, MEDIUM (default) or LOW
        #[arg(long, default_value = "MEDIUM", value_parser = tracker_name::<Priority>)]
        priority: Priority,
        /// Estimated hours (0 to 100000)
        #[arg(long, allow_negative_numbers = true)]
        estimate: Option<f64>,
        /// Who works on it
        #[arg(long)]
        assignee: Option<String>,
        /// A label; repeat for more
        #[arg(long = "label")]
        labels: Vec<String>,
        /// The files it expects to touch: paths or globs (`src/auth/**`), relative to where
        /// you type them; `workers run` leases them for its worker and never runs two items
        /// whose files overlap at once
        #[arg(long, value_name = "PATH|GLOB", num_args = 1..)]
        files: Vec<String>,
        /// A longer description
        #[arg(long)]
        description: Option<String>,
        /// The starting status (default TODO; BACKLOG parks it)
        #[arg(long, default_value = "TODO", value_parser = tracker_name::<ItemStatus>)]
        status: ItemStatus,
    },
    /// List open items, most urgent first (`--all` includes DONE and CANCELLED)
    List {
        #[arg(long, value_parser = tracker_name::<ItemStatus>)]
        status: Option<ItemStatus>,
        #[arg(long = "type", value_name = "KIND", value_parser = tracker_name::<Kind>)]
        kind: Option<Kind>,
        #[arg(long)]
        assignee: Option<String>,
        #[arg(long)]
        parent: Option<String>,
        #[arg(long)]
        label: Option<String>,
        /// Only items in this sprint
        #[arg(long)]
        sprint: Option<String>,
        /// At most this many
        #[arg(long)]
        limit: Option<u64>,
        /// Include DONE and CANCELLED items
        #[arg(long)]
        all: bool,
    },
    /// Show one item with its dependencies, checkpoints and children
    Show { id: String },
    /// Change an item's fields or status
    Update {
        id: String,
        #[arg(long, value_parser = tracker_name::<ItemStatus>)]
        status: Option<ItemStatus>,
        #[arg(long, value_parser = tracker_name::<Priority>)]
        priority: Option<Priority>,
        /// Who works on it (`none` for nobody)
        #[arg(long)]
        assignee: Option<String>,
        #[arg(long, allow_negative_numbers = true)]
        estimate: Option<f64>,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        notes: Option<String>,
        /// Why it is blocked (with `--status BLOCKED`, or alone to change the reason of a
        /// BLOCKED item)
        #[arg(long)]
        reason: Option<String>,
        /// The files it expects to touch, replacing those it declared (paths or globs,
        /// relative to where you type them)
        #[arg(long, value_name = "PATH|GLOB", num_args = 1.., conflicts_with = "no_files")]
        files: Vec<String>,
        /// It declares no files any more
        #[arg(long)]
        no_files: bool,
        /// Allow a move the lifecycle or a review gate does not (recorded in the history)
        #[arg(long)]
        force: bool,
    },
    /// Set how far along an item is
    Progress {
        id: String,
        #[arg(long)]
        percent: u8,
    },
    /// Add a checkpoint, or mark one done by its text or its number
    ///
    /// `task checkpoint ID TEXT` adds one; `task checkpoint ID TEXT --done` marks it done
    /// (added done if missing); `task checkpoint ID --done N` marks the N-th done (from 1, as
    /// `task show` numbers them).
    Checkpoint {
        id: String,
        /// The checkpoint's text
        text: Option<String>,
        /// Mark it done: the one with TEXT, or number N
        #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "0")]
        done: Option<usize>,
    },
    /// Move an item to IN_PROGRESS, linking it to the current session
    Start {
        id: String,
        /// Allow a move the lifecycle does not, or take over a live claim of another session
        /// (recorded; its later changes are refused)
        #[arg(long)]
        force: bool,
    },
    /// Finish an item: DONE, or on to review or testing when the project requires them
    Complete {
        id: String,
        /// Straight to DONE, past any gate (recorded in the history)
        #[arg(long)]
        force: bool,
        /// What was done, kept in the item's history (`completion_note`) for whoever builds on it
        #[arg(long)]
        note: Option<String>,
    },
    /// Add a note to an item's history
    Log { id: String, text: String },
    /// Answer a question about an item ("use PostgreSQL for user data"); the session working
    /// on it sees it
    Clarify { id: String, text: String },
    /// List an item's clarifications, oldest first
    #[command(alias = "get-clarifications")]
    Clarifications { id: String },
    /// Leave feedback on an item for whoever works on it next
    Feedback { id: String, text: String },
    /// Everything a reviewer needs: checkpoints, notes, clarifications, feedback, history,
    /// and the files and test results of the sessions that worked on it (changes nothing)
    Review { id: String },
    /// Pass a gate: IN_REVIEW on to TESTING when the project requires testing, else DONE;
    /// TESTING to DONE
    Approve {
        id: String,
        /// A remark recorded with the approval
        #[arg(long)]
        comment: Option<String>,
    },
    /// Give an item to someone (`--to none` releases it, like `task release`)
    Assign {
        id: String,
        #[arg(long)]
        to: String,
    },
    /// Undo a claim: back to TODO with no assignee and no session
    Release { id: String },
    /// Make an item wait for another
    Depend {
        id: String,
        /// The item it waits for
        #[arg(long)]
        on: String,
    },
    /// Items ready to work on (TODO, dependencies DONE, no open children), most urgent first
    Ready {
        #[arg(long)]
        limit: Option<u64>,
    },
    /// The single best item to work on next (a lapsed claim counts as free)
    Next {
        /// Consider items assigned to A or to nobody
        #[arg(long)]
        assignee: Option<String>,
        /// Take it: sweep its lapsed claim, if any, then assign it (to A, else the current
        /// session) and start it, atomically
        #[arg(long)]
        claim: bool,
    },
    /// Send every lapsed claim back to TODO (its lease ran out, or its claimer's session ended)
    ///
    /// An IN_PROGRESS item's claim lapses `claims.lease` (default 15m) after the claimer's last
    /// activity, or at once when the claimer's session has ended or expired. `task next
    /// --claim` sweeps the item it takes by itself; this sweeps them all.
    Reclaim {
        /// Only list them; change nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Ask a person: block the item with the question until it is answered
    ///
    /// The item waits in `orchestron attention`; `task answer` sends it back to TODO.
    Ask {
        id: String,
        /// The question
        question: String,
    },
    /// Answer an item's question: a clarification, and the item back to TODO
    Answer {
        id: String,
        /// The answer
        text: String,
    },
    /// Items that are BLOCKED or wait on unfinished dependencies, with what blocks them
    Blocked,
    /// An item's children, marking each one's dependencies
    Tree { id: String },
    /// Everything that happened to an item
    History { id: String },
    /// Cancel an item and its open descendants (`--purge` deletes it and its history)
    Delete {
        id: String,
        #[arg(long)]
        purge: bool,
        /// Refuse while the item has open descendants, instead of cancelling them
        #[arg(long, conflicts_with = "purge")]
        keep_children: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum DecisionCommand {
    /// Every decision, newest first
    List,
    /// One decision
    Show { id: String },
}

#[derive(Debug, Subcommand)]
pub enum MemoryCommand {
    /// Remember something under a kind and a key (`pattern auth-tokens`)
    Add {
        kind: String,
        key: String,
        #[arg(long)]
        description: Option<String>,
        /// How sure, 0 to 1 (default 0.5)
        #[arg(long, allow_negative_numbers = true)]
        confidence: Option<f64>,
        /// A detail; repeat for more
        #[arg(long = "detail")]
        details: Vec<String>,
    },
    /// One entry
    Get { kind: String, key: String },
    /// Add details to an entry or change how sure it is
    Update {
        kind: String,
        key: String,
        #[arg(long = "add-detail")]
        add_details: Vec<String>,
        #[arg(long)]
        confidence: Option<f64>,
        #[arg(long)]
        description: Option<String>,
    },
    /// Every entry, or those of one kind
    List {
        #[arg(long)]
        kind: Option<String>,
    },
    /// Full-text search over kinds, keys, descriptions and details
    Search { text: String },
}

#[derive(Debug, Subcommand)]
pub enum SprintCommand {
    /// Plan a sprint and print its id
    Create {
        name: String,
        #[arg(long)]
        goal: Option<String>,
        /// Length in days (default 14)
        #[arg(long, default_value_t = 14)]
        duration: u32,
        /// First day, `YYYY-MM-DD` (default: the day it starts)
        #[arg(long)]
        start: Option<String>,
    },
    /// Put items in a sprint
    Add {
        sprint: String,
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Take items out of a sprint
    Remove {
        sprint: String,
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Start a planned sprint
    Start { sprint: String },
    /// Complete an active sprint
    Complete { sprint: String },
    /// Every sprint, newest first
    List,
    /// A sprint with its items and totals
    Show { sprint: String },
    /// Remaining estimate per day, as a table and a chart (default: the active sprint)
    Burndown { sprint: Option<String> },
    /// Estimated hours finished per completed sprint
    Velocity {
        /// Only the last N completed sprints
        #[arg(long)]
        last: Option<usize>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TimerCommand {
    /// Start timing work on an item
    Start { id: String },
    /// Stop the running timer of an item and record the time
    Stop { id: String },
    /// Record time spent without a timer
    Log {
        id: String,
        #[arg(long, allow_negative_numbers = true)]
        hours: f64,
        #[arg(long)]
        note: Option<String>,
    },
    /// Actual hours per item against the estimate
    Report {
        /// Only time recorded since this day (`YYYY-MM-DD`) or time
        #[arg(long)]
        since: Option<String>,
    },
}

const V2_EPIC_STATUSES: [&str; 5] = orchestron_core::tracker::shared::EpicStatus::NAMES;
const V2_SPRINT_STATUSES: [&str; 4] = orchestron_core::tracker::shared::SPRINT_STATUSES;
const V2_TOOL_TYPES: [&str; 5] = orchestron_core::tracker::shared::TOOL_TYPES;

#[derive(Debug, Subcommand)]
pub enum SharedCommand {
    /// A project's configuration, created with defaults on first read
    GetConfig { project: String },
    /// Update a project's configuration: the given top-level keys replace theirs
    SetConfig {
        project: String,
        #[arg(long, value_name = "JSON-OBJECT")]
        data: String,
    },
    /// Create or update an epic by its V2 id
    UpdateEpic {
        project: String,
        epic: String,
        #[arg(long, value_parser = PossibleValuesParser::new(V2_EPIC_STATUSES))]
        status: Option<String>,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        description: Option<String>,
        /// 1 (most urgent) to 5
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=5))]
        priority: Option<u8>,
        #[arg(long, value_name = "JSON-OBJECT")]
        data: Option<String>,
    },
    /// One epic by its V2 id
    GetEpic { project: String, epic: String },
    /// A project's epics
    ListEpics {
        project: String,
        #[arg(long, value_parser = PossibleValuesParser::new(V2_EPIC_STATUSES))]
        status: Option<String>,
    },
    /// Create a sprint with a V2 id
    CreateSprint {
        project: String,
        sprint: String,
        name: String,
        #[arg(long)]
        epic_id: Option<String>,
        #[arg(long, value_name = "JSON-OBJECT")]
        data: Option<String>,
    },
    /// Update a sprint by its V2 id
    UpdateSprint {
        project: String,
        sprint: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, value_parser = PossibleValuesParser::new(V2_SPRINT_STATUSES))]
        status: Option<String>,
        #[arg(long)]
        epic_id: Option<String>,
        #[arg(long, value_name = "JSON-OBJECT")]
        data: Option<String>,
    },
    /// One sprint by its V2 id (or tracker id)
    GetSprint { project: String, sprint: String },
    /// A project's sprints
    ListSprints {
        project: String,
        #[arg(long, value_parser = PossibleValuesParser::new(V2_SPRINT_STATUSES))]
        status: Option<String>,
        #[arg(long)]
        epic_id: Option<String>,
    },
    /// Register a tool, agent, command, hook, workflow or library (again: update it)
    RegisterTool {
        #[arg(long)]
        name: String,
        #[arg(long = "type", value_parser = PossibleValuesParser::new(V2_TOOL_TYPES))]
        kind: String,
        #[arg(long)]
        version: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        path: Option<String>,
        #[arg(long, value_name = "JSON-ARRAY")]
        dependencies: Option<String>,
        #[arg(long, value_name = "JSON-OBJECT")]
        config: Option<String>,
    },
    /// Registered tools
    ListTools {
        #[arg(long = "type", value_parser = PossibleValuesParser::new(V2_TOOL_TYPES))]
        kind: Option<String>,
    },
    /// One registered tool
    GetTool { name: String },
}
