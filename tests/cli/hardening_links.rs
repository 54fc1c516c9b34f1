//! Issue 11, the file system: `init`, `uninstall` and `mode` in a repository laid out by an
//! attacker (symbolic links at temp files, backups, shipped files and folders), links in the
//! state root, the modes of what Orchestron creates (under `umask 000` too), the append to
//! `CLAUDE_ENV_FILE`, and `init` then `uninstall` giving back every byte.
//!
//! Every hostile layout points its links at a fake home beside the project (standing in for
//! `~/.claude/settings.json`, `~/.bashrc`, `~/.ssh/authorized_keys`), and the tests compare
//! every byte outside the project before and after: nothing there may change.

use std::collections::BTreeMap;
use std::os::unix::fs::{PermissionsExt as _, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Run, TestEnv, Timed as _};

/// One entry of a folder, as it is on disk: links are not followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Entry {
    File { bytes: Vec<u8>, mode: u32 },
    Folder { mode: u32 },
    Link(PathBuf),
}

/// Everything under `dir`, links as links, with bytes and modes.
pub(crate) fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Entry> {
    fn walk(dir: &Path, entries: &mut BTreeMap<PathBuf, Entry>) {
        let Ok(listing) = std::fs::read_dir(dir) else {
            return;
        };
        for item in listing.flatten() {
            let path = item.path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let mode = meta.permissions().mode() & 0o7777;
            if meta.file_type().is_symlink() {
                entries.insert(
                    path.clone(),
                    Entry::Link(std::fs::read_link(&path).unwrap()),
                );
            } else if meta.is_dir() {
                entries.insert(path.clone(), Entry::Folder { mode });
                walk(&path, entries);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                entries.insert(path.clone(), Entry::File { bytes, mode });
            }
        }
    }
    let mut entries = BTreeMap::new();
    walk(dir, &mut entries);
    entries
}

/// A project (the test's environment) and, outside it, a fake home holding the files an
/// attacker aims at.
struct Hostile {
    env: TestEnv,
    _outside: tempfile::TempDir,
    home: PathBuf,
}

impl Hostile {
    fn new() -> Hostile {
        let mut env = TestEnv::new();
        let outside = tempfile::tempdir().unwrap();
        let home = outside.path().join("home");
        for (file, text) in [
            (".claude/settings.json", "{\"model\": \"the user's own\"}\n"),
            (".bashrc", "export PATH=/usr/bin\n"),
            (".ssh/authorized_keys", "ssh-ed25519 AAAA the-user\n"),
            ("notes/todo.md", "mine\n"),
        ] {
            let path = home.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        env.set("HOME", home.to_str().unwrap());
        Hostile {
            env,
            _outside: outside,
            home,
        }
    }

    fn project(&self) -> &Path {
        self.env.path()
    }

    /// Plant a link at `name` (relative to the project) pointing to `target`.
    fn link(&self, name: &str, target: &Path) {
        let path = self.project().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        symlink(target, path).unwrap();
    }

    /// Run `args`, which must fail with exit 1 naming `link`, and change nothing: not in the
    /// project, not outside it.
    #[track_caller]
    fn refuses(&self, args: &[&str], link: &str) -> String {
        let project = snapshot(self.project());
        let outside = snapshot(&self.home);
        let run = self.env.run(args);
        let stderr = run.fails(1).to_owned();
        assert!(
            stderr.contains(link),
            "`{}` does not name `{link}`\n{run}",
            args.join(" ")
        );
        assert_eq!(
            snapshot(&self.home),
            outside,
            "`{}` changed a file outside the project",
            args.join(" ")
        );
        assert_eq!(
            snapshot(self.project()),
            project,
            "`{}` changed the project although it failed",
            args.join(" ")
        );
        stderr
    }
}

#[test]
fn finding_01_a_temp_file_link_to_the_users_settings_is_refused() {
    let hostile = Hostile::new();
    let user_settings = hostile.home.join(".claude/settings.json");
    std::fs::create_dir_all(hostile.project().join(".claude")).unwrap();
    std::fs::write(hostile.project().join(".claude/settings.json"), "{}\n").unwrap();
    hostile.link(".claude/.settings.json.orchestron-tmp", &user_settings);
    let stderr = hostile.refuses(&["init"], ".settings.json.orchestron-tmp");
    assert!(stderr.contains("not followed"), "{stderr}");
    // Once wired, `uninstall` refuses it the same way.
    std::fs::remove_file(
        hostile
            .project()
            .join(".claude/.settings.json.orchestron-tmp"),
    )
    .unwrap();
    hostile.env.run(&["init"]).ok();
    hostile.link(".claude/.settings.json.orchestron-tmp", &user_settings);
    hostile.refuses(&["uninstall"], ".settings.json.orchestron-tmp");
}

#[test]
fn finding_01_a_stale_temp_file_is_replaced() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.path().join(".claude")).unwrap();
    let temp = env
        .path()
        .join(".claude/.settings.local.json.orchestron-tmp");
    std::fs::write(&temp, "left by a killed init").unwrap();
    env.run(&["init"]).ok();
    assert!(!temp.exists());
    assert!(
        std::fs::read_to_string(env.path().join(".claude/settings.local.json"))
            .unwrap()
            .contains("statusline")
    );
}

