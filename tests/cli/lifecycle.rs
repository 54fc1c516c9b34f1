//! Regression tests for the tracker's rules, each named after what broke: the gates, the
//! blocked reason, cancelled parents, claims, "ready", a damaged tracker, ids, checkpoints,
//! and what reaches a terminal.

use std::process::Stdio;

use serde_json::Value;

use crate::TestEnv;

fn create(env: &TestEnv, args: &[&str]) -> String {
    let mut all = vec!["task", "create"];
    all.extend_from_slice(args);
    env.run(&all).ok().trim().to_owned()
}

fn show(env: &TestEnv, id: &str) -> Value {
    env.run(&["task", "show", id, "--json"]).json()
}

fn config(env: &TestEnv, json: &str) {
    std::fs::create_dir_all(env.home()).unwrap();
    std::fs::write(env.home().join("config.json"), json).unwrap();
}

#[test]
fn review_and_testing_gates_cannot_be_skipped_by_completing_twice_or_updating_to_done() {
    let env = TestEnv::new();
    config(
        &env,
        r#"{"tracker": {"require_review": true, "require_testing": true}}"#,
    );
    let id = create(&env, &["gated"]);
    env.run(&["task", "start", &id]).ok();
    env.run(&["task", "complete", &id]).ok();
    assert_eq!(show(&env, &id)["status"], "IN_REVIEW");
    // The agent cannot approve its own work.
    let stderr = env.refuses(&["task", "complete", &id], 1);
    assert!(stderr.contains("task approve"), "{stderr}");
    env.refuses(&["task", "update", &id, "--status", "DONE"], 1);
    env.refuses(&["task", "update", &id, "--status", "TESTING"], 1);
    env.run(&["task", "approve", &id]).ok();
    assert_eq!(show(&env, &id)["status"], "TESTING");
    env.refuses(&["task", "complete", &id], 1);
    env.refuses(&["task", "update", &id, "--status", "DONE"], 1);
    env.run(&["task", "approve", &id]).ok();
    let done = show(&env, &id);
    assert_eq!(
        (done["status"].as_str(), done["progress"].as_i64()),
        (Some("DONE"), Some(100))
    );

    // A person may force it, and the history says so.
    let forced = create(&env, &["forced"]);
    env.run(&["task", "start", &forced]).ok();
    env.run(&["task", "complete", &forced]).ok();
    env.run(&["task", "update", &forced, "--status", "DONE", "--force"])
        .ok();
    assert_eq!(show(&env, &forced)["status"], "DONE");
    let history = env.run(&["task", "history", &forced, "--json"]).json();
    let last = history.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["detail"]["forced"], true, "{history}");

    // Testing alone: completing work goes to TESTING, and only an approval finishes it.
    let env = TestEnv::new();
    config(&env, r#"{"tracker": {"require_testing": true}}"#);
    let id = create(&env, &["tested"]);
    env.run(&["task", "start", &id]).ok();
    env.refuses(&["task", "update", &id, "--status", "DONE"], 1);
    env.run(&["task", "complete", &id]).ok();
    assert_eq!(show(&env, &id)["status"], "TESTING");
    env.refuses(&["task", "complete", &id], 1);
    env.run(&["task", "approve", &id]).ok();
    assert_eq!(show(&env, &id)["status"], "DONE");
}

