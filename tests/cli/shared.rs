//! `orchestron shared …`: the V2 shared-state commands over the tracker.

use serde_json::json;

use crate::TestEnv;
use crate::Timed as _;

#[test]
fn config_is_created_on_first_read_and_updated_shallowly() {
    let env = TestEnv::new();
    // V2's document, exactly; a second read returns the same one.
    let config = env.run(&["shared", "get-config", "myapp"]).json();
    assert_eq!(
        config,
        json!({
            "project_id": "myapp",
            "created_at": crate::NOW,
            "settings": {},
            "team": {},
            "environments": {},
            "metadata": {},
            "schema_version": 1,
        })
    );
    assert_eq!(env.run(&["shared", "get-config", "myapp"]).json(), config);
    let updated = env
        .run(&[
            "shared",
            "set-config",
            "myapp",
            "--data",
            r#"{"settings": {"velocity_target": 20}, "team": {"leads": ["lead"]}}"#,
        ])
        .json();
    assert_eq!(
        updated["settings"],
        json!({"velocity_target": 20}),
        "top-level keys are replaced"
    );
    assert_eq!(updated["team"]["leads"], json!(["lead"]));
    assert_eq!(
        env.run(&["shared", "get-config", "myapp"]).json()["settings"]["velocity_target"],
        20
    );
    let before = env.disk();
    env.refuses(&["shared", "set-config", "myapp", "--data", "[1]"], 1);
    env.refuses(&["shared", "set-config", "myapp", "--data", "{"], 1);
    assert_eq!(env.disk(), before);
}

