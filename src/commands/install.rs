//! `orchestron init`, `uninstall` and `doctor`: wiring Orchestron into a project without the
//! plugin system, taking it out again, and checking that it works. The edits themselves are
//! pure functions in `crate::install`; this module reads, writes and reports.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

use crate::context::Context;
use crate::install::{self, Changes, EVENTS};
use crate::output::Output;
use orchestron_core::context::STATE_FOLDERS;
use orchestron_core::store::{self, Confined, read_optional};

/// Where init keeps a copy of the settings file as it was before init changed it.
const BACKUP_SUFFIX: &str = ".orchestron-backup";

/// The files of one project that init and uninstall touch.
struct Project {
    dir: PathBuf,
    /// `.claude/settings.json`, which teams commit: an older `init` wired the hooks there.
    shared: PathBuf,
    shared_backup: PathBuf,
    /// `.claude/settings.local.json`, this machine's: `init` wires the hooks there.
    local: PathBuf,
    local_backup: PathBuf,
    gitignore: PathBuf,
    state_root: PathBuf,
}

impl Project {
    fn resolve(context: &Context, dir: Option<PathBuf>) -> anyhow::Result<Project> {
        let dir = match dir {
            Some(dir) => context.working_dir().join(dir),
            None => context.project_root().to_path_buf(),
        };
        if !dir.is_dir() {
            bail!("`{}` is not a directory", dir.display());
        }
        let shared = dir.join(".claude").join("settings.json");
        let local = dir.join(".claude").join("settings.local.json");
        Ok(Project {
            shared_backup: backup_name(&shared),
            local_backup: backup_name(&local),
            shared,
            local,
            gitignore: dir.join(".gitignore"),
            state_root: context.state_root_of(&dir),
            dir,
        })
    }
}

/// A file `init` or `uninstall` may write: the name it has in the project, and where a write
/// to it really goes (links that stay inside the project followed; see `store::Confined`).
struct Target {
    named: PathBuf,
    real: PathBuf,
}

impl Target {
    /// Resolve `named`, and check the temp file its write goes through: a link out of the
    /// project, or any link at the temp file's name, is refused here, before anything is
    /// written.
    fn new(confined: &Confined, named: &Path) -> anyhow::Result<Target> {
        let real = confined.resolve(named)?;
        confined.own(&store::temp_path(&real))?;
        Ok(Target {
            named: named.to_path_buf(),
            real,
        })
    }
}

/// Where the backup `named` really is, refusing a link at its name or at its temp file's:
/// a backup never follows a link.
/// The files `init` and `uninstall` edit, each resolved where its write really goes.
struct SettingsFiles {
    shared: Target,
    shared_backup: PathBuf,
    local: Target,
    local_backup: PathBuf,
    gitignore: Target,
}

impl SettingsFiles {
    fn resolve(confined: &Confined, project: &Project) -> anyhow::Result<SettingsFiles> {
        Ok(SettingsFiles {
            shared: Target::new(confined, &project.shared)?,
            shared_backup: backup_at(confined, &project.shared_backup)?,
            local: Target::new(confined, &project.local)?,
            local_backup: backup_at(confined, &project.local_backup)?,
            gitignore: Target::new(confined, &project.gitignore)?,
        })
    }
}

fn backup_at(confined: &Confined, named: &Path) -> anyhow::Result<PathBuf> {
    let real = confined.own(named)?;
    confined.own(&store::temp_path(&real))?;
    Ok(real)
}

/// `path` with the backup suffix.
fn backup_name(path: &Path) -> PathBuf {
    let mut backup = path.as_os_str().to_owned();
    backup.push(BACKUP_SUFFIX);
    PathBuf::from(backup)
}

/// The permissions of the regular file at `path`, for its backup.
fn mode_of(path: &Path) -> Option<u32> {
    fs::metadata(path)
        .ok()
        .map(|meta| meta.permissions().mode())
}

/// Settings a `uninstall` (or an `init` moving an older init's hooks) takes Orchestron's
/// entries out of: the new text (`None`: unchanged), what came out, and whether the text is
/// the backup's, put back to the byte because the file was untouched since `init`.
struct Removal {
    text: Option<String>,
    changes: Changes,
    restored: bool,
}

/// Take Orchestron's hooks and status line out of the settings `current` (the file `named`),
/// putting `backup` back instead when the file is just what `init` made of it.
fn remove_wiring(
    current: Option<&str>,
    backup: Option<String>,
    named: &Path,
) -> anyhow::Result<Removal> {
    let Some(current) = current else {
        return Ok(Removal {
            text: None,
            changes: Changes::default(),
            restored: false,
        });
    };
    let (mut text, changes) = install::remove_from_settings(current)
        .with_context(|| format!("cannot remove Orchestron from `{}`", named.display()))?;
    let mut restored = false;
    if text.is_some()
        && let Some(backup) = backup
        && install::restores(&backup, current)
    {
        text = Some(backup);
        restored = true;
    }
    Ok(Removal {
        text,
        changes,
        restored,
    })
}

/// Whether the settings text holds a status line that is not Orchestron's.
fn has_foreign_status_line(text: Option<&str>) -> bool {
    text.and_then(|text| serde_json::from_str::<Value>(text).ok())
        .and_then(|settings| settings.get("statusLine").cloned())
        .is_some_and(|line| !install::our_status_line(&line))
}

