//! Issue 14, review points: `workflow apply|show|clear` (YAML or JSON), the triggers
//! (progress, milestone, decision, tests-failing, sensitive-path) and their actions, each
//! firing once per crossing; `approve`, `intervene`, `pause`; and bad workflow files.

use serde_json::{Value, json};

use crate::TestEnv;

const SESSION: &str = "a0b0c0d0-0000-4000-8000-000000000001";

const WORKFLOW: &str = "\
name: checkpoint-review
triggers:
  - type: progress
    threshold: 50
    action: notify-human
  - type: milestone
    name: \"API Complete\"
    action: request-review
  - type: decision
    severity: high
    action: pause-for-approval
  - type: tests-failing
    count: 2
    action: pause-for-approval
  - type: sensitive-path
    paths: [\"**/auth/**\", \".env*\"]
    action: ask
";

fn hook(env: &TestEnv, event: &str, payload: &Value) -> Value {
    let run = env.run_with_stdin(&["hook", event], &payload.to_string());
    let out = run.ok().trim().to_owned();
    if out.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&out).unwrap()
    }
}

fn applied(env: &TestEnv) {
    let file = env.path().join("review-points.yaml");
    std::fs::write(&file, WORKFLOW).unwrap();
    let run = env.run(&["workflow", "apply", file.to_str().unwrap()]);
    assert!(run.ok().contains("5 review points in force"), "{run}");
}

fn create(env: &TestEnv, title: &str) -> String {
    env.run(&["task", "create", title, "--json"]).json()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn tool(env: &TestEnv, name: &str, input: Value) -> Value {
    hook(
        env,
        "PreToolUse",
        &json!({"session_id": SESSION, "tool_name": name, "tool_input": input}),
    )
}

#[test]
fn a_workflow_file_is_checked_and_shown_and_a_bad_one_changes_nothing() {
    let env = TestEnv::new();
    applied(&env);
    let shown = env.run(&["workflow", "show", "--json"]).json();
    assert_eq!(shown["name"], "checkpoint-review");
    assert_eq!(shown["triggers"].as_array().unwrap().len(), 5);
    assert_eq!(shown["triggers"][2]["type"], "decision");
    let text = env.run(&["workflow", "show"]);
    assert!(
        text.ok().contains("- progress reached 50%: notify-human"),
        "{text}"
    );
    for (bad, why) in [
        (
            "triggers:\n  - type: vibes\n    action: ask\n",
            "trigger 1: unknown type `vibes`",
        ),
        (
            "triggers:\n  - type: progress\n    threshold: 50\n    action: shout\n",
            "trigger 1: unknown action `shout`",
        ),
        (
            "{\"triggers\": [{\"type\": \"decision\", \"action\": \"pause-for-approval\"}]}",
            "`severity` must be",
        ),
        ("triggers: [", "neither JSON nor YAML"),
    ] {
        let file = env.path().join("bad.yaml");
        std::fs::write(&file, bad).unwrap();
        let err = env.refuses(&["workflow", "apply", file.to_str().unwrap()], 1);
        assert!(err.contains(why), "{bad}: {err}");
    }
    assert_eq!(env.run(&["workflow", "show", "--json"]).json(), shown);
    env.run(&["workflow", "clear"]).ok();
    assert_eq!(env.run(&["workflow", "show", "--json"]).json(), Value::Null);
}

#[test]
fn a_progress_point_fires_once_per_crossing_and_waits_to_be_acknowledged() {
    let env = TestEnv::new();
    applied(&env);
    let item = create(&env, "Build the cart");
    for percent in ["40", "60", "55", "70"] {
        env.run(&["task", "progress", &item, "--percent", percent])
            .ok();
    }
    let history = env.run(&["task", "history", &item, "--json"]).json();
    let fired = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["what"] == "review_point")
        .count();
    assert_eq!(fired, 1, "{history}");
    let attention = env.run(&["attention", "--json"]).json();
    assert_eq!(attention[0]["kind"], "notice", "{attention}");
    assert_eq!(
        attention[0]["command"],
        format!("orchestron approve {item}")
    );
    env.run(&["approve", &item]).ok();
    assert_eq!(env.run(&["attention", "--json"]).json(), json!([]));
}

