//! `orchestron status`: where the current session stands (seed 000 §10.1): its item with
//! progress and status, what blocks it, its unread messages; with no session, the project
//! in one line. The core gathers it (`orchestron_core::status`); this module prints it.

use serde_json::Value;

use crate::context::Context;
use crate::output::Output;
use orchestron_core::ids::SessionId;

pub(super) fn run(
    context: &Context,
    out: &mut Output,
    session: Option<String>,
) -> anyhow::Result<()> {
    let id = match session {
        Some(raw) => Some(SessionId::parse(&raw)?),
        None => super::ambient_session(context)?,
    };
    let value = orchestron_core::status::status(context.core()?, id.as_ref())?;
    if out.json() {
        out.json_line(&value)?;
        return Ok(());
    }
    for line in render(&value) {
        out.line(&line)?;
    }
    Ok(())
}

/// The status as lines for people.
fn render(value: &Value) -> Vec<String> {
    let text = |value: &Value| value.as_str().unwrap_or("?").to_owned();
    let Some(session) = value["session"].as_object() else {
        return vec!["No current session.".to_owned(), text(&value["project"])];
    };
    let mut lines = vec![format!(
        "Session {} ({}, {})",
        text(&session["id"]),
        text(&session["mode"]),
        text(&session["status"])
    )];
    match value["item"].as_object() {
        Some(item) => {
            lines.push(format!(
                "Current task: {} ({}% complete): {}",
                text(&item["id"]),
                item["progress"],
                text(&item["title"])
            ));
            lines.push(format!("Status: {}", text(&item["status"])));
            let mut blockers: Vec<String> = value["blockers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|blocker| {
                    format!(
                        "waits for {} ({}) {}",
                        text(&blocker["id"]),
                        text(&blocker["status"]),
                        text(&blocker["title"])
                    )
                })
                .collect();
            if let Some(reason) = value["blocked_reason"].as_str() {
                blockers.insert(0, reason.to_owned());
            }
            lines.push(if blockers.is_empty() {
                "Blockers: none".to_owned()
            } else {
                format!("Blockers: {}", blockers.join("; "))
            });
        }
        None => lines.push(
            "Current task: none (`orchestron task next --claim` takes the next ready one)"
                .to_owned(),
        ),
    }
    let unread = value["messages"]["unread"].as_u64().unwrap_or(0);
    lines.push(format!(
        "Messages: {}",
        if unread == 0 {
            "none unread".to_owned()
        } else {
            format!("{unread} unread")
        }
    ));
    for first in value["messages"]["first_lines"]
        .as_array()
        .into_iter()
        .flatten()
    {
        lines.push(format!("  - {}", text(first)));
    }
    lines
}
