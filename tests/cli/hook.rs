//! `orchestron hook EVENT`: every real payload through the binary, hostile input that must
//! neither block Claude Code nor touch state, and parallel hooks that must lose nothing.

use serde_json::{Value, json};

use crate::TimedChild as _;
use crate::{Run, TestEnv};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/hook-payloads");

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{name}.json")).expect("a fixture")
}

/// A fixture with its `session_id` replaced.
fn payload(name: &str, session_id: &str) -> String {
    let mut value: Value = serde_json::from_str(&fixture(name)).unwrap();
    value["session_id"] = json!(session_id);
    value.to_string()
}

/// Start `orchestron hook EVENT` with `input` on stdin, without waiting for it.
fn spawn_hook(env: &TestEnv, event: &str, input: &str) -> std::process::Child {
    crate::spawn_with_stdin(env.command(&["hook", event]), input)
}

fn hook(env: &TestEnv, event: &str, input: &str) -> Run {
    env.run_with_stdin(&["hook", event], input)
}

#[test]
fn every_real_payload_runs_without_blocking() {
    let env = TestEnv::new();
    let mut seen = 0;
    for entry in std::fs::read_dir(FIXTURES).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with('_') || !name.ends_with(".json") {
            continue;
        }
        let input = std::fs::read_to_string(&path).unwrap();
        let value: Value = serde_json::from_str(&input).unwrap();
        let event = value["hook_event_name"].as_str().unwrap().to_owned();
        let run = hook(&env, &event, &input);
        assert_eq!(run.code, 0, "{name}\n{run}");
        // The reply each event gives with the default configuration: SessionStart injects
        // its context; nothing else has anything to say (no inbox, no guard matches, no
        // test gate).
        if event == "SessionStart" {
            let reply: Value = serde_json::from_str(&run.stdout).unwrap();
            assert_eq!(
                reply["hookSpecificOutput"]["hookEventName"], "SessionStart",
                "{name}"
            );
            let context = reply["hookSpecificOutput"]["additionalContext"]
                .as_str()
                .unwrap();
            assert!(
                context.starts_with("Orchestron session "),
                "{name}: {context}"
            );
        } else {
            assert_eq!(run.stdout, "", "{name}\n{run}");
        }
        if !run.stdout.is_empty() {
            let reply: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|err| {
                panic!("{name}: the reply is not one JSON object: {err}\n{run}")
            });
            assert!(reply.is_object(), "{name}\n{run}");
            assert_eq!(run.stdout.lines().count(), 1, "{name}\n{run}");
        }
        seen += 1;
    }
    assert!(seen >= 30, "only {seen} payloads");
}

#[test]
fn kebab_case_names_and_unknown_events() {
    let env = TestEnv::new();
    let run = hook(&env, "session-start", &payload("SessionStart", "s1"));
    let reply: Value = serde_json::from_str(run.ok()).unwrap();
    assert_eq!(reply["hookSpecificOutput"]["hookEventName"], "SessionStart");
    assert!(
        reply["hookSpecificOutput"]["additionalContext"]
            .as_str()
            .unwrap()
            .contains("Orchestron session s1, mode development (startup)"),
        "{reply}"
    );
    // An unknown event does nothing, whatever its input.
    let before = env.disk();
    let run = hook(&env, "PermissionRequest", "not even JSON");
    assert_eq!((run.code, run.stdout.as_str()), (0, ""), "{run}");
    assert_eq!(env.disk(), before);
}

