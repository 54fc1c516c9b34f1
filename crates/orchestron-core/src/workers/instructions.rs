//! A worker's instructions: the bootstrap prompt `workers run` gives a headless Claude Code,
//! and `orchestron worker-instructions ID` prints (to paste by hand).
//!
//! [`compose`] gathers, read only: the item (title, description, checkpoints, estimate,
//! parent chain), what it has learned (clarifications, feedback, questions, a rejected
//! review's feedback among them), its dependencies' completion notes and merged branches
//! (the `merged` event the merge train records), the decisions and memory entries that match
//! it (by word, through the full-text index), its earlier attempts (`worker_attempts`: the
//! branch, how and why each ended, the tail of its log rendered short), and the protocol.
//! Everything but the heading and the protocol is optional: parts are taken by importance
//! while they fit in `workers.instructions_bytes`, and the text says what was cut.

use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension as _};
use serde::Serialize;
use serde_json::{Value, json};

use super::stream;
use super::train::{DEFAULT_INTO, branch_for};
use crate::attention::{AttemptRow, attempts_of, latest_event_text};
use crate::context::Context;
use crate::error::Result;
use crate::text::clip_line;
use crate::tracker::items;
use crate::tracker::knowledge::{self, RelatedDecision};
use crate::tracker::tasks::{self, Comment};

/// Which attempt the supervisor starts: "This is attempt `number` of `of`", on the worker
/// branch that merges into `into_branch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    pub number: u32,
    pub of: u32,
    pub into_branch: String,
}

/// The composed instructions.
#[derive(Debug, Clone)]
pub struct Instructions {
    /// The prompt, at most `workers.instructions_bytes` bytes.
    pub markdown: String,
    /// What had to be left out to fit, for people (`"2 of 5 knowledge entries"`).
    pub cut: Vec<String>,
    /// Everything gathered, whole (nothing cut), with `markdown`, `cut` and the limit.
    pub json: Value,
}

/// The most bytes of the log a past attempt's tail is read from.
const LOG_TAIL_BYTES: u64 = 64 * 1024;
/// The most lines of a past attempt's log the instructions show.
const LOG_TAIL_LINES: usize = 8;
/// How many decisions and memory entries are looked for.
const KNOWLEDGE_LIMIT: usize = 5;
/// The most characters of one comment (a rejected review's feedback): beyond any limit, so
/// that only the size of the whole cuts one, and says so.
const MAX_COMMENT_CHARS: usize = 64 * 1024;
/// The least room a shortened description is given rather than left out.
const MIN_SHORTENED: usize = 200;
/// How a shortened description is named among the cuts.
const SHORTENED: &str = "the description's end";
/// Room kept for the line that says what was cut.
const CUT_LINE_RESERVE: usize = 240;

