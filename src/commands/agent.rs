//! `orchestron agent list`: the agents seen, from the core (`agents::list`), as a table or
//! JSON.

use serde_json::json;

use crate::cli::AgentCommand;
use crate::context::Context;
use crate::output::Output;
use orchestron_core::agents;

pub(super) fn run(
    context: &Context,
    out: &mut Output,
    command: AgentCommand,
) -> anyhow::Result<()> {
    let cx = context.core()?;
    match command {
        AgentCommand::List => {
            let agents = agents::list(cx)?;
            if out.json() {
                return Ok(out.json_line(&json!({ "agents": agents }))?);
            }
            if agents.is_empty() {
                return Ok(out.line(
                    "no agent seen yet: name one with `agent.id` in the configuration, \
                     `ORCHESTRON_AGENT` or `--agent`",
                )?);
            }
            let mut rows = Vec::new();
            for agent in &agents {
                let skills = agent.skills.join(", ");
                if agent.sessions.is_empty() {
                    rows.push(vec![
                        agent.name.clone(),
                        skills.clone(),
                        "-".to_owned(),
                        String::new(),
                        String::new(),
                    ]);
                }
                for session in &agent.sessions {
                    let item = match (&session.item, &session.title) {
                        (Some(item), Some(title)) => format!("{item} {title}"),
                        (Some(item), None) => item.clone(),
                        _ => String::new(),
                    };
                    rows.push(vec![
                        agent.name.clone(),
                        skills.clone(),
                        session.id.clone(),
                        session.status.clone(),
                        item,
                    ]);
                }
            }
            Ok(out.table(&["AGENT", "SKILLS", "SESSION", "STATUS", "ITEM"], &rows)?)
        }
    }
}
