//! What `orchestron init` adds to a project and `orchestron uninstall` takes away, as pure
//! edits of text: Orchestron's hook handlers and status line in `.claude/settings.local.json`
//! (they name this machine's binary by its absolute path, so they stay out of the committed
//! `.claude/settings.json`), `.claude/settings.local.json` in `.gitignore`, and the slash
//! commands and output styles it ships. `uninstall` also takes out what an older `init` put
//! in `.claude/settings.json` and `.gitignore` (`.orchestron/`).
//!
//! Settings are edited without disturbing anything already there: the top level and the
//! `hooks` object are read as ordered pairs of raw JSON, so keys keep their order and every
//! value Orchestron does not own keeps its exact text.

use std::fmt;

use anyhow::Context as _;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Value, json};

/// The Claude Code events Orchestron handles, in the order a session meets them. The
/// plugin's `hooks/hooks.json` lists the same ones (a test checks).
pub const EVENTS: &[&str] = &[
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "PostToolUseFailure",
    "PreCompact",
    "Stop",
    "SubagentStart",
    "SubagentStop",
    "SessionEnd",
    "TaskCreated",
    "TaskCompleted",
    "Notification",
];

/// Seconds Claude Code waits for one hook. A hook that times out neither blocks nor counts.
pub(crate) const HOOK_TIMEOUT_SECS: u64 = 10;

/// Lines `init` appends to `.gitignore`, and `uninstall` removes exactly: an ignored path
/// under a comment. The comment differs when `init` had to end the file's last line first (it
/// had no final newline), so `uninstall` takes that newline out again; and when the file was
/// there but empty, so `uninstall` leaves an empty file rather than removing one.
#[derive(Debug)]
pub(crate) struct IgnoreBlock {
    pub comment: &'static str,
    pub comment_after_ended_line: &'static str,
    pub comment_in_empty_file: &'static str,
    pub line: &'static str,
    /// Lines that already ignore what `line` does: `init` then adds nothing.
    pub already: &'static [&'static str],
}

/// What `init` adds: the machine's own Claude Code settings, where its hooks are wired.
pub(crate) const LOCAL_SETTINGS_IGNORE: IgnoreBlock = IgnoreBlock {
    comment: "# Claude Code's settings of this machine (orchestron init wires its hooks there)",
    comment_after_ended_line: "# Claude Code's settings of this machine (orchestron init wires its hooks there; it ended the line above)",
    comment_in_empty_file: "# Claude Code's settings of this machine (orchestron init wires its hooks there; this file was empty)",
    line: ".claude/settings.local.json",
    already: &[
        ".claude/settings.local.json",
        "/.claude/settings.local.json",
        "settings.local.json",
        "**/.claude/settings.local.json",
        "**/settings.local.json",
        ".claude/",
        ".claude",
        "/.claude/",
        "/.claude",
        ".claude/*",
        "/.claude/*",
    ],
};

/// What an older `init` added: the state root, which now ignores itself (its own
/// `.gitignore`). `uninstall` still takes it out.
pub(crate) const OLD_STATE_IGNORE: IgnoreBlock = IgnoreBlock {
    comment: "# Orchestron's state: sessions and handoffs of this machine",
    comment_after_ended_line: "# Orchestron's state: sessions and handoffs of this machine (init ended the line above)",
    comment_in_empty_file: "# Orchestron's state: sessions and handoffs of this machine (this file was empty)",
    line: ".orchestron/",
    already: &[
        ".orchestron",
        ".orchestron/",
        "/.orchestron",
        "/.orchestron/",
    ],
};

/// How deep [`pretty`] lays out a value: far deeper than anything Orchestron writes (a hook
/// handler sits 5 levels down). Deeper values of the user's keep their text as it is, so a
/// deeply nested settings file costs no deep recursion.
const MAX_LAYOUT_DEPTH: usize = 16;

/// What an edit did, for the report.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Changes {
    pub added: Vec<String>,
    pub updated: Vec<String>,
    pub removed: Vec<String>,
    pub kept: Vec<String>,
}

impl Changes {
    pub(crate) fn is_empty(&self) -> bool {
        self.added.is_empty() && self.updated.is_empty() && self.removed.is_empty()
    }
}

/// The files `init` installs besides the settings, relative to the project: the slash
/// commands under `.claude/commands/orchestron/` (so they get the plugin's names,
/// `/orchestron:<name>`), and the output styles under `.claude/output-styles/`.
pub(crate) fn shipped_files() -> Vec<(std::path::PathBuf, &'static str)> {
    let commands = std::path::Path::new(".claude/commands").join(crate::shipped::COMMANDS_FOLDER);
    let styles = std::path::Path::new(".claude/output-styles");
    crate::shipped::COMMANDS
        .iter()
        .map(|asset| (commands.join(format!("{}.md", asset.name)), asset.text))
        .chain(
            crate::shipped::STYLES
                .iter()
                .map(|asset| (styles.join(format!("{}.md", asset.name)), asset.text)),
        )
        .collect()
}

/// The hook handler Orchestron installs for `event`, in exec form (no shell in between).
pub(crate) fn handler(bin: &str, event: &str) -> Value {
    serde_json::to_value(Handler::new(bin, event)).expect("a handler serializes")
}

/// A hook handler with its keys in the order people write them.
#[derive(Debug, Serialize)]
struct Handler<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    command: &'a str,
    args: [&'a str; 2],
    timeout: u64,
}

/// A matcher group holding one handler (no matcher: every occurrence of the event).
#[derive(Debug, Serialize)]
struct Group<'a> {
    hooks: [Handler<'a>; 1],
}

impl<'a> Handler<'a> {
    fn new(bin: &'a str, event: &'a str) -> Handler<'a> {
        Handler {
            kind: "command",
            command: bin,
            args: ["hook", event],
            timeout: HOOK_TIMEOUT_SECS,
        }
    }
}

/// The status line Orchestron installs.
pub(crate) fn status_line(bin: &str) -> Value {
    json!({"type": "command", "command": format!("{} statusline", shell_word(bin))})
}

/// The status line with its keys in the order people write them.
#[derive(Debug, Serialize)]
struct StatusLine {
    #[serde(rename = "type")]
    kind: &'static str,
    command: String,
}