#[test]
fn epics_and_sprints_are_the_trackers_own() {
    let env = TestEnv::new();
    let epic = env
        .run(&[
            "shared",
            "update-epic",
            "myapp",
            "user-auth",
            "--title",
            "User Authentication",
            "--description",
            "OAuth2",
            "--priority",
            "1",
            "--status",
            "in_progress",
            "--data",
            r#"{"owner": "ana"}"#,
        ])
        .json();
    assert_eq!(epic["id"], "user-auth");
    assert_eq!(epic["status"], "in_progress");
    assert_eq!(epic["priority"], 1);
    // `--data` keys join the record, as in V2.
    assert_eq!(epic["owner"], "ana");
    let id = epic["tracker_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("EPIC-"));
    // The same epic in the tracker, with the lifecycle's words.
    let item = env.run(&["task", "show", &id, "--json"]).json();
    assert_eq!(
        (item["status"].as_str(), item["priority"].as_str()),
        (Some("IN_PROGRESS"), Some("CRITICAL"))
    );
    // Every field given is stored, on update too; V2 status words apply as they come.
    env.run(&[
        "shared",
        "update-epic",
        "myapp",
        "user-auth",
        "--status",
        "completed",
        "--priority",
        "5",
    ])
    .ok();
    let epic = env
        .run(&["shared", "get-epic", "myapp", "user-auth"])
        .json();
    assert_eq!(
        (epic["status"].as_str(), epic["priority"].as_i64()),
        (Some("completed"), Some(5))
    );
    assert_eq!(epic["title"], "User Authentication");
    assert_eq!(
        env.run(&["shared", "list-epics", "myapp", "--status", "completed"])
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        env.run(&["shared", "list-epics", "myapp", "--status", "planned"])
            .json(),
        json!([])
    );
    env.refuses(
        &["shared", "update-epic", "myapp", "x", "--priority", "6"],
        2,
    );
    env.refuses(
        &["shared", "update-epic", "myapp", "x", "--status", "done"],
        2,
    );

    let sprint = env
        .run(&[
            "shared",
            "create-sprint",
            "myapp",
            "sprint-1",
            "Authentication Sprint",
            "--epic-id",
            "user-auth",
            "--data",
            r#"{"goals": ["OAuth2"]}"#,
        ])
        .json();
    assert_eq!(
        (sprint["id"].as_str(), sprint["status"].as_str()),
        (Some("sprint-1"), Some("planned"))
    );
    assert_eq!(sprint["epic_id"], "user-auth");
    assert_eq!(sprint["goals"], json!(["OAuth2"]));
    env.refuses(
        &[
            "shared",
            "create-sprint",
            "myapp",
            "sprint-2",
            "x",
            "--epic-id",
            "nope",
        ],
        1,
    );
    // Creating it again replaces the record, as V2 did (the issue's change: it was refused).
    let again = env
        .run(&[
            "shared",
            "create-sprint",
            "myapp",
            "sprint-1",
            "Authentication Sprint",
            "--epic-id",
            "user-auth",
            "--data",
            r#"{"goals": ["OAuth2"]}"#,
        ])
        .json();
    assert_eq!(again["tracker_id"], sprint["tracker_id"]);
    assert_eq!(
        env.run(&["shared", "list-sprints", "myapp"])
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let updated = env
        .run(&[
            "shared",
            "update-sprint",
            "myapp",
            "sprint-1",
            "--status",
            "active",
            "--name",
            "Auth",
            "--data",
            r#"{"velocity": 18}"#,
        ])
        .json();
    assert_eq!(
        (updated["status"].as_str(), updated["name"].as_str()),
        (Some("active"), Some("Auth"))
    );
    assert_eq!(
        (&updated["goals"], &updated["velocity"]),
        (&json!(["OAuth2"]), &json!(18))
    );
    // It is the tracker's sprint: `sprint show` knows it.
    let tracker_id = updated["tracker_id"].as_str().unwrap();
    assert_eq!(
        env.run(&["sprint", "show", tracker_id, "--json"]).json()["status"],
        "active"
    );
    assert_eq!(
        env.run(&["shared", "get-sprint", "myapp", "sprint-1"])
            .json()["name"],
        "Auth"
    );
    assert_eq!(
        env.run(&["shared", "list-sprints", "myapp", "--status", "active"])
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        env.run(&["shared", "list-sprints", "myapp", "--epic-id", "user-auth"])
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn sprints_made_by_sprint_create_show_up_in_the_default_project() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.home()).unwrap();
    std::fs::write(
        env.home().join("config.json"),
        r#"{"tracker": {"project": "shop"}}"#,
    )
    .unwrap();
    let id = env
        .run(&["sprint", "create", "Sprint 1"])
        .ok()
        .trim()
        .to_owned();
    let list = env.run(&["shared", "list-sprints", "shop"]).json();
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["tracker_id"], id.as_str());
}

#[test]
fn tools_register_once_and_keep_their_first_registration_time() {
    let env = TestEnv::new();
    let first = env
        .run(&[
            "shared",
            "register-tool",
            "--name",
            "security-scanner",
            "--type",
            "agent",
            "--description",
            "scans",
            "--dependencies",
            r#"["bandit", "safety"]"#,
            "--config",
            r#"{"scan_level": "strict"}"#,
        ])
        .json();
    assert_eq!(first["dependencies"], json!(["bandit", "safety"]));
    let later = env
        .command(&[
            "shared",
            "register-tool",
            "--name",
            "security-scanner",
            "--type",
            "agent",
            "--version",
            "2",
        ])
        .env("ORCHESTRON_NOW", "2026-02-01T00:00:00Z")
        .timed_output()
        .unwrap();
    let later: serde_json::Value = serde_json::from_slice(&later.stdout).unwrap();
    assert_eq!(later["registered_at"], first["registered_at"]);
    assert_ne!(later["updated_at"], first["updated_at"]);
    assert_eq!(later["version"], "2");
    env.run(&[
        "shared",
        "register-tool",
        "--name",
        "lint",
        "--type",
        "hook",
    ])
    .ok();
    assert_eq!(
        env.run(&["shared", "list-tools", "--type", "agent"])
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        env.run(&["shared", "get-tool", "lint"]).json()["type"],
        "hook"
    );
    env.refuses(&["shared", "get-tool", "nope"], 1);
    env.refuses(
        &["shared", "register-tool", "--name", "x", "--type", "robot"],
        2,
    );
    env.refuses(
        &[
            "shared",
            "register-tool",
            "--name",
            "x",
            "--type",
            "agent",
            "--dependencies",
            "{}",
        ],
        1,
    );
}

#[test]
fn epics_keep_their_v2_id_through_export_and_import() {
    let env = TestEnv::new();
    env.run(&[
        "shared",
        "update-epic",
        "myapp",
        "user-auth",
        "--priority",
        "2",
        "--data",
        r#"{"owner": "ana"}"#,
    ])
    .ok();
    let exported = env.run(&["export"]).ok().to_owned();
    let file = env.path().join("e.jsonl");
    std::fs::write(&file, &exported).unwrap();
    let other = TestEnv::new();
    other.run(&["import", file.to_str().unwrap()]).ok();
    assert_eq!(other.run(&["export"]).ok(), exported);
    let epic = other
        .run(&["shared", "get-epic", "myapp", "user-auth"])
        .json();
    assert_eq!(
        (epic["priority"].as_i64(), epic["owner"].as_str()),
        (Some(2), Some("ana"))
    );
}

/// The tracker item behind a V2 epic.
fn tracker_item(env: &TestEnv, epic: &serde_json::Value) -> serde_json::Value {
    let id = epic["tracker_id"].as_str().expect("a tracker id");
    env.run(&["task", "show", id, "--json"]).json()
}

#[test]
fn shared_completed_gave_done_with_progress_0() {
    let env = TestEnv::new();
    let epic = env
        .run(&[
            "shared",
            "update-epic",
            "myapp",
            "auth",
            "--status",
            "in_progress",
        ])
        .json();
    let done = env
        .run(&[
            "shared",
            "update-epic",
            "myapp",
            "auth",
            "--status",
            "completed",
        ])
        .json();
    assert_eq!(done["status"], "completed");
    assert_eq!(done["completed_at"], crate::NOW);
    let item = tracker_item(&env, &epic);
    assert_eq!(
        (item["status"].as_str(), item["progress"].as_i64()),
        (Some("DONE"), Some(100))
    );
    assert_eq!(item["completed_at"], crate::NOW);
    // The move is in the item's history, as every status change is.
    let history = env
        .run(&[
            "task",
            "history",
            epic["tracker_id"].as_str().unwrap(),
            "--json",
        ])
        .json();
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|event| event["what"] == "status" && event["detail"]["to"] == "DONE"),
        "{history}"
    );
    // Leaving completed clears `completed_at`.
    let reopened = env
        .run(&[
            "shared",
            "update-epic",
            "myapp",
            "auth",
            "--status",
            "in_progress",
        ])
        .json();
    assert_eq!(reopened["completed_at"], json!(null));
    assert_eq!(tracker_item(&env, &epic)["completed_at"], json!(null));
}

