//! `orchestron health`: the state of the workers' machinery and the tracker in one report
//! (seed 002's health check), and the safe repairs `--fix` makes.
//!
//! It reports stale claims, dead worker processes (runs whose supervisor is gone),
//! orphaned worktrees, worker branches done but not merged or merged but not deleted, the
//! integration branch ahead of or behind `HEAD`, the budget used, and a quick tracker
//! integrity check (SQLite's `quick_check` and the `open_deps` counts). Only the repairs
//! that lose nothing are made: lapsed claims are swept, orphans recovered (their work
//! committed first), merged worker branches deleted (only `orchestron/<ID>` of a known item
//! no worker is on, never one a worktree has checked out), worktrees git lost pruned, and
//! `open_deps` recounted; what it looked at but left as it was is reported as left, never as
//! fixed. Without `fix` it changes nothing.

use rusqlite::Connection;
use serde::Serialize;

use crate::context::Context;
use crate::error::Result;
use crate::tracker::Db;
use crate::tracker::claims;
use crate::tracker::db::Health as DbHealth;
use crate::workers::git::Git;
use crate::workers::{recover, train};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Nothing to say.
    Ok,
    /// Worth knowing, nothing wrong (the budget used, a branch ahead).
    Info,
    /// Something needs a repair (`--fix` makes the safe ones) or a person.
    Problem,
}

/// One check of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// Its name: `stale_claims`, `dead_workers`, `orphaned_worktrees`, `branches`,
    /// `integration`, `budget`, `tracker`.
    pub name: &'static str,
    pub verdict: Verdict,
    /// In one line.
    pub summary: String,
    /// One line per finding.
    pub findings: Vec<String>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub checks: Vec<Check>,
    /// What `--fix` repaired, one line each.
    pub fixed: Vec<String>,
    /// What `--fix` looked at and left as it was, for a person, one line each (a worktree on
    /// a detached HEAD, one that could not be removed).
    pub left: Vec<String>,
    /// How many checks still have a problem.
    pub problems: usize,
}

/// Check everything; with `fix`, make the safe repairs first and report what is left.
/// `git` is `None` outside a git repository (the git checks say so).
pub fn check(cx: &Context, git: Option<&Git>, fix: bool) -> Result<Report> {
    let mut fixed = Vec::new();
    let mut left = Vec::new();
    if fix {
        repair(cx, git, &mut fixed, &mut left)?;
    }
    let mut checks = vec![stale_claims(cx)?, dead_workers(cx)?];
    match git {
        Some(git) => {
            checks.push(orphaned_worktrees(cx, git)?);
            checks.push(branches(cx, git)?);
            checks.push(integration(cx, git)?);
        }
        None => checks.push(Check {
            name: "git",
            verdict: Verdict::Info,
            summary: "not a git repository: no worktrees, branches or integration branch"
                .to_owned(),
            findings: Vec::new(),
        }),
    }
    checks.push(budget(cx)?);
    checks.push(tracker(cx)?);
    let problems = checks
        .iter()
        .filter(|check| check.verdict == Verdict::Problem)
        .count();
    Ok(Report {
        checks,
        fixed,
        left,
        problems,
    })
}

