//! `orchestron slash COMMAND [--stdin | -- ARGS]`: what a slash command's `!` lines gather
//! before Claude sees the prompt (with `--stdin`, the user's words come on stdin and only
//! the reads they add run). The arguments the user typed choose a few read-only commands;
//! each is built here as a typed command (never a command line parsed back), runs in this
//! process with its output captured (JSON as values, never printed and parsed back), and is
//! reported with its output or its error. The whole always exits 0, because a failing `!`
//! line silently aborts the slash command.
//!
//! Changes are never made here: the markdown tells Claude which command to run for them.

use std::io::Read as _;

use anyhow::Context as _;
use serde_json::{Value, json};

use crate::cli::{
    Command, ContextArgs, DecisionCommand, Format, HandoffCommand, InboxCommand, MemoryCommand,
    ReviewArgs, SessionCommand, SlashCommand, SprintCommand, StateCommand, TaskCommand,
    WorkersCommand,
};
use crate::context::Context;
use crate::output::Output;
use orchestron_core::tracker::model::{Kind, Status};

/// One read: a read-only command with the words that show it (`task show TASK-1`), or why
/// it cannot run.
type Read = Result<Planned, String>;

/// A typed command and how it is shown.
#[derive(Debug)]
struct Planned {
    words: Vec<String>,
    command: Command,
}

impl PartialEq for Planned {
    fn eq(&self, other: &Planned) -> bool {
        self.words == other.words
    }
}

pub(super) fn run(
    context: &Context,
    out: &mut Output,
    command: SlashCommand,
    stdin: bool,
    args: Vec<String>,
) -> anyhow::Result<()> {
    let session = context.session_hint();
    let (args, reads) = if stdin {
        // The user's words, from a quoted here-document so that no quote, backtick or `$`
        // in them reaches a shell; split here, leniently. Only what they add to the
        // command's general reads (its `!` line without arguments) runs.
        // Input that cannot be read or is not UTF-8 is reported like any other error, as
        // data: this command must exit 0.
        match read_stdin() {
            Ok(typed) => {
                let words = split_words(&typed);
                let reads = if words.is_empty() {
                    Vec::new()
                } else {
                    let general = plan(command, &[], session);
                    plan(command, &words, session)
                        .into_iter()
                        .filter(|read| !general.contains(read))
                        .collect()
                };
                (words, reads)
            }
            Err(err) => (Vec::new(), vec![Err(format!("{err:#}"))]),
        }
    } else {
        let words = split_words(&args.join(" "));
        let reads = plan(command, &words, session);
        (words, reads)
    };
    let mut results = Vec::new();
    for read in reads {
        results.push(match read {
            Ok(planned) => run_one(context, out.json(), planned),
            Err(reason) => json!({"run": null, "error": reason}),
        });
    }
    if out.json() {
        out.json_line(&json!({
            "command": name(command),
            "arguments": args,
            "session": session,
            "results": results,
        }))?;
        return Ok(());
    }
    for result in &results {
        if let Some(run) = result["run"].as_str() {
            out.line(&format!("$ {run}"))?;
        }
        match &result["output"] {
            Value::String(text) => out.bytes(text.as_bytes())?,
            Value::Null => {}
            other => out.line(&other.to_string())?,
        }
        if let Some(error) = result["error"].as_str() {
            out.line(&format!("error: {error}"))?;
        }
    }
    Ok(())
}

/// The user's words from stdin, which must be UTF-8.
fn read_stdin() -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .context("cannot read the arguments on stdin")?;
    String::from_utf8(bytes).map_err(|err| {
        anyhow::anyhow!(
            "the arguments on stdin are not UTF-8 (invalid at byte {}), so none were read",
            err.utf8_error().valid_up_to()
        )
    })
}

