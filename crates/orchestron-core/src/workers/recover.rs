//! What a killed supervisor left behind, found and put right: the start of every `workers
//! run` and `workers recover` (and `health --fix`) calls [`recover`] before anything is
//! claimed.
//!
//! A run whose record is open (`worker_runs.ended_at IS NULL`) but whose supervisor is gone
//! (no process with its pid and start time) is orphaned. For each of its open attempts the
//! worker process, if it still runs, is stopped (SIGTERM to its group, SIGKILL 10 s later),
//! what it left in its worktree is committed to its branch, the item goes back to TODO
//! (fenced by the attempt's generation, so an item claimed again meanwhile is left to its
//! new claimer), the worktree is removed, and the attempt and the run are closed as
//! `orphaned`. With no live supervisor left, worktrees under `<state root>/worktrees/` that
//! no open attempt owns are committed and removed too. Nothing is removed uncommitted and no
//! branch is deleted here; nothing is claimed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::params;
use serde::Serialize;

use super::git::Git;
use super::train;
use crate::context::Context;
use crate::error::Result;
use crate::session::format_time;
use crate::tracker::claims;
use crate::tracker::items;
use crate::tracker::model::Status;

/// How long a stopped worker gets between SIGTERM and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// One thing recovery did.
#[derive(Debug, Clone, Serialize)]
pub struct Recovered {
    /// The item concerned (empty for a run's own record).
    pub item: String,
    /// What was done, in one sentence.
    pub what: String,
    /// The orphaned run, when it was one.
    pub run: Option<String>,
    /// The commit that keeps what the worker left uncommitted, if there was anything.
    pub commit: Option<String>,
    /// The worker process stopped, if one still ran.
    pub stopped_pid: Option<u32>,
    /// Whether anything was changed; `false` when recovery only found something it leaves
    /// for a person (a worktree on a detached HEAD), which is not a repair.
    pub changed: bool,
}

impl Recovered {
    /// What became of a worktree no open attempt owns (no run, no process stopped).
    fn worktree(item: String, what: String, commit: Option<String>, changed: bool) -> Recovered {
        Recovered {
            item,
            what,
            run: None,
            commit,
            stopped_pid: None,
            changed,
        }
    }
}

/// What a person can do with a worktree left on a detached HEAD at `path`: its commits may
/// be on no branch, so Orchestron neither commits there nor removes it.
pub fn detached_advice(path: &Path) -> String {
    format!(
        "its commits may be on no branch: keep them with `git -C {} switch -c NAME`, then \
         commit and `git worktree remove` it",
        path.display()
    )
}

/// An open attempt of an orphaned run.
#[derive(Debug)]
struct OpenAttempt {
    row: i64,
    item: String,
    generation: i64,
    pid: Option<u32>,
    pid_start: Option<String>,
    branch: String,
    worktree: PathBuf,
}

/// An open run.
#[derive(Debug)]
struct OpenRun {
    id: String,
    pid: u32,
    pid_start: Option<String>,
}

/// Find and repair what supervisors killed without a chance to clean up left behind.
/// Returns what it did, in order. Safe to run at any time: a live supervisor's run and
/// worktrees are left alone.
pub fn recover(cx: &Context, git: &Git) -> Result<Vec<Recovered>> {
    if !cx.tracker_path().exists() {
        return Ok(Vec::new());
    }
    let mut done = Vec::new();
    let runs = open_runs(cx)?;
    let mut live = false;
    for run in runs {
        if is_alive(run.pid, run.pid_start.as_deref()) {
            live = true;
            continue;
        }
        for attempt in open_attempts(cx, &run.id)? {
            done.push(recover_attempt(cx, git, &run, &attempt)?);
        }
        close_run(cx, &run.id)?;
        done.push(Recovered {
            item: String::new(),
            what: format!(
                "closed run {} as orphaned: its supervisor (pid {}) is gone",
                run.id, run.pid
            ),
            run: Some(run.id.clone()),
            commit: None,
            stopped_pid: None,
            changed: true,
        });
    }
    if !live {
        done.extend(stale_worktrees(cx, git)?);
    }
    Ok(done)
}

