//! Handoffs between parallel sessions, with the real Claude Code CLI: no session wipes
//! another's handoff, and a new session is told the open items recent sessions took (with
//! their latest handoffs, or at least who claimed them) and the latest general handoff.

use serde_json::{Value, json};

use crate::harness::Fixture;
use crate::{args, initialized};

/// `orchestron task create TITLE --priority P` in the fixture; returns the id.
fn create(fixture: &Fixture, title: &str, priority: &str) -> String {
    let output = fixture.orchestron(&["task", "create", title, "--priority", priority]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// What SessionStart injected into the first request of a run (Claude Code puts it in the
/// system prompt): the text from `Orchestron session` to the end of its block.
fn told(first: &Value) -> String {
    let mut found = None;
    let mut visit = vec![first];
    while let Some(node) = visit.pop() {
        match node {
            Value::String(text) if text.contains("Orchestron session ") => {
                let from = text.find("Orchestron session ").unwrap();
                let rest = &text[from..];
                // The context holds no blank line (development mode injects no style).
                let end = ["</system-reminder>", "\n\n"]
                    .iter()
                    .filter_map(|mark| rest.find(mark))
                    .min()
                    .unwrap_or(rest.len());
                found = Some(rest[..end].trim_end().to_owned());
            }
            Value::Array(items) => visit.extend(items),
            Value::Object(map) => visit.extend(map.values()),
            _ => {}
        }
    }
    found.expect("the SessionStart context in the first request")
}

/// The scenario: session A does work and ends; B only reads and claims an item; C
/// and D work on different items in parallel and end; a new session E is told A's done
/// work, C's and D's items and next steps, and B's claim, within the budget.
#[test]
#[cfg_attr(
    not(claude_cli),
    ignore = "needs the Claude Code CLI: .ci/run installs it, or set CLAUDE_BIN"
)]
fn handoffs_between_parallel_sessions() {
    let Some(fixture) = initialized() else { return };
    // By priority, `task next` gives B the first.
    let tidy = create(&fixture, "Tidy the imports", "high");
    let parser = create(&fixture, "Date parser", "medium");
    let page = create(&fixture, "Landing page", "medium");

    let a = json!({"steps": [
        {"tool_use": {"name": "TodoWrite", "input": {"todos": [
            {"content": "Write the app", "status": "in_progress", "activeForm": "Writing the app"},
            {"content": "Write the docs", "status": "pending", "activeForm": "Writing the docs"}]}}},
        {"tool_use": {"name": "Write", "input": {"file_path": "{{CWD}}/app.py", "content": "print('hi')\n"}}},
        {"tool_use": {"name": "Write", "input": {"file_path": "{{CWD}}/fixed", "content": "yes\n"}}},
        {"tool_use": {"name": "Bash", "input": {"command": "pytest -q", "description": "Run the tests"}}},
        {"tool_use": {"name": "TodoWrite", "input": {"todos": [
            {"content": "Write the app", "status": "completed", "activeForm": "Writing the app"},
            {"content": "Write the docs", "status": "pending", "activeForm": "Writing the docs"}]}}},
        {"text": "The app is written and its test passes."}
    ]});
    let run = fixture.run("a", a, &args("write the app", &[]));
    run.assert_ok();

    let b = json!({"steps": [
        {"tool_use": {"name": "Read", "input": {"file_path": "{{CWD}}/app.py"}}},
        {"tool_use": {"name": "Bash", "input": {"command": "orchestron task next --claim", "description": "Take the next item"}}},
        {"text": "I took the next item."}
    ]});
    let run = fixture.run("b", b, &args("take the next item", &[]));
    run.assert_ok();
    let b_id = run.session_id();
    let claimed = fixture.orchestron_json(&["task", "show", &tidy]);
    assert_eq!(claimed["assignee"], b_id.as_str(), "{claimed:#}");

    let worker = |item: &str, step: &str, file: &str| {
        json!({"steps": [
            {"tool_use": {"name": "Bash", "input": {
                "command": format!("orchestron task start {item} && orchestron task progress {item} --percent 40"),
                "description": "Start the item"}}},
            {"tool_use": {"name": "TodoWrite", "input": {"todos": [
                {"content": step, "status": "pending", "activeForm": step}]}}},
            {"tool_use": {"name": "Write", "input": {"file_path": format!("{{{{CWD}}}}/{file}"), "content": "x\n"}}},
            {"text": "Part way there."}
        ]})
    };
    let c = worker(&parser, "Parse time zones", "parser.py");
    let d = worker(&page, "Style the footer", "page.html");
    let (c, d) = std::thread::scope(|scope| {
        let c = scope.spawn(|| fixture.run("c", c, &args("work on the parser", &[])));
        let d = scope.spawn(|| fixture.run("d", d, &args("work on the page", &[])));
        (c.join().unwrap(), d.join().unwrap())
    });
    c.assert_ok();
    d.assert_ok();
    for (run, item) in [(&c, &parser), (&d, &page)] {
        let shown = fixture.orchestron_json(&["task", "show", item]);
        assert_eq!(shown["status"], "IN_PROGRESS", "{}", run.context());
        assert_eq!(shown["progress"], 40, "{}", run.context());
    }

    // Every session that did something kept its own handoff; none was lost.
    let all = fixture.orchestron_json(&["handoff", "show", "--all"]);
    let mut from: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|handoff| handoff["from_session"].as_str().unwrap())
        .collect();
    from.sort_unstable();
    assert_eq!(from.len(), 4, "{all:#}");

    let e = fixture.run(
        "e",
        json!({"steps": [{"text": "ok"}]}),
        &args("what now?", &[]),
    );
    e.assert_ok();
    let first = e.turns()[0].clone();
    let text = told(&first["body"]);
    std::fs::write(e.work.join("told.txt"), &text).unwrap();
    let c_id = c.session_id();
    let d_id = d.session_id();
    for needle in [
        // B's claim.
        format!("- {tidy} \"Tidy the imports\" (IN_PROGRESS, 0%): claimed by session {b_id} at"),
        // C's and D's items, with their next steps.
        format!(
            "- {parser} \"Date parser\" (IN_PROGRESS, 40%): claimed and worked on by session {c_id} at"
        ),
        "Next steps: Parse time zones.".to_owned(),
        format!(
            "- {page} \"Landing page\" (IN_PROGRESS, 40%): claimed and worked on by session {d_id} at"
        ),
        "Next steps: Style the footer.".to_owned(),
        // A's done work.
        "- Done: Write the app.".to_owned(),
        "- Next steps: Write the docs.".to_owned(),
        "- Last test run passed: `pytest -q`.".to_owned(),
        "app.py".to_owned(),
    ] {
        assert!(
            text.contains(&needle),
            "missing {needle:?} in:\n{text}\n{}",
            e.context()
        );
    }
    assert!(
        text.contains("Latest handoff in this project, from session"),
        "{text}"
    );
    // Within the budget (`hooks.context_chars`, 2,000 by default).
    assert!(
        text.chars().count() <= 2_000,
        "{} chars:\n{text}",
        text.chars().count()
    );
    // `handoff show` prints exactly what E was told of the handoffs.
    let shown = fixture.orchestron(&["handoff", "show"]);
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(text.contains(shown.trim_end()), "{shown}\n---\n{text}");
}
