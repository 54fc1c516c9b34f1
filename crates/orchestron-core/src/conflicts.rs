//! `orchestron conflicts`: the conflict forecast between live branches (seed 000's `conflict
//! detect`). For each pair of branches, the files both sides changed since they parted and
//! the conflicts `git merge-tree --write-tree` predicts, each with what to do. Conflicts are
//! data: it fails only when it cannot look. Beside the branches, the places where live
//! sessions' file leases and touches meet. The latest forecast is kept
//! (`<root>/coordination/forecast.json`, with each branch's tip) so that SessionStart, which
//! cannot afford to run git, tells a session whose branch would conflict ([`warning_for`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::coordination::{self, Overlap};
use crate::error::{Error, Result};
use crate::ids::SessionId;
use crate::store::COORDINATION;
use crate::workers::git::{BRANCH_PREFIX, Git, MergePrediction, summarize};
use crate::workers::train::default_into;

/// What the branches would do to each other, and where live sessions meet.
#[derive(Debug, Clone, Serialize)]
pub struct Forecast {
    /// When it was made.
    pub at: String,
    /// The branches looked at.
    pub branches: Vec<String>,
    /// Each branch's tip when it was made.
    pub tips: BTreeMap<String, String>,
    /// The pairs with something to say: files both changed, or a predicted conflict.
    pub pairs: Vec<Pair>,
    /// Live sessions whose leases or touches meet, each pair of sessions once.
    pub sessions: Vec<SessionsMeet>,
}

/// Two live sessions that hold or edited the same files.
#[derive(Debug, Clone, Serialize)]
pub struct SessionsMeet {
    pub a: String,
    pub a_session: String,
    pub b: String,
    pub b_session: String,
    /// Where they meet: `path` when both name it, `pattern ~ pattern` otherwise.
    pub files: Vec<String>,
    /// What to do about it.
    pub advice: String,
}

/// Two branches that touch the same files.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pair {
    pub a: String,
    pub b: String,
    /// The files both changed since their merge base.
    pub both_changed: Vec<String>,
    /// The files a merge of the two would conflict in (empty: it merges cleanly).
    pub conflicts: Vec<String>,
    /// What to do about it.
    pub advice: String,
}

/// The forecast among `branches`, or, when none are named, among the live ones: the
/// integration branch and the workers' branches (`orchestron/<ID>`). A named branch that does
/// not exist is `not_found`; reads only.
pub fn forecast(cx: &Context, git: &Git, branches: &[String]) -> Result<Forecast> {
    let mut named: Vec<(String, String)> = Vec::new();
    if branches.is_empty() {
        let into = default_into(cx);
        if let Some(tip) = git.branch_tip(&into)? {
            named.push((into.clone(), tip));
        }
        named.extend(
            git.branches_under(BRANCH_PREFIX)?
                .into_iter()
                .filter(|(name, _)| *name != into),
        );
    } else {
        for branch in branches {
            git.check_branch_name(branch)?;
            let tip = git.branch_tip(branch)?.ok_or_else(|| {
                Error::not_found(format!("no branch `{branch}`"))
                    .with_hint("`git branch --list` shows the branches there are")
            })?;
            if !named.iter().any(|(name, _)| name == branch) {
                named.push((branch.clone(), tip));
            }
        }
    }
    let mut pairs = Vec::new();
    for (i, (a, a_tip)) in named.iter().enumerate() {
        for (b, b_tip) in &named[i + 1..] {
            if let Some(pair) = compare(git, (a, a_tip), (b, b_tip))? {
                pairs.push(pair);
            }
        }
    }
    let sessions = sessions_meeting(coordination::overlaps(cx)?);
    Ok(Forecast {
        at: cx.now().to_string(),
        branches: named.iter().map(|(name, _)| name.clone()).collect(),
        tips: named.into_iter().collect(),
        pairs,
        sessions,
    })
}

