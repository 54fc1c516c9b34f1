//! Issue 14 with the real Claude Code CLI: file leases between two live sessions. Session A
//! stays live (its run waits inside a Bash call) while session B's runs edit the same file:
//! B is told of A's edit, then stopped by A's exclusive lease (denied as a worker, asked as
//! an interactive session), and edits freely once A's session has ended. Once in one
//! checkout, once with B in a second worktree of the repository.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::args;
use crate::harness::{Fixture, Run, claude_bin, orchestron_bin, wait_for};

const A_SESSION: &str = "a1a1a1a1-0000-4000-8000-00000000000a";

fn orchestron_in(fixture: &Fixture, dir: &Path, args: &[&str]) -> String {
    let output = crate::worktrees::orchestron_in(fixture, dir, args);
    assert!(output.status.success(), "orchestron {args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// The hooks a worker runs (`workers run` passes the same `--settings`): `hook EVENT
/// --worker` for the events that matter here.
fn worker_settings() -> String {
    let bin = orchestron_bin().to_str().unwrap();
    let hooks: serde_json::Map<String, Value> =
        ["SessionStart", "PreToolUse", "PostToolUse", "SessionEnd"]
            .iter()
            .map(|event| {
                (
                    (*event).to_owned(),
                    json!([{"hooks": [{"type": "command", "command": bin,
                "args": ["hook", event, "--worker"], "timeout": 10}]}]),
                )
            })
            .collect();
    json!({ "hooks": hooks }).to_string()
}

fn bash(command: String) -> Value {
    json!({"tool_use": {"name": "Bash", "input": {"command": command, "description": "A step"}}})
}

/// Create `gate` and wait, within the Bash call, for `go` (at most a minute).
fn signal_and_wait(gate: &Path, go: &Path) -> String {
    format!(
        "touch {} && for i in $(seq 600); do [ -e {} ] && exit 0; sleep 0.1; done; exit 1",
        gate.display(),
        go.display()
    )
}

/// B reads `src/x.txt` and replaces `old` with `new` in it.
fn edit_scenario(old: &str, new: &str) -> Value {
    json!({"steps": [
        {"tool_use": {"name": "Read", "input": {"file_path": "{{CWD}}/src/x.txt"}}},
        {"tool_use": {"name": "Edit", "input": {"file_path": "{{CWD}}/src/x.txt",
            "old_string": old, "new_string": new}}},
        {"text": "Done."}
    ]})
}

/// The text the model got back after its Edit (the request after it): the tool's result and
/// the hooks' context.
fn after_edit(run: &Run) -> String {
    let turns = run.turns();
    assert!(turns.len() >= 3, "{}", run.context());
    turns[2]["body"]["messages"]
        .as_array()
        .and_then(|messages| messages.last())
        .map(Value::to_string)
        .unwrap_or_default()
}

fn the_leases_scenario(worktree: bool) {
    let Some(claude) = claude_bin() else { return };
    let fixture = Fixture::new(claude);
    fixture.git_repo(0);
    fixture.write("src/x.txt", "one\ntwo\nthree\nfour\n");
    fixture.git(&["add", "-A"]);
    fixture.git(&["commit", "-q", "-m", "x"]);
    orchestron_in(&fixture, &fixture.project, &["init"]);
    let b_dir: PathBuf = if worktree {
        let wt = fixture.root.join("wt");
        crate::worktrees::git(
            &fixture,
            &fixture.project,
            &[
                "worktree",
                "add",
                "-q",
                "-b",
                "feature",
                wt.to_str().unwrap(),
            ],
        );
        let wt = wt.canonicalize().unwrap();
        crate::worktrees::trust(&fixture, &wt);
        orchestron_in(&fixture, &wt, &["init"]);
        wt
    } else {
        fixture.project.clone()
    };
    let item = orchestron_in(
        &fixture,
        &fixture.project,
        &["task", "create", "Build the settings page"],
    );
    let other = orchestron_in(
        &fixture,
        &fixture.project,
        &["task", "create", "Other work"],
    );
    let gates = fixture.root.join("gates");
    std::fs::create_dir_all(&gates).unwrap();
    let gate = |name: &str| gates.join(name);

    // Session A: starts the item, edits the file, waits; takes an exclusive lease, waits;
    // then ends.
    let a_scenario = json!({"steps": [
        bash(format!("orchestron task start {item}")),
        {"tool_use": {"name": "Read", "input": {"file_path": "{{CWD}}/src/x.txt"}}},
        {"tool_use": {"name": "Edit", "input": {"file_path": "{{CWD}}/src/x.txt",
            "old_string": "one", "new_string": "one by A"}}},
        bash(signal_and_wait(&gate("edited"), &gate("go-lease"))),
        bash(format!(
            "orchestron lease acquire src/x.txt --exclusive --for {item} && {}",
            signal_and_wait(&gate("leased"), &gate("go-end"))
        )),
        {"text": "Done."}
    ]});
    std::thread::scope(|scope| {
        let a = scope.spawn(|| {
            fixture.run(
                "a",
                a_scenario,
                &args("build the page", &["--session-id", A_SESSION]),
            )
        });
        let waited = |name: &str| {
            let path = gate(name);
            let there = wait_for(Duration::from_secs(90), || path.exists());
            assert!(there, "session A never reached `{name}`");
        };
        let short = &A_SESSION[..8];
        let named = format!("session {short} for {item} \\\"Build the settings page\\\"");

        // A has edited the file: B's edit goes through, and B is told who edited it.
        waited("edited");
        let b1 = fixture.run_in(
            &b_dir,
            "b-touched",
            edit_scenario("two", "two by B"),
            &args("edit", &[]),
            &[],
        );
        b1.assert_ok();
        let told = after_edit(&b1);
        assert!(
            told.contains("PreToolUse:Edit hook additional context")
                && told.contains("`src/x.txt` was edited by")
                && told.contains(&named),
            "{told}\n{}",
            b1.context()
        );
        let text = std::fs::read_to_string(b_dir.join("src/x.txt")).unwrap();
        assert!(text.contains("two by B"), "{text}");

        // A takes an exclusive lease: a worker's edit is denied, naming A and its item.
        std::fs::File::create(gate("go-lease")).unwrap();
        waited("leased");
        let settings = worker_settings();
        let b2 = fixture.run_in(
            &b_dir,
            "b-worker",
            edit_scenario("three", "three by B"),
            &args("edit", &["--settings", &settings]),
            &[("ORCHESTRON_WORKER", &other)],
        );
        b2.assert_ok();
        let refused = after_edit(&b2);
        assert!(
            refused.contains("`src/x.txt` is leased exclusively by")
                && refused.contains(&named)
                && refused.contains("orchestron lease release :/src/x.txt --force")
                && refused.contains("\"is_error\":true"),
            "{refused}\n{}",
            b2.context()
        );
        assert!(
            !std::fs::read_to_string(b_dir.join("src/x.txt"))
                .unwrap()
                .contains("three by B")
        );
        // An interactive session is asked instead (headless, nobody answers: not edited).
        let mut stream_args = vec![
            "-p",
            "edit",
            "--output-format",
            "stream-json",
            "--verbose",
            "--include-hook-events",
        ];
        stream_args.extend_from_slice(crate::TOOLS);
        let b3 = fixture.run_in(
            &b_dir,
            "b-interactive",
            edit_scenario("three", "three by B"),
            &stream_args,
            &[],
        );
        assert!(
            b3.stdout.contains("\\\"permissionDecision\\\":\\\"ask\\\"")
                && b3
                    .stdout
                    .contains("\"permission_denials\":[{\"tool_name\":\"Edit\""),
            "{}",
            b3.context()
        );
        let asked = after_edit(&b3);
        assert!(
            asked.contains("`src/x.txt` is leased exclusively by") && asked.contains(&named),
            "{asked}"
        );
        assert!(
            !std::fs::read_to_string(b_dir.join("src/x.txt"))
                .unwrap()
                .contains("three by B")
        );

        // A ends: its leases go with it, and B's edit goes through untold.
        std::fs::File::create(gate("go-end")).unwrap();
        let a = a.join().unwrap();
        a.assert_ok();
        let b4 = fixture.run_in(
            &b_dir,
            "b-free",
            edit_scenario("three", "three by B"),
            &args("edit", &[]),
            &[],
        );
        b4.assert_ok();
        assert!(!after_edit(&b4).contains("Orchestron"), "{}", b4.context());
        assert!(
            std::fs::read_to_string(b_dir.join("src/x.txt"))
                .unwrap()
                .contains("three by B"),
            "{}",
            b4.context()
        );
    });
}

#[test]
#[cfg_attr(
    not(claude_cli),
    ignore = "needs the Claude Code CLI: .ci/run installs it, or set CLAUDE_BIN"
)]
fn a_live_sessions_edit_warns_its_lease_stops_and_its_end_frees_the_file() {
    the_leases_scenario(false);
}

