//! Running `git` for the workers, safely and within bounds: every call names its folder
//! (`git -C DIR`), runs with git's repository variables removed from its environment (so a
//! `GIT_DIR` or `GIT_INDEX_FILE` the supervisor inherited can never aim it at another
//! repository or index), never waits for a terminal, and is killed (with everything it
//! started) when it outlives its deadline.
//!
//! What the workers do to a repository goes through here, and none of it touches the
//! user's working tree, index or checked-out branch: branches move with `update-ref`
//! (compare-and-swap), merges are computed with `merge-tree --write-tree` and recorded with
//! `commit-tree`, and commits are made only inside a worker's own worktree. A branch checked
//! out in any worktree is never moved or deleted, a worktree is removed only when it holds
//! nothing uncommitted, and a branch is deleted only when the branch it was merged into
//! contains it.
//!
//! A run keeps the worktrees its workers are done with as spares ([`Git::with_spares`]):
//! checking out a repository of thousands of files for every item costs more than the rest
//! of the supervisor's work together, and a spare needs only the files that differ. A spare
//! is clean (nothing uncommitted, on a detached HEAD) when it is kept, is emptied of every
//! untracked and ignored file before it is used, and is removed when the run ends.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// The integration branch when neither `--into` nor `workers.into` names one.
pub const DEFAULT_INTO: &str = "orchestron/integration";

/// The prefix of every worker branch: `orchestron/<ID>`.
pub const BRANCH_PREFIX: &str = "orchestron/";

/// How a spare worktree's folder is named in the workers' worktree folder: `.spare-N`
/// (item ids never start with a dot).
pub const SPARE_PREFIX: &str = ".spare-";

/// How long one ordinary `git` call may take before it is killed.
pub const GIT_LIMIT: Duration = Duration::from_secs(120);

/// The most of a `git` call's output kept (a diff for `review` is the large one).
pub const MAX_OUTPUT_BYTES: usize = 16 * 1024 * 1024;

/// The variables that aim `git` at a repository, an index or an object store other than
/// the folder named with `-C`: removed from every call's environment.
const REPOSITORY_VARIABLES: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
    "GIT_QUARANTINE_PATH",
    "GIT_REPLACE_REF_BASE",
    "GIT_SHALLOW_FILE",
    "GIT_GRAFT_FILE",
    "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
    "GIT_CONFIG",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "GIT_EDITOR",
    "GIT_SEQUENCE_EDITOR",
];

/// The identity of the commits Orchestron makes when the repository has none configured.
const FALLBACK_IDENTITY: [&str; 4] = [
    "-c",
    "user.name=Orchestron",
    "-c",
    "user.email=orchestron@localhost",
];

/// The repository the workers work in, by its main worktree.
#[derive(Debug, Clone)]
pub struct Git {
    /// The main worktree's top level (the user's checkout).
    top: PathBuf,
    /// Whether git finds a committer identity of its own (config or environment); when it
    /// does not, Orchestron's commits use [`FALLBACK_IDENTITY`]. Asked once.
    has_identity: OnceLock<bool>,
    /// Branch names `git check-ref-format` accepted already: each is asked once.
    valid_names: Arc<Mutex<HashSet<String>>>,
    /// Held across `git worktree add`, `remove` and `prune`, shared by every clone: a
    /// prune running beside an unfinished add (the supervisor adds while its train removes)
    /// forgets the new worktree's half-written registration.
    worktree_ops: Arc<Mutex<()>>,
    /// The worktrees a run keeps for its next items, shared by every clone; `None` keeps
    /// none (every worktree is added and removed).
    spares: Option<Arc<Mutex<Spares>>>,
}

/// The spare worktrees of a run: see [`Git::with_spares`].
#[derive(Debug)]
struct Spares {
    /// Where they are kept (the workers' worktree folder).
    dir: PathBuf,
    /// The most kept at once.
    cap: usize,
    /// Those ready for use, the latest kept last.
    idle: Vec<Spare>,
    /// Those being kept right now (counted against `cap`).
    keeping: usize,
    /// The number of the next one's folder.
    next: usize,
    /// Spares found changed when they were to be used (their folder replaced, by a link or
    /// another folder): left as they are, for [`Git::remove_spares`] to report.
    dropped: Vec<PathBuf>,
}

/// A spare worktree: its folder and its git folder (`.git/worktrees/NAME`), as they were
/// when it was kept.
#[derive(Debug, Clone)]
struct Spare {
    path: PathBuf,
    git_dir: PathBuf,
}

/// What a worktree's git folder may hold for the worktree to be kept as a spare: a clean
/// worktree's own files (its reflog and `ORIG_HEAD` are deleted when it is kept). Anything
/// else (its own configuration, a sparse-checkout, a lock, bisect or rebase state,
/// submodules) is another item's business: such a worktree is removed instead.
const SPARE_GIT_FILES: &[&str] = &[
    "HEAD",
    "ORIG_HEAD",
    "COMMIT_EDITMSG",
    "AUTO_MERGE",
    "commondir",
    "gitdir",
    "index",
    "logs",
    "refs",
];

/// What a kept spare forgets of its last item: the reflog of its HEAD and the files that
/// name earlier commits, so that `HEAD@{1}` or `ORIG_HEAD` never lead the next item to
/// another item's work.
const SPARE_FORGETS: &[&str] = &["logs/HEAD", "ORIG_HEAD", "COMMIT_EDITMSG", "AUTO_MERGE"];

/// A worktree of the repository, as `git worktree list --porcelain` describes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Worktree {
    pub path: PathBuf,
    /// The commit checked out, absent in a bare repository's entry.
    pub head: Option<String>,
    /// The branch checked out (`orchestron/T-1`), `None` when detached.
    pub branch: Option<String>,
    /// The main worktree (the first entry).
    pub main: bool,
    /// Git says its folder is gone (`git worktree prune` would forget it).
    pub prunable: bool,
    pub locked: bool,
}

/// What `git merge-tree --write-tree` predicts of a merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergePrediction {
    /// It merges cleanly into this tree.
    Clean { tree: String },
    /// These files conflict; nothing was written to any branch.
    Conflict { files: Vec<String> },
}

/// What a command run within bounds did.
#[derive(Debug, Clone)]
pub struct CommandRun {
    /// The exit code; `None` when a signal ended it (or it was killed at its deadline).
    pub code: Option<i32>,
    /// It outlived its deadline and was killed, with its process group.
    pub timed_out: bool,
    /// It was stopped (the supervisor is stopping) and killed, with its process group.
    pub cancelled: bool,
    /// Its output, stdout then stderr, the last [`CommandRun::TAIL_BYTES`] kept.
    pub tail: String,
    pub took: Duration,
}

impl CommandRun {
    /// How much of a command's output is kept: its end, where the verdict is.
    pub const TAIL_BYTES: usize = 16 * 1024;

    pub fn succeeded(&self) -> bool {
        self.code == Some(0) && !self.timed_out && !self.cancelled
    }
}

impl Git {
    /// The repository `project_root` belongs to. Outside a git work tree (no repository, a
    /// bare one) it is refused with a clear message.
    pub fn open(project_root: &Path) -> Result<Git> {
        let output = run_git(
            project_root,
            &["rev-parse", "--show-toplevel"],
            GIT_LIMIT,
            4096,
        )?;
        if !output.status.success() {
            return Err(Error::invalid(format!(
                "`{}` is not in a git work tree: {}",
                project_root.display(),
                first_line(&output.stderr)
            ))
            .with_hint(
                "workers need a git repository with a commit: `git init` and commit first, \
                 or run it in the repository",
            ));
        }
        let here = PathBuf::from(output.stdout.trim_end_matches('\n'));
        let git = Git {
            top: here.clone(),
            has_identity: OnceLock::new(),
            valid_names: Arc::default(),
            worktree_ops: Arc::default(),
            spares: None,
        };
        // A linked worktree's repository is the main worktree's: the first entry.
        let top = git
            .worktrees()?
            .into_iter()
            .find(|worktree| worktree.main)
            .map_or(here, |worktree| worktree.path);
        Ok(Git {
            top,
            has_identity: OnceLock::new(),
            valid_names: Arc::default(),
            worktree_ops: Arc::default(),
            spares: None,
        })
    }

    /// This repository, keeping up to `cap` of the worktrees it is done with in `dir` (as
    /// `.spare-N`) for the next [`Git::checkout_worktree`] instead of removing them
    /// ([`Git::release_worktree_among`]). Its clones share the spares; the caller removes
    /// them with [`Git::remove_spares`] when it is done.
    pub fn with_spares(&self, dir: &Path, cap: usize) -> Git {
        Git {
            spares: Some(Arc::new(Mutex::new(Spares {
                dir: dir.to_path_buf(),
                cap,
                idle: Vec::new(),
                keeping: 0,
                next: 1,
                dropped: Vec::new(),
            }))),
            ..self.clone()
        }
    }

