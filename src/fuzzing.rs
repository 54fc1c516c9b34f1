//! The bodies of the fuzz targets under `fuzz/`, here so that they can reach the private
//! modules, and so that the test suite replays every committed input through them on stable
//! Rust (`tests/cli/fuzz_inputs.rs`). Each takes arbitrary bytes, must never panic on them,
//! and panics itself when a property it checks fails. Not part of the command-line surface.

use crate::install;

/// The settings editor of `init` and `uninstall`, on an arbitrary `settings.json`: what
/// `init` writes parses and a second `init` leaves alone; `uninstall` recognises it as
/// `init`'s work on the original (so it gives the original's bytes back from the backup), and
/// removing Orchestron's entries alone gives text that parses.
pub fn settings(data: &[u8]) {
    const BIN: &str = "/opt/orchestron/bin/orchestron";
    let Ok(original) = std::str::from_utf8(data) else {
        return;
    };
    let Ok((Some(text), _)) = install::add_to_settings(Some(original), BIN) else {
        return;
    };
    // serde_json reads 128 levels; Claude Code reads deeper files, which init keeps as text.
    let readable = |text: &str| serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok();
    if readable(original) {
        assert!(readable(&text), "init writes what cannot be read: {text:?}");
    }
    let (again, _) = install::add_to_settings(Some(&text), BIN).expect("init reads its own output");
    assert!(again.is_none(), "a second init changes {text:?}");
    assert!(
        install::restores(original, &text),
        "uninstall would not restore {original:?}"
    );
    let (back, _) = install::remove_from_settings(&text).expect("uninstall reads init's output");
    if let Some(back) = back.filter(|back| !back.is_empty())
        && readable(original)
    {
        assert!(
            readable(&back),
            "uninstall writes what cannot be read: {back:?}"
        );
    }
}

/// The hook payload path: Claude Code's bytes read as a hook reads them (the first byte says
/// whether the input was cut at the payload limit), then every kind of recording a hook does,
/// three times over, on a real session document, and the shipped guards. What the hooks
/// write stays within its bound, and reads back as it was written.
pub fn hook_payload(data: &[u8]) {
    use crate::hook::{guard, limits, track, wire};
    use orchestron_core::config::{DEFAULT_TEST_COMMANDS, Mode};
    use orchestron_core::session::{self, NewSession};

    let Some((&flags, bytes)) = data.split_first() else {
        return;
    };
    let input = wire::Input {
        bytes: bytes.to_vec(),
        cut: flags & 1 == 1,
    };
    let Ok(payload) = wire::Payload::parse(&input) else {
        return;
    };
    let now: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().expect("a time");
    let new = NewSession {
        id: "11111111-2222-4333-8444-555555555555".to_owned(),
        mode: Mode::Development,
        project: Some("fuzz".to_owned()),
        parent_session: None,
        metadata: serde_json::Map::new(),
        created_by: "fuzz".to_owned(),
    };
    let mut document = session::new_document(&new, now, std::time::Duration::from_secs(3600));
    let tests: Vec<String> = DEFAULT_TEST_COMMANDS
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let tool = payload.tool_name.as_deref().unwrap_or("unknown");
    let _ = guard::check(tool, &payload.tool_input, &[], &[]);
    for round in 0..3 {
        let call = track::ToolCall {
            name: tool,
            input: &payload.tool_input,
            todos: payload.todos.as_ref(),
            failed: round == 1,
            error: payload.error.as_deref(),
            response: &payload.tool_response,
        };
        track::record_tool(&mut document, now, &call, &tests);
        if let Some(agent) = payload.agent_id.as_deref() {
            let message = payload.last_assistant_message.as_deref();
            track::record_agent(
                &mut document,
                now,
                agent,
                payload.agent_type.as_deref(),
                round == 2,
                message,
            );
        }
        if let Some(task) = payload.task_id.as_deref() {
            track::mirror_task_event(
                &mut document,
                now,
                task,
                payload.task_subject.as_deref(),
                round == 2,
            );
        }
        track::record_notification(
            &mut document,
            now,
            payload.notification_type.as_deref(),
            payload.message.as_deref(),
        );
        track::snapshot(
            &mut document,
            now,
            payload.trigger.as_deref().unwrap_or("auto"),
        );
        let _ = track::failing_tests_gate(&mut document);
        if payload.cut {
            track::note_cut_payload(&mut document, now);
        }
        track::prune(&mut document);
    }
    let _ = track::describe_snapshot(&document["snapshot"]);
    let bytes = orchestron_core::bounds::serialize(&document, std::path::Path::new("fuzz.json"))
        .expect("a hook's document can be written");
    assert!(
        bytes.len() <= limits::MAX_HOOK_DOCUMENT_BYTES,
        "a hook wrote {} bytes",
        bytes.len()
    );
    let back: serde_json::Value =
        serde_json::from_slice(&bytes).expect("what a hook writes reads back");
    assert_eq!(back, document, "the document read back differs");
}

