//! Claim leases without workers: generations, lapsed claims offered and swept, the fence
//! against a late change from an old claimer, `task ask`/`task answer`, a worker's
//! `task complete`, and 16 processes racing `task next --claim`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use crate::{Run, TestEnv, TimedChild as _};

/// Run `args` as session `session`, at `now`.
fn run_as(env: &TestEnv, session: Option<&str>, now: &str, args: &[&str]) -> Run {
    let mut extra = vec![("ORCHESTRON_NOW", now)];
    if let Some(session) = session {
        extra.push(("ORCHESTRON_SESSION", session));
    }
    env.run_in(env.path(), args, &extra)
}

fn create(env: &TestEnv, title: &str) -> String {
    env.run(&["task", "create", title]).ok().trim().to_owned()
}

fn show(env: &TestEnv, id: &str) -> Value {
    env.run(&["task", "show", id, "--json"]).json()
}

fn history(env: &TestEnv, id: &str) -> Vec<Value> {
    env.run(&["task", "history", id, "--json"])
        .json()
        .as_array()
        .unwrap()
        .clone()
}

fn events<'a>(history: &'a [Value], what: &str) -> Vec<&'a Value> {
    history
        .iter()
        .filter(|event| event["what"] == what)
        .collect()
}

const EARLY: &str = "2025-12-31T23:00:00Z";
const NOW: &str = crate::NOW;

#[test]
fn an_interactive_claim_whose_session_ended_is_offered_again_and_taken_back() {
    let env = TestEnv::new();
    let item = create(&env, "Cart API");
    env.session("one");
    env.session("two");
    let claimed = run_as(
        &env,
        Some("one"),
        NOW,
        &["task", "next", "--claim", "--json"],
    )
    .json();
    assert_eq!(claimed["id"], item.as_str());
    assert_eq!(claimed["generation"], 1);
    assert_eq!(claimed["session"], "one");

    // While its session lives, the claim holds: nothing is offered.
    assert_eq!(env.run(&["task", "next", "--json"]).json(), Value::Null);
    env.run(&["session", "end", "one"]).ok();

    // A read-only `next` offers it, says why, and writes nothing.
    let before = env.disk();
    let offered = env.run(&["task", "next", "--json"]);
    let offered_json = offered.json();
    assert_eq!(offered_json["id"], item.as_str());
    assert_eq!(offered_json["status"], "IN_PROGRESS");
    assert_eq!(
        offered_json["reclaimable"],
        json!({"claimer": "one", "generation": 1, "why": "session_ended", "status": "completed"})
    );
    let text = env.run(&["task", "next"]);
    assert_eq!(text.ok().trim(), item);
    assert!(
        text.stderr.contains("the claim of `one` has lapsed"),
        "{text}"
    );
    assert_eq!(
        before,
        env.disk(),
        "a read-only `task next` wrote something"
    );

    // A claim sweeps it and takes it, in one transaction.
    let taken = run_as(
        &env,
        Some("two"),
        NOW,
        &["task", "next", "--claim", "--json"],
    )
    .json();
    assert_eq!(taken["id"], item.as_str());
    assert_eq!(taken["session"], "two");
    assert_eq!(taken["assignee"], "two");
    assert_eq!(taken["generation"], 2);
    assert_eq!(taken["reclaimed_from"], "one");
    let history = history(&env, &item);
    let expired = events(&history, "claim_expired");
    assert_eq!(expired.len(), 1, "{history:#?}");
    assert_eq!(expired[0]["detail"]["by"], "one");
    assert_eq!(expired[0]["detail"]["generation"], 1);
    assert_eq!(expired[0]["session"], "two");
    let claims: Vec<(Value, Value)> = events(&history, "claimed")
        .iter()
        .map(|event| {
            (
                event["detail"]["by"].clone(),
                event["detail"]["generation"].clone(),
            )
        })
        .collect();
    assert_eq!(claims, [(json!("one"), json!(1)), (json!("two"), json!(2))]);
}