    /// Whether `path` names a spare worktree (`.spare-N`).
    pub fn is_spare(path: &Path) -> bool {
        path.file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with(SPARE_PREFIX))
    }

    /// The main worktree's top level.
    pub fn top(&self) -> &Path {
        &self.top
    }

    /// The branch checked out in the main worktree (`None` when its HEAD is detached).
    pub fn checked_out_branch(&self) -> Result<Option<String>> {
        let output = self.output(&self.top, &["symbolic-ref", "-q", "--short", "HEAD"])?;
        Ok(match output.status.code() {
            Some(0) => Some(output.stdout.trim().to_owned()),
            Some(1) => None,
            _ => return Err(failed(&["symbolic-ref", "HEAD"], &output)),
        })
    }

    /// Every worktree of the repository, the main one first.
    pub fn worktrees(&self) -> Result<Vec<Worktree>> {
        let text = self.text(&self.top, &["worktree", "list", "--porcelain", "-z"])?;
        Ok(parse_worktrees(&text))
    }

    /// The branches checked out in any worktree: none of them is ever moved or deleted.
    pub fn branches_checked_out(&self) -> Result<Vec<String>> {
        Ok(self
            .worktrees()?
            .into_iter()
            .filter_map(|worktree| worktree.branch)
            .collect())
    }

    /// Check `name` as a branch name (`git check-ref-format --branch`), refusing names git
    /// would read as something else.
    pub fn check_branch_name(&self, name: &str) -> Result<()> {
        let bad = || {
            Error::invalid(format!("`{name}` is not a valid branch name"))
                .with_hint("see `git check-ref-format --help`; such as `orchestron/integration`")
        };
        if name.is_empty() || name.starts_with('-') || name.contains('@') || name == "HEAD" {
            return Err(bad());
        }
        let known = |names: &HashSet<String>| names.contains(name);
        if self.valid_names.lock().is_ok_and(|names| known(&names)) {
            return Ok(());
        }
        let output = self.output(&self.top, &["check-ref-format", "--branch", name])?;
        if !output.status.success() || output.stdout.trim() != name {
            return Err(bad());
        }
        if let Ok(mut names) = self.valid_names.lock() {
            names.insert(name.to_owned());
        }
        Ok(())
    }

    /// Check `name` as the integration branch (`--into`, `workers.into`): a valid branch
    /// name, not a full ref (`refs/heads/x` would make `refs/heads/refs/heads/x`), not under
    /// `orchestron/` (the workers' own branches, `orchestron/<ID>`) other than the default
    /// `orchestron/integration`, and not the name of a tag too (git would find it ambiguous).
    pub fn check_integration_name(&self, name: &str) -> Result<()> {
        if name.starts_with("refs/") {
            return Err(
                Error::invalid(format!("`--into {name}` names a ref, not a branch")).with_hint(
                    "name the branch alone, such as `integration` for `refs/heads/integration`",
                ),
            );
        }
        if name.starts_with(BRANCH_PREFIX) && name != DEFAULT_INTO {
            return Err(Error::invalid(format!(
                "`--into {name}` is under `{BRANCH_PREFIX}`, where the workers' own branches \
                 (`{BRANCH_PREFIX}<ID>`) live"
            ))
            .with_hint(format!(
                "leave it out for `{DEFAULT_INTO}`, or name a branch outside `{BRANCH_PREFIX}`"
            )));
        }
        self.check_branch_name(name)?;
        let tag = format!("refs/tags/{name}");
        if self
            .output(&self.top, &["rev-parse", "-q", "--verify", &tag])?
            .status
            .success()
        {
            return Err(Error::invalid(format!(
                "`--into {name}` is also the name of a tag: git would find `{name}` ambiguous"
            ))
            .with_hint("name another branch"));
        }
        Ok(())
    }

    /// The commit a branch points at, `None` when there is no such branch.
    pub fn branch_tip(&self, branch: &str) -> Result<Option<String>> {
        let reference = format!("refs/heads/{branch}^{{commit}}");
        let output = self.output(&self.top, &["rev-parse", "-q", "--verify", &reference])?;
        Ok(output
            .status
            .success()
            .then(|| output.stdout.trim().to_owned()))
    }

    /// The commit `HEAD` of the main worktree is at.
    pub fn head(&self) -> Result<String> {
        self.commit_of("HEAD").map_err(|_| {
            Error::conflict(format!(
                "the repository `{}` has no commit yet",
                self.top.display()
            ))
            .with_hint("commit something first: workers branch from it")
        })
    }

    /// Validate the integration branch `name`, refuse it when a worktree has it checked out
    /// (the user's own branch above all: it is never moved), and create it from `HEAD` when
    /// it is missing. Returns its tip.
    pub fn ensure_integration(&self, name: &str) -> Result<String> {
        self.ensure_integration_among(name, &self.worktrees()?)
    }

    /// [`Git::ensure_integration`] with the worktrees listed already.
    pub fn ensure_integration_among(&self, name: &str, worktrees: &[Worktree]) -> Result<String> {
        self.check_branch_name(name)?;
        refuse_checked_out_among(name, "the integration branch", worktrees)?;
        if let Some(tip) = self.branch_tip(name)? {
            return Ok(tip);
        }
        let head = self.head()?;
        // Created only if still missing: an empty old value makes `update-ref` refuse an
        // existing branch, so two supervisors starting together agree on one.
        let reference = format!("refs/heads/{name}");
        let output = self.output(
            &self.top,
            &[
                "update-ref",
                "-m",
                "orchestron: integration branch",
                &reference,
                &head,
                MUST_NOT_EXIST,
            ],
        )?;
        if !output.status.success() {
            return self
                .branch_tip(name)?
                .ok_or_else(|| failed(&["update-ref", &reference], &output));
        }
        Ok(head)
    }

    /// Refuse `branch` when a worktree has it checked out.
    pub fn refuse_checked_out(&self, branch: &str, what: &str) -> Result<()> {
        refuse_checked_out_among(branch, what, &self.worktrees()?)
    }

    /// `git worktree add` at `path` on `branch`: the existing branch when there is one (a
    /// retry continues from it), else a new branch from `from`.
    pub fn add_worktree(&self, path: &Path, branch: &str, from: &str) -> Result<()> {
        self.check_branch_name(branch)?;
        let path_text = path_arg(path)?;
        // A branch named in full, so that a tag of the same name cannot make it ambiguous.
        let start = match self.branch_tip(from)? {
            Some(_) => format!("refs/heads/{from}"),
            None => from.to_owned(),
        };
        let add = |retry: bool| -> Result<GitOutput> {
            let args: Vec<&str> = if self.branch_tip(branch)?.is_some() {
                vec!["worktree", "add", "--quiet", path_text, branch]
            } else {
                vec![
                    "worktree", "add", "--quiet", "-b", branch, path_text, &start,
                ]
            };
            let output = self.output(&self.top, &args)?;
            if retry && !output.status.success() {
                return Err(failed(&args, &output));
            }
            Ok(output)
        };
        let _one_at_a_time = self.worktree_ops();
        if add(false)?.status.success() {
            return Ok(());
        }
        // A folder deleted behind git's back still holds its registration (and may hold the
        // branch): forget it, then try once more.
        self.text(&self.top, &["worktree", "prune"])?;
        add(true).map(|_| ())
    }

    /// A worktree at `path` on `branch`, as [`Git::add_worktree`] makes it: a spare when
    /// there is one (emptied of untracked and ignored files, switched to the branch, then
    /// moved to `path`), else a new one. A spare that cannot be used is removed.
    pub fn checkout_worktree(&self, path: &Path, branch: &str, from: &str) -> Result<()> {
        while let Some(spare) = self.take_spare() {
            if spare.gone() {
                // Deleted behind git's back: forgotten.
                let _ = self.prune_worktrees();
                continue;
            }
            if !self.spare_unchanged(&spare) {
                // Its folder was replaced since it was kept (by a link, say): git is never
                // run there. It is left as it is and said when the run ends.
                self.drop_spare(&spare.path);
                continue;
            }
            match self.reuse(&spare, path, branch, from) {
                Ok(()) => return Ok(()),
                Err(_) => {
                    // Back to a detached HEAD (the branch may be checked out there now), so
                    // that the branch is free for the new worktree; the spare held nothing.
                    let _ = self.text(&spare.path, &["switch", "--quiet", "--detach"]);
                    let _ = self.remove_worktree(&spare.path);
                }
            }
            break;
        }
        self.add_worktree(path, branch, from)
    }

    /// The last spare kept, taken out of the pool.
    fn take_spare(&self) -> Option<Spare> {
        self.with_pool(|spares| spares.idle.pop()).flatten()
    }

    /// Forget the spare at `path`, leaving it as it is, to be reported.
    fn drop_spare(&self, path: &Path) {
        self.with_pool(|spares| spares.dropped.push(path.to_path_buf()));
    }

    /// `change` on the pool of spares, `None` when this repository keeps none.
    fn with_pool<T>(&self, change: impl FnOnce(&mut Spares) -> T) -> Option<T> {
        let spares = self.spares.as_ref()?;
        let mut spares = spares
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Some(change(&mut spares))
    }

    /// Make the spare at `spare` the worktree at `path` on `branch`.
    fn reuse(&self, spare: &Spare, path: &Path, branch: &str, from: &str) -> Result<()> {
        let (git_dir, spare) = (&spare.git_dir, spare.path.as_path());
        self.check_branch_name(branch)?;
        let target = path_arg(path)?;
        // What the last item left that git does not track (build output included): a
        // spare starts as clean as a new checkout.
        self.text(spare, &["clean", "-ffdxq"])?;
        if self.branch_tip(branch)?.is_some() {
            self.text(spare, &["switch", "--quiet", "--no-guess", branch])?;
        } else {
            // The start as a commit, read once: `switch -c` checks out the commit it
            // resolved, but makes the branch from the name again, and the train may move the
            // integration branch in between: a branch ahead of its files would commit their
            // deletion.
            let start = match self.branch_tip(from)? {
                Some(tip) => tip,
                None => self.commit_of(from)?,
            };
            self.text(
                spare,
                &["switch", "--quiet", "--no-track", "-c", branch, &start],
            )?;
        }
        // Its reflog starts with this item, as a new worktree's does.
        let _ = std::fs::remove_file(git_dir.join("logs/HEAD"));
        let _one_at_a_time = self.worktree_ops();
        self.text(&self.top, &["worktree", "move", path_arg(spare)?, target])?;
        Ok(())
    }

    /// Done with the worktree at `path`, its work committed: kept as a spare when this
    /// repository keeps spares, has room for one, and the worktree is as clean as a new
    /// checkout (`keep_spare` says what that takes), else removed as
    /// [`Git::remove_worktree_among`] removes it. A spare is left on a detached HEAD, so its
    /// branch is free.
    pub fn release_worktree_among(&self, path: &Path, worktrees: &[Worktree]) -> Result<()> {
        if path.exists() && self.keep_spare(path, worktrees) {
            return Ok(());
        }
        self.remove_worktree_among(path, worktrees)
    }

    /// [`Git::release_worktree_among`], listing the worktrees itself.
    pub fn release_worktree(&self, path: &Path) -> Result<()> {
        if !path.exists() {
            return self.prune_worktrees();
        }
        self.release_worktree_among(path, &self.worktrees()?)
    }

    /// Keep the worktree at `path` as a spare, if it can be: it holds nothing uncommitted,
    /// nothing in its index is hidden from git (`assume-unchanged`, `skip-worktree`), its
    /// git folder holds only a clean worktree's files ([`SPARE_GIT_FILES`]), no process
    /// works in it (one left running by its worker would write into the next item's work),
    /// and there is room in the pool.
    fn keep_spare(&self, path: &Path, worktrees: &[Worktree]) -> bool {
        let Some(target) = self
            .with_pool(|spares| {
                if spares.idle.len() + spares.keeping >= spares.cap {
                    return None;
                }
                spares.keeping += 1;
                loop {
                    let target = spares.dir.join(format!("{SPARE_PREFIX}{}", spares.next));
                    spares.next += 1;
                    if std::fs::symlink_metadata(&target).is_err() {
                        break Some(target);
                    }
                }
            })
            .flatten()
        else {
            return false;
        };
        let kept = self.keep_as(path, &target, worktrees);
        self.with_pool(|spares| {
            spares.keeping -= 1;
            if let Some(spare) = kept.clone() {
                spares.idle.push(spare);
            }
        });
        kept.is_some()
    }

    /// [`Git::keep_spare`] with the spare's folder chosen: the checks, then detach, move
    /// and forget its history. `None` when it is not kept (and is as it was).
    fn keep_as(&self, path: &Path, target: &Path, worktrees: &[Worktree]) -> Option<Spare> {
        let git_dir = worktree_git_dir(path)?;
        if self.registered(path, worktrees).is_err()
            || under_way(path)
            || !only_spare_files(&git_dir)
            || super::process::any_working_in(path)
            || !self.uncommitted(path).is_ok_and(|left| left.is_empty())
            || !self.index_plain(path)
        {
            return None;
        }
        let (from, to) = (path_arg(path).ok()?, path_arg(target).ok()?);
        // The branch it is on (a detached one is never kept).
        let branch = self.worktree_branch(path).ok()??;
        self.text(path, &["switch", "--quiet", "--detach"]).ok()?;
        let moved = {
            let _one_at_a_time = self.worktree_ops();
            self.text(&self.top, &["worktree", "move", from, to])
        };
        if moved.is_err() {
            // Not movable (a submodule in it, say): back on its branch, to be removed or
            // left as it was.
            let _ = self.text(path, &["switch", "--quiet", "--no-guess", &branch]);
            return None;
        }
        for file in SPARE_FORGETS {
            let _ = std::fs::remove_file(git_dir.join(file));
        }
        Some(Spare {
            path: target.to_path_buf(),
            git_dir,
        })
    }

    /// Whether every entry of the index in `worktree` is a plain tracked file: none marked
    /// `assume-unchanged` or `skip-worktree`, none unmerged.
    fn index_plain(&self, worktree: &Path) -> bool {
        self.text(worktree, &["ls-files", "-v", "-z"])
            .is_ok_and(|text| {
                text.split('\0')
                    .all(|entry| entry.is_empty() || entry.starts_with("H "))
            })
    }

    /// Remove every spare worktree kept (a run ends). Each is tried; the first failure is
    /// returned, and a spare found replaced (by a link or another folder) is an error too,
    /// left as it is.
    pub fn remove_spares(&self) -> Result<()> {
        let Some((idle, dropped)) = self.with_pool(|spares| {
            (
                std::mem::take(&mut spares.idle),
                std::mem::take(&mut spares.dropped),
            )
        }) else {
            return Ok(());
        };
        let mut first = Ok(());
        for spare in idle {
            let removed = if spare.gone() || self.spare_unchanged(&spare) {
                self.remove_worktree(&spare.path)
            } else {
                Err(replaced(&spare.path))
            };
            if first.is_ok() {
                first = removed;
            }
        }
        if let (Ok(()), Some(path)) = (&first, dropped.first()) {
            first = Err(replaced(path));
        }
        first
    }

    /// Commit every change left in `worktree` (tracked, untracked, deleted; an unfinished
    /// merge included) to the branch checked out there, without running the repository's
    /// hooks. `None` when there was nothing to commit.
    pub fn commit_all(&self, worktree: &Path, message: &str) -> Result<Option<String>> {
        // In anything else, git would commit wherever the folder leads: the user's checkout
        // above a plain folder, another repository.
        if !self.owns(worktree) {
            return Err(Error::conflict(format!(
                "`{}` is not a worktree of `{}`: nothing committed",
                worktree.display(),
                self.top.display()
            )));
        }
        // A git the worker ran, killed in the middle of a commit, leaves its index locked;
        // once nothing works in the worktree any more, that lock is stale.
        if let Some(lock) = worktree_git_dir(worktree).map(|dir| dir.join("index.lock"))
            && lock.exists()
            && !super::process::any_working_in(worktree)
        {
            let _ = std::fs::remove_file(lock);
        }
        if self.uncommitted(worktree)?.is_empty() && !merging(worktree) {
            return Ok(None);
        }
        self.text(worktree, &["add", "--all"])?;
        let mut args = self.identity();
        args.extend(["commit", "--quiet", "--no-verify", "-m", message]);
        self.text(worktree, &args)?;
        Ok(Some(self.commit_of_in(worktree, "HEAD")?))
    }

    /// The branch checked out in `worktree`, `None` when its HEAD is detached.
    pub fn worktree_branch(&self, worktree: &Path) -> Result<Option<String>> {
        let output = self.output(worktree, &["symbolic-ref", "-q", "--short", "HEAD"])?;
        Ok(output
            .status
            .success()
            .then(|| output.stdout.trim().to_owned()))
    }

    /// What is uncommitted in `worktree` (`git status --porcelain`, untracked files
    /// included, ignored ones not): empty when it is clean.
    pub fn uncommitted(&self, worktree: &Path) -> Result<Vec<String>> {
        let text = self.text(
            worktree,
            &[
                "status",
                "--porcelain=v1",
                "-z",
                "--untracked-files=all",
                "--ignore-submodules=none",
            ],
        )?;
        Ok(text
            .split('\0')
            .filter(|entry| entry.len() > 3)
            .map(|entry| entry[3..].to_owned())
            .collect())
    }

    /// Remove the worktree at `path`, only when it is one of this repository's and holds
    /// nothing uncommitted (ignored files, such as build output, go with it). A folder that
    /// is gone already is forgotten (`git worktree prune`).
    pub fn remove_worktree(&self, path: &Path) -> Result<()> {
        if !path.exists() {
            return self.prune_worktrees();
        }
        self.remove_worktree_among(path, &self.worktrees()?)
    }

    /// [`Git::remove_worktree`] of an existing folder, with the worktrees listed already.
    pub fn remove_worktree_among(&self, path: &Path, worktrees: &[Worktree]) -> Result<()> {
        self.registered(path, worktrees)?;
        // Git itself removes a worktree in the middle of a rebase, or on a detached HEAD,
        // and the commits made there would be on no branch: such a worktree stays.
        if under_way(path) {
            return Err(Error::conflict(format!(
                "a merge, rebase, cherry-pick, revert or bisection is under way in `{}`: not \
                 removed",
                path.display()
            ))
            .with_hint("finish or abort it there; nothing is removed that holds work"));
        }
        if self.worktree_branch(path)?.is_none() && !self.head_on_a_branch(path)? {
            return Err(Error::conflict(format!(
                "`{}` is on a detached HEAD that no branch holds: not removed",
                path.display()
            ))
            .with_hint(format!(
                "keep its commits on a branch first: `git -C {} switch -c NAME`",
                path.display()
            )));
        }
        // Without `--force`, git itself refuses a worktree with modified or untracked files
        // (it runs `git status` there): the check and the removal are one step.
        let args = ["worktree", "remove", path_arg(path)?];
        let output = {
            let _one_at_a_time = self.worktree_ops();
            self.output(&self.top, &args)?
        };
        if output.status.success() {
            return Ok(());
        }
        let left = self.uncommitted(path).unwrap_or_default();
        if !left.is_empty() {
            return Err(Error::conflict(format!(
                "the worktree `{}` holds uncommitted changes ({}): not removed",
                path.display(),
                summarize(&left, 5)
            ))
            .with_hint("commit them to its branch first: nothing is removed uncommitted"));
        }
        Err(failed(&args, &output))
    }

    /// Whether `path` is a linked worktree of this repository, as git's files say both
    /// ways: a folder (not a link) whose `.git` file (not a link) names a git folder in this
    /// repository's `worktrees/`, whose `gitdir` file names this `.git` back. Git is never
    /// run in a folder that is not (a link planted in its place, another repository, a
    /// plain folder): it would act wherever that leads.
    pub fn owns(&self, path: &Path) -> bool {
        let not_link = |path: &Path| {
            std::fs::symlink_metadata(path)
                .ok()
                .filter(|m| !m.is_symlink())
        };
        if !not_link(path).is_some_and(|meta| meta.is_dir())
            || !not_link(&path.join(".git")).is_some_and(|meta| meta.is_file())
        {
            return false;
        }
        let (Some(git_dir), Some(common)) = (worktree_git_dir(path), worktree_git_dir(&self.top))
        else {
            return false;
        };
        if git_dir.parent() != Some(common.join("worktrees").as_path()) {
            return false;
        }
        std::fs::read_to_string(git_dir.join("gitdir")).is_ok_and(|text| {
            // Relative (`worktree.useRelativePaths`) to the git folder; compared resolved.
            git_dir.join(text.trim()).canonicalize().ok() == path.join(".git").canonicalize().ok()
        })
    }

    /// Whether `spare` is still the worktree that was kept: this repository's, with the same
    /// git folder.
    fn spare_unchanged(&self, spare: &Spare) -> bool {
        self.owns(&spare.path) && worktree_git_dir(&spare.path).as_ref() == Some(&spare.git_dir)
    }

    /// Whether a branch holds the commit `HEAD` is at in `worktree`.
    fn head_on_a_branch(&self, worktree: &Path) -> Result<bool> {
        let text = self.text(
            worktree,
            &[
                "for-each-ref",
                "--contains",
                "HEAD",
                "--count=1",
                "--format=%(refname)",
                "refs/heads/",
            ],
        )?;
        Ok(!text.trim().is_empty())
    }

    /// Refuse `path` unless it is one of `worktrees`, not the main one.
    fn registered(&self, path: &Path, worktrees: &[Worktree]) -> Result<()> {
        let canonical = path.canonicalize().map_err(|err| {
            Error::internal(format!("cannot resolve `{}`: {err}", path.display()))
        })?;
        let registered = worktrees.iter().any(|worktree| {
            !worktree.main
                && worktree
                    .path
                    .canonicalize()
                    .is_ok_and(|known| known == canonical)
        });
        if !registered {
            return Err(Error::conflict(format!(
                "`{}` is not a worktree of `{}`: not removed",
                path.display(),
                self.top.display()
            )));
        }
        Ok(())
    }

    /// Delete `branch` when `into` contains its tip and no worktree has it checked out.
    /// Returns whether it was deleted (a missing branch is `false`).
    pub fn delete_branch_if_merged(&self, branch: &str, into: &str) -> Result<bool> {
        let Some(tip) = self.branch_tip(branch)? else {
            return Ok(false);
        };
        let Some(into_tip) = self.branch_tip(into)? else {
            return Ok(false);
        };
        if !self.is_ancestor(&tip, &into_tip)? {
            return Ok(false);
        }
        self.delete_merged_branch(branch, &tip, &self.worktrees()?)
    }

    /// Delete `branch`, known to be merged at `tip`, unless one of `worktrees` has it checked
    /// out or it has moved from `tip` (a commit added meanwhile keeps it).
    pub fn delete_merged_branch(
        &self,
        branch: &str,
        tip: &str,
        worktrees: &[Worktree],
    ) -> Result<bool> {
        if worktrees
            .iter()
            .any(|worktree| worktree.branch.as_deref() == Some(branch))
        {
            return Ok(false);
        }
        let reference = format!("refs/heads/{branch}");
        let output = self.output(&self.top, &["update-ref", "-d", &reference, tip])?;
        Ok(output.status.success())
    }

    /// Whether `ancestor` is `descendant` or one of its ancestors.
    pub fn is_ancestor(&self, ancestor: &str, descendant: &str) -> Result<bool> {
        let output = self.output(
            &self.top,
            &["merge-base", "--is-ancestor", ancestor, descendant],
        )?;
        match output.status.code() {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => Err(failed(&["merge-base", "--is-ancestor"], &output)),
        }
    }

    /// Predict the merge of `theirs` into `ours` (`git merge-tree --write-tree`): the tree
    /// it would make, or the files that conflict. Writes objects only; no branch, index or
    /// working tree changes.
    pub fn predict_merge(&self, ours: &str, theirs: &str) -> Result<MergePrediction> {
        let args = [
            "merge-tree",
            "--write-tree",
            "-z",
            "--name-only",
            "--no-messages",
            ours,
            theirs,
        ];
        let output = self.output(&self.top, &args)?;
        let mut fields = output.stdout.split('\0');
        let tree = fields.next().unwrap_or_default().trim().to_owned();
        match output.status.code() {
            Some(0) if !tree.is_empty() => Ok(MergePrediction::Clean { tree }),
            Some(1) => {
                let mut files: Vec<String> = fields
                    .filter(|file| !file.is_empty())
                    .map(str::to_owned)
                    .collect();
                files.dedup();
                Ok(MergePrediction::Conflict { files })
            }
            _ => Err(failed(&["merge-tree", "--write-tree"], &output)),
        }
    }

    /// Make a commit of `tree` with `parents` (`git commit-tree`), on no branch.
    pub fn commit_tree(&self, tree: &str, parents: &[&str], message: &str) -> Result<String> {
        let mut args = self.identity();
        args.extend(["commit-tree", tree]);
        for parent in parents {
            args.extend(["-p", parent]);
        }
        args.extend(["-m", message]);
        Ok(self.text(&self.top, &args)?.trim().to_owned())
    }

    /// Move `branch` from `old` to `new` if it is still at `old` (compare-and-swap). Returns
    /// `false` when it had moved meanwhile (nothing changed then).
    pub fn advance_branch(&self, branch: &str, new: &str, old: &str, why: &str) -> Result<bool> {
        let reference = format!("refs/heads/{branch}");
        let output = self.output(&self.top, &["update-ref", "-m", why, &reference, new, old])?;
        if output.status.success() {
            return Ok(true);
        }
        match self.branch_tip(branch)? {
            Some(now) if now != old => Ok(false),
            _ => Err(failed(&["update-ref", &reference], &output)),
        }
    }

    /// `git diff` of what `branch` adds since it left `into` (`into...branch`), with a
    /// summary of the files first; cut at [`MAX_OUTPUT_BYTES`] (the flag says so).
    pub fn diff(&self, into: &str, branch: &str) -> Result<(String, bool)> {
        let range = format!("{into}...{branch}");
        let output = run_git(
            &self.top,
            &[
                "diff",
                "--no-color",
                "--no-ext-diff",
                "--stat",
                "--patch",
                &range,
            ],
            GIT_LIMIT,
            MAX_OUTPUT_BYTES,
        )?;
        if !output.status.success() {
            return Err(failed(&["diff", &range], &output));
        }
        Ok((output.stdout, output.truncated))
    }

    /// How many commits `a` has that `b` has not, and the other way round.
    pub fn ahead_behind(&self, a: &str, b: &str) -> Result<(u64, u64)> {
        let range = format!("{a}...{b}");
        let text = self.text(
            &self.top,
            &["rev-list", "--left-right", "--count", &range, "--"],
        )?;
        let mut counts = text
            .split_whitespace()
            .map(|n| n.parse::<u64>().unwrap_or(0));
        Ok((counts.next().unwrap_or(0), counts.next().unwrap_or(0)))
    }

    /// The branches under `prefix` (such as `orchestron/`), with their tips.
    pub fn branches_under(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        let pattern = format!("refs/heads/{prefix}");
        let text = self.text(
            &self.top,
            &[
                "for-each-ref",
                "--format=%(refname:strip=2) %(objectname)",
                &pattern,
            ],
        )?;
        Ok(text
            .lines()
            .filter_map(|line| line.rsplit_once(' '))
            .map(|(name, tip)| (name.to_owned(), tip.to_owned()))
            .collect())
    }

    /// The best common ancestor of the commits `a` and `b`, `None` when they share no
    /// history.
    pub fn merge_base(&self, a: &str, b: &str) -> Result<Option<String>> {
        let output = self.output(&self.top, &["merge-base", a, b])?;
        match output.status.code() {
            Some(0) => Ok(Some(output.stdout.trim().to_owned())),
            Some(1) => Ok(None),
            _ => Err(failed(&["merge-base"], &output)),
        }
    }

    /// The files that differ between the commits `from` and `to`.
    pub fn changed_files(&self, from: &str, to: &str) -> Result<Vec<String>> {
        let text = self.text(
            &self.top,
            &["diff", "--name-only", "-z", "--no-renames", from, to],
        )?;
        Ok(text
            .split('\0')
            .filter(|file| !file.is_empty())
            .map(str::to_owned)
            .collect())
    }

    /// Forget worktrees whose folders are gone (`git worktree prune`).
    pub fn prune_worktrees(&self) -> Result<()> {
        let _one_at_a_time = self.worktree_ops();
        self.text(&self.top, &["worktree", "prune"])?;
        Ok(())
    }

    /// The lock every change to the worktree list holds (a poisoned lock is still a lock).
    fn worktree_ops(&self) -> std::sync::MutexGuard<'_, ()> {
        self.worktree_ops
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Run the project's `command` with `sh -c` in `dir` (a worker's worktree), in its own
    /// process group with git's repository variables removed, killed with its group after
    /// `limit`, or as soon as `cancel` is set; its output's tail is kept.
    pub fn run_shell(
        &self,
        dir: &Path,
        command: &str,
        limit: Duration,
        cancel: Option<&AtomicBool>,
    ) -> Result<CommandRun> {
        let started = Instant::now();
        let mut shell = Command::new("sh");
        shell.arg("-c").arg(command).current_dir(dir);
        for name in REPOSITORY_VARIABLES {
            shell.env_remove(name);
        }
        let output = run_bounded(
            shell,
            limit,
            CommandRun::TAIL_BYTES,
            Keep::Tail,
            &format!("`{command}`"),
            cancel,
        )?;
        let mut tail = output.stdout;
        if !output.stderr.is_empty() {
            if !tail.is_empty() && !tail.ends_with('\n') {
                tail.push('\n');
            }
            tail.push_str(&output.stderr);
        }
        Ok(CommandRun {
            code: output.status.code(),
            timed_out: output.timed_out,
            cancelled: output.cancelled,
            tail: tail_of(&tail, CommandRun::TAIL_BYTES),
            took: started.elapsed(),
        })
    }

    /// The commit `revision` names in the main worktree's repository.
    pub fn commit_of(&self, revision: &str) -> Result<String> {
        self.commit_of_in(&self.top, revision)
    }

    fn commit_of_in(&self, dir: &Path, revision: &str) -> Result<String> {
        let spec = format!("{revision}^{{commit}}");
        Ok(self
            .text(dir, &["rev-parse", "--verify", "-q", &spec])?
            .trim()
            .to_owned())
    }

    /// The `-c` options of a commit: none when git knows who commits, else Orchestron's.
    fn identity(&self) -> Vec<&'static str> {
        let known = *self.has_identity.get_or_init(|| {
            self.output(&self.top, &["var", "GIT_COMMITTER_IDENT"])
                .is_ok_and(|output| output.status.success())
        });
        if known {
            Vec::new()
        } else {
            FALLBACK_IDENTITY.to_vec()
        }
    }

    /// Run `git -C dir args`, failing unless it exits 0; returns its stdout.
    fn text(&self, dir: &Path, args: &[&str]) -> Result<String> {
        let output = self.output(dir, args)?;
        if !output.status.success() {
            return Err(failed(args, &output));
        }
        Ok(output.stdout)
    }

    /// Run `git -C dir args`, whatever its exit code.
    fn output(&self, dir: &Path, args: &[&str]) -> Result<GitOutput> {
        run_git(dir, args, GIT_LIMIT, MAX_OUTPUT_BYTES)
    }
}

