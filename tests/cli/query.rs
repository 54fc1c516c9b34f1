//! `orchestron query`: JSONPath over files and stdin.

use serde_json::json;

use crate::TestEnv;

#[test]
fn query_reads_files_and_stdin() {
    let env = TestEnv::new();
    let doc = r#"{"tasks": [{"id": 1, "status": "blocked"}, {"id": 2, "status": "done"}]}"#;
    std::fs::write(env.path().join("doc.json"), doc).unwrap();
    let blocked = json!([{"id": 1, "status": "blocked"}]);
    assert_eq!(
        env.run(&[
            "query",
            "$.tasks[?(@.status=='blocked')]",
            "doc.json",
            "--json"
        ])
        .json(),
        blocked
    );
    assert_eq!(
        env.run_with_stdin(
            &["query", "$.tasks[?@.status=='blocked']", "-", "--json"],
            doc
        )
        .json(),
        blocked
    );
    assert_eq!(
        env.run_with_stdin(&["query", "$.tasks[*].id", "--json"], doc)
            .json(),
        json!([1, 2])
    );
    assert_eq!(
        env.run_with_stdin(&["query", "$..id", "--paths", "--json"], doc)
            .json(),
        json!([{"path": "$['tasks'][0]['id']", "value": 1}, {"path": "$['tasks'][1]['id']", "value": 2}])
    );
    assert_eq!(env.run_with_stdin(&["query", "$.none"], doc).ok(), "[]\n");
}

#[test]
fn query_failures() {
    let env = TestEnv::new();
    let stderr = env
        .run_with_stdin(&["query", "$.a[?(@.b=="], "{}")
        .fails(1)
        .to_owned();
    assert!(
        stderr.contains("invalid JSONPath") && stderr.contains('^'),
        "{stderr}"
    );
    env.run_with_stdin(&["query", "a.b"], "{}").fails(1);
    let stderr = env
        .run_with_stdin(&["query", "$"], "{torn")
        .fails(1)
        .to_owned();
    assert!(stderr.contains("stdin is not valid JSON"), "{stderr}");
    let stderr = env.run(&["query", "$", "missing.json"]).fails(1).to_owned();
    assert!(stderr.contains("cannot read `missing.json`"), "{stderr}");
    env.run(&["query"]).fails(2);
}
