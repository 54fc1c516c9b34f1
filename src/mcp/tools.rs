//! The MCP tools: each a name, a description that says when to use it, and an exact input
//! schema, which also checks every call's arguments before the core is asked (the schema is
//! the one source of what a tool takes). A call answers text for people and the same
//! result as `structuredContent`; a failed operation is a result with `isError: true` and
//! the core's message and hint, never a JSON-RPC error.

use serde_json::{Map, Value, json};

use super::{INVALID_PARAMS, RpcError};
use crate::context::Context;
use orchestron_core::tracker::model::{Kind, Priority, Status};
use orchestron_core::tracker::tasks::{self, Changes, ListFilter, NewItem};

/// The most items `task_list` returns in one call.
const MAX_LIST: u64 = 200;

/// The longest item id (or prefix) a tool takes: ids are a dozen characters.
pub(super) const MAX_ID: u64 = 100;

fn statuses() -> Value {
    json!(Status::NAMES)
}

/// Every tool, as `tools/list` gives it: its name, description and input schema, and the
/// schema of its `structuredContent`.
pub(super) fn list() -> &'static [Value] {
    static TOOLS: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    TOOLS.get_or_init(|| {
        let mut tools = inputs().to_vec();
        for tool in &mut tools {
            let name = tool["name"].as_str().unwrap_or_default().to_owned();
            tool["outputSchema"] = output_schema(&name);
        }
        tools
    })
}

/// An item as results give it: the fields a client relies on (the rest are those of the
/// command line's JSON).
fn item_schema() -> Value {
    json!({"type": "object", "required": ["id", "type", "status", "priority", "title"],
        "properties": {"id": {"type": "string"}, "type": {"enum": Kind::NAMES},
            "status": {"enum": statuses()}, "priority": {"enum": Priority::NAMES},
            "title": {"type": "string"}, "progress": {"type": "integer"},
            "assignee": {"type": ["string", "null"]}}})
}

/// The schema of tool `name`'s `structuredContent`.
fn output_schema(name: &str) -> Value {
    let object = |required: &[&str], properties: Value| json!({"type": "object", "required": required, "properties": properties});
    let any_object = json!({"type": "object"});
    match name {
        "task_next" => object(
            &["item"],
            json!({"item": {"anyOf": [item_schema(), {"type": "null"}]}}),
        ),
        "task_list" => object(
            &["items"],
            json!({"items": {"type": "array", "items": item_schema()}}),
        ),
        "task_update" => object(
            &["item", "done"],
            json!({"item": item_schema(), "done": {"type": "array", "items": {"type": "string"}}}),
        ),
        "task_get" | "task_create" | "ask_human" => {
            object(&["item"], json!({"item": item_schema()}))
        }
        "decide" => object(
            &["decision", "review_points"],
            json!({"decision": {"type": "object", "required": ["id", "title"]},
                   "review_points": {"type": "array"}}),
        ),
        "memory_search" => object(
            &["memory"],
            json!({"memory": {"type": "array", "items": {"type": "object",
                "required": ["kind", "key"]}}}),
        ),
        "memory_add" => object(
            &["memory"],
            json!({"memory": {"type": "object", "required": ["kind", "key"]}}),
        ),
        "plan_summary" => json!({"type": "object", "minProperties": 1, "maxProperties": 1,
            "properties": {"summary": any_object, "board": any_object}}),
        "state" => object(
            &["path"],
            json!({"path": {"type": "string"}, "value": {},
                   "matched": {"type": "integer"}, "changed": {"type": "boolean"}}),
        ),
        "handoff" => object(&["handoff"], json!({"handoff": any_object})),
        _ => any_object,
    }
}