/// Refuse `branch` when one of `worktrees` has it checked out.
fn refuse_checked_out_among(branch: &str, what: &str, worktrees: &[Worktree]) -> Result<()> {
    if let Some(worktree) = worktrees
        .iter()
        .find(|worktree| worktree.branch.as_deref() == Some(branch))
    {
        return Err(Error::conflict(format!(
            "{what} `{branch}` is checked out in `{}`",
            worktree.path.display()
        ))
        .with_hint(
            "workers never move a checked-out branch: name another with `--into`, or \
                 check out something else there",
        ));
    }
    Ok(())
}

/// The old value `update-ref` reads as "no such reference yet" (an empty string, which holds
/// for SHA-1 and SHA-256 repositories alike).
const MUST_NOT_EXIST: &str = "";

/// What one `git` call did.
#[derive(Debug)]
struct GitOutput {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    truncated: bool,
}

fn run_git(dir: &Path, args: &[&str], limit: Duration, max: usize) -> Result<GitOutput> {
    let mut git = Command::new("git");
    git.arg("-C").arg(dir).args(args);
    for name in REPOSITORY_VARIABLES {
        git.env_remove(name);
    }
    // Never ask a person anything: no terminal prompt, no pager, no editor.
    git.env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_PAGER", "cat")
        .env("GIT_EDITOR", "true")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .env("LC_ALL", "C");
    let what = format!("`git {}`", args.first().unwrap_or(&""));
    let output = run_bounded(git, limit, max, Keep::Head, &what, None)?;
    if output.timed_out {
        return Err(Error::busy(format!(
            "`git {}` in `{}` took longer than {}s and was stopped",
            args.join(" "),
            dir.display(),
            limit.as_secs()
        )));
    }
    Ok(GitOutput {
        status: output.status,
        stdout: output.stdout,
        stderr: output.stderr,
        truncated: output.truncated,
    })
}

