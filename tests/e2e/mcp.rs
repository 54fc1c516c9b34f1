//! Issue 15: the real Claude Code CLI starts `orchestron mcp` and the model uses its tools:
//! it takes the next item with `task_next` (`claim: true`) and finishes it with
//! `task_update`. The claim is attributed to the Claude Code session that started the
//! server, and the tool results reach the model. Once through the project's `.mcp.json` that
//! `orchestron init --mcp` writes, once through the plugin's own declaration.

use serde_json::{Value, json};

use crate::harness::{Fixture, Run, claude_bin, repo_root};
use crate::{args, initialized};

/// A scenario where the model claims the next item through `server`'s tools, then marks
/// `item` done.
fn take_and_finish(server: &str, item: &str) -> Value {
    json!({"steps": [
        {"tool_use": {"name": format!("mcp__{server}__task_next"), "input": {"claim": true}}},
        {"tool_use": {"name": format!("mcp__{server}__task_update"),
                      "input": {"id": item, "progress": 100, "note": "done through MCP"}}},
        {"tool_use": {"name": format!("mcp__{server}__task_update"),
                      "input": {"id": item, "status": "DONE"}}},
        {"text": "The item is done."}
    ]})
}

/// The item, claimed by the run's session and done; the tool results in the model's requests.
fn assert_taken_and_finished(fixture: &Fixture, run: &Run, item: &str) {
    run.assert_ok();
    let session = run.session_id();
    let shown = fixture.orchestron_json(&["task", "show", item]);
    assert_eq!(shown["status"], "DONE", "{shown:#}\n{}", run.context());
    assert_eq!(shown["assignee"], session.as_str(), "{shown:#}");
    let history = fixture.orchestron_json(&["task", "history", item]);
    let claimed = history
        .as_array()
        .unwrap()
        .iter()
        .find(|event| event["what"] == "claimed")
        .unwrap_or_else(|| panic!("no claim in {history:#}"));
    assert_eq!(claimed["session"], session.as_str(), "{history:#}");
    assert_eq!(claimed["detail"]["by"], session.as_str(), "{history:#}");
    // What the server answered reached the model as its tool results: Claude Code hands the
    // model a result's `structuredContent` (as JSON) in place of its text.
    let last = run.turns().last().copied().unwrap().clone();
    let results: Vec<Value> = last["body"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|message| message["content"].as_array().cloned().unwrap_or_default())
        .filter(|block| block["type"] == "tool_result")
        .map(|block| {
            let text = match &block["content"] {
                Value::String(text) => text.clone(),
                other => other[0]["text"].as_str().unwrap_or_default().to_owned(),
            };
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        })
        .collect();
    assert_eq!(results.len(), 3, "{results:#?}\n{}", run.context());
    assert_eq!(results[0]["item"]["id"], item, "{results:#?}");
    assert_eq!(results[0]["item"]["status"], "IN_PROGRESS");
    assert_eq!(results[0]["item"]["assignee"], session.as_str());
    assert_eq!(results[1]["done"], json!(["progress 100%", "note kept"]));
    assert_eq!(results[2]["done"], json!(["status DONE"]));
    assert_eq!(results[2]["item"]["status"], "DONE");
}

#[test]
#[cfg_attr(
    not(claude_cli),
    ignore = "needs the Claude Code CLI: .ci/run installs it, or set CLAUDE_BIN"
)]
fn the_model_takes_and_finishes_an_item_through_init_mcp() {
    let Some(fixture) = initialized() else { return };
    let output = fixture.orchestron(&["init", "--mcp"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let item = fixture.orchestron_json(&["task", "create", "Build the API"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let run = fixture.run(
        "init-mcp",
        take_and_finish("orchestron", &item),
        &args(
            "take the next item and finish it",
            &["--allowedTools", "mcp__orchestron"],
        ),
    );
    assert_taken_and_finished(&fixture, &run, &item);
}

#[test]
#[cfg_attr(
    not(claude_cli),
    ignore = "needs the Claude Code CLI: .ci/run installs it, or set CLAUDE_BIN"
)]
fn the_model_takes_and_finishes_an_item_through_the_plugin() {
    let Some(claude) = claude_bin() else { return };
    let fixture = Fixture::new(claude);
    let item = fixture.orchestron_json(&["task", "create", "Build the API"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let root = repo_root().to_str().unwrap();
    // A plugin's servers are named `plugin_<plugin>_<server>`.
    let server = "plugin_orchestron_orchestron";
    let allowed = format!("mcp__{server}");
    let run = fixture.run(
        "plugin-mcp",
        take_and_finish(server, &item),
        &args(
            "take the next item and finish it",
            &["--plugin-dir", root, "--allowedTools", &allowed],
        ),
    );
    assert_taken_and_finished(&fixture, &run, &item);
}
