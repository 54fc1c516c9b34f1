//! The plugin files the repository ships, the hook launcher, and `orchestron init`,
//! `uninstall` and `doctor`.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::TestEnv;
use crate::{Timed as _, TimedChild as _};

fn repo_file(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

fn repo_json(path: &str) -> Value {
    serde_json::from_str(&repo_file(path)).unwrap_or_else(|err| panic!("{path}: {err}"))
}

#[test]
fn plugin_manifest_names_orchestron_at_cargos_version() {
    let plugin = repo_json(".claude-plugin/plugin.json");
    assert_eq!(plugin["name"], "orchestron");
    assert_eq!(plugin["version"], env!("CARGO_PKG_VERSION"));
    let market = repo_json(".claude-plugin/marketplace.json");
    assert_eq!(market["name"], "orchestron");
    let entry = &market["plugins"][0];
    assert_eq!(entry["name"], "orchestron");
    assert_eq!(entry["source"], "./plugin");
    assert_eq!(entry["version"], env!("CARGO_PKG_VERSION"));
    // plugin/ links the plugin's parts and nothing else, so an install copies no build output.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(root.join("plugin"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ".claude-plugin",
            "bin",
            "commands",
            "hooks",
            "output-styles"
        ]
    );
    for (link, target) in [
        (
            "plugin/.claude-plugin/plugin.json",
            ".claude-plugin/plugin.json",
        ),
        ("plugin/hooks", "hooks"),
        ("plugin/bin", "bin"),
        ("plugin/commands", "commands"),
        ("plugin/output-styles", "output-styles"),
    ] {
        assert_eq!(
            root.join(link).canonicalize().unwrap(),
            root.join(target).canonicalize().unwrap(),
            "{link}"
        );
    }
}

#[test]
fn plugin_hooks_run_every_event_through_the_launcher_in_exec_form() {
    let hooks = repo_json("hooks/hooks.json");
    let hooks = hooks["hooks"].as_object().unwrap();
    let events: Vec<&str> = hooks.keys().map(String::as_str).collect();
    let mut expected = orchestron::EVENTS.to_vec();
    expected.sort_unstable();
    let mut sorted = events.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, expected);
    for (event, groups) in hooks {
        let handler = &groups[0]["hooks"][0];
        assert_eq!(handler["type"], "command");
        assert_eq!(
            handler["command"],
            "${CLAUDE_PLUGIN_ROOT}/hooks/orchestron-hook"
        );
        assert_eq!(handler["args"], json!([event]), "exec form for {event}");
        assert!(handler["timeout"].as_u64().is_some());
    }
    let launcher = Path::new(env!("CARGO_MANIFEST_DIR")).join("hooks/orchestron-hook");
    let mode = std::os::unix::fs::PermissionsExt::mode(&launcher.metadata().unwrap().permissions());
    assert!(mode & 0o111 != 0, "the launcher must be executable");
}

/// Run the plugin's launcher with `env` and `stdin`, `PATH` holding only the system's tools.
fn launcher(env: &TestEnv, event: &str, extra: &[(&str, &str)], stdin: &str) -> (i32, String) {
    let mut vars = vec![("PATH", "/usr/bin:/bin")];
    vars.extend_from_slice(extra);
    launcher_with_path(env, event, &vars, stdin)
}

