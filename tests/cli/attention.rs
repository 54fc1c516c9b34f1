//! `orchestron attention`: the one queue of what waits for a person (questions, blocked
//! items, items in review, paused sessions), each with the command that acts on it; and the
//! hooks of an interactive session, which say once, when it is new, what needs the person.

use serde_json::{Value, json};

use crate::TestEnv;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/hook-payloads");

fn payload(name: &str, session_id: &str) -> String {
    let text = std::fs::read_to_string(format!("{FIXTURES}/{name}.json")).expect("a fixture");
    let mut value: Value = serde_json::from_str(&text).unwrap();
    value["session_id"] = json!(session_id);
    value.to_string()
}

/// What a hook injected (`additionalContext`), or `""` when it said nothing.
fn told(env: &TestEnv, event: &str, session: &str) -> String {
    let run = env.run_with_stdin(&["hook", event], &payload(event, session));
    let stdout = run.ok();
    if stdout.trim().is_empty() {
        return String::new();
    }
    let reply: Value = serde_json::from_str(stdout).unwrap();
    reply["hookSpecificOutput"]["additionalContext"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn create(env: &TestEnv, title: &str) -> String {
    env.run(&["task", "create", title]).ok().trim().to_owned()
}

fn config(env: &TestEnv, json: &str) {
    std::fs::create_dir_all(env.home()).unwrap();
    std::fs::write(env.home().join("config.json"), json).unwrap();
}

fn db(env: &TestEnv) -> rusqlite::Connection {
    rusqlite::Connection::open(env.home().join("orchestron.db")).unwrap()
}

/// A question as `task ask` leaves it: the item BLOCKED with the question as its reason, a
/// `question` comment and event.
fn ask(env: &TestEnv, id: &str, question: &str) {
    env.run(&[
        "task", "update", id, "--status", "BLOCKED", "--reason", question,
    ])
    .ok();
    let conn = db(env);
    conn.execute(
        "INSERT INTO comments (item, kind, text, at) VALUES (?1, 'question', ?2, ?3)",
        rusqlite::params![id, question, crate::NOW],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO events (item, at, what, detail) VALUES (?1, ?2, 'question', ?3)",
        rusqlite::params![id, crate::NOW, json!(question).to_string()],
    )
    .unwrap();
}

/// An attempt of a worker as the supervisor records it.
fn attempt(env: &TestEnv, id: &str, number: i64, outcome: &str, reason: &str) {
    let conn = db(env);
    conn.execute(
        "INSERT OR IGNORE INTO worker_runs (id, pid, into_branch, started_at, seq) \
         VALUES ('RUN-1', 1, 'orchestron/integration', ?1, 1)",
        [crate::NOW],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO worker_attempts (item, attempt, run, session, generation, branch, \
         worktree, log, started_at, ended_at, outcome, reason, cost_usd, turns) \
         VALUES (?1, ?2, 'RUN-1', 'w', ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8, 0.5, 7)",
        rusqlite::params![
            id,
            number,
            format!("orchestron/{id}"),
            format!(".orchestron/worktrees/{id}"),
            format!("workers/{id}/{number}.jsonl"),
            crate::NOW,
            outcome,
            reason
        ],
    )
    .unwrap();
}

#[test]
fn an_empty_project_has_nothing_waiting_and_creates_nothing() {
    let env = TestEnv::new();
    let before = env.disk();
    assert_eq!(env.run(&["attention", "--json"]).json(), json!([]));
    assert_eq!(
        env.run(&["attention"]).ok().trim(),
        "Nothing waits for a person."
    );
    assert_eq!(env.disk(), before);
}

#[test]
fn the_queue_lists_questions_blocks_reviews_and_paused_sessions_with_their_commands() {
    let env = TestEnv::new();
    config(&env, r#"{"tracker": {"require_review": true}}"#);
    let asked = create(&env, "Pick the database");
    ask(&env, &asked, "Postgres or SQLite?");
    let failed = create(&env, "Parse the config");
    env.run(&["task", "start", &failed]).ok();
    env.run(&[
        "task",
        "update",
        &failed,
        "--status",
        "BLOCKED",
        "--reason",
        "2 attempts failed",
    ])
    .ok();
    attempt(&env, &failed, 2, "no_result", "exited 0 with no result");
    let reviewed = create(&env, "Write the docs");
    env.run(&["task", "start", &reviewed]).ok();
    env.run(&["task", "complete", &reviewed, "--note", "wrote README"])
        .ok();
    let by_hand = create(&env, "Review by hand");
    env.run(&["task", "start", &by_hand]).ok();
    attempt(&env, &reviewed, 1, "in_review", "");
    env.run(&["task", "complete", &by_hand]).ok();
    env.run(&["task", "create", "Not waiting"]).ok();
    env.session("paused-one");
    env.run(&["session", "pause", "paused-one", "--reason", "lunch"])
        .ok();
    env.session("active-one");

    let before = env.disk();
    let entries = env.run(&["attention", "--json"]).json();
    assert_eq!(env.disk(), before, "a read changes nothing");
    let entries = entries.as_array().unwrap();
    let kinds: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap(),
                e["item"].as_str().or(e["session"].as_str()).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("question", asked.as_str()),
            ("blocked", failed.as_str()),
            ("review", reviewed.as_str()),
            ("review", by_hand.as_str()),
            ("paused", "paused-one"),
        ]
    );
    let question = &entries[0];
    assert_eq!(question["reason"], "Postgres or SQLite?");
    assert_eq!(
        question["command"],
        format!("orchestron task answer {asked} \"your answer\"")
    );
    assert!(
        question["commands"]
            .as_array()
            .unwrap()
            .contains(&json!(format!(
                "orchestron task update {asked} --status TODO"
            )))
    );
    let blocked = &entries[1];
    let reason = blocked["reason"].as_str().unwrap();
    assert!(reason.starts_with("2 attempts failed"), "{reason}");
    assert!(
        reason.contains("attempt 2 no_result: exited 0 with no result"),
        "{reason}"
    );
    assert_eq!(
        blocked["command"],
        format!("orchestron task update {failed} --status TODO")
    );
    let review = &entries[2];
    assert_eq!(review["branch"], format!("orchestron/{reviewed}"));
    assert_eq!(review["reason"], "wrote README");
    assert_eq!(review["command"], format!("orchestron review {reviewed}"));
    assert!(
        review["commands"]
            .as_array()
            .unwrap()
            .contains(&json!(format!(
                "orchestron review reject {reviewed} --feedback \"what to change\""
            )))
    );
    // Without a worker's branch, the tracker's own review commands.
    assert_eq!(
        entries[3]["command"],
        format!("orchestron task review {by_hand}")
    );
    assert_eq!(
        entries[3]["commands"][1],
        format!("orchestron task approve {by_hand}")
    );
    let paused = &entries[4];
    assert_eq!(paused["reason"], "lunch");
    assert_eq!(paused["command"], "orchestron session resume paused-one");
    for entry in entries {
        for key in ["kind", "title", "since", "command", "commands"] {
            assert!(!entry[key].is_null(), "{key} in {entry}");
        }
    }

    // For people: every entry with its commands.
    let text = env.run(&["attention"]).ok().to_owned();
    assert!(text.starts_with("5 entries wait for a person:"), "{text}");
    assert!(
        text.contains(&format!("$ orchestron task answer {asked} \"your answer\"")),
        "{text}"
    );
    assert!(
        text.contains("$ orchestron session resume paused-one"),
        "{text}"
    );

    // An answer (a clarification after the question) closes the question; the item stays
    // BLOCKED until someone moves it, so it is listed as blocked.
    env.run(&["task", "clarify", &asked, "SQLite"]).ok();
    let entries = env.run(&["attention", "--json"]).json();
    assert_eq!(entries[0]["kind"], "blocked");
    assert_eq!(entries[0]["item"], asked.as_str());
    // Resumed, approved, unblocked: gone.
    env.run(&["session", "resume", "paused-one"]).ok();
    env.run(&["task", "approve", &by_hand]).ok();
    env.run(&["task", "update", &asked, "--status", "TODO"])
        .ok();
    let left: Vec<Value> = env
        .run(&["attention", "--json"])
        .json()
        .as_array()
        .unwrap()
        .clone();
    let items: Vec<&str> = left.iter().map(|e| e["item"].as_str().unwrap()).collect();
    assert_eq!(items, [failed.as_str(), reviewed.as_str()]);
}

#[test]
fn an_interactive_session_is_told_once_when_something_new_needs_the_person() {
    let env = TestEnv::new();
    let blocked = create(&env, "Flaky deploy");
    env.run(&[
        "task",
        "update",
        &blocked,
        "--status",
        "BLOCKED",
        "--reason",
        "needs creds",
    ])
    .ok();
    env.session("paused-one");
    env.run(&["session", "pause", "paused-one", "--reason", "lunch"])
        .ok();

    // SessionStart of a new session: how many, and the first few, paused sessions included.
    let start = told(&env, "SessionStart", "talker");
    assert!(
        start.contains("Attention: 2 entries need a person (`orchestron attention` lists them):"),
        "{start}"
    );
    assert!(
        start.contains(&format!(
            "- blocked {blocked} \"Flaky deploy\": needs creds → `orchestron task update {blocked} --status TODO`"
        )),
        "{start}"
    );
    assert!(start.contains("paused paused-one"), "{start}");
    // Said once: the next prompts say nothing of it.
    assert_eq!(told(&env, "UserPromptSubmit", "talker"), "");
    env.run(&["task", "create", "Unrelated"]).ok();
    assert_eq!(told(&env, "UserPromptSubmit", "talker"), "");

    // Something new enters the queue: the next prompt says so, once.
    let question = create(&env, "Choose a name");
    ask(&env, &question, "Foo or Bar?");
    let prompt = told(&env, "UserPromptSubmit", "talker");
    assert!(
        prompt.starts_with("Attention: 1 new; 2 entries need a person in all"),
        "{prompt}"
    );
    assert!(
        prompt.contains(&format!(
            "- question {question} \"Choose a name\": Foo or Bar?"
        )),
        "{prompt}"
    );
    assert!(!prompt.contains(&blocked), "only the new one: {prompt}");
    assert_eq!(told(&env, "UserPromptSubmit", "talker"), "");
    assert!(
        env.document("talker")["attention"]["mark"]
            .as_i64()
            .unwrap()
            > 0
    );
    // Resumed, the session is not told again what it was told.
    let resumed = told(&env, "SessionStart", "talker");
    assert!(
        resumed.starts_with("Orchestron session talker"),
        "{resumed}"
    );
    assert!(!resumed.contains("Attention"), "{resumed}");

    // A worker's session is told nothing.
    told(&env, "SessionStart", "worker-1");
    env.run(&[
        "state",
        "set",
        "worker-1",
        "worker",
        r#"{"item": "TASK-x", "run": "RUN-1", "attempt": 1}"#,
        "--json-value",
    ])
    .ok();
    env.run(&["task", "create", "Another blocked"]).ok();
    let another = create(&env, "Blocked again");
    env.run(&["task", "update", &another, "--status", "BLOCKED"])
        .ok();
    assert_eq!(told(&env, "UserPromptSubmit", "worker-1"), "");
    assert!(told(&env, "UserPromptSubmit", "talker").contains(&another));
}

#[test]
fn a_prompt_in_a_project_without_a_tracker_creates_none() {
    let env = TestEnv::new();
    told(&env, "SessionStart", "s1");
    assert_eq!(told(&env, "UserPromptSubmit", "s1"), "");
    assert!(!env.home().join("orchestron.db").exists());
}

/// Set the modification time of the tracker's database file.
fn set_mtime(env: &TestEnv, when: &str) {
    let status = std::process::Command::new("touch")
        .args(["-m", "-d", when])
        .arg(env.home().join("orchestron.db"))
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_prompt_opens_the_tracker_only_when_its_files_changed() {
    let env = TestEnv::new();
    let first = create(&env, "First");
    told(&env, "SessionStart", "talker");
    // The tracker's files settle (no write in the last seconds): the prompt keeps their
    // fingerprint.
    set_mtime(&env, "2020-01-01 00:00:00");
    assert_eq!(told(&env, "UserPromptSubmit", "talker"), "");
    let kept = env.document("talker")["attention"]["tracker"].clone();
    assert!(kept.as_str().is_some(), "{kept}");
    // A change that leaves the files' size and time as they were (as no real write does) is
    // not looked for: the prompt does not open the tracker, so it tells nothing.
    let size = || {
        std::fs::metadata(env.home().join("orchestron.db"))
            .unwrap()
            .len()
    };
    let before = size();
    ask(&env, &first, "Which one?");
    set_mtime(&env, "2020-01-01 00:00:00");
    if size() == before {
        assert_eq!(told(&env, "UserPromptSubmit", "talker"), "");
    }
    // A real write changes the time: the next prompt tells.
    set_mtime(&env, "2021-01-01 00:00:00");
    let prompt = told(&env, "UserPromptSubmit", "talker");
    assert!(prompt.contains("question"), "{prompt}");
}