/// `orchestron init [DIR] [--bin PATH]`: the hooks and the status line in
/// `.claude/settings.local.json` (this machine's binary, by its absolute path), moved out of
/// `.claude/settings.json` when an older `init` wired them there; the slash commands and
/// styles under `.claude/`; `.claude/settings.local.json` in `.gitignore`; the state root.
pub(super) fn init(
    context: &Context,
    out: &mut Output,
    dir: Option<PathBuf>,
    bin: Option<String>,
    mcp: bool,
) -> anyhow::Result<()> {
    let project = Project::resolve(context, dir)?;
    // A state root found in the project that is a link (or holds one at a state folder's
    // name) is refused before anything is written, as on every other write route.
    if !context.state_root_chosen() {
        store::refuse_linked_state(&project.state_root, STATE_FOLDERS)?;
    }
    let bin = match bin {
        Some(bin) => bin,
        None => hook_command(context)?,
    };
    // Where every write goes, checked before anything is read or written: a symbolic link
    // out of the project, or one at a temp file's or a backup's name, stops here.
    let confined = Confined::new(&project.dir)?;
    let SettingsFiles {
        shared,
        shared_backup,
        local,
        local_backup,
        gitignore,
    } = SettingsFiles::resolve(&confined, &project)?;
    // Work out every change before writing anything: a malformed settings file stops here.
    let old_shared = read_optional(&shared.real)?;
    let moved = remove_wiring(
        old_shared.as_deref(),
        read_optional(&shared_backup)?,
        &project.shared,
    )?;
    // A status line of the user's in the shared settings stays theirs: a local one of
    // Orchestron's would hide it.
    let foreign_status_line =
        has_foreign_status_line(moved.text.as_deref().or(old_shared.as_deref()));
    let old_local = read_optional(&local.real)?;
    let (new_local, mut changes) =
        install::add_to_settings_with(old_local.as_deref(), &bin, !foreign_status_line)
            .with_context(|| format!("cannot add Orchestron to `{}`", project.local.display()))?;
    if foreign_status_line {
        changes
            .kept
            .push("statusLine (yours, in .claude/settings.json)".to_owned());
    }
    let new_gitignore = install::add_to_gitignore(
        &install::LOCAL_SETTINGS_IGNORE,
        read_optional(&gitignore.real)?.as_deref(),
    );
    // `--mcp`: the server in the project's `.mcp.json`, beside the user's own.
    let mcp_file = Target::new(&confined, &project.dir.join(install::MCP_FILE))?;
    let (new_mcp, mcp_changes) = if mcp {
        install::add_mcp_server(read_optional(&mcp_file.real)?.as_deref(), &bin)
            .with_context(|| format!("cannot add Orchestron to `{}`", mcp_file.named.display()))?
    } else {
        (None, install::Changes::default())
    };
    if new_mcp.is_some() {
        check_writable(&mcp_file.real)?;
    }

    let mut files = Vec::new();
    for (relative, text) in install::shipped_files() {
        let target = Target::new(&confined, &project.dir.join(&relative))?;
        let backup = backup_at(&confined, &backup_name(&target.named))?;
        match read_optional(&target.real)? {
            Some(old) if old == text => {}
            old => {
                check_writable(&target.real)?;
                files.push((target, backup, text, old));
            }
        }
    }
    if new_local.is_some() {
        check_writable(&local.real)?;
    }
    if moved.text.as_deref().is_some_and(|text| !text.is_empty()) {
        check_writable(&shared.real)?;
    }
    if new_gitignore.is_some() {
        check_writable(&gitignore.real)?;
    }

    let mut backup = None;
    if let Some(text) = &new_local {
        create_parent(&local.real)?;
        create_parent(&local_backup)?;
        // The first backup is the file as it was before Orchestron: later runs keep it.
        if let Some(old) = &old_local
            && !local_backup.exists()
        {
            store::write_file_atomic_with_mode(
                &local_backup,
                old.as_bytes(),
                mode_of(&local.real),
            )?;
            backup = Some(project.local_backup.clone());
        }
        store::write_file_atomic(&local.real, text.as_bytes())?;
    }
    match moved.text.as_deref() {
        Some("") if !moved.restored => remove_file(&shared.real)?,
        Some(text) => store::write_file_atomic(&shared.real, text.as_bytes())?,
        None => {}
    }
    if moved.restored {
        remove_file(&shared_backup)?;
    }
    if let Some(text) = &new_gitignore {
        store::write_file_atomic(&gitignore.real, text.as_bytes())?;
    }
    if let Some(text) = &new_mcp {
        store::write_file_atomic(&mcp_file.real, text.as_bytes())?;
    }
    let mut backups = Vec::new();
    for (target, backup, text, old) in &files {
        create_parent(&target.real)?;
        // A copy that differs may hold the user's edits: it is kept beside, under a name
        // Claude Code does not load.
        if let Some(old) = old {
            create_parent(backup)?;
            store::write_file_atomic_with_mode(backup, old.as_bytes(), mode_of(&target.real))
                .with_context(|| format!("cannot back up `{}`", target.named.display()))?;
            backups.push(backup_name(&target.named));
        }
        store::write_file_atomic(&target.real, text.as_bytes())?;
    }
    let (updated, added): (Vec<_>, Vec<_>) = files.iter().partition(|(_, _, _, old)| old.is_some());
    // A state root an older Orchestron made (or a clone brought) has no `.gitignore` of its
    // own yet: `create_state_root` writes it.
    let root_is_folder =
        fs::symlink_metadata(&project.state_root).is_ok_and(|meta| meta.file_type().is_dir());
    let unignored = root_is_folder
        && fs::symlink_metadata(project.state_root.join(store::STATE_GITIGNORE)).is_err();
    let created_root = store::create_state_root(&project.state_root)?;
    let root_ignored = !created_root
        && unignored
        && fs::symlink_metadata(project.state_root.join(store::STATE_GITIGNORE)).is_ok();
    let shared_root = context.location_of(&project.dir);

    if out.json() {
        out.json_line(&json!({
            "project": project.dir,
            "settings": project.local,
            "command": bin,
            "changes": changes_json(&changes),
            "backup": backup,
            "moved_from": (!moved.changes.is_empty()).then(|| json!({
                "settings": project.shared,
                "changes": changes_json(&moved.changes),
                "restored": moved.restored,
            })),
            "gitignore": new_gitignore.is_some(),
            "files_added": added.iter().map(|(target, ..)| &target.named).collect::<Vec<_>>(),
            "files_updated": updated.iter().map(|(target, ..)| &target.named).collect::<Vec<_>>(),
            "files_backed_up": backups,
            "state_root": project.state_root,
            "state_root_created": created_root,
            "state_root_shared_from": shared_root,
            "mcp": mcp.then(|| json!({
                "file": mcp_file.named,
                "changes": changes_json(&mcp_changes),
                "command": [&bin, "mcp"],
            })),
        }))?;
        return Ok(());
    }
    let settings = shown(&project.local, &project.dir);
    if changes.is_empty() {
        out.line(&format!("{settings}: already wired, nothing changed"))?;
    } else {
        out.line(&format!("{settings}: {}", describe(&changes)))?;
    }
    for kept in &changes.kept {
        out.line(&format!("{settings}: kept {kept}"))?;
    }
    if let Some(backup) = &backup {
        out.line(&format!(
            "backup of the old settings: {}",
            shown(backup, &project.dir)
        ))?;
    }
    if !moved.changes.is_empty() {
        out.line(&format!(
            "{}: {} an older init wired there (this machine's wiring belongs in {settings}){}",
            shown(&project.shared, &project.dir),
            describe(&moved.changes),
            if moved.restored {
                "; the file is as it was before"
            } else {
                ""
            }
        ))?;
    }
    if new_gitignore.is_some() {
        out.line(&format!(
            ".gitignore: added {}",
            install::LOCAL_SETTINGS_IGNORE.line
        ))?;
    }
    for (verb, list) in [("added", &added), ("updated", &updated)] {
        if !list.is_empty() {
            out.line(&format!(
                "{verb} {} slash commands and output styles under .claude/ (/orchestron:<name>)",
                list.len()
            ))?;
        }
    }
    for backup in &backups {
        out.line(&format!(
            "the copy it replaced: {}",
            shown(backup, &project.dir)
        ))?;
    }
    let root = shown(&project.state_root, &project.dir);
    if created_root {
        out.line(&format!(
            "state root: created {root} (with a .gitignore: nothing in it is committed)"
        ))?;
    } else if root_ignored {
        out.line(&format!(
            "state root: added {root}/.gitignore (nothing in it is committed)"
        ))?;
    }
    if let Some(main) = &shared_root {
        out.line(&format!(
            "state root: {root}, shared with every worktree of the repository at {}",
            main.display()
        ))?;
    }
    out.line(&format!("hooks run: {bin} hook EVENT"))?;
    if mcp {
        let file = shown(&mcp_file.named, &project.dir);
        if mcp_changes.is_empty() {
            out.line(&format!(
                "{file}: the MCP server is there already, nothing changed"
            ))?;
        } else {
            let verb = if mcp_changes.added.is_empty() {
                "updated"
            } else {
                "added"
            };
            out.line(&format!(
                "{file}: {verb} the MCP server `{}`, which runs `{bin} mcp` (its tools reach \
                 Claude as mcp__orchestron__<tool>; an interactive session asks once to \
                 approve it)",
                install::MCP_SERVER
            ))?;
        }
    }
    if !bin.contains('/') {
        out.line(&format!(
            "note: `{bin}` is a bare name, looked up on the PATH Claude Code starts with; \
             without `--bin` init wires this binary's absolute path"
        ))?;
    }
    Ok(())
}

