//! `orchestron session …`: every command, its human and JSON output, and its bad inputs.

use std::os::unix::fs::PermissionsExt as _;

use serde_json::json;

use crate::Timed as _;
use crate::{NOW, TestEnv};

const LATER: &str = "2026-01-01T06:00:00Z";

#[test]
fn create_prints_a_seeded_uuid_and_writes_the_v2_shape() {
    let env = TestEnv::new();
    let id = env
        .run(&["session", "create", "--project", "demo"])
        .ok()
        .trim()
        .to_owned();
    // Reproducible: the same seed gives the same id in a fresh state root, and a second
    // create passes over the taken id to the next of the same sequence.
    let fresh = TestEnv::new();
    assert_eq!(id, fresh.run(&["session", "create"]).ok().trim());
    let second = env.run(&["session", "create"]).ok().trim().to_owned();
    assert_ne!(second, id);
    assert_eq!(second, fresh.run(&["session", "create"]).ok().trim());
    assert_eq!(id.len(), 36);
    assert_eq!(&id[14..15], "4", "a UUID v4");
    let doc = env.document(&id);
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(
        doc["session"],
        json!({
            "id": id, "mode": "development", "project": "demo", "parent_session": null,
            "created_at": NOW, "created_by": "orchestron", "metadata": {},
            "lifecycle": {"status": "active", "last_activity": NOW, "heartbeat": NOW,
                          "expiry": "2026-01-02T00:00:00Z"}
        })
    );
    assert_eq!(
        doc["execution"],
        json!({"agents": {}, "tasks": {}, "workflows": {},
               "context": {"project": "demo", "parent_session": null}})
    );
    assert_eq!(
        doc["observability"]["metrics"],
        json!({"start_time": NOW, "heartbeat_count": 0, "task_count": 0, "agent_count": 0})
    );
    assert_eq!(doc["observability"]["events"][0]["type"], "session_created");
    assert_eq!(
        doc["observability"]["events"][0]["data"],
        json!({"mode": "development"})
    );
}

#[test]
fn create_makes_private_directories_and_files() {
    let env = TestEnv::new();
    let id = env.session("s1");
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&env.home()), 0o700);
    assert_eq!(mode(&env.sessions()), 0o700);
    assert_eq!(mode(&env.sessions().join(format!("{id}.json"))), 0o600);
    assert_eq!(mode(&env.sessions().join(format!("{id}.lock"))), 0o600);
}

#[test]
fn create_with_options_and_json() {
    let env = TestEnv::new();
    let run = env.run(&[
        "session",
        "create",
        "--id",
        "lead-1",
        "--mode",
        "leadership",
        "--project",
        "p",
        "--parent-session",
        "root",
        "--metadata",
        r#"{"team":"eng"}"#,
        "--json",
    ]);
    assert_eq!(run.json(), json!({"session_id": "lead-1"}));
    let doc = env.document("lead-1");
    assert_eq!(doc["session"]["mode"], "leadership");
    assert_eq!(doc["session"]["parent_session"], "root");
    assert_eq!(doc["session"]["metadata"], json!({"team": "eng"}));
    assert_eq!(
        doc["session"]["lifecycle"]["expiry"],
        "2026-01-03T00:00:00Z"
    );
    assert_eq!(
        doc["execution"]["context"],
        json!({"project": "p", "parent_session": "root"})
    );
}

#[test]
fn expiry_by_mode() {
    let env = TestEnv::new();
    for (mode, expiry) in [
        ("development", "2026-01-02T00:00:00Z"),
        ("leadership", "2026-01-03T00:00:00Z"),
        ("sprint", "2026-01-08T00:00:00Z"),
        ("config", "2026-01-01T01:00:00Z"),
    ] {
        env.run(&["session", "create", "--id", mode, "--mode", mode])
            .ok();
        assert_eq!(
            env.document(mode)["session"]["lifecycle"]["expiry"],
            expiry,
            "{mode}"
        );
    }
}

#[test]
fn expiry_is_overridable_per_project() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.home()).unwrap();
    std::fs::write(
        env.home().join("config.json"),
        r#"{"session": {"expiry": {"development": "36h", "config": 2}}}"#,
    )
    .unwrap();
    env.run(&["session", "create", "--id", "d"]).ok();
    env.run(&["session", "create", "--id", "c", "--mode", "config"])
        .ok();
    assert_eq!(
        env.document("d")["session"]["lifecycle"]["expiry"],
        "2026-01-02T12:00:00Z"
    );
    assert_eq!(
        env.document("c")["session"]["lifecycle"]["expiry"],
        "2026-01-01T02:00:00Z"
    );

    std::fs::write(
        env.home().join("config.json"),
        r#"{"session": {"expiry": {"development": "soon"}}}"#,
    )
    .unwrap();
    let stderr = env.refuses(&["session", "create", "--id", "x"], 1);
    assert!(stderr.contains("session.expiry.development"), "{stderr}");
}