#[test]
fn bad_input_fails_in_one_line_without_blocking_or_touching_state() {
    let env = TestEnv::new();
    hook(&env, "SessionStart", &payload("SessionStart", "s1")).ok();
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let huge_id = payload("PostToolUse", &"a".repeat(1_000_000));
    let cases: Vec<(&str, String)> = vec![
        ("PostToolUse", String::new()),
        ("PostToolUse", "   \n".to_owned()),
        ("PostToolUse", "{".to_owned()),
        ("PostToolUse", "[]".to_owned()),
        ("PostToolUse", "{}".to_owned()),
        ("PostToolUse", r#"{"session_id": 42}"#.to_owned()),
        ("PostToolUse", deep),
        ("PostToolUse", huge_id),
        ("PostToolUse", payload("PostToolUse", "../s1")),
        ("SessionStart", payload("SessionStart", "a/b")),
        ("PreToolUse", payload("PreToolUse", "")),
        ("SessionEnd", payload("SessionEnd", ".hidden")),
    ];
    for (event, input) in cases {
        let before = env.disk();
        let run = hook(&env, event, &input);
        let shown: String = input.chars().take(60).collect();
        assert_eq!(run.code, 1, "{event} {shown}\n{run}");
        assert_eq!(run.stdout, "", "{event} {shown}");
        assert_eq!(run.stderr.lines().count(), 1, "{event} {shown}\n{run}");
        assert!(run.stderr.starts_with("orchestron hook: "), "{run}");
        assert_eq!(env.disk(), before, "{event} {shown} changed files");
    }
    // Wrong types in fields it does not need are ignored, not fatal.
    let mut odd: Value = serde_json::from_str(&payload("PostToolUse", "s1")).unwrap();
    odd["tool_name"] = json!(["Bash"]);
    odd["tool_input"] = json!("rm -rf /");
    odd["extra"] = json!({"nested": [1, 2, 3]});
    hook(&env, "PostToolUse", &odd.to_string()).ok();
    // A malformed command line under `hook` is a failure, never clap's exit 2.
    for args in [
        &["hook"][..],
        &["hook", "--bogus", "PostToolUse"],
        &["hook", "a", "b"],
    ] {
        let run = env.run_with_stdin(args, "{}");
        assert_eq!(run.code, 1, "{args:?}\n{run}");
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}\n{run}");
    }
}

#[test]
fn session_start_creates_once_and_exports_the_session() {
    let mut env = TestEnv::new();
    let env_file = env.path().join("claude-env.sh");
    env.set("CLAUDE_ENV_FILE", &env_file.display().to_string());
    env.set("ORCHESTRON_MODE", "sprint");
    // SessionStart can fire twice at once: one session, one `session_created`.
    let children: Vec<_> = (0..2)
        .map(|_| spawn_hook(&env, "SessionStart", &payload("SessionStart", "twice")))
        .collect();
    for child in children {
        let output = child.timed_wait_with_output().unwrap();
        assert!(output.status.success(), "{output:?}");
    }
    let doc = env.document("twice");
    assert_eq!(doc["observability"]["event_counts"]["session_created"], 1);
    assert_eq!(doc["session"]["mode"], "sprint");
    assert_eq!(
        std::fs::read_to_string(&env_file).unwrap(),
        "export ORCHESTRON_SESSION=twice\n"
    );
    // A resumed session that had ended comes back, and keeps its history.
    hook(&env, "SessionEnd", &payload("SessionEnd", "twice")).ok();
    assert_eq!(
        env.document("twice")["session"]["lifecycle"]["status"],
        "completed"
    );
    hook(
        &env,
        "SessionStart",
        &payload("SessionStart.resume", "twice"),
    )
    .ok();
    let doc = env.document("twice");
    assert_eq!(doc["session"]["lifecycle"]["status"], "active");
    assert_eq!(doc["session"]["lifecycle"]["previous_status"], "completed");
    assert_eq!(doc["observability"]["event_counts"]["session_created"], 1);
}

