//! The integration tests: one binary, every test hermetic. Each runs the real `orchestron`
//! binary with a cleared environment, a temporary state root, a fixed clock and a fixed id
//! seed, and asserts on exit status, stdout and stderr together.

mod agents;
mod attention;
mod claims;
mod concurrency;
mod config_trust;
mod conflicts;
mod crash;
mod fuzz_inputs;
mod handoffs;
mod hardening_hooks;
mod hardening_links;
mod hardening_misc;
mod hardening_query;
mod hardening_repo;
mod hardening_state;
mod health;
mod hook;
mod install;
mod instructions;
mod jsonpath_cts;
mod knowledge;
mod lease;
mod lifecycle;
mod live;
mod mcp;
mod mcp_client;
mod offers;
mod query;
mod readme;
mod review_points;
mod session;
mod shared;
mod shipped;
mod sprint;
mod state;
mod surface;
mod task;
mod train;
mod transfer;
mod views;
mod vocab;
mod workers;
mod worktrees;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// The fixed "now" of every test unless it sets another.
pub const NOW: &str = "2026-01-01T00:00:00Z";

/// A temporary project with its own state root.
#[derive(Debug)]
pub struct TestEnv {
    dir: tempfile::TempDir,
    envs: Vec<(String, String)>,
}

/// What a command did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Assert success and return stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "expected success\n{self}");
        &self.stdout
    }

    /// Assert exit code `code` and return stderr.
    #[track_caller]
    pub fn fails(&self, code: i32) -> &str {
        assert_eq!(self.code, code, "expected exit {code}\n{self}");
        &self.stderr
    }

    /// Parse stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(self.ok())
            .unwrap_or_else(|err| panic!("stdout is not JSON: {err}\n{self}"))
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

impl Default for TestEnv {
    fn default() -> TestEnv {
        TestEnv::new()
    }
}

impl TestEnv {
    pub fn new() -> TestEnv {
        let dir = tempfile::tempdir().expect("a temp dir");
        let home = dir.path().join("state");
        let envs = vec![
            ("ORCHESTRON_HOME".to_owned(), home.display().to_string()),
            ("ORCHESTRON_NOW".to_owned(), NOW.to_owned()),
            ("ORCHESTRON_ID_SEED".to_owned(), "tests".to_owned()),
            ("HOME".to_owned(), dir.path().display().to_string()),
        ];
        TestEnv { dir, envs }
    }

    /// The temporary project directory (the working directory of every command).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The state root.
    pub fn home(&self) -> PathBuf {
        self.path().join("state")
    }

    pub fn sessions(&self) -> PathBuf {
        self.home().join("sessions")
    }

    /// Set an environment variable for every later command.
    pub fn set(&mut self, name: &str, value: &str) {
        self.envs.retain(|(existing, _)| existing != name);
        self.envs.push((name.to_owned(), value.to_owned()));
    }

    /// Remove an environment variable for every later command.
    pub fn unset(&mut self, name: &str) {
        self.envs.retain(|(existing, _)| existing != name);
    }