/// Run one planned read here, keeping what it printed and the error it ended with.
fn run_one(context: &Context, json: bool, planned: Planned) -> Value {
    let words: Vec<String> = planned
        .words
        .iter()
        .map(|word| crate::install::shell_word(word))
        .collect();
    let shown = format!("orchestron {}", words.join(" "));
    let mut capture = Output::capture(json);
    let result = super::dispatch_into(context, &mut capture, planned.command);
    let captured = capture.take();
    let output = match captured.values.len() {
        _ if !json => {
            if captured.text.trim().is_empty() {
                Value::Null
            } else {
                Value::String(captured.text)
            }
        }
        0 => Value::Null,
        1 => captured.values.into_iter().next().unwrap_or_default(),
        _ => Value::Array(captured.values),
    };
    match result {
        Ok(()) => json!({"run": shown, "output": output}),
        Err(err) => json!({"run": shown, "output": output, "error": format!("{err:#}")}),
    }
}

/// The reads `command` calls for, given the words the user typed after it.
fn plan(command: SlashCommand, args: &[String], session: Option<&str>) -> Vec<Read> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let first = words.first().map(|word| word.to_ascii_lowercase());
    let rest = words.get(1..).unwrap_or_default();
    // A word that starts with `-` is an option, never an id or a path.
    let arg = |index: usize| {
        rest.get(index)
            .copied()
            .filter(|word| !word.starts_with('-'))
    };
    match command {
        SlashCommand::Orchestrate => {
            let mut reads = vec![summary()];
            if session.is_some() {
                reads.push(status_read());
            }
            match (
                first.as_deref(),
                arg(0).map(str::to_ascii_lowercase).as_deref(),
                arg(1),
            ) {
                (Some("sprint"), Some("start"), Some(sprint)) => reads.push(sprint_show(sprint)),
                (Some("sprint"), Some("start"), None) => reads.push(sprint_list()),
                (Some("sprint"), _, _) => reads.push(board(None)),
                (Some("task"), Some("delegate"), Some(id)) => {
                    reads.push(task_show(id));
                    reads.push(monitor(Some(5)));
                }
                (Some("task"), _, _) => {
                    reads.push(task_ready(Some(10)));
                    reads.push(monitor(Some(5)));
                }
                (Some("epic"), Some("plan"), Some(id)) => reads.push(task_tree(id)),
                (Some("epic"), _, _) => reads.push(task_list(&["--type", "EPIC"], session)),
                (Some("workers"), _, _) => {
                    reads.push(workers_status());
                    reads.push(task_ready(Some(10)));
                }
                (Some("status"), _, _) => {
                    reads.push(workers_status());
                    reads.push(attention());
                }
                (Some("review"), _, _) => match rest.first().filter(|id| !id.starts_with('-')) {
                    Some(id) => reads.push(review(id)),
                    None => reads.push(attention()),
                },
                (Some("attention"), _, _) => reads.push(attention()),
                _ => {}
            }
            reads
        }
        SlashCommand::State => match first.as_deref() {
            Some("get" | "set" | "merge" | "delete" | "append" | "increment") => {
                vec![state_get(session, arg(0).unwrap_or(""))]
            }
            Some("tasks") => vec![task_list(rest, session)],
            Some("sessions") => vec![active_sessions()],
            _ => vec![summary(), context_read()],
        },
        SlashCommand::Task => match first.as_deref() {
            None => vec![
                task_next(None),
                task_list(&["--status", "IN_PROGRESS"], session),
                task_blocked(),
            ],
            Some("next") => {
                let who = rest
                    .iter()
                    .position(|word| *word == "--assignee")
                    .and_then(|at| rest.get(at + 1).copied());
                vec![task_next(who)]
            }
            Some("list") => vec![task_list(rest, session)],
            Some("ready") => vec![task_ready(None)],
            Some("blocked") => vec![task_blocked()],
            Some("create" | "new" | "add") => vec![
                task_list(&["--type", "EPIC"], session),
                task_list(&["--type", "STORY", "--limit", "20"], session),
            ],
            Some(verb) => match arg(0) {
                Some(id) => {
                    let mut reads = vec![task_show(id)];
                    let by_id = |verb: &str, command: TaskCommand| {
                        planned(&["task", verb, id], Command::Task(command))
                    };
                    let owned = id.to_owned();
                    match verb {
                        "clarify" | "clarifications" => reads.push(by_id(
                            "clarifications",
                            TaskCommand::Clarifications { id: owned },
                        )),
                        "tree" => reads.push(task_tree(id)),
                        "history" => {
                            reads.push(by_id("history", TaskCommand::History { id: owned }))
                        }
                        "review" => reads.push(by_id("review", TaskCommand::Review { id: owned })),
                        _ => {}
                    }
                    reads
                }
                None => vec![task_list(&["--limit", "20"], session)],
            },
        },
        SlashCommand::Sprint => match first.as_deref() {
            Some("burndown") => {
                let mut shown = vec!["sprint", "burndown"];
                shown.extend(arg(0));
                vec![planned(
                    &shown,
                    Command::Sprint(SprintCommand::Burndown {
                        sprint: arg(0).map(str::to_owned),
                    }),
                )]
            }
            Some("velocity") => vec![planned(
                &["sprint", "velocity"],
                Command::Sprint(SprintCommand::Velocity { last: None }),
            )],
            Some("list") => vec![sprint_list()],
            Some("show") if arg(0).is_some() => vec![sprint_show(arg(0).unwrap_or_default())],
            Some("start" | "complete" | "add" | "remove" | "create" | "plan") => {
                vec![sprint_list(), task_ready(Some(20))]
            }
            Some("board") if arg(0).is_some() => vec![board(arg(0))],
            _ => vec![board(None)],
        },
        SlashCommand::Handoff => {
            let show = planned(
                &["handoff", "show"],
                Command::Handoff(HandoffCommand::Show {
                    project: None,
                    all: false,
                    item: None,
                    session: None,
                }),
            );
            match first.as_deref() {
                Some("write" | "leave" | "save") => vec![
                    planned(
                        &["handoff", "write", "--dry-run"],
                        Command::Handoff(HandoffCommand::Write {
                            session: None,
                            next: Vec::new(),
                            note: None,
                            dry_run: true,
                        }),
                    ),
                    show,
                ],
                _ => vec![show],
            }
        }
        SlashCommand::Monitor => vec![monitor(None)],
        SlashCommand::Mode => vec![planned(
            &["mode"],
            Command::Mode {
                mode: None,
                session: None,
            },
        )],
        SlashCommand::Decide => vec![planned(
            &["decision", "list"],
            Command::Decision(DecisionCommand::List),
        )],
        SlashCommand::Memory => match first.as_deref() {
            None | Some("list") => {
                let mut shown = vec!["memory", "list"];
                if let Some(kind) = arg(0) {
                    shown.extend(["--kind", kind]);
                }
                vec![planned(
                    &shown,
                    Command::Memory(MemoryCommand::List {
                        kind: arg(0).map(str::to_owned),
                    }),
                )]
            }
            Some("get" | "add" | "update") if arg(0).is_some() && arg(1).is_some() => {
                let (kind, key) = (rest[0], rest[1]);
                vec![planned(
                    &["memory", "get", kind, key],
                    Command::Memory(MemoryCommand::Get {
                        kind: kind.to_owned(),
                        key: key.to_owned(),
                    }),
                )]
            }
            Some("search") => vec![memory_search(&rest.join(" "))],
            Some(_) => vec![memory_search(&words.join(" "))],
        },
        SlashCommand::Inbox => match first.as_deref() {
            Some("add" | "send" | "tell") => vec![active_sessions()],
            _ => vec![planned(
                &["inbox", "list"],
                Command::Inbox(InboxCommand::List {
                    session: None,
                    all: false,
                    unread: false,
                }),
            )],
        },
        SlashCommand::Doctor => vec![planned(&["doctor"], Command::Doctor { dir: None })],
    }
}

