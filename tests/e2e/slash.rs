//! The slash commands and output styles with the real CLI: `/orchestron:task next`,
//! `/orchestron:state get …` and `/orchestron:sprint board` expand with live data, through
//! the plugin and through `orchestron init`; a sprint-mode session gets the sprint_execution
//! instructions; `orchestron mode` makes the next session use the mode's style.

use serde_json::{Value, json};

use crate::harness::{self, Fixture, claude_bin, repo_root};
use crate::{args, initialized};

const SESSION: &str = "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f";

/// A project with a plan: a sprint with one item in progress and one ready, and a session
/// with a value in its state. Returns the ids of the ready item and the sprint.
fn plan(fixture: &Fixture) -> (String, String) {
    let run = |args: &[&str]| -> String {
        let output = fixture.orchestron(args);
        assert!(
            output.status.success(),
            "orchestron {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    };
    run(&["session", "create", "--id", SESSION]);
    run(&[
        "state",
        "set",
        SESSION,
        "notes.plan",
        "ship the login page by Friday",
    ]);
    let doing = run(&[
        "task",
        "create",
        "Wire the OAuth callback",
        "--estimate",
        "3",
    ]);
    let ready = run(&[
        "task",
        "create",
        "Write the login form",
        "--priority",
        "HIGH",
        "--estimate",
        "2",
    ]);
    let sprint = run(&[
        "sprint",
        "create",
        "Login sprint",
        "--goal",
        "People can log in",
    ]);
    run(&["sprint", "add", &sprint, &doing, &ready]);
    run(&["sprint", "start", &sprint]);
    run(&["task", "update", &doing, "--status", "IN_PROGRESS"]);
    (ready, sprint)
}

/// Run `/orchestron:<command>` in `-p` mode and return the prompt that reached the model.
fn expanded(fixture: &Fixture, name: &str, command: &str, extra: &[&str]) -> String {
    let scenario = json!({"steps": [{"text": "Here it is."}]});
    let mut all = extra.to_vec();
    // `/orchestron:state` reads the session it runs in: the one `plan` made.
    if command.starts_with("/orchestron:state") {
        all.extend(["--session-id", SESSION]);
    }
    let run = fixture.run(name, scenario, &args(command, &all));
    run.assert_ok();
    assert_eq!(
        run.result()["result"],
        "Here it is.",
        "a failing `!` line aborts the command before the model: {}",
        run.context()
    );
    run.turns()
        .first()
        .map(|turn| turn["body"]["messages"].to_string())
        .unwrap_or_else(|| panic!("no request reached the model: {}", run.context()))
}

fn assert_live_data(fixture: &Fixture, how: &str, extra: &[&str]) {
    let (ready, sprint) = plan(fixture);

    let prompt = expanded(
        fixture,
        &format!("{how}-next"),
        "/orchestron:task next",
        extra,
    );
    assert!(prompt.contains("orchestron task next"), "{prompt}");
    assert!(prompt.contains(&ready), "the next item's id: {prompt}");
    assert!(prompt.contains("Write the login form"), "{prompt}");

    let prompt = expanded(
        fixture,
        &format!("{how}-state"),
        "/orchestron:state get notes.plan",
        extra,
    );
    assert!(
        prompt.contains("ship the login page by Friday"),
        "the value from the session's state: {prompt}"
    );

    let prompt = expanded(
        fixture,
        &format!("{how}-board"),
        "/orchestron:sprint board",
        extra,
    );
    assert!(prompt.contains(&sprint), "the sprint's id: {prompt}");
    assert!(prompt.contains("Wire the OAuth callback"), "{prompt}");
    assert!(prompt.contains("IN_PROGRESS"), "{prompt}");
    assert!(prompt.contains("wip_limit"), "{prompt}");

    // Whatever the user types reaches `orchestron slash` as typed, and the command runs:
    // quotes, an apostrophe, a backtick and a `$` would each abort an unquoted `!` line.
    let prompt = expanded(
        fixture,
        &format!("{how}-odd"),
        r#"/orchestron:memory search it's 12" `ls` $HOME"#,
        extra,
    );
    assert!(prompt.contains(r#"\"$HOME\""#), "{prompt}");
    assert!(prompt.contains("`ls`"), "{prompt}");
}

#[test]
#[cfg_attr(
    not(claude_cli),
    ignore = "needs the Claude Code CLI: .ci/run installs it, or set CLAUDE_BIN"
)]
fn slash_commands_expand_with_live_data_through_init() {
    let Some(fixture) = initialized() else { return };
    assert!(
        fixture
            .project
            .join(".claude/commands/orchestron/task.md")
            .is_file()
    );
    assert_live_data(&fixture, "init", &[]);
}

#[test]
#[cfg_attr(
    not(claude_cli),
    ignore = "needs the Claude Code CLI: .ci/run installs it, or set CLAUDE_BIN"
)]
fn slash_commands_expand_with_live_data_through_the_plugin() {
    let Some(claude) = claude_bin() else { return };
    // No orchestron on PATH: the hooks and the `!` lines find it through the plugin's
    // launchers (`hooks/orchestron-hook`, `bin/orchestron`) and `ORCHESTRON_BIN`.
    let mut fixture = Fixture::new(claude);
    fixture.orchestron_on_path = false;
    fixture.env.push((
        "ORCHESTRON_BIN".to_owned(),
        harness::orchestron_bin().display().to_string(),
    ));
    let root = repo_root().to_str().unwrap().to_owned();
    assert_live_data(&fixture, "plugin", &["--plugin-dir", &root]);

    // The plugin's styles go by `orchestron:<name>`, which `orchestron mode` writes.
    // From a terminal, with no session: the mode new sessions start in.
    let output = fixture.orchestron(&["mode", "sprint"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let scenario = json!({"steps": [{"text": "Board coming."}]});
    let run = fixture.run(
        "plugin-style",
        scenario,
        &args("show the board", &["--plugin-dir", &root]),
    );
    run.assert_ok();
    let first = run.turns()[0]["body"].to_string();
    assert!(
        first.contains("# Output Style: orchestron:sprint_execution"),
        "{}",
        run.context()
    );
    assert!(
        !first.contains("Output style for sprint mode"),
        "{}",
        run.context()
    );
}

fn session_info(fixture: &Fixture, id: &str) -> Value {
    fixture.orchestron_json(&["session", "info", id])
}

#[test]
#[cfg_attr(
    not(claude_cli),
    ignore = "needs the Claude Code CLI: .ci/run installs it, or set CLAUDE_BIN"
)]
fn a_sprint_session_gets_the_sprint_style_and_mode_switches_the_next_one() {
    let Some(mut fixture) = initialized() else {
        return;
    };
    fixture
        .env
        .push(("ORCHESTRON_MODE".to_owned(), "sprint".to_owned()));
    let scenario = json!({"steps": [{"text": "Board coming."}]});
    let run = fixture.run(
        "sprint-style",
        scenario.clone(),
        &args("show the board", &[]),
    );
    run.assert_ok();
    let first = run.turns()[0]["body"].to_string();
    assert!(
        first.contains("Output style for sprint mode: sprint_execution"),
        "{}",
        run.context()
    );
    assert!(first.contains("Keep the board moving"), "{}", run.context());
    assert_eq!(
        session_info(&fixture, &run.session_id())["session"]["mode"],
        "sprint"
    );

    // `orchestron mode` switches a session, and the next session starts in that mode with
    // Claude Code applying the style itself (so the context does not repeat it).
    fixture.env.clear();
    let id = SESSION;
    let created = fixture.orchestron(&["session", "create", "--id", id]);
    assert!(created.status.success());
    let output = fixture.orchestron(&["mode", "leadership", "--session", id]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("next session or after /clear"));
    let run = fixture.run("leadership-style", scenario, &args("any decisions?", &[]));
    run.assert_ok();
    // 2.1.330 puts the style in the prompt's environment section, not in `system`.
    let first = run.turns()[0]["body"].to_string();
    assert!(
        first.contains("# Output Style: leadership_chat"),
        "Claude Code applies the style: {}",
        run.context()
    );
    assert_eq!(
        first.matches("You are the decision room").count(),
        1,
        "{}",
        run.context()
    );
    assert!(
        !first.contains("Output style for leadership mode"),
        "{}",
        run.context()
    );
    assert_eq!(
        session_info(&fixture, &run.session_id())["session"]["mode"],
        "leadership",
        "the next session starts in the mode switched to"
    );
}