#[test]
fn finding_01_a_backup_link_is_never_followed() {
    let hostile = Hostile::new();
    let commands = hostile.project().join(".claude/commands/orchestron");
    std::fs::create_dir_all(&commands).unwrap();
    std::fs::write(commands.join("task.md"), "the repository's text\n").unwrap();
    hostile.link(
        ".claude/commands/orchestron/task.md.orchestron-backup",
        &hostile.home.join(".bashrc"),
    );
    hostile.refuses(&["init"], "task.md.orchestron-backup");
    std::fs::remove_file(commands.join("task.md.orchestron-backup")).unwrap();

    // The settings' backup, and its temp file, likewise.
    std::fs::write(
        hostile.project().join(".claude/settings.local.json"),
        "{}\n",
    )
    .unwrap();
    hostile.link(
        ".claude/settings.local.json.orchestron-backup",
        &hostile.home.join(".bashrc"),
    );
    hostile.refuses(&["init"], "settings.local.json.orchestron-backup");
    std::fs::remove_file(
        hostile
            .project()
            .join(".claude/settings.local.json.orchestron-backup"),
    )
    .unwrap();
    hostile.link(
        ".claude/.settings.local.json.orchestron-backup.orchestron-tmp",
        &hostile.home.join(".bashrc"),
    );
    hostile.refuses(
        &["init"],
        ".settings.local.json.orchestron-backup.orchestron-tmp",
    );
    std::fs::remove_file(
        hostile
            .project()
            .join(".claude/.settings.local.json.orchestron-backup.orchestron-tmp"),
    )
    .unwrap();

    // `uninstall` reads the backup back: never through a link.
    hostile.env.run(&["init"]).ok();
    let backup = hostile
        .project()
        .join(".claude/settings.local.json.orchestron-backup");
    std::fs::remove_file(&backup).unwrap();
    symlink(hostile.home.join(".bashrc"), &backup).unwrap();
    hostile.refuses(&["uninstall"], "settings.local.json.orchestron-backup");
}

#[test]
fn finding_01_a_shipped_file_link_out_of_the_project_is_refused() {
    let hostile = Hostile::new();
    hostile.link(
        ".claude/output-styles/sprint_execution.md",
        &hostile.home.join(".ssh/authorized_keys"),
    );
    let stderr = hostile.refuses(&["init"], ".claude/output-styles/sprint_execution.md");
    assert!(stderr.contains("outside the project"), "{stderr}");
    hostile.refuses(&["uninstall"], ".claude/output-styles/sprint_execution.md");
}

#[test]
fn finding_01_a_folder_link_out_of_the_project_is_refused() {
    let hostile = Hostile::new();
    hostile.link(".claude/commands/orchestron", &hostile.home.join("notes"));
    hostile.refuses(&["init"], ".claude/commands/orchestron");
    std::fs::remove_file(hostile.project().join(".claude/commands/orchestron")).unwrap();
    std::fs::remove_dir_all(hostile.project().join(".claude")).unwrap();
    hostile.link(".claude", &hostile.home.join(".claude"));
    hostile.refuses(&["init"], "`.claude`");
    hostile.refuses(&["uninstall"], "`.claude`");
    hostile.refuses(&["mode", "sprint"], "`.claude`");
}