#[test]
fn tool_calls_files_todos_and_tests_are_recorded() {
    let env = TestEnv::new();
    let id = "work";
    hook(&env, "SessionStart", &payload("SessionStart", id)).ok();
    hook(&env, "PostToolUse", &payload("PostToolUse.TodoWrite", id)).ok();
    let mut edit: Value = serde_json::from_str(&payload("PostToolUse", id)).unwrap();
    edit["tool_name"] = json!("Edit");
    edit["tool_input"] =
        json!({"file_path": "/p/src/lib.rs", "old_string": "a", "new_string": "b"});
    hook(&env, "PostToolUse", &edit.to_string()).ok();
    let mut failing: Value = serde_json::from_str(&payload("PostToolUseFailure", id)).unwrap();
    failing["tool_input"]["command"] = json!("cargo test --quiet");
    hook(&env, "PostToolUseFailure", &failing.to_string()).ok();
    let doc = env.document(id);
    assert_eq!(doc["execution"]["tests"]["last"]["passed"], false);
    let mut passing: Value = serde_json::from_str(&payload("PostToolUse", id)).unwrap();
    passing["tool_input"]["command"] = json!("cargo test --quiet");
    hook(&env, "PostToolUse", &passing.to_string()).ok();

    let doc = env.document(id);
    assert_eq!(doc["execution"]["todos"]["total"], 3);
    assert_eq!(doc["execution"]["todos"]["done"], 1);
    assert_eq!(doc["execution"]["todos"]["progress"], 33);
    assert_eq!(doc["execution"]["files"]["/p/src/lib.rs"]["edits"], 1);
    assert_eq!(doc["execution"]["tests"]["last"]["passed"], true);
    assert_eq!(doc["execution"]["tests"]["runs"], 2);
    assert_eq!(
        doc["observability"]["metrics"]["tools"]["Bash"],
        json!({"calls": 2, "failures": 1})
    );
    assert_eq!(doc["observability"]["metrics"]["tool_calls"], 4);
    assert_eq!(doc["observability"]["metrics"]["heartbeat_count"], 4);

    // The Task tools and their events keep one list.
    hook(&env, "PostToolUse", &payload("PostToolUse.TaskCreate", id)).ok();
    hook(&env, "TaskCompleted", &payload("TaskCompleted", id)).ok();
    let doc = env.document(id);
    assert_eq!(doc["execution"]["todos"]["source"], "Tasks");
    assert_eq!(doc["execution"]["todos"]["progress"], 100);
}

#[test]
fn a_paused_session_has_its_tool_calls_denied() {
    let env = TestEnv::new();
    hook(&env, "SessionStart", &payload("SessionStart", "p")).ok();
    assert_eq!(
        hook(&env, "PreToolUse", &payload("PreToolUse", "p")).ok(),
        ""
    );
    env.run(&["session", "pause", "p", "--reason", "waiting for review"])
        .ok();
    let run = hook(&env, "PreToolUse", &payload("PreToolUse", "p"));
    let reply: Value = serde_json::from_str(run.ok()).unwrap();
    assert_eq!(
        reply["hookSpecificOutput"]["permissionDecision"], "deny",
        "{reply}"
    );
    assert!(
        reply["hookSpecificOutput"]["permissionDecisionReason"]
            .as_str()
            .unwrap()
            .contains("waiting for review")
    );
    env.run(&["session", "resume", "p"]).ok();
    assert_eq!(
        hook(&env, "PreToolUse", &payload("PreToolUse", "p")).ok(),
        ""
    );
    // An unknown session is not refused, and not created by a PreToolUse.
    assert_eq!(
        hook(&env, "PreToolUse", &payload("PreToolUse", "new")).ok(),
        ""
    );
    assert!(!env.sessions().join("new.json").exists());
}

#[test]
fn twenty_parallel_post_tool_uses_count_exactly() {
    let env = TestEnv::new();
    hook(&env, "SessionStart", &payload("SessionStart", "busy")).ok();
    let input = payload("PostToolUse", "busy");
    let children: Vec<_> = (0..20)
        .map(|_| spawn_hook(&env, "PostToolUse", &input))
        .collect();
    for child in children {
        let output = child.timed_wait_with_output().unwrap();
        assert!(output.status.success(), "{output:?}");
    }
    let doc = env.document("busy");
    assert_eq!(doc["observability"]["metrics"]["tool_calls"], 20);
    assert_eq!(
        doc["observability"]["metrics"]["tools"]["Bash"]["calls"],
        20
    );
    assert_eq!(doc["observability"]["metrics"]["heartbeat_count"], 20);
}

fn write_config(env: &TestEnv, config: &Value) {
    std::fs::create_dir_all(env.home()).unwrap();
    std::fs::write(env.home().join("config.json"), config.to_string()).unwrap();
}

fn pre_tool_use(env: &TestEnv, tool: &str, input: Value) -> Value {
    let mut payload: Value = serde_json::from_str(&payload("PreToolUse", "g")).unwrap();
    payload["tool_name"] = json!(tool);
    payload["tool_input"] = input;
    let run = hook(env, "PreToolUse", &payload.to_string());
    let stdout = run.ok();
    if stdout.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(stdout).unwrap()
    }
}

