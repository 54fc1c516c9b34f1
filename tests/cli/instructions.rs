//! `orchestron worker-instructions ID`: the prompt a worker gets, within its size, saying
//! what it cut.

use serde_json::json;

use crate::TestEnv;

fn create(env: &TestEnv, args: &[&str]) -> String {
    let mut all = vec!["task", "create"];
    all.extend_from_slice(args);
    env.run(&all).ok().trim().to_owned()
}

fn db(env: &TestEnv) -> rusqlite::Connection {
    rusqlite::Connection::open(env.home().join("orchestron.db")).unwrap()
}

fn config(env: &TestEnv, json: &str) {
    std::fs::create_dir_all(env.home()).unwrap();
    std::fs::write(env.home().join("config.json"), json).unwrap();
}

#[test]
fn the_instructions_hold_the_item_what_it_learned_its_dependencies_and_the_protocol() {
    let env = TestEnv::new();
    let epic = create(&env, &["Authentication", "--type", "epic"]);
    let story = create(&env, &["Login flow", "--type", "story", "--parent", &epic]);
    let dependency = create(&env, &["Session storage", "--parent", &story]);
    let id = create(
        &env,
        &[
            "OAuth login callback",
            "--parent",
            &story,
            "--description",
            "Handle the provider's redirect and store the token.",
            "--estimate",
            "3",
            "--label",
            "auth",
        ],
    );
    env.run(&["task", "depend", &id, "--on", &dependency]).ok();
    env.run(&["task", "checkpoint", &id, "Callback route answers 200"])
        .ok();
    env.run(&["task", "checkpoint", &id, "Token stored encrypted"])
        .ok();
    env.run(&["task", "clarify", &id, "Use the PKCE flow"]).ok();
    env.run(&["task", "feedback", &id, "Rejected: the token was logged"])
        .ok();
    env.run(&["task", "start", &dependency]).ok();
    env.run(&[
        "task",
        "complete",
        &dependency,
        "--note",
        "sessions live in SQLite",
    ])
    .ok();
    // The merge train's record of the dependency's merge.
    db(&env)
        .execute(
            "INSERT INTO events (item, at, what, detail) VALUES (?1, ?2, 'merged', ?3)",
            rusqlite::params![
                dependency,
                crate::NOW,
                json!({"branch": format!("orchestron/{dependency}"), "commit": "0123456789abcdef",
                       "into": "orchestron/integration"})
                .to_string()
            ],
        )
        .unwrap();
    env.run(&[
        "decide",
        "Tokens are encrypted at rest",
        "--rationale",
        "compliance",
    ])
    .ok();
    env.run(&["decide", "Unrelated choice of colours"]).ok();
    env.run(&[
        "memory",
        "add",
        "pitfall",
        "oauth-state",
        "--description",
        "Always check the OAuth state parameter",
    ])
    .ok();

    let before = env.disk();
    let text = env.run(&["worker-instructions", &id]).ok().to_owned();
    assert_eq!(env.disk(), before, "composing changes nothing");
    assert!(
        text.starts_with(&format!("# {id}: OAuth login callback\n")),
        "{text}"
    );
    for expected in [
        "Handle the provider's redirect and store the token.",
        "estimate 3h",
        &format!("part of: {story} \"Login flow\" › {epic} \"Authentication\""),
        "- [ ] 1. Callback route answers 200",
        "- [ ] 2. Token stored encrypted",
        "Use the PKCE flow",
        "Rejected: the token was logged",
        &format!(
            "{dependency} \"Session storage\" (DONE): merged from `orchestron/{dependency}` into `orchestron/integration` at 0123456789ab"
        ),
        "Its note: sessions live in SQLite",
        "\"Tokens are encrypted at rest\": compliance",
        "Always check the OAuth state parameter",
        &format!("orchestron task progress {id} --percent N"),
        &format!("orchestron task checkpoint {id} --done N"),
        &format!("orchestron task ask {id} \"your question\"`, then stop"),
        &format!("orchestron task complete {id} --note \"what I did\""),
        "Never push, merge",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(!text.contains("colours"), "{text}");
    assert!(!text.contains("Cut to fit"), "{text}");
    assert!(!text.contains("This is attempt"), "{text}");
    // Clarifications and feedback in the order they came.
    assert!(text.find("PKCE").unwrap() < text.find("token was logged").unwrap());

    let value = env
        .run(&["worker-instructions", &id, "--format", "json"])
        .json();
    assert_eq!(value["item"]["id"], id.as_str());
    assert_eq!(value["markdown"], text.as_str());
    assert_eq!(value["cut"], json!([]));
    assert_eq!(value["limit"], 8192);
    assert_eq!(value["dependencies"][0]["note"], "sessions live in SQLite");
    assert_eq!(value["checkpoints"].as_array().unwrap().len(), 2);
    assert_eq!(
        env.run(&["worker-instructions", &id, "--json"]).json(),
        value
    );
}

#[test]
fn the_instructions_fit_the_configured_size_and_say_what_they_cut() {
    let env = TestEnv::new();
    config(&env, r#"{"workers": {"instructions_bytes": 1500}}"#);
    let long = "word ".repeat(1_000);
    let id = create(&env, &["Big one", "--description", &long]);
    for n in 0..20 {
        env.run(&[
            "task",
            "clarify",
            &id,
            &format!("clarification number {n} {}", "x".repeat(80)),
        ])
        .ok();
    }
    let run = env.run(&["worker-instructions", &id]);
    let text = run.ok();
    assert!(text.len() <= 1500, "{} bytes", text.len());
    assert!(text.starts_with(&format!("# {id}: Big one")), "{text}");
    assert!(text.contains("(Cut to fit 1500 bytes: "), "{text}");
    assert!(text.contains("the description's end"), "{text}");
    // The description's start is kept, marked where it was cut.
    assert!(text.contains("\nword word word"), "{text}");
    assert!(text.contains("word…\n"), "{text}");
    assert!(text.contains("of 20 clarifications and feedback"), "{text}");
    // The protocol is never cut; the newest clarification is kept before older ones.
    assert!(
        text.contains(&format!("orchestron task complete {id} --note")),
        "{text}"
    );
    assert!(text.contains("clarification number 19"), "{text}");
    assert!(!text.contains("clarification number 0 "), "{text}");
    assert!(run.stderr.contains("cut to fit"), "{}", run.stderr);
    let value = env.run(&["worker-instructions", &id, "--json"]).json();
    assert!(value["bytes"].as_u64().unwrap() <= 1500);
    assert!(!value["cut"].as_array().unwrap().is_empty());
}

#[test]
fn earlier_attempts_show_their_branch_reason_and_log_tail_and_a_conflict_says_merge_first() {
    let env = TestEnv::new();
    let id = create(&env, &["Edit the shared line"]);
    let log_dir = env.home().join("workers").join(&id);
    std::fs::create_dir_all(&log_dir).unwrap();
    let log = [
        json!({"type": "system", "subtype": "init"}),
        json!({"type": "assistant", "message": {"content": [
            {"type": "text", "text": "Editing the line"},
            {"type": "tool_use", "name": "Bash", "input": {"command": "sed -i s/a/b/ shared.txt"}}]}}),
        json!({"type": "result", "subtype": "success", "result": "done", "total_cost_usd": 0.12}),
    ]
    .iter()
    .map(|line| format!("{line}\n"))
    .collect::<String>();
    std::fs::write(log_dir.join("1.jsonl"), log).unwrap();
    let conn = db(&env);
    conn.execute(
        "INSERT INTO worker_runs (id, pid, into_branch, started_at, seq) \
         VALUES ('RUN-1', 1, 'orchestron/main-line', ?1, 1)",
        [crate::NOW],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO worker_attempts (item, attempt, run, session, generation, branch, \
         worktree, log, started_at, ended_at, outcome, reason, cost_usd, turns) \
         VALUES (?1, 1, 'RUN-1', 'w', 1, ?2, 'wt', ?3, ?4, ?4, 'conflict', \
         'shared.txt conflicts', 0.12, 3)",
        rusqlite::params![
            id,
            format!("orchestron/{id}"),
            format!("workers/{id}/1.jsonl"),
            crate::NOW
        ],
    )
    .unwrap();

    let text = env.run(&["worker-instructions", &id]).ok().to_owned();
    for expected in [
        &format!(
            "attempt 1 on branch `orchestron/{id}` ended conflict: shared.txt conflicts (3 turns, $0.12)"
        ),
        "assistant: Editing the line",
        "tool Bash: sed -i s/a/b/ shared.txt",
        "end (success): done ($0.12)",
        // The integration branch of the attempt's run.
        "Run `git merge orchestron/main-line`",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    let value = env.run(&["worker-instructions", &id, "--json"]).json();
    assert_eq!(value["merge_integration_first"], true);
    assert_eq!(
        value["attempts"][0]["log_tail"][1],
        "tool Bash: sed -i s/a/b/ shared.txt"
    );
}

#[test]
fn an_unknown_item_fails_and_creates_nothing() {
    let env = TestEnv::new();
    let before = env.disk();
    let stderr = env.refuses(&["worker-instructions", "TASK-nope"], 1);
    assert!(stderr.contains("TASK-nope"), "{stderr}");
    env.refuses(&["worker-instructions", "x", "--format", "yaml"], 2);
    assert_eq!(env.disk(), before);
}
