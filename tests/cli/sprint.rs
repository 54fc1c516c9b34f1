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

/// Bug 16: the sum of no estimates was `-0.0`, printed as `-0.0` hours in text and JSON.
#[test]
fn an_empty_sprint_prints_zero_hours_not_negative_zero() {
    let env = TestEnv::new();
    let sprint = env
        .run(&["sprint", "create", "Empty", "--duration", "3"])
        .ok()
        .trim()
        .to_owned();
    // An item with no estimate, and nothing done, must read 0.0 too.
    let a = env.run(&["task", "create", "A"]).ok().trim().to_owned();
    let other = env
        .run(&["sprint", "create", "Unestimated"])
        .ok()
        .trim()
        .to_owned();
    env.run(&["sprint", "add", &other, &a]).ok();
    env.run(&["sprint", "start", &sprint]).ok();
    let later = "2026-01-02T12:00:00Z";
    let outputs = [
        env.run(&["sprint", "show", &sprint]).ok().to_owned(),
        env.run(&["sprint", "show", &sprint, "--json"])
            .ok()
            .to_owned(),
        env.run(&["sprint", "show", &other]).ok().to_owned(),
        env.run(&["sprint", "show", &other, "--json"])
            .ok()
            .to_owned(),
        run_at(&env, later, &["sprint", "burndown"]),
        run_at(&env, later, &["sprint", "burndown", "--json"]),
        run_at(&env, later, &["board", "--json"]),
        run_at(&env, later, &["board"]),
    ];
    for output in &outputs {
        assert!(!output.contains("-0.0"), "{output}");
    }
    assert!(outputs[0].contains("0 items, 0.0 of 0.0 estimated hours done"));
    let shown: serde_json::Value = serde_json::from_str(&outputs[1]).unwrap();
    assert_eq!(
        (&shown["estimate_total"], &shown["estimate_done"]),
        (&json!(0.0), &json!(0.0))
    );
    let burndown: serde_json::Value = serde_json::from_str(&outputs[5]).unwrap();
    assert_eq!(burndown["total"], 0.0);
    assert_eq!(
        burndown["days"][1],
        json!({"date": "2026-01-02", "remaining": 0.0, "ideal": 0.0})
    );
    env.run(&["sprint", "complete", &sprint]).ok();
    let velocity = env.run(&["sprint", "velocity", "--json"]).json();
    assert_eq!(velocity["sprints"][0]["hours_done"], 0.0);
    let text = env.run(&["sprint", "velocity"]).ok().to_owned();
    assert!(
        text.contains("average: 0.0 hours per sprint") && !text.contains("-0"),
        "{text}"
    );
}

/// Bug 18: `timer stop` after a few seconds printed "0 h".
#[test]
fn a_short_timer_run_prints_seconds_or_minutes_not_zero_hours() {
    let env = TestEnv::new();
    let a = env.run(&["task", "create", "A"]).ok().trim().to_owned();
    for (stop_at, text) in [
        ("2026-03-02T09:00:10Z", "10 s"),
        ("2026-03-02T09:12:30Z", "12 min"),
        ("2026-03-02T10:30:00Z", "1.5 h"),
    ] {
        run_at(&env, "2026-03-02T09:00:00Z", &["timer", "start", &a]);
        let stopped = run_at(&env, stop_at, &["timer", "stop", &a]);
        assert_eq!(stopped, format!("{a}: {text}\n"));
    }
    run_at(&env, "2026-03-02T09:00:00Z", &["timer", "start", &a]);
    let stopped: serde_json::Value = serde_json::from_str(&run_at(
        &env,
        "2026-03-02T09:00:10Z",
        &["timer", "stop", &a, "--json"],
    ))
    .unwrap();
    assert_eq!(
        stopped,
        json!({"schema_version": 1, "item": a, "hours": 0.0, "seconds": 10})
    );
}

