//! Issue 11, findings 3 and 5: JSONPath errors past column 65,535 are reported, not a panic;
//! queries are bounded by `query.max_nodes`, their regular expressions compiled once; and the
//! bounds on a query's length and nesting, at and past each.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::TestEnv;

/// A session document of about 10 MB, as `bench/run` builds it: 26,000 sprint tasks.
fn ten_megabytes() -> Value {
    let statuses = ["todo", "in_progress", "blocked", "done"];
    let tasks: Vec<Value> = (0..26_000)
        .map(|i| {
            json!({"id": format!("TASK-{i:05}"),
                   "title": format!("Task number {i} of the benchmark sprint"),
                   "status": statuses[i % 4], "assignee": format!("agent-{}", i % 7),
                   "estimate": i % 13, "labels": ["bench", "generated"], "notes": "n".repeat(100)})
        })
        .collect();
    json!({"sprint": {"tasks": tasks}})
}

/// A session `s` whose document also holds `extra`'s members, and `doc.json` holding
/// `extra` alone; `ORCHESTRON_SESSION` names the session, for `slash`.
fn environment(extra: &Value) -> TestEnv {
    let mut env = TestEnv::new();
    env.session("s");
    let path = env.sessions().join("s.json");
    let mut document: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for (key, value) in extra.as_object().unwrap() {
        document[key] = value.clone();
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&document).unwrap()).unwrap();
    std::fs::write(
        env.path().join("doc.json"),
        serde_json::to_vec_pretty(extra).unwrap(),
    )
    .unwrap();
    env.set("ORCHESTRON_SESSION", "s");
    env
}

fn configure(env: &TestEnv, config: &Value) {
    std::fs::write(env.home().join("config.json"), config.to_string()).unwrap();
}

/// The error a `--json` run printed on stderr.
fn json_error(run: &crate::Run) -> Value {
    let value: Value =
        serde_json::from_str(&run.stderr).unwrap_or_else(|err| panic!("{err}: {run}"));
    value["error"].clone()
}

/// The one read `slash state -- get PATH` reports: its output, or its error. (`slash`
/// splits its words as a shell would, so the path is quoted.)
fn slash_get(env: &TestEnv, path: &str) -> Value {
    assert!(!path.contains('"'), "{path}");
    let quoted = format!("\"{path}\"");
    let run = env.run(&["slash", "state", "--json", "--", "get", &quoted]);
    assert_eq!(run.code, 0, "slash always exits 0: {run:?}");
    run.json()["results"][0].clone()
}

#[test]
fn finding_03_a_parse_error_past_column_65535_is_reported_not_a_panic() {
    let env = environment(&json!({}));
    // Each fails at its 70,003rd character or later: `format!` cannot pad that far.
    let query = format!("$['{}'] x", "a".repeat(70_000));
    let dot_path = format!("{}]", "a".repeat(70_000));
    for (args, what) in [
        (vec!["query", &query, "doc.json"], "invalid JSONPath"),
        (vec!["state", "get", "s", &query], "invalid JSONPath"),
        (vec!["state", "set", "s", &query, "1"], "invalid JSONPath"),
        (vec!["state", "delete", "s", &query], "invalid JSONPath"),
        (vec!["state", "get", "s", &dot_path], "invalid path"),
        (vec!["state", "set", "s", &dot_path, "1"], "invalid path"),
    ] {
        let stderr = env.refuses(&args, 1);
        assert!(
            stderr.contains(what)
                && stderr.contains("\n  …aaa")
                && stderr.lines().any(|line| line.trim() == "^"),
            "{}: {stderr:?}",
            args[0]
        );
        assert!(stderr.len() < 500, "the query is cut around the error");
    }
    let run = env.run(&["query", &query, "doc.json", "--json"]);
    assert_eq!(json_error(&run)["kind"], "invalid");
    // `slash` exits 0 with the error as data, here and past the bound on a query's length,
    // which only stdin can carry.
    let read = slash_get(&env, &query);
    let error = read["error"].as_str().unwrap();
    assert!(
        error.contains("invalid JSONPath: expected a segment") && error.contains("\n  …aaa"),
        "{error}"
    );
    let longest = format!("$['{}']", "a".repeat(200_000));
    let run = env.run_with_stdin(
        &["slash", "state", "--json", "--stdin"],
        &format!("get {longest}"),
    );
    assert_eq!(run.code, 0, "{run:?}");
    let error = run.json()["results"][0]["error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        error.contains("bytes long, more than the 131072 allowed"),
        "{error}"
    );
}

/// Runs `args` and how long it took; a test fails when the child outlives `CHILD_LIMIT`.
fn timed(env: &TestEnv, args: &[&str]) -> (crate::Run, Duration) {
    let start = Instant::now();
    let run = env.run(args);
    (run, start.elapsed())
}

#[test]
fn finding_05_a_pattern_is_compiled_once_not_for_every_node() {
    let env = environment(&ten_megabytes());
    // Compiling `a{100}{100}` for each of 26,000 titles took 41 s in a release build; once,
    // it takes well under a second even in a debug build.
    let search = r#"[?search(@.title, "a{100}{100}")]"#;
    // The collection named (the fast path, which parses only what it needs), and found by
    // descent (the whole document parsed).
    for query in [format!("$.sprint.tasks{search}"), format!("$..{search}")] {
        for args in [
            vec!["query", &query, "doc.json"],
            vec!["state", "get", "s", &query],
        ] {
            let (run, took) = timed(&env, &args);
            assert_eq!(run.ok(), "[]\n", "{query}");
            assert!(took < Duration::from_secs(20), "{query} took {took:?}");
        }
    }
    // A pattern that matches, read from the document for each node: compiled once each.
    let (run, took) = timed(
        &env,
        &[
            "query",
            "$.sprint.tasks[?match(@.id, @.status)]",
            "doc.json",
        ],
    );
    assert_eq!(run.ok(), "[]\n");
    assert!(took < Duration::from_secs(20), "took {took:?}");
    let nines = slash_get(
        &env,
        "$.sprint.tasks[?match(@.title, 'Task number 9{4} .*')].id",
    );
    assert_eq!(nines["output"], json!(["TASK-09999"]), "{nines}");
}

