//! Review points (seed 000 §10.3, §5.2): where work stops for a person. The project's
//! points are one document, `<root>/coordination/workflow.json`, applied from a file of
//! seed 000's `review-points.yaml` shape:
//!
//! ```yaml
//! name: checkpoint-review
//! triggers:
//!   - {type: progress, threshold: 50, action: notify-human}
//!   - {type: milestone, name: "API Complete", action: request-review}
//!   - {type: decision, severity: high, action: pause-for-approval}
//!   - {type: tests-failing, count: 2, action: pause-for-approval}
//!   - {type: sensitive-path, paths: ["**/auth/**", ".env*"], action: ask}
//! ```
//!
//! This module holds the rules, pure (what a file may say, which trigger a change crosses),
//! and the document; `reviews` acts on what fires.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::context::Context;
use crate::coordination::glob::Glob;
use crate::error::{Error, Result};
use crate::ids::SessionId;
use crate::store::COORDINATION;

pub use crate::tracker::model::Severity;

/// What a trigger does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// An attention entry, and `notify.command`.
    NotifyHuman,
    /// The item to IN_REVIEW, which the attention queue lists.
    RequestReview,
    /// The session is paused: its writing tools are refused until a person approves.
    PauseForApproval,
    /// PreToolUse asks a person (sensitive paths).
    Ask,
}

impl Action {
    pub const NAMES: [&'static str; 4] = [
        "notify-human",
        "request-review",
        "pause-for-approval",
        "ask",
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::NotifyHuman => "notify-human",
            Action::RequestReview => "request-review",
            Action::PauseForApproval => "pause-for-approval",
            Action::Ask => "ask",
        }
    }
}

/// What makes a trigger fire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Trigger {
    /// An item's progress crosses `threshold` (percent) upwards, once per item.
    Progress { threshold: u8, action: Action },
    /// The item titled `name` (or with that id) is completed.
    Milestone { name: String, action: Action },
    /// A decision of `severity` or more is recorded.
    Decision { severity: Severity, action: Action },
    /// `count` test runs in a row fail in a session.
    TestsFailing { count: u32, action: Action },
    /// An edit of a file matching one of `paths` (globs from the repository's top level).
    SensitivePath { paths: Vec<String>, action: Action },
}

impl Trigger {
    pub fn action(&self) -> Action {
        match self {
            Trigger::Progress { action, .. }
            | Trigger::Milestone { action, .. }
            | Trigger::Decision { action, .. }
            | Trigger::TestsFailing { action, .. }
            | Trigger::SensitivePath { action, .. } => *action,
        }
    }

    /// A stable name for it: what its firing is recorded under.
    pub fn key(&self) -> String {
        match self {
            Trigger::Progress { threshold, .. } => format!("progress:{threshold}"),
            Trigger::Milestone { name, .. } => format!("milestone:{name}"),
            Trigger::Decision { severity, .. } => format!("decision:{}", severity.as_str()),
            Trigger::TestsFailing { count, .. } => format!("tests-failing:{count}"),
            Trigger::SensitivePath { paths, .. } => format!("sensitive-path:{}", paths.join(",")),
        }
    }

    /// It in words, for a reason or a note.
    pub fn describe(&self) -> String {
        match self {
            Trigger::Progress { threshold, .. } => format!("progress reached {threshold}%"),
            Trigger::Milestone { name, .. } => format!("milestone \"{name}\" completed"),
            Trigger::Decision { severity, .. } => {
                format!("a decision of severity {} or more", severity.as_str())
            }
            Trigger::TestsFailing { count, .. } => format!("{count} failing test runs in a row"),
            Trigger::SensitivePath { paths, .. } => {
                format!("an edit of a sensitive path ({})", paths.join(", "))
            }
        }
    }
}

/// The project's review points.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Points {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub triggers: Vec<Trigger>,
}

/// The most triggers a workflow holds.
pub const MAX_TRIGGERS: usize = 100;

