//! The JSON Claude Code writes on a hook's stdin, mirrored as it is sent.
//!
//! Unknown fields are ignored, and so is a known field of an unexpected type: Claude Code
//! changes its payloads between versions, and a hook must keep working rather than fail on
//! a field it does not need. Only `session_id` is required, because state is keyed by it.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// One hook payload. Every field but `session_id` is optional.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Payload {
    pub session_id: String,
    /// SessionStart: `startup`, `resume`, `clear`, `compact`.
    #[serde(default, deserialize_with = "lenient")]
    pub source: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub tool_name: Option<String>,
    #[serde(default)]
    pub tool_input: Value,
    #[serde(default)]
    pub tool_response: Value,
    /// PostToolUseFailure: what went wrong, such as `Exit code 3\n…`.
    #[serde(default, deserialize_with = "lenient")]
    pub error: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub agent_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub agent_type: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub last_assistant_message: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub stop_hook_active: Option<bool>,
    /// SessionEnd: `clear`, `logout`, `prompt_input_exit`, `other`, …
    #[serde(default, deserialize_with = "lenient")]
    pub reason: Option<String>,
    /// PreCompact: `manual` or `auto`.
    #[serde(default, deserialize_with = "lenient")]
    pub trigger: Option<String>,
    /// TaskCreated and TaskCompleted.
    #[serde(default, deserialize_with = "lenient")]
    pub task_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub task_subject: Option<String>,
}

/// A field of the expected type, else `None`.
fn lenient<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = Value::deserialize(deserializer)?;
    Ok(serde_json::from_value(value).ok())
}

impl Payload {
    /// Parse a payload; the error says what is wrong in one line.
    pub(crate) fn parse(input: &str) -> anyhow::Result<Payload> {
        if input.trim().is_empty() {
            anyhow::bail!("no hook payload on stdin");
        }
        serde_json::from_str(input)
            .map_err(|err| anyhow::anyhow!("the hook payload is not valid: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_and_wrong_types_are_ignored() {
        let payload = Payload::parse(
            r#"{"session_id": "s", "tool_name": 5, "source": "resume", "later": {"x": 1},
                "stop_hook_active": "yes"}"#,
        )
        .unwrap();
        assert_eq!(payload.session_id, "s");
        assert_eq!(payload.tool_name, None);
        assert_eq!(payload.source.as_deref(), Some("resume"));
        assert_eq!(payload.stop_hook_active, None);
    }

    #[test]
    fn a_payload_needs_a_session_id() {
        for bad in ["", "  \n", "{", "[]", "{}", r#"{"session_id": 7}"#, "null"] {
            assert!(Payload::parse(bad).is_err(), "{bad}");
        }
    }
}
