//! Runs the real Claude Code CLI in a fixture project against the mock API, with a fake
//! `HOME` and a clean environment, and keeps what it did for the assertions.
//!
//! The CLI comes from `$CLAUDE_BIN`, else from the cache `.ci/run` installs it into
//! (`${XDG_CACHE_HOME:-$HOME/.cache}/orchestron-e2e/claude-code-<version>`). Without it the
//! tests are compiled `#[ignore]`d (`build.rs` sets `cfg(claude_cli)` only when it finds the
//! CLI), so they show as ignored; under CI (`CI=true`) they run, and fail without it.

#![allow(clippy::print_stderr)] // the notice that the tests skip, and where logs were kept

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::mock::Mock;

/// The Claude Code version these tests pin; `.ci/run` installs the same one.
pub(crate) const VERSION: &str = include_str!("claude-code-version");

/// The orchestron binary under test.
pub(crate) fn orchestron_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_orchestron"))
}

/// The repository root: the plugin's root.
pub(crate) fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The Claude Code CLI, or `None` (with a notice) when the tests must skip.
pub(crate) fn claude_bin() -> Option<PathBuf> {
    let version = VERSION.trim();
    let from_env = std::env::var_os("CLAUDE_BIN").map(PathBuf::from);
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .map(|cache| {
            cache
                .join("orchestron-e2e")
                .join(format!("claude-code-{version}"))
                .join("node_modules/.bin/claude")
        });
    let found = from_env.or(cache).filter(|path| path.exists());
    let ci = std::env::var("CI").is_ok_and(|ci| ci == "true" || ci == "1");
    match found {
        Some(bin) => Some(bin),
        None if ci => panic!(
            "CI=true but the Claude Code CLI {version} is missing: .ci/run installs it, or set CLAUDE_BIN"
        ),
        None => {
            // Straight to the stderr stream: the test harness captures `eprintln!` of
            // passing tests, and this notice must be seen.
            static NOTICE: std::sync::Once = std::sync::Once::new();
            NOTICE.call_once(|| {
                use std::io::Write as _;
                let _ = writeln!(
                    std::io::stderr(),
                    "note: skipping the end-to-end tests: Claude Code CLI {version} not found \
                     (.ci/run installs it; or set CLAUDE_BIN)"
                );
            });
            None
        }
    }
}

/// One fixture project with its own fake home.
pub(crate) struct Fixture {
    pub(crate) claude: PathBuf,
    /// The fixture's folder: project, home, logs of each run.
    pub(crate) root: PathBuf,
    _temp: Option<TempDir>,
    pub(crate) project: PathBuf,
    pub(crate) home: PathBuf,
    /// Extra directories put first on PATH (fake test runners).
    pub(crate) fakebin: PathBuf,
    /// Whether the orchestron binary's folder is on PATH.
    pub(crate) orchestron_on_path: bool,
    pub(crate) env: Vec<(String, String)>,
}

/// How long one run of `claude` may take before it is killed and the test fails.
pub(crate) const RUN_DEADLINE: Duration = Duration::from_secs(120);

/// Run `command` to completion, killing it (and failing the test) after `deadline`.
pub(crate) fn output_within(mut command: Command, deadline: Duration) -> Output {
    use std::io::Read as _;
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("start the command");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let err = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stderr.read_to_end(&mut bytes);
        bytes
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the command") {
            break status;
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} took longer than {deadline:?} and was killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// What one run of `claude` left.
pub(crate) struct Run {
    pub(crate) status: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    pub(crate) requests: Vec<Value>,
    pub(crate) work: PathBuf,
}

