//! `orchestron task …` and `orchestron todo`: the tracker's work items.

use serde_json::{Value, json};

use crate::TestEnv;
use crate::TimedChild as _;

fn create(env: &TestEnv, args: &[&str]) -> String {
    let mut all = vec!["task", "create"];
    all.extend_from_slice(args);
    env.run(&all).ok().trim().to_owned()
}

fn status(env: &TestEnv, id: &str) -> String {
    env.run(&["task", "show", id, "--json"]).json()["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn create_show_and_list_items() {
    let env = TestEnv::new();
    let epic = create(&env, &["Checkout", "--type", "epic", "--priority", "high"]);
    assert!(epic.starts_with("EPIC-"), "{epic}");
    let task = create(
        &env,
        &[
            "Cart API",
            "--parent",
            &epic,
            "--label",
            "api",
            "--estimate",
            "3",
            "--assignee",
            "ana",
        ],
    );
    assert!(
        task.starts_with("TASK-") && task.len() == "TASK-".len() + 4,
        "{task}"
    );
    let shown = env.run(&["task", "show", &task, "--json"]).json();
    assert_eq!(shown["schema_version"], 1);
    assert_eq!(shown["title"], "Cart API");
    assert_eq!(shown["status"], "TODO");
    assert_eq!(shown["priority"], "MEDIUM");
    assert_eq!(shown["parent"], epic.as_str());
    assert_eq!(shown["labels"], json!(["api"]));
    assert_eq!(shown["estimate"], 3.0);
    assert_eq!(
        shown["created_at"],
        crate::NOW.replace("00Z", "00.000Z").replace(".000", "")
    );
    let parked = create(&env, &["Someday", "--status", "backlog"]);
    assert_eq!(status(&env, &parked), "BACKLOG");

    // Lists are bare arrays, most urgent first.
    let list = env.run(&["task", "list", "--json"]).json();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids[0], epic);
    let todo = env
        .run(&[
            "task", "list", "--status", "todo", "--type", "TASK", "--json",
        ])
        .json();
    assert_eq!(todo.as_array().unwrap().len(), 1);
    let labelled = env
        .run(&["task", "list", "--label", "api", "--json"])
        .json();
    assert_eq!(labelled[0]["id"], task.as_str());
    let limited = env.run(&["task", "list", "--limit", "1", "--json"]).json();
    assert_eq!(limited.as_array().unwrap().len(), 1);
    let text = env.run(&["task", "list"]).ok().to_owned();
    assert!(text.starts_with("ID "), "{text}");
}

#[test]
fn ids_resolve_case_insensitively_and_by_unique_prefix() {
    let env = TestEnv::new();
    let task = create(&env, &["One"]);
    let suffix = &task["TASK-".len()..];
    for typed in [
        task.to_lowercase(),
        task.to_uppercase().replace("TASK-", "task-"),
        suffix.to_owned(),
        suffix[..3].to_owned(),
        format!("TASK-{}", &suffix[..2]),
    ] {
        let shown = env.run(&["task", "show", &typed, "--json"]).json();
        assert_eq!(shown["id"], task.as_str(), "{typed}");
    }
    let stderr = env.refuses(&["task", "show", "TASK-zzzzzz"], 1);
    assert!(stderr.contains("not found"), "{stderr}");
}

