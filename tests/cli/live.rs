//! Sessions that know the plan and hear what happens while they run: the plan SessionStart
//! tells a session without an item, inbox messages and comments on the session's item
//! delivered at its next tool call, a session waiting for a person (`Notification`), and
//! ended sessions that show how long they ran instead of an age.

use serde_json::{Value, json};

use crate::{Run, TestEnv};

const ID: &str = "0f14665f-015b-443e-8e1f-9c78c270ecd1";
const OTHER: &str = "83ad5e63-a644-4657-9453-6d894d327581";

fn hook(env: &TestEnv, event: &str, payload: Value) -> Run {
    env.run_with_stdin(&["hook", event], &payload.to_string())
}

fn start(env: &TestEnv, id: &str, source: &str) -> String {
    let run = hook(
        env,
        "SessionStart",
        json!({"session_id": id, "hook_event_name": "SessionStart", "source": source}),
    );
    let reply: Value = serde_json::from_str(run.ok()).unwrap();
    reply["hookSpecificOutput"]["additionalContext"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn tool_call(env: &TestEnv, id: &str, event: &str) -> Option<String> {
    let run = hook(
        env,
        event,
        json!({"session_id": id, "hook_event_name": event, "tool_name": "Bash",
            "tool_input": {"command": "ls"}, "error": "Exit code 1"}),
    );
    let out = run.ok();
    if out.trim().is_empty() {
        return None;
    }
    let reply: Value = serde_json::from_str(out).unwrap();
    assert_eq!(
        reply["hookSpecificOutput"]["hookEventName"], event,
        "{reply}"
    );
    Some(
        reply["hookSpecificOutput"]["additionalContext"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

fn id_of(run: &Run) -> String {
    run.json()["id"].as_str().unwrap().to_owned()
}

fn write_config(env: &TestEnv, config: &Value) {
    std::fs::create_dir_all(env.home()).unwrap();
    std::fs::write(env.home().join("config.json"), config.to_string()).unwrap();
}

/// A project with an active sprint of two items, a third item assigned to the agent
/// `backend-bot` with a clarification, a blocked one, and two decisions.
fn planned(env: &TestEnv) -> (String, [String; 3]) {
    let sprint = id_of(&env.run(&[
        "sprint",
        "create",
        "Sprint 1",
        "--goal",
        "Ship login",
        "--duration",
        "10",
        "--json",
    ]));
    let form = id_of(&env.run(&["task", "create", "Login form", "--estimate", "3", "--json"]));
    let reset = id_of(&env.run(&[
        "task",
        "create",
        "Password reset",
        "--priority",
        "HIGH",
        "--estimate",
        "2",
        "--json",
    ]));
    let cookie = id_of(&env.run(&[
        "task",
        "create",
        "Session cookie",
        "--assignee",
        "backend-bot",
        "--priority",
        "LOW",
        "--json",
    ]));
    let later = id_of(&env.run(&["task", "create", "Logout", "--json"]));
    env.run(&["task", "depend", &later, "--on", &form]).ok();
    env.run(&["sprint", "add", &sprint, &form, &reset]).ok();
    env.run(&["sprint", "start", &sprint]).ok();
    env.run(&["task", "start", &reset]).ok();
    env.run(&["task", "complete", &reset]).ok();
    env.run(&["decide", "Use PostgreSQL"]).ok();
    env.run(&["decide", "Tokens live in cookies"]).ok();
    env.run(&["task", "clarify", &cookie, "Cookies must be HttpOnly"])
        .ok();
    (sprint, [form, reset, cookie])
}

#[test]
fn a_new_session_is_told_the_plan_in_order() {
    let mut env = TestEnv::new();
    env.set("ORCHESTRON_NOW", "2026-01-03T09:00:00Z");
    let (sprint, [form, reset, cookie]) = planned(&env);
    write_config(&env, &json!({"agent": {"id": "backend-bot"}}));
    let context = start(&env, ID, "startup");
    let lines: Vec<&str> = context.lines().collect();
    let expected = [
        format!(
            "Orchestron session {ID}, mode development (startup), working as agent backend-bot."
        ),
        format!(
            "Plan: sprint Sprint 1 ({sprint}): 1 of 2 items done, 2.0 of 5.0 h, 10 days left. \
             Goal: Ship login."
        ),
        format!("Ready: 2 items; first {form} Login form; {cookie} Session cookie."),
        format!(
            "Clarification on {cookie} (Session cookie), assigned to you: Cookies must be \
             HttpOnly"
        ),
    ];
    assert_eq!(lines.len(), 6, "{context}");
    assert_eq!(lines[..4], expected, "{context}");
    assert_eq!(
        lines[5], "Take the next item: `orchestron task next --claim`.",
        "{context}"
    );
    assert!(
        lines[4].starts_with("Latest decisions: DEC-")
            && lines[4].contains(" Tokens live in cookies; DEC-")
            && lines[4].ends_with(" Use PostgreSQL."),
        "newest first: {context}"
    );
    assert!(!context.contains(&reset), "a done item is not ready");
    // Shown, not marked seen: the next session without an item is told it again.
    assert!(start(&env, OTHER, "startup").contains("Cookies must be HttpOnly"));
    // Without `agent.id`, the item is someone else's: its clarification is not this one's.
    write_config(&env, &json!({}));
    assert!(!start(&env, OTHER, "resume").contains("HttpOnly"));
}

#[test]
fn a_session_with_an_item_is_told_its_item_not_the_plan() {
    let env = TestEnv::new();
    let (_, [form, ..]) = planned(&env);
    start(&env, ID, "startup");
    let mut claiming = TestEnv::new();
    claiming.set("ORCHESTRON_HOME", env.home().to_str().unwrap());
    claiming.set("ORCHESTRON_SESSION", ID);
    let claimed = claiming.run(&["task", "next", "--claim", "--json"]).json();
    let claimed = claimed["id"].as_str().unwrap();
    assert_eq!(claimed, form, "the HIGH one is done, the LOW one waits");
    let context = start(&env, ID, "resume");
    assert!(
        context.contains(&format!("Current task {claimed} (IN_PROGRESS")),
        "{context}"
    );
    assert!(!context.contains("Plan: "), "{context}");
    assert!(!context.contains("task next --claim"), "{context}");
}

#[test]
fn a_huge_plan_keeps_to_its_share_of_the_budget() {
    let env = TestEnv::new();
    let long = "word ".repeat(2_000);
    env.run(&["sprint", "create", &long, "--goal", &long]).ok();
    let sprint = env.run(&["sprint", "list", "--json"]).json()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for n in 0..12 {
        let id = id_of(&env.run(&[
            "task",
            "create",
            &format!("{n} {long}"),
            "--assignee",
            ID,
            "--json",
        ]));
        env.run(&["task", "clarify", &id, &long]).ok();
        env.run(&["decide", &format!("Decision {n} {long}")]).ok();
        env.run(&["sprint", "add", &sprint, &id]).ok();
    }
    env.run(&["sprint", "start", &sprint]).ok();
    for chars in [None, Some(300), Some(10_000)] {
        let budget = chars.unwrap_or(2_000);
        write_config(&env, &json!({"hooks": {"context_chars": chars}}));
        let context = start(&env, ID, "startup");
        assert!(
            context.chars().count() <= budget,
            "{} > {budget}",
            context.chars().count()
        );
        let plan: Vec<&str> = context.lines().skip(1).collect();
        let size: usize = plan.iter().map(|line| line.chars().count() + 1).sum();
        assert!(size <= budget / 2 + 1, "the plan took {size} of {budget}");
        assert_eq!(
            plan.last().copied(),
            Some("Take the next item: `orchestron task next --claim`."),
            "{context}"
        );
        assert!(plan[0].starts_with("Plan: sprint word word"), "{context}");
        if budget == 10_000 {
            // Each part is cut to fit, so every part is there with room to spare.
            for part in [
                "Ready: 12 items; first ",
                "Clarification on ",
                "More clarifications and feedback wait",
                "Latest decisions: ",
            ] {
                assert!(context.contains(part), "{part}: {context}");
            }
            assert_eq!(context.matches("assigned to you").count(), 5, "{context}");
        }
    }
}

#[test]
fn a_project_without_a_tracker_hears_no_plan_and_gets_none() {
    let env = TestEnv::new();
    let context = start(&env, ID, "startup");
    assert_eq!(
        context,
        format!("Orchestron session {ID}, mode development (startup).")
    );
    assert!(!env.home().join("orchestron.db").exists());
}

#[test]
fn a_tool_call_delivers_each_unread_message_once() {
    let env = TestEnv::new();
    start(&env, ID, "startup");
    assert_eq!(tool_call(&env, ID, "PostToolUse"), None);
    env.run(&["inbox", "add", "--session", ID, "use PostgreSQL, not MySQL"])
        .ok();
    env.run(&["inbox", "add", "--session", ID, "and keep it small"])
        .ok();
    assert_eq!(
        tool_call(&env, ID, "PostToolUse").as_deref(),
        Some(
            "Message from the user, left in the Orchestron inbox: use PostgreSQL, not MySQL\n\
             Message from the user, left in the Orchestron inbox: and keep it small"
        )
    );
    assert_eq!(tool_call(&env, ID, "PostToolUse"), None, "once");
    // A failed tool call delivers too; then the prompt has nothing left to deliver.
    env.run(&["inbox", "add", "--session", ID, "stop there"])
        .ok();
    let delivered = tool_call(&env, ID, "PostToolUseFailure").unwrap();
    assert!(delivered.ends_with("inbox: stop there"), "{delivered}");
    let prompt = hook(
        &env,
        "UserPromptSubmit",
        json!({"session_id": ID, "hook_event_name": "UserPromptSubmit", "prompt": "go on"}),
    );
    assert_eq!(prompt.ok(), "");
    let unread = env
        .run(&["inbox", "list", "--session", ID, "--unread", "--json"])
        .json();
    assert_eq!(unread, json!([]));
    // The tool call is still recorded with the delivery, in the same transaction.
    let document = env.document(ID);
    assert_eq!(document["observability"]["metrics"]["tool_calls"], 4);
}

#[test]
fn a_comment_on_the_working_item_reaches_the_session_at_its_next_tool_call_once() {
    let mut env = TestEnv::new();
    start(&env, ID, "startup");
    let item = id_of(&env.run(&["task", "create", "Login form", "--json"]));
    env.set("ORCHESTRON_SESSION", ID);
    env.run(&["task", "next", "--claim"]).ok();
    env.unset("ORCHESTRON_SESSION");
    env.run(&["task", "clarify", &item, "Use the blue theme"])
        .ok();
    env.run(&["task", "feedback", &item, "Mind the tab order"])
        .ok();
    assert_eq!(
        tool_call(&env, ID, "PostToolUse").as_deref(),
        Some(
            format!(
                "Orchestron tracker: Clarification on {item} (Login form), the item you work on: \
                 Use the blue theme\n\
                 Orchestron tracker: Feedback on {item} (Login form), the item you work on: \
                 Mind the tab order"
            )
            .as_str()
        )
    );
    assert_eq!(tool_call(&env, ID, "PostToolUse"), None);
    // Delivered means seen: the session's next start does not repeat them.
    let context = start(&env, ID, "resume");
    assert!(
        context.contains(&format!("Current task {item}")),
        "{context}"
    );
    assert!(!context.contains("blue theme"), "{context}");
    // The comments themselves are kept.
    let comments = env.run(&["task", "clarifications", &item, "--json"]).json();
    assert_eq!(comments[0]["text"], "Use the blue theme");

    // A session that ended hears nothing now; its item's comment waits unseen, and the
    // session that resumes it is told at its start.
    hook(
        &env,
        "SessionEnd",
        json!({"session_id": ID, "hook_event_name": "SessionEnd", "reason": "other"}),
    )
    .ok();
    env.run(&["task", "clarify", &item, "Also dark mode"]).ok();
    assert_eq!(
        env.run(&["inbox", "list", "--session", ID, "--unread", "--json"])
            .json(),
        json!([])
    );
    let context = start(&env, ID, "resume");
    assert!(
        context.contains(&format!("Clarification on {item}: Also dark mode")),
        "{context}"
    );
}

#[test]
fn a_comment_on_an_item_of_a_missing_session_creates_nothing() {
    let env = TestEnv::new();
    let item = id_of(&env.run(&["task", "create", "Login form", "--json"]));
    let mut claiming = TestEnv::new();
    claiming.set("ORCHESTRON_HOME", env.home().to_str().unwrap());
    claiming.set("ORCHESTRON_SESSION", ID);
    claiming.run(&["task", "next", "--claim"]).ok();
    env.run(&["task", "clarify", &item, "Use the blue theme"])
        .ok();
    assert!(!env.sessions().exists(), "no session folder, no lock file");
}

fn notify(env: &TestEnv, kind: Option<&str>, message: &str) {
    let mut payload = json!({"session_id": ID, "hook_event_name": "Notification",
        "message": message, "title": "Claude Code"});
    if let Some(kind) = kind {
        payload["notification_type"] = json!(kind);
    }
    assert_eq!(hook(env, "Notification", payload).ok(), "", "no reply");
}

fn status_line(env: &TestEnv) -> String {
    env.run_with_stdin(&["statusline"], &json!({"session_id": ID}).to_string())
        .ok()
        .trim_end()
        .to_owned()
}

#[test]
fn a_notification_records_that_the_session_waits_until_its_next_tool_call() {
    let mut env = TestEnv::new();
    env.set("ORCHESTRON_NOW", "2026-01-01T10:00:00Z");
    start(&env, ID, "startup");
    env.set("ORCHESTRON_NOW", "2026-01-01T10:01:00Z");
    notify(
        &env,
        Some("permission_prompt"),
        "Claude needs your permission to use Bash",
    );
    assert_eq!(
        env.document(ID)["session"]["waiting"],
        json!({"since": "2026-01-01T10:01:00Z", "reason": "permission",
            "message": "Claude needs your permission to use Bash"})
    );
    env.set("ORCHESTRON_NOW", "2026-01-01T10:04:00Z");
    assert_eq!(
        status_line(&env),
        "orchestron: development | WAITING for permission 3m | up 4m"
    );
    let monitor = env.run(&["monitor", "--json"]).json();
    assert_eq!(monitor["metrics"]["sessions_waiting"], 1);
    assert_eq!(
        monitor["sessions"][0]["waiting"],
        json!({"since": "2026-01-01T10:01:00Z", "reason": "permission",
            "message": "Claude needs your permission to use Bash", "seconds": 180})
    );
    let text = env.run(&["monitor"]).ok().to_owned();
    assert!(
        text.contains("1 live sessions (1 waiting for a person)")
            && text.contains("· active · WAITING for permission 3m · up 4m ·"),
        "{text}"
    );
    let summary = env.run(&["summary", "--json"]).json();
    assert_eq!(summary["sessions"][0]["waiting"]["reason"], "permission");
    assert!(
        env.run(&["summary"])
            .ok()
            .contains("WAITING for permission 3m"),
        "summary"
    );
    // The tool call the person allowed ends the wait.
    tool_call(&env, ID, "PostToolUse");
    assert_eq!(env.document(ID)["session"].get("waiting"), None);
    assert_eq!(status_line(&env), "orchestron: development | up 4m");

    // Idle, told twice: the wait began at the first; a prompt ends it.
    notify(
        &env,
        Some("idle_prompt"),
        "Claude is waiting for your input",
    );
    env.set("ORCHESTRON_NOW", "2026-01-01T10:05:00Z");
    notify(
        &env,
        Some("idle_prompt"),
        "Claude is waiting for your input",
    );
    assert_eq!(
        env.document(ID)["session"]["waiting"]["since"],
        "2026-01-01T10:04:00Z"
    );
    assert!(status_line(&env).contains("WAITING for input (idle) 1m"));
    let prompt = json!({"session_id": ID, "hook_event_name": "UserPromptSubmit", "prompt": "go"});
    hook(&env, "UserPromptSubmit", prompt).ok();
    assert_eq!(env.document(ID)["session"].get("waiting"), None);

    // An MCP question waits for input; its answer ends the wait; `auth_success` is news, not
    // a wait; without a type (older versions) the message tells.
    notify(
        &env,
        Some("elicitation_dialog"),
        "The server asks for a token",
    );
    assert_eq!(env.document(ID)["session"]["waiting"]["reason"], "input");
    notify(&env, Some("auth_success"), "Signed in");
    assert_eq!(env.document(ID)["session"]["waiting"]["reason"], "input");
    notify(&env, Some("elicitation_response"), "Answered");
    assert_eq!(env.document(ID)["session"].get("waiting"), None);
    notify(&env, None, "Claude needs your permission to use Write");
    assert_eq!(
        env.document(ID)["session"]["waiting"]["reason"],
        "permission"
    );
    // Stop ends it too (the turn is over), and a Notification leaves an event.
    let stop = json!({"session_id": ID, "hook_event_name": "Stop", "stop_hook_active": false});
    hook(&env, "Stop", stop).ok();
    assert_eq!(env.document(ID)["session"].get("waiting"), None);
    let document = env.document(ID);
    assert_eq!(document["observability"]["event_counts"]["waiting"], 5);
}

#[test]
fn a_notification_message_is_kept_within_its_cap_and_an_ended_session_waits_for_nobody() {
    let env = TestEnv::new();
    start(&env, ID, "startup");
    notify(&env, Some("permission_prompt"), &"x".repeat(100_000));
    let message = env.document(ID)["session"]["waiting"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(message.chars().count(), 501, "500 and the mark");
    assert!(message.ends_with('…'));
    hook(
        &env,
        "SessionEnd",
        json!({"session_id": ID, "hook_event_name": "SessionEnd", "reason": "other"}),
    )
    .ok();
    let monitor = env.run(&["monitor", "--json"]).json();
    assert_eq!(monitor["sessions"][0]["waiting"], Value::Null);
    assert_eq!(monitor["metrics"]["sessions_waiting"], 0);
    assert!(!status_line(&env).contains("WAITING"));
    // A notification after the end is not kept: the document says it waits for nobody.
    notify(
        &env,
        Some("idle_prompt"),
        "Claude is waiting for your input",
    );
    assert_eq!(env.document(ID)["session"].get("waiting"), None);
}

#[test]
fn ended_sessions_show_how_long_they_ran_not_an_age() {
    let mut env = TestEnv::new();
    env.set("ORCHESTRON_NOW", "2026-01-01T10:00:00Z");
    start(&env, ID, "startup");
    env.set("ORCHESTRON_NOW", "2026-01-01T10:00:02Z");
    hook(
        &env,
        "SessionEnd",
        json!({"session_id": ID, "hook_event_name": "SessionEnd", "reason": "other"}),
    )
    .ok();
    for now in [
        "2026-01-01T10:00:20Z",
        "2026-01-01T10:00:29Z",
        "2026-01-01T13:00:00Z",
    ] {
        env.set("ORCHESTRON_NOW", now);
        let monitor = env.run(&["monitor", "--json"]).json();
        let session = &monitor["sessions"][0];
        assert_eq!(session["status"], "completed", "{monitor}");
        assert_eq!(session["ran_seconds"], 2, "{now}");
        let text = env.run(&["monitor"]).ok().to_owned();
        assert!(text.contains("· completed · ran 2s ·"), "{now}: {text}");
        assert!(!text.contains(" up "), "{text}");
        assert_eq!(
            status_line(&env),
            "orchestron: development (completed) | ran 2s"
        );
    }
    // A live session still shows its age, growing.
    env.set("ORCHESTRON_NOW", "2026-01-01T13:00:00Z");
    start(&env, OTHER, "startup");
    env.set("ORCHESTRON_NOW", "2026-01-01T13:00:45Z");
    let monitor = env.run(&["monitor", "--json"]).json();
    let live = monitor["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|session| session["id"] == OTHER)
        .unwrap();
    assert_eq!(live["ran_seconds"], Value::Null);
    assert_eq!(live["age_seconds"], 45);
    assert!(env.run(&["monitor"]).ok().contains("· active · up 45s ·"));
}
