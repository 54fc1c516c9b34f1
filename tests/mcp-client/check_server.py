#!/usr/bin/env python3
"""`orchestron mcp` through the official Python MCP SDK (PyPI `mcp`, pinned in
requirements.txt beside this file).

Usage: check_server.py ORCHESTRON_BINARY   (or the binary in $ORCHESTRON_BIN)

In a temporary state root, with a fixed clock and id seed, it seeds items with the CLI, then,
as a client of the server: lists the tools, resources and resource templates; checks every
input schema (and output schema, where a tool declares one) with jsonschema; calls every tool
with valid arguments, with invalid ones (a wrong type, an unknown field, a missing field, a
value outside the schema: JSON-RPC -32602 naming the field) and in ways that fail (an unknown
item, an illegal status transition, no session: a result with isError true and the core's
message); reads every resource and the item template; and measures the tool list against its
limit (at most 12 tools, their names, descriptions and input schemas at most 12,000
characters of compact JSON). It prints what it checked and exits 1 on any failure.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
import traceback
from typing import Any

import anyio
import jsonschema
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

try:  # the SDK's 2.x name; 1.x called it McpError
    from mcp import MCPError
except ImportError:  # pragma: no cover
    from mcp.shared.exceptions import McpError as MCPError  # type: ignore[no-redef]

MAX_TOOLS = 12
MAX_TOOL_CHARS = 12_000
INVALID_PARAMS = -32602
SESSION = "c1c1c1c1-0000-4000-8000-00000000c11e"
NOW = "2026-01-01T00:00:00Z"
# How long the whole run may take: a hung server fails the check instead of hanging CI.
LIMIT_SECONDS = 120


class Failed(Exception):
    """A check that failed: its message says what was expected and what came."""


class Checks:
    """Counts what was checked; keeps every failure, so one run reports them all."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.passed = 0
        self.failures: list[str] = []

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    def ok(self, condition: bool, message: str) -> None:
        if condition:
            self.passed += 1
        else:
            self.fail(message)

    def fail(self, message: str) -> None:
        self.failures.append(message)
        print(f"FAIL: {message.splitlines()[0]}", file=sys.stderr, flush=True)


def wire(model: Any) -> Any:
    """A result of the SDK as it was on the wire (camelCase names, no unset fields)."""
    return model.model_dump(by_alias=True, mode="json", exclude_unset=True)