/// How long asking git whether it tracks a file may take.
const TRACKS_LIMIT: Duration = Duration::from_secs(20);

/// Whether git tracks `file` (a path relative to `dir`) in `dir`'s repository: `git
/// ls-files --error-unmatch`, with git's file-system monitor off (no program of the
/// repository's configuration runs). `false` outside a work tree (no repository, inside a
/// `.git` folder); an error when git cannot tell (it cannot start, or refuses the
/// repository).
pub fn tracks(dir: &Path, file: &str) -> Result<bool> {
    let args = [
        "-c",
        "core.fsmonitor=false",
        "ls-files",
        "--error-unmatch",
        "--",
        file,
    ];
    let output = run_git(dir, &args, TRACKS_LIMIT, 64 * 1024)?;
    match output.status.code() {
        Some(0) => Ok(true),
        Some(1) => Ok(false),
        _ if output.stderr.contains("not a git repository")
            || output.stderr.contains("must be run in a work tree") =>
        {
            Ok(false)
        }
        _ => Err(failed(&["ls-files", "--error-unmatch", file], &output)),
    }
}

/// The error of a `git` call that failed.
fn failed(args: &[&str], output: &GitOutput) -> Error {
    Error::internal(format!(
        "`git {}` failed ({}): {}",
        args.join(" "),
        output.status,
        first_line(&output.stderr)
    ))
}