/// Whether a handler is one of Orchestron's: exec form running `…/orchestron hook EVENT`.
/// Returns the event it handles.
pub(crate) fn our_handler(handler: &Value) -> Option<&str> {
    let command = handler.get("command")?.as_str()?;
    let args = handler.get("args")?.as_array()?;
    // Any event: a handler for an event a newer Orchestron added is Orchestron's too.
    let is_ours = handler.get("type").and_then(Value::as_str) == Some("command")
        && is_orchestron(command)
        && args.len() == 2
        && args.first().and_then(Value::as_str) == Some("hook");
    if is_ours { args.get(1)?.as_str() } else { None }
}

/// Whether a status line is Orchestron's (`… orchestron statusline`).
pub(crate) fn our_status_line(status_line: &Value) -> bool {
    status_line
        .get("command")
        .and_then(Value::as_str)
        .and_then(|command| command.strip_suffix(" statusline"))
        .is_some_and(|bin| is_orchestron(bin.trim_matches('\'')))
}

/// A command whose file name starts with `orchestron` (`orchestron`, `/opt/bin/orchestron`,
/// `~/bin/orchestron-dev`): what `init --bin` may have been given.
fn is_orchestron(command: &str) -> bool {
    command
        .rsplit('/')
        .next()
        .is_some_and(|name| name.starts_with("orchestron"))
}

/// Quote `word` for `sh` when it needs it (the status line is a shell command; `slash`
/// shows the commands it ran).
pub(crate) fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:@%".contains(&b));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Add Orchestron's hooks and status line to the text of a settings file (`None`: no file).
/// Returns the new text, or `None` when nothing needed to change.
pub(crate) fn add_to_settings(
    text: Option<&str>,
    bin: &str,
) -> anyhow::Result<(Option<String>, Changes)> {
    add_to_settings_with(text, bin, true)
}

/// [`add_to_settings`], adding the status line only when `status_line` (another settings
/// file Claude Code reads may hold the user's own: a local one would hide it).
pub(crate) fn add_to_settings_with(
    text: Option<&str>,
    bin: &str,
    status_line: bool,
) -> anyhow::Result<(Option<String>, Changes)> {
    let mut top = parse_settings(text)?;
    let mut changes = Changes::default();
    let mut hooks = match top.get("hooks") {
        Some(raw) => Pairs::parse(raw, "hooks")?,
        None => Pairs::default(),
    };
    for event in EVENTS {
        let mut groups = match hooks.get(event) {
            Some(raw) => parse_groups(raw, event)?,
            None => Vec::new(),
        };
        let wanted = handler(bin, event);
        let mut found = false;
        let mut changed = false;
        for group in &mut groups {
            // A group `Value` cannot hold (a number like `1E400`, nesting past serde's limit)
            // is not Orchestron's: it keeps its text.
            let Ok(mut parsed) = serde_json::from_str::<Value>(group.get()) else {
                continue;
            };
            let Some(handlers) = parsed.get_mut("hooks").and_then(Value::as_array_mut) else {
                continue;
            };
            let Some(existing) = handlers
                .iter_mut()
                .find(|handler| our_handler(handler) == Some(event))
            else {
                continue;
            };
            found = true;
            if existing.get("command") != wanted.get("command") {
                existing["command"] = wanted["command"].clone();
                *group = laid_out(&parsed, 3)?;
                changes.updated.push(format!("hooks.{event}"));
                changed = true;
            }
            break;
        }
        if !found {
            let group = Group {
                hooks: [Handler::new(bin, event)],
            };
            groups.push(laid_out(&group, 3)?);
            changes.added.push(format!("hooks.{event}"));
            changed = true;
        }
        if changed {
            hooks.set(event, list_at(&groups, 2)?);
        }
    }
    if !changes.is_empty() {
        top.set("hooks", hooks.to_raw_at(1)?);
    }
    let wanted = self::status_line(bin);
    match top.get("statusLine") {
        None if !status_line => {}
        None => {
            let line = StatusLine {
                kind: "command",
                command: wanted["command"].as_str().unwrap_or_default().to_owned(),
            };
            top.set("statusLine", laid_out(&line, 1)?);
            changes.added.push("statusLine".to_owned());
        }
        Some(raw) => {
            let existing = serde_json::from_str::<Value>(raw.get()).unwrap_or(Value::Null);
            if !our_status_line(&existing) {
                changes.kept.push("statusLine (yours)".to_owned());
            } else if existing.get("command") != wanted.get("command") {
                let mut updated = existing;
                updated["command"] = wanted["command"].clone();
                top.set("statusLine", laid_out(&updated, 1)?);
                changes.updated.push("statusLine".to_owned());
            }
        }
    }
    if changes.is_empty() {
        return Ok((None, changes));
    }
    Ok((Some(top.to_text_at(0) + "\n"), changes))
}

/// Remove Orchestron's hooks and status line from the text of a settings file. A matcher
/// group, an event or `hooks` itself goes only when removing Orchestron's handlers emptied
/// it. Returns the new text (empty when nothing is left), or `None` when nothing changed.
pub(crate) fn remove_from_settings(text: &str) -> anyhow::Result<(Option<String>, Changes)> {
    let mut top = parse_settings(Some(text))?;
    let mut changes = Changes::default();
    if let Some(raw) = top.get("hooks") {
        let mut hooks = Pairs::parse(raw, "hooks")?;
        let mut events_changed = false;
        let mut emptied_events = Vec::new();
        for (event, raw_groups) in &mut hooks.0 {
            let Ok(groups) = serde_json::from_str::<Vec<Box<RawValue>>>(raw_groups.get()) else {
                continue;
            };
            let mut kept_groups = Vec::new();
            let mut changed = false;
            for raw in groups {
                // Raw all the way down to each handler: a neighbour serde_json cannot hold
                // (`1E400`) is kept as written and does not hide Orchestron's handler.
                let Ok(mut group) = serde_json::from_str::<Pairs>(raw.get()) else {
                    kept_groups.push(raw);
                    continue;
                };
                let Some(Ok(handlers)) = group
                    .get("hooks")
                    .map(|handlers| serde_json::from_str::<Vec<Box<RawValue>>>(handlers.get()))
                else {
                    kept_groups.push(raw);
                    continue;
                };
                let before = handlers.len();
                let handlers: Vec<Box<RawValue>> = handlers
                    .into_iter()
                    .filter(|handler| {
                        serde_json::from_str::<Value>(handler.get())
                            .map_or(true, |handler| our_handler(&handler).is_none())
                    })
                    .collect();
                if handlers.len() == before {
                    kept_groups.push(raw);
                    continue;
                }
                changed = true;
                if !handlers.is_empty() {
                    // Only a group Orchestron shared with someone else is laid out afresh.
                    group.set("hooks", list_at(&handlers, 4)?);
                    kept_groups.push(group.to_raw_at(3)?);
                }
            }
            if !changed {
                continue;
            }
            events_changed = true;
            changes.removed.push(format!("hooks.{event}"));
            if kept_groups.is_empty() {
                emptied_events.push(event.clone());
            } else {
                *raw_groups = list_at(&kept_groups, 2)?;
            }
        }
        if events_changed {
            hooks.0.retain(|(event, _)| !emptied_events.contains(event));
            if hooks.0.is_empty() {
                top.remove("hooks");
            } else {
                top.set("hooks", hooks.to_raw_at(1)?);
            }
        }
    }
    if let Some(raw) = top.get("statusLine") {
        let existing = serde_json::from_str::<Value>(raw.get()).unwrap_or(Value::Null);
        if our_status_line(&existing) {
            top.remove("statusLine");
            changes.removed.push("statusLine".to_owned());
        }
    }
    if changes.is_empty() {
        return Ok((None, changes));
    }
    if top.0.is_empty() {
        return Ok((Some(String::new()), changes));
    }
    Ok((Some(top.to_text_at(0) + "\n"), changes))
}

