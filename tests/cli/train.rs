//! Issue 13, the merge train's face: `orchestron review ID | review approve ID | review
//! reject ID --feedback TEXT`, with real git in a temporary repository (no Claude Code).
//! The train itself (`workers::train::integrate`) is tested in the core with worktrees.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::{Run, TestEnv, Timed as _};

/// A git repository with one commit on `main`, its state root its own `.orchestron/`, and
/// a tracker that requires review (so `task complete` leaves an item IN_REVIEW, as a
/// worker's run with `--review human` does).
pub(crate) struct Project {
    pub(crate) env: TestEnv,
}

impl Project {
    pub(crate) fn new() -> Project {
        let mut env = TestEnv::new();
        env.unset("ORCHESTRON_HOME");
        env.set("PATH", "/usr/bin:/bin");
        let project = Project { env };
        std::fs::create_dir(project.repo()).unwrap();
        project.git(&["init", "-q", "-b", "main"]);
        std::fs::write(project.repo().join("shared.txt"), "one\ntwo\nthree\n").unwrap();
        project.git(&["add", "-A"]);
        project.git(&["commit", "-q", "-m", "first"]);
        project
    }

    pub(crate) fn repo(&self) -> PathBuf {
        self.env.path().join("repo")
    }

    pub(crate) fn config(&self, config: &str) {
        let root = self.repo().join(".orchestron");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("config.json"), config).unwrap();
    }

    pub(crate) fn git(&self, args: &[&str]) -> String {
        git_in(&self.repo(), self.env.path(), args)
    }

    pub(crate) fn run(&self, args: &[&str]) -> Run {
        self.env.run_in(&self.repo(), args, &[])
    }

    /// A new task, started: its id.
    pub(crate) fn started(&self, title: &str) -> String {
        let item = self.run(&["task", "create", title, "--json"]).json();
        let id = item["id"].as_str().unwrap().to_owned();
        self.run(&["task", "start", &id]).ok();
        id
    }

    /// Commit `files` on branch `branch` (made from `from` when missing) without leaving
    /// `main` checked out anywhere else: through a temporary worktree.
    pub(crate) fn commit_on(&self, branch: &str, from: &str, files: &[(&str, &str)]) {
        let side = self.env.path().join("side");
        let exists = !self.git(&["branch", "--list", branch]).trim().is_empty();
        let side_text = side.display().to_string();
        if exists {
            self.git(&["worktree", "add", "-q", &side_text, branch]);
        } else {
            self.git(&["worktree", "add", "-q", "-b", branch, &side_text, from]);
        }
        for (name, text) in files {
            std::fs::write(side.join(name), text).unwrap();
        }
        git_in(&side, self.env.path(), &["add", "-A"]);
        git_in(
            &side,
            self.env.path(),
            &["commit", "-q", "--allow-empty", "-m", "work"],
        );
        self.git(&["worktree", "remove", &side_text]);
    }

    /// A file at a revision, `None` when it is not there.
    pub(crate) fn show(&self, revision: &str, file: &str) -> Option<String> {
        let output = Command::new("git")
            .args(["show", &format!("{revision}:{file}")])
            .current_dir(self.repo())
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .timed_output()
            .unwrap();
        output
            .status
            .success()
            .then(|| String::from_utf8(output.stdout).unwrap())
    }

    pub(crate) fn tip(&self, branch: &str) -> Option<String> {
        let output = Command::new("git")
            .args([
                "rev-parse",
                "-q",
                "--verify",
                &format!("refs/heads/{branch}"),
            ])
            .current_dir(self.repo())
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .timed_output()
            .unwrap();
        output
            .status
            .success()
            .then(|| String::from_utf8(output.stdout).unwrap().trim().to_owned())
    }

    pub(crate) fn status(&self, id: &str) -> String {
        self.run(&["task", "show", id, "--json"]).json()["status"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub(crate) fn history(&self, id: &str) -> Vec<Value> {
        self.run(&["task", "history", id, "--json"])
            .json()
            .as_array()
            .unwrap()
            .clone()
    }

    /// An item IN_REVIEW with its work on `orchestron/<ID>` and the worker's note.
    pub(crate) fn in_review(&self, title: &str, files: &[(&str, &str)]) -> String {
        let id = self.started(title);
        self.commit_on(&format!("orchestron/{id}"), "main", files);
        self.run(&["task", "complete", &id, "--note", "did the work"])
            .ok();
        assert_eq!(self.status(&id), "IN_REVIEW");
        id
    }
}

/// `git ARGS` in `dir`, with a clean environment, `home` and a fixed identity; it must succeed.
pub(crate) fn git_in(dir: &Path, home: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .timed_output()
        .unwrap();
    assert!(output.status.success(), "git {args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

const REQUIRE_REVIEW: &str = r#"{"tracker": {"require_review": true}}"#;

#[test]
fn review_shows_the_diff_the_note_and_the_commands() {
    let p = Project::new();
    p.config(REQUIRE_REVIEW);
    let id = p.in_review("add a greeting", &[("hello.txt", "hello\n")]);
    let text = p.run(&["review", &id]).ok().to_owned();
    assert!(
        text.contains(&format!("branch: orchestron/{id} → orchestron/integration")),
        "{text}"
    );
    assert!(text.contains("note: did the work"), "{text}");
    assert!(text.contains("tests: not run"), "{text}");
    assert!(
        text.contains(&format!("orchestron review approve {id}")),
        "{text}"
    );
    assert!(
        text.contains("+++ b/hello.txt") && text.contains("+hello"),
        "{text}"
    );
    let json = p.run(&["review", &id, "--json"]).json();
    assert_eq!(json["branch"], format!("orchestron/{id}"));
    assert_eq!(json["note"], "did the work");
    assert_eq!(json["item"]["id"], id.as_str());
    // Reads only: no integration branch was made.
    assert_eq!(p.tip("orchestron/integration"), None);
}

#[test]
fn review_approve_merges_without_touching_the_users_checkout() {
    let p = Project::new();
    p.config(REQUIRE_REVIEW);
    let id = p.in_review("add a greeting", &[("hello.txt", "hello\n")]);
    // The user works on `main` with an uncommitted change.
    std::fs::write(p.repo().join("shared.txt"), "mine\n").unwrap();
    let head = p.tip("main");
    let out = p.run(&["review", "approve", &id]).ok().to_owned();
    assert!(out.contains("merged") && out.contains("DONE"), "{out}");
    assert_eq!(p.status(&id), "DONE");
    assert_eq!(
        p.show("orchestron/integration", "hello.txt").as_deref(),
        Some("hello\n")
    );
    assert_eq!(
        p.tip(&format!("orchestron/{id}")),
        None,
        "merged branch deleted"
    );
    assert_eq!(p.tip("main"), head);
    assert_eq!(p.git(&["symbolic-ref", "--short", "HEAD"]).trim(), "main");
    assert_eq!(
        std::fs::read_to_string(p.repo().join("shared.txt")).unwrap(),
        "mine\n"
    );
    let merged = p
        .history(&id)
        .into_iter()
        .find(|event| event["what"] == "merged")
        .expect("a merged event");
    let detail = &merged["detail"];
    assert_eq!(detail["branch"], format!("orchestron/{id}"));
    assert_eq!(detail["into"], "orchestron/integration");
    assert_eq!(
        detail["commit"].as_str(),
        p.tip("orchestron/integration").as_deref()
    );
}

#[test]
fn review_reject_sends_the_item_back_with_its_feedback_and_keeps_the_branch() {
    let p = Project::new();
    p.config(REQUIRE_REVIEW);
    let id = p.in_review("add a greeting", &[("hello.txt", "hello\n")]);
    let tip = p.tip(&format!("orchestron/{id}"));
    let out = p
        .run(&["review", "reject", &id, "--feedback", "say hi instead"])
        .ok()
        .to_owned();
    assert!(out.contains("back in TODO"), "{out}");
    assert_eq!(p.status(&id), "TODO");
    assert_eq!(p.tip(&format!("orchestron/{id}")), tip, "branch kept");
    let feedback = p.run(&["task", "show", &id, "--json"]).json();
    assert_eq!(feedback["assignee"], Value::Null);
    let history = p.history(&id);
    assert!(
        history
            .iter()
            .any(|event| event["what"] == "review_rejected"
                && event["detail"]["feedback"] == "say hi instead"),
        "{history:?}"
    );
    assert!(
        history
            .iter()
            .any(|event| event["what"] == "feedback" && event["detail"] == "say hi instead"),
        "{history:?}"
    );
    // An empty feedback is refused, changing nothing.
    let id2 = p.in_review("another", &[("b.txt", "b\n")]);
    let err = p.run(&["review", "reject", &id2, "--feedback", " "]);
    err.fails(1);
    assert_eq!(p.status(&id2), "IN_REVIEW");
}

#[test]
fn review_approve_of_a_branch_that_now_conflicts_merges_nothing_and_sends_it_back() {
    let p = Project::new();
    p.config(REQUIRE_REVIEW);
    let id = p.in_review("edit line two", &[("shared.txt", "one\nTWO\nthree\n")]);
    // Meanwhile the integration branch changed the same line.
    p.commit_on(
        "orchestron/integration",
        "main",
        &[("shared.txt", "one\n2\nthree\n")],
    );
    let before = p.tip("orchestron/integration");
    let err = p.run(&["review", "approve", &id]).fails(1).to_owned();
    assert!(
        err.contains("not merged") && err.contains("shared.txt"),
        "{err}"
    );
    assert_eq!(p.tip("orchestron/integration"), before, "nothing merged");
    assert_eq!(p.status(&id), "TODO");
    assert!(p.tip(&format!("orchestron/{id}")).is_some(), "branch kept");
}

#[test]
fn review_refuses_what_is_not_in_review_and_a_folder_outside_git() {
    let p = Project::new();
    let id = p.started("not finished");
    let err = p.run(&["review", &id]).fails(1).to_owned();
    assert!(err.contains("not IN_REVIEW"), "{err}");
    let err = p.run(&["review", "approve", &id]).fails(1).to_owned();
    assert!(err.contains("not IN_REVIEW"), "{err}");
    let err = p
        .run(&["review", "reject", &id, "--feedback", "x"])
        .fails(1)
        .to_owned();
    assert!(err.contains("not IN_REVIEW"), "{err}");
    assert_eq!(p.status(&id), "IN_PROGRESS");
    p.run(&["review"]).fails(2);

    let env = TestEnv::new();
    let err = env.run(&["review", "TASK-1"]).fails(1).to_owned();
    assert!(err.contains("not in a git work tree"), "{err}");
}

#[test]
fn review_approve_never_moves_a_checked_out_integration_branch() {
    let p = Project::new();
    p.config(r#"{"tracker": {"require_review": true}, "workers": {"into": "main"}}"#);
    let id = p.in_review("add a greeting", &[("hello.txt", "hello\n")]);
    let head = p.tip("main");
    let err = p.run(&["review", "approve", &id]).fails(1).to_owned();
    assert!(err.contains("checked out"), "{err}");
    assert_eq!(p.tip("main"), head);
    assert_eq!(p.status(&id), "IN_REVIEW", "nothing changed");
}

#[test]
fn review_approve_runs_the_configured_tests_first() {
    let p = Project::new();
    p.config(
        r#"{"tracker": {"require_review": true},
            "workers": {"test_command": "grep -q hello hello.txt && echo tests ok"}}"#,
    );
    let good = p.in_review("good", &[("hello.txt", "hello\n")]);
    p.run(&["review", "approve", &good]).ok();
    assert_eq!(p.status(&good), "DONE");

    let bad = p.in_review("bad", &[("other.txt", "x\n")]);
    let err = p.run(&["review", "approve", &bad]).fails(1).to_owned();
    assert!(err.contains("tests failed"), "{err}");
    assert_eq!(p.status(&bad), "TODO");
    assert!(
        !p.repo().join(".orchestron/worktrees").join(&bad).exists(),
        "the test worktree is removed"
    );
}

/// `review approve` makes the item's worktree again to run the tests: never through a link
/// planted in place of the worktrees' folder or of the item's worktree.
#[test]
fn review_approve_never_makes_a_worktree_through_a_link() {
    let p = Project::new();
    p.config(
        r#"{"tracker": {"require_review": true},
            "workers": {"test_command": "true"}}"#,
    );
    let id = p.in_review("linked", &[("hello.txt", "hello\n")]);
    let outside = p.env.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let worktrees = p.repo().join(".orchestron/worktrees");
    let _ = std::fs::remove_dir_all(&worktrees);
    std::os::unix::fs::symlink(&outside, &worktrees).unwrap();
    let err = p.run(&["review", "approve", &id]).fails(1).to_owned();
    assert!(err.contains("symbolic link"), "{err}");
    std::fs::remove_file(&worktrees).unwrap();
    std::fs::create_dir(&worktrees).unwrap();
    std::os::unix::fs::symlink(&outside, worktrees.join(&id)).unwrap();
    let err = p.run(&["review", "approve", &id]).fails(1).to_owned();
    assert!(err.contains("symbolic link"), "{err}");
    assert_eq!(p.status(&id), "IN_REVIEW", "nothing changed");
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    assert_eq!(p.tip("orchestron/integration"), None);
}

/// Review finding 13: `review approve` waits behind a running merge train (which holds
/// `<state>/workers/train.lock` while it moves the integration branch) instead of racing it
/// and failing because the branch kept moving; it then merges onto what the train merged.
#[test]
fn review_approve_waits_behind_a_running_train() {
    use crate::TimedChild as _;
    let p = Project::new();
    p.config(REQUIRE_REVIEW);
    let id = p.in_review("add a greeting", &[("hello.txt", "hello\n")]);
    p.commit_on("orchestron/integration", "main", &[]);
    // A train at work holds the lock.
    let lock_path = p.repo().join(".orchestron/workers/train.lock");
    std::fs::create_dir_all(lock_path.parent().unwrap()).unwrap();
    let lock = std::fs::File::create(&lock_path).unwrap();
    lock.lock().unwrap();
    let mut command = p.env.command(&["review", "approve", &id]);
    command
        .current_dir(p.repo())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut approving = command.spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(
        approving.try_wait().unwrap().is_none(),
        "the approval waits while the train holds its lock"
    );
    // The train merges something meanwhile: the integration branch moves.
    p.commit_on(
        "orchestron/integration",
        "orchestron/integration",
        &[("train.txt", "merged by the train\n")],
    );
    drop(lock);
    let output = approving.timed_wait_with_output().unwrap();
    let run = crate::run_of(output);
    assert!(run.stdout.contains("merged"), "{run}");
    assert_eq!(p.status(&id), "DONE");
    assert_eq!(
        p.show("orchestron/integration", "hello.txt").as_deref(),
        Some("hello\n")
    );
    assert_eq!(
        p.show("orchestron/integration", "train.txt").as_deref(),
        Some("merged by the train\n"),
        "the train's merge is kept"
    );
}