/// Check a workflow given as JSON (a YAML file is read into the same value): every trigger
/// of a known type, with its fields, and an action it can take. The error names the trigger
/// (by number, from 1) and what is wrong.
pub fn parse(value: &Value) -> Result<Points> {
    let object = value.as_object().ok_or_else(|| {
        Error::invalid("a workflow is an object with `triggers`, a list of triggers")
    })?;
    for key in object.keys() {
        if !matches!(key.as_str(), "name" | "triggers" | "description") {
            return Err(Error::invalid(format!(
                "a workflow has `name` and `triggers`; `{key}` is unknown"
            )));
        }
    }
    let name = match object.get("name") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name.clone()),
        Some(_) => return Err(Error::invalid("the workflow's `name` must be text")),
    };
    let list = object
        .get("triggers")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::invalid("a workflow needs `triggers`, a list of triggers"))?;
    if list.len() > MAX_TRIGGERS {
        return Err(Error::invalid(format!(
            "at most {MAX_TRIGGERS} triggers, not {}",
            list.len()
        )));
    }
    let mut triggers = Vec::new();
    for (index, raw) in list.iter().enumerate() {
        let number = index + 1;
        triggers
            .push(trigger(raw).map_err(|why| Error::invalid(format!("trigger {number}: {why}")))?);
    }
    Ok(Points { name, triggers })
}