impl Fixture {
    pub(crate) fn new(claude: PathBuf) -> Fixture {
        let temp = tempfile::Builder::new()
            .prefix("orchestron-e2e")
            .tempdir()
            .unwrap();
        let root = temp.path().to_path_buf();
        // E2E_KEEP=1 keeps the fixtures and logs for a look afterwards.
        let temp = if std::env::var_os("E2E_KEEP").is_some() {
            eprintln!("E2E_KEEP: {}", temp.keep().display());
            None
        } else {
            Some(temp)
        };
        let project = root.join("project");
        let home = root.join("home");
        let fakebin = root.join("fakebin");
        for dir in [&project, &home, &fakebin] {
            std::fs::create_dir_all(dir).unwrap();
        }
        let project = project.canonicalize().unwrap();
        // Trusted, onboarded: project permission rules apply, no first-run screens.
        let claude_json = json!({
            "hasCompletedOnboarding": true,
            "projects": {project.to_str().unwrap(): {"hasTrustDialogAccepted": true}},
        });
        std::fs::write(home.join(".claude.json"), claude_json.to_string()).unwrap();
        // A stand-in for pytest: fails until the file `fixed` exists.
        let pytest = fakebin.join("pytest");
        std::fs::write(
            &pytest,
            "#!/bin/sh\nif [ -f fixed ]; then echo '1 passed'; exit 0; fi\necho '1 failed'; exit 1\n",
        )
        .unwrap();
        std::fs::set_permissions(&pytest, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        Fixture {
            claude,
            root,
            _temp: temp,
            project,
            home,
            fakebin,
            orchestron_on_path: true,
            env: Vec::new(),
        }
    }

    /// Write a file in the project.
    pub(crate) fn write(&self, relative: &str, text: &str) {
        let path = self.project.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn path_var(&self) -> String {
        let mut dirs = vec![self.fakebin.clone()];
        if self.orchestron_on_path {
            dirs.push(orchestron_bin().parent().unwrap().to_path_buf());
        }
        // Not /usr/local/bin: an orchestron installed there would leak into the tests.
        dirs.push(PathBuf::from("/usr/bin"));
        dirs.push(PathBuf::from("/bin"));
        std::env::join_paths(dirs).unwrap().into_string().unwrap()
    }

    /// A `claude` command with the isolated environment, run in the project.
    pub(crate) fn claude_command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.claude);
        command
            .args(args)
            .current_dir(&self.project)
            .env_clear()
            .env("PATH", self.path_var())
            .env("HOME", &self.home)
            .env("TERM", "dumb")
            .env("LANG", "C.UTF-8")
            .env("ANTHROPIC_API_KEY", "dummy-key-for-local-mock")
            // Nothing leaves the machine: `run` points this at the mock; other commands
            // (plugin install, validate) get a closed port, refused at once.
            .env("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
            .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
            .env("DISABLE_TELEMETRY", "1")
            .env("DISABLE_AUTOUPDATER", "1")
            .env("DISABLE_ERROR_REPORTING", "1")
            // The legacy TodoWrite tool, which 2.1.330 offers only with both of these.
            .env("CLAUDE_CODE_ENABLE_TASKS", "0")
            .env("CLAUDE_CODE_ENABLE_TODO_TOOLS", "1")
            .stdin(Stdio::null());
        if let Some(tmp) = std::env::var_os("TMPDIR") {
            command.env("TMPDIR", tmp);
        }
        for (name, value) in &self.env {
            command.env(name, value);
        }
        command
    }

    /// Run `claude -p PROMPT --output-format json …` against a mock answering `scenario`.
    pub(crate) fn run(&self, name: &str, scenario: Value, args: &[&str]) -> Run {
        self.run_in(&self.project, name, scenario, args, &[])
    }

    /// [`Fixture::run`] in `dir` (another worktree, say), with `env` added.
    pub(crate) fn run_in(
        &self,
        dir: &Path,
        name: &str,
        scenario: Value,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Run {
        let work = self.root.join(format!("run-{name}"));
        std::fs::create_dir_all(&work).unwrap();
        let log = work.join("mock-requests.jsonl");
        let mock = Mock::start(scenario, &log);
        let debug = work.join("debug.log");
        let mut all = vec!["--debug-file", debug.to_str().unwrap()];
        all.extend_from_slice(args);
        let mut command = self.claude_command(&all);
        command.current_dir(dir).env(
            "ANTHROPIC_BASE_URL",
            format!("http://127.0.0.1:{}", mock.port),
        );
        for (name, value) in env {
            command.env(name, value);
        }
        let output = output_within(command, RUN_DEADLINE);
        let requests = std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        let run = Run {
            status: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            requests,
            work,
        };
        std::fs::write(run.work.join("claude.out"), &run.stdout).unwrap();
        std::fs::write(run.work.join("claude.err"), &run.stderr).unwrap();
        run
    }

    /// `orchestron ARGS` with the project's environment, as a person would run it there.
    pub(crate) fn orchestron(&self, args: &[&str]) -> std::process::Output {
        Command::new(orchestron_bin())
            .args(args)
            .current_dir(&self.project)
            .env_clear()
            .env("PATH", self.path_var())
            .env("HOME", &self.home)
            .env("CLAUDE_PROJECT_DIR", &self.project)
            .output()
            .unwrap()
    }

    /// `orchestron ARGS --json`, parsed, asserting success.
    pub(crate) fn orchestron_json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let output = self.orchestron(&all);
        assert!(
            output.status.success(),
            "orchestron {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    }
}

impl Run {
    /// The `--output-format json` result.
    pub(crate) fn result(&self) -> Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|err| {
            panic!(
                "claude printed no JSON ({err}): {}\n{}",
                self.stdout,
                self.context()
            )
        })
    }

    /// Claude Code's session id, from the JSON result.
    pub(crate) fn session_id(&self) -> String {
        self.result()["session_id"].as_str().unwrap().to_owned()
    }

    /// Everything the CLI sent the model, as one text.
    pub(crate) fn sent(&self) -> String {
        self.requests
            .iter()
            .map(|request| request["body"].to_string())
            .collect()
    }

    /// The main-loop requests (those that offer tools).
    pub(crate) fn turns(&self) -> Vec<&Value> {
        self.requests
            .iter()
            .filter(|r| r["body"]["tools"].as_array().is_some_and(|t| !t.is_empty()))
            .collect()
    }

    /// Where to look when an assertion fails.
    pub(crate) fn context(&self) -> String {
        format!(
            "claude exited {}; stderr: {}; logs in {}",
            self.status,
            self.stderr.trim(),
            self.work.display()
        )
    }

    pub(crate) fn assert_ok(&self) {
        assert_eq!(self.status, 0, "{}", self.context());
    }
}

/// Items of a plan for [`Fixture::plan`]: a name (the title) and the names it depends on.
pub(crate) type PlanItem<'a> = (&'a str, &'a [&'a str]);