/// Compose the instructions for item `id` (an id or a unique prefix). Reads only.
pub fn compose(cx: &Context, id: &str, attempt: Option<&Attempt>) -> Result<Instructions> {
    let detail = tasks::show(cx, id)?;
    let db = cx.tracker_for_reads()?;
    let conn = db.conn();
    let item = &detail.view.item;
    let id = item.id.as_str();

    let parents = parent_chain(conn, item.parent.as_deref())?;
    let comments = tasks::comments_of(conn, id, None)?;
    let mut dependencies = Vec::new();
    for dependency in &detail.depends_on {
        let found = items::get(conn, &dependency.id)?;
        dependencies.push(json!({
            "id": dependency.id,
            "title": found.title,
            "status": dependency.status.as_str(),
            "note": latest_event_text(conn, &dependency.id, "completion_note")?,
            "merged": latest_event_json(conn, &dependency.id, "merged")?,
        }));
    }
    let words = search_words(&item.title, &detail.view.labels, &item.description);
    let mut tied: Vec<&str> = vec![id];
    tied.extend(parents.iter().map(|(id, _)| id.as_str()));
    let decisions = knowledge::related_decisions(conn, &tied, &words, KNOWLEDGE_LIMIT)?;
    let memory = knowledge::related_memory(conn, &words, KNOWLEDGE_LIMIT)?;
    let attempts = attempts_of(conn, id)?;
    let tails: Vec<Vec<String>> = attempts
        .iter()
        .map(|attempt| log_tail(&resolve_log(cx, &attempt.log)))
        .collect();
    let into = match attempt {
        Some(attempt) => attempt.into_branch.clone(),
        None => match attempts.last() {
            Some(last) => run_into(conn, &last.run)?,
            None => None,
        }
        .unwrap_or_else(|| DEFAULT_INTO.to_owned()),
    };
    let conflict = attempts
        .last()
        .and_then(|last| last.outcome.as_deref())
        .is_some_and(|outcome| outcome.contains("conflict"));

    // The parts, each with where it shows and how much it matters.
    let mut parts = Parts::default();
    let description = item.description.trim();
    if !description.is_empty() {
        let most = cx.config().instructions_bytes();
        let clipped = clip_bytes(description, most);
        if clipped.len() < description.len() {
            parts.note_cut(SHORTENED.to_owned());
            let clipped = clip_words(description, most);
            parts.push_shortening(Section::Item, 0, format!("{clipped}…\n"));
        } else {
            parts.push_shortening(Section::Item, 0, format!("{clipped}\n"));
        }
    }
    let mut facts = vec![
        format!("type {}", item.kind.as_str()),
        format!("priority {}", item.priority.as_str()),
        format!("status {}", item.status.as_str()),
    ];
    if let Some(estimate) = item.estimate {
        facts.push(format!("estimate {estimate}h"));
    }
    if !detail.view.labels.is_empty() {
        facts.push(format!("labels {}", detail.view.labels.join(", ")));
    }
    parts.push(Section::Item, 1, format!("- {}\n", facts.join("; ")));
    if !detail.view.files.is_empty() {
        parts.push(
            Section::Item,
            1,
            format!(
                "- the files it expects to touch, leased to you while you work (keep to them): {}\n",
                detail.view.files.join(", ")
            ),
        );
    }
    if !parents.is_empty() {
        let chain: Vec<String> = parents
            .iter()
            .map(|(id, title)| format!("{id} \"{}\"", clip_line(title, 80)))
            .collect();
        parts.push(
            Section::Item,
            2,
            format!("- part of: {}\n", chain.join(" › ")),
        );
    }
    for checkpoint in &detail.checkpoints {
        parts.push(
            Section::Checkpoints,
            3,
            format!(
                "- [{}] {}. {}\n",
                if checkpoint.done { "x" } else { " " },
                checkpoint.number,
                clip_line(&checkpoint.text, 300)
            ),
        );
    }
    // The newest comments matter most (a rejected review's feedback is the newest).
    for (index, comment) in comments.iter().enumerate().rev() {
        parts.push_shortening_at(
            Section::Learned,
            4,
            index,
            format!("- {}\n", describe_comment(comment)),
            "the end of a long comment",
        );
    }
    for (index, attempt) in attempts.iter().enumerate().rev() {
        parts.push_at(
            Section::Attempts,
            5,
            index * 2,
            format!("- {}\n", describe_attempt(attempt)),
        );
        if !tails[index].is_empty() {
            let tail: String = tails[index]
                .iter()
                .map(|line| format!("    {line}\n"))
                .collect();
            parts.push_at(
                Section::Attempts,
                8,
                index * 2 + 1,
                format!("  The end of its log:\n{tail}"),
            );
        }
    }
    for dependency in &dependencies {
        parts.push(Section::Dependencies, 6, describe_dependency(dependency));
    }
    for decision in &decisions {
        parts.push(Section::Knowledge, 7, describe_decision(decision));
    }
    for entry in &memory {
        parts.push(
            Section::Knowledge,
            7,
            format!(
                "- memory {} `{}`: {}\n",
                entry.kind,
                clip_line(&entry.key, 80),
                clip_line(&entry.description, 300)
            ),
        );
    }

    let head = heading(id, &item.title, attempt);
    let protocol = protocol(id, attempt, conflict.then_some(into.as_str()));
    let limit = cx.config().instructions_bytes();
    let (markdown, cut) = parts.assemble(&head, &protocol, limit);

    let json = json!({
        "item": detail.view,
        "parents": parents.iter().map(|(id, title)| json!({"id": id, "title": title})).collect::<Vec<_>>(),
        "checkpoints": detail.checkpoints,
        "comments": comments,
        "dependencies": dependencies,
        "decisions": decisions,
        "memory": memory,
        "attempts": attempts.iter().zip(&tails).map(|(attempt, tail)| {
            let mut value = json!(attempt);
            value["log_tail"] = json!(tail);
            value
        }).collect::<Vec<_>>(),
        "attempt": attempt,
        "branch": branch_for(id),
        "into": into,
        "merge_integration_first": conflict,
        "markdown": markdown,
        "bytes": markdown.len(),
        "limit": limit,
        "cut": cut,
    });
    Ok(Instructions {
        markdown,
        cut,
        json,
    })
}

