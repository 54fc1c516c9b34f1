//! Regression tests for issue 11's smaller findings, end to end: the shipped guard read as a
//! shell reads a command (7), an out-of-range expiry (4), `slash --stdin` on bytes that are
//! not UTF-8 (9), session ids that look like options (15), and the import line bound.

use std::io::Write as _;
use std::process::Stdio;

use serde_json::{Value, json};

use crate::{Run, TestEnv, wait_with_timeout};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/hook-payloads");

/// Run the binary with `input` (any bytes) on stdin; a child that exits before reading all
/// of it is fine.
fn run_with_bytes(env: &TestEnv, args: &[&str], input: &[u8]) -> Run {
    let mut child = env
        .command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut stdin = child.stdin.take().expect("stdin");
    // Written on a thread: a child that refuses early must not leave the test blocked on a
    // full pipe.
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        if let Err(err) = stdin.write_all(&input)
            && err.kind() != std::io::ErrorKind::BrokenPipe
        {
            panic!("cannot write stdin: {err}");
        }
    });
    let output = wait_with_timeout(child, crate::CHILD_LIMIT);
    writer.join().expect("the writer");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The real PreToolUse payload of a Bash call, with `command`.
fn bash_call(command: &str) -> String {
    let text = std::fs::read_to_string(format!("{FIXTURES}/PreToolUse.json")).unwrap();
    let mut payload: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(payload["tool_name"], "Bash");
    payload["tool_input"]["command"] = json!(command);
    payload.to_string()
}

fn write_config(env: &TestEnv, config: &str) {
    std::fs::create_dir_all(env.home()).unwrap();
    std::fs::write(env.home().join("config.json"), config).unwrap();
}

