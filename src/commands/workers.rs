//! `workers run|status|logs|stop|recover`: the face of the supervisor. `run` resolves the
//! flags against the configuration and the Claude Code binary before anything changes,
//! wires Ctrl-C and SIGTERM to the supervisor's stop flag, and renders its events: a live
//! table on a terminal, one line per event otherwise, NDJSON under `--json`.

use std::ffi::OsString;
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::{Value, json};

use crate::cli::{ReviewMode, WorkersCommand, WorkersRunArgs};
use crate::context::Context;
use crate::error::Ended;
use crate::output::{Output, printable};
use orchestron_core::Error;
use orchestron_core::config::worker_wait;
use orchestron_core::workers::git::Git;
use orchestron_core::workers::records;
use orchestron_core::workers::stream::{self, StreamEvent};
use orchestron_core::workers::supervisor::{self, Event, Launch, Options, Outcome, Sink, View};
use orchestron_core::workers::train::Review;
use orchestron_core::workers::{process, recover};

/// How many workers run at once by default.
const DEFAULT_COUNT: u32 = 2;
/// How many attempts an item gets in a run by default.
const DEFAULT_ATTEMPTS: u32 = 2;
/// How long a worker may be silent by default.
const DEFAULT_STALL: &str = "5m";
/// The exit codes of `workers run` besides 0 and 1.
const EXIT_BUDGET: u8 = 3;
const EXIT_STOPPED: u8 = 4;
const EXIT_LEFT_BLOCKED: u8 = 5;
/// How much of a tool call's input `workers logs` shows, on one line: enough for a
/// worker's usual shell line (work, commit, `orchestron task complete`).
const LOG_INPUT_CHARS: usize = 400;
/// How often the live table is redrawn at most.
const REDRAW_EVERY: Duration = Duration::from_millis(250);

pub(super) fn run(
    context: &Context,
    out: &mut Output,
    command: WorkersCommand,
) -> anyhow::Result<()> {
    match command {
        WorkersCommand::Run(args) => run_workers(context, out, &args),
        WorkersCommand::Status => status(context, out),
        WorkersCommand::Logs {
            id,
            attempt,
            follow,
        } => logs(context, out, &id, attempt, follow),
        WorkersCommand::Stop => stop(context, out),
        WorkersCommand::Recover => recover_orphans(context, out),
    }
}

/// Resolve the flags against the configuration. The flags' values are checked as they are
/// parsed (a usage error, exit 2) and the configuration's as it is read (naming the key):
/// here they only meet.
fn options(context: &Context, args: &WorkersRunArgs) -> anyhow::Result<Options> {
    let config = context.config()?;
    let workers = &config.workers;
    let count = args.count.or(workers.count).unwrap_or(DEFAULT_COUNT);
    let attempts = args
        .attempts
        .or(workers.attempts)
        .unwrap_or(DEFAULT_ATTEMPTS);
    let stall_text = args
        .stall
        .clone()
        .or(workers.stall.clone())
        .unwrap_or_else(|| DEFAULT_STALL.to_owned());
    let stall =
        worker_wait(&stall_text).with_context(|| format!("invalid `--stall {stall_text}`"))?;
    let review = match args.review {
        _ if config.tracker.require_review => Review::Human,
        Some(ReviewMode::Human) => Review::Human,
        Some(ReviewMode::Auto) | None => Review::Auto,
    };
    Ok(Options {
        count: count as usize,
        sprint: args.sprint.clone(),
        epic: args.epic.clone(),
        label: args.label.clone(),
        budget_usd: args.budget_usd.or(workers.budget_usd),
        item_budget_usd: args.item_budget_usd.or(workers.item_budget_usd),
        max_turns: args.max_turns.or(workers.max_turns),
        stall,
        attempts,
        model: args.model.clone().or(workers.model.clone()),
        permission_mode: args
            .permission_mode
            .clone()
            .or(workers.permission_mode.clone()),
        into: args
            .into
            .clone()
            .or(workers.into.clone())
            .unwrap_or_else(|| orchestron_core::workers::train::DEFAULT_INTO.to_owned()),
        review,
        test_command: orchestron_core::trust::allowed(
            context.core()?,
            "workers.test_command",
            workers.test_command.clone(),
        )?,
        test_timeout: workers.test_timeout(),
        once: args.once,
        agent: context.agent(),
        prefer: context.agent_skills(),
    })
}