fn trigger(raw: &Value) -> std::result::Result<Trigger, String> {
    let object = raw
        .as_object()
        .ok_or("a trigger is an object with `type` and `action`")?;
    let kind = object
        .get("type")
        .and_then(Value::as_str)
        .ok_or("it has no `type`")?;
    let allowed: &[&str] = match kind {
        "progress" => &["threshold"],
        "milestone" => &["name"],
        "decision" => &["severity"],
        "tests-failing" => &["count"],
        "sensitive-path" => &["paths"],
        other => {
            return Err(format!(
                "unknown type `{other}`: it is one of progress, milestone, decision, \
                 tests-failing, sensitive-path"
            ));
        }
    };
    for key in object.keys() {
        if key != "type" && key != "action" && !allowed.contains(&key.as_str()) {
            return Err(format!("a {kind} trigger has no `{key}`"));
        }
    }
    let action_name = object
        .get("action")
        .and_then(Value::as_str)
        .ok_or("it has no `action`")?;
    let action = match action_name {
        "notify-human" => Action::NotifyHuman,
        "request-review" => Action::RequestReview,
        "pause-for-approval" => Action::PauseForApproval,
        "ask" => Action::Ask,
        other => {
            return Err(format!(
                "unknown action `{other}`: it is one of {}",
                Action::NAMES.join(", ")
            ));
        }
    };
    let sensitive = kind == "sensitive-path";
    if action == Action::Ask && !sensitive {
        return Err("`ask` answers an edit: only a sensitive-path trigger asks".to_owned());
    }
    if action == Action::RequestReview && sensitive {
        return Err(
            "a sensitive-path trigger asks, notifies or pauses; it has no item to review"
                .to_owned(),
        );
    }
    Ok(match kind {
        "progress" => {
            let threshold = object
                .get("threshold")
                .and_then(Value::as_u64)
                .filter(|threshold| (1..=100).contains(threshold))
                .ok_or("`threshold` must be a percentage from 1 to 100")?;
            Trigger::Progress {
                threshold: threshold as u8,
                action,
            }
        }
        "milestone" => {
            let name = object
                .get("name")
                .and_then(Value::as_str)
                .filter(|name| !name.trim().is_empty())
                .ok_or("`name` must be an item's title or id")?;
            Trigger::Milestone {
                name: name.to_owned(),
                action,
            }
        }
        "decision" => {
            let severity = object
                .get("severity")
                .and_then(Value::as_str)
                .and_then(Severity::parse)
                .ok_or("`severity` must be low, medium or high")?;
            Trigger::Decision { severity, action }
        }
        "tests-failing" => {
            let count = match object.get("count") {
                None => 2,
                Some(count) => count
                    .as_u64()
                    .filter(|count| (1..=100).contains(count))
                    .ok_or("`count` must be a number of runs from 1 to 100")?,
            };
            Trigger::TestsFailing {
                count: count as u32,
                action,
            }
        }
        _ => {
            let paths: Vec<String> = object
                .get("paths")
                .and_then(Value::as_array)
                .filter(|paths| !paths.is_empty())
                .ok_or("`paths` must be a list of globs")?
                .iter()
                .map(|path| path.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or("`paths` must be a list of globs")?;
            for path in &paths {
                Glob::parse(path).map_err(|why| format!("bad glob in `paths`: {why}"))?;
            }
            Trigger::SensitivePath { paths, action }
        }
    })
}

/// Whether progress going from `old` to `new` crosses `threshold` upwards.
pub fn crosses(threshold: u8, old: i64, new: i64) -> bool {
    old < i64::from(threshold) && new >= i64::from(threshold)
}

impl Points {
    /// The sensitive-path triggers that cover the path `key`.
    pub fn sensitive(&self, key: &str) -> Vec<&Trigger> {
        self.triggers
            .iter()
            .filter(|trigger| match trigger {
                Trigger::SensitivePath { paths, .. } => paths
                    .iter()
                    .any(|path| crate::coordination::table::glob_matches(path, key)),
                _ => false,
            })
            .collect()
    }
}

fn document() -> SessionId {
    SessionId::from_name("workflow")
}

/// The project's review points; none when no workflow was applied. Reads one small file.
pub fn load(cx: &Context) -> Result<Option<Points>> {
    let Some(bytes) = cx.store(COORDINATION).try_read_bytes(&document())? else {
        return Ok(None);
    };
    let points: Points = serde_json::from_slice(&bytes).map_err(|err| {
        Error::internal(format!("the workflow document is not readable: {err}"))
            .with_hint("`orchestron workflow apply FILE` replaces it, `workflow clear` removes it")
    })?;
    Ok(Some(points))
}

/// Check and keep `value` as the project's review points, replacing any earlier ones.
pub fn apply(cx: &Context, value: &Value) -> Result<Points> {
    let points = parse(value)?;
    let bytes =
        serde_json::to_vec_pretty(&points).map_err(|err| Error::internal(err.to_string()))?;
    cx.store(COORDINATION)
        .transact_bytes(&document(), |_| Ok((Some(bytes), ())))?;
    Ok(points)
}

/// Remove the project's review points. Returns whether there were any.
pub fn clear(cx: &Context) -> Result<bool> {
    let path = cx.store(COORDINATION).document_path(&document());
    if !path.exists() {
        return Ok(false);
    }
    cx.refuse_linked_state()?;
    std::fs::remove_file(&path)
        .map_err(|err| Error::internal(format!("cannot remove `{}`: {err}", path.display())))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_seed_shape_parses_and_bad_triggers_say_why() {
        let points = parse(&json!({"name": "checkpoint-review", "triggers": [
            {"type": "progress", "threshold": 50, "action": "notify-human"},
            {"type": "milestone", "name": "API Complete", "action": "request-review"},
            {"type": "decision", "severity": "high", "action": "pause-for-approval"},
            {"type": "tests-failing", "action": "pause-for-approval"},
            {"type": "sensitive-path", "paths": ["**/auth/**", ".env*"], "action": "ask"}
        ]}))
        .unwrap();
        assert_eq!(points.triggers.len(), 5);
        assert_eq!(
            points.triggers[3],
            Trigger::TestsFailing {
                count: 2,
                action: Action::PauseForApproval
            }
        );
        assert_eq!(points.sensitive("src/auth/login.rs").len(), 1);
        assert_eq!(points.sensitive(".env.local").len(), 1);
        assert!(points.sensitive("src/main.rs").is_empty());
        for (bad, why) in [
            (
                json!({"triggers": [{"type": "vibes", "action": "ask"}]}),
                "unknown type `vibes`",
            ),
            (
                json!({"triggers": [{"type": "progress", "threshold": 50, "action": "shout"}]}),
                "unknown action `shout`",
            ),
            (
                json!({"triggers": [{"type": "progress", "threshold": 0, "action": "notify-human"}]}),
                "from 1 to 100",
            ),
            (
                json!({"triggers": [{"type": "progress", "threshold": 50, "action": "ask"}]}),
                "only a sensitive-path trigger asks",
            ),
            (
                json!({"triggers": [{"type": "decision", "severity": "huge", "action": "notify-human"}]}),
                "low, medium or high",
            ),
            (
                json!({"triggers": [{"type": "sensitive-path", "paths": ["[x"], "action": "ask"}]}),
                "bad glob",
            ),
            (
                json!({"triggers": [{"type": "progress", "threshold": 5, "action": "ask", "extra": 1}]}),
                "has no `extra`",
            ),
            (json!({"rules": []}), "`rules` is unknown"),
            (json!([]), "an object"),
        ] {
            let err = parse(&bad).unwrap_err();
            assert!(err.message().contains(why), "{bad}: {}", err.message());
        }
    }

    #[test]
    fn progress_crosses_a_threshold_upwards_only() {
        assert!(crosses(50, 40, 60));
        assert!(crosses(50, 0, 50));
        assert!(!crosses(50, 60, 55));
        assert!(!crosses(50, 50, 70));
        assert!(!crosses(50, 10, 49));
    }
}