/// The 12-item DAG of the workers' tests and bench: width 4, depth 3, two joins (B1 waits
/// for A1 and A2, C1 for B1 and B2).
pub(crate) const DAG12: &[PlanItem<'static>] = &[
    ("A1", &[]),
    ("A2", &[]),
    ("A3", &[]),
    ("A4", &[]),
    ("B1", &["A1", "A2"]),
    ("B2", &["A3"]),
    ("B3", &["A4"]),
    ("B4", &["A4"]),
    ("C1", &["B1", "B2"]),
    ("C2", &["B3"]),
    ("C3", &["B4"]),
    ("C4", &["B2"]),
];

/// A `workers run` (or any long command) started in the background, with its mock.
pub(crate) struct Background {
    pub(crate) child: std::process::Child,
    pub(crate) work: PathBuf,
    pub(crate) log: PathBuf,
    _mock: Mock,
    stdout: Option<std::thread::JoinHandle<Vec<u8>>>,
    stderr: Option<std::thread::JoinHandle<Vec<u8>>>,
}

/// What one `workers run` left.
pub(crate) struct WorkersRun {
    pub(crate) status: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    /// Every request the workers' Claude Code sent the mock.
    pub(crate) requests: Vec<Value>,
    pub(crate) work: PathBuf,
}

impl WorkersRun {
    pub(crate) fn context(&self) -> String {
        format!(
            "workers run exited {}\n--- stderr:\n{}\n--- stdout (tail):\n{}\n--- logs in {}",
            self.status,
            self.stderr.trim(),
            tail(&self.stdout, 4000),
            self.work.display()
        )
    }

    /// The main-loop requests whose prompt (first user message) contains `text`.
    pub(crate) fn prompts_with(&self, text: &str) -> Vec<&Value> {
        self.requests
            .iter()
            .filter(|r| r["body"]["tools"].as_array().is_some_and(|t| !t.is_empty()))
            .filter(|r| {
                r["body"]["messages"]
                    .as_array()
                    .and_then(|m| m.first())
                    .is_some_and(|m| m["content"].to_string().contains(text))
            })
            .collect()
    }
}

