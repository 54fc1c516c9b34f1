//! Many processes writing one session at once: nothing may be lost, and handoffs neither lose
//! writes made to their source nor deadlock when they cross. Every writer is a separate
//! process, as hooks and agents are.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::TimedChild as _;
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
    let output = child.timed_wait_with_output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A waiter that leaves a marker file when it finds a lock held.
fn spawn_waiter(env: &TestEnv, args: &[&str], marker: &Path) -> Child {
    let mut command = env.command(args);
    command.env("ORCHESTRON_TEST_LOCK_WAITING", marker);
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Make a race certain rather than likely: `holder` (spawned with `ORCHESTRON_TEST_LOCK_HOLD
/// =until:GATE`) holds the lock at `lock`; `waiter` starts, and only once it has said that it
/// found that lock held does the gate open. Returns both runs, holder first.
fn race(env: &TestEnv, holder: &[&str], lock: &Path, waiter: &[&str]) -> (Run, Run) {
    let gate = env.path().join("gate");
    let marker = env.path().join("waiting");
    let hold = format!("until:{}", gate.display());
    let holder = spawn(env, holder, Some(&hold));
    wait_until_locked(lock);
    let waiter = spawn_waiter(env, waiter, &marker);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !marker.exists() {
        assert!(
            Instant::now() < deadline,
            "the second process never waited for the lock"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    File::create(&gate).unwrap();
    (finish(holder), finish(waiter))
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
    // The handoff takes the locks and reads both documents; the write arrives while it holds
    // what it read (proven: it reports waiting), and must land on top of it.
    let (handoff, write) = race(
        &env,
        &["session", "handoff", "from", "to"],
        &env.sessions().join("from.lock"),
        &["state", "set", "from", "late", "1"],
    );
    handoff.ok();
    write.ok();
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
    let (write, handoff) = race(
        &env,
        &[
            "state",
            "merge",
            "from",
            "execution.context",
            "--data",
            r#"{"early": 1}"#,
        ],
        &env.sessions().join("from.lock"),
        &["session", "handoff", "from", "to"],
    );
    write.ok();
    handoff.ok();
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
    // The second handoff starts while the first holds both locks, and is seen waiting.
    let (one, two) = race(
        &env,
        &["session", "handoff", "a", "b"],
        &env.sessions().join("a.lock"),
        &["session", "handoff", "b", "a"],
    );
    let runs = [one, two];
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
        assert!(child.timed_wait().unwrap().success());
    }
    let doc = env.document("s");
    let total: usize = (0..16)
        .map(|w| doc[format!("w{w}")].as_object().map_or(0, |m| m.len()))
        .sum();
    assert_eq!(total, 320);
    let _ = File::open(env.sessions().join("s.json")).unwrap();
}