#[test]
fn shared_in_progress_kept_a_blocked_epics_reason() {
    let env = TestEnv::new();
    let epic = env
        .run(&[
            "shared",
            "update-epic",
            "myapp",
            "auth",
            "--status",
            "in_progress",
        ])
        .json();
    let id = epic["tracker_id"].as_str().unwrap();
    env.run(&[
        "task",
        "update",
        id,
        "--status",
        "BLOCKED",
        "--reason",
        "waiting for the vendor",
    ])
    .ok();
    let blocked = env.run(&["shared", "get-epic", "myapp", "auth"]).json();
    assert_eq!(blocked["status"], "blocked");
    env.run(&[
        "shared",
        "update-epic",
        "myapp",
        "auth",
        "--status",
        "in_progress",
    ])
    .ok();
    let item = tracker_item(&env, &epic);
    assert_eq!(item["status"], "IN_PROGRESS");
    assert_eq!(item["blocked_reason"], json!(null));
}

#[test]
fn a_stored_data_column_that_does_not_parse_was_replaced_by_an_empty_object() {
    let env = TestEnv::new();
    env.run(&[
        "shared",
        "update-epic",
        "myapp",
        "auth",
        "--data",
        r#"{"owner": "ana"}"#,
    ])
    .ok();
    env.run(&["shared", "create-sprint", "myapp", "s1", "Sprint"])
        .ok();
    env.run(&["shared", "get-config", "myapp"]).ok();
    let db = rusqlite::Connection::open(env.home().join("orchestron.db")).unwrap();
    db.execute(
        "UPDATE items SET data = '{\"owner\": ' WHERE v2_key = 'auth'",
        [],
    )
    .unwrap();
    db.execute(
        "UPDATE sprints SET data = 'not json' WHERE v2_key = 's1'",
        [],
    )
    .unwrap();
    db.execute("UPDATE configs SET data = '[1' WHERE project = 'myapp'", [])
        .unwrap();
    drop(db);
    let stored = |table: &str, key: &str| -> String {
        let db = rusqlite::Connection::open(env.home().join("orchestron.db")).unwrap();
        let sql = match table {
            "configs" => "SELECT data FROM configs WHERE project = ?1".to_owned(),
            _ => format!("SELECT data FROM {table} WHERE v2_key = ?1"),
        };
        db.query_row(&sql, [key], |row| row.get(0)).unwrap()
    };
    for (args, names) in [
        (vec!["shared", "get-epic", "myapp", "auth"], "epic `auth`"),
        (vec!["shared", "list-epics", "myapp"], "epic `auth`"),
        (
            vec!["shared", "update-epic", "myapp", "auth", "--title", "T"],
            "epic `auth`",
        ),
        (
            vec![
                "shared",
                "update-epic",
                "myapp",
                "auth",
                "--data",
                r#"{"a": 1}"#,
            ],
            "epic `auth`",
        ),
        (vec!["shared", "get-sprint", "myapp", "s1"], "sprint `s1`"),
        (
            vec![
                "shared",
                "update-sprint",
                "myapp",
                "s1",
                "--data",
                r#"{"a": 1}"#,
            ],
            "sprint `s1`",
        ),
        (
            vec!["shared", "create-sprint", "myapp", "s1", "Replaced"],
            "sprint `s1`",
        ),
        (vec!["shared", "get-config", "myapp"], "project `myapp`"),
        (
            vec!["shared", "set-config", "myapp", "--data", r#"{"a": 1}"#],
            "project `myapp`",
        ),
    ] {
        let run = env.run(&args);
        let stderr = run.fails(1);
        assert!(
            stderr.contains(names) && stderr.contains("does not parse"),
            "`{}`: {stderr}",
            args.join(" ")
        );
    }
    let json = env.run(&["--json", "shared", "get-epic", "myapp", "auth"]);
    let error: serde_json::Value = serde_json::from_str(json.fails(1)).unwrap();
    assert_eq!(error["error"]["kind"], "internal");
    // Nothing was written over what was stored.
    assert_eq!(stored("items", "auth"), "{\"owner\": ");
    assert_eq!(stored("sprints", "s1"), "not json");
    assert_eq!(stored("configs", "myapp"), "[1");
}

#[test]
fn bad_shared_input_in_a_fresh_project_creates_no_database() {
    let env = TestEnv::new();
    for args in [
        &["shared", "set-config", "myapp", "--data", "{"][..],
        &["shared", "set-config", "myapp", "--data", "[1]"],
        &["shared", "set-config", " ", "--data", "{}"],
        &["shared", "get-config", ""],
        &["shared", "update-epic", "myapp", "e", "--data", "{"],
        &[
            "shared",
            "update-epic",
            "myapp",
            "e",
            "--data",
            r#"{"tags": "x"}"#,
        ],
        &[
            "shared",
            "update-epic",
            "myapp",
            "e",
            "--data",
            r#"{"priority": 9}"#,
        ],
        &[
            "shared",
            "update-epic",
            "myapp",
            "e",
            "--data",
            r#"{"status": "done"}"#,
        ],
        &[
            "shared",
            "update-epic",
            "myapp",
            "e",
            "--data",
            r#"{"id": "other"}"#,
        ],
        &["shared", "update-epic", "myapp", "e", "--title", " "],
        &["shared", "update-epic", "myapp", " "],
        &[
            "shared",
            "create-sprint",
            "myapp",
            "s",
            "S",
            "--data",
            "[1]",
        ],
        &[
            "shared",
            "create-sprint",
            "myapp",
            "s",
            "S",
            "--data",
            r#"{"start_date": "not-a-date"}"#,
        ],
        &[
            "shared",
            "create-sprint",
            "myapp",
            "s",
            "S",
            "--data",
            r#"{"start_date": "2024-01-29", "end_date": "2024-01-15"}"#,
        ],
        &[
            "shared",
            "create-sprint",
            "myapp",
            "s",
            "S",
            "--data",
            r#"{"status": "done"}"#,
        ],
        &[
            "shared",
            "create-sprint",
            "myapp",
            "s",
            "S",
            "--data",
            r#"{"goals": [1]}"#,
        ],
        &[
            "shared",
            "create-sprint",
            "myapp",
            "s",
            "S",
            "--data",
            r#"{"capacity": -1}"#,
        ],
        &["shared", "create-sprint", "myapp", "s", " "],
        &["shared", "update-sprint", "myapp", "s", "--data", "{"],
        &[
            "shared",
            "register-tool",
            "--name",
            "t",
            "--type",
            "agent",
            "--dependencies",
            "{",
        ],
        &[
            "shared",
            "register-tool",
            "--name",
            "t",
            "--type",
            "agent",
            "--dependencies",
            "[1]",
        ],
        &[
            "shared",
            "register-tool",
            "--name",
            "t",
            "--type",
            "agent",
            "--config",
            "[]",
        ],
        &["shared", "register-tool", "--name", " ", "--type", "agent"],
    ] {
        env.refuses(args, 1);
    }
    assert!(!env.home().join("orchestron.db").exists());
    // Reads of a project that has nothing create nothing either.
    for args in [
        &["shared", "list-epics", "myapp"][..],
        &["shared", "list-sprints", "myapp"],
        &["shared", "list-tools"],
    ] {
        let before = env.disk();
        assert_eq!(env.run(args).json(), json!([]));
        assert_eq!(env.disk(), before);
    }
    env.refuses(&["shared", "get-epic", "myapp", "e"], 1);
    env.refuses(&["shared", "get-sprint", "myapp", "s"], 1);
    env.refuses(&["shared", "get-tool", "t"], 1);
}

#[test]
fn shared_lists_are_in_v2_order_and_records_have_v2_defaults() {
    let env = TestEnv::new();
    for (epic, priority) in [("low", "4"), ("first-urgent", "1"), ("second-urgent", "1")] {
        env.run(&[
            "shared",
            "update-epic",
            "myapp",
            epic,
            "--priority",
            priority,
        ])
        .ok();
    }
    let untitled = env.run(&["shared", "update-epic", "myapp", "plain"]).json();
    assert_eq!(untitled["title"], "Epic plain");
    assert_eq!(
        (
            untitled["priority"].as_i64(),
            untitled["description"].as_str()
        ),
        (Some(3), Some(""))
    );
    let ids = |list: serde_json::Value, key: &str| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|record| record[key].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        ids(env.run(&["shared", "list-epics", "myapp"]).json(), "id"),
        ["first-urgent", "second-urgent", "plain", "low"]
    );
    for (sprint, now) in [
        ("old", "2026-01-01T00:00:00Z"),
        ("new", "2026-01-03T00:00:00Z"),
        ("middle", "2026-01-02T00:00:00Z"),
    ] {
        let run = env
            .command(&["shared", "create-sprint", "myapp", sprint, sprint])
            .env("ORCHESTRON_NOW", now)
            .timed_output()
            .unwrap();
        assert!(run.status.success());
    }
    assert_eq!(
        ids(env.run(&["shared", "list-sprints", "myapp"]).json(), "id"),
        ["new", "middle", "old"]
    );
    for (name, kind) in [
        ("zeta", "agent"),
        ("beta", "hook"),
        ("alpha", "hook"),
        ("mid", "agent"),
    ] {
        env.run(&["shared", "register-tool", "--name", name, "--type", kind])
            .ok();
    }
    let tools = env.run(&["shared", "list-tools"]).json();
    assert_eq!(ids(tools.clone(), "name"), ["mid", "zeta", "alpha", "beta"]);
    assert_eq!(tools[0]["version"], "1.0.0");
    assert_eq!(tools[0]["description"], "");
}

