//! Guard rules for PreToolUse: refuse (or ask about) a tool call before it runs.
//!
//! A rule names the tools it applies to and a pattern on the call's command (Bash) or file
//! path (file tools), as globs: `*` matches any run of characters, `?` one character, and the
//! pattern must match the whole text. Two rules ship and are on unless the project switches
//! them off by name: `rm-rf-root` (a recursive, forced `rm` of `/`, `/*`, `~` or `$HOME`) and
//! `env-files` (writing a `.env` file). Evaluation is pure and reads no state, so the common
//! case, no rule matching, costs next to nothing.

use serde_json::Value;

pub(crate) use orchestron_core::config::{Decision, Rule};

/// The first rule that matches the call, with its decision and reason.
pub(crate) fn check(
    tool: &str,
    input: &Value,
    rules: &[Rule],
    disabled: &[String],
) -> Option<(Decision, String)> {
    let on = |name: &str| !disabled.iter().any(|off| off == name || off == "*");
    let command = input.get("command").and_then(Value::as_str);
    let path = ["file_path", "notebook_path"]
        .iter()
        .find_map(|key| input.get(*key).and_then(Value::as_str));
    if on("rm-rf-root") && tool == "Bash" && command.is_some_and(removes_root) {
        return Some((
            Decision::Deny,
            "Orchestron guard `rm-rf-root`: refusing a recursive, forced `rm` of the root or home \
             directory"
                .to_owned(),
        ));
    }
    if on("env-files")
        && ["Write", "Edit", "MultiEdit"].contains(&tool)
        && path.is_some_and(is_env_file)
    {
        return Some((
            Decision::Deny,
            "Orchestron guard `env-files`: refusing to write a `.env` file, which holds secrets; \
             edit it yourself"
                .to_owned(),
        ));
    }
    rules.iter().find_map(|rule| {
        if rule.name.as_deref().is_some_and(|name| !on(name)) {
            return None;
        }
        let tool_matches = rule.tool.split('|').any(|name| glob(name.trim(), tool));
        let text = command.or(path).unwrap_or("");
        let pattern_matches = rule
            .pattern
            .as_deref()
            .is_none_or(|pattern| glob(pattern, text));
        (tool_matches && pattern_matches).then(|| {
            let name = rule.name.as_deref().unwrap_or("project rule");
            (
                rule.decision,
                format!("Orchestron guard `{name}`: {}", rule.reason),
            )
        })
    })
}

/// Whether a shell command removes `/`, `/*`, `~` or `$HOME` recursively and by force.
fn removes_root(command: &str) -> bool {
    command.split(['&', ';', '|', '\n', '(', ')']).any(|part| {
        let words: Vec<&str> = part.split_whitespace().collect();
        let Some(rm) = words
            .iter()
            .position(|word| *word == "rm" || word.ends_with("/rm"))
        else {
            return false;
        };
        let args = &words[rm + 1..];
        let flags: String = args
            .iter()
            .filter(|arg| arg.starts_with('-') && !arg.starts_with("--"))
            .map(|arg| &arg[1..])
            .collect();
        let long = |name: &str| args.contains(&name);
        let recursive = flags.contains(['r', 'R']) || long("--recursive");
        let forced = flags.contains('f') || long("--force");
        let root = args.iter().any(|arg| {
            let arg = arg.trim_matches(['"', '\'']);
            [
                "/", "/*", "/.", "~", "~/", "~/*", "$HOME", "$HOME/", "$HOME/*", "${HOME}",
            ]
            .contains(&arg)
        });
        recursive && forced && root
    })
}

/// `.env` and `.env.local` and the like, but not the templates people commit.
fn is_env_file(path: &str) -> bool {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let templates = [".env.example", ".env.sample", ".env.template", ".env.dist"];
    (name == ".env" || name.starts_with(".env.")) && !templates.contains(&name)
}

/// Whether `text` matches the glob `pattern` as a whole: `*` any run, `?` one character.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(c) if *c == '?' || *c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn globs() {
        assert!(glob("*", ""));
        assert!(glob(
            "git push*--force*",
            "git push origin main --force-with-lease"
        ));
        assert!(glob("mcp__*", "mcp__memory__store"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "abbc"));
        assert!(!glob("Bash", "BashOutput"));
        assert!(glob("*.rs", "/p/src/main.rs"));
        assert!(!glob("*.rs", "/p/src/main.rsx"));
    }

    #[test]
    fn shipped_rules() {
        let bash = |command: &str| check("Bash", &json!({"command": command}), &[], &[]);
        for bad in [
            "rm -rf /",
            "sudo rm -rf /*",
            "cd x && rm -fr ~",
            "rm -r -f $HOME",
            "/bin/rm --recursive --force /",
        ] {
            assert_eq!(bash(bad).map(|(d, _)| d), Some(Decision::Deny), "{bad}");
        }
        for fine in [
            "rm -rf ./build",
            "rm -rf /tmp/x",
            "rm -f /",
            "ls /",
            "echo rm -rf",
        ] {
            assert_eq!(bash(fine), None, "{fine}");
        }
        let write = |path: &str| check("Write", &json!({"file_path": path}), &[], &[]);
        assert!(write("/p/.env").is_some());
        assert!(write("/p/.env.local").is_some());
        assert!(write("/p/.env.example").is_none());
        assert!(write("/p/env.rs").is_none());
        // Switched off by name, or all at once.
        let off = ["env-files".to_owned()];
        assert!(check("Write", &json!({"file_path": "/p/.env"}), &[], &off).is_none());
        let all = ["*".to_owned()];
        assert!(check("Bash", &json!({"command": "rm -rf /"}), &[], &all).is_none());
    }

    #[test]
    fn project_rules() {
        let rules: Vec<Rule> = serde_json::from_value(json!([
            {"name": "no-force-push", "tool": "Bash", "pattern": "git push*--force*",
             "decision": "ask", "reason": "force pushes need a human"},
            {"tool": "Edit|Write", "pattern": "*/migrations/*", "decision": "deny",
             "reason": "migrations are append-only"}
        ]))
        .unwrap();
        let (decision, reason) = check(
            "Bash",
            &json!({"command": "git push origin main --force"}),
            &rules,
            &[],
        )
        .unwrap();
        assert_eq!(decision, Decision::Ask);
        assert!(reason.contains("no-force-push") && reason.contains("human"));
        assert_eq!(
            check(
                "Write",
                &json!({"file_path": "/p/migrations/001.sql"}),
                &rules,
                &[]
            )
            .map(|(d, _)| d),
            Some(Decision::Deny)
        );
        assert!(
            check(
                "Read",
                &json!({"file_path": "/p/migrations/001.sql"}),
                &rules,
                &[]
            )
            .is_none()
        );
        assert!(check("Bash", &json!({"command": "git push"}), &rules, &[]).is_none());
        let off = ["no-force-push".to_owned()];
        assert!(
            check(
                "Bash",
                &json!({"command": "git push --force"}),
                &rules,
                &off
            )
            .is_none()
        );
    }
}
