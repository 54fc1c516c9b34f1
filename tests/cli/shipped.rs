//! The markdown Orchestron ships: every slash command and output style has the frontmatter
//! Claude Code needs, names no machine's paths, calls only `orchestron` commands the real CLI
//! accepts, and every `!` line exits 0 on an empty project and on a busy one.

use std::path::Path;
use std::process::Command;

use clap::Parser as _;
use orchestron::cli::Cli;
use orchestron::shipped::{self, COMMANDS, STYLES};
use serde_json::Value;

use crate::Timed as _;
use crate::{TestEnv, shell_words};

const SESSION: &str = "5e1d0b9a-1c2d-4e3f-8a9b-0c1d2e3f4a5b";

fn keys(text: &str, name: &str) -> Vec<(String, String)> {
    shipped::frontmatter(text)
        .unwrap_or_else(|| panic!("{name}: no frontmatter"))
        .0
}

fn get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Every file in `dir` is one of `assets`, and the other way round: nothing ships that is
/// not built in, and nothing is built in that does not ship.
fn same_files(dir: &str, assets: &[shipped::Asset]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut on_disk: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut built_in: Vec<String> = assets.iter().map(|a| format!("{}.md", a.name)).collect();
    built_in.sort();
    assert_eq!(on_disk, built_in, "{dir}");
    for asset in assets {
        let text = std::fs::read_to_string(root.join(format!("{}.md", asset.name))).unwrap();
        assert_eq!(text, asset.text, "{}", asset.name);
    }
}

#[test]
fn every_command_has_the_frontmatter_claude_code_needs() {
    same_files("commands", COMMANDS);
    for required in [
        "orchestrate",
        "state",
        "task",
        "sprint",
        "handoff",
        "monitor",
        "mode",
        "decide",
        "memory",
        "inbox",
        "doctor",
    ] {
        assert!(COMMANDS.iter().any(|c| c.name == required), "{required}");
    }
    for command in COMMANDS {
        let name = command.name;
        let pairs = keys(command.text, name);
        for (key, _) in &pairs {
            assert!(
                [
                    "description",
                    "argument-hint",
                    "allowed-tools",
                    "model",
                    "disable-model-invocation"
                ]
                .contains(&key.as_str()),
                "{name}: unexpected key `{key}`"
            );
        }
        let description = get(&pairs, "description").unwrap_or_default();
        assert!(
            (10..=200).contains(&description.len()),
            "{name}: description"
        );
        assert!(
            get(&pairs, "argument-hint").is_some(),
            "{name}: argument-hint"
        );
        if let Some(model) = get(&pairs, "model") {
            assert!(
                ["haiku", "sonnet", "opus"].contains(&model),
                "{name}: model"
            );
        }
        // The narrowest tools that work: only orchestron commands, the `!` line's included.
        let tools: Vec<&str> = get(&pairs, "allowed-tools")
            .unwrap_or_else(|| panic!("{name}: allowed-tools"))
            .split(", ")
            .collect();
        for tool in &tools {
            assert!(
                tool.starts_with("Bash(orchestron ") && tool.ends_with(":*)"),
                "{name}: `{tool}` is wider than an orchestron command"
            );
        }
        let body = shipped::body(command.text);
        assert!(body.contains("$ARGUMENTS"), "{name}: never uses $ARGUMENTS");
        let lines = bang_lines(body);
        assert!(!lines.is_empty(), "{name}: gathers no live data");
        for line in &lines {
            assert!(line.contains("--json"), "{name}: `{line}` is not JSON");
            assert!(
                tools.iter().any(|tool| allows(tool, line)),
                "{name}: `{line}` is not in allowed-tools, so Claude Code refuses to run it"
            );
        }
        // Every command Claude is told to run is allowed, so it never has to ask.
        for invocation in invocations(body) {
            assert!(
                tools.iter().any(|tool| allows(tool, &invocation)),
                "{name}: `{invocation}` is not in allowed-tools"
            );
        }
    }
}

#[test]
fn every_style_has_the_frontmatter_claude_code_needs() {
    same_files("output-styles", STYLES);
    for required in [
        "sprint_execution",
        "leadership_chat",
        "all-team_dashboard",
        "config_manager",
    ] {
        assert!(STYLES.iter().any(|s| s.name == required), "{required}");
    }
    for style in STYLES {
        let name = style.name;
        let pairs = keys(style.text, name);
        assert_eq!(get(&pairs, "name"), Some(name), "{name}: name");
        assert!(get(&pairs, "description").is_some_and(|d| d.len() >= 10));
        assert_eq!(
            get(&pairs, "keep-coding-instructions"),
            Some("true"),
            "{name}: sessions in every mode still write code"
        );
        let body = shipped::body(style.text);
        assert!(
            body.contains("never from memory") && body.contains("--json"),
            "{name}: must render from orchestron's JSON"
        );
        // SessionStart injects the body, next to the rest of the context, under 10,000.
        assert!(body.chars().count() < 3_000, "{name}: too long to inject");
    }
}