#[test]
fn a_high_decision_pauses_its_session_until_a_person_approves_it() {
    let mut env = TestEnv::new();
    applied(&env);
    hook(
        &env,
        "SessionStart",
        &json!({"session_id": SESSION, "source": "startup"}),
    );
    env.set("ORCHESTRON_SESSION", SESSION);
    // A low one goes by.
    env.run(&["decide", "Name the table carts", "--severity", "low"])
        .ok();
    assert_eq!(
        tool(
            &env,
            "Write",
            json!({"file_path": "/tmp/x", "content": "x"})
        ),
        Value::Null
    );
    let decided = env.run(&["decide", "Drop the old API", "--severity", "high", "--json"]);
    let decision = decided.json()["id"].as_str().unwrap().to_owned();
    // Writes are refused with what waits and the command; reads go on.
    let denied = tool(
        &env,
        "Write",
        json!({"file_path": "/tmp/x", "content": "x"}),
    );
    let output = &denied["hookSpecificOutput"];
    assert_eq!(output["permissionDecision"], "deny", "{denied}");
    let reason = output["permissionDecisionReason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("{decision} waits for a person"))
            && reason.contains("Drop the old API")
            && reason.contains(&format!("`orchestron approve {decision}`")),
        "{reason}"
    );
    assert_eq!(
        tool(&env, "Bash", json!({"command": "touch x"}))["hookSpecificOutput"]["permissionDecision"],
        "deny"
    );
    assert_eq!(
        tool(&env, "Read", json!({"file_path": "/tmp/x"})),
        Value::Null
    );
    // The MCP server's writing tools too, by either name; its reads and ask_human go on.
    for name in [
        "mcp__orchestron__task_update",
        "mcp__plugin_orchestron_orchestron__task_create",
        "mcp__orchestron__state",
    ] {
        assert_eq!(
            tool(&env, name, json!({"id": "X", "status": "DONE"}))["hookSpecificOutput"]["permissionDecision"],
            "deny",
            "{name}"
        );
    }
    for name in ["mcp__orchestron__task_get", "mcp__orchestron__ask_human"] {
        assert_eq!(tool(&env, name, json!({"id": "X"})), Value::Null, "{name}");
    }
    // The MCP server refuses them itself, whatever name a client knows it by; `state` never
    // touches the session's own part, so it cannot lift the hold.
    let lines = [
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {}}),
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
               "params": {"name": "task_create", "arguments": {"title": "Sneak"}}}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
               "params": {"name": "task_list", "arguments": {}}}),
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
               "params": {"name": "state", "arguments": {"path": "notes.x", "value": 1}}}),
    ]
    .map(|line| line.to_string())
    .join("\n");
    let served = env.run_with_stdin(&["mcp"], &(lines + "\n"));
    let replies: Vec<Value> = served
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    for refused in [&replies[1], &replies[3]] {
        assert_eq!(refused["result"]["isError"], true, "{refused}");
        assert!(
            refused["result"]["content"][0]["text"]
                .as_str()
                .unwrap()
                .contains("paused for approval"),
            "{refused}"
        );
    }
    assert_eq!(replies[2]["result"]["isError"], false, "{}", replies[2]);
    let attention = env.run(&["attention", "--json"]).json();
    assert_eq!(attention[0]["kind"], "paused", "{attention}");
    assert_eq!(
        attention[0]["command"],
        format!("orchestron approve {decision}")
    );
    // Approved: the session resumes, told with the feedback; the decision records it.
    env.unset("ORCHESTRON_SESSION");
    let approved = env
        .run(&[
            "approve",
            &decision,
            "--with-feedback",
            "keep a shim for a release",
            "--json",
        ])
        .json();
    assert_eq!(approved["resumed"], json!([SESSION]), "{approved}");
    assert!(approved["decision"]["approved_at"].is_string());
    assert_eq!(
        approved["decision"]["approval_feedback"],
        "keep a shim for a release"
    );
    assert_eq!(
        tool(
            &env,
            "Write",
            json!({"file_path": "/tmp/x", "content": "x"})
        ),
        Value::Null
    );
    let inbox = env
        .run(&["inbox", "list", "--session", SESSION, "--json"])
        .json();
    assert!(
        inbox.to_string().contains(&format!(
            "A person approved {decision}; your tools run again. Their feedback: keep a shim"
        )),
        "{inbox}"
    );
    // The export keeps the severity and the approval.
    let exported = env.run(&["export"]);
    assert!(
        exported.ok().contains("\"severity\":\"high\"")
            && exported
                .ok()
                .contains("\"approval_feedback\":\"keep a shim for a release\""),
        "{exported}"
    );
    // Nothing else waits on it.
    let err = env.refuses(&["approve", "DEC-nope"], 1);
    assert!(err.contains("nothing waits for approval"), "{err}");
}

