//! The slash commands (`commands/*.md`) and output styles (`output-styles/*.md`) Orchestron
//! ships, built into the binary: `init` installs them into a project without the repository
//! at hand, and SessionStart injects a style's instructions without looking for files.
//!
//! Also the small reader of their frontmatter (`key: value` lines between `---` fences, the
//! subset of YAML these files use).

/// One shipped markdown file.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// The file name without `.md`: the command's name, or the style's.
    pub name: &'static str,
    pub text: &'static str,
}

macro_rules! assets {
    ($dir:literal: $($name:literal),* $(,)?) => {
        &[$(Asset { name: $name, text: include_str!(concat!("../", $dir, "/", $name, ".md")) }),*]
    };
}

/// The slash commands, `/orchestron:<name>` in Claude Code.
pub const COMMANDS: &[Asset] = assets!("commands":
    "orchestrate", "state", "task", "sprint", "handoff", "monitor", "mode", "decide", "memory",
    "inbox", "doctor",
);

/// The output styles.
pub const STYLES: &[Asset] = assets!("output-styles":
    "sprint_execution", "leadership_chat", "all-team_dashboard", "config_manager",
);

/// The folder under `.claude/commands/` that `init` installs the commands into, so that
/// they get the plugin's names: `/orchestron:<name>`.
pub const COMMANDS_FOLDER: &str = "orchestron";

/// The plugin's name: Claude Code calls its styles `orchestron:<name>`.
pub const PLUGIN: &str = "orchestron";

/// A shipped style by name.
pub fn style(name: &str) -> Option<&'static Asset> {
    STYLES.iter().find(|style| style.name == name)
}

/// The frontmatter of a markdown file as ordered `(key, value)` pairs, and the body after
/// it; `None` when the file does not open with a `---` fence closed by another. Values are
/// unquoted; a key with nothing after its colon gets the indented `- item` lines under it,
/// joined with `, `.
pub fn frontmatter(text: &str) -> Option<(Vec<(String, String)>, &str)> {
    let rest = text.strip_prefix("---\n")?;
    let end = rest.find("\n---\n").map(|at| (at, at + 5)).or_else(|| {
        rest.strip_suffix("\n---")
            .map(|inner| (inner.len(), rest.len()))
    })?;
    let (head, body) = (&rest[..end.0], &rest[end.1..]);
    let mut pairs: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if let Some(item) = line.trim_start().strip_prefix("- ") {
            let (_, value) = pairs.last_mut()?;
            if !value.is_empty() {
                value.push_str(", ");
            }
            value.push_str(unquote(item.trim()));
            continue;
        }
        let (key, value) = line.split_once(':')?;
        if key.starts_with(' ') {
            return None;
        }
        pairs.push((key.trim().to_owned(), unquote(value.trim()).to_owned()));
    }
    Some((pairs, body))
}

/// The body of a style or command: the text after its frontmatter.
pub fn body(text: &str) -> &str {
    frontmatter(text).map_or(text, |(_, body)| body)
}

fn unquote(value: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|rest| rest.strip_suffix(quote))
        {
            return inner;
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frontmatter_reads_pairs_lists_and_quotes() {
        let text = "---\ndescription: \"Do it: now\"\nallowed-tools:\n  - Bash(a:*)\n  - Read\nmodel: haiku\n---\nBody\n";
        let (pairs, body) = frontmatter(text).unwrap();
        assert_eq!(
            pairs,
            [
                ("description".to_owned(), "Do it: now".to_owned()),
                ("allowed-tools".to_owned(), "Bash(a:*), Read".to_owned()),
                ("model".to_owned(), "haiku".to_owned()),
            ]
        );
        assert_eq!(body, "Body\n");
        assert!(frontmatter("no fence\n").is_none());
        assert!(frontmatter("---\nkey: value\n").is_none());
    }

    #[test]
    fn every_shipped_file_has_frontmatter_and_a_unique_name() {
        for asset in COMMANDS.iter().chain(STYLES) {
            assert!(frontmatter(asset.text).is_some(), "{}", asset.name);
        }
        let mut names: Vec<&str> = COMMANDS.iter().map(|asset| asset.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), COMMANDS.len());
    }
}
