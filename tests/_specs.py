"""Spec text the test suite shares (importable from any test module: ``tests/`` is on
``sys.path`` through ``tests/conftest.py``).

``x_spec`` is the YAML of the smallest real study: one float ``x`` in [0, 1], metric ``loss``,
random search, FIFO, a trial budget, and whatever else a test adds. ``REPORTING`` is the text of
an objective module for it that reports ``loss`` every 0.2 s and touches a file ``reported``
beside itself at each report (a test waits for it before it disturbs the run).
"""

from __future__ import annotations

from typing import Any


def x_spec(name: str, objective: str, path: object, *, max_step: int, n_trials: int,
           **extra: Any) -> str:
    """The spec, ``extra`` keys appended one per line as written (``storage="run.db"``,
    ``executor_options='{address: local}'``)."""
    lines = [f"name: {name}", f"objective: {objective}", f"path: {path}",
             "space: {x: {type: float, low: 0.0, high: 1.0}}", "metric: loss",
             f"max_step: {max_step}", "searcher: random", "scheduler: fifo",
             f"budget: {{n_trials: {n_trials}}}"]
    lines += [f"{k}: {v}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


REPORTING = """\
import os, time

def train(ctx):
    for step in range(ctx.start_step, ctx.max_step + 1):
        ctx.report(step, loss=ctx.params["x"] + 1.0 / step)
        open(os.path.join(os.path.dirname(__file__), "reported"), "a").close()
        time.sleep(0.2)
"""

__all__ = ["REPORTING", "x_spec"]
