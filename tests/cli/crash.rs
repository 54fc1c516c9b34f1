//! Crash safety: writers killed with SIGKILL at random moments never leave a torn document,
//! and the document holds every acknowledged write and nothing that was never attempted.

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::TestEnv;
use crate::TimedChild as _;

/// A small deterministic generator, so that a failure can be replayed.
#[derive(Debug)]
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

#[test]
fn killed_writers_never_tear_or_invent_values() {
    let env = TestEnv::new();
    env.session("s");
    // A document big enough that a write takes a while to serialize and copy.
    let filler: String = "x".repeat(64 * 1024);
    env.run(&["state", "set", "s", "filler", &filler]).ok();
    let document = env.sessions().join("s.json");
    let mut random = Xorshift(0x9e37_79b9_7f4a_7c15);
    let mut attempted = BTreeSet::new();
    let mut acknowledged = BTreeSet::new();
    let mut killed = 0;
    for round in 0..50 {
        let mut children = Vec::new();
        for writer in 0..4 {
            let key = format!("r{round}w{writer}");
            let child = env
                .command(&["state", "set", "s", &format!("acked.{key}"), &key])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            attempted.insert(key.clone());
            children.push((key, child));
        }
        for (key, mut child) in children {
            std::thread::sleep(Duration::from_micros(random.next(3000)));
            if random.next(3) != 0 {
                let _ = child.kill(); // SIGKILL
            }
            let status = child.timed_wait().unwrap();
            if status.success() {
                acknowledged.insert(key);
            } else {
                killed += 1;
            }
            // Readers take no lock and must never see a torn file.
            let bytes = std::fs::read(&document).unwrap();
            let parsed: Result<Value, _> = serde_json::from_slice(&bytes);
            assert!(parsed.is_ok(), "torn document in round {round}");
        }
    }
    assert!(killed > 0, "the test must actually kill writers");
    assert!(!acknowledged.is_empty(), "and let some finish");
    let doc = env.document("s");
    assert_eq!(doc["filler"].as_str().map(str::len), Some(filler.len()));
    let present: BTreeSet<String> = doc["acked"]
        .as_object()
        .map(|map| map.keys().cloned().collect())
        .unwrap_or_default();
    let lost: Vec<_> = acknowledged.difference(&present).collect();
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    let invented: Vec<_> = present.difference(&attempted).collect();
    assert!(invented.is_empty(), "values nobody wrote: {invented:?}");
    for key in &present {
        assert_eq!(doc["acked"][key], key.as_str(), "a value was mangled");
    }
    // The store still works after all that.
    env.run(&["state", "set", "s", "after", "ok"]).ok();
}
