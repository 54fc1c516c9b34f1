//! `orchestron conflicts`: the conflict forecast between live branches (seed 000's `conflict
//! detect`). For each pair of branches, the files both sides changed since they parted and
//! the conflicts `git merge-tree --write-tree` predicts, each with what to do. Conflicts are
//! data: it reads only, and fails only when it cannot look.

use serde::Serialize;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::workers::git::{BRANCH_PREFIX, Git, MergePrediction, summarize};
use crate::workers::train::default_into;

/// What the branches would do to each other.
#[derive(Debug, Clone, Serialize)]
pub struct Forecast {
    /// The branches looked at.
    pub branches: Vec<String>,
    /// The pairs with something to say: files both changed, or a predicted conflict.
    pub pairs: Vec<Pair>,
}

/// Two branches that touch the same files.
#[derive(Debug, Clone, Serialize)]
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
    Ok(Forecast {
        branches: named.into_iter().map(|(name, _)| name).collect(),
        pairs,
    })
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
