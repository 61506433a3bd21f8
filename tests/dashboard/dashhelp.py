"""Helpers the dashboard tests share (importable from any test module of this directory).

``run_to_the_end`` drives a study by ask / report / tell until its budget is spent, each trial
reporting every step until its scheduler stops it; ``start_dashboard`` starts ``rung
dashboard`` on a free loopback port (the caller stops it); ``needs_browser`` is the
``pytestmark`` of a module that drives Chromium (``conftest.browser``), ``wait_for`` polls a
condition of the page; ``simulated_asha`` writes an ASHA study on mf-hartmann3 by simulation.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

import rung

#: skip a module of browser tests without Debian's chromium and chromium-driver
needs_browser = pytest.mark.skipif(
    not ((shutil.which("chromium") or shutil.which("chromium-browser"))
         and shutil.which("chromedriver")),
    reason="needs Debian's chromium and chromium-driver")


def wait_for(fn: Callable[[], Any], what: str, timeout: float = 20, poll: float = 0.1) -> Any:
    """``fn()``'s first truthy value, polled every ``poll`` s; ``AssertionError`` naming
    ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(poll)


def run_to_the_end(study: rung.Study, max_step: int,
                   metrics: Callable[[rung.Trial, int], Mapping[str, Any]]) -> None:
    """Every trial reports ``metrics(trial, step)`` at steps 1..``max_step``; it ends
    ``stopped`` at the first decision that is not to continue, else ``completed``."""
    while (t := study.ask()) is not None:
        for step in range(1, max_step + 1):
            d = study.report(t.id, step, metrics(t, step))
            if d.action.value != "continue":
                study.tell(t.id, "stopped")
                break
        else:
            study.tell(t.id, "completed")


def start_dashboard(storage: Path, interval: float = 0.5) -> tuple[subprocess.Popen[bytes], str]:
    """``rung dashboard --storage STORAGE`` on a free port of 127.0.0.1: the process and its
    base address."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    dash = subprocess.Popen([sys.executable, "-m", "rung.cli", "dashboard", "--storage",
                             str(storage), "--port", str(port), "--interval", str(interval)])
    return dash, f"http://127.0.0.1:{port}"


__all__ = ["run_to_the_end", "start_dashboard"]


def simulated_asha(db: Path, n_trials: int, seed: int = 0) -> int:
    """Simulate study ``asha`` (random search + ASHA on mf-hartmann3, 3 workers) into the
    SQLite journal ``db``, wait for its run's dashboard snapshot job, if it started one; the
    number of records of its journal."""
    from rung.benchmarks import get_benchmark
    from rung.dashboard import snapshot_job

    b = get_benchmark("mf-hartmann3")
    s = rung.Study.create("asha", b.space, objective=rung.Objective(b.metric, b.mode),
                          searcher="random", scheduler=rung.ASHA(reduction_factor=3),
                          max_step=b.max_step, budget=rung.Budget(n_trials=n_trials),
                          seed=seed, storage=db)
    s.simulate(b, n_workers=3)
    n = int(s.journal.count("asha"))  # type: ignore[attr-defined]
    s.close()
    assert snapshot_job.wait_all(120)  # the run's snapshot is written by a job of its own
    return n
