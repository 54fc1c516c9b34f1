//! A scripted stand-in for the Anthropic Messages API on 127.0.0.1, so the real Claude Code
//! CLI runs offline: hooks, plugins and commands run for real, only the model's answers are
//! scripted.
//!
//! How a reply is chosen (stateless, so retries and side requests do no harm):
//! - a `POST /v1/messages` that carries `tools` is a turn of the main loop; it gets
//!   `steps[n]`, where `n` counts the assistant messages already in the conversation (the
//!   last step repeats);
//! - a request without tools (a title, a summary) gets `side_text`.
//!
//! A step is `{"text": …}`, `{"tool_use": {"name": …, "input": …}}`, `{"tool_uses": [...]}`
//! or several of these. `{{CWD}}` in a tool input becomes the working directory Claude Code
//! names in its prompt. Every request is appended to `mock-requests.jsonl`.
//!
//! For the workers' tests (many sessions against one mock):
//! - `routes`: `[{"match": TEXT or [TEXT, …], "steps": [...]}]`; a route whose texts all
//!   occur in the conversation's first user message (the prompt: the item id, "attempt 2
//!   of 2", a reviewer's feedback) replaces `steps`; the last matching route wins;
//! - `"sleep_ms": N` on a step holds the answer back N ms (a model that stops answering,
//!   for a stall; or a worker kept busy while a test acts);
//! - `"usage": {"input_tokens": …, "output_tokens": …}` on a step, or on the scenario for
//!   every answer (side requests included), sets the tokens an answer reports, so Claude
//!   Code's `total_cost_usd` is predictable (it prices the usage at the model's list price).

use std::fs::OpenOptions;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

/// A running mock. It stops with the test process.
pub(crate) struct Mock {
    pub(crate) port: u16,
}

struct Shared {
    scenario: Value,
    log: Mutex<PathBuf>,
    ids: AtomicU64,
}

impl Mock {
    /// Listen on a free loopback port, answering from `scenario`, logging to `log`.
    pub(crate) fn start(scenario: Value, log: &Path) -> Mock {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            scenario,
            log: Mutex::new(log.to_path_buf()),
            ids: AtomicU64::new(1),
        });
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || {
                    let _ = serve(stream, &shared);
                });
            }
        });
        Mock { port }
    }
}

fn serve(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line)? == 0 {
            return Ok(());
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let path = parts.next().unwrap_or_default().to_owned();
        let mut length = 0;
        let mut chunked = false;
        let mut keep_alive = true;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap_or((line, ""));
            let (name, value) = (name.to_ascii_lowercase(), value.trim());
            match name.as_str() {
                "content-length" => length = value.parse().unwrap_or(0),
                "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                "connection" => keep_alive = !value.eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
        let body = if chunked {
            read_chunked(&mut reader)?
        } else {
            let mut body = vec![0; length];
            reader.read_exact(&mut body)?;
            body
        };
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        record(shared, &method, &path, &body);
        let mut out = stream.try_clone()?;
        let close = respond(&mut out, shared, &method, &path, &body)?;
        if close || !keep_alive {
            return Ok(());
        }
    }
}

fn read_chunked(reader: &mut BufReader<TcpStream>) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size)?;
        let size =
            usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk)?;
        if size == 0 {
            return Ok(body);
        }
        body.extend_from_slice(&chunk[..size]);
    }
}

fn record(shared: &Shared, method: &str, path: &str, body: &Value) {
    let log = shared.log.lock().unwrap();
    let line = json!({"method": method, "path": path, "body": body});
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&*log)
        .expect("open the mock's log");
    writeln!(file, "{line}").unwrap();
}

