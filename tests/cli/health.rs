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
    // `orchestron/lost` holds nothing `orchestron/integration` lacks: deleted too.
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