    /// A command for the binary in this environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_orchestron"));
        command
            .args(args)
            .env_clear()
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .current_dir(self.path())
            .stdin(Stdio::null());
        command
    }

    /// Run the binary and capture what it did.
    pub fn run(&self, args: &[&str]) -> Run {
        let output = self.command(args).timed_output().expect("the binary runs");
        run_of(output)
    }

    /// Run the binary in `dir` (not the test's folder) with `extra` variables.
    pub fn run_in(&self, dir: &Path, args: &[&str], extra: &[(&str, &str)]) -> Run {
        let mut command = self.command(args);
        command.current_dir(dir);
        for (name, value) in extra {
            command.env(name, value);
        }
        run_of(command.timed_output().expect("the binary runs"))
    }

    /// Run the hook `event` with `payload` as Claude Code does for a session started in
    /// `dir` (its working folder and `CLAUDE_PROJECT_DIR`).
    pub fn hook_in(&self, dir: &Path, event: &str, payload: &serde_json::Value) -> Run {
        let mut command = self.command(&["hook", event]);
        command.current_dir(dir).env("CLAUDE_PROJECT_DIR", dir);
        run_of(wait_with_timeout(
            spawn_with_stdin(command, &payload.to_string()),
            CHILD_LIMIT,
        ))
    }

    /// Run the binary with `input` on stdin.
    pub fn run_with_stdin(&self, args: &[&str], input: &str) -> Run {
        run_of(wait_with_timeout(
            spawn_with_stdin(self.command(args), input),
            CHILD_LIMIT,
        ))
    }

    /// Create a session with `id` and return it.
    pub fn session(&self, id: &str) -> String {
        self.run(&["session", "create", "--id", id, "--project", "demo"])
            .ok();
        id.to_owned()
    }

    /// The document of session `id`, read from disk.
    pub fn document(&self, id: &str) -> Value {
        let bytes = std::fs::read(self.sessions().join(format!("{id}.json"))).expect("a document");
        serde_json::from_slice(&bytes).expect("a JSON document")
    }

    /// The project's name (the temp dir's) and the file of its handoffs (named after it,
    /// without the leading `.`).
    pub fn project_file(&self) -> (String, PathBuf) {
        let project = self
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let file = self
            .home()
            .join("handoffs")
            .join(format!("{}.json", project.trim_start_matches('.')));
        (project, file)
    }

    /// Every handoff the project keeps, oldest first, read from disk.
    pub fn project_handoffs(&self) -> Vec<Value> {
        let (_, file) = self.project_file();
        let bytes = std::fs::read(file).expect("a handoffs document");
        let document: Value = serde_json::from_slice(&bytes).expect("a JSON document");
        document["handoffs"].as_array().expect("a list").clone()
    }

    /// The project's name and its newest handoff: the one the last SessionEnd left.
    pub fn project_handoff(&self) -> (String, Value) {
        let newest = self.project_handoffs().pop().expect("a handoff");
        (self.project_file().0, newest)
    }

    /// Every file under the state root with its bytes, to prove a command changed nothing.
    pub fn disk(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        fn walk(dir: &Path, files: &mut BTreeMap<PathBuf, Vec<u8>>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    files.insert(path.clone(), b"<dir>".to_vec());
                    walk(&path, files);
                } else {
                    files.insert(path.clone(), std::fs::read(&path).unwrap_or_default());
                }
            }
        }
        let mut files = BTreeMap::new();
        walk(self.path(), &mut files);
        files
    }

    /// Run a command that must fail with `code` and leave the disk exactly as it was;
    /// returns its stderr.
    #[track_caller]
    pub fn refuses(&self, args: &[&str], code: i32) -> String {
        let before = self.disk();
        let run = self.run(args);
        run.fails(code);
        let after = self.disk();
        let changed: Vec<&PathBuf> = before
            .keys()
            .chain(after.keys())
            .filter(|path| before.get(*path) != after.get(*path))
            .collect();
        assert!(
            changed.is_empty(),
            "`{}` changed files although it failed: {changed:?}",
            args.join(" ")
        );
        run.stderr
    }
}

/// Start `command` with `input` on its stdin and its output piped, for a test that waits
/// later (or runs several at once). The child may exit before reading its input (a bad query
/// is refused first): a broken pipe is not an error.
pub fn spawn_with_stdin(mut command: Command, input: &str) -> std::process::Child {
    use std::io::Write as _;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    match child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
    {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => {
            panic!("cannot write stdin: {err}")
        }
        _ => {}
    }
    child
}

/// How long any child process of a test may run: a regression that hangs fails its test
/// instead of hanging the suite.
pub const CHILD_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Wait for a child's output with a deadline. The pipes are read while waiting (on a thread),
/// so a child that prints more than a pipe holds never looks hung.
pub fn wait_with_timeout(child: std::process::Child, limit: std::time::Duration) -> Output {
    let pid = child.id();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(child.wait_with_output());
    });
    match receiver.recv_timeout(limit) {
        Ok(output) => output.expect("the child's output"),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("a child process ran longer than {limit:?}");
        }
    }
}

/// `output()`, `wait_with_output()` and `wait()` with [`CHILD_LIMIT`].
pub trait Timed {
    fn timed_output(&mut self) -> std::io::Result<Output>;
}

impl Timed for Command {
    fn timed_output(&mut self) -> std::io::Result<Output> {
        let child = self
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        Ok(wait_with_timeout(child, CHILD_LIMIT))
    }
}

/// The same for a child already running.
pub trait TimedChild {
    fn timed_wait_with_output(self) -> std::io::Result<Output>;
    fn timed_wait(&mut self) -> std::io::Result<std::process::ExitStatus>;
}

impl TimedChild for std::process::Child {
    fn timed_wait_with_output(self) -> std::io::Result<Output> {
        Ok(wait_with_timeout(self, CHILD_LIMIT))
    }

    fn timed_wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        let started = std::time::Instant::now();
        loop {
            if let Some(status) = self.try_wait()? {
                return Ok(status);
            }
            if started.elapsed() > CHILD_LIMIT {
                let _ = self.kill();
                panic!("a child process ran longer than {CHILD_LIMIT:?}");
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}

fn run_of(output: Output) -> Run {
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Split a shell command into words: quotes are honoured, `$VAR` and `"$VAR"` become `ID`.
pub fn shell_words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = command.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                word.extend(chars.by_ref().take_while(|c| *c != '\''));
            }
            '"' => {
                in_word = true;
                let quoted: String = chars.by_ref().take_while(|c| *c != '"').collect();
                word.push_str(if quoted.starts_with('$') {
                    "ID"
                } else {
                    &quoted
                });
            }
            '$' => {
                in_word = true;
                while chars
                    .next_if(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .is_some()
                {}
                word.push_str("ID");
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}