/// Create the folder `path` sits in (its missing parents too), never writable by others.
fn create_parent(path: &Path) -> anyhow::Result<()> {
    match path.parent() {
        Some(folder) => store::create_dirs(folder),
        None => Ok(()),
    }
}

/// Remove the state root when nothing but the `.gitignore` Orchestron wrote is in it. A
/// root that is a link is left alone: nothing is removed through it.
fn remove_empty_state_root(root: &Path) -> bool {
    if fs::symlink_metadata(root).is_ok_and(|meta| meta.file_type().is_symlink()) {
        return false;
    }
    let ours = root.join(store::STATE_GITIGNORE);
    let Ok(entries) = fs::read_dir(root) else {
        return false;
    };
    let names: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    match names.as_slice() {
        [] => fs::remove_dir(root).is_ok(),
        [only] if only == store::STATE_GITIGNORE => {
            let plain = fs::symlink_metadata(&ours).is_ok_and(|meta| meta.file_type().is_file());
            plain
                && fs::read_to_string(&ours).is_ok_and(|text| text == store::STATE_GITIGNORE_TEXT)
                && fs::remove_file(&ours).is_ok()
                && fs::remove_dir(root).is_ok()
        }
        _ => false,
    }
}

/// `orchestron uninstall [DIR]`: take out exactly what `init` put in, from
/// `.claude/settings.local.json` and, for an older `init`, `.claude/settings.json`. The
/// state root goes only when it is empty: the tracker, decisions, memory, sessions and
/// handoffs in it are the user's data.
pub(super) fn uninstall(
    context: &Context,
    out: &mut Output,
    dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    let project = Project::resolve(context, dir)?;
    // As for `init`: every file it may write or remove, resolved before anything changes.
    let confined = Confined::new(&project.dir)?;
    let SettingsFiles {
        shared,
        shared_backup,
        local,
        local_backup,
        gitignore,
    } = SettingsFiles::resolve(&confined, &project)?;
    let shipped = install::shipped_files()
        .into_iter()
        .map(|(relative, text)| Ok((Target::new(&confined, &project.dir.join(relative))?, text)))
        .collect::<anyhow::Result<Vec<_>>>()?;

    let old_shared = read_optional(&shared.real)?;
    let shared_removal = remove_wiring(
        old_shared.as_deref(),
        read_optional(&shared_backup)?,
        &project.shared,
    )?;
    if shared_removal.text.is_some() {
        check_writable(&shared.real)?;
    }
    // The local settings: init's hooks, then what `orchestron mode` left there.
    let old_local = read_optional(&local.real)?;
    let mut local_removal = remove_wiring(
        old_local.as_deref(),
        read_optional(&local_backup)?,
        &project.local,
    )?;
    if let Some(current) = local_removal.text.as_deref().or(old_local.as_deref())
        && let Some(text) = install::remove_mode_from_settings(current, crate::style::is_ours)
            .with_context(|| {
                format!(
                    "cannot remove Orchestron's mode from `{}`",
                    local.named.display()
                )
            })?
    {
        local_removal.text = Some(text);
    }
    if local_removal
        .text
        .as_deref()
        .is_some_and(|text| !text.is_empty())
    {
        check_writable(&local.real)?;
    }
    // Orchestron's MCP server in `.mcp.json`, which `init --mcp` added.
    let mcp_file = Target::new(&confined, &project.dir.join(install::MCP_FILE))?;
    let (new_mcp, mcp_changes) = match read_optional(&mcp_file.real)? {
        Some(text) => install::remove_mcp_server(&text).with_context(|| {
            format!(
                "cannot remove Orchestron from `{}`",
                mcp_file.named.display()
            )
        })?,
        None => (None, install::Changes::default()),
    };
    if new_mcp.as_deref().is_some_and(|text| !text.is_empty()) {
        check_writable(&mcp_file.real)?;
    }
    let blocks = [&install::LOCAL_SETTINGS_IGNORE, &install::OLD_STATE_IGNORE];
    let old_gitignore = read_optional(&gitignore.real)?;
    let keep_empty_gitignore = old_gitignore
        .as_deref()
        .is_some_and(|text| install::gitignore_was_empty(&blocks, text));
    let mut new_gitignore: Option<String> = None;
    if let Some(text) = &old_gitignore {
        for block in blocks {
            let current = new_gitignore.as_deref().unwrap_or(text);
            if let Some(less) = install::remove_from_gitignore(block, current) {
                new_gitignore = Some(less);
            }
        }
    }

    let mut removed_files = Vec::new();
    let mut kept_files = Vec::new();
    for (target, text) in &shipped {
        match read_optional(&target.real)? {
            Some(old) if old == *text => {
                remove_file(&target.real)?;
                removed_files.push(target.named.clone());
            }
            Some(_) => kept_files.push(target.named.clone()),
            None => {}
        }
        // A copy `init` replaced may hold the user's edits.
        let backup = backup_name(&target.named);
        if fs::symlink_metadata(&backup).is_ok() {
            kept_files.push(backup);
        }
    }
    // The folders the shipped files sat in, innermost first, when nothing else is in them.
    for folder in [
        Path::new(".claude/commands").join(crate::shipped::COMMANDS_FOLDER),
        PathBuf::from(".claude/commands"),
        PathBuf::from(".claude/output-styles"),
    ] {
        let folder = project.dir.join(folder);
        if !removed_files.is_empty() && fs::remove_dir(&folder).is_ok() {
            removed_files.push(folder);
        }
    }
    let mut kept_backups = Vec::new();
    for (target, backup_real, backup_named, removal) in [
        (
            &shared,
            &shared_backup,
            &project.shared_backup,
            &shared_removal,
        ),
        (&local, &local_backup, &project.local_backup, &local_removal),
    ] {
        match removal.text.as_deref() {
            Some("") if !removal.restored => {
                remove_file(&target.real)?;
                removed_files.push(target.named.clone());
            }
            Some(text) => store::write_file_atomic(&target.real, text.as_bytes())?,
            None => {}
        }
        // The backup goes once it has been put back; otherwise it stays, for the user to
        // compare.
        if removal.restored {
            remove_file(backup_real)?;
            removed_files.push(backup_named.clone());
        } else if backup_real.exists() {
            kept_backups.push(backup_named.clone());
        }
    }
    if let Some(folder) = project.shared.parent()
        && !removed_files.is_empty()
        && fs::remove_dir(folder).is_ok()
    {
        removed_files.push(folder.to_path_buf());
    }
    match new_gitignore.as_deref() {
        Some("") if !keep_empty_gitignore => {
            remove_file(&gitignore.real)?;
            removed_files.push(project.gitignore.clone());
        }
        Some(text) => store::write_file_atomic(&gitignore.real, text.as_bytes())?,
        None => {}
    }
    match new_mcp.as_deref() {
        Some("") => {
            remove_file(&mcp_file.real)?;
            removed_files.push(mcp_file.named.clone());
        }
        Some(text) => store::write_file_atomic(&mcp_file.real, text.as_bytes())?,
        None => {}
    }
    let root_removed = remove_empty_state_root(&project.state_root);
    let root_kept = !root_removed && project.state_root.is_dir();
    let mut changes = local_removal.changes;
    let mcp_removed = !mcp_changes.is_empty();
    for removed in shared_removal.changes.removed {
        if !changes.removed.contains(&removed) {
            changes.removed.push(removed);
        }
    }

    if out.json() {
        out.json_line(&json!({
            "project": project.dir,
            "settings": project.local,
            "changes": changes_json(&changes),
            "removed_files": removed_files,
            "kept_backup": kept_backups.first(),
            "kept_backups": kept_backups,
            "kept_files": kept_files,
            "gitignore": new_gitignore.is_some(),
            "state_root": project.state_root,
            "state_root_removed": root_removed,
            "mcp_removed": mcp_removed,
        }))?;
        return Ok(());
    }
    if changes.is_empty() {
        out.line("no Orchestron hooks or status line found")?;
    } else {
        out.line(&format!(
            "{}: {}",
            shown(&project.local, &project.dir),
            describe(&changes)
        ))?;
    }
    for file in &removed_files {
        out.line(&format!("removed {}", shown(file, &project.dir)))?;
    }
    for file in &kept_files {
        let why = if file.to_string_lossy().ends_with(BACKUP_SUFFIX) {
            "the copy init replaced"
        } else {
            "it changed since init"
        };
        out.line(&format!("kept {}: {why}", shown(file, &project.dir)))?;
    }
    for backup in &kept_backups {
        out.line(&format!(
            "kept {}: the settings changed since init, so it was not put back",
            shown(backup, &project.dir)
        ))?;
    }
    if new_gitignore.is_some() {
        out.line(".gitignore: removed the lines init added")?;
    }
    if mcp_removed && new_mcp.as_deref() != Some("") {
        out.line(&format!(
            "{}: removed mcpServers.{} (the other servers stay)",
            shown(&mcp_file.named, &project.dir),
            install::MCP_SERVER
        ))?;
    }
    let root = shown(&project.state_root, &project.dir);
    if root_removed {
        out.line(&format!("removed the empty state root {root}"))?;
    } else if root_kept {
        out.line(&format!(
            "kept {root}: it holds the tracker (items, sprints, time), decisions, memory, \
             sessions and handoffs, shared by every worktree of the repository; \
             `orchestron export > orchestron.jsonl` saves the tracker, `rm -rf {root}` \
             deletes all of it"
        ))?;
    }
    Ok(())
}

