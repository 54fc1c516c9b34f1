//! `orchestron workers run`: the supervisor, a loop over the core's operations plus process
//! and git handling. While in-scope items are ready and slots are free, it claims the best
//! one (`claims::claim_next`, the worker's session as claimer), gives it a worktree on its
//! own branch from the integration branch's tip, and starts Claude Code headless in its own
//! process group there. A reader thread per worker keeps every stream-json line in the
//! attempt's log and sends the parsed events here; a worker is alive while events arrive.
//! When one ends, its attempt is judged (a result that is not a non-empty `success`, a
//! non-zero exit, a stall: a failure), its cost written to the ledger, and a success handed
//! to the merge train, which runs in a thread of its own, one job at a time, so spawns and
//! stall checks never wait on a test run. A failure is retried up to `attempts` times in the
//! run, then the item is blocked and enters the attention queue.
//!
//! It prints nothing: what happens goes to a [`Sink`] as [`Event`]s, and a [`View`] of the
//! running workers on every tick, which the face renders. It stops when asked through the
//! `stop` flag: no more spawns, SIGTERM to every worker, then each one's work is committed
//! and its item given back.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::fs::File;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use super::git::Git;
use super::instructions::{self, Attempt};
use super::process::{self, Signal, Spawn};
use super::records::{self, NewAttempt, NewRun, Progress};
use super::stream::{self, ResultEvent, StreamEvent};
use super::train::{self, Integrated, Job, Review};
use crate::context::Context;
use crate::coordination;
use crate::error::{Error, Result};
use crate::ids::SessionId;
use crate::text::clip_line;
use crate::tracker::claims::{self, Scope};
use crate::tracker::model::Status;

/// How long a worker has after SIGTERM before its group gets SIGKILL.
pub const KILL_GRACE: Duration = Duration::from_secs(10);

/// How long a worker that has exited may keep its stdout open (a child it left behind)
/// before its group is killed and it is judged on what it said.
const EOF_GRACE: Duration = Duration::from_secs(5);

/// How often the loop wakes when nothing happens.
const TICK: Duration = Duration::from_millis(50);

/// How long a worker whose stdout has closed is waited for, at most, before the loop goes
/// on (its exit usually follows within a millisecond).
const EXIT_WAIT: Duration = Duration::from_millis(20);

/// How often a run with nothing ready looks again.
const IDLE_POLL: Duration = Duration::from_secs(2);

/// How often an attempt's progress is written at most.
const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// How many characters of a tool's input an event line keeps.
const EVENT_INPUT_CHARS: usize = 120;

/// What a run does, resolved by the face from flags and configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Options {
    pub count: usize,
    pub sprint: Option<String>,
    pub epic: Option<String>,
    pub label: Option<String>,
    pub budget_usd: Option<f64>,
    pub item_budget_usd: Option<f64>,
    pub max_turns: Option<u32>,
    #[serde(with = "secs")]
    pub stall: Duration,
    pub attempts: u32,
    pub model: Option<String>,
    pub permission_mode: Option<String>,
    pub into: String,
    pub review: Review,
    pub test_command: Option<String>,
    #[serde(with = "secs")]
    pub test_timeout: Duration,
    pub once: bool,
    /// The agent its workers work as (`--agent`), if any: their sessions are named after it.
    pub agent: Option<String>,
    /// Item labels taken first: the agent's skills.
    pub prefer: Vec<String>,
}

mod secs {
    pub(super) fn serialize<S: serde::Serializer>(
        duration: &std::time::Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(duration.as_secs_f64())
    }
}

/// How a worker is started, resolved by the face: the programs, the `--settings` that wire
/// Orchestron's hooks (`hook EVENT --worker`), and environment variables to add (`PATH`
/// with this binary's folder first).
#[derive(Debug, Clone)]
pub struct Launch {
    pub claude: PathBuf,
    pub settings: String,
    pub env: Vec<(OsString, OsString)>,
    /// Variables the worker must not inherit (a Claude Code session's own, when the
    /// supervisor runs inside one).
    pub env_remove: Vec<OsString>,
}

/// What happened, for the face to print.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    RunStarted {
        run: String,
        pid: u32,
        into: String,
        count: usize,
        claude: String,
    },
    Recovered {
        detail: Value,
    },
    Claimed {
        item: String,
        title: String,
        attempt: i64,
        run_attempt: u32,
        of: u32,
        session: String,
        branch: String,
        generation: i64,
    },
    Spawned {
        item: String,
        attempt: i64,
        pid: u32,
        log: String,
        max_budget_usd: Option<f64>,
    },
    Tool {
        item: String,
        attempt: i64,
        tool: String,
        input: String,
    },
    ApiRetry {
        item: String,
        attempt: i64,
        error: Option<String>,
    },
    RateLimited {
        item: String,
        resets_at: Option<i64>,
    },
    Stalled {
        item: String,
        attempt: i64,
        idle_secs: u64,
    },
    Exited {
        item: String,
        attempt: i64,
        outcome: &'static str,
        reason: Option<String>,
        exit_code: Option<i32>,
        cost_usd: f64,
        turns: u64,
    },
    Integrated {
        item: String,
        attempt: i64,
        #[serde(flatten)]
        result: Integrated,
    },
    TrainFailed {
        item: String,
        attempt: i64,
        error: String,
    },
    Retrying {
        item: String,
        next_attempt: u32,
        of: u32,
        reason: String,
    },
    Blocked {
        item: String,
        reason: String,
    },
    /// The worker asked a person (`task ask`): the item waits BLOCKED for the answer.
    Asked {
        item: String,
        question: String,
    },
    Returned {
        item: String,
        note: String,
    },
    Warning {
        item: Option<String>,
        message: String,
    },
    BudgetReached {
        spent_usd: f64,
        budget_usd: f64,
    },
    Stopping,
    RunEnded {
        run: String,
        outcome: Outcome,
        done: u32,
        in_review: u32,
        failed: u32,
        blocked: u32,
        asked: u32,
        spent_usd: f64,
        elapsed_secs: f64,
    },
}

/// How a run ended; the face maps it to an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Nothing is ready and nothing runs (and, without `--once`, nothing can become ready).
    Drained,
    /// Items were left blocked by this run's failures.
    LeftBlocked,
    /// The budget stopped spawning.
    Budget,
    /// A signal or `workers stop`.
    Stopped,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Drained => "drained",
            Outcome::LeftBlocked => "left_blocked",
            Outcome::Budget => "budget",
            Outcome::Stopped => "stopped",
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub run: String,
    pub outcome: Outcome,
    pub done: u32,
    pub in_review: u32,
    pub failed: u32,
    pub blocked: u32,
    /// Items whose worker asked a person (BLOCKED with the question).
    pub asked: u32,
    pub spent_usd: f64,
    pub budget_usd: Option<f64>,
    pub elapsed_secs: f64,
    /// The items this run merged.
    pub merged: Vec<String>,
    /// The items given back to TODO because the run stopped (their work on their branches).
    pub returned: Vec<String>,
    /// The items given back to TODO because the run stopped whose work could not be
    /// committed: it is left in their worktrees (`workers recover` commits it later).
    pub uncommitted: Vec<String>,
}