/// The first lines: the item id and title, the attempt, who the reader is.
fn heading(id: &str, title: &str, attempt: Option<&Attempt>) -> String {
    let mut text = format!("# {id}: {}\n\n", clip_line(title, 200));
    if let Some(attempt) = attempt {
        text.push_str(&format!(
            "This is attempt {} of {}. You are an Orchestron worker: a headless Claude Code \
             session in a git worktree of your own, on branch `{}`, which is merged into `{}` \
             once your work is done.\n\n",
            attempt.number,
            attempt.of,
            branch_for(id),
            attempt.into_branch
        ));
    } else {
        text.push_str(&format!(
            "You work on tracker item {id}: do what it asks, within the protocol at the end.\n\n"
        ));
    }
    text
}

/// How a worker reports, asks and finishes. Kept short: it is never cut.
fn protocol(id: &str, attempt: Option<&Attempt>, merge_first: Option<&str>) -> String {
    let mut text = String::from("## Protocol\n\n");
    if let Some(into) = merge_first {
        text.push_str(&format!(
            "- First: your last attempt's work conflicts with `{into}`. Run `git merge {into}` \
             in this worktree, resolve every conflict keeping both sides' intent, and commit \
             the merge.\n"
        ));
    }
    text.push_str(&format!(
        "- Report progress: `orchestron task progress {id} --percent N`; mark a checkpoint \
         done: `orchestron task checkpoint {id} --done N`.\n\
         - If you need a person's answer: `orchestron task ask {id} \"your question\"`, then \
         stop. The item waits for the answer.\n\
         - To finish: commit all your work{}, then run `orchestron task complete {id} --note \
         \"what I did\"`.\n\
         - Never push, merge{}, switch branches or leave this worktree.\n",
        if attempt.is_some() {
            format!(" on branch `{}`", branch_for(id))
        } else {
            String::new()
        },
        if merge_first.is_some() {
            " (but for the first step)"
        } else {
            ""
        }
    ));
    text
}

/// Where a part shows, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Section {
    Item,
    Checkpoints,
    Learned,
    Dependencies,
    Knowledge,
    Attempts,
}

impl Section {
    const ALL: [Section; 6] = [
        Section::Item,
        Section::Checkpoints,
        Section::Learned,
        Section::Dependencies,
        Section::Knowledge,
        Section::Attempts,
    ];

    fn heading(self) -> &'static str {
        match self {
            Section::Item => "## The item\n\n",
            Section::Checkpoints => "## Checkpoints (the acceptance list)\n\n",
            Section::Learned => "## Clarifications and feedback\n\n",
            Section::Dependencies => "## What it builds on (its dependencies)\n\n",
            Section::Knowledge => "## Decisions and memory that may apply\n\n",
            Section::Attempts => "## Earlier attempts\n\n",
        }
    }

    /// How a cut part is counted, for people.
    fn noun(self) -> &'static str {
        match self {
            Section::Item => "item details",
            Section::Checkpoints => "checkpoints",
            Section::Learned => "clarifications and feedback",
            Section::Dependencies => "dependencies",
            Section::Knowledge => "knowledge entries",
            Section::Attempts => "earlier-attempt lines",
        }
    }
}

/// One optional part: its section, its importance (smaller first), its place in the section
/// and its text.
#[derive(Debug)]
struct Part {
    section: Section,
    importance: usize,
    place: usize,
    text: String,
    /// Cut to what room is left rather than left out (the description, a comment), and how
    /// the cut is named then.
    shortens: Option<&'static str>,
}