fn tail(text: &str, bytes: usize) -> &str {
    let mut start = text.len().saturating_sub(bytes);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

fn read_requests(log: &Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

impl Background {
    /// Wait for the end, at most `deadline` (then kill it and fail).
    pub(crate) fn finish(mut self, deadline: Duration) -> WorkersRun {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for workers run") {
                break status;
            }
            if started.elapsed() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let stderr = self.stderr.take().unwrap().join().unwrap();
                panic!(
                    "workers run took longer than {deadline:?} and was killed; stderr:\n{}\nlogs in {}",
                    String::from_utf8_lossy(&stderr),
                    self.work.display()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        self.collect(
            std::os::unix::process::ExitStatusExt::signal(&status)
                .map_or_else(|| status.code().unwrap_or(-1), |signal| 128 + signal),
        )
    }

    /// SIGKILL the supervisor itself (not its workers, which run in their own groups).
    pub(crate) fn kill_hard(mut self) -> WorkersRun {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.collect(137)
    }

    /// The supervisor's pid.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    fn collect(&mut self, status: i32) -> WorkersRun {
        let stdout = self.stdout.take().unwrap().join().unwrap();
        let stderr = self.stderr.take().unwrap().join().unwrap();
        let run = WorkersRun {
            status,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            requests: read_requests(&self.log),
            work: self.work.clone(),
        };
        std::fs::write(run.work.join("workers.out"), &run.stdout).unwrap();
        std::fs::write(run.work.join("workers.err"), &run.stderr).unwrap();
        run
    }
}

/// How long a whole `workers run` of a test may take.
pub(crate) const WORKERS_DEADLINE: Duration = Duration::from_secs(300);

impl Fixture {
    /// `git ARGS` in the project, asserting success; its stdout, trimmed.
    pub(crate) fn git(&self, args: &[&str]) -> String {
        let output = self.git_command(args).output().unwrap();
        assert!(
            output.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    }

    /// `git ARGS` in the project with the fixture's identity, not run.
    pub(crate) fn git_command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("git");
        command
            .args(args)
            .current_dir(&self.project)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", &self.home);
        for (name, value) in GIT_IDENTITY {
            command.env(name, value);
        }
        command
    }

    /// Make the project a git repository on `main` with one commit holding `files` small
    /// files (and a README), and `.orchestron/` ignored.
    pub(crate) fn git_repo(&self, files: usize) {
        self.git(&["init", "-q", "-b", "main"]);
        self.write("README.md", "# fixture\n");
        self.write(".gitignore", ".orchestron/\n");
        for n in 0..files {
            self.write(&format!("src/f{n:04}.txt"), &format!("file {n}\n"));
        }
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", "first"]);
    }

    /// Create the plan's items (title = name) with their dependencies; name → id.
    pub(crate) fn plan(
        &self,
        items: &[PlanItem<'_>],
    ) -> std::collections::BTreeMap<String, String> {
        let mut ids = std::collections::BTreeMap::new();
        for (name, _) in items {
            let created = self.orchestron_json(&["task", "create", name]);
            ids.insert(
                (*name).to_owned(),
                created["id"].as_str().unwrap().to_owned(),
            );
        }
        for (name, deps) in items {
            for dep in *deps {
                let output = self.orchestron(&["task", "depend", &ids[*name], "--on", &ids[*dep]]);
                assert!(
                    output.status.success(),
                    "{}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
        }
        ids
    }

    /// `orchestron workers ARGS` in the project with what its workers need: the mock's
    /// address, the fixture's home, an isolated environment, a git identity for their
    /// commits, and `IS_SANDBOX=1` (Claude Code refuses `bypassPermissions` as root
    /// without it).
    pub(crate) fn workers_command(&self, port: u16, args: &[&str]) -> Command {
        let mut command = Command::new(orchestron_bin());
        command
            .arg("workers")
            .args(args)
            .current_dir(&self.project)
            .env_clear()
            .env("PATH", self.path_var())
            .env("HOME", &self.home)
            .env("TERM", "dumb")
            .env("LANG", "C.UTF-8")
            .env("ANTHROPIC_API_KEY", "dummy-key-for-local-mock")
            .env("ANTHROPIC_BASE_URL", format!("http://127.0.0.1:{port}"))
            .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
            .env("DISABLE_TELEMETRY", "1")
            .env("DISABLE_AUTOUPDATER", "1")
            .env("DISABLE_ERROR_REPORTING", "1")
            .env("IS_SANDBOX", "1")
            .stdin(Stdio::null());
        for (name, value) in GIT_IDENTITY {
            command.env(name, value);
        }
        if let Some(tmp) = std::env::var_os("TMPDIR") {
            command.env("TMPDIR", tmp);
        }
        for (name, value) in &self.env {
            command.env(name, value);
        }
        command
    }

    /// Start `orchestron workers ARGS` against a mock answering `scenario`; the run's logs
    /// go to `run-NAME/`.
    pub(crate) fn workers_start(&self, name: &str, scenario: Value, args: &[&str]) -> Background {
        use std::io::Read as _;
        let work = self.root.join(format!("run-{name}"));
        std::fs::create_dir_all(&work).unwrap();
        let log = work.join("mock-requests.jsonl");
        let mock = Mock::start(scenario, &log);
        let mut command = self.workers_command(mock.port, args);
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("start orchestron workers");
        let mut stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let stdout = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stdout.read_to_end(&mut bytes);
            bytes
        });
        let stderr = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stderr.read_to_end(&mut bytes);
            bytes
        });
        Background {
            child,
            work,
            log,
            _mock: mock,
            stdout: Some(stdout),
            stderr: Some(stderr),
        }
    }

    /// `orchestron workers ARGS` to its end (at most [`WORKERS_DEADLINE`]).
    pub(crate) fn workers(&self, name: &str, scenario: Value, args: &[&str]) -> WorkersRun {
        self.workers_start(name, scenario, args)
            .finish(WORKERS_DEADLINE)
    }

    /// `orchestron ARGS --json` in the project, parsed, asserting success.
    pub(crate) fn item(&self, id: &str) -> Value {
        self.orchestron_json(&["task", "show", id])
    }

    /// The item's status.
    pub(crate) fn status_of(&self, id: &str) -> String {
        let item = self.item(id);
        let status = if item["status"].is_string() {
            &item["status"]
        } else {
            &item["item"]["status"]
        };
        status.as_str().unwrap_or_default().to_owned()
    }
}