/// A running worker as the live table shows it.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerView {
    pub item: String,
    pub title: String,
    pub attempt: i64,
    pub pid: u32,
    pub elapsed_secs: f64,
    pub idle_secs: f64,
    pub turns: u64,
    pub last_tool: Option<String>,
    pub cost_usd: f64,
    pub stopping: bool,
}

/// The run now, for the live table.
#[derive(Debug, Clone, Serialize)]
pub struct View {
    pub workers: Vec<WorkerView>,
    pub merging: usize,
    pub done: u32,
    pub in_review: u32,
    pub failed: u32,
    pub blocked: u32,
    pub remaining: i64,
    pub spent_usd: f64,
    pub elapsed_secs: f64,
    pub paused_until: Option<i64>,
}

/// Where a run reports.
pub trait Sink {
    fn event(&mut self, event: &Event);
    /// Called on every turn of the loop (about ten times a second); a face redraws at its
    /// own pace.
    fn tick(&mut self, view: &View);
}

enum Message {
    Stream {
        slot: u64,
        events: Vec<StreamEvent>,
    },
    Eof {
        slot: u64,
    },
    Train {
        slot: u64,
        result: std::result::Result<Integrated, String>,
    },
}

/// How long a worker's lease on its item's declared files lasts at most: the longest a
/// worker may wait for anything. The attempt's end releases it sooner.
const WORKER_LEASE_TTL: Duration = Duration::from_secs(24 * 3600);

struct Running {
    item: String,
    title: String,
    /// The worker's session id, which holds the item's declared files.
    session: String,
    generation: i64,
    row: i64,
    attempt: i64,
    run_attempt: u32,
    branch: String,
    worktree: PathBuf,
    child: Child,
    pid: u32,
    started: Instant,
    last_event: Instant,
    term_sent: Option<Instant>,
    kill_sent: bool,
    stalled: bool,
    stop_requested: bool,
    /// Its `--max-budget-usd`: what it may spend at most, reserved from the run's budget.
    max_budget_usd: Option<f64>,
    exit: Option<(Option<i32>, Instant)>,
    eof: bool,
    result: Option<ResultEvent>,
    progress: Progress,
    dirty: bool,
    last_flush: Instant,
}

/// A success waiting for, or in, the merge train.
struct Merging {
    item: String,
    generation: i64,
    row: i64,
    attempt: i64,
    run_attempt: u32,
}

/// A worker's verdict.
enum Verdict {
    Succeeded,
    Failed(String),
    Stopped,
}

struct Supervisor<'a> {
    cx: &'a Context,
    git: &'a Git,
    options: &'a Options,
    launch: &'a Launch,
    sink: &'a mut dyn Sink,
    run: String,
    started: Instant,
    tx: Sender<Message>,
    train: Option<Sender<(u64, Job)>>,
    workers: BTreeMap<u64, Running>,
    merging: BTreeMap<u64, Merging>,
    next_slot: u64,
    run_attempts: HashMap<String, u32>,
    exclude: Vec<String>,
    spent: f64,
    done: u32,
    in_review: u32,
    failed: u32,
    blocked: u32,
    asked: u32,
    budget_hit: bool,
    budget_told: bool,
    /// The refusal of a `notify.command` that came with the repository was said.
    notify_refused_told: bool,
    /// The costs of this run's finished attempts: their sum and how many.
    costs: (f64, u32),
    stopping: bool,
    /// Set with `stopping`: the train kills a test run it is in (see `train::Job::cancel`).
    cancel_tests: Arc<AtomicBool>,
    /// The items this run merged, and those it gave back to TODO when it stopped.
    merged_items: Vec<String>,
    returned_items: Vec<String>,
    uncommitted_items: Vec<String>,
    paused_until: Option<i64>,
    remaining: i64,
    remaining_at: Option<Instant>,
}

/// Run the supervisor until the plan is drained, the budget is reached or `stop` is set.
/// Checks `--into` (creating the integration branch at the first run) and recovers what a
/// killed supervisor left before anything is claimed.
pub fn run(
    cx: &Context,
    git: &Git,
    options: &Options,
    launch: &Launch,
    stop: &AtomicBool,
    sink: &mut dyn Sink,
) -> Result<Summary> {
    // Every input is checked before anything is written: the state's folders, the scope,
    // the integration branch's name; only then is the branch created and the run recorded.
    crate::store::refuse_linked_state(cx.state_root(), WORKER_FOLDERS)?;
    let options = &resolve_scope(cx, options)?;
    git.check_integration_name(&options.into)?;
    git.ensure_integration(&options.into)?;
    if let Some(live) = records::live_run(cx)? {
        return Err(Error::conflict(format!(
            "a supervisor already runs here (run {}, pid {})",
            live.id, live.pid
        ))
        .with_hint("`orchestron workers status` shows it; `orchestron workers stop` stops it"));
    }
    for recovered in super::recover::recover(cx, git)? {
        sink.event(&Event::Recovered {
            detail: serde_json::to_value(&recovered).unwrap_or(Value::Null),
        });
    }
    // The worktrees of finished items are kept for the next ones (one per worker at most)
    // and removed when the run ends: see `git::Git::with_spares`.
    let git = &git.with_spares(&train::worktrees_dir(cx), options.count.max(1));
    let run = format!("run-{}", &cx.new_uuid()[..8]);
    let (pid, pid_start) = process::this_process();
    records::start_run(
        cx,
        &NewRun {
            id: run.clone(),
            pid,
            pid_start,
            into: options.into.clone(),
            options: serde_json::to_value(options).unwrap_or(Value::Null),
        },
    )?;
    sink.event(&Event::RunStarted {
        run: run.clone(),
        pid,
        into: options.into.clone(),
        count: options.count,
        claude: launch.claude.display().to_string(),
    });
    if options.budget_usd.is_some() && options.item_budget_usd.is_none() && options.count > 1 {
        sink.event(&Event::Warning {
            item: None,
            message: format!(
                "without --item-budget-usd each worker may spend all of the budget that is \
                 left, so workers run one at a time, not {}: set --item-budget-usd (or \
                 workers.item_budget_usd) to run them at once",
                options.count
            ),
        });
    }
    let (tx, rx) = mpsc::channel();
    let (train_tx, train_handle) = start_train(cx.fork("train"), git.clone(), tx.clone());
    let mut supervisor = Supervisor {
        cx,
        git,
        options,
        launch,
        sink,
        run,
        started: Instant::now(),
        tx,
        train: Some(train_tx),
        workers: BTreeMap::new(),
        merging: BTreeMap::new(),
        next_slot: 0,
        run_attempts: HashMap::new(),
        exclude: Vec::new(),
        spent: 0.0,
        done: 0,
        in_review: 0,
        failed: 0,
        blocked: 0,
        asked: 0,
        budget_hit: false,
        budget_told: false,
        notify_refused_told: false,
        costs: (0.0, 0),
        stopping: false,
        cancel_tests: Arc::new(AtomicBool::new(false)),
        merged_items: Vec::new(),
        returned_items: Vec::new(),
        uncommitted_items: Vec::new(),
        paused_until: None,
        remaining: 0,
        remaining_at: None,
    };
    let result = supervisor.drive(&rx, stop);
    // The train ends when its queue closes; it finishes the job it is on.
    supervisor.train = None;
    let _ = train_handle.join();
    if let Err(err) = git.remove_spares() {
        supervisor.sink.event(&Event::Warning {
            item: None,
            message: format!("could not remove a spare worktree: {err:#}"),
        });
    }
    match result {
        Ok(outcome) => {
            records::end_run(cx, &supervisor.run, outcome.as_str())?;
            let summary = supervisor.summary(outcome);
            supervisor.sink.event(&Event::RunEnded {
                run: summary.run.clone(),
                outcome,
                done: summary.done,
                in_review: summary.in_review,
                failed: summary.failed,
                blocked: summary.blocked,
                asked: summary.asked,
                spent_usd: summary.spent_usd,
                elapsed_secs: summary.elapsed_secs,
            });
            Ok(summary)
        }
        Err(err) => {
            // Leave the run open: the next `workers run` or `workers recover` finds its
            // attempts, commits their work and gives their items back.
            for worker in supervisor.workers.values() {
                process::signal_group(worker.pid, Signal::Term);
            }
            Err(err)
        }
    }
}

