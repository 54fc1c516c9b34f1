//! Issue 13 with the real Claude Code CLI: `orchestron workers run` drains a plan with
//! parallel headless workers, each a real `claude -p` in its own worktree, against the
//! scripted model (`mock`). A scripted worker "works" with Bash tool calls: it writes a file
//! named after its item (its cwd is `.orchestron/worktrees/<ID>`, so `basename "$PWD"` is
//! the item id), commits, and runs `orchestron task complete`.
//!
//! Every answer of the mock reports 5189 input and 42 output tokens, which Claude Code
//! prices at $0.021596 with its default model: a worker of two turns costs $0.043192.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{DAG12, Fixture, PlanItem, alive, claude_bin, wait_for, worker_leaders};

/// The tokens every answer reports (see the module's note on cost).
fn usage() -> Value {
    json!({"input_tokens": 5189, "output_tokens": 42})
}

/// What one answer costs, and so one worker of two turns.
const TURN_USD: f64 = 0.021_596;

fn bash(command: &str) -> Value {
    json!({"tool_use": {"name": "Bash", "input": {"command": command, "description": "Work on the item"}}})
}

/// The scripted work: `items/<ID>.txt` naming the item and the files of `items/` it found
/// (its dependencies' work), committed on its branch; then `task complete`.
const WORK: &str = r#"id=$(basename "$PWD"); mkdir -p items; saw=$(ls items | tr '\n' ' '); printf '%s\nsaw: %s\n' "$id" "$saw" > "items/$id.txt"; git add -A && git commit -qm "$id: work" && orchestron task complete "$id" --note "wrote items/$id.txt""#;

/// A worker that does [`WORK`] and says it is done.
fn working() -> Value {
    json!([bash(WORK), {"text": "Done."}])
}

fn scenario(steps: Value, routes: Value) -> Value {
    json!({"usage": usage(), "steps": steps, "routes": routes})
}

/// A fixture git repository (`main`, one commit), or `None` without the CLI.
fn repo() -> Option<Fixture> {
    let fixture = Fixture::new(claude_bin()?);
    fixture.git_repo(0);
    Some(fixture)
}

/// `workers run` with the real CLI and a permission mode that lets Bash run unprompted,
/// plus `extra`.
fn run_args<'a>(fixture: &'a Fixture, extra: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec![
        "run",
        "--claude",
        fixture.claude.to_str().unwrap(),
        "--permission-mode",
        "bypassPermissions",
    ];
    all.extend_from_slice(extra);
    all
}

