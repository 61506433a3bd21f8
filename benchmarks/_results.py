"""Shared by the benchmark scripts: write one section of benchmarks/RESULTS.md."""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import shlex
import sys
from pathlib import Path
from typing import IO, Any

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADER = (
    "# Benchmark results\n\n"
    "Each section is written by the script it names; rerun the command to refresh it.\n"
)


def machine() -> str:
    return f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"


def command() -> str:
    return "python " + " ".join(shlex.quote(a) for a in sys.argv)


def write_section(name: str, body: str) -> None:
    """Replace (or append) the section ``## name`` of RESULTS.md."""
    today = datetime.date.today().isoformat()
    section = (
        f"## {name}\n\n"
        f"- command: `{command()}`\n- machine: {machine()}\n- date: {today}\n\n"
        f"{body.strip()}\n"
    )
    text = RESULTS.read_text() if RESULTS.exists() else HEADER
    pattern = re.compile(rf"^## {re.escape(name)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text.rstrip("\n") + "\n")


def table(headers: list[str], rows: list[list[object]]) -> str:
    def fmt(x: object) -> str:
        if isinstance(x, float):
            return f"{x:,.3g}" if abs(x) < 1000 else f"{x:,.0f}"
        return str(x)

    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(fmt(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def child_result(returncode: int, out: IO[bytes], err: IO[bytes], tail: int) -> dict[str, Any]:
    """The JSON a benchmark child printed on its last ``RESULT {...}`` line of ``out``, or
    ``{"error": ...}`` with the exit code and the last ``tail`` lines of ``err``."""
    out.seek(0)
    err.seek(0)
    lines = [ln for ln in out.read().decode(errors="replace").splitlines()
             if ln.startswith("RESULT ")]
    if returncode != 0 or not lines:
        last = err.read().decode(errors="replace").strip().splitlines()[-tail:]
        return {"error": f"exit code {returncode}: " + " | ".join(last)}
    res: dict[str, Any] = json.loads(lines[-1][len("RESULT "):])
    return res