/// The Claude Code binary: `--claude`, `ORCHESTRON_CLAUDE`, `workers.claude`, then `claude`
/// on `PATH`; a bare name is looked up on `PATH`.
fn claude_binary(context: &Context, args: &WorkersRunArgs) -> anyhow::Result<PathBuf> {
    let configured = context.config()?.workers.claude.clone().map(PathBuf::from);
    let (named, by) = match (&args.claude, context.claude_override(), configured) {
        (Some(path), _, _) => (Some(path.clone()), "`--claude`"),
        (None, Some(path), _) => (Some(path.to_path_buf()), "`ORCHESTRON_CLAUDE`"),
        (None, None, Some(path)) => (
            orchestron_core::trust::allowed(context.core()?, "workers.claude", Some(path))?,
            "`workers.claude`",
        ),
        (None, None, None) => (None, "PATH"),
    };
    let executable = |path: &Path| {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(path)
            .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    };
    let found = match &named {
        Some(path) if path.components().count() > 1 || path.is_absolute() => {
            executable(path).then(|| path.clone())
        }
        Some(name) => context.find_program(&name.to_string_lossy()),
        None => context.find_program("claude"),
    };
    found
        .map(|path| std::path::absolute(&path).unwrap_or(path))
        .ok_or_else(|| {
            let what = match &named {
                Some(path) => format!("`{}` (from {by}) is not an executable file", path.display()),
                None => "cannot find Claude Code: no `claude` on PATH".to_owned(),
            };
            Error::invalid(what)
                .with_hint(
                    "install Claude Code, or name its binary with `--claude PATH`, \
                     `ORCHESTRON_CLAUDE` or `workers.claude`",
                )
                .into()
        })
}

/// The `--settings` a worker starts with: every event Orchestron hooks runs this binary's
/// `hook EVENT --worker`. Claude Code runs these in addition to the project's and the
/// plugin's hooks, which do nothing under `ORCHESTRON_WORKER`: each event is handled once.
fn worker_settings(bin: &Path) -> String {
    let bin = bin.to_string_lossy();
    let hooks: serde_json::Map<String, Value> = crate::install::EVENTS
        .iter()
        .map(|event| {
            (
                (*event).to_owned(),
                json!([{"hooks": [{
                    "type": "command",
                    "command": bin,
                    "args": ["hook", event, "--worker"],
                    "timeout": crate::install::HOOK_TIMEOUT_SECS,
                }]}]),
            )
        })
        .collect();
    json!({"hooks": hooks}).to_string()
}

