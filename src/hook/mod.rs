//! `orchestron hook EVENT`: what Orchestron does when Claude Code runs it from a hook.
//!
//! Every reaction is one store transaction on the session named by the payload's
//! `session_id`, so parallel hooks never lose an update. A hook must never block Claude Code
//! by accident: this module returns a reply only for a deliberate decision (a paused
//! session's tool call is denied), and every failure is an error that the caller reports
//! with exit 1, which Claude Code treats as non-blocking.

pub(crate) mod coordinate;
pub(crate) mod event;
pub(crate) mod guard;
pub(crate) mod limits;
pub(crate) mod track;
pub(crate) mod wire;

use std::io::Write as _;

use anyhow::Context as _;
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::context::Context;
use crate::style;
use orchestron_core::config::{MAX_CONTEXT_CHARS, OnExclusive};
use orchestron_core::coordination::Verdict;
use orchestron_core::ids::SessionId;
use orchestron_core::inbox;
use orchestron_core::session::{self, Lifecycle, Mode, NewSession, Status};
use orchestron_core::store::Outcome;

pub(crate) use event::Event;
use limits::{MAX_NAME_CHARS, clip};
use track::ToolCall;
use wire::{Input, Payload};

/// React to `event` with the payload `input`; returns the JSON reply to print, if any.
pub(crate) fn run(context: &Context, event: Event, input: &Input) -> anyhow::Result<Option<Value>> {
    if event == Event::Other {
        return Ok(None);
    }
    let payload = Payload::parse(input)?;
    let id = SessionId::parse(&payload.session_id).context("the payload's `session_id`")?;
    match event {
        Event::SessionStart => session_start(context, &id, &payload),
        Event::UserPromptSubmit => {
            let mut messages = Vec::new();
            let mut attention = Vec::new();
            // Only a project with a tracker has news for the person here: paused sessions
            // are told of at SessionStart, which reads every session document.
            let tracker = context.state_root().join("orchestron.db").exists();
            keep_alive(context, &id, false, payload.cut, |document, now| {
                session::clear_waiting(document);
                messages = inbox::take_unread(document, now, MAX_CONTEXT_CHARS);
                if tracker {
                    attention = attention_lines(context, document, false);
                }
            })?;
            Ok(deliver_with(event, &messages, &attention))
        }
        Event::PreToolUse => pre_tool_use(context, &id, &payload),
        Event::PostToolUse | Event::PostToolUseFailure => {
            let tests = context.config()?.test_commands();
            let call = ToolCall {
                name: payload.tool_name.as_deref().unwrap_or("unknown"),
                input: &payload.tool_input,
                todos: payload.todos.as_ref(),
                failed: event == Event::PostToolUseFailure,
                error: payload.error.as_deref(),
                response: &payload.tool_response,
            };
            // Unread messages go out with the tool's result, taken in the same transaction:
            // a headless session, which has no next prompt, gets them at its next tool call.
            let mut messages = Vec::new();
            let mut streak = None;
            keep_alive(context, &id, false, payload.cut, |document, now| {
                let runs = document
                    .pointer("/execution/tests/runs")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                track::record_tool(document, now, &call, &tests);
                streak = track::failing_streak(document, runs);
                session::clear_waiting(document);
                messages = inbox::take_unread(document, now, MAX_CONTEXT_CHARS);
            })?;
            // The messages are taken: what follows may fail (warned on stderr), never cost
            // them their delivery. A test run that failed again may reach a tests-failing
            // review point; an edit leaves a touch.
            if let Some(streak) = streak.filter(|streak| *streak > 0) {
                let fired = context.core().and_then(|cx| {
                    orchestron_core::reviews::tests_failing(cx, &id, streak).map_err(Into::into)
                });
                match fired {
                    Ok(fired) => fired
                        .iter()
                        .for_each(|fired| crate::output::note(&fired.note)),
                    Err(err) => {
                        crate::output::warn(&format!(
                            "the review points were not checked: {err:#}"
                        ));
                    }
                }
            }
            if !call.failed
                && let Some(key) = edited_key(context, &payload)
            {
                let who = context.lease_holder();
                let item = who.worker.clone();
                let touched = context.core().and_then(|cx| {
                    orchestron_core::coordination::touch(cx, &id, &who, &key, item.as_deref())
                        .map_err(Into::into)
                });
                if let Err(err) = touched {
                    crate::output::warn(&format!("the edit's touch was not recorded: {err:#}"));
                }
            }
            Ok(deliver(event, &messages))
        }
        Event::Notification => {
            keep_alive(context, &id, false, payload.cut, |document, now| {
                track::record_notification(
                    document,
                    now,
                    payload.notification_type.as_deref(),
                    payload.message.as_deref(),
                );
            })?;
            Ok(None)
        }
        Event::SubagentStart => {
            if let Some(agent_id) = payload.agent_id.as_deref() {
                keep_alive(context, &id, false, payload.cut, |document, now| {
                    track::record_agent(
                        document,
                        now,
                        agent_id,
                        payload.agent_type.as_deref(),
                        false,
                        None,
                    );
                })?;
            }
            Ok(None)
        }
        Event::TaskCreated | Event::TaskCompleted => {
            if let Some(task_id) = payload.task_id.as_deref() {
                keep_alive(context, &id, false, payload.cut, |document, now| {
                    track::mirror_task_event(
                        document,
                        now,
                        task_id,
                        payload.task_subject.as_deref(),
                        event == Event::TaskCompleted,
                    );
                })?;
            }
            Ok(None)
        }
        Event::SessionEnd => {
            let reason = payload.reason.as_deref().unwrap_or("other");
            session_end(context, &id, &clip(reason, MAX_NAME_CHARS))?;
            Ok(None)
        }
        Event::PreCompact => {
            let trigger = payload.trigger.as_deref().unwrap_or("compact");
            keep_alive(context, &id, false, payload.cut, |document, now| {
                track::snapshot(document, now, trigger);
            })?;
            Ok(None)
        }
        Event::Stop | Event::SubagentStop => stop(context, &id, event, &payload),
        Event::Other => Ok(None),
    }
}