/// Run the plugin's launcher with exactly these variables (and the state root) and `stdin`.
fn launcher_with_path(
    env: &TestEnv,
    event: &str,
    extra: &[(&str, &str)],
    stdin: &str,
) -> (i32, String) {
    use std::io::Write as _;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("hooks/orchestron-hook");
    let mut command = Command::new("/bin/sh");
    command
        .arg(script)
        .arg(event)
        .env_clear()
        .env("ORCHESTRON_HOME", env.home())
        .current_dir(env.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in extra {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap();
    // The launcher exits without reading its input when there is no binary.
    match child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => {
            panic!("cannot write stdin: {err}")
        }
        _ => {}
    }
    let output = child.timed_wait_with_output().unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn the_launcher_runs_the_binary_it_finds() {
    let env = TestEnv::new();
    let payload = json!({"session_id": "5e1d0b9a-1c2d-4e3f-8a9b-0c1d2e3f4a5b",
        "hook_event_name": "SessionStart", "source": "startup", "cwd": "/tmp"})
    .to_string();
    let (code, stdout) = launcher(
        &env,
        "SessionStart",
        &[("ORCHESTRON_BIN", env!("CARGO_BIN_EXE_orchestron"))],
        &payload,
    );
    assert_eq!(code, 0);
    let reply: Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        reply["hookSpecificOutput"]["additionalContext"].is_string(),
        "{reply}"
    );
    assert!(
        env.sessions()
            .join("5e1d0b9a-1c2d-4e3f-8a9b-0c1d2e3f4a5b.json")
            .exists()
    );
}

#[test]
fn without_a_binary_the_launcher_does_nothing_and_blocks_nothing() {
    let env = TestEnv::new();
    let payload = json!({"session_id": "s", "tool_name": "Bash",
        "tool_input": {"command": "rm -rf /"}})
    .to_string();
    let (code, stdout) = launcher(&env, "PreToolUse", &[], &payload);
    assert_eq!((code, stdout.as_str()), (0, ""));
    // SessionStart tells the user, in a message Claude Code shows, and still exits 0.
    let (code, stdout) = launcher(&env, "SessionStart", &[], "{}");
    assert_eq!(code, 0);
    let reply: Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        reply["systemMessage"]
            .as_str()
            .unwrap()
            .contains("no orchestron binary")
    );
    assert!(!env.home().exists());
}

