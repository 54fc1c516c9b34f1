//! The command-line surface: clap's own consistency checks, a snapshot of every `--help` so
//! that each change to the surface shows in review, exit codes, completions and pipes.

use std::process::Stdio;

use clap::CommandFactory as _;

use crate::TestEnv;
use crate::{Timed as _, TimedChild as _};

#[test]
fn the_cli_definition_is_consistent() {
    orchestron::cli::Cli::command().debug_assert();
}

#[test]
fn help_snapshot() {
    let env = TestEnv::new();
    let mut text = String::new();
    let root = orchestron::cli::Cli::command();
    let mut paths: Vec<Vec<String>> = vec![vec![]];
    for group in root.get_subcommands() {
        paths.push(vec![group.get_name().to_owned()]);
        for command in group.get_subcommands() {
            paths.push(vec![
                group.get_name().to_owned(),
                command.get_name().to_owned(),
            ]);
        }
    }
    for path in paths {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        text.push_str(&format!("$ orchestron {}\n", args.join(" ")));
        text.push_str(env.run(&args).ok());
        text.push('\n');
    }
    insta::assert_snapshot!("help", text);
}

#[test]
fn exit_codes() {
    let env = TestEnv::new();
    env.run(&[]).fails(2);
    env.run(&["frobnicate"]).fails(2);
    env.run(&["session", "create", "--no-such-flag"]).fails(2);
    env.run(&["state", "get", "only-one-arg"]).fails(2);
    env.run(&["--help"]).ok();
    assert!(env.run(&["--version"]).ok().starts_with("orchestron "));
    env.run(&["session", "info", "missing"]).fails(1);
}

#[test]
fn completions_for_each_shell() {
    let env = TestEnv::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = env.run(&["completions", shell]).ok().to_owned();
        assert!(
            script.contains("orchestron") && script.contains("heartbeat"),
            "{shell}"
        );
    }
    env.run(&["completions", "tcsh"]).fails(2);
}

#[test]
fn a_closed_pipe_is_not_a_failure() {
    let env = TestEnv::new();
    let big = format!("[{}]", vec!["\"some text to print\""; 200_000].join(","));
    let mut child = env
        .command(&["query", "$[*]"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away at once
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(big.as_bytes())
        .unwrap();
    let output = child.timed_wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.stderr.is_empty());
}

/// Regression: clap_complete panicked (exit 134) when `completions bash | head` closed the pipe.
#[test]
fn completions_into_a_closed_pipe_is_not_a_failure() {
    let env = TestEnv::new();
    for shell in ["bash", "zsh", "fish"] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let output = env
            .command(&["completions", shell])
            .stdout(writer)
            .stderr(Stdio::piped())
            .timed_output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{shell}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