/// One `import` line (or a few: the input is read as a file is) into an empty tracker:
/// refused with an error that is not internal, or imported; then what was imported exports,
/// and that export imports into another empty tracker and exports the very same lines.
pub fn import_line(data: &[u8]) {
    use orchestron_core::tracker::transfer;
    let first = TempDir::new();
    let cx = fuzz_context(&first.0);
    let mut input = data;
    match transfer::import(&cx, &mut input) {
        Ok(_) => {
            let exported = export_text(&cx);
            let second = TempDir::new();
            let again = fuzz_context(&second.0);
            transfer::import(&again, &mut exported.as_bytes())
                .unwrap_or_else(|err| panic!("an export does not import: {err}\n{exported}"));
            assert_eq!(
                export_text(&again),
                exported,
                "an export changes through import"
            );
        }
        Err(err) => assert_ne!(
            err.kind(),
            orchestron_core::ErrorKind::Internal,
            "import failed inside: {err}"
        ),
    }
}

fn export_text(cx: &orchestron_core::Context) -> String {
    let mut out = String::new();
    orchestron_core::tracker::transfer::export(cx, |line| -> Result<(), ()> {
        out.push_str(&line.to_string());
        out.push('\n');
        Ok(())
    })
    .expect("what was imported exports")
    .expect("the export is kept");
    out
}

fn fuzz_context(root: &std::path::Path) -> orchestron_core::Context {
    orchestron_core::Context::new(orchestron_core::Settings {
        state_root: root.to_path_buf(),
        config: Default::default(),
        default_project: "fuzz".into(),
        actor: None,
        lock_timeout: std::time::Duration::from_secs(5),
        durability: None,
        test_locks: Default::default(),
        clock: orchestron_core::Clock::Fixed("2026-01-01T00:00:00Z".parse().expect("a time")),
        id_seed: Some("fuzz".into()),
    })
}

/// A fresh, empty folder for one run, removed afterwards.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> TempDir {
        use std::sync::atomic::{AtomicU64, Ordering};
        static RUN: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "orchestron-fuzz-{}-{}",
            std::process::id(),
            RUN.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temp folder");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fuzz budget small enough that no input runs long, large enough for real queries.
const FUZZ_MAX_NODES: u64 = 100_000;

/// JSONPath compile and evaluate: the first line is the query, the rest the document. A
/// query compiles or is refused; on a document that parses, the path that reads only what a
/// query needs (`select`) and the whole-document evaluation agree exactly, or both run out
/// of budget.
pub fn jsonpath(data: &[u8]) {
    use orchestron_core::{docpath, select};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (query, document) = text.split_once('\n').unwrap_or((text, "null"));
    let Ok(path) = docpath::compile(query) else {
        return;
    };
    let Ok(whole) = serde_json::from_str::<serde_json::Value>(document) else {
        let mut parsed = None;
        let _ = select::select(query, document, &mut parsed, FUZZ_MAX_NODES);
        return;
    };
    let full = docpath::query(&path, &whole, FUZZ_MAX_NODES);
    let mut parsed = None;
    let fast = select::select(query, document, &mut parsed, FUZZ_MAX_NODES);
    match (full, fast) {
        (Ok(full), Ok(fast)) => {
            let fast: Vec<(String, &serde_json::Value)> = fast
                .iter()
                .map(|(path, value)| (path.clone(), value.as_ref()))
                .collect();
            assert_eq!(full, fast, "the two evaluations of {query:?} disagree");
        }
        (Err(_), Err(_)) => {}
        // The reader that skips what the query does not need may spend less of the budget.
        (Err(_), Ok(_)) => {}
        (Ok(_), Err(err)) => panic!("{query:?}: only the text reader fails: {err}"),
    }
}

/// Dot paths and JSONPaths with edits: the first line is the path, the second the edit
/// (`set|merge|delete|append|increment VALUE`), the rest the document. Whatever an edit
/// does, the result is a document the store writes and reads back; a refused edit changes
/// nothing.
pub fn docpath_edit(data: &[u8]) {
    use orchestron_core::docpath::{DocPath, Edit};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.splitn(3, '\n');
    let (Some(path), Some(edit), Some(document)) = (lines.next(), lines.next(), lines.next())
    else {
        return;
    };
    let Ok(path) = DocPath::parse(path) else {
        return;
    };
    let path = path.with_max_nodes(FUZZ_MAX_NODES);
    let Ok(mut document) = serde_json::from_str::<serde_json::Value>(document) else {
        return;
    };
    let (verb, value) = edit.split_once(' ').unwrap_or((edit, "null"));
    let Ok(value) = serde_json::from_str::<serde_json::Value>(value) else {
        return;
    };
    let edit = match (verb, &value) {
        ("set", value) => Edit::Set(value),
        ("merge", serde_json::Value::Object(map)) => Edit::Merge(map),
        ("delete", _) => Edit::Delete,
        ("append", value) => Edit::Append(value),
        ("increment", serde_json::Value::Number(number)) => Edit::Increment(number),
        _ => return,
    };
    let _ = path.find(&document);
    let before = document.clone();
    match path.apply(&mut document, edit) {
        Ok(applied) => {
            if !applied.changed {
                assert_eq!(
                    document, before,
                    "an edit that changed nothing changed the document"
                );
            }
        }
        Err(_) => assert_eq!(document, before, "a refused edit changed the document"),
    }
    // What the store would write reads back, or the store refuses it.
    if let Ok(bytes) =
        orchestron_core::bounds::serialize(&document, std::path::Path::new("fuzz.json"))
    {
        let back: serde_json::Value =
            serde_json::from_slice(&bytes).expect("what the store writes reads back");
        assert_eq!(back, document, "the document read back differs");
    }
}