/// The reply that hands unread inbox `messages` to the model with `event`'s
/// `additionalContext` (UserPromptSubmit, PostToolUse, PostToolUseFailure), or none.
fn deliver(event: Event, messages: &[inbox::Unread]) -> Option<Value> {
    deliver_with(event, messages, &[])
}

/// [`deliver`], with `more` lines after the messages (the attention queue's news).
fn deliver_with(event: Event, messages: &[inbox::Unread], more: &[String]) -> Option<Value> {
    if messages.is_empty() && more.is_empty() {
        return None;
    }
    let mut lines = inbox::describe(messages);
    lines.extend(more.iter().cloned());
    Some(json!({
        "hookSpecificOutput": {
            "hookEventName": event.name(),
            "additionalContext": cap(&lines, MAX_CONTEXT_CHARS),
        }
    }))
}

/// How many of the attention queue's new entries a hook names.
const ATTENTION_FIRST: usize = 3;

/// What an interactive session is told of the attention queue (`orchestron_core::attention`),
/// once, when it is new: how many entries need a person, with the first few that entered
/// the queue since the tracker event kept at `attention.mark` in the session's document (all
/// of them for a session never told), and the mark moved on. A worker's session (its
/// document has a `worker`) is told nothing. With `sessions` (SessionStart) and no mark yet
/// (a new session), paused sessions are counted and listed too, which reads every session
/// document; otherwise (a prompt, a resumed or compacted session) the tracker is opened only
/// when its files changed since the fingerprint kept at `attention.tracker` (then one
/// indexed query when no event is newer than the mark). A failure costs the lines, never
/// the hook.
fn attention_lines(context: &Context, document: &mut Value, sessions: bool) -> Vec<String> {
    if document
        .get("worker")
        .is_some_and(|worker| !worker.is_null())
    {
        return Vec::new();
    }
    let mark = document.pointer("/attention/mark").and_then(Value::as_i64);
    let seen = document
        .pointer("/attention/tracker")
        .and_then(Value::as_str);
    // Paused sessions are listed only to a session never told (they are not events with a
    // mark), so only its SessionStart reads the other session documents.
    let sessions = sessions && mark.is_none();
    let update = context.core().and_then(|cx| {
        // Taken before the tracker is read, so a write in between is seen next time.
        let fingerprint = orchestron_core::attention::tracker_fingerprint(cx);
        // A prompt with the tracker as it was last time has nothing new to tell: two
        // `stat` calls, and the tracker is not opened.
        if !sessions
            && mark.is_some()
            && fingerprint
                .as_ref()
                .is_some_and(|now| now.settled && Some(now.text.as_str()) == seen)
        {
            return Ok((None, fingerprint.map(|now| now.text)));
        }
        let update = orchestron_core::attention::update(cx, mark, sessions)?;
        Ok((update, fingerprint.map(|now| now.text)))
    });
    let (update, fingerprint) = match update {
        Ok(found) => found,
        Err(err) => {
            crate::output::warn(&format!("the attention queue is left out: {err:#}"));
            return Vec::new();
        }
    };
    let new_mark = update.as_ref().map_or(mark, |update| Some(update.mark));
    if (new_mark != mark || fingerprint.as_deref() != seen)
        && let Some(new_mark) = new_mark
        && let Some(root) = document.as_object_mut()
    {
        root.insert(
            "attention".to_owned(),
            json!({"mark": new_mark, "tracker": fingerprint}),
        );
    }
    update.map_or_else(Vec::new, |update| {
        orchestron_core::attention::describe(&update, ATTENTION_FIRST)
    })
}

/// Create the session on first sight, else record activity: heartbeat an active or paused
/// session, bring back an expired one (the agent is plainly at work in it), and only touch an
/// ended one, unless `revive` (Claude Code resumed it). Then let `record` change the
/// document, note a payload that was `cut` at its size limit, and bring every part the hooks
/// grow back within its cap (a document written before the caps shrinks at its next hook),
/// all in one transaction. Returns whether the session was created.
fn keep_alive(
    context: &Context,
    id: &SessionId,
    revive: bool,
    cut: bool,
    record: impl FnOnce(&mut Value, Timestamp),
) -> anyhow::Result<bool> {
    let now = context.now;
    let config = context.config()?;
    let store = context.store()?;
    store.transact(id, |current| {
        let (mut document, created) = match current {
            Some(mut document) => {
                let lifecycle = Lifecycle::of(&document)?;
                let lifetime = config.expiry(lifecycle.mode);
                match lifecycle.status(now) {
                    Status::Active | Status::Paused => {
                        session::heartbeat(&mut document, now, lifetime)?;
                    }
                    Status::Expired => {
                        session::recover(&mut document, now, lifetime)?;
                    }
                    Status::Completed | Status::Failed if revive => {
                        session::recover(&mut document, now, lifetime)?;
                    }
                    Status::Completed | Status::Failed => session::touch(&mut document, now),
                }
                (document, false)
            }
            None => {
                let mode = hook_mode(context)?;
                let new = NewSession {
                    id: id.to_string(),
                    mode,
                    project: context.default_project(),
                    parent_session: None,
                    metadata: serde_json::Map::new(),
                    created_by: "orchestron hook".to_owned(),
                };
                let mut document = session::new_document(&new, now, config.expiry(mode));
                // Which worktree and branch it runs in; its state is the repository's.
                let worktree = context.project_root().to_string_lossy();
                let branch = context.branch();
                session::record_checkout(
                    &mut document,
                    Some(&limits::clip(&worktree, limits::MAX_PATH_CHARS)),
                    branch
                        .as_deref()
                        .map(|branch| limits::clip(branch, limits::MAX_NAME_CHARS))
                        .as_deref(),
                );
                (document, true)
            }
        };
        record(&mut document, now);
        if cut {
            track::note_cut_payload(&mut document, now);
        }
        track::prune(&mut document);
        Ok((Outcome::Replace(document), created))
    })
}

