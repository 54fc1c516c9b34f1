//! `orchestron decide`, `decision …` and `memory …`: each arm calls one operation of the
//! core's tracker (`tracker::knowledge`) and renders its typed result as text or JSON.

use serde::Serialize;
use serde_json::json;

use crate::cli::{DecisionCommand, MemoryCommand};
use crate::context::Context;
use crate::output::Output;
use orchestron_core::tracker::knowledge::{
    self, Decision, Memory, MemoryChange, NewDecision, NewMemory,
};

/// The version of the JSON shape of single records.
const SCHEMA_VERSION: u32 = 1;

pub(super) fn decide(context: &Context, out: &mut Output, new: NewDecision) -> anyhow::Result<()> {
    let (decision, fired) = orchestron_core::reviews::decide(context.core()?, &new)?;
    for fired in &fired {
        crate::output::note(&fired.note);
    }
    if out.json() {
        let mut value = serde_json::to_value(&decision)?;
        if !fired.is_empty() {
            value["review_points"] = serde_json::to_value(&fired)?;
        }
        out.json_line(&value)?;
        Ok(())
    } else {
        out.line(&decision.id)?;
        Ok(())
    }
}

pub(super) fn decision(
    context: &Context,
    out: &mut Output,
    command: DecisionCommand,
) -> anyhow::Result<()> {
    let cx = context.core()?;
    match command {
        DecisionCommand::List => {
            let list = knowledge::list_decisions(cx)?;
            if out.json() {
                return print_list(out, &list);
            }
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|decision| {
                    vec![
                        decision.id.clone(),
                        decision.created_at.clone(),
                        decision.task.clone().unwrap_or_else(|| "-".to_owned()),
                        decision.title.clone(),
                    ]
                })
                .collect();
            out.table(&["ID", "AT", "TASK", "TITLE"], &rows)?;
            Ok(())
        }
        DecisionCommand::Show { id } => {
            let decision = knowledge::show_decision(cx, &id)?;
            if out.json() {
                return print_record(out, &decision);
            }
            show_decision(out, &decision)?;
            Ok(())
        }
    }
}

fn show_decision(out: &mut Output, decision: &Decision) -> std::io::Result<()> {
    out.line(&format!("{}  {}", decision.id, decision.title))?;
    if !decision.rationale.is_empty() {
        out.line(&format!("rationale: {}", decision.rationale))?;
    }
    for (key, list) in [
        ("alternatives", &decision.alternatives),
        ("pros", &decision.pros),
        ("cons", &decision.cons),
    ] {
        if !list.is_empty() {
            out.line(&format!("{key}: {}", list.join(", ")))?;
        }
    }
    if let Some(task) = &decision.task {
        out.line(&format!("task: {task}"))?;
    }
    out.line(&format!("at: {}", decision.created_at))
}

pub(super) fn memory(
    context: &Context,
    out: &mut Output,
    command: MemoryCommand,
) -> anyhow::Result<()> {
    let cx = context.core()?;
    match command {
        MemoryCommand::Add {
            kind,
            key,
            description,
            confidence,
            details,
        } => {
            let new = NewMemory {
                kind,
                key,
                description,
                confidence,
                details,
            };
            print_memory(out, &knowledge::add_memory(cx, &new)?)
        }
        MemoryCommand::Get { kind, key } => {
            print_memory(out, &knowledge::get_memory(cx, &kind, &key)?)
        }
        MemoryCommand::Update {
            kind,
            key,
            add_details,
            confidence,
            description,
        } => {
            let change = MemoryChange {
                kind,
                key,
                add_details,
                confidence,
                description,
            };
            print_memory(out, &knowledge::update_memory(cx, &change)?)
        }
        MemoryCommand::List { kind } => {
            print_memory_list(out, &knowledge::list_memory(cx, kind.as_deref())?)
        }
        MemoryCommand::Search { text } => {
            print_memory_list(out, &knowledge::search_memory(cx, &text)?)
        }
    }
}

fn print_memory(out: &mut Output, memory: &Memory) -> anyhow::Result<()> {
    if out.json() {
        return print_record(out, memory);
    }
    // The confidence as JSON writes it (`0.5`, `1.0`), as it always has been shown.
    out.line(&format!(
        "{} {}  (confidence {})",
        memory.kind,
        memory.key,
        json!(memory.confidence)
    ))?;
    if !memory.description.is_empty() {
        out.line(&memory.description)?;
    }
    for detail in &memory.details {
        out.line(&format!("- {}", detail.as_str().unwrap_or_default()))?;
    }
    Ok(())
}

fn print_memory_list(out: &mut Output, list: &[Memory]) -> anyhow::Result<()> {
    if out.json() {
        return print_list(out, list);
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|memory| {
            vec![
                memory.kind.clone(),
                memory.key.clone(),
                format!("{:.2}", memory.confidence),
                memory.description.clone(),
            ]
        })
        .collect();
    out.table(&["KIND", "KEY", "CONFIDENCE", "DESCRIPTION"], &rows)?;
    Ok(())
}

/// One record, with the version of its shape.
fn print_record(out: &mut Output, record: &impl Serialize) -> anyhow::Result<()> {
    let mut value = serde_json::to_value(record)?;
    value["schema_version"] = json!(SCHEMA_VERSION);
    out.json_line(&value)?;
    Ok(())
}

fn print_list<T: Serialize + ?Sized>(out: &mut Output, list: &T) -> anyhow::Result<()> {
    out.json_line(&serde_json::to_value(list)?)?;
    Ok(())
}
