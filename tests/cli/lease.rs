//! Issue 14, file leases: the touches edits leave, explicit leases (`lease acquire|release|
//! list|check`) and what PreToolUse answers about a file another live session holds, with
//! the hooks run as Claude Code runs them, in a real git repository and its worktrees.

use serde_json::{Value, json};

use crate::train::Project;

const A: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
const B: &str = "bbbbbbbb-0000-4000-8000-00000000000b";

fn start(p: &Project, session: &str) {
    p.env
        .hook_in(
            &p.repo(),
            "SessionStart",
            &json!({"session_id": session, "source": "startup"}),
        )
        .ok();
}

fn edit_payload(p: &Project, session: &str, file: &str) -> Value {
    json!({"session_id": session, "tool_name": "Edit",
        "tool_input": {"file_path": p.repo().join(file), "old_string": "a", "new_string": "b"},
        "tool_response": {}})
}

/// Session `session` edited `file` (the PostToolUse Claude Code runs after the edit).
fn edited(p: &Project, session: &str, file: &str) {
    p.env
        .hook_in(&p.repo(), "PostToolUse", &edit_payload(p, session, file))
        .ok();
}

/// What PreToolUse answers `session` about to edit `file`: the reply, or null.
fn before_edit(p: &Project, session: &str, file: &str, extra: &[(&str, &str)]) -> Value {
    let mut command = p.env.command(&["hook", "PreToolUse"]);
    command
        .current_dir(p.repo())
        .env("CLAUDE_PROJECT_DIR", p.repo());
    if !extra.is_empty() {
        command.args(["--worker"]);
    }
    for (name, value) in extra {
        command.env(name, value);
    }
    let output = crate::wait_with_timeout(
        crate::spawn_with_stdin(command, &edit_payload(p, session, file).to_string()),
        std::time::Duration::from_secs(30),
    );
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    if stdout.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&stdout).unwrap()
    }
}

fn as_session(p: &Project, session: &str, args: &[&str]) -> crate::Run {
    p.env
        .run_in(&p.repo(), args, &[("ORCHESTRON_SESSION", session)])
}