#[test]
fn the_old_claimers_late_changes_are_refused() {
    let env = TestEnv::new();
    let item = create(&env, "Cart API");
    env.session("one");
    env.session("two");
    run_as(&env, Some("one"), NOW, &["task", "start", &item]).ok();
    env.run(&["session", "end", "one"]).ok();
    run_as(&env, Some("two"), NOW, &["task", "next", "--claim"]).ok();

    for late in [
        vec!["task", "complete", &item, "--note", "done, I think"],
        vec!["task", "update", &item, "--status", "TODO"],
        vec!["task", "progress", &item, "--percent", "50"],
        vec!["task", "checkpoint", &item, "tests pass", "--done"],
        vec!["task", "ask", &item, "which database?"],
    ] {
        let before = env.disk();
        let run = run_as(&env, Some("one"), NOW, &late);
        let stderr = run.fails(1);
        assert!(
            stderr.contains(&format!("{item} is no longer claimed by `one`"))
                && stderr.contains("reclaimed from it: its claim lapsed")
                && stderr.contains("held by two"),
            "{late:?}: {run}"
        );
        assert!(stderr.contains("hint:"), "{run}");
        assert_eq!(before, env.disk(), "{late:?} changed something");
    }
    let now = show(&env, &item);
    assert_eq!(now["status"], "IN_PROGRESS");
    assert_eq!(now["session"], "two");

    // The current claimer and a person without a session are not fenced.
    run_as(
        &env,
        Some("two"),
        NOW,
        &["task", "progress", &item, "--percent", "60"],
    )
    .ok();
    run_as(&env, Some("two"), NOW, &["task", "complete", &item]).ok();
    assert_eq!(show(&env, &item)["status"], "DONE");
    assert_eq!(events(&history(&env, &item), "status").len(), 4);
}

#[test]
fn a_lease_runs_out_without_activity_and_reclaim_sweeps_it() {
    let env = TestEnv::new();
    let item = create(&env, "Cart API");
    let claimed_at = "2026-01-01T00:00:00Z";
    run_as(
        &env,
        None,
        claimed_at,
        &["task", "next", "--claim", "--assignee", "ana"],
    )
    .ok();

    // Within the lease (15 minutes by default) nothing is offered or swept.
    let within = "2026-01-01T00:14:59Z";
    assert_eq!(
        run_as(&env, None, within, &["task", "next", "--json"]).json(),
        Value::Null
    );
    let none = run_as(&env, None, within, &["task", "reclaim", "--json"]).json();
    assert_eq!(none, json!([]));
    assert_eq!(show(&env, &item)["status"], "IN_PROGRESS");

    // Then it is.
    let after = "2026-01-01T00:15:00Z";
    let before = env.disk();
    let dry = run_as(
        &env,
        None,
        after,
        &["task", "reclaim", "--dry-run", "--json"],
    )
    .json();
    assert_eq!(
        dry,
        json!([{"id": item, "title": "Cart API", "claimer": "ana", "generation": 1,
                "why": "lease_ran_out", "at": "2026-01-01T00:15:00Z"}])
    );
    let text = run_as(&env, None, after, &["task", "reclaim", "--dry-run"]);
    assert!(
        text.ok().contains("ana") && text.stderr.contains("dry run"),
        "{text}"
    );
    assert_eq!(before, env.disk(), "a dry run wrote something");

    let swept = run_as(&env, None, after, &["task", "reclaim", "--json"]).json();
    assert_eq!(swept, dry);
    let now = show(&env, &item);
    assert_eq!(now["status"], "TODO");
    assert_eq!(now["assignee"], Value::Null);
    assert_eq!(
        run_as(&env, None, after, &["task", "reclaim", "--json"]).json(),
        json!([])
    );
    let history = history(&env, &item);
    let expired = events(&history, "claim_expired");
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0]["detail"]["by"], "ana");
    assert_eq!(expired[0]["detail"]["why"], "lease_ran_out");

    // A configured lease counts instead.
    std::fs::write(
        env.home().join("config.json"),
        r#"{"claims": {"lease": "1h"}}"#,
    )
    .unwrap();
    run_as(
        &env,
        None,
        after,
        &["task", "next", "--claim", "--assignee", "bo"],
    )
    .ok();
    let later = "2026-01-01T00:45:00Z";
    assert_eq!(
        run_as(&env, None, later, &["task", "reclaim", "--json"]).json(),
        json!([])
    );
}