fn first_line(text: &str) -> &str {
    text.lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("no message")
        .trim()
}

/// Whether a merge is under way in `worktree` (its `MERGE_HEAD` exists).
fn merging(worktree: &Path) -> bool {
    worktree_git_dir(worktree).is_some_and(|dir| dir.join("MERGE_HEAD").exists())
}

/// Whether a merge, rebase, cherry-pick, revert or bisection is under way in `worktree`
/// (or its git folder cannot be read): such a worktree is never kept as a spare.
fn under_way(worktree: &Path) -> bool {
    const STATES: &[&str] = &[
        "MERGE_HEAD",
        "rebase-merge",
        "rebase-apply",
        "CHERRY_PICK_HEAD",
        "REVERT_HEAD",
        "BISECT_LOG",
    ];
    worktree_git_dir(worktree).is_none_or(|dir| STATES.iter().any(|state| dir.join(state).exists()))
}

impl Spare {
    /// Whether its folder is gone (nothing, not even a link, is there).
    fn gone(&self) -> bool {
        std::fs::symlink_metadata(&self.path).is_err()
    }
}

/// The error for a spare whose folder was replaced since it was kept.
fn replaced(path: &Path) -> Error {
    Error::conflict(format!(
        "the spare worktree `{}` was replaced since it was kept (a symbolic link or another \
         folder): left as it is",
        path.display()
    ))
    .with_hint("see what is there; `git worktree list` shows where git thinks it is")
}