/// The overlaps grouped by pair of sessions.
fn sessions_meeting(overlaps: Vec<Overlap>) -> Vec<SessionsMeet> {
    let mut met: Vec<SessionsMeet> = Vec::new();
    for Overlap { a, b } in overlaps {
        let (a, b) = if a.session <= b.session {
            (a, b)
        } else {
            (b, a)
        };
        let place = if a.path == b.path {
            a.path.clone()
        } else {
            format!("{} ~ {}", a.path, b.path)
        };
        match met
            .iter_mut()
            .find(|m| m.a_session == a.session && m.b_session == b.session)
        {
            Some(m) => {
                if !m.files.contains(&place) {
                    m.files.push(place);
                }
            }
            None => met.push(SessionsMeet {
                a: a.holder(),
                a_session: a.session.clone(),
                b: b.holder(),
                b_session: b.session.clone(),
                files: vec![place],
                advice: String::new(),
            }),
        }
    }
    for m in &mut met {
        m.advice = format!(
            "both hold or edited {}: agree who goes on (`orchestron inbox add --session {} \
             \"…\"`), and let that one take the files with `orchestron lease acquire PATH \
             --exclusive`",
            summarize(&m.files, 5),
            m.b_session
        );
    }
    met
}

/// What is kept of a forecast for SessionStart.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Kept {
    at: String,
    tips: BTreeMap<String, String>,
    pairs: Vec<Pair>,
}

fn kept_id() -> SessionId {
    SessionId::from_name("forecast")
}

/// Keep `forecast` for SessionStart, in a project whose state root exists (nothing is
/// created otherwise).
pub fn keep(cx: &Context, forecast: &Forecast) -> Result<()> {
    if !cx.state_root().is_dir() {
        return Ok(());
    }
    let kept = Kept {
        at: forecast.at.clone(),
        tips: forecast.tips.clone(),
        pairs: forecast
            .pairs
            .iter()
            .filter(|pair| !pair.conflicts.is_empty())
            .cloned()
            .collect(),
    };
    let bytes = serde_json::to_vec(&kept).map_err(|err| Error::internal(err.to_string()))?;
    cx.store(COORDINATION)
        .transact_bytes(&kept_id(), |_| Ok((Some(bytes), ())))?;
    Ok(())
}

/// What SessionStart tells a session on `branch`: the conflicts the latest kept forecast
/// predicts for it, when both branches' tips (read by `tip_of`) are still the ones it looked
/// at. Reads one small file; nothing when there is none or it is out of date.
pub fn warning_for(
    cx: &Context,
    branch: &str,
    tip_of: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    let bytes = cx
        .store(COORDINATION)
        .try_read_bytes(&kept_id())
        .ok()
        .flatten()?;
    let kept: Kept = serde_json::from_slice(&bytes).ok()?;
    let current = |name: &str| {
        kept.tips
            .get(name)
            .is_some_and(|tip| tip_of(name).as_deref() == Some(tip.as_str()))
    };
    let lines: Vec<String> = kept
        .pairs
        .iter()
        .filter(|pair| pair.a == branch || pair.b == branch)
        .filter(|pair| current(&pair.a) && current(&pair.b))
        .map(|pair| {
            let other = if pair.a == branch { &pair.b } else { &pair.a };
            format!(
                "Orchestron: your branch `{branch}` would conflict with `{other}` in {} \
                 (forecast at {}): {}",
                summarize(&pair.conflicts, 5),
                kept.at,
                pair.advice
            )
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// The pair `a`, `b` (name and tip), when they touch the same files.
fn compare(git: &Git, a: (&str, &str), b: (&str, &str)) -> Result<Option<Pair>> {
    let Some(base) = git.merge_base(a.1, b.1)? else {
        // No common history: every file of both would be new to the other.
        return Ok(None);
    };
    let ours = git.changed_files(&base, a.1)?;
    let theirs = git.changed_files(&base, b.1)?;
    let both_changed: Vec<String> = ours
        .iter()
        .filter(|file| theirs.contains(file))
        .cloned()
        .collect();
    if both_changed.is_empty() {
        return Ok(None);
    }
    let conflicts = match git.predict_merge(a.1, b.1)? {
        MergePrediction::Clean { .. } => Vec::new(),
        MergePrediction::Conflict { files } => files,
    };
    let (a, b) = (a.0.to_owned(), b.0.to_owned());
    let advice = if conflicts.is_empty() {
        format!(
            "both change {}; git merges them cleanly as they are, but check that the changes \
             agree, and land one before the other grows",
            summarize(&both_changed, 5)
        )
    } else {
        format!(
            "they conflict in {}: merge `{a}` into `{b}` (or the other way) and resolve it \
             before either lands, or finish one and start the other from it",
            summarize(&conflicts, 5)
        )
    };
    Ok(Some(Pair {
        a,
        b,
        both_changed,
        conflicts,
        advice,
    }))
}