#[test]
fn a_live_session_keeps_its_claim_by_acting() {
    let env = TestEnv::new();
    let item = create(&env, "Cart API");
    env.session("one");
    run_as(&env, Some("one"), NOW, &["task", "next", "--claim"]).ok();
    // Its hooks heartbeat the session: the lease runs from its last activity.
    run_as(
        &env,
        None,
        "2026-01-01T00:20:00Z",
        &["session", "heartbeat", "one"],
    )
    .ok();
    let at = "2026-01-01T00:30:00Z";
    assert_eq!(
        run_as(&env, None, at, &["task", "next", "--json"]).json(),
        Value::Null
    );
    // A change by the claimer renews the lease too.
    run_as(
        &env,
        Some("one"),
        "2026-01-01T00:40:00Z",
        &["task", "progress", &item, "--percent", "10"],
    )
    .ok();
    let at = "2026-01-01T00:50:00Z";
    assert_eq!(
        run_as(&env, None, at, &["task", "reclaim", "--json"]).json(),
        json!([])
    );
    let at = "2026-01-01T00:55:00Z";
    let swept = run_as(&env, None, at, &["task", "reclaim", "--json"]).json();
    assert_eq!(swept[0]["claimer"], "one", "{swept}");
}

#[test]
fn ask_blocks_the_item_and_answer_sends_it_back() {
    let env = TestEnv::new();
    let item = create(&env, "Cart API");
    env.session("one");
    run_as(&env, Some("one"), NOW, &["task", "next", "--claim"]).ok();
    let asked = run_as(
        &env,
        Some("one"),
        NOW,
        &["task", "ask", &item, "PostgreSQL or SQLite?", "--json"],
    );
    let asked_json = asked.json();
    assert_eq!(asked_json["status"], "BLOCKED");
    assert_eq!(asked_json["blocked_reason"], "PostgreSQL or SQLite?");
    assert!(asked.stderr.contains("orchestron attention"), "{asked}");
    let history_now = history(&env, &item);
    assert_eq!(
        events(&history_now, "question")[0]["detail"],
        "PostgreSQL or SQLite?"
    );
    // A blocked item is not offered, whatever its claimer's session does.
    env.run(&["session", "end", "one"]).ok();
    assert_eq!(env.run(&["task", "next", "--json"]).json(), Value::Null);

    let answered = env
        .run(&["task", "answer", &item, "PostgreSQL", "--json"])
        .json();
    assert_eq!(answered["status"], "TODO");
    assert_eq!(answered["unblocked"], true);
    assert_eq!(answered["question"], "PostgreSQL or SQLite?");
    assert_eq!(answered["assignee"], Value::Null);
    assert_eq!(answered["blocked_reason"], Value::Null);
    let comments = env.run(&["task", "clarifications", &item, "--json"]).json();
    assert_eq!(comments[0]["text"], "PostgreSQL");
    assert_eq!(env.run(&["task", "next"]).ok().trim(), item);

    // With no open question, an answer is only a clarification.
    let again = env
        .run(&["task", "answer", &item, "version 16", "--json"])
        .json();
    assert_eq!(again["unblocked"], false);
    assert_eq!(again["question"], Value::Null);
    assert_eq!(again["status"], "TODO");

    // A BLOCKED item without an open question stays BLOCKED.
    let other = create(&env, "Other");
    env.run(&[
        "task", "update", &other, "--status", "BLOCKED", "--reason", "vendor",
    ])
    .ok();
    let kept = env
        .run(&["task", "answer", &other, "soon", "--json"])
        .json();
    assert_eq!(kept["status"], "BLOCKED");
    assert_eq!(kept["unblocked"], false);
}