fn run_workers(context: &Context, out: &mut Output, args: &WorkersRunArgs) -> anyhow::Result<()> {
    let options = options(context, args)?;
    let claude = claude_binary(context, args)?;
    let git = Git::open(context.project_root())?;
    let bin = context.current_binary()?;
    // A worker's `orchestron` commands run this very binary.
    let mut path = OsString::new();
    if let Some(folder) = bin.parent() {
        path.push(folder);
    }
    if let Some(rest) = context.path_var() {
        path.push(":");
        path.push(rest);
    }
    let launch = Launch {
        claude,
        settings: worker_settings(&bin),
        env: std::iter::once((crate::context::var::PATH.into(), path))
            .chain(
                options
                    .agent
                    .as_ref()
                    .map(|agent| (crate::context::var::AGENT.into(), agent.into())),
            )
            .collect(),
        env_remove: crate::context::var::NOT_FOR_WORKERS
            .iter()
            .map(OsString::from)
            .collect(),
    };
    let core = context.core_for_long_run(&std::process::id().to_string())?;
    let stop = Arc::new(AtomicBool::new(false));
    // A second Ctrl-C ends the supervisor at once (the next `workers run` or `workers
    // recover` cleans up after it).
    signal_hook::flag::register_conditional_shutdown(
        signal_hook::consts::SIGINT,
        EXIT_STOPPED.into(),
        Arc::clone(&stop),
    )
    .context("cannot watch for Ctrl-C")?;
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("cannot watch for Ctrl-C and SIGTERM")?;
    }
    let stderr = std::io::stderr();
    let mut sink = Printer {
        forecaster: Forecaster {
            cx: &core,
            git: git.clone(),
            last: Instant::now(),
            running: None,
        },
        out,
        mode: if context.json {
            Mode::Json
        } else if stderr.is_terminal() {
            Mode::Table
        } else {
            Mode::Lines
        },
        started: Instant::now(),
        drawn: 0,
        last_draw: None,
        view: None,
        failed_write: None,
    };
    let summary = supervisor::run(&core, &git, &options, &launch, &stop, &mut sink)?;
    sink.clear();
    if let Some(err) = sink.failed_write.take() {
        return Err(err.into());
    }
    let totals = format!(
        "{} merged, {} in review, {} failed attempts, {} blocked, {} asking a person; spent ${:.2} in {}",
        summary.done,
        summary.in_review,
        summary.failed,
        summary.blocked,
        summary.asked,
        summary.spent_usd,
        clock(summary.elapsed_secs)
    );
    let (code, message) = match summary.outcome {
        Outcome::Drained => (0, format!("workers: nothing left to do ({totals})")),
        Outcome::Budget => (
            EXIT_BUDGET,
            format!(
                "workers: budget reached: spent ${:.2} of ${:.2}; nothing new was started ({totals})",
                summary.spent_usd,
                summary.budget_usd.unwrap_or_default()
            ),
        ),
        Outcome::Stopped => (EXIT_STOPPED, {
            let mut what = Vec::new();
            if !summary.merged.is_empty() {
                what.push(format!("merged: {}", summary.merged.join(", ")));
            }
            if !summary.returned.is_empty() {
                what.push(format!(
                    "back in TODO, their work kept on their branches: {}",
                    summary.returned.join(", ")
                ));
            }
            if !summary.uncommitted.is_empty() {
                what.push(format!(
                    "back in TODO, their work left uncommitted in their worktrees (`orchestron \
                     workers recover` commits it once nothing works there): {}",
                    summary.uncommitted.join(", ")
                ));
            }
            if what.is_empty() {
                what.push("no item was running".to_owned());
            }
            format!("workers: stopped; {} ({totals})", what.join("; "))
        }),
        Outcome::LeftBlocked => (
            EXIT_LEFT_BLOCKED,
            format!(
                "workers: {} item(s) left BLOCKED after their attempts; see `orchestron attention` ({totals})",
                summary.blocked
            ),
        ),
    };
    if code == 0 {
        if !context.json {
            crate::output::note(&message);
        }
        return Ok(());
    }
    Err(Ended { code, message }.into())
}

enum Mode {
    Json,
    Table,
    Lines,
}

/// How often a running supervisor keeps a fresh conflict forecast for SessionStart (which
/// tells a session whose branch would conflict); the first one this long after the start.
const FORECAST_EVERY: Duration = Duration::from_secs(30);

/// Keeps the conflict forecast fresh while workers run, on a thread of its own so that git's
/// work never delays the supervisor.
struct Forecaster<'a> {
    cx: &'a orchestron_core::Context,
    git: Git,
    last: Instant,
    running: Option<std::thread::JoinHandle<()>>,
}

impl Forecaster<'_> {
    fn maybe_refresh(&mut self) {
        if self.last.elapsed() < FORECAST_EVERY
            || self
                .running
                .as_ref()
                .is_some_and(|thread| !thread.is_finished())
        {
            return;
        }
        self.last = Instant::now();
        let cx = self.cx.fork("forecast");
        let git = self.git.clone();
        self.running = Some(std::thread::spawn(move || {
            if let Ok(forecast) = orchestron_core::conflicts::forecast(&cx, &git, &[]) {
                let _ = orchestron_core::conflicts::keep(&cx, &forecast);
            }
        }));
    }
}

struct Printer<'a> {
    forecaster: Forecaster<'a>,
    out: &'a mut Output,
    mode: Mode,
    started: Instant,
    /// Lines of the table on screen now.
    drawn: usize,
    last_draw: Option<Instant>,
    view: Option<View>,
    failed_write: Option<std::io::Error>,
}