/// One finding of `doctor`.
struct Check {
    name: &'static str,
    status: Status,
    detail: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    Warn,
    Fail,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        }
    }
}

/// `orchestron doctor [DIR]`.
pub(super) fn doctor(
    context: &Context,
    out: &mut Output,
    dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    let project = Project::resolve(context, dir)?;
    let mut checks = Vec::new();
    let mut add = |name, status, detail: String| {
        checks.push(Check {
            name,
            status,
            detail,
        })
    };

    let exe = context.current_binary()?;
    add(
        "binary",
        Status::Ok,
        format!("{} {}", exe.display(), env!("CARGO_PKG_VERSION")),
    );
    let mut plugin_on = false;
    for (name, status, detail) in wiring(context, &project) {
        plugin_on |= name == "plugin" && detail.starts_with("plugin ");
        add(name, status, detail);
    }
    let located = orchestron_core::repo::locate(&project.dir);
    // A `.git` file naming something that is not a worktree: the checkout is its own
    // project, which the user may not expect.
    let doubtful = !context.state_root_chosen() && located.doubtful();
    add(
        "root",
        if doubtful { Status::Warn } else { Status::Ok },
        format!(
            "state root {} ({})",
            project.state_root.display(),
            context.state_root_reason(&project.dir)
        ),
    );
    // Only a linked worktree's own root is one an older orchestron made for it alone: a
    // main worktree's is the repository's.
    let own = project.dir.join(orchestron_core::repo::STATE_DIR);
    if located.is_linked_worktree() && own != project.state_root && own.is_dir() {
        add(
            "root",
            Status::Warn,
            format!(
                "{} is a state root an older orchestron made for this worktree alone, and is no \
                 longer read; to keep its items: `ORCHESTRON_HOME={} orchestron export > \
                 items.jsonl`, then `orchestron import items.jsonl`, then remove it",
                own.display(),
                own.display()
            ),
        );
    }
    for (name, status, detail) in state_root(context, &project) {
        add(name, status, detail);
    }
    for (name, status, detail) in mcp_checks(context, &project, &exe, plugin_on) {
        add(name, status, detail);
    }

    let failures = checks.iter().filter(|c| c.status == Status::Fail).count();
    if out.json() {
        let list: Vec<Value> = checks
            .iter()
            .map(|c| json!({"check": c.name, "status": c.status.word().to_lowercase(), "detail": c.detail}))
            .collect();
        out.json_line(&json!({"ok": failures == 0, "checks": list}))?;
    } else {
        for check in &checks {
            out.line(&format!(
                "{:<4}  {:<10}  {}",
                check.status.word(),
                check.name,
                check.detail
            ))?;
        }
    }
    if failures > 0 {
        out.flush()?;
        bail!(
            "doctor found {failures} problem{}",
            if failures == 1 { "" } else { "s" }
        );
    }
    Ok(())
}

