//! `notify.command`: what runs when something enters the attention queue, with the entry as
//! JSON on its stdin. Users wire it to a desktop notification or a chat webhook themselves.
//!
//! A notification never fails, slows or blocks the operation that caused it: the command is
//! started in its own process group (so a Ctrl-C at the terminal does not reach it), its
//! output goes nowhere, it is waited for at most [`WAIT`], and then left to finish on its own
//! (a thread reaps it, so a long-running supervisor leaves no zombie). Whatever goes wrong is
//! returned by [`try_notify`] and dropped by [`notify`].

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

/// Run `notify.command` for `entry`; never fails the caller.
pub fn notify(cx: &Context, entry: &Entry) {
    let _ = try_notify(cx, entry);
}

/// The item `item` entered the queue (a question, a block, a review): notify with its entry.
/// Nothing happens when it is not in the queue or no command is configured; never fails.
pub fn entered(cx: &Context, item: &str) {
    if cx.config().notify.command.is_none() {
        return;
    }
    if let Ok(Some(entry)) = attention::entry_for(cx, item) {
        notify(cx, &entry);
    }
}

/// Run `notify.command` for `entry`, and say how it went.
pub fn try_notify(cx: &Context, entry: &Entry) -> Result<Notified> {
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
        if let Some(status) = child.try_wait().context("cannot wait for `notify.command`")? {
            return Ok(Notified::Exited(status.code()));
        }
        if Instant::now() >= deadline {
            std::thread::spawn(move || child.wait());
            return Ok(Notified::Running);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
