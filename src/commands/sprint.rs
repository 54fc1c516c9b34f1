//! `orchestron sprint …` and `orchestron timer …`: each arm calls one operation of the
//! core's `tracker::sprints` and renders its typed result as text or JSON.

use serde::Serialize;
use serde_json::json;

use crate::cli::{SprintCommand, TimerCommand};
use crate::context::Context;
use crate::output::Output;
use orchestron_core::tracker::sprints::{
    self, Burndown, DatedSprint, NewSprint, SprintDetail, Velocity,
};

/// The version of the JSON shape of single objects.
const SCHEMA_VERSION: u32 = 1;

pub(super) fn run(
    context: &Context,
    out: &mut Output,
    command: SprintCommand,
) -> anyhow::Result<()> {
    let cx = context.core()?;
    match command {
        SprintCommand::Create {
            name,
            goal,
            duration,
            start,
        } => {
            let new = NewSprint {
                name,
                goal,
                duration_days: duration,
                start,
            };
            let created = sprints::create(cx, &new)?;
            if out.json() {
                print_sprint(out, &created)
            } else {
                out.line(&created.sprint.id)?;
                Ok(())
            }
        }
        SprintCommand::Add { sprint, ids } => print_sprint(out, &sprints::add(cx, &sprint, &ids)?),
        SprintCommand::Remove { sprint, ids } => {
            print_sprint(out, &sprints::remove(cx, &sprint, &ids)?)
        }
        SprintCommand::Start { sprint } => print_sprint(out, &sprints::start(cx, &sprint)?),
        SprintCommand::Complete { sprint } => print_sprint(out, &sprints::complete(cx, &sprint)?),
        SprintCommand::List => print_list(out, &sprints::list(cx)?),
        SprintCommand::Show { sprint } => print_sprint(out, &sprints::show(cx, &sprint)?),
        SprintCommand::Burndown { sprint } => {
            print_burndown(out, &sprints::burndown(cx, sprint.as_deref())?)
        }
        SprintCommand::Velocity { last } => print_velocity(out, &sprints::velocity_of(cx, last)?),
    }
}

/// A single object as JSON, with the version of its shape.
fn json_object(out: &mut Output, value: &impl Serialize) -> anyhow::Result<()> {
    let mut value = serde_json::to_value(value)?;
    value["schema_version"] = json!(SCHEMA_VERSION);
    out.json_line(&value)?;
    Ok(())
}

fn print_sprint(out: &mut Output, detail: &SprintDetail) -> anyhow::Result<()> {
    if out.json() {
        return json_object(out, detail);
    }
    let sprint = &detail.sprint;
    out.line(&format!(
        "{}  {}  {}",
        sprint.id, sprint.status, sprint.name
    ))?;
    if !sprint.goal.is_empty() {
        out.line(&format!("goal: {}", sprint.goal))?;
    }
    if let (Some(start), Some(end)) = (&sprint.start_date, &detail.end_date) {
        out.line(&format!(
            "dates: {start} to {end} ({} days)",
            sprint.duration_days
        ))?;
    }
    out.line(&format!(
        "{} items, {:.1} of {:.1} estimated hours done",
        detail.items.len(),
        detail.estimate_done,
        detail.estimate_total
    ))?;
    let rows: Vec<Vec<String>> = detail
        .items
        .iter()
        .map(|item| {
            vec![
                item.id.clone(),
                item.status.to_string(),
                item.estimate.map_or("-".to_owned(), |e| format!("{e}")),
                item.title.clone(),
            ]
        })
        .collect();
    if !rows.is_empty() {
        out.table(&["ID", "STATUS", "HOURS", "TITLE"], &rows)?;
    }
    Ok(())
}

