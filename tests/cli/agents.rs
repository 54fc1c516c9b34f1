//! Issue 14, agents and their skills: `--agent`, `ORCHESTRON_AGENT`, `agent.id` and
//! `agent.skills`; `task next` takes the items labelled with an agent's skills first;
//! `agent list`; views name an agent's or worker's session instead of its UUID.

use serde_json::json;

use crate::TestEnv;

fn create(env: &TestEnv, title: &str, priority: &str, labels: &[&str]) -> String {
    let mut args = vec!["task", "create", title, "--priority", priority, "--json"];
    for label in labels {
        args.extend(["--label", label]);
    }
    env.run(&args).json()["id"].as_str().unwrap().to_owned()
}

fn next(env: &TestEnv, extra: &[&str]) -> String {
    let mut args = vec!["task", "next", "--json"];
    args.extend(extra);
    env.run(&args).json()["id"].as_str().unwrap().to_owned()
}

#[test]
fn an_agents_skills_come_before_priority_and_then_anyone_gets_anything() {
    let mut env = TestEnv::new();
    let urgent_ui = create(&env, "Fix the header", "HIGH", &["frontend"]);
    let low_api = create(&env, "Tidy the API", "LOW", &["backend"]);
    let plain = create(&env, "Write the notes", "MEDIUM", &[]);
    // Nobody in particular: priority, then plan order.
    assert_eq!(next(&env, &[]), urgent_ui);
    // A backend agent takes the backend item first, though it is LOW.
    assert_eq!(next(&env, &["--agent", "backend"]), low_api);
    assert_eq!(next(&env, &["--agent", "frontend"]), urgent_ui);
    // An agent whose skills match nothing gets the most urgent, whatever its label.
    assert_eq!(next(&env, &["--agent", "ops"]), urgent_ui);
    // Skills from the configuration: another agent's, and the project's own agent's.
    std::fs::create_dir_all(env.home()).unwrap();
    std::fs::write(
        env.home().join("config.json"),
        json!({"agent": {"id": "docs-bot", "skills": ["docs"]},
               "agents": {"api-bot": {"skills": ["backend"]}}})
        .to_string(),
    )
    .unwrap();
    assert_eq!(next(&env, &["--agent", "api-bot"]), low_api);
    let noted = create(&env, "Document the API", "LOW", &["docs"]);
    // `agent.id` acts when nothing else names an agent.
    assert_eq!(next(&env, &[]), noted);
    // `ORCHESTRON_AGENT` overrides it, `--agent` overrides both.
    env.set("ORCHESTRON_AGENT", "api-bot");
    assert_eq!(next(&env, &[]), low_api);
    assert_eq!(next(&env, &["--agent", "frontend"]), urgent_ui);
    // Claiming follows the same order, and takes each once.
    env.unset("ORCHESTRON_AGENT");
    env.set("ORCHESTRON_SESSION", "e0e0e0e0-0000-4000-8000-000000000001");
    env.run(&[
        "session",
        "create",
        "--id",
        "e0e0e0e0-0000-4000-8000-000000000001",
    ])
    .ok();
    assert_eq!(next(&env, &["--agent", "backend", "--claim"]), low_api);
    assert_eq!(next(&env, &["--agent", "backend", "--claim"]), urgent_ui);
    assert_eq!(next(&env, &["--agent", "backend", "--claim"]), plain);
}

#[test]
fn sessions_remember_their_agent_and_views_show_its_name() {
    let env = TestEnv::new();
    let session = "e1e1e1e1-0000-4000-8000-000000000001";
    let item = create(&env, "Build the cart", "MEDIUM", &["backend"]);
    let mut start = env.command(&["hook", "SessionStart", "--agent", "backend"]);
    start.env("ORCHESTRON_AGENT", "ignored-for-the-flag");
    let started = crate::wait_with_timeout(
        crate::spawn_with_stdin(
            start,
            &json!({"session_id": session, "source": "startup"}).to_string(),
        ),
        std::time::Duration::from_secs(30),
    );
    assert!(started.status.success(), "{started:?}");
    let told = String::from_utf8(started.stdout).unwrap();
    assert!(told.contains("working as agent backend"), "{told}");
    let mut env = env;
    env.set("ORCHESTRON_SESSION", session);
    env.run(&["task", "next", "--claim"]).ok();
    // `task list`, `task show` and the board name the agent, not the UUID.
    let list = env.run(&["task", "list"]);
    assert!(list.ok().contains("backend"), "{list}");
    assert!(!list.ok().contains(session), "{list}");
    let shown = env.run(&["task", "show", &item]);
    assert!(
        shown
            .ok()
            .contains(&format!("assignee:   backend ({session})")),
        "{shown}"
    );
    let shown = env.run(&["task", "show", &item, "--json"]).json();
    assert_eq!(shown["assignee"], session);
    assert_eq!(shown["assignee_name"], "backend");
    let board = env.run(&["board"]);
    assert!(board.ok().contains("@backend"), "{board}");
    let board = env.run(&["board", "--json"]).json();
    assert!(
        board.to_string().contains("\"assignee_name\":\"backend\""),
        "{board}"
    );
    let monitor = env.run(&["monitor", "--format", "markdown"]);
    assert!(monitor.ok().contains("agent backend"), "{monitor}");
    // `agent list`: the agent, its skills, its session and item.
    let agents = env.run(&["agent", "list", "--json"]).json();
    let agent = &agents["agents"][0];
    assert_eq!(agent["name"], "backend", "{agents}");
    assert_eq!(agent["skills"], json!(["backend"]));
    assert_eq!(agent["sessions"][0]["id"], session);
    assert_eq!(agent["sessions"][0]["status"], "active");
    assert_eq!(agent["sessions"][0]["item"], item.as_str());
    let text = env.run(&["agent", "list"]);
    assert!(
        text.ok().contains("backend") && text.ok().contains("Build the cart"),
        "{text}"
    );
}
