//! Issue 15, first part: `orchestron mcp`, the plan over MCP on stdio (JSON-RPC 2.0, one
//! message per line): the handshake, the tools and their exact schemas, calls attributed
//! to the session, and hostile input answered without ending the server.

use serde_json::{Value, json};

use crate::TestEnv;

const SESSION: &str = "b1b1b1b1-0000-4000-8000-000000000001";

/// Send `lines` to `orchestron mcp`; its replies, one per line, and its exit code.
fn exchange(env: &TestEnv, lines: &[String]) -> (Vec<Value>, i32) {
    let input = lines.join("\n") + "\n";
    let run = env.run_with_stdin(&["mcp"], &input);
    let replies = run
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    (replies, run.code)
}

fn request(id: i64, method: &str, params: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
}

fn initialize() -> Vec<String> {
    vec![
        request(
            0,
            "initialize",
            json!({"protocolVersion": "2025-11-25",
            "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}),
        ),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string(),
    ]
}

/// A test environment whose commands and servers act as the session `SESSION`, created.
fn in_a_session() -> TestEnv {
    let mut env = TestEnv::new();
    env.set("CLAUDE_CODE_SESSION_ID", SESSION);
    env.run(&["session", "create", "--id", SESSION]).ok();
    env
}

/// Create an item titled `title` with the command line: its id.
fn created(env: &TestEnv, title: &str) -> String {
    env.run(&["task", "create", title, "--json"]).json()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn call(id: i64, tool: &str, arguments: Value) -> String {
    request(
        id,
        "tools/call",
        json!({"name": tool, "arguments": arguments}),
    )
}

#[test]
fn a_session_takes_and_finishes_an_item_through_the_tools() {
    let env = in_a_session();
    let item = created(&env, "Build the API");
    let mut lines = initialize();
    lines.push(request(1, "tools/list", json!({})));
    lines.push(call(2, "task_next", json!({"claim": true})));
    lines.push(call(
        3,
        "task_update",
        json!({"id": item, "progress": 50, "note": "half way"}),
    ));
    lines.push(call(
        4,
        "task_update",
        json!({"id": item, "status": "DONE"}),
    ));
    lines.push(call(5, "task_list", json!({"status": "DONE"})));
    let (replies, code) = exchange(&env, &lines);
    assert_eq!(code, 0);
    assert_eq!(replies[0]["result"]["protocolVersion"], "2025-11-25");
    let tools = replies[1]["result"]["tools"].as_array().unwrap();
    let names: Vec<&str> = tools
        .iter()
        .map(|tool| tool["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "task_next",
            "task_get",
            "task_list",
            "task_create",
            "task_update",
            "ask_human",
            "decide",
            "memory_search",
            "memory_add",
            "plan_summary",
            "state",
            "handoff"
        ]
    );
    // Small and exact: at most 12 tools, names, descriptions and input schemas within
    // 12,000 characters (the whole list, output schemas too, also fits).
    assert!(tools.len() <= 12);
    let size: usize = tools
        .iter()
        .map(|tool| {
            json!({"name": tool["name"], "description": tool["description"],
                   "inputSchema": tool["inputSchema"]})
            .to_string()
            .chars()
            .count()
        })
        .sum();
    assert!(size <= 12_000, "{size} characters");
    let whole: usize = tools
        .iter()
        .map(|tool| tool.to_string().chars().count())
        .sum();
    assert!(whole <= 12_000, "{whole} characters");
    for tool in tools {
        assert_eq!(tool["inputSchema"]["additionalProperties"], false, "{tool}");
        assert_eq!(tool["outputSchema"]["type"], "object", "{tool}");
        assert!(
            tool["description"].as_str().unwrap().contains("Use it"),
            "{tool}"
        );
    }
    let claimed = &replies[2]["result"];
    assert_eq!(claimed["isError"], false, "{claimed}");
    assert_eq!(claimed["structuredContent"]["item"]["id"], item.as_str());
    // The claim is the session's that started the server.
    assert_eq!(claimed["structuredContent"]["item"]["assignee"], SESSION);
    assert!(
        claimed["content"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with(&format!("claimed by {SESSION}: {item} IN_PROGRESS")),
        "{claimed}"
    );
    assert_eq!(
        replies[3]["result"]["structuredContent"]["item"]["progress"],
        50
    );
    assert_eq!(
        replies[4]["result"]["structuredContent"]["item"]["status"],
        "DONE"
    );
    assert_eq!(
        replies[5]["result"]["structuredContent"]["items"][0]["id"],
        item.as_str()
    );
    let shown = env.run(&["task", "show", &item, "--json"]).json();
    assert_eq!(shown["status"], "DONE");
}

#[test]
fn hostile_input_is_answered_and_never_ends_the_server() {
    let env = TestEnv::new();
    let mut lines = vec![request(1, "tools/list", json!({})), "ping".to_owned()];
    lines.extend(initialize());
    lines.extend([
        "{not json".to_owned(),
        "[1, 2]".to_owned(),
        json!({"jsonrpc": "1.0", "id": 7, "method": "ping"}).to_string(),
        request(8, "no/such/method", json!({})),
        call(9, "no_such_tool", json!({})),
        call(10, "task_get", json!({})),
        call(11, "task_get", json!({"id": 5})),
        call(12, "task_get", json!({"id": "T-1", "extra": true})),
        call(13, "task_list", json!({"status": "SOMEDAY"})),
        call(14, "task_update", json!({"id": "NOPE-1", "status": "DONE"})),
        json!({"jsonrpc": "2.0", "id": "b", "method": "ping"}).to_string(),
        json!({"jsonrpc": "2.0", "id": "a", "method": "ping"}).to_string(),
        format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":15,\"method\":\"ping\",\"params\":\"{}\"}}",
            "x".repeat(10 * 1024 * 1024)
        ),
        request(16, "ping", json!({})),
    ]);
    let (replies, code) = exchange(&env, &lines);
    assert_eq!(code, 0, "it ends 0 at the end of its input");
    let error = |index: usize| replies[index]["error"]["code"].as_i64().unwrap();
    // Before initialize, only ping; a line that is not JSON is a parse error.
    assert_eq!(error(0), -32600, "{}", replies[0]);
    assert_eq!(error(1), -32700);
    assert_eq!(replies[2]["result"]["serverInfo"]["name"], "orchestron");
    assert_eq!(error(3), -32700);
    assert_eq!(error(4), -32600, "no batches");
    assert_eq!(error(5), -32600, "not JSON-RPC 2.0");
    assert_eq!(error(6), -32601);
    for (index, field) in [
        (7, "unknown tool"),
        (8, "missing field `id`"),
        (9, "`id` must be a string"),
        (10, "unknown field `extra`"),
        (11, "`status` must be one of"),
    ] {
        assert_eq!(error(index), -32602, "{}", replies[index]);
        assert!(
            replies[index]["error"]["message"]
                .as_str()
                .unwrap()
                .contains(field),
            "{}",
            replies[index]
        );
    }
    // A failed operation is a tool result, with the core's message and hint.
    assert_eq!(replies[12]["result"]["isError"], true);
    assert!(
        replies[12]["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("item `NOPE-1` not found\nhint:"),
        "{}",
        replies[12]
    );
    // Interleaved ids come back as they were sent; a 10 MB line is refused, then all is well.
    assert_eq!(replies[13]["id"], "b");
    assert_eq!(replies[14]["id"], "a");
    assert_eq!(error(15), -32700);
    assert!(
        replies[15]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("longer than")
    );
    assert_eq!(replies[16]["id"], 16);
    assert_eq!(replies[16]["result"], json!({}));
    assert_eq!(replies.len(), 17);
}

#[test]
fn the_other_tools_ask_decide_remember_summarize_and_hand_off() {
    let env = in_a_session();
    let item = created(&env, "Pick a database");
    let mut lines = initialize();
    lines.extend([
        call(
            1,
            "decide",
            json!({"title": "Use PostgreSQL", "rationale": "joins", "task": item}),
        ),
        call(
            2,
            "memory_add",
            json!({"kind": "pattern", "key": "db", "description": "pool connections"}),
        ),
        call(3, "memory_search", json!({"query": "pool"})),
        call(4, "plan_summary", json!({"view": "board"})),
        call(
            5,
            "handoff",
            json!({"next_steps": ["write the migrations"], "note": "schema drafted"}),
        ),
        call(
            6,
            "ask_human",
            json!({"id": item, "question": "Which version?"}),
        ),
        call(
            7,
            "memory_add",
            json!({"kind": "pattern", "key": "db", "description": "x", "confidence": 2}),
        ),
        call(
            8,
            "state",
            json!({"path": "notes.db", "value": {"engine": "postgres"}}),
        ),
        call(9, "state", json!({"path": "notes.db.engine"})),
        call(10, "state", json!({"path": "$.notes..engine"})),
    ]);
    let (replies, code) = exchange(&env, &lines);
    assert_eq!(code, 0);
    let result = |index: usize| &replies[index]["result"];
    assert_eq!(
        result(1)["structuredContent"]["decision"]["title"],
        "Use PostgreSQL"
    );
    assert_eq!(result(2)["isError"], false, "{}", replies[2]);
    assert_eq!(result(3)["structuredContent"]["memory"][0]["key"], "db");
    assert!(
        result(4)["structuredContent"]["board"]["columns"].is_array(),
        "{}",
        replies[4]
    );
    assert_eq!(result(5)["isError"], false, "{}", replies[5]);
    assert_eq!(result(6)["structuredContent"]["item"]["status"], "BLOCKED");
    assert_eq!(replies[7]["error"]["code"], -32602);
    assert_eq!(
        result(8)["structuredContent"]["changed"],
        true,
        "{}",
        replies[8]
    );
    assert_eq!(result(9)["structuredContent"]["value"], "postgres");
    assert_eq!(
        result(10)["structuredContent"]["value"],
        json!(["postgres"])
    );
    let stored = env.run(&["state", "get", SESSION, "notes.db.engine"]);
    assert!(stored.ok().contains("postgres"), "{stored}");
    let attention = env.run(&["attention", "--json"]).json();
    assert_eq!(attention[0]["kind"], "question", "{attention}");
    let decisions = env.run(&["decision", "list", "--json"]).json();
    assert_eq!(
        decisions[0]["session"], SESSION,
        "attributed to the session"
    );
}

#[test]
fn the_resources_are_listed_and_read() {
    let env = in_a_session();
    let item = created(&env, "Read me");
    let mut lines = initialize();
    lines.extend([
        request(1, "resources/list", json!({})),
        request(2, "resources/templates/list", json!({})),
        request(3, "resources/read", json!({"uri": "orchestron://summary"})),
        request(4, "resources/read", json!({"uri": "orchestron://board"})),
        request(5, "resources/read", json!({"uri": "orchestron://context"})),
        request(
            6,
            "resources/read",
            json!({"uri": format!("orchestron://item/{item}")}),
        ),
        request(7, "resources/read", json!({"uri": "orchestron://nope"})),
        request(
            8,
            "resources/read",
            json!({"uri": "orchestron://item/NOPE-1"}),
        ),
    ]);
    let (replies, code) = exchange(&env, &lines);
    assert_eq!(code, 0);
    assert_eq!(replies[0]["result"]["capabilities"]["resources"], json!({}));
    let uris: Vec<&str> = replies[1]["result"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|resource| resource["uri"].as_str().unwrap())
        .collect();
    assert_eq!(
        uris,
        [
            "orchestron://summary",
            "orchestron://board",
            "orchestron://context"
        ]
    );
    assert_eq!(
        replies[2]["result"]["resourceTemplates"][0]["uriTemplate"],
        "orchestron://item/{id}"
    );
    for index in [3, 4, 6] {
        let text = replies[index]["result"]["contents"][0]["text"]
            .as_str()
            .unwrap();
        let _: Value = serde_json::from_str(text).unwrap();
    }
    assert!(
        replies[5]["result"]["contents"][0]["text"]
            .as_str()
            .unwrap()
            .contains(&format!("Orchestron session {SESSION}")),
        "{}",
        replies[5]
    );
    assert!(
        replies[6]["result"]["contents"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Read me")
    );
    assert_eq!(replies[7]["error"]["code"], -32602);
    assert_eq!(replies[8]["error"]["code"], -32602);
}

/// Without a session, calls act as the agent configured, else as the client by the name it
/// gave: a claim, a decision and a note are never attributed to nobody.
#[test]
fn without_a_session_calls_act_as_the_agent_or_else_the_client() {
    for (agent, who) in [(Some("backend"), "backend"), (None, "mcp:test")] {
        let mut env = TestEnv::new();
        // A hint that is no session id names no session.
        env.set("CLAUDE_CODE_SESSION_ID", "not a session");
        if let Some(agent) = agent {
            env.set("ORCHESTRON_AGENT", agent);
        }
        let first = created(&env, "First");
        let mut lines = initialize();
        lines.extend([
            call(1, "task_next", json!({"claim": true})),
            call(2, "decide", json!({"title": "Keep it small"})),
            call(3, "task_update", json!({"id": first, "note": "started"})),
            call(4, "task_create", json!({"title": "Second"})),
        ]);
        let (replies, code) = exchange(&env, &lines);
        assert_eq!(code, 0);
        assert!(
            replies[0]["result"]["instructions"]
                .as_str()
                .unwrap()
                .contains(&format!(
                    "Calls act as {}",
                    agent.map_or(who.to_owned(), |a| format!("agent {a}"))
                )),
            "{}",
            replies[0]
        );
        let claimed = &replies[1]["result"];
        assert_eq!(
            claimed["structuredContent"]["item"]["assignee"], who,
            "{claimed}"
        );
        assert!(
            claimed["content"][0]["text"]
                .as_str()
                .unwrap()
                .starts_with(&format!("claimed by {who}: {first}")),
            "{claimed}"
        );
        let second = replies[4]["result"]["structuredContent"]["item"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let shown = env.run(&["task", "show", &first, "--json"]).json();
        assert_eq!(shown["assignee"], who, "{shown}");
        let decisions = env.run(&["decision", "list", "--json"]).json();
        assert_eq!(decisions[0]["session"], who, "{decisions}");
        let history = env.run(&["task", "history", &first, "--json"]).json();
        assert!(
            history
                .as_array()
                .unwrap()
                .iter()
                .filter(|event| event["what"] != "created") // by the command line
                .all(|event| event["session"] == who),
            "{history}"
        );
        // An illegal move is a tool result with the core's message and hint.
        let (replies, _) = exchange(
            &env,
            &[
                initialize(),
                vec![call(
                    5,
                    "task_update",
                    json!({"id": second, "status": "DONE"}),
                )],
            ]
            .concat(),
        );
        let failed = &replies[1]["result"];
        assert_eq!(failed["isError"], true, "{failed}");
        let text = failed["content"][0]["text"].as_str().unwrap();
        assert!(
            text.contains(&format!("cannot move {second} from TODO to DONE"))
                && text.contains("\nhint: "),
            "{text}"
        );
    }
}

fn mcp_file(env: &TestEnv) -> Value {
    serde_json::from_str(&std::fs::read_to_string(env.path().join(".mcp.json")).unwrap()).unwrap()
}

/// `init --mcp` adds the server to the project's `.mcp.json` beside the user's, once;
/// `doctor` starts it and checks the entry; `uninstall` takes out only it.
#[test]
fn init_mcp_adds_the_server_doctor_checks_it_and_uninstall_removes_it() {
    let env = TestEnv::new();
    std::fs::write(
        env.path().join(".mcp.json"),
        "{\n  \"mcpServers\": {\"db\": {\"command\": \"db-mcp\", \"args\": [\"--ro\"]}},\n  \"note\": 1\n}\n",
    )
    .unwrap();
    let report = env.run(&["init", "--mcp"]).ok().to_owned();
    assert!(
        report.contains(".mcp.json: added the MCP server `orchestron`"),
        "{report}"
    );
    let file = mcp_file(&env);
    let bin = env!("CARGO_BIN_EXE_orchestron");
    assert_eq!(
        file["mcpServers"]["orchestron"],
        json!({"type": "stdio", "command": bin, "args": ["mcp"]})
    );
    assert_eq!(
        file["mcpServers"]["db"],
        json!({"command": "db-mcp", "args": ["--ro"]})
    );
    assert_eq!(file["note"], 1);
    // The user's text is kept as written, ours added after it.
    let text = std::fs::read_to_string(env.path().join(".mcp.json")).unwrap();
    assert!(
        text.contains("\"db\": {\"command\": \"db-mcp\", \"args\": [\"--ro\"]}"),
        "{text}"
    );
    let before = env.disk();
    let again = env.run(&["init", "--mcp"]).ok().to_owned();
    assert!(again.contains("the MCP server is there already"), "{again}");
    assert_eq!(before, env.disk(), "a second init changes nothing");

    let doctor = env.run(&["doctor", "--json"]).json();
    let mcp: Vec<&Value> = doctor["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|check| check["check"] == "mcp")
        .collect();
    assert_eq!(mcp.len(), 2, "{doctor}");
    assert!(mcp.iter().all(|check| check["status"] == "ok"), "{doctor}");
    let started = mcp[0]["detail"].as_str().unwrap();
    assert!(
        started.contains("starts and answers: protocol 2025-11-25, 12 tools"),
        "{started}"
    );

    let removed = env.run(&["uninstall"]).ok().to_owned();
    assert!(
        removed.contains(".mcp.json: removed mcpServers.orchestron"),
        "{removed}"
    );
    assert_eq!(
        mcp_file(&env),
        json!({"mcpServers": {"db": {"command": "db-mcp", "args": ["--ro"]}}, "note": 1})
    );

    // A file holding only ours goes with it.
    std::fs::remove_file(env.path().join(".mcp.json")).unwrap();
    env.run(&["init", "--mcp"]).ok();
    assert!(env.path().join(".mcp.json").exists());
    let json = env.run(&["uninstall", "--json"]).json();
    assert_eq!(json["mcp_removed"], true, "{json}");
    assert!(!env.path().join(".mcp.json").exists());
}

/// A malformed `.mcp.json`, or an `orchestron` server that is someone else's, stops
/// `init --mcp` before anything is written.
#[test]
fn init_mcp_refuses_a_broken_or_foreign_mcp_file_and_changes_nothing() {
    let env = TestEnv::new();
    std::fs::write(env.path().join(".mcp.json"), "{\"mcpServers\": [").unwrap();
    let said = env.refuses(&["init", "--mcp"], 1);
    assert!(said.contains(".mcp.json is not a JSON object"), "{said}");
    std::fs::write(
        env.path().join(".mcp.json"),
        "{\"mcpServers\": {\"orchestron\": {\"command\": \"npx\", \"args\": [\"orchestron-js\"]}}}",
    )
    .unwrap();
    let said = env.refuses(&["init", "--mcp"], 1);
    assert!(
        said.contains("`mcpServers.orchestron` in .mcp.json is another server"),
        "{said}"
    );
    // Uninstall leaves a foreign entry alone.
    env.run(&["uninstall"]).ok();
    assert_eq!(mcp_file(&env)["mcpServers"]["orchestron"]["command"], "npx");
    // A link out of the project is never written through.
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("servers.json");
    std::fs::write(&target, "{}").unwrap();
    std::fs::remove_file(env.path().join(".mcp.json")).unwrap();
    std::os::unix::fs::symlink(&target, env.path().join(".mcp.json")).unwrap();
    env.refuses(&["init", "--mcp"], 1);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "{}");
}

/// The server lives on: each call asks the clock afresh (a frozen clock would date every
/// item, claim and lease at the server's start).
#[test]
fn a_long_lived_server_asks_the_clock_for_every_call() {
    use std::io::{BufRead as _, BufReader, Write as _};
    let mut env = TestEnv::new();
    env.unset("ORCHESTRON_NOW");
    let mut child = env
        .command(&["mcp"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut ask = move |line: String| -> Value {
        writeln!(stdin, "{line}").unwrap();
        let mut reply = String::new();
        stdout.read_line(&mut reply).unwrap();
        serde_json::from_str(&reply).unwrap()
    };
    ask(initialize()[0].clone());
    let mut ids = Vec::new();
    for (id, title) in [(1, "First"), (2, "Second")] {
        let reply = ask(call(id, "task_create", json!({"title": title})));
        ids.push(
            reply["result"]["structuredContent"]["item"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let created: Vec<String> = ids
        .iter()
        .map(|id| {
            env.run(&["task", "show", id, "--json"]).json()["created_at"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_ne!(created[0], created[1], "the clock is frozen");
    drop(ask); // closes its stdin: the server ends 0
    assert!(child.wait().unwrap().success());
}

/// A `task_update` whose later step would be refused changes nothing at all.
#[test]
fn a_refused_update_changes_nothing() {
    let mut env = TestEnv::new();
    env.set("ORCHESTRON_AGENT", "backend");
    let id = created(&env, "Build it");
    let mut lines = initialize();
    lines.extend([
        call(1, "task_next", json!({"claim": true})),
        call(
            2,
            "task_update",
            json!({"id": id, "status": "DONE", "progress": 50}),
        ),
        call(
            4,
            "task_update",
            json!({"id": id, "status": "BLOCKED", "reason": "r", "checkpoint": "   "}),
        ),
        call(
            3,
            "task_update",
            json!({"id": id, "status": "DONE", "progress": 100, "note": "all done"}),
        ),
    ]);
    let (replies, _) = exchange(&env, &lines);
    let refused = &replies[2]["result"];
    assert_eq!(refused["isError"], true, "{refused}");
    assert!(
        refused["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("a DONE item's progress is 100"),
        "{refused}"
    );
    // A blank checkpoint, refused before the move to BLOCKED was made.
    assert_eq!(replies[3]["result"]["isError"], true, "{}", replies[3]);
    assert_eq!(replies[4]["result"]["isError"], false, "{}", replies[4]);
    let history = env.run(&["task", "history", &id, "--json"]).json();
    let whats: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["what"].as_str().unwrap())
        .collect();
    // The refused call left no status move behind: one move to DONE, by the second call.
    assert_eq!(
        whats.iter().filter(|what| **what == "status").count(),
        2,
        "{whats:?}"
    );
}

/// The user's own options on Orchestron's entry stay; a key given twice is refused; doctor
/// warns of a file Claude Code cannot load.
#[test]
fn init_mcp_keeps_the_users_options_and_refuses_what_is_unclear() {
    let env = TestEnv::new();
    let bin = env!("CARGO_BIN_EXE_orchestron");
    let theirs = json!({"mcpServers": {"orchestron": {"command": "/old/bin/orchestron",
        "args": ["--agent", "reviewer", "mcp"], "env": {"K": "v"}}}});
    std::fs::write(env.path().join(".mcp.json"), theirs.to_string()).unwrap();
    let report = env.run(&["init", "--mcp"]).ok().to_owned();
    assert!(
        report.contains(".mcp.json: updated the MCP server"),
        "{report}"
    );
    let mut wanted = theirs.clone();
    wanted["mcpServers"]["orchestron"]["command"] = json!(bin);
    assert_eq!(mcp_file(&env), wanted);
    env.run(&["uninstall"]).ok();
    assert!(
        !env.path().join(".mcp.json").exists(),
        "ours, options and all"
    );

    let twice = "{\"mcpServers\": {\"db\": {\"command\": \"db\"}}, \"mcpServers\": {}}";
    std::fs::write(env.path().join(".mcp.json"), twice).unwrap();
    let said = env.refuses(&["init", "--mcp"], 1);
    assert!(said.contains("`mcpServers` is given twice"), "{said}");
    env.refuses(&["uninstall"], 1);

    std::fs::write(env.path().join(".mcp.json"), "{\"mcpServers\": {},}").unwrap();
    // (Uninstalled, so doctor fails on the wiring: only its MCP lines matter here.)
    let doctor: Value = serde_json::from_str(&env.run(&["doctor", "--json"]).stdout).unwrap();
    let warned = doctor["checks"].as_array().unwrap().iter().any(|check| {
        check["check"] == "mcp"
            && check["status"] == "warn"
            && check["detail"]
                .as_str()
                .unwrap()
                .contains("is not a JSON object")
    });
    assert!(warned, "{doctor}");
}

/// The protocol's corners: a notification sent with an id, a method that is not a string, a
/// whole number written `5.0`, an id past its length, and a second `initialize`.
#[test]
fn protocol_corners_are_answered_as_the_spec_says() {
    let env = TestEnv::new();
    let mut lines = initialize();
    lines.extend([
        request(1, "notifications/initialized", json!({})),
        json!({"jsonrpc": "2.0", "id": 2, "method": 5}).to_string(),
        call(3, "task_list", json!({"limit": 5.0})),
        call(4, "task_get", json!({"id": "T".repeat(60_000)})),
        request(
            5,
            "initialize",
            json!({"protocolVersion": "2025-06-18", "clientInfo": {"name": "second"}}),
        ),
    ]);
    let (replies, code) = exchange(&env, &lines);
    assert_eq!(code, 0);
    assert_eq!(replies[1]["result"], json!({}), "{}", replies[1]);
    assert_eq!(replies[2]["error"]["code"], -32600, "{}", replies[2]);
    assert_eq!(replies[3]["result"]["isError"], false, "{}", replies[3]);
    assert_eq!(replies[4]["error"]["code"], -32602, "{}", replies[4]);
    assert!(
        replies[4]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`id` must be at most 100 characters")
    );
    // Who acts was settled by the first `initialize`.
    assert!(
        replies[5]["result"]["instructions"]
            .as_str()
            .unwrap()
            .contains("Calls act as mcp:test"),
        "{}",
        replies[5]
    );
}

/// The plugin and `init --mcp` together give Claude every tool twice: doctor says so.
#[test]
fn doctor_warns_when_the_plugin_and_the_mcp_file_both_start_the_server() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.path().join(".claude")).unwrap();
    std::fs::write(
        env.path().join(".claude/settings.json"),
        json!({"enabledPlugins": {"orchestron@orchestron": true}}).to_string(),
    )
    .unwrap();
    env.run(&["init", "--mcp"]).ok();
    let doctor: Value = serde_json::from_str(&env.run(&["doctor", "--json"]).stdout).unwrap();
    let twice = doctor["checks"].as_array().unwrap().iter().any(|check| {
        check["check"] == "mcp"
            && check["status"] == "warn"
            && check["detail"]
                .as_str()
                .unwrap()
                .contains("Claude has every tool twice")
    });
    assert!(twice, "{doctor}");
}

/// `state` sets by a dot path, and never in the session's own part (its lifecycle, a hold).
#[test]
fn state_never_sets_the_sessions_own_part() {
    let env = in_a_session();
    let before = env.document(SESSION);
    let mut lines = initialize();
    lines.extend([
        call(
            1,
            "state",
            json!({"path": "session.lifecycle.status", "value": "active"}),
        ),
        call(2, "state", json!({"path": "$..status", "value": "x"})),
        call(3, "state", json!({"path": "notes.ok", "value": true})),
    ]);
    let (replies, _) = exchange(&env, &lines);
    for (index, said) in [
        (1, "`session` is Orchestron's own part"),
        (2, "not a JSONPath"),
    ] {
        let result = &replies[index]["result"];
        assert_eq!(result["isError"], true, "{result}");
        assert!(
            result["content"][0]["text"]
                .as_str()
                .unwrap()
                .contains(said),
            "{result}"
        );
    }
    assert_eq!(replies[3]["result"]["isError"], false, "{}", replies[3]);
    let after = env.document(SESSION);
    assert_eq!(before["session"], after["session"]);
    assert_eq!(after["notes"]["ok"], true);
}
