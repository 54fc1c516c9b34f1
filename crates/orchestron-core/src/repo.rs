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
//!
//! A checkout may come from a stranger, and its `.git` file and every file it leads to are
//! theirs to write: `gitdir: evil/wt` with `evil/wt/commondir` saying `../../../victim`
//! would otherwise put the state root in any folder. So a checkout counts as a linked
//! worktree only when it really is one, checked as git would and more strictly (see
//! `linked_worktree`): the common folder looks like a git folder, the worktree's git
//! folder is `<common>/worktrees/NAME` with a `HEAD`, and its `gitdir` file names this
//! checkout's `.git`; a submodule's `core.worktree` must name a checkout whose `.git` names
//! the submodule's git folder back. Anything else makes the checkout its own project
//! ([`Via::NotWorktree`]), and `doctor` says why. Paths are compared canonical, as git does.

use std::fs;
use std::io::Read as _;
use std::path::{Component, Path, PathBuf};

/// The most of a git file (`.git`, `commondir`, `HEAD`) read: they hold one path or one
/// reference. A longer one is not git's and is ignored.
pub const MAX_GIT_FILE_BYTES: u64 = 4096;

/// The most of a git folder's `config` read, looking for `core.worktree` (only for the
/// worktrees of a repository whose git folder is not called `.git`).
pub const MAX_GIT_CONFIG_BYTES: u64 = 64 * 1024;

/// The most bytes of `packed-refs` read to find a branch's tip.
pub const MAX_PACKED_REFS_BYTES: u64 = 4 * 1024 * 1024;

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
    /// A `.git` file naming a folder with a `commondir` that is not a linked worktree of a
    /// repository (a crafted checkout, or a worktree moved without `git worktree repair`):
    /// the checkout is its own project. `why` says what did not hold.
    NotWorktree { named: PathBuf, why: String },
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
            Via::Folder | Via::NotWorktree { .. } => None,
            Via::Main { git_dir } | Via::Worktree { git_dir, .. } | Via::Separate { git_dir } => {
                Some(git_dir)
            }
        }
    }

    /// The repository's common git folder (where its branches live), if it is a checkout.
    pub fn common_dir(&self) -> Option<&Path> {
        match &self.via {
            Via::Folder | Via::NotWorktree { .. } => None,
            Via::Main { git_dir } | Via::Separate { git_dir } => Some(git_dir),
            Via::Worktree { common_dir, .. } => Some(common_dir),
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
            Via::NotWorktree { named, why } => format!(
                "the checkout {checkout} itself: its .git file names {}, a git folder that is \
                 not a worktree of a repository ({why}); this checkout is its own project",
                named.display()
            ),
        }
    }

    /// Whether the checkout's `.git` file names something that is not a worktree, which
    /// `doctor` warns about.
    pub fn doubtful(&self) -> bool {
        matches!(self.via, Via::NotWorktree { .. })
    }

    /// Whether the checkout is a linked worktree of a repository (whose state root is the
    /// repository's, not the checkout's).
    pub fn is_linked_worktree(&self) -> bool {
        matches!(self.via, Via::Worktree { .. })
    }
}

/// Where the state of the checkout at `checkout` lives. Reads at most `.git`, then, for a
/// worktree, its `commondir`, what `linked_worktree` checks, and `config` when the common
/// folder is not called `.git`. Anything unreadable, not git's, or not a real worktree
/// makes the checkout its own home.
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
    let named = relative_to(&git_dir, common.trim_end_matches(['\n', '\r']));
    let (git_dir, common_dir) = match linked_worktree(&dot_git, &git_dir, &named) {
        Ok(found) => found,
        Err(why) => {
            return own(Via::NotWorktree {
                named: git_dir,
                why,
            });
        }
    };
    let worktree = |home: PathBuf, bare: bool, git_dir: PathBuf, common_dir: PathBuf| Location {
        checkout: checkout.to_path_buf(),
        home,
        via: Via::Worktree {
            git_dir,
            common_dir,
            bare,
        },
    };
    if common_dir.file_name().is_some_and(|name| name == ".git")
        && let Some(main) = common_dir.parent()
    {
        return worktree(main.to_path_buf(), false, git_dir, common_dir);
    }
    // A submodule's git folder names its checkout in `core.worktree`; a bare repository has
    // none, and its folder is the home.
    let Some(named_main) = read_small(&common_dir.join("config"), MAX_GIT_CONFIG_BYTES)
        .and_then(|config| core_worktree(&config))
        .map(|worktree| relative_to(&common_dir, &worktree))
    else {
        return worktree(common_dir.clone(), true, git_dir, common_dir);
    };
    match names_back(&named_main, &common_dir) {
        Some(main) => worktree(main, false, git_dir, common_dir),
        None => own(Via::NotWorktree {
            why: format!(
                "the core.worktree of {} names {}, whose .git does not name it back",
                common_dir.display(),
                named_main.display()
            ),
            named: git_dir,
        }),
    }
}

