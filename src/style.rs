//! Output styles and session modes. Claude Code fixes a session's output style when the
//! session starts, from `outputStyle` in its settings; Orchestron maps each mode to a style
//! (`session.styles` in the configuration), injects the style's instructions at SessionStart
//! when Claude Code is not already applying it, and points `outputStyle` at it when
//! `orchestron mode` switches.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde_json::Value;

use crate::context::Context;
use crate::shipped::{self, PLUGIN};
use orchestron_core::session::Mode;

/// Where a project keeps its own styles, and where `init` installs Orchestron's.
const PROJECT_STYLES: &str = ".claude/output-styles";

/// What to write as `outputStyle` for the style `name`: its bare name when the project has
/// the file (installed by `orchestron init`, or the user's own), else the plugin's
/// namespaced name, `orchestron:<name>`.
pub(crate) fn setting_for(project: &Path, name: &str) -> String {
    if project_file(project, name).is_file() || shipped::style(name).is_none() {
        name.to_owned()
    } else {
        format!("{PLUGIN}:{name}")
    }
}

/// Whether an `outputStyle` setting names one of Orchestron's styles, in either form.
pub(crate) fn is_ours(setting: &str) -> bool {
    shipped::style(bare(setting)).is_some()
}

/// A setting's style name without the plugin's `orchestron:` prefix.
fn bare(setting: &str) -> &str {
    setting
        .strip_prefix(PLUGIN)
        .and_then(|rest| rest.strip_prefix(':'))
        .unwrap_or(setting)
}

/// The instructions of the style `name`: the project's copy when there is one (it may have
/// been edited), else the shipped text; `None` for a style nobody has.
pub(crate) fn instructions(project: &Path, name: &str) -> Option<String> {
    if let Ok(text) = std::fs::read_to_string(project_file(project, name)) {
        return Some(shipped::body(&text).trim().to_owned());
    }
    shipped::style(name).map(|style| shipped::body(style.text).trim().to_owned())
}

/// The `outputStyle` Claude Code applies in `project`: the local settings, else the
/// project's, else the user's (`user_home/.claude/settings.json`).
pub(crate) fn active_setting(project: &Path, user_home: Option<&Path>) -> Option<String> {
    settings_files(project, user_home).iter().find_map(|file| {
        let text = std::fs::read_to_string(file).ok()?;
        let value: Value = serde_json::from_str(&text).ok()?;
        value
            .get("outputStyle")
            .and_then(Value::as_str)
            .map(str::to_owned)
    })
}

/// The mode new sessions in a project start in, and where that comes from.
#[derive(Debug, Clone)]
pub(crate) struct StartingMode {
    pub mode: Mode,
    /// `settings` (a Claude Code settings file's `env`), `environment` (this process's
    /// `ORCHESTRON_MODE`), `config` (`session.default_mode`) or `default`.
    pub source: &'static str,
    /// The settings file that sets it, for `settings`.
    pub file: Option<PathBuf>,
}

/// The mode a new Claude Code session in this project starts in, as its hooks will see it:
/// `env.ORCHESTRON_MODE` in `.claude/settings.local.json` (what `orchestron mode MODE`
/// writes), else in `.claude/settings.json`, else in the user's settings (Claude Code gives
/// its hooks that environment, the local file winning), else this process's
/// `ORCHESTRON_MODE`, else the configuration's `session.default_mode`, else development.
/// A value that is not a mode is an error naming where it is: the hooks would refuse it.
pub(crate) fn starting_mode(context: &Context) -> anyhow::Result<StartingMode> {
    for file in settings_files(context.project_root(), context.user_home()) {
        let Some(text) = orchestron_core::store::read_optional(&file)? else {
            continue;
        };
        let named = crate::install::mode_in_settings(&text)
            .with_context(|| format!("cannot read `{}`", file.display()))?;
        if let Some(raw) = named {
            let mode = raw.parse::<Mode>().with_context(|| {
                format!(
                    "invalid `env.{}` in `{}`",
                    crate::install::MODE_VARIABLE,
                    file.display()
                )
            })?;
            return Ok(StartingMode {
                mode,
                source: "settings",
                file: Some(file),
            });
        }
    }
    if let Some(raw) = context.mode_override() {
        let mode = raw
            .parse::<Mode>()
            .with_context(|| format!("invalid `{}`", crate::context::var::MODE))?;
        return Ok(StartingMode {
            mode,
            source: "environment",
            file: None,
        });
    }
    let config = context.config()?;
    let source = if config.session.default_mode.is_some() {
        "config"
    } else {
        "default"
    };
    Ok(StartingMode {
        mode: config.default_mode(),
        source,
        file: None,
    })
}

/// Claude Code's settings files for `project`, the one that wins first: the local settings,
/// the project's, the user's (`user_home/.claude/settings.json`).
fn settings_files(project: &Path, user_home: Option<&Path>) -> Vec<PathBuf> {
    let claude = project.join(".claude");
    let mut files = vec![
        claude.join("settings.local.json"),
        claude.join("settings.json"),
    ];
    if let Some(home) = user_home {
        files.push(home.join(".claude").join("settings.json"));
    }
    files
}

/// Whether the setting `active` applies the style `name`.
pub(crate) fn applies(active: &str, name: &str) -> bool {
    bare(active) == name
}

fn project_file(project: &Path, name: &str) -> std::path::PathBuf {
    project.join(PROJECT_STYLES).join(format!("{name}.md"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_both_forms() {
        assert!(is_ours("sprint_execution"));
        assert!(is_ours("orchestron:leadership_chat"));
        assert!(!is_ours("Explanatory"));
        assert!(!is_ours("other:sprint_execution"));
        assert!(applies("orchestron:sprint_execution", "sprint_execution"));
        assert!(applies("sprint_execution", "sprint_execution"));
        assert!(!applies("Explanatory", "sprint_execution"));
        let nowhere = Path::new("/nonexistent");
        assert_eq!(
            setting_for(nowhere, "sprint_execution"),
            "orchestron:sprint_execution"
        );
        assert_eq!(setting_for(nowhere, "my_style"), "my_style");
        assert!(instructions(nowhere, "config_manager").is_some());
        assert!(instructions(nowhere, "my_style").is_none());
    }
}