/// The name Orchestron's MCP server has in a project's `.mcp.json` (its tools reach the model
/// as `mcp__orchestron__<tool>`).
pub(crate) const MCP_SERVER: &str = "orchestron";

/// The project's MCP servers file, at its root.
pub(crate) const MCP_FILE: &str = ".mcp.json";

/// Orchestron's entry in `.mcp.json`: a stdio server running `BIN mcp`.
pub(crate) fn mcp_server(bin: &str) -> Value {
    json!({"type": "stdio", "command": bin, "args": ["mcp"]})
}

/// Whether an `.mcp.json` entry is Orchestron's: `…/orchestron…` with `mcp` among its
/// arguments (a user may have added options such as `--agent NAME`, or an `env`).
pub(crate) fn our_mcp_server(server: &Value) -> bool {
    server
        .get("command")
        .and_then(Value::as_str)
        .is_some_and(is_orchestron)
        && server
            .get("args")
            .and_then(Value::as_array)
            .is_some_and(|args| args.iter().any(|arg| arg == "mcp"))
}

/// The `mcpServers` object of an `.mcp.json` text (empty without one). A key given twice
/// (`mcpServers`, or a server's name) is refused: which one a reader takes is not sure.
fn mcp_servers(top: &Pairs) -> anyhow::Result<Pairs> {
    let twice = |pairs: &Pairs, key: &str| pairs.0.iter().filter(|(k, _)| k == key).count() > 1;
    if twice(top, "mcpServers") {
        anyhow::bail!("`mcpServers` is given twice in .mcp.json; fix it by hand");
    }
    let servers: Pairs = match top.get("mcpServers") {
        Some(raw) => serde_json::from_str(raw.get())
            .context("`mcpServers` in .mcp.json is not an object; fix it by hand")?,
        None => Pairs::default(),
    };
    if twice(&servers, MCP_SERVER) {
        anyhow::bail!("`mcpServers.{MCP_SERVER}` is given twice in .mcp.json; fix it by hand");
    }
    Ok(servers)
}

/// Add Orchestron's server to the text of a project's `.mcp.json` (`None`: no file), keeping
/// every other server and key as written. An `orchestron` entry that is not Orchestron's
/// (another command) stays, and the change is refused. Returns the new text, or `None` when
/// nothing needed to change.
pub(crate) fn add_mcp_server(
    text: Option<&str>,
    bin: &str,
) -> anyhow::Result<(Option<String>, Changes)> {
    let mut top = parse_mcp(text)?;
    let mut servers = mcp_servers(&top)?;
    let mut changes = Changes::default();
    let wanted = match servers.get(MCP_SERVER) {
        None => {
            changes.added.push(format!("mcpServers.{MCP_SERVER}"));
            mcp_server(bin)
        }
        Some(raw) => {
            let existing = serde_json::from_str::<Value>(raw.get()).unwrap_or(Value::Null);
            if !our_mcp_server(&existing) {
                anyhow::bail!(
                    "`mcpServers.{MCP_SERVER}` in .mcp.json is another server ({}); rename or \
                     remove it, then run this again",
                    existing.get("command").unwrap_or(&Value::Null)
                );
            }
            // Orchestron's, perhaps with the user's options or `env`: those stay, only the
            // command follows this binary.
            if existing["command"] == bin {
                return Ok((None, changes));
            }
            changes.updated.push(format!("mcpServers.{MCP_SERVER}"));
            let mut updated = existing;
            updated["command"] = json!(bin);
            updated
        }
    };
    servers.set(MCP_SERVER, laid_out(&wanted, 2)?);
    top.set("mcpServers", servers.to_raw_at(1)?);
    Ok((Some(top.to_text_at(0) + "\n"), changes))
}

/// Remove Orchestron's server from the text of a project's `.mcp.json`; `mcpServers` goes
/// when it is left empty, and the text is empty when nothing else is left (the file goes).
/// `None` when there was nothing of Orchestron's.
pub(crate) fn remove_mcp_server(text: &str) -> anyhow::Result<(Option<String>, Changes)> {
    let mut top = parse_mcp(Some(text))?;
    let mut servers = mcp_servers(&top)?;
    let mut changes = Changes::default();
    let ours = servers
        .get(MCP_SERVER)
        .and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok())
        .is_some_and(|server| our_mcp_server(&server));
    if !ours {
        return Ok((None, changes));
    }
    servers.remove(MCP_SERVER);
    changes.removed.push(format!("mcpServers.{MCP_SERVER}"));
    if servers.0.is_empty() {
        top.remove("mcpServers");
    } else {
        top.set("mcpServers", servers.to_raw_at(1)?);
    }
    if top.0.is_empty() {
        return Ok((Some(String::new()), changes));
    }
    Ok((Some(top.to_text_at(0) + "\n"), changes))
}

fn parse_mcp(text: Option<&str>) -> anyhow::Result<Pairs> {
    parse_object(text, ".mcp.json")
}

/// The variable `env` in the settings sets for every session, naming the mode new sessions
/// start in (`context::var::MODE` reads it).
pub(crate) const MODE_VARIABLE: &str = "ORCHESTRON_MODE";