#[test]
fn finding_01_a_settings_link_out_of_the_project_is_refused() {
    let hostile = Hostile::new();
    hostile.link(
        ".claude/settings.json",
        &hostile.home.join(".claude/settings.json"),
    );
    hostile.refuses(&["init"], ".claude/settings.json");
    hostile.refuses(&["uninstall"], ".claude/settings.json");
    // A dangling one too: `init` would create the file it names.
    std::fs::remove_file(hostile.project().join(".claude/settings.json")).unwrap();
    hostile.link(".claude/settings.json", &hostile.home.join("new.json"));
    hostile.refuses(&["init"], ".claude/settings.json");
    hostile.link(
        ".claude/settings.local.json",
        &hostile.home.join(".claude/settings.json"),
    );
    hostile.refuses(&["mode", "sprint"], ".claude/settings.local.json");
}

#[test]
fn finding_01_mode_never_writes_through_a_planted_temp_file() {
    let hostile = Hostile::new();
    hostile.link(
        ".claude/.settings.local.json.orchestron-tmp",
        &hostile.home.join(".claude/settings.json"),
    );
    hostile.refuses(&["mode", "sprint"], ".settings.local.json.orchestron-tmp");
}

#[test]
fn finding_01_the_gitignore_temp_file_link_is_refused() {
    let hostile = Hostile::new();
    std::fs::write(hostile.project().join(".gitignore"), "target/\n").unwrap();
    hostile.link("..gitignore.orchestron-tmp", &hostile.home.join(".bashrc"));
    hostile.refuses(&["init"], "..gitignore.orchestron-tmp");
}

#[test]
fn finding_01_links_inside_the_project_are_written_through() {
    // `.claude` kept in another folder of the project, with a settings file linked in it.
    let env = TestEnv::new();
    let real = env.path().join("dotclaude");
    std::fs::create_dir_all(&real).unwrap();
    std::fs::write(real.join("mine.json"), "{\"model\": \"opus\"}").unwrap();
    symlink("mine.json", real.join("settings.local.json")).unwrap();
    symlink("dotclaude", env.path().join(".claude")).unwrap();
    let before = snapshot(env.path());
    env.run(&["init"]).ok();
    assert!(
        std::fs::symlink_metadata(env.path().join(".claude"))
            .unwrap()
            .is_symlink()
    );
    assert!(
        std::fs::symlink_metadata(real.join("settings.local.json"))
            .unwrap()
            .is_symlink()
    );
    let settings = std::fs::read_to_string(real.join("mine.json")).unwrap();
    assert!(settings.contains("\"opus\"") && settings.contains("statusline"));
    assert!(real.join("commands/orchestron/task.md").is_file());
    env.run(&["uninstall"]).ok();
    assert_eq!(snapshot(env.path()), before);
}

#[test]
fn finding_08_an_env_file_without_a_final_newline_keeps_its_last_export() {
    let mut env = TestEnv::new();
    let env_file = env.path().join("claude-env.sh");
    std::fs::write(&env_file, "FOO=bar").unwrap();
    env.set("CLAUDE_ENV_FILE", env_file.to_str().unwrap());
    let payload = r#"{"session_id": "s1", "hook_event_name": "SessionStart", "source": "startup"}"#;
    env.run_with_stdin(&["hook", "SessionStart"], payload).ok();
    let expected = "FOO=bar\nexport ORCHESTRON_SESSION=s1\n";
    assert_eq!(std::fs::read_to_string(&env_file).unwrap(), expected);
    // A second SessionStart of the session sees its export at the end: nothing added.
    env.run_with_stdin(&["hook", "SessionStart"], payload).ok();
    assert_eq!(std::fs::read_to_string(&env_file).unwrap(), expected);
    // An empty file gets the export alone.
    std::fs::write(&env_file, "").unwrap();
    env.run_with_stdin(&["hook", "SessionStart"], payload).ok();
    assert_eq!(
        std::fs::read_to_string(&env_file).unwrap(),
        "export ORCHESTRON_SESSION=s1\n"
    );
}

