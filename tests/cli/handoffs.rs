//! Handoffs between sessions: every session that did something leaves its own, parallel
//! SessionEnds lose none, the next session is told the open items recent sessions took and
//! the latest general handoff, `handoff show` prints exactly that, and `handoff write` works
//! from a terminal as a person's handoff.

use std::process::Stdio;

use serde_json::{Value, json};

use crate::{Run, TestEnv, TimedChild as _};

fn hook(env: &TestEnv, event: &str, payload: &Value) -> Run {
    env.run_with_stdin(&["hook", event], &payload.to_string())
}

fn start(env: &TestEnv, id: &str) -> String {
    let payload = json!({"session_id": id, "hook_event_name": "SessionStart", "source": "startup"});
    let reply: Value = serde_json::from_str(hook(env, "SessionStart", &payload).ok()).unwrap();
    reply["hookSpecificOutput"]["additionalContext"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn tool(id: &str, name: &str, input: Value) -> Value {
    json!({"session_id": id, "hook_event_name": "PostToolUse", "tool_name": name,
        "tool_input": input, "tool_response": {}})
}

fn todos(env: &TestEnv, id: &str, todos: &[(&str, &str)]) {
    let todos: Vec<Value> = todos
        .iter()
        .map(|(content, status)| json!({"content": content, "status": status, "activeForm": content}))
        .collect();
    hook(
        env,
        "PostToolUse",
        &tool(id, "TodoWrite", json!({"todos": todos})),
    )
    .ok();
}

fn edit(env: &TestEnv, id: &str, path: &str) {
    hook(
        env,
        "PostToolUse",
        &tool(id, "Edit", json!({"file_path": path})),
    )
    .ok();
}

fn end_payload(id: &str) -> Value {
    json!({"session_id": id, "hook_event_name": "SessionEnd", "reason": "other"})
}

fn end(env: &TestEnv, id: &str) {
    hook(env, "SessionEnd", &end_payload(id)).ok();
}

/// `orchestron ARGS` run by session `id` (as a Bash call in Claude Code would).
fn as_session(env: &TestEnv, id: &str, args: &[&str]) -> Run {
    let output = env
        .command(args)
        .env("ORCHESTRON_SESSION", id)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
        .timed_wait_with_output()
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn create(env: &TestEnv, title: &str, priority: &str) -> String {
    env.run(&["task", "create", title, "--priority", priority])
        .ok()
        .trim()
        .to_owned()
}

/// Sessions A, B, C, D as the issue tells them: A works and ends; B only reads and claims
/// an item; C and D work on different items and end at the same time. Returns the items
/// B, C and D took.
fn four_sessions(env: &TestEnv) -> (String, String, String) {
    // Created first, so that `task next` (by priority) gives B the one meant for it.
    let tidy = create(env, "Tidy the imports", "high");
    let parser = create(env, "Date parser", "medium");
    let page = create(env, "Landing page", "medium");

    session_a_writes_the_app(env);
    let test = json!({"command": "cargo test"});
    hook(env, "PostToolUse", &tool("a", "Bash", test)).ok();
    end(env, "a");

    start(env, "b");
    hook(
        env,
        "PostToolUse",
        &tool("b", "Read", json!({"file_path": "/p/app.py"})),
    )
    .ok();
    as_session(env, "b", &["task", "list"]).ok();
    let claimed = as_session(env, "b", &["task", "next", "--claim", "--json"]).json();
    assert_eq!(claimed["id"], tidy.as_str());
    hook(
        env,
        "PostToolUse",
        &tool(
            "b",
            "Bash",
            json!({"command": "orchestron task next --claim"}),
        ),
    )
    .ok();

    for (id, item, file, step) in [
        ("c", &parser, "/p/parser.rs", "Parse time zones"),
        ("d", &page, "/p/page.html", "Style the footer"),
    ] {
        start(env, id);
        as_session(env, id, &["task", "start", item]).ok();
        as_session(env, id, &["task", "progress", item, "--percent", "40"]).ok();
        todos(env, id, &[(step, "pending")]);
        edit(env, id, file);
    }
    // B, C and D end at once.
    let children: Vec<_> = ["b", "c", "d"]
        .iter()
        .map(|id| spawn_end(env, id))
        .collect();
    for child in children {
        let output = child.timed_wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    (tidy, parser, page)
}

fn spawn_end(env: &TestEnv, id: &str) -> std::process::Child {
    crate::spawn_with_stdin(
        env.command(&["hook", "SessionEnd"]),
        &end_payload(id).to_string(),
    )
}

/// Session "a" starts, finishes "Write the app", leaves "Write the docs" open and edits
/// `/p/app.py`: general work, tied to no item.
fn session_a_writes_the_app(env: &TestEnv) {
    start(env, "a");
    todos(
        env,
        "a",
        &[
            ("Write the app", "completed"),
            ("Write the docs", "pending"),
        ],
    );
    edit(env, "a", "/p/app.py");
}
#[test]
fn parallel_sessions_keep_their_own_handoffs_and_the_next_is_told_each() {
    let env = TestEnv::new();
    let (tidy, parser, page) = four_sessions(&env);

    let kept = env.project_handoffs();
    let from: Vec<&str> = kept
        .iter()
        .map(|handoff| handoff["from_session"].as_str().unwrap())
        .collect();
    let mut sorted = from.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        ["a", "b", "c", "d"],
        "one handoff per session, none lost"
    );
    assert_eq!(from[0], "a");
    let b = kept.iter().find(|h| h["from_session"] == "b").unwrap();
    assert_eq!(
        b["items"],
        json!([{"id": tidy, "title": "Tidy the imports", "status": "IN_PROGRESS",
                "progress": 0, "did": ["claimed"]}])
    );
    assert_eq!(b["done"], json!([]));
    let c = kept.iter().find(|h| h["from_session"] == "c").unwrap();
    assert_eq!(c["items"][0]["did"], json!(["claimed", "worked"]));
    assert_eq!(c["items"][0]["progress"], 40);
    assert_eq!(c["next_steps"], json!(["Parse time zones"]));

    let context = start(&env, "e");
    for needle in [
        "Open items that recent sessions took, newest first:",
        &format!("- {tidy} \"Tidy the imports\" (IN_PROGRESS, 0%): claimed by session b at"),
        &format!(
            "- {parser} \"Date parser\" (IN_PROGRESS, 40%): claimed and worked on by session c at"
        ),
        &format!(
            "- {page} \"Landing page\" (IN_PROGRESS, 40%): claimed and worked on by session d at"
        ),
        "Next steps: Parse time zones.",
        "Next steps: Style the footer.",
        "Latest handoff in this project, from session a at",
        "- Done: Write the app.",
        "- Next steps: Write the docs.",
        "- Last test run passed: `cargo test`.",
        "/p/app.py",
    ] {
        assert!(
            context.contains(needle),
            "missing {needle:?} in:\n{context}"
        );
    }
    // Items first, the general handoff after them.
    assert!(context.find(&tidy).unwrap() < context.find("from session a").unwrap());
    assert!(
        context.chars().count() <= 2_000,
        "{}",
        context.chars().count()
    );

    // `handoff show` prints exactly what the new session was told of the handoffs.
    let shown = env.run(&["handoff", "show"]).ok().to_owned();
    assert!(!shown.trim().is_empty());
    assert!(
        context.contains(shown.trim_end()),
        "{shown}\n---\n{context}"
    );
    assert!(shown.trim_end().chars().count() <= 1_200, "60% of 2,000");
    let data = env.run(&["handoff", "show", "--json"]).json();
    assert_eq!(data["general"]["from_session"], "a");
    let ids: Vec<&str> = data["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.contains(&tidy.as_str()) && ids.contains(&parser.as_str()));
    let lines: Vec<&str> = data["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line.as_str().unwrap())
        .collect();
    assert_eq!(lines.join("\n"), shown.trim_end());

    // D is not told its own handoff when it resumes, but C's and B's.
    let resumed = start(&env, "d");
    assert!(!resumed.contains("by session d at"), "{resumed}");
    assert!(resumed.contains("by session c at"), "{resumed}");

    // Once C's item is done (by a person, outside any session), it is no longer open: C's
    // handoff becomes the latest general one, as it finished the most recent work.
    env.run(&["task", "complete", &parser]).ok();
    let context = start(&env, "f");
    assert!(!context.contains(&format!("- {parser} ")), "{context}");
    assert!(
        context.contains(&page) && context.contains(&tidy),
        "{context}"
    );
    assert!(
        context.contains("Latest handoff in this project, from session c at"),
        "{context}"
    );
}

#[test]
fn a_session_that_only_reads_hides_nothing_and_leaves_nothing() {
    let env = TestEnv::new();
    start(&env, "worker");
    todos(&env, "worker", &[("Ship it", "completed")]);
    end(&env, "worker");
    start(&env, "reader");
    for _ in 0..3 {
        hook(
            &env,
            "PostToolUse",
            &tool("reader", "Read", json!({"file_path": "/p/x"})),
        )
        .ok();
    }
    as_session(&env, "reader", &["task", "list"]).ok();
    as_session(&env, "reader", &["board"]).ok();
    hook(
        &env,
        "PostToolUse",
        &tool("reader", "Bash", json!({"command": "orchestron board"})),
    )
    .ok();
    end(&env, "reader");
    let kept = env.project_handoffs();
    assert_eq!(kept.len(), 1, "{kept:#?}");
    let context = start(&env, "next");
    assert!(
        context.contains("from session worker") && context.contains("Done: Ship it."),
        "{context}"
    );
    // A claim it releases again is no claim.
    let item = create(&env, "Maybe", "medium");
    start(&env, "undecided");
    as_session(&env, "undecided", &["task", "next", "--claim"]).ok();
    as_session(&env, "undecided", &["task", "release", &item]).ok();
    end(&env, "undecided");
    assert_eq!(env.project_handoffs().len(), 1);
}

#[test]
fn many_parallel_session_ends_lose_no_handoff() {
    let env = TestEnv::new();
    let ids: Vec<String> = (0..8).map(|i| format!("s{i}")).collect();
    for id in &ids {
        start(&env, id);
        edit(&env, id, &format!("/p/{id}.rs"));
    }
    let children: Vec<_> = ids.iter().map(|id| spawn_end(&env, id)).collect();
    for child in children {
        assert!(child.timed_wait_with_output().unwrap().status.success());
    }
    let mut from: Vec<String> = env
        .project_handoffs()
        .iter()
        .map(|h| h["from_session"].as_str().unwrap().to_owned())
        .collect();
    from.sort();
    assert_eq!(from, ids);
}

#[test]
fn handoffs_are_kept_bounded_by_count_and_age() {
    let mut env = TestEnv::new();
    std::fs::create_dir_all(env.home()).unwrap();
    std::fs::write(
        env.home().join("config.json"),
        r#"{"handoffs": {"keep": 3, "max_age": "2d"}}"#,
    )
    .unwrap();
    for (i, day) in ["01", "02", "03", "04", "05"].iter().enumerate() {
        env.set("ORCHESTRON_NOW", &format!("2026-01-{day}T00:00:00Z"));
        let id = format!("s{i}");
        start(&env, &id);
        edit(&env, &id, "/p/x");
        end(&env, &id);
    }
    let from = |env: &TestEnv| -> Vec<String> {
        env.run(&["handoff", "show", "--all", "--json"])
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["from_session"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(from(&env), ["s4", "s3", "s2"], "the newest 3, newest first");
    assert_eq!(env.project_handoffs().len(), 3, "pruned on disk too");
    // Two days later, the older ones are past `max_age`, even before the next write.
    env.set("ORCHESTRON_NOW", "2026-01-06T12:00:00Z");
    assert_eq!(from(&env), ["s4"]);

    // Bad settings are refused with the key named, and change nothing.
    for bad in [
        r#"{"handoffs": {"keep": 0}}"#,
        r#"{"handoffs": {"keep": 1000}}"#,
        r#"{"handoffs": {"max_age": "soon"}}"#,
    ] {
        std::fs::write(env.home().join("config.json"), bad).unwrap();
        let stderr = env.refuses(&["handoff", "show"], 1);
        assert!(stderr.contains("handoffs."), "{bad}: {stderr}");
    }
}

#[test]
fn a_handoff_left_by_the_previous_version_is_still_read_and_then_converted() {
    let env = TestEnv::new();
    let (project, _) = env.project_file();
    let old = json!({"schema_version": "1.0.0", "project": project, "from_session": "old",
        "at": "2025-12-31T00:00:00Z", "reason": "exit", "done": ["Migrate the schema"],
        "files": ["/p/db.rs"], "last_test": null, "next_steps": ["Drop the old table"],
        "tool_calls": 4});
    let file = env.project_file().1;
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, serde_json::to_string_pretty(&old).unwrap()).unwrap();

    let context = start(&env, "new");
    assert!(context.contains("from session old"), "{context}");
    assert!(
        context.contains("Next steps: Drop the old table."),
        "{context}"
    );
    edit(&env, "new", "/p/y");
    end(&env, "new");
    let stored: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(stored["schema_version"], 2);
    let from: Vec<&str> = stored["handoffs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["from_session"].as_str().unwrap())
        .collect();
    assert_eq!(from, ["old", "new"]);
}

#[test]
fn handoff_write_from_a_terminal_is_a_persons_handoff() {
    let env = TestEnv::new();
    // No current session: the handoff is a person's.
    let before = env.disk();
    let stderr = env.run(&["handoff", "write"]).fails(1).to_owned();
    assert!(
        stderr.contains("--next") && stderr.contains("--note"),
        "{stderr}"
    );
    let preview = env
        .run(&[
            "handoff",
            "write",
            "--next",
            "Rotate the keys",
            "--dry-run",
            "--json",
        ])
        .json();
    assert_eq!(preview["by"], "person");
    assert_eq!(env.disk(), before, "a refusal and a dry run store nothing");

    let shown = env
        .run(&[
            "handoff",
            "write",
            "--next",
            "Rotate the keys",
            "--note",
            "staging is down",
        ])
        .ok()
        .to_owned();
    assert!(
        shown.starts_with("Handoff from a person at 2026-01-01T00:00:00Z"),
        "{shown}"
    );
    let written = env.project_handoffs();
    assert_eq!(written.len(), 1);
    assert_eq!(written[0]["by"], "person");
    assert_eq!(written[0]["from_session"], Value::Null);
    assert_eq!(written[0]["planned"], json!(["Rotate the keys"]));
    // A second one is kept beside the first.
    env.run(&["handoff", "write", "--note", "and the certificates"])
        .ok();
    assert_eq!(env.project_handoffs().len(), 2);

    let context = start(&env, "next");
    assert!(
        context.contains("Latest handoff in this project, from a person at"),
        "{context}"
    );
    assert!(context.contains("Note: and the certificates"), "{context}");
}

#[test]
fn handoff_show_narrows_and_widens() {
    let env = TestEnv::new();
    // Reads never create anything, not even the state root.
    env.run(&["handoff", "show"]).ok();
    env.run(&["handoff", "show", "--all", "--json"]).ok();
    assert!(!env.home().exists());
    assert_eq!(
        env.run(&["handoff", "show", "--json"]).json(),
        json!({"project": env.project_file().0, "lines": [], "items": [], "more_items": 0,
            "general": null})
    );

    let (_, parser, page) = four_sessions(&env);
    let all = env.run(&["handoff", "show", "--all", "--json"]).json();
    assert_eq!(all.as_array().unwrap().len(), 4);
    let text = env.run(&["handoff", "show", "--all"]).ok().to_owned();
    assert_eq!(text.matches("Handoff from session").count(), 4, "{text}");

    // An item by its id, or a prefix of its suffix as `task show` takes it.
    let about = env
        .run(&["handoff", "show", "--item", &parser, "--json"])
        .json();
    assert_eq!(about.as_array().unwrap().len(), 1);
    assert_eq!(about[0]["from_session"], "c");
    let suffix = parser.split_once('-').unwrap().1;
    let text = env
        .run(&["handoff", "show", "--item", suffix])
        .ok()
        .to_owned();
    assert!(text.starts_with("Handoff from session c at"), "{text}");
    assert!(
        text.contains(&format!(
            "- Items: {parser} \"Date parser\" (IN_PROGRESS, 40%): claimed and worked on."
        )),
        "{text}"
    );

    let d = env
        .run(&["handoff", "show", "--session", "d", "--json"])
        .json();
    assert_eq!(d["items"][0]["id"], page.as_str());
    assert_eq!(
        env.run(&["handoff", "show", "--session", "zz", "--json"])
            .json(),
        Value::Null
    );
    let run = env.run(&["handoff", "show", "--session", "zz"]);
    assert!(
        run.ok().is_empty() && run.stderr.contains("left no handoff"),
        "{run}"
    );

    // Bad input: a usage error, or an invalid id, and nothing changes.
    env.refuses(&["handoff", "show", "--all", "--item", "x"], 2);
    env.refuses(&["handoff", "show", "--session", "../x"], 1);
    // Another project has none.
    assert_eq!(
        env.run(&[
            "handoff",
            "show",
            "--project",
            "elsewhere",
            "--all",
            "--json"
        ])
        .json(),
        json!([])
    );
}

#[test]
fn a_session_that_completes_an_item_hands_on_its_done_work() {
    let env = TestEnv::new();
    let item = create(&env, "Fix the login", "high");
    start(&env, "closer");
    as_session(&env, "closer", &["task", "start", &item]).ok();
    as_session(&env, "closer", &["task", "complete", &item]).ok();
    end(&env, "closer");
    let kept = env.project_handoffs();
    assert_eq!(kept[0]["items"][0]["did"], json!(["claimed", "completed"]));
    let context = start(&env, "next");
    assert!(!context.contains("Open items"), "{context}");
    assert!(
        context.contains(&format!("- Completed: {item} \"Fix the login\".")),
        "{context}"
    );
}

/// Session A works on the app (no item); then `n` sessions each start an item of their own,
/// write long to-dos, edit a file and end. Returns the items, oldest first.
fn general_work_then_many_items(env: &TestEnv, n: usize) -> Vec<String> {
    let items: Vec<String> = (0..n)
        .map(|i| create(env, &format!("Item {i}"), "medium"))
        .collect();
    session_a_writes_the_app(env);
    end(env, "a");
    for (i, item) in items.iter().enumerate() {
        let id = format!("s{i}");
        start(env, &id);
        as_session(env, &id, &["task", "start", item]).ok();
        let step = format!(
            "Finish item {i}: {}",
            "and check every case of it ".repeat(4)
        );
        todos(env, &id, &[(step.as_str(), "pending")]);
        edit(env, &id, &format!("/p/item{i}.py"));
        end(env, &id);
    }
    items
}

#[test]
fn the_latest_general_handoff_is_never_one_about_an_open_item() {
    let env = TestEnv::new();
    let items = general_work_then_many_items(&env, 8);
    let context = start(&env, "new");
    // A's handoff is the general one, not that of an open item the list has no room for.
    assert!(
        context.contains("Latest handoff in this project, from session a at"),
        "{context}"
    );
    for needle in [
        "- Done: Write the app.",
        "- Next steps: Write the docs.",
        "/p/app.py",
    ] {
        assert!(
            context.contains(needle),
            "missing {needle:?} in:\n{context}"
        );
    }
    for (i, item) in items.iter().enumerate() {
        if context.contains(&format!("- {item} ")) {
            continue;
        }
        // An item left out is counted, never dropped silently; its handoff is not general.
        assert!(
            !context.contains(&format!("Finish item {i}:")),
            "item {i}'s handoff told as general:\n{context}"
        );
    }
    let shown = items
        .iter()
        .filter(|item| context.contains(&format!("- {item} ")))
        .count();
    assert!(shown < items.len(), "{context}");
    assert!(
        context.contains(&format!(
            "({} more open items: `orchestron handoff show --all`)",
            items.len() - shown
        )),
        "{context}"
    );
    let brief = env.run(&["handoff", "show"]).ok().to_owned();
    assert!(brief.trim_end().chars().count() <= 1_200, "{brief}");
    assert!(
        context.contains(brief.trim_end()),
        "{brief}\n---\n{context}"
    );
    let data = env.run(&["handoff", "show", "--json"]).json();
    assert_eq!(data["general"]["from_session"], "a");
    assert_eq!(data["more_items"], 2, "six listed, two more");

    // Once every item A's successors took is done, the newest of their handoffs is general.
    for item in &items {
        env.run(&["task", "complete", item]).ok();
    }
    let context = start(&env, "later");
    assert!(
        context.contains("Latest handoff in this project, from session s7 at"),
        "{context}"
    );
    assert!(!context.contains("Open items"), "{context}");
}

#[test]
fn a_small_budget_keeps_no_empty_heading_and_counts_the_items_left_out() {
    let env = TestEnv::new();
    general_work_then_many_items(&env, 3);
    std::fs::write(
        env.home().join("config.json"),
        r#"{"hooks": {"context_chars": 300}}"#,
    )
    .unwrap();
    let context = start(&env, "new");
    let lines: Vec<&str> = context.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("Open items that recent sessions took")
            || line.starts_with("Latest handoff in this project")
        {
            assert!(
                lines.get(i + 1).is_some_and(|next| next.starts_with("- ")),
                "a heading with nothing under it:\n{context}"
            );
        }
    }
    assert!(
        context
            .contains("(3 open items that recent sessions took: `orchestron handoff show --all`)"),
        "{context}"
    );
    let brief = env.run(&["handoff", "show"]).ok().to_owned();
    assert!(
        brief.trim_end().chars().count() <= 180,
        "60% of 300:\n{brief}"
    );
    assert!(
        context.contains(brief.trim_end()),
        "{brief}\n---\n{context}"
    );
    assert!(context.chars().count() <= 300, "{context}");
}

#[test]
fn a_session_that_only_ran_task_progress_hides_no_earlier_next_steps() {
    let env = TestEnv::new();
    let item = create(&env, "Landing page", "medium");
    start(&env, "c");
    as_session(&env, "c", &["task", "start", &item]).ok();
    todos(&env, "c", &[("Style the footer", "pending")]);
    edit(&env, "c", "/p/page.html");
    end(&env, "c");
    start(&env, "e");
    as_session(&env, "e", &["task", "progress", &item, "--percent", "40"]).ok();
    end(&env, "e");
    assert_eq!(
        env.project_handoffs().len(),
        2,
        "e's work on the item is kept"
    );

    let context = start(&env, "next");
    let at = "2026-01-01T00:00:00Z";
    let expected = format!(
        "- {item} \"Landing page\" (IN_PROGRESS, 40%): worked on by session e at {at}; before \
         that claimed by session c at {at}. Next steps: Style the footer. Files touched: \
         /p/page.html."
    );
    assert!(
        context.contains(&expected),
        "missing {expected:?} in:\n{context}"
    );
}

#[test]
fn handoff_show_item_refuses_an_unknown_item_like_task_show() {
    let env = TestEnv::new();
    let item = create(&env, "Quiet", "low");
    // An item no handoff names has none: nothing on stdout, exit 0.
    assert_eq!(
        env.run(&["handoff", "show", "--item", &item, "--json"])
            .json(),
        json!([])
    );
    assert!(
        env.run(&["handoff", "show", "--item", &item])
            .ok()
            .is_empty()
    );
    // An unknown one fails as `task show` does, with the same error.
    let task = env.refuses(&["task", "show", "TASK-nope", "--json"], 1);
    let stderr = env.refuses(&["handoff", "show", "--item", "TASK-nope", "--json"], 1);
    let error: Value = serde_json::from_str(stderr.trim()).unwrap();
    assert_eq!(error["error"]["kind"], "not_found", "{stderr}");
    assert_eq!(error, serde_json::from_str::<Value>(task.trim()).unwrap());
    env.refuses(&["handoff", "show", "--item", "TASK-nope"], 1);

    // An item purged since is no longer in the tracker, but the handoffs naming it exactly
    // are still found.
    let gone = create(&env, "Short-lived", "low");
    start(&env, "s");
    as_session(&env, "s", &["task", "start", &gone]).ok();
    edit(&env, "s", "/p/x");
    end(&env, "s");
    env.run(&["task", "delete", &gone, "--purge"]).ok();
    env.refuses(&["task", "show", &gone], 1);
    let found = env
        .run(&["handoff", "show", "--item", &gone, "--json"])
        .json();
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found[0]["from_session"], "s");
}
