"""Runs on disk: one JSON line per run in ``results/allocation/TASK.jsonl`` (resumable: a run
already there is not run again)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from allocation import tasks


def run_key(r: Mapping[str, Any]) -> tuple[Any, ...]:
    return (r["task"], r["workers"], r["method"], r["seed"], r["rows"], r["full_trials"])


def load_runs(names: Iterable[str]) -> list[dict[str, Any]]:
    out = []
    for task in names:
        path = tasks.OUT / f"{task}.jsonl"
        if path.exists():
            out += [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]
    return out


def append_run(r: Mapping[str, Any]) -> None:
    tasks.OUT.mkdir(parents=True, exist_ok=True)
    with open(tasks.OUT / f"{r['task']}.jsonl", "a") as f:
        f.write(json.dumps(r, separators=(",", ":")) + "\n")
