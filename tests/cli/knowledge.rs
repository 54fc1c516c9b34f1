//! `orchestron decide`, `decision …` and `memory …`.

use serde_json::{Value, json};

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

/// The kind of error a refused command reports under `--json`, after proving it changed
/// nothing on disk.
#[track_caller]
fn refused_kind(env: &TestEnv, args: &[&str]) -> (String, Value) {
    let mut with_json = args.to_vec();
    with_json.push("--json");
    let stderr = env.refuses(&with_json, 1);
    let error: Value = serde_json::from_str(&stderr)
        .unwrap_or_else(|err| panic!("{args:?}: stderr is not JSON ({err}): {stderr}"));
    (
        error["error"]["kind"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        error["error"].clone(),
    )
}

/// A project with a task, a decision and a memory entry.
fn used_project() -> (TestEnv, String) {
    let env = TestEnv::new();
    let task = env
        .run(&["task", "create", "Storage"])
        .ok()
        .trim()
        .to_owned();
    env.run(&["decide", "Use PostgreSQL", "--task", &task]).ok();
    env.run(&["memory", "add", "pitfall", "tokens", "--detail", "expire"])
        .ok();
    (env, task)
}

#[test]
fn bad_knowledge_input_is_refused_before_anything_is_created() {
    let cases: [(&[&str], &str); 23] = [
        (&["decide", ""], "invalid"),
        (&["decide", " \t"], "invalid"),
        (&["decide", "x", "--task", "TASK-nope"], "not_found"),
        (&["decide", "x", "--task", " "], "invalid"),
        (&["decision", "show", "DEC-nope"], "not_found"),
        (&["decision", "show", " "], "invalid"),
        (&["memory", "add", " ", "key"], "invalid"),
        (&["memory", "add", "kind", ""], "invalid"),
        (
            &["memory", "add", "x", "y", "--confidence", "1.5"],
            "invalid",
        ),
        (
            &["memory", "add", "x", "y", "--confidence", "-0.1"],
            "invalid",
        ),
        (
            &["memory", "add", "x", "y", "--confidence", "NaN"],
            "invalid",
        ),
        (
            &["memory", "add", "x", "y", "--confidence", "inf"],
            "invalid",
        ),
        (
            &["memory", "update", "x", "y", "--confidence", "NaN"],
            "invalid",
        ),
        (
            &["memory", "update", "x", "y", "--confidence", "2"],
            "invalid",
        ),
        (
            &["memory", "update", "", "y", "--add-detail", "d"],
            "invalid",
        ),
        (
            &["memory", "update", "x", "missing", "--add-detail", "d"],
            "not_found",
        ),
        (&["memory", "get", "x", "missing"], "not_found"),
        (&["memory", "get", "x", " "], "invalid"),
        (&["memory", "search", " "], "invalid"),
        (&["memory", "search", "\""], "invalid"),
        (&["memory", "search", "( * -"], "invalid"),
        (&["memory", "search", "\"\""], "invalid"),
        (&["memory", "search", "^"], "invalid"),
    ];
    let (used, _) = used_project();
    let fresh = TestEnv::new();
    for env in [&used, &fresh] {
        for (args, kind) in &cases {
            let (found, error) = refused_kind(env, args);
            assert_eq!(found, *kind, "{args:?}: {error}");
        }
    }
    assert!(
        !fresh.home().join("orchestron.db").exists(),
        "a refused command created the tracker"
    );
}

#[test]
fn a_decision_about_a_missing_task_creates_no_tracker() {
    let env = TestEnv::new();
    let stderr = env.refuses(&["decide", "Use PostgreSQL", "--task", "TASK-nope"], 1);
    assert!(stderr.contains("item `TASK-nope` not found"), "{stderr}");
    assert!(!env.home().join("orchestron.db").exists());
}

#[test]
fn knowledge_reads_never_create_the_tracker() {
    let env = TestEnv::new();
    let before = env.disk();
    assert_eq!(env.run(&["decision", "list", "--json"]).json(), json!([]));
    assert_eq!(env.run(&["memory", "list", "--json"]).json(), json!([]));
    assert_eq!(
        env.run(&["memory", "list", "--kind", "pitfall", "--json"])
            .json(),
        json!([])
    );
    assert_eq!(
        env.run(&["memory", "search", "tokens", "--json"]).json(),
        json!([])
    );
    env.refuses(&["memory", "get", "pitfall", "tokens"], 1);
    env.refuses(&["decision", "show", "DEC-1"], 1);
    assert_eq!(env.disk(), before);
    assert!(!env.home().join("orchestron.db").exists());
}

#[test]
fn fts5_syntax_in_search_text_is_text_or_an_invalid_request_never_a_sqlite_error() {
    let (env, _) = used_project();
    // Quotes, brackets and stars among words are only text: the words are searched.
    for text in [
        "\"tokens", "tokens (", "tokens*", "(tokens)", "tokens -", "tokens:",
    ] {
        let found = env.run(&["memory", "search", text, "--json"]).json();
        assert_eq!(found[0]["key"], "tokens", "{text}: {found}");
    }
    assert_eq!(
        env.run(&["memory", "search", "AND", "--json"]).json(),
        json!([]),
        "`AND` is a word like any other"
    );
    env.run(&[
        "memory",
        "add",
        "pattern",
        "and-or",
        "--description",
        "AND or OR",
    ])
    .ok();
    let found = env.run(&["memory", "search", "AND OR", "--json"]).json();
    assert_eq!(found[0]["key"], "and-or", "{found}");
    // Text with nothing to search for is the request's fault, with a hint.
    let (kind, error) = refused_kind(&env, &["memory", "search", "\""]);
    assert_eq!(kind, "invalid", "{error}");
    assert!(
        error["hint"]
            .as_str()
            .is_some_and(|hint| hint.contains("words")),
        "{error}"
    );
    let stderr = env.refuses(&["memory", "search", "\""], 1);
    assert!(
        !stderr.contains("fts5") && !stderr.contains("Error code"),
        "{stderr}"
    );
}

#[test]
fn stored_lists_that_do_not_parse_are_an_error_naming_the_record_never_replaced() {
    let (env, _) = used_project();
    let decision = env.run(&["decision", "list", "--json"]).json()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let db = rusqlite::Connection::open(env.home().join("orchestron.db")).unwrap();
    db.execute(
        "UPDATE decisions SET pros = '[\"fast\"' WHERE id = ?1",
        [&decision],
    )
    .unwrap();
    db.execute(
        "UPDATE memory SET details = 'not json' WHERE key = 'tokens'",
        [],
    )
    .unwrap();
    drop(db);
    let stored = || -> (String, String) {
        let db = rusqlite::Connection::open(env.home().join("orchestron.db")).unwrap();
        (
            db.query_row("SELECT pros FROM decisions", [], |row| row.get(0))
                .unwrap(),
            db.query_row("SELECT details FROM memory", [], |row| row.get(0))
                .unwrap(),
        )
    };
    let before = stored();
    let decision_record = format!("decision `{decision}`");
    for (args, names) in [
        (
            vec!["decision", "show", decision.as_str()],
            decision_record.as_str(),
        ),
        (vec!["decision", "list"], decision_record.as_str()),
        (
            vec!["memory", "get", "pitfall", "tokens"],
            "memory `pitfall tokens`",
        ),
        (vec!["memory", "list"], "memory `pitfall tokens`"),
        (
            vec!["memory", "search", "tokens"],
            "memory `pitfall tokens`",
        ),
        (
            vec![
                "memory",
                "update",
                "pitfall",
                "tokens",
                "--add-detail",
                "more",
            ],
            "memory `pitfall tokens`",
        ),
    ] {
        let (kind, error) = refused_kind(&env, &args);
        assert_eq!(kind, "internal", "{args:?}: {error}");
        let message = error["message"].as_str().unwrap_or_default();
        assert!(message.contains(names), "{args:?}: {message}");
        assert_eq!(stored(), before, "{args:?} replaced the stored value");
    }
}
