//! Issue 12 with the real Claude Code CLI: worktrees share one tracker, hooks run whatever
//! PATH Claude Code has, and the state root ignores itself.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use super::harness::{Fixture, claude_bin, orchestron_bin, repo_root};
use super::{args, assert_hooks_ran, one_bash_call};

/// `git ARGS` in `dir`, asserting success; its stdout.
pub(crate) fn git(fixture: &Fixture, dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", &fixture.home)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap();
    assert!(output.status.success(), "git {args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// `orchestron ARGS` run in `dir` as a person would there (the PATH of the fixture).
pub(crate) fn orchestron_in(fixture: &Fixture, dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(orchestron_bin())
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", &fixture.home)
        .output()
        .unwrap()
}

fn json_in(fixture: &Fixture, dir: &Path, args: &[&str]) -> Value {
    let output = orchestron_in(fixture, dir, args);
    assert!(
        output.status.success(),
        "orchestron {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Mark `dir` trusted in the fixture's `~/.claude.json`, as for the fixture's project.
pub(crate) fn trust(fixture: &Fixture, dir: &Path) {
    let path = fixture.home.join(".claude.json");
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config["projects"][dir.to_str().unwrap()] = json!({"hasTrustDialogAccepted": true});
    std::fs::write(&path, config.to_string()).unwrap();
}

/// A session started with `claude -p` in a second worktree sees the tracker and the handoff
/// of the main checkout, and its claim shows there.
#[test]
#[cfg_attr(
    not(claude_cli),
    ignore = "needs the Claude Code CLI: .ci/run installs it, or set CLAUDE_BIN"
)]
fn worktrees_share_one_tracker() {
    let Some(claude) = claude_bin() else { return };
    let mut fixture = Fixture::new(claude);
    let main = fixture.project.clone();
    git(&fixture, &main, &["init", "-q", "-b", "main"]);
    git(
        &fixture,
        &main,
        &["commit", "-q", "--allow-empty", "-m", "first"],
    );
    let wt: PathBuf = fixture.root.join("wt");
    git(
        &fixture,
        &main,
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
    trust(&fixture, &wt);
    for dir in [&main, &wt] {
        let output = orchestron_in(&fixture, dir, &["init"]);
        assert!(output.status.success(), "{output:?}");
    }
    // A session in the main checkout leaves a handoff; an item waits in the tracker.
    // (A file written counts as work to hand on; a Bash `touch` alone would not.)
    let first = fixture.run(
        "main",
        json!({"steps": [
            {"tool_use": {"name": "Write", "input": {
                "file_path": "{{CWD}}/notes.md", "content": "shared\n"}}},
            {"text": "Written."}
        ]}),
        &args("write the notes", &[]),
    );
    first.assert_ok();
    let main_session = first.session_id();
    let item = json_in(
        &fixture,
        &main,
        &["task", "create", "Shared item", "--json"],
    );
    let id = item["id"].as_str().unwrap().to_owned();

    fixture.project = wt.clone();
    let scenario = json!({"steps": [
        {"tool_use": {"name": "Bash", "input": {
            "command": "orchestron task next --claim --json",
            "description": "Take the next item"}}},
        {"text": "Claimed."}
    ]});
    let run = fixture.run("worktree", scenario, &args("take the next item", &[]));
    run.assert_ok();
    let session = run.session_id();
    // Its first request already carries the main checkout's handoff (it names that session).
    let first_request = run.turns()[0].to_string();
    assert!(
        first_request.contains(&main_session[..8]),
        "the handoff from the main checkout: {}",
        run.context()
    );
    // The item created in main came back from `task next`.
    assert!(run.sent().contains(&id), "{}", run.context());
    // The claim shows from the main checkout, and the session is the repository's.
    let shown = json_in(&fixture, &main, &["task", "show", &id, "--json"]);
    assert_eq!(shown["assignee"], session.as_str(), "{shown:#}");
    let info = json_in(&fixture, &main, &["session", "info", &session, "--json"]);
    assert_eq!(
        info["session"]["worktree"],
        wt.to_str().unwrap(),
        "{info:#}"
    );
    assert_eq!(info["session"]["branch"], "feature", "{info:#}");
    assert_eq!(info["session"]["project"], "project", "{info:#}");
    assert!(!wt.join(".orchestron").exists(), "one state root");
}

/// `init` with orchestron on the installing shell's PATH, then Claude Code started with a
/// PATH without it: the hooks still run, and `doctor` says why.
#[test]
#[cfg_attr(
    not(claude_cli),
    ignore = "needs the Claude Code CLI: .ci/run installs it, or set CLAUDE_BIN"
)]
fn hooks_still_run_with_a_different_path() {
    let Some(claude) = claude_bin() else { return };
    let mut fixture = Fixture::new(claude);
    assert!(fixture.orchestron_on_path);
    let output = fixture.orchestron(&["init"]);
    assert!(output.status.success(), "{output:?}");
    fixture.orchestron_on_path = false;
    let run = one_bash_call(&fixture, "other-path", &[]);
    assert_hooks_ran(&fixture, &run);
    let doctor = orchestron_in(&fixture, &fixture.project, &["doctor"]);
    let report = String::from_utf8_lossy(&doctor.stdout);
    assert!(
        report.contains(&format!(
            "ok    command     .claude/settings.local.json runs `{}`",
            orchestron_bin().display()
        )) && report.contains("whatever PATH Claude Code has"),
        "{report}"
    );
    assert!(
        !std::fs::read_to_string(fixture.project.join(".claude/settings.local.json"))
            .unwrap()
            .contains("\"command\": \"orchestron\""),
    );
}

/// On the plugin route, in a fresh git repository, nothing under `.orchestron/` shows in
/// `git status` after a session.
#[test]
#[cfg_attr(
    not(claude_cli),
    ignore = "needs the Claude Code CLI: .ci/run installs it, or set CLAUDE_BIN"
)]
fn the_state_roots_gitignore() {
    let Some(claude) = claude_bin() else { return };
    let fixture = Fixture::new(claude);
    git(&fixture, &fixture.project, &["init", "-q", "-b", "main"]);
    let root = repo_root().to_str().unwrap();
    let run = one_bash_call(&fixture, "plugin", &["--plugin-dir", root]);
    assert_hooks_ran(&fixture, &run);
    assert!(
        fixture.project.join(".orchestron/sessions").is_dir(),
        "{}",
        run.context()
    );
    let status = git(
        &fixture,
        &fixture.project,
        &["status", "--porcelain", "-uall"],
    );
    assert!(status.contains("made.txt"), "{status}");
    assert!(!status.contains(".orchestron"), "{status}");
}