#[test]
fn a_second_blocked_reason_is_stored_recorded_and_shown() {
    let env = TestEnv::new();
    let id = create(&env, &["waits"]);
    env.run(&[
        "task", "update", &id, "--status", "BLOCKED", "--reason", "first",
    ])
    .ok();
    env.run(&[
        "task", "update", &id, "--status", "BLOCKED", "--reason", "second",
    ])
    .ok();
    assert_eq!(show(&env, &id)["blocked_reason"], "second");
    let history = env.run(&["task", "history", &id, "--json"]).json();
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|event| event["what"] == "blocked-reason" && event["detail"] == "second"),
        "{history}"
    );
    // A reason alone changes the reason of a BLOCKED item.
    env.run(&["task", "update", &id, "--reason", "third"]).ok();
    let text = env.run(&["task", "show", &id]).ok().to_owned();
    assert!(text.contains("blocked:    third"), "{text}");
    // Unblocking clears it.
    env.run(&["task", "update", &id, "--status", "TODO"]).ok();
    assert!(show(&env, &id)["blocked_reason"].is_null());

    // `task blocked` shows a manual reason even when the item also waits on a dependency.
    let dep = create(&env, &["dependency"]);
    let both = create(&env, &["both"]);
    env.run(&["task", "depend", &both, "--on", &dep]).ok();
    env.run(&[
        "task", "update", &both, "--status", "BLOCKED", "--reason", "vendor",
    ])
    .ok();
    let blocked = env.run(&["task", "blocked", "--json"]).json();
    let entry = blocked
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["id"] == both.as_str())
        .unwrap()
        .clone();
    assert_eq!(entry["blocked_reason"], "vendor");
    assert_eq!(entry["waiting_on"][0], format!("{dep} (TODO)"));
    let text = env.run(&["task", "blocked"]).ok().to_owned();
    assert!(text.contains(&format!("vendor; {dep} (TODO)")), "{text}");
}

#[test]
fn cancelling_a_parent_cancels_its_open_children_so_next_never_hands_them_out() {
    let env = TestEnv::new();
    let story = create(&env, &["story", "--type", "STORY"]);
    let child = create(&env, &["child", "--parent", &story]);
    let grandchild = create(
        &env,
        &["grandchild", "--type", "SUBTASK", "--parent", &child],
    );
    let finished = create(&env, &["finished", "--parent", &story]);
    env.run(&["task", "start", &finished]).ok();
    env.run(&["task", "complete", &finished]).ok();
    // With --keep-children it refuses while any remain open.
    let stderr = env.refuses(&["task", "delete", &story, "--keep-children"], 1);
    assert!(stderr.contains(&child), "{stderr}");
    let deleted = env.run(&["task", "delete", &story, "--json"]).json();
    assert_eq!(
        deleted["cancelled_children"],
        serde_json::json!([child, grandchild])
    );
    for id in [&story, &child, &grandchild] {
        assert_eq!(show(&env, id)["status"], "CANCELLED", "{id}");
    }
    assert_eq!(show(&env, &finished)["status"], "DONE");
    assert_eq!(env.run(&["task", "next", "--json"]).json(), Value::Null);
}

#[test]
fn a_claim_can_be_released() {
    let mut env = TestEnv::new();
    env.set("ORCHESTRON_SESSION", "agent-1");
    let id = create(&env, &["work"]);
    env.run(&["task", "next", "--claim"]).ok();
    let claimed = show(&env, &id);
    assert_eq!(
        (claimed["status"].as_str(), claimed["assignee"].as_str()),
        (Some("IN_PROGRESS"), Some("agent-1"))
    );
    env.run(&["task", "release", &id]).ok();
    let released = show(&env, &id);
    assert_eq!(released["status"], "TODO");
    assert!(released["assignee"].is_null() && released["session"].is_null());
    // `assign --to none` does the same.
    env.run(&["task", "next", "--claim"]).ok();
    env.run(&["task", "assign", &id, "--to", "none"]).ok();
    assert!(show(&env, &id)["assignee"].is_null());
    assert_eq!(show(&env, &id)["status"], "TODO");
    // And so does moving the work back to TODO.
    env.run(&["task", "next", "--claim"]).ok();
    env.run(&["task", "update", &id, "--status", "TODO"]).ok();
    assert!(show(&env, &id)["assignee"].is_null());
    // Another agent can take it now.
    env.set("ORCHESTRON_SESSION", "agent-2");
    let taken = env.run(&["task", "next", "--claim", "--json"]).json();
    assert_eq!(taken["assignee"], "agent-2");
}