#[test]
fn kinds_nest_downward_only() {
    let env = TestEnv::new();
    let task = create(&env, &["A task"]);
    let before = env.disk();
    let stderr = env.refuses(
        &[
            "task", "create", "An epic", "--type", "epic", "--parent", &task,
        ],
        1,
    );
    assert!(stderr.contains("smaller than its parent"), "{stderr}");
    env.refuses(
        &[
            "task", "create", "A peer", "--type", "task", "--parent", &task,
        ],
        1,
    );
    assert_eq!(env.disk(), before);
    let epic = create(&env, &["Epic", "--type", "epic"]);
    create(
        &env,
        &["Skips a level", "--type", "subtask", "--parent", &epic],
    );
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let env = TestEnv::new();
    let task = create(&env, &["A"]);
    let before = env.disk();
    for (args, code) in [
        // A value outside its choices is a usage error, as for every other choice.
        (vec!["task", "create", "x", "--type", "saga"], 2),
        (vec!["task", "create", "x", "--priority", "urgent"], 2),
        (vec!["task", "create", "x", "--estimate", "-2"], 1),
        (vec!["task", "create", "   "], 1),
        (vec!["task", "create", "x", "--status", "DONE"], 1),
        (vec!["task", "create", "x", "--parent", "TASK-nope"], 1),
        (vec!["task", "progress", &task, "--percent", "101"], 1),
        (vec!["task", "update", &task, "--status", "DONE"], 1),
        (vec!["task", "update", "TASK-nope", "--title", "x"], 1),
        (vec!["task", "depend", &task, "--on", &task], 1),
        (vec!["task", "create"], 2),
        (vec!["task", "fly"], 2),
    ] {
        env.refuses(&args, code);
    }
    assert_eq!(env.disk(), before);
}

#[test]
fn the_lifecycle_allows_its_moves_and_lists_them_when_refusing() {
    let env = TestEnv::new();
    let legal = [
        ("BACKLOG", "TODO"),
        ("TODO", "IN_PROGRESS"),
        ("IN_PROGRESS", "IN_REVIEW"),
        ("IN_REVIEW", "TESTING"),
        ("TESTING", "DONE"),
        ("TODO", "BLOCKED"),
        ("IN_PROGRESS", "BLOCKED"),
        ("IN_REVIEW", "BLOCKED"),
        ("TESTING", "BLOCKED"),
        ("BLOCKED", "TODO"),
        ("BLOCKED", "IN_PROGRESS"),
        ("BLOCKED", "IN_REVIEW"),
        ("BLOCKED", "TESTING"),
        ("BACKLOG", "CANCELLED"),
        ("TODO", "CANCELLED"),
        ("IN_PROGRESS", "CANCELLED"),
        ("IN_REVIEW", "CANCELLED"),
        ("TESTING", "CANCELLED"),
        ("BLOCKED", "CANCELLED"),
    ];
    let illegal = [
        ("BACKLOG", "DONE"),
        ("TODO", "DONE"),
        ("TODO", "TESTING"),
        ("DONE", "TODO"),
        ("DONE", "CANCELLED"),
        ("CANCELLED", "TODO"),
        ("BACKLOG", "BLOCKED"),
    ];
    for (from, to) in legal {
        let id = create(&env, &["x"]);
        env.run(&["task", "update", &id, "--status", from, "--force"])
            .ok();
        env.run(&["task", "update", &id, "--status", to]).ok();
        assert_eq!(status(&env, &id), to, "{from} → {to}");
    }
    for (from, to) in illegal {
        let id = create(&env, &["x"]);
        env.run(&["task", "update", &id, "--status", from, "--force"])
            .ok();
        let stderr = env.refuses(&["task", "update", &id, "--status", to], 1);
        assert!(stderr.contains("it can move to"), "{from} → {to}: {stderr}");
        assert_eq!(status(&env, &id), from);
        // People may override.
        env.run(&["task", "update", &id, "--status", to, "--force"])
            .ok();
        assert_eq!(status(&env, &id), to);
    }
}

