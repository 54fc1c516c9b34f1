//! `orchestron task …` and `orchestron todo`: each arm calls one operation of the core's
//! tracker (`tracker::tasks`) and renders its typed result as text or JSON.

use serde_json::{Value, json};

use crate::cli::TaskCommand;
use crate::context::Context;
use crate::output::{self, Output};
use orchestron_core::Context as CoreContext;
use orchestron_core::agents::Names;
use orchestron_core::tracker::claims;
use orchestron_core::tracker::model::Status;
use orchestron_core::tracker::tasks::{
    self, Changes, CheckpointChange, CommentKind, ItemDetail, ItemView, ListFilter, NewItem,
    TreeNode,
};

/// The version of the JSON shape of single objects.
const SCHEMA_VERSION: u32 = 1;

pub(super) fn run(context: &Context, out: &mut Output, command: TaskCommand) -> anyhow::Result<()> {
    let cx = context.core()?;
    match command {
        TaskCommand::Create {
            title,
            kind,
            parent,
            priority,
            estimate,
            assignee,
            labels,
            files,
            description,
            status,
        } => {
            let files = declared(context, &files)?;
            let new = NewItem {
                kind,
                title,
                description: description.unwrap_or_default(),
                status,
                priority,
                estimate,
                assignee,
                labels,
                files,
                parent,
            };
            print_item(out, &tasks::create(cx, &new)?)
        }
        TaskCommand::List {
            status,
            kind,
            assignee,
            parent,
            label,
            sprint,
            limit,
            all,
        } => {
            let filter = ListFilter {
                status,
                kind,
                assignee,
                parent,
                label,
                sprint,
                limit,
                all,
            };
            print_list(cx, out, &tasks::list(cx, &filter)?)
        }
        TaskCommand::Show { id } => show(cx, out, &tasks::show(cx, &id)?),
        TaskCommand::Update {
            id,
            status,
            priority,
            assignee,
            estimate,
            title,
            notes,
            reason,
            files,
            no_files,
            force,
        } => {
            let files = if no_files {
                Some(Vec::new())
            } else if files.is_empty() {
                None
            } else {
                Some(declared(context, &files)?)
            };
            let changes = Changes {
                status,
                priority,
                assignee,
                estimate,
                title,
                notes,
                reason,
                files,
                force,
            };
            print_item(out, &tasks::update(cx, &id, &changes)?)
        }
        TaskCommand::Progress { id, percent } => {
            let (view, fired) = orchestron_core::reviews::set_progress(cx, &id, percent)?;
            print_fired(out, &view, &view.item.id, &fired)
        }
        TaskCommand::Checkpoint { id, text, done } => {
            let change = checkpoint_change(text, done)?;
            print_item(out, &tasks::checkpoint(cx, &id, &change)?)
        }
        TaskCommand::Start { id, force } => print_item(out, &tasks::start(cx, &id, force)?),
        TaskCommand::Complete { id, force, note } => {
            let (completed, fired) =
                orchestron_core::reviews::complete(cx, &id, force, note.as_deref())?;
            print_fired(out, &completed, &completed.view.item.id, &fired)?;
            if completed.awaits_merge {
                output::note(&format!(
                    "recorded; the supervisor merges your branch, and {} is DONE once it is merged",
                    completed.view.item.id
                ));
            }
            Ok(())
        }
        TaskCommand::Log { id, text } => print_item(out, &tasks::log(cx, &id, &text)?),
        TaskCommand::Clarify { id, text } => print_item(
            out,
            &tasks::comment(cx, &id, CommentKind::Clarification, &text)?,
        ),
        TaskCommand::Feedback { id, text } => {
            print_item(out, &tasks::comment(cx, &id, CommentKind::Feedback, &text)?)
        }
        TaskCommand::Clarifications { id } => {
            let list = tasks::comments(cx, &id, Some(CommentKind::Clarification))?;
            if out.json() {
                out.json_line(&serde_json::to_value(&list)?)?;
            } else {
                for entry in list {
                    out.line(&format!("{}  {}", entry.at, entry.text))?;
                }
            }
            Ok(())
        }
        TaskCommand::Review { id } => review(context, out, &id),
        TaskCommand::Approve {
            id,
            comment: remark,
        } => print_item(out, &tasks::approve(cx, &id, remark.as_deref())?),
        TaskCommand::Assign { id, to } => print_item(out, &tasks::assign(cx, &id, &to)?),
        TaskCommand::Release { id } => print_item(out, &tasks::release(cx, &id)?),
        TaskCommand::Depend { id, on } => {
            let (id, on) = tasks::depend(cx, &id, &on)?;
            if out.json() {
                out.json_line(
                    &json!({"schema_version": SCHEMA_VERSION, "item": id, "depends_on": on}),
                )?;
            } else {
                out.line(&format!("{id} depends on {on}"))?;
            }
            Ok(())
        }
        TaskCommand::Ready { limit } => print_list(cx, out, &tasks::ready(cx, limit)?),
        TaskCommand::Next { assignee, claim } => {
            let agent = context.agent();
            match tasks::next(
                cx,
                assignee.as_deref(),
                claim,
                agent.as_deref(),
                &context.agent_skills(),
            )? {
                None if out.json() => out.json_line(&Value::Null)?,
                None => {}
                Some(found) => {
                    print_value(out, &found, &found.view.item.id)?;
                    if let Some(lapsed) = &found.reclaimable {
                        output::note(&format!(
                            "{} is free: the claim of `{}` has lapsed ({}); `--claim` takes it back",
                            found.view.item.id,
                            lapsed.claimer,
                            lapsed.lapse.describe()
                        ));
                    }
                    if let Some(from) = &found.reclaimed_from {
                        output::note(&format!(
                            "took {} back from `{from}`, whose claim had lapsed",
                            found.view.item.id
                        ));
                    }
                }
            }
            Ok(())
        }
        TaskCommand::Reclaim { dry_run } => {
            let swept = claims::reclaim(cx, dry_run)?;
            if out.json() {
                out.json_line(&serde_json::to_value(&swept)?)?;
                return Ok(());
            }
            let rows: Vec<Vec<String>> = swept
                .iter()
                .map(|found| {
                    vec![
                        found.id.clone(),
                        found.claim.claimer.clone(),
                        found.claim.generation.to_string(),
                        found.claim.lapse.describe(),
                        found.title.clone(),
                    ]
                })
                .collect();
            if !rows.is_empty() {
                out.table(&["ID", "CLAIMER", "GENERATION", "WHY", "TITLE"], &rows)?;
            }
            let count = swept.len();
            output::note(&match (count, dry_run) {
                (0, _) => "no claim has lapsed".to_owned(),
                (_, true) => format!("{count} lapsed claims would go back to TODO (dry run)"),
                (_, false) => format!("{count} lapsed claims went back to TODO"),
            });
            Ok(())
        }
        TaskCommand::Ask { id, question } => {
            let asked = tasks::ask(cx, &id, &question)?;
            // A person is told through `notify.command`, if the project set one (and not
            // one that came with the repository: that is said, and the question stands).
            if let Some(refused) = orchestron_core::notify::entered(cx, &asked.item.id) {
                output::warn(&match refused.hint() {
                    Some(hint) => format!("{}\nhint: {hint}", refused.message()),
                    None => refused.message().to_owned(),
                });
            }
            print_item(out, &asked)?;
            output::note(&format!(
                "{} is BLOCKED on your question and waits in `orchestron attention`; stop working on it",
                asked.item.id
            ));
            Ok(())
        }
        TaskCommand::Answer { id, text } => {
            let answered = tasks::answer(cx, &id, &text)?;
            print_value(out, &answered, &answered.view.item.id)?;
            if answered.unblocked {
                output::note(&format!(
                    "{} is back in TODO with the answer",
                    answered.view.item.id
                ));
            }
            Ok(())
        }
        TaskCommand::Blocked => {
            let found = tasks::blocked(cx)?;
            if out.json() {
                out.json_line(&serde_json::to_value(&found)?)?;
            } else {
                let rows: Vec<Vec<String>> = found
                    .iter()
                    .map(|item| {
                        vec![
                            item.id.clone(),
                            item.status.to_string(),
                            item.title.clone(),
                            item.why(),
                        ]
                    })
                    .collect();
                out.table(&["ID", "STATUS", "TITLE", "BLOCKED BY"], &rows)?;
            }
            Ok(())
        }
        TaskCommand::Tree { id } => {
            let root = tasks::tree(cx, &id)?;
            if out.json() {
                out.json_line(&serde_json::to_value(&root)?)?;
            } else {
                let mut lines = Vec::new();
                tree_lines(&root, 0, &mut lines);
                for line in lines {
                    out.line(&line)?;
                }
            }
            Ok(())
        }
        TaskCommand::History { id } => {
            let events = tasks::history(cx, &id)?;
            if out.json() {
                out.json_line(&serde_json::to_value(&events)?)?;
            } else {
                let rows: Vec<Vec<String>> = events
                    .into_iter()
                    .map(|event| {
                        let detail = match event.detail {
                            Value::Null => String::new(),
                            detail => detail.to_string(),
                        };
                        vec![event.at, event.what, detail]
                    })
                    .collect();
                out.table(&["AT", "WHAT", "DETAIL"], &rows)?;
            }
            Ok(())
        }
        TaskCommand::Delete {
            id,
            purge,
            keep_children,
        } => {
            let deleted = tasks::delete(cx, &id, purge, keep_children)?;
            if out.json() {
                out.json_line(&json!({
                    "schema_version": SCHEMA_VERSION,
                    "id": deleted.id,
                    "purged": deleted.purged,
                    "cancelled_children": deleted.cancelled_children,
                }))?;
            } else {
                out.line(&deleted.id)?;
                if !deleted.cancelled_children.is_empty() {
                    out.line(&format!(
                        "cancelled with it: {}",
                        deleted.cancelled_children.join(", ")
                    ))?;
                }
            }
            Ok(())
        }
    }
}

