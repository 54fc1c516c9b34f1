//! `orchestron mode [MODE]`: show a session's mode and its output style, or switch both.
//! Without a session (run from a terminal) it shows and sets the mode new sessions start in;
//! with one, it shows both. What new sessions start in is read from where `mode MODE`
//! writes it (`style::starting_mode`).

use serde_json::{Value, json};

use crate::context::Context;
use crate::output::Output;
use crate::{install, style};
use orchestron_core::ids::SessionId;
use orchestron_core::session::{self, Lifecycle, Mode};
use orchestron_core::store;

pub(super) fn run(
    context: &Context,
    out: &mut Output,
    mode: Option<Mode>,
    session: Option<String>,
) -> anyhow::Result<()> {
    let id = match session.as_deref().or(context.session_hint()) {
        Some(raw) => Some(SessionId::parse(raw)?),
        None => None,
    };
    let store = context.store()?;
    let config = context.config()?;
    let project = context.project_root();
    let Some(mode) = mode else {
        // What new sessions start in, from the settings `mode MODE` writes.
        let starting = style::starting_mode(context)?;
        let mode = match &id {
            Some(id) => Lifecycle::of(&store.read(id)?)?.mode,
            None => starting.mode,
        };
        let modes: Vec<Value> = Mode::NAMES
            .iter()
            .filter_map(|name| name.parse::<Mode>().ok())
            .map(|mode| json!({"mode": mode.as_str(), "style": config.style(mode)}))
            .collect();
        let value = json!({
            "session": id.as_ref().map(SessionId::as_str),
            "mode": mode.as_str(),
            "style": config.style(mode),
            "output_style": style::active_setting(project, context.user_home()),
            "new_sessions": {
                "mode": starting.mode.as_str(),
                "style": config.style(starting.mode),
                "from": starting.source,
                "file": starting.file,
            },
            "modes": modes,
        });
        if out.json() {
            out.json_line(&value)?;
        } else {
            let style_of = |mode: Mode| {
                config
                    .style(mode)
                    .unwrap_or("Claude Code's default")
                    .to_owned()
            };
            let from = match (starting.source, &starting.file) {
                ("settings", Some(file)) => format!(
                    "`env.{}` in {}",
                    install::MODE_VARIABLE,
                    file.strip_prefix(project).unwrap_or(file).display()
                ),
                ("environment", _) => format!("`{}` in this environment", install::MODE_VARIABLE),
                ("config", _) => "`session.default_mode` in the configuration".to_owned(),
                _ => "the default".to_owned(),
            };
            let new_sessions = format!(
                "new sessions here start in {} mode (style: {}), from {from}",
                starting.mode.as_str(),
                style_of(starting.mode)
            );
            match &id {
                Some(id) => out.line(&format!(
                    "{} is in {} mode (style: {}); {new_sessions}",
                    id.as_str(),
                    mode.as_str(),
                    style_of(mode)
                ))?,
                None => out.line(&new_sessions)?,
            }
        }
        return Ok(());
    };

    // Everything is checked before anything is written: the session must exist and be
    // live, and the settings file must read.
    let name = config.style(mode);
    let setting = name.map(|name| style::setting_for(project, name));
    let settings = project.join(".claude").join("settings.local.json");
    // Where the write really goes, checked first: a symbolic link out of the project, or one
    // at the temp file's name, is refused, naming it.
    let confined = store::Confined::new(project)?;
    let real = confined.resolve(&settings)?;
    confined.own(&store::temp_path(&real))?;
    let old = store::read_optional(&real)?;
    let new = install::set_mode_in_settings(
        old.as_deref(),
        setting.as_deref(),
        mode.as_str(),
        style::is_ours,
    )
    .map_err(|err| err.context(format!("cannot update `{}`", settings.display())))?;
    let now = context.now;
    let write_settings = || -> anyhow::Result<()> {
        if let Some(text) = &new {
            if let Some(folder) = real.parent() {
                store::create_dirs(folder)?;
            }
            store::write_file_atomic(&real, text.as_bytes())?;
        }
        Ok(())
    };
    // One transaction: the settings are written under the session's lock, once its switch
    // is known to be allowed, and a failed write leaves the session as it was.
    let changed = match &id {
        Some(id) => store.update(id, |document| {
            let changed = session::set_mode(document, now, mode, config.expiry(mode))?;
            write_settings()?;
            Ok((changed, changed))
        })?,
        None => {
            write_settings()?;
            false
        }
    };
    let value = json!({
        "session": id.as_ref().map(SessionId::as_str),
        "mode": mode.as_str(),
        "changed": changed,
        "style": name,
        "output_style": setting,
        "settings": settings,
        "settings_changed": new.is_some(),
        // Claude Code applies the style from the next session: this one follows these.
        "instructions": name.and_then(|name| style::instructions(project, name)),
    });
    if out.json() {
        out.json_line(&value)?;
    } else {
        match &id {
            Some(id) => out.line(&format!("{} is now in {} mode", id.as_str(), mode.as_str()))?,
            None => out.line(&format!(
                "no current session: new sessions here start in {} mode",
                mode.as_str()
            ))?,
        }
    }
    let note = match &setting {
        Some(setting) => format!(
            "Claude Code applies the output style `{setting}` at the next session or after /clear; \
             new sessions here start in {} mode",
            mode.as_str()
        ),
        None => format!(
            "{} mode has no output style; Claude Code's default applies at the next session or after /clear",
            mode.as_str()
        ),
    };
    crate::output::note(&note);
    Ok(())
}