#[test]
fn create_refuses_bad_input_and_touches_nothing() {
    let env = TestEnv::new();
    for bad_id in ["../x", "a/b", "", ".hidden", "with space"] {
        let stderr = env.refuses(&["session", "create", "--id", bad_id], 1);
        assert!(stderr.contains("invalid session id"), "{bad_id}: {stderr}");
    }
    assert!(
        !env.home().exists(),
        "a refused id must not create the state root"
    );
    assert!(!env.path().join("x.json").exists() && !env.path().join("x.lock").exists());
    env.refuses(&["session", "create", "--mode", "bogus"], 2);
    let stderr = env.refuses(&["session", "create", "--metadata", "{not json"], 1);
    assert!(
        stderr.contains("`--metadata` is not valid JSON"),
        "{stderr}"
    );
    let stderr = env.refuses(&["session", "create", "--metadata", "[1]"], 1);
    assert!(stderr.contains("must be a JSON object"), "{stderr}");
    env.refuses(&["session", "create", "--parent-session", "../up"], 1);
    assert!(!env.home().exists());

    env.session("taken");
    let stderr = env.refuses(&["session", "create", "--id", "taken"], 1);
    assert!(
        stderr.contains("session `taken` already exists"),
        "{stderr}"
    );
}

#[test]
fn list_is_a_table_newest_activity_first_and_json_summaries() {
    let mut env = TestEnv::new();
    env.session("old");
    env.set("ORCHESTRON_NOW", "2026-01-01T01:00:00Z");
    env.run(&[
        "session",
        "create",
        "--id",
        "new",
        "--mode",
        "sprint",
        "--project",
        "other",
    ])
    .ok();
    let table = env.run(&["session", "list"]).ok().to_owned();
    insta::assert_snapshot!(table, @r"
    ID   MODE         STATUS  PROJECT  LAST ACTIVITY         EXPIRES
    new  sprint       active  other    2026-01-01T01:00:00Z  2026-01-08T01:00:00Z
    old  development  active  demo     2026-01-01T00:00:00Z  2026-01-02T00:00:00Z
    ");
    let list = env.run(&["session", "list", "--json"]).json();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[0]["id"], "new");
    assert_eq!(
        list[1],
        json!({"id": "old", "mode": "development", "project": "demo", "status": "active",
               "created_at": NOW, "last_activity": NOW, "heartbeat": NOW,
               "expiry": "2026-01-02T00:00:00Z", "parent_session": null,
               "metrics": {"start_time": NOW, "heartbeat_count": 0, "task_count": 0,
                           "agent_count": 0}})
    );
    // An empty list is an empty array, and a header alone for people.
    let empty = TestEnv::new();
    assert_eq!(empty.run(&["session", "list", "--json"]).json(), json!([]));
}

#[test]
fn list_filters() {
    let mut env = TestEnv::new();
    env.run(&[
        "session",
        "create",
        "--id",
        "cfg",
        "--mode",
        "config",
        "--project",
        "a",
    ])
    .ok();
    env.run(&["session", "create", "--id", "dev", "--project", "a"])
        .ok();
    env.run(&["session", "create", "--id", "done", "--project", "b"])
        .ok();
    env.run(&["session", "create", "--id", "held", "--project", "b"])
        .ok();
    env.run(&["session", "end", "done"]).ok();
    env.run(&["session", "pause", "held", "--reason", "x"]).ok();
    // Two hours later the config session is expired, though nobody ran a cleanup.
    env.set("ORCHESTRON_NOW", "2026-01-01T02:00:00Z");
    let ids = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["session", "list", "--json"];
        all.extend_from_slice(args);
        let mut ids: Vec<String> = env
            .run(&all)
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&["--active"]), ["dev"]);
    assert_eq!(ids(&["--status", "expired"]), ["cfg"]);
    assert_eq!(ids(&["--status", "completed"]), ["done"]);
    assert_eq!(ids(&["--status", "paused"]), ["held"]);
    assert_eq!(ids(&["--project", "a"]), ["cfg", "dev"]);
    assert_eq!(ids(&["--mode", "config"]), ["cfg"]);
    assert_eq!(
        ids(&["--project", "b", "--status", "active"]),
        Vec::<String>::new()
    );
    env.refuses(&["session", "list", "--status", "zombie"], 2);
}

