//! What a review point does when it fires (see [`crate::review_points`] for the rules), and
//! what a person does about it: `approve`, `intervene`, `pause`.
//!
//! A firing is recorded once in the tracker, as a `review_point` event on its item keyed by
//! the trigger (so progress going 40 → 60 → 55 → 70 fires a 50 % point once), or, for a
//! session-wide point without an item, once per session document. Then its action:
//! `notify-human` (an attention entry and `notify.command`), `request-review` (the item to
//! IN_REVIEW), `pause-for-approval` (the session is held: its writing tools are refused,
//! with the command that approves, until a person runs `orchestron approve ID`).

use serde::Serialize;
use serde_json::{Value, json};

use crate::context::Context;
use crate::error::{Error, ErrorKind, Result};
use crate::ids::SessionId;
use crate::review_points::{self, Action, Severity, Trigger};
use crate::sessions;
use crate::tracker::knowledge::{self, Decision, NewDecision};
use crate::tracker::tasks::{self, ItemView};

/// The most sensitive paths a session keeps as approved; the oldest go first.
pub const MAX_APPROVED_PATHS: usize = 200;

/// One trigger that fired, and what its action did.
#[derive(Debug, Clone, Serialize)]
pub struct Fired {
    pub trigger: String,
    pub action: &'static str,
    pub item: Option<String>,
    pub session: Option<String>,
    /// What waits for a person (a decision or item id), when something does.
    pub waits: Option<String>,
    /// What happened, in words.
    pub note: String,
}

/// The session that holds an item (its claimer, when that is a session with a document).
fn holder_of(cx: &Context, item: &ItemView) -> Option<String> {
    let claimer = item
        .item
        .session
        .as_deref()
        .or(item.item.assignee.as_deref())?;
    let id = SessionId::parse(claimer).ok()?;
    cx.store(sessions::FOLDER)
        .exists(&id)
        .then(|| id.to_string())
}

/// Record that `trigger` fired for `item`, unless it did before. Returns whether it is new.
fn first_time(cx: &Context, item: &str, trigger: &Trigger, detail: Value) -> Result<bool> {
    tasks::record_once(cx, item, "review_point", &trigger.key(), detail)
}

/// Act on `trigger`, which fired for `item` (when there is one) in `session` (when one
/// holds the work). `waits` is what an approval names.
fn act(
    cx: &Context,
    trigger: &Trigger,
    item: Option<&str>,
    session: Option<&str>,
    waits: &str,
    what: &str,
) -> Fired {
    let action = trigger.action();
    let note = match action {
        Action::RequestReview => match item {
            Some(item) => match tasks::request_review(cx, item, &trigger.describe()) {
                Ok(()) => format!("{item} waits for review (IN_REVIEW): {what}"),
                Err(err) => format!("{item} could not go to review: {}", err.message()),
            },
            None => format!("nothing to review: {what}"),
        },
        Action::PauseForApproval => match session.and_then(|s| SessionId::parse(s).ok()) {
            Some(id) => match hold(cx, &id, waits, what) {
                Ok(()) => format!(
                    "session {id} is paused until a person runs `orchestron approve {waits}`: {what}"
                ),
                Err(err) => format!("session {id} could not be paused: {}", err.message()),
            },
            None => format!("no session to pause; {what}"),
        },
        Action::NotifyHuman | Action::Ask => format!("a person is told: {what}"),
    };
    // A person hears of every firing that waits for them; `notify.command` runs with it.
    if let Some(item) = item {
        let _ = crate::notify::entered(cx, item);
    }
    Fired {
        trigger: trigger.key(),
        action: action.as_str(),
        item: item.map(str::to_owned),
        session: session.map(str::to_owned),
        waits: matches!(action, Action::PauseForApproval | Action::NotifyHuman)
            .then(|| waits.to_owned()),
        note,
    }
}

/// Pause session `id` for approval of `waits`: its status paused with the reason, and
/// `session.lifecycle.approval` saying what waits and the command that approves it (the
/// hook refuses its writing tools, not its reads).
pub fn hold(cx: &Context, id: &SessionId, waits: &str, what: &str) -> Result<()> {
    let now = cx.now();
    let reason = format!("waiting for approval of {waits}: {what}");
    let reason = crate::text::clip_line(&reason, 500);
    cx.store(sessions::FOLDER).update(id, |document| {
        crate::session::pause(document, now, &reason)?;
        if let Some(lifecycle) = document
            .pointer_mut("/session/lifecycle")
            .and_then(Value::as_object_mut)
        {
            lifecycle.insert(
                "approval".to_owned(),
                json!({"waits": waits, "what": crate::text::clip_line(what, 500),
                       "command": format!("orchestron approve {waits}")}),
            );
        }
        Ok((true, ()))
    })?;
    Ok(())
}

