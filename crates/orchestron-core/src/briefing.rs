//! What a new session that has no item of its own is told of the plan at SessionStart, so
//! that it does not start blind: the active sprint with its progress and days left, how
//! many items are ready and the first [`plan::TOP_READY`], the clarifications and feedback
//! on items assigned to it that no session has been shown, the latest decisions' titles,
//! and the command that takes the next item.
//!
//! "Assigned to it" means assigned to the session's id (what `task next --claim` and
//! `task assign ID SESSION` record) or to the project's agent, `agent.id` in the
//! configuration. Those comments are shown, not marked seen: the session has not taken the
//! item, so a later session is told them again until one works on the item (its current
//! task marks them seen) or they reach a running session's inbox.
//!
//! Reads only: the tracker is opened read-only, and only when it exists.

use crate::context::Context;
use crate::error::Result;
use crate::text::clip_line as clip;
use crate::tracker::plan::{self, Plan};
use crate::tracker::sprints;

/// The share of SessionStart's context (`hooks.context_chars`) the plan may take, in
/// percent: half, so that it never starves the blocks after it, and the handoffs before it
/// keep their own share.
pub const PLAN_SHARE_PERCENT: usize = 50;

/// The longest title, sprint name or goal the plan shows (characters); a longer one is cut
/// with `…`.
pub const MAX_TITLE_CHARS: usize = 80;

/// The longest clarification or feedback the plan shows whole (characters); a longer one
/// is cut with `…` (`orchestron task clarifications ID` shows all of it).
pub const MAX_COMMENT_CHARS: usize = 300;

/// The command that takes the next item; the plan's last line names it.
pub const NEXT_COMMAND: &str = "orchestron task next --claim";

/// The plan for the session `session` (or for nobody in particular), with the project's
/// agent from the configuration; `None` when the project has no tracker.
pub fn plan(cx: &Context, session: Option<&str>) -> Result<Option<Plan>> {
    if !cx.tracker_path().exists() {
        return Ok(None);
    }
    let db = cx.tracker_for_reads()?;
    let mut who: Vec<&str> = session.into_iter().collect();
    who.extend(cx.config().agent.id());
    Ok(Some(plan::gather(
        db.conn(),
        sprints::day_of(cx.now()),
        &who,
    )?))
}

/// The plan's lines for the SessionStart context of `session`, within
/// [`PLAN_SHARE_PERCENT`] of `context_chars`; none when the project has no tracker or
/// nothing to tell.
pub fn plan_lines(cx: &Context, session: &str, context_chars: usize) -> Result<Vec<String>> {
    let Some(plan) = plan(cx, Some(session))? else {
        return Ok(Vec::new());
    };
    Ok(describe(&plan, share(context_chars)))
}

/// The characters the plan may take of a context of `context_chars`.
pub fn share(context_chars: usize) -> usize {
    context_chars * PLAN_SHARE_PERCENT / 100
}

