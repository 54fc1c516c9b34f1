//! `orchestron status`, `context` and `mode` in and out of a real Claude Code session, with
//! a fixed clock (`ORCHESTRON_NOW` for the terminal, the hooks and the Bash tool alike), and
//! a context snapshot saved in one session and loaded in the next.

use serde_json::{Value, json};

use crate::harness::{self, Fixture};
use crate::{args, initialized};

const NOW: &str = "2026-03-10T09:00:00Z";
const FIRST: &str = "3d2c1b0a-9f8e-4d7c-8b6a-5f4e3d2c1b0a";
const SECOND: &str = "4e3d2c1b-0a9f-4e8d-9c7b-6a5f4e3d2c1b";

/// `orchestron ARGS` from a terminal in the project, at [`NOW`], in `session` when given.
fn orchestron(fixture: &Fixture, args: &[&str], session: Option<&str>) -> String {
    let mut command = std::process::Command::new(harness::orchestron_bin());
    command
        .args(args)
        .current_dir(&fixture.project)
        .env_clear()
        .env("HOME", &fixture.home)
        .env("CLAUDE_PROJECT_DIR", &fixture.project)
        .env("ORCHESTRON_NOW", NOW);
    if let Some(session) = session {
        command.env("ORCHESTRON_SESSION", session);
    }
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "orchestron {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn bash(command: &str) -> Value {
    json!({"tool_use": {"name": "Bash", "input": {"command": command, "description": "Orchestron"}}})
}

#[test]
#[cfg_attr(
    not(claude_cli),
    ignore = "needs the Claude Code CLI: .ci/run installs it, or set CLAUDE_BIN"
)]
fn status_context_and_mode_in_and_out_of_a_session() {
    let Some(mut fixture) = initialized() else {
        return;
    };
    fixture
        .env
        .push(("ORCHESTRON_NOW".to_owned(), NOW.to_owned()));
    let project = fixture
        .project
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();

    // From a terminal, before any session: new sessions start in the mode switched to.
    orchestron(&fixture, &["mode", "sprint"], None);
    let mode: Value =
        serde_json::from_str(&orchestron(&fixture, &["mode", "--json"], None)).unwrap();
    assert_eq!(mode["new_sessions"]["mode"], "sprint", "{mode:#}");
    let task = orchestron(&fixture, &["task", "create", "Write the login form"], None)
        .trim()
        .to_owned();
    assert_eq!(
        orchestron(&fixture, &["status"], None),
        format!(
            "No current session.\n{project}: 1 item (1 todo); 0 live sessions; next ready: \
             {task} Write the login form.\n"
        )
    );
    // What the session will be told, before it starts.
    let preview: Value =
        serde_json::from_str(&orchestron(&fixture, &["context", "--json"], Some(FIRST))).unwrap();
    assert_eq!(preview["new"], true);
    let preview = preview["context"].as_str().unwrap().to_owned();
    assert!(
        preview.starts_with(&format!(
            "Orchestron session {FIRST}, mode sprint (startup)."
        )),
        "{preview}"
    );

    // In the session: it claims the item, reads its status and mode, saves its context.
    let scenario = json!({"steps": [
        bash("orchestron task next --claim --json"),
        bash("orchestron status"),
        bash("orchestron mode"),
        bash("orchestron context save login --note 'the form is half done'"),
        {"text": "Saved."}
    ]});
    let run = fixture.run(
        "vocab-first",
        scenario,
        &args("take the next item", &["--session-id", FIRST]),
    );
    run.assert_ok();
    let first = run.turns()[0]["body"].to_string();
    let escaped = serde_json::to_string(&preview).unwrap();
    assert!(
        first.contains(&escaped[1..escaped.len() - 1]),
        "the session was not told what `context` previewed:\n{preview}\n{}",
        run.context()
    );
    let sent = run.sent();
    for expected in [
        format!("Session {FIRST} (sprint, active)"),
        format!("Current task: {task} (0% complete): Write the login form"),
        "Status: IN_PROGRESS".to_owned(),
        "Blockers: none".to_owned(),
        format!(
            "{FIRST} is in sprint mode (style: sprint_execution); new sessions here start in sprint mode"
        ),
        format!("saved context snapshot login (item {task}, 0 open to-dos"),
    ] {
        assert!(
            sent.contains(&expected),
            "missing `{expected}`: {}",
            run.context()
        );
    }

    // After it ended: its status and context from a terminal, by id; the snapshot at NOW.
    let status = orchestron(&fixture, &["status", "--session", FIRST], None);
    assert!(
        status.starts_with(&format!(
            "Session {FIRST} (sprint, completed)\nCurrent task: {task} (0% complete)"
        )),
        "{status}"
    );
    let context = orchestron(&fixture, &["context", FIRST], None);
    assert!(
        context.starts_with(&format!("Orchestron session {FIRST}, mode sprint.")),
        "{context}"
    );
    let listed: Value =
        serde_json::from_str(&orchestron(&fixture, &["context", "list", "--json"], None)).unwrap();
    assert_eq!(
        listed,
        json!([{"name": "login", "saved_at": NOW, "session": FIRST, "item": task,
            "todos_open": 0, "files": 0, "notes": 1}])
    );

    // The next session loads it: told of it, and the item is linked to it.
    let scenario = json!({"steps": [bash("orchestron context load login"), {"text": "Resuming."}]});
    let run = fixture.run(
        "vocab-second",
        scenario,
        &args("resume the login work", &["--session-id", SECOND]),
    );
    run.assert_ok();
    let sent = run.sent();
    for expected in [
        format!("Context snapshot login, saved at {NOW} by session {FIRST}:"),
        "- Note: the form is half done".to_owned(),
        format!("Item {task} is linked to this session (it was linked to session {FIRST})."),
    ] {
        assert!(
            sent.contains(&expected),
            "missing `{expected}`: {}",
            run.context()
        );
    }
    let item: Value = serde_json::from_str(&orchestron(
        &fixture,
        &["task", "show", &task, "--json"],
        None,
    ))
    .unwrap();
    assert_eq!(item["session"], SECOND, "{item:#}");
}
