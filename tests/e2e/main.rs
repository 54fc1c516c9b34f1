//! End to end with the real Claude Code CLI (version pinned in `claude-code-version`): the
//! CLI runs in fixture projects against a scripted model on 127.0.0.1 (`mock`), and
//! Orchestron's hooks run for real, installed by `orchestron init`, loaded with
//! `--plugin-dir`, or installed from the repository as a local marketplace.
//!
//! Without the CLI every test is compiled `#[ignore]`d and shows as ignored; with `CI=true` they are mandatory.

mod coordination;
mod handoffs;
mod harness;
mod live;
mod mcp;
mod mock;
mod slash;
mod vocab;
mod workers;
mod worktrees;

use serde_json::{Value, json};

use harness::{Fixture, claude_bin, repo_root};

/// A fixture wired with `orchestron init`, or `None` when the CLI is missing.
fn initialized() -> Option<Fixture> {
    let fixture = Fixture::new(claude_bin()?);
    let output = fixture.orchestron(&["init"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(fixture)
}

fn project_config(fixture: &Fixture, config: Value) {
    fixture.write(".orchestron/config.json", &config.to_string());
}

const TOOLS: &[&str] = &[
    "--allowedTools",
    "Bash",
    "Write",
    "Edit",
    "Read",
    "TodoWrite",
];

fn args<'a>(prompt: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["-p", prompt, "--output-format", "json"];
    all.extend_from_slice(TOOLS);
    all.extend_from_slice(extra);
    all
}

#[test]
#[cfg_attr(
    not(claude_cli),
    ignore = "needs the Claude Code CLI: .ci/run installs it, or set CLAUDE_BIN"
)]
fn claude_code_is_the_pinned_version() {
    let Some(claude) = claude_bin() else { return };
    let mut command = std::process::Command::new(claude);
    command.arg("--version").env("DISABLE_AUTOUPDATER", "1");
    let output = harness::output_within(command, harness::RUN_DEADLINE);
    let version = String::from_utf8_lossy(&output.stdout);
    assert!(
        version.starts_with(harness::VERSION.trim()),
        "expected Claude Code {}, got {version}",
        harness::VERSION.trim()
    );
}

