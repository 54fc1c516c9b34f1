//! `orchestron slash COMMAND [--stdin | -- ARGS]`: what a slash command's `!` lines gather
//! before Claude sees the prompt (with `--stdin`, the user's words come on stdin and only
//! the reads they add run). The arguments the user typed choose a few read-only commands;
//! each runs in this process and is reported with its output or its error, and the whole
//! always exits 0, because a failing `!` line silently aborts the slash command.
//!
//! Changes are never made here: the markdown tells Claude which command to run for them.

use std::io::Read as _;

use anyhow::Context as _;
use clap::Parser as _;
use serde_json::{Value, json};

use crate::cli::{Cli, SlashCommand};
use crate::context::Context;
use crate::output::Output;

/// One read: the arguments of an `orchestron` command, or why it cannot run.
type Read = Result<Vec<String>, String>;

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
        let mut typed = String::new();
        std::io::stdin()
            .read_to_string(&mut typed)
            .context("cannot read the arguments on stdin")?;
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
    } else {
        let words = split_words(&args.join(" "));
        let reads = plan(command, &words, session);
        (words, reads)
    };
    let mut results = Vec::new();
    for read in reads {
        results.push(match read {
            Ok(argv) => run_one(context, out.json(), &argv),
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

/// Run `orchestron ARGV` here, keeping what it prints and the error it ends with.
fn run_one(context: &Context, json: bool, argv: &[String]) -> Value {
    let words: Vec<String> = argv
        .iter()
        .map(|word| crate::install::shell_word(word))
        .collect();
    let shown = format!("orchestron {}", words.join(" "));
    let parsed =
        Cli::try_parse_from(std::iter::once("orchestron".to_owned()).chain(argv.iter().cloned()));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(err) => {
            let message = err.to_string();
            let first = message.lines().next().unwrap_or_default();
            let first = first.strip_prefix("error: ").unwrap_or(first);
            return json!({"run": shown, "error": first});
        }
    };
    let mut buffer = Output::buffer(json);
    let result = super::dispatch_into(context, &mut buffer, cli.command);
    let printed = String::from_utf8_lossy(&buffer.take()).into_owned();
    let output = if printed.trim().is_empty() {
        Value::Null
    } else if json {
        serde_json::from_str(printed.trim()).unwrap_or(Value::String(printed))
    } else {
        Value::String(printed)
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
    let with_session = |parts: &[&str], after: &[&str]| -> Read {
        let session = session.ok_or_else(|| {
            "there is no current session: the hooks are not wired here, or this runs outside Claude Code".to_owned()
        })?;
        Ok(own(parts)
            .into_iter()
            .chain([session.to_owned()])
            .chain(own(after))
            .collect())
    };
    match command {
        SlashCommand::Orchestrate => {
            let mut reads = vec![read(&["summary"])];
            if session.is_some() {
                reads.push(read(&["context"]));
            }
            match (
                first.as_deref(),
                arg(0).map(str::to_ascii_lowercase).as_deref(),
                arg(1),
            ) {
                (Some("sprint"), Some("start"), Some(sprint)) => {
                    reads.push(read(&["sprint", "show", sprint]))
                }
                (Some("sprint"), Some("start"), None) => reads.push(read(&["sprint", "list"])),
                (Some("sprint"), _, _) => reads.push(read(&["board"])),
                (Some("task"), Some("delegate"), Some(id)) => {
                    reads.push(read(&["task", "show", id]));
                    reads.push(read(&["monitor", "--limit", "5"]));
                }
                (Some("task"), _, _) => {
                    reads.push(read(&["task", "ready", "--limit", "10"]));
                    reads.push(read(&["monitor", "--limit", "5"]));
                }
                (Some("epic"), Some("plan"), Some(id)) => reads.push(read(&["task", "tree", id])),
                (Some("epic"), _, _) => reads.push(read(&["task", "list", "--type", "EPIC"])),
                _ => {}
            }
            reads
        }
        SlashCommand::State => match first.as_deref() {
            Some("get") => vec![with_session(&["state", "get"], &[arg(0).unwrap_or("")])],
            Some("set" | "merge" | "delete" | "append" | "increment") => {
                vec![with_session(&["state", "get"], &[arg(0).unwrap_or("")])]
            }
            Some("tasks") => vec![Ok(task_filter(rest, session))],
            Some("sessions") => vec![read(&["session", "list", "--active"])],
            _ => vec![read(&["summary"]), read(&["context"])],
        },
        SlashCommand::Task => match first.as_deref() {
            None => vec![
                read(&["task", "next"]),
                read(&["task", "list", "--status", "IN_PROGRESS"]),
                read(&["task", "blocked"]),
            ],
            Some("next") => {
                let mut argv = own(&["task", "next"]);
                if let Some(at) = rest.iter().position(|word| *word == "--assignee")
                    && let Some(who) = rest.get(at + 1)
                {
                    argv.extend(own(&["--assignee", who]));
                }
                vec![Ok(argv)]
            }
            Some("list") => vec![Ok(task_filter(rest, session))],
            Some("ready") => vec![read(&["task", "ready"])],
            Some("blocked") => vec![read(&["task", "blocked"])],
            Some("create" | "new" | "add") => vec![
                read(&["task", "list", "--type", "EPIC"]),
                read(&["task", "list", "--type", "STORY", "--limit", "20"]),
            ],
            Some(verb) => match arg(0) {
                Some(id) => {
                    let mut reads = vec![read(&["task", "show", id])];
                    match verb {
                        "clarify" | "clarifications" => {
                            reads.push(read(&["task", "clarifications", id]))
                        }
                        "tree" => reads.push(read(&["task", "tree", id])),
                        "history" => reads.push(read(&["task", "history", id])),
                        "review" => reads.push(read(&["task", "review", id])),
                        _ => {}
                    }
                    reads
                }
                None => vec![read(&["task", "list", "--limit", "20"])],
            },
        },
        SlashCommand::Sprint => match first.as_deref() {
            Some("burndown") => vec![Ok(own(&["sprint", "burndown"])
                .into_iter()
                .chain(arg(0).map(str::to_owned))
                .collect())],
            Some("velocity") => vec![read(&["sprint", "velocity"])],
            Some("list") => vec![read(&["sprint", "list"])],
            Some("show") if arg(0).is_some() => {
                vec![read(&["sprint", "show", arg(0).unwrap_or_default()])]
            }
            Some("start" | "complete" | "add" | "remove" | "create" | "plan") => {
                vec![
                    read(&["sprint", "list"]),
                    read(&["task", "ready", "--limit", "20"]),
                ]
            }
            Some("board") if arg(0).is_some() => {
                vec![read(&["board", "--sprint", arg(0).unwrap_or_default()])]
            }
            _ => vec![read(&["board"])],
        },
        SlashCommand::Handoff => match first.as_deref() {
            Some("write" | "leave" | "save") => vec![
                read(&["handoff", "write", "--dry-run"]),
                read(&["handoff", "show"]),
            ],
            _ => vec![read(&["handoff", "show"])],
        },
        SlashCommand::Monitor => vec![read(&["monitor"])],
        SlashCommand::Mode => vec![read(&["mode"])],
        SlashCommand::Decide => vec![read(&["decision", "list"])],
        SlashCommand::Memory => match first.as_deref() {
            None | Some("list") => match arg(0) {
                Some(kind) => vec![read(&["memory", "list", "--kind", kind])],
                None => vec![read(&["memory", "list"])],
            },
            Some("get" | "add" | "update") if arg(0).is_some() && arg(1).is_some() => {
                vec![read(&["memory", "get", rest[0], rest[1]])]
            }
            Some("search") => vec![read(&["memory", "search", &rest.join(" ")])],
            Some(_) => vec![read(&["memory", "search", &words.join(" ")])],
        },
        SlashCommand::Inbox => match first.as_deref() {
            Some("add" | "send" | "tell") => vec![read(&["session", "list", "--active"])],
            _ => vec![read(&["inbox", "list"])],
        },
        SlashCommand::Doctor => vec![read(&["doctor"])],
    }
}

/// `task list` for the words after `list` (or `tasks`): a bare status filters by it, `mine`
/// means the current session's, anything else goes to `task list` as typed.
fn task_filter(words: &[&str], session: Option<&str>) -> Vec<String> {
    let mut argv = own(&["task", "list"]);
    for word in words {
        let upper = word.to_ascii_uppercase().replace('-', "_");
        if orchestron_core::tracker::model::Status::NAMES.contains(&upper.as_str()) {
            argv.extend(own(&["--status", &upper]));
        } else if *word == "mine"
            && let Some(session) = session
        {
            argv.extend(own(&["--assignee", session]));
        } else {
            argv.push((*word).to_owned());
        }
    }
    argv
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

fn read(parts: &[&str]) -> Read {
    Ok(own(parts))
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
            &["write", "--next", "x"],
            &["search", "auth", "tokens"],
            &["get", "pattern", "auth"],
            &["add", "hello"],
            &["free", "text"],
        ];
        // The only commands a `!` line may run: none of them writes.
        let readers = [
            "summary",
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
                    let argv = read.unwrap();
                    let line = argv.join(" ");
                    assert!(
                        readers.iter().any(|reader| line.starts_with(reader)),
                        "{command:?} {args:?} runs `{line}`"
                    );
                    assert!(!argv.iter().any(|word| word == "--claim"), "{line}");
                    Cli::try_parse_from(std::iter::once("orchestron".to_owned()).chain(argv))
                        .unwrap_or_else(|err| panic!("{command:?} {args:?}: `{line}`: {err}"));
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
                .map(|read| read.unwrap().join(" "))
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