fn ok(fixture: &Fixture, args: &[&str]) -> String {
    let output = fixture.orchestron(args);
    assert!(
        output.status.success(),
        "orchestron {args:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn history(fixture: &Fixture, id: &str) -> Vec<Value> {
    fixture
        .orchestron_json(&["task", "history", id])
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The entries of `orchestron attention --json` (an array, or `{"entries": [...]}`).
fn attention(fixture: &Fixture) -> Vec<Value> {
    let value = fixture.orchestron_json(&["attention"]);
    match value {
        Value::Array(entries) => entries,
        other => other["entries"].as_array().cloned().unwrap_or_default(),
    }
}

/// A timestamp as milliseconds of the day plus its date, comparable whatever the number of
/// fraction digits.
fn instant(at: &str) -> (String, u64) {
    let (date, time) = at.trim_end_matches('Z').split_once('T').unwrap();
    let (hms, fraction) = time.split_once('.').unwrap_or((time, "0"));
    let mut parts = hms.split(':').map(|part| part.parse::<u64>().unwrap());
    let (h, m, s) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let ms: u64 = format!("{fraction:0<3}")[..3].parse().unwrap();
    (date.to_owned(), ((h * 60 + m) * 60 + s) * 1000 + ms)
}

/// When the item was first claimed: its `claimed` event, else its first move to IN_PROGRESS.
fn first_claim(events: &[Value]) -> Option<String> {
    events
        .iter()
        .find(|event| {
            event["what"] == "claimed"
                || (event["what"] == "status" && event["detail"]["to"] == "IN_PROGRESS")
        })
        .and_then(|event| event["at"].as_str().map(str::to_owned))
}

fn moves_to(events: &[Value], status: &str) -> usize {
    events
        .iter()
        .filter(|event| event["what"] == "status" && event["detail"]["to"] == status)
        .count()
}

fn claims(events: &[Value]) -> usize {
    let claimed = events.iter().filter(|e| e["what"] == "claimed").count();
    if claimed > 0 {
        claimed
    } else {
        moves_to(events, "IN_PROGRESS")
    }
}

/// The files of `items/` on `branch`.
fn items_on(fixture: &Fixture, branch: &str) -> Vec<String> {
    fixture
        .git(&["ls-tree", "-r", "--name-only", branch, "items/"])
        .lines()
        .map(|line| line.trim_start_matches("items/").to_owned())
        .collect()
}

fn show_file(fixture: &Fixture, branch: &str, path: &str) -> String {
    fixture.git(&["show", &format!("{branch}:{path}")])
}

const INTO: &str = "orchestron/integration";

/// Git worktrees besides the main one, and `orchestron/*` branches besides the integration
/// branch: what a clean end leaves none of.
fn leftovers(fixture: &Fixture) -> (Vec<String>, Vec<String>) {
    let worktrees: Vec<String> = fixture
        .git(&["worktree", "list", "--porcelain"])
        .lines()
        .filter_map(|line| line.strip_prefix("worktree "))
        .filter(|path| Path::new(path) != fixture.project)
        .map(str::to_owned)
        .collect();
    let branches: Vec<String> = fixture
        .git(&[
            "branch",
            "--list",
            "orchestron/*",
            "--format=%(refname:short)",
        ])
        .lines()
        .filter(|branch| *branch != INTO)
        .map(str::to_owned)
        .collect();
    (worktrees, branches)
}

fn worktree(fixture: &Fixture, id: &str) -> PathBuf {
    fixture.project.join(".orchestron/worktrees").join(id)
}

/// 4 workers drain a 12-item DAG (width 4, depth 3, two joins): each item DONE exactly once,
/// none started before its dependencies were merged (by time and by content), all 12 files
/// on the integration branch, no worktree or branch left, nothing for a person; the user's
/// checkout and uncommitted changes untouched.
#[test]
#[cfg_attr(
    not(claude_cli),
    ignore = "needs the Claude Code CLI: .ci/run installs it, or set CLAUDE_BIN"
)]
fn four_workers_drain_a_twelve_item_dag() {
    let Some(fixture) = repo() else { return };
    let ids = fixture.plan(DAG12);
    // The user's uncommitted work, which the run must leave as it is.
    fixture.write("README.md", "# fixture\nwork in progress\n");
    fixture.write("scratch.txt", "mine\n");
    let status_before = fixture.git(&["status", "--porcelain"]);
    let head_before = fixture.git(&["rev-parse", "HEAD"]);

    let run = fixture.workers(
        "drain",
        scenario(working(), json!([])),
        &run_args(&fixture, &["--count", "4"]),
    );
    assert_eq!(run.status, 0, "{}", run.context());

    let by_id: BTreeMap<&str, &str> = ids
        .iter()
        .map(|(n, id)| (id.as_str(), n.as_str()))
        .collect();
    let mut done_at = BTreeMap::new();
    let mut histories = BTreeMap::new();
    for (name, id) in &ids {
        let item = fixture.item(id);
        assert_eq!(
            item["status"],
            "DONE",
            "{name} {id}: {item:#}\n{}",
            run.context()
        );
        let events = history(&fixture, id);
        // Merged: the `merged` event the train records, else the move to DONE.
        let merged = events
            .iter()
            .find(|event| event["what"] == "merged")
            .and_then(|event| event["at"].as_str())
            .or(item["completed_at"].as_str())
            .unwrap()
            .to_owned();
        done_at.insert(name.clone(), merged);
        assert_eq!(
            moves_to(&events, "DONE"),
            1,
            "{name} DONE once: {events:#?}"
        );
        assert_eq!(claims(&events), 1, "{name} claimed once: {events:#?}");
        histories.insert(name.clone(), events);
    }
    // No worker started before all of its item's dependencies were merged (DONE = merged).
    for (name, deps) in DAG12 {
        let claimed = first_claim(&histories[*name]).unwrap();
        for dep in *deps {
            assert!(
                instant(&claimed) >= instant(&done_at[*dep]),
                "{name} was claimed at {claimed}, before {dep} was merged at {}",
                done_at[*dep]
            );
        }
    }
    // By content: each item's file lists what its worktree held, its dependencies' files.
    let files = items_on(&fixture, INTO);
    assert_eq!(files.len(), 12, "{files:?}\n{}", run.context());
    for (name, deps) in DAG12 {
        let id = &ids[*name];
        assert!(files.contains(&format!("{id}.txt")), "{files:?}");
        let text = show_file(&fixture, INTO, &format!("items/{id}.txt"));
        for dep in *deps {
            assert!(
                text.contains(&format!("{}.txt", ids[*dep])),
                "{name}'s worktree lacked {dep}'s file: {text}"
            );
        }
    }
    let (worktrees, branches) = leftovers(&fixture);
    assert!(worktrees.is_empty(), "worktrees left: {worktrees:?}");
    assert!(branches.is_empty(), "branches left: {branches:?}");
    assert!(attention(&fixture).is_empty(), "{:#?}", attention(&fixture));
    // The user's checkout: same branch, same commit, same uncommitted changes.
    assert_eq!(fixture.git(&["branch", "--show-current"]), "main");
    assert_eq!(fixture.git(&["rev-parse", "HEAD"]), head_before);
    assert_eq!(fixture.git(&["status", "--porcelain"]), status_before);
    // Every worker ran Claude Code: 12 sessions, each with its own prompt naming its item.
    for id in ids.values() {
        assert!(
            !run.prompts_with(id).is_empty(),
            "no request for {id} ({})",
            by_id[id.as_str()]
        );
    }
    // What a person reads afterwards.
    let logs = ok(&fixture, &["workers", "logs", &ids["C1"]]);
    assert!(
        logs.contains("task complete") && logs.contains("Done."),
        "{logs}"
    );
    // The cost ledger: 12 workers of two turns each, at the price Claude Code reported.
    let status = fixture.orchestron_json(&["workers", "status"]);
    let spent = status["spent_usd"].as_f64().unwrap_or_default();
    assert!(
        (spent - 12.0 * 2.0 * TURN_USD).abs() < 1e-6,
        "spent ${spent}: {status:#}"
    );
    for list in ["running", "queued", "recent_failures"] {
        assert_eq!(status[list], json!([]), "{list}: {status:#}");
    }
}

