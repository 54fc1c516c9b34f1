//! Claude Code's `--output-format stream-json`: one JSON object a line, reduced to the few
//! events the supervisor acts on and a person reads in `workers logs`. Pure: a line in,
//! events out. Lenient: unknown types and fields are skipped, a line that is not JSON is
//! [`StreamEvent::Unparsed`], never an error.

use serde::Serialize;
use serde_json::Value;

use crate::text::{clip, clip_line};

fn truncate(text: &str, max: usize) -> String {
    clip(text, max).into_owned()
}

/// The most characters of a text, a tool input or a tool result an event keeps.
pub const MAX_EVENT_CHARS: usize = 2_000;

/// One thing a worker's stream said.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StreamEvent {
    /// `system`/`init`: the session started.
    Init {
        session_id: Option<String>,
        model: Option<String>,
    },
    /// Text the assistant wrote.
    Text { text: String },
    /// A tool call, its input in short.
    ToolUse { name: String, input: String },
    /// A tool's result, in short.
    ToolResult { is_error: bool, content: String },
    /// `system`/`api_retry`: the API failed and Claude Code retries.
    ApiRetry {
        attempt: Option<u64>,
        max_retries: Option<u64>,
        error: Option<String>,
    },
    /// `rate_limit_event`: the account's rate limit; `rejected` pauses new workers until
    /// `resets_at` (Unix seconds).
    RateLimit {
        status: String,
        rejected: bool,
        resets_at: Option<i64>,
    },
    /// The final `result`.
    Result(ResultEvent),
    /// Any other event, by its type.
    Other { event: String },
    /// A line that is not a JSON object.
    Unparsed { line: String },
}

impl StreamEvent {
    /// The event on one short line, as a past attempt's log tail shows it to a person or the
    /// next worker: the assistant's text, tool calls, their results and errors, an API retry,
    /// the result. `None` for the events such a tail leaves out.
    pub fn brief(&self) -> Option<String> {
        match self {
            StreamEvent::Text { text } => Some(format!("assistant: {}", clip_line(text, 160))),
            StreamEvent::ToolUse { name, input } => {
                Some(format!("tool {name}: {}", clip_line(input, 140)))
            }
            StreamEvent::ToolResult { is_error, content } => Some(format!(
                "{}: {}",
                if *is_error { "error" } else { "result" },
                clip_line(content, 140)
            )),
            StreamEvent::ApiRetry { .. } => Some("the API was retried".to_owned()),
            StreamEvent::Result(result) => Some(format!(
                "end ({}): {}{}",
                result.subtype,
                clip_line(result.result.as_deref().unwrap_or(""), 140),
                result
                    .cost_usd
                    .map(|cost| format!(" (${cost:.2})"))
                    .unwrap_or_default()
            )),
            StreamEvent::Init { .. }
            | StreamEvent::RateLimit { .. }
            | StreamEvent::Other { .. }
            | StreamEvent::Unparsed { .. } => None,
        }
    }
}

/// The `result` event: how the session ended and what it cost.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResultEvent {
    pub subtype: String,
    pub is_error: bool,
    pub result: Option<String>,
    pub cost_usd: Option<f64>,
    pub turns: Option<u64>,
    pub usage: Option<Value>,
}

impl ResultEvent {
    /// Why this result is a failure, or `None` for a success with a non-empty result.
    pub fn failure(&self) -> Option<String> {
        if self.subtype != "success" {
            return Some(format!("the result was `{}`", self.subtype));
        }
        if self.is_error {
            let text = self.result.as_deref().unwrap_or("").trim();
            return Some(format!("the result is an error: {}", truncate(text, 200)));
        }
        if self
            .result
            .as_deref()
            .is_none_or(|text| text.trim().is_empty())
        {
            return Some("the result is empty".to_owned());
        }
        None
    }
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => truncate(text, MAX_EVENT_CHARS),
        Value::Array(parts) => {
            let joined: Vec<String> = parts
                .iter()
                .map(|part| match part.get("text").and_then(Value::as_str) {
                    Some(text) => text.to_owned(),
                    None => part.to_string(),
                })
                .collect();
            truncate(&joined.join("\n"), MAX_EVENT_CHARS)
        }
        Value::Null => String::new(),
        other => truncate(&other.to_string(), MAX_EVENT_CHARS),
    }
}

