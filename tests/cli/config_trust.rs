//! Review finding 3 (issue 13): a `.orchestron/config.json` that came with the repository
//! (tracked by git) runs none of the commands it names (`notify.command`,
//! `workers.test_command`, `workers.claude`); the same file untracked does. And a state root
//! a clone brought gets Orchestron's `.gitignore` on its first write, so `git status` stays
//! clean.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::train::Project;

/// Wait (bounded) for a file a detached command makes.
fn appears(path: &Path) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if path.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn config(notified: &Path, tested: Option<&Path>) -> String {
    let tests = tested.map_or(String::new(), |path| {
        format!(r#""test_command": "touch '{}'", "#, path.display())
    });
    format!(
        r#"{{"tracker": {{"require_review": true}},
            "notify": {{"command": "touch '{}'"}},
            "workers": {{{tests}"claude": "/nonexistent/claude"}}}}"#,
        notified.display()
    )
}

fn id_of(p: &Project, title: &str) -> String {
    p.run(&["task", "create", title, "--json"]).json()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn a_committed_configuration_runs_no_command_an_untracked_one_does() {
    let p = Project::new();
    let notified = p.env.path().join("notified");
    let tested = p.env.path().join("tested");
    p.config(&config(&notified, Some(&tested)));
    p.git(&["add", "-f", ".orchestron/config.json"]);
    p.git(&["commit", "-q", "-m", "the project's configuration"]);

    // The state root came with the repository: its first write adds Orchestron's
    // `.gitignore`, so nothing Orchestron writes shows in `git status`.
    let review = p.in_review("greet", &[("hello.txt", "hello\n")]);
    assert!(p.repo().join(".orchestron/.gitignore").is_file());
    assert_eq!(p.git(&["status", "--porcelain"]), "");

    // `workers.test_command`: refused, by `review approve` and by `workers run`, before
    // anything changes.
    let err = p.run(&["review", "approve", &review]).fails(1).to_owned();
    assert!(
        err.contains("`workers.test_command` is not run") && err.contains("tracked by git"),
        "{err}"
    );
    assert_eq!(p.status(&review), "IN_REVIEW");
    let err = p.run(&["workers", "run", "--once"]).fails(1).to_owned();
    assert!(err.contains("`workers.test_command` is not run"), "{err}");

    // `workers.claude`: refused (not even looked for).
    p.config(&config(&notified, None));
    p.git(&["commit", "-q", "-am", "no tests"]);
    let err = p.run(&["workers", "run", "--once"]).fails(1).to_owned();
    assert!(
        err.contains("`workers.claude` is not run") && err.contains("--claude"),
        "{err}"
    );

    // `notify.command`: not run, said on stderr; the question stands.
    let asked = id_of(&p, "ask");
    let run = p.run(&["task", "ask", &asked, "which way?"]);
    run.ok();
    assert!(run.stderr.contains("`notify.command` is not run"), "{run}");
    assert_eq!(p.status(&asked), "BLOCKED");
    std::thread::sleep(Duration::from_millis(600));
    assert!(!notified.exists(), "a committed notify.command ran");
    assert!(!tested.exists(), "a committed test_command ran");
    assert_eq!(p.git(&["status", "--porcelain"]), "");

    // The same configuration, untracked (written on this machine): every command runs.
    p.git(&["rm", "-q", "--cached", ".orchestron/config.json"]);
    p.git(&["commit", "-q", "-m", "keep the configuration local"]);
    p.config(&config(&notified, Some(&tested)));
    assert_eq!(
        p.git(&["status", "--porcelain"]),
        "",
        "the state root is ignored"
    );
    let asked = id_of(&p, "ask again");
    let run = p.run(&["task", "ask", &asked, "which way?"]);
    run.ok();
    assert!(!run.stderr.contains("not run"), "{run}");
    assert!(appears(&notified), "an untracked notify.command runs");
    p.run(&["review", "approve", &review]).ok();
    assert_eq!(p.status(&review), "DONE");
    assert!(tested.exists(), "an untracked test_command runs");
    p.config(&config(&notified, None));
    let err = p.run(&["workers", "run", "--once"]).fails(1).to_owned();
    assert!(
        err.contains("`/nonexistent/claude` (from `workers.claude`) is not an executable file"),
        "{err}"
    );
}