/// Bug 18: `timer start` was accepted on a DONE item.
#[test]
fn a_timer_cannot_start_on_a_done_or_cancelled_item() {
    let env = TestEnv::new();
    let done = env.run(&["task", "create", "done"]).ok().trim().to_owned();
    env.run(&["task", "start", &done]).ok();
    env.run(&["task", "complete", &done]).ok();
    let cancelled = env
        .run(&["task", "create", "cancelled"])
        .ok()
        .trim()
        .to_owned();
    env.run(&["task", "delete", &cancelled]).ok();
    for (id, status) in [(&done, "DONE"), (&cancelled, "CANCELLED")] {
        let stderr = env.refuses(&["timer", "start", id], 1);
        assert!(
            stderr.contains(&format!("cannot time {id}: it is {status}"))
                && stderr.contains("timer log"),
            "{stderr}"
        );
        let run = env.run(&["timer", "start", id, "--json"]);
        let error: serde_json::Value = serde_json::from_str(run.fails(1)).unwrap();
        assert_eq!(error["error"]["kind"], "conflict");
    }
    // Time spent on finished work can still be logged.
    env.run(&["timer", "log", &done, "--hours", "1"]).ok();
    assert_eq!(
        env.run(&["timer", "report", "--json"]).json()[0]["hours"],
        1.0
    );
}

/// `sprint show` and `sprint list` gave no end date: it is the start plus the duration.
#[test]
fn sprint_show_and_list_give_the_end_date() {
    let env = TestEnv::new();
    let planned = env
        .run(&[
            "sprint",
            "create",
            "Planned",
            "--duration",
            "5",
            "--start",
            "2026-03-02",
        ])
        .ok()
        .trim()
        .to_owned();
    let undated = env
        .run(&["sprint", "create", "Undated"])
        .ok()
        .trim()
        .to_owned();
    let shown = env.run(&["sprint", "show", &planned, "--json"]).json();
    assert_eq!(
        (
            &shown["start_date"],
            &shown["end_date"],
            &shown["duration_days"]
        ),
        (&json!("2026-03-02"), &json!("2026-03-07"), &json!(5))
    );
    let text = env.run(&["sprint", "show", &planned]).ok().to_owned();
    assert!(
        text.contains("dates: 2026-03-02 to 2026-03-07 (5 days)"),
        "{text}"
    );
    // Without a start date there is no end date yet; starting the sprint gives both.
    assert_eq!(
        env.run(&["sprint", "show", &undated, "--json"]).json()["end_date"],
        json!(null)
    );
    let list = env.run(&["sprint", "list", "--json"]).json();
    assert_eq!(
        (&list[0]["id"], &list[0]["end_date"]),
        (&json!(undated), &json!(null))
    );
    assert_eq!(list[1]["end_date"], "2026-03-07");
    let table = env.run(&["sprint", "list"]).ok().to_owned();
    let header = table.lines().next().unwrap();
    assert!(
        header.contains("START") && header.contains("END"),
        "{table}"
    );
    assert!(table.contains("2026-03-02  2026-03-07  5d"), "{table}");
    let started = env.run(&["sprint", "start", &undated, "--json"]).json();
    assert_eq!(
        (&started["start_date"], &started["end_date"]),
        (&json!("2026-01-01"), &json!("2026-01-15"))
    );
}