fn repair(
    cx: &Context,
    git: Option<&Git>,
    fixed: &mut Vec<String>,
    left: &mut Vec<String>,
) -> Result<()> {
    if !cx.tracker_path().exists() {
        return Ok(());
    }
    for swept in sweep_lapsed_claims(cx)? {
        fixed.push(format!("reclaimed {swept}"));
    }
    if let Some(git) = git {
        for recovered in recover::recover(cx, git)? {
            let who = if recovered.item.is_empty() {
                String::new()
            } else {
                format!("{}: ", recovered.item)
            };
            // What recovery only looked at is not a repair: it is said as left.
            let to = if recovered.changed {
                &mut *fixed
            } else {
                &mut *left
            };
            to.push(format!("{who}{}", recovered.what));
        }
        let lost: Vec<_> = git
            .worktrees()?
            .into_iter()
            .filter(|worktree| worktree.prunable)
            .collect();
        if !lost.is_empty() {
            git.prune_worktrees()?;
            let still = git.worktrees()?;
            for worktree in lost {
                if still.iter().any(|known| known.path == worktree.path) {
                    continue;
                }
                fixed.push(format!(
                    "forgot the worktree `{}`: its folder is gone",
                    worktree.path.display()
                ));
            }
        }
        let into = train::default_into(cx);
        for branch in settled_worker_branches(cx, git, &into)? {
            if git.delete_branch_if_merged(&branch.name, &into)? {
                fixed.push(format!("deleted `{}`: `{into}` holds it", branch.name));
            }
        }
    }
    let mut db = cx.tracker()?;
    let wrong = db.write(|tx| -> Result<usize> {
        let wrong = wrong_open_deps(tx)?;
        if !wrong.is_empty() {
            crate::tracker::items::recount_open_deps(tx)?;
        }
        Ok(wrong.len())
    })?;
    if wrong > 0 {
        fixed.push(format!("recounted the open dependencies of {wrong} items"));
    }
    Ok(())
}

/// IN_PROGRESS items whose claim has lapsed.
fn stale_claims(cx: &Context) -> Result<Check> {
    let lapsed = lapsed_claims(cx)?;
    Ok(if lapsed.is_empty() {
        ok("stale_claims", "no lapsed claim")
    } else {
        Check {
            name: "stale_claims",
            verdict: Verdict::Problem,
            summary: format!(
                "{} claim{} lapsed: `orchestron task reclaim` (or `health --fix`) returns them to TODO",
                lapsed.len(),
                plural(lapsed.len())
            ),
            findings: lapsed,
        }
    })
}

/// Lapsed claims, each in a line (the claims' own rule, read only).
fn lapsed_claims(cx: &Context) -> Result<Vec<String>> {
    Ok(claims::reclaim(cx, true)?.iter().map(describe).collect())
}

/// Sweep lapsed claims back to TODO; returns a line per item.
fn sweep_lapsed_claims(cx: &Context) -> Result<Vec<String>> {
    Ok(claims::reclaim(cx, false)?.iter().map(describe).collect())
}

fn describe(reclaimed: &claims::Reclaimed) -> String {
    format!(
        "{} ({}) claimed by `{}`: {}",
        reclaimed.id,
        crate::text::clip_line(&reclaimed.title, 60),
        reclaimed.claim.claimer,
        reclaimed.claim.lapse.describe()
    )
}

