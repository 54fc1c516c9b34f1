//! What the hooks record in a session document, as pure functions: tool calls and failures
//! per tool, the files edited, the agent's to-do list, test runs and child agents.
//!
//! Like `session`, this module does no I/O and reads no clock. Each function changes one
//! part of the document and leaves the rest alone, so that `orchestron state` users can keep
//! their own data beside it. Every string and list recorded here has a cap (see `limits`,
//! which also says how a cut is marked), so the part of a document the hooks write stays
//! under `limits::MAX_HOOK_DOCUMENT_BYTES` whatever the payloads.

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use orchestron_core::session::format_time;

use super::limits::{
    MARK, MAX_AGENTS, MAX_FILES, MAX_ID_CHARS, MAX_NAME_CHARS, MAX_PATH_CHARS, MAX_PAYLOAD_BYTES,
    MAX_SNAPSHOT_FILES, MAX_SNAPSHOT_MESSAGES, MAX_SNAPSHOT_TEXT_CHARS, MAX_TEXT_CHARS, MAX_TODOS,
    MAX_TOOLS, clip,
};
use super::wire::Todos;

/// The tools whose `file_path` (or `notebook_path`) is a file the agent changed.
pub(crate) const EDITING_TOOLS: [&str; 4] = ["Edit", "Write", "MultiEdit", "NotebookEdit"];

/// One finished tool call, as PostToolUse and PostToolUseFailure report it.
#[derive(Debug)]
pub(crate) struct ToolCall<'a> {
    pub name: &'a str,
    /// The members of `tool_input` the hooks read (`wire::Payload::tool_input`).
    pub input: &'a Value,
    /// TodoWrite's list.
    pub todos: Option<&'a Todos>,
    pub failed: bool,
    /// PostToolUseFailure's `error`, such as `Exit code 3\nout\nerr`.
    pub error: Option<&'a str>,
    /// PostToolUse's `tool_response` (only `task.id`).
    pub response: &'a Value,
}

/// Record a finished tool call: counts, edited files, to-dos, test runs.
pub(crate) fn record_tool(
    document: &mut Value,
    now: Timestamp,
    call: &ToolCall<'_>,
    tests: &[String],
) {
    let at = format_time(now);
    let name = clip(call.name, MAX_NAME_CHARS);
    let tools = object_at(document, &["observability", "metrics", "tools"]);
    let full = || tools.len() - usize::from(tools.contains_key(MARK)) >= MAX_TOOLS;
    let key = if tools.contains_key(name.as_ref()) || !full() {
        name.as_ref()
    } else {
        MARK
    };
    let counts = as_object(
        tools
            .entry(key.to_owned())
            .or_insert_with(|| json!({"calls": 0, "failures": 0})),
    );
    bump(counts, "calls");
    if call.failed {
        bump(counts, "failures");
    }
    bump(
        as_object(
            document
                .pointer_mut("/observability/metrics")
                .expect("made above"),
        ),
        "tool_calls",
    );

    if EDITING_TOOLS.contains(&call.name) && !call.failed {
        let path = ["file_path", "notebook_path"]
            .iter()
            .find_map(|key| call.input.get(*key).and_then(Value::as_str));
        if let Some(path) = path {
            let path = clip(path, MAX_PATH_CHARS);
            let execution = object_at(document, &["execution"]);
            execution.insert("last_edit_at".to_owned(), json!(at));
            let files = as_object(execution.entry("files").or_insert_with(|| json!({})))
                .as_object_mut()
                .expect("made an object");
            let file = as_object(
                files
                    .entry(path.as_ref())
                    .or_insert_with(|| json!({"edits": 0})),
            );
            bump(file, "edits");
            file["tool"] = json!(call.name);
            file["last_edit"] = json!(at);
            let dropped = evict(files, MAX_FILES, Some(path.as_ref()), file_age);
            if dropped > 0 {
                add_omitted(execution, "files_omitted", dropped);
            }
        }
    }

    match call.name {
        "TodoWrite" if !call.failed => {
            if let Some(todos) = call.todos {
                let items = todos
                    .items
                    .iter()
                    .map(|todo| {
                        let status = todo.status.as_deref().unwrap_or("pending");
                        json!({
                            "content": clip(&todo.content, MAX_TEXT_CHARS),
                            "status": clip(status, MAX_NAME_CHARS),
                        })
                    })
                    .collect();
                set_todos(document, "TodoWrite", items, todos.total, todos.done, &at);
            }
        }
        "TaskCreate" if !call.failed => {
            let id = call.response.pointer("/task/id").and_then(Value::as_str);
            let subject = call.input.get("subject").and_then(Value::as_str);
            if let (Some(id), Some(subject)) = (id, subject) {
                upsert_task(document, id, Some(subject), None, &at);
            }
        }
        "TaskUpdate" if !call.failed => {
            let id = call.input.get("taskId").and_then(Value::as_str);
            let status = call.input.get("status").and_then(Value::as_str);
            let subject = call.input.get("subject").and_then(Value::as_str);
            if let Some(id) = id {
                upsert_task(document, id, subject, status, &at);
            }
        }
        "Bash" => {
            let command = call.input.get("command").and_then(Value::as_str);
            if let Some(command) = command.filter(|command| is_test_command(command, tests)) {
                record_test_run(document, command, !call.failed, call.error, &at);
            }
        }
        _ => {}
    }
}

/// Mirror a TaskCreated (`completed` false) or TaskCompleted (`completed` true) event.
pub(crate) fn mirror_task_event(
    document: &mut Value,
    now: Timestamp,
    id: &str,
    subject: Option<&str>,
    completed: bool,
) {
    let status = completed.then_some("completed");
    upsert_task(document, id, subject, status, &format_time(now));
}