#[test]
fn guard_rules_deny_or_ask_and_can_be_switched_off() {
    let env = TestEnv::new();
    let reply = pre_tool_use(&env, "Bash", json!({"command": "rm -rf /"}));
    assert_eq!(
        reply["hookSpecificOutput"]["permissionDecision"], "deny",
        "{reply}"
    );
    assert!(
        reply["hookSpecificOutput"]["permissionDecisionReason"]
            .as_str()
            .unwrap()
            .contains("rm-rf-root")
    );
    let reply = pre_tool_use(&env, "Write", json!({"file_path": "/p/.env"}));
    assert_eq!(reply["hookSpecificOutput"]["permissionDecision"], "deny");
    assert_eq!(
        pre_tool_use(&env, "Bash", json!({"command": "ls"})),
        Value::Null
    );
    assert!(!env.sessions().exists(), "guards read and write no state");

    write_config(
        &env,
        &json!({"hooks": {
            "disabled_guards": ["env-files"],
            "guards": [{"name": "no-force-push", "tool": "Bash", "pattern": "git push*--force*",
                        "decision": "ask", "reason": "force pushes need a human"}]}}),
    );
    assert_eq!(
        pre_tool_use(&env, "Write", json!({"file_path": "/p/.env"})),
        Value::Null
    );
    let reply = pre_tool_use(&env, "Bash", json!({"command": "git push --force"}));
    assert_eq!(reply["hookSpecificOutput"]["permissionDecision"], "ask");
    assert_eq!(reply["hookSpecificOutput"]["hookEventName"], "PreToolUse");

    // A broken configuration is an error (exit 1), never a block.
    write_config(
        &env,
        &json!({"hooks": {"guards": [{"tool": "Bash", "decision": "maybe"}]}}),
    );
    let run = hook(&env, "PreToolUse", &payload("PreToolUse", "g"));
    assert_eq!(run.code, 1, "{run}");
}

#[test]
fn stop_blocks_once_on_failing_tests_when_the_project_asks() {
    let env = TestEnv::new();
    let id = "gate";
    hook(&env, "SessionStart", &payload("SessionStart", id)).ok();
    let mut failing: Value = serde_json::from_str(&payload("PostToolUseFailure", id)).unwrap();
    failing["tool_input"]["command"] = json!("cargo test");
    hook(&env, "PostToolUseFailure", &failing.to_string()).ok();
    // Off by default.
    assert_eq!(hook(&env, "Stop", &payload("Stop", id)).ok(), "");

    write_config(&env, &json!({"hooks": {"test_before_stop": true}}));
    // Never when a Stop hook already made the agent continue.
    assert_eq!(
        hook(&env, "Stop", &payload("Stop.after-block", id)).ok(),
        ""
    );
    let reply: Value = serde_json::from_str(hook(&env, "Stop", &payload("Stop", id)).ok()).unwrap();
    assert_eq!(reply["decision"], "block", "{reply}");
    assert!(reply["reason"].as_str().unwrap().contains("cargo test"));
    // Once per failing run.
    assert_eq!(hook(&env, "Stop", &payload("Stop", id)).ok(), "");
    hook(&env, "PostToolUseFailure", &failing.to_string()).ok();
    let again = hook(&env, "Stop", &payload("Stop", id));
    assert!(
        again.ok().contains("block"),
        "a new failing run blocks again"
    );
}

#[test]
fn compaction_keeps_the_working_context() {
    let env = TestEnv::new();
    let id = "compact";
    hook(&env, "SessionStart", &payload("SessionStart", id)).ok();
    hook(&env, "PostToolUse", &payload("PostToolUse.TodoWrite", id)).ok();
    let mut edit: Value = serde_json::from_str(&payload("PostToolUse", id)).unwrap();
    edit["tool_name"] = json!("Write");
    edit["tool_input"] = json!({"file_path": "/p/src/parser.rs", "content": "x"});
    hook(&env, "PostToolUse", &edit.to_string()).ok();
    env.run(&["inbox", "add", "--session", id, "use PostgreSQL"])
        .ok();
    hook(&env, "UserPromptSubmit", &payload("UserPromptSubmit", id)).ok();
    hook(&env, "PreCompact", &payload("PreCompact", id)).ok();
    let snapshot = &env.document(id)["execution"]["snapshot"];
    assert_eq!(snapshot["files"], json!(["/p/src/parser.rs"]));
    let reply: Value =
        serde_json::from_str(hook(&env, "SessionStart", &payload("SessionStart.compact", id)).ok())
            .unwrap();
    let context = reply["hookSpecificOutput"]["additionalContext"]
        .as_str()
        .unwrap();
    assert!(context.contains("(compact)"), "{context}");
    assert!(
        context.contains("Open to-dos: Add tests; Update docs"),
        "{context}"
    );
    assert!(context.contains("/p/src/parser.rs"), "{context}");
    assert!(context.contains("inbox: use PostgreSQL"), "{context}");
}

