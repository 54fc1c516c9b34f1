//! `orchestron state …`: reads, writes at dot paths and JSONPaths, soft missing paths, hard
//! missing sessions, no-op writes, cleanup, watch, durability and lock timeouts.

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};

use crate::TestEnv;
use crate::TimedChild as _;

const LATER: &str = "2026-01-01T06:00:00Z";

fn with_tasks(env: &TestEnv) -> String {
    let id = env.session("s");
    env.run(&[
        "state",
        "set",
        "s",
        "sprint.tasks",
        r#"{"t1": {"status": "blocked", "assignee": "lead"},
            "t2": {"status": "done", "assignee": "dev"},
            "t3": {"status": "blocked", "assignee": "dev"}}"#,
        "--json-value",
    ])
    .ok();
    env.run(&[
        "state",
        "set",
        "s",
        "list",
        r#"[{"n": 1}, {"n": 2}, {"n": 3}]"#,
        "--json-value",
    ])
    .ok();
    id
}

#[test]
fn get_with_dot_paths() {
    let env = TestEnv::new();
    with_tasks(&env);
    assert_eq!(
        env.run(&["state", "get", "s", "session.mode"]).ok(),
        "development\n"
    );
    assert_eq!(
        env.run(&["state", "get", "s", "session.mode", "--json"])
            .ok(),
        "\"development\"\n"
    );
    assert_eq!(env.run(&["state", "get", "s", "list[1].n"]).ok(), "2\n");
    assert_eq!(env.run(&["state", "get", "s", "list[-1].n"]).ok(), "3\n");
    assert_eq!(
        env.run(&["state", "get", "s", "list.0.n"]).ok(),
        "1\n",
        "V2-style index"
    );
    assert_eq!(
        env.run(&["state", "get", "s", "sprint.tasks.t1", "--json"])
            .json(),
        json!({"status": "blocked", "assignee": "lead"})
    );
    assert_eq!(
        env.run(&["state", "get", "s", "", "--json"]).json(),
        env.document("s")
    );
    env.run(&["state", "set", "s", r#"odd["key.with.dots"]"#, "v"])
        .ok();
    assert_eq!(env.document("s")["odd"]["key.with.dots"], "v");
    assert_eq!(
        env.run(&["state", "get", "s", r#"odd["key.with.dots"]"#])
            .ok(),
        "v\n"
    );
}

#[test]
fn missing_paths_are_soft_unless_strict() {
    let env = TestEnv::new();
    env.session("s");
    assert_eq!(
        env.run(&["state", "get", "s", "no.such.path"]).ok(),
        "null\n"
    );
    assert_eq!(
        env.run(&["state", "get", "s", "session.mode.deeper"]).ok(),
        "null\n"
    );
    env.run(&["state", "get", "s", "no.such", "--strict"])
        .fails(1);
    assert_eq!(env.run(&["state", "get", "s", "$.no[*]"]).ok(), "[]\n");
    env.run(&["state", "get", "s", "$.no[*]", "--strict"])
        .fails(1);
    let before = env.disk();
    env.run(&["state", "delete", "s", "no.such.key"]).ok();
    env.run(&["state", "delete", "s", "$.no[?@.x]"]).ok();
    assert_eq!(env.disk(), before, "deleting a missing key writes nothing");
}

#[test]
fn get_with_jsonpath_filters_over_objects_and_arrays() {
    let env = TestEnv::new();
    with_tasks(&env);
    let blocked = env.run(&[
        "state",
        "get",
        "s",
        "$.sprint.tasks[?(@.status=='blocked')]",
        "--json",
    ]);
    assert_eq!(
        blocked.json(),
        json!([{"status": "blocked", "assignee": "lead"}, {"status": "blocked", "assignee": "dev"}])
    );
    let run = env.run(&[
        "state",
        "get",
        "s",
        "$.list[?@.n > 1].n",
        "--paths",
        "--json",
    ]);
    assert_eq!(
        run.json(),
        json!([{"path": "$['list'][1]['n']", "value": 2}, {"path": "$['list'][2]['n']", "value": 3}])
    );
    // A JSONPath always prints an array, even for one match.
    assert_eq!(
        env.run(&["state", "get", "s", "$.session.mode", "--json"])
            .json(),
        json!(["development"])
    );
    let text = env.run(&["state", "get", "s", "$.list[0]"]).ok().to_owned();
    assert_eq!(text, "[\n  {\n    \"n\": 1\n  }\n]\n");
}

#[test]
fn invalid_paths_fail_with_where() {
    let env = TestEnv::new();
    env.session("s");
    let stderr = env.refuses(&["state", "get", "s", "$.a[?(@.b=="], 1);
    assert!(stderr.contains("invalid JSONPath"), "{stderr}");
    assert!(
        stderr.contains("$.a[?(@.b==\n"),
        "the query is shown: {stderr}"
    );
    assert!(stderr.contains('^'), "{stderr}");
    let stderr = env.refuses(&["state", "set", "s", "a..b", "1"], 1);
    assert!(stderr.contains("invalid path: empty key"), "{stderr}");
    env.refuses(&["state", "set", "s", "$[", "1"], 1);
}

#[test]
fn set_strings_and_json_values() {
    let env = TestEnv::new();
    env.session("s");
    env.run(&["state", "set", "s", "a.b", "42"]).ok();
    env.run(&["state", "set", "s", "a.c", "42", "--json-value"])
        .ok();
    env.run(&["state", "set", "s", "a.list[0]", "first"]).ok();
    let run = env.run(&[
        "state",
        "set",
        "s",
        "a.d",
        r#"{"x": [1, null]}"#,
        "--json-value",
        "--json",
    ]);
    assert_eq!(
        run.json(),
        json!({"success": true, "changed": true, "matched": 1})
    );
    assert_eq!(
        env.document("s")["a"],
        json!({"b": "42", "c": 42, "list": ["first"], "d": {"x": [1, null]}})
    );
    assert_eq!(
        env.run(&["state", "set", "s", "a.b", "x"]).ok(),
        "",
        "quiet for people"
    );
    let stderr = env.refuses(&["state", "set", "s", "a.b", "{bad", "--json-value"], 1);
    assert!(stderr.contains("not valid JSON"), "{stderr}");
    let stderr = env.refuses(&["state", "set", "s", "a.b.deeper", "x"], 1);
    assert!(stderr.contains("`a.b` is a string"), "{stderr}");
    let stderr = env.refuses(&["state", "set", "s", "a.list[5]", "x"], 1);
    assert!(stderr.contains("out of range"), "{stderr}");
    let stderr = env.refuses(&["state", "set", "s", "", "5", "--json-value"], 1);
    assert!(stderr.contains("must stay a JSON object"), "{stderr}");
}

#[test]
fn a_write_that_changes_nothing_writes_nothing() {
    let mut env = TestEnv::new();
    env.session("s");
    env.run(&["state", "set", "s", "k", "v"]).ok();
    env.run(&["state", "merge", "s", "m", "--data", r#"{"a": {"b": 1}}"#])
        .ok();
    env.set("ORCHESTRON_NOW", LATER);
    let before = env.disk();
    let run = env.run(&["state", "set", "s", "k", "v", "--json"]);
    assert_eq!(run.json()["changed"], false);
    env.run(&["state", "set", "s", "$.k", "v"]).ok();
    env.run(&["state", "merge", "s", "m", "--data", r#"{"a": {"b": 1}}"#])
        .ok();
    env.run(&["state", "merge", "s", "$", "--data", r#"{"k": "v"}"#])
        .ok();
    env.run(&["state", "increment", "s", "k2", "--by", "0"])
        .ok(); // creates k2: a change
    assert_ne!(env.disk(), before);
    let before = env.disk();
    env.run(&["state", "increment", "s", "k2", "--by", "0"])
        .ok();
    assert_eq!(
        env.disk(),
        before,
        "adding 0 to an existing number changes nothing"
    );
}

#[test]
fn every_other_write_bumps_last_activity() {
    let mut env = TestEnv::new();
    env.session("s");
    for (index, args) in [
        vec!["state", "set", "s", "a", "1"],
        vec!["state", "merge", "s", "m", "--data", r#"{"x": 1}"#],
        vec!["state", "append", "s", "l", "x"],
        vec!["state", "increment", "s", "n"],
        vec!["state", "delete", "s", "a"],
    ]
    .into_iter()
    .enumerate()
    {
        let now = format!("2026-01-01T0{}:00:00Z", index + 1);
        env.set("ORCHESTRON_NOW", &now);
        env.run(&args).ok();
        assert_eq!(
            env.document("s")["session"]["lifecycle"]["last_activity"],
            now.as_str(),
            "{args:?}"
        );
    }
}

#[test]
fn merge_is_deep_at_any_path_and_at_the_root() {
    let env = TestEnv::new();
    env.session("s");
    env.run(&[
        "state",
        "set",
        "s",
        "cfg",
        r#"{"a": {"x": 1, "l": [1, 2]}, "k": "v"}"#,
        "--json-value",
    ])
    .ok();
    env.run(&[
        "state",
        "merge",
        "s",
        "cfg",
        "--data",
        r#"{"a": {"y": 2, "l": [3]}, "n": null}"#,
    ])
    .ok();
    assert_eq!(
        env.document("s")["cfg"],
        json!({"a": {"x": 1, "y": 2, "l": [3]}, "k": "v", "n": null})
    );
    env.run(&["state", "merge", "s", "", "--data", r#"{"top": 1}"#])
        .ok();
    env.run(&["state", "merge", "s", "$", "--data", r#"{"top2": 2}"#])
        .ok();
    env.run(&[
        "state",
        "merge",
        "s",
        "new.place",
        "--data",
        r#"{"z": true}"#,
    ])
    .ok();
    let doc = env.document("s");
    assert_eq!(
        (doc["top"].clone(), doc["top2"].clone()),
        (json!(1), json!(2))
    );
    assert_eq!(doc["new"], json!({"place": {"z": true}}));
    assert_eq!(doc["session"]["id"], "s", "a root merge keeps the rest");
    let stderr = env.refuses(&["state", "merge", "s", "cfg", "--data", "[1,2]"], 1);
    assert!(stderr.contains("must be a JSON object"), "{stderr}");
    env.refuses(&["state", "merge", "s", "cfg", "--data", "{oops"], 1);
    env.refuses(&["state", "merge", "s", "cfg"], 2);
}

#[test]
fn delete_append_and_increment() {
    let env = TestEnv::new();
    env.session("s");
    env.run(&["state", "append", "s", "log", "one"]).ok();
    env.run(&[
        "state",
        "append",
        "s",
        "log",
        r#"{"two": 2}"#,
        "--json-value",
    ])
    .ok();
    assert_eq!(env.document("s")["log"], json!(["one", {"two": 2}]));
    assert_eq!(env.run(&["state", "increment", "s", "n"]).ok(), "1\n");
    assert_eq!(
        env.run(&["state", "increment", "s", "n", "--by", "5"]).ok(),
        "6\n"
    );
    assert_eq!(
        env.run(&["state", "increment", "s", "n", "--by", "-10"])
            .ok(),
        "-4\n"
    );
    assert_eq!(
        env.run(&["state", "increment", "s", "f", "--by", "0.5"])
            .ok(),
        "0.5\n"
    );
    let run = env.run(&["state", "increment", "s", "n", "--json"]);
    assert_eq!(
        run.json(),
        json!({"success": true, "changed": true, "matched": 1, "value": -3, "values": [-3]})
    );
    let stderr = env.refuses(&["state", "increment", "s", "log"], 1);
    assert!(
        stderr.contains("cannot increment `log`: it is an array"),
        "{stderr}"
    );
    env.refuses(&["state", "increment", "s", "n", "--by", "many"], 1);
    let stderr = env.refuses(&["state", "append", "s", "n", "x"], 1);
    assert!(
        stderr.contains("cannot append to `n`: it is a number"),
        "{stderr}"
    );
    env.run(&["state", "delete", "s", "log[0]"]).ok();
    assert_eq!(env.document("s")["log"], json!([{"two": 2}]));
    env.run(&["state", "delete", "s", "log"]).ok();
    assert_eq!(env.document("s").get("log"), None);
    env.refuses(&["state", "delete", "s", ""], 1);
}

#[test]
fn jsonpath_writes_apply_to_every_match() {
    let env = TestEnv::new();
    with_tasks(&env);
    let run = env.run(&[
        "state",
        "set",
        "s",
        "$.sprint.tasks[?@.status=='blocked'].status",
        "todo",
        "--json",
    ]);
    assert_eq!(run.json()["matched"], 2);
    assert_eq!(
        env.run(&[
            "state",
            "get",
            "s",
            "$.sprint.tasks[?@.status=='todo']",
            "--json"
        ])
        .json()
        .as_array()
        .unwrap()
        .len(),
        2
    );
    env.run(&[
        "state",
        "merge",
        "s",
        "$.sprint.tasks[?@.assignee=='dev']",
        "--data",
        r#"{"team": "eng"}"#,
    ])
    .ok();
    assert_eq!(env.document("s")["sprint"]["tasks"]["t3"]["team"], "eng");
    assert_eq!(env.document("s")["sprint"]["tasks"]["t1"].get("team"), None);
    let run = env.run(&[
        "state",
        "increment",
        "s",
        "$.list[*].n",
        "--by",
        "10",
        "--json",
    ]);
    assert_eq!(
        run.json()["values"],
        json!([11, 12, 13]),
        "reported in document order"
    );
    assert_eq!(
        env.document("s")["list"],
        json!([{"n": 11}, {"n": 12}, {"n": 13}])
    );
    // A filter that matches nothing changes nothing, and says so.
    let before = env.disk();
    let run = env.run(&[
        "state",
        "append",
        "s",
        "$.sprint.tasks.*.tags",
        "x",
        "--json",
    ]);
    assert_eq!(
        run.json(),
        json!({"success": true, "changed": false, "matched": 0})
    );
    assert_eq!(env.disk(), before);
    env.run(&["state", "delete", "s", "$.sprint.tasks[?@.status=='done']"])
        .ok();
    let tasks = env.document("s")["sprint"]["tasks"].clone();
    assert_eq!(
        tasks.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["t1", "t3"]
    );
}

#[test]
fn unknown_sessions_are_hard_and_create_nothing() {
    let env = TestEnv::new();
    for args in [
        vec!["state", "get", "ghost", "a"],
        vec!["state", "set", "ghost", "a", "1"],
        vec!["state", "merge", "ghost", "a", "--data", "{}"],
        vec!["state", "delete", "ghost", "a"],
        vec!["state", "append", "ghost", "a", "1"],
        vec!["state", "increment", "ghost", "a"],
        vec!["state", "watch", "ghost", "a"],
    ] {
        let stderr = env.refuses(&args, 1);
        assert!(
            stderr.contains("session `ghost` not found"),
            "{args:?}: {stderr}"
        );
        assert!(!env.home().exists(), "{args:?} created the state root");
    }
    env.session("other");
    for args in [
        vec!["state", "set", "ghost", "a", "1"],
        vec!["state", "get", "../ghost", "a"],
        vec!["state", "set", "a/b", "a", "1", "--create"],
        vec!["state", "set", "", "a", "1", "--create"],
    ] {
        env.refuses(&args, 1);
    }
    assert!(!env.sessions().join("ghost.lock").exists());
}

#[test]
fn create_flag_makes_a_session_on_first_write() {
    let env = TestEnv::new();
    env.run(&["state", "set", "fresh", "a.b", "1", "--create"])
        .ok();
    let doc = env.document("fresh");
    assert_eq!(doc["a"], json!({"b": "1"}));
    assert_eq!(doc["session"]["id"], "fresh");
    assert_eq!(doc["session"]["mode"], "development");
    assert_eq!(doc["observability"]["events"][0]["type"], "session_created");
    env.run(&["state", "append", "fresh2", "l", "x", "--create"])
        .ok();
    env.run(&["state", "merge", "fresh3", "", "--data", "{}", "--create"])
        .ok();
    env.run(&["state", "increment", "fresh4", "n", "--create"])
        .ok();
    assert_eq!(
        env.run(&["state", "list-sessions", "--json"]).json(),
        json!(["fresh", "fresh2", "fresh3", "fresh4"])
    );
    assert_eq!(
        env.run(&["state", "list-sessions"]).ok(),
        "fresh\nfresh2\nfresh3\nfresh4\n"
    );
}

#[test]
fn cleanup_expired_removes_only_expired_and_skips_unreadable() {
    let mut env = TestEnv::new();
    env.run(&["session", "create", "--id", "short", "--mode", "config"])
        .ok();
    env.run(&["session", "create", "--id", "long", "--mode", "sprint"])
        .ok();
    env.session("naive");
    env.run(&[
        "state",
        "set",
        "naive",
        "session.lifecycle.expiry",
        "2025-01-01T00:00:00",
        "--force",
    ])
    .ok();
    env.session("nonsense");
    env.run(&[
        "state",
        "set",
        "nonsense",
        "session.lifecycle.expiry",
        "tomorrow",
        "--force",
    ])
    .ok();
    std::fs::write(env.sessions().join("torn.json"), "{\"session\": ").unwrap();
    env.set("ORCHESTRON_NOW", "2026-01-02T00:00:00Z");

    let before = env.disk();
    let run = env.run(&["state", "cleanup-expired", "--dry-run", "--json"]);
    let report = run.json();
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["removed"], json!(["short"]));
    let skipped: Vec<&str> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(skipped, ["naive", "nonsense", "torn"]);
    assert!(run.stderr.contains("skipped session `naive`"), "{run}");
    assert_eq!(env.disk(), before, "a dry run changes nothing");

    assert_eq!(
        env.run(&["state", "cleanup-expired"]).ok(),
        "removed short\n"
    );
    assert!(!env.sessions().join("short.json").exists());
    assert!(!env.sessions().join("short.lock").exists());
    for kept in ["long", "naive", "nonsense", "torn"] {
        assert!(
            env.sessions().join(format!("{kept}.json")).exists(),
            "{kept}"
        );
    }
    // An expired session that is recovered is no longer removed.
    env.set("ORCHESTRON_NOW", "2026-02-01T00:00:00Z");
    env.run(&["session", "recover", "long"]).ok();
    assert_eq!(
        env.run(&["state", "cleanup-expired", "--json"]).json()["removed"],
        json!([])
    );
}

#[test]
fn cleanup_expired_skips_a_locked_session_and_goes_on() {
    let mut env = TestEnv::new();
    for id in ["held", "free"] {
        env.run(&["session", "create", "--id", id, "--mode", "config"])
            .ok();
    }
    env.set("ORCHESTRON_NOW", "2026-01-02T00:00:00Z");
    env.set("ORCHESTRON_LOCK_TIMEOUT", "200ms");
    let lock = std::fs::File::open(env.sessions().join("held.lock")).unwrap();
    lock.lock().unwrap();
    let run = env.run(&["state", "cleanup-expired", "--json"]);
    let report = run.json();
    assert_eq!(report["removed"], json!(["free"]), "{run}");
    assert_eq!(report["skipped"][0]["id"], "held", "{run}");
    assert!(
        report["skipped"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("timed out"),
        "{run}"
    );
    assert!(env.sessions().join("held.json").exists());
    drop(lock);
}

#[test]
fn watch_prints_the_value_whenever_it_changes() {
    let env = TestEnv::new();
    env.session("s");
    env.run(&["state", "set", "s", "k", "1"]).ok();
    let mut child = env
        .command(&["state", "watch", "s", "k", "--interval", "20ms", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "\"1\"");
    env.run(&["state", "set", "s", "other", "x"]).ok(); // not the watched value: no line
    env.run(&["state", "set", "s", "k", "2", "--json-value"])
        .ok();
    assert_eq!(lines.next().unwrap().unwrap(), "2");
    env.run(&["state", "delete", "s", "k"]).ok();
    assert_eq!(lines.next().unwrap().unwrap(), "null");
    child.kill().unwrap();
    child.timed_wait().unwrap();
    env.refuses(&["state", "watch", "s", "k", "--interval", "often"], 1);
}

#[test]
fn full_durability_still_writes_and_bad_settings_are_refused() {
    let mut env = TestEnv::new();
    env.session("s");
    env.set("ORCHESTRON_DURABILITY", "full");
    env.run(&["state", "set", "s", "a", "1"]).ok();
    assert_eq!(env.document("s")["a"], "1");
    env.set("ORCHESTRON_DURABILITY", "sometimes");
    let stderr = env.refuses(&["state", "set", "s", "a", "2"], 1);
    assert!(stderr.contains("ORCHESTRON_DURABILITY"), "{stderr}");
    env.unset("ORCHESTRON_DURABILITY");
    std::fs::write(env.home().join("config.json"), r#"{"durability": "full"}"#).unwrap();
    env.run(&["state", "set", "s", "a", "3"]).ok();
    assert_eq!(env.document("s")["a"], "3");
    std::fs::write(env.home().join("config.json"), r#"{"durability": "maybe"}"#).unwrap();
    let stderr = env.refuses(&["state", "set", "s", "a", "4"], 1);
    assert!(stderr.contains("config.json"), "{stderr}");
}

#[test]
fn a_held_lock_makes_a_writer_fail_after_the_deadline_naming_the_lock() {
    let mut env = TestEnv::new();
    env.session("s");
    let lock_path = env.sessions().join("s.lock");
    let held = std::fs::OpenOptions::new()
        .write(true)
        .open(&lock_path)
        .unwrap();
    held.lock().unwrap();
    env.set("ORCHESTRON_LOCK_TIMEOUT", "300ms");
    let started = std::time::Instant::now();
    let stderr = env.refuses(&["state", "set", "s", "k", "v"], 1);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "it waited for the deadline"
    );
    assert!(
        stderr.contains(&lock_path.display().to_string()),
        "{stderr}"
    );
    assert!(stderr.contains("ORCHESTRON_LOCK_TIMEOUT"), "{stderr}");
    assert!(stderr.contains("300ms"), "{stderr}");
    // Readers take no lock.
    assert_eq!(env.run(&["state", "get", "s", "session.id"]).ok(), "s\n");
    held.unlock().unwrap();
    env.run(&["state", "set", "s", "k", "v"]).ok();
    assert_eq!(env.document("s")["k"], "v");
    env.set("ORCHESTRON_LOCK_TIMEOUT", "forever");
    env.refuses(&["state", "set", "s", "k", "w"], 1);
}

#[test]
fn json_output_alias_for_v2_scripts() {
    let env = TestEnv::new();
    let run = env.run(&["session", "create", "--id", "v2", "--json-output"]);
    assert_eq!(run.json(), json!({"session_id": "v2"}));
    let value: Value = env
        .run(&["state", "get", "v2", "session.mode", "--json-output"])
        .json();
    assert_eq!(value, "development");
}