/// Whether `git_dir`, which the checkout's `.git` file (`dot_git`) names and which has a
/// `commondir` naming `common_dir`, is really a linked worktree of the repository there:
/// its git folder and the common one, canonical; else why not. Stricter than git, which
/// needs only the `commondir`: a crafted checkout could name any folder there.
/// - the common folder looks like a git folder: a `HEAD` file, `objects/` and `refs/`;
/// - the worktree's git folder is `<common>/worktrees/NAME` and has a `HEAD`;
/// - its `gitdir` file (git's link back to the worktree) names this checkout's `.git`.
fn linked_worktree(
    dot_git: &Path,
    git_dir: &Path,
    common_dir: &Path,
) -> Result<(PathBuf, PathBuf), String> {
    let common = fs::canonicalize(common_dir)
        .map_err(|_| format!("its common folder {} does not exist", common_dir.display()))?;
    let is_file = |path: PathBuf| fs::metadata(path).is_ok_and(|meta| meta.is_file());
    let is_dir = |path: PathBuf| fs::metadata(path).is_ok_and(|meta| meta.is_dir());
    if !(is_file(common.join("HEAD"))
        && is_dir(common.join("objects"))
        && is_dir(common.join("refs")))
    {
        return Err(format!(
            "its common folder {} is not a git folder",
            common.display()
        ));
    }
    let real = fs::canonicalize(git_dir)
        .map_err(|_| format!("{} cannot be resolved", git_dir.display()))?;
    if real.parent() != Some(common.join("worktrees").as_path()) {
        return Err(format!(
            "it is not in {}",
            common.join("worktrees").display()
        ));
    }
    if !is_file(real.join("HEAD")) {
        return Err("it has no HEAD".to_owned());
    }
    let back = read_small(&real.join("gitdir"), MAX_GIT_FILE_BYTES)
        .map(|text| relative_to(&real, text.trim_end_matches(['\n', '\r'])));
    let ours = fs::canonicalize(dot_git).ok();
    match back {
        Some(back) if ours.is_some() && fs::canonicalize(&back).ok() == ours => Ok((real, common)),
        Some(back) => Err(format!(
            "its gitdir file names {}, not this checkout; if the worktree moved, \
             `git worktree repair` mends it",
            back.display()
        )),
        None => Err("it has no gitdir file naming this checkout".to_owned()),
    }
}