/// A worker killed with SIGKILL in the middle of its item: the file it left uncommitted is
/// kept in a commit, and the next attempt finishes the item.
#[test]
#[cfg_attr(
    not(claude_cli),
    ignore = "needs the Claude Code CLI: .ci/run installs it, or set CLAUDE_BIN"
)]
fn a_worker_killed_with_sigkill_is_retried_and_its_work_kept() {
    let Some(fixture) = repo() else { return };
    let ids = fixture.plan(&[("Killed", &[])]);
    let id = &ids["Killed"];
    // Its first attempt leaves a file uncommitted, then SIGKILLs its own Claude Code (the
    // Bash tool's parent).
    let killed = r#"id=$(basename "$PWD"); mkdir -p items; echo partial > "items/$id.partial"; kill -9 $PPID"#;
    let run = fixture.workers(
        "sigkill",
        scenario(
            json!([bash(killed), {"text": "unreachable"}]),
            json!([{"match": "attempt 2 of", "steps": working()}]),
        ),
        &run_args(&fixture, &["--attempts", "2"]),
    );
    assert_eq!(run.status, 0, "{}", run.context());
    assert_eq!(fixture.status_of(id), "DONE", "{}", run.context());
    assert!(
        !run.prompts_with("attempt 2 of").is_empty(),
        "{}",
        run.context()
    );
    let files = items_on(&fixture, INTO);
    assert!(
        files.contains(&format!("{id}.partial")) && files.contains(&format!("{id}.txt")),
        "{files:?}\n{}",
        run.context()
    );
    // The partial file was committed before the second attempt, not by it.
    let added = fixture.git(&[
        "log",
        "--format=%H %s",
        "--diff-filter=A",
        INTO,
        "--",
        &format!("items/{id}.partial"),
    ]);
    let work = fixture.git(&[
        "log",
        "--format=%H",
        "--diff-filter=A",
        INTO,
        "--",
        &format!("items/{id}.txt"),
    ]);
    assert!(
        !added.is_empty() && !added.starts_with(&work),
        "{added} / {work}"
    );
    let (worktrees, branches) = leftovers(&fixture);
    assert!(
        worktrees.is_empty() && branches.is_empty(),
        "{worktrees:?} {branches:?}"
    );
    // Its first attempt's log holds no result.
    let first = std::fs::read_to_string(
        fixture
            .project
            .join(format!(".orchestron/workers/{id}/1.jsonl")),
    )
    .unwrap_or_default();
    assert!(!first.contains("\"type\":\"result\""), "{first}");
}