impl Printer<'_> {
    /// Take the table off the screen.
    fn clear(&mut self) {
        if self.drawn > 0 {
            let mut stderr = std::io::stderr().lock();
            let _ = write!(stderr, "\x1b[{}A\x1b[J", self.drawn);
            let _ = stderr.flush();
            self.drawn = 0;
        }
    }

    fn draw(&mut self) {
        let Some(view) = &self.view else { return };
        let mut lines = vec![format!(
            "{:<14} {:>7} {:>8} {:>5}  {:<14} {:>8}",
            "ITEM", "ATTEMPT", "ELAPSED", "TURNS", "LAST TOOL", "COST"
        )];
        for worker in &view.workers {
            lines.push(format!(
                "{:<14} {:>7} {:>8} {:>5}  {:<14} {:>8}{}",
                printable(&clip(&worker.item, 14)),
                worker.attempt,
                clock(worker.elapsed_secs),
                worker.turns,
                printable(&clip(worker.last_tool.as_deref().unwrap_or("-"), 14)),
                format!("${:.2}", worker.cost_usd),
                if worker.stopping { "  stopping" } else { "" }
            ));
        }
        let mut totals = format!(
            "done {} · in review {} · remaining {} · failed {} · blocked {} · spent ${:.2} · elapsed {}",
            view.done,
            view.in_review,
            view.remaining,
            view.failed,
            view.blocked,
            view.spent_usd,
            clock(view.elapsed_secs)
        );
        if view.merging > 0 {
            totals.push_str(&format!(" · merging {}", view.merging));
        }
        if view.paused_until.is_some() {
            totals.push_str(" · paused by a rate limit");
        }
        lines.push(totals);
        self.clear();
        let mut stderr = std::io::stderr().lock();
        for line in &lines {
            let _ = writeln!(stderr, "{line}");
        }
        let _ = stderr.flush();
        self.drawn = lines.len();
        self.last_draw = Some(Instant::now());
    }
}

fn clip(text: &str, max: usize) -> String {
    orchestron_core::text::clip(text, max.saturating_sub(1)).into_owned()
}

/// Seconds as `m:ss`, or `h:mm:ss`.
fn clock(secs: f64) -> String {
    let secs = secs.max(0.0) as u64;
    if secs >= 3600 {
        format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
    } else {
        format!("{}:{:02}", secs / 60, secs % 60)
    }
}

impl Sink for Printer<'_> {
    fn event(&mut self, event: &Event) {
        match self.mode {
            Mode::Json => {
                let value = serde_json::to_value(event).unwrap_or(Value::Null);
                let written = self.out.json_line(&value).and_then(|()| self.out.flush());
                if let Err(err) = written
                    && self.failed_write.is_none()
                {
                    self.failed_write = Some(err);
                }
            }
            Mode::Lines | Mode::Table => {
                // On a terminal the table shows each worker's last tool: its calls would
                // scroll the lines that matter away.
                if matches!(self.mode, Mode::Table) && matches!(event, Event::Tool { .. }) {
                    return;
                }
                let Some(line) = describe(event) else { return };
                self.clear();
                let line = format!("[{}] {}", clock(self.started.elapsed().as_secs_f64()), line);
                #[allow(clippy::print_stderr)]
                {
                    eprintln!("{}", printable(&line));
                }
                if matches!(self.mode, Mode::Table) {
                    self.draw();
                }
            }
        }
    }

    fn tick(&mut self, view: &View) {
        self.forecaster.maybe_refresh();
        if !matches!(self.mode, Mode::Table) {
            return;
        }
        if self.last_draw.is_some_and(|at| at.elapsed() < REDRAW_EVERY) {
            self.view = Some(view.clone());
            return;
        }
        self.view = Some(view.clone());
        self.draw();
    }
}

