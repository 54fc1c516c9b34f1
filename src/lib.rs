//! Orchestron gives Claude Code sessions a memory, a plan and a way to coordinate.
//!
//! The flow of every invocation is the same: [`cli`] parses the command line, [`context`]
//! resolves the environment once (state root, clock, id generator, lock deadline), a module
//! of [`commands`] does the work on the pure core ([`session`], [`docpath`]) through the
//! locked [`store`], and [`error`] alone turns the outcome into an exit code.

pub mod cli;
pub mod commands;
pub mod config;
pub mod context;
pub mod docpath;
pub mod error;
pub mod handoff;
pub mod hook;
pub mod ids;
pub mod inbox;
pub mod install;
pub mod output;
pub mod select;
pub mod session;
pub mod shipped;
pub mod store;
pub mod style;
pub mod tracker;

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
    let reads_only = first.is_some_and(|arg| arg == "slash");
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) if in_hook => return error::report_hook_usage(&err),
        Err(err) => return error::report_usage(&err),
    };
    let result = context::Context::from_process(cli.global.json)
        .map(|context| match (in_hook, reads_only) {
            (true, _) => context.for_hooks(),
            (_, true) => context.for_reads(),
            _ => context,
        })
        .and_then(|context| commands::dispatch(&context, cli.command));
    match result {
        Ok(()) => error::SUCCESS,
        Err(err) if in_hook => error::report_hook(&err),
        Err(err) => error::report(&err),
    }
}