/// Every sprint and timer command checks its input before it opens (or creates) anything:
/// on a project in use, and on a fresh one with no tracker.
#[test]
fn every_sprint_and_timer_command_refuses_bad_input_and_changes_nothing() {
    let env = TestEnv::new();
    let a = env.run(&["task", "create", "A"]).ok().trim().to_owned();
    let sprint = env.run(&["sprint", "create", "S"]).ok().trim().to_owned();
    let long = "x".repeat(100_001);
    let cases: Vec<(Vec<&str>, i32)> = vec![
        (vec!["sprint", "create", " "], 1),
        (vec!["sprint", "create", &long], 1),
        (vec!["sprint", "create", "x", "--goal", &long], 1),
        (vec!["sprint", "create", "x", "--duration", "0"], 1),
        (vec!["sprint", "create", "x", "--duration", "367"], 1),
        (vec!["sprint", "create", "x", "--duration", "-1"], 2),
        (vec!["sprint", "create", "x", "--start", "March"], 1),
        (vec!["sprint", "create", "x", "--start", "9999-12-30"], 1),
        (vec!["sprint", "add", "SPRINT-none", &a], 1),
        (vec!["sprint", "add", &sprint, "TASK-none"], 1),
        (vec!["sprint", "add", &sprint], 2),
        (vec!["sprint", "remove", &sprint, &a], 1),
        (vec!["sprint", "remove", "SPRINT-none", &a], 1),
        (vec!["sprint", "start", "SPRINT-none"], 1),
        (vec!["sprint", "start", " "], 1),
        (vec!["sprint", "complete", &sprint], 1),
        (vec!["sprint", "complete", "SPRINT-none"], 1),
        (vec!["sprint", "show", "SPRINT-none"], 1),
        (vec!["sprint", "burndown", &sprint], 1),
        (vec!["sprint", "burndown"], 1),
        (vec!["sprint", "burndown", "SPRINT-none"], 1),
        (vec!["sprint", "velocity", "--last", "x"], 2),
        (vec!["timer", "start", "TASK-none"], 1),
        (vec!["timer", "stop", &a], 1),
        (vec!["timer", "stop", "TASK-none"], 1),
        (vec!["timer", "log", &a, "--hours", "-3"], 1),
        (vec!["timer", "log", &a, "--hours", "NaN"], 1),
        (vec!["timer", "log", &a, "--hours", "1e308"], 1),
        (vec!["timer", "log", &a, "--hours", "1", "--note", &long], 1),
        (vec!["timer", "log", "TASK-none", "--hours", "1"], 1),
        (vec!["timer", "report", "--since", "last week"], 1),
    ];
    for (args, code) in &cases {
        let stderr = env.refuses(args, *code);
        assert!(!stderr.trim().is_empty(), "{args:?} says nothing");
    }
    let fresh = TestEnv::new();
    for (args, code) in &cases {
        let stderr = fresh.refuses(args, *code);
        assert!(!stderr.trim().is_empty(), "{args:?} says nothing");
    }
    assert!(
        !fresh.home().exists(),
        "a refused command created the state root"
    );
    // Reads on a fresh project succeed and create nothing either.
    for args in [
        vec!["sprint", "list"],
        vec!["sprint", "velocity"],
        vec!["timer", "report"],
    ] {
        fresh.run(&args).ok();
    }
    assert!(!fresh.home().exists(), "a read created the state root");
}

/// Bug 14: two estimates of `1e308` made a sprint's total `inf`, and its JSON `null`.
/// Estimates are capped, so no sum of them overflows, even from a tracker older than the cap.
#[test]
fn sprint_totals_stay_finite_whatever_the_estimates() {
    let env = TestEnv::new();
    let max = "100000";
    env.refuses(&["task", "create", "x", "--estimate", "100001"], 1);
    let a = env
        .run(&["task", "create", "A", "--estimate", max])
        .ok()
        .trim()
        .to_owned();
    let b = env
        .run(&["task", "create", "B", "--estimate", max])
        .ok()
        .trim()
        .to_owned();
    let c = env.run(&["task", "create", "C"]).ok().trim().to_owned();
    let sprint = env.run(&["sprint", "create", "S"]).ok().trim().to_owned();
    env.run(&["sprint", "add", &sprint, &a, &b, &c]).ok();
    assert_eq!(
        env.run(&["sprint", "show", &sprint, "--json"]).json()["estimate_total"],
        200_000.0
    );
    // A tracker written before the cap may hold anything: it counts as the cap.
    rusqlite::Connection::open(env.home().join("orchestron.db"))
        .unwrap()
        .execute("UPDATE items SET estimate = 1e308 WHERE id = ?1", [&c])
        .unwrap();
    env.run(&["sprint", "start", &sprint]).ok();
    env.run(&["task", "start", &c]).ok();
    env.run(&["task", "complete", &c]).ok();
    let shown = env.run(&["sprint", "show", &sprint, "--json"]).json();
    assert_eq!(
        (&shown["estimate_total"], &shown["estimate_done"]),
        (&json!(300_000.0), &json!(100_000.0))
    );
    let burndown = env.run(&["sprint", "burndown", "--json"]).json();
    assert_eq!(
        (&burndown["total"], &burndown["days"][0]["remaining"]),
        (&json!(300_000.0), &json!(200_000.0))
    );
    env.run(&["sprint", "complete", &sprint]).ok();
    let velocity = env.run(&["sprint", "velocity", "--json"]).json();
    assert_eq!(velocity["average_hours"], 100_000.0);
}
