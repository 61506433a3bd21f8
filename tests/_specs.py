"""Spec text the test suite shares (importable from any test module: ``tests/`` is on
``sys.path`` through ``tests/conftest.py``).

``x_spec`` is the YAML of the smallest real study: one float ``x`` in [0, 1], metric ``loss``,
random search, FIFO, a trial budget, and whatever else a test adds.
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


__all__ = ["x_spec"]