/// Point a settings file (`.claude/settings.local.json`) at a mode: `outputStyle` becomes
/// `style`, or, with no style, loses a style of Orchestron's (a style of the user's stays);
/// `env.ORCHESTRON_MODE` becomes `mode`, so the next session starts in it. `ours` tells
/// Orchestron's style names. Returns the new text, or `None` when nothing changed.
pub(crate) fn set_mode_in_settings(
    text: Option<&str>,
    style: Option<&str>,
    mode: &str,
    ours: impl Fn(&str) -> bool,
) -> anyhow::Result<Option<String>> {
    let mut top = parse_settings(text)?;
    let mut changed = false;
    let current: Option<String> = match top.get("outputStyle") {
        Some(raw) => serde_json::from_str::<Value>(raw.get())?
            .as_str()
            .map(str::to_owned),
        None => None,
    };
    match style {
        Some(style) if current.as_deref() != Some(style) => {
            top.set("outputStyle", laid_out(&style, 1)?);
            changed = true;
        }
        None if current.as_deref().is_some_and(&ours) => {
            top.remove("outputStyle");
            changed = true;
        }
        _ => {}
    }
    let mut env = match top.get("env") {
        Some(raw) => Pairs::parse(raw, "env")?,
        None => Pairs::default(),
    };
    let wanted = serde_json::to_string(mode)?;
    if env.get(MODE_VARIABLE).map(RawValue::get) != Some(wanted.as_str()) {
        env.set(MODE_VARIABLE, RawValue::from_string(wanted)?);
        top.set("env", env.to_raw_at(1)?);
        changed = true;
    }
    Ok(changed.then(|| top.to_text_at(0) + "\n"))
}

/// Take out what `orchestron mode` put in a settings file: an `outputStyle` of Orchestron's
/// (`ours` tells) and `env.ORCHESTRON_MODE` (`env` too, when that emptied it). Returns the
/// new text (empty when nothing is left), or `None` when nothing changed.
pub(crate) fn remove_mode_from_settings(
    text: &str,
    ours: impl Fn(&str) -> bool,
) -> anyhow::Result<Option<String>> {
    let mut top = parse_settings(Some(text))?;
    let mut changed = false;
    if let Some(raw) = top.get("outputStyle")
        && serde_json::from_str::<Value>(raw.get())?
            .as_str()
            .is_some_and(&ours)
    {
        top.remove("outputStyle");
        changed = true;
    }
    if let Some(raw) = top.get("env") {
        let mut env = Pairs::parse(raw, "env")?;
        if env.get(MODE_VARIABLE).is_some() {
            env.remove(MODE_VARIABLE);
            if env.0.is_empty() {
                top.remove("env");
            } else {
                top.set("env", env.to_raw_at(1)?);
            }
            changed = true;
        }
    }
    if !changed {
        return Ok(None);
    }
    if top.0.is_empty() {
        return Ok(Some(String::new()));
    }
    Ok(Some(top.to_text_at(0) + "\n"))
}

/// The mode a settings file's `env.ORCHESTRON_MODE` names (what `orchestron mode MODE`
/// writes), unparsed; `None` when the file sets none. Only that value is built: the rest is
/// skipped, so any file Claude Code reads (numbers like `1E400` included) reads here. A file
/// that is not JSON is an error.
pub(crate) fn mode_in_settings(text: &str) -> anyhow::Result<Option<String>> {
    #[derive(Deserialize)]
    struct Settings {
        #[serde(default)]
        env: Option<Env>,
    }
    #[derive(Deserialize)]
    struct Env {
        #[serde(rename = "ORCHESTRON_MODE", default)]
        mode: Option<Value>,
    }
    if text.trim().is_empty() {
        return Ok(None);
    }
    let settings: Settings = serde_json::from_str(text)?;
    Ok(settings
        .env
        .and_then(|env| env.mode)
        .and_then(|mode| mode.as_str().map(str::to_owned)))
}

/// Whether `current` is exactly what `init` made of `backup`, so that `uninstall` may put
/// the backup's bytes back. Reads only what it needs, so any settings file `init` could edit
/// (numbers like `1E400`, nesting past serde's limit) gets its bytes back.
pub(crate) fn restores(backup: &str, current: &str) -> bool {
    // Several commands when the backup held handlers of another Orchestron: one is init's.
    wired_commands(current).iter().any(|bin| {
        [true, false].into_iter().any(|status_line| {
            add_to_settings_with(Some(backup), bin, status_line)
                .is_ok_and(|(text, _)| text.as_deref() == Some(current))
        })
    })
}

/// The commands Orchestron's handlers in a settings text run, each once. Values it does not
/// need are skipped as raw text, never parsed into a `Value`.
fn wired_commands(text: &str) -> Vec<String> {
    let mut commands: Vec<String> = Vec::new();
    let Ok(top) = parse_settings(Some(text)) else {
        return commands;
    };
    let Some(Ok(hooks)) = top.get("hooks").map(|raw| Pairs::parse(raw, "hooks")) else {
        return commands;
    };
    for (_, groups) in &hooks.0 {
        let Ok(groups) = serde_json::from_str::<Vec<Box<RawValue>>>(groups.get()) else {
            continue;
        };
        for group in groups {
            let Ok(group) = serde_json::from_str::<Value>(group.get()) else {
                continue;
            };
            let handlers = group.get("hooks").and_then(Value::as_array);
            for handler in handlers.into_iter().flatten() {
                if our_handler(handler).is_some()
                    && let Some(command) = handler["command"].as_str()
                    && !commands.iter().any(|known| known == command)
                {
                    commands.push(command.to_owned());
                }
            }
        }
    }
    commands
}

/// Which of Orchestron's events a settings file wires, with the command each one runs.
pub(crate) fn wired_events(settings: &Value) -> Vec<(String, String)> {
    let mut wired = Vec::new();
    let Some(hooks) = settings.get("hooks").and_then(Value::as_object) else {
        return wired;
    };
    for groups in hooks.values().filter_map(Value::as_array) {
        for handlers in groups
            .iter()
            .filter_map(|group| group.get("hooks").and_then(Value::as_array))
        {
            for handler in handlers {
                if let Some(event) = our_handler(handler) {
                    let command = handler["command"].as_str().unwrap_or_default();
                    wired.push((event.to_owned(), command.to_owned()));
                }
            }
        }
    }
    wired
}

/// Whether a line of this `.gitignore` already ignores what `block` would.
pub(crate) fn gitignore_has(block: &IgnoreBlock, text: &str) -> bool {
    text.lines()
        .any(|line| block.already.contains(&line.trim()))
}

