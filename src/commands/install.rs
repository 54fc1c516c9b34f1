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
use orchestron_core::store::{self, Confined, read_optional};

/// Where init keeps a copy of the settings file as it was before init changed it.
const BACKUP_SUFFIX: &str = ".orchestron-backup";

/// The files of one project that init and uninstall touch.
struct Project {
    dir: PathBuf,
    settings: PathBuf,
    backup: PathBuf,
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
        let settings = dir.join(".claude").join("settings.json");
        let mut backup = settings.clone().into_os_string();
        backup.push(BACKUP_SUFFIX);
        Ok(Project {
            settings,
            backup: PathBuf::from(backup),
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

/// `orchestron init [DIR] [--bin PATH]`.
pub(super) fn init(
    context: &Context,
    out: &mut Output,
    dir: Option<PathBuf>,
    bin: Option<String>,
) -> anyhow::Result<()> {
    let project = Project::resolve(context, dir)?;
    let bin = match bin {
        Some(bin) => bin,
        None => hook_command(context)?,
    };
    // Where every write goes, checked before anything is read or written: a symbolic link
    // out of the project, or one at a temp file's or a backup's name, stops here.
    let confined = Confined::new(&project.dir)?;
    let settings = Target::new(&confined, &project.settings)?;
    let settings_backup = backup_at(&confined, &project.backup)?;
    let gitignore = if project.state_root.starts_with(&project.dir) {
        Some(Target::new(&confined, &project.gitignore)?)
    } else {
        None
    };
    // Work out every change before writing anything: a malformed settings file stops here.
    let old_settings = read_optional(&settings.real)?;
    let (new_settings, changes) = install::add_to_settings(old_settings.as_deref(), &bin)
        .with_context(|| format!("cannot add Orchestron to `{}`", project.settings.display()))?;
    let new_gitignore = match &gitignore {
        Some(gitignore) => install::add_to_gitignore(read_optional(&gitignore.real)?.as_deref()),
        None => None,
    };

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
    if new_settings.is_some() {
        check_writable(&settings.real)?;
    }
    if let (Some(_), Some(gitignore)) = (&new_gitignore, &gitignore) {
        check_writable(&gitignore.real)?;
    }

    let mut backup = None;
    if let Some(text) = &new_settings {
        create_parent(&settings.real)?;
        create_parent(&settings_backup)?;
        // The first backup is the file as it was before Orchestron: later runs keep it.
        if let Some(old) = &old_settings
            && !settings_backup.exists()
        {
            store::write_file_atomic_with_mode(
                &settings_backup,
                old.as_bytes(),
                mode_of(&settings.real),
            )?;
            backup = Some(project.backup.clone());
        }
        store::write_file_atomic(&settings.real, text.as_bytes())?;
    }
    if let (Some(text), Some(gitignore)) = (&new_gitignore, &gitignore) {
        store::write_file_atomic(&gitignore.real, text.as_bytes())?;
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
    let created_root = !project.state_root.exists();
    store::create_private_dir(&project.state_root)?;

    if out.json() {
        out.json_line(&json!({
            "project": project.dir,
            "settings": project.settings,
            "command": bin,
            "changes": changes_json(&changes),
            "backup": backup,
            "gitignore": new_gitignore.is_some(),
            "files_added": added.iter().map(|(target, ..)| &target.named).collect::<Vec<_>>(),
            "files_updated": updated.iter().map(|(target, ..)| &target.named).collect::<Vec<_>>(),
            "files_backed_up": backups,
            "state_root": project.state_root,
            "state_root_created": created_root,
        }))?;
        return Ok(());
    }
    let settings = shown(&project.settings, &project.dir);
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
    if new_gitignore.is_some() {
        out.line(".gitignore: added .orchestron/")?;
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
        out.line(&format!("state root: created {root}"))?;
    }
    out.line(&format!("hooks run: {bin} hook EVENT"))?;
    Ok(())
}

/// Create the folder `path` sits in (its missing parents too), never writable by others.
fn create_parent(path: &Path) -> anyhow::Result<()> {
    match path.parent() {
        Some(folder) => store::create_dirs(folder),
        None => Ok(()),
    }
}

/// `orchestron uninstall [DIR]`: take out exactly what `init` put in. The state root goes
/// only when it is empty: sessions and handoffs are the user's data.
pub(super) fn uninstall(
    context: &Context,
    out: &mut Output,
    dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    let project = Project::resolve(context, dir)?;
    // As for `init`: every file it may write or remove, resolved before anything changes.
    let confined = Confined::new(&project.dir)?;
    let settings = Target::new(&confined, &project.settings)?;
    let settings_backup = backup_at(&confined, &project.backup)?;
    let gitignore = Target::new(&confined, &project.gitignore)?;
    let local = Target::new(
        &confined,
        &project.dir.join(".claude").join("settings.local.json"),
    )?;
    let shipped = install::shipped_files()
        .into_iter()
        .map(|(relative, text)| Ok((Target::new(&confined, &project.dir.join(relative))?, text)))
        .collect::<anyhow::Result<Vec<_>>>()?;

    let old_settings = read_optional(&settings.real)?;
    let (mut new_settings, changes) = match &old_settings {
        Some(text) => install::remove_from_settings(text).with_context(|| {
            format!(
                "cannot remove Orchestron from `{}`",
                project.settings.display()
            )
        })?,
        None => (None, Changes::default()),
    };
    // Untouched since init? Then the backup is the file as it was, to the byte.
    let mut restored = false;
    if new_settings.is_some()
        && let Some(current) = &old_settings
        && let Some(backup) = read_optional(&settings_backup)?
        && install::restores(&backup, current)
    {
        new_settings = Some(backup);
        restored = true;
    }
    if new_settings.is_some() {
        check_writable(&settings.real)?;
    }
    let old_gitignore = read_optional(&gitignore.real)?;
    let keep_empty_gitignore = old_gitignore
        .as_deref()
        .is_some_and(install::gitignore_was_empty);
    let new_gitignore = old_gitignore
        .as_deref()
        .and_then(install::remove_from_gitignore);

    // What `orchestron mode` left in the local settings.
    let new_local = match read_optional(&local.real)? {
        Some(text) => install::remove_mode_from_settings(&text, crate::style::is_ours)
            .with_context(|| {
                format!(
                    "cannot remove Orchestron's mode from `{}`",
                    local.named.display()
                )
            })?,
        None => None,
    };
    if new_local.as_deref().is_some_and(|text| !text.is_empty()) {
        check_writable(&local.real)?;
    }

    let mut removed_files = Vec::new();
    let mut kept_files = Vec::new();
    match new_local.as_deref() {
        Some("") => {
            remove_file(&local.real)?;
            removed_files.push(local.named.clone());
        }
        Some(text) => store::write_file_atomic(&local.real, text.as_bytes())?,
        None => {}
    }
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
    match new_settings.as_deref() {
        Some("") if !restored => {
            remove_file(&settings.real)?;
            removed_files.push(project.settings.clone());
            if let Some(folder) = project.settings.parent()
                && fs::remove_dir(folder).is_ok()
            {
                removed_files.push(folder.to_path_buf());
            }
        }
        Some(text) => store::write_file_atomic(&settings.real, text.as_bytes())?,
        None => {}
    }
    // The backup goes once it has been put back; otherwise it stays, for the user to compare.
    let kept_backup = settings_backup.exists() && !restored;
    if restored {
        remove_file(&settings_backup)?;
        removed_files.push(project.backup.clone());
    }
    match new_gitignore.as_deref() {
        Some("") if !keep_empty_gitignore => {
            remove_file(&gitignore.real)?;
            removed_files.push(project.gitignore.clone());
        }
        Some(text) => store::write_file_atomic(&gitignore.real, text.as_bytes())?,
        None => {}
    }
    let root_removed = fs::remove_dir(&project.state_root).is_ok();
    let root_kept = !root_removed && project.state_root.is_dir();

    if out.json() {
        out.json_line(&json!({
            "project": project.dir,
            "settings": project.settings,
            "changes": changes_json(&changes),
            "removed_files": removed_files,
            "kept_backup": kept_backup.then_some(&project.backup),
            "kept_files": kept_files,
            "gitignore": new_gitignore.is_some(),
            "state_root": project.state_root,
            "state_root_removed": root_removed,
        }))?;
        return Ok(());
    }
    let settings = shown(&project.settings, &project.dir);
    if changes.is_empty() {
        out.line(&format!(
            "{settings}: no Orchestron hooks or status line found"
        ))?;
    } else {
        out.line(&format!("{settings}: {}", describe(&changes)))?;
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
    if kept_backup {
        out.line(&format!(
            "kept {}: the settings changed since init, so it was not put back",
            shown(&project.backup, &project.dir)
        ))?;
    }
    if new_gitignore.is_some() {
        out.line(".gitignore: removed the .orchestron/ lines init added")?;
    }
    let root = shown(&project.state_root, &project.dir);
    if root_removed {
        out.line(&format!("removed the empty state root {root}"))?;
    } else if root_kept {
        out.line(&format!(
            "kept {root}: it holds sessions and handoffs; `rm -rf {root}` deletes them"
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
    for (name, status, detail) in wiring(context, &project) {
        add(name, status, detail);
    }
    for (name, status, detail) in state_root(context, &project) {
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
    let mut files = vec![
        project.settings.clone(),
        project.dir.join(".claude").join("settings.local.json"),
    ];
    if let Some(home) = context.user_home() {
        files.push(home.join(".claude").join("settings.json"));
    }
    let mut wired: Vec<(String, String)> = Vec::new();
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
        wired.extend(install::wired_events(&settings));
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
            .filter(|event| !wired.iter().any(|(e, _)| e == event))
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
        let mut commands: Vec<&str> = wired.iter().map(|(_, command)| command.as_str()).collect();
        commands.sort_unstable();
        commands.dedup();
        for command in commands {
            let resolved = if command.contains('/') {
                Some(PathBuf::from(command)).filter(|path| is_executable(path))
            } else {
                context.find_program(command)
            };
            match resolved {
                Some(path) => found.push(("command", Status::Ok, format!("{command} → {}", path.display()))),
                None => found.push((
                    "command",
                    Status::Fail,
                    format!("the hooks run `{command}`, which is not an executable here; install it or run `orchestron init` again"),
                )),
            }
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

/// The state root exists, is a directory this user can write, and its configuration reads.
fn state_root(context: &Context, project: &Project) -> Vec<(&'static str, Status, String)> {
    let root = &project.state_root;
    let shown_root = root.display().to_string();
    let meta = match fs::metadata(root) {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return vec![(
                "state",
                Status::Warn,
                format!(
                    "{shown_root} does not exist yet; `orchestron init` or the first hook creates it"
                ),
            )];
        }
        Err(err) => {
            return vec![(
                "state",
                Status::Fail,
                format!("cannot read {shown_root}: {err}"),
            )];
        }
    };
    if !meta.is_dir() {
        return vec![(
            "state",
            Status::Fail,
            format!("{shown_root} is not a directory"),
        )];
    }
    let mut found = Vec::new();
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
    if root.starts_with(&project.dir) && project.dir.join(".git").exists() {
        let ignored = fs::read_to_string(&project.gitignore).is_ok_and(|text| {
            text.lines().any(|line| {
                matches!(
                    line.trim(),
                    ".orchestron" | ".orchestron/" | "/.orchestron" | "/.orchestron/"
                )
            })
        });
        if !ignored {
            found.push((
                "gitignore",
                Status::Warn,
                ".orchestron/ is not in .gitignore: session files may get committed".to_owned(),
            ));
        }
    }
    let _ = context;
    found
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

/// What the hooks should run: `orchestron` when the one on `PATH` is this binary, else
/// this binary's absolute path.
fn hook_command(context: &Context) -> anyhow::Result<String> {
    let exe = context.current_binary()?;
    let same = context
        .find_program("orchestron")
        .and_then(|found| fs::canonicalize(found).ok())
        .zip(fs::canonicalize(&exe).ok())
        .is_some_and(|(found, exe)| found == exe);
    if same {
        return Ok("orchestron".to_owned());
    }
    exe.to_str()
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
