//! Worker processes: started in a process group of their own, so a signal reaches everything
//! a worker started; told apart from a recycled pid by their start time in `/proc`.
//! Names the environment variables the supervisor sets for a worker (it reads none).

use std::ffi::OsString;
use std::fs::File;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::error::{Error, Result};

/// The session id a worker's hooks and `orchestron` commands act as.
pub const ENV_SESSION: &str = "ORCHESTRON_SESSION";
/// The state root of the main worktree, so a worker in a linked worktree shares it.
pub const ENV_HOME: &str = "ORCHESTRON_HOME";
/// The item a worker works on: under it, only `orchestron hook EVENT --worker` runs.
pub const ENV_WORKER: &str = "ORCHESTRON_WORKER";
/// The supervisor's run id.
pub const ENV_WORKER_RUN: &str = "ORCHESTRON_WORKER_RUN";
/// The attempt's number (of the item, over every run).
pub const ENV_WORKER_ATTEMPT: &str = "ORCHESTRON_WORKER_ATTEMPT";

/// What to start.
#[derive(Debug, Clone)]
pub struct Spawn {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub dir: PathBuf,
    pub env: Vec<(OsString, OsString)>,
    pub env_remove: Vec<OsString>,
    /// Where its stderr goes.
    pub stderr: PathBuf,
}

/// Start `spawn` in a new process group, stdout piped, stdin empty.
pub fn spawn(spawn: &Spawn) -> Result<Child> {
    let stderr = open_log(&spawn.stderr, false)?;
    let mut command = Command::new(&spawn.program);
    for name in &spawn.env_remove {
        command.env_remove(name);
    }
    command
        .args(&spawn.args)
        .current_dir(&spawn.dir)
        .envs(spawn.env.iter().map(|(name, value)| (name, value)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(stderr))
        .process_group(0)
        .spawn()
        .map_err(|err| {
            Error::internal(format!("cannot start `{}`: {err}", spawn.program.display()))
        })
}

/// A process's start time (clock ticks after boot, `/proc/PID/stat` field 22), which tells
/// it apart from a later process given the same pid. `None` when it is gone.
pub fn start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19).map(str::to_owned)
}

/// Whether the process `pid` that started at `start` still runs (a zombie counts as gone).
pub fn is_alive(pid: u32, start: Option<&str>) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rfind(')')
        .and_then(|end| stat[end + 1..].split_whitespace().next());
    if state == Some("Z") {
        return false;
    }
    match start {
        Some(start) => start_time(pid).as_deref() == Some(start),
        None => true,
    }
}

/// Whether a process works in `dir` (its current folder is `dir` or under it), among the
/// processes `/proc` lets this user see. A worker's leftover (a server it started in the
/// background, say) would write into whatever the folder becomes.
pub fn any_working_in(dir: &Path) -> bool {
    let Ok(dir) = dir.canonicalize() else {
        return false;
    };
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|entry| {
        entry
            .file_name()
            .to_str()
            .is_some_and(|name| name.bytes().all(|b| b.is_ascii_digit()))
            && std::fs::read_link(entry.path().join("cwd")).is_ok_and(|cwd| cwd.starts_with(&dir))
    })
}

/// Which signal to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Term,
    Kill,
}

/// Send `signal` to the process group `pid` leads. A group already gone is not an error.
pub fn signal_group(pid: u32, signal: Signal) {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return;
    };
    let signal = match signal {
        Signal::Term => rustix::process::Signal::TERM,
        Signal::Kill => rustix::process::Signal::KILL,
    };
    let _ = rustix::process::kill_process_group(pid, signal);
}

/// Send `signal` to the process `pid` alone (a supervisor, for `workers stop`).
pub fn signal_process(pid: u32, signal: Signal) -> Result<()> {
    let raw = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
        .ok_or_else(|| Error::invalid(format!("`{pid}` is not a process id")))?;
    let signal = match signal {
        Signal::Term => rustix::process::Signal::TERM,
        Signal::Kill => rustix::process::Signal::KILL,
    };
    rustix::process::kill_process(raw, signal)
        .map_err(|err| Error::internal(format!("cannot signal process {pid}: {err}")))
}

/// This process's id and start time, recorded with a run.
pub fn this_process() -> (u32, Option<String>) {
    let pid = std::process::id();
    (pid, start_time(pid))
}

/// Open a worker's log file for writing (appending when `append`, else truncated), never
/// through a symbolic link (`O_NOFOLLOW`): a link planted at a log's path would make the
/// supervisor write outside the project.
pub fn open_log(path: &Path, append: bool) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut options = std::fs::OpenOptions::new();
    options
        .create(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    if append {
        options.append(true);
    } else {
        options.write(true).truncate(true);
    }
    options.open(path).map_err(|err| {
        let linked = std::fs::symlink_metadata(path).is_ok_and(|meta| meta.is_symlink());
        if linked {
            Error::conflict(format!(
                "`{}` is a symbolic link: a worker's log is never written through one",
                path.display()
            ))
            .with_hint("remove the link; Orchestron makes the log itself")
        } else {
            Error::internal(format!("cannot open `{}`: {err}", path.display()))
        }
    })
}

/// The log of a worker's attempt: `<state root>/workers/<ID>/<attempt>.jsonl`.
pub fn log_path(state_root: &Path, item: &str, attempt: i64) -> PathBuf {
    state_root
        .join("workers")
        .join(item)
        .join(format!("{attempt}.jsonl"))
}