/// The mode of a session the hooks create: `$ORCHESTRON_MODE`, else the project's default.
fn hook_mode(context: &Context) -> anyhow::Result<Mode> {
    match context.mode_override() {
        Some(raw) => raw
            .parse()
            .with_context(|| format!("invalid `{}`", crate::context::var::MODE)),
        None => Ok(context.config()?.default_mode()),
    }
}

fn session_start(
    context: &Context,
    id: &SessionId,
    payload: &Payload,
) -> anyhow::Result<Option<Value>> {
    let mut summary = None;
    let mut exported = Ok(());
    let limit = context.config()?.context_chars();
    let task = current_task(context, id, true);
    let mut mode = None;
    let mut applied = None;
    // The style Claude Code applies is fixed when the session starts; a compaction keeps it.
    let starting = payload.source.as_deref() != Some("compact");
    let active = style::active_setting(context.project_root(), context.user_home());
    keep_alive(context, id, true, payload.cut, |document, now| {
        mode = Lifecycle::of(document).ok().map(|lifecycle| lifecycle.mode);
        if starting {
            let active = active.as_deref().map(|name| clip(name, MAX_NAME_CHARS));
            session::record_output_style(document, active.as_deref());
        }
        applied = session::output_style(document);
        if let Some(worker) = context.worker() {
            mark_worker(document, worker);
        }
        if let (Some(agent), Some(fields)) = (
            context.agent(),
            document.get_mut("session").and_then(Value::as_object_mut),
        ) {
            fields.insert("agent".to_owned(), json!(clip(&agent, MAX_NAME_CHARS)));
        }
        // The mode line comes first; the messages get the rest of the budget.
        let messages = inbox::take_unread(document, now, limit.saturating_sub(120));
        let attention = attention_lines(context, document, true);
        summary = Some(start_lines(
            context,
            document,
            payload.source.as_deref(),
            &messages,
            attention,
            task,
        ));
        // Under the session's lock, so that two SessionStarts at once export it once.
        if let Some(env_file) = context.claude_env_file() {
            exported = export_session(env_file, id);
        }
    })?;
    // The context matters more than the export: a failed export is reported, not fatal.
    if let Err(err) = exported {
        crate::output::warn(&format!("{err:#}"));
    }
    let mut text = cap(&summary.unwrap_or_default(), limit);
    if let Some(mode) = mode {
        with_style(context, mode, applied.as_deref(), &mut text);
    }
    Ok(Some(json!({
        "hookSpecificOutput": {
            "hookEventName": Event::SessionStart.name(),
            "additionalContext": text,
        }
    })))
}

/// Mark a session as a worker's (`worker: {item, run, attempt}`), so `task complete`, the
/// views and the supervisor can tell. Only reached under `hook EVENT --worker`: a hook
/// without the flag does nothing under `ORCHESTRON_WORKER`.
fn mark_worker(document: &mut Value, worker: &crate::context::WorkerMark) {
    if let Some(fields) = document.as_object_mut() {
        let item = clip(&worker.item, MAX_NAME_CHARS);
        let run = worker.run.as_deref().map(|run| clip(run, MAX_NAME_CHARS));
        fields.insert(
            "worker".to_owned(),
            json!({"item": item, "run": run, "attempt": worker.attempt}),
        );
    }
}

/// Everything SessionStart injects, most important first: the session and its mode, the
/// inbox `messages` (a person wrote them for this session), the `attention` queue's news
/// (what waits for the person), its current item, the project's
/// handoffs (open items recent sessions took, then the latest general handoff; at most
/// `handoff::BRIEF_SHARE_PERCENT` of the budget), the plan when it has no item (at most
/// `briefing::PLAN_SHARE_PERCENT`), then what this session itself left open.
fn start_lines(
    context: &Context,
    document: &Value,
    source: Option<&str>,
    messages: &[inbox::Unread],
    attention: Vec<String>,
    task: Vec<String>,
) -> Vec<String> {
    let mut lines = start_context(document, source);
    let mut early = inbox::describe(messages);
    early.extend(attention);
    early.extend(offered(context, document));
    early.extend(conflict_warning(context));
    let idle = task.is_empty();
    early.extend(task);
    early.extend(handoff_brief(context, document));
    // The plan takes its share, or what the lines before it left, whichever is less, so
    // that the cap never cuts off its last line (the command that takes the next item).
    let used: usize = lines
        .iter()
        .chain(&early)
        .map(|line| line.chars().count() + 1)
        .sum();
    early.extend(plan(context, document, idle, used));
    lines.splice(1..1, early);
    lines
}

/// The handoffs waiting for this session or its agent, with their context (see
/// `orchestron_core::tracker::offers`). A tracker that cannot be read costs these lines.
fn offered(context: &Context, document: &Value) -> Vec<String> {
    let session = document.pointer("/session/id").and_then(Value::as_str);
    let agent = context.agent();
    let Ok(cx) = context.core() else {
        return Vec::new();
    };
    orchestron_core::tracker::offers::waiting_for(cx, session, agent.as_deref())
        .unwrap_or_default()
        .iter()
        .map(orchestron_core::tracker::offers::Offer::describe)
        .collect()
}

