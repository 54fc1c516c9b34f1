//! Many processes writing one session at once: nothing may be lost, and handoffs neither lose
//! writes made to their source nor deadlock when they cross. Every writer is a separate
//! process, as hooks and agents are.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::{Run, TestEnv};

fn spawn(env: &TestEnv, args: &[&str], hold: Option<&str>) -> Child {
    let mut command = env.command(args);
    if let Some(hold) = hold {
        command.env("ORCHESTRON_TEST_LOCK_HOLD", hold);
    }
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: Child) -> Run {
    let output = child.wait_with_output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Wait until another process holds the lock at `path`.
fn wait_until_locked(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(file) = OpenOptions::new().write(true).open(path) {
            match file.try_lock() {
                Err(TryLockError::WouldBlock) => return,
                Ok(()) => drop(file),
                Err(TryLockError::Error(err)) => panic!("{err}"),
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("nobody took the lock `{}`", path.display());
}

#[test]
fn twenty_parallel_sets_of_distinct_keys_keep_all_twenty() {
    let env = TestEnv::new();
    env.session("s");
    let keys: Vec<String> = (0..20).map(|i| format!("keys.k{i}")).collect();
    let children: Vec<Child> = keys
        .iter()
        .map(|key| spawn(&env, &["state", "set", "s", key, "v"], None))
        .collect();
    for child in children {
        finish(child).ok();
    }
    let doc = env.document("s");
    assert_eq!(doc["keys"].as_object().unwrap().len(), 20, "{doc:#}");
}

#[test]
fn parallel_merges_and_heartbeats_lose_nothing() {
    let env = TestEnv::new();
    env.session("s");
    let mut children = Vec::new();
    for i in 0..10 {
        let data = json!({ format!("m{i}"): i }).to_string();
        children.push(spawn(
            &env,
            &["state", "merge", "s", "merged", "--data", &data],
            None,
        ));
        children.push(spawn(&env, &["session", "heartbeat", "s"], None));
    }
    for child in children {
        finish(child).ok();
    }
    let doc = env.document("s");
    assert_eq!(doc["merged"].as_object().unwrap().len(), 10, "{doc:#}");
    assert_eq!(doc["observability"]["metrics"]["heartbeat_count"], 10);
    assert_eq!(doc["observability"]["event_counts"]["heartbeat"], 10);
}

#[test]
fn a_write_racing_a_handoff_from_its_source_is_not_lost() {
    let env = TestEnv::new();
    env.session("from");
    // The handoff takes the locks, reads both documents, then holds the locks for 400 ms.
    let handoff = spawn(&env, &["session", "handoff", "from", "to"], Some("400ms"));
    wait_until_locked(&env.sessions().join("from.lock"));
    // This write arrives while the handoff holds what it read; it must land on top of it.
    let write = spawn(&env, &["state", "set", "from", "late", "1"], None);
    finish(handoff).ok();
    finish(write).ok();
    let from = env.document("from");
    assert_eq!(from["late"], "1", "the racing write was lost");
    assert_eq!(
        from["session"]["lifecycle"]["status"], "completed",
        "the handoff was lost"
    );
    assert_eq!(
        env.document("to")["execution"]["inherited_context"]["from_session"],
        "from"
    );
}

#[test]
fn a_handoff_racing_a_write_to_its_source_sees_it() {
    let env = TestEnv::new();
    env.session("from");
    let write = spawn(
        &env,
        &[
            "state",
            "merge",
            "from",
            "execution.context",
            "--data",
            r#"{"early": 1}"#,
        ],
        Some("300ms"),
    );
    wait_until_locked(&env.sessions().join("from.lock"));
    let handoff = spawn(&env, &["session", "handoff", "from", "to"], None);
    finish(write).ok();
    finish(handoff).ok();
    assert_eq!(env.document("from")["execution"]["context"]["early"], 1);
    assert_eq!(
        env.document("to")["execution"]["inherited_context"]["context"]["early"],
        1
    );
}

#[test]
fn crossing_handoffs_do_not_deadlock() {
    let mut env = TestEnv::new();
    env.session("a");
    env.session("b");
    env.set("ORCHESTRON_LOCK_TIMEOUT", "5s");
    let one = spawn(&env, &["session", "handoff", "a", "b"], Some("200ms"));
    let two = spawn(&env, &["session", "handoff", "b", "a"], Some("200ms"));
    let runs = [finish(one), finish(two)];
    // Locks are taken in id order, so one runs after the other: the first succeeds and the
    // second finds its target completed. Neither times out.
    let codes: Vec<i32> = runs.iter().map(|run| run.code).collect();
    assert!(
        codes.contains(&0) && codes.contains(&1),
        "{}\n{}",
        runs[0],
        runs[1]
    );
    for run in &runs {
        assert!(!run.stderr.contains("timed out"), "{run}");
    }
}

#[test]
fn sixteen_writers_times_twenty_merges_all_land() {
    let env = TestEnv::new();
    env.session("s");
    let script = r#"for i in $(seq 1 20); do "$0" state merge s "w$1" --data "{\"m$i\": $i}" || exit 1; done"#;
    let children: Vec<Child> = (0..16)
        .map(|writer| {
            std::process::Command::new("sh")
                .args([
                    "-c",
                    script,
                    env!("CARGO_BIN_EXE_orchestron"),
                    &writer.to_string(),
                ])
                .env_clear()
                .env("ORCHESTRON_HOME", env.home())
                .current_dir(env.path())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let doc = env.document("s");
    let total: usize = (0..16)
        .map(|w| doc[format!("w{w}")].as_object().map_or(0, |m| m.len()))
        .sum();
    assert_eq!(total, 320);
    let _ = File::open(env.sessions().join("s.json")).unwrap();
}
