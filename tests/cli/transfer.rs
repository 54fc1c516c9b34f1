//! `export` and `import`: the whole tracker round-trips, import refuses whatever the commands
//! that create the same records refuse (naming the line, changing nothing), and export never
//! loses a value it cannot read.

use serde_json::Value;

use crate::TestEnv;

fn create(env: &TestEnv, args: &[&str]) -> String {
    let mut all = vec!["task", "create"];
    all.extend_from_slice(args);
    env.run(&all).ok().trim().to_owned()
}

/// Write `text` beside the state root and return its path.
fn file(env: &TestEnv, name: &str, text: &str) -> String {
    let path = env.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// A store with one of everything export writes.
fn busy_store() -> TestEnv {
    let mut env = TestEnv::new();
    env.set("ORCHESTRON_SESSION", "agent-1");
    let epic = create(&env, &["Epic", "--type", "epic", "--label", "q3"]);
    let story = create(&env, &["Story", "--type", "story", "--parent", &epic]);
    let a = create(&env, &["A", "--parent", &story, "--estimate", "2.5"]);
    let b = create(&env, &["B", "--parent", &story, "--assignee", "ana"]);
    env.run(&["task", "depend", &b, "--on", &a]).ok();
    env.run(&["task", "checkpoint", &a, "drafted", "--done"])
        .ok();
    env.run(&["task", "clarify", &a, "use PostgreSQL"]).ok();
    env.run(&["task", "start", &a]).ok();
    let sprint = env
        .run(&["sprint", "create", "S1", "--start", "2026-01-05"])
        .ok()
        .trim()
        .to_owned();
    env.run(&["sprint", "add", &sprint, &a, &b]).ok();
    env.run(&["timer", "log", &a, "--hours", "2", "--note", "pairing"])
        .ok();
    env.run(&["decide", "Use PostgreSQL", "--task", &a]).ok();
    env.run(&["memory", "add", "pitfall", "tokens", "--confidence", "0.9"])
        .ok();
    env.run(&["shared", "get-config", "myapp"]).ok();
    env.run(&[
        "shared",
        "set-config",
        "myapp",
        "--data",
        r#"{"settings": {"velocity_target": 30}}"#,
    ])
    .ok();
    env.run(&[
        "shared",
        "register-tool",
        "--name",
        "bandit",
        "--type",
        "command",
        "--dependencies",
        r#"["python"]"#,
        "--config",
        r#"{"level": "high"}"#,
    ])
    .ok();
    env
}

#[test]
fn export_is_the_whole_tracker_and_imports_into_an_empty_one() {
    let env = busy_store();
    let exported = env.run(&["export"]).ok().to_owned();
    let types: Vec<String> = exported
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap()["type"].to_string())
        .collect();
    for wanted in [
        "orchestron-export",
        "item",
        "dependency",
        "checkpoint",
        "comment",
        "event",
        "sprint",
        "sprint_item",
        "time",
        "decision",
        "memory",
        "config",
        "tool",
    ] {
        assert!(
            types.contains(&format!("\"{wanted}\"")),
            "no `{wanted}` line in\n{exported}"
        );
    }

    let path = file(&env, "export.jsonl", &exported);
    let other = TestEnv::new();
    let summary = other.run(&["import", &path, "--json"]).json();
    for (key, count) in [
        ("items", 4),
        ("dependencies", 1),
        ("checkpoints", 1),
        ("comments", 1),
        ("sprints", 1),
        ("sprint_items", 2),
        ("time_entries", 1),
        ("decisions", 1),
        ("memory", 1),
        ("configs", 1),
        ("tools", 1),
    ] {
        assert_eq!(summary[key], count, "{key} in {summary}");
    }
    assert_eq!(
        other.run(&["export"]).ok(),
        exported,
        "export → import → export"
    );
    // The configuration and the tool read back through `shared`.
    let config = other.run(&["shared", "get-config", "myapp"]).json();
    assert_eq!(config["settings"]["velocity_target"], 30);
    let tool = other.run(&["shared", "get-tool", "bandit"]).json();
    assert_eq!(tool["config"]["level"], "high");
    // The text summary names sprints and time entries too.
    let again = other.run(&["import", &path]).ok().to_owned();
    assert!(
        again.contains("sprints") && again.contains("time entries") && again.contains("tools"),
        "{again}"
    );
}

#[test]
fn export_of_a_fresh_project_is_the_header_and_creates_nothing() {
    let env = TestEnv::new();
    let before = env.disk();
    assert_eq!(
        env.run(&["export"]).ok(),
        "{\"type\":\"orchestron-export\",\"version\":1}\n"
    );
    assert_eq!(env.disk(), before);
    assert!(!env.home().join("orchestron.db").exists());
}

