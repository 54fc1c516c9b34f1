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
        let work = self.root.join(format!("run-{name}"));
        std::fs::create_dir_all(&work).unwrap();
        let log = work.join("mock-requests.jsonl");
        let mock = Mock::start(scenario, &log);
        let debug = work.join("debug.log");
        let mut all = vec!["--debug-file", debug.to_str().unwrap()];
        all.extend_from_slice(args);
        let output = self
            .claude_command(&all)
            .env(
                "ANTHROPIC_BASE_URL",
                format!("http://127.0.0.1:{}", mock.port),
            )
            .output()
            .expect("run claude");
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
