//! Issue 13: `orchestron workers`, with a stub in place of Claude Code
//! (`tests/fixtures/stub-worker`): scheduling, the merge, failures and retries, stalls, the
//! budget, stopping, the hooks' worker rule, the logs, and bad input that changes nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{Run, TestEnv, TimedChild as _};

/// A git repository with one commit, the state root in it, the stub as Claude Code.
struct Project {
    env: TestEnv,
    stub_dir: PathBuf,
}

fn stub() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/stub-worker")
        .display()
        .to_string()
}

impl Project {
    fn new() -> Project {
        let mut env = TestEnv::new();
        env.unset("ORCHESTRON_HOME");
        env.set("PATH", "/usr/bin:/bin");
        for (name, value) in [
            ("GIT_AUTHOR_NAME", "t"),
            ("GIT_AUTHOR_EMAIL", "t@example.com"),
            ("GIT_COMMITTER_NAME", "t"),
            ("GIT_COMMITTER_EMAIL", "t@example.com"),
        ] {
            env.set(name, value);
        }
        let stub_dir = env.path().join("stub");
        std::fs::create_dir(&stub_dir).unwrap();
        env.set("STUB_DIR", &stub_dir.display().to_string());
        let project = Project { env, stub_dir };
        std::fs::create_dir(project.repo()).unwrap();
        project.git(&["init", "-q", "-b", "main"]);
        std::fs::write(project.repo().join(".gitignore"), ".orchestron/\n").unwrap();
        project.git(&["add", "."]);
        project.git(&["commit", "-q", "-m", "first"]);
        project
    }

    fn repo(&self) -> PathBuf {
        self.env.path().join("repo")
    }

    fn git(&self, args: &[&str]) -> String {
        crate::train::git_in(&self.repo(), self.env.path(), args)
    }

    fn run(&self, args: &[&str]) -> Run {
        self.env.run_in(&self.repo(), args, &[])
    }

    fn create(&self, title: &str) -> String {
        self.run(&["task", "create", title, "--json"]).json()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The history of `<item>.txt` on the integration branch, with its changes.
    fn merged_history(&self, item: &str) -> String {
        self.git(&[
            "log",
            "-p",
            "orchestron/integration",
            "--",
            &format!("{item}.txt"),
        ])
    }

    /// `item` depends on `on`.
    fn depend(&self, item: &str, on: &str) {
        self.run(&["task", "depend", item, "--on", on]).ok();
    }

    /// What the stub does for `item`, attempt by attempt.
    fn script(&self, item: &str, modes: &[&str]) {
        std::fs::write(self.stub_dir.join(item), modes.join("\n") + "\n").unwrap();
    }

    fn workers(&self, extra: &[&str]) -> Run {
        let stub = stub();
        let mut args = vec!["workers", "run", "--claude", &stub];
        args.extend(extra);
        self.run(&args)
    }

    fn item(&self, id: &str) -> Value {
        self.run(&["task", "show", id, "--json"]).json()
    }

    fn history(&self, id: &str) -> Vec<Value> {
        self.run(&["task", "history", id, "--json"])
            .json()
            .as_array()
            .unwrap()
            .clone()
    }

    fn state(&self) -> PathBuf {
        self.repo().join(".orchestron")
    }
}

/// The events of a `--json` run.
fn events(run: &Run) -> Vec<Value> {
    run.stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("NDJSON: {line}\n{run}")))
        .collect()
}