#[test]
fn no_shipped_file_names_a_machines_paths() {
    for asset in COMMANDS.iter().chain(STYLES) {
        for needle in [
            "/home/", "/root/", "/Users/", "/tmp/", "/usr/", "/work/", "~/", ":\\",
        ] {
            assert!(
                !asset.text.contains(needle),
                "{}: contains `{needle}`",
                asset.name
            );
        }
    }
}

#[test]
fn every_orchestron_invocation_parses_against_the_cli() {
    let parse = |line: &str| -> Result<(), String> {
        Cli::try_parse_from(shell_words(line))
            .map(drop)
            .map_err(|err| format!("`{line}` does not parse:\n{err}"))
    };
    let mut seen = 0;
    for asset in COMMANDS.iter().chain(STYLES) {
        let body = shipped::body(asset.text);
        // A `!` line runs whatever the user typed: it must parse with every sample.
        for line in bang_lines(body) {
            for arguments in ARGUMENTS {
                if let Err(err) = parse(command_line(&substitute(&line, arguments))) {
                    panic!("{}: {err}", asset.name);
                }
                seen += 1;
            }
        }
        // A command Claude is told to run: with the arguments it is meant for (such as
        // `orchestron mode $0` with a mode).
        for invocation in invocations(body) {
            let errors: Vec<String> = ARGUMENTS
                .iter()
                .filter_map(|arguments| parse(&substitute(&invocation, arguments)).err())
                .collect();
            assert!(
                errors.len() < ARGUMENTS.len(),
                "{}: {}",
                asset.name,
                errors[0]
            );
            seen += 1;
        }
    }
    assert!(seen > 400, "only {seen} invocations found");
}

/// The user's arguments each command's `!` line is run with: nothing, then each action of
/// its argument hint with sample values.
const ARGUMENTS: &[&str] = &[
    "",
    "next",
    "list",
    "list TODO",
    "list mine",
    "show TASK-zzzz",
    "create \"Fix the login\"",
    "start TASK-zzzz",
    "done TASK-zzzz",
    "block TASK-zzzz waiting",
    "clarify TASK-zzzz why",
    "get execution.todos",
    "get session.mode",
    "set a.b 1",
    "merge a {}",
    "summary",
    "tasks IN_PROGRESS",
    "sessions",
    "board",
    "board SPRINT-zzzz",
    "burndown",
    "velocity",
    "start SPRINT-zzzz",
    "read",
    "write remember the tests",
    "sprint",
    "leadership",
    "search auth tokens",
    "get pattern auth",
    "add pattern auth tokens expire",
    "add all hello",
    "sprint start",
    "sprint status",
    "task delegate TASK-zzzz",
    "epic plan EPIC-zzzz",
    "epic plan \"New billing\"",
    "--claim --json",
    "search don't panic",
    "Let's use Postgres",
    "Use 12\" monitors",
    "create fix `ls` bug",
    "search $HOME $(touch pwned) 'unclosed",
    "ORCHESTRON_ARG",
];

/// Run every `!` line of every command with every sample, the way Claude Code does: the
/// arguments substituted, then `bash -c` with `orchestron` on PATH.
fn run_every_bang_line(env: &TestEnv) {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_orchestron"))
        .parent()
        .unwrap();
    // One thread per command, as Claude Code may run several commands' lines at once.
    std::thread::scope(|scope| {
        for command in COMMANDS {
            scope.spawn(move || {
                for line in bang_lines(shipped::body(command.text)) {
                    for arguments in ARGUMENTS {
                        let script = substitute(&line, arguments);
                        let output = bash(env, &script, bin_dir).timed_output().unwrap();
                        let stdout = String::from_utf8_lossy(&output.stdout);
                        assert!(
                            output.status.success(),
                            "/orchestron:{} {arguments}: `{script}` exited {:?}\n{stdout}{}",
                            command.name,
                            output.status.code(),
                            String::from_utf8_lossy(&output.stderr)
                        );
                        let value: Value = serde_json::from_str(&stdout)
                            .unwrap_or_else(|err| panic!("`{script}`: not JSON ({err}): {stdout}"));
                        assert!(value["results"].is_array(), "{stdout}");
                        // The words arrive as typed: nothing expanded, nothing run.
                        if arguments.contains("$HOME") && script.contains("--stdin") {
                            assert!(stdout.contains("$(touch"), "{stdout}");
                            assert!(!env.path().join("pwned").exists());
                        }
                    }
                }
            });
        }
    });
}

/// `bash -c SCRIPT` in the test's project, with its environment and `orchestron` on PATH.
fn bash(env: &TestEnv, script: &str, bin_dir: &Path) -> Command {
    let template = env.command(&[]);
    let mut bash = Command::new("bash");
    bash.arg("-c")
        .arg(script)
        .current_dir(env.path())
        .env_clear();
    for (key, value) in template.get_envs() {
        if let Some(value) = value {
            bash.env(key, value);
        }
    }
    bash.env("PATH", format!("{}:/usr/bin:/bin", bin_dir.display()));
    bash
}