#[test]
fn finding_10_a_lock_that_is_a_link_creates_nothing() {
    let hostile = Hostile::new();
    let env = &hostile.env;
    let target = hostile.home.join("created-by-a-lock");
    // A session that does not exist yet, its lock planted.
    std::fs::create_dir_all(env.sessions()).unwrap();
    symlink(&target, env.sessions().join("planted.lock")).unwrap();
    hostile.refuses(&["session", "create", "--id", "planted"], "planted.lock");
    assert!(!target.exists());
    // An existing session whose lock was swapped for a link.
    env.session("s");
    std::fs::remove_file(env.sessions().join("s.lock")).unwrap();
    symlink(&target, env.sessions().join("s.lock")).unwrap();
    let stderr = hostile.refuses(&["state", "set", "s", "a", "1"], "s.lock");
    assert!(stderr.contains("does not follow links"), "{stderr}");
    assert!(!target.exists());
}

#[test]
fn finding_10_a_document_that_is_a_link_is_not_read_through() {
    let hostile = Hostile::new();
    let env = &hostile.env;
    env.session("s");
    let document = env.sessions().join("s.json");
    let elsewhere = hostile.home.join("s.json");
    std::fs::copy(&document, &elsewhere).unwrap();
    std::fs::remove_file(&document).unwrap();
    symlink(&elsewhere, &document).unwrap();
    for args in [
        &["state", "get", "s", "session"][..],
        &["state", "set", "s", "a", "1"],
        &["session", "info", "s"],
    ] {
        hostile.refuses(args, "s.json");
    }
    let payload = r#"{"session_id": "s", "hook_event_name": "SessionStart", "source": "startup"}"#;
    let run = env.run_with_stdin(&["hook", "SessionStart"], payload);
    assert_eq!(run.code, 1, "a hook fails with 1, never blocks\n{run}");
    assert!(run.stderr.contains("s.json"), "{run}");
}

/// Run the binary under `umask 000`, through `sh` (no `pre_exec`: unsafe code is forbidden).
fn run_with_open_umask(env: &TestEnv, args: &[&str]) -> Run {
    let template = env.command(args);
    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg("umask 000; exec \"$@\"")
        .arg("sh")
        .arg(template.get_program())
        .args(template.get_args())
        .env_clear()
        .current_dir(env.path());
    for (name, value) in template.get_envs() {
        if let Some(value) = value {
            command.env(name, value);
        }
    }
    let output = command.timed_output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn finding_11_init_under_umask_000_leaves_nothing_writable_by_others() {
    let env = TestEnv::new();
    // The umask really is open: a file the shell creates is 0666.
    let check = Command::new("/bin/sh")
        .args(["-c", "umask 000; : > probe; stat -c %a probe"])
        .current_dir(env.path())
        .timed_output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&check.stdout).trim(), "666");
    std::fs::remove_file(env.path().join("probe")).unwrap();

    run_with_open_umask(&env, &["init"]).ok();
    run_with_open_umask(&env, &["mode", "sprint"]).ok();
    let mut files = 0;
    for (path, entry) in snapshot(&env.path().join(".claude")) {
        match entry {
            Entry::File { mode, .. } => {
                files += 1;
                assert_eq!(mode & !0o644, 0, "{} is {mode:o}", path.display());
            }
            Entry::Folder { mode } => {
                assert_eq!(mode & !0o755, 0, "{} is {mode:o}", path.display());
            }
            Entry::Link(_) => panic!("init made a link: {}", path.display()),
        }
    }
    assert!(files > 15, "local settings, commands and styles");
    assert_eq!(mode(&env.path().join(".claude")), 0o755);
    assert_eq!(mode(&env.path().join(".claude/settings.local.json")), 0o644);
    assert_eq!(mode(&env.path().join(".gitignore")), 0o644);
    assert_eq!(mode(&env.home()), 0o700);
    assert_eq!(mode(&env.home().join(".gitignore")), 0o600);

    // A settings file others could already write loses that on the next write.
    std::fs::set_permissions(
        env.path().join(".claude/settings.local.json"),
        std::fs::Permissions::from_mode(0o666),
    )
    .unwrap();
    run_with_open_umask(&env, &["init", "--bin", "/opt/orchestron"]).ok();
    assert_eq!(mode(&env.path().join(".claude/settings.local.json")), 0o644);
}