#[test]
fn without_a_binary_the_launcher_builds_one_in_the_background_once() {
    let env = TestEnv::new();
    // A checkout whose `install` only pretends: it waits for `go`, then installs a script.
    let checkout = env.path().join("checkout");
    // A quote and a backslash in the path: the launcher's messages must stay valid JSON.
    let data = env.path().join("plugin \"data\\");
    let fakebin = env.path().join("fakebin");
    std::fs::create_dir_all(&checkout).unwrap();
    std::fs::create_dir_all(&fakebin).unwrap();
    std::fs::write(checkout.join("Cargo.toml"), "").unwrap();
    let executable = |path: &Path, text: &str| {
        std::fs::write(path, text).unwrap();
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
    };
    executable(
        &checkout.join("install"),
        "#!/bin/sh\nwhile [ ! -e \"$(dirname \"$0\")/go\" ]; do sleep 0.05; done\n\
         mkdir -p \"$2/bin\"\nprintf '#!/bin/sh\\necho built \"$@\"\\n' > \"$2/bin/orchestron\"\n\
         chmod +x \"$2/bin/orchestron\"\n",
    );
    executable(&fakebin.join("cargo"), "#!/bin/sh\nexit 0\n");
    let path = format!("{}:/usr/bin:/bin", fakebin.display());
    let vars = [
        ("PATH", path.as_str()),
        ("CLAUDE_PLUGIN_ROOT", checkout.to_str().unwrap()),
        ("CLAUDE_PLUGIN_DATA", data.to_str().unwrap()),
    ];
    let message = |stdout: &str| -> String {
        let reply: Value = serde_json::from_str(stdout).unwrap();
        reply["systemMessage"].as_str().unwrap().to_owned()
    };
    let (code, stdout) = launcher_with_path(&env, "SessionStart", &vars, "{}");
    assert_eq!(code, 0);
    assert!(
        message(&stdout).contains("building the orchestron binary"),
        "{stdout}"
    );
    let (_, stdout) = launcher_with_path(&env, "SessionStart", &vars, "{}");
    assert!(message(&stdout).contains("still being built"), "{stdout}");
    std::fs::write(checkout.join("go"), "").unwrap();
    let built = data.join("bin/orchestron");
    for _ in 0..200 {
        if built.exists() && !data.join("build.lock").exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let (code, stdout) = launcher_with_path(&env, "PostToolUse", &vars, "{}");
    assert_eq!((code, stdout.as_str()), (0, "built hook PostToolUse\n"));
}

#[test]
fn the_launcher_never_passes_on_an_exit_2() {
    let env = TestEnv::new();
    let fake = env.path().join("orchestron");
    std::fs::write(&fake, "#!/bin/sh\necho usage >&2\nexit 2\n").unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (code, _) = launcher(
        &env,
        "PreToolUse",
        &[("ORCHESTRON_BIN", fake.to_str().unwrap())],
        "{}",
    );
    assert_eq!(code, 1);
}

/// `bin/orchestron ARGS` with `path` as PATH and no other environment.
fn plugin_bin(path: &str, extra: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bin/orchestron");
    let home = tempfile::tempdir().unwrap();
    let mut command = Command::new(script);
    command
        .args(args)
        .env_clear()
        .env("PATH", path)
        .env("HOME", home.path())
        .stdin(Stdio::null());
    for (name, value) in extra {
        command.env(name, value);
    }
    command.timed_output().unwrap()
}

#[test]
fn the_plugins_bin_runs_the_real_binary_and_never_loops() {
    let real = Path::new(env!("CARGO_BIN_EXE_orchestron"));
    let repo_bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("bin");
    // Found on PATH after the plugin's own bin/ (and a second copy of the plugin).
    let path = format!(
        "{}:{}:{}:/usr/bin:/bin",
        repo_bin.display(),
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("plugin/bin")
            .display(),
        real.parent().unwrap().display()
    );
    let output = plugin_bin(&path, &[], &["--version"]);
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("orchestron "));
    let output = plugin_bin(
        "/usr/bin:/bin",
        &[("ORCHESTRON_BIN", real.to_str().unwrap())],
        &["--version"],
    );
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("orchestron "));
    // Two installed copies of the plugin and no binary anywhere: no loop, a reason, exit 0.
    let copies = tempfile::tempdir().unwrap();
    let mut dirs = Vec::new();
    for copy in ["a", "b"] {
        let bin = copies.path().join(copy).join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::copy(repo_bin.join("orchestron"), bin.join("orchestron")).unwrap();
        dirs.push(bin.display().to_string());
    }
    let path = format!("{}:/usr/bin:/bin", dirs.join(":"));
    let output = plugin_bin(&path, &[], &["slash", "task", "--json"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("not installed yet"), "{stderr}");
    assert!(output.stdout.is_empty());
    // Anything but a slash command's read fails like a missing command.
    let output = plugin_bin(&path, &[], &["task", "complete", "TASK-1"]);
    assert_eq!(output.status.code(), Some(127));
}

/// The settings `init` wires: this machine's.
fn settings_path(env: &TestEnv) -> std::path::PathBuf {
    env.path().join(".claude/settings.local.json")
}

/// The settings teams commit, where an older `init` wired the hooks.
fn shared_path(env: &TestEnv) -> std::path::PathBuf {
    env.path().join(".claude/settings.json")
}