#[test]
fn workers_drain_a_plan_and_dependents_start_from_merged_work() {
    let project = Project::new();
    let first = project.create("First");
    let second = project.create("Second");
    let third = project.create("Third");
    project.depend(&second, &first);
    // The user's own uncommitted change stays as it is.
    std::fs::write(project.repo().join("mine.txt"), "work in progress\n").unwrap();
    let run = project.workers(&["--count", "2", "--once", "--json"]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(
        std::fs::read_to_string(project.repo().join("mine.txt")).unwrap(),
        "work in progress\n"
    );
    assert_eq!(project.git(&["status", "--porcelain"]), "?? mine.txt\n");
    let events = events(&run);
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(kinds.first(), Some(&"run_started"), "{run}");
    assert_eq!(kinds.last(), Some(&"run_ended"), "{run}");
    assert_eq!(
        kinds.iter().filter(|k| **k == "spawned").count(),
        3,
        "{run}"
    );
    assert_eq!(events.last().unwrap()["outcome"], "drained");
    for id in [&first, &second, &third] {
        assert_eq!(project.item(id)["status"], "DONE", "{id}\n{run}");
        // Each item was merged exactly once.
        let merged = project
            .history(id)
            .iter()
            .filter(|event| event["what"] == "merged")
            .count();
        assert_eq!(merged, 1, "{id}");
        // The worker's `task complete` was a worker's (its session marked by its hooks):
        // recorded, with the status left to the train.
        let history = project.history(id);
        let finished = history.iter().position(|e| e["what"] == "worker_finished");
        let merged = history.iter().position(|e| e["what"] == "merged");
        assert!(finished.is_some() && finished < merged, "{history:?}");
    }
    // The integration branch holds every file; the dependent started from its dependency's
    // merged work.
    let files = project.git(&["ls-tree", "--name-only", "orchestron/integration"]);
    for id in [&first, &second, &third] {
        assert!(files.contains(&format!("{id}.txt")), "{files}");
    }
    let second_file = project.git(&["show", &format!("orchestron/integration:{second}.txt")]);
    assert!(
        second_file.contains(&format!("{first}.txt")),
        "{second_file}"
    );
    // No worktree and no worker branch is left; the user's branch is untouched.
    let branches = project.git(&["branch", "--format=%(refname:short)"]);
    assert_eq!(
        branches.lines().collect::<Vec<_>>(),
        ["main", "orchestron/integration"],
        "{branches}"
    );
    assert_eq!(
        project.git(&["rev-parse", "--abbrev-ref", "HEAD"]).trim(),
        "main"
    );
    let worktrees = project.git(&["worktree", "list"]);
    assert_eq!(worktrees.lines().count(), 1, "{worktrees}");
    // The ledger: one merged attempt each, with its cost; the log kept every line.
    let status = project.run(&["workers", "status", "--json"]).json();
    assert_eq!(status["running"], json!([]));
    assert_eq!(status["runs"], json!([]), "the run ended");
    assert!(
        (status["spent_usd"].as_f64().unwrap() - 0.03).abs() < 1e-9,
        "{status}"
    );
    let log = project.state().join(format!("workers/{first}/1.jsonl"));
    let lines = std::fs::read_to_string(&log).unwrap();
    assert!(lines.lines().count() >= 5, "{lines}");
    // The worker's session was marked as a worker's by its `hook SessionStart --worker`.
    let session = events
        .iter()
        .find(|e| e["event"] == "claimed" && e["item"] == first.as_str())
        .unwrap()["session"]
        .as_str()
        .unwrap()
        .to_owned();
    let document = project.run(&["state", "get", &session, "worker", "--json"]);
    let worker = document.json();
    assert_eq!(worker["item"], first.as_str(), "{document}");
    assert_eq!(worker["attempt"], 1);
}

#[test]
fn a_worker_gets_its_flags_its_worktree_and_the_hooks_once() {
    let project = Project::new();
    let id = project.create("Flags");
    project
        .workers(&[
            "--once",
            "--model",
            "claude-test",
            "--permission-mode",
            "acceptEdits",
            "--max-turns",
            "7",
            "--item-budget-usd",
            "0.5",
        ])
        .ok();
    let raw = std::fs::read(project.stub_dir.join(format!("{id}.args"))).unwrap();
    let args: Vec<String> = raw
        .split(|b| *b == 0)
        .filter(|arg| !arg.is_empty())
        .map(|arg| String::from_utf8_lossy(arg).into_owned())
        .collect();
    let after = |flag: &str| -> &str {
        let at = args
            .iter()
            .position(|arg| arg == flag)
            .unwrap_or_else(|| panic!("{flag}: {args:?}"));
        &args[at + 1]
    };
    assert!(after("-p").contains(&id), "the instructions name the item");
    assert_eq!(after("--output-format"), "stream-json");
    assert!(args.iter().any(|arg| arg == "--verbose"));
    assert_eq!(after("--model"), "claude-test");
    assert_eq!(after("--permission-mode"), "acceptEdits");
    assert_eq!(after("--max-turns"), "7");
    assert_eq!(after("--max-budget-usd"), "0.5000");
    assert!(
        !args.iter().any(|arg| arg == "--bare"),
        "--bare would skip every hook"
    );
    let session = after("--session-id").to_owned();
    // Every event Orchestron hooks runs this binary's `hook EVENT --worker`, once.
    let settings: Value = serde_json::from_str(after("--settings")).unwrap();
    let hooks = settings["hooks"].as_object().unwrap();
    assert_eq!(hooks.len(), orchestron::EVENTS.len());
    for event in orchestron::EVENTS {
        let handlers = &hooks[*event][0]["hooks"];
        assert_eq!(handlers.as_array().unwrap().len(), 1, "{event}");
        assert_eq!(
            handlers[0]["args"],
            json!(["hook", event, "--worker"]),
            "{event}"
        );
        assert!(Path::new(handlers[0]["command"].as_str().unwrap()).is_absolute());
    }
    // Its environment: its session, the main state root, the worker marks, this binary first
    // on PATH; its folder: the item's worktree.
    let env = std::fs::read_to_string(project.stub_dir.join(format!("{id}.env"))).unwrap();
    let state = project.state().canonicalize().unwrap();
    for line in [
        format!("ORCHESTRON_SESSION={session}"),
        format!("ORCHESTRON_WORKER={id}"),
        "ORCHESTRON_WORKER_ATTEMPT=1".to_owned(),
    ] {
        assert!(env.lines().any(|l| l == line), "{line}\n{env}");
    }
    let home = env
        .lines()
        .find_map(|l| l.strip_prefix("ORCHESTRON_HOME="))
        .unwrap();
    assert_eq!(Path::new(home).canonicalize().unwrap(), state);
    let pwd = std::fs::read_to_string(project.stub_dir.join(format!("{id}.pwd"))).unwrap();
    assert_eq!(
        Path::new(pwd.trim())
            .canonicalize()
            .unwrap_or_else(|_| PathBuf::from(pwd.trim())),
        state.join("worktrees").join(&id)
    );
}

#[test]
fn human_review_leaves_the_work_in_review_on_its_branch() {
    let project = Project::new();
    let id = project.create("Needs eyes");
    let run = project.workers(&["--once", "--review", "human"]);
    assert!(run.ok().is_empty(), "{run}");
    assert!(run.stderr.contains("waits for review"), "{run}");
    assert_eq!(project.item(&id)["status"], "IN_REVIEW");
    // The branch is kept, the worktree removed, nothing merged.
    let kept = project.git(&["show", &format!("orchestron/{id}:{id}.txt")]);
    assert!(kept.contains(&id), "{kept}");
    assert!(!project.state().join(format!("worktrees/{id}")).exists());
    let files = project.git(&["ls-tree", "--name-only", "orchestron/integration"]);
    assert!(!files.contains(&id), "{files}");
}

#[test]
fn a_rejecting_rate_limit_pauses_new_workers_until_it_resets() {
    let project = Project::new();
    let first = project.create("Hits the limit");
    let second = project.create("Waits for the reset");
    project.script(&first, &["limited"]);
    let started = Instant::now();
    let run = project.workers(&["--once", "--count", "1", "--json"]);
    assert_eq!(run.code, 0, "{run}");
    let events = events(&run);
    let limited = events
        .iter()
        .position(|e| e["event"] == "rate_limited")
        .unwrap_or_else(|| panic!("{run}"));
    let second_claimed = events
        .iter()
        .position(|e| e["event"] == "claimed" && e["item"] == second.as_str())
        .unwrap();
    assert!(limited < second_claimed, "{run}");
    // The reset was 2 seconds after the event (whole seconds: at least 1 s later).
    assert!(started.elapsed() >= Duration::from_secs(1), "{run}");
    assert_eq!(project.item(&second)["status"], "DONE");
}

#[test]
fn a_worker_that_asks_a_person_is_neither_merged_nor_retried() {
    let project = Project::new();
    let id = project.create("Unclear");
    project.script(&id, &["ask"]);
    let run = project.workers(&["--once", "--json"]);
    assert_eq!(run.code, 0, "{run}");
    let events = events(&run);
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "asked" && e["question"] == "Which colour?"),
        "{run}"
    );
    assert!(!events.iter().any(|e| e["event"] == "integrated"), "{run}");
    assert_eq!(events.iter().filter(|e| e["event"] == "spawned").count(), 1);
    let item = project.item(&id);
    assert_eq!(item["status"], "BLOCKED");
    assert_eq!(item["blocked_reason"], "Which colour?");
    let attention = project.run(&["attention", "--json"]).json();
    assert!(
        attention
            .as_array()
            .unwrap()
            .iter()
            .any(|entry| entry["item"] == id.as_str()),
        "{attention}"
    );
}

