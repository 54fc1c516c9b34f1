//! The security review of issue 12: what an untrusted checkout can make Orchestron do through
//! its state root. A crafted `.git` file cannot aim the state root at another folder
//! (finding 1); `doctor` runs no program a project names (finding 2); a state root, or a
//! folder of it, that is a symbolic link is refused on every write route, and `doctor` says
//! so (finding 3); `doctor` warns of an older per-worktree root only in a linked worktree,
//! in one readable sentence (finding 7).

use std::os::unix::fs::{PermissionsExt as _, symlink};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::hardening_links::snapshot;
use crate::worktrees::Repo;
use crate::{Run, TestEnv};

/// Run the hook `event` as Claude Code does for session `session` started in `dir`.
fn hook_in(env: &TestEnv, dir: &Path, event: &str, session: &str) -> Run {
    let fixture = format!(
        "{}/tests/fixtures/hook-payloads/{event}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut payload: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    payload["session_id"] = session.into();
    payload["cwd"] = dir.to_str().unwrap().into();
    env.hook_in(dir, event, &payload)
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The checks `doctor --json` made, whatever its exit code.
fn doctor_checks(run: &Run) -> Vec<Value> {
    let report: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|err| panic!("doctor's stdout is not JSON: {err}\n{run}"));
    report["checks"].as_array().unwrap().clone()
}

#[test]
fn finding_1_a_crafted_git_file_never_creates_a_state_root_elsewhere() {
    let mut env = TestEnv::new();
    env.unset("ORCHESTRON_HOME");
    let t = env.path().join("t");
    let victim = env.path().join("victimhome");
    std::fs::create_dir_all(&victim).unwrap();
    // The report, to the letter: git itself says "not a git repository" here.
    write(&t.join(".git"), "gitdir: evil/wt\n");
    write(&t.join("evil/wt/commondir"), "../../../victimhome\n");
    env.run_in(&t, &["task", "create", "y"], &[]).ok();
    hook_in(&env, &t, "SessionStart", "s-one").ok();
    assert!(!victim.join(".orchestron").exists(), "a root in the victim");
    assert!(t.join(".orchestron/orchestron.db").is_file());
    assert!(t.join(".orchestron/sessions/s-one.json").is_file());

    // A whole fake repository in the checkout, every link back in place, its
    // `core.worktree` aimed at the victim: still the checkout's own project.
    let fake = t.join("fake");
    write(&fake.join("HEAD"), "ref: refs/heads/main\n");
    std::fs::create_dir_all(fake.join("objects")).unwrap();
    std::fs::create_dir_all(fake.join("refs")).unwrap();
    write(
        &fake.join("config"),
        &format!("[core]\n\tworktree = {}\n", victim.display()),
    );
    write(&fake.join("worktrees/wt/commondir"), "../..\n");
    write(&fake.join("worktrees/wt/HEAD"), "ref: refs/heads/main\n");
    write(&fake.join("worktrees/wt/gitdir"), "../../../.git\n");
    write(&t.join(".git"), "gitdir: fake/worktrees/wt\n");
    env.run_in(&t, &["session", "create", "--id", "s-two"], &[])
        .ok();
    assert!(!victim.join(".orchestron").exists(), "a root in the victim");
    assert!(t.join(".orchestron/sessions/s-two.json").is_file());

    // doctor says why the checkout is its own project.
    let run = env.run_in(&t, &["doctor", "--json"], &[]);
    let root = doctor_checks(&run)
        .into_iter()
        .find(|check| check["check"] == "root")
        .unwrap();
    let detail = root["detail"].as_str().unwrap();
    assert_eq!(root["status"], "warn", "{run}");
    assert!(
        detail.contains("not a worktree of a repository")
            && detail.contains("this checkout is its own project")
            && detail.contains(&format!("state root {}/.orchestron", t.display())),
        "{detail}"
    );
    assert!(!victim.join(".orchestron").exists());
}

#[test]
fn finding_1_real_worktrees_still_share_the_main_root() {
    let repo = Repo::new();
    repo.run_in(&repo.wt(), &["task", "create", "Shared"], &[])
        .ok();
    assert!(repo.main().join(".orchestron/orchestron.db").is_file());
    assert!(!repo.wt().join(".orchestron").exists());
    // A worktree moved without `git worktree repair`: its back-link names the old place, so
    // it is its own project until repaired, and doctor says so.
    let moved = repo.env.path().join("moved");
    std::fs::rename(repo.wt(), &moved).unwrap();
    let run = repo.run_in(&moved, &["doctor", "--json"], &[]);
    let root = doctor_checks(&run)
        .into_iter()
        .find(|check| check["check"] == "root")
        .unwrap();
    assert!(
        root["detail"]
            .as_str()
            .unwrap()
            .contains("git worktree repair"),
        "{run}"
    );
    repo.git(
        &repo.main(),
        &["worktree", "repair", moved.to_str().unwrap()],
    );
    let listed = repo.run_in(&moved, &["task", "list", "--json"], &[]).json();
    assert_eq!(listed[0]["title"], "Shared", "{listed}");
}

#[test]
fn finding_2_doctor_never_runs_a_program_the_project_names() {
    let env = TestEnv::new();
    let tool = env.path().join("tools/orchestron");
    // What a stranger's clone commits: a "binary" that leaves a mark when it runs.
    write(
        &tool,
        "#!/bin/sh\ntouch \"$(dirname \"$0\")/ran\"\necho 'orchestron 9.9.9'\n",
    );
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.run(&["init", "--bin", "${CLAUDE_PROJECT_DIR}/tools/orchestron"])
        .ok();
    let claude = env.path().join(".claude");
    std::fs::rename(
        claude.join("settings.local.json"),
        claude.join("settings.json"),
    )
    .unwrap();
    let run = env.run(&["doctor"]);
    assert!(
        !env.path().join("tools/ran").exists(),
        "doctor ran the project's program\n{run}"
    );
    assert!(
        run.stdout.contains("warn  command")
            && run.stdout.contains("is not this binary")
            && run
                .stdout
                .contains("doctor does not run programs a project names")
            && run
                .stdout
                .contains(&format!("run `{} --version` yourself", tool.display())),
        "{run}"
    );
    // Not an executable file: refused without running either.
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = env.run(&["doctor"]);
    assert!(run.stdout.contains("not an executable file"), "{run}");
    assert!(!env.path().join("tools/ran").exists());

    // The same name, a link to this binary: this binary, recognised without running it.
    std::fs::remove_file(&tool).unwrap();
    symlink(env!("CARGO_BIN_EXE_orchestron"), &tool).unwrap();
    let run = env.run(&["doctor"]);
    assert!(
        run.stdout.contains("ok    command") && run.stdout.contains("this binary"),
        "{run}"
    );
    // A hard link is the same file too (where the file system allows one).
    std::fs::remove_file(&tool).unwrap();
    if std::fs::hard_link(env!("CARGO_BIN_EXE_orchestron"), &tool).is_ok() {
        let run = env.run(&["doctor"]);
        assert!(
            run.stdout.contains("ok    command") && run.stdout.contains("this binary"),
            "{run}"
        );
    }
}

/// One write route: runs it.
type Route<'a> = Box<dyn Fn() -> Run + 'a>;

/// A project whose state lives, through a link, in a folder outside it.
struct Linked {
    env: TestEnv,
    outside: tempfile::TempDir,
}

impl Linked {
    /// A project with a session `s1` and an item, its state root `.orchestron` a real
    /// folder (no `ORCHESTRON_HOME`).
    fn new() -> Linked {
        let mut env = TestEnv::new();
        env.unset("ORCHESTRON_HOME");
        let linked = Linked {
            env,
            outside: tempfile::tempdir().unwrap(),
        };
        linked.env.run(&["session", "create", "--id", "s1"]).ok();
        linked.env.run(&["task", "create", "First"]).ok();
        linked
    }

    fn root(&self) -> PathBuf {
        self.env.path().join(".orchestron")
    }

    /// Move `name` (the state root, or a folder of it) out of the project and leave a link
    /// to it in its place.
    fn link_out(&self, name: &str) -> PathBuf {
        let path = self.env.path().join(name);
        let target = self.outside.path().join(name.replace('/', "-"));
        std::fs::rename(&path, &target).unwrap();
        symlink(&target, &path).unwrap();
        path
    }

    /// Every write route refuses, naming `link`, and changes nothing, here or outside.
    #[track_caller]
    fn every_write_refuses(&self, link: &Path) {
        let dir = self.env.path();
        let routes: Vec<(&str, Route<'_>)> = vec![
            (
                "SessionStart (new)",
                Box::new(|| hook_in(&self.env, dir, "SessionStart", "s-new")),
            ),
            (
                "SessionStart (resume)",
                Box::new(|| hook_in(&self.env, dir, "SessionStart", "s1")),
            ),
            (
                "PostToolUse",
                Box::new(|| hook_in(&self.env, dir, "PostToolUse", "s1")),
            ),
            (
                "SessionEnd",
                Box::new(|| hook_in(&self.env, dir, "SessionEnd", "s1")),
            ),
            (
                "session create",
                Box::new(|| self.env.run(&["session", "create", "--id", "s2"])),
            ),
            (
                "task create",
                Box::new(|| self.env.run(&["task", "create", "Second"])),
            ),
            (
                "decide",
                Box::new(|| self.env.run(&["decide", "Use links", "--rationale", "no"])),
            ),
            (
                "inbox add",
                Box::new(|| self.env.run(&["inbox", "add", "--session", "s1", "hi"])),
            ),
            (
                "handoff write",
                Box::new(|| self.env.run(&["handoff", "write", "--note", "n"])),
            ),
            (
                "context save",
                Box::new(|| {
                    self.env
                        .run(&["context", "save", "snap", "--session", "s1"])
                }),
            ),
            ("init", Box::new(|| self.env.run(&["init"]))),
        ];
        for (route, run) in routes {
            let inside = snapshot(dir);
            let outside = snapshot(self.outside.path());
            let run = run();
            assert_eq!(run.code, 1, "{route} did not refuse\n{run}");
            assert!(
                run.stderr
                    .contains(&format!("`{}` is a symbolic link", link.display()))
                    && run.stderr.contains("ORCHESTRON_HOME"),
                "{route}: the error does not name the link and the fix\n{run}"
            );
            assert_eq!(snapshot(dir), inside, "{route} changed the project");
            assert_eq!(
                snapshot(self.outside.path()),
                outside,
                "{route} wrote through the link"
            );
        }
        // Reads read through the link, and create nothing.
        let inside = snapshot(dir);
        let listed = self.env.run(&["task", "list", "--json"]).json();
        assert_eq!(listed[0]["title"], "First", "{listed}");
        self.env.run(&["session", "list"]).ok();
        assert_eq!(snapshot(dir), inside);
        // doctor fails, naming the link and the fix.
        let run = self.env.run(&["doctor", "--json"]);
        assert_eq!(run.code, 1, "{run}");
        let state = doctor_checks(&run)
            .into_iter()
            .find(|check| check["check"] == "state" && check["status"] == "fail")
            .unwrap_or_else(|| panic!("no failed state check\n{run}"));
        let detail = state["detail"].as_str().unwrap();
        assert!(
            detail.contains(&format!("`{}` is a symbolic link", link.display()))
                && detail.contains("ORCHESTRON_HOME")
                && detail.contains("rm "),
            "{detail}"
        );
        assert_eq!(snapshot(dir), inside, "doctor wrote");
    }
}

#[test]
fn finding_3_a_state_root_that_is_a_link_is_refused_on_every_write_route() {
    let linked = Linked::new();
    let root = linked.root();
    let target = linked.link_out(".orchestron");
    linked.every_write_refuses(&root);
    // The hint names the target for `ORCHESTRON_HOME`; the user's own choice is followed.
    let run = linked.env.run(&["task", "create", "Second"]);
    assert!(
        run.stderr.contains(&format!(
            "ORCHESTRON_HOME={}",
            std::fs::canonicalize(&target).unwrap().display()
        )),
        "{run}"
    );
    let chosen = linked.env.run_in(
        linked.env.path(),
        &["task", "create", "Second"],
        &[("ORCHESTRON_HOME", root.to_str().unwrap())],
    );
    chosen.ok();
    assert!(target.join("orchestron.db").is_file());
}

#[test]
fn finding_3_a_state_folder_that_is_a_link_is_refused_on_every_write_route() {
    for folder in ["sessions", "handoffs", "snapshots"] {
        let linked = Linked::new();
        // Give every folder something, so that the link has a real target.
        linked
            .env
            .run(&["handoff", "write", "--session", "s1", "--note", "n"])
            .ok();
        linked
            .env
            .run(&["context", "save", "first", "--session", "s1"])
            .ok();
        let link = linked.link_out(&format!(".orchestron/{folder}"));
        linked.every_write_refuses(&link);
    }
}

#[test]
fn finding_7_doctor_warns_of_an_older_root_only_in_a_linked_worktree() {
    let repo = Repo::new();
    repo.run_in(&repo.main(), &["task", "create", "Main's"], &[])
        .ok();
    let elsewhere = repo.env.path().join("elsewhere");
    let no_runs_of_spaces = |checks: &[Value]| {
        for check in checks {
            let detail = check["detail"].as_str().unwrap();
            assert!(!detail.contains("  "), "a run of spaces: {detail:?}");
        }
    };
    // The main worktree's own root is the repository's, not an older per-worktree one.
    let run = repo.run_in(
        &repo.main(),
        &["doctor", "--json"],
        &[("ORCHESTRON_HOME", elsewhere.to_str().unwrap())],
    );
    let checks = doctor_checks(&run);
    assert!(
        !run.stdout.contains("older orchestron"),
        "the main worktree's root is not an old one\n{run}"
    );
    no_runs_of_spaces(&checks);
    // A linked worktree's own root is, with or without `ORCHESTRON_HOME`.
    std::fs::create_dir(repo.wt().join(".orchestron")).unwrap();
    for extra in [
        vec![],
        vec![("ORCHESTRON_HOME", elsewhere.to_str().unwrap())],
    ] {
        let run = repo.run_in(&repo.wt(), &["doctor", "--json"], &extra);
        let checks = doctor_checks(&run);
        no_runs_of_spaces(&checks);
        let own = repo.wt().join(".orchestron");
        let warning = checks
            .iter()
            .find(|check| {
                check["status"] == "warn"
                    && check["detail"]
                        .as_str()
                        .unwrap()
                        .contains("older orchestron made for this worktree alone")
            })
            .unwrap_or_else(|| panic!("no warning\n{run}"));
        assert!(
            warning["detail"].as_str().unwrap().contains(&format!(
                "`ORCHESTRON_HOME={} orchestron export > items.jsonl`",
                own.display()
            )),
            "{warning}"
        );
    }
}