/// Append `block` to a `.gitignore` unless a line already ignores it. A last line without a
/// final newline is ended first, and the block's comment says so, so that
/// [`remove_from_gitignore`] gives back the very bytes.
pub(crate) fn add_to_gitignore(block: &IgnoreBlock, text: Option<&str>) -> Option<String> {
    let was_empty = text == Some("");
    let text = text.unwrap_or_default();
    if gitignore_has(block, text) {
        return None;
    }
    let mut out = text.to_owned();
    let mut comment = if was_empty {
        block.comment_in_empty_file
    } else {
        block.comment
    };
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
        comment = block.comment_after_ended_line;
    }
    for line in [comment, block.line] {
        out.push_str(line);
        out.push('\n');
    }
    Some(out)
}

/// Whether `init` found this `.gitignore` empty (for any of `blocks`): `uninstall` then
/// leaves it empty rather than removing it.
pub(crate) fn gitignore_was_empty(blocks: &[&IgnoreBlock], text: &str) -> bool {
    text.lines().any(|line| {
        blocks
            .iter()
            .any(|block| line == block.comment_in_empty_file)
    })
}

/// Remove the lines [`add_to_gitignore`] appended for `block`, and only those, leaving every
/// other byte as it is. `None`: not there.
pub(crate) fn remove_from_gitignore(block: &IgnoreBlock, text: &str) -> Option<String> {
    let comments = [
        block.comment,
        block.comment_after_ended_line,
        block.comment_in_empty_file,
    ];
    for (comment, newline) in comments
        .into_iter()
        .flat_map(|comment| [(comment, "\n"), (comment, "\r\n")])
    {
        let lines = format!("{comment}{newline}{}", block.line);
        let found = text.match_indices(&lines).find(|(at, _)| {
            let starts_line = *at == 0 || text.as_bytes()[at - 1] == b'\n';
            let rest = &text[at + lines.len()..];
            starts_line && (rest.is_empty() || rest.starts_with(newline))
        });
        let Some((at, _)) = found else {
            continue;
        };
        let rest = &text[at + lines.len()..];
        let rest = rest.strip_prefix(newline).unwrap_or(rest);
        let mut before = &text[..at];
        // `init` ended the last line: that newline goes with the block when it still ends
        // the file.
        if comment == block.comment_after_ended_line && rest.is_empty() {
            before = before.strip_suffix(newline).unwrap_or(before);
        }
        return Some(format!("{before}{rest}"));
    }
    None
}

fn parse_settings(text: Option<&str>) -> anyhow::Result<Pairs> {
    parse_object(text, "the settings file")
}

/// The text of a JSON object file (`None` or blank: an empty one), as ordered pairs; `what`
/// names the file in the error.
fn parse_object(text: Option<&str>, what: &str) -> anyhow::Result<Pairs> {
    match text {
        None => Ok(Pairs::default()),
        Some(text) if text.trim().is_empty() => Ok(Pairs::default()),
        Some(text) => serde_json::from_str(text).with_context(|| {
            format!("{what} is not a JSON object; fix it by hand, then run this again")
        }),
    }
}

fn parse_groups(raw: &RawValue, event: &str) -> anyhow::Result<Vec<Box<RawValue>>> {
    serde_json::from_str(raw.get()).with_context(|| {
        format!("`hooks.{event}` in the settings file is not a list; fix it by hand")
    })
}

/// A JSON object as ordered pairs of raw values: what is not touched keeps its text.
#[derive(Debug, Default)]
struct Pairs(Vec<(String, Box<RawValue>)>);

impl Pairs {
    fn parse(raw: &RawValue, what: &str) -> anyhow::Result<Pairs> {
        serde_json::from_str(raw.get()).with_context(|| {
            format!("`{what}` in the settings file is not an object; fix it by hand")
        })
    }

    /// The value of `key`; of a key given twice, the last, the one Claude Code reads
    /// (`JSON.parse` keeps the last duplicate).
    fn get(&self, key: &str) -> Option<&RawValue> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| &**v)
    }

    /// Set `key`: of a key given twice, the last, as `get` reads it.
    fn set(&mut self, key: &str, value: Box<RawValue>) {
        match self.0.iter_mut().rev().find(|(k, _)| k == key) {
            Some((_, slot)) => *slot = value,
            None => self.0.push((key.to_owned(), value)),
        }
    }

    fn remove(&mut self, key: &str) {
        self.0.retain(|(k, _)| k != key);
    }

    /// The object as text `depth` levels deep, each value exactly as it is held.
    fn to_text_at(&self, depth: usize) -> String {
        let items: Vec<String> = self
            .0
            .iter()
            .map(|(key, value)| {
                let key = serde_json::to_string(key).unwrap_or_default();
                format!("{key}: {}", value.get())
            })
            .collect();
        block('{', '}', &items, depth)
    }

    fn to_raw_at(&self, depth: usize) -> anyhow::Result<Box<RawValue>> {
        Ok(RawValue::from_string(self.to_text_at(depth))?)
    }
}

/// A value laid out `depth` levels deep, as a raw value to hold in `Pairs`.
fn laid_out(value: &impl Serialize, depth: usize) -> anyhow::Result<Box<RawValue>> {
    let compact = serde_json::to_string(value)?;
    Ok(RawValue::from_string(pretty(&compact, depth))?)
}

/// A list of raw values laid out `depth` levels deep, each item as it is held.
fn list_at(items: &[Box<RawValue>], depth: usize) -> anyhow::Result<Box<RawValue>> {
    let items: Vec<String> = items
        .iter()
        .map(|item| pretty(item.get(), depth + 1))
        .collect();
    Ok(RawValue::from_string(block('[', ']', &items, depth))?)
}

/// `open`, the items one per line indented `depth + 1` levels, `close` indented `depth`.
fn block(open: char, close: char, items: &[String], depth: usize) -> String {
    if items.is_empty() {
        return format!("{open}{close}");
    }
    let pad = "  ".repeat(depth + 1);
    let body: Vec<String> = items.iter().map(|item| format!("{pad}{item}")).collect();
    format!(
        "{open}\n{}\n{}{close}",
        body.join(",\n"),
        "  ".repeat(depth)
    )
}