/// A worker whose model stops answering is stopped after `--stall`, retried, and succeeds.
#[test]
#[cfg_attr(
    not(claude_cli),
    ignore = "needs the Claude Code CLI: .ci/run installs it, or set CLAUDE_BIN"
)]
fn a_stalled_worker_is_stopped_and_retried() {
    let Some(fixture) = repo() else { return };
    let ids = fixture.plan(&[("Stalls", &[])]);
    let id = &ids["Stalls"];
    let started = Instant::now();
    let run = fixture.workers(
        "stall",
        scenario(
            json!([{"text": "thinking", "sleep_ms": 120_000}]),
            json!([{"match": "attempt 2 of", "steps": working()}]),
        ),
        &run_args(&fixture, &["--stall", "3s", "--attempts", "2"]),
    );
    let elapsed = started.elapsed();
    assert_eq!(run.status, 0, "{}", run.context());
    assert_eq!(fixture.status_of(id), "DONE", "{}", run.context());
    assert!(elapsed >= Duration::from_secs(3), "{elapsed:?}");
    assert!(
        elapsed < Duration::from_secs(100),
        "stopped long before the model answered: {elapsed:?}"
    );
    assert!(items_on(&fixture, INTO).contains(&format!("{id}.txt")));
    let first = std::fs::read_to_string(
        fixture
            .project
            .join(format!(".orchestron/workers/{id}/1.jsonl")),
    )
    .unwrap_or_default();
    assert!(
        !first.is_empty() && !first.contains("\"type\":\"result\""),
        "{first}"
    );
}