/// The checkout `worktree`, canonical, when its `.git` file names the git folder
/// `common_dir` (canonical) back, as a submodule's checkout names its git folder.
fn names_back(worktree: &Path, common_dir: &Path) -> Option<PathBuf> {
    let worktree = fs::canonicalize(worktree).ok()?;
    let text = read_small(&worktree.join(".git"), MAX_GIT_FILE_BYTES)?;
    let named = text.trim_end().strip_prefix("gitdir:")?.trim();
    let named = fs::canonicalize(relative_to(&worktree, named)).ok()?;
    (named == common_dir).then_some(worktree)
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

/// The commit the branch `branch` points at, read from the common git folder `common_dir`
/// (a loose ref, else `packed-refs`), without running git. `None` when it cannot be read.
pub fn branch_tip(common_dir: &Path, branch: &str) -> Option<String> {
    let name = format!("refs/heads/{branch}");
    if branch
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return None;
    }
    if let Some(text) = read_small(&common_dir.join(&name), MAX_GIT_FILE_BYTES) {
        let tip = text.trim();
        if !tip.starts_with("ref:") {
            return Some(tip.to_owned());
        }
    }
    let packed = read_small(&common_dir.join("packed-refs"), MAX_PACKED_REFS_BYTES)?;
    packed.lines().find_map(|line| {
        let (tip, reference) = line.split_once(' ')?;
        (reference == name).then(|| tip.to_owned())
    })
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

    /// A git folder as git makes one: `HEAD`, `objects/`, `refs/`.
    fn git_folder(dir: &Path) {
        write(&dir.join("HEAD"), "ref: refs/heads/main\n");
        fs::create_dir_all(dir.join("objects")).unwrap();
        fs::create_dir_all(dir.join("refs")).unwrap();
    }

    /// The worktree `NAME` of the git folder `common`, checked out at `checkout`, as `git
    /// worktree add` writes it (absolute paths).
    fn add_worktree(common: &Path, name: &str, checkout: &Path, head: &str) {
        let dir = common.join("worktrees").join(name);
        write(&dir.join("commondir"), "../..\n");
        write(&dir.join("HEAD"), head);
        write(
            &dir.join("gitdir"),
            &format!("{}\n", checkout.join(".git").display()),
        );
        write(
            &checkout.join(".git"),
            &format!("gitdir: {}\n", dir.display()),
        );
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
        let temp = tempfile::tempdir().unwrap();
        let dir = fs::canonicalize(temp.path()).unwrap();
        let repo = dir.join("repo");
        let wt = dir.join("wt");
        git_folder(&repo.join(".git"));
        add_worktree(&repo.join(".git"), "wt", &wt, "ref: refs/heads/feature/x\n");
        let found = locate(&wt);
        assert_eq!(found.home, repo);
        assert_eq!(found.checkout, wt);
        assert!(found.is_linked_worktree());
        assert_eq!(found.project_name().as_deref(), Some("repo"));
        assert_eq!(
            branch(found.git_dir().unwrap()).as_deref(),
            Some("feature/x")
        );
        assert!(found.explain().contains("from the worktree"), "{found:?}");
        // Relative, as `git worktree add --relative-paths` writes them.
        write(&wt.join(".git"), "gitdir: ../repo/.git/worktrees/wt\n");
        write(
            &repo.join(".git/worktrees/wt/gitdir"),
            "../../../../wt/.git\n",
        );
        assert_eq!(locate(&wt).home, repo);
    }

    #[test]
    fn security_finding_1_a_crafted_git_file_never_makes_another_folder_the_home() {
        let temp = tempfile::tempdir().unwrap();
        let dir = fs::canonicalize(temp.path()).unwrap();
        let victim = dir.join("victimhome");
        fs::create_dir_all(&victim).unwrap();
        let t = dir.join("t");
        // The report: `gitdir: evil/wt`, `evil/wt/commondir` aimed at the victim.
        write(&t.join(".git"), "gitdir: evil/wt\n");
        write(&t.join("evil/wt/commondir"), "../../../victimhome\n");
        let found = locate(&t);
        assert_eq!(found.home, t);
        assert_eq!(found.state_root(), t.join(".orchestron"));
        assert!(found.doubtful(), "{found:?}");
        assert!(found.git_dir().is_none());
        let why = found.explain();
        assert!(
            why.contains("not a worktree of a repository")
                && why.contains("this checkout is its own project")
                && why.contains("not a git folder"),
            "{why}"
        );
        // The victim looks like a git folder, but the worktree folder is not in it.
        git_folder(&victim);
        let why = locate(&t).explain();
        assert!(why.contains("is not in") && locate(&t).home == t, "{why}");
        // A whole fake repository inside the checkout, its worktree folder right, but with
        // no HEAD, or a back-link naming another checkout: still its own.
        let fake = t.join("fake");
        git_folder(&fake);
        write(&t.join(".git"), "gitdir: fake/worktrees/wt\n");
        write(&fake.join("worktrees/wt/commondir"), "../..\n");
        assert!(locate(&t).explain().contains("no HEAD"));
        write(&fake.join("worktrees/wt/HEAD"), "ref: refs/heads/x\n");
        assert!(locate(&t).explain().contains("no gitdir file"));
        write(&fake.join("worktrees/wt/gitdir"), "/elsewhere/.git\n");
        let found = locate(&t);
        assert!(found.explain().contains("git worktree repair"), "{found:?}");
        assert_eq!(found.home, t);
        // Every check holds and the fake is "bare": the home is the fake, in the checkout.
        write(&fake.join("worktrees/wt/gitdir"), "../../../.git\n");
        assert_eq!(locate(&t).home, fake);
        // Its `core.worktree` aimed at the victim, whose `.git` does not name it back.
        write(
            &fake.join("config"),
            &format!("[core]\n\tworktree = {}\n", victim.display()),
        );
        let found = locate(&t);
        assert_eq!(found.home, t, "{found:?}");
        assert!(
            found.explain().contains("does not name it back"),
            "{found:?}"
        );
    }

    #[test]
    fn submodules_bare_repositories_and_odd_files() {
        let temp = tempfile::tempdir().unwrap();
        let dir = fs::canonicalize(temp.path()).unwrap();
        // A submodule: its own project.
        let sub = dir.join("super/sub");
        let modules = dir.join("super/.git/modules/sub");
        git_folder(&modules);
        write(&modules.join("HEAD"), "0123456789abcdef\n");
        write(&sub.join(".git"), "gitdir: ../.git/modules/sub\n");
        let found = locate(&sub);
        assert_eq!(found.home, sub);
        assert!(matches!(found.via, Via::Separate { .. }));
        assert_eq!(
            branch(found.git_dir().unwrap()).as_deref(),
            Some("detached at 0123456")
        );
        // A worktree of that submodule: back to the submodule's checkout.
        write(
            &modules.join("config"),
            "[core]\n\tbare = false\n\tworktree = ../../../sub\n",
        );
        let w2 = dir.join("w2");
        add_worktree(&modules, "w2", &w2, "ref: refs/heads/main\n");
        assert_eq!(locate(&w2).home, sub);
        // A worktree of a bare repository: the bare repository's folder.
        let bare = dir.join("project.git");
        git_folder(&bare);
        write(&bare.join("config"), "[core]\n\tbare = true\n");
        let w3 = dir.join("w3");
        add_worktree(&bare, "w3", &w3, "ref: refs/heads/main\n");
        let found = locate(&w3);
        assert_eq!(found.home, bare);
        assert_eq!(found.project_name().as_deref(), Some("project"));
        assert!(found.explain().contains("bare"), "{found:?}");
        // A `.git` file that is not git's: the folder itself.
        let odd = dir.join("odd");
        write(&odd.join(".git"), "hello\n");
        assert_eq!(locate(&odd).via, Via::Folder);
        write(
            &odd.join(".git"),
            &"x".repeat(MAX_GIT_FILE_BYTES as usize + 1),
        );
        assert_eq!(locate(&odd).home, odd);
    }

    /// With real git: a worktree, a bare repository's worktree and a submodule's worktree
    /// pass the checks (skipped where git is not installed).
    #[test]
    fn real_git_worktrees_pass_the_checks() {
        use std::process::Command;
        let git = |dir: &Path, args: &[&str]| {
            Command::new("git")
                .args(args)
                .current_dir(dir)
                .env("GIT_AUTHOR_NAME", "t")
                .env("GIT_AUTHOR_EMAIL", "t@example.com")
                .env("GIT_COMMITTER_NAME", "t")
                .env("GIT_COMMITTER_EMAIL", "t@example.com")
                .env("GIT_CONFIG_GLOBAL", "/dev/null")
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .output()
                .is_ok_and(|output| output.status.success())
        };
        let temp = tempfile::tempdir().unwrap();
        let dir = fs::canonicalize(temp.path()).unwrap();
        let repo = dir.join("repo");
        fs::create_dir(&repo).unwrap();
        if !git(&repo, &["init", "-q", "-b", "main"]) {
            return;
        }
        assert!(git(&repo, &["commit", "-q", "--allow-empty", "-m", "x"]));
        assert!(git(&repo, &["worktree", "add", "-q", "-b", "f", "../wt"]));
        assert_eq!(locate(&dir.join("wt")).home, repo);
        assert!(git(&dir, &["clone", "-q", "--bare", "repo", "bare.git"]));
        assert!(git(
            &dir.join("bare.git"),
            &["worktree", "add", "-q", "../bw", "main"]
        ));
        assert_eq!(locate(&dir.join("bw")).home, dir.join("bare.git"));
        let outer = dir.join("super");
        fs::create_dir(&outer).unwrap();
        assert!(git(&outer, &["init", "-q", "-b", "main"]));
        assert!(git(
            &outer,
            &[
                "-c",
                "protocol.file.allow=always",
                "submodule",
                "add",
                "-q",
                "../repo",
                "sub"
            ]
        ));
        assert!(git(
            &outer.join("sub"),
            &["worktree", "add", "-q", "../../sw"]
        ));
        assert_eq!(locate(&outer.join("sub")).home, outer.join("sub"));
        assert_eq!(locate(&dir.join("sw")).home, outer.join("sub"));
    }
}