/// Runs whose supervisor is gone, with their open attempts.
fn dead_workers(cx: &Context) -> Result<Check> {
    let orphaned = recover::orphaned_runs(cx)?;
    if orphaned.is_empty() {
        return Ok(ok("dead_workers", "no run without its supervisor"));
    }
    let db = cx.tracker_for_reads()?;
    let mut findings = Vec::new();
    for run in &orphaned {
        let attempts: Vec<(String, Option<i64>, Option<String>)> = db
            .conn()
            .prepare(
                "SELECT item, pid, pid_start FROM worker_attempts \
                 WHERE run = ?1 AND ended_at IS NULL ORDER BY id",
            )?
            .query_map([run], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
            .collect::<Result<_, _>>()?;
        let items: Vec<String> = attempts
            .into_iter()
            .map(
                |(item, pid, start)| match pid.and_then(|pid| u32::try_from(pid).ok()) {
                    Some(pid) if recover::is_alive(pid, start.as_deref()) => {
                        format!("{item} (its worker still runs, pid {pid})")
                    }
                    _ => item,
                },
            )
            .collect();
        findings.push(if items.is_empty() {
            format!("run {run}: its supervisor is gone")
        } else {
            format!(
                "run {run}: its supervisor is gone, its workers on {} left",
                items.join(", ")
            )
        });
    }
    Ok(Check {
        name: "dead_workers",
        verdict: Verdict::Problem,
        summary: format!(
            "{} run{} lost {} supervisor: `orchestron workers recover` (or `health --fix`) \
             stops what is left, commits and returns the items",
            orphaned.len(),
            plural(orphaned.len()),
            if orphaned.len() == 1 { "its" } else { "their" }
        ),
        findings,
    })
}

/// Worktrees under `<state root>/worktrees/` no open attempt owns, worktrees git lost, and
/// folders there git does not know.
fn orphaned_worktrees(cx: &Context, git: &Git) -> Result<Check> {
    let dir = train::worktrees_dir(cx);
    let canonical_dir = dir.canonicalize().ok();
    let owned: Vec<std::path::PathBuf> = if cx.tracker_path().exists() {
        let db = cx.tracker_for_reads()?;
        db.conn()
            .prepare("SELECT worktree FROM worker_attempts WHERE ended_at IS NULL")?
            .query_map([], |row| row.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter_map(|path| std::path::PathBuf::from(path).canonicalize().ok())
            .collect()
    } else {
        Vec::new()
    };
    let live = recover::live_run(cx)?.is_some();
    let mut findings = Vec::new();
    let mut known = Vec::new();
    for worktree in git.worktrees()? {
        if worktree.main {
            continue;
        }
        // A worktree of ours replaced since git made it (by a link, by another repository's
        // folder): git is not run there.
        let in_dir = canonical_dir.is_some()
            && worktree
                .path
                .parent()
                .and_then(|parent| parent.canonicalize().ok())
                == canonical_dir;
        if in_dir
            && !git.owns(&worktree.path)
            && let Ok(meta) = std::fs::symlink_metadata(&worktree.path)
        {
            let what = if meta.is_symlink() {
                "a symbolic link where git has a worktree"
            } else {
                "not a worktree of this repository any more (its `.git` leads elsewhere)"
            };
            findings.push(format!(
                "`{}`: {what}; left for a person",
                worktree.path.display()
            ));
            if let Some(name) = worktree.path.file_name() {
                known.push(dir.join(name));
            }
            continue;
        }
        if worktree.prunable {
            findings.push(format!(
                "`{}`: git lost its folder (`health --fix` prunes it)",
                worktree.path.display()
            ));
            continue;
        }
        let Ok(path) = worktree.path.canonicalize() else {
            continue;
        };
        known.push(path.clone());
        let under = canonical_dir.as_deref() == path.parent();
        if under && !owned.contains(&path) && !live {
            let dirty = git.uncommitted(&path).map(|left| left.len()).unwrap_or(0);
            let changes = if dirty > 0 {
                format!(", {dirty} uncommitted change{}", plural(dirty))
            } else {
                String::new()
            };
            findings.push(match worktree.branch.as_deref() {
                None if Git::is_spare(&path) => format!(
                    "`{}`: a spare worktree its run did not remove{changes} (`workers recover` \
                     removes it)",
                    path.display()
                ),
                Some(branch) => format!(
                    "`{}` on `{branch}`: no worker owns it{changes}",
                    path.display()
                ),
                None => format!(
                    "`{}` on a detached HEAD: no worker owns it{changes}; left for a person \
                     ({})",
                    path.display(),
                    recover::detached_advice(&path)
                ),
            });
        }
    }
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            let canonical = path.canonicalize().unwrap_or(path.clone());
            if path.is_dir() && !known.contains(&canonical) && !known.contains(&path) {
                findings.push(format!(
                    "`{}`: not a worktree git knows; left for a person",
                    path.display()
                ));
            }
        }
    }
    Ok(if findings.is_empty() {
        ok("orphaned_worktrees", "no orphaned worktree")
    } else {
        Check {
            name: "orphaned_worktrees",
            verdict: Verdict::Problem,
            summary: format!(
                "{} orphaned worktree{}: `orchestron workers recover` (or `health --fix`) \
                 commits what one on its branch holds and removes it; one on a detached HEAD \
                 or another branch, or not known to git, is left for a person",
                findings.len(),
                plural(findings.len())
            ),
            findings,
        }
    })
}

/// A worker branch whose work is settled: health may judge it, `--fix` may delete it.
struct WorkerBranch {
    /// `orchestron/<ID>`.
    name: String,
    tip: String,
    item: String,
    status: String,
}