/// `task progress`: set it, then fire the progress points it crosses upwards (each once
/// per item).
pub fn set_progress(cx: &Context, raw: &str, percent: u8) -> Result<(ItemView, Vec<Fired>)> {
    let points = review_points::load(cx)?;
    let before = tasks::view_of(cx, raw)?;
    let view = tasks::set_progress(cx, raw, percent)?;
    let mut fired = Vec::new();
    for trigger in points.iter().flat_map(|points| &points.triggers) {
        let Trigger::Progress { threshold, .. } = trigger else {
            continue;
        };
        if !review_points::crosses(*threshold, before.item.progress, view.item.progress) {
            continue;
        }
        let id = &view.item.id;
        let what = format!(
            "{id} \"{}\" reached {}% (review point at {threshold}%)",
            view.item.title, view.item.progress
        );
        let detail = json!({"action": trigger.action().as_str(), "what": what});
        if first_time(cx, id, trigger, detail)? {
            fired.push(act(
                cx,
                trigger,
                Some(id),
                holder_of(cx, &view).as_deref(),
                id,
                &what,
            ));
        }
    }
    Ok((view, fired))
}

/// `task complete`: a milestone (the item a milestone point names, by title or id) that
/// asks for review goes to IN_REVIEW rather than on; the other milestone points fire after.
pub fn complete(
    cx: &Context,
    raw: &str,
    force: bool,
    note: Option<&str>,
) -> Result<(tasks::Completed, Vec<Fired>)> {
    let points = review_points::load(cx)?;
    let before = tasks::view_of(cx, raw)?;
    let milestones: Vec<&Trigger> = points
        .iter()
        .flat_map(|points| &points.triggers)
        .filter(|trigger| match trigger {
            Trigger::Milestone { name, .. } => {
                name.eq_ignore_ascii_case(&before.item.title) || *name == before.item.id
            }
            _ => false,
        })
        .collect();
    let review = !force
        && milestones
            .iter()
            .any(|trigger| trigger.action() == Action::RequestReview);
    let completed = tasks::complete_with(cx, raw, force, note, review)?;
    let mut fired = Vec::new();
    let view = &completed.view;
    for trigger in milestones {
        let id = &view.item.id;
        let what = format!("milestone {id} \"{}\" completed", view.item.title);
        let detail = json!({"action": trigger.action().as_str(), "what": what});
        if !first_time(cx, id, trigger, detail)? {
            continue;
        }
        if trigger.action() == Action::RequestReview {
            fired.push(Fired {
                trigger: trigger.key(),
                action: "request-review",
                item: Some(id.clone()),
                session: None,
                waits: Some(id.clone()),
                note: format!("{id} waits for review ({}): {what}", view.item.status),
            });
            let _ = crate::notify::entered(cx, id);
            continue;
        }
        fired.push(act(
            cx,
            trigger,
            Some(id),
            cx.actor().or(before.item.session.as_deref()),
            id,
            &what,
        ));
    }
    Ok((completed, fired))
}

/// `decide … --severity S`: record the decision, then fire the decision points it meets
/// (severity at or above theirs); a pause holds the session that decided.
pub fn decide(cx: &Context, new: &NewDecision) -> Result<(Decision, Vec<Fired>)> {
    let points = review_points::load(cx)?;
    let decision = knowledge::decide(cx, new)?;
    let mut fired = Vec::new();
    let Some(severity) = new.severity else {
        return Ok((decision, fired));
    };
    for trigger in points.iter().flat_map(|points| &points.triggers) {
        let Trigger::Decision {
            severity: threshold,
            ..
        } = trigger
        else {
            continue;
        };
        if severity < *threshold {
            continue;
        }
        let what = format!(
            "decision {} \"{}\" (severity {})",
            decision.id,
            decision.title,
            severity.as_str()
        );
        if let Some(item) = &decision.task {
            let detail = json!({"action": trigger.action().as_str(), "decision": decision.id});
            tasks::record_once(
                cx,
                item,
                "review_point",
                &format!("{}:{}", trigger.key(), decision.id),
                detail,
            )?;
        }
        fired.push(act(
            cx,
            trigger,
            decision.task.as_deref(),
            cx.actor(),
            &decision.id,
            &what,
        ));
    }
    Ok((decision, fired))
}

/// A test run recorded in session `id` that makes `streak` failing runs in a row: the
/// tests-failing points it reaches fire (each when the streak reaches its count).
pub fn tests_failing(cx: &Context, id: &SessionId, streak: u32) -> Result<Vec<Fired>> {
    let Some(points) = review_points::load(cx)? else {
        return Ok(Vec::new());
    };
    let mut fired = Vec::new();
    for trigger in &points.triggers {
        let Trigger::TestsFailing { count, .. } = trigger else {
            continue;
        };
        if streak != *count {
            continue;
        }
        let item = crate::status::item_of_session(cx, id.as_str())?;
        let what = format!("{streak} failing test runs in a row in session {id}");
        let waits = item.clone().unwrap_or_else(|| id.to_string());
        fired.push(act(
            cx,
            trigger,
            item.as_deref(),
            Some(id.as_str()),
            &waits,
            &what,
        ));
    }
    Ok(fired)
}

/// What `approve` did.
#[derive(Debug, Clone, Serialize)]
pub struct Approved {
    pub id: String,
    /// The sessions it resumed.
    pub resumed: Vec<String>,
    pub decision: Option<Decision>,
    pub item: Option<ItemView>,
}

