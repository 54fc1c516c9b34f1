//! Issue 13: `orchestron health [--fix] [--json]`, with real git in a temporary repository
//! (no Claude Code). Orphaned runs are recovered in the core's tests (`workers::recover`).

use serde_json::Value;

use crate::TestEnv;
use crate::train::Project;

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|check| check["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {report}"))
}

#[test]
fn health_of_a_clean_repository_is_ok() {
    let p = Project::new();
    p.run(&["task", "create", "something"]).ok();
    let report = p.run(&["health", "--json"]).json();
    assert_eq!(report["problems"], 0, "{report}");
    assert_eq!(check(&report, "tracker")["verdict"], "ok");
    assert_eq!(check(&report, "integration")["verdict"], "info");
    let text = p.run(&["health"]).ok().to_owned();
    assert!(text.contains("ok       tracker"), "{text}");
    // Reads only: no integration branch was made, no state root where there was none.
    assert_eq!(p.tip("orchestron/integration"), None);
}

#[test]
fn health_outside_git_checks_the_tracker_only() {
    let env = TestEnv::new();
    let report = env.run(&["health", "--json"]).json();
    assert_eq!(report["problems"], 0);
    assert_eq!(check(&report, "git")["verdict"], "info");
    assert!(!env.home().exists(), "a read creates nothing");
}

#[test]
fn health_reports_and_fixes_merged_branches_and_lost_worktrees() {
    let p = Project::new();
    let id = p.run(&["task", "create", "done", "--json"]).json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let branch = format!("orchestron/{id}");
    p.commit_on(&branch, "main", &[("a.txt", "a\n")]);
    p.commit_on("orchestron/integration", &branch, &[]);
    // A worktree whose folder was deleted behind git's back.
    let lost = p.env.path().join("lost");
    p.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "orchestron/lost",
        &lost.display().to_string(),
        "main",
    ]);
    std::fs::remove_dir_all(&lost).unwrap();

    let run = p.run(&["health", "--json"]);
    run.fails(1);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(
        check(&report, "branches")["findings"][0]
            .as_str()
            .unwrap()
            .contains("merged into `orchestron/integration` but not deleted"),
        "{report}"
    );
    assert!(
        check(&report, "orphaned_worktrees")["findings"][0]
            .as_str()
            .unwrap()
            .contains("git lost its folder"),
        "{report}"
    );
    let fixed = p.run(&["health", "--fix"]);
    assert!(
        fixed.stdout.contains(&format!("deleted `{branch}`")),
        "{fixed}"
    );
    assert!(fixed.stdout.contains("forgot the worktree"), "{fixed}");
    assert_eq!(p.tip(&branch), None);
    assert!(
        p.tip("orchestron/integration").is_some(),
        "the integration branch is kept"
    );
    // `orchestron/lost` is no item's branch: health leaves it to its owner.
    assert!(p.tip("orchestron/lost").is_some());
    let report = p.run(&["health", "--json"]).json();
    assert_eq!(report["problems"], 0, "{report}");
}

#[test]
fn health_reports_a_done_item_whose_branch_is_not_merged_and_keeps_it() {
    let p = Project::new();
    let id = p.run(&["task", "create", "done", "--json"]).json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    p.run(&["task", "complete", &id, "--force"]).ok();
    let branch = format!("orchestron/{id}");
    p.commit_on("orchestron/integration", "main", &[("i.txt", "i\n")]);
    p.commit_on(&branch, "main", &[("a.txt", "a\n")]);
    let run = p.run(&["health", "--fix", "--json"]);
    run.fails(1);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let branches = check(&report, "branches");
    assert_eq!(branches["verdict"], "problem");
    assert!(
        branches["findings"][0]
            .as_str()
            .unwrap()
            .contains("is DONE but `orchestron/integration` lacks its branch"),
        "{report}"
    );
    assert!(
        p.tip(&branch).is_some(),
        "an unmerged branch is never deleted"
    );
    let integration = check(&report, "integration");
    assert!(
        integration["summary"]
            .as_str()
            .unwrap()
            .contains("1 commit ahead of HEAD"),
        "{report}"
    );
}

#[test]
fn health_reports_a_lapsed_claim() {
    let p = Project::new();
    let id = p.run(&["task", "create", "claimed", "--json"]).json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    p.run(&["task", "next", "--claim", "--assignee", "bob"])
        .ok();
    let report = p.run(&["health", "--json"]).json();
    assert_eq!(check(&report, "stale_claims")["verdict"], "ok", "{report}");
    let later = p.env.run_in(
        &p.repo(),
        &["health", "--json"],
        &[("ORCHESTRON_NOW", "2026-01-01T01:00:00Z")],
    );
    later.fails(1);
    let report: Value = serde_json::from_str(&later.stdout).unwrap();
    let stale = check(&report, "stale_claims");
    assert_eq!(stale["verdict"], "problem");
    assert!(
        stale["findings"][0].as_str().unwrap().contains(&id),
        "{report}"
    );
}