fn planned(words: &[&str], command: Command) -> Read {
    Ok(Planned {
        words: own(words),
        command,
    })
}

fn summary() -> Read {
    planned(
        &["summary"],
        Command::Summary {
            format: Format::Text,
        },
    )
}

fn workers_status() -> Read {
    planned(
        &["workers", "status"],
        Command::Workers(WorkersCommand::Status),
    )
}

fn attention() -> Read {
    planned(&["attention"], Command::Attention)
}

fn review(id: &str) -> Read {
    planned(
        &["review", id],
        Command::Review(ReviewArgs {
            command: None,
            id: Some(id.to_owned()),
        }),
    )
}

fn status_read() -> Read {
    planned(&["status"], Command::Status { session: None })
}

fn context_read() -> Read {
    planned(
        &["context"],
        Command::Context(ContextArgs {
            command: None,
            id: None,
        }),
    )
}

fn board(sprint: Option<&str>) -> Read {
    let mut shown = vec!["board"];
    if let Some(sprint) = sprint {
        shown.extend(["--sprint", sprint]);
    }
    planned(
        &shown,
        Command::Board {
            sprint: sprint.map(str::to_owned),
            limit: 20,
            format: Format::Text,
        },
    )
}

fn monitor(limit: Option<usize>) -> Read {
    let count = limit.map(|limit| limit.to_string());
    let mut shown = vec!["monitor"];
    if let Some(count) = &count {
        shown.extend(["--limit", count]);
    }
    planned(
        &shown,
        Command::Monitor {
            limit: limit.unwrap_or(20),
            format: Format::Text,
        },
    )
}