#[test]
fn ask_and_answer_refuse_bad_input_and_change_nothing() {
    let env = TestEnv::new();
    let item = create(&env, "Cart API");
    env.refuses(&["task", "ask", &item, "  "], 1);
    env.refuses(&["task", "answer", &item, ""], 1);
    env.refuses(&["task", "ask", "TASK-nope", "why?"], 1);
    env.refuses(&["task", "answer", "TASK-nope", "because"], 1);
    env.run(&["task", "complete", &item, "--force"]).ok();
    let stderr = env.refuses(&["task", "ask", &item, "why?"], 1);
    assert!(stderr.contains("DONE"), "{stderr}");
}

#[test]
fn a_workers_complete_records_the_note_and_leaves_the_status_to_the_train() {
    let env = TestEnv::new();
    let item = create(&env, "Cart API");
    let dependent = create(&env, "Checkout");
    env.run(&["task", "depend", &dependent, "--on", &item]).ok();
    env.session("worker");
    env.run(&[
        "state",
        "set",
        "worker",
        "worker",
        &json!({"item": item, "run": "RUN-1", "attempt": 1}).to_string(),
        "--json-value",
    ])
    .ok();
    let claimed = run_as(
        &env,
        Some("worker"),
        NOW,
        &["task", "next", "--claim", "--json"],
    )
    .json();
    assert_eq!(claimed["id"], item.as_str());

    let forced = run_as(
        &env,
        Some("worker"),
        NOW,
        &["task", "complete", &item, "--force"],
    );
    assert!(
        forced.fails(1).contains("a worker cannot force"),
        "{forced}"
    );
    let moved = run_as(
        &env,
        Some("worker"),
        NOW,
        &["task", "update", &item, "--status", "DONE"],
    );
    assert!(moved.fails(1).contains("merge train"), "{moved}");

    let done = run_as(
        &env,
        Some("worker"),
        NOW,
        &[
            "task",
            "complete",
            &item,
            "--note",
            "added the API",
            "--json",
        ],
    );
    let done_json = done.json();
    assert_eq!(done_json["status"], "IN_PROGRESS");
    assert_eq!(done_json["awaits_merge"], true);
    assert!(
        done.stderr.contains("the supervisor merges your branch"),
        "{done}"
    );
    let history = history(&env, &item);
    assert_eq!(
        events(&history, "completion_note")[0]["detail"],
        "added the API"
    );
    let finished = events(&history, "worker_finished");
    assert_eq!(finished.len(), 1);
    assert_eq!(finished[0]["detail"]["worker"]["run"], "RUN-1");
    assert_eq!(finished[0]["detail"]["generation"], 1);
    // Its dependent does not start before the train moves it on.
    assert_eq!(env.run(&["task", "next", "--json"]).json(), Value::Null);

    // The worker's session ends when it exits; the claim stays while the lease is renewed.
    env.run(&["session", "end", "worker"]).ok();
    assert_eq!(env.run(&["task", "reclaim", "--json"]).json(), json!([]));

    // Once a person takes the item over, the worker's late complete is refused.
    env.session("person");
    let live = run_as(&env, Some("person"), NOW, &["task", "start", &item]);
    assert!(live.fails(1).contains("whose claim is live"), "{live}");
    run_as(
        &env,
        Some("person"),
        NOW,
        &["task", "start", &item, "--force"],
    )
    .ok();
    let late = run_as(
        &env,
        Some("worker"),
        NOW,
        &["task", "complete", &item, "--note", "again"],
    );
    assert!(late.fails(1).contains("taken over"), "{late}");
}