/// What the latest kept conflict forecast says of this checkout's branch, if it is still
/// current (see `orchestron_core::conflicts::warning_for`). Reads git's files, never runs git.
fn conflict_warning(context: &Context) -> Vec<String> {
    let Some(branch) = context.branch() else {
        return Vec::new();
    };
    let (Some(common), Ok(cx)) = (context.location().common_dir(), context.core()) else {
        return Vec::new();
    };
    orchestron_core::conflicts::warning_for(cx, &branch, |name| {
        orchestron_core::repo::branch_tip(common, name)
    })
    .into_iter()
    .collect()
}

/// The lines about the tracker item the session works on, marking what it is shown as seen
/// when `deliver`. Opens the tracker only when one exists; a failure there costs the lines,
/// never the context.
fn current_task(context: &Context, id: &SessionId, deliver: bool) -> Vec<String> {
    if !context.state_root().join("orchestron.db").exists() {
        return Vec::new();
    }
    let lines = context.core().and_then(|cx| {
        Ok(orchestron_core::tracker::tasks::current_task(
            cx,
            id.as_str(),
            deliver,
        )?)
    });
    lines.unwrap_or_else(|err| {
        crate::output::warn(&format!("the current task is left out: {err:#}"));
        Vec::new()
    })
}

/// The plan (`orchestron_core::briefing`) for a session that has no current item (`idle`),
/// within its share of the context. Opens the tracker read-only, only when one exists; a
/// failure there costs the lines, never the context.
fn plan(context: &Context, document: &Value, idle: bool, used: usize) -> Vec<String> {
    let Some(id) = document.pointer("/session/id").and_then(Value::as_str) else {
        return Vec::new();
    };
    if !idle || !context.state_root().join("orchestron.db").exists() {
        return Vec::new();
    }
    let lines = context.core().and_then(|cx| {
        let chars = cx.config().context_chars();
        let budget = orchestron_core::briefing::share(chars).min(chars.saturating_sub(used));
        let Some(plan) = orchestron_core::briefing::plan(cx, Some(id))? else {
            return Ok(Vec::new());
        };
        Ok(orchestron_core::briefing::describe(&plan, budget))
    });
    lines.unwrap_or_else(|err| {
        crate::output::warn(&format!("the plan is left out: {err:#}"));
        Vec::new()
    })
}

/// The id a preview shows for a new session whose id is not known yet.
pub(crate) const NEW_SESSION: &str = "(new)";

/// Whose context [`preview_context`] shows.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Preview<'a> {
    /// A session that exists.
    Session(&'a SessionId),
    /// A session that has not started yet, in `mode`: `id` when it is known (a session
    /// named by the environment before its first hook), else [`NEW_SESSION`].
    New {
        id: Option<&'a SessionId>,
        mode: Mode,
    },
}

/// What SessionStart would inject now, without delivering any inbox: for a session, or for
/// a new one (composed from a fresh document built in memory, never stored). For
/// `orchestron context`, people and slash commands.
pub(crate) fn preview_context(context: &Context, who: Preview<'_>) -> anyhow::Result<String> {
    let (document, task, source) = match who {
        Preview::Session(id) => (
            context.store()?.read(id)?,
            current_task(context, id, false),
            None,
        ),
        Preview::New { id, mode } => {
            let new = NewSession {
                id: id.map_or(NEW_SESSION, SessionId::as_str).to_owned(),
                mode,
                project: context.default_project(),
                parent_session: None,
                metadata: serde_json::Map::new(),
                created_by: "orchestron hook".to_owned(),
            };
            let document = session::new_document(&new, context.now, context.config()?.expiry(mode));
            let task = id.map_or_else(Vec::new, |id| current_task(context, id, false));
            (document, task, Some("startup"))
        }
    };
    // The attention lines as SessionStart would say them; the mark moves in a copy only.
    let attention = attention_lines(context, &mut document.clone(), true);
    let lines = start_lines(
        context,
        &document,
        source,
        &inbox::unread(&document),
        attention,
        task,
    );
    let mut text = cap(&lines, context.config()?.context_chars());
    // What Claude Code applied when the session started; for a session no hook has
    // started, what it would apply now.
    let applied = match document.pointer("/session/output_style") {
        Some(_) => session::output_style(&document),
        None => style::active_setting(context.project_root(), context.user_home()),
    };
    with_style(
        context,
        Lifecycle::of(&document)?.mode,
        applied.as_deref(),
        &mut text,
    );
    Ok(text)
}

/// Append the instructions of the output style `mode` maps to, unless `applied`, the style
/// Claude Code fixed when the session started, is that style. The style comes after the
/// capped context and takes what is left of Claude Code's 10,000 characters.
fn with_style(context: &Context, mode: Mode, applied: Option<&str>, text: &mut String) {
    let Ok(config) = context.config() else { return };
    let Some(name) = config.style(mode) else {
        return;
    };
    let project = context.project_root();
    if applied.is_some_and(|active| style::applies(active, name)) {
        return;
    }
    let Some(body) = style::instructions(project, name) else {
        crate::output::warn(&format!(
            "mode {} maps to the output style `{name}`, which is neither shipped nor in \
             .claude/output-styles/",
            mode.as_str()
        ));
        return;
    };
    let block = format!(
        "Output style for {} mode: {name}. Follow it in this session:\n{body}",
        mode.as_str()
    );
    let room = MAX_CONTEXT_CHARS.saturating_sub(text.chars().count() + 2);
    if !text.is_empty() {
        text.push_str("\n\n");
    }
    text.push_str(&cap(&[block], room));
}

