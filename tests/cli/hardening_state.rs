//! Hardening of session state (issue 11): a write can never make a session unreadable
//! (finding 2), `state` edits cannot break the fields Orchestron needs unless forced
//! (finding 12), and no inbox message is lost without a word (finding 13). Each bound is
//! tested at and past it.

use serde_json::{Value, json};

use crate::{Run, TestEnv};

/// The deepest nesting the reader reads (`orchestron_core::bounds::MAX_DEPTH`).
const MAX_DEPTH: usize = 127;
/// `orchestron_core::bounds::MAX_DOCUMENT_BYTES`.
const MAX_DOCUMENT_BYTES: usize = 4 * 1024 * 1024;
/// `orchestron_core::inbox::MAX_MESSAGES`.
const MAX_MESSAGES: usize = 50;
/// `orchestron_core::inbox::MAX_MESSAGE_CHARS`.
const MAX_MESSAGE_CHARS: usize = 8_000;

/// `levels` arrays, one inside the other, as JSON text.
fn nested(levels: usize) -> String {
    format!("{}{}", "[".repeat(levels), "]".repeat(levels))
}

fn hook(env: &TestEnv, event: &str, id: &str) -> Run {
    let payload = json!({"session_id": id, "hook_event_name": event, "prompt": "go on",
                         "source": "startup"});
    env.run_with_stdin(&["hook", event], &payload.to_string())
}

/// The context a hook injected, or `""`.
fn injected(run: &Run) -> String {
    let out = run.ok();
    if out.trim().is_empty() {
        return String::new();
    }
    let reply: Value = serde_json::from_str(out).unwrap();
    reply["hookSpecificOutput"]["additionalContext"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Every command the finding saw fail on a too-deep session works on `id`.
#[track_caller]
fn session_works(env: &TestEnv, id: &str) {
    assert_eq!(
        env.run(&["state", "get", id, "session.id"]).ok(),
        format!("{id}\n")
    );
    env.run(&["state", "get", id, "$..status"]).ok();
    env.run(&["state", "delete", id, "nothing.here"]).ok();
    env.run(&["session", "heartbeat", id]).ok();
    env.run(&["session", "recover", id]).ok();
    hook(env, "SessionStart", id).ok();
    let listed = env.run(&["session", "list", "--json"]).json();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|summary| summary["id"] == id && summary["status"] == "active"),
        "{listed}"
    );
}

