//! The vocabulary of seed 000: `status`, `context [ID]` in and out of a session, `mode`
//! reporting what new sessions start in, and named context snapshots (`context save`,
//! `load`, `list`, `prune`), all with a fixed clock.

use serde_json::{Value, json};

use crate::TestEnv;

/// A session id the hooks would get from Claude Code.
const SESSION: &str = "7b0e2f4a-1c3d-4e5f-8a9b-0c1d2e3f4a5b";

/// The project's name: the temp dir's.
fn project(env: &TestEnv) -> String {
    env.path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// Start session `id` as Claude Code does, with the environment Claude Code gives its hooks
/// (`ORCHESTRON_MODE` from the settings' `env`, when set); returns the context injected.
fn start(env: &TestEnv, id: &str, mode: Option<&str>) -> String {
    let payload = json!({"session_id": id, "hook_event_name": "SessionStart",
        "source": "startup", "cwd": env.path()});
    let mut command = env.command(&["hook", "SessionStart"]);
    if let Some(mode) = mode {
        command.env("ORCHESTRON_MODE", mode);
    }
    let run = run_with(command, &payload.to_string());
    assert_eq!(run.code, 0, "{run}");
    let reply: Value = serde_json::from_str(&run.stdout).unwrap();
    reply["hookSpecificOutput"]["additionalContext"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn run_with(command: std::process::Command, input: &str) -> crate::Run {
    crate::run_of(crate::wait_with_timeout(
        crate::spawn_with_stdin(command, input),
        crate::CHILD_LIMIT,
    ))
}

fn write(env: &TestEnv, path: &str, text: &str) {
    let path = env.path().join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Claim a task `Fix login` for the current session, make it wait for `Dep first` and put
/// it at 60%; returns both ids.
fn claimed_task(env: &TestEnv) -> (String, String) {
    let task = env.run(&["task", "create", "Fix login", "--json"]).json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        env.run(&["task", "next", "--claim", "--json"]).json()["id"],
        task
    );
    let dep = env.run(&["task", "create", "Dep first", "--json"]).json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    env.run(&["task", "depend", &task, "--on", &dep]).ok();
    env.run(&["task", "progress", &task, "--percent", "60"])
        .ok();
    (task, dep)
}

#[test]
fn status_in_and_out_of_a_session() {
    let mut env = TestEnv::new();
    // Out of a session, on an empty project: the project in one line, and nothing created.
    let before = env.disk();
    let run = env.run(&["status"]);
    assert_eq!(
        run.ok(),
        format!(
            "No current session.\n{}: no items yet; 0 live sessions.\n",
            project(&env)
        )
    );
    let shown = env.run(&["status", "--json"]).json();
    assert_eq!(shown["session"], Value::Null);
    assert_eq!(shown["item"], Value::Null);
    assert_eq!(
        shown["project"],
        format!("{}: no items yet; 0 live sessions.", project(&env))
    );
    assert_eq!(env.disk(), before, "status created something");
    assert!(!env.home().exists());

    // In a session: its item with progress and status, its blockers, its unread messages.
    env.session("s1");
    env.set("ORCHESTRON_SESSION", "s1");
    let (task, dep) = claimed_task(&env);
    env.run(&[
        "inbox",
        "add",
        "--session",
        "s1",
        "Please look at the cache\nmore below",
    ])
    .ok();
    env.run(&["inbox", "add", "--session", "s1", "\n  second message"])
        .ok();
    assert_eq!(
        env.run(&["status"]).ok(),
        format!(
            "Session s1 (development, active)\n\
             Current task: {task} (60% complete): Fix login\n\
             Status: IN_PROGRESS\n\
             Blockers: waits for {dep} (TODO) Dep first\n\
             Messages: 2 unread\n  \
               - Please look at the cache\n  \
               - second message\n"
        )
    );
    let shown = env.run(&["status", "--json"]).json();
    assert_eq!(
        shown["session"],
        json!({"id": "s1", "mode": "development", "status": "active"})
    );
    assert_eq!(shown["item"]["id"], task.as_str());
    assert_eq!(shown["item"]["progress"], 60);
    assert_eq!(
        shown["blockers"],
        json!([{"id": dep, "status": "TODO", "title": "Dep first"}])
    );
    assert_eq!(shown["messages"]["unread"], 2);
    // Reading the status delivers nothing.
    let unread = env.run(&["inbox", "list", "--unread", "--json"]).json();
    assert_eq!(unread.as_array().unwrap().len(), 2);

    // A blocked reason comes first; a session without an item says how to take one.
    env.run(&[
        "task",
        "update",
        &task,
        "--status",
        "BLOCKED",
        "--reason",
        "waiting for the API design",
    ])
    .ok();
    let text = env.run(&["status"]).ok().to_owned();
    assert!(
        text.contains(&format!(
            "Blockers: waiting for the API design; waits for {dep} (TODO) Dep first"
        )),
        "{text}"
    );
    env.session("s2");
    let text = env.run(&["status", "--session", "s2"]).ok().to_owned();
    assert!(
        text.contains("Current task: none (`orchestron task next --claim`"),
        "{text}"
    );
    assert!(text.contains("Messages: none unread"), "{text}");

    // With the clock later, the session shows as expired: the clock is the fixed one.
    env.set("ORCHESTRON_NOW", "2026-01-03T00:00:00Z");
    assert_eq!(
        env.run(&["status", "--json"]).json()["session"]["status"],
        "expired"
    );
    env.set("ORCHESTRON_NOW", crate::NOW);

    // A session named by the environment that has not started: the project, with a note.
    env.set("ORCHESTRON_SESSION", "not-started");
    let run = env.run(&["status"]);
    assert!(run.ok().starts_with("No current session.\n"), "{run}");
    assert!(
        run.stdout
            .contains("2 items (1 todo, 1 blocked); 2 live sessions; 1 blocked; next ready:"),
        "{run}"
    );
    assert!(run.stderr.contains("not-started has not started"), "{run}");
    // A session asked for by name must exist; bad ids are refused; nothing changes.
    let stderr = env.refuses(&["status", "--session", "ghost"], 1);
    assert!(stderr.contains("session `ghost` not found"), "{stderr}");
    env.refuses(&["status", "--session", "../x"], 1);
}

#[test]
fn status_is_a_command_and_its_typo_hint_says_so() {
    let env = TestEnv::new();
    env.run(&["status"]).ok();
    let stderr = env.run(&["statu"]).fails(2).to_owned();
    assert!(stderr.contains("'status'"), "{stderr}");
    let help = env.run(&["--help"]).ok().to_owned();
    assert!(help.contains("\n  status "), "{help}");
}

#[test]
fn mode_reports_what_new_sessions_start_in_from_what_mode_writes() {
    let mut env = TestEnv::new();
    let shown = env.run(&["mode", "--json"]).json();
    assert_eq!(shown["mode"], "development");
    assert_eq!(
        shown["new_sessions"],
        json!({"mode": "development", "style": null, "from": "default", "file": null})
    );
    assert!(!env.home().exists(), "`mode` created the state root");

    // The configuration's default.
    std::fs::create_dir_all(env.home()).unwrap();
    std::fs::write(
        env.home().join("config.json"),
        r#"{"session": {"default_mode": "leadership"}}"#,
    )
    .unwrap();
    let shown = env.run(&["mode", "--json"]).json();
    assert_eq!(shown["new_sessions"]["mode"], "leadership");
    assert_eq!(shown["new_sessions"]["from"], "config");

    // The regression: after `mode sprint`, plain `mode` said development.
    env.run(&["mode", "sprint"]).ok();
    assert_eq!(
        env.run(&["mode"]).ok(),
        "new sessions here start in sprint mode (style: sprint_execution), from \
         `env.ORCHESTRON_MODE` in .claude/settings.local.json\n"
    );
    let shown = env.run(&["mode", "--json"]).json();
    assert_eq!(shown["mode"], "sprint");
    assert_eq!(shown["new_sessions"]["from"], "settings");
    assert!(
        shown["new_sessions"]["file"]
            .as_str()
            .unwrap()
            .ends_with(".claude/settings.local.json")
    );
    // The settings win over this process's environment, as they do for Claude Code's hooks.
    env.set("ORCHESTRON_MODE", "config");
    assert_eq!(
        env.run(&["mode", "--json"]).json()["new_sessions"]["mode"],
        "sprint"
    );
    // Without the setting, the environment, then the configuration.
    write(
        &env,
        ".claude/settings.local.json",
        "{\"model\": \"opus\"}\n",
    );
    let shown = env.run(&["mode", "--json"]).json();
    assert_eq!(shown["new_sessions"]["mode"], "config");
    assert_eq!(shown["new_sessions"]["from"], "environment");
    env.unset("ORCHESTRON_MODE");
    // The project's committed settings count too, below the local ones.
    write(
        &env,
        ".claude/settings.json",
        "{\"env\": {\"ORCHESTRON_MODE\": \"config\", \"BIG\": 1E400}}\n",
    );
    assert_eq!(
        env.run(&["mode", "--json"]).json()["new_sessions"]["mode"],
        "config"
    );
    std::fs::remove_file(env.path().join(".claude/settings.json")).unwrap();

    // In a session started as Claude Code starts it: the session's mode, and both in text.
    env.run(&["mode", "sprint"]).ok();
    start(&env, SESSION, Some("sprint"));
    env.set("ORCHESTRON_SESSION", SESSION);
    let shown = env.run(&["mode", "--json"]).json();
    assert_eq!(shown["session"], SESSION);
    assert_eq!(shown["mode"], "sprint");
    env.run(&["mode", "leadership"]).ok();
    let text = env.run(&["mode"]).ok().to_owned();
    assert_eq!(
        text,
        format!(
            "{SESSION} is in leadership mode (style: leadership_chat); new sessions here start \
             in leadership mode (style: leadership_chat), from `env.ORCHESTRON_MODE` in \
             .claude/settings.local.json\n"
        )
    );

    // A value the hooks would refuse is reported with where it is, and changes nothing.
    write(
        &env,
        ".claude/settings.local.json",
        "{\"env\": {\"ORCHESTRON_MODE\": \"party\"}}\n",
    );
    let stderr = env.refuses(&["mode"], 1);
    assert!(
        stderr.contains("invalid `env.ORCHESTRON_MODE`")
            && stderr.contains("settings.local.json")
            && stderr.contains("unknown mode `party`"),
        "{stderr}"
    );
    // Switching still works, and mends it.
    env.run(&["mode", "config"]).ok();
    assert_eq!(
        env.run(&["mode", "--json"]).json()["new_sessions"]["mode"],
        "config"
    );
}

#[test]
fn context_in_and_out_of_a_session() {
    let mut env = TestEnv::new();
    // Out of a session, in a fresh project: what a new session is told, and nothing created.
    let run = env.run(&["context"]);
    assert_eq!(
        run.ok(),
        "Orchestron session (new), mode development (startup).\n"
    );
    assert!(
        run.stderr
            .contains("no current session: this is what a new session here is told"),
        "{run}"
    );
    assert!(!env.home().exists(), "`context` created the state root");

    // A session that worked left a handoff; new sessions start in sprint mode.
    let first = "11111111-1111-4111-8111-111111111111";
    start(&env, first, None);
    env.run(&[
        "handoff",
        "write",
        "--session",
        first,
        "--next",
        "ship the parser",
    ])
    .ok();
    env.run(&["mode", "sprint"]).ok();
    let shown = env.run(&["context", "--json"]).json();
    assert_eq!(shown["new"], true);
    assert_eq!(shown["session_id"], Value::Null);
    assert_eq!(shown["mode"], "sprint");
    let preview = shown["context"].as_str().unwrap().to_owned();
    assert!(
        preview.starts_with("Orchestron session (new), mode sprint (startup).\n"),
        "{preview}"
    );
    assert!(preview.contains("ship the parser"), "{preview}");

    // Named by the environment before it starts: exactly what its SessionStart then injects.
    env.set("ORCHESTRON_SESSION", SESSION);
    let before = env.disk();
    let shown = env.run(&["context", "--json"]).json();
    assert_eq!(env.disk(), before, "the preview wrote something");
    assert_eq!(shown["session_id"], SESSION);
    assert_eq!(shown["new"], true);
    let told = start(&env, SESSION, Some("sprint"));
    assert_eq!(shown["context"], told.as_str());

    // In the session: its own context, by the current session, by id, and by `show`.
    let current = env.run(&["context", "--json"]).json();
    assert_eq!(current["new"], false);
    assert_eq!(current["session_id"], SESSION);
    let text = current["context"].as_str().unwrap();
    assert!(
        text.starts_with(&format!("Orchestron session {SESSION}, mode sprint.\n")),
        "{text}"
    );
    assert!(text.contains("ship the parser"), "{text}");
    let by_id = env.run(&["context", SESSION]).ok().to_owned();
    assert_eq!(by_id, format!("{text}\n"));
    assert_eq!(env.run(&["context", "show", SESSION]).ok(), by_id);

    // A session whose id is a verb is reached with `show`.
    env.run(&["session", "create", "--id", "save"]).ok();
    let shown = env.run(&["context", "show", "save"]).ok().to_owned();
    assert!(
        shown.starts_with("Orchestron session save, mode development."),
        "{shown}"
    );
    // A missing session, asked for by id, is an error; nothing changes.
    env.refuses(&["context", "ghost"], 1);
    env.refuses(&["context", "show", "ghost"], 1);
    env.refuses(&["context", "show", "a", "b"], 2);
}

#[test]
fn snapshots_save_load_list_and_prune() {
    let mut env = TestEnv::new();
    env.session("s1");
    env.set("ORCHESTRON_SESSION", "s1");
    let (task, _) = claimed_task(&env);
    env.run(&[
        "state",
        "set",
        "s1",
        "execution.todos",
        r#"{"items": [{"content": "parser", "status": "completed"},
                      {"content": "write tests", "status": "in_progress"}],
            "done": 1, "total": 2}"#,
        "--json-value",
    ])
    .ok();
    env.run(&[
        "state",
        "set",
        "s1",
        "execution.files",
        r#"{"/p/a.rs": {"last_edit": "2025-12-31T10:00:00Z"},
            "/p/b.rs": {"last_edit": "2025-12-31T11:00:00Z"}}"#,
        "--json-value",
    ])
    .ok();
    env.run(&[
        "state",
        "set",
        "s1",
        "execution.tests.last",
        r#"{"command": "cargo test", "passed": false}"#,
        "--json-value",
    ])
    .ok();

    // Save: the item, to-dos, files (latest first), last test run and notes.
    let saved = env
        .run(&[
            "context",
            "save",
            "before-auth",
            "--note",
            "try B first",
            "--json",
        ])
        .json();
    assert_eq!(saved["replaced"], false);
    let snapshot = &saved["snapshot"];
    assert_eq!(snapshot["name"], "before-auth");
    assert_eq!(snapshot["saved_at"], crate::NOW);
    assert_eq!(snapshot["session"], "s1");
    assert_eq!(snapshot["item"]["id"], task.as_str());
    assert_eq!(snapshot["item"]["progress"], 60);
    assert_eq!(snapshot["files"], json!(["/p/b.rs", "/p/a.rs"]));
    assert_eq!(snapshot["notes"], json!(["try B first"]));
    assert_eq!(snapshot["last_test"]["passed"], false);
    assert_eq!(snapshot["todos"].as_array().unwrap().len(), 2);
    let stored = env.home().join("snapshots").join("before-auth.json");
    assert!(stored.is_file());
    // The same name again replaces it, and says so.
    let run = env.run(&["context", "save", "before-auth", "--note", "try B first"]);
    assert!(run.stderr.contains("it replaces the snapshot"), "{run}");
    assert_eq!(
        run.ok(),
        format!(
            "saved context snapshot before-auth (item {task}, 1 open to-do, 2 files, 1 note)\n"
        )
    );
    // Without a name, one from the time, made unique.
    env.set("ORCHESTRON_NOW", "2026-01-01T01:00:00Z");
    let first = env.run(&["context", "save", "--json"]).json();
    assert_eq!(first["snapshot"]["name"], "20260101-010000");
    let second = env.run(&["context", "save", "--json"]).json();
    assert_eq!(second["snapshot"]["name"], "20260101-010000-2");

    // List: newest first.
    let listed = env.run(&["context", "list", "--json"]).json();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["20260101-010000-2", "20260101-010000", "before-auth"]
    );
    assert_eq!(
        listed[2],
        json!({"name": "before-auth", "saved_at": crate::NOW, "session": "s1",
            "item": task, "todos_open": 1, "files": 2, "notes": 1})
    );
    let table = env.run(&["context", "list"]).ok().to_owned();
    assert!(table.starts_with("NAME "), "{table}");

    // Load into another session: printed for the model, the item linked, the load noted.
    env.session("s2");
    env.set("ORCHESTRON_SESSION", "s2");
    let text = env.run(&["context", "load", "before-auth"]).ok().to_owned();
    assert_eq!(
        text,
        format!(
            "Context snapshot before-auth, saved at {now} by session s1:\n\
             - Item {task} (IN_PROGRESS, 60%): Fix login.\n\
             - Note: try B first\n\
             - Open to-dos: write tests.\n\
             - Done: parser.\n\
             - Files: /p/b.rs, /p/a.rs.\n\
             - Last test run FAILED: `cargo test`.\n\
             Item {task} is linked to this session (it was linked to session s1).\n",
            now = crate::NOW
        )
    );
    let item = env.run(&["task", "show", &task, "--json"]).json();
    assert_eq!(item["session"], "s2");
    let history = env.run(&["task", "history", &task, "--json"]).json();
    let linked = history
        .as_array()
        .unwrap()
        .iter()
        .find(|event| event["what"] == "linked")
        .expect("a `linked` event");
    assert_eq!(
        linked["detail"],
        json!({"session": "s2", "snapshot": "before-auth", "previous_session": "s1"})
    );
    assert_eq!(
        env.document("s2")["observability"]["event_counts"]["context_loaded"],
        1
    );
    // The next SessionStart of s2 (and `context`) tells it of the item.
    let context = env.run(&["context"]).ok().to_owned();
    assert!(
        context.contains(&format!(
            "Current task {task} (IN_PROGRESS, 60%): Fix login."
        )),
        "{context}"
    );
    // `--latest` is the newest.
    let latest = env.run(&["context", "load", "--latest", "--json"]).json();
    assert_eq!(latest["snapshot"]["name"], "20260101-010000-2");
    assert_eq!(latest["session"], "s2");
    assert_eq!(latest["link"]["linked"], true);

    // Without a session a load only prints: nothing changes.
    env.unset("ORCHESTRON_SESSION");
    let before = env.disk();
    let run = env.run(&["context", "load", "before-auth"]);
    assert!(
        run.ok().starts_with("Context snapshot before-auth"),
        "{run}"
    );
    assert!(run.stderr.contains("only printed"), "{run}");
    assert_eq!(env.disk(), before);
    // A finished item is not linked again.
    env.set("ORCHESTRON_SESSION", "s2");
    env.run(&["task", "complete", &task, "--force"]).ok();
    let loaded = env
        .run(&["context", "load", "before-auth", "--json"])
        .json();
    assert_eq!(loaded["link"]["linked"], false);
    assert_eq!(loaded["link"]["reason"], "it is DONE");

    // Bad input is refused and changes nothing.
    let note = "x".repeat(2_001);
    for (args, code, complaint) in [
        (
            &["context", "save", "Before refactoring auth"][..],
            1,
            "invalid snapshot name",
        ),
        (&["context", "save", "../x"], 1, "starts with `.`"),
        (
            &["context", "save", "n", "--note", " "],
            1,
            "needs some text",
        ),
        (&["context", "save", "n", "--note", &note], 1, "longer than"),
        (
            &["context", "save", "n", "--session", "ghost"],
            1,
            "not found",
        ),
        (
            &["context", "load", "nope"],
            1,
            "no context snapshot `nope`",
        ),
        (&["context", "load", "../x"], 1, "invalid snapshot name"),
        (
            &["context", "load", "before-auth", "--session", "ghost"],
            1,
            "not found",
        ),
        (&["context", "load"], 2, "required"),
        (&["context", "load", "a", "--latest"], 2, "cannot be used"),
        (
            &["context", "prune", "--older-than", "soon"],
            1,
            "invalid `--older-than soon`",
        ),
    ] {
        let stderr = env.refuses(args, code);
        assert!(stderr.contains(complaint), "{args:?}: {stderr}");
    }
    env.unset("ORCHESTRON_SESSION");
    let stderr = env.refuses(&["context", "save", "n"], 1);
    assert!(stderr.contains("no current session"), "{stderr}");

    // Prune: older than a duration.
    env.set("ORCHESTRON_NOW", "2026-01-01T12:00:00Z");
    let pruned = env
        .run(&["context", "prune", "--older-than", "11h", "--json"])
        .json();
    assert_eq!(pruned, json!({"removed": ["before-auth"], "kept": 2}));
    assert!(!stored.exists());
    assert!(!env.home().join("snapshots/before-auth.lock").exists());
    assert_eq!(
        env.run(&["context", "prune"]).ok(),
        "nothing to prune; 2 kept\n"
    );
    let stderr = env.refuses(&["context", "load", "before-auth"], 1);
    assert!(stderr.contains("no context snapshot"), "{stderr}");
}