#[test]
fn every_bang_line_exits_0_on_an_empty_project() {
    let mut env = TestEnv::new();
    run_every_bang_line(&env);
    assert!(
        !env.home().exists(),
        "gathering a command's data created the state root"
    );
    // Inside a Claude Code session whose hooks never ran: the session does not exist.
    env.set("CLAUDE_CODE_SESSION_ID", SESSION);
    run_every_bang_line(&env);
    assert!(!env.home().exists());
}

#[test]
fn every_bang_line_exits_0_on_a_busy_project() {
    let mut env = TestEnv::new();
    env.set("ORCHESTRON_SESSION", SESSION);
    env.run(&["session", "create", "--id", SESSION, "--mode", "sprint"])
        .ok();
    let epic = env.run(&["task", "create", "Auth", "--type", "EPIC"]);
    let epic = epic.ok().trim();
    let task = env.run(&[
        "task",
        "create",
        "Login form",
        "--parent",
        epic,
        "--estimate",
        "3",
    ]);
    let task = task.ok().trim();
    let sprint = env.run(&["sprint", "create", "Sprint 1", "--duration", "5"]);
    let sprint = sprint.ok().trim();
    let next = env.run(&["task", "create", "Logout", "--priority", "HIGH"]);
    let next = next.ok().trim();
    env.run(&["sprint", "add", sprint, task, next]).ok();
    env.run(&["sprint", "start", sprint]).ok();
    env.run(&["task", "start", task]).ok();
    env.run(&["decide", "Use JWT", "--rationale", "stateless"])
        .ok();
    env.run(&[
        "memory",
        "add",
        "pattern",
        "auth",
        "--description",
        "tokens expire",
    ])
    .ok();
    env.run(&["inbox", "add", "use PostgreSQL"]).ok();
    run_every_bang_line(&env);

    // And the data is there: what `/orchestron:task next`, `/orchestron:state get` and
    // `/orchestron:sprint board` put in front of the model.
    let slash = |args: &[&str]| {
        let mut all = vec!["slash", "--json"];
        all.extend_from_slice(args);
        env.run(&all).json()
    };
    let board = slash(&["sprint", "--", "board"]);
    let columns = &board["results"][0]["output"]["columns"];
    let in_progress = columns
        .as_array()
        .unwrap()
        .iter()
        .find(|column| column["status"] == "IN_PROGRESS")
        .unwrap();
    assert_eq!(in_progress["items"][0]["title"], "Login form", "{board:#}");
    let state = slash(&["state", "--", "get", "session.mode"]);
    assert_eq!(state["results"][0]["output"], "sprint", "{state:#}");
    let found = slash(&["task", "--", "next"]);
    assert_eq!(found["results"][0]["output"]["id"], next, "{found:#}");
    assert_eq!(found["results"][0]["output"]["title"], "Logout");
}

/// The shell scripts a body runs before the prompt is sent: `` !`…` `` lines and
/// ```` ```! ```` blocks.
fn bang_lines(body: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut block: Option<Vec<&str>> = None;
    for line in body.lines() {
        match &mut block {
            Some(lines) if line.trim() == "```" => {
                found.push(lines.join("\n"));
                block = None;
            }
            Some(lines) => lines.push(line),
            None if line.trim() == "```!" => block = Some(Vec::new()),
            None => {
                if let Some(rest) = line.trim_start().strip_prefix("!`")
                    && let Some(end) = rest.find('`')
                {
                    found.push(rest[..end].to_owned());
                }
            }
        }
    }
    assert!(block.is_none(), "an unclosed ```! block");
    found
}

/// The command line of a script, without its here-document.
fn command_line(script: &str) -> &str {
    let first = script.lines().next().unwrap_or_default();
    first.split(" <<").next().unwrap_or(first)
}

/// The `orchestron …` commands a body tells Claude to run: inline code that starts with
/// `orchestron `.
fn invocations(body: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in body
        .lines()
        .filter(|line| !line.trim_start().starts_with("!`"))
    {
        let spans: Vec<&str> = line.split('`').collect();
        for span in spans.iter().skip(1).step_by(2) {
            if span.starts_with("orchestron ") {
                found.push((*span).to_owned());
            }
        }
    }
    found
}

/// What Claude Code does to a command's text before running it: `$ARGUMENTS`, the
/// positional arguments and the session id substituted.
fn substitute(line: &str, arguments: &str) -> String {
    let words = shell_words(arguments);
    let mut text = line
        .replace("$ARGUMENTS", arguments)
        .replace("${CLAUDE_SESSION_ID}", SESSION);
    for index in (0..10).rev() {
        let word = words.get(index).map(String::as_str).unwrap_or("");
        text = text.replace(&format!("${index}"), word);
    }
    text
}

/// Whether an `allowed-tools` entry `Bash(PREFIX:*)` lets a command line run.
fn allows(tool: &str, line: &str) -> bool {
    tool.strip_prefix("Bash(")
        .and_then(|rest| rest.strip_suffix(":*)"))
        .is_some_and(|prefix| line.starts_with(prefix))
}
