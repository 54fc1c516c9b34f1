//! Issue 14, task handoffs between agents: `handoff prepare ID --to AGENT|SESSION --context
//! … [--next-steps …]`, `handoff accept ID`, `handoff offers`, the receiver told in its inbox
//! and at SessionStart, and an offer nobody accepts expiring after `claims.lease`.

use serde_json::json;

use crate::TestEnv;

const GIVER: &str = "f1f1f1f1-0000-4000-8000-000000000001";
const BACKEND: &str = "f2f2f2f2-0000-4000-8000-000000000002";
const FRONTEND: &str = "f3f3f3f3-0000-4000-8000-000000000003";

fn start(env: &TestEnv, session: &str, agent: Option<&str>) -> String {
    let mut command = env.command(&["hook", "SessionStart"]);
    if let Some(agent) = agent {
        command.env("ORCHESTRON_AGENT", agent);
    }
    let output = crate::wait_with_timeout(
        crate::spawn_with_stdin(
            command,
            &json!({"session_id": session, "source": "startup"}).to_string(),
        ),
        std::time::Duration::from_secs(30),
    );
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

fn create(env: &TestEnv, title: &str) -> String {
    env.run(&["task", "create", title, "--json"]).json()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The giver hands `item` to `to` with `context`.
fn prepare(env: &TestEnv, item: &str, to: &str, context: &str) {
    as_session(
        env,
        GIVER,
        None,
        &["handoff", "prepare", item, "--to", to, "--context", context],
    )
    .ok();
}

fn as_session(env: &TestEnv, session: &str, agent: Option<&str>, args: &[&str]) -> crate::Run {
    let mut extra = vec![("ORCHESTRON_SESSION", session)];
    if let Some(agent) = agent {
        extra.push(("ORCHESTRON_AGENT", agent));
    }
    env.run_in(env.path(), args, &extra)
}

#[test]
fn an_item_handed_to_an_agent_waits_for_it_and_its_context_arrives() {
    let env = TestEnv::new();
    let item = env
        .run(&["task", "create", "Build the cart", "--json"])
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    start(&env, GIVER, None);
    start(&env, BACKEND, Some("backend"));
    start(&env, FRONTEND, Some("frontend"));
    as_session(&env, GIVER, None, &["task", "start", &item]).ok();
    let offered = as_session(
        &env,
        GIVER,
        None,
        &[
            "handoff",
            "prepare",
            &item,
            "--to",
            "backend",
            "--context",
            "the schema is done; the API is not",
            "--next-steps",
            "write the handlers",
            "--next-steps",
            "test them",
            "--json",
        ],
    )
    .json();
    assert_eq!(offered["to"], "backend", "{offered}");
    assert_eq!(offered["told"], json!([BACKEND]));
    assert_eq!(offered["expires_at"], "2026-01-01T00:15:00Z");
    let shown = env.run(&["task", "show", &item, "--json"]).json();
    assert_eq!(shown["status"], "TODO");
    assert_eq!(shown["assignee"], "backend");
    // The backend session has it in its inbox, with the command that takes it.
    let inbox = env
        .run(&["inbox", "list", "--session", BACKEND, "--json"])
        .json();
    let text = inbox.to_string();
    assert!(
        text.contains("Handoff offered to you from session f1f1f1f1")
            && text.contains("the schema is done; the API is not")
            && text.contains("Next steps: write the handlers; test them")
            && text.contains(&format!("orchestron handoff accept {item}")),
        "{inbox}"
    );
    // Nobody else takes it meanwhile, and the frontend agent cannot accept it.
    let next = as_session(
        &env,
        FRONTEND,
        Some("frontend"),
        &["task", "next", "--json"],
    );
    assert_eq!(next.json(), serde_json::Value::Null, "{next}");
    let refused = as_session(
        &env,
        FRONTEND,
        Some("frontend"),
        &["handoff", "accept", &item],
    );
    assert!(
        refused
            .fails(1)
            .contains("is offered to `backend`, not to this session"),
        "{refused}"
    );
    // A new backend session is told at its start.
    let told = start(
        &env,
        "f4f4f4f4-0000-4000-8000-000000000004",
        Some("backend"),
    );
    assert!(told.contains("Handoff offered to you"), "{told}");
    let offers = as_session(
        &env,
        BACKEND,
        Some("backend"),
        &["handoff", "offers", "--json"],
    );
    assert_eq!(offers.json()["offers"][0]["item"], item.as_str());
    // The backend session accepts: the item is its, and the context comes back.
    let accepted = as_session(
        &env,
        BACKEND,
        Some("backend"),
        &["handoff", "accept", &item],
    );
    let text = accepted.ok();
    assert!(
        text.contains("is yours (IN_PROGRESS)")
            && text.contains("Context: the schema is done; the API is not")
            && text.contains("- next: test them"),
        "{text}"
    );
    let shown = env.run(&["task", "show", &item, "--json"]).json();
    assert_eq!(shown["status"], "IN_PROGRESS");
    assert_eq!(shown["assignee"], BACKEND);
    let history = env
        .run(&["task", "history", &item, "--json"])
        .json()
        .to_string();
    assert!(
        history.contains("handoff_offered") && history.contains("handoff_accepted"),
        "{history}"
    );
    // Accepted once: no handoff waits any more.
    let again = as_session(
        &env,
        BACKEND,
        Some("backend"),
        &["handoff", "accept", &item],
    );
    assert!(again.fails(1).contains("no handoff of"), "{again}");
}

#[test]
fn a_handoff_nobody_accepts_expires_back_to_anyone() {
    let mut env = TestEnv::new();
    let item = create(&env, "Orphan");
    start(&env, GIVER, None);
    prepare(&env, &item, "ghost", "go on");
    start(&env, FRONTEND, None);
    let next = as_session(&env, FRONTEND, None, &["task", "next", "--json"]);
    assert_eq!(next.json(), serde_json::Value::Null, "held for ghost");
    // After `claims.lease` (15 minutes), anyone may take it; `reclaim` clears it.
    env.set("ORCHESTRON_NOW", "2026-01-01T00:16:00Z");
    let next = as_session(&env, FRONTEND, None, &["task", "next", "--json"]);
    assert_eq!(next.json()["id"], item.as_str(), "{next}");
    env.run(&["task", "reclaim"]).ok();
    let shown = env.run(&["task", "show", &item, "--json"]).json();
    assert_eq!(shown["status"], "TODO");
    assert!(shown["assignee"].is_null(), "{shown}");
    let history = env
        .run(&["task", "history", &item, "--json"])
        .json()
        .to_string();
    assert!(history.contains("handoff_expired"), "{history}");
}

#[test]
fn bad_handoffs_are_refused_and_change_nothing() {
    let env = TestEnv::new();
    let item = create(&env, "Done one");
    env.run(&["task", "complete", &item, "--force"]).ok();
    let open = create(&env, "Open one");
    for (args, why) in [
        (
            vec!["handoff", "prepare", &open, "--to", "x", "--context", " "],
            "context must not be empty",
        ),
        (
            vec!["handoff", "prepare", &open, "--to", "", "--context", "c"],
            "must not be empty",
        ),
        (
            vec!["handoff", "prepare", &item, "--to", "x", "--context", "c"],
            "nothing left to hand off",
        ),
        (
            vec![
                "handoff",
                "prepare",
                "NOPE-1",
                "--to",
                "x",
                "--context",
                "c",
            ],
            "not found",
        ),
        (vec!["handoff", "accept", &open], "needs the session"),
    ] {
        let err = env.refuses(&args, 1);
        assert!(err.contains(why), "{args:?}: {err}");
    }
}

#[test]
fn the_givers_leases_for_the_item_go_with_it_and_an_agents_items_are_its() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.path().join(".git")).unwrap();
    let item = create(&env, "Auth");
    start(&env, GIVER, None);
    start(&env, BACKEND, Some("backend"));
    as_session(&env, GIVER, None, &["task", "start", &item]).ok();
    as_session(
        &env,
        GIVER,
        None,
        &["lease", "acquire", "src", "--exclusive", "--for", &item],
    )
    .ok();
    prepare(&env, &item, BACKEND, "go on");
    assert_eq!(
        env.run(&["lease", "list", "--json"]).json()["leases"],
        json!([])
    );
    // Items assigned to an agent are its sessions' to take.
    let assigned = env
        .run(&[
            "task",
            "create",
            "For backend",
            "--assignee",
            "backend",
            "--json",
        ])
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let claim = || {
        as_session(
            &env,
            BACKEND,
            Some("backend"),
            &["task", "next", "--claim", "--json"],
        )
        .json()["id"]
            .clone()
    };
    assert_eq!(claim(), json!(item));
    assert_eq!(claim(), json!(assigned));
}