/// One status line for Claude Code's `statusLine` command: mode, whether the session waits
/// for a person, its age (how long it ran, once ended), to-dos done/total and the last test
/// result. `input` is the status-line JSON.
pub(crate) fn status_line(context: &Context, input: &Input) -> anyhow::Result<String> {
    let payload = Payload::parse(input)?;
    let id = SessionId::parse(&payload.session_id).context("the status line's `session_id`")?;
    let Some(document) = context.store()?.try_read(&id)? else {
        return Ok("orchestron: no session yet".to_owned());
    };
    let mut parts = Vec::new();
    let lifecycle = Lifecycle::of(&document)?;
    let status = lifecycle.status(context.now);
    parts.push(match status {
        Status::Active => lifecycle.mode.as_str().to_owned(),
        other => format!("{} ({})", lifecycle.mode.as_str(), other.as_str()),
    });
    if let Some(waiting) = session::waiting(&document) {
        let seconds = waiting["since"]
            .as_str()
            .and_then(|raw| session::parse_time(raw).ok())
            .map(|since| context.now.duration_since(since).as_secs());
        parts.push(describe_waiting(waiting["reason"].as_str(), seconds));
    }
    // An ended session shows how long it ran, fixed; a live one its age.
    match session::run_time(&document, context.now) {
        Some(session::RunTime::Ran(seconds)) => parts.push(format!("ran {}", age(seconds))),
        Some(session::RunTime::Up(seconds)) => parts.push(format!("up {}", age(seconds))),
        None => {}
    }
    let todos = document.pointer("/execution/todos");
    if let Some(total) = todos
        .and_then(|todos| todos.get("total"))
        .and_then(Value::as_u64)
    {
        let done = todos
            .and_then(|todos| todos.get("done"))
            .and_then(Value::as_u64)
            .unwrap_or(0);
        parts.push(format!("to-dos {done}/{total}"));
    }
    if let Some(verdict) = document
        .pointer("/execution/tests/last")
        .and_then(session::test_verdict)
    {
        parts.push(format!("tests {verdict}"));
    }
    Ok(format!("orchestron: {}", parts.join(" | ")))
}

/// A session that waits for a person, for people: `WAITING for permission 3m`.
pub(crate) fn describe_waiting(reason: Option<&str>, seconds: Option<i64>) -> String {
    let reason = match reason {
        Some("idle") => "input (idle)",
        Some(reason) => reason,
        None => "a person",
    };
    match seconds {
        Some(seconds) => format!("WAITING for {reason} {}", age(seconds)),
        None => format!("WAITING for {reason}"),
    }
}

/// A session's age for people: `45s`, `12m`, `3h05m`, `2d04h`.
pub(crate) fn age(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let (days, hours, minutes) = (seconds / 86_400, seconds / 3_600 % 24, seconds / 60 % 60);
    if days > 0 {
        format!("{days}d{hours:02}h")
    } else if hours > 0 {
        format!("{hours}h{minutes:02}m")
    } else if minutes > 0 {
        format!("{minutes}m")
    } else {
        format!("{seconds}s")
    }
}

/// The context SessionStart injects: the session and its mode first, then what is open.
fn start_context(document: &Value, source: Option<&str>) -> Vec<String> {
    let mut lines = Vec::new();
    let id = document
        .pointer("/session/id")
        .and_then(Value::as_str)
        .unwrap_or("?");
    let mode = document
        .pointer("/session/mode")
        .and_then(Value::as_str)
        .unwrap_or("development");
    let agent = document
        .pointer("/session/agent")
        .and_then(Value::as_str)
        .map(|agent| format!(", working as agent {agent}"))
        .unwrap_or_default();
    lines.push(format!(
        "Orchestron session {id}, mode {mode}{}{agent}.",
        source
            .map(|source| format!(" ({source})"))
            .unwrap_or_default()
    ));
    let todos = document.pointer("/execution/todos");
    if let Some(items) = todos
        .and_then(|todos| todos.get("items"))
        .and_then(Value::as_array)
    {
        let open: Vec<&str> = items
            .iter()
            .filter(|item| item.get("status").and_then(Value::as_str) != Some("completed"))
            .filter_map(|item| item.get("content").and_then(Value::as_str))
            .collect();
        let omitted = todos
            .and_then(|todos| todos.get("items_omitted"))
            .and_then(Value::as_u64)
            .filter(|omitted| *omitted > 0)
            .map(|omitted| format!(" ({omitted} more to-dos were not kept)"))
            .unwrap_or_default();
        if !open.is_empty() {
            lines.push(format!("Open to-dos: {}.{omitted}", open.join("; ")));
        }
    }
    if let Some(snapshot) = document
        .pointer("/execution/snapshot")
        .filter(|_| source == Some("compact"))
    {
        lines.extend(track::describe_snapshot(snapshot));
    }
    if let Some(run) = document
        .pointer("/execution/tests/last")
        .and_then(session::describe_test_run)
    {
        lines.push(format!("Last {run}."));
    }
    lines
}

/// Join lines until `limit` characters; the first lines matter most. The line that does
/// not fit is shortened to what is left (ending in `…`) rather than dropped.
fn cap(lines: &[String], limit: usize) -> String {
    let mut text = String::new();
    let mut used = 0;
    for line in lines {
        let separator = usize::from(!text.is_empty());
        let length = line.chars().count();
        if used + separator + length <= limit {
            if separator == 1 {
                text.push('\n');
            }
            text.push_str(line);
            used += separator + length;
            continue;
        }
        let room = limit.saturating_sub(used + separator + 1);
        if room >= 20 {
            if separator == 1 {
                text.push('\n');
            }
            text.extend(line.chars().take(room));
            text.push('…');
        }
        break;
    }
    text
}