#[test]
fn finding_02_deep_write_is_refused() {
    let env = TestEnv::new();
    env.session("s");
    // The repro: a root object, `deep`, `a` and 126 arrays are 129 levels.
    let stderr = env.refuses(
        &[
            "state",
            "set",
            "s",
            "deep.a.b",
            &nested(126),
            "--json-value",
        ],
        1,
    );
    assert!(
        stderr.contains("129 levels deep, past the 127 Orchestron can read back"),
        "{stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");
    session_works(&env, "s");

    // At the bound it is written and read back; one past it is refused, by every edit.
    env.run(&[
        "state",
        "set",
        "s",
        "deep.a",
        &nested(MAX_DEPTH - 2),
        "--json-value",
    ])
    .ok();
    let back = env.run(&["state", "get", "s", "deep.a", "--json"]).json();
    assert_eq!(
        back,
        serde_json::from_str::<Value>(&nested(MAX_DEPTH - 2)).unwrap()
    );
    let past = nested(MAX_DEPTH - 1);
    for args in [
        vec!["state", "set", "s", "deep.b", &past, "--json-value"],
        vec![
            "state",
            "append",
            "s",
            "deep.c",
            &nested(MAX_DEPTH - 2),
            "--json-value",
        ],
        vec!["state", "set", "s", "$.deep.b", &past, "--json-value"],
        vec!["state", "set", "s", "$.deep[*]", &past, "--json-value"],
    ] {
        let stderr = env.refuses(&args, 1);
        assert!(stderr.contains("levels deep"), "{args:?}: {stderr}");
    }
    let data = format!(r#"{{"x": {}}}"#, nested(MAX_DEPTH - 1));
    env.refuses(&["state", "merge", "s", "deep", "--data", &data], 1);
    // A path alone can be too deep; it is refused before anything is built (this one
    // overflowed the stack and aborted).
    let long_path = vec!["a"; 60_000].join(".");
    let stderr = env.refuses(&["state", "set", "s", &long_path, "1"], 1);
    assert!(stderr.contains("60000 levels deep"), "{stderr}");
    env.refuses(&["state", "set", "s", &long_path, "1", "--create"], 1);
    session_works(&env, "s");
}

#[test]
fn finding_02_numbers_that_would_not_read_back_are_refused() {
    let env = TestEnv::new();
    env.session("s");
    for raw in ["1E400", "[-1e999]", "NaN", "Infinity", "[1, 1E400]"] {
        env.refuses(&["state", "set", "s", "n", raw, "--json-value"], 1);
    }
    // The message says what is wrong with a number too large to keep.
    let stderr = env.refuses(&["state", "set", "s", "n", "1E400", "--json-value"], 1);
    assert!(stderr.contains("holds a number out of range"), "{stderr}");
    env.refuses(&["state", "increment", "s", "n", "--by", "1E400"], 1);
    env.run(&["state", "set", "s", "n", "1.7e308", "--json-value"])
        .ok();
    let stderr = env.refuses(&["state", "increment", "s", "n", "--by", "1.7e308"], 1);
    assert!(stderr.contains("overflows"), "{stderr}");
    // A number is read back as the very number written.
    env.run(&[
        "state",
        "set",
        "s",
        "x",
        "7.676379055449231e39",
        "--json-value",
    ])
    .ok();
    assert_eq!(
        env.run(&["state", "get", "s", "x"]).ok(),
        "7.676379055449231e+39\n"
    );
    session_works(&env, "s");
}

#[test]
fn finding_02_a_document_past_the_size_bound_is_refused() {
    let env = TestEnv::new();
    env.session("s");
    // One argument holds at most 128 KiB, so the document grows a chunk at a time.
    let chunk = "x".repeat(120_000);
    let file = env.sessions().join("s.json");
    let mut refused = None;
    for _ in 0..MAX_DOCUMENT_BYTES / chunk.len() + 2 {
        let before = env.disk();
        let run = env.run(&["state", "append", "s", "filler", &chunk]);
        if run.code != 0 {
            assert_eq!(env.disk(), before, "a refused write changes nothing\n{run}");
            refused = Some(run);
            break;
        }
    }
    let run = refused.expect("the document never hit the bound");
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr
            .contains(&format!("past the {MAX_DOCUMENT_BYTES} bytes")),
        "{run}"
    );
    let size = std::fs::metadata(&file).unwrap().len() as usize;
    assert!(size <= MAX_DOCUMENT_BYTES, "{size}");
    assert!(
        size + chunk.len() > MAX_DOCUMENT_BYTES,
        "it stopped early: {size}"
    );
    session_works(&env, "s");

    // One written past the bound by hand (or by an older Orchestron) may shrink, never grow.
    let mut document = env.document("s");
    document["filler"] = json!("y".repeat(MAX_DOCUMENT_BYTES));
    std::fs::write(&file, serde_json::to_vec_pretty(&document).unwrap()).unwrap();
    env.refuses(&["state", "set", "s", "more", "z"], 1);
    env.run(&["state", "delete", "s", "filler"]).ok();
    env.run(&["state", "set", "s", "more", "z"]).ok();
    assert!(std::fs::metadata(&file).unwrap().len() < 10_000);
}

#[test]
fn finding_02_a_session_already_too_deep_is_named_clearly_and_listed() {
    let env = TestEnv::new();
    env.session("good");
    env.session("deep");
    let file = env.sessions().join("deep.json");
    let mut text = std::fs::read_to_string(&file).unwrap();
    let close = text.rfind('}').unwrap();
    text.replace_range(close.., &format!(", \"deep\": {}}}\n", nested(130)));
    std::fs::write(&file, &text).unwrap();

    for args in [
        vec!["state", "get", "deep", "session.id"],
        vec!["state", "get", "deep", "$.session.id"],
        vec!["state", "set", "deep", "x", "1"],
        vec!["session", "heartbeat", "deep"],
        vec!["session", "recover", "deep"],
        vec!["session", "info", "deep"],
    ] {
        let stderr = env.refuses(&args, 1);
        assert!(
            stderr.contains("nests arrays and objects deeper than the 127 levels Orchestron reads"),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("hint: "), "{stderr}");
    }
    let run = hook(&env, "SessionStart", "deep");
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("deeper than the 127 levels"), "{run}");

    // `session list` keeps it, as unreadable, and says why.
    let run = env.run(&["session", "list", "--json"]);
    let listed = run.json();
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|summary| summary["id"] == "deep")
        .unwrap_or_else(|| panic!("dropped from the list: {listed}"));
    assert_eq!(row["status"], "unreadable");
    assert!(
        row["problem"]
            .as_str()
            .unwrap()
            .contains("deeper than the 127 levels"),
        "{row}"
    );
    assert!(run.stderr.contains("cannot read session `deep`"), "{run}");
    let table = env.run(&["session", "list"]).ok().to_owned();
    assert!(
        table
            .lines()
            .any(|line| line.starts_with("deep") && line.contains("unreadable")),
        "{table}"
    );
    // A filter cannot tell what it is, so it is left out of filtered lists, with the warning.
    let run = env.run(&["session", "list", "--active", "--json"]);
    assert_eq!(
        run.json(),
        json!([env.run(&["session", "list", "--json"]).json()[0]])
    );
    assert!(run.stderr.contains("cannot read session `deep`"), "{run}");
}