/// The identity the fixture's commits (and the workers' `git commit`) use.
pub(crate) const GIT_IDENTITY: [(&str, &str); 4] = [
    ("GIT_AUTHOR_NAME", "t"),
    ("GIT_AUTHOR_EMAIL", "t@example.com"),
    ("GIT_COMMITTER_NAME", "t"),
    ("GIT_COMMITTER_EMAIL", "t@example.com"),
];

/// Wait until `check` holds, at most `deadline`; whether it did.
pub(crate) fn wait_for(deadline: Duration, mut check: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    check()
}

/// Children of `parent` whose environment has `ORCHESTRON_WORKER=<item>` and that lead their
/// process group: the Claude Code worker the supervisor `parent` started for that item.
pub(crate) fn worker_leaders(parent: u32, item: &str) -> Vec<i32> {
    let needle = format!("ORCHESTRON_WORKER={item}");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if !environ
            .split(|b| *b == 0)
            .any(|var| var == needle.as_bytes())
        {
            continue;
        }
        if process_group(pid) == Some(pid) && parent_of(pid) == Some(parent) {
            found.push(pid);
        }
    }
    found
}

/// The process group of `pid` (field 5 of `/proc/PID/stat`).
pub(crate) fn process_group(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    after.split_whitespace().nth(2)?.parse().ok()
}

/// The parent of `pid` (field 4 of `/proc/PID/stat`).
fn parent_of(pid: i32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    after.split_whitespace().nth(1)?.parse().ok()
}

/// Whether a process is alive (and not a zombie).
pub(crate) fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let after = stat[stat.rfind(')')? + 2..].to_owned();
            after.split_whitespace().next().map(|s| s != "Z")
        })
        .unwrap_or(false)
}