/// Append `export ORCHESTRON_SESSION=<id>` to Claude Code's env file, unless it already
/// ends with it.
fn export_session(env_file: &std::path::Path, id: &SessionId) -> anyhow::Result<()> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let line = format!("export {}={}\n", crate::context::var::SESSION, id.as_str());
    let appended = (|| -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(env_file)?;
        // Only the tail is read, never the whole file: enough to see whether it already ends
        // with this export (a second SessionStart of the session) and whether its last line
        // is ended.
        let len = file.metadata()?.len();
        let wanted = line.len() as u64 + 1;
        let mut tail = Vec::new();
        file.seek(SeekFrom::Start(len.saturating_sub(wanted)))?;
        (&mut file).take(wanted).read_to_end(&mut tail)?;
        let whole = tail.len() as u64 == len;
        let last_line = tail.strip_suffix(line.as_bytes());
        if last_line.is_some_and(|before| before.ends_with(b"\n") || (whole && before.is_empty())) {
            return Ok(());
        }
        // A last line without its newline would swallow the export (`FOO=barexport …`).
        let mut text = Vec::with_capacity(line.len() + 1);
        if tail.last().is_some_and(|last| *last != b'\n') {
            text.push(b'\n');
        }
        text.extend_from_slice(line.as_bytes());
        file.write_all(&text)
    })();
    appended.with_context(|| format!("cannot append to `{}`", env_file.display()))
}

/// Apply the guard rules, then deny the tool call of a paused session; otherwise say
/// nothing. Reads the session without a lock, and only when no rule decided.
fn pre_tool_use(
    context: &Context,
    id: &SessionId,
    payload: &Payload,
) -> anyhow::Result<Option<Value>> {
    let tool = payload.tool_name.as_deref().unwrap_or("");
    let config = context.config();
    let guards_off = config.as_ref().is_ok_and(|config| {
        config.hooks.guards.is_empty() && config.hooks.disabled_guards.iter().any(|off| off == "*")
    });
    // A tool input past the payload limit could hide what a rule refuses: a person decides.
    let unchecked = payload.cut && !payload.tool_input_read && !guards_off;
    let guarded = match &config {
        _ if unchecked => Some((
            guard::Decision::Ask,
            format!(
                "Orchestron: this tool call is larger than the {} MiB a hook reads, so the guard \
                 rules could not check it",
                limits::MAX_PAYLOAD_BYTES / (1024 * 1024)
            ),
        )),
        Ok(config) => guard::check(
            tool,
            &payload.tool_input,
            &config.hooks.guards,
            &config.hooks.disabled_guards,
        ),
        // A broken configuration must not switch the shipped guards off.
        Err(_) => guard::check(tool, &payload.tool_input, &[], &[]),
    };
    if let Some((guard::Decision::Deny, reason)) = &guarded {
        return Ok(Some(pre_tool_use_reply("deny", reason)));
    }
    let config = config?;
    let head = document_head(context, id)?;
    // A paused session's denial outranks a rule's `ask`; one held for approval keeps its
    // reads.
    if let Some(reason) = head
        .as_ref()
        .and_then(|head| paused(context, id, head, tool))
    {
        return Ok(Some(pre_tool_use_reply("deny", &reason)));
    }
    let Some(key) = edited_key(context, payload) else {
        return Ok(guarded.map(|(decision, reason)| pre_tool_use_reply(decision.as_str(), &reason)));
    };
    let approved = head
        .as_ref()
        .map_or(&[][..], |head| &head.coordination.approved);
    if let Some(reply) = sensitive(context, id, &key, approved)? {
        return Ok(Some(reply));
    }
    let verdict = orchestron_core::coordination::at_tool_time(context.core()?, id, &key)?;
    match verdict {
        Some(Verdict::Exclusive(row)) => {
            let answer = match config.coordination.on_exclusive {
                Some(answer) => answer,
                None if context.worker().is_some() => OnExclusive::Deny,
                None => OnExclusive::Ask,
            };
            Ok(Some(pre_tool_use_reply(
                answer.as_str(),
                &coordinate::exclusive_reason(&key, &row),
            )))
        }
        _ if guarded.is_some() => {
            Ok(guarded.map(|(decision, reason)| pre_tool_use_reply(decision.as_str(), &reason)))
        }
        Some(Verdict::Touched(rows)) => {
            let warned = head
                .as_ref()
                .map_or(&[][..], |head| &head.coordination.warned);
            let fresh: Vec<_> = rows
                .iter()
                .filter(|row| !warned.contains(&coordinate::warned_mark(&key, &row.session)))
                .collect();
            if fresh.is_empty() {
                return Ok(None);
            }
            if head.is_some() {
                let marks: Vec<String> = fresh
                    .iter()
                    .map(|row| coordinate::warned_mark(&key, &row.session))
                    .collect();
                context.store()?.update(id, |document| {
                    coordinate::remember_warned(document, &marks);
                    Ok((true, ()))
                })?;
            }
            Ok(Some(json!({
                "hookSpecificOutput": {
                    "hookEventName": Event::PreToolUse.name(),
                    "additionalContext": coordinate::touched_context(&key, &fresh),
                }
            })))
        }
        None => Ok(None),
    }
}

