//! `orchestron mcp`: the plan served over MCP on stdio (JSON-RPC 2.0, one message per line),
//! a hand-written layer on serde_json with no async runtime. This module reads and answers
//! messages; `tools` holds the tools, their schemas (which also check every call's
//! arguments) and what each calls in the core; `resources` the resources and their reads.
//!
//! Bad input never ends the server: a line that is not JSON is answered `-32700`, an unknown
//! method `-32601`, invalid params `-32602` naming the field; a line longer than
//! [`MAX_LINE_BYTES`] is skipped to its end without being kept, and answered `-32700`. The
//! server exits 0 at the end of its input.

mod resources;
mod tools;

use std::io::{BufRead, Write};

use serde_json::{Value, json};

use crate::context::Context;

/// The protocol versions this server speaks, newest first: a client asking for one of them
/// gets it, any other client the newest.
pub(crate) const PROTOCOL_VERSIONS: [&str; 4] =
    ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

/// The longest line read: a longer one is refused without being held in memory.
pub(crate) const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

/// JSON-RPC error codes.
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
pub(crate) const INVALID_PARAMS: i64 = -32602;

/// A JSON-RPC error: its code and message.
#[derive(Debug)]
pub(crate) struct RpcError {
    pub code: i64,
    pub message: String,
}

impl RpcError {
    pub(crate) fn new(code: i64, message: impl Into<String>) -> RpcError {
        RpcError {
            code,
            message: message.into(),
        }
    }
}

/// One line of input: a whole line, or one that ran past the limit (its bytes dropped).
enum Line {
    Text(Vec<u8>),
    TooLong,
    End,
}

/// Read one line of at most `MAX_LINE_BYTES`, dropping the rest of a longer one.
fn read_line(input: &mut impl BufRead) -> std::io::Result<Line> {
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let buffer = input.fill_buf()?;
        if buffer.is_empty() {
            return Ok(match (too_long, line.is_empty()) {
                (true, _) => Line::TooLong,
                (false, true) => Line::End,
                (false, false) => Line::Text(line),
            });
        }
        let (chunk, done) = match buffer.iter().position(|b| *b == b'\n') {
            Some(end) => (&buffer[..end], Some(end + 1)),
            None => (buffer, None),
        };
        if !too_long && line.len() + chunk.len() <= MAX_LINE_BYTES {
            line.extend_from_slice(chunk);
        } else {
            too_long = true;
            line = Vec::new();
        }
        let used = done.unwrap_or(buffer.len());
        input.consume(used);
        if done.is_some() {
            return Ok(if too_long {
                Line::TooLong
            } else {
                Line::Text(line)
            });
        }
    }
}

/// Serve MCP on `input` and `output` until the input ends.
pub(crate) fn serve(
    context: &Context,
    mut input: impl BufRead,
    mut output: impl Write,
) -> anyhow::Result<()> {
    let mut server = Server {
        context,
        initialized: false,
        who: None,
    };
    loop {
        let reply = match read_line(&mut input)? {
            Line::End => return Ok(()),
            Line::TooLong => Some(error_reply(
                Value::Null,
                &RpcError::new(
                    PARSE_ERROR,
                    format!("the message is longer than {MAX_LINE_BYTES} bytes"),
                ),
            )),
            Line::Text(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => None,
            Line::Text(bytes) => server.handle(&bytes),
        };
        if let Some(reply) = reply {
            // One write per reply.
            let mut bytes = serde_json::to_vec(&reply)?;
            bytes.push(b'\n');
            output.write_all(&bytes)?;
            output.flush()?;
        }
    }
}

/// Who the server's calls act as, in words, after making it the actor when no session is
/// named. The session comes first: Claude Code gives the stdio servers it starts
/// `CLAUDE_CODE_SESSION_ID`, and `ORCHESTRON_SESSION` names one too. Else the agent this
/// process works as (`--agent`, `ORCHESTRON_AGENT`, `agent.id`); else the client, by the
/// name it gave in `initialize` (`mcp:NAME`). Never nobody.
fn identify(context: &Context, client: Option<&str>) -> String {
    // Only a real session id names a session: anything else is as good as none.
    if let Some(session) = context
        .session_hint()
        .filter(|raw| orchestron_core::ids::SessionId::parse(raw).is_ok())
    {
        return format!("session {session}");
    }
    let (name, said) = match context.agent() {
        Some(agent) => (agent.clone(), format!("agent {agent}")),
        None => {
            let client: String = client
                .unwrap_or_default()
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                        c
                    } else {
                        '-'
                    }
                })
                .take(40)
                .collect();
            let client = client.trim_matches('-');
            let client = if client.is_empty() {
                "client".to_owned()
            } else {
                client.to_owned()
            };
            let name = format!("mcp:{client}");
            let said = format!("{name} (no session or agent is set)");
            (name, said)
        }
    };
    context.act_as_when_sessionless(name);
    said
}