#[test]
fn a_touch_warns_others_once_and_an_exclusive_lease_stops_them_until_its_session_ends() {
    let p = Project::new();
    std::fs::create_dir(p.repo().join("src")).unwrap();
    start(&p, A);
    start(&p, B);
    let item = p.started("Build the settings page");
    as_session(&p, A, &["task", "assign", &item, "--to", A]).ok();

    edited(&p, A, "src/x.txt");
    // The editor itself is never warned of its own touch.
    assert_eq!(before_edit(&p, A, "src/x.txt", &[]), Value::Null);
    // Another session is told once, with who and when; the edit is not blocked.
    let warned = before_edit(&p, B, "src/x.txt", &[]);
    let output = &warned["hookSpecificOutput"];
    assert_eq!(output["hookEventName"], "PreToolUse", "{warned}");
    assert!(output.get("permissionDecision").is_none(), "{warned}");
    let context = output["additionalContext"].as_str().unwrap();
    assert!(
        context.contains("`src/x.txt` was edited by session aaaaaaaa")
            && context.contains(&format!("for {item} \"Build the settings page\""))
            && context.contains("just now"),
        "{context}"
    );
    assert_eq!(
        before_edit(&p, B, "src/x.txt", &[]),
        Value::Null,
        "told once"
    );
    // Another file is free.
    assert_eq!(before_edit(&p, B, "src/y.txt", &[]), Value::Null);

    // A takes the file exclusively: an interactive session is asked, a worker denied, each
    // with the holder, its item and the command that takes the file anyway.
    let leased = as_session(
        &p,
        A,
        &[
            "lease",
            "acquire",
            "src/x.txt",
            "--exclusive",
            "--for",
            &item,
            "--json",
        ],
    )
    .json();
    assert_eq!(leased["leases"][0]["path"], "src/x.txt", "{leased}");
    assert_eq!(leased["leases"][0]["exclusive"], true);
    let asked = before_edit(&p, B, "src/x.txt", &[]);
    assert_eq!(
        asked["hookSpecificOutput"]["permissionDecision"], "ask",
        "{asked}"
    );
    let reason = asked["hookSpecificOutput"]["permissionDecisionReason"]
        .as_str()
        .unwrap();
    for part in [
        "`src/x.txt` is leased exclusively by session aaaaaaaa",
        &format!("for {item} \"Build the settings page\""),
        "since 2026-01-01T00:00:00Z",
        "`orchestron lease release :/src/x.txt --force`",
    ] {
        assert!(reason.contains(part), "{part}: {reason}");
    }
    let denied = before_edit(&p, B, "src/x.txt", &[("ORCHESTRON_WORKER", "T-9")]);
    assert_eq!(
        denied["hookSpecificOutput"]["permissionDecision"], "deny",
        "{denied}"
    );
    // The holder itself edits on.
    assert_eq!(before_edit(&p, A, "src/x.txt", &[]), Value::Null);
    // One answer for all when the project says so.
    p.config(r#"{"coordination": {"on_exclusive": "deny"}}"#);
    let denied = before_edit(&p, B, "src/x.txt", &[]);
    assert_eq!(denied["hookSpecificOutput"]["permissionDecision"], "deny");
    p.config(r#"{"coordination": {"on_exclusive": "ask"}}"#);
    let asked = before_edit(&p, B, "src/x.txt", &[("ORCHESTRON_WORKER", "T-9")]);
    assert_eq!(asked["hookSpecificOutput"]["permissionDecision"], "ask");

    // `lease check` says who holds it, since when, for which item.
    let checked = p.run(&["lease", "check", "src/x.txt", "--json"]).json();
    let holders = checked["paths"][0]["holders"].as_array().unwrap();
    assert_eq!(holders.len(), 2, "the touch and the lease: {checked}");
    assert!(
        holders
            .iter()
            .all(|h| h["session"] == A && h["item"] == item.as_str())
    );
    let text = p.run(&["lease", "check", "src/x.txt", "src/free.txt"]);
    assert!(text.ok().contains("src/free.txt: free"), "{text}");

    // A's session ends: its leases go, and B edits freely.
    p.env
        .hook_in(
            &p.repo(),
            "SessionEnd",
            &json!({"session_id": A, "reason": "other"}),
        )
        .ok();
    assert_eq!(before_edit(&p, B, "src/x.txt", &[]), Value::Null);
    assert_eq!(
        p.run(&["lease", "list", "--json"]).json()["leases"],
        json!([])
    );
}

#[test]
fn one_file_in_two_worktrees_is_one_key() {
    let p = Project::new();
    let other = p.env.path().join("other-tree");
    p.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "side",
        other.to_str().unwrap(),
    ]);
    start(&p, A);
    start(&p, B);
    // A edits `shared.txt` in the main worktree; B is about to edit it in the other one.
    edited(&p, A, "shared.txt");
    let payload = json!({"session_id": B, "tool_name": "Write",
        "tool_input": {"file_path": other.join("shared.txt"), "content": "x"}});
    let run = p.env.hook_in(&other, "PreToolUse", &payload);
    let reply: Value = serde_json::from_str(run.ok()).unwrap();
    assert!(
        reply["hookSpecificOutput"]["additionalContext"]
            .as_str()
            .unwrap()
            .contains("`shared.txt` was edited by session aaaaaaaa"),
        "{reply}"
    );
    // Leasing from inside the other worktree names the same key.
    let run = p.env.run_in(
        &other,
        &["lease", "acquire", "shared.txt", "--exclusive", "--json"],
        &[("ORCHESTRON_SESSION", B)],
    );
    assert_eq!(run.json()["leases"][0]["path"], "shared.txt");
    let asked = before_edit(&p, A, "shared.txt", &[]);
    assert_eq!(
        asked["hookSpecificOutput"]["permissionDecision"], "ask",
        "{asked}"
    );
}

