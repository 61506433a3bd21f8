"""Objectives for ``test_lazy_imports.py``: spawn workers import this module by name, so it
imports nothing but the standard library at module level."""

from __future__ import annotations

import sys
from typing import Any


def reports_heavy_imports(ctx: Any) -> None:
    """Report, at every step, whether the worker process has imported SciPy (1.0) or not."""
    x = float(ctx.params["x"])
    for step in range(ctx.start_step, ctx.max_step + 1):
        ctx.report(step, loss=x / step, scipy=float("scipy" in sys.modules))