/// Whether `git_dir`, a worktree's git folder, holds only [`SPARE_GIT_FILES`], with no
/// reference under `refs/` and only `HEAD`'s reflog under `logs/`.
fn only_spare_files(git_dir: &Path) -> bool {
    let names = |dir: &Path| -> Option<Vec<String>> {
        std::fs::read_dir(dir)
            .ok()?
            .map(|entry| {
                entry
                    .ok()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
            })
            .collect()
    };
    let Some(top) = names(git_dir) else {
        return false;
    };
    top.iter()
        .all(|name| SPARE_GIT_FILES.contains(&name.as_str()))
        && names(&git_dir.join("refs")).is_none_or(|refs| refs.is_empty())
        && names(&git_dir.join("logs")).is_none_or(|logs| logs.iter().all(|name| name == "HEAD"))
}

/// The git folder of `worktree`, read from git's files: its `.git` file names it (a main
/// worktree's `.git` is the folder itself).
fn worktree_git_dir(worktree: &Path) -> Option<PathBuf> {
    let dot_git = worktree.join(".git");
    let dir = match std::fs::read_to_string(&dot_git) {
        // Relative (`worktree.useRelativePaths`) to the worktree.
        Ok(text) => worktree.join(text.trim().strip_prefix("gitdir:")?.trim()),
        Err(_) => dot_git,
    };
    Some(dir.canonicalize().unwrap_or(dir))
}

/// A path as an argument, refusing one that is not UTF-8 or that git would read as an
/// option.
fn path_arg(path: &Path) -> Result<&str> {
    let text = path
        .to_str()
        .ok_or_else(|| Error::invalid(format!("`{}` is not UTF-8", path.display())))?;
    if text.starts_with('-') {
        return Err(Error::invalid(format!("`{text}` starts with `-`")));
    }
    Ok(text)
}

/// The first `most` entries of a list, and how many more.
pub fn summarize(list: &[String], most: usize) -> String {
    let shown: Vec<&str> = list.iter().take(most).map(String::as_str).collect();
    let mut text = shown.join(", ");
    if list.len() > most {
        text.push_str(&format!(" and {} more", list.len() - most));
    }
    text
}

/// The end of `text`, at most `max` bytes, cut at a character.
fn tail_of(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &text[start..])
}

/// Parse `git worktree list --porcelain -z`.
fn parse_worktrees(text: &str) -> Vec<Worktree> {
    let mut list = Vec::new();
    let mut current: Option<Worktree> = None;
    for field in text.split('\0') {
        if field.is_empty() {
            list.extend(current.take());
            continue;
        }
        let (key, value) = field.split_once(' ').unwrap_or((field, ""));
        if key == "worktree" {
            list.extend(current.take());
            current = Some(Worktree {
                path: PathBuf::from(value),
                head: None,
                branch: None,
                main: list.is_empty(),
                prunable: false,
                locked: false,
            });
            continue;
        }
        let Some(worktree) = current.as_mut() else {
            continue;
        };
        match key {
            "HEAD" => worktree.head = Some(value.to_owned()),
            "branch" => {
                worktree.branch = Some(value.strip_prefix("refs/heads/").unwrap_or(value).into());
            }
            "prunable" => worktree.prunable = true,
            "locked" => worktree.locked = true,
            _ => {}
        }
    }
    list.extend(current);
    list
}

/// Which end of a long output is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keep {
    Head,
    Tail,
}

/// What a command run within bounds printed and how it ended.
#[derive(Debug)]
struct Bounded {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    truncated: bool,
    timed_out: bool,
    cancelled: bool,
}

/// Run `command` with no stdin, in its own process group, reading its output (at most `max`
/// bytes of each stream kept, the head or the tail), and kill its whole group when it runs
/// past `limit` or once `cancel` is set. A process it left behind holding its output open is
/// killed too, after the command itself has ended.
fn run_bounded(
    mut command: Command,
    limit: Duration,
    max: usize,
    keep: Keep,
    what: &str,
    cancel: Option<&AtomicBool>,
) -> Result<Bounded> {
    use std::os::unix::process::CommandExt as _;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = command
        .spawn()
        .map_err(|err| Error::internal(format!("cannot start {what}: {err}")))?;
    let pid = child.id();
    let (out_tx, out_rx) = mpsc::channel();
    for (which, stream) in [
        (
            0,
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ),
        (
            1,
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ),
    ] {
        let out_tx = out_tx.clone();
        std::thread::spawn(move || {
            let read = stream.map(|stream| read_capped(stream, max, keep));
            let _ = out_tx.send((which, read.unwrap_or_default()));
        });
    }
    drop(out_tx);
    let (status_tx, status_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = status_tx.send(child.wait());
    });
    let deadline = Instant::now() + limit;
    let cancelled = || cancel.is_some_and(|flag| flag.load(Ordering::SeqCst));
    let (status, timed_out, was_cancelled) = loop {
        let step = deadline
            .saturating_duration_since(Instant::now())
            .min(CANCEL_POLL);
        match status_rx.recv_timeout(step) {
            Ok(status) => break (status, false, false),
            Err(_) if cancelled() || Instant::now() >= deadline => {
                kill_group(pid);
                let status = status_rx
                    .recv()
                    .unwrap_or_else(|_| Err(std::io::Error::other("the waiter is gone")));
                let stopped = cancelled();
                break (status, !stopped, stopped);
            }
            Err(_) => {}
        }
    };
    let status = status.map_err(|err| Error::internal(format!("cannot wait for {what}: {err}")))?;
    let mut outputs: [(Vec<u8>, bool); 2] = Default::default();
    let deadline = Instant::now() + Duration::from_secs(2);
    for _ in 0..2 {
        let wait = deadline.saturating_duration_since(Instant::now());
        match out_rx.recv_timeout(wait) {
            Ok((which, read)) => outputs[which] = read,
            Err(_) => {
                // Something it started still holds its output open: stop the group.
                kill_group(pid);
                if let Ok((which, read)) = out_rx.recv_timeout(Duration::from_secs(2)) {
                    outputs[which] = read;
                }
            }
        }
    }
    let [(stdout, cut_out), (stderr, cut_err)] = outputs;
    Ok(Bounded {
        status,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        truncated: cut_out || cut_err,
        timed_out,
        cancelled: was_cancelled,
    })
}

/// How often a bounded command looks at its `cancel` flag.
const CANCEL_POLL: Duration = Duration::from_millis(100);

/// Read a stream to its end, keeping at most `max` bytes: the first or the last.
fn read_capped(mut stream: impl std::io::Read, max: usize, keep: Keep) -> (Vec<u8>, bool) {
    let mut kept = Vec::new();
    let mut cut = false;
    let mut buffer = [0u8; 16 * 1024];
    loop {
        let read = match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        match keep {
            Keep::Head => {
                let room = max.saturating_sub(kept.len());
                kept.extend_from_slice(&buffer[..read.min(room)]);
                cut |= read > room;
            }
            Keep::Tail => {
                kept.extend_from_slice(&buffer[..read]);
                if kept.len() > 2 * max {
                    kept.drain(..kept.len() - max);
                    cut = true;
                }
            }
        }
    }
    if keep == Keep::Tail && kept.len() > max {
        kept.drain(..kept.len() - max);
        cut = true;
    }
    (kept, cut)
}

/// SIGKILL to the process group `pid` leads (made with `process_group(0)`).
fn kill_group(pid: u32) {
    if let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}

#[cfg(test)]
mod tests {
    use super::super::train::tests::sh_git as sh;
    use super::*;