#[test]
fn ready_and_next_agree_that_a_parent_with_open_children_is_not_ready() {
    let env = TestEnv::new();
    let epic = create(&env, &["epic", "--type", "EPIC", "--priority", "CRITICAL"]);
    let child = create(&env, &["child", "--parent", &epic]);
    let ready = env.run(&["task", "ready", "--json"]).json();
    let ids: Vec<&str> = ready
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [child.as_str()]);
    assert_eq!(env.run(&["task", "next"]).ok().trim(), child);
}

#[test]
fn a_zero_byte_tracker_is_refused_not_quietly_recreated() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.home()).unwrap();
    std::fs::write(env.home().join("orchestron.db"), b"").unwrap();
    for args in [
        vec!["task", "list"],
        vec!["task", "create", "x"],
        vec!["board"],
        vec!["summary"],
    ] {
        let stderr = env.refuses(&args, 1);
        assert!(stderr.contains("damaged"), "{args:?}: {stderr}");
    }
    // `slash` never fails, but reports the damage rather than an empty plan.
    let reply = env.run(&["slash", "task", "--json"]).json();
    assert!(reply.to_string().contains("damaged"), "{reply}");
    assert_eq!(
        std::fs::metadata(env.home().join("orchestron.db"))
            .unwrap()
            .len(),
        0
    );
}

#[test]
fn a_huge_limit_is_refused_without_a_raw_sqlite_error() {
    let env = TestEnv::new();
    create(&env, &["x"]);
    let stderr = env.refuses(&["task", "list", "--limit", "18446744073709551615"], 1);
    assert!(stderr.contains("--limit"), "{stderr}");
    assert!(!stderr.contains("datatype mismatch"), "{stderr}");
}

#[test]
fn wildcards_in_sprint_and_decision_prefixes_match_nothing() {
    let env = TestEnv::new();
    env.run(&["sprint", "create", "S"]).ok();
    env.run(&["decide", "use sqlite"]).ok();
    for args in [
        vec!["sprint", "start", "%"],
        vec!["sprint", "show", "_"],
        vec!["decision", "show", "_"],
        vec!["decision", "show", "%"],
    ] {
        let stderr = env.refuses(&args, 1);
        assert!(stderr.contains("not found"), "{args:?}: {stderr}");
    }
}

