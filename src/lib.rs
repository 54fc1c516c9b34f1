//! The command-line face of Orchestron, as a library so that its tests can check the
//! shipped files against the real command-line surface; only that surface is public, so the
//! compiler reports dead code everywhere else. The flow of every invocation is the same:
//! [`cli`] parses the command line, `context` resolves the environment once (state root,
//! clock, id generator, lock deadline), a module of `commands` calls the core
//! (`orchestron_core`: the rules, the stores, the tracker's operations) and renders the
//! result, and `error` alone turns the outcome into an exit code.

pub mod cli;
mod commands;
mod context;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod hook;
mod install;
mod mcp;
mod output;
pub mod shipped;
mod style;

/// The hook events `init` wires, for the tests that check the shipped `hooks/hooks.json`.
pub use install::EVENTS;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser as _;

/// Parse `args`, run the command and return the process exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().collect();
    // Claude Code reads exit 2 from a hook as "block": under `hook`, even a malformed command
    // line is an ordinary failure, reported in one line.
    let first = args
        .iter()
        .skip(1)
        .find(|arg| !arg.to_string_lossy().starts_with('-'));
    let in_hook = first.is_some_and(|arg| arg == "hook");
    // Known before clap parses, so that a usage error is reported as JSON too. (`--` ends
    // the options: a `--json` after it is an argument.)
    let json = args
        .iter()
        .skip(1)
        .take_while(|arg| *arg != "--")
        .any(|arg| arg == "--json" || arg == "--json-output");
    // What Claude Code runs on every tool call skips clap, whose building of the whole
    // command line is most of a hook's instructions; anything else goes through clap.
    let parsed = match quick_parse(&args) {
        Some(cli) => Ok(cli),
        None => cli::Cli::try_parse_from(args),
    };
    let cli = match parsed {
        Ok(cli) => cli,
        Err(err) if in_hook => return error::report_hook_usage(&err),
        Err(err) => return error::report_usage(&err, json),
    };
    let json = cli.global.json;
    let agent = cli.global.agent.clone();
    let long_lived = matches!(cli.command, cli::Command::Mcp);
    let result = context::Context::from_process(json)
        .map(|context| {
            let context = context.with_agent(agent);
            if in_hook {
                context.for_hooks()
            } else if long_lived {
                context.with_live_clock()
            } else {
                context
            }
        })
        .and_then(|context| commands::dispatch(&context, cli.command));
    match result {
        Ok(()) => error::SUCCESS,
        Err(err) if in_hook => error::report_hook(&err),
        Err(err) => error::report(&err, json),
    }
}

/// The command lines Claude Code runs most, parsed without clap: `hook EVENT`, `hook EVENT
/// --worker` (a worker's), `hook EVENT --payload FILE` and `statusline [--payload FILE]`, exactly as clap parses them (a test compares the two).
/// Any other form, `--help` included, is clap's: `None`.
fn quick_parse(args: &[OsString]) -> Option<cli::Cli> {
    let words: Vec<&str> = args
        .iter()
        .skip(1)
        .map(|arg| arg.to_str())
        .collect::<Option<_>>()?;
    let plain = |word: &str| !word.is_empty() && !word.starts_with('-');
    let command = match words.as_slice() {
        ["hook", event] if plain(event) => cli::Command::Hook {
            event: (*event).to_owned(),
            payload: None,
            worker: false,
        },
        ["hook", event, "--worker"] if plain(event) => cli::Command::Hook {
            event: (*event).to_owned(),
            payload: None,
            worker: true,
        },
        ["hook", event, "--payload", file] if plain(event) && plain(file) => cli::Command::Hook {
            event: (*event).to_owned(),
            payload: Some((*file).into()),
            worker: false,
        },
        ["statusline"] => cli::Command::Statusline { payload: None },
        ["statusline", "--payload", file] if plain(file) => cli::Command::Statusline {
            payload: Some((*file).into()),
        },
        _ => return None,
    };
    Some(cli::Cli {
        global: cli::GlobalArgs {
            json: false,
            agent: None,
        },
        command,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quick_parse_is_clap_s_parse() {
        let forms: &[&[&str]] = &[
            &["hook", "PreToolUse"],
            &["hook", "post-tool-use"],
            &["hook", "SessionStart", "--payload", "/tmp/p.json"],
            &["hook", "SessionStart", "--worker"],
            &["hook", "Whatever"],
            &["statusline"],
            &["statusline", "--payload", "/tmp/s.json"],
        ];
        for form in forms {
            let args: Vec<OsString> = std::iter::once("orchestron")
                .chain(form.iter().copied())
                .map(OsString::from)
                .collect();
            let quick = quick_parse(&args).expect("a quick form");
            let clap = cli::Cli::try_parse_from(&args).expect("clap parses it");
            assert_eq!(format!("{quick:?}"), format!("{clap:?}"), "{form:?}");
        }
        // Everything else is clap's, help and odd forms included.
        for form in [
            &["hook"][..],
            &["hook", "--help"],
            &["hook", "-h"],
            &["hook", "PreToolUse", "--json"],
            &["hook", "PreToolUse", "--payload"],
            &["hook", "PreToolUse", "--payload", "--json"],
            &["hook", "--payload", "f", "PreToolUse"],
            &["--json", "hook", "PreToolUse"],
            &["statusline", "--json"],
            &["hook", ""],
            &["task", "list"],
        ] {
            let args: Vec<OsString> = std::iter::once("orchestron")
                .chain(form.iter().copied())
                .map(OsString::from)
                .collect();
            assert!(quick_parse(&args).is_none(), "{form:?}");
        }
    }
}