#[test]
fn start_complete_and_the_projects_review_stage() {
    let mut env = TestEnv::new();
    env.set("ORCHESTRON_SESSION", "agent-1");
    let id = create(&env, &["x"]);
    env.run(&["task", "start", &id]).ok();
    let shown = env.run(&["task", "show", &id, "--json"]).json();
    assert_eq!(shown["status"], "IN_PROGRESS");
    assert_eq!(shown["session"], "agent-1");
    assert!(shown["started_at"].is_string());
    env.run(&["task", "complete", &id]).ok();
    let shown = env.run(&["task", "show", &id, "--json"]).json();
    assert_eq!(
        (shown["status"].as_str(), shown["progress"].as_i64()),
        (Some("DONE"), Some(100))
    );
    assert!(shown["completed_at"].is_string());

    std::fs::create_dir_all(env.home()).unwrap();
    std::fs::write(
        env.home().join("config.json"),
        r#"{"tracker": {"require_review": true}}"#,
    )
    .unwrap();
    let id = create(&env, &["y"]);
    env.run(&["task", "start", &id]).ok();
    env.run(&["task", "complete", &id]).ok();
    assert_eq!(status(&env, &id), "IN_REVIEW");
    let id = create(&env, &["z"]);
    env.run(&["task", "start", &id]).ok();
    let stderr = env.refuses(&["task", "update", &id, "--status", "DONE"], 1);
    assert!(
        stderr.contains("it can move to: IN_REVIEW, BLOCKED, TODO, CANCELLED"),
        "{stderr}"
    );
}

#[test]
fn dependencies_refuse_cycles_and_order_the_work() {
    let env = TestEnv::new();
    // A chain of 40: each waits for the one before.
    let ids: Vec<String> = (0..40)
        .map(|i| create(&env, &[&format!("step {i}")]))
        .collect();
    for pair in ids.windows(2) {
        env.run(&["task", "depend", &pair[1], "--on", &pair[0]])
            .ok();
    }
    let before = env.disk();
    let stderr = env.refuses(&["task", "depend", &ids[0], "--on", &ids[39]], 1);
    assert!(stderr.contains("cycle"), "{stderr}");
    assert!(
        stderr.contains(&format!("{} → {}", ids[0], ids[39])),
        "{stderr}"
    );
    assert_eq!(env.disk(), before, "a refused dependency changes nothing");

    let ready = env.run(&["task", "ready", "--json"]).json();
    assert_eq!(ready.as_array().unwrap().len(), 1);
    assert_eq!(ready[0]["id"], ids[0].as_str());
    let blocked = env.run(&["task", "blocked", "--json"]).json();
    assert_eq!(blocked.as_array().unwrap().len(), 39);
    assert_eq!(
        blocked[0]["waiting_on"],
        json!([format!("{} (TODO)", ids[0])])
    );
    env.run(&["task", "start", &ids[0]]).ok();
    env.run(&["task", "complete", &ids[0]]).ok();
    let ready = env.run(&["task", "ready", "--json"]).json();
    assert_eq!(ready[0]["id"], ids[1].as_str());
}

#[test]
fn next_gives_one_item_and_claim_takes_it() {
    let mut env = TestEnv::new();
    assert_eq!(env.run(&["task", "next"]).ok(), "");
    assert_eq!(env.run(&["task", "next", "--json"]).json(), Value::Null);
    let low = create(&env, &["low", "--priority", "low"]);
    let high = create(&env, &["high", "--priority", "high"]);
    let theirs = create(
        &env,
        &["theirs", "--priority", "critical", "--assignee", "bob"],
    );
    assert_eq!(env.run(&["task", "next"]).ok().trim(), high);
    assert_eq!(
        env.run(&["task", "next", "--assignee", "bob"]).ok().trim(),
        theirs
    );
    env.set("ORCHESTRON_SESSION", "agent-7");
    let claimed = env.run(&["task", "next", "--claim", "--json"]).json();
    assert_eq!(claimed["id"], high.as_str());
    assert_eq!(claimed["status"], "IN_PROGRESS");
    assert_eq!(claimed["assignee"], "agent-7");
    assert_eq!(env.run(&["task", "next"]).ok().trim(), low);
}

