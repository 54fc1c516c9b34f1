//! The hook events Orchestron reacts to, by Claude Code's name (`SessionStart`) or its
//! kebab-case form (`session-start`). Every other name is [`Event::Other`]: Claude Code adds
//! events over time, and a hook for an event this binary does not know must do nothing.

/// An event Orchestron reacts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    SessionStart,
    UserPromptSubmit,
    PreToolUse,
    PostToolUse,
    PostToolUseFailure,
    PreCompact,
    Stop,
    SubagentStart,
    SubagentStop,
    SessionEnd,
    TaskCreated,
    TaskCompleted,
    Notification,
    /// Any other event: exit 0, print nothing.
    Other,
}

impl Event {
    const ALL: [(Event, &'static str); 13] = [
        (Event::SessionStart, "SessionStart"),
        (Event::UserPromptSubmit, "UserPromptSubmit"),
        (Event::PreToolUse, "PreToolUse"),
        (Event::PostToolUse, "PostToolUse"),
        (Event::PostToolUseFailure, "PostToolUseFailure"),
        (Event::PreCompact, "PreCompact"),
        (Event::Stop, "Stop"),
        (Event::SubagentStart, "SubagentStart"),
        (Event::SubagentStop, "SubagentStop"),
        (Event::SessionEnd, "SessionEnd"),
        (Event::TaskCreated, "TaskCreated"),
        (Event::TaskCompleted, "TaskCompleted"),
        (Event::Notification, "Notification"),
    ];

    /// The event named `name`, in either form; case and `-`/`_` do not matter.
    pub(crate) fn from_name(name: &str) -> Event {
        let folded = fold(name);
        Event::ALL
            .iter()
            .find(|(_, known)| fold(known) == folded)
            .map_or(Event::Other, |(event, _)| *event)
    }

    /// Claude Code's name for the event (`hookEventName` in replies).
    pub(crate) fn name(self) -> &'static str {
        Event::ALL
            .iter()
            .find(|(event, _)| *event == self)
            .map_or("Other", |(_, name)| name)
    }
}

fn fold(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '-' && *c != '_')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_both_forms() {
        for (event, name) in Event::ALL {
            assert_eq!(Event::from_name(name), event);
            assert_eq!(event.name(), name);
        }
        assert_eq!(Event::from_name("session-start"), Event::SessionStart);
        assert_eq!(
            Event::from_name("post-tool-use-failure"),
            Event::PostToolUseFailure
        );
        assert_eq!(Event::from_name("notification"), Event::Notification);
        assert_eq!(Event::from_name("PermissionRequest"), Event::Other);
        assert_eq!(Event::from_name(""), Event::Other);
    }
}