/// Lay out a JSON text `depth` levels deep, one member or item per line, keeping key order.
/// A value that already spans lines is someone's own layout and stays as it is.
fn pretty(raw: &str, depth: usize) -> String {
    if raw.contains('\n') || depth > MAX_LAYOUT_DEPTH {
        return raw.to_owned();
    }
    if let Ok(pairs) = serde_json::from_str::<Pairs>(raw) {
        let items: Vec<String> = pairs
            .0
            .iter()
            .map(|(key, value)| {
                let key = serde_json::to_string(key).unwrap_or_default();
                format!("{key}: {}", pretty(value.get(), depth + 1))
            })
            .collect();
        return block('{', '}', &items, depth);
    }
    if let Ok(items) = serde_json::from_str::<Vec<Box<RawValue>>>(raw) {
        let scalars = items
            .iter()
            .all(|item| !matches!(item.get().as_bytes().first(), Some(b'{' | b'[')));
        if scalars && raw.len() <= 60 {
            let items: Vec<&str> = items.iter().map(|item| item.get()).collect();
            return format!("[{}]", items.join(", "));
        }
        let items: Vec<String> = items
            .iter()
            .map(|item| pretty(item.get(), depth + 1))
            .collect();
        return block('[', ']', &items, depth);
    }
    raw.to_owned()
}

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Pairs, D::Error> {
        struct PairsVisitor;
        impl<'de> Visitor<'de> for PairsVisitor {
            type Value = Pairs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Pairs, A::Error> {
                let mut pairs = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, Box<RawValue>>()? {
                    pairs.push((key, value));
                }
                Ok(Pairs(pairs))
            }
        }
        deserializer.deserialize_map(PairsVisitor)
    }
}

impl Serialize for Pairs {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BIN: &str = "orchestron";

    #[test]
    fn add_then_add_again_changes_nothing() {
        let (text, changes) = add_to_settings(None, BIN).unwrap();
        let text = text.unwrap();
        assert_eq!(changes.added.len(), EVENTS.len() + 1);
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(wired_events(&value).len(), EVENTS.len());
        let (again, changes) = add_to_settings(Some(&text), BIN).unwrap();
        assert!(again.is_none(), "{changes:?}");
    }

