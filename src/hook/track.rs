//! What the hooks record in a session document, as pure functions: tool calls and failures
//! per tool, the files edited, the agent's to-do list, test runs and child agents.
//!
//! Like `session`, this module does no I/O and reads no clock. Each function changes one
//! part of the document and leaves the rest alone, so that `orchestron state` users can keep
//! their own data beside it.

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use orchestron_core::session::format_time;

/// The tools whose `file_path` (or `notebook_path`) is a file the agent changed.
const EDITING_TOOLS: [&str; 4] = ["Edit", "Write", "MultiEdit", "NotebookEdit"];

/// One finished tool call, as PostToolUse and PostToolUseFailure report it.
#[derive(Debug)]
pub(crate) struct ToolCall<'a> {
    pub name: &'a str,
    pub input: &'a Value,
    pub failed: bool,
    /// PostToolUseFailure's `error`, such as `Exit code 3\nout\nerr`.
    pub error: Option<&'a str>,
    /// PostToolUse's `tool_response`.
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
    let tools = object_at(document, &["observability", "metrics", "tools"]);
    let counts = as_object(
        tools
            .entry(call.name.to_owned())
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
            let files = object_at(document, &["execution", "files"]);
            let file = as_object(
                files
                    .entry(path.to_owned())
                    .or_insert_with(|| json!({"edits": 0})),
            );
            bump(file, "edits");
            file["tool"] = json!(call.name);
            file["last_edit"] = json!(at);
            object_at(document, &["execution"]).insert("last_edit_at".to_owned(), json!(at));
        }
    }

    match call.name {
        "TodoWrite" if !call.failed => {
            if let Some(todos) = call.input.get("todos").and_then(Value::as_array) {
                let items = todos
                    .iter()
                    .filter_map(|todo| {
                        Some(json!({
                            "content": todo.get("content")?.as_str()?,
                            "status": todo.get("status").and_then(Value::as_str).unwrap_or("pending"),
                        }))
                    })
                    .collect();
                set_todos(document, "TodoWrite", items, &at);
            }
        }
        "TaskCreate" if !call.failed => {
            let id = call
                .response
                .pointer("/task/id")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let subject = call.input.get("subject").and_then(Value::as_str);
            if let (Some(id), Some(subject)) = (id, subject) {
                upsert_task(document, &id, Some(subject), None, &at);
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

/// Record a child agent starting or stopping.
pub(crate) fn record_agent(
    document: &mut Value,
    now: Timestamp,
    agent_id: &str,
    agent_type: Option<&str>,
    stopped: bool,
    last_message: Option<&str>,
) {
    let at = format_time(now);
    let agents = object_at(document, &["execution", "agents"]);
    let agent = as_object(
        agents
            .entry(agent_id.to_owned())
            .or_insert_with(|| json!({"started_at": at})),
    );
    if let Some(agent_type) = agent_type.filter(|kind| !kind.is_empty()) {
        agent["type"] = json!(agent_type);
    }
    if stopped {
        agent["status"] = json!("stopped");
        agent["stopped_at"] = json!(at);
        if let Some(message) = last_message {
            agent["last_message"] = json!(truncate(message, 500));
        }
    } else {
        agent["status"] = json!("running");
    }
    let count = agents.len();
    object_at(document, &["observability", "metrics"])
        .insert("agent_count".to_owned(), json!(count));
}

/// Save what compaction would forget: open to-dos, the files edited last, the last test run
/// and any `execution.notes`, under `execution.snapshot`.
pub(crate) fn snapshot(document: &mut Value, now: Timestamp, trigger: &str) {
    let open_todos: Vec<Value> = document
        .pointer("/execution/todos/items")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter(|item| item.get("status").and_then(Value::as_str) != Some("completed"))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let mut files: Vec<(String, String)> = document
        .pointer("/execution/files")
        .and_then(Value::as_object)
        .map(|files| {
            files
                .iter()
                .map(|(path, file)| {
                    let at = file.get("last_edit").and_then(Value::as_str).unwrap_or("");
                    (at.to_owned(), path.clone())
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort_by(|a, b| b.cmp(a));
    let files: Vec<String> = files.into_iter().take(20).map(|(_, path)| path).collect();
    let tests = document
        .pointer("/execution/tests/last")
        .cloned()
        .unwrap_or(Value::Null);
    let notes = document
        .pointer("/execution/notes")
        .cloned()
        .unwrap_or(Value::Null);
    // The last messages people left: the model read them, and compaction would forget them.
    let messages = orchestron_core::inbox::messages(document);
    let inbox: Vec<&str> = messages
        .iter()
        .rev()
        .take(5)
        .rev()
        .filter_map(|message| message.get("text").and_then(Value::as_str))
        .collect();
    object_at(document, &["execution"]).insert(
        "snapshot".to_owned(),
        json!({"at": format_time(now), "trigger": trigger, "open_todos": open_todos,
               "files": files, "last_test": tests, "notes": notes, "inbox": inbox}),
    );
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
    let mut last = json!({"command": truncate(command, 500), "passed": passed, "at": at});
    if let Some(error) = error {
        last["error"] = json!(truncate(error, 500));
    }
    tests.insert("last".to_owned(), last);
}

/// Replace the to-do list and recompute its progress.
fn set_todos(document: &mut Value, source: &str, items: Vec<Value>, at: &str) {
    let todos = object_at(document, &["execution", "todos"]);
    todos.insert("source".to_owned(), json!(source));
    todos.insert("items".to_owned(), Value::Array(items));
    todos.insert("updated_at".to_owned(), json!(at));
    recount(todos);
}

/// Create or update the task `id` of a Task-tool list; status `deleted` removes it.
fn upsert_task(
    document: &mut Value,
    id: &str,
    subject: Option<&str>,
    status: Option<&str>,
    at: &str,
) {
    let todos = object_at(document, &["execution", "todos"]);
    let listed = todos.get("items").is_some_and(Value::is_array);
    if todos.get("source").and_then(Value::as_str) != Some("Tasks") || !listed {
        // A list from another tool (or none): the Task tools start their own.
        todos.insert("source".to_owned(), json!("Tasks"));
        todos.insert("items".to_owned(), json!([]));
    }
    let items = todos
        .get_mut("items")
        .and_then(Value::as_array_mut)
        .expect("made above");
    let position = items
        .iter()
        .position(|item| item.get("id").and_then(Value::as_str) == Some(id));
    if status == Some("deleted") {
        if let Some(position) = position {
            items.remove(position);
        }
    } else {
        let item = match position {
            Some(position) => as_object(&mut items[position]),
            None => {
                items
                    .push(json!({"id": id, "content": subject.unwrap_or(id), "status": "pending"}));
                items.last_mut().expect("just pushed")
            }
        };
        if let Some(subject) = subject {
            item["content"] = json!(subject);
        }
        if let Some(status) = status {
            item["status"] = json!(status);
        }
    }
    todos.insert("updated_at".to_owned(), json!(at));
    recount(todos);
}

fn recount(todos: &mut Map<String, Value>) {
    let items = todos.get("items").and_then(Value::as_array);
    let total = items.map_or(0, Vec::len);
    let done = items.map_or(0, |items| {
        items
            .iter()
            .filter(|item| item.get("status").and_then(Value::as_str) == Some("completed"))
            .count()
    });
    let progress = (done * 100).checked_div(total).unwrap_or(0);
    todos.insert("done".to_owned(), json!(done));
    todos.insert("total".to_owned(), json!(total));
    todos.insert("progress".to_owned(), json!(progress));
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

fn bump(object: &mut Value, key: &str) {
    let count = object.get(key).and_then(Value::as_u64).unwrap_or(0);
    object[key] = json!(count + 1);
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-01-01T00:00:00Z".parse().unwrap()
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

        let todo_input = json!({"todos": [
            {"content": "a", "status": "completed", "activeForm": "A"},
            {"content": "b", "status": "pending", "activeForm": "B"}]});
        let todo = ToolCall {
            name: "TodoWrite",
            input: &todo_input,
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
}
