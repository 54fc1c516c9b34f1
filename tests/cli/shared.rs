//! `orchestron shared …`: the V2 shared-state commands over the tracker.

use serde_json::json;

use crate::TestEnv;

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
        .output()
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