#[test]
fn leases_take_globs_folders_and_paths_relative_to_where_they_are_typed() {
    let p = Project::new();
    std::fs::create_dir_all(p.repo().join("src/auth")).unwrap();
    start(&p, A);
    start(&p, B);
    let run = p.env.run_in(
        &p.repo().join("src"),
        &["lease", "acquire", "auth", "*.rs", "--ttl", "2h", "--json"],
        &[("ORCHESTRON_SESSION", A)],
    );
    let leases = run.json()["leases"].clone();
    assert_eq!(leases[0]["path"], "src/auth/**", "{leases}");
    assert_eq!(leases[1]["path"], "src/*.rs");
    assert_eq!(leases[0]["until"], "2026-01-01T02:00:00Z");
    // Shared leases warn, never block.
    let warned = before_edit(&p, B, "src/auth/login.rs", &[]);
    assert!(
        warned["hookSpecificOutput"]["additionalContext"]
            .as_str()
            .unwrap()
            .contains("leased (shared) by session aaaaaaaa"),
        "{warned}"
    );
    // An exclusive lease that meets another's lease is refused, and changes nothing.
    let before = std::fs::read(p.repo().join(".orchestron/coordination/leases.json")).unwrap();
    let run = as_session(&p, B, &["lease", "acquire", "src/**/*.rs", "--exclusive"]);
    let err = run.fails(1);
    assert!(
        err.contains("meets a lease on `src/auth/**` held by session aaaaaaaa")
            && err.contains("orchestron lease release ':/src/auth/**' --force"),
        "{err}"
    );
    let after = std::fs::read(p.repo().join(".orchestron/coordination/leases.json")).unwrap();
    assert_eq!(before, after);
    // A shared one beside it is fine; `list` shows all three.
    as_session(&p, B, &["lease", "acquire", "docs/**"]).ok();
    let list = p.run(&["lease", "list", "--json"]).json();
    assert_eq!(list["leases"].as_array().unwrap().len(), 3, "{list}");
    // Releasing what one does not hold releases nothing; its own goes.
    let run = as_session(&p, B, &["lease", "release", "src/*.rs", "--json"]);
    assert_eq!(run.json()["released"], json!([]));
    let run = as_session(&p, A, &["lease", "release", "src/*.rs", "--json"]);
    assert_eq!(run.json()["released"][0]["path"], "src/*.rs");
    // A person takes a file anyway: what covers it goes, whoever holds it.
    let run = p.run(&["lease", "release", "src/auth/x.rs", "--force", "--json"]);
    assert_eq!(run.json()["released"][0]["path"], "src/auth/**");
    let run = as_session(&p, B, &["lease", "release", "--all", "--json"]);
    assert_eq!(run.json()["released"][0]["path"], "docs/**");
    assert_eq!(
        p.run(&["lease", "list", "--json"]).json()["leases"],
        json!([])
    );
}

#[test]
fn an_ended_expired_or_lapsed_lease_never_blocks() {
    let p = Project::new();
    start(&p, A);
    start(&p, B);
    as_session(
        &p,
        A,
        &[
            "lease",
            "acquire",
            "shared.txt",
            "--exclusive",
            "--ttl",
            "5m",
        ],
    )
    .ok();
    assert_eq!(
        before_edit(&p, B, "shared.txt", &[("ORCHESTRON_WORKER", "T-1")])["hookSpecificOutput"]["permissionDecision"],
        "deny"
    );
    // Five minutes later the lease has lapsed.
    let later = [
        ("ORCHESTRON_WORKER", "T-1"),
        ("ORCHESTRON_NOW", "2026-01-01T00:05:00Z"),
    ];
    assert_eq!(before_edit(&p, B, "shared.txt", &later), Value::Null);
    // A long lease of a session that expired counts for nothing either.
    as_session(
        &p,
        A,
        &[
            "lease",
            "acquire",
            "shared.txt",
            "--exclusive",
            "--ttl",
            "30d",
        ],
    )
    .ok();
    let much_later = [
        ("ORCHESTRON_WORKER", "T-1"),
        ("ORCHESTRON_NOW", "2026-01-20T00:00:00Z"),
    ];
    assert_eq!(before_edit(&p, B, "shared.txt", &much_later), Value::Null);
    // And `session end` ends them too.
    as_session(&p, A, &["lease", "acquire", "shared.txt", "--exclusive"]).ok();
    p.run(&["session", "end", A]).ok();
    assert_eq!(
        before_edit(&p, B, "shared.txt", &[("ORCHESTRON_WORKER", "T-1")]),
        Value::Null
    );
}

