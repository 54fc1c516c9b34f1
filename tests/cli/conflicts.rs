//! Issue 14, the conflict forecast: `orchestron conflicts [--branch B]… [--json]`, with real
//! git in a temporary repository. Conflicts are data: it exits 0 when it could look.

use crate::train::Project;

#[test]
fn two_branches_editing_the_same_line_are_forecast_and_disjoint_ones_are_not() {
    let p = Project::new();
    p.commit_on("one", "main", &[("shared.txt", "one\nTWO by one\nthree\n")]);
    p.commit_on("two", "main", &[("shared.txt", "one\nTWO by two\nthree\n")]);
    p.commit_on("apart", "main", &[("other.txt", "apart\n")]);
    let head = p.tip("main");

    let run = p.run(&["conflicts", "--branch", "one", "--branch", "two", "--json"]);
    let forecast = run.ok().to_owned();
    let forecast: serde_json::Value = serde_json::from_str(&forecast).unwrap();
    let pairs = forecast["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), 1, "{forecast}");
    assert_eq!(pairs[0]["a"], "one");
    assert_eq!(pairs[0]["b"], "two");
    assert_eq!(pairs[0]["conflicts"], serde_json::json!(["shared.txt"]));
    assert_eq!(pairs[0]["both_changed"], serde_json::json!(["shared.txt"]));
    assert!(
        pairs[0]["advice"]
            .as_str()
            .unwrap()
            .contains("merge `one` into `two`"),
        "{forecast}"
    );
    let text = p.run(&["conflicts", "--branch", "one", "--branch", "two"]);
    assert!(
        text.ok().contains("conflict  one ~ two: shared.txt"),
        "{text}"
    );

    // Disjoint edits: nothing to say, and still exit 0.
    let run = p.run(&[
        "conflicts",
        "--branch",
        "one",
        "--branch",
        "apart",
        "--json",
    ]);
    let forecast: serde_json::Value = serde_json::from_str(run.ok()).unwrap();
    assert_eq!(forecast["pairs"], serde_json::json!([]), "{forecast}");
    let text = p.run(&["conflicts", "--branch", "one", "--branch", "apart"]);
    assert!(text.ok().contains("no two of the 2 branches"), "{text}");

    // Both change a file, lines apart: an overlap that merges cleanly.
    p.commit_on("base", "main", &[("long.txt", "1\n2\n3\n4\n5\n6\n")]);
    p.commit_on("top", "base", &[("long.txt", "1 top\n2\n3\n4\n5\n6\n")]);
    p.commit_on(
        "bottom",
        "base",
        &[("long.txt", "1\n2\n3\n4\n5\n6 bottom\n")],
    );
    let run = p.run(&[
        "conflicts",
        "--branch",
        "top",
        "--branch",
        "bottom",
        "--json",
    ]);
    let forecast: serde_json::Value = serde_json::from_str(run.ok()).unwrap();
    assert_eq!(
        forecast["pairs"][0]["conflicts"],
        serde_json::json!([]),
        "{forecast}"
    );
    assert_eq!(
        forecast["pairs"][0]["both_changed"],
        serde_json::json!(["long.txt"])
    );
    let text = p.run(&["conflicts", "--branch", "top", "--branch", "bottom"]);
    assert!(
        text.ok().contains("overlap   top ~ bottom: long.txt"),
        "{text}"
    );

    // It reads only.
    assert_eq!(p.tip("main"), head);
    assert_eq!(p.git(&["status", "--porcelain"]), "");
}

#[test]
fn the_live_branches_are_the_integration_branch_and_the_workers() {
    let p = Project::new();
    // No integration branch yet, no worker branch: nothing to compare.
    let text = p.run(&["conflicts"]);
    assert!(text.ok().contains("no live branch"), "{text}");
    p.commit_on(
        "orchestron/integration",
        "main",
        &[("shared.txt", "one\nmerged\nthree\n")],
    );
    p.commit_on(
        "orchestron/TASK-a1b2",
        "main",
        &[("shared.txt", "one\nworker\nthree\n")],
    );
    p.commit_on(
        "unrelated",
        "main",
        &[("shared.txt", "one\nperson\nthree\n")],
    );
    let run = p.run(&["conflicts", "--json"]);
    let forecast: serde_json::Value = serde_json::from_str(run.ok()).unwrap();
    assert_eq!(
        forecast["branches"],
        serde_json::json!(["orchestron/integration", "orchestron/TASK-a1b2"]),
        "{forecast}"
    );
    assert_eq!(
        forecast["pairs"][0]["conflicts"],
        serde_json::json!(["shared.txt"])
    );
}

#[test]
fn an_unknown_branch_or_a_folder_outside_git_cannot_be_looked_at() {
    let p = Project::new();
    let err = p
        .run(&["conflicts", "--branch", "main", "--branch", "nope"])
        .fails(1)
        .to_owned();
    assert!(err.contains("no branch `nope`"), "{err}");
    let err = p
        .run(&["conflicts", "--branch", "bad..name"])
        .fails(1)
        .to_owned();
    assert!(err.contains("bad..name"), "{err}");
    let outside = p.env.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let run = p.env.run_in(&outside, &["conflicts"], &[]);
    assert!(run.fails(1).contains("not in a git work tree"), "{run}");
}

#[test]
fn a_session_on_a_branch_that_would_conflict_is_told_at_its_start_while_it_is_so() {
    let p = Project::new();
    p.commit_on("one", "main", &[("shared.txt", "one\nTWO by one\nthree\n")]);
    p.commit_on("two", "main", &[("shared.txt", "one\nTWO by two\nthree\n")]);
    // A checkout of `one`, where a session starts.
    let side = p.env.path().join("one-tree");
    p.git(&["worktree", "add", "-q", side.to_str().unwrap(), "one"]);
    let start = |session: &str| -> String {
        let payload = serde_json::json!({"session_id": session, "source": "startup"});
        let run = p.env.hook_in(&side, "SessionStart", &payload);
        run.ok().to_owned()
    };
    // No forecast yet: nothing said.
    p.run(&["session", "list"]).ok();
    assert!(
        !start("c0c0c0c0-0000-4000-8000-000000000001").contains("would conflict"),
        "no forecast kept yet"
    );
    p.run(&["conflicts", "--branch", "one", "--branch", "two"])
        .ok();
    let told = start("c0c0c0c0-0000-4000-8000-000000000002");
    assert!(
        told.contains("your branch `one` would conflict with `two` in shared.txt"),
        "{told}"
    );
    // Once `two` has moved on, the forecast is out of date and says nothing.
    p.commit_on("two", "two", &[("other.txt", "more\n")]);
    let told = start("c0c0c0c0-0000-4000-8000-000000000003");
    assert!(!told.contains("would conflict"), "{told}");
}

#[test]
fn live_sessions_whose_leases_and_touches_meet_are_forecast_too() {
    let p = Project::new();
    let (a, b) = (
        "d0d0d0d0-0000-4000-8000-00000000000a",
        "d0d0d0d0-0000-4000-8000-00000000000b",
    );
    for session in [a, b] {
        let payload = serde_json::json!({"session_id": session, "source": "startup"});
        p.env.hook_in(&p.repo(), "SessionStart", &payload).ok();
    }
    let edit = |session: &str| {
        serde_json::json!({"session_id": session, "tool_name": "Write",
            "tool_input": {"file_path": p.repo().join("shared.txt"), "content": "x"},
            "tool_response": {}})
    };
    p.env.hook_in(&p.repo(), "PostToolUse", &edit(a)).ok();
    p.env
        .run_in(
            &p.repo(),
            &["lease", "acquire", "*.txt"],
            &[("ORCHESTRON_SESSION", b)],
        )
        .ok();
    let forecast: serde_json::Value =
        serde_json::from_str(p.run(&["conflicts", "--json"]).ok()).unwrap();
    let met = forecast["sessions"].as_array().unwrap();
    assert_eq!(met.len(), 1, "{forecast}");
    assert_eq!(met[0]["a_session"], a);
    assert_eq!(met[0]["b_session"], b);
    assert_eq!(met[0]["files"], serde_json::json!(["shared.txt ~ *.txt"]));
    let text = p.run(&["conflicts"]);
    assert!(
        text.ok()
            .contains("sessions  session d0d0d0d0 ~ session d0d0d0d0: shared.txt ~ *.txt"),
        "{text}"
    );
    assert!(
        text.ok().contains("lease acquire PATH --exclusive"),
        "{text}"
    );
}
