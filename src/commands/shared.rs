//! `orchestron shared …`: the V2 `shared_state.py` commands. Each arm parses its JSON
//! arguments, calls one operation of the core (`tracker::shared`) and prints its record as
//! JSON (single records with `schema_version`), as V2 scripts read them.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::cli::SharedCommand;
use crate::context::Context;
use crate::output::Output;
use orchestron_core::tracker::shared::{self, EpicChange, EpicStatus, NewTool, SprintChange};

/// The version of the JSON shape of single records.
const SCHEMA_VERSION: u32 = 1;

fn object(raw: Option<&str>, option: &str) -> anyhow::Result<Option<Map<String, Value>>> {
    raw.map(|raw| super::parse_object(raw, option)).transpose()
}

fn epic_status(raw: Option<&str>) -> anyhow::Result<Option<EpicStatus>> {
    Ok(raw.map(str::parse).transpose()?)
}

pub(super) fn run(
    context: &Context,
    out: &mut Output,
    command: SharedCommand,
) -> anyhow::Result<()> {
    // Every JSON argument is parsed before the core is reached, so bad input touches nothing.
    match command {
        SharedCommand::GetConfig { project } => {
            let cx = context.core()?;
            print_record(out, &shared::get_config(cx, &project)?)
        }
        SharedCommand::SetConfig { project, data } => {
            let data = super::parse_object(&data, "--data")?;
            let cx = context.core()?;
            print_record(out, &shared::set_config(cx, &project, &data)?)
        }
        SharedCommand::UpdateEpic {
            project,
            epic,
            status,
            title,
            description,
            priority,
            data,
        } => {
            let change = EpicChange {
                project,
                epic,
                status: epic_status(status.as_deref())?,
                title,
                description,
                priority,
                data: object(data.as_deref(), "--data")?,
            };
            let cx = context.core()?;
            print_record(out, &shared::update_epic(cx, &change)?)
        }
        SharedCommand::GetEpic { project, epic } => {
            let cx = context.core()?;
            print_record(out, &shared::get_epic(cx, &project, &epic)?)
        }
        SharedCommand::ListEpics { project, status } => {
            let status = epic_status(status.as_deref())?;
            let cx = context.core()?;
            print_list(out, &shared::list_epics(cx, &project, status)?)
        }
        SharedCommand::CreateSprint {
            project,
            sprint,
            name,
            epic_id,
            data,
        } => {
            let change = SprintChange {
                project,
                sprint,
                name: Some(name),
                status: None,
                epic_id,
                data: object(data.as_deref(), "--data")?,
            };
            let cx = context.core()?;
            print_record(out, &shared::create_sprint(cx, &change)?)
        }
        SharedCommand::UpdateSprint {
            project,
            sprint,
            name,
            status,
            epic_id,
            data,
        } => {
            let change = SprintChange {
                project,
                sprint,
                name,
                status,
                epic_id,
                data: object(data.as_deref(), "--data")?,
            };
            let cx = context.core()?;
            print_record(out, &shared::update_sprint(cx, &change)?)
        }
        SharedCommand::GetSprint { project, sprint } => {
            let cx = context.core()?;
            print_record(out, &shared::get_sprint(cx, &project, &sprint)?)
        }
        SharedCommand::ListSprints {
            project,
            status,
            epic_id,
        } => {
            let cx = context.core()?;
            let list = shared::list_sprints(cx, &project, status.as_deref(), epic_id.as_deref())?;
            print_list(out, &list)
        }
        SharedCommand::RegisterTool {
            name,
            kind,
            version,
            description,
            path,
            dependencies,
            config,
        } => {
            let dependencies = match dependencies.as_deref() {
                None => None,
                Some(raw) => match super::parse_json(raw, "--dependencies")? {
                    Value::Array(list) => Some(list),
                    _ => anyhow::bail!(
                        "`--dependencies` must be a JSON array such as `[\"bandit\"]`"
                    ),
                },
            };
            let new = NewTool {
                name,
                kind,
                version,
                description,
                path,
                dependencies,
                config: object(config.as_deref(), "--config")?,
            };
            let cx = context.core()?;
            print_record(out, &shared::register_tool(cx, &new)?)
        }
        SharedCommand::ListTools { kind } => {
            let cx = context.core()?;
            print_list(out, &shared::list_tools(cx, kind.as_deref())?)
        }
        SharedCommand::GetTool { name } => {
            let cx = context.core()?;
            print_record(out, &shared::get_tool(cx, &name)?)
        }
    }
}

/// One record, with the version of its shape.
fn print_record(out: &mut Output, record: &impl Serialize) -> anyhow::Result<()> {
    let mut value = serde_json::to_value(record)?;
    value["schema_version"] = json!(SCHEMA_VERSION);
    out.json_line(&value)?;
    Ok(())
}

fn print_list(out: &mut Output, list: &impl Serialize) -> anyhow::Result<()> {
    out.json_line(&serde_json::to_value(list)?)?;
    Ok(())
}