#[test]
fn finding_07_the_guard_reads_the_command_as_a_shell_splits_it() {
    let env = TestEnv::new();
    for bypass in [
        r"\rm -rf /",
        r#""rm" -rf /"#,
        "rm -rf //",
        "rm -rf ${HOME}/",
        "rm -rf ~/.",
        "rm -rf $HOME/.",
        "rm -rf /usr/..",
        "find / -delete",
        "sudo bash -c 'cd / && rm -rf *'",
        "echo $(rm -r ~)",
    ] {
        let run = run_with_bytes(&env, &["hook", "PreToolUse"], bash_call(bypass).as_bytes());
        let reply: Value = serde_json::from_str(run.ok())
            .unwrap_or_else(|err| panic!("`{bypass}` got no reply ({err})\n{run}"));
        let output = &reply["hookSpecificOutput"];
        assert_eq!(output["hookEventName"], "PreToolUse", "{bypass}");
        assert_eq!(output["permissionDecision"], "deny", "{bypass}");
        assert!(
            output["permissionDecisionReason"]
                .as_str()
                .unwrap()
                .starts_with("Orchestron guard `rm-rf-root`: refusing "),
            "{bypass}: {reply}"
        );
    }
    for fine in [
        "echo rm -rf /",
        r#"grep "rm -rf /" file"#,
        "git log --grep='find / -delete'",
        "rm -rf target",
    ] {
        let run = run_with_bytes(&env, &["hook", "PreToolUse"], bash_call(fine).as_bytes());
        assert_eq!(run.ok(), "", "`{fine}` was refused\n{run}");
    }
    assert!(!env.sessions().exists(), "guards read and write no state");
    // Switched off by its name, the rule lets even the plainest spelling through.
    write_config(&env, r#"{"hooks": {"disabled_guards": ["rm-rf-root"]}}"#);
    let run = run_with_bytes(
        &env,
        &["hook", "PreToolUse"],
        bash_call("rm -rf /").as_bytes(),
    );
    assert_eq!(run.ok(), "", "{run}");
}

#[test]
fn finding_04_an_expiry_past_the_range_fails_commands_and_hooks_without_panicking() {
    let env = TestEnv::new();
    write_config(&env, r#"{"session": {"expiry": {"development": 1e20}}}"#);
    // A command: an ordinary failure that names the key, and nothing created.
    let stderr = env.refuses(&["session", "create", "--id", "s1"], 1);
    assert!(stderr.contains("`session.expiry.development`"), "{stderr}");
    assert!(stderr.contains("longest expiry"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let run = env.run(&["--json", "session", "create", "--id", "s1"]);
    let error: Value = serde_json::from_str(run.fails(1)).unwrap();
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("session.expiry.development"),
        "{error}"
    );
    // A hook: exit 1 (Claude Code goes on), never 2 (a block) nor a panic's 101.
    let start = std::fs::read_to_string(format!("{FIXTURES}/SessionStart.json")).unwrap();
    let run = run_with_bytes(&env, &["hook", "SessionStart"], start.as_bytes());
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("session.expiry.development"), "{run}");
    assert!(!env.sessions().exists(), "a failed hook creates nothing");
    // The shipped guards still hold on a broken configuration.
    let run = run_with_bytes(
        &env,
        &["hook", "PreToolUse"],
        bash_call("rm -rf /").as_bytes(),
    );
    assert!(run.ok().contains("\"deny\""), "{run}");
    // And `slash` reports it as data, exiting 0.
    let reply: Value = serde_json::from_str(env.run(&["slash", "task", "--json"]).ok()).unwrap();
    assert!(
        reply["results"][0]["error"]
            .as_str()
            .unwrap()
            .contains("session.expiry.development")
    );
    // At the bound the configuration holds.
    write_config(&env, r#"{"session": {"expiry": {"development": 876000}}}"#);
    env.run(&["session", "create", "--id", "s1"]).ok();
    let expiry = env.document("s1")["session"]["lifecycle"]["expiry"].clone();
    assert_eq!(expiry, "2125-12-08T00:00:00Z", "{expiry}");
}

#[test]
fn finding_09_slash_stdin_reports_bytes_that_are_not_utf8_as_data() {
    let env = TestEnv::new();
    let run = run_with_bytes(
        &env,
        &["slash", "task", "--json", "--stdin"],
        b"next \xff\xfe\n",
    );
    let reply: Value = serde_json::from_str(run.ok()).unwrap();
    assert_eq!(reply["command"], "task");
    assert_eq!(reply["arguments"], json!([]));
    let results = reply["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{reply}");
    assert_eq!(results[0]["run"], Value::Null);
    assert!(
        results[0]["error"]
            .as_str()
            .unwrap()
            .contains("not UTF-8 (invalid at byte 5)"),
        "{reply}"
    );
    // As text too, and it creates nothing.
    let run = run_with_bytes(&env, &["slash", "task", "--stdin"], b"\xc3");
    assert!(
        run.ok()
            .contains("error: the arguments on stdin are not UTF-8"),
        "{run}"
    );
    assert!(!env.home().exists(), "slash changes nothing");
    // Valid UTF-8 still works.
    let run = run_with_bytes(
        &env,
        &["slash", "task", "--json", "--stdin"],
        "né\n".as_bytes(),
    );
    let reply: Value = serde_json::from_str(run.ok()).unwrap();
    assert_eq!(reply["arguments"], json!(["né"]));
}

#[test]
fn finding_15_session_ids_that_look_like_options_are_refused_everywhere() {
    let mut env = TestEnv::new();
    for args in [
        &["session", "create", "--id=--help"][..],
        &["session", "create", "--id=-x"],
        &["session", "info", "--", "-x"],
        &["state", "set", "--create", "--", "--help", "a", "1"],
        &["inbox", "add", "--session=--help", "hello"],
    ] {
        let stderr = env.refuses(args, 1);
        assert!(
            stderr.contains("starts with `-`, like an option"),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains("not starting with `.` or `-`"),
            "{args:?}: {stderr}"
        );
    }
    env.set("ORCHESTRON_SESSION", "--help");
    let stderr = env.refuses(&["context"], 1);
    assert!(stderr.contains("starts with `-`"), "{stderr}");
    env.unset("ORCHESTRON_SESSION");
    // A hook payload's id: an ordinary failure (exit 1, never the 2 of a block), nothing
    // created, and the guard decides nothing for an id it cannot use.
    for event in ["SessionStart", "PreToolUse", "PostToolUse", "SessionEnd"] {
        let text = std::fs::read_to_string(format!("{FIXTURES}/{event}.json")).unwrap();
        let mut payload: Value = serde_json::from_str(&text).unwrap();
        payload["session_id"] = json!("--help");
        let before = env.disk();
        let run = run_with_bytes(&env, &["hook", event], payload.to_string().as_bytes());
        assert_eq!(run.code, 1, "{event}\n{run}");
        assert!(run.stderr.contains("starts with `-`"), "{event}\n{run}");
        assert_eq!(before, env.disk(), "{event} changed files");
    }
    // An id that only contains a `-` is fine.
    env.run(&["session", "create", "--id", "a-b"]).ok();
}

/// A line of exactly `length` bytes that import accepts: the export header, padded.
fn padded_header(length: usize) -> String {
    let header = r#"{"type": "orchestron-export", "version": 1}"#;
    format!("{header}{}", " ".repeat(length - header.len()))
}

const MAX_LINE_BYTES: usize = 1 << 20;

#[test]
fn import_line_bound_is_read_at_the_bound_and_refused_past_it_changing_nothing() {
    let env = TestEnv::new();
    let item = r#"{"type": "item", "id": "TASK-1", "kind": "TASK", "title": "t", "status": "TODO", "priority": "MEDIUM"}"#;
    // At the bound: read, with `\n` or `\r\n` after it.
    for ending in ["\n", "\r\n"] {
        let path = env.path().join("at.jsonl");
        let text = format!("{}{ending}{item}\n", padded_header(MAX_LINE_BYTES));
        std::fs::write(&path, text).unwrap();
        let run = env.run(&["--json", "import", path.to_str().unwrap()]);
        let summary: Value = serde_json::from_str(run.ok()).unwrap();
        assert_eq!(summary["items"], 1, "{summary}");
    }
    std::fs::remove_file(env.path().join("at.jsonl")).unwrap();
    // One byte past it, from a file: refused, naming the line, and nothing changes.
    let path = env.path().join("past.jsonl");
    let text = format!(
        "{}\n{item}\n{}\n",
        padded_header(100),
        padded_header(MAX_LINE_BYTES + 1)
    );
    std::fs::write(&path, text).unwrap();
    let stderr = env.refuses(&["import", path.to_str().unwrap()], 1);
    assert!(
        stderr.contains("line 3 is longer than 1048576 bytes, the longest line import reads"),
        "{stderr}"
    );
    // From stdin, a line far past it is refused before the rest is read.
    let fresh = TestEnv::new();
    let mut huge = format!("{item}\n").into_bytes();
    huge.extend(std::iter::repeat_n(b' ', 64 * MAX_LINE_BYTES));
    let run = run_with_bytes(&fresh, &["--json", "import", "-"], &huge);
    let error: Value = serde_json::from_str(run.fails(1)).unwrap();
    assert_eq!(error["error"]["kind"], "invalid", "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("line 2 is longer than"),
        "{error}"
    );
    assert!(!fresh.home().exists(), "a refused import creates nothing");
    // A line that is not UTF-8 is named too.
    let path = fresh.path().join("latin1.jsonl");
    std::fs::write(
        &path,
        b"{\"type\": \"orchestron-export\", \"version\": 1}\n\xe9\n",
    )
    .unwrap();
    let stderr = fresh.refuses(&["import", path.to_str().unwrap()], 1);
    assert!(stderr.contains("line 2 is not UTF-8"), "{stderr}");
}
