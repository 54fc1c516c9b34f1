//! The bounds of what a hook reads and records, so that no payload can make a hook slow or
//! large, nor grow a session document without end.
//!
//! How a cut is marked, everywhere:
//! - a string longer than its cap keeps its first characters up to the cap, followed by
//!   [`MARK`] (`…`);
//! - a list or map that left entries out counts them in a number beside it, named after it
//!   with `_omitted` (`execution.todos.items_omitted`, `execution.files_omitted`,
//!   `execution.agents_omitted`, `execution.snapshot.open_todos_omitted`, …), written only
//!   when something was left out;
//! - the tool counts keep [`MAX_TOOLS`] names, and count the calls of any other tool under
//!   the name [`MARK`];
//! - the event log keeps the last `session::MAX_EVENTS` events, and `event_counts` counts them
//!   all;
//! - a payload cut at [`MAX_PAYLOAD_BYTES`] leaves a `hook_payload_cut` event.

/// The mark at the end of a string that was cut, and the name the tool counts use for the
/// tools past [`MAX_TOOLS`].
pub(crate) const MARK: &str = "…";

/// The longest payload a hook reads: 16 MiB. A longer one is read up to this size and parsed
/// as far as it goes; the hook records the fields that came before the cut (Claude Code sends
/// `session_id`, `tool_name` and `tool_input` before a large `tool_response`) and an event
/// that says so, then reads the rest of its input without keeping it, so that Claude Code's
/// write never fails. A payload cut before its `session_id` fails (exit 1).
pub(crate) const MAX_PAYLOAD_BYTES: usize = 16 * 1024 * 1024;

/// How much of an over-long payload is read after the cut and thrown away: 1 GiB. Past it the
/// hook stops reading and exits.
pub(crate) const MAX_DRAIN_BYTES: u64 = 1024 * 1024 * 1024;

/// A payload up to this size is read in one allocation made up front.
pub(crate) const PAYLOAD_BUFFER_BYTES: usize = 64 * 1024;

/// The longest name recorded: a tool name, an agent type, a to-do status, a compaction
/// trigger, a session's end reason, an output style (characters).
pub(crate) const MAX_NAME_CHARS: usize = 128;

/// The longest id recorded: an agent id, a task id (characters).
pub(crate) const MAX_ID_CHARS: usize = 128;

/// The longest file path recorded, in `execution.files` and the snapshot (characters).
pub(crate) const MAX_PATH_CHARS: usize = 512;

/// The longest free text recorded: a to-do's content, a task subject, a test command, a
/// failure's error, an agent's last message (characters).
pub(crate) const MAX_TEXT_CHARS: usize = 500;

/// The longest copy of notes or of an inbox message the compaction snapshot keeps
/// (characters; notes that are not a string are kept as their JSON text when longer).
pub(crate) const MAX_SNAPSHOT_TEXT_CHARS: usize = 2_000;

/// How many to-dos a session keeps (`execution.todos.items`), and the compaction snapshot
/// (`open_todos`). A TodoWrite list keeps its first ones and still counts all of them in
/// `total` and `done`; a Task-tool list drops its oldest finished task (else its oldest)
/// for a new one.
pub(crate) const MAX_TODOS: usize = 100;

/// How many edited files `execution.files` keeps; a new one drops the one edited longest ago.
pub(crate) const MAX_FILES: usize = 100;

/// How many tool names `observability.metrics.tools` counts separately.
pub(crate) const MAX_TOOLS: usize = 100;

/// How many child agents `execution.agents` keeps; a new one drops the oldest stopped agent
/// (else the oldest). `agent_count` counts them all.
pub(crate) const MAX_AGENTS: usize = 50;

/// The most (file, holder) pairs a session remembers having been told of (PreToolUse's
/// touch warnings, once each); the oldest go first.
pub(crate) const MAX_WARNED: usize = 200;

/// How many files the compaction snapshot lists: those edited last.
pub(crate) const MAX_SNAPSHOT_FILES: usize = 20;

/// How many inbox messages the compaction snapshot copies: the last ones.
pub(crate) const MAX_SNAPSHOT_MESSAGES: usize = 5;

/// The largest session document the hooks can make, whatever their payloads, as written
/// (indented): 2 MiB. It follows from the caps above, with every string at its cap and made
/// of control characters (six bytes each in JSON); with ordinary text it is about a sixth.
/// Only what people write (`orchestron state`, inbox messages) can take a document past it.
pub(crate) const MAX_HOOK_DOCUMENT_BYTES: usize = 2 * 1024 * 1024;

/// `text` cut to `max` characters and marked with [`MARK`], or `text` itself: the core's
/// one rule.
pub(crate) use orchestron_core::text::clip;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_counts_characters_and_marks_the_cut() {
        assert_eq!(clip("short", 5), "short");
        assert_eq!(clip("ééééé", 5), "ééééé", "five characters, ten bytes");
        assert_eq!(clip("abcdef", 5), "abcde…");
        assert_eq!(clip("éééééé", 5), "ééééé…");
        assert_eq!(clip("", 0), "");
        assert_eq!(clip("a", 0), "…");
    }
}