/// What `task checkpoint ID [TEXT] [--done [N]]` asks for. A bare number with `--done` names
/// a checkpoint by number unless one has that very text.
fn checkpoint_change(
    text: Option<String>,
    done: Option<usize>,
) -> anyhow::Result<CheckpointChange> {
    Ok(match (text, done) {
        (Some(text), None) => CheckpointChange::Add(text),
        (Some(text), Some(0)) => CheckpointChange::DoneText(text),
        (None, Some(0)) | (None, None) => {
            return Err(orchestron_core::Error::invalid(
                "name the checkpoint: `task checkpoint ID TEXT [--done]`, or `--done N` for the N-th",
            )
            .into());
        }
        (None, Some(number)) => CheckpointChange::DoneNumber(number),
        (Some(_), Some(_)) => {
            return Err(orchestron_core::Error::invalid(
                "give the checkpoint's text or `--done N`, not both",
            )
            .into());
        }
    })
}

/// `todo TEXT [--parent ID]`.
pub(super) fn todo(
    context: &Context,
    out: &mut Output,
    text: String,
    parent: Option<String>,
) -> anyhow::Result<()> {
    let cx = context.core()?;
    print_item(out, &tasks::add_todo(cx, &text, parent.as_deref())?)
}

/// One item: its id as text, the whole item as JSON.
fn print_item(out: &mut Output, found: &ItemView) -> anyhow::Result<()> {
    print_value(out, found, &found.item.id)
}

