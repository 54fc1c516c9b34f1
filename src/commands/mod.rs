//! One module per command group and this one dispatch `match`. Commands turn arguments into
//! calls on the core (`session`, `docpath`) through the `store`, and print through `output`.

mod agent;
mod attention;
mod conflicts;
mod context;
mod handoff;
mod health;
mod hook;
mod inbox;
mod install;
mod knowledge;
mod lease;
mod mode;
mod query;
mod review;
mod review_points;
mod session;
mod shared;
mod slash;
mod sprint;
mod state;
mod status;
mod task;
mod transfer;
mod views;
mod workers;

use clap::CommandFactory as _;
use serde_json::{Map, Value};

use crate::cli::{Cli, Command};
use crate::context::Context;
use crate::output::Output;

/// Run one parsed command.
pub(crate) fn dispatch(context: &Context, command: Command) -> anyhow::Result<()> {
    let mut out = Output::new(context.json);
    let result = dispatch_into(context, &mut out, command);
    out.flush()?;
    result
}

/// Run one parsed command, printing to `out`.
fn dispatch_into(context: &Context, out: &mut Output, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Session(command) => session::run(context, out, command),
        Command::State(command) => state::run(context, out, command),
        Command::Query(args) => query::run(context, out, args),
        Command::Inbox(command) => inbox::run(context, out, command),
        Command::Task(command) => task::run(context, out, command),
        Command::Todo { text, parent } => task::todo(context, out, text, parent),
        Command::Decide {
            title,
            rationale,
            alternatives,
            pros,
            cons,
            task,
            severity,
        } => knowledge::decide(
            context,
            out,
            orchestron_core::tracker::knowledge::NewDecision {
                title,
                rationale,
                alternatives,
                pros,
                cons,
                task,
                severity: severity
                    .as_deref()
                    .and_then(orchestron_core::reviews::severity),
            },
        ),
        Command::Workflow(command) => review_points::workflow(context, out, command),
        Command::Approve { id, with_feedback } => {
            review_points::approve(context, out, &id, with_feedback.as_deref())
        }
        Command::Intervene { id, message } => review_points::intervene(context, out, &id, &message),
        Command::Pause { id, reason } => review_points::pause(context, out, &id, &reason),
        Command::Decision(command) => knowledge::decision(context, out, command),
        Command::Sprint(command) => sprint::run(context, out, command),
        Command::Shared(command) => shared::run(context, out, command),
        Command::Timer(command) => sprint::timer(context, out, command),
        Command::Memory(command) => knowledge::memory(context, out, command),
        Command::Export { format } => transfer::export(context, out, &format),
        Command::Import { file } => transfer::import(context, out, &file),
        Command::Status { session } => status::run(context, out, session),
        Command::Context(args) => context::run(context, out, args),
        Command::Statusline { payload } => hook::statusline(context, out, payload.as_deref()),
        Command::Hook {
            event,
            payload,
            worker,
        } => hook::run(context, out, &event, payload.as_deref(), worker),
        Command::Workers(command) => workers::run(context, out, command),
        Command::Review(args) => review::run(context, out, args),
        Command::Health { fix } => health::run(context, out, fix),
        Command::Conflicts { branches } => conflicts::run(context, out, &branches),
        Command::Lease(command) => lease::run(context, out, command),
        Command::Agent(command) => agent::run(context, out, command),
        Command::Mcp => {
            let stdin = std::io::stdin();
            crate::mcp::serve(context, stdin.lock(), std::io::stdout().lock())
        }
        Command::Init { dir, bin, mcp } => install::init(context, out, dir, bin, mcp),
        Command::Uninstall { dir } => install::uninstall(context, out, dir),
        Command::Doctor { dir } => install::doctor(context, out, dir),
        Command::Completions { shell } => {
            // Into a buffer first: clap_complete panics on a write error, such as the
            // broken pipe of `orchestron completions bash | head`.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "orchestron", &mut script);
            out.bytes(&script).map_err(Into::into)
        }
        Command::Board {
            sprint,
            limit,
            format,
        } => views::board(context, out, sprint, limit, format),
        Command::Summary { format } => views::summary(context, out, format),
        Command::Monitor { limit, format } => views::monitor(context, out, limit, format),
        Command::Mode { mode, session } => mode::run(context, out, mode, session),
        Command::Handoff(command) => handoff::run(context, out, command),
        Command::Slash {
            command,
            stdin,
            args,
        } => slash::run(context, out, command, stdin, args),
        Command::WorkerInstructions { id, format } => {
            attention::worker_instructions(context, out, &id, format)
        }
        Command::Attention => attention::attention(context, out),
    }
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
            orchestron_core::docpath::display_kind(&other)
        ),
    }
}

/// Parse an argument that must hold JSON, naming the option in the error.
fn parse_json(raw: &str, option: &str) -> anyhow::Result<Value> {
    serde_json::from_str(raw).map_err(|err| {
        // A number past a 64-bit float, such as `1E400`, is valid JSON that no reader keeps.
        let what = if err.to_string().starts_with("number out of range") {
            "holds a number out of range (at most about 1.8e308)"
        } else {
            "is not valid JSON"
        };
        anyhow::Error::new(err).context(format!("`{option}` {what}: `{raw}`"))
    })
}

/// The session the environment names, when its document exists; one named that has not
/// started yet is passed over with a note. For `status` and `context`.
fn ambient_session(context: &Context) -> anyhow::Result<Option<orchestron_core::ids::SessionId>> {
    let Some(raw) = context.session_hint() else {
        return Ok(None);
    };
    let id = orchestron_core::ids::SessionId::parse(raw)?;
    if context.store()?.exists(&id) {
        return Ok(Some(id));
    }
    crate::output::note(&format!(
        "the current session {} has not started here yet",
        id.as_str()
    ));
    Ok(None)
}