/// The state root's folders a run writes in (`workers/` the logs, `worktrees/` the
/// worktrees): a symbolic link in their place is refused, as for the other state folders.
pub const WORKER_FOLDERS: &[&str] = &["workers", "worktrees"];

/// The least a worker is started with under `--budget-usd`: with less left (the budget minus
/// what is spent and what running workers may still spend), no new worker starts.
pub const MIN_WORKER_BUDGET_USD: f64 = 0.01;

/// `options` with its sprint and epic resolved to ids (an unknown one is an error now, before
/// anything is written, not at the first claim).
fn resolve_scope(cx: &Context, options: &Options) -> Result<Options> {
    let mut options = options.clone();
    if options.sprint.is_none() && options.epic.is_none() {
        return Ok(options);
    }
    let db = cx.tracker_for_reads()?;
    if let Some(raw) = &options.sprint {
        options.sprint = Some(crate::tracker::tasks::resolve_sprint(db.conn(), raw)?);
    }
    if let Some(raw) = &options.epic {
        options.epic = Some(crate::tracker::items::resolve(db.conn(), raw)?);
    }
    Ok(options)
}

/// The first of `paths` that is a symbolic link.
fn linked(paths: &[&Path]) -> Option<PathBuf> {
    paths
        .iter()
        .find(|path| std::fs::symlink_metadata(path).is_ok_and(|meta| meta.is_symlink()))
        .map(|path| path.to_path_buf())
}

fn start_train(cx: Context, git: Git, tx: Sender<Message>) -> (Sender<(u64, Job)>, JoinHandle<()>) {
    let (jobs, queue) = mpsc::channel::<(u64, Job)>();
    let handle = std::thread::spawn(move || {
        for (slot, job) in queue {
            let result = train::integrate(&cx, &git, &job).map_err(|err| format!("{err:#}"));
            if tx.send(Message::Train { slot, result }).is_err() {
                break;
            }
        }
    });
    (jobs, handle)
}

/// The longest stream-json line parsed (a tool result can be a whole file); a longer one is
/// kept in the log whole but only counted as an event, so a worker cannot make the
/// supervisor hold more than this per worker.
pub const MAX_PARSED_LINE_BYTES: usize = 16 << 20;

/// Keep every line of a worker's stdout in its log and send the parsed events.
fn read_stream(slot: u64, stdout: ChildStdout, mut log: File, tx: Sender<Message>) {
    let mut reader = BufReader::new(stdout);
    let mut line = Vec::new();
    let mut oversized = 0usize;
    let send_line = |line: &[u8], oversized: usize| {
        let events = if oversized > 0 {
            vec![StreamEvent::Unparsed {
                line: format!("(a line of {oversized} bytes, kept in the log, not parsed)"),
            }]
        } else {
            stream::parse_line(&String::from_utf8_lossy(line))
        };
        tx.send(Message::Stream { slot, events }).is_ok()
    };
    loop {
        let chunk = match reader.fill_buf() {
            Ok([]) | Err(_) => break,
            Ok(chunk) => chunk,
        };
        let (part, complete) = match chunk.iter().position(|byte| *byte == b'\n') {
            Some(at) => (&chunk[..=at], true),
            None => (chunk, false),
        };
        let _ = log.write_all(part);
        if oversized > 0 || line.len() + part.len() > MAX_PARSED_LINE_BYTES {
            oversized = oversized.max(line.len()) + part.len();
            line.clear();
        } else {
            line.extend_from_slice(part);
        }
        let used = part.len();
        reader.consume(used);
        if complete {
            if !send_line(&line, oversized) {
                return;
            }
            line.clear();
            oversized = 0;
        }
    }
    if !line.is_empty() || oversized > 0 {
        let _ = log.write_all(b"\n");
        let _ = send_line(&line, oversized);
    }
    let _ = tx.send(Message::Eof { slot });
}