fn print_list(out: &mut Output, list: &[DatedSprint]) -> anyhow::Result<()> {
    if out.json() {
        out.json_line(&serde_json::to_value(list)?)?;
        return Ok(());
    }
    let or_dash = |text: &Option<String>| text.clone().unwrap_or_else(|| "-".to_owned());
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|dated| {
            let sprint = &dated.sprint;
            vec![
                sprint.id.clone(),
                sprint.status.clone(),
                or_dash(&sprint.start_date),
                or_dash(&dated.end_date),
                format!("{}d", sprint.duration_days),
                sprint.name.clone(),
            ]
        })
        .collect();
    out.table(&["ID", "STATUS", "START", "END", "LENGTH", "NAME"], &rows)?;
    Ok(())
}

/// The remaining estimate at the end of each day, as a table with a bar chart.
fn print_burndown(out: &mut Output, burndown: &Burndown) -> anyhow::Result<()> {
    if out.json() {
        return json_object(out, burndown);
    }
    let total = burndown.total;
    let rows: Vec<Vec<String>> = burndown
        .days
        .iter()
        .map(|day| {
            let width = if total > 0.0 {
                (day.remaining / total * 40.0).round() as usize
            } else {
                0
            };
            vec![
                day.date.to_string(),
                format!("{:.1}", day.remaining),
                format!("{:.1}", day.ideal),
                "█".repeat(width),
            ]
        })
        .collect();
    out.line(&format!("{}: {total:.1} estimated hours", burndown.sprint))?;
    out.table(&["DAY", "REMAINING", "IDEAL", ""], &rows)?;
    Ok(())
}

fn print_velocity(out: &mut Output, velocity: &Velocity) -> anyhow::Result<()> {
    if out.json() {
        return json_object(out, velocity);
    }
    let rows: Vec<Vec<String>> = velocity
        .sprints
        .iter()
        .map(|sprint| {
            vec![
                sprint.id.clone(),
                format!("{}/{}", sprint.items_done, sprint.items),
                format!("{:.1}", sprint.hours_done),
                sprint.name.clone(),
            ]
        })
        .collect();
    out.table(&["SPRINT", "DONE", "HOURS", "NAME"], &rows)?;
    out.line(&format!(
        "average: {:.1} hours per sprint",
        velocity.average_hours
    ))?;
    Ok(())
}

pub(super) fn timer(
    context: &Context,
    out: &mut Output,
    command: TimerCommand,
) -> anyhow::Result<()> {
    let cx = context.core()?;
    match command {
        TimerCommand::Start { id } => {
            let started = sprints::timer_start(cx, &id)?;
            print_time(out, &started, &format!("timing {}", started.item))
        }
        TimerCommand::Stop { id } => {
            let stopped = sprints::timer_stop(cx, &id)?;
            let text = format!(
                "{}: {}",
                stopped.item,
                sprints::describe_time(stopped.seconds)
            );
            print_time(out, &stopped, &text)
        }
        TimerCommand::Log { id, hours, note } => {
            let logged = sprints::timer_log(cx, &id, hours, note.as_deref())?;
            print_time(
                out,
                &logged,
                &format!("{}: {} h", logged.item, logged.hours),
            )
        }
        TimerCommand::Report { since } => {
            let spent = sprints::timer_report(cx, since.as_deref())?;
            if out.json() {
                out.json_line(&serde_json::to_value(&spent)?)?;
                return Ok(());
            }
            let rows: Vec<Vec<String>> = spent
                .into_iter()
                .map(|entry| {
                    vec![
                        entry.item,
                        format!("{:.2}", entry.hours),
                        entry.estimate.map_or("-".to_owned(), |e| format!("{e}")),
                        if entry.running {
                            "running".to_owned()
                        } else {
                            String::new()
                        },
                        entry.title,
                    ]
                })
                .collect();
            out.table(&["ITEM", "HOURS", "ESTIMATE", "TIMER", "TITLE"], &rows)?;
            Ok(())
        }
    }
}

fn print_time(out: &mut Output, result: &impl Serialize, text: &str) -> anyhow::Result<()> {
    if out.json() {
        json_object(out, result)
    } else {
        out.line(text)?;
        Ok(())
    }
}
