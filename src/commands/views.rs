//! The faces of the views the slash commands and output styles show: `board` (the Kanban
//! board), `summary` (the project on one page) and `monitor` (live sessions and activity).
//! The core gathers each once as JSON (`orchestron_core::views`); this module prints that
//! value as it is (`--json`) or renders it as markdown or text, so the three formats never
//! disagree. The renderers are `slash`'s too.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::cli::Format;
use crate::context::Context;
use crate::output::{Output, printable};
use orchestron_core::session;
use orchestron_core::tracker::model::Status;
use orchestron_core::views;

fn format_of(out: &Output, format: Format) -> Format {
    if out.json() { Format::Json } else { format }
}

fn print(
    out: &mut Output,
    format: Format,
    value: &Value,
    render: fn(&Value, bool) -> String,
) -> anyhow::Result<()> {
    match format_of(out, format) {
        Format::Json => out.json_line(value)?,
        Format::Markdown => out.bytes(printable(&render(value, true)).as_bytes())?,
        Format::Text => out.bytes(printable(&render(value, false)).as_bytes())?,
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// board

pub(super) fn board(
    context: &Context,
    out: &mut Output,
    sprint: Option<String>,
    limit: usize,
    format: Format,
) -> anyhow::Result<()> {
    let value = views::board(context.core()?, sprint.as_deref(), limit)?;
    print(out, format, &value, render_board)
}

/// The board as text for people (`markdown`, or plain).
pub(super) fn render_board(value: &Value, markdown: bool) -> String {
    let mut page = Page::new(markdown);
    match value["sprint"].as_object() {
        Some(sprint) => page.title(&format!(
            "Board: {} ({}, {})",
            str_of(&sprint["name"]),
            str_of(&sprint["id"]),
            str_of(&sprint["status"])
        )),
        None => page.title("Board: all open work (no active sprint)"),
    }
    if let Some(goal) = value["sprint"]["goal"].as_str().filter(|g| !g.is_empty()) {
        page.line(&format!("Goal: {goal}"));
    }
    if let Some(burndown) = value["burndown"].as_object() {
        page.line(&format!(
            "Day {} of {}: {:.1} of {:.1} h left, ideal {:.1} ({})",
            burndown["day"],
            burndown["days"],
            burndown["remaining"].as_f64().unwrap_or(0.0),
            burndown["total"].as_f64().unwrap_or(0.0),
            burndown["ideal"].as_f64().unwrap_or(0.0),
            if burndown["on_track"] == true {
                "on track"
            } else {
                "behind"
            }
        ));
    }
    for column in value["columns"].as_array().into_iter().flatten() {
        let count = column["count"].as_i64().unwrap_or(0);
        let mut title = match column["wip_limit"].as_u64() {
            Some(limit) => format!("{} ({count}/{limit})", str_of(&column["status"])),
            None => format!("{} ({count})", str_of(&column["status"])),
        };
        if column["over_limit"] == true {
            title.push_str(" over the WIP limit");
        }
        let cards = page.section(&title, &column["items"], None, |card| {
            let mut parts = vec![str_of(&card["priority"]).to_owned()];
            if let Some(who) = card["assignee_name"]
                .as_str()
                .or_else(|| card["assignee"].as_str())
            {
                parts.push(format!("@{who}"));
            }
            if card["progress"].as_i64().unwrap_or(0) > 0 {
                parts.push(format!("{}%", card["progress"]));
            }
            if let Some(hours) = card["estimate"].as_f64() {
                parts.push(format!("{hours}h"));
            }
            let (id, title) = (str_of(&card["id"]), str_of(&card["title"]));
            if markdown {
                format!("**{id}** {title} · {}", parts.join(" · "))
            } else {
                format!("{id}  {title}  {}", parts.join("  "))
            }
        });
        if count > cards as i64 {
            page.bullet(&format!("… and {} more", count - cards as i64));
        }
    }
    if value["blockers"].as_array().is_some_and(|b| !b.is_empty()) {
        page.section("Blockers", &value["blockers"], None, blocker_line);
    }
    page.text
}

/// Text for people, as markdown or plain: a title, headed sections of bulleted lines.
struct Page {
    text: String,
    markdown: bool,
}

impl Page {
    fn new(markdown: bool) -> Page {
        Page {
            text: String::new(),
            markdown,
        }
    }

    fn title(&mut self, line: &str) {
        let mark = if self.markdown { "## " } else { "" };
        let _ = writeln!(self.text, "{mark}{line}");
    }

    fn line(&mut self, line: &str) {
        let _ = writeln!(self.text, "{line}");
    }

    fn bullet(&mut self, line: &str) {
        let mark = if self.markdown { "- " } else { "  " };
        let _ = writeln!(self.text, "{mark}{line}");
    }

    /// A heading, then a bullet per item of the array `items` (or the line `empty` when
    /// there is none). Returns how many items it showed.
    fn section(
        &mut self,
        heading: &str,
        items: &Value,
        empty: Option<&str>,
        line: impl Fn(&Value) -> String,
    ) -> usize {
        let mark = if self.markdown { "### " } else { "" };
        let _ = writeln!(self.text, "\n{mark}{heading}");
        let items = items.as_array().map(Vec::as_slice).unwrap_or_default();
        if let (true, Some(empty)) = (items.is_empty(), empty) {
            self.bullet(empty);
        }
        for item in items {
            self.bullet(&line(item));
        }
        items.len()
    }
}

fn blocker_line(blocker: &Value) -> String {
    format!(
        "{} {}: {}",
        str_of(&blocker["id"]),
        str_of(&blocker["title"]),
        why_blocked(blocker)
    )
}

fn why_blocked(blocker: &Value) -> String {
    let mut why = Vec::new();
    if let Some(reason) = blocker["reason"].as_str() {
        why.push(reason.to_owned());
    }
    let waiting: Vec<&str> = blocker["waiting_on"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if !waiting.is_empty() {
        why.push(format!("waiting on {}", waiting.join(", ")));
    }
    if why.is_empty() {
        "blocked".to_owned()
    } else {
        why.join("; ")
    }
}

// ---------------------------------------------------------------------------------------
// summary

pub(super) fn summary(context: &Context, out: &mut Output, format: Format) -> anyhow::Result<()> {
    let value = views::summary(context.core()?)?;
    print(out, format, &value, render_summary)
}

/// The summary as text for people (`markdown`, or plain).
pub(super) fn render_summary(value: &Value, markdown: bool) -> String {
    let mut page = Page::new(markdown);
    page.title(&format!(
        "Project {}: {} items",
        str_of(&value["project"]),
        value["items"]["total"]
    ));
    if let Some(by_status) = value["items"]["by_status"]
        .as_object()
        .filter(|m| !m.is_empty())
    {
        let parts: Vec<String> = Status::NAMES
            .iter()
            .filter_map(|status| by_status.get(*status).map(|n| format!("{status} {n}")))
            .collect();
        page.line(&parts.join(", "));
    }
    let sprint = match value["sprint"].as_object() {
        Some(sprint) => json!([format!(
            "{} ({}): day {} of {}, {} of {} items done, {:.1} of {:.1} h",
            str_of(&sprint["name"]),
            str_of(&sprint["id"]),
            sprint["day"],
            sprint["duration_days"],
            sprint["items_done"],
            sprint["items"],
            sprint["hours_done"].as_f64().unwrap_or(0.0),
            sprint["hours"].as_f64().unwrap_or(0.0)
        )]),
        None => json!([]),
    };
    page.section("Sprint", &sprint, Some("no active sprint"), |line| {
        str_of(line).to_owned()
    });
    page.section(
        "Sessions",
        &value["sessions"],
        Some("none live"),
        session_line,
    );
    page.section("Blockers", &value["blockers"], Some("none"), blocker_line);
    page.section(
        "Ready next",
        &value["ready"],
        Some("nothing ready"),
        |item| {
            format!(
                "{} {} ({})",
                str_of(&item["id"]),
                str_of(&item["title"]),
                str_of(&item["priority"])
            )
        },
    );
    if value["decisions"].as_array().is_some_and(|d| !d.is_empty()) {
        page.section("Latest decisions", &value["decisions"], None, |decision| {
            format!("{} {}", str_of(&decision["id"]), str_of(&decision["title"]))
        });
    }
    page.text
}

// ---------------------------------------------------------------------------------------
// sessions, shown by summary and monitor

fn session_line(session: &Value) -> String {
    let mut parts = vec![
        str_of(&session["id"]).to_owned(),
        str_of(&session["mode"]).to_owned(),
        str_of(&session["status"]).to_owned(),
    ];
    if let Some(agent) = session["agent"].as_str() {
        parts.push(format!("agent {agent}"));
    }
    // Which checkout it works in, by its branch (the JSON has the folder too).
    if let Some(branch) = session["branch"].as_str() {
        parts.push(format!("branch {branch}"));
    }
    if let Some(waiting) = session["waiting"].as_object() {
        parts.push(crate::hook::describe_waiting(
            waiting.get("reason").and_then(Value::as_str),
            waiting.get("seconds").and_then(Value::as_i64),
        ));
    }
    // An ended session shows how long it ran, fixed; a live one its age.
    if let Some(seconds) = session["ran_seconds"].as_i64() {
        parts.push(format!("ran {}", crate::hook::age(seconds)));
    } else if let Some(seconds) = session["age_seconds"].as_i64() {
        parts.push(format!("up {}", crate::hook::age(seconds)));
    }
    if let Some(total) = session["todos"]["total"].as_u64() {
        parts.push(format!(
            "to-dos {}/{total}",
            session["todos"]["done"].as_u64().unwrap_or(0)
        ));
    }
    parts.push(format!("{} tool calls", session["tool_calls"]));
    // `last_test` is what the last run stored as `passed`.
    if let Some(verdict) = session["last_test"].as_bool().map(session::verdict) {
        parts.push(format!("tests {verdict}"));
    }
    let running = session["agents"].as_array().map_or(0, |agents| {
        agents
            .iter()
            .filter(|agent| agent["status"] == "running")
            .count()
    });
    if running > 0 {
        parts.push(format!("{running} agents running"));
    }
    if let Some(task) = session["task"].as_object() {
        parts.push(format!(
            "on {} {}",
            str_of(&task["id"]),
            str_of(&task["title"])
        ));
    }
    parts.join(" · ")
}

// ---------------------------------------------------------------------------------------
// monitor

pub(super) fn monitor(
    context: &Context,
    out: &mut Output,
    limit: usize,
    format: Format,
) -> anyhow::Result<()> {
    let value = views::monitor(context.core()?, limit)?;
    print(out, format, &value, render_monitor)
}

/// The monitor as text for people (`markdown`, or plain).
pub(super) fn render_monitor(value: &Value, markdown: bool) -> String {
    let mut page = Page::new(markdown);
    let m = &value["metrics"];
    page.title(&format!(
        "{} live sessions ({} waiting for a person), {} agents running, {} tool calls ({} failed), {} items in progress, {} done today",
        m["sessions_live"],
        m["sessions_waiting"],
        m["agents_running"],
        m["tool_calls"],
        m["tool_failures"],
        m["items_in_progress"],
        m["items_done_today"]
    ));
    page.section(
        "Sessions",
        &value["sessions"],
        Some("none in the last day"),
        session_line,
    );
    page.section(
        "Activity",
        &value["activity"],
        Some("nothing yet"),
        |event| {
            let what = event["item"]
                .as_str()
                .map(|item| format!("{item} {}", event["title"].as_str().unwrap_or_default()))
                .or_else(|| event["session"].as_str().map(|s| format!("session {s}")))
                .unwrap_or_default();
            format!(
                "{} {} {}",
                str_of(&event["at"]),
                str_of(&event["what"]),
                what
            )
            .trim_end()
            .to_owned()
        },
    );
    page.text
}

fn str_of(value: &Value) -> &str {
    value.as_str().unwrap_or("-")
}