/// A worker that exits 0 with no `result` event, twice: its item is BLOCKED with the
/// reason, and waits in the attention queue.
#[test]
#[cfg_attr(
    not(claude_cli),
    ignore = "needs the Claude Code CLI: .ci/run installs it, or set CLAUDE_BIN"
)]
fn no_result_twice_blocks_the_item_for_a_person() {
    let Some(fixture) = repo() else { return };
    let ids = fixture.plan(&[("Silent", &[])]);
    let id = &ids["Silent"];
    // Claude Code as usual, with its `result` line dropped, exiting 0.
    let wrapper = fixture.fakebin.join("claude-no-result");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\n'{}' \"$@\" | grep --line-buffered -v '\"type\":\"result\"'\nexit 0\n",
            fixture.claude.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let args = [
        "run",
        "--claude",
        wrapper.to_str().unwrap(),
        "--permission-mode",
        "bypassPermissions",
        "--attempts",
        "2",
    ];
    let run = fixture.workers("no-result", scenario(working(), json!([])), &args);
    assert_ne!(run.status, 0, "{}", run.context());
    assert_ne!(run.status, 3, "not the budget: {}", run.context());
    let item = fixture.item(id);
    assert_eq!(item["status"], "BLOCKED", "{item:#}\n{}", run.context());
    let reason = item["blocked_reason"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase();
    assert!(reason.contains("result"), "{reason}");
    // Two attempts, both reached Claude Code.
    assert!(
        !run.prompts_with("attempt 2 of").is_empty(),
        "{}",
        run.context()
    );
    let queue = attention(&fixture);
    let entry = queue
        .iter()
        .find(|entry| entry.to_string().contains(id.as_str()))
        .unwrap_or_else(|| panic!("{id} not in attention: {queue:#?}"));
    assert!(
        entry.to_string().to_lowercase().contains("result"),
        "{entry:#}"
    );
    let text = ok(&fixture, &["attention"]);
    assert!(text.contains(id.as_str()), "{text}");
}

/// Two items edit the same line: the second is not merged, goes back, its next (scripted)
/// attempt merges the integration branch and resolves the conflict, and it is merged.
#[test]
#[cfg_attr(
    not(claude_cli),
    ignore = "needs the Claude Code CLI: .ci/run installs it, or set CLAUDE_BIN"
)]
fn a_conflict_goes_back_and_the_next_attempt_resolves_it() {
    let Some(fixture) = repo() else { return };
    fixture.write("shared.txt", "base\n");
    fixture.git(&["add", "shared.txt"]);
    fixture.git(&["commit", "-qm", "shared"]);
    let ids = fixture.plan(&[("Left", &[]), ("Right", &[])]);
    let (left, right) = (&ids["Left"], &ids["Right"]);
    let edit = r#"id=$(basename "$PWD"); echo "edited by $id" > shared.txt; git commit -qam "$id: edit" && orchestron task complete "$id" --note "edited shared.txt""#;
    let resolve = format!(
        r#"id=$(basename "$PWD"); git merge -q {INTO} >/dev/null 2>&1; printf 'edited by {left}\nedited by {right}\n' > shared.txt; git add -A && git commit -qm "$id: merge {INTO}, keep both" && orchestron task complete "$id" --note "resolved the conflict""#
    );
    let run = fixture.workers(
        "conflict",
        scenario(
            json!([bash(edit), {"text": "Edited."}]),
            json!([{"match": "attempt 2 of", "steps": [bash(&resolve), {"text": "Resolved."}]}]),
        ),
        &run_args(&fixture, &["--count", "2", "--attempts", "2"]),
    );
    assert_eq!(run.status, 0, "{}", run.context());
    for id in [left, right] {
        assert_eq!(fixture.status_of(id), "DONE", "{id}: {}", run.context());
    }
    // Exactly one of them needed a second attempt, and its instructions said to merge.
    let second: Vec<&String> = [left, right]
        .into_iter()
        .filter(|id| {
            run.prompts_with(id)
                .iter()
                .any(|r| r.to_string().contains("attempt 2 of"))
        })
        .collect();
    assert_eq!(second.len(), 1, "{second:?}\n{}", run.context());
    let retried = run
        .prompts_with(second[0])
        .into_iter()
        .find(|r| r.to_string().contains("attempt 2 of"))
        .unwrap()
        .to_string();
    assert!(retried.contains(&format!("git merge {INTO}")), "{retried}");
    let shared = show_file(&fixture, INTO, "shared.txt");
    assert_eq!(
        shared,
        format!("edited by {left}\nedited by {right}"),
        "{}",
        run.context()
    );
    assert!(!shared.contains("<<<<<<<"));
    let (worktrees, branches) = leftovers(&fixture);
    assert!(
        worktrees.is_empty() && branches.is_empty(),
        "{worktrees:?} {branches:?}"
    );
}

