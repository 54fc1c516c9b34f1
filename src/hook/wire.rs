//! The JSON Claude Code writes on a hook's stdin, read into the few fields Orchestron uses.
//!
//! Unknown fields are ignored, and so is a known field of an unexpected type: Claude Code
//! changes its payloads between versions, and a hook must keep working rather than fail on
//! a field it does not need. Only `session_id` is required, because state is keyed by it.
//!
//! The payload is never built as a whole `serde_json::Value`: it is parsed straight into
//! [`Payload`], and everything Orchestron does not read (a Read's file content in
//! `tool_response`, a Write's `content`, …) is skipped without being built. A TodoWrite
//! list keeps its first [`MAX_TODOS`] to-dos and only counts the rest. So a hook's memory is
//! its input (at most [`MAX_PAYLOAD_BYTES`]) and a bounded rest, whatever the payload holds.
//! A payload longer than that is cut, and the fields before the cut are used (see
//! [`MAX_PAYLOAD_BYTES`]).

use std::borrow::Cow;
use std::fmt;
use std::io::Read;
use std::path::Path;

use anyhow::Context as _;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::limits::{MAX_DRAIN_BYTES, MAX_PAYLOAD_BYTES, MAX_TODOS, PAYLOAD_BUFFER_BYTES};

/// A payload as read: at most [`MAX_PAYLOAD_BYTES`], and whether there was more.
#[derive(Debug, Default)]
pub(crate) struct Input {
    pub bytes: Vec<u8>,
    /// The input was longer than [`MAX_PAYLOAD_BYTES`]: `bytes` is its beginning.
    pub cut: bool,
}

impl Input {
    /// Read `what` from `file`, else from stdin (whose rest, past the cut, is read and
    /// thrown away, up to [`MAX_DRAIN_BYTES`]).
    pub(crate) fn read(file: Option<&Path>, what: &str) -> anyhow::Result<Input> {
        match file {
            Some(file) => std::fs::File::open(file)
                .and_then(|file| Input::read_from(file, false))
                .with_context(|| format!("cannot read {what} from `{}`", file.display())),
            None => Input::read_from(std::io::stdin().lock(), true)
                .with_context(|| format!("cannot read {what} from stdin")),
        }
    }

    fn read_from(mut reader: impl Read, drain: bool) -> std::io::Result<Input> {
        let mut bytes = Vec::with_capacity(PAYLOAD_BUFFER_BYTES);
        (&mut reader)
            .take(MAX_PAYLOAD_BYTES as u64 + 1)
            .read_to_end(&mut bytes)?;
        let cut = bytes.len() > MAX_PAYLOAD_BYTES;
        if cut {
            bytes.truncate(MAX_PAYLOAD_BYTES);
            if drain {
                // Claude Code is still writing: let it finish rather than fail on a closed pipe.
                std::io::copy(&mut reader.take(MAX_DRAIN_BYTES), &mut std::io::sink())?;
            }
        }
        Ok(Input { bytes, cut })
    }
}

impl From<&str> for Input {
    fn from(text: &str) -> Input {
        Input {
            bytes: text.as_bytes().to_vec(),
            cut: false,
        }
    }
}

