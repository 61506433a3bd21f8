"""A simulated benchmark whose trials rank by ``x`` at every step, and an exception that
stands for a driver's crash (tests of how a stopped driver's runs end)."""

from __future__ import annotations

from typing import Any


class Curves:
    """loss = x + 1/step: trials rank by x at every step."""

    max_step = 9

    def evaluate(self, params: Any, step: int) -> tuple[dict[str, float], float]:
        return {"loss": float(params["x"]) + 1.0 / step}, 1.0


class Crash(Exception):
    """The driver's crash, raised from a callback or an executor."""