/// With a budget below the cost of three items, spawning stops and running workers finish:
/// the items never started stay TODO, and the exit code and message name the budget.
#[test]
#[cfg_attr(
    not(claude_cli),
    ignore = "needs the Claude Code CLI: .ci/run installs it, or set CLAUDE_BIN"
)]
fn a_budget_stops_spawning() {
    let Some(fixture) = repo() else { return };
    let plan: Vec<PlanItem<'_>> = ["P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8"]
        .iter()
        .map(|name| (*name, &[][..]))
        .collect();
    let ids = fixture.plan(&plan);
    let item_usd = 2.0 * TURN_USD;
    let budget = 2.5 * item_usd; // $0.10798: two items, not three
    let budget_text = format!("{budget:.5}");
    let run = fixture.workers(
        "budget",
        scenario(working(), json!([])),
        &run_args(&fixture, &["--count", "2", "--budget-usd", &budget_text]),
    );
    assert_eq!(run.status, 3, "{}", run.context());
    let said = format!("{}{}", run.stdout, run.stderr).to_lowercase();
    assert!(said.contains("budget"), "{}", run.context());
    let statuses: BTreeMap<&String, String> =
        ids.values().map(|id| (id, fixture.status_of(id))).collect();
    let count = |status: &str| statuses.values().filter(|s| *s == status).count();
    assert!(count("DONE") >= 2, "{statuses:?}\n{}", run.context());
    assert_eq!(count("IN_PROGRESS"), 0, "{statuses:?}");
    assert_eq!(
        count("DONE") + count("TODO"),
        8,
        "{statuses:?}\n{}",
        run.context()
    );
    // At least three were never started, and no more than the budget allows was spent.
    let never: Vec<_> = ids
        .values()
        .filter(|id| claims(&history(&fixture, id)) == 0)
        .collect();
    assert!(
        never.len() >= 3,
        "{never:?} {statuses:?}\n{}",
        run.context()
    );
    let spent = run
        .requests
        .iter()
        .filter(|r| {
            r["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("/v1/messages"))
        })
        .count() as f64
        * TURN_USD;
    assert!(spent <= budget + 2.0 * item_usd, "spent about ${spent}");
}

/// `--review human`: items wait in IN_REVIEW and in the attention queue; `review approve`
/// merges one; `review reject --feedback` sends the other back, and its next attempt's
/// request to the model holds the feedback, continuing from its branch.
#[test]
#[cfg_attr(
    not(claude_cli),
    ignore = "needs the Claude Code CLI: .ci/run installs it, or set CLAUDE_BIN"
)]
fn human_review_approves_and_rejects_with_feedback() {
    let Some(fixture) = repo() else { return };
    let ids = fixture.plan(&[("Approved", &[]), ("Rejected", &[])]);
    let (good, bad) = (&ids["Approved"], &ids["Rejected"]);
    let run = fixture.workers(
        "review",
        scenario(working(), json!([])),
        &run_args(&fixture, &["--count", "2", "--review", "human"]),
    );
    assert_eq!(run.status, 0, "{}", run.context());
    for id in [good, bad] {
        assert_eq!(
            fixture.status_of(id),
            "IN_REVIEW",
            "{id}: {}",
            run.context()
        );
    }
    let queue = attention(&fixture)
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    for id in [good, bad] {
        assert!(queue.contains(&format!("review approve {id}")), "{queue}");
    }
    let shown = ok(&fixture, &["review", bad]);
    assert!(
        shown.contains(&format!("items/{bad}.txt")),
        "the diff: {shown}"
    );
    assert!(
        shown.contains(&format!("wrote items/{bad}.txt")),
        "the note: {shown}"
    );
    assert!(shown.contains("0.04"), "the cost: {shown}");

    ok(&fixture, &["review", "approve", good]);
    assert_eq!(fixture.status_of(good), "DONE");
    assert!(items_on(&fixture, INTO).contains(&format!("{good}.txt")));

    let feedback = "name the file in capitals";
    ok(&fixture, &["review", "reject", bad, "--feedback", feedback]);
    assert_eq!(fixture.status_of(bad), "TODO");
    let capitals = r#"id=$(basename "$PWD"); echo "$id" > "items/$id.UPPER"; git add -A && git commit -qm "$id: capitals" && orchestron task complete "$id" --note "capitals""#;
    let again = fixture.workers(
        "review-again",
        scenario(
            working(),
            json!([{"match": feedback, "steps": [bash(capitals), {"text": "Renamed."}]}]),
        ),
        &run_args(&fixture, &[]),
    );
    assert_eq!(again.status, 0, "{}", again.context());
    assert!(
        !again.prompts_with(feedback).is_empty(),
        "the feedback reached the model: {}",
        again.context()
    );
    assert!(
        again
            .prompts_with(feedback)
            .iter()
            .all(|r| r.to_string().contains(bad.as_str()))
    );
    assert_eq!(fixture.status_of(bad), "DONE", "{}", again.context());
    let files = items_on(&fixture, INTO);
    // It continued from its branch: the first attempt's file is there too.
    assert!(
        files.contains(&format!("{bad}.UPPER")) && files.contains(&format!("{bad}.txt")),
        "{files:?}"
    );
    assert!(attention(&fixture).is_empty(), "{:#?}", attention(&fixture));
}

