//! Where a checkout's state lives: one state root per git repository, shared by all its
//! worktrees. Git's own files are read (`.git`, `commondir`, `config`, `HEAD`), never `git`
//! run, so the hooks stay fast.
//!
//! - A plain folder, or a repository's main worktree (`.git` is a folder): the checkout
//!   itself.
//! - A linked worktree (`.git` is a file `gitdir: …/.git/worktrees/NAME`, whose folder has
//!   a `commondir`): the repository's main worktree, the folder holding the common `.git`;
//!   for a submodule's worktree, the `core.worktree` of the submodule's git folder; for a
//!   bare repository, which has no main worktree, the bare repository's folder itself.
//! - A `.git` file without `commondir` (a submodule, `--separate-git-dir`): the checkout
//!   itself, its own project.

use std::fs;
use std::io::Read as _;
use std::path::{Component, Path, PathBuf};

/// The most of a git file (`.git`, `commondir`, `HEAD`) read: they hold one path or one
/// reference. A longer one is not git's and is ignored.
pub const MAX_GIT_FILE_BYTES: u64 = 4096;

/// The most of a git folder's `config` read, looking for `core.worktree` (only for the
/// worktrees of a repository whose git folder is not called `.git`).
pub const MAX_GIT_CONFIG_BYTES: u64 = 64 * 1024;

/// The folder name of the state root inside the folder [`Location::home`] names.
pub const STATE_DIR: &str = ".orchestron";

/// How a checkout's state root was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// Not a git checkout (no `.git`): the folder itself.
    Folder,
    /// A repository's main worktree (`.git` is a folder).
    Main { git_dir: PathBuf },
    /// A linked worktree of the repository whose common git folder is `common_dir`.
    Worktree {
        git_dir: PathBuf,
        common_dir: PathBuf,
        /// The common git folder is a bare repository: no main worktree.
        bare: bool,
    },
    /// A `.git` file naming a git folder of its own (a submodule, `--separate-git-dir`).
    Separate { git_dir: PathBuf },
}

/// Where a checkout's state lives, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The checkout looked at (a worktree's own folder).
    pub checkout: PathBuf,
    /// The folder that holds the state root (`<home>/.orchestron`) and names the project.
    pub home: PathBuf,
    pub via: Via,
}

impl Location {
    /// The state root: `<home>/.orchestron`.
    pub fn state_root(&self) -> PathBuf {
        self.home.join(STATE_DIR)
    }

    /// The project's name: the home folder's (a bare repository's without `.git`).
    pub fn project_name(&self) -> Option<String> {
        let name = self.home.file_name()?.to_string_lossy().into_owned();
        let name = match &self.via {
            Via::Worktree { bare: true, .. } => {
                let stripped = name.strip_suffix(".git").unwrap_or(&name);
                if stripped.is_empty() || stripped.starts_with('.') {
                    // `project/.bare`: the project is the folder around it.
                    return self
                        .home
                        .parent()
                        .and_then(Path::file_name)
                        .map(|name| name.to_string_lossy().into_owned());
                }
                stripped.to_owned()
            }
            _ => name,
        };
        Some(name)
    }

    /// The checkout's own git folder (its `HEAD` names its branch), if it is a checkout.
    pub fn git_dir(&self) -> Option<&Path> {
        match &self.via {
            Via::Folder => None,
            Via::Main { git_dir } | Via::Worktree { git_dir, .. } | Via::Separate { git_dir } => {
                Some(git_dir)
            }
        }
    }

    /// Why the state root is where it is, for `doctor`.
    pub fn explain(&self) -> String {
        let checkout = self.checkout.display();
        match &self.via {
            Via::Folder => format!("{checkout} is not a git checkout: its own"),
            Via::Main { git_dir } => format!(
                "the main worktree of the git repository at {}",
                git_dir.display()
            ),
            Via::Worktree {
                common_dir,
                bare: false,
                ..
            } => format!(
                "the main worktree of the git repository at {}, from the worktree {checkout}",
                common_dir.display()
            ),
            Via::Worktree {
                common_dir,
                bare: true,
                ..
            } => format!(
                "the bare git repository at {}, which has no main worktree, from the worktree {checkout}",
                common_dir.display()
            ),
            Via::Separate { git_dir } => format!(
                "the checkout {checkout} itself, whose git folder {} is its own (a submodule or a separate git folder)",
                git_dir.display()
            ),
        }
    }
}