fn created(p: &Project, title: &str) -> String {
    p.run(&["task", "create", title, "--json"]).json()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Review finding 7: only `orchestron/<ID>` branches of items the tracker knows are
/// health's; a person's `orchestron/my-feature` is never reported or deleted.
#[test]
fn health_fix_deletes_only_known_items_merged_branches() {
    let p = Project::new();
    let id = created(&p, "done");
    let branch = format!("orchestron/{id}");
    p.commit_on(&branch, "main", &[("a.txt", "a\n")]);
    p.commit_on("orchestron/my-feature", &branch, &[("b.txt", "b\n")]);
    p.commit_on("orchestron/integration", "orchestron/my-feature", &[]);
    let run = p.run(&["health", "--json"]);
    run.fails(1);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let findings = check(&report, "branches")["findings"].to_string();
    assert!(findings.contains(&branch), "{report}");
    assert!(!findings.contains("my-feature"), "{report}");
    let fixed = p.run(&["health", "--fix"]).ok().to_owned();
    assert!(fixed.contains(&format!("deleted `{branch}`")), "{fixed}");
    assert!(!fixed.contains("my-feature"), "{fixed}");
    assert_eq!(p.tip(&branch), None);
    assert!(
        p.tip("orchestron/my-feature").is_some(),
        "a person's branch under orchestron/ is kept"
    );
}

/// Review finding 8: a running worker's fresh branch (its item IN_PROGRESS, the branch at
/// the integration branch's tip and checked out in its worktree) is not "merged but not
/// deleted"; nor is any branch a worktree has checked out, which `--fix` never deletes.
#[test]
fn health_passes_during_a_run_and_never_touches_a_checked_out_branch() {
    let p = Project::new();
    p.commit_on("orchestron/integration", "main", &[]);
    let running = p.started("running");
    let fresh = format!("orchestron/{running}");
    let worktree = p.env.path().join("worker");
    let worktree_text = worktree.display().to_string();
    p.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        &fresh,
        &worktree_text,
        "orchestron/integration",
    ]);
    // A DONE item whose merged branch someone has checked out.
    let done = created(&p, "done");
    let done_branch = format!("orchestron/{done}");
    p.commit_on(&done_branch, "orchestron/integration", &[("d.txt", "d\n")]);
    p.commit_on("orchestron/integration", &done_branch, &[]);
    p.run(&["task", "complete", &done, "--force"]).ok();
    let elsewhere = p.env.path().join("elsewhere");
    p.git(&[
        "worktree",
        "add",
        "-q",
        &elsewhere.display().to_string(),
        &done_branch,
    ]);

    let report = p.run(&["health", "--json"]).json();
    assert_eq!(report["problems"], 0, "{report}");
    assert_eq!(check(&report, "branches")["verdict"], "ok", "{report}");
    let fixed = p.run(&["health", "--fix", "--json"]).json();
    assert_eq!(fixed["problems"], 0, "{fixed}");
    assert_eq!(fixed["fixed"], serde_json::json!([]), "{fixed}");
    assert!(
        p.tip(&fresh).is_some(),
        "the running worker's branch is kept"
    );
    assert!(
        p.tip(&done_branch).is_some(),
        "a checked-out branch is kept"
    );
    assert!(worktree.exists() && elsewhere.exists());
}

/// Review finding 14: a worktree left on a detached HEAD is reported as left for a person,
/// with what to do, never as fixed; and the orphaned worktrees' summary is whole.
#[test]
fn health_fix_says_a_detached_worktree_is_left_not_fixed() {
    let p = Project::new();
    created(&p, "something");
    let detached = p.repo().join(".orchestron/worktrees/TASK-left");
    let detached_text = detached.display().to_string();
    p.git(&["worktree", "add", "-q", "--detach", &detached_text, "main"]);
    let run = p.run(&["health"]);
    run.fails(1);
    assert!(
        run.stdout
            .contains("on a detached HEAD: no worker owns it; left for a person"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("or not known to git, is left for a person"),
        "the summary is whole: {run}"
    );
    let run = p.run(&["health", "--fix"]);
    run.fails(1);
    assert!(!run.stdout.contains("fixed "), "nothing was fixed: {run}");
    let left = run
        .stdout
        .lines()
        .find(|line| line.starts_with("left "))
        .unwrap_or_else(|| panic!("no `left` line: {run}"));
    assert!(
        left.contains(&detached_text)
            && left.contains("detached HEAD")
            && left.contains("switch -c"),
        "{run}"
    );
    assert!(detached.exists(), "a detached worktree is kept");
    let report: Value =
        serde_json::from_str(&p.run(&["health", "--fix", "--json"]).stdout).unwrap();
    assert_eq!(report["fixed"], serde_json::json!([]), "{report}");
    assert_eq!(report["left"].as_array().map(Vec::len), Some(1), "{report}");
}