    /// A repository with one commit (`shared.txt`) and a `.gitignore` ignoring `build/`.
    fn repo() -> (tempfile::TempDir, Git) {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        std::fs::create_dir(&repo).unwrap();
        sh(&repo, &["init", "-q", "-b", "main"]);
        std::fs::write(repo.join("shared.txt"), "one\n").unwrap();
        std::fs::write(repo.join(".gitignore"), "build/\n.orchestron/\n").unwrap();
        sh(&repo, &["add", "-A"]);
        sh(&repo, &["commit", "-q", "-m", "first"]);
        let git = Git::open(&repo).unwrap();
        (dir, git)
    }

    /// `git -C dir args`'s exit code.
    fn sh_status(dir: &Path, args: &[&str]) -> i32 {
        super::super::train::tests::git_output(dir, args)
            .status
            .code()
            .unwrap_or(-1)
    }

    /// A worktree `dir/NAME` on a new branch `orchestron/NAME` from `main`, spare or new.
    fn checkout(git: &Git, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        git.checkout_worktree(&path, &format!("orchestron/{name}"), "main")
            .unwrap();
        path
    }

    fn assert_on(git: &Git, worktree: &Path, branch: &str) {
        assert_eq!(
            git.worktree_branch(worktree).unwrap().as_deref(),
            Some(branch)
        );
    }

    fn commit_file(dir: &Path, name: &str) {
        std::fs::write(dir.join(name), name).unwrap();
        sh(dir, &["add", "-A"]);
        sh(dir, &["commit", "-q", "-m", name]);
    }