#[test]
fn init_wires_a_project_once_and_uninstall_takes_exactly_that_out() {
    let env = TestEnv::new();
    let user_settings = "{\n  \"permissions\": {\"allow\": [\"Bash(ls)\"]},\n  \"hooks\": {\"Stop\": [{\"hooks\": [{\"type\": \"command\", \"command\": \"my-stop\"}]}]},\n  \"model\": \"opus\"\n}\n";
    std::fs::create_dir_all(env.path().join(".claude")).unwrap();
    std::fs::write(settings_path(&env), user_settings).unwrap();
    std::fs::write(shared_path(&env), "{\"model\": \"team\"}\n").unwrap();
    std::fs::write(env.path().join(".gitignore"), "target/\n").unwrap();

    let report = env.run(&["init"]).ok().to_owned();
    assert!(
        report.contains(&format!(
            "added {} hooks and the status line",
            orchestron::EVENTS.len()
        )),
        "{report}"
    );
    let settings: Value =
        serde_json::from_str(&std::fs::read_to_string(settings_path(&env)).unwrap()).unwrap();
    assert_eq!(settings["model"], "opus");
    assert_eq!(settings["permissions"]["allow"], json!(["Bash(ls)"]));
    assert_eq!(settings["hooks"]["Stop"].as_array().unwrap().len(), 2);
    assert_eq!(
        settings["hooks"]["Stop"][0]["hooks"][0]["command"],
        "my-stop"
    );
    let ours = &settings["hooks"]["PreToolUse"][0]["hooks"][0];
    assert_eq!(ours["command"], env!("CARGO_BIN_EXE_orchestron"));
    assert_eq!(ours["args"], json!(["hook", "PreToolUse"]));
    assert!(
        settings["statusLine"]["command"]
            .as_str()
            .unwrap()
            .ends_with("orchestron statusline")
    );
    let backup = env
        .path()
        .join(".claude/settings.local.json.orchestron-backup");
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), user_settings);
    // The committed settings stay as the team wrote them.
    assert_eq!(
        std::fs::read_to_string(shared_path(&env)).unwrap(),
        "{\"model\": \"team\"}\n"
    );
    assert_eq!(
        std::fs::read_to_string(env.path().join(".gitignore")).unwrap(),
        "target/\n# Claude Code's settings of this machine (orchestron init wires its hooks there)\n.claude/settings.local.json\n"
    );
    assert!(env.home().is_dir(), "init creates the state root");
    assert_eq!(
        std::fs::read_to_string(env.home().join(".gitignore")).unwrap(),
        "# Orchestron's state (tracker, sessions, handoffs, decisions, memory): never committed.\n*\n"
    );

    // Twice changes nothing.
    let before = env.disk();
    let again = env.run(&["init"]).ok().to_owned();
    assert!(again.contains("nothing changed"), "{again}");
    assert_eq!(env.disk(), before);

    let json = env.run(&["init", "--json"]).json();
    assert_eq!(json["changes"]["added"], json!([]));

    // Uninstall restores the user's files exactly, even after the user changed them.
    let changed = std::fs::read_to_string(settings_path(&env))
        .unwrap()
        .replace("\"opus\"", "\"sonnet\"");
    std::fs::write(settings_path(&env), changed).unwrap();
    env.run(&["uninstall"]).ok();
    let after: Value =
        serde_json::from_str(&std::fs::read_to_string(settings_path(&env)).unwrap()).unwrap();
    let mut expected: Value = serde_json::from_str(user_settings).unwrap();
    expected["model"] = json!("sonnet");
    assert_eq!(after, expected);
    std::fs::write(settings_path(&env), user_settings).unwrap();
    env.run(&["init"]).ok();
    // Untouched since init: back to the byte.
    env.run(&["uninstall"]).ok();
    assert_eq!(
        std::fs::read_to_string(settings_path(&env)).unwrap(),
        user_settings
    );
    assert_eq!(
        std::fs::read_to_string(env.path().join(".gitignore")).unwrap(),
        "target/\n"
    );
    assert!(!backup.exists());
    assert!(!env.home().exists(), "the empty state root goes");
}