#[test]
fn finding_11_the_tracker_and_its_wal_and_shm_are_private() {
    let env = TestEnv::new();
    run_with_open_umask(&env, &["task", "create", "Storage"]).ok();
    let db = env.home().join("orchestron.db");
    assert_eq!(mode(&db), 0o600);
    // While a connection is open the `-wal` and `-shm` files exist; SQLite gives them the
    // database's mode, whoever opens it.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let _: i64 = conn
        .query_row("SELECT count(*) FROM items", [], |row| row.get(0))
        .unwrap();
    run_with_open_umask(&env, &["task", "create", "Search"]).ok();
    for suffix in ["-wal", "-shm"] {
        let path = env.home().join(format!("orchestron.db{suffix}"));
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    drop(conn);
    // A tracker an older Orchestron left readable by all is made private by the next write,
    // its `-wal` and `-shm` with it.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let _: i64 = conn
        .query_row("SELECT count(*) FROM items", [], |row| row.get(0))
        .unwrap();
    for suffix in ["-wal", "-shm"] {
        let path = env.home().join(format!("orchestron.db{suffix}"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    env.run(&["task", "create", "Index"]).ok();
    assert_eq!(mode(&db), 0o600);
    for suffix in ["-wal", "-shm"] {
        assert_eq!(
            mode(&env.home().join(format!("orchestron.db{suffix}"))),
            0o600
        );
    }
    drop(conn);
}

/// A settings file as Claude Code reads it: of a key given twice, the last. The generated
/// number serde_json cannot hold (`1E400`) is read as 0, which changes no wiring.
fn effective(text: &str) -> Option<serde_json::Value> {
    serde_json::from_str(&text.replace("1E400", "0")).ok()
}

#[track_caller]
/// `init` then `uninstall` give back every byte, but `moved`, a settings file holding an older init's wiring, loses
/// just that wiring: `init` moves it into `.claude/settings.local.json`, and `uninstall` takes
/// it out from there.
///
/// `moved` is `Some((file, Some(true)))` when that file holds wiring Claude Code would run
/// (it must be moved), `Some((file, None))` when the test cannot tell (a number serde_json
/// does not read): then `init`'s report says whether it moved any.
fn round_trips_but(env: &TestEnv, moved: Option<(&str, Option<bool>)>) {
    let before = snapshot(env.path());
    let init = env.run(&["init"]);
    let reported = init.stdout.contains("an older init wired there");
    let moved = moved.and_then(|(file, must)| {
        if must == Some(true) && init.code == 0 {
            assert!(reported, "the old wiring was not moved\n{init}");
        }
        (must == Some(true) || reported).then_some(file)
    });
    if init.code == 0 {
        env.run(&["uninstall"]).ok();
    } else {
        init.fails(1);
    }
    let after = snapshot(env.path());
    let changed: Vec<&PathBuf> = before
        .keys()
        .chain(after.keys())
        .filter(|path| before.get(*path) != after.get(*path))
        // The emptied settings file, and its folder with it.
        .filter(|path| {
            moved.is_none_or(|moved| !path.ends_with(moved) && !path.ends_with(".claude"))
        })
        .collect();
    assert!(changed.is_empty(), "not as it was: {changed:?}\n{init}");
    if let Some(moved) = moved
        && let Ok(text) = std::fs::read_to_string(env.path().join(moved))
    {
        // What Claude Code reads (the last of a key given twice) runs no old wiring; a file
        // serde_json cannot read (nested past its limit) is checked whole only without
        // duplicate keys.
        let read = effective(&text).map_or_else(|| text.clone(), |value| value.to_string());
        let duplicates =
            text.matches("\"hooks\": {").count() + text.matches("\"hooks\":{").count() > 1;
        if effective(&text).is_some() || !duplicates {
            assert!(!read.contains("/old/orchestron"), "{text}\n{init}");
        }
    }
}

#[test]
fn finding_14_init_then_uninstall_gives_back_huge_numbers_and_deep_nesting() {
    let deep = format!("{}{}", "[".repeat(3000), "]".repeat(3000));
    for settings in [
        r#"{"a": 1E400, "b":[1,2]}"#.to_owned(),
        format!("{{\"deep\": {deep}}}\n"),
        format!(r#"{{"hooks": {{"Stop": [{{"hooks": {deep}}}]}}, "n": -1e-400}}"#),
    ] {
        let env = TestEnv::new();
        std::fs::create_dir_all(env.path().join(".claude")).unwrap();
        std::fs::write(env.path().join(".claude/settings.json"), &settings).unwrap();
        let init = env.run(&["init"]);
        init.ok();
        env.run(&["uninstall"]).ok();
        assert_eq!(
            std::fs::read_to_string(env.path().join(".claude/settings.json")).unwrap(),
            settings
        );
        assert!(!env.path().join(".gitignore").exists());
    }
}

#[test]
fn finding_14_a_dangling_settings_link_survives_init_and_uninstall() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.path().join(".claude")).unwrap();
    symlink(
        "../config/claude.json",
        env.path().join(".claude/settings.local.json"),
    )
    .unwrap();
    std::fs::create_dir_all(env.path().join("config")).unwrap();
    let before = snapshot(env.path());
    env.run(&["init"]).ok();
    assert!(
        std::fs::read_to_string(env.path().join("config/claude.json"))
            .unwrap()
            .contains("statusline"),
        "init writes where the link points"
    );
    env.run(&["uninstall"]).ok();
    assert_eq!(snapshot(env.path()), before);
    assert!(!env.path().join("config/claude.json").exists());
    // A link into a folder that does not exist is refused rather than followed.
    std::fs::remove_dir(env.path().join("config")).unwrap();
    let stderr = env.refuses(&["init"], 1);
    assert!(stderr.contains(".claude/settings.local.json"), "{stderr}");
}

#[test]
fn finding_14_a_gitignore_without_a_final_newline_gets_its_bytes_back() {
    let env = TestEnv::new();
    std::fs::write(env.path().join(".gitignore"), "target/").unwrap();
    env.run(&["init"]).ok();
    assert!(
        std::fs::read_to_string(env.path().join(".gitignore"))
            .unwrap()
            .starts_with("target/\n")
    );
    env.run(&["uninstall"]).ok();
    assert_eq!(
        std::fs::read_to_string(env.path().join(".gitignore")).unwrap(),
        "target/"
    );
}

#[test]
fn finding_14_an_empty_gitignore_stays_an_empty_file() {
    let env = TestEnv::new();
    std::fs::write(env.path().join(".gitignore"), "").unwrap();
    env.run(&["init"]).ok();
    assert!(
        std::fs::read_to_string(env.path().join(".gitignore"))
            .unwrap()
            .contains(".claude/settings.local.json")
    );
    env.run(&["uninstall"]).ok();
    assert_eq!(
        std::fs::read_to_string(env.path().join(".gitignore")).unwrap(),
        ""
    );
    // One that init made is removed again.
    let env = TestEnv::new();
    env.run(&["init"]).ok();
    env.run(&["uninstall"]).ok();
    assert!(!env.path().join(".gitignore").exists());
}

mod generate {
    use proptest::prelude::*;

    fn spaces() -> impl Strategy<Value = &'static str> {
        prop_oneof![Just(""), Just(" "), Just("\n  "), Just("\t"), Just("\r\n")]
    }

    fn value() -> impl Strategy<Value = String> {
        let scalar = prop_oneof![
            Just("null".to_owned()),
            Just("1E400".to_owned()),
            Just("-0.0".to_owned()),
            any::<i32>().prop_map(|n| n.to_string()),
            "\\PC{0,6}".prop_map(|text| serde_json::to_string(&text).unwrap()),
            (1usize..300).prop_map(|depth| format!("{}{}", "[".repeat(depth), "]".repeat(depth))),
        ];
        scalar.prop_recursive(2, 12, 3, |inner| {
            (prop::collection::vec(("[a-z]{1,3}", inner), 0..3), spaces()).prop_map(
                |(pairs, space)| {
                    let members: Vec<String> = pairs
                        .iter()
                        .map(|(key, value)| format!("\"{key}\":{space}{value}"))
                        .collect();
                    format!("{{{space}{}{space}}}", members.join(","))
                },
            )
        })
    }

    fn hooks() -> impl Strategy<Value = String> {
        let handler = prop_oneof![
            Just(r#"{"type": "command", "command": "my-stop"}"#.to_owned()),
            Just(
                r#"{"type":"command","command":"/old/orchestron","args":["hook","Stop"]}"#
                    .to_owned()
            ),
            value(),
        ];
        let event = prop_oneof![Just("Stop"), Just("PreToolUse"), Just("Notification")];
        (
            prop::collection::btree_map(event, prop::collection::vec(handler, 0..3), 0..3),
            spaces(),
        )
            .prop_map(|(events, space)| {
                let members: Vec<String> = events
                    .iter()
                    .map(|(event, handlers)| {
                        format!(
                            "\"{event}\":{space}[{{\"hooks\": [{}]}}]",
                            handlers.join(", ")
                        )
                    })
                    .collect();
                format!("{{{space}{}{space}}}", members.join(&format!(",{space}")))
            })
    }

    /// A settings file's text, `None` for no file.
    pub(super) fn settings() -> impl Strategy<Value = Option<String>> {
        let member = prop_oneof![
            hooks().prop_map(|hooks| ("hooks".to_owned(), hooks)),
            Just((
                "statusLine".to_owned(),
                r#"{"type":"command","command":"my-line"}"#.to_owned()
            )),
            ("[a-z]{1,5}", value()),
        ];
        let file = (
            prop::collection::btree_map("[a-z]{1,5}", member, 0..4),
            spaces(),
            prop::bool::ANY,
        )
            .prop_map(|(members, space, newline)| {
                let members: Vec<String> = members
                    .into_values()
                    .map(|(key, value)| format!("\"{key}\":{space}{value}"))
                    .collect();
                let end = if newline { "\n" } else { "" };
                format!("{{{space}{}{space}}}{end}", members.join(","))
            });
        prop::option::weighted(0.9, file)
    }

    /// A `.gitignore`'s text, `None` for no file.
    pub(super) fn gitignore() -> impl Strategy<Value = Option<String>> {
        prop::option::of(
            (prop::collection::vec("[a-z/*]{1,6}", 1..4), prop::bool::ANY)
                .prop_map(|(lines, newline)| lines.join("\n") + if newline { "\n" } else { "" }),
        )
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// `init` then `uninstall`, through the binary, gives back the bytes of a random settings
    /// file and `.gitignore` (or, when `init` refuses the file, changes nothing).
    #[test]
    fn finding_14_init_then_uninstall_restores_the_bytes_for_random_settings_files(
        settings in generate::settings(),
        gitignore in generate::gitignore(),
        local in proptest::bool::ANY,
    ) {
        let env = TestEnv::new();
        // `init` wires `.claude/settings.local.json`; an older init's wiring in the shared
        // `.claude/settings.json` is moved out of it.
        let name = if local { ".claude/settings.local.json" } else { ".claude/settings.json" };
        if let Some(settings) = &settings {
            std::fs::create_dir_all(env.path().join(".claude")).unwrap();
            std::fs::write(env.path().join(name), settings).unwrap();
        }
        if let Some(gitignore) = &gitignore {
            std::fs::write(env.path().join(".gitignore"), gitignore).unwrap();
        }
        // The wiring Claude Code would run: of a key given twice, it reads the last, and so
        // do serde_json and `init`. `None` when serde_json cannot read the file.
        let old_wiring = settings.as_deref().map(|text| {
            effective(text).map(|value| value.to_string().contains("/old/orchestron"))
        });
        let candidate = match old_wiring {
            Some(Some(false)) | None => None,
            Some(must) => Some((name, must)),
        };
        round_trips_but(&env, candidate.filter(|_| !local));
    }
}
