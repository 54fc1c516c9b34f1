#!/usr/bin/env python3
"""The plan the tracker benchmarks import: an export (`orchestron import` reads it) shaped like
a big project. Every 100th item is an epic, every 10th a story under the last epic, the rest
tasks under the last story; each item waits for up to three earlier items among the 2,000
before it (so the graph is deep and dense), with a mix of statuses and priorities. Seeded:
the same store every time. Usage: bench/plan.py ITEMS OUT.jsonl   (bench/tracker, bench/mcp)
"""
import json, random, sys

n, path = int(sys.argv[1]), sys.argv[2]
random.seed(20261122)
digits = "0123456789abcdefghijklmnopqrstuvwxyz"
def suffix(i):
    s = ""
    for _ in range(7):
        s += digits[i % 36]; i //= 36
    return s
statuses = ["TODO"] * 6 + ["DONE"] * 3 + ["IN_PROGRESS", "BACKLOG", "BLOCKED", "IN_REVIEW"]
priorities = ["CRITICAL", "HIGH", "MEDIUM", "MEDIUM", "LOW"]
ids, edges = [], 0
with open(path, "w") as out:
    out.write(json.dumps({"type": "orchestron-export", "version": 1}) + "\n")
    epic = story = None
    for i in range(n):
        kind = "EPIC" if i % 100 == 0 else "STORY" if i % 10 == 0 else "TASK"
        item_id = f"{kind}-{suffix(i * 7919 + 13)}"
        parent = None if kind == "EPIC" else epic if kind == "STORY" else story
        out.write(json.dumps({"type": "item", "id": item_id, "kind": kind, "parent": parent,
            "title": f"{kind.title()} {i} of the benchmark plan", "status": random.choice(statuses),
            "priority": random.choice(priorities), "estimate": random.choice([1, 2, 3, 5, 8]),
            "project": "bench", "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z", "seq": i + 1}) + "\n")
        if kind == "EPIC": epic = item_id
        if kind == "STORY": story = item_id
        ids.append(item_id)
    for i in range(1, n):
        for dep in random.sample(range(max(0, i - 2000), i), min(i, 3)):
            out.write(json.dumps({"type": "dependency", "item": ids[i], "depends_on": ids[dep]}) + "\n")
            edges += 1
print(f"generated {n} items and {edges} dependencies", file=sys.stderr)