/// The plan as lines, in order, together at most `budget` characters (counting a newline
/// between lines): the lines before the command keep to what the command leaves, and a line
/// that does not fit whole is shortened, ending in `…`, or left out with those after it.
pub fn describe(plan: &Plan, budget: usize) -> Vec<String> {
    if plan.is_empty() {
        return Vec::new();
    }
    let mut lines = Vec::new();
    match &plan.sprint {
        Some(sprint) => {
            let mut line = format!(
                "Plan: sprint {} ({}): {} of {} items done, {:.1} of {:.1} h",
                clip(&sprint.name, MAX_TITLE_CHARS),
                sprint.id,
                sprint.items_done,
                sprint.items,
                sprint.hours_done,
                sprint.hours
            );
            match sprint.days_left {
                Some(days) if days > 1 => line.push_str(&format!(", {days} days left")),
                Some(1) => line.push_str(", 1 day left"),
                Some(_) => line.push_str(&format!(
                    ", past its end ({})",
                    sprint.end_date.as_deref().unwrap_or("?")
                )),
                None => line.push_str(", not started"),
            }
            line.push('.');
            if !sprint.goal.trim().is_empty() {
                line.push_str(&format!(" Goal: {}.", clip(&sprint.goal, MAX_TITLE_CHARS)));
            }
            lines.push(line);
        }
        None => lines.push("Plan: no active sprint.".to_owned()),
    }
    let ready = &plan.ready;
    if ready.count == 0 {
        lines.push("Ready: nothing.".to_owned());
    } else {
        let count = if ready.more {
            format!("more than {}", plan::MAX_READY_COUNTED)
        } else {
            ready.count.to_string()
        };
        let top: Vec<String> = ready
            .top
            .iter()
            .map(|item| format!("{} {}", item.id, clip(&item.title, MAX_TITLE_CHARS)))
            .collect();
        lines.push(format!(
            "Ready: {count} item{}; first {}.",
            if ready.count == 1 && !ready.more {
                ""
            } else {
                "s"
            },
            top.join("; ")
        ));
    }
    for comment in &plan.unseen {
        let label = if comment.kind == "feedback" {
            "Feedback"
        } else {
            "Clarification"
        };
        lines.push(format!(
            "{label} on {} ({}), assigned to you: {}",
            comment.item,
            clip(&comment.title, MAX_TITLE_CHARS),
            clip(&comment.text, MAX_COMMENT_CHARS)
        ));
    }
    if plan.unseen_more {
        lines.push(
            "More clarifications and feedback wait: `orchestron task clarifications ID`."
                .to_owned(),
        );
    }
    if !plan.decisions.is_empty() {
        let decisions: Vec<String> = plan
            .decisions
            .iter()
            .map(|decision| format!("{} {}", decision.id, clip(&decision.title, MAX_TITLE_CHARS)))
            .collect();
        lines.push(format!("Latest decisions: {}.", decisions.join("; ")));
    }
    let last = (ready.count > 0).then(|| format!("Take the next item: `{NEXT_COMMAND}`."));
    let reserved = last.as_ref().map_or(0, |line| line.chars().count() + 1);
    let mut kept = fit(&lines, budget.saturating_sub(reserved));
    if let Some(last) = last {
        let used: usize = kept.iter().map(|line| line.chars().count() + 1).sum();
        if used + last.chars().count() <= budget {
            kept.push(last);
        }
    }
    kept
}