#[derive(Debug, Default)]
struct Parts {
    parts: Vec<Part>,
    cut: Vec<String>,
}

impl Parts {
    fn push(&mut self, section: Section, importance: usize, text: String) {
        let place = self.parts.len();
        self.push_at(section, importance, place, text);
    }

    fn push_at(&mut self, section: Section, importance: usize, place: usize, text: String) {
        self.parts.push(Part {
            section,
            importance,
            place,
            text,
            shortens: None,
        });
    }

    /// A part that, when it does not fit whole, keeps its start (ending in `…`).
    fn push_shortening(&mut self, section: Section, importance: usize, text: String) {
        let place = self.parts.len();
        self.push_shortening_at(section, importance, place, text, SHORTENED);
    }

    /// [`Parts::push_shortening`] at a place, named `cut` when it is shortened.
    fn push_shortening_at(
        &mut self,
        section: Section,
        importance: usize,
        place: usize,
        text: String,
        cut: &'static str,
    ) {
        self.push_at(section, importance, place, text);
        if let Some(part) = self.parts.last_mut() {
            part.shortens = Some(cut);
        }
    }

    fn note_cut(&mut self, what: String) {
        self.cut.push(what);
    }

    /// The heading, the parts that fit by importance (each section in its place, its parts
    /// in theirs), the protocol and, when anything was left out, the line saying what.
    fn assemble(mut self, head: &str, protocol: &str, limit: usize) -> (String, Vec<String>) {
        let fixed = head.len() + protocol.len() + 1 + CUT_LINE_RESERVE;
        let mut room = limit.saturating_sub(fixed);
        // Stable: equal importance keeps the order pushed (newest first where it matters).
        let mut order: Vec<usize> = (0..self.parts.len()).collect();
        order.sort_by_key(|&index| self.parts[index].importance);
        let mut taken = vec![false; self.parts.len()];
        let mut opened: Vec<Section> = Vec::new();
        // What the parts still to place would take, for a shortened part to leave them.
        let mut rest: usize = self.parts.iter().map(|part| part.text.len()).sum();
        for index in order {
            rest -= self.parts[index].text.len();
            let part = &mut self.parts[index];
            let heading = if opened.contains(&part.section) {
                0
            } else {
                part.section.heading().len() + 1
            };
            if let Some(name) = part.shortens
                && heading + part.text.len() > room
                && room >= heading + MIN_SHORTENED
            {
                // What follows (the newest feedback first) keeps its room, up to half.
                let share = room
                    .saturating_sub(rest.min(room / 2))
                    .max(MIN_SHORTENED)
                    .min(room);
                let keep = share.saturating_sub(heading + "…\n".len());
                part.text = format!("{}…\n", clip_words(&part.text, keep));
                if !self.cut.iter().any(|cut| cut == name) {
                    self.cut.push(name.to_owned());
                }
            }
            if heading + part.text.len() <= room {
                room -= heading + part.text.len();
                taken[index] = true;
                if heading > 0 {
                    opened.push(part.section);
                }
            }
        }
        for section in Section::ALL {
            let total = self.parts.iter().filter(|p| p.section == section).count();
            let kept = self
                .parts
                .iter()
                .zip(&taken)
                .filter(|(p, taken)| p.section == section && **taken)
                .count();
            if kept < total {
                self.cut
                    .push(format!("{} of {total} {}", total - kept, section.noun()));
            }
        }
        let mut text = head.to_owned();
        for section in Section::ALL {
            let mut kept: Vec<&Part> = self
                .parts
                .iter()
                .zip(&taken)
                .filter(|(p, taken)| p.section == section && **taken)
                .map(|(p, _)| p)
                .collect();
            if kept.is_empty() {
                continue;
            }
            kept.sort_by_key(|part| part.place);
            text.push_str(section.heading());
            for part in kept {
                text.push_str(&part.text);
            }
            text.push('\n');
        }
        text.push_str(protocol);
        if !self.cut.is_empty() {
            let line = format!(
                "\n(Cut to fit {limit} bytes: {}. `orchestron task show` and `orchestron task \
                 history` have the rest.)\n",
                self.cut.join("; ")
            );
            text.push_str(clip_bytes(&line, CUT_LINE_RESERVE));
        }
        // Only a protocol larger than the whole limit gets here: the end goes, and says so.
        if text.len() > limit {
            self.cut.push("the end of the protocol".to_owned());
            text = clip_bytes(&text, limit.saturating_sub(4)).to_owned();
            text.push('…');
        }
        (text, self.cut)
    }
}