/// Every tool's name, description and input schema: what the model reads.
fn inputs() -> &'static [Value] {
    static INPUTS: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    INPUTS.get_or_init(|| vec![
        json!({
            "name": "task_next",
            "description": "The next ready item of the plan for this session (its agent's \
                skills first, then priority). Use it when you need work; with claim: true it \
                becomes yours (IN_PROGRESS).",
            "inputSchema": {"type": "object", "additionalProperties": false, "properties": {
                "claim": {"type": "boolean", "description": "Take it now"}}},
        }),
        json!({
            "name": "task_get",
            "description": "One item with its dependencies, checkpoints and children. Use it to \
                read an item before working on it.",
            "inputSchema": {"type": "object", "additionalProperties": false,
                "required": ["id"], "properties": {
                "id": {"type": "string", "minLength": 1, "maxLength": MAX_ID, "description": "The item's id or a unique prefix"}}},
        }),
        json!({
            "name": "task_list",
            "description": "Open items, most urgent first, filtered. Use it to see the plan or \
                find an item.",
            "inputSchema": {"type": "object", "additionalProperties": false, "properties": {
                "status": {"type": "string", "enum": statuses()},
                "kind": {"type": "string", "enum": Kind::NAMES},
                "label": {"type": "string", "minLength": 1},
                "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIST,
                    "description": "At most this many (default 20)"}}},
        }),
        json!({
            "name": "task_create",
            "description": "Add an item to the plan. Use it for work you find that is not in \
                the plan yet.",
            "inputSchema": {"type": "object", "additionalProperties": false,
                "required": ["title"], "properties": {
                "title": {"type": "string", "minLength": 1},
                "kind": {"type": "string", "enum": Kind::NAMES},
                "priority": {"type": "string", "enum": Priority::NAMES},
                "description": {"type": "string"},
                "estimate": {"type": "number", "minimum": 0,
                    "maximum": tasks::MAX_ESTIMATE_HOURS, "description": "Hours"},
                "labels": {"type": "array", "items": {"type": "string", "minLength": 1}},
                "parent": {"type": "string", "minLength": 1, "maxLength": MAX_ID},
                "depends_on": {"type": "array", "items": {"type": "string", "minLength": 1,
                    "maxLength": MAX_ID}}}},
        }),
        json!({
            "name": "task_update",
            "description": "Report on an item you work on: its status, progress, a checkpoint \
                done, a note for its history, or who has it. Use it as you go and when you finish \
                (status DONE).",
            "inputSchema": {"type": "object", "additionalProperties": false,
                "required": ["id"], "properties": {
                "id": {"type": "string", "minLength": 1, "maxLength": MAX_ID},
                "status": {"type": "string", "enum": statuses()},
                "reason": {"type": "string", "minLength": 1, "description": "Why, with BLOCKED"},
                "priority": {"type": "string", "enum": Priority::NAMES},
                "assignee": {"type": "string", "minLength": 1,
                    "description": "An agent's name or a session id"},
                "progress": {"type": "integer", "minimum": 0, "maximum": 100},
                "checkpoint": {"type": "string", "minLength": 1,
                    "description": "A checkpoint to mark done (added if missing)"},
                "note": {"type": "string", "minLength": 1}}},
        }),
        json!({
            "name": "ask_human",
            "description": "Ask a person a question about an item. Use it when you cannot \
                decide alone: the item is blocked until they answer, and waits in their \
                attention queue.",
            "inputSchema": {"type": "object", "additionalProperties": false,
                "required": ["id", "question"], "properties": {
                "id": {"type": "string", "minLength": 1, "maxLength": MAX_ID},
                "question": {"type": "string", "minLength": 1}}},
        }),
        json!({
            "name": "decide",
            "description": "Record a decision with its rationale, so that later sessions and \
                agents follow it. Use it when you choose between options that matter; a \
                high-severity one may pause you until a person approves it.",
            "inputSchema": {"type": "object", "additionalProperties": false,
                "required": ["title"], "properties": {
                "title": {"type": "string", "minLength": 1},
                "rationale": {"type": "string"},
                "severity": {"type": "string", "enum": ["low", "medium", "high"]},
                "task": {"type": "string", "minLength": 1, "maxLength": MAX_ID,
                    "description": "The item it is about"}}},
        }),
        json!({
            "name": "memory_search",
            "description": "Search what agents learned (patterns, pitfalls, conventions) by \
                words. Use it before solving something others may have met.",
            "inputSchema": {"type": "object", "additionalProperties": false,
                "required": ["query"], "properties": {
                "query": {"type": "string", "minLength": 1}}},
        }),
        json!({
            "name": "memory_add",
            "description": "Keep something learned for other sessions and agents, under a kind \
                (pattern, pitfall, convention, …) and a key. Use it when you found out \
                something the next one should know.",
            "inputSchema": {"type": "object", "additionalProperties": false,
                "required": ["kind", "key", "description"], "properties": {
                "kind": {"type": "string", "minLength": 1},
                "key": {"type": "string", "minLength": 1},
                "description": {"type": "string", "minLength": 1},
                "confidence": {"type": "number", "minimum": 0, "maximum": 1}}},
        }),
        json!({
            "name": "plan_summary",
            "description": "The project at a glance: the summary (sprint, counts, blockers, \
                sessions) or the board (columns of items). Use it to orient yourself.",
            "inputSchema": {"type": "object", "additionalProperties": false, "properties": {
                "view": {"type": "string", "enum": ["summary", "board"]}}},
        }),
        json!({
            "name": "state",
            "description": "Read or set a value in this session's own JSON state (a dot path \
                such as `sprint.goal`, or a JSONPath to read). Use it to keep working notes \
                that survive compaction.",
            "inputSchema": {"type": "object", "additionalProperties": false,
                "required": ["path"], "properties": {
                "path": {"type": "string", "minLength": 1},
                "value": {"description": "Set this value at the path (any JSON); without it, read"}}},
        }),
        json!({
            "name": "handoff",
            "description": "Leave the handoff the next session starts from: the next steps and a \
                note. Use it before you stop with work left.",
            "inputSchema": {"type": "object", "additionalProperties": false, "properties": {
                "next_steps": {"type": "array", "items": {"type": "string", "minLength": 1}},
                "note": {"type": "string", "minLength": 1}}},
        }),
    ])
}