/// Scenario 1: to-dos, an edited file, a failing then a passing test, heartbeats, and at
/// the end a handoff.
#[test]
#[cfg_attr(
    not(claude_cli),
    ignore = "needs the Claude Code CLI: .ci/run installs it, or set CLAUDE_BIN"
)]
fn a_session_records_todos_files_tests_and_leaves_a_handoff() {
    let Some(fixture) = initialized() else { return };
    let scenario = json!({"steps": [
        {"tool_use": {"name": "TodoWrite", "input": {"todos": [
            {"content": "Write the app", "status": "in_progress", "activeForm": "Writing the app"},
            {"content": "Make the tests pass", "status": "pending", "activeForm": "Fixing tests"}]}}},
        {"tool_use": {"name": "Write", "input": {"file_path": "{{CWD}}/app.py", "content": "print('hi')\n"}}},
        {"tool_use": {"name": "Bash", "input": {"command": "pytest -q", "description": "Run the tests"}}},
        {"tool_use": {"name": "Write", "input": {"file_path": "{{CWD}}/fixed", "content": "yes\n"}}},
        {"tool_use": {"name": "Bash", "input": {"command": "pytest -q", "description": "Run the tests again"}}},
        {"tool_use": {"name": "TodoWrite", "input": {"todos": [
            {"content": "Write the app", "status": "completed", "activeForm": "Writing the app"},
            {"content": "Make the tests pass", "status": "completed", "activeForm": "Fixing tests"},
            {"content": "Write the docs", "status": "pending", "activeForm": "Writing the docs"}]}}},
        {"text": "The app is written and the tests pass."}
    ]});
    let run = fixture.run("session", scenario, &args("write the app", &[]));
    run.assert_ok();
    let id = run.session_id();
    let info = fixture.orchestron_json(&["session", "info", &id]);
    let state = &info;
    let lifecycle = &info["session"]["lifecycle"];
    assert_eq!(lifecycle["status"], "completed", "{info:#}");
    assert!(lifecycle["ended_at"].is_string(), "{info:#}");
    let todos = &state["execution"]["todos"];
    assert_eq!(todos["source"], "TodoWrite", "{todos:#}");
    assert_eq!(todos["total"], 3);
    assert_eq!(todos["done"], 2);
    let files = state["execution"]["files"].to_string();
    assert!(
        files.contains("app.py") && files.contains("fixed"),
        "{files}"
    );
    let tests = &state["execution"]["tests"];
    assert_eq!(tests["runs"], 2, "{tests:#}");
    assert_eq!(tests["last"]["passed"], true, "{tests:#}");
    let tools = &state["observability"]["metrics"]["tools"];
    assert_eq!(tools["Bash"]["calls"], 2, "{tools:#}");
    assert_eq!(tools["Bash"]["failures"], 1, "{tools:#}");
    // Every prompt and tool call is a heartbeat: one prompt, six tool calls.
    let heartbeats = info["observability"]["metrics"]["heartbeat_count"]
        .as_u64()
        .unwrap();
    assert!(heartbeats >= 7, "{heartbeats} heartbeats: {info:#}");
    assert!(lifecycle["heartbeat"].is_string());
    // The project's handoffs are one document in `.orchestron/handoffs/`; this session's is
    // the one handoff in it.
    let handoffs = fixture.project.join(".orchestron/handoffs");
    let handoff = std::fs::read_dir(&handoffs)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|ext| ext == "json"))
        .expect("a handoff for the project");
    let read =
        || -> Value { serde_json::from_str(&std::fs::read_to_string(&handoff).unwrap()).unwrap() };
    let kept = read()["handoffs"].as_array().unwrap().clone();
    assert_eq!(kept.len(), 1, "{kept:#?}");
    assert_eq!(kept[0]["from_session"], id.as_str());
    assert!(
        kept[0]["next_steps"].to_string().contains("Write the docs"),
        "{kept:#?}"
    );

    // The handoff for the project names what was done and what is left.
    let next = fixture.run(
        "next",
        json!({"steps": [{"text": "ok"}]}),
        &args("what now?", &[]),
    );
    next.assert_ok();
    let sent = next.sent();
    assert!(
        sent.contains("Write the docs"),
        "the handoff did not reach the next session: {}",
        next.context()
    );
    assert!(sent.contains("app.py"), "{}", next.context());
    // That session did nothing, so it left no handoff, and hides nothing from the one after.
    assert_eq!(
        read()["handoffs"].as_array().unwrap().len(),
        1,
        "{:#}",
        read()
    );
}

/// Scenario 2: a project guard rule refuses a Bash command; it does not run, and the reason
/// reaches the model.
#[test]
#[cfg_attr(
    not(claude_cli),
    ignore = "needs the Claude Code CLI: .ci/run installs it, or set CLAUDE_BIN"
)]
fn a_guard_rule_refuses_a_bash_command() {
    let Some(fixture) = initialized() else { return };
    project_config(
        &fixture,
        json!({"hooks": {"guards": [{"name": "no-forbidden", "tool": "Bash",
            "pattern": "touch *forbidden*", "decision": "deny",
            "reason": "forbidden files stay untouched in this project"}]}}),
    );
    let scenario = json!({"steps": [
        {"tool_use": {"name": "Bash", "input": {"command": "touch forbidden.txt", "description": "Touch it"}}},
        {"tool_use": {"name": "Bash", "input": {"command": "touch allowed.txt", "description": "Touch another"}}},
        {"text": "Done."}
    ]});
    let run = fixture.run("guard", scenario, &args("touch the files", &[]));
    run.assert_ok();
    assert!(
        !fixture.project.join("forbidden.txt").exists(),
        "the refused command ran"
    );
    assert!(
        fixture.project.join("allowed.txt").exists(),
        "{}",
        run.context()
    );
    // The refusal comes back to the model as the tool's result.
    let results: Vec<String> = run.turns()[1]["body"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|message| message["content"].as_array().cloned().unwrap_or_default())
        .filter(|block| block["type"] == "tool_result")
        .map(|block| block["content"].to_string())
        .collect();
    assert!(
        results
            .iter()
            .any(|r| r.contains("forbidden files stay untouched in this project")),
        "{results:?}"
    );
    let info = fixture.orchestron_json(&["session", "info", &run.session_id()]);
    assert_eq!(
        info["observability"]["metrics"]["tools"]["Bash"]["calls"], 1,
        "{info:#}"
    );
}

