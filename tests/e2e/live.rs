//! Sessions that hear what happens while they run, and start knowing the plan, with the
//! real CLI: a headless (`-p`) run gets an inbox message sent from another process in the
//! middle of its run, and a clarification added to its item, at its next tool call, once
//! each; a new session's first request holds the plan.

use serde_json::{Value, json};

use crate::harness::Fixture;
use crate::{args, initialized};

const SESSION: &str = "5d6e7f80-91a2-4b3c-8d4e-5f6071829304";

fn run_ok(fixture: &Fixture, args: &[&str]) -> String {
    let output = fixture.orchestron(args);
    assert!(
        output.status.success(),
        "orchestron {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The text of the last message of a request: what it added to the conversation.
fn newest(request: &Value) -> String {
    request["body"]["messages"]
        .as_array()
        .and_then(|messages| messages.last())
        .map(|message| message["content"].to_string())
        .unwrap_or_default()
}

/// A headless run with several tool calls: its second Bash call leaves a message in the
/// session's inbox (another process, as a person or a supervisor would), its third adds a
/// clarification to the item it claimed. Each reaches the model in the request right after
/// that tool call, as the PostToolUse hook's context, and never again.
#[test]
#[cfg_attr(
    not(claude_cli),
    ignore = "needs the Claude Code CLI: .ci/run installs it, or set CLAUDE_BIN"
)]
fn a_headless_run_receives_a_message_at_its_next_tool_call_once() {
    let Some(fixture) = initialized() else { return };
    let item = run_ok(&fixture, &["task", "create", "Build the settings page"]);
    let message = "switch to the blue theme";
    let bash = |command: String| {
        json!({"tool_use": {"name": "Bash",
        "input": {"command": command, "description": "A step"}}})
    };
    let scenario = json!({"steps": [
        bash(format!("ORCHESTRON_SESSION={SESSION} orchestron task next --claim")),
        bash(format!("orchestron inbox add --session {SESSION} '{message}'")),
        bash(format!("orchestron task clarify {item} 'labels go above the fields'")),
        bash("true".to_owned()),
        {"text": "Done."}
    ]});
    let run = fixture.run(
        "headless-inbox",
        scenario,
        &args("build the page", &["--session-id", SESSION]),
    );
    run.assert_ok();
    let turns = run.turns();
    assert_eq!(turns.len(), 5, "{}", run.context());
    let delivered = format!("left in the Orchestron inbox: {message}");
    let noted = format!(
        "Orchestron tracker: Clarification on {item} (Build the settings page), the item you \
         work on: labels go above the fields"
    );
    for (turn, request) in turns.iter().enumerate() {
        let body = request["body"].to_string();
        // Later requests repeat the history: the message is there once, never added again.
        let expected_message = usize::from(turn >= 2);
        assert_eq!(
            body.matches(&delivered).count(),
            expected_message,
            "turn {turn}: {}",
            run.context()
        );
        let expected_note = usize::from(turn >= 3);
        assert_eq!(
            body.matches(&noted).count(),
            expected_note,
            "turn {turn}: {}",
            run.context()
        );
    }
    // Each arrived with the result of the tool call right after it was sent.
    assert!(newest(turns[2]).contains(&delivered), "{}", run.context());
    assert!(
        newest(turns[2]).contains("PostToolUse:Bash hook additional context"),
        "{}",
        run.context()
    );
    assert!(newest(turns[3]).contains(&noted), "{}", run.context());
    let unread = fixture.orchestron_json(&["inbox", "list", "--session", SESSION, "--unread"]);
    assert_eq!(unread, json!([]), "delivered messages are read");
}

/// A project with an active sprint, ready items and decisions: a new session's first request
/// holds the plan and the command that takes the next item.
#[test]
#[cfg_attr(
    not(claude_cli),
    ignore = "needs the Claude Code CLI: .ci/run installs it, or set CLAUDE_BIN"
)]
fn a_new_session_is_told_the_plan() {
    let Some(fixture) = initialized() else { return };
    let sprint = run_ok(
        &fixture,
        &[
            "sprint",
            "create",
            "Sprint 7",
            "--goal",
            "Ship the login page",
        ],
    );
    let sprint = sprint
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let form = run_ok(
        &fixture,
        &["task", "create", "Login form", "--estimate", "3"],
    );
    let reset = run_ok(
        &fixture,
        &["task", "create", "Password reset", "--priority", "HIGH"],
    );
    run_ok(&fixture, &["sprint", "add", &sprint, &form, &reset]);
    run_ok(&fixture, &["sprint", "start", &sprint]);
    run_ok(&fixture, &["decide", "Sessions live in signed cookies"]);
    let run = fixture.run(
        "plan",
        json!({"steps": [{"text": "I will take the password reset."}]}),
        &args("what should I do?", &[]),
    );
    run.assert_ok();
    let first = run.turns()[0]["body"].to_string();
    for part in [
        format!("Plan: sprint Sprint 7 ({sprint}): 0 of 2 items done, 0.0 of 3.0 h, "),
        " days left. Goal: Ship the login page.".to_owned(),
        format!("Ready: 2 items; first {reset} Password reset; {form} Login form."),
        "Sessions live in signed cookies".to_owned(),
        "Take the next item: `orchestron task next --claim`.".to_owned(),
    ] {
        assert!(first.contains(&part), "{part}: {}", run.context());
    }
}