/// How Claude Code reaches Orchestron in this project: `init`'s hooks, the plugin, or both.
fn wiring(context: &Context, project: &Project) -> Vec<(&'static str, Status, String)> {
    let mut found = Vec::new();
    let mut files = vec![project.shared.clone(), project.local.clone()];
    if let Some(home) = context.user_home() {
        files.push(home.join(".claude").join("settings.json"));
    }
    // (event, command, the file wiring it)
    let mut wired: Vec<(String, String, PathBuf)> = Vec::new();
    let mut plugin = None;
    for file in &files {
        let text = match fs::read_to_string(file) {
            Ok(text) => text,
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) => {
                found.push((
                    "wiring",
                    Status::Fail,
                    format!("cannot read {}: {err}", file.display()),
                ));
                continue;
            }
        };
        let settings: Value = match serde_json::from_str(&text) {
            Ok(settings) => settings,
            Err(err) => {
                found.push((
                    "wiring",
                    Status::Fail,
                    format!(
                        "{} is not valid JSON ({err}); Claude Code ignores it",
                        file.display()
                    ),
                ));
                continue;
            }
        };
        wired.extend(
            install::wired_events(&settings)
                .into_iter()
                .map(|(event, command)| (event, command, file.clone())),
        );
        let enabled = settings
            .get("enabledPlugins")
            .and_then(Value::as_object)
            .and_then(|plugins| {
                plugins.iter().find(|(name, on)| {
                    name.starts_with("orchestron@") && on.as_bool() == Some(true)
                })
            });
        if let Some((name, _)) = enabled {
            plugin = Some(format!("plugin {name} enabled in {}", file.display()));
        }
    }
    if wired.is_empty() && plugin.is_none() {
        found.push((
            "wiring",
            Status::Fail,
            "Claude Code does not run Orchestron here: run `orchestron init`, or install the plugin"
                .to_owned(),
        ));
        return found;
    }
    if let Some(plugin) = &plugin {
        found.push(("plugin", Status::Ok, plugin.clone()));
        // What the plugin's launcher would run (hooks/orchestron-hook).
        let data = context
            .user_home()
            .map(|home| home.join(".claude/plugins/data"));
        let built = data
            .and_then(|data| fs::read_dir(data).ok())
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter(|entry| {
                entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with("orchestron")
            })
            .map(|entry| entry.path().join("bin/orchestron"))
            .find(|path| is_executable(path));
        let launched = context
            .bin_override()
            .map(Path::to_path_buf)
            .filter(|path| is_executable(path))
            .or_else(|| context.find_program("orchestron"))
            .or(built);
        match launched {
            Some(path) => found.push((
                "plugin",
                Status::Ok,
                format!("its hooks run {}", path.display()),
            )),
            None => found.push((
                "plugin",
                Status::Fail,
                "its hooks find no orchestron binary (`$ORCHESTRON_BIN`, `orchestron` on PATH, \
                 or one built into the plugin's data folder), so they do nothing: run \
                 `./install` in the orchestron repository"
                    .to_owned(),
            )),
        }
    }
    if !wired.is_empty() {
        let missing: Vec<&str> = EVENTS
            .iter()
            .copied()
            .filter(|event| !wired.iter().any(|(e, ..)| e == event))
            .collect();
        if missing.is_empty() {
            found.push((
                "hooks",
                Status::Ok,
                format!("all {} events wired", EVENTS.len()),
            ));
        } else {
            found.push((
                "hooks",
                Status::Fail,
                format!(
                    "not wired: {}; run `orchestron init` again",
                    missing.join(", ")
                ),
            ));
        }
        let mut commands: Vec<(&str, &Path)> = wired
            .iter()
            .map(|(_, command, file)| (command.as_str(), file.as_path()))
            .collect();
        commands.sort_unstable();
        commands.dedup();
        for (command, file) in &commands {
            let (status, detail) = hook_command_check(context, project, command, file, None);
            found.push(("command", status, detail));
        }
        let in_shared = commands.iter().any(|(_, file)| *file == project.shared);
        let in_local = commands.iter().any(|(_, file)| *file == project.local);
        if in_shared {
            let twice = if in_local {
                "; with the hooks in .claude/settings.local.json too, every hook runs twice"
            } else {
                ""
            };
            found.push((
                "wiring",
                Status::Warn,
                format!(
                    ".claude/settings.json, which teams commit, wires Orchestron's hooks (as an \
                     older init did){twice}: run `orchestron init` to move them into \
                     .claude/settings.local.json, this machine's"
                ),
            ));
        }
        if in_local
            && project.dir.join(".git").exists()
            && !fs::read_to_string(&project.gitignore)
                .is_ok_and(|text| install::gitignore_has(&install::LOCAL_SETTINGS_IGNORE, &text))
        {
            found.push((
                "wiring",
                Status::Warn,
                ".claude/settings.local.json, which names this machine's binary, is not in \
                 .gitignore: `orchestron init` adds it (ignore this if your global git excludes \
                 hold it)"
                    .to_owned(),
            ));
        }
        let installed: Vec<bool> = install::shipped_files()
            .iter()
            .map(|(relative, text)| {
                read_optional(&project.dir.join(relative))
                    .ok()
                    .flatten()
                    .as_deref()
                    == Some(*text)
            })
            .collect();
        let current = installed.iter().filter(|same| **same).count();
        if current == installed.len() {
            found.push((
                "commands",
                Status::Ok,
                format!("{current} slash commands and output styles installed under .claude/"),
            ));
        } else if plugin.is_none() {
            found.push((
                "commands",
                Status::Warn,
                format!(
                    "{} of {} slash commands and output styles are missing or differ from this \
                     binary's; run `orchestron init` to install them",
                    installed.len() - current,
                    installed.len()
                ),
            ));
        }
        if plugin.is_none() && context.find_program("orchestron").is_none() {
            found.push((
                "commands",
                Status::Warn,
                "the slash commands run `orchestron` from PATH, and it is not there: run \
                 `./install` in the orchestron repository"
                    .to_owned(),
            ));
        }
        if plugin.is_some() {
            found.push((
                "wiring",
                Status::Warn,
                "both `orchestron init` hooks and the plugin are on: every hook runs twice; \
                 run `orchestron uninstall` or disable the plugin"
                    .to_owned(),
            ));
        }
    }
    found
}