/// Record a child agent starting or stopping. Past [`MAX_AGENTS`], the oldest stopped agent
/// (else the oldest) is dropped and counted in `execution.agents_omitted`; `agent_count`
/// counts every agent seen.
pub(crate) fn record_agent(
    document: &mut Value,
    now: Timestamp,
    agent_id: &str,
    agent_type: Option<&str>,
    stopped: bool,
    last_message: Option<&str>,
) {
    let at = format_time(now);
    let agent_id = clip(agent_id, MAX_ID_CHARS);
    let execution = object_at(document, &["execution"]);
    let agents = as_object(execution.entry("agents").or_insert_with(|| json!({})))
        .as_object_mut()
        .expect("made an object");
    let agent = as_object(
        agents
            .entry(agent_id.as_ref())
            .or_insert_with(|| json!({"started_at": at})),
    );
    if let Some(agent_type) = agent_type.filter(|kind| !kind.is_empty()) {
        agent["type"] = json!(clip(agent_type, MAX_NAME_CHARS));
    }
    if stopped {
        agent["status"] = json!("stopped");
        agent["stopped_at"] = json!(at);
        if let Some(message) = last_message {
            agent["last_message"] = json!(clip(message, MAX_TEXT_CHARS));
        }
    } else {
        agent["status"] = json!("running");
    }
    let dropped = evict(agents, MAX_AGENTS, Some(agent_id.as_ref()), agent_age);
    let kept = agents.len();
    let omitted = add_omitted(execution, "agents_omitted", dropped);
    object_at(document, &["observability", "metrics"])
        .insert("agent_count".to_owned(), json!(kept + omitted));
}