#[test]
fn init_installs_the_slash_commands_and_styles_under_the_plugins_names() {
    let env = TestEnv::new();
    let report = env.run(&["init"]).ok().to_owned();
    assert!(
        report.contains("added 15 slash commands and output styles"),
        "{report}"
    );
    let commands = env.path().join(".claude/commands/orchestron");
    for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("commands")).unwrap()
    {
        let entry = entry.unwrap();
        let installed = std::fs::read_to_string(commands.join(entry.file_name())).unwrap();
        assert_eq!(installed, std::fs::read_to_string(entry.path()).unwrap());
    }
    let style = env.path().join(".claude/output-styles/sprint_execution.md");
    assert_eq!(
        std::fs::read_to_string(&style).unwrap(),
        repo_file("output-styles/sprint_execution.md")
    );
    let doctor = env.run(&["doctor", "--json"]).json();
    let check = doctor["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|check| check["check"] == "commands")
        .cloned();
    assert_eq!(check.unwrap()["status"], "ok", "{doctor:#}");

    // An outdated copy is brought up to date; doctor notices it first.
    std::fs::write(commands.join("task.md"), "old\n").unwrap();
    let doctor = env.run(&["doctor"]).ok().to_owned();
    assert!(doctor.contains("1 of 15 slash commands"), "{doctor}");
    let json = env.run(&["init", "--json"]).json();
    assert_eq!(json["files_updated"].as_array().unwrap().len(), 1, "{json}");
    let backup = commands.join("task.md.orchestron-backup");
    assert_eq!(
        json["files_backed_up"][0],
        backup.to_str().unwrap(),
        "{json}"
    );
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), "old\n");
    assert_eq!(
        std::fs::read_to_string(commands.join("task.md")).unwrap(),
        repo_file("commands/task.md")
    );

    // Uninstall takes out what is as init left it, and keeps what the user edited.
    std::fs::write(&style, "mine\n").unwrap();
    let report = env.run(&["uninstall"]).ok().to_owned();
    assert!(
        report.contains("kept .claude/output-styles/sprint_execution.md"),
        "{report}"
    );
    assert_eq!(std::fs::read_to_string(&style).unwrap(), "mine\n");
    assert!(
        report.contains("kept .claude/commands/orchestron/task.md.orchestron-backup"),
        "{report}"
    );
    let left: Vec<_> = std::fs::read_dir(&commands).unwrap().collect();
    assert_eq!(left.len(), 1, "only the backup stays: {report}");
    assert!(
        !env.path()
            .join(".claude/output-styles/config_manager.md")
            .exists()
    );
}

#[test]
fn uninstall_removes_what_init_created_and_keeps_sessions() {
    let env = TestEnv::new();
    env.run(&["init"]).ok();
    env.run(&["session", "create", "--id", "keep-me"]).ok();
    let report = env.run(&["uninstall"]).ok().to_owned();
    assert!(report.contains("kept"), "{report}");
    assert!(!env.path().join(".claude").exists(), "{report}");
    assert!(!env.path().join(".gitignore").exists(), "{report}");
    assert!(env.sessions().join("keep-me.json").exists());
}

#[test]
fn init_refuses_a_malformed_settings_file_and_changes_nothing() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.path().join(".claude")).unwrap();
    for bad in ["{ not json", "[1, 2]", r#"{"hooks": {"Stop": "x"}}"#] {
        std::fs::write(settings_path(&env), bad).unwrap();
        let before = env.disk();
        let stderr = env.refuses(&["init"], 1);
        assert!(stderr.contains("fix it by hand"), "{stderr}");
        assert_eq!(env.disk(), before, "{bad}");
    }
    std::fs::remove_file(settings_path(&env)).unwrap();
    // The shared settings are read too, to move an older init's hooks out of them.
    for bad in ["{ not json", "[1, 2]"] {
        std::fs::write(shared_path(&env), bad).unwrap();
        let before = env.disk();
        let stderr = env.refuses(&["init"], 1);
        assert!(stderr.contains("fix it by hand"), "{stderr}");
        assert_eq!(env.disk(), before, "{bad}");
    }
}