/// The worker branches health judges: `orchestron/<ID>` of an item the tracker knows (a
/// person's `orchestron/my-feature` is none of its business), the integration branch
/// excepted, and not while a worker may still be on it: its item IN_PROGRESS or IN_REVIEW
/// (a review reads the branch), or an attempt on it open (a running worker's fresh branch,
/// one a killed supervisor left for `recover`), or a worktree having it checked out.
fn settled_worker_branches(cx: &Context, git: &Git, into: &str) -> Result<Vec<WorkerBranch>> {
    let candidates: Vec<(String, String)> = git
        .branches_under(train::BRANCH_PREFIX)?
        .into_iter()
        .filter(|(name, _)| name != into && name != train::DEFAULT_INTO)
        .collect();
    if candidates.is_empty() || !cx.tracker_path().exists() {
        return Ok(Vec::new());
    }
    let checked_out = git.branches_checked_out()?;
    let db = cx.tracker_for_reads()?;
    let mut statement = db.conn().prepare(
        "SELECT status, EXISTS (SELECT 1 FROM worker_attempts a WHERE a.item = items.id \
         AND a.ended_at IS NULL) FROM items WHERE id = ?1",
    )?;
    let mut settled = Vec::new();
    for (name, tip) in candidates {
        let item = name[train::BRANCH_PREFIX.len()..].to_owned();
        let found: Option<(String, bool)> = rusqlite::OptionalExtension::optional(
            statement.query_row([&item], |row| Ok((row.get(0)?, row.get(1)?))),
        )?;
        let Some((status, open_attempt)) = found else {
            continue;
        };
        let busy = matches!(status.as_str(), "IN_PROGRESS" | "IN_REVIEW")
            || open_attempt
            || checked_out.iter().any(|branch| branch == &name);
        if !busy {
            settled.push(WorkerBranch {
                name,
                tip,
                item,
                status,
            });
        }
    }
    Ok(settled)
}

/// Worker branches whose item is DONE but that the integration branch lacks, and branches
/// it holds that are not deleted (of settled items only: see [`settled_worker_branches`]).
fn branches(cx: &Context, git: &Git) -> Result<Check> {
    let into = train::default_into(cx);
    let Some(into_tip) = git.branch_tip(&into)? else {
        return Ok(ok(
            "branches",
            &format!("no integration branch `{into}` yet"),
        ));
    };
    let mut findings = Vec::new();
    for WorkerBranch {
        name: branch,
        tip,
        item: id,
        status,
    } in settled_worker_branches(cx, git, &into)?
    {
        let merged = git.is_ancestor(&tip, &into_tip)?;
        match (status.as_str(), merged) {
            (_, true) => findings.push(format!(
                "`{branch}` is merged into `{into}` but not deleted (`health --fix` deletes it)"
            )),
            ("DONE", false) => findings.push(format!(
                "`{branch}`: {id} is DONE but `{into}` lacks its branch"
            )),
            _ => {}
        }
    }
    Ok(if findings.is_empty() {
        ok("branches", "worker branches are in order")
    } else {
        Check {
            name: "branches",
            verdict: Verdict::Problem,
            summary: format!(
                "{} worker branch{} out of order",
                findings.len(),
                if findings.len() == 1 { "" } else { "es" }
            ),
            findings,
        }
    })
}