/// One hook payload: the fields Orchestron uses. Every field but `session_id` is optional.
#[derive(Debug, Default)]
pub(crate) struct Payload {
    pub session_id: String,
    /// SessionStart: `startup`, `resume`, `clear`, `compact`.
    pub source: Option<String>,
    pub tool_name: Option<String>,
    /// An object of the string members of `tool_input` Orchestron reads ([`InputKey`]), or
    /// null when `tool_input` is not an object.
    pub tool_input: Value,
    /// `tool_input` was read to its end: false when the payload has none, or was cut before
    /// it ended.
    pub tool_input_read: bool,
    /// TodoWrite's `tool_input.todos`, when it is a list.
    pub todos: Option<Todos>,
    /// Of `tool_response`, only `task.id` (TaskCreate), as `{"task": {"id": …}}`.
    pub tool_response: Value,
    /// PostToolUseFailure: what went wrong, such as `Exit code 3\n…`.
    pub error: Option<String>,
    pub agent_id: Option<String>,
    pub agent_type: Option<String>,
    pub last_assistant_message: Option<String>,
    pub stop_hook_active: Option<bool>,
    /// SessionEnd: `clear`, `logout`, `prompt_input_exit`, `other`, …
    pub reason: Option<String>,
    /// PreCompact: `manual` or `auto`.
    pub trigger: Option<String>,
    /// TaskCreated and TaskCompleted.
    pub task_id: Option<String>,
    pub task_subject: Option<String>,
    /// Notification: what Claude Code tells the person, and of which kind
    /// (`permission_prompt`, `idle_prompt`, `elicitation_dialog`, `auth_success`, …).
    pub message: Option<String>,
    pub notification_type: Option<String>,
    /// The payload was cut at [`MAX_PAYLOAD_BYTES`]: the fields after the cut are missing.
    pub cut: bool,
}

/// A TodoWrite list: its first [`MAX_TODOS`] to-dos, and counts of them all.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Todos {
    pub items: Vec<Todo>,
    /// The to-dos in the list (those with a string `content`), kept or not.
    pub total: usize,
    /// How many of them are `completed`.
    pub done: usize,
}

/// One to-do as TodoWrite sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Todo {
    pub content: String,
    /// `pending`, `in_progress` or `completed`; none when missing or not a string.
    pub status: Option<String>,
}

impl Payload {
    /// Parse a payload; the error says what is wrong in one line. A cut payload yields the
    /// fields that came before the cut.
    pub(crate) fn parse(input: &Input) -> anyhow::Result<Payload> {
        if input.bytes.iter().all(u8::is_ascii_whitespace) {
            anyhow::bail!("no hook payload on stdin");
        }
        let mut fields = Fields::default();
        let mut deserializer = serde_json::Deserializer::from_slice(&input.bytes);
        let parsed = Fill(&mut fields)
            .deserialize(&mut deserializer)
            .and_then(|()| deserializer.end());
        match parsed {
            Ok(()) => {}
            // The input ends inside the JSON: what was read before the cut stands.
            Err(_) if input.cut => {}
            Err(err) => anyhow::bail!("the hook payload is not valid: {err}"),
        }
        let Some(session_id) = fields.session_id.take() else {
            if input.cut {
                anyhow::bail!(
                    "the hook payload is longer than {MAX_PAYLOAD_BYTES} bytes and has no \
                     `session_id` before that"
                );
            }
            anyhow::bail!("the hook payload has no `session_id` string");
        };
        let mut payload = fields.payload;
        payload.session_id = session_id;
        payload.cut = input.cut;
        Ok(payload)
    }
}

/// The payload being filled. Each field is stored as soon as it is parsed, so that a cut
/// payload keeps what came before the cut.
#[derive(Default)]
struct Fields {
    session_id: Option<String>,
    payload: Payload,
}

/// The top-level members Orchestron reads.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum Key {
    SessionId,
    Source,
    ToolName,
    ToolInput,
    ToolResponse,
    Error,
    AgentId,
    AgentType,
    LastAssistantMessage,
    StopHookActive,
    Reason,
    Trigger,
    TaskId,
    TaskSubject,
    Message,
    NotificationType,
    #[serde(other)]
    Other,
}

/// Fills [`Fields`] from the payload object.
struct Fill<'a>(&'a mut Fields);

