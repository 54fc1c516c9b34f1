//! `notify.command`: what runs when something enters the attention queue, with the entry as
//! JSON on its stdin. Users wire it to a desktop notification or a chat webhook themselves.
//!
//! A notification never fails, slows or blocks the operation that caused it: the command is
//! started in its own process group (so a Ctrl-C at the terminal does not reach it), its
//! output goes nowhere, it is waited for at most [`WAIT`], and then left to finish on its own
//! (a thread reaps it, so a long-running supervisor leaves no zombie). Whatever goes wrong is
//! returned by [`try_notify`] and dropped by [`notify`].
//!
//! A `notify.command` from a configuration git tracks (one that came with the repository)
//! is never run ([`crate::trust`]): [`entered`] returns the refusal for a face to show, and
//! fails nothing.

use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::attention::{self, Entry};
use crate::config::NotifyCommand;
use crate::context::Context;
use crate::error::{Error, Result};

/// The longest a notification holds up its caller.
pub const WAIT: Duration = Duration::from_millis(500);

/// How the notification went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notified {
    /// No `notify.command` is configured.
    NotConfigured,
    /// The command ran and exited with this code (`None`: killed by a signal).
    Exited(Option<i32>),
    /// The command still ran after [`WAIT`]; it was left to finish.
    Running,
}

/// The configuration's key of the command, as errors name it.
const KEY: &str = "notify.command";

/// Run `notify.command` for `entry`; never fails the caller. Returns the refusal when the
/// configuration came with the repository (see [`crate::trust`]), for a face to show.
pub fn notify(cx: &Context, entry: &Entry) -> Option<Error> {
    cx.config().notify.command.as_ref()?;
    if let Err(refused) = crate::trust::refuse_committed(cx, KEY) {
        return Some(refused);
    }
    let _ = spawn(cx, entry);
    None
}

/// The item `item` entered the queue (a question, a block, a review): notify with its entry.
/// Nothing happens when it is not in the queue or no command is configured; never fails.
/// Returns the refusal when the configuration came with the repository (the command did
/// not run), for a face to show.
pub fn entered(cx: &Context, item: &str) -> Option<Error> {
    // Nothing configured: the queue is not even read.
    cx.config().notify.command.as_ref()?;
    match attention::entry_for(cx, item) {
        Ok(Some(entry)) => notify(cx, &entry),
        _ => None,
    }
}

/// Run `notify.command` for `entry`, and say how it went: refused (a `conflict`) when the
/// configuration that names it is tracked by git.
pub fn try_notify(cx: &Context, entry: &Entry) -> Result<Notified> {
    if cx.config().notify.command.is_none() {
        return Ok(Notified::NotConfigured);
    }
    crate::trust::refuse_committed(cx, KEY)?;
    spawn(cx, entry)
}