/// Where the state of the checkout at `checkout` lives. Reads at most `.git`, then, for a
/// worktree, its `commondir` (and `config` when the common folder is not called `.git`).
/// Anything unreadable or not git's makes the checkout its own home.
pub fn locate(checkout: &Path) -> Location {
    let own = |via| Location {
        checkout: checkout.to_path_buf(),
        home: checkout.to_path_buf(),
        via,
    };
    let dot_git = checkout.join(".git");
    let Ok(meta) = fs::metadata(&dot_git) else {
        return own(Via::Folder);
    };
    if meta.is_dir() {
        return own(Via::Main { git_dir: dot_git });
    }
    let Some(git_dir) = read_small(&dot_git, MAX_GIT_FILE_BYTES)
        .as_deref()
        .and_then(|text| text.trim_end().strip_prefix("gitdir:"))
        .map(|path| relative_to(checkout, path.trim()))
    else {
        return own(Via::Folder);
    };
    let Some(common) = read_small(&git_dir.join("commondir"), MAX_GIT_FILE_BYTES) else {
        return own(Via::Separate { git_dir });
    };
    let common_dir = relative_to(&git_dir, common.trim_end_matches(['\n', '\r']));
    if common_dir.file_name().is_some_and(|name| name == ".git")
        && let Some(main) = common_dir.parent()
    {
        return Location {
            checkout: checkout.to_path_buf(),
            home: main.to_path_buf(),
            via: Via::Worktree {
                git_dir,
                common_dir,
                bare: false,
            },
        };
    }
    // A submodule's git folder names its checkout in `core.worktree`; a bare repository has
    // none, and its folder is the home.
    let main = read_small(&common_dir.join("config"), MAX_GIT_CONFIG_BYTES)
        .and_then(|config| core_worktree(&config))
        .map(|worktree| relative_to(&common_dir, &worktree));
    let bare = main.is_none();
    Location {
        checkout: checkout.to_path_buf(),
        home: main.unwrap_or_else(|| common_dir.clone()),
        via: Via::Worktree {
            git_dir,
            common_dir,
            bare,
        },
    }
}

/// The branch checked out in the git folder `git_dir` (its `HEAD`): the branch's name, or
/// `detached at ABCDEF0` for a detached head. `None` when `HEAD` cannot be read.
pub fn branch(git_dir: &Path) -> Option<String> {
    let head = read_small(&git_dir.join("HEAD"), MAX_GIT_FILE_BYTES)?;
    let head = head.trim();
    if let Some(reference) = head.strip_prefix("ref:") {
        let reference = reference.trim();
        return Some(
            reference
                .strip_prefix("refs/heads/")
                .unwrap_or(reference)
                .to_owned(),
        );
    }
    let short: String = head.chars().take(7).collect();
    (!short.is_empty() && short.chars().all(|c| c.is_ascii_hexdigit()))
        .then(|| format!("detached at {short}"))
}

/// A small text file, whole, or `None` (missing, unreadable, not UTF-8 or over `limit`).
fn read_small(path: &Path, limit: u64) -> Option<String> {
    let file = fs::File::open(path).ok()?;
    let mut text = String::new();
    file.take(limit + 1).read_to_string(&mut text).ok()?;
    (text.len() as u64 <= limit).then_some(text)
}

/// `path` as git reads it in a file of folder `base`: absolute, or relative to `base`; with
/// `.` and `..` resolved by name (git writes them; links are not followed).
fn relative_to(base: &Path, path: &str) -> PathBuf {
    let joined = base.join(path);
    let mut normal = PathBuf::new();
    for component in joined.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !normal.pop() {
                    normal.push(component);
                }
            }
            other => normal.push(other),
        }
    }
    normal
}

