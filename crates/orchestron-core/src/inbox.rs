//! Messages people leave for running sessions ("use PostgreSQL, not MySQL"), kept in the
//! session document under `execution.inbox`. The session's next prompt (or start) delivers
//! unread messages to the model once and marks them read.
//!
//! Pure functions over the document, like `session`: no I/O, no clock.

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::session::format_time;

/// How many messages a session keeps; the oldest read ones go first.
pub const MAX_MESSAGES: usize = 50;

/// Leave `text` in the session's inbox; returns the message's number in this session.
pub fn add(document: &mut Value, now: Timestamp, text: &str) -> u64 {
    let inbox = inbox_mut(document);
    let number = inbox
        .iter()
        .filter_map(|message| message.get("id").and_then(Value::as_u64))
        .max()
        .unwrap_or(0)
        + 1;
    inbox.push(json!({"id": number, "text": text, "at": format_time(now), "read_at": null}));
    while inbox.len() > MAX_MESSAGES {
        let oldest_read = inbox
            .iter()
            .position(|message| !message["read_at"].is_null())
            .unwrap_or(0);
        inbox.remove(oldest_read);
    }
    number
}

/// The words in front of each message the model sees.
const PREFIX: &str = "Message from the user, left in the Orchestron inbox: ";

/// Take the unread messages that fit in `budget` characters of context, oldest first, and
/// mark only those read; the rest wait for the next prompt. The first one is always taken,
/// shortened to the budget if it must be, so one long message cannot block the inbox.
pub fn take_unread(document: &mut Value, now: Timestamp, budget: usize) -> Vec<String> {
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
        let text = message
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let needed = PREFIX.chars().count() + text.chars().count() + 1;
        if !texts.is_empty() && used + needed > budget {
            break;
        }
        used += needed;
        texts.push(text);
        message["read_at"] = json!(format_time(now));
    }
    texts
}

/// The unread messages' texts, leaving them unread.
pub fn unread(document: &Value) -> Vec<String> {
    messages(document)
        .iter()
        .filter(|message| message["read_at"].is_null())
        .filter_map(|message| {
            message
                .get("text")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
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
pub fn describe(texts: &[String]) -> Vec<String> {
    texts.iter().map(|text| format!("{PREFIX}{text}")).collect()
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

    #[test]
    fn messages_are_delivered_once() {
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let mut doc = json!({"execution": {}});
        assert_eq!(add(&mut doc, now, "use PostgreSQL"), 1);
        assert_eq!(add(&mut doc, now, "not MySQL"), 2);
        assert_eq!(
            take_unread(&mut doc, now, 1000),
            ["use PostgreSQL", "not MySQL"]
        );
        assert!(take_unread(&mut doc, now, 1000).is_empty());
        assert_eq!(messages(&doc).len(), 2);
        for n in 0..60 {
            add(&mut doc, now, &format!("m{n}"));
        }
        assert_eq!(messages(&doc).len(), MAX_MESSAGES);
        assert_eq!(
            take_unread(&mut doc, now, 100_000).len(),
            MAX_MESSAGES,
            "unread ones are kept first"
        );
    }

    #[test]
    fn what_does_not_fit_waits_and_the_first_always_goes() {
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let mut doc = json!({"execution": {}});
        let long = "x".repeat(500);
        add(&mut doc, now, &long);
        add(&mut doc, now, &long);
        assert_eq!(take_unread(&mut doc, now, 100).len(), 1);
        assert_eq!(unread(&doc).len(), 1);
        assert_eq!(take_unread(&mut doc, now, 100).len(), 1);
        assert!(unread(&doc).is_empty());
    }
}