/// `text` cut to at most `max` bytes at a character boundary.
fn clip_bytes(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `text` cut to at most `max` bytes, at the last space when there is one in its second
/// half, without trailing space.
fn clip_words(text: &str, max: usize) -> &str {
    let clipped = clip_bytes(text, max);
    if clipped.len() == text.len() {
        return clipped;
    }
    match clipped.rfind(char::is_whitespace) {
        Some(space) if space > clipped.len() / 2 => clipped[..space].trim_end(),
        _ => clipped.trim_end(),
    }
}

fn describe_comment(comment: &Comment) -> String {
    let by = comment
        .by
        .as_deref()
        .map(|by| format!(" by {}", clip_line(by, 40)))
        .unwrap_or_default();
    format!(
        "{} ({}{by}): {}",
        comment.kind,
        comment.at,
        clip_line(&comment.text, MAX_COMMENT_CHARS)
    )
}

fn describe_attempt(attempt: &AttemptRow) -> String {
    let outcome = attempt.outcome.as_deref().unwrap_or("unfinished");
    let reason = attempt
        .reason
        .as_deref()
        .map(|reason| format!(": {}", clip_line(reason, 300)))
        .unwrap_or_default();
    format!(
        "attempt {} on branch `{}` ended {outcome}{reason} ({} turns, ${:.2})",
        attempt.number, attempt.branch, attempt.turns, attempt.cost_usd
    )
}

fn describe_dependency(dependency: &Value) -> String {
    let text = |key: &str| dependency[key].as_str().unwrap_or("");
    let mut line = format!(
        "- {} \"{}\" ({})",
        text("id"),
        clip_line(text("title"), 80),
        text("status")
    );
    if let Some(merged) = dependency["merged"].as_object() {
        let field = |key: &str| merged.get(key).and_then(Value::as_str).unwrap_or("?");
        line.push_str(&format!(
            ": merged from `{}` into `{}` at {}",
            field("branch"),
            field("into"),
            field("commit").chars().take(12).collect::<String>()
        ));
    }
    if let Some(note) = dependency["note"].as_str() {
        line.push_str(&format!(". Its note: {}", clip_line(note, 500)));
    }
    line.push('\n');
    line
}

fn describe_decision(decision: &RelatedDecision) -> String {
    let rationale = if decision.rationale.trim().is_empty() {
        String::new()
    } else {
        format!(": {}", clip_line(&decision.rationale, 300))
    };
    format!(
        "- decision {} \"{}\"{rationale}\n",
        decision.id,
        clip_line(&decision.title, 120)
    )
}

/// The item's parents, nearest first, at most 16 (a cycle cannot happen, but a bound is kept).
fn parent_chain(conn: &Connection, parent: Option<&str>) -> Result<Vec<(String, String)>> {
    let mut chain: Vec<(String, String)> = Vec::new();
    let mut next = parent.map(str::to_owned);
    while let Some(id) = next {
        if chain.len() >= 16 || chain.iter().any(|(seen, _)| *seen == id) {
            break;
        }
        let item = items::get(conn, &id)?;
        next = item.parent;
        chain.push((item.id, item.title));
    }
    Ok(chain)
}

/// The detail of the item's latest event `what`, as JSON.
fn latest_event_json(conn: &Connection, id: &str, what: &str) -> Result<Value> {
    let detail: Option<Option<String>> = conn
        .query_row(
            "SELECT detail FROM events WHERE item = ?1 AND what = ?2 ORDER BY id DESC LIMIT 1",
            [id, what],
            |row| row.get(0),
        )
        .optional()?;
    Ok(detail
        .flatten()
        .and_then(|raw| serde_json::from_str(&raw).ok())
        .unwrap_or(Value::Null))
}

/// The integration branch a run merged into.
fn run_into(conn: &Connection, run: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT into_branch FROM worker_runs WHERE id = ?1",
            [run],
            |row| row.get(0),
        )
        .optional()?)
}

