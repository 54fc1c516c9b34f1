//! `orchestron sprint …` and `orchestron timer …`.

use serde_json::json;

use crate::TestEnv;
use crate::Timed as _;

fn run_at(env: &TestEnv, now: &str, args: &[&str]) -> String {
    let output = env
        .command(args)
        .env("ORCHESTRON_NOW", now)
        .timed_output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn a_sprint_from_plan_to_velocity_with_its_burndown() {
    let env = TestEnv::new();
    let sprint = env
        .run(&[
            "sprint",
            "create",
            "Sprint 12",
            "--goal",
            "checkout",
            "--duration",
            "5",
            "--start",
            "2026-03-02",
        ])
        .ok()
        .trim()
        .to_owned();
    assert!(sprint.starts_with("SPRINT-"), "{sprint}");
    let a = env
        .run(&["task", "create", "A", "--estimate", "4"])
        .ok()
        .trim()
        .to_owned();
    let c = env
        .run(&["task", "create", "C", "--estimate", "6"])
        .ok()
        .trim()
        .to_owned();
    env.run(&["sprint", "add", &sprint, &a, &c]).ok();
    let shown = env.run(&["sprint", "show", &sprint, "--json"]).json();
    assert_eq!(
        (shown["status"].as_str(), shown["estimate_total"].as_f64()),
        (Some("planned"), Some(10.0))
    );
    assert_eq!(
        env.run(&["task", "list", "--sprint", &sprint, "--json"])
            .json()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    env.refuses(&["sprint", "complete", &sprint], 1);
    run_at(&env, "2026-03-02T09:00:00Z", &["sprint", "start", &sprint]);
    env.refuses(&["sprint", "start", &sprint], 1);
    run_at(&env, "2026-03-02T09:00:00Z", &["task", "start", &a]);
    run_at(&env, "2026-03-03T10:00:00Z", &["task", "complete", &a]);

    let burndown: serde_json::Value = serde_json::from_str(&run_at(
        &env,
        "2026-03-04T12:00:00Z",
        &["sprint", "burndown", "--json"],
    ))
    .unwrap();
    let remaining: Vec<f64> = burndown["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["remaining"].as_f64().unwrap())
        .collect();
    assert_eq!(remaining, [10.0, 6.0, 6.0]);
    assert_eq!(burndown["days"][0]["ideal"], 8.0);
    let chart = run_at(
        &env,
        "2026-03-04T12:00:00Z",
        &["sprint", "burndown", &sprint],
    );
    assert!(
        chart.contains("2026-03-03  6.0") && chart.contains('█'),
        "{chart}"
    );

    env.run(&["sprint", "remove", &sprint, &c]).ok();
    env.refuses(&["sprint", "remove", &sprint, &c], 1);
    run_at(
        &env,
        "2026-03-06T17:00:00Z",
        &["sprint", "complete", &sprint],
    );
    let velocity = env.run(&["sprint", "velocity", "--json"]).json();
    assert_eq!(velocity["sprints"][0]["hours_done"], 4.0);
    assert_eq!(velocity["average_hours"], 4.0);
    let list = env.run(&["sprint", "list", "--json"]).json();
    assert_eq!(list[0]["status"], "completed");

    let before = env.disk();
    env.refuses(&["sprint", "create", "x", "--duration", "0"], 1);
    env.refuses(&["sprint", "create", "x", "--start", "March"], 1);
    env.refuses(&["sprint", "add", "SPRINT-nope", &a], 1);
    env.refuses(&["sprint", "add", &sprint, "TASK-nope"], 1);
    assert_eq!(env.disk(), before);
}

#[test]
fn timers_and_logged_time_add_up_per_item() {
    let env = TestEnv::new();
    let a = env
        .run(&["task", "create", "A", "--estimate", "6"])
        .ok()
        .trim()
        .to_owned();
    run_at(&env, "2026-03-02T09:00:00Z", &["timer", "start", &a]);
    env.refuses(&["timer", "start", &a], 1);
    run_at(&env, "2026-03-02T10:30:00Z", &["timer", "stop", &a]);
    env.refuses(&["timer", "stop", &a], 1);
    run_at(
        &env,
        "2026-03-05T12:00:00Z",
        &["timer", "log", &a, "--hours", "2", "--note", "pairing"],
    );
    env.refuses(&["timer", "log", &a, "--hours", "0"], 1);
    let report = env.run(&["timer", "report", "--json"]).json();
    assert_eq!(
        report,
        json!([{"item": a, "title": "A", "estimate": 6.0, "hours": 3.5, "running": false}])
    );
    let since = env
        .run(&["timer", "report", "--since", "2026-03-04", "--json"])
        .json();
    assert_eq!(since[0]["hours"], 2.0);

    // Sprints and time travel with an export.
    let sprint = env.run(&["sprint", "create", "S"]).ok().trim().to_owned();
    env.run(&["sprint", "add", &sprint, &a]).ok();
    let exported = env.run(&["export"]).ok().to_owned();
    let file = env.path().join("e.jsonl");
    std::fs::write(&file, &exported).unwrap();
    let other = TestEnv::new();
    other.run(&["import", file.to_str().unwrap()]).ok();
    other.run(&["import", file.to_str().unwrap()]).ok();
    assert_eq!(other.run(&["export"]).ok(), exported);
    assert_eq!(other.run(&["timer", "report", "--json"]).json(), report);
}
