//! Messages people leave for running sessions ("use PostgreSQL, not MySQL"), kept in the
//! session document under `execution.inbox`, and notes the tracker leaves there (a
//! clarification or feedback on the item the session works on). The session's next prompt,
//! tool call or start delivers unread messages to the model once and marks them read; what
//! does not fit in one delivery's context waits for the next. No message is dropped or cut unread: a message too long to
//! arrive whole is refused when it is left, and so is one for an inbox full of unread ones.
//!
//! Pure functions over the document, like `session`: no I/O, no clock.

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::config::MAX_CONTEXT_CHARS;
use crate::error::Error;
use crate::session::format_time;

/// How many messages a session's inbox holds. Read ones make room, oldest first; unread ones
/// are never dropped, so when all of them are unread a new one is refused
/// ([`add`] returns `None`) until the session takes some at its next prompts.
pub const MAX_MESSAGES: usize = 50;

/// The longest message, in characters. A message this long still fits whole, with the words
/// in front of it, in the context one prompt delivers ([`MAX_CONTEXT_CHARS`]), so no message
/// is ever cut; a longer one is refused when it is left.
pub const MAX_MESSAGE_CHARS: usize = 8_000;

const _: () = assert!(PREFIX.len() + MAX_MESSAGE_CHARS < MAX_CONTEXT_CHARS);

/// Check the text of a message before it is left anywhere: not empty, not past
/// [`MAX_MESSAGE_CHARS`].
pub fn check_text(text: &str) -> Result<(), Error> {
    if text.trim().is_empty() {
        return Err(Error::invalid("the message is empty"));
    }
    let chars = text.chars().count();
    if chars > MAX_MESSAGE_CHARS {
        return Err(Error::invalid(format!(
            "the message is {chars} characters long, past the {MAX_MESSAGE_CHARS} that reach \
             a session whole"
        ))
        .with_hint("leave it in a file and send its path, or split it into several messages"));
    }
    Ok(())
}

/// Leave `text` in the session's inbox; returns the message's number in this session, or
/// `None` (nothing changed) when the inbox holds [`MAX_MESSAGES`] unread messages already.
/// The oldest read messages make room for it.
pub fn add(document: &mut Value, now: Timestamp, text: &str) -> Option<u64> {
    add_from(document, now, text, None)
}

/// Leave a note from the tracker (a clarification or feedback on the item the session works
/// on) in the session's inbox, like [`add`]; it reaches the model as the tracker's, not as a
/// person's message. `text` is cut to [`MAX_NOTE_CHARS`].
pub fn add_note(document: &mut Value, now: Timestamp, text: &str) -> Option<u64> {
    let text = match text.char_indices().nth(MAX_NOTE_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    };
    add_from(document, now, &text, Some(FROM_TRACKER))
}

/// The longest note the tracker leaves (characters); a longer comment is cut with `…` (the
/// item's comments keep it whole).
pub const MAX_NOTE_CHARS: usize = 2_000;

const _: () = assert!(MAX_NOTE_CHARS < MAX_MESSAGE_CHARS);

/// The `from` of a note the tracker leaves.
pub const FROM_TRACKER: &str = "tracker";

fn add_from(document: &mut Value, now: Timestamp, text: &str, from: Option<&str>) -> Option<u64> {
    let inbox = inbox_mut(document);
    let unread = inbox
        .iter()
        .filter(|message| message["read_at"].is_null())
        .count();
    if unread >= MAX_MESSAGES {
        return None;
    }
    let number = inbox
        .iter()
        .filter_map(|message| message.get("id").and_then(Value::as_u64))
        .max()
        .unwrap_or(0)
        + 1;
    let mut message = json!({"id": number, "text": text, "at": format_time(now), "read_at": null});
    if let Some(from) = from {
        message["from"] = json!(from);
    }
    inbox.push(message);
    while inbox.len() > MAX_MESSAGES {
        let Some(oldest_read) = inbox
            .iter()
            .position(|message| !message["read_at"].is_null())
        else {
            break;
        };
        inbox.remove(oldest_read);
    }
    Some(number)
}

/// The words in front of each message the model sees.
const PREFIX: &str = "Message from the user, left in the Orchestron inbox: ";