/// The words knowledge is searched by: those of the title and the labels, then of the
/// description, of three letters or more, lowercased, without the commonest English ones;
/// at most [`MAX_SEARCH_WORDS`].
fn search_words(title: &str, labels: &[String], description: &str) -> Vec<String> {
    const COMMON: &[&str] = &[
        "the", "and", "for", "with", "from", "into", "that", "this", "add", "use", "make", "new",
        "all", "not", "are", "its", "our", "your", "when", "then", "than", "out", "via", "has",
        "have", "was", "were", "will", "can", "should", "must", "any", "each", "one", "two",
    ];
    let mut words: Vec<String> = Vec::new();
    let text = format!("{title} {} {description}", labels.join(" ")).to_lowercase();
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        if words.len() == MAX_SEARCH_WORDS {
            break;
        }
        if word.chars().count() >= 3 && !COMMON.contains(&word) && !words.iter().any(|w| w == word)
        {
            words.push(word.to_owned());
        }
    }
    words
}

/// The most words knowledge is searched by.
const MAX_SEARCH_WORDS: usize = 24;

/// Where an attempt's log is: as recorded when absolute, else under the state root, else
/// under the project (the state root's parent).
fn resolve_log(cx: &Context, log: &str) -> PathBuf {
    let path = Path::new(log);
    if path.is_absolute() {
        return path.to_owned();
    }
    let in_root = cx.state_root().join(path);
    if in_root.exists() {
        return in_root;
    }
    cx.state_root()
        .parent()
        .map_or(in_root, |project| project.join(path))
}