/// The key (a path relative to the repository's top level) of the file an editing tool call
/// names, when it is one of this repository's files.
fn edited_key(context: &Context, payload: &Payload) -> Option<String> {
    let tool = payload.tool_name.as_deref()?;
    if !track::EDITING_TOOLS.contains(&tool) {
        return None;
    }
    let path = ["file_path", "notebook_path"]
        .iter()
        .find_map(|key| payload.tool_input.get(*key).and_then(Value::as_str))?;
    orchestron_core::coordination::key_of(
        std::path::Path::new(path),
        context.working_dir(),
        &context.location().home,
    )
    .filter(|key| !key.is_empty())
}

/// The session document's parts PreToolUse reads, when the document exists and parses.
fn document_head(context: &Context, id: &SessionId) -> anyhow::Result<Option<DocumentHead>> {
    // Only what PreToolUse needs is read: serde skips the rest without building it.
    let text = match context.store()?.read_text(id) {
        Ok(text) => text,
        Err(err)
            if orchestron_core::Error::kind_of(&err) == orchestron_core::ErrorKind::NotFound =>
        {
            return Ok(None);
        }
        Err(err) => return Err(err),
    };
    Ok(serde_json::from_str::<DocumentHead>(&text).ok())
}

/// The tools a session held for approval may not use: those that write.
const WRITING_TOOLS: [&str; 5] = ["Edit", "Write", "MultiEdit", "NotebookEdit", "Bash"];

/// The tools of Orchestron's own MCP server that may change the plan or the session (`state`
/// and `task_next` too, which write with some arguments): refused, like [`WRITING_TOOLS`], to
/// a session held for approval. `ask_human` stays allowed: asking a person is what a held
/// session should do.
const MCP_WRITING_TOOLS: [&str; 7] = [
    "task_next",
    "task_create",
    "task_update",
    "decide",
    "memory_add",
    "state",
    "handoff",
];

/// Whether `tool` writes: one of [`WRITING_TOOLS`], or a writing tool of Orchestron's MCP
/// server, as `init --mcp` (`mcp__orchestron__…`) or the plugin
/// (`mcp__plugin_orchestron_orchestron__…`) names it.
fn writes(tool: &str) -> bool {
    if WRITING_TOOLS.contains(&tool) {
        return true;
    }
    ["mcp__orchestron__", "mcp__plugin_orchestron_orchestron__"]
        .iter()
        .filter_map(|prefix| tool.strip_prefix(prefix))
        .any(|name| MCP_WRITING_TOOLS.contains(&name))
}

/// What a review point on a sensitive path answers an edit of `key`: `ask` (the reason names
/// the point), or a hold for approval (`deny`); a notice lets the edit go on. `None` when no
/// point covers it.
fn sensitive(
    context: &Context,
    id: &SessionId,
    key: &str,
    approved: &[String],
) -> anyhow::Result<Option<Value>> {
    use orchestron_core::review_points::Action;
    let cx = context.core()?;
    let Some(points) = orchestron_core::review_points::load(cx)? else {
        return Ok(None);
    };
    let Some(trigger) = points.sensitive(key).into_iter().next() else {
        return Ok(None);
    };
    let paths = match trigger {
        orchestron_core::review_points::Trigger::SensitivePath { paths, .. } => paths.join(", "),
        _ => String::new(),
    };
    let what = format!("`{key}` is a sensitive path (review point on {paths})");
    Ok(match trigger.action() {
        Action::Ask => Some(pre_tool_use_reply(
            "ask",
            &format!("Orchestron review point: {what}; a person confirms every edit of it."),
        )),
        Action::PauseForApproval => {
            // Approved once for this session, the path is its to edit.
            if approved.iter().any(|path| path == key) {
                return Ok(None);
            }
            let waits = format!(":/{key}");
            // Refused even when the session cannot be held (it has no document yet).
            if let Err(err) = orchestron_core::reviews::hold(cx, id, &waits, &what) {
                crate::output::warn(&format!("the session was not paused: {err}"));
            }
            Some(pre_tool_use_reply(
                "deny",
                &format!(
                    "Orchestron review point: {what}. This session is paused for approval; a \
                     person runs `orchestron approve {}` to let it go on. Reads stay allowed.",
                    orchestron_core::coordination::shell_word(&waits)
                ),
            ))
        }
        Action::NotifyHuman | Action::RequestReview => None,
    })
}

/// Why session `id`'s call of `tool` is refused while it is paused, if it is: what
/// PreToolUse answers, for the MCP server, which checks its own writing tools itself (another
/// client, or a server name Claude Code's hook does not know, never passes PreToolUse).
pub(crate) fn refused_while_paused(
    context: &Context,
    id: &SessionId,
    tool: &str,
) -> Option<String> {
    let head = document_head(context, id).ok().flatten()?;
    paused(context, id, &head, tool)
}

/// Why the session's call of `tool` is refused, when it is paused (and not expired): every
/// tool of a plain pause, the writing tools of one held for approval.
fn paused(context: &Context, id: &SessionId, head: &DocumentHead, tool: &str) -> Option<String> {
    let lifecycle = &head.session.lifecycle;
    let expired = lifecycle
        .expiry
        .parse::<jiff::Timestamp>()
        .is_ok_and(|expiry| context.now > expiry);
    if lifecycle.status != "paused" || expired {
        return None;
    }
    if let Some(approval) = &lifecycle.approval {
        if !writes(tool) {
            return None;
        }
        return Some(format!(
            "Orchestron: this session is paused for approval: {} waits for a person ({}). \
             Until they run `{}`, tools that write are refused; reads stay allowed.",
            approval.waits, approval.what, approval.command
        ));
    }
    let reason = lifecycle
        .pause_reason
        .as_deref()
        .unwrap_or("no reason given");
    Some(format!(
        "Orchestron session {id} is paused ({reason}); \
         `orchestron session resume {id}` lets its tools run again"
    ))
}