/// A person approves what waits on `raw` (a decision or an item id, as the deny reason
/// names it): the sessions paused for it resume (told in their inbox, with the feedback),
/// a decision records the approval, an item in review passes its gate, and a notice is
/// acknowledged. `not_found` when nothing waits on it.
pub fn approve(cx: &Context, raw: &str, feedback: Option<&str>) -> Result<Approved> {
    if let Some(feedback) = feedback {
        tasks::check_text("feedback", feedback)?;
    }
    let decision = knowledge::find_decision(cx, raw)?;
    let item_id = match &decision {
        Some(_) => None,
        None => match tasks::resolve_item(cx, raw) {
            Ok(id) => Some(id),
            Err(err) if err.kind() == ErrorKind::NotFound => None,
            Err(err) => return Err(err),
        },
    };
    let id = decision
        .as_ref()
        .map(|decision| decision.id.clone())
        .or_else(|| item_id.clone())
        .unwrap_or_else(|| raw.to_owned());
    let resumed = release(cx, &id, feedback)?;
    let decision = match decision {
        Some(decision) => Some(knowledge::approve_decision(cx, &decision.id, feedback)?),
        None => None,
    };
    let item = match &item_id {
        Some(item) => Some(tasks::acknowledge(cx, item, feedback)?),
        None => None,
    };
    if resumed.is_empty() && decision.is_none() && item.is_none() {
        return Err(
            Error::not_found(format!("nothing waits for approval on `{raw}`"))
                .with_hint("`orchestron attention` lists what waits for a person"),
        );
    }
    Ok(Approved {
        id,
        resumed,
        decision,
        item,
    })
}

/// Resume every session held for approval of `waits`, telling each in its inbox.
fn release(cx: &Context, waits: &str, feedback: Option<&str>) -> Result<Vec<String>> {
    let store = cx.store(sessions::FOLDER);
    let now = cx.now();
    let mut resumed = Vec::new();
    for id in store.ids()? {
        let Ok(Some(document)) = store.try_read(&id) else {
            continue;
        };
        let held = document
            .pointer("/session/lifecycle/approval/waits")
            .and_then(Value::as_str)
            == Some(waits);
        if !held {
            continue;
        }
        store.update(&id, |document| {
            let mode = crate::session::Lifecycle::of(document)?.mode;
            crate::session::resume(document, now, cx.config().expiry(mode))?;
            if let Some(lifecycle) = document
                .pointer_mut("/session/lifecycle")
                .and_then(Value::as_object_mut)
            {
                lifecycle.remove("approval");
            }
            // A sensitive path approved is the session's to edit from now on.
            if let Some(path) = waits.strip_prefix(":/")
                && let Some(fields) = document.as_object_mut()
            {
                let coordination = fields.entry("coordination").or_insert_with(|| json!({}));
                if let Some(coordination) = coordination.as_object_mut() {
                    let approved = coordination.entry("approved").or_insert_with(|| json!([]));
                    if let Some(list) = approved.as_array_mut()
                        && !list.iter().any(|kept| kept.as_str() == Some(path))
                    {
                        list.push(json!(path));
                        let excess = list.len().saturating_sub(MAX_APPROVED_PATHS);
                        list.drain(..excess);
                    }
                }
            }
            Ok((true, ()))
        })?;
        let text = match feedback {
            Some(feedback) => format!(
                "A person approved {waits}; your tools run again. Their feedback: {feedback}"
            ),
            None => format!("A person approved {waits}; your tools run again."),
        };
        let _ = sessions::leave_message(cx, &sessions::Scope::One(id.clone()), &text);
        resumed.push(id.to_string());
    }
    Ok(resumed)
}

/// A person steps in on item `raw`: a clarification on the item, and a message in the inbox
/// of the session that holds it (when one does). Returns the item and that session.
pub fn intervene(cx: &Context, raw: &str, message: &str) -> Result<(ItemView, Option<String>)> {
    let view = tasks::comment(cx, raw, tasks::CommentKind::Clarification, message)?;
    let holder = holder_of(cx, &view);
    if let Some(session) = &holder
        && let Ok(id) = SessionId::parse(session)
    {
        let text = format!(
            "A person intervenes on {} \"{}\": {message}",
            view.item.id, view.item.title
        );
        sessions::leave_message(cx, &sessions::Scope::One(id), &text)?;
    }
    Ok((view, holder))
}

/// A person pauses the session holding item `raw` until they approve it: its writing tools
/// are refused with `reason`. `conflict` when no session holds the item.
pub fn pause(cx: &Context, raw: &str, reason: &str) -> Result<(ItemView, String)> {
    tasks::check_text("reason", reason)?;
    let view = tasks::view_of(cx, raw)?;
    let holder = holder_of(cx, &view).ok_or_else(|| {
        Error::conflict(format!(
            "no session holds {}: there is nothing to pause",
            view.item.id
        ))
    })?;
    let id = SessionId::parse(&holder)?;
    hold(cx, &id, &view.item.id, reason)?;
    Ok((view, holder))
}

/// Whether a severity name is known, for the face's parser.
pub fn severity(text: &str) -> Option<Severity> {
    Severity::parse(text)
}