/// Scenario 3: the SessionStart context and an inbox message reach the model, the message
/// only once.
#[test]
#[cfg_attr(
    not(claude_cli),
    ignore = "needs the Claude Code CLI: .ci/run installs it, or set CLAUDE_BIN"
)]
fn session_context_and_an_inbox_message_reach_the_model() {
    let Some(fixture) = initialized() else { return };
    let id = "0b8a1c2e-3f4d-4a5b-8c6d-7e8f9a0b1c2d";
    let created = fixture.orchestron(&["session", "create", "--id", id, "--mode", "sprint"]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let added = fixture.orchestron(&["inbox", "add", "--session", id, "use PostgreSQL, not MySQL"]);
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let scenario = json!({"steps": [
        {"tool_use": {"name": "Bash", "input": {"command": "true", "description": "Nothing"}}},
        {"text": "Noted: PostgreSQL."}
    ]});
    let run = fixture.run(
        "inbox",
        scenario,
        &args("pick a database", &["--session-id", id]),
    );
    run.assert_ok();
    let last = run.turns().last().unwrap()["body"].to_string();
    assert!(
        last.contains(&format!("Orchestron session {id}, mode sprint")),
        "{}",
        run.context()
    );
    assert_eq!(
        last.matches("use PostgreSQL, not MySQL").count(),
        1,
        "the message must reach the model exactly once: {}",
        run.context()
    );
    let unread = fixture.orchestron_json(&["inbox", "list", "--session", id, "--unread"]);
    assert_eq!(unread, json!([]), "delivered messages are read");
}

/// Scenario 4: with `test_before_stop`, a Stop after a failing test is blocked once with the
/// reason; the second Stop (`stop_hook_active`) goes through.
#[test]
#[cfg_attr(
    not(claude_cli),
    ignore = "needs the Claude Code CLI: .ci/run installs it, or set CLAUDE_BIN"
)]
fn stop_is_blocked_once_on_a_failing_test() {
    let Some(fixture) = initialized() else { return };
    project_config(&fixture, json!({"hooks": {"test_before_stop": true}}));
    let scenario = json!({"steps": [
        {"tool_use": {"name": "Write", "input": {"file_path": "{{CWD}}/app.py", "content": "x = 1\n"}}},
        {"tool_use": {"name": "Bash", "input": {"command": "pytest", "description": "Run the tests"}}},
        {"text": "All done."},
        {"text": "The tests still fail; I stop here."}
    ]});
    let run = fixture.run("stop", scenario, &args("write it", &[]));
    run.assert_ok();
    let turns = run.turns();
    assert_eq!(
        turns.len(),
        4,
        "one extra turn for the block, no more: {}",
        run.context()
    );
    let reason = "failed after your last edit";
    assert!(!turns[2]["body"].to_string().contains(reason));
    // Claude Code hands the reason over as the hook's feedback (and again as a system note).
    assert!(
        turns[3]["body"].to_string().contains(reason),
        "{}",
        run.context()
    );
    assert_eq!(run.result()["result"], "The tests still fail; I stop here.");
}

/// The plugin's files, copied without `target/`: what a marketplace install copies.
fn plugin_copy(fixture: &Fixture) -> std::path::PathBuf {
    let dest = fixture.root.join("orchestron-plugin");
    for folder in [".claude-plugin", "hooks"] {
        std::fs::create_dir_all(dest.join(folder)).unwrap();
        for entry in std::fs::read_dir(repo_root().join(folder)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), dest.join(folder).join(entry.file_name())).unwrap();
        }
    }
    dest
}

fn one_bash_call(fixture: &Fixture, name: &str, extra: &[&str]) -> harness::Run {
    let scenario = json!({"steps": [
        {"tool_use": {"name": "Bash", "input": {"command": "touch made.txt", "description": "Make it"}}},
        {"text": "Made."}
    ]});
    let run = fixture.run(name, scenario, &args("make the file", extra));
    run.assert_ok();
    assert!(
        fixture.project.join("made.txt").exists(),
        "{}",
        run.context()
    );
    run
}