/// A result about item `id` with the review points its change fired: notes on stderr, and
/// `review_points` in the JSON when any fired.
fn print_fired(
    out: &mut Output,
    found: &impl serde::Serialize,
    id: &str,
    fired: &[orchestron_core::reviews::Fired],
) -> anyhow::Result<()> {
    for fired in fired {
        output::note(&fired.note);
    }
    if out.json() && !fired.is_empty() {
        let mut value = serde_json::to_value(found)?;
        value["schema_version"] = json!(SCHEMA_VERSION);
        value["review_points"] = serde_json::to_value(fired)?;
        out.json_line(&value)?;
        return Ok(());
    }
    print_value(out, found, id)
}

/// One result about item `id`: the id as text, the whole result as JSON.
fn print_value(out: &mut Output, found: &impl serde::Serialize, id: &str) -> anyhow::Result<()> {
    if out.json() {
        let mut value = serde_json::to_value(found)?;
        value["schema_version"] = json!(SCHEMA_VERSION);
        out.json_line(&value)?;
    } else {
        out.line(id)?;
    }
    Ok(())
}

fn print_list(cx: &CoreContext, out: &mut Output, found: &[ItemView]) -> anyhow::Result<()> {
    let mut names = Names::new(cx);
    if out.json() {
        let mut value = serde_json::to_value(found)?;
        names.annotate(&mut value);
        out.json_line(&value)?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = found
        .iter()
        .map(|view| {
            let item = &view.item;
            vec![
                item.id.clone(),
                item.kind.to_string(),
                item.status.to_string(),
                item.priority.to_string(),
                item.assignee
                    .as_deref()
                    .map(|raw| names.of(raw).unwrap_or_else(|| raw.to_owned()))
                    .unwrap_or_default(),
                item.title.clone(),
            ]
        })
        .collect();
    out.table(
        &["ID", "TYPE", "STATUS", "PRIORITY", "ASSIGNEE", "TITLE"],
        &rows,
    )?;
    Ok(())
}

fn show(cx: &CoreContext, out: &mut Output, detail: &ItemDetail) -> anyhow::Result<()> {
    let mut names = Names::new(cx);
    if out.json() {
        let mut value = serde_json::to_value(detail)?;
        names.annotate(&mut value);
        value["schema_version"] = json!(SCHEMA_VERSION);
        out.json_line(&value)?;
        return Ok(());
    }
    let item = &detail.view.item;
    out.line(&format!(
        "{}  {}  {}  {}",
        item.id, item.kind, item.status, item.priority
    ))?;
    out.line(&format!("title:      {}", item.title))?;
    if !item.description.is_empty() {
        out.line(&format!("description: {}", item.description))?;
    }
    if let Some(parent) = &item.parent {
        out.line(&format!("parent:     {parent}"))?;
    }
    out.line(&format!(
        "assignee:   {}",
        match item.assignee.as_deref() {
            Some(raw) => match names.of(raw) {
                Some(name) => format!("{name} ({raw})"),
                None => raw.to_owned(),
            },
            None => "-".to_owned(),
        }
    ))?;
    out.line(&format!("progress:   {}%", item.progress))?;
    if let Some(estimate) = item.estimate {
        out.line(&format!("estimate:   {estimate} h"))?;
    }
    if !detail.view.files.is_empty() {
        out.line(&format!("files:      {}", detail.view.files.join(", ")))?;
    }
    if !detail.view.labels.is_empty() {
        out.line(&format!("labels:     {}", detail.view.labels.join(", ")))?;
    }
    if let Some(reason) = &item.blocked_reason {
        out.line(&format!("blocked:    {reason}"))?;
    }
    if !detail.depends_on.is_empty() {
        let list: Vec<String> = detail
            .depends_on
            .iter()
            .map(|dep| format!("{} ({})", dep.id, dep.status))
            .collect();
        out.line(&format!("depends on: {}", list.join(", ")))?;
    }
    for checkpoint in &detail.checkpoints {
        let mark = if checkpoint.done { "x" } else { " " };
        out.line(&format!(
            "{}. [{mark}] {}",
            checkpoint.number, checkpoint.text
        ))?;
    }
    if !detail.children.is_empty() {
        out.line(&format!("children:   {}", detail.children.join(", ")))?;
    }
    if !item.notes.is_empty() {
        out.line(&format!("notes:      {}", item.notes))?;
    }
    Ok(())
}

fn tree_lines(node: &TreeNode, depth: usize, lines: &mut Vec<String>) {
    let waits = if node.depends_on.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = node
            .depends_on
            .iter()
            .map(|dep| {
                if dep.status == Status::Done {
                    format!("{} ✓", dep.id)
                } else {
                    format!("{} ({})", dep.id, dep.status)
                }
            })
            .collect();
        format!("  ← depends on {}", list.join(", "))
    };
    lines.push(format!(
        "{}{} {} [{}] {}{waits}",
        "  ".repeat(depth),
        node.id,
        node.kind,
        node.status,
        node.title
    ));
    for child in &node.children {
        tree_lines(child, depth + 1, lines);
    }
}