impl<'de> DeserializeSeed<'de> for Fill<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Fill<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a hook payload object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let fields = self.0;
        while let Some(key) = map.next_key::<Key>()? {
            let payload = &mut fields.payload;
            let text = |loose: Loose<'_>| loose.into_string();
            match key {
                Key::SessionId => fields.session_id = text(map.next_value()?),
                Key::Source => payload.source = text(map.next_value()?),
                Key::ToolName => payload.tool_name = text(map.next_value()?),
                Key::ToolInput => {
                    map.next_value_seed(Lenient(ToolInput(payload)))?;
                    payload.tool_input_read = true;
                }
                Key::ToolResponse => map.next_value_seed(Lenient(ToolResponse(payload)))?,
                Key::Error => payload.error = text(map.next_value()?),
                Key::AgentId => payload.agent_id = text(map.next_value()?),
                Key::AgentType => payload.agent_type = text(map.next_value()?),
                Key::LastAssistantMessage => {
                    payload.last_assistant_message = text(map.next_value()?);
                }
                Key::StopHookActive => {
                    payload.stop_hook_active = match map.next_value()? {
                        Loose::Bool(value) => Some(value),
                        _ => None,
                    };
                }
                Key::Reason => payload.reason = text(map.next_value()?),
                Key::Trigger => payload.trigger = text(map.next_value()?),
                Key::TaskId => payload.task_id = text(map.next_value()?),
                Key::TaskSubject => payload.task_subject = text(map.next_value()?),
                Key::Message => payload.message = text(map.next_value()?),
                Key::NotificationType => payload.notification_type = text(map.next_value()?),
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// A value of any type, keeping only a string (borrowed from the input when it can be) or
/// a boolean; a list or object is skipped without being built.
enum Loose<'de> {
    Str(Cow<'de, str>),
    Bool(bool),
    Other,
}

impl Loose<'_> {
    fn into_string(self) -> Option<String> {
        match self {
            Loose::Str(text) => Some(text.into_owned()),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Loose<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LooseVisitor)
    }
}

struct LooseVisitor;

impl<'de> Visitor<'de> for LooseVisitor {
    type Value = Loose<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Loose<'de>, E> {
        Ok(Loose::Str(Cow::Borrowed(value)))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Loose<'de>, E> {
        Ok(Loose::Str(Cow::Owned(value.to_owned())))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Loose<'de>, E> {
        Ok(Loose::Str(Cow::Owned(value)))
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Loose<'de>, E> {
        Ok(Loose::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Loose<'de>, E> {
        Ok(Loose::Other)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Loose<'de>, E> {
        Ok(Loose::Other)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Loose<'de>, E> {
        Ok(Loose::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Loose<'de>, E> {
        Ok(Loose::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Loose<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Loose::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Loose<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Loose::Other)
    }
}

/// What a nested part of the payload is read into, when it has the expected shape (an
/// object or a list); a value of any other shape is skipped.
trait Shape<'de>: Sized {
    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
}

/// A [`Shape`] read from a value of any type.
struct Lenient<S>(S);

impl<'de, S: Shape<'de>> DeserializeSeed<'de> for Lenient<S> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, S: Shape<'de>> Visitor<'de> for Lenient<S> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.0.map(map)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.0.seq(seq)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

/// The members of `tool_input` Orchestron reads, kept when they are strings: the guard rules
/// match the command or the path; PostToolUse records edited files, test runs, tasks and
/// to-dos. Every other member (a Write's `content`, an Edit's strings, …) is skipped unread.
#[derive(Deserialize)]
#[serde(field_identifier)]
enum InputKey {
    #[serde(rename = "command")]
    Command,
    #[serde(rename = "file_path")]
    FilePath,
    #[serde(rename = "notebook_path")]
    NotebookPath,
    #[serde(rename = "path")]
    Path,
    #[serde(rename = "subject")]
    Subject,
    #[serde(rename = "taskId")]
    TaskId,
    #[serde(rename = "status")]
    Status,
    #[serde(rename = "todos")]
    Todos,
    #[serde(other)]
    Other,
}

impl InputKey {
    fn name(&self) -> Option<&'static str> {
        Some(match self {
            InputKey::Command => "command",
            InputKey::FilePath => "file_path",
            InputKey::NotebookPath => "notebook_path",
            InputKey::Path => "path",
            InputKey::Subject => "subject",
            InputKey::TaskId => "taskId",
            InputKey::Status => "status",
            InputKey::Todos | InputKey::Other => return None,
        })
    }
}