#[test]
fn parallel_agents_never_claim_the_same_item() {
    let env = TestEnv::new();
    for i in 0..24 {
        create(&env, &[&format!("item {i}")]);
    }
    let children: Vec<_> = (0..16)
        .map(|agent| {
            let mut command = env.command(&[
                "task",
                "next",
                "--claim",
                "--assignee",
                &format!("agent-{agent}"),
            ]);
            command
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            command.spawn().unwrap()
        })
        .collect();
    let mut claimed = Vec::new();
    for child in children {
        let output = child.timed_wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        claimed.push(String::from_utf8(output.stdout).unwrap().trim().to_owned());
    }
    let mut unique = claimed.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 16, "{claimed:?}");
    let in_progress = env
        .run(&["task", "list", "--status", "IN_PROGRESS", "--json"])
        .json();
    assert_eq!(in_progress.as_array().unwrap().len(), 16);
}

#[test]
fn parallel_creates_and_updates_lose_nothing() {
    let env = TestEnv::new();
    let target = create(&env, &["shared"]);
    let children: Vec<_> = (0..16)
        .map(|i| {
            let script = format!(
                "for n in 1 2 3 4 5; do \"$0\" task create \"item {i}-$n\" >/dev/null || exit 1; \
                 \"$0\" task log {target} \"note {i}-$n\" >/dev/null || exit 1; done"
            );
            let mut command = std::process::Command::new("/bin/sh");
            command
                .args(["-c", &script, env!("CARGO_BIN_EXE_orchestron")])
                .env_clear()
                .env("ORCHESTRON_HOME", env.home())
                .env("ORCHESTRON_NOW", crate::NOW)
                .stderr(std::process::Stdio::piped());
            command.spawn().unwrap()
        })
        .collect();
    for child in children {
        let output = child.timed_wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let list = env.run(&["task", "list", "--json"]).json();
    let ids: std::collections::BTreeSet<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 81, "no duplicate ids, nothing lost");
    let history = env.run(&["task", "history", &target, "--json"]).json();
    let logs = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["what"] == "log")
        .count();
    assert_eq!(logs, 80);
}

#[test]
fn tree_history_todo_checkpoints_and_delete() {
    let mut env = TestEnv::new();
    let story = create(&env, &["Story", "--type", "story"]);
    let task = create(&env, &["Task", "--parent", &story]);
    let other = create(&env, &["Other"]);
    env.run(&["task", "depend", &task, "--on", &other]).ok();
    let tree = env.run(&["task", "tree", &story]).ok().to_owned();
    assert!(
        tree.contains(&format!(
            "  {task} TASK [TODO] Task  ← depends on {other} (TODO)"
        )),
        "{tree}"
    );
    let json = env.run(&["task", "tree", &story, "--json"]).json();
    assert_eq!(json["children"][0]["depends_on"][0]["id"], other.as_str());

    env.run(&["task", "checkpoint", &task, "schema drafted"])
        .ok();
    env.run(&["task", "checkpoint", &task, "schema drafted", "--done"])
        .ok();
    env.run(&["task", "progress", &task, "--percent", "40"])
        .ok();
    let shown = env.run(&["task", "show", &task, "--json"]).json();
    assert_eq!(shown["checkpoints"][0]["done"], true);
    assert_eq!(shown["progress"], 40);

    // A to-do goes under the session's started task.
    env.set("ORCHESTRON_SESSION", "agent-2");
    env.refuses(&["todo", "write tests"], 1);
    env.run(&[
        "task",
        "update",
        &task,
        "--status",
        "IN_PROGRESS",
        "--force",
    ])
    .ok();
    env.run(&["task", "start", &task]).ok();
    let todo = env.run(&["todo", "write tests"]).ok().trim().to_owned();
    assert!(todo.starts_with("TODO-"), "{todo}");
    assert_eq!(
        env.run(&["task", "show", &todo, "--json"]).json()["parent"],
        task.as_str()
    );

    let history = env.run(&["task", "history", &task, "--json"]).json();
    let what: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["what"].as_str().unwrap())
        .collect();
    assert_eq!(
        what,
        [
            "created",
            "depends",
            "checkpoint",
            "checkpoint",
            "progress",
            "status"
        ]
    );

    env.run(&["task", "delete", &other]).ok();
    assert_eq!(status(&env, &other), "CANCELLED");
    env.refuses(&["task", "delete", &story, "--purge"], 1);
    env.run(&["task", "delete", &other, "--purge"]).ok();
    env.refuses(&["task", "show", &other], 1);
}

