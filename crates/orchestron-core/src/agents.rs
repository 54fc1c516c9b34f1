//! Agents: the names sessions work as (`agent.id`, `ORCHESTRON_AGENT`, `--agent`, recorded
//! by SessionStart at `session.agent`), their skills (`agent.skills`, `agents.NAME.skills`),
//! and the names the views show for a session that holds an item, where they would show its
//! UUID. Reads only: session documents without a lock, the tracker for reads.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::Value;

use crate::context::Context;
use crate::error::Result;
use crate::ids::SessionId;
use crate::session::Lifecycle;

/// One agent seen: its skills, and its sessions, live ones first.
#[derive(Debug, Clone, Serialize)]
pub struct Agent {
    pub name: String,
    pub skills: Vec<String>,
    pub sessions: Vec<AgentSession>,
}

/// A session an agent works in, with the item it works on.
#[derive(Debug, Clone, Serialize)]
pub struct AgentSession {
    pub id: String,
    pub status: String,
    /// The item a worker session was started for.
    pub worker: Option<String>,
    pub item: Option<String>,
    pub title: Option<String>,
    pub last_activity: Option<String>,
}

/// The name of the agent or worker session `raw` names, when it is a session whose document
/// says (`session.agent`, else a worker's `worker-<first 8 of its id>`); `None` for anything
/// else, which the views show as it is.
pub fn name_of(document: &Value) -> Option<String> {
    if let Some(agent) = document.pointer("/session/agent").and_then(Value::as_str) {
        return Some(agent.to_owned());
    }
    crate::tracker::lease::worker_of(document)?;
    let id = document.pointer("/session/id").and_then(Value::as_str)?;
    Some(format!("worker-{}", id.get(..8).unwrap_or(id)))
}

/// Names for assignees, each session document read once.
#[derive(Debug)]
pub struct Names<'a> {
    cx: &'a Context,
    known: HashMap<String, Option<String>>,
}

impl<'a> Names<'a> {
    pub fn new(cx: &'a Context) -> Names<'a> {
        Names {
            cx,
            known: HashMap::new(),
        }
    }

    /// The name to show for the assignee `raw`: an agent's or worker's name for a session
    /// that has one, else `None`.
    pub fn of(&mut self, raw: &str) -> Option<String> {
        if let Some(known) = self.known.get(raw) {
            return known.clone();
        }
        let name = SessionId::parse(raw)
            .ok()
            .and_then(|id| {
                self.cx
                    .store(crate::sessions::FOLDER)
                    .try_read(&id)
                    .ok()
                    .flatten()
            })
            .and_then(|document| name_of(&document));
        self.known.insert(raw.to_owned(), name.clone());
        name
    }

    /// Add `assignee_name` beside every `assignee` in `value` (a view's JSON) that names a
    /// session with a name.
    pub fn annotate(&mut self, value: &mut Value) {
        match value {
            Value::Object(map) => {
                if let Some(name) = map
                    .get("assignee")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .and_then(|raw| self.of(&raw))
                {
                    map.insert("assignee_name".to_owned(), Value::String(name));
                }
                for child in map.values_mut() {
                    self.annotate(child);
                }
            }
            Value::Array(items) => {
                for child in items {
                    self.annotate(child);
                }
            }
            _ => {}
        }
    }
}

/// Every agent seen in a session document (ended sessions too), with its sessions and the
/// item each works on; the configured agent and those with skills set are listed even with
/// no session yet.
pub fn list(cx: &Context) -> Result<Vec<Agent>> {
    let now = cx.now();
    let store = cx.store(crate::sessions::FOLDER);
    let mut agents: BTreeMap<String, Vec<AgentSession>> = BTreeMap::new();
    let config = cx.config();
    if let Some(id) = config.agent.id() {
        agents.entry(id.to_owned()).or_default();
    }
    for name in config.agents.keys() {
        agents.entry(name.clone()).or_default();
    }
    let tracker = if cx.tracker_path().exists() {
        Some(cx.tracker_for_reads()?)
    } else {
        None
    };
    for id in store.ids()? {
        let Ok(Some(document)) = store.try_read(&id) else {
            continue;
        };
        let Some(name) = document.pointer("/session/agent").and_then(Value::as_str) else {
            continue;
        };
        let status = Lifecycle::of(&document)
            .map(|lifecycle| lifecycle.status(now).as_str().to_owned())
            .unwrap_or_else(|_| "unknown".to_owned());
        let item = tracker.as_ref().and_then(|db| {
            crate::tracker::items::session_item(db.conn(), id.as_str())
                .ok()
                .flatten()
        });
        agents
            .entry(name.to_owned())
            .or_default()
            .push(AgentSession {
                id: id.to_string(),
                status,
                worker: crate::tracker::lease::worker_of(&document)
                    .and_then(|worker| worker.get("item"))
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                item: item.as_ref().map(|item| item.id.clone()),
                title: item.map(|item| item.title),
                last_activity: document
                    .pointer("/session/lifecycle/last_activity")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            });
    }
    Ok(agents
        .into_iter()
        .map(|(name, mut sessions)| {
            let live = |s: &AgentSession| matches!(s.status.as_str(), "active" | "paused");
            sessions.sort_by(|a, b| {
                live(b)
                    .cmp(&live(a))
                    .then_with(|| b.last_activity.cmp(&a.last_activity))
            });
            Agent {
                skills: config.skills_of(&name),
                name,
                sessions,
            }
        })
        .collect())
}