/// One line for a person, or `None` for an event not worth a line.
fn describe(event: &Event) -> Option<String> {
    Some(match event {
        Event::RunStarted {
            run,
            pid,
            into,
            count,
            claude,
        } => format!("run {run} (pid {pid}): up to {count} workers onto `{into}`, with `{claude}`"),
        Event::Recovered { detail } => format!(
            "recovered{}: {}",
            detail["item"]
                .as_str()
                .filter(|item| !item.is_empty())
                .map(|item| format!(" {item}"))
                .unwrap_or_default(),
            detail["what"]
                .as_str()
                .unwrap_or("something a killed supervisor left")
        ),
        Event::Claimed {
            item,
            title,
            run_attempt,
            of,
            branch,
            ..
        } => format!("{item} claimed: {title} (attempt {run_attempt} of {of}, branch `{branch}`)"),
        Event::Spawned { item, pid, log, .. } => format!("{item} started: pid {pid}, log {log}"),
        Event::Tool {
            item, tool, input, ..
        } => format!("{item} {tool}: {input}"),
        Event::ApiRetry { item, error, .. } => format!(
            "{item} API error, Claude Code retries: {}",
            error.as_deref().unwrap_or("unknown")
        ),
        Event::RateLimited { item, resets_at } => format!(
            "{item} hit the rate limit: no new workers until {}",
            resets_at
                .and_then(|at| jiff::Timestamp::from_second(at).ok())
                .map_or("it resets".to_owned(), |at| at.to_string())
        ),
        Event::Stalled {
            item, idle_secs, ..
        } => format!("{item} stalled: no event for {idle_secs}s, stopping it"),
        Event::Exited {
            item,
            outcome,
            reason,
            cost_usd,
            turns,
            ..
        } => format!(
            "{item} {outcome}{} (${cost_usd:.4}, {turns} turns)",
            reason
                .as_ref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ),
        Event::Integrated { item, result, .. } => {
            use orchestron_core::workers::train::Integrated;
            match result {
                Integrated::Merged { commit } => {
                    format!("{item} merged ({})", &commit[..commit.len().min(12)])
                }
                Integrated::InReview => {
                    format!("{item} waits for review: `orchestron review {item}`")
                }
                Integrated::Conflict { files } => {
                    format!("{item} conflicts ({}): not merged", files.join(", "))
                }
                Integrated::TestsFailed { summary } => {
                    format!(
                        "{item} failed the tests: {}",
                        orchestron_core::text::clip_line(summary, 200)
                    )
                }
                Integrated::NothingDone => format!("{item} left nothing to merge"),
            }
        }
        Event::TrainFailed { item, error, .. } => format!("{item} could not be merged: {error}"),
        Event::Retrying {
            item,
            next_attempt,
            of,
            ..
        } => format!("{item} goes back for attempt {next_attempt} of {of}"),
        Event::Blocked { item, reason } => format!("{item} BLOCKED: {reason}"),
        Event::Asked { item, question } => {
            format!("{item} asks a person: {question} (`orchestron task answer {item} \"...\"`)")
        }
        Event::Returned { item, note } => format!("{item} back to TODO: {note}"),
        Event::Warning { item, message } => match item {
            Some(item) => format!("{item} warning: {message}"),
            None => format!("warning: {message}"),
        },
        Event::BudgetReached {
            spent_usd,
            budget_usd,
        } => format!("budget reached: ${spent_usd:.2} of ${budget_usd:.2} spent; no new workers"),
        Event::Stopping => "stopping: no new workers, SIGTERM to each".to_owned(),
        Event::RunEnded { .. } => return None,
    })
}