/// A tool's input in short: a command, a path or a pattern when it has one, else its JSON.
pub fn short_input(input: &Value) -> String {
    for key in [
        "command",
        "file_path",
        "path",
        "pattern",
        "url",
        "prompt",
        "description",
    ] {
        if let Some(text) = input.get(key).and_then(Value::as_str) {
            return truncate(text, MAX_EVENT_CHARS);
        }
    }
    truncate(&input.to_string(), MAX_EVENT_CHARS)
}

/// The events of one line of the stream (an assistant message may hold several blocks).
pub fn parse_line(line: &str) -> Vec<StreamEvent> {
    let line = line.trim();
    if line.is_empty() {
        return Vec::new();
    }
    let Ok(value) = serde_json::from_str::<Value>(line) else {
        return vec![StreamEvent::Unparsed {
            line: truncate(line, MAX_EVENT_CHARS),
        }];
    };
    let Some(kind) = value.get("type").and_then(Value::as_str) else {
        return vec![StreamEvent::Unparsed {
            line: truncate(line, MAX_EVENT_CHARS),
        }];
    };
    let string = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    let subtype = value.get("subtype").and_then(Value::as_str).unwrap_or("");
    match (kind, subtype) {
        ("system", "init") => vec![StreamEvent::Init {
            session_id: string("session_id"),
            model: string("model"),
        }],
        ("system", "api_retry") => vec![StreamEvent::ApiRetry {
            attempt: value.get("attempt").and_then(Value::as_u64),
            max_retries: value.get("max_retries").and_then(Value::as_u64),
            error: value.get("error").map(|error| match error {
                Value::String(text) => truncate(text, MAX_EVENT_CHARS),
                other => truncate(&other.to_string(), MAX_EVENT_CHARS),
            }),
        }],
        ("assistant" | "user", _) => {
            let blocks = value
                .pointer("/message/content")
                .cloned()
                .unwrap_or(Value::Null);
            let blocks = match blocks {
                Value::Array(blocks) => blocks,
                Value::String(text) if kind == "assistant" => {
                    return vec![StreamEvent::Text {
                        text: truncate(&text, MAX_EVENT_CHARS),
                    }];
                }
                _ => {
                    return vec![StreamEvent::Other {
                        event: kind.to_owned(),
                    }];
                }
            };
            let events: Vec<StreamEvent> = blocks
                .iter()
                .filter_map(|block| match block.get("type").and_then(Value::as_str)? {
                    "text" => Some(StreamEvent::Text {
                        text: text_of(block.get("text")?),
                    }),
                    "tool_use" => Some(StreamEvent::ToolUse {
                        name: block.get("name")?.as_str()?.to_owned(),
                        input: short_input(block.get("input").unwrap_or(&Value::Null)),
                    }),
                    "tool_result" => Some(StreamEvent::ToolResult {
                        is_error: block
                            .get("is_error")
                            .and_then(Value::as_bool)
                            .unwrap_or(false),
                        content: text_of(block.get("content").unwrap_or(&Value::Null)),
                    }),
                    _ => None,
                })
                .collect();
            if events.is_empty() {
                vec![StreamEvent::Other {
                    event: kind.to_owned(),
                }]
            } else {
                events
            }
        }
        ("rate_limit_event", _) => {
            let info = value.get("rate_limit_info").unwrap_or(&Value::Null);
            let status = info
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_owned();
            // Unix seconds; a value in milliseconds is brought back to seconds.
            let resets_at = info
                .get("resetsAt")
                .or_else(|| info.get("resets_at"))
                .and_then(Value::as_f64)
                .map(|at| if at > 1e11 { at / 1000.0 } else { at } as i64);
            vec![StreamEvent::RateLimit {
                rejected: status == "rejected",
                status,
                resets_at,
            }]
        }
        ("result", _) => vec![StreamEvent::Result(ResultEvent {
            subtype: subtype.to_owned(),
            is_error: value
                .get("is_error")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            result: string("result"),
            cost_usd: value.get("total_cost_usd").and_then(Value::as_f64),
            turns: value.get("num_turns").and_then(Value::as_u64),
            usage: value.get("usage").cloned(),
        })],
        (other, _) => vec![StreamEvent::Other {
            event: other.to_owned(),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(line: &Value) -> StreamEvent {
        let mut events = parse_line(&line.to_string());
        assert_eq!(events.len(), 1, "{events:?}");
        events.remove(0)
    }

    #[test]
    fn every_event_the_supervisor_acts_on_is_read() {
        assert_eq!(
            one(&json!({"type": "system", "subtype": "init", "session_id": "s", "model": "m"})),
            StreamEvent::Init {
                session_id: Some("s".into()),
                model: Some("m".into())
            }
        );
        let events = parse_line(
            &json!({"type": "assistant", "message": {"content": [
                {"type": "text", "text": "Writing it"},
                {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "ls -la"}}
            ]}})
            .to_string(),
        );
        assert_eq!(
            events,
            vec![
                StreamEvent::Text {
                    text: "Writing it".into()
                },
                StreamEvent::ToolUse {
                    name: "Bash".into(),
                    input: "ls -la".into()
                }
            ]
        );
        assert_eq!(
            one(&json!({"type": "user", "message": {"content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": "ok", "is_error": true}
            ]}})),
            StreamEvent::ToolResult {
                is_error: true,
                content: "ok".into()
            }
        );
        assert_eq!(
            one(
                &json!({"type": "system", "subtype": "api_retry", "attempt": 2,
                        "max_retries": 10, "error": "rate_limit"})
            ),
            StreamEvent::ApiRetry {
                attempt: Some(2),
                max_retries: Some(10),
                error: Some("rate_limit".into())
            }
        );
        assert_eq!(
            one(&json!({"type": "rate_limit_event", "rate_limit_info":
                        {"status": "rejected", "resetsAt": 1_900_000_000}})),
            StreamEvent::RateLimit {
                status: "rejected".into(),
                rejected: true,
                resets_at: Some(1_900_000_000)
            }
        );
        let StreamEvent::Result(result) = one(&json!({"type": "result", "subtype": "success",
            "is_error": false, "result": "done", "total_cost_usd": 0.25, "num_turns": 3,
            "usage": {"input_tokens": 10}}))
        else {
            panic!("a result")
        };
        assert_eq!(result.cost_usd, Some(0.25));
        assert_eq!(result.turns, Some(3));
        assert_eq!(result.failure(), None);
    }

    #[test]
    fn failures_are_named() {
        let result = |subtype: &str, is_error: bool, text: Option<&str>| ResultEvent {
            subtype: subtype.into(),
            is_error,
            result: text.map(str::to_owned),
            cost_usd: None,
            turns: None,
            usage: None,
        };
        assert!(
            result("error_max_turns", true, None)
                .failure()
                .unwrap()
                .contains("error_max_turns")
        );
        assert_eq!(
            result("success", false, Some("  ")).failure().as_deref(),
            Some("the result is empty")
        );
        assert!(result("success", true, Some("boom")).failure().is_some());
    }

    #[test]
    fn odd_lines_are_kept_as_they_are() {
        assert_eq!(
            parse_line("not json"),
            vec![StreamEvent::Unparsed {
                line: "not json".into()
            }]
        );
        assert_eq!(parse_line("  "), vec![]);
        assert_eq!(
            one(&json!({"type": "stream_event"})),
            StreamEvent::Other {
                event: "stream_event".into()
            }
        );
    }
}