impl Supervisor<'_> {
    fn drive(&mut self, rx: &Receiver<Message>, stop: &AtomicBool) -> Result<Outcome> {
        let lease = self.cx.config().claim_lease();
        let renew_every = (lease / 3).clamp(Duration::from_secs(1), Duration::from_secs(60));
        let mut last_renew = Instant::now();
        let mut next_claim = Instant::now();
        let mut nothing_ready = false;
        loop {
            if stop.load(Ordering::SeqCst) && !self.stopping {
                self.stopping = true;
                self.cancel_tests.store(true, Ordering::SeqCst);
                self.sink.event(&Event::Stopping);
                for worker in self.workers.values_mut() {
                    worker.stop_requested = true;
                    worker.term_sent = Some(Instant::now());
                    process::signal_group(worker.pid, Signal::Term);
                }
            }
            // What the train has finished is told before anything new is claimed, so the
            // events read in order (a dependent's claim after its dependency's merge) but
            // for the moment between the train's commit and its message.
            let mut changed = false;
            while let Ok(message) = rx.try_recv() {
                changed |= self.handle(message)?;
            }
            if !self.stopping && Instant::now() >= next_claim {
                nothing_ready = self.fill_slots()?;
                next_claim = if nothing_ready || self.workers.len() >= self.options.count {
                    Instant::now() + IDLE_POLL
                } else {
                    Instant::now()
                };
            }
            match rx.recv_timeout(TICK) {
                Ok(message) => changed |= self.handle(message)?,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(Error::internal("the supervisor's channel closed"));
                }
            }
            while let Ok(message) = rx.try_recv() {
                changed |= self.handle(message)?;
            }
            changed |= self.reap()?;
            if changed {
                // Counted again at the next view: an item moved.
                self.remaining_at = None;
            }
            self.check_stalls();
            self.flush(false)?;
            if last_renew.elapsed() >= renew_every {
                let held: Vec<(String, i64)> = self
                    .workers
                    .values()
                    .map(|w| (w.item.clone(), w.generation))
                    .chain(
                        self.merging
                            .values()
                            .map(|m| (m.item.clone(), m.generation)),
                    )
                    .collect();
                if !held.is_empty() {
                    claims::renew(self.cx, &held)?;
                }
                last_renew = Instant::now();
            }
            if changed {
                // Something ended: a slot is free, or an item became ready.
                next_claim = Instant::now();
            }
            let view = self.view();
            self.sink.tick(&view);
            if self.workers.is_empty() && self.merging.is_empty() {
                if self.stopping {
                    return Ok(Outcome::Stopped);
                }
                if self.budget_hit
                    || self
                        .budget_left()
                        .is_some_and(|left| left < MIN_WORKER_BUDGET_USD)
                {
                    return Ok(Outcome::Budget);
                }
                if nothing_ready && !changed && Instant::now() < next_claim {
                    let held: Vec<String> = Vec::new();
                    if self.options.once || !records::others_at_work(self.cx, &held)? {
                        return Ok(if self.blocked > 0 {
                            Outcome::LeftBlocked
                        } else {
                            Outcome::Drained
                        });
                    }
                }
            }
        }
    }

    /// Claim and start workers while slots are free; returns whether nothing was ready.
    /// The items this run's workers work on now.
    fn running_items(&self) -> Vec<String> {
        self.workers
            .values()
            .map(|worker| worker.item.clone())
            .collect()
    }

    fn fill_slots(&mut self) -> Result<bool> {
        while self.workers.len() < self.options.count {
            if let Some(until) = self.paused_until {
                if wall_clock_secs() < until {
                    return Ok(false);
                }
                self.paused_until = None;
            }
            if let Some(budget) = self.options.budget_usd {
                // The run never spends more than its budget: a new worker may spend at most
                // what is neither spent nor reserved by the running workers' own caps, and
                // starts only when that is worth a worker. Nor does one start when what the
                // running workers will likely spend (the run's mean cost per finished
                // attempt so far) uses the budget up.
                let left = self.budget_left().unwrap_or(budget);
                let committed = self.spent + self.expected_cost() * self.workers.len() as f64;
                if left < MIN_WORKER_BUDGET_USD || committed >= budget {
                    // Reached only once nothing runs that could give some back.
                    self.budget_hit = self.workers.is_empty();
                    if self.budget_hit && !self.budget_told {
                        self.budget_told = true;
                        self.sink.event(&Event::BudgetReached {
                            spent_usd: self.spent,
                            budget_usd: budget,
                        });
                    }
                    return Ok(false);
                }
            }
            let session = self.cx.new_uuid();
            let scope = Scope {
                sprint: self.options.sprint.clone(),
                epic: self.options.epic.clone(),
                label: self.options.label.clone(),
                exclude: self.exclude.clone(),
                apart: true,
                prefer: self.options.prefer.clone(),
                agent: self.options.agent.clone(),
                // Files another live session holds exclusively: a worker there would be
                // refused every edit.
                avoid: coordination::exclusive_patterns(self.cx, &self.running_items())
                    .unwrap_or_default(),
            };
            let Some(claimed) = claims::claim_next(self.cx, &session, &scope)? else {
                return Ok(true);
            };
            self.start(claimed, session)?;
        }
        Ok(false)
    }

    fn start(&mut self, claimed: claims::Claimed, session: String) -> Result<()> {
        let item = claimed.item.item.id.clone();
        let title = claimed.item.item.title.clone();
        let generation = claimed.generation;
        let worktree = train::worktree_path(self.cx, &item);
        let logs = process::log_path(self.cx.state_root(), &item, 1);
        // A link planted in place of the item's worktree or log folder would make git or the
        // log write elsewhere: the item is refused, before an attempt is spent on it.
        let folder = logs.parent().unwrap_or(&logs);
        let mut paths = vec![worktree.clone(), folder.to_path_buf()];
        if let Ok(entries) = std::fs::read_dir(folder) {
            paths.extend(entries.flatten().map(|entry| entry.path()));
        }
        let paths: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
        // So is anything else in the way of its worktree than one of this repository's
        // worktrees (git run in a plain folder would find the user's checkout above it, in
        // another repository's, that repository).
        let in_the_way = std::fs::symlink_metadata(&worktree).is_ok() && !self.git.owns(&worktree);
        let refused = match linked(&paths) {
            Some(link) => Some(format!(
                "`{}` is a symbolic link: not started; remove the link, then run the workers again",
                link.display()
            )),
            None if in_the_way => Some(format!(
                "`{}` is in the way (it is not a worktree of this repository): not started; \
                 move it away, then run the workers again",
                worktree.display()
            )),
            // Left by an attempt that could not be cleaned up: its work goes to its branch
            // first, and while that cannot be (a process still works there, say), the item
            // waits without spending an attempt.
            None if worktree.exists() => self
                .git
                .commit_all(
                    &worktree,
                    &format!("{item}: work left by an earlier attempt"),
                )
                .and_then(|_| retried(|| self.git.remove_worktree(&worktree)))
                .err()
                .map(|err| {
                    format!(
                        "`{}` holds an earlier attempt's work that cannot be committed and \
                         removed ({}): not started; `orchestron workers recover` retries it",
                        worktree.display(),
                        err.message()
                    )
                }),
            None => None,
        };
        if let Some(note) = refused {
            self.exclude.push(item.clone());
            if let Err(err) = claims::give_back(self.cx, &item, generation, &note) {
                self.sink.event(&Event::Warning {
                    item: Some(item.clone()),
                    message: format!("could not give the item back: {err:#}"),
                });
            }
            self.sink.event(&Event::Warning {
                item: Some(item),
                message: note,
            });
            return Ok(());
        }
        let run_attempt = {
            let count = self.run_attempts.entry(item.clone()).or_insert(0);
            *count += 1;
            *count
        };
        let branch = train::branch_for(&item);
        let state_root = self.cx.state_root().to_path_buf();
        // Composed before this attempt is recorded: its instructions tell of the earlier
        // ones (the last one's outcome decides whether to merge the integration branch
        // first), not of itself.
        let composed = instructions::compose(
            self.cx,
            &item,
            Some(&Attempt {
                number: run_attempt,
                of: self.options.attempts,
                into_branch: self.options.into.clone(),
            }),
        );
        let (row, attempt) = records::start_attempt(
            self.cx,
            &NewAttempt {
                item: item.clone(),
                run: self.run.clone(),
                session: session.clone(),
                generation,
                branch: branch.clone(),
                worktree: worktree.display().to_string(),
            },
            |number| {
                process::log_path(&state_root, &item, number)
                    .display()
                    .to_string()
            },
        )?;
        self.sink.event(&Event::Claimed {
            item: item.clone(),
            title: title.clone(),
            attempt,
            run_attempt,
            of: self.options.attempts,
            session: session.clone(),
            branch: branch.clone(),
            generation,
        });
        // The files the item declares are the worker's while it works.
        let files = &claimed.item.files;
        if let Err(err) =
            coordination::hold_for_worker(self.cx, &session, &item, files, WORKER_LEASE_TTL)
        {
            self.sink.event(&Event::Warning {
                item: Some(item.clone()),
                message: format!("could not lease its declared files: {err:#}"),
            });
        }
        let log = process::log_path(&state_root, &item, attempt);
        let spawned = composed.and_then(|composed| {
            self.spawn(
                &item,
                &session,
                &branch,
                &worktree,
                &log,
                attempt,
                composed.markdown,
            )
        });
        let (child, max_budget) = match spawned {
            Ok(spawned) => spawned,
            Err(err) => {
                let reason = format!("could not start the worker: {err:#}");
                records::end_attempt(self.cx, row, "failed", Some(&reason), None)?;
                self.failed += 1;
                self.sink.event(&Event::Exited {
                    item: item.clone(),
                    attempt,
                    outcome: "failed",
                    reason: Some(reason.clone()),
                    exit_code: None,
                    cost_usd: 0.0,
                    turns: 0,
                });
                self.leave_worktree(&item, &worktree, &branch);
                return self.settle_failure(&item, generation, run_attempt, &reason);
            }
        };
        let pid = child.id();
        let now = Instant::now();
        let running = Running {
            item,
            title,
            session,
            generation,
            row,
            attempt,
            run_attempt,
            branch,
            worktree,
            child,
            pid,
            started: now,
            last_event: now,
            term_sent: None,
            kill_sent: false,
            stalled: false,
            stop_requested: false,
            max_budget_usd: max_budget,
            exit: None,
            eof: false,
            result: None,
            progress: Progress {
                pid: Some(pid),
                pid_start: process::start_time(pid),
                ..Progress::default()
            },
            dirty: false,
            last_flush: now,
        };
        self.launched(running, &log)
    }

    /// Watch a worker just started: its stream read into its log by a thread, its pid
    /// recorded, `spawned` said.
    fn launched(&mut self, mut running: Running, log: &Path) -> Result<()> {
        let slot = self.next_slot;
        self.next_slot += 1;
        let stdout = running.child.stdout.take().expect("stdout is piped");
        let file = process::open_log(log, true)?;
        let tx = self.tx.clone();
        std::thread::spawn(move || read_stream(slot, stdout, file, tx));
        records::update_attempt(self.cx, running.row, &running.progress)?;
        self.sink.event(&Event::Spawned {
            item: running.item.clone(),
            attempt: running.attempt,
            pid: running.pid,
            log: log.display().to_string(),
            max_budget_usd: running.max_budget_usd,
        });
        self.workers.insert(slot, running);
        Ok(())
    }

    /// Make the worktree and start Claude Code with `instructions`.
    #[allow(clippy::too_many_arguments)]
    fn spawn(
        &self,
        item: &str,
        session: &str,
        branch: &str,
        worktree: &Path,
        log: &Path,
        attempt: i64,
        instructions: String,
    ) -> Result<(Child, Option<f64>)> {
        if let Some(parent) = worktree.parent() {
            std::fs::create_dir_all(parent).map_err(|err| {
                Error::internal(format!("cannot create `{}`: {err}", parent.display()))
            })?;
        }
        retried(|| {
            self.git
                .checkout_worktree(worktree, branch, &self.options.into)
        })?;
        if let Some(folder) = log.parent() {
            std::fs::create_dir_all(folder).map_err(|err| {
                Error::internal(format!("cannot create `{}`: {err}", folder.display()))
            })?;
        }
        let remaining = self.budget_left();
        let max_budget = match (self.options.item_budget_usd, remaining) {
            (Some(item), Some(remaining)) => Some(item.min(remaining)),
            (one, other) => one.or(other),
        }
        // Written with four decimals, rounded down: the cap never exceeds what is left.
        // (A hair above, so that 0.5 - 0.4 makes 0.1000, not 0.0999.)
        .map(|usd| ((usd * 10_000.0) + 1e-6).floor() / 10_000.0);
        let mut args: Vec<OsString> = vec![
            "-p".into(),
            instructions.into(),
            "--output-format".into(),
            "stream-json".into(),
            "--verbose".into(),
            "--session-id".into(),
            session.into(),
        ];
        if let Some(budget) = max_budget {
            args.extend(["--max-budget-usd".into(), format!("{budget:.4}").into()]);
        }
        if let Some(turns) = self.options.max_turns {
            args.extend(["--max-turns".into(), turns.to_string().into()]);
        }
        if let Some(model) = &self.options.model {
            args.extend(["--model".into(), model.into()]);
        }
        if let Some(mode) = &self.options.permission_mode {
            args.extend(["--permission-mode".into(), mode.into()]);
        }
        args.extend(["--settings".into(), self.launch.settings.clone().into()]);
        let mut env = self.launch.env.clone();
        env.extend([
            (process::ENV_SESSION.into(), session.into()),
            (
                process::ENV_HOME.into(),
                self.cx.state_root().as_os_str().to_owned(),
            ),
            (process::ENV_WORKER.into(), item.into()),
            (process::ENV_WORKER_RUN.into(), self.run.clone().into()),
            (
                process::ENV_WORKER_ATTEMPT.into(),
                attempt.to_string().into(),
            ),
        ]);
        let child = process::spawn(&Spawn {
            program: self.launch.claude.clone(),
            args,
            dir: worktree.to_path_buf(),
            env,
            env_remove: self.launch.env_remove.clone(),
            stderr: log.with_extension("stderr"),
        })?;
        Ok((child, max_budget))
    }

    /// Handle one message; returns whether something ended.
    fn handle(&mut self, message: Message) -> Result<bool> {
        match message {
            Message::Stream { slot, events } => {
                let Some(worker) = self.workers.get_mut(&slot) else {
                    return Ok(false);
                };
                worker.last_event = Instant::now();
                for event in events {
                    match event {
                        StreamEvent::ToolUse { name, input } => {
                            worker.progress.last_tool = Some(name.clone());
                            worker.dirty = true;
                            self.sink.event(&Event::Tool {
                                item: worker.item.clone(),
                                attempt: worker.attempt,
                                tool: name,
                                input: clip_line(&input, EVENT_INPUT_CHARS),
                            });
                        }
                        StreamEvent::ToolResult { .. } => {
                            worker.progress.turns += 1;
                            worker.dirty = true;
                        }
                        StreamEvent::ApiRetry { error, .. } => {
                            self.sink.event(&Event::ApiRetry {
                                item: worker.item.clone(),
                                attempt: worker.attempt,
                                error,
                            });
                        }
                        StreamEvent::RateLimit {
                            rejected: true,
                            resets_at,
                            ..
                        } => {
                            // No new worker until the limit resets (a minute when it does
                            // not say when).
                            let until = resets_at.unwrap_or_else(|| wall_clock_secs() + 60);
                            self.paused_until = Some(self.paused_until.unwrap_or(0).max(until));
                            self.sink.event(&Event::RateLimited {
                                item: worker.item.clone(),
                                resets_at,
                            });
                        }
                        StreamEvent::Result(result) => {
                            if let Some(cost) = result.cost_usd {
                                worker.progress.cost_usd = cost;
                            }
                            if let Some(turns) = result.turns {
                                worker.progress.turns = turns;
                            }
                            worker.progress.usage = result.usage.clone();
                            worker.result = Some(result);
                            worker.dirty = true;
                        }
                        _ => {}
                    }
                }
                Ok(false)
            }
            Message::Eof { slot } => {
                if let Some(worker) = self.workers.get_mut(&slot) {
                    worker.eof = true;
                }
                Ok(false)
            }
            Message::Train { slot, result } => {
                let Some(merging) = self.merging.remove(&slot) else {
                    return Ok(false);
                };
                self.integrated(merging, result)?;
                Ok(true)
            }
        }
    }

    /// Finish every worker whose process has exited and whose stream is read.
    fn reap(&mut self) -> Result<bool> {
        let mut ended = Vec::new();
        for (slot, worker) in &mut self.workers {
            if worker.exit.is_none()
                && let Ok(Some(status)) = exit_status(&mut worker.child, worker.eof)
            {
                use std::os::unix::process::ExitStatusExt as _;
                let code = status.code().or(status.signal().map(|signal| 128 + signal));
                worker.exit = Some((code, Instant::now()));
            }
            if let Some((_, at)) = worker.exit {
                if worker.eof {
                    ended.push(*slot);
                } else if at.elapsed() >= EOF_GRACE {
                    // Something it started holds its stdout open.
                    process::signal_group(worker.pid, Signal::Kill);
                    ended.push(*slot);
                }
            }
        }
        let any = !ended.is_empty();
        for slot in ended {
            let worker = self.workers.remove(&slot).expect("a worker");
            self.finish(slot, worker)?;
        }
        Ok(any)
    }

    fn check_stalls(&mut self) {
        let stall = self.options.stall;
        for worker in self.workers.values_mut() {
            if worker.exit.is_some() {
                continue;
            }
            match worker.term_sent {
                None if worker.last_event.elapsed() >= stall => {
                    worker.stalled = true;
                    worker.term_sent = Some(Instant::now());
                    self.sink.event(&Event::Stalled {
                        item: worker.item.clone(),
                        attempt: worker.attempt,
                        idle_secs: worker.last_event.elapsed().as_secs(),
                    });
                    process::signal_group(worker.pid, Signal::Term);
                }
                Some(at) if !worker.kill_sent && at.elapsed() >= KILL_GRACE => {
                    worker.kill_sent = true;
                    process::signal_group(worker.pid, Signal::Kill);
                }
                _ => {}
            }
        }
    }

    /// Write the progress of workers that changed (at most once a second each, unless
    /// `all`).
    fn flush(&mut self, all: bool) -> Result<()> {
        for worker in self.workers.values_mut() {
            if worker.dirty && (all || worker.last_flush.elapsed() >= FLUSH_EVERY) {
                records::update_attempt(self.cx, worker.row, &worker.progress)?;
                worker.dirty = false;
                worker.last_flush = Instant::now();
            }
        }
        Ok(())
    }

    fn finish(&mut self, slot: u64, mut worker: Running) -> Result<()> {
        // Its declared files (and its touches) are free again.
        if let Ok(session) = SessionId::parse(&worker.session) {
            let _ = coordination::end_session(self.cx, &session);
        }
        let code = worker.exit.and_then(|(code, _)| code);
        let verdict = if worker.stop_requested {
            Verdict::Stopped
        } else if worker.stalled {
            // The outcome says `stalled`; the reason says how long.
            Verdict::Failed(format!("no event for {}s", self.options.stall.as_secs()))
        } else {
            match (&worker.result, code) {
                (Some(result), code) => match result.failure() {
                    Some(failure) => Verdict::Failed(failure),
                    None if code != Some(0) => Verdict::Failed(format!(
                        "it exited with {} after a successful result",
                        describe_exit(code)
                    )),
                    None => Verdict::Succeeded,
                },
                (None, Some(0)) => Verdict::Failed("it exited 0 with no result".to_owned()),
                (None, code) => Verdict::Failed(format!(
                    "it exited with {} and no result",
                    describe_exit(code)
                )),
            }
        };
        let (outcome, reason) = match &verdict {
            Verdict::Succeeded => ("succeeded", None),
            Verdict::Failed(reason) if worker.stalled => ("stalled", Some(reason.clone())),
            Verdict::Failed(reason) => ("failed", Some(reason.clone())),
            Verdict::Stopped => ("stopped", Some("the supervisor was stopped".to_owned())),
        };
        self.spent += worker.progress.cost_usd;
        if worker.result.is_some() {
            self.costs.0 += worker.progress.cost_usd;
            self.costs.1 += 1;
        }
        worker.dirty = false;
        if matches!(verdict, Verdict::Succeeded) {
            // Open until the train is done with it (see `records::record_exit`).
            records::record_exit(self.cx, worker.row, outcome, &worker.progress)?;
        } else {
            records::end_attempt(
                self.cx,
                worker.row,
                outcome,
                reason.as_deref(),
                Some(&worker.progress),
            )?;
        }
        self.sink.event(&Event::Exited {
            item: worker.item.clone(),
            attempt: worker.attempt,
            outcome,
            reason: reason.clone(),
            exit_code: code,
            cost_usd: worker.progress.cost_usd,
            turns: worker.progress.turns,
        });
        // A worker that asked a person (`task ask`: its item BLOCKED with the question) is
        // done until the answer: its work is kept on its branch, not merged, not retried.
        if !matches!(verdict, Verdict::Stopped)
            && let Ok((Status::Blocked, generation, question)) =
                records::item_status(self.cx, &worker.item)
            && generation == worker.generation
        {
            records::end_attempt(self.cx, worker.row, "asked", question.as_deref(), None)?;
            self.leave_worktree(&worker.item, &worker.worktree, &worker.branch);
            self.exclude.push(worker.item.clone());
            self.asked += 1;
            self.sink.event(&Event::Asked {
                item: worker.item,
                question: question.unwrap_or_default(),
            });
            return Ok(());
        }
        match verdict {
            Verdict::Succeeded => {
                let job = Job {
                    item: worker.item.clone(),
                    generation: worker.generation,
                    branch: worker.branch.clone(),
                    worktree: worker.worktree.clone(),
                    into: self.options.into.clone(),
                    review: self.options.review,
                    test_command: self.options.test_command.clone(),
                    test_timeout: self.options.test_timeout,
                    cancel: Some(Arc::clone(&self.cancel_tests)),
                    attempt: worker.row,
                };
                self.merging.insert(
                    slot,
                    Merging {
                        item: worker.item,
                        generation: worker.generation,
                        row: worker.row,
                        attempt: worker.attempt,
                        run_attempt: worker.run_attempt,
                    },
                );
                let sent = self
                    .train
                    .as_ref()
                    .is_some_and(|train| train.send((slot, job)).is_ok());
                if !sent && let Some(merging) = self.merging.remove(&slot) {
                    // The train is gone: the attempt's work stays on its branch.
                    self.integrated(merging, Err("the merge train has stopped".to_owned()))?;
                }
                Ok(())
            }
            Verdict::Stopped => {
                let committed = self.leave_worktree(&worker.item, &worker.worktree, &worker.branch);
                let note = if committed {
                    format!(
                        "the supervisor was stopped; the work is kept on branch `{}`",
                        worker.branch
                    )
                } else {
                    format!(
                        "the supervisor was stopped; the work is left uncommitted in `{}`",
                        worker.worktree.display()
                    )
                };
                self.give_back_stopped(worker.item, worker.generation, note, committed);
                Ok(())
            }
            Verdict::Failed(reason) => {
                self.failed += 1;
                self.leave_worktree(&worker.item, &worker.worktree, &worker.branch);
                let reason = if worker.stalled {
                    format!("stalled: {reason}")
                } else {
                    reason
                };
                self.settle_failure(&worker.item, worker.generation, worker.run_attempt, &reason)
            }
        }
    }

    /// Give a stopped worker's item back to TODO with `note`, and say so (or that it could
    /// not be). `committed`: its work is on its branch (else left uncommitted in its
    /// worktree).
    fn give_back_stopped(&mut self, item: String, generation: i64, note: String, committed: bool) {
        match claims::give_back(self.cx, &item, generation, &note) {
            Ok(()) => {
                if committed {
                    self.returned_items.push(item.clone());
                } else {
                    self.uncommitted_items.push(item.clone());
                }
                self.sink.event(&Event::Returned { item, note });
            }
            Err(err) => self.sink.event(&Event::Warning {
                item: Some(item),
                message: format!("could not give the item back: {err:#}"),
            }),
        }
    }

    /// Commit what a worker left in its worktree to its branch, then keep the worktree as a
    /// spare or remove it (only once committed: nothing is lost). A failure is reported, not
    /// fatal: the worktree stays for recovery. Returns whether the work is on the branch.
    fn leave_worktree(&mut self, item: &str, worktree: &Path, branch: &str) -> bool {
        if !worktree.exists() {
            return true;
        }
        let committed = self
            .git
            .commit_all(worktree, &format!("{item}: work left by the worker"));
        let problem = match &committed {
            Err(err) => Some(format!(
                "its work is left uncommitted in `{}`: {err:#}",
                worktree.display()
            )),
            Ok(_) => retried(|| self.git.release_worktree(worktree))
                .err()
                .map(|err| {
                    format!("its work is on branch `{branch}`, but its worktree stays: {err:#}")
                }),
        };
        if let Some(message) = problem {
            self.sink.event(&Event::Warning {
                item: Some(item.to_owned()),
                message,
            });
        }
        committed.is_ok()
    }

    /// After a failed attempt: give the item back for another attempt while the run has
    /// attempts left for it, else block it with the reason (it enters the attention queue).
    fn settle_failure(
        &mut self,
        item: &str,
        generation: i64,
        run_attempt: u32,
        reason: &str,
    ) -> Result<()> {
        let status = records::item_status(self.cx, item).map(|(status, ..)| status);
        if run_attempt < self.options.attempts {
            if matches!(status, Ok(Status::InProgress)) {
                let note = format!("attempt {run_attempt} failed: {reason}");
                if let Err(err) = claims::give_back(self.cx, item, generation, &note) {
                    self.sink.event(&Event::Warning {
                        item: Some(item.to_owned()),
                        message: format!("could not give the item back: {err:#}"),
                    });
                    return Ok(());
                }
            }
            self.sink.event(&Event::Retrying {
                item: item.to_owned(),
                next_attempt: run_attempt + 1,
                of: self.options.attempts,
                reason: reason.to_owned(),
            });
            return Ok(());
        }
        let why = format!(
            "{} attempt{} failed; the last: {reason}",
            self.options.attempts,
            if self.options.attempts == 1 { "" } else { "s" }
        );
        self.exclude.push(item.to_owned());
        match claims::block(self.cx, item, generation, &why) {
            Ok(()) => {
                self.blocked += 1;
                self.notify(item);
                self.sink.event(&Event::Blocked {
                    item: item.to_owned(),
                    reason: why,
                });
            }
            Err(err) => self.sink.event(&Event::Warning {
                item: Some(item.to_owned()),
                message: format!("could not block the item: {err:#}"),
            }),
        }
        Ok(())
    }

    fn integrated(
        &mut self,
        merging: Merging,
        result: std::result::Result<Integrated, String>,
    ) -> Result<()> {
        let result = match result {
            Ok(result) => result,
            Err(error) if self.stopping => {
                // Stopped in the train (its tests killed): the work is on its branch, the
                // item goes back to TODO, as a stopped worker's does.
                let reason = if error.contains(train::STOPPED_DURING_TESTS) {
                    train::STOPPED_DURING_TESTS.to_owned()
                } else {
                    format!("the supervisor was stopped; its work was not integrated: {error}")
                };
                records::end_attempt(self.cx, merging.row, "stopped", Some(&reason), None)?;
                let note = format!(
                    "{reason}; the work is kept on branch `{}`",
                    train::branch_for(&merging.item)
                );
                self.give_back_stopped(merging.item, merging.generation, note, true);
                return Ok(());
            }
            Err(error) => {
                records::end_attempt(self.cx, merging.row, "failed", Some(&error), None)?;
                self.failed += 1;
                self.sink.event(&Event::TrainFailed {
                    item: merging.item.clone(),
                    attempt: merging.attempt,
                    error: error.clone(),
                });
                return self.settle_failure(
                    &merging.item,
                    merging.generation,
                    merging.run_attempt,
                    &format!("its work could not be integrated: {error}"),
                );
            }
        };
        self.sink.event(&Event::Integrated {
            item: merging.item.clone(),
            attempt: merging.attempt,
            result: result.clone(),
        });
        let failure = match &result {
            Integrated::Merged { .. } => {
                self.done += 1;
                self.merged_items.push(merging.item.clone());
                records::end_attempt(self.cx, merging.row, "merged", None, None)?;
                None
            }
            Integrated::InReview => {
                self.in_review += 1;
                records::end_attempt(self.cx, merging.row, "in_review", None, None)?;
                let item = merging.item.clone();
                self.notify(&item);
                None
            }
            Integrated::Conflict { files } => Some((
                "conflict",
                format!(
                    "its branch conflicts with `{}` in {}",
                    self.options.into,
                    if files.is_empty() {
                        "some files".to_owned()
                    } else {
                        files.join(", ")
                    }
                ),
            )),
            Integrated::TestsFailed { summary } => Some((
                "tests_failed",
                format!("the tests failed: {}", clip_line(summary, 500)),
            )),
            Integrated::NothingDone => Some((
                "nothing_done",
                "it committed nothing and left no changes".to_owned(),
            )),
        };
        if let Some((outcome, reason)) = failure {
            records::end_attempt(self.cx, merging.row, outcome, Some(&reason), None)?;
            self.failed += 1;
            self.settle_failure(
                &merging.item,
                merging.generation,
                merging.run_attempt,
                &reason,
            )?;
        }
        Ok(())
    }

    /// `item` entered the attention queue: run `notify.command`. A command refused (it came
    /// with the repository) is said once per run.
    fn notify(&mut self, item: &str) {
        if let Some(refused) = crate::notify::entered(self.cx, item)
            && !self.notify_refused_told
        {
            self.notify_refused_told = true;
            let hint = refused
                .hint()
                .map(|hint| format!(" ({hint})"))
                .unwrap_or_default();
            self.sink.event(&Event::Warning {
                item: Some(item.to_owned()),
                message: format!("not notified: {}{hint}", refused.message()),
            });
        }
    }

    /// What a new worker may still spend under `--budget-usd`: the budget minus what is spent
    /// and minus the caps (`--max-budget-usd`) of the workers still running.
    fn budget_left(&self) -> Option<f64> {
        let reserved: f64 = self
            .workers
            .values()
            .filter_map(|worker| worker.max_budget_usd)
            .sum();
        self.options
            .budget_usd
            .map(|budget| (budget - self.spent - reserved).max(0.0))
    }

    /// What an attempt of this run costs on average so far (0 before any has finished).
    fn expected_cost(&self) -> f64 {
        match self.costs {
            (_, 0) => 0.0,
            (sum, count) => sum / f64::from(count),
        }
    }

    fn view(&mut self) -> View {
        if self.remaining_at.is_none_or(|at| at.elapsed() >= IDLE_POLL) {
            self.remaining = records::open_items(self.cx).unwrap_or(self.remaining);
            self.remaining_at = Some(Instant::now());
        }
        View {
            workers: self
                .workers
                .values()
                .map(|worker| WorkerView {
                    item: worker.item.clone(),
                    title: worker.title.clone(),
                    attempt: worker.attempt,
                    pid: worker.pid,
                    elapsed_secs: worker.started.elapsed().as_secs_f64(),
                    idle_secs: worker.last_event.elapsed().as_secs_f64(),
                    turns: worker.progress.turns,
                    last_tool: worker.progress.last_tool.clone(),
                    cost_usd: worker.progress.cost_usd,
                    stopping: worker.term_sent.is_some(),
                })
                .collect(),
            merging: self.merging.len(),
            done: self.done,
            in_review: self.in_review,
            failed: self.failed,
            blocked: self.blocked,
            remaining: self.remaining,
            spent_usd: self.spent,
            elapsed_secs: self.started.elapsed().as_secs_f64(),
            paused_until: self.paused_until,
        }
    }

    fn summary(&self, outcome: Outcome) -> Summary {
        Summary {
            run: self.run.clone(),
            outcome,
            done: self.done,
            in_review: self.in_review,
            failed: self.failed,
            blocked: self.blocked,
            asked: self.asked,
            spent_usd: self.spent,
            budget_usd: self.options.budget_usd,
            elapsed_secs: self.started.elapsed().as_secs_f64(),
            merged: self.merged_items.clone(),
            returned: self.returned_items.clone(),
            uncommitted: self.uncommitted_items.clone(),
        }
    }
}