#[test]
fn bad_leases_are_refused_clearly_and_change_nothing() {
    let p = Project::new();
    start(&p, A);
    as_session(&p, A, &["lease", "acquire", "shared.txt"]).ok();
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["lease", "acquire", "/etc/passwd"],
            1,
            "is outside the repository",
        ),
        (
            &["lease", "acquire", "../elsewhere.txt"],
            1,
            "is outside the repository",
        ),
        (&["lease", "acquire", "src/[ab"], 1, "has an unclosed `[`"),
        (
            &["lease", "acquire", "src/a**b"],
            1,
            "`**` inside a component",
        ),
        (
            &["lease", "acquire", "x", "--ttl", "0"],
            2,
            "must be longer than zero",
        ),
        (
            &["lease", "acquire", "x", "--ttl", "-5m"],
            2,
            "must be longer than zero",
        ),
        (
            &["lease", "acquire", "x", "--ttl", "soon"],
            2,
            "is not a duration",
        ),
        (
            &["lease", "acquire", "x", "--for", "NOPE-1"],
            1,
            "not found",
        ),
        (&["lease", "check", "src/*"], 1, "takes paths"),
    ];
    for (args, code, why) in cases {
        let err = refuses(&p, args, &[("ORCHESTRON_SESSION", A)], *code);
        assert!(err.contains(why), "{args:?}: {err}");
    }
    // Without a session there is no one to hold a lease.
    let err = refuses(&p, &["lease", "acquire", "shared.txt"], &[], 1);
    assert!(err.contains("there is no current session"), "{err}");
    let err = refuses(&p, &["lease", "release", "shared.txt"], &[], 1);
    assert!(err.contains("there is no current session"), "{err}");
}

/// Run `args` in the repository: it must fail with `code` and change no file; its stderr.
#[track_caller]
fn refuses(p: &Project, args: &[&str], extra: &[(&str, &str)], code: i32) -> String {
    let before = p.env.disk();
    let run = p.env.run_in(&p.repo(), args, extra);
    run.fails(code);
    assert_eq!(
        before,
        p.env.disk(),
        "{args:?} changed files although it failed"
    );
    run.stderr
}

#[test]
fn items_declare_the_files_they_expect_to_touch() {
    let p = Project::new();
    std::fs::create_dir_all(p.repo().join("src/auth")).unwrap();
    // Typed in `src`: relative to it, a folder taken whole.
    let run = p.env.run_in(
        &p.repo().join("src"),
        &[
            "task", "create", "Login", "--files", "auth", "*.rs", "--json",
        ],
        &[],
    );
    let item = run.json();
    let id = item["id"].as_str().unwrap().to_owned();
    assert_eq!(item["files"], json!(["src/*.rs", "src/auth/**"]), "{item}");
    let shown = p.run(&["task", "show", &id]);
    assert!(
        shown.ok().contains("files:      src/*.rs, src/auth/**"),
        "{shown}"
    );
    let updated = p
        .run(&["task", "update", &id, "--files", "docs/**", "--json"])
        .json();
    assert_eq!(updated["files"], json!(["docs/**"]));
    // Export and import keep them.
    let exported = p.run(&["export"]);
    assert!(
        exported.ok().contains("\"files\":[\"docs/**\"]"),
        "{exported}"
    );
    let elsewhere = Project::new();
    let file = elsewhere.env.path().join("export.jsonl");
    std::fs::write(&file, &exported.stdout).unwrap();
    elsewhere
        .env
        .run_in(&elsewhere.repo(), &["import", file.to_str().unwrap()], &[])
        .ok();
    let copy = elsewhere
        .env
        .run_in(&elsewhere.repo(), &["task", "show", &id, "--json"], &[]);
    assert_eq!(copy.json()["files"], json!(["docs/**"]));
    let cleared = p
        .run(&["task", "update", &id, "--no-files", "--json"])
        .json();
    assert!(cleared.get("files").is_none(), "{cleared}");
    // A bad pattern, or one outside the repository, is refused and changes nothing.
    let err = refuses(&p, &["task", "create", "Bad", "--files", "src/[x"], &[], 1);
    assert!(err.contains("has an unclosed `[`"), "{err}");
    let err = refuses(&p, &["task", "update", &id, "--files", "/etc/**"], &[], 1);
    assert!(err.contains("is outside the repository"), "{err}");
}