fn error_reply(id: Value, error: &RpcError) -> Value {
    json!({"jsonrpc": "2.0", "id": id,
           "error": {"code": error.code, "message": error.message}})
}

struct Server<'a> {
    context: &'a Context,
    initialized: bool,
    /// Who acts, in words, settled by the first `initialize`.
    who: Option<String>,
}

impl Server<'_> {
    /// The reply to one message, `None` for a notification.
    fn handle(&mut self, bytes: &[u8]) -> Option<Value> {
        let message: Value = match serde_json::from_slice(bytes) {
            Ok(message) => message,
            Err(err) => {
                return Some(error_reply(
                    Value::Null,
                    &RpcError::new(PARSE_ERROR, format!("not JSON: {err}")),
                ));
            }
        };
        let Some(object) = message.as_object() else {
            return Some(error_reply(
                Value::Null,
                &RpcError::new(
                    INVALID_REQUEST,
                    "a message is one JSON-RPC object (no batches)",
                ),
            ));
        };
        let id = object.get("id").cloned();
        let valid_id = id
            .as_ref()
            .is_none_or(|id| id.is_string() || id.is_number());
        let method = object.get("method").and_then(Value::as_str);
        if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") || !valid_id {
            return Some(error_reply(
                if valid_id {
                    id.unwrap_or(Value::Null)
                } else {
                    Value::Null
                },
                &RpcError::new(INVALID_REQUEST, "not a JSON-RPC 2.0 request"),
            ));
        }
        let Some(method) = method else {
            if object.contains_key("method") {
                return Some(error_reply(
                    id.unwrap_or(Value::Null),
                    &RpcError::new(INVALID_REQUEST, "`method` must be a string"),
                ));
            }
            // A response from the client (we send no requests): nothing to answer. Anything
            // else with an id and no method is no request.
            if !object.contains_key("result") && !object.contains_key("error") {
                return id.map(|id| {
                    error_reply(
                        id,
                        &RpcError::new(INVALID_REQUEST, "a request needs a `method`"),
                    )
                });
            }
            return None;
        };
        // `initialize` is a request: sent as a notification (no id), it does nothing.
        if method == "initialize" && id.is_none() {
            return None;
        }
        let params = object.get("params").cloned().unwrap_or(Value::Null);
        let result = self.call(method, &params);
        let id = id?;
        Some(match result {
            Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
            Err(error) => error_reply(id, &error),
        })
    }

    fn call(&mut self, method: &str, params: &Value) -> Result<Value, RpcError> {
        match method {
            "initialize" => {
                self.initialized = true;
                let who = self
                    .who
                    .get_or_insert_with(|| {
                        identify(
                            self.context,
                            params.pointer("/clientInfo/name").and_then(Value::as_str),
                        )
                    })
                    .clone();
                let asked = params.get("protocolVersion").and_then(Value::as_str);
                let version = asked
                    .filter(|asked| PROTOCOL_VERSIONS.contains(asked))
                    .unwrap_or(PROTOCOL_VERSIONS[0]);
                Ok(json!({
                    "protocolVersion": version,
                    "capabilities": {"tools": {}, "resources": {}},
                    "serverInfo": {"name": "orchestron", "version": env!("CARGO_PKG_VERSION")},
                    "instructions": format!(
                        "Orchestron's plan: take the next item with task_next (claim: true), \
                         report with task_update, add work with task_create. Calls act as {who}."
                    ),
                }))
            }
            "ping" => Ok(json!({})),
            // A notification sent with an id is answered as a request would be.
            method if method.starts_with("notifications/") => Ok(json!({})),
            _ if !self.initialized => Err(RpcError::new(
                INVALID_REQUEST,
                format!("`{method}` before `initialize`"),
            )),
            "tools/list" => Ok(json!({"tools": tools::list()})),
            "tools/call" => tools::call(self.context, params),
            "resources/list" => Ok(json!({"resources": resources::list()})),
            "resources/templates/list" => Ok(json!({"resourceTemplates": resources::templates()})),
            "resources/read" => resources::read(self.context, params),
            other => Err(RpcError::new(
                METHOD_NOT_FOUND,
                format!("unknown method `{other}`"),
            )),
        }
    }
}