/// The last lines of an attempt's stream-json log, rendered short for a person (or the next
/// worker): the assistant's text, tool calls, errors, the result. Reads at most
/// [`LOG_TAIL_BYTES`] from the end; a missing log has no tail.
fn log_tail(path: &Path) -> Vec<String> {
    let Ok(mut file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let Ok(length) = file.metadata().map(|meta| meta.len()) else {
        return Vec::new();
    };
    let start = length.saturating_sub(LOG_TAIL_BYTES);
    let mut bytes = Vec::new();
    if file.seek(SeekFrom::Start(start)).is_err()
        || file.take(LOG_TAIL_BYTES).read_to_end(&mut bytes).is_err()
    {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<&str> = text.lines().collect();
    if start > 0 && !lines.is_empty() {
        lines.remove(0); // begun mid-line
    }
    render_log(&lines)
}

/// Stream-json lines rendered short ([`stream::StreamEvent::brief`]): at most [`LOG_TAIL_LINES`],
/// the last ones.
pub(crate) fn render_log(lines: &[&str]) -> Vec<String> {
    let mut rendered: Vec<String> = lines
        .iter()
        .flat_map(|line| stream::parse_line(line))
        .filter_map(|event| event.brief())
        .collect();
    let skip = rendered.len().saturating_sub(LOG_TAIL_LINES);
    rendered.split_off(skip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_taken_by_importance_and_shown_in_place() {
        let mut parts = Parts::default();
        parts.push(Section::Item, 0, "D".repeat(100) + "\n");
        parts.push(Section::Knowledge, 7, "K".repeat(300) + "\n");
        parts.push(Section::Learned, 4, "L".repeat(100) + "\n");
        let head = "# T-1: x\n\n";
        let protocol = "## Protocol\n\n- p\n";
        let (text, cut) = parts.assemble(head, protocol, 700);
        assert!(text.starts_with(head));
        assert!(text.len() <= 700, "{}", text.len());
        assert!(text.contains(&"D".repeat(100)) && text.contains(&"L".repeat(100)));
        assert!(!text.contains('K'), "{text}");
        assert_eq!(cut, ["1 of 1 knowledge entries"]);
        assert!(text.contains("Cut to fit 700 bytes: 1 of 1 knowledge entries"));
        let item = text.find("## The item").unwrap();
        let learned = text.find("## Clarifications").unwrap();
        let end = text.find("## Protocol").unwrap();
        assert!(item < learned && learned < end);
    }

    #[test]
    fn the_text_never_exceeds_the_limit() {
        let head = heading("TASK-1", &"t".repeat(300), None);
        let protocol = protocol("TASK-1", None, Some("orchestron/integration"));
        for limit in [1024, 1500, 2048, 4096, 8192] {
            for size in [1, 50, 700, 5_000] {
                let mut parts = Parts::default();
                parts.push_shortening(Section::Item, 0, format!("{}\n", "é ".repeat(size)));
                for n in 0..30 {
                    parts.push(
                        Section::Learned,
                        4,
                        format!("- {}\n", "c".repeat(size % 400 + n)),
                    );
                    parts.push(Section::Knowledge, 7, format!("- {}\n", "k".repeat(n * 10)));
                }
                let (text, cut) = parts.assemble(&head, &protocol, limit);
                assert!(text.len() <= limit, "{limit} {size}: {}", text.len());
                assert!(text.starts_with("# TASK-1: "));
                assert!(text.contains("git merge orchestron/integration"));
                assert!(text.contains("orchestron task complete TASK-1"));
                assert_eq!(cut.is_empty(), !text.contains("Cut to fit"));
            }
        }
    }

    #[test]
    fn nothing_cut_says_nothing() {
        let mut parts = Parts::default();
        parts.push(Section::Item, 0, "short\n".to_owned());
        let (text, cut) = parts.assemble("# T: t\n\n", "## Protocol\n", 8192);
        assert!(cut.is_empty());
        assert!(!text.contains("Cut to fit"));
    }

    #[test]
    fn a_log_renders_short() {
        let lines = [
            r#"{"type":"system","subtype":"init"}"#,
            r#"{"type":"assistant","message":{"content":[{"type":"text","text":"Writing the file"},{"type":"tool_use","name":"Bash","input":{"command":"echo hi > a.txt"}}]}}"#,
            r#"{"type":"user","message":{"content":[{"type":"tool_result","content":"boom","is_error":true}]}}"#,
            "not json",
            r#"{"type":"result","subtype":"error_max_turns","result":"","total_cost_usd":0.25}"#,
        ];
        assert_eq!(
            render_log(&lines),
            [
                "assistant: Writing the file",
                "tool Bash: echo hi > a.txt",
                "error: boom",
                "end (error_max_turns):  ($0.25)",
            ]
        );
    }

    #[test]
    fn search_words_skip_short_and_common_ones() {
        assert_eq!(
            search_words(
                "Add the OAuth login to the API",
                &["auth".to_owned()],
                "Store the token"
            ),
            ["oauth", "login", "api", "auth", "store", "token"]
        );
    }

    #[test]
    fn bytes_are_cut_at_a_character() {
        assert_eq!(clip_bytes("héllo", 2), "h");
        assert_eq!(clip_bytes("héllo", 3), "hé");
        assert_eq!(clip_words("one two three", 10), "one two");
        assert_eq!(clip_words("one two three", 100), "one two three");
        assert_eq!(clip_words("abcdefgh ij", 6), "abcdef");
    }
}

#[cfg(test)]
mod compose_tests {

    use super::*;
    use crate::config::Config;
    use crate::tracker::tasks::NewItem;

    #[test]
    fn the_supervisor_s_attempt_is_named_with_the_branch() {
        let dir = tempfile::tempdir().unwrap();
        let cx = crate::context::for_tests(dir.path().to_path_buf(), Config::default());
        let item = tasks::create(&cx, &NewItem::task("Write a.txt")).unwrap();
        let id = item.item.id;
        let attempt = Attempt {
            number: 2,
            of: 3,
            into_branch: "orchestron/integration".to_owned(),
        };
        let composed = compose(&cx, &id, Some(&attempt)).unwrap();
        let text = &composed.markdown;
        assert!(
            text.starts_with(&format!("# {id}: Write a.txt\n")),
            "{text}"
        );
        assert!(text.contains("This is attempt 2 of 3."), "{text}");
        assert!(
            text.contains(&format!(
                "on branch `orchestron/{id}`, which is merged into `orchestron/integration`"
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!("commit all your work on branch `orchestron/{id}`")),
            "{text}"
        );
        assert!(!text.contains("git merge"), "{text}");
        assert_eq!(composed.json["attempt"]["number"], 2);
        assert!(composed.cut.is_empty());
        assert!(compose(&cx, "TASK-none", None).is_err());
    }
}