/// Save what compaction would forget: open to-dos, the files edited last, the last test run
/// and any `execution.notes`, under `execution.snapshot`. Everything is copied within its cap,
/// whatever the document holds.
pub(crate) fn snapshot(document: &mut Value, now: Timestamp, trigger: &str) {
    let mut snapshot = Map::new();
    snapshot.insert("at".to_owned(), json!(format_time(now)));
    snapshot.insert("trigger".to_owned(), json!(clip(trigger, MAX_NAME_CHARS)));
    let mut open = document
        .pointer("/execution/todos/items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|item| item.get("status").and_then(Value::as_str) != Some("completed"));
    let open_todos: Vec<Value> = open.by_ref().take(MAX_TODOS).map(bounded_todo).collect();
    snapshot.insert("open_todos".to_owned(), json!(open_todos));
    add_omitted(&mut snapshot, "open_todos_omitted", open.count());
    let files = orchestron_core::session::files_by_last_edit(document);
    let listed: Vec<Value> = files
        .iter()
        .take(MAX_SNAPSHOT_FILES)
        .map(|path| json!(clip(path, MAX_PATH_CHARS)))
        .collect();
    let more_files = files.len() - listed.len();
    snapshot.insert("files".to_owned(), Value::Array(listed));
    add_omitted(&mut snapshot, "files_omitted", more_files);
    let last_test = document
        .pointer("/execution/tests/last")
        .map_or(Value::Null, |last| bounded_object(last, &TEST_RUN_FIELDS));
    snapshot.insert("last_test".to_owned(), last_test);
    let notes = document
        .pointer("/execution/notes")
        .map_or(Value::Null, |notes| {
            bounded_copy(notes, MAX_SNAPSHOT_TEXT_CHARS)
        });
    snapshot.insert("notes".to_owned(), notes);
    // The last messages people left: the model read them, and compaction would forget them.
    let messages = orchestron_core::inbox::messages(document);
    let texts: Vec<&str> = messages
        .iter()
        .filter_map(|message| message.get("text").and_then(Value::as_str))
        .collect();
    let inbox: Vec<Value> = texts[texts.len().saturating_sub(MAX_SNAPSHOT_MESSAGES)..]
        .iter()
        .map(|text| json!(clip(text, MAX_SNAPSHOT_TEXT_CHARS)))
        .collect();
    snapshot.insert("inbox".to_owned(), Value::Array(inbox));
    object_at(document, &["execution"]).insert("snapshot".to_owned(), Value::Object(snapshot));
}

/// Note that the payload of this hook was cut at [`MAX_PAYLOAD_BYTES`]: what it recorded is
/// what came before the cut.
pub(crate) fn note_cut_payload(document: &mut Value, now: Timestamp) {
    orchestron_core::session::push_event(
        document,
        now,
        "hook_payload_cut",
        json!({"kept_bytes": MAX_PAYLOAD_BYTES}),
    );
}

/// Bring every list and map the hooks grow back within its cap, counting what it drops, and
/// clip the to-dos of a list that was over its cap. Costs a few lookups when all is within
/// bounds, which is always, except for a document written before the caps or by hand.
pub(crate) fn prune(document: &mut Value) {
    if let Some(tools) = document
        .get_mut("observability")
        .and_then(|observability| observability.get_mut("metrics"))
        .and_then(|metrics| metrics.get_mut("tools"))
        .and_then(Value::as_object_mut)
    {
        fold_tools(tools);
    }
    let Some(execution) = document.get_mut("execution").and_then(Value::as_object_mut) else {
        return;
    };
    for (key, omitted, max, age) in [
        (
            "files",
            "files_omitted",
            MAX_FILES,
            file_age as fn(&Value) -> (bool, &str),
        ),
        ("agents", "agents_omitted", MAX_AGENTS, agent_age),
    ] {
        let dropped = execution
            .get_mut(key)
            .and_then(Value::as_object_mut)
            .map_or(0, |map| evict(map, max, None, age));
        if dropped > 0 {
            add_omitted(execution, omitted, dropped);
        }
    }
    if let Some(todos) = execution.get_mut("todos").and_then(Value::as_object_mut)
        && let Some(items) = todos.get_mut("items").and_then(Value::as_array_mut)
        && items.len() > MAX_TODOS
    {
        let dropped = items.len() - MAX_TODOS;
        items.truncate(MAX_TODOS);
        for item in items.iter_mut() {
            *item = bounded_todo(item);
        }
        add_omitted(todos, "items_omitted", dropped);
    }
}

/// The lines SessionStart injects after a compaction, from a snapshot.
pub(crate) fn describe_snapshot(snapshot: &Value) -> Vec<String> {
    let mut lines = Vec::new();
    let files: Vec<&str> = snapshot
        .get("files")
        .and_then(Value::as_array)
        .map(|files| files.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !files.is_empty() {
        lines.push(format!(
            "Files edited before compaction: {}.",
            files.join(", ")
        ));
    }
    let inbox: Vec<&str> = snapshot
        .get("inbox")
        .and_then(Value::as_array)
        .map(|texts| texts.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !inbox.is_empty() {
        lines.push(format!(
            "Messages the user left in the Orchestron inbox: {}.",
            inbox.join(" | ")
        ));
    }
    match snapshot.get("notes") {
        Some(Value::String(notes)) => lines.push(format!("Notes: {notes}")),
        Some(notes @ (Value::Array(_) | Value::Object(_))) => lines.push(format!("Notes: {notes}")),
        _ => {}
    }
    lines
}

/// The reason to block a Stop: the last test run failed, no edit came after it, and no Stop
/// was blocked for it yet. Marks the run so that the block happens once.
pub(crate) fn failing_tests_gate(document: &mut Value) -> Option<String> {
    let last_edit = document
        .pointer("/execution/last_edit_at")
        .and_then(Value::as_str)
        .and_then(|at| orchestron_core::session::parse_time(at).ok());
    let last = document
        .pointer_mut("/execution/tests/last")
        .filter(|last| last.is_object())?;
    let failed = last.get("passed").and_then(Value::as_bool) == Some(false);
    let already = last.get("stop_blocked").and_then(Value::as_bool) == Some(true);
    let ran_at = last
        .get("at")
        .and_then(Value::as_str)
        .and_then(|at| orchestron_core::session::parse_time(at).ok())?;
    let after_last_edit = last_edit.is_none_or(|edit| ran_at >= edit);
    if !failed || already || !after_last_edit {
        return None;
    }
    last["stop_blocked"] = json!(true);
    let command = last
        .get("command")
        .and_then(Value::as_str)
        .unwrap_or("the tests");
    Some(format!(
        "Orchestron: the last test run (`{command}`) failed after your last edit. Fix the \
         failure and run the tests again, or say why it should stay failing, before stopping."
    ))
}

/// Whether a shell command runs tests: some `&&`, `;` or `|` part of it holds one of
/// `patterns` as a run of whole words (`cd app && npx jest --ci` runs `jest`).
pub(crate) fn is_test_command(command: &str, patterns: &[String]) -> bool {
    command
        .split(['&', ';', '|', '\n'])
        .map(|part| part.split_whitespace().collect::<Vec<_>>())
        .any(|words| {
            patterns.iter().any(|pattern| {
                let wanted: Vec<&str> = pattern.split_whitespace().collect();
                !wanted.is_empty()
                    && words
                        .windows(wanted.len())
                        .any(|window| window == wanted.as_slice())
            })
        })
}

/// The failing streak the latest test run left in `document`, when a test run was just
/// recorded (`runs` went from `runs_before`).
pub(crate) fn failing_streak(document: &Value, runs_before: u64) -> Option<u32> {
    let tests = document.pointer("/execution/tests")?;
    let runs = tests.get("runs").and_then(Value::as_u64)?;
    (runs > runs_before)
        .then(|| tests.get("failing_streak").and_then(Value::as_u64))
        .flatten()
        .map(|streak| u32::try_from(streak).unwrap_or(u32::MAX))
}

fn record_test_run(
    document: &mut Value,
    command: &str,
    passed: bool,
    error: Option<&str>,
    at: &str,
) {
    let tests = object_at(document, &["execution", "tests"]);
    let runs = tests.get("runs").and_then(Value::as_u64).unwrap_or(0);
    tests.insert("runs".to_owned(), json!(runs + 1));
    // How many runs in a row have failed: a tests-failing review point counts it.
    let streak = if passed {
        0
    } else {
        tests
            .get("failing_streak")
            .and_then(Value::as_u64)
            .unwrap_or(0)
            .saturating_add(1)
    };
    tests.insert("failing_streak".to_owned(), json!(streak));
    let mut last = json!({"command": clip(command, MAX_TEXT_CHARS), "passed": passed, "at": at});
    if let Some(error) = error {
        last["error"] = json!(clip(error, MAX_TEXT_CHARS));
    }
    tests.insert("last".to_owned(), last);
}

/// Replace the to-do list: `items` are the first of the `total` to-dos, `done` of which are
/// completed.
fn set_todos(
    document: &mut Value,
    source: &str,
    items: Vec<Value>,
    total: usize,
    done: usize,
    at: &str,
) {
    let todos = object_at(document, &["execution", "todos"]);
    let omitted = total.saturating_sub(items.len());
    todos.insert("source".to_owned(), json!(source));
    todos.insert("items".to_owned(), Value::Array(items));
    todos.remove("items_omitted");
    add_omitted(todos, "items_omitted", omitted);
    todos.insert("updated_at".to_owned(), json!(at));
    set_progress(todos, done, total);
}

/// Create or update the task `id` of a Task-tool list; status `deleted` removes it. A new
/// task in a full list takes the place of the oldest completed one (else the oldest).
fn upsert_task(
    document: &mut Value,
    id: &str,
    subject: Option<&str>,
    status: Option<&str>,
    at: &str,
) {
    let id = clip(id, MAX_ID_CHARS);
    let subject = subject.map(|subject| clip(subject, MAX_TEXT_CHARS));
    let status = status.map(|status| clip(status, MAX_NAME_CHARS));
    let todos = object_at(document, &["execution", "todos"]);
    let listed = todos.get("items").is_some_and(Value::is_array);
    if todos.get("source").and_then(Value::as_str) != Some("Tasks") || !listed {
        // A list from another tool (or none): the Task tools start their own.
        todos.insert("source".to_owned(), json!("Tasks"));
        todos.insert("items".to_owned(), json!([]));
        todos.remove("items_omitted");
    }
    let items = todos
        .get_mut("items")
        .and_then(Value::as_array_mut)
        .expect("made above");
    let position = items
        .iter()
        .position(|item| item.get("id").and_then(Value::as_str) == Some(&id));
    let mut dropped = 0;
    if status.as_deref() == Some("deleted") {
        if let Some(position) = position {
            items.remove(position);
        }
    } else {
        let item = match position {
            Some(position) => as_object(&mut items[position]),
            None => {
                if items.len() >= MAX_TODOS {
                    let oldest = items.iter().position(is_completed).unwrap_or(0);
                    items.remove(oldest);
                    dropped = 1;
                }
                let content = subject.as_deref().unwrap_or(&id);
                items.push(json!({"id": id, "content": content, "status": "pending"}));
                items.last_mut().expect("just pushed")
            }
        };
        if let Some(subject) = &subject {
            item["content"] = json!(subject);
        }
        if let Some(status) = &status {
            item["status"] = json!(status);
        }
    }
    add_omitted(todos, "items_omitted", dropped);
    todos.insert("updated_at".to_owned(), json!(at));
    recount(todos);
}

fn is_completed(item: &Value) -> bool {
    item.get("status").and_then(Value::as_str) == Some("completed")
}

fn recount(todos: &mut Map<String, Value>) {
    let items = todos.get("items").and_then(Value::as_array);
    let total = items.map_or(0, Vec::len);
    let done = items.map_or(0, |items| {
        items.iter().filter(|item| is_completed(item)).count()
    });
    set_progress(todos, done, total);
}

fn set_progress(todos: &mut Map<String, Value>, done: usize, total: usize) {
    let progress = (done * 100).checked_div(total).unwrap_or(0);
    todos.insert("done".to_owned(), json!(done));
    todos.insert("total".to_owned(), json!(total));
    todos.insert("progress".to_owned(), json!(progress));
}

/// Add `dropped` to the count `key` of what `map` left out (written only once something
/// was); returns the count.
fn add_omitted(map: &mut Map<String, Value>, key: &str, dropped: usize) -> usize {
    let before = map.get(key).and_then(Value::as_u64).unwrap_or(0);
    let count = before.saturating_add(dropped as u64);
    if dropped > 0 {
        map.insert(key.to_owned(), json!(count));
    }
    usize::try_from(count).unwrap_or(usize::MAX)
}

/// Drop the oldest entries of `map` (the smallest `age`) until it holds `max`, never the
/// entry `keep`; returns how many went.
fn evict(
    map: &mut Map<String, Value>,
    max: usize,
    keep: Option<&str>,
    age: fn(&Value) -> (bool, &str),
) -> usize {
    if map.len() <= max {
        return 0;
    }
    let excess = map.len() - max;
    let mut ranked: Vec<((bool, &str), &str)> = map
        .iter()
        .filter(|(key, _)| Some(key.as_str()) != keep)
        .map(|(key, value)| (age(value), key.as_str()))
        .collect();
    ranked.sort_unstable();
    let doomed: Vec<String> = ranked
        .into_iter()
        .take(excess)
        .map(|(_, key)| key.to_owned())
        .collect();
    for key in &doomed {
        map.remove(key);
    }
    doomed.len()
}

/// A file's age: when it was edited last.
fn file_age(file: &Value) -> (bool, &str) {
    let at = file.get("last_edit").and_then(Value::as_str).unwrap_or("");
    (false, at)
}

/// An agent's age: stopped ones first, then by when they started.
fn agent_age(agent: &Value) -> (bool, &str) {
    let running = agent.get("status").and_then(Value::as_str) == Some("running");
    let at = agent
        .get("started_at")
        .and_then(Value::as_str)
        .unwrap_or("");
    (running, at)
}

/// Count the calls of the tools past the first [`MAX_TOOLS`] names under [`MARK`].
fn fold_tools(tools: &mut Map<String, Value>) {
    let named = tools.len() - usize::from(tools.contains_key(MARK));
    if named <= MAX_TOOLS {
        return;
    }
    let extra: Vec<String> = tools
        .keys()
        .filter(|name| *name != MARK)
        .skip(MAX_TOOLS)
        .cloned()
        .collect();
    let (mut calls, mut failures) = (0, 0);
    for name in extra {
        if let Some(counts) = tools.remove(&name) {
            calls += counts.get("calls").and_then(Value::as_u64).unwrap_or(0);
            failures += counts.get("failures").and_then(Value::as_u64).unwrap_or(0);
        }
    }
    let other = as_object(
        tools
            .entry(MARK)
            .or_insert_with(|| json!({"calls": 0, "failures": 0})),
    );
    for (key, more) in [("calls", calls), ("failures", failures)] {
        let count = other.get(key).and_then(Value::as_u64).unwrap_or(0);
        other[key] = json!(count + more);
    }
}

/// The fields of a to-do, each within its cap.
const TODO_FIELDS: [(&str, usize); 3] = [
    ("id", MAX_ID_CHARS),
    ("content", MAX_TEXT_CHARS),
    ("status", MAX_NAME_CHARS),
];

/// The fields of a test run, each within its cap.
const TEST_RUN_FIELDS: [(&str, usize); 5] = [
    ("command", MAX_TEXT_CHARS),
    ("passed", 0),
    ("at", MAX_NAME_CHARS),
    ("error", MAX_TEXT_CHARS),
    ("stop_blocked", 0),
];

fn bounded_todo(item: &Value) -> Value {
    bounded_object(item, &TODO_FIELDS)
}

/// A copy of the object `value` with only its `fields`, each within its cap; a value that is
/// not an object is copied within [`MAX_TEXT_CHARS`].
fn bounded_object(value: &Value, fields: &[(&str, usize)]) -> Value {
    let Some(object) = value.as_object() else {
        return bounded_copy(value, MAX_TEXT_CHARS);
    };
    let mut copy = Map::new();
    for (key, max) in fields {
        if let Some(field) = object.get(*key) {
            copy.insert((*key).to_owned(), bounded_copy(field, *max));
        }
    }
    Value::Object(copy)
}

/// A copy of `value` within `max` characters: a string is clipped; a list or object longer
/// than that as JSON becomes its JSON text, clipped. Never serializes more than it keeps.
fn bounded_copy(value: &Value, max: usize) -> Value {
    match value {
        Value::String(text) => json!(clip(text, max)),
        Value::Array(_) | Value::Object(_) => {
            // More than `max` characters take more than `4 * max` bytes: stop there.
            let mut text = Limited {
                bytes: Vec::new(),
                limit: 4 * max + 8,
            };
            let whole = serde_json::to_writer(&mut text, value).is_ok();
            let valid = match std::str::from_utf8(&text.bytes) {
                Ok(valid) => valid,
                Err(err) => std::str::from_utf8(&text.bytes[..err.valid_up_to()])
                    .expect("valid up to there"),
            };
            if whole && valid.chars().count() <= max {
                value.clone()
            } else {
                json!(clip(valid, max))
            }
        }
        _ => value.clone(),
    }
}

/// A writer that takes `limit` bytes, then fails.
struct Limited {
    bytes: Vec<u8>,
    limit: usize,
}

impl std::io::Write for Limited {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let room = self.limit - self.bytes.len();
        if buf.len() > room {
            self.bytes.extend_from_slice(&buf[..room]);
            return Err(std::io::Error::other("the copy is full"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The object at `path`, made (replacing anything that is not an object) where missing.
fn object_at<'a>(document: &'a mut Value, path: &[&str]) -> &'a mut Map<String, Value> {
    let mut node = document;
    for key in path {
        if !node.is_object() {
            *node = json!({});
        }
        node = node
            .as_object_mut()
            .expect("made an object")
            .entry((*key).to_owned())
            .or_insert_with(|| json!({}));
    }
    if !node.is_object() {
        *node = json!({});
    }
    node.as_object_mut().expect("made an object")
}

/// `value` itself, replaced by an empty object when someone stored something else there.
fn as_object(value: &mut Value) -> &mut Value {
    if !value.is_object() {
        *value = json!({});
    }
    value
}

/// Record a `Notification` of `kind` (`notification_type`) with its `message`: whether the
/// session now waits for a person, and why (`orchestron_core::session::Notified`); the
/// message is kept up to [`MAX_TEXT_CHARS`].
pub(crate) fn record_notification(
    document: &mut Value,
    now: Timestamp,
    kind: Option<&str>,
    message: Option<&str>,
) {
    let notified = orchestron_core::session::Notified::of(kind, message);
    let message = message.map(|message| clip(message, MAX_TEXT_CHARS));
    orchestron_core::session::record_notification(document, now, notified, message.as_deref());
}

fn bump(object: &mut Value, key: &str) {
    let count = object.get(key).and_then(Value::as_u64).unwrap_or(0);
    object[key] = json!(count + 1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hook::limits::MAX_HOOK_DOCUMENT_BYTES;
    use crate::hook::wire::Todo;

    fn now() -> Timestamp {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    fn todo(content: &str, status: &str) -> Todo {
        Todo {
            content: content.to_owned(),
            status: Some(status.to_owned()),
        }
    }

    fn defaults() -> Vec<String> {
        orchestron_core::config::DEFAULT_TEST_COMMANDS
            .iter()
            .map(|c| (*c).to_owned())
            .collect()
    }

    #[test]
    fn test_commands_are_whole_words() {
        let tests = defaults();
        for yes in [
            "cargo test",
            "cd app && npx jest --ci",
            "RUST_LOG=1 cargo test -p x",
            "python -m pytest -q",
            "go test ./...",
        ] {
            assert!(is_test_command(yes, &tests), "{yes}");
        }
        for no in [
            "cargo build",
            "echo majestic",
            "cat pytest.ini.bak|wc",
            "npm install",
        ] {
            assert!(!is_test_command(no, &tests), "{no}");
        }
        assert!(!is_test_command("anything", &[]));
    }

    #[test]
    fn tools_files_todos_and_tests() {
        let mut doc = json!({"execution": {}, "observability": {"metrics": {}}});
        let tests = defaults();
        let edit_input = json!({"file_path": "/p/src/lib.rs"});
        let edit = ToolCall {
            name: "Edit",
            input: &edit_input,
            todos: None,
            failed: false,
            error: None,
            response: &Value::Null,
        };
        record_tool(&mut doc, now(), &edit, &tests);
        record_tool(&mut doc, now(), &edit, &tests);
        assert_eq!(doc["execution"]["files"]["/p/src/lib.rs"]["edits"], 2);
        assert_eq!(
            doc["observability"]["metrics"]["tools"]["Edit"],
            json!({"calls": 2, "failures": 0})
        );
        assert_eq!(doc["observability"]["metrics"]["tool_calls"], 2);

        let bash_input = json!({"command": "cargo test"});
        let failing = ToolCall {
            name: "Bash",
            input: &bash_input,
            todos: None,
            failed: true,
            error: Some("Exit code 101"),
            response: &Value::Null,
        };
        record_tool(&mut doc, now(), &failing, &tests);
        assert_eq!(doc["execution"]["tests"]["last"]["passed"], false);
        assert_eq!(
            doc["observability"]["metrics"]["tools"]["Bash"]["failures"],
            1
        );
        let passing = ToolCall {
            failed: false,
            error: None,
            ..failing
        };
        record_tool(&mut doc, now(), &passing, &tests);
        assert_eq!(doc["execution"]["tests"]["last"]["passed"], true);
        assert_eq!(doc["execution"]["tests"]["runs"], 2);

        let list = Todos {
            items: vec![todo("a", "completed"), todo("b", "pending")],
            total: 2,
            done: 1,
        };
        let todo = ToolCall {
            name: "TodoWrite",
            input: &Value::Null,
            todos: Some(&list),
            failed: false,
            error: None,
            response: &Value::Null,
        };
        record_tool(&mut doc, now(), &todo, &tests);
        assert_eq!(doc["execution"]["todos"]["progress"], 50);
        assert_eq!(doc["execution"]["todos"]["total"], 2);

        let create_input = json!({"subject": "Write", "description": "d"});
        let create_response = json!({"task": {"id": "1", "subject": "Write"}});
        let create = ToolCall {
            name: "TaskCreate",
            input: &create_input,
            todos: None,
            failed: false,
            error: None,
            response: &create_response,
        };
        record_tool(&mut doc, now(), &create, &tests);
        assert_eq!(doc["execution"]["todos"]["source"], "Tasks");
        assert_eq!(
            doc["execution"]["todos"]["items"],
            json!([{"id": "1", "content": "Write", "status": "pending"}])
        );
        let update_input = json!({"taskId": "1", "status": "completed"});
        let update = ToolCall {
            name: "TaskUpdate",
            input: &update_input,
            todos: None,
            failed: false,
            error: None,
            response: &Value::Null,
        };
        record_tool(&mut doc, now(), &update, &tests);
        assert_eq!(doc["execution"]["todos"]["progress"], 100);
        mirror_task_event(&mut doc, now(), "2", Some("Docs"), false);
        assert_eq!(doc["execution"]["todos"]["progress"], 50);
        let delete_input = json!({"taskId": "2", "status": "deleted"});
        let delete = ToolCall {
            name: "TaskUpdate",
            input: &delete_input,
            todos: None,
            failed: false,
            error: None,
            response: &Value::Null,
        };
        record_tool(&mut doc, now(), &delete, &tests);
        assert_eq!(doc["execution"]["todos"]["total"], 1);
    }

    #[test]
    fn stop_gate_blocks_once_on_a_failing_run_after_the_last_edit() {
        let mut doc = json!({"execution": {"last_edit_at": "2026-01-01T00:00:00.000Z",
            "tests": {"last": {"command": "cargo test", "passed": false,
                               "at": "2026-01-01T00:01:00.000Z"}}}});
        let reason = failing_tests_gate(&mut doc).unwrap();
        assert!(reason.contains("cargo test"));
        assert_eq!(failing_tests_gate(&mut doc), None, "once");
        // An edit after the failing run makes the run stale: no block.
        let mut stale = json!({"execution": {"last_edit_at": "2026-01-01T00:02:00.000Z",
            "tests": {"last": {"command": "cargo test", "passed": false,
                               "at": "2026-01-01T00:01:00.000Z"}}}});
        assert_eq!(failing_tests_gate(&mut stale), None);
        let mut passing = json!({"execution": {"tests": {"last": {"passed": true,
            "at": "2026-01-01T00:01:00.000Z"}}}});
        assert_eq!(failing_tests_gate(&mut passing), None);
        assert_eq!(failing_tests_gate(&mut json!({})), None);
    }

    #[test]
    fn snapshots_keep_what_compaction_forgets() {
        let mut doc = json!({"execution": {
            "todos": {"items": [{"content": "a", "status": "completed"}, {"content": "b", "status": "pending"}]},
            "files": {"/p/a.rs": {"last_edit": "2026-01-01T00:00:00.000Z"},
                      "/p/b.rs": {"last_edit": "2026-01-01T00:05:00.000Z"}},
            "notes": "use PostgreSQL"}});
        snapshot(&mut doc, now(), "manual");
        let snap = &doc["execution"]["snapshot"];
        assert_eq!(
            snap["open_todos"],
            json!([{"content": "b", "status": "pending"}])
        );
        assert_eq!(snap["files"], json!(["/p/b.rs", "/p/a.rs"]));
        let lines = describe_snapshot(snap);
        assert!(lines.iter().any(|line| line.contains("/p/b.rs, /p/a.rs")));
        assert!(lines.iter().any(|line| line.contains("use PostgreSQL")));
    }

    #[test]
    fn agents_and_hostile_shapes() {
        let mut doc = json!({"execution": "not an object", "observability": []});
        record_agent(&mut doc, now(), "a1", Some("general-purpose"), false, None);
        record_agent(&mut doc, now(), "a1", None, true, Some(&"x".repeat(2000)));
        assert_eq!(doc["execution"]["agents"]["a1"]["status"], "stopped");
        assert_eq!(doc["execution"]["agents"]["a1"]["type"], "general-purpose");
        assert_eq!(doc["observability"]["metrics"]["agent_count"], 1);
        assert!(
            doc["execution"]["agents"]["a1"]["last_message"]
                .as_str()
                .unwrap()
                .chars()
                .count()
                <= 501
        );
    }

    fn call<'a>(name: &'a str, input: &'a Value) -> ToolCall<'a> {
        ToolCall {
            name,
            input,
            todos: None,
            failed: false,
            error: None,
            response: &Value::Null,
        }
    }

    /// A session document after every hook wrote as much as it can: each capped list over
    /// its cap, each string far over its cap and made of `filler`.
    fn filled_document(filler: char) -> Value {
        use orchestron_core::session::{self, Mode, NewSession};
        let long = |i: usize| format!("{i:04}{}", filler.to_string().repeat(10_000));
        let new = NewSession {
            id: "a".repeat(128),
            mode: Mode::Development,
            project: Some("p".repeat(255)),
            parent_session: None,
            metadata: Map::new(),
            created_by: "orchestron hook".to_owned(),
        };
        let mut doc = session::new_document(&new, now(), std::time::Duration::from_secs(3600));
        let tests = defaults();
        for i in 0..MAX_TOOLS + 10 {
            let name = long(i);
            let failing = ToolCall {
                failed: true,
                ..call(&name, &Value::Null)
            };
            record_tool(&mut doc, now(), &failing, &tests);
        }
        for i in 0..MAX_FILES + 10 {
            let input = json!({"notebook_path": long(i)});
            record_tool(&mut doc, now(), &call("NotebookEdit", &input), &tests);
        }
        for i in 0..MAX_TODOS + 10 {
            upsert_task(&mut doc, &long(i), Some(&long(i)), Some(&long(i)), "at");
        }
        let input = json!({"command": format!("cargo test {}", long(0))});
        let failing = ToolCall {
            failed: true,
            error: Some(&long(1)),
            ..call("Bash", &input)
        };
        record_tool(&mut doc, now(), &failing, &tests);
        for i in 0..MAX_AGENTS + 10 {
            record_agent(
                &mut doc,
                now(),
                &long(i),
                Some(&long(i)),
                true,
                Some(&long(i)),
            );
        }
        session::record_output_style(&mut doc, Some(&clip(&long(0), MAX_NAME_CHARS)));
        record_notification(&mut doc, now(), Some("permission_prompt"), Some(&long(0)));
        for _ in 0..2 * orchestron_core::session::MAX_EVENTS {
            session::heartbeat(&mut doc, now(), std::time::Duration::from_secs(3600)).unwrap();
        }
        note_cut_payload(&mut doc, now());
        // People's notes and messages are theirs; the snapshot's copies are the hooks'.
        doc["execution"]["notes"] = json!(long(0));
        for i in 0..10 {
            orchestron_core::inbox::add(&mut doc, now(), &long(i));
        }
        snapshot(&mut doc, now(), &long(0));
        prune(&mut doc);
        let execution = doc["execution"].as_object_mut().unwrap();
        execution.remove("notes");
        execution.remove("inbox");
        doc
    }

    #[test]
    fn finding_06_the_hooks_keep_a_document_under_its_bound() {
        let worst = serde_json::to_vec_pretty(&filled_document('\u{1}'))
            .unwrap()
            .len();
        let ordinary = serde_json::to_vec_pretty(&filled_document('x'))
            .unwrap()
            .len();
        // 1,714,077 and 346,347 bytes when the caps were set.
        assert!(worst <= MAX_HOOK_DOCUMENT_BYTES, "{worst} bytes");
        // The bound is not loose: the worst case comes within a fifth of it.
        assert!(worst > MAX_HOOK_DOCUMENT_BYTES * 4 / 5, "{worst} bytes");
        assert!(ordinary < MAX_HOOK_DOCUMENT_BYTES / 4, "{ordinary} bytes");
    }

    #[test]
    fn finding_06_every_cut_is_marked() {
        let doc = filled_document('x');
        let tools = doc["observability"]["metrics"]["tools"]
            .as_object()
            .unwrap();
        assert_eq!(tools.len(), MAX_TOOLS + 1);
        // Past the cap: ten long names, then every NotebookEdit and the Bash call.
        assert_eq!(tools[MARK]["calls"], 10 + MAX_FILES + 10 + 1);
        assert!(
            tools
                .keys()
                .all(|name| name == MARK || name.chars().count() == MAX_NAME_CHARS + 1)
        );
        assert_eq!(
            doc["observability"]["metrics"]["tool_calls"],
            MAX_TOOLS + MAX_FILES + 21
        );
        let execution = &doc["execution"];
        assert_eq!(execution["files"].as_object().unwrap().len(), MAX_FILES);
        assert_eq!(execution["files_omitted"], 10);
        assert_eq!(execution["agents"].as_object().unwrap().len(), MAX_AGENTS);
        assert_eq!(execution["agents_omitted"], 10);
        assert_eq!(
            doc["observability"]["metrics"]["agent_count"],
            MAX_AGENTS + 10
        );
        let todos = &execution["todos"];
        assert_eq!(todos["items"].as_array().unwrap().len(), MAX_TODOS);
        assert_eq!(todos["items_omitted"], 10);
        let item = &todos["items"][0];
        for (key, max) in TODO_FIELDS {
            let text = item[key].as_str().unwrap();
            assert_eq!(text.chars().count(), max + 1, "{key}");
            assert!(text.ends_with(MARK), "{key}");
        }
        let last = &execution["tests"]["last"];
        assert!(last["command"].as_str().unwrap().ends_with(MARK));
        assert!(last["error"].as_str().unwrap().ends_with(MARK));
        let snapshot = &execution["snapshot"];
        assert_eq!(snapshot["open_todos"].as_array().unwrap().len(), MAX_TODOS);
        assert_eq!(
            snapshot["files"].as_array().unwrap().len(),
            MAX_SNAPSHOT_FILES
        );
        assert_eq!(snapshot["files_omitted"], MAX_FILES - MAX_SNAPSHOT_FILES);
        assert_eq!(
            snapshot["inbox"].as_array().unwrap().len(),
            MAX_SNAPSHOT_MESSAGES
        );
        assert_eq!(
            snapshot["notes"].as_str().unwrap().chars().count(),
            MAX_SNAPSHOT_TEXT_CHARS + 1
        );
        assert_eq!(
            snapshot["trigger"].as_str().unwrap().chars().count(),
            MAX_NAME_CHARS + 1
        );
        assert_eq!(doc["observability"]["event_counts"]["hook_payload_cut"], 1);
        // Nothing was cut in a short string, nor a list within its cap.
        assert!(
            !serde_json::to_string(&snapshot["last_test"]["at"])
                .unwrap()
                .contains(MARK)
        );
    }

    #[test]
    fn a_full_list_drops_its_oldest_and_a_todo_write_counts_all() {
        let mut doc = json!({});
        for i in 0..MAX_TODOS {
            let status = if i == 3 { Some("completed") } else { None };
            upsert_task(&mut doc, &format!("t{i}"), Some("s"), status, "at");
        }
        upsert_task(&mut doc, "new", Some("s"), None, "at");
        let ids: Vec<&str> = doc["execution"]["todos"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), MAX_TODOS);
        assert!(!ids.contains(&"t3"), "the completed one goes first");
        upsert_task(&mut doc, "newer", Some("s"), None, "at");
        assert!(!doc.to_string().contains("\"t0\""), "then the oldest");
        assert_eq!(doc["execution"]["todos"]["items_omitted"], 2);

        let list = Todos {
            items: vec![todo(&"x".repeat(MAX_TEXT_CHARS + 1), "completed")],
            total: 300_000,
            done: 150_000,
        };
        let write = ToolCall {
            todos: Some(&list),
            ..call("TodoWrite", &Value::Null)
        };
        record_tool(&mut doc, now(), &write, &[]);
        let todos = &doc["execution"]["todos"];
        assert_eq!(todos["source"], "TodoWrite");
        assert_eq!(todos["total"], 300_000);
        assert_eq!(todos["done"], 150_000);
        assert_eq!(todos["progress"], 50);
        assert_eq!(todos["items_omitted"], 299_999);
        assert!(
            todos["items"][0]["content"]
                .as_str()
                .unwrap()
                .ends_with(MARK)
        );
        // A short list after it clears the count.
        let short = Todos {
            items: vec![todo("a", "pending")],
            total: 1,
            done: 0,
        };
        let write = ToolCall {
            todos: Some(&short),
            ..call("TodoWrite", &Value::Null)
        };
        record_tool(&mut doc, now(), &write, &[]);
        assert_eq!(doc["execution"]["todos"].get("items_omitted"), None);
    }

    #[test]
    fn files_and_agents_drop_the_oldest() {
        let mut doc = json!({});
        let at = |minute: usize| -> Timestamp {
            format!("2026-01-01T00:{:02}:{:02}Z", minute / 60, minute % 60)
                .parse()
                .unwrap()
        };
        for i in 0..=MAX_FILES {
            let input = json!({"file_path": format!("/p/{i}")});
            record_tool(&mut doc, at(i), &call("Edit", &input), &[]);
        }
        let files = doc["execution"]["files"].as_object().unwrap();
        assert_eq!(files.len(), MAX_FILES);
        assert!(!files.contains_key("/p/0") && files.contains_key(&format!("/p/{MAX_FILES}")));
        record_agent(&mut doc, at(0), "stopped-early", None, true, None);
        for i in 1..=MAX_AGENTS {
            record_agent(&mut doc, at(i), &format!("a{i}"), None, false, None);
        }
        let agents = doc["execution"]["agents"].as_object().unwrap();
        assert_eq!(agents.len(), MAX_AGENTS);
        assert!(!agents.contains_key("stopped-early"));
        assert_eq!(
            doc["observability"]["metrics"]["agent_count"],
            MAX_AGENTS + 1
        );
    }

    #[test]
    fn finding_06_prune_shrinks_a_document_written_before_the_caps() {
        let items: Vec<Value> = (0..1000)
            .map(|i| json!({"content": "c".repeat(5000), "status": "pending", "extra": i}))
            .collect();
        let files: Map<String, Value> = (0..1000)
            .map(|i| {
                (
                    format!("/p/{i:04}"),
                    json!({"last_edit": format!("{i:04}")}),
                )
            })
            .collect();
        let tools: Map<String, Value> = (0..1000)
            .map(|i| (format!("T{i:04}"), json!({"calls": 2, "failures": 1})))
            .collect();
        let mut doc = json!({
            "execution": {"todos": {"items": items, "total": 1000}, "files": files},
            "observability": {"metrics": {"tools": tools}},
        });
        prune(&mut doc);
        let todos = &doc["execution"]["todos"];
        assert_eq!(todos["items"].as_array().unwrap().len(), MAX_TODOS);
        assert_eq!(todos["items_omitted"], 1000 - MAX_TODOS);
        assert_eq!(todos["total"], 1000);
        assert_eq!(
            todos["items"][0],
            json!({"content": format!("{}{MARK}", "c".repeat(MAX_TEXT_CHARS)), "status": "pending"})
        );
        let files = doc["execution"]["files"].as_object().unwrap();
        assert_eq!(files.len(), MAX_FILES);
        assert!(files.contains_key("/p/0999") && !files.contains_key("/p/0000"));
        assert_eq!(doc["execution"]["files_omitted"], 1000 - MAX_FILES);
        let tools = doc["observability"]["metrics"]["tools"]
            .as_object()
            .unwrap();
        assert_eq!(tools.len(), MAX_TOOLS + 1);
        assert_eq!(tools[MARK], json!({"calls": 1800, "failures": 900}));
        // Within the caps, prune changes nothing.
        let before = doc.clone();
        prune(&mut doc);
        assert_eq!(doc, before);
    }

    #[test]
    fn bounded_copies() {
        assert_eq!(bounded_copy(&json!(null), 3), json!(null));
        assert_eq!(bounded_copy(&json!("abcd"), 3), json!("abc…"));
        assert_eq!(bounded_copy(&json!([1, 2]), 5), json!([1, 2]));
        assert_eq!(bounded_copy(&json!([1, 2]), 4), json!("[1,2…"));
        let big = json!({"a": "é".repeat(100_000)});
        let copy = bounded_copy(&big, 10);
        assert_eq!(copy, json!(format!("{{\"a\":\"{}…", "é".repeat(4))));
        assert_eq!(
            bounded_object(
                &json!({"command": "x", "passed": false, "other": 1}),
                &TEST_RUN_FIELDS
            ),
            json!({"command": "x", "passed": false})
        );
    }
}
