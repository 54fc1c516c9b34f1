//! The views the slash commands and styles render (`board`, `summary`, `monitor`), `mode`,
//! `handoff`, `slash`, and the output style SessionStart injects for a session's mode.

use serde_json::{Value, json};

use crate::TestEnv;

const SESSION: &str = "5e1d0b9a-1c2d-4e3f-8a9b-0c1d2e3f4a5b";

fn id(env: &TestEnv, args: &[&str]) -> String {
    env.run(args).ok().trim().to_owned()
}

/// A sprint with an item in progress, a blocked one, one waiting on another and one done,
/// plus a session working on the first. Returns (sprint, [doing, blocked, waiting, done]).
fn sprint_plan(env: &TestEnv) -> (String, Vec<String>) {
    env.run(&["session", "create", "--id", SESSION, "--mode", "sprint"])
        .ok();
    let doing = id(
        env,
        &[
            "task",
            "create",
            "Login form",
            "--priority",
            "HIGH",
            "--estimate",
            "3",
        ],
    );
    let blocked = id(env, &["task", "create", "Tokens", "--estimate", "5"]);
    let waiting = id(env, &["task", "create", "Logout", "--estimate", "2"]);
    let done = id(env, &["task", "create", "Sketch", "--estimate", "1"]);
    env.run(&["task", "depend", &waiting, "--on", &doing]).ok();
    let sprint = id(
        env,
        &[
            "sprint",
            "create",
            "Sprint 1",
            "--goal",
            "Auth",
            "--duration",
            "10",
        ],
    );
    env.run(&["sprint", "add", &sprint, &doing, &blocked, &waiting, &done])
        .ok();
    env.run(&["sprint", "start", &sprint]).ok();
    env.run(&["task", "start", &doing]).ok();
    env.run(&[
        "task", "update", &blocked, "--status", "BLOCKED", "--reason", "infra",
    ])
    .ok();
    env.run(&["task", "start", &done]).ok();
    env.run(&["task", "complete", &done]).ok();
    (sprint, vec![doing, blocked, waiting, done])
}

fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Run SessionStart for `id` and return the context it injects.
fn session_start(env: &TestEnv, id: &str, source: &str) -> String {
    let payload = json!({"session_id": id, "hook_event_name": "SessionStart", "source": source});
    let reply = env
        .run_with_stdin(&["hook", "SessionStart"], &payload.to_string())
        .json();
    reply["hookSpecificOutput"]["additionalContext"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn column<'a>(board: &'a Value, status: &str) -> &'a Value {
    board["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|column| column["status"] == status)
        .unwrap_or_else(|| panic!("no {status} column: {board:#}"))
}

#[test]
fn the_board_shows_the_active_sprint_by_status_with_limits_and_blockers() {
    let mut env = TestEnv::new();
    env.set("ORCHESTRON_SESSION", SESSION);
    let (sprint, ids) = sprint_plan(&env);
    let board = env.run(&["board", "--json"]).json();
    assert_eq!(board["sprint"]["id"], sprint);
    assert_eq!(board["schema_version"], 1);
    let doing = column(&board, "IN_PROGRESS");
    assert_eq!(doing["count"], 1);
    assert_eq!(doing["wip_limit"], 4);
    assert_eq!(doing["over_limit"], false);
    assert_eq!(doing["items"][0]["id"], ids[0]);
    assert_eq!(doing["items"][0]["assignee"], Value::Null);
    assert_eq!(
        column(&board, "BLOCKED")["items"][0]["blocked_reason"],
        "infra"
    );
    assert_eq!(column(&board, "DONE")["count"], 1);
    assert_eq!(
        column(&board, "TODO")["items"][0]["waiting_on"][0],
        format!("{} (IN_PROGRESS)", ids[0])
    );
    let blockers: Vec<&str> = board["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert!(blockers.contains(&ids[1].as_str()) && blockers.contains(&ids[2].as_str()));
    assert_eq!(board["burndown"]["total"], 11.0);
    assert_eq!(board["burndown"]["remaining"], 10.0);
    assert_eq!(board["burndown"]["days"], 10);
    assert!(
        board["columns"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] != "BACKLOG"),
        "an empty backlog stays off the board"
    );

    // The same board as markdown and as text.
    let markdown = env.run(&["board", "--format", "markdown"]).ok().to_owned();
    assert!(markdown.starts_with("## Board: Sprint 1"), "{markdown}");
    assert!(markdown.contains("### IN_PROGRESS (1/4)"), "{markdown}");
    assert!(
        markdown.contains(&format!("- **{}** Login form · HIGH", ids[0])),
        "{markdown}"
    );
    assert!(markdown.contains("### Blockers"), "{markdown}");
    let text = env.run(&["board"]).ok().to_owned();
    assert!(
        text.contains("IN_PROGRESS (1/4)") && !text.contains("###"),
        "{text}"
    );

    // A WIP limit from the configuration, exceeded.
    std::fs::write(
        env.home().join("config.json"),
        r#"{"board": {"wip": {"IN_PROGRESS": 0, "DONE": null, "BLOCKED": 1, "TODO": 0}}}"#,
    )
    .unwrap();
    env.run(&["task", "update", &ids[2], "--status", "BLOCKED", "--force"])
        .ok();
    let board = env.run(&["board", "--json"]).json();
    assert_eq!(column(&board, "IN_PROGRESS")["wip_limit"], Value::Null);
    assert_eq!(column(&board, "BLOCKED")["over_limit"], true);
    let text = env.run(&["board"]).ok().to_owned();
    assert!(text.contains("BLOCKED (2/1) over the WIP limit"), "{text}");
    std::fs::write(
        env.home().join("config.json"),
        r#"{"board": {"wip": {"DOING": 3}}}"#,
    )
    .unwrap();
    env.run(&["board"]).fails(1);
    std::fs::remove_file(env.home().join("config.json")).unwrap();

    // Another sprint by id; an unknown one is an error.
    let other = id(&env, &["sprint", "create", "Sprint 2"]);
    let board = env.run(&["board", "--sprint", &other, "--json"]).json();
    assert_eq!(board["sprint"]["id"], other);
    assert_eq!(
        board["burndown"],
        Value::Null,
        "a planned sprint has no burndown yet"
    );
    assert!(
        env.run(&["board", "--sprint", "SPRINT-nope"])
            .fails(1)
            .contains("SPRINT-nope")
    );
    // --limit caps the cards, not the counts.
    env.run(&["task", "create", "More", "--status", "BACKLOG"])
        .ok();
    let board = env
        .run(&["board", "--sprint", &sprint, "--limit", "0", "--json"])
        .json();
    assert_eq!(column(&board, "IN_PROGRESS")["count"], 1);
    assert_eq!(column(&board, "IN_PROGRESS")["items"], json!([]));
    assert_eq!(
        board["blockers"].as_array().unwrap().len(),
        2,
        "blockers do not depend on the cards shown: {board:#}"
    );
}

#[test]
fn without_a_sprint_the_board_shows_all_open_work_but_epics() {
    let env = TestEnv::new();
    let empty = env.run(&["board", "--json"]).json();
    assert_eq!(empty["sprint"], Value::Null);
    assert!(
        !env.home().join("orchestron.db").exists(),
        "a view creates nothing"
    );
    let epic = id(&env, &["task", "create", "Epic", "--type", "EPIC"]);
    let task = id(&env, &["task", "create", "Task", "--parent", &epic]);
    id(&env, &["task", "create", "Parked", "--status", "BACKLOG"]);
    let board = env.run(&["board", "--json"]).json();
    assert_eq!(column(&board, "TODO")["count"], 1);
    assert_eq!(column(&board, "TODO")["items"][0]["id"], task);
    assert_eq!(column(&board, "BACKLOG")["count"], 1);
    let text = env.run(&["board"]).ok().to_owned();
    assert!(text.contains("all open work (no active sprint)"), "{text}");
}

#[test]
fn a_board_for_a_sprint_that_does_not_exist_is_not_found_and_creates_nothing() {
    let env = TestEnv::new();
    for args in [
        ["board", "--sprint", "nope", "--json"],
        ["board", "--sprint", "%", "--json"],
    ] {
        // A fresh project: no tracker, and none is made to look the sprint up.
        let stderr = env.refuses(&args, 1);
        let error: Value = serde_json::from_str(&stderr).unwrap();
        assert_eq!(error["error"]["kind"], "not_found", "{args:?}: {stderr}");
        assert!(!env.home().join("orchestron.db").exists());
    }
    id(&env, &["task", "create", "Task"]);
    let stderr = env.refuses(&["board", "--sprint", "nope", "--json"], 1);
    let error: Value = serde_json::from_str(&stderr).unwrap();
    assert_eq!(error["error"]["kind"], "not_found", "{stderr}");
}

#[test]
fn the_summary_puts_the_project_on_one_page() {
    let mut env = TestEnv::new();
    env.set("ORCHESTRON_SESSION", SESSION);
    let empty = env.run(&["summary", "--json"]).json();
    assert_eq!(empty["items"]["total"], 0);
    assert_eq!(empty["sessions"], json!([]));
    let (sprint, ids) = sprint_plan(&env);
    env.run(&["decide", "Use JWT", "--rationale", "stateless"])
        .ok();
    let ready = id(
        &env,
        &["task", "create", "Ready one", "--priority", "CRITICAL"],
    );
    let summary = env.run(&["summary", "--json"]).json();
    assert_eq!(summary["items"]["total"], 5);
    assert_eq!(summary["items"]["by_status"]["IN_PROGRESS"], 1);
    assert_eq!(summary["items"]["by_kind"]["TASK"], 5);
    assert_eq!(summary["sprint"]["id"], sprint);
    assert_eq!(summary["sprint"]["items"], 4);
    assert_eq!(summary["sprint"]["items_done"], 1);
    assert_eq!(summary["sprint"]["hours_done"], 1.0);
    assert_eq!(summary["current_session"], SESSION);
    assert_eq!(summary["sessions"][0]["id"], SESSION);
    assert_eq!(summary["sessions"][0]["task"]["id"], ids[0]);
    assert_eq!(summary["ready"][0]["id"], ready);
    assert_eq!(summary["decisions"][0]["title"], "Use JWT");
    assert_eq!(summary["blockers"].as_array().unwrap().len(), 2);
    let markdown = env
        .run(&["summary", "--format", "markdown"])
        .ok()
        .to_owned();
    for heading in [
        "### Sprint",
        "### Sessions",
        "### Blockers",
        "### Ready next",
        "### Latest decisions",
    ] {
        assert!(markdown.contains(heading), "{markdown}");
    }
}

#[test]
fn the_monitor_shows_sessions_their_agents_and_the_latest_activity() {
    let mut env = TestEnv::new();
    env.set("ORCHESTRON_SESSION", SESSION);
    let empty = env.run(&["monitor", "--json"]).json();
    assert_eq!(empty["metrics"]["sessions_live"], 0);
    sprint_plan(&env);
    let start = json!({"session_id": SESSION, "hook_event_name": "SubagentStart",
        "agent_id": "a1", "agent_type": "Explore"});
    env.run_with_stdin(&["hook", "SubagentStart"], &start.to_string())
        .ok();
    let monitor = env.run(&["monitor", "--json", "--limit", "5"]).json();
    assert_eq!(monitor["metrics"]["sessions_live"], 1);
    assert_eq!(monitor["metrics"]["agents_running"], 1);
    assert_eq!(monitor["metrics"]["items_in_progress"], 1);
    assert_eq!(monitor["metrics"]["items_done_today"], 1);
    assert_eq!(monitor["sessions"][0]["agents"][0]["type"], "Explore");
    assert_eq!(monitor["activity"].as_array().unwrap().len(), 5);
    assert!(
        monitor["activity"]
            .as_array()
            .unwrap()
            .iter()
            .all(|event| event["what"] != "heartbeat")
    );
    let text = env.run(&["monitor"]).ok().to_owned();
    assert!(text.contains("1 agents running"), "{text}");
}

#[test]
fn mode_switches_the_session_and_points_the_output_style_at_it() {
    let mut env = TestEnv::new();
    env.set("ORCHESTRON_SESSION", SESSION);
    env.run(&["session", "create", "--id", SESSION]).ok();
    let shown = env.run(&["mode", "--json"]).json();
    assert_eq!(shown["mode"], "development");
    assert_eq!(shown["style"], Value::Null);
    assert_eq!(shown["modes"].as_array().unwrap().len(), 4);

    let local = env.path().join(".claude/settings.local.json");
    std::fs::create_dir_all(local.parent().unwrap()).unwrap();
    std::fs::write(&local, "{\n  \"model\": \"opus\"\n}\n").unwrap();
    let run = env.run(&["mode", "sprint", "--json"]);
    assert!(run.stderr.contains("next session or after /clear"), "{run}");
    let switched = run.json();
    assert_eq!(switched["changed"], true);
    assert_eq!(switched["output_style"], "orchestron:sprint_execution");
    let settings: Value = read_json(&local);
    assert_eq!(
        settings,
        json!({"model": "opus", "outputStyle": "orchestron:sprint_execution",
            "env": {"ORCHESTRON_MODE": "sprint"}})
    );
    let info = env.run(&["session", "info", SESSION, "--json"]).json();
    assert_eq!(info["session"]["mode"], "sprint");
    assert_eq!(
        info["session"]["lifecycle"]["expiry"], "2026-01-08T00:00:00Z",
        "sprint sessions live a week"
    );
    assert_eq!(info["observability"]["event_counts"]["mode_changed"], 1);

    // With the styles installed in the project (`orchestron init`), the bare name.
    env.run(&["init"]).ok();
    env.run(&["mode", "leadership"]).ok();
    let settings: Value = read_json(&local);
    assert_eq!(settings["outputStyle"], "leadership_chat");
    // A mode without a style takes Orchestron's style away, and only Orchestron's.
    env.run(&["mode", "development"]).ok();
    let settings: Value = read_json(&local);
    assert_eq!(settings.get("outputStyle"), None);
    assert_eq!(settings["env"]["ORCHESTRON_MODE"], "development");

    // From a terminal, without a session: the mode new sessions start in.
    env.unset("ORCHESTRON_SESSION");
    let shown = env.run(&["mode", "--json"]).json();
    assert_eq!(shown["session"], Value::Null);
    assert_eq!(shown["mode"], "development");
    let run = env.run(&["mode", "config"]);
    assert!(
        run.ok().contains("new sessions here start in config mode"),
        "{run}"
    );
    let settings: Value = read_json(&local);
    assert_eq!(settings["outputStyle"], "config_manager");
    env.set("ORCHESTRON_MODE", "config");
    assert_eq!(env.run(&["mode", "--json"]).json()["mode"], "config");
    env.unset("ORCHESTRON_MODE");
    env.set("ORCHESTRON_SESSION", SESSION);

    // Bad input changes nothing.
    let before = env.disk();
    env.run(&["mode", "party"]).fails(2);
    env.run(&[
        "mode",
        "sprint",
        "--session",
        "00000000-0000-4000-8000-000000000000",
    ])
    .fails(1);
    assert_eq!(env.disk(), before);
    env.run(&["session", "end", SESSION]).ok();
    let before = env.disk();
    assert!(env.run(&["mode", "sprint"]).fails(1).contains("completed"));
    assert_eq!(
        env.disk(),
        before,
        "an ended session's mode stays, and so do the settings"
    );

    // Uninstall takes out what `mode` put in the local settings, and only that.
    env.run(&["uninstall"]).ok();
    let settings: Value = read_json(&local);
    assert_eq!(settings, json!({"model": "opus"}));
}

#[test]
fn session_start_injects_the_style_of_the_sessions_mode_unless_claude_code_applies_it() {
    let mut env = TestEnv::new();
    let start = |env: &TestEnv, id: &str| session_start(env, id, "startup");
    let context = start(&env, "11111111-1111-4111-8111-111111111111");
    assert!(
        !context.contains("Output style"),
        "development has none: {context}"
    );
    env.set("ORCHESTRON_MODE", "sprint");
    let context = start(&env, "22222222-2222-4222-8222-222222222222");
    assert!(
        context
            .contains("Output style for sprint mode: sprint_execution. Follow it in this session:"),
        "{context}"
    );
    assert!(context.contains("# Sprint execution"), "{context}");
    assert!(context.chars().count() <= 10_000);
    // `orchestron context` shows the same.
    let shown = env
        .run(&["context", "22222222-2222-4222-8222-222222222222"])
        .ok()
        .to_owned();
    assert!(shown.contains("# Sprint execution"), "{shown}");

    // Claude Code already applies it: not repeated.
    std::fs::create_dir_all(env.path().join(".claude")).unwrap();
    std::fs::write(
        env.path().join(".claude/settings.local.json"),
        r#"{"outputStyle": "orchestron:sprint_execution"}"#,
    )
    .unwrap();
    let context = start(&env, "33333333-3333-4333-8333-333333333333");
    assert!(!context.contains("Output style"), "{context}");

    // `orchestron mode` in a running session changes the setting, but Claude Code keeps the
    // style it started with: after a compaction the context still carries the new style.
    std::fs::remove_file(env.path().join(".claude/settings.local.json")).unwrap();
    let running = "66666666-6666-4666-8666-666666666666";
    env.unset("ORCHESTRON_MODE");
    start(&env, running);
    let run = env.run(&["mode", "sprint", "--session", running, "--json"]);
    let switched = run.json();
    assert!(
        switched["instructions"]
            .as_str()
            .unwrap()
            .starts_with("# Sprint execution"),
        "the session follows the style until Claude Code applies it: {switched:#}"
    );
    let context = session_start(&env, running, "compact");
    assert!(
        context.contains("Output style for sprint mode"),
        "{context}"
    );
    // A new session (Claude Code passes it the settings' `env`) starts in sprint mode with
    // the style applied by Claude Code: not repeated.
    env.set("ORCHESTRON_MODE", "sprint");
    let context = start(&env, "77777777-7777-4777-8777-777777777777");
    assert!(
        context.contains("mode sprint") && !context.contains("Output style"),
        "{context}"
    );

    // The project maps modes to its own styles; its copy of a style wins.
    std::fs::remove_file(env.path().join(".claude/settings.local.json")).unwrap();
    std::fs::write(
        env.home().join("config.json"),
        r#"{"session": {"styles": {"sprint": "team_board"}}}"#,
    )
    .unwrap();
    std::fs::create_dir_all(env.path().join(".claude/output-styles")).unwrap();
    std::fs::write(
        env.path().join(".claude/output-styles/team_board.md"),
        "---\nname: team_board\ndescription: ours\n---\nDraw the team board.\n",
    )
    .unwrap();
    let context = start(&env, "44444444-4444-4444-8444-444444444444");
    assert!(
        context
            .ends_with("sprint mode: team_board. Follow it in this session:\nDraw the team board."),
        "{context}"
    );
    // A style nobody has: a warning, and the context without it.
    std::fs::write(
        env.home().join("config.json"),
        r#"{"session": {"styles": {"sprint": "nowhere"}}}"#,
    )
    .unwrap();
    let payload = json!({"session_id": "55555555-5555-4555-8555-555555555555", "hook_event_name": "SessionStart"});
    let run = env.run_with_stdin(&["hook", "SessionStart"], &payload.to_string());
    assert!(run.stderr.contains("`nowhere`"), "{run}");
    assert!(
        !run.json()["hookSpecificOutput"]["additionalContext"]
            .as_str()
            .unwrap()
            .contains("Output style")
    );
    // A mode name that is not one is refused by the configuration, never by the hook.
    std::fs::write(
        env.home().join("config.json"),
        r#"{"session": {"styles": {"party": "x"}}}"#,
    )
    .unwrap();
    env.run(&["board"]).fails(1);
}

#[test]
fn a_written_handoff_reaches_the_next_session_and_survives_session_end() {
    let mut env = TestEnv::new();
    env.set("ORCHESTRON_SESSION", SESSION);
    let mine = ["handoff", "show", "--session", SESSION, "--json"];
    assert_eq!(env.run(&mine).json(), Value::Null);
    env.run(&["session", "create", "--id", SESSION]).ok();
    let preview = env
        .run(&[
            "handoff",
            "write",
            "--next",
            "run the migration",
            "--note",
            "staging is down",
            "--dry-run",
            "--json",
        ])
        .json();
    assert_eq!(preview["planned"], json!(["run the migration"]));
    assert_eq!(
        env.run(&mine).json(),
        Value::Null,
        "a dry run stores nothing"
    );
    env.run(&[
        "handoff",
        "write",
        "--next",
        "run the migration",
        "--note",
        "staging is down",
    ])
    .ok();
    let shown = env.run(&["handoff", "show"]).ok().to_owned();
    assert!(shown.contains("- Note: staging is down"), "{shown}");
    assert!(
        shown.contains("- Next steps: run the migration."),
        "{shown}"
    );
    // SessionEnd writes its own handoff and keeps what was written.
    let todo = json!({"session_id": SESSION, "hook_event_name": "PostToolUse", "tool_name": "TodoWrite",
        "tool_input": {"todos": [{"content": "fix the test", "status": "pending", "activeForm": "Fixing"}]},
        "tool_response": {}});
    env.run_with_stdin(&["hook", "PostToolUse"], &todo.to_string())
        .ok();
    let end = json!({"session_id": SESSION, "hook_event_name": "SessionEnd", "reason": "exit"});
    env.run_with_stdin(&["hook", "SessionEnd"], &end.to_string())
        .ok();
    let handoff = env.run(&mine).json();
    assert_eq!(handoff["reason"], "exit");
    assert_eq!(handoff["planned"], json!(["run the migration"]));
    assert_eq!(handoff["next_steps"], json!(["fix the test"]));
    assert_eq!(handoff["note"], "staging is down");
    // The next session is told.
    let context = session_start(&env, "66666666-6666-4666-8666-666666666666", "startup");
    assert!(
        context.contains("- Next steps: run the migration; fix the test."),
        "{context}"
    );
    // Bad input changes nothing.
    let before = env.disk();
    env.run(&["handoff", "write", "--next", " "]).fails(1);
    env.run(&[
        "handoff",
        "write",
        "--session",
        "00000000-0000-4000-8000-000000000000",
    ])
    .fails(1);
    assert_eq!(env.disk(), before);
}

#[test]
fn slash_reports_every_read_and_always_exits_0() {
    let mut env = TestEnv::new();
    let run = env.run(&["slash", "state", "--json", "--", "get", "x"]);
    let value = run.json();
    assert!(
        value["results"][0]["error"]
            .as_str()
            .unwrap()
            .contains("no current session")
    );
    env.set("ORCHESTRON_SESSION", SESSION);
    let value = env
        .run(&["slash", "task", "--json", "--", "show", "TASK-nope"])
        .json();
    assert_eq!(value["results"][0]["run"], "orchestron task show TASK-nope");
    assert!(
        value["results"][0]["error"]
            .as_str()
            .unwrap()
            .contains("TASK-nope")
    );
    let value = env
        .run(&["slash", "task", "--json", "--", "list", "--bogus"])
        .json();
    assert!(
        value["results"][0]["error"]
            .as_str()
            .unwrap()
            .contains("--bogus")
    );
    // Text for people: each read under its command line.
    let text = env.run(&["slash", "sprint", "--", "board"]).ok().to_owned();
    assert!(
        text.starts_with("$ orchestron board\nBoard: all open work"),
        "{text}"
    );
    // `--stdin`: the user's words from a here-document, only the reads they add.
    let value = env
        .run_with_stdin(
            &["slash", "task", "--json", "--stdin"],
            "show it's \"odd $HOME\"\n",
        )
        .json();
    assert_eq!(value["arguments"], json!(["show", "it's", "odd $HOME"]));
    assert_eq!(value["results"].as_array().unwrap().len(), 1);
    assert_eq!(
        value["results"][0]["run"],
        "orchestron task show 'it'\\''s'"
    );
    let value = env
        .run_with_stdin(&["slash", "task", "--json", "--stdin"], "next\n")
        .json();
    assert_eq!(
        value["results"],
        json!([]),
        "`task next` is a general read already"
    );
    let value = env
        .run_with_stdin(&["slash", "task", "--json", "--stdin"], "\n")
        .json();
    assert_eq!(value["results"], json!([]));
    env.run(&["slash", "task", "--stdin", "--", "next"])
        .fails(2);
    // Only the slash command's name is checked.
    env.run(&["slash", "nonsense"]).fails(2);
    // `--claim` never reaches a `!` line: nothing is taken.
    env.run(&["task", "create", "Free"]).ok();
    env.run(&["slash", "task", "--json", "--", "next", "--claim"])
        .ok();
    let list = env.run(&["task", "list", "--json"]).json();
    assert_eq!(list[0]["status"], "TODO");
    assert_eq!(list[0]["assignee"], Value::Null);
}