/// The supervisor is SIGKILLed while 3 workers run. The next `workers run` stops the
/// orphans, keeps what they committed and what they left uncommitted, and claims each item
/// once more, never twice at a time.
#[test]
#[cfg_attr(
    not(claude_cli),
    ignore = "needs the Claude Code CLI: .ci/run installs it, or set CLAUDE_BIN"
)]
fn a_killed_supervisor_loses_no_commit_and_claims_nothing_twice() {
    let Some(fixture) = repo() else { return };
    let ids = fixture.plan(&[("K1", &[]), ("K2", &[]), ("K3", &[])]);
    // Each worker commits a file, leaves another uncommitted, then waits on the model.
    let busy = r#"id=$(basename "$PWD"); mkdir -p items; echo committed > "items/$id.txt"; git add -A && git commit -qm "$id: first half"; echo partial > "items/$id.partial""#;
    let background = fixture.workers_start(
        "killed",
        scenario(
            json!([bash(busy), {"text": "still thinking", "sleep_ms": 90_000}]),
            json!([]),
        ),
        &run_args(&fixture, &["--count", "3"]),
    );
    let mid_work = wait_for(Duration::from_secs(120), || {
        ids.values().all(|id| {
            worktree(&fixture, id)
                .join(format!("items/{id}.partial"))
                .exists()
        })
    });
    if !mid_work {
        let run = background.kill_hard();
        panic!("the 3 workers never got to work: {}", run.context());
    }
    let supervisor = background.pid();
    let orphans: Vec<i32> = ids
        .values()
        .flat_map(|id| worker_leaders(supervisor, id))
        .collect();
    assert_eq!(orphans.len(), 3, "{orphans:?}");
    let first = background.kill_hard();
    assert!(
        orphans.iter().all(|pid| alive(*pid)),
        "workers outlive their supervisor"
    );

    let finish = r#"id=$(basename "$PWD"); echo done > "items/$id.second"; git add -A && git commit -qm "$id: second half" && orchestron task complete "$id" --note "finished""#;
    let run = fixture
        .workers_start(
            "after-kill",
            scenario(json!([bash(finish), {"text": "Finished."}]), json!([])),
            &run_args(&fixture, &["--count", "3"]),
        )
        .finish(Duration::from_secs(150));
    assert_eq!(
        run.status,
        0,
        "{}\nfirst run: {}",
        run.context(),
        first.context()
    );
    assert!(
        wait_for(Duration::from_secs(15), || orphans
            .iter()
            .all(|pid| !alive(*pid))),
        "orphans still running: {orphans:?}"
    );
    let files = items_on(&fixture, INTO);
    for id in ids.values() {
        assert_eq!(fixture.status_of(id), "DONE", "{id}: {}", run.context());
        for suffix in ["txt", "partial", "second"] {
            assert!(
                files.contains(&format!("{id}.{suffix}")),
                "{id}.{suffix}: {files:?}"
            );
        }
        // Claimed once per run; the second claim only after the first was given back.
        let events = history(&fixture, id);
        assert_eq!(claims(&events), 2, "{events:#?}");
        let kinds: Vec<&str> = events.iter().filter_map(|e| e["what"].as_str()).collect();
        let claimed: Vec<usize> = kinds
            .iter()
            .enumerate()
            .filter(|(_, k)| **k == "claimed")
            .map(|(i, _)| i)
            .collect();
        if claimed.len() == 2 {
            assert!(
                kinds[claimed[0]..claimed[1]].contains(&"claim_returned"),
                "given back between the claims: {kinds:?}"
            );
        }
        // Every commit of the item's first half made it.
        assert_eq!(
            show_file(&fixture, INTO, &format!("items/{id}.txt")),
            "committed"
        );
    }
    let (worktrees, branches) = leftovers(&fixture);
    assert!(
        worktrees.is_empty() && branches.is_empty(),
        "{worktrees:?} {branches:?}"
    );
}