/// The MCP server: this binary's `mcp` started, asked `initialize` and `tools/list`, and
/// answering within 5 seconds; and the `.mcp.json` entry, checked like a hook's command
/// (never run: a committed file may name a stranger's program).
fn mcp_checks(
    context: &Context,
    project: &Project,
    exe: &Path,
    plugin_on: bool,
) -> Vec<(&'static str, Status, String)> {
    let mut found = Vec::new();
    found.push(match mcp_answers(exe, &project.dir) {
        Ok(said) => (
            "mcp",
            Status::Ok,
            format!("`{} mcp` starts and answers: {said}", exe.display()),
        ),
        Err(err) => (
            "mcp",
            Status::Fail,
            format!(
                "`{} mcp` did not answer `initialize`: {err:#}",
                exe.display()
            ),
        ),
    });
    let file = project.dir.join(install::MCP_FILE);
    let top = match fs::read_to_string(&file) {
        Ok(text) => match serde_json::from_str::<Value>(&text) {
            Ok(top) if top.is_object() && top.get("mcpServers").is_none_or(Value::is_object) => {
                Some(top)
            }
            _ => {
                found.push((
                    "mcp",
                    Status::Warn,
                    format!(
                        "{} is not a JSON object with an `mcpServers` object: Claude Code loads \
                         none of its servers; fix it by hand",
                        shown(&file, &project.dir)
                    ),
                ));
                return found;
            }
        },
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => {
            found.push((
                "mcp",
                Status::Warn,
                format!("cannot read {}: {err}", shown(&file, &project.dir)),
            ));
            return found;
        }
    };
    let server = top.and_then(|top| {
        top.pointer(&format!("/mcpServers/{}", install::MCP_SERVER))
            .cloned()
    });
    match server {
        Some(server) if install::our_mcp_server(&server) => {
            let command = server["command"].as_str().unwrap_or_default();
            let fix = "run `orchestron init --mcp` (it names this binary's absolute path)";
            let (status, detail) = hook_command_check(context, project, command, &file, Some(fix));
            found.push((
                "mcp",
                status,
                detail.replace("no hook runs", "the server does not start"),
            ));
            if plugin_on {
                found.push((
                    "mcp",
                    Status::Warn,
                    format!(
                        "the plugin declares the server too, so Claude has every tool twice: \
                         remove `{}` from {} or disable the plugin",
                        install::MCP_SERVER,
                        shown(&file, &project.dir)
                    ),
                ));
            }
        }
        Some(server) => found.push((
            "mcp",
            Status::Warn,
            format!(
                "{} names another server `{}`: {server}",
                shown(&file, &project.dir),
                install::MCP_SERVER
            ),
        )),
        None => found.push((
            "mcp",
            Status::Ok,
            format!(
                "not in {} (`orchestron init --mcp` adds it; the plugin declares it itself)",
                shown(&file, &project.dir)
            ),
        )),
    }
    found
}