#[test]
fn milestones_tests_and_sensitive_paths_stop_work_as_their_points_say() {
    let mut env = TestEnv::new();
    applied(&env);
    std::fs::write(
        env.home().join("config.json"),
        json!({"hooks": {"test_commands": ["pytest"]}}).to_string(),
    )
    .unwrap();
    hook(
        &env,
        "SessionStart",
        &json!({"session_id": SESSION, "source": "startup"}),
    );
    env.set("ORCHESTRON_SESSION", SESSION);
    // The milestone goes to review instead of on.
    let api = create(&env, "API Complete");
    env.run(&["task", "start", &api]).ok();
    let done = env.run(&["task", "complete", &api, "--json"]).json();
    assert_eq!(done["status"], "IN_REVIEW", "{done}");
    // A sensitive path asks, whoever edits it.
    std::fs::create_dir_all(env.path().join(".git")).unwrap();
    let asked = tool(
        &env,
        "Edit",
        json!({"file_path": env.path().join("src/auth/login.rs"), "old_string": "a", "new_string": "b"}),
    );
    assert_eq!(
        asked["hookSpecificOutput"]["permissionDecision"], "ask",
        "{asked}"
    );
    assert!(
        asked["hookSpecificOutput"]["permissionDecisionReason"]
            .as_str()
            .unwrap()
            .contains("`src/auth/login.rs` is a sensitive path"),
        "{asked}"
    );
    assert_eq!(
        tool(
            &env,
            "Edit",
            json!({"file_path": env.path().join("src/main.rs"), "old_string": "a", "new_string": "b"})
        ),
        Value::Null
    );
    // Two failing test runs in a row pause the session.
    let failing = json!({"session_id": SESSION, "tool_name": "Bash",
        "tool_input": {"command": "pytest -q"}, "error": "Exit code 1\n1 failed"});
    hook(&env, "PostToolUseFailure", &failing);
    assert_eq!(
        tool(
            &env,
            "Write",
            json!({"file_path": "/tmp/y", "content": "y"})
        ),
        Value::Null
    );
    hook(&env, "PostToolUseFailure", &failing);
    let denied = tool(
        &env,
        "Write",
        json!({"file_path": "/tmp/y", "content": "y"}),
    );
    assert_eq!(
        denied["hookSpecificOutput"]["permissionDecision"], "deny",
        "{denied}"
    );
    assert!(
        denied.to_string().contains("2 failing test runs in a row"),
        "{denied}"
    );
}

#[test]
fn a_person_intervenes_and_pauses_the_session_holding_an_item() {
    let mut env = TestEnv::new();
    hook(
        &env,
        "SessionStart",
        &json!({"session_id": SESSION, "source": "startup"}),
    );
    let item = create(&env, "Build the cart");
    env.set("ORCHESTRON_SESSION", SESSION);
    env.run(&["task", "start", &item]).ok();
    env.unset("ORCHESTRON_SESSION");
    let run = env.run(&["intervene", &item, "--message", "use the new price API"]);
    assert!(
        run.ok().contains(&format!("session {SESSION} is told")),
        "{run}"
    );
    let inbox = env
        .run(&["inbox", "list", "--session", SESSION, "--json"])
        .json();
    assert!(
        inbox.to_string().contains("A person intervenes on"),
        "{inbox}"
    );
    let clarified = env.run(&["task", "clarifications", &item]);
    assert!(
        clarified.ok().contains("use the new price API"),
        "{clarified}"
    );
    env.run(&["pause", &item, "--reason", "hold on, the design changed"])
        .ok();
    let denied = tool(
        &env,
        "Edit",
        json!({"file_path": "/tmp/z", "old_string": "a", "new_string": "b"}),
    );
    assert!(
        denied.to_string().contains("hold on, the design changed")
            && denied
                .to_string()
                .contains(&format!("orchestron approve {item}")),
        "{denied}"
    );
    env.run(&["approve", &item]).ok();
    assert_eq!(
        tool(
            &env,
            "Edit",
            json!({"file_path": "/tmp/z", "old_string": "a", "new_string": "b"})
        ),
        Value::Null
    );
    let err = env.refuses(&["pause", &create(&env, "Nobody's"), "--reason", "x"], 1);
    assert!(err.contains("no session holds"), "{err}");
}

#[test]
fn a_sensitive_path_that_pauses_is_approved_once_for_the_session() {
    let env = TestEnv::new();
    let file = env.path().join("points.json");
    std::fs::write(
        &file,
        r#"{"triggers": [{"type": "sensitive-path", "paths": ["conf"], "action": "pause-for-approval"}]}"#,
    )
    .unwrap();
    env.run(&["workflow", "apply", file.to_str().unwrap()]).ok();
    std::fs::create_dir_all(env.path().join(".git")).unwrap();
    let edit = || {
        tool(
            &env,
            "Edit",
            json!({"file_path": env.path().join("conf/db.yml"), "old_string": "a", "new_string": "b"}),
        )
    };
    // A session with no document yet is refused all the same (never fails open).
    let denied = edit();
    assert_eq!(
        denied["hookSpecificOutput"]["permissionDecision"], "deny",
        "{denied}"
    );
    hook(
        &env,
        "SessionStart",
        &json!({"session_id": SESSION, "source": "startup"}),
    );
    let denied = edit();
    let reason = denied["hookSpecificOutput"]["permissionDecisionReason"]
        .as_str()
        .unwrap();
    assert!(
        reason.contains("`orchestron approve :/conf/db.yml`") && !reason.contains("  "),
        "{reason}"
    );
    env.run(&["approve", ":/conf/db.yml"]).ok();
    // Approved: the session edits that file from now on.
    assert_eq!(edit(), Value::Null);
    assert_eq!(edit(), Value::Null);
}