/// The integration branch against `HEAD`.
fn integration(cx: &Context, git: &Git) -> Result<Check> {
    let into = train::default_into(cx);
    if git.branch_tip(&into)?.is_none() {
        return Ok(Check {
            name: "integration",
            verdict: Verdict::Info,
            summary: format!(
                "no integration branch `{into}` yet: the first `workers run` makes it"
            ),
            findings: Vec::new(),
        });
    }
    let Ok(_) = git.head() else {
        return Ok(ok("integration", "the repository has no commit yet"));
    };
    let (ahead, behind) = git.ahead_behind(&into, "HEAD")?;
    let checked_out = git.branches_checked_out()?;
    let mut findings = Vec::new();
    if checked_out.iter().any(|branch| branch == &into) {
        findings.push(format!(
            "`{into}` is checked out: workers will not move it until it is not"
        ));
    }
    let summary = match (ahead, behind) {
        (0, 0) => format!("`{into}` is at HEAD"),
        (ahead, 0) => format!(
            "`{into}` is {ahead} commit{} ahead of HEAD: merge it when you are ready (`git merge {into}`)",
            plural(ahead as usize)
        ),
        (0, behind) => format!(
            "`{into}` is {behind} commit{} behind HEAD",
            plural(behind as usize)
        ),
        (ahead, behind) => format!("`{into}` is {ahead} ahead of and {behind} behind HEAD"),
    };
    Ok(Check {
        name: "integration",
        verdict: if findings.is_empty() {
            Verdict::Info
        } else {
            Verdict::Problem
        },
        summary,
        findings,
    })
}

/// What runs have spent, all together and the last one.
fn budget(cx: &Context) -> Result<Check> {
    let db = cx.tracker_for_reads()?;
    let (runs, total): (i64, f64) = db.conn().query_row(
        "SELECT count(*), COALESCE(sum(cost_usd), 0) FROM worker_runs",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    if runs == 0 {
        return Ok(ok("budget", "no worker run yet"));
    }
    let (last, last_cost): (String, f64) = db.conn().query_row(
        "SELECT id, cost_usd FROM worker_runs ORDER BY seq DESC LIMIT 1",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    Ok(Check {
        name: "budget",
        verdict: Verdict::Info,
        summary: format!(
            "${total:.2} spent in {runs} run{}; the last ({last}) ${last_cost:.2}",
            plural(runs as usize)
        ),
        findings: Vec::new(),
    })
}

/// SQLite's quick check and the `open_deps` counts.
fn tracker(cx: &Context) -> Result<Check> {
    let path = cx.tracker_path();
    match Db::health(&path) {
        DbHealth::Missing => return Ok(ok("tracker", "no tracker yet")),
        DbHealth::Newer { schema } => {
            return Ok(Check {
                name: "tracker",
                verdict: Verdict::Problem,
                summary: format!("the tracker has schema {schema}, newer than this orchestron"),
                findings: Vec::new(),
            });
        }
        DbHealth::Damaged(how) => {
            return Ok(Check {
                name: "tracker",
                verdict: Verdict::Problem,
                summary: format!("the tracker is damaged: {how}"),
                findings: Vec::new(),
            });
        }
        DbHealth::Ok { .. } => {}
    }
    let db = cx.tracker_for_reads()?;
    let wrong = wrong_open_deps(db.conn())?;
    Ok(if wrong.is_empty() {
        ok(
            "tracker",
            "SQLite's quick check passes; dependency counts agree",
        )
    } else {
        Check {
            name: "tracker",
            verdict: Verdict::Problem,
            summary: format!(
                "{} item{} count{} open dependencies wrongly (`health --fix` recounts)",
                wrong.len(),
                plural(wrong.len()),
                if wrong.len() == 1 { "s" } else { "" }
            ),
            findings: wrong,
        }
    })
}

/// Items whose `open_deps` disagrees with their dependencies, a line each.
fn wrong_open_deps(conn: &Connection) -> Result<Vec<String>> {
    let mut statement = conn.prepare(
        "SELECT id, open_deps, (SELECT count(*) FROM deps d JOIN items x ON x.id = d.depends_on \
         WHERE d.item = items.id AND x.status != 'DONE') AS actual FROM items \
         WHERE open_deps != actual ORDER BY seq LIMIT 100",
    )?;
    let wrong = statement
        .query_map([], |row| {
            Ok(format!(
                "{} counts {} open dependencies, has {}",
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, i64>(2)?
            ))
        })?
        .collect::<Result<_, _>>()?;
    Ok(wrong)
}

fn ok(name: &'static str, summary: &str) -> Check {
    Check {
        name,
        verdict: Verdict::Ok,
        summary: summary.to_owned(),
        findings: Vec::new(),
    }
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}
