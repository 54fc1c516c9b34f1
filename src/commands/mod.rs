//! One module per command group and this one dispatch `match`. Commands turn arguments into
//! calls on the core (`session`, `docpath`) through the `store`, and print through `output`.

mod hook;
mod inbox;
mod install;
mod knowledge;
mod query;
mod session;
mod shared;
mod sprint;
mod state;
mod task;
mod transfer;

use anyhow::Context as _;
use clap::CommandFactory as _;
use serde_json::{Map, Value};

use crate::cli::{Cli, Command};
use crate::context::Context;
use crate::output::Output;

/// Run one parsed command.
pub fn dispatch(context: &Context, command: Command) -> anyhow::Result<()> {
    let mut out = Output::new(context.json);
    let result = match command {
        Command::Session(command) => session::run(context, &mut out, command),
        Command::State(command) => state::run(context, &mut out, command),
        Command::Query(args) => query::run(&mut out, args),
        Command::Inbox(command) => inbox::run(context, &mut out, command),
        Command::Task(command) => task::run(context, &mut out, command),
        Command::Todo { text, parent } => task::todo(context, &mut out, text, parent),
        Command::Decide {
            title,
            rationale,
            alternatives,
            pros,
            cons,
            task,
        } => knowledge::decide(
            context,
            &mut out,
            knowledge::Decision {
                title,
                rationale,
                alternatives,
                pros,
                cons,
                task,
            },
        ),
        Command::Decision(command) => knowledge::decision(context, &mut out, command),
        Command::Sprint(command) => sprint::run(context, &mut out, command),
        Command::Shared(command) => shared::run(context, &mut out, command),
        Command::Timer(command) => sprint::timer(context, &mut out, command),
        Command::Memory(command) => knowledge::memory(context, &mut out, command),
        Command::Export { format } => transfer::export(context, &mut out, &format),
        Command::Import { file } => transfer::import(context, &mut out, &file),
        Command::Context { id } => hook::context(context, &mut out, id),
        Command::Statusline { payload } => hook::statusline(context, &mut out, payload.as_deref()),
        Command::Hook { event, payload } => {
            hook::run(context, &mut out, &event, payload.as_deref())
        }
        Command::Init { dir, bin } => install::init(context, &mut out, dir, bin),
        Command::Uninstall { dir } => install::uninstall(context, &mut out, dir),
        Command::Doctor { dir } => install::doctor(context, &mut out, dir),
        Command::Completions { shell } => {
            // Into a buffer first: clap_complete panics on a write error, such as the
            // broken pipe of `orchestron completions bash | head`.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "orchestron", &mut script);
            out.bytes(&script).map_err(Into::into)
        }
    };
    out.flush()?;
    result
}

/// Let a large value go without freeing it: the process is about to exit, and freeing a
/// tree of a million nodes costs more than the rest of a query.
fn release<T>(value: T) {
    std::mem::forget(value);
}

/// Parse an argument that must hold a JSON object, naming the option in the error.
fn parse_object(raw: &str, option: &str) -> anyhow::Result<Map<String, Value>> {
    match parse_json(raw, option)? {
        Value::Object(map) => Ok(map),
        other => anyhow::bail!(
            "`{option}` must be a JSON object such as `{{\"key\": \"value\"}}`, not {}",
            crate::docpath::display_kind(&other)
        ),
    }
}

/// Parse an argument that must hold JSON, naming the option in the error.
fn parse_json(raw: &str, option: &str) -> anyhow::Result<Value> {
    serde_json::from_str(raw).with_context(|| format!("`{option}` is not valid JSON: `{raw}`"))
}