/// Start `exe mcp` in `dir`, send `initialize` and `tools/list`, and read both replies within
/// 5 seconds: the protocol version and the number of tools.
fn mcp_answers(exe: &Path, dir: &Path) -> anyhow::Result<String> {
    use std::io::{BufRead as _, Write as _};
    let mut child = std::process::Command::new(exe)
        .arg("mcp")
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .context("cannot start it")?;
    let mut stdin = child.stdin.take().context("no stdin")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let lines: Vec<String> = std::io::BufReader::new(stdout)
            .lines()
            .take(2)
            .map_while(Result::ok)
            .collect();
        let _ = send.send(lines);
    });
    let requests = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": crate::mcp::PROTOCOL_VERSIONS[0], "capabilities": {},
            "clientInfo": {"name": "orchestron-doctor", "version": env!("CARGO_PKG_VERSION")}}}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    ];
    for request in requests {
        writeln!(stdin, "{request}").context("cannot write to it")?;
    }
    drop(stdin);
    let lines = receive.recv_timeout(std::time::Duration::from_secs(5));
    let _ = child.kill();
    let _ = child.wait();
    let lines = lines.map_err(|_| anyhow::anyhow!("no answer within 5 seconds"))?;
    let replies: Vec<Value> = lines
        .iter()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let version = replies
        .first()
        .and_then(|reply| reply.pointer("/result/protocolVersion"))
        .and_then(Value::as_str)
        .context("no `initialize` result")?;
    let tools = replies
        .get(1)
        .and_then(|reply| reply.pointer("/result/tools"))
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if tools == 0 {
        anyhow::bail!("it answered `initialize` (protocol {version}) but listed no tools");
    }
    Ok(format!("protocol {version}, {tools} tools"))
}

/// What Claude Code will run for a hook `command` written in `file`, resolved as Claude Code
/// resolves it: exec form, so `${CLAUDE_PROJECT_DIR}` is replaced, a bare name is looked up
/// on Claude Code's own PATH (which doctor cannot see), and a relative path is taken from the
/// project folder (a hook's working directory). The program is never run: it may be a
/// stranger's (`${CLAUDE_PROJECT_DIR}/tools/orchestron` in a committed settings file).
fn hook_command_check(
    context: &Context,
    project: &Project,
    command: &str,
    file: &Path,
    fix: Option<&str>,
) -> (Status, String) {
    let written = format!("{} runs `{command}`", shown(file, &project.dir));
    let fix = fix.unwrap_or(
        "run `orchestron init` (it wires this binary's absolute path in \
         .claude/settings.local.json)",
    );
    let expanded = command.replace("${CLAUDE_PROJECT_DIR}", &project.dir.to_string_lossy());
    if !expanded.contains('/') {
        return match context.find_program(&expanded) {
            Some(path) => (
                Status::Warn,
                format!(
                    "{written} by name: Claude Code looks it up on the PATH it was started \
                     with, which doctor cannot see (on this shell's PATH it is {}); a Claude Code \
                     started without that folder on its PATH (from a desktop launcher, say) \
                     runs no hook and logs \"Executable not found\"; {fix}",
                    path.display()
                ),
            ),
            None => (
                Status::Fail,
                format!(
                    "{written} by name, and it is not on this shell's PATH either, so the hooks \
                     most likely do not run; {fix}"
                ),
            ),
        };
    }
    let path = project.dir.join(&expanded);
    let relative = if Path::new(&expanded).is_absolute() {
        String::new()
    } else {
        format!(" (relative to {})", project.dir.display())
    };
    if !path.exists() {
        return (
            Status::Fail,
            format!("{written}{relative}, which does not exist: no hook runs; {fix}"),
        );
    }
    if !is_executable(&path) {
        return (
            Status::Fail,
            format!("{written}{relative}, which is not an executable file: no hook runs; {fix}"),
        );
    }
    if context
        .current_binary()
        .is_ok_and(|exe| same_program(&exe, &path))
    {
        return (
            Status::Ok,
            format!(
                "{written}{relative}: this binary, {}, whatever PATH Claude Code has",
                env!("CARGO_PKG_VERSION")
            ),
        );
    }
    // Never run: the project names it, and a diagnostic must not run code from a clone.
    (
        Status::Warn,
        format!(
            "{written}{relative}, an executable file that is not this binary; doctor does not \
             run programs a project names: run `{} --version` yourself to see what it is, or {fix}",
            path.display()
        ),
    )
}

/// Whether `path` is the program `exe`: the same file by canonical path, or by device and
/// inode (a hard link).
fn same_program(exe: &Path, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    if let (Ok(exe), Ok(path)) = (fs::canonicalize(exe), fs::canonicalize(path))
        && exe == path
    {
        return true;
    }
    match (fs::metadata(exe), fs::metadata(path)) {
        (Ok(exe), Ok(path)) => exe.dev() == path.dev() && exe.ino() == path.ino(),
        _ => false,
    }
}

