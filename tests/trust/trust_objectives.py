"""Objectives for the trust tests: importable by name, as spawn worker processes need."""

from __future__ import annotations

import rung


def count(ctx: rung.TrialContext) -> None:
    """One report per step; the loss depends on ``x``."""
    x = float(ctx.params["x"])
    for step in range(ctx.start_step, ctx.max_step + 1):
        ctx.report(step, loss=x / step)


def saving(ctx: rung.TrialContext) -> None:
    """Reports every step and saves its step number as a checkpoint when asked."""
    x = float(ctx.params["x"])
    for step in range(ctx.start_step, ctx.max_step + 1):

        def save(directory: str, step: int = step) -> None:
            with open(f"{directory}/step", "w") as f:
                f.write(str(step))

        ctx.report(step, loss=x / step, save=save)


def deaf(ctx: rung.TrialContext) -> None:
    """Ignores SIGTERM (as some training frameworks' handlers do), reports once, then hangs."""
    import signal
    import time

    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    ctx.report(1, loss=1.0)
    time.sleep(600)