/// The words in front of each note from the tracker; no longer than [`PREFIX`], so that the
/// budget [`take_unread`] counts holds for notes too.
const NOTE_PREFIX: &str = "Orchestron tracker: ";

const _: () = assert!(NOTE_PREFIX.len() <= PREFIX.len());

/// An unread message as it is delivered: its text, and whether the tracker left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unread {
    pub text: String,
    /// A note from the tracker ([`add_note`]), not a person's message.
    pub note: bool,
}

impl Unread {
    fn of(message: &Value) -> Unread {
        Unread {
            text: message
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            note: message.get("from").and_then(Value::as_str) == Some(FROM_TRACKER),
        }
    }
}

impl PartialEq<&str> for Unread {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl PartialEq<String> for Unread {
    fn eq(&self, other: &String) -> bool {
        self.text == *other
    }
}

/// Take the unread messages that fit whole in `budget` characters of context, oldest first,
/// and mark only those read; the rest wait for the next prompt, whose budget
/// ([`MAX_CONTEXT_CHARS`]) fits any message [`check_text`] lets in. Only a message too long
/// for any prompt (left before messages were bounded) is taken when it does not fit, first
/// and alone, so that it cannot block the inbox.
pub fn take_unread(document: &mut Value, now: Timestamp, budget: usize) -> Vec<Unread> {
    let Some(inbox) = document
        .pointer_mut("/execution/inbox")
        .and_then(Value::as_array_mut)
    else {
        return Vec::new();
    };
    let mut texts = Vec::new();
    let mut used = 0;
    for message in inbox
        .iter_mut()
        .filter(|message| message["read_at"].is_null())
    {
        let taken = Unread::of(message);
        let needed = PREFIX.chars().count() + taken.text.chars().count() + 1;
        if used + needed > budget {
            let never_fits = texts.is_empty() && needed > MAX_CONTEXT_CHARS;
            if !never_fits {
                break;
            }
        }
        used += needed;
        texts.push(taken);
        message["read_at"] = json!(format_time(now));
    }
    texts
}

/// The unread messages, leaving them unread.
pub fn unread(document: &Value) -> Vec<Unread> {
    messages(document)
        .iter()
        .filter(|message| message["read_at"].is_null())
        .filter(|message| message.get("text").is_some_and(Value::is_string))
        .map(Unread::of)
        .collect()
}

/// The messages of a session, oldest first.
pub fn messages(document: &Value) -> Vec<Value> {
    document
        .pointer("/execution/inbox")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// The lines that carry messages to the model.
pub fn describe(messages: &[Unread]) -> Vec<String> {
    messages
        .iter()
        .map(|message| {
            let prefix = if message.note { NOTE_PREFIX } else { PREFIX };
            format!("{prefix}{}", message.text)
        })
        .collect()
}

fn inbox_mut(document: &mut Value) -> &mut Vec<Value> {
    if !document.is_object() {
        *document = json!({});
    }
    let execution = document
        .as_object_mut()
        .expect("an object")
        .entry("execution")
        .or_insert_with(|| json!({}));
    if !execution.is_object() {
        *execution = json!({});
    }
    let inbox = execution
        .as_object_mut()
        .expect("an object")
        .entry("inbox")
        .or_insert_with(|| json!([]));
    if !inbox.is_array() {
        *inbox = json!([]);
    }
    inbox.as_array_mut().expect("an array")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn messages_are_delivered_once() {
        let mut doc = json!({"execution": {}});
        assert_eq!(add(&mut doc, now(), "use PostgreSQL"), Some(1));
        assert_eq!(add(&mut doc, now(), "not MySQL"), Some(2));
        assert_eq!(
            take_unread(&mut doc, now(), 1000),
            ["use PostgreSQL", "not MySQL"]
        );
        assert!(take_unread(&mut doc, now(), 1000).is_empty());
        assert_eq!(messages(&doc).len(), 2);
    }

    #[test]
    fn finding_13_unread_messages_are_never_dropped_and_a_full_inbox_refuses() {
        let mut doc = json!({"execution": {}});
        add(&mut doc, now(), "read one").unwrap();
        take_unread(&mut doc, now(), 1000);
        // Read messages make room: the inbox holds MAX_MESSAGES unread ones at the bound.
        for n in 0..MAX_MESSAGES {
            assert!(add(&mut doc, now(), &format!("m{n}")).is_some(), "m{n}");
        }
        assert_eq!(messages(&doc).len(), MAX_MESSAGES);
        assert_eq!(unread(&doc).len(), MAX_MESSAGES, "the read one made room");
        // Past the bound: refused, nothing changed.
        let before = doc.clone();
        assert_eq!(add(&mut doc, now(), "one too many"), None);
        assert_eq!(doc, before);
        // Every one of them arrives, over as many prompts as it takes.
        let mut delivered = Vec::new();
        for _ in 0..MAX_MESSAGES {
            delivered.extend(take_unread(&mut doc, now(), 200));
        }
        let expected: Vec<String> = (0..MAX_MESSAGES).map(|n| format!("m{n}")).collect();
        assert_eq!(delivered, expected);
        // Once read, there is room again, and the oldest read one goes.
        assert_eq!(add(&mut doc, now(), "again"), Some(MAX_MESSAGES as u64 + 2));
        assert_eq!(messages(&doc).len(), MAX_MESSAGES);
        assert_eq!(messages(&doc)[0]["text"], "m1");
    }

    #[test]
    fn finding_13_message_length_is_bounded_so_each_arrives_whole() {
        assert!(check_text(&"x".repeat(MAX_MESSAGE_CHARS)).is_ok());
        assert!(
            check_text(&"é".repeat(MAX_MESSAGE_CHARS)).is_ok(),
            "characters"
        );
        let err = check_text(&"x".repeat(MAX_MESSAGE_CHARS + 1)).unwrap_err();
        assert!(err.message().contains("8001 characters"), "{err}");
        assert!(check_text(" \n").is_err());
        // The longest message arrives whole at a prompt.
        let mut doc = json!({"execution": {}});
        let longest = "x".repeat(MAX_MESSAGE_CHARS);
        add(&mut doc, now(), &longest).unwrap();
        assert_eq!(take_unread(&mut doc, now(), MAX_CONTEXT_CHARS), [longest]);
    }

    #[test]
    fn a_tracker_note_reads_as_the_tracker_s_and_is_cut_to_its_bound() {
        let mut doc = json!({"execution": {}});
        add(&mut doc, now(), "from a person");
        add_note(&mut doc, now(), &"n".repeat(MAX_NOTE_CHARS + 50));
        let taken = take_unread(&mut doc, now(), MAX_CONTEXT_CHARS);
        assert_eq!(taken.len(), 2);
        assert!(!taken[0].note && taken[1].note);
        let lines = describe(&taken);
        assert_eq!(lines[0], format!("{PREFIX}from a person"));
        assert!(
            lines[1].starts_with("Orchestron tracker: nnn"),
            "{}",
            lines[1]
        );
        assert_eq!(taken[1].text.chars().count(), MAX_NOTE_CHARS + 1);
        assert!(taken[1].text.ends_with('…'));
        assert_eq!(messages(&doc)[1]["from"], FROM_TRACKER);
        assert_eq!(messages(&doc)[0].get("from"), None);
    }

    #[test]
    fn what_does_not_fit_waits_whole() {
        let mut doc = json!({"execution": {}});
        let long = "x".repeat(500);
        add(&mut doc, now(), &long);
        add(&mut doc, now(), &long);
        // A small budget (SessionStart's) leaves a message that does not fit for a prompt.
        assert!(take_unread(&mut doc, now(), 100).is_empty());
        assert_eq!(unread(&doc).len(), 2);
        assert_eq!(take_unread(&mut doc, now(), 700).len(), 1);
        assert_eq!(take_unread(&mut doc, now(), 700).len(), 1);
        assert!(unread(&doc).is_empty());
        // One stored before messages were bounded, too long for any prompt, goes alone.
        let mut doc = json!({"execution": {}});
        add(&mut doc, now(), &"y".repeat(MAX_CONTEXT_CHARS + 1));
        add(&mut doc, now(), "short");
        assert_eq!(take_unread(&mut doc, now(), 100).len(), 1);
        assert_eq!(unread(&doc), ["short"]);
    }
}