#[test]
fn snapshots_are_kept_within_their_bounds() {
    let mut env = TestEnv::new();
    env.session("s1");
    env.set("ORCHESTRON_SESSION", "s1");
    std::fs::write(
        env.home().join("config.json"),
        r#"{"snapshots": {"keep": 2, "max_age": "7d"}}"#,
    )
    .unwrap();
    for (now, name) in [
        ("2026-01-01T00:00:00Z", "a"),
        ("2026-01-02T00:00:00Z", "b"),
        ("2026-01-03T00:00:00Z", "c"),
    ] {
        env.set("ORCHESTRON_NOW", now);
        env.run(&["context", "save", name]).ok();
    }
    let names = |env: &TestEnv| -> Vec<String> {
        env.run(&["context", "list", "--json"])
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_owned())
            .collect()
    };
    // Keep 2: saving the third dropped the oldest.
    assert_eq!(names(&env), ["c", "b"]);
    // Max age 7 days: a save ten days on drops both, and keeps itself.
    env.set("ORCHESTRON_NOW", "2026-01-12T12:00:00Z");
    let saved = env.run(&["context", "save", "d", "--json"]).json();
    assert_eq!(saved["pruned"], json!(["c", "b"]));
    assert_eq!(names(&env), ["d"]);
    // A configuration out of bounds is refused, naming the key.
    std::fs::write(
        env.home().join("config.json"),
        r#"{"snapshots": {"keep": 0}}"#,
    )
    .unwrap();
    let stderr = env.refuses(&["context", "save", "e"], 1);
    assert!(stderr.contains("snapshots.keep"), "{stderr}");
}

#[test]
fn orchestrate_reads_the_sessions_status() {
    let mut env = TestEnv::new();
    env.session("s1");
    env.set("ORCHESTRON_SESSION", "s1");
    let gathered = env.run(&["slash", "orchestrate", "--json"]).json();
    let runs: Vec<&str> = gathered["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|result| result["run"].as_str().unwrap())
        .collect();
    assert_eq!(runs, ["orchestron summary", "orchestron status"]);
    assert_eq!(gathered["results"][1]["output"]["session"]["id"], "s1");
}