#[test]
fn finding_12_state_edits_cannot_remove_orchestrons_fields() {
    let env = TestEnv::new();
    env.session("s");
    env.run(&[
        "state",
        "set",
        "s",
        "tasks",
        r#"[{"id": 1, "status": "todo"}, {"id": 2, "status": "done"}]"#,
        "--json-value",
    ])
    .ok();
    // The repro: `$..status` reaches `session.lifecycle.status` too. Refused whole.
    let stderr = env.refuses(&["state", "delete", "s", "$..status"], 1);
    assert!(
        stderr.contains("would remove `session.lifecycle.status`"),
        "{stderr}"
    );
    assert!(stderr.contains("--force"), "{stderr}");
    assert!(stderr.contains("narrow the JSONPath"), "{stderr}");
    // Narrowed, it does what was meant.
    env.run(&["state", "delete", "s", "$.tasks..status"]).ok();
    assert_eq!(env.document("s")["tasks"], json!([{"id": 1}, {"id": 2}]));

    // Every kind of edit, at dot paths and JSONPaths.
    for (args, field) in [
        (
            vec!["state", "set", "s", "session.mode", "turbo"],
            "session.mode",
        ),
        (
            vec!["state", "set", "s", "session.id", "other"],
            "session.id",
        ),
        (
            vec!["state", "set", "s", "session.lifecycle.expiry", "tomorrow"],
            "session.lifecycle.expiry",
        ),
        (
            vec![
                "state",
                "set",
                "s",
                "$..lifecycle.status",
                "7",
                "--json-value",
            ],
            "session.lifecycle.status",
        ),
        (
            vec!["state", "delete", "s", "session.created_at"],
            "session.created_at",
        ),
        (vec!["state", "delete", "s", "session"], "session.id"),
        (
            vec!["state", "delete", "s", "$..heartbeat"],
            "session.lifecycle.heartbeat",
        ),
        (
            vec!["state", "merge", "s", "", "--data", r#"{"session": null}"#],
            "session.id",
        ),
        (
            vec![
                "state",
                "merge",
                "s",
                "session.lifecycle",
                "--data",
                r#"{"last_activity": []}"#,
            ],
            "session.lifecycle.last_activity",
        ),
        (
            vec!["state", "set", "s", "$..lifecycle.*", "{}", "--json-value"],
            "session.lifecycle.status",
        ),
    ] {
        let stderr = env.refuses(&args, 1);
        assert!(stderr.contains(&format!("`{field}`")), "{args:?}: {stderr}");
    }
    let run = env.run(&["state", "delete", "s", "session.mode", "--json"]);
    let error: Value = serde_json::from_str(run.fails(1)).unwrap();
    assert_eq!(error["error"]["kind"], "invalid");

    // What a field needs, it may be set to; other fields are the user's.
    env.run(&["state", "set", "s", "session.lifecycle.status", "paused"])
        .ok();
    env.run(&["state", "set", "s", "session.mode", "sprint"])
        .ok();
    env.run(&["state", "delete", "s", "session.metadata"]).ok();
    env.run(&["session", "resume", "s"]).ok();

    // `--force` makes the edit, on every state-changing command.
    env.run(&[
        "state",
        "set",
        "s",
        "session.lifecycle.expiry",
        "soon",
        "--force",
    ])
    .ok();
    assert_eq!(env.document("s")["session"]["lifecycle"]["expiry"], "soon");
    // A field broken already may stay broken while other edits go on, and be repaired.
    env.run(&["state", "set", "s", "note", "x"]).ok();
    env.run(&[
        "state",
        "set",
        "s",
        "session.lifecycle.expiry",
        "2026-01-02T00:00:00Z",
    ])
    .ok();
    env.run(&["session", "heartbeat", "s"]).ok();
    env.run(&[
        "state",
        "merge",
        "s",
        "",
        "--data",
        r#"{"session": {"mode": 1}}"#,
        "--force",
    ])
    .ok();
    env.run(&[
        "state",
        "append",
        "s",
        "session.lifecycle.status",
        "x",
        "--force",
    ])
    .fails(1); // not an array: refused by the edit itself
    env.run(&["state", "increment", "s", "counter", "--force"])
        .ok();
    env.run(&["state", "delete", "s", "$..status", "--force"])
        .ok();
    assert!(
        env.document("s")["session"]["lifecycle"]
            .get("status")
            .is_none()
    );
    let stderr = env.run(&["session", "heartbeat", "s"]).fails(1).to_owned();
    assert!(stderr.contains("session/lifecycle/status"), "{stderr}");
}

#[test]
fn finding_13_a_full_inbox_refuses_the_add_and_says_so() {
    let env = TestEnv::new();
    hook(&env, "SessionStart", "one").ok();
    hook(&env, "SessionStart", "two").ok();
    let message = |n: usize| format!("message {n:02} {}", "m".repeat(280));
    // At the bound: every one is kept, unread.
    for n in 0..MAX_MESSAGES {
        env.run(&["inbox", "add", "--session", "one", &message(n)])
            .ok();
    }
    // Past it: refused, nothing changed, and the reason named.
    let stderr = env.refuses(&["inbox", "add", "--session", "one", "one too many"], 1);
    assert!(
        stderr.contains("the inbox of session `one` is full: it holds 50 unread messages"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: "), "{stderr}");
    let run = env.run(&["inbox", "add", "--session", "one", "--json", "one too many"]);
    let error: Value = serde_json::from_str(run.fails(1)).unwrap();
    assert_eq!(error["error"]["kind"], "conflict");

    // `--all` reaches the sessions with room, and fails naming the one it did not reach.
    let run = env.run(&["inbox", "add", "--all", "--json", "for everyone"]);
    assert_eq!(run.code, 1, "{run}");
    assert_eq!(
        serde_json::from_str::<Value>(&run.stdout).unwrap(),
        json!([{"session_id": "two", "id": 1}])
    );
    assert!(run.stderr.contains("not left for `one`"), "{run}");

    // Every message arrives, whole and in order, over the following prompts.
    let mut delivered = String::new();
    for _ in 0..5 {
        delivered.push_str(&injected(&hook(&env, "UserPromptSubmit", "one")));
        delivered.push('\n');
    }
    let mut at = 0;
    for n in 0..MAX_MESSAGES {
        let found = delivered[at..]
            .find(&message(n))
            .unwrap_or_else(|| panic!("message {n} lost or out of order"));
        at += found;
    }
    assert!(!delivered.contains('…'), "a message was cut");
    // Once read, they make room.
    env.run(&["inbox", "add", "--session", "one", "room again"])
        .ok();
    assert_eq!(
        env.document("one")["execution"]["inbox"]
            .as_array()
            .unwrap()
            .len(),
        MAX_MESSAGES
    );
}

#[test]
fn finding_13_a_message_is_at_most_as_long_as_arrives_whole() {
    let env = TestEnv::new();
    hook(&env, "SessionStart", "s").ok();
    let longest = "w".repeat(MAX_MESSAGE_CHARS);
    env.run(&["inbox", "add", "--session", "s", &longest]).ok();
    let stderr = env.refuses(
        &[
            "inbox",
            "add",
            "--session",
            "s",
            &"w".repeat(MAX_MESSAGE_CHARS + 1),
        ],
        1,
    );
    assert!(
        stderr.contains("8001 characters long, past the 8000"),
        "{stderr}"
    );
    env.refuses(
        &["inbox", "add", "--all", &"w".repeat(MAX_MESSAGE_CHARS + 1)],
        1,
    );
    // SessionStart has too little room for it: it waits for the prompt, and arrives whole.
    let start = injected(&hook(&env, "SessionStart", "s"));
    assert!(!start.contains("www"), "{start}");
    let prompt = injected(&hook(&env, "UserPromptSubmit", "s"));
    assert!(
        prompt.contains(&longest),
        "cut: {} characters",
        prompt.len()
    );
    assert!(!prompt.contains('…'));
}