#[test]
fn one_file_has_one_key_whatever_the_name_it_is_reached_by() {
    let p = Project::new();
    std::fs::create_dir_all(p.repo().join("src/app/[id]")).unwrap();
    std::fs::write(p.repo().join("src/a.rs"), "a").unwrap();
    std::fs::write(p.repo().join("src/app/[id]/page.tsx"), "p").unwrap();
    std::os::unix::fs::symlink("src", p.repo().join("alias")).unwrap();
    // A stray `.git` in a folder does not make it a repository of its own.
    std::fs::create_dir_all(p.repo().join("src/vendor/.git")).unwrap();
    start(&p, A);
    start(&p, B);
    as_session(
        &p,
        A,
        &["lease", "acquire", "src/a.rs", "src/vendor", "--exclusive"],
    )
    .ok();
    for name in ["alias/a.rs", "src/vendor/lib.rs"] {
        let denied = before_edit(&p, B, name, &[("ORCHESTRON_WORKER", "T-1")]);
        assert_eq!(
            denied["hookSpecificOutput"]["permissionDecision"], "deny",
            "{name}: {denied}"
        );
    }
    // A file whose name holds glob characters is leased as that file.
    let leased = as_session(
        &p,
        A,
        &[
            "lease",
            "acquire",
            "src/app/[id]/page.tsx",
            "--exclusive",
            "--json",
        ],
    )
    .json();
    assert_eq!(
        leased["leases"][0]["path"], "src/app/\\[id\\]/page.tsx",
        "{leased}"
    );
    let denied = before_edit(
        &p,
        B,
        "src/app/[id]/page.tsx",
        &[("ORCHESTRON_WORKER", "T-1")],
    );
    assert_eq!(
        denied["hookSpecificOutput"]["permissionDecision"], "deny",
        "{denied}"
    );
    let checked = p
        .run(&["lease", "check", "src/app/[id]/page.tsx", "--json"])
        .json();
    assert_eq!(
        checked["paths"][0]["holders"].as_array().unwrap().len(),
        1,
        "{checked}"
    );
    // The command a refusal names works from any folder: `:/` is the repository's top.
    let run = p.env.run_in(
        &p.repo().join("src"),
        &["lease", "release", ":/src/a.rs", "--force", "--json"],
        &[],
    );
    assert_eq!(run.json()["released"][0]["path"], "src/a.rs", "{run}");
    // A session that has ended holds nothing, and cannot lease.
    p.run(&["session", "end", B]).ok();
    let err = refuses(
        &p,
        &["lease", "acquire", "src/b.rs"],
        &[("ORCHESTRON_SESSION", B)],
        1,
    );
    assert!(err.contains("has ended or expired"), "{err}");
    let err = refuses(
        &p,
        &["lease", "acquire", "x", "--ttl", "500ms"],
        &[("ORCHESTRON_SESSION", A)],
        2,
    );
    assert!(err.contains("shortest TTL"), "{err}");
}

#[test]
fn a_broken_lease_table_costs_the_touch_never_the_inbox_message() {
    let p = Project::new();
    start(&p, A);
    p.run(&["inbox", "add", "--session", A, "important message"])
        .ok();
    let table = p.repo().join(".orchestron/coordination");
    std::fs::create_dir_all(&table).unwrap();
    std::fs::write(table.join("leases.json"), "not json").unwrap();
    let run = p
        .env
        .hook_in(&p.repo(), "PostToolUse", &edit_payload(&p, A, "shared.txt"));
    let reply: Value = serde_json::from_str(run.ok()).unwrap();
    assert!(reply.to_string().contains("important message"), "{reply}");
    assert!(
        run.stderr.contains("the edit's touch was not recorded"),
        "{run}"
    );
}