/// The V2 user guide (`docs/USER_GUIDE.md` of V2): its setup steps 1-4 and its shared-state
/// command reference, with `orchestron` in place of `uv run .claude/scripts/…py`.
#[test]
fn v2_user_guide_runs_unchanged() {
    let env = TestEnv::new();
    // 1. Initialize your first session.
    let session = env
        .run(&[
            "session",
            "create",
            "--mode",
            "development",
            "--project",
            "myapp",
            "--metadata",
            r#"{"team": "engineering", "priority": "high"}"#,
        ])
        .ok()
        .trim()
        .to_owned();
    // 2. Verify state management.
    assert!(
        env.run(&["session", "list", "--active"])
            .ok()
            .contains(&session)
    );
    let state = env.run(&["state", "get", &session, "session"]).json();
    assert_eq!(state["mode"], "development");
    // 3. Configure project settings.
    let settings = json!({
        "default_sprint_length": 14,
        "velocity_target": 20,
        "team_capacity": 5
    });
    let team = json!({
        "leads": ["engineering-lead", "product-manager"],
        "members": ["engineering-fullstack", "engineering-ux", "qa-analyst"]
    });
    let data = json!({"settings": settings, "team": team}).to_string();
    env.run(&["shared", "set-config", "myapp", "--data", &data])
        .ok();
    let config = env.run(&["shared", "get-config", "myapp"]).json();
    assert_eq!(
        (&config["project_id"], &config["settings"], &config["team"]),
        (&json!("myapp"), &settings, &team)
    );
    assert_eq!(
        (&config["environments"], &config["metadata"]),
        (&json!({}), &json!({}))
    );
    assert_eq!(config["created_at"], crate::NOW);
    // 4. Create your first epic and sprint.
    env.run(&[
        "shared",
        "update-epic",
        "myapp",
        "user-auth",
        "--title",
        "User Authentication System",
        "--description",
        "Complete OAuth2 authentication with social login",
        "--priority",
        "1",
    ])
    .ok();
    env.run(&[
        "shared",
        "create-sprint",
        "myapp",
        "sprint-1",
        "Authentication Sprint",
        "--epic-id",
        "user-auth",
        "--data",
        r#"{
    "start_date": "2024-01-15",
    "end_date": "2024-01-29",
    "goals": ["OAuth2 integration", "Social login", "User management"]
  }"#,
    ])
    .ok();

    // The shared-state command reference.
    let epic = env
        .run(&[
            "shared",
            "update-epic",
            "myapp",
            "user-auth",
            "--status",
            "in_progress",
        ])
        .json();
    let keys = |record: &serde_json::Value| -> Vec<String> {
        let mut keys: Vec<String> = record.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    for key in [
        "id",
        "title",
        "description",
        "status",
        "priority",
        "completed_at",
        "tags",
        "metadata",
        "created_at",
        "updated_at",
    ] {
        assert!(keys(&epic).contains(&key.to_owned()), "{key} in {epic}");
    }
    assert_eq!(
        json!({
            "id": epic["id"],
            "title": epic["title"],
            "description": epic["description"],
            "status": epic["status"],
            "priority": epic["priority"],
            "completed_at": epic["completed_at"],
            "tags": epic["tags"],
            "metadata": epic["metadata"],
            "created_at": epic["created_at"],
            "updated_at": epic["updated_at"],
        }),
        json!({
            "id": "user-auth",
            "title": "User Authentication System",
            "description": "Complete OAuth2 authentication with social login",
            "status": "in_progress",
            "priority": 1,
            "completed_at": null,
            "tags": [],
            "metadata": {},
            "created_at": crate::NOW,
            "updated_at": crate::NOW,
        })
    );
    let listed = env
        .run(&["shared", "list-epics", "myapp", "--status", "in_progress"])
        .json();
    assert_eq!(listed, json!([without_version(epic)]));

    let sprints = env
        .run(&["shared", "list-sprints", "myapp", "--status", "planned"])
        .json();
    let sprint = &sprints[0];
    assert_eq!(sprints.as_array().unwrap().len(), 1);
    assert_eq!(
        json!({
            "id": sprint["id"],
            "name": sprint["name"],
            "epic_id": sprint["epic_id"],
            "status": sprint["status"],
            "start_date": sprint["start_date"],
            "end_date": sprint["end_date"],
            "goals": sprint["goals"],
            "tasks": sprint["tasks"],
            "metadata": sprint["metadata"],
            "capacity": sprint["capacity"],
            "created_at": sprint["created_at"],
            "updated_at": sprint["updated_at"],
        }),
        json!({
            "id": "sprint-1",
            "name": "Authentication Sprint",
            "epic_id": "user-auth",
            "status": "planned",
            "start_date": "2024-01-15",
            "end_date": "2024-01-29",
            "goals": ["OAuth2 integration", "Social login", "User management"],
            "tasks": [],
            "metadata": {},
            "capacity": null,
            "created_at": crate::NOW,
            "updated_at": crate::NOW,
        })
    );
    // The tracker's sprint has the same dates: a 14-day sprint from the 15th.
    let tracker_sprint = env
        .run(&[
            "sprint",
            "show",
            sprint["tracker_id"].as_str().unwrap(),
            "--json",
        ])
        .json();
    assert_eq!(
        (
            tracker_sprint["start_date"].as_str(),
            tracker_sprint["duration_days"].as_i64()
        ),
        (Some("2024-01-15"), Some(14))
    );
    // `tasks` lists the sprint's tracker items.
    let task = env
        .run(&["task", "create", "OAuth2 provider", "--json"])
        .json();
    let task_id = task["id"].as_str().unwrap();
    env.run(&[
        "sprint",
        "add",
        sprint["tracker_id"].as_str().unwrap(),
        task_id,
    ])
    .ok();
    assert_eq!(
        env.run(&["shared", "get-sprint", "myapp", "sprint-1"])
            .json()["tasks"],
        json!([task_id])
    );

    // Sprint planning: a sprint with capacity and a velocity target (kept as given).
    let second = env
        .command(&[
            "shared",
            "create-sprint",
            "myapp",
            "sprint-2",
            "Feature Development Sprint",
            "--data",
            r#"{
    "goals": ["Complete user dashboard", "API optimization", "Testing automation"],
    "capacity": 40,
    "velocity_target": 25
  }"#,
        ])
        .env("ORCHESTRON_NOW", "2026-01-02T00:00:00Z")
        .timed_output()
        .unwrap();
    assert!(second.status.success());
    let sprints = env.run(&["shared", "list-sprints", "myapp"]).json();
    assert_eq!(sprints[0]["id"], "sprint-2", "newest first");
    assert_eq!(
        (&sprints[0]["capacity"], &sprints[0]["velocity_target"]),
        (&json!(40), &json!(25))
    );
    assert_eq!(sprints[0]["epic_id"], json!(null));

    // Tool registration.
    let tool = env
        .run(&[
            "shared",
            "register-tool",
            "--name",
            "security-scanner",
            "--type",
            "agent",
            "--description",
            "Automated security vulnerability scanning",
            "--dependencies",
            r#"["bandit", "safety", "semgrep"]"#,
            "--config",
            r#"{"scan_level": "strict", "fail_on": "medium"}"#,
        ])
        .json();
    assert_eq!(tool["version"], "1.0.0");
    let tools = env.run(&["shared", "list-tools", "--type", "agent"]).json();
    assert_eq!(tools.as_array().unwrap().len(), 1);
    assert_eq!(tools[0]["name"], "security-scanner");
    let got = env.run(&["shared", "get-tool", "security-scanner"]).json();
    assert_eq!(
        json!({
            "name": got["name"],
            "type": got["type"],
            "version": got["version"],
            "description": got["description"],
            "path": got["path"],
            "dependencies": got["dependencies"],
            "config": got["config"],
            "registered_at": got["registered_at"],
            "updated_at": got["updated_at"],
        }),
        json!({
            "name": "security-scanner",
            "type": "agent",
            "version": "1.0.0",
            "description": "Automated security vulnerability scanning",
            "path": null,
            "dependencies": ["bandit", "safety", "semgrep"],
            "config": {"scan_level": "strict", "fail_on": "medium"},
            "registered_at": crate::NOW,
            "updated_at": crate::NOW,
        })
    );

    // Completing the epic, as the command reference shows.
    let done = env
        .run(&[
            "shared",
            "update-epic",
            "myapp",
            "user-auth",
            "--status",
            "completed",
        ])
        .json();
    assert_eq!(
        (done["status"].as_str(), done["completed_at"].as_str()),
        (Some("completed"), Some(crate::NOW))
    );
    assert_eq!(
        env.run(&["shared", "list-epics", "myapp", "--status", "completed"])
            .json(),
        json!([without_version(done)])
    );
}

/// A single record as a list shows it: without the version of its shape.
fn without_version(mut record: serde_json::Value) -> serde_json::Value {
    record.as_object_mut().unwrap().remove("schema_version");
    record
}