    #[test]
    fn a_mode_sets_the_style_and_the_next_sessions_mode() {
        let ours = |name: &str| name == "orchestron:sprint_execution";
        let text = set_mode_in_settings(None, Some("orchestron:sprint_execution"), "sprint", ours)
            .unwrap()
            .unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["outputStyle"], "orchestron:sprint_execution");
        assert_eq!(value["env"]["ORCHESTRON_MODE"], "sprint");
        assert!(
            set_mode_in_settings(
                Some(&text),
                Some("orchestron:sprint_execution"),
                "sprint",
                ours
            )
            .unwrap()
            .is_none()
        );
        // Back to a mode without a style: Orchestron's style goes, the user's keys stay.
        let mine = "{\"model\": \"x\", \"outputStyle\": \"orchestron:sprint_execution\", \"env\": {\"A\": \"1\"}}";
        let text = set_mode_in_settings(Some(mine), None, "development", ours)
            .unwrap()
            .unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value,
            json!({"model": "x", "env": {"A": "1", "ORCHESTRON_MODE": "development"}})
        );
        // A style of the user's stays.
        let mine = "{\"outputStyle\": \"Explanatory\"}";
        let text = set_mode_in_settings(Some(mine), None, "development", ours)
            .unwrap()
            .unwrap();
        assert!(text.contains("Explanatory"));
        // Uninstall takes out only what `mode` put in.
        let back = remove_mode_from_settings(&text, ours).unwrap().unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&back).unwrap(),
            json!({"outputStyle": "Explanatory"})
        );
        let only_ours =
            set_mode_in_settings(None, Some("orchestron:sprint_execution"), "sprint", ours)
                .unwrap()
                .unwrap();
        assert_eq!(
            remove_mode_from_settings(&only_ours, ours).unwrap(),
            Some(String::new())
        );
        assert_eq!(remove_mode_from_settings("{\"a\": 1}", ours).unwrap(), None);
    }

    #[test]
    fn user_settings_keep_their_order_and_text() {
        let original = "{\n  \"zeta\": {\"b\": 1, \"a\": 2},\n  \"hooks\": {\n    \"Stop\": [{\"matcher\": \"\", \"hooks\": [{\"type\": \"command\", \"command\": \"mine\"}]}]\n  },\n  \"alpha\": true\n}\n";
        let (text, _) = add_to_settings(Some(original), BIN).unwrap();
        let text = text.unwrap();
        assert!(text.find("\"zeta\"").unwrap() < text.find("\"alpha\"").unwrap());
        assert!(text.contains("{\"b\": 1, \"a\": 2}"), "{text}");
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["hooks"]["Stop"].as_array().unwrap().len(), 2);
        let (back, _) = remove_from_settings(&text).unwrap();
        let back: Value = serde_json::from_str(&back.unwrap()).unwrap();
        let original: Value = serde_json::from_str(original).unwrap();
        assert_eq!(back, original);
    }

    #[test]
    fn removing_from_a_file_init_created_leaves_it_empty() {
        let (text, _) = add_to_settings(None, BIN).unwrap();
        let (back, changes) = remove_from_settings(&text.unwrap()).unwrap();
        assert_eq!(back.as_deref(), Some(""));
        assert_eq!(changes.removed.len(), EVENTS.len() + 1);
    }

    #[test]
    fn a_moved_binary_updates_the_command() {
        let (text, _) = add_to_settings(None, "/old/orchestron").unwrap();
        let (text, changes) = add_to_settings(text.as_deref(), "/new/orchestron").unwrap();
        assert_eq!(changes.updated.len(), EVENTS.len() + 1);
        assert!(!text.unwrap().contains("/old/"));
    }

    #[test]
    fn a_foreign_status_line_is_kept() {
        let original = r#"{"statusLine": {"type": "command", "command": "my-line"}}"#;
        let (text, changes) = add_to_settings(Some(original), BIN).unwrap();
        assert_eq!(changes.kept, ["statusLine (yours)"]);
        assert!(text.unwrap().contains("my-line"));
    }

    #[test]
    fn bad_settings_are_refused() {
        for bad in ["[1]", "{", r#"{"hooks": []}"#, r#"{"hooks": {"Stop": {}}}"#] {
            assert!(add_to_settings(Some(bad), BIN).is_err(), "{bad}");
        }
    }

    #[test]
    fn any_binary_named_orchestron_something_is_recognised() {
        let (text, _) = add_to_settings(None, "/opt/x/orchestron-dev").unwrap();
        let (again, _) = add_to_settings(text.as_deref(), "/opt/x/orchestron-dev").unwrap();
        assert!(again.is_none());
        let (back, changes) = remove_from_settings(&text.unwrap()).unwrap();
        assert_eq!(back.as_deref(), Some(""));
        assert_eq!(changes.removed.len(), EVENTS.len() + 1);
        let other = json!({"type": "command", "command": "orchestron-lint", "args": ["check"]});
        assert_eq!(our_handler(&other), None);
    }

    #[test]
    fn status_line_quotes_odd_paths() {
        assert_eq!(
            status_line("/a b/orchestron")["command"],
            "'/a b/orchestron' statusline"
        );
        assert!(our_status_line(&status_line("/a b/orchestron")));
    }

    #[test]
    fn gitignore_block_round_trips() {
        for block in [&LOCAL_SETTINGS_IGNORE, &OLD_STATE_IGNORE] {
            let ignored = format!("target/\n{}\n", block.line);
            assert_eq!(add_to_gitignore(block, Some(&ignored)), None);
            let added = add_to_gitignore(block, Some("target/\n")).unwrap();
            assert_eq!(remove_from_gitignore(block, &added).unwrap(), "target/\n");
            assert_eq!(remove_from_gitignore(block, &ignored), None);
            // An empty file stays: uninstall knows init found it empty.
            let empty = add_to_gitignore(block, Some("")).unwrap();
            assert!(gitignore_was_empty(&[block], &empty));
            assert_eq!(remove_from_gitignore(block, &empty).unwrap(), "");
            assert!(!gitignore_was_empty(
                &[block],
                &add_to_gitignore(block, None).unwrap()
            ));
            // Lines the user added after the block stay, byte for byte.
            let later = format!("{added}dist/");
            assert_eq!(
                remove_from_gitignore(block, &later).unwrap(),
                "target/\ndist/"
            );
        }
        assert_eq!(
            add_to_gitignore(&LOCAL_SETTINGS_IGNORE, Some("/.claude/\n")),
            None
        );
    }

    #[test]
    fn an_old_block_and_a_new_one_come_out_in_either_order() {
        let old = add_to_gitignore(&OLD_STATE_IGNORE, Some("")).unwrap();
        let both = add_to_gitignore(&LOCAL_SETTINGS_IGNORE, Some(&old)).unwrap();
        let blocks = [&OLD_STATE_IGNORE, &LOCAL_SETTINGS_IGNORE];
        assert!(gitignore_was_empty(&blocks, &both));
        let one = remove_from_gitignore(&OLD_STATE_IGNORE, &both).unwrap();
        assert_eq!(
            remove_from_gitignore(&LOCAL_SETTINGS_IGNORE, &one).unwrap(),
            ""
        );
        let other = remove_from_gitignore(&LOCAL_SETTINGS_IGNORE, &both).unwrap();
        assert_eq!(other, old);
        let old = add_to_gitignore(&OLD_STATE_IGNORE, Some("a")).unwrap();
        let both = add_to_gitignore(&LOCAL_SETTINGS_IGNORE, Some(&old)).unwrap();
        let back = remove_from_gitignore(&LOCAL_SETTINGS_IGNORE, &both).unwrap();
        assert_eq!(
            remove_from_gitignore(&OLD_STATE_IGNORE, &back).unwrap(),
            "a"
        );
    }

    #[test]
    fn finding_14_a_gitignore_without_a_final_newline_gets_its_bytes_back() {
        let block = &LOCAL_SETTINGS_IGNORE;
        let added = add_to_gitignore(block, Some("target/")).unwrap();
        assert!(added.starts_with("target/\n# Claude Code"), "{added}");
        assert_eq!(remove_from_gitignore(block, &added).unwrap(), "target/");
        // With a final newline the block is the usual one, and the newline stays.
        let added = add_to_gitignore(block, Some("target/\n")).unwrap();
        assert_eq!(
            added,
            format!("target/\n{}\n{}\n", block.comment, block.line)
        );
        assert_eq!(remove_from_gitignore(block, &added).unwrap(), "target/\n");
    }

    #[test]
    fn a_status_line_can_be_left_out() {
        let (text, changes) = add_to_settings_with(None, BIN, false).unwrap();
        let text = text.unwrap();
        assert!(!text.contains("statusLine"), "{text}");
        assert_eq!(changes.added.len(), EVENTS.len());
        assert!(restores(
            "{}",
            &add_to_settings_with(Some("{}"), BIN, false)
                .unwrap()
                .0
                .unwrap()
        ));
    }

    #[test]
    fn layout_stops_at_max_layout_depth() {
        let raw = r#"{"a": [1, {"b": 2}]}"#;
        assert!(pretty(raw, MAX_LAYOUT_DEPTH).contains('\n'));
        assert_eq!(pretty(raw, MAX_LAYOUT_DEPTH + 1), raw);
    }

    #[test]
    fn finding_14_huge_numbers_and_deep_nesting_get_their_bytes_back() {
        let deep = format!("{}{}", "[".repeat(3000), "]".repeat(3000));
        let settings = [
            r#"{"a": 1E400, "b":[1,2]}"#.to_owned(),
            format!(r#"{{"deep":{deep}}}"#),
            format!(
                r#"{{"hooks": {{"Stop": [{{"hooks": [{{"type": "command", "command": "x", "n": 1E400}}]}}, {{"hooks": {deep}}}]}}, "statusLine": {{"n": -1e-400}}}}"#
            ),
        ];
        for original in &settings {
            let (text, _) = add_to_settings(Some(original), BIN).unwrap();
            let text = text.unwrap();
            assert_eq!(wired_commands(&text), [BIN], "{original}");
            assert!(restores(original, &text), "{original}");
            let (back, _) = remove_from_settings(&text).unwrap();
            serde_json::from_str::<serde::de::IgnoredAny>(&back.unwrap()).unwrap();
        }
    }

    /// Random settings files for the property tests: the shapes people write (Orchestron's
    /// handlers among others', status lines of both), laid out at random, with numbers a
    /// `Value` cannot hold and nesting past serde's limit.
    pub(crate) mod generate {
        use proptest::prelude::*;

        fn spaces() -> impl Strategy<Value = &'static str> {
            prop_oneof![Just(""), Just(" "), Just("\n  "), Just("\t"), Just("\r\n")]
        }

        fn scalar() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("null".to_owned()),
                Just("true".to_owned()),
                Just("1E400".to_owned()),
                Just("-1e-400".to_owned()),
                Just("-0.0".to_owned()),
                Just("123456789012345678901234567890".to_owned()),
                any::<i64>().prop_map(|n| n.to_string()),
                "\\PC{0,6}".prop_map(|text| serde_json::to_string(&text).unwrap()),
                Just(r#""\u00e9\n\"\\""#.to_owned()),
                (1usize..400).prop_map(|depth| format!(
                    "{}{}",
                    "[".repeat(depth),
                    "]".repeat(depth)
                )),
            ]
        }

        fn value() -> impl Strategy<Value = String> {
            scalar().prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    (prop::collection::vec(inner.clone(), 0..4), spaces()).prop_map(
                        |(items, space)| format!(
                            "[{space}{}{space}]",
                            items.join(&format!(",{space}"))
                        )
                    ),
                    (prop::collection::vec(("[a-z]{1,4}", inner), 0..4), spaces()).prop_map(
                        |(pairs, space)| {
                            let members: Vec<String> = pairs
                                .iter()
                                .map(|(k, v)| format!("\"{k}\":{space}{v}"))
                                .collect();
                            format!("{{{space}{}{space}}}", members.join(&format!(",{space}")))
                        }
                    ),
                ]
            })
        }

        fn handler() -> impl Strategy<Value = String> {
            prop_oneof![
                prop::sample::select(super::super::EVENTS).prop_map(|event| format!(
                    r#"{{"type": "command", "command": "/old/orchestron", "args": ["hook", "{event}"], "timeout": 10}}"#
                )),
                Just(r#"{"type": "command", "command": "my-hook"}"#.to_owned()),
                Just(r#"{"type":"command","command":"lint","n":1E400}"#.to_owned()),
                value(),
            ]
        }

        fn hooks() -> impl Strategy<Value = String> {
            let group =
                (prop::collection::vec(handler(), 0..3), spaces()).prop_map(|(handlers, space)| {
                    format!(
                        r#"{{"matcher": "",{space}"hooks": [{}]}}"#,
                        handlers.join(", ")
                    )
                });
            let event = prop_oneof![
                prop::sample::select(super::super::EVENTS).prop_map(str::to_owned),
                Just("Notification".to_owned()),
            ];
            (
                prop::collection::vec((event, prop::collection::vec(group, 0..3)), 0..3),
                spaces(),
            )
                .prop_map(|(events, space)| {
                    let mut seen = Vec::new();
                    let members: Vec<String> = events
                        .into_iter()
                        .filter(|(event, _)| {
                            let new = !seen.contains(event);
                            seen.push(event.clone());
                            new
                        })
                        .map(|(event, groups)| {
                            format!("\"{event}\": [{space}{}]", groups.join(", "))
                        })
                        .collect();
                    format!("{{{space}{}{space}}}", members.join(&format!(",{space}")))
                })
        }

        fn status_line() -> impl Strategy<Value = String> {
            prop_oneof![
                Just(r#"{"type": "command", "command": "/old/orchestron statusline"}"#.to_owned()),
                Just(r#"{"type":"command","command":"my-line"}"#.to_owned()),
                value(),
            ]
        }

        /// A settings file's text.
        pub(crate) fn settings() -> impl Strategy<Value = String> {
            let member = prop_oneof![
                hooks().prop_map(|hooks| ("hooks".to_owned(), hooks)),
                status_line().prop_map(|line| ("statusLine".to_owned(), line)),
                ("[a-z]{1,6}", value()),
            ];
            (
                prop::collection::vec(member, 0..5),
                spaces(),
                prop::bool::ANY,
            )
                .prop_map(|(members, space, final_newline)| {
                    let mut seen = Vec::new();
                    let members: Vec<String> = members
                        .into_iter()
                        .filter(|(key, _)| {
                            let new = !seen.contains(key);
                            seen.push(key.clone());
                            new
                        })
                        .map(|(key, value)| format!("\"{key}\":{space}{value}"))
                        .collect();
                    let newline = if final_newline { "\n" } else { "" };
                    format!(
                        "{{{space}{}{space}}}{newline}",
                        members.join(&format!(",{space}"))
                    )
                })
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// What `init` writes parses, is left alone by a second `init`, and gives the very
        /// bytes back to `uninstall` (through the backup); removing Orchestron's entries
        /// alone gives back the same value.
        #[test]
        fn init_then_uninstall_restores_the_bytes_of_random_settings(
            original in generate::settings(),
        ) {
            let Ok((text, _)) = add_to_settings(Some(&original), BIN) else {
                return Ok(());
            };
            let text = text.expect("a random file lacks some of Orchestron's entries");
            serde_json::from_str::<serde::de::IgnoredAny>(&text).expect("init writes JSON");
            proptest::prop_assert!(add_to_settings(Some(&text), BIN).unwrap().0.is_none());
            proptest::prop_assert!(restores(&original, &text));
            let (back, _) = remove_from_settings(&text).unwrap();
            let back = back.expect("init's entries are there to remove");
            let untouched = wired_commands(&original).is_empty() && !original.contains("orchestron statusline");
            if let (true, Ok(mut before)) = (untouched, serde_json::from_str::<Value>(&original)) {
                // An event list or a `hooks` object that was empty goes with Orchestron's
                // entries: it was emptied again. (The backup gives its bytes back.)
                if let Some(hooks) = before.get_mut("hooks").and_then(Value::as_object_mut) {
                    hooks.retain(|event, groups| {
                        !EVENTS.contains(&event.as_str()) || groups.as_array().is_none_or(|groups| !groups.is_empty())
                    });
                    if hooks.is_empty() {
                        before.as_object_mut().unwrap().remove("hooks");
                    }
                }
                if back.is_empty() {
                    proptest::prop_assert_eq!(before, json!({}));
                } else {
                    proptest::prop_assert_eq!(serde_json::from_str::<Value>(&back).unwrap(), before);
                }
            } else if !back.is_empty() {
                serde_json::from_str::<serde::de::IgnoredAny>(&back).expect("uninstall writes JSON");
            }
        }

        /// `.gitignore`: added then removed, every byte as it was.
        #[test]
        fn gitignore_edits_restore_the_bytes(
            lines in proptest::collection::vec("[a-z/#*. ]{0,8}", 0..5),
            newline in proptest::prelude::prop_oneof![
                proptest::prelude::Just("\n"),
                proptest::prelude::Just("\r\n"),
            ],
            final_newline in proptest::bool::ANY,
        ) {
            let mut original = lines.join(newline);
            if final_newline && !original.is_empty() {
                original.push_str(newline);
            }
            for block in [&LOCAL_SETTINGS_IGNORE, &OLD_STATE_IGNORE] {
                if let Some(added) = add_to_gitignore(block, Some(&original)) {
                    proptest::prop_assert_eq!(remove_from_gitignore(block, &added), Some(original.clone()));
                }
            }
        }
    }
}
