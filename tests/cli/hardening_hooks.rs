//! Finding 6 of the hardening issue: hooks must neither amplify memory nor bloat a session
//! for good. Every recorded string and list has a cap and a mark where it was cut, a session
//! document the hooks write stays under a fixed size, and a payload of any size is read up to
//! a limit and recorded as far as it goes, exit 0.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write as _;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::TimedChild as _;
use crate::{Run, TestEnv};

/// `MAX_HOOK_DOCUMENT_BYTES` in `src/hook/limits.rs`.
const MAX_HOOK_DOCUMENT_BYTES: u64 = 2 * 1024 * 1024;
/// `MAX_PAYLOAD_BYTES` in `src/hook/limits.rs`.
const MAX_PAYLOAD_BYTES: usize = 16 * 1024 * 1024;
/// `MAX_TODOS`, `MAX_TEXT_CHARS`, `MAX_NAME_CHARS`, `MAX_ID_CHARS`, `MAX_PATH_CHARS`.
const MAX_TODOS: usize = 100;
const MAX_TEXT_CHARS: usize = 500;
const MAX_NAME_CHARS: usize = 128;
const MAX_ID_CHARS: usize = 128;
const MAX_PATH_CHARS: usize = 512;
/// The mark at the end of a string that was cut.
const MARK: char = '…';

const ID: &str = "6a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d";

fn hook(env: &TestEnv, event: &str, input: &str) -> Run {
    env.run_with_stdin(&["hook", event], input)
}

fn document_size(env: &TestEnv) -> u64 {
    std::fs::metadata(env.sessions().join(format!("{ID}.json")))
        .unwrap()
        .len()
}

/// The payload of a TodoWrite of `count` pending to-dos, as in the report (12 MB for 300,000).
fn todo_write(count: usize) -> String {
    let todos: Vec<Value> = (0..count)
        .map(|i| json!({"content": format!("to-do {i}"), "status": "pending"}))
        .collect();
    json!({"session_id": ID, "hook_event_name": "PostToolUse", "tool_name": "TodoWrite",
           "tool_input": {"todos": todos}})
    .to_string()
}

/// `text` was cut at `max` characters and marked.
#[track_caller]
fn assert_clipped(text: &Value, max: usize) {
    let text = text
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {text}"));
    assert_eq!(text.chars().count(), max + 1, "{text}");
    assert!(text.ends_with(MARK), "{text}");
}

#[test]
fn finding_06_a_300000_todo_write_leaves_a_small_document() {
    let env = TestEnv::new();
    let input = todo_write(300_000);
    assert!(input.len() > 10_000_000, "{} bytes", input.len());
    hook(&env, "PostToolUse", &input).ok();
    let size = document_size(&env);
    assert!(size < MAX_HOOK_DOCUMENT_BYTES, "{size} bytes");
    let todos = &env.document(ID)["execution"]["todos"];
    assert_eq!(todos["items"].as_array().unwrap().len(), MAX_TODOS);
    assert_eq!(todos["items"][0]["content"], "to-do 0");
    assert_eq!(todos["items_omitted"], 300_000 - MAX_TODOS);
    assert_eq!(todos["total"], 300_000);
    assert_eq!(todos["done"], 0);

    // The hooks that follow read a small document, and say what was left out.
    let bash = json!({"session_id": ID, "tool_name": "Bash", "tool_input": {"command": "ls"}});
    hook(&env, "PostToolUse", &bash.to_string()).ok();
    assert!(document_size(&env) < MAX_HOOK_DOCUMENT_BYTES);
    let line = env
        .run_with_stdin(&["statusline"], &json!({"session_id": ID}).to_string())
        .ok()
        .to_owned();
    assert!(line.contains("to-dos 0/300000"), "{line}");
    let start = json!({"session_id": ID, "source": "resume"}).to_string();
    let reply: Value = serde_json::from_str(hook(&env, "SessionStart", &start).ok()).unwrap();
    let context = reply["hookSpecificOutput"]["additionalContext"]
        .as_str()
        .unwrap();
    assert!(
        context.contains("Open to-dos: to-do 0; to-do 1;"),
        "{context}"
    );
    let compact = json!({"session_id": ID, "trigger": "auto"}).to_string();
    hook(&env, "PreCompact", &compact).ok();
    let snapshot = &env.document(ID)["execution"]["snapshot"];
    assert_eq!(snapshot["open_todos"].as_array().unwrap().len(), MAX_TODOS);
    assert!(document_size(&env) < MAX_HOOK_DOCUMENT_BYTES);
}