/// The state root exists, is a directory this user can write, and its configuration reads.
fn state_root(context: &Context, project: &Project) -> Vec<(&'static str, Status, String)> {
    let root = &project.state_root;
    let shown_root = root.display().to_string();
    let mut found = Vec::new();
    // A state root found in the project that is a link, or holds links at its folders'
    // names: every write refuses it (see `store::refuse_linked_state`).
    if !context.state_root_chosen()
        && let Some(link) = store::linked_state(root, STATE_FOLDERS)
    {
        let err = store::linked_state_error(root, &link);
        found.push((
            "state",
            Status::Fail,
            format!(
                "{}; every write refuses it: {}",
                err.message(),
                err.hint().unwrap_or_default()
            ),
        ));
        if link == *root {
            return found;
        }
    }
    let meta = match fs::metadata(root) {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            found.push((
                "state",
                Status::Warn,
                format!(
                    "{shown_root} does not exist yet; `orchestron init` or the first hook creates it"
                ),
            ));
            return found;
        }
        Err(err) => {
            found.push((
                "state",
                Status::Fail,
                format!("cannot read {shown_root}: {err}"),
            ));
            return found;
        }
    };
    if !meta.is_dir() {
        found.push((
            "state",
            Status::Fail,
            format!("{shown_root} is not a directory"),
        ));
        return found;
    }
    let probe = root.join(format!(".doctor-{}", std::process::id()));
    // Created exclusively: a link planted at the probe's name is never written through.
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = fs::remove_file(&probe);
            let sessions = fs::read_dir(root.join("sessions")).map_or(0, |entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "json"))
                    .count()
            });
            found.push((
                "state",
                Status::Ok,
                format!("{shown_root} is writable; {sessions} sessions"),
            ));
        }
        Err(err) => found.push((
            "state",
            Status::Fail,
            format!("cannot write in {shown_root}: {err}"),
        )),
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o022 != 0 {
        // Anyone on the machine could rewrite sessions (and so the context injected into
        // Claude Code): a failure when everyone can, a warning for the group.
        let status = if mode & 0o002 != 0 {
            Status::Fail
        } else {
            Status::Warn
        };
        found.push((
            "permissions",
            status,
            format!("{shown_root} has mode {mode:o}: others can change sessions; `chmod 700 {shown_root}`"),
        ));
    }
    match orchestron_core::config::Config::load(&root.join("config.json")) {
        Ok(_) => found.push(("config", Status::Ok, "config.json reads".to_owned())),
        Err(err) => found.push(("config", Status::Fail, format!("{err:#}"))),
    }
    found.push(tracker_check(
        &root.join(orchestron_core::tracker::db::FILE_NAME),
    ));
    if !root.join(store::STATE_GITIGNORE).exists() && inside_git_checkout(root) {
        let ignored = fs::read_to_string(&project.gitignore)
            .is_ok_and(|text| install::gitignore_has(&install::OLD_STATE_IGNORE, &text));
        if !ignored {
            found.push((
                "gitignore",
                Status::Warn,
                format!(
                    "{shown_root} has no .gitignore of its own, so git may commit the tracker \
                     and sessions: `orchestron init` adds one"
                ),
            ));
        }
    }
    found
}

/// Whether `path` lies in a git checkout (an ancestor holds `.git`).
fn inside_git_checkout(path: &Path) -> bool {
    path.ancestors()
        .skip(1)
        .any(|dir| dir.join(".git").exists())
}

/// The tracker: opened read-only and put through SQLite's quick check, changing nothing. A
/// zero-byte, damaged or newer-format database fails, with the fix.
fn tracker_check(path: &Path) -> (&'static str, Status, String) {
    use orchestron_core::tracker::db::{Db, Health, SCHEMA_VERSION};
    let shown = path.display();
    match Db::health(path) {
        Health::Missing => (
            "tracker",
            Status::Ok,
            "no tracker yet: the first `orchestron task create` makes one".to_owned(),
        ),
        Health::Ok { schema } if schema < SCHEMA_VERSION => (
            "tracker",
            Status::Ok,
            format!(
                "{shown} passes the quick check (schema {schema}; the next write upgrades it to {SCHEMA_VERSION})"
            ),
        ),
        Health::Ok { schema } => (
            "tracker",
            Status::Ok,
            format!("{shown} passes the quick check (schema {schema})"),
        ),
        Health::Newer { schema } => (
            "tracker",
            Status::Fail,
            format!(
                "{shown} has schema {schema}, newer than this orchestron ({SCHEMA_VERSION}): upgrade orchestron"
            ),
        ),
        Health::Damaged(how) => (
            "tracker",
            Status::Fail,
            format!(
                "{how}: restore {shown} from a backup, or move it aside to start an empty tracker (`orchestron import` loads an export)"
            ),
        ),
    }
}

/// What the hooks run: this binary by its absolute path, so they run whatever PATH Claude
/// Code starts with. When the `orchestron` on `PATH` is this binary (perhaps through a link,
/// as `./install` or a package manager leaves it), that path, which an upgrade keeps.
fn hook_command(context: &Context) -> anyhow::Result<String> {
    let exe = context.current_binary()?;
    let on_path = context
        .find_program("orchestron")
        .filter(|found| found.is_absolute())
        .filter(|found| {
            fs::canonicalize(found)
                .ok()
                .zip(fs::canonicalize(&exe).ok())
                .is_some_and(|(found, exe)| found == exe)
        });
    on_path
        .unwrap_or(exe)
        .to_str()
        .map(str::to_owned)
        .context("the path of this binary is not UTF-8; pass `--bin`")
}

/// Refuse to rewrite a file its owner made read-only.
fn check_writable(path: &Path) -> anyhow::Result<()> {
    match fs::metadata(path) {
        Ok(meta) if meta.permissions().readonly() => Err(orchestron_core::error::hinted(
            format!("`{}` is read-only", path.display()),
            "make it writable (`chmod u+w`) and run this again",
        )),
        _ => Ok(()),
    }
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

fn remove_file(path: &Path) -> anyhow::Result<()> {
    fs::remove_file(path).with_context(|| format!("cannot remove `{}`", path.display()))
}

fn changes_json(changes: &Changes) -> Value {
    json!({
        "added": changes.added,
        "updated": changes.updated,
        "removed": changes.removed,
        "kept": changes.kept,
    })
}

fn describe(changes: &Changes) -> String {
    let mut parts = Vec::new();
    for (verb, items) in [
        ("added", &changes.added),
        ("updated", &changes.updated),
        ("removed", &changes.removed),
    ] {
        if items.is_empty() {
            continue;
        }
        let hooks = items
            .iter()
            .filter(|item| item.starts_with("hooks."))
            .count();
        let status = items.iter().any(|item| item == "statusLine");
        let mut what = Vec::new();
        if hooks > 0 {
            what.push(format!("{hooks} hook{}", if hooks == 1 { "" } else { "s" }));
        }
        if status {
            what.push("the status line".to_owned());
        }
        parts.push(format!("{verb} {}", what.join(" and ")));
    }
    parts.join("; ")
}

/// `path` relative to the project when it lies inside it.
fn shown(path: &Path, dir: &Path) -> String {
    path.strip_prefix(dir).map_or_else(
        |_| path.display().to_string(),
        |rel| rel.display().to_string(),
    )
}