#[test]
fn a_newer_database_is_refused() {
    let env = TestEnv::new();
    create(&env, &["x"]);
    let db = env.home().join("orchestron.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let stderr = env.refuses(&["task", "list"], 1);
    assert!(stderr.contains("newer than this orchestron"), "{stderr}");
}

#[test]
fn commands_that_do_not_need_the_tracker_never_open_it() {
    let env = TestEnv::new();
    env.run(&["session", "create", "--id", "s1"]).ok();
    env.run(&["state", "set", "s1", "a", "b"]).ok();
    env.run_with_stdin(
        &["hook", "PostToolUse"],
        r#"{"session_id": "s1", "tool_name": "Bash", "tool_input": {"command": "ls"}}"#,
    )
    .ok();
    env.run_with_stdin(
        &["hook", "SessionStart"],
        r#"{"session_id": "s1", "source": "resume"}"#,
    )
    .ok();
    env.run(&["context", "s1"]).ok();
    assert!(!env.home().join("orchestron.db").exists());
}

#[test]
fn clarify_feedback_review_and_approve() {
    let mut env = TestEnv::new();
    let id = create(&env, &["Login"]);
    env.run(&["task", "clarify", &id, "Use PostgreSQL for user data"])
        .ok();
    env.run(&["task", "clarify", &id, "Redis for sessions"])
        .ok();
    let list = env.run(&["task", "clarifications", &id, "--json"]).json();
    let texts: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        ["Use PostgreSQL for user data", "Redis for sessions"]
    );
    let alias = env
        .run(&["task", "get-clarifications", &id])
        .ok()
        .to_owned();
    assert!(alias.contains("Redis for sessions"), "{alias}");
    env.run(&["task", "feedback", &id, "Handle expired tokens"])
        .ok();
    env.refuses(&["task", "clarify", &id, "  "], 1);

    // A session works on it: its files and tests show up in the review.
    let session = "5e1d0b9a-1c2d-4e3f-8a9b-0c1d2e3f4a5b";
    env.run_with_stdin(
        &["hook", "SessionStart"],
        &json!({"session_id": session, "source": "startup"}).to_string(),
    )
    .ok();
    env.run_with_stdin(
        &["hook", "PostToolUse"],
        &json!({"session_id": session, "tool_name": "Write", "tool_input": {"file_path": "/p/login.rs"}}).to_string(),
    )
    .ok();
    env.run_with_stdin(
        &["hook", "PostToolUse"],
        &json!({"session_id": session, "tool_name": "Bash", "tool_input": {"command": "cargo test"}}).to_string(),
    )
    .ok();
    env.set("ORCHESTRON_SESSION", session);
    env.run(&["task", "start", &id]).ok();
    let stderr = env.refuses(&["task", "approve", &id], 1);
    assert!(stderr.contains("not IN_REVIEW"), "{stderr}");
    env.run(&["task", "update", &id, "--status", "IN_REVIEW"])
        .ok();

    let before = env.disk();
    let review = env.run(&["task", "review", &id, "--json"]).json();
    assert_eq!(env.disk(), before, "review changes nothing");
    assert_eq!(review["comments"].as_array().unwrap().len(), 3);
    assert_eq!(review["sessions"][0]["files"], json!(["/p/login.rs"]));
    assert_eq!(review["sessions"][0]["tests"]["last"]["passed"], true);
    let text = env.run(&["task", "review", &id]).ok().to_owned();
    assert!(
        text.contains("last test run passed: `cargo test`"),
        "{text}"
    );

    env.run(&["task", "approve", &id, "--comment", "ship it"])
        .ok();
    assert_eq!(status(&env, &id), "DONE");
    let history = env.run(&["task", "history", &id, "--json"]).json();
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["what"] == "approved")
    );

    // With a testing stage, approval goes to TESTING.
    std::fs::write(
        env.home().join("config.json"),
        r#"{"tracker": {"require_testing": true}}"#,
    )
    .unwrap();
    let other = create(&env, &["Logout"]);
    env.run(&["task", "update", &other, "--status", "IN_REVIEW", "--force"])
        .ok();
    env.run(&["task", "approve", &other]).ok();
    assert_eq!(status(&env, &other), "TESTING");
}

