//! The README's examples are part of the interface: every `orchestron …` invocation in its
//! shell blocks must parse against the real CLI, and the "Use" block must run.

use std::process::Command;

use clap::Parser as _;
use orchestron::cli::Cli;

use crate::Timed as _;
use crate::{TestEnv, shell_words};

const README: &str = include_str!("../../README.md");

/// The bodies of the README's ```sh blocks.
fn shell_blocks() -> Vec<&'static str> {
    README
        .split("```sh\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap_or_default())
        .collect()
}

/// Every `orchestron …` invocation of a block: whole lines, after `&&`, or inside `$(…)`.
fn invocations(block: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in block.lines() {
        for part in line.split("&&") {
            let part = part.trim();
            let part = match part.split_once("$(") {
                Some((_, inner)) => inner.trim_end_matches(')'),
                None => part,
            };
            if part.starts_with("orchestron ") {
                found.push(part.to_owned());
            }
        }
    }
    found
}

#[test]
fn readme_invocations_parse() {
    let all: Vec<String> = shell_blocks().into_iter().flat_map(invocations).collect();
    assert!(all.len() >= 10, "the README shows the commands: {all:?}");
    for invocation in &all {
        if let Err(err) = Cli::try_parse_from(shell_words(invocation)) {
            panic!("`{invocation}` does not parse:\n{err}");
        }
    }
}

#[test]
fn readme_use_block_runs() {
    let env = TestEnv::new();
    let block = shell_blocks()
        .into_iter()
        .find(|block| block.starts_with("SESSION=$(orchestron session create --mode sprint"))
        .expect("the README has a usage block");
    let binary_dir = std::path::Path::new(env!("CARGO_BIN_EXE_orchestron"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        binary_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new("bash")
        .args(["-euo", "pipefail", "-c", block])
        .env_clear()
        .env("PATH", path)
        .env("ORCHESTRON_HOME", env.home())
        .env("ORCHESTRON_NOW", crate::NOW)
        .env("ORCHESTRON_ID_SEED", "readme")
        .current_dir(env.path())
        .timed_output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the block fails:\n{stdout}\n{stderr}"
    );
    // The filter found the blocked task, and the handoff made the session it named.
    assert!(stdout.contains(r#""status": "blocked""#), "{stdout}");
    assert!(stdout.contains("review-1"), "{stdout}");
}

#[test]
fn shell_words_are_split_like_a_shell() {
    assert_eq!(
        shell_words(r#"orchestron state get "$SESSION" '$.a[?(@.b=="c")]' --json"#),
        [
            "orchestron",
            "state",
            "get",
            "ID",
            r#"$.a[?(@.b=="c")]"#,
            "--json"
        ]
    );
}
