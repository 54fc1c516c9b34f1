//! Issue 12: one state root per git repository, shared by its worktrees; a state root that
//! ignores itself; hooks wired so that they run whatever PATH Claude Code has.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::{Run, TestEnv};

/// A git repository `repo` with one commit and a linked worktree `wt` on branch `feature`,
/// in a test environment whose state root is the repository's own (no `ORCHESTRON_HOME`).
pub(crate) struct Repo {
    pub(crate) env: TestEnv,
}

impl Repo {
    pub(crate) fn new() -> Repo {
        let mut env = TestEnv::new();
        env.unset("ORCHESTRON_HOME");
        let repo = Repo { env };
        std::fs::create_dir(repo.main()).unwrap();
        repo.git(&repo.main(), &["init", "-q", "-b", "main"]);
        repo.git(
            &repo.main(),
            &["commit", "-q", "--allow-empty", "-m", "first"],
        );
        repo.git(
            &repo.main(),
            &["worktree", "add", "-q", "-b", "feature", "../wt"],
        );
        repo
    }

    pub(crate) fn main(&self) -> PathBuf {
        self.env.path().join("repo")
    }

    pub(crate) fn wt(&self) -> PathBuf {
        self.env.path().join("wt")
    }

    pub(crate) fn git(&self, dir: &Path, args: &[&str]) -> String {
        crate::train::git_in(dir, self.env.path(), args)
    }

    /// Run orchestron in `dir`, with `extra` variables.
    pub(crate) fn run_in(&self, dir: &Path, args: &[&str], extra: &[(&str, &str)]) -> Run {
        self.env.run_in(dir, args, extra)
    }

    /// Run a hook as Claude Code does for a session started in `dir`.
    pub(crate) fn hook(&self, dir: &Path, event: &str, session: &str) -> Run {
        let payload = json!({"session_id": session, "hook_event_name": event,
            "source": "startup", "cwd": dir});
        self.env.hook_in(dir, event, &payload)
    }
}

pub(crate) const SESSION: &str = "5e1d0b9a-1c2d-4e3f-8a9b-0c1d2e3f4a5b";

