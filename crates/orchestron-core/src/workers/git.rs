//! Git for the workers.
//!
//! STAND-IN until h13-train merges: the calls the supervisor makes, done plainly.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};

/// The repository's main worktree.
#[derive(Debug, Clone)]
pub struct Git {
    top: PathBuf,
}

// STAND-IN until h13-train merges
fn run(dir: &Path, args: &[&str]) -> Result<(bool, String, String)> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=Orchestron",
            "-c",
            "user.email=orchestron@localhost",
        ])
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .map_err(|err| Error::internal(format!("cannot run `git`: {err}")))?;
    Ok((
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).trim().to_owned(),
        String::from_utf8_lossy(&output.stderr).trim().to_owned(),
    ))
}

// STAND-IN until h13-train merges
pub(crate) fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let (ok, out, err) = run(dir, args)?;
    if !ok {
        return Err(Error::internal(format!(
            "`git {}` failed: {err}",
            args.join(" ")
        )));
    }
    Ok(out)
}

// STAND-IN until h13-train merges
impl Git {
    pub fn open(project_root: &Path) -> Result<Git> {
        match run(project_root, &["rev-parse", "--show-toplevel"])? {
            (true, top, _) => Ok(Git { top: top.into() }),
            _ => Err(Error::invalid(format!(
                "`{}` is not a git repository",
                project_root.display()
            ))
            .with_hint("workers need a git repository: `git init`, then commit")),
        }
    }

    pub fn top(&self) -> &Path {
        &self.top
    }

    pub fn checked_out_branch(&self) -> Result<Option<String>> {
        let (ok, out, _) = run(&self.top, &["symbolic-ref", "--quiet", "--short", "HEAD"])?;
        Ok(ok.then_some(out))
    }

    pub fn ensure_integration(&self, name: &str) -> Result<String> {
        if !run(&self.top, &["check-ref-format", "--branch", name])?.0 {
            return Err(Error::invalid(format!(
                "`{name}` is not a valid branch name"
            )));
        }
        if self.checked_out_branch()?.as_deref() == Some(name) {
            return Err(Error::invalid(format!(
                "`{name}` is the branch checked out in `{}`",
                self.top.display()
            ))
            .with_hint("workers never touch your checked-out branch: name another with `--into`"));
        }
        let reference = format!("refs/heads/{name}");
        if let (true, tip, _) = run(&self.top, &["rev-parse", "--verify", "--quiet", &reference])? {
            return Ok(tip);
        }
        git(&self.top, &["branch", name, "HEAD"])?;
        git(&self.top, &["rev-parse", &reference])
    }

    pub fn add_worktree(&self, path: &Path, branch: &str, from: &str) -> Result<()> {
        let path = path.to_string_lossy();
        let reference = format!("refs/heads/{branch}");
        if run(&self.top, &["rev-parse", "--verify", "--quiet", &reference])?.0 {
            git(&self.top, &["worktree", "add", &path, branch])?;
        } else {
            git(&self.top, &["worktree", "add", "-b", branch, &path, from])?;
        }
        Ok(())
    }

    pub fn commit_all(&self, worktree: &Path, message: &str) -> Result<Option<String>> {
        git(worktree, &["add", "-A"])?;
        if run(worktree, &["diff", "--cached", "--quiet"])?.0 {
            return Ok(None);
        }
        git(
            worktree,
            &["commit", "--quiet", "--no-verify", "-m", message],
        )?;
        git(worktree, &["rev-parse", "HEAD"]).map(Some)
    }

    pub fn remove_worktree(&self, path: &Path) -> Result<()> {
        let path = path.to_string_lossy();
        git(&self.top, &["worktree", "remove", &path])?;
        Ok(())
    }

    pub fn delete_branch_if_merged(&self, branch: &str, into: &str) -> Result<bool> {
        if !run(&self.top, &["merge-base", "--is-ancestor", branch, into])?.0 {
            return Ok(false);
        }
        git(&self.top, &["branch", "-D", branch])?;
        Ok(true)
    }
}