#[test]
fn inbox_messages_reach_the_session_once() {
    let mut env = TestEnv::new();
    hook(&env, "SessionStart", &payload("SessionStart", "one")).ok();
    hook(&env, "SessionStart", &payload("SessionStart", "two")).ok();
    env.run(&["session", "end", "two"]).ok();
    // No current session and no --session: refused with a hint.
    let stderr = env.refuses(&["inbox", "add", "hello"], 1);
    assert!(stderr.contains("no current session"), "{stderr}");
    env.refuses(&["inbox", "add", "--session", "ghost", "hello"], 1);
    env.refuses(&["inbox", "add", "--session", "../x", "hello"], 1);
    env.run(&[
        "inbox",
        "add",
        "--session",
        "one",
        "use PostgreSQL, not MySQL",
    ])
    .ok();
    let all = env
        .run(&["inbox", "add", "--all", "--json", "tests first"])
        .json();
    assert_eq!(
        all,
        json!([{"session_id": "one", "id": 2}]),
        "ended sessions are not reached"
    );
    env.set("ORCHESTRON_SESSION", "one");
    let listed = env.run(&["inbox", "list", "--unread", "--json"]).json();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(env.run(&["inbox", "list"]).ok().contains("unread"));

    let run = hook(
        &env,
        "UserPromptSubmit",
        &payload("UserPromptSubmit", "one"),
    );
    let reply: Value = serde_json::from_str(run.ok()).unwrap();
    let context = reply["hookSpecificOutput"]["additionalContext"]
        .as_str()
        .unwrap();
    assert!(
        context.contains("use PostgreSQL, not MySQL") && context.contains("tests first"),
        "{context}"
    );
    assert_eq!(
        reply["hookSpecificOutput"]["hookEventName"],
        "UserPromptSubmit"
    );
    // Once.
    assert_eq!(
        hook(
            &env,
            "UserPromptSubmit",
            &payload("UserPromptSubmit", "one")
        )
        .ok(),
        ""
    );
    assert_eq!(
        env.run(&["inbox", "list", "--unread", "--json"]).json(),
        json!([])
    );
    // A message waiting at SessionStart is injected there, and not again at the prompt.
    env.run(&["inbox", "add", "--session", "one", "resume the parser"])
        .ok();
    let reply: Value = serde_json::from_str(
        hook(&env, "SessionStart", &payload("SessionStart.resume", "one")).ok(),
    )
    .unwrap();
    assert!(
        reply["hookSpecificOutput"]["additionalContext"]
            .as_str()
            .unwrap()
            .contains("resume the parser")
    );
    assert_eq!(
        hook(
            &env,
            "UserPromptSubmit",
            &payload("UserPromptSubmit", "one")
        )
        .ok(),
        ""
    );
}