/// `task review ID`: one read-only view of everything about an item, with the files and
/// tests of the sessions that worked on it.
fn review(context: &Context, out: &mut Output, raw: &str) -> anyhow::Result<()> {
    let cx = context.core()?;
    let detail = tasks::show(cx, raw)?;
    let item = &detail.view.item;
    let comments = tasks::comments(cx, &item.id, None)?;
    let history = tasks::history(cx, &item.id)?;
    let mut value = serde_json::to_value(&detail.view)?;
    value["schema_version"] = json!(SCHEMA_VERSION);
    value["checkpoints"] = detail
        .checkpoints
        .iter()
        .map(|c| json!({"text": c.text, "done": c.done}))
        .collect();
    value["comments"] = serde_json::to_value(&comments)?;
    // The sessions that touched the item: the one it is linked to and any in its history.
    let mut sessions: Vec<String> = history
        .iter()
        .filter_map(|event| event.session.clone())
        .chain(item.session.clone())
        .collect();
    sessions.sort();
    sessions.dedup();
    let store = context.store()?;
    let mut worked = Vec::new();
    for session in &sessions {
        let Ok(session_id) = orchestron_core::ids::SessionId::parse(session) else {
            continue;
        };
        let Some(document) = store.try_read(&session_id)? else {
            continue;
        };
        let files: Vec<&String> = document
            .pointer("/execution/files")
            .and_then(Value::as_object)
            .map(|files| files.keys().collect())
            .unwrap_or_default();
        worked.push(json!({
            "session": session,
            "files": files,
            "tests": document.pointer("/execution/tests").cloned().unwrap_or(Value::Null),
        }));
    }
    value["history"] = history
        .iter()
        .map(|event| {
            json!({"at": event.at, "what": event.what,
                "detail": match &event.detail { Value::Null => Value::Null, detail => json!(detail.to_string()) },
                "session": event.session})
        })
        .collect();
    value["sessions"] = json!(worked);
    if out.json() {
        out.json_line(&value)?;
        return Ok(());
    }
    out.line(&format!(
        "{}  {}  {}  {}%  {}",
        item.id, item.status, item.priority, item.progress, item.title
    ))?;
    if !item.notes.is_empty() {
        out.line(&format!("notes: {}", item.notes))?;
    }
    if let Some(reason) = &item.blocked_reason {
        out.line(&format!("blocked: {reason}"))?;
    }
    for checkpoint in &detail.checkpoints {
        let mark = if checkpoint.done { "x" } else { " " };
        out.line(&format!("[{mark}] {}", checkpoint.text))?;
    }
    for entry in &comments {
        out.line(&format!("{}: {}", entry.kind, entry.text))?;
    }
    for session in &worked {
        let files: Vec<&str> = session["files"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let tests = orchestron_core::session::describe_test_run(&session["tests"]["last"])
            .map_or_else(|| "no test run".to_owned(), |run| format!("last {run}"));
        out.line(&format!(
            "session {}: {} files; {tests}",
            session["session"].as_str().unwrap_or("?"),
            files.len()
        ))?;
        for file in files {
            out.line(&format!("  {file}"))?;
        }
    }
    out.line(&format!(
        "history: {} events (`orchestron task history {}`)",
        history.len(),
        item.id
    ))?;
    Ok(())
}

/// Files typed relative to the current folder, as patterns from the repository's top level.
fn declared(context: &Context, typed: &[String]) -> anyhow::Result<Vec<String>> {
    typed
        .iter()
        .map(|raw| {
            orchestron_core::coordination::pattern_of(
                raw,
                context.working_dir(),
                &context.location().home,
            )
            .map_err(Into::into)
        })
        .collect()
}