/// A claimer waiting at a gate (a file): once the gate opens every racer runs at once.
fn racer(env: &TestEnv, gate: &Path, args: &[&str], session: Option<&str>) -> Child {
    let mut words = vec![env!("CARGO_BIN_EXE_orchestron").to_owned()];
    words.extend(args.iter().map(|arg| (*arg).to_owned()));
    let script = format!(
        "while [ ! -e '{}' ]; do sleep 0.005; done; date +%s%N >&2; \"$@\"; status=$?; date +%s%N >&2; exit $status",
        gate.display()
    );
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(script)
        .arg("racer")
        .args(&words)
        .env_clear()
        .envs(
            env.command(&[])
                .get_envs()
                .filter_map(|(k, v)| Some((k, v?))),
        )
        .current_dir(env.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(session) = session {
        command.env("ORCHESTRON_SESSION", session);
    }
    command.spawn().expect("the racer starts")
}

#[test]
fn sixteen_processes_racing_next_claim_never_hand_one_item_to_two_claimers() {
    let env = TestEnv::new();
    // 6 ready items; 5 claims that lapsed (3 leases that ran out, 2 sessions that ended);
    // 4 live claims (2 fresh leases, 2 active sessions). 16 claimers want 11 items.
    let ready: Vec<String> = (0..6)
        .map(|i| create(&env, &format!("ready {i}")))
        .collect();
    let mut lapsed = Vec::new();
    let mut live = Vec::new();
    let claimed = |title: String, assignee: &str, at: &str| -> String {
        let item = run_as(
            &env,
            None,
            at,
            &["task", "create", &title, "--assignee", assignee],
        )
        .ok()
        .trim()
        .to_owned();
        run_as(&env, None, at, &["task", "start", &item]).ok();
        item
    };
    for i in 0..3 {
        lapsed.push(claimed(
            format!("lease ran out {i}"),
            &format!("gone-{i}"),
            EARLY,
        ));
    }
    for i in 0..2 {
        let item = create(&env, &format!("session ended {i}"));
        let session = env.session(&format!("ended-{i}"));
        run_as(&env, Some(&session), NOW, &["task", "start", &item]).ok();
        env.run(&["session", "end", &session]).ok();
        lapsed.push(item);
    }
    for i in 0..2 {
        live.push(claimed(
            format!("fresh lease {i}"),
            &format!("busy-{i}"),
            "2025-12-31T23:55:00Z",
        ));
    }
    for i in 0..2 {
        let item = create(&env, &format!("active session {i}"));
        let session = env.session(&format!("active-{i}"));
        run_as(&env, Some(&session), EARLY, &["task", "start", &item]).ok();
        live.push(item);
    }
    let offered = env.run(&["task", "reclaim", "--dry-run", "--json"]).json();
    let offered: BTreeSet<String> = offered
        .as_array()
        .unwrap()
        .iter()
        .map(|found| found["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        offered,
        lapsed.iter().cloned().collect(),
        "the setup is wrong"
    );

    let gate = env.path().join("gate");
    let mut racers = Vec::new();
    for i in 0..16 {
        let child = if i % 2 == 0 {
            let session = env.session(&format!("racer-{i}"));
            racer(
                &env,
                &gate,
                &["task", "next", "--claim", "--json"],
                Some(&session),
            )
        } else {
            let name = format!("racer-{i}");
            racer(
                &env,
                &gate,
                &["task", "next", "--claim", "--json", "--assignee", &name],
                None,
            )
        };
        racers.push(child);
    }
    std::fs::write(&gate, "").unwrap();
    let mut won: BTreeMap<String, String> = BTreeMap::new();
    let mut empty = 0;
    let mut spans = Vec::new();
    for (i, child) in racers.into_iter().enumerate() {
        let output = child.timed_wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "racer {i} failed: {stderr}");
        let times: Vec<u128> = stderr
            .lines()
            .filter_map(|line| line.trim().parse().ok())
            .collect();
        spans.push((times[0], times[times.len() - 1]));
        let got: Value = serde_json::from_slice(&output.stdout).unwrap();
        match got["id"].as_str() {
            None => empty += 1,
            Some(id) => {
                let claimer = format!("racer-{i}");
                assert_eq!(got["assignee"], claimer.as_str());
                if let Some(previous) = won.insert(id.to_owned(), claimer.clone()) {
                    panic!("{id} was handed to {previous} and to {claimer}");
                }
            }
        }
    }
    // The race happened: some racers ran at the same time.
    let overlapping = spans
        .iter()
        .enumerate()
        .any(|(i, a)| spans.iter().skip(i + 1).any(|b| a.0 < b.1 && b.0 < a.1));
    assert!(overlapping, "no two racers overlapped: {spans:?}");

    let free: BTreeSet<String> = ready.iter().chain(&lapsed).cloned().collect();
    assert_eq!(won.keys().cloned().collect::<BTreeSet<_>>(), free);
    assert_eq!(empty, 16 - free.len());
    for item in &live {
        let now = show(&env, item);
        assert_eq!(now["status"], "IN_PROGRESS");
        let claimer = now["session"]
            .as_str()
            .or(now["assignee"].as_str())
            .unwrap();
        assert!(
            claimer.starts_with("busy-") || claimer.starts_with("active-"),
            "{now}"
        );
    }
    // The history agrees: per item, each generation was claimed once, and the last claim is
    // the winner's; a lapsed claim was swept once, before it.
    for (item, winner) in &won {
        let history = history(&env, item);
        let mut generations = BTreeMap::new();
        for claim in events(&history, "claimed") {
            let generation = claim["detail"]["generation"].as_i64().unwrap();
            assert!(
                generations
                    .insert(generation, claim["detail"]["by"].clone())
                    .is_none(),
                "{item}: generation {generation} claimed twice: {history:#?}"
            );
        }
        let (_, last) = generations.iter().next_back().unwrap();
        assert_eq!(last, winner.as_str(), "{item}");
        let swept = events(&history, "claim_expired");
        if lapsed.contains(item) {
            assert_eq!(swept.len(), 1, "{item}: {history:#?}");
            let by = swept[0]["detail"]["by"].as_str().unwrap();
            assert!(by.starts_with("gone-") || by.starts_with("ended-"), "{by}");
        } else {
            assert!(swept.is_empty());
        }
    }
}

#[test]
fn nobody_but_the_worker_changes_the_item_a_worker_holds() {
    // Review finding: another session's `task complete` made a running worker's item DONE
    // without its branch merged, and its dependent started without the work.
    let env = TestEnv::new();
    let item = create(&env, "Cart API");
    let dependent = create(&env, "Checkout");
    env.run(&["task", "depend", &dependent, "--on", &item]).ok();
    env.session("worker");
    env.run(&[
        "state",
        "set",
        "worker",
        "worker",
        &json!({"item": item, "run": "RUN-1", "attempt": 1}).to_string(),
        "--json-value",
    ])
    .ok();
    run_as(&env, Some("worker"), NOW, &["task", "next", "--claim"]).ok();
    env.session("other");
    for args in [
        vec!["task", "complete", item.as_str(), "--note", "stolen"],
        vec!["task", "complete", item.as_str(), "--force"],
        vec!["task", "update", item.as_str(), "--status", "DONE"],
        vec!["task", "progress", item.as_str(), "--percent", "50"],
    ] {
        let refused = run_as(&env, Some("other"), NOW, &args);
        assert!(
            refused.fails(1).contains("held by the worker `worker`"),
            "{args:?}: {refused}"
        );
        // Without a session, too.
        let refused = run_as(&env, None, NOW, &args);
        assert!(refused.fails(1).contains("held by the worker"), "{refused}");
    }
    let shown = env.run(&["task", "show", &item, "--json"]).json();
    assert_eq!(shown["status"], "IN_PROGRESS", "{shown}");
    assert_eq!(env.run(&["task", "next", "--json"]).json(), Value::Null);
    // The worker itself still reports.
    run_as(
        &env,
        Some("worker"),
        NOW,
        &["task", "progress", &item, "--percent", "50"],
    )
    .ok();
}