/// Answer one request. Returns whether the connection must close afterwards.
fn respond(
    out: &mut TcpStream,
    shared: &Shared,
    method: &str,
    path: &str,
    body: &Value,
) -> std::io::Result<bool> {
    let path = path.split('?').next().unwrap_or_default();
    if method == "HEAD" {
        write!(out, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")?;
        return Ok(false);
    }
    if method == "GET" && path.trim_end_matches('/') == "/v1/models" {
        let model = "claude-mock-1";
        let models = json!({"data": [{"type": "model", "id": model, "display_name": model,
            "created_at": "2025-01-01T00:00:00Z"}], "has_more": false,
            "first_id": model, "last_id": model});
        return send_json(out, 200, &models);
    }
    if method == "POST" && path.ends_with("/v1/messages/count_tokens") {
        let tokens = body.to_string().len() / 4 + 1;
        return send_json(out, 200, &json!({"input_tokens": tokens}));
    }
    if method != "POST" || !path.ends_with("/v1/messages") || !body.is_object() {
        let error = json!({"type": "error", "error": {"type": "not_found_error",
            "message": format!("mock: {method} {path}")}});
        return send_json(out, 404, &error);
    }
    let message = reply(shared, body);
    if body["stream"].as_bool() == Some(true) {
        stream(out, &message)?;
        return Ok(true);
    }
    send_json(out, 200, &message)
}

fn send_json(out: &mut TcpStream, status: u16, value: &Value) -> std::io::Result<bool> {
    let text = value.to_string();
    write!(
        out,
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nrequest-id: req_mock\r\n\r\n{text}",
        if status == 200 { "OK" } else { "Error" },
        text.len()
    )?;
    out.flush()?;
    Ok(false)
}

/// The assistant message for one request.
fn reply(shared: &Shared, body: &Value) -> Value {
    let scenario = &shared.scenario;
    let id = shared.ids.fetch_add(1, Ordering::Relaxed);
    let mut content = Vec::new();
    let mut stop = "end_turn";
    let mut usage = scenario.get("usage").cloned();
    if body["tools"]
        .as_array()
        .is_some_and(|tools| !tools.is_empty())
    {
        let step = pick_step(scenario, body);
        if let Some(ms) = step["sleep_ms"].as_u64() {
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
        if let Some(own) = step.get("usage") {
            usage = Some(own.clone());
        }
        let cwd = find_cwd(body);
        if let Some(text) = step["text"].as_str() {
            content.push(json!({"type": "text", "text": text}));
        }
        let mut uses: Vec<Value> = step["tool_uses"].as_array().cloned().unwrap_or_default();
        if step["tool_use"].is_object() {
            uses.insert(0, step["tool_use"].clone());
        }
        for (i, tool) in uses.iter().enumerate() {
            let input = fill(
                tool.get("input").cloned().unwrap_or(json!({})),
                cwd.as_deref(),
            );
            content.push(
                json!({"type": "tool_use", "id": format!("toolu_mock{id:06}{i}"),
                "name": tool["name"], "input": input}),
            );
            stop = "tool_use";
        }
        if content.is_empty() {
            content.push(json!({"type": "text", "text": "(empty step)"}));
        }
    } else {
        let text = scenario["side_text"].as_str().unwrap_or("ok");
        content.push(json!({"type": "text", "text": text}));
    }
    let model = body["model"].as_str().unwrap_or("claude-mock-1");
    let tokens = |name: &str, default: u64| {
        usage
            .as_ref()
            .and_then(|usage| usage[name].as_u64())
            .unwrap_or(default)
    };
    json!({"id": format!("msg_mock{id:06}"), "type": "message", "role": "assistant",
        "model": model, "content": content, "stop_reason": stop, "stop_sequence": null,
        "usage": {"input_tokens": tokens("input_tokens", 10),
            "output_tokens": tokens("output_tokens", 10),
            "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}})
}

/// Whether a route's `match` (one text, or a list that must all occur) fits `first`.
fn route_matches(route: &Value, first: &str) -> bool {
    match &route["match"] {
        Value::String(text) => first.contains(text.as_str()),
        Value::Array(texts) => {
            !texts.is_empty()
                && texts
                    .iter()
                    .all(|text| text.as_str().is_some_and(|text| first.contains(text)))
        }
        _ => false,
    }
}

fn pick_step(scenario: &Value, body: &Value) -> Value {
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let first: String = messages
        .iter()
        .take_while(|m| m["role"] != "assistant")
        .map(|m| m["content"].to_string())
        .collect();
    let mut steps = scenario["steps"].as_array().cloned().unwrap_or_default();
    for route in scenario["routes"].as_array().into_iter().flatten() {
        if route_matches(route, &first) {
            steps = route["steps"].as_array().cloned().unwrap_or_default();
        }
    }
    if steps.is_empty() {
        return json!({"text": "Done."});
    }
    let done = messages.iter().filter(|m| m["role"] == "assistant").count();
    steps[done.min(steps.len() - 1)].clone()
}

/// The working directory Claude Code names in its system prompt.
fn find_cwd(body: &Value) -> Option<String> {
    let text = format!("{}{}", body["system"], body["messages"]);
    for marker in [
        "Primary working directory: ",
        "primary working directory: ",
        "Working directory: ",
    ] {
        if let Some(at) = text.find(marker) {
            let rest = &text[at + marker.len()..];
            let end = rest.find(['\\', '"', '\n']).unwrap_or(rest.len());
            return Some(rest[..end].trim().to_owned());
        }
    }
    None
}

fn fill(value: Value, cwd: Option<&str>) -> Value {
    match value {
        Value::String(text) => match cwd {
            Some(cwd) => Value::String(text.replace("{{CWD}}", cwd)),
            None => Value::String(text),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(|v| fill(v, cwd)).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, fill(v, cwd))).collect())
        }
        other => other,
    }
}

/// Server-sent events, as the streaming Messages API sends them.
fn stream(out: &mut TcpStream, message: &Value) -> std::io::Result<()> {
    write!(
        out,
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\nrequest-id: req_mock\r\n\r\n"
    )?;
    let mut event = |name: &str, data: Value| -> std::io::Result<()> {
        write!(out, "event: {name}\ndata: {data}\n\n")
    };
    let mut head = message.clone();
    head["content"] = json!([]);
    head["stop_reason"] = Value::Null;
    event(
        "message_start",
        json!({"type": "message_start", "message": head}),
    )?;
    for (i, block) in message["content"].as_array().unwrap().iter().enumerate() {
        if block["type"] == "text" {
            event(
                "content_block_start",
                json!({"type": "content_block_start", "index": i,
                "content_block": {"type": "text", "text": ""}}),
            )?;
            event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": i,
                "delta": {"type": "text_delta", "text": block["text"]}}),
            )?;
        } else {
            event(
                "content_block_start",
                json!({"type": "content_block_start", "index": i,
                "content_block": {"type": "tool_use", "id": block["id"], "name": block["name"],
                    "input": {}}}),
            )?;
            event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": i,
                "delta": {"type": "input_json_delta", "partial_json": block["input"].to_string()}}),
            )?;
        }
        event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": i}),
        )?;
    }
    event(
        "message_delta",
        json!({"type": "message_delta",
        "delta": {"stop_reason": message["stop_reason"], "stop_sequence": null},
        "usage": {"output_tokens": message["usage"]["output_tokens"]}}),
    )?;
    event("message_stop", json!({"type": "message_stop"}))?;
    out.flush()
}
