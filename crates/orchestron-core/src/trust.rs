//! Which commands a project's configuration may run: none from a configuration that came
//! with the repository.
//!
//! `<state root>/config.json` can name programs Orchestron runs: `notify.command`,
//! `workers.test_command` and `workers.claude`. A repository that commits that file would
//! have them run on every machine that clones it, with no moment where the person agrees.
//! So a command is taken from the configuration only when git does not track the file: a
//! configuration written on this machine. [`refuse_committed`] is the one check, asked
//! right before such a command would run (never on a hook's path): it runs `git ls-files
//! --error-unmatch` in the state root's repository, and nothing at all when no `.git` is
//! above the state root.

use std::path::Path;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::workers::git;

/// The configuration's file in the state root.
const CONFIG_FILE: &str = "config.json";

/// Refuse the command the configuration's `key` (`notify.command`, `workers.test_command`,
/// `workers.claude`) names when `<state root>/config.json` is tracked by git: it came with
/// the repository. `Ok` when the file is not tracked, does not exist, or is in no git
/// repository; a `conflict` naming the key otherwise (also when git cannot tell).
pub fn refuse_committed(cx: &Context, key: &str) -> Result<()> {
    refuse_committed_in(cx.state_root(), key)
}

/// `value`, the command the configuration's `key` names, when it may run: `None` stays
/// `None` (nothing is asked); a command is refused as [`refuse_committed`] refuses it.
pub fn allowed<T>(cx: &Context, key: &str, value: Option<T>) -> Result<Option<T>> {
    if value.is_some() {
        refuse_committed(cx, key)?;
    }
    Ok(value)
}

/// [`refuse_committed`] for the state root `root`.
pub fn refuse_committed_in(root: &Path, key: &str) -> Result<()> {
    let config = root.join(CONFIG_FILE);
    if std::fs::symlink_metadata(&config).is_err() || !in_git_repository(root) {
        return Ok(());
    }
    let tracked = git::tracks(root, CONFIG_FILE).map_err(|err| {
        Error::conflict(format!(
            "`{key}` is not run: cannot tell whether git tracks `{}` ({})",
            config.display(),
            err.message()
        ))
        .with_hint(
            "a command a project's configuration names runs only when git does not track \
             the file (the configuration was written on this machine, not cloned)",
        )
    })?;
    if !tracked {
        return Ok(());
    }
    let claude = if key == "workers.claude" {
        "; name Claude Code with `--claude PATH` or `ORCHESTRON_CLAUDE` instead"
    } else {
        ""
    };
    Err(Error::conflict(format!(
        "`{key}` is not run: `{}` is tracked by git, so it came with the repository, and \
         a repository's configuration does not run commands on this machine",
        config.display()
    ))
    .with_hint(format!(
        "if you trust it, keep your own copy out of git: `git rm --cached {}` (the state \
         root's `.gitignore` keeps it out from then on){claude}",
        config.display()
    )))
}

/// Whether `dir` or a folder above it holds a `.git` (a file or a folder): only then can
/// git track anything there, and only then is git asked.
fn in_git_repository(dir: &Path) -> bool {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    dir.ancestors()
        .any(|folder| std::fs::symlink_metadata(folder.join(".git")).is_ok())
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;

    fn git(dir: &Path, args: &[&str]) {
        let status = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(dir)
            .env_remove("GIT_DIR")
            .env_remove("GIT_INDEX_FILE")
            .env_remove("GIT_WORK_TREE")
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }

    #[test]
    fn a_tracked_configuration_runs_no_command_an_untracked_one_does() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join(".orchestron");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(root.join(CONFIG_FILE), "{}").unwrap();
        // Outside git: nothing to refuse.
        refuse_committed_in(&root, "notify.command").unwrap();
        git(dir.path(), &["init", "-q"]);
        refuse_committed_in(&root, "notify.command").unwrap();
        git(dir.path(), &["add", "-f", ".orchestron/config.json"]);
        let err = refuse_committed_in(&root, "workers.test_command").unwrap_err();
        assert!(
            err.message().contains("`workers.test_command` is not run"),
            "{err:?}"
        );
        assert!(err.message().contains("tracked by git"), "{err:?}");
        git(dir.path(), &["commit", "-q", "-m", "config"]);
        let err = refuse_committed_in(&root, "workers.claude").unwrap_err();
        assert!(err.hint().unwrap().contains("--claude"), "{err:?}");
        git(
            dir.path(),
            &["rm", "-q", "--cached", ".orchestron/config.json"],
        );
        refuse_committed_in(&root, "notify.command").unwrap();
        // No file: nothing configured, nothing to refuse.
        std::fs::remove_file(root.join(CONFIG_FILE)).unwrap();
        refuse_committed_in(&root, "notify.command").unwrap();
    }
}