#[test]
fn finding_06_long_strings_are_capped_and_marked() {
    let env = TestEnv::new();
    let long = |c: char| c.to_string().repeat(1_000_000);
    let calls = [
        (
            "PostToolUse",
            json!({"tool_name": long('t'), "tool_input": {}}),
        ),
        (
            "PostToolUse",
            json!({"tool_name": "Edit", "tool_input": {"file_path": format!("/p/{}", long('f'))}}),
        ),
        (
            "PostToolUse",
            json!({"tool_name": "TodoWrite",
                   "tool_input": {"todos": [{"content": long('c'), "status": long('s')}]}}),
        ),
        (
            "PostToolUse",
            json!({"tool_name": "TaskCreate", "tool_input": {"subject": long('u')},
                   "tool_response": {"task": {"id": long('i')}}}),
        ),
        (
            "TaskCreated",
            json!({"task_id": long('k'), "task_subject": long('v')}),
        ),
        (
            "PostToolUseFailure",
            json!({"tool_name": "Bash", "tool_input": {"command": format!("cargo test {}", long('x'))},
                   "error": long('e')}),
        ),
        (
            "SubagentStart",
            json!({"agent_id": long('a'), "agent_type": long('y')}),
        ),
        (
            "SubagentStop",
            json!({"agent_id": long('a'), "agent_type": "Explore",
                   "last_assistant_message": long('m')}),
        ),
        ("PreCompact", json!({"trigger": long('g')})),
    ];
    for (event, mut payload) in calls {
        payload["session_id"] = json!(ID);
        let run = hook(&env, event, &payload.to_string());
        assert_eq!(run.code, 0, "{event}\n{run}");
    }
    let size = document_size(&env);
    assert!(size < 100_000, "{size} bytes");
    let doc = env.document(ID);
    let tools = doc["observability"]["metrics"]["tools"]
        .as_object()
        .unwrap();
    let name = tools.keys().find(|name| name.starts_with('t')).unwrap();
    assert_clipped(&json!(name), MAX_NAME_CHARS);
    let files = doc["execution"]["files"].as_object().unwrap();
    assert_clipped(&json!(files.keys().next().unwrap()), MAX_PATH_CHARS);
    let items = &doc["execution"]["todos"]["items"];
    // TaskCreate started a Task-tool list in place of the TodoWrite one, with both tasks.
    assert_eq!(items.as_array().unwrap().len(), 2, "{items}");
    for item in items.as_array().unwrap() {
        assert_clipped(&item["id"], MAX_ID_CHARS);
        assert_clipped(&item["content"], MAX_TEXT_CHARS);
    }
    let last = &doc["execution"]["tests"]["last"];
    assert_clipped(&last["command"], MAX_TEXT_CHARS);
    assert_clipped(&last["error"], MAX_TEXT_CHARS);
    let agents = doc["execution"]["agents"].as_object().unwrap();
    assert_eq!(agents.len(), 1, "start and stop are the same agent");
    let (agent_id, agent) = agents.iter().next().unwrap();
    assert_clipped(&json!(agent_id), MAX_ID_CHARS);
    assert_eq!(agent["type"], "Explore");
    assert_clipped(&agent["last_message"], MAX_TEXT_CHARS);
    assert_clipped(&doc["execution"]["snapshot"]["trigger"], MAX_NAME_CHARS);

    // The to-do of a TodoWrite, before the Task tools replaced it.
    let todo_write = json!({"session_id": ID, "tool_name": "TodoWrite",
        "tool_input": {"todos": [{"content": long('c'), "status": long('s')}]}});
    hook(&env, "PostToolUse", &todo_write.to_string()).ok();
    let item = &env.document(ID)["execution"]["todos"]["items"][0];
    assert_clipped(&item["content"], MAX_TEXT_CHARS);
    assert_clipped(&item["status"], MAX_NAME_CHARS);

    // A session's end reason goes into the project's handoff, capped too.
    let end = json!({"session_id": ID, "reason": long('r')}).to_string();
    hook(&env, "SessionEnd", &end).ok();
    let (_, handoff) = env.project_handoff();
    assert_clipped(&handoff["reason"], MAX_NAME_CHARS);
}