/// `lines` kept in order while they fit in `budget` characters (a newline between two);
/// the first that does not is shortened to what is left, ending in `…`, when at least 20
/// characters are left, and the rest are left out.
fn fit(lines: &[String], budget: usize) -> Vec<String> {
    let mut kept = Vec::new();
    let mut used = 0;
    for line in lines {
        let separator = usize::from(!kept.is_empty());
        let length = line.chars().count();
        if used + separator + length <= budget {
            used += separator + length;
            kept.push(line.clone());
            continue;
        }
        let room = budget.saturating_sub(used + separator + 1);
        if room >= 20 {
            kept.push(format!("{}…", line.chars().take(room).collect::<String>()));
        }
        break;
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracker::knowledge::DecisionTitle;
    use crate::tracker::plan::{ReadyWork, SprintProgress, Titled, UnseenComment};

    fn full(long: &str, many: usize) -> Plan {
        Plan {
            sprint: Some(SprintProgress {
                id: "SPRINT-1".to_owned(),
                name: format!("Sprint {long}"),
                goal: format!("Ship {long}"),
                items: 5,
                items_done: 2,
                hours: 14.0,
                hours_done: 6.0,
                start_date: Some("2026-01-01".to_owned()),
                end_date: Some("2026-01-11".to_owned()),
                days_left: Some(7),
            }),
            ready: ReadyWork {
                count: 4,
                more: false,
                top: (1..=3)
                    .map(|n| Titled {
                        id: format!("TASK-{n}"),
                        title: format!("Title {n} {long}"),
                    })
                    .collect(),
            },
            unseen: (0..many.min(plan::MAX_UNSEEN))
                .map(|n| UnseenComment {
                    item: format!("TASK-{n}"),
                    title: format!("Item {long}"),
                    kind: if n % 2 == 0 {
                        "clarification"
                    } else {
                        "feedback"
                    }
                    .to_owned(),
                    text: format!("Use PostgreSQL {n} {long}"),
                })
                .collect(),
            unseen_more: many > plan::MAX_UNSEEN,
            decisions: (0..many.min(plan::LATEST_DECISIONS))
                .map(|n| DecisionTitle {
                    id: format!("DEC-{n}"),
                    title: format!("Decision {n} {long}"),
                    created_at: "2026-01-01T00:00:00Z".to_owned(),
                })
                .collect(),
        }
    }

    #[test]
    fn the_plan_reads_in_order_and_ends_with_the_command() {
        let lines = describe(&full("", 1), 10_000);
        assert_eq!(
            lines,
            [
                "Plan: sprint Sprint (SPRINT-1): 2 of 5 items done, 6.0 of 14.0 h, 7 days left. Goal: Ship.",
                "Ready: 4 items; first TASK-1 Title 1; TASK-2 Title 2; TASK-3 Title 3.",
                "Clarification on TASK-0 (Item), assigned to you: Use PostgreSQL 0",
                "Latest decisions: DEC-0 Decision 0.",
                "Take the next item: `orchestron task next --claim`.",
            ]
        );
    }

    #[test]
    fn a_huge_plan_keeps_to_its_budget_and_keeps_the_command() {
        let long = "x".repeat(5_000);
        let plan = full(&long, 50);
        for budget in [0, 10, 60, 100, 500, 1_000, 5_000] {
            let lines = describe(&plan, budget);
            let size: usize = lines.iter().map(|line| line.chars().count()).sum::<usize>()
                + lines.len().saturating_sub(1);
            assert!(size <= budget, "{size} > {budget}: {lines:?}");
            if budget >= 100 {
                assert_eq!(
                    lines.last().unwrap(),
                    "Take the next item: `orchestron task next --claim`."
                );
                assert!(lines[0].starts_with("Plan: sprint Sprint xxx"), "{lines:?}");
            }
        }
        // Titles, names and comments are cut, so that all the parts fit a modest budget.
        let lines = describe(&plan, 5_000);
        assert!(
            lines
                .iter()
                .any(|line| line.starts_with("Latest decisions: "))
        );
        assert!(
            lines
                .iter()
                .any(|line| line.starts_with("More clarifications"))
        );
        assert_eq!(
            lines
                .iter()
                .filter(|line| line.contains("assigned to you"))
                .count(),
            plan::MAX_UNSEEN
        );
    }

    #[test]
    fn an_empty_plan_says_nothing_and_nothing_ready_offers_no_command() {
        let mut plan = full("", 0);
        plan.sprint = None;
        plan.ready = ReadyWork {
            count: 0,
            more: false,
            top: Vec::new(),
        };
        assert!(describe(&plan, 1_000).is_empty());
        plan.decisions.push(DecisionTitle {
            id: "DEC-1".to_owned(),
            title: "Use SQLite".to_owned(),
            created_at: String::new(),
        });
        assert_eq!(
            describe(&plan, 1_000),
            [
                "Plan: no active sprint.",
                "Ready: nothing.",
                "Latest decisions: DEC-1 Use SQLite."
            ]
        );
    }

    #[test]
    fn days_left_read_as_people_say_them() {
        let mut plan = full("", 0);
        let line = |plan: &Plan| describe(plan, 1_000)[0].clone();
        let sprint = plan.sprint.as_mut().unwrap();
        sprint.days_left = Some(1);
        assert!(line(&plan).contains(", 1 day left."), "{}", line(&plan));
        plan.sprint.as_mut().unwrap().days_left = Some(0);
        assert!(line(&plan).contains(", past its end (2026-01-11)."));
        plan.sprint.as_mut().unwrap().days_left = None;
        assert!(line(&plan).contains(", not started."));
    }
}