fn status(context: &Context, out: &mut Output) -> anyhow::Result<()> {
    let core = context.core()?;
    let status = records::status(core, 10)?;
    let alive = |pid: i64, start: Option<&str>| {
        u32::try_from(pid).is_ok_and(|pid| process::is_alive(pid, start))
    };
    if out.json() {
        let mut value = serde_json::to_value(&status)?;
        if let Some(runs) = value.get_mut("runs").and_then(Value::as_array_mut) {
            for (run, row) in runs.iter_mut().zip(&status.runs) {
                run["alive"] = json!(alive(row.pid, row.pid_start.as_deref()));
            }
        }
        return Ok(out.serialize(&value)?);
    }
    if status.runs.is_empty() {
        out.line("no supervisor runs")?;
    }
    for run in &status.runs {
        let state = if alive(run.pid, run.pid_start.as_deref()) {
            "running"
        } else {
            "dead (`orchestron workers recover` cleans up)"
        };
        out.line(&format!(
            "run {} pid {} onto `{}` since {}: {state}, spent ${:.2}",
            run.id, run.pid, run.into, run.started_at, run.cost_usd
        ))?;
    }
    if !status.running.is_empty() {
        out.line("")?;
        let rows: Vec<Vec<String>> = status
            .running
            .iter()
            .map(|a| {
                vec![
                    a.item.clone(),
                    if a.outcome.is_some() {
                        "merging"
                    } else {
                        "working"
                    }
                    .to_owned(),
                    a.attempt.to_string(),
                    a.pid.map_or("-".to_owned(), |pid| pid.to_string()),
                    a.session.clone(),
                    a.started_at.clone(),
                    a.turns.to_string(),
                    a.last_event_at.clone().unwrap_or_else(|| "-".to_owned()),
                    a.last_tool.clone().unwrap_or_else(|| "-".to_owned()),
                    format!("${:.2}", a.cost_usd),
                ]
            })
            .collect();
        out.table(
            &[
                "ITEM",
                "STATE",
                "ATTEMPT",
                "PID",
                "SESSION",
                "STARTED",
                "TURNS",
                "LAST EVENT",
                "LAST TOOL",
                "COST",
            ],
            &rows,
        )?;
    }
    out.line("")?;
    if status.queued.is_empty() {
        out.line("queued: nothing ready")?;
    } else {
        out.line(&format!("queued ({}):", status.queued.len()))?;
        for item in &status.queued {
            out.line(&format!("  {} [{}] {}", item.id, item.priority, item.title))?;
        }
    }
    if !status.recent_failures.is_empty() {
        out.line("")?;
        out.line("recent failures:")?;
        for a in &status.recent_failures {
            out.line(&format!(
                "  {} attempt {} {}: {}",
                a.item,
                a.attempt,
                a.outcome.as_deref().unwrap_or("?"),
                a.reason.as_deref().unwrap_or("")
            ))?;
        }
    }
    out.line(&format!("spent by every run: ${:.2}", status.spent_usd))?;
    Ok(())
}

fn logs(
    context: &Context,
    out: &mut Output,
    id: &str,
    attempt: Option<i64>,
    follow: bool,
) -> anyhow::Result<()> {
    let core = context.core()?;
    let attempts = records::attempts(core, id)?;
    let chosen = match attempt {
        Some(number) => attempts
            .iter()
            .find(|a| a.attempt == number)
            .ok_or_else(|| {
                Error::not_found(format!("item {id} has no attempt {number}")).with_hint(format!(
                    "it has {}",
                    if attempts.is_empty() {
                        "none".to_owned()
                    } else {
                        attempts
                            .iter()
                            .map(|a| a.attempt.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ))
            })?,
        None => attempts.last().ok_or_else(|| {
            Error::not_found(format!("no worker has worked on {id}"))
                .with_hint("`orchestron workers status` shows what runs")
        })?,
    };
    let path = PathBuf::from(&chosen.log);
    if !out.json() {
        out.line(&format!(
            "{} attempt {} (branch `{}`, {}{})",
            chosen.item,
            chosen.attempt,
            chosen.branch,
            chosen.outcome.as_deref().unwrap_or("running"),
            chosen
                .reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ))?;
    }
    let file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            out.line("(no log yet)")?;
            if !out.json()
                && let Some(row) = records::attempts(context.core()?, id)?
                    .into_iter()
                    .find(|a| a.attempt == chosen.attempt)
                && row.ended_at.is_some()
            {
                out.line(&ending(&row))?;
            }
            return Ok(());
        }
        Err(err) => return Err(err).with_context(|| format!("cannot read `{}`", path.display())),
    };
    let mut reader = std::io::BufReader::new(file);
    let mut line = String::new();
    let mut ended = chosen.ended_at.is_some();
    loop {
        line.clear();
        let read = reader
            .read_line(&mut line)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        if read > 0 && line.ends_with('\n') {
            for event in stream::parse_line(&line) {
                render(out, &event)?;
            }
            continue;
        }
        if read > 0 {
            // A line still being written: read it again whole.
            let back = i64::try_from(read).unwrap_or(0);
            reader.seek_relative(-back)?;
        }
        if !follow || ended {
            break;
        }
        out.flush()?;
        std::thread::sleep(Duration::from_millis(200));
        ended = records::attempts(context.core()?, id)?
            .iter()
            .find(|a| a.attempt == chosen.attempt)
            .is_none_or(|a| a.ended_at.is_some());
    }
    // How the attempt ended, from its record (read again: `--follow` waited for it).
    let row = records::attempts(context.core()?, id)?
        .into_iter()
        .find(|a| a.attempt == chosen.attempt);
    if let Some(row) = row
        && !out.json()
    {
        out.line(&ending(&row))?;
    }
    Ok(())
}