#[test]
fn an_export_without_configs_and_tools_still_imports() {
    let env = TestEnv::new();
    let path = file(
        &env,
        "old.jsonl",
        "{\"type\":\"orchestron-export\",\"version\":1}\n\
         {\"type\":\"item\",\"id\":\"TASK-old1\",\"kind\":\"TASK\",\"title\":\"Old\",\"status\":\"TODO\",\"priority\":\"MEDIUM\",\"created_at\":\"2025-06-01T00:00:00Z\",\"updated_at\":\"2025-06-01T00:00:00Z\"}\n",
    );
    let summary = env.run(&["import", &path, "--json"]).json();
    assert_eq!(
        (summary["items"].as_u64(), summary["tools"].as_u64()),
        (Some(1), Some(0))
    );
}

/// Import files that `task create`, `sprint create` and the other commands could never have
/// produced, each refused whole with the line named.
fn bad_imports() -> Vec<(&'static str, String, &'static str)> {
    let item = |id: &str, kind: &str, extra: &str| {
        format!(
            "{{\"type\":\"item\",\"id\":\"{id}\",\"kind\":\"{kind}\",\"title\":\"t\",\"status\":\"TODO\",\"priority\":\"LOW\"{extra}}}\n"
        )
    };
    let sprint = |extra: &str| {
        format!(
            "{{\"type\":\"sprint\",\"id\":\"SPRINT-s1\",\"name\":\"S\",\"status\":\"planned\"{extra}}}\n"
        )
    };
    let header = "{\"type\":\"orchestron-export\",\"version\":1}\n";
    vec![
        (
            "its own parent",
            format!(
                "{header}{}",
                item("STORY-a", "STORY", ",\"parent\":\"STORY-a\"")
            ),
            "line 2",
        ),
        (
            "parent cycle",
            format!(
                "{header}{}{}",
                item("EPIC-a", "EPIC", ",\"parent\":\"STORY-b\""),
                item("STORY-b", "STORY", ",\"parent\":\"EPIC-a\"")
            ),
            "cycle",
        ),
        (
            "a task under a task",
            format!(
                "{header}{}{}",
                item("TASK-a", "TASK", ""),
                item("TASK-b", "TASK", ",\"parent\":\"TASK-a\"")
            ),
            "line 3",
        ),
        (
            "an id of another kind",
            format!("{header}{}", item("EPIC-a", "TASK", "")),
            "line 2",
        ),
        (
            "an id shaped like a path",
            format!("{header}{}", item("TASK-../../etc", "TASK", "")),
            "line 2",
        ),
        (
            "an upper-case id suffix",
            format!("{header}{}", item("TASK-ABC", "TASK", "")),
            "line 2",
        ),
        (
            "progress 999",
            format!("{header}{}", item("TASK-a", "TASK", ",\"progress\":999")),
            "progress",
        ),
        (
            "a negative estimate",
            format!("{header}{}", item("TASK-a", "TASK", ",\"estimate\":-4")),
            "estimate",
        ),
        (
            "an estimate over the limit",
            format!("{header}{}", item("TASK-a", "TASK", ",\"estimate\":1e308")),
            "estimate",
        ),
        (
            "a timestamp such as yesterday",
            format!(
                "{header}{}",
                item("TASK-a", "TASK", ",\"created_at\":\"yesterday\"")
            ),
            "RFC 3339",
        ),
        (
            "an empty title",
            format!(
                "{header}{{\"type\":\"item\",\"id\":\"TASK-a\",\"kind\":\"TASK\",\"title\":\"  \",\"status\":\"TODO\",\"priority\":\"LOW\"}}\n"
            ),
            "line 2",
        ),
        (
            "a sprint of 0 days",
            format!("{header}{}", sprint(",\"duration_days\":0")),
            "duration_days",
        ),
        (
            "a sprint of negative days",
            format!("{header}{}", sprint(",\"duration_days\":-3")),
            "duration_days",
        ),
        (
            "a sprint starting on no date",
            format!("{header}{}", sprint(",\"start_date\":\"not-a-date\"")),
            "start_date",
        ),
        (
            "a sprint starting at a time, not a date",
            format!(
                "{header}{}",
                sprint(",\"start_date\":\"2026-01-05T00:00:00Z\"")
            ),
            "start_date",
        ),
        (
            "a sprint item in no sprint",
            format!(
                "{header}{}{{\"type\":\"sprint_item\",\"sprint\":\"SPRINT-none\",\"item\":\"TASK-a\"}}\n",
                item("TASK-a", "TASK", "")
            ),
            "line 3",
        ),
        (
            "negative hours",
            format!(
                "{header}{}{{\"type\":\"time\",\"item\":\"TASK-a\",\"started_at\":\"2026-01-01T00:00:00Z\",\"hours\":-3}}\n",
                item("TASK-a", "TASK", "")
            ),
            "hours",
        ),
        (
            "a dependency cycle",
            format!(
                "{header}{}{}{{\"type\":\"dependency\",\"item\":\"TASK-a\",\"depends_on\":\"TASK-b\"}}\n\
                 {{\"type\":\"dependency\",\"item\":\"TASK-b\",\"depends_on\":\"TASK-a\"}}\n",
                item("TASK-a", "TASK", ""),
                item("TASK-b", "TASK", "")
            ),
            "cycle",
        ),
        (
            "a tool without a name",
            format!("{header}{{\"type\":\"tool\",\"name\":\"\",\"kind\":\"command\"}}\n"),
            "line 2",
        ),
        (
            "a configuration that is not an object",
            format!("{header}{{\"type\":\"config\",\"project\":\"p\",\"data\":[1]}}\n"),
            "line 2",
        ),
    ]
}