#[test]
fn parallel_first_writes_on_a_fresh_tracker_all_succeed() {
    let env = TestEnv::new();
    let children: Vec<_> = (0..16)
        .map(|i| {
            env.command(&["task", "create", &format!("item {i}")])
                .env("ORCHESTRON_ID_SEED", format!("seed-{i}"))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("the binary runs")
        })
        .collect();
    for child in children {
        let output = crate::wait_with_timeout(child, std::time::Duration::from_secs(60));
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let all = env.run(&["task", "list", "--json"]).json();
    assert_eq!(all.as_array().unwrap().len(), 16);
}

#[test]
fn control_characters_in_titles_never_reach_the_terminal() {
    let env = TestEnv::new();
    let id = create(&env, &["a\x1b[31mred\rb\x07"]);
    for args in [
        vec!["task", "list"],
        vec!["task", "show", id.as_str()],
        vec!["task", "tree", id.as_str()],
        vec!["board"],
    ] {
        let stdout = env.run(&args).ok().to_owned();
        assert!(
            !stdout.contains('\x1b') && !stdout.contains('\r') && !stdout.contains('\x07'),
            "{args:?}: {stdout:?}"
        );
        assert!(
            stdout.contains("\\u{1b}[31mred\\u{d}b"),
            "{args:?}: {stdout}"
        );
    }
    // JSON keeps the title exactly.
    assert_eq!(show(&env, &id)["title"], "a\x1b[31mred\rb\x07");
}

#[test]
fn a_checkpoint_is_marked_done_by_its_number() {
    let env = TestEnv::new();
    let id = create(&env, &["x"]);
    env.run(&["task", "checkpoint", &id, "write it"]).ok();
    env.run(&["task", "checkpoint", &id, "test it"]).ok();
    env.run(&["task", "checkpoint", &id, "--done", "2"]).ok();
    // A bare number with --done names the first, rather than adding one called "1".
    env.run(&["task", "checkpoint", &id, "1", "--done"]).ok();
    let checkpoints = show(&env, &id)["checkpoints"].clone();
    let list = checkpoints.as_array().unwrap();
    assert_eq!(list.len(), 2, "{checkpoints}");
    assert!(list.iter().all(|c| c["done"] == true), "{checkpoints}");
    assert_eq!(
        (list[0]["number"].as_u64(), list[1]["number"].as_u64()),
        (Some(1), Some(2))
    );
    let stderr = env.refuses(&["task", "checkpoint", &id, "--done", "3"], 1);
    assert!(stderr.contains("no number 3"), "{stderr}");
}

#[test]
fn a_kind_alone_is_reported_ambiguous_not_missing() {
    let env = TestEnv::new();
    create(&env, &["one"]);
    create(&env, &["two"]);
    let stderr = env.refuses(&["task", "show", "TASK"], 1);
    assert!(stderr.contains("ambiguous"), "{stderr}");
    let stderr = env.refuses(&["task", "show", "EPIC"], 1);
    assert!(stderr.contains("not found"), "{stderr}");
}

#[test]
fn errors_under_json_are_one_object_with_their_kind() {
    let env = TestEnv::new();
    let id = create(&env, &["x"]);
    let cases = [
        (vec!["task", "show", "TASK-none", "--json"], 1, "not_found"),
        (vec!["task", "create", " ", "--json"], 1, "invalid"),
        (
            vec!["task", "complete", id.as_str(), "--json"],
            1,
            "conflict",
        ),
        (
            vec!["task", "create", "x", "--type", "saga", "--json"],
            2,
            "invalid",
        ),
    ];
    for (args, code, kind) in cases {
        let stderr = env.refuses(&args, code);
        let error: Value = serde_json::from_str(stderr.trim())
            .unwrap_or_else(|err| panic!("{args:?}: not one JSON object: {err}: {stderr}"));
        assert_eq!(error["error"]["kind"], kind, "{args:?}: {stderr}");
        assert!(error["error"]["message"].is_string(), "{stderr}");
        assert!(error["error"].get("hint").is_some(), "{stderr}");
    }
}

#[test]
fn doctor_checks_the_tracker_and_names_the_fix() {
    let env = TestEnv::new();
    env.run(&["init"]).ok();
    let check = |env: &TestEnv| -> Value {
        let run = env.run(&["doctor", "--json"]);
        let report: Value = serde_json::from_str(&run.stdout).expect("doctor prints JSON");
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|check| check["check"] == "tracker")
            .cloned()
            .unwrap_or_else(|| panic!("no tracker check: {report}"))
    };
    assert_eq!(check(&env)["status"], "ok");
    assert!(
        !env.home().join("orchestron.db").exists(),
        "doctor created the tracker"
    );
    create(&env, &["x"]);
    let before = env.disk();
    assert_eq!(check(&env)["status"], "ok");
    assert!(env.disk() == before, "doctor changed the tracker");
    let db = env.home().join("orchestron.db");
    let cases: [(&str, Vec<u8>); 2] = [
        ("empty (zero bytes)", Vec::new()),
        (
            "not a tracker database",
            b"this is not a database, not at all, no".repeat(200),
        ),
    ];
    for (words, bytes) in cases {
        std::fs::write(&db, &bytes).unwrap();
        let found = check(&env);
        assert_eq!(found["status"], "fail", "{found}");
        let detail = found["detail"].as_str().unwrap();
        assert!(
            detail.contains(words) && detail.contains("backup"),
            "{detail}"
        );
        env.refuses(&["doctor"], 1);
    }
    std::fs::remove_file(&db).unwrap();
    create(&env, &["y"]);
    rusqlite::Connection::open(&db)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let found = check(&env);
    assert_eq!(found["status"], "fail", "{found}");
    assert!(
        found["detail"]
            .as_str()
            .unwrap()
            .contains("upgrade orchestron"),
        "{found}"
    );
}