#[test]
fn export_import_round_trips_and_is_idempotent() {
    let mut env = TestEnv::new();
    env.set("ORCHESTRON_SESSION", "agent-1");
    let epic = create(&env, &["Epic", "--type", "epic", "--label", "q3"]);
    let a = create(&env, &["A", "--parent", &epic, "--estimate", "2.5"]);
    let b = create(&env, &["B", "--parent", &epic, "--assignee", "ana"]);
    env.run(&["task", "depend", &b, "--on", &a]).ok();
    env.run(&["task", "checkpoint", &a, "drafted", "--done"])
        .ok();
    env.run(&["task", "clarify", &a, "use PostgreSQL"]).ok();
    env.run(&["task", "start", &a]).ok();
    let exported = env.run(&["export"]).ok().to_owned();
    assert!(exported.lines().count() >= 10, "{exported}");
    assert!(
        exported.starts_with("{\"type\":\"orchestron-export\",\"version\":1}"),
        "{exported}"
    );

    let file = env.path().join("export.jsonl");
    std::fs::write(&file, &exported).unwrap();
    let other = TestEnv::new();
    let report = other
        .run(&["import", file.to_str().unwrap(), "--json"])
        .json();
    assert_eq!(report["items"], 3);
    assert_eq!(report["dependencies"], 1);
    assert_eq!(
        other.run(&["export"]).ok(),
        exported,
        "export → import → export is identical"
    );
    // Again: nothing new.
    let again = other
        .run(&["import", file.to_str().unwrap(), "--json"])
        .json();
    assert_eq!(
        (again["dependencies"].as_u64(), again["events"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(other.run(&["export"]).ok(), exported);
    // The imported store works: B waits for A.
    let blocked = other.run(&["task", "blocked", "--json"]).json();
    assert_eq!(blocked[0]["id"], b.as_str());
}

#[test]
fn a_bad_import_changes_nothing() {
    let env = TestEnv::new();
    let a = create(&env, &["A"]);
    let before = env.disk();
    let cases = [
        "not json\n".to_owned(),
        "{\"type\": \"item\", \"id\": \"TASK-x\", \"title\": \"t\", \"kind\": \"SAGA\", \"status\": \"TODO\", \"priority\": \"LOW\"}\n".to_owned(),
        "{\"type\": \"dependency\", \"item\": \"TASK-nope\", \"depends_on\": \"TASK-gone\"}\n".to_owned(),
        format!(
            "{{\"type\": \"item\", \"id\": \"TASK-b\", \"title\": \"B\", \"kind\": \"TASK\", \"status\": \"TODO\", \"priority\": \"LOW\"}}\n\
             {{\"type\": \"dependency\", \"item\": \"{a}\", \"depends_on\": \"TASK-b\"}}\n\
             {{\"type\": \"dependency\", \"item\": \"TASK-b\", \"depends_on\": \"{a}\"}}\n"
        ),
        "{\"type\": \"orchestron-export\", \"version\": 99}\n".to_owned(),
    ];
    for (i, case) in cases.iter().enumerate() {
        let file = env.path().join(format!("bad-{i}.jsonl"));
        std::fs::write(&file, case).unwrap();
        let stderr = env.refuses(&["import", file.to_str().unwrap()], 1);
        assert!(!stderr.is_empty());
        std::fs::remove_file(&file).unwrap();
        assert_eq!(env.disk(), before, "case {i}: {stderr}");
    }
}

#[test]
fn readiness_follows_every_change_of_a_dependency() {
    let env = TestEnv::new();
    let a = create(&env, &["A"]);
    let b = create(&env, &["B"]);
    let c = create(&env, &["C"]);
    env.run(&["task", "depend", &c, "--on", &a]).ok();
    env.run(&["task", "depend", &c, "--on", &b]).ok();
    let ready = |env: &TestEnv| -> Vec<String> {
        env.run(&["task", "ready", "--json"])
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(!ready(&env).contains(&c));
    env.run(&["task", "update", &a, "--status", "DONE", "--force"])
        .ok();
    assert!(!ready(&env).contains(&c), "B is still open");
    env.run(&["task", "delete", &b, "--purge"]).ok();
    assert!(ready(&env).contains(&c), "B is gone, A is done");
    env.run(&["task", "update", &a, "--status", "TODO", "--force"])
        .ok();
    assert!(!ready(&env).contains(&c), "A reopened");
    let blocked = env.run(&["task", "blocked", "--json"]).json();
    assert_eq!(blocked[0]["waiting_on"], json!([format!("{a} (TODO)")]));
    // An export and import count afresh.
    let exported = env.run(&["export"]).ok().to_owned();
    let other = TestEnv::new();
    let file = env.path().join("e.jsonl");
    std::fs::write(&file, &exported).unwrap();
    other.run(&["import", file.to_str().unwrap()]).ok();
    let ready_there: Vec<String> = other
        .run(&["task", "ready", "--json"])
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ready_there, vec![a]);
}

#[test]
fn the_session_working_on_a_task_is_told_about_it() {
    let mut env = TestEnv::new();
    let session = "5e1d0b9a-1c2d-4e3f-8a9b-0c1d2e3f4a5b";
    let start = |env: &TestEnv| -> String {
        let run = env.run_with_stdin(
            &["hook", "SessionStart"],
            &json!({"session_id": session, "source": "resume"}).to_string(),
        );
        let reply: Value = serde_json::from_str(run.ok()).unwrap();
        reply["hookSpecificOutput"]["additionalContext"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    start(&env);
    let task = create(&env, &["Login form"]);
    env.run(&["task", "checkpoint", &task, "validate the email"])
        .ok();
    env.set("ORCHESTRON_SESSION", session);
    env.run(&["task", "start", &task]).ok();
    env.run(&["task", "progress", &task, "--percent", "40"])
        .ok();
    env.run(&["task", "clarify", &task, "Use the design system's inputs"])
        .ok();
    let context = start(&env);
    assert!(
        context.contains(&format!(
            "Current task {task} (IN_PROGRESS, 40%): Login form."
        )),
        "{context}"
    );
    assert!(
        context.contains("Next checkpoint: validate the email."),
        "{context}"
    );
    assert!(context.contains("Clarification on"), "{context}");
    // Seen once: the next start names the task, not the clarification again.
    let again = start(&env);
    assert!(
        again.contains("Current task") && !again.contains("Clarification on"),
        "{again}"
    );
    let preview = env.run(&["context", session]).ok().to_owned();
    assert!(preview.contains("Current task"), "{preview}");
}

#[test]
fn every_tracker_command_refuses_bad_input_and_changes_nothing() {
    let env = TestEnv::new();
    let a = create(&env, &["A"]);
    let sprint = env.run(&["sprint", "create", "S"]).ok().trim().to_owned();
    env.run(&["memory", "add", "k", "key"]).ok();
    let before = env.disk();
    let cases: Vec<(Vec<&str>, i32)> = vec![
        (vec!["task", "show", "TASK-none"], 1),
        (vec!["task", "update", &a, "--priority", "urgent"], 2),
        (vec!["task", "update", &a, "--title", ""], 1),
        (vec!["task", "update", &a, "--estimate", "NaN"], 1),
        (vec!["task", "progress", &a, "--percent", "-1"], 2),
        (vec!["task", "checkpoint", &a, ""], 1),
        (vec!["task", "complete", &a], 1),
        (vec!["task", "log", &a, " "], 1),
        (vec!["task", "clarify", "TASK-none", "x"], 1),
        (vec!["task", "feedback", &a, ""], 1),
        (vec!["task", "review", "TASK-none"], 1),
        (vec!["task", "approve", &a], 1),
        (vec!["task", "depend", &a, "--on", "TASK-none"], 1),
        (vec!["task", "tree", "TASK-none"], 1),
        (vec!["task", "history", "TASK-none"], 1),
        (vec!["task", "delete", "TASK-none"], 1),
        (vec!["task", "list", "--status", "SOMEDAY"], 2),
        (vec!["task", "list", "--limit", "18446744073709551615"], 1),
        (vec!["task", "checkpoint", &a, "--done", "9"], 1),
        (vec!["task", "checkpoint", &a], 1),
        (vec!["task", "update", &a, "--reason", "not blocked"], 1),
        (vec!["task", "release", "TASK-none"], 1),
        (vec!["task", "create", "x", "--estimate", "1e308"], 1),
        (vec!["task", "next", "--claim"], 1),
        (vec!["todo", "x"], 1),
        (vec!["todo", "x", "--parent", "TASK-none"], 1),
        (vec!["sprint", "show", "SPRINT-none"], 1),
        (vec!["sprint", "burndown", &sprint], 1),
        (vec!["sprint", "burndown"], 1),
        (vec!["sprint", "velocity", "--last", "x"], 2),
        (vec!["timer", "stop", &a], 1),
        (vec!["timer", "log", &a, "--hours", "-3"], 1),
        (vec!["timer", "report", "--since", "last week"], 1),
        (vec!["decide", ""], 1),
        (vec!["decision", "show", "DEC-none"], 1),
        (vec!["memory", "search", " "], 1),
        (vec!["memory", "update", "k", "key", "--confidence", "2"], 1),
        (vec!["shared", "get-epic", "p", "none"], 1),
        (vec!["shared", "get-sprint", "p", "none"], 1),
        (
            vec!["shared", "update-sprint", "p", "none", "--name", "x"],
            1,
        ),
        (vec!["shared", "update-epic", "p", "e", "--data", "[]"], 1),
        (
            vec!["shared", "create-sprint", "p", "s", "n", "--data", "nope"],
            1,
        ),
        (vec!["export", "--format", "csv"], 1),
        (vec!["import", "/nonexistent/file.jsonl"], 1),
    ];
    for (args, code) in &cases {
        let stderr = env.refuses(args, *code);
        assert!(!stderr.trim().is_empty(), "{args:?} says nothing");
        assert!(env.disk() == before, "{args:?} changed something");
    }
    // The same on a fresh project: no command creates a database, or anything else, to
    // refuse its input.
    let fresh = TestEnv::new();
    for (args, code) in cases
        .iter()
        .filter(|(args, _)| !["shared"].contains(&args[0]))
    {
        let stderr = fresh.refuses(args, *code);
        assert!(!stderr.trim().is_empty(), "{args:?} says nothing");
    }
    assert!(!fresh.home().join("orchestron.db").exists());
}

/// `task complete ID --note TEXT` keeps what was done in the item's history, in the move's
/// transaction; a blank note is refused before anything changes, the move included.
#[test]
fn complete_keeps_a_completion_note_in_the_history() {
    let env = TestEnv::new();
    let id = create(&env, &["Parser"]);
    env.run(&["task", "start", &id]).ok();
    let stderr = env.refuses(&["task", "complete", &id, "--note", "  "], 1);
    assert!(stderr.contains("the note must not be empty"), "{stderr}");
    assert_eq!(status(&env, &id), "IN_PROGRESS");
    env.run(&[
        "task",
        "complete",
        &id,
        "--note",
        "parsed dates and time zones",
    ])
    .ok();
    assert_eq!(status(&env, &id), "DONE");
    let history = env.run(&["task", "history", &id, "--json"]).json();
    let notes: Vec<&Value> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["what"] == "completion_note")
        .collect();
    assert_eq!(notes.len(), 1, "{history:#}");
    assert_eq!(
        notes[0]["detail"], "parsed dates and time zones",
        "{history:#}"
    );
}