fn assert_hooks_ran(fixture: &Fixture, run: &harness::Run) {
    let info = fixture.orchestron_json(&["session", "info", &run.session_id()]);
    assert_eq!(
        info["session"]["lifecycle"]["status"], "completed",
        "{info:#}"
    );
    assert_eq!(
        info["observability"]["metrics"]["tools"]["Bash"]["calls"], 1,
        "{info:#}"
    );
}

/// Scenario 5: `orchestron init`, the plugin through `--plugin-dir`, and the plugin from a
/// local marketplace all run the hooks.
#[test]
#[cfg_attr(
    not(claude_cli),
    ignore = "needs the Claude Code CLI: .ci/run installs it, or set CLAUDE_BIN"
)]
fn every_installation_runs_the_hooks() {
    let Some(claude) = claude_bin() else { return };

    let fixture = initialized().unwrap();
    let run = one_bash_call(&fixture, "init", &[]);
    assert_hooks_ran(&fixture, &run);

    let fixture = Fixture::new(claude.clone());
    let root = repo_root().to_str().unwrap();
    let run = one_bash_call(&fixture, "plugin-dir", &["--plugin-dir", root]);
    assert_hooks_ran(&fixture, &run);

    // The repository is its own marketplace; its entry points at `plugin/`, which links
    // only the plugin's parts, so an install copies them and not `target/`.
    let fixture = Fixture::new(claude);
    for step in [
        vec!["plugin", "marketplace", "add", root],
        vec![
            "plugin",
            "install",
            "orchestron@orchestron",
            "--scope",
            "project",
        ],
    ] {
        let output = harness::output_within(fixture.claude_command(&step), harness::RUN_DEADLINE);
        assert!(
            output.status.success(),
            "claude {step:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let installed = fixture
        .home
        .join(".claude/plugins/cache/orchestron/orchestron");
    let installed = std::fs::read_dir(&installed)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut names: Vec<String> = std::fs::read_dir(&installed)
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
        ],
        "what an install copies"
    );
    // The installed copy holds real files, so it validates without link warnings.
    let output = harness::output_within(
        fixture.claude_command(&["plugin", "validate", installed.to_str().unwrap()]),
        harness::RUN_DEADLINE,
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && text.contains("Validation passed"),
        "{text}"
    );
    let run = one_bash_call(&fixture, "marketplace", &[]);
    assert_hooks_ran(&fixture, &run);
    // The installed copy's slash commands run too.
    let scenario = json!({"steps": [{"text": "Board shown."}]});
    let run = fixture.run(
        "marketplace-board",
        scenario,
        &args("/orchestron:sprint board", &[]),
    );
    run.assert_ok();
    let prompt = run.turns()[0]["body"]["messages"].to_string();
    assert!(
        prompt.contains("orchestron board") && prompt.contains("wip_limit"),
        "{}",
        run.context()
    );
}

/// Without any orchestron binary the plugin's hooks do nothing and block nothing.
#[test]
#[cfg_attr(
    not(claude_cli),
    ignore = "needs the Claude Code CLI: .ci/run installs it, or set CLAUDE_BIN"
)]
fn a_missing_binary_never_blocks_a_tool_call() {
    let Some(claude) = claude_bin() else { return };
    let mut fixture = Fixture::new(claude);
    fixture.orchestron_on_path = false;
    let source = plugin_copy(&fixture);
    let run = one_bash_call(
        &fixture,
        "no-binary",
        &["--plugin-dir", source.to_str().unwrap()],
    );
    assert!(
        !fixture.project.join(".orchestron").exists(),
        "{}",
        run.context()
    );
}

/// Scenario 6: `claude plugin validate .` passes on the repository.
#[test]
#[cfg_attr(
    not(claude_cli),
    ignore = "needs the Claude Code CLI: .ci/run installs it, or set CLAUDE_BIN"
)]
fn the_plugin_validates() {
    let Some(claude) = claude_bin() else { return };
    let fixture = Fixture::new(claude);
    let output = harness::output_within(
        fixture.claude_command(&["plugin", "validate", repo_root().to_str().unwrap()]),
        harness::RUN_DEADLINE,
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("Validation passed"), "{text}");
}