/// The part of a session document PreToolUse needs. Deserializing into it skips every other
/// member without building it: on a 19 KB document the whole PreToolUse process ran 0.57 M
/// instructions instead of 1.21 M with a full parse (callgrind).
#[derive(serde::Deserialize)]
struct DocumentHead {
    session: SessionHead,
    #[serde(default)]
    coordination: coordinate::Head,
}

#[derive(serde::Deserialize)]
struct SessionHead {
    lifecycle: LifecycleHead,
}

#[derive(serde::Deserialize)]
struct LifecycleHead {
    status: String,
    expiry: String,
    #[serde(default)]
    pause_reason: Option<String>,
    /// A hold for approval (`reviews::hold`).
    #[serde(default)]
    approval: Option<ApprovalHead>,
}

#[derive(serde::Deserialize)]
struct ApprovalHead {
    waits: String,
    #[serde(default)]
    what: String,
    command: String,
}

fn pre_tool_use_reply(decision: &str, reason: &str) -> Value {
    json!({
        "hookSpecificOutput": {
            "hookEventName": Event::PreToolUse.name(),
            "permissionDecision": decision,
            "permissionDecisionReason": reason,
        }
    })
}

/// Stop and SubagentStop: record the agent (SubagentStop), save the snapshot, and when the
/// project asks for it, block once on a failing test run. Never blocks when Claude Code says
/// a Stop hook already made the agent continue (`stop_hook_active`).
fn stop(
    context: &Context,
    id: &SessionId,
    event: Event,
    payload: &Payload,
) -> anyhow::Result<Option<Value>> {
    // The SubagentStop a compaction fires (no agent type) is no agent finishing work: it
    // must not be blocked, nor use up the one block.
    let compaction =
        event == Event::SubagentStop && payload.agent_type.as_deref().is_none_or(str::is_empty);
    let gate = !compaction
        && context.config()?.hooks.test_before_stop
        && payload.stop_hook_active != Some(true);
    let mut block = None;
    keep_alive(context, id, false, payload.cut, |document, now| {
        if let Some(agent_id) = payload
            .agent_id
            .as_deref()
            .filter(|_| event == Event::SubagentStop)
        {
            track::record_agent(
                document,
                now,
                agent_id,
                payload.agent_type.as_deref(),
                true,
                payload.last_assistant_message.as_deref(),
            );
        }
        track::snapshot(document, now, event.name());
        if event == Event::Stop {
            session::clear_waiting(document);
        }
        if gate {
            block = track::failing_tests_gate(document);
        }
    })?;
    Ok(block.map(|reason| json!({"decision": "block", "reason": reason})))
}

/// End the session `completed`, if it exists and has not ended already, and leave its
/// handoff for the next sessions (kept beside the others; see `orchestron_core::handoffs`).
fn session_end(context: &Context, id: &SessionId, reason: &str) -> anyhow::Result<()> {
    let store = context.store()?;
    if !store.exists(id) {
        return Ok(());
    }
    let now = context.now;
    let document = store.update(id, |document| {
        let ended = Lifecycle::of(document)?.stored.is_ended();
        let changed = !ended && session::end(document, now, Status::Completed)?;
        Ok((changed, document.clone()))
    })?;
    let fallback = context
        .default_project()
        .unwrap_or_else(|| "project".to_owned());
    orchestron_core::handoffs::session_ended(context.core()?, &document, reason, &fallback)?;
    orchestron_core::coordination::end_session(context.core()?, id)?;
    Ok(())
}

/// What the session is told of its project's handoffs (`handoffs::start_brief`): never its
/// own. A failure there costs these lines, never the context.
fn handoff_brief(context: &Context, document: &Value) -> Vec<String> {
    let Some(project) = document.pointer("/session/project").and_then(Value::as_str) else {
        return Vec::new();
    };
    let own = document.pointer("/session/id").and_then(Value::as_str);
    let lines = context
        .core()
        .and_then(|cx| Ok(orchestron_core::handoffs::start_brief(cx, project, own)?));
    lines.unwrap_or_else(|err| {
        crate::output::warn(&format!("the handoffs are left out: {err:#}"));
        Vec::new()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_keeps_first_lines_and_shortens_the_one_that_does_not_fit() {
        let lines = vec!["a".repeat(10), "b".repeat(100), "c".repeat(5)];
        assert_eq!(
            cap(&lines, 1000),
            format!("{}\n{}\n{}", lines[0], lines[1], lines[2])
        );
        let capped = cap(&lines, 50);
        assert_eq!(capped.chars().count(), 50);
        assert!(capped.starts_with(&format!("{}\nbbb", lines[0])) && capped.ends_with('…'));
        assert_eq!(cap(&["x".repeat(500)], 30).chars().count(), 30);
    }

    #[test]
    fn ages() {
        assert_eq!(age(-5), "0s");
        assert_eq!(age(45), "45s");
        assert_eq!(age(12 * 60 + 5), "12m");
        assert_eq!(age(3 * 3600 + 5 * 60), "3h05m");
        assert_eq!(age(2 * 86_400 + 4 * 3600), "2d04h");
    }

    #[test]
    fn context_is_capped_at_whole_lines() {
        let lines = vec!["first".to_owned(), "second".to_owned(), "third".to_owned()];
        assert_eq!(cap(&lines, 100), "first\nsecond\nthird");
        assert_eq!(cap(&lines, 12), "first\nsecond");
        assert_eq!(cap(&lines, 3), "");
    }
}