/// How many times a worktree is added or removed before the failure counts.
const WORKTREE_TRIES: u32 = 3;

/// `change` (adding or removing a worktree), tried again after a moment when it fails: git's
/// worktree commands read every worktree's admin folder, and one that the merge train's
/// thread is adding or removing at that instant can make them fail.
fn retried(mut change: impl FnMut() -> Result<()>) -> Result<()> {
    let mut tries = 1;
    loop {
        match change() {
            Err(_) if tries < WORKTREE_TRIES => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            done => return done,
        }
    }
}

/// The child's exit status if it has exited; after its stdout closed (`eof`), waited for a
/// moment, since the exit follows.
fn exit_status(child: &mut Child, eof: bool) -> std::io::Result<Option<std::process::ExitStatus>> {
    let deadline = Instant::now() + EXIT_WAIT;
    loop {
        let status = child.try_wait()?;
        if status.is_some() || !eof || Instant::now() >= deadline {
            return Ok(status);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The wall clock in Unix seconds. A rate limit's reset is a moment on the API's clock, not
/// the context's "now" (which a test may fix): the pause is measured against the real one.
fn wall_clock_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64)
}

fn describe_exit(code: Option<i32>) -> String {
    match code {
        Some(code) if code > 128 => format!("code {code} (signal {})", code - 128),
        Some(code) => format!("code {code}"),
        None => "no code".to_owned(),
    }
}