/// What is in the repository and the tracker: every ref, the worktrees, the status, items.
fn snapshot(fixture: &Fixture, ids: &[&String]) -> String {
    let git = |args: &[&str]| {
        let output = fixture.git_command(args).output().unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let items: Vec<String> = ids.iter().map(|id| fixture.status_of(id)).collect();
    format!(
        "refs:\n{}\nworktrees:\n{}\nstatus:\n{}\nitems: {items:?}\nworktree dir: {}",
        git(&["for-each-ref", "--format=%(refname) %(objectname)"]),
        git(&["worktree", "list"]),
        git(&["status", "--porcelain"]),
        fixture.project.join(".orchestron/worktrees").exists(),
    )
}

fn refuses(fixture: &Fixture, name: &str, args: &[&str], expect: &[&str], ids: &[&String]) {
    let before = snapshot(fixture, ids);
    let run = fixture.workers(name, scenario(working(), json!([])), args);
    assert_eq!(run.status, 1, "{name}: {}", run.context());
    let said = run.stderr.to_lowercase();
    for word in expect {
        assert!(
            said.contains(word),
            "{name}: expected {word:?} in {}",
            run.context()
        );
    }
    assert!(run.requests.is_empty(), "{name}: a worker started");
    assert_eq!(snapshot(fixture, ids), before, "{name} changed something");
}

/// Bad input: not a git repository, a missing `claude`, an `--into` that is not a valid
/// branch name or is the branch the user has checked out. Each is a clear error, and
/// nothing changes.
#[test]
#[cfg_attr(
    not(claude_cli),
    ignore = "needs the Claude Code CLI: .ci/run installs it, or set CLAUDE_BIN"
)]
fn bad_input_is_refused_and_changes_nothing() {
    let Some(claude) = claude_bin() else { return };
    let fixture = Fixture::new(claude);
    let ids = fixture.plan(&[("Waiting", &[])]);
    let id = &ids["Waiting"];
    let claude_path = fixture.claude.to_str().unwrap().to_owned();
    let c = claude_path.as_str();
    // Not a git repository.
    let before = fixture.status_of(id);
    let run = fixture.workers(
        "not-git",
        scenario(working(), json!([])),
        &["run", "--claude", c],
    );
    assert_eq!(run.status, 1, "{}", run.context());
    assert!(
        run.stderr.to_lowercase().contains("git"),
        "{}",
        run.context()
    );
    assert_eq!(fixture.status_of(id), before);
    assert!(!fixture.project.join(".orchestron/worktrees").exists());
    assert!(!fixture.project.join(".git").exists());

    fixture.git_repo(0);
    let list = [id];
    // A missing claude, named or looked for on PATH.
    refuses(
        &fixture,
        "missing-claude",
        &["run", "--claude", "/nonexistent/claude"],
        &["claude", "/nonexistent/claude"],
        &list,
    );
    refuses(&fixture, "no-claude-on-path", &["run"], &["claude"], &list);
    // A bad --into, and the checked-out branch.
    refuses(
        &fixture,
        "bad-into",
        &["run", "--claude", c, "--into", "bad..name"],
        &["bad..name"],
        &list,
    );
    refuses(
        &fixture,
        "checked-out-into",
        &["run", "--claude", c, "--into", "main"],
        &["main"],
        &list,
    );
}