    /// The linked worktrees' folder names, sorted.
    fn linked(git: &Git) -> Vec<String> {
        let mut names: Vec<String> = git
            .worktrees()
            .unwrap()
            .into_iter()
            .filter(|worktree| !worktree.main)
            .map(|worktree| {
                worktree
                    .path
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_released_worktree_is_kept_clean_and_used_for_the_next_item() {
        let (_dir, git, dir) = spare_repo(1);
        let into = "main";
        let a = dir.join("T-a");
        git.checkout_worktree(&a, "orchestron/T-a", into).unwrap();
        commit_file(&a, "a.txt");
        // What the item left untracked-but-ignored (build output) and its branch's file.
        std::fs::create_dir_all(a.join("build")).unwrap();
        std::fs::write(a.join("build/out"), "x").unwrap();
        git.release_worktree(&a).unwrap();
        assert!(!a.exists());
        assert_eq!(linked(&git), [".spare-1"]);
        // Kept on a detached HEAD: its branch is free (deletable, checkable out elsewhere).
        assert_eq!(git.worktree_branch(&dir.join(".spare-1")).unwrap(), None);
        assert!(
            git.branches_checked_out()
                .unwrap()
                .iter()
                .all(|b| b != "orchestron/T-a")
        );

        // The next item gets the spare, as clean as a new checkout of `into`.
        let b = dir.join("T-b");
        git.checkout_worktree(&b, "orchestron/T-b", into).unwrap();
        assert_eq!(linked(&git), ["T-b"]);
        assert_eq!(
            git.worktree_branch(&b).unwrap().as_deref(),
            Some("orchestron/T-b")
        );
        assert_eq!(
            sh(&b, &["rev-parse", "HEAD"]),
            sh(git.top(), &["rev-parse", "main"])
        );
        assert!(
            !b.join("a.txt").exists(),
            "the last item's branch is not in it"
        );
        assert!(!b.join("build").exists(), "ignored files are removed");
        assert!(b.join("shared.txt").exists());
        assert!(git.uncommitted(&b).unwrap().is_empty());

        // A retry continues from its existing branch, with its commits.
        git.release_worktree(&b).unwrap();
        let again = dir.join("T-a");
        git.checkout_worktree(&again, "orchestron/T-a", into)
            .unwrap();
        assert_eq!(linked(&git), ["T-a"]);
        assert!(again.join("a.txt").exists());

        // The run ends: no spare is left.
        git.release_worktree(&again).unwrap();
        assert_eq!(linked(&git), [".spare-3"]);
        git.remove_spares().unwrap();
        assert!(linked(&git).is_empty());
        assert!(!dir.join(".spare-3").exists());
    }

    #[test]
    fn a_worktree_with_uncommitted_work_is_never_kept_nor_removed() {
        let (_dir, git, dir) = spare_repo(2);
        let a = checkout(&git, &dir, "T-a");
        std::fs::write(a.join("left.txt"), "work").unwrap();
        let err = git.release_worktree(&a).unwrap_err();
        assert!(err.message().contains("uncommitted"), "{}", err.message());
        assert!(a.join("left.txt").exists());
        assert_eq!(linked(&git), ["T-a"]);
        assert_on(&git, &a, "orchestron/T-a");
    }

    #[test]
    fn spares_are_kept_up_to_the_cap_and_none_without_spares() {
        let (_dir, plain) = repo();
        let dir = plain.top().join(".orchestron/worktrees");
        std::fs::create_dir_all(&dir).unwrap();
        // Without spares, a release removes.
        let a = dir.join("T-a");
        plain
            .checkout_worktree(&a, "orchestron/T-a", "main")
            .unwrap();
        plain.release_worktree(&a).unwrap();
        assert!(linked(&plain).is_empty());
        // With a cap of one, the second release removes.
        let git = plain.with_spares(&dir, 1);
        let (a, b) = (dir.join("T-a"), dir.join("T-b"));
        git.checkout_worktree(&a, "orchestron/T-a", "main").unwrap();
        git.checkout_worktree(&b, "orchestron/T-b", "main").unwrap();
        git.release_worktree(&a).unwrap();
        git.release_worktree(&b).unwrap();
        assert_eq!(linked(&git).len(), 1);
        // A clone shares them.
        git.clone().remove_spares().unwrap();
        assert!(linked(&git).is_empty());
        // A spare whose branch was deleted meanwhile is still usable, and a spare that
        // cannot be used (its folder is gone) is dropped for a new worktree.
        let c = checkout(&git, &dir, "T-c");
        git.release_worktree(&c).unwrap();
        std::fs::remove_dir_all(dir.join(linked(&git)[0].clone())).unwrap();
        checkout(&git, &dir, "T-d");
        assert_eq!(linked(&git), ["T-d"]);
    }

    /// A repository keeping up to `cap` spares, with the worktrees' folder made; the folder.
    fn spare_repo(cap: usize) -> (tempfile::TempDir, Git, PathBuf) {
        let (dir, git) = repo();
        let worktrees = git.top().join(".orchestron/worktrees");
        std::fs::create_dir_all(&worktrees).unwrap();
        let git = git.with_spares(&worktrees, cap);
        (dir, git, worktrees)
    }

    #[test]
    fn a_spare_replaced_by_a_link_is_never_touched_and_is_reported() {
        let (dir, git, worktrees) = spare_repo(1);
        let a = checkout(&git, &worktrees, "T-a");
        git.release_worktree(&a).unwrap();
        // Someone swaps the spare for a link to another repository.
        let victim = dir.path().join("victim");
        std::fs::create_dir(&victim).unwrap();
        sh(&victim, &["init", "-q", "-b", "main"]);
        commit_file(&victim, "kept.txt");
        std::fs::write(victim.join("untracked-precious"), "mine").unwrap();
        let spare = worktrees.join(".spare-1");
        std::fs::rename(&spare, dir.path().join("held")).unwrap();
        std::os::unix::fs::symlink(&victim, &spare).unwrap();

        let b = checkout(&git, &worktrees, "T-b");
        assert!(b.join(".git").is_file(), "a new worktree");
        assert!(victim.join("untracked-precious").exists(), "never cleaned");
        assert_eq!(sh(&victim, &["symbolic-ref", "--short", "HEAD"]), "main");
        let err = git.remove_spares().unwrap_err();
        assert!(err.message().contains("was replaced"), "{}", err.message());
        assert!(
            std::fs::symlink_metadata(&spare).unwrap().is_symlink(),
            "left as it is"
        );
    }

    #[test]
    fn a_worktree_with_hidden_index_entries_or_its_own_git_settings_is_not_kept() {
        let (_dir, git, worktrees) = spare_repo(1);
        let a = worktrees.join("T-a");
        for how in [
            &["update-index", "--assume-unchanged", ".gitignore"][..],
            &["update-index", "--skip-worktree", "shared.txt"][..],
            &["sparse-checkout", "set", "--no-cone", "/.gitignore"][..],
            &["config", "--worktree", "core.autocrlf", "true"][..],
        ] {
            git.checkout_worktree(&a, "orchestron/T-a", "main").unwrap();
            if how[0] == "config" {
                sh(git.top(), &["config", "extensions.worktreeConfig", "true"]);
            }
            sh(&a, how);
            git.release_worktree(&a).unwrap();
            assert!(linked(&git).is_empty(), "{how:?}: removed, not kept");
            assert!(!worktrees.join(".spare-1").exists(), "{how:?}");
        }
    }

    #[test]
    fn a_spare_forgets_its_last_items_history() {
        let (_dir, git, worktrees) = spare_repo(1);
        let a = checkout(&git, &worktrees, "T-a");
        commit_file(&a, "secret.txt");
        sh(&a, &["reset", "-q", "--hard", "HEAD~1"]);
        git.release_worktree(&a).unwrap();
        let b = checkout(&git, &worktrees, "T-b");
        assert_eq!(linked(&git), ["T-b"], "the spare was used");
        let reflog = sh(&b, &["reflog", "--format=%s"]);
        assert!(!reflog.contains("secret"), "{reflog}");
        assert!(sh_status(&b, &["rev-parse", "--verify", "-q", "ORIG_HEAD"]) != 0);
        assert!(sh_status(&b, &["rev-parse", "--verify", "-q", "HEAD@{1}"]) != 0);
    }

    #[test]
    fn a_worktree_a_process_still_works_in_is_not_kept() {
        let (_dir, git, worktrees) = spare_repo(1);
        let a = checkout(&git, &worktrees, "T-a");
        let mut left = Command::new("sleep")
            .arg("30")
            .current_dir(&a)
            .spawn()
            .unwrap();
        git.release_worktree(&a).unwrap();
        let _ = left.kill();
        let _ = left.wait();
        assert!(linked(&git).is_empty(), "removed, not kept");
        assert!(!worktrees.join(".spare-1").exists());
    }

    #[test]
    fn a_worktree_that_cannot_move_stays_on_its_branch() {
        let (_dir, git, worktrees) = spare_repo(1);
        let a = checkout(&git, &worktrees, "T-a");
        // A repository inside it, committed as a gitlink: git neither moves nor removes it.
        let nested = a.join("vendor/foo");
        std::fs::create_dir_all(&nested).unwrap();
        sh(&nested, &["init", "-q", "-b", "main"]);
        commit_file(&nested, "n.txt");
        sh(&a, &["add", "-A"]);
        sh(&a, &["commit", "-q", "-m", "vendored"]);
        assert!(git.release_worktree(&a).is_err());
        assert_on(&git, &a, "orchestron/T-a");
    }

    #[test]
    fn a_worktree_whose_commits_are_on_no_branch_is_never_removed() {
        let (_dir, git) = repo();
        let a = git.top().join(".orchestron/worktrees/T-a");
        git.add_worktree(&a, "orchestron/T-a", "main").unwrap();
        sh(&a, &["switch", "-q", "--detach"]);
        commit_file(&a, "precious.txt");
        let err = git.remove_worktree(&a).unwrap_err();
        assert!(err.message().contains("detached HEAD"), "{}", err.message());
        assert!(a.join("precious.txt").exists());
        // Once a branch holds it, it goes.
        sh(&a, &["switch", "-q", "-c", "keep"]);
        sh(&a, &["switch", "-q", "--detach"]);
        git.remove_worktree(&a).unwrap();
        // Nor in the middle of a rebase.
        git.add_worktree(&a, "orchestron/T-b", "main").unwrap();
        commit_file(&a, "one.txt");
        let _ = sh_status(&a, &["rebase", "-q", "-x", "false", "HEAD~1"]);
        let err = git.remove_worktree(&a).unwrap_err();
        assert!(err.message().contains("under way"), "{}", err.message());
    }

    #[test]
    fn a_spare_with_relative_paths_is_kept_and_used() {
        let (_dir, git, worktrees) = spare_repo(1);
        let a = checkout(&git, &worktrees, "T-a");
        commit_file(&a, "a.txt");
        // What git writes with `worktree.useRelativePaths`: each side relative to itself
        // (this git reads a relative `.git` file; its own `gitdir` is checked alone below).
        let git_dir = worktree_git_dir(&a).unwrap();
        std::fs::write(a.join(".git"), "gitdir: ../../../.git/worktrees/T-a\n").unwrap();
        assert!(git.owns(&a));
        let absolute = std::fs::read_to_string(git_dir.join("gitdir")).unwrap();
        std::fs::write(
            git_dir.join("gitdir"),
            "../../../.orchestron/worktrees/T-a/.git\n",
        )
        .unwrap();
        assert!(git.owns(&a));
        std::fs::write(git_dir.join("gitdir"), absolute).unwrap();
        git.release_worktree(&a).unwrap();
        assert_eq!(linked(&git), [".spare-1"]);
        assert!(
            !git_dir.join("logs/HEAD").exists(),
            "its reflog is forgotten"
        );
        checkout(&git, &worktrees, "T-b");
        assert_eq!(linked(&git), ["T-b"], "the spare was used");
        git.remove_spares().unwrap();
    }

    #[test]
    fn commits_on_no_branch_are_kept_with_reftable_too() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        std::fs::create_dir(&repo).unwrap();
        // Git 2.45 or later (reftable).
        sh(
            &repo,
            &["init", "-q", "--ref-format=reftable", "-b", "main"],
        );
        commit_file(&repo, "first.txt");
        let git = Git::open(&repo).unwrap();
        let a = repo.join(".orchestron/worktrees/T-a");
        git.add_worktree(&a, "orchestron/T-a", "main").unwrap();
        sh(&a, &["switch", "-q", "--detach"]);
        commit_file(&a, "precious.txt");
        let err = git.remove_worktree(&a).unwrap_err();
        assert!(err.message().contains("detached HEAD"), "{}", err.message());
        assert!(a.join("precious.txt").exists());
    }

    #[test]
    fn a_stale_index_lock_is_removed_once_nothing_works_in_the_worktree() {
        let (_dir, git) = repo();
        let a = git.top().join(".orchestron/worktrees/T-a");
        git.add_worktree(&a, "orchestron/T-a", "main").unwrap();
        std::fs::write(a.join("left.txt"), "work").unwrap();
        let lock = worktree_git_dir(&a).unwrap().join("index.lock");
        std::fs::write(&lock, "").unwrap();
        assert!(git.commit_all(&a, "left").unwrap().is_some());
        assert!(!lock.exists());
    }

    #[test]
    fn nothing_is_committed_in_a_folder_that_is_not_a_worktree() {
        let (_dir, git) = repo();
        let head = sh(git.top(), &["rev-parse", "HEAD"]);
        std::fs::write(git.top().join("mine.txt"), "the user's\n").unwrap();
        let plain = git.top().join(".orchestron/worktrees/T-a");
        std::fs::create_dir_all(&plain).unwrap();
        let err = git.commit_all(&plain, "work left").unwrap_err();
        assert!(
            err.message().contains("not a worktree"),
            "{}",
            err.message()
        );
        assert_eq!(sh(git.top(), &["rev-parse", "HEAD"]), head);
        // Nor in another repository's folder there.
        sh(&plain, &["init", "-q", "-b", "main"]);
        commit_file(&plain, "theirs.txt");
        std::fs::write(plain.join("wip.txt"), "theirs\n").unwrap();
        let theirs = sh(&plain, &["rev-parse", "HEAD"]);
        assert!(git.commit_all(&plain, "work left").is_err());
        assert_eq!(sh(&plain, &["rev-parse", "HEAD"]), theirs);
        assert!(!git.owns(&plain));
    }

    #[test]
    fn worktree_list_is_parsed() {
        let text = "worktree /r\0HEAD abc\0branch refs/heads/main\0\0\
                    worktree /r/.orchestron/worktrees/T-1\0HEAD def\0branch refs/heads/orchestron/T-1\0\0\
                    worktree /gone\0HEAD 123\0detached\0prunable gitdir file points to non-existent location\0\0";
        let list = parse_worktrees(text);
        assert_eq!(list.len(), 3);
        assert!(list[0].main && !list[1].main);
        assert_eq!(list[0].branch.as_deref(), Some("main"));
        assert_eq!(list[1].branch.as_deref(), Some("orchestron/T-1"));
        assert_eq!(list[2].branch, None);
        assert!(list[2].prunable);
    }

    #[test]
    fn tails_are_cut_at_characters() {
        assert_eq!(tail_of("abc", 5), "abc");
        assert_eq!(tail_of("aéé", 3), "…é");
        let (kept, cut) = read_capped(&b"0123456789"[..], 4, Keep::Tail);
        assert_eq!((kept.as_slice(), cut), (&b"6789"[..], true));
        let (kept, cut) = read_capped(&b"0123456789"[..], 4, Keep::Head);
        assert_eq!((kept.as_slice(), cut), (&b"0123"[..], true));
    }

    #[test]
    fn summaries_count_the_rest() {
        let list: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        assert_eq!(summarize(&list, 2), "a, b and 1 more");
        assert_eq!(summarize(&list, 3), "a, b, c");
    }
}