#[test]
fn list_shows_a_corrupt_document_as_unreadable_with_a_warning() {
    let env = TestEnv::new();
    env.session("good");
    std::fs::write(env.sessions().join("bad.json"), "{torn").unwrap();
    let run = env.run(&["session", "list", "--json"]);
    let listed = run.json();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[1]["id"], "bad");
    assert_eq!(listed[1]["status"], "unreadable");
    assert!(run.stderr.contains("cannot read session `bad`"), "{run}");
    let run = env.run(&["session", "list", "--active", "--json"]);
    assert_eq!(
        run.json().as_array().unwrap().len(),
        1,
        "a filter leaves it out"
    );
    assert!(run.stderr.contains("cannot read session `bad`"), "{run}");
}

#[test]
fn info_and_current() {
    let mut env = TestEnv::new();
    env.session("s1");
    let text = env.run(&["session", "info", "s1"]).ok().to_owned();
    insta::assert_snapshot!(text, @r"
    id:            s1
    mode:          development
    status:        active
    project:       demo
    created:       2026-01-01T00:00:00Z
    last activity: 2026-01-01T00:00:00Z
    expires:       2026-01-02T00:00:00Z
    heartbeats:    0
    recent events:
      2026-01-01T00:00:00Z  session_created
    ");
    assert_eq!(
        env.run(&["session", "info", "s1", "--json"]).json(),
        env.document("s1")
    );

    let stderr = env.refuses(&["session", "current"], 1);
    assert!(stderr.contains("there is no current session"), "{stderr}");
    env.set("CLAUDE_CODE_SESSION_ID", "s1");
    assert_eq!(
        env.run(&["session", "current", "--json"]).json()["session"]["id"],
        "s1"
    );
    env.session("s2");
    env.set("ORCHESTRON_SESSION", "s2");
    assert_eq!(
        env.run(&["session", "current", "--json"]).json()["session"]["id"],
        "s2"
    );
    env.set("ORCHESTRON_SESSION", "../x");
    env.refuses(&["session", "current"], 1);
}

#[test]
fn unknown_sessions_are_refused_by_every_command() {
    let env = TestEnv::new();
    env.session("exists");
    for args in [
        vec!["session", "info", "ghost"],
        vec!["session", "heartbeat", "ghost"],
        vec!["session", "recover", "ghost"],
        vec!["session", "end", "ghost"],
        vec!["session", "pause", "ghost", "--reason", "r"],
        vec!["session", "resume", "ghost"],
        vec!["session", "handoff", "ghost", "exists"],
    ] {
        let stderr = env.refuses(&args, 1);
        assert!(
            stderr.contains("session `ghost` not found"),
            "{args:?}: {stderr}"
        );
    }
    for args in [
        vec!["session", "info", "../x"],
        vec!["session", "heartbeat", "a/b"],
        vec!["session", "handoff", "exists", "../x"],
    ] {
        let stderr = env.refuses(&args, 1);
        assert!(stderr.contains("invalid session id"), "{args:?}: {stderr}");
    }
}

#[test]
fn heartbeat_extends_expiry_and_counts() {
    let mut env = TestEnv::new();
    env.session("s");
    env.set("ORCHESTRON_NOW", LATER);
    let run = env.run(&["session", "heartbeat", "s", "--json"]);
    assert_eq!(
        run.json(),
        json!({"success": true, "session_id": "s", "heartbeat_count": 1,
               "expiry": "2026-01-02T06:00:00Z"})
    );
    let text = env.run(&["session", "heartbeat", "s"]).ok().to_owned();
    assert_eq!(text, "s: heartbeat 2, expires 2026-01-02T06:00:00Z\n");
    let lifecycle = &env.document("s")["session"]["lifecycle"];
    assert_eq!(lifecycle["heartbeat"], LATER);
    assert_eq!(lifecycle["last_activity"], LATER);
    assert_eq!(
        env.document("s")["observability"]["metrics"]["heartbeat_count"],
        2
    );
}

#[test]
fn heartbeat_refuses_ended_and_expired_sessions_pointing_to_recover() {
    let mut env = TestEnv::new();
    env.session("ended");
    env.run(&["session", "end", "ended"]).ok();
    let stderr = env.refuses(&["session", "heartbeat", "ended"], 1);
    assert!(stderr.contains("it is completed"), "{stderr}");
    assert!(
        stderr.contains("orchestron session recover ended"),
        "{stderr}"
    );

    env.session("old");
    env.set("ORCHESTRON_NOW", "2026-01-03T00:00:00Z");
    let stderr = env.refuses(&["session", "heartbeat", "old"], 1);
    assert!(stderr.contains("it is expired"), "{stderr}");
    assert!(stderr.contains("recover"), "{stderr}");
    // Expired without a cleanup: `info --json` says so too, though the file says active.
    let info = env.run(&["session", "info", "old", "--json"]).json();
    assert_eq!(info["session"]["lifecycle"]["status"], "expired");
    assert_eq!(
        env.document("old")["session"]["lifecycle"]["status"],
        "active"
    );
}

#[test]
fn recover_records_the_real_previous_status() {
    let mut env = TestEnv::new();
    env.session("s");
    env.set("ORCHESTRON_NOW", "2026-01-05T00:00:00Z");
    let run = env.run(&["session", "recover", "s", "--json"]).json();
    assert_eq!(run["previous_status"], "expired");
    assert_eq!(run["changed"], true);
    let doc = env.document("s");
    assert_eq!(doc["session"]["lifecycle"]["status"], "active");
    assert_eq!(doc["session"]["lifecycle"]["previous_status"], "expired");
    assert_eq!(
        doc["session"]["lifecycle"]["expiry"],
        "2026-01-06T00:00:00Z"
    );
    let event = doc["observability"]["events"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(event["type"], "session_recovered");
    assert_eq!(event["data"], json!({"previous_status": "expired"}));

    env.run(&["session", "end", "s", "--status", "failed"]).ok();
    assert_eq!(
        env.run(&["session", "recover", "s"]).ok(),
        "s: active again (was failed)\n"
    );
    // Recovering an active session changes nothing on disk.
    let before = env.disk();
    assert_eq!(
        env.run(&["session", "recover", "s"]).ok(),
        "s: already active\n"
    );
    assert_eq!(env.disk(), before);
}

#[test]
fn end_pause_and_resume() {
    let mut env = TestEnv::new();
    env.session("s");
    let run = env.run(&[
        "session",
        "pause",
        "s",
        "--reason",
        "waiting for review",
        "--json",
    ]);
    assert_eq!(run.json()["status"], "paused");
    let lifecycle = env.document("s")["session"]["lifecycle"].clone();
    assert_eq!(lifecycle["status"], "paused");
    assert_eq!(lifecycle["pause_reason"], "waiting for review");
    env.refuses(&["session", "pause", "s"], 2); // --reason is required

    env.set("ORCHESTRON_NOW", LATER);
    assert_eq!(env.run(&["session", "resume", "s"]).ok(), "s: active\n");
    let lifecycle = env.document("s")["session"]["lifecycle"].clone();
    assert_eq!(lifecycle["status"], "active");
    assert_eq!(lifecycle.get("pause_reason"), None);
    assert_eq!(lifecycle["expiry"], "2026-01-02T06:00:00Z");

    assert_eq!(env.run(&["session", "end", "s"]).ok(), "s: completed\n");
    assert_eq!(env.document("s")["session"]["lifecycle"]["ended_at"], LATER);
    env.refuses(&["session", "end", "s", "--status", "failed"], 1);
    env.refuses(&["session", "end", "s", "--status", "paused"], 2);
    env.refuses(&["session", "pause", "s", "--reason", "r"], 1);
    env.refuses(&["session", "resume", "s"], 1);
    // Ending again the same way is a no-op that writes nothing.
    let before = env.disk();
    env.run(&["session", "end", "s"]).ok();
    assert_eq!(env.disk(), before);

    let types: Vec<String> = env.document("s")["observability"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        types,
        [
            "session_created",
            "session_paused",
            "session_resumed",
            "session_ended"
        ]
    );
}

#[test]
fn handoff_creates_the_target_with_exactly_that_id() {
    let env = TestEnv::new();
    env.run(&[
        "session",
        "create",
        "--id",
        "from",
        "--mode",
        "sprint",
        "--project",
        "p",
    ])
    .ok();
    env.run(&[
        "state",
        "merge",
        "from",
        "execution.context",
        "--data",
        r#"{"branch":"feat"}"#,
    ])
    .ok();
    let run = env.run(&[
        "session",
        "handoff",
        "from",
        "to",
        "--data",
        r#"{"next":"tests"}"#,
        "--json",
    ]);
    assert_eq!(
        run.json(),
        json!({"success": true, "from_session": "from", "to_session": "to", "created": true})
    );
    let to = env.document("to");
    assert_eq!(to["session"]["id"], "to");
    assert_eq!(to["session"]["mode"], "sprint");
    assert_eq!(to["session"]["project"], "p");
    assert_eq!(to["session"]["parent_session"], "from");
    assert_eq!(
        to["execution"]["inherited_context"],
        json!({"from_session": "from", "timestamp": NOW,
               "context": {"project": "p", "parent_session": null, "branch": "feat"},
               "handoff_data": {"next": "tests"}})
    );
    let last = |doc: &serde_json::Value| {
        doc["observability"]["events"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone()
    };
    assert_eq!(last(&to)["type"], "handoff_received");
    let from = env.document("from");
    assert_eq!(from["session"]["lifecycle"]["status"], "completed");
    assert_eq!(last(&from)["type"], "handoff_completed");
    assert_eq!(last(&from)["data"], json!({"to_session": "to"}));
}

#[test]
fn handoff_to_an_existing_session_and_its_refusals() {
    let env = TestEnv::new();
    env.session("a");
    env.session("b");
    assert_eq!(env.run(&["session", "handoff", "a", "b"]).ok(), "a -> b\n");
    assert_eq!(
        env.document("b")["execution"]["inherited_context"]["handoff_data"],
        json!({})
    );
    env.session("c");
    // b received from a; c cannot hand off to the completed a.
    let stderr = env.refuses(&["session", "handoff", "c", "a"], 1);
    assert!(stderr.contains("it is completed"), "{stderr}");
    // Nor can the completed a hand off again, nor a failed session, even to a new one.
    let stderr = env.refuses(&["session", "handoff", "a", "c"], 1);
    assert!(
        stderr.contains("cannot hand off from session `a`: it is completed"),
        "{stderr}"
    );
    env.session("f");
    env.run(&["session", "end", "f", "--status", "failed"]).ok();
    let stderr = env.refuses(&["session", "handoff", "f", "fresh"], 1);
    assert!(
        stderr.contains("it is failed") && stderr.contains("recover f"),
        "{stderr}"
    );
    let stderr = env.refuses(&["session", "handoff", "c", "c"], 1);
    assert!(stderr.contains("to itself"), "{stderr}");
    let stderr = env.refuses(&["session", "handoff", "c", "new", "--data", "nope"], 1);
    assert!(stderr.contains("`--data` is not valid JSON"), "{stderr}");
    let stderr = env.refuses(&["session", "handoff", "ghost", "new"], 1);
    assert!(stderr.contains("session `ghost` not found"), "{stderr}");
}

#[test]
fn events_keep_a_bounded_tail_and_running_counts() {
    let env = TestEnv::new();
    env.session("s");
    for _ in 0..105 {
        env.run(&["session", "heartbeat", "s"]).ok();
    }
    let doc = env.document("s");
    let events = doc["observability"]["events"].as_array().unwrap();
    assert_eq!(events.len(), 100);
    assert!(
        events.iter().all(|e| e["type"] == "heartbeat"),
        "the oldest went first"
    );
    assert_eq!(
        doc["observability"]["event_counts"],
        json!({"session_created": 1, "heartbeat": 105})
    );
    assert_eq!(doc["observability"]["metrics"]["heartbeat_count"], 105);
}

#[test]
fn state_root_resolution() {
    let mut env = TestEnv::new();
    env.unset("ORCHESTRON_HOME");
    let project = env.path().join("proj");
    let nested = project.join("src/deep");
    std::fs::create_dir_all(project.join(".git")).unwrap();
    std::fs::create_dir_all(&nested).unwrap();
    let mut command = env.command(&["session", "create", "--id", "g"]);
    let output = command.current_dir(&nested).timed_output().unwrap();
    assert!(output.status.success());
    assert_eq!(output.stdout, b"g\n");
    assert!(
        project.join(".orchestron/sessions/g.json").is_file(),
        "nearest ancestor with .git"
    );

    // The project name defaults to the project root's directory name.
    let doc: serde_json::Value = serde_json::from_slice(
        &std::fs::read(project.join(".orchestron/sessions/g.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(doc["session"]["project"], "proj");

    env.set(
        "CLAUDE_PROJECT_DIR",
        &env.path().join("claude").display().to_string(),
    );
    env.run(&["session", "create", "--id", "c"]).ok();
    assert!(
        env.path()
            .join("claude/.orchestron/sessions/c.json")
            .is_file()
    );

    env.unset("CLAUDE_PROJECT_DIR");
    env.run(&["session", "create", "--id", "w"]).ok();
    assert!(
        env.path().join(".orchestron/sessions/w.json").is_file(),
        "else the working directory"
    );
}