fn active_sessions() -> Read {
    planned(
        &["session", "list", "--active"],
        Command::Session(SessionCommand::List {
            active: true,
            project: None,
            mode: None,
            status: None,
        }),
    )
}

fn state_get(session: Option<&str>, path: &str) -> Read {
    let session = session.ok_or_else(|| {
        "there is no current session: the hooks are not wired here, or this runs outside Claude Code".to_owned()
    })?;
    planned(
        &["state", "get", session, path],
        Command::State(StateCommand::Get {
            id: session.to_owned(),
            path: path.to_owned(),
            paths: false,
            strict: false,
        }),
    )
}

fn sprint_show(sprint: &str) -> Read {
    planned(
        &["sprint", "show", sprint],
        Command::Sprint(SprintCommand::Show {
            sprint: sprint.to_owned(),
        }),
    )
}

fn sprint_list() -> Read {
    planned(&["sprint", "list"], Command::Sprint(SprintCommand::List))
}

fn task_show(id: &str) -> Read {
    planned(
        &["task", "show", id],
        Command::Task(TaskCommand::Show { id: id.to_owned() }),
    )
}

fn task_tree(id: &str) -> Read {
    planned(
        &["task", "tree", id],
        Command::Task(TaskCommand::Tree { id: id.to_owned() }),
    )
}

fn task_ready(limit: Option<u64>) -> Read {
    let count = limit.map(|limit| limit.to_string());
    let mut shown = vec!["task", "ready"];
    if let Some(count) = &count {
        shown.extend(["--limit", count]);
    }
    planned(&shown, Command::Task(TaskCommand::Ready { limit }))
}

fn task_next(assignee: Option<&str>) -> Read {
    let mut shown = vec!["task", "next"];
    if let Some(who) = assignee {
        shown.extend(["--assignee", who]);
    }
    planned(
        &shown,
        Command::Task(TaskCommand::Next {
            assignee: assignee.map(str::to_owned),
            claim: false,
        }),
    )
}

fn task_blocked() -> Read {
    planned(&["task", "blocked"], Command::Task(TaskCommand::Blocked))
}

fn memory_search(text: &str) -> Read {
    planned(
        &["memory", "search", text],
        Command::Memory(MemoryCommand::Search {
            text: text.to_owned(),
        }),
    )
}