#[test]
fn session_end_leaves_a_handoff_the_next_session_sees() {
    let env = TestEnv::new();
    hook(&env, "SessionStart", &payload("SessionStart", "first")).ok();
    hook(
        &env,
        "PostToolUse",
        &payload("PostToolUse.TodoWrite", "first"),
    )
    .ok();
    let mut edit: Value = serde_json::from_str(&payload("PostToolUse", "first")).unwrap();
    edit["tool_name"] = json!("Edit");
    edit["tool_input"] = json!({"file_path": "/p/src/parser.rs"});
    hook(&env, "PostToolUse", &edit.to_string()).ok();
    hook(&env, "SessionEnd", &payload("SessionEnd", "first")).ok();
    assert_eq!(
        env.document("first")["session"]["lifecycle"]["status"],
        "completed"
    );
    // The project's handoffs are one document named after it (the temp dir's name, without
    // its leading `.`); the session's is the newest.
    let (project, handoff) = env.project_handoff();
    assert_eq!(handoff["project"], project);
    assert_eq!(handoff["from_session"], "first");
    assert_eq!(handoff["next_steps"], json!(["Add tests", "Update docs"]));
    assert_eq!(handoff["done"], json!(["Write the parser"]));
    assert_eq!(handoff["files"], json!(["/p/src/parser.rs"]));

    let reply: Value =
        serde_json::from_str(hook(&env, "SessionStart", &payload("SessionStart", "second")).ok())
            .unwrap();
    let context = reply["hookSpecificOutput"]["additionalContext"]
        .as_str()
        .unwrap();
    assert!(context.contains("from session first"), "{context}");
    assert!(
        context.contains("Next steps: Add tests; Update docs."),
        "{context}"
    );
    // The session that left it does not see its own handoff when resumed.
    let reply: Value = serde_json::from_str(
        hook(
            &env,
            "SessionStart",
            &payload("SessionStart.resume", "first"),
        )
        .ok(),
    )
    .unwrap();
    let context = reply["hookSpecificOutput"]["additionalContext"]
        .as_str()
        .unwrap();
    assert!(!context.contains("from session first"), "{context}");
    assert!(!context.contains("Latest handoff"), "{context}");
    // A session that did nothing leaves no handoff, so it hides nothing.
    hook(&env, "SessionEnd", &payload("SessionEnd", "second")).ok();
    assert_eq!(env.project_handoffs().len(), 1);
    let reply: Value =
        serde_json::from_str(hook(&env, "SessionStart", &payload("SessionStart", "third")).ok())
            .unwrap();
    let context = reply["hookSpecificOutput"]["additionalContext"]
        .as_str()
        .unwrap();
    assert!(context.contains("from session first"), "{context}");
}

#[test]
fn context_and_statusline_show_the_session() {
    let mut env = TestEnv::new();
    let status_input = fixture("_statusLine-stdin");
    let id: Value = serde_json::from_str(&status_input).unwrap();
    let id = id["session_id"].as_str().unwrap().to_owned();
    assert_eq!(
        env.run_with_stdin(&["statusline"], &status_input).ok(),
        "orchestron: no session yet\n"
    );
    hook(&env, "SessionStart", &payload("SessionStart", &id)).ok();
    hook(&env, "PostToolUse", &payload("PostToolUse.TodoWrite", &id)).ok();
    env.run(&["inbox", "add", "--session", &id, "mind the cache"])
        .ok();
    env.set("ORCHESTRON_NOW", "2026-01-01T03:05:00Z");
    assert_eq!(
        env.run_with_stdin(&["statusline"], &status_input).ok(),
        "orchestron: development | up 3h05m | to-dos 1/3\n"
    );
    let json = env
        .run_with_stdin(&["statusline", "--json"], &status_input)
        .json();
    assert_eq!(
        json["line"],
        "orchestron: development | up 3h05m | to-dos 1/3"
    );
    env.run_with_stdin(&["statusline"], "nonsense").fails(1);

    // `context` previews what SessionStart would inject, without delivering the inbox.
    let text = env.run(&["context", &id]).ok().to_owned();
    assert!(
        text.starts_with(&format!("Orchestron session {id}, mode development.")),
        "{text}"
    );
    assert!(
        text.contains("mind the cache") && text.contains("Open to-dos"),
        "{text}"
    );
    env.set("ORCHESTRON_SESSION", &id);
    assert_eq!(
        env.run(&["context", "--json"]).json()["context"],
        text.trim_end()
    );
    assert_eq!(
        env.run(&["inbox", "list", "--unread", "--json"])
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    env.refuses(&["context", "ghost"], 1);
}

#[test]
fn odd_values_stored_by_hand_do_not_break_the_hooks() {
    let env = TestEnv::new();
    let id = "5e1d0b9a-1c2d-4e3f-8a9b-0c1d2e3f4a5b";
    hook(
        &env,
        "SessionStart",
        &json!({"session_id": id, "source": "startup"}).to_string(),
    )
    .ok();
    for (path, value) in [
        ("observability.metrics.tools.Edit", "7"),
        ("observability.metrics.tools.Bash", "[1]"),
        ("execution.files", "{\"/p/a.rs\": \"x\"}"),
        ("execution.agents", "{\"a1\": 3}"),
        (
            "execution.todos",
            "{\"source\": \"Tasks\", \"items\": \"x\"}",
        ),
        ("execution.tests.last", "\"x\""),
    ] {
        env.run(&["state", "set", id, path, value, "--json-value"])
            .ok();
    }
    let calls = [
        (
            "PostToolUse",
            json!({"tool_name": "Edit", "tool_input": {"file_path": "/p/a.rs"}}),
        ),
        (
            "PostToolUse",
            json!({"tool_name": "Bash", "tool_input": {"command": "cargo test"}}),
        ),
        (
            "PostToolUse",
            json!({"tool_name": "TaskCreate", "tool_input": {"subject": "x"},
            "tool_response": {"task": {"id": "1", "subject": "x"}}}),
        ),
        (
            "SubagentStart",
            json!({"agent_id": "a1", "agent_type": "Explore"}),
        ),
        (
            "SubagentStop",
            json!({"agent_id": "a1", "agent_type": "Explore"}),
        ),
        ("Stop", json!({})),
    ];
    for (event, mut payload) in calls {
        payload["session_id"] = json!(id);
        let run = hook(&env, event, &payload.to_string());
        assert_eq!(run.code, 0, "{event}: {run}");
    }
    let document = env.document(id);
    assert_eq!(
        document["observability"]["metrics"]["tools"]["Edit"]["calls"],
        1
    );
    assert_eq!(document["execution"]["files"]["/p/a.rs"]["edits"], 1);
    assert_eq!(document["execution"]["agents"]["a1"]["status"], "stopped");
}

#[test]
fn a_broken_configuration_keeps_the_shipped_guards_and_pause_outranks_ask() {
    let env = TestEnv::new();
    write_config(&env, &json!({"hooks": {"guards": [{"matcher": "Bash"}]}}));
    let mut call: Value = serde_json::from_str(&payload("PreToolUse", "g")).unwrap();
    call["tool_input"] = json!({"command": "rm -rf /"});
    let run = hook(&env, "PreToolUse", &call.to_string());
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("\"deny\""), "{run}");
    // Anything else reports the broken configuration, without blocking.
    call["tool_input"] = json!({"command": "ls"});
    let run = hook(&env, "PreToolUse", &call.to_string());
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("config.json"), "{run}");

    write_config(
        &env,
        &json!({"hooks": {"guards": [{"tool": "Bash", "pattern": "git push*", "decision": "ask",
            "reason": "pushes need a human"}]}}),
    );
    hook(&env, "SessionStart", &payload("SessionStart", "g")).ok();
    env.run(&["session", "pause", "g", "--reason", "lunch"])
        .ok();
    let reply = pre_tool_use(&env, "Bash", json!({"command": "git push"}));
    assert_eq!(
        reply["hookSpecificOutput"]["permissionDecision"], "deny",
        "{reply}"
    );
}