/// Start the configured command (trusted already) and wait for it at most [`WAIT`].
fn spawn(cx: &Context, entry: &Entry) -> Result<Notified> {
    let Some(configured) = &cx.config().notify.command else {
        return Ok(Notified::NotConfigured);
    };
    let mut command = match configured {
        NotifyCommand::Shell(line) => {
            let mut command = Command::new("sh");
            command.arg("-c").arg(line);
            command
        }
        NotifyCommand::Exec(words) => {
            let Some((program, args)) = words.split_first() else {
                return Err(Error::invalid("`notify.command` is an empty list")
                    .with_hint("give a command line, or a list of the program and its arguments"));
            };
            let mut command = Command::new(program);
            command.args(args);
            command
        }
    };
    let mut json = serde_json::to_vec(entry).context("cannot write the entry as JSON")?;
    json.push(b'\n');
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot run `notify.command` ({configured:?})"))?;
    // The entry is far smaller than a pipe's buffer, so this write never waits on the
    // command; one that exits without reading it only makes the write fail, which is fine.
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(&json);
    }
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(status) = child
            .try_wait()
            .context("cannot wait for `notify.command`")?
        {
            return Ok(Notified::Exited(status.code()));
        }
        if Instant::now() >= deadline {
            std::thread::spawn(move || child.wait());
            return Ok(Notified::Running);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::*;
    use crate::attention::Kind;
    use crate::config::{Config, NotifyConfig};
    use crate::tracker::model::Status;
    use crate::tracker::tasks::{self, Changes, NewItem};

    fn context(root: &Path, command: Option<NotifyCommand>) -> Context {
        crate::context::for_tests(
            root.to_path_buf(),
            Config {
                notify: NotifyConfig { command },
                ..Config::default()
            },
        )
    }

    fn blocked_item(cx: &Context) -> String {
        let item = tasks::create(cx, &NewItem::task("Deploy")).unwrap();
        let changes = Changes {
            status: Some(Status::Blocked),
            reason: Some("needs credentials".to_owned()),
            ..Changes::default()
        };
        tasks::update(cx, &item.item.id, &changes).unwrap();
        item.item.id
    }

    /// Wait (bounded) for a file the notification writes.
    fn wait_for(path: &Path) -> String {
        for _ in 0..400 {
            if let Ok(text) = std::fs::read_to_string(path)
                && text.ends_with('\n')
            {
                return text;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("`{}` was never written", path.display());
    }

    #[test]
    fn the_entry_goes_to_the_command_as_json_on_stdin() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.json");
        let line = format!("cat > '{}'", out.display());
        let cx = context(dir.path(), Some(NotifyCommand::Shell(line)));
        let id = blocked_item(&cx);
        entered(&cx, &id);
        let entry: serde_json::Value = serde_json::from_str(&wait_for(&out)).unwrap();
        assert_eq!(entry["kind"], "blocked");
        assert_eq!(entry["item"], id.as_str());
        assert_eq!(entry["reason"], "needs credentials");
        assert_eq!(
            entry["command"],
            format!("orchestron task update {id} --status TODO")
        );

        // The list form runs without a shell.
        let other = dir.path().join("other.json");
        let words = vec![
            "sh".to_owned(),
            "-c".to_owned(),
            format!("cat > '{}'", other.display()),
        ];
        let cx = context(dir.path(), Some(NotifyCommand::Exec(words)));
        let entry = crate::attention::entry_for(&cx, &id).unwrap().unwrap();
        assert_eq!(entry.kind, Kind::Blocked);
        assert_eq!(try_notify(&cx, &entry).unwrap(), Notified::Exited(Some(0)));
        assert!(wait_for(&other).contains("needs credentials"));
    }

    #[test]
    fn a_slow_failing_or_missing_command_never_holds_or_fails_the_caller() {
        let dir = tempfile::tempdir().unwrap();
        let cx = context(dir.path(), None);
        let id = blocked_item(&cx);
        let entry = crate::attention::entry_for(&cx, &id).unwrap().unwrap();
        assert_eq!(try_notify(&cx, &entry).unwrap(), Notified::NotConfigured);

        let slow = context(dir.path(), Some(NotifyCommand::Shell("sleep 5".to_owned())));
        let started = std::time::Instant::now();
        assert_eq!(try_notify(&slow, &entry).unwrap(), Notified::Running);
        assert!(started.elapsed() < Duration::from_secs(2));

        let failing = context(dir.path(), Some(NotifyCommand::Shell("exit 3".to_owned())));
        assert_eq!(
            try_notify(&failing, &entry).unwrap(),
            Notified::Exited(Some(3))
        );

        let missing = context(
            dir.path(),
            Some(NotifyCommand::Exec(vec![
                "/nonexistent/notifier".to_owned(),
            ])),
        );
        assert!(try_notify(&missing, &entry).is_err());
        assert!(notify(&missing, &entry).is_none()); // and says nothing
        let empty = context(dir.path(), Some(NotifyCommand::Exec(Vec::new())));
        assert!(try_notify(&empty, &entry).is_err());
        // An item that is not in the queue notifies nothing; nor does an unknown one.
        entered(&cx, "TASK-none");
    }
}