/// `tool_input`, into [`Payload::tool_input`] and [`Payload::todos`].
struct ToolInput<'a>(&'a mut Payload);

impl<'de> Shape<'de> for ToolInput<'_> {
    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let payload = self.0;
        payload.tool_input = Value::Object(Map::new());
        while let Some(key) = map.next_key::<InputKey>()? {
            if let InputKey::Todos = key {
                map.next_value_seed(Lenient(TodoList(payload)))?;
            } else if let Some(name) = key.name() {
                if let Some(text) = map.next_value::<Loose<'_>>()?.into_string()
                    && let Value::Object(input) = &mut payload.tool_input
                {
                    input.insert(name.to_owned(), Value::String(text));
                }
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// `tool_input.todos`: the first [`MAX_TODOS`] to-dos are kept, all are counted. A to-do is
/// an object with a string `content`; anything else in the list is skipped.
struct TodoList<'a>(&'a mut Payload);

impl<'de> Shape<'de> for TodoList<'_> {
    fn seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let todos = self.0.todos.insert(Todos::default());
        loop {
            let mut item = TodoFields::default();
            if seq.next_element_seed(Lenient(&mut item))?.is_none() {
                return Ok(());
            }
            let Some(Loose::Str(content)) = item.content else {
                continue;
            };
            let status = item.status.and_then(Loose::into_string);
            todos.total += 1;
            if status.as_deref() == Some("completed") {
                todos.done += 1;
            }
            if todos.items.len() < MAX_TODOS {
                todos.items.push(Todo {
                    content: content.into_owned(),
                    status,
                });
            }
        }
    }
}

/// One to-do's members, borrowed from the input where they can be.
#[derive(Default)]
struct TodoFields<'de> {
    content: Option<Loose<'de>>,
    status: Option<Loose<'de>>,
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum TodoKey {
    Content,
    Status,
    #[serde(other)]
    Other,
}