/// Check `args` against `schema` (the subset of JSON Schema the tools use): the error names
/// the field.
fn check(schema: &Value, args: &Map<String, Value>) -> Result<(), RpcError> {
    let bad = |message: String| Err(RpcError::new(INVALID_PARAMS, message));
    let properties = schema["properties"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for key in args.keys() {
        if !properties.contains_key(key) {
            return bad(format!("unknown field `{key}`"));
        }
    }
    for required in schema["required"].as_array().into_iter().flatten() {
        let name = required.as_str().unwrap_or_default();
        if !args.contains_key(name) {
            return bad(format!("missing field `{name}`"));
        }
    }
    for (key, value) in args {
        check_value(key, &properties[key], value)?;
    }
    Ok(())
}

fn check_value(field: &str, schema: &Value, value: &Value) -> Result<(), RpcError> {
    let bad = |what: &str| {
        Err(RpcError::new(
            INVALID_PARAMS,
            format!("`{field}` must be {what}"),
        ))
    };
    match schema["type"].as_str() {
        Some("string") => {
            let Some(text) = value.as_str() else {
                return bad("a string");
            };
            if let Some(min) = schema["minLength"].as_u64()
                && (text.chars().count() as u64) < min
            {
                return bad("a non-empty string");
            }
            if let Some(max) = schema["maxLength"].as_u64()
                && (text.chars().count() as u64) > max
            {
                return bad(&format!("at most {max} characters"));
            }
            if let Some(options) = schema["enum"].as_array()
                && !options.iter().any(|option| option.as_str() == Some(text))
            {
                let names: Vec<&str> = options.iter().filter_map(Value::as_str).collect();
                return bad(&format!("one of {}", names.join(", ")));
            }
        }
        Some("boolean") if !value.is_boolean() => return bad("true or false"),
        Some("integer") => {
            // JSON Schema counts 5.0 as an integer too.
            let number = value.as_i64().or_else(|| {
                value
                    .as_f64()
                    .filter(|float| float.fract() == 0.0 && float.abs() < 9.0e15)
                    .map(|float| float as i64)
            });
            let Some(number) = number else {
                return bad("an integer");
            };
            let min = schema["minimum"].as_i64().unwrap_or(i64::MIN);
            let max = schema["maximum"].as_i64().unwrap_or(i64::MAX);
            if !(min..=max).contains(&number) {
                return bad(&format!("an integer from {min} to {max}"));
            }
        }
        Some("number") => {
            let Some(number) = value.as_f64() else {
                return bad("a number");
            };
            let min = schema["minimum"].as_f64().unwrap_or(f64::MIN);
            let max = schema["maximum"].as_f64().unwrap_or(f64::MAX);
            if !(min..=max).contains(&number) {
                return bad(&format!("a number from {min} to {max}"));
            }
        }
        Some("array") => {
            let Some(items) = value.as_array() else {
                return bad("a list");
            };
            for item in items {
                check_value(field, &schema["items"], item)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// `tools/call`: check the arguments, run the tool, and answer its result.
pub(super) fn call(context: &Context, params: &Value) -> Result<Value, RpcError> {
    let name = params
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| RpcError::new(INVALID_PARAMS, "missing field `name`"))?;
    let tool = inputs()
        .iter()
        .find(|tool| tool["name"] == name)
        .ok_or_else(|| RpcError::new(INVALID_PARAMS, format!("unknown tool `{name}`")))?;
    let args = match params.get("arguments") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(args)) => args.clone(),
        Some(_) => {
            return Err(RpcError::new(
                INVALID_PARAMS,
                "`arguments` must be an object",
            ));
        }
    };
    check(&tool["inputSchema"], &args)?;
    let result = match held(context, name, &args) {
        Some(reason) => Err(anyhow::anyhow!(reason)),
        None => run(context, name, &args),
    };
    Ok(match result {
        Ok((text, structured)) => json!({
            "content": [{"type": "text", "text": text}],
            "structuredContent": structured,
            "isError": false,
        }),
        Err(err) => {
            let mut text = format!("{err:#}");
            if let Some(hint) = err
                .chain()
                .find_map(|cause| cause.downcast_ref::<orchestron_core::Error>())
                .and_then(orchestron_core::Error::hint)
            {
                text.push_str(&format!("\nhint: {hint}"));
            }
            json!({"content": [{"type": "text", "text": text}], "isError": true})
        }
    })
}

/// A whole number argument (checked by the schema already: `5` or `5.0`).
fn whole(args: &Map<String, Value>, key: &str) -> Option<u64> {
    let value = args.get(key)?;
    value
        .as_u64()
        .or_else(|| value.as_f64().map(|float| float as u64))
}

/// Why this call is refused while the acting session is paused, if it is: a plain pause
/// refuses every tool, a hold for approval those that write (as PreToolUse does, by the
/// name `init --mcp` gives the server; the hook's list is the one list).
fn held(context: &Context, name: &str, args: &Map<String, Value>) -> Option<String> {
    let session = context
        .session_hint()
        .and_then(|raw| orchestron_core::ids::SessionId::parse(raw).ok())?;
    // Reads of `task_next` and `state` write nothing.
    let reads = match name {
        "task_next" => args.get("claim").and_then(Value::as_bool) != Some(true),
        "state" => !args.contains_key("value"),
        _ => false,
    };
    let tool = if reads {
        "mcp__orchestron__task_get".to_owned()
    } else {
        format!("mcp__orchestron__{name}")
    };
    crate::hook::refused_while_paused(context, &session, &tool)
}

fn text<'a>(args: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    args.get(key).and_then(Value::as_str)
}

fn strings(args: &Map<String, Value>, key: &str) -> Vec<String> {
    args.get(key)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The fields of an item a result carries, beside those that are null or empty: Claude Code
/// hands the model a tool's `structuredContent` in place of its text, so a result stays
/// lean; `task_get` gives the whole item.
const BRIEF: [&str; 12] = [
    "id",
    "type",
    "status",
    "priority",
    "title",
    "progress",
    "assignee",
    "assignee_name",
    "parent",
    "labels",
    "estimate",
    "blocked_reason",
];

/// An item as a result carries it (see [`BRIEF`]), with `generation` when a claim took it.
fn brief(view: &impl serde::Serialize) -> anyhow::Result<Value> {
    let Value::Object(mut all) = serde_json::to_value(view)? else {
        return Ok(Value::Null);
    };
    all.retain(|key, value| {
        (BRIEF.contains(&key.as_str()) || key == "generation")
            && !value.is_null()
            && value.as_array().is_none_or(|list| !list.is_empty())
    });
    Ok(Value::Object(all))
}

/// An item in one line: id, status, priority, title.
fn line(view: &tasks::ItemView) -> String {
    let item = &view.item;
    format!(
        "{} {} {} {}",
        item.id, item.status, item.priority, item.title
    )
}

/// Run tool `name` (its arguments checked already): its text and structured result.
fn run(
    context: &Context,
    name: &str,
    args: &Map<String, Value>,
) -> anyhow::Result<(String, Value)> {
    let cx = context.core()?;
    match name {
        "task_next" => {
            let claim = args.get("claim").and_then(Value::as_bool).unwrap_or(false);
            let agent = context.agent();
            let skills = context.agent_skills();
            match tasks::next(cx, None, claim, agent.as_deref(), &skills)? {
                Some(next) => {
                    let said = if claim {
                        let by = next.view.item.assignee.as_deref().unwrap_or_default();
                        format!("claimed by {by}: {}", line(&next.view))
                    } else {
                        format!("next: {}", line(&next.view))
                    };
                    Ok((said, json!({ "item": brief(&next)? })))
                }
                None => Ok(("no item is ready".to_owned(), json!({ "item": null }))),
            }
        }
        "task_get" => {
            let detail = tasks::show(cx, text(args, "id").unwrap_or_default())?;
            let said = line(&detail.view);
            Ok((said, json!({ "item": detail })))
        }
        "task_list" => {
            let filter = ListFilter {
                status: text(args, "status").map(str::parse).transpose()?,
                kind: text(args, "kind").map(str::parse).transpose()?,
                label: text(args, "label").map(str::to_owned),
                limit: Some(whole(args, "limit").unwrap_or(20)),
                ..ListFilter::default()
            };
            let found = tasks::list(cx, &filter)?;
            let said = if found.is_empty() {
                "no item matches".to_owned()
            } else {
                found.iter().map(line).collect::<Vec<_>>().join("\n")
            };
            let items = found
                .iter()
                .map(brief)
                .collect::<anyhow::Result<Vec<_>>>()?;
            Ok((said, json!({ "items": items })))
        }
        "task_create" => {
            let new = NewItem {
                kind: text(args, "kind")
                    .map(str::parse)
                    .transpose()?
                    .unwrap_or(Kind::Task),
                title: text(args, "title").unwrap_or_default().to_owned(),
                description: text(args, "description").unwrap_or_default().to_owned(),
                status: Status::Todo,
                priority: text(args, "priority")
                    .map(str::parse)
                    .transpose()?
                    .unwrap_or(Priority::Medium),
                estimate: args.get("estimate").and_then(Value::as_f64),
                assignee: None,
                labels: strings(args, "labels"),
                files: Vec::new(),
                parent: text(args, "parent").map(str::to_owned),
            };
            let created = tasks::create_waiting(cx, &new, &strings(args, "depends_on"))?;
            let view = tasks::view_of(cx, &created.item.id)?;
            Ok((
                format!("created: {}", line(&view)),
                json!({ "item": brief(&view)? }),
            ))
        }
        "task_update" => {
            let id = text(args, "id").unwrap_or_default();
            let mut done = Vec::new();
            // Every step below is its own transaction: what one step would refuse after
            // another is checked first, so that a refused call changes nothing. (Each step
            // checks the item's claim itself; the first refuses a stale one.)
            for field in ["checkpoint", "note", "reason", "assignee"] {
                if let Some(value) = text(args, field) {
                    tasks::check_text(field, value)?;
                }
            }
            let progress = whole(args, "progress");
            if let Some(progress) = progress.filter(|progress| *progress != 100) {
                let current = tasks::view_of(cx, id)?.item.status;
                let after = match text(args, "status") {
                    Some(status) => status.parse()?,
                    None => current,
                };
                if after == Status::Done {
                    return Err(orchestron_core::Error::conflict(format!(
                        "a DONE item's progress is 100; it cannot be set to {progress}"
                    ))
                    .with_hint("leave `progress` out, or give 100")
                    .into());
                }
            }
            let changes = Changes {
                status: text(args, "status").map(str::parse).transpose()?,
                reason: text(args, "reason").map(str::to_owned),
                priority: text(args, "priority").map(str::parse).transpose()?,
                assignee: text(args, "assignee").map(str::to_owned),
                ..Changes::default()
            };
            if changes.status.is_some()
                || changes.reason.is_some()
                || changes.priority.is_some()
                || changes.assignee.is_some()
            {
                tasks::update(cx, id, &changes)?;
                for field in ["status", "priority", "assignee", "reason"] {
                    if let Some(value) = text(args, field) {
                        done.push(format!("{field} {value}"));
                    }
                }
            }
            if let Some(progress) = progress {
                let percent = u8::try_from(progress).unwrap_or(100);
                let (_, fired) = orchestron_core::reviews::set_progress(cx, id, percent)?;
                done.push(format!("progress {percent}%"));
                done.extend(fired.into_iter().map(|fired| fired.note));
            }
            if let Some(checkpoint) = text(args, "checkpoint") {
                tasks::checkpoint(
                    cx,
                    id,
                    &tasks::CheckpointChange::DoneText(checkpoint.to_owned()),
                )?;
                done.push(format!("checkpoint done: {checkpoint}"));
            }
            if let Some(note) = text(args, "note") {
                tasks::log(cx, id, note)?;
                done.push("note kept".to_owned());
            }
            let view = tasks::view_of(cx, id)?;
            let said = if done.is_empty() {
                format!("nothing to change: {}", line(&view))
            } else {
                format!("{}: {}", line(&view), done.join("; "))
            };
            Ok((said, json!({ "item": brief(&view)?, "done": done })))
        }
        "ask_human" => {
            let view = tasks::ask(
                cx,
                text(args, "id").unwrap_or_default(),
                text(args, "question").unwrap_or_default(),
            )?;
            Ok((
                format!(
                    "asked; {} is BLOCKED until a person answers (`orchestron attention` lists it)",
                    view.item.id
                ),
                json!({ "item": brief(&view)? }),
            ))
        }
        "decide" => {
            let new = orchestron_core::tracker::knowledge::NewDecision {
                title: text(args, "title").unwrap_or_default().to_owned(),
                rationale: text(args, "rationale").map(str::to_owned),
                alternatives: Vec::new(),
                pros: Vec::new(),
                cons: Vec::new(),
                task: text(args, "task").map(str::to_owned),
                severity: text(args, "severity").and_then(orchestron_core::reviews::severity),
            };
            let (decision, fired) = orchestron_core::reviews::decide(cx, &new)?;
            let mut said = format!("recorded {} {}", decision.id, decision.title);
            for fired in &fired {
                said.push_str(&format!("\n{}", fired.note));
            }
            Ok((
                said,
                json!({ "decision": decision, "review_points": fired }),
            ))
        }
        "memory_search" => {
            let found = orchestron_core::tracker::knowledge::search_memory(
                cx,
                text(args, "query").unwrap_or_default(),
            )?;
            let said = if found.is_empty() {
                "nothing learned matches".to_owned()
            } else {
                found
                    .iter()
                    .map(|memory| format!("{}/{}: {}", memory.kind, memory.key, memory.description))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            Ok((said, json!({ "memory": found })))
        }
        "memory_add" => {
            let new = orchestron_core::tracker::knowledge::NewMemory {
                kind: text(args, "kind").unwrap_or_default().to_owned(),
                key: text(args, "key").unwrap_or_default().to_owned(),
                description: text(args, "description").map(str::to_owned),
                confidence: args.get("confidence").and_then(Value::as_f64),
                details: Vec::new(),
            };
            let memory = orchestron_core::tracker::knowledge::add_memory(cx, &new)?;
            Ok((
                format!("kept {}/{}", memory.kind, memory.key),
                json!({ "memory": memory }),
            ))
        }
        "plan_summary" => {
            let (view, value) = if text(args, "view") == Some("board") {
                ("board", orchestron_core::views::board(cx, None, 20)?)
            } else {
                ("summary", orchestron_core::views::summary(cx)?)
            };
            Ok((
                serde_json::to_string_pretty(&value)?,
                json!({ view: value }),
            ))
        }
        "state" => {
            let session = context.current_session()?;
            let raw = text(args, "path").unwrap_or_default();
            let mut path = orchestron_core::docpath::DocPath::parse(raw)?;
            if path.is_query() {
                path = path.with_max_nodes(context.config()?.query_max_nodes());
            }
            match args.get("value") {
                Some(_) if path.is_query() => Err(orchestron_core::error::hinted(
                    "`state` sets a value by a dot path (`notes.db`), not a JSONPath",
                    "read with the JSONPath, then set each place by its dot path",
                )),
                Some(_)
                    if matches!(&path, orchestron_core::docpath::DocPath::Dot(steps)
                        if matches!(steps.first(), Some(orchestron_core::docpath::Step::Key(key)) if key == "session")) =>
                {
                    Err(orchestron_core::error::hinted(
                        "`session` is Orchestron's own part of the document: `state` does not \
                         change it",
                        "keep your notes under another key, such as `notes`",
                    ))
                }
                Some(value) => {
                    let applied = orchestron_core::sessions::edit_state(
                        cx,
                        &session,
                        &path,
                        orchestron_core::docpath::Edit::Set(value),
                        orchestron_core::sessions::EditOptions {
                            create: None,
                            force: false,
                        },
                    )?;
                    Ok((
                        format!("set {raw} ({} place(s))", applied.matched),
                        json!({ "path": raw, "matched": applied.matched, "changed": applied.changed }),
                    ))
                }
                None => {
                    let document = orchestron_core::sessions::info(cx, &session)?;
                    let found = match path.find(&document)? {
                        orchestron_core::docpath::Found::One(value) => {
                            value.cloned().unwrap_or(Value::Null)
                        }
                        orchestron_core::docpath::Found::Many(matches) => Value::Array(
                            matches
                                .into_iter()
                                .map(|(_, value)| value.clone())
                                .collect(),
                        ),
                    };
                    Ok((
                        serde_json::to_string(&found)?,
                        json!({ "path": raw, "value": found }),
                    ))
                }
            }
        }
        "handoff" => {
            let session = context.current_session()?;
            let steps = strings(args, "next_steps");
            let fallback = context
                .default_project()
                .unwrap_or_else(|| "project".to_owned());
            let written = orchestron_core::handoffs::write(
                cx,
                &orchestron_core::handoffs::Writer::Session(session),
                &steps,
                text(args, "note"),
                false,
                &fallback,
            )?;
            Ok((
                "handoff kept for the next session".to_owned(),
                json!({ "handoff": written }),
            ))
        }
        other => anyhow::bail!("no tool `{other}`"),
    }
}