#[test]
fn a_worker_killed_with_sigkill_is_retried_and_its_work_kept() {
    let project = Project::new();
    let id = project.create("Killed halfway");
    project.script(&id, &["killed", "ok"]);
    let run = project.workers(&["--once", "--json"]);
    assert_eq!(run.code, 0, "{run}");
    let events = events(&run);
    let exited: Vec<&Value> = events.iter().filter(|e| e["event"] == "exited").collect();
    assert_eq!(exited.len(), 2, "{run}");
    assert_eq!(exited[0]["outcome"], "failed");
    assert_eq!(exited[0]["exit_code"], 137, "128 + SIGKILL");
    assert_eq!(project.item(&id)["status"], "DONE");
    // What the killed worker left uncommitted is in a commit on the integration branch.
    let log = project.merged_history(&id);
    assert!(log.contains("left by a killed worker"), "{log}");
}

#[test]
fn a_finished_items_worktree_serves_the_next_item_as_clean_as_a_new_checkout() {
    let project = Project::new();
    std::fs::write(
        project.repo().join(".gitignore"),
        ".orchestron/\nbuild/\n.cache\n",
    )
    .unwrap();
    project.git(&["commit", "-qam", "ignore build output"]);
    let first = project.create("First");
    let second = project.create("Second");
    let third = project.create("Third");
    project.depend(&second, &first);
    project.depend(&third, &second);
    // The first leaves ignored build output; the second takes long enough for the first's
    // worktree to be kept as a spare before the third starts.
    project.script(&first, &["litter"]);
    project.script(&second, &["steady"]);
    let run = project.workers(&["--once", "--count", "1", "--json"]);
    assert_eq!(run.code, 0, "{run}");
    let read = |item: &str, what: &str| {
        std::fs::read_to_string(project.stub_dir.join(format!("{item}.{what}"))).unwrap()
    };
    // The next items worked in the first's worktree (its git folder is still named after
    // the first), at their own paths, on their own branches, with their dependencies' work.
    let reused: Vec<&String> = [&second, &third]
        .into_iter()
        .filter(|item| {
            read(item, "gitfile")
                .trim()
                .ends_with(&format!("/worktrees/{first}"))
        })
        .collect();
    assert!(!reused.is_empty(), "{run}");
    for item in [&second, &third] {
        let files = read(item, "files");
        assert!(!files.contains("build"), "{item}: {files}");
        assert!(!files.contains(".cache"), "{item}: {files}");
        assert!(files.contains(&format!("./{first}.txt")), "{item}: {files}");
        assert!(
            read(item, "pwd")
                .trim()
                .ends_with(&format!(".orchestron/worktrees/{item}")),
            "{item}"
        );
    }
    let third_file = project.git(&["show", &format!("orchestron/integration:{third}.txt")]);
    assert!(
        third_file.contains(&format!("{second}.txt")),
        "{third_file}"
    );
    // Every item merged; no worktree, spare or worker branch is left.
    for item in [&first, &second, &third] {
        assert_eq!(project.item(item)["status"], "DONE", "{item}");
    }
    let worktrees = project.git(&["worktree", "list"]);
    assert_eq!(worktrees.lines().count(), 1, "{worktrees}");
    let left: Vec<_> = std::fs::read_dir(project.state().join("worktrees"))
        .map(|entries| entries.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    let branches = project.git(&["branch", "--format=%(refname:short)"]);
    assert_eq!(
        branches.lines().collect::<Vec<_>>(),
        ["main", "orchestron/integration"],
        "{branches}"
    );
}

/// A `notify.command` that came with the repository is not run when an item enters the
/// attention queue during a run, and the run says so once.
#[test]
fn a_committed_notify_command_is_not_run_and_the_run_says_so() {
    let project = Project::new();
    let notified = project.env.path().join("notified");
    std::fs::create_dir_all(project.state()).unwrap();
    std::fs::write(
        project.state().join("config.json"),
        format!(
            r#"{{"notify": {{"command": "touch '{}'"}}}}"#,
            notified.display()
        ),
    )
    .unwrap();
    project.git(&["add", "-f", ".orchestron/config.json"]);
    project.git(&["commit", "-q", "-m", "the project's configuration"]);
    let ids: Vec<String> = ["One", "Two"].iter().map(|t| project.create(t)).collect();
    for id in &ids {
        project.script(id, &["noresult"]);
    }
    let run = project.workers(&["--once", "--attempts", "1"]);
    assert_eq!(run.code, 5, "{run}");
    assert_eq!(run.stderr.matches("not notified").count(), 1, "{run}");
    assert!(run.stderr.contains("`notify.command` is not run"), "{run}");
    std::thread::sleep(std::time::Duration::from_millis(600));
    assert!(!notified.exists(), "a committed notify.command ran");
}

#[test]
fn four_workers_drain_a_dag_and_no_item_starts_before_its_dependencies_merge() {
    let project = Project::new();
    // Width 4, depth 3, two joins.
    let a: Vec<String> = (1..=4).map(|n| project.create(&format!("A{n}"))).collect();
    let b: Vec<String> = (1..=4).map(|n| project.create(&format!("B{n}"))).collect();
    let c: Vec<String> = (1..=4).map(|n| project.create(&format!("C{n}"))).collect();
    let mut deps: Vec<(&String, Vec<&String>)> = vec![
        (&b[0], vec![&a[0], &a[1]]),
        (&b[1], vec![&a[1]]),
        (&b[2], vec![&a[2]]),
        (&b[3], vec![&a[3]]),
        (&c[0], vec![&b[0], &b[1], &b[2]]),
    ];
    deps.extend((1..4).map(|n| (&c[n], vec![&b[n]])));
    for (item, on) in &deps {
        for dependency in on {
            project.depend(item, dependency);
        }
    }
    let run = project.workers(&["--once", "--count", "4", "--json"]);
    assert_eq!(run.code, 0, "{run}");
    let events = events(&run);
    // Each item's worktree, made from the integration branch when it was claimed, held its
    // dependencies' files (the stub lists them): they were merged before it started.
    for (item, on) in &deps {
        let listed = project.git(&["show", &format!("orchestron/integration:{item}.txt")]);
        for dependency in on {
            assert!(
                listed.contains(&format!("{dependency}.txt")),
                "{item} started before {dependency} was merged: {listed}\n{run}"
            );
        }
    }
    let files = project.git(&["ls-tree", "--name-only", "orchestron/integration"]);
    for id in a.iter().chain(&b).chain(&c) {
        assert_eq!(project.item(id)["status"], "DONE", "{id}");
        assert!(files.contains(&format!("{id}.txt")), "{files}");
        assert_eq!(
            events
                .iter()
                .filter(|e| e["event"] == "claimed" && e["item"] == id.as_str())
                .count(),
            1,
            "{id} claimed once"
        );
    }
    // A join's worktree held its dependencies' dependencies too.
    let join = project.git(&["show", &format!("orchestron/integration:{}.txt", c[0])]);
    for dependency in [&a[0], &a[1], &a[2]] {
        assert!(join.contains(&format!("{dependency}.txt")), "{join}");
    }
    // At most four at once, and four at once at the start.
    let mut running = 0;
    let mut most = 0;
    for e in &events {
        match e["event"].as_str() {
            Some("spawned") => running += 1,
            Some("exited") => running -= 1,
            _ => {}
        }
        most = most.max(running);
    }
    assert_eq!(most, 4, "{run}");
    let attention = project.run(&["attention", "--json"]).json();
    assert_eq!(attention, json!([]), "{attention}");
}

#[test]
fn items_whose_declared_files_overlap_never_run_at_once_and_a_disjoint_one_runs_beside() {
    let project = Project::new();
    let create = |title: &str, files: &[&str]| {
        let mut args = vec!["task", "create", title, "--json", "--files"];
        args.extend(files);
        project.run(&args).json()["id"].as_str().unwrap().to_owned()
    };
    let first = create("First", &["src/auth/**"]);
    let overlapping = create("Overlapping", &["src/**/*.rs", "README.md"]);
    let disjoint = create("Disjoint", &["docs"]);
    assert_eq!(project.item(&disjoint)["files"], json!(["docs"]));
    let stub = stub();
    let run = project.env.run_in(
        &project.repo(),
        &[
            "workers", "run", "--claude", &stub, "--once", "--count", "3", "--json",
        ],
        &[("STUB_SLEEP", "2")],
    );
    assert_eq!(run.code, 0, "{run}");
    let events = events(&run);
    let at = |event: &str, item: &str| {
        events
            .iter()
            .position(|e| e["event"] == event && e["item"] == item)
            .unwrap_or_else(|| panic!("no {event} of {item}: {run}"))
    };
    // The disjoint item ran beside the first; the overlapping one only once the first was
    // done (merged: it stays IN_PROGRESS until then).
    assert!(at("spawned", &disjoint) < at("exited", &first), "{run}");
    assert!(at("claimed", &overlapping) > at("exited", &first), "{run}");
    for id in [&first, &overlapping, &disjoint] {
        assert_eq!(project.item(id)["status"], "DONE", "{id}");
    }
    // Each worker held its item's declared files exclusively while it worked.
    let leases: Value = serde_json::from_str(
        &std::fs::read_to_string(project.stub_dir.join(format!("{first}.leases"))).unwrap(),
    )
    .unwrap();
    let held: Vec<&Value> = leases["leases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|lease| lease["worker"] == first.as_str())
        .collect();
    assert_eq!(held.len(), 1, "{leases}");
    assert_eq!(held[0]["path"], "src/auth/**");
    assert_eq!(held[0]["exclusive"], true);
    assert_eq!(held[0]["item"], first.as_str());
    // And gave them back when its attempt ended.
    assert_eq!(
        project.run(&["lease", "list", "--json"]).json()["leases"],
        json!([])
    );
}

#[test]
fn no_worker_starts_on_files_another_live_session_holds_exclusively() {
    let project = Project::new();
    let session = "c1c1c1c1-0000-4000-8000-000000000001";
    project
        .env
        .hook_in(
            &project.repo(),
            "SessionStart",
            &json!({"session_id": session, "source": "startup"}),
        )
        .ok();
    project
        .env
        .run_in(
            &project.repo(),
            &["lease", "acquire", "src", "--exclusive"],
            &[("ORCHESTRON_SESSION", session)],
        )
        .ok();
    let held = project.run(&["task", "create", "Held", "--files", "src/a.rs", "--json"]);
    let held = held.json()["id"].as_str().unwrap().to_owned();
    let free = project.create("Free");
    let run = project.workers(&["--once", "--json"]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(project.item(&free)["status"], "DONE");
    assert_eq!(project.item(&held)["status"], "TODO", "{run}");
}

#[test]
fn workers_run_as_an_agent_take_its_items_first_and_pass_its_name_on() {
    let project = Project::new();
    let urgent = project.run(&["task", "create", "Urgent", "--priority", "HIGH", "--json"]);
    let urgent = urgent.json()["id"].as_str().unwrap().to_owned();
    let api = project.run(&[
        "task",
        "create",
        "API",
        "--priority",
        "LOW",
        "--label",
        "backend",
        "--json",
    ]);
    let api = api.json()["id"].as_str().unwrap().to_owned();
    let run = project.workers(&["--agent", "backend", "--count", "1", "--once", "--json"]);
    assert_eq!(run.code, 0, "{run}");
    let claimed: Vec<String> = events(&run)
        .iter()
        .filter(|e| e["event"] == "claimed")
        .map(|e| e["item"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(claimed, vec![api.clone(), urgent.clone()], "{run}");
    let env = std::fs::read_to_string(project.stub_dir.join(format!("{api}.env"))).unwrap();
    assert!(
        env.lines().any(|line| line == "ORCHESTRON_AGENT=backend"),
        "{env}"
    );
    let agents = project.run(&["agent", "list", "--json"]).json();
    assert_eq!(agents["agents"][0]["name"], "backend", "{agents}");
    let workers: Vec<&Value> = agents["agents"][0]["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(workers.len(), 2, "{agents}");
    assert!(
        workers.iter().any(|s| s["worker"] == api.as_str()),
        "{agents}"
    );
}

#[test]
fn a_worker_without_a_result_is_retried_then_blocked_with_the_reason() {
    let project = Project::new();
    let id = project.create("Never finishes");
    project.script(&id, &["noresult", "noresult"]);
    let run = project.workers(&["--once", "--attempts", "2"]);
    let stderr = run.fails(5);
    assert!(stderr.contains("BLOCKED"), "{run}");
    let item = project.item(&id);
    assert_eq!(item["status"], "BLOCKED");
    let reason = item["blocked_reason"].as_str().unwrap();
    assert!(reason.contains("no result"), "{reason}");
    assert!(reason.contains("2 attempts"), "{reason}");
    // It waits in the attention queue with its reason and the commands that act on it.
    let attention = project.run(&["attention", "--json"]).json();
    let entry = attention
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["item"] == id.as_str())
        .unwrap_or_else(|| panic!("{attention}"));
    assert!(
        entry["reason"].as_str().unwrap().contains("no result"),
        "{entry}"
    );
    let status = project.run(&["workers", "status", "--json"]).json();
    let failures = status["recent_failures"].as_array().unwrap();
    assert_eq!(failures.len(), 2, "{status}");
    assert!(failures.iter().all(|f| f["outcome"] == "failed"));
}

#[test]
fn a_failed_attempt_is_retried_and_the_retry_succeeds() {
    let project = Project::new();
    let id = project.create("Second time lucky");
    project.script(&id, &["error", "ok"]);
    let run = project.workers(&["--once"]);
    run.ok();
    assert!(run.stderr.contains("goes back for attempt 2 of 2"), "{run}");
    assert_eq!(project.item(&id)["status"], "DONE");
    let history = project.history(&id);
    assert!(
        history.iter().any(|e| e["what"] == "claim_returned"),
        "{history:?}"
    );
}

#[test]
fn a_stalled_worker_is_stopped_and_retried() {
    let project = Project::new();
    let id = project.create("Goes quiet once");
    project.script(&id, &["stall", "ok"]);
    let started = Instant::now();
    let run = project.workers(&["--once", "--stall", "1s", "--json"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the stall was cut short"
    );
    let events = events(&run);
    assert!(events.iter().any(|e| e["event"] == "stalled"), "{run}");
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "exited" && e["outcome"] == "stalled"),
        "{run}"
    );
    assert_eq!(project.item(&id)["status"], "DONE");
}

#[test]
fn the_budget_stops_spawning_and_says_so() {
    let mut project = Project::new();
    project.env.set("STUB_COST", "0.6");
    let ids: Vec<String> = (1..=3)
        .map(|n| project.create(&format!("Item {n}")))
        .collect();
    let run = project.workers(&["--once", "--count", "1", "--budget-usd", "1"]);
    let stderr = run.fails(3);
    assert!(stderr.contains("budget"), "{run}");
    let statuses: Vec<String> = ids
        .iter()
        .map(|id| project.item(id)["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(statuses, ["DONE", "DONE", "TODO"], "{run}");
}

#[test]
fn the_budget_counts_what_running_workers_will_spend() {
    let mut project = Project::new();
    project.env.set("STUB_COST", "0.4");
    let ids: Vec<String> = (1..=6)
        .map(|n| project.create(&format!("Item {n}")))
        .collect();
    // Two and a half items' worth, two at a time: three start, not four or five.
    let run = project.workers(&["--once", "--count", "2", "--budget-usd", "1", "--json"]);
    assert_eq!(run.code, 3, "{run}");
    let events = events(&run);
    assert_eq!(
        events.iter().filter(|e| e["event"] == "spawned").count(),
        3,
        "{run}"
    );
    assert!(
        events.iter().any(|e| e["event"] == "budget_reached"),
        "{run}"
    );
    let todo = ids
        .iter()
        .filter(|id| project.item(id)["status"] == "TODO")
        .count();
    assert_eq!(todo, 3, "{run}");
}

#[test]
fn a_conflicting_branch_is_not_merged_and_its_next_attempt_resolves_it() {
    let project = Project::new();
    let first = project.create("One");
    let second = project.create("Two");
    project.script(&first, &["shared", "resolve"]);
    project.script(&second, &["shared", "resolve"]);
    let run = project.workers(&["--once", "--count", "2", "--json"]);
    assert_eq!(run.code, 0, "{run}");
    let events = events(&run);
    // Both started from the same tip: one merged, the other conflicted and went back.
    let conflicted: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "integrated" && e["result"] == "conflict")
        .map(|e| e["item"].as_str().unwrap())
        .collect();
    assert_eq!(conflicted.len(), 1, "{run}");
    let loser = conflicted[0];
    // Its next attempt was told to merge the integration branch first, and did.
    let raw = std::fs::read(project.stub_dir.join(format!("{loser}.args"))).unwrap();
    let prompt = String::from_utf8_lossy(&raw);
    assert!(
        prompt.contains("git merge orchestron/integration"),
        "{prompt}"
    );
    for id in [&first, &second] {
        assert_eq!(project.item(id)["status"], "DONE", "{run}");
    }
    let shared = project.git(&["show", "orchestron/integration:shared.txt"]);
    assert_eq!(shared.lines().count(), 2, "both sides kept: {shared}");
}

/// A `--once` run whose one worker (`mode`, writing `<ID>.txt` then waiting) is stopped
/// with `workers stop` once its file is there, while it is the one running: the run, and
/// the file's path.
fn stopped_while(project: &Project, id: &str, mode: &str) -> (Run, PathBuf) {
    project.script(id, &[mode]);
    let child = spawn_run(project, &["--once"]);
    let file = project.state().join(format!("worktrees/{id}/{id}.txt"));
    wait_for("the worker's file", || file.exists());
    let status = project.run(&["workers", "status", "--json"]).json();
    assert_eq!(status["running"].as_array().unwrap().len(), 1, "{status}");
    project.run(&["workers", "stop"]).ok();
    let output = child.timed_wait_with_output().unwrap();
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    (run, file)
}

#[test]
fn workers_stop_commits_the_work_and_gives_the_item_back() {
    let project = Project::new();
    let id = project.create("Interrupted");
    let (run, file) = stopped_while(&project, &id, "slow");
    assert_eq!(run.code, 4, "{run}");
    assert!(run.stderr.contains("stopped"), "{run}");
    let item = project.item(&id);
    assert_eq!(item["status"], "TODO", "{run}");
    // Nothing is lost: the uncommitted file is in a commit on the item's branch.
    let kept = project.git(&["show", &format!("orchestron/{id}:{id}.txt")]);
    assert!(kept.contains("unfinished"), "{kept}");
    assert!(!file.exists(), "the worktree is removed once committed");
    assert!(
        project
            .history(&id)
            .iter()
            .any(|e| e["what"] == "claim_returned"),
        "{run}"
    );
    // Stopping again finds nothing to stop.
    project.run(&["workers", "stop"]).fails(1);
}

/// A stop whose commit fails (the worker's git index is locked while something still works
/// in its worktree) says where the work is, not that it is on the branch; once nothing works
/// there, `workers recover` commits it.
#[test]
fn a_stop_that_cannot_commit_says_where_the_work_is() {
    let project = Project::new();
    let id = project.create("Locked");
    let (run, file) = stopped_while(&project, &id, "locked");
    let busy = std::fs::read_to_string(project.stub_dir.join(format!("{id}.busy"))).unwrap();
    let _ = std::process::Command::new("kill").arg(busy.trim()).status();
    assert_eq!(run.code, 4, "{run}");
    assert!(run.stderr.contains("left uncommitted"), "{run}");
    assert!(!run.stderr.contains("kept on their branches"), "{run}");
    assert_eq!(project.item(&id)["status"], "TODO", "{run}");
    assert!(file.exists(), "the work stays in its worktree");
    // Once nothing works there, the lock is stale: recovery commits the work.
    wait_for("the leftover process to end", || {
        !std::path::Path::new(&format!("/proc/{}", busy.trim())).exists()
    });
    let recovered = project.run(&["workers", "recover"]);
    recovered.ok();
    let kept = project.git(&["show", &format!("orchestron/{id}:{id}.txt")]);
    assert!(kept.contains("unfinished"), "{kept}\n{recovered}");
}

#[test]
fn workers_logs_render_the_stream_for_a_person() {
    let project = Project::new();
    let id = project.create("Logged");
    // Without `--once` too, a run ends when nothing is left that could become ready.
    project.workers(&[]).ok();
    let logs = project.run(&["workers", "logs", &id]);
    let text = logs.ok();
    assert!(text.contains("attempt 1"), "{logs}");
    assert!(text.contains("→ Bash: write"), "{logs}");
    assert!(text.contains(&format!("Done with {id}.")), "{logs}");
    assert!(text.contains("result: success"), "{logs}");
    assert!(text.contains("$0.0100"), "{logs}");
    let json = project.run(&["workers", "logs", &id, "--json"]);
    assert!(
        json.ok().lines().any(|l| l.contains("\"kind\":\"result\"")),
        "{json}"
    );
    project
        .run(&["workers", "logs", &id, "--attempt", "7"])
        .fails(1);
}

/// Start `workers run` in the background.
fn spawn_run(project: &Project, extra: &[&str]) -> std::process::Child {
    let stub = stub();
    let mut args = vec!["workers", "run", "--claude", &stub];
    args.extend(extra);
    project
        .env
        .command(&args)
        .current_dir(project.repo())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready() {
        assert!(Instant::now() < deadline, "{what} never happened");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn workers_logs_follow_prints_until_the_attempt_ends() {
    let project = Project::new();
    let id = project.create("Followed");
    project.script(&id, &["steady"]);
    let child = spawn_run(&project, &["--once"]);
    let log = project.state().join(format!("workers/{id}/1.jsonl"));
    wait_for("the log", || log.exists());
    let logs = project.run(&["workers", "logs", &id, "--follow"]);
    let text = logs.ok();
    assert!(text.contains("→ Bash: step 5"), "{logs}");
    assert!(text.contains("result: success"), "{logs}");
    let output = child.timed_wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
}

#[test]
fn a_killed_supervisor_loses_no_commit_and_claims_nothing_twice() {
    let project = Project::new();
    let ids: Vec<String> = (1..=3)
        .map(|n| project.create(&format!("Item {n}")))
        .collect();
    for id in &ids {
        project.script(id, &["slow", "ok"]);
    }
    let mut child = spawn_run(&project, &["--count", "3", "--once"]);
    for id in &ids {
        let file = project.state().join(format!("worktrees/{id}/{id}.txt"));
        wait_for("every worker's file", || file.exists());
    }
    child.kill().unwrap();
    child.timed_wait().unwrap();
    // The workers still run, orphaned; the next run finds them.
    let run = project.workers(&["--once", "--count", "3"]);
    assert_eq!(run.code, 0, "{run}");
    for id in &ids {
        assert_eq!(project.item(id)["status"], "DONE", "{id}\n{run}");
        // The file the killed worker left uncommitted is in a commit.
        let log = project.merged_history(id);
        assert!(log.contains("unfinished"), "{id}: {log}");
        // Each generation was claimed by one claimer.
        let claims: Vec<Value> = project
            .history(id)
            .into_iter()
            .filter(|e| e["what"] == "claimed")
            .collect();
        let mut generations: Vec<i64> = claims
            .iter()
            .filter_map(|e| e["detail"]["generation"].as_i64())
            .collect();
        generations.dedup();
        assert_eq!(generations.len(), claims.len(), "{claims:?}");
    }
    let status = project.run(&["workers", "status", "--json"]).json();
    assert_eq!(status["running"], json!([]), "{status}");
    assert_eq!(status["runs"], json!([]), "{status}");
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    // Not a git repository.
    let env = TestEnv::new();
    let stub = stub();
    let run = env.run(&["workers", "run", "--claude", &stub, "--once"]);
    assert!(run.fails(1).contains("not a git repository"), "{run}");
    let project = Project::new();
    let id = project.create("Untouched");
    // A missing Claude Code.
    let run = project.run(&["workers", "run", "--claude", "/nowhere/claude", "--once"]);
    assert!(run.fails(1).contains("/nowhere/claude"), "{run}");
    let run = project.run(&["workers", "run", "--once"]);
    assert!(run.fails(1).contains("cannot find Claude Code"), "{run}");
    // An invalid integration branch, and the user's own branch.
    let run = project.workers(&["--once", "--into", "bad..name"]);
    assert!(run.fails(1).contains("not a valid branch name"), "{run}");
    let run = project.workers(&["--once", "--into", "main"]);
    assert!(run.fails(1).contains("checked out"), "{run}");
    let run = project.workers(&["--once", "--count", "0"]);
    run.fails(2);
    assert_eq!(project.item(&id)["status"], "TODO");
    let branches = project.git(&["branch", "--format=%(refname:short)"]);
    assert_eq!(branches.trim(), "main");
}

#[test]
fn under_orchestron_worker_only_the_worker_hooks_act() {
    let project = Project::new();
    let session = "7a1d0b9a-1c2d-4e3f-8a9b-0c1d2e3f4a5b";
    let payload = json!({"session_id": session, "hook_event_name": "SessionStart",
        "source": "startup", "cwd": project.repo()});
    let worker = [
        ("ORCHESTRON_WORKER", "T-1"),
        ("ORCHESTRON_WORKER_RUN", "run-1"),
        ("ORCHESTRON_WORKER_ATTEMPT", "2"),
    ];
    // The plugin's or `init`'s hook: nothing, not even the session.
    let mut command = project.env.command(&["hook", "SessionStart"]);
    command.current_dir(project.repo()).envs(worker);
    let run = run_with(command, &payload.to_string());
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.stdout, "", "{run}");
    assert!(
        !project
            .state()
            .join(format!("sessions/{session}.json"))
            .exists()
    );
    // The supervisor's: the session, marked as the worker's.
    let mut command = project.env.command(&["hook", "SessionStart", "--worker"]);
    command.current_dir(project.repo()).envs(worker);
    let run = run_with(command, &payload.to_string());
    assert_eq!(run.code, 0, "{run}");
    let marked = project.run(&["state", "get", session, "worker", "--json"]);
    assert_eq!(
        marked.json(),
        json!({"item": "T-1", "run": "run-1", "attempt": 2}),
        "{marked}"
    );
    // Without `ORCHESTRON_WORKER`, a hook acts as always.
    let other = "8a1d0b9a-1c2d-4e3f-8a9b-0c1d2e3f4a5b";
    let payload = json!({"session_id": other, "hook_event_name": "SessionStart",
        "source": "startup", "cwd": project.repo()});
    let run = project
        .env
        .hook_in(&project.repo(), "SessionStart", &payload);
    assert_eq!(run.code, 0, "{run}");
    assert!(
        project
            .state()
            .join(format!("sessions/{other}.json"))
            .exists()
    );
}

fn run_with(mut command: Command, input: &str) -> Run {
    command.stdin(Stdio::piped());
    let child = crate::spawn_with_stdin(command, input);
    let output = crate::wait_with_timeout(child, crate::CHILD_LIMIT);
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

// ---------------------------------------------------------------------------------------
// review findings of issue 13 (supervisor side)

/// Finding 2: a symbolic link under the state root's `workers/` or `worktrees/` is never
/// followed: a linked log is refused before anything is appended to its target, a linked
/// `workers` or `worktrees` folder refuses the run, and a linked worktree of one item is
/// refused before an attempt is spent on it.
#[test]
fn finding_02_links_under_workers_and_worktrees_are_never_followed() {
    let project = Project::new();
    let id = project.create("Linked log");
    let victim = project.env.path().join("victim.txt");
    std::fs::write(&victim, "precious\n").unwrap();
    let logs = project.state().join(format!("workers/{id}"));
    std::fs::create_dir_all(&logs).unwrap();
    std::os::unix::fs::symlink(&victim, logs.join("1.jsonl")).unwrap();
    let run = project.workers(&["--once", "--json"]);
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "precious\n",
        "{run}"
    );
    assert!(run.stdout.contains("symbolic link"), "{run}");
    assert_eq!(project.item(&id)["status"], "TODO", "{run}");
    let attempts = project.run(&["workers", "logs", &id]);
    assert!(
        attempts.fails(1).contains("no worker"),
        "no attempt spent: {attempts}"
    );
    std::fs::remove_dir_all(&logs).unwrap();

    // A linked worktree of the item: refused clearly, no attempt spent.
    let elsewhere = project.env.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::create_dir_all(project.state().join("worktrees")).unwrap();
    let link = project.state().join(format!("worktrees/{id}"));
    std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
    let run = project.workers(&["--once", "--json"]);
    assert!(run.stdout.contains("is a symbolic link"), "{run}");
    assert_eq!(project.item(&id)["status"], "TODO", "{run}");
    assert!(project.run(&["workers", "logs", &id]).code != 0, "{run}");
    std::fs::remove_file(&link).unwrap();

    // A plain folder in the way of the item's worktree: refused, and nothing of the user's
    // (an uncommitted change in their checkout) is committed anywhere.
    std::fs::create_dir(&link).unwrap();
    std::fs::write(project.repo().join("mine.txt"), "the user's\n").unwrap();
    let head = project.git(&["rev-parse", "HEAD"]);
    let run = project.workers(&["--once", "--json"]);
    assert!(run.stdout.contains("is in the way"), "{run}");
    assert_eq!(project.item(&id)["status"], "TODO", "{run}");
    assert_eq!(project.git(&["rev-parse", "HEAD"]), head, "{run}");
    assert!(project.git(&["status", "--porcelain"]).contains("mine.txt"));
    // Nor another repository's folder there, nor a file: nothing is committed in them.
    crate::train::git_in(&link, project.env.path(), &["init", "-q", "-b", "main"]);
    std::fs::write(link.join("wip.txt"), "theirs\n").unwrap();
    let run = project.workers(&["--once", "--json"]);
    assert!(run.stdout.contains("is in the way"), "{run}");
    let theirs = crate::train::git_in(&link, project.env.path(), &["status", "--porcelain"]);
    assert!(theirs.contains("wip.txt"), "{theirs}");
    std::fs::remove_dir_all(&link).unwrap();
    std::fs::write(&link, "a file\n").unwrap();
    let run = project.workers(&["--once", "--json"]);
    assert!(run.stdout.contains("is in the way"), "{run}");
    assert_eq!(project.item(&id)["status"], "TODO", "{run}");
    assert!(
        project.run(&["workers", "logs", &id]).code != 0,
        "no attempt spent"
    );
    std::fs::remove_file(&link).unwrap();
    std::fs::remove_file(project.repo().join("mine.txt")).unwrap();

    // Linked `workers` and `worktrees` folders refuse the run.
    for folder in ["workers", "worktrees"] {
        let target = project.env.path().join(format!("target-{folder}"));
        std::fs::create_dir(&target).unwrap();
        let path = project.state().join(folder);
        let _ = std::fs::remove_dir_all(&path);
        std::os::unix::fs::symlink(&target, &path).unwrap();
        let run = project.workers(&["--once"]);
        assert!(run.fails(1).contains("symbolic link"), "{folder}: {run}");
        assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0, "{run}");
        std::fs::remove_file(&path).unwrap();
    }
    assert_eq!(project.item(&id)["status"], "TODO");
}

/// Findings 4 and 5: `--into` is refused up front, before any branch is made, when it is
/// under `orchestron/` (a worker's branch), a full ref, or also a tag's name.
#[test]
fn finding_04_05_an_into_branch_that_would_collide_is_refused_up_front() {
    let project = Project::new();
    let id = project.create("Aimed");
    project.git(&["tag", "v1"]);
    for (into, says) in [
        (format!("orchestron/{id}"), "orchestron/"),
        ("orchestron/mine".to_owned(), "orchestron/"),
        ("refs/heads/foo".to_owned(), "names a ref"),
        ("v1".to_owned(), "tag"),
    ] {
        let run = project.workers(&["--once", "--into", &into]);
        assert!(run.fails(1).contains(says), "{into}: {run}");
    }
    let branches = project.git(&["branch", "--format=%(refname)"]);
    assert_eq!(branches.trim(), "refs/heads/main");
    assert_eq!(project.item(&id)["status"], "TODO");
    let status = project.run(&["workers", "status", "--json"]).json();
    assert_eq!(status["runs"], json!([]), "{status}");
}

/// Finding 6: the run never spends more than `--budget-usd`, however many workers run: each
/// new worker may spend what is neither spent nor reserved by the running ones.
#[test]
fn finding_06_the_budget_is_never_overspent() {
    let mut project = Project::new();
    project.env.set("STUB_COST", "0.4");
    for n in 1..=6 {
        project.create(&format!("Item {n}"));
    }
    let run = project.workers(&["--once", "--count", "2", "--budget-usd", "0.5", "--json"]);
    assert_eq!(run.code, 3, "{run}");
    let events = events(&run);
    let ended = events.last().unwrap();
    assert_eq!(ended["outcome"], "budget", "{run}");
    let spent = ended["spent_usd"].as_f64().unwrap();
    assert!(spent <= 0.5 + 1e-9, "spent {spent} of 0.5\n{run}");
    // The second worker was started with what the first had not reserved, not with all.
    let caps: Vec<f64> = events
        .iter()
        .filter(|e| e["event"] == "spawned")
        .map(|e| e["max_budget_usd"].as_f64().unwrap())
        .collect();
    assert!(caps.iter().all(|cap| *cap <= 0.5), "{caps:?}\n{run}");
    assert!(caps.len() >= 2 && caps[1] <= 0.1 + 1e-9, "{caps:?}\n{run}");
    // It said why the workers ran one at a time, and what runs them at once.
    assert!(
        events.iter().any(|e| e["event"] == "warning"
            && e["message"]
                .as_str()
                .is_some_and(|m| m.contains("--item-budget-usd"))),
        "{run}"
    );
    let run = project.workers(&["--once", "--count", "2", "--budget-usd", "0.5"]);
    assert!(run.fails(3).contains("spent $0.50 of $0.50"), "{run}");
}

/// Finding 9: an unknown `--sprint` or `--epic` fails before the integration branch or a
/// run record is made.
#[test]
fn finding_09_an_unknown_scope_changes_nothing() {
    let project = Project::new();
    project.create("Out of scope");
    for flag in ["--sprint", "--epic"] {
        let run = project.workers(&["--once", flag, "NOPE"]);
        run.fails(1);
        let branches = project.git(&["branch", "--format=%(refname:short)"]);
        assert_eq!(branches.trim(), "main", "{flag}: {run}");
        let status = project.run(&["workers", "status", "--json"]).json();
        assert_eq!(status["runs"], json!([]), "{flag}: {status}");
    }
    let run = project.workers(&["--once"]);
    assert!(!run.stderr.contains("recovered"), "{run}");
    run.ok();
}

/// Finding 11: the test command is stopped at `workers.test_timeout`, and a stop kills a
/// test run within seconds: the item goes back to TODO, its work kept on its branch, and
/// the final message says so.
#[test]
fn finding_11_the_tests_time_out_and_a_stop_kills_them() {
    let project = Project::new();
    project.create("Slow tests");
    let pid_file = project.stub_dir.join("test.pid");
    let config = json!({"workers": {"test_command": format!("echo $$ > {}; exec sleep 60", pid_file.display()),
                                    "test_timeout": "1s"}});
    std::fs::write(project.state().join("config.json"), config.to_string()).unwrap();
    let started = Instant::now();
    let run = project.workers(&["--once", "--attempts", "1", "--json"]);
    assert_eq!(run.code, 5, "{run}");
    assert!(started.elapsed() < Duration::from_secs(30), "{run}");
    assert!(run.stdout.contains("timed out"), "{run}");

    // A bad timeout is refused naming its key.
    std::fs::write(
        project.state().join("config.json"),
        r#"{"workers": {"test_timeout": "0s"}}"#,
    )
    .unwrap();
    let run = project.workers(&["--once"]);
    assert!(run.fails(1).contains("workers.test_timeout"), "{run}");
    std::fs::remove_file(project.state().join("config.json")).unwrap();

    // A stop during the tests kills them.
    let id = project.create("Stopped in its tests");
    let config = json!({"workers": {"test_command": format!("echo $$ > {}; exec sleep 60", pid_file.display())}});
    std::fs::write(project.state().join("config.json"), config.to_string()).unwrap();
    let _ = std::fs::remove_file(&pid_file);
    let child = spawn_run(&project, &["--once"]);
    wait_for("the test run", || pid_file.exists());
    std::thread::sleep(Duration::from_millis(200));
    let test_pid = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .to_owned();
    let stopping = Instant::now();
    project.run(&["workers", "stop"]).ok();
    let output = child.timed_wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(stopping.elapsed() < Duration::from_secs(8), "{stderr}");
    assert_eq!(output.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "back in TODO, their work kept on their branches: {id}"
        )),
        "{stderr}"
    );
    assert_eq!(project.item(&id)["status"], "TODO", "{stderr}");
    project.git(&["show", &format!("orchestron/{id}:{id}.txt")]);
    let alive = Command::new("kill")
        .args(["-0", &test_pid])
        .status()
        .unwrap()
        .success();
    assert!(!alive, "the test run {test_pid} was left running");
}

/// Finding 12: numeric flags are checked alike, as usage errors (exit 2) naming the flag;
/// configuration keys are named as keys; no library's internals leak.
#[test]
fn finding_12_numbers_are_checked_alike_and_name_the_flag_or_key() {
    let project = Project::new();
    let id = project.create("Untouched");
    for (args, says) in [
        (&["--max-turns", "0"][..], "--max-turns"),
        (&["--attempts", "0"], "--attempts"),
        (&["--attempts", "99999999999"], "--attempts"),
        (&["--count", "-1"], "--count"),
        (&["--count", "65"], "--count"),
        (&["--budget-usd", "-1"], "--budget-usd"),
        (&["--item-budget-usd", "NaN"], "--item-budget-usd"),
        (&["--stall", "0s"], "--stall"),
        (&["--stall", "99999999999d"], "--stall"),
    ] {
        let mut full = vec!["--once"];
        full.extend(args);
        let run = project.workers(&full);
        let stderr = run.fails(2);
        assert!(stderr.contains(says), "{args:?}: {run}");
        for leak in ["jiff", "Span", "4294967295", "unexpected argument"] {
            assert!(!stderr.contains(leak), "{args:?}: {run}");
        }
    }
    for (config, key) in [
        (r#"{"workers": {"count": 0}}"#, "`workers.count`"),
        (r#"{"workers": {"attempts": 0}}"#, "`workers.attempts`"),
        (r#"{"workers": {"max_turns": 0}}"#, "`workers.max_turns`"),
        (r#"{"workers": {"budget_usd": -2}}"#, "`workers.budget_usd`"),
        (
            r#"{"workers": {"stall": "99999999999d"}}"#,
            "`workers.stall`",
        ),
        (r#"{"notify": {"command": 5}}"#, "a command line"),
    ] {
        std::fs::write(project.state().join("config.json"), config).unwrap();
        let run = project.workers(&["--once"]);
        let stderr = run.fails(1);
        assert!(stderr.contains(key), "{config}: {run}");
        for leak in ["--count", "untagged", "jiff", "Span"] {
            assert!(!stderr.contains(leak), "{config}: {run}");
        }
    }
    std::fs::remove_file(project.state().join("config.json")).unwrap();
    assert_eq!(project.item(&id)["status"], "TODO");
}

/// Findings 15 and 16: a stall reads "stalled" once, and `workers logs` ends with how the
/// attempt ended.
#[test]
fn finding_15_16_a_stall_reads_once_and_logs_say_how_the_attempt_ended() {
    let project = Project::new();
    let id = project.create("Goes quiet");
    project.script(&id, &["stall", "ok"]);
    let run = project.workers(&["--once", "--stall", "1s"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stderr.contains("stalled: no event for 1s"), "{run}");
    assert!(!run.stderr.contains("stalled: stalled"), "{run}");
    let logs = project.run(&["workers", "logs", &id, "--attempt", "1"]);
    let last = logs.ok().lines().last().unwrap_or_default().to_owned();
    assert!(last.contains("attempt 1 ended at"), "{logs}");
    assert!(last.contains("stalled: no event for 1s"), "{logs}");
    let logs = project.run(&["workers", "logs", &id]);
    let last = logs.ok().lines().last().unwrap_or_default().to_owned();
    assert!(
        last.contains("attempt 2 ended at") && last.contains("merged"),
        "{logs}"
    );
}