#[test]
fn worktrees_share_one_tracker_inbox_and_project_name() {
    let repo = Repo::new();
    let created = repo
        .run_in(&repo.main(), &["task", "create", "Shared", "--json"], &[])
        .json();
    let id = created["id"].as_str().unwrap().to_owned();
    // The worktree reads the main worktree's tracker, and a change there shows in main.
    let listed = repo
        .run_in(&repo.wt(), &["task", "list", "--json"], &[])
        .json();
    assert_eq!(listed[0]["id"], id.as_str(), "{listed}");
    repo.run_in(
        &repo.wt(),
        &["task", "start", &id],
        &[("ORCHESTRON_SESSION", SESSION)],
    )
    .ok();
    let shown = repo
        .run_in(&repo.main(), &["task", "show", &id, "--json"], &[])
        .json();
    assert_eq!(shown["status"], "IN_PROGRESS", "{shown}");
    assert!(
        !repo.wt().join(".orchestron").exists(),
        "no second state root"
    );

    // A session Claude Code starts in the worktree lives in the shared root, named after the
    // repository, and records its own worktree and branch.
    repo.hook(&repo.wt(), "SessionStart", SESSION).ok();
    let document: Value = serde_json::from_slice(
        &std::fs::read(
            repo.main()
                .join(".orchestron/sessions")
                .join(format!("{SESSION}.json")),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(document["session"]["project"], "repo");
    assert_eq!(document["session"]["worktree"], repo.wt().to_str().unwrap());
    assert_eq!(document["session"]["branch"], "feature");
    let info = repo
        .run_in(&repo.main(), &["session", "info", SESSION], &[])
        .ok()
        .to_owned();
    assert!(info.contains("branch:        feature"), "{info}");
    let list = repo
        .run_in(&repo.main(), &["session", "list"], &[])
        .ok()
        .to_owned();
    assert!(
        list.contains("BRANCH") && list.contains("feature"),
        "{list}"
    );
    // The views show which checkout a session works in.
    let monitor = repo
        .run_in(&repo.main(), &["monitor", "--json"], &[])
        .ok()
        .to_owned();
    let monitor: Value = serde_json::from_str(&monitor).unwrap();
    let shown = monitor["sessions"]
        .as_array()
        .and_then(|sessions| sessions.iter().find(|s| s["id"] == SESSION))
        .cloned()
        .unwrap_or_default();
    assert_eq!(shown["branch"], "feature", "{monitor:#}");
    assert_eq!(
        shown["worktree"],
        repo.wt().to_str().unwrap(),
        "{monitor:#}"
    );
    let text = repo.run_in(&repo.main(), &["monitor"], &[]).ok().to_owned();
    assert!(text.contains("branch feature"), "{text}");
    // One inbox: a message sent from the main checkout reaches it.
    repo.run_in(
        &repo.main(),
        &["inbox", "add", "--session", SESSION, "hello"],
        &[],
    )
    .ok();
    let start = repo
        .hook(&repo.wt(), "SessionStart", SESSION)
        .ok()
        .to_owned();
    assert!(start.contains("hello"), "{start}");

    // `$ORCHESTRON_HOME` still overrides.
    let elsewhere = repo.env.path().join("elsewhere");
    let listed = repo
        .run_in(
            &repo.wt(),
            &["task", "list", "--json"],
            &[("ORCHESTRON_HOME", elsewhere.to_str().unwrap())],
        )
        .json();
    assert_eq!(listed, json!([]));

    // doctor says where the root is and why.
    let doctor = repo.run_in(&repo.wt(), &["doctor", "--json"], &[]).stdout;
    let doctor: Value = serde_json::from_str(&doctor).unwrap();
    let root = doctor["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|check| check["check"] == "root")
        .unwrap()["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    let expected = format!(
        "state root {}/.orchestron (the main worktree of the git repository at {}/.git, from the worktree {})",
        repo.main().display(),
        repo.main().display(),
        repo.wt().display()
    );
    assert_eq!(root, expected);
}

#[test]
fn the_state_root_ignores_itself_and_reads_create_nothing() {
    let repo = Repo::new();
    // Reads create nothing, not even the state root.
    repo.run_in(&repo.wt(), &["task", "list"], &[]).ok();
    repo.run_in(&repo.wt(), &["board"], &[]).ok();
    assert!(!repo.main().join(".orchestron").exists());
    // A tracker write creates it, with a `.gitignore` of `*`.
    repo.run_in(&repo.wt(), &["task", "create", "First"], &[])
        .ok();
    let ignore = std::fs::read_to_string(repo.main().join(".orchestron/.gitignore")).unwrap();
    assert!(ignore.lines().any(|line| line == "*"), "{ignore}");
    // A session write, and a hook, also create nothing git sees.
    repo.hook(&repo.main(), "SessionStart", SESSION).ok();
    repo.run_in(
        &repo.main(),
        &["decide", "Use SQLite", "--rationale", "fast"],
        &[],
    )
    .ok();
    assert_eq!(repo.git(&repo.main(), &["status", "--porcelain"]), "");
    assert_eq!(repo.git(&repo.wt(), &["status", "--porcelain"]), "");

    // The same on the session route alone, in a fresh root.
    std::fs::remove_dir_all(repo.main().join(".orchestron")).unwrap();
    repo.run_in(&repo.main(), &["session", "create", "--id", "s1"], &[])
        .ok();
    assert!(repo.main().join(".orchestron/.gitignore").is_file());
    assert_eq!(repo.git(&repo.main(), &["status", "--porcelain"]), "");

    // A link at the root's name is refused: nothing is written through it (see
    // `hardening_repo`).
    std::fs::remove_dir_all(repo.main().join(".orchestron")).unwrap();
    let outside = repo.env.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, repo.main().join(".orchestron")).unwrap();
    let run = repo.run_in(&repo.main(), &["session", "create", "--id", "s2"], &[]);
    assert!(run.fails(1).contains("is a symbolic link"), "{run}");
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
}

#[test]
fn init_in_a_worktree_wires_it_and_shares_the_root() {
    let repo = Repo::new();
    let report = repo.run_in(&repo.wt(), &["init"], &[]).ok().to_owned();
    assert!(report.contains("shared with every worktree"), "{report}");
    let local: Value = serde_json::from_str(
        &std::fs::read_to_string(repo.wt().join(".claude/settings.local.json")).unwrap(),
    )
    .unwrap();
    let command = local["hooks"]["SessionStart"][0]["hooks"][0]["command"]
        .as_str()
        .unwrap();
    assert!(Path::new(command).is_absolute(), "{command}");
    assert!(!repo.wt().join(".claude/settings.json").exists());
    assert!(repo.main().join(".orchestron/.gitignore").is_file());
    assert!(!repo.wt().join(".orchestron").exists());
    // git sees the worktree's new files, but never the machine's settings.
    let status = repo.git(&repo.wt(), &["status", "--porcelain", "-uall"]);
    assert!(status.contains(".gitignore"), "{status}");
    assert!(status.contains(".claude/commands/"), "{status}");
    assert!(!status.contains("settings.local.json"), "{status}");
    assert!(!status.contains(".orchestron"), "{status}");

    // Uninstall there takes out the worktree's wiring and keeps the shared state.
    repo.run_in(&repo.main(), &["task", "create", "Keep"], &[])
        .ok();
    let report = repo.run_in(&repo.wt(), &["uninstall"], &[]).ok().to_owned();
    assert!(
        report.contains("the tracker") && report.contains("decisions, memory"),
        "{report}"
    );
    assert!(!repo.wt().join(".claude").exists(), "{report}");
    assert_eq!(repo.git(&repo.wt(), &["status", "--porcelain"]), "");
    assert!(repo.main().join(".orchestron/orchestron.db").is_file());
}

#[test]
fn a_project_an_older_init_wired_moves_to_local_settings_and_gets_its_bytes_back() {
    let env = TestEnv::new();
    let claude = env.path().join(".claude");
    std::fs::create_dir_all(&claude).unwrap();
    // What the older init left: its hooks by bare name in the committed settings (with a
    // backup of the file as it was), and `.orchestron/` in `.gitignore`.
    let original = "{\n  \"model\": \"opus\"\n}\n";
    std::fs::write(claude.join("settings.local.json"), original).unwrap();
    env.run(&["init", "--bin", "orchestron"]).ok();
    std::fs::rename(
        claude.join("settings.local.json"),
        claude.join("settings.json"),
    )
    .unwrap();
    std::fs::rename(
        claude.join("settings.local.json.orchestron-backup"),
        claude.join("settings.json.orchestron-backup"),
    )
    .unwrap();
    let gitignore =
        "target/\n# Orchestron's state: sessions and handoffs of this machine\n.orchestron/\n";
    std::fs::write(env.path().join(".gitignore"), gitignore).unwrap();
    let doctor = env.run(&["doctor"]).stdout;
    assert!(doctor.contains("which teams commit"), "{doctor}");

    let report = env.run(&["init"]).ok().to_owned();
    assert!(report.contains("an older init wired there"), "{report}");
    assert_eq!(
        std::fs::read_to_string(claude.join("settings.json")).unwrap(),
        original,
        "the committed settings are as before the older init"
    );
    assert!(!claude.join("settings.json.orchestron-backup").exists());
    let local = std::fs::read_to_string(claude.join("settings.local.json")).unwrap();
    assert!(local.contains(env!("CARGO_BIN_EXE_orchestron")), "{local}");

    env.run(&["uninstall"]).ok();
    assert_eq!(
        std::fs::read_to_string(claude.join("settings.json")).unwrap(),
        original
    );
    assert!(!claude.join("settings.local.json").exists());
    assert_eq!(
        std::fs::read_to_string(env.path().join(".gitignore")).unwrap(),
        "target/\n"
    );

    // Uninstall straight after the older init gives the bytes back too.
    let env = TestEnv::new();
    let claude = env.path().join(".claude");
    std::fs::create_dir_all(&claude).unwrap();
    std::fs::write(claude.join("settings.local.json"), original).unwrap();
    env.run(&["init", "--bin", "orchestron"]).ok();
    for name in [
        "settings.local.json",
        "settings.local.json.orchestron-backup",
    ] {
        std::fs::rename(claude.join(name), claude.join(name.replace(".local", ""))).unwrap();
    }
    std::fs::write(env.path().join(".gitignore"), gitignore).unwrap();
    env.run(&["uninstall"]).ok();
    assert_eq!(
        std::fs::read_to_string(claude.join("settings.json")).unwrap(),
        original
    );
    assert_eq!(
        std::fs::read_to_string(env.path().join(".gitignore")).unwrap(),
        "target/\n"
    );
}

#[test]
fn doctor_resolves_the_hook_command_as_claude_code_will() {
    let mut env = TestEnv::new();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_orchestron"))
        .parent()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    // init wires the absolute path, even with orchestron on the installing PATH.
    env.set("PATH", &format!("{bin_dir}:/usr/bin:/bin"));
    env.run(&["init"]).ok();
    let local = std::fs::read_to_string(env.path().join(".claude/settings.local.json")).unwrap();
    assert!(
        local.contains(&format!(
            "\"command\": \"{}\"",
            env!("CARGO_BIN_EXE_orchestron")
        )),
        "{local}"
    );
    // Another PATH changes nothing.
    env.set("PATH", "/usr/bin:/bin");
    let report = env.run(&["doctor"]).stdout;
    assert!(
        report.contains("ok    command     .claude/settings.local.json runs")
            && report.contains("whatever PATH Claude Code has"),
        "{report}"
    );

    // A bare name: Claude Code's PATH decides, which doctor cannot see.
    env.run(&["init", "--bin", "orchestron"]).ok();
    let run = env.run(&["doctor"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stdout.contains("FAIL  command") && run.stdout.contains("by name"),
        "{run}"
    );
    env.set("PATH", &format!("{bin_dir}:/usr/bin:/bin"));
    let run = env.run(&["doctor"]);
    assert!(
        run.stdout.contains("warn  command") && run.stdout.contains("cannot see"),
        "{run}"
    );
    // A path that is not an orchestron.
    env.run(&["init", "--bin", "/nowhere/orchestron"]).ok();
    let run = env.run(&["doctor"]);
    assert!(run.stdout.contains("does not exist"), "{run}");
    let fake = env.path().join("orchestron-fake");
    std::fs::write(&fake, "#!/bin/sh\necho something else\n").unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    env.run(&["init", "--bin", fake.to_str().unwrap()]).ok();
    let run = env.run(&["doctor"]);
    assert!(
        run.stdout.contains("warn  command") && run.stdout.contains("is not this binary"),
        "{run}"
    );
}