/// `task list` for the words after `list` (or `tasks`): a bare status filters by it, `mine`
/// means the current session's, and the options of `task list` are taken as typed. Any
/// other word is refused, naming it.
fn task_list(words: &[&str], session: Option<&str>) -> Read {
    const OPTIONS: [&str; 7] = [
        "--status",
        "--type",
        "--assignee",
        "--parent",
        "--label",
        "--sprint",
        "--limit",
    ];
    let mut shown = own(&["task", "list"]);
    let mut filter = TaskCommand::List {
        status: None,
        kind: None,
        assignee: None,
        parent: None,
        label: None,
        sprint: None,
        limit: None,
        all: false,
    };
    let TaskCommand::List {
        status,
        kind,
        assignee,
        parent,
        label,
        sprint,
        limit,
        all,
    } = &mut filter
    else {
        unreachable!("built as a list above")
    };
    let mut words = words.iter().copied();
    while let Some(word) = words.next() {
        let upper = word.to_ascii_uppercase().replace('-', "_");
        if let Ok(named) = upper.parse::<Status>()
            && Status::NAMES.contains(&upper.as_str())
        {
            *status = Some(named);
            shown.extend(own(&["--status", &upper]));
        } else if word == "mine" {
            if let Some(session) = session {
                *assignee = Some(session.to_owned());
                shown.extend(own(&["--assignee", session]));
            }
        } else if word == "--all" {
            *all = true;
            shown.push(word.to_owned());
        } else if OPTIONS.contains(&word) {
            let value = words
                .next()
                .ok_or_else(|| format!("`{word}` of `task list` needs a value"))?;
            match word {
                "--status" => *status = Some(value.parse().map_err(|err| format!("{err}"))?),
                "--type" => *kind = Some(value.parse::<Kind>().map_err(|err| format!("{err}"))?),
                "--assignee" => *assignee = Some(value.to_owned()),
                "--parent" => *parent = Some(value.to_owned()),
                "--label" => *label = Some(value.to_owned()),
                "--sprint" => *sprint = Some(value.to_owned()),
                _ => {
                    *limit = Some(value.parse().map_err(|_| {
                        format!("`--limit` of `task list` must be a number, not `{value}`")
                    })?);
                }
            }
            shown.extend(own(&[word, value]));
        } else {
            return Err(format!(
                "`task list` does not take `{word}`: give a status, `mine`, `--all`, or one of {}",
                OPTIONS.join(", ")
            ));
        }
    }
    Ok(Planned {
        words: shown,
        command: Command::Task(filter),
    })
}

/// Words as a shell splits them, with quotes that pair up honoured and any other quote kept
/// as a letter (`don't` is one word), so that no input fails.
fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let chars: Vec<char> = text.chars().collect();
    let mut at = 0;
    while at < chars.len() {
        let c = chars[at];
        if (c == '"' || c == '\'')
            && let Some(end) = chars[at + 1..].iter().position(|d| *d == c)
        {
            word.extend(&chars[at + 1..at + 1 + end]);
            in_word = true;
            at += end + 2;
            continue;
        }
        if c.is_whitespace() {
            if in_word {
                words.push(std::mem::take(&mut word));
                in_word = false;
            }
        } else {
            word.push(c);
            in_word = true;
        }
        at += 1;
    }
    if in_word {
        words.push(word);
    }
    words
}

fn own(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|part| (*part).to_owned()).collect()
}