#[test]
fn the_stop_gate_skips_the_subagent_stop_of_a_compaction() {
    let env = TestEnv::new();
    write_config(&env, &json!({"hooks": {"test_before_stop": true}}));
    let id = "g";
    hook(&env, "SessionStart", &payload("SessionStart", id)).ok();
    let failure = json!({"session_id": id, "tool_name": "Bash",
        "tool_input": {"command": "cargo test"}, "error": "Exit code 101"});
    hook(&env, "PostToolUseFailure", &failure.to_string()).ok();
    let compaction = json!({"session_id": id, "agent_id": "c1", "agent_type": "",
        "stop_hook_active": false});
    assert_eq!(hook(&env, "SubagentStop", &compaction.to_string()).ok(), "");
    let stop = json!({"session_id": id, "stop_hook_active": false});
    let reply: Value = serde_json::from_str(hook(&env, "Stop", &stop.to_string()).ok()).unwrap();
    assert_eq!(reply["decision"], "block");
}

#[test]
fn the_payload_can_come_from_a_file() {
    let env = TestEnv::new();
    let file = env.path().join("payload.json");
    std::fs::write(&file, payload("SessionStart", "f1")).unwrap();
    let run = env.run(&["hook", "SessionStart", "--payload", file.to_str().unwrap()]);
    assert!(run.ok().contains("Orchestron session f1"), "{run}");
    let run = env.run(&["hook", "SessionStart", "--payload", "/nonexistent"]);
    assert_eq!(run.code, 1, "{run}");
    let status = env.path().join("status.json");
    std::fs::write(&status, r#"{"session_id": "f1"}"#).unwrap();
    let line = env
        .run(&["statusline", "--payload", status.to_str().unwrap()])
        .ok()
        .to_owned();
    assert!(line.starts_with("orchestron: development"), "{line}");
}