#[test]
fn finding_05_a_query_past_its_budget_fails_naming_the_setting() {
    let env = environment(&ten_megabytes());
    // Quadratic in the document: over 60 s unbounded; now it stops at the default budget.
    let quadratic = "$..[?count($..*) > 3]";
    let (run, took) = timed(&env, &["query", quadratic, "doc.json", "--json"]);
    run.fails(1);
    let error = json_error(&run);
    assert_eq!(error["kind"], "invalid");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("more than 5000000 nodes, the limit `query.max_nodes`"),
        "{error}"
    );
    assert!(
        error["hint"]
            .as_str()
            .unwrap()
            .contains("raise `query.max_nodes`")
    );
    assert!(took < Duration::from_secs(20), "took {took:?}");
    // The same through `state get` and `slash`, with a smaller budget, which stops it sooner.
    configure(&env, &json!({"query": {"max_nodes": 1_000_000}}));
    let stderr = env.refuses(&["state", "get", "s", quadratic], 1);
    assert!(stderr.contains("more than 1000000 nodes"), "{stderr}");
    let read = slash_get(&env, quadratic);
    let error = read["error"].as_str().unwrap();
    assert!(error.contains("more than 1000000 nodes"), "{read}");
    // `$..*..*..*` took 830 MB; its lists grow only as it spends, while a query that visits
    // each node once still fits.
    let stderr = env.refuses(&["query", "$..*..*..*", "doc.json"], 1);
    assert!(stderr.contains("more than 1000000 nodes"), "{stderr}");
    let titles = env.run(&["query", "$..title", "doc.json", "--json"]).json();
    assert_eq!(titles.as_array().unwrap().len(), 26_000);
}

#[test]
fn query_max_nodes_bounds_every_query_at_and_past_it() {
    let env = environment(&json!({"x": [1, 2, 3]}));
    // The root, `x`, and its three elements: five nodes, whichever way it is evaluated.
    for (query, json) in [("$.x[*]", json!([1, 2, 3])), ("$.x[?@ > 1]", json!([2, 3]))] {
        configure(&env, &json!({"query": {"max_nodes": 5}}));
        assert_eq!(
            env.run(&["query", query, "doc.json", "--json"]).json(),
            json
        );
        assert_eq!(
            env.run(&["state", "get", "s", query, "--json"]).json(),
            json
        );
        assert_eq!(slash_get(&env, query)["output"], json);
        configure(&env, &json!({"query": {"max_nodes": 4}}));
        for args in [
            vec!["query", query, "doc.json"],
            vec!["state", "get", "s", query],
            vec!["state", "set", "s", query, "0"],
            vec!["state", "delete", "s", query],
        ] {
            let stderr = env.refuses(&args, 1);
            assert!(
                stderr.contains("more than 4 nodes, the limit `query.max_nodes`"),
                "{args:?}: {stderr}"
            );
        }
        let read = slash_get(&env, query);
        assert!(
            read["error"]
                .as_str()
                .unwrap()
                .contains("more than 4 nodes")
        );
    }
    // Edits spend it too: at the bound the delete goes through.
    configure(&env, &json!({"query": {"max_nodes": 5}}));
    env.run(&["state", "delete", "s", "$.x[?@ > 1]"]).ok();
    assert_eq!(env.document("s")["x"], json!([1]));
    // Dot paths need no budget.
    configure(&env, &json!({"query": {"max_nodes": 1}}));
    env.run(&["state", "get", "s", "x"]).ok();
    configure(&env, &json!({"query": {"max_nodes": 0}}));
    let stderr = env.refuses(&["query", "$", "doc.json"], 1);
    assert!(
        stderr.contains("invalid `query.max_nodes`") && stderr.contains("at least 1"),
        "{stderr}"
    );
}

#[test]
fn query_nesting_is_bounded_at_and_past_the_limit() {
    let env = environment(&json!({"x": [{"a": 1}]}));
    // `$[` is one level, each `(` another: 32 are allowed.
    let nested = |depth: usize| {
        format!(
            "$.x[?{}@.a{}]",
            "(".repeat(depth - 1),
            ")".repeat(depth - 1)
        )
    };
    assert_eq!(
        env.run(&["query", &nested(32), "doc.json", "--json"])
            .json(),
        json!([{"a": 1}])
    );
    let stderr = env.refuses(&["query", &nested(33), "doc.json"], 1);
    assert!(
        stderr.contains("brackets and parentheses nest more than 32 deep"),
        "{stderr}"
    );
    // Nesting a stack overflow away is refused as fast.
    for query in [
        format!("$[?{}", "(".repeat(100_000)),
        format!("$[?{}", "@[?".repeat(40_000)),
    ] {
        let stderr = env.refuses(&["state", "get", "s", &query], 1);
        assert!(stderr.contains("nest more than 32 deep"), "{stderr}");
        let read = slash_get(&env, &query);
        assert!(read["error"].as_str().unwrap().contains("nest more than"));
    }
}