fn name(command: SlashCommand) -> String {
    clap::ValueEnum::to_possible_value(&command)
        .map(|value| value.get_name().to_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser as _;

    fn plan_of(command: SlashCommand, args: &[&str]) -> Vec<Read> {
        plan(command, &own(args), Some("s1"))
    }

    #[test]
    fn every_read_parses_and_never_changes_anything() {
        let commands = [
            SlashCommand::Orchestrate,
            SlashCommand::State,
            SlashCommand::Task,
            SlashCommand::Sprint,
            SlashCommand::Handoff,
            SlashCommand::Monitor,
            SlashCommand::Mode,
            SlashCommand::Decide,
            SlashCommand::Memory,
            SlashCommand::Inbox,
            SlashCommand::Doctor,
        ];
        let samples: &[&[&str]] = &[
            &[],
            &["next", "--claim", "--assignee", "me"],
            &["list", "todo", "mine"],
            &["get", "execution.todos"],
            &["set", "a.b", "1"],
            &["tasks", "IN_PROGRESS"],
            &["start", "TASK-1"],
            &["clarify", "TASK-1", "why?"],
            &["create", "Fix", "login"],
            &["board", "SPRINT-1"],
            &["burndown"],
            &["velocity"],
            &["sprint", "start", "SPRINT-1"],
            &["sprint", "status"],
            &["task", "delegate", "TASK-1"],
            &["epic", "plan", "EPIC-1"],
            &["workers", "4"],
            &["status"],
            &["review", "TASK-1"],
            &["attention"],
            &["write", "--next", "x"],
            &["search", "auth", "tokens"],
            &["get", "pattern", "auth"],
            &["add", "hello"],
            &["free", "text"],
            &[
                "list", "--type", "story", "--limit", "3", "--all", "--label", "api",
            ],
            &["list", "--bogus"],
        ];
        // The only commands a `!` line may run: none of them writes.
        let readers = [
            "summary",
            "status",
            "workers status",
            "attention",
            "review",
            "context",
            "board",
            "monitor",
            "mode",
            "doctor",
            "task list",
            "task next",
            "task show",
            "task ready",
            "task blocked",
            "task tree",
            "task history",
            "task review",
            "task clarifications",
            "state get",
            "session list",
            "sprint show",
            "sprint list",
            "sprint burndown",
            "sprint velocity",
            "handoff show",
            "handoff write --dry-run",
            "decision list",
            "memory list",
            "memory get",
            "memory search",
            "inbox list",
        ];
        for command in commands {
            for args in samples {
                for read in plan_of(command, args) {
                    let planned = match read {
                        Ok(planned) => planned,
                        Err(reason) => {
                            assert!(args.contains(&"--bogus"), "{command:?} {args:?}: {reason}");
                            continue;
                        }
                    };
                    let line = planned.words.join(" ");
                    assert!(
                        readers.iter().any(|reader| line.starts_with(reader)),
                        "{command:?} {args:?} runs `{line}`"
                    );
                    assert!(
                        !planned.words.iter().any(|word| word == "--claim"),
                        "{line}"
                    );
                    // What is shown is what runs: the words parse to the very command.
                    let parsed = Cli::try_parse_from(
                        std::iter::once("orchestron".to_owned()).chain(planned.words.clone()),
                    )
                    .unwrap_or_else(|err| panic!("{command:?} {args:?}: `{line}`: {err}"));
                    assert_eq!(
                        format!("{:?}", parsed.command),
                        format!("{:?}", planned.command),
                        "{line}"
                    );
                }
            }
        }
    }

    #[test]
    fn words_split_like_a_shell_but_never_fail() {
        assert_eq!(
            split_words(r#"create "Fix login" now"#),
            ["create", "Fix login", "now"]
        );
        assert_eq!(
            split_words("search don't panic"),
            ["search", "don't", "panic"]
        );
        assert_eq!(split_words("  a  'b c'd "), ["a", "b cd"]);
        assert_eq!(split_words(""), Vec::<String>::new());
        assert_eq!(split_words("\"open"), ["\"open"]);
    }

    #[test]
    fn arguments_choose_the_reads() {
        let lines = |command, args: &[&str]| -> Vec<String> {
            plan_of(command, args)
                .into_iter()
                .map(|read| read.unwrap().words.join(" "))
                .collect()
        };
        assert_eq!(lines(SlashCommand::Task, &["next"]), ["task next"]);
        assert_eq!(
            lines(SlashCommand::State, &["get", "execution.todos"]),
            ["state get s1 execution.todos"]
        );
        assert_eq!(lines(SlashCommand::Sprint, &["board"]), ["board"]);
        assert_eq!(
            lines(SlashCommand::Task, &["list", "in-progress", "mine"]),
            ["task list --status IN_PROGRESS --assignee s1"]
        );
        assert_eq!(
            plan(SlashCommand::State, &own(&["get", "x"]), None)[0]
                .as_ref()
                .unwrap_err()
                .split(':')
                .next(),
            Some("there is no current session")
        );
    }
}