#[test]
#[cfg_attr(
    not(claude_cli),
    ignore = "needs the Claude Code CLI: .ci/run installs it, or set CLAUDE_BIN"
)]
fn leases_hold_across_two_worktrees_of_one_repository() {
    the_leases_scenario(true);
}

/// A handoff between two sessions: A claims an item and hands it to the agent `backend`
/// with its context; B, a session working as `backend`, is told at its start and accepts it,
/// and the context reaches B's model both times.
#[test]
#[cfg_attr(
    not(claude_cli),
    ignore = "needs the Claude Code CLI: .ci/run installs it, or set CLAUDE_BIN"
)]
fn a_handoff_reaches_the_receiving_session_with_its_context() {
    let Some(claude) = claude_bin() else { return };
    let fixture = Fixture::new(claude);
    orchestron_in(&fixture, &fixture.project, &["init"]);
    let item = orchestron_in(
        &fixture,
        &fixture.project,
        &["task", "create", "Build the API"],
    );
    let context = "the schema is merged; the handlers are next";
    let a = fixture.run(
        "giver",
        json!({"steps": [
            bash(format!("orchestron task start {item}")),
            bash(format!(
                "orchestron handoff prepare {item} --to backend --context '{context}' \
                 --next-steps 'write the handlers'"
            )),
            {"text": "Handed over."}
        ]}),
        &args("hand the API over", &[]),
    );
    a.assert_ok();
    let b = fixture.run_in(
        &fixture.project,
        "receiver",
        json!({"steps": [
            bash(format!("orchestron handoff accept {item}")),
            {"text": "Taken."}
        ]}),
        &args("take what was handed to you", &[]),
        &[("ORCHESTRON_AGENT", "backend")],
    );
    b.assert_ok();
    let turns = b.turns();
    // Told at its start, with the context and the command...
    let first = turns[0]["body"].to_string();
    assert!(
        first.contains("Handoff offered to you") && first.contains(context),
        "{}",
        b.context()
    );
    // ...and the context came back with the accepted item.
    let after = turns[1]["body"]["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .to_string();
    assert!(
        after.contains("is yours (IN_PROGRESS)") && after.contains(context),
        "{after}\n{}",
        b.context()
    );
    let shown: Value = serde_json::from_str(&orchestron_in(
        &fixture,
        &fixture.project,
        &["task", "show", &item, "--json"],
    ))
    .unwrap();
    assert_eq!(shown["status"], "IN_PROGRESS");
    assert_eq!(shown["assignee"], b.session_id().as_str());
}

/// Review points with the real CLI: a progress point fires once, a sensitive path asks, and
/// a high-severity decision pauses the session: its next Write is refused with the reason,
/// `orchestron approve` (run by a person meanwhile) resumes it, and the Write after goes
/// through.
#[test]
#[cfg_attr(
    not(claude_cli),
    ignore = "needs the Claude Code CLI: .ci/run installs it, or set CLAUDE_BIN"
)]
fn review_points_pause_a_session_until_a_person_approves() {
    let Some(claude) = claude_bin() else { return };
    let fixture = Fixture::new(claude);
    fixture.git_repo(0);
    orchestron_in(&fixture, &fixture.project, &["init"]);
    fixture.write(
        "review-points.yaml",
        "triggers:\n  - {type: progress, threshold: 50, action: notify-human}\n  - {type: decision, severity: high, action: pause-for-approval}\n  - {type: sensitive-path, paths: [\"**/auth/**\"], action: ask}\n",
    );
    orchestron_in(
        &fixture,
        &fixture.project,
        &["workflow", "apply", "review-points.yaml"],
    );
    let item = orchestron_in(
        &fixture,
        &fixture.project,
        &["task", "create", "Retire the API"],
    );
    let write = |path: &str, text: &str| json!({"tool_use": {"name": "Write", "input": {"file_path": format!("{{{{CWD}}}}/{path}"), "content": text}}});
    let mut held_write = write("notes.txt", "after approval\n");
    held_write["sleep_ms"] = json!(4000);
    let scenario = json!({"steps": [
        bash(format!("orchestron task start {item}")),
        bash(format!(
            "orchestron task progress {item} --percent 40 && orchestron task progress {item} --percent 60 \
             && orchestron task progress {item} --percent 55 && orchestron task progress {item} --percent 70"
        )),
        write("src/auth/token.rs", "secret\n"),
        bash("orchestron decide 'Drop the old API' --severity high".to_owned()),
        write("notes.txt", "before approval\n"),
        held_write,
        {"text": "Done."}
    ]});
    let log = fixture.root.join("run-review/mock-requests.jsonl");
    std::thread::scope(|scope| {
        let run = scope.spawn(|| fixture.run("review", scenario, &args("retire the API", &[])));
        // Once the refused Write's result has reached the model, a person approves.
        let refused = wait_for(Duration::from_secs(90), || {
            std::fs::read_to_string(&log).is_ok_and(|text| text.contains("is paused for approval"))
        });
        assert!(refused, "the Write was never refused");
        let decisions: Value = serde_json::from_str(&orchestron_in(
            &fixture,
            &fixture.project,
            &["decision", "list", "--json"],
        ))
        .unwrap();
        let decision = decisions[0]["id"].as_str().unwrap().to_owned();
        orchestron_in(
            &fixture,
            &fixture.project,
            &["approve", &decision, "--with-feedback", "go ahead"],
        );
        let run = run.join().unwrap();
        run.assert_ok();
        let sent = run.sent();
        // The sensitive path was asked about (headless: refused, with the reason).
        assert!(
            sent.contains("`src/auth/token.rs` is a sensitive path"),
            "{}",
            run.context()
        );
        assert!(!fixture.project.join("src/auth/token.rs").exists());
        // The Write while held was refused naming the decision and the command...
        assert!(
            sent.contains(&format!("{decision} waits for a person"))
                && sent.contains(&format!("`orchestron approve {decision}`")),
            "{}",
            run.context()
        );
        // ...and the one after the approval went through.
        let notes = std::fs::read_to_string(fixture.project.join("notes.txt")).unwrap();
        assert_eq!(notes, "after approval\n");
    });
    // The progress point fired once, for 50 %, and waits in the attention queue.
    let history: Value = serde_json::from_str(&orchestron_in(
        &fixture,
        &fixture.project,
        &["task", "history", &item, "--json"],
    ))
    .unwrap();
    let fired: Vec<&Value> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["what"] == "review_point")
        .collect();
    assert_eq!(fired.len(), 1, "{history}");
    let attention = orchestron_in(&fixture, &fixture.project, &["attention"]);
    assert!(
        attention.contains("notice") && attention.contains("reached 60% (review point at 50%)"),
        "{attention}"
    );
}