impl<'de> Shape<'de> for &mut TodoFields<'de> {
    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<TodoKey>()? {
            match key {
                TodoKey::Content => self.content = Some(map.next_value()?),
                TodoKey::Status => self.status = Some(map.next_value()?),
                TodoKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// `tool_response`: only `task.id` (TaskCreate), into [`Payload::tool_response`].
struct ToolResponse<'a>(&'a mut Payload);

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum ResponseKey {
    Task,
    Id,
    #[serde(other)]
    Other,
}

impl<'de> Shape<'de> for ToolResponse<'_> {
    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<ResponseKey>()? {
            if let ResponseKey::Task = key {
                let mut id = None;
                map.next_value_seed(Lenient(TaskObject(&mut id)))?;
                if let Some(id) = id {
                    self.0.tool_response = serde_json::json!({"task": {"id": id}});
                }
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// `tool_response.task`: its `id`, when a string.
struct TaskObject<'a>(&'a mut Option<String>);

impl<'de> Shape<'de> for TaskObject<'_> {
    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<ResponseKey>()? {
            if let ResponseKey::Id = key {
                *self.0 = map.next_value::<Loose<'_>>()?.into_string();
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> anyhow::Result<Payload> {
        Payload::parse(&Input::from(text))
    }

    #[test]
    fn unknown_fields_and_wrong_types_are_ignored() {
        let payload = parse(
            r#"{"session_id": "s", "tool_name": 5, "source": "resume", "later": {"x": 1},
                "stop_hook_active": "yes", "tool_input": "rm -rf /", "tool_response": [1]}"#,
        )
        .unwrap();
        assert_eq!(payload.session_id, "s");
        assert_eq!(payload.tool_name, None);
        assert_eq!(payload.source.as_deref(), Some("resume"));
        assert_eq!(payload.stop_hook_active, None);
        assert_eq!(payload.tool_input, Value::Null);
        assert_eq!(payload.tool_response, Value::Null);
        assert!(!payload.cut);
    }

    #[test]
    fn a_payload_needs_a_session_id() {
        for bad in [
            "",
            "  \n",
            "{",
            "[]",
            "{}",
            r#"{"session_id": 7}"#,
            "null",
            "{} x",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_what_orchestron_reads_is_kept() {
        let payload = parse(
            r#"{"session_id": "s", "tool_name": "Write", "stop_hook_active": true,
                "tool_input": {"file_path": "/p/a\u00e9.rs", "content": "big", "command": 3,
                               "taskId": "7", "edits": [{"old_string": "x"}]},
                "tool_response": {"file": {"content": "big"}, "task": {"id": "9", "subject": "s"}}}"#,
        )
        .unwrap();
        assert_eq!(
            payload.tool_input,
            json!({"file_path": "/p/a\u{e9}.rs", "taskId": "7"})
        );
        assert_eq!(payload.tool_response, json!({"task": {"id": "9"}}));
        assert_eq!(payload.stop_hook_active, Some(true));
        assert_eq!(payload.todos, None);
    }

    #[test]
    fn a_todo_list_keeps_its_first_items_and_counts_all() {
        let todos: Vec<Value> = (0..MAX_TODOS + 50)
            .map(|i| {
                let status = if i % 2 == 0 { "completed" } else { "pending" };
                json!({"content": format!("t{i}"), "status": status, "activeForm": "x"})
            })
            .chain([
                json!("not a to-do"),
                json!({"status": "completed"}),
                json!({"content": "no status"}),
            ])
            .collect();
        let text = json!({"session_id": "s", "tool_input": {"todos": todos}}).to_string();
        let todos = parse(&text).unwrap().todos.unwrap();
        assert_eq!(todos.items.len(), MAX_TODOS);
        assert_eq!(todos.total, MAX_TODOS + 51);
        assert_eq!(todos.done, (MAX_TODOS + 50) / 2);
        assert_eq!(
            todos.items[1],
            Todo {
                content: "t1".into(),
                status: Some("pending".into())
            }
        );
        let odd = parse(r#"{"session_id": "s", "tool_input": {"todos": {"a": 1}}}"#).unwrap();
        assert_eq!(odd.todos, None);
    }

    #[test]
    fn a_cut_payload_keeps_what_came_before_the_cut() {
        let text = r#"{"session_id": "s", "tool_name": "Read", "tool_input": {"file_path": "/p/a"}, "tool_response": {"content": "abc"#;
        let cut = Input {
            bytes: text.as_bytes().to_vec(),
            cut: true,
        };
        let payload = Payload::parse(&cut).unwrap();
        assert!(payload.cut);
        assert!(payload.tool_input_read);
        assert_eq!(payload.tool_name.as_deref(), Some("Read"));
        assert_eq!(payload.tool_input, json!({"file_path": "/p/a"}));
        let inside = Input {
            bytes: br#"{"session_id": "s", "tool_input": {"command": "rm -rf /"#.to_vec(),
            cut: true,
        };
        assert!(!Payload::parse(&inside).unwrap().tool_input_read);
        // Not cut, the same text is refused.
        assert!(parse(text).is_err());
        let early = Input {
            bytes: br#"{"tool_name": "Read", "session"#.to_vec(),
            cut: true,
        };
        assert!(Payload::parse(&early).is_err());
    }

    #[test]
    fn reading_stops_at_the_cap() {
        let mut long = br#"{"session_id": "s", "x": ""#.to_vec();
        long.resize(MAX_PAYLOAD_BYTES + 10, b'a');
        let input = Input::read_from(&long[..], true).unwrap();
        assert!(input.cut);
        assert_eq!(input.bytes.len(), MAX_PAYLOAD_BYTES);
        assert_eq!(Payload::parse(&input).unwrap().session_id, "s");
        long.truncate(MAX_PAYLOAD_BYTES - 2);
        long.extend(br#""}"#);
        let input = Input::read_from(&long[..], true).unwrap();
        assert!(!input.cut);
        assert!(!Payload::parse(&input).unwrap().cut);
    }
}