def compact(value: Any) -> str:
    """Compact JSON, as serde_json writes it (`to_string`): the measure of the tool list."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def short(value: Any, limit: int = 400) -> str:
    text = value if isinstance(value, str) else compact(value)
    return text if len(text) <= limit else text[:limit] + "…"


# --- The environment ------------------------------------------------------------------------


class Sandbox:
    """A temporary project with its own state root, clock and id seed, as tests/cli uses."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.root = tempfile.mkdtemp(prefix="orchestron-mcp-client-")
        self.project = os.path.join(self.root, "project")
        os.mkdir(self.project)
        self.env = {
            "ORCHESTRON_HOME": os.path.join(self.root, "state"),
            "ORCHESTRON_NOW": NOW,
            "ORCHESTRON_ID_SEED": "mcp-client",
            "HOME": self.root,
        }

    def cli(self, *args: str) -> str:
        """Run the binary's command line in the sandbox; its stdout (fails on a non-zero exit)."""
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **self.env}
        run = subprocess.run(
            [self.binary, *args],
            cwd=self.project,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if run.returncode != 0:
            raise Failed(
                f"`orchestron {' '.join(args)}` exited {run.returncode}\n"
                f"--- stdout\n{run.stdout}--- stderr\n{run.stderr}"
            )
        return run.stdout

    def server(self, **extra: str) -> StdioServerParameters:
        """`orchestron mcp` in the sandbox. The SDK adds only its default variables (PATH,
        HOME, …) under these, so nothing of the caller's ORCHESTRON_* reaches the server."""
        return StdioServerParameters(
            command=self.binary, args=["mcp"], env={**self.env, **extra}, cwd=self.project
        )

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


# --- Schemas --------------------------------------------------------------------------------


def wrong_value(schema: dict[str, Any]) -> Any:
    """A value of the wrong JSON type for `schema`, or None when any value fits it."""
    kind = schema.get("type")
    return (
        {
            "string": 5,
            "boolean": "yes",
            "integer": "seven",
            "number": "seven",
            "array": "not a list",
            "object": "not an object",
        }.get(kind)
        if isinstance(kind, str)
        else None
    )


def out_of_schema(schema: dict[str, Any]) -> list[tuple[str, Any]]:
    """Values of the right type that the schema still refuses: (what, value)."""
    cases: list[tuple[str, Any]] = []
    if "enum" in schema:
        cases.append(("a value outside the enum", "NO_SUCH_VALUE"))
    if schema.get("minLength", 0) >= 1:
        cases.append(("an empty string", ""))
    if "minimum" in schema:
        cases.append(("a value below the minimum", schema["minimum"] - 1))
    if "maximum" in schema:
        cases.append(("a value above the maximum", schema["maximum"] + 1))
    items = schema.get("items")
    if schema.get("type") == "array" and isinstance(items, dict):
        wrong = wrong_value(items)
        if wrong is not None:
            cases.append(("a list with an item of the wrong type", [wrong]))
    return cases


def check_tool_schemas(checks: Checks, tools: list[dict[str, Any]]) -> None:
    for tool in tools:
        name = tool.get("name", "?")
        checks.ok(bool(tool.get("description")), f"tool {name}: no description")
        for key in ("inputSchema", "outputSchema"):
            if key not in tool:
                checks.ok(key == "outputSchema", f"tool {name}: no {key}")
                continue
            schema = tool[key]
            try:
                jsonschema.Draft202012Validator.check_schema(schema)
                checks.ok(True, "")
            except jsonschema.SchemaError as err:
                checks.fail(f"tool {name}: its {key} is not a valid JSON Schema: {err.message}")
            checks.count(f"{key}s checked")
            checks.ok(
                schema.get("type") == "object",
                f"tool {name}: its {key} has type {schema.get('type')!r}, not 'object'",
            )
            if key == "inputSchema":
                checks.ok(
                    schema.get("additionalProperties") is False,
                    f"tool {name}: its inputSchema lacks additionalProperties: false",
                )
                for field in schema.get("required", []):
                    checks.ok(
                        field in schema.get("properties", {}),
                        f"tool {name}: required field {field!r} is not a property",
                    )


def measure(checks: Checks, tools: list[dict[str, Any]]) -> tuple[int, int]:
    """The limit's measure, as tests/cli/mcp.rs takes it: each tool's name, description and
    input schema as compact JSON, summed in characters. Also the whole listing's size."""
    size = sum(
        len(compact({k: tool[k] for k in ("name", "description", "inputSchema") if k in tool}))
        for tool in tools
    )
    whole = sum(len(compact(tool)) for tool in tools)
    checks.ok(len(tools) <= MAX_TOOLS, f"{len(tools)} tools, more than {MAX_TOOLS}")
    checks.ok(
        size <= MAX_TOOL_CHARS,
        f"the tools' names, descriptions and input schemas come to {size:,} characters, "
        f"more than {MAX_TOOL_CHARS:,}",
    )
    return size, whole


# --- The client -----------------------------------------------------------------------------


class Client:
    """Calls through an SDK session, checking each answer's shape."""

    def __init__(self, session: ClientSession, checks: Checks, tools: list[dict[str, Any]]):
        self.session = session
        self.checks = checks
        self.tools = {tool["name"]: tool for tool in tools}
        self.called: set[str] = set()

    async def raw(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return wire(await self.session.call_tool(name, arguments))

    async def ok(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """A call that must succeed: isError false, a text content, and structuredContent
        valid against the tool's outputSchema when it declares one. Returns the result."""
        what = f"{name} {short(arguments)}"
        try:
            result = await self.raw(name, arguments)
        except MCPError as err:
            raise Failed(f"{what}: JSON-RPC error {err.error.code}: {err.error.message}") from None
        except Exception as err:  # the SDK's own output-schema check raises RuntimeError
            raise Failed(f"{what}: the SDK refused the result: {err}") from None
        if result.get("isError"):
            raise Failed(f"{what}: isError true: {short(result.get('content'))}")
        self.check_text(what, result)
        schema = self.tools.get(name, {}).get("outputSchema")
        if schema is not None:
            errors = sorted(
                jsonschema.Draft202012Validator(schema).iter_errors(
                    result.get("structuredContent")
                ),
                key=lambda error: list(error.path),
            )
            self.checks.ok(
                not errors,
                f"{what}: structuredContent does not match the outputSchema: "
                + "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:3]),
            )
            self.checks.count("structuredContent validated")
        self.checks.count("valid calls")
        self.called.add(name)
        return result

    def check_text(self, what: str, result: dict[str, Any]) -> str:
        content = result.get("content") or []
        texts = [block.get("text", "") for block in content if block.get("type") == "text"]
        self.checks.ok(
            bool(texts) and bool(texts[0].strip()),
            f"{what}: no text content: {short(result)}",
        )
        return texts[0] if texts else ""

    async def invalid(self, name: str, arguments: dict[str, Any], field: str, why: str) -> None:
        """A call the server must refuse as invalid params: -32602 naming `field` (in
        backticks, as the server quotes names)."""
        what = f"{name} {short(arguments)} ({why})"
        try:
            result = await self.raw(name, arguments)
        except MCPError as err:
            self.checks.ok(
                err.error.code == INVALID_PARAMS,
                f"{what}: error code {err.error.code}, expected {INVALID_PARAMS}: {err.error.message}",
            )
            self.checks.ok(
                f"`{field}`" in err.error.message,
                f"{what}: the error does not name {field!r}: {err.error.message!r}",
            )
            self.checks.count("invalid calls refused (-32602)")
            return
        except Exception as err:
            self.checks.fail(f"{what}: expected JSON-RPC {INVALID_PARAMS}, the SDK raised {err!r}")
            return
        self.checks.fail(
            f"{what}: expected JSON-RPC {INVALID_PARAMS}, got a result: {short(result)}"
        )

    async def fails(self, name: str, arguments: dict[str, Any], *expected: str) -> str:
        """A call whose operation must fail: a result with isError true whose text holds every
        string in `expected`. Returns the text."""
        what = f"{name} {short(arguments)}"
        try:
            result = await self.raw(name, arguments)
        except MCPError as err:
            self.checks.fail(
                f"{what}: expected a result with isError true, got JSON-RPC error "
                f"{err.error.code}: {err.error.message}"
            )
            return ""
        self.checks.ok(
            result.get("isError") is True, f"{what}: expected isError true: {short(result)}"
        )
        text = self.check_text(what, result)
        for part in expected:
            self.checks.ok(part in text, f"{what}: the error text lacks {part!r}: {text!r}")
        self.checks.count("failed operations (isError)")
        return text


def item_of(result: dict[str, Any]) -> dict[str, Any]:
    item = (result.get("structuredContent") or {}).get("item")
    if not isinstance(item, dict):
        raise Failed(f"no structuredContent.item in {short(result)}")
    return item


async def valid_calls(client: Client, checks: Checks, seeded: dict[str, str]) -> dict[str, Any]:
    """Every tool with valid arguments; returns what later checks need."""
    first, second, third = seeded["first"], seeded["second"], seeded["third"]

    created = item_of(
        await client.ok(
            "task_create",
            {
                "title": "Check the Python client",
                "kind": "SUBTASK",
                "priority": "HIGH",
                "description": "created through the Python MCP SDK",
                "estimate": 1.5,
                "labels": ["mcp", "python"],
                "parent": first,
                "depends_on": [second],
            },
        )
    )
    checks.ok(created.get("title") == "Check the Python client", f"task_create: {short(created)}")
    checks.ok(created.get("status") == "TODO", f"task_create: status {created.get('status')}")
    plain = item_of(await client.ok("task_create", {"title": "A plain one"}))

    listed = await client.ok("task_list", {})
    ids = [item.get("id") for item in (listed.get("structuredContent") or {}).get("items", [])]
    for wanted in (first, second, third, created["id"], plain["id"]):
        checks.ok(wanted in ids, f"task_list: {wanted} missing from {ids}")
    labelled = await client.ok(
        "task_list", {"status": "TODO", "kind": "SUBTASK", "label": "mcp", "limit": 5}
    )
    ids = [item.get("id") for item in (labelled.get("structuredContent") or {}).get("items", [])]
    checks.ok(ids == [created["id"]], f"task_list by label mcp: {ids}, expected [{created['id']}]")

    got = await client.ok("task_get", {"id": first})
    checks.ok(first in client.check_text("task_get", got), f"task_get: {short(got)}")
    checks.ok(item_of(got).get("id") == first, f"task_get: {short(got)}")

    peek = await client.ok("task_next", {})
    claimed_result = await client.ok("task_next", {"claim": True})
    claimed = item_of(claimed_result)
    checks.ok(
        item_of(peek).get("id") == claimed.get("id"),
        f"task_next: peeked {item_of(peek).get('id')}, claimed {claimed.get('id')}",
    )
    checks.ok(claimed.get("status") == "IN_PROGRESS", f"task_next claim: {short(claimed)}")
    checks.ok(
        claimed.get("assignee") == SESSION,
        f"task_next claim: not the server's session {SESSION}: {short(claimed)}",
    )
    work = claimed["id"]

    progress = item_of(await client.ok("task_update", {"id": work, "progress": 40}))
    checks.ok(progress.get("progress") == 40, f"task_update progress: {short(progress)}")
    await client.ok("task_update", {"id": work, "checkpoint": "schemas checked"})
    await client.ok("task_update", {"id": work, "note": "half way, from Python"})
    done = item_of(await client.ok("task_update", {"id": work, "status": "DONE"}))
    checks.ok(done.get("status") == "DONE", f"task_update DONE: {short(done)}")

    asked = item_of(
        await client.ok("ask_human", {"id": third, "question": "Which Python versions?"})
    )
    checks.ok(asked.get("status") == "BLOCKED", f"ask_human: {short(asked)}")

    decided = await client.ok(
        "decide",
        {
            "title": "Test with the official SDK",
            "rationale": "it is what clients use",
            "severity": "low",
            "task": first,
        },
    )
    decision = (decided.get("structuredContent") or {}).get("decision") or {}
    checks.ok(decision.get("title") == "Test with the official SDK", f"decide: {short(decided)}")

    await client.ok(
        "memory_add",
        {
            "kind": "pattern",
            "key": "py-client",
            "description": "validate schemas with jsonschema",
            "confidence": 0.9,
        },
    )
    found = await client.ok("memory_search", {"query": "jsonschema"})
    keys = [m.get("key") for m in (found.get("structuredContent") or {}).get("memory", [])]
    checks.ok("py-client" in keys, f"memory_search: {keys}")

    for arguments in ({}, {"view": "summary"}, {"view": "board"}):
        summary = await client.ok("plan_summary", arguments)
        structured = summary.get("structuredContent")
        checks.ok(
            isinstance(structured, dict) and bool(structured),
            f"plan_summary {arguments}: {short(summary)}",
        )
    checks.ok(
        "columns" in ((summary.get("structuredContent") or {}).get("board") or {}),
        f"plan_summary board: no board.columns: {short(summary)}",
    )

    changed = await client.ok("state", {"path": "notes.client", "value": {"sdk": "python"}})
    checks.ok(
        (changed.get("structuredContent") or {}).get("changed") is True,
        f"state set: {short(changed)}",
    )
    read = await client.ok("state", {"path": "notes.client.sdk"})
    checks.ok(
        (read.get("structuredContent") or {}).get("value") == "python", f"state read: {short(read)}"
    )
    query = await client.ok("state", {"path": "$.notes..sdk"})
    checks.ok(
        (query.get("structuredContent") or {}).get("value") == ["python"],
        f"state JSONPath read: {short(query)}",
    )

    await client.ok("handoff", {"next_steps": ["run the Python client in CI"], "note": "checked"})
    await client.ok("handoff", {})

    return {"done": work, "todo": plain["id"], "first": first}


async def invalid_calls(client: Client, minimal: dict[str, dict[str, Any]]) -> None:
    """Each tool refuses a wrong type, an unknown field, a missing field and a value outside
    its schema, as JSON-RPC -32602 naming the field; an unknown tool likewise."""
    for name, tool in client.tools.items():
        schema = tool["inputSchema"]
        validator = jsonschema.Draft202012Validator(schema)
        base = minimal[name]
        if not validator.is_valid(base):  # the script's own arguments must fit
            client.checks.fail(f"{name}: the script's valid arguments {base} do not fit its schema")
            continue
        cases: list[tuple[dict[str, Any], str, str]] = [
            ({**base, "no_such_field": 1}, "no_such_field", "unknown field"),
        ]
        for field in schema.get("required", []):
            cases.append(({k: v for k, v in base.items() if k != field}, field, "missing field"))
        for field, property_schema in schema.get("properties", {}).items():
            wrong = wrong_value(property_schema)
            if wrong is not None:
                cases.append(({**base, field: wrong}, field, "wrong type"))
            for why, value in out_of_schema(property_schema):
                cases.append(({**base, field: value}, field, why))
        for arguments, field, why in cases:
            # Each case must be invalid by the schema too: the server checks what it declares.
            client.checks.ok(
                not validator.is_valid(arguments),
                f"{name} {short(arguments)}: jsonschema finds it valid, yet it is a case of {why}",
            )
            await client.invalid(name, arguments, field, why)
    await client.invalid("no_such_tool", {}, "no_such_tool", "unknown tool")


async def failed_operations(client: Client, made: dict[str, Any]) -> None:
    """Operations the core refuses: a result with isError true and the core's message."""
    await client.fails("task_get", {"id": "NOPE-1"}, "NOPE-1", "not found", "\nhint:")
    await client.fails("task_update", {"id": "NOPE-1", "status": "DONE"}, "NOPE-1", "not found")
    await client.fails("ask_human", {"id": "NOPE-1", "question": "Anyone?"}, "NOPE-1")
    # TODO cannot jump to DONE; DONE is closed.
    todo = made["todo"]
    await client.fails(
        "task_update",
        {"id": todo, "status": "DONE"},
        f"cannot move {todo} from TODO to DONE",
        "\nhint:",
    )
    done = made["done"]
    await client.fails("task_update", {"id": done, "status": "IN_PROGRESS"}, "it is closed")
    await client.fails("task_create", {"title": "Orphan", "parent": "NOPE-1"}, "NOPE-1")
    first = made["first"]
    await client.fails(
        "task_create",
        {"title": "Too big", "kind": "EPIC", "parent": first},
        f"cannot sit under {first}",
    )
    await client.fails("state", {"path": "$["}, "$[")


async def failed_creation_is_atomic(client: Client) -> None:
    """A task_create whose dependency is unknown fails, and leaves no item behind."""
    before = await client.ok("task_list", {"limit": 200})
    count = len((before.get("structuredContent") or {}).get("items", []))
    await client.fails(
        "task_create", {"title": "Waits on nothing", "depends_on": ["NOPE-1"]}, "NOPE-1"
    )
    after = await client.ok("task_list", {"limit": 200})
    titles = [item.get("title") for item in (after.get("structuredContent") or {}).get("items", [])]
    client.checks.ok(
        len(titles) == count,
        "task_create {title: 'Waits on nothing', depends_on: ['NOPE-1']} answered isError, "
        f"yet created the item: {count} items before, {len(titles)} after",
    )


async def read_resources(session: ClientSession, checks: Checks, item: str) -> None:
    resources = wire(await session.list_resources()).get("resources", [])
    uris = [resource.get("uri") for resource in resources]
    expected = ["orchestron://summary", "orchestron://board", "orchestron://context"]
    checks.ok(sorted(uris) == sorted(expected), f"resources/list: {uris}, expected {expected}")
    templates = wire(await session.list_resource_templates()).get("resourceTemplates", [])
    template_uris = [template.get("uriTemplate") for template in templates]
    checks.ok(
        template_uris == ["orchestron://item/{id}"],
        f"resources/templates/list: {template_uris}",
    )
    checks.counts["resources listed"] = len(resources)
    checks.counts["resource templates listed"] = len(templates)
    reads = [(uri, resource.get("mimeType")) for uri, resource in zip(uris, resources)]
    reads += [
        (template.get("uriTemplate", "").replace("{id}", item), template.get("mimeType"))
        for template in templates
    ]
    for uri, mime in reads:
        try:
            contents = wire(await session.read_resource(uri)).get("contents", [])
        except MCPError as err:
            checks.fail(
                f"resources/read {uri}: JSON-RPC error {err.error.code}: {err.error.message}"
            )
            continue
        checks.count("resources read")
        if not contents or "text" not in contents[0]:
            checks.fail(f"resources/read {uri}: no text contents: {short(contents)}")
            continue
        text = contents[0]["text"]
        checks.ok(
            contents[0].get("uri") == uri,
            f"resources/read {uri}: contents for {contents[0].get('uri')}",
        )
        checks.ok(bool(text.strip()), f"resources/read {uri}: empty")
        if mime == "application/json":
            try:
                json.loads(text)
                checks.ok(True, "")
            except ValueError as err:
                checks.fail(f"resources/read {uri}: not JSON ({err}): {short(text)}")
    context = wire(await session.read_resource("orchestron://context"))["contents"][0]["text"]
    checks.ok(
        SESSION in context,
        f"orchestron://context does not name session {SESSION}: {short(context)}",
    )
    detail = wire(await session.read_resource(f"orchestron://item/{item}"))["contents"][0]["text"]
    checks.ok(item in detail, f"orchestron://item/{item} does not hold its id: {short(detail)}")
    for uri in ("orchestron://nope", "orchestron://item/NOPE-1"):
        try:
            result = wire(await session.read_resource(uri))
            checks.fail(
                f"resources/read {uri}: expected JSON-RPC {INVALID_PARAMS}, got {short(result)}"
            )
        except MCPError as err:
            checks.ok(
                err.error.code == INVALID_PARAMS, f"resources/read {uri}: code {err.error.code}"
            )
            checks.count("bad resource reads refused (-32602)")


# The smallest valid arguments of each tool: the base of each invalid call.
def minimal_arguments(item: str) -> dict[str, dict[str, Any]]:
    return {
        "task_next": {},
        "task_get": {"id": item},
        "task_list": {},
        "task_create": {"title": "never made"},
        "task_update": {"id": item},
        "ask_human": {"id": item, "question": "?"},
        "decide": {"title": "never made"},
        "memory_search": {"query": "x"},
        "memory_add": {"kind": "pattern", "key": "k", "description": "never made"},
        "plan_summary": {},
        "state": {"path": "notes.x"},
        "handoff": {},
    }


async def run(sandbox: Sandbox, checks: Checks, summary: dict[str, Any]) -> None:
    sandbox.cli("session", "create", "--id", SESSION, "--project", "demo")
    seeded = {
        "first": sandbox.cli("task", "create", "Seed: the API", "--priority", "high").strip(),
        "second": sandbox.cli("task", "create", "Seed: the docs").strip(),
        "third": sandbox.cli("task", "create", "Seed: the packaging", "--label", "release").strip(),
    }
    sandbox.cli("task", "depend", seeded["third"], "--on", seeded["second"])

    server = sandbox.server(ORCHESTRON_SESSION=SESSION, ORCHESTRON_AGENT="py-client")
    async with stdio_client(server) as (read, write):
        async with ClientSession(read, write) as session:
            init = wire(await session.initialize())
            checks.ok(init["serverInfo"]["name"] == "orchestron", f"initialize: {short(init)}")
            capabilities = init.get("capabilities", {})
            checks.ok(
                "tools" in capabilities and "resources" in capabilities,
                f"capabilities: {capabilities}",
            )
            summary["protocol"] = init.get("protocolVersion")
            await session.send_ping()

            listing = wire(await session.list_tools())
            checks.ok(
                "nextCursor" not in listing, "tools/list is paged; this script reads one page"
            )
            tools = listing.get("tools", [])
            summary["tools"] = len(tools)
            summary["output_schemas"] = sum("outputSchema" in tool for tool in tools)
            check_tool_schemas(checks, tools)
            summary["size"], summary["whole"] = measure(checks, tools)

            client = Client(session, checks, tools)
            minimal = minimal_arguments(seeded["first"])
            for name in client.tools:
                if name not in minimal:
                    checks.fail(f"tool {name}: this script has no arguments for it (a new tool?)")
            made = await valid_calls(client, checks, seeded)
            uncalled = sorted(set(client.tools) - client.called)
            checks.ok(not uncalled, f"tools never called with valid arguments: {uncalled}")
            await invalid_calls(client, {k: v for k, v in minimal.items() if k in client.tools})
            await failed_operations(client, made)
            await failed_creation_is_atomic(client)
            await read_resources(session, checks, seeded["first"])

    # Without a session, the session's own tools fail with the core's message and hint.
    async with stdio_client(sandbox.server()) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = wire(await session.list_tools()).get("tools", [])
            client = Client(session, checks, tools)
            for name, arguments in (
                ("state", {"path": "notes.client"}),
                ("state", {"path": "notes.client", "value": 1}),
                ("handoff", {"note": "no session"}),
            ):
                await client.fails(name, arguments, "there is no current session", "\nhint:")
            await client.ok("task_list", {})
            # A claim with no session and no agent is the client's, by the name it gave in
            # `initialize` (the SDK's default is `mcp`): never nobody's.
            what = "task_next {claim: true} without a session or an agent"
            try:
                result = await client.raw("task_next", {"claim": True})
                client.check_text(what, result)
                item = (result.get("structuredContent") or {}).get("item") or {}
                assignee = item.get("assignee") or ""
                checks.ok(
                    not result.get("isError") and assignee.startswith("mcp:"),
                    f"{what}: {short(result)}",
                )
                summary["anonymous_claim"] = f"taken by {assignee!r}"
            except MCPError as err:
                checks.fail(f"{what}: JSON-RPC error {err.error.code}: {err.error.message}")


def leaves(err: BaseException) -> list[BaseException]:
    """The errors inside an exception group (anyio's task groups wrap what they raise)."""
    if isinstance(err, BaseExceptionGroup):
        return [leaf for inner in err.exceptions for leaf in leaves(inner)]
    return [err]


def main() -> int:
    binary = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("ORCHESTRON_BIN", "")
    binary = os.path.abspath(binary) if binary else binary
    if not binary or not os.access(binary, os.X_OK):
        print(
            f"usage: {sys.argv[0]} ORCHESTRON_BINARY (or set ORCHESTRON_BIN); "
            f"not executable: {binary!r}",
            file=sys.stderr,
        )
        return 2
    versions = {name: importlib.metadata.version(name) for name in ("mcp", "jsonschema")}
    print(f"python MCP SDK {versions['mcp']}, jsonschema {versions['jsonschema']}; server {binary}")
    checks = Checks()
    sandbox = Sandbox(binary)
    summary: dict[str, Any] = {}

    async def bounded() -> None:
        with anyio.fail_after(LIMIT_SECONDS):
            await run(sandbox, checks, summary)

    try:
        anyio.run(bounded)
    except BaseException as err:  # noqa: BLE001 - every error is a failure to report
        for cause in leaves(err):
            if isinstance(cause, Failed):
                checks.fail(str(cause))
            elif isinstance(cause, TimeoutError):
                checks.fail(f"the run took longer than {LIMIT_SECONDS} s (a hung server?)")
            else:
                checks.fail("unexpected error:\n" + "".join(traceback.format_exception(cause)))
    finally:
        sandbox.close()

    if "size" in summary:
        print(
            f"protocol {summary.get('protocol')}; {summary.get('tools')} tools "
            f"({summary.get('output_schemas')} with an outputSchema); tool list "
            f"{summary.get('size'):,} characters of {MAX_TOOL_CHARS:,} (names, descriptions, "
            f"input schemas; {summary.get('whole'):,} with everything tools/list gives)"
        )
    if "anonymous_claim" in summary:
        print(f"a claim without a session or an agent: {summary['anonymous_claim']}")
    for what, count in checks.counts.items():
        print(f"  {what}: {count}")
    print(f"checks: {checks.passed} passed, {len(checks.failures)} failed")
    if checks.failures:
        print(f"\n{len(checks.failures)} check(s) failed:", file=sys.stderr)
        for failure in checks.failures:
            print(f"- {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