fn open_runs(cx: &Context) -> Result<Vec<OpenRun>> {
    let db = cx.tracker_for_reads()?;
    let mut statement = db.conn().prepare(
        "SELECT id, pid, pid_start FROM worker_runs WHERE ended_at IS NULL ORDER BY seq",
    )?;
    let runs = statement
        .query_map([], |row| {
            Ok(OpenRun {
                id: row.get(0)?,
                pid: row.get::<_, i64>(1)?.try_into().unwrap_or(0),
                pid_start: row.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(runs)
}

fn open_attempts(cx: &Context, run: &str) -> Result<Vec<OpenAttempt>> {
    let db = cx.tracker_for_reads()?;
    let mut statement = db.conn().prepare(
        "SELECT id, item, generation, pid, pid_start, branch, worktree FROM worker_attempts \
         WHERE run = ?1 AND ended_at IS NULL ORDER BY id",
    )?;
    let attempts = statement
        .query_map([run], |row| {
            Ok(OpenAttempt {
                row: row.get(0)?,
                item: row.get(1)?,
                generation: row.get(2)?,
                pid: row
                    .get::<_, Option<i64>>(3)?
                    .and_then(|pid| u32::try_from(pid).ok()),
                pid_start: row.get(4)?,
                branch: row.get(5)?,
                worktree: PathBuf::from(row.get::<_, String>(6)?),
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(attempts)
}

fn recover_attempt(
    cx: &Context,
    git: &Git,
    run: &OpenRun,
    attempt: &OpenAttempt,
) -> Result<Recovered> {
    let mut said = Vec::new();
    let stopped_pid = attempt
        .pid
        .filter(|pid| is_alive(*pid, attempt.pid_start.as_deref()))
        .inspect(|pid| {
            stop_group(*pid, attempt.pid_start.as_deref());
            said.push(format!("stopped its worker (pid {pid})"));
        });
    let worktree = resolve(cx, &attempt.worktree);
    let mut commit = None;
    let mut committed = !worktree.exists();
    if worktree.exists() && !git.owns(&worktree) {
        said.push(format!(
            "left `{}` as it is: it is not a worktree of this repository any more",
            worktree.display()
        ));
    } else if worktree.exists() {
        match git.worktree_branch(&worktree)? {
            Some(branch) if branch == attempt.branch => match git.commit_all(
                &worktree,
                &format!(
                    "orchestron: what the worker left uncommitted on {} (recovered)",
                    attempt.item
                ),
            ) {
                Ok(made) => {
                    commit = made;
                    committed = true;
                    if let Some(commit) = &commit {
                        said.push(format!(
                            "committed what it left to `{}` ({})",
                            attempt.branch,
                            short(commit)
                        ));
                    }
                }
                // Said, and the worktree kept as it is; the other orphans are still seen to.
                Err(err) => said.push(format!(
                    "left its worktree `{}` as it is: {}",
                    worktree.display(),
                    err.message()
                )),
            },
            Some(other) => said.push(format!(
                "left its worktree `{}` for a person: it is on `{other}` instead of `{}`",
                worktree.display(),
                attempt.branch
            )),
            None => said.push(format!(
                "left its worktree `{}` for a person: it is on a detached HEAD instead of `{}` \
                 ({})",
                worktree.display(),
                attempt.branch,
                detached_advice(&worktree)
            )),
        }
    }
    let note = format!(
        "recovered: its supervisor (run {}, pid {}) was gone; its work is on `{}`",
        run.id, run.pid, attempt.branch
    );
    let in_progress = {
        let db = cx.tracker_for_reads()?;
        items::get(db.conn(), &attempt.item).map(|item| item.status == Status::InProgress)
    };
    match in_progress {
        Ok(true) => match claims::give_back(cx, &attempt.item, attempt.generation, &note) {
            Ok(()) => said.push("returned the item to TODO".to_owned()),
            Err(err) => said.push(format!("left the item as it is: {}", err.message())),
        },
        Ok(false) => said.push("left the item as it is: it is not in progress".to_owned()),
        Err(err) => said.push(format!("left the item as it is: {}", err.message())),
    }
    if committed && worktree.exists() {
        match git.remove_worktree(&worktree) {
            Ok(()) => said.push("removed its worktree".to_owned()),
            Err(err) => said.push(format!("kept its worktree: {}", err.message())),
        }
    }
    close_attempt(cx, attempt.row, &note)?;
    Ok(Recovered {
        item: attempt.item.clone(),
        what: said.join("; "),
        run: Some(run.id.clone()),
        commit,
        stopped_pid,
        // The attempt is closed, whatever else was left.
        changed: true,
    })
}

/// Worktrees under `<state root>/worktrees/` no open attempt owns: committed and removed.
fn stale_worktrees(cx: &Context, git: &Git) -> Result<Vec<Recovered>> {
    let dir = train::worktrees_dir(cx);
    let Ok(dir) = dir.canonicalize() else {
        return Ok(Vec::new());
    };
    let owned: Vec<PathBuf> = {
        let db = cx.tracker_for_reads()?;
        let mut statement = db
            .conn()
            .prepare("SELECT worktree FROM worker_attempts WHERE ended_at IS NULL")?;
        statement
            .query_map([], |row| row.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter_map(|path| resolve(cx, Path::new(&path)).canonicalize().ok())
            .collect()
    };
    let mut done = Vec::new();
    for worktree in git.worktrees()? {
        if worktree.main || worktree.prunable {
            continue;
        }
        let Ok(path) = worktree.path.canonicalize() else {
            continue;
        };
        if path.parent() != Some(dir.as_path()) || owned.contains(&path) {
            continue;
        }
        let item = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !git.owns(&worktree.path) {
            // Replaced since git made it (by a link, or another repository's folder): git is
            // not run there.
            done.push(Recovered::worktree(
                String::new(),
                format!(
                    "left `{}` for a person: it is not a worktree of this repository any more",
                    worktree.path.display()
                ),
                None,
                false,
            ));
            continue;
        }
        if Git::is_spare(&path) && worktree.branch.is_none() {
            // A spare a run kept for its next item: it holds nothing of anyone's (git
            // refuses to remove it if something was left in it since).
            let what = match git.remove_worktree(&path) {
                Ok(()) => format!("removed the spare worktree `{}`", path.display()),
                Err(err) => format!(
                    "kept the spare worktree `{}`: {}",
                    path.display(),
                    err.message()
                ),
            };
            done.push(Recovered::worktree(
                String::new(),
                what,
                None,
                !path.exists(),
            ));
            continue;
        }
        let Some(branch) = worktree.branch.clone() else {
            done.push(Recovered::worktree(
                item,
                format!(
                    "left the worktree `{}` for a person: it is on a detached HEAD ({})",
                    path.display(),
                    detached_advice(&path)
                ),
                None,
                false,
            ));
            continue;
        };
        let commit = match git.commit_all(
            &path,
            &format!("orchestron: what was left uncommitted on {item} (recovered)"),
        ) {
            Ok(commit) => commit,
            Err(err) => {
                done.push(Recovered::worktree(
                    item,
                    format!(
                        "kept the stale worktree `{}` as it is: {}",
                        path.display(),
                        err.message()
                    ),
                    None,
                    false,
                ));
                continue;
            }
        };
        let (what, removed) = match git.remove_worktree(&path) {
            Ok(()) => (
                format!(
                    "removed the stale worktree `{}`, its work on `{branch}`",
                    path.display()
                ),
                true,
            ),
            Err(err) => (
                format!(
                    "kept the stale worktree `{}`{}: {}",
                    path.display(),
                    if commit.is_some() {
                        format!(" (what it held is committed to `{branch}`)")
                    } else {
                        String::new()
                    },
                    err.message()
                ),
                false,
            ),
        };
        let changed = removed || commit.is_some();
        done.push(Recovered::worktree(item, what, commit, changed));
    }
    git.prune_worktrees()?;
    Ok(done)
}

fn resolve(cx: &Context, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        cx.state_root().join(path)
    }
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}

/// Close an orphaned attempt (its file leases end with it).
fn close_attempt(cx: &Context, row: i64, reason: &str) -> Result<()> {
    super::records::end_attempt(cx, row, "orphaned", Some(reason), None)
}

fn close_run(cx: &Context, run: &str) -> Result<()> {
    let now = format_time(cx.now());
    let mut db = cx.tracker()?;
    db.write(|tx| -> Result<()> {
        tx.execute(
            "UPDATE worker_runs SET ended_at = COALESCE(ended_at, ?2), outcome = 'orphaned' \
             WHERE id = ?1",
            params![run, now],
        )?;
        Ok(())
    })
}

pub use super::process::is_alive;
#[cfg(test)]
use super::process::start_time;

/// Stop the process group `pid` leads: SIGTERM, then SIGKILL after [`STOP_GRACE`] if its
/// leader still runs.
fn stop_group(pid: u32, start: Option<&str>) {
    let Some(group) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return;
    };
    let _ = rustix::process::kill_process_group(group, rustix::process::Signal::TERM);
    let deadline = Instant::now() + STOP_GRACE;
    while Instant::now() < deadline {
        if !is_alive(pid, start) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
}

/// The id of the run a live supervisor holds open, if any (a pid that still runs with its
/// start time).
pub fn live_run(cx: &Context) -> Result<Option<String>> {
    Ok(super::records::live_run(cx)?.map(|run| run.id))
}

/// Whether any recorded run is orphaned: open, its supervisor gone (for `health`).
pub fn orphaned_runs(cx: &Context) -> Result<Vec<String>> {
    if !cx.tracker_path().exists() {
        return Ok(Vec::new());
    }
    Ok(open_runs(cx)?
        .into_iter()
        .filter(|run| !is_alive(run.pid, run.pid_start.as_deref()))
        .map(|run| run.id)
        .collect())
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::CommandExt as _;
    use std::process::Command;

    use super::*;
    use crate::workers::train::tests::fixture;

    #[test]
    fn an_orphaned_run_is_recovered_without_losing_a_commit() {
        let f = fixture();
        let job = f.claimed("orphaned");
        std::fs::write(job.worktree.join("half.txt"), "half done\n").unwrap();
        // A worker still running in its own group, its supervisor gone (a pid that ran and
        // ended: recorded with a start time no process has).
        let mut worker = Command::new("sleep")
            .arg("60")
            .process_group(0)
            .spawn()
            .unwrap();
        let worker_pid = worker.id();
        let worker_start = start_time(worker_pid).unwrap();
        let mut db = f.cx.tracker().unwrap();
        db.write(|tx| -> Result<()> {
            tx.execute(
                "UPDATE worker_runs SET pid = ?1, pid_start = 'gone' WHERE id = 'r'",
                [std::process::id()],
            )?;
            tx.execute(
                "UPDATE worker_attempts SET pid = ?1, pid_start = ?2, worktree = ?3 WHERE id = ?4",
                params![
                    worker_pid,
                    worker_start,
                    job.worktree.display().to_string(),
                    job.attempt
                ],
            )?;
            Ok(())
        })
        .unwrap();
        // A stale worktree no attempt owns.
        let stale = train::worktree_path(&f.cx, "TASK-stale");
        f.git
            .add_worktree(&stale, "orchestron/TASK-stale", "HEAD")
            .unwrap();
        std::fs::write(stale.join("stale.txt"), "kept\n").unwrap();
        // Two spares the killed run kept, one of them written in since.
        let spares = f.git.with_spares(&train::worktrees_dir(&f.cx), 2);
        let paths = ["TASK-s1", "TASK-s2"].map(|name| {
            let path = train::worktree_path(&f.cx, name);
            spares
                .checkout_worktree(&path, &train::branch_for(name), "HEAD")
                .unwrap();
            path
        });
        for path in paths {
            spares.release_worktree(&path).unwrap();
        }
        let (clean, written) = (
            train::worktrees_dir(&f.cx).join(".spare-1"),
            train::worktrees_dir(&f.cx).join(".spare-2"),
        );
        std::fs::write(written.join("note.txt"), "someone's\n").unwrap();

        let done = recover(&f.cx, &f.git).unwrap();
        let _ = worker.wait();
        let text = serde_json::to_string(&done).unwrap();
        assert_eq!(done[0].stopped_pid, Some(worker_pid), "{text}");
        assert!(!is_alive(worker_pid, Some(&worker_start)));
        assert_eq!(f.status(&job.item), Status::Todo, "{text}");
        assert!(!job.worktree.exists(), "{text}");
        assert_eq!(
            f.show(&job.branch, "half.txt").as_deref(),
            Some("half done\n")
        );
        assert!(!stale.exists(), "{text}");
        assert_eq!(
            f.show("orchestron/TASK-stale", "stale.txt").as_deref(),
            Some("kept\n")
        );
        let db = f.cx.tracker_for_reads().unwrap();
        let (outcome, run_outcome): (String, String) = db
            .conn()
            .query_row(
                "SELECT a.outcome, r.outcome FROM worker_attempts a JOIN worker_runs r \
                 ON r.id = a.run",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        assert_eq!(
            (outcome.as_str(), run_outcome.as_str()),
            ("orphaned", "orphaned")
        );
        // The clean spare is removed; the one written in is kept for a person.
        assert!(!clean.exists(), "{text}");
        assert!(written.join("note.txt").exists(), "{text}");
        assert!(text.contains("removed the spare worktree"), "{text}");
        assert!(text.contains("kept the spare worktree"), "{text}");
        // Once more: nothing left to do but the spare left for a person.
        let again = recover(&f.cx, &f.git).unwrap();
        assert_eq!(again.len(), 1, "{again:?}");
        assert!(!again[0].changed);
    }

    #[test]
    fn health_reports_a_dead_supervisor_and_fix_recovers_it() {
        let f = fixture();
        let job = f.claimed("orphaned");
        std::fs::write(job.worktree.join("half.txt"), "half\n").unwrap();
        let mut db = f.cx.tracker().unwrap();
        db.write(|tx| -> Result<()> {
            tx.execute("UPDATE worker_runs SET pid_start = 'gone'", [])?;
            Ok(())
        })
        .unwrap();
        let report = crate::health::check(&f.cx, Some(&f.git), false).unwrap();
        let dead = report
            .checks
            .iter()
            .find(|check| check.name == "dead_workers")
            .unwrap();
        assert_eq!(dead.verdict, crate::health::Verdict::Problem, "{report:?}");
        assert!(dead.findings[0].contains(&job.item), "{report:?}");
        assert!(job.worktree.exists(), "a report changes nothing");

        let fixed = crate::health::check(&f.cx, Some(&f.git), true).unwrap();
        assert_eq!(fixed.problems, 0, "{fixed:?}");
        assert!(
            fixed
                .fixed
                .iter()
                .any(|line| line.contains("returned the item to TODO")),
            "{fixed:?}"
        );
        assert_eq!(f.status(&job.item), Status::Todo);
        assert_eq!(f.show(&job.branch, "half.txt").as_deref(), Some("half\n"));
    }

    #[test]
    fn a_spare_replaced_by_a_link_is_reported_and_never_followed() {
        let f = fixture();
        let spares = f.git.with_spares(&train::worktrees_dir(&f.cx), 1);
        let path = train::worktree_path(&f.cx, "TASK-s1");
        spares
            .checkout_worktree(&path, &train::branch_for("TASK-s1"), "HEAD")
            .unwrap();
        spares.release_worktree(&path).unwrap();
        let spare = train::worktrees_dir(&f.cx).join(".spare-1");
        let elsewhere = f.dir.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        std::fs::write(elsewhere.join("untracked"), "mine\n").unwrap();
        std::fs::rename(&spare, f.dir.path().join("held")).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &spare).unwrap();
        let report = crate::health::check(&f.cx, Some(&f.git), false).unwrap();
        let orphans = report
            .checks
            .iter()
            .find(|check| check.name == "orphaned_worktrees")
            .unwrap();
        assert_eq!(orphans.findings.len(), 1, "{report:?}");
        assert!(orphans.findings[0].contains("symbolic link"), "{report:?}");
        recover(&f.cx, &f.git).unwrap();
        crate::health::check(&f.cx, Some(&f.git), true).unwrap();
        assert!(elsewhere.join("untracked").exists());
        assert!(std::fs::symlink_metadata(&spare).unwrap().is_symlink());
    }

    #[test]
    fn a_live_supervisors_run_is_left_alone() {
        let f = fixture();
        let job = f.claimed("live");
        let (pid, start) = (std::process::id(), start_time(std::process::id()));
        let mut db = f.cx.tracker().unwrap();
        db.write(|tx| -> Result<()> {
            tx.execute(
                "UPDATE worker_runs SET pid = ?1, pid_start = ?2",
                params![pid, start],
            )?;
            Ok(())
        })
        .unwrap();
        assert!(recover(&f.cx, &f.git).unwrap().is_empty());
        assert!(job.worktree.exists());
        assert_eq!(f.status(&job.item), Status::InProgress);
        assert_eq!(live_run(&f.cx).unwrap().as_deref(), Some("r"));
    }
}
