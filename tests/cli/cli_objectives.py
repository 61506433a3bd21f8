"""Tiny, fast objectives for the CLI tests (imported by worker processes through `path:`)."""

from __future__ import annotations

import json
import os
import time
from typing import Any


def train(ctx: Any) -> None:
    """Loss ``(x - 0.3)**2 + 1/step``; sleeps ``delay`` seconds per step; checkpoints a JSON
    file and, when resumed, checks that the checkpoint is the one it should start from. With
    ``fail_at``, a trial whose ``x > 0.5`` raises at that step."""
    x = float(ctx.params["x"])
    delay = float(ctx.params.get("delay", 0.0))
    if ctx.checkpoint is not None:
        with open(os.path.join(ctx.checkpoint, "state.json")) as f:
            state = json.load(f)
        if state["step"] != ctx.start_step - 1 or state["x"] != x:
            raise RuntimeError(f"wrong checkpoint {state} for x={x} start={ctx.start_step}")
    fail_at = ctx.params.get("fail_at")
    for step in range(ctx.start_step, ctx.max_step + 1):
        if delay:
            time.sleep(delay)
        if fail_at is not None and step == fail_at and x > 0.5:
            raise ValueError(f"boom at step {step} (x={x:.3f})")

        def save(directory: str, step: int = step) -> None:
            with open(os.path.join(directory, "state.json"), "w") as f:
                json.dump({"step": step, "x": x}, f)

        ctx.report(step, loss=(x - 0.3) ** 2 + 1.0 / step, save=save)


def no_args() -> None:
    """An objective that forgot the trial context."""


def two_args(ctx: Any, extra: Any) -> None:
    """An objective with one parameter too many."""


def keyword_only(*, ctx: Any) -> None:
    """An objective that cannot take the context positionally."""


def with_default(ctx: Any, scale: float = 1.0) -> None:
    """Extra parameters with defaults are fine."""
    for step in range(ctx.start_step, ctx.max_step + 1):
        ctx.report(step, loss=scale / step)