/// The last line of `workers logs`: how the attempt ended, or that it has not.
fn ending(row: &records::AttemptRow) -> String {
    let why = row
        .reason
        .as_deref()
        .map(|reason| format!(": {}", orchestron_core::text::clip_line(reason, 500)))
        .unwrap_or_default();
    match (&row.ended_at, row.outcome.as_deref()) {
        (Some(at), Some(outcome)) => {
            format!("── attempt {} ended at {at}: {outcome}{why}", row.attempt)
        }
        (Some(at), None) => format!("── attempt {} ended at {at}{why}", row.attempt),
        (None, Some(outcome)) => format!(
            "── attempt {} {outcome}, not ended yet (in the merge train)",
            row.attempt
        ),
        (None, None) => format!("── attempt {} is still running", row.attempt),
    }
}

/// One stream event as a person reads it (or as JSON).
fn render(out: &mut Output, event: &StreamEvent) -> anyhow::Result<()> {
    if out.json() {
        return Ok(out.json_line(&serde_json::to_value(event)?)?);
    }
    let text = match event {
        StreamEvent::Init { model, .. } => {
            format!(
                "── session started ({})",
                model.as_deref().unwrap_or("model unknown")
            )
        }
        StreamEvent::Text { text } => text.clone(),
        StreamEvent::ToolUse { name, input } => {
            format!(
                "→ {name}: {}",
                orchestron_core::text::clip_line(input, LOG_INPUT_CHARS)
            )
        }
        StreamEvent::ToolResult { is_error, content } => format!(
            "  {} {}",
            if *is_error { "✗" } else { "←" },
            orchestron_core::text::clip_line(content, 200)
        ),
        StreamEvent::ApiRetry { error, attempt, .. } => format!(
            "! API error ({}), retry {}",
            error.as_deref().unwrap_or("unknown"),
            attempt.map_or("?".to_owned(), |a| a.to_string())
        ),
        StreamEvent::RateLimit { status, .. } => format!("! rate limit: {status}"),
        StreamEvent::Result(result) => format!(
            "══ result: {}{} · ${:.4} · {} turns{}",
            result.subtype,
            if result.is_error { " (error)" } else { "" },
            result.cost_usd.unwrap_or_default(),
            result.turns.unwrap_or_default(),
            result
                .result
                .as_deref()
                .map(|text| format!("\n{}", orchestron_core::text::clip(text, 2000)))
                .unwrap_or_default()
        ),
        StreamEvent::Other { .. } => return Ok(()),
        StreamEvent::Unparsed { line } => format!("? {line}"),
    };
    Ok(out.line(&text)?)
}

fn stop(context: &Context, out: &mut Output) -> anyhow::Result<()> {
    let core = context.core()?;
    let Some(run) = records::live_run(core)? else {
        return Err(Error::not_found("no supervisor runs here")
            .with_hint("`orchestron workers status` shows the runs")
            .into());
    };
    let pid = u32::try_from(run.pid).context("a recorded pid")?;
    process::signal_process(pid, process::Signal::Term)?;
    if out.json() {
        out.serialize(&json!({"run": run.id, "pid": run.pid, "signal": "SIGTERM"}))?;
    } else {
        out.line(&format!(
            "stopping run {} (pid {}): its workers' work is committed to their branches and their items go back to TODO",
            run.id, run.pid
        ))?;
    }
    Ok(())
}

fn recover_orphans(context: &Context, out: &mut Output) -> anyhow::Result<()> {
    let git = Git::open(context.project_root())?;
    let core = context.core_for_long_run("recover")?;
    // It commits and removes worktrees: never in a linked folder.
    orchestron_core::store::refuse_linked_state(core.state_root(), supervisor::WORKER_FOLDERS)?;
    let recovered = recover::recover(&core, &git)?;
    if out.json() {
        return Ok(out.serialize(&recovered)?);
    }
    if recovered.is_empty() {
        out.line("nothing to recover")?;
    }
    for one in &recovered {
        if one.item.is_empty() {
            out.line(&one.what)?;
        } else {
            out.line(&format!("{}: {}", one.item, one.what))?;
        }
    }
    Ok(())
}