#[test]
fn doctor_passes_on_a_wired_project_and_fails_readably_otherwise() {
    let env = TestEnv::new();
    let stderr = env.refuses(&["doctor"], 1);
    assert!(stderr.contains("doctor found 1 problem"), "{stderr}");
    let report = env.run(&["doctor"]).stdout;
    assert!(report.contains("FAIL  wiring"), "{report}");
    assert!(report.contains("orchestron init"), "{report}");

    env.run(&["init"]).ok();
    let report = env.run(&["doctor"]).ok().to_owned();
    assert!(
        report.contains(&format!(
            "ok    hooks       all {} events wired",
            orchestron::EVENTS.len()
        )),
        "{report}"
    );
    let json = env.run(&["doctor", "--json"]).json();
    assert_eq!(json["ok"], true, "{json}");

    // A broken configuration, a state root others can write, a hook command that is gone.
    std::fs::write(env.home().join("config.json"), "{\"session\": 3}").unwrap();
    std::fs::set_permissions(
        env.home(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let text = std::fs::read_to_string(settings_path(&env))
        .unwrap()
        .replace(env!("CARGO_BIN_EXE_orchestron"), "/nowhere/orchestron");
    std::fs::write(settings_path(&env), text).unwrap();
    let run = env.run(&["doctor", "--json"]);
    assert_eq!(run.code, 1);
    let json: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["ok"], false);
    let statuses: Vec<(String, String)> = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["check"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for expected in [
        ("config", "fail"),
        ("permissions", "fail"),
        ("command", "fail"),
    ] {
        assert!(
            statuses.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} in {statuses:?}"
        );
    }
}

#[test]
fn init_keeps_links_permissions_and_read_only_files_as_they_are() {
    use std::os::unix::fs::PermissionsExt as _;
    let env = TestEnv::new();
    let claude = env.path().join(".claude");
    std::fs::create_dir_all(&claude).unwrap();
    // A settings file kept elsewhere and linked, holding a secret: mode 0600.
    let real = env.path().join("dotfiles-settings.json");
    std::fs::write(&real, "{\"env\": {\"TOKEN\": \"s3cret\"}}\n").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::symlink(&real, settings_path(&env)).unwrap();
    env.run(&["init"]).ok();
    let link = std::fs::symlink_metadata(settings_path(&env)).unwrap();
    assert!(link.file_type().is_symlink(), "the link stays a link");
    assert!(
        std::fs::read_to_string(&real)
            .unwrap()
            .contains("orchestron")
    );
    let backup = claude.join("settings.local.json.orchestron-backup");
    assert_eq!(
        backup.metadata().unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(real.metadata().unwrap().permissions().mode() & 0o777, 0o600);
    env.run(&["uninstall"]).ok();
    assert_eq!(
        std::fs::read_to_string(&real).unwrap(),
        "{\"env\": {\"TOKEN\": \"s3cret\"}}\n"
    );

    // A read-only settings file is refused, untouched.
    std::fs::remove_file(settings_path(&env)).unwrap();
    std::fs::write(settings_path(&env), "{}").unwrap();
    std::fs::set_permissions(settings_path(&env), std::fs::Permissions::from_mode(0o444)).unwrap();
    let before = env.disk();
    let stderr = env.refuses(&["init"], 1);
    assert!(stderr.contains("read-only"), "{stderr}");
    assert_eq!(env.disk(), before);
}

#[test]
fn doctor_fails_when_the_plugin_finds_no_binary() {
    let mut env = TestEnv::new();
    let user = env.path().join("user-home");
    std::fs::create_dir_all(user.join(".claude")).unwrap();
    std::fs::write(
        user.join(".claude/settings.json"),
        r#"{"enabledPlugins": {"orchestron@orchestron": true}}"#,
    )
    .unwrap();
    env.set("HOME", user.to_str().unwrap());
    env.set("PATH", "/usr/bin:/bin");
    let run = env.run(&["doctor", "--json"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stdout.contains("find no orchestron binary"), "{run}");
    env.set("ORCHESTRON_BIN", env!("CARGO_BIN_EXE_orchestron"));
    std::fs::create_dir_all(env.home()).unwrap();
    let run = env.run(&["doctor", "--json"]);
    assert_eq!(run.code, 0, "{run}");
}