/// `core.worktree` in the text of a git `config`, if set.
fn core_worktree(config: &str) -> Option<String> {
    let mut in_core = false;
    let mut found = None;
    for line in config.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_core = line
                .trim_start_matches('[')
                .trim_end_matches(']')
                .trim()
                .eq_ignore_ascii_case("core");
            continue;
        }
        if !in_core {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim().eq_ignore_ascii_case("worktree") {
            let value = value.trim().trim_matches('"');
            found = (!value.is_empty()).then(|| value.to_owned());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn a_plain_folder_and_a_main_worktree_are_their_own_home() {
        let dir = tempfile::tempdir().unwrap();
        let plain = locate(dir.path());
        assert_eq!(plain.home, dir.path());
        assert_eq!(plain.via, Via::Folder);
        fs::create_dir(dir.path().join(".git")).unwrap();
        write(&dir.path().join(".git/HEAD"), "ref: refs/heads/main\n");
        let main = locate(dir.path());
        assert_eq!(main.home, dir.path());
        assert_eq!(main.state_root(), dir.path().join(".orchestron"));
        assert_eq!(branch(main.git_dir().unwrap()).as_deref(), Some("main"));
    }

    #[test]
    fn a_linked_worktree_resolves_to_the_main_worktree() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        let wt = dir.path().join("wt");
        write(&repo.join(".git/worktrees/wt/commondir"), "../..\n");
        write(
            &repo.join(".git/worktrees/wt/HEAD"),
            "ref: refs/heads/feature/x\n",
        );
        // Relative, as `git worktree add --relative-paths` writes it.
        write(&wt.join(".git"), "gitdir: ../repo/.git/worktrees/wt\n");
        let found = locate(&wt);
        assert_eq!(found.home, repo);
        assert_eq!(found.checkout, wt);
        assert_eq!(found.project_name().as_deref(), Some("repo"));
        assert_eq!(
            branch(found.git_dir().unwrap()).as_deref(),
            Some("feature/x")
        );
        assert!(found.explain().contains("from the worktree"), "{found:?}");
        // Absolute, as git writes it by default.
        write(
            &wt.join(".git"),
            &format!("gitdir: {}\n", repo.join(".git/worktrees/wt").display()),
        );
        assert_eq!(locate(&wt).home, repo);
    }

    #[test]
    fn submodules_bare_repositories_and_odd_files() {
        let dir = tempfile::tempdir().unwrap();
        // A submodule: its own project.
        let sub = dir.path().join("super/sub");
        write(
            &dir.path().join("super/.git/modules/sub/HEAD"),
            "0123456789abcdef\n",
        );
        write(&sub.join(".git"), "gitdir: ../.git/modules/sub\n");
        let found = locate(&sub);
        assert_eq!(found.home, sub);
        assert!(matches!(found.via, Via::Separate { .. }));
        assert_eq!(
            branch(found.git_dir().unwrap()).as_deref(),
            Some("detached at 0123456")
        );
        // A worktree of that submodule: back to the submodule's checkout.
        let modules = dir.path().join("super/.git/modules/sub");
        write(
            &modules.join("config"),
            "[core]\n\tbare = false\n\tworktree = ../../../sub\n",
        );
        write(&modules.join("worktrees/w2/commondir"), "../..\n");
        let w2 = dir.path().join("w2");
        write(
            &w2.join(".git"),
            &format!("gitdir: {}\n", modules.join("worktrees/w2").display()),
        );
        assert_eq!(locate(&w2).home, sub);
        // A worktree of a bare repository: the bare repository's folder.
        let bare = dir.path().join("project.git");
        write(&bare.join("config"), "[core]\n\tbare = true\n");
        write(&bare.join("worktrees/w3/commondir"), "../..\n");
        let w3 = dir.path().join("w3");
        write(&w3.join(".git"), "gitdir: ../project.git/worktrees/w3\n");
        let found = locate(&w3);
        assert_eq!(found.home, bare);
        assert_eq!(found.project_name().as_deref(), Some("project"));
        assert!(found.explain().contains("bare"), "{found:?}");
        // A `.git` file that is not git's: the folder itself.
        let odd = dir.path().join("odd");
        write(&odd.join(".git"), "hello\n");
        assert_eq!(locate(&odd).via, Via::Folder);
        write(
            &odd.join(".git"),
            &"x".repeat(MAX_GIT_FILE_BYTES as usize + 1),
        );
        assert_eq!(locate(&odd).home, odd);
    }
}