/// A payload of exactly `size` bytes: an Edit whose `tool_input` comes after a padding in
/// `tool_response`, so that it is read only when the whole payload is.
fn padded_edit(size: usize) -> Vec<u8> {
    let head = format!(r#"{{"session_id":"{ID}","tool_name":"Edit","tool_response":{{"pad":""#);
    let tail = r#""},"tool_input":{"file_path":"/p/after-the-pad.rs"}}"#;
    let mut payload = head.into_bytes();
    payload.resize(size - tail.len(), b'x');
    payload.extend_from_slice(tail.as_bytes());
    assert_eq!(payload.len(), size);
    payload
}

#[test]
fn finding_06_a_payload_at_the_limit_is_read_whole_and_past_it_is_cut() {
    let env = TestEnv::new();
    let at = String::from_utf8(padded_edit(MAX_PAYLOAD_BYTES)).unwrap();
    hook(&env, "PostToolUse", &at).ok();
    let doc = env.document(ID);
    assert_eq!(doc["execution"]["files"]["/p/after-the-pad.rs"]["edits"], 1);
    assert_eq!(
        doc["observability"]["event_counts"].get("hook_payload_cut"),
        None
    );

    // One byte past the limit, only the last `}` is cut: everything is recorded, and an
    // event says the payload was cut.
    let past = String::from_utf8(padded_edit(MAX_PAYLOAD_BYTES + 1)).unwrap();
    hook(&env, "PostToolUse", &past).ok();
    let doc = env.document(ID);
    assert_eq!(doc["execution"]["files"]["/p/after-the-pad.rs"]["edits"], 2);
    assert_eq!(doc["observability"]["event_counts"]["hook_payload_cut"], 1);

    // Further past it, the call is counted but its file, after the cut, is not.
    let past = String::from_utf8(padded_edit(MAX_PAYLOAD_BYTES + 100)).unwrap();
    let run = hook(&env, "PostToolUse", &past);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.stdout, "");
    let doc = env.document(ID);
    assert_eq!(doc["observability"]["metrics"]["tools"]["Edit"]["calls"], 3);
    assert_eq!(doc["execution"]["files"]["/p/after-the-pad.rs"]["edits"], 2);
    assert_eq!(doc["observability"]["event_counts"]["hook_payload_cut"], 2);
    let events = doc["observability"]["events"].as_array().unwrap();
    let cut = events
        .iter()
        .find(|e| e["type"] == "hook_payload_cut")
        .unwrap();
    assert_eq!(cut["data"]["kept_bytes"], MAX_PAYLOAD_BYTES);

    // Cut before its `session_id`, a payload fails (exit 1, not 2) and changes nothing.
    let mut early = br#"{"pad":""#.to_vec();
    early.resize(MAX_PAYLOAD_BYTES + 10, b'x');
    early.extend_from_slice(format!(r#"","session_id":"{ID}"}}"#).as_bytes());
    let before = env.disk();
    let run = hook(&env, "PostToolUse", &String::from_utf8(early).unwrap());
    assert_eq!(run.code, 1, "{run}");
    assert_eq!(run.stderr.lines().count(), 1, "{run}");
    assert!(run.stderr.contains("no `session_id` before that"), "{run}");
    assert_eq!(env.disk(), before);
}

#[test]
fn finding_06_past_the_limit_the_guards_still_check_or_ask() {
    let env = TestEnv::new();
    // The tool input came whole before the cut: the guards check it as ever.
    let mut whole = format!(
        r#"{{"session_id":"{ID}","tool_name":"Bash","tool_input":{{"command":"rm -rf /"}},"later":""#
    )
    .into_bytes();
    whole.resize(MAX_PAYLOAD_BYTES + 100, b'x');
    whole.extend_from_slice(br#""}"#);
    let reply: Value =
        serde_json::from_str(hook(&env, "PreToolUse", &String::from_utf8(whole).unwrap()).ok())
            .unwrap();
    assert_eq!(reply["hookSpecificOutput"]["permissionDecision"], "deny");

    // A command cut at the limit cannot be checked: Claude Code asks the person.
    let mut cut =
        format!(r#"{{"session_id":"{ID}","tool_name":"Bash","tool_input":{{"command":"echo "#)
            .into_bytes();
    cut.resize(MAX_PAYLOAD_BYTES + 100, b'x');
    cut.extend_from_slice(br#" && rm -rf /"}}"#);
    let cut = String::from_utf8(cut).unwrap();
    let run = hook(&env, "PreToolUse", &cut);
    let reply: Value = serde_json::from_str(run.ok()).unwrap();
    assert_eq!(reply["hookSpecificOutput"]["permissionDecision"], "ask");
    let reason = reply["hookSpecificOutput"]["permissionDecisionReason"]
        .as_str()
        .unwrap();
    assert!(reason.contains("16 MiB"), "{reason}");

    // With every guard off, there is nothing to check and nothing to ask.
    std::fs::create_dir_all(env.home()).unwrap();
    std::fs::write(
        env.home().join("config.json"),
        json!({"hooks": {"disabled_guards": ["*"]}}).to_string(),
    )
    .unwrap();
    assert_eq!(hook(&env, "PreToolUse", &cut).ok(), "");
}

#[test]
fn finding_06_a_50_mb_payload_exits_0_and_records() {
    let env = TestEnv::new();
    // A Read of a 50 MB file: Claude Code sends the content in `tool_response`.
    let content = "x".repeat(50_000_000);
    let read = json!({"session_id": ID, "tool_name": "Read",
        "tool_input": {"file_path": "/p/big.log"},
        "tool_response": {"type": "text", "file": {"filePath": "/p/big.log", "content": content}}});
    let (run, peak) = hook_with_peak_memory(&env, "PostToolUse", read.to_string().into_bytes());
    assert_eq!(run.code, 0, "{run}");
    let doc = env.document(ID);
    assert_eq!(doc["observability"]["metrics"]["tools"]["Read"]["calls"], 1);
    assert_eq!(doc["observability"]["event_counts"]["hook_payload_cut"], 1);
    // Before the fix such a payload took hundreds of MB (a 50 MB list of numbers, 1.1 GB).
    assert_small_peak(peak);

    // A 50 MB list of numbers, the shape that amplified memory most.
    let numbers = format!(
        r#"{{"session_id":"{ID}","tool_name":"Bash","tool_input":{{"command":"seq"}},"tool_response":{{"stdout":[{}0]}}}}"#,
        "0,".repeat(25_000_000)
    );
    let (run, peak) = hook_with_peak_memory(&env, "PostToolUse", numbers.into_bytes());
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(
        env.document(ID)["observability"]["metrics"]["tools"]["Bash"]["calls"],
        1
    );
    assert_small_peak(peak);

    // The 300,000 to-dos of the report, under the limit and read whole.
    let (run, peak) = hook_with_peak_memory(&env, "PostToolUse", todo_write(300_000).into_bytes());
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(env.document(ID)["execution"]["todos"]["total"], 300_000);
    assert_small_peak(peak);
}

/// The hook's peak resident memory stayed under 64 MiB: its 16 MiB of input and a bounded rest.
/// Measured where `/proc` gives it (Linux), and required there.
#[track_caller]
fn assert_small_peak(peak: Option<u64>) {
    if cfg!(target_os = "linux") {
        let peak = peak.expect("the hook's VmHWM");
        assert!(peak < 64 * 1024, "peak resident memory {peak} KiB");
    }
}

/// Run `hook EVENT` with `input` on stdin; returns what it did and, on Linux, its peak
/// resident memory in KiB (`VmHWM`), read while it holds the session's lock, after it has
/// read and parsed its whole payload.
fn hook_with_peak_memory(env: &TestEnv, event: &str, input: Vec<u8>) -> (Run, Option<u64>) {
    let gate = env.path().join("gate");
    let _ = std::fs::remove_file(&gate);
    let mut child = env
        .command(&["hook", event])
        .env(
            "ORCHESTRON_TEST_LOCK_HOLD",
            format!("until:{}", gate.display()),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || match stdin.write_all(&input) {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => panic!("{err}"),
        _ => {}
    });
    let lock = env.sessions().join(format!("{ID}.lock"));
    let peak = wait_until_locked(&lock)
        .then(|| peak_memory(child.id()))
        .flatten();
    File::create(&gate).unwrap();
    writer.join().unwrap();
    let output = child.timed_wait_with_output().unwrap();
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    (run, peak)
}

/// The peak resident memory of process `pid` in KiB, where `/proc` says it.
fn peak_memory(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Wait until another process holds the lock at `path`; false if none did within 60 s.
fn wait_until_locked(path: &Path) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(file) = OpenOptions::new().write(true).open(path) {
            match file.try_lock() {
                Err(TryLockError::WouldBlock) => return true,
                Ok(()) => drop(file),
                Err(TryLockError::Error(err)) => panic!("{err}"),
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    false
}

/// Each string cap at its bound keeps the string whole, unmarked; one character past it cuts
/// and marks it.
#[test]
fn finding_06_string_caps_hold_at_the_bound_and_cut_one_past_it() {
    for extra in [0, 1] {
        let env = TestEnv::new();
        let text = |c: char, max: usize| c.to_string().repeat(max + extra);
        let calls = [
            json!({"tool_name": text('t', MAX_NAME_CHARS), "tool_input": {}}),
            json!({"tool_name": "Write", "tool_input": {"file_path": format!("/{}", text('f', MAX_PATH_CHARS - 1))}}),
            json!({"tool_name": "TodoWrite",
                   "tool_input": {"todos": [{"content": text('c', MAX_TEXT_CHARS), "status": "pending"}]}}),
        ];
        for mut payload in calls {
            payload["session_id"] = json!(ID);
            hook(&env, "PostToolUse", &payload.to_string()).ok();
        }
        let start = json!({"session_id": ID, "agent_id": text('a', MAX_ID_CHARS)});
        hook(&env, "SubagentStart", &start.to_string()).ok();
        let doc = env.document(ID);
        let strings = [
            (
                json!(
                    doc["observability"]["metrics"]["tools"]
                        .as_object()
                        .unwrap()
                        .keys()
                        .find(|name| name.starts_with('t'))
                        .unwrap()
                ),
                MAX_NAME_CHARS,
            ),
            (
                json!(
                    doc["execution"]["files"]
                        .as_object()
                        .unwrap()
                        .keys()
                        .next()
                        .unwrap()
                ),
                MAX_PATH_CHARS,
            ),
            (
                doc["execution"]["todos"]["items"][0]["content"].clone(),
                MAX_TEXT_CHARS,
            ),
            (
                json!(
                    doc["execution"]["agents"]
                        .as_object()
                        .unwrap()
                        .keys()
                        .next()
                        .unwrap()
                ),
                MAX_ID_CHARS,
            ),
        ];
        for (value, max) in strings {
            if extra == 0 {
                let text = value.as_str().unwrap();
                assert_eq!(text.chars().count(), max, "{text}");
                assert!(!text.ends_with(MARK), "{text}");
            } else {
                assert_clipped(&value, max);
            }
        }
    }
}
