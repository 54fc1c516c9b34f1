//! `orchestron decide`, `decision …` and `memory …`.

use serde_json::json;

use crate::TestEnv;

#[test]
fn decisions_are_recorded_listed_and_shown() {
    let env = TestEnv::new();
    let task = env
        .run(&["task", "create", "Storage"])
        .ok()
        .trim()
        .to_owned();
    let id = env
        .run(&[
            "decide",
            "Use PostgreSQL",
            "--rationale",
            "relational data, team knows it",
            "--alternatives",
            "PostgreSQL,MySQL,SQLite",
            "--pros",
            "mature,JSONB",
            "--cons",
            "one more service",
            "--task",
            &task,
        ])
        .ok()
        .trim()
        .to_owned();
    assert!(id.starts_with("DEC-"), "{id}");
    let shown = env.run(&["decision", "show", &id, "--json"]).json();
    assert_eq!(shown["schema_version"], 1);
    assert_eq!(
        shown["alternatives"],
        json!(["PostgreSQL", "MySQL", "SQLite"])
    );
    assert_eq!(shown["pros"], json!(["mature", "JSONB"]));
    assert_eq!(shown["task"], task.as_str());
    let list = env.run(&["decision", "list", "--json"]).json();
    assert_eq!(list[0]["id"], id.as_str());
    let history = env.run(&["task", "history", &task, "--json"]).json();
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["what"] == "decision")
    );
    let text = env.run(&["decision", "show", &id[4..]]).ok().to_owned();
    assert!(text.contains("rationale: relational data"), "{text}");
    let before = env.disk();
    env.refuses(&["decide", " "], 1);
    env.refuses(&["decide", "x", "--task", "TASK-nope"], 1);
    env.refuses(&["decision", "show", "DEC-nope"], 1);
    assert_eq!(env.disk(), before);
}

#[test]
fn memory_reaches_the_next_agent_and_is_searchable() {
    let env = TestEnv::new();
    env.run(&[
        "memory",
        "add",
        "pitfall",
        "auth-tokens",
        "--description",
        "Tokens expire after 15 minutes",
        "--confidence",
        "0.9",
        "--detail",
        "refresh before long jobs",
    ])
    .ok();
    env.run(&[
        "memory",
        "add",
        "pattern",
        "errors",
        "--description",
        "Wrap errors with context",
    ])
    .ok();
    let entry = env
        .run(&["memory", "get", "pitfall", "auth-tokens", "--json"])
        .json();
    assert_eq!(entry["confidence"], 0.9);
    assert_eq!(entry["details"], json!(["refresh before long jobs"]));
    env.run(&[
        "memory",
        "update",
        "pitfall",
        "auth-tokens",
        "--add-detail",
        "the CLI refreshes itself",
        "--confidence",
        "0.95",
    ])
    .ok();
    let entry = env
        .run(&["memory", "get", "pitfall", "auth-tokens", "--json"])
        .json();
    assert_eq!(entry["details"].as_array().unwrap().len(), 2);
    assert_eq!(entry["confidence"], 0.95);

    let found = env.run(&["memory", "search", "expire", "--json"]).json();
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["key"], "auth-tokens");
    let found = env.run(&["memory", "search", "refresh", "--json"]).json();
    assert_eq!(
        found[0]["key"], "auth-tokens",
        "details are searched, updates included"
    );
    assert_eq!(
        env.run(&["memory", "search", "nothing-like-it", "--json"])
            .json(),
        json!([])
    );
    // FTS5 syntax in the text is just text.
    env.run(&["memory", "search", "\"AND OR (", "--json"]).ok();
    let list = env
        .run(&["memory", "list", "--kind", "pattern", "--json"])
        .json();
    assert_eq!(list.as_array().unwrap().len(), 1);

    let before = env.disk();
    env.refuses(&["memory", "add", "pitfall", "auth-tokens"], 1);
    env.refuses(&["memory", "add", "x", "y", "--confidence", "1.5"], 1);
    env.refuses(
        &["memory", "update", "x", "missing", "--add-detail", "d"],
        1,
    );
    env.refuses(&["memory", "get", "x", "missing"], 1);
    assert_eq!(env.disk(), before);

    // Decisions and memory travel with an export.
    env.run(&["decide", "Keep tokens short"]).ok();
    let exported = env.run(&["export"]).ok().to_owned();
    assert!(exported.contains("\"type\":\"memory\"") && exported.contains("\"type\":\"decision\""));
    let file = env.path().join("e.jsonl");
    std::fs::write(&file, &exported).unwrap();
    let other = TestEnv::new();
    other.run(&["import", file.to_str().unwrap()]).ok();
    assert_eq!(other.run(&["export"]).ok(), exported);
    assert_eq!(
        other.run(&["memory", "search", "expire", "--json"]).json()[0]["key"],
        "auth-tokens"
    );
}