#[test]
fn import_refuses_what_create_refuses_naming_the_line_and_changing_nothing() {
    let fresh = TestEnv::new();
    let used = TestEnv::new();
    create(&used, &["Existing"]);
    for env in [&fresh, &used] {
        for (what, text, says) in bad_imports() {
            let path = file(env, "bad.jsonl", &text);
            let stderr = env.refuses(&["import", &path], 1);
            assert!(stderr.contains(says), "{what}: {stderr}");
            std::fs::remove_file(&path).unwrap();
        }
    }
    assert!(
        !fresh.home().join("orchestron.db").exists(),
        "a refused import created the tracker"
    );
}

#[test]
fn import_checks_parents_and_dependencies_against_the_tracker_too() {
    let env = TestEnv::new();
    let task = create(&env, &["In the tracker"]);
    let cases = [
        (
            format!(
                "{{\"type\":\"item\",\"id\":\"TASK-b\",\"kind\":\"TASK\",\"title\":\"t\",\"status\":\"TODO\",\"priority\":\"LOW\",\"parent\":\"{task}\"}}\n"
            ),
            "cannot sit under",
        ),
        (
            format!(
                "{{\"type\":\"item\",\"id\":\"TASK-b\",\"kind\":\"TASK\",\"title\":\"t\",\"status\":\"TODO\",\"priority\":\"LOW\"}}\n\
                 {{\"type\":\"dependency\",\"item\":\"{task}\",\"depends_on\":\"TASK-b\"}}\n\
                 {{\"type\":\"dependency\",\"item\":\"TASK-b\",\"depends_on\":\"{task}\"}}\n"
            ),
            "cycle",
        ),
        (
            "{\"type\":\"checkpoint\",\"item\":\"TASK-gone\",\"text\":\"x\"}\n".to_owned(),
            "line 1: the item `TASK-gone`",
        ),
    ];
    for (text, says) in cases {
        let path = file(&env, "bad.jsonl", &text);
        let stderr = env.refuses(&["import", &path], 1);
        assert!(stderr.contains(says), "{stderr}");
        std::fs::remove_file(&path).unwrap();
    }
}

#[test]
fn export_refuses_a_data_column_that_does_not_parse_instead_of_losing_it() {
    let env = TestEnv::new();
    let a = create(&env, &["A"]);
    rusqlite::Connection::open(env.home().join("orchestron.db"))
        .unwrap()
        .execute("UPDATE items SET data = '{\"half\": ' WHERE id = ?1", [&a])
        .unwrap();
    let stderr = env.refuses(&["export"], 1);
    assert!(
        stderr.contains(&format!("item `{a}`")) && stderr.contains("`data`"),
        "{stderr}"
    );

    // The same for the registry and the configurations.
    let env = TestEnv::new();
    env.run(&[
        "shared",
        "register-tool",
        "--name",
        "t",
        "--type",
        "command",
    ])
    .ok();
    rusqlite::Connection::open(env.home().join("orchestron.db"))
        .unwrap()
        .execute("UPDATE tools SET config = 'nope'", [])
        .unwrap();
    let stderr = env.refuses(&["export"], 1);
    assert!(stderr.contains("tool `t`"), "{stderr}");
}
